#!/usr/bin/env python3
"""tests/jt808_client.py - an independent JT/T 808 terminal for acceptance.

Written from the protocol description (docs/protocol.md, the JT/T 808 frame
and core messages), not from src/jt808.c or src/termsim.c, so that it
cross-checks hoursd's codec.  Python 3 standard library only.

Over mutual TLS it registers (0x0100), authenticates (0x0102), sends a
heartbeat (0x0002), N locations (0x0200) and one unknown message (0x0F0F),
checking every answer; then it looks the acknowledged positions up in
PostgreSQL with psql.  At least one location has 0x7E / 0x7D in its body
and one has a check code that must be escaped.  The last line printed is
exactly "N passed, M failed"; the exit status is 0 only when nothing failed.
"""
import argparse
import socket
import ssl
import struct
import subprocess
import sys
import time

FLAG, ESC = 0x7E, 0x7D
V2019_BIT, PIECES_BIT = 1 << 14, 1 << 13

# Message IDs
REGISTER, REGISTER_ANSWER = 0x0100, 0x8100
AUTH, HEARTBEAT, LOCATION = 0x0102, 0x0002, 0x0200
PLATFORM_ANSWER = 0x8001
UNKNOWN = 0x0F0F

# Shanghai (People's Square) and a little drift per position
BASE_LAT_E6, BASE_LON_E6 = 31_230_000, 121_470_000


class Fatal(Exception):
    """The session cannot go on (timeout, closed connection, bad frame)."""


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
            print(f"ok    {what}")
        else:
            self.failed += 1
            print(f"FAIL  {what}")
        return ok


# ---- frame codec -------------------------------------------------------------


def xor_all(data):
    c = 0
    for b in data:
        c ^= b
    return c


def escape(data):
    out = bytearray()
    for b in data:
        if b == FLAG:
            out += b"\x7d\x02"
        elif b == ESC:
            out += b"\x7d\x01"
        else:
            out.append(b)
    return bytes(out)


def unescape(data):
    out = bytearray()
    i = 0
    while i < len(data):
        b = data[i]
        if b == ESC:
            if i + 1 >= len(data) or data[i + 1] not in (0x01, 0x02):
                raise Fatal(f"bad escape at byte {i} of {data.hex()}")
            out.append(FLAG if data[i + 1] == 0x02 else ESC)
            i += 2
        else:
            out.append(b)
            i += 1
    return bytes(out)


def bcd(digits):
    if len(digits) % 2 or not digits.isdigit():
        raise ValueError(f"BCD needs an even count of digits: {digits!r}")
    return bytes(int(digits[i]) << 4 | int(digits[i + 1]) for i in range(0, len(digits), 2))


def unbcd(data):
    s = ""
    for b in data:
        hi, lo = b >> 4, b & 0x0F
        if hi > 9 or lo > 9:
            raise Fatal(f"bad BCD {data.hex()}")
        s += f"{hi}{lo}"
    return s


def header(msg_id, body_len, number, serial, v2019):
    """number: the terminal number as digits, padded here to 12 or 20."""
    if body_len > 0x3FF:
        raise ValueError("body too long for one frame")
    if v2019:
        props = body_len | V2019_BIT
        return struct.pack(">HHB", msg_id, props, 1) + bcd(number.rjust(20, "0")) + struct.pack(">H", serial)
    return struct.pack(">HH", msg_id, body_len) + bcd(number.rjust(12, "0")) + struct.pack(">H", serial)


def build_frame(msg_id, body, number, serial, v2019):
    """Returns (escaped frame with flags, raw header+body+check)."""
    raw = header(msg_id, len(body), number, serial, v2019) + body
    raw += bytes([xor_all(raw)])
    return bytes([FLAG]) + escape(raw) + bytes([FLAG]), raw


class Frame:
    def __init__(self, raw):
        # raw: unescaped header + body + check
        if len(raw) < 13:
            raise Fatal(f"frame too short: {raw.hex()}")
        if xor_all(raw[:-1]) != raw[-1]:
            raise Fatal(f"bad check code: got {raw[-1]:#04x}, computed {xor_all(raw[:-1]):#04x} in {raw.hex()}")
        self.msg_id, self.props = struct.unpack(">HH", raw[:4])
        body_len = self.props & 0x3FF
        self.v2019 = bool(self.props & V2019_BIT)
        if self.v2019:
            self.version = raw[4]
            self.number = unbcd(raw[5:15])
            (self.serial,) = struct.unpack(">H", raw[15:17])
            hlen = 17
        else:
            self.version = None
            self.number = unbcd(raw[4:10])
            (self.serial,) = struct.unpack(">H", raw[10:12])
            hlen = 12
        if self.props & PIECES_BIT:
            hlen += 4
        if hlen + body_len + 1 != len(raw):
            raise Fatal(f"length mismatch: header {hlen} + body {body_len} + 1 != {len(raw)} in {raw.hex()}")
        self.body = raw[hlen:-1]

    def __str__(self):
        return f"{self.msg_id:#06x} serial {self.serial} body {self.body.hex()}"


class Link:
    """A TLS connection carrying JT/T 808 frames."""

    def __init__(self, args):
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=args.ca)
        ctx.check_hostname = True
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_cert_chain(args.cert, args.key)
        raw = socket.create_connection((args.host, args.port), timeout=args.timeout)
        self.sock = ctx.wrap_socket(raw, server_hostname=args.server_name)
        self.sock.settimeout(args.timeout)
        self.buf = bytearray()
        self.received = 0
        self.escapes_received = 0

    def send(self, data):
        self.sock.sendall(data)

    def read_frame(self):
        """The next non-empty frame; Fatal on timeout, close or a bad frame."""
        while True:
            start = self.buf.find(FLAG)
            if start > 0:
                print(f"note  {start} bytes before a flag dropped: {bytes(self.buf[:start]).hex()}")
                del self.buf[:start]
                start = 0
            if start == 0:
                end = self.buf.find(FLAG, 1)
                if end > 0:
                    escaped = bytes(self.buf[1:end])
                    del self.buf[:end]  # the closing flag may open the next frame
                    if not escaped:
                        continue
                    raw = unescape(escaped)
                    if len(raw) != len(escaped):
                        self.escapes_received += 1
                    self.received += 1
                    return Frame(raw)
            try:
                chunk = self.sock.recv(4096)
            except (socket.timeout, TimeoutError):
                raise Fatal("timed out waiting for a frame") from None
            if not chunk:
                raise Fatal("connection closed by the server")
            self.buf += chunk

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ---- message bodies ----------------------------------------------------------


def fixed(text, n):
    b = text.encode("ascii")
    if len(b) > n:
        raise ValueError(f"{text!r} longer than {n}")
    return b + b"\0" * (n - len(b))


def register_body(v2019, plate):
    if v2019:
        maker, model, term_id = fixed("PYCLI", 11), fixed("JT808-PY-2019", 30), fixed("PY19", 30)
    else:
        maker, model, term_id = fixed("PYCLI", 5), fixed("JT808-PY-2013", 20), fixed("PY13", 7)
    # province 31 (Shanghai), city 0115 (Pudong), plate colour 1 (blue), GBK plate
    return struct.pack(">HH", 31, 115) + maker + model + term_id + bytes([1]) + plate.encode("gbk")


def auth_body(code, v2019):
    c = code.encode("ascii")
    if v2019:
        return bytes([len(c)]) + c + fixed("860000000000001", 15) + fixed("pyclient-1.0", 20)
    return c


def bcd_time(epoch):
    """BCD[6] YYMMDDhhmmss, Beijing time (UTC+8)."""
    return bcd(time.strftime("%y%m%d%H%M%S", time.gmtime(epoch + 8 * 3600)))


def location_body(p):
    status = 0b10  # bit 1: fix valid; north and east
    return (
        struct.pack(">IIIIHHH", 0, status, p["lat"], p["lon"], p["alt"], p["speed"], p["dir"])
        + bcd_time(p["epoch"])
        # optional items: 0x01 mileage DWORD (0.1 km), 0x30 signal BYTE
        + bytes([0x01, 4]) + struct.pack(">I", 1000 + p["i"])
        + bytes([0x30, 1, 25])
    )


def make_positions(n, start):
    ps = []
    for i in range(n):
        ps.append({
            "i": i,
            "epoch": start + i,
            "lat": BASE_LAT_E6 + 137 * i,
            "lon": BASE_LON_E6 + 211 * i,
            "alt": 4 + i % 7,
            "speed": 300 + 17 * i,  # 0.1 km/h
            "dir": (45 + 13 * i) % 360,
        })
    if n >= 1:
        # 0x7E and 0x7D in the body: the low bytes of latitude and longitude
        ps[0]["lat"] = (ps[0]["lat"] & ~0xFF) | FLAG
        ps[0]["lon"] = (ps[0]["lon"] & ~0xFF) | ESC
    return ps


def force_check_code(p, number, serial, v2019, want):
    """Choose the altitude's low byte so that the frame's check code is `want`."""
    p["alt"] &= ~0xFF
    raw = header(LOCATION, len(location_body(p)), number, serial, v2019) + location_body(p)
    p["alt"] |= xor_all(raw) ^ want


# ---- the session -------------------------------------------------------------


class Session:
    def __init__(self, args, checks):
        self.a = args
        self.c = checks
        self.serial = args.first_serial
        self.link = None
        self.escaped_sent = []  # frames with 0x7E / 0x7D in the body or check code
        self.acked = []  # positions answered with result 0

    def next_serial(self):
        s = self.serial
        self.serial = (self.serial + 1) & 0xFFFF
        return s

    def frame(self, msg_id, body, serial=None):
        if serial is None:
            serial = self.next_serial()
        data, raw = build_frame(msg_id, body, self.a.phone, serial, self.a.v2019)
        if len(data) != len(raw) + 2:
            where = []
            if any(b in (FLAG, ESC) for b in body):
                where.append("body")
            if raw[-1] in (FLAG, ESC):
                where.append(f"check code {raw[-1]:#04x}")
            if where:  # (escapes in the header alone come from the serials)
                self.escaped_sent.append(f"{msg_id:#06x} serial {serial}: {', '.join(where)}")
        return serial, data

    def answer_header_ok(self, f, what):
        number_ok = f.number.lstrip("0") == self.a.phone.lstrip("0")
        layout_ok = f.v2019 == self.a.v2019 and (f.version == 1 if f.v2019 else True)
        self.c.check(number_ok and layout_ok,
                     f"{what}: answer header names {f.number}, "
                     f"{'2019' if f.v2019 else '2013'} layout")

    def general_answer(self, f):
        if f.msg_id != PLATFORM_ANSWER or len(f.body) < 5:
            raise Fatal(f"expected 0x8001, got {f}")
        return struct.unpack(">HHB", f.body[:5])

    def expect_general(self, serial, msg_id, want_result, what):
        f = self.link.read_frame()
        aser, aid, result = self.general_answer(f)
        self.answer_header_ok(f, what)
        self.c.check(aser == serial and aid == msg_id and result == want_result,
                     f"{what}: 0x8001 answers serial {aser} id {aid:#06x} result {result} "
                     f"(want {serial} {msg_id:#06x} {want_result})")

    def run(self):
        a = self.a
        try:
            self.link = Link(a)
        except (OSError, ssl.SSLError) as e:
            raise Fatal(f"TLS connect to {a.host}:{a.port}: {e}") from None
        self.c.check(True, f"TLS {self.link.sock.version()} to {a.host}:{a.port}, "
                           f"server certificate verified for {a.server_name}")
        edition = "2019" if a.v2019 else "2013"

        # registration
        serial, data = self.frame(REGISTER, register_body(a.v2019, a.plate))
        self.link.send(data)
        f = self.link.read_frame()
        if f.msg_id != REGISTER_ANSWER or len(f.body) < 3:
            raise Fatal(f"expected 0x8100, got {f}")
        aser, result = struct.unpack(">HB", f.body[:3])
        code = f.body[3:].rstrip(b"\0").decode("gbk", "replace")
        self.answer_header_ok(f, "registration")
        self.c.check(aser == serial and result == 0 and code != "",
                     f"registration ({edition} body): 0x8100 serial {aser} result {result}, "
                     f"auth code of {len(code)} chars")
        if result != 0 or not code:
            raise Fatal("registration refused")

        # authentication
        serial, data = self.frame(AUTH, auth_body(code, a.v2019))
        self.link.send(data)
        self.expect_general(serial, AUTH, 0, f"authentication ({edition} body)")

        # heartbeat
        serial, data = self.frame(HEARTBEAT, b"")
        self.link.send(data)
        self.expect_general(serial, HEARTBEAT, 0, "heartbeat")

        # locations: all sent at once, then one answer each, in any order
        positions = make_positions(a.positions, a.start_time)
        pending = {}
        stream = bytearray()
        for p in positions:
            serial = self.next_serial()
            if p["i"] == 1:
                force_check_code(p, a.phone, serial, a.v2019, FLAG)
            elif p["i"] == 2:
                force_check_code(p, a.phone, serial, a.v2019, ESC)
            _, data = self.frame(LOCATION, location_body(p), serial)
            pending[serial] = p
            stream += data
        self.link.send(bytes(stream))
        while pending:
            f = self.link.read_frame()
            aser, aid, result = self.general_answer(f)
            p = pending.pop(aser, None)
            if p is None or aid != LOCATION:
                self.c.check(False, f"unexpected 0x8001 serial {aser} id {aid:#06x} result {result}")
                continue
            if p["i"] == 0:
                self.answer_header_ok(f, "location")
            if self.c.check(result == 0, f"location {p['i']} (serial {aser}, {p['epoch']}): "
                                         f"0x8001 result {result}"):
                self.acked.append(p)
        self.c.check(any("check code" in e for e in self.escaped_sent)
                     and any("body" in e for e in self.escaped_sent),
                     "escaping exercised in body and check code: " + "; ".join(self.escaped_sent))

        # an unknown message: not supported
        serial, data = self.frame(UNKNOWN, b"\x01\x02\x03")
        self.link.send(data)
        self.expect_general(serial, UNKNOWN, 3, "unknown message 0x0f0f")

        self.c.check(self.link.escapes_received > 0,
                     f"{self.link.received} frames received, check code verified on each; "
                     f"{self.link.escapes_received} of them escaped")
        self.link.close()

    def check_database(self, acked):
        if not acked:
            self.c.check(False, "no position was acknowledged")
            return
        times = ",".join(f"to_timestamp({p['epoch']})" for p in acked)
        sql = ("SELECT extract(epoch FROM fix_time)::bigint, lat_e6, lon_e6, speed_dkmh,"
               " altitude_m, direction, fix_valid"
               " FROM position p JOIN terminal t ON t.id = p.terminal_id"
               f" WHERE t.phone = ltrim('{self.a.phone}', '0') AND fix_time IN ({times})"
               " ORDER BY fix_time")
        try:
            out = subprocess.run([self.a.psql, "-X", "-A", "-t", "-F", " ", "-d", self.a.conninfo, "-c", sql],
                                 capture_output=True, text=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            self.c.check(False, f"psql: {e}")
            return
        if not self.c.check(out.returncode == 0, f"psql query ran (exit {out.returncode}) {out.stderr.strip()}"):
            return
        rows = {}
        for line in out.stdout.split("\n"):
            if line.strip():
                w = line.split(" ")
                rows.setdefault(int(w[0]), []).append(w[1:])
        for p in acked:
            got = rows.get(p["epoch"], [])
            want = [str(p["lat"]), str(p["lon"]), str(p["speed"]), str(p["alt"]), str(p["dir"]), "t"]
            self.c.check(got == [want],
                         f"position {p['i']} in PostgreSQL at {p['epoch']}: {got} (want [{want}])")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--server-name", default="localhost", help="host name the server certificate must name")
    ap.add_argument("--ca", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--phone", required=True, help="terminal number, e.g. 013800000001")
    ap.add_argument("--v2019", action="store_true", help="2019 header and bodies")
    ap.add_argument("--positions", type=int, default=10)
    ap.add_argument("--start-time", type=int, default=None, help="epoch of the first fix (default: now - 1 h)")
    # 0x7E in every serial: the answers echo it, so the server must escape them too
    ap.add_argument("--first-serial", type=lambda s: int(s, 0), default=0x7E79)
    ap.add_argument("--plate", default="沪A12345")
    ap.add_argument("--conninfo", required=True, help="libpq connection string of hoursd's database")
    ap.add_argument("--psql", default="psql")
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds to wait on any read")
    a = ap.parse_args()
    if a.positions < 3:
        ap.error("--positions must be at least 3 (escaping in body and check code)")
    if not a.phone.isdigit() or len(a.phone) > (20 if a.v2019 else 12):
        ap.error("--phone: digits, at most 12 (20 with --v2019)")
    if a.start_time is None:
        a.start_time = int(time.time()) - 3600

    print(f"jt808_client: terminal {a.phone}, {'2019' if a.v2019 else '2013'} header, "
          f"{a.positions} positions from {a.start_time}")
    checks = Checks()
    s = Session(a, checks)
    try:
        s.run()
    except Fatal as e:
        checks.check(False, f"session: {e}")
    except (OSError, ssl.SSLError) as e:
        checks.check(False, f"session: {type(e).__name__}: {e}")
    s.check_database(s.acked)
    print(f"{checks.passed} passed, {checks.failed} failed")
    return 0 if checks.failed == 0 and checks.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
