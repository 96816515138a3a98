/*
 * registry.c - the registry the notice supervises: coaches, training
 * vehicles and their terminals, their imports and history, the checks of
 * every login under refuse and flag, the findings and the quarterly
 * report's transport side (docs/registry.md); the tcase "registry".
 *
 * The template's terminal T1 belongs to school S001; the tests add S002.
 */
#include "harness.h"

/* A lesson of one record on T1: its coach's and student's login verdicts (1 or 9). */
static void lesson(const char *coach, const char *student, int seq, long long *coach_result,
		   long long *student_result)
{
	sleep(1); /* each lesson's logins at another second than the last's */
	ck_assert_int_ge(termsim("term-" T1, T1,
				 words("--lesson 1 --coach %s --student %s --record-seq %d " PART3,
				       coach, student, seq)),
			 0);
	*coach_result = out_value("coach_login_result");
	*student_result = out_value("student_login_result");
}

/* Logins of kind for person refused with reason. */
static long long refused(const char *kind, const char *reason)
{
	return db_value("SELECT count(*) FROM session_event WHERE kind = $1 AND reason = $2", kind,
			reason);
}

/* The flags of the accepted login of kind by person. */
static bool flagged(const char *person, const char *flags)
{
	return db_value("SELECT count(*) FROM session_event WHERE person_no = $1"
			" AND verdict = 'accepted' AND flags = $2",
			person, flags) >= 1;
}

static void ctl_ok(const char *line)
{
	ck_assert_msg(hoursctl_run("%s", line) == 0, "hoursctl %s failed", line);
}

/* Two schools, a student of S001 in C1. */
static void schools_and_student(void)
{
	ctl_ok("school add S002 'Second school'");
	ctl_ok("student add S000000000000001 --school S001 --class C1 --enrolled 2026-11-01");
}

START_TEST(test_registry_imports)
{
	char csv[700], text[2000];
	ctl_ok("school add S002 'Second school'");
	snprintf(csv, sizeof(csv), "%s/coaches.csv", work);
	/* A BOM, good rows, and each kind of bad one; line 6 is GBK. */
	snprintf(text, sizeof(text),
		 "\xEF\xBB\xBF"
		 "coach_no,school,name,teach_classes,id_card,hired_on,left_on\n"
		 "C000000000000001,S001,王五,C1 C2,11010519491231002X,2020-01-01,\n"
		 "C00000000000002,S001,bad number,C1,,,\n"
		 "C000000000000003,S999,no school,C1,,,\n"
		 "C000000000000004,S001,bad class,Q99,,,\n"
		 "C000000000000005,S001,\xcd\xf5\xce\xe5,C1,,,\n"
		 "C000000000000006,S001,left early,C1,,2021-01-01,2020-01-01\n"
		 "C000000000000007,S002,赵六,C1,,2019-05-01,\n");
	write_text(csv, text);
	ck_assert_int_eq(hoursctl_run("coach import %s", csv), 1);
	ck_assert_int_eq(count_lines_in(ctl_err, "coaches.csv:3: coach number"), 1);
	ck_assert_int_eq(count_lines_in(ctl_err, "coaches.csv:4: no school S999"), 1);
	ck_assert_int_eq(count_lines_in(ctl_err, "coaches.csv:5: classes taught"), 1);
	ck_assert_int_eq(count_lines_in(ctl_err, "coaches.csv:6: byte"), 1);
	ck_assert_int_eq(count_lines_in(ctl_err, "coaches.csv:7: leave date 2020-01-01 is before"),
			 1);
	ck_assert_int_eq(count_lines_in(ctl_out, "2 registered or changed, 0 unchanged, 5 refused"),
			 1);
	/* Again: nothing changes. */
	ck_assert_int_eq(hoursctl_run("coach import %s", csv), 1);
	ck_assert_int_eq(count_lines_in(ctl_out, "0 registered or changed, 2 unchanged, 5 refused"),
			 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM coach", NULL, NULL), 2);
	ck_assert_int_eq(db_value("SELECT count(*) FROM registry_change", NULL, NULL), 2);
	/* The identity card: its digest, never in clear in the output. */
	ck_assert_int_eq(hoursctl_run("coach show C000000000000001"), 0);
	ck_assert_int_eq(count_lines_in(ctl_out, SPECIMEN_ID_SHA256), 1);
	ck_assert_int_eq(count_lines_in(ctl_out, "11010519491231002X"), 0);
	/* A move to another school, with its history. */
	ctl_ok("coach add C000000000000001 --school S002 --name 王五 --teach 'C1 C2'"
	       " --hired 2020-01-01");
	ck_assert_int_eq(count_lines_in(ctl_out, "moved"), 1);
	ck_assert_int_eq(hoursctl_run("coach show C000000000000001"), 0);
	ck_assert_int_eq(count_lines_in(ctl_out, "added    school S001"), 1);
	ck_assert_int_eq(count_lines_in(ctl_out, "moved    school S002"), 1);
	ck_assert_int_eq(hoursctl_run("coach add C000000000000009 --school S001 --name x"), 2);
	ck_assert_int_eq(hoursctl_run("coach list --school S002"), 0);
	ck_assert_int_eq(count_lines_in(ctl_out, "C00000000000000"), 2);

	/* Vehicles, with the terminal bound on import. */
	snprintf(csv, sizeof(csv), "%s/vehicles.csv", work);
	write_text(csv,
		   "plate,school,class,vehicle_no,plate_color,frame_no,engine_no,make,model,"
		   "bought_on,terminal\n"
		   "沪A12345,S001,C1,V000000000000001,蓝,LSVAB1234,E123,大众,捷达,2022-03-01," T1
		   "\n"
		   "沪A12346,S001,C1,,蓝,,,,,,\n"
		   "沪A12347,S001,X99,,,,,,,,\n"
		   "沪A12348,S001,C1,,,,,,,2022-13-01,\n"
		   "沪A12349,S001,C1,,,,,,,," T3 "\n");
	ck_assert_int_eq(hoursctl_run("vehicle import %s", csv), 1);
	ck_assert_int_eq(count_lines_in(ctl_err, "vehicles.csv:4: training class"), 1);
	ck_assert_int_eq(count_lines_in(ctl_err, "vehicles.csv:5: purchase date"), 1);
	ck_assert_int_eq(count_lines_in(ctl_err, "vehicles.csv:6: no terminal"), 1);
	ck_assert_int_eq(hoursctl_run("vehicle import %s", csv), 1);
	ck_assert_int_eq(count_lines_in(ctl_out, "0 registered or changed, 2 unchanged, 3 refused"),
			 1);
	/* The terminal moves to another vehicle: one at a time, the history kept. */
	ctl_ok("vehicle bind 沪A12346 " T1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM terminal_binding WHERE unbound_at IS NULL",
				  NULL, NULL),
			 1);
	ck_assert_int_eq(hoursctl_run("vehicle show 沪A12345"), 0);
	ck_assert_int_eq(count_lines_in(ctl_out, " until "), 1);
	ctl_ok("vehicle unbind " T1);
	ck_assert_int_eq(hoursctl_run("vehicle unbind " T1), 1);
	ck_assert_int_eq(count_lines_in(ctl_err, "bound to no vehicle"), 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM terminal_binding", NULL, NULL), 2);
	ctl_ok("vehicle retire 沪A12346");
	ck_assert_int_eq(hoursctl_run("vehicle add 沪A12346 --school S001 --class C1"), 1);
	ck_assert_int_eq(count_lines_in(ctl_err, "is retired"), 1);
}
END_TEST

/* The shipped defaults: every check refuses; each login below fails exactly one. */
START_TEST(test_registry_logins_refused)
{
	long long c, s;
	registry_rules = "";
	schools_and_student();
	ctl_ok("coach add C000000000000002 --school S001 --name retired --teach C1");
	ctl_ok("coach retire C000000000000002");
	ctl_ok("coach add C000000000000003 --school S002 --name other --teach C1");
	ctl_ok("coach add C000000000000004 --school S001 --name c2only --teach C2");
	ctl_ok("coach add C000000000000005 --school S001 --name good --teach 'C1 C2'");
	ctl_ok("vehicle add 沪B00001 --school S001 --class C2");
	ctl_ok("vehicle add 沪B00002 --school S002 --class C1");
	ctl_ok("vehicle add 沪B00003 --school S001 --class C1");
	ctl_ok("vehicle add 沪B00004 --school S001 --class C1");
	start_hoursd(NULL);
	lesson("C000000000000001", "S000000000000001", 100, &c, &s);
	ck_assert_int_eq(c, 9);
	ck_assert_int_eq(refused("coach_login", "coach_not_registered"), 1);
	lesson("C000000000000002", "S000000000000001", 200, &c, &s);
	ck_assert_int_eq(c, 9);
	ck_assert_int_eq(refused("coach_login", "coach_retired"), 1);
	lesson("C000000000000003", "S000000000000001", 300, &c, &s);
	ck_assert_int_eq(c, 9);
	ck_assert_int_eq(refused("coach_login", "coach_other_school"), 1);
	lesson("C000000000000004", "S000000000000001", 400, &c, &s);
	ck_assert_int_eq(c, 1);
	ck_assert_int_eq(s, 9);
	ck_assert_int_eq(refused("student_login", "coach_class_not_allowed"), 1);
	/* The records of the lessons whose login was refused: no session. */
	ck_assert_int_eq(records_of(T1, "rejected", "no_session"), 4);
	lesson("C000000000000005", "S000000000000001", 500, &c, &s);
	ck_assert_int_eq(s, 9);
	ck_assert_int_eq(refused("student_login", "terminal_not_bound"), 1);
	ctl_ok("vehicle bind 沪B00001 " T1);
	lesson("C000000000000005", "S000000000000001", 600, &c, &s);
	ck_assert_int_eq(s, 9);
	ck_assert_int_eq(refused("student_login", "vehicle_other_class"), 1);
	ctl_ok("vehicle bind 沪B00002 " T1);
	lesson("C000000000000005", "S000000000000001", 700, &c, &s);
	ck_assert_int_eq(s, 9);
	ck_assert_int_eq(refused("student_login", "vehicle_other_school"), 1);
	ctl_ok("vehicle bind 沪B00003 " T1);
	ctl_ok("vehicle retire 沪B00003");
	lesson("C000000000000005", "S000000000000001", 800, &c, &s);
	ck_assert_int_eq(s, 9);
	ck_assert_int_eq(refused("student_login", "vehicle_not_registered"), 1);
	/* All in order: taken, its minute accepted. */
	ctl_ok("vehicle bind 沪B00004 " T1);
	lesson("C000000000000005", "S000000000000001", 900, &c, &s);
	ck_assert_int_eq(c, 1);
	ck_assert_int_eq(s, 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM session_event WHERE verdict = 'accepted'"
				  " AND kind LIKE '%login' AND flags IS NOT NULL",
				  NULL, NULL),
			 0);
	ck_assert_int_eq(records_of(T1, "accepted", NULL), 1);
	/* Counted by reason, the one enum's names. */
	static char page[65536];
	admin_get("/metrics", page, sizeof(page));
	ck_assert_int_eq(metric(page, "hoursd_logins_refused_total{reason=\"coach_retired\"}"), 1);
	ck_assert_int_eq(
		metric(page, "hoursd_logins_refused_total{reason=\"vehicle_other_class\"}"), 1);
	ck_assert_int_eq(metric(page, "hoursd_logins_flagged_total{reason=\"coach_retired\"}"), 0);
	stop_hoursd();
}
END_TEST

/* flag for every check: the logins are taken, each failed check named in flags. */
START_TEST(test_registry_logins_flagged)
{
	long long c, s;
	schools_and_student();
	start_hoursd(NULL);
	/* Nothing registered: the coach, and the terminal bound to no vehicle. */
	lesson("C000000000000001", "S000000000000001", 100, &c, &s);
	ck_assert_int_eq(c, 1);
	ck_assert_int_eq(s, 1);
	ck_assert(flagged("C000000000000001", "coach_not_registered"));
	ck_assert(flagged("S000000000000001", "terminal_not_bound"));
	ck_assert_int_eq(records_of(T1, "accepted", NULL), 1);
	/* A retired coach of S002 teaching C2 only, in a retired C2 vehicle of S002. */
	ctl_ok("coach add C000000000000002 --school S002 --name x --teach C2");
	ctl_ok("coach retire C000000000000002");
	ctl_ok("vehicle add 沪B00002 --school S002 --class C2 --terminal " T1);
	ctl_ok("vehicle retire 沪B00002");
	lesson("C000000000000002", "S000000000000001", 200, &c, &s);
	ck_assert_int_eq(c, 1);
	ck_assert_int_eq(s, 1);
	ck_assert(flagged("C000000000000002", "coach_retired,coach_other_school"));
	ck_assert(flagged("S000000000000001", "coach_other_school,coach_class_not_allowed,"
					      "vehicle_not_registered,vehicle_other_school,"
					      "vehicle_other_class"));
	static char page[65536];
	admin_get("/metrics", page, sizeof(page));
	ck_assert_int_eq(metric(page, "hoursd_logins_flagged_total{reason=\"coach_other_school\"}"),
			 2);
	ck_assert_int_eq(metric(page, "hoursd_logins_flagged_total{reason=\"terminal_not_bound\"}"),
			 1);
	stop_hoursd();
}
END_TEST

/* One check refused, the others flagged: rules.<name> is per check. */
START_TEST(test_registry_logins_mixed)
{
	long long c, s;
	registry_rules = "  coach_not_registered: flag\n";
	schools_and_student();
	start_hoursd(NULL);
	lesson("C000000000000001", "S000000000000001", 100, &c, &s);
	ck_assert_int_eq(c, 1);
	ck_assert_int_eq(s, 9);
	ck_assert(flagged("C000000000000001", "coach_not_registered"));
	ck_assert_int_eq(refused("student_login", "terminal_not_bound"), 1);
	stop_hoursd();
}
END_TEST

/* n accepted C1 vehicle minutes of a coach on a terminal from at, at one place. */
static void recs(PGconn *c, const char *term, const char *prefix, const char *at, int n,
		 const char *coach, int lat_e6, int lon_e6)
{
	char sql[2000];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO training_record (terminal_id, record_no, record_time, student_no,"
		 " coach_no, class_id, course_code, part, mode, vehicle_class, upload_type,"
		 " record_status, max_speed_dkmh, mileage_dkm, lat_e6, lon_e6, fix_valid,"
		 " verdict, raw, raw_sha256)"
		 " SELECT t.id, '%s' || lpad(g::text, 4, '0'),"
		 " '%s'::timestamptz + g * interval '1 minute', 'S000000000000001', '%s', 1,"
		 " '1213010000', 3, 1, 'C1', 1, 0, 300, 5, %d, %d, true, 'accepted', '\\x00',"
		 " sha256(convert_to('%s' || g, 'UTF8'))"
		 " FROM terminal t, generate_series(0, %d) g WHERE t.phone = ltrim('%s', '0')",
		 prefix, at, coach, lat_e6, lon_e6, prefix, n - 1, term);
	db_exec(c, sql);
}

/* Lines of the last hoursctl's stdout holding needle. */
static int out_lines(const char *needle)
{
	return count_lines_in(ctl_out, needle);
}

/*
 * The new findings, each with data that shows it and data that must not,
 * and the quarterly report's transport side counted against the data.
 */
START_TEST(test_registry_findings_and_report)
{
	char dir[600];
	schools_and_student();
	ctl_ok("school add S001 'Sample driving school'");
	/* Coaches of S001 in 2026Q3: one left mid-quarter, one joined, one there all along
	 * (teaching C2 only), one gone before it. */
	ctl_ok("coach add CR00000000000001 --school S001 --name left --teach C1"
	       " --hired 2020-01-01 --left 2026-08-15");
	ctl_ok("coach add CR00000000000002 --school S001 --name joined --teach C1"
	       " --hired 2026-07-10");
	ctl_ok("coach add CR00000000000003 --school S001 --name c2only --teach C2"
	       " --hired 2019-01-01");
	ctl_ok("coach add CR00000000000004 --school S001 --name gone --teach C1"
	       " --hired 2019-01-01 --left 2025-12-31");
	/* Vehicles: T1 bound (silent since August), T2 bound and heard of now, one without. */
	ctl_ok("vehicle add 沪R00001 --school S001 --class C1 --terminal " T1);
	ctl_ok("vehicle add 沪R00002 --school S001 --class C1");
	ctl_ok("vehicle add 沪R00003 --school S001 --class C1 --terminal " T2);
	ctl_ok("vehicle add 沪R00004 --school S002 --class C1 --terminal " T6);
	ctl_ok("vehicle retire 沪R00004");
	PGconn *c = db_connect(test_ci);
	db_exec(c, "INSERT INTO position (terminal_id, fix_time, lat_e6, lon_e6, altitude_m,"
		   " speed_dkmh, direction, alarm, status, fix_valid)"
		   " SELECT id, now(), 31230000, 121470000, 0, 0, 0, 0, 0, true FROM terminal"
		   " WHERE phone = ltrim('" T2 "', '0')");
	/* CR1 before (must not) and after (must) the leave date; CR2 in its class (must not). */
	recs(c, T1, "L1B-", "2026-08-10 09:00+08", 5, "CR00000000000001", 31230000, 121470000);
	recs(c, T1, "L1A-", "2026-08-20 09:00+08", 4, "CR00000000000001", 31230000, 121470000);
	recs(c, T1, "J2A-", "2026-08-11 09:00+08", 3, "CR00000000000002", 31230000, 121470000);
	/* CR2 in Shanghai on T1, two minutes later on T2 in Beijing: impossible travel. */
	recs(c, T2, "J2B-", "2026-08-11 09:04+08", 2, "CR00000000000002", 39900000, 116400000);
	/* CR3 teaches C2 only: its C1 minutes are a finding; on T1 and T2 in one minute. */
	recs(c, T1, "C3A-", "2026-09-01 10:00+08", 2, "CR00000000000003", 31230000, 121470000);
	recs(c, T2, "C3B-", "2026-09-01 10:00+08", 1, "CR00000000000003", 31230000, 121470000);
	PQfinish(c);

	ck_assert_int_eq(hoursctl_run("findings --format csv"), 0);
	ck_assert_int_eq(out_lines("coach_not_allowed,S001,coach CR00000000000001"), 1);
	ck_assert_int_eq(out_lines("after the leave date 2026-08-15"), 1);
	ck_assert_int_eq(out_lines("coach_not_allowed,S001,coach CR00000000000002"), 0);
	ck_assert_int_eq(out_lines("coach_not_allowed,S001,coach CR00000000000003"), 1);
	ck_assert_int_eq(out_lines("vehicle_without_terminal,S001,vehicle 沪R00002"), 1);
	ck_assert_int_eq(out_lines("vehicle_without_terminal,S001,vehicle 沪R00001"), 0);
	ck_assert_int_eq(out_lines("vehicle_without_terminal,S002,vehicle 沪R00004"), 0);
	ck_assert_int_eq(out_lines("impossible_travel,S001,coach CR00000000000002"), 1);
	ck_assert_int_eq(out_lines("impossible_travel,S001,coach CR00000000000001"), 0);
	ck_assert_int_eq(out_lines("impossible_travel,S001,coach CR00000000000003"), 0);
	ck_assert_int_eq(out_lines("coach_two_places,S001,coach CR00000000000003"), 1);
	ck_assert_int_eq(out_lines("coach_two_places,S001,coach CR00000000000002"), 0);
	ck_assert_int_eq(out_lines("terminal_silent,S001,terminal 13800000001"), 1);
	ck_assert_int_eq(out_lines("terminal_silent,S001,terminal 13800000002"), 0);

	snprintf(dir, sizeof(dir), "%s/report", work);
	ck_assert_int_eq(hoursctl_run("report quarterly 2026Q3 --out %s", dir), 0);
	char csv[700];
	snprintf(csv, sizeof(csv), "%s/supervision-2026Q3.csv", dir);
	/* 3 coaches (CR4 left before the quarter), 3 vehicles (the retired one is S002's),
	 * 1 ground; active 1, joined 1, left 1, not registered 0; with a terminal 1,
	 * silent 1, without 1. */
	ck_assert_int_eq(count_lines_in(csv, "S001,Sample driving school,3,3,1,"), 1);
	ck_assert_int_eq(count_lines_in(csv, ",1,1,1,0,1,1,1"), 1);
	ck_assert_int_eq(count_lines_in(csv, "vehicles_without_terminal"), 1);
	snprintf(csv, sizeof(csv), "%s/supervision-2026Q3.json", dir);
	ck_assert_int_eq(count_lines_in(csv, "\"id\": \"CR00000000000004\""), 0);
	ck_assert_int_eq(count_lines_in(csv, "\"state\": \"joined\""), 1);
	ck_assert_int_eq(count_lines_in(csv, "\"minutes\": 9"), 1); /* CR1: 5 + 4 */
	snprintf(csv, sizeof(csv), "%s/supervision-2026Q3.html", dir);
	ck_assert_int_eq(count_lines_in(csv, "<td>CR00000000000002</td>"), 1);
	ck_assert_int_eq(count_lines_in(csv, "<h3>Training vehicles (3)</h3>"), 1);
}
END_TEST

/* Found as a new user: a slot over 24 hours said per row; the syllabus's confirmed flag. */
START_TEST(test_registry_slots_and_syllabus_flag)
{
	char csv[700];
	schools_and_student();
	snprintf(csv, sizeof(csv), "%s/slots.csv", work);
	write_text(
		csv,
		"student_no,coach_no,plate,starts_at,ends_at\n"
		"S000000000000001,C000000000000001,沪A12345,2026-11-02 08:00,2026-11-03 09:00\n"
		"S000000000000001,C000000000000001,沪A12345,2026-11-02 08:00,2026-11-02 10:00\n");
	ck_assert_int_eq(hoursctl_run("schedule import %s", csv), 1);
	ck_assert_int_eq(count_lines_in(ctl_err, "slots.csv:2: the slot is longer than 24 hours"),
			 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM schedule_slot", NULL, NULL), 1);
	ck_assert_int_eq(hoursctl_run("schedule add S000000000000001 --coach C000000000000001"
				      " --vehicle 沪A12345 --from '2026-11-04 08:00'"
				      " --to '2026-11-05 08:01'"),
			 2);
	ck_assert_int_eq(count_lines_in(ctl_err, "longer than 24 hours"), 1);
	/* Exactly 24 hours is a slot. */
	ck_assert_int_eq(hoursctl_run("schedule add S000000000000001 --coach C000000000000001"
				      " --vehicle 沪A12345 --from '2026-11-04 08:00'"
				      " --to '2026-11-05 08:00'"),
			 0);
	/* The slot's coach and vehicle, when registered: the student's school's, not retired. */
	ctl_ok("coach add C000000000000002 --school S002 --name other --teach C1");
	ck_assert_int_eq(hoursctl_run("schedule add S000000000000001 --coach C000000000000002"
				      " --vehicle 沪A12345 --from '2026-11-06 08:00'"
				      " --to '2026-11-06 10:00'"),
			 1);
	ck_assert_int_eq(count_lines_in(ctl_err, "works for another school"), 1);
	ctl_ok("vehicle add 沪A99999 --school S001 --class C1");
	ctl_ok("vehicle retire 沪A99999");
	write_text(
		csv,
		"student_no,coach_no,plate,starts_at,ends_at\n"
		"S000000000000001,C000000000000001,沪A99999,2026-11-07 08:00,2026-11-07 10:00\n"
		"S000000000000001,C000000000000001,沪A12345,2026-11-07 08:00,2026-11-07 10:00\n");
	ck_assert_int_eq(hoursctl_run("schedule import %s", csv), 1);
	ck_assert_int_eq(count_lines_in(ctl_err, "slots.csv:2: vehicle 沪A99999 is retired"), 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM schedule_slot", NULL, NULL), 3);
	/* The shipped syllabus marks classes confirmed: false: said at load, kept for auditors. */
	start_hoursd(NULL);
	ck_assert(wait_value("SELECT (count(*) > 0)::int FROM syllabus_part WHERE NOT confirmed"
			     " AND vehicle_class = $1",
			     "C1", 1, 15));
	ck_assert(log_has("classes marked confirmed: false"));
	ck_assert(log_has(" C1 C2 "));
	stop_hoursd();
}
END_TEST

TCase *tcase_registry(void)
{
	TCase *tc = tcase_create("registry");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_registry_imports);
	tcase_add_test(tc, test_registry_logins_refused);
	tcase_add_test(tc, test_registry_logins_flagged);
	tcase_add_test(tc, test_registry_logins_mixed);
	tcase_add_test(tc, test_registry_findings_and_report);
	tcase_add_test(tc, test_registry_slots_and_syllabus_flag);
	return tc;
}
