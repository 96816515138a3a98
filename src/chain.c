/*
 * chain.c - see chain.h.
 */
#include "hoursd.h"
#include "chain.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "merkle.h"
#include "queries.h"

#include <errno.h>
#include <stdarg.h>

#include <event2/event.h>
#include <libpq-fe.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* The checkpoint being made: the newest stored, the one to sign. */
struct checkpoint_next {
	long long k, n, log_n, at; /* k: the new one's; n: the newest stored one's batch */
	char head[65];		   /* the newest stored one's head (hex) */
	char line[1280];	   /* the new one as audit.checkpoint_file holds it */
};

struct chain {
	struct db *db;
	struct event *tick, *checkpoint;
	unsigned interval_ms, checkpoint_s;
	EVP_PKEY *key; /* NULL: no checkpoints */
	char key_id[65];
	bool running, signing, stopped;
	size_t pending_size; /* leaves of the batch being appended */
	long long last_k;    /* the last checkpoint this process stored */
	char *file;	     /* audit.checkpoint_file; NULL: none */
	char refusal[320];   /* why the last checkpoint was refused; "": it was not */
	struct checkpoint_next next;
	struct chain_stats st;
};

/* ---- checkpoints ---- */

size_t log_checkpoint_text(char *out, size_t cap, long long k, long long n, const char *head_hex,
			   long long at)
{
	int len =
		snprintf(out, cap, "hoursd audit checkpoint v2\nk=%lld\nn=%lld\nhead=%s\nat=%lld\n",
			 k, n, head_hex, at);
	return len < 0 || (size_t)len >= cap ? 0 : (size_t)len;
}

size_t checkpoint_text(char *out, size_t cap, long long n, const char *head_hex, long long at)
{
	int len = snprintf(out, cap, "hoursd audit checkpoint v1\nn=%lld\nhead=%s\nat=%lld\n", n,
			   head_hex, at);
	return len < 0 || (size_t)len >= cap ? 0 : (size_t)len;
}

#define CHECKPOINT_SIG_MAX 512 /* bytes of a checkpoint's signature: RSA-4096 */

/* The digest a key signs with: SHA-256, none for Ed25519 (it hashes itself). */
static const EVP_MD *md_of(EVP_PKEY *key)
{
	return EVP_PKEY_get_id(key) == EVP_PKEY_ED25519 ? NULL : EVP_sha256();
}

static bool usable(EVP_PKEY *k, char *why, size_t cap)
{
	int id = EVP_PKEY_get_id(k);
	if (id == EVP_PKEY_RSA && EVP_PKEY_get_bits(k) < 2048) {
		snprintf(why, cap, "an RSA key of %d bits (2048 or more)", EVP_PKEY_get_bits(k));
		return false;
	}
	if (id != EVP_PKEY_RSA && id != EVP_PKEY_EC && id != EVP_PKEY_ED25519) {
		snprintf(why, cap, "not an RSA, EC or Ed25519 key");
		return false;
	}
	if (EVP_PKEY_get_size(k) > CHECKPOINT_SIG_MAX) {
		snprintf(why, cap,
			 "its signatures take %d bytes, more than %d (RSA of 4096 bits at most)",
			 EVP_PKEY_get_size(k), CHECKPOINT_SIG_MAX);
		return false;
	}
	return true;
}

EVP_PKEY *checkpoint_key_load(const char *path, bool private_only, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	if (k == NULL && !private_only) {
		rewind(f);
		k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	}
	fclose(f);
	ERR_clear_error();
	char why[96];
	if (k == NULL) {
		snprintf(err, errlen, "%s: not a PEM %s key", path,
			 private_only ? "private" : "private or public");
		return NULL;
	}
	if (!usable(k, why, sizeof(why))) {
		snprintf(err, errlen, "%s: %s", path, why);
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

bool checkpoint_sign(EVP_PKEY *key, const char *text, uint8_t *sig, size_t *len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx && EVP_DigestSignInit(ctx, NULL, md_of(key), NULL, key) == 1 &&
		  EVP_DigestSign(ctx, sig, len, (const uint8_t *)text, strlen(text)) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

bool checkpoint_verify(EVP_PKEY *key, const char *text, const uint8_t *sig, size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx && EVP_DigestVerifyInit(ctx, NULL, md_of(key), NULL, key) == 1 &&
		  EVP_DigestVerify(ctx, sig, len, (const uint8_t *)text, strlen(text)) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

bool checkpoint_key_id(EVP_PKEY *key, char hex[65])
{
	uint8_t *der = NULL, md[32];
	int n = i2d_PUBKEY(key, &der);
	unsigned mdlen = 0;
	bool ok = n > 0 && EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL) == 1;
	OPENSSL_free(der);
	if (ok)
		hex_encode(hex, md, 32);
	return ok;
}

/* ---- the stage ---- */

static void run(struct chain *c);

/* The leaf hashes of hex leaves' data (merkle_leaves); NULL when it does not parse. */
static uint8_t *leaves_of(const char *hex, size_t *n)
{
	size_t len = strlen(hex) / 2;
	uint8_t *data = malloc(len + 1), *leaves = NULL;
	*n = 0;
	if (data && merkle_unhex(hex, data, len))
		leaves = merkle_leaves(data, len, n);
	free(data);
	return leaves;
}

/* Leaf hashes (32 bytes each) as hex, malloc'ed. */
static char *hex_of(const uint8_t *leaves, size_t n)
{
	char *hex = malloc(64 * n + 1);
	if (hex)
		hex_encode(hex, leaves, 32 * n);
	return hex;
}

static void on_appended(void *arg, const PGresult *res)
{
	struct chain *c = arg;
	c->running = false;
	if (res == NULL || PQntuples(res) != 1) {
		c->st.errors++;
		return;
	}
	if (PQgetvalue(res, 0, CHAIN_APPEND_APPENDED)[0] == 't') {
		c->st.batches++;
		c->st.linked += c->pending_size;
	} else if (!c->stopped) {
		run(c); /* another instance appended first: take again */
	}
}

/* The next batch read: its tree built, its link computed, appended on the head read. */
static void on_next(void *arg, const PGresult *res)
{
	struct chain *c = arg;
	if (res == NULL || PQntuples(res) != 1 || c->stopped) {
		c->st.errors += res == NULL || PQntuples(res) != 1;
		c->running = false;
		return;
	}
	const char *n_s = PQgetvalue(res, 0, CHAIN_N), *lo = PQgetvalue(res, 0, CHAIN_LO),
		   *hi = PQgetvalue(res, 0, CHAIN_HI), *data = PQgetvalue(res, 0, CHAIN_DATA);
	if (strcmp(lo, hi) == 0 || data[0] == '\0') {
		/* nothing ended since: the head stays, the next batch takes the range again */
		c->running = false;
		return;
	}
	size_t n = 0;
	uint8_t *leaves = leaves_of(data, &n), prev[32], root[32] = {0}, link[32] = {0};
	long long bn = strtoll(n_s, NULL, 10) + 1;
	bool ok = leaves && merkle_unhex(PQgetvalue(res, 0, CHAIN_HASH), prev, 32) &&
		  merkle_root(leaves, n, root) && merkle_link(prev, bn, (long long)n, root, link);
	char *hex = ok ? hex_of(leaves, n) : NULL;
	free(leaves);
	if (hex == NULL) {
		log_error("audit: batch %lld: the leaves' data read do not parse", bn);
		c->st.errors++;
		c->running = false;
		return;
	}
	char size_s[24], root_hex[65], link_hex[65];
	snprintf(size_s, sizeof(size_s), "%zu", n);
	hex_encode(root_hex, root, 32);
	hex_encode(link_hex, link, 32);
	c->pending_size = n;
	const char *v[7] = {n_s, lo, hi, size_s, hex, root_hex, link_hex};
	db_query(c->db, sql_chain_append, 7, v, on_appended, c);
	free(hex);
}

static void run(struct chain *c)
{
	c->running = true;
	db_query(c->db, sql_chain, 0, NULL, on_next, c);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct chain *c = arg;
	if (!c->running && !c->stopped)
		run(c);
}

/* Sign no more: said once a reason (error log line, metric, /readyz). */
static void refuse(struct chain *c, const char *fmt, ...) PRINTF(2, 3);
static void refuse(struct chain *c, const char *fmt, ...)
{
	char why[sizeof(c->refusal) - 40];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_error("audit: checkpoint refused: %s", why);
	snprintf(c->refusal, sizeof(c->refusal), "audit: checkpoint refused: %s\n", why);
	c->st.refused++;
	c->signing = false;
}

/* The checkpoint's line in audit.checkpoint_file (audit verify --witness reads it). */
static void append_file(struct chain *c, const char *line)
{
	if (c->file == NULL)
		return;
	FILE *f = fopen(c->file, "a");
	if (f == NULL || fputs(line, f) == EOF || fclose(f) != 0) {
		log_error("audit.checkpoint_file %s: %s", c->file, strerror(errno));
		c->st.errors++;
		if (f)
			fclose(f);
	}
}

static void on_checkpoint_saved(void *arg, const PGresult *res)
{
	struct chain *c = arg;
	c->signing = false;
	if (res == NULL) {
		c->st.errors++;
		return;
	}
	if (strtoull(PQcmdTuples((PGresult *)res), NULL, 10) == 1) {
		c->st.checkpoints++;
		c->last_k = c->next.k;
		c->refusal[0] = '\0';
		append_file(c, c->next.line);
	}
}

static int cmp_leaf(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/*
 * Whether the n leaf hashes now (sorted here) are the hex leaves stored, as
 * a set: the rows' leaves are read in no particular order (migration 025).
 */
static bool same_leaves(const char *stored_hex, uint8_t *now, size_t n)
{
	size_t len = strlen(stored_hex);
	if (len != 64 * n)
		return false;
	uint8_t *stored = malloc(32 * n + 1);
	bool same = stored && merkle_unhex(stored_hex, stored, 32 * n);
	if (same) {
		qsort(stored, n, 32, cmp_leaf);
		qsort(now, n, 32, cmp_leaf);
		same = memcmp(stored, now, 32 * n) == 0;
	}
	free(stored);
	return same;
}

/*
 * The batches since the newest checkpoint, recomputed from the rows: each
 * batch's leaves are the rows' leaves now (as a set), its root theirs (in
 * the batch's order), its link on the
 * one before from the checkpoint's head.  Then the head is signed.
 */
static void on_batches(void *arg, const PGresult *res)
{
	struct chain *c = arg;
	if (res == NULL || c->stopped || c->key == NULL) {
		c->st.errors += res == NULL;
		c->signing = false;
		return;
	}
	struct checkpoint_next *x = &c->next;
	uint8_t prev[32], root[32], link[32], want[32];
	if (!merkle_unhex(x->head, prev, 32)) {
		refuse(c, "the head of checkpoint %lld is not a hash", x->k - 1);
		return;
	}
	long long expect = x->n + 1;
	for (int i = 0; i < PQntuples(res); i++) {
		long long n = strtoll(PQgetvalue(res, i, CHECKPOINT_BATCHES_N), NULL, 10);
		long long size = strtoll(PQgetvalue(res, i, CHECKPOINT_BATCHES_SIZE), NULL, 10);
		const char *stored = PQgetvalue(res, i, CHECKPOINT_BATCHES_LEAVES);
		if (n != expect) {
			refuse(c, "batches %lld to %lld are missing", expect, n - 1);
			return;
		}
		size_t nr = 0;
		uint8_t *now = leaves_of(PQgetvalue(res, i, CHECKPOINT_BATCHES_RECOMPUTED), &nr);
		bool same = now && same_leaves(stored, now, nr);
		free(now);
		if (!same) {
			refuse(c,
			       "batch %lld: its rows are not what was logged (changed, "
			       "deleted or inserted since)",
			       n);
			return;
		}
		size_t nl = strlen(stored) / 64;
		uint8_t *leaves = malloc(32 * nl + 1);
		bool ok = leaves && merkle_unhex(stored, leaves, 32 * nl) &&
			  (long long)nl == size && merkle_root(leaves, nl, root) &&
			  merkle_unhex(PQgetvalue(res, i, CHECKPOINT_BATCHES_ROOT), want, 32);
		free(leaves);
		if (!ok || memcmp(root, want, 32) != 0) {
			refuse(c, "batch %lld: its root is not its leaves' tree", n);
			return;
		}
		if (!merkle_link(prev, n, size, root, link) ||
		    !merkle_unhex(PQgetvalue(res, i, CHECKPOINT_BATCHES_HASH), want, 32) ||
		    memcmp(link, want, 32) != 0) {
			refuse(c, "batch %lld: its link is not on the batch before", n);
			return;
		}
		memcpy(prev, link, 32);
		expect = n + 1;
	}
	if (expect - 1 != x->log_n) {
		refuse(c, "the log's head names batch %lld, the batches end at %lld", x->log_n,
		       expect - 1);
		return;
	}
	char text[320], hex[2 * CHECKPOINT_SIG_MAX + 1], head[65], k_s[24], n_s[24], at_s[24];
	uint8_t sig[CHECKPOINT_SIG_MAX];
	size_t len = sizeof(sig);
	hex_encode(head, prev, 32);
	if (log_checkpoint_text(text, sizeof(text), x->k, x->log_n, head, x->at) == 0 ||
	    !checkpoint_sign(c->key, text, sig, &len)) {
		log_error("audit: cannot sign checkpoint %lld", x->k);
		c->st.errors++;
		c->signing = false;
		return;
	}
	hex_encode(hex, sig, len);
	snprintf(k_s, sizeof(k_s), "%lld", x->k);
	snprintf(n_s, sizeof(n_s), "%lld", x->log_n);
	snprintf(at_s, sizeof(at_s), "%lld", x->at);
	snprintf(x->line, sizeof(x->line), "v2 %lld %lld %s %lld %s %s\n", x->k, x->log_n, head,
		 x->at, c->key_id, hex);
	const char *v[6] = {k_s, n_s, head, at_s, c->key_id, hex};
	db_query(c->db, sql_checkpoint_save, 6, v, on_checkpoint_saved, c);
}

/* The newest checkpoint read: what came since is checked, then signed. */
static void on_head(void *arg, const PGresult *res)
{
	struct chain *c = arg;
	if (res == NULL || PQntuples(res) != 1 || c->key == NULL || c->stopped) {
		c->signing = false;
		return;
	}
	struct checkpoint_next *x = &c->next;
	long long k = strtoll(PQgetvalue(res, 0, CHECKPOINT_HEAD_K), NULL, 10);
	x->n = strtoll(PQgetvalue(res, 0, CHECKPOINT_HEAD_N), NULL, 10);
	x->log_n = strtoll(PQgetvalue(res, 0, CHECKPOINT_HEAD_LOG_N), NULL, 10);
	x->at = strtoll(PQgetvalue(res, 0, CHECKPOINT_HEAD_SIGNED_AT), NULL, 10);
	snprintf(x->head, sizeof(x->head), "%s", PQgetvalue(res, 0, CHECKPOINT_HEAD_HEAD));
	if (k < c->last_k) {
		refuse(c, "checkpoint %lld, which this process stored, is gone (newest: %lld)",
		       c->last_k, k);
		return;
	}
	if (x->log_n < x->n) {
		refuse(c, "checkpoint %lld signed batch %lld, the log ends at %lld", k, x->n,
		       x->log_n);
		return;
	}
	x->k = k + 1;
	char n_s[24], log_s[24];
	snprintf(n_s, sizeof(n_s), "%lld", x->n);
	snprintf(log_s, sizeof(log_s), "%lld", x->log_n);
	const char *v[2] = {n_s, log_s};
	db_query(c->db, sql_checkpoint_batches, 2, v, on_batches, c);
}

static void on_checkpoint(evutil_socket_t fd, short what, void *arg)
{
	struct chain *c = arg;
	if (c->key == NULL || c->signing || c->stopped)
		return;
	c->signing = true;
	db_query(c->db, sql_checkpoint_head, 0, NULL, on_head, c);
}

static void arm(struct event *ev, unsigned ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	event_add(ev, &tv);
}

bool chain_key_load(const struct hconf *conf, struct chain_key *k, char *err, size_t errlen)
{
	*k = (struct chain_key){0};
	if (conf->audit_checkpoint_key == NULL)
		return true;
	k->key = checkpoint_key_load(conf->audit_checkpoint_key, true, err, errlen);
	if (k->key && !checkpoint_key_id(k->key, k->id)) {
		snprintf(err, errlen, "%s: cannot encode its public key",
			 conf->audit_checkpoint_key);
		EVP_PKEY_free(k->key);
		k->key = NULL;
	}
	if (k->key)
		return true;
	/* "audit.checkpoint_key " before the reason */
	static const char pre[] = "audit.checkpoint_key ";
	size_t n = strlen(err), len = sizeof(pre) - 1;
	if (n + len < errlen) {
		memmove(err + len, err, n + 1);
		memcpy(err, pre, len);
	}
	return false;
}

void chain_reconfigure(struct chain *c, const struct hconf *conf, struct chain_key *k)
{
	EVP_PKEY_free(c->key);
	c->key = k->key;
	k->key = NULL;
	memcpy(c->key_id, k->id, sizeof(c->key_id));
	free(c->file);
	c->file = conf->audit_checkpoint_file ? strdup(conf->audit_checkpoint_file) : NULL;
	if (c->stopped)
		return;
	if (c->interval_ms != conf->audit_chain_interval_ms) {
		c->interval_ms = conf->audit_chain_interval_ms;
		arm(c->tick, c->interval_ms);
	}
	if (c->checkpoint_s != conf->audit_checkpoint_interval_s) {
		c->checkpoint_s = conf->audit_checkpoint_interval_s;
		arm(c->checkpoint, c->checkpoint_s * 1000);
	}
}

struct chain *chain_new(struct event_base *base, const struct hconf *conf, struct db *db,
			struct chain_key *k)
{
	struct chain *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->db = db;
	c->tick = event_new(base, -1, EV_PERSIST, on_tick, c);
	c->checkpoint = event_new(base, -1, EV_PERSIST, on_checkpoint, c);
	if (c->tick == NULL || c->checkpoint == NULL) {
		chain_free(c);
		return NULL;
	}
	chain_reconfigure(c, conf, k);
	run(c); /* whatever was queued before the start */
	return c;
}

void chain_stop(struct chain *c)
{
	c->stopped = true;
	event_del(c->tick);
	event_del(c->checkpoint);
}

void chain_free(struct chain *c)
{
	if (c == NULL)
		return;
	if (c->tick)
		event_free(c->tick);
	if (c->checkpoint)
		event_free(c->checkpoint);
	EVP_PKEY_free(c->key);
	free(c->file);
	free(c);
}

void chain_get_stats(const struct chain *c, struct chain_stats *st)
{
	*st = c->st;
}

const char *chain_refusal(const struct chain *c)
{
	return c->refusal[0] ? c->refusal : NULL;
}
