/*
 * daemon.c - the daemon itself: frames and terminals on the TLS and plain
 * listeners, the national timing framing, the database going away, the
 * metrics, reload and SIGTERM; the tcase "daemon".
 */
#include "harness.h"
#include "jt808.h"
#include "syllabus.h"

/* Read until one whole frame has arrived and parse it (raw holds the unescaped bytes). */
static void read_frame(int fd, uint8_t *raw, struct jt808_msg *m)
{
	uint8_t buf[4096];
	size_t n = 0, len;
	struct jt808_scan sc;
	for (;;) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - n);
		ck_assert_msg(r > 0, "no answer from hoursd");
		n += (size_t)r;
		if (jt808_scan(buf, n, sizeof(buf), &sc) == JT808_SCAN_FRAME)
			break;
	}
	ck_assert_int_eq(jt808_unescape(buf + sc.start, sc.len, raw, &len), JT808_OK);
	ck_assert_int_eq(jt808_parse(raw, len, m), JT808_OK);
}

/*
 * A heartbeat of T6 as the escaped-sums device writes it: serial 0x7E01
 * puts an escape in the header, and the check code is the XOR of the
 * escaped bytes (the empty body's length is the same either way).
 */
static size_t faulty_heartbeat(uint8_t *out, size_t cap)
{
	struct jt808_header h = {.msg_id = 0x0002,
				 .layout = JT808_LTIMING,
				 .version = JT808_TIMING_VERSION,
				 .serial = 0x7e01};
	snprintf(h.phone, sizeof(h.phone), "0000%s", T6);
	size_t n = jt808_encode(&h, NULL, 0, out, cap), k = n - 2;
	uint8_t x = 0;
	for (size_t i = 1; i < k; i++)
		x ^= out[i];
	ck_assert(x != 0x7e && x != 0x7d && out[k] != x);
	out[k] = x;
	out[k + 1] = 0x7e;
	return k + 2;
}

static bool same_file(const char *a, const char *b)
{
	char cmd[2100];
	snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", a, b);
	return system(cmd) == 0;
}

/* Commands of T6 in a state (terminal_command_state), of one kind or all (NULL). */
static long long commands_in(const char *state, const char *kind)
{
	if (kind)
		return db_value("SELECT count(*) FROM terminal_command_state"
				" WHERE state = $1 AND kind = $2",
				state, kind);
	return db_value("SELECT count(*) FROM terminal_command_state WHERE state = $1", state,
			NULL);
}

static void pg_ctl(const char *what)
{
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "scripts/pg.sh %s '%s' >/dev/null", what, pgdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* The running hoursd's process.drain_timeout_s, by a reload (the key is reloadable). */
static void reload_drain_timeout(unsigned s)
{
	char buf[8192], key[64];
	FILE *f = fopen(conf_path, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *at = strstr(buf, "process:\n");
	ck_assert_ptr_nonnull(at);
	at += strlen("process:\n");
	snprintf(key, sizeof(key), "  drain_timeout_s: %u\n", s);
	int reloads = count_lines_with("reloaded");
	f = fopen(conf_path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "%.*s%s%s", (int)(at - buf), buf, key, at);
	fclose(f);
	kill(hoursd_pid, SIGHUP);
	for (int i = 0; i < 100 && count_lines_with("reloaded") == reloads; i++)
		usleep(20 * 1000);
	ck_assert_int_gt(count_lines_with("reloaded"), reloads);
}

START_TEST(test_lesson_stored_and_acked)
{
	start_hoursd(NULL);
	ck_assert_int_eq(termsim("term-" T1, T1, "--heartbeats 3 --positions 50"), 0);
	ck_assert_int_eq(out_value("register_result"), 0);
	ck_assert_int_eq(out_value("auth_result"), 0);
	ck_assert_int_eq(out_value("heartbeats_acked"), 3);
	ck_assert_int_eq(out_value("positions_acked"), 50);
	ck_assert_int_eq(acked_lines(), 50);
	ck_assert_int_eq(positions_of(T1), 50);
	stop_hoursd();
}
END_TEST

START_TEST(test_2019_header_and_batches)
{
	start_hoursd(NULL);
	ck_assert_int_eq(termsim("term-" T2, T2, "--v2019 --positions 40 --batch 10"), 0);
	ck_assert_int_eq(out_value("positions_acked"), 40);
	ck_assert_int_eq(positions_of(T2), 40);
	ck_assert_int_eq(acked_lines(), 40);
	stop_hoursd();
}
END_TEST

START_TEST(test_resent_positions_stored_once)
{
	start_hoursd(NULL);
	ck_assert_int_eq(termsim("term-" T1, T1, "--positions 20 --start-time 1764000000"), 0);
	ck_assert_int_eq(termsim("term-" T1, T1, "--positions 20 --start-time 1764000000"), 0);
	ck_assert_int_eq(out_value("positions_acked"), 20);
	ck_assert_int_eq(positions_of(T1), 20);
	stop_hoursd();
}
END_TEST

START_TEST(test_garbage_then_good_frames)
{
	start_hoursd(NULL);
	ck_assert_int_eq(termsim("term-" T1, T1, "--inject garbage --positions 10"), 0);
	ck_assert_int_eq(out_value("positions_acked"), 10);
	ck_assert_int_eq(positions_of(T1), 10);
	/* Junk right after a frame reads as a frame that fails its checks. */
	ck_assert(log_has("bytes of junk") || log_has("bad frame at byte"));
	stop_hoursd();
}
END_TEST

START_TEST(test_bad_check_code)
{
	start_hoursd(NULL);
	ck_assert_int_eq(termsim("term-" T1, T1, "--inject badcheck --positions 10"), 0);
	ck_assert_int_eq(out_value("positions_acked"), 10);
	/* The frame with the bad check code is neither acked nor stored. */
	ck_assert_int_eq(positions_of(T1), 10);
	ck_assert(log_has("bad frame at byte"));
	ck_assert(log_has("check"));
	stop_hoursd();
}
END_TEST

START_TEST(test_oversize_frame)
{
	start_hoursd(NULL);
	ck_assert_int_eq(termsim("term-" T1, T1, "--inject oversize --positions 10"), 0);
	ck_assert_int_eq(out_value("positions_acked"), 10);
	ck_assert_int_eq(positions_of(T1), 10);
	ck_assert(log_has("longer than connection.max_frame_bytes"));
	stop_hoursd();
}
END_TEST

START_TEST(test_unfinished_subpackage)
{
	start_hoursd(NULL);
	ck_assert_int_eq(termsim("term-" T1, T1, "--inject subpkg-unfinished --positions 10"), 0);
	ck_assert_int_eq(out_value("positions_acked"), 10);
	/* Half a message is held, never stored; the daemon's exit frees it (ASan checks). */
	ck_assert_int_eq(positions_of(T1), 10);
	stop_hoursd();
}
END_TEST

START_TEST(test_unknown_message_not_supported)
{
	start_hoursd(NULL);
	ck_assert_int_eq(termsim("term-" T1, T1, "--inject unknown-msg --positions 5"), 0);
	ck_assert_int_eq(out_value("unknown_result"), 3);
	ck_assert_int_eq(positions_of(T1), 5);
	stop_hoursd();
}
END_TEST

START_TEST(test_number_differs_from_certificate)
{
	start_hoursd(NULL);
	/* Terminal 1's certificate, terminal 2's number in the frames. */
	ck_assert_int_ne(termsim("term-" T1, T2, "--positions 5 --timeout 5"), 0);
	ck_assert_int_le(out_value("positions_acked"), 0);
	ck_assert(
		log_has("names terminal 13800000002, the certificate names 13800000001: refused"));
	ck_assert_int_eq(positions_of(T1) + positions_of(T2), 0);
	stop_hoursd();
}
END_TEST

START_TEST(test_unknown_terminal)
{
	start_hoursd(NULL);
	ck_assert_int_ne(termsim("term-" T3, T3, "--positions 5 --timeout 5"), 0);
	ck_assert_int_eq(out_value("register_result"), 4);
	ck_assert(log_has("not in the registry"));
	ck_assert_int_eq(db_value("SELECT count(*) FROM position", NULL, NULL), 0);
	stop_hoursd();
}
END_TEST

START_TEST(test_disabled_terminal)
{
	start_hoursd(NULL);
	ck_assert_int_ne(termsim("term-" T4, T4, "--positions 5 --timeout 5"), 0);
	ck_assert_int_eq(out_value("register_result"), 4);
	ck_assert(log_has("disabled"));
	ck_assert_int_eq(positions_of(T4), 0);
	stop_hoursd();
}
END_TEST

START_TEST(test_no_client_certificate)
{
	start_hoursd(NULL);
	ck_assert_int_ne(termsim(NULL, T1, "--positions 5 --timeout 5"), 0);
	ck_assert(log_has("TLS handshake failed"));
	ck_assert_int_eq(positions_of(T1), 0);
	stop_hoursd();
}
END_TEST

START_TEST(test_certificate_from_another_ca)
{
	start_hoursd(NULL);
	ck_assert_int_ne(termsim("rogue-" T1, T1, "--positions 5 --timeout 5"), 0);
	ck_assert(log_has("TLS handshake failed"));
	ck_assert_int_eq(positions_of(T1), 0);
	stop_hoursd();
}
END_TEST

START_TEST(test_plain_listener_for_legacy_terminals)
{
	int plain = free_port();
	char extra[64];
	snprintf(extra, sizeof(extra), "  plain: \"127.0.0.1:%d\"\n", plain);
	start_hoursd(extra);
	char words[128];
	snprintf(words, sizeof(words), "--plain --port %d --positions 10", plain);
	ck_assert_int_eq(termsim(NULL, T2, words), 0);
	ck_assert_int_eq(positions_of(T2), 10);
	stop_hoursd();
}
END_TEST

/* ---- the national timing framing on plain TCP ---- */

/* The escaped-sums fault: refused with "bad message" and the cause; taken with the quirk. */
START_TEST(test_timing_escaped_sums_quirk)
{
	uint8_t frame[64], raw[2048];
	struct jt808_msg m;
	uint16_t serial, id;
	uint8_t result;
	size_t n = faulty_heartbeat(frame, sizeof(frame));
	start_hoursd_plain(NULL);
	int fd = plain_connect();
	ck_assert_int_eq(write(fd, frame, n), (ssize_t)n);
	read_frame(fd, raw, &m);
	ck_assert_int_eq(m.h.layout, JT808_LTIMING);
	ck_assert_uint_eq(m.h.msg_id, JT808_P_GENERAL_ACK);
	ck_assert_int_eq(jt808_parse_general_ack(m.body, m.body_len, &serial, &id, &result),
			 JT808_OK);
	ck_assert_uint_eq(serial, 0x7e01);
	ck_assert_uint_eq(result, 2);
	close(fd);
	ck_assert(log_has("known device fault"));

	ck_assert_int_eq(hoursctl_run("terminal quirk " T6 " escaped-sums on"), 0);
	fd = plain_connect();
	ck_assert_int_eq(write(fd, frame, n), (ssize_t)n);
	read_frame(fd, raw, &m);
	ck_assert_int_eq(jt808_parse_general_ack(m.body, m.body_len, &serial, &id, &result),
			 JT808_OK);
	ck_assert_uint_eq(serial, 0x7e01);
	/* Taken: now it is a heartbeat before authentication, refused as such. */
	ck_assert_uint_eq(result, 1);
	ck_assert(log_has("message 0x0002 before authentication refused"));
	close(fd);
	stop_hoursd();
}
END_TEST

/*
 * A whole lesson the way a real timing terminal plays it: registration
 * whose answer brings the PKCS#12 in pieces (one dropped and asked for
 * again with 0x8003), a signed authentication with the key it carried,
 * signed logins and records, each answered in the timing layout; the
 * records stored accepted with both speeds and the GNSS extras.
 */
START_TEST(test_timing_terminal_lesson)
{
	char words[1400], got[700], want[700];
	snprintf(got, sizeof(got), "%s/received.p12", work);
	snprintf(want, sizeof(want), "%s/term-%s.p12", pki, T6);
	start_hoursd_plain(NULL);
	snprintf(words, sizeof(words), "--drop-piece 2 --p12-out %s --lesson 5 " PART3, got);
	ck_assert_int_eq(termsim_timing(words), 0);
	ck_assert(log_has("piece(s) of 0x8100 sent again on request"));
	ck_assert(log_has("registered: timing number " T6_NO));
	ck_assert_msg(same_file(got, want),
		      "the PKCS#12 received differs from the one provisioned");
	ck_assert_int_eq(records_of(T6, "accepted", NULL), 5);
	ck_assert_int_eq(db_value("SELECT count(*) FROM training_record WHERE signed"
				  " AND gnss_speed_dkmh > 0 AND recorder_speed_dkmh > 0"
				  " AND gnss_mileage_dkm IS NOT NULL AND engine_rpm IS NOT NULL"
				  " AND record_no LIKE $1 || '%'",
				  T6_NO, NULL),
			 5);
	ck_assert_int_eq(
		db_value("SELECT count(*) FROM session_event WHERE verdict = $1 AND signed",
			 "accepted", NULL),
		4);
	/* A photo whose init (0x0305) has GNSS extras: the confidence is its last byte. */
	ck_assert_int_eq(
		termsim_timing("--auth-ts-offset 1 --lesson 1 --record-seq 21 --photo 3000 "
			       "--student S000000000000066 --coach C000000000000066 " PART3),
		0);
	ck_assert_int_eq(db_value("SELECT count(*) FROM photo WHERE face_confidence = 90"
				  " AND size = $1::int",
				  "3000", NULL),
			 1);
	stop_hoursd();
}
END_TEST

/* A bad signature, a stale timestamp and a replayed frame: each refused, logged, counted. */
START_TEST(test_timing_authentication_refused)
{
	start_hoursd_plain(NULL);
	ck_assert_int_ne(termsim_timing("--auth-bad-sig"), 0);
	ck_assert(log_has("authentication refused: signature: bad signature"));
	ck_assert_int_ne(termsim_timing("--auth-ts-offset -3600"), 0);
	ck_assert(log_has("s from the server's clock"));
	/* The replay: termsim exits 0 only when the second, identical frame is refused. */
	ck_assert_int_eq(termsim_timing("--auth-ts-offset 5 --auth-twice"), 0);
	ck_assert(log_has("not newer than the last one accepted (a replay)"));
	ck_assert_int_eq(db_value("SELECT count(*) FROM terminal WHERE phone = ltrim($1, '0')"
				  " AND last_auth_ts > extract(epoch FROM now())",
				  T6, NULL),
			 1);
	stop_hoursd();
}
END_TEST

/*
 * Unsigned timing messages (what a widespread terminal app sends by
 * default): stored rejected as no_signature under rules.unsigned reject,
 * taken and marked unsigned under flag.
 */
START_TEST(test_timing_unsigned_messages)
{
	start_hoursd_plain(NULL);
	ck_assert_int_ne(termsim_timing("--unsigned --lesson 3 " PART3), 0);
	ck_assert_int_ge(db_value("SELECT count(*) FROM session_event WHERE reason = $1",
				  "no_signature", NULL),
			 2);
	ck_assert_int_eq(records_of(T6, "accepted", NULL), 0);
	stop_hoursd();
	start_hoursd_plain("  unsigned: flag\n");
	/* Another lesson (unsigned frames of the same lesson in the same second would be
	 * the same bytes: sent again, answered as stored, docs/protocol.md). */
	ck_assert_int_eq(
		termsim_timing("--unsigned --auth-ts-offset 2 --lesson 3 --record-seq 11"
			       " --student S000000000000013 --coach C000000000000013 " PART3),
		0);
	ck_assert_int_eq(records_of(T6, "accepted", NULL), 3);
	ck_assert_int_eq(db_value("SELECT count(*) FROM training_record WHERE NOT signed"
				  " AND verdict = $1",
				  "accepted", NULL),
			 3);
	stop_hoursd();
}
END_TEST

/*
 * The platform's commands: queued by hoursctl before the terminal
 * connects (sent when it authenticates), queued while it is connected
 * (sent within a poll), expired before it connects (never sent); each
 * answered by the terminal and the answer recorded.
 */
START_TEST(test_timing_commands)
{
	start_hoursd_plain(NULL);
	ck_assert_int_eq(hoursctl_run("terminal fetch-records " T6 " --from 2026-11-29T08:00+08"
				      " --to 2026-11-29T12:00+08"),
			 0);
	ck_assert_int_eq(hoursctl_run("terminal ban " T6 " on --message 禁止培训"), 0);
	ck_assert_int_eq(hoursctl_run("terminal photo " T6 " --expires 1"), 0);
	ck_assert_int_ne(hoursctl_run("terminal ban " T6 " maybe"), 0);
	ck_assert_int_ne(hoursctl_run("terminal fetch-records " T6 " --from yesterday-ish"
				      " --to 2026-11-29T12:00+08"),
			 0);
	ck_assert_int_ne(hoursctl_run("terminal photo 013899999999"), 0);
	sleep(2); /* the photo command expires unsent */
	ck_assert_int_eq(commands_in("waiting", NULL), 2);
	ck_assert_int_eq(commands_in("expired", "take_photo"), 1);

	char words[200];
	snprintf(words, sizeof(words),
		 "--plain --layout timing --port %d --imei 861380000000006"
		 " --heartbeats 6 --rate 1",
		 plain_port);
	pid_t ts = termsim_start(NULL, T6, words);
	for (int i = 0; i < 100 && commands_in("answered", NULL) < 2; i++)
		usleep(50000);
	ck_assert_int_eq(hoursctl_run("terminal photo " T6 " --channel 1"), 0);
	ck_assert_int_eq(wait_exit(ts, 60), 0);
	ck_assert_int_eq(out_value("commands_answered"), 3);
	ck_assert_int_eq(commands_in("answered", NULL), 3);
	ck_assert_int_eq(commands_in("expired", NULL), 1);
	/* 0x0205 came twice: received (1), then nothing to upload again (3). */
	ck_assert_int_eq(db_value("SELECT result FROM terminal_command WHERE kind = $1",
				  "fetch_records", NULL),
			 3);
	ck_assert_int_eq(db_value("SELECT count(*) FROM terminal_command WHERE result = 1"
				  " AND kind <> $1",
				  "fetch_records", NULL),
			 2);
	ck_assert(log_has("command 1 (0x8205) sent"));
	stop_hoursd();
}
END_TEST

/*
 * Records uploaded again on the platform's command (upload type 2,
 * properties bit 0) carry other bytes than the stored ones: taken as the
 * stored record when every field is the same, a conflict when one is not.
 */
START_TEST(test_timing_reupload)
{
	char words[300];
	long long start = (long long)time(NULL) / 60 * 60 - 600;
	start_hoursd_plain(NULL);
	snprintf(words, sizeof(words), "--lesson 3 --no-logout --record-start %lld " PART3, start);
	ck_assert_int_eq(termsim_timing(words), 0);
	ck_assert_int_eq(records_of(T6, "accepted", NULL), 3);
	snprintf(words, sizeof(words),
		 "--auth-ts-offset 1 --lesson 3 --no-login --no-logout --reupload"
		 " --record-start %lld " PART3,
		 start);
	ck_assert_int_eq(termsim_timing(words), 0);
	ck_assert_int_eq(records_of(T6, "accepted", NULL), 3);
	ck_assert_int_eq(
		db_value("SELECT count(*) FROM training_record WHERE upload_type = 2", NULL, NULL),
		0);
	ck_assert_int_eq(db_value("SELECT count(*) FROM training_record_conflict", NULL, NULL), 0);
	/* Another class under the same record numbers: not the same records. */
	snprintf(words, sizeof(words),
		 "--auth-ts-offset 2 --lesson 3 --no-login --no-logout --reupload --class-id 7"
		 " --record-start %lld " PART3,
		 start);
	ck_assert_int_ne(termsim_timing(words), 0);
	ck_assert_int_eq(db_value("SELECT count(*) FROM training_record_conflict", NULL, NULL), 3);
	stop_hoursd();
}
END_TEST

/*
 * PostgreSQL goes away in the middle of a stream and comes back: every
 * position acked is in the database, and all of them are acked in the end.
 */
START_TEST(test_database_stopped_mid_stream)
{
	start_hoursd(NULL);
	pid_t ts = termsim_start("term-" T1, T1, "--positions 300 --rate 100 --timeout 60");
	usleep(1000 * 1000);
	pg_ctl("stop");
	usleep(1500 * 1000);
	long long acked_while_down = 0;
	FILE *f = fopen(acked_path, "r");
	char line[64];
	while (f && fgets(line, sizeof(line), f))
		acked_while_down++;
	if (f)
		fclose(f);
	usleep(1000 * 1000);
	/* Nothing was acked while the database was away. */
	f = fopen(acked_path, "r");
	long long later = 0;
	while (f && fgets(line, sizeof(line), f))
		later++;
	if (f)
		fclose(f);
	ck_assert_int_eq(later, acked_while_down);
	pg_ctl("start");
	ck_assert_int_eq(wait_exit(ts, 90), 0);
	ck_assert_int_eq(out_value("positions_acked"), 300);
	ck_assert_int_eq(acked_lines(), 300);
	ck_assert_int_eq(positions_of(T1), 300);
	ck_assert(log_has("database unavailable"));
	stop_hoursd();
}
END_TEST

/*
 * Every minute ingest accepted is judged exactly once, across a SIGKILL
 * of hoursd and a PostgreSQL restart in the middle of a judge batch.
 * The test holds a lock on progress so that the judge's batch is in
 * flight (queue rows deleted, claims written, not committed) while ingest
 * goes on and answers; then hoursd is killed and PostgreSQL restarted,
 * which rolls that batch back whole; the next hoursd judges it.
 */
START_TEST(test_judged_exactly_once)
{
	start_hoursd(NULL);
	ck_assert_int_eq(termsim("term-" T1, T1,
				 words("--lesson 100 --record-start %lld " PART3, morning(1))),
			 0);
	ck_assert_int_eq(db_value("SELECT count(*) FROM record_judgement", NULL, NULL), 100);
	PGconn *lock = db_connect(test_ci);
	db_exec(lock, "BEGIN");
	db_exec(lock, "LOCK TABLE progress IN SHARE ROW EXCLUSIVE MODE");
	/* Ingest does not wait for the judge: every record is answered. */
	ck_assert_int_eq(termsim("term-" T1, T1,
				 words("--lesson 100 --record-seq 101 --record-start %lld " PART3,
				       morning(1) + 100 * 60)),
			 0);
	ck_assert_int_eq(out_value("records_ok"), 100);
	kill(hoursd_pid, SIGKILL);
	waitpid(hoursd_pid, NULL, 0);
	hoursd_pid = 0;
	pg_ctl("stop"); /* fast: the judge's batch, still waiting on the lock, rolls back */
	PQfinish(lock);
	pg_ctl("start");
	/* Nothing of the killed batch remains but the queue it came from. */
	ck_assert_int_eq(db_value("SELECT count(*) FROM record_judgement", NULL, NULL), 100);
	ck_assert_int_eq(db_value("SELECT count(*) FROM judge_queue", NULL, NULL), 100);
	ck_assert_int_eq(db_value("SELECT count(*) FROM minute_claim", NULL, NULL), 100);
	start_hoursd(NULL);
	ck_assert_int_eq(db_value("SELECT count(*) FROM judge_queue", NULL, NULL), 0);
	ck_assert_int_eq(db_value("SELECT count(*) FROM record_judgement", NULL, NULL), 200);
	ck_assert_int_eq(db_value("SELECT count(*) FROM record_verdict WHERE verdict = 'accepted'",
				  NULL, NULL),
			 200);
	ck_assert_int_eq(db_value("SELECT vehicle FROM progress", NULL, NULL), 200);
	ck_assert_int_eq(db_value("SELECT minutes FROM progress_day", NULL, NULL), 200);
	ck_assert_int_eq(hoursctl_run("recompute"), 0);
	stop_hoursd();
}
END_TEST

/*
 * The met rule is SQL's part_met() (sql/007_pipeline.sql), which the
 * judge applies; syllabus_met() in C says the same for every part of the
 * syllabus hoursd publishes, at and around each kind's share and the
 * requirement.
 */
START_TEST(test_part_met_matches_c)
{
	start_hoursd(NULL);
	char err[512];
	struct syllabus *syl = syllabus_load("conf/syllabus.yaml", err, sizeof(err));
	ck_assert_msg(syl != NULL, "%s", err);
	PGconn *c = db_connect(test_ci);
	/* hoursd is ready before its syllabus is written: wait for every part of it. */
	for (int i = 0; i < 200; i++) {
		PGresult *r = PQexec(c, "SELECT count(*) FROM syllabus_part");
		long long parts = PQresultStatus(r) == PGRES_TUPLES_OK
					  ? strtoll(PQgetvalue(r, 0, 0), NULL, 10)
					  : -1;
		PQclear(r);
		if (parts == (long long)syllabus_count(syl))
			break;
		usleep(50 * 1000);
	}
	size_t compared = 0;
	for (size_t i = 0; i < syllabus_count(syl); i++) {
		const struct syllabus_part *p = syllabus_at(syl, i);
		unsigned req = p->required_minutes;
		const unsigned tries[][SYL_KINDS] = {
			{req, 0, 0, 0},
			{req - 1, 0, 0, 0},
			{0, req, 0, 0},
			{0, 0, req, 0},
			{0, 0, 0, req},
			{req / 2, req / 2, 0, 0},
			{req / 2, 0, req / 2 + 1, 0},
			{req, req, req, req},
			{0, 0, 0, 0},
		};
		for (size_t k = 0; k < ARRAY_SIZE(tries); k++) {
			const unsigned *m = tries[k];
			char sql[600], part[4];
			snprintf(part, sizeof(part), "%u", p->part);
			snprintf(
				sql, sizeof(sql),
				"SELECT part_met(ROW('x', sp.part, sp.vehicle_class, %u, %u, %u, %u,"
				" 0, NULL, NULL, 0, now())::progress, sp)"
				" FROM syllabus_part sp WHERE sp.vehicle_class = $1 AND sp.part = $2",
				m[SYL_VEHICLE], m[SYL_SIMULATOR], m[SYL_CLASSROOM], m[SYL_REMOTE]);
			const char *v[2] = {p->vehicle_class, part};
			PGresult *r = PQexecParams(c, sql, 2, NULL, v, NULL, NULL, 0);
			ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1,
				      "%s %u: %s", p->vehicle_class, p->part, PQerrorMessage(c));
			bool sql_met = PQgetvalue(r, 0, 0)[0] == 't';
			PQclear(r);
			ck_assert_msg(sql_met == syllabus_met(p, m),
				      "%s part %u, minutes %u/%u/%u/%u: SQL says %d, C %d",
				      p->vehicle_class, p->part, m[0], m[1], m[2], m[3], sql_met,
				      syllabus_met(p, m));
			compared++;
		}
	}
	ck_assert_uint_gt(compared, 100);
	PQfinish(c);
	syllabus_free(syl);
	stop_hoursd();
}
END_TEST

START_TEST(test_metrics_match_traffic)
{
	static char page[1 << 17];
	start_hoursd(NULL);
	ck_assert_int_eq(termsim("term-" T1, T1, "--heartbeats 2 --positions 40 --batch 4"), 0);
	ck_assert_int_eq(termsim("term-" T1, T1, "--inject badcheck --positions 5"), 0);
	admin_get("/metrics", page, sizeof(page));
	ck_assert_msg(strstr(page, "200 OK") != NULL, "%.200s", page);
	ck_assert_int_eq(metric(page, "hoursd_positions_total"), 45);
	ck_assert_int_eq(metric(page, "hoursd_connections_accepted_total"), 2);
	ck_assert_int_eq(metric(page, "hoursd_bad_frames_total{reason=\"check\"}"), 1);
	/* 0x8001 answers: auth, 2 heartbeats, 10 batches; auth, 5 positions (0x8100 is not one) */
	ck_assert_int_eq(metric(page, "hoursd_acks_total{result=\"ok\"}"), 1 + 2 + 10 + 1 + 5);
	ck_assert_int_eq(metric(page, "hoursd_db_up"), 1);
	ck_assert_int_eq(metric(page, "hoursd_frames_total{type=\"batch_location\"}"), 10);
	ck_assert_int_eq(metric(page, "hoursd_frames_total{type=\"location\"}"), 5);
	ck_assert_int_eq(metric(page, "hoursd_frames_total{type=\"heartbeat\"}"), 2);
	ck_assert_int_eq(metric(page, "hoursd_connections{state=\"authenticated\"}"), 0);
	admin_get("/readyz", page, sizeof(page));
	ck_assert_msg(strstr(page, "200 OK") != NULL, "%.200s", page);
	stop_hoursd();
}
END_TEST

/*
 * SIGHUP under traffic: a good configuration changes a limit with no
 * connection dropped; a bad one is refused and the old one keeps running.
 */
START_TEST(test_reload_under_traffic)
{
	start_hoursd(NULL);
	pid_t ts = termsim_start("term-" T1, T1, "--positions 300 --rate 100 --timeout 30");
	usleep(800 * 1000);
	write_config_tail(NULL, "connection:\n  high_water: 4\n");
	kill(hoursd_pid, SIGHUP);
	usleep(500 * 1000);
	ck_assert(log_has("reloaded"));
	write_config_tail(NULL, "connection:\n  high_water: many\n");
	kill(hoursd_pid, SIGHUP);
	usleep(500 * 1000);
	ck_assert(log_has("reload refused, the running configuration stays"));
	ck_assert_int_eq(wait_exit(ts, 60), 0);
	ck_assert_int_eq(out_value("positions_acked"), 300);
	ck_assert_int_eq(out_value("closed_by_server"), 0);
	ck_assert_int_eq(positions_of(T1), 300);
	stop_hoursd();
}
END_TEST

/*
 * SIGTERM under load: hoursd stops reading, commits and answers what is
 * in flight, exits 0; every acked position is stored.  The terminal then
 * sends everything again to a new hoursd: all acked, each stored once.
 */
START_TEST(test_sigterm_drains_under_load)
{
	start_hoursd(NULL);
	pid_t ts = termsim_start("term-" T1, T1,
				 "--positions 300 --rate 150 --window 32 --start-time 1764000000");
	usleep(1000 * 1000);
	stop_hoursd(); /* asserts exit 0 */
	ck_assert(log_has("drained: every committed frame answered"));
	ck_assert_int_ne(wait_exit(ts, 30), 0); /* the connection closed before the end */
	long long acked = acked_lines();	/* each one is in the database */
	ck_assert_int_gt(acked, 0);
	ck_assert_int_lt(acked, 300);
	ck_assert_int_eq(positions_of(T1), acked);
	unlink(acked_path);
	start_hoursd(NULL);
	ck_assert_int_eq(termsim("term-" T1, T1, "--positions 300 --start-time 1764000000"), 0);
	ck_assert_int_eq(acked_lines(), 300);
	ck_assert_int_eq(positions_of(T1), 300);
	stop_hoursd();
}
END_TEST

/* ---- SIGTERM: at once when nothing is pending, else never before the deadline ---- */

/* PostgreSQL down and nothing pending: hoursd exits 0 at once, not at the deadline. */
START_TEST(test_sigterm_nothing_pending_database_down)
{
	start_hoursd(NULL);
	pg_ctl("stop");
	usleep(500 * 1000); /* hoursd is reconnecting, the judge's statement waiting */
	double t0 = mono_s();
	kill(hoursd_pid, SIGTERM);
	int rc = wait_exit(hoursd_pid, 20);
	double took = mono_s() - t0;
	hoursd_pid = 0;
	pg_ctl("start");
	ck_assert_msg(rc == 0, "hoursd exited with %d; see %s", rc, log_path);
	ck_assert_msg(took < 1.0, "hoursd took %.2f s to exit with nothing pending", took);
	ck_assert(log_has("drained: every committed frame answered"));
	ck_assert(!log_has("drain deadline passed"));
}
END_TEST

/*
 * Frames pending (PostgreSQL stopped while a terminal sends): hoursd
 * waits for them until process.drain_timeout_s, 2 s, and not a moment
 * less, then exits 0 saying how many it leaves unanswered.
 */
START_TEST(test_sigterm_frames_pending_waits_for_the_deadline)
{
	start_hoursd(NULL);
	reload_drain_timeout(2);
	pid_t ts = termsim_start("term-" T1, T1, "--positions 300 --rate 100 --timeout 60");
	usleep(1000 * 1000);
	pg_ctl("stop");
	usleep(300 * 1000); /* frames arrive that cannot be committed */
	double t0 = mono_s();
	kill(hoursd_pid, SIGTERM);
	/* Still running just before the deadline: the signal came after t0. */
	double until = t0 + 1.98 - mono_s();
	if (until > 0)
		usleep((useconds_t)(until * 1e6));
	bool early = waitpid(hoursd_pid, NULL, WNOHANG) == hoursd_pid;
	int rc = early ? -2 : wait_exit(hoursd_pid, 10);
	double took = mono_s() - t0;
	hoursd_pid = 0;
	pg_ctl("start");
	wait_exit(ts, 30);
	ck_assert_msg(!early, "hoursd exited before its 2 s drain deadline; see %s", log_path);
	ck_assert_msg(rc == 0, "hoursd exited with %d; see %s", rc, log_path);
	ck_assert_msg(took < 3.0, "hoursd took %.2f s to exit after a 2 s deadline", took);
	ck_assert(log_has("drain deadline passed (2 s): stopping with "));
	ck_assert(log_has("frames unanswered"));
	ck_assert(!log_has("drained: every committed frame answered"));
}
END_TEST

TCase *tcase_daemon(void)
{
	TCase *tc = tcase_create("daemon");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_lesson_stored_and_acked);
	tcase_add_test(tc, test_2019_header_and_batches);
	tcase_add_test(tc, test_resent_positions_stored_once);
	tcase_add_test(tc, test_garbage_then_good_frames);
	tcase_add_test(tc, test_bad_check_code);
	tcase_add_test(tc, test_oversize_frame);
	tcase_add_test(tc, test_unfinished_subpackage);
	tcase_add_test(tc, test_unknown_message_not_supported);
	tcase_add_test(tc, test_number_differs_from_certificate);
	tcase_add_test(tc, test_unknown_terminal);
	tcase_add_test(tc, test_disabled_terminal);
	tcase_add_test(tc, test_no_client_certificate);
	tcase_add_test(tc, test_certificate_from_another_ca);
	tcase_add_test(tc, test_plain_listener_for_legacy_terminals);
	tcase_add_test(tc, test_timing_escaped_sums_quirk);
	tcase_add_test(tc, test_timing_terminal_lesson);
	tcase_add_test(tc, test_timing_authentication_refused);
	tcase_add_test(tc, test_timing_unsigned_messages);
	tcase_add_test(tc, test_timing_commands);
	tcase_add_test(tc, test_timing_reupload);
	tcase_add_test(tc, test_database_stopped_mid_stream);
	tcase_add_test(tc, test_judged_exactly_once);
	tcase_add_test(tc, test_part_met_matches_c);
	tcase_add_test(tc, test_metrics_match_traffic);
	tcase_add_test(tc, test_reload_under_traffic);
	tcase_add_test(tc, test_sigterm_drains_under_load);
	tcase_add_test(tc, test_sigterm_nothing_pending_database_down);
	tcase_add_test(tc, test_sigterm_frames_pending_waits_for_the_deadline);
	return tc;
}
