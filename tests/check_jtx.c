/*
 * check_jtx.c - unit tests for the timing-training extension (src/jtx.c).
 *
 * Bodies assembled by hand from the documented layouts live in
 * tests/fixtures/jtx_own.hex; the directory comes from FIXTURES_DIR
 * (default "tests/fixtures").
 */
#include "hoursd.h"
#include "jtx.h"

#include <check.h>
#include <ctype.h>

#define MAX_FIXTURES 16
#define FIXTURE_MAX_BYTES 1024
#define BUF 2048

/* 2024-02-29 23:59:30 and 2024-03-01 00:30:00 Beijing time, as UTC epochs. */
#define T_LEAP_EVENING ((time_t)1709222370)
#define T_MARCH_NIGHT ((time_t)1709224200)

#define TERMINAL "1234567890123456"
#define RECORD_NO TERMINAL "2402290042"
#define STUDENT "3301000000000001"
#define COACH "3301000000000002"

/* ---- fixtures ---- */

#include "hexfix.h"

static void load_fixtures(void)
{
	n_fixtures = 0;
	load_fixture_file("jtx_own.hex");
}

/* ---- sample messages ---- */

static struct jt808_location sample_gnss(time_t t)
{
	struct jt808_location l = {
		.status = JT808_ST_FIX,
		.lat_e6 = 30123456,
		.lon_e6 = 120123456,
		.speed_dkmh = 500,
		.direction = 90,
		.time = t,
		.fix = true,
		.recorder_speed_dkmh = 480,
	};
	return l;
}

static struct jtx_course course(uint8_t mode, const char *vclass, uint8_t part, uint8_t subject)
{
	struct jtx_course c = {.mode = mode, .part = part, .subject = subject};

	snprintf(c.vehicle_class, sizeof(c.vehicle_class), "%s", vclass);
	return c;
}

static struct jtx_coach_login sample_coach_login(void)
{
	struct jtx_coach_login m = {
		.coach_no = COACH, .id_card = "33010219800101123X", .teach_class = "C1"};
	m.gnss = sample_gnss(T_LEAP_EVENING);
	return m;
}

static struct jtx_coach_logout sample_coach_logout(void)
{
	struct jtx_coach_logout m = {.coach_no = COACH};
	m.gnss = sample_gnss(T_MARCH_NIGHT);
	return m;
}

static struct jtx_student_login sample_student_login(void)
{
	struct jtx_student_login m = {
		.student_no = STUDENT, .coach_no = COACH, .class_id = 4000000001u};
	m.course = course(1, "C1", 2, 11);
	m.gnss = sample_gnss(T_LEAP_EVENING);
	return m;
}

static struct jtx_student_logout sample_student_logout(void)
{
	struct jtx_student_logout m = {.student_no = STUDENT,
				       .logout_time = T_MARCH_NIGHT,
				       .minutes = 95,
				       .mileage_dkm = 321,
				       .class_id = 77};
	m.gnss = sample_gnss(T_MARCH_NIGHT);
	return m;
}

static struct jtx_record sample_record(void)
{
	struct jtx_record m = {.record_no = RECORD_NO,
			       .upload_type = 1,
			       .student_no = STUDENT,
			       .coach_no = COACH,
			       .class_id = 12345678,
			       .record_time = T_LEAP_EVENING,
			       .status = 0,
			       .max_speed_dkmh = 500,
			       .mileage_dkm = 10};
	m.course = course(1, "C1", 2, 11);
	m.gnss = sample_gnss(T_LEAP_EVENING);
	return m;
}

static struct jtx_photo_init sample_photo_init(void)
{
	struct jtx_photo_init m = {.photo_no = "0000000123",
				   .person_no = STUDENT,
				   .upload_mode = 1,
				   .channel = 0,
				   .size_code = 1,
				   .event = 17,
				   .total_packets = 3,
				   .photo_size = 8000,
				   .class_id = 12345678,
				   .face_confidence = 80};
	m.gnss = sample_gnss(T_MARCH_NIGHT);
	m.gnss.lat_e6 = -m.gnss.lat_e6;
	m.gnss.status |= JT808_ST_SOUTH; /* as the parser will report it */
	return m;
}

static struct jtx_answer sample_answer(void)
{
	struct jtx_answer a = {.result = JTX_R_OK,
			       .person_no = STUDENT,
			       .total_minutes = 2400,
			       .part_minutes = 480,
			       .total_mileage = 3000,
			       .part_mileage = 100};
	return a;
}

static const uint8_t photo_bytes[] = {0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x7e, 0x7d, 0xff, 0xd9};

/* ---- comparisons ---- */

static void assert_loc_eq(const struct jt808_location *a, const struct jt808_location *b)
{
	ck_assert_uint_eq(a->alarm, b->alarm);
	ck_assert_uint_eq(a->status, b->status);
	ck_assert_int_eq(a->lat_e6, b->lat_e6);
	ck_assert_int_eq(a->lon_e6, b->lon_e6);
	ck_assert_uint_eq(a->altitude_m, b->altitude_m);
	ck_assert_uint_eq(a->speed_dkmh, b->speed_dkmh);
	ck_assert_uint_eq(a->direction, b->direction);
	ck_assert_int_eq(a->time, b->time);
	ck_assert(a->fix == b->fix);
	ck_assert_uint_eq(a->recorder_speed_dkmh, b->recorder_speed_dkmh);
	ck_assert_uint_eq(a->extras, b->extras);
	ck_assert_uint_eq(a->mileage_dkm, b->mileage_dkm);
	ck_assert_uint_eq(a->fuel_dl, b->fuel_dl);
	ck_assert_uint_eq(a->engine_rpm, b->engine_rpm);
}

static void assert_course_eq(const struct jtx_course *got, const struct jtx_course *want)
{
	ck_assert_uint_eq(got->mode, want->mode);
	ck_assert_uint_eq(got->part, want->part);
	ck_assert_uint_eq(got->subject, want->subject);
	ck_assert_str_eq(got->vehicle_class, want->vehicle_class);
}

/* ---- one table of the messages, for the loops ---- */

typedef size_t (*build_fn)(uint8_t *out, size_t cap);
typedef enum jtx_err (*parse_fn)(const uint8_t *d, size_t n);

static size_t b_coach_login(uint8_t *o, size_t cap)
{
	struct jtx_coach_login m = sample_coach_login();
	return jtx_build_coach_login(&m, o, cap);
}
static enum jtx_err p_coach_login(const uint8_t *d, size_t n)
{
	struct jtx_coach_login m;
	return jtx_parse_coach_login(d, n, &m);
}
static size_t b_coach_logout(uint8_t *o, size_t cap)
{
	struct jtx_coach_logout m = sample_coach_logout();
	return jtx_build_coach_logout(&m, o, cap);
}
static enum jtx_err p_coach_logout(const uint8_t *d, size_t n)
{
	struct jtx_coach_logout m;
	return jtx_parse_coach_logout(d, n, &m);
}
static size_t b_student_login(uint8_t *o, size_t cap)
{
	struct jtx_student_login m = sample_student_login();
	return jtx_build_student_login(&m, o, cap);
}
static enum jtx_err p_student_login(const uint8_t *d, size_t n)
{
	struct jtx_student_login m;
	return jtx_parse_student_login(d, n, &m);
}
static size_t b_student_logout(uint8_t *o, size_t cap)
{
	struct jtx_student_logout m = sample_student_logout();
	return jtx_build_student_logout(&m, o, cap);
}
static enum jtx_err p_student_logout(const uint8_t *d, size_t n)
{
	struct jtx_student_logout m;
	return jtx_parse_student_logout(d, n, &m);
}
static size_t b_record(uint8_t *o, size_t cap)
{
	struct jtx_record m = sample_record();
	return jtx_build_record(&m, o, cap);
}
static enum jtx_err p_record(const uint8_t *d, size_t n)
{
	struct jtx_record m;
	return jtx_parse_record(d, n, &m);
}
static size_t b_photo_init(uint8_t *o, size_t cap)
{
	struct jtx_photo_init m = sample_photo_init();
	return jtx_build_photo_init(&m, o, cap);
}
static enum jtx_err p_photo_init(const uint8_t *d, size_t n)
{
	struct jtx_photo_init m;
	return jtx_parse_photo_init(d, n, &m);
}
static size_t b_photo_data(uint8_t *o, size_t cap)
{
	return jtx_build_photo_data("0000000123", photo_bytes, sizeof(photo_bytes), o, cap);
}
static enum jtx_err p_photo_data(const uint8_t *d, size_t n)
{
	struct jtx_photo_data m;
	return jtx_parse_photo_data(d, n, &m);
}

#define ANSWER_FNS(name, id)                                                                       \
	static size_t b_##name(uint8_t *o, size_t cap)                                             \
	{                                                                                          \
		struct jtx_answer a = sample_answer();                                             \
		return jtx_build_answer(id, &a, o, cap);                                           \
	}                                                                                          \
	static enum jtx_err p_##name(const uint8_t *d, size_t n)                                   \
	{                                                                                          \
		struct jtx_answer a;                                                               \
		return jtx_parse_answer(id, d, n, &a);                                             \
	}
ANSWER_FNS(a8101, JTX_COACH_LOGIN_ACK)
ANSWER_FNS(a8102, JTX_COACH_LOGOUT_ACK)
ANSWER_FNS(a8201, JTX_STUDENT_LOGIN_ACK)
ANSWER_FNS(a8202, JTX_STUDENT_LOGOUT_ACK)
ANSWER_FNS(a8305, JTX_PHOTO_INIT_ACK)

static const struct msg_case {
	const char *name;
	uint16_t id;
	build_fn build;
	parse_fn parse;
	size_t fixed; /* bytes of fixed fields: anything shorter is JTX_E_SHORT */
	bool tail_ok; /* bytes after them are ignored (GNSS extra items, photo bytes) */
} cases[] = {
	{"coach_login", JTX_COACH_LOGIN, b_coach_login, p_coach_login, 64, true},
	{"coach_logout", JTX_COACH_LOGOUT, b_coach_logout, p_coach_logout, 44, true},
	{"student_login", JTX_STUDENT_LOGIN, b_student_login, p_student_login, 69, true},
	{"student_logout", JTX_STUDENT_LOGOUT, b_student_logout, p_student_logout, 58, true},
	{"record", JTX_RECORD, b_record, p_record, 104, true},
	{"photo_init", JTX_PHOTO_INIT, b_photo_init, p_photo_init, 69, false},
	{"photo_data", JTX_PHOTO_DATA, b_photo_data, p_photo_data, 10, true},
	{"8101", JTX_COACH_LOGIN_ACK, b_a8101, p_a8101, 19, false},
	{"8102", JTX_COACH_LOGOUT_ACK, b_a8102, p_a8102, 17, false},
	{"8201", JTX_STUDENT_LOGIN_ACK, b_a8201, p_a8201, 27, false},
	{"8202", JTX_STUDENT_LOGOUT_ACK, b_a8202, p_a8202, 17, false},
	{"8305", JTX_PHOTO_INIT_ACK, b_a8305, p_a8305, 1, false},
};

/* Parse from an exact-size heap copy, so that ASan sees any read past n. */
static enum jtx_err parse_exact(parse_fn p, const uint8_t *d, size_t n)
{
	uint8_t *copy = malloc(n ? n : 1);
	enum jtx_err e;

	ck_assert_ptr_nonnull(copy);
	if (n)
		memcpy(copy, d, n);
	e = p(copy, n);
	free(copy);
	return e;
}

static enum jtx_err parse_header_exact(const uint8_t *d, size_t n, struct jtx_header *h)
{
	uint8_t *copy = malloc(n ? n : 1);
	enum jtx_err e;

	ck_assert_ptr_nonnull(copy);
	if (n)
		memcpy(copy, d, n);
	e = jtx_parse(copy, n, h);
	free(copy);
	return e;
}

static struct jtx_header header(uint16_t id, uint16_t props, uint16_t serial)
{
	struct jtx_header h = {
		.msg_id = id, .props = props, .serial = serial, .terminal_no = TERMINAL};
	return h;
}

/* ---- error names ---- */

START_TEST(test_strerror_names)
{
	for (int i = 0; i < JTX_E__COUNT; i++) {
		ck_assert_str_ne(jtx_strerror((enum jtx_err)i), "unknown");
		for (int j = 0; j < i; j++)
			ck_assert_str_ne(jtx_strerror((enum jtx_err)i),
					 jtx_strerror((enum jtx_err)j));
	}
	ck_assert_str_eq(jtx_strerror(JTX_E__COUNT), "unknown");
	ck_assert_str_eq(jtx_strerror((enum jtx_err) - 1), "unknown");
}
END_TEST

/* ---- the extension header ---- */

START_TEST(test_header_roundtrip_signed)
{
	uint8_t data[40], sig[256], body[BUF];
	struct jtx_header h = header(JTX_RECORD, JTX_PROP_ANSWER | JTX_PROP_SIGNED, 0xbeef), got;
	size_t n;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	memset(sig, 0x5a, sizeof(sig));
	n = jtx_build(&h, data, sizeof(data), sig, sizeof(sig), body, sizeof(body));
	ck_assert_uint_eq(n, 27 + sizeof(data) + sizeof(sig));
	ck_assert_uint_eq(body[0], JTX_TRANSPARENT_TYPE);
	ck_assert_uint_eq(jt808_get32(body + 23), sizeof(data));
	ck_assert_int_eq(jtx_parse(body, n, &got), JTX_OK);
	ck_assert_uint_eq(got.msg_id, JTX_RECORD);
	ck_assert_uint_eq(got.props, JTX_PROP_ANSWER | JTX_PROP_SIGNED);
	ck_assert_uint_eq(got.serial, 0xbeef);
	ck_assert_str_eq(got.terminal_no, TERMINAL);
	ck_assert_uint_eq(got.data_len, sizeof(data));
	ck_assert_ptr_eq(got.data, body + 27);
	ck_assert_mem_eq(got.data, data, sizeof(data));
	ck_assert_uint_eq(got.sig_len, sizeof(sig));
	ck_assert_ptr_eq(got.sig, body + 27 + sizeof(data));
	ck_assert_mem_eq(got.sig, sig, sizeof(sig));
	/* The signature covers the extended message ID through the end of the data. */
	ck_assert_ptr_eq(got.signed_bytes, body + 1);
	ck_assert_uint_eq(got.signed_len, 26 + sizeof(data));
}
END_TEST

START_TEST(test_header_roundtrip_unsigned_empty)
{
	uint8_t body[64];
	struct jtx_header h = header(JTX_COACH_LOGOUT_ACK, 0, 1), got;
	size_t n = jtx_build(&h, NULL, 0, NULL, 0, body, sizeof(body));

	ck_assert_uint_eq(n, 27);
	ck_assert_int_eq(jtx_parse(body, n, &got), JTX_OK);
	ck_assert_uint_eq(got.data_len, 0);
	ck_assert_uint_eq(got.sig_len, 0);
	ck_assert_uint_eq(got.signed_len, 26);
	ck_assert_str_eq(got.terminal_no, TERMINAL);
}
END_TEST

/*
 * A terminal builds with no signature, signs the span, builds again: the
 * span must hold the same bytes both times and be what jtx_parse reports.
 */
START_TEST(test_signed_span_is_what_parse_reports)
{
	static const size_t lens[] = {0, 1, 28, 104, 700, 1500};
	uint8_t data[1500], sig[256], pass1[BUF], pass2[BUF];
	struct jtx_header h = header(JTX_RECORD, JTX_PROP_SIGNED, 42), got;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i ^ 0x5c);
	memset(sig, 0xc3, sizeof(sig));
	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		size_t off, len, n1, n2;

		jtx_signed_span(lens[i], &off, &len);
		n1 = jtx_build(&h, data, lens[i], NULL, 0, pass1, sizeof(pass1));
		n2 = jtx_build(&h, data, lens[i], sig, sizeof(sig), pass2, sizeof(pass2));
		ck_assert_uint_eq(n1 + sizeof(sig), n2);
		ck_assert_uint_eq(off + len, n1);
		ck_assert_mem_eq(pass1 + off, pass2 + off, len);
		ck_assert_int_eq(jtx_parse(pass2, n2, &got), JTX_OK);
		ck_assert_ptr_eq(got.signed_bytes, pass2 + off);
		ck_assert_uint_eq(got.signed_len, len);
		/* Built without its signature, a signed message does not parse. */
		ck_assert_int_eq(jtx_parse(pass1, n1, &got), JTX_E_SHORT);
	}
}
END_TEST

START_TEST(test_header_errors)
{
	uint8_t data[10] = {0}, sig[JTX_MAX_SIG + 1], body[BUF];
	struct jtx_header h = header(JTX_RECORD, 0, 1), got;
	size_t n = jtx_build(&h, data, sizeof(data), NULL, 0, body, sizeof(body));

	memset(sig, 1, sizeof(sig));
	ck_assert_uint_eq(n, 37);
	ck_assert_int_eq(parse_header_exact(body, 0, &got), JTX_E_SHORT);
	for (size_t len = 1; len < 27; len++)
		ck_assert_int_eq(parse_header_exact(body, len, &got), JTX_E_SHORT);
	/* The declared data length runs past the body, by one byte and by a lot. */
	for (size_t len = 27; len < n; len++)
		ck_assert_int_eq(parse_header_exact(body, len, &got), JTX_E_LENGTH);
	jt808_put32(body + 23, 0xffffffffu);
	ck_assert_int_eq(parse_header_exact(body, n, &got), JTX_E_LENGTH);
	ck_assert_uint_eq(got.msg_id, JTX_RECORD); /* what was read stays, for the log */
	jt808_put32(body + 23, sizeof(data));
	/* Another transparent type. */
	body[0] = 0x41;
	ck_assert_int_eq(parse_header_exact(body, n, &got), JTX_E_TYPE);
	body[0] = JTX_TRANSPARENT_TYPE;
	/* Unsigned, with bytes after the data. */
	ck_assert_int_eq(parse_header_exact(body, n - 1, &got), JTX_E_LENGTH);
	jt808_put32(body + 23, sizeof(data) - 1);
	ck_assert_int_eq(parse_header_exact(body, n, &got), JTX_E_LENGTH);
	/* Signed, with a check string longer than any key gives. */
	h.props = JTX_PROP_SIGNED;
	n = jtx_build(&h, data, sizeof(data), sig, JTX_MAX_SIG, body, sizeof(body));
	ck_assert_uint_gt(n, 0);
	ck_assert_int_eq(parse_header_exact(body, n, &got), JTX_OK);
	body[n] = 0;
	ck_assert_int_eq(parse_header_exact(body, n + 1, &got), JTX_E_LENGTH);
}
END_TEST

START_TEST(test_header_signature_bits)
{
	static const uint16_t signed_props[] = {0x0010, 0x0020, 0x0022, 0x0008, 0x000a, 0x00f3};
	static const uint16_t unsigned_props[] = {0x0000, 0x0001, 0x0002, 0x0003, 0x0100, 0x8004};
	uint8_t data[4] = {1, 2, 3, 4}, sig[8] = {9, 9, 9, 9, 9, 9, 9, 9}, body[64];
	struct jtx_header got;

	for (size_t i = 0; i < ARRAY_SIZE(signed_props); i++) {
		struct jtx_header h = header(JTX_RECORD, signed_props[i], 3);
		size_t n = jtx_build(&h, data, sizeof(data), sig, sizeof(sig), body, sizeof(body));

		ck_assert_uint_eq(n, 27 + sizeof(data) + sizeof(sig));
		ck_assert_int_eq(jtx_parse(body, n, &got), JTX_OK);
		ck_assert_uint_eq(got.sig_len, sizeof(sig));
	}
	for (size_t i = 0; i < ARRAY_SIZE(unsigned_props); i++) {
		struct jtx_header h = header(JTX_RECORD, unsigned_props[i], 3);

		/* The builder refuses a signature the properties do not announce. */
		ck_assert_uint_eq(
			jtx_build(&h, data, sizeof(data), sig, sizeof(sig), body, sizeof(body)), 0);
		ck_assert_uint_eq(jtx_build(&h, data, sizeof(data), NULL, 0, body, sizeof(body)),
				  27 + sizeof(data));
		ck_assert_int_eq(jtx_parse(body, 27 + sizeof(data), &got), JTX_OK);
		ck_assert_uint_eq(got.sig_len, 0);
	}
}
END_TEST

START_TEST(test_header_build_limits)
{
	uint8_t data[16] = {0}, sig[JTX_MAX_SIG + 1] = {0}, body[BUF];
	struct jtx_header h = header(JTX_RECORD, JTX_PROP_SIGNED, 1);
	size_t full = jtx_build(&h, data, sizeof(data), sig, 4, body, sizeof(body));

	ck_assert_uint_eq(full, 27 + 16 + 4);
	for (size_t cap = 0; cap < full; cap++)
		ck_assert_uint_eq(jtx_build(&h, data, sizeof(data), sig, 4, body, cap), 0);
	ck_assert_uint_eq(
		jtx_build(&h, data, sizeof(data), sig, JTX_MAX_SIG + 1, body, sizeof(body)), 0);
	snprintf(h.terminal_no, sizeof(h.terminal_no), "12345678\x1b[2J");
	ck_assert_uint_eq(jtx_build(&h, data, sizeof(data), sig, 4, body, sizeof(body)), 0);
	snprintf(h.terminal_no, sizeof(h.terminal_no), "1234 ");
	ck_assert_uint_eq(jtx_build(&h, data, sizeof(data), sig, 4, body, sizeof(body)), 0);
}
END_TEST

START_TEST(test_header_hostile_terminal_no)
{
	static const uint8_t bad[] = {0x00, 0x01, 0x0a, 0x0d, 0x1b, 0x7f, 0x80, 0xc4, 0xff};
	uint8_t body[64];
	struct jtx_header h = header(JTX_RECORD, 0, 1), got;
	size_t n = jtx_build(&h, NULL, 0, NULL, 0, body, sizeof(body));

	ck_assert_uint_eq(n, 27);
	/* From the second character: a NUL in front is padding (see test_text_padding). */
	for (size_t pos = 1; pos < 15; pos++) {
		for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
			uint8_t copy[64];

			memcpy(copy, body, n);
			copy[7 + pos] = bad[i];
			/* A NUL inside the number is not padding. */
			ck_assert_int_eq(jtx_parse(copy, n, &got), JTX_E_TEXT);
		}
	}
	/* Padding at the end is stripped. */
	body[7 + 14] = ' ';
	body[7 + 15] = '\0';
	ck_assert_int_eq(jtx_parse(body, n, &got), JTX_OK);
	ck_assert_str_eq(got.terminal_no, "12345678901234");
}
END_TEST

/* ---- every message: round trips, truncation, trailing bytes ---- */

START_TEST(test_each_message_through_header)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct msg_case *c = &cases[i];
		uint8_t data[BUF], body[BUF], sig[256];
		struct jtx_header h = header(c->id, JTX_PROP_ANSWER | JTX_PROP_SIGNED, (uint16_t)i),
				  got;
		size_t n = c->build(data, sizeof(data)), bn;

		ck_assert_msg(n >= c->fixed, "%s: built %zu", c->name, n);
		memset(sig, (int)i, sizeof(sig));
		bn = jtx_build(&h, data, n, sig, sizeof(sig), body, sizeof(body));
		ck_assert_uint_eq(bn, 27 + n + sizeof(sig));
		ck_assert_int_eq(jtx_parse(body, bn, &got), JTX_OK);
		ck_assert_uint_eq(got.msg_id, c->id);
		ck_assert_uint_eq(got.data_len, n);
		ck_assert_msg(c->parse(got.data, got.data_len) == JTX_OK, "%s", c->name);
	}
}
END_TEST

START_TEST(test_truncated_at_every_length)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct msg_case *c = &cases[i];
		uint8_t data[BUF];
		size_t n = c->build(data, sizeof(data));

		ck_assert_int_eq(parse_exact(c->parse, data, n), JTX_OK);
		for (size_t len = 0; len < n; len++) {
			enum jtx_err want = len < c->fixed ? JTX_E_SHORT : JTX_OK;

			ck_assert_msg(parse_exact(c->parse, data, len) == want,
				      "%s: %zu of %zu bytes", c->name, len, n);
		}
		for (size_t cap = 0; cap < n; cap++)
			ck_assert_msg(c->build(data, cap) == 0, "%s: cap %zu", c->name, cap);
	}
}
END_TEST

START_TEST(test_trailing_bytes)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct msg_case *c = &cases[i];
		uint8_t data[BUF];
		size_t n = c->build(data, sizeof(data));

		memset(data + n, 0x01, 10);
		ck_assert_msg(parse_exact(c->parse, data, n + 10) ==
				      (c->tail_ok ? JTX_OK : JTX_E_LENGTH),
			      "%s", c->name);
	}
}
END_TEST

START_TEST(test_coach_roundtrip)
{
	struct jtx_coach_login in = sample_coach_login(), out;
	struct jtx_coach_logout lin = sample_coach_logout(), lout;
	uint8_t d[BUF];
	size_t n = jtx_build_coach_login(&in, d, sizeof(d));

	ck_assert_uint_eq(n, 64);
	ck_assert_mem_eq(d + 16, "33010219800101123X", 18);
	ck_assert_mem_eq(d + 34, "C1", 2);
	ck_assert_int_eq(jtx_parse_coach_login(d, n, &out), JTX_OK);
	ck_assert_str_eq(out.coach_no, COACH);
	ck_assert_str_eq(out.id_card, "33010219800101123X");
	ck_assert_str_eq(out.teach_class, "C1");
	assert_loc_eq(&out.gnss, &in.gnss);

	n = jtx_build_coach_logout(&lin, d, sizeof(d));
	ck_assert_uint_eq(n, 44);
	ck_assert_int_eq(jtx_parse_coach_logout(d, n, &lout), JTX_OK);
	ck_assert_str_eq(lout.coach_no, COACH);
	assert_loc_eq(&lout.gnss, &lin.gnss);
}
END_TEST

START_TEST(test_student_roundtrip)
{
	struct jtx_student_login in = sample_student_login(), out;
	struct jtx_student_logout lin = sample_student_logout(), lout;
	uint8_t d[BUF];
	size_t n = jtx_build_student_login(&in, d, sizeof(d));

	ck_assert_uint_eq(n, 69);
	ck_assert_uint_eq(jt808_get32(d + 37), 4000000001u);
	ck_assert_int_eq(jtx_parse_student_login(d, n, &out), JTX_OK);
	ck_assert_str_eq(out.student_no, STUDENT);
	ck_assert_str_eq(out.coach_no, COACH);
	assert_course_eq(&out.course, &in.course);
	ck_assert_str_eq(out.course.digits, "1212110000");
	ck_assert_uint_eq(out.class_id, 4000000001u);
	assert_loc_eq(&out.gnss, &in.gnss);

	n = jtx_build_student_logout(&lin, d, sizeof(d));
	ck_assert_uint_eq(n, 58);
	/* Logout time BCD[6] at 16, Beijing time. */
	ck_assert_mem_eq(d + 16, "\x24\x03\x01\x00\x30\x00", 6);
	ck_assert_int_eq(jtx_parse_student_logout(d, n, &lout), JTX_OK);
	ck_assert_str_eq(lout.student_no, STUDENT);
	ck_assert_int_eq(lout.logout_time, T_MARCH_NIGHT);
	ck_assert_uint_eq(lout.minutes, 95);
	ck_assert_uint_eq(lout.mileage_dkm, 321);
	ck_assert_uint_eq(lout.class_id, 77);
	assert_loc_eq(&lout.gnss, &lin.gnss);
}
END_TEST

START_TEST(test_record_roundtrip)
{
	struct jtx_record in = sample_record(), out;
	uint8_t d[BUF];
	size_t n = jtx_build_record(&in, d, sizeof(d));

	ck_assert_uint_eq(n, 104);
	ck_assert_mem_eq(d + 63, "\x23\x59\x30", 3); /* hhmmss only */
	ck_assert_int_eq(jtx_parse_record(d, n, &out), JTX_OK);
	ck_assert_str_eq(out.record_no, RECORD_NO);
	ck_assert_uint_eq(out.upload_type, 1);
	ck_assert_str_eq(out.student_no, STUDENT);
	ck_assert_str_eq(out.coach_no, COACH);
	ck_assert_uint_eq(out.class_id, 12345678);
	ck_assert_int_eq(out.record_time, T_LEAP_EVENING);
	assert_course_eq(&out.course, &in.course);
	ck_assert_uint_eq(out.status, 0);
	ck_assert_uint_eq(out.max_speed_dkmh, 500);
	ck_assert_uint_eq(out.mileage_dkm, 10);
	assert_loc_eq(&out.gnss, &in.gnss);
}
END_TEST

START_TEST(test_photo_roundtrip)
{
	struct jtx_photo_init in = sample_photo_init(), out;
	struct jtx_photo_data pd;
	uint8_t d[BUF];
	size_t n = jtx_build_photo_init(&in, d, sizeof(d));

	ck_assert_uint_eq(n, 69);
	ck_assert_int_eq(jtx_parse_photo_init(d, n, &out), JTX_OK);
	ck_assert_str_eq(out.photo_no, "0000000123");
	ck_assert_str_eq(out.person_no, STUDENT);
	ck_assert_uint_eq(out.upload_mode, 1);
	ck_assert_uint_eq(out.channel, 0);
	ck_assert_uint_eq(out.size_code, 1);
	ck_assert_uint_eq(out.event, 17);
	ck_assert_uint_eq(out.total_packets, 3);
	ck_assert_uint_eq(out.photo_size, 8000);
	ck_assert_uint_eq(out.class_id, 12345678);
	ck_assert_uint_eq(out.face_confidence, 80);
	assert_loc_eq(&out.gnss, &in.gnss);
	ck_assert_int_lt(out.gnss.lat_e6, 0);

	n = jtx_build_photo_data("0000000123", photo_bytes, sizeof(photo_bytes), d, sizeof(d));
	ck_assert_uint_eq(n, 10 + sizeof(photo_bytes));
	ck_assert_int_eq(jtx_parse_photo_data(d, n, &pd), JTX_OK);
	ck_assert_str_eq(pd.photo_no, "0000000123");
	ck_assert_ptr_eq(pd.bytes, d + 10);
	ck_assert_uint_eq(pd.len, sizeof(photo_bytes));
	ck_assert_mem_eq(pd.bytes, photo_bytes, sizeof(photo_bytes));
	/* A piece may carry no bytes; a photo number that does not fit is refused. */
	n = jtx_build_photo_data("7", NULL, 0, d, sizeof(d));
	ck_assert_uint_eq(n, 10);
	ck_assert_int_eq(jtx_parse_photo_data(d, n, &pd), JTX_OK);
	ck_assert_str_eq(pd.photo_no, "7");
	ck_assert_uint_eq(pd.len, 0);
	ck_assert_uint_eq(jtx_build_photo_data("12345678901", NULL, 0, d, sizeof(d)), 0);
}
END_TEST

START_TEST(test_answers_roundtrip)
{
	static const uint16_t ids[] = {JTX_COACH_LOGIN_ACK, JTX_COACH_LOGOUT_ACK,
				       JTX_STUDENT_LOGIN_ACK, JTX_STUDENT_LOGOUT_ACK,
				       JTX_PHOTO_INIT_ACK};
	static const size_t lens[] = {19, 17, 27, 17, 1};
	struct jtx_answer in = sample_answer(), out;
	uint8_t d[BUF];

	for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
		size_t n = jtx_build_answer(ids[i], &in, d, sizeof(d));

		ck_assert_uint_eq(n, lens[i]);
		ck_assert_uint_eq(d[0], JTX_R_OK);
		ck_assert_int_eq(jtx_parse_answer(ids[i], d, n, &out), JTX_OK);
		ck_assert_uint_eq(out.result, JTX_R_OK);
		/* 0x8305 is the result alone. */
		ck_assert_str_eq(out.person_no, ids[i] == JTX_PHOTO_INIT_ACK ? "" : STUDENT);
		if (ids[i] == JTX_STUDENT_LOGIN_ACK) {
			ck_assert_uint_eq(out.total_minutes, 2400);
			ck_assert_uint_eq(out.part_minutes, 480);
			ck_assert_uint_eq(out.total_mileage, 3000);
			ck_assert_uint_eq(out.part_mileage, 100);
			ck_assert_mem_eq(d + 25, "\0\0", 2); /* no extra message */
		} else {
			ck_assert_uint_eq(out.total_minutes, 0);
		}
	}
	/* No layout for another ID. */
	ck_assert_uint_eq(jtx_build_answer(JTX_RECORD, &in, d, sizeof(d)), 0);
	ck_assert_int_eq(jtx_parse_answer(JTX_RECORD, d, 17, &out), JTX_E_TYPE);
	ck_assert_int_eq(jtx_parse_answer(0x8203, d, 17, &out), JTX_E_TYPE);
}
END_TEST

START_TEST(test_answer_extra_message)
{
	struct jtx_answer a = sample_answer(), out;
	uint8_t d[BUF];
	size_t n = jtx_build_answer(JTX_COACH_LOGIN_ACK, &a, d, sizeof(d));

	ck_assert_uint_eq(n, 19);
	/* "Read aloud", 4 bytes of GBK text: skipped, the answer parses. */
	d[17] = 1;
	d[18] = 4;
	memcpy(d + 19, "\xc4\xe3\xba\xc3", 4);
	ck_assert_int_eq(parse_exact(p_a8101, d, 23), JTX_OK);
	ck_assert_int_eq(jtx_parse_answer(JTX_COACH_LOGIN_ACK, d, 23, &out), JTX_OK);
	ck_assert_str_eq(out.person_no, STUDENT);
	/* Declared longer than what came. */
	for (size_t len = 19; len < 23; len++)
		ck_assert_int_eq(parse_exact(p_a8101, d, len), JTX_E_SHORT);
	d[18] = 255;
	ck_assert_int_eq(parse_exact(p_a8101, d, 23), JTX_E_SHORT);
}
END_TEST

/* ---- text fields ---- */

START_TEST(test_hostile_text_rejected)
{
	/* Offsets of every character of the record's text fields. */
	static const struct {
		size_t at, len;
	} spans[] = {{0, 26}, {27, 16}, {43, 16}};
	static const uint8_t bad[] = {0x01, 0x07, 0x09, 0x0a, 0x0d, 0x1b, 0x7f, 0x80, 0xa1, 0xff};
	uint8_t d[BUF];
	size_t n = b_record(d, sizeof(d));

	ck_assert_uint_eq(n, 104);
	for (size_t s = 0; s < ARRAY_SIZE(spans); s++) {
		for (size_t k = 0; k < spans[s].len; k++) {
			for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
				uint8_t copy[BUF];

				memcpy(copy, d, n);
				copy[spans[s].at + k] = bad[i];
				ck_assert_msg(parse_exact(p_record, copy, n) == JTX_E_TEXT,
					      "byte 0x%02x at %zu", bad[i], spans[s].at + k);
			}
		}
	}
}
END_TEST

START_TEST(test_text_padding)
{
	struct jtx_coach_login m = sample_coach_login(), out;
	uint8_t d[BUF];
	size_t n = jtx_build_coach_login(&m, d, sizeof(d));

	/* NUL padding on the right is what the builder writes. */
	snprintf(m.teach_class, sizeof(m.teach_class), "D");
	snprintf(m.id_card, sizeof(m.id_card), "330102800101123");
	n = jtx_build_coach_login(&m, d, sizeof(d));
	ck_assert_mem_eq(d + 16, "330102800101123\0\0\0", 18);
	ck_assert_mem_eq(d + 34, "D\0", 2);
	ck_assert_int_eq(jtx_parse_coach_login(d, n, &out), JTX_OK);
	ck_assert_str_eq(out.id_card, "330102800101123");
	ck_assert_str_eq(out.teach_class, "D");
	/* Space padding on the right, NUL padding in front (old 15-digit ID cards). */
	memcpy(d + 16,
	       "\0\0\0"
	       "330102800101123",
	       18);
	memcpy(d + 34, "D ", 2);
	memcpy(d, "3301000000000002", 16);
	ck_assert_int_eq(jtx_parse_coach_login(d, n, &out), JTX_OK);
	ck_assert_str_eq(out.id_card, "330102800101123");
	ck_assert_str_eq(out.teach_class, "D");
	memcpy(d, "33010000000    \0", 16);
	ck_assert_int_eq(jtx_parse_coach_login(d, n, &out), JTX_OK);
	ck_assert_str_eq(out.coach_no, "33010000000");
	/* A NUL inside the text, and a NUL then text, are not padding. */
	memcpy(d,
	       "33010"
	       "\0"
	       "0000000002",
	       16);
	ck_assert_int_eq(jtx_parse_coach_login(d, n, &out), JTX_E_TEXT);
	memcpy(d, "3301000000000002", 16);
	memcpy(d + 34, "\0D", 2);
	ck_assert_int_eq(jtx_parse_coach_login(d, n, &out), JTX_OK);
	ck_assert_str_eq(out.teach_class, "D");
	memcpy(d + 34, "D\0", 2);
	memcpy(d + 16,
	       "33010\0"
	       "2800101123\0\0",
	       18);
	ck_assert_int_eq(jtx_parse_coach_login(d, n, &out), JTX_E_TEXT);
	/* All padding is an empty field: the caller decides. */
	memcpy(d + 16, "330102800101123\0\0\0", 18);
	memset(d, 0, 16);
	ck_assert_int_eq(jtx_parse_coach_login(d, n, &out), JTX_OK);
	ck_assert_str_eq(out.coach_no, "");
}
END_TEST

START_TEST(test_builders_refuse_bad_text)
{
	struct jtx_coach_login m = sample_coach_login();
	struct jtx_record r = sample_record();
	uint8_t d[BUF];

	snprintf(m.coach_no, sizeof(m.coach_no), "3301\n0000");
	ck_assert_uint_eq(jtx_build_coach_login(&m, d, sizeof(d)), 0);
	snprintf(m.coach_no, sizeof(m.coach_no), "33010000 ");
	ck_assert_uint_eq(jtx_build_coach_login(&m, d, sizeof(d)), 0);
	snprintf(m.coach_no, sizeof(m.coach_no), "\xb2\xe2");
	ck_assert_uint_eq(jtx_build_coach_login(&m, d, sizeof(d)), 0);
	/* A member with no NUL in it. */
	m = sample_coach_login();
	memset(m.teach_class, 'C', sizeof(m.teach_class));
	ck_assert_uint_eq(jtx_build_coach_login(&m, d, sizeof(d)), 0);
	memset(r.record_no, '1', sizeof(r.record_no));
	ck_assert_uint_eq(jtx_build_record(&r, d, sizeof(d)), 0);
}
END_TEST

/* ---- course code ---- */

START_TEST(test_course_decode_classes)
{
	static const struct {
		uint8_t bcd[5];
		uint8_t mode, part, subject;
		const char *vclass;
	} ok[] = {
		{{0x12, 0x12, 0x11, 0x00, 0x00}, 1, 2, 11, "C1"},
		{{0x11, 0x23, 0x03, 0x00, 0x00}, 1, 3, 3, "B2"},
		{{0x10, 0x12, 0x01, 0x00, 0x00}, 1, 2, 1, "A1"},
		{{0x13, 0x13, 0x07, 0x00, 0x00}, 1, 3, 7, "D"},
		{{0x14, 0x12, 0x05, 0x00, 0x00}, 1, 2, 5, "M"},
		{{0x12, 0x64, 0x48, 0x00, 0x00}, 1, 4, 48, "C6"},
		{{0x20, 0x01, 0x03, 0x00, 0x00}, 2, 1, 3, ""}, /* theory, no class */
		{{0x22, 0x24, 0x48, 0x00, 0x00}, 2, 4, 48, "C2"},
		{{0x31, 0x22, 0x99, 0x00, 0x00}, 3, 2, 99, "B2"},
		{{0x44, 0x31, 0x00, 0x12, 0x34}, 4, 1, 0, "P"}, /* reserved digits kept */
	};
	struct jtx_course c, back;
	uint8_t bcd[5];

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		ck_assert_int_eq(jtx_course_decode(ok[i].bcd, &c), JTX_OK);
		ck_assert_uint_eq(c.mode, ok[i].mode);
		ck_assert_uint_eq(c.part, ok[i].part);
		ck_assert_uint_eq(c.subject, ok[i].subject);
		ck_assert_str_eq(c.vehicle_class, ok[i].vclass);
		ck_assert_uint_eq(strlen(c.digits), JTX_COURSE_DIGITS);
		ck_assert(jtx_course_encode(&c, bcd));
		ck_assert_int_eq(jtx_course_decode(bcd, &back), JTX_OK);
		assert_course_eq(&back, &c);
		ck_assert_mem_eq(bcd + 3, "\0\0", 2); /* reserved digits are written as zeros */
	}
	ck_assert_int_eq(jtx_course_decode(ok[9].bcd, &c), JTX_OK);
	ck_assert_str_eq(c.digits, "4431001234");
}
END_TEST

START_TEST(test_course_rejects)
{
	static const uint8_t bad[][5] = {
		{0x02, 0x12, 0x11, 0x00, 0x00}, /* mode 0 */
		{0x52, 0x12, 0x11, 0x00, 0x00}, /* mode 5 */
		{0x12, 0x10, 0x11, 0x00, 0x00}, /* part 0 */
		{0x12, 0x15, 0x11, 0x00, 0x00}, /* part 5 */
		{0x19, 0x92, 0x11, 0x00, 0x00}, /* class 99 */
		{0x11, 0x32, 0x11, 0x00, 0x00}, /* class 13 */
		{0x1a, 0x12, 0x11, 0x00, 0x00}, /* nibble A */
		{0x12, 0x12, 0x11, 0x00, 0x0f}, /* nibble F in the reserved digits */
	};
	struct jtx_course c;
	uint8_t bcd[5];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ck_assert_msg(jtx_course_decode(bad[i], &c) == JTX_E_BCD, "case %zu", i);
	c = course(0, "C1", 2, 1);
	ck_assert(!jtx_course_encode(&c, bcd));
	c = course(5, "C1", 2, 1);
	ck_assert(!jtx_course_encode(&c, bcd));
	c = course(1, "C1", 0, 1);
	ck_assert(!jtx_course_encode(&c, bcd));
	c = course(1, "C1", 2, 100);
	ck_assert(!jtx_course_encode(&c, bcd));
	c = course(1, "Z9", 2, 1);
	ck_assert(!jtx_course_encode(&c, bcd));
	c = course(1, "C1", 2, 1);
	memset(c.vehicle_class, 'C', sizeof(c.vehicle_class));
	ck_assert(!jtx_course_encode(&c, bcd));
}
END_TEST

START_TEST(test_course_in_messages)
{
	struct jtx_student_login m = sample_student_login(), out;
	struct jtx_record r = sample_record();
	uint8_t d[BUF];
	size_t n = jtx_build_student_login(&m, d, sizeof(d));

	d[32] = 0x19; /* class 99 */
	ck_assert_int_eq(jtx_parse_student_login(d, n, &out), JTX_E_BCD);
	m.course = course(1, "XX", 2, 1);
	ck_assert_uint_eq(jtx_build_student_login(&m, d, sizeof(d)), 0);
	r.course.part = 9;
	ck_assert_uint_eq(jtx_build_record(&r, d, sizeof(d)), 0);
}
END_TEST

/* ---- times ---- */

static enum jtx_err record_with(const char *date6, const uint8_t hms[3], struct jtx_record *out)
{
	uint8_t d[BUF];
	size_t n = b_record(d, sizeof(d));

	memcpy(d + 16, date6, 6);
	memcpy(d + 63, hms, 3);
	return jtx_parse_record(d, n, out);
}

START_TEST(test_record_time_midnight)
{
	struct jtx_record r;

	ck_assert_int_eq(record_with("240229", (const uint8_t *)"\x23\x59\x59", &r), JTX_OK);
	ck_assert_int_eq(r.record_time, T_LEAP_EVENING + 29);
	/* One second later is the next Beijing day: the record number's date moves on. */
	ck_assert_int_eq(record_with("240301", (const uint8_t *)"\x00\x00\x00", &r), JTX_OK);
	ck_assert_int_eq(r.record_time, T_LEAP_EVENING + 30);
	/* 00:30 on 1 March in Beijing is still 29 February in UTC. */
	ck_assert_int_eq(record_with("240301", (const uint8_t *)"\x00\x30\x00", &r), JTX_OK);
	ck_assert_int_eq(r.record_time, T_MARCH_NIGHT);
	/* New Year's Eve to New Year. */
	ck_assert_int_eq(record_with("241231", (const uint8_t *)"\x23\x59\x59", &r), JTX_OK);
	{
		time_t eve = r.record_time;

		ck_assert_int_eq(record_with("250101", (const uint8_t *)"\x00\x00\x00", &r),
				 JTX_OK);
		ck_assert_int_eq(r.record_time, eve + 1);
	}
}
END_TEST

START_TEST(test_record_time_invalid)
{
	struct jtx_record r;
	struct jtx_record in = sample_record();
	uint8_t d[BUF];

	ck_assert_int_eq(record_with("230229", (const uint8_t *)"\x12\x00\x00", &r), JTX_E_TIME);
	ck_assert_int_eq(record_with("241301", (const uint8_t *)"\x12\x00\x00", &r), JTX_E_TIME);
	ck_assert_int_eq(record_with("240431", (const uint8_t *)"\x12\x00\x00", &r), JTX_E_TIME);
	ck_assert_int_eq(record_with("240100", (const uint8_t *)"\x12\x00\x00", &r), JTX_E_TIME);
	ck_assert_int_eq(record_with("2402X9", (const uint8_t *)"\x12\x00\x00", &r), JTX_E_TIME);
	ck_assert_int_eq(record_with("240229", (const uint8_t *)"\x24\x00\x00", &r), JTX_E_TIME);
	ck_assert_int_eq(record_with("240229", (const uint8_t *)"\x23\x60\x00", &r), JTX_E_TIME);
	ck_assert_int_eq(record_with("240229", (const uint8_t *)"\x23\x59\x60", &r), JTX_E_TIME);
	ck_assert_int_eq(record_with("240229", (const uint8_t *)"\x2a\x00\x00", &r), JTX_E_BCD);
	/* A record number too short to hold a date. */
	{
		size_t n = b_record(d, sizeof(d));

		memset(d + 20, 0, 6);
		ck_assert_int_eq(jtx_parse_record(d, n, &r), JTX_E_TIME);
	}
	/* The builder refuses a time whose Beijing date is not the number's. */
	in.record_time = T_MARCH_NIGHT;
	ck_assert_uint_eq(jtx_build_record(&in, d, sizeof(d)), 0);
	in.record_time = T_LEAP_EVENING;
	snprintf(in.record_no, sizeof(in.record_no), "%s", TERMINAL "24022");
	ck_assert_uint_eq(jtx_build_record(&in, d, sizeof(d)), 0);
}
END_TEST

START_TEST(test_logout_time_invalid)
{
	struct jtx_student_logout m = sample_student_logout(), out;
	uint8_t d[BUF];
	size_t n = jtx_build_student_logout(&m, d, sizeof(d));

	memcpy(d + 16, "\x24\x02\x30\x10\x00\x00", 6);
	ck_assert_int_eq(jtx_parse_student_logout(d, n, &out), JTX_E_TIME);
	memcpy(d + 16, "\x24\x02\x28\x1b\x00\x00", 6);
	ck_assert_int_eq(jtx_parse_student_logout(d, n, &out), JTX_E_BCD);
	memcpy(d + 16, "\x24\x02\x29\x23\x59\x30", 6);
	ck_assert_int_eq(jtx_parse_student_logout(d, n, &out), JTX_OK);
	ck_assert_int_eq(out.logout_time, T_LEAP_EVENING);
	/* Before 2000 cannot be written as it would be read back. */
	m.logout_time = 0;
	ck_assert_uint_eq(jtx_build_student_logout(&m, d, sizeof(d)), 0);
}
END_TEST

/* ---- GNSS ---- */

START_TEST(test_gnss_block)
{
	struct jtx_coach_logout m = sample_coach_logout(), out;
	uint8_t d[BUF];
	size_t n = jtx_build_coach_logout(&m, d, sizeof(d));

	ck_assert_uint_eq(n, 44);
	/* A bad GNSS time, a bad BCD nibble: the block does not parse. */
	memcpy(d + 16 + 22, "\x24\x13\x01\x00\x00\x00", 6);
	ck_assert_int_eq(jtx_parse_coach_logout(d, n, &out), JTX_E_GNSS);
	memcpy(d + 16 + 22, "\x24\x03\x01\x00\x3f\x00", 6);
	ck_assert_int_eq(jtx_parse_coach_logout(d, n, &out), JTX_E_GNSS);
	/* The all-zero time of a terminal without a fix is time 0, both ways. */
	memset(d + 16 + 22, 0, 6);
	ck_assert_int_eq(jtx_parse_coach_logout(d, n, &out), JTX_OK);
	ck_assert_int_eq(out.gnss.time, 0);
	ck_assert_uint_eq(out.gnss.lat_e6, m.gnss.lat_e6);
	m.gnss.time = 0;
	m.gnss.fix = false;
	m.gnss.status = 0;
	ck_assert_uint_eq(jtx_build_coach_logout(&m, d, sizeof(d)), 44);
	ck_assert_mem_eq(d + 16 + 22, "\0\0\0\0\0\0", 6);
	ck_assert_int_eq(jtx_parse_coach_logout(d, n, &out), JTX_OK);
	assert_loc_eq(&out.gnss, &m.gnss);
	/* A time the block cannot carry is refused by the builder. */
	m.gnss.time = 86400;
	ck_assert_uint_eq(jtx_build_coach_logout(&m, d, sizeof(d)), 0);
}
END_TEST

/* ---- every error code, by a real input ---- */

START_TEST(test_each_error_reachable)
{
	uint8_t d[BUF], body[BUF];
	struct jtx_header h;
	struct jtx_record r;
	size_t n = b_record(d, sizeof(d));

	ck_assert_int_eq(jtx_parse_record(d, n, &r), JTX_OK);
	ck_assert_int_eq(jtx_parse_record(d, n - 1, &r), JTX_E_SHORT);
	body[0] = 0x00;
	ck_assert_int_eq(jtx_parse(body, 27, &h), JTX_E_TYPE);
	{
		struct jtx_header hh = header(JTX_RECORD, 0, 1);
		size_t bn = jtx_build(&hh, d, n, NULL, 0, body, sizeof(body));

		ck_assert_int_eq(jtx_parse(body, bn - 1, &h), JTX_E_LENGTH);
	}
	d[30] = 0x1b;
	ck_assert_int_eq(jtx_parse_record(d, n, &r), JTX_E_TEXT);
	d[30] = '0';
	d[66] = 0xab;
	ck_assert_int_eq(jtx_parse_record(d, n, &r), JTX_E_BCD);
	d[66] = 0x12;
	d[63] = 0x25;
	ck_assert_int_eq(jtx_parse_record(d, n, &r), JTX_E_TIME);
	d[63] = 0x23;
	d[76 + 23] = 0x13;
	ck_assert_int_eq(jtx_parse_record(d, n, &r), JTX_E_GNSS);
	d[76 + 23] = 0x02;
	ck_assert_int_eq(jtx_parse_record(d, n, &r), JTX_OK);
	/* JTX_E_SPACE is the encoders' condition; they report it as length 0. */
	ck_assert_uint_eq(b_record(d, 103), 0);
	ck_assert_str_eq(jtx_strerror(JTX_E_SPACE), "space");
}
END_TEST

/* ---- hand-assembled bodies ---- */

START_TEST(test_own_record_fixture)
{
	const struct fixture *fx = fixture("own-0203-signed");
	struct jtx_header h;
	struct jtx_record r;
	struct jtx_course want = course(1, "C1", 2, 11);
	uint8_t again[BUF];
	size_t off, len;

	ck_assert_int_eq(jtx_parse(fx->data, fx->len, &h), JTX_OK);
	ck_assert_uint_eq(h.msg_id, JTX_RECORD);
	ck_assert_uint_eq(h.props, 0x0022);
	ck_assert_uint_eq(h.serial, 0x0102);
	ck_assert_str_eq(h.terminal_no, TERMINAL);
	ck_assert_uint_eq(h.data_len, 114);
	ck_assert_uint_eq(h.sig_len, 8);
	ck_assert_uint_eq(h.sig[0], 0xa5);
	jtx_signed_span(h.data_len, &off, &len);
	ck_assert_ptr_eq(h.signed_bytes, fx->data + off);
	ck_assert_uint_eq(h.signed_len, len);
	ck_assert_uint_eq(off + len + h.sig_len, fx->len);

	ck_assert_int_eq(jtx_parse_record(h.data, h.data_len, &r), JTX_OK);
	ck_assert_str_eq(r.record_no, RECORD_NO);
	ck_assert_uint_eq(r.upload_type, 1);
	ck_assert_str_eq(r.student_no, STUDENT);
	ck_assert_str_eq(r.coach_no, COACH);
	ck_assert_uint_eq(r.class_id, 12345678);
	ck_assert_int_eq(r.record_time, T_LEAP_EVENING);
	assert_course_eq(&r.course, &want);
	ck_assert_str_eq(r.course.digits, "1212110000");
	ck_assert_uint_eq(r.status, 0);
	ck_assert_uint_eq(r.max_speed_dkmh, 500);
	ck_assert_uint_eq(r.mileage_dkm, 10);
	ck_assert_int_eq(r.gnss.lat_e6, 30123456);
	ck_assert_int_eq(r.gnss.lon_e6, 120123456);
	ck_assert_int_eq(r.gnss.time, T_LEAP_EVENING);
	ck_assert(r.gnss.fix);
	/* The word at 16 is the recorder's speed, then the satellite speed; extras 0x01, 0x05. */
	ck_assert_uint_eq(r.gnss.recorder_speed_dkmh, 12);
	ck_assert_uint_eq(r.gnss.speed_dkmh, 500);
	ck_assert_uint_eq(r.gnss.extras, JT808_X_MILEAGE | JT808_X_RPM);
	ck_assert_uint_eq(r.gnss.mileage_dkm, 100);
	ck_assert_uint_eq(r.gnss.engine_rpm, 1800);
	ck_assert_uint_eq(r.gnss.altitude_m, 0);
	/* The builder gives the same 114 bytes, extra items included. */
	ck_assert_uint_eq(jtx_build_record(&r, again, sizeof(again)), 114);
	ck_assert_mem_eq(again, h.data, 114);
	/* And the same body around them, signature included. */
	{
		uint8_t body[BUF];

		ck_assert_uint_eq(
			jtx_build(&h, h.data, h.data_len, h.sig, h.sig_len, body, sizeof(body)),
			fx->len);
		ck_assert_mem_eq(body, fx->data, fx->len);
	}
}
END_TEST

/*
 * The GNSS block's extra items: each known one round-trips; the record
 * of a real terminal carries 0x01 and 0x05 (38 bytes of GNSS); a photo
 * init with extras keeps its face-match confidence as the last byte
 * (79 bytes with 0x01 and 0x03, 87 with all four: sizes seen in peers).
 */
START_TEST(test_gnss_extras)
{
	struct jtx_photo_init p = sample_photo_init(), q;
	struct jtx_record r = sample_record(), r2;
	uint8_t d[BUF];
	size_t n;

	r.gnss.extras = JT808_X_MILEAGE | JT808_X_RPM;
	r.gnss.mileage_dkm = 123456;
	r.gnss.engine_rpm = 1800;
	n = jtx_build_record(&r, d, sizeof(d));
	ck_assert_uint_eq(n, 104 + 10);
	ck_assert_int_eq(jtx_parse_record(d, n, &r2), JTX_OK);
	assert_loc_eq(&r2.gnss, &r.gnss);

	p.gnss.extras = JT808_X_MILEAGE | JT808_X_ALTITUDE;
	p.gnss.mileage_dkm = 99;
	p.gnss.altitude_m = 31;
	n = jtx_build_photo_init(&p, d, sizeof(d));
	ck_assert_uint_eq(n, 79);
	ck_assert_uint_eq(d[n - 1], 80);
	ck_assert_int_eq(jtx_parse_photo_init(d, n, &q), JTX_OK);
	ck_assert_uint_eq(q.face_confidence, 80);
	assert_loc_eq(&q.gnss, &p.gnss);

	p.gnss.extras = JT808_X_MILEAGE | JT808_X_FUEL | JT808_X_ALTITUDE | JT808_X_RPM;
	p.gnss.fuel_dl = 400;
	p.gnss.engine_rpm = 2100;
	n = jtx_build_photo_init(&p, d, sizeof(d));
	ck_assert_uint_eq(n, 87);
	ck_assert_int_eq(jtx_parse_photo_init(d, n, &q), JTX_OK);
	ck_assert_uint_eq(q.face_confidence, 80);
	assert_loc_eq(&q.gnss, &p.gnss);
	/* An item cut short before the confidence byte is a length error, not a read past. */
	d[68 + 1] = 40;
	ck_assert_int_eq(jtx_parse_photo_init(d, n, &q), JTX_E_LENGTH);
	/* Unknown items are stepped over. */
	n = jtx_build_record(&r, d, sizeof(d));
	d[104] = 0x7f;
	ck_assert_int_eq(jtx_parse_record(d, n, &r2), JTX_OK);
	ck_assert_uint_eq(r2.gnss.extras, JT808_X_RPM);
}
END_TEST

/*
 * The platform's commands and the terminal's answers, laid out as the
 * cheshang terminal reads and writes them (ByteToCls.java getCxxsjl,
 * getLjpz, getJxzt and their *R): every field round-trips, each answer
 * maps to its command, a cut-short one is refused.
 */
/*
 * The escaped-sums device counts the extension's data length over the
 * escaped bytes: two data bytes 0x7E and 0x7D count four, so 6 bytes of
 * data are declared as 8; any other count is refused.
 */
START_TEST(test_escaped_data_length)
{
	static const uint8_t data[] = {0x01, 0x7e, 0x02, 0x7d, 0x03, 0x04};
	struct jtx_header h = {.msg_id = JTX_RECORD, .props = 0x0002, .serial = 1}, got;
	uint8_t body[BUF];
	snprintf(h.terminal_no, sizeof(h.terminal_no), "%s", TERMINAL);
	size_t n = jtx_build(&h, data, sizeof(data), NULL, 0, body, sizeof(body));
	ck_assert_uint_gt(n, 0);
	/* The right length read the faulty way leaves bytes over: refused, which is why
	 * hoursd reads so only what came through the escaped-sums parse. */
	ck_assert_int_eq(jtx_parse(body, n, &got), JTX_OK);
	ck_assert_int_eq(jtx_parse_escaped_len(body, n, &got), JTX_E_LENGTH);
	jt808_put32(body + 23, 8);
	ck_assert_int_eq(jtx_parse(body, n, &got), JTX_E_LENGTH);
	ck_assert_int_eq(jtx_parse_escaped_len(body, n, &got), JTX_OK);
	ck_assert_uint_eq(got.data_len, 6);
	ck_assert_mem_eq(got.data, data, 6);
	jt808_put32(body + 23, 9);
	ck_assert_int_eq(jtx_parse_escaped_len(body, n, &got), JTX_E_LENGTH);
	jt808_put32(body + 23, 3); /* would end inside the escaped 0x7E */
	ck_assert_int_eq(jtx_parse_escaped_len(body, n, &got), JTX_E_LENGTH);
}
END_TEST

START_TEST(test_commands)
{
	uint8_t d[BUF];
	struct jtx_command c = {.query_mode = JTX_QUERY_BY_TIME,
				.from = T_LEAP_EVENING - 3600,
				.to = T_LEAP_EVENING,
				.count = 16},
			   back;
	size_t n = jtx_build_command(JTX_FETCH_RECORDS, &c, d, sizeof(d));
	ck_assert_uint_eq(n, 1 + 6 + 6 + 2);
	ck_assert_uint_eq(d[0], 1);
	ck_assert_uint_eq(jt808_get16(d + 13), 16);
	ck_assert_int_eq(jtx_parse_command(JTX_FETCH_RECORDS, d, n, &back), JTX_OK);
	ck_assert_int_eq(back.from, c.from);
	ck_assert_int_eq(back.to, c.to);
	ck_assert_uint_eq(back.count, 16);
	ck_assert_int_eq(jtx_parse_command(JTX_FETCH_RECORDS, d, n - 1, &back), JTX_E_SHORT);

	struct jtx_command p = {.upload_mode = 1, .channel = 2, .size_code = 3};
	n = jtx_build_command(JTX_TAKE_PHOTO, &p, d, sizeof(d));
	ck_assert_uint_eq(n, 3);
	ck_assert_mem_eq(d, "\x01\x02\x03", 3);
	p.result = 1;
	n = jtx_build_command(JTX_TAKE_PHOTO_ACK, &p, d, sizeof(d));
	ck_assert_mem_eq(d, "\x01\x01\x02\x03", 4);

	/* The ban: state, then the GBK message with its length ("禁训" in GBK). */
	static const uint8_t gbk[] = {0xbd, 0xfb, 0xd1, 0xb5};
	struct jtx_command b = {.ban_state = JTX_BAN_ON, .message = {gbk, sizeof(gbk)}};
	n = jtx_build_command(JTX_TRAINING_BAN, &b, d, sizeof(d));
	ck_assert_uint_eq(n, 2 + sizeof(gbk));
	ck_assert_int_eq(jtx_parse_command(JTX_TRAINING_BAN, d, n, &back), JTX_OK);
	ck_assert_uint_eq(back.ban_state, 2);
	ck_assert_uint_eq(back.message.len, sizeof(gbk));
	ck_assert_mem_eq(back.message.p, gbk, sizeof(gbk));
	ck_assert_int_eq(jtx_parse_command(JTX_TRAINING_BAN, d, n - 1, &back), JTX_E_SHORT);
	ck_assert_int_eq(jtx_parse_command(JTX_TRAINING_BAN, d, n + 1, &back), JTX_E_LENGTH);

	/* Answers: the result first; 0x0205 is the result alone. */
	static const uint8_t r0205[] = {4};
	ck_assert_int_eq(jtx_parse_command(JTX_FETCH_RECORDS_ACK, r0205, 1, &back), JTX_OK);
	ck_assert_uint_eq(back.result, JTX_CMD_RECORDS_FOLLOW);
	static const uint8_t r0502[] = {1, 2, 0};
	ck_assert_int_eq(jtx_parse_command(JTX_TRAINING_BAN_ACK, r0502, 3, &back), JTX_OK);
	ck_assert_uint_eq(back.result, 1);
	ck_assert_uint_eq(back.ban_state, 2);

	ck_assert_uint_eq(jtx_command_answer_id(JTX_FETCH_RECORDS), JTX_FETCH_RECORDS_ACK);
	ck_assert_uint_eq(jtx_command_answer_id(JTX_TRAINING_BAN), JTX_TRAINING_BAN_ACK);
	ck_assert_uint_eq(jtx_command_of_answer(JTX_TAKE_PHOTO_ACK), JTX_TAKE_PHOTO);
	ck_assert_uint_eq(jtx_command_answer_id(JTX_RECORD), 0);
	ck_assert_uint_eq(jtx_command_of_answer(JTX_RECORD), 0);
	ck_assert_int_eq(jtx_parse_command(JTX_RECORD, d, n, &back), JTX_E_TYPE);
	ck_assert_uint_eq(jtx_build_command(JTX_RECORD, &c, d, sizeof(d)), 0);
}
END_TEST

START_TEST(test_own_answer_fixture)
{
	const struct fixture *fx = fixture("own-8201");
	struct jtx_header h;
	struct jtx_answer a;
	uint8_t again[BUF];

	ck_assert_int_eq(jtx_parse(fx->data, fx->len, &h), JTX_OK);
	ck_assert_uint_eq(h.msg_id, JTX_STUDENT_LOGIN_ACK);
	ck_assert_uint_eq(h.sig_len, 0);
	ck_assert_int_eq(jtx_parse_answer(h.msg_id, h.data, h.data_len, &a), JTX_OK);
	ck_assert_uint_eq(a.result, JTX_R_OK);
	ck_assert_str_eq(a.person_no, STUDENT);
	ck_assert_uint_eq(a.total_minutes, 2400);
	ck_assert_uint_eq(a.part_minutes, 480);
	ck_assert_uint_eq(a.total_mileage, 3000);
	ck_assert_uint_eq(a.part_mileage, 100);
	/* Rebuilt without the extra message: the 25 bytes before it are the same. */
	ck_assert_uint_eq(jtx_build_answer(h.msg_id, &a, again, sizeof(again)), 27);
	ck_assert_mem_eq(again, h.data, 25);
}
END_TEST

START_TEST(test_own_photo_fixture)
{
	const struct fixture *fx = fixture("own-0305");
	struct jtx_header h;
	struct jtx_photo_init p;
	uint8_t again[BUF];

	ck_assert_int_eq(jtx_parse(fx->data, fx->len, &h), JTX_OK);
	ck_assert_uint_eq(h.msg_id, JTX_PHOTO_INIT);
	ck_assert_uint_eq(h.props, JTX_PROP_ANSWER);
	ck_assert_int_eq(jtx_parse_photo_init(h.data, h.data_len, &p), JTX_OK);
	ck_assert_str_eq(p.photo_no, "0000000123");
	ck_assert_str_eq(p.person_no, STUDENT);
	ck_assert_uint_eq(p.event, 17);
	ck_assert_uint_eq(p.total_packets, 3);
	ck_assert_uint_eq(p.photo_size, 8000);
	ck_assert_uint_eq(p.class_id, 12345678);
	ck_assert_uint_eq(p.face_confidence, 80);
	ck_assert_int_eq(p.gnss.lat_e6, -22543210);
	ck_assert_int_eq(p.gnss.lon_e6, -114057890);
	ck_assert_int_eq(p.gnss.time, T_MARCH_NIGHT);
	ck_assert_uint_eq(jtx_build_photo_init(&p, again, sizeof(again)), h.data_len);
	ck_assert_mem_eq(again, h.data, h.data_len);
}
END_TEST

/* ---- hostile bytes ---- */

static uint32_t rng_next(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* One mutated body through the header parser, then every data parser. */
static bool hostile_round(const uint8_t *body, size_t n)
{
	uint8_t *copy = malloc(n ? n : 1);
	struct jtx_header h;
	bool ok;

	ck_assert_ptr_nonnull(copy);
	if (n)
		memcpy(copy, body, n);
	ok = jtx_parse(copy, n, &h) == JTX_OK;
	for (size_t i = 0; ok && i < ARRAY_SIZE(cases); i++)
		(void)parse_exact(cases[i].parse, h.data, h.data_len);
	free(copy);
	return ok;
}

/* Mutated bodies through every parser: no crash, no read past n (ASan). */
START_TEST(test_hostile_no_crash)
{
	const struct fixture *fx = fixture("own-0203-signed");
	uint32_t seed = 0x2545f491u;
	unsigned ok = 0;

	for (int round = 0; round < 3000; round++) {
		uint8_t body[FIXTURE_MAX_BYTES];
		size_t n = fx->len;

		memcpy(body, fx->data, n);
		for (int k = 0, flips = 1 + (int)(rng_next(&seed) % 4); k < flips; k++)
			body[rng_next(&seed) % n] = (uint8_t)rng_next(&seed);
		if (rng_next(&seed) % 3 == 0)
			n = rng_next(&seed) % (n + 1);
		ok += hostile_round(body, n);
	}
	ck_assert_uint_gt(ok, 0);
}
END_TEST

static Suite *jtx_suite(void)
{
	Suite *s = suite_create("jtx");
	TCase *hdr = tcase_create("header"), *msgs = tcase_create("messages");
	TCase *fields = tcase_create("fields"), *fx = tcase_create("fixtures");

	tcase_add_checked_fixture(fx, load_fixtures, NULL);

	tcase_add_test(hdr, test_strerror_names);
	tcase_add_test(hdr, test_header_roundtrip_signed);
	tcase_add_test(hdr, test_header_roundtrip_unsigned_empty);
	tcase_add_test(hdr, test_signed_span_is_what_parse_reports);
	tcase_add_test(hdr, test_header_errors);
	tcase_add_test(hdr, test_header_signature_bits);
	tcase_add_test(hdr, test_header_build_limits);
	tcase_add_test(hdr, test_header_hostile_terminal_no);

	tcase_add_test(msgs, test_each_message_through_header);
	tcase_add_test(msgs, test_truncated_at_every_length);
	tcase_add_test(msgs, test_trailing_bytes);
	tcase_add_test(msgs, test_coach_roundtrip);
	tcase_add_test(msgs, test_student_roundtrip);
	tcase_add_test(msgs, test_record_roundtrip);
	tcase_add_test(msgs, test_photo_roundtrip);
	tcase_add_test(msgs, test_answers_roundtrip);
	tcase_add_test(msgs, test_answer_extra_message);

	tcase_add_test(fields, test_hostile_text_rejected);
	tcase_add_test(fields, test_text_padding);
	tcase_add_test(fields, test_builders_refuse_bad_text);
	tcase_add_test(fields, test_course_decode_classes);
	tcase_add_test(fields, test_course_rejects);
	tcase_add_test(fields, test_course_in_messages);
	tcase_add_test(fields, test_record_time_midnight);
	tcase_add_test(fields, test_record_time_invalid);
	tcase_add_test(fields, test_logout_time_invalid);
	tcase_add_test(fields, test_gnss_block);
	tcase_add_test(fields, test_each_error_reachable);
	tcase_add_test(fields, test_gnss_extras);
	tcase_add_test(fields, test_commands);
	tcase_add_test(fields, test_escaped_data_length);

	tcase_add_test(fx, test_own_record_fixture);
	tcase_add_test(fx, test_own_answer_fixture);
	tcase_add_test(fx, test_own_photo_fixture);
	tcase_add_test(fx, test_hostile_no_crash);

	suite_add_tcase(s, hdr);
	suite_add_tcase(s, msgs);
	suite_add_tcase(s, fields);
	suite_add_tcase(s, fx);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(jtx_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
