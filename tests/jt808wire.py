"""tests/jt808wire.py - the byte level that the two acceptance clients share.

tests/jt808_client.py (JT/T 808-2013/2019 over TLS) and tests/jtx_client.py
(the national timing framing over plain TCP) are written from the protocol
descriptions, not from hoursd's C code; this is what both framings have in
common, written once: the 0x7E / 0x7D escaping, the XOR check code and BCD, and the way they
count and print their checks.
Standard library only.
"""

FLAG, ESC = 0x7E, 0x7D


class Fatal(Exception):
    """The session cannot go on (timeout, closed connection, bad frame)."""


class Checks:
    """One "ok"/"FAIL" line a check; the caller prints "N passed, M failed" at the end."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
            print(f"ok    {what}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL  {what}", flush=True)
        return ok


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
    """The bytes between two flags, unescaped; Fatal on a bad escape or a flag inside."""
    out = bytearray()
    i = 0
    while i < len(data):
        b = data[i]
        if b == ESC:
            if i + 1 >= len(data) or data[i + 1] not in (0x01, 0x02):
                raise Fatal(f"bad escape at byte {i} of {data.hex()}")
            out.append(FLAG if data[i + 1] == 0x02 else ESC)
            i += 2
        elif b == FLAG:
            raise Fatal(f"flag inside a frame at byte {i}")
        else:
            out.append(b)
            i += 1
    return bytes(out)


def bcd(digits):
    if len(digits) % 2 or not digits.isdigit():
        raise ValueError(f"BCD needs an even count of digits: {digits!r}")
    return bytes(int(digits[i]) << 4 | int(digits[i + 1]) for i in range(0, len(digits), 2))
