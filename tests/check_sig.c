/*
 * check_sig.c - signature verification: keys and self-signed certificates
 * for RSA-2048, EC P-256 and SM2 are made at start-up; each is signed and
 * verified, and every kind of bad signature, certificate and digest is
 * refused with the right result.  Signatures made by the `openssl` CLI
 * verify here, and ours verify there.
 */
#include "hoursd.h"
#include "sig.h"

#include <check.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

enum { A_RSA, A_EC, A_SM2, A_COUNT };
static const char *const alg_names[A_COUNT] = {"RSA-2048", "EC P-256", "SM2"};

/* A key and a self-signed certificate for it. */
struct cred {
	EVP_PKEY *key;
	char *pem;
	uint8_t sha[32];
};

static struct cred good[A_COUNT], other[A_COUNT];
static time_t t0; /* the certificates of good[] are valid in [t0 - 3600, t0 + 86400] */

static const uint8_t data[] = "0x0203 training record: 013800138000 2026-11-25 11:50:06 "
			      "lat 31.2304 lon 121.4737 speed 32";

/*
 * For the helpers that also run in main(), outside any test, where Check's
 * asserts may not be called.
 */
#define need(cond)                                                                                 \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond);                 \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static EVP_PKEY *keygen(int alg)
{
	EVP_PKEY *k = NULL;
	if (alg == A_RSA)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	else if (alg == A_EC)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else
		k = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	need(k);
	return k;
}

/*
 * A self-signed certificate for key, valid in [nb, na], signed with SM3
 * for SM2 keys and SHA-256 otherwise.  The credential holds a reference.
 */
static void cred_make(struct cred *cr, EVP_PKEY *key, time_t nb, time_t na, long serial)
{
	X509 *x = X509_new();
	need(x);
	need(X509_set_version(x, 2));
	need(ASN1_INTEGER_set(X509_get_serialNumber(x), serial));
	need(ASN1_TIME_set(X509_getm_notBefore(x), nb));
	need(ASN1_TIME_set(X509_getm_notAfter(x), na));
	need(X509_set_pubkey(x, key));
	X509_NAME *name = X509_get_subject_name(x);
	need(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					(const unsigned char *)"013800138000", -1, -1, 0));
	need(X509_set_issuer_name(x, name));
	const EVP_MD *md = EVP_PKEY_is_a(key, "SM2") ? EVP_sm3() : EVP_sha256();
	if (EVP_PKEY_is_a(key, "ED25519"))
		md = NULL;
	need(X509_sign(x, key, md) > 0);

	unsigned len = 0;
	need(X509_digest(x, EVP_sha256(), cr->sha, &len));
	need(len == 32);
	BIO *bio = BIO_new(BIO_s_mem());
	need(bio);
	need(PEM_write_bio_X509(bio, x));
	char *p;
	long n = BIO_get_mem_data(bio, &p);
	cr->pem = strndup(p, (size_t)n);
	need(cr->pem);
	BIO_free(bio);
	X509_free(x);
	need(EVP_PKEY_up_ref(key));
	cr->key = key;
}

static void cred_free(struct cred *cr)
{
	EVP_PKEY_free(cr->key);
	free(cr->pem);
	memset(cr, 0, sizeof(*cr));
}

static struct sig_cache *cache_with(const struct cred *cr)
{
	char err[256] = "";
	struct sig_cache *c = sig_cache_new(8);
	ck_assert_ptr_nonnull(c);
	ck_assert_msg(sig_cache_put(c, cr->sha, cr->pem, err, sizeof(err)), "put: %s", err);
	ck_assert(sig_cache_has(c, cr->sha));
	return c;
}

static size_t sign(EVP_PKEY *key, const uint8_t *d, size_t n, uint8_t *sig)
{
	size_t len = 512;
	ck_assert(sig_sign(key, d, n, sig, &len));
	ck_assert_uint_gt(len, 0);
	return len;
}

static enum sig_result verify(struct sig_cache *c, const struct cred *cr, const uint8_t *d,
			      size_t n, const uint8_t *sig, size_t len)
{
	return sig_verify(c, cr->sha, d, n, sig, len, t0);
}

#define ck_result(got, want)                                                                       \
	ck_assert_msg((got) == (want), "%s: got %s, want %s", alg_names[_i], sig_result_name(got), \
		      sig_result_name(want))

/* DER ECDSA-Sig-Value to raw r || s. */
static void der_to_raw(const uint8_t *der, size_t len, uint8_t raw[64])
{
	const unsigned char *p = der;
	ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)len);
	ck_assert_ptr_nonnull(s);
	const BIGNUM *r, *v;
	ECDSA_SIG_get0(s, &r, &v);
	ck_assert_int_eq(BN_bn2binpad(r, raw, 32), 32);
	ck_assert_int_eq(BN_bn2binpad(v, raw + 32, 32), 32);
	ECDSA_SIG_free(s);
}

START_TEST(test_sign_verify)
{
	struct sig_cache *c = cache_with(&good[_i]);
	uint8_t sig[512];
	size_t len = sign(good[_i].key, data, sizeof(data), sig);
	if (_i == A_RSA)
		ck_assert_uint_eq(len, 256);
	else
		ck_assert_uint_le(len, 72);
	ck_result(verify(c, &good[_i], data, sizeof(data), sig, len), SIG_OK);
	/* Empty data signs and verifies too; twice, the template is reused. */
	len = sign(good[_i].key, NULL, 0, sig);
	ck_result(verify(c, &good[_i], NULL, 0, sig, len), SIG_OK);
	ck_result(verify(c, &good[_i], NULL, 0, sig, len), SIG_OK);
	sig_cache_free(c);
}
END_TEST

/* An RSA signature over the bare SHA-256 digest (no DigestInfo), as some terminals make. */
START_TEST(test_rsa_bare_digest)
{
	struct sig_cache *c = cache_with(&good[A_RSA]);
	uint8_t md[32], sig[512];
	unsigned md_len = 0;
	size_t len = sizeof(sig);
	ck_assert_int_eq(EVP_Digest(data, sizeof(data), md, &md_len, EVP_sha256(), NULL), 1);
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(NULL, good[A_RSA].key, NULL);
	ck_assert_ptr_nonnull(pc);
	ck_assert_int_eq(EVP_PKEY_sign_init(pc), 1);
	ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING), 1);
	ck_assert_int_eq(EVP_PKEY_sign(pc, sig, &len, md, md_len), 1);
	EVP_PKEY_CTX_free(pc);
	ck_assert_int_eq(sig_verify(c, good[A_RSA].sha, data, sizeof(data), sig, len, t0), SIG_OK);
	uint8_t changed[sizeof(data)];
	memcpy(changed, data, sizeof(data));
	changed[0] ^= 1;
	ck_assert_int_eq(sig_verify(c, good[A_RSA].sha, changed, sizeof(changed), sig, len, t0),
			 SIG_BAD);
	sig[10] ^= 0x40;
	ck_assert_int_eq(sig_verify(c, good[A_RSA].sha, data, sizeof(data), sig, len, t0), SIG_BAD);
	sig_cache_free(c);
}
END_TEST

/*
 * The three RSA forms sig_sign_form makes: the DigestInfo and the bare
 * digest always verify; unpadded RSA only with SIG_F_RSA_RAW (a
 * per-terminal setting); a bare-digest signature made by hand above and
 * one made by sig_sign_form are the same bytes (PKCS#1 v1.5 is
 * deterministic).
 */
START_TEST(test_rsa_forms)
{
	struct sig_cache *c = cache_with(&good[A_RSA]);
	uint8_t sig[512], d[sizeof(data)];
	memcpy(d, data, sizeof(d));
	for (int f = SIG_FORM_DIGESTINFO; f <= SIG_FORM_RAW; f++) {
		size_t len = sizeof(sig);
		ck_assert(
			sig_sign_form(good[A_RSA].key, (enum sig_form)f, d, sizeof(d), sig, &len));
		ck_assert_uint_eq(len, 256);
		enum sig_result plain = sig_verify(c, good[A_RSA].sha, d, sizeof(d), sig, len, t0);
		enum sig_result raw = sig_verify_flags(c, good[A_RSA].sha, d, sizeof(d), sig, len,
						       t0, SIG_F_RSA_RAW);
		ck_assert_int_eq(plain, f == SIG_FORM_RAW ? SIG_BAD : SIG_OK);
		ck_assert_int_eq(raw, SIG_OK);
		d[3] ^= 1;
		ck_assert_int_eq(sig_verify_flags(c, good[A_RSA].sha, d, sizeof(d), sig, len, t0,
						  SIG_F_RSA_RAW),
				 SIG_BAD);
		d[3] ^= 1;
	}
	/* A signature one byte short of the modulus is refused before any RSA. */
	size_t len = sizeof(sig);
	ck_assert(sig_sign_form(good[A_RSA].key, SIG_FORM_BARE, d, sizeof(d), sig, &len));
	ck_assert_int_eq(sig_verify(c, good[A_RSA].sha, d, sizeof(d), sig, len - 1, t0), SIG_BAD);
	/* Non-RSA keys sign in their one form whatever is asked. */
	len = sizeof(sig);
	ck_assert(sig_sign_form(good[A_EC].key, SIG_FORM_BARE, d, sizeof(d), sig, &len));
	sig_cache_free(c);
}
END_TEST

START_TEST(test_flipped_data)
{
	struct sig_cache *c = cache_with(&good[_i]);
	uint8_t sig[512], d[sizeof(data)];
	size_t len = sign(good[_i].key, data, sizeof(data), sig);
	size_t where[] = {0, sizeof(data) / 2, sizeof(data) - 1};
	for (size_t k = 0; k < ARRAY_SIZE(where); k++) {
		memcpy(d, data, sizeof(d));
		d[where[k]] ^= 0x01;
		ck_result(verify(c, &good[_i], d, sizeof(d), sig, len), SIG_BAD);
	}
	ck_result(verify(c, &good[_i], data, sizeof(data) - 1, sig, len), SIG_BAD);
	ck_result(verify(c, &good[_i], data, sizeof(data), sig, len), SIG_OK);
	sig_cache_free(c);
}
END_TEST

START_TEST(test_flipped_signature)
{
	struct sig_cache *c = cache_with(&good[_i]);
	uint8_t sig[512];
	size_t len = sign(good[_i].key, data, sizeof(data), sig);
	for (size_t k = 0; k < len; k++) {
		sig[k] ^= 0x80;
		ck_result(verify(c, &good[_i], data, sizeof(data), sig, len), SIG_BAD);
		sig[k] ^= 0x80;
	}
	ck_result(verify(c, &good[_i], data, sizeof(data), sig, len), SIG_OK);
	sig_cache_free(c);
}
END_TEST

START_TEST(test_bad_lengths)
{
	struct sig_cache *c = cache_with(&good[_i]);
	uint8_t sig[4096];
	memset(sig, 0, sizeof(sig));
	size_t len = sign(good[_i].key, data, sizeof(data), sig);
	for (size_t k = 0; k < len; k++)
		ck_result(verify(c, &good[_i], data, sizeof(data), sig, k), SIG_BAD);
	ck_result(verify(c, &good[_i], data, sizeof(data), sig, len + 1), SIG_BAD);
	ck_result(verify(c, &good[_i], data, sizeof(data), sig, sizeof(sig)), SIG_BAD);
	ck_result(verify(c, &good[_i], data, sizeof(data), NULL, 0), SIG_BAD);
	ck_result(verify(c, &good[_i], data, sizeof(data), NULL, len), SIG_BAD);
	memset(sig, 0xff, sizeof(sig));
	ck_result(verify(c, &good[_i], data, sizeof(data), sig, len), SIG_BAD);
	ck_result(verify(c, &good[_i], data, sizeof(data), sig, 64), SIG_BAD);
	memset(sig, 0, sizeof(sig));
	ck_result(verify(c, &good[_i], data, sizeof(data), sig, 64), SIG_BAD);
	sig_cache_free(c);
}
END_TEST

/* ECDSA and SM2 only (loop from A_EC). */
START_TEST(test_raw_rs)
{
	struct sig_cache *c = cache_with(&good[_i]);
	uint8_t sig[512], raw[64];
	size_t len = sign(good[_i].key, data, sizeof(data), sig);
	der_to_raw(sig, len, raw);
	ck_result(verify(c, &good[_i], data, sizeof(data), raw, sizeof(raw)), SIG_OK);
	for (size_t k = 0; k < sizeof(raw); k += 7) {
		raw[k] ^= 0x04;
		ck_result(verify(c, &good[_i], data, sizeof(data), raw, sizeof(raw)), SIG_BAD);
		raw[k] ^= 0x04;
	}
	ck_result(verify(c, &good[_i], data, sizeof(data) - 1, raw, sizeof(raw)), SIG_BAD);
	ck_result(verify(c, &good[_i], data, sizeof(data), raw, 63), SIG_BAD);
	sig_cache_free(c);
}
END_TEST

START_TEST(test_wrong_cert)
{
	struct sig_cache *c = cache_with(&other[_i]);
	uint8_t sig[512];
	size_t len = sign(good[_i].key, data, sizeof(data), sig);
	ck_result(verify(c, &other[_i], data, sizeof(data), sig, len), SIG_BAD);
	/* A key of another algorithm: RSA under EC, EC under SM2, SM2 under RSA. */
	struct cred *cross = &good[(_i + 2) % A_COUNT];
	char err[256];
	ck_assert(sig_cache_put(c, cross->sha, cross->pem, err, sizeof(err)));
	ck_result(verify(c, cross, data, sizeof(data), sig, len), SIG_BAD);
	sig_cache_free(c);
}
END_TEST

/* Validity bounds are inclusive; outside them the signature is not even looked at. */
START_TEST(test_validity)
{
	struct cred past, future;
	time_t now = time(NULL);
	cred_make(&past, good[_i].key, now - 2 * 86400, now - 86400, 2);
	cred_make(&future, good[_i].key, now + 86400, now + 2 * 86400, 3);
	struct sig_cache *c = cache_with(&past);
	char err[256];
	ck_assert(sig_cache_put(c, future.sha, future.pem, err, sizeof(err)));
	ck_assert(sig_cache_put(c, good[_i].sha, good[_i].pem, err, sizeof(err)));
	uint8_t sig[512];
	size_t len = sign(good[_i].key, data, sizeof(data), sig);
	ck_result(sig_verify(c, past.sha, data, sizeof(data), sig, len, now), SIG_EXPIRED);
	ck_result(sig_verify(c, future.sha, data, sizeof(data), sig, len, now), SIG_EXPIRED);
	ck_result(sig_verify(c, past.sha, data, sizeof(data), sig, len, now - 86400), SIG_OK);
	ck_result(sig_verify(c, future.sha, data, sizeof(data), sig, len, now + 86400), SIG_OK);

	const uint8_t *sha = good[_i].sha;
	ck_result(sig_verify(c, sha, data, sizeof(data), sig, len, t0 - 3601), SIG_EXPIRED);
	ck_result(sig_verify(c, sha, data, sizeof(data), sig, len, t0 - 3600), SIG_OK);
	ck_result(sig_verify(c, sha, data, sizeof(data), sig, len, t0 + 86400), SIG_OK);
	ck_result(sig_verify(c, sha, data, sizeof(data), sig, len, t0 + 86401), SIG_EXPIRED);
	ck_result(sig_verify(c, sha, data, sizeof(data), NULL, 0, t0 + 86401), SIG_EXPIRED);
	sig_cache_free(c);
	cred_free(&past);
	cred_free(&future);
}
END_TEST

START_TEST(test_unknown_digest)
{
	struct sig_cache *c = cache_with(&good[A_EC]);
	uint8_t sig[512], sha[32];
	size_t len = sign(good[A_EC].key, data, sizeof(data), sig);
	memcpy(sha, good[A_EC].sha, 32);
	sha[31] ^= 1;
	ck_assert_int_eq(sig_verify(c, sha, data, sizeof(data), sig, len, t0), SIG_NO_KEY);
	ck_assert(!sig_cache_has(c, sha));
	ck_assert_int_eq(sig_verify(c, good[A_RSA].sha, data, sizeof(data), sig, len, t0),
			 SIG_NO_KEY);
	sig_cache_free(c);
}
END_TEST

START_TEST(test_put_digest_mismatch)
{
	struct sig_cache *c = sig_cache_new(4);
	ck_assert_ptr_nonnull(c);
	char err[256] = "";
	uint8_t sha[32];
	memcpy(sha, good[A_SM2].sha, 32);
	sha[0] ^= 0x20;
	ck_assert(!sig_cache_put(c, sha, good[A_SM2].pem, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "SHA-256"));
	ck_assert(!sig_cache_has(c, sha));
	ck_assert(!sig_cache_has(c, good[A_SM2].sha));
	/* Another certificate's digest. */
	ck_assert(!sig_cache_put(c, good[A_EC].sha, good[A_SM2].pem, err, sizeof(err)));
	ck_assert(!sig_cache_has(c, good[A_EC].sha));
	/* No room for the message is fine. */
	ck_assert(!sig_cache_put(c, sha, good[A_SM2].pem, NULL, 0));
	sig_cache_free(c);
}
END_TEST

START_TEST(test_put_garbage)
{
	static const char *const bad[] = {
		"",
		"garbage",
		"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
		"-----BEGIN CERTIFICATE-----\nAAAAAAAAAAAAAAAAAAAAAAAA\n-----END "
		"CERTIFICATE-----\n",
		"-----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJAKHHIG...\n-----END CERTIFICATE-----\n",
		"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
	};
	struct sig_cache *c = sig_cache_new(4);
	ck_assert_ptr_nonnull(c);
	char err[256];
	for (size_t k = 0; k < ARRAY_SIZE(bad); k++) {
		err[0] = '\0';
		ck_assert_msg(!sig_cache_put(c, good[A_EC].sha, bad[k], err, sizeof(err)), "%zu",
			      k);
		ck_assert_msg(err[0] != '\0', "no message for %zu", k);
		ck_assert_uint_eq(ERR_peek_error(), 0);
	}
	/* A certificate cut short. */
	char *cut = strdup(good[A_EC].pem);
	ck_assert_ptr_nonnull(cut);
	cut[strlen(cut) / 2] = '\0';
	ck_assert(!sig_cache_put(c, good[A_EC].sha, cut, err, sizeof(err)));
	free(cut);
	ck_assert(!sig_cache_has(c, good[A_EC].sha));
	sig_cache_free(c);
}
END_TEST

/* RSA below 2048 bits and EC on P-384 are cached but refused at verify time. */
START_TEST(test_unsupported_keys)
{
	EVP_PKEY *rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	ck_assert_ptr_nonnull(rsa1024);
	ck_assert_ptr_nonnull(p384);
	ck_assert_ptr_nonnull(ed);
	struct cred cr[3];
	cred_make(&cr[0], rsa1024, t0 - 60, t0 + 60, 10);
	cred_make(&cr[1], p384, t0 - 60, t0 + 60, 11);
	cred_make(&cr[2], ed, t0 - 60, t0 + 60, 12);
	struct sig_cache *c = sig_cache_new(4);
	ck_assert_ptr_nonnull(c);
	uint8_t sig[512] = {0};
	size_t len;
	for (size_t k = 0; k < ARRAY_SIZE(cr); k++) {
		char err[256];
		ck_assert(sig_cache_put(c, cr[k].sha, cr[k].pem, err, sizeof(err)));
		len = sizeof(sig);
		ck_assert(!sig_sign(cr[k].key, data, sizeof(data), sig, &len));
		/* the bare and raw RSA forms too (fuzz/regress/sig/rsa1024-raw-form) */
		for (int f = SIG_FORM_DIGESTINFO; f <= SIG_FORM_RAW; f++) {
			len = sizeof(sig);
			ck_assert(!sig_sign_form(cr[k].key, (enum sig_form)f, data, sizeof(data),
						 sig, &len));
		}
		ck_assert_int_eq(sig_verify(c, cr[k].sha, data, sizeof(data), sig, 64, t0),
				 SIG_UNSUPPORTED);
		cred_free(&cr[k]);
	}
	ck_assert_uint_eq(ERR_peek_error(), 0);
	sig_cache_free(c);
	EVP_PKEY_free(rsa1024);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(ed);
}
END_TEST

/* Far more certificates than room: the newest stay, the oldest go, nothing leaks. */
START_TEST(test_eviction)
{
	enum { MAX = 5, N = 60 };
	struct cred cr[N];
	struct sig_cache *c = sig_cache_new(MAX);
	ck_assert_ptr_nonnull(c);
	uint8_t sig[512];
	size_t len = sign(good[A_EC].key, data, sizeof(data), sig);
	for (int k = 0; k < N; k++) {
		char err[256];
		cred_make(&cr[k], good[A_EC].key, t0 - 60, t0 + 60, 100 + k);
		ck_assert(sig_cache_put(c, cr[k].sha, cr[k].pem, err, sizeof(err)));
		/* A second put of a cached certificate changes nothing. */
		ck_assert(sig_cache_put(c, cr[k].sha, cr[k].pem, err, sizeof(err)));
		for (int j = 0; j <= k; j++)
			ck_assert_msg(sig_cache_has(c, cr[j].sha) == (j > k - MAX), "%d after %d",
				      j, k);
		ck_assert_int_eq(sig_verify(c, cr[k].sha, data, sizeof(data), sig, len, t0),
				 SIG_OK);
	}
	ck_assert_int_eq(sig_verify(c, cr[0].sha, data, sizeof(data), sig, len, t0), SIG_NO_KEY);
	/* An evicted certificate comes back, evicting the oldest left. */
	char err[256];
	ck_assert(sig_cache_put(c, cr[0].sha, cr[0].pem, err, sizeof(err)));
	ck_assert(sig_cache_has(c, cr[0].sha));
	ck_assert(!sig_cache_has(c, cr[N - MAX].sha));
	ck_assert(sig_cache_has(c, cr[N - 1].sha));
	sig_cache_free(c);
	for (int k = 0; k < N; k++)
		cred_free(&cr[k]);
	c = sig_cache_new(1);
	ck_assert_ptr_nonnull(c);
	for (int k = 0; k < A_COUNT; k++) {
		ck_assert(sig_cache_put(c, good[k].sha, good[k].pem, err, sizeof(err)));
		ck_assert(sig_cache_has(c, good[k].sha));
		ck_assert(k == 0 || !sig_cache_has(c, good[k - 1].sha));
	}
	sig_cache_free(c);
	ck_assert_ptr_null(sig_cache_new(0));
	sig_cache_free(NULL);
}
END_TEST

static char *write_key(const char *suffix, EVP_PKEY *key, bool pub)
{
	char *path = NULL;
	ck_assert_int_gt(asprintf(&path, "/tmp/check_sig_%d_%s", (int)getpid(), suffix), 0);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	if (pub)
		ck_assert(PEM_write_PUBKEY(f, key));
	else
		ck_assert(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL));
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

START_TEST(test_load_key)
{
	char *path = write_key("load.pem", good[_i].key, false);
	EVP_PKEY *k = sig_load_key(path);
	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(EVP_PKEY_eq(k, good[_i].key), 1);
	struct sig_cache *c = cache_with(&good[_i]);
	uint8_t sig[512];
	size_t len = sign(k, data, sizeof(data), sig);
	ck_result(verify(c, &good[_i], data, sizeof(data), sig, len), SIG_OK);
	EVP_PKEY_free(k);
	unlink(path);
	free(path);
	/* Missing, a certificate, garbage. */
	ck_assert_ptr_null(sig_load_key("/nonexistent/key.pem"));
	path = write_key("load.pub", good[_i].key, true);
	ck_assert_ptr_null(sig_load_key(path));
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(good[_i].pem, f);
	fclose(f);
	ck_assert_ptr_null(sig_load_key(path));
	unlink(path);
	free(path);
	ck_assert_uint_eq(ERR_peek_error(), 0);
	sig_cache_free(c);
}
END_TEST

/* An SM2-curve key typed "EC" (made in memory) still signs with SM2. */
START_TEST(test_sm2_key_typed_ec)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "SM2");
	ck_assert_ptr_nonnull(k);
	ck_assert(!EVP_PKEY_is_a(k, "SM2"));
	struct cred cr;
	cred_make(&cr, k, t0 - 60, t0 + 60, 20);
	struct sig_cache *c = cache_with(&cr);
	uint8_t sig[512];
	size_t len = sign(k, data, sizeof(data), sig);
	ck_assert_int_eq(verify(c, &cr, data, sizeof(data), sig, len), SIG_OK);
	sig_cache_free(c);
	cred_free(&cr);
	EVP_PKEY_free(k);
}
END_TEST

START_TEST(test_result_names)
{
	for (int r = SIG_OK; r <= SIG_UNSUPPORTED; r++)
		ck_assert_str_ne(sig_result_name((enum sig_result)r), "?");
	ck_assert_str_eq(sig_result_name((enum sig_result)99), "?");
}
END_TEST

/*
 * The openssl CLI of this machine.  For SM2 it must be given the ID: with
 * no -sigopt, OpenSSL 3.0 signs with an empty ID, which must not verify.
 */
static const char *const cli_opts[A_COUNT] = {
	"-sha256",
	"-sha256",
	"-sm3 -sigopt distid:1234567812345678",
};

/* openssl dgst opts -sign key -out sig data, or -verify key -signature sig data. */
static void dgst(const char *opts, bool sign, const char *key, const char *sig, const char *d)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "openssl dgst %s %s %s %s %s %s >/dev/null", opts,
		 sign ? "-sign" : "-verify", key, sign ? "-out" : "-signature", sig, d);
	int rc = system(cmd);
	ck_assert_msg(rc == 0, "%s: %d", cmd, rc);
}

static size_t read_file(const char *path, uint8_t *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

START_TEST(test_openssl_cli)
{
	if (system("openssl version >/dev/null 2>&1") != 0) {
		fprintf(stderr, "check_sig: no openssl CLI, interoperability not tested\n");
		return;
	}
	char *key = write_key("cli.key", good[_i].key, false);
	char *pub = write_key("cli.pub", good[_i].key, true);
	char *dat = NULL, *sigf = NULL;
	ck_assert_int_gt(asprintf(&dat, "/tmp/check_sig_%d_cli.dat", (int)getpid()), 0);
	ck_assert_int_gt(asprintf(&sigf, "/tmp/check_sig_%d_cli.sig", (int)getpid()), 0);
	FILE *f = fopen(dat, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, sizeof(data), f), sizeof(data));
	fclose(f);
	struct sig_cache *c = cache_with(&good[_i]);
	uint8_t sig[1024];

	/* The CLI signs, we verify. */
	dgst(cli_opts[_i], true, key, sigf, dat);
	size_t len = read_file(sigf, sig, sizeof(sig));
	ck_result(verify(c, &good[_i], data, sizeof(data), sig, len), SIG_OK);
	sig[len / 2] ^= 1;
	ck_result(verify(c, &good[_i], data, sizeof(data), sig, len), SIG_BAD);

	/* We sign, the CLI verifies. */
	len = sign(good[_i].key, data, sizeof(data), sig);
	f = fopen(sigf, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(sig, 1, len, f), len);
	fclose(f);
	dgst(cli_opts[_i], false, pub, sigf, dat);

	if (_i == A_SM2) {
		/* Signed without the ID: OpenSSL 3.0 then uses an empty one. */
		dgst("-sm3", true, key, sigf, dat);
		len = read_file(sigf, sig, sizeof(sig));
		ck_result(verify(c, &good[_i], data, sizeof(data), sig, len), SIG_BAD);
	}
	sig_cache_free(c);
	unlink(key);
	unlink(pub);
	unlink(dat);
	unlink(sigf);
	free(key);
	free(pub);
	free(dat);
	free(sigf);
}
END_TEST

static Suite *sig_suite(void)
{
	Suite *s = suite_create("sig");
	TCase *algs = tcase_create("algorithms");
	TCase *cache = tcase_create("cache");
	TCase *cli = tcase_create("openssl-cli");

	tcase_set_timeout(algs, 60);
	tcase_set_timeout(cache, 60);
	tcase_set_timeout(cli, 60);

	tcase_add_loop_test(algs, test_sign_verify, 0, A_COUNT);
	tcase_add_loop_test(algs, test_flipped_data, 0, A_COUNT);
	tcase_add_loop_test(algs, test_flipped_signature, 0, A_COUNT);
	tcase_add_loop_test(algs, test_bad_lengths, 0, A_COUNT);
	tcase_add_loop_test(algs, test_raw_rs, A_EC, A_COUNT);
	tcase_add_loop_test(algs, test_wrong_cert, 0, A_COUNT);
	tcase_add_loop_test(algs, test_validity, 0, A_COUNT);
	tcase_add_loop_test(algs, test_load_key, 0, A_COUNT);
	tcase_add_test(algs, test_sm2_key_typed_ec);
	tcase_add_test(algs, test_rsa_bare_digest);
	tcase_add_test(algs, test_rsa_forms);
	tcase_add_test(algs, test_unsupported_keys);

	tcase_add_test(cache, test_unknown_digest);
	tcase_add_test(cache, test_put_digest_mismatch);
	tcase_add_test(cache, test_put_garbage);
	tcase_add_test(cache, test_eviction);
	tcase_add_test(cache, test_result_names);

	tcase_add_loop_test(cli, test_openssl_cli, 0, A_COUNT);

	suite_add_tcase(s, algs);
	suite_add_tcase(s, cache);
	suite_add_tcase(s, cli);
	return s;
}

int main(void)
{
	t0 = time(NULL);
	for (int k = 0; k < A_COUNT; k++) {
		EVP_PKEY *a = keygen(k), *b = keygen(k);
		cred_make(&good[k], a, t0 - 3600, t0 + 86400, 1);
		cred_make(&other[k], b, t0 - 3600, t0 + 86400, 1);
		EVP_PKEY_free(a);
		EVP_PKEY_free(b);
	}
	SRunner *sr = srunner_create(sig_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	for (int k = 0; k < A_COUNT; k++) {
		cred_free(&good[k]);
		cred_free(&other[k]);
	}
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
