#!/usr/bin/env python3
"""national_sign_check.py - check the sign= of a national stage-hours call
independently of hoursd and policesim (docs/push-contract.md, "The national
profile"): openssl recovers the digest from the RSA signature with the
signing certificate (PKCS#1 v1.5 type 1, the bare 32-byte digest, no
DigestInfo) and openssl dgst computes SHA-256 over body || ts (8 bytes,
big-endian milliseconds); they must be equal, the sign 512 upper-case hex
digits, and user= the certificate's serial as the platforms print it
(upper-case hex without padding to whole bytes: openssl prints 0A1B..., the
platforms A1B...).  With --seal SEAL.pem, esignature must be 512 upper-case
hex digits that recover, with the school's seal certificate, to the
SHA-256 of the body as sent with esignature "" (hoursd's default choice,
push.national_esignature: body).

usage: national_sign_check.py NATIONAL.JSONL CERT.pem [--seal SEAL.pem]
Checks every "stage" line of policesim's DIR/national.jsonl; prints the
number checked; exit 1 on the first that fails.
"""
import json
import re
import subprocess
import sys
import tempfile


def openssl(*args, data=None):
    return subprocess.run(["openssl", *args], input=data, capture_output=True, check=True).stdout


def main():
    path, cert = sys.argv[1], sys.argv[2]
    seal = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--seal" else None
    serial = openssl("x509", "-in", cert, "-noout", "-serial").decode().strip().split("=")[1]
    checked = 0
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            rec = json.loads(line)
            if rec.get("kind") != "stage":
                continue
            sign, ts, body = rec["sign"], int(rec["ts"]), rec["body"].encode("utf-8")
            if not re.fullmatch("[0-9A-F]{512}", sign):
                sys.exit(f"{path}:{n}: sign is not 512 upper-case hex digits")
            if rec["user"] != (serial.upper().lstrip("0") or "0"):
                sys.exit(f"{path}:{n}: user {rec['user']} is not the serial {serial}")
            digest = openssl("dgst", "-sha256", "-binary", data=body + ts.to_bytes(8, "big"))
            with tempfile.NamedTemporaryFile() as sig:
                sig.write(bytes.fromhex(sign))
                sig.flush()
                recovered = openssl("pkeyutl", "-verifyrecover", "-certin", "-inkey", cert,
                                    "-pkeyopt", "rsa_padding_mode:pkcs1", "-in", sig.name)
            if recovered != digest:
                sys.exit(f"{path}:{n}: the signature does not recover SHA-256(body || ts)")
            if seal:
                esig = json.loads(body)["esignature"]
                if not re.fullmatch("[0-9A-F]{512}", esig):
                    sys.exit(f"{path}:{n}: esignature is not 512 upper-case hex digits")
                unsealed = body.replace(f'"esignature":"{esig}"'.encode(), b'"esignature":""')
                with tempfile.NamedTemporaryFile() as sig:
                    sig.write(bytes.fromhex(esig))
                    sig.flush()
                    got = openssl("pkeyutl", "-verifyrecover", "-certin", "-inkey", seal,
                                  "-pkeyopt", "rsa_padding_mode:pkcs1", "-in", sig.name)
                if got != openssl("dgst", "-sha256", "-binary", data=unsealed):
                    sys.exit(f"{path}:{n}: esignature does not recover SHA-256 of the body "
                             "without it")
            checked += 1
    print(checked)
    sys.exit(0 if checked else 1)


if __name__ == "__main__":
    main()
