/*
 * verify.c - hoursctl audit verify and audit checkpoints: the tamper
 * evidence of docs/audit.md checked from outside hoursd.
 *
 * What is recomputed here, in C, and not taken from the database's own
 * functions: the chain's hashes link by link, each checkpoint's
 * signature (with a key given from outside: --key, or the configuration's
 * audit.checkpoint_key) and its head against the link it names, the
 * witness file's checkpoints against the stored ones.  The rows against
 * their links are compared by the migration's audit_check_rows()
 * (to_jsonb() is PostgreSQL's), the rows a terminal's frame made against
 * that frame and its signature by evidence.c, and progress against the
 * records by audit_recompute() (audit.c).  Every discrepancy is one line
 * naming its row; the last line counts them.
 */
#include "hoursd.h"
#include "hoursctl.h"
#include "common/cfg.h"
#include "common/out.h"
#include "common/pgq.h"
#include "common/progress.h"
#include "evidence.h"
#include "chain.h"
#include "conf.h"
#include "log.h"
#include "queries.h"

#include <errno.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <pthread.h>

#define LINK_PAGE "20000"

struct verify {
	FILE *out;
	unsigned long problems;
	EVP_PKEY *key;
	char key_id[65];
};

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

/* ---- checkpoints ---- */

struct checkpoint {
	long long n, at;
	char head[65], key_id[65], sig_hex[1025], when[32];
};

static struct checkpoint *load_checkpoints(int *count)
{
	PGresult *r = pgq_query(sql_audit_checkpoint_list, 0, NULL);
	if (r == NULL)
		return NULL;
	int n = PQntuples(r);
	struct checkpoint *c = calloc((size_t)n + 1, sizeof(*c));
	for (int i = 0; c && i < n; i++) {
		c[i].n = strtoll(PQgetvalue(r, i, AUDIT_CHECKPOINT_LIST_N), NULL, 10);
		c[i].at = strtoll(PQgetvalue(r, i, AUDIT_CHECKPOINT_LIST_SIGNED_AT), NULL, 10);
		snprintf(c[i].head, sizeof(c[i].head), "%s",
			 PQgetvalue(r, i, AUDIT_CHECKPOINT_LIST_HEAD));
		snprintf(c[i].key_id, sizeof(c[i].key_id), "%s",
			 PQgetvalue(r, i, AUDIT_CHECKPOINT_LIST_KEY_ID));
		snprintf(c[i].sig_hex, sizeof(c[i].sig_hex), "%s",
			 PQgetvalue(r, i, AUDIT_CHECKPOINT_LIST_SIGNATURE));
		snprintf(c[i].when, sizeof(c[i].when), "%s",
			 PQgetvalue(r, i, AUDIT_CHECKPOINT_LIST_SIGNED_ISO));
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
		if (line[0] == '#' || line[0] == '\n' || strncmp(line, "v2 ", 3) == 0)
			continue; /* v2: the log's (evidence_verify.c) */
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

/* A walk along the links: the hash and number before, the next checkpoint to meet. */
struct walk {
	uint8_t prev[32];
	long long expect, after;
	int k;
	const struct checkpoint *cp;
	int ncp;
	EVP_MD_CTX *ctx;
};

/* SHA-256(the hash before || table "\n" key "\n" || the row's digest). */
static void link_hash(struct walk *w, const char *tbl, const char *key, const uint8_t rowd[32],
		      uint8_t mine[32])
{
	unsigned len = 0;
	EVP_DigestInit_ex(w->ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(w->ctx, w->prev, 32);
	EVP_DigestUpdate(w->ctx, tbl, strlen(tbl));
	EVP_DigestUpdate(w->ctx, "\n", 1);
	EVP_DigestUpdate(w->ctx, key, strlen(key));
	EVP_DigestUpdate(w->ctx, "\n", 1);
	EVP_DigestUpdate(w->ctx, rowd, 32);
	EVP_DigestFinal_ex(w->ctx, mine, &len);
}

/* The checkpoints up to link n: each names a link walked, and its head is that link's hash. */
static void meet_checkpoints(struct verify *v, struct walk *w, long long n, const uint8_t hash[32])
{
	char hex[65];
	if (w->k == w->ncp || w->cp[w->k].n > n)
		return;
	hex_encode(hex, hash, 32);
	for (; w->k < w->ncp && w->cp[w->k].n <= n; w->k++) {
		const struct checkpoint *c = &w->cp[w->k];
		if (c->n < n)
			problem(v, "checkpoint n=%lld (%s): its link is missing", c->n, c->when);
		else if (strcmp(c->head, hex) != 0)
			problem(v,
				"checkpoint n=%lld (%s): link %lld's hash is not the signed head "
				"(the chain was rewritten up to there)",
				c->n, c->when, n);
	}
}

/* Link i of r: its number follows the one before, its hash chains its row on that one. */
static void walk_link(struct verify *v, struct walk *w, const PGresult *r, int i)
{
	uint8_t hash[32], rowd[32], mine[32];
	long long n = strtoll(PQgetvalue(r, i, AUDIT_LINKS_N), NULL, 10);
	const char *tbl = PQgetvalue(r, i, AUDIT_LINKS_TBL),
		   *key = PQgetvalue(r, i, AUDIT_LINKS_KEY);
	if (!unhex(PQgetvalue(r, i, AUDIT_LINKS_ROW_SHA256), rowd, 32) ||
	    !unhex(PQgetvalue(r, i, AUDIT_LINKS_HASH), hash, 32)) {
		problem(v, "chain: link %lld (%s %s): not a 32-byte digest", n, tbl, key);
		return;
	}
	if (n != w->expect)
		problem(v, "chain: links %lld to %lld are missing (deleted)", w->expect, n - 1);
	link_hash(w, tbl, key, rowd, mine);
	if (n == w->expect && memcmp(mine, hash, 32) != 0)
		problem(v,
			"chain: link %lld (%s %s): its hash is not the one before it chained with "
			"its row (the link, or the one before, was altered)",
			n, tbl, key);
	meet_checkpoints(v, w, n, hash);
	memcpy(w->prev, hash, 32);
	w->expect = n + 1;
	w->after = n;
}

/* The head row names the last link; the chain's summary line. */
static bool check_head(struct verify *v, const struct walk *w)
{
	PGresult *h = pgq_query(sql_audit_head_state, 0, NULL);
	if (h == NULL)
		return false;
	char last[65];
	hex_encode(last, w->prev, 32);
	const char *head_n = PQgetvalue(h, 0, AUDIT_HEAD_STATE_N);
	if (strtoll(head_n, NULL, 10) != w->after ||
	    (w->after > 0 && strcmp(PQgetvalue(h, 0, AUDIT_HEAD_STATE_HASH), last) != 0))
		problem(v, "chain: the head row (link %s) is not the last link (%lld)", head_n,
			w->after);
	fprintf(v->out, "chain: %lld links walked, %s rows queued for the chain stage\n", w->after,
		PQgetvalue(h, 0, AUDIT_HEAD_STATE_QUEUED));
	PQclear(h);
	return true;
}

/*
 * Walk every link from the first, a page at a time: its number follows
 * the one before, its hash is SHA-256(the one before || its bytes), and a
 * checkpoint's head is the hash of the link it names.  After a bad link
 * the walk goes on from its stored hash, so that each alteration is said
 * once or twice, not for every link after it.
 */
static bool walk_chain(struct verify *v, const struct checkpoint *cp, int ncp, long long *links)
{
	struct walk w = {.expect = 1, .cp = cp, .ncp = ncp, .ctx = EVP_MD_CTX_new()};
	bool ok = w.ctx != NULL;
	progress_begin("audit verify: chain", "links", 0);
	for (int rows = 1; ok && rows > 0;) {
		progress_step((unsigned long)w.after);
		char after_s[24];
		snprintf(after_s, sizeof(after_s), "%lld", w.after);
		const char *p[2] = {after_s, LINK_PAGE};
		PGresult *r = pgq_query(sql_audit_links, 2, p);
		ok = r != NULL;
		rows = ok ? PQntuples(r) : 0;
		for (int i = 0; i < rows; i++)
			walk_link(v, &w, r, i);
		PQclear(r);
	}
	progress_end();
	for (; ok && w.k < ncp; w.k++)
		problem(v, "checkpoint n=%lld (%s): the chain ends at link %lld (links deleted)",
			cp[w.k].n, cp[w.k].when, w.after);
	EVP_MD_CTX_free(w.ctx);
	*links = w.after;
	return ok && check_head(v, &w);
}

/* ---- the rows ---- */

static bool check_rows(struct verify *v, const char *const range[3])
{
	PGresult *r = pgq_query(sql_audit_check_rows, 3, range);
	if (r == NULL)
		return false;
	for (int i = 0; i < PQntuples(r); i++)
		problem(v, "row: %s %s: %s", PQgetvalue(r, i, AUDIT_CHECK_ROWS_TBL),
			PQgetvalue(r, i, AUDIT_CHECK_ROWS_KEY),
			PQgetvalue(r, i, AUDIT_CHECK_ROWS_PROBLEM));
	PQclear(r);
	return true;
}

/* ---- the commands ---- */

/* What audit verify checks: docs/audit.md "Verifying". */
struct verify_opts {
	const char *from, *to; /* the records' time range, as PostgreSQL reads it; NULL: open */
	const char *school;    /* a school code; NULL: every school */
	EVP_PKEY *key;	       /* the checkpoints' key (its public half); NULL: none given */
	const char *witness;   /* a file of `audit checkpoints --export`; NULL: none */
	long long max_age_s;   /* the log's newest checkpoint at most this old; 0: any */
};

/* The school's id into id (24 bytes); false (said) when there is none, or on error. */
static bool school_id(const char *code, char *id)
{
	const char *p[1] = {code};
	PGresult *r = pgq_query(sql_audit_school_id, 1, p);
	if (r == NULL)
		return false;
	bool found = PQntuples(r) == 1;
	if (found)
		snprintf(id, 24, "%s", PQgetvalue(r, 0, AUDIT_SCHOOL_ID_ID));
	else
		fprintf(stderr, "hoursctl: audit verify: no school %s\n", code);
	PQclear(r);
	return found;
}

/* Every stored checkpoint's signature with the key given, and the witness against them. */
static void verify_checkpoint_sigs(struct verify *v, const struct checkpoint *cp, int ncp,
				   const char *witness)
{
	unsigned long good = 0;
	for (int i = 0; v->key && i < ncp; i++)
		good += checkpoint_good(v, &cp[i], "");
	if (v->key == NULL && ncp > 0)
		problem(v,
			"checkpoints: %d stored, none verified: no key to verify them with "
			"(--key FILE, or audit.checkpoint_key in -c FILE)",
			ncp);
	else
		fprintf(v->out, "checkpoints: %lu of %d signatures verify (key %.16s...)\n", good,
			ncp, v->key ? v->key_id : "none");
	if (witness && v->key)
		check_witness(v, witness, cp, ncp);
}

/* The log's check (evidence_verify.c), on a thread and a connection of its own. */
struct log_stage {
	struct evidence_opts o;
	FILE *out; /* its lines, said after the chain's and the rows' */
	struct evidence_result r;
	bool ok;
};

static void *log_stage_run(void *arg)
{
	struct log_stage *l = arg;
	l->ok = evidence_verify(&l->o, l->out, &l->r);
	return NULL;
}

/* The lines a stage wrote into f, said on out, in their order; f closed. */
static bool said_after(FILE *f, FILE *out)
{
	char buf[65536];
	size_t n;
	bool ok = fflush(f) == 0 && fseek(f, 0, SEEK_SET) == 0;
	while (ok && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		ok = fwrite(buf, 1, n, out) == n;
	ok = !ferror(f) && ok;
	fclose(f);
	if (!ok)
		fprintf(stderr, "hoursctl: audit verify: a stage's lines: %s\n", strerror(errno));
	return ok;
}

/*
 * The stages that read every row: the log's (evidence_verify.c) on a
 * second connection and thread, and the frames' (evidence.c, its own
 * threads) on hoursctl's, so that PostgreSQL reads for one while the
 * other checks.  Their lines go to files first, and are said after the
 * chain's and the rows', the log's first, as if one ran after the other
 * (as they do, said, when the database refuses a second connection or no
 * file or thread can be had).
 */
static bool log_and_frames(struct verify *v, const struct evidence_opts *eo,
			   const char *const range[3], struct evidence_result *er,
			   struct evidence_counts *n)
{
	struct log_stage l = {.o = *eo};
	l.o.conn = pgq_conn_more();
	l.out = l.o.conn ? tmpfile() : NULL;
	FILE *frames = l.out ? tmpfile() : NULL;
	pthread_t th;
	bool started = frames && pthread_create(&th, NULL, log_stage_run, &l) == 0;
	if (!started) { /* one after the other, on the one connection */
		fprintf(stderr, "hoursctl: audit verify: no second connection, file or thread: the "
				"log and the frames one after the other\n");
		PQfinish(l.o.conn);
		if (l.out)
			fclose(l.out);
		if (frames)
			fclose(frames);
		return evidence_verify(eo, v->out, er) && evidence_check(range, v->out, n);
	}
	bool ok = evidence_check(range, frames, n);
	pthread_join(th, NULL);
	PQfinish(l.o.conn);
	ok = ok && l.ok;
	ok = said_after(l.out, v->out) && ok;
	ok = said_after(frames, v->out) && ok;
	*er = l.r;
	return ok;
}

/* Every discrepancy one line on out; 0 when there is none, 1 otherwise or on error. */
static int verify(const struct verify_opts *o, FILE *out)
{
	struct verify v = {.out = out, .key = o->key};
	const char *range[3] = {o->from, o->to, NULL};
	char id[24];
	if (o->school && !school_id(o->school, id))
		return 1;
	range[2] = o->school ? id : NULL;
	if (v.key && !checkpoint_key_id(v.key, v.key_id))
		return 1;
	int ncp = 0;
	struct checkpoint *cp = load_checkpoints(&ncp);
	if (cp == NULL)
		return 1;
	verify_checkpoint_sigs(&v, cp, ncp, o->witness);
	long long links = 0;
	struct evidence_counts n = {0};
	struct evidence_opts eo = {v.key, v.key_id, o->witness, o->max_age_s, NULL};
	struct evidence_result er = {0};
	bool ok = walk_chain(&v, cp, ncp, &links) && check_rows(&v, range) &&
		  log_and_frames(&v, &eo, range, &er, &n);
	free(cp);
	if (!ok)
		return 1;
	v.problems += er.problems + n.problems;
	fprintf(out, "signatures: %lu training records checked from their raw bytes\n", n.records);
	fprintf(out,
		"frames: %lu training records, %lu session events, %lu photos checked against "
		"their rows in %.1f s (%.0f records/s, %u threads)\n",
		n.records, n.events, n.photos, n.seconds,
		n.seconds > 0 ? (double)(n.records + n.events) / n.seconds : 0.0, n.threads);
	if (audit_differences(NULL, out) != 0)
		v.problems++;
	if (v.problems) {
		fprintf(out, "audit verify: %lu discrepancies\n", v.problems);
		return 1;
	}
	fprintf(out,
		"audit verify: clean (%lld links, %lld batches of %lld rows, %d + %lld checkpoints, "
		"%lu records)\n",
		links, er.batches, er.leaves, ncp, er.checkpoints, n.records);
	return 0;
}

/* The checkpoints' key for verify: --key, else the configuration's audit.checkpoint_key. */
static EVP_PKEY *verify_key(const char *path, int *rc)
{
	char err[512];
	*rc = 0;
	if (path == NULL && cfg_path()) {
		const struct hconf *c = cfg_get();
		if (c == NULL) {
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
	return k;
}

/* audit verify [--from TS] [--to TS] [--school CODE] [--key FILE] [--witness FILE] */
int verify_audit(const struct args *a)
{
	struct verify_opts o = {
		.from = a->opt[0], .to = a->opt[1], .school = a->opt[2], .witness = a->opt[4]};
	int rc;
	time_t t = 0;
	if (a->opt[5]) {
		char *end;
		errno = 0;
		o.max_age_s = strtoll(a->opt[5], &end, 10);
		if (errno || end == a->opt[5] || *end || o.max_age_s < 0) {
			fprintf(stderr,
				"hoursctl: audit verify: --max-age %s: seconds, 0 or more\n",
				a->opt[5]);
			return 2;
		}
	} else if (cfg_path()) {
		const struct hconf *c = cfg_get();
		if (c == NULL)
			return 1;
		o.max_age_s = 3LL * c->audit_checkpoint_interval_s;
	}
	time_t to = 0;
	if ((o.from && !check_time("--from", o.from, &t)) ||
	    (o.to && !check_time("--to", o.to, &to)))
		return check_time_rc();
	if (o.from && o.to && to < t) {
		fprintf(stderr, "hoursctl: audit verify: --to is before --from\n");
		return 2;
	}
	if (o.school && !check_label("school code", o.school, 64))
		return 2;
	o.key = verify_key(a->opt[3], &rc);
	if (rc)
		return rc;
	if (o.witness && o.key == NULL) {
		fprintf(stderr, "hoursctl: audit verify: --witness needs the checkpoints' key to "
				"check it with (--key FILE, or audit.checkpoint_key of -c FILE)\n");
		return 2;
	}
	if (pgq_conn() == NULL) {
		EVP_PKEY_free(o.key);
		return 1;
	}
	/* An unreadable witness fails before anything is checked, not as a discrepancy. */
	FILE *w = o.witness ? fopen(o.witness, "r") : NULL;
	if (o.witness && w == NULL) {
		fprintf(stderr, "hoursctl: audit verify: --witness %s: %s\n", o.witness,
			strerror(errno));
		EVP_PKEY_free(o.key);
		return 1;
	}
	if (w)
		fclose(w);
	rc = verify(&o, stdout);
	EVP_PKEY_free(o.key);
	return rc;
}

/* The checkpoints as a witness file: a line each, after a comment line naming the fields. */
static bool export_checkpoints(const struct checkpoint *cp, int n, const char *path)
{
	FILE *f = fopen(path, "w");
	if (f != NULL) {
		fprintf(f, "# hoursd audit checkpoints v1: n head unix-time key-id signature "
			   "signed-at (hoursctl audit verify --witness)\n");
		for (int i = 0; i < n; i++)
			fprintf(f, "%lld %s %lld %s %s %s\n", cp[i].n, cp[i].head, cp[i].at,
				cp[i].key_id, cp[i].sig_hex, cp[i].when);
	}
	if (f && !evidence_export(f)) {
		fclose(f);
		return false;
	}
	if (f == NULL || fclose(f) != 0) {
		fprintf(stderr, "hoursctl: audit checkpoints: %s: %s\n", path, strerror(errno));
		return false;
	}
	printf("%d checkpoints written to %s\n", n, path);
	return true;
}

/* audit checkpoints [--export FILE]: the stored checkpoints listed, or written to a witness file.
 */
int verify_checkpoints(const struct args *a)
{
	int n = 0;
	if (pgq_conn() == NULL)
		return 1;
	if (a->opt[0] == NULL) {
		/* text: the key's first 16 digits; csv and json: every digit */
		static const struct pgq_col cols[] = {
			{"n", AUDIT_CHECKPOINT_LIST_N, 10, 0},
			{"signed at (UTC)", AUDIT_CHECKPOINT_LIST_SIGNED_ISO, 20, 0},
			{"key", AUDIT_CHECKPOINT_LIST_KEY_ID, 16, PGQ_CUT},
			{"head", AUDIT_CHECKPOINT_LIST_HEAD, 0, 0},
		};
		PGresult *r = pgq_query(sql_audit_checkpoint_list, 0, NULL);
		if (r == NULL)
			return 1;
		out_table(stdout, r, cols, ARRAY_SIZE(cols));
		PQclear(r);
		return 0;
	}
	struct checkpoint *cp = load_checkpoints(&n);
	if (cp == NULL)
		return 1;
	bool ok = export_checkpoints(cp, n, a->opt[0]);
	free(cp);
	return ok ? 0 : 1;
}
