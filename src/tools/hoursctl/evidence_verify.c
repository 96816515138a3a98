/*
 * evidence_verify.c - hoursctl audit verify's check of the audit log
 * (migration 015, docs/audit.md "The log"): its batches, the rows they
 * hold, and the checkpoints of its tree heads.
 *
 * Every batch: numbered from 1 without gaps, each on the transactions
 * right after the one before; its root is the RFC 9162 tree of its leaves;
 * its link is on the batch before (batch 1 on the old chain's head); its
 * leaves are exactly the leaves of the rows of its transactions now (a row
 * changed or inserted is named by its key, a leaf whose row is gone by its
 * batch and place).  Rows in no batch's transactions before the log's head
 * are named.  With a key: every checkpoint's signature, k from 1 without
 * gaps, at least one, the newest not older than the age given, each head
 * the link of the batch it names; a witness's checkpoints must be stored
 * as they are there.
 *
 * At line rate: a batch's rows are read as the chain stage checks them
 * before a checkpoint (audit_log_recomputed: from their columns, never a
 * stored leaf hash; one value in the binary format) and their leaves
 * compared as a set with the batch's; only a batch that does not hold is
 * read again row by row with the rows' keys, to name them.  verify.c runs
 * this on a connection of its own, beside the frames' checks.
 */
#include "hoursd.h"
#include "hoursctl.h"
#include "common/pgq.h"
#include "chain.h"
#include "log.h"
#include "merkle.h"
#include "queries.h"

#include <errno.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <time.h>

#define BATCH_PAGE "200"

struct lcp {
	long long k, n, at;
	char head[65], key_id[65], sig_hex[1025], when[32];
	bool met;
};

struct ev {
	const struct evidence_opts *o;
	PGconn *c; /* o->conn, or hoursctl's connection */
	FILE *out;
	unsigned long problems;
	struct lcp *cp;
	int ncp;
};

static void problem(struct ev *v, const char *fmt, ...) PRINTF(2, 3);
static void problem(struct ev *v, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(v->out, fmt, ap);
	va_end(ap);
	fputc('\n', v->out);
	v->problems++;
}

/* ---- checkpoints ---- */

static PGresult *query(struct ev *v, const char *sql, int n, const char *const *p)
{
	return pgq_query_on(v->c, sql, n, p, 0);
}

static bool load(struct ev *v)
{
	PGresult *r = query(v, sql_audit_log_checkpoints, 0, NULL);
	if (r == NULL)
		return false;
	int n = PQntuples(r);
	v->cp = calloc((size_t)n + 1, sizeof(*v->cp));
	for (int i = 0; v->cp && i < n; i++) {
		struct lcp *c = &v->cp[i];
#define COL(x) PQgetvalue(r, i, AUDIT_LOG_CHECKPOINTS_##x)
		c->k = strtoll(COL(K), NULL, 10);
		c->n = strtoll(COL(N), NULL, 10);
		c->at = strtoll(COL(SIGNED_AT), NULL, 10);
		snprintf(c->head, sizeof(c->head), "%s", COL(HEAD));
		snprintf(c->key_id, sizeof(c->key_id), "%s", COL(KEY_ID));
		snprintf(c->sig_hex, sizeof(c->sig_hex), "%s", COL(SIGNATURE));
		snprintf(c->when, sizeof(c->when), "%s", COL(SIGNED_ISO));
#undef COL
	}
	PQclear(r);
	v->ncp = n;
	return v->cp != NULL;
}

static bool signature_good(struct ev *v, const struct lcp *c, const char *where)
{
	char text[320];
	uint8_t sig[512];
	size_t len = strlen(c->sig_hex) / 2;
	if (strcmp(c->key_id, v->o->key_id) != 0) {
		problem(v, "log checkpoint k=%lld%s: signed by key %.16s..., not by the key given",
			c->k, where, c->key_id);
		return false;
	}
	if (len > sizeof(sig) || !merkle_unhex(c->sig_hex, sig, len) ||
	    log_checkpoint_text(text, sizeof(text), c->k, c->n, c->head, c->at) == 0 ||
	    !checkpoint_verify(v->o->key, text, sig, len)) {
		problem(v, "log checkpoint k=%lld%s: the signature does not verify", c->k, where);
		return false;
	}
	return true;
}

/* Signatures, numbers without gaps, at least one, the newest recent enough. */
static void check_checkpoints(struct ev *v)
{
	if (v->o->key == NULL)
		return;
	unsigned long good = 0;
	for (int i = 0; i < v->ncp; i++) {
		good += signature_good(v, &v->cp[i], "");
		long long want = i == 0 ? 1 : v->cp[i - 1].k + 1;
		if (v->cp[i].k != want)
			problem(v, "log checkpoints k=%lld to %lld are missing (deleted)", want,
				v->cp[i].k - 1);
	}
	if (v->ncp == 0)
		problem(v, "log checkpoints: none stored (never signed, or all deleted)");
	else if (v->o->max_age_s > 0 &&
		 (long long)time(NULL) - v->cp[v->ncp - 1].at > v->o->max_age_s)
		problem(v,
			"log checkpoints: the newest, k=%lld (%s), is older than %lld s (newer ones "
			"deleted, or hoursd stopped signing)",
			v->cp[v->ncp - 1].k, v->cp[v->ncp - 1].when, v->o->max_age_s);
	fprintf(v->out, "log checkpoints: %lu of %d signatures verify\n", good, v->ncp);
}

/*
 * The witness (what GET /v1/checkpoints served, audit.checkpoint_file, or
 * audit checkpoints --export): its "v2" lines, each signed and stored as
 * it is there.  Other lines are the old chain's (verify.c reads them).
 */
static void check_witness(struct ev *v, const char *path)
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
		if (strncmp(line, "v2 ", 3) != 0)
			continue;
		struct lcp w = {0};
		if (sscanf(line + 3, "%lld %lld %64s %lld %64s %1024s", &w.k, &w.n, w.head, &w.at,
			   w.key_id, w.sig_hex) != 6) {
			problem(v, "witness %s:%lu: not a log checkpoint line", path, lineno);
			continue;
		}
		seen++;
		char where[600];
		snprintf(where, sizeof(where), " of witness %s:%lu", path, lineno);
		signature_good(v, &w, where);
		int i = 0;
		while (i < v->ncp && v->cp[i].k != w.k)
			i++;
		if (i == v->ncp)
			problem(v,
				"log checkpoint k=%lld of witness %s:%lu: not in the database (deleted)",
				w.k, path, lineno);
		else if (v->cp[i].n != w.n || strcmp(v->cp[i].head, w.head) != 0 ||
			 v->cp[i].at != w.at || strcmp(v->cp[i].sig_hex, w.sig_hex) != 0)
			problem(v,
				"log checkpoint k=%lld of witness %s:%lu: the database holds another "
				"(batch %lld head %.16s..., witness batch %lld head %.16s...)",
				w.k, path, lineno, v->cp[i].n, v->cp[i].head, w.n, w.head);
	}
	fclose(f);
	fprintf(v->out, "witness %s: %lu log checkpoints compared\n", path, seen);
}

/* Checkpoints of batch n: their head is its link hash (hex). */
static void meet(struct ev *v, long long n, const char *hash_hex)
{
	for (int i = 0; i < v->ncp; i++) {
		if (v->cp[i].n != n)
			continue;
		v->cp[i].met = true;
		if (strcmp(v->cp[i].head, hash_hex) != 0)
			problem(v,
				"log checkpoint k=%lld: batch %lld's link is not the signed head (the "
				"log was rewritten up to there)",
				v->cp[i].k, n);
	}
}

/* ---- batches and rows ---- */

static uint8_t *leaves_of(const char *hex, size_t *n)
{
	size_t len = strlen(hex);
	*n = len / 64;
	uint8_t *b = malloc(len / 2 + 1);
	if (b && (len % 64 != 0 || !merkle_unhex(hex, b, len / 2))) {
		free(b);
		return NULL;
	}
	return b;
}

/* A leaf hash and its place in the batch: the batch's leaves sorted, to find a row's. */
struct placed {
	uint8_t h[32];
	size_t at;
};

static int by_hash(const void *a, const void *b)
{
	return memcmp(((const struct placed *)a)->h, ((const struct placed *)b)->h, 32);
}

/* The first leaf of s (n, sorted) equal to h and not used yet; n when there is none. */
static size_t unused_leaf(const struct placed *s, size_t n, const bool *used, const uint8_t h[32])
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (memcmp(s[mid].h, h, 32) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo < n && used[lo] && memcmp(s[lo].h, h, 32) == 0)
		lo++;
	return lo < n && !used[lo] && memcmp(s[lo].h, h, 32) == 0 ? lo : n;
}

/*
 * The rows of batch n's transactions against its leaves, row by row with
 * their keys: a row whose leaf is none of the batch's (changed, or
 * inserted) is named; the leaves no row has are counted (deleted).
 */
static bool name_rows(struct ev *v, long long n, const char *lo, const char *hi,
		      const uint8_t *leaves, size_t nl)
{
	const char *p[2] = {lo, hi};
	PGresult *r = query(v, sql_audit_log_rows, 2, p);
	if (r == NULL)
		return false;
	bool *used = calloc(nl + 1, 1);
	struct placed *sorted = calloc(nl + 1, sizeof(*sorted));
	for (size_t j = 0; sorted && j < nl; j++) {
		memcpy(sorted[j].h, leaves + 32 * j, 32);
		sorted[j].at = j;
	}
	if (sorted)
		qsort(sorted, nl, sizeof(*sorted), by_hash);
	size_t strays = 0, unused = 0;
	for (int i = 0; used && sorted && i < PQntuples(r); i++) {
		uint8_t leaf[32];
		size_t j = nl;
		const char *hex = PQgetvalue(r, i, AUDIT_LOG_ROWS_DATA);
		size_t len = strlen(hex) / 2;
		uint8_t *data = malloc(len + 1);
		if (data && merkle_unhex(hex, data, len) && merkle_leaf(data, len, leaf))
			j = unused_leaf(sorted, nl, used, leaf);
		free(data);
		if (j < nl) {
			used[j] = true;
			continue;
		}
		strays++;
		problem(v,
			"row: %s %s: not as logged in batch %lld (changed since, or inserted "
			"behind hoursd's back)",
			PQgetvalue(r, i, AUDIT_LOG_ROWS_TBL), PQgetvalue(r, i, AUDIT_LOG_ROWS_KEY),
			n);
	}
	for (size_t j = 0; used && sorted && j < nl; j++)
		unused += !used[j];
	/* a changed row is one leaf without its row and one row without its leaf: said above */
	if (unused > strays)
		problem(v, "log: batch %lld: %zu leaves whose row is gone (deleted)", n,
			unused - strays);
	PQclear(r);
	bool ok = used != NULL && sorted != NULL;
	free(used);
	free(sorted);
	return ok;
}

/*
 * The leaf hashes of the rows of the transactions in [lo, hi) now, from
 * their columns, as the chain stage checks them before a checkpoint
 * (audit_log_recomputed, hashed by merkle_leaves()), in no particular
 * order; their number into *n.  NULL (said when it is the
 * database's error) when they cannot be read.  The one place that says
 * what a leaf is, for the batches' check.
 */
static uint8_t *leaves_now(struct ev *v, const char *lo, const char *hi, size_t *n)
{
	const char *p[2] = {lo, hi};
	PGresult *r = pgq_query_on(v->c, sql_audit_log_recomputed, 2, p, 1);
	uint8_t *now =
		r && PQntuples(r) == 1 && !PQgetisnull(r, 0, AUDIT_LOG_RECOMPUTED_DATA)
			? merkle_leaves(
				  (const uint8_t *)PQgetvalue(r, 0, AUDIT_LOG_RECOMPUTED_DATA),
				  (size_t)PQgetlength(r, 0, AUDIT_LOG_RECOMPUTED_DATA), n)
			: NULL;
	PQclear(r);
	return now;
}

static int by_leaf(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/*
 * The rows of batch n's transactions against its leaves: their leaves
 * now the batch's leaves, as a set (a batch keeps them in the order the
 * chain stage read them, which is no order a query promises again); else
 * named row by row (name_rows()).
 */
static bool check_rows(struct ev *v, long long n, const char *lo, const char *hi,
		       const uint8_t *leaves, size_t nl)
{
	size_t got = 0;
	uint8_t *now = leaves_now(v, lo, hi, &got);
	uint8_t *had = now && got == nl && nl > 0 ? malloc(32 * nl) : NULL;
	bool same = now != NULL && got == nl && (nl == 0 || had != NULL);
	if (had) {
		memcpy(had, leaves, 32 * nl);
		qsort(had, nl, 32, by_leaf);
		qsort(now, nl, 32, by_leaf);
		same = memcmp(now, had, 32 * nl) == 0;
	}
	free(had);
	free(now);
	return same || name_rows(v, n, lo, hi, leaves, nl);
}

struct walk {
	uint8_t prev[32];
	long long expect, leaves;
	char hi[24];
};

static bool walk_batch(struct ev *v, struct walk *w, const PGresult *r, int i)
{
#define COL(x) PQgetvalue(r, i, AUDIT_LOG_BATCHES_##x)
	long long n = strtoll(COL(N), NULL, 10), size = strtoll(COL(SIZE), NULL, 10);
	size_t nl = 0;
	uint8_t *leaves = leaves_of(COL(LEAVES), &nl), root[32], want[32], link[32];
	if (n != w->expect)
		problem(v, "log: batches %lld to %lld are missing (deleted)", w->expect, n - 1);
	else if (w->hi[0] && strcmp(COL(LO), w->hi) != 0)
		problem(v, "log: batch %lld begins at transaction %s, batch %lld ended at %s", n,
			COL(LO), n - 1, w->hi);
	if (leaves == NULL || (long long)nl != size || !merkle_root(leaves, nl, root) ||
	    !merkle_unhex(COL(ROOT), want, 32) || memcmp(root, want, 32) != 0)
		problem(v, "log: batch %lld: its root is not the tree of its %lld leaves", n, size);
	if (leaves && merkle_root(leaves, nl, root) && merkle_link(w->prev, n, size, root, link) &&
	    merkle_unhex(COL(HASH), want, 32) && memcmp(link, want, 32) != 0 && n == w->expect)
		problem(v,
			"log: batch %lld: its link is not on the batch before (the batch, or the one "
			"before, was altered)",
			n);
	bool ok = leaves == NULL || check_rows(v, n, COL(LO), COL(HI), leaves, nl);
	meet(v, n, COL(HASH));
	if (!merkle_unhex(COL(HASH), w->prev, 32))
		problem(v, "log: batch %lld: its link is not a hash", n);
	snprintf(w->hi, sizeof(w->hi), "%s", COL(HI));
	w->expect = n + 1;
	w->leaves += size;
	free(leaves);
	return ok;
#undef COL
}

bool evidence_verify(const struct evidence_opts *o, FILE *out, struct evidence_result *res)
{
	struct ev v = {.o = o, .c = o->conn, .out = out};
	*res = (struct evidence_result){0};
	PGresult *s = query(&v, sql_audit_log_state, 0, NULL);
	if (s == NULL || !load(&v)) {
		PQclear(s);
		return false;
	}
	check_checkpoints(&v);
	if (o->key && o->witness)
		check_witness(&v, o->witness);
	struct walk w = {.expect = 1};
	snprintf(w.hi, sizeof(w.hi), "%s", PQgetvalue(s, 0, AUDIT_LOG_STATE_START));
	bool ok = merkle_unhex(PQgetvalue(s, 0, AUDIT_LOG_STATE_CHAIN_HEAD), w.prev, 32);
	meet(&v, 0, PQgetvalue(s, 0, AUDIT_LOG_STATE_CHAIN_HEAD));
	while (ok) {
		char after[24];
		snprintf(after, sizeof(after), "%lld", w.expect - 1);
		const char *p[2] = {after, BATCH_PAGE};
		PGresult *r = query(&v, sql_audit_log_batches, 2, p);
		ok = r != NULL;
		int rows = ok ? PQntuples(r) : 0;
		for (int i = 0; ok && i < rows; i++)
			ok = walk_batch(&v, &w, r, i);
		PQclear(r);
		if (rows == 0)
			break;
	}
	char last[65];
	hex_encode(last, w.prev, 32);
	if (ok && (strtoll(PQgetvalue(s, 0, AUDIT_LOG_STATE_N), NULL, 10) != w.expect - 1 ||
		   strcmp(PQgetvalue(s, 0, AUDIT_LOG_STATE_HASH), last) != 0))
		problem(&v, "log: the head names batch %s, the batches end at %lld",
			PQgetvalue(s, 0, AUDIT_LOG_STATE_N), w.expect - 1);
	if (ok && strtoll(PQgetvalue(s, 0, AUDIT_LOG_STATE_STRAYS), NULL, 10) > 0)
		problem(&v,
			"log: %s rows are older than the log and not in the old chain's era "
			"(inserted behind hoursd's back)",
			PQgetvalue(s, 0, AUDIT_LOG_STATE_STRAYS));
	for (int i = 0; ok && o->key && i < v.ncp; i++)
		if (!v.cp[i].met)
			problem(&v, "log checkpoint k=%lld: batch %lld is not in the log (deleted)",
				v.cp[i].k, v.cp[i].n);
	if (ok)
		fprintf(out, "log: %lld batches, %lld rows checked against their leaves\n",
			w.expect - 1, w.leaves);
	PQclear(s);
	res->problems = v.problems;
	res->batches = w.expect - 1;
	res->leaves = w.leaves;
	res->checkpoints = v.ncp;
	free(v.cp);
	return ok;
}

bool evidence_export(FILE *f)
{
	struct ev v = {0};
	if (!load(&v))
		return false;
	fprintf(f, "# hoursd audit log checkpoints v2: v2 k n head unix-time key-id signature\n");
	for (int i = 0; i < v.ncp; i++)
		fprintf(f, "v2 %lld %lld %s %lld %s %s\n", v.cp[i].k, v.cp[i].n, v.cp[i].head,
			v.cp[i].at, v.cp[i].key_id, v.cp[i].sig_hex);
	free(v.cp);
	return true;
}
