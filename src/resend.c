/*
 * resend.c - see resend.h.
 *
 * Copies are told apart by the SHA-256 of their bytes: the stored row's
 * (computed by PostgreSQL, sql/queries/daemon/event_stored.sql and
 * photo_stored.sql) against the copy's (computed here).  A signed message
 * sent again is the same bytes, signature included.
 */
#include "hoursd.h"
#include "resend.h"
#include "conn.h"
#include "db.h"
#include "jtx.h"
#include "lesson.h"
#include "log.h"
#include "queries.h"
#include "reasons.h"
#include "server.h"

#include <openssl/evp.h>

#include <time.h>

/* The identity of a login or logout, as session_event keys it (lesson.c's event()). */
struct event_id {
	const char *kind;
	time_t time;
	const char *person_no;
	uint16_t answer_id;
};

static bool event_id(const struct lesson_msg *x, struct event_id *id)
{
	switch (x->id) {
	case JTX_COACH_LOGIN:
		*id = (struct event_id){"coach_login", x->coach_login.gnss.time,
					x->coach_login.coach_no, JTX_COACH_LOGIN_ACK};
		return true;
	case JTX_COACH_LOGOUT:
		*id = (struct event_id){"coach_logout", x->coach_logout.gnss.time,
					x->coach_logout.coach_no, JTX_COACH_LOGOUT_ACK};
		return true;
	case JTX_STUDENT_LOGIN:
		*id = (struct event_id){"student_login", x->student_login.gnss.time,
					x->student_login.student_no, JTX_STUDENT_LOGIN_ACK};
		return true;
	case JTX_STUDENT_LOGOUT:
		*id = (struct event_id){"student_logout", x->student_logout.logout_time,
					x->student_logout.student_no, JTX_STUDENT_LOGOUT_ACK};
		return true;
	default:
		return false;
	}
}

bool resend_is_event(uint16_t msg_id)
{
	return msg_id == JTX_COACH_LOGIN || msg_id == JTX_COACH_LOGOUT ||
	       msg_id == JTX_STUDENT_LOGIN || msg_id == JTX_STUDENT_LOGOUT;
}

/* The SHA-256 of p, in lower-case hex as PostgreSQL's encode(..., 'hex') writes it. */
static void sha256_hex(const uint8_t *p, size_t n, char hex[65])
{
	uint8_t md[32];
	unsigned len = 0;
	if (EVP_Digest(p, n, md, &len, EVP_sha256(), NULL) != 1 || len != 32)
		die("SHA-256 failed");
	hex_encode(hex, md, 32);
}

/* The one row of a look-up: its column, NULL when there is no row (or it failed). */
static const char *stored(const PGresult *res, int col)
{
	if (res == NULL || PQntuples(res) != 1 || PQgetisnull(res, 0, col))
		return NULL;
	return PQgetvalue(res, 0, col);
}

static void text_params(char p[][CONN_PARAM_LEN], int64_t terminal_id, const struct event_id *id)
{
	snprintf(p[0], CONN_PARAM_LEN, "%lld", (long long)terminal_id);
	snprintf(p[1], CONN_PARAM_LEN, "%s", id->kind);
	snprintf(p[2], CONN_PARAM_LEN, "%lld", (long long)id->time);
	snprintf(p[3], CONN_PARAM_LEN, "%s", id->person_no);
}

/* ---- keeping a conflict aside (a store of its own, answered refused after its commit) ---- */

/* A conflict on its way to its table; the bytes copied, the parameters pointing into it. */
struct conflict {
	ingest_done_fn done;
	void *arg;
	int n;
	const char *values[5];
	int lengths[5], formats[5];
	char text[4][CONN_PARAM_LEN];
	size_t len;
	uint8_t bytes[];
};

static void on_conflict_kept(void *arg, const PGresult *res)
{
	struct conflict *k = arg;
	if (res == NULL)
		log_error("a message sent again with other bytes could not be kept aside");
	k->done(k->arg, res ? INGEST_CONFLICT : INGEST_FAILED);
	free(k);
}

/* Keep bytes aside with sql: text parameters (n - 1 of them) and the bytes, binary, last. */
static void keep_conflict(struct db *db, const char *sql, char text[][CONN_PARAM_LEN], int ntext,
			  const uint8_t *bytes, size_t len, ingest_done_fn done, void *arg)
{
	struct conflict *k = calloc(1, sizeof(*k) + len);
	if (k == NULL)
		die("out of memory");
	k->done = done;
	k->arg = arg;
	k->n = ntext + 1;
	for (int i = 0; i < ntext; i++) {
		memcpy(k->text[i], text[i], CONN_PARAM_LEN);
		k->values[i] = k->text[i];
	}
	memcpy(k->bytes, bytes, len);
	k->len = len;
	k->values[ntext] = (const char *)k->bytes;
	k->lengths[ntext] = (int)len;
	k->formats[ntext] = 1;
	struct db_params p = {
		.n = k->n, .values = k->values, .lengths = k->lengths, .formats = k->formats};
	db_query_params(db, sql, &p, on_conflict_kept, k);
}

/*
 * What a conflict found before judging points the verdict's rows to: the
 * message being answered, one at a time (conn.c carries a verdict out at
 * once, and the caller's bytes live until then).
 */
static struct {
	const char *sql;
	char text[4][CONN_PARAM_LEN];
	int ntext;
	const uint8_t *bytes;
	size_t len;
} found;

static void store_conflict(const struct conn_msg *in, const struct conn_verdict *v,
			   ingest_done_fn done, void *arg)
{
	keep_conflict(in->srv->db, found.sql, found.text, found.ntext, found.bytes, found.len, done,
		      arg);
}

/* The copy of a stored message: nothing to store, the stored verdict is the outcome. */
static void store_nothing(const struct conn_msg *in, const struct conn_verdict *v,
			  ingest_done_fn done, void *arg)
{
	done(arg, v->answer.accepted ? INGEST_DUPLICATE : INGEST_DUPLICATE_REJECTED);
}

/* ---- logins and logouts ---- */

void resend_event_question(const struct conn_msg *in, const struct lesson_msg *x,
			   struct conn_verdict *v)
{
	struct event_id id = {0};
	if (!event_id(x, &id))
		return;
	v->sql = sql_event_stored;
	v->nparams = 4;
	text_params(v->param, in->t->id, &id);
}

bool resend_event_answer(const struct conn_msg *in, const struct jtx_header *h,
			 const struct lesson_msg *x, const struct jt808_msg *m, const PGresult *res,
			 struct conn_verdict *v)
{
	struct event_id id;
	const char *verdict = stored(res, EVENT_STORED_VERDICT);
	const char *sha = stored(res, EVENT_STORED_RAW_SHA256);
	if (verdict == NULL || sha == NULL || !event_id(x, &id))
		return false;
	char hex[65];
	sha256_hex(m->body, m->body_len, hex);
	bool same = strcmp(hex, sha) == 0;
	bool accepted = same && strcmp(verdict, "accepted") == 0;
	const char *why = stored(res, EVENT_STORED_REASON);
	v->act = CONN_STORE;
	v->answer = (struct conn_answer){
		.answer_id = id.answer_id,
		.ext_serial = h->serial,
		.accepted = accepted,
		.reason = accepted ? R_NONE : R_OTHER,
		.part = x->id == JTX_STUDENT_LOGIN ? x->student_login.course.part : 0};
	snprintf(v->answer.terminal_no, sizeof(v->answer.terminal_no), "%s", h->terminal_no);
	snprintf(v->answer.person_no, sizeof(v->answer.person_no), "%s", id.person_no);
	if (same) {
		v->store = store_nothing;
		log_defer(&v->lines, HLOG_INFO,
			  "%s of %s (extended serial %u) sent again: answered as stored (%s%s%s)",
			  id.kind, id.person_no, h->serial, verdict, why ? ": " : "",
			  why ? why : "");
		return true;
	}
	found.sql = sql_event_conflict;
	text_params(found.text, in->t->id, &id);
	found.ntext = 4;
	found.bytes = m->body;
	found.len = m->body_len;
	v->store = store_conflict;
	log_defer(&v->lines, HLOG_WARN,
		  "%s of %s (extended serial %u): other bytes than the one stored under its "
		  "identity: kept aside, refused",
		  id.kind, id.person_no, h->serial);
	return true;
}

/*
 * After the commit of a judged login, logout or photo: the row stored
 * under its identity, read again (one copy of several stored at once was
 * inserted; the others' inserts did nothing).
 */
struct settle {
	struct db *db;
	ingest_done_fn done;
	void *arg;
	bool accepted; /* the verdict hoursd gave this copy */
	bool photo;
	char text[4][CONN_PARAM_LEN];
	char sha[65];
	size_t len;
	uint8_t bytes[];
};

static struct settle *settle_new(struct server *srv, const uint8_t *bytes, size_t len,
				 ingest_done_fn done, void *arg)
{
	struct settle *s = calloc(1, sizeof(*s) + len);
	if (s == NULL)
		die("out of memory");
	*s = (struct settle){.db = srv->db, .done = done, .arg = arg, .len = len};
	memcpy(s->bytes, bytes, len);
	sha256_hex(bytes, len, s->sha);
	return s;
}

static void settle_done(struct settle *s, enum ingest_outcome o)
{
	s->done(s->arg, o);
	free(s);
}

static void on_settled(void *arg, const PGresult *res)
{
	struct settle *s = arg;
	const char *sha = stored(res, s->photo ? PHOTO_STORED_SHA256 : EVENT_STORED_RAW_SHA256);
	if (sha == NULL) { /* not readable now: the commit said stored */
		settle_done(s, INGEST_STORED);
		return;
	}
	if (strcmp(sha, s->sha) != 0) {
		log_warn("a %s stored at the same time with other bytes: this copy kept aside",
			 s->photo ? "photo" : "login or logout");
		keep_conflict(s->db, s->photo ? sql_photo_conflict : sql_event_conflict, s->text,
			      s->photo ? 2 : 4, s->bytes, s->len, s->done, s->arg);
		free(s);
		return;
	}
	bool accepted = s->photo || strcmp(stored(res, EVENT_STORED_VERDICT), "accepted") == 0;
	if (accepted == s->accepted)
		settle_done(s, INGEST_STORED);
	else
		settle_done(s, accepted ? INGEST_DUPLICATE : INGEST_DUPLICATE_REJECTED);
}

static void on_committed(void *arg, enum ingest_outcome o)
{
	struct settle *s = arg;
	if (o != INGEST_STORED) {
		settle_done(s, o);
		return;
	}
	const char *v[4] = {s->text[0], s->text[1], s->text[2], s->text[3]};
	db_query(s->db, s->photo ? sql_photo_stored : sql_event_stored, s->photo ? 2 : 4, v,
		 on_settled, s);
}

void resend_store_event(struct server *srv, const struct ingest_event *e, ingest_done_fn done,
			void *arg)
{
	struct settle *s = settle_new(srv, e->raw, e->raw_len, done, arg);
	struct event_id id = {.kind = e->e->kind, .time = e->e->time, .person_no = e->e->person_no};
	s->accepted = e->reason == NULL;
	text_params(s->text, e->terminal_id, &id);
	ingest_add_event(srv->ingest, e, on_committed, s);
}

/* ---- photos ---- */

void resend_photo_question(const struct conn_msg *in, const char *photo_no, struct conn_verdict *v)
{
	v->sql = sql_photo_stored;
	v->nparams = 2;
	snprintf(v->param[0], CONN_PARAM_LEN, "%lld", (long long)in->t->id);
	snprintf(v->param[1], CONN_PARAM_LEN, "%s", photo_no);
}

bool resend_photo_answer(const struct conn_msg *in, const char *photo_no, const uint8_t *bytes,
			 size_t len, const PGresult *res, struct conn_verdict *v)
{
	const char *sha = stored(res, PHOTO_STORED_SHA256);
	if (sha == NULL)
		return false;
	char hex[65];
	sha256_hex(bytes, len, hex);
	if (strcmp(hex, sha) == 0) {
		log_defer(&v->lines, HLOG_INFO, "photo %s sent again: answered as stored",
			  photo_no);
		v->act = CONN_ACK;
		v->result = JT808_R_OK;
		return true;
	}
	found.sql = sql_photo_conflict;
	snprintf(found.text[0], CONN_PARAM_LEN, "%lld", (long long)in->t->id);
	snprintf(found.text[1], CONN_PARAM_LEN, "%s", photo_no);
	found.ntext = 2;
	found.bytes = bytes;
	found.len = len;
	v->act = CONN_STORE;
	v->store = store_conflict;
	v->answer = (struct conn_answer){.accepted = false, .reason = R_OTHER};
	log_defer(
		&v->lines, HLOG_WARN,
		"photo %s: other data than the photo stored under its number: kept aside, refused",
		photo_no);
	return true;
}

void resend_store_photo(struct server *srv, int64_t terminal_id, const struct jtx_photo_init *p,
			const uint8_t *data, size_t len, ingest_done_fn done, void *arg)
{
	struct settle *s = settle_new(srv, data, len, done, arg);
	s->photo = s->accepted = true;
	snprintf(s->text[0], CONN_PARAM_LEN, "%lld", (long long)terminal_id);
	snprintf(s->text[1], CONN_PARAM_LEN, "%s", p->photo_no);
	ingest_add_photo(srv->ingest, terminal_id, p, data, len, on_committed, s);
}
