/*
 * terminals.c - hoursctl terminal add, list, quirk, disable|enable and
 * assign: a terminal's certificates (its TLS one, the PKCS#12 the
 * national CA issued it, the one it signs with), its numbers, its state.
 */
#include "hoursd.h"
#include "hoursctl.h"
#include "common/out.h"
#include "common/pgq.h"
#include "jt808.h"
#include "log.h"
#include "queries.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

struct cert_info {
	char number[21];
	char sha_hex[65];
	char not_after[32];
	char *pem;
};

/* The certificate's SHA-256 (hex) and the end of its validity, as the terminal row keeps them. */
static bool x509_facts(X509 *x, struct cert_info *ci)
{
	unsigned char md[32];
	unsigned mdlen = 0;
	struct tm tm;
	if (X509_digest(x, EVP_sha256(), md, &mdlen) != 1 || mdlen != 32 ||
	    ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1)
		return false;
	hex_encode(ci->sha_hex, md, 32);
	strftime(ci->not_after, sizeof(ci->not_after), "%Y-%m-%d %H:%M:%S+00", &tm);
	return true;
}

/* A PEM certificate: its facts, and its CN as the terminal number (require_cn: 1-20 digits). */
static bool cert_facts(const char *path, struct cert_info *ci, bool require_cn)
{
	ci->pem = check_read_file(path, NULL);
	if (ci->pem == NULL) {
		fprintf(stderr, "hoursctl: cannot read certificate %s\n", path);
		return false;
	}
	BIO *bio = BIO_new_mem_buf(ci->pem, -1);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (x == NULL) {
		fprintf(stderr, "hoursctl: %s is not a PEM certificate\n", path);
		return false;
	}
	char cn[64] = "";
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
	size_t len = strlen(cn);
	bool ok = !require_cn || (len >= 1 && len <= 20 && strspn(cn, "0123456789") == len);
	if (!ok)
		fprintf(stderr, "hoursctl: %s: subject CN \"%s\" is not a terminal number\n", path,
			cn);
	if (ok) {
		ok = x509_facts(x, ci);
		jt808_phone_norm(cn, ci->number);
	}
	X509_free(x);
	return ok;
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
	const char *cert, *sign_cert, *terminal_no, *p12, *p12_pass, *imei, *serial, *unbound;
};

/* The certificate in PEM, for the terminal row. */
static bool pem_of(X509 *x, struct cert_info *ci)
{
	BIO *mem = BIO_new(BIO_s_mem());
	char *data = NULL;
	long n = 0;
	bool ok = mem && PEM_write_bio_X509(mem, x) == 1 &&
		  (n = BIO_get_mem_data(mem, &data)) > 0 && (ci->pem = strndup(data, (size_t)n));
	BIO_free(mem);
	return ok;
}

/*
 * Open the PKCS#12 with its password and take its certificate (PEM, and
 * its facts) after checking that its key belongs to it.  *der gets the
 * file's bytes, as the registration answer hands them out.
 */
static bool p12_facts(const char *path, const char *pass, struct cert_info *ci, char **der,
		      size_t *der_len)
{
	*der = check_read_file(path, der_len);
	if (*der == NULL) {
		fprintf(stderr, "hoursctl: cannot read %s\n", path);
		return false;
	}
	const unsigned char *p = (const unsigned char *)*der;
	PKCS12 *p12 = d2i_PKCS12(NULL, &p, (long)*der_len);
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	bool ok = p12 && PKCS12_parse(p12, pass, &key, &x, NULL) == 1 && key && x &&
		  X509_check_private_key(x, key) == 1;
	if (!ok)
		fprintf(stderr,
			"hoursctl: %s: not a PKCS#12 that opens with the given password and holds a "
			"key with its certificate\n",
			path);
	ok = ok && pem_of(x, ci) && x509_facts(x, ci);
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
		fprintf(stderr,
			"hoursctl: --p12 and --p12-pass (or --p12-pass-file) go together\n");
		return false;
	}
	/*
	 * The registration hands the PKCS#12 and its password to a client that
	 * gives the number and matches what was provisioned: with nothing to
	 * match, to anyone who knows the number.
	 */
	if (o->p12 && !o->imei && !o->serial && !o->unbound) {
		fprintf(stderr, "hoursctl: terminal add --p12 needs --imei IMEI or --serial S "
				"(the registration hands the PKCS#12 out only to a terminal that "
				"matches them), or --unbound WHY to hand it to whoever gives the "
				"number\n");
		return false;
	}
	if (o->unbound && (!o->p12 || o->imei || o->serial)) {
		fprintf(stderr,
			"hoursctl: --unbound goes with --p12, without --imei and --serial\n");
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

/* What terminal add read from its files. */
struct add {
	struct cert_info tls, sig, p12;
	char *p12_der;
	size_t p12_len;
};

/* The files read and checked; false (said) otherwise. */
static bool add_read(const struct terminal_opts *o, const char *want, struct add *d)
{
	if (o->p12 && !p12_facts(o->p12, o->p12_pass, &d->p12, &d->p12_der, &d->p12_len))
		return false;
	if (o->cert && !cert_facts(o->cert, &d->tls, true))
		return false;
	if (o->cert && strcmp(d->tls.number, want) != 0) {
		fprintf(stderr, "hoursctl: the certificate names terminal %s, not %s\n",
			d->tls.number, want);
		return false;
	}
	/* The signing certificate: any key hoursd verifies; its CN is not checked. */
	return !o->sign_cert || cert_facts(o->sign_cert, &d->sig, false);
}

/*
 * The TLS certificate (--cert, its CN the terminal number), else the
 * PKCS#12's; the signing certificate: --sign-cert, else the PKCS#12's,
 * else the TLS one (NULL in the row).  A new certificate for a known
 * terminal replaces the old one; one statement.
 */
static int add_store(const char *number, const char *want, const struct terminal_opts *o,
		     const struct add *d)
{
	const struct cert_info *t = o->cert ? &d->tls : &d->p12;
	const struct cert_info *sg = o->sign_cert ? &d->sig : o->p12 && o->cert ? &d->p12 : NULL;
	unsigned char rnd[16];
	char code[33], *p12_hex = o->p12 ? malloc(2 * d->p12_len + 1) : NULL;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1 || (o->p12 && p12_hex == NULL)) {
		free(p12_hex);
		return 1;
	}
	hex_encode(code, rnd, sizeof(rnd));
	if (p12_hex)
		hex_encode(p12_hex, d->p12_der, d->p12_len);
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
	PGresult *r = pgq_query(sql_terminal_add, 13, v);
	free(p12_hex);
	if (r == NULL)
		return 1;
	printf("terminal %s %s (id %s, certificate sha256 %s, valid until %s%s%s%s)\n", want,
	       PQgetvalue(r, 0, TERMINAL_ADD_ADDED)[0] == 't' ? "added" : "updated",
	       PQgetvalue(r, 0, TERMINAL_ADD_ID), t->sha_hex, t->not_after,
	       sg ? "; signing certificate sha256 " : "", sg ? sg->sha_hex : "",
	       o->p12 ? "; PKCS#12 stored for registration" : "");
	if (strcmp(number, want) != 0)
		printf("  %s is kept as %s, without leading zeros: terminals pad their number "
		       "differently; every command takes either form\n",
		       number, want);
	PQclear(r);
	return 0;
}

/*
 * --p12-pass-file F: the first line of F, the password (kept off the command
 * line, where ps and the shell's history would show it); malloc'd into *pass.
 * 0, or the exit status (said): 2 with --p12-pass too or an empty line, 1
 * when F cannot be read.
 */
static int pass_from_file(const char *path, const char *given, char **pass)
{
	*pass = NULL;
	if (path == NULL)
		return 0;
	if (given) {
		fprintf(stderr,
			"hoursctl: terminal add: --p12-pass or --p12-pass-file, not both\n");
		return 2;
	}
	char *text = check_read_file(path, NULL);
	if (text == NULL) {
		fprintf(stderr, "hoursctl: terminal add: --p12-pass-file: cannot read %s\n", path);
		return 1;
	}
	text[strcspn(text, "\r\n")] = '\0';
	if (text[0] == '\0') {
		fprintf(stderr,
			"hoursctl: terminal add: --p12-pass-file: %s: an empty first line\n", path);
		free(text);
		return 2;
	}
	*pass = text;
	return 0;
}

/* terminal add NUMBER (--cert FILE | --p12 FILE --p12-pass PASS|--p12-pass-file F) [...] */
int terminals_add(const struct args *a)
{
	char *file_pass;
	int prc = pass_from_file(a->opt[7], a->opt[2], &file_pass);
	if (prc)
		return prc;
	const struct terminal_opts o = {.cert = a->opt[0],
					.p12 = a->opt[1],
					.p12_pass = file_pass ? file_pass : a->opt[2],
					.sign_cert = a->opt[3],
					.terminal_no = a->opt[4],
					.imei = a->opt[5],
					.serial = a->opt[6],
					.unbound = a->opt[8]};
	char want[21];
	struct add d = {0};
	if (!terminal_opts_valid(&o)) {
		free(file_pass);
		return 2;
	}
	jt808_phone_norm(a->pos[0], want);
	int rc = add_read(&o, want, &d) ? add_store(a->pos[0], want, &o, &d) : 1;
	if (rc == 0 && o.unbound)
		fprintf(stderr,
			"hoursctl: warning: terminal %s is unbound (--unbound: %s): its registration "
			"hands its PKCS#12 and password to any client that gives its number; hoursd "
			"says so at every start\n",
			want, o.unbound);
	free(d.tls.pem);
	free(d.sig.pem);
	free(d.p12.pem);
	free(d.p12_der);
	free(file_pass);
	return rc;
}

/* One UPDATE of terminal n ($1) with value ($2); false (said) when it failed or there is none. */
static bool terminal_update(const char *sql, const char *n, const char *value)
{
	const char *v[2] = {n, value};
	PGresult *r = pgq_query(sql, 2, v);
	if (r == NULL)
		return false;
	bool found = strcmp(PQcmdTuples(r), "1") == 0;
	PQclear(r);
	if (!found)
		fprintf(stderr, "hoursctl: no terminal %s\n", n);
	return found;
}

/* terminal quirk NUMBER escaped-sums|rsa-raw on|off: a device fault accepted from one terminal. */
int terminals_quirk(const struct args *a)
{
	static const struct {
		const char *name, *sql;
	} quirks[] = {
		{"escaped-sums", sql_terminal_quirk_escaped_sums},
		{"rsa-raw", sql_terminal_quirk_rsa_raw},
	};
	const char *quirk = a->pos[1], *onoff = a->pos[2];
	size_t k = 0;
	while (k < ARRAY_SIZE(quirks) && strcmp(quirks[k].name, quirk) != 0)
		k++;
	if (k == ARRAY_SIZE(quirks) || (strcmp(onoff, "on") != 0 && strcmp(onoff, "off") != 0)) {
		fprintf(stderr, "hoursctl: terminal quirk NUMBER escaped-sums|rsa-raw on|off\n");
		return 2;
	}
	char n[21];
	jt808_phone_norm(a->pos[0], n);
	if (!terminal_update(quirks[k].sql, n, strcmp(onoff, "on") == 0 ? "true" : "false"))
		return 1;
	printf("terminal %s: %s %s (applies from its next connection)\n", n, quirk, onoff);
	return 0;
}

int terminals_list(const struct args *a)
{
	static const struct pgq_col cols[] = {
		{"number", TERMINAL_LIST_PHONE, 20, 0},
		{"status", TERMINAL_LIST_STATUS, 8, 0},
		{"certificate valid until", TERMINAL_LIST_CERT_NOT_AFTER, 25, 0},
		{"certificate", TERMINAL_LIST_CERT_SHA256, 16, PGQ_CUT},
		{"positions", TERMINAL_LIST_POSITIONS, 9, 0},
		{"school", TERMINAL_LIST_SCHOOL_CODE, 8, 0},
		{"timing number", TERMINAL_LIST_TERMINAL_NO, 16, 0},
		{"records", TERMINAL_LIST_RECORDS, 7, 0},
		{"unsigned", TERMINAL_LIST_UNSIGNED, 8, 0},
		{"bad sig", TERMINAL_LIST_BAD_SIGNATURE, 7, 0},
		{"quirks", TERMINAL_LIST_QUIRKS, 0, PGQ_DASH},
	};
	PGresult *r = pgq_query(sql_terminal_list, 0, NULL);
	if (r == NULL)
		return 1;
	out_table(stdout, r, cols, ARRAY_SIZE(cols));
	PQclear(r);
	return 0;
}

/* terminal disable|enable NUMBER */
int terminals_status(const struct args *a)
{
	const char *status = strcmp(a->sub, "disable") == 0 ? "disabled" : "active";
	char n[21];
	jt808_phone_norm(a->pos[0], n);
	if (!terminal_update(sql_terminal_set_status, n, status))
		return 1;
	printf("terminal %s %s\n", n, status);
	return 0;
}

/* terminal assign NUMBER SCHOOL_CODE: minutes are checked against the sites of the terminal's
 * school. */
int terminals_assign(const struct args *a)
{
	const char *school_code = a->pos[1];
	char n[21];
	jt808_phone_norm(a->pos[0], n);
	const char *v[2] = {n, school_code};
	PGresult *r = pgq_query(sql_terminal_assign, 2, v);
	if (r == NULL)
		return 1;
	bool found = strcmp(PQcmdTuples(r), "1") == 0;
	PQclear(r);
	if (found) {
		printf("terminal %s assigned to school %s\n", n, school_code);
		return 0;
	}
	r = pgq_query(sql_terminal_exists, 1, v);
	if (r == NULL)
		return 1;
	bool terminal_known = PQgetvalue(r, 0, TERMINAL_EXISTS_EXISTS)[0] == 't';
	PQclear(r);
	if (terminal_known)
		fprintf(stderr, "hoursctl: no school %s\n", school_code);
	else
		fprintf(stderr, "hoursctl: no terminal %s\n", n);
	return 1;
}
