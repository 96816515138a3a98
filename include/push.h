/*
 * push.h - the pusher: delivers the outbox (push_packet) to the police
 * platform as docs/push-contract.md says, on the daemon's event loop.
 *
 * Packets are taken with one statement (FOR UPDATE SKIP LOCKED and a
 * lease of push.lease_s, so several hoursd instances may share the
 * database), their body is built once (push_body.h: jansson, canonical
 * form, the field map), kept with the packet, signed on every attempt and
 * POSTed over mutual TLS with libevent's HTTP client.  Every attempt is a
 * push_attempt row; the answer (push_answer.h) decides done, failed or
 * the next attempt (backoff with jitter, Retry-After, push.max_age_s).
 *
 * The pusher always exists (it keeps the outbox gauges); it sends only
 * while it has a configuration (push_conf.h), i.e. while push.url is set.
 */
#ifndef HOURSD_PUSH_H
#define HOURSD_PUSH_H

#include "hoursd.h"
#include "push_conf.h"

struct event_base;
struct db;
struct server_stats;
struct push;

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
 * At exit, before db_free: abandon the requests in flight (their
 * packets stay 'sending' until the lease ends) and queue no more
 * statements.  push_free after db_free.
 */
void push_stop(struct push *p);
void push_free(struct push *p);

#endif
