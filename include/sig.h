/*
 * sig.h - verification of the terminals' signatures with OpenSSL EVP.
 *
 * The algorithm follows the key of the terminal's registered signing
 * certificate: RSA (PKCS#1 v1.5, SHA-256), EC P-256 (ECDSA, SHA-256) or
 * SM2 (SM2 with SM3, default ID "1234567812345678").  Keys are parsed once
 * and kept in a cache keyed by the certificate's SHA-256, so a certificate
 * changed in the registry is simply another key.  ECDSA and SM2 signatures
 * are DER, or raw r || s (64 bytes).
 *
 * Any other key (RSA below 2048 bits, EC on another curve, Ed25519...) is
 * cached all the same and sig_verify answers SIG_UNSUPPORTED, so that the
 * caller can tell "the registered certificate is unusable" from "the
 * record is forged".  A cache is not thread-safe: one per thread.
 */
#ifndef HOURSD_SIG_H
#define HOURSD_SIG_H

#include "hoursd.h"
#include <time.h>

struct sig_cache;
typedef struct evp_pkey_st EVP_PKEY;

enum sig_result {
	SIG_OK = 0,
	SIG_BAD,	 /* the signature does not verify */
	SIG_NO_KEY,	 /* no certificate cached under that digest */
	SIG_EXPIRED,	 /* the certificate is outside its validity at `now` */
	SIG_UNSUPPORTED, /* a key type other than RSA, EC P-256 or SM2 */
	SIG_REVOKED,	 /* the certificate is on a CRL given to sig_cache_set_crls */
};
const char *sig_result_name(enum sig_result r);

/* At most max_entries certificates (1 to 2^24), the oldest put evicted first. */
struct sig_cache *sig_cache_new(unsigned max_entries) MUSTCHECK;
void sig_cache_free(struct sig_cache *c);

/*
 * Parse and cache the certificate (PEM) under its SHA-256 digest, unless
 * already cached.  False (with err) when it does not parse or its
 * digest differs from sha256.
 */
bool sig_cache_put(struct sig_cache *c, const uint8_t sha256[32], const char *pem, char *err,
		   size_t errlen) MUSTCHECK;
bool sig_cache_has(const struct sig_cache *c, const uint8_t sha256[32]);

/*
 * Certificate revocation lists (tls.crl): a certificate cached now or
 * later that one of them lists (same issuer, same serial) verifies
 * nothing (SIG_REVOKED).  The cache takes its own reference on each
 * CRL; NULL or an empty stack revokes nothing.  Returns how many cached
 * certificates are revoked now.
 */
struct stack_st_X509_CRL;
unsigned sig_cache_set_crls(struct sig_cache *c, struct stack_st_X509_CRL *crls);
bool sig_cache_revoked(const struct sig_cache *c, const uint8_t sha256[32]);

/*
 * Verify sig over data with the cached certificate's key.  RSA
 * signatures are PKCS#1 v1.5 over SHA-256, with or without the
 * DigestInfo prefix (terminals sign the bare digest: docs/protocol.md);
 * with SIG_F_RSA_RAW, unpadded ("textbook") RSA of the digest is taken too
 * (a per-terminal setting, off by default).
 */
enum { SIG_F_RSA_RAW = 1 };
enum sig_result sig_verify_flags(struct sig_cache *c, const uint8_t sha256[32], const uint8_t *data,
				 size_t n, const uint8_t *sig, size_t sig_len, time_t now,
				 unsigned flags) MUSTCHECK;
/* sig_verify_flags with no flags. */
enum sig_result sig_verify(struct sig_cache *c, const uint8_t sha256[32], const uint8_t *data,
			   size_t n, const uint8_t *sig, size_t sig_len, time_t now) MUSTCHECK;

/*
 * Sign with a private key the same way a terminal does (termsim, tests).
 * *sig_len is the room in sig on entry (EVP_PKEY_get_size(key) is enough:
 * 256 for RSA-2048, 72 for ECDSA and SM2), the length written on return.  False on error, or
 * for a key sig_verify would not accept.
 */
bool sig_sign(EVP_PKEY *key, const uint8_t *data, size_t n, uint8_t *sig,
	      size_t *sig_len) MUSTCHECK;
/*
 * The RSA forms a signer can produce: DigestInfo (as sig_sign), the bare
 * digest the terminals sign (Java's "RSA/ECB/PKCS1Padding" over the
 * SHA-256), and unpadded.  Other keys sign as sig_sign whatever the form;
 * false, as sig_sign, for a key sig_verify refuses (RSA below 2048 bits).
 */
enum sig_form { SIG_FORM_DIGESTINFO, SIG_FORM_BARE, SIG_FORM_RAW };
bool sig_sign_form(EVP_PKEY *key, enum sig_form form, const uint8_t *data, size_t n, uint8_t *sig,
		   size_t *sig_len) MUSTCHECK;
/* Load a PEM private key file; NULL on error. */
EVP_PKEY *sig_load_key(const char *path);

#endif
