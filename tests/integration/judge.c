/*
 * judge.c - the judge's batch sizes (judge.busy_batch_rows): while ingest
 * commits, a batch takes at most that many records; on what is left with
 * ingest quiet, judge.batch_max_rows.  Whatever the sizes, every record
 * is judged exactly once, with the decisions of one large batch.  The
 * tcase "judge".
 */
#include "harness.h"

/*
 * A first lesson judged (the batch hoursd starts with is over); then the
 * judge held on a lock on progress while ingest queues a second lesson
 * (its commits mark ingest busy).  Released, the judge takes 7 records a
 * batch until ingest has been quiet through one, then the rest at once.
 */
START_TEST(test_busy_batches)
{
	start_hoursd_tail(NULL, "judge:\n  busy_batch_rows: 7\n");
	ck_assert_int_eq(termsim("term-" T1, T1,
				 words("--lesson 50 --record-start %lld " PART3, morning(1))),
			 0);
	ck_assert(wait_value("SELECT count(*) FROM record_judgement", NULL, 50, 20));
	PGconn *lock = db_connect(test_ci);
	db_exec(lock, "BEGIN");
	db_exec(lock, "LOCK TABLE progress IN SHARE ROW EXCLUSIVE MODE");
	ck_assert_int_eq(termsim("term-" T1, T1,
				 words("--lesson 100 --record-seq 51 --record-start %lld " PART3,
				       morning(1) + 50 * 60)),
			 0);
	ck_assert_int_eq(out_value("records_ok"), 100);
	db_exec(lock, "COMMIT");
	PQfinish(lock);
	ck_assert(wait_value("SELECT count(*) FROM record_judgement", NULL, 150, 20));
	ck_assert_int_eq(db_value("SELECT count(*) FROM judge_queue", NULL, NULL), 0);
	/* A batch's judgements share its transaction's judged_at. */
	ck_assert_int_ge(db_value("SELECT count(*) FROM (SELECT judged_at FROM record_judgement"
				  " GROUP BY judged_at HAVING count(*) = 7) b",
				  NULL, NULL),
			 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM record_verdict WHERE verdict = 'accepted'",
				  NULL, NULL),
			 150);
	ck_assert_int_eq(db_value("SELECT count(*) FROM minute_claim", NULL, NULL), 150);
	ck_assert_int_eq(db_value("SELECT vehicle FROM progress", NULL, NULL), 150);
	ck_assert_int_eq(db_value("SELECT minutes FROM progress_day", NULL, NULL), 150);
	/* The decisions and progress are those recompute derives from the records. */
	ck_assert_int_eq(hoursctl_run("recompute"), 0);
	stop_hoursd();
}
END_TEST

TCase *tcase_judge(void)
{
	TCase *tc = tcase_create("judge");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_busy_batches);
	return tc;
}
