/*
 * verify.c - hoursctl audit verify and audit checkpoints: the tamper
 * evidence of docs/audit.md checked from outside hoursd.
 *
 * What is recomputed here, in C, and not taken from the database's own
 * functions: the chain's hashes link by link, each checkpoint's
 * signature (with a key given from outside: --key, or the configuration's
 * audit.checkpoint_key) and its head against the link it names, the
 * witness file's checkpoints against the stored ones, each training
 * record's raw digest and terminal signature (sig.c, as ingest checked
 * it).  The rows against their links are compared by the migration's
 * audit_check_rows() (to_jsonb() is PostgreSQL's), and progress against
 * the records by audit_recompute() (audit.c).  Every discrepancy is one
 * line naming its row; the last line counts them.
 */
#include "hoursd.h"
#include "audit.h"
#include "chain.h"
#include "jtx.h"
#include "queries.h"
#include "sig.h"

#include <errno.h>
#include <libpq-fe.h>
#include <openssl/evp.h>

#define LINK_PAGE "20000"
#define RECORD_PAGE "5000"

struct verify {
	PGconn *db;
	FILE *out;
	unsigned long problems;
	EVP_PKEY *key;
	char key_id[65];
};

static PGresult *run(PGconn *db, const char *sql, int n, const char *const *values)
{
	PGresult *r = PQexecParams(db, sql, n, NULL, values, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "hoursctl: %s", PQerrorMessage(db));
		PQclear(r);
		return NULL;
	}
	return r;
}

static void problem(struct verify *v, const char *fmt, ...) PRINTF(2, 3);
static void problem(struct verify *v, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(v->out, fmt, ap);
	va_end(ap);
	fputc('\n', v->out);
	v->problems++;
}

static int nibble(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Lowercase hex of exactly 2 * n digits into out. */
static bool unhex(const char *s, uint8_t *out, size_t n)
{
	if (strlen(s) != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static void to_hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/* ---- checkpoints ---- */

struct checkpoint {
	long long n, at;
	char head[65], key_id[65], sig_hex[1025], when[32];
};

static struct checkpoint *load_checkpoints(PGconn *db, int *count)
{
	PGresult *r = run(db, sql_audit_checkpoint_list, 0, NULL);
	if (r == NULL)
		return NULL;
	int n = PQntuples(r);
	struct checkpoint *c = calloc((size_t)n + 1, sizeof(*c));
	for (int i = 0; c && i < n; i++) {
		c[i].n = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		c[i].at = strtoll(PQgetvalue(r, i, 2), NULL, 10);
		snprintf(c[i].head, sizeof(c[i].head), "%s", PQgetvalue(r, i, 1));
		snprintf(c[i].key_id, sizeof(c[i].key_id), "%s", PQgetvalue(r, i, 3));
		snprintf(c[i].sig_hex, sizeof(c[i].sig_hex), "%s", PQgetvalue(r, i, 4));
		snprintf(c[i].when, sizeof(c[i].when), "%s", PQgetvalue(r, i, 5));
	}
	PQclear(r);
	*count = n;
	return c;
}

/* The checkpoint's signature with the key given from outside. */
static bool checkpoint_good(struct verify *v, const struct checkpoint *c, const char *where)
{
	char text[256];
	uint8_t sig[512];
	size_t len = strlen(c->sig_hex) / 2;
	if (strcmp(c->key_id, v->key_id) != 0) {
		problem(v,
			"checkpoint n=%lld (%s)%s: signed by key %.16s..., not by the key given "
			"(%.16s...)",
			c->n, c->when, where, c->key_id, v->key_id);
		return false;
	}
	if (len > sizeof(sig) || !unhex(c->sig_hex, sig, len) ||
	    checkpoint_text(text, sizeof(text), c->n, c->head, c->at) == 0 ||
	    !checkpoint_verify(v->key, text, sig, len)) {
		problem(v, "checkpoint n=%lld (%s)%s: the signature does not verify", c->n, c->when,
			where);
		return false;
	}
	return true;
}

/*
 * The witness file (audit checkpoints --export): each of its checkpoints
 * must be stored as it is there, and signed.
 */
static void check_witness(struct verify *v, const char *path, const struct checkpoint *cp, int ncp)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		problem(v, "witness %s: %s", path, strerror(errno));
		return;
	}
	char line[1400];
	unsigned long lineno = 0, seen = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		struct checkpoint w = {0};
		if (sscanf(line, "%lld %64s %lld %64s %1024s %31s", &w.n, w.head, &w.at, w.key_id,
			   w.sig_hex, w.when) != 6) {
			problem(v, "witness %s:%lu: not a checkpoint line", path, lineno);
			continue;
		}
		seen++;
		char where[600];
		snprintf(where, sizeof(where), " of witness %s:%lu", path, lineno);
		checkpoint_good(v, &w, where);
		int i = 0;
		while (i < ncp && cp[i].n != w.n)
			i++;
		if (i == ncp)
			problem(v,
				"checkpoint n=%lld (%s) of witness %s:%lu: not in the database "
				"(deleted)",
				w.n, w.when, path, lineno);
		else if (strcmp(cp[i].head, w.head) != 0 || cp[i].at != w.at ||
			 strcmp(cp[i].sig_hex, w.sig_hex) != 0)
			problem(v,
				"checkpoint n=%lld (%s) of witness %s:%lu: the database holds "
				"another (head %.16s..., witness %.16s...)",
				w.n, w.when, path, lineno, cp[i].head, w.head);
	}
	fclose(f);
	fprintf(v->out, "witness %s: %lu checkpoints compared\n", path, seen);
}

/* ---- the chain ---- */

/*
 * Walk every link from the first: its number follows the one before, its
 * hash is SHA-256(the one before || its bytes), and a checkpoint's head is
 * the hash of the link it names.  After a bad link the walk goes on from
 * its stored hash, so that each alteration is said once or twice, not for
 * every link after it.
 */
static bool walk_chain(struct verify *v, const struct checkpoint *cp, int ncp, long long *links)
{
	uint8_t prev[32] = {0}, hash[32], rowd[32], mine[32];
	long long expect = 1, after = 0;
	int k = 0; /* the next checkpoint to meet */
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx != NULL;
	for (;;) {
		char after_s[24];
		snprintf(after_s, sizeof(after_s), "%lld", after);
		const char *p[2] = {after_s, LINK_PAGE};
		PGresult *r = ok ? run(v->db, sql_audit_links, 2, p) : NULL;
		if (r == NULL) {
			ok = false;
			break;
		}
		int rows = PQntuples(r);
		for (int i = 0; i < rows; i++) {
			long long n = strtoll(PQgetvalue(r, i, 0), NULL, 10);
			const char *tbl = PQgetvalue(r, i, 1), *key = PQgetvalue(r, i, 2);
			if (!unhex(PQgetvalue(r, i, 3), rowd, 32) ||
			    !unhex(PQgetvalue(r, i, 4), hash, 32)) {
				problem(v, "chain: link %lld (%s %s): not a 32-byte digest", n, tbl,
					key);
				continue;
			}
			if (n != expect)
				problem(v, "chain: links %lld to %lld are missing (deleted)",
					expect, n - 1);
			unsigned len = 0;
			EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
			EVP_DigestUpdate(ctx, prev, 32);
			EVP_DigestUpdate(ctx, tbl, strlen(tbl));
			EVP_DigestUpdate(ctx, "\n", 1);
			EVP_DigestUpdate(ctx, key, strlen(key));
			EVP_DigestUpdate(ctx, "\n", 1);
			EVP_DigestUpdate(ctx, rowd, 32);
			EVP_DigestFinal_ex(ctx, mine, &len);
			if (n == expect && memcmp(mine, hash, 32) != 0)
				problem(v,
					"chain: link %lld (%s %s): its hash is not the one before "
					"it chained with its row (the link, or the one before, "
					"was altered)",
					n, tbl, key);
			for (; k < ncp && cp[k].n <= n; k++) {
				char hex[65];
				to_hex(hash, 32, hex);
				if (cp[k].n < n)
					problem(v, "checkpoint n=%lld (%s): its link is missing",
						cp[k].n, cp[k].when);
				else if (strcmp(cp[k].head, hex) != 0)
					problem(v,
						"checkpoint n=%lld (%s): link %lld's hash is not the "
						"signed head (the chain was rewritten up to there)",
						cp[k].n, cp[k].when, n);
			}
			memcpy(prev, hash, 32);
			expect = n + 1;
			after = n;
		}
		PQclear(r);
		if (rows == 0)
			break;
	}
	for (; ok && k < ncp; k++)
		problem(v, "checkpoint n=%lld (%s): the chain ends at link %lld (links deleted)",
			cp[k].n, cp[k].when, after);
	EVP_MD_CTX_free(ctx);
	*links = after;
	/* The head row names the last link. */
	PGresult *h = ok ? run(v->db, sql_audit_head_state, 0, NULL) : NULL;
	if (h == NULL)
		return false;
	char last[65];
	to_hex(prev, 32, last);
	if (strtoll(PQgetvalue(h, 0, 0), NULL, 10) != after ||
	    (after > 0 && strcmp(PQgetvalue(h, 0, 1), last) != 0))
		problem(v, "chain: the head row (link %s) is not the last link (%lld)",
			PQgetvalue(h, 0, 0), after);
	fprintf(v->out, "chain: %lld links walked, %s rows queued for the chain stage\n", after,
		PQgetvalue(h, 0, 2));
	PQclear(h);
	return true;
}

/* ---- the rows ---- */

static bool check_rows(struct verify *v, const char *const range[3])
{
	PGresult *r = run(v->db, sql_audit_check_rows, 3, range);
	if (r == NULL)
		return false;
	for (int i = 0; i < PQntuples(r); i++)
		problem(v, "row: %s %s: %s", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
			PQgetvalue(r, i, 2));
	PQclear(r);
	return true;
}

/* ---- the terminals' signatures ---- */

/* One record's raw bytes against its digest and its terminal's signature. */
static void check_record(struct verify *v, struct sig_cache *sigs, PGresult *r, int i,
			 unsigned long *checked)
{
	const char *phone = PQgetvalue(r, i, 2), *no = PQgetvalue(r, i, 1);
	const char *raw_hex = PQgetvalue(r, i, 3), *cert = PQgetvalue(r, i, 5);
	bool rsa_raw = PQgetvalue(r, i, 7)[0] == 't', escaped = PQgetvalue(r, i, 8)[0] == 't';
	bool is_signed = PQgetvalue(r, i, 9)[0] == 't';
	const char *reason = PQgetvalue(r, i, 11);
	time_t at = (time_t)strtoll(PQgetvalue(r, i, 12), NULL, 10);
	size_t n = strlen(raw_hex) / 2;
	uint8_t *raw = malloc(n + 1), want[32], got[32], cert_sha[32];
	unsigned len = 0;
	if (raw == NULL || !unhex(raw_hex, raw, n) || !unhex(PQgetvalue(r, i, 4), want, 32) ||
	    !unhex(PQgetvalue(r, i, 6), cert_sha, 32)) {
		free(raw);
		problem(v, "signature: training_record terminal %s record %s: unreadable", phone,
			no);
		return;
	}
	EVP_Digest(raw, n, got, &len, EVP_sha256(), NULL);
	if (memcmp(got, want, 32) != 0)
		problem(v,
			"signature: training_record terminal %s record %s: raw_sha256 is not "
			"the digest of raw",
			phone, no);
	struct jtx_header h;
	enum jtx_err e = jtx_parse(raw, n, &h);
	if (e != JTX_OK && escaped)
		e = jtx_parse_escaped_len(raw, n, &h);
	(*checked)++;
	char err[256];
	if (e != JTX_OK) {
		problem(v,
			"signature: training_record terminal %s record %s: raw is not a timing "
			"message (%s)",
			phone, no, jtx_strerror(e));
	} else if (!is_signed || h.sig_len == 0) {
		/* Unsigned (rules.unsigned: flag): nothing to check, stored as such. */
		if (is_signed)
			problem(v,
				"signature: training_record terminal %s record %s: stored as "
				"signed, raw has no signature",
				phone, no);
	} else if (!sig_cache_put(sigs, cert_sha, cert, err, sizeof(err))) {
		problem(v,
			"signature: training_record terminal %s record %s: the terminal's "
			"certificate: %s",
			phone, no, err);
	} else {
		enum sig_result s =
			sig_verify_flags(sigs, cert_sha, h.signed_bytes, h.signed_len, h.sig,
					 h.sig_len, at, rsa_raw ? SIG_F_RSA_RAW : 0);
		bool bad_stored = strcmp(reason, "bad_signature") == 0;
		if (s != SIG_OK && !bad_stored)
			problem(v,
				"signature: training_record terminal %s record %s: %s, but "
				"stored %s",
				phone, no, sig_result_name(s), reason[0] ? reason : "accepted");
		else if (s == SIG_OK && bad_stored)
			problem(v,
				"signature: training_record terminal %s record %s: verifies, "
				"but stored as bad_signature",
				phone, no);
	}
	free(raw);
}

static bool check_signatures(struct verify *v, const char *const range[3], unsigned long *checked)
{
	struct sig_cache *sigs = sig_cache_new(4096);
	char tid[24] = "", rno[64] = "";
	bool ok = sigs != NULL;
	while (ok) {
		const char *p[6] = {
			range[0],   range[1], range[2], tid[0] ? tid : NULL, tid[0] ? rno : NULL,
			RECORD_PAGE};
		PGresult *r = run(v->db, sql_audit_signatures, 6, p);
		if (r == NULL) {
			ok = false;
			break;
		}
		int rows = PQntuples(r);
		for (int i = 0; i < rows; i++)
			check_record(v, sigs, r, i, checked);
		if (rows > 0) {
			snprintf(tid, sizeof(tid), "%s", PQgetvalue(r, rows - 1, 0));
			snprintf(rno, sizeof(rno), "%s", PQgetvalue(r, rows - 1, 1));
		}
		PQclear(r);
		if (rows == 0)
			break;
	}
	sig_cache_free(sigs);
	return ok;
}

/* ---- the commands ---- */

int audit_verify(PGconn *db, const struct audit_verify_opts *o, FILE *out)
{
	struct verify v = {.db = db, .out = out, .key = o->key};
	const char *range[3] = {o->from, o->to, NULL};
	char school_id[24];
	if (o->school) {
		const char *p[1] = {o->school};
		PGresult *r = run(db, sql_audit_school_id, 1, p);
		if (r == NULL)
			return 1;
		if (PQntuples(r) != 1) {
			fprintf(stderr, "hoursctl: audit verify: no school %s\n", o->school);
			PQclear(r);
			return 1;
		}
		snprintf(school_id, sizeof(school_id), "%s", PQgetvalue(r, 0, 0));
		PQclear(r);
		range[2] = school_id;
	}
	if (v.key && !checkpoint_key_id(v.key, v.key_id))
		return 1;
	int ncp = 0;
	struct checkpoint *cp = load_checkpoints(db, &ncp);
	if (cp == NULL)
		return 1;
	unsigned long good = 0;
	for (int i = 0; i < ncp; i++) {
		if (v.key == NULL)
			break;
		good += checkpoint_good(&v, &cp[i], "");
	}
	if (v.key == NULL && ncp > 0)
		problem(&v,
			"checkpoints: %d stored, none verified: no key to verify them with "
			"(--key FILE, or audit.checkpoint_key in -c FILE)",
			ncp);
	else
		fprintf(out, "checkpoints: %lu of %d signatures verify (key %.16s...)\n", good, ncp,
			v.key ? v.key_id : "none");
	if (o->witness && v.key)
		check_witness(&v, o->witness, cp, ncp);
	long long links = 0;
	unsigned long records = 0;
	bool ok = walk_chain(&v, cp, ncp, &links) && check_rows(&v, range) &&
		  check_signatures(&v, range, &records);
	free(cp);
	if (!ok)
		return 1;
	fprintf(out, "signatures: %lu training records checked from their raw bytes\n", records);
	int rc = audit_recompute(db, NULL, out);
	if (rc != 0)
		v.problems++;
	if (v.problems) {
		fprintf(out, "audit verify: %lu discrepancies\n", v.problems);
		return 1;
	}
	fprintf(out, "audit verify: clean (%lld links, %d checkpoints, %lu records)\n", links, ncp,
		records);
	return 0;
}

int audit_checkpoints(PGconn *db, const char *export_path, FILE *out)
{
	int n = 0;
	struct checkpoint *cp = load_checkpoints(db, &n);
	if (cp == NULL)
		return 1;
	FILE *f = out;
	if (export_path) {
		f = fopen(export_path, "w");
		if (f == NULL) {
			fprintf(stderr, "hoursctl: audit checkpoints: %s: %s\n", export_path,
				strerror(errno));
			free(cp);
			return 1;
		}
		fprintf(f, "# hoursd audit checkpoints v1: n head unix-time key-id signature "
			   "signed-at (hoursctl audit verify --witness)\n");
	} else {
		fprintf(f, "%-10s %-20s %-16s %s\n", "n", "signed at (UTC)", "key", "head");
	}
	for (int i = 0; i < n; i++) {
		if (export_path)
			fprintf(f, "%lld %s %lld %s %s %s\n", cp[i].n, cp[i].head, cp[i].at,
				cp[i].key_id, cp[i].sig_hex, cp[i].when);
		else
			fprintf(f, "%-10lld %-20s %.16s %s\n", cp[i].n, cp[i].when, cp[i].key_id,
				cp[i].head);
	}
	bool ok = true;
	if (export_path) {
		ok = fclose(f) == 0;
		if (!ok)
			fprintf(stderr, "hoursctl: audit checkpoints: %s: %s\n", export_path,
				strerror(errno));
		else
			printf("%d checkpoints written to %s\n", n, export_path);
	}
	free(cp);
	return ok ? 0 : 1;
}
