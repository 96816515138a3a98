/*
 * sig.c - signature verification (src/sig.c) as a terminal's record and
 * signed authentication reach it: the cache holds one certificate of each
 * kind hoursd meets (RSA-2048, EC P-256, SM2, SM2 typed as EC, and three
 * it refuses: RSA-1024, EC P-384 and Ed25519), made at start-up.  Input: byte 0 the mode,
 * byte 1 the certificate (bit 7: SIG_F_RSA_RAW), byte 2 the clock, then
 *   mode 0: WORD signature length, the signature, the signed data;
 *   mode 1: byte form (sig_form; bit 2: ECDSA/SM2 as raw r || s), byte
 *           which signature byte to spoil (0: none), the data: signed here
 *           with the certificate's key, spoilt, verified;
 *   mode 2: a certificate put into a cache as the registry gives it: byte
 *           0 the certificate as made, under the digest given next (32
 *           bytes); 1 under its own digest; 2 its PEM cut at the WORD
 *           given; else the PEM given (after the 32-byte digest);
 *   mode 3: a run of puts into a small cache (eviction), byte each.
 */
#include "fuzz.h"
#include "hoursd.h"
#include "sig.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <unistd.h>

#define NKEYS 7
#define T0 1764000000 /* inside every certificate's validity */

static struct sig_cache *cache;
static EVP_PKEY *keys[NKEYS];
static char *pems[NKEYS];
static uint8_t digests[NKEYS][32];

static EVP_PKEY *make_key(int i)
{
	switch (i) {
	case 0:
		return EVP_RSA_gen(2048);
	case 1:
		return EVP_EC_gen("P-256");
	case 2:
		return EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	case 3:
		/* an EC key on the SM2 curve, as some CAs issue SM2: taken as SM2 */
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "SM2");
	case 4:
		return EVP_RSA_gen(1024);
	case 5:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	default:
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	}
}

/* A certificate of key's public key, signed by the RSA-2048 key (kind does not matter to sig.c). */
static char *make_cert(EVP_PKEY *key, EVP_PKEY *issuer, uint8_t digest[32])
{
	X509 *x = X509_new();
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem = NULL, *p;
	unsigned mdlen;
	if (!x || !bio)
		abort();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	ASN1_TIME_set(X509_getm_notBefore(x), T0 - 86400);
	ASN1_TIME_set(X509_getm_notAfter(x), T0 + 86400);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)"fuzz", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, key);
	if (X509_sign(x, issuer, EVP_sha256()) <= 0 || PEM_write_bio_X509(bio, x) != 1 ||
	    X509_digest(x, EVP_sha256(), digest, &mdlen) != 1)
		abort();
	long n = BIO_get_mem_data(bio, &p);
	pem = malloc((size_t)n + 1);
	memcpy(pem, p, (size_t)n);
	pem[n] = '\0';
	BIO_free(bio);
	X509_free(x);
	return pem;
}

/* The key written as PEM and read back the way termsim reads a --sign-key. */
static EVP_PKEY *through_file(EVP_PKEY *key)
{
	char path[] = "/tmp/hoursd-fuzz-key.XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f || PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) != 1)
		abort();
	fclose(f);
	EVP_PKEY *back = sig_load_key(path);
	unlink(path);
	return back ? back : key;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];
	cache = sig_cache_new(8);
	for (int i = 0; i < NKEYS; i++) {
		EVP_PKEY *k = make_key(i);
		if (!k)
			abort();
		pems[i] = make_cert(k, i == 0 ? k : keys[0], digests[i]);
		keys[i] = i < 4 ? through_file(k) : k;
		if (keys[i] != k)
			EVP_PKEY_free(k);
		if (!sig_cache_put(cache, digests[i], pems[i], err, sizeof(err))) {
			fprintf(stderr, "fuzz sig: certificate %d: %s\n", i, err);
			abort();
		}
	}
	return 0;
}

static time_t clock_of(uint8_t b)
{
	switch (b & 3) {
	case 0:
		return T0;
	case 1:
		return T0 - 2 * 86400; /* before */
	case 2:
		return T0 + 2 * 86400; /* after */
	default:
		return T0 + (int8_t)b * 3600;
	}
}

/* DER ECDSA-Sig-Value to r || s, 32 bytes each. */
static bool der_to_raw(uint8_t *sig, size_t *len)
{
	const uint8_t *p = sig;
	ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)*len);
	if (!s)
		return false;
	bool ok = BN_bn2binpad(ECDSA_SIG_get0_r(s), sig, 32) == 32 &&
		  BN_bn2binpad(ECDSA_SIG_get0_s(s), sig + 32, 32) == 32;
	ECDSA_SIG_free(s);
	*len = 64;
	return ok;
}

static void sign_and_verify(int k, struct fuzz_in *in, time_t now, unsigned flags)
{
	uint8_t form = fuzz_byte(in), spoil = fuzz_byte(in), sig[1024];
	size_t sig_len = sizeof(sig), n;
	const uint8_t *data = fuzz_take(in, in->n, &n);
	if (k >= NKEYS)
		return;
	if (!sig_sign_form(keys[k], (enum sig_form)((form & 3) % 3), data, n, sig, &sig_len)) {
		FUZZ_ASSERT(k >= 4); /* only the keys hoursd refuses cannot sign */
		ERR_clear_error();
		return;
	}
	if ((form & 4) && k >= 1 && k <= 3 && !der_to_raw(sig, &sig_len))
		return;
	if (spoil)
		sig[(spoil - 1u) % sig_len] ^= (uint8_t)(1u << (spoil & 7));
	enum sig_result r = sig_verify_flags(cache, digests[k], data, n, sig, sig_len, now, flags);
	bool raw_form = (form & 3) == SIG_FORM_RAW && k == 0;
	if (now == T0 && !spoil && (!raw_form || (flags & SIG_F_RSA_RAW)))
		FUZZ_ASSERT(r == SIG_OK);
	if (spoil && (k == 0 || k >= 4))
		FUZZ_ASSERT(r != SIG_OK); /* (ECDSA: a flip in DER padding may leave it valid) */
}

static void put_pem(int k, struct fuzz_in *in)
{
	char err[256];
	uint8_t sha[32] = {0}, op = fuzz_byte(in);
	size_t n;
	char *pem;
	const uint8_t *p;
	if (op == 1 && k < NKEYS)
		memcpy(sha, digests[k], 32);
	if (op != 1) {
		p = fuzz_take(in, 32, &n);
		memcpy(sha, p, n);
	}
	if (k < NKEYS && op <= 2) {
		pem = strdup(pems[k]);
		if (op == 2)
			pem[fuzz_u16(in) % (strlen(pem) + 1)] = '\0';
	} else {
		p = fuzz_take(in, in->n, &n);
		pem = malloc(n + 1);
		memcpy(pem, p, n);
		pem[n] = '\0';
	}
	struct sig_cache *c = sig_cache_new(2);
	bool ok = sig_cache_put(c, sha, pem, err, sizeof(err));
	FUZZ_ASSERT(ok || err[0] != '\0');
	FUZZ_ASSERT(ok == sig_cache_has(c, sha));
	if (op == 1 && k < NKEYS)
		FUZZ_ASSERT(ok);
	if (ok)
		(void)!sig_verify(c, sha, sha, 32, (const uint8_t *)pem, strlen(pem), T0);
	sig_cache_free(c);
	free(pem);
}

/* The cache is first in, first out (a put of a cached certificate changes nothing): a model of
 * two slots says which are cached after each put. */
static void evictions(struct fuzz_in *in)
{
	char err[256];
	struct sig_cache *c = sig_cache_new(2);
	int model[2] = {-1, -1}; /* [0] the older */
	while (in->n) {
		int k = fuzz_byte(in) % NKEYS;
		FUZZ_ASSERT(sig_cache_put(c, digests[k], pems[k], err, sizeof(err)));
		if (model[0] != k && model[1] != k) {
			if (model[1] < 0) {
				model[model[0] < 0 ? 0 : 1] = k;
			} else {
				model[0] = model[1];
				model[1] = k;
			}
		}
		for (int i = 0; i < NKEYS; i++)
			FUZZ_ASSERT(sig_cache_has(c, digests[i]) ==
				    (model[0] == i || model[1] == i));
	}
	sig_cache_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	uint8_t mode = fuzz_byte(&in), kb = fuzz_byte(&in), tb = fuzz_byte(&in);
	int k = (kb & 0x7f) % (NKEYS + 1); /* NKEYS: a digest not in the cache */
	unsigned flags = kb & 0x80 ? SIG_F_RSA_RAW : 0;
	static const uint8_t unknown[32] = {1};
	time_t now = clock_of(tb);

	switch (mode & 3) {
	case 0: {
		size_t sig_len, n;
		const uint8_t *sig = fuzz_take(&in, fuzz_u16(&in) & 0x3ff, &sig_len);
		const uint8_t *d = fuzz_take(&in, in.n, &n);
		enum sig_result r = sig_verify_flags(cache, k < NKEYS ? digests[k] : unknown, d, n,
						     sig, sig_len, now, flags);
		FUZZ_ASSERT(k < NKEYS || r == SIG_NO_KEY);
		FUZZ_ASSERT(k < 4 || r != SIG_OK);
		FUZZ_ASSERT(sig_result_name(r)[0] != '?');
		break;
	}
	case 1:
		sign_and_verify(k, &in, now, flags);
		break;
	case 2:
		put_pem(k, &in);
		break;
	default:
		evictions(&in);
		break;
	}
	return 0;
}
