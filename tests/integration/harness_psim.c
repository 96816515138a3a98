/*
 * harness_psim.c - the police platform's side of the harness (harness.h):
 * policesim started and stopped, hoursd's push section, packets seeded in
 * the database, requests to policesim.
 */
#include "harness.h"

#include <openssl/ssl.h>
#include <sys/stat.h>

static pid_t psim_pid;
static int psim_port;
char psim_store[600], psim_log[600];
const char *psim_server = "server";	  /* its certificate: PKI/<name>.crt */
const char *psim_verify, *push_sign_cert; /* NULL: T2's RSA signing certificate */
const char *nat_records; /* DIR/records.txt of the national interface; NULL: none */

char nat_dir[600];

/*
 * policesim on its own port with the test PKI (its certificate
 * PKI/psim_server.crt), verifying T2's RSA signing certificate; with
 * --fault, --field-map and --national-dir when given.  Once it listens.
 */
static void psim_start(const char *fault, const char *field_map, const char *national_dir)
{
	static char prog[600], listen[64], cert[600], key[600], ca[600], verify[600];
	char *argv[24];
	int n = 0, ready = count_lines_in(psim_log, "policesim listening");
	snprintf(prog, sizeof(prog), "%s/policesim", bindir);
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", psim_port);
	snprintf(cert, sizeof(cert), "%s/%s.crt", pki, psim_server);
	snprintf(key, sizeof(key), "%s/%s.key", pki, psim_server);
	snprintf(ca, sizeof(ca), "%s/ca.crt", pki);
	if (psim_verify)
		snprintf(verify, sizeof(verify), "%s", psim_verify);
	else
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
	if (national_dir) {
		argv[n++] = (char *)"--national-dir";
		argv[n++] = (char *)national_dir;
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

void start_policesim(const char *fault, const char *field_map)
{
	psim_start(fault, field_map, NULL);
}

/*
 * The school's electronic seal (hoursctl school seal): an RSA-2048 key and
 * its self-signed certificate in a PKCS#12 made by openssl, WORK/seal-CODE.*
 * (made once per run).
 */
void seal_school(const char *code)
{
	char base[700];
	snprintf(base, sizeof(base), "%s/seal-%s", work, code);
	if (access(words("%s.p12", base), R_OK) != 0) {
		const char *cmd = words(
			"set -e; printf 'seal-pass\\n' >'%s.pass';"
			" openssl req -x509 -newkey rsa:2048 -nodes -keyout '%s.key' -out '%s.crt'"
			" -subj '/CN=seal %s' -days 30 -set_serial 0x5EA1 2>/dev/null;"
			" openssl pkcs12 -export -inkey '%s.key' -in '%s.crt' -out '%s.p12'"
			" -passout pass:seal-pass",
			base, base, base, code, base, base, base);
		ck_assert_msg(system(cmd) == 0, "cannot make the seal of %s", code);
	}
	ck_assert_int_eq(
		hoursctl_run("school seal %s --p12 %s.p12 --pass-file %s.pass", code, base, base),
		0);
}

/* The national interface; the school S001 sealed (esignature), as every school pushing there. */
void start_policesim_national(const char *fault)
{
	snprintf(nat_dir, sizeof(nat_dir), "%s/national", work);
	if (psim_pid == 0 && system(words("rm -rf '%s'", nat_dir)) != 0)
		ck_abort_msg("cannot empty %s", nat_dir);
	mkdir(nat_dir, 0755);
	if (nat_records) {
		FILE *f = fopen(words("%s/records.txt", nat_dir), "w");
		ck_assert_ptr_nonnull(f);
		fputs(nat_records, f);
		fclose(f);
	}
	seal_school("S001");
	psim_start(fault ? fault : "", NULL, nat_dir);
}

/* SIGTERM: policesim answers or drops what waits and exits 0 (no leak under ASan). */
void stop_policesim(void)
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
	char sign_cert[700];
	if (push_sign_cert)
		snprintf(sign_cert, sizeof(sign_cert), "%s", push_sign_cert);
	else
		snprintf(sign_cert, sizeof(sign_cert), "%s/sign-rsa-" T2 ".crt", pki);
	snprintf(buf, sizeof(buf),
		 "push:\n  url: \"https://localhost:%d/api/v1/stage-hours\"\n"
		 "  ca: %s/ca.crt\n  cert: %s/term-" T1 ".crt\n  key: %s/term-" T1 ".key\n"
		 "  sign_key: %s/sign-rsa-" T2 ".key\n  sign_cert: %s\n"
		 "  retry_min_s: 1\n  retry_max_s: 2\n  lease_s: 5\n%s%s",
		 psim_port, pki, pki, pki, pki, sign_cert,
		 extra && strstr(extra, "timeout_s") ? "" : "  timeout_s: 2\n", extra ? extra : "");
	return buf;
}

void start_hoursd_push(const char *extra)
{
	start_hoursd_tail(NULL, push_section(extra));
}

void start_hoursd_push_more(const char *listen_extra, const char *extra, const char *more)
{
	char tail[6144];
	snprintf(tail, sizeof(tail), "%s%s", push_section(extra), more ? more : "");
	start_hoursd_tail(listen_extra, tail);
}

/*
 * A met part made directly in the database (a lesson to a met part takes
 * 1440 records; test_push_lesson_accepted drives one): the contract's
 * example records on T1 and T2 (T1 belongs to S001), progress, a student
 * with the specimen identity card, and the packet.  Students 2..n get a
 * packet each too, with one record and progress of their own.
 */
void seed_packets(int n)
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
void psim_request(const char *method, const char *path, const char *body, char *out, size_t cap)
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

int psim_port_of(void)
{
	return psim_port;
}

/* One counter of policesim's GET /_stats. */
long long psim_stat(const char *name)
{
	char page[4096], key[64];
	psim_request("GET", "/_stats", NULL, page, sizeof(page));
	snprintf(key, sizeof(key), "\"%s\":", name);
	const char *p = strstr(page, key);
	ck_assert_msg(p != NULL, "no %s in %s", name, page);
	return strtoll(p + strlen(key), NULL, 10);
}

/* POST /booking for the student's subject: policesim's errorcode. */
long long book(const char *student, int subject)
{
	char body[128], page[4096];
	snprintf(body, sizeof(body), "{\"stunum\":\"%s\",\"subject\":%d}", student, subject);
	psim_request("POST", "/booking", body, page, sizeof(page));
	const char *p = strstr(page, "\"errorcode\":");
	ck_assert_msg(p != NULL, "no errorcode in %s", page);
	return strtoll(p + strlen("\"errorcode\":"), NULL, 10);
}

/* pdftotext (poppler-utils) of a PDF into a text file beside it; that file's path. */
const char *pdf_text(const char *pdf)
{
	static char txt[700];
	char cmd[1600];
	snprintf(txt, sizeof(txt), "%s.txt", pdf);
	snprintf(cmd, sizeof(cmd), "pdftotext -enc UTF-8 '%s' '%s'", pdf, txt);
	ck_assert_msg(system(cmd) == 0, "pdftotext %s failed", pdf);
	return txt;
}

long long packets_in(const char *state)
{
	return db_value("SELECT count(*) FROM push_packet WHERE state = $1", state, NULL);
}

long long attempts_with(const char *outcome)
{
	return db_value("SELECT count(*) FROM push_attempt WHERE outcome = $1", outcome, NULL);
}

void push_setup(void)
{
	setup();
	snprintf(psim_store, sizeof(psim_store), "%s/accepted.jsonl", work);
	snprintf(psim_log, sizeof(psim_log), "%s/policesim.log", work);
	unlink(psim_store);
	unlink(psim_log);
	psim_server = "server";
	psim_port = free_port();
}

void push_teardown(void)
{
	teardown();
	psim_verify = push_sign_cert = nat_records = NULL;
	if (psim_pid > 0) {
		kill(psim_pid, SIGKILL);
		waitpid(psim_pid, NULL, 0);
		psim_pid = 0;
	}
}
