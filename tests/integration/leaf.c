/*
 * leaf.c - a training record's leaf, computed by hoursd's ingest and
 * stored with its row (migration 025, docs/audit.md "A training record's
 * leaf"); the tcase "leaf".
 */
#include "harness.h"

/* The leaves PostgreSQL computes from the rows' columns (015's leaf_expr) as sorted hex. */
#define SQL_LEAVES                                                                                 \
	"(SELECT string_agg(encode(sha256('\\x00'::bytea || data), 'hex'), ',' ORDER BY 1)"        \
	"   FROM audit_log_leaves(-9223372036854775807, 9223372036854775807, false)"               \
	"  WHERE tbl = 'training_record')"
/* The leaves hoursd stored, as sorted hex. */
#define STORED_LEAVES                                                                              \
	"(SELECT string_agg(encode(leaf, 'hex'), ',' ORDER BY 1) FROM training_record)"

/*
 * Each record hoursd stores carries its leaf, the very hash PostgreSQL
 * computes from the row's columns (the same bytes, written another way),
 * and the log takes it: verify, which recomputes every leaf from the
 * columns, is clean.
 */
START_TEST(test_stored_leaves_are_the_columns)
{
	start_hoursd_as("leaf_hoursd");
	ck_assert_int_eq(termsim("term-" T1, T1, "--lesson 6 " PART3), 0);
	ck_assert_int_eq(out_value("records_ok"), 6);
	wait_logged();
	stop_hoursd();
	ck_assert_int_eq(
		db_value("SELECT count(*) FROM training_record WHERE leaf IS NULL", NULL, NULL), 0);
	ck_assert_int_eq(db_value("SELECT count(*) FROM training_record", NULL, NULL), 6);
	ck_assert_int_eq(db_value("SELECT (" SQL_LEAVES " = " STORED_LEAVES ")::int", NULL, NULL),
			 1);
	ck_assert_int_eq(sv_verify(NULL), 0);
	ck_assert(sv_said("audit verify: clean"));
}
END_TEST

/*
 * A stored leaf that does not say what its row says: the superuser copies
 * a genuine record under another number, its leaf with it, so that the
 * log takes the genuine record's hash for the forged row.  The chain
 * stage's check before a checkpoint recomputes the leaves from the
 * columns, not from the column leaf: it refuses to sign.  verify does the
 * same and names the row; the genuine one is not named.
 */
START_TEST(test_copied_leaf_is_named)
{
	start_hoursd_as("leaf_hoursd");
	ck_assert_int_eq(termsim("term-" T1, T1, "--lesson 3 " PART3), 0);
	wait_logged();
	PGconn *c = db_connect(test_ci);
	db_exec(c, "INSERT INTO training_record (terminal_id, record_no, record_time, student_no,"
		   " coach_no, class_id, course_code, part, mode, vehicle_class, upload_type,"
		   " record_status, max_speed_dkmh, mileage_dkm, lat_e6, lon_e6, fix_valid,"
		   " gnss_time, session_login_at, verdict, reason, raw, raw_sha256, received_at,"
		   " signed, leaf)"
		   " SELECT terminal_id, 'COPIED' || substr(record_no, 7), record_time, student_no,"
		   " coach_no, class_id, course_code, part, mode, vehicle_class, upload_type,"
		   " record_status, max_speed_dkmh, mileage_dkm, lat_e6, lon_e6, fix_valid,"
		   " gnss_time, session_login_at, verdict, reason, raw, raw_sha256, received_at,"
		   " signed, leaf FROM training_record"
		   " WHERE record_no = (SELECT max(record_no) FROM training_record)");
	PQfinish(c);
	ck_assert_msg(wait_value("SELECT (NOT EXISTS (SELECT 1 FROM audit_log_leaves("
				 "(SELECT hi FROM audit_log_head), 9223372036854775807, false))"
				 " AND EXISTS (SELECT 1 FROM training_record t JOIN audit_batch b"
				 " ON t.audit_xid >= b.lo AND t.audit_xid < b.hi"
				 " WHERE t.record_no LIKE 'COPIED%'))::int",
				 NULL, 1, 15),
		      "the copy not logged in 15 s");
	for (int i = 0; i < 100 && !log_has("audit: checkpoint refused"); i++)
		usleep(50000);
	ck_assert(log_has("its rows are not what was logged"));
	stop_hoursd();
	ck_assert_int_eq(sv_verify(NULL), 1);
	ck_assert(sv_said("row: training_record "));
	ck_assert(sv_said("COPIED"));
	ck_assert(sv_said("not as logged in batch"));
	ck_assert_int_eq(count_lines_in(ctl_out, "row: training_record "), 1);
}
END_TEST

TCase *tcase_leaf(void)
{
	TCase *tc = tcase_create("leaf");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_stored_leaves_are_the_columns);
	tcase_add_test(tc, test_copied_leaf_is_named);
	return tc;
}
