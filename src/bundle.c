/*
 * bundle.c - see bundle.h.
 */
#include "hoursd.h"
#include "bundle.h"
#include "chain.h"
#include "conf.h"
#include "push_conf.h"
#include "syllabus.h"
#include "tls_server.h"

#include <openssl/evp.h>

bool bundle_load(const char *path, struct bundle *b, char *err, size_t errlen)
{
	*b = (struct bundle){0};
	b->conf = conf_load(path, err, errlen);
	if (b->conf == NULL)
		return false;
	const struct hconf *c = b->conf;
	if ((b->tls = tls_server_ctx(c, err, errlen)) == NULL ||
	    (b->crls = tls_load_crls(c, err, errlen)) == NULL ||
	    (b->syl = syllabus_load(c->syllabus_path, err, errlen)) == NULL ||
	    !push_config_load(c, &b->push, err, errlen) ||
	    !chain_key_load(c, &b->key, err, errlen)) {
		bundle_free(b);
		return false;
	}
	return true;
}

void bundle_free(struct bundle *b)
{
	EVP_PKEY_free(b->key.key);
	push_config_free(b->push);
	syllabus_free(b->syl);
	sk_X509_CRL_pop_free(b->crls, X509_CRL_free);
	SSL_CTX_free(b->tls);
	conf_free(b->conf);
	*b = (struct bundle){0};
}
