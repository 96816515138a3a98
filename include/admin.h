/*
 * admin.h - the admin HTTP listener (libevent evhttp): GET /metrics in
 * the Prometheus text format 0.0.4, /healthz and /readyz.
 *
 * It has no authentication and is meant for loopback (the default
 * admin.listen) or a private network.  It runs on the daemon's event
 * loop and stays up while the daemon drains, so that /readyz says 503
 * and the last counters can still be scraped.
 */
#ifndef HOURSD_ADMIN_H
#define HOURSD_ADMIN_H

#include "hoursd.h"
#include "server.h"
#include "conn.h"
#include "ingest.h"
#include "judge.h"
#include "chain.h"
#include "db.h"

struct admin;
struct evbuffer;
struct server;

/*
 * Listen on addr ("host:port", "[v6]:port"; port 0 picks a free port) on
 * srv->base.  NULL with a message in err when the address does not parse
 * or cannot be bound.
 */
struct admin *admin_start(struct server *srv, const char *addr, char *err, size_t errlen) MUSTCHECK;
/* Close the listener and any admin connection still open; NULL is fine. */
void admin_free(struct admin *a);
/* The port actually bound (differs from addr's when that said 0). */
/* Its listening socket: paused with the terminals' at the descriptor limit. */
struct evconnlistener *admin_listener(const struct admin *a);
unsigned admin_port(const struct admin *a);

/* The process's own figures, as Prometheus clients name them (process_*). */
struct admin_process {
	bool fds_known;	   /* /proc/self/fd was read */
	bool memory_known; /* /proc/self/statm was read */
	unsigned open_fds; /* entries of /proc/self/fd */
	double max_fds;	   /* RLIMIT_NOFILE's soft limit (+Inf: unlimited) */
	double resident_bytes, virtual_bytes;
	double cpu_seconds; /* user + system */
};
/* Read them now (what cannot be read is left out of the page). */
void admin_read_process(struct admin_process *p);

/* What a request reads besides srv->st, taken from the stages, conn.c and /proc. */
struct admin_state {
	struct ingest_stats store;
	struct judge_stats judge;
	struct chain_stats chain;
	uint64_t db_connects; /* both connections */
	bool db_up;	      /* both connections, ingest's and the judge's */
	unsigned conns_by_state[CONN_STATES];
	double start_time; /* when admin_start ran, seconds since the epoch */
	struct admin_process proc;
};

/* The /metrics page (exposed for the tests). */
void admin_render_metrics(const struct server *srv, const struct admin_state *s,
			  struct evbuffer *out);
/*
 * Whether /readyz says 200: the database connected, the TLS listener up
 * and not draining.  Otherwise why holds one reason a line.
 */
bool admin_ready(const struct server *srv, bool db_up, char *why, size_t whylen);

#endif
