/*
 * abuse.c - what one hostile or broken client may cost hoursd, second
 * pass (the tcase "abuse"): every per-connection line limited, a budget
 * of bad frames and of answers before authentication, output memory
 * bounded and a peer that does not read closed, refusals that reach the
 * terminal, listeners that all pause at the descriptor limit, deadlines
 * in milliseconds that cover the PROXY header, and no PKCS#12 handed to
 * whoever knows a number.
 *
 * The frames are built and read here, apart from the daemon's code
 * (JT/T 808, 2013 header, plain TCP).
 */
#include "harness.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

/* ---- frames, written and read here ---- */

/* One frame, 2013 header: id, 12-digit phone, serial, body; escaped, between flags. */
static size_t frame(uint8_t *out, uint16_t id, const char *phone, uint16_t serial,
		    const uint8_t *body, size_t n)
{
	uint8_t raw[1200];
	size_t k = 0, o = 0;
	ck_assert_uint_le(n, 1023);
	ck_assert_uint_eq(strlen(phone), 12);
	raw[k++] = (uint8_t)(id >> 8);
	raw[k++] = (uint8_t)id;
	raw[k++] = (uint8_t)(n >> 8);
	raw[k++] = (uint8_t)n;
	for (int i = 0; i < 6; i++)
		raw[k++] = (uint8_t)(((phone[2 * i] - '0') << 4) | (phone[2 * i + 1] - '0'));
	raw[k++] = (uint8_t)(serial >> 8);
	raw[k++] = (uint8_t)serial;
	if (n)
		memcpy(raw + k, body, n);
	k += n;
	uint8_t x = 0;
	for (size_t i = 0; i < k; i++)
		x ^= raw[i];
	raw[k++] = x;
	out[o++] = 0x7e;
	for (size_t i = 0; i < k; i++) {
		if (raw[i] == 0x7e || raw[i] == 0x7d) {
			out[o++] = 0x7d;
			out[o++] = raw[i] == 0x7e ? 0x02 : 0x01;
		} else {
			out[o++] = raw[i];
		}
	}
	out[o++] = 0x7e;
	return o;
}

/* A frame read back: its message ID, and for 0x8001 what it answers and its result. */
struct answer {
	uint16_t id;
	uint16_t acked_serial, acked_id;
	int result;
};

/* The frames in buf (len bytes), up to cap of them. */
static int answers(const uint8_t *buf, size_t len, struct answer *a, int cap)
{
	int n = 0;
	size_t i = 0;
	while (i < len && n < cap) {
		while (i < len && buf[i] != 0x7e)
			i++;
		size_t j = i + 1;
		while (j < len && buf[j] != 0x7e)
			j++;
		if (j >= len)
			break;
		uint8_t raw[2048];
		size_t k = 0;
		for (size_t p = i + 1; p < j && k < sizeof(raw); p++)
			raw[k++] =
				buf[p] == 0x7d && p + 1 < j ? (uint8_t)(buf[++p] + 0x7c) : buf[p];
		if (k >= 13) {
			a[n] = (struct answer){.id = (uint16_t)(raw[0] << 8 | raw[1]),
					       .result = -1};
			if (a[n].id == 0x8001 && k >= 12 + 5 + 1) {
				a[n].acked_serial = (uint16_t)(raw[12] << 8 | raw[13]);
				a[n].acked_id = (uint16_t)(raw[14] << 8 | raw[15]);
				a[n].result = raw[16];
			}
			n++;
			i = j + 1;
		} else {
			i = j; /* two flags in a row: the second begins the next frame */
		}
	}
	return n;
}

static int count_id(const struct answer *a, int n, uint16_t id, int result)
{
	int k = 0;
	for (int i = 0; i < n; i++)
		k += a[i].id == id && (result < 0 || a[i].result == result);
	return k;
}

/* The result of the 0x8001 answering (serial, id), or -1. */
static int ack_of(const struct answer *a, int n, uint16_t serial, uint16_t id)
{
	for (int i = 0; i < n; i++)
		if (a[i].id == 0x8001 && a[i].acked_serial == serial && a[i].acked_id == id)
			return a[i].result;
	return -1;
}

/*
 * Read what hoursd sends into buf until it closes the connection (true)
 * or timeout_s pass (false); *len: the bytes read.
 */
static bool read_to_close(int fd, uint8_t *buf, size_t cap, size_t *len, double timeout_s)
{
	double end = mono_s() + timeout_s;
	*len = 0;
	while (mono_s() < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 50) <= 0)
			continue;
		ssize_t r = recv(fd, buf + *len, cap - *len, MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			return true;
		if (r > 0)
			*len += (size_t)r;
		if (*len == cap)
			return false;
	}
	return false;
}

/* Write all of buf, or as much as the peer takes (it may close: no SIGPIPE). */
static void send_all(int fd, const uint8_t *buf, size_t n)
{
	size_t off = 0;
	double end = mono_s() + 10;
	while (off < n && mono_s() < end) {
		ssize_t w = send(fd, buf + off, n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0)
			off += (size_t)w;
		else if (w < 0 && errno != EAGAIN && errno != EINTR)
			return;
		else
			usleep(1000);
	}
}

static int connect_to(int to_port, int rcvbuf)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	if (rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)to_port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* The auth code hoursd's registry holds for phone (12 digits). */
static void auth_code_of(const char *phone, char *out, size_t cap)
{
	PGconn *c = db_connect(test_ci);
	const char *v[1] = {phone + 1}; /* kept without its leading zero */
	PGresult *r = PQexecParams(c, "SELECT auth_code FROM terminal WHERE phone = $1", 1, NULL, v,
				   NULL, NULL, 0);
	ck_assert_int_eq(PQntuples(r), 1);
	snprintf(out, cap, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
}

/*
 * Authenticate phone with code on a new plain connection (its socket's
 * receive buffer rcvbuf, 0: the default): hoursd's result (-1: none came
 * within 5 s); *closed: hoursd then closed it.  The socket in *fd_out.
 */
static int plain_auth(const char *phone, const char *code, int rcvbuf, bool *closed, int *fd_out)
{
	static uint8_t buf[1 << 16];
	uint8_t out[256];
	int fd = connect_to(plain_port, rcvbuf);
	size_t n = frame(out, 0x0102, phone, 1, (const uint8_t *)code, strlen(code));
	send_all(fd, out, n);
	size_t len = 0;
	struct answer a[16];
	int result = -1;
	*closed = false;
	double end = mono_s() + 5;
	while (mono_s() < end && result < 0 && !*closed) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 50) <= 0)
			continue;
		ssize_t r = recv(fd, buf + len, sizeof(buf) - len, MSG_DONTWAIT);
		if (r > 0)
			len += (size_t)r;
		else if (r == 0 || (errno != EAGAIN && errno != EINTR))
			*closed = true;
		result = ack_of(a, answers(buf, len, a, 16), 1, 0x0102);
	}
	/* a refusal's close follows its answer */
	if (result >= 0 && !*closed) {
		size_t more;
		*closed = read_to_close(fd, buf, sizeof(buf), &more, 0.5);
	}
	*fd_out = fd;
	return result;
}

/* ---- the tests ---- */

/*
 * One unauthenticated connection repeats a provisioned terminal's
 * registration 2000 times: 32 are answered (connection.preauth_answers),
 * then it is closed, the answers written out first, and its address is
 * refused for connection.throttle_s; at most connection.lines_per_min
 * lines are written about it.
 */
START_TEST(test_preauth_flood)
{
	static uint8_t buf[2000 * 80], in[1 << 17];
	static char page[1 << 17];
	static struct answer a[256];
	start_hoursd_hard("connection:\n  throttle_s: 3\n", "", "", 0);
	uint8_t body[41] = {0, 31, 0, 1, 'M', 'A', 'K', 'E', 'R'};
	memcpy(body + 9, "MODEL", 5);
	memcpy(body + 29, "TID0001", 7);
	body[36] = 1;
	memcpy(body + 37, "TEST", 4);
	size_t n = 0;
	for (int i = 0; i < 2000; i++)
		n += frame(buf + n, 0x0100, T1, (uint16_t)i, body, sizeof(body));
	double t0 = mono_s();
	int fd = connect_to(plain_port, 0);
	send_all(fd, buf, n);
	size_t len;
	ck_assert_msg(read_to_close(fd, in, sizeof(in), &len, 10), "not closed");
	close(fd);
	int got = answers(in, len, a, 256);
	ck_assert_int_eq(count_id(a, got, 0x8100, -1), 32);
	usleep(300000);
	ck_assert(log_has("more than 32 frames answered before authentication "
			  "(connection.preauth_answers); address 127.0.0.1 refused for 3 s"));
	int lines = count_lines_with("registration (province");
	ck_assert_msg(lines <= 30, "%d registration lines", lines);
	/* the address is throttled: a new connection is closed at once */
	fd = connect_to(plain_port, 0);
	usleep(300000);
	ck_assert(closed_by_peer(fd));
	close(fd);
	ck_assert(log_has("address throttled"));
	admin_get("/metrics", page, sizeof(page));
	ck_assert_int_eq(
		metric(page, "hoursd_connections_refused_total{limit=\"preauth_answers\"}"), 1);
	ck_assert_int_eq(metric(page, "hoursd_connections_refused_total{limit=\"throttle\"}"), 1);
	/* and welcome again afterwards */
	while (mono_s() - t0 < 3.5)
		usleep(100000);
	ck_assert_int_eq(termsim("term-" T1, T1, "--positions 3"), 0);
	stop_hoursd();
}
END_TEST

/*
 * An authenticated terminal sends 3000 well-formed frames of a message
 * hoursd does not support: 21 are answered "not supported", then the
 * connection is closed (connection.bad_frames_per_min 20) and the
 * terminal refused (answered, then closed) until connection.throttle_s
 * is over.  At most connection.lines_per_min lines about it.
 */
START_TEST(test_unsupported_flood)
{
	static uint8_t buf[3000 * 40], in[1 << 17];
	static char page[1 << 17];
	static struct answer a[4096];
	char code[64];
	bool closed;
	int fd;
	start_hoursd_hard("connection:\n  bad_frames_per_min: 20\n  throttle_s: 3\n", "", "", 0);
	auth_code_of(T1, code, sizeof(code));
	ck_assert_int_eq(plain_auth(T1, code, 0, &closed, &fd), 0);
	ck_assert(!closed);
	size_t n = 0;
	uint8_t body[1] = {0};
	for (int i = 0; i < 3000; i++)
		n += frame(buf + n, 0x0F00, T1, (uint16_t)(i + 2), body, 1);
	double t0 = mono_s();
	send_all(fd, buf, n);
	size_t len;
	ck_assert_msg(read_to_close(fd, in, sizeof(in), &len, 10), "not closed");
	close(fd);
	int got = answers(in, len, a, 4096);
	ck_assert_int_eq(count_id(a, got, 0x8001, 3), 21);
	ck_assert(log_has("more than 20 bad or unsupported frames this minute "
			  "(connection.bad_frames_per_min); terminal 13800000001 refused for 3 s"));
	usleep(300000);
	int lines = count_lines_with("not supported");
	ck_assert_msg(lines <= 30, "%d lines", lines);
	/* the terminal is refused: answered with failure, then closed */
	ck_assert_int_eq(plain_auth(T1, code, 0, &closed, &fd), 1);
	ck_assert(closed);
	close(fd);
	ck_assert(log_has("terminal 13800000001 throttled after bad or unsupported frames"));
	admin_get("/metrics", page, sizeof(page));
	ck_assert_int_eq(metric(page, "hoursd_connections_refused_total{limit=\"bad_frames\"}"), 1);
	ck_assert_int_eq(metric(page, "hoursd_connections_refused_total{limit=\"throttle\"}"), 1);
	while (mono_s() - t0 < 3.5)
		usleep(100000);
	ck_assert_int_eq(plain_auth(T1, code, 0, &closed, &fd), 0);
	ck_assert(!closed);
	close(fd);
	stop_hoursd();
}
END_TEST

/*
 * Refusals that promise an answer deliver it before the close: a second
 * authenticated connection past connection.max_per_terminal, and an
 * authentication from an address past connection.auth_failures_per_min.
 */
START_TEST(test_refusals_answered)
{
	char code[64];
	bool closed;
	int fd1, fd2, fd3;
	start_hoursd_hard("connection:\n  max_per_terminal: 1\n  auth_failures_per_min: 1\n", "",
			  "", 0);
	auth_code_of(T1, code, sizeof(code));
	ck_assert_int_eq(plain_auth(T1, code, 0, &closed, &fd1), 0);
	ck_assert(!closed);
	ck_assert_int_eq(plain_auth(T1, code, 0, &closed, &fd2), 1);
	ck_assert_msg(closed, "the refused connection stays open");
	close(fd2);
	ck_assert(
		log_has("already has 1 authenticated connection(s) (connection.max_per_terminal)"));
	/* one failure allowed a minute: the second attempt is refused unchecked, and closed */
	ck_assert_int_eq(plain_auth(T2, "wrong", 0, &closed, &fd3), 1);
	ck_assert(!closed);
	close(fd3);
	ck_assert_int_eq(plain_auth(T2, "wrong", 0, &closed, &fd3), 1);
	ck_assert_msg(closed, "the throttled connection stays open");
	close(fd3);
	ck_assert(log_has("too many failed authentications from this address this minute"));
	close(fd1);
	stop_hoursd();
}
END_TEST

/*
 * At the descriptor limit (256), a pause begun by connection.fd_reserve
 * (a terminal refused to keep the reserve) while admin clients take the
 * reserve's last descriptors and more wait in the admin listener's
 * backlog: the admin listener pauses too instead of spinning on its
 * failing accept() (docs/operations.md: at most 16 accept failures a
 * second, the listeners idle while paused).  Held admin connections are
 * closed one every 50 ms and replaced by two, so that descriptors come
 * free and each pause begins with a reserve refusal again.  Its admin
 * listener answers once the flood is gone.
 */
#define FLOOD_S 3
START_TEST(test_admin_flood)
{
	static char page[1 << 17];
	static int terms[300], admins[4096];
	size_t first = 0, n = 0;
	start_hoursd_hard("connection:\n  fd_reserve: 32\n  max_per_address: 0\n", "", "", 256);
	admin_get("/metrics", page, sizeof(page));
	long long errors = metric(page, "hoursd_accept_errors_total");
	ck_assert_int_ge(errors, 0);
	/* terminals up to the reserve; the rest wait in the terminal listener's backlog */
	double begin = mono_s();
	for (size_t i = 0; i < ARRAY_SIZE(terms); i++)
		terms[i] = connect_nb(plain_port);
	usleep(500000);
	double start = mono_s();
	long long t0 = cpu_ticks(hoursd_pid);
	while (mono_s() - start < FLOOD_S && n + 2 <= ARRAY_SIZE(admins)) {
		if (n - first > 40)
			close(admins[first++]); /* hoursd sees it gone and frees a descriptor */
		admins[n++] = connect_nb(admin_port);
		admins[n++] = connect_nb(admin_port);
		usleep(50000);
	}
	long long used = cpu_ticks(hoursd_pid) - t0;
	double secs = mono_s() - start;
	for (size_t i = first; i < n; i++)
		close(admins[i]);
	for (size_t i = 0; i < ARRAY_SIZE(terms); i++)
		close(terms[i]);
	usleep(1000000);
	admin_get("/metrics", page, sizeof(page));
	ck_assert_msg(strstr(page, "200 OK") != NULL, "%.200s", page);
	errors = metric(page, "hoursd_accept_errors_total") - errors;
	double all = mono_s() - begin, per_s = (double)errors / all;
	ck_assert_int_gt(metric(page, "hoursd_connections_refused_total{limit=\"fd_reserve\"}"), 0);
	ck_assert_int_gt(errors, 0);
	ck_assert_msg(per_s <= 16, "%lld accept failures in %.1f s (%.0f a second)", errors, all,
		      per_s);
	ck_assert_msg(used < sysconf(_SC_CLK_TCK) * secs / 10,
		      "hoursd used %lld ticks in %.1f s with the admin port flooded", used, secs);
	ck_assert_int_ge(count_lines_with("descriptor limit: accepting paused"), 1);
	ck_assert_int_eq(termsim("term-" T1, T1, "--positions 3"), 0);
	stop_hoursd();
}
END_TEST

/*
 * A terminal that sends heartbeats and never reads the answers: hoursd
 * holds at most connection.out_max_bytes of them (hoursd_output_bytes),
 * stops reading it, and closes it connection.write_timeout_s after its
 * writes stop making progress.
 */
START_TEST(test_slow_reader)
{
	static uint8_t buf[30000 * 20];
	static char page[1 << 17];
	char code[64];
	bool closed;
	int fd;
	start_hoursd_hard("connection:\n  write_timeout_s: 2\n", "", "", 0);
	auth_code_of(T1, code, sizeof(code));
	ck_assert_int_eq(plain_auth(T1, code, 4096, &closed, &fd), 0);
	size_t n = 0;
	for (int i = 0; i < 30000; i++)
		n += frame(buf + n, 0x0002, T1, (uint16_t)(i + 2), NULL, 0);
	send_all(fd, buf, n);
	long long most = 0, out = 0;
	bool timed_out = false;
	for (int i = 0; i < 100 && !timed_out; i++) {
		usleep(100000);
		admin_get("/metrics", page, sizeof(page));
		out = metric(page, "hoursd_output_bytes");
		ck_assert_int_ge(out, 0);
		most = out > most ? out : most;
		timed_out =
			metric(page, "hoursd_connections_timed_out_total{deadline=\"write\"}") == 1;
	}
	ck_assert_msg(timed_out, "a terminal that does not read is still open");
	ck_assert_msg(most > 0 && most <= 65536 + 4096, "%lld bytes of answers held", most);
	ck_assert_int_eq(out, 0);
	ck_assert(log_has("answers not read: no progress writing them for 2 s "
			  "(connection.write_timeout_s)"));
	close(fd);
	stop_hoursd();
}
END_TEST

/*
 * Deadlines in milliseconds: connections that never begin their TLS
 * handshake, opened 0.2 s apart, are each closed no sooner than
 * connection.handshake_timeout_s (2 s) after their accept, and within a
 * second of it.  On a listener that reads a PROXY header, a connection
 * waiting for it is closed at the same deadline and counts in
 * connection.max_connections.
 */
START_TEST(test_deadlines_ms)
{
	char extra[128];
	plain_port = free_port();
	snprintf(extra, sizeof(extra), "  plain: \"127.0.0.1:%d\"\n  proxy_protocol: plain\n",
		 plain_port);
	start_hoursd_tail(extra, "connection:\n  handshake_timeout_s: 2\n  max_connections: 6\n");
	int fds[6];
	double opened[6], closed_at[6] = {0};
	for (int k = 0; k < 6; k++) {
		fds[k] = connect_nb(k < 4 ? port : plain_port);
		opened[k] = mono_s();
		usleep(200000);
	}
	/* a seventh: 4 connections and 2 waiting for their header are the most */
	int seventh = connect_nb(plain_port);
	usleep(200000);
	ck_assert_msg(closed_by_peer(seventh), "a seventh connection is kept");
	close(seventh);
	for (int step = 0; step < 300; step++) {
		bool all = true;
		for (int k = 0; k < 6; k++) {
			if (closed_at[k] == 0 && closed_by_peer(fds[k]))
				closed_at[k] = mono_s();
			all = all && closed_at[k] > 0;
		}
		if (all)
			break;
		usleep(10000);
	}
	for (int k = 0; k < 6; k++) {
		close(fds[k]);
		double after = closed_at[k] - opened[k];
		ck_assert_msg(closed_at[k] > 0, "connection %d still open", k);
		ck_assert_msg(after >= 1.99 && after <= 3.3,
			      "connection %d closed %.3f s after it opened (deadline 2 s)", k,
			      after);
	}
	ck_assert(log_has("PROXY protocol header: not whole within 2 s "
			  "(connection.handshake_timeout_s)"));
	static char page[1 << 17];
	admin_get("/metrics", page, sizeof(page));
	ck_assert_int_eq(metric(page, "hoursd_connections_timed_out_total{deadline=\"handshake\"}"),
			 6);
	ck_assert_int_eq(
		metric(page, "hoursd_connections_refused_total{limit=\"max_connections\"}"), 1);
	stop_hoursd();
}
END_TEST

/*
 * A PKCS#12 without an IMEI or a factory serial to match would go to
 * whoever registers the number: terminal add refuses it unless told
 * --unbound WHY (said on stderr), and hoursd warns of each such terminal
 * at start.
 */
START_TEST(test_p12_unbound)
{
	char p12[700];
	snprintf(p12, sizeof(p12), "%s/term-" T6 ".p12", pki);
	ck_assert_int_eq(hoursctl_run("terminal add 013800000009 --p12 %s --p12-pass 123456 "
				      "--terminal-no 3100000000000009",
				      p12),
			 2);
	ck_assert_int_eq(count_lines_in(ctl_err, "terminal add --p12 needs --imei IMEI or "
						 "--serial S"),
			 1);
	ck_assert_int_eq(
		db_value("SELECT count(*) FROM terminal WHERE phone = '13800000009'", NULL, NULL),
		0);
	ck_assert_int_eq(hoursctl_run("terminal add 013800000009 --p12 %s --p12-pass 123456 "
				      "--terminal-no 3100000000000009 --unbound 'bench terminal'",
				      p12),
			 0);
	ck_assert_int_eq(count_lines_in(ctl_err, "is unbound (--unbound: bench terminal)"), 1);
	start_hoursd(NULL);
	for (int i = 0; i < 50 && !log_has("terminal 13800000009: its registration hands"); i++)
		usleep(100000);
	ck_assert(log_has("terminal 13800000009: its registration hands its PKCS#12"));
	/* T6 is bound to its IMEI */
	ck_assert(!log_has("terminal 13800000006: its registration hands"));
	stop_hoursd();
}
END_TEST

TCase *tcase_abuse(void)
{
	TCase *tc = tcase_create("abuse");
	tcase_set_timeout(tc, 90);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_preauth_flood);
	tcase_add_test(tc, test_unsupported_flood);
	tcase_add_test(tc, test_refusals_answered);
	tcase_add_test(tc, test_admin_flood);
	tcase_add_test(tc, test_slow_reader);
	tcase_add_test(tc, test_deadlines_ms);
	tcase_add_test(tc, test_p12_unbound);
	return tc;
}
