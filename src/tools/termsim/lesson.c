/*
 * lesson.c - termsim's timing-training lesson (--lesson N), built and
 * signed (lesson.h: the script; lesson_run.c sends it).
 *
 * A terminal's lesson is a script of 0x0900 bodies, every one built and
 * signed before anything is timed (an RSA signature costs the client
 * about 30 times what its verification costs the server, and the
 * benchmark must measure the server): coach login, student login, the
 * photo (init, data), N minute records, the resent record, the record
 * reusing a number, student logout, coach logout (--no-login leaves the
 * logins out, --no-logout the logouts, --no-session both).
 * termsim_lesson_step() (lesson_run.c) sends them in that order.
 */
#include "hoursd.h"
#include "jt808.h"
#include "jtx.h"
#include "lesson.h"
#include "log.h"
#include "sig.h"
#include "termsim.h"

#include <time.h>

#define LESSON_DKM_PER_MIN 5 /* 0.5 km a minute: 30 km/h */
#define LESSON_MAX_SPEED 350 /* 0.1 km/h */
#define LESSON_DATA_MAX 256  /* data of everything but the photo */
#define LESSON_HDR_ROOM 64   /* the extension header (27 bytes) and some */

/* What building a lesson needs. */
struct build {
	struct sim *s;
	struct termsim_lesson *l;
	const struct lesson_opts *o;
	EVP_PKEY *key;
};

/* Nine digits that differ from run to run: the wall clock in milliseconds. */
static unsigned long photo_serial(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (unsigned long)(((unsigned long long)ts.tv_sec * 1000 +
				(unsigned long long)ts.tv_nsec / 1000000) %
			       1000000000ULL);
}

/* The terminal number is the terminal's (an option, a default or the registration's). */
static bool lesson_numbers(struct sim *s, struct termsim_lesson *l)
{
	const struct lesson_opts *o = &s->o->l;
	unsigned i = s->index;

	memcpy(l->terminal_no, s->terminal_no, sizeof(l->terminal_no));
	if (o->photo_no)
		snprintf(l->photo_no, sizeof(l->photo_no), "P%s", o->photo_no);
	else
		snprintf(l->photo_no, sizeof(l->photo_no), "P%09lu", photo_serial());
	return termsim_number_plus(o->coach_no, i, l->coach_no, sizeof(l->coach_no)) &&
	       termsim_number_plus(o->student_no, i, l->student_no, sizeof(l->student_no));
}

/* The route: a few metres north-east a minute from the school, 30 km/h. */
static struct jt808_location gnss_at(time_t t, unsigned minute)
{
	struct jt808_location g = {
		.status = JT808_ST_FIX,
		.lat_e6 = 31230000 + (int32_t)(minute % 10000) * 80,
		.lon_e6 = 121470000 + (int32_t)(minute % 10000) * 80,
		.altitude_m = 10,
		.speed_dkmh = 300,
		.direction = 45,
		.time = t,
		.fix = true,
	};

	return g;
}

/*
 * A record in the timing layout carries what a real terminal adds to the
 * block: the odometer (0x01) and the engine speed (0x05), and the
 * recorder's own speed beside the satellite's (docs/protocol.md).
 */
static void record_extras(const struct sim *s, struct jt808_location *g, unsigned minute)
{
	if (s->o->layout != JT808_LTIMING)
		return;
	g->extras = JT808_X_MILEAGE | JT808_X_RPM;
	g->mileage_dkm = 123450 + minute * LESSON_DKM_PER_MIN;
	g->engine_rpm = (uint16_t)(1750 + (minute % 7) * 25);
	g->recorder_speed_dkmh = (uint16_t)(g->speed_dkmh - 4 + minute % 9);
}

static const char *key_name(const struct sim *s)
{
	return s->sign_key ? s->sign_key : "the key of the registration answer";
}

static struct lmsg *push(struct termsim_lesson *l, const struct lmsg *m)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct lmsg *p = realloc(l->m, cap * sizeof(*p));

		if (!p)
			return NULL;
		l->m = p;
		l->cap = cap;
	}
	l->m[l->n] = *m;
	return &l->m[l->n++];
}

/* Flip one byte in the middle of the signature at the end of m's body. */
static void tamper(struct lmsg *m, size_t sig_len)
{
	m->body[m->len - sig_len / 2 - 1] ^= 0xff;
}

/*
 * Build the body of extended message id around data, sign exactly the
 * span jtx_signed_span() names, build again with the signature.  The
 * caller sets role and expectations in m afterwards.  RSA signs the bare
 * digest in the timing layout, as the terminals do, and the DigestInfo
 * form elsewhere (the server takes both).  --unsigned: properties 0x0002,
 * no check string, as a widely used terminal app sends its records.
 */
static bool sign_body(const struct build *b, uint16_t id, uint16_t serial, const uint8_t *data,
		      size_t n, bool spoil, struct lmsg *m)
{
	bool unsig = b->o->unsigned_msgs;
	struct jtx_header h = {.msg_id = id,
			       .props = unsig ? JTX_PROP_ANSWER : JTX_PROP_SIGNED | JTX_PROP_ANSWER,
			       .serial = serial};
	if (id == JTX_RECORD && b->o->reupload)
		h.props |= JTX_PROP_REUPLOAD;
	size_t cap = LESSON_HDR_ROOM + n + JTX_MAX_SIG, off, span, sig_len = JTX_MAX_SIG;
	uint8_t sig[JTX_MAX_SIG];
	enum sig_form form = b->s->o->layout == JT808_LTIMING ? SIG_FORM_BARE : SIG_FORM_DIGESTINFO;

	memcpy(h.terminal_no, b->l->terminal_no, sizeof(h.terminal_no));
	*m = (struct lmsg){.owns = true, .ext_id = id, .ext_serial = serial, .result = -1};
	if (!(m->body = malloc(cap)) || !(m->len = jtx_build(&h, data, n, NULL, 0, m->body, cap)))
		goto fail;
	if (unsig)
		return true;
	jtx_signed_span(n, &off, &span);
	if (off + span > m->len ||
	    !sig_sign_form(b->key, form, m->body + off, span, sig, &sig_len)) {
		log_error("cannot sign timing message 0x%04x with %s", id, key_name(b->s));
		goto fail;
	}
	if (!(m->len = jtx_build(&h, data, n, sig, sig_len, m->body, cap)))
		goto fail;
	if (spoil)
		tamper(m, sig_len);
	return true;
fail:
	log_error("cannot build timing message 0x%04x (%zu data bytes)", id, n);
	free(m->body);
	m->body = NULL;
	return false;
}

/* Sign data as the next message of the script. */
static bool add(const struct build *b, uint16_t id, const uint8_t *data, size_t n, enum role role,
		bool wait)
{
	struct lmsg m;

	if (n == 0 || !sign_body(b, id, ++b->l->ext_serial, data, n, false, &m))
		return false;
	m.role = (uint8_t)role;
	m.wait = wait;
	if (push(b->l, &m))
		return true;
	free(m.body);
	return false;
}

static time_t record_time(const struct termsim_lesson *l, long i)
{
	return l->t0 + 60 * (time_t)i;
}

static bool add_coach_login(const struct build *b)
{
	struct jtx_coach_login x = {.gnss = gnss_at(record_time(b->l, -2), 0)};
	uint8_t d[LESSON_DATA_MAX];

	memcpy(x.coach_no, b->l->coach_no, sizeof(x.coach_no));
	snprintf(x.id_card, sizeof(x.id_card), "310101198001011234");
	snprintf(x.teach_class, sizeof(x.teach_class), "%s", b->o->course.vehicle_class);
	return add(b, JTX_COACH_LOGIN, d, jtx_build_coach_login(&x, d, sizeof(d)), R_COACH_IN,
		   true);
}

static bool add_student_login(const struct build *b)
{
	struct jtx_student_login x = {.course = b->o->course,
				      .class_id = b->o->class_id,
				      .gnss = gnss_at(record_time(b->l, -1), 0)};
	uint8_t d[LESSON_DATA_MAX];

	memcpy(x.student_no, b->l->student_no, sizeof(x.student_no));
	memcpy(x.coach_no, b->l->coach_no, sizeof(x.coach_no));
	return add(b, JTX_STUDENT_LOGIN, d, jtx_build_student_login(&x, d, sizeof(d)), R_STUDENT_IN,
		   true);
}

static bool add_student_logout(const struct build *b)
{
	long n = b->o->minutes;
	struct jtx_student_logout x = {.logout_time = record_time(b->l, n - 1) + 30,
				       .minutes = (uint16_t)n,
				       .mileage_dkm = (uint16_t)(n * LESSON_DKM_PER_MIN),
				       .class_id = b->o->class_id};
	uint8_t d[LESSON_DATA_MAX];

	x.gnss = gnss_at(x.logout_time, (unsigned)n);
	memcpy(x.student_no, b->l->student_no, sizeof(x.student_no));
	return add(b, JTX_STUDENT_LOGOUT, d, jtx_build_student_logout(&x, d, sizeof(d)),
		   R_STUDENT_OUT, true);
}

static bool add_coach_logout(const struct build *b)
{
	struct jtx_coach_logout x = {.gnss = gnss_at(record_time(b->l, b->o->minutes - 1) + 45,
						     (unsigned)b->o->minutes)};
	uint8_t d[LESSON_DATA_MAX];

	memcpy(x.coach_no, b->l->coach_no, sizeof(x.coach_no));
	return add(b, JTX_COACH_LOGOUT, d, jtx_build_coach_logout(&x, d, sizeof(d)), R_COACH_OUT,
		   true);
}

/*
 * Record i's minute on the route and the odometer: from the lesson's
 * start with --resume, so that a record sent again after a reconnect is
 * the same bytes as the first time (else another record under its number).
 */
static unsigned route_minute(const struct build *b, long i)
{
	return (unsigned)((b->o->resume ? b->o->record_seq - 1 : 0) + i);
}

/* Record i (from 0): number, time and route; mileage_extra makes a different record. */
static bool record_at(const struct build *b, long i, unsigned mileage_extra, struct jtx_record *r)
{
	time_t t = record_time(b->l, i);
	uint8_t b6[6];
	char date[13];

	jt808_time_bcd(t, b6);
	if (jt808_bcd_to_str(b6, 3, date) != JT808_OK)
		return false;
	*r = (struct jtx_record){.upload_type = b->o->reupload ? 2 : 1,
				 .class_id = b->o->class_id,
				 .record_time = t,
				 .course = b->o->course,
				 .max_speed_dkmh = LESSON_MAX_SPEED,
				 .mileage_dkm = (uint16_t)(LESSON_DKM_PER_MIN + mileage_extra),
				 .gnss = gnss_at(t, route_minute(b, i))};
	record_extras(b->s, &r->gnss, route_minute(b, i));
	snprintf(r->record_no, sizeof(r->record_no), "%s%.6s%04ld", b->l->terminal_no, date,
		 b->o->record_seq + i);
	memcpy(r->student_no, b->l->student_no, sizeof(r->student_no));
	memcpy(r->coach_no, b->l->coach_no, sizeof(r->coach_no));
	return true;
}

/* Record i (from 0), or a different record under its number (mileage_extra > 0). */
static bool add_record(const struct build *b, long i, enum role role, unsigned mileage_extra)
{
	const struct lesson_opts *o = b->o;
	bool spoil = role == R_RECORD && o->tamper == i + 1;
	struct jtx_record r;
	uint8_t d[LESSON_DATA_MAX];
	size_t n;
	struct lmsg m;

	if (!record_at(b, i, mileage_extra, &r) || !(n = jtx_build_record(&r, d, sizeof(d)))) {
		log_error("cannot build record %ld", i + 1);
		return false;
	}
	if (!sign_body(b, JTX_RECORD, ++b->l->ext_serial, d, n, spoil, &m))
		return false;
	m.role = (uint8_t)role;
	m.wait = role != R_RECORD || i == 0;
	m.expect_fail = spoil || role == R_REUSE || o->no_session;
	memcpy(m.record_no, r.record_no, sizeof(m.record_no));
	if (push(b->l, &m))
		return true;
	free(m.body);
	return false;
}

/* Record k (from 1) again, the same bytes, answered as it was. */
static bool add_resend(const struct build *b, long k)
{
	struct termsim_lesson *l = b->l;
	long seen = 0;

	for (size_t at = 0; at < l->n; at++) {
		struct lmsg m = l->m[at];

		if (m.role != R_RECORD || ++seen != k)
			continue;
		m.owns = false;
		m.role = R_RESEND;
		m.wait = true;
		return push(l, &m) != NULL;
	}
	return false;
}

/*
 * --again: every message of the set sent again after the lesson, the
 * same bytes, expected answered as the first copy was.
 */
static bool add_again(struct termsim_lesson *l, unsigned set)
{
	size_t n = l->n;

	for (size_t at = 0; at < n; at++) {
		struct lmsg m = l->m[at];

		if (!(set & (1u << m.role)))
			continue;
		m.owns = false;
		m.wait = true;
		if (!push(l, &m))
			return false;
	}
	return true;
}

static void fill_random(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t x = seed | 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)(x >> 24);
	}
}

/* The digest the server should store for the photo. */
static void log_photo(const char *photo_no, const uint8_t *img, size_t n)
{
	uint8_t md[32];
	unsigned mdlen = 0;
	char hex[65];

	if (!log_enabled(HLOG_INFO) || EVP_Digest(img, n, md, &mdlen, EVP_sha256(), NULL) != 1)
		return;
	hex_encode(hex, md, 32);
	log_info("photo %s: %zu bytes, sha256 %s", photo_no, n, hex);
}

/* The photo of --photo-file: exactly n bytes, as its size was when the option was read. */
static bool read_photo(const char *path, uint8_t *img, size_t n)
{
	FILE *f = fopen(path, "rb");
	bool ok = f && fread(img, 1, n, f) == n && fgetc(f) == EOF;
	if (f)
		fclose(f);
	return ok;
}

static bool photo_data(const struct build *b, uint16_t serial, struct lmsg *m)
{
	size_t bytes = (size_t)b->o->photo_bytes, cap = JTX_PHOTO_NO_LEN + bytes;
	uint8_t *img = malloc(bytes ? bytes : 1), *d = malloc(cap);
	size_t n = 0;
	bool ok = false;

	if (img && d && b->o->photo_file && !read_photo(b->o->photo_file, img, bytes)) {
		log_error("--photo-file %s: cannot read its %zu bytes", b->o->photo_file, bytes);
	} else if (img && d) {
		if (b->o->photo_file == NULL)
			fill_random(img, bytes,
				    0x9e3779b97f4a7c15ULL ^ strtoull(b->l->photo_no + 1, NULL, 10));
		log_photo(b->l->photo_no, img, bytes);
		n = jtx_build_photo_data(b->l->photo_no, img, bytes, d, cap);
		ok = n > 0 && sign_body(b, JTX_PHOTO_DATA, serial, d, n, false, m);
	}
	free(img);
	free(d);
	m->role = R_PHOTO_DATA;
	m->wait = true;
	m->untracked = b->o->photo_drop > 0;
	return ok;
}

static bool photo_init(const struct build *b, uint16_t serial, unsigned pieces, struct lmsg *m)
{
	struct jtx_photo_init x = {.upload_mode = 1,
				   .channel = 1,
				   .size_code = 1,
				   .event = 1,
				   .total_packets = (uint16_t)pieces,
				   .photo_size = (uint32_t)b->o->photo_bytes,
				   .class_id = b->o->class_id,
				   .gnss = gnss_at(record_time(b->l, -1) + 30, 0),
				   .face_confidence = 90};
	uint8_t d[LESSON_DATA_MAX];
	size_t n;

	memcpy(x.photo_no, b->l->photo_no, sizeof(x.photo_no));
	memcpy(x.person_no, b->l->student_no, sizeof(x.person_no));
	/* The timing layout: 79 bytes, as peers see them (mileage and altitude, then the
	 * face-match confidence last). */
	if (b->s->o->layout == JT808_LTIMING) {
		x.gnss.extras = JT808_X_MILEAGE | JT808_X_ALTITUDE;
		x.gnss.mileage_dkm = 123450;
		x.gnss.altitude_m = 12;
	}
	n = jtx_build_photo_init(&x, d, sizeof(d));
	if (n == 0 || !sign_body(b, JTX_PHOTO_INIT, serial, d, n, false, m))
		return false;
	m->role = R_PHOTO_INIT;
	m->wait = true;
	return true;
}

/* The data is built first: the init announces its number of pieces. */
static bool add_photo(const struct build *b)
{
	uint16_t init_serial = ++b->l->ext_serial, data_serial = ++b->l->ext_serial;
	struct lmsg data = {0}, init = {0};
	unsigned pieces;
	bool ok = photo_data(b, data_serial, &data);

	pieces = termsim_pieces(data.len);
	if (ok && b->o->photo_drop > (long)pieces) {
		log_error("--photo-drop %ld: the photo goes in %u piece(s)", b->o->photo_drop,
			  pieces);
		ok = false;
	}
	ok = ok && photo_init(b, init_serial, pieces, &init) && push(b->l, &init);
	if (ok && push(b->l, &data))
		return true;
	if (!ok)
		free(init.body);
	free(data.body);
	return false;
}

static bool build_script(const struct build *b)
{
	const struct lesson_opts *o = b->o;
	bool ok = o->no_session || o->no_login || (add_coach_login(b) && add_student_login(b));

	if (ok && o->photo_bytes >= 0)
		ok = add_photo(b);
	for (long i = 0; ok && i < o->minutes; i++)
		ok = add_record(b, i, R_RECORD, 0);
	if (ok && o->resend)
		ok = add_resend(b, o->resend);
	if (ok && o->reuse)
		ok = add_record(b, o->reuse - 1, R_REUSE, 1);
	if (ok && !o->no_session && !o->no_logout)
		ok = add_student_logout(b) && add_coach_logout(b);
	if (ok && o->again)
		ok = add_again(b->l, o->again);
	if (ok && o->only)
		for (size_t at = 0; at < b->l->n; at++)
			b->l->m[at].skip = !(o->only & (1u << b->l->m[at].role));
	return ok;
}

bool termsim_lesson_prepare(struct sim *s, EVP_PKEY *key)
{
	struct termsim_lesson *l = calloc(1, sizeof(*l));
	struct build b = {.s = s, .l = l, .o = &s->o->l, .key = key};

	s->lesson = l;
	if (!l)
		return false;
	l->t0 = (time_t)b.o->record_start;
	if (!lesson_numbers(s, l)) {
		log_error("terminal %u: a terminal, coach or student number overflows its digits",
			  s->index);
		return false;
	}
	if (!key && !b.o->unsigned_msgs) {
		log_error("%sno key to sign the lesson with", termsim_who(s));
		return false;
	}
	if (key && EVP_PKEY_get_size(key) > JTX_MAX_SIG) {
		log_error("the signing key %s makes signatures over %d bytes", key_name(s),
			  JTX_MAX_SIG);
		return false;
	}
	return build_script(&b);
}

void termsim_lesson_free(struct sim *s)
{
	struct termsim_lesson *l = s->lesson;

	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		if (l->m[i].owns)
			free(l->m[i].body);
	free(l->m);
	free(l);
	s->lesson = NULL;
}

bool termsim_lesson_deferred(const struct opts *o)
{
	return o->l.minutes >= 0 && o->layout == JT808_LTIMING && !o->no_register;
}
