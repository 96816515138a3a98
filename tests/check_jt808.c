/*
 * check_jt808.c - unit tests for the JT/T 808 codec (src/jt808.c).
 *
 * Frames from public implementations live in tests/fixtures/jt808_public.hex,
 * frames made for these tests in tests/fixtures/jt808_own.hex; the directory
 * comes from FIXTURES_DIR (default "tests/fixtures").
 */
#include "hoursd.h"
#include "jt808.h"
#include "jtx.h"

#include <check.h>
#include <ctype.h>

#define MAX_FIXTURES 64
#define FIXTURE_MAX_BYTES 2048
#define MAX_FRAME 2100

#include "hexfix.h"

/* ---- helpers ---- */

static void load_fixtures(void)
{
	n_fixtures = 0;
	load_fixture_file("jt808_public.hex");
	load_fixture_file("jt808_own.hex");
	load_fixture_file("jt808_timing_public.hex");
}

/* What a connection does with one wire frame: scan, unescape, parse. */
static enum jt808_err decode(const uint8_t *wire, size_t n, uint8_t *raw, struct jt808_msg *m)
{
	struct jt808_scan s;
	size_t rawlen;
	enum jt808_err e;

	ck_assert_int_eq(jt808_scan(wire, n, MAX_FRAME, &s), JT808_SCAN_FRAME);
	e = jt808_unescape(wire + s.start, s.len, raw, &rawlen);
	if (e != JT808_OK)
		return e;
	return jt808_parse(raw, rawlen, m);
}

static void decode_fixture(const char *tag, uint8_t *raw, struct jt808_msg *m)
{
	const struct fixture *fx = fixture(tag);
	enum jt808_err e = decode(fx->data, fx->len, raw, m);

	ck_assert_msg(e == JT808_OK, "[%s] parse: %s", tag, jt808_strerror(e));
}

static struct jt808_header header(uint16_t id, bool v2019, const char *phone, uint16_t serial)
{
	struct jt808_header h = {.msg_id = id,
				 .layout = v2019 ? JT808_L2019 : JT808_L2013,
				 .version = v2019 ? 1 : 0};

	h.serial = serial;
	snprintf(h.phone, sizeof(h.phone), "%s", phone);
	return h;
}

/* Encode then decode; returns the parsed message (body in raw). */
static struct jt808_msg roundtrip(const struct jt808_header *h, const uint8_t *body, size_t n,
				  uint8_t *raw)
{
	uint8_t wire[JT808_ENCODED_MAX(JT808_MAX_BODY)];
	struct jt808_msg m;
	size_t len = jt808_encode(h, body, n, wire, sizeof(wire));

	ck_assert_uint_gt(len, 0);
	ck_assert_uint_le(len, JT808_ENCODED_MAX(n));
	ck_assert_int_eq(decode(wire, len, raw, &m), JT808_OK);
	return m;
}

static bool has_byte(const uint8_t *p, size_t n, uint8_t b)
{
	return memchr(p, b, n) != NULL;
}

static void bcd_time(const char *hex, time_t *t, enum jt808_err want)
{
	uint8_t b[6];

	ck_assert_uint_eq(unhex(hex, b, sizeof(b)), 6);
	ck_assert_msg(jt808_bcd_time(b, t) == want, "%s: got %s want %s", hex,
		      jt808_strerror(jt808_bcd_time(b, t)), jt808_strerror(want));
}

/* ---- errors and escaping ---- */

START_TEST(test_strerror_names)
{
	for (int i = 0; i < JT808_E__COUNT; i++) {
		ck_assert_str_ne(jt808_strerror((enum jt808_err)i), "unknown");
		for (int j = 0; j < i; j++)
			ck_assert_str_ne(jt808_strerror((enum jt808_err)i),
					 jt808_strerror((enum jt808_err)j));
	}
	ck_assert_str_eq(jt808_strerror(JT808_E__COUNT), "unknown");
	ck_assert_str_eq(jt808_strerror(JT808_E_CHECK), "check");
}
END_TEST

START_TEST(test_unescape)
{
	const uint8_t in[] = {0x30, 0x7d, 0x01, 0x7d, 0x02, 0x31};
	const uint8_t bad1[] = {0x30, 0x7d, 0x03}, bad2[] = {0x30, 0x7d};
	const uint8_t bad3[] = {0x7d, 0x7e};
	uint8_t out[8];
	size_t n;

	ck_assert_int_eq(jt808_unescape(in, sizeof(in), out, &n), JT808_OK);
	ck_assert_uint_eq(n, 4);
	ck_assert_mem_eq(out, ((const uint8_t[]){0x30, 0x7d, 0x7e, 0x31}), 4);
	ck_assert_int_eq(jt808_unescape(bad1, sizeof(bad1), out, &n), JT808_E_ESCAPE);
	ck_assert_int_eq(jt808_unescape(bad2, sizeof(bad2), out, &n), JT808_E_ESCAPE);
	ck_assert_int_eq(jt808_unescape(bad3, sizeof(bad3), out, &n), JT808_E_ESCAPE);
	ck_assert_int_eq(jt808_unescape(in, 0, out, &n), JT808_OK);
	ck_assert_uint_eq(n, 0);
}
END_TEST

/* Every error code can be produced from crafted input. */
START_TEST(test_each_error_reachable)
{
	uint8_t raw[FIXTURE_MAX_BYTES] = {0}, big[1100] = {0};
	struct jt808_msg m;
	struct jt808_location loc;
	char code[4];
	time_t t;

	ck_assert_int_eq(jt808_parse(raw, 5, &m), JT808_E_SHORT);
	ck_assert_int_eq(jt808_parse(big, sizeof(big), &m), JT808_E_TOO_LONG);
	ck_assert_int_eq(decode(fixture("bad-escape")->data, fixture("bad-escape")->len, raw, &m),
			 JT808_E_ESCAPE);
	ck_assert_int_eq(decode(fixture("bad-check")->data, fixture("bad-check")->len, raw, &m),
			 JT808_E_CHECK);
	ck_assert_int_eq(decode(fixture("bad-length")->data, fixture("bad-length")->len, raw, &m),
			 JT808_E_LENGTH);
	ck_assert_int_eq(decode(fixture("bad-bcd")->data, fixture("bad-bcd")->len, raw, &m),
			 JT808_E_BCD);
	ck_assert_int_eq(decode(fixture("bad-piece")->data, fixture("bad-piece")->len, raw, &m),
			 JT808_E_PIECE);
	bcd_time("241301000000", &t, JT808_E_TIME);
	ck_assert_int_eq(jt808_parse_location(raw, 27, &loc), JT808_E_SHORT);
	ck_assert_int_eq(jt808_parse_auth((const uint8_t *)"12345", 5, false, code, sizeof(code)),
			 JT808_E_SPACE);
	{
		struct jt808_reasm *r = jt808_reasm_new(1, 100, 60);
		struct jt808_msg p = {.h = {.subpkg = true, .pkg_total = 2, .pkg_index = 1}};
		uint8_t *body;
		size_t len;

		ck_assert_int_eq(jt808_reasm_add(r, &p, 0, &body, &len), JT808_E_REASM_FULL);
		jt808_reasm_free(r);
	}
}
END_TEST

/* ---- scanning ---- */

START_TEST(test_scan_junk_then_frame)
{
	const struct fixture *fx = fixture("own-heartbeat");
	uint8_t buf[256], raw[256];
	struct jt808_scan s;
	struct jt808_msg m;
	size_t rawlen;
	const uint8_t junk[] = {0x00, 0x7d, 0xff, 0x41, 0x42, 0x7d};

	memcpy(buf, junk, sizeof(junk));
	memcpy(buf + sizeof(junk), fx->data, fx->len);
	ck_assert_int_eq(jt808_scan(buf, sizeof(junk) + fx->len, MAX_FRAME, &s), JT808_SCAN_FRAME);
	ck_assert_uint_eq(s.junk, sizeof(junk));
	ck_assert_uint_eq(s.start, sizeof(junk) + 1);
	ck_assert_uint_eq(s.len, fx->len - 2);
	ck_assert_uint_eq(s.skip, sizeof(junk) + fx->len - 1);
	ck_assert_int_eq(jt808_unescape(buf + s.start, s.len, raw, &rawlen), JT808_OK);
	ck_assert_int_eq(jt808_parse(raw, rawlen, &m), JT808_OK);
	ck_assert_uint_eq(m.h.msg_id, JT808_T_HEARTBEAT);

	/* No flag at all: everything is junk. */
	ck_assert_int_eq(jt808_scan(junk, sizeof(junk), MAX_FRAME, &s), JT808_SCAN_NEED);
	ck_assert_uint_eq(s.skip, sizeof(junk));
	ck_assert_uint_eq(s.junk, sizeof(junk));
	ck_assert_int_eq(jt808_scan(junk, 0, MAX_FRAME, &s), JT808_SCAN_NEED);
	ck_assert_uint_eq(s.skip, 0);
}
END_TEST

/* Back to back with separate flags, then with a shared flag. */
START_TEST(test_scan_back_to_back)
{
	const struct fixture *a = fixture("own-heartbeat"), *b = fixture("smallchi-8001");
	uint8_t buf[256];
	size_t n = 0, off = 0;
	struct jt808_scan s;

	memcpy(buf, a->data, a->len);
	memcpy(buf + a->len, b->data, b->len);
	n = a->len + b->len;
	ck_assert_int_eq(jt808_scan(buf, n, MAX_FRAME, &s), JT808_SCAN_FRAME);
	ck_assert_uint_eq(s.len, a->len - 2);
	off += s.skip;
	ck_assert_int_eq(jt808_scan(buf + off, n - off, MAX_FRAME, &s), JT808_SCAN_FRAME);
	ck_assert_uint_eq(s.len, b->len - 2);
	ck_assert_uint_eq(buf[off + s.start], 0x80);
	off += s.skip;
	ck_assert_int_eq(jt808_scan(buf + off, n - off, MAX_FRAME, &s), JT808_SCAN_NEED);
	ck_assert_uint_eq(n - off, 1);
	ck_assert_uint_eq(s.skip, 0);

	/* Shared flag: 7E A 7E B 7E. */
	memcpy(buf + a->len - 1, b->data, b->len);
	n = a->len - 1 + b->len;
	ck_assert_int_eq(jt808_scan(buf, n, MAX_FRAME, &s), JT808_SCAN_FRAME);
	ck_assert_uint_eq(s.len, a->len - 2);
	off = s.skip;
	ck_assert_int_eq(jt808_scan(buf + off, n - off, MAX_FRAME, &s), JT808_SCAN_FRAME);
	ck_assert_uint_eq(s.start, 1);
	ck_assert_uint_eq(s.len, b->len - 2);
}
END_TEST

START_TEST(test_scan_split_read)
{
	const struct fixture *fx = fixture("smallchi-0200-demo");
	struct jt808_scan s;
	size_t half = fx->len / 2;

	ck_assert_int_eq(jt808_scan(fx->data, half, MAX_FRAME, &s), JT808_SCAN_NEED);
	ck_assert_uint_eq(s.skip, 0);
	ck_assert_int_eq(jt808_scan(fx->data, 1, MAX_FRAME, &s), JT808_SCAN_NEED);
	ck_assert_uint_eq(s.skip, 0);
	ck_assert_int_eq(jt808_scan(fx->data, fx->len - 1, MAX_FRAME, &s), JT808_SCAN_NEED);
	ck_assert_int_eq(jt808_scan(fx->data, fx->len, MAX_FRAME, &s), JT808_SCAN_FRAME);
	ck_assert_uint_eq(s.start, 1);
	ck_assert_uint_eq(s.len, fx->len - 2);
}
END_TEST

START_TEST(test_scan_empty_frames_skipped)
{
	const struct fixture *fx = fixture("own-heartbeat");
	uint8_t buf[128] = {0x41, 0x7e, 0x7e, 0x7e};
	struct jt808_scan s;

	memcpy(buf + 4, fx->data, fx->len);
	ck_assert_int_eq(jt808_scan(buf, 4 + fx->len, MAX_FRAME, &s), JT808_SCAN_FRAME);
	ck_assert_uint_eq(s.junk, 1);
	ck_assert_uint_eq(s.start, 5);
	ck_assert_uint_eq(s.len, fx->len - 2);

	/* Only flags so far: keep the last one, it may open a frame. */
	ck_assert_int_eq(jt808_scan(buf, 4, MAX_FRAME, &s), JT808_SCAN_NEED);
	ck_assert_uint_eq(s.skip, 3);
}
END_TEST

START_TEST(test_scan_oversize)
{
	const struct fixture *fx = fixture("own-heartbeat");
	uint8_t buf[128];
	struct jt808_scan s;
	size_t off;

	memset(buf, 0x55, sizeof(buf));
	buf[0] = JT808_FLAG;
	buf[42] = JT808_FLAG; /* 41 bytes between the flags */
	memcpy(buf + 42, fx->data, fx->len);
	ck_assert_int_eq(jt808_scan(buf, 42 + fx->len, 40, &s), JT808_SCAN_OVERSIZE);
	ck_assert_uint_eq(s.skip, 42);
	off = s.skip;
	ck_assert_int_eq(jt808_scan(buf + off, 42 + fx->len - off, 40, &s), JT808_SCAN_FRAME);
	ck_assert_uint_eq(s.len, fx->len - 2);
	/* Exactly max_frame is fine. */
	ck_assert_int_eq(jt808_scan(buf, 42 + fx->len, 41, &s), JT808_SCAN_FRAME);

	/* Unclosed and already too long: drop it all. */
	memset(buf + 1, 0x55, sizeof(buf) - 1);
	ck_assert_int_eq(jt808_scan(buf, 42, 40, &s), JT808_SCAN_OVERSIZE);
	ck_assert_uint_eq(s.skip, 42);
	ck_assert_int_eq(jt808_scan(buf, 41, 40, &s), JT808_SCAN_NEED);
	ck_assert_uint_eq(s.skip, 0);
}
END_TEST

/* ---- header parse and encode ---- */

START_TEST(test_parse_short_and_length)
{
	uint8_t raw[64];
	struct jt808_msg m;
	const struct fixture *fx = fixture("own-heartbeat");
	size_t n;

	ck_assert_int_eq(jt808_unescape(fx->data + 1, fx->len - 2, raw, &n), JT808_OK);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_ne(jt808_parse(raw, i, &m), JT808_OK);
	ck_assert_int_eq(jt808_parse(raw, 12, &m), JT808_E_SHORT);
	/* Claim one body byte that is not there (check code fixed up). */
	raw[3] = 0x01;
	raw[n - 1] ^= 0x01;
	ck_assert_int_eq(jt808_parse(raw, n, &m), JT808_E_LENGTH);
}
END_TEST

START_TEST(test_roundtrip_2013)
{
	struct jt808_header h = header(JT808_T_LOCATION, false, "13800138000", 0xbeef);
	const uint8_t body[] = {1, 2, 3, 0x7e, 0x7d, 9};
	uint8_t raw[2048];
	struct jt808_msg m;

	h.encrypt = 1;
	m = roundtrip(&h, body, sizeof(body), raw);
	ck_assert_uint_eq(m.h.msg_id, JT808_T_LOCATION);
	ck_assert_int_eq(m.h.layout, JT808_L2013);
	ck_assert_uint_eq(m.h.version, 0);
	ck_assert_str_eq(m.h.phone, "013800138000");
	ck_assert_uint_eq(m.h.serial, 0xbeef);
	ck_assert_uint_eq(m.h.encrypt, 1);
	ck_assert(!m.h.subpkg);
	ck_assert_uint_eq(m.h.body_len, sizeof(body));
	ck_assert_uint_eq(m.h.props, 0x0400 | sizeof(body));
	ck_assert_uint_eq(m.body_len, sizeof(body));
	ck_assert_mem_eq(m.body, body, sizeof(body));
}
END_TEST

START_TEST(test_roundtrip_2019_pieces)
{
	struct jt808_header h = header(JT808_T_TRANSPARENT_UP, true, "12345678901234567890", 7);
	uint8_t body[JT808_MAX_BODY], raw[2048];
	struct jt808_msg m;

	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)(0x7c + i % 4); /* plenty of 7D and 7E */
	h.subpkg = true;
	h.pkg_total = 3;
	h.pkg_index = 2;
	m = roundtrip(&h, body, sizeof(body), raw);
	ck_assert_int_eq(m.h.layout, JT808_L2019);
	ck_assert_uint_eq(m.h.version, 1);
	ck_assert_str_eq(m.h.phone, "12345678901234567890");
	ck_assert(m.h.subpkg);
	ck_assert_uint_eq(m.h.pkg_total, 3);
	ck_assert_uint_eq(m.h.pkg_index, 2);
	ck_assert_uint_eq(m.body_len, sizeof(body));
	ck_assert_mem_eq(m.body, body, sizeof(body));

	/* Short phones are left-padded with zeros. */
	h = header(JT808_T_HEARTBEAT, true, "13800138000", 1);
	m = roundtrip(&h, NULL, 0, raw);
	ck_assert_str_eq(m.h.phone, "00000000013800138000");
	ck_assert_uint_eq(m.body_len, 0);
}
END_TEST

START_TEST(test_encode_escapes_body)
{
	struct jt808_header h = header(JT808_T_TRANSPARENT_UP, false, "13800138000", 7);
	const uint8_t body[] = {0x13, 0x7e, 0x7d, 0x01, 0x02};
	const struct fixture *fx = fixture("own-escape-body");
	uint8_t wire[64];
	size_t n = jt808_encode(&h, body, sizeof(body), wire, sizeof(wire));

	/* Same bytes as the hand-built fixture. */
	ck_assert_uint_eq(n, fx->len);
	ck_assert_mem_eq(wire, fx->data, n);
	ck_assert_uint_eq(wire[0], JT808_FLAG);
	ck_assert_uint_eq(wire[n - 1], JT808_FLAG);
	ck_assert(!has_byte(wire + 1, n - 2, JT808_FLAG));
}
END_TEST

/* The check code itself is escaped when it is 0x7E or 0x7D. */
START_TEST(test_encode_escapes_check)
{
	const uint8_t targets[2] = {0x7e, 0x7d};

	for (int t = 0; t < 2; t++) {
		struct jt808_header h = header(JT808_T_TRANSPARENT_UP, false, "13800138000", 8);
		uint8_t body[2] = {0x13, 0}, wire[64], raw[64];
		struct jt808_msg m;
		size_t n = 0;
		int b;

		for (b = 0; b < 256; b++) {
			body[1] = (uint8_t)b;
			n = jt808_encode(&h, body, 2, wire, sizeof(wire));
			if (wire[n - 2] == (t == 0 ? 0x02 : 0x01) && wire[n - 3] == 0x7d)
				break;
		}
		ck_assert_int_lt(b, 256);
		ck_assert(!has_byte(wire + 1, n - 2, JT808_FLAG));
		ck_assert_mem_eq(
			wire, fixture(t == 0 ? "own-escape-check7e" : "own-escape-check7d")->data,
			n);
		ck_assert_int_eq(decode(wire, n, raw, &m), JT808_OK);
		ck_assert_uint_eq(raw[14], targets[t]);
		ck_assert_uint_eq(m.body[1], b);
	}
}
END_TEST

START_TEST(test_encode_limits)
{
	struct jt808_header h = header(JT808_T_HEARTBEAT, false, "13800138000", 1);
	uint8_t body[JT808_MAX_BODY + 1], wire[JT808_ENCODED_MAX(JT808_MAX_BODY + 1)];
	size_t n;

	memset(body, JT808_FLAG, sizeof(body));
	/* Worst case (every byte escaped) fits JT808_ENCODED_MAX exactly-ish. */
	n = jt808_encode(&h, body, JT808_MAX_BODY, wire, JT808_ENCODED_MAX(JT808_MAX_BODY));
	ck_assert_uint_gt(n, 2 * JT808_MAX_BODY);
	ck_assert_uint_eq(jt808_encode(&h, body, JT808_MAX_BODY + 1, wire, sizeof(wire)), 0);
	ck_assert_uint_eq(jt808_encode(&h, body, 10, wire, 20), 0);
	n = jt808_encode(&h, NULL, 0, wire, sizeof(wire));
	ck_assert_uint_eq(n, 15);
	ck_assert_uint_eq(jt808_encode(&h, NULL, 0, wire, 14), 0);
	snprintf(h.phone, sizeof(h.phone), "1380013800X");
	ck_assert_uint_eq(jt808_encode(&h, NULL, 0, wire, sizeof(wire)), 0);
	snprintf(h.phone, sizeof(h.phone), "1234567890123");
	ck_assert_uint_eq(jt808_encode(&h, NULL, 0, wire, sizeof(wire)), 0);
	h.layout = JT808_L2019;
	ck_assert_uint_gt(jt808_encode(&h, NULL, 0, wire, sizeof(wire)), 0);
}
END_TEST

/* A 2013-shaped header with bit 14 set is read as 2013. */
START_TEST(test_2019_bit_on_2013_header)
{
	uint8_t raw[256];
	struct jt808_msg m;
	char code[32];

	decode_fixture("smallchi-0102-2019bit", raw, &m);
	ck_assert_uint_eq(m.h.msg_id, JT808_T_AUTH);
	ck_assert(m.h.props & 0x4000);
	ck_assert_int_eq(m.h.layout, JT808_L2013);
	ck_assert_str_eq(m.h.phone, "010030000681");
	ck_assert_uint_eq(m.h.serial, 0x0902);
	ck_assert_uint_eq(m.body_len, 12);
	ck_assert_int_eq(
		jt808_parse_auth(m.body, m.body_len, m.h.layout == JT808_L2019, code, sizeof(code)),
		JT808_OK);
	ck_assert_str_eq(code, "J10030000681");
}
END_TEST

/* ---- BCD ---- */

/* ---- the national timing layout ---- */

static struct jt808_header timing_header(uint16_t id, uint16_t serial)
{
	struct jt808_header h = {.msg_id = id,
				 .layout = JT808_LTIMING,
				 .version = JT808_TIMING_VERSION,
				 .reserved = 0x3c,
				 .serial = serial};

	snprintf(h.phone, sizeof(h.phone), "%s", "0000013800000001");
	return h;
}

/* Version first, BCD[8], a reserved byte: 16 bytes of header, 20 with pieces. */
START_TEST(test_roundtrip_timing)
{
	struct jt808_header h = timing_header(JT808_T_HEARTBEAT, 0x7e7d);
	uint8_t raw[JT808_ENCODED_MAX(JT808_MAX_BODY)], wire[64];
	const uint8_t body[] = {0x7e, 1, 2};
	struct jt808_msg m = roundtrip(&h, body, sizeof(body), raw);

	ck_assert_int_eq(m.h.layout, JT808_LTIMING);
	ck_assert_uint_eq(m.h.version, 0x80);
	ck_assert_uint_eq(m.h.reserved, 0x3c);
	ck_assert_uint_eq(m.h.msg_id, JT808_T_HEARTBEAT);
	ck_assert_str_eq(m.h.phone, "0000013800000001");
	ck_assert_uint_eq(m.h.serial, 0x7e7d);
	ck_assert_uint_eq(m.body_len, 3);
	ck_assert_mem_eq(m.body, body, 3);
	ck_assert_ptr_eq(m.body, raw + 16);
	/* The encoded header, unescaped: 80 | 0002 | 0003 | BCD[8] | 7E7D | 3C. */
	size_t n = jt808_encode(&h, NULL, 0, wire, sizeof(wire));
	ck_assert_uint_eq(n, 1 + 16 + 2 /* 7E and 7D escaped */ + 1 + 1);
	ck_assert_uint_eq(wire[1], 0x80);
	ck_assert_uint_eq(wire[2], 0x00);
	ck_assert_uint_eq(wire[3], 0x02);
	ck_assert_uint_eq(jt808_phone_digits(JT808_LTIMING), 16);
	ck_assert_str_eq(jt808_layout_name(JT808_LTIMING), "timing");

	h = timing_header(0x0900, 9);
	h.subpkg = true;
	h.pkg_total = 5;
	h.pkg_index = 2;
	m = roundtrip(&h, body, sizeof(body), raw);
	ck_assert_int_eq(m.h.layout, JT808_LTIMING);
	ck_assert(m.h.subpkg);
	ck_assert_uint_eq(m.h.pkg_total, 5);
	ck_assert_uint_eq(m.h.pkg_index, 2);
	ck_assert_ptr_eq(m.body, raw + 20);
}
END_TEST

/*
 * A 2013 downlink starts with 0x80 as well (0x8001): the exact length
 * tells it from a timing frame, both ways.
 */
START_TEST(test_timing_or_2013_by_length)
{
	struct jt808_header h = header(JT808_P_GENERAL_ACK, false, "013800000001", 3);
	uint8_t raw[JT808_ENCODED_MAX(JT808_MAX_BODY)], body[5];
	struct jt808_msg m;

	jt808_build_general_ack(7, 0x0102, 0, body);
	m = roundtrip(&h, body, sizeof(body), raw);
	ck_assert_int_eq(m.h.layout, JT808_L2013);
	ck_assert_uint_eq(m.h.msg_id, JT808_P_GENERAL_ACK);
	h = timing_header(JT808_P_GENERAL_ACK, 3);
	m = roundtrip(&h, body, sizeof(body), raw);
	ck_assert_int_eq(m.h.layout, JT808_LTIMING);
	ck_assert_uint_eq(m.h.msg_id, JT808_P_GENERAL_ACK);
}
END_TEST

/*
 * The escaped-sums device fault: the length and the check over the
 * escaped bytes.  Such a frame fails the standard parse and passes the
 * quirk parse, which gives the same message as a correct frame.
 */
START_TEST(test_escaped_sums)
{
	struct jt808_header h = timing_header(JT808_T_HEARTBEAT, 0x0102);
	const uint8_t body[] = {0x7e, 0x41, 0x7d, 0x42};
	uint8_t wire[64], raw[64], work[64], esc[64];
	struct jt808_msg good, m;
	size_t n = jt808_encode(&h, body, sizeof(body), wire, sizeof(wire)), k = 0;

	ck_assert_int_eq(decode(wire, n, raw, &good), JT808_OK);
	/* Rebuild it the faulty way: escaped header and body, length 6, XOR over those. */
	uint8_t x = 0;
	for (size_t i = 1; i < 1 + 16 + 6; i++) {
		esc[k] = wire[i];
		x ^= esc[k++];
	}
	esc[3] = 0x00, esc[4] = 0x06; /* the props word: 6 escaped body bytes */
	x = 0;
	for (size_t i = 0; i < k; i++)
		x ^= esc[i];
	esc[k++] = x == 0x7e ? 0x7d : x; /* (the test's serial keeps x clear of 7E/7D) */
	ck_assert_uint_ne(x, 0x7e);
	ck_assert_uint_ne(x, 0x7d);
	size_t len;
	ck_assert_int_eq(jt808_unescape(esc, k, raw, &len), JT808_OK);
	ck_assert_int_ne(jt808_parse(raw, len, &m), JT808_OK);
	ck_assert_int_eq(jt808_parse_escaped_sums(esc, k, work, &m), JT808_OK);
	ck_assert_int_eq(m.h.layout, JT808_LTIMING);
	ck_assert_uint_eq(m.h.serial, 0x0102);
	ck_assert_uint_eq(m.body_len, sizeof(body));
	ck_assert_mem_eq(m.body, body, sizeof(body));
	/* A correct frame is not taken by the quirk parse: its length counts unescaped bytes. */
	ck_assert_int_ne(jt808_parse_escaped_sums(wire + 1, n - 2, work, &m), JT808_OK);
	/* A flipped bit fails the quirk's check too. */
	esc[5] ^= 1;
	ck_assert_int_eq(jt808_parse_escaped_sums(esc, k, work, &m), JT808_E_CHECK);
}
END_TEST

START_TEST(test_timing_bodies)
{
	struct jt808_register in = {.province = 31, .city = 100, .plate_color = 1}, out;
	uint8_t b[2048], signed_data[JT808_AUTH_SIGNED_LEN], sig[256];
	size_t n;

	snprintf(in.maker, sizeof(in.maker), "%s", "70111");
	snprintf(in.model, sizeof(in.model), "%s", "JP-T1");
	snprintf(in.terminal_id, sizeof(in.terminal_id), "%s", "1234567");
	snprintf(in.imei, sizeof(in.imei), "%s", "861234567890123");
	snprintf(in.plate, sizeof(in.plate), "%s", "HA1234");
	n = jt808_build_register(&in, JT808_LTIMING, b, sizeof(b));
	ck_assert_uint_eq(n, 52 + 6);
	ck_assert_int_eq(jt808_parse_register(b, n, JT808_LTIMING, &out), JT808_OK);
	ck_assert_str_eq(out.imei, "861234567890123");
	ck_assert_str_eq(out.terminal_id, "1234567");
	ck_assert_str_eq(out.plate, "HA1234");
	ck_assert_int_eq(jt808_parse_register(b, 51, JT808_LTIMING, &out), JT808_E_SHORT);
	/* The other layouts have no IMEI: one set is left out, not an error. */
	n = jt808_build_register(&in, JT808_L2013, b, sizeof(b));
	ck_assert_uint_eq(n, 4 + 5 + 20 + 7 + 1 + 6);
	ck_assert_int_eq(jt808_parse_register(b, n, JT808_L2013, &out), JT808_OK);
	ck_assert_str_eq(out.imei, "");

	/* 0x0102: timestamp, then the signature over terminal number || timestamp. */
	memset(sig, 0xa5, sizeof(sig));
	n = jt808_build_auth_signed(0x65000000u, sig, sizeof(sig), b, sizeof(b));
	ck_assert_uint_eq(n, 260);
	uint32_t ts;
	const uint8_t *s;
	size_t slen;
	ck_assert_int_eq(jt808_parse_auth_signed(b, n, &ts, &s, &slen), JT808_OK);
	ck_assert_uint_eq(ts, 0x65000000u);
	ck_assert_uint_eq(slen, 256);
	ck_assert_ptr_eq(s, b + 4);
	ck_assert_int_eq(jt808_parse_auth_signed(b, 4, &ts, &s, &slen), JT808_E_SHORT);
	ck_assert(jt808_auth_signed_data("3100000000000001", 0x01020304u, signed_data));
	ck_assert_mem_eq(signed_data, "3100000000000001\x01\x02\x03\x04", 20);
	ck_assert(!jt808_auth_signed_data("31000", 1, signed_data));

	/* 0x8100 of the timing layout, with a certificate of 3000 Base64 bytes. */
	static char cert[3000];
	memset(cert, 'Q', sizeof(cert));
	struct jt808_register_ack_timing a = {.serial = 7,
					      .result = JT808_REG_OK,
					      .platform_no = "A0001",
					      .institution_no = "3100000000000123",
					      .terminal_no = "3100000000000001",
					      .cert_password = "123456",
					      .cert_b64 = cert,
					      .cert_len = sizeof(cert)},
					 back;
	n = jt808_build_register_ack_timing(&a, b, sizeof(b));
	ck_assert_uint_eq(n, 0); /* 2048 bytes are not enough */
	static uint8_t big[4096];
	n = jt808_build_register_ack_timing(&a, big, sizeof(big));
	ck_assert_uint_eq(n, 3 + 5 + 16 + 16 + 12 + 3000);
	ck_assert_int_eq(jt808_parse_register_ack_timing(big, n, &back), JT808_OK);
	ck_assert_str_eq(back.platform_no, "A0001");
	ck_assert_str_eq(back.institution_no, "3100000000000123");
	ck_assert_str_eq(back.terminal_no, "3100000000000001");
	ck_assert_str_eq(back.cert_password, "123456");
	ck_assert_uint_eq(back.cert_len, 3000);
	ck_assert_mem_eq(back.cert_b64, cert, 3000);
	a.result = JT808_REG_TERMINAL_UNKNOWN;
	n = jt808_build_register_ack_timing(&a, b, sizeof(b));
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(jt808_parse_register_ack_timing(b, n, &back), JT808_OK);
	ck_assert_uint_eq(back.result, JT808_REG_TERMINAL_UNKNOWN);
	ck_assert_int_eq(jt808_parse_register_ack_timing(big, 40, &back), JT808_E_SHORT);

	/* Piece requests: BYTE count (2013, timing), WORD count (2019). */
	uint16_t idx[4] = {2, 5}, got[4], first;
	size_t count;
	for (int l = 0; l < JT808_L__COUNT; l++) {
		n = jt808_build_piece_request(100, idx, 2, (enum jt808_layout)l, b, sizeof(b));
		ck_assert_uint_eq(n, l == JT808_L2019 ? 8 : 7);
		ck_assert_int_eq(jt808_parse_piece_request(b, n, (enum jt808_layout)l, &first, got,
							   4, &count),
				 JT808_OK);
		ck_assert_uint_eq(first, 100);
		ck_assert_uint_eq(count, 2);
		ck_assert_uint_eq(got[0], 2);
		ck_assert_uint_eq(got[1], 5);
		ck_assert_int_eq(jt808_parse_piece_request(b, n - 1, (enum jt808_layout)l, &first,
							   got, 4, &count),
				 JT808_E_SHORT);
	}
}
END_TEST

START_TEST(test_bcd_strings)
{
	uint8_t b[6];
	char s[13];

	ck_assert(jt808_str_to_bcd("13800138000", b, 6));
	ck_assert_mem_eq(b, ((const uint8_t[]){0x01, 0x38, 0x00, 0x13, 0x80, 0x00}), 6);
	ck_assert_int_eq(jt808_bcd_to_str(b, 6, s), JT808_OK);
	ck_assert_str_eq(s, "013800138000");
	ck_assert(jt808_str_to_bcd("", b, 6));
	ck_assert_mem_eq(b, ((const uint8_t[]){0, 0, 0, 0, 0, 0}), 6);
	ck_assert(!jt808_str_to_bcd("1234567890123", b, 6));
	ck_assert(!jt808_str_to_bcd("12a", b, 6));
	ck_assert(!jt808_str_to_bcd("-1", b, 6));
	b[2] = 0x3a;
	ck_assert_int_eq(jt808_bcd_to_str(b, 6, s), JT808_E_BCD);
	b[2] = 0xa3;
	ck_assert_int_eq(jt808_bcd_to_str(b, 6, s), JT808_E_BCD);
	ck_assert_uint_eq(strlen(s), 12);
}
END_TEST

START_TEST(test_bcd_time_edges)
{
	time_t t;
	uint8_t b[6];

	bcd_time("181015101010", &t, JT808_OK);
	ck_assert_int_eq(t, 1539569410); /* 2018-10-15T02:10:10Z */
	bcd_time("240101070000", &t, JT808_OK);
	ck_assert_int_eq(t, 1704063600);	/* crosses midnight and the year */
	bcd_time("240229123456", &t, JT808_OK); /* leap day */
	ck_assert_int_eq(t, 1709181296);
	bcd_time("000101000000", &t, JT808_OK);
	bcd_time("991231235959", &t, JT808_OK);
	bcd_time("230229000000", &t, JT808_E_TIME); /* not a leap year */
	bcd_time("000000000000", &t, JT808_E_TIME); /* what no-fix devices send */
	bcd_time("240001000000", &t, JT808_E_TIME);
	bcd_time("241301000000", &t, JT808_E_TIME);
	bcd_time("240100000000", &t, JT808_E_TIME);
	bcd_time("240132000000", &t, JT808_E_TIME);
	bcd_time("240431000000", &t, JT808_E_TIME);
	bcd_time("240101240000", &t, JT808_E_TIME);
	bcd_time("240101006000", &t, JT808_E_TIME);
	bcd_time("240101000060", &t, JT808_E_TIME);
	bcd_time("24010100005A", &t, JT808_E_BCD);
	bcd_time("2A0101000000", &t, JT808_E_BCD);

	jt808_time_bcd(1704063600, b);
	ck_assert_mem_eq(b, ((const uint8_t[]){0x24, 0x01, 0x01, 0x07, 0x00, 0x00}), 6);
	jt808_time_bcd(1709181296, b);
	ck_assert_mem_eq(b, ((const uint8_t[]){0x24, 0x02, 0x29, 0x12, 0x34, 0x56}), 6);
	ck_assert_int_eq(jt808_bcd_time(b, &t), JT808_OK);
	ck_assert_int_eq(t, 1709181296);
}
END_TEST

/* ---- bodies ---- */

static struct jt808_location sample_location(void)
{
	struct jt808_location loc = {
		.alarm = 0x80000001u,
		.status = JT808_ST_FIX | 0x1u,
		.lat_e6 = -34603700,
		.lon_e6 = -58381600,
		.altitude_m = 25,
		.speed_dkmh = 123,
		.direction = 270,
		.time = 1709181296,
		.fix = true,
	};
	return loc;
}

START_TEST(test_location_roundtrip)
{
	struct jt808_location in = sample_location(), out;
	uint8_t b[JT808_LOCATION_LEN + 6];

	ck_assert_uint_eq(jt808_build_location(&in, b), JT808_LOCATION_LEN);
	ck_assert_uint_eq(jt808_get32(b + 4), 0x0f);
	ck_assert_uint_eq(jt808_get32(b + 8), 34603700);
	memcpy(b + JT808_LOCATION_LEN, "\x01\x04\x00\x00\x00\x64", 6); /* an extra item */
	ck_assert_int_eq(jt808_parse_location(b, sizeof(b), &out), JT808_OK);
	ck_assert_uint_eq(out.alarm, in.alarm);
	ck_assert_uint_eq(out.status, 0x0f);
	ck_assert_int_eq(out.lat_e6, in.lat_e6);
	ck_assert_int_eq(out.lon_e6, in.lon_e6);
	ck_assert_uint_eq(out.altitude_m, 25);
	ck_assert_uint_eq(out.speed_dkmh, 123);
	ck_assert_uint_eq(out.direction, 270);
	ck_assert_int_eq(out.time, in.time);
	ck_assert(out.fix);

	/* North-east and no fix clear the bits. */
	in.lat_e6 = 39904200;
	in.lon_e6 = 116407400;
	in.fix = false;
	in.status = 0xffffffffu;
	jt808_build_location(&in, b);
	ck_assert_int_eq(jt808_parse_location(b, JT808_LOCATION_LEN, &out), JT808_OK);
	ck_assert_uint_eq(out.status & 0x0e, 0);
	ck_assert_int_eq(out.lat_e6, 39904200);
	ck_assert(!out.fix);
}
END_TEST

START_TEST(test_location_hostile)
{
	struct jt808_location loc = sample_location();
	uint8_t b[JT808_LOCATION_LEN];

	jt808_build_location(&loc, b);
	for (size_t n = 0; n < JT808_LOCATION_LEN; n++)
		ck_assert_int_eq(jt808_parse_location(b, n, &loc), JT808_E_SHORT);
	memset(b + 8, 0xff, 8); /* lat/lon beyond int32, south and west set */
	ck_assert_int_eq(jt808_parse_location(b, sizeof(b), &loc), JT808_OK);
	ck_assert_int_eq(loc.lat_e6, -INT32_MAX);
	ck_assert_int_eq(loc.lon_e6, -INT32_MAX);
	b[23] = 0x13;
	ck_assert_int_eq(jt808_parse_location(b, sizeof(b), &loc), JT808_E_TIME);
}
END_TEST

struct batch_seen {
	unsigned calls, stop_after;
	int32_t lat[4];
};

static bool on_location(void *arg, const struct jt808_location *loc)
{
	struct batch_seen *seen = arg;

	if (seen->calls < 4)
		seen->lat[seen->calls] = loc->lat_e6;
	seen->calls++;
	return seen->calls != seen->stop_after;
}

/* count WORD, type BYTE, then items of (len WORD, block + extra bytes). */
static size_t build_batch(uint8_t *b, unsigned count, unsigned items)
{
	struct jt808_location loc = sample_location();
	uint8_t *p = b;

	p = jt808_put16(p, (uint16_t)count);
	*p++ = 1;
	for (unsigned i = 0; i < items; i++) {
		loc.lat_e6 = (int32_t)(1000 + i);
		p = jt808_put16(p, JT808_LOCATION_LEN + 2);
		p += jt808_build_location(&loc, p);
		*p++ = 0xaa;
		*p++ = 0x00;
	}
	return (size_t)(p - b);
}

START_TEST(test_batch_location)
{
	uint8_t b[512];
	struct batch_seen seen = {0};
	unsigned count;
	size_t n = build_batch(b, 3, 3);

	ck_assert_int_eq(jt808_parse_batch_location(b, n, on_location, &seen, &count), JT808_OK);
	ck_assert_uint_eq(count, 3);
	ck_assert_uint_eq(seen.calls, 3);
	ck_assert_int_eq(seen.lat[2], 1002);

	memset(&seen, 0, sizeof(seen));
	seen.stop_after = 2;
	ck_assert_int_eq(jt808_parse_batch_location(b, n, on_location, &seen, &count), JT808_OK);
	ck_assert_uint_eq(seen.calls, 2);

	/* Declared count above what is there; every truncation is SHORT. */
	n = build_batch(b, 4, 3);
	ck_assert_int_eq(jt808_parse_batch_location(b, n, NULL, NULL, &count), JT808_E_SHORT);
	ck_assert_uint_eq(count, 4);
	n = build_batch(b, 3, 3);
	for (size_t cut = 0; cut < n; cut++)
		ck_assert_int_eq(jt808_parse_batch_location(b, cut, NULL, NULL, &count),
				 JT808_E_SHORT);
	/* An item length too small for the block. */
	jt808_put16(b + 3, 10);
	ck_assert_int_eq(jt808_parse_batch_location(b, n, NULL, NULL, &count), JT808_E_SHORT);
	n = build_batch(b, 0, 0);
	ck_assert_int_eq(jt808_parse_batch_location(b, n, NULL, NULL, &count), JT808_OK);
	ck_assert_uint_eq(count, 0);
}
END_TEST

static struct jt808_register sample_register(bool v2019)
{
	struct jt808_register r = {.province = 44, .city = 300, .plate_color = 2};

	snprintf(r.maker, sizeof(r.maker), "%s", v2019 ? "MAKER123456" : "70111");
	snprintf(r.model, sizeof(r.model), "%s", v2019 ? "MODEL-2019-THIRTY-BYTES-LONG!!" : "TM-1");
	snprintf(r.terminal_id, sizeof(r.terminal_id), "%s", v2019 ? "T2019" : "1234567");
	snprintf(r.plate, sizeof(r.plate), "\324\301B12345");
	return r;
}

static void assert_register_eq(const struct jt808_register *a, const struct jt808_register *b)
{
	ck_assert_uint_eq(a->province, b->province);
	ck_assert_uint_eq(a->city, b->city);
	ck_assert_str_eq(a->maker, b->maker);
	ck_assert_str_eq(a->model, b->model);
	ck_assert_str_eq(a->terminal_id, b->terminal_id);
	ck_assert_uint_eq(a->plate_color, b->plate_color);
	ck_assert_str_eq(a->plate, b->plate);
}

START_TEST(test_register_roundtrip)
{
	for (int v = 0; v < 2; v++) {
		struct jt808_register in = sample_register(v), out;
		uint8_t b[128];
		size_t n = jt808_build_register(&in, v, b, sizeof(b));

		ck_assert_uint_eq(n, v ? 4 + 11 + 30 + 30 + 1 + 8 : 4 + 5 + 20 + 7 + 1 + 8);
		ck_assert_int_eq(jt808_parse_register(b, n, v, &out), JT808_OK);
		assert_register_eq(&in, &out);
		ck_assert_uint_eq(jt808_build_register(&in, v, b, n - 1), 0);
	}
}
END_TEST

START_TEST(test_register_layouts)
{
	struct jt808_register in = sample_register(false), out;
	uint8_t b[128];
	size_t n = jt808_build_register(&in, JT808_L2013, b, sizeof(b));

	/* A 2013 body under the 2019 flag is recognised by its length. */
	ck_assert_int_eq(jt808_parse_register(b, n, JT808_L2019, &out), JT808_OK);
	assert_register_eq(&in, &out);
	/* Too short for any edition (2011 needs 25 bytes). */
	ck_assert_int_eq(jt808_parse_register(b, 24, JT808_L2013, &out), JT808_E_SHORT);
	ck_assert_int_eq(jt808_parse_register(b, 0, JT808_L2019, &out), JT808_E_SHORT);
	/* Fields that do not fit the layout are refused by the builder. */
	snprintf(in.maker, sizeof(in.maker), "123456");
	ck_assert_uint_eq(jt808_build_register(&in, JT808_L2013, b, sizeof(b)), 0);
	/* A plate longer than 32 bytes is cut. */
	in = sample_register(false);
	n = jt808_build_register(&in, JT808_L2013, b, sizeof(b));
	memset(b + n - 8, 'X', 40);
	ck_assert_int_eq(jt808_parse_register(b, n - 8 + 40, JT808_L2013, &out), JT808_OK);
	ck_assert_uint_eq(strlen(out.plate), 32);
}
END_TEST

START_TEST(test_auth)
{
	uint8_t b[128];
	char code[32];
	size_t n;

	n = jt808_build_auth("AUTH-0001", false, b, sizeof(b));
	ck_assert_uint_eq(n, 9);
	ck_assert_int_eq(jt808_parse_auth(b, n, false, code, sizeof(code)), JT808_OK);
	ck_assert_str_eq(code, "AUTH-0001");
	/* A 2013-shaped body under the 2019 flag. */
	ck_assert_int_eq(jt808_parse_auth(b, n, true, code, sizeof(code)), JT808_OK);
	ck_assert_str_eq(code, "AUTH-0001");

	n = jt808_build_auth("AUTH-0001", true, b, sizeof(b));
	ck_assert_uint_eq(n, 1 + 9 + 15 + 20);
	ck_assert_uint_eq(b[0], 9);
	ck_assert_int_eq(jt808_parse_auth(b, n, true, code, sizeof(code)), JT808_OK);
	ck_assert_str_eq(code, "AUTH-0001");
	ck_assert_uint_eq(jt808_build_auth("AUTH-0001", true, b, n - 1), 0);
	ck_assert_uint_eq(jt808_build_auth("AUTH-0001", false, b, 8), 0);

	ck_assert_int_eq(jt808_parse_auth(b, 0, false, code, sizeof(code)), JT808_E_SHORT);
	ck_assert_int_eq(jt808_parse_auth(b, n, true, code, 9), JT808_E_SPACE);
	ck_assert_int_eq(jt808_parse_auth(b, n, true, code, 10), JT808_OK);
	/* A trailing NUL (STRING terminator) is not part of the code. */
	ck_assert_int_eq(jt808_parse_auth((const uint8_t *)"abc", 4, false, code, sizeof(code)),
			 JT808_OK);
	ck_assert_str_eq(code, "abc");
}
END_TEST

/*
 * Found by fuzz/body.c (fuzz/regress/body/auth-empty-code): a body of NUL
 * padding alone was an empty code, and a NUL inside a code cut it short
 * for the comparison with the registry's ("123" matched "123\0xyz").
 */
START_TEST(test_auth_code_refused)
{
	char code[32];
	static const uint8_t pad[] = {0, 0, 0};
	static const uint8_t inner[] = {'1', '2', '3', 0, 'x', 'y', 'z'};
	/* 2019: length 0, then IMEI and version */
	uint8_t b2019[1 + 15 + 20] = {0};

	ck_assert_int_eq(jt808_parse_auth(pad, 1, false, code, sizeof(code)), JT808_E_SHORT);
	ck_assert_int_eq(jt808_parse_auth(pad, 3, false, code, sizeof(code)), JT808_E_SHORT);
	ck_assert_str_eq(code, "");
	ck_assert_int_eq(jt808_parse_auth(inner, sizeof(inner), false, code, sizeof(code)),
			 JT808_E_LENGTH);
	ck_assert_int_eq(jt808_parse_auth(b2019, sizeof(b2019), true, code, sizeof(code)),
			 JT808_E_SHORT);
	b2019[0] = 3;
	memcpy(b2019 + 1, inner + 2, 3); /* "3\0x" */
	ck_assert_int_eq(jt808_parse_auth(b2019, sizeof(b2019), true, code, sizeof(code)),
			 JT808_E_LENGTH);
	/* the registration answer's code (0x8100, result 0) the same way */
	uint16_t serial;
	uint8_t result, ack[] = {0, 7, JT808_REG_OK, 0, 0};
	ck_assert_int_eq(
		jt808_parse_register_ack(ack, sizeof(ack), &serial, &result, code, sizeof(code)),
		JT808_E_SHORT);
}
END_TEST

START_TEST(test_acks)
{
	uint8_t b[64];
	uint16_t serial, id;
	uint8_t result;
	char code[8];
	size_t n;

	ck_assert_uint_eq(jt808_build_general_ack(0x1234, JT808_T_LOCATION, JT808_R_BAD_MESSAGE, b),
			  5);
	ck_assert_mem_eq(b, ((const uint8_t[]){0x12, 0x34, 0x02, 0x00, 0x02}), 5);
	ck_assert_int_eq(jt808_parse_general_ack(b, 5, &serial, &id, &result), JT808_OK);
	ck_assert_uint_eq(serial, 0x1234);
	ck_assert_uint_eq(id, JT808_T_LOCATION);
	ck_assert_uint_eq(result, JT808_R_BAD_MESSAGE);
	ck_assert_int_eq(jt808_parse_general_ack(b, 4, &serial, &id, &result), JT808_E_SHORT);

	n = jt808_build_register_ack(77, JT808_REG_OK, "C0DE", b, sizeof(b));
	ck_assert_uint_eq(n, 7);
	ck_assert_int_eq(jt808_parse_register_ack(b, n, &serial, &result, code, sizeof(code)),
			 JT808_OK);
	ck_assert_uint_eq(serial, 77);
	ck_assert_uint_eq(result, 0);
	ck_assert_str_eq(code, "C0DE");
	ck_assert_int_eq(jt808_parse_register_ack(b, n, &serial, &result, code, 4), JT808_E_SPACE);
	ck_assert_uint_eq(jt808_build_register_ack(77, JT808_REG_OK, "C0DE", b, 6), 0);

	n = jt808_build_register_ack(78, JT808_REG_TERMINAL_TAKEN, "ignored", b, sizeof(b));
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(jt808_parse_register_ack(b, n, &serial, &result, code, sizeof(code)),
			 JT808_OK);
	ck_assert_uint_eq(result, JT808_REG_TERMINAL_TAKEN);
	ck_assert_str_eq(code, "");
	ck_assert_int_eq(jt808_parse_register_ack(b, 2, &serial, &result, code, sizeof(code)),
			 JT808_E_SHORT);
}
END_TEST

/* ---- reassembly ---- */

static struct jt808_msg piece(uint16_t total, uint16_t index, uint16_t first_serial,
			      const uint8_t *body, size_t len)
{
	struct jt808_msg m = {.body = body, .body_len = len};

	m.h.msg_id = JT808_T_TRANSPARENT_UP;
	m.h.subpkg = true;
	m.h.pkg_total = total;
	m.h.pkg_index = index;
	m.h.serial = (uint16_t)(first_serial + index - 1);
	return m;
}

static enum jt808_err add(struct jt808_reasm *r, struct jt808_msg m, time_t now, uint8_t **body,
			  size_t *len)
{
	return jt808_reasm_add(r, &m, now, body, len);
}

START_TEST(test_reasm_in_order_from_fixtures)
{
	struct jt808_reasm *r = jt808_reasm_new(8, 4096, 30);
	uint8_t raw1[64], raw2[64], *body;
	struct jt808_msg m1, m2;
	size_t len;

	decode_fixture("own-piece-1", raw1, &m1);
	decode_fixture("own-piece-2", raw2, &m2);
	ck_assert_int_eq(jt808_reasm_add(r, &m1, 100, &body, &len), JT808_OK);
	ck_assert_ptr_null(body);
	ck_assert_uint_eq(jt808_reasm_pending(r), 1);
	ck_assert_int_eq(jt808_reasm_add(r, &m2, 101, &body, &len), JT808_OK);
	ck_assert_ptr_nonnull(body);
	ck_assert_uint_eq(len, 6);
	ck_assert_mem_eq(body, ((const uint8_t[]){0x13, 1, 2, 3, 4, 5}), 6);
	ck_assert_uint_eq(jt808_reasm_pending(r), 0);
	free(body);
	jt808_reasm_free(r);
}
END_TEST

START_TEST(test_reasm_out_of_order_and_duplicate)
{
	struct jt808_reasm *r = jt808_reasm_new(8, 4096, 30);
	const uint8_t a[] = "AA", b[] = "BBB", c[] = "C", stale[] = "xxxxxxxx";
	uint8_t *body;
	size_t len;

	ck_assert_int_eq(add(r, piece(3, 3, 500, c, 1), 1, &body, &len), JT808_OK);
	ck_assert_int_eq(add(r, piece(3, 1, 500, stale, 8), 1, &body, &len), JT808_OK);
	/* Another message interleaved (other first serial). */
	ck_assert_int_eq(add(r, piece(2, 2, 900, b, 3), 1, &body, &len), JT808_OK);
	ck_assert_uint_eq(jt808_reasm_pending(r), 2);
	/* The repeated piece 1 replaces the earlier copy. */
	ck_assert_int_eq(add(r, piece(3, 1, 500, a, 2), 2, &body, &len), JT808_OK);
	ck_assert_ptr_null(body);
	ck_assert_int_eq(add(r, piece(3, 2, 500, b, 3), 2, &body, &len), JT808_OK);
	ck_assert_ptr_nonnull(body);
	ck_assert_uint_eq(len, 6);
	ck_assert_mem_eq(body, "AABBBC", 6);
	free(body);
	ck_assert_uint_eq(jt808_reasm_pending(r), 1);
	/* Serial wrap-around: first serial 0xffff, second piece serial 0. */
	ck_assert_int_eq(add(r, piece(2, 1, 0xffff, a, 2), 3, &body, &len), JT808_OK);
	ck_assert_int_eq(add(r, piece(2, 2, 0xffff, c, 1), 3, &body, &len), JT808_OK);
	ck_assert_ptr_nonnull(body);
	ck_assert_mem_eq(body, "AAC", 3);
	free(body);
	jt808_reasm_free(r); /* frees the interleaved partial: ASan checks the leak */
}
END_TEST

START_TEST(test_reasm_bounds)
{
	struct jt808_reasm *r = jt808_reasm_new(3, 10, 30);
	const uint8_t x[8] = "xxxxxxx";
	uint8_t *body;
	size_t len;

	/* More pieces than the bound can ever hold. */
	ck_assert_int_eq(add(r, piece(4, 1, 1, x, 1), 0, &body, &len), JT808_E_REASM_FULL);
	ck_assert_uint_eq(jt808_reasm_pending(r), 0);
	/* Pieces held across messages. */
	ck_assert_int_eq(add(r, piece(2, 1, 10, x, 1), 0, &body, &len), JT808_OK);
	ck_assert_int_eq(add(r, piece(3, 1, 20, x, 1), 0, &body, &len), JT808_OK);
	ck_assert_int_eq(add(r, piece(3, 2, 20, x, 1), 0, &body, &len), JT808_OK);
	ck_assert_int_eq(add(r, piece(2, 2, 30, x, 1), 0, &body, &len), JT808_E_REASM_FULL);
	ck_assert_uint_eq(jt808_reasm_pending(r), 2);
	/* Bytes: the partial that overflows is dropped. */
	ck_assert_int_eq(add(r, piece(3, 3, 20, x, 8), 0, &body, &len), JT808_E_REASM_FULL);
	ck_assert_ptr_null(body);
	ck_assert_uint_eq(jt808_reasm_pending(r), 1);
	/* Room came back: a duplicate grows within the byte bound. */
	ck_assert_int_eq(add(r, piece(2, 1, 10, x, 8), 0, &body, &len), JT808_OK);
	ck_assert_int_eq(add(r, piece(2, 2, 10, x, 2), 0, &body, &len), JT808_OK);
	ck_assert_uint_eq(len, 10);
	free(body);
	ck_assert_uint_eq(jt808_reasm_pending(r), 0);
	jt808_reasm_free(r);
}
END_TEST

START_TEST(test_reasm_bad_pieces)
{
	struct jt808_reasm *r = jt808_reasm_new(8, 100, 30);
	struct jt808_msg m = piece(2, 1, 1, (const uint8_t *)"a", 1);
	uint8_t *body;
	size_t len;

	ck_assert_int_eq(add(r, piece(2, 0, 1, NULL, 0), 0, &body, &len), JT808_E_PIECE);
	ck_assert_int_eq(add(r, piece(2, 3, 1, NULL, 0), 0, &body, &len), JT808_E_PIECE);
	ck_assert_int_eq(add(r, piece(0, 1, 1, NULL, 0), 0, &body, &len), JT808_E_PIECE);
	m.h.subpkg = false;
	ck_assert_int_eq(jt808_reasm_add(r, &m, 0, &body, &len), JT808_E_PIECE);
	/* A one-piece message completes at once; empty pieces are fine. */
	ck_assert_int_eq(add(r, piece(1, 1, 1, NULL, 0), 0, &body, &len), JT808_OK);
	ck_assert_ptr_nonnull(body);
	ck_assert_uint_eq(len, 0);
	free(body);
	ck_assert_uint_eq(jt808_reasm_pending(r), 0);
	jt808_reasm_free(r);
}
END_TEST

/* A piece that never completes is dropped by age, and nothing leaks. */
START_TEST(test_reasm_expiry)
{
	struct jt808_reasm *r = jt808_reasm_new(8, 100, 30);
	uint8_t *body;
	size_t len;

	ck_assert_int_eq(add(r, piece(3, 1, 40, (const uint8_t *)"abc", 3), 1000, &body, &len),
			 JT808_OK);
	ck_assert_int_eq(add(r, piece(2, 2, 50, (const uint8_t *)"de", 2), 1020, &body, &len),
			 JT808_OK);
	ck_assert_uint_eq(jt808_reasm_expire(r, 1030), 0);
	ck_assert_uint_eq(jt808_reasm_expire(r, 1031), 1);
	ck_assert_uint_eq(jt808_reasm_pending(r), 1);
	ck_assert_uint_eq(jt808_reasm_expire(r, 1051), 1);
	ck_assert_uint_eq(jt808_reasm_pending(r), 0);
	/* The expired message starts over: piece 2 alone does not complete it. */
	ck_assert_int_eq(add(r, piece(3, 2, 40, (const uint8_t *)"x", 1), 1060, &body, &len),
			 JT808_OK);
	ck_assert_ptr_null(body);
	jt808_reasm_free(r);
	jt808_reasm_free(NULL);
}
END_TEST

/* ---- public and own fixtures ---- */

START_TEST(test_fixtures_all_parse)
{
	ck_assert_uint_ge(n_fixtures, 20);
	for (size_t i = 0; i < n_fixtures; i++) {
		uint8_t raw[FIXTURE_MAX_BYTES];
		struct jt808_msg m;
		enum jt808_err e = decode(fixtures[i].data, fixtures[i].len, raw, &m);

		/* Frames whose own source got them wrong are named so (see the .hex files). */
		if (strncmp(fixtures[i].tag, "bad-", 4) == 0 || strstr(fixtures[i].tag, "-bad") ||
		    strstr(fixtures[i].tag, "escfault"))
			ck_assert_msg(e != JT808_OK, "[%s] should fail", fixtures[i].tag);
		else
			ck_assert_msg(e == JT808_OK, "[%s] %s", fixtures[i].tag, jt808_strerror(e));
	}
}
END_TEST

static void check_location(const uint8_t *body, size_t n, int32_t lat, int32_t lon, time_t t)
{
	struct jt808_location loc;

	ck_assert_int_eq(jt808_parse_location(body, n, &loc), JT808_OK);
	ck_assert_int_eq(loc.lat_e6, lat);
	ck_assert_int_eq(loc.lon_e6, lon);
	ck_assert_int_eq(loc.time, t);
}

START_TEST(test_public_locations)
{
	uint8_t raw[512];
	struct jt808_msg m;
	struct jt808_location loc;

	decode_fixture("smallchi-0200-demo", raw, &m);
	ck_assert_str_eq(m.h.phone, "123456789012");
	ck_assert_uint_eq(m.h.serial, 126);
	ck_assert_uint_eq(m.body_len, 38);
	ck_assert_int_eq(jt808_parse_location(m.body, m.body_len, &loc), JT808_OK);
	ck_assert_uint_eq(loc.alarm, 1);
	ck_assert(loc.fix);
	ck_assert_uint_eq(loc.altitude_m, 40);
	ck_assert_uint_eq(loc.speed_dkmh, 60);
	ck_assert_int_eq(loc.lat_e6, 12222222);
	ck_assert_int_eq(loc.lon_e6, 132444444);
	ck_assert_int_eq(loc.time, 1539569410);

	decode_fixture("smallchi-0200-test5", raw, &m);
	ck_assert_str_eq(m.h.phone, "112233445566");
	ck_assert_uint_eq(m.h.serial, 8888);
	check_location(m.body, m.body_len, 12222222, 132444444, 1531620610);

	decode_fixture("godevil-0200", raw, &m);
	ck_assert_str_eq(m.h.phone, "012345678901");
	ck_assert_int_eq(jt808_parse_location(m.body, m.body_len, &loc), JT808_OK);
	ck_assert_uint_eq(loc.alarm, 1024);
	ck_assert_uint_eq(loc.status, 2048);
	ck_assert(!loc.fix);
	ck_assert_int_eq(loc.lat_e6, 119552894);
	ck_assert_uint_eq(loc.altitude_m, 312);
	ck_assert_uint_eq(loc.direction, 99);
	ck_assert_int_eq(loc.time, 1727798399);

	decode_fixture("xtream-0200-2019", raw, &m);
	ck_assert_int_eq(m.h.layout, JT808_L2019);
	ck_assert_uint_eq(m.h.version, 1);
	ck_assert_str_eq(m.h.phone, "00000000013912344329");
	ck_assert_int_eq(jt808_parse_location(m.body, m.body_len, &loc), JT808_OK);
	ck_assert_uint_eq(loc.alarm, 111);
	ck_assert_uint_eq(loc.status, 22);
	ck_assert_int_eq(loc.lat_e6, -31234567); /* status bit 2: south */
	ck_assert_int_eq(loc.lon_e6, 121987654);
	ck_assert_uint_eq(loc.speed_dkmh, 66);
	ck_assert_int_eq(loc.time, 1738161224);
}
END_TEST

START_TEST(test_public_batches)
{
	uint8_t raw[512];
	struct jt808_msg m;
	struct batch_seen seen = {0};
	unsigned count;

	decode_fixture("smallchi-0704", raw, &m);
	ck_assert_int_eq(jt808_parse_batch_location(m.body, m.body_len, on_location, &seen, &count),
			 JT808_OK);
	ck_assert_uint_eq(count, 2);
	ck_assert_uint_eq(seen.calls, 2);
	ck_assert_int_eq(seen.lat[0], 12222222);
	ck_assert_int_eq(seen.lat[1], 13333333);

	memset(&seen, 0, sizeof(seen));
	decode_fixture("godevil-0704", raw, &m);
	ck_assert_int_eq(jt808_parse_batch_location(m.body, m.body_len, on_location, &seen, &count),
			 JT808_OK);
	ck_assert_uint_eq(seen.calls, 2);
	ck_assert_int_eq(seen.lat[1], 119552894);

	memset(&seen, 0, sizeof(seen));
	decode_fixture("xtream-0704-2019", raw, &m);
	ck_assert_int_eq(m.h.layout, JT808_L2019);
	ck_assert_int_eq(jt808_parse_batch_location(m.body, m.body_len, on_location, &seen, &count),
			 JT808_OK);
	ck_assert_uint_eq(count, 2);
	ck_assert_int_eq(seen.lat[0], 31000562);
	ck_assert_int_eq(seen.lat[1], 31000563);
}
END_TEST

START_TEST(test_public_registers)
{
	uint8_t raw[512];
	struct jt808_msg m;
	struct jt808_register r;

	decode_fixture("smallchi-0100-2013", raw, &m);
	ck_assert_int_eq(jt808_parse_register(m.body, m.body_len, m.h.layout, &r), JT808_OK);
	ck_assert_uint_eq(r.province, 40);
	ck_assert_uint_eq(r.city, 50);
	ck_assert_str_eq(r.maker, "12340");
	ck_assert_str_eq(r.model, "smallchi123000000000");
	ck_assert_str_eq(r.terminal_id, "CHI1230");
	ck_assert_uint_eq(r.plate_color, 1);
	ck_assert_str_eq(r.plate, "\324\301A12345");

	decode_fixture("smallchi-0100-2019", raw, &m);
	ck_assert_int_eq(m.h.layout, JT808_L2019);
	ck_assert_str_eq(m.h.phone, "00000000000123456789");
	ck_assert_int_eq(jt808_parse_register(m.body, m.body_len, m.h.layout, &r), JT808_OK);
	ck_assert_str_eq(r.maker, "00000001234");
	ck_assert_str_eq(r.model, "0000000000000000000smallchi123");
	ck_assert_str_eq(r.terminal_id, "000000000000000000000000CHI123");
	ck_assert_str_eq(r.plate, "\324\301A12345");

	decode_fixture("godevil-0100-2011", raw, &m);
	ck_assert_int_eq(jt808_parse_register(m.body, m.body_len, m.h.layout, &r), JT808_OK);
	ck_assert_uint_eq(r.province, 31);
	ck_assert_uint_eq(r.city, 115);
	ck_assert_str_eq(r.maker, "cd");
	ck_assert_str_eq(r.model, "www.808.");
	ck_assert_str_eq(r.terminal_id, "7654321");
	ck_assert_str_eq(r.plate, "\262\342A1234");

	decode_fixture("godevil-0100-2019", raw, &m);
	ck_assert_int_eq(jt808_parse_register(m.body, m.body_len, m.h.layout, &r), JT808_OK);
	ck_assert_str_eq(r.maker, "cd");
	ck_assert_str_eq(r.model, "www.808.com");
	ck_assert_str_eq(r.terminal_id, "7654321");
	ck_assert_uint_eq(r.plate_color, 1);
	ck_assert_str_eq(r.plate, "\262\342A1234");
}
END_TEST

START_TEST(test_public_auth_and_answers)
{
	uint8_t raw[512], result;
	struct jt808_msg m;
	char code[64];
	uint16_t serial, id;

	decode_fixture("smallchi-0102-2013", raw, &m);
	ck_assert_uint_eq(m.h.serial, 12345);
	ck_assert_str_eq(m.h.phone, "012345678900");
	ck_assert_int_eq(
		jt808_parse_auth(m.body, m.body_len, m.h.layout == JT808_L2019, code, sizeof(code)),
		JT808_OK);
	ck_assert_str_eq(code, "456121111");

	decode_fixture("godevil-0102-2019", raw, &m);
	ck_assert_int_eq(m.h.layout, JT808_L2019);
	ck_assert_int_eq(
		jt808_parse_auth(m.body, m.body_len, m.h.layout == JT808_L2019, code, sizeof(code)),
		JT808_OK);
	ck_assert_str_eq(code, "17299841738");

	decode_fixture("smallchi-8100", raw, &m);
	ck_assert_uint_eq(m.h.msg_id, JT808_P_REGISTER_ACK);
	ck_assert_int_eq(
		jt808_parse_register_ack(m.body, m.body_len, &serial, &result, code, sizeof(code)),
		JT808_OK);
	ck_assert_uint_eq(serial, 100);
	ck_assert_uint_eq(result, JT808_REG_OK);
	ck_assert_str_eq(code, "123456");

	decode_fixture("smallchi-8100-fail", raw, &m);
	ck_assert_int_eq(
		jt808_parse_register_ack(m.body, m.body_len, &serial, &result, code, sizeof(code)),
		JT808_OK);
	ck_assert_uint_eq(result, JT808_REG_TERMINAL_UNKNOWN);

	decode_fixture("smallchi-8001", raw, &m);
	ck_assert_int_eq(jt808_parse_general_ack(m.body, m.body_len, &serial, &id, &result),
			 JT808_OK);
	ck_assert_uint_eq(serial, 100);
	ck_assert_uint_eq(id, JT808_T_LOCATION);
	ck_assert_uint_eq(result, JT808_R_OK);
}
END_TEST

/* Our encoder reproduces public frames byte for byte. */
START_TEST(test_encoder_matches_public)
{
	const char *tags[] = {"smallchi-0200-demo", "smallchi-8100",	"smallchi-8001",
			      "godevil-0102-2019",  "xtream-0200-2019", "smallchi-0100-2019"};

	for (size_t i = 0; i < ARRAY_SIZE(tags); i++) {
		const struct fixture *fx = fixture(tags[i]);
		uint8_t raw[512], wire[1024];
		struct jt808_msg m;
		size_t n;

		decode_fixture(tags[i], raw, &m);
		n = jt808_encode(&m.h, m.body, m.body_len, wire, sizeof(wire));
		ck_assert_msg(n == fx->len && memcmp(wire, fx->data, n) == 0, "[%s] differs",
			      tags[i]);
	}
}
END_TEST

START_TEST(test_own_2019_south_west)
{
	uint8_t raw[256];
	struct jt808_msg m;
	struct jt808_location loc;

	decode_fixture("own-0200-2019-sw", raw, &m);
	ck_assert_int_eq(m.h.layout, JT808_L2019);
	ck_assert_str_eq(m.h.phone, "00000000013800138000");
	ck_assert_uint_eq(m.h.serial, 0x1234);
	ck_assert_int_eq(jt808_parse_location(m.body, m.body_len, &loc), JT808_OK);
	ck_assert_int_eq(loc.lat_e6, -34603700);
	ck_assert_int_eq(loc.lon_e6, -58381600);
	ck_assert_uint_eq(loc.direction, 270);
	ck_assert_int_eq(loc.time, 1709181296);
}
END_TEST

/* ---- hostile input ---- */

static uint32_t lcg(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 16;
}

/*
 * Random and mutated input through every parser: ASan and UBSan are the
 * assertions (no read past n, no undefined arithmetic).
 */
/*
 * Real frames of the national timing framing from public terminal and
 * platform code (tests/fixtures/jt808_timing_public.hex, decoded by hand
 * in jt808_timing_public.md): the header, and the bodies hoursd reads.
 */
static void timing_header_is(const struct jt808_msg *m, uint16_t id, const char *phone,
			     uint16_t serial, uint8_t reserved)
{
	ck_assert_int_eq(m->h.layout, JT808_LTIMING);
	ck_assert_uint_eq(m->h.version, 0x80);
	ck_assert_uint_eq(m->h.msg_id, id);
	ck_assert_str_eq(m->h.phone, phone);
	ck_assert_uint_eq(m->h.serial, serial);
	ck_assert_uint_eq(m->h.reserved, reserved);
}

START_TEST(test_public_timing_frames)
{
	uint8_t raw[FIXTURE_MAX_BYTES];
	struct jt808_msg m;
	struct jt808_register r;

	decode_fixture("cheji-0100-reg", raw, &m);
	timing_header_is(&m, JT808_T_REGISTER, "0000018575320215", 1, 0x80);
	ck_assert_int_eq(jt808_parse_register(m.body, m.body_len, m.h.layout, &r), JT808_OK);
	ck_assert_uint_eq(r.province, 44);
	ck_assert_uint_eq(r.city, 1900);
	ck_assert_str_eq(r.maker, "70218");
	ck_assert_str_eq(r.model, "YW3000-YP");
	ck_assert_str_eq(r.terminal_id, "0JTG40A");
	ck_assert_str_eq(r.imei, "356322034492031");
	ck_assert_uint_eq(r.plate_color, 2);

	decode_fixture("hyapi-0100-reg", raw, &m);
	timing_header_is(&m, JT808_T_REGISTER, "0000018230103547", 54, 0x00);
	ck_assert_int_eq(jt808_parse_register(m.body, m.body_len, m.h.layout, &r), JT808_OK);
	ck_assert_str_eq(r.maker, "BJKRT");
	ck_assert_str_eq(r.terminal_id, "H110365");
	ck_assert_str_eq(r.imei, "864881027412780");

	decode_fixture("bjxc-0100-reg-3c", raw, &m);
	timing_header_is(&m, JT808_T_REGISTER, "0000013012345343", 44, 0x3c);
	ck_assert_int_eq(jt808_parse_register(m.body, m.body_len, m.h.layout, &r), JT808_OK);
	ck_assert_str_eq(r.imei, "355099048111994");
	ck_assert_str_eq(r.terminal_id, "6000003");

	decode_fixture("hyapi-0002-heartbeat", raw, &m);
	timing_header_is(&m, JT808_T_HEARTBEAT, "0000018230103547", 0, 0x00);
	ck_assert_uint_eq(m.body_len, 0);
	decode_fixture("guice-0002-heartbeat-zero", raw, &m);
	timing_header_is(&m, JT808_T_HEARTBEAT, "0000000000000000", 0, 0x00);

	/* Authentication: the timestamp and 256 bytes of signature (one 0x7E escaped inside). */
	uint32_t ts;
	const uint8_t *sig;
	size_t sig_len;
	decode_fixture("bjxc-0102-auth", raw, &m);
	timing_header_is(&m, JT808_T_AUTH, "0000015789478932", 130, 0x3c);
	ck_assert_int_eq(jt808_parse_auth_signed(m.body, m.body_len, &ts, &sig, &sig_len),
			 JT808_OK);
	ck_assert_uint_eq(ts, 1486705514u);
	ck_assert_uint_eq(sig_len, 256);
	ck_assert_uint_eq(sig[0], 0x89);

	/* The last piece of a registration answer: the tail of the Base64 certificate. */
	decode_fixture("bjxc-8100-piece5of5", raw, &m);
	timing_header_is(&m, JT808_P_REGISTER_ACK, "0000015938947284", 123, 0x00);
	ck_assert(m.h.subpkg);
	ck_assert_uint_eq(m.h.pkg_total, 5);
	ck_assert_uint_eq(m.h.pkg_index, 5);
	ck_assert_uint_eq(m.body_len, 320);
	ck_assert_uint_eq(m.body[m.body_len - 1], '=');

	/* A platform's general answer in the timing layout: what termsim reads. */
	uint16_t serial, id;
	uint8_t result;
	decode_fixture("msgtool-8001-v80", raw, &m);
	timing_header_is(&m, JT808_P_GENERAL_ACK, "0000018637237929", 76, 0x3c);
	ck_assert_int_eq(jt808_parse_general_ack(m.body, m.body_len, &serial, &id, &result),
			 JT808_OK);
	ck_assert_uint_eq(serial, 76);
	ck_assert_uint_eq(id, 0x0200);
	ck_assert_uint_eq(result, 0);
}
END_TEST

/*
 * The frames their sources got wrong: a declared length that is not the
 * body's, a check code that is not the frame's, and the escaped-sums
 * device fault, which only the quirk parse takes; its training record,
 * read from the unescaped data, decodes to the values of the source.
 */
START_TEST(test_public_timing_faults)
{
	const struct fixture *fx;
	uint8_t raw[FIXTURE_MAX_BYTES], work[FIXTURE_MAX_BYTES];
	struct jt808_msg m;
	struct jt808_scan sc;

	fx = fixture("hyapi-01f0-platform-login-badlen");
	ck_assert_int_eq(decode(fx->data, fx->len, raw, &m), JT808_E_LENGTH);
	fx = fixture("bjxc-0203-signed-badxor");
	ck_assert_int_eq(decode(fx->data, fx->len, raw, &m), JT808_E_CHECK);
	ck_assert_int_eq(jt808_scan(fx->data, fx->len, MAX_FRAME, &sc), JT808_SCAN_FRAME);
	ck_assert_int_ne(jt808_parse_escaped_sums(fx->data + sc.start, sc.len, work, &m), JT808_OK);

	fx = fixture("xmg-0203-record-escfault");
	ck_assert_int_ne(decode(fx->data, fx->len, raw, &m), JT808_OK);
	ck_assert_int_eq(jt808_scan(fx->data, fx->len, MAX_FRAME, &sc), JT808_SCAN_FRAME);
	ck_assert_int_eq(jt808_parse_escaped_sums(fx->data + sc.start, sc.len, work, &m), JT808_OK);
	timing_header_is(&m, JT808_T_TRANSPARENT_UP, "8617724649151002", 156, 0x00);
	ck_assert_uint_eq(m.body_len, 141);
	ck_assert(m.escaped_sums);
	/* Type 0x13, extension 0x0203, unsigned; its data length (115) counts escaped bytes too. */
	struct jtx_header h;
	ck_assert_int_eq(jtx_parse(m.body, m.body_len, &h), JTX_E_LENGTH);
	ck_assert_int_eq(jtx_parse_escaped_len(m.body, m.body_len, &h), JTX_OK);
	ck_assert_uint_eq(h.msg_id, 0x0203);
	ck_assert_uint_eq(h.props, 0x0002);
	ck_assert_str_eq(h.terminal_no, "1661733426772144");
	ck_assert_uint_eq(h.data_len, 114);
	ck_assert_uint_eq(h.sig_len, 0);
	struct jtx_record rec;
	ck_assert_int_eq(jtx_parse_record(h.data, h.data_len, &rec), JTX_OK);
	ck_assert_str_eq(rec.record_no, "16617334267721442209140006");
	ck_assert_str_eq(rec.student_no, "7934248272235217");
	ck_assert_str_eq(rec.coach_no, "3773143352552225");
	ck_assert_uint_eq(rec.class_id, 90121);
	ck_assert_str_eq(rec.course.digits, "3213210000");
	ck_assert_uint_eq(rec.course.mode, 3);
	ck_assert_str_eq(rec.course.vehicle_class, "C1");
	ck_assert_uint_eq(rec.course.part, 3);
	ck_assert_uint_eq(rec.max_speed_dkmh, 250);
	ck_assert_uint_eq(rec.mileage_dkm, 3);
	ck_assert_int_eq(rec.gnss.lat_e6, 28575408);
	ck_assert_int_eq(rec.gnss.lon_e6, 115881141);
	ck_assert_uint_eq(rec.gnss.recorder_speed_dkmh, 230);
	ck_assert_uint_eq(rec.gnss.speed_dkmh, 230);
	ck_assert_uint_eq(rec.gnss.direction, 214);
	ck_assert_uint_eq(rec.gnss.extras, JT808_X_MILEAGE | JT808_X_RPM);
	ck_assert_uint_eq(rec.gnss.mileage_dkm, 850);
	ck_assert_uint_eq(rec.gnss.engine_rpm, 1149);
}
END_TEST

START_TEST(test_hostile_no_crash)
{
	uint32_t seed = 808;
	unsigned parsed = 0, ok = 0;

	for (int round = 0; round < 4000; round++) {
		const struct fixture *fx = &fixtures[(size_t)round % n_fixtures];
		size_t n = fx->len, i;
		uint8_t *buf = malloc(n), raw[FIXTURE_MAX_BYTES];
		struct jt808_scan s;
		struct jt808_msg m;
		struct jt808_register reg;
		struct jt808_location loc;
		char code[16];
		unsigned count;
		size_t rawlen;

		memcpy(buf, fx->data, n);
		for (i = lcg(&seed) % 4; i > 0; i--)
			buf[lcg(&seed) % n] = (uint8_t)lcg(&seed);
		if (lcg(&seed) % 2)
			n = 1 + lcg(&seed) % n;
		if (jt808_scan(buf, n, MAX_FRAME, &s) == JT808_SCAN_FRAME &&
		    jt808_unescape(buf + s.start, s.len, raw, &rawlen) == JT808_OK &&
		    jt808_parse(raw, rawlen, &m) == JT808_OK) {
			parsed++;
			ok += jt808_parse_location(m.body, m.body_len, &loc) == JT808_OK;
			ok += jt808_parse_batch_location(m.body, m.body_len, NULL, NULL, &count) ==
			      JT808_OK;
			ok += jt808_parse_register(m.body, m.body_len, m.h.layout, &reg) ==
			      JT808_OK;
			ok += jt808_parse_auth(m.body, m.body_len, m.h.layout == JT808_L2019, code,
					       sizeof(code)) == JT808_OK;
		}
		ok += jt808_parse_register(buf, n, round & 1, &reg) == JT808_OK;
		ok += jt808_parse_auth(buf, n, round & 1, code, sizeof(code)) == JT808_OK;
		ok += jt808_parse_batch_location(buf, n, NULL, NULL, &count) == JT808_OK;
		free(buf);
	}
	/* Some mutations leave a frame intact; most do not. */
	ck_assert_uint_gt(parsed, 0);
	ck_assert_uint_lt(parsed, 4000);
	ck_assert_uint_gt(ok, 0);
}
END_TEST

/*
 * One budget over two reassemblies: a piece that would pass it drops the
 * oldest unfinished message, whichever connection it belongs to, never
 * its own; when its own message alone is too big, it is refused.
 */
START_TEST(test_reasm_budget_drops_oldest)
{
	static uint8_t b[1000];
	struct jt808_reasm_budget budget = {.max = 3 * (1000 + JT808_REASM_PIECE_COST)};
	struct jt808_reasm *r1 = jt808_reasm_new(16, 65536, 60),
			   *r2 = jt808_reasm_new(16, 65536, 60);
	uint8_t *body;
	size_t len;

	jt808_reasm_set_budget(r1, &budget);
	jt808_reasm_set_budget(r2, &budget);
	ck_assert_int_eq(add(r1, piece(4, 1, 10, b, sizeof(b)), 100, &body, &len), JT808_OK);
	ck_assert_int_eq(add(r2, piece(4, 1, 20, b, sizeof(b)), 101, &body, &len), JT808_OK);
	ck_assert_int_eq(add(r2, piece(4, 2, 20, b, sizeof(b)), 101, &body, &len), JT808_OK);
	ck_assert_uint_eq(budget.held, budget.max);
	/* r1's message is the oldest: dropped for r2's third piece */
	ck_assert_int_eq(add(r2, piece(4, 3, 20, b, sizeof(b)), 102, &body, &len), JT808_OK);
	ck_assert_uint_eq(jt808_reasm_pending(r1), 0);
	ck_assert_uint_eq(budget.dropped, 1);
	ck_assert_uint_eq(budget.held, budget.max);
	/* the fourth piece of r2's own message cannot fit: refused, and the message goes */
	ck_assert_int_eq(add(r2, piece(4, 4, 20, b, sizeof(b)), 103, &body, &len),
			 JT808_E_REASM_FULL);
	ck_assert_uint_eq(jt808_reasm_pending(r2), 0);
	ck_assert_uint_eq(budget.held, 0);
	/* a complete message gives its bytes back */
	ck_assert_int_eq(add(r1, piece(2, 1, 30, b, 10), 104, &body, &len), JT808_OK);
	ck_assert_int_eq(add(r1, piece(2, 2, 30, b, 10), 104, &body, &len), JT808_OK);
	ck_assert_ptr_nonnull(body);
	ck_assert_uint_eq(len, 20);
	free(body);
	ck_assert_uint_eq(budget.held, 0);
	jt808_reasm_free(r1);
	jt808_reasm_free(r2);
	ck_assert_ptr_null(budget.oldest);
}
END_TEST

static Suite *jt808_suite(void)
{
	Suite *s = suite_create("jt808");
	TCase *codec = tcase_create("codec"), *bodies = tcase_create("bodies");
	TCase *reasm = tcase_create("reasm"), *fx = tcase_create("fixtures");

	tcase_add_checked_fixture(codec, load_fixtures, NULL);
	tcase_add_checked_fixture(bodies, load_fixtures, NULL);
	tcase_add_checked_fixture(reasm, load_fixtures, NULL);
	tcase_add_checked_fixture(fx, load_fixtures, NULL);

	tcase_add_test(reasm, test_reasm_budget_drops_oldest);
	tcase_add_test(codec, test_strerror_names);
	tcase_add_test(codec, test_unescape);
	tcase_add_test(codec, test_each_error_reachable);
	tcase_add_test(codec, test_scan_junk_then_frame);
	tcase_add_test(codec, test_scan_back_to_back);
	tcase_add_test(codec, test_scan_split_read);
	tcase_add_test(codec, test_scan_empty_frames_skipped);
	tcase_add_test(codec, test_scan_oversize);
	tcase_add_test(codec, test_parse_short_and_length);
	tcase_add_test(codec, test_roundtrip_2013);
	tcase_add_test(codec, test_roundtrip_2019_pieces);
	tcase_add_test(codec, test_encode_escapes_body);
	tcase_add_test(codec, test_encode_escapes_check);
	tcase_add_test(codec, test_encode_limits);
	tcase_add_test(codec, test_2019_bit_on_2013_header);
	tcase_add_test(codec, test_roundtrip_timing);
	tcase_add_test(codec, test_timing_or_2013_by_length);
	tcase_add_test(codec, test_escaped_sums);
	tcase_add_test(bodies, test_timing_bodies);
	tcase_add_test(codec, test_bcd_strings);
	tcase_add_test(codec, test_bcd_time_edges);

	tcase_add_test(bodies, test_location_roundtrip);
	tcase_add_test(bodies, test_location_hostile);
	tcase_add_test(bodies, test_batch_location);
	tcase_add_test(bodies, test_register_roundtrip);
	tcase_add_test(bodies, test_register_layouts);
	tcase_add_test(bodies, test_auth);
	tcase_add_test(bodies, test_auth_code_refused);
	tcase_add_test(bodies, test_acks);

	tcase_add_test(reasm, test_reasm_in_order_from_fixtures);
	tcase_add_test(reasm, test_reasm_out_of_order_and_duplicate);
	tcase_add_test(reasm, test_reasm_bounds);
	tcase_add_test(reasm, test_reasm_bad_pieces);
	tcase_add_test(reasm, test_reasm_expiry);

	tcase_add_test(fx, test_fixtures_all_parse);
	tcase_add_test(fx, test_public_locations);
	tcase_add_test(fx, test_public_batches);
	tcase_add_test(fx, test_public_registers);
	tcase_add_test(fx, test_public_auth_and_answers);
	tcase_add_test(fx, test_encoder_matches_public);
	tcase_add_test(fx, test_own_2019_south_west);
	tcase_add_test(fx, test_public_timing_frames);
	tcase_add_test(fx, test_public_timing_faults);
	tcase_add_test(fx, test_hostile_no_crash);

	suite_add_tcase(s, codec);
	suite_add_tcase(s, bodies);
	suite_add_tcase(s, reasm);
	suite_add_tcase(s, fx);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(jt808_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
