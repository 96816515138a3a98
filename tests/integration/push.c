/*
 * push.c - the push to the police platform (policesim): delivery, the body
 * as the contract says, faults, the field map; the tcase "push".
 */
#include "harness.h"

/* A lesson to a met part (C1 part 3, 1440 minutes over 6 days) and its one accepted push. */
START_TEST(test_push_lesson_accepted)
{
	start_policesim(NULL, NULL);
	start_hoursd_push(NULL);
	for (int d = 0; d < 6; d++) {
		char *w = words("--lesson 240 --window 64 --record-start %lld --record-seq %d %s",
				morning(6 - d), 1 + 240 * d, PART3);
		ck_assert_int_eq(termsim("term-" T1, T1, w), 0);
	}
	ck_assert_int_eq(db_value("SELECT count(*) FROM push_packet", NULL, NULL), 1);
	ck_assert_msg(
		wait_value("SELECT count(*) FROM push_packet WHERE state = $1", "done", 1, 20),
		"the packet was not delivered; see %s and %s", log_path, psim_log);
	PGconn *c = db_connect(test_ci);
	PGresult *r = PQexec(c, "SELECT id FROM push_packet");
	ck_assert_int_eq(PQntuples(r), 1);
	char id[40];
	snprintf(id, sizeof(id), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	ck_assert_int_eq(count_lines_in(psim_store, id), 1);
	ck_assert_int_eq(count_lines_in(psim_store, "\\\"total_minutes\\\":1440"), 1);
	ck_assert_int_eq(count_lines_in(psim_store, "\\\"record_count\\\":1440"), 1);
	ck_assert_int_eq(count_lines_in(psim_store, "\\\"school_code\\\":\\\"S001\\\""), 1);
	ck_assert_int_eq(attempts_with("accepted"), 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM push_attempt WHERE http_status = 200"
				  " AND latency_ms >= 0 AND answer LIKE '%accepted%'",
				  NULL, NULL),
			 1);
	ck_assert_int_eq(psim_stat("accepted"), 1);
	ck_assert_int_eq(psim_stat("duplicates"), 0);
	stop_hoursd();
	stop_policesim();
}
END_TEST

/*
 * The body as the contract defines it, byte for byte (its example digest),
 * signed and verified; hoursctl push list/show; the metrics.
 */
START_TEST(test_push_body_as_the_contract_says)
{
	static char page[1 << 17];
	seed_packets(1);
	start_policesim(NULL, NULL);
	start_hoursd_push(NULL);
	ck_assert(wait_value("SELECT count(*) FROM push_packet WHERE state = $1", "done", 1, 15));
	char created[64], want[1200];
	PGconn *c = db_connect(test_ci);
	PGresult *r = PQexec(c, "SELECT to_char(created_at AT TIME ZONE 'Asia/Shanghai',"
				"'YYYY-MM-DD\"T\"HH24:MI:SS\"+08:00\"'), body FROM push_packet");
	ck_assert_int_eq(PQntuples(r), 1);
	snprintf(created, sizeof(created), "%s", PQgetvalue(r, 0, 0));
	snprintf(want, sizeof(want),
		 "{\"backfill_form\":null,\"backfilled\":false,\"backfilled_minutes\":0,"
		 "\"classroom_minutes\":0,"
		 "\"created_at\":\"%s\",\"first_minute\":\"2026-03-01T08:00:00+08:00\","
		 "\"id_card_sha256\":\"" SPECIMEN_ID_SHA256 "\","
		 "\"last_minute\":\"2026-03-20T17:59:00+08:00\",\"mileage_km\":\"123.4\","
		 "\"packet_id\":\"" PACKET "\",\"part\":3,\"record_count\":3,"
		 "\"records_sha256\":\"" RECORDS_SHA256 "\",\"remote_minutes\":0,"
		 "\"school_code\":\"S001\",\"simulator_minutes\":0,"
		 "\"student_no\":\"S000000000000001\",\"subject\":3,\"total_minutes\":3,"
		 "\"vehicle_class\":\"C1\",\"vehicle_minutes\":3,\"version\":1}",
		 created);
	ck_assert_str_eq(PQgetvalue(r, 0, 1), want);
	PQclear(r);
	PQfinish(c);
	/* policesim checked the signature and the canonical form before storing it. */
	ck_assert_int_eq(count_lines_in(psim_store, PACKET), 1);
	ck_assert_int_eq(count_lines_in(psim_store, "\"alg\":\"RSA-SHA256\""), 1);
	ck_assert_int_eq(hoursctl_run("push list"), 0);
	ck_assert_int_eq(count_lines_in(ctl_out, PACKET), 1);
	ck_assert_int_eq(hoursctl_run("push show " PACKET), 0);
	ck_assert_int_eq(count_lines_in(ctl_out, "accepted  {\"result\":\"accepted\"}"), 1);
	admin_get("/metrics", page, sizeof(page));
	ck_assert_int_eq(metric(page, "hoursd_push_attempts_total{outcome=\"accepted\"}"), 1);
	ck_assert_int_eq(metric(page, "hoursd_push_enabled"), 1);
	stop_hoursd();
	stop_policesim();
}
END_TEST

/* No platform at first (refused), then one that answers 503 and 429: delivered once. */
START_TEST(test_push_platform_down_then_back)
{
	seed_packets(1);
	start_hoursd_push(NULL);
	ck_assert_msg(
		wait_value("SELECT count(*) FROM push_attempt WHERE outcome = $1", "error", 2, 15),
		"no failed attempts while the platform is down; see %s", log_path);
	ck_assert_int_eq(packets_in("pending") + packets_in("sending"), 1);
	start_policesim("5xx:2,busy:1", NULL);
	ck_assert_msg(
		wait_value("SELECT count(*) FROM push_packet WHERE state = $1", "done", 1, 30),
		"not delivered after the platform came back; see %s", log_path);
	ck_assert_int_eq(count_lines_in(psim_store, PACKET), 1);
	ck_assert_int_eq(attempts_with("retry"), 3);
	ck_assert_int_eq(attempts_with("accepted"), 1);
	ck_assert_int_eq(
		db_value("SELECT count(*) FROM push_attempt WHERE http_status = 429", NULL, NULL),
		1);
	ck_assert_int_eq(psim_stat("accepted"), 1);
	ck_assert_int_eq(psim_stat("duplicates"), 0);
	stop_hoursd();
	stop_policesim();
}
END_TEST

/*
 * A platform whose certificate is valid, from the configured CA, but names
 * another host: hoursd sends nothing to it (policesim receives no request)
 * and keeps the packet; the same platform with its own certificate then
 * gets it once.  The host name check is the only difference.
 */
START_TEST(test_push_host_name_mismatch)
{
	seed_packets(1);
	psim_server = "server-other";
	start_policesim(NULL, NULL);
	start_hoursd_push(NULL);
	ck_assert_msg(
		wait_value("SELECT count(*) FROM push_attempt WHERE outcome = $1", "error", 2, 15),
		"no failed attempts against a certificate for another host; see %s", log_path);
	ck_assert_int_eq(packets_in("pending") + packets_in("sending"), 1);
	ck_assert_int_eq(psim_stat("received"), 0);
	ck_assert_int_eq(count_lines_in(psim_store, PACKET), 0);
	ck_assert_int_ge(count_lines_with("hostname mismatch"), 1);
	stop_policesim();
	psim_server = "server";
	start_policesim(NULL, NULL);
	ck_assert_msg(
		wait_value("SELECT count(*) FROM push_packet WHERE state = $1", "done", 1, 30),
		"not delivered once the platform's certificate names it; see %s", log_path);
	ck_assert_int_eq(count_lines_in(psim_store, PACKET), 1);
	ck_assert_int_eq(psim_stat("accepted"), 1);
	stop_hoursd();
	stop_policesim();
}
END_TEST

/*
 * hoursd killed while its request waits for a slow answer (the platform
 * has stored the packet): the packet stays 'sending' under its lease, a
 * restarted hoursd takes it when the lease ends, with the same id; the
 * platform answers duplicate and the packet is stored once.
 */
START_TEST(test_push_sigkill_mid_push)
{
	seed_packets(1);
	start_policesim("slow:3000", NULL);
	start_hoursd_push("  timeout_s: 4\n");
	for (int i = 0; i < 100 && count_lines_in(psim_store, PACKET) == 0; i++)
		usleep(50000);
	ck_assert_int_eq(count_lines_in(psim_store, PACKET), 1);
	kill(hoursd_pid, SIGKILL);
	waitpid(hoursd_pid, NULL, 0);
	hoursd_pid = 0;
	ck_assert_int_eq(packets_in("sending"), 1);
	ck_assert_int_eq(attempts_with("accepted") + attempts_with("duplicate"), 0);
	start_hoursd_push("  timeout_s: 4\n");
	/* Within the lease nobody takes it again. */
	usleep(1500 * 1000);
	ck_assert_int_eq(psim_stat("received"), 1);
	ck_assert_msg(
		wait_value("SELECT count(*) FROM push_packet WHERE state = $1", "done", 1, 20),
		"not delivered after the restart; see %s", log_path);
	ck_assert_int_eq(count_lines_in(psim_store, PACKET), 1);
	ck_assert_int_eq(psim_stat("accepted"), 1);
	ck_assert_int_eq(psim_stat("duplicates"), 1);
	ck_assert_int_eq(psim_stat("duplicates_differing"), 0);
	ck_assert_int_eq(attempts_with("duplicate"), 1);
	ck_assert_int_eq(db_value("SELECT attempts FROM push_packet", NULL, NULL), 2);
	stop_hoursd();
	stop_policesim();
}
END_TEST

/*
 * Every fault at once over five packets: a timeout, a reset, a rejection
 * (failed at once, then re-driven by hoursctl), a garbled answer, a 10 MB
 * answer, a "duplicate" for a new packet.  Each packet stored once, none
 * stuck in 'sending', the sanitized daemon exits 0.
 */
START_TEST(test_push_faults)
{
	seed_packets(5);
	start_policesim("timeout:1,reset:1,reject:1,garbage:1,huge:1,dup:1", NULL);
	start_hoursd_push("  concurrency: 2\n");
	ck_assert_msg(wait_value("SELECT count(*) FROM push_packet WHERE state IN ('done', $1)",
				 "failed", 5, 40),
		      "packets still pending; see %s", log_path);
	ck_assert_int_eq(packets_in("failed"), 1);
	ck_assert_int_eq(attempts_with("rejected"), 1);
	ck_assert_int_ge(attempts_with("error"), 4); /* timeout, reset, garbage, huge */
	ck_assert_int_ge(attempts_with("duplicate"), 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM push_packet WHERE state = 'failed'"
				  " AND last_error LIKE $1",
				  "injected: %", NULL),
			 1);
	ck_assert_int_eq(
		db_value("SELECT max(length(answer)) FROM push_attempt", NULL, NULL) <= 4096, 1);
	/* The operator re-drives the rejected packet: the same id, delivered now. */
	PGconn *c = db_connect(test_ci);
	PGresult *r = PQexec(c, "SELECT id FROM push_packet WHERE state = 'failed'");
	char id[40];
	snprintf(id, sizeof(id), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	ck_assert_int_eq(count_lines_in(psim_store, id), 0);
	ck_assert_int_eq(hoursctl_run("push retry %s", id), 0);
	ck_assert(wait_value("SELECT count(*) FROM push_packet WHERE state = $1", "done", 5, 20));
	ck_assert_int_eq(packets_in("sending"), 0);
	ck_assert_int_eq(count_lines_in(psim_store, "\"packet_id\""), 5);
	ck_assert_int_eq(count_lines_in(psim_store, id), 1);
	ck_assert_int_eq(psim_stat("accepted"), 5);
	ck_assert_int_eq(psim_stat("duplicates_differing"), 0);
	stop_hoursd(); /* exit 0: no leak, no sanitizer report */
	stop_policesim();
}
END_TEST

/*
 * A field map renames the members (policesim reads it back); a map that
 * breaks the contract's rules refuses the whole reload.
 */
START_TEST(test_push_field_map_and_reload)
{
	char map[600], extra[700];
	snprintf(map, sizeof(map), "%s/field-map.json", work);
	FILE *f = fopen(map, "w");
	ck_assert_ptr_nonnull(f);
	fputs("{\"school_code\": \"inscode\", \"student_no\": \"stunum\","
	      " \"total_minutes\": \"totaltime\", \"mileage_km\": \"mileage\"}\n",
	      f);
	fclose(f);
	seed_packets(1);
	start_policesim(NULL, map);
	snprintf(extra, sizeof(extra), "  field_map: %s\n", map);
	start_hoursd_push(extra);
	ck_assert(wait_value("SELECT count(*) FROM push_packet WHERE state = $1", "done", 1, 15));
	ck_assert_int_eq(count_lines_in(psim_store, "\\\"inscode\\\":\\\"S001\\\""), 1);
	ck_assert_int_eq(count_lines_in(psim_store, "school_code"), 0);
	/* Two members under one name: the reload is refused, the old map stays. */
	f = fopen(map, "w");
	ck_assert_ptr_nonnull(f);
	fputs("{\"school_code\": \"stunum\", \"student_no\": \"stunum\"}\n", f);
	fclose(f);
	kill(hoursd_pid, SIGHUP);
	usleep(500 * 1000);
	ck_assert(log_has("reload refused, the running configuration stays: push.field_map"));
	f = fopen(map, "w");
	ck_assert_ptr_nonnull(f);
	fputs("{\"packet_no\": \"id\"}\n", f);
	fclose(f);
	kill(hoursd_pid, SIGHUP);
	usleep(500 * 1000);
	ck_assert_int_eq(count_lines_with("reload refused, the running configuration stays: "
					  "push.field_map"),
			 2);
	stop_hoursd();
	stop_policesim();
}
END_TEST

TCase *tcase_push(void)
{
	TCase *tc = tcase_create("push");
	tcase_set_timeout(tc, 90);
	tcase_add_checked_fixture(tc, push_setup, push_teardown);
	tcase_add_test(tc, test_push_lesson_accepted);
	tcase_add_test(tc, test_push_body_as_the_contract_says);
	tcase_add_test(tc, test_push_platform_down_then_back);
	tcase_add_test(tc, test_push_host_name_mismatch);
	tcase_add_test(tc, test_push_sigkill_mid_push);
	tcase_add_test(tc, test_push_faults);
	tcase_add_test(tc, test_push_field_map_and_reload);
	return tc;
}
