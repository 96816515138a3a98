/*
 * prove.c - a proof per pushed part (docs/audit.md, "A proof per pushed
 * part"): hoursctl audit prove writes the bundle of a part pushed, audit
 * check-proof verifies it without the database, minute by minute, and
 * refuses it with any one byte changed, naming what failed.  The tcase
 * "prove".
 */
#include "harness.h"

#include <sys/stat.h>

static char bundle[700], student[40];

/*
 * A lesson to a met part, pushed (national: under push.profile national
 * to policesim's national side), logged and under a signed checkpoint;
 * its proof made.
 */
static void pushed_and_proved_as(bool national)
{
	if (national)
		start_policesim_national(NULL);
	else
		start_policesim(NULL, NULL);
	char more[1000];
	snprintf(more, sizeof(more),
		 "audit:\n  chain_interval_ms: 100\n  checkpoint_key: %s/checkpoint.key\n"
		 "  checkpoint_interval_s: 1\n",
		 pki);
	start_hoursd_push_more(NULL, national ? NAT_EXTRA : NULL, more);
	for (int d = 0; d < 6; d++) {
		char *w = words("--lesson 240 --window 64 --record-start %lld --record-seq %d %s",
				morning(6 - d), 1 + 240 * d, PART3);
		ck_assert_int_eq(termsim("term-" T1, T1, w), 0);
	}
	ck_assert_msg(
		wait_value("SELECT count(*) FROM push_packet WHERE state = $1", "done", 1, 30),
		"the packet was not delivered; see %s and %s", log_path, psim_log);
	ck_assert_msg(wait_value("SELECT (NOT EXISTS (SELECT 1 FROM audit_log_leaves("
				 "(SELECT hi FROM audit_log_head), 9223372036854775807, false))"
				 " AND EXISTS (SELECT 1 FROM audit_log_checkpoint c JOIN "
				 "audit_log_head h ON c.n = h.n))::int",
				 NULL, 1, 20),
		      "not logged and signed in 20 s");
	PGconn *c = db_connect(test_ci);
	PGresult *r = PQexec(c, "SELECT student_no FROM push_packet");
	ck_assert_int_eq(PQntuples(r), 1);
	snprintf(student, sizeof(student), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	snprintf(bundle, sizeof(bundle), "%s/proof.json", work);
	ck_assert_msg(hoursctl_run("audit prove %s 3 --out %s", student, bundle) == 0,
		      "audit prove failed; see %s", ctl_err);
	ck_assert_int_eq(count_lines_in(ctl_out, "1440 records"), 1);
	stop_hoursd();
	stop_policesim();
}

static void pushed_and_proved(void)
{
	pushed_and_proved_as(false);
}

/* check-proof of path, with no database to reach (-c names no file): its exit status. */
static int check_proof(const char *path)
{
	return hoursctl_run("-c /nonexistent/hoursd.yaml audit check-proof %s --ca %s/ca.crt "
			    "--key %s/checkpoint.pub",
			    path, pki, pki);
}

/*
 * The round trip: the proof of a part pushed checks without the database,
 * a line per minute (1440), the checkpoint, the packet; with another key
 * or another CA it is refused.
 */
START_TEST(test_prove_round_trip)
{
	pushed_and_proved();
	ck_assert_msg(check_proof(bundle) == 0, "check-proof refused a good proof; see %s",
		      ctl_out);
	ck_assert_int_eq(count_lines_in(ctl_out, "UTC+8  record "), 1440);
	ck_assert_int_eq(count_lines_in(ctl_out, "signed by the certificate in force then"), 1440);
	ck_assert_int_eq(count_lines_in(ctl_out, "checkpoint k="), 1);
	ck_assert_int_eq(count_lines_in(ctl_out, "records_sha256"), 1);
	ck_assert_int_eq(count_lines_in(ctl_out, "proved: the 1440 minutes of student"), 1);
	ck_assert_int_eq(count_lines_in(ctl_out, "FAILED"), 0);
	/* another key: the checkpoint is not its */
	ck_assert_int_eq(hoursctl_run("-c /nonexistent/hoursd.yaml audit check-proof %s --ca "
				      "%s/ca.crt --key %s/term-" T1 ".key",
				      bundle, pki, pki),
			 1);
	ck_assert_int_eq(count_lines_in(ctl_out, "FAILED: checkpoint"), 1);
	/* another CA: the terminal's certificate is not under it */
	ck_assert_int_eq(hoursctl_run("-c /nonexistent/hoursd.yaml audit check-proof %s --ca "
				      "%s/term-" T1 ".crt --key %s/checkpoint.key",
				      bundle, pki, pki),
			 1);
	ck_assert_int_eq(count_lines_in(ctl_out, "not issued under the CA given"), 1);
	/* a part not pushed has no proof; a part that is no part is a usage error */
	ck_assert_int_eq(hoursctl_run("audit prove %s 2 --out %s/none.json", student, work), 1);
	ck_assert_int_eq(count_lines_in(ctl_err, "no packet built"), 1);
	ck_assert_int_eq(hoursctl_run("audit prove %s 5 --out %s/none.json", student, work), 2);
}
END_TEST

/* Where needle begins in b (n bytes), at or after from; n when not there. */
static size_t find(const char *b, size_t n, size_t from, const char *needle)
{
	size_t k = strlen(needle);
	for (size_t i = from; i + k <= n; i++)
		if (memcmp(b + i, needle, k) == 0)
			return i;
	return n;
}

/* Byte at of b changed (its lowest bit): check-proof refuses it, naming what failed. */
static void refused_changed(char *b, size_t n, size_t at, const char *bad)
{
	b[at] ^= 0x01;
	FILE *f = fopen(bad, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(b, 1, n, f), n);
	fclose(f);
	b[at] ^= 0x01;
	ck_assert_msg(check_proof(bad) == 1, "byte %zu of %zu changed: not refused (see %s)", at, n,
		      ctl_out);
	ck_assert_msg(count_lines_in(ctl_out, "FAILED: ") >= 1 &&
			      count_lines_in(ctl_out, "refused: ") == 1,
		      "byte %zu changed: refused without naming what failed", at);
}

/*
 * The daemon and hoursctl under test are the sanitized build (make
 * check's first pass, build/san), where each check-proof costs several
 * times what it costs in the plain build that make check runs next.
 */
static bool sanitized_build(void)
{
	size_t n = strlen(bindir);
	return n >= 3 && strcmp(bindir + n - 3, "san") == 0 && (n == 3 || bindir[n - 4] == '/');
}

/*
 * One byte changed, at many places of the bundle, each part of it
 * reached: every byte of its first 150 (the format, the student, the
 * part, the packet's id) and of its last 50 (the checkpoint), and places
 * spread over the packet's body (40), the terminals' certificates (40),
 * the records' frames, leaves and paths (120) and the log's batches (80).
 * Each is refused, with a line naming what failed.  The plain build's
 * pass checks all 480 places; the sanitized pass, which looks for memory
 * errors rather than missed changes, every eighth of them (60, each part
 * reached).  Every place is still checked by each make check.
 */
START_TEST(test_prove_one_byte_changed)
{
	pushed_and_proved();
	FILE *f = fopen(bundle, "rb");
	ck_assert_ptr_nonnull(f);
	struct stat st;
	ck_assert_int_eq(fstat(fileno(f), &st), 0);
	size_t n = (size_t)st.st_size;
	char *b = malloc(n);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(fread(b, 1, n, f), n);
	fclose(f);
	char bad[700];
	snprintf(bad, sizeof(bad), "%s/proof-bad.json", work);
	size_t body = find(b, n, 0, "\"body\""), terms = find(b, n, 0, "\"terminals\""),
	       recs = find(b, n, 0, "\"records\""), log = find(b, n, 0, "\"log\"");
	ck_assert(body < terms && terms < recs && recs < log && log + 200 < n);
	const struct {
		size_t from, to, count;
	} parts[] = {
		{0, 150, 150},	  {body, terms, 40}, {terms, recs, 40},
		{recs, log, 120}, {log, n - 50, 80}, {n - 50, n, 50},
	};
	int tried = 0, checked = 0, every = sanitized_build() ? 8 : 1;
	for (size_t p = 0; p < ARRAY_SIZE(parts); p++) {
		size_t step = (parts[p].to - parts[p].from) / parts[p].count;
		for (size_t k = 0; k < parts[p].count; k++, tried++)
			if (tried % every == 0) {
				refused_changed(b, n, parts[p].from + k * (step ? step : 1), bad);
				checked++;
			}
	}
	ck_assert_int_eq(tried, 480);
	ck_assert_int_eq(checked, 480 / every);
	free(b);
	/* the bundle itself is still good */
	ck_assert_int_eq(check_proof(bundle), 0);
}
END_TEST

/*
 * A part pushed under the national profile: its body has no
 * records_sha256 but the student, the subject and a recarray of the
 * records' own numbers, which check-proof holds to the records proven;
 * a body whose rnum is changed is refused.
 */
START_TEST(test_prove_national)
{
	pushed_and_proved_as(true);
	ck_assert_int_eq(db_value("SELECT count(*) FROM push_packet WHERE profile = 'national'"
				  " AND state = 'done' AND body LIKE '%\"recarray\":[{\"rnum\":%'",
				  NULL, NULL),
			 1);
	ck_assert_msg(check_proof(bundle) == 0, "check-proof refused a national proof; see %s",
		      ctl_out);
	ck_assert_int_eq(count_lines_in(ctl_out, "UTC+8  record "), 1440);
	ck_assert_int_eq(count_lines_in(ctl_out, "national body of student"), 1);
	ck_assert_int_eq(count_lines_in(ctl_out, "records is one of the 1440 proven"), 1);
	ck_assert_int_eq(count_lines_in(ctl_out, "records_sha256"), 0);
	ck_assert_int_eq(count_lines_in(ctl_out, "proved: the 1440 minutes of student"), 1);
	ck_assert_int_eq(count_lines_in(ctl_out, "FAILED"), 0);
	/* a digit of the body's first rnum changed: the body is not the one logged */
	FILE *f = fopen(bundle, "rb");
	ck_assert_ptr_nonnull(f);
	struct stat st;
	ck_assert_int_eq(fstat(fileno(f), &st), 0);
	size_t n = (size_t)st.st_size;
	char *b = malloc(n), bad[700];
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(fread(b, 1, n, f), n);
	fclose(f);
	snprintf(bad, sizeof(bad), "%s/proof-bad.json", work);
	size_t at = find(b, n, 0, "rnum");
	ck_assert_uint_lt(at + 12, n);
	refused_changed(b, n, at + 12, bad);
	ck_assert_int_ge(count_lines_in(ctl_out, "FAILED: packet"), 1);
	free(b);
}
END_TEST

TCase *tcase_prove(void)
{
	TCase *tc = tcase_create("prove");
	tcase_set_timeout(tc, 300);
	tcase_add_checked_fixture(tc, push_setup, push_teardown);
	tcase_add_test(tc, test_prove_round_trip);
	tcase_add_test(tc, test_prove_one_byte_changed);
	tcase_add_test(tc, test_prove_national);
	return tc;
}
