/*
 * chain.c - see chain.h.
 */
#include "hoursd.h"
#include "chain.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "queries.h"

#include <errno.h>

#include <event2/event.h>
#include <libpq-fe.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* Rows linked a batch: a batch of this size takes tens of milliseconds. */
#define CHAIN_BATCH "10000"
#define CHAIN_BATCH_N 10000

struct chain {
	struct db *db;
	struct event *tick, *checkpoint;
	unsigned interval_ms, checkpoint_s;
	EVP_PKEY *key; /* NULL: no checkpoints */
	char key_id[65];
	bool running, signing, stopped;
	struct chain_stats st;
};

/* ---- checkpoints ---- */

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

static void on_linked(void *arg, const PGresult *res)
{
	struct chain *c = arg;
	c->running = false;
	if (res == NULL || PQntuples(res) != 1) {
		/* A deadlock, a statement timeout: rolled back whole, taken again. */
		c->st.errors++;
		return;
	}
	uint64_t linked = strtoull(PQgetvalue(res, 0, CHAIN_LINKED), NULL, 10);
	c->st.batches++;
	c->st.linked += linked;
	if (!c->stopped && linked >= CHAIN_BATCH_N)
		run(c);
}

static void run(struct chain *c)
{
	static const char *const v[1] = {CHAIN_BATCH};
	c->running = true;
	db_query(c->db, sql_chain, 1, v, on_linked, c);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct chain *c = arg;
	if (!c->running && !c->stopped)
		run(c);
}

static void on_checkpoint_saved(void *arg, const PGresult *res)
{
	struct chain *c = arg;
	c->signing = false;
	if (res == NULL)
		c->st.errors++;
	else
		c->st.checkpoints += strtoull(PQcmdTuples((PGresult *)res), NULL, 10);
}

/* The head read: sign it (unless already signed, or the chain is empty) and store it. */
static void on_head(void *arg, const PGresult *res)
{
	struct chain *c = arg;
	if (res == NULL || PQntuples(res) != 1 || c->key == NULL || c->stopped) {
		c->signing = false;
		return;
	}
	long long n = strtoll(PQgetvalue(res, 0, CHECKPOINT_HEAD_N), NULL, 10);
	const char *head = PQgetvalue(res, 0, CHECKPOINT_HEAD_HEAD);
	long long at = strtoll(PQgetvalue(res, 0, CHECKPOINT_HEAD_SIGNED_AT), NULL, 10);
	if (n == 0 || PQgetvalue(res, 0, CHECKPOINT_HEAD_SIGNED)[0] == 't') {
		c->signing = false;
		return;
	}
	char text[256], n_s[24], at_s[24], hex[2 * CHECKPOINT_SIG_MAX + 1];
	uint8_t sig[CHECKPOINT_SIG_MAX];
	size_t len = sizeof(sig);
	if (checkpoint_text(text, sizeof(text), n, head, at) == 0 ||
	    !checkpoint_sign(c->key, text, sig, &len)) {
		log_error("audit: cannot sign the checkpoint of link %lld", n);
		c->st.errors++;
		c->signing = false;
		return;
	}
	hex_encode(hex, sig, len);
	snprintf(n_s, sizeof(n_s), "%lld", n);
	snprintf(at_s, sizeof(at_s), "%lld", at);
	const char *v[5] = {n_s, head, at_s, c->key_id, hex};
	db_query(c->db, sql_checkpoint_save, 5, v, on_checkpoint_saved, c);
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
	free(c);
}

void chain_get_stats(const struct chain *c, struct chain_stats *st)
{
	*st = c->st;
}
