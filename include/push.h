/*
 * push.h - the pusher: delivers the outbox (push_packet) to the police
 * platform as docs/push-contract.md says, on the daemon's event loop.
 *
 * Packets are taken with one statement (FOR UPDATE SKIP LOCKED and a
 * lease of push.lease_s, so several hoursd instances may share the
 * database), their body is built once (jansson, canonical form, the field
 * map), kept with the packet, signed on every attempt and POSTed over
 * mutual TLS with libevent's HTTP client.  Every attempt is a push_attempt
 * row; the answer decides done, failed or the next attempt (backoff with
 * jitter, Retry-After, push.max_age_s).
 *
 * The pusher always exists (it keeps the outbox gauges); it sends only
 * while it has a configuration, i.e. while push.url is set.
 */
#ifndef HOURSD_PUSH_H
#define HOURSD_PUSH_H

#include "hoursd.h"
#include <time.h>

struct event_base;
struct hconf;
struct db;
struct server_stats;
struct push;
struct push_config;
typedef struct json_t json_t;

/*
 * Load and check the push.* keys of c: the URL (https only), the TLS
 * context (push.ca, push.cert, push.key), the signing key and its
 * certificate (a test signature is made and verified), the field map.
 * True with *out NULL when push.url is off; false with err on any error.
 */
bool push_config_load(const struct hconf *c, struct push_config **out, char *err,
		      size_t errlen) MUSTCHECK;
void push_config_free(struct push_config *pc);

/* pc (owned; NULL: off) as push_config_load made it; st gets the counters. */
struct push *push_new(struct event_base *base, struct db *db, struct server_stats *st,
		      struct push_config *pc) MUSTCHECK;
/* A reload: new packets go with pc (owned; NULL: stop sending); attempts in flight keep theirs. */
void push_reconfigure(struct push *p, struct push_config *pc);
/* SIGTERM: take no new packets; the attempts in flight finish. */
void push_drain(struct push *p);
/* No attempt in flight (taking, sending or recording). */
bool push_idle(const struct push *p);
/*
 * At exit, before store_free: abandon the requests in flight (their
 * packets stay 'sending' until the lease ends) and queue no more
 * statements.  push_free after store_free.
 */
void push_stop(struct push *p);
void push_free(struct push *p);

/* ---- exposed for the tests ---- */

/*
 * A field map (docs/push-contract.md section 6) from JSON text: an object
 * of contract name -> new name.  NULL with err when it breaks a rule.
 */
json_t *push_field_map_parse(const char *text, size_t len, char *err, size_t errlen);

/* The contract's body values, as gathered in SQL. */
struct push_fields {
	const char *packet_id, *school_code, *student_no, *id_card_sha256; /* id card: NULL */
	const char *vehicle_class, *mileage_km, *first_minute, *last_minute;
	const char *records_sha256, *backfill_form, *created_at; /* backfill_form: NULL */
	int part;
	long long vehicle, simulator, classroom, remote, record_count;
	bool backfilled;
};
/* The canonical body (malloc'd), renamed by map (NULL: none); NULL with err. */
char *push_body_build(const struct push_fields *f, const json_t *map, char *err, size_t errlen);

enum push_outcome { PUSH_ACCEPTED, PUSH_DUPLICATE, PUSH_REJECTED, PUSH_RETRY, PUSH_ERROR };
const char *push_outcome_name(enum push_outcome o);

struct push_verdict {
	enum push_outcome outcome;
	int retry_after_s;   /* from Retry-After (429/503), else -1 */
	bool config_problem; /* a 4xx an operator must fix: logged at error */
	char error[512];     /* what went wrong, for last_error ("" when accepted) */
};
/*
 * The contract's table of answers (section 5): status is the HTTP status
 * (never 0; a request without an answer is PUSH_ERROR by the caller), body
 * at most 64 KiB, retry_after the header or NULL, now for an HTTP date.
 */
void push_classify(int status, const char *body, size_t len, const char *retry_after, time_t now,
		   struct push_verdict *v);

/* Seconds until the next attempt after the n-th unsuccessful one (n >= 1), jitter drawn by u in [0,
 * 1]. */
double push_backoff(unsigned n, unsigned min_s, unsigned max_s, double u);

#endif
