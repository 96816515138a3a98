/*
 * termsim_lesson.c - termsim's timing-training lesson (--lesson N).
 *
 * A terminal's lesson is a script of 0x0900 bodies, every one built and
 * signed before anything is timed (an RSA signature costs the client
 * about 30 times what its verification costs the server, and the
 * benchmark must measure the server): coach login, student login, the
 * photo (init, data), N minute records, the resent record, the record
 * reusing a number, student logout, coach logout (--no-login leaves the
 * logins out, --no-logout the logouts, --no-session both).
 * termsim_lesson_step() sends them in that order.  A login, a logout, the
 * photo messages, the first record and the faults sent after the records
 * wait until everything before them is answered, as a terminal waits for
 * its answers; the records go as the window and --rate allow.
 *
 * Answers: 0x8900 matched by extended message ID and extended serial
 * (logins, logouts, photo init); 0x8001 by JT/T 808 serial (records,
 * photo data; for a sub-packaged message, the serial of the last piece
 * sent, see termsim_send_transparent()).
 */
#include "hoursd.h"
#include "jt808.h"
#include "jtx.h"
#include "log.h"
#include "sig.h"
#include "termsim.h"

#include <inttypes.h>
#include <time.h>

#define LESSON_MINUTES_MAX 9999 /* four-digit sequences in the record numbers */
#define LESSON_SEQ_MAX 9999
#define LESSON_DKM_PER_MIN 5 /* 0.5 km a minute: 30 km/h */
#define LESSON_MAX_SPEED 350 /* 0.1 km/h */
#define LESSON_DATA_MAX 256  /* data of everything but the photo */
#define LESSON_HDR_ROOM 64   /* the extension header (27 bytes) and some */
#define TIME_MIN 946684800LL /* 2000-01-01: BCD times hold 2000-2099 */
#define TIME_MAX 4102444799LL

enum role {
	R_COACH_IN,
	R_STUDENT_IN,
	R_PHOTO_INIT,
	R_PHOTO_DATA,
	R_RECORD,
	R_RESEND,
	R_REUSE,
	R_STUDENT_OUT,
	R_COACH_OUT,
	R__COUNT
};

static const char *const role_names[R__COUNT] = {
	[R_COACH_IN] = "coach login",
	[R_STUDENT_IN] = "student login",
	[R_PHOTO_INIT] = "photo init",
	[R_PHOTO_DATA] = "photo data",
	[R_RECORD] = "record",
	[R_RESEND] = "resent record",
	[R_REUSE] = "record reusing a number",
	[R_STUDENT_OUT] = "student logout",
	[R_COACH_OUT] = "coach logout",
};

/* One timing message of the script. */
struct lmsg {
	uint8_t *body; /* the 0x0900 body */
	size_t len;
	bool owns; /* a resend shares the body of the record it repeats */
	uint8_t role;
	bool wait;	  /* sent once everything before it is answered */
	bool expect_fail; /* deliberately broken: a non-zero answer is expected */
	bool untracked;	  /* a piece left out: no answer is expected */
	bool sent, answered;
	int result; /* -1: none */
	uint16_t ext_id, ext_serial;
	uint16_t serial; /* the JT/T 808 serial its answer is expected under */
	char record_no[JTX_RECORD_NO_LEN + 1];
};

struct termsim_lesson {
	struct lmsg *m;
	size_t n, cap, next;
	char terminal_no[JTX_TERMINAL_NO_LEN + 1];
	char coach_no[JTX_PERSON_NO_LEN + 1];
	char student_no[JTX_PERSON_NO_LEN + 1];
	char photo_no[JTX_PHOTO_NO_LEN + 1];
	uint16_t ext_serial;
	time_t t0;	      /* record 1's time */
	unsigned bad_answers; /* answers of the wrong kind or shape */
};

/* What building a lesson needs. */
struct build {
	struct sim *s;
	struct termsim_lesson *l;
	const struct lesson_opts *o;
	EVP_PKEY *key;
};

static bool is_record(const struct lmsg *m)
{
	return m->role == R_RECORD || m->role == R_RESEND || m->role == R_REUSE;
}

/* Logins, logouts and the photo init are answered with a 0x8900. */
static bool wants_8900(const struct lmsg *m)
{
	return m->role != R_PHOTO_DATA && !is_record(m);
}

/* The good result of a login, a logout, the photo init (0: go ahead) or the photo. */
static int good_result(enum role r)
{
	if (r == R_PHOTO_INIT)
		return JTX_PHOTO_ACCEPTED;
	return r == R_PHOTO_DATA ? JT808_R_OK : JTX_R_OK;
}

/* ---- numbers ---- */

bool termsim_number_plus(const char *base, unsigned i, char *out, size_t cap)
{
	size_t n = strlen(base), a;
	unsigned long carry = i;

	if (n >= cap)
		return false;
	memcpy(out, base, n + 1);
	for (a = n; a > 0 && out[a - 1] >= '0' && out[a - 1] <= '9'; a--)
		;
	for (size_t k = n; k > a && carry; k--) {
		unsigned long d = (unsigned long)(out[k - 1] - '0') + carry;

		out[k - 1] = (char)('0' + d % 10);
		carry = d / 10;
	}
	return carry == 0;
}

/* Nine digits that differ from run to run: the wall clock in milliseconds. */
static unsigned long photo_serial(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (unsigned long)(((unsigned long long)ts.tv_sec * 1000 +
				(unsigned long long)ts.tv_nsec / 1000000) %
			       1000000000ULL);
}

/* The terminal number is the terminal's (termsim.c: an option, a default or the registration's). */
static bool lesson_numbers(struct sim *s, struct termsim_lesson *l)
{
	const struct lesson_opts *o = &s->o->l;
	unsigned i = s->index;

	memcpy(l->terminal_no, s->terminal_no, sizeof(l->terminal_no));
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

/* ---- the script ---- */

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

/* ---- records ---- */

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

/* ---- photo ---- */

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
	for (unsigned i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	log_info("photo %s: %zu bytes, sha256 %s", photo_no, n, hex);
}

static bool photo_data(const struct build *b, uint16_t serial, struct lmsg *m)
{
	size_t bytes = (size_t)b->o->photo_bytes, cap = JTX_PHOTO_NO_LEN + bytes;
	uint8_t *img = malloc(bytes ? bytes : 1), *d = malloc(cap);
	size_t n = 0;
	bool ok = false;

	if (img && d) {
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

/* ---- sending ---- */

static void send_lmsg(struct sim *s, struct termsim_lesson *l, struct lmsg *m)
{
	const struct lesson_opts *o = &s->o->l;
	bool photo = m->role == R_PHOTO_DATA;

	m->serial = termsim_send_transparent(s, m->body, m->len, (size_t)(m - l->m), !m->untracked,
					     photo && o->photo_reverse,
					     photo ? (unsigned)o->photo_drop : 0);
	m->sent = m->serial != 0;
	if (!m->sent)
		log_error("%s could not be sent", role_names[m->role]);
	if (m->sent && m->role == R_RECORD && s->run->rec_t0_us == 0)
		s->run->rec_t0_us = termsim_now_us();
	log_debug("%s sent: extended serial %u, serial %u, %zu bytes", role_names[m->role],
		  m->ext_serial, m->serial, m->len);
}

enum termsim_step termsim_lesson_step(struct sim *s)
{
	struct termsim_lesson *l = s->lesson;
	struct lmsg *m;

	if (l->next == l->n)
		return STEP_DONE;
	/* --no-login: the lesson is open on the server, its student logged in */
	if (l->next == 0 && s->o->l.no_login && !s->o->l.no_session)
		s->in_training = true;
	m = &l->m[l->next];
	if (m->wait && s->inflight > 0)
		return STEP_WAIT;
	if (is_record(m) && !termsim_pace_allows(s))
		return STEP_WAIT;
	send_lmsg(s, l, m);
	l->next++;
	return STEP_SENT;
}

/* ---- answers ---- */

static void record_answered(struct sim *s, const struct lmsg *m, uint8_t result)
{
	struct run *r = s->run;

	r->rec_t1_us = termsim_now_us();
	if (r->records) { /* at once: a watcher (deploy/cluster/check.sh) counts the answers */
		fprintf(r->records, "%s %u\n", m->record_no, result);
		fflush(r->records);
	}
	if ((result == JT808_R_OK) == m->expect_fail)
		log_error("%s %s answered %u, expected %s", role_names[m->role], m->record_no,
			  result, m->expect_fail ? "non-zero (it was broken on purpose)" : "0");
	else
		log_debug("%s %s answered %u", role_names[m->role], m->record_no, result);
}

void termsim_lesson_on_ack(struct sim *s, size_t ref, uint16_t serial, uint8_t result)
{
	struct termsim_lesson *l = s->lesson;
	struct lmsg *m = l && ref < l->n ? &l->m[ref] : NULL;

	if (!m || m->answered) {
		log_warn("0x8001 (serial %u, result %u) for no timing message waiting", serial,
			 result);
		return;
	}
	m->answered = true;
	if (wants_8900(m)) {
		l->bad_answers++;
		log_error("%s (extended serial %u) answered by 0x8001 result %u, not by 0x8900",
			  role_names[m->role], m->ext_serial, result);
		return;
	}
	m->result = result;
	if (is_record(m))
		record_answered(s, m, result);
	else
		log_info("%s %s (serial %u) answered %u", role_names[m->role], l->photo_no, serial,
			 result);
}

/* The message an 0x8900 answers: sent, unanswered, same extended serial and ID + 0x8000. */
static struct lmsg *find_8900(struct termsim_lesson *l, const struct jtx_header *h)
{
	for (size_t i = 0; i < l->next; i++) {
		struct lmsg *m = &l->m[i];

		if (m->sent && !m->answered && wants_8900(m) && m->ext_serial == h->serial &&
		    (m->ext_id | 0x8000) == h->msg_id)
			return m;
	}
	return NULL;
}

static const char *person_of(const struct termsim_lesson *l, const struct lmsg *m)
{
	if (m->role == R_COACH_IN || m->role == R_COACH_OUT)
		return l->coach_no;
	return m->role == R_PHOTO_INIT ? "" : l->student_no;
}

static void answer_8900(struct sim *s, struct lmsg *m, const struct jtx_header *h)
{
	struct termsim_lesson *l = s->lesson;
	struct jtx_answer a;
	enum jtx_err e = jtx_parse_answer(h->msg_id, h->data, h->data_len, &a);

	m->answered = true;
	termsim_slot_answered(s, m->serial);
	if (e != JTX_OK) {
		l->bad_answers++;
		log_error("0x8900 %04x for the %s: %s", h->msg_id, role_names[m->role],
			  jtx_strerror(e));
		return;
	}
	m->result = a.result;
	/* the timing header's reserved byte follows the student's login */
	if (m->role == R_STUDENT_IN && a.result == JTX_R_OK)
		s->in_training = true;
	else if (m->role == R_STUDENT_OUT)
		s->in_training = false;
	if (*person_of(l, m) && strcmp(a.person_no, person_of(l, m)) != 0)
		log_warn("0x8900 %04x names %s, not %s", h->msg_id, a.person_no, person_of(l, m));
	if (a.result == good_result(m->role))
		log_info("%s answered %u", role_names[m->role], a.result);
	else
		log_error("%s refused: result %u", role_names[m->role], a.result);
}

void termsim_lesson_on_down(struct sim *s, const struct jt808_msg *msg)
{
	struct termsim_lesson *l = s->lesson;
	struct jtx_header h;
	struct lmsg *m;
	enum jtx_err e = jtx_parse(msg->body, msg->body_len, &h);

	if (e != JTX_OK) {
		l->bad_answers++;
		log_error("0x8900 (serial %u, %zu bytes) does not parse: %s", msg->h.serial,
			  msg->body_len, jtx_strerror(e));
		return;
	}
	if (strcmp(h.terminal_no, l->terminal_no) != 0)
		log_warn("0x8900 %04x names terminal %s, not %s", h.msg_id, h.terminal_no,
			 l->terminal_no);
	if (!(m = find_8900(l, &h))) {
		log_warn("0x8900 %04x extended serial %u answers nothing waiting", h.msg_id,
			 h.serial);
		return;
	}
	answer_8900(s, m, &h);
}

/* ---- verdicts ---- */

/* An answer contrary to what the message expected. */
static bool wrong_answer(const struct lmsg *m)
{
	if (!m->answered || m->result < 0)
		return false;
	if (wants_8900(m))
		return m->result != good_result(m->role);
	if (m->role == R_PHOTO_DATA)
		return m->untracked ? m->result == JT808_R_OK : m->result != JT808_R_OK;
	return (m->result == JT808_R_OK) == m->expect_fail;
}

bool termsim_lesson_failed(const struct sim *s)
{
	const struct termsim_lesson *l = s->lesson;

	if (l->bad_answers)
		return true;
	for (size_t i = 0; i < l->n; i++)
		if (wrong_answer(&l->m[i]))
			return true;
	return false;
}

bool termsim_lesson_complete(const struct sim *s)
{
	const struct termsim_lesson *l = s->lesson;

	if (l->next < l->n)
		return false;
	for (size_t i = 0; i < l->n; i++)
		if (!l->m[i].untracked && !l->m[i].answered)
			return false;
	return true;
}

/* ---- summary ---- */

struct tally {
	int result[R__COUNT]; /* logins, logouts, photo: the first that is not good */
	bool seen[R__COUNT];
	uint64_t sent, ok, failed, unanswered, unexpected;
};

static void tally_msg(struct tally *t, const struct lmsg *m)
{
	if (!is_record(m)) {
		int good = m->untracked ? -1 : good_result(m->role);

		if (!t->seen[m->role] || (t->result[m->role] == good && m->result != good))
			t->result[m->role] = m->result;
		t->seen[m->role] = true;
		return;
	}
	if (!m->sent)
		return;
	t->sent++;
	if (!m->answered)
		t->unanswered++;
	else if (m->result == JT808_R_OK)
		t->ok++;
	else
		t->failed++;
	t->unexpected += wrong_answer(m);
}

static void tally(const struct run *r, struct tally *t)
{
	memset(t, 0, sizeof(*t));
	for (int i = 0; i < R__COUNT; i++)
		t->result[i] = -1;
	for (unsigned i = 0; i < r->nsims; i++) {
		const struct termsim_lesson *l = r->sims[i].lesson;

		for (size_t k = 0; l && k < l->n; k++)
			tally_msg(t, &l->m[k]);
	}
}

void termsim_lesson_summary(const struct run *r)
{
	struct tally t;
	double secs = r->rec_t1_us > r->rec_t0_us ? (double)(r->rec_t1_us - r->rec_t0_us) / 1e6 : 0;

	tally(r, &t);
	printf("coach_login_result=%d\n", t.result[R_COACH_IN]);
	printf("student_login_result=%d\n", t.result[R_STUDENT_IN]);
	printf("student_logout_result=%d\n", t.result[R_STUDENT_OUT]);
	printf("coach_logout_result=%d\n", t.result[R_COACH_OUT]);
	printf("photo_init_result=%d\n", t.result[R_PHOTO_INIT]);
	printf("photo_result=%d\n", t.result[R_PHOTO_DATA]);
	printf("records_sent=%" PRIu64 "\n", t.sent);
	printf("records_ok=%" PRIu64 "\n", t.ok);
	printf("records_failed=%" PRIu64 "\n", t.failed);
	printf("records_unanswered=%" PRIu64 "\n", t.unanswered);
	printf("records_unexpected=%" PRIu64 "\n", t.unexpected);
	printf("records_timed_ms=%.0f\n", secs * 1000);
	printf("records_per_s=%.1f\n", secs > 0 ? (double)(t.ok + t.failed) / secs : 0.0);
}

/* ---- options ---- */

const char termsim_lesson_usage[] =
	"lesson (timing-training extension: 0x0900 type 0x13), after authentication:\n"
	"  --lesson N            coach login, student login, N records (one a minute\n"
	"                        of the record clock), student logout, coach logout\n"
	"  --sign-key F          PEM key signing every message: RSA, EC P-256 or SM2\n"
	"                        (default: timing layout, the registration answer's\n"
	"                        key; else --key); all is signed before the timed\n"
	"                        part (timing layout: after the registration answer).\n"
	"                        RSA signs the bare digest in the timing layout, the\n"
	"                        DigestInfo form in 2013/2019\n"
	"  --unsigned            extension properties 0x0002, no signature (0x0022\n"
	"                        otherwise); records still expected answered 0\n"
	"  --reupload            records as uploaded again on the platform's command\n"
	"                        (0x8205): upload type 2, properties bit 0; one\n"
	"                        already stored is answered as stored\n"
	"  --terminal-no S       16 characters (default: timing layout, the\n"
	"                        registration answer's; else T + the phone, 15 digits)\n"
	"  records in the timing layout carry the GNSS extras 0x01 (mileage) and 0x05\n"
	"  (engine speed) and a recorder speed near the satellite speed\n"
	"  --coach NO --student NO  16 characters (C000000000000001, S000000000000001)\n"
	"  --class-id N (1)  --course DIGITS (default 1212010000: vehicle, C1, part 2)\n"
	"  --record-start EPOCH  record 1's time (default now - N*60); then +60 s each\n"
	"  --record-seq N        record 1's 4-digit sequence in the record number (1)\n"
	"  --records-file F      append \"<record_no> <result>\" per record answered\n"
	"  --no-login            no coach or student login: the lesson is open on the\n"
	"                        server already (left open by an earlier run, e.g.\n"
	"                        with --no-logout); its records must be answered 0\n"
	"  --resume              --no-login, and records as the lesson's first run\n"
	"                        sent them from record --record-seq on (route and\n"
	"                        odometer): what a terminal resends after a\n"
	"                        reconnect, answered as stored the first time\n"
	"  --no-logout           no student or coach logout: the lesson is left open\n"
	"  --photo BYTES         after the student login, a photo init (0x0305) and\n"
	"                        the photo data (0x0306) in sub-packages of 1000 bytes\n"
	"                        (the server reassembles at most 128 pieces)\n"
	"  --photo-order forward|reverse   --photo-drop K (piece K never sent)\n"
	"  faults: --tamper K (record K's signature spoilt); --reuse K (after the\n"
	"          records, another record under record K's number); --no-session\n"
	"          (no logins or logouts, and no lesson open on the server: the\n"
	"          records must be refused; to continue an open lesson, --no-login);\n"
	"          --resend K (record K again, the same bytes, after the records)\n"
	"  --rate paces records per terminal.  With --terminals, terminal i (from 0)\n"
	"  adds i to the trailing digits of --terminal-no, --coach and --student:\n"
	"  hoursd refuses a student or coach in two vehicles in one minute, so a run\n"
	"  repeated over the same minutes needs other --record-start or numbers.\n"
	"  Lesson exit status: 0 when every login and logout is answered 1, the\n"
	"  photo init 0 (go ahead), the photo 0 and every record 0 -- except records\n"
	"  broken on purpose (--tamper, --reuse, --no-session; a --resend like its\n"
	"  record), which must be answered non-zero: one of those answered 0 is a\n"
	"  server bug and exits 1.  A photo with a dropped piece must get no answer\n"
	"  (photo_result=-1).\n";

void termsim_lesson_defaults(struct lesson_opts *l)
{
	struct jtx_course c = {.mode = 1, .part = 2, .subject = 1, .vehicle_class = "C1"};
	uint8_t bcd[5];

	*l = (struct lesson_opts){.minutes = -1,
				  .coach_no = "C000000000000001",
				  .student_no = "S000000000000001",
				  .class_id = 1,
				  .record_seq = 1,
				  .photo_bytes = -1};
	if (!jtx_course_encode(&c, bcd) || jtx_course_decode(bcd, &l->course) != JTX_OK)
		log_error("the default course code does not encode");
}

static bool parse_number16(const char *arg, const char **out)
{
	size_t n = strlen(arg);

	for (size_t i = 0; i < n; i++)
		if (arg[i] <= 0x20 || arg[i] > 0x7e)
			return false;
	*out = arg;
	return n == JTX_PERSON_NO_LEN;
}

static bool parse_course(const char *arg, struct jtx_course *c)
{
	uint8_t bcd[5];

	return strlen(arg) == JTX_COURSE_DIGITS && strspn(arg, "0123456789") == JTX_COURSE_DIGITS &&
	       jt808_str_to_bcd(arg, bcd, 5) && jtx_course_decode(bcd, c) == JTX_OK;
}

static bool parse_u32(const char *arg, uint32_t *out)
{
	long v;

	if (!termsim_parse_long(arg, 0, UINT32_MAX, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool parse_epoch(const char *arg, long long *out, bool *set)
{
	long v;

	if (!termsim_parse_long(arg, TIME_MIN, TIME_MAX, &v))
		return false;
	*out = v;
	*set = true;
	return true;
}

static bool lesson_num_opt(struct lesson_opts *l, int c, const char *arg)
{
	switch (c) {
	case O_LESSON:
		return termsim_parse_long(arg, 0, LESSON_MINUTES_MAX, &l->minutes);
	case O_CLASS_ID:
		return parse_u32(arg, &l->class_id);
	case O_RECORD_START:
		return parse_epoch(arg, &l->record_start, &l->record_start_set);
	case O_RECORD_SEQ:
		return termsim_parse_long(arg, 0, LESSON_SEQ_MAX, &l->record_seq);
	case O_TAMPER:
		return termsim_parse_long(arg, 1, LESSON_MINUTES_MAX, &l->tamper);
	case O_RESEND:
		return termsim_parse_long(arg, 1, LESSON_MINUTES_MAX, &l->resend);
	case O_REUSE:
		return termsim_parse_long(arg, 1, LESSON_MINUTES_MAX, &l->reuse);
	case O_PHOTO:
		return termsim_parse_long(arg, 0, SIM_PHOTO_MAX, &l->photo_bytes);
	case O_PHOTO_DROP:
		return termsim_parse_long(arg, 1, UINT16_MAX, &l->photo_drop);
	default:
		return false;
	}
}

bool termsim_lesson_opt(struct lesson_opts *l, int c, const char *arg)
{
	switch (c) {
	case O_SIGN_KEY:
		l->sign_key = arg;
		return true;
	case O_TERMINAL_NO:
		return parse_number16(arg, &l->terminal_no);
	case O_COACH:
		return parse_number16(arg, &l->coach_no);
	case O_STUDENT:
		return parse_number16(arg, &l->student_no);
	case O_COURSE:
		return parse_course(arg, &l->course);
	case O_NO_SESSION:
		l->no_session = true;
		return true;
	case O_NO_LOGIN:
		l->no_login = true;
		return true;
	case O_RESUME:
		l->no_login = l->resume = true;
		return true;
	case O_NO_LOGOUT:
		l->no_logout = true;
		return true;
	case O_UNSIGNED:
		l->unsigned_msgs = true;
		return true;
	case O_REUPLOAD:
		l->reupload = true;
		return true;
	case O_PHOTO_ORDER:
		l->photo_reverse = strcmp(arg, "reverse") == 0;
		return l->photo_reverse || strcmp(arg, "forward") == 0;
	case O_RECORDS_FILE:
		l->records_file = arg;
		return true;
	default:
		return lesson_num_opt(l, c, arg);
	}
}

/* The numbers of the last terminal still fit their digits. */
static bool check_numbers(const struct opts *o)
{
	const struct lesson_opts *l = &o->l;
	const char *base[] = {l->terminal_no, l->coach_no, l->student_no};
	char out[JTX_PERSON_NO_LEN + 1];

	for (size_t i = 0; i < ARRAY_SIZE(base); i++) {
		if (base[i] &&
		    !termsim_number_plus(base[i], (unsigned)o->terminals - 1, out, sizeof(out))) {
			log_error("--terminals %d: %s plus %d overflows its trailing digits",
				  o->terminals, base[i], o->terminals - 1);
			return false;
		}
	}
	return true;
}

static bool check_faults(const struct lesson_opts *l)
{
	if (l->tamper > l->minutes || l->resend > l->minutes || l->reuse > l->minutes) {
		log_error("--tamper, --resend and --reuse name a record from 1 to --lesson");
		return false;
	}
	if (l->record_seq + l->minutes - 1 > LESSON_SEQ_MAX) {
		log_error("--record-seq %ld + %ld records exceed 4 digits", l->record_seq,
			  l->minutes);
		return false;
	}
	if ((l->photo_drop || l->photo_reverse) && l->photo_bytes < 0) {
		log_error("--photo-order and --photo-drop need --photo BYTES");
		return false;
	}
	if (l->unsigned_msgs && l->tamper) {
		log_error("--tamper spoils a signature: not with --unsigned");
		return false;
	}
	return true;
}

/*
 * Lesson options given without --lesson.  The timing layout's
 * authentication uses the key and the terminal number too.
 */
static bool lesson_opts_unused(const struct opts *o)
{
	const struct lesson_opts *l = &o->l;

	if (o->layout != JT808_LTIMING && (l->sign_key || l->terminal_no))
		return true;
	return l->tamper || l->resend || l->reuse || l->no_session || l->no_login || l->no_logout ||
	       l->photo_bytes >= 0 || l->records_file || l->record_start_set || l->unsigned_msgs;
}

/* Where the lesson's key comes from: --sign-key, --key, or the timing registration. */
static bool lesson_has_key(const struct opts *o)
{
	const struct lesson_opts *l = &o->l;

	return l->unsigned_msgs || l->sign_key || o->key ||
	       (o->layout == JT808_LTIMING && !o->no_register);
}

bool termsim_lesson_check(struct opts *o)
{
	struct lesson_opts *l = &o->l;

	if (l->minutes < 0) {
		if (lesson_opts_unused(o))
			log_error("lesson options need --lesson N");
		return !lesson_opts_unused(o);
	}
	if (!lesson_has_key(o)) {
		log_error("--lesson needs --sign-key F (or --key F)");
		return false;
	}
	if (o->loop) {
		log_error("--lesson and --loop do not go together");
		return false;
	}
	if (!l->record_start_set)
		l->record_start = (long long)time(NULL) - l->minutes * 60;
	return check_faults(l) && check_numbers(o);
}
