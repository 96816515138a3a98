/*
 * harness.c - the integration suite's shared helpers (harness.h): the
 * test's environment and fresh database, hoursd's configuration, start and
 * stop, termsim and its summary, hoursctl, the admin listener, the roles.
 */
#include "harness.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/socket.h>

char work[512], pki[512], bindir[512], pgdir[512], repo[512];
char test_ci[1200], conf_path[600], log_path[600], out_path[600], acked_path[600];
pid_t hoursd_pid;
int port, admin_port, plain_port;
char syllabus_override[600];
char ctl_out[600], ctl_err[600];
static char base_ci[1024];

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
int free_port(void)
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

PGconn *db_connect(const char *ci)
{
	PGconn *c = PQconnectdb(ci);
	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "connect: %s", PQerrorMessage(c));
	return c;
}

void db_exec(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
}

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
long long db_value(const char *sql, const char *p1, const char *p2)
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

long long positions_of(const char *terminal)
{
	return db_value("SELECT count(*) FROM position p JOIN terminal t ON t.id = p.terminal_id"
			" WHERE t.phone = ltrim($1, '0')",
			terminal, NULL);
}

/* A terminal's records of a final verdict, ingest's or the judge's, or of a reason (unless NULL).
 */
long long records_of(const char *terminal, const char *verdict, const char *reason)
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

/*
 * The registry's checks at a login (docs/registry.md): every topic but
 * the registry's runs terminals, coaches and vehicles it never registered,
 * so they are flagged, not refused (the shipped default).
 */
#define REGISTRY_FLAG                                                                              \
	"  coach_not_registered: flag\n  coach_retired: flag\n  coach_other_school: flag\n"        \
	"  coach_class_not_allowed: flag\n  vehicle_not_registered: flag\n"                        \
	"  vehicle_other_school: flag\n  vehicle_other_class: flag\n  terminal_not_bound: flag\n"
const char *registry_rules = REGISTRY_FLAG;

/* hoursd's configuration: extra goes into the listen section, tail at the end (whole sections). */
void write_config_tail(const char *extra, const char *tail)
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
		"rules:\n  syllabus: %s\n%s%s",
		port, extra ? extra : "", pki, pki, pki, test_ci, admin_port, syl, registry_rules,
		tail ? tail : "");
	fclose(f);
}

/* fork + exec with stdout and stderr to files; the child dies with us. */
pid_t spawn(char *const argv[], const char *out, const char *err)
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

int wait_exit(pid_t pid, int timeout_s)
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

int count_lines_in(const char *path, const char *needle)
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

int count_lines_with(const char *needle)
{
	return count_lines_in(log_path, needle);
}

bool log_has(const char *needle)
{
	return count_lines_with(needle) > 0;
}

/* extra into the listen section, tail at the end, as write_config_tail. */
void start_hoursd_tail(const char *extra, const char *tail)
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

void start_hoursd(const char *extra)
{
	start_hoursd_tail(extra, NULL);
}

/* SIGTERM, and hoursd must drain and exit 0 (under ASan: no leak either). */
void stop_hoursd(void)
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

/* hoursd with a plain-TCP listener too, on plain_port; tail as write_config_tail. */
void start_hoursd_plain(const char *tail)
{
	plain_port = free_port();
	char extra[64];
	snprintf(extra, sizeof(extra), "  plain: \"127.0.0.1:%d\"\n", plain_port);
	start_hoursd_tail(extra, tail);
}

int plain_connect(void)
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

/*
 * Build termsim's argv: connection options for a terminal, then extra
 * words.  These tests are of the TLS listener with the 2013 header and
 * the auth code, which termsim no longer does by default: they say so
 * (--tls --layout 2013; a later --plain or --v2019 in extra wins).
 */
pid_t termsim_start(const char *cert_name, const char *phone, const char *extra)
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

int termsim(const char *cert_name, const char *phone, const char *extra)
{
	return wait_exit(termsim_start(cert_name, phone, extra), 90);
}

/* termsim as a timing terminal on the plain listener: T6 with its provisioned IMEI. */
int termsim_timing(const char *extra)
{
	char words[1500];
	snprintf(words, sizeof(words),
		 "--plain --layout timing --port %d --imei 861380000000006 %s", plain_port, extra);
	return termsim(NULL, T6, words);
}

/* A key=value of termsim's summary; -999 when missing. */
long long out_value(const char *key)
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
long long acked_lines(void)
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

/*
 * The words of line, in place: split at spaces, a word in '...' or "..."
 * taken whole (quotes dropped, no escapes).  How many, at most cap.
 */
static int split_words(char *line, char **w, int cap)
{
	int n = 0;
	for (char *p = line; *p;) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		ck_assert_msg(n < cap, "more than %d words: %s", cap, line);
		char q = *p == '\'' || *p == '"' ? *p++ : ' ';
		w[n++] = p;
		while (*p && *p != q)
			p++;
		ck_assert_msg(q == ' ' || *p == q, "unclosed %c in: %s", q, w[n - 1]);
		if (*p)
			*p++ = '\0';
	}
	return n;
}

int hoursctl_run(const char *fmt, ...)
{
	char prog[600], line[2048];
	char *argv[48];
	int n = 0;
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ck_assert_msg(len >= 0 && (size_t)len < sizeof(line), "hoursctl line too long: %s", fmt);
	snprintf(prog, sizeof(prog), "%s/hoursctl", bindir);
	argv[n++] = prog;
	if (strncmp(line, "-c ", 3) != 0) {
		argv[n++] = (char *)"-d";
		argv[n++] = test_ci;
	}
	n += split_words(line, argv + n, (int)ARRAY_SIZE(argv) - 1 - n);
	argv[n] = NULL;
	unlink(ctl_out);
	unlink(ctl_err);
	return wait_exit(spawn(argv, ctl_out, ctl_err), 60);
}

/* GET a page of the admin listener; the whole answer, headers included. */
void admin_get(const char *path, char *out, size_t cap)
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
long long metric(const char *page, const char *name)
{
	char key[256];
	snprintf(key, sizeof(key), "\n%s ", name);
	const char *p = strstr(page, key);
	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

/* 08:00 Beijing time, days_ago days before today, as seconds since the epoch. */
long long morning(int days_ago)
{
	long long now = time(NULL), day = 86400, bj = 8 * 3600;
	/* (now + bj) / day * day is today's Beijing midnight read as UTC: 08:00 there. */
	return (now + bj) / day * day - days_ago * day;
}

char *words(const char *fmt, ...)
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

double mono_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Poll a count until it is want; false after timeout_s. */
bool wait_value(const char *sql, const char *p1, long long want, int timeout_s)
{
	for (int i = 0; i < timeout_s * 10; i++) {
		if (db_value(sql, p1, NULL) == want)
			return true;
		usleep(100000);
	}
	return false;
}

void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

/*
 * n minutes of a student, stored as ingest would have accepted them and
 * queued for the judge: per_day a day from start (08:00 Beijing), on T1,
 * its own coach; each mileage dkm, the first first_dkm.  Record numbers:
 * tag and the minute's number.
 */
void seed_minutes(const char *student, int part, int mode, int n, int per_day, long long start,
		  int dkm, int first_dkm, const char *tag)
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

/* A connection as one role (trust on the test cluster's socket). */
static PGconn *sv_connect(const char *role)
{
	char ci[1400];
	snprintf(ci, sizeof(ci), "%s user=%s", test_ci, role);
	return db_connect(ci);
}

/* Whether sql succeeds as role; its error (if any) into err. */
bool sv_try(const char *role, const char *sql, char *err, size_t cap)
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
long long sv_value(const char *role, const char *sql)
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

void sv_refused(const char *role, const char *sql, const char *why)
{
	char err[1024];
	ck_assert_msg(!sv_try(role, sql, err, sizeof(err)), "%s as %s: allowed", sql, role);
	ck_assert_msg(strstr(err, why) != NULL, "%s as %s: %s (not \"%s\")", sql, role, err, why);
}

void sv_allowed(const char *role, const char *sql)
{
	char err[1024];
	ck_assert_msg(sv_try(role, sql, err, sizeof(err)), "%s as %s: %s", sql, role, err);
}

/* The superuser's statements, with every trigger off as a superuser can. */
void sv_behind_the_back(const char *sql)
{
	PGconn *c = db_connect(test_ci);
	db_exec(c, "SET session_replication_role = replica");
	db_exec(c, sql);
	PQfinish(c);
}

/* hoursctl_run()'s last output has needle. */
bool sv_said(const char *needle)
{
	return count_lines_in(ctl_out, needle) > 0;
}

int sv_verify(const char *extra)
{
	return hoursctl_run("audit verify --key %s/checkpoint.pub %s", pki, extra ? extra : "");
}

void setup(void)
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
	snprintf(ctl_out, sizeof(ctl_out), "%s/hoursctl.out", work);
	snprintf(ctl_err, sizeof(ctl_err), "%s/hoursctl.err", work);
	unlink(log_path);
	unlink(acked_path);
	registry_rules = REGISTRY_FLAG;
	port = free_port();
	admin_port = free_port();
	fresh_database();
}

void teardown(void)
{
	if (hoursd_pid > 0) {
		kill(hoursd_pid, SIGKILL);
		waitpid(hoursd_pid, NULL, 0);
	}
}

/*
 * hoursd as the database role ROLE, made here with `hoursctl role add
 * hoursd ROLE` (its grants, not the owner's), logging every 100 ms and
 * signing a checkpoint every second.
 */
void start_hoursd_as(const char *role)
{
	ck_assert_int_eq(hoursctl_run("role add hoursd %s", role), 0);
	char saved[sizeof(test_ci)], tail[800];
	snprintf(saved, sizeof(saved), "%s", test_ci);
	int n = snprintf(test_ci, sizeof(test_ci), "%s user=%s", saved, role);
	ck_assert_int_lt(n, (int)sizeof(test_ci));
	snprintf(tail, sizeof(tail),
		 "audit:\n  chain_interval_ms: 100\n  checkpoint_key: %s/checkpoint.key\n"
		 "  checkpoint_interval_s: 1\n",
		 pki);
	start_hoursd_tail(NULL, tail);
	snprintf(test_ci, sizeof(test_ci), "%s", saved);
}

/* Until every row is in the audit log and its head is signed (10 s at most). */
void wait_logged(void)
{
	for (int i = 0; i < 200; i++) {
		if (db_value(
			    "SELECT (NOT EXISTS (SELECT 1 FROM audit_log_leaves("
			    "(SELECT hi FROM audit_log_head), 9223372036854775807, false))"
			    " AND EXISTS (SELECT 1 FROM audit_log_checkpoint c JOIN audit_log_head h"
			    " ON c.n = h.n))::int",
			    NULL, NULL) == 1)
			return;
		usleep(50000);
	}
	ck_abort_msg("the chain stage did not log and sign everything in 10 s");
}
