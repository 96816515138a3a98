/*
 * hoursctl.c - the operators' command line.
 *
 *   hoursctl [-c FILE | -d CONNINFO] COMMAND [SUBCOMMAND] [ARGS]
 *   hoursctl help [COMMAND [SUBCOMMAND]]     hoursctl COMMAND [SUBCOMMAND] --help
 *   hoursctl --help | --version
 *
 * The commands, their arguments and their lines of the usage are one
 * table, verbs[] at the end: the dispatch, the argument checks, the
 * errors and every help text are read from it, so they cannot drift
 * apart.  The arguments are checked before anything else; the database
 * is reached at the first statement (conn()), from -d, else the
 * database.conninfo of the configuration file given with -c, else
 * $HOURSD_DB.  Exit status: 0 done, 1 failed, 2 a usage error.
 * Short-lived and synchronous: blocking libpq is right here.
 */
#include "hoursd.h"
#include "audit.h"
#include "findings.h"
#include "students.h"
#include "chain.h"
#include "conf.h"
#include "geo.h"
#include "log.h"
#include "ingest.h"
#include "db.h"
#include "jtx.h"
#include "queries.h"
#include "teachlog.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <iconv.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <unistd.h>

#include "paths.h" /* HOURSD_SQLDIR, from make's DATADIR (build/gen/paths.h) */

/*
 * A command line checked against its verb (verbs[] below): what a run
 * function gets.  Only the options of the verb, each with a value.
 */
#define MAX_POS 4
#define MAX_OPTS 8
struct args {
	const char *sub;	   /* the subcommand as typed: "disable" of "disable|enable" */
	const char *pos[MAX_POS];  /* the positionals; NULL past the ones given */
	const char *opt[MAX_OPTS]; /* each option's value, in the verb's order; NULL: not given */
};

static PGconn *db;
static const char *opt_dsn, *opt_config; /* -d, -c */
static int db_rc;			 /* exit status when the database was not reached */

/*
 * The connection, made when the first statement needs it: every check of
 * the arguments comes first.  NULL (said, db_rc set) when there is none.
 */
static PGconn *conn(void)
{
	static char buf[4096];
	if (db || db_rc)
		return db;
	const char *ci = opt_dsn ? opt_dsn : opt_config ? NULL : getenv("HOURSD_DB");
	if (opt_config) {
		char err[512];
		struct hconf *c = conf_load(opt_config, err, sizeof(err));
		if (c == NULL) {
			fprintf(stderr, "%s\n", err);
			db_rc = 1;
			return NULL;
		}
		snprintf(buf, sizeof(buf), "%s", c->db_conninfo);
		conf_free(c);
		ci = buf;
	}
	if (ci == NULL) {
		fprintf(stderr, "hoursctl: no database: give -c FILE or -d CONNINFO, or set "
				"$HOURSD_DB\n");
		db_rc = 2;
		return NULL;
	}
	db = PQconnectdb(ci);
	if (PQstatus(db) != CONNECTION_OK) {
		/* libpq's message in one line: its hint follows on a tabbed line */
		char msg[1024], *p = msg;
		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(db));
		while ((p = strchr(p, '\n')) != NULL)
			*p = p[1] ? ' ' : '\0';
		for (p = msg; (p = strchr(p, '\t')) != NULL;)
			memmove(p, p + 1, strlen(p));
		fprintf(stderr, "hoursctl: cannot connect: %s\n", msg);
		PQfinish(db);
		db = NULL;
		db_rc = 1;
		return NULL;
	}
	PQclear(PQexec(db, sql_session_warnings_only));
	return db;
}

static PGresult *query(const char *sql, int n, const char *const *values)
{
	if (conn() == NULL)
		return NULL;
	PGresult *r = PQexecParams(db, sql, n, NULL, values, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		fprintf(stderr, "hoursctl: %s", PQerrorMessage(db));
		PQclear(r);
		return NULL;
	}
	return r;
}

static bool exec_ok(const char *sql, int n, const char *const *values)
{
	PGresult *r = query(sql, n, values);
	PQclear(r);
	return r != NULL;
}

/* ---- migrate ---- */

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The whole file, NUL-terminated; *lenp (when given) gets its length. */
static char *read_file_n(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	do {
		if (len + 4096 + 1 > cap) {
			cap = (cap + 4096 + 1) * 2;
			char *p = realloc(buf, cap);
			if (p == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = p;
		}
		n = fread(buf + len, 1, 4096, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	if (lenp)
		*lenp = len;
	return buf;
}

static char *read_file(const char *path)
{
	return read_file_n(path, NULL);
}

/* Apply one file in its own transaction, unless schema_migrations has it. */
static bool apply_one(const char *dir, const char *name, bool *applied)
{
	const char *v[1] = {name};
	*applied = false;
	PGresult *r = query(sql_migrate_applied, 1, v);
	if (r == NULL)
		return false;
	bool done = PQntuples(r) > 0;
	PQclear(r);
	if (done)
		return true;
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	char *sql = read_file(path);
	if (sql == NULL) {
		fprintf(stderr, "hoursctl: cannot read %s\n", path);
		return false;
	}
	/* A migration is trusted SQL of several statements: the simple protocol runs it. */
	PGresult *res = PQexec(db, sql);
	free(sql);
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "hoursctl: %s: %s", name, PQerrorMessage(db));
	PQclear(res);
	if (ok)
		ok = exec_ok(sql_migrate_record, 1, v);
	*applied = ok;
	return ok;
}

/*
 * Where migrate looks without --dir: the sql/ of the source tree when
 * this hoursctl is one its build made (build/hoursctl, build/san/hoursctl:
 * a directory above the program's holds src/tools/hoursctl/main.c and sql/),
 * so that a build applies its own migrations; else the installed
 * HOURSD_SQLDIR.  The working directory plays no part.
 */
static const char *default_sql_dir(void)
{
	static char dir[4096 + 8];
	char exe[4096], probe[4096 + 32];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return HOURSD_SQLDIR;
	exe[n] = '\0';
	for (int up = 0; up < 3; up++) {
		char *slash = strrchr(exe, '/');
		if (slash == NULL || slash == exe)
			break;
		*slash = '\0';
		snprintf(probe, sizeof(probe), "%s/src/tools/hoursctl/main.c", exe);
		if (access(probe, R_OK) != 0)
			continue;
		snprintf(dir, sizeof(dir), "%s/sql", exe);
		if (access(dir, R_OK | X_OK) == 0)
			return dir;
	}
	return HOURSD_SQLDIR;
}

/*
 * After every run, whatever it applied: the roles' grants on every table,
 * view and sequence, those of later migrations included (audit_grants()
 * of 009, docs/audit.md "Roles").
 */
static int apply_grants(void)
{
	PGresult *r = query(sql_migrate_has_grants, 0, NULL);
	if (r == NULL)
		return 1;
	bool has = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	if (!has)
		return 0;
	if (!exec_ok(sql_migrate_grants, 0, NULL))
		return 1;
	printf("grants: the roles' grants applied to every table and view\n");
	return 0;
}

static int cmd_migrate(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL) {
		fprintf(stderr, "hoursctl: migrate: cannot open the migration directory %s: %s\n",
			dir, strerror(errno));
		return 1;
	}
	char *names[1000];
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && n < ARRAY_SIZE(names)) {
		size_t len = strlen(e->d_name);
		if (len > 4 && strcmp(e->d_name + len - 4, ".sql") == 0 && e->d_name[0] >= '0' &&
		    e->d_name[0] <= '9')
			names[n++] = strdup(e->d_name);
	}
	closedir(d);
	if (n == 0) {
		fprintf(stderr, "hoursctl: migrate: no migrations (NNN_NAME.sql) in %s\n", dir);
		return 1;
	}
	qsort(names, n, sizeof(names[0]), cmp_names);
	/* One migrator at a time, whatever the number of hosts. */
	bool ok = exec_ok(sql_migrate_lock, 0, NULL) && exec_ok(sql_migrate_create_table, 0, NULL);
	unsigned count = 0;
	for (size_t i = 0; ok && i < n; i++) {
		bool applied;
		ok = exec_ok(sql_migrate_begin, 0, NULL) && apply_one(dir, names[i], &applied);
		ok = ok && exec_ok(sql_migrate_commit, 0, NULL);
		if (!ok && db)
			PQclear(PQexec(db, sql_migrate_rollback));
		if (ok && applied) {
			printf("applied %s\n", names[i]);
			count++;
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	if (!ok)
		return 1;
	printf("migrations: %u applied, schema up to date\n", count);
	return apply_grants();
}

/* ---- terminals ---- */

static bool cert_facts(const char *path, char number[21], char sha_hex[65], char not_after[32],
		       char **pem, bool require_cn)
{
	*pem = read_file(path);
	if (*pem == NULL) {
		fprintf(stderr, "hoursctl: cannot read certificate %s\n", path);
		return false;
	}
	BIO *bio = BIO_new_mem_buf(*pem, -1);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (x == NULL) {
		fprintf(stderr, "hoursctl: %s is not a PEM certificate\n", path);
		return false;
	}
	bool ok = false;
	char cn[64] = "";
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
	size_t len = strlen(cn);
	ok = len >= 1 && len <= 20 && strspn(cn, "0123456789") == len;
	if (!require_cn)
		ok = true;
	else if (!ok)
		fprintf(stderr, "hoursctl: %s: subject CN \"%s\" is not a terminal number\n", path,
			cn);
	unsigned char md[32];
	unsigned mdlen = 0;
	if (ok && X509_digest(x, EVP_sha256(), md, &mdlen) == 1 && mdlen == 32) {
		for (int i = 0; i < 32; i++)
			snprintf(sha_hex + 2 * i, 3, "%02x", md[i]);
		jt808_phone_norm(cn, number);
		struct tm tm;
		ok = ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1;
		strftime(not_after, 32, "%Y-%m-%d %H:%M:%S+00", &tm);
	}
	X509_free(x);
	return ok;
}

struct cert_info {
	char number[21];
	char sha_hex[65];
	char not_after[32];
	char *pem;
};

/* The terminal's signing certificate: any key hoursd verifies; its CN is not checked. */
static bool sign_cert_facts(const char *path, struct cert_info *ci)
{
	char ignored[21];
	return cert_facts(path, ignored, ci->sha_hex, ci->not_after, &ci->pem, false);
}

static bool valid_terminal_no(const char *s)
{
	size_t n = strlen(s);
	if (n != 16)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return false;
	return true;
}

/* What `terminal add` was given; NULL: not given. */
struct terminal_opts {
	const char *cert, *sign_cert, *terminal_no, *p12, *p12_pass, *imei, *serial;
};

/*
 * Open the PKCS#12 with its password and take its certificate (PEM, and
 * the facts of cert_facts) after checking that its key belongs to it.
 * *der gets the file's bytes, as the registration answer hands them out.
 */
static bool p12_facts(const char *path, const char *pass, struct cert_info *ci, char **der,
		      size_t *der_len)
{
	*der = read_file_n(path, der_len);
	if (*der == NULL) {
		fprintf(stderr, "hoursctl: cannot read %s\n", path);
		return false;
	}
	const unsigned char *p = (const unsigned char *)*der;
	PKCS12 *p12 = d2i_PKCS12(NULL, &p, (long)*der_len);
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	BIO *mem = NULL;
	bool ok = p12 && PKCS12_parse(p12, pass, &key, &x, NULL) == 1 && key && x &&
		  X509_check_private_key(x, key) == 1;
	if (!ok) {
		fprintf(stderr,
			"hoursctl: %s: not a PKCS#12 that opens with the given password and holds a "
			"key with its certificate\n",
			path);
	} else {
		mem = BIO_new(BIO_s_mem());
		char *data = NULL;
		long n = 0;
		ok = mem && PEM_write_bio_X509(mem, x) == 1 &&
		     (n = BIO_get_mem_data(mem, &data)) > 0 && (ci->pem = strndup(data, (size_t)n));
	}
	BIO_free(mem);
	unsigned char md[32];
	unsigned mdlen = 0;
	struct tm tm;
	if (ok && X509_digest(x, EVP_sha256(), md, &mdlen) == 1 && mdlen == 32 &&
	    ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1) {
		for (int i = 0; i < 32; i++)
			snprintf(ci->sha_hex + 2 * i, 3, "%02x", md[i]);
		strftime(ci->not_after, sizeof(ci->not_after), "%Y-%m-%d %H:%M:%S+00", &tm);
	} else {
		ok = false;
	}
	X509_free(x);
	EVP_PKEY_free(key);
	PKCS12_free(p12);
	ERR_clear_error();
	return ok;
}

/* Printable ASCII of 1 to max characters (the registration's fixed fields). */
static bool valid_field(const char *what, const char *s, size_t max)
{
	size_t n = strlen(s);
	bool ok = n >= 1 && n <= max;
	for (size_t i = 0; ok && i < n; i++)
		ok = s[i] >= 0x20 && s[i] <= 0x7e;
	if (!ok)
		fprintf(stderr, "hoursctl: %s must be 1-%zu printable ASCII characters\n", what,
			max);
	return ok;
}

static bool terminal_opts_valid(const struct terminal_opts *o)
{
	if (o->terminal_no && !valid_terminal_no(o->terminal_no)) {
		fprintf(stderr, "hoursctl: --terminal-no must be 16 printable ASCII characters\n");
		return false;
	}
	if (!o->cert && !o->p12) {
		fprintf(stderr, "hoursctl: terminal add: missing --cert FILE or --p12 FILE\n");
		return false;
	}
	if (!o->p12 != !o->p12_pass) {
		fprintf(stderr, "hoursctl: --p12 and --p12-pass go together\n");
		return false;
	}
	if (o->p12_pass && strlen(o->p12_pass) > 12) {
		fprintf(stderr, "hoursctl: --p12-pass: the registration answer has 12 bytes for "
				"it\n");
		return false;
	}
	return (!o->imei || (valid_field("--imei", o->imei, 15) &&
			     strspn(o->imei, "0123456789ABCDEFabcdef") == strlen(o->imei))) &&
	       (!o->serial || valid_field("--serial", o->serial, 7));
}

/*
 * The TLS certificate (--cert, its CN the terminal number), else the
 * PKCS#12's; the signing certificate: --sign-cert, else the PKCS#12's,
 * else the TLS one (NULL in the row).
 */
static int terminal_add(const char *number, const struct terminal_opts *o)
{
	char want[21], code[33];
	struct cert_info tls = {0}, sig = {0}, p12 = {0};
	char *p12_der = NULL, *p12_hex = NULL;
	size_t p12_len = 0;
	int rc = 1;
	if (!terminal_opts_valid(o))
		return 2;
	jt808_phone_norm(number, want);
	if (o->p12 && !p12_facts(o->p12, o->p12_pass, &p12, &p12_der, &p12_len))
		goto out;
	if (o->cert) {
		if (!cert_facts(o->cert, tls.number, tls.sha_hex, tls.not_after, &tls.pem, true))
			goto out;
		if (strcmp(tls.number, want) != 0) {
			fprintf(stderr, "hoursctl: the certificate names terminal %s, not %s\n",
				tls.number, want);
			goto out;
		}
	}
	if (o->sign_cert && !sign_cert_facts(o->sign_cert, &sig))
		goto out;
	const struct cert_info *t = o->cert ? &tls : &p12;
	const struct cert_info *sg = o->sign_cert ? &sig : o->p12 && o->cert ? &p12 : NULL;
	unsigned char rnd[16];
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		goto out;
	for (int i = 0; i < 16; i++)
		snprintf(code + 2 * i, 3, "%02x", rnd[i]);
	if (o->p12) {
		p12_hex = malloc(2 * p12_len + 1);
		if (p12_hex == NULL)
			goto out;
		for (size_t i = 0; i < p12_len; i++)
			snprintf(p12_hex + 2 * i, 3, "%02x", (unsigned char)p12_der[i]);
	}
	/* A new certificate for a known terminal replaces the old one; one transaction. */
	const char *v[13] = {want,
			     t->pem,
			     t->sha_hex,
			     t->not_after,
			     code,
			     sg ? sg->pem : NULL,
			     sg ? sg->sha_hex : NULL,
			     sg ? sg->not_after : NULL,
			     o->terminal_no,
			     o->imei,
			     o->serial,
			     p12_hex,
			     o->p12_pass};
	PGresult *r = query(sql_terminal_add, 13, v);
	if (r == NULL)
		goto out;
	printf("terminal %s %s (id %s, certificate sha256 %s, valid until %s%s%s%s)\n", want,
	       PQgetvalue(r, 0, 1)[0] == 't' ? "added" : "updated", PQgetvalue(r, 0, 0), t->sha_hex,
	       t->not_after, sg ? "; signing certificate sha256 " : "", sg ? sg->sha_hex : "",
	       o->p12 ? "; PKCS#12 stored for registration" : "");
	if (strcmp(number, want) != 0)
		printf("  %s is kept as %s, without leading zeros: terminals pad their number "
		       "differently; every command takes either form\n",
		       number, want);
	PQclear(r);
	rc = 0;
out:
	free(tls.pem);
	free(sig.pem);
	free(p12.pem);
	free(p12_der);
	free(p12_hex);
	return rc;
}

/* One UPDATE of terminal n ($1) with value ($2); false (said) when it failed or there is none. */
static bool terminal_update(const char *sql, const char *n, const char *value)
{
	const char *v[2] = {n, value};
	PGresult *r = query(sql, 2, v);
	if (r == NULL)
		return false;
	bool found = strcmp(PQcmdTuples(r), "1") == 0;
	PQclear(r);
	if (!found)
		fprintf(stderr, "hoursctl: no terminal %s\n", n);
	return found;
}

/* A device fault accepted from one terminal (docs/protocol.md, "Device faults"). */
static int terminal_quirk(const char *number, const char *quirk, const char *onoff)
{
	static const struct {
		const char *name, *sql;
	} quirks[] = {
		{"escaped-sums", sql_terminal_quirk_escaped_sums},
		{"rsa-raw", sql_terminal_quirk_rsa_raw},
	};
	size_t k = 0;
	while (k < ARRAY_SIZE(quirks) && strcmp(quirks[k].name, quirk) != 0)
		k++;
	if (k == ARRAY_SIZE(quirks) || (strcmp(onoff, "on") != 0 && strcmp(onoff, "off") != 0)) {
		fprintf(stderr, "hoursctl: terminal quirk NUMBER escaped-sums|rsa-raw on|off\n");
		return 2;
	}
	char n[21];
	jt808_phone_norm(number, n);
	if (!terminal_update(quirks[k].sql, n, strcmp(onoff, "on") == 0 ? "true" : "false"))
		return 1;
	printf("terminal %s: %s %s (applies from its next connection)\n", n, quirk, onoff);
	return 0;
}

static int terminal_list(void)
{
	PGresult *r = query(sql_terminal_list, 0, NULL);
	if (r == NULL)
		return 1;
	printf("%-20s %-8s %-25s %-16s %-9s %-8s %-16s %-7s %-8s %-7s %s\n", "number", "status",
	       "certificate valid until", "certificate", "positions", "school", "timing number",
	       "records", "unsigned", "bad sig", "quirks");
	for (int i = 0; i < PQntuples(r); i++)
		printf("%-20s %-8s %-25s %.16s %-9s %-8s %-16s %-7s %-8s %-7s %s\n",
		       PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
		       PQgetvalue(r, i, 3), PQgetvalue(r, i, 4), PQgetvalue(r, i, 5),
		       PQgetvalue(r, i, 6), PQgetvalue(r, i, 7), PQgetvalue(r, i, 8),
		       PQgetvalue(r, i, 9), PQgetvalue(r, i, 10)[0] ? PQgetvalue(r, i, 10) : "-");
	PQclear(r);
	return 0;
}

static int terminal_status(const char *number, const char *status)
{
	char n[21];
	jt808_phone_norm(number, n);
	if (!terminal_update(sql_terminal_set_status, n, status))
		return 1;
	printf("terminal %s %s\n", n, status);
	return 0;
}

/* Minutes are checked against the sites of the terminal's school. */
static int terminal_assign(const char *number, const char *school_code)
{
	char n[21];
	jt808_phone_norm(number, n);
	const char *v[2] = {n, school_code};
	PGresult *r = query(sql_terminal_assign, 2, v);
	if (r == NULL)
		return 1;
	bool found = strcmp(PQcmdTuples(r), "1") == 0;
	PQclear(r);
	if (found) {
		printf("terminal %s assigned to school %s\n", n, school_code);
		return 0;
	}
	r = query(sql_terminal_exists, 1, v);
	if (r == NULL)
		return 1;
	bool terminal_known = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	if (terminal_known)
		fprintf(stderr, "hoursctl: no school %s\n", school_code);
	else
		fprintf(stderr, "hoursctl: no terminal %s\n", n);
	return 1;
}

/* ---- commands to a terminal ---- */

/* A whole number in [lo, hi] from an option; false (said) otherwise. */
static bool option_uint(const char *name, const char *v, unsigned long lo, unsigned long hi,
			unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long x = strtoul(v, &end, 10);
	if (errno || *end || end == v || v[0] == '-' || x < lo || x > hi) {
		fprintf(stderr, "hoursctl: %s must be a whole number from %lu to %lu\n", name, lo,
			hi);
		return false;
	}
	*out = x;
	return true;
}

/* A timestamp as PostgreSQL reads it (say the zone: 2026-11-30 08:00+08) to Unix seconds. */
static bool parse_time(const char *name, const char *v, time_t *out)
{
	const char *p[1] = {v};
	PGresult *r = query(sql_timestamp_epoch, 1, p);
	if (r == NULL) {
		if (db) /* not when the database was not reached */
			fprintf(stderr, "hoursctl: %s: not a timestamp\n", name);
		return false;
	}
	*out = (time_t)strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return true;
}

/*
 * Queue one command for a terminal: its data built by jtx, kept until
 * the terminal is authenticated on some hoursd, or until it expires.
 */
static int queue_command(const char *number, const char *kind, uint16_t ext_id,
			 const struct jtx_command *c, unsigned long expires_s)
{
	uint8_t data[300];
	char hex[2 * sizeof(data) + 1], id[8], secs[24], n[21];
	size_t len = jtx_build_command(ext_id, c, data, sizeof(data));
	if (len == 0) {
		fprintf(stderr, "hoursctl: the command cannot be built from these values\n");
		return 2;
	}
	for (size_t i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", data[i]);
	snprintf(id, sizeof(id), "%u", ext_id);
	snprintf(secs, sizeof(secs), "%lu", expires_s);
	jt808_phone_norm(number, n);
	const char *v[5] = {n, kind, id, hex, secs};
	PGresult *r = query(sql_terminal_command_queue, 5, v);
	if (r == NULL)
		return 1;
	int rc = PQntuples(r) == 1 ? 0 : 1;
	if (rc == 0)
		printf("command %s queued for terminal %s (id %s, 0x%04x, %zu bytes); sent when it "
		       "is authenticated, until %s\n",
		       kind, n, PQgetvalue(r, 0, 0), ext_id, len, PQgetvalue(r, 0, 1));
	else
		fprintf(stderr, "hoursctl: no terminal %s\n", n);
	PQclear(r);
	return rc;
}

#define EXPIRES_DEFAULT_S 86400ul
#define EXPIRES_MAX_S (30ul * 86400)

/* terminal fetch-records NUMBER --from TS --to TS [--count N] [--expires S] */
static int terminal_fetch_records(const struct args *a)
{
	const char *count_s = a->opt[2] ? a->opt[2] : "65535";
	unsigned long count, expires = EXPIRES_DEFAULT_S;
	struct jtx_command c = {.query_mode = JTX_QUERY_BY_TIME};
	if (!a->opt[0] || !a->opt[1]) {
		fprintf(stderr, "hoursctl: terminal fetch-records: missing %s TS\n",
			a->opt[0] ? "--to" : "--from");
		return 2;
	}
	if (!option_uint("--count", count_s, 1, 65535, &count) ||
	    (a->opt[3] && !option_uint("--expires", a->opt[3], 1, EXPIRES_MAX_S, &expires)))
		return 2;
	/* PostgreSQL reads the times: the first statement, once the rest is checked. */
	if (!parse_time("--from", a->opt[0], &c.from) || !parse_time("--to", a->opt[1], &c.to))
		return db_rc ? db_rc : 2;
	if (c.to < c.from) {
		fprintf(stderr, "hoursctl: --to is before --from\n");
		return 2;
	}
	c.count = (uint16_t)count;
	return queue_command(a->pos[0], "fetch_records", JTX_FETCH_RECORDS, &c, expires);
}

/* terminal photo NUMBER [--channel N] [--size N] [--expires S] */
static int terminal_photo(const struct args *a)
{
	unsigned long channel, size, expires = EXPIRES_DEFAULT_S;
	if (!option_uint("--channel", a->opt[0] ? a->opt[0] : "0", 0, 255, &channel) ||
	    !option_uint("--size", a->opt[1] ? a->opt[1] : "1", 0, 255, &size) ||
	    (a->opt[2] && !option_uint("--expires", a->opt[2], 1, EXPIRES_MAX_S, &expires)))
		return 2;
	struct jtx_command c = {
		.upload_mode = 1, .channel = (uint8_t)channel, .size_code = (uint8_t)size};
	return queue_command(a->pos[0], "take_photo", JTX_TAKE_PHOTO, &c, expires);
}

/* UTF-8 to GBK, the terminals' text; false (said) when it does not convert or fit. */
static bool to_gbk(const char *utf8, uint8_t *out, size_t cap, size_t *len)
{
	iconv_t cd = iconv_open("GBK", "UTF-8");
	if (cd == (iconv_t)-1) {
		fprintf(stderr, "hoursctl: this system cannot convert to GBK\n");
		return false;
	}
	char *in = (char *)utf8, *o = (char *)out;
	size_t inleft = strlen(utf8), outleft = cap;
	bool ok = iconv(cd, &in, &inleft, &o, &outleft) != (size_t)-1 && inleft == 0;
	iconv_close(cd);
	if (!ok)
		fprintf(stderr, "hoursctl: --message must be UTF-8 text of at most %zu GBK bytes\n",
			cap);
	*len = cap - outleft;
	return ok;
}

/* terminal ban NUMBER on|off [--message TEXT] [--expires S] */
static int terminal_ban(const struct args *a)
{
	unsigned long expires = EXPIRES_DEFAULT_S;
	uint8_t msg[255];
	size_t len = 0;
	const char *onoff = a->pos[1];
	if (strcmp(onoff, "on") != 0 && strcmp(onoff, "off") != 0) {
		fprintf(stderr, "hoursctl: terminal ban: \"%s\": on or off expected\n", onoff);
		return 2;
	}
	if ((a->opt[1] && !option_uint("--expires", a->opt[1], 1, EXPIRES_MAX_S, &expires)) ||
	    !to_gbk(a->opt[0] ? a->opt[0] : "", msg, sizeof(msg), &len))
		return 2;
	struct jtx_command c = {.ban_state = strcmp(onoff, "on") == 0 ? JTX_BAN_ON : JTX_BAN_OFF,
				.message = {msg, (uint8_t)len}};
	return queue_command(a->pos[0], "training_ban", JTX_TRAINING_BAN, &c, expires);
}

static int terminal_commands(const char *number)
{
	char n[21] = "";
	if (number)
		jt808_phone_norm(number, n);
	const char *v[1] = {number ? n : NULL};
	PGresult *r = query(sql_terminal_command_list, 1, v);
	if (r == NULL)
		return 1;
	printf("%-6s %-20s %-14s %-9s %-29s %-29s %-6s %s\n", "id", "terminal", "command", "state",
	       "queued", "sent", "result", "expires");
	for (int i = 0; i < PQntuples(r); i++)
		printf("%-6s %-20s %-14s %-9s %-29s %-29s %-6s %s\n", PQgetvalue(r, i, 0),
		       PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
		       PQgetvalue(r, i, 4), PQgetvalue(r, i, 5), PQgetvalue(r, i, 6),
		       PQgetvalue(r, i, 7));
	PQclear(r);
	return 0;
}

/* ---- schools and training sites ---- */

/* Printable text of 1 to max bytes, no control characters: codes and names stay listable. */
static bool valid_label(const char *what, const char *s, size_t max)
{
	size_t n = strlen(s);
	bool ok = n >= 1 && n <= max;
	for (size_t i = 0; ok && i < n; i++)
		ok = (unsigned char)s[i] >= 0x20 && s[i] != 0x7f;
	if (!ok)
		fprintf(stderr, "hoursctl: %s must be 1-%zu printable characters\n", what, max);
	return ok;
}

static int school_add(const char *code, const char *name, const char *district)
{
	if (!valid_label("school code", code, 64) || !valid_label("school name", name, 200) ||
	    (district && !valid_label("district", district, 64)))
		return 2;
	const char *v[3] = {code, name, district};
	PGresult *r = query(sql_school_add, 3, v);
	if (r == NULL)
		return 1;
	printf("school %s %s (id %s)\n", code, PQgetvalue(r, 0, 1)[0] == 't' ? "added" : "updated",
	       PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

static int school_list(void)
{
	PGresult *r = query(sql_school_list, 0, NULL);
	if (r == NULL)
		return 1;
	printf("%-20s %-5s %-9s %-12s %s\n", "code", "sites", "terminals", "district", "name");
	for (int i = 0; i < PQntuples(r); i++)
		printf("%-20s %-5s %-9s %-12s %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 2),
		       PQgetvalue(r, i, 3), PQgetvalue(r, i, 4)[0] ? PQgetvalue(r, i, 4) : "-",
		       PQgetvalue(r, i, 1));
	PQclear(r);
	return 0;
}

/* The district whose district auditors see the school; "none" takes it out of any. */
static int school_set_district(const char *code, const char *district)
{
	bool none = strcmp(district, "none") == 0;
	if (!valid_label("school code", code, 64) ||
	    (!none && !valid_label("district", district, 64)))
		return 2;
	const char *v[2] = {code, none ? NULL : district};
	PGresult *r = query(sql_school_set_district, 2, v);
	if (r == NULL)
		return 1;
	int rc = PQntuples(r) == 1 ? 0 : 1;
	if (rc)
		fprintf(stderr, "hoursctl: school set-district: no school %s\n", code);
	else
		printf("school %s: district %s\n", code, none ? "none" : district);
	PQclear(r);
	return rc;
}

/* ---- roles and the audit ---- */

/*
 * A login of one of the roles of docs/audit.md.  The password (first line
 * of the file) goes to the server as a SCRAM verifier made here, never in
 * clear.
 */
static int role_add(const struct args *a)
{
	static const char *const kinds[] = {"hoursd", "auditor", "district-auditor", "liaison"};
	const char *kind = a->pos[0], *name = a->pos[1], *district = a->opt[0];
	size_t k = 0;
	while (k < ARRAY_SIZE(kinds) && strcmp(kinds[k], kind) != 0)
		k++;
	if (k == ARRAY_SIZE(kinds)) {
		fprintf(stderr,
			"hoursctl: role add: KIND is hoursd, auditor, district-auditor or "
			"liaison, not \"%s\"\n",
			kind);
		return 2;
	}
	size_t n = strlen(name);
	if (n < 1 || n > 63 || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != n ||
	    (name[0] >= '0' && name[0] <= '9') || strncmp(name, "pg_", 3) == 0) {
		fprintf(stderr,
			"hoursctl: role add: NAME \"%s\": 1-63 of a-z, 0-9 and _, not "
			"starting with a digit or pg_\n",
			name);
		return 2;
	}
	if ((k == 2) != (district != NULL)) {
		fprintf(stderr, "hoursctl: role add: --district D goes with district-auditor, "
				"and only with it\n");
		return 2;
	}
	if (district && !valid_label("district", district, 64))
		return 2;
	char *pass = NULL, *verifier = NULL;
	if (a->opt[1]) {
		pass = read_file(a->opt[1]);
		if (pass == NULL) {
			fprintf(stderr, "hoursctl: role add: cannot read %s\n", a->opt[1]);
			return 1;
		}
		pass[strcspn(pass, "\r\n")] = '\0';
		if (pass[0] == '\0') {
			fprintf(stderr, "hoursctl: role add: %s: an empty password\n", a->opt[1]);
			free(pass);
			return 2;
		}
	}
	if (pass && conn() != NULL) {
		verifier = PQencryptPasswordConn(db, pass, name, "scram-sha-256");
		if (verifier == NULL)
			fprintf(stderr, "hoursctl: role add: %s", PQerrorMessage(db));
	}
	if (pass)
		OPENSSL_cleanse(pass, strlen(pass));
	free(pass);
	if (a->opt[1] && verifier == NULL)
		return 1;
	const char *v[4] = {kind, name, district, verifier};
	PGresult *r = query(sql_role_add, 4, v);
	PQfreemem(verifier);
	if (r == NULL)
		return 1;
	printf("role %s %s: %s%s%s\n", name, PQgetvalue(r, 0, 0)[0] == 't' ? "created" : "updated",
	       kind, district ? " of district " : "", district ? district : "");
	PQclear(r);
	return 0;
}

/* The checkpoints' key for verify: --key, else the configuration's audit.checkpoint_key. */
static EVP_PKEY *verify_key(const char *path, int *rc)
{
	char err[512];
	struct hconf *c = NULL;
	*rc = 0;
	if (path == NULL && opt_config) {
		c = conf_load(opt_config, err, sizeof(err));
		if (c == NULL) {
			fprintf(stderr, "%s\n", err);
			*rc = 1;
			return NULL;
		}
		path = c->audit_checkpoint_key;
	}
	EVP_PKEY *k = path ? checkpoint_key_load(path, false, err, sizeof(err)) : NULL;
	if (path && k == NULL) {
		fprintf(stderr, "hoursctl: audit verify: %s\n", err);
		*rc = 1;
	}
	conf_free(c);
	return k;
}

static int run_audit_verify(const struct args *a)
{
	struct audit_verify_opts o = {
		.from = a->opt[0], .to = a->opt[1], .school = a->opt[2], .witness = a->opt[4]};
	int rc;
	time_t t;
	if ((o.from && !parse_time("--from", o.from, &t)) ||
	    (o.to && !parse_time("--to", o.to, &t)))
		return db_rc ? db_rc : 2;
	if (o.school && !valid_label("school code", o.school, 64))
		return 2;
	o.key = verify_key(a->opt[3], &rc);
	if (rc)
		return rc;
	PGconn *c = conn();
	rc = c ? audit_verify(c, &o, stdout) : 1;
	EVP_PKEY_free(o.key);
	return rc;
}

static int run_audit_checkpoints(const struct args *a)
{
	PGconn *c = conn();
	return c ? audit_checkpoints(c, a->opt[0], stdout) : 1;
}

/*
 * The licence a student already holds (adding a class: the syllabus's
 * reduced figures apply), until enrolment records it; "none" removes it.
 */
static int student_held(const char *student_no, const char *cls)
{
	if (!valid_label("student number", student_no, 32))
		return 2;
	bool none = strcmp(cls, "none") == 0;
	if (!none && !(strlen(cls) <= 2 && cls[0] >= 'A' && cls[0] <= 'Z' &&
		       (cls[1] == '\0' || (cls[1] >= '0' && cls[1] <= '9')))) {
		fprintf(stderr,
			"hoursctl: licence class \"%s\": a letter and an optional digit "
			"(C1, B2, D), or none\n",
			cls);
		return 2;
	}
	const char *v[2] = {student_no, cls};
	PGresult *r = query(none ? sql_student_held_clear : sql_student_held_set, none ? 1 : 2, v);
	if (r == NULL)
		return 1;
	if (none)
		printf("student %s: %s\n", student_no,
		       PQntuples(r) ? "no licence held any more" : "no licence was recorded");
	else
		printf("student %s holds %s: the adding-class figures apply from the judge's next "
		       "batch\n",
		       student_no, PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

/*
 * The file is parsed by the same code hoursd uses, and what is stored is
 * its normalized form (one MultiPolygon, exact 6-decimal coordinates), so
 * hoursd never meets a site it would refuse.  kind NULL: field for a new
 * site, unchanged for a replaced one.
 */
static int site_import(const char *school_code, const char *name, const char *path,
		       const char *kind)
{
	char err[256];
	if (!valid_label("site name", name, 200))
		return 2;
	size_t len;
	char *text = read_file_n(path, &len);
	if (text == NULL) {
		fprintf(stderr, "hoursctl: cannot read %s\n", path);
		return 1;
	}
	struct geo_site *site = geo_site_parse(text, len, err, sizeof(err));
	free(text);
	if (site == NULL) {
		fprintf(stderr, "hoursctl: %s: %s\n", path, err);
		return 1;
	}
	char polygons[24], points[24];
	snprintf(polygons, sizeof(polygons), "%zu", geo_site_polygons(site));
	snprintf(points, sizeof(points), "%zu", geo_site_points(site));
	char *norm = geo_site_to_geojson(site);
	geo_site_free(site);
	if (norm == NULL) {
		fprintf(stderr, "hoursctl: out of memory\n");
		return 1;
	}
	const char *v[4] = {school_code, name, kind, norm};
	PGresult *r = query(sql_site_import, 4, v);
	free(norm);
	if (r == NULL)
		return 1;
	int rc = 0;
	if (PQntuples(r) == 0) {
		fprintf(stderr, "hoursctl: no school %s\n", school_code);
		rc = 1;
	} else {
		printf("site \"%s\" of school %s %s (id %s, %s, polygons %s, points %s)\n", name,
		       school_code, PQgetvalue(r, 0, 1)[0] == 't' ? "imported" : "replaced",
		       PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 2), polygons, points);
	}
	PQclear(r);
	return rc;
}

/* Counts from the stored normalized form: coordinates[polygon][ring][position]. */
static int site_list(const char *school_code)
{
	const char *v[1] = {school_code};
	PGresult *r = query(sql_site_list, 1, v);
	if (r == NULL)
		return 1;
	printf("%-20s %-24s %-5s %-8s %-8s %s\n", "school", "site", "kind", "polygons", "points",
	       "updated");
	for (int i = 0; i < PQntuples(r); i++)
		printf("%-20s %-24s %-5s %-8s %-8s %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
		       PQgetvalue(r, i, 2), PQgetvalue(r, i, 3), PQgetvalue(r, i, 4),
		       PQgetvalue(r, i, 5));
	PQclear(r);
	return 0;
}

/* ---- the push outbox ---- */

static int push_list(const char *state)
{
	const char *v[1] = {state};
	PGresult *r = query(sql_push_list, 1, v);
	if (r == NULL)
		return 1;
	printf("%-36s %-16s %-4s %-7s %-8s %-22s %s\n", "id", "student", "part", "state",
	       "attempts", "next attempt", "last error");
	for (int i = 0; i < PQntuples(r); i++)
		printf("%-36s %-16s %-4s %-7s %-8s %-22s %s\n", PQgetvalue(r, i, 0),
		       PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
		       PQgetvalue(r, i, 4), PQgetvalue(r, i, 5), PQgetvalue(r, i, 6));
	PQclear(r);
	return 0;
}

/* A packet id as PostgreSQL reads a uuid, or a usage error before any query. */
static bool valid_uuid(const char *s)
{
	size_t n = strlen(s);
	bool ok = n == 36;
	for (size_t i = 0; ok && i < n; i++)
		ok = (i == 8 || i == 13 || i == 18 || i == 23)
			     ? s[i] == '-'
			     : strchr("0123456789abcdefABCDEF", s[i]) != NULL;
	if (!ok)
		fprintf(stderr, "hoursctl: a packet id is a UUID (8-4-4-4-12 hex digits)\n");
	return ok;
}

static int push_show(const char *id)
{
	const char *v[1] = {id};
	if (!valid_uuid(id))
		return 2;
	PGresult *r = query(sql_push_show, 1, v);
	if (r == NULL)
		return 1;
	if (PQntuples(r) == 0) {
		fprintf(stderr, "hoursctl: no packet %s\n", id);
		PQclear(r);
		return 1;
	}
	printf("packet %s\n  student %s, part %s, class %s\n  state %s, attempts %s\n"
	       "  created %s, next attempt %s, done %s, re-driven %s\n  last error: %s\n"
	       "  body: %s\n",
	       id, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2),
	       PQgetvalue(r, 0, 3), PQgetvalue(r, 0, 4), PQgetvalue(r, 0, 5), PQgetvalue(r, 0, 6),
	       PQgetvalue(r, 0, 7), PQgetvalue(r, 0, 8), PQgetvalue(r, 0, 9), PQgetvalue(r, 0, 10));
	PQclear(r);
	r = query(sql_push_show_attempts, 1, v);
	if (r == NULL)
		return 1;
	printf("\nattempts: %d\n%-7s %-30s %-6s %-8s %-9s %s\n", PQntuples(r), "attempt", "started",
	       "status", "ms", "outcome", "answer (first 4 KiB)");
	for (int i = 0; i < PQntuples(r); i++)
		printf("%-7s %-30s %-6s %-8s %-9s %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
		       PQgetvalue(r, i, 2), PQgetvalue(r, i, 3), PQgetvalue(r, i, 4),
		       PQgetvalue(r, i, 5));
	PQclear(r);
	return 0;
}

/*
 * A failed packet goes back to pending, due now, with its id and body
 * (the platform deduplicates); its maximum age and its backoff start
 * again.  The re-drive is written into last_error for the record.
 */
static int push_retry(const char *id)
{
	const char *v[1] = {id};
	if (!valid_uuid(id))
		return 2;
	PGresult *r = query(sql_push_redrive, 1, v);
	if (r == NULL)
		return 1;
	int rc = 0;
	if (PQntuples(r) == 1) {
		printf("packet %s (student %s, part %s) re-driven: pending, due now\n", id,
		       PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
	} else {
		PQclear(r);
		r = query(sql_push_state, 1, v);
		if (r && PQntuples(r) == 1)
			fprintf(stderr, "hoursctl: packet %s is %s, not failed: nothing to do\n",
				id, PQgetvalue(r, 0, 0));
		else if (r)
			fprintf(stderr, "hoursctl: no packet %s\n", id);
		rc = 1;
	}
	PQclear(r);
	return rc;
}

/* ---- the commands: run functions, the table, the parsing ---- */

static int run_migrate(const struct args *a)
{
	return cmd_migrate(a->opt[0] ? a->opt[0] : default_sql_dir());
}

static int run_terminal_add(const struct args *a)
{
	const struct terminal_opts o = {.cert = a->opt[0],
					.p12 = a->opt[1],
					.p12_pass = a->opt[2],
					.sign_cert = a->opt[3],
					.terminal_no = a->opt[4],
					.imei = a->opt[5],
					.serial = a->opt[6]};
	return terminal_add(a->pos[0], &o);
}

static int run_terminal_list(const struct args *a)
{
	return terminal_list();
}

static int run_terminal_quirk(const struct args *a)
{
	return terminal_quirk(a->pos[0], a->pos[1], a->pos[2]);
}

static int run_terminal_commands(const struct args *a)
{
	return terminal_commands(a->pos[0]);
}

static int run_terminal_status(const struct args *a)
{
	return terminal_status(a->pos[0], strcmp(a->sub, "disable") == 0 ? "disabled" : "active");
}

static int run_terminal_assign(const struct args *a)
{
	return terminal_assign(a->pos[0], a->pos[1]);
}

static int run_school_add(const struct args *a)
{
	return school_add(a->pos[0], a->pos[1], a->opt[0]);
}

static int run_school_set_district(const struct args *a)
{
	return school_set_district(a->pos[0], a->pos[1]);
}

static int run_school_list(const struct args *a)
{
	return school_list();
}

static int run_site_import(const struct args *a)
{
	const char *kind = a->opt[0];
	if (kind && strcmp(kind, "field") != 0 && strcmp(kind, "road") != 0) {
		fprintf(stderr, "hoursctl: site import: --kind is field or road, not \"%s\"\n",
			kind);
		return 2;
	}
	return site_import(a->pos[0], a->pos[1], a->pos[2], kind);
}

static int run_site_list(const struct args *a)
{
	return site_list(a->pos[0]);
}

static int run_student_held(const struct args *a)
{
	return student_held(a->pos[0], a->pos[1]);
}

/*
 * The teaching log of the student's part as a PDF in file: the document
 * the pusher's national profile uploads (sql/queries/teaching_log.sql,
 * teaching_log_backfill.sql, src/pdf/teachlog.c).
 */
static int explain_pdf(PGconn *c, const char *student, const char *part, const char *file)
{
	const char *v[2] = {student, part};
	PGresult *d = PQexecParams(c, sql_teaching_log, 2, NULL, v, NULL, NULL, 0);
	PGresult *f =
		PQresultStatus(d) == PGRES_TUPLES_OK
			? PQexecParams(c, sql_teaching_log_backfill, 2, NULL, v, NULL, NULL, 0)
			: NULL;
	int rc = 1;
	if (PQresultStatus(f) != PGRES_TUPLES_OK) {
		fprintf(stderr, "hoursctl: %s", PQerrorMessage(c));
	} else if (PQntuples(d) != 1 || PQgetisnull(d, 0, 0)) {
		fprintf(stderr, "hoursctl: explain --pdf: student %s has no counted minutes%s%s\n",
			student, part ? " in part " : "", part ? part : "");
	} else {
		char err[256];
		size_t n = 0;
		unsigned char *pdf = teachlog_pdf(PQgetvalue(d, 0, 0), f, &n, err, sizeof(err));
		FILE *out = pdf ? fopen(file, "wb") : NULL;
		bool written = out && fwrite(pdf, 1, n, out) == n;
		if (out && fclose(out) != 0)
			written = false;
		if (pdf == NULL)
			fprintf(stderr, "hoursctl: %s\n", err);
		else if (!written)
			fprintf(stderr, "hoursctl: explain --pdf %s: %s\n", file, strerror(errno));
		else
			rc = 0;
		free(pdf);
	}
	PQclear(d);
	PQclear(f);
	teachlog_shutdown();
	return rc;
}

static int run_explain(const struct args *a)
{
	const char *part = a->opt[1];
	if (part && !(part[0] >= '1' && part[0] <= '4' && part[1] == '\0')) {
		fprintf(stderr, "hoursctl: explain: --part %s: 1 to 4 expected\n", part);
		return 2;
	}
	if (part && !a->opt[0]) {
		fprintf(stderr, "hoursctl: explain: --part goes with --pdf\n");
		return 2;
	}
	PGconn *c = conn();
	if (c == NULL)
		return 1;
	if (a->opt[0])
		return explain_pdf(c, a->pos[0], part, a->opt[0]);
	return audit_explain(c, a->pos[0], stdout);
}

static int run_recompute(const struct args *a)
{
	PGconn *c = conn();
	return c ? audit_recompute(c, a->pos[0], stdout) : 1;
}

static int run_push_list(const struct args *a)
{
	static const char *const states[] = {"pending", "sending", "done", "failed"};
	const char *state = a->opt[0];
	for (size_t i = 0; state && i < ARRAY_SIZE(states); i++)
		if (strcmp(state, states[i]) == 0)
			return push_list(state);
	if (state == NULL)
		return push_list(NULL);
	fprintf(stderr,
		"hoursctl: push list: --state is pending, sending, done or failed, not "
		"\"%s\"\n",
		state);
	return 2;
}

static int run_push_show(const struct args *a)
{
	return push_show(a->pos[0]);
}

static int run_push_retry(const struct args *a)
{
	return push_retry(a->pos[0]);
}

/*
 * The thresholds of the findings: the findings.* keys of -c FILE, else
 * their defaults.  False (said) when the file does not load.
 */
static bool findings_limits(struct findings_limits *lim)
{
	char err[512];
	struct hconf *c =
		opt_config ? conf_load(opt_config, err, sizeof(err)) : calloc(1, sizeof(*c));
	if (c == NULL) {
		fprintf(stderr, "%s\n", opt_config ? err : "hoursctl: out of memory");
		return false;
	}
	if (!opt_config)
		conf_uint_defaults(c);
	findings_limits_of(c, lim);
	if (opt_config)
		conf_free(c);
	else
		free(c);
	return true;
}

static int run_findings(const struct args *a)
{
	struct findings_query q = {.school = a->opt[0], .from = a->opt[1], .to = a->opt[2]};
	const char *format = a->opt[3] ? a->opt[3] : "text";
	if (strcmp(format, "text") != 0 && strcmp(format, "csv") != 0 &&
	    strcmp(format, "json") != 0) {
		fprintf(stderr, "hoursctl: findings: --format is text, csv or json, not \"%s\"\n",
			format);
		return 2;
	}
	if (!findings_limits(&q.lim))
		return 1;
	if (q.school) {
		const char *v[1] = {q.school};
		PGresult *r = query(sql_school_exists, 1, v);
		if (r == NULL)
			return 1;
		bool known = PQntuples(r) == 1;
		PQclear(r);
		if (!known) {
			fprintf(stderr, "hoursctl: findings: no school \"%s\"\n", q.school);
			return 1;
		}
	}
	PGconn *c = conn();
	return c ? findings_run(c, &q, format, stdout) : 1;
}

static int run_report_quarterly(const struct args *a)
{
	char from[32], to[32];
	struct findings_limits lim;
	if (!quarter_bounds(a->pos[0], from, to)) {
		fprintf(stderr, "hoursctl: report quarterly: \"%s\" is not a quarter (2026Q3)\n",
			a->pos[0]);
		return 2;
	}
	if (a->opt[0] == NULL) {
		fprintf(stderr, "hoursctl: report quarterly: missing --out DIR\n");
		return 2;
	}
	if (!findings_limits(&lim))
		return 1;
	PGconn *c = conn();
	return c ? report_quarterly(c, a->pos[0], a->opt[0], &lim, stdout) : 1;
}

static int run_report_import_police(const struct args *a)
{
	/* The file is looked at before the database is reached. */
	if (access(a->pos[0], R_OK) != 0) {
		fprintf(stderr, "hoursctl: report import-police: cannot read %s: %s\n", a->pos[0],
			strerror(errno));
		return 1;
	}
	PGconn *c = conn();
	return c ? report_import_police(c, a->pos[0], stdout) : 1;
}

/* ---- students (students.c) ---- */

/* rules.legacy_cutoff of the configuration given with -c, else its default. */
static const char *legacy_cutoff(void)
{
	static char cut[16] = "2023-05-25";
	if (opt_config) {
		char err[512];
		struct hconf *c = conf_load(opt_config, err, sizeof(err));
		if (c == NULL) {
			fprintf(stderr, "%s\n", err);
			return NULL;
		}
		snprintf(cut, sizeof(cut), "%s", c->legacy_cutoff);
		conf_free(c);
	}
	return cut;
}

static int run_student_add(const struct args *a)
{
	struct student_fields f = {.student_no = a->pos[0],
				   .school = a->opt[0],
				   .vehicle_class = a->opt[1],
				   .enrolled_on = a->opt[2],
				   .id_card = a->opt[3],
				   .pre_entered_on = a->opt[5] ? a->opt[5] : a->opt[4],
				   .legacy = a->opt[4] != NULL};
	if (f.school == NULL || f.vehicle_class == NULL || f.enrolled_on == NULL) {
		fprintf(stderr, "hoursctl: student add: --school, --class and --enrolled are "
				"required\n");
		return 2;
	}
	if (a->opt[4] && a->opt[5]) {
		fprintf(stderr, "hoursctl: student add: --legacy DATE is the pre-entry date; "
				"--pre-entered is for a student who is not legacy\n");
		return 2;
	}
	return students_add(conn, &f);
}

static int run_student_import(const struct args *a)
{
	return students_import(conn, a->pos[0]);
}

static int run_student_list(const struct args *a)
{
	return students_list(conn, a->opt[0]);
}

static int run_student_show(const struct args *a)
{
	return students_show(conn, a->pos[0]);
}

static int run_schedule_add(const struct args *a)
{
	if (a->opt[0] == NULL || a->opt[1] == NULL || a->opt[2] == NULL || a->opt[3] == NULL) {
		fprintf(stderr, "hoursctl: schedule add: --coach, --vehicle, --from and --to are "
				"required\n");
		return 2;
	}
	return schedule_add(conn, a->pos[0], a->opt[0], a->opt[1], a->opt[2], a->opt[3]);
}

static int run_schedule_import(const struct args *a)
{
	return schedule_import(conn, a->pos[0]);
}

static int run_schedule_list(const struct args *a)
{
	return schedule_list(conn, a->opt[0], a->opt[1]);
}

static int run_backfill_import(const struct args *a)
{
	const char *cut = legacy_cutoff();
	return cut ? backfill_import(conn, a->pos[0], a->opt[0], cut) : 1;
}

static int run_backfill_decide(const struct args *a)
{
	return backfill_decide(conn, a->pos[0], strcmp(a->sub, "approve") == 0, a->opt[0],
			       a->opt[1]);
}

static int run_backfill_list(const struct args *a)
{
	return backfill_list(conn, a->opt[0]);
}

static int run_backfill_show(const struct args *a)
{
	return backfill_show(conn, a->pos[0]);
}

struct verb {
	const char *word;	    /* "terminal" */
	const char *sub;	    /* "add", "disable|enable"; NULL: a command of one word */
	const char *params;	    /* the positionals as the usage names them, optional in [] */
	const char *opts[MAX_OPTS]; /* the options it takes, each with a value */
	int (*run)(const struct args *a);
	const char *usage; /* its lines of the usage, as the help prints them */
};

/* clang-format off */
static const struct verb verbs[] = {
	{"migrate", NULL, "", {"--dir"}, run_migrate,
	 "  migrate [--dir DIR]              apply the numbered migrations (NNN_NAME.sql)\n"
	 "                                   of DIR that the database has not applied yet;\n"
	 "                                   without --dir: the sql/ of the source tree when\n"
	 "                                   this hoursctl runs from its build directory,\n"
	 "                                   else " HOURSD_SQLDIR "\n"},
	{"terminal", "add", "NUMBER",
	 {"--cert", "--p12", "--p12-pass", "--sign-cert", "--terminal-no", "--imei", "--serial"},
	 run_terminal_add,
	 "  terminal add NUMBER (--cert FILE | --p12 FILE --p12-pass PASS)\n"
	 "               [--sign-cert FILE] [--terminal-no NO] [--imei IMEI] [--serial S]\n"
	 "                                   provision a terminal: its TLS certificate\n"
	 "                                   (--cert), or the PKCS#12 the national CA\n"
	 "                                   issued it (--p12: handed out at registration,\n"
	 "                                   its certificate checks the terminal's\n"
	 "                                   signatures), the certificate it signs with\n"
	 "                                   (default: the P12's, else the TLS one), its\n"
	 "                                   16-character timing number, and the IMEI and\n"
	 "                                   factory serial its registration must match;\n"
	 "                                   NUMBER (1-20 digits) is kept without leading\n"
	 "                                   zeros (013800000001 as 13800000001), as\n"
	 "                                   terminals pad it differently; every command\n"
	 "                                   takes either form\n"},
	{"terminal", "list", "", {NULL}, run_terminal_list,
	 "  terminal list                    list terminals (numbers without leading zeros),\n"
	 "                                   with records sent unsigned and records whose\n"
	 "                                   signature failed\n"},
	{"terminal", "quirk", "NUMBER escaped-sums|rsa-raw on|off", {NULL}, run_terminal_quirk,
	 "  terminal quirk NUMBER escaped-sums|rsa-raw on|off\n"
	 "                                   a device fault to accept from one terminal:\n"
	 "                                   length and check code over the escaped bytes;\n"
	 "                                   unpadded RSA signatures (docs/protocol.md)\n"},
	{"terminal", "fetch-records", "NUMBER", {"--from", "--to", "--count", "--expires"},
	 terminal_fetch_records,
	 "  terminal fetch-records NUMBER --from TS --to TS [--count N] [--expires S]\n"
	 "                                   ask the terminal to upload its records of\n"
	 "                                   that time again (0x8205; TS as PostgreSQL\n"
	 "                                   reads it, with its zone: '2026-11-30 08:00+08')\n"},
	{"terminal", "photo", "NUMBER", {"--channel", "--size", "--expires"}, terminal_photo,
	 "  terminal photo NUMBER [--channel N] [--size N] [--expires S]\n"
	 "                                   ask the terminal to take a photo now (0x8301)\n"},
	{"terminal", "ban", "NUMBER on|off", {"--message", "--expires"}, terminal_ban,
	 "  terminal ban NUMBER on|off [--message TEXT] [--expires S]\n"
	 "                                   stop or allow training on the terminal (0x8502)\n"},
	{"terminal", "commands", "[NUMBER]", {NULL}, run_terminal_commands,
	 "  terminal commands [NUMBER]       the commands queued, sent and answered; a\n"
	 "                                   command waits for its terminal to authenticate\n"
	 "                                   on some hoursd, S seconds at most (default 1 day)\n"},
	{"terminal", "disable|enable", "NUMBER", {NULL}, run_terminal_status,
	 "  terminal disable|enable NUMBER   stop or allow a terminal's uploads\n"},
	{"terminal", "assign", "NUMBER SCHOOL_CODE", {NULL}, run_terminal_assign,
	 "  terminal assign NUMBER SCHOOL_CODE\n"
	 "                                   the school whose sites the terminal's minutes\n"
	 "                                   are checked against\n"},
	{"school", "add", "CODE NAME", {"--district"}, run_school_add,
	 "  school add CODE NAME [--district D]\n"
	 "                                   add a school (or rename it); D: the district\n"
	 "                                   whose district auditors see it\n"},
	{"school", "set-district", "CODE DISTRICT|none", {NULL}, run_school_set_district,
	 "  school set-district CODE DISTRICT|none\n"
	 "                                   the district whose district auditors see the\n"
	 "                                   school (none: no district)\n"},
	{"school", "list", "", {NULL}, run_school_list,
	 "  school list                      list schools\n"},
	{"site", "import", "SCHOOL_CODE SITE_NAME FILE.geojson", {"--kind"}, run_site_import,
	 "  site import SCHOOL_CODE SITE_NAME FILE.geojson [--kind field|road]\n"
	 "                                   validate and store a training site; the same\n"
	 "                                   name again replaces it (kind default: field,\n"
	 "                                   or the stored one)\n"},
	{"site", "list", "[SCHOOL_CODE]", {NULL}, run_site_list,
	 "  site list [SCHOOL_CODE]          list training sites\n"},
	{"student", "held", "STUDENT CLASS|none", {NULL}, run_student_held,
	 "  student held STUDENT CLASS|none  the licence the student already holds: adding\n"
	 "                                   a class, the syllabus's reduced figures apply\n"},
	{"student", "add", "STUDENT", {"--school", "--class", "--enrolled", "--id-card", "--legacy",
				      "--pre-entered"}, run_student_add,
	 "  student add STUDENT --school CODE --class C1 --enrolled DATE [--id-card NO]\n"
	 "              [--legacy PRE_ENTRY_DATE | --pre-entered DATE]\n"
	 "                                   enrol a student (the 16-character national\n"
	 "                                   number; dates YYYY-MM-DD); --legacy: pre-entered\n"
	 "                                   on the police platform on that date, before\n"
	 "                                   the terminals (back-filled hours, docs/students.md)\n"},
	{"student", "import", "FILE.csv", {NULL}, run_student_import,
	 "  student import FILE.csv          enrol the students of a CSV (columns student_no,\n"
	 "                                   school, class, enrolled_on [, id_card, legacy,\n"
	 "                                   pre_entered_on]): every good row stored, each bad\n"
	 "                                   one reported as FILE:LINE: reason (exit 1);\n"
	 "                                   importing the file again changes nothing\n"},
	{"student", "list", "", {"--school"}, run_student_list,
	 "  student list [--school CODE]     the students enrolled, with today's slots and\n"
	 "                                   their back-fill forms\n"},
	{"student", "show", "STUDENT", {NULL}, run_student_show,
	 "  student show STUDENT             one student's enrolment and schedule\n"},
	{"schedule", "add", "STUDENT", {"--coach", "--vehicle", "--from", "--to"}, run_schedule_add,
	 "  schedule add STUDENT --coach NO --vehicle PLATE --from TIME --to TIME\n"
	 "                                   a slot: the student trains with that coach in\n"
	 "                                   that vehicle then (TIME: 'YYYY-MM-DD HH:MM',\n"
	 "                                   China Standard Time); a student login outside\n"
	 "                                   every slot is refused or flagged (rules.schedule)\n"},
	{"schedule", "import", "FILE.csv", {NULL}, run_schedule_import,
	 "  schedule import FILE.csv         the slots of a CSV (columns student_no, coach_no,\n"
	 "                                   plate, starts_at, ends_at), reported as student\n"
	 "                                   import is; again changes nothing\n"},
	{"schedule", "list", "", {"--student", "--day"}, run_schedule_list,
	 "  schedule list [--student S] [--day DATE]\n"
	 "                                   the slots (DATE: YYYY-MM-DD, UTC+8)\n"},
	{"backfill", "import", "FORM", {"--scan"}, run_backfill_import,
	 "  backfill import FORM [--scan FILE]\n"
	 "                                   a legacy student's three-party form (JSON, or a\n"
	 "                                   CSV of forms) with its scanned paper form (PDF,\n"
	 "                                   PNG or JPEG: the form's \"scan\", or --scan\n"
	 "                                   for a JSON form);\n"
	 "                                   refused with the reason, nothing stored, unless\n"
	 "                                   the student is legacy and pre-entered before\n"
	 "                                   rules.legacy_cutoff (of -c FILE; default\n"
	 "                                   2023-05-25), the minutes are within the\n"
	 "                                   syllabus's for the part, and the form is new\n"},
	{"backfill", "approve|reject", "FORM", {"--by", "--note"}, run_backfill_decide,
	 "  backfill approve|reject FORM --by NAME [--note TEXT]\n"
	 "                                   a supervisor's decision, once per form (a\n"
	 "                                   rejection needs --note); an approved form\n"
	 "                                   counts toward its part from the judge's next\n"
	 "                                   batch, and a part it completes is pushed marked\n"
	 "                                   back-filled\n"},
	{"backfill", "list", "", {"--state"}, run_backfill_list,
	 "  backfill list [--state S]        the forms (S: pending, approved, rejected)\n"},
	{"backfill", "show", "FORM", {NULL}, run_backfill_show,
	 "  backfill show FORM               one form as entered, its scan's SHA-256, its\n"
	 "                                   packet and every step with who and when\n"},
	{"explain", NULL, "STUDENT", {"--pdf", "--part"}, run_explain,
	 "  explain STUDENT                  progress per part, the practice mileage and the\n"
	 "                                   licence held, the back-filled forms beside the\n"
	 "                                   terminals' minutes, and every minute that did not\n"
	 "                                   count with its reason (exit 1: no such student)\n"
	 "  explain STUDENT --pdf FILE [--part N]\n"
	 "                                   the teaching log (电子教学日志) of part N (default:\n"
	 "                                   the part last counted) as the PDF the national\n"
	 "                                   push profile uploads: school, student, lessons\n"
	 "                                   with coach, vehicle, times, minutes and photos'\n"
	 "                                   SHA-256, totals, back-filled forms\n"},
	{"recompute", NULL, "[STUDENT]", {NULL}, run_recompute,
	 "  recompute [STUDENT]              derive progress again from the stored records\n"
	 "                                   and report any difference (exit 1 if some)\n"},
	{"findings", NULL, "", {"--school", "--from", "--to", "--format"}, run_findings,
	 "  findings [--school CODE] [--from TS] [--to TS] [--format text|csv|json]\n"
	 "                                   the notice's violations found in the data,\n"
	 "                                   each with the rows that show it: minutes\n"
	 "                                   missing from lessons, parts met without all\n"
	 "                                   their subjects, signature, conflict and time\n"
	 "                                   anomalies per terminal and vendor, off-site\n"
	 "                                   minutes per school and coach, a coach in two\n"
	 "                                   places or over a day's load, low face-match\n"
	 "                                   confidence, vehicles without a terminal,\n"
	 "                                   silent terminals, a low share of real-time\n"
	 "                                   uploads; thresholds: findings.* of -c FILE\n"
	 "                                   (else their defaults); TS as PostgreSQL reads\n"
	 "                                   it ('2026-07-01 00:00+08'); exit 0 whatever\n"
	 "                                   is found (docs/audit.md)\n"},
	{"report", "quarterly", "QUARTER", {"--out"}, run_report_quarterly,
	 "  report quarterly QUARTER --out DIR\n"
	 "                                   the joint report of QUARTER (2026Q3) into DIR:\n"
	 "                                   supervision-Q.json and .csv (per school its\n"
	 "                                   coaches, vehicles, training grounds and the\n"
	 "                                   quarter's findings, for the police) and\n"
	 "                                   quality-Q.csv and .html (the public table of\n"
	 "                                   training quality, with charts)\n"},
	{"report", "import-police", "FILE", {NULL}, run_report_import_police,
	 "  report import-police FILE        the police's figures per school from CSV:\n"
	 "                                   quarter,school_code,exam_pass_rate,\n"
	 "                                   violation_rate,accident_rate; bad rows are\n"
	 "                                   said (FILE:LINE: reason) and skipped, the\n"
	 "                                   good ones stored (exit 1 if any was bad)\n"},
	{"role", "add", "KIND NAME", {"--district", "--password-file"}, role_add,
	 "  role add hoursd|auditor|district-auditor|liaison NAME [--district D]\n"
	 "           [--password-file F]\n"
	 "                                   a database login with the grants of its kind\n"
	 "                                   (docs/audit.md): hoursd appends, an auditor\n"
	 "                                   reads all but secrets, a district auditor the\n"
	 "                                   schools of district D only, the liaison what\n"
	 "                                   was pushed; F's first line is its password\n"},
	{"audit", "verify", "", {"--from", "--to", "--school", "--key", "--witness"},
	 run_audit_verify,
	 "  audit verify [--from TS] [--to TS] [--school CODE] [--key FILE] [--witness FILE]\n"
	 "                                   re-walk the hash chain against the signed\n"
	 "                                   checkpoints (FILE: the checkpoint key or its\n"
	 "                                   public half, default audit.checkpoint_key of\n"
	 "                                   -c), every row against its link, each record's\n"
	 "                                   terminal signature from its raw bytes, progress\n"
	 "                                   against the records; a line per discrepancy\n"
	 "                                   (exit 1 if any); --witness: a file of audit\n"
	 "                                   checkpoints --export to hold the database to\n"},
	{"audit", "checkpoints", "", {"--export"}, run_audit_checkpoints,
	 "  audit checkpoints [--export FILE]\n"
	 "                                   the signed checkpoints of the chain; --export\n"
	 "                                   writes them to FILE, a witness kept outside\n"
	 "                                   the database\n"},
	{"push", "list", "", {"--state"}, run_push_list,
	 "  push list [--state S]            the push outbox (S: pending, sending, done,\n"
	 "                                   failed), oldest first\n"},
	{"push", "show", "ID", {NULL}, run_push_show,
	 "  push show ID                     one packet: its body as sent and every attempt\n"
	 "                                   with status, latency, outcome and answer\n"},
	{"push", "retry", "ID", {NULL}, run_push_retry,
	 "  push retry ID                    re-drive a failed packet: pending now, same\n"
	 "                                   packet id, its maximum age counted anew\n"},
};
/* clang-format on */

static const char usage_head[] = "usage: hoursctl [-c FILE | -d CONNINFO] COMMAND [ARGS]\n";

static void usage(FILE *f)
{
	fprintf(f, "%s", usage_head);
	fprintf(f,
		"       hoursctl help [COMMAND [SUBCOMMAND]]   (or COMMAND [SUBCOMMAND] --help)\n"
		"       hoursctl --help | --version\n"
		"The database: -d CONNINFO (a libpq connection string), else database.conninfo\n"
		"of the hoursd configuration FILE (-c), else $HOURSD_DB; it is reached only\n"
		"once the arguments are valid.  Exit status: 0 done, 1 failed, 2 usage error.\n"
		"Commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		fprintf(f, "%s", verbs[i].usage);
}

/* Whether s is one of the alternatives of subs ("disable|enable"). */
static bool sub_is(const char *subs, const char *s)
{
	size_t n = strlen(s);
	for (const char *p = subs; p; p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL)
		if (strncmp(p, s, n) == 0 && (p[n] == '\0' || p[n] == '|'))
			return true;
	return false;
}

/* "add, list, ...": the commands, or the subcommands of word, as a list for a message. */
static const char *names_of(const char *word)
{
	static char buf[512];
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(verbs) && len < sizeof(buf); i++) {
		const char *name = word ? verbs[i].sub : verbs[i].word;
		bool again = !word && i > 0 && strcmp(verbs[i - 1].word, name) == 0;
		if (again || (word && strcmp(verbs[i].word, word) != 0))
			continue;
		/* "disable|enable" is two names */
		for (const char *p = name; *p && len < sizeof(buf); p += *p == '|') {
			int n = (int)strcspn(p, "|");
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%.*s",
						len ? ", " : "", n, p);
			p += n;
		}
	}
	return buf;
}

/*
 * The verb that words name: its index in verbs[], and in *used how many
 * words named it (1 or 2).  -1 (said) when there is none; -2 when only
 * the command of a group was given (word is words[0]), which help may
 * print and a run may not.
 */
static int find_verb(int n, char **words, int *used)
{
	size_t i = 0;
	while (i < ARRAY_SIZE(verbs) && strcmp(verbs[i].word, words[0]) != 0)
		i++;
	if (i == ARRAY_SIZE(verbs)) {
		fprintf(stderr, "hoursctl: unknown command \"%s\" (%s)\n", words[0],
			names_of(NULL));
		return -1;
	}
	*used = 1;
	if (verbs[i].sub == NULL)
		return (int)i;
	if (n < 2 || words[1][0] == '-')
		return -2;
	for (size_t k = i; k < ARRAY_SIZE(verbs) && strcmp(verbs[k].word, words[0]) == 0; k++)
		if (sub_is(verbs[k].sub, words[1])) {
			*used = 2;
			return (int)k;
		}
	fprintf(stderr, "hoursctl: %s: unknown subcommand \"%s\" (%s)\n", words[0], words[1],
		names_of(words[0]));
	return -1;
}

/* The usage lines of one verb, or of every verb of a group (k < 0: of word). */
static void usage_of(FILE *f, int k, const char *word)
{
	fprintf(f, "%s", usage_head);
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		if (k >= 0 ? i == (size_t)k : strcmp(verbs[i].word, word) == 0)
			fprintf(f, "%s", verbs[i].usage);
}

/* hoursctl help [COMMAND [SUBCOMMAND]] */
static int cmd_help(int n, char **words)
{
	int used = 0;
	if (n == 0) {
		usage(stdout);
		return 0;
	}
	int k = find_verb(n, words, &used);
	if (k == -1)
		return 2;
	if (k == -2 && n > 1) {
		fprintf(stderr, "hoursctl: help: %s: unknown subcommand \"%s\" (%s)\n", words[0],
			words[1], names_of(words[0]));
		return 2;
	}
	if (n > used && k != -2) {
		fprintf(stderr, "hoursctl: help: unexpected \"%s\"\n", words[used]);
		return 2;
	}
	usage_of(stdout, k, words[0]);
	return 0;
}

/* The i-th name of params ("NUMBER SCHOOL_CODE", "[STUDENT]"), brackets off. */
static const char *param_name(const char *params, int i, char *buf, size_t len)
{
	const char *p = params;
	for (; i > 0 && p; i--)
		p = strchr(p, ' ') ? strchr(p, ' ') + 1 : NULL;
	if (p == NULL)
		return "";
	p += *p == '[';
	size_t n = strcspn(p, " ]");
	snprintf(buf, len, "%.*s", (int)n, p);
	return buf;
}

/* How many positionals params names, and how many of them are required. */
static void param_counts(const char *params, int *min, int *max)
{
	*min = *max = 0;
	for (const char *p = params; *p; p = strchr(p, ' ') ? strchr(p, ' ') + 1 : "") {
		(*max)++;
		*min += *p != '[';
	}
}

/* A terminal number as the commands take it: 1-20 digits, leading zeros or not. */
static bool valid_number(const char *name, const char *s)
{
	size_t n = strlen(s);
	if (n >= 1 && n <= 20 && strspn(s, "0123456789") == n)
		return true;
	fprintf(stderr, "hoursctl: %s: NUMBER \"%s\" is not a terminal number (1-20 digits)\n",
		name, s);
	return false;
}

/*
 * Check the words after the verb's against it: its options, each once
 * and with a value; as many positionals as it names; a terminal NUMBER
 * of digits.  False (said in one line) otherwise; *help on --help / -h.
 */
static bool parse_args(const struct verb *v, const char *name, int argc, char **argv,
		       struct args *a, bool *help)
{
	int min, max, npos = 0;
	char pbuf[64];
	param_counts(v->params, &min, &max);
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i];
		if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
			*help = true;
			return true;
		}
		if (s[0] != '-' || s[1] == '\0') {
			if (npos == max) {
				fprintf(stderr, "hoursctl: %s: unexpected argument \"%s\"\n", name,
					s);
				return false;
			}
			a->pos[npos++] = s;
			continue;
		}
		size_t k = 0;
		while (k < MAX_OPTS && v->opts[k] && strcmp(v->opts[k], s) != 0)
			k++;
		if (k == MAX_OPTS || v->opts[k] == NULL) {
			char list[256] = "";
			for (size_t j = 0; j < MAX_OPTS && v->opts[j]; j++)
				snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
					 j ? ", " : "", v->opts[j]);
			fprintf(stderr, "hoursctl: %s: unknown option %s (%s%s)\n", name, s,
				list[0] ? "it takes " : "it takes none", list);
			return false;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "hoursctl: %s: %s needs a value\n", name, s);
			return false;
		}
		if (a->opt[k]) {
			fprintf(stderr, "hoursctl: %s: %s given twice\n", name, s);
			return false;
		}
		a->opt[k] = argv[++i];
	}
	if (npos < min) {
		fprintf(stderr, "hoursctl: %s: missing %s\n", name,
			param_name(v->params, npos, pbuf, sizeof(pbuf)));
		return false;
	}
	for (int i = 0; i < npos; i++)
		if (strcmp(param_name(v->params, i, pbuf, sizeof(pbuf)), "NUMBER") == 0 &&
		    !valid_number(name, a->pos[i]))
			return false;
	return true;
}

/* A command line's words from COMMAND on: checked, then run (or its help printed). */
static int dispatch(int n, char **words)
{
	int used = 0;
	int k = find_verb(n, words, &used);
	if (k == -1)
		return 2;
	if (k == -2) {
		if (n >= 2 && (strcmp(words[1], "--help") == 0 || strcmp(words[1], "-h") == 0)) {
			usage_of(stdout, -1, words[0]);
			return 0;
		}
		if (n >= 2)
			fprintf(stderr, "hoursctl: %s: \"%s\": a subcommand first (%s)\n", words[0],
				words[1], names_of(words[0]));
		else
			fprintf(stderr, "hoursctl: %s: missing subcommand (%s)\n", words[0],
				names_of(words[0]));
		return 2;
	}
	const struct verb *v = &verbs[k];
	char name[64];
	snprintf(name, sizeof(name), "%s%s%s", v->word, used == 2 ? " " : "",
		 used == 2 ? words[1] : "");
	struct args a = {.sub = used == 2 ? words[1] : NULL};
	bool help = false;
	if (!parse_args(v, name, n - used, words + used, &a, &help))
		return 2;
	if (help) {
		usage_of(stdout, k, NULL);
		return 0;
	}
	return v->run(&a);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int o;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "+c:d:hV", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			opt_config = optarg;
			break;
		case 'd':
			opt_dsn = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("hoursctl (hoursd) %s\n", HOURSD_VERSION);
			return 0;
		default:
			if (optopt == 'c' || optopt == 'd')
				fprintf(stderr, "hoursctl: -%c needs a value\n", optopt);
			else if (optopt)
				fprintf(stderr,
					"hoursctl: unknown option -%c (see hoursctl --help)\n",
					optopt);
			else
				fprintf(stderr,
					"hoursctl: unknown option %s (see hoursctl --help)\n",
					argv[optind - 1]);
			return 2;
		}
	}
	if (opt_config && opt_dsn) {
		fprintf(stderr, "hoursctl: -c and -d: give one of them\n");
		return 2;
	}
	if (optind >= argc) {
		fprintf(stderr, "hoursctl: missing COMMAND (%s; hoursctl --help for more)\n",
			names_of(NULL));
		return 2;
	}
	int n = argc - optind;
	char **words = argv + optind;
	if (strcmp(words[0], "help") == 0)
		return cmd_help(n - 1, words + 1);
	int rc = dispatch(n, words);
	if (db_rc)
		rc = db_rc;
	PQfinish(db);
	return rc;
}
