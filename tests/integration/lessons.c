/*
 * lessons.c - lessons: signed training records, photos, the daily caps,
 * the judge and the syllabus's rules beyond a part's minutes; the tcase
 * "lessons".
 */
#include "harness.h"

static long long packets_of(const char *student, const char *part)
{
	return db_value("SELECT count(*) FROM push_packet WHERE student_no = $1 AND part = $2::int",
			student, part);
}

START_TEST(test_lesson_ecdsa)
{
	start_hoursd(NULL);
	ck_assert_int_eq(termsim("term-" T1, T1, "--lesson 10 " PART3), 0);
	ck_assert_int_eq(out_value("coach_login_result"), 1);
	ck_assert_int_eq(out_value("student_login_result"), 1);
	ck_assert_int_eq(out_value("records_ok"), 10);
	ck_assert_int_eq(out_value("student_logout_result"), 1);
	ck_assert_int_eq(out_value("coach_logout_result"), 1);
	ck_assert_int_eq(records_of(T1, "accepted", NULL), 10);
	ck_assert_int_eq(db_value("SELECT count(*) FROM session_event WHERE verdict = 'accepted'",
				  NULL, NULL),
			 4);
	ck_assert_int_eq(db_value("SELECT accepted_minutes FROM lesson", NULL, NULL), 10);
	ck_assert_int_eq(db_value("SELECT vehicle FROM progress WHERE part = 3", NULL, NULL), 10);
	stop_hoursd();
}
END_TEST

START_TEST(test_lesson_rsa_and_sm2)
{
	start_hoursd(NULL);
	ck_assert_int_eq(
		termsim("term-" T2, T2,
			words("--lesson 5 %s --sign-key %s/sign-rsa-" T2 ".key", PART3, pki)),
		0);
	ck_assert_int_eq(records_of(T2, "accepted", NULL), 5);
	/* Another student, so that the minutes do not overlap T2's. */
	ck_assert_int_eq(
		termsim("term-" T5, T5,
			words("--lesson 5 %s --student S000000000000009 --coach C000000000000009"
			      " --sign-key %s/sign-sm2-" T5 ".key",
			      PART3, pki)),
		0);
	ck_assert_int_eq(records_of(T5, "accepted", NULL), 5);
	/* The TLS key is not T2's registered signing key: its coach login is refused. */
	ck_assert_int_eq(termsim("term-" T2, T2, "--lesson 3 --student S000000000000008 " PART3),
			 1);
	ck_assert_int_eq(out_value("coach_login_result"), 9);
	ck_assert_int_ge(
		db_value("SELECT count(*) FROM session_event WHERE reason = 'bad_signature'", NULL,
			 NULL),
		1);
	ck_assert_int_eq(records_of(T2, "accepted", NULL), 5);
	stop_hoursd();
}
END_TEST

START_TEST(test_tampered_resent_and_reused_records)
{
	start_hoursd(NULL);
	ck_assert_int_eq(
		termsim("term-" T1, T1, "--lesson 6 --tamper 2 --resend 3 --reuse 4 " PART3), 0);
	ck_assert_int_eq(out_value("records_ok"), 6);	  /* 5 good ones and the resend */
	ck_assert_int_eq(out_value("records_failed"), 2); /* the tampered one and the reuse */
	ck_assert_int_eq(records_of(T1, "accepted", NULL), 5);
	ck_assert_int_eq(records_of(T1, NULL, "bad_signature"), 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM training_record_conflict", NULL, NULL), 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM training_record", NULL, NULL), 6);
	stop_hoursd();
}
END_TEST

START_TEST(test_records_without_a_lesson)
{
	start_hoursd(NULL);
	ck_assert_int_eq(termsim("term-" T1, T1, "--lesson 4 --no-session " PART3), 0);
	ck_assert_int_eq(out_value("records_failed"), 4);
	ck_assert_int_eq(records_of(T1, NULL, "no_session"), 4);
	ck_assert_int_eq(db_value("SELECT count(*) FROM progress", NULL, NULL), 0);
	stop_hoursd();
}
END_TEST

START_TEST(test_photos)
{
	start_hoursd(NULL);
	ck_assert_int_eq(
		termsim("term-" T1, T1, "--lesson 2 --photo 5000 --photo-order reverse " PART3), 0);
	ck_assert_int_eq(out_value("photo_init_result"), 0);
	ck_assert_int_eq(out_value("photo_result"), 0);
	ck_assert_int_eq(db_value("SELECT count(*) FROM photo WHERE size = 5000"
				  " AND sha256 = sha256(data) AND length(data) = 5000",
				  NULL, NULL),
			 1);
	/* A piece never sent: no answer, nothing stored, the lesson goes on. */
	ck_assert_int_eq(termsim("term-" T1, T1,
				 "--lesson 2 --photo 3000 --photo-drop 2 --student S000000000000002"
				 " --coach C000000000000002 --record-seq 101 " PART3),
			 0);
	ck_assert_int_eq(out_value("photo_result"), -1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM photo", NULL, NULL), 1);
	stop_hoursd();
}
END_TEST

/* The same student in two vehicles in the same minutes: each minute counts once. */
START_TEST(test_same_student_on_two_terminals)
{
	start_hoursd(NULL);
	char *a = words("--lesson 20 --rate 50 --record-start %lld " PART3, morning(1));
	char *b = words("--lesson 20 --rate 50 --record-start %lld --coach C000000000000005 " PART3,
			morning(1));
	pid_t p1 = termsim_start("term-" T1, T1, a);
	pid_t p2 = termsim_start("term-" T2, T2,
				 words("%s --sign-key %s/sign-rsa-" T2 ".key", b, pki));
	ck_assert_int_ne(wait_exit(p1, 60), -1);
	ck_assert_int_ne(wait_exit(p2, 60), -1);
	/* Both vehicles' minutes are taken at ingest; the judge counts each minute once. */
	ck_assert_int_eq(db_value("SELECT count(*) FROM training_record WHERE verdict = 'accepted'",
				  NULL, NULL),
			 40);
	ck_assert_int_eq(db_value("SELECT count(*) FROM record_verdict WHERE verdict = 'accepted'",
				  NULL, NULL),
			 20);
	ck_assert_int_eq(db_value("SELECT count(*) FROM record_verdict"
				  " WHERE reason = 'student_overlap'",
				  NULL, NULL),
			 20);
	ck_assert_int_eq(db_value("SELECT vehicle FROM progress", NULL, NULL), 20);
	ck_assert_int_eq(hoursctl_run("recompute"), 0);
	stop_hoursd();
}
END_TEST

/* A day over the practice cap (240 minutes): the rest is stored, marked, not counted. */
START_TEST(test_daily_cap)
{
	start_hoursd(NULL);
	ck_assert_int_eq(
		termsim("term-" T1, T1,
			words("--lesson 250 --window 64 --record-start %lld " PART3, morning(1))),
		0); /* the cap is the judge's: every record is taken, and answered, at ingest */
	ck_assert_int_eq(out_value("records_ok"), 250);
	ck_assert_int_eq(records_of(T1, NULL, "daily_cap"), 10);
	ck_assert_int_eq(db_value("SELECT vehicle FROM progress", NULL, NULL), 240);
	static char page[1 << 17];
	admin_get("/metrics", page, sizeof(page));
	ck_assert_int_eq(
		metric(page, "hoursd_training_records_rejected_total{reason=\"daily_cap\"}"), 10);
	ck_assert_int_eq(metric(page, "hoursd_training_records_total{verdict=\"accepted\"}"), 250);
	ck_assert_int_eq(metric(page, "hoursd_judge_records_total{decision=\"counted\"}"), 240);
	ck_assert_int_eq(metric(page, "hoursd_judge_records_total{decision=\"daily_cap\"}"), 10);
	ck_assert_int_eq(hoursctl_run("recompute"), 0);
	ck_assert_int_eq(hoursctl_run("explain S000000000000001"), 0);
	ck_assert_int_eq(count_lines_in(ctl_out, "minutes that did not count: 10"), 1);
	ck_assert_int_eq(count_lines_in(ctl_out, "daily_cap"), 10);
	stop_hoursd();
}
END_TEST

/* The theory cap (240 minutes a day) spans parts 1 and 4: classroom minutes of both count against
 * it. */
START_TEST(test_daily_cap_across_parts)
{
	start_hoursd(NULL);
	ck_assert_int_eq(
		termsim("term-" T1, T1,
			words("--lesson 200 --window 64 --course 2211010000 --record-start %lld",
			      morning(2))),
		0);
	ck_assert_int_eq(
		termsim("term-" T1, T1,
			words("--lesson 100 --window 64 --course 2214010000 --record-seq 201"
			      " --record-start %lld",
			      morning(2) + 200 * 60)),
		0);
	ck_assert_int_eq(out_value("records_ok"), 100);
	ck_assert_int_eq(records_of(T1, NULL, "daily_cap"), 60);
	ck_assert_int_eq(db_value("SELECT classroom FROM progress WHERE part = 4", NULL, NULL), 40);
	ck_assert_int_eq(hoursctl_run("recompute"), 0);
	stop_hoursd();
}
END_TEST

/* ---- the syllabus's rules beyond a part's minutes (the judge) ---- */

/*
 * The 300 km of a class are over the practice parts together, and part 3
 * (road driving) waits for them: a C1 student with part 3's 1440 minutes
 * at 299.9 km is not pushed; one more part-2 minute of 0.1 km pushes part 3.
 */
START_TEST(test_mileage_gate)
{
	start_hoursd(NULL);
	const char *s = "S000000000000091";
	seed_minutes(s, 3, 1, 1440, 240, morning(10), 2, 121, "G"); /* 1439 * 2 + 121 = 2999 dkm */
	ck_assert_int_eq(db_value("SELECT vehicle FROM progress WHERE student_no = $1 AND part = 3",
				  s, NULL),
			 1440);
	ck_assert_int_eq(packets_of(s, "3"), 0);
	ck_assert_int_eq(hoursctl_run("explain S000000000000091"), 0);
	ck_assert_int_eq(
		count_lines_in(ctl_out,
			       "mileage of the practice parts: 299.9 km; part 3 waits for 300 km"),
		1);
	seed_minutes(s, 2, 1, 1, 240, morning(3), 1, 1, "H");
	ck_assert_int_eq(packets_of(s, "3"), 1);
	ck_assert_int_eq(packets_of(s, "2"), 0);
	ck_assert_int_eq(hoursctl_run("recompute"), 0);
	stop_hoursd();
}
END_TEST

/*
 * A student adding a class to a licence already held is met at the
 * reduced figures (C1 part 1: 4 hours); a new student is not, until the
 * licence held is recorded (the judge looks at the student again).
 */
START_TEST(test_adding_class)
{
	start_hoursd(NULL);
	const char *held = "S000000000000081", *fresh = "S000000000000082";
	ck_assert_int_eq(hoursctl_run("student held S000000000000081 C2"), 0);
	seed_minutes(held, 1, 2, 240, 240, morning(4), 0, 0, "A");
	seed_minutes(fresh, 1, 2, 240, 240, morning(4), 0, 0, "B");
	ck_assert_int_eq(packets_of(held, "1"), 1);
	ck_assert_int_eq(packets_of(fresh, "1"), 0);
	ck_assert_int_eq(hoursctl_run("explain S000000000000081"), 0);
	ck_assert_int_eq(count_lines_in(ctl_out, "licence held: C2"), 1);
	ck_assert_int_eq(count_lines_in(ctl_out, "part 1 240 min"), 1);
	ck_assert_int_eq(hoursctl_run("explain S000000000000082"), 0);
	ck_assert_int_eq(count_lines_in(ctl_out, "licence held: none recorded"), 1);
	/* Recorded later: the judge looks at the student again, no new minute needed. */
	ck_assert_int_eq(hoursctl_run("student held S000000000000082 E"), 0);
	ck_assert_int_eq(packets_of(fresh, "1"), 1);
	ck_assert_int_eq(hoursctl_run("student held S000000000000082 c1"), 2);
	stop_hoursd();
}
END_TEST

/* The daily theory cap is a setting: 4 hours by default, 6 where the file says so. */
START_TEST(test_theory_cap_setting)
{
	start_hoursd(NULL);
	seed_minutes("S000000000000071", 1, 2, 300, 300, morning(4), 0, 0, "T");
	ck_assert_int_eq(db_value("SELECT classroom FROM progress WHERE student_no = $1",
				  "S000000000000071", NULL),
			 240);
	ck_assert_int_eq(records_of(T1, NULL, "daily_cap"), 60);
	stop_hoursd();
	/* The same file with theory: 360. */
	char path[600], text[1 << 16];
	snprintf(path, sizeof(path), "%s/conf/syllabus.yaml", repo);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	char *at = strstr(text, "theory: 240");
	ck_assert_ptr_nonnull(at);
	memcpy(at, "theory: 360", 11);
	snprintf(syllabus_override, sizeof(syllabus_override), "%s/syllabus-360.yaml", work);
	f = fopen(syllabus_override, "w");
	ck_assert_ptr_nonnull(f);
	fwrite(text, 1, n, f);
	fclose(f);
	start_hoursd(NULL);
	seed_minutes("S000000000000072", 1, 2, 300, 300, morning(4), 0, 0, "U");
	ck_assert_int_eq(db_value("SELECT classroom FROM progress WHERE student_no = $1",
				  "S000000000000072", NULL),
			 300);
	ck_assert_int_eq(records_of(T1, NULL, "daily_cap"), 60); /* the first student's only */
	stop_hoursd();
	syllabus_override[0] = '\0';
}
END_TEST

/*
 * Part 3 of C1 (1440 minutes, 240 a day) completed by minutes arriving at
 * once from two terminals: exactly one push packet.
 */
START_TEST(test_part_met_once_under_concurrency)
{
	start_hoursd(NULL);
	const char *coach2 = "--coach C000000000000002";
	pid_t p[6];
	for (int d = 0; d < 6; d++) {
		const char *who = d % 2 ? T2 : T1;
		char *w = words(
			"--lesson 240 --window 64 --record-start %lld --record-seq %d %s %s%s%s",
			morning(6 - d), 1 + 240 * d, PART3, d % 2 ? coach2 : "",
			d % 2 ? " --sign-key " : "", d % 2 ? pki : "");
		if (d % 2)
			w = words("%s/sign-rsa-" T2 ".key", w);
		p[d] = termsim_start(d % 2 ? "term-" T2 : "term-" T1, who, w);
		if (d % 2) {
			ck_assert_int_eq(wait_exit(p[d - 1], 120), 0);
			ck_assert_int_eq(wait_exit(p[d], 120), 0);
		}
	}
	ck_assert_int_eq(db_value("SELECT vehicle FROM progress WHERE part = 3", NULL, NULL), 1440);
	ck_assert_int_eq(db_value("SELECT count(*) FROM push_packet", NULL, NULL), 1);
	ck_assert_int_eq(hoursctl_run("recompute"), 0);
	/* recompute does see a difference: progress changed behind its back. */
	PGconn *c = db_connect(test_ci);
	db_exec(c, "UPDATE progress SET vehicle = vehicle + 1");
	PQfinish(c);
	ck_assert_int_eq(hoursctl_run("recompute"), 1);
	stop_hoursd();
}
END_TEST

/*
 * Field driving (part 2) counts only on the school's site.  termsim drives
 * north-east 80 microdegrees a minute from the site's corner: minutes 0-6
 * are on the site, 7-12 in the building (a hole), 13-25 on the site's
 * upper arm, 26-29 past it (conf/site-sample.geojson).
 */
START_TEST(test_training_site)
{
	start_hoursd(NULL);
	ck_assert_int_eq(termsim("term-" T1, T1, "--lesson 30 " PART2), 1);
	ck_assert_int_eq(out_value("records_ok"), 20);
	ck_assert_int_eq(records_of(T1, NULL, "outside_training_site"), 10);
	ck_assert_int_eq(db_value("SELECT count(*) FROM training_record WHERE verdict = 'accepted'"
				  " AND record_no LIKE '%000' || $1",
				  "8", NULL),
			 0); /* sequence 8 is minute 7, the first in the hole */
	/* Terminal 2 belongs to no school with a site. */
	ck_assert_int_eq(
		termsim("term-" T2, T2,
			words("--lesson 3 --student S000000000000002 --coach C000000000000002"
			      " --sign-key %s/sign-rsa-" T2 ".key " PART2,
			      pki)),
		1);
	ck_assert_int_eq(records_of(T2, NULL, "no_training_site"), 3);
	stop_hoursd();
}
END_TEST

/*
 * A terminal that reconnects mid-lesson, and an hoursd restarted
 * mid-lesson: the lesson goes on from what the database holds.
 */
START_TEST(test_lesson_survives_reconnect_and_restart)
{
	long long t0 = morning(1);
	start_hoursd(NULL);
	ck_assert_int_eq(termsim("term-" T1, T1,
				 words("--lesson 5 --no-logout --record-start %lld " PART3, t0)),
			 0);
	/* The connection is gone; a new one continues the lesson. */
	ck_assert_int_eq(termsim("term-" T1, T1,
				 words("--lesson 5 --no-login --no-logout --record-seq 6"
				       " --record-start %lld " PART3,
				       t0 + 300)),
			 0);
	stop_hoursd();
	start_hoursd(NULL);
	ck_assert_int_eq(
		termsim("term-" T1, T1,
			words("--lesson 5 --no-login --record-seq 11 --record-start %lld " PART3,
			      t0 + 600)),
		0);
	ck_assert(log_has("lesson continues"));
	ck_assert_int_eq(records_of(T1, "accepted", NULL), 15);
	ck_assert_int_eq(db_value("SELECT accepted_minutes FROM lesson", NULL, NULL), 15);
	/* The lesson is closed now: a record after it is refused. */
	ck_assert_int_eq(termsim("term-" T1, T1,
				 words("--lesson 1 --no-login --no-logout --record-seq 16"
				       " --record-start %lld " PART3,
				       t0 + 900)),
			 1);
	ck_assert_int_eq(records_of(T1, NULL, "no_session"), 1);
	stop_hoursd();
}
END_TEST

TCase *tcase_lessons(void)
{
	TCase *tc = tcase_create("lessons");
	tcase_set_timeout(tc, 180);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_lesson_ecdsa);
	tcase_add_test(tc, test_lesson_rsa_and_sm2);
	tcase_add_test(tc, test_tampered_resent_and_reused_records);
	tcase_add_test(tc, test_records_without_a_lesson);
	tcase_add_test(tc, test_photos);
	tcase_add_test(tc, test_same_student_on_two_terminals);
	tcase_add_test(tc, test_daily_cap);
	tcase_add_test(tc, test_daily_cap_across_parts);
	tcase_add_test(tc, test_mileage_gate);
	tcase_add_test(tc, test_adding_class);
	tcase_add_test(tc, test_theory_cap_setting);
	tcase_add_test(tc, test_part_met_once_under_concurrency);
	tcase_add_test(tc, test_training_site);
	tcase_add_test(tc, test_lesson_survives_reconnect_and_restart);
	return tc;
}
