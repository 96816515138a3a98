/*
 * policesim.h - what the parts of policesim share, from the top down
 * (each calls only the ones below it):
 *
 *   policesim.c  main: the options, the set-up (TLS, the signing
 *                certificates, the store, the field map), the end
 *   preenter.c   policesim pre-enter: the pre-entry client of hoursd's
 *                readiness endpoint
 *   requests.c   a request dispatched: the packets, the national calls,
 *                the admin paths
 *   packet.c     a packet checked in the contract's order and stored
 *   national.c   the national stage-hours interface (docs/push-contract.md,
 *                "The national profile") and the exam booking after it
 *   faults.c     the fault specs and the answers they make
 *   answer.c     the answers, and when they go (now, slow, held)
 *
 * Nothing else includes it.
 */
#ifndef HOURSD_POLICESIM_H
#define HOURSD_POLICESIM_H

#include "hoursd.h"

#include <openssl/ssl.h>

struct event;
struct event_base;
struct evbuffer;
struct evhttp;
struct evhttp_request;
struct natsim;
struct sig_cache;
typedef struct json_t json_t;
typedef struct x509_st X509;

#define EXIT_USAGE 2
#define MAX_BODY (64 * 1024)
#define MAX_HEADERS (16 * 1024)
#define CONN_TIMEOUT_S 60
#define HOLD_S 3600		      /* the timeout fault gives up after this long */
#define HUGE_BYTES (10 * 1024 * 1024) /* the huge fault's body */
#define MAX_RULES 16
#define MAX_FAULT_COUNT 1000000
#define MAX_SLOW_MS 600000
#define MAX_VERIFY_CERTS 8
#define SIG_MAX 512
#define MAX_NATIONAL_BODY (8 * 1024 * 1024) /* an uploaded teaching log */

enum fault {
	F_5XX,
	F_BUSY,
	F_TIMEOUT,
	F_RESET,
	F_REJECT,
	F_DUP,
	F_LOST,
	F_GARBAGE,
	F_HUGE,
	F_E1, /* national stage hours: answered with that errorcode, not processed */
	F_E201,
	F_E202,
};

struct rule {
	enum fault kind;
	unsigned long left;
};

struct faults {
	struct rule r[MAX_RULES];
	unsigned n;
	unsigned slow_ms;
};

/* What to do with a request once decided. */
enum action { ACT_SEND, ACT_HOLD, ACT_RESET };

struct answer {
	enum action act;
	int code;
	const char *reason;
	struct evbuffer *body; /* owned */
	bool retry_after;
};

/* An answer waiting for its timer (slow), or a request never answered (timeout). */
struct pending {
	struct pending *next;
	struct psim *ps;
	struct evhttp_request *req;
	struct event *timer;
	struct answer a;
};

struct signer {
	uint8_t sha256[32];
	char hex[65];
	const char *alg; /* "RSA-SHA256" or "SM2-SM3" */
};

struct stats {
	uint64_t received, accepted, duplicates, duplicates_differing, rejected_signature,
		rejected_invalid, bad_request, faults_injected, slowed, store_errors;
};

struct psim {
	struct event_base *base;
	struct evhttp *http;
	SSL_CTX *tls;
	struct sig_cache *sigs;
	struct signer signer[MAX_VERIFY_CERTS];
	unsigned nsigners;
	FILE *store;
	json_t *seen;	  /* packet id -> the body first accepted */
	json_t *rename;	  /* contract name -> province name (--field-map) */
	json_t *contract; /* province name -> contract name */
	struct faults f;
	struct pending *pending;
	struct stats st;
	struct event *sigint_ev, *sigterm_ev;
	struct natsim *nat; /* --national-dir: the national interface; NULL: off */
};

/* ---- answer.c ---- */

/* The JSON j (its reference taken) as a body; NULL j: an empty one. */
struct evbuffer *answer_json(json_t *j);
/* {"result": result} */
struct answer answer_result(int code, const char *reason, const char *result);
/* {"result": "rejected", "code": why, "message": msg} */
struct answer answer_rejected(int code, const char *reason, const char *why, const char *msg);
/* {"result": "retry"}, with Retry-After: 1 when retry_after */
struct answer answer_retry(int code, const char *reason, bool retry_after);
/* 200 with a body that is not JSON, or that is 10 MB of it. */
struct answer answer_broken(bool huge);
/* Send (or reset) now; frees the answer's body.  A detached request is freed by evhttp_send_*. */
void answer_now(struct evhttp_request *req, struct answer *a);
/* Answer now, or after slow ms (delay), or hold it (the timeout fault). */
void answer_send(struct psim *ps, struct evhttp_request *req, struct answer a, bool delay);
/* The waiting answer of req, or NULL. */
struct pending *answer_pending(struct psim *ps, struct evhttp_request *req);
/* A waiting answer taken off the list and freed (its body is the caller's). */
void answer_unlink(struct psim *ps, struct pending *p);

/* ---- faults.c ---- */

/* A decimal of n bytes, at most max: the counts of a spec, --listen's port. */
bool faults_uint(const char *s, size_t n, unsigned long max, unsigned long *out);
/*
 * A whole spec ("5xx:3,slow:200"), blanks and newlines ignored; an empty
 * spec clears every fault.  Parsed into a fresh set: on error nothing changes.
 */
bool faults_parse(struct faults *out, const char *spec, size_t len, char *err, size_t errlen);
/* The remaining faults as a spec. */
void faults_format(const struct faults *f, char *out, size_t cap);
/* Take one of the first rule of the given phase that has some left; -1 when none. */
int faults_take(struct faults *f, bool after);
const char *faults_name(int f);
/* The answer of a "before" fault: nothing of the request is processed. */
struct answer faults_before(int f);
/* The answer of an "after" fault, for a packet just stored. */
struct answer faults_after(int f);

/* ---- packet.c ---- */

/* Is name one of the contract's body fields? */
bool packet_field_known(const char *name);
/*
 * A packet, checked in the contract's order, stored when accepted.  *pid
 * gets the packet id (or "-") for the log line, *what the outcome.
 */
struct answer packet_take(struct psim *ps, struct evhttp_request *req, const char *cn, char *pid,
			  size_t pidcap, const char **what);

/* ---- requests.c ---- */

/* evhttp's callback for every request. */
void requests_on_request(struct evhttp_request *req, void *arg);

/* ---- national.c ---- */

/*
 * dir: where the uploaded PDFs and national.jsonl go (read back at
 * start); DIR/records.txt, when there, the record numbers the timing
 * platform knows (one a line).
 */
struct natsim *natsim_new(const char *dir);
void natsim_free(struct natsim *n);

/* A --verify-cert certificate (RSA), known by its serial as the platforms print it (user=). */
bool natsim_add_cert(struct natsim *n, X509 *x);

/*
 * A serial's DER content bytes (der, len) as the platforms print it:
 * upper-case hex without leading zeros (Long.toHexString), "0" for zero.
 */
void natsim_serial(const uint8_t *der, size_t len, char *out, size_t cap);

/*
 * The part named "file" of a multipart/form-data body (ctype: the
 * Content-Type header): *file and *flen; false with why otherwise (a raw
 * body among them).
 */
bool natsim_form_file(const char *ctype, const uint8_t *body, size_t len, const uint8_t **file,
		      size_t *flen, const char **why);

/*
 * A stage-hours body's members and types as the public sample sends
 * them: NULL when right, else the member at fault.
 */
const char *natsim_stage_invalid(json_t *body);

/* A teaching log's body (/classrecord): NULL when its members and types are right, else the member.
 */
const char *natsim_classrecord_invalid(json_t *body);

/*
 * Master data upward: does path name one of its interfaces (POST
 * /institution, /coach, /trainingcar, /device, /devassign, /devRembinding,
 * /student; DELETE /coach-N, /trainingCar-N, /device-N)?
 */
bool natsim_upward_path(const char *path);

/* A master-data POST's body of kind (the path's last segment): NULL when right, else the member. */
const char *natsim_upward_invalid(const char *kind, json_t *body);

/* DELETE /coach-N, /trainingCar-N, /device-N: signed over N; 100 when the platform holds no N. */
char *natsim_upward_delete(struct natsim *n, const char *path, const char *query,
			   const char **what);

/* Does path name a national call: .../stagetrainningtime, .../imageup/TYPE, a review, /booking. */
bool natsim_path(const char *path);

/* Is it a stage-hours POST: the requests that take the errorcode faults (e1, e201, e202). */
bool natsim_is_stage(const char *path);

/*
 * Answer a national request: *status (200 for every answer of the
 * interface, errors being in errorcode) and the JSON answer (malloc'd).
 * post: POST (else GET); query: the URI's query or NULL; ctype: the
 * Content-Type header or NULL; fault: an
 * errorcode to answer instead of processing (0: none).  what says what
 * happened, for the log.
 */
char *natsim_handle(struct natsim *n, bool post, const char *path, const char *query,
		    const char *ctype, const uint8_t *body, size_t len, int fault, int *status,
		    const char **what);

/*
 * POST /_review: {"hold": true|false} (reviews pending, errorcode 100,
 * until decided; or approved at once), or {"stunum", "subject": "N",
 * "refuse": {RNUM: REASON}}: the supervisor's decision, approved with
 * those records refused.  False with msg when the body is neither.
 */
bool natsim_review_admin(struct natsim *n, const uint8_t *body, size_t len, char *msg, size_t cap);

/* The counters for GET /_stats: national_* members added to stats. */
void natsim_stats(const struct natsim *n, json_t *stats);
/* ---- preenter.c ---- */

/*
 * policesim pre-enter ...: ask hoursd's readiness endpoint (mutual TLS)
 * whether the student is enrolled and scheduled, and pre-enter only then.
 * argv[0] is "pre-enter".  Exit status: 0 pre-entered, 1 refused, 2 a
 * usage error, 3 hoursd could not be asked.
 */
int policesim_preenter(int argc, char **argv);

#endif
