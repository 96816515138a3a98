/*
 * evidence.c - audit verify's checks of what the terminals signed: every
 * training record and session event is its frame decoded again, and every
 * photo its bytes (docs/audit.md, "What the terminals signed").
 *
 * A row whose columns came from a frame is only as good as the frame: a
 * row copied under another record number and time, its raw bytes left
 * as they were, carries a good digest and a good signature.  So each raw
 * frame is decoded here with hoursd's own codec (jtx.c, as ingest decoded
 * it) and every column ingest took from it is compared with the row; the
 * signature is checked against the certificate in force at the frame's
 * own time (terminal_cert, 014), and a frame stored as two records is
 * named.  What hoursd added (verdicts, the lesson a record belongs to,
 * judgements) is not in the frame: the chain protects it.
 *
 * At line rate: the rows are read through a cursor in the binary format,
 * each page checked by a thread a core (a certificate cache each: sig.c's
 * cache is not shared) while the main thread reads the next one, so that
 * PostgreSQL sends it meanwhile; the lines are said in the order of the
 * rows all the same.  A progress line goes to
 * stderr when it is a terminal.
 */
#include "hoursd.h"
#include "evidence.h"
#include "common/pgq.h"
#include "common/progress.h"
#include "jtx.h"
#include "log.h"
#include "queries.h"
#include "sig.h"

#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#define MAX_THREADS 32
#define CHUNK 32 /* rows a thread takes at a time */
#define CURSOR "DECLARE audit_frames NO SCROLL CURSOR FOR "

/* ---- the terminals and their certificates ---- */

struct cert {
	long long since; /* in force from (Unix seconds); LLONG_MIN: from the start */
	uint8_t sha[32];
	const char *pem; /* into terms.r */
};

struct term {
	long long id;
	const char *phone, *terminal_no; /* into terms.r */
	bool rsa_raw, escaped;
	const struct cert *certs; /* oldest first */
	int ncerts;
};

struct terms {
	PGresult *r;
	struct term *t; /* by id */
	struct cert *c;
	int n, nc;
};

static int nibble(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Lowercase hex of exactly 2 * n digits into out. */
static bool unhex(const char *s, size_t slen, uint8_t *out, size_t n)
{
	if (slen != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/*
 * A value of a page: the pages come in PostgreSQL's binary format (no
 * text to make and parse on either side), integers big-endian of their
 * column's size, a bool one byte, bytea and text their bytes, a
 * timestamptz microseconds since 2000-01-01 UTC (8 bytes), given here in
 * Unix seconds, rounded as extract(epoch ...)::bigint rounds.
 */
#define TIMESTAMPTZOID 1184
#define PG_EPOCH_UNIX 946684800LL

static long long ival(const PGresult *r, int i, int col)
{
	const uint8_t *p = (const uint8_t *)PQgetvalue(r, i, col);
	int n = PQgetlength(r, i, col);
	if (PQfformat(r, col) == 0)
		return strtoll((const char *)p, NULL, 10);
	if (n != 2 && n != 4 && n != 8)
		return LLONG_MIN;
	uint64_t v = 0;
	for (int k = 0; k < n; k++)
		v = v << 8 | p[k];
	if (n == 2)
		return (int16_t)v;
	if (n == 4)
		return (int32_t)v;
	if (PQftype(r, col) == TIMESTAMPTZOID) {
		long long us = (long long)v, s = us / 1000000, rem = us % 1000000;
		if (rem < 0) {
			s--;
			rem += 1000000;
		}
		return s + (rem >= 500000) + PG_EPOCH_UNIX;
	}
	return (long long)v;
}

static bool bval(const PGresult *r, int i, int col)
{
	const char *v = PQgetvalue(r, i, col);
	return PQfformat(r, col) == 0 ? v[0] == 't' : v[0] != 0;
}

static bool load_terms(struct terms *ts, const char *school)
{
	const char *p[1] = {school};
	ts->r = pgq_query(sql_audit_terminal_certs, 1, p);
	if (ts->r == NULL)
		return false;
	int rows = PQntuples(ts->r);
	ts->t = calloc((size_t)rows + 1, sizeof(*ts->t));
	ts->c = calloc((size_t)rows + 1, sizeof(*ts->c));
	if (ts->t == NULL || ts->c == NULL)
		return false;
	for (int i = 0; i < rows; i++) {
#define COL(c) PQgetvalue(ts->r, i, AUDIT_TERMINAL_CERTS_##c)
		long long id = strtoll(COL(ID), NULL, 10);
		if (ts->n == 0 || ts->t[ts->n - 1].id != id)
			ts->t[ts->n++] = (struct term){.id = id,
						       .phone = COL(PHONE),
						       .terminal_no = COL(TERMINAL_NO),
						       .rsa_raw = COL(RSA_RAW)[0] == 't',
						       .escaped = COL(ESCAPED_SUMS)[0] == 't',
						       .certs = &ts->c[ts->nc]};
		struct cert *c = &ts->c[ts->nc++];
		c->since = PQgetisnull(ts->r, i, AUDIT_TERMINAL_CERTS_SINCE)
				   ? LLONG_MIN
				   : strtoll(COL(SINCE), NULL, 10);
		c->pem = COL(SIGN_CERT_PEM);
		if (!unhex(COL(SIGN_CERT_SHA256), strlen(COL(SIGN_CERT_SHA256)), c->sha, 32))
			memset(c->sha, 0, 32);
		ts->t[ts->n - 1].ncerts++;
#undef COL
	}
	return true;
}

static const struct term *find_term(const struct terms *ts, long long id)
{
	int lo = 0, hi = ts->n;
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (ts->t[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ts->n && ts->t[lo].id == id ? &ts->t[lo] : NULL;
}

/* The certificate in force at t: the last come into force by then (else the first). */
static const struct cert *cert_at(const struct term *tm, long long t)
{
	int k = 0;
	while (k + 1 < tm->ncerts && tm->certs[k + 1].since <= t)
		k++;
	return &tm->certs[k];
}

/* ---- what a row's check says ---- */

struct said {
	char *s;
	size_t len, cap;
	unsigned lines;
};

static void say(struct said *o, const char *fmt, ...) PRINTF(2, 3);
static void say(struct said *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char line[1024];
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t add = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
	if (o->len + add + 2 > o->cap) {
		size_t cap = (o->cap ? o->cap * 2 : 256) + add + 2;
		char *s = realloc(o->s, cap);
		if (s == NULL)
			return;
		o->s = s;
		o->cap = cap;
	}
	memcpy(o->s + o->len, line, add);
	o->len += add;
	o->s[o->len++] = '\n';
	o->s[o->len] = '\0';
	o->lines++;
}

/* ---- one page of rows, checked by the threads ---- */

enum kind { K_RECORD, K_EVENT, K_PHOTO };

struct batch {
	const PGresult *r;
	enum kind kind;
	int rows;
	struct said *said; /* a row each */
	atomic_int next;
	const struct terms *terms;
};

struct worker {
	pthread_t th;
	struct batch *b;
	struct sig_cache *sigs;
};

/* A column against what the frame says: an integer, NULL when absent. */
static void col_int(struct said *o, const char *who, const PGresult *r, int i, int col,
		    long long frame, bool present)
{
	bool null = PQgetisnull(r, i, col);
	long long got = null ? 0 : ival(r, i, col);
	if (present ? !null && got == frame : null)
		return;
	char f[24], g[24];
	snprintf(f, sizeof(f), "%lld", frame);
	snprintf(g, sizeof(g), "%lld", got);
	say(o, "frame: %s: column %s: the frame says %s, the row %s", who, PQfname(r, col),
	    present ? f : "nothing (null)", null ? "null" : g);
}

static void col_text(struct said *o, const char *who, const PGresult *r, int i, int col,
		     const char *frame)
{
	bool null = PQgetisnull(r, i, col);
	const char *v = PQgetvalue(r, i, col);
	if (frame == NULL ? null : !null && strcmp(v, frame) == 0)
		return;
	say(o, "frame: %s: column %s: the frame says %s%s%s, the row %s%s%s", who, PQfname(r, col),
	    frame ? "\"" : "", frame ? frame : "nothing (null)", frame ? "\"" : "",
	    null ? "" : "\"", null ? "null" : v, null ? "" : "\"");
}

static void col_bool(struct said *o, const char *who, const PGresult *r, int i, int col, bool frame)
{
	bool null = PQgetisnull(r, i, col), got = !null && bval(r, i, col);
	if (!null && got == frame)
		return;
	say(o, "frame: %s: column %s: the frame says %s, the row %s", who, PQfname(r, col),
	    frame ? "true" : "false",
	    null  ? "null"
	    : got ? "true"
		  : "false");
}

/* A bytea column's bytes; NULL (said) when it is not there. */
static const uint8_t *bytes_of(struct said *o, const char *who, const PGresult *r, int i, int col,
			       size_t *n)
{
	*n = (size_t)PQgetlength(r, i, col);
	if (PQgetisnull(r, i, col) || PQfformat(r, col) != 1) {
		say(o, "frame: %s: column %s is unreadable", who, PQfname(r, col));
		return NULL;
	}
	return (const uint8_t *)PQgetvalue(r, i, col);
}

/* The frame's header, as ingest parsed it; false (said) when it is not a timing message. */
static bool parse_frame(struct said *o, const char *who, const struct term *tm, const uint8_t *raw,
			size_t n, struct jtx_header *h)
{
	enum jtx_err e = jtx_parse(raw, n, h);
	if (e != JTX_OK && tm->escaped)
		e = jtx_parse_escaped_len(raw, n, h);
	if (e == JTX_OK)
		return true;
	say(o, "frame: %s: raw is not a timing message (%s)", who, jtx_strerror(e));
	return false;
}

/*
 * The frame's terminal number and its signature, against the certificate
 * in force at signed_at; stored as signed exactly when it has one, and
 * stored as bad_signature exactly when it does not verify.
 */
static void check_signed(struct worker *w, struct said *o, const char *who, const struct term *tm,
			 const struct jtx_header *h, long long signed_at, const PGresult *r, int i,
			 int signed_col, int reason_col, int received_col)
{
	const char *reason = PQgetvalue(r, i, reason_col);
	if (tm->terminal_no[0] && strcmp(tm->terminal_no, h->terminal_no) != 0 &&
	    strcmp(reason, "terminal_no_mismatch") != 0)
		say(o, "frame: %s: the frame names terminal %s, the row terminal %s (%s)", who,
		    h->terminal_no, tm->phone, tm->terminal_no);
	bool stored_signed = bval(r, i, signed_col);
	if (stored_signed != (h->sig_len > 0)) {
		say(o, "frame: %s: stored as %s, raw has %s", who,
		    stored_signed ? "signed" : "unsigned",
		    h->sig_len ? "a signature" : "no signature");
		return;
	}
	if (h->sig_len == 0) /* unsigned (rules.unsigned: flag): nothing to check */
		return;
	const struct cert *c = cert_at(tm, signed_at);
	char err[256];
	if (!sig_cache_put(w->sigs, c->sha, c->pem, err, sizeof(err))) {
		say(o, "signature: %s: the terminal's certificate: %s", who, err);
		return;
	}
	time_t at = (time_t)ival(r, i, received_col);
	enum sig_result s =
		sig_verify_flags(w->sigs, c->sha, h->signed_bytes, h->signed_len, h->sig,
				 h->sig_len, at, tm->rsa_raw ? SIG_F_RSA_RAW : 0);
	bool bad_stored = strcmp(reason, "bad_signature") == 0;
	if (s != SIG_OK && !bad_stored)
		say(o, "signature: %s: %s, but stored %s", who, sig_result_name(s),
		    reason[0] ? reason : "accepted");
	else if (s == SIG_OK && bad_stored)
		say(o, "signature: %s: verifies, but stored as bad_signature", who);
}

/* The terminal of the row's column col; NULL (said) when it is not one verify knows. */
static const struct term *term_of(struct worker *w, struct said *o, const PGresult *r, int i,
				  int col, const char *what)
{
	const struct term *tm = find_term(w->b->terms, ival(r, i, col));
	if (tm == NULL)
		say(o, "frame: %s of terminal id %lld: no such terminal", what, ival(r, i, col));
	return tm;
}

/* A training record: its digest, its frame's every column, its signature. */
static void check_record(struct worker *w, const PGresult *r, int i, struct said *o)
{
#define COL(c) AUDIT_FRAME_RECORDS_##c
	const struct term *tm = term_of(w, o, r, i, COL(TERMINAL_ID), "training_record");
	if (tm == NULL)
		return;
	char who[128];
	snprintf(who, sizeof(who), "training_record terminal %s record %s", tm->phone,
		 PQgetvalue(r, i, COL(RECORD_NO)));
	size_t n, wn;
	const uint8_t *raw = bytes_of(o, who, r, i, COL(RAW), &n),
		      *want = bytes_of(o, who, r, i, COL(RAW_SHA256), &wn);
	uint8_t got[32];
	if (raw == NULL || want == NULL)
		return;
	unsigned len = 0;
	EVP_Digest(raw, n, got, &len, EVP_sha256(), NULL);
	if (wn != 32 || memcmp(got, want, 32) != 0)
		say(o, "frame: %s: raw_sha256 is not the digest of raw", who);
	struct jtx_header h;
	struct jtx_record m;
	enum jtx_err e;
	if (!parse_frame(o, who, tm, raw, n, &h)) {
	} else if (h.msg_id != JTX_RECORD) {
		say(o, "frame: %s: raw is timing message 0x%04x, not a training record", who,
		    h.msg_id);
	} else if ((e = jtx_parse_record(h.data, h.data_len, &m)) != JTX_OK) {
		say(o, "frame: %s: raw's record does not decode (%s)", who, jtx_strerror(e));
	} else {
		const struct jt808_location *g = &m.gnss;
		col_text(o, who, r, i, COL(RECORD_NO), m.record_no);
		col_int(o, who, r, i, COL(RECORD_TIME), m.record_time, true);
		col_text(o, who, r, i, COL(STUDENT_NO), m.student_no);
		col_text(o, who, r, i, COL(COACH_NO), m.coach_no);
		col_int(o, who, r, i, COL(CLASS_ID), m.class_id, true);
		col_text(o, who, r, i, COL(COURSE_CODE), m.course.digits);
		col_int(o, who, r, i, COL(PART), m.course.part, true);
		col_int(o, who, r, i, COL(MODE), m.course.mode, true);
		col_text(o, who, r, i, COL(VEHICLE_CLASS), m.course.vehicle_class);
		col_int(o, who, r, i, COL(UPLOAD_TYPE), m.upload_type, true);
		col_int(o, who, r, i, COL(RECORD_STATUS), m.status, true);
		col_int(o, who, r, i, COL(MAX_SPEED_DKMH), m.max_speed_dkmh, true);
		col_int(o, who, r, i, COL(MILEAGE_DKM), m.mileage_dkm, true);
		col_int(o, who, r, i, COL(LAT_E6), g->lat_e6, true);
		col_int(o, who, r, i, COL(LON_E6), g->lon_e6, true);
		col_bool(o, who, r, i, COL(FIX_VALID), g->fix);
		col_int(o, who, r, i, COL(GNSS_TIME), g->time, g->time > 0);
		col_int(o, who, r, i, COL(GNSS_SPEED_DKMH), g->speed_dkmh, true);
		col_int(o, who, r, i, COL(RECORDER_SPEED_DKMH), g->recorder_speed_dkmh, true);
		col_int(o, who, r, i, COL(GNSS_MILEAGE_DKM), g->mileage_dkm,
			g->extras & JT808_X_MILEAGE);
		col_int(o, who, r, i, COL(ENGINE_RPM), g->engine_rpm, g->extras & JT808_X_RPM);
		col_int(o, who, r, i, COL(ALTITUDE_M), g->altitude_m, g->extras & JT808_X_ALTITUDE);
		col_int(o, who, r, i, COL(FUEL_DL), g->fuel_dl, g->extras & JT808_X_FUEL);
		check_signed(w, o, who, tm, &h, m.record_time, r, i, COL(SIGNED), COL(REASON),
			     COL(RECEIVED_AT));
	}
#undef COL
}

/* What ingest stores of a login or logout (lesson.c's event()): NULL and -1 when absent. */
struct event_frame {
	const char *kind, *person, *coach, *course;
	long long time, class_id, minutes, mileage;
	const struct jt808_location *gnss;
};

union event_msg {
	struct jtx_coach_login cin;
	struct jtx_coach_logout cout;
	struct jtx_student_login sin;
	struct jtx_student_logout sout;
};

/* The frame's data as the login or logout it is; false (said) when it is none. */
static bool event_of(struct said *o, const char *who, const struct jtx_header *h,
		     union event_msg *x, struct event_frame *f)
{
	enum jtx_err e = JTX_OK;
	*f = (struct event_frame){.class_id = -1, .minutes = -1, .mileage = -1};
	switch (h->msg_id) {
	case JTX_COACH_LOGIN:
		e = jtx_parse_coach_login(h->data, h->data_len, &x->cin);
		*f = (struct event_frame){
			"coach_login", x->cin.coach_no, NULL, NULL, x->cin.gnss.time, -1, -1, -1,
			&x->cin.gnss};
		break;
	case JTX_COACH_LOGOUT:
		e = jtx_parse_coach_logout(h->data, h->data_len, &x->cout);
		*f = (struct event_frame){
			"coach_logout", x->cout.coach_no, NULL, NULL, x->cout.gnss.time, -1, -1, -1,
			&x->cout.gnss};
		break;
	case JTX_STUDENT_LOGIN:
		e = jtx_parse_student_login(h->data, h->data_len, &x->sin);
		*f = (struct event_frame){"student_login",
					  x->sin.student_no,
					  x->sin.coach_no,
					  x->sin.course.digits,
					  x->sin.gnss.time,
					  x->sin.class_id,
					  -1,
					  -1,
					  &x->sin.gnss};
		break;
	case JTX_STUDENT_LOGOUT:
		e = jtx_parse_student_logout(h->data, h->data_len, &x->sout);
		*f = (struct event_frame){"student_logout",
					  x->sout.student_no,
					  NULL,
					  NULL,
					  x->sout.logout_time,
					  x->sout.class_id,
					  x->sout.minutes,
					  x->sout.mileage_dkm,
					  &x->sout.gnss};
		break;
	default:
		say(o, "frame: %s: raw is timing message 0x%04x, not a login or logout", who,
		    h->msg_id);
		return false;
	}
	if (e == JTX_OK)
		return true;
	say(o, "frame: %s: raw's %s does not decode (%s)", who, f->kind, jtx_strerror(e));
	return false;
}

/* A login or logout: its frame's every column, its signature. */
static void check_event(struct worker *w, const PGresult *r, int i, struct said *o)
{
#define COL(c) AUDIT_FRAME_EVENTS_##c
	const struct term *tm = term_of(w, o, r, i, COL(TERMINAL_ID), "session_event");
	if (tm == NULL)
		return;
	char who[160];
	snprintf(who, sizeof(who), "session_event terminal %s %s %s at %lld", tm->phone,
		 PQgetvalue(r, i, COL(KIND)), PQgetvalue(r, i, COL(PERSON_NO)),
		 ival(r, i, COL(EVENT_TIME)));
	size_t n;
	const uint8_t *raw = bytes_of(o, who, r, i, COL(RAW), &n);
	if (raw == NULL)
		return;
	struct jtx_header h;
	union event_msg x;
	struct event_frame f;
	if (parse_frame(o, who, tm, raw, n, &h) && event_of(o, who, &h, &x, &f)) {
		col_text(o, who, r, i, COL(KIND), f.kind);
		col_int(o, who, r, i, COL(EVENT_TIME), f.time, true);
		col_text(o, who, r, i, COL(PERSON_NO), f.person);
		col_text(o, who, r, i, COL(COACH_NO), f.coach);
		col_int(o, who, r, i, COL(CLASS_ID), f.class_id, f.class_id >= 0);
		col_text(o, who, r, i, COL(COURSE_CODE), f.course);
		col_int(o, who, r, i, COL(MINUTES), f.minutes, f.minutes >= 0);
		col_int(o, who, r, i, COL(MILEAGE_DKM), f.mileage, f.mileage >= 0);
		col_int(o, who, r, i, COL(LAT_E6), f.gnss->lat_e6, true);
		col_int(o, who, r, i, COL(LON_E6), f.gnss->lon_e6, true);
		col_bool(o, who, r, i, COL(FIX_VALID), f.gnss->fix);
		col_int(o, who, r, i, COL(EXT_SERIAL), h.serial, true);
		check_signed(w, o, who, tm, &h, f.time, r, i, COL(SIGNED), COL(REASON),
			     COL(RECEIVED_AT));
	}
#undef COL
}

/* A photo: its stored size and digest are those of its stored bytes. */
static void check_photo(struct worker *w, const PGresult *r, int i, struct said *o)
{
#define COL(c) AUDIT_FRAME_PHOTOS_##c
	const struct term *tm = term_of(w, o, r, i, COL(TERMINAL_ID), "photo");
	if (tm == NULL)
		return;
	char who[128];
	snprintf(who, sizeof(who), "photo terminal %s photo %s", tm->phone,
		 PQgetvalue(r, i, COL(PHOTO_NO)));
	size_t n, wn;
	const uint8_t *data = bytes_of(o, who, r, i, COL(DATA), &n),
		      *want = bytes_of(o, who, r, i, COL(SHA256), &wn);
	uint8_t got[32];
	if (data == NULL || want == NULL)
		return;
	unsigned len = 0;
	EVP_Digest(data, n, got, &len, EVP_sha256(), NULL);
	if (wn != 32 || memcmp(got, want, 32) != 0)
		say(o, "frame: %s: sha256 is not the digest of data", who);
	if (ival(r, i, COL(SIZE)) != (long long)n)
		say(o, "frame: %s: size %lld, data has %zu bytes", who, ival(r, i, COL(SIZE)), n);
#undef COL
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct batch *b = w->b;
	for (;;) {
		int from = atomic_fetch_add(&b->next, CHUNK);
		if (from >= b->rows)
			break;
		int to = from + CHUNK < b->rows ? from + CHUNK : b->rows;
		for (int i = from; i < to; i++)
			if (b->kind == K_RECORD)
				check_record(w, b->r, i, &b->said[i]);
			else if (b->kind == K_EVENT)
				check_event(w, b->r, i, &b->said[i]);
			else
				check_photo(w, b->r, i, &b->said[i]);
	}
	return NULL;
}

/* ---- the stream ---- */

struct ev {
	FILE *out;
	struct terms terms;
	struct worker w[MAX_THREADS];
	unsigned nw, started; /* threads; those started on the page */
	struct evidence_counts *n;
	unsigned long done; /* frames checked, for the progress line (common/progress.h) */
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The page r handed to every checking thread (b, its rows' lines); they
 * run while this thread reads the next page, so that PostgreSQL sends it
 * meanwhile.  When none could start, page_end() checks it on this one.
 */
static void page_start(struct ev *ev, struct batch *b, const PGresult *r, enum kind kind)
{
	int rows = PQntuples(r);
	*b = (struct batch){.r = r, .kind = kind, .rows = rows, .terms = &ev->terms};
	b->said = calloc((size_t)rows, sizeof(*b->said));
	atomic_init(&b->next, 0);
	ev->started = 0;
	if (b->said == NULL)
		return;
	for (unsigned k = 0; k < ev->nw; k++)
		ev->w[k].b = b;
	for (unsigned k = 0; k < ev->nw && (k == 0 || rows > CHUNK * (int)k); k++, ev->started++)
		if (pthread_create(&ev->w[k].th, NULL, work, &ev->w[k]) != 0)
			break;
}

/* The page's threads joined (the rows none took checked here), its lines said in order. */
static void page_end(struct ev *ev, struct batch *b)
{
	if (b->said == NULL) {
		fprintf(ev->out, "audit verify: out of memory\n");
		ev->n->problems++;
		return;
	}
	if (ev->started == 0)
		work(&ev->w[0]);
	for (unsigned k = 0; k < ev->started; k++)
		pthread_join(ev->w[k].th, NULL);
	for (int i = 0; i < b->rows; i++) {
		if (b->said[i].lines) {
			fputs(b->said[i].s, ev->out);
			ev->n->problems += b->said[i].lines;
		}
		free(b->said[i].s);
	}
	free(b->said);
	ev->done += (unsigned long)b->rows;
	progress_step(ev->done);
}

/* The result of the FETCH sent; NULL (said) on error. */
static PGresult *fetched(PGconn *c)
{
	PGresult *r, *rows = NULL;
	while ((r = PQgetResult(c)) != NULL) {
		if (PQresultStatus(r) == PGRES_TUPLES_OK && rows == NULL)
			rows = r;
		else {
			if (PQresultStatus(r) != PGRES_TUPLES_OK)
				fprintf(stderr, "hoursctl: %s", PQresultErrorMessage(r));
			PQclear(r);
		}
	}
	return rows;
}

/* The next page asked for, in the binary format. */
static bool fetch(PGconn *c)
{
	return PQsendQueryParams(c, sql_audit_frames_fetch, 0, NULL, NULL, NULL, NULL, 1) == 1;
}

/*
 * Every row of sql through the cursor, a page checked by the threads
 * while this one reads the next.
 */
static bool stream(struct ev *ev, enum kind kind, const char *sql, const char *const range[3],
		   unsigned long *count)
{
	char *declare = malloc(strlen(CURSOR) + strlen(sql) + 1);
	if (declare == NULL)
		return false;
	strcpy(declare, CURSOR);
	strcat(declare, sql);
	bool ok = pgq_ok(declare, 3, range);
	free(declare);
	PGconn *c = pgq_conn();
	if (!ok || !fetch(c))
		return false;
	PGresult *r = fetched(c);
	while (r != NULL && PQntuples(r) > 0) {
		struct batch b;
		bool more = fetch(c);
		page_start(ev, &b, r, kind);
		PGresult *next = more ? fetched(c) : NULL;
		page_end(ev, &b);
		*count += (unsigned long)PQntuples(r);
		PQclear(r);
		r = next;
	}
	ok = r != NULL;
	PQclear(r);
	return ok && pgq_ok(sql_audit_frames_close, 0, NULL);
}

/* A frame stored as two training records or more: a line each. */
static bool duplicates(struct ev *ev, const char *const range[3])
{
	PGresult *r = pgq_query(sql_audit_frame_duplicates, 3, range);
	if (r == NULL)
		return false;
	for (int i = 0; i < PQntuples(r); i++) {
		fprintf(ev->out,
			"frame: training_record %s: one frame stored %s times (raw_sha256 %.16s...)\n",
			PQgetvalue(r, i, AUDIT_FRAME_DUPLICATES_NAMES),
			PQgetvalue(r, i, AUDIT_FRAME_DUPLICATES_N),
			PQgetvalue(r, i, AUDIT_FRAME_DUPLICATES_RAW_SHA256));
		ev->n->problems++;
	}
	PQclear(r);
	return true;
}

/* The progress line's total (only asked for when someone watches: a terminal). */
static bool start_progress(const char *const range[3])
{
	unsigned long total = 0;
	if (isatty(STDERR_FILENO)) {
		PGresult *r = pgq_query(sql_audit_frame_count, 3, range);
		if (r == NULL)
			return false;
		for (int k = 0; k < 3; k++)
			total += strtoul(PQgetvalue(r, 0, k), NULL, 10);
		PQclear(r);
	}
	progress_begin("audit verify: frames", "frames", total);
	return true;
}

static unsigned threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	const char *env = getenv("HOURSCTL_THREADS");
	if (env && atoi(env) > 0)
		n = atoi(env);
	return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (unsigned)n;
}

bool evidence_check(const char *const range[3], FILE *out, struct evidence_counts *n)
{
	static struct ev ev;
	ev = (struct ev){.out = out, .n = n, .nw = threads()};
	*n = (struct evidence_counts){.threads = ev.nw};
	double t0 = now_s();
	bool ok = pgq_ok(sql_audit_frames_begin, 0, NULL) && load_terms(&ev.terms, range[2]);
	unsigned cache = (unsigned)ev.terms.nc + 16;
	for (unsigned k = 0; ok && k < ev.nw; k++)
		ok = (ev.w[k].sigs = sig_cache_new(cache)) != NULL;
	ok = ok && start_progress(range) &&
	     stream(&ev, K_RECORD, sql_audit_frame_records, range, &n->records) &&
	     stream(&ev, K_EVENT, sql_audit_frame_events, range, &n->events) &&
	     stream(&ev, K_PHOTO, sql_audit_frame_photos, range, &n->photos) &&
	     duplicates(&ev, range);
	progress_end();
	ok = pgq_ok(sql_audit_frames_end, 0, NULL) && ok;
	for (unsigned k = 0; k < ev.nw; k++)
		sig_cache_free(ev.w[k].sigs);
	PQclear(ev.terms.r);
	free(ev.terms.t);
	free(ev.terms.c);
	n->seconds = now_s() - t0;
	return ok;
}
