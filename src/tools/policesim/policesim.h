/*
 * policesim.h - policesim's national side (policesim_national.c): the
 * calls of the national stage-hours interface (docs/push-contract.md,
 * "The national profile") and the exam booking that depends on them.
 *
 * policesim.c owns the HTTP server, the faults and the signing
 * certificates; it hands a national request here and sends the answer.
 * policesim_preenter.c is the pre-entry client of hoursd's readiness
 * endpoint.
 */
#ifndef HOURSD_POLICESIM_H
#define HOURSD_POLICESIM_H

#include "hoursd.h"

struct natsim;
struct sig_cache;
typedef struct x509_st X509;

/* dir: where the uploaded PDFs and national.jsonl go (read back at start); sigs: the certificates.
 */
struct natsim *natsim_new(const char *dir, struct sig_cache *sigs);
void natsim_free(struct natsim *n);

/* A --verify-cert certificate (cached in sigs under sha256), known by its serial (user=). */
bool natsim_add_cert(struct natsim *n, X509 *x, const uint8_t sha256[32]);

/* Does path name a national call: .../stagetrainningtime, .../imageup/TYPE, a review, /booking. */
bool natsim_path(const char *path);

/* Is it a stage-hours POST: the requests that take the errorcode faults (e1, e201, e202). */
bool natsim_is_stage(const char *path);

/*
 * Answer a national request: *status (200 for every answer of the
 * interface, errors being in errorcode) and the JSON answer (malloc'd).
 * post: POST (else GET); query: the URI's query or NULL; fault: an
 * errorcode to answer instead of processing (0: none).  what says what
 * happened, for the log.
 */
char *natsim_handle(struct natsim *n, bool post, const char *path, const char *query,
		    const uint8_t *body, size_t len, int fault, int *status, const char **what);

/* The counters for GET /_stats: national_* members added to stats. */
typedef struct json_t json_t;
void natsim_stats(const struct natsim *n, json_t *stats);
/*
 * policesim pre-enter ...: ask hoursd's readiness endpoint (mutual TLS)
 * whether the student is enrolled and scheduled, and pre-enter only then.
 * argv[0] is "pre-enter".  Exit status: 0 pre-entered, 1 refused, 2 a
 * usage error, 3 hoursd could not be asked.
 */
int policesim_preenter(int argc, char **argv);

#endif
