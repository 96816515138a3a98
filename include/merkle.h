/*
 * merkle.h - RFC 9162 (Certificate Transparency v2) Merkle tree hashing
 * of the audit log's batches (docs/audit.md, "The log").
 *
 * leaf hash = SHA-256(0x00 || data), node = SHA-256(0x01 || left || right);
 * a tree of n > 1 leaves splits at k, the largest power of two below n.
 * PostgreSQL writes the leaves' data (migration 015's audit_log_data);
 * hoursd hashes them and builds the tree.  The link of batch n on the
 * one before: SHA-256(hash of n-1 || be64 n || be64 size || root).
 * A training record's leaf is computed here too (merkle_record_leaf), from
 * the values its row gets, as hoursd stores the row (migration 025).
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
 * A length with its top bit set (0x80000020) is followed by a leaf hash
 * itself, stored with its row (migration 025): taken as it is.
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

/*
 * A training record's row as its leaf binds it (docs/audit.md, "A training
 * record's leaf"): the values the row of table training_record gets.
 */
struct merkle_record {
	int64_t terminal_id;
	const char *record_no;
	int64_t record_time; /* Unix seconds */
	const char *student_no, *coach_no;
	int64_t class_id;
	const char *course_code;
	int part, mode;
	const char *vehicle_class;
	int upload_type, record_status;
	int32_t max_speed_dkmh, mileage_dkm, lat_e6, lon_e6;
	bool fix_valid;
	bool has_gnss_time, has_session_login; /* false: the column is NULL */
	int64_t gnss_time, session_login;      /* Unix seconds */
	const char *verdict, *reason;	       /* NULL: NULL */
	int64_t received_us;		       /* received_at, Unix microseconds */
	uint8_t raw_sha256[32];
};

/*
 * The leaf hash of a training record's row: SHA-256(0x00 ||
 * "training_record\n" || its fields), the byte layout of docs/audit.md,
 * the one migration 015's leaf_expr writes in SQL.  hoursd stores it
 * with the row (column leaf); the chain stage takes it from there.
 */
bool merkle_record_leaf(const struct merkle_record *r, uint8_t out[32]) MUSTCHECK;

/* Lowercase (or uppercase) hex of exactly 2 * n digits into out; false otherwise. */
bool merkle_unhex(const char *s, uint8_t *out, size_t n);

#endif
