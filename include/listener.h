/*
 * listener.h - the listening sockets (listener.c): the terminals' (TLS,
 * and plain TCP for legacy terminals), and the guard that pauses every
 * listener, the HTTP ones too, at the descriptor limit.
 */
#ifndef HOURSD_LISTENER_H
#define HOURSD_LISTENER_H

#include "hoursd.h"

struct server;
struct evconnlistener;

bool listeners_start(struct server *srv, char *err, size_t errlen) MUSTCHECK;
void listeners_stop(struct server *srv);
/*
 * An HTTP listener's socket (the admin one, or listen.readiness's), paused
 * at the descriptor limit and resumed with the terminals' ones.
 */
void listeners_guard(struct server *srv, struct evconnlistener *http, bool readiness);

#endif
