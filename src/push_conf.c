/*
 * push_conf.c - the pusher's configuration, see push_conf.h.
 *
 * Everything that can be wrong with the push.* keys is found here, at
 * start or at a reload, and not at the first attempt: the URL, the TLS
 * files, a signing key that is not one of the contract's algorithms or
 * does not match its certificate (a test body is signed and verified the
 * way the platform verifies it), a field map that breaks a rule.
 */
#include "hoursd.h"
#include "push_conf.h"
#include "conf.h"
#include "log.h"
#include "push_body.h"
#include "push_national.h"
#include "sig.h"

#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/http.h>
#include <event2/util.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/bn.h>
#include <openssl/x509.h>

#define MAX_PATH_LEN 2048

struct push_config *push_config_ref(struct push_config *pc)
{
	pc->refs++;
	return pc;
}

void push_config_free(struct push_config *pc)
{
	if (pc == NULL || --pc->refs > 0)
		return;
	free(pc->url);
	free(pc->host);
	free(pc->host_header);
	free(pc->path);
	SSL_CTX_free(pc->tls);
	EVP_PKEY_free(pc->sign_key);
	json_decref(pc->field_map);
	free(pc);
}

/* The last OpenSSL error as text, after what; the queue is cleared. */
static bool ssl_fail(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char buf[256] = "";
	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, errlen, "%s%s%s", what, *buf ? ": " : "", buf);
	ERR_clear_error();
	return false;
}

/* https://host[:port]/path?query: no user info, no fragment. */
static bool parse_url(struct push_config *pc, const char *url, char *err, size_t errlen)
{
	struct evhttp_uri *u = evhttp_uri_parse(url);
	const char *scheme = u ? evhttp_uri_get_scheme(u) : NULL;
	const char *host = u ? evhttp_uri_get_host(u) : NULL;
	bool ok = false;

	if (u == NULL || scheme == NULL || strcasecmp(scheme, "https") != 0 || host == NULL ||
	    *host == '\0' || evhttp_uri_get_userinfo(u) || evhttp_uri_get_fragment(u)) {
		snprintf(err, errlen, "push.url \"%.100s\": https://HOST[:PORT]/PATH expected",
			 url);
		goto out;
	}
	int port = evhttp_uri_get_port(u);
	pc->port = port > 0 ? (uint16_t)port : 443;
	size_t hl = strlen(host);
	bool v6 = hl > 2 && host[0] == '[' && host[hl - 1] == ']';
	pc->host = v6 ? strndup(host + 1, hl - 2) : strdup(host);
	const char *path = evhttp_uri_get_path(u), *query = evhttp_uri_get_query(u);
	char buf[MAX_PATH_LEN], hh[300];
	int n = snprintf(buf, sizeof(buf), "%s%s%s", path && *path ? path : "/", query ? "?" : "",
			 query ? query : "");
	if (pc->port != 443)
		snprintf(hh, sizeof(hh), "%s:%u", host, (unsigned)pc->port);
	else
		snprintf(hh, sizeof(hh), "%s", host);
	pc->path = n > 0 && (size_t)n < sizeof(buf) ? strdup(buf) : NULL;
	pc->host_header = strdup(hh);
	pc->url = strdup(url);
	unsigned char ip[16];
	pc->host_is_ip = pc->host && (evutil_inet_pton(AF_INET, pc->host, ip) == 1 ||
				      evutil_inet_pton(AF_INET6, pc->host, ip) == 1);
	ok = pc->host && pc->path && pc->host_header && pc->url;
	if (!ok)
		snprintf(err, errlen, "push.url: too long");
out:
	if (u)
		evhttp_uri_free(u);
	return ok;
}

/* TLS 1.2+, the platform's certificate verified against push.ca, ours presented. */
static bool make_tls(struct push_config *pc, const struct hconf *c, char *err, size_t errlen)
{
	char what[700];
	pc->tls = SSL_CTX_new(TLS_client_method());
	if (pc->tls == NULL)
		return ssl_fail(err, errlen, "push: TLS context");
	SSL_CTX_set_min_proto_version(pc->tls, TLS1_2_VERSION);
	SSL_CTX_set_verify(pc->tls, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(pc->tls, c->push_ca, NULL) != 1) {
		snprintf(what, sizeof(what), "push.ca %s", c->push_ca);
		return ssl_fail(err, errlen, what);
	}
	if (SSL_CTX_use_certificate_chain_file(pc->tls, c->push_cert) != 1) {
		snprintf(what, sizeof(what), "push.cert %s", c->push_cert);
		return ssl_fail(err, errlen, what);
	}
	if (SSL_CTX_use_PrivateKey_file(pc->tls, c->push_key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(pc->tls) != 1) {
		snprintf(what, sizeof(what), "push.key %s (or it does not match push.cert)",
			 c->push_key);
		return ssl_fail(err, errlen, what);
	}
	return true;
}

/* RSA of 2048 bits or more, or SM2: the contract's two algorithms. */
static const char *key_alg(EVP_PKEY *k)
{
	char group[32] = "";
	if (EVP_PKEY_is_a(k, "RSA"))
		return EVP_PKEY_get_bits(k) >= 2048 ? "RSA-SHA256" : NULL;
	if (EVP_PKEY_is_a(k, "EC"))
		(void)EVP_PKEY_get_group_name(k, group, sizeof(group), NULL);
	if (EVP_PKEY_is_a(k, "SM2") || strcmp(group, "SM2") == 0)
		return "SM2-SM3";
	return NULL;
}

/*
 * The national profile signs with the terminals' scheme (RSA, the bare
 * digest: 512 hex digits means RSA-2048) and names the certificate by its
 * serial (user=), printed as the platforms print it (national_user).
 */
static bool national_signer(struct push_config *pc, X509 *x, const struct hconf *c, char *err,
			    size_t errlen)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	bool ok = hex && strlen(hex) < sizeof(pc->user);
	if (ok) /* as the platforms print it: no padding to whole bytes */
		national_user(hex, pc->user, sizeof(pc->user));
	OPENSSL_free(hex);
	BN_free(bn);
	if (!ok) {
		snprintf(err, errlen, "push.sign_cert %s: cannot read its serial number",
			 c->push_sign_cert);
		return false;
	}
	if (!EVP_PKEY_is_a(pc->sign_key, "RSA") || EVP_PKEY_get_bits(pc->sign_key) != 2048) {
		snprintf(err, errlen,
			 "push.sign_key %s: push.profile national signs with RSA-2048 (sign= is "
			 "512 hex digits)",
			 c->push_sign_key);
		return false;
	}
	return true;
}

/*
 * The signing key and its certificate: the key id is the certificate's
 * SHA-256, and a test body signed with the key must verify with the
 * certificate the way the platform verifies it (sig.c).
 */
static bool load_signer(struct push_config *pc, const struct hconf *c, char *err, size_t errlen)
{
	static const char probe[] = "{\"probe\":true}";
	uint8_t md[32], sig[PUSH_SIG_MAX];
	size_t siglen = sizeof(sig);
	unsigned mdlen = 0;
	char *pem = NULL;
	bool ok = false;

	pc->sign_key = sig_load_key(c->push_sign_key);
	if (pc->sign_key == NULL) {
		snprintf(err, errlen, "push.sign_key %s: cannot read a PEM private key",
			 c->push_sign_key);
		return false;
	}
	pc->alg = key_alg(pc->sign_key);
	if (pc->alg == NULL) {
		snprintf(err, errlen,
			 "push.sign_key %s: an RSA (2048 bits or more) or SM2 key "
			 "is required",
			 c->push_sign_key);
		return false;
	}
	FILE *f = fopen(c->push_sign_cert, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	BIO *mem = x ? BIO_new(BIO_s_mem()) : NULL;
	if (x == NULL || mem == NULL || X509_digest(x, EVP_sha256(), md, &mdlen) != 1 ||
	    mdlen != 32 || PEM_write_bio_X509(mem, x) != 1 || BIO_write(mem, "", 1) != 1 ||
	    BIO_get_mem_data(mem, &pem) <= 0) {
		snprintf(err, errlen, "push.sign_cert %s: cannot read a PEM certificate",
			 c->push_sign_cert);
		goto out;
	}
	hex_encode(pc->key_id, md, 32);
	if (pc->national && !national_signer(pc, x, c, err, errlen))
		goto out;
	struct sig_cache *sc = sig_cache_new(1);
	char why[256] = "";
	ok = sc && sig_cache_put(sc, md, pem, why, sizeof(why)) &&
	     sig_sign(pc->sign_key, (const uint8_t *)probe, strlen(probe), sig, &siglen) &&
	     sig_verify(sc, md, (const uint8_t *)probe, strlen(probe), sig, siglen, time(NULL)) ==
		     SIG_OK;
	sig_cache_free(sc);
	if (!ok)
		snprintf(err, errlen,
			 "push.sign_key %s and push.sign_cert %s: a test signature does not "
			 "verify (not a pair, or the certificate is not valid now)%s%s",
			 c->push_sign_key, c->push_sign_cert, *why ? ": " : "", why);
out:
	BIO_free(mem);
	X509_free(x);
	ERR_clear_error();
	return ok;
}

/* A whole small file, NUL-terminated; NULL when it cannot be read or is over max bytes. */
static char *slurp(const char *path, size_t max, size_t *lenp)
{
	FILE *f = fopen(path, "rb");
	char *text = f ? malloc(max + 1) : NULL;
	size_t len = text ? fread(text, 1, max + 1, f) : 0;
	if (f)
		fclose(f);
	if (text == NULL || len > max) {
		free(text);
		return NULL;
	}
	text[len] = '\0';
	*lenp = len;
	return text;
}

static bool load_field_map(struct push_config *pc, const char *path, char *err, size_t errlen)
{
	char why[300];
	size_t len = 0;
	char *text = slurp(path, 256 * 1024, &len);
	if (text == NULL) {
		snprintf(err, errlen, "push.field_map %s: cannot read it (or over 256 KiB)", path);
		return false;
	}
	pc->field_map = push_field_map_parse(text, len, why, sizeof(why));
	free(text);
	if (pc->field_map == NULL)
		snprintf(err, errlen, "push.field_map %s: %s", path, why);
	return pc->field_map != NULL;
}

bool push_config_load(const struct hconf *c, struct push_config **out, char *err, size_t errlen)
{
	*out = NULL;
	if (c->push_url == NULL)
		return true;
	struct push_config *pc = calloc(1, sizeof(*pc));
	if (pc == NULL) {
		snprintf(err, errlen, "push: out of memory");
		return false;
	}
	pc->refs = 1;
	pc->concurrency = c->push_concurrency;
	pc->timeout_s = c->push_timeout_s;
	pc->retry_min_s = c->push_retry_min_s;
	pc->retry_max_s = c->push_retry_max_s;
	pc->max_age_s = c->push_max_age_s;
	pc->lease_s = c->push_lease_s;
	pc->national = strcmp(c->push_profile, "national") == 0;
	pc->rectype = c->push_national_rectype;
	pc->rectype_backfilled = c->push_national_rectype_backfilled;
	pc->examresult = c->push_national_examresult;
	pc->review = c->push_national_review;
	pc->failed_max = c->push_national_failed_max;
	pc->review_min_s = c->push_national_review_min_s;
	pc->review_max_s = c->push_national_review_max_s;
	pc->esign = strcmp(c->push_national_esignature, "none") == 0  ? NATIONAL_ESIGN_NONE
		    : strcmp(c->push_national_esignature, "pdf") == 0 ? NATIONAL_ESIGN_PDF
								      : NATIONAL_ESIGN_BODY;
	bool ok = parse_url(pc, c->push_url, err, errlen) && make_tls(pc, c, err, errlen) &&
		  load_signer(pc, c, err, errlen) &&
		  (c->push_field_map == NULL || load_field_map(pc, c->push_field_map, err, errlen));
	if (ok && pc->national && strchr(pc->path, '?')) {
		snprintf(err, errlen,
			 "push.url %s: under push.profile national it is the platform's base "
			 "(e.g. https://HOST/top), without a query",
			 c->push_url);
		ok = false;
	}
	if (!ok) {
		push_config_free(pc);
		return false;
	}
	/* The base's path without its trailing slashes: the calls' paths are appended. */
	for (size_t n = strlen(pc->path); pc->national && n > 0 && pc->path[n - 1] == '/'; n--)
		pc->path[n - 1] = '\0';
	*out = pc;
	return true;
}
