/*
 * lesson.c - the lesson on one timing terminal: coach and student logins
 * and logouts, the minute records and photos, judged against the lesson
 * the accepted ones left (docs/protocol.md, "Lessons, verdicts and
 * answers").
 *
 * Pure: the signature's check comes in with the message, the clock and
 * the configuration with the environment, and what to store and answer
 * goes out in the verdict (timing.c does it).  A rejected message is
 * stored too, with its reason code.
 */
#include "hoursd.h"
#include "lesson.h"
#include "conf.h"
#include "rules.h"
#include "terminal.h"

static void copy(char *dst, const char *src, size_t cap)
{
	snprintf(dst, cap, "%s", src);
}

void lesson_restore(struct lesson *l, const struct terminal *t)
{
	memset(l, 0, sizeof(*l));
	l->active = t->active;
	copy(l->terminal_no, t->terminal_no, sizeof(l->terminal_no));
	l->school_id = t->school_id;
	copy(l->vehicle_class, t->vehicle_class, sizeof(l->vehicle_class));
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
}

enum jtx_err lesson_decode(const struct jtx_header *h, struct lesson_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->id = h->msg_id;
	m->terminal_no = h->terminal_no;
	/* jtx_parse leaves a signature exactly when the properties announce one. */
	m->came_unsigned = h->sig_len == 0;
	switch (h->msg_id) {
	case JTX_COACH_LOGIN:
		return jtx_parse_coach_login(h->data, h->data_len, &m->coach_login);
	case JTX_COACH_LOGOUT:
		return jtx_parse_coach_logout(h->data, h->data_len, &m->coach_logout);
	case JTX_STUDENT_LOGIN:
		return jtx_parse_student_login(h->data, h->data_len, &m->student_login);
	case JTX_STUDENT_LOGOUT:
		return jtx_parse_student_logout(h->data, h->data_len, &m->student_logout);
	case JTX_RECORD:
		return jtx_parse_record(h->data, h->data_len, &m->record);
	case JTX_PHOTO_INIT:
		return jtx_parse_photo_init(h->data, h->data_len, &m->photo_init);
	case JTX_PHOTO_DATA:
		return jtx_parse_photo_data(h->data, h->data_len, &m->photo_data);
	default:
		return JTX_E_TYPE;
	}
}

/*
 * The signature, as a reason code.  A message without one is refused, or
 * taken when rules.unsigned is "flag"; either way the caller stores it
 * with signed = false.
 */
static enum reason check_signature(const struct lesson_msg *m, const struct hconf *cf)
{
	if (m->came_unsigned)
		return strcmp(cf->unsigned_policy, "flag") == 0 ? R_NONE : R_NO_SIGNATURE;
	switch (m->sig) {
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

/* Checks every judged message passes before its own. */
static enum reason check_common(const struct lesson *l, const struct lesson_msg *m,
				const struct hconf *cf)
{
	if (!l->active)
		return R_TERMINAL_DISABLED;
	if (l->terminal_no[0] && strcmp(l->terminal_no, m->terminal_no) != 0)
		return R_TERMINAL_NO_MISMATCH;
	return check_signature(m, cf);
}

/* A login or logout with no class, course, minutes or mileage: the caller adds what it has. */
static struct lesson_verdict event(const char *kind, uint16_t answer_id, time_t t,
				   const char *person, const struct jt808_location *gnss,
				   enum reason reason)
{
	return (struct lesson_verdict){.action = LESSON_STORE_EVENT,
				       .reason = reason,
				       .why = reason_name(reason),
				       .answer_id = answer_id,
				       .person_no = person,
				       .event = {.kind = kind,
						 .time = t,
						 .person_no = person,
						 .class_id = -1,
						 .minutes = -1,
						 .mileage_dkm = -1,
						 .gnss = gnss}};
}

/*
 * The registry's checks of a login (login_check.sql's names, in its
 * order): the first whose rules.<name> is refuse refuses the login; the
 * others flagged are listed in l->flags.  R_NONE and no flags when the
 * registry was not looked up.
 */
static enum reason check_registry(struct lesson *l, const struct lesson_env *env)
{
	l->flags[0] = '\0';
	const char *p = env->registry;
	enum reason refused = R_NONE;
	while (p && *p) {
		size_t n = strcspn(p, ",");
		char name[48];
		snprintf(name, sizeof(name), "%.*s", (int)(n < sizeof(name) ? n : 0), p);
		enum reason r = reason_index(name);
		p += n + (p[n] == ',');
		if (r < R_COACH_NOT_REGISTERED || r > R_TERMINAL_NOT_BOUND)
			continue; /* not a check of the registry: a newer database's, ignored */
		if (strcmp(env->conf->registry_policy[r - R_COACH_NOT_REGISTERED], "flag") != 0) {
			if (refused == R_NONE)
				refused = r;
		} else {
			size_t used = strlen(l->flags);
			snprintf(l->flags + used, sizeof(l->flags) - used, "%s%s", used ? "," : "",
				 name);
		}
	}
	if (refused != R_NONE)
		l->flags[0] = '\0';
	return refused;
}

/* A coach login opens the coach's session, and ends any student's. */
static struct lesson_verdict coach_login(struct lesson *l, const struct jtx_coach_login *x,
					 enum reason reason, const struct lesson_env *env)
{
	if (reason == R_NONE)
		reason = check_registry(l, env);
	else
		l->flags[0] = '\0';
	if (reason == R_NONE) {
		copy(l->coach_no, x->coach_no, sizeof(l->coach_no));
		l->coach_login = x->gnss.time;
		l->student_no[0] = '\0';
	}
	struct lesson_verdict v = event("coach_login", JTX_COACH_LOGIN_ACK, x->gnss.time,
					x->coach_no, &x->gnss, reason);
	v.event.flags = reason == R_NONE && l->flags[0] ? l->flags : NULL;
	return v;
}

static struct lesson_verdict coach_logout(struct lesson *l, const struct jtx_coach_logout *x,
					  enum reason reason)
{
	if (reason == R_NONE && strcmp(l->coach_no, x->coach_no) != 0)
		reason = R_COACH_NOT_LOGGED_IN;
	if (reason == R_NONE) {
		l->coach_no[0] = '\0';
		l->student_no[0] = '\0';
	}
	return event("coach_logout", JTX_COACH_LOGOUT_ACK, x->gnss.time, x->coach_no, &x->gnss,
		     reason);
}

/*
 * A student login opens the student's session under the logged-in coach.
 * The registry's checks (timing.c looked them up) refuse it or flag it,
 * each as its rules.<name> says; then, outside every slot of the
 * student's schedule with this coach and vehicle, rules.schedule decides:
 * refused, or taken and flagged.
 */
static struct lesson_verdict student_login(struct lesson *l, const struct jtx_student_login *x,
					   enum reason reason, const struct lesson_env *env)
{
	if (reason == R_NONE && (l->coach_no[0] == '\0' || strcmp(l->coach_no, x->coach_no) != 0))
		reason = R_COACH_NOT_LOGGED_IN;
	if (reason == R_NONE)
		reason = check_registry(l, env);
	else
		l->flags[0] = '\0';
	bool outside = env->schedule == LESSON_SCHED_OUT;
	if (reason == R_NONE && outside && strcmp(env->conf->schedule_policy, "refuse") == 0)
		reason = R_OUTSIDE_SCHEDULE;
	if (reason == R_NONE) {
		copy(l->student_no, x->student_no, sizeof(l->student_no));
		copy(l->student_coach_no, x->coach_no, sizeof(l->student_coach_no));
		l->class_id = x->class_id;
		l->student_login = x->gnss.time;
		l->last_activity = x->gnss.time;
	}
	struct lesson_verdict v = event("student_login", JTX_STUDENT_LOGIN_ACK, x->gnss.time,
					x->student_no, &x->gnss, reason);
	v.event.coach_no = x->coach_no;
	v.event.class_id = x->class_id;
	v.event.course_code = x->course.digits;
	v.event.outside_schedule = reason == R_NONE && outside;
	v.event.flags = reason == R_NONE && l->flags[0] ? l->flags : NULL;
	v.part = x->course.part;
	return v;
}

static struct lesson_verdict student_logout(struct lesson *l, const struct jtx_student_logout *x,
					    enum reason reason)
{
	if (reason == R_NONE && strcmp(l->student_no, x->student_no) != 0)
		reason = R_STUDENT_NOT_LOGGED_IN;
	if (reason == R_NONE)
		l->student_no[0] = '\0';
	struct lesson_verdict v = event("student_logout", JTX_STUDENT_LOGOUT_ACK, x->logout_time,
					x->student_no, &x->gnss, reason);
	v.event.class_id = x->class_id;
	v.event.minutes = x->minutes;
	v.event.mileage_dkm = x->mileage_dkm;
	return v;
}

/*
 * Whether the record belongs to the lesson open on this terminal.  A
 * record after the student's timeout (in record time) ends the login:
 * the next one finds no session.
 */
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

/* The lesson's checks, then the minute's (rules.c); an accepted record moves the lesson on. */
static struct lesson_verdict record(struct lesson *l, const struct jtx_record *x,
				    enum reason reason, const struct lesson_env *env)
{
	if (reason == R_NONE)
		reason = check_lesson(l, x, env->conf->session_timeout_s);
	if (reason == R_NONE) {
		struct rules_terminal t = {.school_id = l->school_id,
					   .vehicle_class = l->vehicle_class,
					   .last = l->last_fix};
		reason = rules_check_record(env->conf, env->syl, env->sites, &t, x, env->now);
		l->last_fix = t.last; /* moved by an accepted vehicle minute only */
	}
	if (reason == R_NONE && x->record_time > l->last_activity)
		l->last_activity = x->record_time;
	return (struct lesson_verdict){.action = LESSON_STORE_RECORD,
				       .reason = reason,
				       .why = reason_name(reason),
				       .person_no = x->student_no,
				       .record = x,
				       .session_login = l->student_no[0] ? l->student_login : 0};
}

/*
 * A photo announcement is answered at once (0 go ahead, 1 refused) and
 * remembered for its data; the last LESSON_PHOTOS are kept.
 */
static struct lesson_verdict photo_init(struct lesson *l, const struct jtx_photo_init *x,
					enum reason reason, const struct hconf *cf)
{
	struct lesson_verdict v = {.action = LESSON_ANSWER_PHOTO,
				   .reason = reason,
				   .why = reason_name(reason),
				   .person_no = x->photo_no};
	if (v.why == NULL &&
	    (x->total_packets > cf->reasm_max_pieces || x->photo_size + 64 > cf->reasm_max_bytes))
		v.why = "photo larger than connection.reasm_max_pieces / reasm_max_bytes allow";
	if (v.why == NULL) {
		struct pending_photo *p = &l->photos[l->next_photo++ % LESSON_PHOTOS];
		p->used = true;
		p->init = *x;
	}
	return v;
}

/* A whole photo is stored when an announcement of its number and size came before. */
static struct lesson_verdict photo_data(struct lesson *l, const struct jtx_photo_data *x)
{
	struct lesson_verdict v = {.action = LESSON_REFUSE, .person_no = x->photo_no};
	struct pending_photo *p = NULL;
	for (unsigned i = 0; i < LESSON_PHOTOS && p == NULL; i++) {
		struct pending_photo *q = &l->photos[i];
		if (q->used && strcmp(q->init.photo_no, x->photo_no) == 0)
			p = q;
	}
	if (p == NULL) {
		v.why = "no photo announcement (0x0305) for it";
	} else if (x->len != p->init.photo_size) {
		v.why = "size differs from the announced size";
	} else {
		p->used = false;
		v.action = LESSON_STORE_PHOTO;
		v.photo = &p->init;
		v.photo_data = x;
	}
	return v;
}

struct lesson_verdict lesson_judge(struct lesson *l, const struct lesson_msg *m,
				   const struct lesson_env *env)
{
	/* Photo data is not judged itself: its announcement was. */
	if (m->id == JTX_PHOTO_DATA)
		return photo_data(l, &m->photo_data);
	enum reason reason = check_common(l, m, env->conf);
	switch (m->id) {
	case JTX_COACH_LOGIN:
		return coach_login(l, &m->coach_login, reason, env);
	case JTX_COACH_LOGOUT:
		return coach_logout(l, &m->coach_logout, reason);
	case JTX_STUDENT_LOGIN:
		return student_login(l, &m->student_login, reason, env);
	case JTX_STUDENT_LOGOUT:
		return student_logout(l, &m->student_logout, reason);
	case JTX_RECORD:
		return record(l, &m->record, reason, env);
	case JTX_PHOTO_INIT:
		return photo_init(l, &m->photo_init, reason, env->conf);
	default:
		/* Not from lesson_decode: refused, nothing stored. */
		return (struct lesson_verdict){
			.action = LESSON_REFUSE, .why = "not a lesson message", .person_no = ""};
	}
}
