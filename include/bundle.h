/*
 * bundle.h - the configuration and everything it names, loaded and
 * checked as one: the YAML (conf.c), the TLS server context and the CRLs
 * of tls.crl, the syllabus, the push configuration and the audit
 * checkpoint key.  hoursd -t, the start and a reload (SIGHUP) load it
 * alike, so that a file -t accepts is one the daemon starts and reloads
 * with.
 */
#ifndef HOURSD_BUNDLE_H
#define HOURSD_BUNDLE_H

#include "hoursd.h"
#include "chain.h"

#include <openssl/ssl.h>

struct hconf;
struct syllabus;
struct push_config;

struct bundle {
	struct hconf *conf;
	SSL_CTX *tls;
	STACK_OF(X509_CRL) * crls; /* empty when tls.crl is off */
	struct syllabus *syl;
	struct push_config *push; /* NULL: push.url is off */
	struct chain_key key;	  /* key NULL: audit.checkpoint_key is off */
};

/*
 * Load the file at path and what it names, in that order; false with the
 * first error in err ("FILE:LINE: message" where the file says it), and
 * nothing kept.
 */
bool bundle_load(const char *path, struct bundle *b, char *err, size_t errlen) MUSTCHECK;
/* Free what b still holds: whoever takes a part sets it to NULL. */
void bundle_free(struct bundle *b);

#endif
