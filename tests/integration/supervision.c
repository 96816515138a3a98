/*
 * supervision.c - supervision: the audit hash chain, append-only evidence,
 * the roles (docs/audit.md); the tcase "supervision".
 */
#include "harness.h"
#include "log.h"
#include "merkle.h"
#include "queries.h"

#include <errno.h>
#include <stdarg.h>

/* A line of hoursctl_run()'s last output has both a and b, in that order. */
static bool sv_said_both(const char *a, const char *b)
{
	FILE *f = fopen(ctl_out, "r");
	char line[4096];
	bool found = false;
	while (f && !found && fgets(line, sizeof(line), f)) {
		const char *p = strstr(line, a);
		found = p && strstr(p + strlen(a), b);
	}
	if (f)
		fclose(f);
	return found;
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
 * hoursd (as its own role) logs what a lesson stores and signs the log's
 * head; verify is clean; then the superuser, triggers off, changes a
 * record, deletes a session event, inserts records (outside the old
 * chain's era, and into a logged batch's transactions), alters a batch's
 * root and deletes the checkpoints: verify names each, and exits 1.
 */
START_TEST(test_chain_verify_names_tampering)
{
	start_hoursd_as("sv_hoursd");
	ck_assert_int_eq(termsim("term-" T1, T1, "--lesson 5 --photo 3000 " PART3), 0);
	ck_assert_int_eq(out_value("records_ok"), 5);
	wait_logged();
	/* 5 records, 4 session events, 1 photo, 5 judgements */
	ck_assert_int_eq(db_value("SELECT sum(size) FROM audit_batch", NULL, NULL), 15);
	ck_assert_int_eq(db_value("SELECT count(*) FROM audit_chain", NULL, NULL), 0);
	static char page[1 << 17];
	admin_get("/metrics", page, sizeof(page));
	ck_assert_int_eq(metric(page, "hoursd_audit_links_total"), 15);
	ck_assert_int_ge(metric(page, "hoursd_audit_batches_total"), 1);
	ck_assert_int_ge(metric(page, "hoursd_audit_checkpoints_total"), 1);
	ck_assert_int_eq(metric(page, "hoursd_audit_errors_total"), 0);
	ck_assert_int_eq(metric(page, "hoursd_audit_checkpoints_refused_total"), 0);
	ck_assert_int_eq(sv_verify("--max-age 60"), 0);
	ck_assert(sv_said("audit verify: clean (0 links, "));
	ck_assert(sv_said(" batches, 15 rows checked against their leaves"));
	ck_assert(sv_said("signatures: 5 training records checked"));
	char witness[700];
	snprintf(witness, sizeof(witness), "%s/witness.txt", work);
	ck_assert_int_eq(hoursctl_run("audit checkpoints --export %s", witness), 0);
	stop_hoursd();

	sv_behind_the_back("UPDATE training_record SET mileage_dkm = mileage_dkm + 7"
			   " WHERE record_no = (SELECT min(record_no) FROM training_record)");
	ck_assert_int_eq(sv_verify(NULL), 1);
	ck_assert(sv_said("row: training_record"));
	ck_assert(sv_said("not as logged in batch"));

	sv_behind_the_back("DELETE FROM session_event WHERE kind = 'coach_logout'");
	ck_assert_int_eq(sv_verify(NULL), 1);
	ck_assert(sv_said("1 leaves whose row is gone (deleted)"));

	/* outside the log, and in a logged batch's transactions */
	static const char forge[] =
		"INSERT INTO training_record (terminal_id, record_no, record_time, student_no,"
		" coach_no, class_id, course_code, part, mode, vehicle_class, upload_type,"
		" record_status, max_speed_dkmh, mileage_dkm, lat_e6, lon_e6, fix_valid, verdict,"
		" raw, raw_sha256, audit_xid) SELECT terminal_id, '%s', record_time, student_no,"
		" coach_no, class_id, course_code, part, mode, vehicle_class, upload_type,"
		" record_status, max_speed_dkmh, mileage_dkm, lat_e6, lon_e6, fix_valid, verdict,"
		" '\\x1300', sha256('\\x1300'), %s FROM training_record LIMIT 1";
	char sql[1200];
	snprintf(sql, sizeof(sql), forge, "FORGED0001", "NULL");
	sv_behind_the_back(sql);
	snprintf(sql, sizeof(sql), forge, "FORGED0002", "audit_xid");
	sv_behind_the_back(sql);
	ck_assert_int_eq(sv_verify(NULL), 1);
	ck_assert(
		sv_said_both("\"record_no\": \"FORGED0001\"", "not in the chain: inserted behind"));
	ck_assert(sv_said_both("\"record_no\": \"FORGED0002\"", "not as logged in batch"));
	ck_assert(sv_said("record FORGED0001: raw is not a timing message"));

	sv_behind_the_back("UPDATE audit_batch SET root = sha256('x') WHERE n = 1");
	ck_assert_int_eq(sv_verify(NULL), 1);
	ck_assert(sv_said("log: batch 1: its root is not the tree"));

	sv_behind_the_back("DELETE FROM audit_log_checkpoint");
	ck_assert_int_eq(sv_verify(NULL), 1);
	ck_assert(sv_said("log checkpoints: none stored"));
	char words[800];
	snprintf(words, sizeof(words), "--witness %s", witness);
	ck_assert_int_eq(sv_verify(words), 1);
	ck_assert(sv_said("log checkpoint k=1 of witness"));
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

/* The next batch as chain.sql read it, appended as hoursd's stage does; "t": appended. */
static void sv_append_send(PGconn *c, const PGresult *r, char bufs[7][1 << 17])
{
	const char *hex = PQgetvalue(r, 0, CHAIN_DATA);
	size_t len = strlen(hex) / 2, n = 0;
	uint8_t *data = malloc(len + 1), prev[32], root[32], link[32];
	ck_assert(merkle_unhex(hex, data, len));
	uint8_t *leaves = merkle_leaves(data, len, &n);
	free(data);
	ck_assert_ptr_nonnull(leaves);
	ck_assert(merkle_unhex(PQgetvalue(r, 0, CHAIN_HASH), prev, 32));
	long long bn = strtoll(PQgetvalue(r, 0, CHAIN_N), NULL, 10) + 1;
	ck_assert(merkle_root(leaves, n, root));
	ck_assert(merkle_link(prev, bn, (long long)n, root, link));
	snprintf(bufs[0], sizeof(bufs[0]), "%s", PQgetvalue(r, 0, CHAIN_N));
	snprintf(bufs[1], sizeof(bufs[1]), "%s", PQgetvalue(r, 0, CHAIN_LO));
	snprintf(bufs[2], sizeof(bufs[2]), "%s", PQgetvalue(r, 0, CHAIN_HI));
	snprintf(bufs[3], sizeof(bufs[3]), "%zu", n);
	ck_assert_uint_lt(64 * n, sizeof(bufs[4]));
	hex_encode(bufs[4], leaves, 32 * n);
	hex_encode(bufs[5], root, 32);
	hex_encode(bufs[6], link, 32);
	free(leaves);
	const char *v[7] = {bufs[0], bufs[1], bufs[2], bufs[3], bufs[4], bufs[5], bufs[6]};
	ck_assert_int_eq(PQsendQueryParams(c, sql_chain_append, 7, NULL, v, NULL, NULL, 0), 1);
}

/* One result of c, a row; its first value copied into out. */
static PGresult *sv_result(PGconn *c)
{
	PGresult *r = PQgetResult(c), *end;
	ck_assert_msg(r && PQresultStatus(r) == PGRES_TUPLES_OK, "chain: %s", PQerrorMessage(c));
	while ((end = PQgetResult(c)) != NULL)
		PQclear(end);
	return r;
}

/*
 * Several appenders at once (as several hoursd instances): ten times, 300
 * records stored, then four connections run the chain stage's two
 * statements together.  Each time one appends, the others find the head
 * moved; the batches have no gap, hold every row once, and verify finds
 * every tree, link and row as logged.
 */
START_TEST(test_chain_concurrent_appenders)
{
	enum { N = 4 };
	PGconn *c[N];
	static char bufs[N][7][1 << 17];
	for (int i = 0; i < N; i++)
		c[i] = db_connect(test_ci);
	for (int round = 0; round < 10; round++) {
		char student[24];
		snprintf(student, sizeof(student), "S0000000000009%02d", round % 100);
		char pfx[3] = {'C', (char)('A' + round), '\0'};
		seed_minutes(student, 3, 1, 300, 300, morning(2), 10, 10, pfx);
		for (int i = 0; i < N; i++)
			ck_assert_int_eq(
				PQsendQueryParams(c[i], sql_chain, 0, NULL, NULL, NULL, NULL, 0),
				1);
		PGresult *next[N];
		for (int i = 0; i < N; i++)
			next[i] = sv_result(c[i]);
		for (int i = 0; i < N; i++) {
			sv_append_send(c[i], next[i], bufs[i]);
			PQclear(next[i]);
		}
		int won = 0;
		for (int i = 0; i < N; i++) {
			PGresult *r = sv_result(c[i]);
			won += PQgetvalue(r, 0, CHAIN_APPEND_APPENDED)[0] == 't';
			PQclear(r);
		}
		ck_assert_int_eq(won, 1);
	}
	for (int i = 0; i < N; i++)
		PQfinish(c[i]);
	ck_assert_int_eq(db_value("SELECT count(*) FROM audit_batch", NULL, NULL), 10);
	ck_assert_int_eq(db_value("SELECT max(n) FROM audit_batch", NULL, NULL), 10);
	ck_assert_int_eq(db_value("SELECT n FROM audit_log_head", NULL, NULL), 10);
	ck_assert_int_eq(db_value("SELECT sum(size) FROM audit_batch", NULL, NULL),
			 db_value("SELECT count(*) FROM audit_log_leaves(-1, 9223372036854775807,"
				  " false)",
				  NULL, NULL));
	ck_assert_int_ge(db_value("SELECT sum(size) FROM audit_batch", NULL, NULL), 3000);
	/* seeded records carry no real message: their signatures are discrepancies */
	ck_assert_int_eq(sv_verify("--max-age 0"), 1);
	ck_assert(sv_said("log: 10 batches, "));
	ck_assert(!sv_said("log: batch"));
	ck_assert(!sv_said("row: "));
	ck_assert(sv_said("log checkpoints: none stored"));
	ck_assert(sv_said("audit verify: 3001 discrepancies"));
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
