#!/usr/bin/env python3
"""tests/push_receiver.py - an independent receiver of hoursd's push, for acceptance.

Written from docs/push-contract.md alone (not from src/push*.c or
src/tools/policesim/), so that it cross-checks hoursd's side of the contract.
Python 3 standard library only; signatures are checked with the openssl
command line (`openssl dgst -sha256 -verify`), never over a re-serialised body.

Serve (HTTPS, mutual TLS, any path, POST only):

    push_receiver.py --cert server.crt --key server.key --client-ca ca.crt \\
        --verify-cert sign-rsa.crt [--verify-cert ...] --store accepted.jsonl \\
        [--listen 127.0.0.1:0] [--fail-first N] [--down-file FILE] [--retry-after S]

It does what section 4.3 says, in that order: TLS client certificate
(required, verified against --client-ca), the headers of section 2, the
signature (401 bad_signature), JSON (400 bad_json), canonical form (400
not_canonical), the members of section 3 (422 invalid_field), then
deduplication by packet_id (409 duplicate) and the store: one JSON line per
accepted packet, flushed and fsynced before 200 accepted.  The store is read
back at start, so a restarted receiver still answers duplicate.

Faults: --fail-first N answers 503 {"result":"retry"} (no Retry-After, or
--retry-after S) to the first N packet requests, unprocessed; while the file
of --down-file exists every packet request gets the same.

One log line per request goes to stderr; the first line is
"push_receiver listening on HOST port N".  SIGTERM or SIGINT: stops, prints a
summary whose last line is "checks: N passed, M failed" (a check is one
packet request that was processed: every header, signature and member as the
contract says), exits 0.

Check a store offline (a regulator re-verifying later):

    push_receiver.py --verify-store accepted.jsonl --verify-cert sign-rsa.crt [--expect N]

re-verifies every line's signature over its body, the body's canonical form
and members, and that packet ids are unique (and, with --expect, that there
are N lines).  The last line is "N passed, M failed"; exit status 0 only when
nothing failed.
"""
import argparse
import base64
import datetime
import hashlib
import http.server
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import threading

MAX_BODY = 64 * 1024
CONTENT_TYPE = "application/json; charset=utf-8"
HEX64 = re.compile(r"[0-9a-f]{64}\Z")
UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\Z")
MINUTE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00\+08:00\Z")
SECOND = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00\Z")
MILEAGE = re.compile(r"(0|[1-9][0-9]*)\.[0-9]\Z")
VCLASS = re.compile(r"[A-Z][0-9A-Z]{0,2}\Z")
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MINUTE_KINDS = ("vehicle_minutes", "simulator_minutes", "classroom_minutes", "remote_minutes")
MEMBERS = {
    "packet_id", "version", "school_code", "student_no", "id_card_sha256", "vehicle_class",
    "part", "subject", "total_minutes", "vehicle_minutes", "simulator_minutes",
    "classroom_minutes", "remote_minutes", "mileage_km", "first_minute", "last_minute",
    "record_count", "records_sha256", "backfilled", "backfill_form", "backfilled_minutes",
    "created_at",
}
SM2_ID = "1234567812345678"


def log(msg):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    sys.stderr.write("%sZ push_receiver %s\n" % (now, msg))
    sys.stderr.flush()


class Reject(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


# ---- signing certificates and signatures ----

class SigningCert:
    """A --verify-cert: its key id (SHA-256 of the DER), public key file and algorithm."""

    def __init__(self, path, tmpdir):
        with open(path, encoding="ascii") as f:
            pem = f.read()
        self.key_id = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()
        self.pubkey = os.path.join(tmpdir, "pub-%s.pem" % self.key_id[:16])
        pub = subprocess.run(["openssl", "x509", "-in", path, "-pubkey", "-noout"],
                             check=True, capture_output=True).stdout
        with open(self.pubkey, "wb") as f:
            f.write(pub)
        text = subprocess.run(["openssl", "pkey", "-pubin", "-in", self.pubkey, "-text",
                               "-noout"], check=True, capture_output=True, text=True).stdout
        if text.startswith("Public-Key: (") and "Modulus" in text:
            self.alg = "RSA-SHA256"
            bits = int(re.match(r"Public-Key: \((\d+) bit", text).group(1))
            if bits < 2048:
                raise SystemExit("%s: RSA key of %d bits, the contract wants 2048 or more"
                                 % (path, bits))
        elif "SM2" in text or "SM2" in subprocess.run(
                ["openssl", "x509", "-in", path, "-noout", "-text"],
                capture_output=True, text=True).stdout:
            self.alg = "SM2-SM3"
        else:
            raise SystemExit("%s: neither an RSA nor an SM2 key" % path)
        self.path = path

    def verify(self, body, sig, tmpdir):
        """True when sig (DER bytes) verifies over body (the exact bytes) with openssl."""
        with tempfile.NamedTemporaryFile(dir=tmpdir, suffix=".body") as fb, \
                tempfile.NamedTemporaryFile(dir=tmpdir, suffix=".sig") as fs:
            fb.write(body)
            fb.flush()
            fs.write(sig)
            fs.flush()
            if self.alg == "RSA-SHA256":
                cmd = ["openssl", "dgst", "-sha256", "-verify", self.pubkey,
                       "-signature", fs.name, fb.name]
            else:
                cmd = ["openssl", "dgst", "-sm3", "-verify", self.pubkey,
                       "-sigopt", "distid:" + SM2_ID, "-signature", fs.name, fb.name]
            r = subprocess.run(cmd, capture_output=True, text=True)
            return r.returncode == 0 and "Verified OK" in r.stdout


def check_signature(certs, key_id, alg, sig_b64, body, tmpdir):
    """Section 4.3 step 2; raises Reject(401, bad_signature)."""
    if key_id is None or alg is None or sig_b64 is None:
        raise Reject(401, "bad_signature", "missing X-Hoursd-Signature, -Alg or -Key-Id")
    if not HEX64.match(key_id):
        raise Reject(401, "bad_signature", "X-Hoursd-Key-Id is not 64 lower-case hex digits")
    cert = certs.get(key_id)
    if cert is None:
        raise Reject(401, "bad_signature", "unknown key id %s" % key_id)
    if alg != cert.alg:
        raise Reject(401, "bad_signature", "algorithm %s, the key is %s" % (alg, cert.alg))
    try:
        sig = base64.b64decode(sig_b64, validate=True)
    except ValueError:
        raise Reject(401, "bad_signature", "X-Hoursd-Signature is not base64") from None
    if not sig or base64.b64encode(sig).decode("ascii") != sig_b64:
        raise Reject(401, "bad_signature", "X-Hoursd-Signature is not padded base64")
    if not cert.verify(body, sig, tmpdir):
        raise Reject(401, "bad_signature", "the signature does not verify over the body")
    return cert


# ---- the body: JSON, canonical form, members ----

def parse_body(body):
    """Section 4.3 step 3: a JSON object (duplicate names are not JSON we accept)."""
    def pairs(items):
        names = [k for k, _ in items]
        if len(set(names)) != len(names):
            raise ValueError("duplicate member")
        return dict(items)

    def no_float(s):
        raise ValueError("not an integer: " + s)

    try:
        text = body.decode("utf-8")
        obj = json.loads(text, object_pairs_hook=pairs, parse_float=no_float,
                         parse_constant=no_float)
    except ValueError as e:
        raise Reject(400, "bad_json", "not JSON: %s" % e) from None
    if not isinstance(obj, dict):
        raise Reject(400, "bad_json", "not a JSON object")
    return obj


def canonical_string(s):
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch in "\b\f\n\r\t":
            out.append({"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif o < 0x20:
            out.append("\\u%04X" % o)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def canonical(obj):
    """Section 4.1: the one form hoursd writes, as bytes."""
    parts = []
    for name in sorted(obj, key=lambda k: k.encode("utf-8")):
        v = obj[name]
        if v is None:
            t = "null"
        elif v is True:
            t = "true"
        elif v is False:
            t = "false"
        elif isinstance(v, int):
            t = str(v)
        elif isinstance(v, str):
            t = canonical_string(v)
        else:
            raise ValueError("member %s is nested" % name)
        parts.append(canonical_string(name) + ":" + t)
    return ("{" + ",".join(parts) + "}").encode("utf-8")


def check_canonical(obj, body):
    try:
        again = canonical(obj)
    except (ValueError, UnicodeEncodeError) as e:
        raise Reject(400, "not_canonical", str(e)) from None
    if again != body:
        raise Reject(400, "not_canonical", "the body is not in the canonical form of 4.1")


def local_time(s, member):
    try:
        return datetime.datetime.strptime(s[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise Reject(422, "invalid_field", "%s: not a valid time" % member) from None


def check_members(obj):
    """Section 4.3 step 4 against section 3; raises Reject(422, invalid_field)."""
    def bad(member, why):
        raise Reject(422, "invalid_field", "%s: %s" % (member, why))

    def integer(member, lo=None, hi=None):
        v = obj[member]
        if not isinstance(v, int) or isinstance(v, bool):
            bad(member, "not an integer")
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            bad(member, "out of range")
        return v

    def string(member, nullable=False):
        v = obj[member]
        if v is None and nullable:
            return None
        if not isinstance(v, str):
            bad(member, "not a string")
        return v

    missing = sorted(MEMBERS - obj.keys())
    if missing:
        bad(missing[0], "missing")
    extra = sorted(obj.keys() - MEMBERS)
    if extra:
        bad(extra[0], "not a member of version 1")
    if not UUID4.match(string("packet_id")):
        bad("packet_id", "not a lower-case version 4 UUID")
    if integer("version") != 1:
        bad("version", "not 1")
    if not string("school_code"):
        bad("school_code", "empty")
    if len(string("student_no")) != 16:
        bad("student_no", "not 16 characters")
    idc = string("id_card_sha256", nullable=True)
    if idc is not None and not HEX64.match(idc):
        bad("id_card_sha256", "not 64 lower-case hex digits")
    if not VCLASS.match(string("vehicle_class")):
        bad("vehicle_class", "not a licence class")
    part = integer("part", 1, 4)
    if integer("subject", 1, 4) != part:
        bad("subject", "part %d opens subject %d" % (part, part))
    kinds = sum(integer(k, 0) for k in MINUTE_KINDS)
    if integer("total_minutes", 0) != kinds:
        bad("total_minutes", "not the sum of the four kinds (%d)" % kinds)
    if not MILEAGE.match(string("mileage_km")):
        bad("mileage_km", "not kilometres with one decimal")
    for m in ("first_minute", "last_minute"):
        if not MINUTE.match(string(m)):
            bad(m, "not YYYY-MM-DDTHH:MM:00+08:00")
    if local_time(obj["first_minute"], "first_minute") > local_time(obj["last_minute"],
                                                                    "last_minute"):
        bad("first_minute", "after last_minute")
    count = integer("record_count", 0)
    if not HEX64.match(string("records_sha256")):
        bad("records_sha256", "not 64 lower-case hex digits")
    if count == 0 and obj["records_sha256"] != EMPTY_SHA256:
        bad("records_sha256", "no record but not the digest of nothing")
    if not isinstance(obj["backfilled"], bool):
        bad("backfilled", "not a boolean")
    form = string("backfill_form", nullable=True)
    if obj["backfilled"] and not form:
        bad("backfill_form", "backfilled but no form")
    if not obj["backfilled"] and form is not None:
        bad("backfill_form", "not null while backfilled is false")
    filled = integer("backfilled_minutes", 0)
    if filled > obj["total_minutes"] or (filled and not obj["backfilled"]):
        bad("backfilled_minutes", "over total_minutes, or not 0 while backfilled is false")
    if not SECOND.match(string("created_at")):
        bad("created_at", "not YYYY-MM-DDTHH:MM:SS+08:00")
    local_time(obj["created_at"], "created_at")


# ---- the server ----

class Receiver:
    def __init__(self, args):
        self.tmpdir = tempfile.mkdtemp(prefix="push_receiver.")
        self.certs = {}
        for path in args.verify_cert:
            c = SigningCert(path, self.tmpdir)
            self.certs[c.key_id] = c
        self.store_path = args.store
        self.fail_left = args.fail_first
        self.down_file = args.down_file
        self.retry_after = args.retry_after
        self.lock = threading.Lock()
        self.known = {}  # packet_id -> body bytes
        self.stats = dict.fromkeys(
            ("requests", "packet_requests", "accepted", "duplicates", "duplicates_differing",
             "injected", "bad_signature", "bad_json", "not_canonical", "invalid_field",
             "bad_header", "other", "handshake_failures"), 0)
        self.checks_passed = self.checks_failed = 0
        if os.path.exists(self.store_path):
            with open(self.store_path, "rb") as f:
                for n, line in enumerate(f, 1):
                    try:
                        rec = json.loads(line)
                        self.known[rec["packet_id"]] = rec["body"].encode("utf-8")
                    except (ValueError, KeyError, TypeError) as e:
                        raise SystemExit("%s:%d: not a store line: %s"
                                         % (self.store_path, n, e)) from None
        self.store = open(self.store_path, "ab")

    def count(self, what):
        with self.lock:
            self.stats[what] += 1

    def injected(self):
        """True when this packet request gets an injected 503."""
        with self.lock:
            if self.fail_left > 0:
                self.fail_left -= 1
                self.stats["injected"] += 1
                return True
        if self.down_file and os.path.exists(self.down_file):
            self.count("injected")
            return True
        return False

    def process(self, headers, body, client):
        """Sections 4.3 and 5: (status, answer object, extra headers, note for the log)."""
        problems = []  # contract breaches that do not change the answer
        ctype = headers.get("Content-Type")
        if ctype is None or ctype.replace(" ", "").lower() != CONTENT_TYPE.replace(" ", ""):
            problems.append("Content-Type %r" % ctype)
        attempt = headers.get("X-Hoursd-Attempt")
        if attempt is None or not re.fullmatch(r"[1-9][0-9]*", attempt):
            problems.append("X-Hoursd-Attempt %r" % attempt)
        cert = check_signature(self.certs, headers.get("X-Hoursd-Key-Id"),
                               headers.get("X-Hoursd-Signature-Alg"),
                               headers.get("X-Hoursd-Signature"), body, self.tmpdir)
        obj = parse_body(body)
        check_canonical(obj, body)
        check_members(obj)
        pid = obj["packet_id"]
        if headers.get("X-Hoursd-Packet-Id") != pid:
            problems.append("X-Hoursd-Packet-Id %r, body %s" % (
                headers.get("X-Hoursd-Packet-Id"), pid))
        with self.lock:
            if problems:
                self.stats["bad_header"] += 1
                self.checks_failed += 1
            else:
                self.checks_passed += 1
            if pid in self.known:
                self.stats["duplicates"] += 1
                if self.known[pid] != body:
                    self.stats["duplicates_differing"] += 1
                    problems.append("duplicate with a different body")
                return 409, {"result": "duplicate"}, pid, problems
            rec = {
                "alg": cert.alg, "attempt": int(attempt) if attempt and attempt.isdigit() else None,
                "body": body.decode("utf-8"), "client": client, "key_id": cert.key_id,
                "packet_id": pid,
                "received_at": datetime.datetime.now(datetime.timezone.utc)
                .strftime("%Y-%m-%dT%H:%M:%SZ"),
                "signature": headers.get("X-Hoursd-Signature"),
            }
            self.store.write(json.dumps(rec, sort_keys=True, separators=(",", ":"))
                             .encode("utf-8") + b"\n")
            self.store.flush()
            os.fsync(self.store.fileno())
            self.known[pid] = body
            self.stats["accepted"] += 1
        return 200, {"result": "accepted"}, pid, problems

    def summary(self):
        s = self.stats
        lines = ["summary: " + " ".join("%s=%d" % kv for kv in s.items()),
                 "stored packets: %d" % len(self.known),
                 "checks: %d passed, %d failed" % (self.checks_passed, self.checks_failed)]
        return lines


def make_handler(rx):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "push_receiver"
        sys_version = ""

        def setup(self):
            self.request.settimeout(30)
            self.request.do_handshake()  # requires and verifies the client certificate
            super().setup()

        def log_message(self, fmt, *args):  # noqa: the default logs; we log one line ourselves
            pass

        def client_cn(self):
            cert = self.request.getpeercert() or {}
            for rdn in cert.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        return v
            return "?"

        def answer(self, status, obj, note, extra=None):
            data = json.dumps(obj, separators=(",", ":")).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
            log("%s %s %s packet=%s attempt=%s -> %d %s%s" % (
                self.client_cn(), self.command, self.path,
                self.headers.get("X-Hoursd-Packet-Id", "-"),
                self.headers.get("X-Hoursd-Attempt", "-"), status,
                obj.get("code", obj.get("result")), (" (%s)" % note) if note else ""))

        def do_POST(self):
            rx.count("requests")
            rx.count("packet_requests")
            if self.headers.get("Transfer-Encoding") or self.headers.get("Content-Encoding"):
                rx.count("bad_header")
                self.close_connection = True
                return self.answer(411, {"result": "rejected", "code": "length_required",
                                         "message": "Content-Length only"}, "encoded body")
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                length = -1
            if length < 0 or length > MAX_BODY:
                rx.count("other")
                self.close_connection = True
                return self.answer(413 if length > MAX_BODY else 411,
                                   {"result": "rejected", "code": "bad_length",
                                    "message": "Content-Length %r" %
                                    self.headers.get("Content-Length")}, None)
            body = self.rfile.read(length)
            if len(body) != length:
                rx.count("other")
                self.close_connection = True
                return log("%s POST %s: body cut at %d of %d bytes" % (
                    self.client_cn(), self.path, len(body), length))
            if rx.injected():
                extra = {"Retry-After": str(rx.retry_after)} if rx.retry_after else None
                return self.answer(503, {"result": "retry"}, "injected", extra)
            try:
                status, obj, pid, problems = rx.process(self.headers, body, self.client_cn())
            except Reject as e:
                with rx.lock:
                    rx.stats[e.code] += 1
                    rx.checks_failed += 1
                return self.answer(e.status, {"result": "rejected", "code": e.code,
                                              "message": e.message}, e.message)
            self.answer(status, obj, "; ".join(problems) if problems else None)

        def do_other(self):
            rx.count("requests")
            rx.count("other")
            self.answer(405, {"result": "rejected", "code": "method_not_allowed",
                              "message": "POST only"}, None, {"Allow": "POST"})

        do_GET = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_other

    return Handler


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        e = sys.exc_info()[1]
        if isinstance(e, (ssl.SSLError, ConnectionError, TimeoutError, OSError)):
            self.rx.count("handshake_failures")
            log("%s:%d: connection failed: %s" % (client_address[0], client_address[1], e))
        else:
            log("%s:%d: internal error: %r" % (client_address[0], client_address[1], e))


def serve(args):
    rx = Receiver(args)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(args.cert, args.key)
    ctx.load_verify_locations(args.client_ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    host, _, port = args.listen.rpartition(":")
    srv = Server((host, int(port)), make_handler(rx))
    srv.rx = rx
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)

    def stop(signum, _frame):
        log("signal %d: stopping" % signum)
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log("listening on %s port %d (%d signing certificate(s), %d packet(s) in the store)"
        % (host, srv.server_address[1], len(rx.certs), len(rx.known)))
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        srv.server_close()
        rx.store.close()
        for name in os.listdir(rx.tmpdir):
            os.unlink(os.path.join(rx.tmpdir, name))
        os.rmdir(rx.tmpdir)
    for line in rx.summary():
        log(line)
    return 0


def verify_store(args):
    """Re-check a store offline; "N passed, M failed"."""
    tmpdir = tempfile.mkdtemp(prefix="push_receiver.")
    certs = {}
    for path in args.verify_cert:
        c = SigningCert(path, tmpdir)
        certs[c.key_id] = c
    passed = failed = 0

    def result(ok, what):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
        print("%s: %s" % ("ok" if ok else "FAILED", what))

    seen = {}
    lines = 0
    try:
        with open(args.verify_store, "rb") as f:
            for n, line in enumerate(f, 1):
                lines += 1
                try:
                    rec = json.loads(line)
                    body = rec["body"].encode("utf-8")
                    check_signature(certs, rec["key_id"], rec["alg"], rec["signature"], body,
                                    tmpdir)
                    obj = parse_body(body)
                    check_canonical(obj, body)
                    check_members(obj)
                    if obj["packet_id"] != rec["packet_id"]:
                        raise Reject(0, "store", "packet_id differs from the body's")
                    result(True, "line %d: packet %s, signature verified, %s part %d, "
                           "%d minutes" % (n, obj["packet_id"], obj["student_no"],
                                           obj["part"], obj["total_minutes"]))
                except Reject as e:
                    result(False, "line %d: %s: %s" % (n, e.code, e.message))
                    continue
                except (ValueError, KeyError, TypeError, AttributeError) as e:
                    result(False, "line %d: not a store line: %r" % (n, e))
                    continue
                pid = obj["packet_id"]
                result(pid not in seen, "line %d: packet %s stored once%s" % (
                    n, pid, "" if pid not in seen else " (also line %d)" % seen[pid]))
                seen.setdefault(pid, n)
    except OSError as e:
        result(False, "cannot read %s: %s" % (args.verify_store, e))
    if args.expect is not None:
        result(lines == args.expect and len(seen) == args.expect,
               "%d line(s), %d packet id(s), %d expected" % (lines, len(seen), args.expect))
    for name in os.listdir(tmpdir):
        os.unlink(os.path.join(tmpdir, name))
    os.rmdir(tmpdir)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (port 0 picks one)")
    p.add_argument("--cert", help="server certificate (PEM)")
    p.add_argument("--key", help="server key (PEM)")
    p.add_argument("--client-ca", help="CA that client certificates must chain to")
    p.add_argument("--verify-cert", action="append", required=True,
                   help="a signing certificate whose key verifies X-Hoursd-Signature")
    p.add_argument("--store", help="one JSON line per accepted packet")
    p.add_argument("--fail-first", type=int, default=0, metavar="N",
                   help="answer 503 to the first N packet requests")
    p.add_argument("--down-file", metavar="FILE",
                   help="answer 503 to every packet request while FILE exists")
    p.add_argument("--retry-after", type=int, default=0, metavar="S",
                   help="send Retry-After: S with the injected 503s (0: none)")
    p.add_argument("--verify-store", metavar="FILE", help="re-check a store and exit")
    p.add_argument("--expect", type=int, help="with --verify-store: the number of lines")
    args = p.parse_args()
    if args.verify_store:
        return verify_store(args)
    for need in ("cert", "key", "client_ca", "store"):
        if not getattr(args, need):
            p.error("--%s is required to serve" % need.replace("_", "-"))
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
