/*
 * timing.c - the timing-training messages of one connection (0x0900 with
 * transparent type 0x13): the I/O around lesson.c.
 *
 * A message is parsed and decoded, its signature checked against the
 * terminal's signing certificate (sig.c's cache), judged by
 * lesson_judge(), and handed to the store with its verdict; the answer
 * goes out after the commit, from conn_committed().  The store is called
 * from the three add_* functions only.
 */
#include "hoursd.h"
#include "conf.h"
#include "conn.h"
#include "lesson.h"
#include "server.h"
#include "sig.h"
#include "command.h"
#include "reasons.h"
#include "queries.h"

#include <libpq-fe.h>

#include <time.h>

static void copy(char *dst, const char *src, size_t cap)
{
	snprintf(dst, cap, "%s", src);
}

/*
 * The lesson is built from the registry's snapshot (c->t) at the first
 * timing message: a connection that sends none (a 2013 or 2019
 * terminal, or an idle one) keeps no lesson.
 */
void timing_restore(struct conn *c, const struct terminal *t)
{
	free(c->lesson);
	c->lesson = NULL;
	if (t->coach_login && t->coach_no[0] && t->student_login)
		conn_log(c, HLOG_INFO, "lesson continues: coach %s, student %s since %lld",
			 t->coach_no, t->student_no, (long long)t->student_login);
}

static struct lesson *lesson_of(struct conn *c)
{
	if (c->lesson == NULL) {
		c->lesson = malloc(sizeof(*c->lesson));
		if (c->lesson == NULL)
			die("out of memory");
		lesson_restore(c->lesson, &c->t);
	}
	return c->lesson;
}

/* A pending answer for a timing message: 0x8900 with answer_id, or 0x8001 when 0. */
static struct pending_ack *pending(struct conn *c, const struct jt808_msg *m,
				   const struct jtx_header *h, const struct lesson_verdict *v)
{
	struct pending_ack *p = conn_pending(c, m);
	p->answer_id = v->answer_id;
	p->ext_serial = h->serial;
	p->accepted = v->reason == R_NONE;
	p->reason = v->reason;
	p->part = v->part;
	copy(p->terminal_no, h->terminal_no, sizeof(p->terminal_no));
	copy(p->person_no, v->person_no, sizeof(p->person_no));
	if (v->reason != R_NONE)
		conn_log(c, HLOG_WARN, "timing message 0x%04x (extended serial %u) rejected: %s",
			 h->msg_id, h->serial, v->why);
	return p;
}

static void add_event(struct conn *c, const struct jt808_msg *m, const struct jtx_header *h,
		      const struct lesson_verdict *v)
{
	struct ingest_event ev = {.terminal_id = c->t.id,
				  .e = &v->event,
				  .reason = reason_name(v->reason),
				  .came_unsigned = h->sig_len == 0,
				  .ext_serial = h->serial,
				  .raw = m->body,
				  .raw_len = m->body_len};
	c->srv->st.session_events++;
	ingest_add_event(c->srv->ingest, &ev, conn_committed, pending(c, m, h, v));
}

static void add_record(struct conn *c, const struct jt808_msg *m, const struct jtx_header *h,
		       const struct lesson_verdict *v)
{
	struct ingest_record r = {.terminal_id = c->t.id,
				  .rec = v->record,
				  .session_login = v->session_login,
				  .reason = reason_name(v->reason),
				  .came_unsigned = h->sig_len == 0,
				  .raw = m->body,
				  .raw_len = m->body_len};
	struct pending_ack *p = pending(c, m, h, v);
	p->is_record = true;
	ingest_add_record(c->srv->ingest, &r, conn_committed, p);
}

static void add_photo(struct conn *c, const struct jt808_msg *m, const struct jtx_header *h,
		      const struct lesson_verdict *v)
{
	const struct jtx_photo_data *x = v->photo_data;
	c->srv->st.photos++;
	ingest_add_photo(c->srv->ingest, c->t.id, v->photo, x->bytes, x->len, conn_committed,
			 pending(c, m, h, v));
}

/* Nothing is stored yet: the answer says whether the photo may come (0: send it). */
static void answer_photo(struct conn *c, const struct jtx_header *h, const struct lesson_verdict *v)
{
	if (v->why)
		conn_log(c, HLOG_WARN, "photo %s announcement refused: %s", v->person_no, v->why);
	struct jtx_answer a = {.result = v->why ? JTX_PHOTO_REFUSED : JTX_PHOTO_ACCEPTED};
	copy(a.person_no, v->person_no, sizeof(a.person_no));
	uint8_t data[64], body[128];
	size_t n = jtx_build_answer(JTX_PHOTO_INIT_ACK, &a, data, sizeof(data));
	struct jtx_header ah = {.msg_id = JTX_PHOTO_INIT_ACK, .serial = h->serial};
	copy(ah.terminal_no, h->terminal_no, sizeof(ah.terminal_no));
	size_t len = n ? jtx_build(&ah, data, n, NULL, 0, body, sizeof(body)) : 0;
	if (len)
		conn_send_frame(c, JT808_P_TRANSPARENT_DOWN, body, len);
}

/* The check string against the terminal's signing certificate; an unsigned message has none. */
static enum sig_result verify(struct conn *c, const struct jtx_header *h, time_t now)
{
	if (h->sig_len == 0)
		return SIG_OK;
	return sig_verify_flags(c->srv->sigs, c->t.sign_cert_sha256, h->signed_bytes, h->signed_len,
				h->sig, h->sig_len, now, c->t.rsa_raw ? SIG_F_RSA_RAW : 0);
}

/* The verdict on a decoded message, and what follows from it. */
static void decide(struct conn *c, const struct jt808_msg *m, const struct jtx_header *h,
		   const struct lesson_msg *x, enum lesson_schedule schedule)
{
	struct lesson_env env = {.now = time(NULL),
				 .schedule = schedule,
				 .conf = c->srv->conf,
				 .syl = c->srv->syl,
				 .sites = c->srv->sites};
	struct lesson_verdict v = lesson_judge(lesson_of(c), x, &env);
	switch (v.action) {
	case LESSON_STORE_EVENT:
		add_event(c, m, h, &v);
		break;
	case LESSON_STORE_RECORD:
		add_record(c, m, h, &v);
		break;
	case LESSON_STORE_PHOTO:
		add_photo(c, m, h, &v);
		break;
	case LESSON_ANSWER_PHOTO:
		answer_photo(c, h, &v);
		break;
	case LESSON_REFUSE:
		conn_log(c, HLOG_WARN, "photo %s (%zu bytes) refused: %s", v.person_no,
			 x->photo_data.len, v.why);
		conn_send_ack(c, m->h.serial, m->h.msg_id, JT808_R_FAILED);
		break;
	}
}

/*
 * A student login waits for the student's schedule: whether its time is
 * inside a slot of the student is a question for the database (I/O), the
 * verdict on it lesson_judge's (pure).  The frame is kept (its body
 * copied) and decoded again when the answer is in; reading pauses
 * meanwhile, so the lesson's next frames come after its verdict.
 */
struct pending_login {
	struct conn *c;
	struct jt808_msg m; /* body: the copy below */
	enum sig_result sig;
	uint8_t body[];
};

static enum jtx_err parse(const struct jt808_msg *m, struct jtx_header *h)
{
	return m->escaped_sums ? jtx_parse_escaped_len(m->body, m->body_len, h)
			       : jtx_parse(m->body, m->body_len, h);
}

static void on_schedule(void *arg, const PGresult *res)
{
	struct pending_login *p = arg;
	struct conn *c = p->c;
	if (conn_answered(c)) {
		enum lesson_schedule s = LESSON_SCHED_UNCHECKED;
		if (res && PQntuples(res) == 1)
			s = PQgetvalue(res, 0, 0)[0] == 't' ? LESSON_SCHED_IN : LESSON_SCHED_OUT;
		else
			conn_log(c, HLOG_ERROR,
				 "the schedule could not be read: the student login is judged "
				 "without it");
		struct jtx_header h;
		struct lesson_msg x;
		/* It parsed and decoded before: the same bytes do again. */
		if (parse(&p->m, &h) == JTX_OK && lesson_decode(&h, &x) == JTX_OK) {
			x.sig = p->sig;
			decide(c, &p->m, &h, &x, s);
		}
	}
	conn_ask_done(c);
	free(p);
}

static void ask_schedule(struct conn *c, const struct jt808_msg *m, const struct lesson_msg *x)
{
	struct pending_login *p = malloc(sizeof(*p) + m->body_len);
	if (p == NULL)
		die("out of memory");
	p->c = c;
	p->m = *m;
	p->sig = x->sig;
	memcpy(p->body, m->body, m->body_len);
	p->m.body = p->body;
	char when[24];
	snprintf(when, sizeof(when), "%lld", (long long)x->student_login.gnss.time);
	const char *v[2] = {x->student_login.student_no, when};
	conn_ask(c, sql_schedule_covers, 2, v, on_schedule, p);
}

/* A lesson message: decoded, its signature checked, judged, then stored or answered. */
static void judge(struct conn *c, const struct jt808_msg *m, const struct jtx_header *h)
{
	struct lesson_msg x;
	enum jtx_err e = lesson_decode(h, &x);
	if (e == JTX_E_TYPE) {
		conn_log(c, HLOG_INFO, "timing message 0x%04x not supported", h->msg_id);
		conn_send_ack(c, m->h.serial, m->h.msg_id, JT808_R_NOT_SUPPORTED);
		return;
	}
	if (e != JTX_OK) {
		conn_log(c, HLOG_WARN, "timing message 0x%04x (serial %u): %s", h->msg_id,
			 m->h.serial, jtx_strerror(e));
		conn_send_ack(c, m->h.serial, m->h.msg_id, JT808_R_BAD_MESSAGE);
		return;
	}
	/* Photo data is not judged (its announcement was): no verification spent on it. */
	x.sig = x.id == JTX_PHOTO_DATA ? SIG_OK : verify(c, h, time(NULL));
	if (x.id == JTX_STUDENT_LOGIN)
		ask_schedule(c, m, &x);
	else
		decide(c, m, h, &x, LESSON_SCHED_UNCHECKED);
}

void timing_handle(struct conn *c, const struct jt808_msg *m)
{
	struct jtx_header h;
	enum jtx_err e = parse(m, &h);
	if (e != JTX_OK) {
		conn_log(c, HLOG_WARN, "transparent message (serial %u): %s", m->h.serial,
			 jtx_strerror(e));
		conn_send_ack(c, m->h.serial, m->h.msg_id,
			      e == JTX_E_TYPE ? JT808_R_NOT_SUPPORTED : JT808_R_BAD_MESSAGE);
		return;
	}
	switch (h.msg_id) {
	case JTX_FETCH_RECORDS_ACK:
	case JTX_TAKE_PHOTO_ACK:
	case JTX_TRAINING_BAN_ACK:
		command_answer(c, m, &h);
		break;
	default:
		judge(c, m, &h);
		break;
	}
}
