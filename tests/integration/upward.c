/*
 * upward.c - master data upward under the national profile: the
 * registry's schools, coaches, vehicles, terminals, bindings and students
 * sent to the strict platform once and in order, the DELETEs when a coach
 * or vehicle is retired, a refusal that stays with its item, and the
 * teaching log's carnum from the bound vehicle; the tcase "upward".
 */
#include "harness.h"

static void ctl_ok(const char *line)
{
	ck_assert_msg(hoursctl_run("%s", line) == 0, "hoursctl %s failed", line);
}

static long long items(const char *state)
{
	return db_value("SELECT count(*) FROM upward_item WHERE state = $1", state, NULL);
}

/* Every item done after the one before it: sent one at a time, in id order. */
static long long out_of_order(void)
{
	return db_value("SELECT count(*) FROM upward_item a JOIN upward_item b ON b.id > a.id"
			" WHERE a.state = 'done' AND b.state = 'done' AND b.done_at < a.done_at",
			NULL, NULL);
}

/*
 * A coach and a vehicle registered, the vehicle bound to T1: each goes up
 * after the school (the platform answers 100 for a coach of a school it
 * was never sent), with the platform's members and types, its number
 * kept from the answer; the part's teaching log names the bound vehicle
 * as carnum.  Retiring the coach and the vehicle and unbinding T1 sends
 * /devRembinding and the DELETEs, each once; a restart sends none again.
 */
START_TEST(test_upward_registry_in_order)
{
	seed_packets(1);
	ctl_ok("coach add C000000000000001 --school S001 --name 王五 --teach 'C1 C2'"
	       " --id-card 11010519491231002X --hired 2020-01-01");
	ctl_ok("vehicle add 沪A12345 --school S001 --class C1 --number V000000000000001"
	       " --color 蓝 --make 大众 --model 捷达 --bought 2022-03-01 --terminal " T1);
	PGconn *c = db_connect(test_ci);
	/* Bound before the seeded records: the lesson's carnum is the vehicle's number. */
	db_exec(c, "UPDATE terminal_binding SET bound_at = now() - interval '30 days'");
	db_exec(c, "UPDATE training_record SET part = 1 WHERE student_no = 'S000000000000001'");
	db_exec(c, "UPDATE progress SET part = 1 WHERE student_no = 'S000000000000001'");
	db_exec(c, "UPDATE push_packet SET part = 1 WHERE student_no = 'S000000000000001'");
	PQfinish(c);
	long long n = db_value("SELECT count(*) FROM upward_item", NULL, NULL);
	ck_assert_int_ge(n, 6);
	ck_assert_int_eq(
		db_value("SELECT count(*) FROM upward_item WHERE kind = 'institution'"
			 " AND id > (SELECT min(id) FROM upward_item WHERE kind = 'coach')",
			 NULL, NULL),
		0);
	start_policesim_national(NULL);
	start_hoursd_push(NAT_EXTRA);
	ck_assert_msg(
		wait_value("SELECT count(*) FROM upward_item WHERE state = $1", "done", (int)n, 30),
		"not all sent; see %s and %s", log_path, psim_log);
	ck_assert_int_eq(items("failed"), 0);
	ck_assert_int_eq(out_of_order(), 0);
	ck_assert_int_eq(psim_stat("national_upward"), n);
	/* The coach: the identity card in clear (only here), the sex from it, the dates. */
	ck_assert_int_eq(
		db_value(
			"SELECT count(*) FROM upward_item WHERE kind = 'coach' AND method = 'POST'"
			" AND platform_no = 'C000000000000001' AND errorcode = 0"
			" AND body LIKE '{\"address\":\"\",\"coachnum\":\"C000000000000001\",%'"
			" AND body LIKE '%\"hiredate\":\"20200101\",\"idcard\":\"11010519491231002X\","
			"\"inscode\":\"S001\",%\"name\":\"王五\",%\"sex\":2,\"teachpermitted\":\"C1C2\"}'",
			NULL, NULL),
		1);
	ck_assert_int_eq(
		db_value(
			"SELECT count(*) FROM upward_item WHERE kind = 'trainingcar'"
			" AND platform_no = 'V000000000000001' AND body LIKE"
			" '{\"brand\":\"大众\",\"buydate\":\"20220301\",\"carnum\":\"V000000000000001\",%"
			"\"licnum\":\"沪A12345\",%\"perdritype\":\"C1\",%'",
			NULL, NULL),
		1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM upward_item WHERE kind = 'devassign'"
				  " AND body = '{\"carnum\":\"V000000000000001\","
				  "\"devnum\":\"4401000000000017\",\"sim\":\"13800000001\"}'",
				  NULL, NULL),
			 1);
	/* The teaching log of the lesson on T1 names the vehicle bound to it then. */
	ck_assert_msg(
		wait_value("SELECT count(*) FROM push_packet WHERE state = $1", "done", 1, 20),
		"not delivered; see %s and %s", log_path, psim_log);
	ck_assert_int_ge(db_value("SELECT count(*) FROM teaching_log_sent"
				  " WHERE body LIKE '%\"carnum\":\"V000000000000001\"%'",
				  NULL, NULL),
			 1);

	/* Retired and unbound: /devRembinding and the DELETEs, each once. */
	ctl_ok("vehicle unbind " T1);
	ctl_ok("coach retire C000000000000001");
	ctl_ok("vehicle retire 沪A12345");
	ck_assert_msg(wait_value("SELECT count(*) FROM upward_item WHERE state = $1", "done",
				 (int)n + 3, 30),
		      "not all sent; see %s and %s", log_path, psim_log);
	ck_assert_int_eq(items("failed"), 0);
	ck_assert_int_eq(out_of_order(), 0);
	ck_assert_int_eq(db_value("SELECT count(*) FROM upward_item WHERE method = 'DELETE'"
				  " AND state = 'done' AND key IN"
				  " ('C000000000000001', 'V000000000000001')",
				  NULL, NULL),
			 2);
	char jl[700];
	snprintf(jl, sizeof(jl), "%s/national.jsonl", nat_dir);
	ck_assert_int_eq(count_lines_in(jl, "/trainingCar-V000000000000001\""), 1);
	ck_assert_int_eq(count_lines_in(jl, "/coach-C000000000000001\""), 1);
	ck_assert_int_eq(count_lines_in(jl, "\"upkind\":\"devRembinding\""), 1);
	ck_assert_int_eq(psim_stat("national_upward"), n + 3);
	/* Exactly once: a restarted daemon sends none of them again. */
	stop_hoursd();
	start_hoursd_push(NAT_EXTRA);
	sleep(3);
	ck_assert_int_eq(psim_stat("national_upward"), n + 3);
	ck_assert_int_eq(psim_stat("national_refused"), 0);
	ck_assert_int_eq(db_value("SELECT sum(attempts) FROM upward_item", NULL, NULL), n + 3);
	stop_hoursd();
	stop_policesim();
}
END_TEST

/*
 * What the strict platform refuses stays with its item: a body of the
 * wrong types (200, the member named), a DELETE of a number it never
 * received (100); the items after them are sent all the same (a vehicle
 * without a national number among them, under its plate).
 */
START_TEST(test_upward_refused)
{
	PGconn *c = db_connect(test_ci);
	db_exec(c, "INSERT INTO upward_item (kind, method, ref, body) VALUES"
		   " ('coach', 'POST', 0, '{\"coachnum\":1}')");
	db_exec(c, "INSERT INTO upward_item (kind, method, ref, key) VALUES"
		   " ('coach', 'DELETE', 0, 'C999999999999999')");
	PQfinish(c);
	ctl_ok("coach add C000000000000002 --school S001 --name 赵六 --teach C1");
	/* A vehicle without a national number goes up under its plate. */
	ctl_ok("vehicle add 沪B00001 --school S001 --class C1");
	long long n = db_value("SELECT count(*) FROM upward_item", NULL, NULL);
	start_policesim_national(NULL);
	start_hoursd_push(NAT_EXTRA);
	ck_assert_msg(wait_value("SELECT count(*) FROM upward_item WHERE state IN ('done', $1)",
				 "failed", (int)n, 30),
		      "not all decided; see %s and %s", log_path, psim_log);
	ck_assert_int_eq(items("failed"), 2);
	ck_assert_int_eq(db_value("SELECT count(*) FROM upward_item WHERE state = 'failed'"
				  " AND errorcode = 200 AND last_error LIKE"
				  " 'errorcode 200: bad format: inscode%'",
				  NULL, NULL),
			 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM upward_item WHERE state = 'failed'"
				  " AND errorcode = 100 AND method = 'DELETE'",
				  NULL, NULL),
			 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM upward_item WHERE state = 'done'"
				  " AND kind = 'coach' AND body LIKE '%\"C000000000000002\"%'",
				  NULL, NULL),
			 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM upward_item WHERE state = 'done'"
				  " AND kind = 'trainingcar' AND platform_no = '沪B00001'",
				  NULL, NULL),
			 1);
	ck_assert_int_eq(items("done"), n - 2);
	/* hoursctl lists them with the platform's reason, and sends one again. */
	ck_assert_int_eq(hoursctl_run("push upward --state failed"), 0);
	ck_assert_int_eq(count_lines_in(ctl_out, "failed"), 2);
	ck_assert_int_eq(count_lines_in(ctl_out, "C999999999999999"), 1);
	ck_assert_int_eq(count_lines_in(ctl_out, "bad format: inscode"), 1);
	char id[32];
	snprintf(id, sizeof(id), "%lld",
		 db_value("SELECT id FROM upward_item WHERE method = 'DELETE' AND state = 'failed'",
			  NULL, NULL));
	ck_assert_int_eq(hoursctl_run("push upward-retry %s", id), 0);
	ck_assert_int_eq(hoursctl_run("push upward-retry %s", id), 1);
	ck_assert_int_eq(hoursctl_run("push upward-retry x1"), 2);
	ck_assert(wait_value("SELECT count(*) FROM upward_item WHERE state = 'failed'"
			     " AND attempts = $1::int",
			     "2", 1, 20));
	stop_hoursd();
	stop_policesim();
}
END_TEST

/*
 * A student's change after enrolment goes up again (/student), as the
 * public code sends it: once per change of what /student carries, after
 * the enrolment; a change of nothing it carries sends nothing.
 */
START_TEST(test_upward_student_changed)
{
	seed_packets(1);
	long long n = db_value("SELECT count(*) FROM upward_item", NULL, NULL);
	PGconn *c = db_connect(test_ci);
	db_exec(c, "UPDATE student SET vehicle_class = 'C2' WHERE student_no = 'S000000000000001'");
	db_exec(c, "UPDATE student SET scheduled_at = now() WHERE student_no = 'S000000000000001'");
	PQfinish(c);
	ck_assert_int_eq(db_value("SELECT count(*) FROM upward_item", NULL, NULL), n + 1);
	start_policesim_national(NULL);
	start_hoursd_push(NAT_EXTRA);
	ck_assert_msg(wait_value("SELECT count(*) FROM upward_item WHERE state = $1", "done",
				 (int)n + 1, 30),
		      "not all sent; see %s and %s", log_path, psim_log);
	ck_assert_int_eq(
		db_value("SELECT count(*) FROM upward_item WHERE kind = 'student'"
			 " AND state = 'done' AND body LIKE '%\"stunum\":\"S000000000000001\"%'"
			 " AND body LIKE '%\"perdritype\":\"C2\"%'",
			 NULL, NULL),
		2);
	ck_assert_int_eq(out_of_order(), 0);
	ck_assert_int_eq(psim_stat("national_refused"), 0);
	stop_hoursd();
	stop_policesim();
}
END_TEST

/*
 * A training site goes up as /region after its school, once, every
 * member a string as the relay sends them: its place among the school's
 * sites, its kind, the outer ring of its polygon; renaming it sends it
 * again, an import of the same polygon does not.
 */
START_TEST(test_upward_region)
{
	PGconn *c = db_connect(test_ci);
	db_exec(c, "INSERT INTO training_site (school_id, name, kind, geojson)"
		   " SELECT id, '一号场地', 'field', '{\"type\":\"Polygon\",\"coordinates\":"
		   "[[[121.1,31.1],[121.2,31.1],[121.2,31.2],[121.1,31.1]]]}'"
		   " FROM school WHERE code = 'S001'");
	db_exec(c, "UPDATE training_site SET updated_at = now() WHERE name = '一号场地'");
	PQfinish(c);
	long long n = db_value("SELECT count(*) FROM upward_item", NULL, NULL);
	ck_assert_int_eq(
		db_value("SELECT count(*) FROM upward_item WHERE kind = 'region'", NULL, NULL),
		db_value("SELECT count(*) FROM training_site", NULL, NULL));
	start_policesim_national(NULL);
	start_hoursd_push(NAT_EXTRA);
	ck_assert_msg(
		wait_value("SELECT count(*) FROM upward_item WHERE state = $1", "done", (int)n, 30),
		"not all sent; see %s and %s", log_path, psim_log);
	ck_assert_int_eq(out_of_order(), 0);
	ck_assert_int_eq(
		db_value("SELECT count(*) FROM upward_item WHERE kind = 'region' AND errorcode = 0"
			 " AND body LIKE '{\"address\":\"\",\"area\":\"0\",\"curvehnum\":\"%'"
			 " AND body LIKE '%\"inscode\":\"S001\",\"name\":\"一号场地\","
			 "\"polygon\":\"121.1,31.1;121.2,31.1;121.2,31.2;121.1,31.1\","
			 "\"seq\":\"%\",\"totalvehnum\":\"%\",\"type\":\"1\",\"vehicletype\":\"%'",
			 NULL, NULL),
		1);
	c = db_connect(test_ci);
	db_exec(c, "UPDATE training_site SET name = '二号场地' WHERE name = '一号场地'");
	PQfinish(c);
	ck_assert_msg(wait_value("SELECT count(*) FROM upward_item WHERE state = $1", "done",
				 (int)n + 1, 30),
		      "not sent again; see %s and %s", log_path, psim_log);
	char jl[700];
	snprintf(jl, sizeof(jl), "%s/national.jsonl", nat_dir);
	ck_assert_int_eq(
		count_lines_in(jl, "\"upkind\":\"region\""),
		db_value("SELECT count(*) FROM upward_item WHERE kind = 'region'", NULL, NULL));
	ck_assert_int_eq(psim_stat("national_refused"), 0);
	stop_hoursd();
	stop_policesim();
}
END_TEST

TCase *tcase_upward(void)
{
	TCase *tc = tcase_create("upward");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, push_setup, push_teardown);
	tcase_add_test(tc, test_upward_registry_in_order);
	tcase_add_test(tc, test_upward_refused);
	tcase_add_test(tc, test_upward_student_changed);
	tcase_add_test(tc, test_upward_region);
	return tc;
}
