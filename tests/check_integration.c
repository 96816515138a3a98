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
#include "jt808.h"
#include "syllabus.h"
#include "queries.h"
#include "rows.h"

#include <check.h>
#include <jansson.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/pem.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

/*
 * A loopback port nothing listens on now, and not one this test has
 * handed out already: the kernel gives a port just closed again, and two
 * listeners of one hoursd on one port made it refuse to start (seen in CI).
 */
static int free_port(void)
{
	static int given[64];
	static size_t ngiven;
	for (int attempt = 0; attempt < 100; attempt++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in sa = {.sin_family = AF_INET,
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		socklen_t len = sizeof(sa);
		ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
		close(fd);
		int p = ntohs(sa.sin_port);
		bool seen = false;
		for (size_t i = 0; i < ngiven; i++)
			seen = seen || given[i] == p;
		if (seen)
			continue;
		if (ngiven < ARRAY_SIZE(given))
			given[ngiven++] = p;
		return p;
	}
	ck_abort_msg("no free port");
	return -1;
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
/*
 * The judge decides after ingest's commit, asynchronously: wait (up to
 * 10 s) until it has taken every queued record, so that what a test reads
 * is what the records say.  With no hoursd running the queue stays.
 */
static void judged(PGconn *c)
{
	if (hoursd_pid <= 0)
		return;
	for (int i = 0; i < 200; i++) {
		PGresult *r = PQexec(c, "SELECT NOT EXISTS (SELECT 1 FROM judge_queue)"
					" AND NOT EXISTS (SELECT 1 FROM judge_recheck)");
		bool empty = PQresultStatus(r) == PGRES_TUPLES_OK && PQgetvalue(r, 0, 0)[0] == 't';
		PQclear(r);
		if (empty)
			return;
		usleep(50 * 1000);
	}
}

/* One value from the test database, once the judge has caught up. */
static long long db_value(const char *sql, const char *p1, const char *p2)
{
	PGconn *c = db_connect(test_ci);
	judged(c);
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
/* A syllabus file of the test's own instead of conf/syllabus.yaml ("": the shipped one). */
static char syllabus_override[600];

static void write_config_tail(const char *extra, const char *tail)
{
	char syl[700];
	if (syllabus_override[0])
		snprintf(syl, sizeof(syl), "%s", syllabus_override);
	else
		snprintf(syl, sizeof(syl), "%s/conf/syllabus.yaml", repo);
	FILE *f = fopen(conf_path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f,
		"listen:\n  tls: \"127.0.0.1:%d\"\n%s"
		"tls:\n  cert: %s/server.crt\n  key: %s/server.key\n  ca: %s/ca.crt\n"
		"database:\n  conninfo: \"%s\"\n  batch_max_ms: 2\n  reconnect_min_ms: 50\n"
		"  reconnect_max_ms: 300\n"
		"log:\n  level: debug\nprocess:\n  allow_root: true\n"
		"admin:\n  listen: \"127.0.0.1:%d\"\n"
		"rules:\n  syllabus: %s\n%s",
		port, extra ? extra : "", pki, pki, pki, test_ci, admin_port, syl,
		tail ? tail : "");
	fclose(f);
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

/* extra into the listen section, tail at the end, as write_config_tail. */
static void start_hoursd_tail(const char *extra, const char *tail)
{
	int readies = count_lines_with(" ready");
	write_config_tail(extra, tail);
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
	char cmd[1400];
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s/hoursd-not-ready-%d.log'", log_path, work,
		 (int)getpid());
	if (system(cmd) != 0)
		fprintf(stderr, "could not keep %s\n", log_path);
	ck_abort_msg("hoursd did not become ready; see %s/hoursd-not-ready-%d.log", work,
		     (int)getpid());
}

static void start_hoursd(const char *extra)
{
	start_hoursd_tail(extra, NULL);
}

/* SIGTERM, and hoursd must drain and exit 0 (under ASan: no leak either). */
static void stop_hoursd(void)
{
	if (hoursd_pid <= 0)
		return;
	kill(hoursd_pid, SIGTERM);
	int rc = wait_exit(hoursd_pid, 20);
	hoursd_pid = 0;
	if (rc != 0) {
		char cmd[1400];
		/* Kept for the reader: the next test starts a new log. */
		snprintf(cmd, sizeof(cmd), "cp '%s' '%s/hoursd-exit-%d-%d.log'", log_path, work, rc,
			 (int)getpid());
		if (system(cmd) != 0)
			fprintf(stderr, "could not keep %s\n", log_path);
	}
	ck_assert_msg(rc == 0, "hoursd exited with %d; see %s/hoursd-exit-%d-%d.log", rc, work, rc,
		      (int)getpid());
}

static bool log_has(const char *needle)
{
	return count_lines_with(needle) > 0;
}

/*
 * Build termsim's argv: connection options for a terminal, then extra
 * words.  These tests are of the TLS listener with the 2013 header and
 * the auth code, which termsim no longer does by default: they say so
 * (--tls --layout 2013; a later --plain or --v2019 in extra wins).
 */
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
	argv[n++] = (char *)"--tls";
	argv[n++] = (char *)"--layout";
	argv[n++] = (char *)"2013";
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

/* Run hoursctl against the test database; its exit status (output in the termsim file). */
static int hoursctl(const char *cmd, const char *arg)
{
	char prog[600];
	snprintf(prog, sizeof(prog), "%s/hoursctl", bindir);
	char *argv[] = {prog, (char *)"-d", test_ci, (char *)cmd, (char *)arg, NULL};
	unlink(out_path);
	return wait_exit(spawn(argv, out_path, log_path), 60);
}

/* Records of a terminal with a final verdict, ingest's or the judge's (and a reason, unless NULL).
 */
static long long records_of(const char *terminal, const char *verdict, const char *reason)
{
	if (reason)
		return db_value("SELECT count(*) FROM record_verdict r JOIN terminal t"
				" ON t.id = r.terminal_id WHERE t.phone = ltrim($1, '0')"
				" AND r.reason = $2",
				terminal, reason);
	return db_value(
		"SELECT count(*) FROM record_verdict r JOIN terminal t"
		" ON t.id = r.terminal_id WHERE t.phone = ltrim($1, '0') AND r.verdict = $2",
		terminal, verdict);
}

/* ---- the national timing framing on plain TCP ---- */

#define T6 "013800000006" /* a timing terminal: PKCS#12, terminal number, IMEI */
#define T6_NO "3100000000000006"

static int plain_port;

/* hoursctl with space-separated words, against the test's database; output apart from termsim's. */
static int hoursctl_words(const char *words)
{
	char prog[600], buf[512], out[600];
	char *argv[32];
	int n = 0;
	snprintf(prog, sizeof(prog), "%s/hoursctl", bindir);
	snprintf(buf, sizeof(buf), "%s", words);
	argv[n++] = prog;
	argv[n++] = (char *)"-d";
	argv[n++] = test_ci;
	for (char *w = strtok(buf, " "); w && n < 30; w = strtok(NULL, " "))
		argv[n++] = w;
	argv[n] = NULL;
	snprintf(out, sizeof(out), "%s/hoursctl.out", work);
	return wait_exit(spawn(argv, out, log_path), 60);
}

/* hoursd with a plain-TCP listener too, on plain_port; tail as write_config_tail. */
static void start_hoursd_plain(const char *tail)
{
	plain_port = free_port();
	char extra[64];
	snprintf(extra, sizeof(extra), "  plain: \"127.0.0.1:%d\"\n", plain_port);
	start_hoursd_tail(extra, tail);
}

static int plain_connect(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)plain_port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	struct timeval tv = {10, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

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

	ck_assert_int_eq(hoursctl_words("terminal quirk " T6 " escaped-sums on"), 0);
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

/* termsim as a timing terminal on the plain listener: T6 with its provisioned IMEI. */
static int termsim_timing(const char *extra)
{
	char words[1500];
	snprintf(words, sizeof(words),
		 "--plain --layout timing --port %d --imei 861380000000006 %s", plain_port, extra);
	return termsim(NULL, T6, words);
}

static bool same_file(const char *a, const char *b)
{
	char cmd[2100];
	snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", a, b);
	return system(cmd) == 0;
}

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
	ck_assert_int_eq(
		termsim_timing("--unsigned --auth-ts-offset 2 --lesson 3 --record-seq 11 " PART3),
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

/*
 * The platform's commands: queued by hoursctl before the terminal
 * connects (sent when it authenticates), queued while it is connected
 * (sent within a poll), expired before it connects (never sent); each
 * answered by the terminal and the answer recorded.
 */
START_TEST(test_timing_commands)
{
	start_hoursd_plain(NULL);
	ck_assert_int_eq(hoursctl_words("terminal fetch-records " T6 " --from 2026-11-29T08:00+08"
					" --to 2026-11-29T12:00+08"),
			 0);
	ck_assert_int_eq(hoursctl_words("terminal ban " T6 " on --message 禁止培训"), 0);
	ck_assert_int_eq(hoursctl_words("terminal photo " T6 " --expires 1"), 0);
	ck_assert_int_ne(hoursctl_words("terminal ban " T6 " maybe"), 0);
	ck_assert_int_ne(hoursctl_words("terminal fetch-records " T6 " --from yesterday-ish"
					" --to 2026-11-29T12:00+08"),
			 0);
	ck_assert_int_ne(hoursctl_words("terminal photo 013899999999"), 0);
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
	ck_assert_int_eq(hoursctl_words("terminal photo " T6 " --channel 1"), 0);
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
	/* Both vehicles' minutes are taken at ingest; the judge counts each minute once. */
	ck_assert_int_eq(db_value("SELECT count(*) FROM training_record WHERE verdict = 'accepted'",
				  NULL, NULL),
			 40);
	ck_assert_int_eq(db_value("SELECT count(*) FROM record_verdict WHERE verdict = 'accepted'",
				  NULL, NULL),
			 20);
	ck_assert_int_eq(db_value("SELECT count(*) FROM record_verdict"
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
		0); /* the cap is the judge's: every record is taken, and answered, at ingest */
	ck_assert_int_eq(out_value("records_ok"), 250);
	ck_assert_int_eq(records_of(T1, NULL, "daily_cap"), 10);
	ck_assert_int_eq(db_value("SELECT vehicle FROM progress", NULL, NULL), 240);
	static char page[1 << 17];
	admin_get("/metrics", page, sizeof(page));
	ck_assert_int_eq(
		metric(page, "hoursd_training_records_rejected_total{reason=\"daily_cap\"}"), 10);
	ck_assert_int_eq(metric(page, "hoursd_training_records_total{verdict=\"accepted\"}"), 250);
	ck_assert_int_eq(metric(page, "hoursd_judge_records_total{decision=\"counted\"}"), 240);
	ck_assert_int_eq(metric(page, "hoursd_judge_records_total{decision=\"daily_cap\"}"), 10);
	ck_assert_int_eq(hoursctl("recompute", NULL), 0);
	ck_assert_int_eq(hoursctl("explain", "S000000000000001"), 0);
	ck_assert_int_eq(count_lines_in(out_path, "minutes that did not count: 10"), 1);
	ck_assert_int_eq(count_lines_in(out_path, "daily_cap"), 10);
	stop_hoursd();
}
END_TEST

/* The theory cap (240 minutes a day) spans parts 1 and 4: classroom minutes of both count against
 * it. */
START_TEST(test_daily_cap_across_parts)
{
	start_hoursd(NULL);
	ck_assert_int_eq(
		termsim("term-" T1, T1,
			words("--lesson 200 --window 64 --course 2211010000 --record-start %lld",
			      morning(2))),
		0);
	ck_assert_int_eq(
		termsim("term-" T1, T1,
			words("--lesson 100 --window 64 --course 2214010000 --record-seq 201"
			      " --record-start %lld",
			      morning(2) + 200 * 60)),
		0);
	ck_assert_int_eq(out_value("records_ok"), 100);
	ck_assert_int_eq(records_of(T1, NULL, "daily_cap"), 60);
	ck_assert_int_eq(db_value("SELECT classroom FROM progress WHERE part = 4", NULL, NULL), 40);
	ck_assert_int_eq(hoursctl("recompute", NULL), 0);
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
	ck_assert_int_eq(hoursctl("recompute", NULL), 0);
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

/* ---- the syllabus's rules beyond a part's minutes (the judge) ---- */

/*
 * n minutes of a student, stored as ingest would have accepted them and
 * queued for the judge: per_day a day from start (08:00 Beijing), on T1,
 * its own coach; each mileage dkm, the first first_dkm.  Record numbers:
 * tag and the minute's number.
 */
static void seed_minutes(const char *student, int part, int mode, int n, int per_day,
			 long long start, int dkm, int first_dkm, const char *tag)
{
	char p[8], m[8], nn[16], st[24], d[16], fd[16], pd[16];
	snprintf(p, sizeof(p), "%d", part);
	snprintf(m, sizeof(m), "%d", mode);
	snprintf(nn, sizeof(nn), "%d", n);
	snprintf(st, sizeof(st), "%lld", start);
	snprintf(d, sizeof(d), "%d", dkm);
	snprintf(fd, sizeof(fd), "%d", first_dkm);
	snprintf(pd, sizeof(pd), "%d", per_day);
	const char *v[10] = {T1, student, p, m, nn, st, d, fd, tag, pd};
	PGconn *c = db_connect(test_ci);
	PGresult *r = PQexecParams(
		c,
		"WITH t AS (SELECT id FROM terminal WHERE phone = ltrim($1, '0')),"
		" r AS (INSERT INTO training_record (terminal_id, record_no, record_time, student_no,"
		"  coach_no, class_id, course_code, part, mode, vehicle_class, upload_type,"
		"  record_status, max_speed_dkmh, mileage_dkm, lat_e6, lon_e6, fix_valid, verdict,"
		"  raw, raw_sha256)"
		"  SELECT t.id, $9 || lpad(k::text, 5, '0'),"
		"   to_timestamp($6::bigint + (k - 1) / $10::int * 86400 + (k - 1) % $10::int * 60),"
		"   $2, 'C' || substr($2, 2), 1, '1213010000', $3::int, $4::int, 'C1', 1, 0, 300,"
		"   CASE WHEN k = 1 THEN $8::int ELSE $7::int END, 31000000, 121000000, true,"
		"   'accepted', '\\x00', sha256('\\x00') FROM t, generate_series(1, $5::int) k"
		"  RETURNING terminal_id, record_no, record_time)"
		" INSERT INTO judge_queue (terminal_id, record_no)"
		" SELECT terminal_id, record_no FROM r ORDER BY record_time",
		10, NULL, v, NULL, NULL, 0);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "seed: %s", PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

static long long packets_of(const char *student, const char *part)
{
	return db_value("SELECT count(*) FROM push_packet WHERE student_no = $1 AND part = $2::int",
			student, part);
}

/*
 * The 300 km of a class are over the practice parts together, and part 3
 * (road driving) waits for them: a C1 student with part 3's 1440 minutes
 * at 299.9 km is not pushed; one more part-2 minute of 0.1 km pushes part 3.
 */
START_TEST(test_mileage_gate)
{
	start_hoursd(NULL);
	const char *s = "S000000000000091";
	seed_minutes(s, 3, 1, 1440, 240, morning(10), 2, 121, "G"); /* 1439 * 2 + 121 = 2999 dkm */
	ck_assert_int_eq(db_value("SELECT vehicle FROM progress WHERE student_no = $1 AND part = 3",
				  s, NULL),
			 1440);
	ck_assert_int_eq(packets_of(s, "3"), 0);
	char out[600];
	snprintf(out, sizeof(out), "%s/hoursctl.out", work);
	unlink(out);
	ck_assert_int_eq(hoursctl_words("explain S000000000000091"), 0);
	ck_assert_int_eq(
		count_lines_in(out,
			       "mileage of the practice parts: 299.9 km; part 3 waits for 300 km"),
		1);
	seed_minutes(s, 2, 1, 1, 240, morning(3), 1, 1, "H");
	ck_assert_int_eq(packets_of(s, "3"), 1);
	ck_assert_int_eq(packets_of(s, "2"), 0);
	ck_assert_int_eq(hoursctl("recompute", NULL), 0);
	stop_hoursd();
}
END_TEST

/*
 * A student adding a class to a licence already held is met at the
 * reduced figures (C1 part 1: 4 hours); a new student is not, until the
 * licence held is recorded (the judge looks at the student again).
 */
START_TEST(test_adding_class)
{
	start_hoursd(NULL);
	const char *held = "S000000000000081", *fresh = "S000000000000082";
	ck_assert_int_eq(hoursctl_words("student held S000000000000081 C2"), 0);
	seed_minutes(held, 1, 2, 240, 240, morning(4), 0, 0, "A");
	seed_minutes(fresh, 1, 2, 240, 240, morning(4), 0, 0, "B");
	ck_assert_int_eq(packets_of(held, "1"), 1);
	ck_assert_int_eq(packets_of(fresh, "1"), 0);
	char out[600];
	snprintf(out, sizeof(out), "%s/hoursctl.out", work);
	unlink(out);
	ck_assert_int_eq(hoursctl_words("explain S000000000000081"), 0);
	ck_assert_int_eq(count_lines_in(out, "licence held: C2"), 1);
	ck_assert_int_eq(count_lines_in(out, "part 1 240 min"), 1);
	unlink(out);
	ck_assert_int_eq(hoursctl_words("explain S000000000000082"), 0);
	ck_assert_int_eq(count_lines_in(out, "licence held: none recorded"), 1);
	/* Recorded later: the judge looks at the student again, no new minute needed. */
	ck_assert_int_eq(hoursctl_words("student held S000000000000082 E"), 0);
	ck_assert_int_eq(packets_of(fresh, "1"), 1);
	ck_assert_int_eq(hoursctl_words("student held S000000000000082 c1"), 2);
	stop_hoursd();
}
END_TEST

/* The daily theory cap is a setting: 4 hours by default, 6 where the file says so. */
START_TEST(test_theory_cap_setting)
{
	start_hoursd(NULL);
	seed_minutes("S000000000000071", 1, 2, 300, 300, morning(4), 0, 0, "T");
	ck_assert_int_eq(db_value("SELECT classroom FROM progress WHERE student_no = $1",
				  "S000000000000071", NULL),
			 240);
	ck_assert_int_eq(records_of(T1, NULL, "daily_cap"), 60);
	stop_hoursd();
	/* The same file with theory: 360. */
	char path[600], text[1 << 16];
	snprintf(path, sizeof(path), "%s/conf/syllabus.yaml", repo);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	char *at = strstr(text, "theory: 240");
	ck_assert_ptr_nonnull(at);
	memcpy(at, "theory: 360", 11);
	snprintf(syllabus_override, sizeof(syllabus_override), "%s/syllabus-360.yaml", work);
	f = fopen(syllabus_override, "w");
	ck_assert_ptr_nonnull(f);
	fwrite(text, 1, n, f);
	fclose(f);
	start_hoursd(NULL);
	seed_minutes("S000000000000072", 1, 2, 300, 300, morning(4), 0, 0, "U");
	ck_assert_int_eq(db_value("SELECT classroom FROM progress WHERE student_no = $1",
				  "S000000000000072", NULL),
			 300);
	ck_assert_int_eq(records_of(T1, NULL, "daily_cap"), 60); /* the first student's only */
	stop_hoursd();
	syllabus_override[0] = '\0';
}
END_TEST

/* ---- the push to the police platform (policesim) ---- */

#define PACKET "3f1c2a9e-7b4d-4c6e-9a8f-1d2e3c4b5a69"
/* docs/push-contract.md's example: 4401000000000017|00000120, |00000121, 4401000000000023|00000007
 */
#define RECORDS_SHA256 "88a96c6ab61cc37885ccb75cf115ed8ded8f45821ec44d047a410548a3465a44"
#define SPECIMEN_ID_SHA256 "426695a0efdb59b9eaedaf0b5ca3eddf013cc2a7f9e283437704ea605f421e6d"

static pid_t psim_pid;
static int psim_port;
static char psim_store[600], psim_log[600];
static const char *psim_server = "server"; /* its certificate: PKI/<name>.crt */

/* policesim on its own port with the test PKI; verifies T2's RSA signing certificate. */
static void start_policesim(const char *fault, const char *field_map)
{
	static char prog[600], listen[64], cert[600], key[600], ca[600], verify[600];
	char *argv[24];
	int n = 0, ready = count_lines_in(psim_log, "policesim listening");
	snprintf(prog, sizeof(prog), "%s/policesim", bindir);
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", psim_port);
	snprintf(cert, sizeof(cert), "%s/%s.crt", pki, psim_server);
	snprintf(key, sizeof(key), "%s/%s.key", pki, psim_server);
	snprintf(ca, sizeof(ca), "%s/ca.crt", pki);
	snprintf(verify, sizeof(verify), "%s/sign-rsa-" T2 ".crt", pki);
	const char *words[] = {prog,	"--listen", listen,	   "--cert", cert,
			       "--key", key,	    "--client-ca", ca,	     "--verify-cert",
			       verify,	"--store",  psim_store};
	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		argv[n++] = (char *)words[i];
	if (fault) {
		argv[n++] = (char *)"--fault";
		argv[n++] = (char *)fault;
	}
	if (field_map) {
		argv[n++] = (char *)"--field-map";
		argv[n++] = (char *)field_map;
	}
	argv[n] = NULL;
	psim_pid = spawn(argv, psim_log, psim_log);
	for (int i = 0; i < 100; i++) {
		if (count_lines_in(psim_log, "policesim listening") > ready)
			return;
		usleep(50000);
	}
	ck_abort_msg("policesim did not start; see %s", psim_log);
}

/* SIGTERM: policesim answers or drops what waits and exits 0 (no leak under ASan). */
static void stop_policesim(void)
{
	if (psim_pid <= 0)
		return;
	kill(psim_pid, SIGTERM);
	int rc = wait_exit(psim_pid, 20);
	psim_pid = 0;
	ck_assert_msg(rc == 0, "policesim exited with %d; see %s", rc, psim_log);
}

/*
 * The push section: policesim's URL, T1's TLS certificate, T2's RSA key
 * signs, short delays; then extra lines (a timeout_s there replaces 2 s).
 */
static char *push_section(const char *extra)
{
	static char buf[4096];
	snprintf(buf, sizeof(buf),
		 "push:\n  url: \"https://localhost:%d/api/v1/stage-hours\"\n"
		 "  ca: %s/ca.crt\n  cert: %s/term-" T1 ".crt\n  key: %s/term-" T1 ".key\n"
		 "  sign_key: %s/sign-rsa-" T2 ".key\n  sign_cert: %s/sign-rsa-" T2 ".crt\n"
		 "  retry_min_s: 1\n  retry_max_s: 2\n  lease_s: 5\n%s%s",
		 psim_port, pki, pki, pki, pki, pki,
		 extra && strstr(extra, "timeout_s") ? "" : "  timeout_s: 2\n", extra ? extra : "");
	return buf;
}

static void start_hoursd_push(const char *extra)
{
	int readies = count_lines_with(" ready");
	write_config_tail(NULL, push_section(extra));
	char prog[600];
	snprintf(prog, sizeof(prog), "%s/hoursd", bindir);
	char *argv[] = {prog, (char *)"-c", conf_path, NULL};
	hoursd_pid = spawn(argv, log_path, log_path);
	for (int i = 0; i < 200; i++) {
		if (count_lines_with(" ready") > readies)
			return;
		usleep(50000);
	}
	char cmd[1400];
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s/hoursd-not-ready-%d.log'", log_path, work,
		 (int)getpid());
	if (system(cmd) != 0)
		fprintf(stderr, "could not keep %s\n", log_path);
	ck_abort_msg("hoursd did not become ready; see %s/hoursd-not-ready-%d.log", work,
		     (int)getpid());
}

/*
 * A met part made directly in the database (a lesson to a met part takes
 * 1440 records; test_push_lesson_accepted drives one): the contract's
 * example records on T1 and T2 (T1 belongs to S001), progress, a student
 * with the specimen identity card, and the packet.  Students 2..n get a
 * packet each too, with one record and progress of their own.
 */
static void seed_packets(int n)
{
	PGconn *c = db_connect(test_ci);
	db_exec(c,
		"UPDATE terminal SET terminal_no = '4401000000000017' WHERE phone = '13800000001'");
	db_exec(c,
		"UPDATE terminal SET terminal_no = '4401000000000023' WHERE phone = '13800000002'");
	db_exec(c, "INSERT INTO student (school_id, student_no, id_card_sha256, vehicle_class)"
		   " SELECT id, 'S000000000000001', decode('" SPECIMEN_ID_SHA256 "', 'hex'), 'C1'"
		   " FROM school WHERE code = 'S001'");
	db_exec(c,
		"INSERT INTO training_record (terminal_id, record_no, record_time, student_no,"
		" coach_no, class_id, course_code, part, mode, vehicle_class, upload_type,"
		" record_status, max_speed_dkmh, mileage_dkm, lat_e6, lon_e6, fix_valid, verdict,"
		" raw, raw_sha256)"
		" SELECT t.id, r.no, now() - interval '1 day', r.sn, 'C000000000000001', 1,"
		"  '1213010000', 3, 1, 'C1', 0, 0, 300, 10, 0, 0, true, 'accepted', '\\x00',"
		"  sha256('\\x00')"
		" FROM (VALUES ('13800000001', '00000120', 'S000000000000001'),"
		"  ('13800000001', '00000121', 'S000000000000001'),"
		"  ('13800000002', '00000007', 'S000000000000001'),"
		"  ('13800000001', '00000201', 'S000000000000002'),"
		"  ('13800000001', '00000202', 'S000000000000003'),"
		"  ('13800000001', '00000203', 'S000000000000004'),"
		"  ('13800000001', '00000204', 'S000000000000005')) r(phone, no, sn)"
		" JOIN terminal t ON t.phone = r.phone");
	/* Seeded as judged: each minute counts. */
	db_exec(c, "INSERT INTO record_judgement (terminal_id, record_no, queued_at)"
		   " SELECT terminal_id, record_no, now() FROM training_record");
	db_exec(c, "INSERT INTO progress (student_no, part, vehicle_class, vehicle, mileage_dkm,"
		   " first_minute, last_minute, records)"
		   " VALUES ('S000000000000001', 3, 'C1', 3, 1234, '2026-03-01 00:00:00+00',"
		   " '2026-03-20 09:59:00+00', 3)");
	db_exec(c, "INSERT INTO progress (student_no, part, vehicle_class, vehicle, mileage_dkm,"
		   " first_minute, last_minute, records)"
		   " SELECT 'S00000000000000' || k, 3, 'C1', 1, 5, '2026-03-02 00:00:00+00',"
		   " '2026-03-02 00:00:00+00', 1 FROM generate_series(2, 5) k");
	char sql[600];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO push_packet (id, student_no, part, vehicle_class, created_at)"
		 " SELECT CASE WHEN k = 1 THEN '" PACKET "'::uuid ELSE gen_random_uuid() END,"
		 " 'S00000000000000' || k, 3, 'C1', date_trunc('second', now())"
		 " FROM generate_series(1, %d) k",
		 n);
	db_exec(c, sql);
	PQfinish(c);
}

/* A request to policesim over TLS (T1's client certificate, loopback); the whole answer. */
static void psim_request(const char *method, const char *path, const char *body, char *out,
			 size_t cap)
{
	char f[600], addr[64], req[512];
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	ck_assert_ptr_nonnull(ctx);
	snprintf(f, sizeof(f), "%s/ca.crt", pki);
	ck_assert_int_eq(SSL_CTX_load_verify_locations(ctx, f, NULL), 1);
	snprintf(f, sizeof(f), "%s/term-" T1 ".crt", pki);
	ck_assert_int_eq(SSL_CTX_use_certificate_file(ctx, f, SSL_FILETYPE_PEM), 1);
	snprintf(f, sizeof(f), "%s/term-" T1 ".key", pki);
	ck_assert_int_eq(SSL_CTX_use_PrivateKey_file(ctx, f, SSL_FILETYPE_PEM), 1);
	BIO *b = BIO_new_ssl_connect(ctx);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", psim_port);
	BIO_set_conn_hostname(b, addr);
	ck_assert_msg(BIO_do_connect(b) == 1, "cannot reach policesim on %s", addr);
	int n = snprintf(req, sizeof(req),
			 "%s %s HTTP/1.0\r\nHost: localhost\r\nContent-Length: %zu\r\n\r\n%s",
			 method, path, body ? strlen(body) : 0, body ? body : "");
	ck_assert_int_eq(BIO_write(b, req, n), n);
	size_t len = 0;
	int r;
	while (len + 1 < cap && (r = BIO_read(b, out + len, (int)(cap - 1 - len))) > 0)
		len += (size_t)r;
	out[len] = '\0';
	BIO_free_all(b);
	SSL_CTX_free(ctx);
}

/* One counter of policesim's GET /_stats. */
static long long psim_stat(const char *name)
{
	char page[4096], key[64];
	psim_request("GET", "/_stats", NULL, page, sizeof(page));
	snprintf(key, sizeof(key), "\"%s\":", name);
	const char *p = strstr(page, key);
	ck_assert_msg(p != NULL, "no %s in %s", name, page);
	return strtoll(p + strlen(key), NULL, 10);
}

/* Poll a count until it is want; false after timeout_s. */
static bool wait_value(const char *sql, const char *p1, long long want, int timeout_s)
{
	for (int i = 0; i < timeout_s * 10; i++) {
		if (db_value(sql, p1, NULL) == want)
			return true;
		usleep(100000);
	}
	return false;
}

static long long packets_in(const char *state)
{
	return db_value("SELECT count(*) FROM push_packet WHERE state = $1", state, NULL);
}

static long long attempts_with(const char *outcome)
{
	return db_value("SELECT count(*) FROM push_attempt WHERE outcome = $1", outcome, NULL);
}

static void push_setup(void)
{
	setup();
	snprintf(psim_store, sizeof(psim_store), "%s/accepted.jsonl", work);
	snprintf(psim_log, sizeof(psim_log), "%s/policesim.log", work);
	unlink(psim_store);
	unlink(psim_log);
	psim_server = "server";
	psim_port = free_port();
}

static void push_teardown(void)
{
	teardown();
	if (psim_pid > 0) {
		kill(psim_pid, SIGKILL);
		waitpid(psim_pid, NULL, 0);
		psim_pid = 0;
	}
}

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
	ck_assert_int_eq(hoursctl("push", "list"), 0);
	ck_assert_int_eq(count_lines_in(out_path, PACKET), 1);
	char prog[600];
	snprintf(prog, sizeof(prog), "%s/hoursctl", bindir);
	char *argv[] = {prog,		(char *)"-d",	test_ci, (char *)"push",
			(char *)"show", (char *)PACKET, NULL};
	unlink(out_path);
	ck_assert_int_eq(wait_exit(spawn(argv, out_path, log_path), 30), 0);
	ck_assert_int_eq(count_lines_in(out_path, "accepted  {\"result\":\"accepted\"}"), 1);
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
	char prog[600];
	snprintf(prog, sizeof(prog), "%s/hoursctl", bindir);
	char *argv[] = {prog, (char *)"-d", test_ci, (char *)"push", (char *)"retry", id, NULL};
	ck_assert_int_eq(wait_exit(spawn(argv, out_path, log_path), 30), 0);
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

/* ---- SIGTERM: at once when nothing is pending, else never before the deadline ---- */

static double mono_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
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

/* ---- findings and the quarterly report (docs/audit.md, "Findings") ---- */

/*
 * Rows put straight into the test's database, as hoursd would have stored
 * them: t_rec(terminal, record-number prefix, first minute, count,
 * student, coach, course, ingest's reason (NULL: accepted, and judged
 * with judge), the student login it belongs to, upload type, extension
 * properties, GNSS skew in seconds); t_lesson(terminal, student, coach,
 * login, logout).
 */
static const char findings_fixtures[] =
	"CREATE FUNCTION t_rec(term text, prefix text, start timestamptz, n int, student text,"
	" coach text, course text DEFAULT '1213010000', why text DEFAULT NULL,"
	" login timestamptz DEFAULT NULL, up int DEFAULT 1, props int DEFAULT 34,"
	" skew int DEFAULT 0, judge text DEFAULT NULL) RETURNS void LANGUAGE sql AS $$"
	" INSERT INTO training_record (terminal_id, record_no, record_time, student_no, coach_no,"
	"  class_id, course_code, part, mode, vehicle_class, upload_type, record_status,"
	"  max_speed_dkmh, mileage_dkm, lat_e6, lon_e6, fix_valid, gnss_time, session_login_at,"
	"  verdict, reason, raw, raw_sha256)"
	" SELECT t.id, prefix || lpad(g::text, 4, '0'), start + g * interval '1 minute', student,"
	"  coach, 1, course, substr(course, 4, 1)::smallint, substr(course, 1, 1)::smallint, 'C1',"
	"  up, 0, 300, 5, 31230000 + g, 121470000, true,"
	"  start + g * interval '1 minute' + skew * interval '1 second', login,"
	"  CASE WHEN why IS NULL THEN 'accepted' ELSE 'rejected' END, why,"
	"  decode('13020300' || lpad(to_hex(props), 2, '0') || lpad(to_hex(g % 256), 2, '0'), 'hex'),"
	"  sha256(convert_to(prefix || g, 'UTF8'))"
	"  FROM terminal t, generate_series(0, n - 1) g WHERE t.phone = ltrim(term, '0');"
	" INSERT INTO record_judgement (terminal_id, record_no, reason, queued_at)"
	" SELECT t.id, prefix || lpad(g::text, 4, '0'), judge, now()"
	"  FROM terminal t, generate_series(0, n - 1) g"
	" WHERE t.phone = ltrim(term, '0') AND why IS NULL $$;"
	"CREATE FUNCTION t_lesson(term text, student text, coach text, login timestamptz,"
	" logout timestamptz, minutes int) RETURNS void LANGUAGE sql AS $$"
	" INSERT INTO session_event (terminal_id, kind, event_time, person_no, coach_no, class_id,"
	"  course_code, minutes, lat_e6, lon_e6, fix_valid, verdict, ext_serial, raw)"
	" SELECT t.id, k.kind, k.at, student, coach, 1, '1213010000', k.minutes, 31230000,"
	"  121470000, true, 'accepted', 1, '\\x00'::bytea"
	"  FROM terminal t, (VALUES ('student_login', login, NULL::int),"
	"   ('student_logout', logout, minutes)) k(kind, at, minutes)"
	" WHERE t.phone = ltrim(term, '0') $$;";

/* SQL of the test's own on its database (several statements, any result). */
static void fsql(const char *fmt, ...) PRINTF(1, 2);
static void fsql(const char *fmt, ...)
{
	char sql[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	PGconn *c = db_connect(test_ci);
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	ck_assert_msg(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", sql,
		      PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

static void findings_setup(void)
{
	setup();
	fsql("%s", findings_fixtures);
}

/* hoursctl with words; -c the test's configuration (conf_path) when conf, else -d. */
static int fctl(bool conf, const char *line, char *out, size_t len)
{
	char prog[600], buf[1024];
	char *argv[40];
	int n = 0;
	snprintf(prog, sizeof(prog), "%s/hoursctl", bindir);
	snprintf(buf, sizeof(buf), "%s", line);
	argv[n++] = prog;
	argv[n++] = (char *)(conf ? "-c" : "-d");
	argv[n++] = conf ? conf_path : test_ci;
	for (char *w = strtok(buf, " "); w && n < 38; w = strtok(NULL, " "))
		argv[n++] = w;
	argv[n] = NULL;
	snprintf(out, len, "%s/fctl.out", work);
	unlink(out);
	unlink(log_path);
	return wait_exit(spawn(argv, out, log_path), 60);
}

/* hoursctl [-c conf] findings ARGS --format json: the findings array (owned by the caller). */
static json_t *findings_of(bool conf, const char *args)
{
	char line[512], out[600];
	snprintf(line, sizeof(line), "findings --format json %s", args ? args : "");
	ck_assert_int_eq(fctl(conf, line, out, sizeof(out)), 0);
	json_error_t e;
	json_t *doc = json_load_file(out, 0, &e);
	ck_assert_msg(doc != NULL, "%s: %s", out, e.text);
	json_t *all = json_incref(json_object_get(doc, "findings"));
	json_decref(doc);
	ck_assert(json_is_array(all));
	return all;
}

/* The finding of kind whose subject contains who, or NULL (fails if two). */
static const json_t *finding(const json_t *all, const char *kind, const char *who)
{
	const json_t *found = NULL, *o;
	size_t i;
	json_array_foreach(all, i, o)
	{
		if (strcmp(json_string_value(json_object_get(o, "finding")), kind) == 0 &&
		    strstr(json_string_value(json_object_get(o, "subject")), who)) {
			ck_assert_msg(found == NULL, "two %s findings for %s", kind, who);
			found = o;
		}
	}
	return found;
}

static long measure_of(const json_t *f)
{
	ck_assert_ptr_nonnull(f);
	return strtol(json_string_value(json_object_get(f, "measure")), NULL, 10);
}

/* How many evidence rows of f come from table. */
static size_t evidence_from(const json_t *f, const char *table)
{
	size_t i, n = 0;
	const json_t *e;
	ck_assert_ptr_nonnull(f);
	json_array_foreach(json_object_get(f, "evidence"), i, e) n +=
		strcmp(json_string_value(json_object_get(e, "table")), table) == 0;
	return n;
}

START_TEST(test_finding_minutes_missing)
{
	/* A whole lesson (30 records between login and logout) and one 21 minutes short. */
	fsql("SELECT t_lesson('" T1 "', 'SFULL00000000001', 'CFIND00000000001',"
	     " '2026-11-02 09:59+08', '2026-11-02 10:29:30+08', 30);"
	     "SELECT t_rec('" T1 "', 'FULL', '2026-11-02 10:00+08', 30, 'SFULL00000000001',"
	     " 'CFIND00000000001', login => '2026-11-02 09:59+08');"
	     "SELECT t_lesson('" T1 "', 'SSHORT0000000001', 'CFIND00000000001',"
	     " '2026-11-02 10:59+08', '2026-11-02 11:40:30+08', 41);"
	     "SELECT t_rec('" T1 "', 'SHRT', '2026-11-02 11:00+08', 20, 'SSHORT0000000001',"
	     " 'CFIND00000000001', login => '2026-11-02 10:59+08');");
	json_t *all = findings_of(false, NULL);
	ck_assert_ptr_null(finding(all, "minutes_missing", "SFULL00000000001"));
	const json_t *f = finding(all, "minutes_missing", "SSHORT0000000001");
	ck_assert_int_eq(measure_of(f), 21);
	ck_assert_str_eq(json_string_value(json_object_get(f, "school")), "S001");
	ck_assert_uint_eq(evidence_from(f, "session_event"), 2);
	ck_assert_uint_eq(evidence_from(f, "training_record"), 1);
	json_decref(all);
	/* The threshold is the configuration's: 30 missing minutes hides it. */
	write_config_tail(NULL, "findings:\n  missing_minutes: 30\n");
	all = findings_of(true, NULL);
	ck_assert_ptr_null(finding(all, "minutes_missing", "SSHORT0000000001"));
	json_decref(all);
}
END_TEST

START_TEST(test_finding_content_reduced)
{
	/* C1 part 3: 10 minutes, subjects 01 and 02.  A covers both, B only 01, C is not met. */
	fsql("INSERT INTO syllabus_part (vehicle_class, part, required_minutes, on_site, syllabus)"
	     " VALUES ('C1', 3, 10, false, 'test')"
	     " ON CONFLICT (vehicle_class, part) DO UPDATE SET required_minutes = 10;"
	     "INSERT INTO syllabus_subject VALUES ('C1', 3, 1, 'road start'), ('C1', 3, 2, 'lane change');"
	     "SELECT t_rec('" T1 "', 'CA1-', '2026-11-03 09:00+08', 5, 'SCONTA0000000001',"
	     " 'CFIND00000000001', '1213010000');"
	     "SELECT t_rec('" T1 "', 'CA2-', '2026-11-03 09:10+08', 5, 'SCONTA0000000001',"
	     " 'CFIND00000000001', '1213020000');"
	     "SELECT t_rec('" T1 "', 'CB1-', '2026-11-03 10:00+08', 10, 'SCONTB0000000001',"
	     " 'CFIND00000000001', '1213010000');"
	     "SELECT t_rec('" T1 "', 'CC1-', '2026-11-03 11:00+08', 5, 'SCONTC0000000001',"
	     " 'CFIND00000000001', '1213010000');"
	     "INSERT INTO progress (student_no, part, vehicle_class, vehicle, records, last_minute)"
	     " VALUES ('SCONTA0000000001', 3, 'C1', 10, 10, '2026-11-03 09:14+08'),"
	     " ('SCONTB0000000001', 3, 'C1', 10, 10, '2026-11-03 10:09+08'),"
	     " ('SCONTC0000000001', 3, 'C1', 5, 5, '2026-11-03 11:04+08');");
	json_t *all = findings_of(false, NULL);
	ck_assert_ptr_null(finding(all, "content_reduced", "SCONTA0000000001"));
	ck_assert_ptr_null(finding(all, "content_reduced", "SCONTC0000000001"));
	const json_t *f = finding(all, "content_reduced", "SCONTB0000000001");
	ck_assert_int_eq(measure_of(f), 1);
	ck_assert_ptr_nonnull(
		strstr(json_string_value(json_object_get(f, "detail")), "subject 02 lane change"));
	ck_assert_uint_eq(evidence_from(f, "record_verdict"), 1);
	json_decref(all);
}
END_TEST

START_TEST(test_finding_tampered_terminal_and_vendor)
{
	/* T1 (vendor Acme): 2 bad signatures, a reused number, a GNSS time 5 minutes off;
	 * T6 (vendor Good): clean records and a GNSS time 30 s off (under 120 s). */
	fsql("UPDATE terminal SET vendor = 'Acme' WHERE phone = ltrim('" T1 "', '0');"
	     "UPDATE terminal SET vendor = 'Good' WHERE phone = ltrim('" T6 "', '0');"
	     "SELECT t_rec('" T1 "', 'OK--', '2026-11-04 09:00+08', 10, 'STAMP00000000001',"
	     " 'CFIND00000000001');"
	     "SELECT t_rec('" T1 "', 'BAD-', '2026-11-04 09:10+08', 2, 'STAMP00000000001',"
	     " 'CFIND00000000001', why => 'bad_signature');"
	     "SELECT t_rec('" T1 "', 'SKW-', '2026-11-04 09:12+08', 1, 'STAMP00000000001',"
	     " 'CFIND00000000001', skew => 300);"
	     "INSERT INTO training_record_conflict (terminal_id, record_no, raw, raw_sha256)"
	     " SELECT id, 'OK--0001', '\\x01', sha256('\\x01') FROM terminal"
	     " WHERE phone = ltrim('" T1 "', '0');"
	     "SELECT t_rec('" T6 "', 'GOOD', '2026-11-04 09:00+08', 10, 'STAMP00000000002',"
	     " 'CFIND00000000002');"
	     "SELECT t_rec('" T6 "', 'GSKW', '2026-11-04 09:10+08', 1, 'STAMP00000000002',"
	     " 'CFIND00000000002', skew => 30);");
	json_t *all = findings_of(false, NULL);
	const json_t *f = finding(all, "tampered_terminal", "13800000001");
	ck_assert_int_eq(measure_of(f), 4);
	ck_assert_uint_eq(evidence_from(f, "training_record"), 3);
	ck_assert_uint_eq(evidence_from(f, "training_record_conflict"), 1);
	ck_assert_ptr_null(finding(all, "tampered_terminal", "13800000006"));
	ck_assert_int_eq(measure_of(finding(all, "tampered_vendor", "vendor Acme")), 4);
	ck_assert_ptr_null(finding(all, "tampered_vendor", "vendor Good"));
	json_decref(all);
	/* A clock_skew_s of 20 makes T6's 30 s a finding too. */
	write_config_tail(NULL, "findings:\n  clock_skew_s: 20\n");
	all = findings_of(true, NULL);
	ck_assert_int_eq(measure_of(finding(all, "tampered_vendor", "vendor Good")), 1);
	json_decref(all);
}
END_TEST

START_TEST(test_finding_off_site)
{
	/* Coach 1: 3 minutes outside S001's site; coach 2: on the site only. */
	fsql("SELECT t_rec('" T1 "', 'OFF-', '2026-11-05 09:00+08', 3, 'SOFF000000000001',"
	     " 'COFF000000000001', '1212010000', 'outside_training_site');"
	     "SELECT t_rec('" T1 "', 'ON--', '2026-11-05 10:00+08', 10, 'SOFF000000000002',"
	     " 'COFF000000000002', '1212010000');");
	json_t *all = findings_of(false, NULL);
	const json_t *f = finding(all, "off_site", "COFF000000000001");
	ck_assert_int_eq(measure_of(f), 3);
	ck_assert_str_eq(json_string_value(json_object_get(f, "school")), "S001");
	ck_assert_uint_eq(evidence_from(f, "training_record"), 3);
	ck_assert_ptr_null(finding(all, "off_site", "COFF000000000002"));
	json_decref(all);
	write_config_tail(NULL, "findings:\n  off_site_minutes: 5\n");
	all = findings_of(true, NULL);
	ck_assert_ptr_null(finding(all, "off_site", "COFF000000000001"));
	json_decref(all);
}
END_TEST

START_TEST(test_finding_coach_two_places_and_overloaded)
{
	/* Coach X on T1 and T6 in the same minute (the judge refused one); coach Y on
	 * T1 alone.  Coach Z teaches 17 students in a day, coach W 3. */
	fsql("SELECT t_rec('" T1 "', 'TWO1', '2026-11-06 09:00+08', 1, 'STWO000000000001',"
	     " 'CTWO00000000000X');"
	     "SELECT t_rec('" T6 "', 'TWO6', '2026-11-06 09:00:20+08', 1, 'STWO000000000002',"
	     " 'CTWO00000000000X', judge => 'coach_overlap');"
	     "SELECT t_rec('" T1 "', 'ONE1', '2026-11-06 10:00+08', 5, 'STWO000000000003',"
	     " 'CTWO00000000000Y');"
	     "SELECT t_rec('" T1 "', 'Z' || lpad(s::text, 2, '0') || '-',"
	     " '2026-11-07 06:00+08'::timestamptz + s * interval '40 minutes', 30,"
	     " 'SZ' || lpad(s::text, 14, '0'), 'CLOAD00000000000Z') FROM generate_series(1, 17) s;"
	     "SELECT t_rec('" T6 "', 'W' || s || '-',"
	     " '2026-11-07 08:00+08'::timestamptz + s * interval '1 hour', 30,"
	     " 'SW' || lpad(s::text, 14, '0'), 'CLOAD00000000000W') FROM generate_series(1, 3) s;");
	json_t *all = findings_of(false, NULL);
	const json_t *f = finding(all, "coach_two_places", "CTWO00000000000X");
	ck_assert_int_eq(measure_of(f), 2);
	ck_assert_uint_eq(evidence_from(f, "record_verdict"), 2);
	ck_assert_ptr_null(finding(all, "coach_two_places", "CTWO00000000000Y"));
	/* The judge's refusal is a conflict of terminal 6, with its judgement as evidence. */
	f = finding(all, "tampered_terminal", "13800000006");
	ck_assert_int_eq(measure_of(f), 1);
	ck_assert_uint_eq(evidence_from(f, "record_judgement"), 1);
	ck_assert_ptr_null(finding(all, "tampered_terminal", "13800000001"));
	f = finding(all, "coach_overloaded", "CLOAD00000000000Z");
	ck_assert_int_eq(measure_of(f), 17);
	ck_assert_uint_eq(evidence_from(f, "training_record"), 17);
	ck_assert_ptr_null(finding(all, "coach_overloaded", "CLOAD00000000000W"));
	json_decref(all);
	/* The minutes' limit: W's 90 minutes are over 60. */
	write_config_tail(NULL, "findings:\n  max_coach_minutes_per_day: 60\n");
	all = findings_of(true, NULL);
	ck_assert_int_eq(measure_of(finding(all, "coach_overloaded", "CLOAD00000000000W")), 3);
	json_decref(all);
}
END_TEST

START_TEST(test_finding_face_match)
{
	fsql("INSERT INTO photo (terminal_id, photo_no, person_no, class_id, upload_mode, channel,"
	     " size_code, event, face_confidence, taken_at, lat_e6, lon_e6, size, sha256, data)"
	     " SELECT t.id, p.no, p.person, 1, 1, 1, 1, 17, p.conf, '2026-11-08 09:00+08',"
	     " 31230000, 121470000, 1, sha256('\\x00'), '\\x00'"
	     " FROM terminal t, (VALUES ('0000000001', 'SFACE00000000001', 30),"
	     " ('0000000002', 'SFACE00000000002', 90)) p(no, person, conf)"
	     " WHERE t.phone = ltrim('" T1 "', '0')");
	json_t *all = findings_of(false, NULL);
	const json_t *f = finding(all, "face_mismatch", "SFACE00000000001");
	ck_assert_int_eq(measure_of(f), 30);
	ck_assert_uint_eq(evidence_from(f, "photo"), 1);
	ck_assert_ptr_null(finding(all, "face_mismatch", "SFACE00000000002"));
	json_decref(all);
}
END_TEST

START_TEST(test_finding_inventory)
{
	/* Vehicle A has terminal 1, B none; terminal 6 was added 10 days ago and never
	 * heard of, 1 sent a position now, 2 (school S002) was added now.  S001: 10
	 * records in real time, 5 re-uploaded (upload type 2, or the properties' bit 0);
	 * S002: all 10 in real time. */
	fsql("INSERT INTO school (code, name) VALUES ('S002', 'Second school');"
	     "INSERT INTO vehicle (school_id, plate, vehicle_class) SELECT id, p, 'C1'"
	     " FROM school, (VALUES ('PLATE-A'), ('PLATE-B')) v(p) WHERE code = 'S001';"
	     "UPDATE terminal SET vehicle_id = (SELECT id FROM vehicle WHERE plate = 'PLATE-A')"
	     " WHERE phone = ltrim('" T1 "', '0');"
	     "UPDATE terminal SET created_at = now() - interval '10 days'"
	     " WHERE phone = ltrim('" T6 "', '0');"
	     "UPDATE terminal SET school_id = (SELECT id FROM school WHERE code = 'S002')"
	     " WHERE phone = ltrim('" T2 "', '0');"
	     "INSERT INTO position (terminal_id, fix_time, lat_e6, lon_e6, altitude_m, speed_dkmh,"
	     " direction, alarm, status, fix_valid) SELECT id, now(), 0, 0, 0, 0, 0, 0, 0, true"
	     " FROM terminal WHERE phone = ltrim('" T1 "', '0');"
	     "SELECT t_rec('" T1 "', 'RT--', now() - interval '1 hour', 10, 'SINV000000000001',"
	     " 'CINV000000000001');"
	     "SELECT t_rec('" T1 "', 'RU--', now() - interval '2 hours', 3, 'SINV000000000001',"
	     " 'CINV000000000001', up => 2);"
	     "SELECT t_rec('" T1 "', 'RB--', now() - interval '3 hours', 2, 'SINV000000000001',"
	     " 'CINV000000000001', props => 35);"
	     "SELECT t_rec('" T2 "', 'RT--', now() - interval '1 hour', 10, 'SINV000000000002',"
	     " 'CINV000000000002');");
	json_t *all = findings_of(false, NULL);
	const json_t *f = finding(all, "vehicle_without_terminal", "PLATE-B");
	ck_assert_uint_eq(evidence_from(f, "vehicle"), 1);
	ck_assert_ptr_null(finding(all, "vehicle_without_terminal", "PLATE-A"));
	f = finding(all, "terminal_silent", "13800000006");
	ck_assert_int_eq(measure_of(f), 10);
	ck_assert_ptr_null(finding(all, "terminal_silent", "13800000001"));
	ck_assert_ptr_null(finding(all, "terminal_silent", "13800000002"));
	f = finding(all, "realtime_share", "S001");
	ck_assert_str_eq(json_string_value(json_object_get(f, "measure")), "66.7");
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(f, "detail")),
				     "10 of 15 records uploaded in real time, 5 re-uploaded"));
	ck_assert_ptr_null(finding(all, "realtime_share", "S002"));
	json_decref(all);
}
END_TEST

START_TEST(test_findings_filters_and_formats)
{
	char out[600];
	fsql("INSERT INTO school (code, name) VALUES ('S002', 'Second school');"
	     "UPDATE terminal SET school_id = (SELECT id FROM school WHERE code = 'S002')"
	     " WHERE phone = ltrim('" T2 "', '0');"
	     "SELECT t_rec('" T1 "', 'OFF-', '2026-11-05 09:00+08', 3, 'SOFF000000000001',"
	     " 'COFF000000000001', '1212010000', 'outside_training_site');"
	     "SELECT t_rec('" T2 "', 'OFF-', '2026-11-09 09:00+08', 4, 'SOFF000000000002',"
	     " 'COFF000000000002', '1212010000', 'no_training_site');");
	json_t *all = findings_of(false, "--school S002");
	ck_assert_ptr_null(finding(all, "off_site", "COFF000000000001"));
	ck_assert_int_eq(measure_of(finding(all, "off_site", "COFF000000000002")), 4);
	json_decref(all);
	all = findings_of(false, "--from 2026-11-05T00:00+08 --to 2026-11-06T00:00+08");
	ck_assert_int_eq(measure_of(finding(all, "off_site", "COFF000000000001")), 3);
	ck_assert_ptr_null(finding(all, "off_site", "COFF000000000002"));
	json_decref(all);
	/* CSV: a header, one line per finding, the evidence as JSON in its cell. */
	ck_assert_int_eq(fctl(false, "findings --format csv --school S001", out, sizeof(out)), 0);
	ck_assert_int_eq(count_lines_in(out, "finding,school,subject,at,measure,detail,evidence"),
			 1);
	ck_assert_int_eq(count_lines_in(out, "off_site,S001,coach COFF000000000001,"), 1);
	ck_assert_int_eq(count_lines_in(out, "\"\"table\"\":\"\"training_record\"\""), 1);
	/* Text names each finding with its evidence. */
	ck_assert_int_eq(fctl(false, "findings", out, sizeof(out)), 0);
	ck_assert_int_eq(count_lines_in(out, "off_site: school S001, coach COFF000000000001"), 1);
	ck_assert_int_eq(count_lines_in(out, "\"record_no\":\"OFF-0002\""), 2);
	ck_assert_int_eq(count_lines_in(out, "findings: off_site 2"), 1);
	/* Usage errors and an unknown school. */
	ck_assert_int_eq(fctl(false, "findings --format xml", out, sizeof(out)), 2);
	ck_assert_int_eq(count_lines_in(log_path, "--format is text, csv or json"), 1);
	ck_assert_int_eq(fctl(false, "findings --school NOPE", out, sizeof(out)), 1);
	ck_assert_int_eq(count_lines_in(log_path, "no school \"NOPE\""), 1);
	ck_assert_int_eq(fctl(false, "findings --from yesterdayish", out, sizeof(out)), 1);
	ck_assert_int_eq(count_lines_in(log_path, "invalid input syntax"), 1);
}
END_TEST

/* Write text into WORK/name; its path into path. */
static void write_work_file(const char *name, const char *text, char *path, size_t len)
{
	snprintf(path, len, "%s/%s", work, name);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(test_report_import_police)
{
	char csv[600], out[600], want[800];
	fsql("INSERT INTO school (code, name) VALUES ('S002', 'Second school')");
	write_work_file(
		"police.csv",
		"\xEF\xBB\xBFquarter,school_code,exam_pass_rate,violation_rate,accident_rate\r\n"
		"2026Q3,S001,87.5,2.10,0.3\r\n"
		"2026Q3,S002,101,1,1\n"
		"2026Q3,NOPE,50,1,1\n"
		"2026Q5,S002,50,1,1\n"
		"2026Q3,S002,\"61.25\",abc,1\n"
		"2026Q3,S001,80,1,1\n"
		"# a comment\n\n"
		"2026Q3,S002,61.25,1.5\n"
		"2026Q3,S002,61.25,1.50,0.75\n",
		csv, sizeof(csv));
	ck_assert_int_eq(fctl(false, words("report import-police %s", csv), out, sizeof(out)), 1);
	static const char *const errors[] = {
		"3: exam_pass_rate \"101\" is not a number from 0 to 100",
		"4: no school \"NOPE\"",
		"5: quarter \"2026Q5\" is not YYYYQn",
		"6: violation_rate \"abc\" is not a number",
		"7: 2026Q3 of school S001 again",
		"10: 4 fields, not 5",
	};
	for (size_t i = 0; i < ARRAY_SIZE(errors); i++) {
		snprintf(want, sizeof(want), "%s:%s", csv, errors[i]);
		ck_assert_msg(count_lines_in(log_path, want) == 1, "no \"%s\"", want);
	}
	ck_assert_int_eq(count_lines_in(out, "2 rows stored, 6 refused"), 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM police_figures", NULL, NULL), 2);
	ck_assert_int_eq(
		db_value("SELECT (100 * pass_rate)::int FROM police_figures f JOIN school s"
			 " ON s.id = f.school_id WHERE s.code = $1",
			 "S002", NULL),
		6125);
	/* A wrong header stores nothing. */
	write_work_file("bad.csv", "quarter,school,pass\n2026Q3,S001,1,1,1\n", csv, sizeof(csv));
	ck_assert_int_eq(fctl(false, words("report import-police %s", csv), out, sizeof(out)), 1);
	snprintf(want, sizeof(want), "%s:1: the header must be", csv);
	ck_assert_int_eq(count_lines_in(log_path, want), 1);
}
END_TEST

/* Lines of a file holding needle, or -1 when it cannot be read. */
static int lines_in(const char *dir, const char *name, const char *needle)
{
	char path[800];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, R_OK) == 0 ? count_lines_in(path, needle) : -1;
}

START_TEST(test_report_quarterly_in_a_browser)
{
	char out[600], dir[600], csv[600], cmd[2400];
	fsql("UPDATE school SET name = 'Sample school' WHERE code = 'S001';"
	     "INSERT INTO school (code, name) VALUES ('S002', 'Second & <best> school');"
	     "INSERT INTO coach (school_id, coach_no, teach_class) SELECT id, 'CREG000000000001', 'C1'"
	     " FROM school WHERE code = 'S001';"
	     "INSERT INTO vehicle (school_id, plate, vehicle_class) SELECT id, 'PLATE-Q', 'C1'"
	     " FROM school WHERE code = 'S001';"
	     "UPDATE terminal SET school_id = (SELECT id FROM school WHERE code = 'S002')"
	     " WHERE phone = ltrim('" T2 "', '0');"
	     "SELECT t_rec('" T1 "', 'Q3A-', '2026-08-10 09:00+08', 20, 'SQ30000000000001',"
	     " 'CQ30000000000001', '1212010000');"
	     "SELECT t_rec('" T1 "', 'Q3B-', '2026-08-10 10:00+08', 6, 'SQ30000000000001',"
	     " 'CQ30000000000001', '1212010000', 'outside_training_site');"
	     "SELECT t_rec('" T1 "', 'Q4A-', '2026-10-10 10:00+08', 7, 'SQ40000000000001',"
	     " 'CQ40000000000001', '1212010000', 'outside_training_site');"
	     "SELECT t_rec('" T2 "', 'Q3C-', '2026-09-30 23:40+08', 40, 'SQ30000000000002',"
	     " 'CQ30000000000002');");
	write_work_file("police.csv",
			"quarter,school_code,exam_pass_rate,violation_rate,accident_rate\n"
			"2026Q3,S001,87.5,2.1,0.3\n2026Q3,S002,64,4.5,1.2\n",
			csv, sizeof(csv));
	ck_assert_int_eq(fctl(false, words("report import-police %s", csv), out, sizeof(out)), 0);
	snprintf(dir, sizeof(dir), "%s/report", work);
	ck_assert_int_eq(
		fctl(false, words("report quarterly 2026Q3 --out %s", dir), out, sizeof(out)), 0);
	ck_assert_int_eq(count_lines_in(out, "wrote "), 4);
	/* For the police: S001's coaches, vehicle, ground, and the quarter's off-site
	 * minutes only (October's are the next quarter's). */
	ck_assert_int_eq(lines_in(dir, "supervision-2026Q3.csv", "S001,Sample school,2,1,1,3,6"),
			 1);
	ck_assert_int_eq(lines_in(dir, "supervision-2026Q3.json", "\"CREG000000000001\""), 1);
	ck_assert_int_eq(lines_in(dir, "supervision-2026Q3.json", "\"id\": \"PLATE-Q\""), 1);
	ck_assert_int_eq(lines_in(dir, "supervision-2026Q3.json", "\"sample field\""), 1);
	ck_assert_int_eq(lines_in(dir, "supervision-2026Q3.json", "\"record_no\": \"Q3B-0005\""),
			 1);
	ck_assert_int_eq(lines_in(dir, "supervision-2026Q3.json", "Q4A-"), 0);
	/* The public table: S001 1 student, 20 minutes, all real time, 3 findings (the
	 * off-site minutes, PLATE-Q without a terminal, terminal 1 silent since its
	 * October record: the inventory is as of now); S002 20 of its 40 minutes and
	 * terminal 2 silent since September. */
	ck_assert_int_eq(lines_in(dir, "quality-2026Q3.csv",
				  "S001,Sample school,1,20,100.0,3,6,87.5,2.1,0.3"),
			 1);
	ck_assert_int_eq(lines_in(dir, "quality-2026Q3.csv",
				  "S002,Second & <best> school,1,20,100.0,1,0,64.0,4.5,1.2"),
			 1);
	/* The page in a real browser: not blank, the schools and figures on it. */
	snprintf(cmd, sizeof(cmd),
		 "%s/tests/report_browser.sh %s/quality-2026Q3.html 'Training quality of driving"
		 " schools, 2026Q3' 'Sample school' 'Second &amp; &lt;best&gt; school'"
		 " 'Exam pass rate' '87.5' 'Accidents per 100 new drivers' >>%s/browser.log 2>&1",
		 repo, dir, work);
	int rc = system(cmd);
	ck_assert_msg(rc == 0, "report_browser.sh failed: see %s/browser.log", work);
	/* A quarter that is not one, and no --out: usage errors before any query. */
	ck_assert_int_eq(
		fctl(false, "report quarterly 2026Q7 --out /nonexistent", out, sizeof(out)), 2);
	ck_assert_int_eq(fctl(false, "report quarterly 2026Q3", out, sizeof(out)), 2);
}
END_TEST

/*
 * The example queries of docs/audit.md's findings (every ```sql block from
 * its section "Findings" on) run on a database with findings in it, and
 * each gives rows.
 */
START_TEST(test_audit_findings_doc_queries)
{
	char path[800], line[1024], sql[8192] = "";
	fsql("SELECT t_rec('" T1 "', 'OFF-', '2026-11-05 09:00+08', 3, 'SOFF000000000001',"
	     " 'COFF000000000001', '1212010000', 'outside_training_site');"
	     "SELECT t_rec('" T1 "', 'BAD-', '2026-11-05 10:10+08', 2, 'SOFF000000000001',"
	     " 'COFF000000000001', why => 'bad_signature');"
	     "SELECT t_lesson('" T1 "', 'SSHORT0000000001', 'CFIND00000000001',"
	     " '2026-11-02 10:59+08', '2026-11-02 11:40:30+08', 41);"
	     "SELECT t_rec('" T1 "', 'SHRT', '2026-11-02 11:00+08', 20, 'SSHORT0000000001',"
	     " 'CFIND00000000001', login => '2026-11-02 10:59+08');");
	snprintf(path, sizeof(path), "%s/docs/audit.md", repo);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	PGconn *c = db_connect(test_ci);
	bool in = false, findings = false;
	int blocks = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strcmp(line, "## Findings\n") == 0)
			findings = true;
		if (!findings)
			continue;
		if (!in && strncmp(line, "```sql", 6) == 0) {
			in = true;
			sql[0] = '\0';
		} else if (in && strncmp(line, "```", 3) == 0) {
			in = false;
			PGresult *r = PQexec(c, sql);
			ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql,
				      PQerrorMessage(c));
			ck_assert_msg(PQntuples(r) > 0, "no rows: %s", sql);
			PQclear(r);
			blocks++;
		} else if (in) {
			ck_assert(strlen(sql) + strlen(line) < sizeof(sql));
			strcat(sql, line);
		}
	}
	fclose(f);
	PQfinish(c);
	ck_assert_int_ge(blocks, 4);
}
END_TEST

/* ---- the national profile: teaching-log PDF, stage hours, review, booking ---- */

static char nat_dir[600];

/* policesim with the national interface on (--national-dir), T2's RSA certificate verifying. */
static void start_policesim_national(const char *fault)
{
	static char prog[600], listen[64], cert[600], key[600], ca[600], verify[600];
	int ready = count_lines_in(psim_log, "policesim listening");
	snprintf(prog, sizeof(prog), "%s/policesim", bindir);
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", psim_port);
	snprintf(cert, sizeof(cert), "%s/server.crt", pki);
	snprintf(key, sizeof(key), "%s/server.key", pki);
	snprintf(ca, sizeof(ca), "%s/ca.crt", pki);
	snprintf(verify, sizeof(verify), "%s/sign-rsa-" T2 ".crt", pki);
	snprintf(nat_dir, sizeof(nat_dir), "%s/national", work);
	if (psim_pid == 0 && system(words("rm -rf '%s'", nat_dir)) != 0)
		ck_abort_msg("cannot empty %s", nat_dir);
	mkdir(nat_dir, 0755);
	const char *words[] = {prog,
			       "--listen",
			       listen,
			       "--cert",
			       cert,
			       "--key",
			       key,
			       "--client-ca",
			       ca,
			       "--verify-cert",
			       verify,
			       "--store",
			       psim_store,
			       "--national-dir",
			       nat_dir,
			       "--fault",
			       fault ? fault : ""};
	char *argv[ARRAY_SIZE(words) + 1];
	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		argv[i] = (char *)words[i];
	argv[ARRAY_SIZE(words)] = NULL;
	psim_pid = spawn(argv, psim_log, psim_log);
	for (int i = 0; i < 100; i++) {
		if (count_lines_in(psim_log, "policesim listening") > ready)
			return;
		usleep(50000);
	}
	ck_abort_msg("policesim did not start; see %s", psim_log);
}

/* POST /booking for the student's subject: policesim's errorcode. */
static long long book(const char *student, int subject)
{
	char body[128], page[4096];
	snprintf(body, sizeof(body), "{\"stunum\":\"%s\",\"subject\":%d}", student, subject);
	psim_request("POST", "/booking", body, page, sizeof(page));
	const char *p = strstr(page, "\"errorcode\":");
	ck_assert_msg(p != NULL, "no errorcode in %s", page);
	return strtoll(p + strlen("\"errorcode\":"), NULL, 10);
}

/* pdftotext (poppler-utils) of a PDF into a text file beside it; that file's path. */
static const char *pdf_text(const char *pdf)
{
	static char txt[700];
	char cmd[1600];
	snprintf(txt, sizeof(txt), "%s.txt", pdf);
	snprintf(cmd, sizeof(cmd), "pdftotext -enc UTF-8 '%s' '%s'", pdf, txt);
	ck_assert_msg(system(cmd) == 0, "pdftotext %s failed", pdf);
	return txt;
}

#define NAT_EXTRA                                                                                  \
	"  profile: national\n  national_review: true\n  national_rectype: 7\n"                    \
	"  national_rectype_backfilled: 9\n"

/*
 * The chain: a booking refused, the part pushed under the national
 * profile (the teaching log uploaded first, its id in the body, signed
 * as the terminals sign: checked by policesim and by openssl apart), the
 * review fetched and stored, the booking accepted; a back-filled packet
 * carries the configured rectype; the PDF read back with pdftotext, and
 * hoursctl explain --pdf writes the same document.
 */
START_TEST(test_national_push_pdf_and_booking)
{
	seed_packets(2);
	PGconn *c = db_connect(test_ci);
	db_exec(c,
		"UPDATE push_packet SET backfilled = true WHERE student_no = 'S000000000000002'");
	PQfinish(c);
	start_policesim_national(NULL);
	ck_assert_int_eq(book("S000000000000001", 3), 100);
	start_hoursd_push(NAT_EXTRA);
	ck_assert_msg(
		wait_value("SELECT count(*) FROM push_packet WHERE state = $1", "done", 2, 20),
		"not delivered; see %s and %s", log_path, psim_log);
	ck_assert_int_eq(book("S000000000000001", 3), 0);
	ck_assert_int_eq(book("S000000000000001", 2), 100);
	ck_assert_int_eq(db_value("SELECT count(*) FROM push_packet WHERE profile = 'national'"
				  " AND pdf_id IS NOT NULL AND length(pdf_sha256) = 32"
				  " AND body LIKE '%\"pdfid\":\"' || pdf_id || '\"%'",
				  NULL, NULL),
			 2);
	/* The body: the national members, the values of the met part, rectype as configured. */
	ck_assert_int_eq(
		db_value("SELECT count(*) FROM push_packet WHERE student_no = $1"
			 " AND body LIKE '{\"classtime\":0,\"duration\":3,\"esignature\":\"\","
			 "\"examresult\":1,\"inscode\":\"S001\",\"mileage\":123.4,"
			 "\"networktime\":0,\"pdfid\":\"P%\",\"recarray\":"
			 "[{\"rnum\":\"440100000000001700000120\"},"
			 "{\"rnum\":\"440100000000001700000121\"},"
			 "{\"rnum\":\"440100000000002300000007\"}],\"rectype\":7,"
			 "\"simulatortime\":0,"
			 "\"stunum\":\"S000000000000001\",\"subject\":3,\"totaltime\":3,"
			 "\"vehicletime\":3}'",
			 "S000000000000001", NULL),
		1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM push_packet WHERE student_no = $1"
				  " AND backfilled AND body LIKE '%\"rectype\":9,%'",
				  "S000000000000002", NULL),
			 1);
	/* The PDF as policesim keeps it: its digest is the one stored, its text readable. */
	char pdf[800], cmd[3200];
	snprintf(pdf, sizeof(pdf), "%s/pdf-%s.pdf", nat_dir,
		 "P00000001"); /* the first upload: either student */
	ck_assert_int_eq(access(pdf, R_OK), 0);
	snprintf(cmd, sizeof(cmd), "%s/pdf-P00000002.pdf", nat_dir);
	ck_assert_int_eq(access(cmd, R_OK), 0);
	ck_assert_int_eq(db_value("SELECT count(*) FROM push_packet p WHERE pdf_id = 'P00000001'",
				  NULL, NULL),
			 1);
	const char *txt = pdf_text(pdf);
	ck_assert_int_ge(count_lines_in(txt, "电子教学日志"), 1);
	ck_assert_int_ge(count_lines_in(txt, "S001"), 1);
	ck_assert_int_ge(count_lines_in(txt, "学时记录 records"), 1);
	ck_assert_int_ge(count_lines_in(txt, "总学时 total"), 1);
	/* The signatures, again, by openssl alone. */
	snprintf(cmd, sizeof(cmd),
		 "python3 %s/tests/national_sign_check.py %s/national.jsonl "
		 "%s/sign-rsa-" T2 ".crt >%s/signcheck.out 2>&1",
		 repo, nat_dir, pki, work);
	ck_assert_msg(system(cmd) == 0, "the sign= check failed: see %s/signcheck.out", work);
	snprintf(cmd, sizeof(cmd), "%s/signcheck.out", work);
	ck_assert_int_eq(count_lines_in(cmd, "2"), 1);
	/* The review, fetched after acceptance and stored. */
	ck_assert(wait_value("SELECT count(*) FROM push_review WHERE valid = $1::int", "1", 2, 10));
	ck_assert_int_eq(
		db_value("SELECT count(*) FROM push_review r JOIN push_packet p"
			 " ON p.id = r.packet_id WHERE r.errorcode = 0"
			 " AND r.validtime = 3 AND r.pdfid = p.pdf_id AND p.student_no = $1",
			 "S000000000000001", NULL),
		1);
	ck_assert_int_eq(psim_stat("national_stages"), 2);
	ck_assert_int_eq(psim_stat("bookings_refused"), 2);
	ck_assert_int_eq(psim_stat("bookings"), 1);
	stop_hoursd();
	stop_policesim();
	/* hoursctl explain --pdf: the same document for a person, with the totals. */
	snprintf(pdf, sizeof(pdf), "%s/explain.pdf", work);
	snprintf(cmd, sizeof(cmd), "explain S000000000000001 --pdf %s --part 3", pdf);
	ck_assert_int_eq(hoursctl_words(cmd), 0);
	txt = pdf_text(pdf);
	ck_assert_int_eq(count_lines_in(txt, "电子教学日志"), 1);
	ck_assert_int_ge(count_lines_in(txt, "S000000000000001"), 1);
	ck_assert_int_ge(count_lines_in(txt, "总学时 total 3 min"), 1);
	ck_assert_int_ge(count_lines_in(txt, "里程 mileage 123.4 km"), 1);
	ck_assert_int_ge(count_lines_in(txt, "实车 vehicle 3"), 1);
	ck_assert_int_ge(count_lines_in(txt, "补录学时"), 1);
	snprintf(cmd, sizeof(cmd), "explain S000000000000009 --pdf %s", pdf);
	ck_assert_int_eq(hoursctl_words(cmd), 1);
	ck_assert_int_eq(hoursctl_words("explain S000000000000001 --part 3"), 2);
}
END_TEST

/*
 * The answers: 202 (certificate) fails the packet at once with its
 * reason; 1 is retried; 201 (timestamp) is retried because the clocks
 * agree (policesim's Date); the failed packet is delivered after a
 * re-drive.
 */
START_TEST(test_national_answer_codes)
{
	seed_packets(2);
	start_policesim_national("e202:1,e1:1,e201:1");
	start_hoursd_push(NAT_EXTRA "  concurrency: 1\n");
	ck_assert_msg(
		wait_value("SELECT count(*) FROM push_packet WHERE state = $1", "done", 1, 20),
		"not delivered; see %s and %s", log_path, psim_log);
	ck_assert_int_eq(packets_in("failed"), 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM push_packet WHERE state = 'failed'"
				  " AND last_error LIKE 'errorcode 202: %certificate not valid%'",
				  NULL, NULL),
			 1);
	ck_assert_int_eq(attempts_with("rejected"), 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM push_attempt WHERE outcome = 'retry'"
				  " AND answer LIKE '{\"data\":null,\"errorcode\":1,%'",
				  NULL, NULL),
			 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM push_attempt WHERE outcome = 'retry'"
				  " AND answer LIKE '%\"errorcode\":201,%'",
				  NULL, NULL),
			 1);
	ck_assert(log_has("clocks agree"));
	char *id = NULL;
	PGconn *c = db_connect(test_ci);
	PGresult *r = PQexec(c, "SELECT id FROM push_packet WHERE state = 'failed'");
	ck_assert_int_eq(PQntuples(r), 1);
	id = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	char w[200];
	snprintf(w, sizeof(w), "push retry %s", id);
	free(id);
	ck_assert_int_eq(hoursctl_words(w), 0);
	ck_assert(wait_value("SELECT count(*) FROM push_packet WHERE state = $1", "done", 2, 20));
	ck_assert_int_eq(psim_stat("national_stages"), 2);
	stop_hoursd();
	stop_policesim();
}
END_TEST

/* ---- students: enrolment, scheduling, back-filled hours, readiness ---- */

static char ctl_out[600], ctl_err[600];

/* hoursctl with its arguments (NULL-terminated), stdout and stderr to files of their own. */
static int ctl(const char *first, ...)
{
	char prog[600];
	char *argv[40];
	int n = 0;
	snprintf(prog, sizeof(prog), "%s/hoursctl", bindir);
	snprintf(ctl_out, sizeof(ctl_out), "%s/ctl.out", work);
	snprintf(ctl_err, sizeof(ctl_err), "%s/ctl.err", work);
	unlink(ctl_out);
	unlink(ctl_err);
	argv[n++] = prog;
	argv[n++] = (char *)"-d";
	argv[n++] = test_ci;
	va_list ap;
	va_start(ap, first);
	for (const char *a = first; a && n < 38; a = va_arg(ap, const char *))
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	return wait_exit(spawn(argv, ctl_out, ctl_err), 60);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

/* A time in China Standard Time as the schedule takes it: "YYYY-MM-DD HH:MM". */
static const char *cst(time_t t, char *buf, size_t cap)
{
	time_t local = t + 8 * 3600;
	struct tm tm;
	gmtime_r(&local, &tm);
	strftime(buf, cap, "%Y-%m-%d %H:%M", &tm);
	return buf;
}

/* Wait until hoursd has written the syllabus (it is ready before that). */
static void syllabus_written(void)
{
	ck_assert(
		wait_value("SELECT (count(*) > 0)::int FROM syllabus_part WHERE vehicle_class = $1",
			   "C1", 1, 15));
}

START_TEST(test_students_csv_import)
{
	char csv[700], good[700];
	snprintf(csv, sizeof(csv), "%s/students.csv", work);
	snprintf(good, sizeof(good), "%s/students-good.csv", work);
	write_text(csv, "student_no,school,class,enrolled_on,id_card,legacy,pre_entered_on\n"
			"S000000000000001,S001,C1,2026-11-01,11010519491231002X,no,\n"
			"S000000000000002,S001,C1,2022-09-01,,yes,2023-01-10\n"
			"S000000000000003,S001,C1,2026-11-01,110105194912310021,no,\n"
			"S00000000000004,S001,C1,2026-11-01,,no,\n"
			"S000000000000005,S999,C1,2026-11-01,,no,\n"
			"S000000000000006,S001,C1,2026-02-30,,no,\n"
			"S000000000000007,S001,C1,2026-11-01,,yes,\n"
			"\"S000000000000008\",S001,C2,2026-11-02,,,\n"
			"S000000000000009,S001,C1,2026-11-01,\"unclosed\n"
			/* saved by a spreadsheet in GBK (上), and a row short of fields */
			"S000000000000011,S001,C1,2026-11-01,,no,\xc9\xcf\n"
			"S000000000000012,S001,C1,2026-11-01\n");
	ck_assert_int_eq(ctl("student", "import", csv, NULL), 1);
	ck_assert_int_eq(count_lines_in(ctl_out, "3 enrolled, 0 enrolled already"), 1);
	static const char *const bad[] = {
		":4: identity-card number",
		":5: student number",
		":6: no school S999",
		":7: enrolment date",
		":8: a legacy student needs",
		":10: a quoted field",
		":11: byte 41 is not UTF-8 (0xc9): save the file as UTF-8",
		":12: 4 fields, the header has 7"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ck_assert_msg(count_lines_in(ctl_err, bad[i]) == 1, "no \"%s\" in %s", bad[i],
			      ctl_err);
	ck_assert_int_eq(count_lines_in(ctl_err, csv), 8);
	/* Every good row, none of the bad ones; the number only in student_identity. */
	ck_assert_int_eq(db_value("SELECT count(*) FROM student", NULL, NULL), 3);
	ck_assert_int_eq(db_value("SELECT count(*) FROM student WHERE student_no IN"
				  " ('S000000000000001', 'S000000000000002', 'S000000000000008')",
				  NULL, NULL),
			 3);
	ck_assert_int_eq(db_value("SELECT count(*) FROM student_identity i JOIN student s"
				  " USING (student_no) WHERE i.id_card = '11010519491231002X'"
				  " AND encode(s.id_card_sha256, 'hex') = $1",
				  SPECIMEN_ID_SHA256, NULL),
			 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM student WHERE legacy"
				  " AND pre_entered_on = '2023-01-10'",
				  NULL, NULL),
			 1);
	/* Again: nothing changes, the same rows are refused again. */
	ck_assert_int_eq(ctl("student", "import", csv, NULL), 1);
	ck_assert_int_eq(count_lines_in(ctl_out, "0 enrolled, 3 enrolled already"), 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM student", NULL, NULL), 3);
	ck_assert_int_eq(db_value("SELECT count(*) FROM student_identity", NULL, NULL), 1);
	/* A file of good rows only exits 0, twice; other facts for a number are refused. */
	write_text(good, "student_no,school,class,enrolled_on\n"
			 "S000000000000010,S001,C1,2026-11-03\n");
	ck_assert_int_eq(ctl("student", "import", good, NULL), 0);
	ck_assert_int_eq(ctl("student", "import", good, NULL), 0);
	ck_assert_int_eq(count_lines_in(ctl_out, "0 enrolled, 1 enrolled already"), 1);
	ck_assert_int_eq(ctl("student", "add", "S000000000000010", "--school", "S001", "--class",
			     "C2", "--enrolled", "2026-11-03", NULL),
			 1);
	ck_assert_int_eq(count_lines_in(ctl_err, "enrolled already with other facts"), 1);
	ck_assert_int_eq(ctl("student", "show", "S000000000000001", NULL), 0);
	ck_assert_int_eq(count_lines_in(ctl_out, SPECIMEN_ID_SHA256), 1);
	ck_assert_int_eq(count_lines_in(ctl_out, "11010519491231002X"), 0);
}
END_TEST

/* A lesson of a student on T1 (records from seq): its login's verdict (1 or 9). */
static long long schedule_lesson(const char *student, int seq)
{
	ck_assert_int_ge(
		termsim("term-" T1, T1,
			words("--lesson 3 --student %s --record-seq %d " PART3, student, seq)),
		0);
	return out_value("student_login_result");
}

START_TEST(test_students_schedule_refuse_and_flag)
{
	char from[32], to[32], csv[700];
	ck_assert_int_eq(ctl("student", "add", "S000000000000001", "--school", "S001", "--class",
			     "C1", "--enrolled", "2026-11-01", NULL),
			 0);
	ck_assert_int_eq(ctl("student", "add", "S000000000000002", "--school", "S001", "--class",
			     "C1", "--enrolled", "2026-11-01", NULL),
			 0);
	/* Yesterday's slot: today's lesson is outside it. */
	ck_assert_int_eq(ctl("schedule", "add", "S000000000000001", "--coach", "C000000000000001",
			     "--vehicle", "沪A12345", "--from", cst(time(NULL) - 86400, from, 32),
			     "--to", cst(time(NULL) - 82800, to, 32), NULL),
			 0);
	/* flag (the default): taken, marked, its minutes visible to auditors. */
	start_hoursd(NULL);
	ck_assert_int_eq(schedule_lesson("S000000000000001", 1), 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM session_event WHERE kind = 'student_login'"
				  " AND verdict = 'accepted' AND outside_schedule",
				  NULL, NULL),
			 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM outside_schedule_minute"
				  " WHERE verdict = 'accepted'",
				  NULL, NULL),
			 3);
	stop_hoursd();
	/* refuse: the login is refused with outside_schedule, the lesson does not open. */
	start_hoursd_tail(NULL, "  schedule: refuse\n");
	ck_assert_int_eq(schedule_lesson("S000000000000002", 101), 9);
	ck_assert_int_eq(db_value("SELECT count(*) FROM session_event WHERE kind = 'student_login'"
				  " AND reason = 'outside_schedule' AND person_no = $1",
				  "S000000000000002", NULL),
			 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM record_verdict WHERE student_no = $1"
				  " AND verdict = 'accepted'",
				  "S000000000000002", NULL),
			 0);
	/* A slot around now, imported from a CSV (and again: unchanged): the login is taken. */
	snprintf(csv, sizeof(csv), "%s/slots.csv", work);
	char text[600];
	snprintf(text, sizeof(text),
		 "student_no,coach_no,plate,starts_at,ends_at\n"
		 "S000000000000002,C000000000000001,沪A12345,%s,%s\n"
		 "S000000000000099,C000000000000001,沪A12345,%s,%s\n",
		 cst(time(NULL) - 3600, from, 32), cst(time(NULL) + 3600, to, 32), from, to);
	write_text(csv, text);
	ck_assert_int_eq(ctl("schedule", "import", csv, NULL), 1);
	ck_assert_int_eq(count_lines_in(ctl_err, ":3: no student S000000000000099 enrolled"), 1);
	ck_assert_int_eq(ctl("schedule", "import", csv, NULL), 1);
	ck_assert_int_eq(count_lines_in(ctl_out, "0 slots added, 1 there already"), 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM schedule_slot", NULL, NULL), 2);
	sleep(1); /* another login time than the refused one */
	ck_assert_int_eq(schedule_lesson("S000000000000002", 201), 1);
	ck_assert_int_eq(
		db_value("SELECT count(*) FROM session_event WHERE kind = 'student_login'"
			 " AND verdict = 'accepted' AND NOT outside_schedule AND person_no = $1",
			 "S000000000000002", NULL),
		1);
	stop_hoursd();
}
END_TEST

static void sv_refused(const char *role, const char *sql, const char *why);
static void sv_allowed(const char *role, const char *sql);
static int sv_verify(const char *extra);
static void sv_behind_the_back(const char *sql);
static bool sv_said(const char *needle);

/* A form for a student and part: minutes classroom and remote (part 1) or vehicle (part 2). */
static void write_form(const char *name, const char *form_no, const char *student, int part,
		       int vehicle, int classroom, int remote)
{
	char path[700], scan[700], text[2000];
	snprintf(scan, sizeof(scan), "%s/%s.pdf", work, name);
	snprintf(text, sizeof(text), "%%PDF-1.4\n%% the paper form %s\n", form_no);
	write_text(scan, text);
	snprintf(path, sizeof(path), "%s/%s.json", work, name);
	snprintf(
		text, sizeof(text),
		"{\"form_no\": \"%s\", \"student_no\": \"%s\", \"school_code\": \"S001\","
		" \"part\": %d, \"minutes\": {\"vehicle\": %d, \"classroom\": %d,"
		" \"simulator\": 0, \"remote\": %d}, \"mileage_km\": \"12.5\","
		" \"coach_no\": \"C000000000000001\", \"trained_from\": \"2023-01-15\","
		" \"trained_to\": \"2023-04-20\","
		" \"student_signature\": {\"by\": \"张三\", \"at\": \"2023-04-21 10:00\"},"
		" \"coach_signature\": {\"by\": \"李四\", \"at\": \"2023-04-21 10:05\"},"
		" \"school_seal\": {\"by\": \"Sample driving school\", \"at\": \"2023-04-22 09:00\"},"
		" \"entered_by\": \"clerk wang\", \"scan\": \"%s.pdf\"}\n",
		form_no, student, part, vehicle, classroom, remote, name);
	write_text(path, text);
}

static int import_form(const char *name)
{
	char path[700];
	snprintf(path, sizeof(path), "%s/%s.json", work, name);
	return ctl("backfill", "import", path, NULL);
}

START_TEST(test_students_backfill)
{
	char csv[700];
	snprintf(csv, sizeof(csv), "%s/students.csv", work);
	write_text(csv, "student_no,school,class,enrolled_on,legacy,pre_entered_on\n"
			"S000000000000001,S001,C1,2026-11-01,no,\n"
			"S000000000000002,S001,C1,2022-09-01,yes,2023-01-10\n"
			"S000000000000003,S001,C1,2023-05-01,yes,2023-06-01\n");
	ck_assert_int_eq(ctl("student", "import", csv, NULL), 0);
	start_policesim(NULL, NULL);
	start_hoursd_push(NULL);
	syllabus_written();
	/* The terminals gave 120 classroom minutes of part 1 (720 required, remote at most 360). */
	PGconn *c = db_connect(test_ci);
	db_exec(c, "INSERT INTO progress (student_no, part, vehicle_class, classroom, first_minute,"
		   " last_minute, records) VALUES ('S000000000000002', 1, 'C1', 120,"
		   " '2026-11-02 09:00+08', '2026-11-02 10:59+08', 120)");
	PQfinish(c);
	write_form("bf1", "BF-0001", "S000000000000002", 1, 0, 240, 360);
	ck_assert_int_eq(import_form("bf1"), 0);
	/* Refused, nothing stored: twice, not legacy, after the cut-off, over the syllabus. */
	ck_assert_int_eq(import_form("bf1"), 1);
	ck_assert_int_eq(count_lines_in(ctl_err, "was imported already"), 1);
	write_form("bf2", "BF-0002", "S000000000000001", 1, 0, 240, 0);
	ck_assert_int_eq(import_form("bf2"), 1);
	ck_assert_int_eq(count_lines_in(ctl_err, "is not a legacy student"), 1);
	write_form("bf3", "BF-0003", "S000000000000003", 1, 0, 240, 0);
	ck_assert_int_eq(import_form("bf3"), 1);
	ck_assert_int_eq(count_lines_in(ctl_err, "not before the cut-off 2023-05-25"), 1);
	write_form("bf4", "BF-0004", "S000000000000002", 2, 1000, 0, 0);
	ck_assert_int_eq(import_form("bf4"), 1);
	ck_assert_int_eq(count_lines_in(ctl_err, "more than the 960 the syllabus requires"), 1);
	write_form("bf5", "BF-0005", "S000000000000002", 1, 0, 0, 400);
	ck_assert_int_eq(import_form("bf5"), 1);
	ck_assert_int_eq(count_lines_in(ctl_err, "counts at most 360"), 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM backfill_form", NULL, NULL), 1);
	/* One rejected by the supervisor: kept, never counted. */
	write_form("bf6", "BF-0006", "S000000000000002", 2, 300, 0, 0);
	ck_assert_int_eq(import_form("bf6"), 0);
	ck_assert_int_eq(ctl("backfill", "reject", "BF-0006", "--by", "supervisor zhao", NULL), 2);
	ck_assert_int_eq(ctl("backfill", "reject", "BF-0006", "--by", "supervisor zhao", "--note",
			     "the seal is not the school's", NULL),
			 0);
	ck_assert_int_eq(ctl("backfill", "approve", "BF-0006", "--by", "supervisor zhao", NULL), 1);
	ck_assert_int_eq(count_lines_in(ctl_err, "a form is decided once"), 1);
	/* Approved: counted with the terminals' minutes, the part met, pushed back-filled once. */
	ck_assert_int_eq(ctl("backfill", "approve", "BF-0001", "--by", "supervisor zhao", "--note",
			     "checked against the paper form", NULL),
			 0);
	ck_assert(wait_value("SELECT count(*) FROM push_packet WHERE state = $1", "done", 1, 20));
	ck_assert_int_eq(db_value("SELECT count(*) FROM push_packet WHERE student_no = $1"
				  " AND part = 1 AND backfilled",
				  "S000000000000002", NULL),
			 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM push_packet WHERE part = 2", NULL, NULL),
			 0);
	ck_assert_int_eq(count_lines_in(psim_store, "\\\"backfilled\\\":true"), 1);
	ck_assert_int_eq(count_lines_in(psim_store, "\\\"backfill_form\\\":\\\"BF-0001\\\""), 1);
	ck_assert_int_eq(count_lines_in(psim_store, "\\\"backfilled_minutes\\\":600"), 1);
	ck_assert_int_eq(count_lines_in(psim_store, "\\\"total_minutes\\\":720"), 1);
	ck_assert_int_eq(count_lines_in(psim_store, "\\\"classroom_minutes\\\":360"), 1);
	ck_assert_int_eq(count_lines_in(psim_store, "\\\"remote_minutes\\\":360"), 1);
	/* A part met and pushed takes no more forms. */
	write_form("bf7", "BF-0007", "S000000000000002", 1, 0, 10, 0);
	ck_assert_int_eq(import_form("bf7"), 1);
	ck_assert_int_eq(count_lines_in(ctl_err, "has its packet already"), 1);
	/* Every step kept with who and when; explain shows both sources. */
	ck_assert_int_eq(db_value("SELECT count(*) FROM backfill_step", NULL, NULL), 4);
	ck_assert_int_eq(db_value("SELECT count(*) FROM backfill_step WHERE step = 'rejected'"
				  " AND by_name = 'supervisor zhao' AND note IS NOT NULL",
				  NULL, NULL),
			 1);
	/* Append-only: a form or a step is never changed, by hoursd's role or an auditor's. */
	ck_assert_int_eq(ctl("role", "add", "hoursd", "st_daemon", NULL), 0);
	ck_assert_int_eq(ctl("role", "add", "auditor", "st_auditor", NULL), 0);
	sv_refused("st_daemon",
		   "UPDATE backfill_form SET classroom = 720 WHERE form_no = 'BF-0001'",
		   "permission denied");
	sv_refused("st_daemon", "DELETE FROM backfill_step WHERE step = 'rejected'",
		   "permission denied");
	sv_refused("st_auditor", "DELETE FROM backfill_step WHERE step = 'rejected'",
		   "permission denied");
	sv_refused("st_auditor", "SELECT id_card FROM student_identity", "permission denied");
	sv_allowed("st_auditor", "SELECT student_no, id_card_masked FROM student_identity_masked");
	ck_assert_int_eq(ctl("backfill", "show", "BF-0001", NULL), 0);
	ck_assert_int_eq(count_lines_in(ctl_out, "approved"), 2);
	ck_assert_int_eq(ctl("explain", "S000000000000002", NULL), 0);
	ck_assert_int_eq(count_lines_in(ctl_out, "back-filled hours"), 1);
	ck_assert_int_eq(count_lines_in(ctl_out, "BF-0001"), 1);
	ck_assert_int_eq(count_lines_in(ctl_out, "done, back-filled"), 1);
	/* Exactly once: a restart pushes nothing again. */
	stop_hoursd();
	start_hoursd_push(NULL);
	sleep(2);
	ck_assert_int_eq(count_lines_in(psim_store, "\\\"backfilled\\\":true"), 1);
	ck_assert_int_eq(db_value("SELECT count(*) FROM push_attempt", NULL, NULL), 1);
	/* The forms and their steps joined the audit's chain: a form changed behind hoursd's
	 * back shows. */
	ck_assert(wait_value("SELECT count(*) FROM audit_chain WHERE tbl = $1", "backfill_form", 2,
			     10));
	ck_assert(wait_value("SELECT count(*) FROM audit_chain WHERE tbl = $1", "backfill_step", 4,
			     10));
	stop_hoursd();
	stop_policesim();
	/* The progress this test wrote by hand is the one discrepancy (recompute); no form is. */
	ck_assert_int_eq(sv_verify(NULL), 1);
	ck_assert(sv_said("chain: 6 links walked"));
	ck_assert(sv_said("audit verify: 1 discrepancies"));
	ck_assert(!sv_said("backfill_"));
	sv_behind_the_back("UPDATE backfill_form SET classroom = 720 WHERE form_no = 'BF-0001'");
	ck_assert_int_eq(sv_verify(NULL), 1);
	ck_assert(sv_said("row: backfill_form"));
	ck_assert(sv_said("changed since it was chained"));
	ck_assert(sv_said("audit verify: 2 discrepancies"));
}
END_TEST

/*
 * A back-filled part under the national profile, met by the form alone:
 * the packet carries the back-filled rectype, its teaching log (built with
 * no terminal minute) lists the form and its totals, the signatures
 * check with openssl alone, and the student can book the subject only
 * once the part has arrived.
 */
START_TEST(test_students_backfill_national)
{
	char csv[700], pdf[800], cmd[3200];
	snprintf(csv, sizeof(csv), "%s/students.csv", work);
	write_text(csv, "student_no,school,class,enrolled_on,legacy,pre_entered_on\n"
			"S000000000000002,S001,C1,2022-09-01,yes,2023-01-10\n");
	ck_assert_int_eq(ctl("student", "import", csv, NULL), 0);
	start_policesim_national(NULL);
	ck_assert_int_eq(book("S000000000000002", 1), 100);
	start_hoursd_push(NAT_EXTRA);
	syllabus_written();
	/* No minute from a terminal: the form alone meets the part. */
	write_form("bfn", "BF-N001", "S000000000000002", 1, 0, 360, 360);
	ck_assert_int_eq(import_form("bfn"), 0);
	ck_assert_int_eq(ctl("backfill", "approve", "BF-N001", "--by", "supervisor zhao", "--note",
			     "checked against the paper form", NULL),
			 0);
	ck_assert_msg(
		wait_value("SELECT count(*) FROM push_packet WHERE state = $1", "done", 1, 20),
		"not delivered; see %s and %s", log_path, psim_log);
	ck_assert_int_eq(
		db_value("SELECT count(*) FROM push_packet WHERE student_no = $1"
			 " AND part = 1 AND backfilled AND profile = 'national'"
			 " AND body LIKE '%\"rectype\":9,%' AND body LIKE '%\"totaltime\":720,%'",
			 "S000000000000002", NULL),
		1);
	ck_assert_int_eq(book("S000000000000002", 1), 0);
	/* The teaching log policesim keeps names the form, its minutes and the approval. */
	snprintf(pdf, sizeof(pdf), "%s/pdf-P00000001.pdf", nat_dir);
	const char *txt = pdf_text(pdf);
	ck_assert_int_ge(count_lines_in(txt, "BF-N001"), 1);
	ck_assert_int_ge(count_lines_in(txt, "supervisor zhao"), 1);
	ck_assert_int_ge(count_lines_in(txt, "总学时 total 720 min"), 1);
	snprintf(cmd, sizeof(cmd),
		 "python3 %s/tests/national_sign_check.py %s/national.jsonl "
		 "%s/sign-rsa-" T2 ".crt >%s/signcheck.out 2>&1",
		 repo, nat_dir, pki, work);
	ck_assert_msg(system(cmd) == 0, "the sign= check failed: see %s/signcheck.out", work);
	ck_assert_int_eq(psim_stat("national_stages"), 1);
	stop_hoursd();
	stop_policesim();
}
END_TEST

/* policesim pre-enter against hoursd's readiness listener: its exit status. */
static int pre_enter(int rport, const char *client, const char *student)
{
	char prog[600], hp[64], cert[700], key[700], ca[700], out[700];
	snprintf(prog, sizeof(prog), "%s/policesim", bindir);
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", rport);
	snprintf(cert, sizeof(cert), "%s/%s.crt", pki, client);
	snprintf(key, sizeof(key), "%s/%s.key", pki, client);
	snprintf(ca, sizeof(ca), "%s/ca.crt", pki);
	snprintf(out, sizeof(out), "%s/pre-enter.out", work);
	unlink(out);
	char *argv[] = {prog,
			(char *)"pre-enter",
			(char *)"--hoursd",
			hp,
			(char *)"--cert",
			cert,
			(char *)"--key",
			key,
			(char *)"--ca",
			ca,
			(char *)student,
			NULL};
	return wait_exit(spawn(argv, out, out), 30);
}

START_TEST(test_students_readiness)
{
	char from[32], to[32], extra[200], rog[700];
	int rport = free_port();
	ck_assert_int_eq(ctl("student", "add", "S000000000000001", "--school", "S001", "--class",
			     "C1", "--enrolled", "2026-11-01", NULL),
			 0);
	ck_assert_int_eq(ctl("student", "add", "S000000000000002", "--school", "S001", "--class",
			     "C1", "--enrolled", "2026-11-01", NULL),
			 0);
	ck_assert_int_eq(ctl("schedule", "add", "S000000000000001", "--coach", "C000000000000001",
			     "--vehicle", "沪A12345", "--from", cst(time(NULL), from, 32), "--to",
			     cst(time(NULL) + 3600, to, 32), NULL),
			 0);
	snprintf(extra, sizeof(extra), "  readiness: \"127.0.0.1:%d\"\n", rport);
	char tail[800];
	snprintf(tail, sizeof(tail), "readiness:\n  ca: %s/ca.crt\n", pki);
	start_hoursd_tail(extra, tail);
	char out[700];
	snprintf(out, sizeof(out), "%s/pre-enter.out", work);
	/* Authenticated (a certificate of readiness.ca): yes, and no twice. */
	ck_assert_int_eq(pre_enter(rport, "term-" T2, "S000000000000001"), 0);
	ck_assert_int_eq(count_lines_in(out, "S000000000000001 pre-entered"), 1);
	ck_assert_int_eq(pre_enter(rport, "term-" T2, "S000000000000002"), 1);
	ck_assert_int_eq(count_lines_in(out, "enrolled but not scheduled"), 1);
	ck_assert_int_eq(pre_enter(rport, "term-" T2, "S000000000000003"), 1);
	ck_assert_int_eq(count_lines_in(out, "not pre-entered: not enrolled"), 1);
	/* The answer itself, a malformed question (400), another method (405). */
	static const struct {
		const char *how, *query;
		int status;
		const char *body;
	} asks[] = {
		{"", "student=S000000000000001&day=2099-01-01", 200, "\"ready\":false"},
		{"", "student=S000000000000001", 200, "\"school_code\":\"S001\""},
		{"", "student=S0001", 400, "16-character"},
		{"", "student=S000000000000001&day=tomorrow", 400, "YYYY-MM-DD"},
		{"", "student=S000000000000001&day=2024-13-45", 400, "YYYY-MM-DD"},
		/* The answer names the student asked about, whatever the headers claim. */
		{"-H 'X-Hoursd-Student: S999999999999999'", "student=S000000000000001", 200,
		 "\"student_no\":\"S000000000000001\""},
		{"-X POST", "student=S000000000000001", 405, "GET only"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(asks); i++) {
		char cmd[4096], body[700];
		snprintf(body, sizeof(body), "%s/readiness.body", work);
		snprintf(cmd, sizeof(cmd),
			 "curl -s %s -o %s -w '%%{http_code}' --cacert %s/ca.crt --cert %s/term-" T2
			 ".crt --key %s/term-" T2 ".key 'https://localhost:%d/v1/readiness?%s'",
			 asks[i].how, body, pki, pki, pki, rport, asks[i].query);
		FILE *cp = popen(cmd, "r");
		ck_assert_ptr_nonnull(cp);
		char code[16] = "";
		ck_assert_ptr_nonnull(fgets(code, sizeof(code), cp));
		pclose(cp);
		ck_assert_msg(atoi(code) == asks[i].status, "%s: %s", asks[i].query, code);
		ck_assert_msg(count_lines_in(body, asks[i].body) == 1, "%s: no %s in the answer",
			      asks[i].query, asks[i].body);
	}
	/* A client of another CA is refused in the handshake: nothing is answered. */
	ck_assert_int_eq(pre_enter(rport, "rogue-" T1, "S000000000000001"), 3);
	ck_assert_int_eq(count_lines_in(out, "pre-entered"), 0);
	/* Without a client certificate: refused too (the TLS handshake fails). */
	snprintf(rog, sizeof(rog),
		 "echo | timeout 10 openssl s_client -connect 127.0.0.1:%d -CAfile %s/ca.crt"
		 " -quiet 2>/dev/null | grep -c ready",
		 rport, pki);
	FILE *p = popen(rog, "r");
	ck_assert_ptr_nonnull(p);
	char line[64] = "";
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), p));
	pclose(p);
	ck_assert_int_eq(atoi(line), 0);
	stop_hoursd();
	ck_assert_int_eq(count_lines_with("readiness: "), 6);
}
END_TEST

/* ---- several instances, failover (docs/scaling.md; tcase "cluster") ---- */

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

/* ---- supervision: the audit hash chain, append-only evidence, the roles (docs/audit.md) ---- */

/* A connection as one role (trust on the test cluster's socket). */
static PGconn *sv_connect(const char *role)
{
	char ci[1400];
	snprintf(ci, sizeof(ci), "%s user=%s", test_ci, role);
	return db_connect(ci);
}

/* Whether sql succeeds as role; its error (if any) into err. */
static bool sv_try(const char *role, const char *sql, char *err, size_t cap)
{
	PGconn *c = sv_connect(role);
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	bool ok = st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
	snprintf(err, cap, "%s", ok ? "" : PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return ok;
}

/* One number as role. */
static long long sv_value(const char *role, const char *sql)
{
	PGconn *c = sv_connect(role);
	PGresult *r = PQexec(c, sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s as %s: %s", sql, role,
		      PQerrorMessage(c));
	long long v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	PQfinish(c);
	return v;
}

static void sv_refused(const char *role, const char *sql, const char *why)
{
	char err[1024];
	ck_assert_msg(!sv_try(role, sql, err, sizeof(err)), "%s as %s: allowed", sql, role);
	ck_assert_msg(strstr(err, why) != NULL, "%s as %s: %s (not \"%s\")", sql, role, err, why);
}

static void sv_allowed(const char *role, const char *sql)
{
	char err[1024];
	ck_assert_msg(sv_try(role, sql, err, sizeof(err)), "%s as %s: %s", sql, role, err);
}

/* The superuser's statements, with every trigger off as a superuser can. */
static void sv_behind_the_back(const char *sql)
{
	PGconn *c = db_connect(test_ci);
	db_exec(c, "SET session_replication_role = replica");
	db_exec(c, sql);
	PQfinish(c);
}

/* hoursctl's output (hoursctl_words) has needle. */
static bool sv_said(const char *needle)
{
	char out[600];
	snprintf(out, sizeof(out), "%s/hoursctl.out", work);
	return count_lines_in(out, needle) > 0;
}

static int sv_hoursctl(const char *fmt, ...) PRINTF(1, 2);
static int sv_hoursctl(const char *fmt, ...)
{
	char words[1200], out[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(words, sizeof(words), fmt, ap);
	va_end(ap);
	snprintf(out, sizeof(out), "%s/hoursctl.out", work);
	unlink(out);
	return hoursctl_words(words);
}

static int sv_verify(const char *extra)
{
	return sv_hoursctl("audit verify --key %s/checkpoint.pub %s", pki, extra ? extra : "");
}

/* hoursd as the role sv_hoursd (its grants, not the owner's), checkpoints every second. */
static void sv_start_hoursd(void)
{
	ck_assert_int_eq(sv_hoursctl("role add hoursd sv_hoursd"), 0);
	char saved[sizeof(test_ci)], tail[800];
	snprintf(saved, sizeof(saved), "%s", test_ci);
	int n = snprintf(test_ci, sizeof(test_ci), "%s user=sv_hoursd", saved);
	ck_assert_int_lt(n, (int)sizeof(test_ci));
	snprintf(tail, sizeof(tail),
		 "audit:\n  chain_interval_ms: 100\n  checkpoint_key: %s/checkpoint.key\n"
		 "  checkpoint_interval_s: 1\n",
		 pki);
	start_hoursd_tail(NULL, tail);
	snprintf(test_ci, sizeof(test_ci), "%s", saved);
}

/* Until every row is linked and the head is signed (10 s at most). */
static void sv_chained(void)
{
	for (int i = 0; i < 200; i++) {
		if (db_value("SELECT (NOT EXISTS (SELECT 1 FROM audit_pending)"
			     " AND EXISTS (SELECT 1 FROM audit_checkpoint c JOIN audit_head h"
			     " ON c.n = h.n))::int",
			     NULL, NULL) == 1)
			return;
		usleep(50000);
	}
	ck_abort_msg("the chain stage did not link and sign everything in 10 s");
}

/*
 * hoursd (as its own role) chains what a lesson stores and signs the
 * head; verify is clean; then the superuser, triggers off, changes a
 * record, deletes a session event, inserts a record, alters a link and
 * deletes the checkpoints: verify names each, and exits 1.
 */
START_TEST(test_chain_verify_names_tampering)
{
	sv_start_hoursd();
	ck_assert_int_eq(termsim("term-" T1, T1, "--lesson 5 --photo 3000 " PART3), 0);
	ck_assert_int_eq(out_value("records_ok"), 5);
	sv_chained();
	/* 5 records, 4 session events, 1 photo, 5 judgements */
	ck_assert_int_eq(db_value("SELECT count(*) FROM audit_chain", NULL, NULL), 15);
	static char page[1 << 17];
	admin_get("/metrics", page, sizeof(page));
	ck_assert_int_eq(metric(page, "hoursd_audit_links_total"), 15);
	ck_assert_int_ge(metric(page, "hoursd_audit_checkpoints_total"), 1);
	ck_assert_int_eq(metric(page, "hoursd_audit_errors_total"), 0);
	ck_assert_int_eq(sv_verify(NULL), 0);
	ck_assert(sv_said("audit verify: clean (15 links"));
	ck_assert(sv_said("signatures: 5 training records checked"));
	char witness[700];
	snprintf(witness, sizeof(witness), "%s/witness.txt", work);
	ck_assert_int_eq(sv_hoursctl("audit checkpoints --export %s", witness), 0);
	stop_hoursd();

	sv_behind_the_back("UPDATE training_record SET mileage_dkm = mileage_dkm + 7"
			   " WHERE record_no = (SELECT min(record_no) FROM training_record)");
	ck_assert_int_eq(sv_verify(NULL), 1);
	ck_assert(sv_said("row: training_record"));
	ck_assert(sv_said("changed since it was chained"));

	sv_behind_the_back("DELETE FROM session_event WHERE kind = 'coach_logout'");
	ck_assert_int_eq(sv_verify(NULL), 1);
	ck_assert(sv_said("\"kind\": \"coach_logout\""));
	ck_assert(sv_said("the row is gone"));

	sv_behind_the_back("INSERT INTO training_record SELECT * FROM training_record"
			   " WHERE record_no = (SELECT max(record_no) FROM training_record)"
			   " ON CONFLICT DO NOTHING");
	sv_behind_the_back(
		"INSERT INTO training_record (terminal_id, record_no, record_time, student_no,"
		" coach_no, class_id, course_code, part, mode, vehicle_class, upload_type,"
		" record_status, max_speed_dkmh, mileage_dkm, lat_e6, lon_e6, fix_valid, verdict,"
		" raw, raw_sha256) SELECT terminal_id, 'FORGED0001', record_time, student_no,"
		" coach_no, class_id, course_code, part, mode, vehicle_class, upload_type,"
		" record_status, max_speed_dkmh, mileage_dkm, lat_e6, lon_e6, fix_valid, verdict,"
		" '\\x1300', sha256('\\x1300') FROM training_record LIMIT 1");
	ck_assert_int_eq(sv_verify(NULL), 1);
	ck_assert(sv_said("\"record_no\": \"FORGED0001\""));
	ck_assert(sv_said("not in the chain: inserted behind hoursd's back"));
	ck_assert(sv_said("record FORGED0001: raw is not a timing message"));

	sv_behind_the_back("UPDATE audit_chain SET row_sha256 = sha256('x') WHERE n = 3");
	ck_assert_int_eq(sv_verify(NULL), 1);
	ck_assert(sv_said("chain: link 3 "));

	sv_behind_the_back("DELETE FROM audit_checkpoint");
	char words[800];
	snprintf(words, sizeof(words), "--witness %s", witness);
	ck_assert_int_eq(sv_verify(words), 1);
	ck_assert(sv_said("not in the database (deleted)"));
}
END_TEST

/*
 * The evidence refuses change to every role but the owner: hoursd's role
 * is not granted UPDATE or DELETE, and when someone grants them the
 * trigger refuses all the same; TRUNCATE too.  Its own state it changes.
 */
START_TEST(test_evidence_append_only)
{
	ck_assert_int_eq(sv_hoursctl("role add hoursd sv_hoursd"), 0);
	seed_minutes("S000000000000071", 3, 1, 3, 10, morning(1), 10, 10, "AO");
	sv_refused("sv_hoursd", "UPDATE training_record SET mileage_dkm = 0", "permission denied");
	sv_refused("sv_hoursd", "DELETE FROM training_record", "permission denied");
	sv_allowed("sv_hoursd", "DELETE FROM judge_queue");
	sv_refused("sv_hoursd", "DELETE FROM audit_table", "permission denied");
	sv_refused("sv_hoursd", "INSERT INTO auditor_district VALUES ('sv_hoursd', 'east')",
		   "permission denied");
	PGconn *c = db_connect(test_ci);
	db_exec(c, "GRANT UPDATE, DELETE, TRUNCATE ON training_record, audit_chain TO sv_hoursd");
	PQfinish(c);
	sv_refused("sv_hoursd", "UPDATE training_record SET mileage_dkm = 0", "append-only");
	sv_refused("sv_hoursd", "DELETE FROM training_record", "append-only");
	sv_refused("sv_hoursd", "TRUNCATE training_record CASCADE", "append-only");
	sv_refused("sv_hoursd", "TRUNCATE audit_chain", "append-only");
	ck_assert_int_eq(db_value("SELECT count(*) FROM training_record", NULL, NULL), 3);
	/* the next migrate puts the grants back as the rules say */
	char words[700];
	snprintf(words, sizeof(words), "migrate --dir %s/sql", repo);
	ck_assert_int_eq(sv_hoursctl("%s", words), 0);
	sv_refused("sv_hoursd", "UPDATE training_record SET mileage_dkm = 0", "permission denied");
}
END_TEST

/* Two schools in two districts, a record each, a pushed packet. */
static void sv_two_districts(void)
{
	ck_assert_int_eq(sv_hoursctl("school set-district S001 east"), 0);
	ck_assert_int_eq(sv_hoursctl("school add S002 Other --district west"), 0);
	ck_assert_int_eq(sv_hoursctl("terminal assign " T2 " S002"), 0);
	seed_minutes("S000000000000081", 3, 1, 1, 10, morning(1), 10, 10, "EA");
	PGconn *c = db_connect(test_ci);
	db_exec(c,
		"INSERT INTO training_record (terminal_id, record_no, record_time, student_no,"
		" coach_no, class_id, course_code, part, mode, vehicle_class, upload_type,"
		" record_status, max_speed_dkmh, mileage_dkm, lat_e6, lon_e6, fix_valid,"
		" verdict, raw, raw_sha256) SELECT t.id, 'WE00001', now(), 'S000000000000082',"
		" 'C1', 1, '1213010000', 3, 1, 'C1', 1, 0, 300, 10, 31000000, 121000000, true,"
		" 'accepted', '\\x00', sha256('\\x00') FROM terminal t WHERE t.phone = '13800000002'");
	db_exec(c, "INSERT INTO push_packet (id, student_no, part, vehicle_class)"
		   " VALUES (gen_random_uuid(), 'S000000000000081', 3, 'C1')");
	PQfinish(c);
}

/*
 * Each role connects and reads what it may: the auditor all but secrets,
 * the district auditor its district's schools only (tables and views),
 * the liaison what was pushed; none changes anything.  A table a later
 * migration adds gets its grants at the next migrate.
 */
START_TEST(test_roles_read_what_they_may)
{
	sv_two_districts();
	ck_assert_int_eq(sv_hoursctl("role add auditor sv_auditor"), 0);
	ck_assert_int_eq(sv_hoursctl("role add district-auditor sv_east --district east"), 0);
	ck_assert_int_eq(sv_hoursctl("role add liaison sv_liaison"), 0);
	ck_assert_int_eq(sv_hoursctl("role add district-auditor sv_x"), 2);
	ck_assert_int_eq(sv_hoursctl("role add king sv_x"), 2);

	ck_assert_int_eq(sv_value("sv_auditor", "SELECT count(*) FROM training_record"), 2);
	ck_assert_int_eq(sv_value("sv_auditor", "SELECT count(*) FROM record_verdict"), 2);
	ck_assert_int_eq(sv_value("sv_auditor", "SELECT count(*) FROM school"), 2);
	sv_allowed("sv_auditor", "SELECT phone, cert_pem, school_id FROM terminal");
	sv_allowed("sv_auditor", "SELECT id_card_sha256 FROM student");
	sv_allowed("sv_auditor", "SELECT count(*) FROM audit_chain");
	sv_refused("sv_auditor", "SELECT count(*) FROM terminal_credential", "permission denied");
	sv_refused("sv_auditor", "SELECT auth_code FROM terminal", "permission denied");
	sv_refused("sv_auditor", "UPDATE school SET name = 'x'", "permission denied");
	sv_refused("sv_auditor", "INSERT INTO school (code, name) VALUES ('X', 'X')",
		   "permission denied");

	ck_assert_int_eq(sv_value("sv_east", "SELECT count(*) FROM training_record"), 1);
	ck_assert_int_eq(sv_value("sv_east", "SELECT count(*) FROM record_verdict"), 1);
	ck_assert_int_eq(sv_value("sv_east", "SELECT count(*) FROM school"), 1);
	ck_assert_int_eq(sv_value("sv_east", "SELECT count(*) FROM school WHERE code = 'S002'"), 0);
	ck_assert_int_eq(sv_value("sv_east", "SELECT count(*) FROM terminal"
					     " WHERE phone = '13800000002'"),
			 0);
	ck_assert_int_eq(sv_value("sv_east", "SELECT count(*) FROM push_packet"), 1);
	sv_refused("sv_east", "SELECT count(*) FROM terminal_credential", "permission denied");
	sv_refused("sv_east", "SELECT count(*) FROM audit_chain", "permission denied");

	ck_assert_int_eq(sv_value("sv_liaison", "SELECT count(*) FROM push_packet"), 1);
	sv_allowed("sv_liaison", "SELECT count(*) FROM push_attempt");
	sv_refused("sv_liaison", "SELECT count(*) FROM training_record", "permission denied");
	sv_refused("sv_liaison", "UPDATE push_packet SET state = 'done'", "permission denied");

	/* a table of a later migration: its grants at the next migrate */
	PGconn *c = db_connect(test_ci);
	db_exec(c, "CREATE TABLE sv_later (x int)");
	PQfinish(c);
	sv_refused("sv_auditor", "SELECT * FROM sv_later", "permission denied");
	char words[700];
	snprintf(words, sizeof(words), "migrate --dir %s/sql", repo);
	ck_assert_int_eq(sv_hoursctl("%s", words), 0);
	ck_assert(sv_said("grants: the roles' grants applied"));
	sv_allowed("sv_auditor", "SELECT * FROM sv_later");
	sv_allowed("sv_hoursd", "DELETE FROM sv_later");
	sv_refused("sv_east", "SELECT * FROM sv_later", "permission denied");
}
END_TEST

/* Every ```sql block of docs/audit.md runs as the auditor and as a district auditor. */
START_TEST(test_audit_doc_queries)
{
	sv_two_districts();
	ck_assert_int_eq(sv_hoursctl("role add auditor sv_auditor"), 0);
	ck_assert_int_eq(sv_hoursctl("role add district-auditor sv_east --district east"), 0);
	char path[700], line[1024];
	snprintf(path, sizeof(path), "%s/docs/audit.md", repo);
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	static char sql[16384];
	size_t len = 0;
	int blocks = 0, lineno = 0, start = 0;
	bool in = false;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (!in && strncmp(line, "```sql", 6) == 0) {
			in = true;
			len = 0;
			start = lineno;
			continue;
		}
		if (in && strncmp(line, "```", 3) == 0) {
			in = false;
			sql[len] = '\0';
			char err[1024];
			ck_assert_msg(sv_try("sv_auditor", sql, err, sizeof(err)),
				      "docs/audit.md:%d as the auditor: %s", start, err);
			ck_assert_msg(sv_try("sv_east", sql, err, sizeof(err)) ||
					      strstr(err, "permission denied") != NULL,
				      "docs/audit.md:%d as a district auditor: %s", start, err);
			blocks++;
			continue;
		}
		if (in && len + strlen(line) < sizeof(sql)) {
			memcpy(sql + len, line, strlen(line));
			len += strlen(line);
		}
	}
	fclose(f);
	ck_assert_int_ge(blocks, 5);
}
END_TEST

/* hoursd -t and the start check the checkpoint key: a missing file, a certificate, a good key. */
START_TEST(test_checkpoint_key_checked)
{
	char tail[800], prog[600];
	snprintf(prog, sizeof(prog), "%s/hoursd", bindir);
	char *argv[] = {prog, (char *)"-t", (char *)"-c", conf_path, NULL};
	write_config_tail(NULL, "audit:\n  checkpoint_key: /nonexistent/checkpoint.key\n");
	ck_assert_int_eq(wait_exit(spawn(argv, log_path, log_path), 30), 1);
	ck_assert(log_has("audit.checkpoint_key /nonexistent/checkpoint.key: No such file"));
	snprintf(tail, sizeof(tail), "audit:\n  checkpoint_key: %s/server.crt\n", pki);
	write_config_tail(NULL, tail);
	ck_assert_int_eq(wait_exit(spawn(argv, log_path, log_path), 30), 1);
	ck_assert(log_has("server.crt: not a PEM private key"));
	snprintf(tail, sizeof(tail), "audit:\n  checkpoint_key: %s/checkpoint.key\n", pki);
	write_config_tail(NULL, tail);
	ck_assert_int_eq(wait_exit(spawn(argv, log_path, log_path), 30), 0);
	ck_assert(log_has("configuration ok"));
	/* Running with it, a reload to a key that does not load is refused; the key stays. */
	start_hoursd_tail(NULL, tail);
	write_config_tail(NULL, "audit:\n  checkpoint_key: /nonexistent/checkpoint.key\n");
	kill(hoursd_pid, SIGHUP);
	for (int i = 0; i < 100 && !log_has("reload refused"); i++)
		usleep(50000);
	ck_assert(log_has("reload refused, the running configuration stays: "
			  "audit.checkpoint_key /nonexistent/checkpoint.key"));
	stop_hoursd();
}
END_TEST

/*
 * Several appenders at once (as several hoursd instances): four
 * connections run the chain stage's statement together, again and again,
 * on 3000 queued records.  Every row is linked once, the links have no
 * gap, and the walk finds every hash on the one before.
 */
START_TEST(test_chain_concurrent_appenders)
{
	seed_minutes("S000000000000091", 3, 1, 3000, 3000, morning(2), 10, 10, "CC");
	ck_assert_int_eq(db_value("SELECT count(*) FROM audit_pending", NULL, NULL), 3000);
	enum { N = 4 };
	PGconn *c[N];
	for (int i = 0; i < N; i++)
		c[i] = db_connect(test_ci);
	const char *limit[1] = {"250"};
	for (int round = 0; round < 10; round++) {
		for (int i = 0; i < N; i++)
			ck_assert_int_eq(
				PQsendQueryParams(c[i], sql_chain, 1, NULL, limit, NULL, NULL, 0),
				1);
		for (int i = 0; i < N; i++) {
			PGresult *r;
			while ((r = PQgetResult(c[i])) != NULL) {
				ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "chain: %s",
					      PQerrorMessage(c[i]));
				PQclear(r);
			}
		}
	}
	for (int i = 0; i < N; i++)
		PQfinish(c[i]);
	ck_assert_int_eq(db_value("SELECT count(*) FROM audit_pending", NULL, NULL), 0);
	ck_assert_int_eq(db_value("SELECT count(*) FROM audit_chain", NULL, NULL), 3000);
	ck_assert_int_eq(db_value("SELECT max(n) FROM audit_chain", NULL, NULL), 3000);
	ck_assert_int_eq(db_value("SELECT count(DISTINCT key) FROM audit_chain", NULL, NULL), 3000);
	ck_assert_int_eq(db_value("SELECT n FROM audit_head", NULL, NULL), 3000);
	/* seeded records carry no real message: only their signatures are discrepancies */
	ck_assert_int_eq(sv_verify(NULL), 1);
	ck_assert(sv_said("chain: 3000 links walked"));
	ck_assert(!sv_said("chain: link"));
	ck_assert(!sv_said("row: "));
	ck_assert(sv_said("audit verify: 3000 discrepancies"));
}
END_TEST

/* ---- hardening: no single client takes the service down ---- */

/* Insert text after the first line of the config that is exactly `line` ("tls:"). */
static void conf_insert(const char *line, const char *text)
{
	static char buf[1 << 16];
	FILE *f = fopen(conf_path, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char key[64];
	snprintf(key, sizeof(key), "\n%s\n", line);
	char *p = strstr(buf, key);
	ck_assert_ptr_nonnull(p);
	p += strlen(key);
	f = fopen(conf_path, "w");
	ck_assert_ptr_nonnull(f);
	fwrite(buf, 1, (size_t)(p - buf), f);
	fputs(text, f);
	fputs(p, f);
	fclose(f);
}

/*
 * hoursd with a plain listener, tail at the end, more keys in the tls and
 * admin sections ("" for none), and its open-file limit set to nofile
 * (0: inherited).
 */
static void start_hoursd_hard(const char *tail, const char *tls_more, const char *admin_more,
			      rlim_t nofile)
{
	plain_port = free_port();
	char extra[64];
	snprintf(extra, sizeof(extra), "  plain: \"127.0.0.1:%d\"\n", plain_port);
	int readies = count_lines_with(" ready");
	write_config_tail(extra, tail);
	if (tls_more[0])
		conf_insert("tls:", tls_more);
	if (admin_more[0])
		conf_insert("admin:", admin_more);
	char prog[600];
	snprintf(prog, sizeof(prog), "%s/hoursd", bindir);
	char *argv[] = {prog, (char *)"-c", conf_path, NULL};
	struct rlimit old, low;
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	if (nofile)
		low.rlim_cur = nofile;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	hoursd_pid = spawn(argv, log_path, log_path);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	for (int i = 0; i < 200 && count_lines_with(" ready") <= readies; i++)
		usleep(50000);
	ck_assert_msg(count_lines_with(" ready") > readies, "hoursd did not become ready");
}

/* A non-blocking TCP connection to port (the handshake may still be under way). */
static int connect_nb(int to_port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(fd, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)to_port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	ck_assert_msg(r == 0 || errno == EINPROGRESS, "connect: %s", strerror(errno));
	return fd;
}

/* hoursd's CPU time so far, in clock ticks (utime + stime of /proc/PID/stat). */
static long long cpu_ticks(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	ck_assert_ptr_nonnull(p);
	unsigned long long ut = 0, st = 0;
	/* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
	 * stime */
	ck_assert_int_eq(
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st),
		2);
	return (long long)(ut + st);
}

static long long file_size(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
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

/* The peer closed fd (a read gives 0 or an error); what it sent is thrown away. */
static bool closed_by_peer(int fd)
{
	char b[4096];
	ssize_t r = recv(fd, b, sizeof(b), MSG_DONTWAIT);
	return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

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
	start_hoursd_hard("connection:\n  warnings_per_min: 10\n", "", "", 0);
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
	ck_assert(log_has("warning(s) not logged before the close"));
	stop_hoursd();
}
END_TEST

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

/*
 * ---- every statement against the schema (TCase "sql") ----
 * Each statement of sql/queries/ (sql_statements[], scripts/sql2c.sh)
 * prepared on a fresh copy of the migrated template and described: its
 * result columns, their number and names in order, are those its
 * "-- columns:" line gives, which the C code reads them by (queries.h),
 * and a statement without the line returns none.  Every statement is
 * prepared alone, the transaction commands and DDL included; ingest.sql
 * is prepared as ingest.c sends it, its column lists spliced in
 * (rows_statement()).
 */
START_TEST(test_statements_return_their_columns)
{
	PGconn *c = db_connect(test_ci);
	ck_assert_uint_gt(sql_nstatements, 0);
	for (size_t i = 0; i < sql_nstatements; i++) {
		const struct sql_statement *st = &sql_statements[i];
		char *text = strcmp(st->name, "ingest") == 0 ? rows_statement(st->text)
							     : strdup(st->text);
		ck_assert_ptr_nonnull(text);
		PGresult *r = PQprepare(c, "", text, 0, NULL);
		ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s.sql: %s", st->name,
			      PQerrorMessage(c));
		PQclear(r);
		r = PQdescribePrepared(c, "");
		ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s.sql: %s", st->name,
			      PQerrorMessage(c));
		char got[2048] = "";
		for (int j = 0; j < PQnfields(r); j++) {
			size_t n = strlen(got);
			int w = snprintf(got + n, sizeof(got) - n, "%s%s", j ? ", " : "",
					 PQfname(r, j));
			ck_assert_msg(w >= 0 && (size_t)w < sizeof(got) - n,
				      "%s.sql: too many columns", st->name);
		}
		if (st->columns == NULL)
			ck_assert_msg(PQnfields(r) == 0,
				      "%s.sql returns %d columns (%s) and has no -- columns: line",
				      st->name, PQnfields(r), got);
		else
			ck_assert_msg(strcmp(got, st->columns) == 0,
				      "%s.sql returns \"%s\", its -- columns: line says \"%s\"",
				      st->name, got, st->columns);
		PQclear(r);
		free(text);
	}
	PQfinish(c);
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
	tcase_add_test(tl, test_daily_cap_across_parts);
	tcase_add_test(tl, test_mileage_gate);
	tcase_add_test(tl, test_adding_class);
	tcase_add_test(tl, test_theory_cap_setting);
	tcase_add_test(tl, test_part_met_once_under_concurrency);
	tcase_add_test(tl, test_training_site);
	tcase_add_test(tl, test_lesson_survives_reconnect_and_restart);
	TCase *tp = tcase_create("push");
	tcase_set_timeout(tp, 90);
	tcase_add_checked_fixture(tp, push_setup, push_teardown);
	tcase_add_test(tp, test_push_lesson_accepted);
	tcase_add_test(tp, test_push_body_as_the_contract_says);
	tcase_add_test(tp, test_push_platform_down_then_back);
	tcase_add_test(tp, test_push_host_name_mismatch);
	tcase_add_test(tp, test_push_sigkill_mid_push);
	tcase_add_test(tp, test_push_faults);
	tcase_add_test(tp, test_push_field_map_and_reload);
	suite_add_tcase(s, tl);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tp);
	TCase *tf = tcase_create("findings");
	tcase_set_timeout(tf, 120);
	tcase_add_checked_fixture(tf, findings_setup, teardown);
	tcase_add_test(tf, test_finding_minutes_missing);
	tcase_add_test(tf, test_finding_content_reduced);
	tcase_add_test(tf, test_finding_tampered_terminal_and_vendor);
	tcase_add_test(tf, test_finding_off_site);
	tcase_add_test(tf, test_finding_coach_two_places_and_overloaded);
	tcase_add_test(tf, test_finding_face_match);
	tcase_add_test(tf, test_finding_inventory);
	tcase_add_test(tf, test_findings_filters_and_formats);
	tcase_add_test(tf, test_report_import_police);
	tcase_add_test(tf, test_report_quarterly_in_a_browser);
	tcase_add_test(tf, test_audit_findings_doc_queries);
	suite_add_tcase(s, tf);
	TCase *tn = tcase_create("national");
	tcase_set_timeout(tn, 120);
	tcase_add_checked_fixture(tn, push_setup, push_teardown);
	tcase_add_test(tn, test_national_push_pdf_and_booking);
	tcase_add_test(tn, test_national_answer_codes);
	suite_add_tcase(s, tn);
	TCase *ts = tcase_create("students");
	tcase_set_timeout(ts, 120);
	tcase_add_checked_fixture(ts, push_setup, push_teardown);
	tcase_add_test(ts, test_students_csv_import);
	tcase_add_test(ts, test_students_schedule_refuse_and_flag);
	tcase_add_test(ts, test_students_backfill);
	tcase_add_test(ts, test_students_backfill_national);
	tcase_add_test(ts, test_students_readiness);
	suite_add_tcase(s, ts);
	TCase *tk = tcase_create("cluster");
	tcase_set_timeout(tk, 120);
	tcase_add_checked_fixture(tk, setup, teardown);
	tcase_add_test(tk, test_backends_terminated_mid_batch);
	tcase_add_test(tk, test_read_only_node_then_writable);
	suite_add_tcase(s, tk);
	TCase *tsv = tcase_create("supervision");
	tcase_set_timeout(tsv, 120);
	tcase_add_checked_fixture(tsv, setup, teardown);
	tcase_add_test(tsv, test_chain_verify_names_tampering);
	tcase_add_test(tsv, test_evidence_append_only);
	tcase_add_test(tsv, test_roles_read_what_they_may);
	tcase_add_test(tsv, test_audit_doc_queries);
	tcase_add_test(tsv, test_checkpoint_key_checked);
	tcase_add_test(tsv, test_chain_concurrent_appenders);
	suite_add_tcase(s, tsv);
	TCase *th = tcase_create("hardening");
	tcase_set_timeout(th, 90);
	tcase_add_checked_fixture(th, setup, teardown);
	tcase_add_test(th, test_fd_cap);
	tcase_add_test(th, test_trickle);
	tcase_add_test(th, test_reassembly_budget);
	tcase_add_test(th, test_log_flood);
	tcase_add_test(th, test_revocation);
	tcase_add_test(th, test_connection_limits);
	suite_add_tcase(s, th);
	TCase *tq = tcase_create("sql");
	tcase_set_timeout(tq, 60);
	tcase_add_checked_fixture(tq, setup, teardown);
	tcase_add_test(tq, test_statements_return_their_columns);
	suite_add_tcase(s, tq);
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
