/*
 * hoursctl.c - the operators' command line.
 *
 *   hoursctl [-c FILE | -d CONNINFO] migrate [--dir DIR]
 *   hoursctl ... terminal add NUMBER (--cert FILE | --p12 FILE --p12-pass PASS) [--sign-cert FILE]
 *                [--terminal-no NO] [--imei IMEI] [--serial SERIAL]
 *   hoursctl ... terminal list
 *   hoursctl ... terminal quirk NUMBER escaped-sums|rsa-raw on|off
 *   hoursctl ... terminal fetch-records NUMBER --from TS --to TS [--count N] [--expires S]
 *   hoursctl ... terminal photo NUMBER [--channel N] [--size N] [--expires S]
 *   hoursctl ... terminal ban NUMBER on|off [--message TEXT] [--expires S]
 *   hoursctl ... terminal commands [NUMBER]
 *   hoursctl ... terminal disable|enable NUMBER
 *   hoursctl ... terminal assign NUMBER SCHOOL_CODE
 *   hoursctl ... school add CODE NAME
 *   hoursctl ... school list
 *   hoursctl ... site import SCHOOL_CODE SITE_NAME FILE.geojson [--kind field|road]
 *   hoursctl ... site list [SCHOOL_CODE]
 *   hoursctl ... explain STUDENT
 *   hoursctl ... recompute [STUDENT]
 *   hoursctl ... push list [--state S]
 *   hoursctl ... push show ID
 *   hoursctl ... push retry ID
 *
 * The connection string comes from -d, else $HOURSD_DB, else the
 * database.conninfo of the config file given with -c.  Short-lived and
 * synchronous: blocking libpq is right here.
 */
#include "hoursd.h"
#include "audit.h"
#include "conf.h"
#include "geo.h"
#include "log.h"
#include "ingest.h"
#include "db.h"
#include "jtx.h"
#include "queries.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <iconv.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <unistd.h>

#ifndef HOURSD_SQLDIR
#define HOURSD_SQLDIR "/usr/local/share/hoursd/sql"
#endif

static PGconn *db;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hoursctl [-c FILE | -d CONNINFO] COMMAND\n"
		"  migrate [--dir DIR]              apply the numbered migrations in DIR\n"
		"  terminal add NUMBER (--cert FILE | --p12 FILE --p12-pass PASS)\n"
		"               [--sign-cert FILE] [--terminal-no NO] [--imei IMEI] [--serial S]\n"
		"                                   provision a terminal: its TLS certificate\n"
		"                                   (--cert), or the PKCS#12 the national CA\n"
		"                                   issued it (--p12: handed out at registration,\n"
		"                                   its certificate checks the terminal's\n"
		"                                   signatures), the certificate it signs with\n"
		"                                   (default: the P12's, else the TLS one), its\n"
		"                                   16-character timing number, and the IMEI and\n"
		"                                   factory serial its registration must match\n"
		"  terminal list                    list terminals, with records sent unsigned\n"
		"                                   and records whose signature failed\n"
		"  terminal quirk NUMBER escaped-sums|rsa-raw on|off\n"
		"                                   a device fault to accept from one terminal:\n"
		"                                   length and check code over the escaped bytes;\n"
		"                                   unpadded RSA signatures (docs/protocol.md)\n"
		"  terminal fetch-records NUMBER --from TS --to TS [--count N] [--expires S]\n"
		"                                   ask the terminal to upload its records of\n"
		"                                   that time again (0x8205; TS as PostgreSQL\n"
		"                                   reads it, with its zone: '2026-11-30 08:00+08')\n"
		"  terminal photo NUMBER [--channel N] [--size N] [--expires S]\n"
		"                                   ask the terminal to take a photo now (0x8301)\n"
		"  terminal ban NUMBER on|off [--message TEXT] [--expires S]\n"
		"                                   stop or allow training on the terminal (0x8502)\n"
		"  terminal commands [NUMBER]       the commands queued, sent and answered; a\n"
		"                                   command waits for its terminal to authenticate\n"
		"                                   on some hoursd, S seconds at most (default 1 day)\n"
		"  terminal disable|enable NUMBER   stop or allow a terminal's uploads\n"
		"  terminal assign NUMBER SCHOOL_CODE\n"
		"                                   the school whose sites the terminal's minutes\n"
		"                                   are checked against\n"
		"  school add CODE NAME             add a school (or rename it)\n"
		"  school list                      list schools\n"
		"  site import SCHOOL_CODE SITE_NAME FILE.geojson [--kind field|road]\n"
		"                                   validate and store a training site; the same\n"
		"                                   name again replaces it (kind default: field,\n"
		"                                   or the stored one)\n"
		"  site list [SCHOOL_CODE]          list training sites\n"
		"  student held STUDENT CLASS|none  the licence the student already holds: adding\n"
		"                                   a class, the syllabus's reduced figures apply\n"
		"  explain STUDENT                  progress per part, the practice mileage and the\n"
		"                                   licence held, and every minute that did not\n"
		"                                   count with its reason\n"
		"  recompute [STUDENT]              derive progress again from the stored records\n"
		"                                   and report any difference (exit 1 if some)\n"
		"  push list [--state S]            the push outbox (S: pending, sending, done,\n"
		"                                   failed), oldest first\n"
		"  push show ID                     one packet: its body as sent and every attempt\n"
		"                                   with status, latency, outcome and answer\n"
		"  push retry ID                    re-drive a failed packet: pending now, same\n"
		"                                   packet id, its maximum age counted anew\n");
}

static PGresult *query(const char *sql, int n, const char *const *values)
{
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

static int cmd_migrate(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL) {
		fprintf(stderr, "hoursctl: cannot open migration directory %s\n", dir);
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
	qsort(names, n, sizeof(names[0]), cmp_names);
	/* One migrator at a time, whatever the number of hosts. */
	bool ok = exec_ok(sql_migrate_lock, 0, NULL) && exec_ok(sql_migrate_create_table, 0, NULL);
	unsigned count = 0;
	for (size_t i = 0; ok && i < n; i++) {
		bool applied;
		ok = exec_ok(sql_migrate_begin, 0, NULL) && apply_one(dir, names[i], &applied);
		ok = ok && exec_ok(sql_migrate_commit, 0, NULL);
		if (!ok)
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
	return 0;
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

static bool terminal_opts_valid(const char *number, const struct terminal_opts *o)
{
	if (strspn(number, "0123456789") != strlen(number) || strlen(number) == 0 ||
	    strlen(number) > 20) {
		fprintf(stderr, "hoursctl: terminal number must be 1-20 digits\n");
		return false;
	}
	if (o->terminal_no && !valid_terminal_no(o->terminal_no)) {
		fprintf(stderr, "hoursctl: --terminal-no must be 16 printable ASCII characters\n");
		return false;
	}
	if (!o->cert && !o->p12) {
		fprintf(stderr, "hoursctl: terminal add needs --cert or --p12\n");
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
	if (!terminal_opts_valid(number, o))
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

/* Options NAME VALUE pairs from argv[from]; false (said) on one not in names. */
static bool take_options(int argc, char **argv, int from, const char *const *names,
			 const char **values, size_t n)
{
	for (int i = from; i < argc; i += 2) {
		size_t k = 0;
		while (k < n && strcmp(argv[i], names[k]) != 0)
			k++;
		if (k == n || i + 1 >= argc) {
			fprintf(stderr, "hoursctl: %s: %s\n", argv[i],
				k == n ? "unknown option" : "needs a value");
			return false;
		}
		values[k] = argv[i + 1];
	}
	return true;
}

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

static int terminal_fetch_records(int argc, char **argv)
{
	static const char *const names[] = {"--from", "--to", "--count", "--expires"};
	const char *v[4] = {NULL, NULL, "65535", NULL};
	unsigned long count, expires = EXPIRES_DEFAULT_S;
	struct jtx_command c = {.query_mode = JTX_QUERY_BY_TIME};
	if (!take_options(argc, argv, 2, names, v, 4))
		return 2;
	if (!v[0] || !v[1]) {
		fprintf(stderr, "hoursctl: terminal fetch-records needs --from and --to\n");
		return 2;
	}
	if (!option_uint("--count", v[2], 1, 65535, &count) ||
	    (v[3] && !option_uint("--expires", v[3], 1, EXPIRES_MAX_S, &expires)))
		return 2;
	if (!parse_time("--from", v[0], &c.from) || !parse_time("--to", v[1], &c.to))
		return 2;
	if (c.to < c.from) {
		fprintf(stderr, "hoursctl: --to is before --from\n");
		return 2;
	}
	c.count = (uint16_t)count;
	return queue_command(argv[1], "fetch_records", JTX_FETCH_RECORDS, &c, expires);
}

static int terminal_photo(int argc, char **argv)
{
	static const char *const names[] = {"--channel", "--size", "--expires"};
	const char *v[3] = {"0", "1", NULL};
	unsigned long channel, size, expires = EXPIRES_DEFAULT_S;
	if (!take_options(argc, argv, 2, names, v, 3) ||
	    !option_uint("--channel", v[0], 0, 255, &channel) ||
	    !option_uint("--size", v[1], 0, 255, &size) ||
	    (v[2] && !option_uint("--expires", v[2], 1, EXPIRES_MAX_S, &expires)))
		return 2;
	struct jtx_command c = {
		.upload_mode = 1, .channel = (uint8_t)channel, .size_code = (uint8_t)size};
	return queue_command(argv[1], "take_photo", JTX_TAKE_PHOTO, &c, expires);
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

static int terminal_ban(int argc, char **argv)
{
	static const char *const names[] = {"--message", "--expires"};
	const char *v[2] = {"", NULL};
	unsigned long expires = EXPIRES_DEFAULT_S;
	uint8_t msg[255];
	size_t len = 0;
	if (strcmp(argv[2], "on") != 0 && strcmp(argv[2], "off") != 0) {
		fprintf(stderr, "hoursctl: terminal ban NUMBER on|off\n");
		return 2;
	}
	if (!take_options(argc, argv, 3, names, v, 2) ||
	    (v[1] && !option_uint("--expires", v[1], 1, EXPIRES_MAX_S, &expires)) ||
	    !to_gbk(v[0], msg, sizeof(msg), &len))
		return 2;
	struct jtx_command c = {.ban_state = strcmp(argv[2], "on") == 0 ? JTX_BAN_ON : JTX_BAN_OFF,
				.message = {msg, (uint8_t)len}};
	return queue_command(argv[1], "training_ban", JTX_TRAINING_BAN, &c, expires);
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

static int cmd_terminal(int argc, char **argv)
{
	if (argc >= 1 && strcmp(argv[0], "list") == 0)
		return terminal_list();
	if (argc == 3 && strcmp(argv[0], "assign") == 0)
		return terminal_assign(argv[1], argv[2]);
	if (argc == 2 && strcmp(argv[0], "disable") == 0)
		return terminal_status(argv[1], "disabled");
	if (argc == 2 && strcmp(argv[0], "enable") == 0)
		return terminal_status(argv[1], "active");
	if (argc == 4 && strcmp(argv[0], "quirk") == 0)
		return terminal_quirk(argv[1], argv[2], argv[3]);
	if (argc >= 2 && strcmp(argv[0], "fetch-records") == 0)
		return terminal_fetch_records(argc, argv);
	if (argc >= 2 && strcmp(argv[0], "photo") == 0)
		return terminal_photo(argc, argv);
	if (argc >= 3 && strcmp(argv[0], "ban") == 0)
		return terminal_ban(argc, argv);
	if (argc <= 2 && argc >= 1 && strcmp(argv[0], "commands") == 0)
		return terminal_commands(argc == 2 ? argv[1] : NULL);
	if (argc >= 2 && argc % 2 == 0 && strcmp(argv[0], "add") == 0) {
		struct terminal_opts o = {0};
		static const struct {
			const char *name;
			size_t off;
		} names[] = {
			{"--cert", offsetof(struct terminal_opts, cert)},
			{"--sign-cert", offsetof(struct terminal_opts, sign_cert)},
			{"--terminal-no", offsetof(struct terminal_opts, terminal_no)},
			{"--p12", offsetof(struct terminal_opts, p12)},
			{"--p12-pass", offsetof(struct terminal_opts, p12_pass)},
			{"--imei", offsetof(struct terminal_opts, imei)},
			{"--serial", offsetof(struct terminal_opts, serial)},
		};
		bool ok = true;
		for (int i = 2; ok && i + 1 < argc; i += 2) {
			size_t k = 0;
			while (k < ARRAY_SIZE(names) && strcmp(argv[i], names[k].name) != 0)
				k++;
			ok = k < ARRAY_SIZE(names);
			if (ok)
				memcpy((char *)&o + names[k].off, &argv[i + 1], sizeof(char *));
			else
				fprintf(stderr, "hoursctl: terminal add: unknown option %s\n",
					argv[i]);
		}
		if (ok)
			return terminal_add(argv[1], &o);
	}
	usage(stderr);
	return 2;
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

static int school_add(const char *code, const char *name)
{
	if (!valid_label("school code", code, 64) || !valid_label("school name", name, 200))
		return 2;
	const char *v[2] = {code, name};
	PGresult *r = query(sql_school_add, 2, v);
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
	printf("%-20s %-5s %-9s %s\n", "code", "sites", "terminals", "name");
	for (int i = 0; i < PQntuples(r); i++)
		printf("%-20s %-5s %-9s %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 2),
		       PQgetvalue(r, i, 3), PQgetvalue(r, i, 1));
	PQclear(r);
	return 0;
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

static int cmd_student(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[0], "held") == 0)
		return student_held(argv[1], argv[2]);
	usage(stderr);
	return 2;
}

static int cmd_school(int argc, char **argv)
{
	if (argc == 1 && strcmp(argv[0], "list") == 0)
		return school_list();
	if (argc == 3 && strcmp(argv[0], "add") == 0)
		return school_add(argv[1], argv[2]);
	usage(stderr);
	return 2;
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

static int cmd_site(int argc, char **argv)
{
	if (argc >= 1 && argc <= 2 && strcmp(argv[0], "list") == 0)
		return site_list(argc == 2 ? argv[1] : NULL);
	if ((argc == 4 || argc == 6) && strcmp(argv[0], "import") == 0) {
		const char *kind = NULL;
		if (argc == 6) {
			kind = argv[5];
			if (strcmp(argv[4], "--kind") != 0 ||
			    (strcmp(kind, "field") != 0 && strcmp(kind, "road") != 0)) {
				fprintf(stderr, "hoursctl: --kind is field or road\n");
				return 2;
			}
		}
		return site_import(argv[1], argv[2], argv[3], kind);
	}
	usage(stderr);
	return 2;
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

static int cmd_push(int argc, char **argv)
{
	static const char *const states[] = {"pending", "sending", "done", "failed"};
	if (argc == 1 && strcmp(argv[0], "list") == 0)
		return push_list(NULL);
	if (argc == 3 && strcmp(argv[0], "list") == 0 && strcmp(argv[1], "--state") == 0) {
		for (size_t i = 0; i < ARRAY_SIZE(states); i++)
			if (strcmp(argv[2], states[i]) == 0)
				return push_list(argv[2]);
		fprintf(stderr, "hoursctl: --state is pending, sending, done or failed\n");
		return 2;
	}
	if (argc == 2 && strcmp(argv[0], "show") == 0)
		return push_show(argv[1]);
	if (argc == 2 && strcmp(argv[0], "retry") == 0)
		return push_retry(argv[1]);
	usage(stderr);
	return 2;
}

static const char *conninfo_from(const char *dsn, const char *config)
{
	static char buf[1024];
	if (dsn)
		return dsn;
	if (getenv("HOURSD_DB"))
		return getenv("HOURSD_DB");
	if (config == NULL)
		return NULL;
	char err[512];
	struct hconf *c = conf_load(config, err, sizeof(err));
	if (c == NULL) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	snprintf(buf, sizeof(buf), "%s", c->db_conninfo);
	conf_free(c);
	return buf;
}

int main(int argc, char **argv)
{
	const char *dsn = NULL, *config = NULL;
	int o;
	while ((o = getopt(argc, argv, "+c:d:h")) != -1) {
		switch (o) {
		case 'c':
			config = optarg;
			break;
		case 'd':
			dsn = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	const char *ci = conninfo_from(dsn, config);
	if (ci == NULL) {
		fprintf(stderr, "hoursctl: no database: give -d CONNINFO, -c FILE or $HOURSD_DB\n");
		return 2;
	}
	db = PQconnectdb(ci);
	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "hoursctl: cannot connect: %s", PQerrorMessage(db));
		PQfinish(db);
		return 1;
	}
	PQclear(PQexec(db, sql_session_warnings_only));
	int rc;
	const char *cmd = argv[optind];
	if (strcmp(cmd, "migrate") == 0) {
		const char *dir = HOURSD_SQLDIR;
		if (optind + 2 < argc && strcmp(argv[optind + 1], "--dir") == 0)
			dir = argv[optind + 2];
		else if (access("sql", R_OK | X_OK) == 0)
			dir = "sql";
		rc = cmd_migrate(dir);
	} else if (strcmp(cmd, "terminal") == 0) {
		rc = cmd_terminal(argc - optind - 1, argv + optind + 1);
	} else if (strcmp(cmd, "school") == 0) {
		rc = cmd_school(argc - optind - 1, argv + optind + 1);
	} else if (strcmp(cmd, "student") == 0) {
		rc = cmd_student(argc - optind - 1, argv + optind + 1);
	} else if (strcmp(cmd, "explain") == 0 && argc - optind == 2) {
		rc = audit_explain(db, argv[optind + 1], stdout);
	} else if (strcmp(cmd, "recompute") == 0 && argc - optind <= 2) {
		rc = audit_recompute(db, argc - optind == 2 ? argv[optind + 1] : NULL, stdout);
	} else if (strcmp(cmd, "site") == 0) {
		rc = cmd_site(argc - optind - 1, argv + optind + 1);
	} else if (strcmp(cmd, "push") == 0) {
		rc = cmd_push(argc - optind - 1, argv + optind + 1);
	} else {
		usage(stderr);
		rc = 2;
	}
	PQfinish(db);
	return rc;
}
