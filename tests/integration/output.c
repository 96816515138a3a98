/*
 * output.c - hoursctl's output for scripts: --format text|csv|json of every
 * list (common/out.h), each list's JSON parsed and checked; the one
 * time-zone rule of every command under two client zones; the tcase
 * "output".
 */
#include "harness.h"

#include <jansson.h>

/* A whole file, NUL-terminated (malloc'd). */
static char *read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	char *text = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		if (cap - n < 4096) {
			cap = 2 * cap + 4096;
			text = realloc(text, cap + 1);
			ck_assert_ptr_nonnull(text);
		}
		size_t got = fread(text + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	text[n] = '\0';
	return text;
}

/* ctl_out parsed as JSON: an array (failing the test otherwise); json_decref it. */
static json_t *json_out(const char *what)
{
	char *text = read_all(ctl_out);
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	ck_assert_msg(j != NULL, "%s --format json: not JSON (%s, line %d): %s", what, e.text,
		      e.line, text);
	ck_assert_msg(json_is_array(j), "%s --format json: not an array: %s", what, text);
	free(text);
	return j;
}

START_TEST(test_output_lists_json)
{
	/* Rows for every list: terminals, a school and its site (the template database),
	 * students, packets, a slot, a command. */
	seed_packets(2);
	ck_assert_int_eq(hoursctl_run("student add S000000000000010 --school S001"
				      " --class C1 --enrolled 2026-11-01"),
			 0);
	ck_assert_int_eq(hoursctl_run("schedule add S000000000000010 --coach C000000000000001"
				      " --vehicle 沪A12345 --from '2026-11-02 08:00' --to "
				      "'2026-11-02 10:00'"),
			 0);
	ck_assert_int_eq(hoursctl_run("terminal photo 13800000001"), 0);
	ck_assert_int_eq(hoursctl_run("coach add C000000000000001 --school S001 --name 张三"
				      " --teach C1"),
			 0);
	ck_assert_int_eq(hoursctl_run("vehicle add 沪A12345 --school S001 --class C1"), 0);
	static const struct {
		const char *cmd;
		size_t min;
		const char *key; /* a key of every object */
	} lists[] = {
		{"terminal list", 2, "number"}, {"terminal commands", 1, "command"},
		{"school list", 1, "code"},	{"site list", 1, "site"},
		{"student list", 2, "student"}, {"schedule list", 1, "student"},
		{"backfill list", 0, "form"},	{"push list", 2, "id"},
		{"coach list", 1, "coach"},	{"vehicle list", 1, "plate"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
		ck_assert_msg(hoursctl_run("%s --format json", lists[i].cmd) == 0,
			      "%s --format json failed; see %s", lists[i].cmd, ctl_err);
		json_t *a = json_out(lists[i].cmd);
		ck_assert_msg(json_array_size(a) >= lists[i].min, "%s: %zu rows, not %zu",
			      lists[i].cmd, json_array_size(a), lists[i].min);
		size_t k;
		json_t *o;
		json_array_foreach(a, k, o)
		{
			ck_assert_msg(json_is_object(o), "%s: row %zu not an object", lists[i].cmd,
				      k);
			ck_assert_msg(json_object_get(o, lists[i].key) != NULL,
				      "%s: row %zu has no \"%s\"", lists[i].cmd, k, lists[i].key);
		}
		json_decref(a);
	}
	/* Shows: one object of their parts. */
	static const struct {
		const char *cmd, *one, *rows;
	} shows[] = {
		{"student show S000000000000010", "student", "slots"},
		{"push show " PACKET, "packet", "attempts"},
		{"coach show C000000000000001", "coach", "history"},
		{"vehicle show 沪A12345", "vehicle", "history"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(shows); i++) {
		ck_assert_msg(hoursctl_run("%s --format json", shows[i].cmd) == 0,
			      "%s --format json failed; see %s", shows[i].cmd, ctl_err);
		char *text = read_all(ctl_out);
		json_error_t e;
		json_t *o = json_loads(text, 0, &e);
		ck_assert_msg(json_is_object(o), "%s --format json: not an object: %s",
			      shows[i].cmd, text);
		ck_assert_msg(json_is_object(json_object_get(o, shows[i].one)), "%s: no %s",
			      shows[i].cmd, shows[i].one);
		ck_assert_msg(json_is_array(json_object_get(o, shows[i].rows)), "%s: no %s",
			      shows[i].cmd, shows[i].rows);
		json_decref(o);
		free(text);
	}
	ck_assert_int_eq(hoursctl_run("student show S000000000000010 --format json"), 0);
	/* The student and its one slot. */
	ck_assert_int_eq(count_lines_in(ctl_out, "\"student_no\": \"S000000000000010\""), 2);
	/* Typed: numbers as numbers. */
	ck_assert_int_eq(hoursctl_run("terminal list --format json"), 0);
	json_t *a = json_out("terminal list");
	ck_assert(json_is_integer(json_object_get(json_array_get(a, 0), "positions")));
	json_decref(a);
	/* CSV: a header line of the keys, a line a row. */
	ck_assert_int_eq(hoursctl_run("push list --format csv"), 0);
	ck_assert_int_eq(count_lines_in(ctl_out, "id,student,part,state,attempts,next_attempt"), 1);
	ck_assert_int_eq(count_lines_in(ctl_out, ",S00000000000000"), 2);
	/* A format that is none of them: one line, exit 2, before the database. */
	ck_assert_int_eq(hoursctl_run("school list --format yaml"), 2);
	ck_assert_int_eq(count_lines_in(ctl_err, "--format is text, csv or json, not \"yaml\""), 1);
}
END_TEST

/*
 * One time-zone rule: a time without a zone is China Standard Time, whatever
 * the zone of the client (PGTZ) or the server; the same text gives the same
 * instant under both.
 */
START_TEST(test_output_time_zone_rule)
{
	static const char *const zones[] = {"UTC", "Asia/Shanghai"};
	const char *was = getenv("PGTZ");
	char *saved = was ? strdup(was) : NULL;
	ck_assert_int_eq(hoursctl_run("student add S000000000000010 --school S001"
				      " --class C1 --enrolled 2026-11-01"),
			 0);
	for (size_t i = 0; i < ARRAY_SIZE(zones); i++) {
		setenv("PGTZ", zones[i], 1);
		/* 0x8205's times are BCD of China time: 08:00 is 08:00, not 16:00. */
		ck_assert_int_eq(hoursctl_run("terminal fetch-records 13800000001"
					      " --from '2026-12-08 08:00' --to '2026-12-08 09:00'"),
				 0);
		ck_assert_msg(db_value("SELECT count(*) FROM terminal_command WHERE kind ="
				       " 'fetch_records' AND position('\\x261208080000'::bytea"
				       " IN data) > 0 AND position('\\x261208090000'::bytea IN"
				       " data) > 0",
				       NULL, NULL) == (long long)i + 1,
			      "PGTZ=%s: fetch-records did not ask for 08:00-09:00 China time",
			      zones[i]);
		/* The same slot, the same instant: the second run finds it there already. */
		ck_assert_int_eq(
			hoursctl_run("schedule add S000000000000010 --coach C000000000000001"
				     " --vehicle 沪A12345 --from '2026-12-08 08:00'"
				     " --to '2026-12-08 10:00'"),
			0);
		ck_assert_msg(db_value("SELECT count(*) FROM schedule_slot WHERE starts_at ="
				       " '2026-12-08 00:00:00+00' AND ends_at = '2026-12-08"
				       " 02:00:00+00'",
				       NULL, NULL) == 1,
			      "PGTZ=%s: schedule add did not read China time", zones[i]);
		/* Printed times carry their offset: the slot as entered, China time. */
		ck_assert_int_eq(hoursctl_run("schedule list --student S000000000000010"), 0);
		ck_assert_msg(
			count_lines_in(ctl_out, "2026-12-08 08:00+08 - 2026-12-08 10:00+08") == 1,
			"PGTZ=%s: the slot not listed as 08:00+08 - 10:00+08", zones[i]);
		ck_assert_int_eq(hoursctl_run("terminal list"), 0);
		ck_assert_msg(count_lines_in(ctl_out, "+08") >= 1, "PGTZ=%s: no +08 in %s",
			      zones[i], ctl_out);
	}
	ck_assert_int_eq(db_value("SELECT count(*) FROM schedule_slot", NULL, NULL), 1);
	if (saved)
		setenv("PGTZ", saved, 1);
	else
		unsetenv("PGTZ");
	free(saved);
	/* A time that is none: one line, exit 2, for findings as for every command. */
	ck_assert_int_eq(hoursctl_run("findings --from garbage"), 2);
	ck_assert_int_eq(count_lines_in(ctl_err, "hoursctl: --from: not a timestamp"), 1);
}
END_TEST

/*
 * audit checkpoints --format: the old chain's checkpoints (closed by the
 * log's migration, so stored here as a database of that time held them)
 * in text as before, in csv and in json with the whole key.
 */
START_TEST(test_output_audit_checkpoints)
{
	ck_assert_int_eq(hoursctl_run("audit checkpoints --format json"), 0);
	json_t *a = json_out("audit checkpoints");
	ck_assert_int_eq(json_array_size(a), 0);
	json_decref(a);
	PGconn *c = db_connect(test_ci);
	db_exec(c, "INSERT INTO audit_checkpoint (n, head, signed_at, key_sha256, signature)"
		   " SELECT g, sha256(g::text::bytea), '2026-11-30 16:00:00+00'::timestamptz"
		   " + g * interval '1 minute', sha256('key'::bytea), '\\x00'"
		   " FROM generate_series(1, 2) g");
	PQfinish(c);
	ck_assert_int_eq(hoursctl_run("audit checkpoints"), 0);
	ck_assert_int_eq(count_lines_in(ctl_out, "signed at (UTC)"), 1);
	ck_assert_int_eq(count_lines_in(ctl_out, "2026-11-30T16:02:00Z"), 1);
	ck_assert_int_eq(hoursctl_run("audit checkpoints --format csv"), 0);
	ck_assert_int_eq(count_lines_in(ctl_out, "n,signed_at,key,head"), 1);
	ck_assert_int_eq(count_lines_in(ctl_out, "1,2026-11-30T16:01:00Z,"), 1);
	ck_assert_int_eq(hoursctl_run("audit checkpoints --format json"), 0);
	a = json_out("audit checkpoints");
	ck_assert_int_eq(json_array_size(a), 2);
	json_t *o = json_array_get(a, 1);
	ck_assert(json_is_integer(json_object_get(o, "n")));
	ck_assert_int_eq(json_integer_value(json_object_get(o, "n")), 2);
	ck_assert_str_eq(json_string_value(json_object_get(o, "signed_at")),
			 "2026-11-30T16:02:00Z");
	/* the whole key id, not the 16 digits of the text columns */
	ck_assert_int_eq(strlen(json_string_value(json_object_get(o, "key"))), 64);
	ck_assert_int_eq(strlen(json_string_value(json_object_get(o, "head"))), 64);
	json_decref(a);
	ck_assert_int_eq(hoursctl_run("audit checkpoints --format xml"), 2);
	ck_assert_int_eq(count_lines_in(ctl_err, "--format is text, csv or json, not \"xml\""), 1);
}
END_TEST

/*
 * Bad arguments: every one a line on standard error and exit 2 (usage:
 * a bad number, date, state or quarter) or 1 (the thing named does not
 * exist), never a raw SQL error, never an empty list and exit 0.
 */
START_TEST(test_output_bad_arguments)
{
	static const struct {
		const char *cmd;
		int rc;
		const char *said;
	} bad[] = {
		{"site list NOPE", 1, "site list: no school NOPE"},
		{"student list --school NOPE", 1, "student list: no school NOPE"},
		{"coach list --school NOPE", 1, "coach list: no school NOPE"},
		{"vehicle list --school NOPE", 1, "vehicle list: no school NOPE"},
		{"findings --school NOPE", 1, "no school"},
		{"schedule list --student S999999999999999", 1,
		 "schedule list: no student S999999999999999"},
		{"terminal commands 13999999999", 1, "terminal commands: no terminal"},
		{"student show S999999999999999", 1, "no student S999999999999999"},
		{"coach show C999999999999999", 1, "no coach C999999999999999"},
		{"vehicle show 沪Z99999", 1, "no vehicle"},
		{"terminal disable 13999999999", 1, "no terminal"},
		{"terminal assign 13800000001 NOPE", 1, "no school NOPE"},
		{"school set-district NOPE 310101", 1, "no school NOPE"},
		{"schedule list --day 2026-13-45", 2, "--day"},
		{"schedule list --day tomorrow", 2, "--day"},
		{"backfill list --state lost", 2, "--state"},
		{"push list --state lost", 2, "--state"},
		{"push show not-a-uuid", 2, "a packet id is a UUID"},
		{"terminal photo 13800000001 --channel many", 2, "--channel"},
		{"terminal photo 13800000001 --size 999", 2, "--size"},
		{"terminal fetch-records 13800000001 --from '2026-12-08 08:00' --to "
		 "'2026-12-08 09:00' --count -1",
		 2, "--count"},
		{"terminal fetch-records 13800000001 --from sometime --to '2026-12-08 09:00'", 2,
		 "--from: not a timestamp"},
		{"findings --to 2026-02-30", 2, "--to: not a timestamp"},
		{"student add S000000000000031 --school S001 --class C1 --enrolled 2026-02-30", 2,
		 "enrolment date: YYYY-MM-DD expected"},
		{"report quarterly 2026Q7 --out /nonexistent", 2, "not a quarter"},
		{"findings --from '2026-07-01' --to '2026-01-01'", 2, "--to is before --from"},
		{"audit verify --from '2026-07-01' --to '2026-01-01'", 2, "--to is before --from"},
		{"recompute S999999999999999", 1, "recompute: no student S999999999999999"},
		{"explain S999999999999999", 1, "explain: no student S999999999999999"},
		{"terminal commands abc", 2, "is not a terminal number"},
		{"backfill show NOPE", 1, "no form NOPE"},
		{"push retry 00000000-0000-0000-0000-000000000000", 1, "no packet"},
		{"coach retire C999999999999999", 1, "no coach C999999999999999"},
		{"vehicle unbind 13999999999", 1, "no terminal 13999999999"},
		{"audit verify --school NOPE", 1, "no school NOPE"},

		{"audit verify --witness /dev/null", 2, "--witness needs the checkpoints' key"},
		{"role add wizard x", 2, "KIND is hoursd, auditor, district-auditor or liaison"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int rc = hoursctl_run("%s", bad[i].cmd);
		ck_assert_msg(rc == bad[i].rc, "%s: exit %d, not %d; see %s", bad[i].cmd, rc,
			      bad[i].rc, ctl_err);
		ck_assert_msg(count_lines_in(ctl_err, "") == 1, "%s: not one line: see %s",
			      bad[i].cmd, ctl_err);
		ck_assert_msg(count_lines_in(ctl_err, bad[i].said) == 1, "%s: no \"%s\" in %s",
			      bad[i].cmd, bad[i].said, ctl_err);
		ck_assert_msg(count_lines_in(ctl_err, "ERROR:") == 0, "%s: a raw SQL error",
			      bad[i].cmd);
		ck_assert_msg(count_lines_in(ctl_out, "") == 0, "%s: printed a table", bad[i].cmd);
	}
	/* With the key, a witness that cannot be read: one line, exit 1, nothing checked. */
	ck_assert_int_eq(
		hoursctl_run("audit verify --key %s/checkpoint.pub --witness /nonexistent", pki),
		1);
	ck_assert_int_eq(count_lines_in(ctl_err, ""), 1);
	ck_assert_int_eq(count_lines_in(ctl_err, "--witness /nonexistent: No such file"), 1);
	ck_assert_int_eq(count_lines_in(ctl_out, ""), 0);
	/* What exists is still listed. */
	ck_assert_int_eq(hoursctl_run("site list S001"), 0);
	ck_assert_int_eq(hoursctl_run("student list --school S001"), 0);
	ck_assert_int_eq(hoursctl_run("terminal commands 13800000001"), 0);
}
END_TEST

/* Secrets from files: the PKCS#12's password off the command line. */
START_TEST(test_output_p12_pass_file)
{
	char pass[700];
	snprintf(pass, sizeof(pass), "%s/p12-pass", work);
	write_text(pass, "123456\n");
	ck_assert_int_eq(
		hoursctl_run(
			"terminal add 13800000006 --p12 %s/term-013800000006.p12"
			" --p12-pass-file %s --terminal-no 3100000000000006 --imei 861380000000006",
			pki, pass),
		0);
	ck_assert_int_eq(db_value("SELECT count(*) FROM terminal_credential c JOIN terminal t"
				  " ON t.id = c.terminal_id WHERE t.phone = '13800000006'"
				  " AND c.password = '123456'",
				  NULL, NULL),
			 1);
	/* Both, or an empty line: a usage error in one line; a wrong password: refused. */
	ck_assert_int_eq(hoursctl_run("terminal add 13800000006 --p12 %s/term-013800000006.p12"
				      " --p12-pass 123456 --p12-pass-file %s",
				      pki, pass),
			 2);
	ck_assert_int_eq(count_lines_in(ctl_err, "--p12-pass or --p12-pass-file, not both"), 1);
	write_text(pass, "\n");
	ck_assert_int_eq(hoursctl_run("terminal add 13800000006 --p12 %s/term-013800000006.p12"
				      " --p12-pass-file %s",
				      pki, pass),
			 2);
	write_text(pass, "654321\n");
	ck_assert_int_ne(hoursctl_run("terminal add 13800000006 --p12 %s/term-013800000006.p12"
				      " --p12-pass-file %s",
				      pki, pass),
			 0);
}
END_TEST

/* Imports check classes against the published syllabus and dates against today. */
START_TEST(test_output_import_checks)
{
	char csv[700];
	start_hoursd(""); /* publishes conf/syllabus.yaml into syllabus_part */
	ck_assert(wait_value("SELECT (count(*) > 0)::int FROM syllabus_part", NULL, 1, 10));
	snprintf(csv, sizeof(csv), "%s/students.csv", work);
	write_text(csv, "student_no,school,class,enrolled_on,id_card,legacy,pre_entered_on\n"
			"S000000000000021,S001,C1,2026-11-01,,no,\n"
			"S000000000000022,S001,Z9,2026-11-01,,no,\n"
			"S000000000000023,S001,C1,2030-01-01,,no,\n"
			"S000000000000024,S001,C1,2022-01-01,,yes,2031-05-01\n");
	ck_assert_int_eq(hoursctl_run("student import %s", csv), 1);
	ck_assert_int_eq(count_lines_in(ctl_out, "1 enrolled, 0 enrolled already"), 1);
	ck_assert_int_eq(count_lines_in(ctl_err, ":3: vehicle class Z9 is not in the syllabus"), 1);
	ck_assert_int_eq(count_lines_in(ctl_err, ":4: enrolment date 2030-01-01 is after today"),
			 1);
	ck_assert_int_eq(count_lines_in(ctl_err, ":5: pre-entry date 2031-05-01 is after today"),
			 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM student WHERE student_no LIKE"
				  " 'S00000000000002_'",
				  NULL, NULL),
			 1);
	/* student add says the same, in one line, exit 2 (the date) or 1 (the class). */
	ck_assert_int_eq(hoursctl_run("student add S000000000000023 --school S001 --class C1"
				      " --enrolled 2030-01-01"),
			 2);
	ck_assert_int_eq(hoursctl_run("student add S000000000000022 --school S001 --class Z9"
				      " --enrolled 2026-11-01"),
			 1);
	ck_assert_int_eq(count_lines_in(ctl_err, "vehicle class Z9 is not in the syllabus"), 1);
}
END_TEST

TCase *tcase_output(void)
{
	TCase *tc = tcase_create("output");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, push_setup, push_teardown);
	tcase_add_test(tc, test_output_lists_json);
	tcase_add_test(tc, test_output_time_zone_rule);
	tcase_add_test(tc, test_output_p12_pass_file);
	tcase_add_test(tc, test_output_import_checks);
	tcase_add_test(tc, test_output_audit_checkpoints);
	tcase_add_test(tc, test_output_bad_arguments);
	return tc;
}
