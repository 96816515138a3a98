/*
 * mkseeds.c - the seed corpora of the protocol harnesses, written from
 * the test fixtures (the .hex files of tests/fixtures: public devices' frames and our
 * own) and from frames built here with the library's encoders the way
 * termsim builds them: every message of a session in each header layout
 * (registration, authentication, positions, a whole signed lesson, a
 * sub-packaged message), the platform's answers and commands.
 *   mkseeds FIXTURES_DIR OUT_DIR   (OUT_DIR/NAME/ for each harness)
 * Not a harness: built by the system compiler, run by scripts/fuzz.sh.
 */
#include "hoursd.h"
#include "jt808.h"
#include "jtx.h"
#include "sig.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *out_dir;
static unsigned n_written;

static void put(const char *harness, const char *name, const uint8_t *p, size_t n)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", out_dir, harness);
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", out_dir, harness, name);
	FILE *f = fopen(path, "wb");
	if (!f || (n && fwrite(p, n, 1, f) != 1) || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	n_written++;
}

/* A byte, then the bytes: the selector the body and jtx harnesses read first. */
static void put_sel(const char *harness, const char *name, const uint8_t *pre, size_t npre,
		    const uint8_t *p, size_t n)
{
	uint8_t buf[8192];
	if (npre + n > sizeof(buf))
		return;
	memcpy(buf, pre, npre);
	memcpy(buf + npre, p, n);
	put(harness, name, buf, npre + n);
}

static const uint16_t body_ids[] = {
	JT808_T_REGISTER,	  JT808_T_AUTH,		  JT808_T_LOCATION,
	JT808_T_BATCH_LOCATION,	  JT808_T_TRANSPARENT_UP, JT808_T_ASK_PIECES,
	JT808_P_ASK_PIECES,	  JT808_T_GENERAL_ACK,	  JT808_P_REGISTER_ACK,
	JT808_P_TRANSPARENT_DOWN, JT808_T_HEARTBEAT,
}; /* fuzz/body.c's table */

/* An escaped frame (flags included): into stream/, its unescaped content into frame/, its body
 * into body/ (and jtx/ when it is a transparent message). */
static void put_frame(const char *name, const uint8_t *esc, size_t n)
{
	uint8_t raw[8192], sel;
	size_t len;
	struct jt808_msg m;
	put("stream", name, esc, n);
	if (n < 2 || jt808_unescape(esc + 1, n - 2, raw, &len) != JT808_OK)
		return;
	put("frame", name, raw, len);
	if (jt808_parse(raw, len, &m) != JT808_OK)
		return;
	for (sel = 0; sel < ARRAY_SIZE(body_ids); sel++)
		if (body_ids[sel] == m.h.msg_id)
			break;
	if (sel == ARRAY_SIZE(body_ids))
		return;
	sel = (uint8_t)(sel | m.h.layout << 4);
	put_sel("body", name, &sel, 1, m.body, m.body_len);
	if (m.h.msg_id == JT808_T_TRANSPARENT_UP || m.h.msg_id == JT808_P_TRANSPARENT_DOWN)
		put("jtx", name, m.body, m.body_len);
}

/* ---- the fixtures ---- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;
	for (; *s; s++) {
		int v = hexval((unsigned char)*s);
		if (isspace((unsigned char)*s))
			continue;
		if (v < 0 || n >= cap)
			return 0;
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return hi < 0 ? n : 0;
}

/* Each line of a fixture file: whole frames (7E...7E) or transparent bodies (jtx_own). */
static void fixture_file(const char *dir, const char *file)
{
	char path[512], line[16384], name[96];
	uint8_t b[8192];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	FILE *f = fopen(path, "r");
	unsigned i = 0;
	if (!f) {
		perror(path);
		exit(1);
	}
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		size_t n = unhex(line, b, sizeof(b));
		if (n == 0)
			continue;
		snprintf(name, sizeof(name), "fx-%.*s-%02u", (int)(strlen(file) - 4), file, i++);
		if (b[0] == JT808_FLAG)
			put_frame(name, b, n);
		else
			put("jtx", name, b, n);
	}
	fclose(f);
}

/* ---- frames built as termsim builds them ---- */

static uint16_t serial;
static uint8_t all[65536]; /* one stream: every frame of a layout, back to back */
static size_t all_len;

static void frame(enum jt808_layout l, uint16_t id, const uint8_t *body, size_t n, const char *what)
{
	struct jt808_header h = {.msg_id = id, .layout = (uint8_t)l, .serial = serial++};
	uint8_t out[JT808_ENCODED_MAX(JT808_MAX_BODY)];
	char name[96];
	h.version = l == JT808_L2019 ? 1 : l == JT808_LTIMING ? JT808_TIMING_VERSION : 0;
	snprintf(h.phone, sizeof(h.phone), "%0*lld", (int)jt808_phone_digits(l), 13800000006LL);
	size_t len = jt808_encode(&h, body, n, out, sizeof(out));
	if (len == 0)
		return;
	snprintf(name, sizeof(name), "built-%s-%s", jt808_layout_name(l), what);
	put_frame(name, out, len);
	if (all_len + len <= sizeof(all)) {
		memcpy(all + all_len, out, len);
		all_len += len;
	}
}

/* A body over several frames: pieces of at most piece bytes. */
static void pieces(enum jt808_layout l, uint16_t id, const uint8_t *body, size_t n, size_t piece)
{
	uint16_t total = (uint16_t)((n + piece - 1) / piece), first = serial;
	uint8_t out[JT808_ENCODED_MAX(JT808_MAX_BODY)], joined[16384];
	size_t jl = 0;
	char name[96];
	for (uint16_t i = 0; i < total; i++) {
		struct jt808_header h = {.msg_id = id,
					 .layout = (uint8_t)l,
					 .serial = (uint16_t)(first + i),
					 .subpkg = true,
					 .pkg_total = total,
					 .pkg_index = (uint16_t)(i + 1)};
		h.version = l == JT808_L2019 ? 1 : l == JT808_LTIMING ? JT808_TIMING_VERSION : 0;
		snprintf(h.phone, sizeof(h.phone), "%0*lld", (int)jt808_phone_digits(l),
			 13800000006LL);
		size_t len = n - i * piece < piece ? n - i * piece : piece;
		size_t e = jt808_encode(&h, body + i * piece, len, out, sizeof(out));
		if (e == 0 || jl + e > sizeof(joined))
			return;
		memcpy(joined + jl, out, e);
		jl += e;
	}
	serial = (uint16_t)(first + total);
	snprintf(name, sizeof(name), "built-%s-pieces-%04x", jt808_layout_name(l), id);
	put("stream", name, joined, jl);
}

static struct jt808_location gnss(void)
{
	struct jt808_location g = {.status = JT808_ST_FIX,
				   .lat_e6 = 31230500,
				   .lon_e6 = 121472000,
				   .speed_dkmh = 300,
				   .direction = 90,
				   .time = 1764000000,
				   .fix = true,
				   .extras = JT808_X_MILEAGE | JT808_X_RPM,
				   .recorder_speed_dkmh = 295,
				   .mileage_dkm = 1234,
				   .engine_rpm = 1800};
	return g;
}

/* A 0x0900 body: the extension around data, signed with a stand-in check string. */
static size_t ext(uint16_t id, const uint8_t *data, size_t n, bool sign, uint8_t *out, size_t cap)
{
	static uint8_t sig[256];
	memset(sig, 0xa5, sizeof(sig));
	struct jtx_header h = {.msg_id = id,
			       .props = (uint16_t)(JTX_PROP_ANSWER | (sign ? JTX_PROP_SIGNED : 0)),
			       .serial = serial};
	memcpy(h.terminal_no, "3100000000000006", JTX_TERMINAL_NO_LEN + 1);
	return jtx_build(&h, data, n, sign ? sig : NULL, sign ? sizeof(sig) : 0, out, cap);
}

/* fuzz/lesson.c's input: each message of the timing layout's lesson, in order */
static uint8_t lesson_seq[16384];
static size_t lesson_len;

static void ext_frame(enum jt808_layout l, uint16_t id, const uint8_t *data, size_t n, bool sign)
{
	uint8_t body[4096];
	char what[32];
	uint8_t pre[3] = {0xff, (uint8_t)(id >> 8), (uint8_t)id};
	size_t len = ext(id, data, n, sign, body, sizeof(body));
	if (len == 0)
		return;
	snprintf(what, sizeof(what), "ext-%04x%s", id, sign ? "-signed" : "");
	uint16_t down = id & 0x8000 ? JT808_P_TRANSPARENT_DOWN : JT808_T_TRANSPARENT_UP;
	if (len <= JT808_MAX_BODY)
		frame(l, down, body, len, what);
	else
		pieces(l, down, body, len, 700);
	if (l == JT808_LTIMING) {
		char name[64];
		snprintf(name, sizeof(name), "data-%04x", id);
		put_sel("jtx", name, pre, sizeof(pre), data, n);
		if (lesson_len + 3 + len <= sizeof(lesson_seq) && !(id & 0x8000)) {
			lesson_seq[lesson_len++] = 0; /* signature good, the clock still */
			lesson_len = (size_t)(jt808_put16(lesson_seq + lesson_len, (uint16_t)len) -
					      lesson_seq);
			memcpy(lesson_seq + lesson_len, body, len);
			lesson_len += len;
		}
	}
}

static void lesson(enum jt808_layout l)
{
	uint8_t d[4096];
	size_t n;
	struct jtx_coach_login cl = {.coach_no = "C000000000000001",
				     .id_card = "310101198001010011",
				     .teach_class = "C1",
				     .gnss = gnss()};
	struct jtx_student_login sl = {.student_no = "S000000000000001",
				       .coach_no = "C000000000000001",
				       .class_id = 1,
				       .gnss = gnss()};
	struct jtx_record r = {.record_no = "31000000000000062511240001",
			       .upload_type = 0,
			       .student_no = "S000000000000001",
			       .coach_no = "C000000000000001",
			       .class_id = 1,
			       .record_time = 1764000000,
			       .max_speed_dkmh = 400,
			       .mileage_dkm = 10,
			       .gnss = gnss()};
	struct jtx_student_logout so = {.student_no = "S000000000000001",
					.logout_time = 1764003600,
					.minutes = 60,
					.mileage_dkm = 100,
					.class_id = 1,
					.gnss = gnss()};
	struct jtx_coach_logout co = {.coach_no = "C000000000000001", .gnss = gnss()};
	struct jtx_photo_init pi = {.photo_no = "0000000001",
				    .person_no = "S000000000000001",
				    .upload_mode = 1,
				    .channel = 1,
				    .size_code = 1,
				    .event = 17,
				    .total_packets = 2,
				    .photo_size = 1500,
				    .class_id = 1,
				    .gnss = gnss(),
				    .face_confidence = 90};
	static const uint8_t course[5] = {0x12, 0x12, 0x01, 0x00, 0x00};
	if (jtx_course_decode(course, &sl.course) != JTX_OK)
		exit(1);
	r.course = sl.course;
	if ((n = jtx_build_coach_login(&cl, d, sizeof(d))))
		ext_frame(l, JTX_COACH_LOGIN, d, n, true);
	if ((n = jtx_build_student_login(&sl, d, sizeof(d))))
		ext_frame(l, JTX_STUDENT_LOGIN, d, n, true);
	if ((n = jtx_build_record(&r, d, sizeof(d)))) {
		ext_frame(l, JTX_RECORD, d, n, true);
		ext_frame(l, JTX_RECORD, d, n, false);
	}
	if ((n = jtx_build_photo_init(&pi, d, sizeof(d))))
		ext_frame(l, JTX_PHOTO_INIT, d, n, true);
	uint8_t jpeg[1500];
	memset(jpeg, 0xd8, sizeof(jpeg));
	if ((n = jtx_build_photo_data("0000000001", jpeg, sizeof(jpeg), d, sizeof(d))))
		ext_frame(l, JTX_PHOTO_DATA, d, n, false);
	if ((n = jtx_build_student_logout(&so, d, sizeof(d))))
		ext_frame(l, JTX_STUDENT_LOGOUT, d, n, true);
	if ((n = jtx_build_coach_logout(&co, d, sizeof(d))))
		ext_frame(l, JTX_COACH_LOGOUT, d, n, true);
	/* the platform's answers and commands, and the terminal's answers to them */
	struct jtx_answer a = {.result = JTX_R_OK,
			       .person_no = "S000000000000001",
			       .total_minutes = 600,
			       .part_minutes = 60};
	static const uint16_t answers[] = {JTX_COACH_LOGIN_ACK, JTX_COACH_LOGOUT_ACK,
					   JTX_STUDENT_LOGIN_ACK, JTX_STUDENT_LOGOUT_ACK,
					   JTX_PHOTO_INIT_ACK};
	for (size_t i = 0; i < ARRAY_SIZE(answers); i++)
		if ((n = jtx_build_answer(answers[i], &a, d, sizeof(d))))
			ext_frame(l, answers[i], d, n, false);
	static const uint8_t msg[] = "\xc4\xe3\xba\xc3";
	struct jtx_command c = {.result = JTX_CMD_OK,
				.query_mode = JTX_QUERY_BY_TIME,
				.from = 1764000000,
				.to = 1764003600,
				.count = 10,
				.upload_mode = 1,
				.channel = 1,
				.size_code = 1,
				.ban_state = JTX_BAN_ON,
				.message = {msg, 4}};
	static const uint16_t cmds[] = {JTX_FETCH_RECORDS, JTX_TAKE_PHOTO, JTX_TRAINING_BAN};
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
		if ((n = jtx_build_command(cmds[i], &c, d, sizeof(d))))
			ext_frame(l, cmds[i], d, n, false);
		uint16_t ans = jtx_command_answer_id(cmds[i]);
		if ((n = jtx_build_command(ans, &c, d, sizeof(d))))
			ext_frame(l, ans, d, n, true);
	}
}

static void session(enum jt808_layout l)
{
	uint8_t b[4096];
	size_t n;
	serial = 1;
	all_len = 0;
	struct jt808_register reg = {.province = 31,
				     .city = 115,
				     .maker = "HRSD1",
				     .model = "TERMSIM",
				     .terminal_id = "0000006",
				     .imei = "861380000000006",
				     .plate_color = 1,
				     .plate = "\xbb\xa6"
					      "A12345"};
	if ((n = jt808_build_register(&reg, l, b, sizeof(b))))
		frame(l, JT808_T_REGISTER, b, n, "register");
	if (l == JT808_LTIMING) {
		uint8_t sig[256];
		memset(sig, 0x5a, sizeof(sig));
		if ((n = jt808_build_auth_signed(1764000000, sig, sizeof(sig), b, sizeof(b))))
			frame(l, JT808_T_AUTH, b, n, "auth-signed");
		struct jt808_register_ack_timing ra = {.serial = 1,
						       .platform_no = "00000",
						       .institution_no = "3100000000000001",
						       .terminal_no = "3100000000000006",
						       .cert_password = "123456",
						       .cert_b64 = "MIIB",
						       .cert_len = 4};
		if ((n = jt808_build_register_ack_timing(&ra, b, sizeof(b))))
			frame(l, JT808_P_REGISTER_ACK, b, n, "register-ack");
	} else {
		if ((n = jt808_build_auth("123456", l == JT808_L2019, b, sizeof(b))))
			frame(l, JT808_T_AUTH, b, n, "auth");
		if ((n = jt808_build_register_ack(1, 0, "123456", b, sizeof(b))))
			frame(l, JT808_P_REGISTER_ACK, b, n, "register-ack");
	}
	frame(l, JT808_T_HEARTBEAT, NULL, 0, "heartbeat");
	struct jt808_location g = gnss();
	n = jt808_build_location(&g, b);
	frame(l, JT808_T_LOCATION, b, n, "location");
	/* 0x0704: count, type, then each item's length and block */
	uint8_t *p = jt808_put16(b, 3);
	*p++ = 1;
	for (int i = 0; i < 3; i++) {
		p = jt808_put16(p, JT808_LOCATION_LEN);
		p += jt808_build_location(&g, p);
	}
	frame(l, JT808_T_BATCH_LOCATION, b, (size_t)(p - b), "batch");
	uint16_t idx[3] = {1, 3, 4};
	if ((n = jt808_build_piece_request(7, idx, 3, l, b, sizeof(b))))
		frame(l, l == JT808_L2019 ? JT808_T_ASK_PIECES : JT808_P_ASK_PIECES, b, n,
		      "ask-pieces");
	n = jt808_build_general_ack(3, JT808_P_TRANSPARENT_DOWN, 0, b);
	frame(l, JT808_T_GENERAL_ACK, b, n, "general-ack");
	lesson_len = 0;
	lesson(l);
	if (l == JT808_LTIMING) {
		put("lesson", "lesson", lesson_seq, lesson_len);
		/* the same a minute apart, the last with a bad signature */
		for (size_t i = 0; i < lesson_len;) {
			uint16_t len = jt808_get16(lesson_seq + i + 1);
			lesson_seq[i] = 1 << 3;
			i += 3u + len;
			if (i >= lesson_len)
				lesson_seq[i - 3u - len] |= SIG_BAD;
		}
		put("lesson", "lesson-minutes", lesson_seq, lesson_len);
	}
	char name[64];
	snprintf(name, sizeof(name), "session-%s", jt808_layout_name(l));
	put("stream", name, all, all_len);
}

/* reasm: pieces of two messages interleaved, one repeated, one never finished */
static void reasm_seeds(void)
{
	static const uint8_t s1[] = {
		0x08, 1, 0x00, 0x10, 4, 'a', 'b', 'c', 'd', /* 0x0900 2 pieces, #1 */
		0x0c, 1, 0x00, 0x20, 2, 'x', 'y',	    /* 0x0900 3 pieces, #1 */
		0x08, 2, 0x00, 0x11, 3, 'e', 'f', 'g',	    /* completes the first */
		0x0c, 3, 0x00, 0x22, 1, 'z',		    /* 3 of 3 */
		0x0c, 3, 0x00, 0x22, 1, 'Z',		    /* again: replaces */
		0x4c, 2, 0x00, 0x21, 1, 'q',		    /* 1 s later, completes */
		0x9d, 1, 0x01, 0x00, 2, 'o', 'o',	    /* 0x0200 of 3, then 90 s: expires */
		0xc4, 1, 0x02, 0x00, 0,			    /* 1 of 1 */
	};
	put("reasm", "interleaved", s1, sizeof(s1));
	uint8_t big[5 * 40];
	for (int i = 0; i < 40; i++) {
		uint8_t *o = big + 5 * i;
		o[0] = (uint8_t)(0x20 | (i & 3)); /* total 8 */
		o[1] = (uint8_t)(i % 9);
		o[2] = 0;
		o[3] = (uint8_t)(i % 9 + 0x40 * (i & 3));
		o[4] = 0;
	}
	put("reasm", "bounds", big, sizeof(big));
}

/* sig: each mode on each certificate (fuzz/sig.c's input layout) */
static void sig_seeds(void)
{
	static const char data[] = "3100000000000006\x69\x2a\x1b\x00";
	uint8_t b[600];
	char name[64];
	for (uint8_t k = 0; k < 8; k++) {
		for (uint8_t form = 0; form < 7; form++) {
			uint8_t h[] = {1, k, 0, form, 0};
			snprintf(name, sizeof(name), "sign-%u-%u", k, form);
			put_sel("sig", name, h, sizeof(h), (const uint8_t *)data, sizeof(data) - 1);
		}
		uint8_t spoilt[] = {1, k, 0, 1, 7};
		snprintf(name, sizeof(name), "spoilt-%u", k);
		put_sel("sig", name, spoilt, sizeof(spoilt), (const uint8_t *)data,
			sizeof(data) - 1);
		for (unsigned len = 64; len <= 256; len *= 2) {
			b[0] = 0, b[1] = (uint8_t)(k | 0x80), b[2] = 0, b[3] = 0,
			b[4] = (uint8_t)len;
			memset(b + 5, 0x30, len);
			memcpy(b + 5 + len, data, sizeof(data) - 1);
			snprintf(name, sizeof(name), "verify-%u-%u", k, len);
			put("sig", name, b, 5 + len + sizeof(data) - 1);
		}
		for (uint8_t op = 0; op < 3; op++) {
			uint8_t h[] = {2, k, 0, op, 0x01, 0x40};
			snprintf(name, sizeof(name), "put-%u-%u", k, op);
			put("sig", name, h, sizeof(h));
		}
	}
	static const uint8_t ev[] = {3, 0, 0, 0, 1, 0, 2, 1, 3, 4, 5, 6, 0};
	put("sig", "evictions", ev, sizeof(ev));
	static const char pem[] = "\x02\x07\x00\x03"
				  "0123456789abcdef0123456789abcdef"
				  "-----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJAK\n"
				  "-----END CERTIFICATE-----\n";
	put("sig", "put-garbage", (const uint8_t *)pem, sizeof(pem) - 1);
}

/* push_answer: the contract's answers (docs/push-contract.md, section 5) */
static void push_seeds(void)
{
	static const struct {
		int status;
		const char *retry, *body;
	} a[] = {
		{200, "", "{\"result\":\"accepted\"}"},
		{200, "", "{\"result\":\"duplicate\"}"},
		{409, "", "{\"result\":\"duplicate\"}"},
		{422, "", "{\"result\":\"rejected\",\"code\":\"injected\",\"message\":\"\u5b66\"}"},
		{503, "", "{\"result\":\"retry\"}"},
		{429, "7", "{\"result\":\"retry\"}"},
		{503, "Wed, 21 Oct 2026 07:28:00 GMT", "busy"},
		{401, "", "<html>\n\tno\x01</html>"},
	};
	uint8_t b[512];
	char name[32];
	for (size_t i = 0; i < ARRAY_SIZE(a); i++) {
		size_t rl = strlen(a[i].retry), bl = strlen(a[i].body);
		jt808_put16(b, (uint16_t)a[i].status);
		b[2] = (uint8_t)rl;
		memcpy(b + 3, a[i].retry, rl);
		memcpy(b + 3 + rl, a[i].body, bl);
		snprintf(name, sizeof(name), "answer-%zu", i);
		put("push_answer", name, b, 3 + rl + bl);
	}
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: mkseeds FIXTURES_DIR OUT_DIR\n");
		return 2;
	}
	out_dir = argv[2];
	if (mkdir(out_dir, 0755) != 0 && errno != EEXIST) {
		perror(out_dir);
		return 1;
	}
	fixture_file(argv[1], "jt808_own.hex");
	fixture_file(argv[1], "jt808_public.hex");
	fixture_file(argv[1], "jt808_timing_public.hex");
	fixture_file(argv[1], "jtx_own.hex");
	for (int l = 0; l < JT808_L__COUNT; l++)
		session((enum jt808_layout)l);
	reasm_seeds();
	sig_seeds();
	push_seeds();
	printf("mkseeds: %u seeds in %s\n", n_written, out_dir);
	return 0;
}
