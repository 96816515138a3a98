/*
 * db.h - one asynchronous PostgreSQL connection on the event loop, with
 * its queue of statements.
 *
 * libpq in non-blocking mode, its socket watched by the loop; one
 * statement in flight at a time, the others waiting in order.  When the
 * connection is lost, the statement in flight goes back to the head of
 * the queue and everything is sent again after the reconnect (exponential
 * backoff with jitter): callers write statements that are harmless twice.
 * A statement PostgreSQL refuses is not sent again: its callback gets
 * NULL.  Ingest and the judge each have one; the tools use libpq as is.
 */
#ifndef HOURSD_DB_H
#define HOURSD_DB_H

#include "hoursd.h"

struct event_base;
struct db;
typedef struct pg_result PGresult;

/* res: the statement's last result, NULL when it failed; valid during the call only. */
typedef void (*db_result_fn)(void *arg, const PGresult *res);

struct db_opts {
	const char *name;     /* in log lines: "ingest", "judge" */
	const char *conninfo; /* copied */
	unsigned reconnect_min_ms, reconnect_max_ms;
};

struct db *db_new(struct event_base *base, const struct db_opts *o) MUSTCHECK;
/* Every waiting statement's callback gets NULL; so do statements those callbacks queue. */
void db_free(struct db *d);
/* A new conninfo applies at the next reconnect; the backoff bounds at once. */
void db_reconfigure(struct db *d, const struct db_opts *o);

/*
 * Queue one parameterized statement (sql: static text, e.g. a sql_NAME of
 * queries.h).  Text parameters, copied.
 */
void db_query(struct db *d, const char *sql, int n, const char *const *values, db_result_fn fn,
	      void *arg);

/*
 * The same with the caller's parameters, not copied: they must live until
 * fn runs.  lengths and formats as PQsendQueryParams takes them (formats
 * 1: binary); any may be NULL.  prepare: the statement is prepared on the
 * connection at its first use and then only executed, planned once: for a
 * statement whose best plan does not depend on its parameters' values
 * (PostgreSQL keeps a generic plan after five runs when it costs no more),
 * sent often enough that planning counts.
 */
struct db_params {
	int n;
	const char *const *values;
	const int *lengths, *formats;
	bool prepare;
};
void db_query_params(struct db *d, const char *sql, const struct db_params *p, db_result_fn fn,
		     void *arg);

bool db_connected(const struct db *d);
/* Nothing queued, nothing in flight. */
bool db_idle(const struct db *d);
/* Seconds the statement in flight has taken so far (0 when none). */
double db_busy_s(const struct db *d);

struct db_stats {
	uint64_t statements, reconnects, errors;
};
void db_get_stats(const struct db *d, struct db_stats *st);

#endif
