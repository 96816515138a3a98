/*
 * merkle.h - RFC 9162 (Certificate Transparency v2) Merkle tree hashing
 * of the audit log's batches (docs/audit.md, "The log").
 *
 * leaf hash = SHA-256(0x00 || data), node = SHA-256(0x01 || left || right);
 * a tree of n > 1 leaves splits at k, the largest power of two below n.
 * PostgreSQL writes the leaves' data (migration 015's audit_log_data);
 * hoursd hashes them and builds the tree.  The link of batch n on the
 * one before: SHA-256(hash of n-1 || be64 n || be64 size || root).
 * hoursctl audit check-proof does not use this file: it has its own.
 */
#ifndef HOURSD_MERKLE_H
#define HOURSD_MERKLE_H

#include "hoursd.h"

/* The leaf hash of data: SHA-256(0x00 || data). */
bool merkle_leaf(const uint8_t *data, size_t len, uint8_t out[32]) MUSTCHECK;

/*
 * The leaf hashes (32 bytes each, malloc'ed) of len bytes of leaves' data,
 * each after its length (4 bytes, big-endian); their number into *n.
 * NULL when the framing does not hold (or out of memory).
 */
uint8_t *merkle_leaves(const uint8_t *data, size_t len, size_t *n);

/* The root of n >= 1 leaf hashes (32 bytes each, in order) into root. */
bool merkle_root(const uint8_t *leaves, size_t n, uint8_t root[32]) MUSTCHECK;

/*
 * The audit path of leaf i of n (RFC 9162 2.1.3.1), at most 64 hashes of
 * 32 bytes into path; their number into *len.
 */
bool merkle_path(const uint8_t *leaves, size_t n, size_t i, uint8_t path[][32],
		 size_t *len) MUSTCHECK;

/* The link hash of batch n on prev (above). */
bool merkle_link(const uint8_t prev[32], long long n, long long size, const uint8_t root[32],
		 uint8_t out[32]) MUSTCHECK;

/* Lowercase (or uppercase) hex of exactly 2 * n digits into out; false otherwise. */
bool merkle_unhex(const char *s, uint8_t *out, size_t n);

#endif
