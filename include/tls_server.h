/*
 * tls_server.h - the TLS server context (tls_server.c): hoursd's for its
 * terminals and listen.readiness, policesim's for hoursd's pushes; and
 * the CRLs of tls.crl.
 */
#ifndef HOURSD_TLS_SERVER_H
#define HOURSD_TLS_SERVER_H

#include "hoursd.h"

#include <openssl/ssl.h>

struct hconf;

/* Mutual TLS, 1.2 or 1.3, client certificates of tls.ca; NULL with err. */
SSL_CTX *tls_server_ctx(const struct hconf *c, char *err, size_t errlen) MUSTCHECK;
/* The CRLs of tls.crl (an empty stack when it is not set); NULL with err when unreadable. */
STACK_OF(X509_CRL) * tls_load_crls(const struct hconf *c, char *err, size_t errlen) MUSTCHECK;

#endif
