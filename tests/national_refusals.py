#!/usr/bin/env python3
"""national_refusals.py - what the national platform refuses, asked of
policesim's national side by a client that shares nothing with hoursd:
signatures made by the openssl command line (PKCS#1 v1.5 type 1 over the
bare SHA-256 of the signed data || ts), the serial printed here, the
multipart form and the bodies written here.

usage: national_refusals.py PORT PKI SIGN_KEY SIGN_CERT
(PKI: ca.crt and the client certificate term-013800000001.{crt,key}).
Each case prints "name: errorcode"; exit 1 when one is not the code the
platform answers.
"""
import http.client
import json
import ssl
import subprocess
import sys
import tempfile
import time


def openssl(*args, data=None):
    return subprocess.run(["openssl", *args], input=data, capture_output=True, check=True).stdout


class Caller:
    def __init__(self, port, pki, key, cert):
        self.port, self.key = port, key
        out = openssl("x509", "-in", cert, "-noout", "-serial").decode().strip()
        self.padded = out.split("=")[1].upper()            # openssl pads to whole bytes
        self.user = self.padded.lstrip("0") or "0"          # the platforms do not
        self.ctx = ssl.create_default_context(cafile=f"{pki}/ca.crt")
        self.ctx.check_hostname = False
        self.ctx.load_cert_chain(f"{pki}/term-013800000001.crt", f"{pki}/term-013800000001.key")
        self.last_ts = int(time.time() * 1000)

    def ts(self):
        self.last_ts = max(self.last_ts + 1, int(time.time() * 1000))
        return self.last_ts

    def sign(self, data, ts):
        digest = openssl("dgst", "-sha256", "-binary", data=data + ts.to_bytes(8, "big"))
        with tempfile.NamedTemporaryFile() as f:
            f.write(digest)
            f.flush()
            sig = openssl("pkeyutl", "-sign", "-inkey", self.key, "-pkeyopt",
                          "rsa_padding_mode:pkcs1", "-in", f.name)
        return sig.hex().upper()

    def call(self, path, body, ctype, signed, ts=None, user=None):
        ts = ts if ts is not None else self.ts()
        q = f"?v=1.0.0.e2&ts={ts}&sign={self.sign(signed, ts)}&user={user or self.user}"
        c = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=10)
        c.request("POST", "/top" + path + q, body=body, headers={"Content-Type": ctype})
        a = json.loads(c.getresponse().read())
        c.close()
        return a


def form(data, boundary="b0undary"):
    return (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"log.pdf\"\r\nContent-Type: application/pdf\r\n\r\n").encode() + \
        data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def main():
    port, pki, key, cert = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    c = Caller(port, pki, key, cert)
    pdf = b"%PDF-1.4\n% a teaching log\n"
    failed = 0

    def expect(name, answer, code):
        nonlocal failed
        print(f"{name}: {answer.get('errorcode')} {answer.get('message', '')}")
        if answer.get("errorcode") != code:
            failed += 1

    expect("raw upload", c.call("/imageup/epdfimg", pdf, "application/pdf", pdf), 200)
    body, ctype = form(pdf)
    if c.padded != c.user:
        expect("padded user", c.call("/imageup/epdfimg", body, ctype, pdf, user=c.padded), 202)
    ok = c.call("/imageup/epdfimg", body, ctype, pdf)
    expect("multipart upload", ok, 0)
    pdfid = (ok.get("data") or {}).get("id")
    expect("integer data.id", {"errorcode": 0 if isinstance(pdfid, int) else 200}, 0)
    ts = c.ts()
    c.call("/imageup/epdfimg", body, ctype, pdf, ts=ts)
    expect("reused ts", c.call("/imageup/epdfimg", body, ctype, pdf, ts=ts), 201)
    stage = {"inscode": "S001", "stunum": "S000000000000077", "subject": "3", "totaltime": 3,
             "vehicletime": 3, "classtime": 0, "simulatortime": 0, "networktime": 0,
             "duration": 3, "examresult": "1", "mileage": 1.5, "rectype": 1,
             "recarray": [{"rnum": "00000120"}], "pdfid": pdfid, "esignature": "A" * 512}

    def post(b):
        raw = json.dumps(b, separators=(",", ":"), ensure_ascii=False).encode()
        return c.call("/stagetrainningtime", raw, "application/json;charset=utf-8", raw)

    expect("subject a number", post(dict(stage, subject=3)), 200)
    expect("examresult a number", post(dict(stage, examresult=1)), 200)
    expect("pdfid a string", post(dict(stage, pdfid=str(pdfid))), 200)
    expect("esignature empty", post(dict(stage, esignature="")), 200)
    expect("a member missing", post({k: v for k, v in stage.items() if k != "duration"}), 200)
    expect("rnum never received", post(dict(stage, recarray=[{"rnum": "99999999"}])), 100)
    expect("part 1 rnum not a teaching log", post(dict(stage, subject="1")), 100)
    expect("the sample's types", post(stage), 0)
    lesson = {"inscode": "S001", "stunum": "S000000000000078", "coachnum": "C000000000000001",
              "carnum": "", "simunum": "", "platnum": "4401000000000017",
              "recnum": "440100000000001726120801", "subjcode": "1211010000", "photo1": 0,
              "photo2": 0, "photo3": 0, "starttime": "20261208080000",
              "endtime": "20261208094500", "duration": 105, "mileage": 0.0,
              "avevelocity": 0.0, "coacmt": "", "total": 105, "part1": 105, "part2": 0,
              "part3": 0, "part4": 0}
    raw = json.dumps(lesson, separators=(",", ":")).encode()
    expect("teaching log, a time not yyyyMMddHHmmss",
           c.call("/classrecord", json.dumps(dict(lesson, endtime="2026-12-08 09:45")).encode(),
                  "application/json;charset=utf-8",
                  json.dumps(dict(lesson, endtime="2026-12-08 09:45")).encode()), 200)
    expect("teaching log", c.call("/classrecord", raw, "application/json;charset=utf-8", raw), 0)
    expect("part 1 rnum a teaching log received",
           post(dict(stage, stunum="S000000000000078", subject="1",
                     recarray=[{"rnum": lesson["recnum"]}])), 0)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
