/*
 * readiness.h - the pre-entry question (docs/push-contract.md, section
 * 9): the police platform, or a school's pre-entry tool, asks whether a
 * student is enrolled and scheduled on a day, over HTTPS with mutual TLS
 * (client certificates of readiness.ca), on listen.readiness.
 *
 *   GET /v1/readiness?student=NO[&day=YYYY-MM-DD]  ->  200 application/json
 *
 * One evhttp over bufferevent_openssl on the daemon's loop; the answer is
 * one read-only statement (sql/queries/daemon/readiness.sql) on the first
 * database connection, asynchronous like everything else there.
 */
#ifndef HOURSD_READINESS_H
#define HOURSD_READINESS_H

#include "hoursd.h"

struct server;
struct readiness;

/* Listen on srv->conf->listen_readiness; NULL with err when it cannot. */
struct readiness *readiness_start(struct server *srv, char *err, size_t errlen) MUSTCHECK;
/* The port bound (listen.readiness may say 0). */
unsigned readiness_port(const struct readiness *r);
/* Its listening socket (evhttp's), for the descriptor limit's pause (listener.c). */
struct evconnlistener *readiness_listener(const struct readiness *r);
/* After the database connections are freed (their callbacks have run); NULL is fine. */
void readiness_free(struct readiness *r);

#endif
