/*
 * sig.c - see sig.h.
 *
 * Each cached certificate keeps its public key and one digest-verify
 * context initialised at put time.  A verification copies that template
 * into the cache's scratch context, so the hot path does no parsing and no
 * provider fetch: one context copy, the digest and the public-key
 * operation.
 *
 * SM2 in OpenSSL 3.0: a certificate on the SM2 curve decodes to an "SM2"
 * key (EVP_PKEY_get_id() is -1 for it, so types are told with
 * EVP_PKEY_is_a()).  The SM2 signature provider's default ID is empty, not
 * the GM/T 0009 default, so the ID is always passed as the "distid"
 * parameter of EVP_DigestVerifyInit_ex / EVP_DigestSignInit_ex.
 */
#include "hoursd.h"
#include "sig.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define SM2_ID "1234567812345678"
#define SM2_ID_LEN 16
#define RSA_MIN_BITS 2048
#define EC_RAW_LEN 64 /* r || s, 32 bytes each */
#define EC_DER_MAX 80 /* a DER ECDSA-Sig-Value of two 256-bit integers: 72 */
#define MAX_ENTRIES (1u << 24)

enum sig_alg { ALG_NONE, ALG_RSA, ALG_ECDSA, ALG_SM2 };

struct sig_entry {
	uint8_t sha256[32];
	bool used;
	enum sig_alg alg;      /* ALG_NONE: the key is not one we verify */
	EVP_PKEY *pkey;	       /* NULL when alg is ALG_NONE */
	EVP_MD_CTX *tmpl;      /* verification initialised once, copied per call */
	EVP_PKEY_CTX *rec;     /* RSA: public-key recovery, PKCS#1 type-1 padding */
	EVP_PKEY_CTX *rec_raw; /* RSA: public-key recovery, no padding */
	size_t max_sig;	       /* the largest signature the key can make */
	time_t not_before;
	time_t not_after;
	X509 *cert;   /* for the CRLs */
	bool revoked; /* on one of the cache's CRLs */
	int32_t next; /* next entry in the same bucket, -1 ends */
};

/*
 * Entries live in a ring filled in insertion order; when it is full the
 * slot reused is the oldest one.  Buckets (a power of two, at least twice
 * the ring) chain entry indices; the digest is uniform, so its first
 * bytes are the hash.
 */
struct sig_cache {
	struct sig_entry *e;
	unsigned max;
	unsigned next_slot;
	int32_t *bucket;
	uint32_t mask;
	EVP_MD_CTX *work;	   /* scratch for sig_verify: the cache is single-threaded */
	STACK_OF(X509_CRL) * crls; /* NULL: nothing revoked */
};

static const char *const result_names[] = {"ok",      "bad signature",	 "no key",
					   "expired", "unsupported key", "revoked"};

const char *sig_result_name(enum sig_result r)
{
	if ((size_t)r < ARRAY_SIZE(result_names))
		return result_names[r];
	return "?";
}

/* Put the first OpenSSL error after what into err, and empty the queue. */
static void ssl_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_peek_error();
	char buf[256] = "";
	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	if (err && errlen)
		snprintf(err, errlen, "%s%s%s", what, e ? ": " : "", buf);
	ERR_clear_error();
}

static uint32_t bucket_of(const struct sig_cache *c, const uint8_t sha256[32])
{
	uint32_t h;
	memcpy(&h, sha256, sizeof(h));
	return h & c->mask;
}

struct sig_cache *sig_cache_new(unsigned max_entries)
{
	if (max_entries == 0 || max_entries > MAX_ENTRIES)
		return NULL;
	struct sig_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	uint32_t nb = 2;
	while (nb < 2 * max_entries)
		nb <<= 1;
	c->max = max_entries;
	c->mask = nb - 1;
	c->e = calloc(max_entries, sizeof(*c->e));
	c->bucket = malloc(nb * sizeof(*c->bucket));
	c->work = EVP_MD_CTX_new();
	if (!c->e || !c->bucket || !c->work) {
		sig_cache_free(c);
		return NULL;
	}
	for (uint32_t i = 0; i < nb; i++)
		c->bucket[i] = -1;
	return c;
}

static void entry_clear(struct sig_entry *e)
{
	EVP_MD_CTX_free(e->tmpl);
	EVP_PKEY_CTX_free(e->rec);
	EVP_PKEY_CTX_free(e->rec_raw);
	EVP_PKEY_free(e->pkey);
	X509_free(e->cert);
	memset(e, 0, sizeof(*e));
}

void sig_cache_free(struct sig_cache *c)
{
	if (!c)
		return;
	for (unsigned i = 0; c->e && i < c->max; i++)
		entry_clear(&c->e[i]);
	free(c->e);
	free(c->bucket);
	EVP_MD_CTX_free(c->work);
	sk_X509_CRL_pop_free(c->crls, X509_CRL_free);
	free(c);
}

static struct sig_entry *lookup(const struct sig_cache *c, const uint8_t sha256[32])
{
	for (int32_t i = c->bucket[bucket_of(c, sha256)]; i >= 0; i = c->e[i].next) {
		if (memcmp(c->e[i].sha256, sha256, 32) == 0)
			return &c->e[i];
	}
	return NULL;
}

bool sig_cache_has(const struct sig_cache *c, const uint8_t sha256[32])
{
	return lookup(c, sha256) != NULL;
}

/* Take slot i out of its bucket chain and free what it holds. */
/* x is on one of crls: the CRL of its issuer lists its serial. */
static bool is_revoked(STACK_OF(X509_CRL) * crls, X509 *x)
{
	X509_REVOKED *rev;
	for (int i = 0; crls && i < sk_X509_CRL_num(crls); i++) {
		X509_CRL *crl = sk_X509_CRL_value(crls, i);
		if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(x)) == 0 &&
		    X509_CRL_get0_by_cert(crl, &rev, x) == 1)
			return true;
	}
	return false;
}

unsigned sig_cache_set_crls(struct sig_cache *c, STACK_OF(X509_CRL) * crls)
{
	unsigned n = 0;
	sk_X509_CRL_pop_free(c->crls, X509_CRL_free);
	c->crls = NULL;
	if (crls && sk_X509_CRL_num(crls) > 0) {
		c->crls = sk_X509_CRL_dup(crls);
		for (int i = 0; c->crls && i < sk_X509_CRL_num(c->crls); i++)
			X509_CRL_up_ref(sk_X509_CRL_value(c->crls, i));
	}
	for (unsigned i = 0; i < c->max; i++) {
		struct sig_entry *e = &c->e[i];
		e->revoked = e->used && e->cert && is_revoked(c->crls, e->cert);
		n += e->revoked;
	}
	return n;
}

bool sig_cache_revoked(const struct sig_cache *c, const uint8_t sha256[32])
{
	const struct sig_entry *e = lookup(c, sha256);
	return e && e->revoked;
}

static void evict(struct sig_cache *c, int32_t i)
{
	int32_t *link = &c->bucket[bucket_of(c, c->e[i].sha256)];
	while (*link != i)
		link = &c->e[*link].next;
	*link = c->e[i].next;
	entry_clear(&c->e[i]);
}

/*
 * An EC key on the SM2 curve that was typed "EC" (made in memory, or by
 * another decoder) signs with ECDSA; rebuild it as an "SM2" key from the
 * same parameters.  OpenSSL 3.0's decoders already type such
 * certificates and PEM keys "SM2", so this is for keys made in memory.
 */
static EVP_PKEY *as_sm2(EVP_PKEY *pkey, int selection)
{
	OSSL_PARAM *params = NULL;
	EVP_PKEY *out = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "SM2", NULL);
	if (!ctx || EVP_PKEY_todata(pkey, selection, &params) != 1 ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &out, selection, params) != 1)
		out = NULL;
	OSSL_PARAM_free(params);
	EVP_PKEY_CTX_free(ctx);
	return out;
}

/*
 * The algorithm for a key, and the key to use (*pkey may be replaced by an
 * SM2-typed copy, the original then freed).  ALG_NONE for anything else.
 */
static enum sig_alg key_alg(EVP_PKEY **pkey, int selection)
{
	char group[64] = "";
	size_t glen = 0;
	if (EVP_PKEY_is_a(*pkey, "RSA"))
		return EVP_PKEY_get_bits(*pkey) >= RSA_MIN_BITS ? ALG_RSA : ALG_NONE;
	if (EVP_PKEY_is_a(*pkey, "SM2"))
		return ALG_SM2;
	if (!EVP_PKEY_is_a(*pkey, "EC") ||
	    !EVP_PKEY_get_group_name(*pkey, group, sizeof(group), &glen))
		return ALG_NONE;
	if (strcmp(group, "prime256v1") == 0)
		return ALG_ECDSA;
	if (strcmp(group, "SM2") == 0) {
		EVP_PKEY *sm2 = as_sm2(*pkey, selection);
		if (!sm2)
			return ALG_NONE;
		EVP_PKEY_free(*pkey);
		*pkey = sm2;
		return ALG_SM2;
	}
	return ALG_NONE;
}

/*
 * Set ctx up to sign (or verify) with key: SHA-256 for RSA and ECDSA, SM3
 * with the default SM2 ID for SM2.  The ID is set on the initialised
 * context rather than passed to the init call: OpenSSL 3.0.19 refuses it
 * there (without an error on the queue).  Set before the first update it
 * takes effect, as check_sig's fixture signed by the openssl CLI shows.
 */
static bool sigver_init(EVP_MD_CTX *ctx, bool sign, enum sig_alg alg, EVP_PKEY *key)
{
	EVP_PKEY_CTX *pctx = NULL;
	const char *md = alg == ALG_SM2 ? "SM3" : "SHA256";
	int r = sign ? EVP_DigestSignInit_ex(ctx, &pctx, md, NULL, NULL, key, NULL)
		     : EVP_DigestVerifyInit_ex(ctx, &pctx, md, NULL, NULL, key, NULL);
	if (r != 1)
		return false;
	if (alg != ALG_SM2)
		return true;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_DIST_ID, (void *)SM2_ID,
						  SM2_ID_LEN),
		OSSL_PARAM_construct_end(),
	};
	return EVP_PKEY_CTX_set_params(pctx, params) == 1;
}

static bool asn1_to_time(const ASN1_TIME *a, time_t *out)
{
	struct tm tm;
	if (!a || ASN1_TIME_to_tm(a, &tm) != 1)
		return false;
	*out = timegm(&tm);
	return true;
}

/* A context that recovers what an RSA signature carries, with the given padding. */
static EVP_PKEY_CTX *recover_ctx(EVP_PKEY *pkey, int padding)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);

	if (pc && EVP_PKEY_verify_recover_init(pc) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(pc, padding) == 1)
		return pc;
	EVP_PKEY_CTX_free(pc);
	return NULL;
}

/* Fill e (not yet linked) from the parsed certificate; false with err. */
static bool entry_fill(struct sig_entry *e, X509 *x, char *err, size_t errlen)
{
	if (!asn1_to_time(X509_get0_notBefore(x), &e->not_before) ||
	    !asn1_to_time(X509_get0_notAfter(x), &e->not_after)) {
		ssl_err(err, errlen, "certificate validity does not parse");
		return false;
	}
	EVP_PKEY *pkey = X509_get_pubkey(x);
	if (!pkey) {
		ssl_err(err, errlen, "certificate public key does not parse");
		return false;
	}
	e->alg = key_alg(&pkey, EVP_PKEY_PUBLIC_KEY);
	if (e->alg == ALG_NONE) {
		/* Cached all the same, so that sig_verify says SIG_UNSUPPORTED. */
		EVP_PKEY_free(pkey);
		ERR_clear_error();
		return true;
	}
	e->pkey = pkey;
	e->max_sig = (size_t)EVP_PKEY_get_size(pkey);
	e->tmpl = EVP_MD_CTX_new();
	if (!e->tmpl || !sigver_init(e->tmpl, false, e->alg, pkey)) {
		ssl_err(err, errlen, "cannot set up verification");
		return false;
	}
	/* The copies are finalised once; no need to keep them reusable. */
	EVP_MD_CTX_set_flags(e->tmpl, EVP_MD_CTX_FLAG_FINALISE);
	if (e->alg == ALG_RSA && (!(e->rec = recover_ctx(pkey, RSA_PKCS1_PADDING)) ||
				  !(e->rec_raw = recover_ctx(pkey, RSA_NO_PADDING)))) {
		ssl_err(err, errlen, "cannot set up RSA verification");
		return false;
	}
	return true;
}

bool sig_cache_put(struct sig_cache *c, const uint8_t sha256[32], const char *pem, char *err,
		   size_t errlen)
{
	if (lookup(c, sha256))
		return true;
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (!x) {
		ssl_err(err, errlen, "certificate does not parse");
		return false;
	}
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	if (X509_digest(x, EVP_sha256(), md, &mdlen) != 1 || mdlen != 32) {
		X509_free(x);
		ssl_err(err, errlen, "cannot digest certificate");
		return false;
	}
	if (memcmp(md, sha256, 32) != 0) {
		X509_free(x);
		if (err && errlen)
			snprintf(err, errlen, "certificate SHA-256 differs from the one given");
		return false;
	}
	struct sig_entry fresh = {.next = -1, .cert = x};
	memcpy(fresh.sha256, sha256, 32);
	bool ok = entry_fill(&fresh, x, err, errlen);
	fresh.revoked = ok && is_revoked(c->crls, x);
	if (!ok) {
		entry_clear(&fresh);
		return false;
	}
	int32_t i = (int32_t)c->next_slot;
	if (c->e[i].used)
		evict(c, i);
	c->next_slot = (c->next_slot + 1) % c->max;
	uint32_t b = bucket_of(c, sha256);
	fresh.used = true;
	fresh.next = c->bucket[b];
	c->e[i] = fresh;
	c->bucket[b] = i;
	return true;
}

/* One verification with the entry's template; true only on a good signature. */
static bool verify_once(struct sig_cache *c, const struct sig_entry *e, const uint8_t *data,
			size_t n, const uint8_t *sig, size_t sig_len)
{
	static const uint8_t empty[1];
	if (EVP_MD_CTX_copy_ex(c->work, e->tmpl) != 1) {
		ERR_clear_error();
		return false;
	}
	int r = EVP_DigestVerify(c->work, sig, sig_len, n ? data : empty, n);
	if (r != 1)
		ERR_clear_error();
	return r == 1;
}

/* Raw r || s (32 bytes each) to a DER ECDSA-Sig-Value in der (EC_DER_MAX). */
static bool raw_to_der(const uint8_t *raw, uint8_t *der, size_t *der_len)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, EC_RAW_LEN / 2, NULL);
	BIGNUM *v = BN_bin2bn(raw + EC_RAW_LEN / 2, EC_RAW_LEN / 2, NULL);
	if (!s || !r || !v || ECDSA_SIG_set0(s, r, v) != 1) {
		ECDSA_SIG_free(s);
		BN_free(r);
		BN_free(v);
		ERR_clear_error();
		return false;
	}
	int len = i2d_ECDSA_SIG(s, NULL);
	bool ok = len > 0 && len <= EC_DER_MAX;
	if (ok) {
		uint8_t *p = der;
		ok = i2d_ECDSA_SIG(s, &p) == len;
		*der_len = (size_t)len;
	}
	ECDSA_SIG_free(s);
	if (!ok)
		ERR_clear_error();
	return ok;
}

/*
 * A 64-byte ECDSA or SM2 signature is taken as raw r || s first.  A DER
 * signature can be 64 bytes too (both integers short, 0x30 0x3e ...), so
 * that form is tried when the raw one fails; either needs a valid
 * signature, so trying both grants nothing.
 */
static bool verify_ec(struct sig_cache *c, const struct sig_entry *e, const uint8_t *data, size_t n,
		      const uint8_t *sig, size_t sig_len)
{
	if (sig_len == EC_RAW_LEN) {
		uint8_t der[EC_DER_MAX];
		size_t der_len;
		if (raw_to_der(sig, der, &der_len) && verify_once(c, e, data, n, der, der_len))
			return true;
		if (sig[0] != 0x30 || sig[1] != EC_RAW_LEN - 2)
			return false;
	}
	return verify_once(c, e, data, n, sig, sig_len);
}

/* The DER DigestInfo prefix of a SHA-256 digest (RFC 8017, 9.2 note 1). */
static const uint8_t sha256_prefix[19] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
					  0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
					  0x01, 0x05, 0x00, 0x04, 0x20};

/*
 * RSA: one public-key operation recovers what the PKCS#1 v1.5 signature
 * carries, which must be the SHA-256 digest of the data, bare (as the
 * terminals sign: docs/protocol.md) or in its DigestInfo (as the
 * standard has it).  Both bind the same digest with the same key, so
 * taking either gives a forger nothing.  Unpadded RSA, which one terminal
 * library produces, only with SIG_F_RSA_RAW: the digest left-padded with
 * zeros to the modulus.
 */
static bool verify_rsa(const struct sig_entry *e, const uint8_t *data, size_t n, const uint8_t *sig,
		       size_t sig_len, unsigned flags)
{
	static const uint8_t empty[1];
	uint8_t md[32], out[1024];
	unsigned md_len = 0;
	size_t out_len = sizeof(out);
	bool ok = false;

	if (sig_len != e->max_sig || sig_len > sizeof(out) ||
	    EVP_Digest(n ? data : empty, n, md, &md_len, EVP_sha256(), NULL) != 1) {
		ERR_clear_error();
		return false;
	}
	if (EVP_PKEY_verify_recover(e->rec, out, &out_len, sig, sig_len) == 1) {
		if (out_len == sizeof(md))
			ok = CRYPTO_memcmp(out, md, sizeof(md)) == 0;
		else if (out_len == sizeof(sha256_prefix) + sizeof(md))
			ok = memcmp(out, sha256_prefix, sizeof(sha256_prefix)) == 0 &&
			     CRYPTO_memcmp(out + sizeof(sha256_prefix), md, sizeof(md)) == 0;
	} else if (flags & SIG_F_RSA_RAW) {
		static const uint8_t zeros[sizeof(out)];
		out_len = sizeof(out);
		ok = EVP_PKEY_verify_recover(e->rec_raw, out, &out_len, sig, sig_len) == 1 &&
		     out_len == sig_len && memcmp(out, zeros, out_len - sizeof(md)) == 0 &&
		     CRYPTO_memcmp(out + out_len - sizeof(md), md, sizeof(md)) == 0;
	}
	ERR_clear_error();
	return ok;
}

enum sig_result sig_verify_flags(struct sig_cache *c, const uint8_t sha256[32], const uint8_t *data,
				 size_t n, const uint8_t *sig, size_t sig_len, time_t now,
				 unsigned flags)
{
	const struct sig_entry *e = lookup(c, sha256);
	if (!e)
		return SIG_NO_KEY;
	if (e->alg == ALG_NONE)
		return SIG_UNSUPPORTED;
	if (e->revoked)
		return SIG_REVOKED;
	if (now < e->not_before || now > e->not_after)
		return SIG_EXPIRED;
	if (!sig || sig_len == 0 || sig_len > e->max_sig)
		return SIG_BAD;
	bool ok = e->alg == ALG_RSA ? verify_rsa(e, data, n, sig, sig_len, flags)
				    : verify_ec(c, e, data, n, sig, sig_len);
	return ok ? SIG_OK : SIG_BAD;
}

enum sig_result sig_verify(struct sig_cache *c, const uint8_t sha256[32], const uint8_t *data,
			   size_t n, const uint8_t *sig, size_t sig_len, time_t now)
{
	return sig_verify_flags(c, sha256, data, n, sig, sig_len, now, 0);
}

bool sig_sign(EVP_PKEY *key, const uint8_t *data, size_t n, uint8_t *sig, size_t *sig_len)
{
	static const uint8_t empty[1];
	EVP_PKEY *k = key;
	if (!EVP_PKEY_up_ref(k))
		return false;
	enum sig_alg alg = key_alg(&k, EVP_PKEY_KEYPAIR);
	EVP_MD_CTX *ctx = alg != ALG_NONE ? EVP_MD_CTX_new() : NULL;
	bool ok = ctx && sigver_init(ctx, true, alg, k) &&
		  EVP_DigestSign(ctx, sig, sig_len, n ? data : empty, n) == 1;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(k);
	if (!ok)
		ERR_clear_error();
	return ok;
}

/* RSA over the bare digest, PKCS#1 type-1 padded or (raw) left-padded with zeros. */
static bool sign_rsa_digest(EVP_PKEY *key, bool raw, const uint8_t *data, size_t n, uint8_t *sig,
			    size_t *sig_len)
{
	static const uint8_t empty[1];
	uint8_t md[32], in[1024] = {0};
	unsigned md_len = 0;
	size_t size = (size_t)EVP_PKEY_get_size(key), in_len = raw ? size : sizeof(md);
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	bool ok = pc && size >= sizeof(md) && size <= sizeof(in) &&
		  EVP_Digest(n ? data : empty, n, md, &md_len, EVP_sha256(), NULL) == 1;
	if (ok) {
		memcpy(in + in_len - sizeof(md), md, sizeof(md));
		ok = EVP_PKEY_sign_init(pc) == 1 &&
		     EVP_PKEY_CTX_set_rsa_padding(pc, raw ? RSA_NO_PADDING : RSA_PKCS1_PADDING) ==
			     1 &&
		     EVP_PKEY_sign(pc, sig, sig_len, in, in_len) == 1;
	}
	EVP_PKEY_CTX_free(pc);
	if (!ok)
		ERR_clear_error();
	return ok;
}

bool sig_sign_form(EVP_PKEY *key, enum sig_form form, const uint8_t *data, size_t n, uint8_t *sig,
		   size_t *sig_len)
{
	if (form == SIG_FORM_DIGESTINFO || !EVP_PKEY_is_a(key, "RSA"))
		return sig_sign(key, data, n, sig, sig_len);
	/* As sig_sign: no signature from a key sig_verify refuses (fuzz/sig.c found one). */
	if (EVP_PKEY_get_bits(key) < RSA_MIN_BITS)
		return false;
	return sign_rsa_digest(key, form == SIG_FORM_RAW, data, n, sig, sig_len);
}

/* An encrypted key is refused rather than prompting on the terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return 0;
}

EVP_PKEY *sig_load_key(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
	fclose(f);
	if (!k)
		ERR_clear_error();
	return k;
}
