/*
 * chain.h - the audit log's stage and its signed checkpoints
 * (docs/audit.md, "Tamper evidence").
 *
 * Every row of a logged table carries the id of the transaction that
 * inserted it (audit_xid, migration 015).  Every audit.chain_interval_ms
 * the stage, on a connection of its own, reads the leaves of the rows of
 * the transactions ended since its last batch (sql/queries/daemon/chain.sql),
 * builds their RFC 9162 Merkle tree (merkle.h) and appends one batch
 * (chain_append.sql): its leaves, root, and link on the batch before.
 * With audit.checkpoint_key set, every audit.checkpoint_interval_s it
 * recomputes the batches since the newest checkpoint from the rows, and
 * signs the log's head (checkpoint k + 1: batch n, its link hash, time)
 * only when all of them hold; otherwise it refuses (an error line,
 * hoursd_audit_checkpoints_refused_total, a /readyz reason).  Each
 * checkpoint is stored in audit_log_checkpoint and, with
 * audit.checkpoint_file, appended to that file.  The checkpoint helpers
 * below are shared with hoursctl audit verify.
 */
#ifndef HOURSD_CHAIN_H
#define HOURSD_CHAIN_H

#include "hoursd.h"

struct event_base;
struct hconf;
struct db;
struct chain;
typedef struct evp_pkey_st EVP_PKEY;

struct chain_stats {
	uint64_t batches, errors, linked, checkpoints, refused;
};

/* The key checkpoints are signed with, and its id (checkpoint_key_id). */
struct chain_key {
	EVP_PKEY *key; /* NULL: audit.checkpoint_key is off, nothing is signed */
	char id[65];
};
/*
 * The key audit.checkpoint_key names; false, with err ("audit.checkpoint_key
 * PATH: why"), when it does not load as a signing key.
 */
bool chain_key_load(const struct hconf *conf, struct chain_key *k, char *err,
		    size_t errlen) MUSTCHECK;

/* Signing with k's key (taken: k->key is NULL after); NULL when out of memory. */
struct chain *chain_new(struct event_base *base, const struct hconf *conf, struct db *db,
			struct chain_key *k) MUSTCHECK;
void chain_free(struct chain *c);
/* Take the new intervals, and k's key (taken: k->key is NULL after). */
void chain_reconfigure(struct chain *c, const struct hconf *conf, struct chain_key *k);
/* Shutting down: no statement after the one in flight. */
void chain_stop(struct chain *c);
void chain_get_stats(const struct chain *c, struct chain_stats *st);
/* Why the last checkpoint was refused ("...\n"); NULL when it was not. */
const char *chain_refusal(const struct chain *c);

/* ---- checkpoints (hoursd signs, hoursctl verifies) ---- */

/*
 * The bytes a checkpoint signs, as SQL's audit_checkpoint_text() writes
 * them: "hoursd audit checkpoint v1\nn=N\nhead=HEX\nat=UNIX\n".  Its length.
 */
size_t checkpoint_text(char *out, size_t cap, long long n, const char *head_hex, long long at);
/*
 * The bytes a checkpoint of the log signs, as SQL's
 * audit_log_checkpoint_text() writes them:
 * "hoursd audit checkpoint v2\nk=K\nn=N\nhead=HEX\nat=UNIX\n".  Its length.
 */
size_t log_checkpoint_text(char *out, size_t cap, long long k, long long n, const char *head_hex,
			   long long at);
/*
 * A checkpoint key: a PEM private key (RSA of 2048 bits or more, EC or
 * Ed25519), or for verifying a PEM public key too.  NULL with err.
 */
EVP_PKEY *checkpoint_key_load(const char *path, bool private_only, char *err, size_t errlen);
/* Sign (SHA-256; Ed25519 pure); *len is the room in sig, then the length. */
bool checkpoint_sign(EVP_PKEY *key, const char *text, uint8_t *sig, size_t *len) MUSTCHECK;
bool checkpoint_verify(EVP_PKEY *key, const char *text, const uint8_t *sig, size_t len);
/* The SHA-256 of the key's public half (DER SubjectPublicKeyInfo), in hex. */
bool checkpoint_key_id(EVP_PKEY *key, char hex[65]) MUSTCHECK;

#endif
