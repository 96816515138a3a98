/*
 * db.c - see db.h.
 */
#include "hoursd.h"
#include "db.h"
#include "log.h"

#include <time.h>

#include <event2/event.h>
#include <libpq-fe.h>

enum pg_state { PG_DOWN, PG_CONNECTING, PG_READY };

#define MAX_PARAMS 16
/*
 * Statements prepared on the connection (db_params.prepare), each once,
 * at its first use after a connect: ingest's batch statement is planned
 * once, not per batch (a few ms each).  Past this many, statements go
 * unprepared.
 */
#define MAX_PREPARED 64

/* A statement waiting for the connection, or in flight. */
/*
 * How long a statement the server refuses for its own reasons (shutting
 * down, crashed, read-only) is sent again after each reconnect: well past
 * a failover (seconds, docs/scaling.md).
 */
#define DB_RESEND_FOR_S 60

struct job {
	struct job *next;
	const char *sql; /* static text */
	int n;
	const char *const *values; /* the caller's (db_query_params) or own */
	const int *lengths, *formats;
	char *own[MAX_PARAMS]; /* db_query's copies */
	db_result_fn fn;
	void *arg;
	time_t refused_at; /* the server's first refusal for its own reasons; 0: none */
	bool prepare;	   /* db_params.prepare */
	int preparing;	   /* >= 0: the slot in d->prepared its PQsendPrepare fills; -1: none */
};

/* A statement prepared on the current connection, named "s<slot>". */
struct prepared {
	const char *sql; /* the caller's static text, compared by address then text */
	char *text;	 /* a copy, in case the address is reused for another text */
	bool ready;	 /* the server has it */
};

struct db {
	struct event_base *base;
	char name[16];
	char *conninfo;
	unsigned reconnect_min_ms, reconnect_max_ms, backoff_ms;

	PGconn *pg;
	enum pg_state state;
	struct event *ev_read, *ev_write, *ev_connect, *ev_reconnect;

	struct job *head, *tail, *busy;
	PGresult *result; /* the busy statement's result, until it completes */
	bool failed, closing;
	char error[256];
	char sqlstate[6]; /* of the busy statement's error */
	struct timespec started;
	struct db_stats st;
	struct prepared prepared[MAX_PREPARED];
	int nprepared;
};

static void pg_connect(struct db *d);
static void kick(struct db *d);

static void job_free(struct job *j)
{
	for (int i = 0; i < MAX_PARAMS; i++)
		free(j->own[i]);
	free(j);
}

/* A one-line copy of libpq's message. */
static void one_line(char *out, size_t cap, const char *msg)
{
	snprintf(out, cap, "%s", msg && *msg ? msg : "connection lost");
	for (char *p = out; *p; p++)
		if (*p == '\n')
			*p = (p[1] ? ' ' : '\0');
}

static bool send_flushing(struct db *d)
{
	int r = PQflush(d->pg);
	if (r < 0)
		return false;
	if (r == 1)
		event_add(d->ev_write, NULL);
	return true;
}

static void conn_lost(struct db *d, const char *why);

/* Seconds on the monotonic clock, from 1 (0 is "never"). */
static time_t monotonic_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + 1;
}

/* The slot of sql's prepared statement (taken now if new); -1: too many, not prepared. */
static int prepared_slot(struct db *d, const char *sql)
{
	for (int i = 0; i < d->nprepared; i++)
		if (d->prepared[i].sql == sql && strcmp(d->prepared[i].text, sql) == 0)
			return i;
	if (d->nprepared == MAX_PREPARED)
		return -1;
	char *text = strdup(sql);
	if (text == NULL)
		return -1;
	d->prepared[d->nprepared] = (struct prepared){.sql = sql, .text = text};
	return d->nprepared++;
}

/* A new connection has none of them. */
static void prepared_forget(struct db *d)
{
	for (int i = 0; i < d->nprepared; i++)
		d->prepared[i].ready = false;
}

static void send_job(struct db *d)
{
	struct job *j = d->head;
	d->head = j->next;
	if (d->head == NULL)
		d->tail = NULL;
	d->busy = j;
	d->failed = false;
	d->sqlstate[0] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &d->started);
	j->preparing = -1;
	int slot = j->prepare ? prepared_slot(d, j->sql) : -1;
	char name[16];
	int ok;
	if (slot < 0) {
		ok = PQsendQueryParams(d->pg, j->sql, j->n, NULL, j->values, j->lengths, j->formats,
				       0);
	} else if (!d->prepared[slot].ready) {
		/* Prepared first; its result sends the statement (on_socket). */
		j->preparing = slot;
		snprintf(name, sizeof(name), "s%d", slot);
		ok = PQsendPrepare(d->pg, name, j->sql, j->n, NULL);
	} else {
		snprintf(name, sizeof(name), "s%d", slot);
		ok = PQsendQueryPrepared(d->pg, name, j->n, j->values, j->lengths, j->formats, 0);
	}
	if (!ok || !send_flushing(d))
		conn_lost(d, PQerrorMessage(d->pg));
}

/*
 * The statement is prepared (a failure to prepare is the job's failure,
 * reported as the statement's would be): the statement itself goes now.
 */
static void prepared_done(struct db *d)
{
	struct job *j = d->busy;
	int slot = j->preparing;
	j->preparing = -1;
	PQclear(d->result);
	d->result = NULL;
	d->prepared[slot].ready = true;
	char name[16];
	snprintf(name, sizeof(name), "s%d", slot);
	if (!PQsendQueryPrepared(d->pg, name, j->n, j->values, j->lengths, j->formats, 0) ||
	    !send_flushing(d))
		conn_lost(d, PQerrorMessage(d->pg));
}

static void take_result(struct db *d, PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		PQclear(d->result);
		d->result = res;
		return;
	}
	d->failed = true;
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	char msg[200];
	one_line(msg, sizeof(msg), PQresultErrorMessage(res));
	snprintf(d->error, sizeof(d->error), "%s (sqlstate %s)", msg, state ? state : "none");
	snprintf(d->sqlstate, sizeof(d->sqlstate), "%s", state ? state : "");
	PQclear(res);
}

/*
 * The statement failed because of the server it reached, not because of
 * itself: the connection broke (class 08), the server is shutting down
 * or crashed (57P01-57P03: what a backend says when its postmaster dies
 * under it, e.g. a primary killed before a failover), or it is a
 * read-only standby (25006: a balancer or a multi-host conninfo still
 * pointing at the old primary after a failover).  Such a statement is
 * sent again after a reconnect, like one whose connection simply closed,
 * instead of being reported failed.
 */
static bool failed_by_server(const struct db *d)
{
	const char *s = d->sqlstate;
	return PQstatus(d->pg) == CONNECTION_BAD || strncmp(s, "08", 2) == 0 ||
	       strcmp(s, "57P01") == 0 || strcmp(s, "57P02") == 0 || strcmp(s, "57P03") == 0 ||
	       strcmp(s, "25006") == 0;
}

/* The statement in flight has returned all its results. */
static void job_done(struct db *d)
{
	struct job *j = d->busy;
	d->busy = NULL;
	d->st.statements++;
	if (d->failed) {
		d->st.errors++;
		log_error("db %s: statement failed: %s", d->name, d->error);
	}
	j->fn(j->arg, d->failed ? NULL : d->result);
	PQclear(d->result);
	d->result = NULL;
	job_free(j);
	kick(d);
}

/* ---- the connection ---- */

static void drop_events(struct db *d)
{
	if (d->ev_read)
		event_free(d->ev_read);
	if (d->ev_write)
		event_free(d->ev_write);
	if (d->ev_connect)
		event_free(d->ev_connect);
	d->ev_read = d->ev_write = d->ev_connect = NULL;
}

static void on_reconnect_timer(evutil_socket_t fd, short what, void *arg)
{
	pg_connect(arg);
}

/*
 * The connection is gone (or never came).  The statement in flight goes
 * back to the head of the queue, to be sent again after the reconnect,
 * harmlessly if its commit had happened.
 */
static void conn_lost(struct db *d, const char *why)
{
	char msg[256];
	one_line(msg, sizeof(msg), why);
	unsigned waiting = (d->busy != NULL);
	for (const struct job *j = d->head; j; j = j->next)
		waiting++;
	log_error("db %s: database unavailable: %s; retrying in %u ms (%u statements waiting)",
		  d->name, msg, d->backoff_ms, waiting);
	drop_events(d);
	if (d->pg)
		PQfinish(d->pg);
	d->pg = NULL;
	d->state = PG_DOWN;
	if (d->busy) {
		d->busy->next = d->head;
		d->head = d->busy;
		if (d->tail == NULL)
			d->tail = d->busy;
		d->busy = NULL;
	}
	PQclear(d->result);
	d->result = NULL;
	struct timeval tv = {d->backoff_ms / 1000, (d->backoff_ms % 1000) * 1000};
	evtimer_add(d->ev_reconnect, &tv);
	/* Exponential backoff with jitter, capped. */
	unsigned next = d->backoff_ms * 2 + (unsigned)(random() % (d->backoff_ms / 4 + 1));
	d->backoff_ms = next > d->reconnect_max_ms ? d->reconnect_max_ms : next;
}

static void on_socket(evutil_socket_t fd, short what, void *arg)
{
	struct db *d = arg;
	if ((what & EV_WRITE) && !send_flushing(d)) {
		conn_lost(d, PQerrorMessage(d->pg));
		return;
	}
	if (!(what & EV_READ))
		return;
	if (!PQconsumeInput(d->pg)) {
		conn_lost(d, PQerrorMessage(d->pg));
		return;
	}
	while (d->busy && !PQisBusy(d->pg)) {
		PGresult *res = PQgetResult(d->pg);
		if (res == NULL && d->failed && failed_by_server(d)) {
			time_t now = monotonic_s();
			if (d->busy->refused_at == 0)
				d->busy->refused_at = now;
			if (now - d->busy->refused_at < DB_RESEND_FOR_S) {
				conn_lost(d, d->error);
				return;
			}
			/* Not a failover (that is over in seconds): a standby for good, or a
			 * statement that takes its backend down.  It fails; the next ones go. */
			log_error("db %s: the server has refused the statement for %d s: given up",
				  d->name, DB_RESEND_FOR_S);
		}
		if (res == NULL && d->busy->preparing >= 0 && !d->failed) {
			prepared_done(d);
			if (d->state != PG_READY)
				return;
			continue;
		}
		if (res == NULL) {
			d->busy->preparing = -1;
			job_done(d);
			if (d->state != PG_READY)
				return;
			continue;
		}
		take_result(d, res);
	}
	if (d->busy == NULL && PQstatus(d->pg) == CONNECTION_BAD)
		conn_lost(d, PQerrorMessage(d->pg));
}

static void connected(struct db *d)
{
	drop_events(d);
	if (PQsetnonblocking(d->pg, 1) != 0) {
		conn_lost(d, PQerrorMessage(d->pg));
		return;
	}
	int fd = PQsocket(d->pg);
	d->ev_read = event_new(d->base, fd, EV_READ | EV_PERSIST, on_socket, d);
	d->ev_write = event_new(d->base, fd, EV_WRITE, on_socket, d);
	event_add(d->ev_read, NULL);
	d->state = PG_READY;
	prepared_forget(d);
	if (d->backoff_ms != d->reconnect_min_ms || d->st.reconnects == 0)
		log_info("db %s: connected to PostgreSQL %d", d->name, PQserverVersion(d->pg));
	d->backoff_ms = d->reconnect_min_ms;
	d->st.reconnects++;
	kick(d);
}

static void on_connecting(evutil_socket_t fd, short what, void *arg)
{
	struct db *d = arg;
	short want;
	switch (PQconnectPoll(d->pg)) {
	case PGRES_POLLING_OK:
		connected(d);
		return;
	case PGRES_POLLING_READING:
		want = EV_READ;
		break;
	case PGRES_POLLING_WRITING:
		want = EV_WRITE;
		break;
	default:
		conn_lost(d, PQerrorMessage(d->pg));
		return;
	}
	/* The socket may change while connecting (several addresses). */
	if (d->ev_connect)
		event_free(d->ev_connect);
	d->ev_connect = event_new(d->base, PQsocket(d->pg), want, on_connecting, d);
	event_add(d->ev_connect, NULL);
}

static void pg_connect(struct db *d)
{
	/*
	 * Each connection names its part in pg_stat_activity ("hoursd ingest",
	 * "hoursd judge", ...) unless the conninfo names one: make bench
	 * splits PostgreSQL's CPU by it.
	 */
	char app[40];
	snprintf(app, sizeof(app), "hoursd %s", d->name);
	const char *const keys[] = {"dbname", "fallback_application_name", NULL};
	const char *const values[] = {d->conninfo, app, NULL};
	d->pg = PQconnectStartParams(keys, values, 1);
	if (d->pg == NULL || PQstatus(d->pg) == CONNECTION_BAD) {
		conn_lost(d, d->pg ? PQerrorMessage(d->pg) : "out of memory");
		return;
	}
	d->state = PG_CONNECTING;
	on_connecting(-1, 0, d);
}

/* Start the next statement when the connection is free. */
static void kick(struct db *d)
{
	if (d->state == PG_READY && d->busy == NULL && d->head)
		send_job(d);
}

/* ---- the interface ---- */

void db_reconfigure(struct db *d, const struct db_opts *o)
{
	free(d->conninfo);
	d->conninfo = strdup(o->conninfo);
	if (d->conninfo == NULL)
		die("out of memory");
	snprintf(d->name, sizeof(d->name), "%s", o->name);
	d->reconnect_min_ms = o->reconnect_min_ms;
	d->reconnect_max_ms = o->reconnect_max_ms;
}

struct db *db_new(struct event_base *base, const struct db_opts *o)
{
	struct db *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	d->base = base;
	db_reconfigure(d, o);
	d->backoff_ms = d->reconnect_min_ms;
	d->ev_reconnect = evtimer_new(base, on_reconnect_timer, d);
	pg_connect(d);
	return d;
}

void db_free(struct db *d)
{
	if (d == NULL)
		return;
	d->closing = true;
	drop_events(d);
	if (d->pg)
		PQfinish(d->pg);
	event_free(d->ev_reconnect);
	PQclear(d->result);
	if (d->busy) {
		d->busy->next = d->head;
		d->head = d->busy;
	}
	while (d->head) {
		struct job *j = d->head;
		d->head = j->next;
		j->fn(j->arg, NULL);
		job_free(j);
	}
	for (int i = 0; i < d->nprepared; i++)
		free(d->prepared[i].text);
	free(d->conninfo);
	free(d);
}

static void enqueue(struct db *d, struct job *j)
{
	if (d->closing) { /* queued by a callback of db_free: failed at once */
		j->fn(j->arg, NULL);
		job_free(j);
		return;
	}
	if (d->tail)
		d->tail->next = j;
	else
		d->head = j;
	d->tail = j;
	kick(d);
}

void db_query(struct db *d, const char *sql, int n, const char *const *values, db_result_fn fn,
	      void *arg)
{
	struct job *j = calloc(1, sizeof(*j));
	if (j == NULL || n > MAX_PARAMS)
		die("db %s: cannot queue a statement of %d parameters", d->name, n);
	for (int i = 0; i < n; i++) {
		j->own[i] = values[i] ? strdup(values[i]) : NULL;
		if (values[i] && j->own[i] == NULL)
			die("out of memory");
	}
	j->sql = sql;
	j->n = n;
	j->values = (const char *const *)j->own;
	j->fn = fn;
	j->arg = arg;
	enqueue(d, j);
}

void db_query_params(struct db *d, const char *sql, const struct db_params *p, db_result_fn fn,
		     void *arg)
{
	struct job *j = calloc(1, sizeof(*j));
	if (j == NULL)
		die("out of memory");
	*j = (struct job){.sql = sql,
			  .n = p->n,
			  .values = p->values,
			  .lengths = p->lengths,
			  .formats = p->formats,
			  .prepare = p->prepare,
			  .fn = fn,
			  .arg = arg};
	enqueue(d, j);
}

bool db_connected(const struct db *d)
{
	return d->state == PG_READY;
}

bool db_idle(const struct db *d)
{
	return d->head == NULL && d->busy == NULL;
}

double db_busy_s(const struct db *d)
{
	if (d->busy == NULL)
		return 0;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - d->started.tv_sec) +
	       (double)(now.tv_nsec - d->started.tv_nsec) / 1e9;
}

void db_get_stats(const struct db *d, struct db_stats *st)
{
	*st = d->st;
}
