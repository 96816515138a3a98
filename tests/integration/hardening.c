/*
 * hardening.c - hardening: no single client takes the service down; the
 * tcase "hardening".
 */
#include "harness.h"
#include "jt808.h"

#include <errno.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

/* A piece of a sub-packaged 0x0801 of terminal T3 (not registered), body of n bytes. */
static size_t piece(uint8_t *out, size_t cap, uint16_t serial, uint16_t total, uint16_t index,
		    size_t n)
{
	static uint8_t body[1024];
	memset(body, 0x41, sizeof(body));
	struct jt808_header h = {.msg_id = 0x0801,
				 .layout = JT808_L2013,
				 .serial = serial,
				 .subpkg = true,
				 .pkg_total = total,
				 .pkg_index = index};
	snprintf(h.phone, sizeof(h.phone), "%s", T3);
	size_t len = jt808_encode(&h, body, n, out, cap);
	ck_assert_uint_gt(len, 0);
	return len;
}

/* A CRL of the test CA revoking the certificates pki/NAME of names (n of them), to path. */
static void write_crl(const char *path, const char *const *names, int n)
{
	char p[700];
	snprintf(p, sizeof(p), "%s/ca.crt", pki);
	FILE *f = fopen(p, "r");
	ck_assert_ptr_nonnull(f);
	X509 *ca = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	snprintf(p, sizeof(p), "%s/ca.key", pki);
	f = fopen(p, "r");
	ck_assert_ptr_nonnull(f);
	EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	ck_assert(ca && key);
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *last = ASN1_TIME_set(NULL, time(NULL) - 60);
	ASN1_TIME *next = ASN1_TIME_set(NULL, time(NULL) + 86400);
	ck_assert(X509_CRL_set_version(crl, 1) &&
		  X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) &&
		  X509_CRL_set1_lastUpdate(crl, last) && X509_CRL_set1_nextUpdate(crl, next));
	for (int i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s/%s", pki, names[i]);
		f = fopen(p, "r");
		ck_assert_ptr_nonnull(f);
		X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
		X509_REVOKED *r = X509_REVOKED_new();
		ck_assert(x && r && X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(x)) &&
			  X509_REVOKED_set_revocationDate(r, last) &&
			  X509_CRL_add0_revoked(crl, r));
		X509_free(x);
	}
	ck_assert(X509_CRL_sort(crl) && X509_CRL_sign(crl, key, EVP_sha256()) > 0);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert(PEM_write_X509_CRL(f, crl));
	fclose(f);
	ASN1_TIME_free(last);
	ASN1_TIME_free(next);
	X509_CRL_free(crl);
	EVP_PKEY_free(key);
	X509_free(ca);
}

/*
 * The descriptor limit: 600 connects against an open-file limit of 256.
 * hoursd pauses accepting instead of spinning, logs it a line per
 * interval, keeps descriptors for the admin listener and the database,
 * and stores a terminal's positions once the flood is gone.
 */
START_TEST(test_fd_cap)
{
	static char page[1 << 17];
	static int flood[600];
	start_hoursd_hard("connection:\n  fd_reserve: 32\n  max_per_address: 0\n", "", "", 256);
	for (size_t i = 0; i < ARRAY_SIZE(flood); i++)
		flood[i] = connect_nb(plain_port);
	usleep(1500000);
	long long t0 = cpu_ticks(hoursd_pid);
	usleep(1000000);
	long long used = cpu_ticks(hoursd_pid) - t0;
	ck_assert_msg(used < sysconf(_SC_CLK_TCK) / 4, "hoursd used %lld ticks in 1 s at the limit",
		      used);
	admin_get("/metrics", page, sizeof(page));
	ck_assert_msg(strstr(page, "200 OK") != NULL, "%.200s", page);
	ck_assert_int_gt(metric(page, "hoursd_connections_refused_total{limit=\"fd_reserve\"}"), 0);
	ck_assert_int_gt(metric(page, "hoursd_accept_pauses_total"), 0);
	admin_get("/readyz", page, sizeof(page));
	ck_assert_msg(strstr(page, "200 OK") != NULL, "%.200s", page);
	ck_assert_int_ge(count_lines_with("descriptor limit: accepting paused"), 1);
	ck_assert_int_le(count_lines_with("descriptor limit: accepting paused"), 2);
	ck_assert_int_le(count_lines_with("accept failed"), 2);
	for (size_t i = 0; i < ARRAY_SIZE(flood); i++)
		close(flood[i]);
	usleep(1000000);
	/* a line for each connection accepted and closed, and little else */
	ck_assert_msg(file_size(log_path) < 1000000, "log of %lld bytes", file_size(log_path));
	ck_assert_int_eq(termsim("term-" T1, T1, "--positions 5"), 0);
	ck_assert_int_eq(out_value("positions_acked"), 5);
	ck_assert_int_eq(acked_lines(), 5);
	stop_hoursd();
}
END_TEST

/*
 * A byte every 0.3 s: before authentication on the plain listener, inside
 * the TLS ClientHello, and in an admin request's headers.  Each is closed
 * at its own deadline, not kept for ever.
 */
START_TEST(test_trickle)
{
	start_hoursd_hard("connection:\n  auth_timeout_s: 2\n  handshake_timeout_s: 2\n", "",
			  "  header_timeout_s: 3\n", 0);
	int fds[3] = {connect_nb(plain_port), connect_nb(port), connect_nb(admin_port)};
	const int deadline[3] = {2, 2, 3};
	/* a frame that never ends; a TLS record header announcing 512 bytes; a request line */
	static const char first[3][8] = {"\x7e\x00\x02", "\x16\x03\x01\x02\x00", "GET /"};
	static const size_t first_len[3] = {3, 5, 5};
	double closed_at[3] = {0, 0, 0}, t0 = mono_s();
	usleep(100000);
	for (int k = 0; k < 3; k++)
		ck_assert_int_eq(write(fds[k], first[k], first_len[k]), (ssize_t)first_len[k]);
	for (int step = 0; step < 30; step++) {
		usleep(300000);
		bool all = true;
		for (int k = 0; k < 3; k++) {
			if (closed_at[k] > 0)
				continue;
			if (closed_by_peer(fds[k])) {
				closed_at[k] = mono_s() - t0;
				continue;
			}
			all = false;
			ssize_t w = write(fds[k], k == 2 ? "m" : "\x01", 1);
			(void)w;
		}
		if (all)
			break;
	}
	for (int k = 0; k < 3; k++) {
		close(fds[k]);
		ck_assert_msg(closed_at[k] > 0, "connection %d still open after 9 s of trickle", k);
		ck_assert_msg(closed_at[k] >= deadline[k] - 0.5 &&
				      closed_at[k] <= deadline[k] + 1.8,
			      "connection %d closed after %.1f s, deadline %d s", k, closed_at[k],
			      deadline[k]);
	}
	ck_assert(log_has("not authenticated within 2 s (connection.auth_timeout_s)"));
	ck_assert(log_has("TLS handshake not done within 2 s (connection.handshake_timeout_s)"));
	ck_assert(log_has("request headers not in within 3 s (admin.header_timeout_s)"));
	/* the admin listener still answers */
	static char page[1 << 17];
	admin_get("/metrics", page, sizeof(page));
	ck_assert_int_eq(metric(page, "hoursd_connections_timed_out_total{deadline=\"auth\"}"), 1);
	ck_assert_int_eq(metric(page, "hoursd_connections_timed_out_total{deadline=\"handshake\"}"),
			 1);
	stop_hoursd();
}
END_TEST

/*
 * 16 connections each send 60 of the 100 pieces of a message (60 KB
 * each, within the per-connection bound): the budget of 64 KiB for all of
 * them holds, the oldest unfinished messages dropped and counted.
 */
START_TEST(test_reassembly_budget)
{
	static char page[1 << 17];
	static uint8_t buf[70000];
	start_hoursd_hard("connection:\n  reasm_budget_bytes: 65536\n", "", "", 0);
	int fds[16];
	for (int k = 0; k < 16; k++) {
		fds[k] = plain_connect();
		size_t n = 0;
		for (uint16_t i = 1; i <= 60; i++)
			n += piece(buf + n, sizeof(buf) - n, (uint16_t)(100 * k + i), 100, i, 1000);
		ck_assert_int_eq(write(fds[k], buf, n), (ssize_t)n);
	}
	long long dropped = 0;
	for (int i = 0; i < 100 && dropped < 10; i++) {
		usleep(100000);
		admin_get("/metrics", page, sizeof(page));
		dropped = metric(page, "hoursd_reassembly_dropped_total");
	}
	ck_assert_int_ge(dropped, 10);
	long long held = metric(page, "hoursd_reassembly_bytes");
	ck_assert_msg(held > 0 && held <= 65536, "reassembly holds %lld bytes", held);
	for (int k = 0; k < 16; k++)
		close(fds[k]);
	usleep(1500000);
	ck_assert(log_has("reassembly budget (connection.reasm_budget_bytes, 65536 bytes) full"));
	admin_get("/metrics", page, sizeof(page));
	ck_assert_int_eq(metric(page, "hoursd_reassembly_bytes"), 0);
	stop_hoursd();
}
END_TEST

/*
 * One connection sends 3000 times junk and a heartbeat before any
 * authentication: two warnings each (junk or a bad frame, and a message
 * before authentication), of which connection.warnings_per_min
 * are written and the rest counted, their number logged at the close.
 */
START_TEST(test_log_flood)
{
	static char page[1 << 17];
	static uint8_t buf[3000 * 40];
	/* the budgets that would close this connection are out of the way (abuse.c tests them) */
	start_hoursd_hard("connection:\n  warnings_per_min: 10\n  bad_frames_per_min: 1000000\n"
			  "  preauth_answers: 100000\n",
			  "", "", 0);
	size_t n = 0;
	for (int i = 0; i < 3000; i++) {
		memcpy(buf + n, "JUNK", 4);
		n += 4;
		struct jt808_header h = {
			.msg_id = 0x0002, .layout = JT808_L2013, .serial = (uint16_t)i};
		snprintf(h.phone, sizeof(h.phone), "%s", T3);
		size_t len = jt808_encode(&h, NULL, 0, buf + n, sizeof(buf) - n);
		ck_assert_uint_gt(len, 0);
		n += len;
	}
	int fd = plain_connect();
	ck_assert_int_eq(write(fd, buf, n), (ssize_t)n);
	long long suppressed = 0;
	for (int i = 0; i < 100 && suppressed < 5000; i++) {
		usleep(100000);
		admin_get("/metrics", page, sizeof(page));
		suppressed = metric(page, "hoursd_log_lines_suppressed_total");
	}
	ck_assert_int_ge(suppressed, 5000);
	/* "JUNK" between two frames is a frame too short to be one */
	ck_assert_int_eq(metric(page, "hoursd_bad_frames_total{reason=\"short\"}") +
				 metric(page, "hoursd_junk_bytes_total") / 4,
			 3000);
	close(fd);
	usleep(1500000);
	int lines = count_lines_with("bytes of junk") + count_lines_with("before authentication") +
		    count_lines_with("bad frame at byte");
	ck_assert_msg(lines <= 10, "%d warning lines written", lines);
	ck_assert(log_has("line(s) not logged before the close"));
	stop_hoursd();
}
END_TEST

/*
 * tls.crl: T2's TLS certificate and T6's signing certificate revoked; T2
 * fails its handshake, T6 its signed authentication, T1 goes on.  A
 * reload with a CRL that revokes nothing lets T2 in again.
 */
START_TEST(test_revocation)
{
	char crl[700], more[800];
	static const char *const revoked[] = {"term-" T2 ".crt", "term-rsa-" T6 ".crt"};
	snprintf(crl, sizeof(crl), "%s/terminals.crl", work);
	write_crl(crl, revoked, 2);
	snprintf(more, sizeof(more), "  crl: %s\n", crl);
	start_hoursd_hard(NULL, more, "", 0);
	ck_assert(log_has("terminals.crl: 1 CRL(s)"));
	ck_assert_int_eq(termsim("term-" T1, T1, "--positions 3"), 0);
	ck_assert_int_ne(termsim("term-" T2, T2, "--positions 3"), 0);
	ck_assert(log_has("certificate revoked"));
	ck_assert_int_ne(termsim_timing(""), 0);
	ck_assert(log_has("authentication refused: signature: revoked"));
	write_crl(crl, NULL, 0);
	int reloads = count_lines_with("reloaded ");
	kill(hoursd_pid, SIGHUP);
	for (int i = 0; i < 100 && count_lines_with("reloaded ") == reloads; i++)
		usleep(50000);
	ck_assert_int_gt(count_lines_with("reloaded "), reloads);
	ck_assert_int_eq(termsim("term-" T2, T2, "--positions 3"), 0);
	stop_hoursd();
}
END_TEST

/*
 * connection.max_per_address 3: a fourth connection from 127.0.0.1 is
 * closed at once.  connection.max_per_terminal 1: while T1 sends
 * positions on one connection, a second authentication of T1 is refused
 * and that (newest) connection closed; the first goes on.
 */
START_TEST(test_connection_limits)
{
	static char page[1 << 17];
	start_hoursd_hard("connection:\n  max_per_address: 3\n  max_per_terminal: 1\n", "", "", 0);
	int fds[4];
	for (int k = 0; k < 4; k++)
		fds[k] = plain_connect();
	usleep(300000);
	ck_assert(!closed_by_peer(fds[0]) && !closed_by_peer(fds[2]));
	ck_assert(closed_by_peer(fds[3]));
	for (int k = 0; k < 4; k++)
		close(fds[k]);
	ck_assert(log_has(
		"refused: 3 connections open from this address (connection.max_per_address)"));
	usleep(300000);
	pid_t first = termsim_start("term-" T1, T1, "--positions 60 --rate 30");
	usleep(800000);
	char prog[600], ca[600], cert[600], key[600], portstr[16], out[600];
	snprintf(prog, sizeof(prog), "%s/termsim", bindir);
	snprintf(ca, sizeof(ca), "%s/ca.crt", pki);
	snprintf(cert, sizeof(cert), "%s/term-%s.crt", pki, T1);
	snprintf(key, sizeof(key), "%s/term-%s.key", pki, T1);
	snprintf(portstr, sizeof(portstr), "%d", port);
	snprintf(out, sizeof(out), "%s/second.out", work);
	char *argv[] = {prog,
			(char *)"--port",
			portstr,
			(char *)"--ca",
			ca,
			(char *)"--tls",
			(char *)"--layout",
			(char *)"2013",
			(char *)"--cert",
			cert,
			(char *)"--key",
			key,
			(char *)"--phone",
			(char *)T1,
			(char *)"--heartbeats",
			(char *)"1",
			NULL};
	ck_assert_int_ne(wait_exit(spawn(argv, out, log_path), 30), 0);
	ck_assert(
		log_has("already has 1 authenticated connection(s) (connection.max_per_terminal)"));
	ck_assert_int_eq(wait_exit(first, 60), 0);
	ck_assert_int_eq(out_value("positions_acked"), 60);
	admin_get("/metrics", page, sizeof(page));
	ck_assert_int_eq(
		metric(page, "hoursd_connections_refused_total{limit=\"max_per_address\"}"), 1);
	ck_assert_int_eq(
		metric(page, "hoursd_connections_refused_total{limit=\"max_per_terminal\"}"), 1);
	stop_hoursd();
}
END_TEST

TCase *tcase_hardening(void)
{
	TCase *tc = tcase_create("hardening");
	tcase_set_timeout(tc, 90);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_fd_cap);
	tcase_add_test(tc, test_trickle);
	tcase_add_test(tc, test_reassembly_budget);
	tcase_add_test(tc, test_log_flood);
	tcase_add_test(tc, test_revocation);
	tcase_add_test(tc, test_connection_limits);
	return tc;
}
