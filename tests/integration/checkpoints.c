/*
 * checkpoints.c - the audit log's checkpoints leave the database and mean
 * something (docs/audit.md): hoursd serves them (GET /v1/checkpoints over
 * mutual TLS) and appends them to audit.checkpoint_file; it refuses to
 * sign over rows that are not as logged, or when a checkpoint it stored
 * is gone; audit verify --key fails without checkpoints, on a gap, on a
 * newest one too old, and --witness finds the ones deleted.  The tcase
 * "checkpoints".
 */
#include "harness.h"

#include <sys/stat.h>

static int cp_rport;
static char cp_file[700];

/* hoursd with checkpoints every second, the readiness listener, a checkpoint file. */
static void cp_start_hoursd(void)
{
	char extra[200], tail[3000];
	cp_rport = free_port();
	snprintf(cp_file, sizeof(cp_file), "%s/checkpoints.txt", work);
	snprintf(extra, sizeof(extra), "  readiness: \"127.0.0.1:%d\"\n", cp_rport);
	snprintf(tail, sizeof(tail),
		 "readiness:\n  ca: %s/ca.crt\n"
		 "audit:\n  chain_interval_ms: 100\n  checkpoint_key: %s/checkpoint.key\n"
		 "  checkpoint_interval_s: 1\n  checkpoint_file: %s\n",
		 pki, pki, cp_file);
	start_hoursd_tail(extra, tail);
}

/* GET /v1/checkpoints?QUERY as a client of readiness.ca into out; the HTTP status. */
static int cp_get(const char *query, const char *out)
{
	char cmd[4096];
	snprintf(cmd, sizeof(cmd),
		 "curl -s -o %s -w '%%{http_code}' --cacert %s/ca.crt --cert %s/term-" T2
		 ".crt --key %s/term-" T2 ".key 'https://localhost:%d/v1/checkpoints%s'",
		 out, pki, pki, pki, cp_rport, query);
	FILE *p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	char code[16] = "";
	ck_assert_ptr_nonnull(fgets(code, sizeof(code), p));
	pclose(p);
	return atoi(code);
}

/* Until the log holds every row and at least `want` checkpoints are stored (15 s at most). */
static void cp_signed(int want)
{
	char sql[400];
	snprintf(sql, sizeof(sql),
		 "SELECT (NOT EXISTS (SELECT 1 FROM audit_log_leaves("
		 "(SELECT hi FROM audit_log_head), 9223372036854775807, false))"
		 " AND (SELECT count(*) FROM audit_log_checkpoint c JOIN audit_log_head h"
		 " ON c.n = h.n) >= %d)::int",
		 want);
	ck_assert_msg(wait_value(sql, NULL, 1, 15), "not logged and signed in 15 s");
}

/*
 * A lesson logged and signed; the checkpoints served and in the file are
 * the stored ones, and verify is clean with them as a witness.  Then the
 * newest checkpoint is deleted while hoursd runs: hoursd refuses to sign
 * on (its log, its metric, /readyz); once it is stopped, verify with an
 * age limit fails on the newest being too old, and the served witness
 * names the deleted one.  Then all of them are deleted: verify fails, and
 * the witness (the file hoursd appended to) names every one.
 */
START_TEST(test_checkpoints_deleted)
{
	cp_start_hoursd();
	ck_assert_int_eq(termsim("term-" T1, T1, "--lesson 3 " PART3), 0);
	cp_signed(1);
	ck_assert_msg(wait_value("SELECT count(*) FROM audit_log_checkpoint", NULL, 3, 15),
		      "three checkpoints in 15 s");
	char served[700], bad[700];
	snprintf(served, sizeof(served), "%s/served.txt", work);
	snprintf(bad, sizeof(bad), "%s/served-bad.txt", work);
	ck_assert_int_eq(cp_get("?after=0", served), 200);
	ck_assert_int_ge(count_lines_in(served, "v2 1 "), 1);
	ck_assert_int_eq(cp_get("?after=x", bad), 400);
	ck_assert_int_eq(cp_get("?after=999999", bad), 200);
	struct stat st;
	ck_assert_int_eq(stat(bad, &st), 0);
	ck_assert_int_eq(st.st_size, 0);
	ck_assert_int_ge(count_lines_in(cp_file, "v2 "), 3);
	char words[1600];
	snprintf(words, sizeof(words), "--max-age 60 --witness %s", served);
	ck_assert_int_eq(sv_verify(words), 0);
	ck_assert(sv_said("audit verify: clean"));
	ck_assert(sv_said("log checkpoints compared"));

	/* the newest deleted while hoursd runs: it stops signing, and says so */
	long long newest = db_value("SELECT max(k) FROM audit_log_checkpoint", NULL, NULL);
	sv_behind_the_back("DELETE FROM audit_log_checkpoint"
			   " WHERE k = (SELECT max(k) FROM audit_log_checkpoint)");
	for (int i = 0; i < 100 && !log_has("audit: checkpoint refused"); i++)
		usleep(50000);
	ck_assert(log_has("which this process stored, is gone"));
	static char page[1 << 17];
	admin_get("/metrics", page, sizeof(page));
	ck_assert_int_ge(metric(page, "hoursd_audit_checkpoints_refused_total"), 1);
	admin_get("/readyz", page, sizeof(page));
	ck_assert_ptr_nonnull(strstr(page, "503"));
	ck_assert_ptr_nonnull(strstr(page, "audit: checkpoint refused"));
	ck_assert_int_eq(db_value("SELECT max(k) FROM audit_log_checkpoint", NULL, NULL),
			 newest - 1);
	stop_hoursd();
	sleep(3);
	ck_assert_int_eq(sv_verify("--max-age 2"), 1);
	ck_assert(sv_said("is older than 2 s"));
	snprintf(words, sizeof(words), "--max-age 0 --witness %s", cp_file);
	ck_assert_int_eq(sv_verify(words), 1);
	char said[200];
	snprintf(said, sizeof(said), "log checkpoint k=%lld of witness", newest);
	ck_assert(sv_said(said));
	ck_assert(sv_said("not in the database (deleted)"));

	/* all of them deleted: none stored; the witness names each */
	sv_behind_the_back("DELETE FROM audit_log_checkpoint");
	ck_assert_int_eq(sv_verify("--max-age 0"), 1);
	ck_assert(sv_said("log checkpoints: none stored"));
	ck_assert_int_eq(sv_verify(words), 1);
	ck_assert(sv_said("log checkpoint k=1 of witness"));
	ck_assert_int_ge(count_lines_in(ctl_out, "not in the database (deleted)"), 3);
}
END_TEST

/*
 * A lesson logged by hoursd without a checkpoint key; a logged record
 * changed behind its back; hoursd started again with the key: its first
 * checkpoint is refused (the batch's rows are not what was logged), said
 * in its log, the metric and /readyz, and nothing is signed; verify names
 * the row.
 */
START_TEST(test_checkpoint_refused_over_changed_rows)
{
	start_hoursd_tail(NULL, "audit:\n  chain_interval_ms: 100\n");
	ck_assert_int_eq(termsim("term-" T1, T1, "--lesson 3 " PART3), 0);
	ck_assert_msg(wait_value("SELECT (NOT EXISTS (SELECT 1 FROM audit_log_leaves("
				 "(SELECT hi FROM audit_log_head), 9223372036854775807, false))"
				 " AND EXISTS (SELECT 1 FROM audit_batch))::int",
				 NULL, 1, 15),
		      "not logged in 15 s");
	stop_hoursd();
	sv_behind_the_back("UPDATE training_record SET mileage_dkm = mileage_dkm + 1"
			   " WHERE record_no = (SELECT min(record_no) FROM training_record)");
	cp_start_hoursd();
	for (int i = 0; i < 100 && !log_has("audit: checkpoint refused"); i++)
		usleep(50000);
	ck_assert(log_has("its rows are not what was logged"));
	static char page[1 << 17];
	admin_get("/metrics", page, sizeof(page));
	ck_assert_int_ge(metric(page, "hoursd_audit_checkpoints_refused_total"), 1);
	ck_assert_int_eq(metric(page, "hoursd_audit_checkpoints_total"), 0);
	admin_get("/readyz", page, sizeof(page));
	ck_assert_msg(strstr(page, "audit: checkpoint refused: batch ") != NULL, "/readyz: %s",
		      page);
	stop_hoursd();
	ck_assert_int_eq(db_value("SELECT count(*) FROM audit_log_checkpoint", NULL, NULL), 0);
	ck_assert_int_eq(sv_verify("--max-age 0"), 1);
	ck_assert(sv_said("not as logged in batch "));
	ck_assert(sv_said("log checkpoints: none stored"));
}
END_TEST

TCase *tcase_checkpoints(void)
{
	TCase *tc = tcase_create("checkpoints");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_checkpoint_refused_over_changed_rows);
	tcase_add_test(tc, test_checkpoints_deleted);
	return tc;
}
