/*
 * national.c - the national profile: teaching-log PDF, stage hours,
 * review, booking; the tcase "national".
 */
#include "harness.h"

/*
 * The chain: a booking refused, the part pushed under the national
 * profile (the teaching log uploaded first, its id in the body, signed
 * as the terminals sign: checked by policesim and by openssl apart), the
 * review fetched and stored, the booking accepted; a back-filled packet
 * carries the configured rectype; the PDF read back with pdftotext, and
 * hoursctl explain --pdf writes the same document.
 */
START_TEST(test_national_push_pdf_and_booking)
{
	seed_packets(2);
	PGconn *c = db_connect(test_ci);
	db_exec(c,
		"UPDATE push_packet SET backfilled = true WHERE student_no = 'S000000000000002'");
	PQfinish(c);
	start_policesim_national(NULL);
	ck_assert_int_eq(book("S000000000000001", 3), 100);
	start_hoursd_push(NAT_EXTRA);
	ck_assert_msg(
		wait_value("SELECT count(*) FROM push_packet WHERE state = $1", "done", 2, 20),
		"not delivered; see %s and %s", log_path, psim_log);
	ck_assert_int_eq(book("S000000000000001", 3), 0);
	ck_assert_int_eq(book("S000000000000001", 2), 100);
	ck_assert_int_eq(db_value("SELECT count(*) FROM push_packet WHERE profile = 'national'"
				  " AND pdf_id IS NOT NULL AND length(pdf_sha256) = 32"
				  " AND body LIKE '%\"pdfid\":' || pdf_id || ',%'",
				  NULL, NULL),
			 2);
	/* The body: the national members, the values of the met part, rectype as configured. */
	ck_assert_int_eq(
		db_value(
			"SELECT count(*) FROM push_packet WHERE student_no = $1"
			" AND body ~ '^\\{\"classtime\":0,\"duration\":3,\"esignature\":"
			"\"[0-9A-F]{200}[0-9A-F]{200}[0-9A-F]{112}\",\"examresult\":\"1\",\"inscode\":\"S001\","
			"\"mileage\":123\\.4,\"networktime\":0,\"pdfid\":1000[12],\"recarray\":"
			"\\[\\{\"rnum\":\"00000007\"\\},\\{\"rnum\":\"00000120\"\\},"
			"\\{\"rnum\":\"00000121\"\\}\\],\"rectype\":7,\"simulatortime\":0,"
			"\"stunum\":\"S000000000000001\",\"subject\":\"3\",\"totaltime\":3,"
			"\"vehicletime\":3\\}$'",
			"S000000000000001", NULL),
		1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM push_packet WHERE student_no = $1"
				  " AND backfilled AND body LIKE '%\"rectype\":9,%'",
				  "S000000000000002", NULL),
			 1);
	/* The PDF as policesim keeps it: its digest is the one stored, its text readable. */
	char pdf[800], cmd[3200];
	snprintf(pdf, sizeof(pdf), "%s/pdf-%s.pdf", nat_dir,
		 "10001"); /* the first upload: either student */
	ck_assert_int_eq(access(pdf, R_OK), 0);
	snprintf(cmd, sizeof(cmd), "%s/pdf-10002.pdf", nat_dir);
	ck_assert_int_eq(access(cmd, R_OK), 0);
	ck_assert_int_eq(
		db_value("SELECT count(*) FROM push_packet p WHERE pdf_id = '10001'", NULL, NULL),
		1);
	const char *txt = pdf_text(pdf);
	ck_assert_int_ge(count_lines_in(txt, "电子教学日志"), 1);
	ck_assert_int_ge(count_lines_in(txt, "S001"), 1);
	ck_assert_int_ge(count_lines_in(txt, "学时记录 records"), 1);
	ck_assert_int_ge(count_lines_in(txt, "总学时 total"), 1);
	/* The signatures, again, by openssl alone. */
	snprintf(cmd, sizeof(cmd),
		 "python3 %s/tests/national_sign_check.py %s/national.jsonl "
		 "%s/sign-rsa-" T2 ".crt >%s/signcheck.out 2>&1",
		 repo, nat_dir, pki, work);
	ck_assert_msg(system(cmd) == 0, "the sign= check failed: see %s/signcheck.out", work);
	snprintf(cmd, sizeof(cmd), "%s/signcheck.out", work);
	ck_assert_int_eq(count_lines_in(cmd, "2"), 1);
	/* The review, fetched after acceptance and stored. */
	ck_assert(wait_value("SELECT count(*) FROM push_review WHERE valid = $1::int", "1", 2, 10));
	ck_assert_int_eq(
		db_value("SELECT count(*) FROM push_review r JOIN push_packet p"
			 " ON p.id = r.packet_id WHERE r.errorcode = 0"
			 " AND r.validtime = 3 AND r.pdfid = p.pdf_id AND p.student_no = $1",
			 "S000000000000001", NULL),
		1);
	ck_assert_int_eq(psim_stat("national_stages"), 2);
	ck_assert_int_eq(psim_stat("bookings_refused"), 2);
	ck_assert_int_eq(psim_stat("bookings"), 1);
	stop_hoursd();
	stop_policesim();
	/* hoursctl explain --pdf: the same document for a person, with the totals. */
	snprintf(pdf, sizeof(pdf), "%s/explain.pdf", work);
	ck_assert_int_eq(hoursctl_run("explain S000000000000001 --pdf %s --part 3", pdf), 0);
	txt = pdf_text(pdf);
	ck_assert_int_eq(count_lines_in(txt, "电子教学日志"), 1);
	ck_assert_int_ge(count_lines_in(txt, "S000000000000001"), 1);
	ck_assert_int_ge(count_lines_in(txt, "总学时 total 3 min"), 1);
	ck_assert_int_ge(count_lines_in(txt, "里程 mileage 123.4 km"), 1);
	ck_assert_int_ge(count_lines_in(txt, "实车 vehicle 3"), 1);
	ck_assert_int_ge(count_lines_in(txt, "补录学时"), 1);
	ck_assert_int_eq(hoursctl_run("explain S000000000000009 --pdf %s", pdf), 1);
	ck_assert_int_eq(hoursctl_run("explain S000000000000001 --part 3"), 2);
}
END_TEST

/*
 * The answers: 202 (certificate) fails the packet at once with its
 * reason; 1 is retried; 201 (timestamp) is retried because the clocks
 * agree (policesim's Date); the failed packet is delivered after a
 * re-drive.
 */
START_TEST(test_national_answer_codes)
{
	seed_packets(2);
	start_policesim_national("e202:1,e1:1,e201:1");
	start_hoursd_push(NAT_EXTRA "  concurrency: 1\n");
	ck_assert_msg(
		wait_value("SELECT count(*) FROM push_packet WHERE state = $1", "done", 1, 20),
		"not delivered; see %s and %s", log_path, psim_log);
	ck_assert_int_eq(packets_in("failed"), 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM push_packet WHERE state = 'failed'"
				  " AND last_error LIKE 'errorcode 202: %certificate not valid%'",
				  NULL, NULL),
			 1);
	ck_assert_int_eq(attempts_with("rejected"), 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM push_attempt WHERE outcome = 'retry'"
				  " AND answer LIKE '{\"data\":null,\"errorcode\":1,%'",
				  NULL, NULL),
			 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM push_attempt WHERE outcome = 'retry'"
				  " AND answer LIKE '%\"errorcode\":201,%'",
				  NULL, NULL),
			 1);
	ck_assert(log_has("clocks agree"));
	char *id = NULL;
	PGconn *c = db_connect(test_ci);
	PGresult *r = PQexec(c, "SELECT id FROM push_packet WHERE state = 'failed'");
	ck_assert_int_eq(PQntuples(r), 1);
	id = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	ck_assert_int_eq(hoursctl_run("push retry %s", id), 0);
	free(id);
	ck_assert(wait_value("SELECT count(*) FROM push_packet WHERE state = $1", "done", 2, 20));
	ck_assert_int_eq(psim_stat("national_stages"), 2);
	stop_hoursd();
	stop_policesim();
}
END_TEST

/*
 * The strict twin and the six differences: a signing certificate whose
 * serial starts with a zero nibble (user= printed unpadded, else 202), the
 * teaching log as a multipart form (a raw one refused), the members typed
 * as the public sample (subject and examresult strings, pdfid the
 * upload's integer data.id), rnum the records' own numbers (each one the
 * platform received), esignature the school's seal over the body without
 * it; then what the platform refuses, asked by a client of its own.
 */
START_TEST(test_national_strict_twin)
{
	static char zero[700];
	snprintf(zero, sizeof(zero), "%s/sign-zero-nibble.crt", work);
	ck_assert_int_eq(system(words("openssl req -new -x509 -key %s/sign-rsa-" T2 ".key"
				      " -set_serial 0x0A1B2C3D4E -subj /CN=zero-nibble -days 30"
				      " -out %s 2>/dev/null",
				      pki, zero)),
			 0);
	psim_verify = push_sign_cert = zero;
	nat_records = "00000007\n00000120\n00000121\n";
	seed_packets(1);
	start_policesim_national(NULL);
	start_hoursd_push(NAT_EXTRA);
	ck_assert_msg(
		wait_value("SELECT count(*) FROM push_packet WHERE state = $1", "done", 1, 20),
		"not delivered; see %s and %s", log_path, psim_log);
	char jl[700], cmd[3200];
	snprintf(jl, sizeof(jl), "%s/national.jsonl", nat_dir);
	/* Every call kept (the lessons' teaching logs, the stage hours) names the unpadded serial.
	 */
	ck_assert_int_eq(count_lines_in(jl, "\"user\":\"A1B2C3D4E\""),
			 count_lines_in(jl, "\"user\":"));
	ck_assert_int_eq(count_lines_in(jl, "\"kind\":\"stage\""), 1);
	ck_assert_int_ge(count_lines_in(jl, "\"kind\":\"classrecord\""), 1);
	ck_assert_int_eq(count_lines_in(jl, "\"user\":\"0A1B2C3D4E\""), 0);
	ck_assert_int_eq(
		db_value("SELECT count(*) FROM push_packet WHERE pdf_id = '10001'"
			 " AND body LIKE '%\"pdfid\":10001,%'"
			 " AND body LIKE '%\"subject\":\"3\",%'"
			 " AND body LIKE '%\"examresult\":\"1\",%'"
			 " AND body LIKE '%[{\"rnum\":\"00000007\"},{\"rnum\":\"00000120\"},"
			 "{\"rnum\":\"00000121\"}]%'",
			 NULL, NULL),
		1);
	/* sign= and esignature, by openssl alone: the zero-nibble certificate, the seal. */
	snprintf(cmd, sizeof(cmd),
		 "python3 %s/tests/national_sign_check.py %s %s --seal %s/seal-S001.crt"
		 " >%s/signcheck.out 2>&1",
		 repo, jl, zero, work, work);
	ck_assert_msg(system(cmd) == 0, "the sign= check failed: see %s/signcheck.out", work);
	/* What the platform refuses, asked by a client of its own. */
	snprintf(cmd, sizeof(cmd),
		 "python3 %s/tests/national_refusals.py %d %s %s/sign-rsa-" T2 ".key %s"
		 " >%s/refusals.out 2>&1",
		 repo, psim_port_of(), pki, pki, zero, work);
	ck_assert_msg(system(cmd) == 0,
		      "policesim accepted what the platform refuses: see "
		      "%s/refusals.out",
		      work);
	snprintf(cmd, sizeof(cmd), "%s/refusals.out", work);
	ck_assert_int_eq(count_lines_in(cmd, "padded user: 202"), 1);
	ck_assert_int_eq(count_lines_in(cmd, "raw upload: 200"), 1);
	stop_hoursd();
	stop_policesim();
}
END_TEST

/*
 * errorcode 1 is the platform's reason: retried push.national_failed_max
 * times (3), then failed with its message, counted, shown by push show;
 * a re-drive starts the count again.
 */
START_TEST(test_national_errorcode_1_bounded)
{
	seed_packets(1);
	start_policesim_national("e1:3");
	start_hoursd_push(NAT_EXTRA);
	ck_assert_msg(
		wait_value("SELECT count(*) FROM push_packet WHERE state = $1", "failed", 1, 20),
		"not failed; see %s and %s", log_path, psim_log);
	ck_assert_int_eq(
		db_value("SELECT count(*) FROM push_attempt WHERE errorcode = 1", NULL, NULL), 3);
	ck_assert_int_eq(db_value("SELECT count(*) FROM push_packet WHERE last_error LIKE"
				  " 'errorcode 1: injected by policesim (the platform answered 1 3 "
				  "times%'",
				  NULL, NULL),
			 1);
	static char page[1 << 17];
	admin_get("/metrics", page, sizeof(page));
	ck_assert_ptr_nonnull(
		strstr(page, "hoursd_push_packets_failed_total{cause=\"platform\"} 1"));
	ck_assert_int_eq(hoursctl_run("push show " PACKET), 0);
	ck_assert_int_eq(count_lines_in(ctl_out, "injected by policesim (the platform answered 1"),
			 1);
	ck_assert_int_eq(hoursctl_run("push retry " PACKET), 0);
	ck_assert(wait_value("SELECT count(*) FROM push_packet WHERE state = $1", "done", 1, 20));
	stop_hoursd();
	stop_policesim();
}
END_TEST

/* POST /reviewmsg to hoursd's readiness listener as the platform sends it (curl): the answer. */
static const char *notice(int rport, const char *student, const char *subject)
{
	static char out[700];
	snprintf(out, sizeof(out), "%s/notice.out", work);
	const char *cmd =
		words("curl -s -o %s --cacert %s/ca.crt --cert %s/term-" T2 ".crt --key %s/term-" T2
		      ".key -H 'Content-Type: application/json' -d "
		      "'{\"reviewtype\":\"2\",\"data\":{\"stunum\":\"%s\",\"subject\":\"%s\"}}'"
		      " https://localhost:%d/reviewmsg",
		      out, pki, pki, pki, student, subject, rport);
	ck_assert_int_eq(system(cmd), 0);
	return out;
}

/*
 * The stage review: fetched once the packet is accepted, then on a
 * back-off schedule while the platform has not decided (errorcode 100),
 * and at once on the platform's reviewmsg notice (mutual TLS, the
 * readiness listener): approved with a refused record, which push show
 * lists with its reason.
 */
START_TEST(test_national_review_notice)
{
	seed_packets(1);
	start_policesim_national(NULL);
	char page[4096];
	psim_request("POST", "/_review", "{\"hold\":true}", page, sizeof(page));
	int rport = free_port();
	char listen[64], more[800];
	snprintf(listen, sizeof(listen), "  readiness: \"127.0.0.1:%d\"\n", rport);
	snprintf(more, sizeof(more), "readiness:\n  ca: %s/ca.crt\n", pki);
	start_hoursd_push_more(
		listen, NAT_EXTRA "  national_review_min_s: 2\n  national_review_max_s: 3600\n",
		more);
	ck_assert_msg(wait_value("SELECT count(*) FROM push_packet WHERE review_fetches >= $1::int",
				 "2", 1, 20),
		      "the review was not fetched twice; see %s and %s", log_path, psim_log);
	ck_assert_int_eq(db_value("SELECT count(*) FROM push_review WHERE errorcode = 100"
				  " AND NOT final",
				  NULL, NULL),
			 1);
	/* The supervisor decides: approved, one record refused; the platform notifies. */
	psim_request("POST", "/_review",
		     "{\"stunum\":\"S000000000000001\",\"subject\":\"3\",\"refuse\":"
		     "{\"00000121\":\"轨迹异常 track off site\"}}",
		     page, sizeof(page));
	PGconn *c = db_connect(test_ci);
	PGresult *r = PQexec(c, "SELECT review_due FROM push_packet WHERE review_due IS NOT NULL");
	ck_assert_int_eq(PQntuples(r), 1);
	char due[64];
	snprintf(due, sizeof(due), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	ck_assert_int_eq(
		count_lines_in(notice(rport, "S000000000000009", "3"), "\"errorcode\":100"), 1);
	ck_assert_int_eq(count_lines_in(notice(rport, "S000000000000001", "3"), "\"errorcode\":0"),
			 1);
	ck_assert(wait_value("SELECT count(*) FROM push_review WHERE final AND valid = $1::int",
			     "1", 1, 20));
	/* Fetched on the notice, before the back-off's next fetch was due. */
	ck_assert_int_eq(
		db_value("SELECT count(*) FROM push_review WHERE fetched_at < $1::timestamptz"
			 " AND validtime = 2 AND needfultime = 3",
			 due, NULL),
		1);
	ck_assert_int_eq(
		db_value("SELECT count(*) FROM push_packet WHERE review_due IS NULL", NULL, NULL),
		1);
	ck_assert_int_eq(hoursctl_run("push show " PACKET), 0);
	ck_assert_int_eq(count_lines_in(ctl_out, "review: final, errorcode 0, valid 1 (approved), "
						 "validtime 2 of needfultime 3"),
			 1);
	ck_assert_int_eq(count_lines_in(ctl_out, "refused rnum 00000121: 轨迹异常 track off site"),
			 1);
	ck_assert_int_eq(hoursctl_run("explain S000000000000001"), 0);
	ck_assert_int_eq(
		count_lines_in(ctl_out, "part 3: final, errorcode 0, valid 1, validtime 2 of 3"),
		1);
	ck_assert_int_eq(count_lines_in(ctl_out, "refused rnum 00000121: 轨迹异常 track off site"),
			 1);
	stop_hoursd();
	stop_policesim();
}
END_TEST

/*
 * The teaching log per lesson: each lesson of the part goes up as
 * /classrecord before the stage hours, once; a part 1's recarray holds the
 * teaching logs' numbers, which the strict platform accepts only because
 * it received them; a re-drive sends none again.
 */
START_TEST(test_national_part1_teaching_logs)
{
	seed_packets(1);
	PGconn *c = db_connect(test_ci);
	db_exec(c, "UPDATE training_record SET part = 1 WHERE student_no = 'S000000000000001'");
	db_exec(c, "UPDATE progress SET part = 1 WHERE student_no = 'S000000000000001'");
	db_exec(c, "UPDATE push_packet SET part = 1 WHERE student_no = 'S000000000000001'");
	PQfinish(c);
	start_policesim_national("e202:1");
	start_hoursd_push(NAT_EXTRA);
	/* The stage hours refused (202) after the teaching logs went up; re-driven. */
	ck_assert_msg(
		wait_value("SELECT count(*) FROM push_packet WHERE state = $1", "failed", 1, 20),
		"not failed; see %s and %s", log_path, psim_log);
	ck_assert_int_eq(hoursctl_run("push retry " PACKET), 0);
	ck_assert_msg(
		wait_value("SELECT count(*) FROM push_packet WHERE state = $1", "done", 1, 20),
		"not delivered; see %s and %s", log_path, psim_log);
	long long logs = db_value("SELECT count(*) FROM teaching_log_sent", NULL, NULL);
	ck_assert_int_ge(logs, 1);
	ck_assert_int_eq(
		db_value("SELECT count(*) FROM push_packet p WHERE body LIKE"
			 " '%\"subject\":\"1\"%' AND body NOT LIKE '%\"rnum\":\"00000120\"%'"
			 " AND (SELECT count(*) FROM teaching_log_sent t WHERE p.body LIKE"
			 " '%{\"rnum\":\"' || t.recnum || '\"}%') = $1::int",
			 words("%lld", logs), NULL),
		1);
	char jl[700];
	snprintf(jl, sizeof(jl), "%s/national.jsonl", nat_dir);
	ck_assert_int_eq(count_lines_in(jl, "\"kind\":\"classrecord\""), logs);
	ck_assert_int_eq(psim_stat("national_stages"), 1);
	ck_assert_int_eq(hoursctl_run("push show " PACKET), 0);
	stop_hoursd();
	stop_policesim();
}
END_TEST

/*
 * The teaching log is sent when its lesson closes (the student's logout),
 * through the upward queue, before any stage hours: once, kept as sent by
 * its item.  The stage hours then send only the log of the lesson that
 * never closed (T2), and part 1's recarray names both logs; the coach's
 * logout after it queues the closed lesson no second time.
 */
START_TEST(test_national_log_at_lesson_close)
{
	seed_packets(1);
	PGconn *c = db_connect(test_ci);
	db_exec(c, "UPDATE training_record SET part = 1 WHERE student_no = 'S000000000000001'");
	db_exec(c, "UPDATE progress SET part = 1 WHERE student_no = 'S000000000000001'");
	db_exec(c, "UPDATE push_packet SET part = 1, next_attempt = now() + interval '1 hour'"
		   " WHERE student_no = 'S000000000000001'");
	/* T1's lesson: a student login, its records, the student's logout. */
	db_exec(c, "UPDATE training_record r SET session_login_at ="
		   " date_trunc('minute', now() - interval '1 day 5 minutes')"
		   " FROM terminal t WHERE t.id = r.terminal_id AND t.phone = '13800000001'"
		   " AND r.student_no = 'S000000000000001'");
	db_exec(c, "INSERT INTO session_event (terminal_id, kind, event_time, person_no, coach_no,"
		   " lat_e6, lon_e6, fix_valid, verdict, ext_serial, raw)"
		   " SELECT t.id, e.kind, date_trunc('minute', now() - interval '1 day 5 minutes')"
		   "  + e.after, e.person, e.coach, 0, 0, true, 'accepted', e.serial, '\\x00'"
		   " FROM terminal t, (VALUES ('student_login', interval '0', 'S000000000000001',"
		   "  'C000000000000001', 1), ('student_logout', interval '10 minutes',"
		   "  'S000000000000001', NULL, 2)) e(kind, after, person, coach, serial)"
		   " WHERE t.phone = '13800000001'");
	PQfinish(c);
	ck_assert_int_eq(
		db_value("SELECT count(*) FROM upward_item WHERE kind = 'classrecord'", NULL, NULL),
		1);
	start_policesim_national(NULL);
	start_hoursd_push(NAT_EXTRA);
	ck_assert_msg(wait_value("SELECT count(*) FROM teaching_log_sent WHERE packet_id IS NULL"
				 " AND upward_id IS NOT NULL AND recnum LIKE $1",
				 "4401000000000017%", 1, 30),
		      "the lesson's log not sent; see %s and %s", log_path, psim_log);
	char jl[700];
	snprintf(jl, sizeof(jl), "%s/national.jsonl", nat_dir);
	ck_assert_int_eq(count_lines_in(jl, "\"kind\":\"classrecord\""), 1);
	ck_assert_int_eq(psim_stat("national_stages"), 0);
	/* Its members and types, as the stage hours' path sends them. */
	ck_assert_int_eq(
		db_value(
			"SELECT count(*) FROM upward_item WHERE kind = 'classrecord'"
			" AND state = 'done' AND errorcode = 0 AND body LIKE"
			" '{\"avevelocity\":60.0,\"carnum\":\"\",\"coachnum\":\"C000000000000001\","
			"\"coacmt\":\"\",\"duration\":2,%\"mileage\":2.0,\"part1\":2,\"part2\":0,%'",
			NULL, NULL),
		1);
	/* The stage hours: T2's lesson never closed, its log goes with them. */
	c = db_connect(test_ci);
	db_exec(c, "UPDATE push_packet SET next_attempt = now()");
	PQfinish(c);
	ck_assert_msg(
		wait_value("SELECT count(*) FROM push_packet WHERE state = $1", "done", 1, 20),
		"not delivered; see %s and %s", log_path, psim_log);
	ck_assert_int_eq(count_lines_in(jl, "\"kind\":\"classrecord\""), 2);
	ck_assert_int_eq(db_value("SELECT count(*) FROM teaching_log_sent WHERE packet_id = $1",
				  PACKET, NULL),
			 1);
	ck_assert_int_eq(
		db_value("SELECT count(*) FROM push_packet p WHERE body LIKE '%\"subject\":\"1\"%'"
			 " AND (SELECT count(*) FROM teaching_log_sent t WHERE p.body LIKE"
			 " '%{\"rnum\":\"' || t.recnum || '\"}%') = 2",
			 NULL, NULL),
		1);
	/* The coach's logout closes nothing new: the lesson is queued once. */
	c = db_connect(test_ci);
	db_exec(c,
		"INSERT INTO session_event (terminal_id, kind, event_time, person_no,"
		" lat_e6, lon_e6, fix_valid, verdict, ext_serial, raw)"
		" SELECT t.id, 'coach_logout', now() - interval '1 day', 'C000000000000001',"
		" 0, 0, true, 'accepted', 3, '\\x00' FROM terminal t WHERE t.phone = '13800000001'");
	PQfinish(c);
	ck_assert_int_eq(
		db_value("SELECT count(*) FROM upward_item WHERE kind = 'classrecord'", NULL, NULL),
		1);
	sleep(2);
	ck_assert_int_eq(count_lines_in(jl, "\"kind\":\"classrecord\""), 2);
	ck_assert_int_eq(psim_stat("national_refused"), 0);
	stop_hoursd();
	stop_policesim();
}
END_TEST

/*
 * A lesson's photos go up when it closes, each once and in order: its
 * file (/imageup/stuimg, a multipart form, a JPEG the strict platform
 * keeps) before the teaching log, whose photo1..3 name the ids the
 * uploads were answered, then its record (/trainimginfo, fileid that id,
 * recnum the log's, both of which the platform checks it holds).  A
 * restart sends none again.
 */
START_TEST(test_national_lesson_photos)
{
	seed_packets(1);
	PGconn *c = db_connect(test_ci);
	db_exec(c, "UPDATE push_packet SET next_attempt = now() + interval '1 hour'");
	db_exec(c, "UPDATE training_record r SET session_login_at ="
		   " date_trunc('minute', now() - interval '1 day 5 minutes')"
		   " FROM terminal t WHERE t.id = r.terminal_id AND t.phone = '13800000001'"
		   " AND r.student_no = 'S000000000000001'");
	db_exec(c, "INSERT INTO photo (terminal_id, photo_no, person_no, class_id, upload_mode,"
		   " channel, size_code, event, face_confidence, taken_at, lat_e6, lon_e6, size,"
		   " sha256, data)"
		   " SELECT t.id, p.no, 'S000000000000001', 1, 0, 1, 1, 0, 90,"
		   " date_trunc('minute', now() - interval '1 day 5 minutes') + p.after, 0, 0, 6,"
		   " sha256(p.data), p.data"
		   " FROM terminal t, (VALUES ('0000000101', interval '2 minutes',"
		   "  '\\xffd8ffe00001'::bytea), ('0000000102', interval '7 minutes',"
		   "  '\\xffd8ffe00002'::bytea)) p(no, after, data) WHERE t.phone = '13800000001'");
	db_exec(c,
		"INSERT INTO session_event (terminal_id, kind, event_time, person_no, coach_no,"
		" lat_e6, lon_e6, fix_valid, verdict, ext_serial, raw)"
		" SELECT t.id, e.kind, date_trunc('minute', now() - interval '1 day 5 minutes')"
		"  + e.after, 'S000000000000001', e.coach, 0, 0, true, 'accepted', e.serial,"
		"  '\\x00'"
		" FROM terminal t, (VALUES ('student_login', interval '0', 'C000000000000001', 1),"
		"  ('student_logout', interval '10 minutes', NULL, 2)) e(kind, after, coach, serial)"
		" WHERE t.phone = '13800000001'");
	PQfinish(c);
	ck_assert_int_eq(db_value("SELECT count(*) FROM upward_item WHERE kind IN"
				  " ('stuimg', 'classrecord', 'trainimginfo')",
				  NULL, NULL),
			 5);
	/* Queued in the order sent: the files, the log, the records. */
	ck_assert_int_eq(db_value("SELECT count(*) FROM upward_item a JOIN upward_item b"
				  " ON b.id > a.id WHERE a.kind IN ('classrecord', 'trainimginfo')"
				  " AND b.kind = 'stuimg'",
				  NULL, NULL),
			 0);
	long long n = db_value("SELECT count(*) FROM upward_item", NULL, NULL);
	start_policesim_national(NULL);
	start_hoursd_push(NAT_EXTRA);
	ck_assert_msg(
		wait_value("SELECT count(*) FROM upward_item WHERE state = $1", "done", (int)n, 30),
		"not all sent; see %s and %s", log_path, psim_log);
	ck_assert_int_eq(db_value("SELECT count(*) FROM upward_item a JOIN upward_item b"
				  " ON b.id > a.id WHERE b.done_at < a.done_at",
				  NULL, NULL),
			 0);
	char jl[700];
	snprintf(jl, sizeof(jl), "%s/national.jsonl", nat_dir);
	ck_assert_int_eq(count_lines_in(jl, "\"kind\":\"img\""), 2);
	ck_assert_int_eq(count_lines_in(jl, "\"upkind\":\"trainimginfo\""), 2);
	/* photo1..3: the first, the second, the last upload's id. */
	long long id1 = db_value("SELECT platform_no::bigint FROM upward_item WHERE kind = 'stuimg'"
				 " AND photo_no = $1",
				 "0000000101", NULL);
	long long id2 = db_value("SELECT platform_no::bigint FROM upward_item WHERE kind = 'stuimg'"
				 " AND photo_no = $1",
				 "0000000102", NULL);
	ck_assert_int_gt(id1, 10000);
	ck_assert_int_gt(id2, id1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM upward_item WHERE kind = 'classrecord'"
				  " AND body LIKE $1",
				  words("%%\"photo1\":%lld,\"photo2\":%lld,\"photo3\":%lld,%%", id1,
					id2, id2),
				  NULL),
			 1);
	ck_assert_int_eq(
		db_value("SELECT count(*) FROM upward_item WHERE kind = 'trainimginfo'"
			 " AND body LIKE $1 AND body LIKE '%\"recnum\":\"4401000000000017%'",
			 words("{\"coachnum\":\"C000000000000001\",\"fileid\":%lld,%%", id1), NULL),
		1);
	ck_assert_int_eq(psim_stat("national_refused"), 0);
	/* Exactly once: a restart sends none of them again. */
	stop_hoursd();
	start_hoursd_push(NAT_EXTRA);
	sleep(3);
	ck_assert_int_eq(count_lines_in(jl, "\"kind\":\"img\""), 2);
	ck_assert_int_eq(count_lines_in(jl, "\"upkind\":\"trainimginfo\""), 2);
	ck_assert_int_eq(count_lines_in(jl, "\"kind\":\"classrecord\""), 1);
	stop_hoursd();
	stop_policesim();
}
END_TEST

/*
 * A training area's review: fetched once its /region is accepted, on a
 * back-off while the platform has not decided (100), and at once on the
 * platform's reviewmsg notice of type 1 (inscode, seq): approved (flag
 * 1) and final; a notice of an area not sent from here answers 100.
 */
START_TEST(test_national_region_review)
{
	PGconn *c = db_connect(test_ci);
	db_exec(c, "INSERT INTO training_site (school_id, name, kind, geojson)"
		   " SELECT id, '一号场地', 'field', '{\"type\":\"Polygon\",\"coordinates\":"
		   "[[[121.1,31.1],[121.2,31.1],[121.2,31.2],[121.1,31.1]]]}'"
		   " FROM school WHERE code = 'S001'");
	PQfinish(c);
	start_policesim_national(NULL);
	char page[4096];
	psim_request("POST", "/_review", "{\"hold\":true}", page, sizeof(page));
	int rport = free_port();
	char listen[64], more[800];
	snprintf(listen, sizeof(listen), "  readiness: \"127.0.0.1:%d\"\n", rport);
	snprintf(more, sizeof(more), "readiness:\n  ca: %s/ca.crt\n", pki);
	start_hoursd_push_more(
		listen, NAT_EXTRA "  national_review_min_s: 2\n  national_review_max_s: 3600\n",
		more);
	ck_assert_msg(wait_value("SELECT count(*) FROM upward_item WHERE kind = 'region'"
				 " AND body LIKE '%一号场地%'"
				 " AND review_fetches >= $1::int AND NOT review_final",
				 "2", 1, 30),
		      "the area's review was not fetched twice; see %s and %s", log_path, psim_log);
	char seq[16];
	snprintf(seq, sizeof(seq), "%lld",
		 db_value("SELECT (body::jsonb ->> 'seq')::bigint FROM upward_item"
			  " WHERE kind = 'region' AND body LIKE '%一号场地%'",
			  NULL, NULL));
	psim_request("POST", "/_review", words("{\"inscode\":\"S001\",\"seq\":\"%s\"}", seq), page,
		     sizeof(page));
	const char *out = words("%s/notice.out", work);
#define REGION_NOTICE(SEQ)                                                                         \
	words("curl -s -o %s --cacert %s/ca.crt --cert %s/term-" T2 ".crt --key %s/term-" T2       \
	      ".key -d '{\"reviewtype\":\"1\",\"data\":{\"inscode\":\"S001\",\"seq\":%s}}'"        \
	      " https://localhost:%d/reviewmsg",                                                   \
	      out, pki, pki, pki, SEQ, rport)
	ck_assert_int_eq(system(REGION_NOTICE("999")), 0);
	ck_assert_int_eq(count_lines_in(out, "\"errorcode\":100"), 1);
	ck_assert_int_eq(system(REGION_NOTICE(seq)), 0);
	ck_assert_int_eq(count_lines_in(out, "\"errorcode\":0"), 1);
#undef REGION_NOTICE
	ck_assert_msg(wait_value("SELECT count(*) FROM upward_item WHERE kind = 'region'"
				 " AND body LIKE '%一号场地%' AND review_final"
				 " AND review_flag = $1::int AND review_due IS NULL",
				 "1", 1, 20),
		      "the area's review was not fetched on the notice; see %s and %s", log_path,
		      psim_log);
	ck_assert_int_eq(psim_stat("national_refused"), 0);
	stop_hoursd();
	stop_policesim();
}
END_TEST

TCase *tcase_national(void)
{
	TCase *tc = tcase_create("national");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, push_setup, push_teardown);
	tcase_add_test(tc, test_national_push_pdf_and_booking);
	tcase_add_test(tc, test_national_answer_codes);
	tcase_add_test(tc, test_national_strict_twin);
	tcase_add_test(tc, test_national_errorcode_1_bounded);
	tcase_add_test(tc, test_national_review_notice);
	tcase_add_test(tc, test_national_part1_teaching_logs);
	tcase_add_test(tc, test_national_log_at_lesson_close);
	tcase_add_test(tc, test_national_lesson_photos);
	tcase_add_test(tc, test_national_region_review);
	return tc;
}
