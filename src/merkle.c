/*
 * merkle.c - see merkle.h.
 */
#include "hoursd.h"
#include "merkle.h"

#include <openssl/evp.h>

static bool node(const uint8_t l[32], const uint8_t r[32], uint8_t out[32])
{
	uint8_t buf[65];
	unsigned len = 0;
	buf[0] = 0x01;
	memcpy(buf + 1, l, 32);
	memcpy(buf + 33, r, 32);
	return EVP_Digest(buf, sizeof(buf), out, &len, EVP_sha256(), NULL) == 1;
}

bool merkle_leaf(const uint8_t *data, size_t len, uint8_t out[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	static const uint8_t zero = 0x00;
	unsigned olen = 0;
	bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
		  EVP_DigestUpdate(ctx, &zero, 1) == 1 && EVP_DigestUpdate(ctx, data, len) == 1 &&
		  EVP_DigestFinal_ex(ctx, out, &olen) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

#define STORED_LEAF 0x80000000u /* a length's top bit: a leaf hash as it is */

static size_t be32(const uint8_t *p)
{
	return (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
}

uint8_t *merkle_leaves(const uint8_t *data, size_t len, size_t *n)
{
	size_t count = 0;
	for (size_t at = 0; at < len; count++) {
		if (len - at < 4)
			return NULL;
		size_t l = be32(data + at);
		if (l & STORED_LEAF && (l & ~(size_t)STORED_LEAF) != 32)
			return NULL;
		l &= ~(size_t)STORED_LEAF;
		if (l > len - at - 4)
			return NULL;
		at += 4 + l;
	}
	uint8_t *out = malloc(32 * count + 1);
	size_t at = 0;
	for (size_t i = 0; out && i < count; i++) {
		size_t l = be32(data + at);
		if (l & STORED_LEAF) {
			memcpy(out + 32 * i, data + at + 4, 32);
			l = 32;
		} else if (!merkle_leaf(data + at + 4, l, out + 32 * i)) {
			free(out);
			return NULL;
		}
		at += 4 + l;
	}
	*n = count;
	return out;
}

/* ---- a training record's leaf (docs/audit.md, "A training record's leaf") ---- */

#define PG_EPOCH_US 946684800000000LL /* 2000-01-01 UTC in Unix microseconds */

static bool put(EVP_MD_CTX *ctx, const void *p, size_t n)
{
	return EVP_DigestUpdate(ctx, p, n) == 1;
}

static bool put_be(EVP_MD_CTX *ctx, uint64_t v, int bytes)
{
	uint8_t b[8];
	for (int i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	return put(ctx, b, (size_t)bytes);
}

/* Text: its length (4 bytes) and its bytes; NULL: the length -1. */
static bool put_text(EVP_MD_CTX *ctx, const char *s)
{
	if (s == NULL)
		return put_be(ctx, 0xffffffffu, 4);
	size_t n = strlen(s);
	return put_be(ctx, (uint32_t)n, 4) && put(ctx, s, n);
}

/* A moment: 8 bytes, microseconds since 2000-01-01 UTC; NULL: the byte 0xff. */
static bool put_time_us(EVP_MD_CTX *ctx, bool set, int64_t unix_us)
{
	static const uint8_t null = 0xff;
	return set ? put_be(ctx, (uint64_t)(unix_us - PG_EPOCH_US), 8) : put(ctx, &null, 1);
}

bool merkle_record_leaf(const struct merkle_record *r, uint8_t out[32])
{
	static const uint8_t head[] = "\0training_record\n";
	const uint8_t fix = r->fix_valid ? 1 : 0;
	unsigned olen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
		  put(ctx, head, sizeof(head) - 1) && put_be(ctx, (uint64_t)r->terminal_id, 8) &&
		  put_text(ctx, r->record_no) && put_time_us(ctx, true, r->record_time * 1000000) &&
		  put_text(ctx, r->student_no) && put_text(ctx, r->coach_no) &&
		  put_be(ctx, (uint64_t)r->class_id, 8) && put_text(ctx, r->course_code) &&
		  put_be(ctx, (uint64_t)r->part, 2) && put_be(ctx, (uint64_t)r->mode, 2) &&
		  put_text(ctx, r->vehicle_class) && put_be(ctx, (uint64_t)r->upload_type, 2) &&
		  put_be(ctx, (uint64_t)r->record_status, 2) &&
		  put_be(ctx, (uint64_t)(int64_t)r->max_speed_dkmh, 4) &&
		  put_be(ctx, (uint64_t)(int64_t)r->mileage_dkm, 4) &&
		  put_be(ctx, (uint64_t)(int64_t)r->lat_e6, 4) &&
		  put_be(ctx, (uint64_t)(int64_t)r->lon_e6, 4) && put(ctx, &fix, 1) &&
		  put_time_us(ctx, r->has_gnss_time, r->gnss_time * 1000000) &&
		  put_time_us(ctx, r->has_session_login, r->session_login * 1000000) &&
		  put_text(ctx, r->verdict) && put_text(ctx, r->reason) &&
		  put_time_us(ctx, true, r->received_us) && put(ctx, r->raw_sha256, 32) &&
		  EVP_DigestFinal_ex(ctx, out, &olen) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

/* The largest power of two below n (n > 1). */
static size_t split(size_t n)
{
	size_t k = 1;
	while (k << 1 < n)
		k <<= 1;
	return k;
}

static bool mth(const uint8_t *leaves, size_t n, uint8_t out[32])
{
	if (n == 1) {
		memcpy(out, leaves, 32);
		return true;
	}
	size_t k = split(n);
	uint8_t l[32], r[32];
	return mth(leaves, k, l) && mth(leaves + 32 * k, n - k, r) && node(l, r, out);
}

bool merkle_root(const uint8_t *leaves, size_t n, uint8_t root[32])
{
	return n > 0 && mth(leaves, n, root);
}

bool merkle_path(const uint8_t *leaves, size_t n, size_t i, uint8_t path[][32], size_t *len)
{
	*len = 0;
	if (i >= n)
		return false;
	/* from the root down, then reversed: the RFC's path goes leaf to root */
	uint8_t tmp[64][32];
	size_t depth = 0, off = 0;
	while (n > 1) {
		size_t k = split(n);
		bool ok = i < k ? mth(leaves + 32 * (off + k), n - k, tmp[depth])
				: mth(leaves + 32 * off, k, tmp[depth]);
		if (!ok || depth == 63)
			return false;
		depth++;
		if (i < k) {
			n = k;
		} else {
			off += k;
			i -= k;
			n -= k;
		}
	}
	for (size_t d = 0; d < depth; d++)
		memcpy(path[d], tmp[depth - 1 - d], 32);
	*len = depth;
	return true;
}

bool merkle_link(const uint8_t prev[32], long long n, long long size, const uint8_t root[32],
		 uint8_t out[32])
{
	uint8_t buf[32 + 8 + 8 + 32];
	unsigned len = 0;
	memcpy(buf, prev, 32);
	for (int b = 0; b < 8; b++) {
		buf[32 + b] = (uint8_t)((unsigned long long)n >> (56 - 8 * b));
		buf[40 + b] = (uint8_t)((unsigned long long)size >> (56 - 8 * b));
	}
	memcpy(buf + 48, root, 32);
	return EVP_Digest(buf, sizeof(buf), out, &len, EVP_sha256(), NULL) == 1;
}

static int nibble(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

bool merkle_unhex(const char *s, uint8_t *out, size_t n)
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
