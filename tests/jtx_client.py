#!/usr/bin/env python3
"""tests/jtx_client.py - an independent national timing (驾培) terminal for acceptance.

Written from the protocol description (the project's shared PROTOCOL.md and
the decoded public frames of tests/fixtures/jt808_timing_public.md), not from
hoursd's C code, so that it cross-checks hoursd's codec and session.  Python 3
standard library only, plus the `openssl` command line for the crypto.

Over PLAIN TCP, in the national timing header (16 bytes: version 0x80 first,
message ID, properties, terminal phone BCD[8], serial, reserved BYTE; pieces
total and index when bit 13 of the properties is set):

 1. 0x0100 registration, timing body (IMEI);
 2. 0x8100 in pieces: piece 2 is ignored the first time and asked for again
    with 0x8003; the joined answer gives the timing terminal number, the
    certificate password and a Base64 PKCS#12, unpacked with openssl;
 3. 0x0102 authentication: timestamp + RSA signature (PKCS#1 v1.5 type 1 over
    the bare SHA-256 of terminal number || timestamp), answered by 0x8001;
 4. a signed lesson in 0x0900 (transparent type 0x13): coach login, student
    login, N training records (0x0203, each answered by 0x8001), a record
    with a tampered signature and an unsigned one (both refused), student
    logout, coach logout (0x8900 answers);
 5. refused authentications on new connections: a flipped signature byte, a
    timestamp an hour old, a replay of the accepted frame; then a fresh one
    that must pass; then refused registrations: another IMEI, an unknown
    phone;
 6. with --psql, the records and logins in PostgreSQL.

Every frame received is checked (XOR, length, version byte, phone, serial).
With --self-test, no server: the public frames of
tests/fixtures/jt808_timing_public.hex are decoded with this decoder and
compared with the fields the .md lists, and the crypto path is tried on a
throwaway key.

Minutes and record numbers come from the clock (the last N+2 minutes;
record number = terminal number + Beijing date + minute of the day, 5000 +
minute for the refused ones): a second run for the same terminal and
student within N+3 minutes of the first meets its own minutes, which the
server rightly refuses as overlapping or conflicting records.  The refused
authentications count against the server's per-address throttle
(connection.auth_failures_per_min): two runs from one address within a
minute can trip it.

The last line printed is exactly "N passed, M failed"; the exit status is 0
only when nothing failed.
"""
import argparse
import base64
import datetime
import hashlib
import os
import shlex
import socket
import struct
import subprocess
import sys
import tempfile
import time

from jt808wire import Checks, FLAG, Fatal, bcd, escape, unescape, xor_all

VERSION = 0x80
PIECES_BIT = 1 << 13
LEN_MASK = 0x3FF
HDR_LEN = 16  # 20 with pieces
MAX_PIECE = 732

REGISTER, REGISTER_ANSWER = 0x0100, 0x8100
AUTH, HEARTBEAT = 0x0102, 0x0002
TERMINAL_ANSWER, PLATFORM_ANSWER = 0x0001, 0x8001
PIECE_REQUEST = 0x8003
TRANSPARENT_UP, TRANSPARENT_DOWN = 0x0900, 0x8900

TT_TYPE = 0x13
EXT_PROPS_SIGNED = 0x0022  # bit 1 answer wanted, bits 4-7 = 2 (SHA-256)
COACH_LOGIN, COACH_LOGOUT = 0x0101, 0x0102
STUDENT_LOGIN, STUDENT_LOGOUT = 0x0201, 0x0202
RECORD = 0x0203
ANSWER_OK = 1  # login / logout answers: 1 ok

# Course code BCD[5]: mode (digit 0), vehicle class (digits 1-2), part (3),
# subject (4-5), 0000.  Source followed: the project's docs/protocol.md
# ("Course code"), whose class table is cheshang CarTypeUtil.java (11 B1,
# 12 B2, 21 C1, ...): C1 = 21.  PROTOCOL.md's parenthesis "(e.g. 12 = C1)"
# disagrees, but its own example agrees with docs/protocol.md: 1212110000 is
# 1 | 21 | 2 | 11 | 0000 = vehicle, class 21, part 2, subject 11.  (With
# C1 = 12 the same lesson would be 1 | 12 | 2 | 11 = 1122110000.)  The public
# bjxc record (jt808_timing_public.md) carries 1212110000 too.
C1_CLASS_CODE = "21"


def note(what):
    print(f"note  {what}", flush=True)


# ---- frame codec -------------------------------------------------------------


def unbcd(data):
    """(digits, ok): nibbles above 9 are written as hex and make ok False."""
    s = "".join(f"{b:02x}" for b in data)
    return s, s.isdigit()


def fixed(text, n, enc="ascii"):
    b = text.encode(enc)
    if len(b) > n:
        raise ValueError(f"{text!r} longer than {n}")
    return b + b"\0" * (n - len(b))


def text_field(b, enc="ascii"):
    return b.rstrip(b"\0").decode(enc, "replace")


def header(msg_id, body_len, phone, serial, reserved=0, pieces=None):
    if body_len > LEN_MASK:
        raise ValueError("body too long for one frame")
    props = body_len | (PIECES_BIT if pieces else 0)
    h = bytes([VERSION]) + struct.pack(">HH", msg_id, props) + bcd(phone.rjust(16, "0"))
    h += struct.pack(">HB", serial, reserved)
    if pieces:
        h += struct.pack(">HH", *pieces)
    return h


def build_frame(msg_id, body, phone, serial, reserved=0, pieces=None):
    raw = header(msg_id, len(body), phone, serial, reserved, pieces) + body
    raw += bytes([xor_all(raw)])
    return bytes([FLAG]) + escape(raw) + bytes([FLAG])


class Frame:
    """A decoded timing frame.  Never raises on content: `problems` lists what
    is wrong against the spec (check code, length, version, BCD)."""

    def __init__(self, raw, escaped=None):
        # raw: unescaped header + body + check; escaped: the same on the wire
        self.raw = raw
        self.problems = []
        if len(raw) < HDR_LEN + 1:
            raise Fatal(f"frame of {len(raw)} bytes, shorter than the 16-byte header + check: {raw.hex()}")
        self.version = raw[0]
        self.msg_id, self.props = struct.unpack(">HH", raw[1:5])
        self.phone, self.phone_bcd = unbcd(raw[5:13])
        self.serial, self.reserved = struct.unpack(">HB", raw[13:16])
        self.body_len = self.props & LEN_MASK
        self.pieces = None
        hlen = HDR_LEN
        if self.props & PIECES_BIT:
            if len(raw) < HDR_LEN + 5:
                raise Fatal(f"sub-packaged frame too short: {raw.hex()}")
            self.pieces = struct.unpack(">HH", raw[16:20])
            hlen += 4
        self.hlen = hlen
        self.body = raw[hlen:-1]
        self.check_byte = raw[-1]
        self.xor_computed = xor_all(raw[:-1])
        self.xor_ok = self.xor_computed == self.check_byte
        self.length_ok = self.body_len == len(self.body)
        if self.version != VERSION:
            self.problems.append(f"byte 0 is {self.version:#04x}, not the version 0x80")
        if not self.xor_ok:
            self.problems.append(f"check code {self.check_byte:#04x}, computed {self.xor_computed:#04x}")
        if not self.length_ok:
            self.problems.append(f"properties say {self.body_len} body bytes, frame has {len(self.body)}")
        if not self.phone_bcd:
            self.problems.append(f"phone {self.phone} is not BCD")
        if self.props & 0x1C00:
            self.problems.append(f"encryption bits set in properties {self.props:#06x}")
        # the escaped-sums device fault: length and XOR over the escaped bytes
        self.esc_xor_ok = self.esc_length_ok = None
        if escaped is not None:
            self.esc_xor_ok = xor_all(escaped[:-1]) == escaped[-1]
            self.esc_length_ok = self.body_len == len(escaped) - hlen - 1

    def __str__(self):
        p = f" piece {self.pieces[1]}/{self.pieces[0]}" if self.pieces else ""
        return f"{self.msg_id:#06x} serial {self.serial}{p} body {self.body.hex()}"


def parse_wire(hexline):
    """A fixture line (flags included, escaped) -> Frame."""
    data = bytes.fromhex(hexline)
    if data[0] != FLAG or data[-1] != FLAG:
        raise Fatal("no flags")
    escaped = data[1:-1]
    return Frame(unescape(escaped), escaped)


# ---- body codecs ---------------------------------------------------------------


def decode_register(b):
    province, city = struct.unpack(">HH", b[:4])
    plate = b[52:]
    return {
        "province": province, "city": city,
        "maker": text_field(b[4:9]), "model": text_field(b[9:29]), "serial": text_field(b[29:36]),
        "imei": text_field(b[36:51]), "colour": b[51],
        "plate": plate.rstrip(b"\0").decode("gbk", "replace"), "plate_nul": plate.endswith(b"\0"),
    }


def register_body(imei, plate, province=31, city=115):
    return (struct.pack(">HH", province, city) + fixed("PYJTX", 5) + fixed("JTX-PY-ACCEPT", 20)
            + fixed("PY00001", 7) + fixed(imei, 15) + bytes([2]) + plate.encode("gbk") + b"\0")


def decode_8001(b):
    if len(b) != 5:
        raise Fatal(f"0x8001 body of {len(b)} bytes, not 5: {b.hex()}")
    return struct.unpack(">HHB", b)


def decode_8100(b):
    """Joined 0x8100 body -> dict."""
    if len(b) < 3:
        raise Fatal(f"0x8100 body of {len(b)} bytes")
    serial, result = struct.unpack(">HB", b[:3])
    d = {"serial": serial, "result": result}
    if result != 0:
        d["rest"] = b[3:]
        return d
    if len(b) < 52:
        raise Fatal(f"0x8100 with result 0 has {len(b)} bytes, under 52")
    d["platform_no"] = b[3:8]
    d["institution_no"] = b[8:24]
    d["terminal_no"] = b[24:40]
    d["password"] = b[40:52]
    d["cert_b64"] = b[52:]
    return d


def gnss_block(lat, lon, epoch, rec_speed, sat_speed, direction, status=0b10, alarm=0, extras=b""):
    return (struct.pack(">IIIIHHH", alarm, status, lat, lon, rec_speed, sat_speed, direction)
            + bcd_time(epoch) + extras)


def decode_gnss(b):
    alarm, status, lat, lon, rec, sat, direction = struct.unpack(">IIIIHHH", b[:22])
    t, t_ok = unbcd(b[22:28])
    extras = []
    i = 28
    while i < len(b):
        if i + 2 > len(b) or i + 2 + b[i + 1] > len(b):
            raise Fatal(f"GNSS extra item at {i} runs past the end: {b.hex()}")
        extras.append((b[i], b[i + 2:i + 2 + b[i + 1]]))
        i += 2 + b[i + 1]
    return {"alarm": alarm, "status": status, "lat": lat, "lon": lon, "rec_speed": rec, "sat_speed": sat,
            "direction": direction, "time": t, "time_bcd": t_ok, "extras": extras}


def ext_span(ext_id, ext_serial, term_no, data, props=EXT_PROPS_SIGNED):
    """The signed bytes: from the extended ID through the end of the data."""
    return struct.pack(">HHH", ext_id, props, ext_serial) + fixed(term_no, 16) + struct.pack(">I", len(data)) + data


def decode_ext(b):
    if len(b) < 27:
        raise Fatal(f"0x0900/0x8900 body of {len(b)} bytes, under 27")
    ext_id, props, ser = struct.unpack(">HHH", b[1:7])
    (n,) = struct.unpack(">I", b[23:27])
    return {"type": b[0], "ext_id": ext_id, "props": props, "ext_serial": ser,
            "terminal_no": b[7:23], "data_len": n, "data": b[27:27 + n], "rest": b[27 + n:]}


def decode_record(d):
    if len(d) < 76:
        raise Fatal(f"0x0203 data of {len(d)} bytes, under 76")
    (class_id,) = struct.unpack(">I", d[59:63])
    max_speed, mileage = struct.unpack(">HH", d[72:76])
    return {"record_no": text_field(d[:26]), "upload_type": d[26], "student": text_field(d[27:43]),
            "coach": text_field(d[43:59]), "class_id": class_id, "time": unbcd(d[63:66])[0],
            "course": unbcd(d[66:71])[0], "status": d[71], "max_speed": max_speed, "mileage": mileage,
            "gnss": decode_gnss(d[76:])}


def beijing(epoch, fmt):
    return time.strftime(fmt, time.gmtime(epoch + 8 * 3600))


def bcd_time(epoch):
    """BCD[6] YYMMDDhhmmss, Beijing time (UTC+8)."""
    return bcd(beijing(epoch, "%y%m%d%H%M%S"))


def course_digits(mode, cls, part, subject):
    d = f"{mode}{cls}{part}{subject:02d}0000"
    assert len(d) == 10 and d.isdigit(), d
    return d


# ---- crypto with the openssl command line --------------------------------------


class Crypto:
    def __init__(self, openssl, workdir):
        self.openssl = openssl
        self.dir = workdir

    def run(self, args, data=None):
        p = subprocess.run([self.openssl] + args, input=data, capture_output=True, timeout=60, check=False)
        if p.returncode != 0:
            raise Fatal(f"openssl {' '.join(args[:2])}: exit {p.returncode}: "
                        f"{p.stderr.decode(errors='replace').strip()[:400]}")
        return p.stdout

    def unpack_p12(self, der, password):
        """PKCS#12 bytes -> (key path, cert path, how).  Tries OpenSSL 3's
        defaults, then -legacy (RC2/3DES bags of older tools)."""
        p12 = os.path.join(self.dir, "terminal.p12")
        with open(p12, "wb") as f:
            f.write(der)
        pem = os.path.join(self.dir, "terminal.pem")
        how = "default"
        try:
            self.run(["pkcs12", "-in", p12, "-passin", "pass:" + password, "-nodes", "-out", pem])
        except Fatal as e:
            first = str(e)
            how = "-legacy"
            try:
                self.run(["pkcs12", "-legacy", "-in", p12, "-passin", "pass:" + password, "-nodes", "-out", pem])
            except Fatal:
                raise Fatal(first) from None
        key, cert = os.path.join(self.dir, "terminal.key"), os.path.join(self.dir, "terminal.crt")
        self.run(["pkey", "-in", pem, "-out", key])
        self.run(["x509", "-in", pem, "-out", cert])
        return key, cert, how

    def pubkey_of_key(self, key):
        return self.run(["pkey", "-in", key, "-pubout"])

    def pubkey_of_cert(self, cert):
        return self.run(["x509", "-in", cert, "-noout", "-pubkey"])

    def cert_text(self, cert):
        return self.run(["x509", "-in", cert, "-noout", "-subject", "-issuer", "-dates"]).decode(errors="replace")

    def key_bits(self, key):
        out = self.run(["pkey", "-in", key, "-noout", "-text"]).decode(errors="replace")
        first = out.split("\n", 1)[0]  # "Private-Key: (2048 bit, 2 primes)"
        return first

    def sign_digest(self, key, digest):
        """RSA PKCS#1 v1.5 type 1 over the bare 32-byte digest (no DigestInfo)."""
        path = os.path.join(self.dir, "digest.bin")
        with open(path, "wb") as f:
            f.write(digest)
        return self.run(["pkeyutl", "-sign", "-inkey", key, "-in", path])

    def recover(self, cert, sig):
        """What the certificate's key recovers from a signature (type-1 unpadded)."""
        path = os.path.join(self.dir, "sig.bin")
        with open(path, "wb") as f:
            f.write(sig)
        return self.run(["pkeyutl", "-verifyrecover", "-certin", "-inkey", cert, "-in", path])


# ---- the connection ---------------------------------------------------------------


class Link:
    """A plain TCP connection carrying timing frames; every frame received is
    checked against the spec and our phone."""

    def __init__(self, s, name):
        self.s = s
        self.a = s.a
        self.name = name
        self.sock = socket.create_connection((self.a.host, self.a.port), timeout=self.a.timeout)
        self.sock.settimeout(self.a.timeout)
        self.buf = bytearray()
        self.closed = False

    def send(self, data):
        self.sock.sendall(data)

    def read_frame(self, timeout=None):
        self.sock.settimeout(timeout or self.a.timeout)
        while True:
            start = self.buf.find(FLAG)
            if start > 0:
                note(f"{self.name}: {start} bytes before a flag dropped: {bytes(self.buf[:start]).hex()}")
                self.s.bad_frames += 1
                del self.buf[:start]
                start = 0
            if start == 0:
                end = self.buf.find(FLAG, 1)
                if end > 0:
                    escaped = bytes(self.buf[1:end])
                    del self.buf[:end]
                    if not escaped:
                        continue
                    try:
                        f = Frame(unescape(escaped))
                    except Fatal as e:
                        self.s.c.check(False, f"{self.name}: undecodable frame {escaped.hex()}: {e}")
                        self.s.bad_frames += 1
                        continue
                    self.s.inspect(f, self.name, escaped != f.raw)
                    return f
            try:
                chunk = self.sock.recv(4096)
            except (socket.timeout, TimeoutError):
                raise Fatal(f"{self.name}: timed out waiting for a frame") from None
            if not chunk:
                self.closed = True
                raise Fatal(f"{self.name}: connection closed by the server")
            self.buf += chunk

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ---- the session ---------------------------------------------------------------------


class Session:
    def __init__(self, args, checks, crypto):
        self.a = args
        self.c = checks
        self.crypto = crypto
        self.phone = args.phone.rjust(16, "0")
        self.serial = args.first_serial
        self.frames_in = 0
        self.escaped_in = 0
        self.bad_frames = 0
        self.terminal_no = None
        self.key = self.cert = None
        self.auth_frame = None
        self.last_ts = 0
        self.records = []  # (record_no, epoch, lat, lon, max_speed, mileage, gnss values, 0x8001 result)
        self.refused = []  # (record_no, reason)
        self.events = []  # (kind, epoch, person)
        self.course = course_digits(1, args.class_code, 2, 11)
        # the reserved header byte varies in the wild and must be ignored: 0x3C
        # (bjxc) while registering, 0x01 (cheji: a student logged in) during the
        # lesson, 0x00 otherwise
        self.reserved = 0

    def next_serial(self):
        s = self.serial
        self.serial = (self.serial + 1) & 0xFFFF
        return s

    def frame(self, msg_id, body, serial=None):
        if serial is None:
            serial = self.next_serial()
        return serial, build_frame(msg_id, body, self.phone, serial, self.reserved)

    def inspect(self, f, where, escaped):
        """Every frame received: the spec's layout and our phone."""
        self.frames_in += 1
        self.escaped_in += escaped
        problems = list(f.problems)
        if f.phone != self.phone:
            problems.append(f"phone {f.phone}, ours is {self.phone}")
        if f.pieces:
            total, idx = f.pieces
            if not 1 <= idx <= total:
                problems.append(f"piece {idx} of {total}")
        if problems:
            self.bad_frames += 1
            self.c.check(False, f"{where}: frame {f.msg_id:#06x} serial {f.serial}: {'; '.join(problems)}")

    # -- expectations --

    def expect(self, link, want_ids, what):
        """The next frame with one of want_ids; other frames are noted."""
        while True:
            f = link.read_frame()
            if f.msg_id in want_ids:
                return f
            self.c.check(False, f"{what}: unexpected frame {f}")

    def expect_general(self, link, serial, msg_id, what, want_zero=True):
        f = self.expect(link, (PLATFORM_ANSWER,), what)
        aser, aid, result = decode_8001(f.body)
        ok = aser == serial and aid == msg_id and ((result == 0) == want_zero)
        self.c.check(ok, f"{what}: 0x8001 answers serial {aser} id {aid:#06x} result {result} "
                         f"(want {serial} {msg_id:#06x} {'0' if want_zero else 'not 0'}); reserved byte "
                         f"{f.reserved:#04x}")
        return result

    # -- 1, 2: registration ---------------------------------------------------------

    def register(self, link):
        a = self.a
        self.reserved = 0x3C
        reg_serial, data = self.frame(REGISTER, register_body(a.imei, a.plate))
        link.send(data)
        pieces = {}
        dropped = None
        total = None
        while True:
            f = self.expect(link, (REGISTER_ANSWER,), "registration")
            if not f.pieces:
                self.c.check(False, f"registration: 0x8100 not sub-packaged ({len(f.body)} bytes): "
                                    f"cannot try 0x8003")
                pieces = {1: f}
                total = 1
                break
            t, idx = f.pieces
            if total is None:
                total = t
            elif t != total:
                self.c.check(False, f"registration: piece {idx} says {t} pieces, piece before said {total}")
            if idx == 2 and dropped is None and total >= 2:
                dropped = f
                note(f"registration: piece 2/{total} (serial {f.serial}) ignored on purpose")
            elif idx in pieces:
                self.c.check(False, f"registration: piece {idx} received twice before any request")
            else:
                pieces[idx] = f
            if len(pieces) == total - (1 if dropped is not None else 0) and all(
                    i in pieces or i == 2 for i in range(1, total + 1)) and (total < 2 or dropped is not None):
                break
        if total >= 2:
            first = pieces[1].serial
            body = struct.pack(">HBH", first, 1, 2)
            req_serial, data = self.frame(PIECE_REQUEST, body)
            link.send(data)
            f = self.expect(link, (REGISTER_ANSWER, PLATFORM_ANSWER), "0x8003 piece request")
            if f.msg_id == PLATFORM_ANSWER:
                note(f"0x8003: answered by 0x8001 {f.body.hex()} first")
                f = self.expect(link, (REGISTER_ANSWER,), "0x8003 piece request")
            again = f
            self.c.check(again.pieces is not None and again.pieces == (total, 2) and again.body == dropped.body,
                         f"0x8003 (first serial {first}, piece 2): piece {again.pieces} sent again, "
                         f"serial {again.serial}, {len(again.body)} bytes, "
                         f"{'the same bytes' if again.body == dropped.body else 'DIFFERENT bytes'}")
            pieces[2] = again
            serials_ok = all(pieces[i].serial == (first + i - 1) & 0xFFFF for i in range(1, total + 1) if i != 2) \
                and dropped.serial == (first + 1) & 0xFFFF
            self.c.check(serials_ok,
                         f"registration: the {total} pieces carry consecutive serials from {first} "
                         f"({[pieces[i].serial for i in range(1, total + 1) if i != 2]}, piece 2 "
                         f"{dropped.serial}, resent with {again.serial})")
            if again.serial != dropped.serial:
                note(f"the resent piece 2 has serial {again.serial}, the first one had {dropped.serial}")
        sizes = [len(pieces[i].body) for i in range(1, total + 1)]
        self.c.check(all(s <= MAX_PIECE for s in sizes) and all(s > 0 for s in sizes),
                     f"registration: {total} pieces of {sizes} body bytes (at most {MAX_PIECE} each)")
        joined = b"".join(pieces[i].body for i in range(1, total + 1))
        d = decode_8100(joined)
        if not self.c.check(d["serial"] == reg_serial and d["result"] == 0,
                            f"registration: 0x8100 answers serial {d['serial']} result {d['result']} "
                            f"(want {reg_serial} 0), {len(joined)} bytes joined"):
            raise Fatal("registration refused")
        term_no = d["terminal_no"]
        self.c.check(all(0x20 < b < 0x7F for b in term_no),
                     f"registration: timing terminal number {term_no!r} is 16 printable ASCII characters")
        self.terminal_no = term_no.decode("ascii", "replace")
        pw = d["password"].rstrip(b"\0")
        self.c.check(pw != b"" and all(0x20 < b < 0x7F for b in pw),
                     f"registration: platform {d['platform_no']!r}, institution {d['institution_no']!r}, "
                     f"certificate password of {len(pw)} printable characters")
        b64 = d["cert_b64"]
        nuls = len(b64) - len(b64.rstrip(b"\0"))
        b64 = b64.rstrip(b"\0")
        try:
            der = base64.b64decode(b64, validate=True)
        except ValueError as e:
            raise Fatal(f"certificate is not Base64: {e}") from None
        self.c.check(der[:1] == b"\x30", f"registration: certificate is {len(b64)} Base64 characters "
                                         f"(+{nuls} trailing NUL) = {len(der)} DER bytes")
        key, cert, how = self.crypto.unpack_p12(der, pw.decode("ascii"))
        self.c.check(self.crypto.pubkey_of_key(key) == self.crypto.pubkey_of_cert(cert),
                     f"registration: PKCS#12 unpacked with openssl ({how}); the certificate's public key "
                     f"is the private key's")
        bits = self.crypto.key_bits(key)
        self.c.check("2048 bit" in bits, f"registration: key {bits.strip()} (want RSA-2048)")
        note("certificate " + " / ".join(self.crypto.cert_text(cert).strip().split("\n")))
        self.key, self.cert = key, cert

    # -- 3: authentication --------------------------------------------------------------

    def auth_body(self, ts, flip=False):
        digest = hashlib.sha256(self.terminal_no.encode("ascii") + struct.pack(">I", ts)).digest()
        sig = self.crypto.sign_digest(self.key, digest)
        if len(sig) != 256:
            raise Fatal(f"signature of {len(sig)} bytes")
        if flip:
            sig = sig[:100] + bytes([sig[100] ^ 0x01]) + sig[101:]
        return struct.pack(">I", ts) + sig

    def fresh_ts(self):
        ts = max(int(time.time()), self.last_ts + 1)
        self.last_ts = ts
        return ts

    def authenticate(self, link, what="authentication"):
        ts = self.fresh_ts()
        body = self.auth_body(ts)
        serial, data = self.frame(AUTH, body)
        link.send(data)
        r = self.expect_general(link, serial, AUTH, f"{what} (timestamp {ts})")
        return data, r

    def refused_auth(self, name, data, serial):
        try:
            link = Link(self, name)
        except OSError as e:
            self.c.check(False, f"{name}: connect: {e}")
            return
        try:
            link.send(data)
            self.expect_general(link, serial, AUTH, name, want_zero=False)
            # nothing but registration and authentication is served before it
            hs, hdata = self.frame(HEARTBEAT, b"")
            try:
                link.send(hdata)
                f = link.read_frame(timeout=2)
                if f.msg_id == PLATFORM_ANSWER:
                    aser, aid, result = decode_8001(f.body)
                    self.c.check(aser == hs and result != 0,
                                 f"{name}: then a heartbeat is answered with result {result} (want not 0)")
                else:
                    self.c.check(False, f"{name}: then a heartbeat gets {f}")
            except (Fatal, OSError) as e:
                self.c.check(True, f"{name}: then a heartbeat gets no answer ({e})")
        except Fatal as e:
            self.c.check(False, f"{name}: {e}")
        finally:
            link.close()

    def auth_failures(self):
        # a flipped signature byte
        ts = self.fresh_ts()
        serial, data = self.frame(AUTH, self.auth_body(ts, flip=True))
        self.refused_auth("auth with one signature byte flipped", data, serial)
        # an hour old
        serial, data = self.frame(AUTH, self.auth_body(int(time.time()) - 3600))
        self.refused_auth("auth with a timestamp one hour old", data, serial)
        # the accepted frame again, byte for byte
        if self.auth_frame:
            serial = self.auth_frame[0]
            self.refused_auth("auth replayed (the accepted frame on a new connection)", self.auth_frame[1], serial)
        # and a fresh one still passes
        try:
            link = Link(self, "auth after the refusals")
            self.authenticate(link, "a fresh authentication on a new connection after the refusals")
            link.close()
        except (Fatal, OSError) as e:
            self.c.check(False, f"a fresh authentication after the refusals: {e}")

    def refused_registration(self, name, phone, imei):
        try:
            link = Link(self, name)
        except OSError as e:
            self.c.check(False, f"{name}: connect: {e}")
            return
        saved, self.phone = self.phone, phone.rjust(16, "0")  # inspect() compares with the phone sent
        try:
            serial, data = self.frame(REGISTER, register_body(imei, self.a.plate))
            link.send(data)
            f = self.expect(link, (REGISTER_ANSWER,), name)
            d = decode_8100(f.body) if not f.pieces else {"serial": None, "result": "in pieces"}
            self.c.check(d["serial"] == serial and d["result"] not in (0, "in pieces") and len(f.body) == 3,
                         f"{name}: 0x8100 answers serial {d['serial']} result {d['result']} in {len(f.body)} "
                         f"bytes (want {serial}, not 0, 3 bytes: no certificate)")
        except Fatal as e:
            self.c.check(False, f"{name}: {e}")
        finally:
            self.phone = saved
            link.close()

    def registration_failures(self):
        wrong = "86" + "9" * 13 if self.a.imei != "86" + "9" * 13 else "86" + "8" * 13
        self.refused_registration(f"registration with another IMEI ({wrong})", self.a.phone, wrong)
        self.refused_registration(f"registration of an unknown phone ({self.a.unknown_phone})",
                                  self.a.unknown_phone, self.a.imei)

    # -- 4: the lesson -------------------------------------------------------------------

    def ext_body(self, ext_id, ext_serial, data, how="signed"):
        """how: "signed"; "unsigned" (props 0x0002, no check string);
        "tampered" (signed, then one byte of the data changed)."""
        if how == "unsigned":
            return bytes([TT_TYPE]) + ext_span(ext_id, ext_serial, self.terminal_no, data, props=0x0002)
        span = ext_span(ext_id, ext_serial, self.terminal_no, data)
        sig = self.crypto.sign_digest(self.key, hashlib.sha256(span).digest())
        if how == "tampered":
            i = 26 + 75  # the low byte of the record's mileage WORD
            span = span[:i] + bytes([span[i] ^ 0x01]) + span[i + 1:]
        return bytes([TT_TYPE]) + span + sig

    def check_ext_answer(self, f, ext_id, ext_serial, person, what, fixed_len):
        try:
            e = decode_ext(f.body)
        except Fatal as ex:
            self.c.check(False, f"{what}: {ex}")
            return None
        problems = []
        if e["type"] != TT_TYPE:
            problems.append(f"type {e['type']:#04x}")
        if e["ext_id"] != ext_id | 0x8000:
            problems.append(f"ext ID {e['ext_id']:#06x}, want {ext_id | 0x8000:#06x}")
        if e["ext_serial"] != ext_serial:
            problems.append(f"package serial {e['ext_serial']}, want {ext_serial}")
        if e["terminal_no"] != self.terminal_no.encode():
            problems.append(f"terminal number {e['terminal_no']!r}")
        if len(e["data"]) != e["data_len"]:
            problems.append(f"data length {e['data_len']} but {len(e['data'])} bytes")
        sig_bits = (e["props"] >> 4) & 0xF
        if sig_bits == 0 and e["rest"]:
            problems.append(f"{len(e['rest'])} unannounced bytes after the data")
        d = e["data"]
        result = d[0] if d else None
        if len(d) < fixed_len:
            problems.append(f"data {d.hex()} shorter than {fixed_len}")
        else:
            want_len = fixed_len + (d[fixed_len - 1] if fixed_len in (19, 27) else 0)
            if len(d) != want_len:
                problems.append(f"data of {len(d)} bytes, layout says {want_len}")
            if text_field(d[1:17]) != person:
                problems.append(f"names {d[1:17]!r}, want {person!r}")
        if result != ANSWER_OK:
            problems.append(f"result {result} (want 1)")
        extra = ""
        if fixed_len == 27 and len(d) >= 27:
            t, done, tkm, dkm = struct.unpack(">HHHH", d[17:25])
            extra = f"; minutes {t} total / {done} done, mileage {tkm} / {dkm}"
        if fixed_len in (19, 27) and len(d) >= fixed_len and d[fixed_len - 1]:
            extra += f"; message {d[fixed_len:].decode('gbk', 'replace')!r}"
        self.c.check(not problems, f"{what}: 0x8900 {e['ext_id']:#06x} package serial {e['ext_serial']} "
                                   f"props {e['props']:#06x} result {result}{extra}"
                     + (" -- " + "; ".join(problems) if problems else ""))
        return e

    def login_like(self, link, ext_id, ext_serial, data, person, what, fixed_len, kind, epoch):
        body = self.ext_body(ext_id, ext_serial, data)
        serial, fr = self.frame(TRANSPARENT_UP, body)
        link.send(fr)
        while True:
            f = self.expect(link, (TRANSPARENT_DOWN, PLATFORM_ANSWER), what)
            if f.msg_id == PLATFORM_ANSWER:
                aser, aid, result = decode_8001(f.body)
                note(f"{what}: also a 0x8001 serial {aser} id {aid:#06x} result {result}")
                self.c.check(aser == serial and aid == TRANSPARENT_UP and result == 0,
                             f"{what}: the 0x8001 names our serial {serial} and 0x0900 with result 0")
                continue
            self.check_ext_answer(f, ext_id, ext_serial, person, what, fixed_len)
            break
        self.events.append((kind, epoch, person))

    def record(self, i, t, mileage_total, seq_base, ext, how="signed"):
        """A 0x0203 at epoch t -> (record number, 0x0900 body, what the database must hold)."""
        a = self.a
        rlat, rlon = a.lat + 9 * (i % 3), a.lon + 11 * (i % 2)  # a metre or so around the point
        max_speed = 150 + 10 * i  # 0.1 km/h
        mileage = 3  # 0.1 km in the minute
        hhmm = beijing(t, "%H%M")
        record_no = self.terminal_no + beijing(t, "%y%m%d") + f"{seq_base + int(hhmm[:2]) * 60 + int(hhmm[2:]):04d}"
        # recorder and satellite speeds differ, so that a swap shows in the database
        gv = {"rec": max_speed - 20, "sat": max_speed - 25, "km": 1000 + mileage_total, "rpm": 1500 + 7 * i}
        extras = bytes([0x01, 4]) + struct.pack(">I", gv["km"]) + bytes([0x05, 2]) + struct.pack(">H", gv["rpm"])
        g = gnss_block(rlat, rlon, t, gv["rec"], gv["sat"], (40 * i) % 360, extras=extras)
        assert len(g) == 38
        data = (fixed(record_no, 26) + bytes([1]) + fixed(a.student, 16) + fixed(a.coach, 16)
                + struct.pack(">I", a.class_id) + bcd(beijing(t, "%H%M%S")) + bcd(self.course) + bytes([0])
                + struct.pack(">HH", max_speed, mileage) + g)
        assert len(data) == 114
        return record_no, self.ext_body(RECORD, ext, data, how), (record_no, t, rlat, rlon, max_speed, mileage, gv)

    def lesson(self, link):
        a = self.a
        n = a.records
        now = int(time.time())
        base = now - (n + 2) * 60
        base -= base % 60  # minute starts
        lat, lon = a.lat, a.lon
        coach, student, class_id = a.coach, a.student, a.class_id
        ext = 1
        # coach login (64 bytes)
        t = base + 5
        data = fixed(coach, 16) + fixed(a.coach_id_card, 18) + fixed("C1", 2) + gnss_block(lat, lon, t, 0, 0, 0)
        assert len(data) == 64
        self.login_like(link, COACH_LOGIN, ext, data, coach, "coach login 0x0101", 19, "coach_login", t)
        ext += 1
        # student login (69 bytes)
        t = base + 15
        data = (fixed(student, 16) + fixed(coach, 16) + bcd(self.course) + struct.pack(">I", class_id)
                + gnss_block(lat, lon, t, 0, 0, 0))
        assert len(data) == 69
        self.login_like(link, STUDENT_LOGIN, ext, data, student, "student login 0x0201", 27, "student_login", t)
        ext += 1
        self.reserved = 0x01
        # records, one a minute (114 bytes)
        mileage_total = 0
        for i in range(n):
            t = base + 60 * (i + 1) + 30
            mileage_total += 3
            record_no, body, rec = self.record(i, t, mileage_total, 0, ext)
            ext += 1
            serial, fr = self.frame(TRANSPARENT_UP, body)
            link.send(fr)
            r = self.expect_general(link, serial, TRANSPARENT_UP, f"record {record_no} (0x0203, {len(body)}-byte body)")
            self.records.append(rec + (r,))
        # refused records, in minutes no good record uses (record numbers 5000 + minute of the day)
        for how, t, reason in (("tampered", base + 40, "bad_signature"),
                               ("unsigned", base + 60 * (n + 1) + 2, "no_signature")):
            record_no, body, rec = self.record(n + len(self.refused), t, mileage_total, 5000, ext, how)
            ext += 1
            serial, fr = self.frame(TRANSPARENT_UP, body)
            link.send(fr)
            r = self.expect_general(link, serial, TRANSPARENT_UP,
                                    f"{how} record {record_no} ({len(body)}-byte body, rules.unsigned at its "
                                    f"default)", want_zero=False)
            self.refused.append((record_no, reason))
        # student logout (58 bytes)
        t = base + 60 * (n + 1) + 10
        data = (fixed(student, 16) + bcd_time(t) + struct.pack(">HHI", n, mileage_total, class_id)
                + gnss_block(lat, lon, t, 0, 0, 0))
        assert len(data) == 58
        self.login_like(link, STUDENT_LOGOUT, ext, data, student, "student logout 0x0202", 17, "student_logout", t)
        self.reserved = 0
        ext += 1
        # coach logout (44 bytes)
        t = base + 60 * (n + 1) + 20
        data = fixed(coach, 16) + gnss_block(lat, lon, t, 0, 0, 0)
        assert len(data) == 44
        self.login_like(link, COACH_LOGOUT, ext, data, coach, "coach logout 0x0102", 17, "coach_logout", t)

    # -- the whole flow ------------------------------------------------------------------

    def run(self):
        a = self.a
        link = Link(self, "main connection")
        self.c.check(True, f"plain TCP to {a.host}:{a.port}, terminal phone {self.phone}, IMEI {a.imei}")
        self.register(link)
        self.reserved = 0
        ts = self.fresh_ts()
        serial, data = self.frame(AUTH, self.auth_body(ts))
        link.send(data)
        digest = hashlib.sha256(self.terminal_no.encode() + struct.pack(">I", ts)).digest()
        rec = self.crypto.recover(self.cert, self.auth_body_sig(data))
        self.c.check(rec == digest, "our own signature recovers, with the certificate, to the bare 32-byte digest")
        r = self.expect_general(link, serial, AUTH, f"authentication (timestamp {ts}, terminal {self.terminal_no})")
        if r != 0:
            raise Fatal("authentication refused")
        self.auth_frame = (serial, data)
        hs, hdata = self.frame(HEARTBEAT, b"")
        link.send(hdata)
        self.expect_general(link, hs, HEARTBEAT, "heartbeat 0x0002 after authentication")
        self.lesson(link)
        link.close()
        self.auth_failures()
        # after the fresh authentication: refusals here cannot throttle it
        self.registration_failures()

    def auth_body_sig(self, frame):
        raw = unescape(frame[1:-1])
        return raw[HDR_LEN + 4:-1]

    def finish(self):
        self.c.check(self.frames_in > 0 and self.bad_frames == 0,
                     f"{self.frames_in} frames received, each with check code, length, version 0x80 and our "
                     f"phone verified; {self.escaped_in} escaped; {self.bad_frames} bad")

    # -- 6: the database -------------------------------------------------------------------

    def psql(self, sql):
        cmd = shlex.split(self.a.psql) + ["-X", "-A", "-t", "-F", "|", "-c", sql]
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            self.c.check(False, f"psql: {e}")
            return None
        if out.returncode != 0:
            self.c.check(False, f"psql query ran (exit {out.returncode}) {out.stderr.strip()}: {sql}")
            return None
        return [line.split("|") for line in out.stdout.split("\n") if line.strip()]

    def check_database(self):
        ph = self.phone.lstrip("0") or "0"
        rows = self.psql(f"SELECT coalesce(terminal_no, '-') FROM terminal WHERE phone = '{ph}'")
        if rows is None:
            return
        self.c.check(rows == [[self.terminal_no]], f"terminal {ph}: terminal_no {rows} "
                                                  f"(want the 0x8100's {self.terminal_no})")
        if not self.records:
            self.c.check(False, "no record was sent")
            return
        nos = ",".join(f"'{r[0]}'" for r in self.records)
        rows = self.psql(
            "SELECT record_no, verdict, coalesce(reason, '-'), extract(epoch FROM record_time)::bigint,"
            " student_no, coach_no, class_id, course_code, part, mode, vehicle_class, upload_type,"
            " max_speed_dkmh, mileage_dkm, lat_e6, lon_e6, fix_valid,"
            # sql/005_timing.sql: the timing GNSS block's two speeds and extra items
            " recorder_speed_dkmh, gnss_speed_dkmh, gnss_mileage_dkm, engine_rpm, signed"
            " FROM training_record r JOIN terminal t ON t.id = r.terminal_id"
            f" WHERE t.phone = '{ph}' AND record_no IN ({nos}) ORDER BY record_no")
        if rows is None:
            return
        got = {w[0]: w[1:] for w in rows}
        a = self.a
        for no, t, lat, lon, speed, mileage, g, _ in self.records:
            want = ["accepted", "-", str(t), a.student, a.coach, str(a.class_id), self.course, "2",
                    "1", "C1", "1", str(speed), str(mileage), str(lat), str(lon), "t",
                    str(g["rec"]), str(g["sat"]), str(g["km"]), str(g["rpm"]), "t"]
            g = got.get(no)
            self.c.check(g == want, f"training_record {no}: {g} (want {want})")
        if self.refused:
            nos = ",".join(f"'{r[0]}'" for r in self.refused)
            rows = self.psql("SELECT record_no, verdict, coalesce(reason, '-')"
                             " FROM training_record r JOIN terminal t ON t.id = r.terminal_id"
                             f" WHERE t.phone = '{ph}' AND record_no IN ({nos})")
            if rows is not None:
                got = {w[0]: w[1:] for w in rows}
                for no, reason in self.refused:
                    want = ["rejected", reason]
                    self.c.check(got.get(no) == want, f"training_record {no}: {got.get(no)} (want {want})")
            rows = self.psql("SELECT record_no, signed FROM training_record r JOIN terminal t ON t.id = r.terminal_id"
                             f" WHERE t.phone = '{ph}' AND record_no IN ({nos})")
            if rows:
                # sql/005_timing.sql: signed is false only for a message *taken* unsigned
                # (rules.unsigned: flag); a rejected unsigned one keeps true
                note("training_record.signed of the refused records: " + ", ".join(f"{a} {b}" for a, b in rows))
        ours = ",".join(f"('{k}', to_timestamp({t}), '{p}')" for k, t, p in self.events)
        events = self.psql(
            "SELECT kind, extract(epoch FROM event_time)::bigint, person_no, verdict, coalesce(reason, '-')"
            " FROM session_event e JOIN terminal t ON t.id = e.terminal_id"
            f" WHERE t.phone = '{ph}' AND (kind, event_time, person_no) IN ({ours})"
            " ORDER BY event_time")
        if events is None:
            return
        want = [[k, str(t), p, "accepted", "-"] for k, t, p in sorted(self.events, key=lambda e: e[1])]
        self.c.check(events == want, f"session_event: {events} (want {want})")


# ---- --self-test: the public frames -------------------------------------------------------

# From tests/fixtures/jt808_timing_public.md: header fields
# (id, props, phone, serial, reserved, pieces), check and length verdicts
# (True/False; "esc" = only over the escaped bytes), and body fields.
EXPECT = {
    "cheji-0100-reg": dict(id=0x0100, props=0x003E, phone="0000018575320215", serial=1, reserved=0x80,
                           xor=True, length=True,
                           reg=dict(province=44, city=1900, maker="70218", model="YW3000-YP", serial="0JTG40A",
                                    imei="356322034492031", colour=2, plate="粤S1301学", plate_nul=True)),
    "hyapi-0100-reg": dict(id=0x0100, props=0x003D, phone="0000018230103547", serial=54, reserved=0,
                           xor=True, length=True,
                           reg=dict(province=11, city=1, maker="BJKRT", model="SDJ-XK1700-YA", serial="H110365",
                                    imei="864881027412780", colour=1, plate="京D1457学", plate_nul=False)),
    "hyapi-0002-heartbeat": dict(id=0x0002, props=0, phone="0000018230103547", serial=0, reserved=0,
                                 xor=True, length=True, check=0x53, body=b""),
    "hyapi-01f0-platform-login-badlen": dict(id=0x01F0, props=0x0017, phone="0000000000" + "0a" + "0107",
                                             phone_bcd=False, serial=1, reserved=0, xor=True, length=False,
                                             body=b"A0107" + b"12345678" + struct.pack(">I", 12345678)),
    "guice-0002-heartbeat-zero": dict(id=0x0002, props=0, phone="0000000000000000", serial=0, reserved=0,
                                      xor=True, length=True, check=0x82, body=b""),
    "xmg-0203-record-escfault": dict(id=0x0900, props=0x008E, phone="8617724649151002", serial=156, reserved=0,
                                     xor="esc", length="esc",
                                     ext=dict(ext_id=0x0203, props=0x0002, ext_serial=156,
                                              terminal_no=b"1661733426772144", data_len=0x73),
                                     rec=dict(record_no="16617334267721442209140006", upload_type=1,
                                              student="7934248272235217", coach="3773143352552225",
                                              class_id=90121, time="101010", course="3213210000", status=0,
                                              max_speed=250, mileage=3),
                                     gnss=dict(alarm=0, status=1, lat=28575408, lon=115881141, rec_speed=230,
                                               sat_speed=230, direction=214, time="220914101010",
                                               extras=[(1, struct.pack(">I", 850)), (5, struct.pack(">H", 1149))])),
    "bjxc-0100-reg-3c": dict(id=0x0100, props=0x003D, phone="0000013012345343", serial=44, reserved=0x3C,
                             xor=True, length=True,
                             reg=dict(province=11, city=100, maker="70202", model="CV7000", serial="6000003",
                                      imei="355099048111994", colour=2, plate="浙E1578学", plate_nul=False)),
    "bjxc-0100-reg-3c-b": dict(id=0x0100, props=0x003D, phone="0000015820207799", serial=0, reserved=0x3C,
                               xor=True, length=True,
                               reg=dict(province=44, city=100, maker="70202", model="CV5000", serial="1456237",
                                        imei="355465789012345", colour=2, plate="粤A7799学", plate_nul=False)),
    "bjxc-0102-auth": dict(id=0x0102, props=0x0104, phone="0000015789478932", serial=130, reserved=0x3C,
                           xor=True, length=True,
                           auth=dict(ts=1486705514, head="89322c8348de2664", tail="47ac275286b14a6f")),
    "bjxc-0203-signed-badxor": dict(id=0x0900, props=0x018D, phone="0000015789478932", serial=2179,
                                    reserved=0x3C, xor=False, xor_computed=0x62, check=0x78, length=True,
                                    ext=dict(ext_id=0x0203, props=0x0022, ext_serial=495,
                                             terminal_no=b"9997195143414199", data_len=114, rest=256),
                                    rec=dict(record_no="99971951434141991702100001", upload_type=1,
                                             student="9381223461366286", coach="4394141175102376", class_id=100,
                                             time="094612", course="1212110000", status=0, max_speed=350,
                                             mileage=20),
                                    gnss=dict(alarm=1, status=1, lat=39879701, lon=116023510, rec_speed=111,
                                              sat_speed=102, direction=56, time="170210134611",
                                              extras=[(1, struct.pack(">I", 120)), (5, struct.pack(">H", 100))])),
    "bjxc-8100-piece5of5": dict(id=0x8100, props=0x2140, phone="0000015938947284", serial=123, reserved=0,
                                pieces=(5, 5), xor=True, length=True,
                                b64=dict(n=320, head=b"rPN9658dK/Nu0x", tail=b"IimkPAQIThp0ugAC4mE=")),
    "msgtool-8001-v80": dict(id=0x8001, props=0x0005, phone="0000018637237929", serial=76, reserved=0x3C,
                             xor=True, length=True, body=struct.pack(">HHB", 76, 0x0200, 0)),
}

GNSS_VECTOR = ("0000000000000002015d81e506e473f3003d003d01541803061659340104000000000202000003020000050204ad",
               dict(alarm=0, status=2, lat=0x015D81E5, lon=0x06E473F3, rec_speed=61, sat_speed=61,
                    direction=340, time="180306165934",
                    extras=[(1, b"\0\0\0\0"), (2, b"\0\0"), (3, b"\0\0"), (5, struct.pack(">H", 0x04AD))]))


def load_fixtures(path):
    frames = []
    label = None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("# ["):
                label = line[3:line.index("]")]
            elif line and not line.startswith("#"):
                frames.append((label, line))
                label = None
    return frames


def cmp_fields(got, want):
    return [f"{k} {got.get(k)!r} (want {v!r})" for k, v in want.items() if got.get(k) != v]


def self_test_frames(c, path):
    frames = load_fixtures(path)
    seen = set()
    for label, hexline in frames:
        want = EXPECT.get(label)
        if want is None:
            c.check(False, f"fixture [{label}]: no expectation written for it")
            continue
        seen.add(label)
        try:
            f = parse_wire(hexline)
        except Fatal as e:
            c.check(False, f"fixture [{label}]: {e}")
            continue
        got = dict(id=f.msg_id, props=f.props, phone=f.phone, serial=f.serial, reserved=f.reserved,
                   pieces=f.pieces, phone_bcd=f.phone_bcd, version=f.version)
        w = dict(id=want["id"], props=want["props"], phone=want["phone"], serial=want["serial"],
                 reserved=want["reserved"], pieces=want.get("pieces"), phone_bcd=want.get("phone_bcd", True),
                 version=VERSION)
        problems = cmp_fields(got, w)
        if want["xor"] == "esc":
            if f.xor_ok or not f.esc_xor_ok:
                problems.append(f"XOR over unescaped {f.xor_ok}, over escaped {f.esc_xor_ok} (want False, True)")
        elif f.xor_ok != want["xor"]:
            problems.append(f"XOR ok {f.xor_ok} (want {want['xor']})")
        if "xor_computed" in want and f.xor_computed != want["xor_computed"]:
            problems.append(f"XOR computed {f.xor_computed:#04x} (want {want['xor_computed']:#04x})")
        if "check" in want and f.check_byte != want["check"]:
            problems.append(f"check byte {f.check_byte:#04x} (want {want['check']:#04x})")
        if want["length"] == "esc":
            if f.length_ok or not f.esc_length_ok:
                problems.append(f"length ok {f.length_ok}, over escaped {f.esc_length_ok} (want False, True)")
        elif f.length_ok != want["length"]:
            problems.append(f"length ok {f.length_ok} (want {want['length']}; props {f.body_len}, "
                            f"body {len(f.body)})")
        if "body" in want and f.body != want["body"]:
            problems.append(f"body {f.body.hex()} (want {want['body'].hex()})")
        try:
            if "reg" in want:
                problems += cmp_fields(decode_register(f.body), want["reg"])
            if "auth" in want:
                ts = struct.unpack(">I", f.body[:4])[0]
                sig = f.body[4:]
                if ts != want["auth"]["ts"] or len(sig) != 256 or sig[:8].hex() != want["auth"]["head"] \
                        or sig[-8:].hex() != want["auth"]["tail"]:
                    problems.append(f"auth ts {ts}, signature {len(sig)} bytes {sig[:8].hex()}..{sig[-8:].hex()}")
            if "ext" in want:
                e = decode_ext(f.body)
                if e["type"] != TT_TYPE:
                    problems.append(f"type {e['type']:#04x}")
                exp = dict(want["ext"])
                rest = exp.pop("rest", 0)
                problems += cmp_fields(e, exp)
                data = e["data"]
                if want["length"] == "esc":
                    # the device counted the escaped bytes: the real record is 114
                    data = f.body[27:]
                if len(data) != 114:
                    problems.append(f"record data of {len(data)} bytes (want 114)")
                if len(e["rest"]) != rest and want["length"] != "esc":
                    problems.append(f"{len(e['rest'])} bytes after the data (want {rest})")
                r = decode_record(data)
                problems += cmp_fields(r, want["rec"])
                problems += cmp_fields(r["gnss"], want["gnss"])
                if not r["record_no"].startswith(e["terminal_no"].decode()):
                    problems.append("record number does not start with the terminal number")
            if "b64" in want:
                b = f.body
                if len(b) != want["b64"]["n"] or not b.startswith(want["b64"]["head"]) \
                        or not b.endswith(want["b64"]["tail"]):
                    problems.append(f"piece body {len(b)} bytes {b[:14]!r}..{b[-20:]!r}")
                if b.endswith(b"\0"):
                    problems.append("trailing NUL")
        except (Fatal, struct.error, IndexError) as e:
            problems.append(f"body: {e}")
        c.check(not problems, f"fixture [{label}] {f.msg_id:#06x} serial {f.serial} reserved {f.reserved:#04x}"
                              f"{' pieces ' + str(f.pieces) if f.pieces else ''}: header and body as the .md says"
                              + (" -- " + "; ".join(problems) if problems else ""))
        # our encoder gives back the same bytes for the well-formed frames
        if want["xor"] is True and want["length"] is True and want.get("phone_bcd", True):
            again = build_frame(f.msg_id, f.body, f.phone, f.serial, f.reserved, f.pieces)
            c.check(again == bytes.fromhex(hexline),
                    f"fixture [{label}]: re-encoded from the decoded fields, byte for byte"
                    + ("" if again == bytes.fromhex(hexline) else f" -- got {again.hex()}"))
    missing = set(EXPECT) - seen
    c.check(not missing and len(frames) == len(EXPECT),
            f"{len(frames)} fixture frames, every expectation used" + (f"; missing {missing}" if missing else ""))
    g = decode_gnss(bytes.fromhex(GNSS_VECTOR[0]))
    p = cmp_fields(g, GNSS_VECTOR[1])
    c.check(not p, "DTTimerDataLib GNSS vector decoded as the .md says" + (" -- " + "; ".join(p) if p else ""))


def self_test_codec(c):
    # escaping in header, body and check code; a round trip
    body = bytes([0x7E, 0x7D, 0x00, 0x7E])
    fr = build_frame(0x0900, body, "13800000001", 0x7E7D)
    f = parse_wire(fr.hex())
    c.check(f.serial == 0x7E7D and f.body == body and f.xor_ok and f.length_ok and f.phone == "0000013800000001"
            and fr.count(FLAG) == 2, f"escaping round trip: {fr.hex()}")
    # pieces header: 20 bytes
    fr = build_frame(0x8003, struct.pack(">HBH", 7, 1, 2), "1", 9, pieces=(3, 2))
    f = parse_wire(fr.hex())
    c.check(f.hlen == 20 and f.pieces == (3, 2) and f.body == struct.pack(">HBH", 7, 1, 2),
            "sub-packaged header of 20 bytes round trip")
    c.check(course_digits(1, C1_CLASS_CODE, 2, 11) == "1212110000",
            f"course code for C1 (class {C1_CLASS_CODE}, docs/protocol.md), part 2, subject 11: "
            f"{course_digits(1, C1_CLASS_CODE, 2, 11)}")


def self_test_crypto(c, openssl):
    with tempfile.TemporaryDirectory(prefix="jtx-selftest.") as d:
        cr = Crypto(openssl, d)
        try:
            key = os.path.join(d, "k.pem")
            cert = os.path.join(d, "c.pem")
            cr.run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                    "-subj", "/CN=jtx-self-test"])
            p12 = os.path.join(d, "t.p12")
            cr.run(["pkcs12", "-export", "-inkey", key, "-in", cert, "-out", p12, "-passout", "pass:123456789012"])
            with open(p12, "rb") as f:
                der = f.read()
            sub = os.path.join(d, "unpack")
            os.mkdir(sub)
            k2, c2, how = Crypto(openssl, sub).unpack_p12(der, "123456789012")
            c.check(cr.pubkey_of_key(k2) == cr.pubkey_of_cert(c2), f"PKCS#12 unpack ({how}): key matches certificate")
            digest = hashlib.sha256(b"0123456789ABCDEF" + struct.pack(">I", 1486705514)).digest()
            sig = cr.sign_digest(k2, digest)
            rec = cr.recover(c2, sig)
            c.check(len(sig) == 256 and rec == digest, "bare-digest signature: 256 bytes, recovers to the digest")
            # the padding is type 1 over the bare digest: 00 01 FF.. 00 || digest
            raw = cr.run(["pkeyutl", "-verifyrecover", "-certin", "-inkey", c2, "-in", os.path.join(d, "sig.bin"),
                          "-pkeyopt", "rsa_padding_mode:none"])
            c.check(raw[:2] == b"\x00\x01" and raw[-33:] == b"\x00" + digest and set(raw[2:-33]) == {0xFF},
                    "the signature block is 00 01 FF..FF 00 || SHA-256 (no DigestInfo)")
        except Fatal as e:
            c.check(False, f"crypto self-test: {e}")


def self_test(a, c):
    print(f"jtx_client: self-test on {a.fixtures}")
    self_test_frames(c, a.fixtures)
    self_test_codec(c)
    self_test_crypto(c, a.openssl)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--self-test", action="store_true", help="decode the public frames; no server")
    ap.add_argument("--fixtures", default=os.path.join(here, "fixtures", "jt808_timing_public.hex"))
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int)
    ap.add_argument("--phone", help="terminal phone, up to 16 digits")
    ap.add_argument("--imei", default="860000000000017", help="15-digit IMEI")
    ap.add_argument("--plate", default="沪A1234学")
    ap.add_argument("--psql", help='psql command line prefix, e.g. "psql -d \'host=... dbname=hoursd\'"')
    ap.add_argument("--openssl", default="openssl")
    ap.add_argument("--lat", type=int, default=31_230_500, help="latitude of the training site (microdegrees)")
    ap.add_argument("--lon", type=int, default=121_472_000, help="longitude of the training site (microdegrees)")
    ap.add_argument("--records", type=int, default=5)
    ap.add_argument("--student", default="3101150000000191")
    ap.add_argument("--coach", default="3101150000000192")
    ap.add_argument("--coach-id-card", default="310101198001012345")
    ap.add_argument("--class-id", type=int, default=31001)
    ap.add_argument("--class-code", default=C1_CLASS_CODE, help="two-digit vehicle class in the course code")
    # 0x7E and 0x7D in our serials: escaping in our headers and in the echoed serials
    ap.add_argument("--first-serial", type=lambda s: int(s, 0), default=0x7D7E)
    ap.add_argument("--unknown-phone", default="13899999999", help="a phone the server does not know")
    ap.add_argument("--timeout", type=float, default=5.0)
    a = ap.parse_args()
    c = Checks()
    if a.self_test:
        self_test(a, c)
        print(f"{c.passed} passed, {c.failed} failed")
        return 0 if c.failed == 0 and c.passed > 0 else 1
    if a.port is None or not a.phone:
        ap.error("--port and --phone are needed (or --self-test)")
    if not a.phone.isdigit() or len(a.phone) > 16:
        ap.error("--phone: digits, at most 16")
    if len(a.imei) != 15 or not a.imei.isdigit():
        ap.error("--imei: 15 digits")
    if len(a.class_code) != 2 or not a.class_code.isdigit():
        ap.error("--class-code: two digits")
    print(f"jtx_client: terminal {a.phone} at {a.host}:{a.port}, {a.records} records at "
          f"({a.lat / 1e6:.6f}, {a.lon / 1e6:.6f})")
    with tempfile.TemporaryDirectory(prefix="jtx-client.") as d:
        s = Session(a, c, Crypto(a.openssl, d))
        try:
            s.run()
        except Fatal as e:
            c.check(False, f"session: {e}")
        except OSError as e:
            c.check(False, f"session: {type(e).__name__}: {e}")
        s.finish()
        if a.psql:
            if s.terminal_no:
                s.check_database()
        else:
            note("no --psql: the database is not looked at")
    print(f"{c.passed} passed, {c.failed} failed")
    return 0 if c.failed == 0 and c.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
