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

uint8_t *merkle_leaves(const uint8_t *data, size_t len, size_t *n)
{
	size_t count = 0;
	for (size_t at = 0; at < len; count++) {
		if (len - at < 4)
			return NULL;
		size_t l = (size_t)data[at] << 24 | (size_t)data[at + 1] << 16 |
			   (size_t)data[at + 2] << 8 | data[at + 3];
		if (l > len - at - 4)
			return NULL;
		at += 4 + l;
	}
	uint8_t *out = malloc(32 * count + 1);
	size_t at = 0;
	for (size_t i = 0; out && i < count; i++) {
		size_t l = (size_t)data[at] << 24 | (size_t)data[at + 1] << 16 |
			   (size_t)data[at + 2] << 8 | data[at + 3];
		if (!merkle_leaf(data + at + 4, l, out + 32 * i)) {
			free(out);
			return NULL;
		}
		at += 4 + l;
	}
	*n = count;
	return out;
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
