/*
 * tls_server.c - the TLS server context: hoursd's for its terminals, and
 * policesim's for hoursd's pushes.
 *
 * Mutual TLS, 1.2 or 1.3: the peer's certificate is required and verified
 * against the configured CA.  A file of its own so that a program that
 * serves TLS links this and not the listener (and, through it, the
 * terminal connections).
 */
#include "hoursd.h"
#include "tls_server.h"
#include "conf.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

/*
 * "FILE:LINE: KEY PATH: why", FILE:LINE where the configuration sets KEY
 * (nothing when it was not read from a file, as policesim's).
 */
static void file_error(const struct hconf *c, char *err, size_t errlen, const char *key,
		       const char *path, const char *why)
{
	char where[512];
	snprintf(err, errlen, "%s%s %s: %s", conf_key_where(c, key, where, sizeof(where)), key,
		 path, why);
}

static void ssl_error(const struct hconf *c, char *err, size_t errlen, const char *key,
		      const char *path)
{
	char buf[256];
	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	file_error(c, err, errlen, key, path, buf);
	ERR_clear_error();
}

/* A file the context needs can be read: false with the system's reason otherwise. */
static bool readable(const struct hconf *c, char *err, size_t errlen, const char *key,
		     const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		file_error(c, err, errlen, key, path, strerror(errno));
		return false;
	}
	fclose(f);
	return true;
}

STACK_OF(X509_CRL) * tls_load_crls(const struct hconf *c, char *err, size_t errlen)
{
	STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
	if (crls == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (c->tls_crl == NULL)
		return crls;
	if (!readable(c, err, errlen, "tls.crl", c->tls_crl))
		goto fail;
	BIO *bio = BIO_new_file(c->tls_crl, "r");
	STACK_OF(X509_INFO) *infos = bio ? PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (infos == NULL) {
		ssl_error(c, err, errlen, "tls.crl", c->tls_crl);
		goto fail;
	}
	for (int i = 0; i < sk_X509_INFO_num(infos); i++) {
		X509_INFO *xi = sk_X509_INFO_value(infos, i);
		if (xi->crl && sk_X509_CRL_push(crls, xi->crl) > 0)
			xi->crl = NULL; /* the stack's now */
	}
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	if (sk_X509_CRL_num(crls) == 0) {
		file_error(c, err, errlen, "tls.crl", c->tls_crl,
			   "no CRL (PEM X509 CRL) in the file");
		goto fail;
	}
	return crls;
fail:
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	return NULL;
}

/* The CRLs of tls.crl checked for every client certificate (the leaf's issuer must have one). */
static bool add_crls(SSL_CTX *ctx, const struct hconf *c, char *err, size_t errlen)
{
	if (c->tls_crl == NULL)
		return true;
	STACK_OF(X509_CRL) *crls = tls_load_crls(c, err, errlen);
	if (crls == NULL)
		return false;
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	for (int i = 0; i < sk_X509_CRL_num(crls); i++)
		X509_STORE_add_crl(store, sk_X509_CRL_value(crls, i));
	X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	return true;
}

SSL_CTX *tls_server_ctx(const struct hconf *c, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		snprintf(err, errlen, "cannot create a TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (!readable(c, err, errlen, "tls.cert", c->tls_cert) ||
	    !readable(c, err, errlen, "tls.key", c->tls_key) ||
	    !readable(c, err, errlen, "tls.ca", c->tls_ca))
		goto fail;
	if (SSL_CTX_use_certificate_chain_file(ctx, c->tls_cert) != 1) {
		ssl_error(c, err, errlen, "tls.cert", c->tls_cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, c->tls_key, SSL_FILETYPE_PEM) != 1) {
		ssl_error(c, err, errlen, "tls.key", c->tls_key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		file_error(c, err, errlen, "tls.key", c->tls_key, "does not match tls.cert");
		ERR_clear_error();
		goto fail;
	}
	if (SSL_CTX_load_verify_locations(ctx, c->tls_ca, NULL) != 1) {
		ssl_error(c, err, errlen, "tls.ca", c->tls_ca);
		goto fail;
	}
	if (!add_crls(ctx, c, err, errlen))
		goto fail;
	STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(c->tls_ca);
	if (names)
		SSL_CTX_set_client_CA_list(ctx, names);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_verify_depth(ctx, 4);
	/* Terminals reconnect often; let them resume sessions. */
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"hoursd", 6);
	/* An idle connection gives its read and write buffers back (about 34 KB). */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}
