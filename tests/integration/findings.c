/*
 * findings.c - findings and the quarterly report (docs/audit.md,
 * "Findings"); the tcase "findings".
 */
#include "harness.h"

#include <jansson.h>
#include <stdarg.h>

/*
 * Rows put straight into the test's database, as hoursd would have stored
 * them: t_rec(terminal, record-number prefix, first minute, count,
 * student, coach, course, ingest's reason (NULL: accepted, and judged
 * with judge), the student login it belongs to, upload type, extension
 * properties, GNSS skew in seconds); t_lesson(terminal, student, coach,
 * login, logout).
 */
static const char findings_fixtures[] =
	"CREATE FUNCTION t_rec(term text, prefix text, start timestamptz, n int, student text,"
	" coach text, course text DEFAULT '1213010000', why text DEFAULT NULL,"
	" login timestamptz DEFAULT NULL, up int DEFAULT 1, props int DEFAULT 34,"
	" skew int DEFAULT 0, judge text DEFAULT NULL) RETURNS void LANGUAGE sql AS $$"
	" INSERT INTO training_record (terminal_id, record_no, record_time, student_no, coach_no,"
	"  class_id, course_code, part, mode, vehicle_class, upload_type, record_status,"
	"  max_speed_dkmh, mileage_dkm, lat_e6, lon_e6, fix_valid, gnss_time, session_login_at,"
	"  verdict, reason, raw, raw_sha256)"
	" SELECT t.id, prefix || lpad(g::text, 4, '0'), start + g * interval '1 minute', student,"
	"  coach, 1, course, substr(course, 4, 1)::smallint, substr(course, 1, 1)::smallint, 'C1',"
	"  up, 0, 300, 5, 31230000 + g, 121470000, true,"
	"  start + g * interval '1 minute' + skew * interval '1 second', login,"
	"  CASE WHEN why IS NULL THEN 'accepted' ELSE 'rejected' END, why,"
	"  decode('13020300' || lpad(to_hex(props), 2, '0') || lpad(to_hex(g % 256), 2, '0'), 'hex'),"
	"  sha256(convert_to(prefix || g, 'UTF8'))"
	"  FROM terminal t, generate_series(0, n - 1) g WHERE t.phone = ltrim(term, '0');"
	" INSERT INTO record_judgement (terminal_id, record_no, reason, queued_at)"
	" SELECT t.id, prefix || lpad(g::text, 4, '0'), judge, now()"
	"  FROM terminal t, generate_series(0, n - 1) g"
	" WHERE t.phone = ltrim(term, '0') AND why IS NULL $$;"
	"CREATE FUNCTION t_lesson(term text, student text, coach text, login timestamptz,"
	" logout timestamptz, minutes int) RETURNS void LANGUAGE sql AS $$"
	" INSERT INTO session_event (terminal_id, kind, event_time, person_no, coach_no, class_id,"
	"  course_code, minutes, lat_e6, lon_e6, fix_valid, verdict, ext_serial, raw)"
	" SELECT t.id, k.kind, k.at, student, coach, 1, '1213010000', k.minutes, 31230000,"
	"  121470000, true, 'accepted', 1, '\\x00'::bytea"
	"  FROM terminal t, (VALUES ('student_login', login, NULL::int),"
	"   ('student_logout', logout, minutes)) k(kind, at, minutes)"
	" WHERE t.phone = ltrim(term, '0') $$;";

/* SQL of the test's own on its database (several statements, any result). */
static void fsql(const char *fmt, ...) PRINTF(1, 2);
static void fsql(const char *fmt, ...)
{
	char sql[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	PGconn *c = db_connect(test_ci);
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	ck_assert_msg(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", sql,
		      PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

static void findings_setup(void)
{
	setup();
	fsql("%s", findings_fixtures);
}

/* hoursctl [-c conf] findings ARGS --format json: the findings array (owned by the caller). */
static json_t *findings_of(bool conf, const char *args)
{
	ck_assert_int_eq(hoursctl_run("%s%s findings --format json %s", conf ? "-c " : "",
				      conf ? conf_path : "", args ? args : ""),
			 0);
	json_error_t e;
	json_t *doc = json_load_file(ctl_out, 0, &e);
	ck_assert_msg(doc != NULL, "%s: %s", ctl_out, e.text);
	json_t *all = json_incref(json_object_get(doc, "findings"));
	json_decref(doc);
	ck_assert(json_is_array(all));
	return all;
}

/* The finding of kind whose subject contains who, or NULL (fails if two). */
static const json_t *finding(const json_t *all, const char *kind, const char *who)
{
	const json_t *found = NULL, *o;
	size_t i;
	json_array_foreach(all, i, o)
	{
		if (strcmp(json_string_value(json_object_get(o, "finding")), kind) == 0 &&
		    strstr(json_string_value(json_object_get(o, "subject")), who)) {
			ck_assert_msg(found == NULL, "two %s findings for %s", kind, who);
			found = o;
		}
	}
	return found;
}

static long measure_of(const json_t *f)
{
	ck_assert_ptr_nonnull(f);
	return strtol(json_string_value(json_object_get(f, "measure")), NULL, 10);
}

/* How many evidence rows of f come from table. */
static size_t evidence_from(const json_t *f, const char *table)
{
	size_t i, n = 0;
	const json_t *e;
	ck_assert_ptr_nonnull(f);
	json_array_foreach(json_object_get(f, "evidence"), i, e) n +=
		strcmp(json_string_value(json_object_get(e, "table")), table) == 0;
	return n;
}

/* Write text into WORK/name; its path into path. */
static void write_work_file(const char *name, const char *text, char *path, size_t len)
{
	snprintf(path, len, "%s/%s", work, name);
	write_text(path, text);
}

/* Lines of a file holding needle, or -1 when it cannot be read. */
static int lines_in(const char *dir, const char *name, const char *needle)
{
	char path[800];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, R_OK) == 0 ? count_lines_in(path, needle) : -1;
}

START_TEST(test_finding_minutes_missing)
{
	/* A whole lesson (30 records between login and logout) and one 21 minutes short. */
	fsql("SELECT t_lesson('" T1 "', 'SFULL00000000001', 'CFIND00000000001',"
	     " '2026-11-02 09:59+08', '2026-11-02 10:29:30+08', 30);"
	     "SELECT t_rec('" T1 "', 'FULL', '2026-11-02 10:00+08', 30, 'SFULL00000000001',"
	     " 'CFIND00000000001', login => '2026-11-02 09:59+08');"
	     "SELECT t_lesson('" T1 "', 'SSHORT0000000001', 'CFIND00000000001',"
	     " '2026-11-02 10:59+08', '2026-11-02 11:40:30+08', 41);"
	     "SELECT t_rec('" T1 "', 'SHRT', '2026-11-02 11:00+08', 20, 'SSHORT0000000001',"
	     " 'CFIND00000000001', login => '2026-11-02 10:59+08');");
	json_t *all = findings_of(false, NULL);
	ck_assert_ptr_null(finding(all, "minutes_missing", "SFULL00000000001"));
	const json_t *f = finding(all, "minutes_missing", "SSHORT0000000001");
	ck_assert_int_eq(measure_of(f), 21);
	ck_assert_str_eq(json_string_value(json_object_get(f, "school")), "S001");
	ck_assert_uint_eq(evidence_from(f, "session_event"), 2);
	ck_assert_uint_eq(evidence_from(f, "training_record"), 1);
	json_decref(all);
	/* The threshold is the configuration's: 30 missing minutes hides it. */
	write_config_tail(NULL, "findings:\n  missing_minutes: 30\n");
	all = findings_of(true, NULL);
	ck_assert_ptr_null(finding(all, "minutes_missing", "SSHORT0000000001"));
	json_decref(all);
}
END_TEST

START_TEST(test_finding_content_reduced)
{
	/* C1 part 3: 10 minutes, subjects 01 and 02.  A covers both, B only 01, C is not met. */
	fsql("INSERT INTO syllabus_part (vehicle_class, part, required_minutes, on_site, syllabus)"
	     " VALUES ('C1', 3, 10, false, 'test')"
	     " ON CONFLICT (vehicle_class, part) DO UPDATE SET required_minutes = 10;"
	     "INSERT INTO syllabus_subject VALUES ('C1', 3, 1, 'road start'), ('C1', 3, 2, 'lane change');"
	     "SELECT t_rec('" T1 "', 'CA1-', '2026-11-03 09:00+08', 5, 'SCONTA0000000001',"
	     " 'CFIND00000000001', '1213010000');"
	     "SELECT t_rec('" T1 "', 'CA2-', '2026-11-03 09:10+08', 5, 'SCONTA0000000001',"
	     " 'CFIND00000000001', '1213020000');"
	     "SELECT t_rec('" T1 "', 'CB1-', '2026-11-03 10:00+08', 10, 'SCONTB0000000001',"
	     " 'CFIND00000000001', '1213010000');"
	     "SELECT t_rec('" T1 "', 'CC1-', '2026-11-03 11:00+08', 5, 'SCONTC0000000001',"
	     " 'CFIND00000000001', '1213010000');"
	     "INSERT INTO progress (student_no, part, vehicle_class, vehicle, records, last_minute)"
	     " VALUES ('SCONTA0000000001', 3, 'C1', 10, 10, '2026-11-03 09:14+08'),"
	     " ('SCONTB0000000001', 3, 'C1', 10, 10, '2026-11-03 10:09+08'),"
	     " ('SCONTC0000000001', 3, 'C1', 5, 5, '2026-11-03 11:04+08');");
	json_t *all = findings_of(false, NULL);
	ck_assert_ptr_null(finding(all, "content_reduced", "SCONTA0000000001"));
	ck_assert_ptr_null(finding(all, "content_reduced", "SCONTC0000000001"));
	const json_t *f = finding(all, "content_reduced", "SCONTB0000000001");
	ck_assert_int_eq(measure_of(f), 1);
	ck_assert_ptr_nonnull(
		strstr(json_string_value(json_object_get(f, "detail")), "subject 02 lane change"));
	ck_assert_uint_eq(evidence_from(f, "record_verdict"), 1);
	json_decref(all);
}
END_TEST

START_TEST(test_finding_tampered_terminal_and_vendor)
{
	/* T1 (vendor Acme): 2 bad signatures, a reused number, a GNSS time 5 minutes off;
	 * T6 (vendor Good): clean records and a GNSS time 30 s off (under 120 s). */
	fsql("UPDATE terminal SET vendor = 'Acme' WHERE phone = ltrim('" T1 "', '0');"
	     "UPDATE terminal SET vendor = 'Good' WHERE phone = ltrim('" T6 "', '0');"
	     "SELECT t_rec('" T1 "', 'OK--', '2026-11-04 09:00+08', 10, 'STAMP00000000001',"
	     " 'CFIND00000000001');"
	     "SELECT t_rec('" T1 "', 'BAD-', '2026-11-04 09:10+08', 2, 'STAMP00000000001',"
	     " 'CFIND00000000001', why => 'bad_signature');"
	     "SELECT t_rec('" T1 "', 'SKW-', '2026-11-04 09:12+08', 1, 'STAMP00000000001',"
	     " 'CFIND00000000001', skew => 300);"
	     "INSERT INTO training_record_conflict (terminal_id, record_no, raw, raw_sha256)"
	     " SELECT id, 'OK--0001', '\\x01', sha256('\\x01') FROM terminal"
	     " WHERE phone = ltrim('" T1 "', '0');"
	     "SELECT t_rec('" T6 "', 'GOOD', '2026-11-04 09:00+08', 10, 'STAMP00000000002',"
	     " 'CFIND00000000002');"
	     "SELECT t_rec('" T6 "', 'GSKW', '2026-11-04 09:10+08', 1, 'STAMP00000000002',"
	     " 'CFIND00000000002', skew => 30);");
	json_t *all = findings_of(false, NULL);
	const json_t *f = finding(all, "tampered_terminal", "13800000001");
	ck_assert_int_eq(measure_of(f), 4);
	ck_assert_uint_eq(evidence_from(f, "training_record"), 3);
	ck_assert_uint_eq(evidence_from(f, "training_record_conflict"), 1);
	ck_assert_ptr_null(finding(all, "tampered_terminal", "13800000006"));
	ck_assert_int_eq(measure_of(finding(all, "tampered_vendor", "vendor Acme")), 4);
	ck_assert_ptr_null(finding(all, "tampered_vendor", "vendor Good"));
	json_decref(all);
	/* A clock_skew_s of 20 makes T6's 30 s a finding too. */
	write_config_tail(NULL, "findings:\n  clock_skew_s: 20\n");
	all = findings_of(true, NULL);
	ck_assert_int_eq(measure_of(finding(all, "tampered_vendor", "vendor Good")), 1);
	json_decref(all);
}
END_TEST

START_TEST(test_finding_off_site)
{
	/* Coach 1: 3 minutes outside S001's site; coach 2: on the site only. */
	fsql("SELECT t_rec('" T1 "', 'OFF-', '2026-11-05 09:00+08', 3, 'SOFF000000000001',"
	     " 'COFF000000000001', '1212010000', 'outside_training_site');"
	     "SELECT t_rec('" T1 "', 'ON--', '2026-11-05 10:00+08', 10, 'SOFF000000000002',"
	     " 'COFF000000000002', '1212010000');");
	json_t *all = findings_of(false, NULL);
	const json_t *f = finding(all, "off_site", "COFF000000000001");
	ck_assert_int_eq(measure_of(f), 3);
	ck_assert_str_eq(json_string_value(json_object_get(f, "school")), "S001");
	ck_assert_uint_eq(evidence_from(f, "training_record"), 3);
	ck_assert_ptr_null(finding(all, "off_site", "COFF000000000002"));
	json_decref(all);
	write_config_tail(NULL, "findings:\n  off_site_minutes: 5\n");
	all = findings_of(true, NULL);
	ck_assert_ptr_null(finding(all, "off_site", "COFF000000000001"));
	json_decref(all);
}
END_TEST

START_TEST(test_finding_coach_two_places_and_overloaded)
{
	/* Coach X on T1 and T6 in the same minute (the judge refused one); coach Y on
	 * T1 alone.  Coach Z teaches 17 students in a day, coach W 3. */
	fsql("SELECT t_rec('" T1 "', 'TWO1', '2026-11-06 09:00+08', 1, 'STWO000000000001',"
	     " 'CTWO00000000000X');"
	     "SELECT t_rec('" T6 "', 'TWO6', '2026-11-06 09:00:20+08', 1, 'STWO000000000002',"
	     " 'CTWO00000000000X', judge => 'coach_overlap');"
	     "SELECT t_rec('" T1 "', 'ONE1', '2026-11-06 10:00+08', 5, 'STWO000000000003',"
	     " 'CTWO00000000000Y');"
	     "SELECT t_rec('" T1 "', 'Z' || lpad(s::text, 2, '0') || '-',"
	     " '2026-11-07 06:00+08'::timestamptz + s * interval '40 minutes', 30,"
	     " 'SZ' || lpad(s::text, 14, '0'), 'CLOAD00000000000Z') FROM generate_series(1, 17) s;"
	     "SELECT t_rec('" T6 "', 'W' || s || '-',"
	     " '2026-11-07 08:00+08'::timestamptz + s * interval '1 hour', 30,"
	     " 'SW' || lpad(s::text, 14, '0'), 'CLOAD00000000000W') FROM generate_series(1, 3) s;");
	json_t *all = findings_of(false, NULL);
	const json_t *f = finding(all, "coach_two_places", "CTWO00000000000X");
	ck_assert_int_eq(measure_of(f), 2);
	ck_assert_uint_eq(evidence_from(f, "record_verdict"), 2);
	ck_assert_ptr_null(finding(all, "coach_two_places", "CTWO00000000000Y"));
	/* The judge's refusal is a conflict of terminal 6, with its judgement as evidence. */
	f = finding(all, "tampered_terminal", "13800000006");
	ck_assert_int_eq(measure_of(f), 1);
	ck_assert_uint_eq(evidence_from(f, "record_judgement"), 1);
	ck_assert_ptr_null(finding(all, "tampered_terminal", "13800000001"));
	f = finding(all, "coach_overloaded", "CLOAD00000000000Z");
	ck_assert_int_eq(measure_of(f), 17);
	ck_assert_uint_eq(evidence_from(f, "training_record"), 17);
	ck_assert_ptr_null(finding(all, "coach_overloaded", "CLOAD00000000000W"));
	json_decref(all);
	/* The minutes' limit: W's 90 minutes are over 60. */
	write_config_tail(NULL, "findings:\n  max_coach_minutes_per_day: 60\n");
	all = findings_of(true, NULL);
	ck_assert_int_eq(measure_of(finding(all, "coach_overloaded", "CLOAD00000000000W")), 3);
	json_decref(all);
}
END_TEST

START_TEST(test_finding_face_match)
{
	fsql("INSERT INTO photo (terminal_id, photo_no, person_no, class_id, upload_mode, channel,"
	     " size_code, event, face_confidence, taken_at, lat_e6, lon_e6, size, sha256, data)"
	     " SELECT t.id, p.no, p.person, 1, 1, 1, 1, 17, p.conf, '2026-11-08 09:00+08',"
	     " 31230000, 121470000, 1, sha256('\\x00'), '\\x00'"
	     " FROM terminal t, (VALUES ('0000000001', 'SFACE00000000001', 30),"
	     " ('0000000002', 'SFACE00000000002', 90)) p(no, person, conf)"
	     " WHERE t.phone = ltrim('" T1 "', '0')");
	json_t *all = findings_of(false, NULL);
	const json_t *f = finding(all, "face_mismatch", "SFACE00000000001");
	ck_assert_int_eq(measure_of(f), 30);
	ck_assert_uint_eq(evidence_from(f, "photo"), 1);
	ck_assert_ptr_null(finding(all, "face_mismatch", "SFACE00000000002"));
	json_decref(all);
}
END_TEST

START_TEST(test_finding_inventory)
{
	/* Vehicle A has terminal 1, B none; terminal 6 was added 10 days ago and never
	 * heard of, 1 sent a position now, 2 (school S002) was added now.  S001: 10
	 * records in real time, 5 re-uploaded (upload type 2, or the properties' bit 0);
	 * S002: all 10 in real time. */
	fsql("INSERT INTO school (code, name) VALUES ('S002', 'Second school');"
	     "INSERT INTO vehicle (school_id, plate, vehicle_class) SELECT id, p, 'C1'"
	     " FROM school, (VALUES ('PLATE-A'), ('PLATE-B')) v(p) WHERE code = 'S001';"
	     "UPDATE terminal SET vehicle_id = (SELECT id FROM vehicle WHERE plate = 'PLATE-A')"
	     " WHERE phone = ltrim('" T1 "', '0');"
	     "UPDATE terminal SET created_at = now() - interval '10 days'"
	     " WHERE phone = ltrim('" T6 "', '0');"
	     "UPDATE terminal SET school_id = (SELECT id FROM school WHERE code = 'S002')"
	     " WHERE phone = ltrim('" T2 "', '0');"
	     "INSERT INTO position (terminal_id, fix_time, lat_e6, lon_e6, altitude_m, speed_dkmh,"
	     " direction, alarm, status, fix_valid) SELECT id, now(), 0, 0, 0, 0, 0, 0, 0, true"
	     " FROM terminal WHERE phone = ltrim('" T1 "', '0');"
	     "SELECT t_rec('" T1 "', 'RT--', now() - interval '1 hour', 10, 'SINV000000000001',"
	     " 'CINV000000000001');"
	     "SELECT t_rec('" T1 "', 'RU--', now() - interval '2 hours', 3, 'SINV000000000001',"
	     " 'CINV000000000001', up => 2);"
	     "SELECT t_rec('" T1 "', 'RB--', now() - interval '3 hours', 2, 'SINV000000000001',"
	     " 'CINV000000000001', props => 35);"
	     "SELECT t_rec('" T2 "', 'RT--', now() - interval '1 hour', 10, 'SINV000000000002',"
	     " 'CINV000000000002');");
	json_t *all = findings_of(false, NULL);
	const json_t *f = finding(all, "vehicle_without_terminal", "PLATE-B");
	ck_assert_uint_eq(evidence_from(f, "vehicle"), 1);
	ck_assert_ptr_null(finding(all, "vehicle_without_terminal", "PLATE-A"));
	f = finding(all, "terminal_silent", "13800000006");
	ck_assert_int_eq(measure_of(f), 10);
	ck_assert_ptr_null(finding(all, "terminal_silent", "13800000001"));
	ck_assert_ptr_null(finding(all, "terminal_silent", "13800000002"));
	f = finding(all, "realtime_share", "S001");
	ck_assert_str_eq(json_string_value(json_object_get(f, "measure")), "66.7");
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(f, "detail")),
				     "10 of 15 records uploaded in real time, 5 re-uploaded"));
	ck_assert_ptr_null(finding(all, "realtime_share", "S002"));
	json_decref(all);
}
END_TEST

START_TEST(test_findings_filters_and_formats)
{
	fsql("INSERT INTO school (code, name) VALUES ('S002', 'Second school');"
	     "UPDATE terminal SET school_id = (SELECT id FROM school WHERE code = 'S002')"
	     " WHERE phone = ltrim('" T2 "', '0');"
	     "SELECT t_rec('" T1 "', 'OFF-', '2026-11-05 09:00+08', 3, 'SOFF000000000001',"
	     " 'COFF000000000001', '1212010000', 'outside_training_site');"
	     "SELECT t_rec('" T2 "', 'OFF-', '2026-11-09 09:00+08', 4, 'SOFF000000000002',"
	     " 'COFF000000000002', '1212010000', 'no_training_site');");
	json_t *all = findings_of(false, "--school S002");
	ck_assert_ptr_null(finding(all, "off_site", "COFF000000000001"));
	ck_assert_int_eq(measure_of(finding(all, "off_site", "COFF000000000002")), 4);
	json_decref(all);
	all = findings_of(false, "--from 2026-11-05T00:00+08 --to 2026-11-06T00:00+08");
	ck_assert_int_eq(measure_of(finding(all, "off_site", "COFF000000000001")), 3);
	ck_assert_ptr_null(finding(all, "off_site", "COFF000000000002"));
	json_decref(all);
	/* CSV: a header, one line per finding, the evidence as JSON in its cell. */
	ck_assert_int_eq(hoursctl_run("findings --format csv --school S001"), 0);
	ck_assert_int_eq(
		count_lines_in(ctl_out, "finding,school,subject,at,measure,detail,evidence"), 1);
	ck_assert_int_eq(count_lines_in(ctl_out, "off_site,S001,coach COFF000000000001,"), 1);
	ck_assert_int_eq(count_lines_in(ctl_out, "\"\"table\"\":\"\"training_record\"\""), 1);
	/* Text names each finding with its evidence. */
	ck_assert_int_eq(hoursctl_run("findings"), 0);
	ck_assert_int_eq(count_lines_in(ctl_out, "off_site: school S001, coach COFF000000000001"),
			 1);
	ck_assert_int_eq(count_lines_in(ctl_out, "\"record_no\":\"OFF-0002\""), 2);
	ck_assert_int_eq(count_lines_in(ctl_out, "findings: off_site 2"), 1);
	/* Usage errors and an unknown school. */
	ck_assert_int_eq(hoursctl_run("findings --format xml"), 2);
	ck_assert_int_eq(count_lines_in(ctl_err, "--format is text, csv or json"), 1);
	ck_assert_int_eq(hoursctl_run("findings --school NOPE"), 1);
	ck_assert_int_eq(count_lines_in(ctl_err, "no school \"NOPE\""), 1);
	/* A bad time: one line, a usage error, as in every command (no raw SQL error). */
	ck_assert_int_eq(hoursctl_run("findings --from yesterdayish"), 2);
	ck_assert_int_eq(count_lines_in(ctl_err, "hoursctl: --from: not a timestamp"), 1);
	ck_assert_int_eq(count_lines_in(ctl_err, "invalid input syntax"), 0);
}
END_TEST

START_TEST(test_report_import_police)
{
	char csv[600], want[800];
	fsql("INSERT INTO school (code, name) VALUES ('S002', 'Second school')");
	write_work_file(
		"police.csv",
		"\xEF\xBB\xBFquarter,school_code,exam_pass_rate,violation_rate,accident_rate\r\n"
		"2026Q3,S001,87.5,2.10,0.3\r\n"
		"2026Q3,S002,101,1,1\n"
		"2026Q3,NOPE,50,1,1\n"
		"2026Q5,S002,50,1,1\n"
		"2026Q3,S002,\"61.25\",abc,1\n"
		"2026Q3,S001,80,1,1\n"
		"# a comment\n\n"
		"2026Q3,S002,61.25,1.5\n"
		"2026Q3,S002,61.25,1.50,0.75\n",
		csv, sizeof(csv));
	ck_assert_int_eq(hoursctl_run("report import-police %s", csv), 1);
	static const char *const errors[] = {
		"3: exam_pass_rate \"101\" is not a number from 0 to 100",
		"4: no school \"NOPE\"",
		"5: quarter \"2026Q5\" is not YYYYQn",
		"6: violation_rate \"abc\" is not a number",
		"7: 2026Q3 of school S001 again",
		"10: 4 fields, not 5",
	};
	for (size_t i = 0; i < ARRAY_SIZE(errors); i++) {
		snprintf(want, sizeof(want), "%s:%s", csv, errors[i]);
		ck_assert_msg(count_lines_in(ctl_err, want) == 1, "no \"%s\"", want);
	}
	ck_assert_int_eq(count_lines_in(ctl_out, "2 rows stored, 6 refused"), 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM police_figures", NULL, NULL), 2);
	ck_assert_int_eq(
		db_value("SELECT (100 * pass_rate)::int FROM police_figures f JOIN school s"
			 " ON s.id = f.school_id WHERE s.code = $1",
			 "S002", NULL),
		6125);
	/* A wrong header stores nothing. */
	write_work_file("bad.csv", "quarter,school,pass\n2026Q3,S001,1,1,1\n", csv, sizeof(csv));
	ck_assert_int_eq(hoursctl_run("report import-police %s", csv), 1);
	snprintf(want, sizeof(want), "%s:1: the header must be", csv);
	ck_assert_int_eq(count_lines_in(ctl_err, want), 1);
}
END_TEST

START_TEST(test_report_quarterly_in_a_browser)
{
	char dir[600], csv[600], cmd[4800];
	fsql("UPDATE school SET name = 'Sample school' WHERE code = 'S001';"
	     "INSERT INTO school (code, name) VALUES ('S002', 'Second & <best> school');"
	     "INSERT INTO coach (school_id, coach_no, teach_class) SELECT id, 'CREG000000000001', 'C1'"
	     " FROM school WHERE code = 'S001';"
	     "INSERT INTO vehicle (school_id, plate, vehicle_class) SELECT id, 'PLATE-Q', 'C1'"
	     " FROM school WHERE code = 'S001';"
	     "UPDATE terminal SET school_id = (SELECT id FROM school WHERE code = 'S002')"
	     " WHERE phone = ltrim('" T2 "', '0');"
	     "SELECT t_rec('" T1 "', 'Q3A-', '2026-08-10 09:00+08', 20, 'SQ30000000000001',"
	     " 'CQ30000000000001', '1212010000');"
	     "SELECT t_rec('" T1 "', 'Q3B-', '2026-08-10 10:00+08', 6, 'SQ30000000000001',"
	     " 'CQ30000000000001', '1212010000', 'outside_training_site');"
	     "SELECT t_rec('" T1 "', 'Q4A-', '2026-10-10 10:00+08', 7, 'SQ40000000000001',"
	     " 'CQ40000000000001', '1212010000', 'outside_training_site');"
	     "SELECT t_rec('" T2 "', 'Q3C-', '2026-09-30 23:40+08', 40, 'SQ30000000000002',"
	     " 'CQ30000000000002');");
	write_work_file("police.csv",
			"quarter,school_code,exam_pass_rate,violation_rate,accident_rate\n"
			"2026Q3,S001,87.5,2.1,0.3\n2026Q3,S002,64,4.5,1.2\n",
			csv, sizeof(csv));
	ck_assert_int_eq(hoursctl_run("report import-police %s", csv), 0);
	snprintf(dir, sizeof(dir), "%s/report", work);
	ck_assert_int_eq(hoursctl_run("report quarterly 2026Q3 --out %s", dir), 0);
	/* supervision json, csv and html, quality csv, the index, the schools' pages */
	ck_assert_int_eq(count_lines_in(ctl_out, "wrote "), 6);
	ck_assert_int_eq(count_lines_in(ctl_out, "wrote 2 school pages "), 1);
	/* For the police: S001's coaches, vehicle, ground, and the quarter's off-site
	 * minutes only (October's are the next quarter's). */
	ck_assert_int_eq(lines_in(dir, "supervision-2026Q3.csv", "S001,Sample school,2,1,1,3,6"),
			 1);
	ck_assert_int_eq(lines_in(dir, "supervision-2026Q3.json", "\"CREG000000000001\""), 1);
	ck_assert_int_eq(lines_in(dir, "supervision-2026Q3.json", "\"id\": \"PLATE-Q\""), 1);
	ck_assert_int_eq(lines_in(dir, "supervision-2026Q3.json", "\"sample field\""), 1);
	ck_assert_int_eq(lines_in(dir, "supervision-2026Q3.json", "\"record_no\": \"Q3B-0005\""),
			 1);
	ck_assert_int_eq(lines_in(dir, "supervision-2026Q3.json", "Q4A-"), 0);
	/* The public table: S001 1 student, 20 minutes, all real time, 3 findings (the
	 * off-site minutes, PLATE-Q without a terminal, terminal 1 silent since its
	 * October record: the inventory is as of now); S002 20 of its 40 minutes and
	 * terminal 2 silent since September. */
	ck_assert_int_eq(lines_in(dir, "quality-2026Q3.csv",
				  "S001,Sample school,1,20,100.0,3,6,87.5,2.1,0.3"),
			 1);
	ck_assert_int_eq(lines_in(dir, "quality-2026Q3.csv",
				  "S002,Second & <best> school,1,20,100.0,1,0,64.0,4.5,1.2"),
			 1);
	/* The pages in a real browser, on a phone and on a desktop (screenshots kept in
	 * build/report-shots/): not blank, nothing scrolls sideways, Chinese first with
	 * the schools ranked by pass rate and their figures as Chinese readers write them. */
	snprintf(cmd, sizeof(cmd),
		 "%s/tests/report_browser.sh --shots %s/build/report-shots %s/quality-2026Q3.html"
		 " '驾驶培训机构培训质量 2026年第三季度' 'lang=\"zh-CN\"'"
		 " 'Training quality of driving schools, 2026 Q3' 'Sample school'"
		 " 'Second &amp; &lt;best&gt; school' '考试合格率' '87.5%%' '交通事故率'"
		 " '学时上传及时率' 'href=\"quality-2026Q3-S001.html\"' >>%s/browser.log 2>&1",
		 repo, repo, dir, work);
	int rc = system(cmd);
	ck_assert_msg(rc == 0, "report_browser.sh failed: see %s/browser.log", work);
	ck_assert_int_eq(
		lines_in(dir, "quality-2026Q3.html",
			 "<td headers=\"h-rank\" data-label=\"排名\">1</td><th scope=\"row\""
			 " id=\"r0\" headers=\"h-school\"><a href=\"quality-2026Q3-S001.html\">"
			 "Sample school"),
		1);
	/* A school's page: its findings in plain words, its coaches and vehicles
	 * counted, nobody named. */
	snprintf(
		cmd, sizeof(cmd),
		"%s/tests/report_browser.sh --shots %s/build/report-shots"
		" %s/quality-2026Q3-S001.html 'Sample school 2026年第三季度培训质量'"
		" '近五个季度' '2025年第四季度' '2026年第三季度（本季度）' '教练员：在职 1 名'"
		" '未在主管部门登记的教练员：1 名' '未装终端 1 辆' '场外培训</strong> 1 条' '教练车未装终端</strong> 1 条'"
		" '87.5%%' >>%s/browser.log 2>&1",
		repo, repo, dir, work);
	rc = system(cmd);
	ck_assert_msg(rc == 0, "report_browser.sh failed on S001's page: see %s/browser.log", work);
	ck_assert_int_eq(lines_in(dir, "quality-2026Q3-S001.html", "CREG000000000001"), 0);
	ck_assert_int_eq(lines_in(dir, "quality-2026Q3-S001.html", "CQ30000000000001"), 0);
	ck_assert_int_eq(lines_in(dir, "quality-2026Q3-S001.html", "SQ30000000000001"), 0);
	ck_assert_int_eq(lines_in(dir, "quality-2026Q3-S001.html", "PLATE-Q"), 0);
	/* A quarter that is not one, and no --out: usage errors before any query. */
	ck_assert_int_eq(hoursctl_run("report quarterly 2026Q7 --out /nonexistent"), 2);
	ck_assert_int_eq(hoursctl_run("report quarterly 2026Q3"), 2);
}
END_TEST

/*
 * The example queries of docs/audit.md's findings (every ```sql block from
 * its section "Findings" on) run on a database with findings in it, and
 * each gives rows.
 */
START_TEST(test_audit_findings_doc_queries)
{
	char path[800], line[1024], sql[8192] = "";
	fsql("SELECT t_rec('" T1 "', 'OFF-', '2026-11-05 09:00+08', 3, 'SOFF000000000001',"
	     " 'COFF000000000001', '1212010000', 'outside_training_site');"
	     "SELECT t_rec('" T1 "', 'BAD-', '2026-11-05 10:10+08', 2, 'SOFF000000000001',"
	     " 'COFF000000000001', why => 'bad_signature');"
	     "SELECT t_lesson('" T1 "', 'SSHORT0000000001', 'CFIND00000000001',"
	     " '2026-11-02 10:59+08', '2026-11-02 11:40:30+08', 41);"
	     "SELECT t_rec('" T1 "', 'SHRT', '2026-11-02 11:00+08', 20, 'SSHORT0000000001',"
	     " 'CFIND00000000001', login => '2026-11-02 10:59+08');");
	snprintf(path, sizeof(path), "%s/docs/audit.md", repo);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	PGconn *c = db_connect(test_ci);
	bool in = false, findings = false;
	int blocks = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strcmp(line, "## Findings\n") == 0)
			findings = true;
		if (!findings)
			continue;
		if (!in && strncmp(line, "```sql", 6) == 0) {
			in = true;
			sql[0] = '\0';
		} else if (in && strncmp(line, "```", 3) == 0) {
			in = false;
			PGresult *r = PQexec(c, sql);
			ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql,
				      PQerrorMessage(c));
			ck_assert_msg(PQntuples(r) > 0, "no rows: %s", sql);
			PQclear(r);
			blocks++;
		} else if (in) {
			ck_assert(strlen(sql) + strlen(line) < sizeof(sql));
			strcat(sql, line);
		}
	}
	fclose(f);
	PQfinish(c);
	ck_assert_int_ge(blocks, 4);
}
END_TEST

TCase *tcase_findings(void)
{
	TCase *tc = tcase_create("findings");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, findings_setup, teardown);
	tcase_add_test(tc, test_finding_minutes_missing);
	tcase_add_test(tc, test_finding_content_reduced);
	tcase_add_test(tc, test_finding_tampered_terminal_and_vendor);
	tcase_add_test(tc, test_finding_off_site);
	tcase_add_test(tc, test_finding_coach_two_places_and_overloaded);
	tcase_add_test(tc, test_finding_face_match);
	tcase_add_test(tc, test_finding_inventory);
	tcase_add_test(tc, test_findings_filters_and_formats);
	tcase_add_test(tc, test_report_import_police);
	tcase_add_test(tc, test_report_quarterly_in_a_browser);
	tcase_add_test(tc, test_audit_findings_doc_queries);
	return tc;
}
