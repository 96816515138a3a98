/*
 * jtx.c - see jtx.h.  Every layout is a table below; where each comes
 * from, and what was chosen where the public sources disagree, is in
 * docs/protocol.md ("Timing-training extension").
 *
 * Everything here arrives from a terminal and is hostile: each length is
 * checked before the read, fixed text fields must be printable ASCII, and
 * nothing asserts on input bytes.  No allocation.
 */
#include "hoursd.h"
#include "jtx.h"

/* clang-format off */
static const char *const err_names[JTX_E__COUNT] = {
	[JTX_OK] = "ok",
	[JTX_E_SHORT] = "short",
	[JTX_E_TYPE] = "type",
	[JTX_E_LENGTH] = "length",
	[JTX_E_TEXT] = "text",
	[JTX_E_BCD] = "bcd",
	[JTX_E_TIME] = "time",
	[JTX_E_GNSS] = "gnss",
	[JTX_E_SPACE] = "space",
};
/* clang-format on */

const char *jtx_strerror(enum jtx_err e)
{
	if ((unsigned)e >= JTX_E__COUNT)
		return "unknown";
	return err_names[e];
}

/* ---- the extension header ---- */

/*
 * Offsets from the transparent type byte.  The data length is a DWORD at
 * 23 with the data from 27; the variant with a WORD length and data from
 * 25 is len_size 2, data 25.
 */
static const struct {
	size_t id, props, serial, terminal, len, len_size, data;
} hdr = {.id = 1, .props = 3, .serial = 5, .terminal = 7, .len = 23, .len_size = 4, .data = 27};

/*
 * Properties bits that announce a check string after the data: the
 * algorithm nibble (bits 4-7: 1 SHA-1, 2 SHA-256) of the standard's
 * terminals, and bit 3, which one public platform uses for SHA-256.
 */
static const uint16_t sig_bits[] = {0x00f0, 0x0008};

static bool announces_sig(uint16_t props)
{
	for (size_t i = 0; i < ARRAY_SIZE(sig_bits); i++) {
		if (props & sig_bits[i])
			return true;
	}
	return false;
}

static size_t max_data_len(void)
{
	return hdr.len_size == 4 ? UINT32_MAX : UINT16_MAX;
}

static uint32_t get_len(const uint8_t *body)
{
	return hdr.len_size == 4 ? jt808_get32(body + hdr.len) : jt808_get16(body + hdr.len);
}

static void put_len(uint8_t *body, size_t len)
{
	if (hdr.len_size == 4)
		jt808_put32(body + hdr.len, (uint32_t)len);
	else
		jt808_put16(body + hdr.len, (uint16_t)len);
}

void jtx_signed_span(size_t data_len, size_t *offset, size_t *len)
{
	*offset = hdr.id;
	*len = hdr.data - hdr.id + data_len;
}

/* ---- fixed text fields ---- */

/*
 * Leading NULs (ID-card numbers are padded in front by some terminals)
 * and trailing NULs and spaces are padding; what remains must be
 * printable ASCII, so that no terminal can put control bytes into a log
 * line or a database row.
 */
static enum jtx_err get_text(const uint8_t *p, size_t width, char *out, size_t cap)
{
	size_t a = 0, b = width;

	if (cap <= width)
		return JTX_E_SPACE;
	while (a < b && p[a] == '\0')
		a++;
	while (b > a && (p[b - 1] == '\0' || p[b - 1] == ' '))
		b--;
	for (size_t i = a; i < b; i++) {
		if (p[i] < 0x20 || p[i] > 0x7e)
			return JTX_E_TEXT;
	}
	memcpy(out, p + a, b - a);
	out[b - a] = '\0';
	return JTX_OK;
}

/* Refuses what get_text would not give back unchanged; pads with NULs. */
static bool put_text(uint8_t *p, size_t width, const char *s, size_t cap)
{
	size_t len = strnlen(s, cap);

	if (len == cap || len > width || (len > 0 && s[len - 1] == ' '))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c > 0x7e)
			return false;
	}
	memcpy(p, s, len);
	memset(p + len, 0, width - len);
	return true;
}

/* ---- header parse and build ---- */

static enum jtx_err check_sig(const struct jtx_header *h)
{
	if (!announces_sig(h->props))
		return h->sig_len == 0 ? JTX_OK : JTX_E_LENGTH;
	if (h->sig_len == 0)
		return JTX_E_SHORT;
	return h->sig_len <= JTX_MAX_SIG ? JTX_OK : JTX_E_LENGTH;
}

/*
 * The unescaped length of data whose escaped length is esc_len: false
 * when no prefix of data[0..avail) escapes to exactly that many bytes.
 */
static bool unescaped_len(const uint8_t *data, size_t avail, size_t esc_len, size_t *out)
{
	size_t i, esc = 0;

	for (i = 0; esc < esc_len && i < avail; i++)
		esc += data[i] == JT808_FLAG || data[i] == JT808_ESC ? 2 : 1;
	*out = i;
	return esc == esc_len;
}

static enum jtx_err parse(const uint8_t *body, size_t n, bool escaped_len, struct jtx_header *h);

enum jtx_err jtx_parse(const uint8_t *body, size_t n, struct jtx_header *h)
{
	return parse(body, n, false, h);
}

enum jtx_err jtx_parse_escaped_len(const uint8_t *body, size_t n, struct jtx_header *h)
{
	return parse(body, n, true, h);
}

/* On an error, the fields read so far stay in h (for the log line). */
static enum jtx_err parse(const uint8_t *body, size_t n, bool escaped_len, struct jtx_header *h)
{
	enum jtx_err e;
	size_t rest, span_off;

	memset(h, 0, sizeof(*h));
	if (n < 1)
		return JTX_E_SHORT;
	if (body[0] != JTX_TRANSPARENT_TYPE)
		return JTX_E_TYPE;
	if (n < hdr.data)
		return JTX_E_SHORT;
	h->msg_id = jt808_get16(body + hdr.id);
	h->props = jt808_get16(body + hdr.props);
	h->serial = jt808_get16(body + hdr.serial);
	e = get_text(body + hdr.terminal, JTX_TERMINAL_NO_LEN, h->terminal_no,
		     sizeof(h->terminal_no));
	if (e != JTX_OK)
		return e;
	h->data_len = get_len(body);
	rest = n - hdr.data;
	if (escaped_len) {
		size_t len;
		if (!unescaped_len(body + hdr.data, rest, h->data_len, &len))
			return JTX_E_LENGTH;
		h->data_len = (uint32_t)len;
	}
	if (h->data_len > rest)
		return JTX_E_LENGTH;
	h->data = body + hdr.data;
	h->sig = h->data + h->data_len;
	h->sig_len = rest - h->data_len;
	jtx_signed_span(h->data_len, &span_off, &h->signed_len);
	h->signed_bytes = body + span_off;
	return check_sig(h);
}

size_t jtx_build(const struct jtx_header *h, const uint8_t *data, size_t data_len,
		 const uint8_t *sig, size_t sig_len, uint8_t *out, size_t cap)
{
	size_t total;

	if (data_len > max_data_len() || sig_len > JTX_MAX_SIG)
		return 0;
	if (sig_len > 0 && !announces_sig(h->props))
		return 0;
	total = hdr.data + data_len + sig_len;
	if (total > cap)
		return 0;
	out[0] = JTX_TRANSPARENT_TYPE;
	jt808_put16(out + hdr.id, h->msg_id);
	jt808_put16(out + hdr.props, h->props);
	jt808_put16(out + hdr.serial, h->serial);
	if (!put_text(out + hdr.terminal, JTX_TERMINAL_NO_LEN, h->terminal_no,
		      sizeof(h->terminal_no)))
		return 0;
	put_len(out, data_len);
	if (data_len > 0)
		memcpy(out + hdr.data, data, data_len);
	if (sig_len > 0)
		memcpy(out + hdr.data + data_len, sig, sig_len);
	return total;
}

/* ---- course code ---- */

/* Digit positions in the ten-digit code; digits 6-9 are reserved. */
static const struct {
	size_t mode, vclass, part, subject;
} cc = {.mode = 0, .vclass = 1, .part = 3, .subject = 4};

#define CC_MODE_MAX 4
#define CC_PART_MAX 4

/*
 * Two-digit vehicle class codes (digits 1-2); "00" is a course not tied
 * to a class.  A province's extra classes are extra lines here.
 */
/* clang-format off */
static const struct {
	char code[3];
	char name[3];
} vehicle_classes[] = {
	{"00", ""},
	{"01", "A1"}, {"02", "A2"}, {"03", "A3"},
	{"11", "B1"}, {"12", "B2"},
	{"21", "C1"}, {"22", "C2"}, {"23", "C3"}, {"24", "C4"}, {"25", "C5"}, {"26", "C6"},
	{"31", "D"}, {"32", "E"}, {"33", "F"},
	{"41", "M"}, {"42", "N"}, {"43", "P"},
};
/* clang-format on */

static const char *class_name(const char *code)
{
	for (size_t i = 0; i < ARRAY_SIZE(vehicle_classes); i++) {
		if (memcmp(vehicle_classes[i].code, code, 2) == 0)
			return vehicle_classes[i].name;
	}
	return NULL;
}

static const char *class_code(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(vehicle_classes); i++) {
		if (strcmp(vehicle_classes[i].name, name) == 0)
			return vehicle_classes[i].code;
	}
	return NULL;
}

/* A code outside the tables is JTX_E_BCD too: the hours could not be attributed. */
enum jtx_err jtx_course_decode(const uint8_t bcd[5], struct jtx_course *c)
{
	const char *d = c->digits, *name;

	memset(c, 0, sizeof(*c));
	if (jt808_bcd_to_str(bcd, 5, c->digits) != JT808_OK)
		return JTX_E_BCD;
	c->mode = (uint8_t)(d[cc.mode] - '0');
	c->part = (uint8_t)(d[cc.part] - '0');
	c->subject = (uint8_t)((d[cc.subject] - '0') * 10 + d[cc.subject + 1] - '0');
	name = class_name(d + cc.vclass);
	if (name == NULL || c->mode < 1 || c->mode > CC_MODE_MAX || c->part < 1 ||
	    c->part > CC_PART_MAX)
		return JTX_E_BCD;
	memcpy(c->vehicle_class, name, strlen(name) + 1);
	return JTX_OK;
}

/* From mode, part, subject and vehicle_class; c->digits is not read. */
bool jtx_course_encode(const struct jtx_course *c, uint8_t bcd[5])
{
	char d[JTX_COURSE_DIGITS + 1];
	const char *code;

	if (strnlen(c->vehicle_class, sizeof(c->vehicle_class)) == sizeof(c->vehicle_class))
		return false;
	code = class_code(c->vehicle_class);
	if (code == NULL || c->mode < 1 || c->mode > CC_MODE_MAX || c->part < 1 ||
	    c->part > CC_PART_MAX || c->subject > 99)
		return false;
	memset(d, '0', JTX_COURSE_DIGITS);
	d[JTX_COURSE_DIGITS] = '\0';
	d[cc.mode] = (char)('0' + c->mode);
	memcpy(d + cc.vclass, code, 2);
	d[cc.part] = (char)('0' + c->part);
	d[cc.subject] = (char)('0' + c->subject / 10);
	d[cc.subject + 1] = (char)('0' + c->subject % 10);
	return jt808_str_to_bcd(d, bcd, 5);
}

/* ---- data layouts ---- */

enum ftype {
	F_TEXT, /* fixed ASCII, width bytes */
	F_U8,	/* BYTE, WORD, DWORD into uint8_t, uint16_t, uint32_t */
	F_U16,
	F_U32,
	F_COURSE, /* BCD[5] into struct jtx_course */
	F_TIME6,  /* BCD[6] YYMMDDhhmmss (UTC+8) into time_t */
	F_TIME3,  /* BCD[3] hhmmss, the date from the record number (aux), into time_t */
	F_GNSS,	  /* the 28-byte block and its extra items into struct jt808_location;
		   * aux: bytes of fields that follow the extras */
	F_EXTRA,  /* "read aloud" BYTE, length BYTE, GBK text: skipped, built empty */
	F_BYTES,  /* length BYTE, that many bytes, into struct jtx_bytes */
};

struct field {
	uint8_t type;
	uint8_t width; /* F_TEXT: bytes on the wire */
	uint16_t off;  /* of the member in the message struct */
	uint16_t aux;  /* F_TEXT, F_Uxx: sizeof the member; F_TIME3: offset of record_no */
};

struct layout {
	const struct field *f;
	size_t n;
	bool tail_ok; /* bytes after the last field are ignored (GNSS extra items) */
};

/* Table entries: one field a line, in wire order. */
/* clang-format off */
#define MEMBER_SIZE(S, m) sizeof(((S *)0)->m)
#define TEXT(S, m, w) {F_TEXT, w, offsetof(S, m), MEMBER_SIZE(S, m)}
#define NUM(t, S, m) {t, 0, offsetof(S, m), MEMBER_SIZE(S, m)}
#define ONE(t, S, m) {t, 0, offsetof(S, m), 0}
#define GNSS(S, m, after) {F_GNSS, 0, offsetof(S, m), after}
#define LAYOUT(a, tail) {a, ARRAY_SIZE(a), tail}
/* clang-format on */

/* Record number: terminal number, then YYMMDD from here, then a sequence. */
#define RECORD_DATE_AT 16
/* BCD[6] time inside the GNSS block. */
#define GNSS_TIME_AT 22

typedef struct jtx_coach_login coach_in;
typedef struct jtx_coach_logout coach_out;
typedef struct jtx_student_login student_in;
typedef struct jtx_student_logout student_out;
typedef struct jtx_record record;
typedef struct jtx_photo_init photo_init;
typedef struct jtx_photo_data photo_data;
typedef struct jtx_answer answer;
typedef struct jtx_command command;

/* One field a line, in wire order. */
/* clang-format off */
static const struct field coach_login_f[] = {
	TEXT(coach_in, coach_no, JTX_PERSON_NO_LEN),
	TEXT(coach_in, id_card, 18),
	TEXT(coach_in, teach_class, 2),
	GNSS(coach_in, gnss, 0),
};
static const struct field coach_logout_f[] = {
	TEXT(coach_out, coach_no, JTX_PERSON_NO_LEN),
	GNSS(coach_out, gnss, 0),
};
static const struct field student_login_f[] = {
	TEXT(student_in, student_no, JTX_PERSON_NO_LEN),
	TEXT(student_in, coach_no, JTX_PERSON_NO_LEN),
	ONE(F_COURSE, student_in, course),
	NUM(F_U32, student_in, class_id),
	GNSS(student_in, gnss, 0),
};
static const struct field student_logout_f[] = {
	TEXT(student_out, student_no, JTX_PERSON_NO_LEN),
	ONE(F_TIME6, student_out, logout_time),
	NUM(F_U16, student_out, minutes),
	NUM(F_U16, student_out, mileage_dkm),
	NUM(F_U32, student_out, class_id),
	GNSS(student_out, gnss, 0),
};
static const struct field record_f[] = {
	TEXT(record, record_no, JTX_RECORD_NO_LEN),
	NUM(F_U8, record, upload_type),
	TEXT(record, student_no, JTX_PERSON_NO_LEN),
	TEXT(record, coach_no, JTX_PERSON_NO_LEN),
	NUM(F_U32, record, class_id),
	{F_TIME3, 0, offsetof(record, record_time), offsetof(record, record_no)},
	ONE(F_COURSE, record, course),
	NUM(F_U8, record, status),
	NUM(F_U16, record, max_speed_dkmh),
	NUM(F_U16, record, mileage_dkm),
	GNSS(record, gnss, 0),
};
static const struct field photo_init_f[] = {
	TEXT(photo_init, photo_no, JTX_PHOTO_NO_LEN),
	TEXT(photo_init, person_no, JTX_PERSON_NO_LEN),
	NUM(F_U8, photo_init, upload_mode),
	NUM(F_U8, photo_init, channel),
	NUM(F_U8, photo_init, size_code),
	NUM(F_U8, photo_init, event),
	NUM(F_U16, photo_init, total_packets),
	NUM(F_U32, photo_init, photo_size),
	NUM(F_U32, photo_init, class_id),
	GNSS(photo_init, gnss, 1),
	NUM(F_U8, photo_init, face_confidence),
};
static const struct field photo_data_f[] = {
	TEXT(photo_data, photo_no, JTX_PHOTO_NO_LEN),
};

static const struct field coach_login_ack_f[] = {
	NUM(F_U8, answer, result),
	TEXT(answer, person_no, JTX_PERSON_NO_LEN),
	{F_EXTRA, 0, 0, 0},
};
static const struct field person_ack_f[] = {
	NUM(F_U8, answer, result),
	TEXT(answer, person_no, JTX_PERSON_NO_LEN),
};
static const struct field student_login_ack_f[] = {
	NUM(F_U8, answer, result),
	TEXT(answer, person_no, JTX_PERSON_NO_LEN),
	NUM(F_U16, answer, total_minutes),
	NUM(F_U16, answer, part_minutes),
	NUM(F_U16, answer, total_mileage),
	NUM(F_U16, answer, part_mileage),
	{F_EXTRA, 0, 0, 0},
};
static const struct field result_ack_f[] = {
	NUM(F_U8, answer, result),
};
/* clang-format on */

/* The platform's commands and the terminal's answers (cheshang ByteToCls.java). */
static const struct field fetch_records_f[] = {
	NUM(F_U8, command, query_mode),
	ONE(F_TIME6, command, from),
	ONE(F_TIME6, command, to),
	NUM(F_U16, command, count),
};
static const struct field take_photo_f[] = {
	NUM(F_U8, command, upload_mode),
	NUM(F_U8, command, channel),
	NUM(F_U8, command, size_code),
};
static const struct field training_ban_f[] = {
	NUM(F_U8, command, ban_state),
	ONE(F_BYTES, command, message),
};
static const struct field command_result_f[] = {
	NUM(F_U8, command, result),
};
static const struct field take_photo_ack_f[] = {
	NUM(F_U8, command, result),
	NUM(F_U8, command, upload_mode),
	NUM(F_U8, command, channel),
	NUM(F_U8, command, size_code),
};
static const struct field training_ban_ack_f[] = {
	NUM(F_U8, command, result),
	NUM(F_U8, command, ban_state),
	ONE(F_BYTES, command, message),
};
/* clang-format on */

static const struct {
	uint16_t id, answer_id;
	struct layout cmd, answer;
} commands[] = {
	{JTX_FETCH_RECORDS, JTX_FETCH_RECORDS_ACK, LAYOUT(fetch_records_f, false),
	 LAYOUT(command_result_f, false)},
	{JTX_TAKE_PHOTO, JTX_TAKE_PHOTO_ACK, LAYOUT(take_photo_f, false),
	 LAYOUT(take_photo_ack_f, false)},
	{JTX_TRAINING_BAN, JTX_TRAINING_BAN_ACK, LAYOUT(training_ban_f, false),
	 LAYOUT(training_ban_ack_f, false)},
};
/* clang-format off */

static const struct layout coach_login_l = LAYOUT(coach_login_f, true);
static const struct layout coach_logout_l = LAYOUT(coach_logout_f, true);
static const struct layout student_login_l = LAYOUT(student_login_f, true);
static const struct layout student_logout_l = LAYOUT(student_logout_f, true);
static const struct layout record_l = LAYOUT(record_f, true);
static const struct layout photo_init_l = LAYOUT(photo_init_f, false);
static const struct layout photo_data_l = LAYOUT(photo_data_f, true);

static const struct {
	uint16_t id;
	struct layout l;
} answers[] = {
	{JTX_COACH_LOGIN_ACK, LAYOUT(coach_login_ack_f, false)},
	{JTX_COACH_LOGOUT_ACK, LAYOUT(person_ack_f, false)},
	{JTX_STUDENT_LOGIN_ACK, LAYOUT(student_login_ack_f, false)},
	{JTX_STUDENT_LOGOUT_ACK, LAYOUT(person_ack_f, false)},
	{JTX_PHOTO_INIT_ACK, LAYOUT(result_ack_f, false)},
};

static const struct layout *answer_layout(uint16_t id)
{
	for (size_t i = 0; i < ARRAY_SIZE(answers); i++) {
		if (answers[i].id == id)
			return &answers[i].l;
	}
	return NULL;
}

/* Bytes a field takes on the wire (F_EXTRA: its two fixed bytes). */
static size_t wire_size(const struct field *f)
{
	switch ((enum ftype)f->type) {
	case F_TEXT:
		return f->width;
	case F_U8:
		return 1;
	case F_U16:
		return 2;
	case F_U32:
		return 4;
	case F_COURSE:
		return 5;
	case F_TIME6:
		return 6;
	case F_TIME3:
		return 3;
	case F_GNSS:
		return JT808_LOCATION_LEN;
	case F_EXTRA:
		return 2;
	case F_BYTES:
		return 1;
	}
	return 0;
}

/* ---- field readers ---- */

static enum jtx_err time_err(enum jt808_err e)
{
	if (e == JT808_OK)
		return JTX_OK;
	return e == JT808_E_BCD ? JTX_E_BCD : JTX_E_TIME;
}

/* The date comes from the record number, read earlier into the same struct. */
static enum jtx_err get_time3(const uint8_t *p, const char *record_no, time_t *t)
{
	uint8_t b6[6];

	if (strnlen(record_no, JTX_RECORD_NO_LEN + 1) < RECORD_DATE_AT + 6)
		return JTX_E_TIME;
	for (size_t i = 0; i < 6; i++) {
		char c = record_no[RECORD_DATE_AT + i];

		if (c < '0' || c > '9')
			return JTX_E_TIME;
	}
	for (size_t i = 0; i < 3; i++) {
		const char *c = record_no + RECORD_DATE_AT + 2 * i;

		b6[i] = (uint8_t)((c[0] - '0') << 4 | (c[1] - '0'));
	}
	memcpy(b6 + 3, p, 3);
	return time_err(jt808_bcd_time(b6, t));
}

/*
 * The extra items after the GNSS block: ID BYTE, length BYTE, value.
 * Known IDs of the right length are decoded, others skipped; items are
 * read while they fit in p[0..n), and what does not make a whole item is
 * left (the caller's layout decides whether a tail is allowed).  Returns
 * the bytes consumed.
 */
static const struct {
	uint8_t id, len, bit;
} gnss_extras[] = {
	{0x01, 4, JT808_X_MILEAGE},
	{0x02, 2, JT808_X_FUEL},
	{0x03, 2, JT808_X_ALTITUDE},
	{0x05, 2, JT808_X_RPM},
};

static void take_extra(struct jt808_location *loc, uint8_t bit, const uint8_t *v)
{
	loc->extras |= bit;
	if (bit == JT808_X_MILEAGE)
		loc->mileage_dkm = jt808_get32(v);
	else if (bit == JT808_X_FUEL)
		loc->fuel_dl = jt808_get16(v);
	else if (bit == JT808_X_ALTITUDE)
		loc->altitude_m = jt808_get16(v);
	else
		loc->engine_rpm = jt808_get16(v);
}

static size_t get_extras(const uint8_t *p, size_t n, struct jt808_location *loc)
{
	size_t pos = 0;

	while (n - pos >= 2 && n - pos - 2 >= p[pos + 1]) {
		uint8_t id = p[pos], len = p[pos + 1];

		for (size_t i = 0; i < ARRAY_SIZE(gnss_extras); i++) {
			if (gnss_extras[i].id == id && gnss_extras[i].len == len)
				take_extra(loc, gnss_extras[i].bit, p + pos + 2);
		}
		pos += 2u + len;
	}
	return pos;
}

/*
 * An all-zero time is what a terminal without a fix sends: kept as time
 * 0 (fix false, as the status says); any other bad time is JTX_E_GNSS.
 * The word at 16 is the recorder's speed in these messages (808's 0x0200
 * has the altitude there).
 */
static enum jtx_err get_gnss(const uint8_t *p, struct jt808_location *loc)
{
	static const uint8_t zero_time[6];
	enum jt808_err e = jt808_parse_location(p, JT808_LOCATION_LEN, loc);

	loc->recorder_speed_dkmh = loc->altitude_m;
	loc->altitude_m = 0;
	if (e == JT808_OK)
		return JTX_OK;
	if (e == JT808_E_TIME && memcmp(p + GNSS_TIME_AT, zero_time, 6) == 0) {
		loc->time = 0;
		return JTX_OK;
	}
	return JTX_E_GNSS;
}

static enum jtx_err get_num(const struct field *f, const uint8_t *p, char *m)
{
	uint8_t v8 = p[0];
	uint16_t v16;
	uint32_t v32;

	if (f->aux != wire_size(f))
		return JTX_E_SPACE; /* a table entry that does not match its member */
	if (f->type == F_U8) {
		memcpy(m + f->off, &v8, 1);
	} else if (f->type == F_U16) {
		v16 = jt808_get16(p);
		memcpy(m + f->off, &v16, 2);
	} else {
		v32 = jt808_get32(p);
		memcpy(m + f->off, &v32, 4);
	}
	return JTX_OK;
}

/* *used may grow for F_EXTRA, whose length is in the data. */
static enum jtx_err get_field(const struct field *f, const uint8_t *p, size_t avail, char *m,
			      size_t *used)
{
	switch ((enum ftype)f->type) {
	case F_TEXT:
		return get_text(p, f->width, m + f->off, f->aux);
	case F_U8:
	case F_U16:
	case F_U32:
		return get_num(f, p, m);
	case F_COURSE:
		return jtx_course_decode(p, (struct jtx_course *)(void *)(m + f->off));
	case F_TIME6:
		return time_err(jt808_bcd_time(p, (time_t *)(void *)(m + f->off)));
	case F_TIME3:
		return get_time3(p, m + f->aux, (time_t *)(void *)(m + f->off));
	case F_GNSS: {
		struct jt808_location *loc = (struct jt808_location *)(void *)(m + f->off);
		enum jtx_err e = get_gnss(p, loc);
		if (e == JTX_OK && avail - JT808_LOCATION_LEN > f->aux)
			*used += get_extras(p + JT808_LOCATION_LEN,
					    avail - JT808_LOCATION_LEN - f->aux, loc);
		return e;
	}
	case F_EXTRA:
		*used = 2 + (size_t)p[1];
		return avail >= *used ? JTX_OK : JTX_E_SHORT;
	case F_BYTES: {
		struct jtx_bytes *b = (struct jtx_bytes *)(void *)(m + f->off);
		*used = 1 + (size_t)p[0];
		if (avail < *used)
			return JTX_E_SHORT;
		b->p = p + 1;
		b->len = p[0];
		return JTX_OK;
	}
	}
	return JTX_E_SPACE;
}

static enum jtx_err parse_layout(const struct layout *l, const uint8_t *d, size_t n, void *msg)
{
	size_t pos = 0;

	for (size_t i = 0; i < l->n; i++) {
		size_t used = wire_size(&l->f[i]);
		enum jtx_err e;

		if (n - pos < used)
			return JTX_E_SHORT;
		e = get_field(&l->f[i], d + pos, n - pos, msg, &used);
		if (e != JTX_OK)
			return e;
		pos += used;
	}
	return pos == n || l->tail_ok ? JTX_OK : JTX_E_LENGTH;
}

/* ---- field writers ---- */

/* BCD[6] of t, false when it would not read back as t (outside 2000-2099). */
static bool time_bcd(time_t t, uint8_t b6[6])
{
	time_t back;

	jt808_time_bcd(t, b6);
	return jt808_bcd_time(b6, &back) == JT808_OK && back == t;
}

/* Refuses a time whose date is not the record number's: it would not read back. */
static bool put_time3(uint8_t *p, const char *record_no, time_t t)
{
	uint8_t b6[6];
	char date[7];

	if (!time_bcd(t, b6) || jt808_bcd_to_str(b6, 3, date) != JT808_OK)
		return false;
	if (strnlen(record_no, JTX_RECORD_NO_LEN + 1) < RECORD_DATE_AT + 6 ||
	    memcmp(record_no + RECORD_DATE_AT, date, 6) != 0)
		return false;
	memcpy(p, b6 + 3, 3);
	return true;
}

/* Bytes the extra items of loc take on the wire. */
static size_t extras_size(const struct jt808_location *loc)
{
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(gnss_extras); i++) {
		if (loc->extras & gnss_extras[i].bit)
			n += 2u + gnss_extras[i].len;
	}
	return n;
}

static void put_extras(uint8_t *p, const struct jt808_location *loc)
{
	for (size_t i = 0; i < ARRAY_SIZE(gnss_extras); i++) {
		uint8_t bit = gnss_extras[i].bit;

		if (!(loc->extras & bit))
			continue;
		*p++ = gnss_extras[i].id;
		*p++ = gnss_extras[i].len;
		if (bit == JT808_X_MILEAGE)
			p = jt808_put32(p, loc->mileage_dkm);
		else
			p = jt808_put16(p, bit == JT808_X_FUEL	     ? loc->fuel_dl
					   : bit == JT808_X_ALTITUDE ? loc->altitude_m
								     : loc->engine_rpm);
	}
}

/* Time 0 is written as the all-zero time, as get_gnss reads it; the recorder speed at 16. */
static bool put_gnss(uint8_t *p, const struct jt808_location *loc)
{
	struct jt808_location block = *loc;

	block.altitude_m = loc->recorder_speed_dkmh;
	jt808_build_location(&block, p);
	put_extras(p + JT808_LOCATION_LEN, loc);
	if (loc->time == 0) {
		memset(p + GNSS_TIME_AT, 0, 6);
		return true;
	}
	return time_bcd(loc->time, p + GNSS_TIME_AT);
}

static bool put_num(const struct field *f, uint8_t *p, const char *m)
{
	uint8_t v8 = 0;
	uint16_t v16 = 0;
	uint32_t v32 = 0;

	if (f->aux != wire_size(f))
		return false;
	if (f->type == F_U8) {
		memcpy(&v8, m + f->off, 1);
		p[0] = v8;
	} else if (f->type == F_U16) {
		memcpy(&v16, m + f->off, 2);
		jt808_put16(p, v16);
	} else {
		memcpy(&v32, m + f->off, 4);
		jt808_put32(p, v32);
	}
	return true;
}

static bool put_field(const struct field *f, uint8_t *p, const char *m)
{
	time_t t;

	switch ((enum ftype)f->type) {
	case F_TEXT:
		return put_text(p, f->width, m + f->off, f->aux);
	case F_U8:
	case F_U16:
	case F_U32:
		return put_num(f, p, m);
	case F_COURSE:
		return jtx_course_encode((const struct jtx_course *)(const void *)(m + f->off), p);
	case F_TIME6:
		memcpy(&t, m + f->off, sizeof(t));
		return time_bcd(t, p);
	case F_TIME3:
		memcpy(&t, m + f->off, sizeof(t));
		return put_time3(p, m + f->aux, t);
	case F_GNSS:
		return put_gnss(p, (const struct jt808_location *)(const void *)(m + f->off));
	case F_EXTRA:
		p[0] = p[1] = 0;
		return true;
	case F_BYTES: {
		const struct jtx_bytes *b = (const struct jtx_bytes *)(const void *)(m + f->off);
		p[0] = b->len;
		if (b->len)
			memcpy(p + 1, b->p, b->len);
		return true;
	}
	}
	return false;
}

/* Bytes a field of msg takes when built: the GNSS block with its extras, bytes with theirs. */
static size_t built_size(const struct field *f, const void *msg)
{
	const char *m = msg;

	if (f->type == F_BYTES)
		return 1 + ((const struct jtx_bytes *)(const void *)(m + f->off))->len;
	if (f->type != F_GNSS)
		return wire_size(f);
	return JT808_LOCATION_LEN +
	       extras_size((const struct jt808_location *)(const void *)(m + f->off));
}

/* 0 when cap is too small or a field cannot be written as it would be read. */
static size_t build_layout(const struct layout *l, const void *msg, uint8_t *out, size_t cap)
{
	size_t total = 0, pos = 0;

	for (size_t i = 0; i < l->n; i++)
		total += built_size(&l->f[i], msg);
	if (total > cap)
		return 0;
	for (size_t i = 0; i < l->n; i++) {
		if (!put_field(&l->f[i], out + pos, msg))
			return 0;
		pos += built_size(&l->f[i], msg);
	}
	return pos;
}

/* ---- the messages ---- */

enum jtx_err jtx_parse_coach_login(const uint8_t *d, size_t n, struct jtx_coach_login *m)
{
	memset(m, 0, sizeof(*m));
	return parse_layout(&coach_login_l, d, n, m);
}

enum jtx_err jtx_parse_coach_logout(const uint8_t *d, size_t n, struct jtx_coach_logout *m)
{
	memset(m, 0, sizeof(*m));
	return parse_layout(&coach_logout_l, d, n, m);
}

enum jtx_err jtx_parse_student_login(const uint8_t *d, size_t n, struct jtx_student_login *m)
{
	memset(m, 0, sizeof(*m));
	return parse_layout(&student_login_l, d, n, m);
}

enum jtx_err jtx_parse_student_logout(const uint8_t *d, size_t n, struct jtx_student_logout *m)
{
	memset(m, 0, sizeof(*m));
	return parse_layout(&student_logout_l, d, n, m);
}

enum jtx_err jtx_parse_record(const uint8_t *d, size_t n, struct jtx_record *m)
{
	memset(m, 0, sizeof(*m));
	return parse_layout(&record_l, d, n, m);
}

enum jtx_err jtx_parse_photo_init(const uint8_t *d, size_t n, struct jtx_photo_init *m)
{
	memset(m, 0, sizeof(*m));
	return parse_layout(&photo_init_l, d, n, m);
}

enum jtx_err jtx_parse_photo_data(const uint8_t *d, size_t n, struct jtx_photo_data *m)
{
	enum jtx_err e;

	memset(m, 0, sizeof(*m));
	e = parse_layout(&photo_data_l, d, n, m);
	if (e != JTX_OK)
		return e;
	m->bytes = d + JTX_PHOTO_NO_LEN;
	m->len = n - JTX_PHOTO_NO_LEN;
	return JTX_OK;
}

size_t jtx_build_coach_login(const struct jtx_coach_login *m, uint8_t *out, size_t cap)
{
	return build_layout(&coach_login_l, m, out, cap);
}

size_t jtx_build_coach_logout(const struct jtx_coach_logout *m, uint8_t *out, size_t cap)
{
	return build_layout(&coach_logout_l, m, out, cap);
}

size_t jtx_build_student_login(const struct jtx_student_login *m, uint8_t *out, size_t cap)
{
	return build_layout(&student_login_l, m, out, cap);
}

size_t jtx_build_student_logout(const struct jtx_student_logout *m, uint8_t *out, size_t cap)
{
	return build_layout(&student_logout_l, m, out, cap);
}

size_t jtx_build_record(const struct jtx_record *m, uint8_t *out, size_t cap)
{
	return build_layout(&record_l, m, out, cap);
}

size_t jtx_build_photo_init(const struct jtx_photo_init *m, uint8_t *out, size_t cap)
{
	return build_layout(&photo_init_l, m, out, cap);
}

size_t jtx_build_photo_data(const char *photo_no, const uint8_t *bytes, size_t len, uint8_t *out,
			    size_t cap)
{
	if (cap < JTX_PHOTO_NO_LEN || cap - JTX_PHOTO_NO_LEN < len)
		return 0;
	if (!put_text(out, JTX_PHOTO_NO_LEN, photo_no, JTX_PHOTO_NO_LEN + 1))
		return 0;
	if (len > 0)
		memcpy(out + JTX_PHOTO_NO_LEN, bytes, len);
	return JTX_PHOTO_NO_LEN + len;
}

/* ---- the platform's answers ---- */

size_t jtx_build_answer(uint16_t answer_id, const struct jtx_answer *a, uint8_t *out, size_t cap)
{
	const struct layout *l = answer_layout(answer_id);

	return l ? build_layout(l, a, out, cap) : 0;
}

/* An answer ID without a layout is JTX_E_TYPE. */
enum jtx_err jtx_parse_answer(uint16_t answer_id, const uint8_t *d, size_t n, struct jtx_answer *a)
{
	const struct layout *l = answer_layout(answer_id);

	memset(a, 0, sizeof(*a));
	return l ? parse_layout(l, d, n, a) : JTX_E_TYPE;
}

/* ---- the platform's commands ---- */

uint16_t jtx_command_answer_id(uint16_t id)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (commands[i].id == id)
			return commands[i].answer_id;
	}
	return 0;
}

uint16_t jtx_command_of_answer(uint16_t answer_id)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (commands[i].answer_id == answer_id)
			return commands[i].id;
	}
	return 0;
}

/* The layout of a command's ID or of its answer's ID; NULL for neither. */
static const struct layout *command_layout(uint16_t id)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (commands[i].id == id)
			return &commands[i].cmd;
		if (commands[i].answer_id == id)
			return &commands[i].answer;
	}
	return NULL;
}

size_t jtx_build_command(uint16_t id, const struct jtx_command *c, uint8_t *out, size_t cap)
{
	const struct layout *l = command_layout(id);

	return l ? build_layout(l, c, out, cap) : 0;
}

/* An ID that is neither a command nor an answer to one is JTX_E_TYPE. */
enum jtx_err jtx_parse_command(uint16_t id, const uint8_t *d, size_t n, struct jtx_command *c)
{
	const struct layout *l = command_layout(id);

	memset(c, 0, sizeof(*c));
	return l ? parse_layout(l, d, n, c) : JTX_E_TYPE;
}
