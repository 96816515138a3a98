/*
 * lesson_run.c - termsim's lesson sent and accounted (termsim.h): the
 * script lesson.c built, a message at a time as its turn comes (a login,
 * a logout, the photo messages, the first record and the faults after
 * the records wait until everything before them is answered, as a
 * terminal waits for its answers; the records go as the window and
 * --rate allow); the answers matched to them (0x8900 by extended message
 * ID and extended serial: logins, logouts, photo init; 0x8001 by JT/T 808
 * serial: records, photo data; for a sub-packaged message, the serial of
 * the last piece sent, see termsim_send_transparent()); the verdicts and
 * the summary lines.
 */
#include "hoursd.h"
#include "jt808.h"
#include "jtx.h"
#include "lesson.h"
#include "log.h"
#include "termsim.h"

#include <inttypes.h>

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

	while (l->next < l->n && l->m[l->next].skip)
		l->next++;
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
		if (!l->m[i].untracked && !l->m[i].skip && !l->m[i].answered)
			return false;
	return true;
}

struct tally {
	int result[R__COUNT]; /* logins, logouts, photo: the first that is not good */
	bool seen[R__COUNT];
	uint64_t sent, ok, failed, unanswered, unexpected;
};

static void tally_msg(struct tally *t, const struct lmsg *m)
{
	if (m->skip)
		return;
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
