/*
 * students.c - students: enrolment, scheduling, back-filled hours,
 * readiness; the tcase "students".
 */
#include "harness.h"

/* A time in China Standard Time as the schedule takes it: "YYYY-MM-DD HH:MM". */
static const char *cst(time_t t, char *buf, size_t cap)
{
	time_t local = t + 8 * 3600;
	struct tm tm;
	gmtime_r(&local, &tm);
	strftime(buf, cap, "%Y-%m-%d %H:%M", &tm);
	return buf;
}

/* Wait until hoursd has written the syllabus (it is ready before that). */
static void syllabus_written(void)
{
	ck_assert(
		wait_value("SELECT (count(*) > 0)::int FROM syllabus_part WHERE vehicle_class = $1",
			   "C1", 1, 15));
}

/* A lesson of a student on T1 (records from seq): its login's verdict (1 or 9). */
static long long schedule_lesson(const char *student, int seq)
{
	ck_assert_int_ge(
		termsim("term-" T1, T1,
			words("--lesson 3 --student %s --record-seq %d " PART3, student, seq)),
		0);
	return out_value("student_login_result");
}

/* A form for a student and part: minutes classroom and remote (part 1) or vehicle (part 2). */
static void write_form(const char *name, const char *form_no, const char *student, int part,
		       int vehicle, int classroom, int remote)
{
	char path[700], scan[700], text[2000];
	snprintf(scan, sizeof(scan), "%s/%s.pdf", work, name);
	snprintf(text, sizeof(text), "%%PDF-1.4\n%% the paper form %s\n", form_no);
	write_text(scan, text);
	snprintf(path, sizeof(path), "%s/%s.json", work, name);
	snprintf(
		text, sizeof(text),
		"{\"form_no\": \"%s\", \"student_no\": \"%s\", \"school_code\": \"S001\","
		" \"part\": %d, \"minutes\": {\"vehicle\": %d, \"classroom\": %d,"
		" \"simulator\": 0, \"remote\": %d}, \"mileage_km\": \"12.5\","
		" \"coach_no\": \"C000000000000001\", \"trained_from\": \"2023-01-15\","
		" \"trained_to\": \"2023-04-20\","
		" \"student_signature\": {\"by\": \"张三\", \"at\": \"2023-04-21 10:00\"},"
		" \"coach_signature\": {\"by\": \"李四\", \"at\": \"2023-04-21 10:05\"},"
		" \"school_seal\": {\"by\": \"Sample driving school\", \"at\": \"2023-04-22 09:00\"},"
		" \"entered_by\": \"clerk wang\", \"scan\": \"%s.pdf\"}\n",
		form_no, student, part, vehicle, classroom, remote, name);
	write_text(path, text);
}

static int import_form(const char *name)
{
	char path[700];
	snprintf(path, sizeof(path), "%s/%s.json", work, name);
	return hoursctl_run("backfill import %s", path);
}

/* policesim pre-enter against hoursd's readiness listener: its exit status. */
static int pre_enter(int rport, const char *client, const char *student)
{
	char prog[600], hp[64], cert[700], key[700], ca[700], out[700];
	snprintf(prog, sizeof(prog), "%s/policesim", bindir);
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", rport);
	snprintf(cert, sizeof(cert), "%s/%s.crt", pki, client);
	snprintf(key, sizeof(key), "%s/%s.key", pki, client);
	snprintf(ca, sizeof(ca), "%s/ca.crt", pki);
	snprintf(out, sizeof(out), "%s/pre-enter.out", work);
	unlink(out);
	char *argv[] = {prog,
			(char *)"pre-enter",
			(char *)"--hoursd",
			hp,
			(char *)"--cert",
			cert,
			(char *)"--key",
			key,
			(char *)"--ca",
			ca,
			(char *)student,
			NULL};
	return wait_exit(spawn(argv, out, out), 30);
}

START_TEST(test_students_csv_import)
{
	char csv[700], good[700];
	snprintf(csv, sizeof(csv), "%s/students.csv", work);
	snprintf(good, sizeof(good), "%s/students-good.csv", work);
	write_text(csv, "student_no,school,class,enrolled_on,id_card,legacy,pre_entered_on\n"
			"S000000000000001,S001,C1,2026-11-01,11010519491231002X,no,\n"
			"S000000000000002,S001,C1,2022-09-01,,yes,2023-01-10\n"
			"S000000000000003,S001,C1,2026-11-01,110105194912310021,no,\n"
			"S00000000000004,S001,C1,2026-11-01,,no,\n"
			"S000000000000005,S999,C1,2026-11-01,,no,\n"
			"S000000000000006,S001,C1,2026-02-30,,no,\n"
			"S000000000000007,S001,C1,2026-11-01,,yes,\n"
			"\"S000000000000008\",S001,C2,2026-11-02,,,\n"
			"S000000000000009,S001,C1,2026-11-01,\"unclosed\n"
			/* saved by a spreadsheet in GBK (上), and a row short of fields */
			"S000000000000011,S001,C1,2026-11-01,,no,\xc9\xcf\n"
			"S000000000000012,S001,C1,2026-11-01\n");
	ck_assert_int_eq(hoursctl_run("student import %s", csv), 1);
	ck_assert_int_eq(count_lines_in(ctl_out, "3 enrolled, 0 enrolled already"), 1);
	static const char *const bad[] = {
		":4: identity-card number",
		":5: student number",
		":6: no school S999",
		":7: enrolment date",
		":8: a legacy student needs",
		":10: a quoted field",
		":11: byte 41 is not UTF-8 (0xc9): save the file as UTF-8",
		":12: 4 fields, the header has 7"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ck_assert_msg(count_lines_in(ctl_err, bad[i]) == 1, "no \"%s\" in %s", bad[i],
			      ctl_err);
	ck_assert_int_eq(count_lines_in(ctl_err, csv), 8);
	/* Every good row, none of the bad ones; the number only in student_identity. */
	ck_assert_int_eq(db_value("SELECT count(*) FROM student", NULL, NULL), 3);
	ck_assert_int_eq(db_value("SELECT count(*) FROM student WHERE student_no IN"
				  " ('S000000000000001', 'S000000000000002', 'S000000000000008')",
				  NULL, NULL),
			 3);
	ck_assert_int_eq(db_value("SELECT count(*) FROM student_identity i JOIN student s"
				  " USING (student_no) WHERE i.id_card = '11010519491231002X'"
				  " AND encode(s.id_card_sha256, 'hex') = $1",
				  SPECIMEN_ID_SHA256, NULL),
			 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM student WHERE legacy"
				  " AND pre_entered_on = '2023-01-10'",
				  NULL, NULL),
			 1);
	/* Again: nothing changes, the same rows are refused again. */
	ck_assert_int_eq(hoursctl_run("student import %s", csv), 1);
	ck_assert_int_eq(count_lines_in(ctl_out, "0 enrolled, 3 enrolled already"), 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM student", NULL, NULL), 3);
	ck_assert_int_eq(db_value("SELECT count(*) FROM student_identity", NULL, NULL), 1);
	/* A file of good rows only exits 0, twice; other facts for a number are refused. */
	write_text(good, "student_no,school,class,enrolled_on\n"
			 "S000000000000010,S001,C1,2026-11-03\n");
	ck_assert_int_eq(hoursctl_run("student import %s", good), 0);
	ck_assert_int_eq(hoursctl_run("student import %s", good), 0);
	ck_assert_int_eq(count_lines_in(ctl_out, "0 enrolled, 1 enrolled already"), 1);
	ck_assert_int_eq(hoursctl_run("student add S000000000000010 --school S001"
				      " --class C2 --enrolled 2026-11-03"),
			 1);
	ck_assert_int_eq(count_lines_in(ctl_err, "enrolled already with other facts"), 1);
	ck_assert_int_eq(hoursctl_run("student show S000000000000001"), 0);
	ck_assert_int_eq(count_lines_in(ctl_out, SPECIMEN_ID_SHA256), 1);
	ck_assert_int_eq(count_lines_in(ctl_out, "11010519491231002X"), 0);
}
END_TEST

START_TEST(test_students_schedule_refuse_and_flag)
{
	char from[32], to[32], csv[700];
	ck_assert_int_eq(hoursctl_run("student add S000000000000001 --school S001"
				      " --class C1 --enrolled 2026-11-01"),
			 0);
	ck_assert_int_eq(hoursctl_run("student add S000000000000002 --school S001"
				      " --class C1 --enrolled 2026-11-01"),
			 0);
	/* Yesterday's slot: today's lesson is outside it. */
	ck_assert_int_eq(hoursctl_run("schedule add S000000000000001 --coach C000000000000001"
				      " --vehicle 沪A12345 --from '%s' --to '%s'",
				      cst(time(NULL) - 86400, from, 32),
				      cst(time(NULL) - 82800, to, 32)),
			 0);
	/* flag (the default): taken, marked, its minutes visible to auditors. */
	start_hoursd(NULL);
	ck_assert_int_eq(schedule_lesson("S000000000000001", 1), 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM session_event WHERE kind = 'student_login'"
				  " AND verdict = 'accepted' AND outside_schedule",
				  NULL, NULL),
			 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM outside_schedule_minute"
				  " WHERE verdict = 'accepted'",
				  NULL, NULL),
			 3);
	stop_hoursd();
	/* refuse: the login is refused with outside_schedule, the lesson does not open. */
	start_hoursd_tail(NULL, "  schedule: refuse\n");
	/* A new lesson, so another coach login time: the same coach's login at the same
	 * second is the one stored, and other bytes under it a conflict (docs/protocol.md,
	 * "Sent again"). */
	sleep(1);
	ck_assert_int_eq(schedule_lesson("S000000000000002", 101), 9);
	ck_assert_int_eq(db_value("SELECT count(*) FROM session_event WHERE kind = 'student_login'"
				  " AND reason = 'outside_schedule' AND person_no = $1",
				  "S000000000000002", NULL),
			 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM record_verdict WHERE student_no = $1"
				  " AND verdict = 'accepted'",
				  "S000000000000002", NULL),
			 0);
	/* A slot around now, imported from a CSV (and again: unchanged): the login is taken. */
	snprintf(csv, sizeof(csv), "%s/slots.csv", work);
	char text[600];
	snprintf(text, sizeof(text),
		 "student_no,coach_no,plate,starts_at,ends_at\n"
		 "S000000000000002,C000000000000001,沪A12345,%s,%s\n"
		 "S000000000000099,C000000000000001,沪A12345,%s,%s\n",
		 cst(time(NULL) - 3600, from, 32), cst(time(NULL) + 3600, to, 32), from, to);
	write_text(csv, text);
	ck_assert_int_eq(hoursctl_run("schedule import %s", csv), 1);
	ck_assert_int_eq(count_lines_in(ctl_err, ":3: no student S000000000000099 enrolled"), 1);
	ck_assert_int_eq(hoursctl_run("schedule import %s", csv), 1);
	ck_assert_int_eq(count_lines_in(ctl_out, "0 slots added, 1 there already"), 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM schedule_slot", NULL, NULL), 2);
	sleep(1); /* another login time than the refused one */
	ck_assert_int_eq(schedule_lesson("S000000000000002", 201), 1);
	ck_assert_int_eq(
		db_value("SELECT count(*) FROM session_event WHERE kind = 'student_login'"
			 " AND verdict = 'accepted' AND NOT outside_schedule AND person_no = $1",
			 "S000000000000002", NULL),
		1);
	stop_hoursd();
}
END_TEST

START_TEST(test_students_backfill)
{
	char csv[700];
	snprintf(csv, sizeof(csv), "%s/students.csv", work);
	write_text(csv, "student_no,school,class,enrolled_on,legacy,pre_entered_on\n"
			"S000000000000001,S001,C1,2026-11-01,no,\n"
			"S000000000000002,S001,C1,2022-09-01,yes,2023-01-10\n"
			"S000000000000003,S001,C1,2023-05-01,yes,2023-06-01\n");
	ck_assert_int_eq(hoursctl_run("student import %s", csv), 0);
	start_policesim(NULL, NULL);
	start_hoursd_push(NULL);
	syllabus_written();
	/* The terminals gave 120 classroom minutes of part 1 (720 required, remote at most 360). */
	PGconn *c = db_connect(test_ci);
	db_exec(c, "INSERT INTO progress (student_no, part, vehicle_class, classroom, first_minute,"
		   " last_minute, records) VALUES ('S000000000000002', 1, 'C1', 120,"
		   " '2026-11-02 09:00+08', '2026-11-02 10:59+08', 120)");
	PQfinish(c);
	write_form("bf1", "BF-0001", "S000000000000002", 1, 0, 240, 360);
	ck_assert_int_eq(import_form("bf1"), 0);
	/* Refused, nothing stored: twice, not legacy, after the cut-off, over the syllabus. */
	ck_assert_int_eq(import_form("bf1"), 1);
	ck_assert_int_eq(count_lines_in(ctl_err, "was imported already"), 1);
	write_form("bf2", "BF-0002", "S000000000000001", 1, 0, 240, 0);
	ck_assert_int_eq(import_form("bf2"), 1);
	ck_assert_int_eq(count_lines_in(ctl_err, "is not a legacy student"), 1);
	write_form("bf3", "BF-0003", "S000000000000003", 1, 0, 240, 0);
	ck_assert_int_eq(import_form("bf3"), 1);
	ck_assert_int_eq(count_lines_in(ctl_err, "not before the cut-off 2023-05-25"), 1);
	write_form("bf4", "BF-0004", "S000000000000002", 2, 1000, 0, 0);
	ck_assert_int_eq(import_form("bf4"), 1);
	ck_assert_int_eq(count_lines_in(ctl_err, "more than the 960 the syllabus requires"), 1);
	write_form("bf5", "BF-0005", "S000000000000002", 1, 0, 0, 400);
	ck_assert_int_eq(import_form("bf5"), 1);
	ck_assert_int_eq(count_lines_in(ctl_err, "counts at most 360"), 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM backfill_form", NULL, NULL), 1);
	/* One rejected by the supervisor: kept, never counted. */
	write_form("bf6", "BF-0006", "S000000000000002", 2, 300, 0, 0);
	ck_assert_int_eq(import_form("bf6"), 0);
	ck_assert_int_eq(hoursctl_run("backfill reject BF-0006 --by 'supervisor zhao'"), 2);
	ck_assert_int_eq(hoursctl_run("backfill reject BF-0006 --by 'supervisor zhao'"
				      " --note \"the seal is not the school's\""),
			 0);
	ck_assert_int_eq(hoursctl_run("backfill approve BF-0006 --by 'supervisor zhao'"), 1);
	ck_assert_int_eq(count_lines_in(ctl_err, "a form is decided once"), 1);
	/* Approved: counted with the terminals' minutes, the part met, pushed back-filled once. */
	ck_assert_int_eq(hoursctl_run("backfill approve BF-0001 --by 'supervisor zhao'"
				      " --note 'checked against the paper form'"),
			 0);
	ck_assert(wait_value("SELECT count(*) FROM push_packet WHERE state = $1", "done", 1, 20));
	ck_assert_int_eq(db_value("SELECT count(*) FROM push_packet WHERE student_no = $1"
				  " AND part = 1 AND backfilled",
				  "S000000000000002", NULL),
			 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM push_packet WHERE part = 2", NULL, NULL),
			 0);
	ck_assert_int_eq(count_lines_in(psim_store, "\\\"backfilled\\\":true"), 1);
	ck_assert_int_eq(count_lines_in(psim_store, "\\\"backfill_form\\\":\\\"BF-0001\\\""), 1);
	ck_assert_int_eq(count_lines_in(psim_store, "\\\"backfilled_minutes\\\":600"), 1);
	ck_assert_int_eq(count_lines_in(psim_store, "\\\"total_minutes\\\":720"), 1);
	ck_assert_int_eq(count_lines_in(psim_store, "\\\"classroom_minutes\\\":360"), 1);
	ck_assert_int_eq(count_lines_in(psim_store, "\\\"remote_minutes\\\":360"), 1);
	/* A part met and pushed takes no more forms. */
	write_form("bf7", "BF-0007", "S000000000000002", 1, 0, 10, 0);
	ck_assert_int_eq(import_form("bf7"), 1);
	ck_assert_int_eq(count_lines_in(ctl_err, "has its packet already"), 1);
	/* Every step kept with who and when; explain shows both sources. */
	ck_assert_int_eq(db_value("SELECT count(*) FROM backfill_step", NULL, NULL), 4);
	ck_assert_int_eq(db_value("SELECT count(*) FROM backfill_step WHERE step = 'rejected'"
				  " AND by_name = 'supervisor zhao' AND note IS NOT NULL",
				  NULL, NULL),
			 1);
	/* Append-only: a form or a step is never changed, by hoursd's role or an auditor's. */
	ck_assert_int_eq(hoursctl_run("role add hoursd st_daemon"), 0);
	ck_assert_int_eq(hoursctl_run("role add auditor st_auditor"), 0);
	sv_refused("st_daemon",
		   "UPDATE backfill_form SET classroom = 720 WHERE form_no = 'BF-0001'",
		   "permission denied");
	sv_refused("st_daemon", "DELETE FROM backfill_step WHERE step = 'rejected'",
		   "permission denied");
	sv_refused("st_auditor", "DELETE FROM backfill_step WHERE step = 'rejected'",
		   "permission denied");
	sv_refused("st_auditor", "SELECT id_card FROM student_identity", "permission denied");
	sv_allowed("st_auditor", "SELECT student_no, id_card_masked FROM student_identity_masked");
	ck_assert_int_eq(hoursctl_run("backfill show BF-0001"), 0);
	ck_assert_int_eq(count_lines_in(ctl_out, "approved"), 2);
	ck_assert_int_eq(hoursctl_run("explain S000000000000002"), 0);
	ck_assert_int_eq(count_lines_in(ctl_out, "back-filled hours"), 1);
	ck_assert_int_eq(count_lines_in(ctl_out, "BF-0001"), 1);
	ck_assert_int_eq(count_lines_in(ctl_out, "done, back-filled"), 1);
	/* Exactly once: a restart pushes nothing again. */
	stop_hoursd();
	start_hoursd_push(NULL);
	sleep(2);
	ck_assert_int_eq(count_lines_in(psim_store, "\\\"backfilled\\\":true"), 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM push_attempt", NULL, NULL), 1);
	/* The forms and their steps joined the audit's log: a form changed behind hoursd's
	 * back shows. */
	ck_assert(wait_value("SELECT count(*) FROM backfill_form"
			     " WHERE audit_xid < (SELECT hi FROM audit_log_head)",
			     NULL, 2, 10));
	ck_assert(wait_value("SELECT count(*) FROM backfill_step"
			     " WHERE audit_xid < (SELECT hi FROM audit_log_head)",
			     NULL, 4, 10));
	stop_hoursd();
	stop_policesim();
	/* The progress this test wrote by hand (recompute), and no checkpoint (this hoursd
	 * has no checkpoint key), are the two discrepancies; no form is. */
	ck_assert_int_eq(sv_verify(NULL), 1);
	ck_assert(sv_said(" rows checked against their leaves"));
	ck_assert(sv_said("log checkpoints: none stored"));
	ck_assert(sv_said("audit verify: 2 discrepancies"));
	ck_assert(!sv_said("backfill_"));
	sv_behind_the_back("UPDATE backfill_form SET classroom = 720 WHERE form_no = 'BF-0001'");
	ck_assert_int_eq(sv_verify(NULL), 1);
	ck_assert(sv_said("row: backfill_form"));
	ck_assert(sv_said("not as logged in batch"));
	ck_assert(sv_said("audit verify: 3 discrepancies"));
}
END_TEST

/*
 * A back-filled part under the national profile, met by the form alone:
 * the packet carries the back-filled rectype, its teaching log (built with
 * no terminal minute) lists the form and its totals, the signatures
 * check with openssl alone, and the student can book the subject only
 * once the part has arrived.
 */
START_TEST(test_students_backfill_national)
{
	char csv[700], pdf[800], cmd[3200];
	snprintf(csv, sizeof(csv), "%s/students.csv", work);
	write_text(csv, "student_no,school,class,enrolled_on,legacy,pre_entered_on\n"
			"S000000000000002,S001,C1,2022-09-01,yes,2023-01-10\n");
	ck_assert_int_eq(hoursctl_run("student import %s", csv), 0);
	start_policesim_national(NULL);
	ck_assert_int_eq(book("S000000000000002", 1), 100);
	start_hoursd_push(NAT_EXTRA);
	syllabus_written();
	/* No minute from a terminal: the form alone meets the part. */
	write_form("bfn", "BF-N001", "S000000000000002", 1, 0, 360, 360);
	ck_assert_int_eq(import_form("bfn"), 0);
	ck_assert_int_eq(hoursctl_run("backfill approve BF-N001 --by 'supervisor zhao'"
				      " --note 'checked against the paper form'"),
			 0);
	ck_assert_msg(
		wait_value("SELECT count(*) FROM push_packet WHERE state = $1", "done", 1, 20),
		"not delivered; see %s and %s", log_path, psim_log);
	ck_assert_int_eq(
		db_value("SELECT count(*) FROM push_packet WHERE student_no = $1"
			 " AND part = 1 AND backfilled AND profile = 'national'"
			 " AND body LIKE '%\"rectype\":9,%' AND body LIKE '%\"totaltime\":720,%'",
			 "S000000000000002", NULL),
		1);
	ck_assert_int_eq(book("S000000000000002", 1), 0);
	/* The teaching log policesim keeps names the form, its minutes and the approval. */
	snprintf(pdf, sizeof(pdf), "%s/pdf-10001.pdf", nat_dir);
	const char *txt = pdf_text(pdf);
	ck_assert_int_ge(count_lines_in(txt, "BF-N001"), 1);
	ck_assert_int_ge(count_lines_in(txt, "supervisor zhao"), 1);
	ck_assert_int_ge(count_lines_in(txt, "总学时 total 720 min"), 1);
	snprintf(cmd, sizeof(cmd),
		 "python3 %s/tests/national_sign_check.py %s/national.jsonl "
		 "%s/sign-rsa-" T2 ".crt >%s/signcheck.out 2>&1",
		 repo, nat_dir, pki, work);
	ck_assert_msg(system(cmd) == 0, "the sign= check failed: see %s/signcheck.out", work);
	ck_assert_int_eq(psim_stat("national_stages"), 1);
	stop_hoursd();
	stop_policesim();
}
END_TEST

START_TEST(test_students_readiness)
{
	char from[32], to[32], extra[200], rog[700];
	int rport = free_port();
	ck_assert_int_eq(hoursctl_run("student add S000000000000001 --school S001"
				      " --class C1 --enrolled 2026-11-01"),
			 0);
	ck_assert_int_eq(hoursctl_run("student add S000000000000002 --school S001"
				      " --class C1 --enrolled 2026-11-01"),
			 0);
	ck_assert_int_eq(hoursctl_run("schedule add S000000000000001 --coach C000000000000001"
				      " --vehicle 沪A12345 --from '%s' --to '%s'",
				      cst(time(NULL), from, 32), cst(time(NULL) + 3600, to, 32)),
			 0);
	snprintf(extra, sizeof(extra), "  readiness: \"127.0.0.1:%d\"\n", rport);
	char tail[800];
	snprintf(tail, sizeof(tail), "readiness:\n  ca: %s/ca.crt\n", pki);
	start_hoursd_tail(extra, tail);
	char out[700];
	snprintf(out, sizeof(out), "%s/pre-enter.out", work);
	/* Authenticated (a certificate of readiness.ca): yes, and no twice. */
	ck_assert_int_eq(pre_enter(rport, "term-" T2, "S000000000000001"), 0);
	ck_assert_int_eq(count_lines_in(out, "S000000000000001 pre-entered"), 1);
	ck_assert_int_eq(pre_enter(rport, "term-" T2, "S000000000000002"), 1);
	ck_assert_int_eq(count_lines_in(out, "enrolled but not scheduled"), 1);
	ck_assert_int_eq(pre_enter(rport, "term-" T2, "S000000000000003"), 1);
	ck_assert_int_eq(count_lines_in(out, "not pre-entered: not enrolled"), 1);
	/* The answer itself, a malformed question (400), another method (405). */
	static const struct {
		const char *how, *query;
		int status;
		const char *body;
	} asks[] = {
		{"", "student=S000000000000001&day=2099-01-01", 200, "\"ready\":false"},
		{"", "student=S000000000000001", 200, "\"school_code\":\"S001\""},
		{"", "student=S0001", 400, "16-character"},
		{"", "student=S000000000000001&day=tomorrow", 400, "YYYY-MM-DD"},
		{"", "student=S000000000000001&day=2024-13-45", 400, "YYYY-MM-DD"},
		/* The answer names the student asked about, whatever the headers claim. */
		{"-H 'X-Hoursd-Student: S999999999999999'", "student=S000000000000001", 200,
		 "\"student_no\":\"S000000000000001\""},
		{"-X POST", "student=S000000000000001", 405, "GET only"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(asks); i++) {
		char cmd[4096], body[700];
		snprintf(body, sizeof(body), "%s/readiness.body", work);
		snprintf(cmd, sizeof(cmd),
			 "curl -s %s -o %s -w '%%{http_code}' --cacert %s/ca.crt --cert %s/term-" T2
			 ".crt --key %s/term-" T2 ".key 'https://localhost:%d/v1/readiness?%s'",
			 asks[i].how, body, pki, pki, pki, rport, asks[i].query);
		FILE *cp = popen(cmd, "r");
		ck_assert_ptr_nonnull(cp);
		char code[16] = "";
		ck_assert_ptr_nonnull(fgets(code, sizeof(code), cp));
		pclose(cp);
		ck_assert_msg(atoi(code) == asks[i].status, "%s: %s", asks[i].query, code);
		ck_assert_msg(count_lines_in(body, asks[i].body) == 1, "%s: no %s in the answer",
			      asks[i].query, asks[i].body);
	}
	/* A client of another CA is refused in the handshake: nothing is answered. */
	ck_assert_int_eq(pre_enter(rport, "rogue-" T1, "S000000000000001"), 3);
	ck_assert_int_eq(count_lines_in(out, "pre-entered"), 0);
	/* Without a client certificate: refused too (the TLS handshake fails). */
	snprintf(rog, sizeof(rog),
		 "echo | timeout 10 openssl s_client -connect 127.0.0.1:%d -CAfile %s/ca.crt"
		 " -quiet 2>/dev/null | grep -c ready",
		 rport, pki);
	FILE *p = popen(rog, "r");
	ck_assert_ptr_nonnull(p);
	char line[64] = "";
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), p));
	pclose(p);
	ck_assert_int_eq(atoi(line), 0);
	stop_hoursd();
	ck_assert_int_eq(count_lines_with("readiness: "), 6);
}
END_TEST

TCase *tcase_students(void)
{
	TCase *tc = tcase_create("students");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, push_setup, push_teardown);
	tcase_add_test(tc, test_students_csv_import);
	tcase_add_test(tc, test_students_schedule_refuse_and_flag);
	tcase_add_test(tc, test_students_backfill);
	tcase_add_test(tc, test_students_backfill_national);
	tcase_add_test(tc, test_students_readiness);
	return tc;
}
