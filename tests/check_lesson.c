/*
 * check_lesson.c - unit tests for the lesson state machine (src/lesson.c):
 * logins and logouts, records in and out of a lesson, the session
 * timeout, the minute's checks through the lesson, a lesson restored from
 * the registry, signatures and the unsigned policy, photos, and that a
 * refused message leaves the lesson as it was.
 *
 * lesson_judge() is pure, so every test is a sequence of messages and
 * clocks.  The syllabus is the shipped conf/syllabus.yaml (SYLLABUS_FILE
 * overrides the path): C1 part 3 takes vehicle minutes anywhere up to
 * 100 km/h, part 2 only on a training site, part 1 no vehicle minutes.
 */
#include "hoursd.h"
#include "lesson.h"
#include "conf.h"
#include "terminal.h"
#include "syllabus.h"
#include "testutil.h"

#include <check.h>

#define T0 ((time_t)1700000000) /* the coach logs in */
#define TIMEOUT 1800
#define TERM_NO "3100000000000001"
#define COACH "2222222222222222"
#define COACH2 "2222222222222299"
#define STUDENT "1111111111111111"
#define STUDENT2 "1111111111111199"
#define CLASS 42
#define LAT 31230800 /* anywhere: part 3 needs no site */
#define LON 121472500

static struct syllabus *syl;
static struct hconf cf;
static char reject[] = "reject", flag[] = "flag", refuse[] = "refuse";

static void setup(void)
{
	char err[512] = "";
	const char *path = env_or("SYLLABUS_FILE", "conf/syllabus.yaml");
	syl = syllabus_load(path, err, sizeof(err));
	ck_assert_msg(syl != NULL, "%s: %s", path, err);
	memset(&cf, 0, sizeof(cf));
	cf.session_timeout_s = TIMEOUT;
	cf.max_record_age_s = 604800;
	cf.max_future_s = 300;
	cf.max_jump_kmh = 150;
	cf.max_speed_difference_kmh = 30;
	cf.unsigned_policy = reject;
	cf.schedule_policy = flag;
	for (int i = 0; i < CONF_REGISTRY_CHECKS; i++)
		cf.registry_policy[i] = refuse;
	cf.reasm_max_pieces = 128;
	cf.reasm_max_bytes = 131072;
}

static void teardown(void)
{
	syllabus_free(syl);
	syl = NULL;
}

/* ---- lessons and messages ---- */

/* An enabled terminal of school 7 with its timing number, vehicle class unknown, no lesson. */
static struct lesson terminal(void)
{
	struct lesson l;
	memset(&l, 0, sizeof(l));
	l.active = true;
	strcpy(l.terminal_no, TERM_NO);
	l.school_id = 7;
	return l;
}

/* A message of this terminal whose signature verified. */
static struct lesson_msg msg(uint16_t id)
{
	struct lesson_msg m;
	memset(&m, 0, sizeof(m));
	m.id = id;
	m.terminal_no = TERM_NO;
	m.sig = SIG_OK;
	return m;
}

static struct jt808_location fix_at(time_t t, int32_t lat, int32_t lon)
{
	return (struct jt808_location){
		.lat_e6 = lat, .lon_e6 = lon, .time = t, .fix = true, .speed_dkmh = 300};
}

static struct lesson_msg coach_in(const char *coach, time_t t)
{
	struct lesson_msg m = msg(JTX_COACH_LOGIN);
	strcpy(m.coach_login.coach_no, coach);
	strcpy(m.coach_login.teach_class, "C1");
	m.coach_login.gnss = fix_at(t, LAT, LON);
	return m;
}

static struct lesson_msg coach_out(const char *coach, time_t t)
{
	struct lesson_msg m = msg(JTX_COACH_LOGOUT);
	strcpy(m.coach_logout.coach_no, coach);
	m.coach_logout.gnss = fix_at(t, LAT, LON);
	return m;
}

/* A student login for C1 part 3 in a vehicle. */
static struct lesson_msg student_in(const char *student, const char *coach, uint32_t class_id,
				    time_t t)
{
	struct lesson_msg m = msg(JTX_STUDENT_LOGIN);
	strcpy(m.student_login.student_no, student);
	strcpy(m.student_login.coach_no, coach);
	m.student_login.class_id = class_id;
	m.student_login.course = (struct jtx_course){
		.digits = "1213010000", .mode = 1, .part = 3, .subject = 1, .vehicle_class = "C1"};
	m.student_login.gnss = fix_at(t, LAT, LON);
	return m;
}

static struct lesson_msg student_out(const char *student, time_t t)
{
	struct lesson_msg m = msg(JTX_STUDENT_LOGOUT);
	strcpy(m.student_logout.student_no, student);
	m.student_logout.logout_time = t;
	m.student_logout.minutes = 45;
	m.student_logout.mileage_dkm = 123;
	m.student_logout.class_id = CLASS;
	m.student_logout.gnss = fix_at(t, LAT, LON);
	return m;
}

/* A C1 part 3 vehicle minute at 30 km/h with a fix. */
static struct lesson_msg rec(const char *student, const char *coach, uint32_t class_id, time_t t)
{
	struct lesson_msg m = msg(JTX_RECORD);
	struct jtx_record *x = &m.record;
	strcpy(x->record_no, TERM_NO "2311150001"); /* T0 is 2023-11-15 in Beijing */
	strcpy(x->student_no, student);
	strcpy(x->coach_no, coach);
	x->class_id = class_id;
	x->record_time = t;
	x->course = (struct jtx_course){
		.digits = "1213010000", .mode = 1, .part = 3, .subject = 1, .vehicle_class = "C1"};
	x->max_speed_dkmh = 300;
	x->gnss = fix_at(t, LAT, LON);
	return m;
}

static struct lesson_msg photo_in(const char *photo_no, uint16_t packets, uint32_t size)
{
	struct lesson_msg m = msg(JTX_PHOTO_INIT);
	strcpy(m.photo_init.photo_no, photo_no);
	strcpy(m.photo_init.person_no, STUDENT);
	m.photo_init.total_packets = packets;
	m.photo_init.photo_size = size;
	m.photo_init.class_id = CLASS;
	return m;
}

static const uint8_t photo_bytes[1000];

static struct lesson_msg photo(const char *photo_no, size_t len)
{
	struct lesson_msg m = msg(JTX_PHOTO_DATA);
	strcpy(m.photo_data.photo_no, photo_no);
	m.photo_data.bytes = photo_bytes;
	m.photo_data.len = len;
	return m;
}

/* Judge m on l with the clock at now; the verdict points into m, so m must outlive it. */
static struct lesson_verdict judge_at(struct lesson *l, const struct lesson_msg *m, time_t now)
{
	struct lesson_env env = {.now = now, .conf = &cf, .syl = syl, .sites = NULL};
	return lesson_judge(l, m, &env);
}

#define ck_reason(v, want)                                                                         \
	ck_assert_msg((v).reason == (want), "%s, expected %s",                                     \
		      (v).reason ? reason_name((v).reason) : "accepted",                           \
		      (want) ? reason_name(want) : "accepted")

/* Judge at now and check the reason; the message lives in the caller. */
#define ck_judged(l, m, now, want)                                                                 \
	do {                                                                                       \
		struct lesson_verdict v_ = judge_at((l), &(m), (now));                             \
		ck_reason(v_, (want));                                                             \
	} while (0)

/* Two lessons alike in every field a verdict or a later message can see. */
static void ck_same(const struct lesson *a, const struct lesson *b)
{
	ck_assert_int_eq(a->active, b->active);
	ck_assert_str_eq(a->terminal_no, b->terminal_no);
	ck_assert_int_eq(a->school_id, b->school_id);
	ck_assert_str_eq(a->vehicle_class, b->vehicle_class);
	ck_assert_str_eq(a->coach_no, b->coach_no);
	ck_assert_int_eq(a->coach_login, b->coach_login);
	ck_assert_str_eq(a->student_no, b->student_no);
	ck_assert_str_eq(a->student_coach_no, b->student_coach_no);
	ck_assert_uint_eq(a->class_id, b->class_id);
	ck_assert_int_eq(a->student_login, b->student_login);
	ck_assert_int_eq(a->last_activity, b->last_activity);
	ck_assert_int_eq(a->last_fix.t, b->last_fix.t);
	ck_assert_int_eq(a->last_fix.lat_e6, b->last_fix.lat_e6);
	ck_assert_int_eq(a->last_fix.lon_e6, b->last_fix.lon_e6);
	ck_assert_uint_eq(a->next_photo, b->next_photo);
	for (unsigned i = 0; i < LESSON_PHOTOS; i++) {
		ck_assert_int_eq(a->photos[i].used, b->photos[i].used);
		ck_assert_str_eq(a->photos[i].init.photo_no, b->photos[i].init.photo_no);
		ck_assert_uint_eq(a->photos[i].init.photo_size, b->photos[i].init.photo_size);
	}
}

/* A terminal with COACH logged in at T0 and STUDENT (CLASS) at T0 + 60. */
static struct lesson in_lesson(void)
{
	struct lesson l = terminal();
	struct lesson_msg a = coach_in(COACH, T0), b = student_in(STUDENT, COACH, CLASS, T0 + 60);
	ck_judged(&l, a, T0, R_NONE);
	ck_judged(&l, b, T0 + 60, R_NONE);
	return l;
}

/* ---- coaches ---- */

START_TEST(coach_login_and_logout)
{
	struct lesson l = terminal();
	struct lesson_msg in = coach_in(COACH, T0);
	struct lesson_verdict v = judge_at(&l, &in, T0);
	ck_reason(v, R_NONE);
	ck_assert_ptr_null(v.why);
	ck_assert_int_eq(v.action, LESSON_STORE_EVENT);
	ck_assert_uint_eq(v.answer_id, JTX_COACH_LOGIN_ACK);
	ck_assert_str_eq(v.person_no, COACH);
	ck_assert_str_eq(v.event.kind, "coach_login");
	ck_assert_str_eq(v.event.person_no, COACH);
	ck_assert_int_eq(v.event.time, T0);
	ck_assert_ptr_eq(v.event.gnss, &in.coach_login.gnss);
	ck_assert_ptr_null(v.event.coach_no);
	ck_assert_ptr_null(v.event.course_code);
	ck_assert_int_eq(v.event.class_id, -1);
	ck_assert_int_eq(v.event.minutes, -1);
	ck_assert_int_eq(v.event.mileage_dkm, -1);
	ck_assert_str_eq(l.coach_no, COACH);
	ck_assert_int_eq(l.coach_login, T0);

	/* Another coach's logout is refused, and the coach stays. */
	struct lesson_msg other = coach_out(COACH2, T0 + 10);
	v = judge_at(&l, &other, T0 + 10);
	ck_reason(v, R_COACH_NOT_LOGGED_IN);
	ck_assert_str_eq(v.why, "coach_not_logged_in");
	ck_assert_int_eq(v.action, LESSON_STORE_EVENT); /* stored all the same */
	ck_assert_uint_eq(v.answer_id, JTX_COACH_LOGOUT_ACK);
	ck_assert_str_eq(v.event.kind, "coach_logout");
	ck_assert_str_eq(v.event.person_no, COACH2);
	ck_assert_str_eq(l.coach_no, COACH);

	struct lesson_msg out = coach_out(COACH, T0 + 20);
	v = judge_at(&l, &out, T0 + 20);
	ck_reason(v, R_NONE);
	ck_assert_int_eq(v.event.time, T0 + 20);
	ck_assert_str_eq(l.coach_no, "");
	/* Logged out: a second logout has no coach to end. */
	ck_judged(&l, out, T0 + 30, R_COACH_NOT_LOGGED_IN);
}
END_TEST

/* A coach login ends the student's login, whoever logs in. */
START_TEST(coach_login_ends_student)
{
	struct lesson l = in_lesson();
	struct lesson_msg again = coach_in(COACH, T0 + 120);
	ck_judged(&l, again, T0 + 120, R_NONE);
	ck_assert_str_eq(l.student_no, "");
	ck_assert_int_eq(l.coach_login, T0 + 120);
	struct lesson_msg r = rec(STUDENT, COACH, CLASS, T0 + 180);
	ck_judged(&l, r, T0 + 180, R_NO_SESSION);

	l = in_lesson();
	struct lesson_msg other = coach_in(COACH2, T0 + 120);
	ck_judged(&l, other, T0 + 120, R_NONE);
	ck_assert_str_eq(l.coach_no, COACH2);
	ck_assert_str_eq(l.student_no, "");
}
END_TEST

/* The coach's logout ends the student's login too. */
START_TEST(coach_logout_ends_lesson)
{
	struct lesson l = in_lesson();
	struct lesson_msg out = coach_out(COACH, T0 + 600);
	ck_judged(&l, out, T0 + 600, R_NONE);
	ck_assert_str_eq(l.coach_no, "");
	ck_assert_str_eq(l.student_no, "");
	struct lesson_msg r = rec(STUDENT, COACH, CLASS, T0 + 660);
	ck_judged(&l, r, T0 + 660, R_NO_SESSION);
	struct lesson_msg s = student_out(STUDENT, T0 + 700);
	ck_judged(&l, s, T0 + 700, R_STUDENT_NOT_LOGGED_IN);
}
END_TEST

/* ---- students ---- */

START_TEST(student_login_needs_coach)
{
	struct lesson l = terminal();
	struct lesson_msg s = student_in(STUDENT, COACH, CLASS, T0 + 60);
	ck_judged(&l, s, T0 + 60, R_COACH_NOT_LOGGED_IN);
	ck_assert_str_eq(l.student_no, "");

	struct lesson_msg c = coach_in(COACH, T0);
	ck_judged(&l, c, T0, R_NONE);
	struct lesson_msg wrong = student_in(STUDENT, COACH2, CLASS, T0 + 60);
	ck_judged(&l, wrong, T0 + 60, R_COACH_NOT_LOGGED_IN);
	ck_assert_str_eq(l.student_no, "");

	struct lesson_verdict v = judge_at(&l, &s, T0 + 60);
	ck_reason(v, R_NONE);
	ck_assert_int_eq(v.action, LESSON_STORE_EVENT);
	ck_assert_uint_eq(v.answer_id, JTX_STUDENT_LOGIN_ACK);
	ck_assert_uint_eq(v.part, 3); /* the answer reports part 3's progress */
	ck_assert_str_eq(v.person_no, STUDENT);
	ck_assert_str_eq(v.event.kind, "student_login");
	ck_assert_str_eq(v.event.coach_no, COACH);
	ck_assert_int_eq(v.event.class_id, CLASS);
	ck_assert_str_eq(v.event.course_code, "1213010000");
	ck_assert_int_eq(v.event.time, T0 + 60);
	ck_assert_str_eq(l.student_no, STUDENT);
	ck_assert_str_eq(l.student_coach_no, COACH);
	ck_assert_uint_eq(l.class_id, CLASS);
	ck_assert_int_eq(l.student_login, T0 + 60);
	ck_assert_int_eq(l.last_activity, T0 + 60);
}
END_TEST

START_TEST(student_logout_closes_lesson)
{
	struct lesson l = in_lesson();
	struct lesson_msg other = student_out(STUDENT2, T0 + 600);
	ck_judged(&l, other, T0 + 600, R_STUDENT_NOT_LOGGED_IN);
	ck_assert_str_eq(l.student_no, STUDENT);

	struct lesson_msg out = student_out(STUDENT, T0 + 600);
	struct lesson_verdict v = judge_at(&l, &out, T0 + 600);
	ck_reason(v, R_NONE);
	ck_assert_uint_eq(v.answer_id, JTX_STUDENT_LOGOUT_ACK);
	ck_assert_str_eq(v.event.kind, "student_logout");
	ck_assert_int_eq(v.event.time, T0 + 600);
	ck_assert_int_eq(v.event.class_id, CLASS);
	ck_assert_int_eq(v.event.minutes, 45);
	ck_assert_int_eq(v.event.mileage_dkm, 123);
	ck_assert_uint_eq(v.part, 0);
	ck_assert_str_eq(l.student_no, "");
	ck_assert_str_eq(l.coach_no, COACH); /* the coach stays */

	struct lesson_msg r = rec(STUDENT, COACH, CLASS, T0 + 660);
	v = judge_at(&l, &r, T0 + 660);
	ck_reason(v, R_NO_SESSION);
	ck_assert_int_eq(v.session_login, 0);
	ck_judged(&l, out, T0 + 700, R_STUDENT_NOT_LOGGED_IN);
}
END_TEST

/* ---- records ---- */

START_TEST(record_in_lesson)
{
	struct lesson l = in_lesson();
	struct lesson_msg r = rec(STUDENT, COACH, CLASS, T0 + 120);
	struct lesson_verdict v = judge_at(&l, &r, T0 + 125);
	ck_reason(v, R_NONE);
	ck_assert_ptr_null(v.why);
	ck_assert_int_eq(v.action, LESSON_STORE_RECORD);
	ck_assert_uint_eq(v.answer_id, 0); /* 0x8001 */
	ck_assert_ptr_eq(v.record, &r.record);
	ck_assert_str_eq(v.person_no, STUDENT);
	ck_assert_int_eq(v.session_login, T0 + 60);
	ck_assert_int_eq(l.last_activity, T0 + 120);
	ck_assert_int_eq(l.last_fix.t, T0 + 120);
	ck_assert_int_eq(l.last_fix.lat_e6, LAT);

	/* A late record of the same lesson counts, and does not move its activity back. */
	struct lesson_msg late = rec(STUDENT, COACH, CLASS, T0 + 90);
	ck_judged(&l, late, T0 + 130, R_NONE);
	ck_assert_int_eq(l.last_activity, T0 + 120);
}
END_TEST

START_TEST(record_without_session)
{
	struct lesson l = terminal();
	struct lesson_msg r = rec(STUDENT, COACH, CLASS, T0 + 120);
	struct lesson_verdict v = judge_at(&l, &r, T0 + 120);
	ck_reason(v, R_NO_SESSION);
	ck_assert_int_eq(v.action, LESSON_STORE_RECORD); /* stored, refused */
	ck_assert_int_eq(v.session_login, 0);

	struct lesson_msg c = coach_in(COACH, T0);
	ck_judged(&l, c, T0, R_NONE);
	ck_judged(&l, r, T0 + 120, R_NO_SESSION); /* a coach, but no student */
}
END_TEST

START_TEST(record_of_another_lesson)
{
	struct lesson l = in_lesson();
	struct lesson before = l;
	struct lesson_msg student = rec(STUDENT2, COACH, CLASS, T0 + 120);
	struct lesson_verdict v = judge_at(&l, &student, T0 + 120);
	ck_reason(v, R_STUDENT_NOT_LOGGED_IN);
	ck_assert_int_eq(v.session_login, T0 + 60); /* the lesson is still open */
	struct lesson_msg coach = rec(STUDENT, COACH2, CLASS, T0 + 120);
	ck_judged(&l, coach, T0 + 120, R_COACH_NOT_LOGGED_IN);
	struct lesson_msg class = rec(STUDENT, COACH, CLASS + 1, T0 + 120);
	ck_judged(&l, class, T0 + 120, R_CLASS_MISMATCH);
	ck_same(&l, &before);
}
END_TEST

/*
 * A student login is over session.timeout_s after its last accepted record
 * (or the login), in record time; the first record past it is refused and
 * ends the login.
 */
START_TEST(session_timeout)
{
	struct lesson l = in_lesson(); /* student at T0 + 60 */
	struct lesson_msg at = rec(STUDENT, COACH, CLASS, T0 + 60 + TIMEOUT);
	ck_judged(&l, at, T0 + 60 + TIMEOUT, R_NONE); /* at the bound */
	time_t last = T0 + 60 + TIMEOUT;
	struct lesson_msg next = rec(STUDENT, COACH, CLASS, last + TIMEOUT);
	ck_judged(&l, next, last + TIMEOUT, R_NONE); /* measured from the last record */
	last += TIMEOUT;

	struct lesson_msg past = rec(STUDENT, COACH, CLASS, last + TIMEOUT + 1);
	struct lesson_verdict v = judge_at(&l, &past, last + TIMEOUT + 1);
	ck_reason(v, R_SESSION_TIMED_OUT);
	ck_assert_int_eq(v.session_login, 0); /* the login is over */
	ck_assert_str_eq(l.student_no, "");
	ck_assert_str_eq(l.coach_no, COACH);
	ck_assert_int_eq(l.last_activity, last);
	struct lesson_msg after = rec(STUDENT, COACH, CLASS, last + TIMEOUT + 60);
	ck_judged(&l, after, last + TIMEOUT + 60, R_NO_SESSION);

	/* A new login opens a new lesson. */
	struct lesson_msg s = student_in(STUDENT, COACH, CLASS, last + TIMEOUT + 120);
	ck_judged(&l, s, last + TIMEOUT + 120, R_NONE);
	struct lesson_msg r = rec(STUDENT, COACH, CLASS, last + TIMEOUT + 180);
	ck_judged(&l, r, last + TIMEOUT + 180, R_NONE);
}
END_TEST

/* The timeout is looked at before whose record it is: any late record ends the login. */
START_TEST(session_timeout_before_person)
{
	struct lesson l = in_lesson();
	struct lesson_msg r = rec(STUDENT2, COACH2, CLASS + 1, T0 + 60 + TIMEOUT + 1);
	ck_judged(&l, r, T0 + 60 + TIMEOUT + 1, R_SESSION_TIMED_OUT);
	ck_assert_str_eq(l.student_no, "");
}
END_TEST

/* The minute's own checks (rules.c) run on records of the lesson, with the server's clock. */
START_TEST(record_in_future_or_too_old)
{
	struct lesson l = in_lesson();
	struct lesson before = l;
	struct lesson_msg r = rec(STUDENT, COACH, CLASS, T0 + 600);
	ck_judged(&l, r, T0 + 600 - 301, R_RECORD_IN_FUTURE);
	ck_judged(&l, r, T0 + 600 + 604801, R_RECORD_TOO_OLD);
	ck_same(&l, &before);
	ck_judged(&l, r, T0 + 600 - 300, R_NONE);
	ck_judged(&l, r, T0 + 600 + 604800, R_NONE);
}
END_TEST

/* The lesson carries what the minute's checks need: the vehicle class, the last fix. */
START_TEST(record_rules_use_lesson)
{
	struct lesson l = in_lesson();
	strcpy(l.vehicle_class, "B2");
	struct lesson_msg r = rec(STUDENT, COACH, CLASS, T0 + 120);
	ck_judged(&l, r, T0 + 120, R_VEHICLE_CLASS_MISMATCH);
	strcpy(l.vehicle_class, "C1");
	ck_judged(&l, r, T0 + 120, R_NONE);

	/* 100 km a minute later: a jump from the accepted minute kept in the lesson. */
	struct lesson_msg far = rec(STUDENT, COACH, CLASS, T0 + 180);
	far.record.gnss.lat_e6 = LAT + 900000;
	ck_judged(&l, far, T0 + 180, R_POSITION_JUMP);
	ck_assert_int_eq(l.last_fix.t, T0 + 120);
	ck_assert_int_eq(l.last_activity, T0 + 120);

	/* Part 2 is on a site: none is loaded. */
	struct lesson_msg field = rec(STUDENT, COACH, CLASS, T0 + 240);
	field.record.course.part = 2;
	ck_judged(&l, field, T0 + 240, R_NO_TRAINING_SITE);
}
END_TEST

/* ---- a lesson from the registry ---- */

static struct terminal registered(void)
{
	struct terminal t;
	memset(&t, 0, sizeof(t));
	t.id = 5;
	t.active = true;
	strcpy(t.terminal_no, TERM_NO);
	t.school_id = 7;
	strcpy(t.vehicle_class, "C1");
	strcpy(t.coach_no, COACH);
	t.coach_login = T0;
	strcpy(t.student_no, STUDENT);
	strcpy(t.student_coach_no, COACH);
	t.student_class_id = CLASS;
	t.student_login = T0 + 60;
	t.last_record = T0 + 600;
	return t;
}

START_TEST(resume_after_restore)
{
	struct terminal t = registered();
	struct lesson l = terminal();
	struct lesson_msg p = photo_in("P1", 1, 10);
	ck_judged(&l, p, T0, R_NONE);
	lesson_restore(&l, &t);
	ck_assert(l.active);
	ck_assert_str_eq(l.terminal_no, TERM_NO);
	ck_assert_int_eq(l.school_id, 7);
	ck_assert_str_eq(l.vehicle_class, "C1");
	ck_assert_str_eq(l.coach_no, COACH);
	ck_assert_int_eq(l.coach_login, T0);
	ck_assert_str_eq(l.student_no, STUDENT);
	ck_assert_str_eq(l.student_coach_no, COACH);
	ck_assert_uint_eq(l.class_id, CLASS);
	ck_assert_int_eq(l.student_login, T0 + 60);
	ck_assert_int_eq(l.last_activity, T0 + 600); /* the last record, not the login */
	ck_assert(!l.photos[0].used);		     /* announcements were the old connection's */
	ck_assert_int_eq(l.last_fix.t, 0);

	struct lesson saved = l;
	struct lesson_msg r = rec(STUDENT, COACH, CLASS, T0 + 600 + TIMEOUT);
	struct lesson_verdict v = judge_at(&l, &r, T0 + 600 + TIMEOUT);
	ck_reason(v, R_NONE);
	ck_assert_int_eq(v.session_login, T0 + 60);
	l = saved;
	r.record.record_time++;
	ck_judged(&l, r, T0 + 601 + TIMEOUT, R_SESSION_TIMED_OUT);

	/* With no record yet, the login is the last activity. */
	t.last_record = 0;
	lesson_restore(&l, &t);
	ck_assert_int_eq(l.last_activity, T0 + 60);
}
END_TEST

START_TEST(restore_without_lesson)
{
	struct terminal t = registered();
	t.coach_login = 0; /* a student's login is nothing without the coach's */
	struct lesson l;
	lesson_restore(&l, &t);
	ck_assert_str_eq(l.coach_no, "");
	ck_assert_str_eq(l.student_no, "");
	struct lesson_msg r = rec(STUDENT, COACH, CLASS, T0 + 700);
	ck_judged(&l, r, T0 + 700, R_NO_SESSION);

	t = registered();
	t.student_login = 0;
	lesson_restore(&l, &t);
	ck_assert_str_eq(l.coach_no, COACH);
	ck_assert_str_eq(l.student_no, "");
	ck_judged(&l, r, T0 + 700, R_NO_SESSION);
	struct lesson_msg s = student_in(STUDENT, COACH, CLASS, T0 + 800);
	ck_judged(&l, s, T0 + 800, R_NONE);

	t = registered();
	t.active = false;
	lesson_restore(&l, &t);
	ck_assert(!l.active);
	ck_judged(&l, r, T0 + 700, R_TERMINAL_DISABLED);
}
END_TEST

/* ---- signatures and the terminal ---- */

START_TEST(unsigned_policy)
{
	struct lesson l = terminal();
	struct lesson_msg c = coach_in(COACH, T0);
	c.came_unsigned = true;
	c.sig = SIG_BAD; /* nothing to verify: not looked at */
	struct lesson_verdict v = judge_at(&l, &c, T0);
	ck_reason(v, R_NO_SIGNATURE);
	ck_assert_str_eq(v.why, "no_signature");
	ck_assert_int_eq(v.action, LESSON_STORE_EVENT); /* stored, refused */
	ck_assert_str_eq(l.coach_no, "");

	cf.unsigned_policy = flag;
	ck_judged(&l, c, T0, R_NONE);
	ck_assert_str_eq(l.coach_no, COACH);
	struct lesson_msg s = student_in(STUDENT, COACH, CLASS, T0 + 60);
	s.came_unsigned = true;
	ck_judged(&l, s, T0 + 60, R_NONE);
	struct lesson_msg r = rec(STUDENT, COACH, CLASS, T0 + 120);
	r.came_unsigned = true;
	ck_judged(&l, r, T0 + 120, R_NONE);

	/* "flag" takes unsigned messages, not badly signed ones. */
	struct lesson_msg bad = rec(STUDENT, COACH, CLASS, T0 + 180);
	bad.sig = SIG_BAD;
	ck_judged(&l, bad, T0 + 180, R_BAD_SIGNATURE);

	cf.unsigned_policy = reject;
	ck_judged(&l, r, T0 + 120, R_NO_SIGNATURE);
}
END_TEST

/* A student login against the schedule timing.c looked up: refused, or taken and flagged. */
static struct lesson_verdict login_with(struct lesson *l, enum lesson_schedule s)
{
	struct lesson_msg m = student_in(STUDENT, COACH, CLASS, T0 + 60);
	struct lesson_env env = {.now = T0 + 60, .schedule = s, .conf = &cf, .syl = syl};
	return lesson_judge(l, &m, &env);
}

START_TEST(schedule_policy)
{
	struct lesson l = terminal();
	struct lesson_msg c = coach_in(COACH, T0);
	ck_judged(&l, c, T0, R_NONE);
	struct lesson before = l;

	cf.schedule_policy = refuse;
	struct lesson_verdict v = login_with(&l, LESSON_SCHED_OUT);
	ck_reason(v, R_OUTSIDE_SCHEDULE);
	ck_assert_str_eq(v.why, "outside_schedule");
	ck_assert_int_eq(v.action, LESSON_STORE_EVENT); /* stored, refused */
	ck_assert(!v.event.outside_schedule);
	ck_same(&l, &before); /* no lesson opened */
	v = login_with(&l, LESSON_SCHED_IN);
	ck_reason(v, R_NONE);
	ck_assert(!v.event.outside_schedule);
	ck_assert_str_eq(l.student_no, STUDENT);

	l = before;
	cf.schedule_policy = flag;
	v = login_with(&l, LESSON_SCHED_OUT);
	ck_reason(v, R_NONE);
	ck_assert(v.event.outside_schedule);
	ck_assert_str_eq(l.student_no, STUDENT);

	/* Not looked up (no database answer): no judgement on it, either way. */
	l = before;
	cf.schedule_policy = refuse;
	v = login_with(&l, LESSON_SCHED_UNCHECKED);
	ck_reason(v, R_NONE);
	ck_assert(!v.event.outside_schedule);
	/* A refusal for another reason is not flagged. */
	l = terminal();
	cf.schedule_policy = flag;
	v = login_with(&l, LESSON_SCHED_OUT);
	ck_reason(v, R_COACH_NOT_LOGGED_IN);
	ck_assert(!v.event.outside_schedule);
}
END_TEST

/* A login against the registry's failed checks (login_check.sql's names): refused or flagged. */
static struct lesson_verdict checked(struct lesson *l, struct lesson_msg m, const char *failed)
{
	struct lesson_env env = {.now = T0 + 60, .registry = failed, .conf = &cf, .syl = syl};
	return lesson_judge(l, &m, &env);
}

START_TEST(registry_policies)
{
	struct lesson l = terminal();
	/* refuse: the first refused check is the reason; nothing opens, nothing flagged. */
	struct lesson_verdict v = checked(&l, coach_in(COACH, T0), "coach_not_registered");
	ck_reason(v, R_COACH_NOT_REGISTERED);
	ck_assert_ptr_null(v.event.flags);
	ck_assert_str_eq(l.coach_no, "");
	/* flag: taken, named; a name that is not a check of the registry is ignored. */
	cf.registry_policy[R_COACH_NOT_REGISTERED - R_COACH_NOT_REGISTERED] = flag;
	v = checked(&l, coach_in(COACH, T0), "coach_not_registered,daily_cap");
	ck_reason(v, R_NONE);
	ck_assert_str_eq(v.event.flags, "coach_not_registered");
	ck_assert_str_eq(l.coach_no, COACH);
	/* Two failed: one flagged, one refused; the refusal wins and nothing is flagged. */
	cf.registry_policy[R_TERMINAL_NOT_BOUND - R_COACH_NOT_REGISTERED] = flag;
	v = checked(&l, student_in(STUDENT, COACH, CLASS, T0 + 60),
		    "coach_class_not_allowed,terminal_not_bound");
	ck_reason(v, R_COACH_CLASS_NOT_ALLOWED);
	ck_assert_ptr_null(v.event.flags);
	ck_assert_str_eq(l.student_no, "");
	cf.registry_policy[R_COACH_CLASS_NOT_ALLOWED - R_COACH_NOT_REGISTERED] = flag;
	v = checked(&l, student_in(STUDENT, COACH, CLASS, T0 + 61),
		    "coach_class_not_allowed,terminal_not_bound");
	ck_reason(v, R_NONE);
	ck_assert_str_eq(v.event.flags, "coach_class_not_allowed,terminal_not_bound");
	ck_assert_str_eq(l.student_no, STUDENT);
	/* None failed, or not looked up: no flags. */
	v = checked(&l, coach_in(COACH, T0 + 120), "");
	ck_reason(v, R_NONE);
	ck_assert_ptr_null(v.event.flags);
	v = checked(&l, coach_in(COACH, T0 + 180), NULL);
	ck_reason(v, R_NONE);
	ck_assert_ptr_null(v.event.flags);
}
END_TEST

START_TEST(signature_verdicts)
{
	static const struct {
		enum sig_result sig;
		enum reason want;
	} cases[] = {
		{SIG_OK, R_NONE},
		{SIG_BAD, R_BAD_SIGNATURE},
		{SIG_EXPIRED, R_CERTIFICATE_EXPIRED},
		{SIG_NO_KEY, R_NO_SIGNING_KEY},
		{SIG_UNSUPPORTED, R_NO_SIGNING_KEY},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct lesson l = in_lesson();
		struct lesson_msg m[] = {coach_in(COACH, T0 + 100),
					 coach_out(COACH, T0 + 100),
					 student_in(STUDENT, COACH, CLASS, T0 + 100),
					 student_out(STUDENT, T0 + 100),
					 rec(STUDENT, COACH, CLASS, T0 + 100),
					 photo_in("P1", 1, 10)};
		for (size_t k = 0; k < ARRAY_SIZE(m); k++) {
			struct lesson probe = l;
			m[k].sig = cases[i].sig;
			ck_judged(&probe, m[k], T0 + 100, cases[i].want);
		}
	}
}
END_TEST

/* A disabled terminal, then a foreign terminal number, then the signature. */
START_TEST(terminal_checks_first)
{
	struct lesson l = in_lesson();
	struct lesson_msg r = rec(STUDENT, COACH, CLASS, T0 + 120);
	r.came_unsigned = true;
	r.terminal_no = "3100000000000002";
	l.active = false;
	ck_judged(&l, r, T0 + 120, R_TERMINAL_DISABLED);
	l.active = true;
	ck_judged(&l, r, T0 + 120, R_TERMINAL_NO_MISMATCH);
	struct lesson_msg c = coach_out(COACH2, T0 + 120);
	c.terminal_no = "3100000000000002";
	ck_judged(&l, c, T0 + 120, R_TERMINAL_NO_MISMATCH);
	ck_assert_str_eq(l.student_no, STUDENT);

	/* No timing number in the registry: any header's number is taken. */
	l.terminal_no[0] = '\0';
	r.came_unsigned = false;
	ck_judged(&l, r, T0 + 120, R_NONE);
}
END_TEST

/* ---- refused messages ---- */

/* Whatever refuses it, a refused message leaves the lesson as it was. */
START_TEST(refused_leave_state)
{
	struct lesson l = in_lesson();
	struct lesson_msg ok = rec(STUDENT, COACH, CLASS, T0 + 120), p = photo_in("P1", 2, 900);
	ck_judged(&l, ok, T0 + 120, R_NONE);
	ck_judged(&l, p, T0 + 120, R_NONE);
	const struct lesson before = l;
	const time_t t = T0 + 180;

	struct lesson_msg m[] = {
		coach_in(COACH2, t),	       coach_out(COACH, t),
		coach_out(COACH2, t),	       student_in(STUDENT2, COACH, CLASS, t),
		student_out(STUDENT, t),       student_out(STUDENT2, t),
		rec(STUDENT, COACH, CLASS, t), rec(STUDENT, COACH, CLASS + 1, t),
		photo_in("P2", 1, 10),
	};
	/* Each once unsigned, once badly signed, once from another terminal number. */
	for (size_t i = 0; i < ARRAY_SIZE(m); i++) {
		for (int how = 0; how < 3; how++) {
			struct lesson_msg x = m[i];
			x.came_unsigned = how == 0;
			x.sig = how == 1 ? SIG_BAD : SIG_OK;
			x.terminal_no = how == 2 ? "3100000000000002" : TERM_NO;
			struct lesson_verdict v = judge_at(&l, &x, t);
			ck_assert_msg(v.reason != R_NONE, "message %zu, case %d accepted", i, how);
			ck_assert_ptr_nonnull(v.why);
			ck_same(&l, &before);
		}
	}
	/* Refused by the lesson or the minute's checks. */
	struct lesson_msg own[] = {
		coach_out(COACH2, t),
		student_in(STUDENT2, COACH2, CLASS, t),
		student_out(STUDENT2, t),
		rec(STUDENT2, COACH, CLASS, t),
		rec(STUDENT, COACH2, CLASS, t),
		rec(STUDENT, COACH, CLASS + 1, t),
		rec(STUDENT, COACH, CLASS, t + 301),
		rec(STUDENT, COACH, CLASS, t - 604801),
	};
	for (size_t i = 0; i < ARRAY_SIZE(own); i++) {
		struct lesson_verdict v = judge_at(&l, &own[i], t);
		ck_assert_msg(v.reason != R_NONE, "message %zu accepted", i);
		ck_same(&l, &before);
	}
	/* Photos refused for their size or number. */
	struct lesson_msg big = photo_in("P3", 129, 10), wrong = photo("P1", 899),
			  unknown = photo("P9", 900);
	struct lesson_verdict v = judge_at(&l, &big, t);
	ck_assert_ptr_nonnull(v.why);
	v = judge_at(&l, &wrong, t);
	ck_assert_int_eq(v.action, LESSON_REFUSE);
	v = judge_at(&l, &unknown, t);
	ck_assert_int_eq(v.action, LESSON_REFUSE);
	ck_same(&l, &before);
}
END_TEST

/* ---- photos ---- */

START_TEST(photo_announced_then_stored)
{
	struct lesson l = terminal(); /* photos need no lesson */
	struct lesson_msg in = photo_in("P1", 2, 900);
	struct lesson_verdict v = judge_at(&l, &in, T0);
	ck_assert_int_eq(v.action, LESSON_ANSWER_PHOTO);
	ck_reason(v, R_NONE);
	ck_assert_ptr_null(v.why); /* 0x8305 result 0: send it */
	ck_assert_str_eq(v.person_no, "P1");

	/* The wrong size is refused, and the announcement stays for the right one. */
	struct lesson_msg wrong = photo("P1", 899);
	v = judge_at(&l, &wrong, T0);
	ck_assert_int_eq(v.action, LESSON_REFUSE);
	ck_assert_str_eq(v.why, "size differs from the announced size");

	struct lesson_msg data = photo("P1", 900);
	v = judge_at(&l, &data, T0);
	ck_assert_int_eq(v.action, LESSON_STORE_PHOTO);
	ck_reason(v, R_NONE);
	ck_assert_ptr_null(v.why);
	ck_assert_uint_eq(v.answer_id, 0);
	ck_assert_str_eq(v.person_no, "P1");
	ck_assert_ptr_nonnull(v.photo);
	ck_assert_str_eq(v.photo->photo_no, "P1");
	ck_assert_str_eq(v.photo->person_no, STUDENT);
	ck_assert_ptr_eq(v.photo_data, &data.photo_data);

	/* Taken once. */
	v = judge_at(&l, &data, T0);
	ck_assert_int_eq(v.action, LESSON_REFUSE);
	ck_assert_str_eq(v.why, "no photo announcement (0x0305) for it");
}
END_TEST

START_TEST(photo_refused)
{
	struct lesson l = terminal();
	/* Over connection.reasm_max_pieces, or with the margin over reasm_max_bytes. */
	struct lesson_msg pieces = photo_in("P1", 129, 900), bytes = photo_in("P2", 2, 131072 - 63);
	struct lesson_verdict v = judge_at(&l, &pieces, T0);
	ck_assert_int_eq(v.action, LESSON_ANSWER_PHOTO);
	ck_reason(v, R_NONE); /* no code: nothing is stored */
	ck_assert_ptr_nonnull(v.why);
	v = judge_at(&l, &bytes, T0);
	ck_assert_ptr_nonnull(v.why);
	struct lesson_msg fits = photo_in("P3", 128, 131072 - 64);
	v = judge_at(&l, &fits, T0);
	ck_assert_ptr_null(v.why);

	/* A refused announcement is not remembered. */
	struct lesson_msg data = photo("P1", 900);
	ck_assert_int_eq(judge_at(&l, &data, T0).action, LESSON_REFUSE);

	/* Unsigned under "reject": refused with the code's name. */
	struct lesson_msg u = photo_in("P4", 1, 10);
	u.came_unsigned = true;
	v = judge_at(&l, &u, T0);
	ck_reason(v, R_NO_SIGNATURE);
	ck_assert_str_eq(v.why, "no_signature");
	struct lesson_msg d4 = photo("P4", 10);
	ck_assert_int_eq(judge_at(&l, &d4, T0).action, LESSON_REFUSE);
}
END_TEST

/* The data itself is not judged (its announcement was): it may come unsigned. */
START_TEST(photo_data_not_judged)
{
	struct lesson l = terminal();
	struct lesson_msg in = photo_in("P1", 1, 10);
	ck_judged(&l, in, T0, R_NONE);
	struct lesson_msg data = photo("P1", 10);
	data.came_unsigned = true;
	data.sig = SIG_BAD;
	ck_assert_int_eq(judge_at(&l, &data, T0).action, LESSON_STORE_PHOTO);
}
END_TEST

/* The last LESSON_PHOTOS announcements are kept; an older one is forgotten. */
START_TEST(photo_announcements_kept)
{
	struct lesson l = terminal();
	char no[LESSON_PHOTOS + 1][16];
	for (int i = 0; i <= LESSON_PHOTOS; i++) {
		snprintf(no[i], sizeof(no[i]), "P%d", i);
		struct lesson_msg in = photo_in(no[i], 1, 10);
		ck_assert_ptr_null(judge_at(&l, &in, T0).why);
	}
	struct lesson_msg first = photo(no[0], 10);
	ck_assert_int_eq(judge_at(&l, &first, T0).action, LESSON_REFUSE);
	for (int i = 1; i <= LESSON_PHOTOS; i++) {
		struct lesson_msg d = photo(no[i], 10);
		ck_assert_int_eq(judge_at(&l, &d, T0).action, LESSON_STORE_PHOTO);
	}
}
END_TEST

/* ---- decoding ---- */

/* The body as timing.c gets it, parsed: a decoded message points into both. */
static uint8_t wire_body[256];
static struct jtx_header wire_header;

static enum jtx_err decode(uint16_t id, const uint8_t *data, size_t n, bool sign,
			   struct lesson_msg *m)
{
	static const uint8_t sig[4] = {1, 2, 3, 4};
	struct jtx_header h = {.msg_id = id, .props = sign ? JTX_PROP_SIGNED : 0, .serial = 9};
	strcpy(h.terminal_no, TERM_NO);
	size_t len = jtx_build(&h, data, n, sign ? sig : NULL, sign ? sizeof(sig) : 0, wire_body,
			       sizeof(wire_body));
	ck_assert_uint_gt(len, 0);
	ck_assert_int_eq(jtx_parse(wire_body, len, &wire_header), JTX_OK);
	return lesson_decode(&wire_header, m);
}

START_TEST(decode_messages)
{
	struct lesson_msg c = coach_in(COACH, T0), m;
	uint8_t data[128];
	size_t n = jtx_build_coach_login(&c.coach_login, data, sizeof(data));
	ck_assert_uint_gt(n, 0);
	ck_assert_int_eq(decode(JTX_COACH_LOGIN, data, n, true, &m), JTX_OK);
	ck_assert_uint_eq(m.id, JTX_COACH_LOGIN);
	ck_assert_str_eq(m.terminal_no, TERM_NO);
	ck_assert(!m.came_unsigned);
	ck_assert_str_eq(m.coach_login.coach_no, COACH);
	ck_assert_int_eq(m.coach_login.gnss.time, T0);

	ck_assert_int_eq(decode(JTX_COACH_LOGIN, data, n, false, &m), JTX_OK);
	ck_assert(m.came_unsigned);

	/* Too short for a coach login; an ID the lesson does not take. */
	ck_assert_int_eq(decode(JTX_COACH_LOGIN, data, 20, true, &m), JTX_E_SHORT);
	ck_assert_int_eq(decode(0x0999, data, n, true, &m), JTX_E_TYPE);
	ck_assert_int_eq(decode(JTX_FETCH_RECORDS_ACK, data, 1, true, &m), JTX_E_TYPE);

	struct lesson_msg r = rec(STUDENT, COACH, CLASS, T0);
	n = jtx_build_record(&r.record, data, sizeof(data));
	ck_assert_uint_gt(n, 0);
	ck_assert_int_eq(decode(JTX_RECORD, data, n, true, &m), JTX_OK);
	ck_assert_str_eq(m.record.student_no, STUDENT);
	ck_assert_uint_eq(m.record.class_id, CLASS);
	ck_assert_int_eq(m.record.record_time, T0);
}
END_TEST

static Suite *lesson_suite(void)
{
	Suite *s = suite_create("lesson");
	TCase *tc = tcase_create("judge");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, coach_login_and_logout);
	tcase_add_test(tc, coach_login_ends_student);
	tcase_add_test(tc, coach_logout_ends_lesson);
	tcase_add_test(tc, student_login_needs_coach);
	tcase_add_test(tc, student_logout_closes_lesson);
	tcase_add_test(tc, record_in_lesson);
	tcase_add_test(tc, record_without_session);
	tcase_add_test(tc, record_of_another_lesson);
	tcase_add_test(tc, session_timeout);
	tcase_add_test(tc, session_timeout_before_person);
	tcase_add_test(tc, record_in_future_or_too_old);
	tcase_add_test(tc, record_rules_use_lesson);
	tcase_add_test(tc, resume_after_restore);
	tcase_add_test(tc, restore_without_lesson);
	tcase_add_test(tc, unsigned_policy);
	tcase_add_test(tc, schedule_policy);
	tcase_add_test(tc, registry_policies);
	tcase_add_test(tc, signature_verdicts);
	tcase_add_test(tc, terminal_checks_first);
	tcase_add_test(tc, refused_leave_state);
	tcase_add_test(tc, photo_announced_then_stored);
	tcase_add_test(tc, photo_refused);
	tcase_add_test(tc, photo_data_not_judged);
	tcase_add_test(tc, photo_announcements_kept);
	tcase_add_test(tc, decode_messages);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(lesson_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
