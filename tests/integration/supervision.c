/*
 * supervision.c - supervision: the audit hash chain, append-only evidence,
 * the roles (docs/audit.md); the tcase "supervision".
 */
#include "harness.h"
#include "queries.h"

#include <errno.h>
#include <stdarg.h>

/* hoursd as the role sv_hoursd (its grants, not the owner's), checkpoints every second. */
static void sv_start_hoursd(void)
{
	ck_assert_int_eq(hoursctl_run("role add hoursd sv_hoursd"), 0);
	char saved[sizeof(test_ci)], tail[800];
	snprintf(saved, sizeof(saved), "%s", test_ci);
	int n = snprintf(test_ci, sizeof(test_ci), "%s user=sv_hoursd", saved);
	ck_assert_int_lt(n, (int)sizeof(test_ci));
	snprintf(tail, sizeof(tail),
		 "audit:\n  chain_interval_ms: 100\n  checkpoint_key: %s/checkpoint.key\n"
		 "  checkpoint_interval_s: 1\n",
		 pki);
	start_hoursd_tail(NULL, tail);
	snprintf(test_ci, sizeof(test_ci), "%s", saved);
}

/* Until every row is linked and the head is signed (10 s at most). */
static void sv_chained(void)
{
	for (int i = 0; i < 200; i++) {
		if (db_value("SELECT (NOT EXISTS (SELECT 1 FROM audit_pending)"
			     " AND EXISTS (SELECT 1 FROM audit_checkpoint c JOIN audit_head h"
			     " ON c.n = h.n))::int",
			     NULL, NULL) == 1)
			return;
		usleep(50000);
	}
	ck_abort_msg("the chain stage did not link and sign everything in 10 s");
}

/* Two schools in two districts, a record each, a pushed packet. */
static void sv_two_districts(void)
{
	ck_assert_int_eq(hoursctl_run("school set-district S001 east"), 0);
	ck_assert_int_eq(hoursctl_run("school add S002 Other --district west"), 0);
	ck_assert_int_eq(hoursctl_run("terminal assign " T2 " S002"), 0);
	seed_minutes("S000000000000081", 3, 1, 1, 10, morning(1), 10, 10, "EA");
	PGconn *c = db_connect(test_ci);
	db_exec(c,
		"INSERT INTO training_record (terminal_id, record_no, record_time, student_no,"
		" coach_no, class_id, course_code, part, mode, vehicle_class, upload_type,"
		" record_status, max_speed_dkmh, mileage_dkm, lat_e6, lon_e6, fix_valid,"
		" verdict, raw, raw_sha256) SELECT t.id, 'WE00001', now(), 'S000000000000082',"
		" 'C1', 1, '1213010000', 3, 1, 'C1', 1, 0, 300, 10, 31000000, 121000000, true,"
		" 'accepted', '\\x00', sha256('\\x00') FROM terminal t WHERE t.phone = '13800000002'");
	db_exec(c, "INSERT INTO push_packet (id, student_no, part, vehicle_class)"
		   " VALUES (gen_random_uuid(), 'S000000000000081', 3, 'C1')");
	PQfinish(c);
}

/*
 * hoursd (as its own role) chains what a lesson stores and signs the
 * head; verify is clean; then the superuser, triggers off, changes a
 * record, deletes a session event, inserts a record, alters a link and
 * deletes the checkpoints: verify names each, and exits 1.
 */
START_TEST(test_chain_verify_names_tampering)
{
	sv_start_hoursd();
	ck_assert_int_eq(termsim("term-" T1, T1, "--lesson 5 --photo 3000 " PART3), 0);
	ck_assert_int_eq(out_value("records_ok"), 5);
	sv_chained();
	/* 5 records, 4 session events, 1 photo, 5 judgements */
	ck_assert_int_eq(db_value("SELECT count(*) FROM audit_chain", NULL, NULL), 15);
	static char page[1 << 17];
	admin_get("/metrics", page, sizeof(page));
	ck_assert_int_eq(metric(page, "hoursd_audit_links_total"), 15);
	ck_assert_int_ge(metric(page, "hoursd_audit_checkpoints_total"), 1);
	ck_assert_int_eq(metric(page, "hoursd_audit_errors_total"), 0);
	ck_assert_int_eq(sv_verify(NULL), 0);
	ck_assert(sv_said("audit verify: clean (15 links"));
	ck_assert(sv_said("signatures: 5 training records checked"));
	char witness[700];
	snprintf(witness, sizeof(witness), "%s/witness.txt", work);
	ck_assert_int_eq(hoursctl_run("audit checkpoints --export %s", witness), 0);
	stop_hoursd();

	sv_behind_the_back("UPDATE training_record SET mileage_dkm = mileage_dkm + 7"
			   " WHERE record_no = (SELECT min(record_no) FROM training_record)");
	ck_assert_int_eq(sv_verify(NULL), 1);
	ck_assert(sv_said("row: training_record"));
	ck_assert(sv_said("changed since it was chained"));

	sv_behind_the_back("DELETE FROM session_event WHERE kind = 'coach_logout'");
	ck_assert_int_eq(sv_verify(NULL), 1);
	ck_assert(sv_said("\"kind\": \"coach_logout\""));
	ck_assert(sv_said("the row is gone"));

	sv_behind_the_back("INSERT INTO training_record SELECT * FROM training_record"
			   " WHERE record_no = (SELECT max(record_no) FROM training_record)"
			   " ON CONFLICT DO NOTHING");
	sv_behind_the_back(
		"INSERT INTO training_record (terminal_id, record_no, record_time, student_no,"
		" coach_no, class_id, course_code, part, mode, vehicle_class, upload_type,"
		" record_status, max_speed_dkmh, mileage_dkm, lat_e6, lon_e6, fix_valid, verdict,"
		" raw, raw_sha256) SELECT terminal_id, 'FORGED0001', record_time, student_no,"
		" coach_no, class_id, course_code, part, mode, vehicle_class, upload_type,"
		" record_status, max_speed_dkmh, mileage_dkm, lat_e6, lon_e6, fix_valid, verdict,"
		" '\\x1300', sha256('\\x1300') FROM training_record LIMIT 1");
	ck_assert_int_eq(sv_verify(NULL), 1);
	ck_assert(sv_said("\"record_no\": \"FORGED0001\""));
	ck_assert(sv_said("not in the chain: inserted behind hoursd's back"));
	ck_assert(sv_said("record FORGED0001: raw is not a timing message"));

	sv_behind_the_back("UPDATE audit_chain SET row_sha256 = sha256('x') WHERE n = 3");
	ck_assert_int_eq(sv_verify(NULL), 1);
	ck_assert(sv_said("chain: link 3 "));

	sv_behind_the_back("DELETE FROM audit_checkpoint");
	char words[800];
	snprintf(words, sizeof(words), "--witness %s", witness);
	ck_assert_int_eq(sv_verify(words), 1);
	ck_assert(sv_said("not in the database (deleted)"));
}
END_TEST

/*
 * The evidence refuses change to every role but the owner: hoursd's role
 * is not granted UPDATE or DELETE, and when someone grants them the
 * trigger refuses all the same; TRUNCATE too.  Its own state it changes.
 */
START_TEST(test_evidence_append_only)
{
	ck_assert_int_eq(hoursctl_run("role add hoursd sv_hoursd"), 0);
	seed_minutes("S000000000000071", 3, 1, 3, 10, morning(1), 10, 10, "AO");
	sv_refused("sv_hoursd", "UPDATE training_record SET mileage_dkm = 0", "permission denied");
	sv_refused("sv_hoursd", "DELETE FROM training_record", "permission denied");
	sv_allowed("sv_hoursd", "DELETE FROM judge_queue");
	sv_refused("sv_hoursd", "DELETE FROM audit_table", "permission denied");
	sv_refused("sv_hoursd", "INSERT INTO auditor_district VALUES ('sv_hoursd', 'east')",
		   "permission denied");
	PGconn *c = db_connect(test_ci);
	db_exec(c, "GRANT UPDATE, DELETE, TRUNCATE ON training_record, audit_chain TO sv_hoursd");
	PQfinish(c);
	sv_refused("sv_hoursd", "UPDATE training_record SET mileage_dkm = 0", "append-only");
	sv_refused("sv_hoursd", "DELETE FROM training_record", "append-only");
	sv_refused("sv_hoursd", "TRUNCATE training_record CASCADE", "append-only");
	sv_refused("sv_hoursd", "TRUNCATE audit_chain", "append-only");
	ck_assert_int_eq(db_value("SELECT count(*) FROM training_record", NULL, NULL), 3);
	/* the next migrate puts the grants back as the rules say */
	ck_assert_int_eq(hoursctl_run("migrate --dir %s/sql", repo), 0);
	sv_refused("sv_hoursd", "UPDATE training_record SET mileage_dkm = 0", "permission denied");
}
END_TEST

/*
 * Each role connects and reads what it may: the auditor all but secrets,
 * the district auditor its district's schools only (tables and views),
 * the liaison what was pushed; none changes anything.  A table a later
 * migration adds gets its grants at the next migrate.
 */
START_TEST(test_roles_read_what_they_may)
{
	sv_two_districts();
	ck_assert_int_eq(hoursctl_run("role add auditor sv_auditor"), 0);
	ck_assert_int_eq(hoursctl_run("role add district-auditor sv_east --district east"), 0);
	ck_assert_int_eq(hoursctl_run("role add liaison sv_liaison"), 0);
	ck_assert_int_eq(hoursctl_run("role add district-auditor sv_x"), 2);
	ck_assert_int_eq(hoursctl_run("role add king sv_x"), 2);

	ck_assert_int_eq(sv_value("sv_auditor", "SELECT count(*) FROM training_record"), 2);
	ck_assert_int_eq(sv_value("sv_auditor", "SELECT count(*) FROM record_verdict"), 2);
	ck_assert_int_eq(sv_value("sv_auditor", "SELECT count(*) FROM school"), 2);
	sv_allowed("sv_auditor", "SELECT phone, cert_pem, school_id FROM terminal");
	sv_allowed("sv_auditor", "SELECT id_card_sha256 FROM student");
	sv_allowed("sv_auditor", "SELECT count(*) FROM audit_chain");
	sv_refused("sv_auditor", "SELECT count(*) FROM terminal_credential", "permission denied");
	sv_refused("sv_auditor", "SELECT auth_code FROM terminal", "permission denied");
	/* the schools' seal keys (020): hoursd's role only */
	sv_refused("sv_auditor", "SELECT count(*) FROM school_seal", "permission denied");
	sv_refused("sv_auditor", "UPDATE school SET name = 'x'", "permission denied");
	sv_refused("sv_auditor", "INSERT INTO school (code, name) VALUES ('X', 'X')",
		   "permission denied");

	ck_assert_int_eq(sv_value("sv_east", "SELECT count(*) FROM training_record"), 1);
	ck_assert_int_eq(sv_value("sv_east", "SELECT count(*) FROM record_verdict"), 1);
	ck_assert_int_eq(sv_value("sv_east", "SELECT count(*) FROM school"), 1);
	ck_assert_int_eq(sv_value("sv_east", "SELECT count(*) FROM school WHERE code = 'S002'"), 0);
	ck_assert_int_eq(sv_value("sv_east", "SELECT count(*) FROM terminal"
					     " WHERE phone = '13800000002'"),
			 0);
	ck_assert_int_eq(sv_value("sv_east", "SELECT count(*) FROM push_packet"), 1);
	sv_refused("sv_east", "SELECT count(*) FROM terminal_credential", "permission denied");
	sv_refused("sv_east", "SELECT count(*) FROM school_seal", "permission denied");
	sv_refused("sv_east", "SELECT count(*) FROM audit_chain", "permission denied");

	ck_assert_int_eq(sv_value("sv_liaison", "SELECT count(*) FROM push_packet"), 1);
	sv_allowed("sv_liaison", "SELECT count(*) FROM push_attempt");
	sv_refused("sv_liaison", "SELECT count(*) FROM training_record", "permission denied");
	sv_refused("sv_liaison", "SELECT count(*) FROM school_seal", "permission denied");
	sv_refused("sv_liaison", "UPDATE push_packet SET state = 'done'", "permission denied");

	/* a table of a later migration: its grants at the next migrate */
	PGconn *c = db_connect(test_ci);
	db_exec(c, "CREATE TABLE sv_later (x int)");
	PQfinish(c);
	sv_refused("sv_auditor", "SELECT * FROM sv_later", "permission denied");
	ck_assert_int_eq(hoursctl_run("migrate --dir %s/sql", repo), 0);
	ck_assert(sv_said("grants: the roles' grants applied"));
	sv_allowed("sv_auditor", "SELECT * FROM sv_later");
	sv_allowed("sv_hoursd", "DELETE FROM sv_later");
	sv_refused("sv_east", "SELECT * FROM sv_later", "permission denied");
}
END_TEST

/* Every ```sql block of docs/audit.md runs as the auditor and as a district auditor. */
START_TEST(test_audit_doc_queries)
{
	sv_two_districts();
	ck_assert_int_eq(hoursctl_run("role add auditor sv_auditor"), 0);
	ck_assert_int_eq(hoursctl_run("role add district-auditor sv_east --district east"), 0);
	char path[700], line[1024];
	snprintf(path, sizeof(path), "%s/docs/audit.md", repo);
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	static char sql[16384];
	size_t len = 0;
	int blocks = 0, lineno = 0, start = 0;
	bool in = false;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (!in && strncmp(line, "```sql", 6) == 0) {
			in = true;
			len = 0;
			start = lineno;
			continue;
		}
		if (in && strncmp(line, "```", 3) == 0) {
			in = false;
			sql[len] = '\0';
			char err[1024];
			ck_assert_msg(sv_try("sv_auditor", sql, err, sizeof(err)),
				      "docs/audit.md:%d as the auditor: %s", start, err);
			ck_assert_msg(sv_try("sv_east", sql, err, sizeof(err)) ||
					      strstr(err, "permission denied") != NULL,
				      "docs/audit.md:%d as a district auditor: %s", start, err);
			blocks++;
			continue;
		}
		if (in && len + strlen(line) < sizeof(sql)) {
			memcpy(sql + len, line, strlen(line));
			len += strlen(line);
		}
	}
	fclose(f);
	ck_assert_int_ge(blocks, 5);
}
END_TEST

/* hoursd -t and the start check the checkpoint key: a missing file, a certificate, a good key. */
START_TEST(test_checkpoint_key_checked)
{
	char tail[800], prog[600];
	snprintf(prog, sizeof(prog), "%s/hoursd", bindir);
	char *argv[] = {prog, (char *)"-t", (char *)"-c", conf_path, NULL};
	write_config_tail(NULL, "audit:\n  checkpoint_key: /nonexistent/checkpoint.key\n");
	ck_assert_int_eq(wait_exit(spawn(argv, log_path, log_path), 30), 1);
	ck_assert(log_has("audit.checkpoint_key /nonexistent/checkpoint.key: No such file"));
	snprintf(tail, sizeof(tail), "audit:\n  checkpoint_key: %s/server.crt\n", pki);
	write_config_tail(NULL, tail);
	ck_assert_int_eq(wait_exit(spawn(argv, log_path, log_path), 30), 1);
	ck_assert(log_has("server.crt: not a PEM private key"));
	snprintf(tail, sizeof(tail), "audit:\n  checkpoint_key: %s/checkpoint.key\n", pki);
	write_config_tail(NULL, tail);
	ck_assert_int_eq(wait_exit(spawn(argv, log_path, log_path), 30), 0);
	ck_assert(log_has("configuration ok"));
	/* Running with it, a reload to a key that does not load is refused; the key stays. */
	start_hoursd_tail(NULL, tail);
	write_config_tail(NULL, "audit:\n  checkpoint_key: /nonexistent/checkpoint.key\n");
	kill(hoursd_pid, SIGHUP);
	for (int i = 0; i < 100 && !log_has("reload refused"); i++)
		usleep(50000);
	ck_assert(log_has("reload refused, the running configuration stays: "
			  "audit.checkpoint_key /nonexistent/checkpoint.key"));
	stop_hoursd();
}
END_TEST

/*
 * Several appenders at once (as several hoursd instances): four
 * connections run the chain stage's statement together, again and again,
 * on 3000 queued records.  Every row is linked once, the links have no
 * gap, and the walk finds every hash on the one before.
 */
START_TEST(test_chain_concurrent_appenders)
{
	seed_minutes("S000000000000091", 3, 1, 3000, 3000, morning(2), 10, 10, "CC");
	ck_assert_int_eq(db_value("SELECT count(*) FROM audit_pending", NULL, NULL), 3000);
	enum { N = 4 };
	PGconn *c[N];
	for (int i = 0; i < N; i++)
		c[i] = db_connect(test_ci);
	const char *limit[1] = {"250"};
	for (int round = 0; round < 10; round++) {
		for (int i = 0; i < N; i++)
			ck_assert_int_eq(
				PQsendQueryParams(c[i], sql_chain, 1, NULL, limit, NULL, NULL, 0),
				1);
		for (int i = 0; i < N; i++) {
			PGresult *r;
			while ((r = PQgetResult(c[i])) != NULL) {
				ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "chain: %s",
					      PQerrorMessage(c[i]));
				PQclear(r);
			}
		}
	}
	for (int i = 0; i < N; i++)
		PQfinish(c[i]);
	ck_assert_int_eq(db_value("SELECT count(*) FROM audit_pending", NULL, NULL), 0);
	ck_assert_int_eq(db_value("SELECT count(*) FROM audit_chain", NULL, NULL), 3000);
	ck_assert_int_eq(db_value("SELECT max(n) FROM audit_chain", NULL, NULL), 3000);
	ck_assert_int_eq(db_value("SELECT count(DISTINCT key) FROM audit_chain", NULL, NULL), 3000);
	ck_assert_int_eq(db_value("SELECT n FROM audit_head", NULL, NULL), 3000);
	/* seeded records carry no real message: only their signatures are discrepancies */
	ck_assert_int_eq(sv_verify(NULL), 1);
	ck_assert(sv_said("chain: 3000 links walked"));
	ck_assert(!sv_said("chain: link"));
	ck_assert(!sv_said("row: "));
	ck_assert(sv_said("audit verify: 3000 discrepancies"));
}
END_TEST

TCase *tcase_supervision(void)
{
	TCase *tc = tcase_create("supervision");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_chain_verify_names_tampering);
	tcase_add_test(tc, test_evidence_append_only);
	tcase_add_test(tc, test_roles_read_what_they_may);
	tcase_add_test(tc, test_audit_doc_queries);
	tcase_add_test(tc, test_checkpoint_key_checked);
	tcase_add_test(tc, test_chain_concurrent_appenders);
	return tc;
}
