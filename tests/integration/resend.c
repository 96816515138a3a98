/*
 * resend.c - a message a terminal sends again (docs/protocol.md, "Sent
 * again"): each kind sent again on the same connection, on a new one and
 * after a restart of hoursd is answered as the first time and changes
 * nothing; other bytes under a stored identity are a conflict, kept
 * aside; two copies of records in concurrent batches get the stored
 * verdict; an answer to a command sent twice is matched both times; the
 * tcase "resend".
 *
 * termsim builds every frame (not hoursd's code path).  T2 signs with
 * RSA (PKCS#1 v1.5, deterministic), so a lesson built again with the same
 * options is the same bytes: what a terminal keeps and sends again.  T1
 * signs with ECDSA, whose signatures differ every time: built again, a
 * message is other bytes under the same identity.
 */
#include "harness.h"

#include <unistd.h>

/* T2's lesson of 3 minutes at t0, the same bytes each time, and what else is given. */
static int lesson_t2(long long t0, const char *more)
{
	return termsim("term-" T2, T2,
		       words("--lesson 3 %s --sign-key %s/sign-rsa-" T2 ".key --record-start %lld"
			     " --photo-no 000000001 %s",
			     PART3, pki, t0, more));
}

static long long count_of(const char *sql)
{
	return db_value(sql, NULL, NULL);
}

/* T2's lesson is stored once: 4 logins and logouts, 3 records, all accepted, no conflict. */
static void stored_once(void)
{
	ck_assert_int_eq(count_of("SELECT count(*) FROM session_event"), 4);
	ck_assert_int_eq(count_of("SELECT count(*) FROM session_event WHERE verdict = 'accepted'"),
			 4);
	ck_assert_int_eq(count_of("SELECT count(*) FROM session_event_conflict"), 0);
	ck_assert_int_eq(records_of(T2, "accepted", NULL), 3);
	ck_assert_int_eq(count_of("SELECT count(*) FROM training_record"), 3);
	ck_assert_int_eq(count_of("SELECT count(*) FROM training_record_conflict"), 0);
	ck_assert(wait_value("SELECT vehicle FROM progress WHERE part = 3", NULL, 3, 10));
}

/*
 * Each login and logout again on the same connection after the lesson
 * closed (a logout is not "not logged in" then, a login opens nothing):
 * the lesson, then the whole lesson again (all copies) with one kind
 * after it.
 */
START_TEST(test_events_again_same_connection)
{
	static const char *const again[] = {"student_logout", "coach_logout", "student_login",
					    "coach_login"};
	long long t0 = morning(1);
	start_hoursd(NULL);
	for (size_t i = 0; i < ARRAY_SIZE(again); i++) {
		ck_assert_msg(lesson_t2(t0, words("--again %s", again[i])) == 0, "%s again",
			      again[i]);
		ck_assert_int_eq(out_value("coach_login_result"), 1);
		ck_assert_int_eq(out_value("student_login_result"), 1);
		ck_assert_int_eq(out_value("student_logout_result"), 1);
		ck_assert_int_eq(out_value("coach_logout_result"), 1);
	}
	ck_assert(!log_has("not_logged_in"));
	stored_once();
	stop_hoursd();
}
END_TEST

/* The kinds termsim's --only takes, and the summary key of each one's answer. */
static const struct {
	const char *only, *key;
	long long want;
} kinds[] = {
	{"student_logout", "student_logout_result", 1},
	{"coach_logout", "coach_logout_result", 1},
	{"student_login", "student_login_result", 1},
	{"coach_login", "coach_login_result", 1},
	{"records", "records_ok", 3},
};

static void each_kind_again(long long t0)
{
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		ck_assert_msg(lesson_t2(t0, words("--only %s", kinds[i].only)) == 0,
			      "%s sent again", kinds[i].only);
		ck_assert_int_eq(out_value(kinds[i].key), kinds[i].want);
	}
}

/*
 * Each kind alone again on a new connection (the lesson closed: a logout
 * again is not "not logged in", a login again opens nothing), then after
 * a restart; then the whole lesson again.
 */
START_TEST(test_each_kind_again_new_connection_and_restart)
{
	long long t0 = morning(1);
	start_hoursd(NULL);
	ck_assert_int_eq(lesson_t2(t0, ""), 0);
	each_kind_again(t0);
	stop_hoursd();
	start_hoursd(NULL);
	each_kind_again(t0);
	ck_assert_int_eq(lesson_t2(t0, "--only coach_login,student_login,records,student_logout,"
				       "coach_logout"),
			 0);
	/* A login again opened nothing: a new record after the lesson is refused. */
	ck_assert_int_eq(termsim("term-" T2, T2,
				 words("--lesson 1 %s --sign-key %s/sign-rsa-" T2 ".key --no-login"
				       " --no-logout --record-seq 9 --record-start %lld",
				       PART3, pki, t0 + 600)),
			 1);
	ck_assert_int_eq(records_of(T2, NULL, "no_session"), 1);
	ck_assert(!log_has("student_not_logged_in"));
	ck_assert(!log_has("coach_not_logged_in"));
	ck_assert_int_eq(count_of("SELECT count(*) FROM session_event"), 4);
	ck_assert_int_eq(count_of("SELECT count(*) FROM session_event_conflict"), 0);
	ck_assert_int_eq(records_of(T2, "accepted", NULL), 3);
	ck_assert(wait_value("SELECT vehicle FROM progress WHERE part = 3", NULL, 3, 10));
	stop_hoursd();
}
END_TEST

/*
 * A photo's data again: on the same connection (its announcement used
 * up), alone on a new connection, with its announcement after a restart;
 * other data under its number is a conflict, kept aside and refused.
 */
START_TEST(test_photo_again)
{
	long long t0 = morning(1);
	start_hoursd(NULL);
	ck_assert_int_eq(lesson_t2(t0, "--photo 5000 --again photo_data"), 0);
	ck_assert_int_eq(out_value("photo_result"), 0);
	ck_assert_int_eq(lesson_t2(t0, "--photo 5000 --only photo_data"), 0);
	ck_assert_int_eq(out_value("photo_result"), 0);
	stop_hoursd();
	start_hoursd(NULL);
	ck_assert_int_eq(lesson_t2(t0, "--photo 5000 --only photo_init,photo_data"), 0);
	ck_assert_int_eq(out_value("photo_init_result"), 0);
	ck_assert_int_eq(out_value("photo_result"), 0);
	ck_assert_int_eq(count_of("SELECT count(*) FROM photo WHERE size = 5000"), 1);
	ck_assert_int_eq(count_of("SELECT count(*) FROM photo_conflict"), 0);
	/* Announced, other data under the stored number: refused after the commit. */
	ck_assert_int_eq(lesson_t2(t0, "--photo 6000 --only photo_init,photo_data"), 1);
	ck_assert_int_eq(out_value("photo_result"), 1);
	/* Not announced, other data: refused at once. */
	ck_assert_int_eq(lesson_t2(t0, "--photo 7000 --only photo_data"), 1);
	ck_assert_int_eq(out_value("photo_result"), 1);
	ck_assert_int_eq(count_of("SELECT count(*) FROM photo"), 1);
	ck_assert_int_eq(count_of("SELECT count(*) FROM photo WHERE size = 5000"), 1);
	ck_assert_int_eq(count_of("SELECT count(*) FROM photo_conflict WHERE size IN (6000, 7000)"
				  " AND sha256 = sha256(data)"),
			 2);
	stored_once();
	stop_hoursd();
}
END_TEST

/* A logout built again with another ECDSA signature: other bytes, a conflict. */
START_TEST(test_event_conflict)
{
	long long t0 = morning(1);
	const char *lesson = words("--lesson 2 %s --record-start %lld", PART3, t0);
	start_hoursd(NULL);
	ck_assert_int_eq(termsim("term-" T1, T1, lesson), 0);
	ck_assert_int_eq(termsim("term-" T1, T1, words("%s --only student_logout", lesson)), 1);
	ck_assert_int_eq(out_value("student_logout_result"), 9);
	ck_assert(log_has("other bytes than the one stored under its identity"));
	ck_assert_int_eq(count_of("SELECT count(*) FROM session_event_conflict"
				  " WHERE kind = 'student_logout' AND raw_sha256 = sha256(raw)"),
			 1);
	ck_assert_int_eq(count_of("SELECT count(*) FROM session_event WHERE kind = 'student_logout'"
				  " AND verdict = 'accepted'"),
			 1);
	stop_hoursd();
}
END_TEST

/* Every line of a --records-file answered 0. */
static long long zeros_in(const char *path, long long *lines)
{
	FILE *f = fopen(path, "r");
	char line[128];
	long long zeros = 0;
	*lines = 0;
	while (f && fgets(line, sizeof(line), f)) {
		(*lines)++;
		zeros += strstr(line, " 0\n") != NULL;
	}
	if (f)
		fclose(f);
	return zeros;
}

/*
 * Two copies of one record in batches written at once on the two ingest
 * connections: the later waits for the earlier's key, then finds it
 * neither inserted by itself nor visible to its statement.  Two
 * connections of T2 send the same lesson (the same bytes); each is
 * authenticated and has its first record answered before the test locks
 * T2's registry row, so that the second records (2.5 s later, --rate)
 * are inserted and then held in their batches by the foreign key's
 * check, the second copy waiting for the first's.  Both are answered 0,
 * the record stored once.
 */
START_TEST(test_copies_in_concurrent_batches)
{
	long long t0 = morning(1);
	start_hoursd(NULL);
	/* The lesson open on the server. */
	ck_assert_int_eq(termsim("term-" T2, T2,
				 words("--lesson 0 %s --sign-key %s/sign-rsa-" T2 ".key --no-logout"
				       " --record-start %lld",
				       PART3, pki, t0)),
			 0);
	char files[2][700];
	pid_t pid[2];
	for (int k = 0; k < 2; k++) {
		snprintf(files[k], sizeof(files[k]), "%s/records-%d", work, k);
		unlink(files[k]); /* termsim appends; the suite runs twice in one WORK */
		pid[k] = termsim_start("term-" T2, T2,
				       words("--lesson 2 %s --sign-key %s/sign-rsa-" T2 ".key"
					     " --resume --no-logout --record-start %lld --rate 0.4"
					     " --records-file %s",
					     PART3, pki, t0, files[k]));
		usleep(300 * 1000);
	}
	usleep(600 * 1000);
	PGconn *c = db_connect(test_ci);
	db_exec(c, "BEGIN");
	PGresult *r =
		PQexec(c, /* the registry keeps the number normalized (jt808_phone_norm) */
		       "SELECT 1 FROM terminal WHERE phone = ltrim('" T2 "', '0') FOR UPDATE");
	ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	ck_assert_int_eq(PQntuples(r), 1);
	PQclear(r);
	usleep(3500 * 1000);
	db_exec(c, "COMMIT");
	PQfinish(c);
	for (int k = 0; k < 2; k++)
		ck_assert_int_eq(wait_exit(pid[k], 60), 0);
	for (int k = 0; k < 2; k++) {
		long long lines;
		ck_assert_int_eq(zeros_in(files[k], &lines), 2);
		ck_assert_int_eq(lines, 2);
	}
	ck_assert(log_has("stored by another batch meanwhile"));
	ck_assert_int_eq(
		count_of("SELECT count(*) FROM training_record WHERE verdict = 'accepted'"), 2);
	ck_assert_int_eq(count_of("SELECT count(*) FROM training_record_conflict"), 0);
	stop_hoursd();
}
END_TEST

/*
 * An answer to a command sent twice, the same bytes (its 0x8001 lost):
 * both matched to the command and answered 0, the result kept once.
 */
START_TEST(test_command_answer_again)
{
	start_hoursd_plain(NULL);
	ck_assert_int_eq(hoursctl_run("terminal ban " T6 " on --message 禁止培训"), 0);
	ck_assert_int_eq(termsim_timing("--heartbeats 4 --rate 1 --answers-twice"), 0);
	ck_assert_int_eq(count_lines_with("answer 0x0502 to command extended serial"), 2);
	ck_assert(!log_has("to no command sent to this terminal"));
	ck_assert_int_eq(db_value("SELECT count(*) FROM terminal_command WHERE kind = $1"
				  " AND answered_at IS NOT NULL AND result = 1",
				  "training_ban", NULL),
			 1);
	stop_hoursd();
}
END_TEST

TCase *tcase_resend(void)
{
	TCase *tc = tcase_create("resend");
	tcase_set_timeout(tc, 240);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_events_again_same_connection);
	tcase_add_test(tc, test_each_kind_again_new_connection_and_restart);
	tcase_add_test(tc, test_photo_again);
	tcase_add_test(tc, test_event_conflict);
	tcase_add_test(tc, test_copies_in_concurrent_batches);
	tcase_add_test(tc, test_command_answer_again);
	return tc;
}
