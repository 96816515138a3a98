/*
 * store.c - see store.h.
 *
 * One libpq connection in non-blocking mode, its socket watched by the
 * event loop.  At most one statement is in flight.  Look-ups go before
 * batches (a terminal waits on them before it sends anything else);
 * batches collect rows from every connection while the previous one is
 * being written, which is what makes the commits grow under load.
 */
#include "hoursd.h"
#include "store.h"
#include "conf.h"
#include "log.h"

#include <errno.h>
#include <event2/event.h>
#include <libpq-fe.h>

enum pg_state { PG_DOWN, PG_CONNECTING, PG_READY };
enum job { JOB_NONE, JOB_BATCH, JOB_LOOKUP };

struct waiter {
	store_done_fn done;
	void *arg;
};

struct pos_row {
	int64_t terminal_id;
	struct jt808_location loc;
};

struct batch {
	struct pos_row *rows;
	unsigned nrows, rows_cap;
	struct waiter *waiters;
	unsigned nwaiters, waiters_cap;
};

struct lookup {
	struct lookup *next;
	char phone[21];
	store_terminal_fn fn;
	void *arg;
};

/* A growing NUL-terminated string for the array parameters. */
struct sbuf {
	char *p;
	size_t len, cap;
};

#define NCOLS 10

struct store {
	struct event_base *base;
	char *conninfo;
	unsigned batch_max_rows, batch_max_ms, high_water;
	unsigned reconnect_min_ms, reconnect_max_ms, backoff_ms;

	PGconn *pg;
	enum pg_state state;
	struct event *ev_read, *ev_write, *ev_connect;
	struct event *ev_flush, *ev_reconnect;

	struct batch open;     /* collecting rows */
	struct batch inflight; /* written by the statement in flight, or to write again */
	bool flush_due;
	enum job job;
	bool job_failed;
	char job_error[256];
	struct lookup *lk_head, *lk_tail, *lk_busy;
	struct store_terminal lk_result;
	bool lk_found;

	bool was_full;
	store_drain_fn drain;
	void *drain_arg;
	struct sbuf cols[NCOLS];
	struct store_stats st;
};

static const char insert_positions_sql[] =
	"INSERT INTO position (terminal_id, fix_time, lat_e6, lon_e6, altitude_m, speed_dkmh,"
	" direction, alarm, status, fix_valid)"
	" SELECT t, to_timestamp(ft), la, lo, al, sp, di, am, st, fv"
	" FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::int[], $5::int[], $6::int[],"
	" $7::int[], $8::bigint[], $9::bigint[], $10::bool[]) AS u(t, ft, la, lo, al, sp, di, am, "
	"st, fv)"
	" ON CONFLICT (terminal_id, fix_time) DO NOTHING";

static const char lookup_terminal_sql[] =
	"SELECT id, status = 'active', auth_code, encode(cert_sha256, 'hex'),"
	" extract(epoch FROM cert_not_after)::bigint FROM terminal WHERE phone = $1";

static void pg_connect(struct store *s);
static void kick(struct store *s);

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);
	if (q == NULL)
		die("out of memory (%zu bytes)", n);
	return q;
}

static void sbuf_reset(struct sbuf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
}

static void sbuf_raw(struct sbuf *b, const char *text, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->cap + n + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, text, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Append one array element, with a comma unless it is the first. */
static void sbuf_elem(struct sbuf *b, long long v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%lld", v);
	if (b->len > 1)
		sbuf_raw(b, ",", 1);
	sbuf_raw(b, tmp, (size_t)n);
}

void store_phone_norm(const char *digits, char out[21])
{
	while (digits[0] == '0' && digits[1] != '\0')
		digits++;
	snprintf(out, 21, "%s", digits);
}

/* ---- batches ---- */

static void batch_add(struct batch *b, int64_t tid, const struct jt808_location *locs, unsigned n,
		      store_done_fn done, void *arg)
{
	if (b->nrows + n > b->rows_cap) {
		b->rows_cap = (b->nrows + n) * 2 + 16;
		b->rows = xrealloc(b->rows, b->rows_cap * sizeof(*b->rows));
	}
	for (unsigned i = 0; i < n; i++)
		b->rows[b->nrows++] = (struct pos_row){.terminal_id = tid, .loc = locs[i]};
	if (b->nwaiters == b->waiters_cap) {
		b->waiters_cap = b->waiters_cap * 2 + 16;
		b->waiters = xrealloc(b->waiters, b->waiters_cap * sizeof(*b->waiters));
	}
	b->waiters[b->nwaiters++] = (struct waiter){.done = done, .arg = arg};
}

static bool batch_empty(const struct batch *b)
{
	return b->nwaiters == 0;
}

static void batch_swap(struct batch *a, struct batch *b)
{
	struct batch t = *a;
	*a = *b;
	*b = t;
}

/* Run every waiter's callback, then empty the batch (keeping its memory). */
static void batch_finish(struct batch *b, bool ok)
{
	/* Callbacks may add to the open batch, never to this one. */
	for (unsigned i = 0; i < b->nwaiters; i++)
		b->waiters[i].done(b->waiters[i].arg, ok);
	b->nwaiters = 0;
	b->nrows = 0;
}

static void batch_free(struct batch *b)
{
	free(b->rows);
	free(b->waiters);
}

static unsigned queued_rows(const struct store *s)
{
	return s->open.nrows + s->inflight.nrows;
}

/* ---- statements ---- */

static bool send_flushing(struct store *s)
{
	int r = PQflush(s->pg);
	if (r < 0)
		return false;
	if (r == 1)
		event_add(s->ev_write, NULL);
	return true;
}

static void conn_lost(struct store *s, const char *why);

static void send_batch(struct store *s)
{
	const struct batch *b = &s->inflight;
	for (int c = 0; c < NCOLS; c++) {
		sbuf_reset(&s->cols[c]);
		sbuf_raw(&s->cols[c], "{", 1);
	}
	for (unsigned i = 0; i < b->nrows; i++) {
		const struct pos_row *r = &b->rows[i];
		sbuf_elem(&s->cols[0], r->terminal_id);
		sbuf_elem(&s->cols[1], (long long)r->loc.time);
		sbuf_elem(&s->cols[2], r->loc.lat_e6);
		sbuf_elem(&s->cols[3], r->loc.lon_e6);
		sbuf_elem(&s->cols[4], r->loc.altitude_m);
		sbuf_elem(&s->cols[5], r->loc.speed_dkmh);
		sbuf_elem(&s->cols[6], r->loc.direction);
		sbuf_elem(&s->cols[7], r->loc.alarm);
		sbuf_elem(&s->cols[8], r->loc.status);
		sbuf_elem(&s->cols[9], r->loc.fix); /* 1 or 0, read by bool as true or false */
	}
	const char *values[NCOLS];
	for (int c = 0; c < NCOLS; c++) {
		sbuf_raw(&s->cols[c], "}", 1);
		values[c] = s->cols[c].p;
	}
	s->job = JOB_BATCH;
	s->job_failed = false;
	if (!PQsendQueryParams(s->pg, insert_positions_sql, NCOLS, NULL, values, NULL, NULL, 0) ||
	    !send_flushing(s))
		conn_lost(s, PQerrorMessage(s->pg));
}

static void send_lookup(struct store *s)
{
	s->lk_busy = s->lk_head;
	s->lk_head = s->lk_head->next;
	if (s->lk_head == NULL)
		s->lk_tail = NULL;
	const char *values[1] = {s->lk_busy->phone};
	s->job = JOB_LOOKUP;
	s->job_failed = false;
	s->lk_found = false;
	if (!PQsendQueryParams(s->pg, lookup_terminal_sql, 1, NULL, values, NULL, NULL, 0) ||
	    !send_flushing(s))
		conn_lost(s, PQerrorMessage(s->pg));
}

static bool hex_to_bytes(const char *hex, uint8_t *out, size_t n)
{
	if (strlen(hex) != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return false;
		out[i] = (uint8_t)v;
	}
	return true;
}

static void take_lookup_row(struct store *s, const PGresult *res)
{
	if (PQntuples(res) != 1)
		return;
	struct store_terminal *t = &s->lk_result;
	memset(t, 0, sizeof(*t));
	t->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	t->active = PQgetvalue(res, 0, 1)[0] == 't';
	snprintf(t->auth_code, sizeof(t->auth_code), "%s", PQgetvalue(res, 0, 2));
	if (!hex_to_bytes(PQgetvalue(res, 0, 3), t->cert_sha256, sizeof(t->cert_sha256)))
		log_warn("store: terminal %s has a malformed certificate digest",
			 s->lk_busy->phone);
	t->cert_not_after = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
	s->lk_found = true;
}

static void take_result(struct store *s, PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		if (s->job == JOB_LOOKUP)
			take_lookup_row(s, res);
		return;
	}
	s->job_failed = true;
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	snprintf(s->job_error, sizeof(s->job_error), "%s (sqlstate %s)", PQresultErrorMessage(res),
		 state ? state : "none");
	/* Strip the trailing newline libpq adds. */
	char *nl = strchr(s->job_error, '\n');
	if (nl)
		*nl = ' ';
}

/* The statement in flight has returned all its results. */
static void job_done(struct store *s)
{
	enum job job = s->job;
	s->job = JOB_NONE;
	if (job == JOB_LOOKUP) {
		struct lookup *lk = s->lk_busy;
		s->lk_busy = NULL;
		if (s->job_failed)
			log_error("store: terminal look-up failed: %s", s->job_error);
		lk->fn(lk->arg, s->lk_found && !s->job_failed, &s->lk_result);
		free(lk);
	} else if (job == JOB_BATCH) {
		unsigned rows = s->inflight.nrows;
		if (s->job_failed) {
			s->st.errors++;
			log_error("store: batch of %u rows failed, answering failure: %s", rows,
				  s->job_error);
		} else {
			s->st.batches++;
			s->st.rows += rows;
		}
		batch_finish(&s->inflight, !s->job_failed);
		if (s->was_full && queued_rows(s) < s->high_water / 2) {
			s->was_full = false;
			if (s->drain)
				s->drain(s->drain_arg);
		}
	}
	kick(s);
}

/* ---- the connection ---- */

static void drop_events(struct store *s)
{
	if (s->ev_read)
		event_free(s->ev_read);
	if (s->ev_write)
		event_free(s->ev_write);
	if (s->ev_connect)
		event_free(s->ev_connect);
	s->ev_read = s->ev_write = s->ev_connect = NULL;
}

static void on_reconnect_timer(evutil_socket_t fd, short what, void *arg)
{
	pg_connect(arg);
}

/*
 * The connection is gone (or never came).  What was in flight is kept: a
 * look-up goes back to the head of its queue, a batch stays in inflight
 * and is written again first, harmlessly if its commit had happened.
 */
static void conn_lost(struct store *s, const char *why)
{
	char msg[256];
	snprintf(msg, sizeof(msg), "%s", why && *why ? why : "connection lost");
	char *nl = strchr(msg, '\n');
	if (nl)
		*nl = '\0';
	log_error("store: database unavailable: %s; retrying in %u ms (%u rows waiting)", msg,
		  s->backoff_ms, queued_rows(s));
	drop_events(s);
	if (s->pg)
		PQfinish(s->pg);
	s->pg = NULL;
	s->state = PG_DOWN;
	if (s->job == JOB_LOOKUP && s->lk_busy) {
		s->lk_busy->next = s->lk_head;
		s->lk_head = s->lk_busy;
		if (s->lk_tail == NULL)
			s->lk_tail = s->lk_busy;
		s->lk_busy = NULL;
	}
	s->job = JOB_NONE;
	struct timeval tv = {s->backoff_ms / 1000, (s->backoff_ms % 1000) * 1000};
	evtimer_add(s->ev_reconnect, &tv);
	/* Exponential backoff with jitter, capped. */
	unsigned next = s->backoff_ms * 2 + (unsigned)(random() % (s->backoff_ms / 4 + 1));
	s->backoff_ms = next > s->reconnect_max_ms ? s->reconnect_max_ms : next;
}

static void on_socket(evutil_socket_t fd, short what, void *arg)
{
	struct store *s = arg;
	if (what & EV_WRITE) {
		if (!send_flushing(s)) {
			conn_lost(s, PQerrorMessage(s->pg));
			return;
		}
	}
	if (!(what & EV_READ))
		return;
	if (!PQconsumeInput(s->pg)) {
		conn_lost(s, PQerrorMessage(s->pg));
		return;
	}
	while (s->job != JOB_NONE && !PQisBusy(s->pg)) {
		PGresult *res = PQgetResult(s->pg);
		if (res == NULL) {
			job_done(s);
			if (s->state != PG_READY)
				return;
			continue;
		}
		take_result(s, res);
		PQclear(res);
	}
	if (s->job == JOB_NONE && PQstatus(s->pg) == CONNECTION_BAD)
		conn_lost(s, PQerrorMessage(s->pg));
}

static void connected(struct store *s)
{
	drop_events(s);
	if (PQsetnonblocking(s->pg, 1) != 0) {
		conn_lost(s, PQerrorMessage(s->pg));
		return;
	}
	int fd = PQsocket(s->pg);
	s->ev_read = event_new(s->base, fd, EV_READ | EV_PERSIST, on_socket, s);
	s->ev_write = event_new(s->base, fd, EV_WRITE, on_socket, s);
	event_add(s->ev_read, NULL);
	s->state = PG_READY;
	if (s->backoff_ms != s->reconnect_min_ms || s->st.reconnects == 0)
		log_info("store: connected to PostgreSQL %d (%u rows waiting)",
			 PQserverVersion(s->pg), queued_rows(s));
	s->backoff_ms = s->reconnect_min_ms;
	s->st.reconnects++;
	kick(s);
}

static void on_connecting(evutil_socket_t fd, short what, void *arg)
{
	struct store *s = arg;
	PostgresPollingStatusType ps = PQconnectPoll(s->pg);
	short want;
	switch (ps) {
	case PGRES_POLLING_OK:
		connected(s);
		return;
	case PGRES_POLLING_READING:
		want = EV_READ;
		break;
	case PGRES_POLLING_WRITING:
		want = EV_WRITE;
		break;
	default:
		conn_lost(s, PQerrorMessage(s->pg));
		return;
	}
	/* The socket may change while connecting (several addresses). */
	if (s->ev_connect)
		event_free(s->ev_connect);
	s->ev_connect = event_new(s->base, PQsocket(s->pg), want, on_connecting, s);
	event_add(s->ev_connect, NULL);
}

static void pg_connect(struct store *s)
{
	s->pg = PQconnectStart(s->conninfo);
	if (s->pg == NULL || PQstatus(s->pg) == CONNECTION_BAD) {
		conn_lost(s, s->pg ? PQerrorMessage(s->pg) : "out of memory");
		return;
	}
	s->state = PG_CONNECTING;
	on_connecting(-1, 0, s);
}

/* Start the next statement when the connection is free. */
static void kick(struct store *s)
{
	if (s->state != PG_READY || s->job != JOB_NONE)
		return;
	if (s->lk_head) {
		send_lookup(s);
		return;
	}
	if (batch_empty(&s->inflight)) {
		if (batch_empty(&s->open))
			return;
		if (!s->flush_due && s->open.nrows < s->batch_max_rows)
			return;
		batch_swap(&s->open, &s->inflight);
		s->flush_due = false;
		event_del(s->ev_flush);
	}
	send_batch(s);
}

static void on_flush_timer(evutil_socket_t fd, short what, void *arg)
{
	struct store *s = arg;
	s->flush_due = true;
	kick(s);
}

/* ---- the interface ---- */

void store_reconfigure(struct store *s, const struct hconf *conf)
{
	free(s->conninfo);
	s->conninfo = strdup(conf->db_conninfo);
	if (s->conninfo == NULL)
		die("out of memory");
	s->batch_max_rows = conf->batch_max_rows;
	s->batch_max_ms = conf->batch_max_ms;
	s->high_water = conf->store_high_water;
	s->reconnect_min_ms = conf->db_reconnect_min_ms;
	s->reconnect_max_ms = conf->db_reconnect_max_ms;
}

struct store *store_new(struct event_base *base, const struct hconf *conf, store_drain_fn drain,
			void *drain_arg)
{
	struct store *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->base = base;
	s->drain = drain;
	s->drain_arg = drain_arg;
	store_reconfigure(s, conf);
	s->backoff_ms = s->reconnect_min_ms;
	s->ev_flush = evtimer_new(base, on_flush_timer, s);
	s->ev_reconnect = evtimer_new(base, on_reconnect_timer, s);
	pg_connect(s);
	return s;
}

void store_free(struct store *s)
{
	if (s == NULL)
		return;
	drop_events(s);
	if (s->pg)
		PQfinish(s->pg);
	event_free(s->ev_flush);
	event_free(s->ev_reconnect);
	batch_finish(&s->inflight, false);
	batch_finish(&s->open, false);
	batch_free(&s->inflight);
	batch_free(&s->open);
	if (s->lk_busy) {
		s->lk_busy->next = s->lk_head;
		s->lk_head = s->lk_busy;
	}
	while (s->lk_head) {
		struct lookup *lk = s->lk_head;
		s->lk_head = lk->next;
		lk->fn(lk->arg, false, NULL);
		free(lk);
	}
	for (int c = 0; c < NCOLS; c++)
		free(s->cols[c].p);
	free(s->conninfo);
	free(s);
}

void store_add_positions(struct store *s, int64_t terminal_id, const struct jt808_location *locs,
			 unsigned n, store_done_fn done, void *arg)
{
	bool first = batch_empty(&s->open);
	batch_add(&s->open, terminal_id, locs, n, done, arg);
	if (queued_rows(s) >= s->high_water)
		s->was_full = true;
	if (s->open.nrows >= s->batch_max_rows) {
		kick(s);
	} else if (first) {
		struct timeval tv = {s->batch_max_ms / 1000, (s->batch_max_ms % 1000) * 1000};
		evtimer_add(s->ev_flush, &tv);
	}
}

void store_lookup_terminal(struct store *s, const char *phone, store_terminal_fn fn, void *arg)
{
	struct lookup *lk = calloc(1, sizeof(*lk));
	if (lk == NULL)
		die("out of memory");
	store_phone_norm(phone, lk->phone);
	lk->fn = fn;
	lk->arg = arg;
	if (s->lk_tail)
		s->lk_tail->next = lk;
	else
		s->lk_head = lk;
	s->lk_tail = lk;
	kick(s);
}

bool store_full(const struct store *s)
{
	return queued_rows(s) >= s->high_water;
}

bool store_idle(const struct store *s)
{
	return batch_empty(&s->open) && batch_empty(&s->inflight) && s->lk_head == NULL &&
	       s->job == JOB_NONE;
}

bool store_connected(const struct store *s)
{
	return s->state == PG_READY;
}

void store_get_stats(const struct store *s, struct store_stats *st)
{
	*st = s->st;
	st->queued_rows = queued_rows(s);
}
