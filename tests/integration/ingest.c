/*
 * ingest.c - what ingest's cheaper path (migration 026) keeps true; the
 * tcase "ingest".
 *
 * The rows each batch writes no longer check their terminal by a foreign
 * key: a terminal is never removed instead (nor its id changed), by anyone, the owner
 * included, so every row still names a terminal that exists.
 */
#include "harness.h"

/* sql on c fails with an error that says why. */
static void refused(PGconn *c, const char *sql, const char *why)
{
	PGresult *r = PQexec(c, sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_FATAL_ERROR, "%s: allowed", sql);
	ck_assert_msg(strstr(PQresultErrorMessage(r), why) != NULL, "%s: %s (not \"%s\")", sql,
		      PQresultErrorMessage(r), why);
	PQclear(r);
}

START_TEST(test_terminal_never_removed)
{
	long long n = db_value("SELECT count(*) FROM terminal", NULL, NULL);
	ck_assert_int_gt(n, 0);
	PGconn *c = db_connect(test_ci);
	refused(c, "DELETE FROM terminal", "never removed");
	refused(c, "UPDATE terminal SET id = id + 1000", "GENERATED ALWAYS");
	refused(c, "TRUNCATE terminal CASCADE", "never removed");
	db_exec(c, "UPDATE terminal SET status = 'active'");
	PQfinish(c);
	ck_assert_int_eq(db_value("SELECT count(*) FROM terminal", NULL, NULL), n);
	ck_assert_int_eq(
		db_value("SELECT count(*) FROM terminal WHERE status = 'active'", NULL, NULL), n);
}
END_TEST

TCase *tcase_ingest(void)
{
	TCase *tc = tcase_create("ingest");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_terminal_never_removed);
	return tc;
}
