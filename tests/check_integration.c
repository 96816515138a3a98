/*
 * check_integration.c - the real daemon against a real PostgreSQL, driven
 * by termsim over real TLS.  Run by scripts/run-tests.sh, which starts the
 * cluster, makes the PKI and the template database, and sets:
 *   HOURSD_BIN_DIR       where hoursd and termsim are (build or build/san)
 *   HOURSD_TEST_PKI      the test PKI (scripts/pki.sh)
 *   HOURSD_TEST_PG_DIR   the cluster (scripts/pg.sh), stopped and started by a test
 *   HOURSD_TEST_CONNINFO a connection string to the template database "hoursd"
 *   HOURSD_TEST_WORK     a scratch directory
 * Terminals in the template: 013800000001 and 013800000002 active,
 * 013800000004 disabled; 013800000003 has a certificate but is not registered.
 * Every test gets a fresh copy of the template, a fresh hoursd on a free
 * port, and checks both what termsim saw acked and what is in the database.
 */
#include "hoursd.h"

#include <check.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define T1 "013800000001"
#define T2 "013800000002"
#define T3 "013800000003"
#define T4 "013800000004"
#define T5 "013800000005" /* signs with SM2 */

/* Course codes: vehicle, C1, part 3 (road: no site needed) and part 2 (on site). */
#define PART3 "--course 1213010000"
#define PART2 "--course 1212010000"

static char work[512], pki[512], bindir[512], pgdir[512], base_ci[1024], repo[512];
static char test_ci[1200], conf_path[600], log_path[600], out_path[600], acked_path[600];
static pid_t hoursd_pid;
static int port, admin_port;

static const char *need_env(const char *k)
{
	const char *v = getenv(k);
	ck_assert_msg(v != NULL, "%s is not set (run through scripts/run-tests.sh)", k);
	return v;
}

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

static PGconn *db_connect(const char *ci)
{
	PGconn *c = PQconnectdb(ci);
	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "connect: %s", PQerrorMessage(c));
	return c;
}

static void db_exec(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
}

/* One number from a query with up to two text parameters. */
static long long db_value(const char *sql, const char *p1, const char *p2)
{
	PGconn *c = db_connect(test_ci);
	const char *v[2] = {p1, p2};
	int n = p2 ? 2 : p1 ? 1 : 0;
	PGresult *r = PQexecParams(c, sql, n, NULL, v, NULL, NULL, 0);
	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(c));
	ck_assert_int_eq(PQntuples(r), 1);
	long long x = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	PQfinish(c);
	return x;
}

static long long positions_of(const char *terminal)
{
	return db_value("SELECT count(*) FROM position p JOIN terminal t ON t.id = p.terminal_id"
			" WHERE t.phone = ltrim($1, '0')",
			terminal, NULL);
}

static void fresh_database(void)
{
	char ci[1300];
	snprintf(ci, sizeof(ci), "%s dbname=postgres", base_ci);
	PGconn *c = db_connect(ci);
	db_exec(c, "DROP DATABASE IF EXISTS hoursd_test WITH (FORCE)");
	db_exec(c, "CREATE DATABASE hoursd_test TEMPLATE hoursd");
	PQfinish(c);
	snprintf(test_ci, sizeof(test_ci), "%s dbname=hoursd_test", base_ci);
}

/* extra goes into the listen section, tail at the end (whole sections). */
static void write_config_tail(const char *extra, const char *tail)
{
	FILE *f = fopen(conf_path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f,
		"listen:\n  tls: \"127.0.0.1:%d\"\n%s"
		"tls:\n  cert: %s/server.crt\n  key: %s/server.key\n  ca: %s/ca.crt\n"
		"database:\n  conninfo: \"%s\"\n  batch_max_ms: 2\n  reconnect_min_ms: 50\n"
		"  reconnect_max_ms: 300\n"
		"log:\n  level: debug\nprocess:\n  allow_root: true\n"
		"admin:\n  listen: \"127.0.0.1:%d\"\n"
		"rules:\n  syllabus: %s/conf/syllabus.yaml\n%s",
		port, extra ? extra : "", pki, pki, pki, test_ci, admin_port, repo,
		tail ? tail : "");
	fclose(f);
}

static void write_config(const char *extra)
{
	write_config_tail(extra, NULL);
}

/* fork + exec with stdout and stderr to files; the child dies with us. */
static pid_t spawn(char *const argv[], const char *out, const char *err)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fo = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);
		int fe = open(err, O_WRONLY | O_CREAT | O_APPEND, 0644);
		dup2(fo, 1);
		dup2(fe, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static int wait_exit(pid_t pid, int timeout_s)
{
	int st;
	for (int i = 0; i < timeout_s * 20; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		usleep(50000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static int count_lines_in(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	int n = 0;
	while (f && fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	if (f)
		fclose(f);
	return n;
}

static int count_lines_with(const char *needle)
{
	return count_lines_in(log_path, needle);
}

static void start_hoursd(const char *extra)
{
	int readies = count_lines_with(" ready");
	write_config(extra);
	char prog[600];
	snprintf(prog, sizeof(prog), "%s/hoursd", bindir);
	char *argv[] = {prog, (char *)"-c", conf_path, NULL};
	hoursd_pid = spawn(argv, log_path, log_path);
	/* Ready when the log says so, past what earlier runs wrote (a probe
	 * connection would be logged as a failed handshake). */
	for (int i = 0; i < 200; i++) {
		if (count_lines_with(" ready") > readies)
			return;
		usleep(50000);
	}
	ck_abort_msg("hoursd did not become ready; see %s", log_path);
}

/* SIGTERM, and hoursd must drain and exit 0 (under ASan: no leak either). */
static void stop_hoursd(void)
{
	if (hoursd_pid <= 0)
		return;
	kill(hoursd_pid, SIGTERM);
	int rc = wait_exit(hoursd_pid, 20);
	hoursd_pid = 0;
	ck_assert_msg(rc == 0, "hoursd exited with %d; see %s", rc, log_path);
}

static bool log_has(const char *needle)
{
	return count_lines_with(needle) > 0;
}

/* Build termsim's argv: connection options for a terminal, then extra words. */
static pid_t termsim_start(const char *cert_name, const char *phone, const char *extra)
{
	static char prog[600], ca[600], cert[600], key[600], portstr[16], words[1024];
	static char *argv[64];
	int n = 0;
	snprintf(prog, sizeof(prog), "%s/termsim", bindir);
	snprintf(ca, sizeof(ca), "%s/ca.crt", pki);
	snprintf(portstr, sizeof(portstr), "%d", port);
	argv[n++] = prog;
	argv[n++] = (char *)"--port";
	argv[n++] = portstr;
	argv[n++] = (char *)"--ca";
	argv[n++] = ca;
	if (cert_name) {
		snprintf(cert, sizeof(cert), "%s/%s.crt", pki, cert_name);
		snprintf(key, sizeof(key), "%s/%s.key", pki, cert_name);
		argv[n++] = (char *)"--cert";
		argv[n++] = cert;
		argv[n++] = (char *)"--key";
		argv[n++] = key;
	}
	argv[n++] = (char *)"--phone";
	argv[n++] = (char *)phone;
	argv[n++] = (char *)"--acked-file";
	argv[n++] = acked_path;
	snprintf(words, sizeof(words), "%s", extra ? extra : "");
	for (char *w = strtok(words, " "); w && n < 62; w = strtok(NULL, " "))
		argv[n++] = w;
	argv[n] = NULL;
	unlink(out_path);
	return spawn(argv, out_path, log_path);
}

static int termsim(const char *cert_name, const char *phone, const char *extra)
{
	return wait_exit(termsim_start(cert_name, phone, extra), 90);
}

/* A key=value of termsim's summary; -999 when missing. */
static long long out_value(const char *key)
{
	FILE *f = fopen(out_path, "r");
	char line[256];
	size_t kl = strlen(key);
	long long v = -999;
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, key, kl) == 0 && line[kl] == '=')
			v = strtoll(line + kl + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

/* Every position termsim saw acked is in the database. */
static long long acked_lines(void)
{
	FILE *f = fopen(acked_path, "r");
	long long n = 0;
	char line[64];
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		ck_assert_msg(db_value("SELECT count(*) FROM position"
				       " WHERE fix_time = to_timestamp($1::bigint)",
				       line, NULL) == 1,
			      "acked position %s is not in the database", line);
		n++;
	}
	if (f)
		fclose(f);
	return n;
}

static void setup(void)
{
	snprintf(work, sizeof(work), "%s", need_env("HOURSD_TEST_WORK"));
	snprintf(pki, sizeof(pki), "%s", need_env("HOURSD_TEST_PKI"));
	snprintf(bindir, sizeof(bindir), "%s", need_env("HOURSD_BIN_DIR"));
	snprintf(pgdir, sizeof(pgdir), "%s", need_env("HOURSD_TEST_PG_DIR"));
	snprintf(base_ci, sizeof(base_ci), "%s", need_env("HOURSD_TEST_CONNINFO"));
	ck_assert_ptr_nonnull(getcwd(repo, sizeof(repo)));
	snprintf(conf_path, sizeof(conf_path), "%s/hoursd.yaml", work);
	snprintf(log_path, sizeof(log_path), "%s/hoursd.log", work);
	snprintf(out_path, sizeof(out_path), "%s/termsim.out", work);
	snprintf(acked_path, sizeof(acked_path), "%s/acked.txt", work);
	unlink(log_path);
	unlink(acked_path);
	port = free_port();
	admin_port = free_port();
	fresh_database();
}

static void teardown(void)
{
	if (hoursd_pid > 0) {
		kill(hoursd_pid, SIGKILL);
		waitpid(hoursd_pid, NULL, 0);
	}
}

/* ---- the tests ---- */

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

/* GET a page of the admin listener; the whole answer, headers included. */
static void admin_get(const char *path, char *out, size_t cap)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)admin_port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	char req[256];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n", path);
	ck_assert_int_eq(write(fd, req, (size_t)n), n);
	size_t len = 0;
	ssize_t r;
	while (len + 1 < cap && (r = read(fd, out + len, cap - 1 - len)) > 0)
		len += (size_t)r;
	out[len] = '\0';
	close(fd);
}

/* The value of one sample line "name value" of the metrics page; -1 when absent. */
static long long metric(const char *page, const char *name)
{
	char key[256];
	snprintf(key, sizeof(key), "\n%s ", name);
	const char *p = strstr(page, key);
	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

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

/* Run hoursctl against the test database; its exit status (output in the termsim file). */
static int hoursctl(const char *cmd, const char *arg)
{
	char prog[600];
	snprintf(prog, sizeof(prog), "%s/hoursctl", bindir);
	char *argv[] = {prog, (char *)"-d", test_ci, (char *)cmd, (char *)arg, NULL};
	unlink(out_path);
	return wait_exit(spawn(argv, out_path, log_path), 60);
}

/* Records of a terminal with a verdict (and a reason, unless NULL). */
static long long records_of(const char *terminal, const char *verdict, const char *reason)
{
	if (reason)
		return db_value("SELECT count(*) FROM training_record r JOIN terminal t"
				" ON t.id = r.terminal_id WHERE t.phone = ltrim($1, '0')"
				" AND r.reason = $2",
				terminal, reason);
	return db_value(
		"SELECT count(*) FROM training_record r JOIN terminal t"
		" ON t.id = r.terminal_id WHERE t.phone = ltrim($1, '0') AND r.verdict = $2",
		terminal, verdict);
}

/* 08:00 Beijing time, days_ago days before today, as seconds since the epoch. */
static long long morning(int days_ago)
{
	long long now = time(NULL), day = 86400, bj = 8 * 3600;
	/* (now + bj) / day * day is today's Beijing midnight read as UTC: 08:00 there. */
	return (now + bj) / day * day - days_ago * day;
}

static char *words(const char *fmt, ...) PRINTF(1, 2);
static char *words(const char *fmt, ...)
{
	static char buf[4][512];
	static int k;
	char *b = buf[k++ % 4];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b, 512, fmt, ap);
	va_end(ap);
	return b;
}

START_TEST(test_lesson_ecdsa)
{
	start_hoursd(NULL);
	ck_assert_int_eq(termsim("term-" T1, T1, "--lesson 10 " PART3), 0);
	ck_assert_int_eq(out_value("coach_login_result"), 1);
	ck_assert_int_eq(out_value("student_login_result"), 1);
	ck_assert_int_eq(out_value("records_ok"), 10);
	ck_assert_int_eq(out_value("student_logout_result"), 1);
	ck_assert_int_eq(out_value("coach_logout_result"), 1);
	ck_assert_int_eq(records_of(T1, "accepted", NULL), 10);
	ck_assert_int_eq(db_value("SELECT count(*) FROM session_event WHERE verdict = 'accepted'",
				  NULL, NULL),
			 4);
	ck_assert_int_eq(db_value("SELECT accepted_minutes FROM lesson", NULL, NULL), 10);
	ck_assert_int_eq(db_value("SELECT vehicle FROM progress WHERE part = 3", NULL, NULL), 10);
	stop_hoursd();
}
END_TEST

START_TEST(test_lesson_rsa_and_sm2)
{
	start_hoursd(NULL);
	ck_assert_int_eq(
		termsim("term-" T2, T2,
			words("--lesson 5 %s --sign-key %s/sign-rsa-" T2 ".key", PART3, pki)),
		0);
	ck_assert_int_eq(records_of(T2, "accepted", NULL), 5);
	/* Another student, so that the minutes do not overlap T2's. */
	ck_assert_int_eq(
		termsim("term-" T5, T5,
			words("--lesson 5 %s --student S000000000000009 --coach C000000000000009"
			      " --sign-key %s/sign-sm2-" T5 ".key",
			      PART3, pki)),
		0);
	ck_assert_int_eq(records_of(T5, "accepted", NULL), 5);
	/* The TLS key is not T2's registered signing key: its coach login is refused. */
	ck_assert_int_eq(termsim("term-" T2, T2, "--lesson 3 --student S000000000000008 " PART3),
			 1);
	ck_assert_int_eq(out_value("coach_login_result"), 9);
	ck_assert_int_ge(
		db_value("SELECT count(*) FROM session_event WHERE reason = 'bad_signature'", NULL,
			 NULL),
		1);
	ck_assert_int_eq(records_of(T2, "accepted", NULL), 5);
	stop_hoursd();
}
END_TEST

START_TEST(test_tampered_resent_and_reused_records)
{
	start_hoursd(NULL);
	ck_assert_int_eq(
		termsim("term-" T1, T1, "--lesson 6 --tamper 2 --resend 3 --reuse 4 " PART3), 0);
	ck_assert_int_eq(out_value("records_ok"), 6);	  /* 5 good ones and the resend */
	ck_assert_int_eq(out_value("records_failed"), 2); /* the tampered one and the reuse */
	ck_assert_int_eq(records_of(T1, "accepted", NULL), 5);
	ck_assert_int_eq(records_of(T1, NULL, "bad_signature"), 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM training_record_conflict", NULL, NULL), 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM training_record", NULL, NULL), 6);
	stop_hoursd();
}
END_TEST

START_TEST(test_records_without_a_lesson)
{
	start_hoursd(NULL);
	ck_assert_int_eq(termsim("term-" T1, T1, "--lesson 4 --no-session " PART3), 0);
	ck_assert_int_eq(out_value("records_failed"), 4);
	ck_assert_int_eq(records_of(T1, NULL, "no_session"), 4);
	ck_assert_int_eq(db_value("SELECT count(*) FROM progress", NULL, NULL), 0);
	stop_hoursd();
}
END_TEST

START_TEST(test_photos)
{
	start_hoursd(NULL);
	ck_assert_int_eq(
		termsim("term-" T1, T1, "--lesson 2 --photo 5000 --photo-order reverse " PART3), 0);
	ck_assert_int_eq(out_value("photo_init_result"), 0);
	ck_assert_int_eq(out_value("photo_result"), 0);
	ck_assert_int_eq(db_value("SELECT count(*) FROM photo WHERE size = 5000"
				  " AND sha256 = sha256(data) AND length(data) = 5000",
				  NULL, NULL),
			 1);
	/* A piece never sent: no answer, nothing stored, the lesson goes on. */
	ck_assert_int_eq(termsim("term-" T1, T1,
				 "--lesson 2 --photo 3000 --photo-drop 2 --student S000000000000002"
				 " --coach C000000000000002 --record-seq 101 " PART3),
			 0);
	ck_assert_int_eq(out_value("photo_result"), -1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM photo", NULL, NULL), 1);
	stop_hoursd();
}
END_TEST

/* The same student in two vehicles in the same minutes: each minute counts once. */
START_TEST(test_same_student_on_two_terminals)
{
	start_hoursd(NULL);
	char *a = words("--lesson 20 --rate 50 --record-start %lld " PART3, morning(1));
	char *b = words("--lesson 20 --rate 50 --record-start %lld --coach C000000000000005 " PART3,
			morning(1));
	pid_t p1 = termsim_start("term-" T1, T1, a);
	pid_t p2 = termsim_start("term-" T2, T2,
				 words("%s --sign-key %s/sign-rsa-" T2 ".key", b, pki));
	ck_assert_int_ne(wait_exit(p1, 60), -1);
	ck_assert_int_ne(wait_exit(p2, 60), -1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM training_record WHERE verdict = 'accepted'",
				  NULL, NULL),
			 20);
	ck_assert_int_eq(db_value("SELECT count(*) FROM training_record"
				  " WHERE reason = 'student_overlap'",
				  NULL, NULL),
			 20);
	ck_assert_int_eq(db_value("SELECT vehicle FROM progress", NULL, NULL), 20);
	ck_assert_int_eq(hoursctl("recompute", NULL), 0);
	stop_hoursd();
}
END_TEST

/* A day over the practice cap (240 minutes): the rest is stored, marked, not counted. */
START_TEST(test_daily_cap)
{
	start_hoursd(NULL);
	ck_assert_int_eq(
		termsim("term-" T1, T1,
			words("--lesson 250 --window 64 --record-start %lld " PART3, morning(1))),
		1); /* records over the cap are answered with failure */
	ck_assert_int_eq(out_value("records_ok"), 240);
	ck_assert_int_eq(records_of(T1, NULL, "daily_cap"), 10);
	ck_assert_int_eq(db_value("SELECT vehicle FROM progress", NULL, NULL), 240);
	ck_assert_int_eq(hoursctl("recompute", NULL), 0);
	ck_assert_int_eq(hoursctl("explain", "S000000000000001"), 0);
	ck_assert_int_eq(count_lines_in(out_path, "minutes that did not count: 10"), 1);
	ck_assert_int_eq(count_lines_in(out_path, "daily_cap"), 10);
	stop_hoursd();
}
END_TEST

/*
 * Part 3 of C1 (1440 minutes, 240 a day) completed by minutes arriving at
 * once from two terminals: exactly one push packet.
 */
START_TEST(test_part_met_once_under_concurrency)
{
	start_hoursd(NULL);
	const char *coach2 = "--coach C000000000000002";
	pid_t p[6];
	for (int d = 0; d < 6; d++) {
		const char *who = d % 2 ? T2 : T1;
		char *w = words(
			"--lesson 240 --window 64 --record-start %lld --record-seq %d %s %s%s%s",
			morning(6 - d), 1 + 240 * d, PART3, d % 2 ? coach2 : "",
			d % 2 ? " --sign-key " : "", d % 2 ? pki : "");
		if (d % 2)
			w = words("%s/sign-rsa-" T2 ".key", w);
		p[d] = termsim_start(d % 2 ? "term-" T2 : "term-" T1, who, w);
		if (d % 2) {
			ck_assert_int_eq(wait_exit(p[d - 1], 120), 0);
			ck_assert_int_eq(wait_exit(p[d], 120), 0);
		}
	}
	ck_assert_int_eq(db_value("SELECT vehicle FROM progress WHERE part = 3", NULL, NULL), 1440);
	ck_assert_int_eq(db_value("SELECT count(*) FROM push_packet", NULL, NULL), 1);
	ck_assert_int_eq(hoursctl("recompute", NULL), 0);
	/* recompute does see a difference: progress changed behind its back. */
	PGconn *c = db_connect(test_ci);
	db_exec(c, "UPDATE progress SET vehicle = vehicle + 1");
	PQfinish(c);
	ck_assert_int_eq(hoursctl("recompute", NULL), 1);
	stop_hoursd();
}
END_TEST

/*
 * Field driving (part 2) counts only on the school's site.  termsim drives
 * north-east 80 microdegrees a minute from the site's corner: minutes 0-6
 * are on the site, 7-12 in the building (a hole), 13-25 on the site's
 * upper arm, 26-29 past it (conf/site-sample.geojson).
 */
START_TEST(test_training_site)
{
	start_hoursd(NULL);
	ck_assert_int_eq(termsim("term-" T1, T1, "--lesson 30 " PART2), 1);
	ck_assert_int_eq(out_value("records_ok"), 20);
	ck_assert_int_eq(records_of(T1, NULL, "outside_training_site"), 10);
	ck_assert_int_eq(db_value("SELECT count(*) FROM training_record WHERE verdict = 'accepted'"
				  " AND record_no LIKE '%000' || $1",
				  "8", NULL),
			 0); /* sequence 8 is minute 7, the first in the hole */
	/* Terminal 2 belongs to no school with a site. */
	ck_assert_int_eq(
		termsim("term-" T2, T2,
			words("--lesson 3 --student S000000000000002 --coach C000000000000002"
			      " --sign-key %s/sign-rsa-" T2 ".key " PART2,
			      pki)),
		1);
	ck_assert_int_eq(records_of(T2, NULL, "no_training_site"), 3);
	stop_hoursd();
}
END_TEST

/*
 * A terminal that reconnects mid-lesson, and an hoursd restarted
 * mid-lesson: the lesson goes on from what the database holds.
 */
START_TEST(test_lesson_survives_reconnect_and_restart)
{
	long long t0 = morning(1);
	start_hoursd(NULL);
	ck_assert_int_eq(termsim("term-" T1, T1,
				 words("--lesson 5 --no-logout --record-start %lld " PART3, t0)),
			 0);
	/* The connection is gone; a new one continues the lesson. */
	ck_assert_int_eq(termsim("term-" T1, T1,
				 words("--lesson 5 --no-login --no-logout --record-seq 6"
				       " --record-start %lld " PART3,
				       t0 + 300)),
			 0);
	stop_hoursd();
	start_hoursd(NULL);
	ck_assert_int_eq(
		termsim("term-" T1, T1,
			words("--lesson 5 --no-login --record-seq 11 --record-start %lld " PART3,
			      t0 + 600)),
		0);
	ck_assert(log_has("lesson continues"));
	ck_assert_int_eq(records_of(T1, "accepted", NULL), 15);
	ck_assert_int_eq(db_value("SELECT accepted_minutes FROM lesson", NULL, NULL), 15);
	/* The lesson is closed now: a record after it is refused. */
	ck_assert_int_eq(termsim("term-" T1, T1,
				 words("--lesson 1 --no-login --no-logout --record-seq 16"
				       " --record-start %lld " PART3,
				       t0 + 900)),
			 1);
	ck_assert_int_eq(records_of(T1, NULL, "no_session"), 1);
	stop_hoursd();
}
END_TEST

static void pg_ctl(const char *what)
{
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "scripts/pg.sh %s '%s' >/dev/null", what, pgdir);
	ck_assert_int_eq(system(cmd), 0);
}

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

static Suite *suite(void)
{
	Suite *s = suite_create("integration");
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
	tcase_add_test(tc, test_database_stopped_mid_stream);
	tcase_add_test(tc, test_metrics_match_traffic);
	tcase_add_test(tc, test_reload_under_traffic);
	tcase_add_test(tc, test_sigterm_drains_under_load);
	TCase *tl = tcase_create("lessons");
	tcase_set_timeout(tl, 180);
	tcase_add_checked_fixture(tl, setup, teardown);
	tcase_add_test(tl, test_lesson_ecdsa);
	tcase_add_test(tl, test_lesson_rsa_and_sm2);
	tcase_add_test(tl, test_tampered_resent_and_reused_records);
	tcase_add_test(tl, test_records_without_a_lesson);
	tcase_add_test(tl, test_photos);
	tcase_add_test(tl, test_same_student_on_two_terminals);
	tcase_add_test(tl, test_daily_cap);
	tcase_add_test(tl, test_part_met_once_under_concurrency);
	tcase_add_test(tl, test_training_site);
	tcase_add_test(tl, test_lesson_survives_reconnect_and_restart);
	suite_add_tcase(s, tl);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
