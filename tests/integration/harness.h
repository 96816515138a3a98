/*
 * harness.h - the integration suite's shared harness: the test's paths
 * and ports, its database, hoursd, termsim, hoursctl and policesim run as
 * the tests run them (harness.c, harness_psim.c), and the topics, one
 * file and one TCase each (main.c runs them in its order).
 *
 * scripts/run-tests.sh starts the cluster, makes the PKI and the template
 * database, and sets:
 *   HOURSD_BIN_DIR       where hoursd and termsim are (build or build/san)
 *   HOURSD_TEST_PKI      the test PKI (scripts/pki.sh)
 *   HOURSD_TEST_PG_DIR   the cluster (scripts/pg.sh), stopped and started by a test
 *   HOURSD_TEST_CONNINFO a connection string to the template database "hoursd"
 *   HOURSD_TEST_WORK     a scratch directory
 * Terminals in the template: 013800000001 and 013800000002 active,
 * 013800000004 disabled; 013800000003 has a certificate but is not registered;
 * 013800000006 a timing terminal (plain TCP, PKCS#12).  Every test gets a
 * fresh copy of the template, a fresh hoursd on a free port, and checks
 * both what termsim saw acked and what is in the database.
 */
#ifndef HOURSD_TESTS_HARNESS_H
#define HOURSD_TESTS_HARNESS_H

#include "hoursd.h"

#include <check.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define T1 "013800000001"
#define T2 "013800000002"
#define T3 "013800000003"
#define T4 "013800000004"
#define T5 "013800000005" /* signs with SM2 */
#define T6 "013800000006" /* a timing terminal: PKCS#12, terminal number, IMEI */
#define T6_NO "3100000000000006"

/* Course codes: vehicle, C1, part 3 (road: no site needed) and part 2 (on site). */
#define PART3 "--course 1213010000"
#define PART2 "--course 1212010000"

/* The push contract's example packet (docs/push-contract.md). */
#define PACKET "3f1c2a9e-7b4d-4c6e-9a8f-1d2e3c4b5a69"
/* docs/push-contract.md's example: 4401000000000017|00000120, |00000121, 4401000000000023|00000007
 */
#define RECORDS_SHA256 "88a96c6ab61cc37885ccb75cf115ed8ded8f45821ec44d047a410548a3465a44"
#define SPECIMEN_ID_SHA256 "426695a0efdb59b9eaedaf0b5ca3eddf013cc2a7f9e283437704ea605f421e6d"

/* The push section's keys of the national profile (start_hoursd_push). */
#define NAT_EXTRA                                                                                  \
	"  profile: national\n  national_review: true\n  national_rectype: 7\n"                    \
	"  national_rectype_backfilled: 9\n"

/* ---- the topics: a TCase each, in main.c's order ---- */

TCase *tcase_lessons(void);
TCase *tcase_daemon(void);
TCase *tcase_push(void);
TCase *tcase_findings(void);
TCase *tcase_national(void);
TCase *tcase_upward(void);
TCase *tcase_students(void);
TCase *tcase_registry(void);
TCase *tcase_cluster(void);
TCase *tcase_supervision(void);
TCase *tcase_evidence(void);
TCase *tcase_leaf(void);
TCase *tcase_checkpoints(void);
TCase *tcase_hardening(void);
TCase *tcase_abuse(void);
TCase *tcase_sql(void);
TCase *tcase_teachlog(void);
TCase *tcase_resend(void);
TCase *tcase_output(void);
TCase *tcase_prove(void);
TCase *tcase_judge(void);

/* ---- harness.c: the test's files, database and programs ---- */

/* Set by setup() for each test: paths of the environment and of WORK. */
extern char work[512], pki[512], bindir[512], pgdir[512], repo[512];
/* The test's database; hoursd's configuration and log; termsim's summary and acked positions. */
extern char test_ci[1200], conf_path[600], log_path[600], out_path[600], acked_path[600];
extern pid_t hoursd_pid; /* 0: none running */
extern int port, admin_port, plain_port;
/* The rules.* lines of the registry's checks (setup(): all flag; "": the shipped defaults). */
extern const char *registry_rules;
/* A syllabus file of the test's own instead of conf/syllabus.yaml ("": the shipped one). */
extern char syllabus_override[600];
/* hoursctl_run()'s stdout and stderr. */
extern char ctl_out[600], ctl_err[600];

/* The fixture of most topics: a fresh database, ports, paths; hoursd killed after. */
void setup(void);
void teardown(void);

int free_port(void);
PGconn *db_connect(const char *ci);
void db_exec(PGconn *c, const char *sql);
long long db_value(const char *sql, const char *p1, const char *p2);
bool wait_value(const char *sql, const char *p1, long long want, int timeout_s);
long long positions_of(const char *terminal);
long long records_of(const char *terminal, const char *verdict, const char *reason);
void seed_minutes(const char *student, int part, int mode, int n, int per_day, long long start,
		  int dkm, int first_dkm, const char *tag);

pid_t spawn(char *const argv[], const char *out, const char *err);
int wait_exit(pid_t pid, int timeout_s);
int count_lines_in(const char *path, const char *needle);
int count_lines_with(const char *needle);
bool log_has(const char *needle);
void write_text(const char *path, const char *text);

void write_config_tail(const char *extra, const char *tail);
void start_hoursd_tail(const char *extra, const char *tail);
void start_hoursd(const char *extra);
/* hoursd as the database role ROLE (role add hoursd ROLE), the audit log's checkpoints every
 * second. */
void start_hoursd_as(const char *role);
/* Until every row is in the audit log and its head is signed (10 s at most). */
void wait_logged(void);
void start_hoursd_plain(const char *tail);
void stop_hoursd(void);
int plain_connect(void);
void admin_get(const char *path, char *out, size_t cap);
long long metric(const char *page, const char *name);

pid_t termsim_start(const char *cert_name, const char *phone, const char *extra);
int termsim(const char *cert_name, const char *phone, const char *extra);
int termsim_timing(const char *extra);
long long out_value(const char *key);
long long acked_lines(void);

/*
 * The one way to run hoursctl: on the test's database (-d), unless the
 * line begins with "-c FILE"; the words of the formatted line ('...' or
 * "..." keeps spaces in a word).  Its stdout and stderr into ctl_out and
 * ctl_err, emptied first; its exit status (-1 after 60 s).
 */
int hoursctl_run(const char *fmt, ...) PRINTF(1, 2);

char *words(const char *fmt, ...) PRINTF(1, 2);
long long morning(int days_ago);
double mono_s(void);

/* The roles (docs/audit.md, "Roles"): SQL as one of them; audit verify. */
bool sv_try(const char *role, const char *sql, char *err, size_t cap);
long long sv_value(const char *role, const char *sql);
void sv_refused(const char *role, const char *sql, const char *why);
void sv_allowed(const char *role, const char *sql);
void sv_behind_the_back(const char *sql);
int sv_verify(const char *extra);
bool sv_said(const char *needle);

/* ---- harness_hard.c: hoursd attacked from outside (hardening.c, abuse.c) ---- */

#include <sys/resource.h>

/* Insert text after the first line of the config that is exactly `line` ("tls:"). */
void conf_insert(const char *line, const char *text);
/*
 * hoursd with a plain listener, tail at the end, more keys in the tls and
 * admin sections ("" for none), its open-file limit nofile (0: inherited).
 */
void start_hoursd_hard(const char *tail, const char *tls_more, const char *admin_more,
		       rlim_t nofile);
/* A non-blocking TCP connection to a loopback port (maybe still under way). */
int connect_nb(int to_port);
/* hoursd's CPU time so far, in clock ticks. */
long long cpu_ticks(pid_t pid);
long long file_size(const char *path);
/* The peer closed fd (a read gives 0 or an error); what it sent is thrown away. */
bool closed_by_peer(int fd);

/* ---- harness_psim.c: policesim, the police platform ---- */

extern char psim_store[600], psim_log[600], nat_dir[600];
extern const char *psim_server;
/* Another signing certificate (the push's sign_cert, policesim's --verify-cert); NULL: T2's. */
extern const char *psim_verify, *push_sign_cert;
/* The record numbers the national interface knows (its records.txt, lines); NULL: none. */
extern const char *nat_records;
/* hoursctl school seal CODE with a seal made by openssl (WORK/seal-CODE.{p12,crt}). */
void seal_school(const char *code);
/* hoursd with the push section (extra in it), listen_extra in listen:, and more sections after. */
void start_hoursd_push_more(const char *listen_extra, const char *extra, const char *more);
/* policesim's port. */
int psim_port_of(void);

/* The fixture of push, national and students: setup() and policesim's files and port. */
void push_setup(void);
void push_teardown(void);
void start_policesim(const char *fault, const char *field_map);
void start_policesim_national(const char *fault);
void stop_policesim(void);
void start_hoursd_push(const char *extra);
void seed_packets(int n);
void psim_request(const char *method, const char *path, const char *body, char *out, size_t cap);
long long psim_stat(const char *name);
long long book(const char *student, int subject);
const char *pdf_text(const char *pdf);
long long packets_in(const char *state);
long long attempts_with(const char *outcome);

#endif
