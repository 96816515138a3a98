/*
 * push_conf.h - the pusher's configuration: the push.* keys of the config
 * file made into what an attempt needs (the URL taken apart, the TLS
 * client context, the signing key and its key id, the field map).
 *
 * One is made at start and at every reload; the pusher and each attempt
 * in flight hold a reference, so a reload never changes an attempt that
 * has started.  The struct is shared by push_conf.c and push.c only.
 */
#ifndef HOURSD_PUSH_CONF_H
#define HOURSD_PUSH_CONF_H

#include "hoursd.h"

struct hconf;
typedef struct json_t json_t;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct evp_pkey_st EVP_PKEY;

struct push_config {
	unsigned refs;
	char *url;
	char *host;	   /* for connecting and verifying: no brackets */
	char *host_header; /* Host: as the URL has it, with the port when not 443 */
	char *path;	   /* path and query */
	uint16_t port;
	bool host_is_ip;
	SSL_CTX *tls;
	EVP_PKEY *sign_key;
	const char *alg; /* RSA-SHA256 or SM2-SM3 */
	char key_id[65];
	json_t *field_map; /* NULL: the contract's names */
	/* push.profile national: the calls of docs/push-contract.md's last section */
	bool national;
	char user[80]; /* the signing certificate's serial, upper-case hex, unpadded (user=) */
	unsigned rectype, rectype_backfilled, examresult;
	bool review;			     /* fetch the review after acceptance */
	unsigned failed_max;		     /* push.national_failed_max */
	unsigned review_min_s, review_max_s; /* the review's back-off until final */
	enum { NATIONAL_ESIGN_NONE, NATIONAL_ESIGN_BODY, NATIONAL_ESIGN_PDF } esign;
	unsigned concurrency, timeout_s, retry_min_s, retry_max_s, max_age_s, lease_s;
};

/*
 * Load and check the push.* keys of c: the URL (https only), the TLS
 * context (push.ca, push.cert, push.key), the signing key and its
 * certificate (a test signature is made and verified), the field map.
 * True with *out NULL when push.url is off; false with err on any error.
 * *out holds one reference.
 */
bool push_config_load(const struct hconf *c, struct push_config **out, char *err,
		      size_t errlen) MUSTCHECK;
/* One more reference (pc not NULL); pc is returned. */
struct push_config *push_config_ref(struct push_config *pc);
/* Drop one reference; the last one frees.  NULL: nothing. */
void push_config_free(struct push_config *pc);

#endif
