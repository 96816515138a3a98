/*
 * timing.c - the timing-training messages of one connection (0x0900 with
 * transparent type 0x13): the I/O decisions around lesson.c.
 *
 * A message is parsed and decoded, its signature checked against the
 * terminal's signing certificate (sig.c's cache) and judged by
 * lesson_judge(); what follows goes back to conn.c as one verdict: the
 * rows to store and the answer owed after their commit (sent by conn.c),
 * or an answer now, or first the student's schedule.  The terminals'
 * answers to commands go to command.c.  Nothing here calls conn.c.
 */
#include "hoursd.h"
#include "timing.h"
#include "command.h"
#include "conn.h"
#include "ingest.h"
#include "lesson.h"
#include "queries.h"
#include "reasons.h"
#include "resend.h"
#include "server.h"
#include "sig.h"
#include "terminal.h"

#include <libpq-fe.h>

#include <time.h>

/*
 * The message being judged, and the rows its verdict points to: one
 * message at a time, as conn.c carries a verdict out at once.
 */
static struct {
	struct jtx_header h;
	struct lesson_msg x;
	struct lesson_verdict lv;
	struct ingest_event ev;
	struct ingest_record rec;
} judging;

static void copy(char *dst, const char *src, size_t cap)
{
	snprintf(dst, cap, "%s", src);
}

static void answer(struct conn_verdict *v, uint8_t result)
{
	v->act = CONN_ACK;
	v->result = result;
}

/*
 * The lesson is built from the registry's snapshot at the first timing
 * message: a connection that sends none (a 2013 or 2019 terminal, or an
 * idle one) keeps no lesson.
 */
static struct lesson *lesson_of(const struct conn_msg *in)
{
	if (*in->state == NULL) {
		struct lesson *l = malloc(sizeof(*l));
		if (l == NULL)
			die("out of memory");
		lesson_restore(l, in->t);
		*in->state = l;
	}
	return *in->state;
}

/* ---- the stores (conn_store_fn): ingest's, for the rows the verdict points to ---- */

/* Logins, logouts and photos through resend.c: answered with what is stored after the commit. */
static void store_event(const struct conn_msg *in, const struct conn_verdict *v,
			ingest_done_fn done, void *arg)
{
	resend_store_event(in->srv, v->rows, done, arg);
}

static void store_record(const struct conn_msg *in, const struct conn_verdict *v,
			 ingest_done_fn done, void *arg)
{
	ingest_add_record(in->srv->ingest, v->rows, done, arg);
}

static void store_photo(const struct conn_msg *in, const struct conn_verdict *v,
			ingest_done_fn done, void *arg)
{
	const struct lesson_verdict *lv = v->rows;
	const struct jtx_photo_data *x = lv->photo_data;
	resend_store_photo(in->srv, in->t->id, lv->photo, x->bytes, x->len, done, arg);
}

/* Store rows with fn; the answer after their commit: 0x8900 with answer_id, or 0x8001 when 0. */
static void store(conn_store_fn fn, const void *rows, struct conn_verdict *v)
{
	const struct jtx_header *h = &judging.h;
	const struct lesson_verdict *lv = &judging.lv;
	v->act = CONN_STORE;
	v->store = fn;
	v->rows = rows;
	v->answer = (struct conn_answer){.answer_id = lv->answer_id,
					 .ext_serial = h->serial,
					 .accepted = lv->reason == R_NONE,
					 .reason = lv->reason,
					 .part = lv->part};
	copy(v->answer.terminal_no, h->terminal_no, sizeof(v->answer.terminal_no));
	copy(v->answer.person_no, lv->person_no, sizeof(v->answer.person_no));
	/* A record's is logged after its commit (conn.c): a copy is answered as stored. */
	if (lv->reason != R_NONE && lv->action != LESSON_STORE_RECORD)
		log_defer(&v->lines, HLOG_WARN,
			  "timing message 0x%04x (extended serial %u) rejected: %s", h->msg_id,
			  h->serial, lv->why);
}

/* A login's verdict in the metrics: refused by its reason, or each check flagged. */
static void count_login(struct server_stats *st, const struct lesson_event *e, enum reason reason)
{
	if (strcmp(e->kind, "coach_login") != 0 && strcmp(e->kind, "student_login") != 0)
		return;
	if (reason != R_NONE)
		st->logins_refused_by_reason[reason]++;
	for (const char *p = e->flags; p && *p;) {
		size_t n = strcspn(p, ",");
		char name[48];
		snprintf(name, sizeof(name), "%.*s", (int)(n < sizeof(name) ? n : 0), p);
		st->logins_flagged_by_reason[reason_index(name)]++;
		p += n + (p[n] == ',');
	}
}

static void add_event(const struct conn_msg *in, const struct jt808_msg *m, struct conn_verdict *v)
{
	const struct lesson_verdict *lv = &judging.lv;
	judging.ev = (struct ingest_event){.terminal_id = in->t->id,
					   .e = &lv->event,
					   .reason = reason_name(lv->reason),
					   .came_unsigned = judging.h.sig_len == 0,
					   .ext_serial = judging.h.serial,
					   .raw = m->body,
					   .raw_len = m->body_len};
	in->srv->st.session_events++;
	count_login(&in->srv->st, &lv->event, lv->reason);
	store(store_event, &judging.ev, v);
}

static void add_record(const struct conn_msg *in, const struct jt808_msg *m, struct conn_verdict *v)
{
	const struct lesson_verdict *lv = &judging.lv;
	judging.rec = (struct ingest_record){.terminal_id = in->t->id,
					     .rec = lv->record,
					     .session_login = lv->session_login,
					     .reason = reason_name(lv->reason),
					     .came_unsigned = judging.h.sig_len == 0,
					     .raw = m->body,
					     .raw_len = m->body_len};
	store(store_record, &judging.rec, v);
	v->answer.is_record = true;
}

static void add_photo(const struct conn_msg *in, struct conn_verdict *v)
{
	in->srv->st.photos++;
	store(store_photo, &judging.lv, v);
}

/* Nothing is stored yet: the answer says whether the photo may come (0: send it). */
static void answer_photo(const struct lesson_verdict *lv, struct conn_verdict *v)
{
	const struct jtx_header *h = &judging.h;
	if (lv->why)
		log_defer(&v->lines, HLOG_WARN, "photo %s announcement refused: %s", lv->person_no,
			  lv->why);
	struct jtx_answer a = {.result = lv->why ? JTX_PHOTO_REFUSED : JTX_PHOTO_ACCEPTED};
	copy(a.person_no, lv->person_no, sizeof(a.person_no));
	uint8_t data[64];
	size_t n = jtx_build_answer(JTX_PHOTO_INIT_ACK, &a, data, sizeof(data));
	struct jtx_header ah = {.msg_id = JTX_PHOTO_INIT_ACK, .serial = h->serial};
	copy(ah.terminal_no, h->terminal_no, sizeof(ah.terminal_no));
	size_t len = n ? jtx_build(&ah, data, n, NULL, 0, v->send, sizeof(v->send)) : 0;
	if (len) {
		v->act = CONN_SEND;
		v->send_id = JT808_P_TRANSPARENT_DOWN;
		v->send_len = len;
	}
}

/* The time the terminal signed the message at, as it says (0: it says none). */
static time_t signed_at(const struct lesson_msg *x)
{
	switch (x->id) {
	case JTX_COACH_LOGIN:
		return x->coach_login.gnss.time;
	case JTX_COACH_LOGOUT:
		return x->coach_logout.gnss.time;
	case JTX_STUDENT_LOGIN:
		return x->student_login.gnss.time;
	case JTX_STUDENT_LOGOUT:
		return x->student_logout.logout_time;
	case JTX_RECORD:
		return x->record.record_time;
	case JTX_PHOTO_INIT:
		return x->photo_init.gnss.time;
	default:
		return 0;
	}
}

/*
 * The check string against the terminal's signing certificate in force
 * when the message was signed (docs/audit.md, "Certificates by time"): a
 * record uploaded late, signed before its terminal's certificate was
 * replaced, against the one before.  An unsigned message has none.
 */
static enum sig_result verify(const struct conn_msg *in, const struct lesson_msg *x,
			      const struct jtx_header *h, time_t now)
{
	if (h->sig_len == 0)
		return SIG_OK;
	const struct terminal *t = in->t;
	time_t at = signed_at(x);
	const uint8_t *cert = t->has_prev_sign_cert && at > 0 && at < t->sign_cert_since
				      ? t->prev_sign_cert_sha256
				      : t->sign_cert_sha256;
	return sig_verify_flags(in->srv->sigs, cert, h->signed_bytes, h->signed_len, h->sig,
				h->sig_len, now, t->rsa_raw ? SIG_F_RSA_RAW : 0);
}

static void ask_photo(const struct conn_msg *in, const struct jt808_msg *m, const char *why,
		      struct conn_verdict *v);

/* The verdict on the decoded message (judging.x) of frame m, and what follows from it. */
static void decide(const struct conn_msg *in, const struct jt808_msg *m,
		   enum lesson_schedule schedule, const char *registry, struct conn_verdict *v)
{
	struct lesson_env env = {.now = time(NULL),
				 .schedule = schedule,
				 .registry = registry,
				 .conf = in->srv->conf,
				 .syl = in->srv->syl,
				 .sites = in->srv->sites};
	const struct lesson_verdict *lv = &judging.lv;
	judging.lv = lesson_judge(lesson_of(in), &judging.x, &env);
	switch (lv->action) {
	case LESSON_STORE_EVENT:
		add_event(in, m, v);
		break;
	case LESSON_STORE_RECORD:
		add_record(in, m, v);
		break;
	case LESSON_STORE_PHOTO:
		add_photo(in, v);
		break;
	case LESSON_ANSWER_PHOTO:
		answer_photo(lv, v);
		break;
	case LESSON_REFUSE:
		/* Photo data no announcement explains may be a photo stored before, sent again. */
		ask_photo(in, m, lv->why, v);
		break;
	}
}

/*
 * A message waiting for a question to the database (I/O) before its
 * verdict: a login or logout for the row stored under its identity
 * (resend.c); a login then for the registry's checks and, a student's,
 * for the student's schedule (login_check.sql; the verdict on the answer
 * is lesson_judge's, pure); photo data that would be refused for the
 * photo stored under its number.  The frame is kept (its body copied) and
 * decoded again when the answer is in; conn.c pauses reading meanwhile,
 * so the lesson's next frames come after its verdict.
 */
struct pending_login {
	struct jt808_msg m; /* body: the copy below */
	enum sig_result sig;
	const char *why; /* photo data: why it would be refused (static text) */
	uint8_t body[];
};

static struct pending_login *keep(const struct jt808_msg *m, enum sig_result sig)
{
	struct pending_login *p = malloc(sizeof(*p) + m->body_len);
	if (p == NULL)
		die("out of memory");
	p->m = *m;
	p->sig = sig;
	p->why = NULL;
	memcpy(p->body, m->body, m->body_len);
	p->m.body = p->body;
	return p;
}

static void ask(conn_asked_fn fn, struct pending_login *p, struct conn_verdict *v)
{
	v->act = CONN_ASK;
	v->asked = fn;
	v->arg = p;
}

static enum jtx_err parse(const struct jt808_msg *m, struct jtx_header *h)
{
	return m->escaped_sums ? jtx_parse_escaped_len(m->body, m->body_len, h)
			       : jtx_parse(m->body, m->body_len, h);
}

/* The registry's and the schedule's answer (conn_asked_fn); conn.c frees p after. */
static void on_login_check(const struct conn_msg *in, void *arg, const PGresult *res,
			   struct conn_verdict *v)
{
	struct pending_login *p = arg;
	enum lesson_schedule s = LESSON_SCHED_UNCHECKED;
	const char *registry = NULL;
	if (res && PQntuples(res) == 1) {
		registry = PQgetvalue(res, 0, LOGIN_CHECK_PROBLEMS);
		if (!PQgetisnull(res, 0, LOGIN_CHECK_INSIDE))
			s = PQgetvalue(res, 0, LOGIN_CHECK_INSIDE)[0] == 't' ? LESSON_SCHED_IN
									     : LESSON_SCHED_OUT;
	} else {
		log_defer(&v->lines, HLOG_ERROR,
			  "the registry and the schedule could not be read: the login is judged "
			  "without them");
	}
	/* It parsed and decoded before: the same bytes do again. */
	if (parse(&p->m, &judging.h) == JTX_OK && lesson_decode(&judging.h, &judging.x) == JTX_OK) {
		judging.x.sig = p->sig;
		decide(in, &p->m, s, registry, v);
	}
}

static void ask_login_check(const struct conn_msg *in, const struct jt808_msg *m,
			    const struct lesson_msg *x, struct conn_verdict *v)
{
	ask(on_login_check, keep(m, x->sig), v);
	v->sql = sql_login_check;
	v->nparams = 5;
	bool student = x->id == JTX_STUDENT_LOGIN;
	snprintf(v->param[0], sizeof(v->param[0]), "%lld", (long long)in->t->id);
	copy(v->param[1], student ? x->student_login.coach_no : x->coach_login.coach_no,
	     sizeof(v->param[1]));
	copy(v->param[2], student ? x->student_login.student_no : "", sizeof(v->param[2]));
	snprintf(v->param[3], sizeof(v->param[3]), "%lld",
		 (long long)(student ? x->student_login.gnss.time : x->coach_login.gnss.time));
	copy(v->param[4], student && x->student_login.course.mode == 1 ? "t" : "f",
	     sizeof(v->param[4]));
}

/*
 * The row stored under a login's or logout's identity (conn_asked_fn):
 * a copy of it is answered as stored and never judged; else it is judged
 * (a login after the registry's and the schedule's question).
 */
static void on_stored_event(const struct conn_msg *in, void *arg, const PGresult *res,
			    struct conn_verdict *v)
{
	struct pending_login *p = arg;
	/* It parsed and decoded before: the same bytes do again. */
	if (parse(&p->m, &judging.h) != JTX_OK || lesson_decode(&judging.h, &judging.x) != JTX_OK)
		return;
	judging.x.sig = p->sig;
	if (resend_event_answer(in, &judging.h, &judging.x, &p->m, res, v))
		return;
	if (judging.x.id == JTX_STUDENT_LOGIN || judging.x.id == JTX_COACH_LOGIN)
		ask_login_check(in, &p->m, &judging.x, v);
	else
		decide(in, &p->m, LESSON_SCHED_UNCHECKED, NULL, v);
}

/* The photo stored under the number of photo data that would be refused (conn_asked_fn). */
static void on_stored_photo(const struct conn_msg *in, void *arg, const PGresult *res,
			    struct conn_verdict *v)
{
	struct pending_login *p = arg;
	if (parse(&p->m, &judging.h) != JTX_OK || lesson_decode(&judging.h, &judging.x) != JTX_OK)
		return;
	const struct jtx_photo_data *x = &judging.x.photo_data;
	if (resend_photo_answer(in, x->photo_no, x->bytes, x->len, res, v))
		return;
	log_defer(&v->lines, HLOG_WARN, "photo %s (%zu bytes) refused: %s", x->photo_no, x->len,
		  p->why);
	answer(v, JT808_R_FAILED);
}

static void ask_photo(const struct conn_msg *in, const struct jt808_msg *m, const char *why,
		      struct conn_verdict *v)
{
	struct pending_login *p = keep(m, SIG_OK);
	p->why = why;
	ask(on_stored_photo, p, v);
	resend_photo_question(in, judging.x.photo_data.photo_no, v);
}

/* A lesson message (judging.h): decoded, its signature checked, judged, then stored or answered. */
static void judge(const struct conn_msg *in, struct conn_verdict *v)
{
	const struct jt808_msg *m = in->m;
	const struct jtx_header *h = &judging.h;
	struct lesson_msg *x = &judging.x;
	enum jtx_err e = lesson_decode(h, x);
	if (e == JTX_E_TYPE) {
		log_defer(&v->lines, HLOG_INFO, "timing message 0x%04x not supported", h->msg_id);
		answer(v, JT808_R_NOT_SUPPORTED);
		return;
	}
	if (e != JTX_OK) {
		log_defer(&v->lines, HLOG_WARN, "timing message 0x%04x (serial %u): %s", h->msg_id,
			  m->h.serial, jtx_strerror(e));
		answer(v, JT808_R_BAD_MESSAGE);
		return;
	}
	/* Photo data is not judged (its announcement was): no verification spent on it. */
	x->sig = x->id == JTX_PHOTO_DATA ? SIG_OK : verify(in, x, h, time(NULL));
	if (resend_is_event(x->id)) {
		/* Sent again? Asked before the lesson sees it (resend.h). */
		ask(on_stored_event, keep(m, x->sig), v);
		resend_event_question(in, x, v);
	} else {
		decide(in, m, LESSON_SCHED_UNCHECKED, NULL, v);
	}
}

void timing_handle(const struct conn_msg *in, struct conn_verdict *v)
{
	const struct jt808_msg *m = in->m;
	enum jtx_err e = parse(m, &judging.h);
	if (e != JTX_OK) {
		log_defer(&v->lines, HLOG_WARN, "transparent message (serial %u): %s", m->h.serial,
			  jtx_strerror(e));
		answer(v, e == JTX_E_TYPE ? JT808_R_NOT_SUPPORTED : JT808_R_BAD_MESSAGE);
		return;
	}
	switch (judging.h.msg_id) {
	case JTX_FETCH_RECORDS_ACK:
	case JTX_TAKE_PHOTO_ACK:
	case JTX_TRAINING_BAN_ACK:
		command_answer(in, &judging.h, v);
		break;
	default:
		judge(in, v);
		break;
	}
}
