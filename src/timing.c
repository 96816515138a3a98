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

static void store_event(const struct conn_msg *in, const struct conn_verdict *v,
			ingest_done_fn done, void *arg)
{
	ingest_add_event(in->srv->ingest, v->rows, done, arg);
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
	ingest_add_photo(in->srv->ingest, in->t->id, lv->photo, x->bytes, x->len, done, arg);
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
	if (lv->reason != R_NONE)
		log_defer(&v->lines, HLOG_WARN,
			  "timing message 0x%04x (extended serial %u) rejected: %s", h->msg_id,
			  h->serial, lv->why);
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

/* The verdict on the decoded message (judging.x) of frame m, and what follows from it. */
static void decide(const struct conn_msg *in, const struct jt808_msg *m,
		   enum lesson_schedule schedule, struct conn_verdict *v)
{
	struct lesson_env env = {.now = time(NULL),
				 .schedule = schedule,
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
		log_defer(&v->lines, HLOG_WARN, "photo %s (%zu bytes) refused: %s", lv->person_no,
			  judging.x.photo_data.len, lv->why);
		answer(v, JT808_R_FAILED);
		break;
	}
}

/*
 * A student login waits for the student's schedule: whether its time is
 * inside a slot of the student is a question for the database (I/O), the
 * verdict on it lesson_judge's (pure).  The frame is kept (its body
 * copied) and decoded again when the answer is in; conn.c pauses reading
 * meanwhile, so the lesson's next frames come after its verdict.
 */
struct pending_login {
	struct jt808_msg m; /* body: the copy below */
	enum sig_result sig;
	uint8_t body[];
};

static enum jtx_err parse(const struct jt808_msg *m, struct jtx_header *h)
{
	return m->escaped_sums ? jtx_parse_escaped_len(m->body, m->body_len, h)
			       : jtx_parse(m->body, m->body_len, h);
}

/* The schedule's answer (conn_asked_fn); conn.c frees p after. */
static void on_schedule(const struct conn_msg *in, void *arg, const PGresult *res,
			struct conn_verdict *v)
{
	struct pending_login *p = arg;
	enum lesson_schedule s = LESSON_SCHED_UNCHECKED;
	if (res && PQntuples(res) == 1)
		s = PQgetvalue(res, 0, SCHEDULE_COVERS_INSIDE)[0] == 't' ? LESSON_SCHED_IN
									 : LESSON_SCHED_OUT;
	else
		log_defer(&v->lines, HLOG_ERROR,
			  "the schedule could not be read: the student login is judged without it");
	/* It parsed and decoded before: the same bytes do again. */
	if (parse(&p->m, &judging.h) == JTX_OK && lesson_decode(&judging.h, &judging.x) == JTX_OK) {
		judging.x.sig = p->sig;
		decide(in, &p->m, s, v);
	}
}

static void ask_schedule(const struct jt808_msg *m, const struct lesson_msg *x,
			 struct conn_verdict *v)
{
	struct pending_login *p = malloc(sizeof(*p) + m->body_len);
	if (p == NULL)
		die("out of memory");
	p->m = *m;
	p->sig = x->sig;
	memcpy(p->body, m->body, m->body_len);
	p->m.body = p->body;
	v->act = CONN_ASK;
	v->sql = sql_schedule_covers;
	v->asked = on_schedule;
	v->arg = p;
	v->nparams = 2;
	copy(v->param[0], x->student_login.student_no, sizeof(v->param[0]));
	snprintf(v->param[1], sizeof(v->param[1]), "%lld", (long long)x->student_login.gnss.time);
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
	if (x->id == JTX_STUDENT_LOGIN)
		ask_schedule(m, x, v);
	else
		decide(in, m, LESSON_SCHED_UNCHECKED, v);
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
