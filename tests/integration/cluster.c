/*
 * cluster.c - several instances, failover (docs/scaling.md); the tcase
 * "cluster".
 */
#include "harness.h"

/* Terminate every client backend of the test database but our own: hoursd's. */
static long long terminate_backends(PGconn *c)
{
	PGresult *r = PQexec(c, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
				" WHERE datname = current_database() AND pid <> pg_backend_pid()"
				" AND backend_type = 'client backend'");
	ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	long long n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return n;
}

/*
 * A server that ends hoursd's connections with an error (57P01, what a
 * backend says when its primary is shut down or killed under it before a
 * failover) while batches are in flight: the statements are sent again
 * after the reconnect, not answered as failed, so every record of a lesson
 * sent as fast as it goes is answered 0 and stored once.  Before db.c took
 * 57P01 for a lost connection, the batch in flight was answered failure.
 */
START_TEST(test_backends_terminated_mid_batch)
{
	start_hoursd(NULL);
	PGconn *c = db_connect(test_ci);
	pid_t ts = termsim_start(
		"term-" T1, T1,
		words("--lesson 240 --window 64 --timeout 60 --record-start %lld " PART3,
		      morning(3)));
	long long terminated = 0;
	int status = 0;
	bool done = false;
	for (int i = 0; i < 400 && !done; i++) {
		done = waitpid(ts, &status, WNOHANG) == ts;
		if (!done) {
			terminated += terminate_backends(c);
			usleep(20 * 1000);
		}
	}
	PQfinish(c);
	int rc = !done ? wait_exit(ts, 90) : WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	ck_assert_msg(terminated > 0, "no backend of hoursd was terminated");
	ck_assert_msg(rc == 0, "termsim exited %d: a record was not answered 0; see %s", rc,
		      out_path);
	ck_assert_int_eq(out_value("records_ok"), 240);
	ck_assert_int_eq(records_of(T1, "accepted", NULL), 240);
	ck_assert(log_has("terminating connection due to administrator command"));
	ck_assert(!log_has("answering failure"));
	stop_hoursd();
}
END_TEST

/*
 * hoursd connected to a node that takes no writes (SQLSTATE 25006: a
 * standby, or a demoted primary a balancer still points at just after a
 * failover): each statement refused so is sent again after a reconnect,
 * until the connection reaches a node that writes, instead of being
 * answered failure on a connection that would refuse it forever.  Here
 * the database itself is read-only for new sessions for a while.
 */
START_TEST(test_read_only_node_then_writable)
{
	start_hoursd(NULL);
	PGconn *c = db_connect(test_ci);
	db_exec(c, "ALTER DATABASE hoursd_test SET default_transaction_read_only = on");
	ck_assert_int_gt(terminate_backends(c), 0); /* hoursd reconnects: read-only sessions */
	pid_t ts = termsim_start(
		"term-" T1, T1,
		words("--lesson 20 --timeout 60 --record-start %lld " PART3, morning(2)));
	usleep(2000 * 1000);
	db_exec(c, "ALTER DATABASE hoursd_test SET default_transaction_read_only = off");
	PQfinish(c);
	ck_assert_int_eq(wait_exit(ts, 90), 0);
	ck_assert_int_eq(out_value("records_ok"), 20);
	ck_assert_int_eq(records_of(T1, "accepted", NULL), 20);
	ck_assert(log_has("(sqlstate 25006)"));
	ck_assert(!log_has("answering failure"));
	stop_hoursd();
}
END_TEST

TCase *tcase_cluster(void)
{
	TCase *tc = tcase_create("cluster");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_backends_terminated_mid_batch);
	tcase_add_test(tc, test_read_only_node_then_writable);
	return tc;
}
