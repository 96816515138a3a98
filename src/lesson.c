/*
 * lesson.c - the timing-training messages of one terminal (0x0900 with
 * transparent type 0x13): coach and student logins and logouts, the
 * minute records and photos.
 *
 * Every message is judged here (signature, lesson state) and handed to
 * the store with its verdict; a rejected one is stored too, with its
 * reason code (docs/protocol.md lists them).  The answer goes out after
 * the commit, from conn_committed().
 */
#include "hoursd.h"
#include "conf.h"
#include "conn.h"
#include "server.h"
#include "sig.h"
#include "command.h"
#include "reasons.h"

/*
 * The signature check, as a reason code (R_NONE: good).  A message without
 * a signature is refused, or taken when rules.unsigned is "flag"; either
 * way it is stored with signed = false.
 */
static enum reason check_signature(struct conn *c, const struct jtx_header *h)
{
	/* jtx_parse leaves a signature exactly when the properties announce one. */
	if (h->sig_len == 0)
		return strcmp(c->srv->conf->unsigned_policy, "flag") == 0 ? R_NONE : R_NO_SIGNATURE;
	enum sig_result r = sig_verify_flags(c->srv->sigs, c->t.sign_cert_sha256, h->signed_bytes,
					     h->signed_len, h->sig, h->sig_len, time(NULL),
					     c->t.rsa_raw ? SIG_F_RSA_RAW : 0);
	switch (r) {
	case SIG_OK:
		return R_NONE;
	case SIG_BAD:
		return R_BAD_SIGNATURE;
	case SIG_EXPIRED:
		return R_CERTIFICATE_EXPIRED;
	default:
		return R_NO_SIGNING_KEY;
	}
}

/* Checks every timing message passes before its own. */
static enum reason check_common(struct conn *c, const struct jtx_header *h)
{
	if (!c->t.active)
		return R_TERMINAL_DISABLED;
	if (c->t.terminal_no[0] && strcmp(c->t.terminal_no, h->terminal_no) != 0)
		return R_TERMINAL_NO_MISMATCH;
	return check_signature(c, h);
}

static void copy(char *dst, const char *src, size_t cap)
{
	snprintf(dst, cap, "%s", src);
}

void lesson_restore(struct conn *c, const struct store_terminal *t)
{
	struct lesson *l = &c->lesson;
	memset(l, 0, sizeof(*l));
	if (t->coach_login) {
		copy(l->coach_no, t->coach_no, sizeof(l->coach_no));
		l->coach_login = t->coach_login;
	}
	if (t->student_login && l->coach_no[0]) {
		copy(l->student_no, t->student_no, sizeof(l->student_no));
		copy(l->student_coach_no, t->student_coach_no, sizeof(l->student_coach_no));
		l->class_id = (uint32_t)t->student_class_id;
		l->student_login = t->student_login;
		l->last_activity =
			t->last_record > t->student_login ? t->last_record : t->student_login;
	}
	l->rules.school_id = t->school_id;
	l->rules.vehicle_class = c->t.vehicle_class;
	if (l->student_no[0])
		conn_log(c, HLOG_INFO, "lesson continues: coach %s, student %s since %lld",
			 l->coach_no, l->student_no, (long long)l->student_login);
}

/* A pending answer for a timing message: 0x8900 with answer_id, or 0x8001 when 0. */
static struct pending_ack *pending(struct conn *c, const struct jt808_msg *m,
				   const struct jtx_header *h, uint16_t answer_id,
				   const char *person, enum reason reason)
{
	struct pending_ack *p = conn_pending(c, m);
	p->answer_id = answer_id;
	p->ext_serial = h->serial;
	p->accepted = reason == R_NONE;
	p->reason = reason;
	copy(p->terminal_no, h->terminal_no, sizeof(p->terminal_no));
	copy(p->person_no, person, sizeof(p->person_no));
	if (reason != R_NONE)
		conn_log(c, HLOG_WARN, "timing message 0x%04x (extended serial %u) rejected: %s",
			 h->msg_id, h->serial, reason_name(reason));
	return p;
}

/* An event with no class, course, minutes or mileage: the caller adds what it has. */
static struct store_event event_of(const char *kind, time_t t, const char *person,
				   const struct jt808_location *gnss, enum reason reason)
{
	return (struct store_event){.kind = kind,
				    .event_time = t,
				    .person_no = person,
				    .class_id = -1,
				    .minutes = -1,
				    .mileage_dkm = -1,
				    .gnss = gnss,
				    .reason = reason_name(reason)};
}

/* part: a student login's, whose progress its answer reports; else 0. */
static void store_event(struct conn *c, const struct jt808_msg *m, const struct jtx_header *h,
			struct store_event *e, uint16_t answer_id, uint8_t part)
{
	e->terminal_id = c->t.id;
	e->ext_serial = h->serial;
	e->came_unsigned = h->sig_len == 0;
	e->raw = m->body;
	e->raw_len = m->body_len;
	c->srv->st.session_events++;
	struct pending_ack *p = pending(c, m, h, answer_id, e->person_no, reason_index(e->reason));
	p->part = part;
	store_add_event(c->srv->store, e, conn_committed, p);
}

static void bad_message(struct conn *c, const struct jt808_msg *m, const struct jtx_header *h,
			enum jtx_err e)
{
	conn_log(c, HLOG_WARN, "timing message 0x%04x (serial %u): %s", h->msg_id, m->h.serial,
		 jtx_strerror(e));
	conn_send_ack(c, m->h.serial, m->h.msg_id, JT808_R_BAD_MESSAGE);
}

static void coach_login(struct conn *c, const struct jt808_msg *m, const struct jtx_header *h)
{
	struct jtx_coach_login x;
	enum jtx_err e = jtx_parse_coach_login(h->data, h->data_len, &x);
	if (e != JTX_OK) {
		bad_message(c, m, h, e);
		return;
	}
	enum reason reason = check_common(c, h);
	struct lesson *l = &c->lesson;
	if (reason == R_NONE) {
		copy(l->coach_no, x.coach_no, sizeof(l->coach_no));
		l->coach_login = x.gnss.time;
		l->student_no[0] = '\0'; /* a new coach ends any student's login */
	}
	struct store_event ev = event_of("coach_login", x.gnss.time, x.coach_no, &x.gnss, reason);
	store_event(c, m, h, &ev, JTX_COACH_LOGIN_ACK, 0);
}

static void coach_logout(struct conn *c, const struct jt808_msg *m, const struct jtx_header *h)
{
	struct jtx_coach_logout x;
	enum jtx_err e = jtx_parse_coach_logout(h->data, h->data_len, &x);
	if (e != JTX_OK) {
		bad_message(c, m, h, e);
		return;
	}
	struct lesson *l = &c->lesson;
	enum reason reason = check_common(c, h);
	if (reason == R_NONE && strcmp(l->coach_no, x.coach_no) != 0)
		reason = R_COACH_NOT_LOGGED_IN;
	if (reason == R_NONE) {
		l->coach_no[0] = '\0';
		l->student_no[0] = '\0';
	}
	struct store_event ev = event_of("coach_logout", x.gnss.time, x.coach_no, &x.gnss, reason);
	store_event(c, m, h, &ev, JTX_COACH_LOGOUT_ACK, 0);
}

static void student_login(struct conn *c, const struct jt808_msg *m, const struct jtx_header *h)
{
	struct jtx_student_login x;
	enum jtx_err e = jtx_parse_student_login(h->data, h->data_len, &x);
	if (e != JTX_OK) {
		bad_message(c, m, h, e);
		return;
	}
	struct lesson *l = &c->lesson;
	enum reason reason = check_common(c, h);
	if (reason == R_NONE && (l->coach_no[0] == '\0' || strcmp(l->coach_no, x.coach_no) != 0))
		reason = R_COACH_NOT_LOGGED_IN;
	if (reason == R_NONE) {
		copy(l->student_no, x.student_no, sizeof(l->student_no));
		copy(l->student_coach_no, x.coach_no, sizeof(l->student_coach_no));
		l->class_id = x.class_id;
		l->student_login = x.gnss.time;
		l->last_activity = x.gnss.time;
	}
	struct store_event ev =
		event_of("student_login", x.gnss.time, x.student_no, &x.gnss, reason);
	ev.coach_no = x.coach_no;
	ev.class_id = x.class_id;
	ev.course_code = x.course.digits;
	store_event(c, m, h, &ev, JTX_STUDENT_LOGIN_ACK, x.course.part);
}

static void student_logout(struct conn *c, const struct jt808_msg *m, const struct jtx_header *h)
{
	struct jtx_student_logout x;
	enum jtx_err e = jtx_parse_student_logout(h->data, h->data_len, &x);
	if (e != JTX_OK) {
		bad_message(c, m, h, e);
		return;
	}
	struct lesson *l = &c->lesson;
	enum reason reason = check_common(c, h);
	if (reason == R_NONE && strcmp(l->student_no, x.student_no) != 0)
		reason = R_STUDENT_NOT_LOGGED_IN;
	if (reason == R_NONE)
		l->student_no[0] = '\0';
	struct store_event ev =
		event_of("student_logout", x.logout_time, x.student_no, &x.gnss, reason);
	ev.class_id = x.class_id;
	ev.minutes = x.minutes;
	ev.mileage_dkm = x.mileage_dkm;
	store_event(c, m, h, &ev, JTX_STUDENT_LOGOUT_ACK, 0);
}

/* Whether the record belongs to the lesson open on this terminal; a reason when not. */
static enum reason check_lesson(struct lesson *l, const struct jtx_record *r, unsigned timeout_s)
{
	if (l->coach_no[0] == '\0' || l->student_no[0] == '\0')
		return R_NO_SESSION;
	if (r->record_time - l->last_activity > (time_t)timeout_s) {
		l->student_no[0] = '\0';
		return R_SESSION_TIMED_OUT;
	}
	if (strcmp(l->student_no, r->student_no) != 0)
		return R_STUDENT_NOT_LOGGED_IN;
	if (strcmp(l->coach_no, r->coach_no) != 0)
		return R_COACH_NOT_LOGGED_IN;
	if (l->class_id != r->class_id)
		return R_CLASS_MISMATCH;
	return R_NONE;
}

static void record(struct conn *c, const struct jt808_msg *m, const struct jtx_header *h)
{
	struct jtx_record x;
	enum jtx_err e = jtx_parse_record(h->data, h->data_len, &x);
	if (e != JTX_OK) {
		bad_message(c, m, h, e);
		return;
	}
	struct lesson *l = &c->lesson;
	enum reason reason = check_common(c, h);
	if (reason == R_NONE)
		reason = check_lesson(l, &x, c->srv->conf->session_timeout_s);
	if (reason == R_NONE)
		reason = rules_check_record(c->srv->conf, c->srv->syl, c->srv->sites, &l->rules, &x,
					    time(NULL));
	if (reason == R_NONE && x.record_time > l->last_activity)
		l->last_activity = x.record_time;
	struct store_record r = {.terminal_id = c->t.id,
				 .rec = &x,
				 .session_login = l->student_no[0] ? l->student_login : 0,
				 .reason = reason_name(reason),
				 .came_unsigned = h->sig_len == 0,
				 .raw = m->body,
				 .raw_len = m->body_len};
	struct pending_ack *p = pending(c, m, h, 0, x.student_no, reason);
	p->is_record = true;
	store_add_record(c->srv->store, &r, conn_committed, p);
}

static void photo_init(struct conn *c, const struct jt808_msg *m, const struct jtx_header *h)
{
	struct jtx_photo_init x;
	enum jtx_err e = jtx_parse_photo_init(h->data, h->data_len, &x);
	if (e != JTX_OK) {
		bad_message(c, m, h, e);
		return;
	}
	const char *reason = reason_name(check_common(c, h));
	const struct hconf *cf = c->srv->conf;
	if (reason == NULL &&
	    (x.total_packets > cf->reasm_max_pieces || x.photo_size + 64 > cf->reasm_max_bytes))
		reason = "photo larger than connection.reasm_max_pieces / reasm_max_bytes allow";
	struct lesson *l = &c->lesson;
	if (reason == NULL) {
		struct pending_photo *p = &l->photos[l->next_photo++ % LESSON_PHOTOS];
		p->used = true;
		p->init = x;
	} else {
		conn_log(c, HLOG_WARN, "photo %s announcement refused: %s", x.photo_no, reason);
	}
	/* Nothing is stored yet: the answer says whether the photo may come (0: send it). */
	struct jtx_answer a = {.result = reason ? JTX_PHOTO_REFUSED : JTX_PHOTO_ACCEPTED};
	copy(a.person_no, x.photo_no, sizeof(a.person_no));
	uint8_t data[64], body[128];
	size_t n = jtx_build_answer(JTX_PHOTO_INIT_ACK, &a, data, sizeof(data));
	struct jtx_header ah = {.msg_id = JTX_PHOTO_INIT_ACK, .serial = h->serial};
	copy(ah.terminal_no, h->terminal_no, sizeof(ah.terminal_no));
	size_t len = n ? jtx_build(&ah, data, n, NULL, 0, body, sizeof(body)) : 0;
	if (len)
		conn_send_frame(c, JT808_P_TRANSPARENT_DOWN, body, len);
}

static void photo_data(struct conn *c, const struct jt808_msg *m, const struct jtx_header *h)
{
	struct jtx_photo_data x;
	enum jtx_err e = jtx_parse_photo_data(h->data, h->data_len, &x);
	if (e != JTX_OK) {
		bad_message(c, m, h, e);
		return;
	}
	struct pending_photo *p = NULL;
	for (unsigned i = 0; i < LESSON_PHOTOS && p == NULL; i++) {
		struct pending_photo *q = &c->lesson.photos[i];
		if (q->used && strcmp(q->init.photo_no, x.photo_no) == 0)
			p = q;
	}
	const char *why = NULL;
	if (p == NULL)
		why = "no photo announcement (0x0305) for it";
	else if (x.len != p->init.photo_size)
		why = "size differs from the announced size";
	if (why) {
		conn_log(c, HLOG_WARN, "photo %s (%zu bytes) refused: %s", x.photo_no, x.len, why);
		conn_send_ack(c, m->h.serial, m->h.msg_id, JT808_R_FAILED);
		return;
	}
	p->used = false;
	c->srv->st.photos++;
	store_add_photo(c->srv->store, c->t.id, &p->init, x.bytes, x.len, conn_committed,
			pending(c, m, h, 0, x.photo_no, R_NONE));
}

void lesson_handle(struct conn *c, const struct jt808_msg *m)
{
	struct jtx_header h;
	enum jtx_err e = m->escaped_sums ? jtx_parse_escaped_len(m->body, m->body_len, &h)
					 : jtx_parse(m->body, m->body_len, &h);
	if (e != JTX_OK) {
		conn_log(c, HLOG_WARN, "transparent message (serial %u): %s", m->h.serial,
			 jtx_strerror(e));
		conn_send_ack(c, m->h.serial, m->h.msg_id,
			      e == JTX_E_TYPE ? JT808_R_NOT_SUPPORTED : JT808_R_BAD_MESSAGE);
		return;
	}
	switch (h.msg_id) {
	case JTX_COACH_LOGIN:
		coach_login(c, m, &h);
		break;
	case JTX_COACH_LOGOUT:
		coach_logout(c, m, &h);
		break;
	case JTX_STUDENT_LOGIN:
		student_login(c, m, &h);
		break;
	case JTX_STUDENT_LOGOUT:
		student_logout(c, m, &h);
		break;
	case JTX_RECORD:
		record(c, m, &h);
		break;
	case JTX_PHOTO_INIT:
		photo_init(c, m, &h);
		break;
	case JTX_PHOTO_DATA:
		photo_data(c, m, &h);
		break;
	case JTX_FETCH_RECORDS_ACK:
	case JTX_TAKE_PHOTO_ACK:
	case JTX_TRAINING_BAN_ACK:
		command_answer(c, m, &h);
		break;
	default:
		conn_log(c, HLOG_INFO, "timing message 0x%04x not supported", h.msg_id);
		conn_send_ack(c, m->h.serial, m->h.msg_id, JT808_R_NOT_SUPPORTED);
		break;
	}
}
