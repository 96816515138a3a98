#!/usr/bin/env python3
"""tests/jt808_client.py - an independent JT/T 808 terminal for acceptance.

Written from the protocol description (docs/protocol.md, the JT/T 808 frame
and core messages), not from src/jt808.c or src/tools/termsim/, so that it
cross-checks hoursd's codec.  Python 3 standard library only; the byte
level it shares with tests/jtx_client.py is tests/jt808wire.py.

Over mutual TLS it registers (0x0100), authenticates (0x0102), sends a
heartbeat (0x0002), N locations (0x0200) and one unknown message (0x0F0F),
checking every answer; then it looks the acknowledged positions up in
PostgreSQL with psql.  At least one location has 0x7E / 0x7D in its body
and one has a check code that must be escaped.

With --lesson it does not send locations: after authentication it drives a C1
student from zero to a met part 2 with the timing-training extension
(docs/protocol.md: "Timing-training extension", "Lessons, verdicts and
answers"): on four past days (5 to 2 days back, Beijing time) a coach login,
a student login, one training record a minute from 08:00, the student and
coach logouts, each a 0x0900 body of transparent type 0x13 signed with the
openssl command line (SHA-256 over the extended ID through the end of the
data).  240 minutes a day count (960, the part's requirement); mixed in are
minutes off the site (conf/site-sample.geojson, also one in its hole), too
fast (above 50 km/h), a second record of a minute already counted, two
tampered signatures and a fifth hour on one day.  Every answer is checked
(0x8900 for logins and logouts, 0x8001 for records: a minute refused by
the judge -- already counted, over the daily cap -- is answered 0, since
the judge decides after the answer), then PostgreSQL (the view
record_verdict, once no record is pending): the counted records are
exactly the 960, each refused one has its reason, the student's progress
in part 2, and one push packet.

The last line printed is exactly "N passed, M failed"; the exit status is 0
only when nothing failed.
"""
import argparse
import calendar
import concurrent.futures
import datetime
import socket
import ssl
import struct
import subprocess
import sys
import time

from jt808wire import Checks, ESC, FLAG, Fatal, bcd, escape, unescape, xor_all

V2019_BIT, PIECES_BIT = 1 << 14, 1 << 13

# Message IDs
REGISTER, REGISTER_ANSWER = 0x0100, 0x8100
AUTH, HEARTBEAT, LOCATION = 0x0102, 0x0002, 0x0200
PLATFORM_ANSWER = 0x8001
UNKNOWN = 0x0F0F

# Shanghai (People's Square) and a little drift per position
BASE_LAT_E6, BASE_LON_E6 = 31_230_000, 121_470_000


# ---- frame codec -------------------------------------------------------------


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
        self.lesson = None

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

        if a.lesson:
            self.lesson = Lesson(self)
            self.lesson.run()
            self.link.close()
            return

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

    def psql(self, sql):
        """Rows of a query as lists of strings, or None after a failed check."""
        try:
            out = subprocess.run([self.a.psql, "-X", "-A", "-t", "-F", "|", "-d", self.a.conninfo, "-c", sql],
                                 capture_output=True, text=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            self.c.check(False, f"psql: {e}")
            return None
        if out.returncode != 0:
            self.c.check(False, f"psql query ran (exit {out.returncode}) {out.stderr.strip()}: {sql}")
            return None
        return [line.split("|") for line in out.stdout.split("\n") if line.strip()]

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


# ---- timing-training extension (--lesson) -------------------------------------
#
# From docs/protocol.md, "Timing-training extension" and "Lessons, verdicts and
# answers": the content of 0x0900 / 0x8900 is the transparent type 0x13, then
# extended ID WORD, properties WORD, extended serial WORD, the 16-character
# timing terminal number, data length DWORD, the data, and the check string: a
# signature over bytes 1 .. end of data (26 + n bytes).  Properties 0x0022:
# bit 1 asks for an answer, bits 4-7 = 2 is SHA-256.

TRANSPARENT_UP, TRANSPARENT_DOWN = 0x0900, 0x8900
TT_TYPE = 0x13
EXT_PROPS = 0x0022
EXT_SIG_BITS = 0x00F8  # bits 3-7: a check string follows the data
COACH_LOGIN, COACH_LOGOUT = 0x0101, 0x0102
STUDENT_LOGIN, STUDENT_LOGOUT = 0x0201, 0x0202
RECORD = 0x0203
ANSWER_OK = 1  # login / logout answers: 1 accepted, 9 rejected
# data length of each answer without its extra message (0x8101, 0x8201 end in
# flag BYTE, length BYTE, message)
ANSWER_FIXED = {0x8101: 19, 0x8102: 17, 0x8201: 27, 0x8202: 17}

# C1 part 2 (syllabus: 960 minutes, at most 240 a day, 50 km/h, on the site)
C1_CLASS_CODE = 21
PART = 2
REQUIRED_MINUTES = 960
DAILY_CAP = 240
MAX_SPEED_DKMH = 500

# A loop inside conf/site-sample.geojson (its lower arm is lon 121.470-121.474,
# lat 31.2300-31.2315; the hole is lon 121.4705-121.4710, lat 31.2305-31.2310):
# lon 121.4715-121.4735, lat 31.2303-31.2312, at most ~38 m a minute, 48 m
# or more from the hole.  (lon_e6, lat_e6)
LOOP = ([(121_471_500 + 400 * i, 31_230_300) for i in range(5)]
        + [(121_473_500, 31_230_300 + 300 * i) for i in range(3)]
        + [(121_473_500 - 400 * i, 31_231_200) for i in range(5)]
        + [(121_471_500, 31_231_200 - 300 * i) for i in range(3)])
OFF_SITE_LAT = 31_229_600  # 44 m south of the site's southern fence
HOLE_CENTRE = (121_470_750, 31_230_750)  # inside the hole: not on the site

REASONS = {
    "good": None, "good500": None,
    "offsite": "outside_training_site", "hole": "outside_training_site",
    "speed501": "speed_over_limit", "speed800": "speed_over_limit",
    "overlap": "student_overlap",
    "badsig_data": "bad_signature", "badsig_sig": "bad_signature",
    "cap": "daily_cap",
}
# Decided by the judge after the answer (docs/protocol.md, "Lessons, verdicts
# and answers"): the record is answered 0 all the same.
JUDGE_REASONS = {"student_overlap", "coach_overlap", "daily_cap"}
KIND_TEXT = {
    "good": "good", "good500": "good at exactly 50 km/h", "offsite": "off the site (south of the fence)",
    "hole": "off the site (in the hole)", "speed501": "too fast (50.1 km/h)",
    "speed800": "too fast (80 km/h)", "overlap": "a minute already counted, new number",
    "badsig_data": "tampered data", "badsig_sig": "tampered check string", "cap": "over the daily cap",
}


def ext_span(ext_id, ext_serial, term_no, data, props=EXT_PROPS):
    """The signed bytes: offset 1 (extended ID) through the end of the data."""
    return struct.pack(">HHH", ext_id, props, ext_serial) + fixed(term_no, 16) + struct.pack(">I", len(data)) + data


def gnss_block(lon, lat, speed, epoch, direction=90):
    return struct.pack(">IIIIHHH", 0, 0b10, lat, lon, 6, speed, direction) + bcd_time(epoch)


def course_code(mode, cls, part, subject):
    return bcd(f"{mode}{cls:02d}{part}{subject:02d}0000")


def bj_epoch(day, hh, mm, ss):
    """Epoch of a Beijing (UTC+8) date and time."""
    return calendar.timegm((day.year, day.month, day.day, hh, mm, ss)) - 8 * 3600


def text_field(b):
    return b.lstrip(b"\0").rstrip(b"\0 ").decode("ascii", "replace")


class Rec:
    def __init__(self, day_no, seq, kind, epoch, pos, ext_serial, record_no):
        self.day_no, self.seq, self.kind, self.epoch, self.pos = day_no, seq, kind, epoch, pos
        self.ext_serial, self.record_no = ext_serial, record_no
        self.reason = REASONS[kind]
        self.span = None
        self.body = None
        self.answer = None  # 0x8001 result


class Msg:
    """A login or logout, answered by 0x8900."""

    def __init__(self, ext_id, ext_serial, data, person, what):
        self.ext_id, self.ext_serial, self.data, self.person, self.what = ext_id, ext_serial, data, person, what
        self.span = None
        self.body = None
        self.answer = None


class Lesson:
    """A student of C1 from zero to a met part 2: four past days of 240 good
    minutes, with refused minutes mixed in (off the site, too fast, an
    overlapping minute, a tampered signature, a fifth hour on one day)."""

    def __init__(self, session):
        self.s = session
        self.a = session.a
        self.c = session.c
        self.ext_serial = 1
        self.steps = []  # per day: list of Msg, Rec, "drain"
        self.records = []
        self.msgs = []
        self.pending = {}  # JT/T 808 serial -> Rec
        self.pending_ext = {}  # extended serial -> Msg
        self.day_results = {}
        self.counted = 0  # minutes that count so far (for the 0x8201 answers)

    def next_ext(self):
        s = self.ext_serial
        self.ext_serial = (self.ext_serial + 1) & 0xFFFF
        return s

    # -- the plan --------------------------------------------------------------

    def plan(self):
        a = self.a
        today = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=8)).date()
        # Four days, 5 to 2 days back (Beijing dates): in the past and within
        # the last week whatever the hour of the run.
        days = [today - datetime.timedelta(days=k) for k in (5, 4, 3, 2)]
        g = ["good"] * 240
        day_tokens = [
            # day 1: off the site (3 south of the fence, 1 in the hole), too fast
            # (50.1 and 80 km/h) and a good minute at exactly 50 km/h
            g[:30] + ["offsite"] * 3 + g[30:60] + ["speed501", "speed800", "good500"] + g[61:100]
            + ["hole"] + g[100:],
            # day 2: 240 minutes, then a fifth hour (over the daily cap) after
            # the 240 are answered
            g + ["drain"] + ["cap"] * 60,
            # day 3: a second record of minute 10 after 120 minutes are answered;
            # two tampered signatures
            g[:120] + ["drain", ("overlap", 10)] + g[120:150] + ["badsig_data", "badsig_sig"] + g[150:],
            # day 4: the last 240: the part is met with the last one
            list(g),
        ]
        coach, student, term_no = a.coach, a.student, a.terminal_no
        cc = course_code(1, C1_CLASS_CODE, PART, 1)
        loop_i = 0
        for day_no, (day, tokens) in enumerate(zip(days, day_tokens), 1):
            class_id = 20_000 + day_no
            steps = []
            start = bj_epoch(day, 7, 58, 0)
            lon0, lat0 = LOOP[loop_i % len(LOOP)]
            steps.append(Msg(COACH_LOGIN, self.next_ext(),
                             fixed(coach, 16) + fixed(a.coach_id_card, 18) + fixed("C1", 2)
                             + gnss_block(lon0, lat0, 0, start), coach, f"day {day_no} coach login"))
            steps.append(Msg(STUDENT_LOGIN, self.next_ext(),
                             fixed(student, 16) + fixed(coach, 16) + cc + struct.pack(">I", class_id)
                             + gnss_block(lon0, lat0, 0, start + 60), student, f"day {day_no} student login"))
            minute = 0  # from 08:00
            seq = 0
            by_minute = {}
            sent = 0
            mileage = 0
            for t in tokens:
                if t == "drain":
                    steps.append("drain")
                    continue
                if isinstance(t, tuple):  # ("overlap", minute already used)
                    kind, at = t
                    epoch = bj_epoch(day, 8, 0, 50) + 60 * at
                    pos = by_minute[at].pos
                else:
                    kind = t
                    epoch = bj_epoch(day, 8, 0, 20) + 60 * minute
                    lon, lat = LOOP[loop_i % len(LOOP)]
                    loop_i += 1
                    if kind == "offsite":
                        lat = OFF_SITE_LAT
                    elif kind == "hole":
                        lon, lat = HOLE_CENTRE
                    pos = (lon, lat)
                seq += 1
                record_no = term_no + day.strftime("%y%m%d") + f"{seq:04d}"
                r = Rec(day_no, seq, kind, epoch, pos, self.next_ext(), record_no)
                if kind == "speed501":
                    speed = 501
                elif kind == "speed800":
                    speed = 800
                elif kind == "good500":
                    speed = MAX_SPEED_DKMH
                else:
                    speed = 150 + (37 * seq) % 300  # 15.0 .. 44.9 km/h
                r.speed = speed
                hhmmss = time.strftime("%H%M%S", time.gmtime(epoch + 8 * 3600))
                r.data = (fixed(record_no, 26) + bytes([1]) + fixed(student, 16) + fixed(coach, 16)
                          + struct.pack(">I", class_id) + bcd(hhmmss) + cc + bytes([0])
                          + struct.pack(">HH", speed, 1)
                          + gnss_block(pos[0], pos[1], speed // 2, epoch, (seq * 29) % 360)
                          # location extra item 0x01: mileage DWORD (0.1 km)
                          + bytes([0x01, 4]) + struct.pack(">I", 1000 + seq))
                if not isinstance(t, tuple):
                    by_minute[minute] = r
                    minute += 1
                steps.append(r)
                self.records.append(r)
                sent += 1
                mileage += 1
            last = bj_epoch(day, 8, 0, 0) + 60 * minute
            lon1, lat1 = LOOP[loop_i % len(LOOP)]
            steps.append(Msg(STUDENT_LOGOUT, self.next_ext(),
                             fixed(student, 16) + bcd_time(last + 30) + struct.pack(">HHI", sent, mileage, class_id)
                             + gnss_block(lon1, lat1, 0, last + 30), student, f"day {day_no} student logout"))
            steps.append(Msg(COACH_LOGOUT, self.next_ext(),
                             fixed(coach, 16) + gnss_block(lon1, lat1, 0, last + 60), coach,
                             f"day {day_no} coach logout"))
            self.msgs += [m for m in steps if isinstance(m, Msg)]
            goods = sum(1 for m in steps if isinstance(m, Rec) and m.reason is None)
            if goods != DAILY_CAP:
                raise ValueError(f"day {day_no}: {goods} good minutes planned")
            self.steps.append((day_no, day, steps))

    def sign_all(self):
        """Every signature with the openssl command line, several at a time."""
        items = self.records + self.msgs
        for it in items:
            ext_id = RECORD if isinstance(it, Rec) else it.ext_id
            it.span = ext_span(ext_id, it.ext_serial, self.a.terminal_no, it.data)
        key = self.a.sign_key or self.a.key

        def sign(span):
            p = subprocess.run([self.a.openssl, "dgst", "-sha256", "-sign", key, "-binary"],
                               input=span, capture_output=True, timeout=60, check=False)
            if p.returncode != 0 or not p.stdout:
                raise Fatal(f"openssl dgst -sign: exit {p.returncode}: {p.stderr.decode(errors='replace').strip()}")
            return p.stdout

        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            sigs = list(pool.map(sign, [it.span for it in items]))
        for it, sig in zip(items, sigs):
            span = it.span
            if isinstance(it, Rec) and it.kind == "badsig_data":
                # the record as signed, then one byte of its data changed: the
                # mileage WORD (data offset 74, span offset 26 + 74)
                i = 26 + 74 + 1
                span = span[:i] + bytes([span[i] ^ 0x01]) + span[i + 1:]
            elif isinstance(it, Rec) and it.kind == "badsig_sig":
                # a byte in the middle of r flipped (the DER stays well-formed)
                sig = sig[:10] + bytes([sig[10] ^ 0x5A]) + sig[11:]
            it.body = bytes([TT_TYPE]) + span + sig
            if len(it.body) > 0x3FF:
                raise Fatal(f"0x0900 body of {len(it.body)} bytes does not fit one frame")
        self.c.check(True, f"{len(items)} messages signed with openssl (ECDSA P-256, SHA-256 over "
                           f"extended ID .. end of data) in {time.monotonic() - t0:.1f} s")

    # -- the conversation ------------------------------------------------------

    def pump(self):
        f = self.s.link.read_frame()
        if f.msg_id == PLATFORM_ANSWER and len(f.body) >= 5:
            aser, aid, result = struct.unpack(">HHB", f.body[:5])
            r = self.pending.pop(aser, None)
            if r is None or aid != TRANSPARENT_UP:
                self.c.check(False, f"unexpected 0x8001: serial {aser} id {aid:#06x} result {result}")
                return
            r.answer = result
            return
        if f.msg_id == TRANSPARENT_DOWN:
            self.ext_answer(f)
            return
        self.c.check(False, f"unexpected frame {f}")

    def ext_answer(self, f):
        b = f.body
        if len(b) < 27 or b[0] != TT_TYPE:
            self.c.check(False, f"0x8900 that is not a timing-training message: {b.hex()}")
            return
        ext_id, props, ser = struct.unpack(">HHH", b[1:7])
        term_no = text_field(b[7:23])
        (n,) = struct.unpack(">I", b[23:27])
        data, rest = b[27:27 + n], b[27 + n:]
        m = self.pending_ext.pop(ser, None)
        if m is None:
            self.c.check(False, f"0x8900 {ext_id:#06x} answers extended serial {ser}, which is not pending")
            return
        want = m.ext_id | 0x8000
        problems = []
        if ext_id != want:
            problems.append(f"extended ID {ext_id:#06x}, want {want:#06x}")
        if term_no != self.a.terminal_no:
            problems.append(f"terminal number {term_no!r}")
        if len(data) != n:
            problems.append(f"data length {n} but {len(data)} bytes")
        if (props & EXT_SIG_BITS) == 0 and rest:
            problems.append(f"{len(rest)} unannounced bytes after the data")
        fixed_len = ANSWER_FIXED.get(ext_id)
        result, person = None, None
        if fixed_len is None or len(data) < fixed_len:
            problems.append(f"data {data.hex()} too short")
        else:
            extra = data[fixed_len - 1] if ext_id in (0x8101, 0x8201) else 0
            if len(data) != fixed_len + extra:
                problems.append(f"data of {len(data)} bytes, layout says {fixed_len + extra}")
            result, person = data[0], text_field(data[1:17])
            if result != ANSWER_OK:
                problems.append(f"result {result}")
            if person != m.person:
                problems.append(f"names {person!r}, want {m.person!r}")
        detail = ""
        if ext_id == 0x8201 and result is not None and len(data) >= 27:
            total, part_min, total_km, part_km = struct.unpack(">HHHH", data[17:25])
            detail = f"; minutes {total} total, {part_min} in part {PART}; mileage {total_km} / {part_km} (0.1 km)"
            if total != self.counted or part_min != self.counted:
                problems.append(f"minutes {total} / {part_min}, want {self.counted} counted so far")
        m.answer = result
        self.c.check(not problems,
                     f"{m.what} ({m.ext_id:#06x}, extended serial {m.ext_serial}): 0x8900 {ext_id:#06x} "
                     f"serial {ser} result {result}{detail}" + (f" -- {'; '.join(problems)}" if problems else ""))

    def drain(self):
        while self.pending or self.pending_ext:
            self.pump()

    def send(self, it):
        serial, data = self.s.frame(TRANSPARENT_UP, it.body)
        if isinstance(it, Rec):
            it.serial = serial
            self.pending[serial] = it
        else:
            self.pending_ext[it.ext_serial] = it
        self.s.link.send(data)

    def run(self):
        a = self.a
        self.plan()
        self.sign_all()
        print(f"note  student {a.student}, coach {a.coach}, timing terminal {a.terminal_no}; "
              f"course {unbcd(course_code(1, C1_CLASS_CODE, PART, 1))} (vehicle, C1, part {PART}); "
              f"{len(self.records)} records on days {', '.join(str(d) for _, d, _ in self.steps)}")
        t0 = time.monotonic()
        for day_no, day, steps in self.steps:
            for st in steps:
                if st == "drain":
                    self.drain()
                elif isinstance(st, Msg):
                    self.drain()
                    if st.ext_id == STUDENT_LOGIN and self.counted:
                        # The answer reports progress as judged so far; the judge's lag
                        # behind the answers is well under a second (docs/architecture.md).
                        time.sleep(1)
                    self.send(st)
                    self.drain()
                else:
                    while len(self.pending) >= a.window:
                        self.pump()
                    self.send(st)
            self.drain()  # (the logouts drained already)
            recs = [st for st in steps if isinstance(st, Rec)]
            wrong = []
            for r in recs:
                want = 0 if r.reason is None or r.reason in JUDGE_REASONS else 1
                if r.answer != want:
                    wrong.append(f"{r.record_no} ({KIND_TEXT[r.kind]}): result {r.answer}, want {want}")
            goods = sum(1 for r in recs if r.reason is None)
            zeros = sum(1 for r in recs if r.reason is None or r.reason in JUDGE_REASONS)
            self.counted += goods
            self.c.check(not wrong,
                         f"day {day_no} ({day}): {len(recs)} records answered by 0x8001 for 0x0900, "
                         f"{zeros} with 0 and {len(recs) - zeros} with 1 as expected"
                         + (f" -- {len(wrong)} wrong: " + "; ".join(wrong[:10]) if wrong else ""))
            for r in recs:
                if r.reason is not None and r.reason not in JUDGE_REASONS:
                    self.c.check(r.answer == 1, f"day {day_no} record {r.record_no} {KIND_TEXT[r.kind]}: "
                                                f"0x8001 result {r.answer} (want 1)")
        self.c.check(True, f"lesson played in {time.monotonic() - t0:.1f} s, window of {a.window} frames")

    # -- what the database holds ----------------------------------------------

    def check_database(self):
        a = self.a
        st = a.student.replace("'", "''")
        # Every record's final verdict: ingest's, or the judge's once it has decided.
        query = ("SELECT record_no, verdict, coalesce(reason, '-') FROM record_verdict r"
                 " JOIN terminal t ON t.id = r.terminal_id"
                 f" WHERE t.phone = ltrim('{a.phone}', '0') AND r.student_no = '{st}'")
        for _ in range(100):
            rows = self.s.psql(query)
            if rows is None or all(w[1] != "pending" for w in rows):
                break
            time.sleep(0.1)
        if rows is None:
            return
        got = {w[0]: (w[1], w[2]) for w in rows}
        self.c.check(len(got) == len(self.records),
                     f"record_verdict: {len(got)} rows for student {a.student} (want {len(self.records)})")
        accepted = {k for k, v in got.items() if v[0] == "accepted"}
        want_acc = {r.record_no for r in self.records if r.reason is None}
        self.c.check(accepted == want_acc and len(accepted) == REQUIRED_MINUTES,
                     f"record_verdict: {len(accepted)} accepted (want exactly {REQUIRED_MINUTES}, "
                     f"the minutes that count)"
                     + (f"; not accepted: {sorted(want_acc - accepted)[:10]}" if want_acc - accepted else "")
                     + (f"; accepted but should not: {sorted(accepted - want_acc)[:10]}"
                        if accepted - want_acc else ""))
        cap_wrong = []
        for r in self.records:
            if r.reason is None:
                continue
            g = got.get(r.record_no)
            ok = g == ("rejected", r.reason)
            if r.kind == "cap":
                if not ok:
                    cap_wrong.append(f"{r.record_no}: {g}")
                continue
            self.c.check(ok, f"record_verdict {r.record_no} ({KIND_TEXT[r.kind]}): {g} "
                             f"(want ('rejected', {r.reason!r}))")
        ncap = sum(1 for r in self.records if r.kind == "cap")
        self.c.check(not cap_wrong, f"record_verdict: the {ncap} minutes of the fifth hour on day 2 "
                                    f"are rejected with daily_cap"
                     + (f" -- {len(cap_wrong)} not: " + "; ".join(cap_wrong[:10]) if cap_wrong else ""))
        rows = self.s.psql(f"SELECT count(*) FROM training_record_conflict")
        if rows is not None:
            self.c.check(rows == [["0"]], f"training_record_conflict: {rows[0][0]} rows (want 0)")

        rows = self.s.psql(
            "SELECT kind, verdict, coalesce(reason, '-') FROM session_event e JOIN terminal t ON t.id = e.terminal_id"
            f" WHERE t.phone = ltrim('{a.phone}', '0') AND person_no IN ('{st}', '{a.coach}')")
        if rows is not None:
            bad = [w for w in rows if w[1] != "accepted"]
            self.c.check(len(rows) == len(self.msgs) and not bad,
                         f"session_event: {len(rows)} logins and logouts, {len(rows) - len(bad)} accepted "
                         f"(want {len(self.msgs)}, all accepted){' -- ' + str(bad) if bad else ''}")

        rows = self.s.psql(
            "SELECT vehicle, simulator, classroom, remote, vehicle_class"
            f" FROM progress WHERE student_no = '{st}' AND part = {PART}")
        if rows is not None:
            want = [str(REQUIRED_MINUTES), "0", "0", "0", "C1"]
            got = [w[:5] for w in rows]
            self.c.check(got == [want], f"progress ({a.student}, part {PART}): vehicle, simulator, classroom, "
                                        f"remote, class = {got} (want [{want}])")
        rows = self.s.psql(f"SELECT day, minutes FROM progress_day WHERE student_no = '{st}'"
                           f" AND cap_group = '{'practice' if PART in (2, 3) else 'theory'}'"
                           " ORDER BY day")
        if rows is not None:
            print(f"note  progress_day: {', '.join(d + ' ' + m for d, m in rows)}")
        rows = self.s.psql(f"SELECT count(*), min(vehicle_class) FROM push_packet"
                           f" WHERE student_no = '{st}' AND part = {PART}")
        if rows is not None:
            self.c.check(rows == [["1", "C1"]],
                         f"push_packet: {rows[0][0]} row(s) for ({a.student}, part {PART}), class {rows[0][1]} "
                         f"(want exactly 1, C1)")


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
    ap.add_argument("--lesson", action="store_true",
                    help="after authentication, drive a C1 student to a met part 2 (timing-training "
                         "extension in 0x0900) instead of the locations, then check the database")
    ap.add_argument("--sign-key", help="key the terminal signs timing messages with (default: --key)")
    ap.add_argument("--openssl", default="openssl")
    ap.add_argument("--terminal-no", default=None,
                    help="16-character timing terminal number (default: 31000 and the last 11 digits of --phone)")
    ap.add_argument("--student", default="3101150000000088", help="16-character student number")
    ap.add_argument("--coach", default="3101150000000077", help="16-character coach number")
    ap.add_argument("--coach-id-card", default="310101198001011234")
    ap.add_argument("--window", type=int, default=32, help="records in flight at most (--lesson)")
    a = ap.parse_args()
    if a.positions < 3:
        ap.error("--positions must be at least 3 (escaping in body and check code)")
    if not a.phone.isdigit() or len(a.phone) > (20 if a.v2019 else 12):
        ap.error("--phone: digits, at most 12 (20 with --v2019)")
    if a.terminal_no is None:
        a.terminal_no = "31000" + a.phone[-11:].rjust(11, "0")
    for name, n in (("terminal_no", 16), ("student", 16), ("coach", 16), ("coach_id_card", 18)):
        v = getattr(a, name)
        if len(v) > n or not v.isascii() or not v.isprintable() or v.endswith(" "):
            ap.error(f"--{name.replace('_', '-')}: printable ASCII, at most {n} characters")
    if a.window < 1:
        ap.error("--window must be at least 1")
    if a.start_time is None:
        a.start_time = int(time.time()) - 3600

    if a.lesson:
        print(f"jt808_client: terminal {a.phone}, {'2019' if a.v2019 else '2013'} header, lesson mode")
    else:
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
    if a.lesson:
        if s.lesson is not None and s.lesson.records:
            s.lesson.check_database()
        else:
            checks.check(False, "no lesson was played")
    else:
        s.check_database(s.acked)
    print(f"{checks.passed} passed, {checks.failed} failed")
    return 0 if checks.failed == 0 and checks.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
