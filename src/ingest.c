/*
 * ingest.c - see ingest.h.
 *
 * Batches collect rows from every connection while the previous one is
 * being written, which is what makes the commits grow under load.  The
 * rows are written by rows.c from their schemas, column by column, into
 * binary arrays: one parameter a column.
 */
#include "hoursd.h"
#include "ingest.h"
#include "conf.h"
#include "db.h"
#include "lesson.h"
#include "merkle.h"
#include "log.h"
#include "metrics.h"
#include "queries.h"
#include "rows.h"

#include <time.h>

#include <event2/event.h>
#include <libpq-fe.h>
#include <openssl/evp.h>

struct waiter {
	ingest_done_fn done;
	void *arg;
	int record; /* index into the batch's records, -1 for other frames */
};

/* A batch: rows of each kind, their bytes, the frames waiting for it. */
struct batch {
	struct row_set position, event, record, photo;
	unsigned rows;	   /* weight against the high-water mark */
	unsigned nrecords; /* accepted or not */
	bool judge;	   /* has records ingest accepted */
	struct waiter *waiters;
	unsigned nwaiters, waiters_cap;
	enum ingest_outcome *outcomes; /* per record, filled from the result */
	bool *open;		       /* per record: its outcome is read from this pass's result */
	unsigned outcomes_cap;
	unsigned rewrites; /* times written again for records another batch stored meanwhile */
	const char *values[ROWS_NPARAMS];
	int lengths[ROWS_NPARAMS], formats[ROWS_NPARAMS];
};

/* A connection of ingest's and the batch it is writing. */
struct lane {
	struct ingest *in;
	struct db *db;
	struct batch b;
	bool writing;
	struct timespec started;
};

struct ingest {
	struct event_base *base;
	char *sql; /* sql_ingest with the rows' column lists */
	unsigned batch_max_rows, batch_max_ms, high_water;
	struct event *ev_flush;

	struct batch open; /* collecting rows */
	bool flush_due;
	struct lane lanes[INGEST_MAX_CONNECTIONS];
	unsigned nlanes;

	bool was_full;
	ingest_drain_fn drain;
	ingest_judge_fn judge;
	void *arg;
	struct ingest_stats st;
};

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);
	if (q == NULL)
		die("out of memory (%zu bytes)", n);
	return q;
}

static double elapsed_s(const struct timespec *since)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) + (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

/* ---- batches ---- */

static void batch_wait(struct batch *b, ingest_done_fn done, void *arg, int record)
{
	if (b->nwaiters == b->waiters_cap) {
		b->waiters_cap = b->waiters_cap * 2 + 16;
		b->waiters = xrealloc(b->waiters, b->waiters_cap * sizeof(*b->waiters));
	}
	b->waiters[b->nwaiters++] = (struct waiter){.done = done, .arg = arg, .record = record};
}

static bool batch_empty(const struct batch *b)
{
	return b->nwaiters == 0;
}

/* Run every waiter's callback, then empty the batch (keeping its memory). */
static void batch_finish(struct batch *b, bool ok)
{
	/* Callbacks may add to the open batch, never to this one. */
	for (unsigned i = 0; i < b->nwaiters; i++) {
		const struct waiter *w = &b->waiters[i];
		enum ingest_outcome o = INGEST_FAILED;
		if (ok)
			o = w->record >= 0 ? b->outcomes[w->record] : INGEST_STORED;
		w->done(w->arg, o);
	}
	b->nwaiters = 0;
	b->rows = 0;
	b->nrecords = 0;
	b->judge = false;
	b->rewrites = 0;
	rows_reset(&b->position);
	rows_reset(&b->event);
	rows_reset(&b->record);
	rows_reset(&b->photo);
}

static void batch_init(struct batch *b)
{
	rows_init(&b->position, &row_position_schema);
	rows_init(&b->event, &row_event_schema);
	rows_init(&b->record, &row_record_schema);
	rows_init(&b->photo, &row_photo_schema);
}

static void batch_free(struct batch *b)
{
	free(b->waiters);
	free(b->outcomes);
	free(b->open);
	rows_free(&b->position);
	rows_free(&b->event);
	rows_free(&b->record);
	rows_free(&b->photo);
}

static unsigned queued_rows(const struct ingest *in)
{
	unsigned n = in->open.rows;
	for (unsigned i = 0; i < in->nlanes; i++)
		n += in->lanes[i].b.rows;
	return n;
}

/* ---- the statement ---- */

static void kick(struct ingest *in);

/*
 * The rows of the result: records not stored now (a resend, a conflict,
 * unknown), by their index.  Returns the number unknown: stored by
 * another batch at the same time, their verdict not visible to this
 * statement (INGEST_FAILED until a rewrite settles them).  A rewrite
 * reads only the outcomes the passes before left unknown.
 */
static unsigned take_outcomes(struct batch *b, const PGresult *res)
{
	int ci = PQfnumber(res, "i"), co = PQfnumber(res, "outcome"),
	    cv = PQfnumber(res, "stored_verdict");
	unsigned unknown = 0;
	for (unsigned i = 0; i < b->nrecords; i++) {
		b->open[i] = b->rewrites == 0 || b->outcomes[i] == INGEST_FAILED;
		if (b->open[i])
			b->outcomes[i] = INGEST_STORED;
	}
	for (int r = 0; r < PQntuples(res); r++) {
		long i = strtol(PQgetvalue(res, r, ci), NULL, 10);
		if (i < 0 || (unsigned long)i >= b->nrecords || !b->open[i])
			continue;
		if (strcmp(PQgetvalue(res, r, co), "conflict") == 0) {
			b->outcomes[i] = INGEST_CONFLICT;
		} else if (strcmp(PQgetvalue(res, r, co), "unknown") == 0) {
			b->outcomes[i] = INGEST_FAILED;
			unknown++;
		} else if (strcmp(PQgetvalue(res, r, cv), "accepted") == 0) {
			b->outcomes[i] = INGEST_DUPLICATE;
		} else {
			b->outcomes[i] = INGEST_DUPLICATE_REJECTED;
		}
	}
	return unknown;
}

static void send_batch(struct lane *l);

/*
 * A record a concurrent batch stored (two copies at once, on two
 * connections or instances) is committed by now: the same statement
 * written again finds it stored, with its verdict and bytes to compare,
 * and changes nothing else (every insert is idempotent).  Bounded: a
 * record still unknown after that is answered failure.
 */
#define INGEST_REWRITES 3

static void on_batch(void *arg, const PGresult *res)
{
	struct lane *l = arg;
	struct ingest *in = l->in;
	struct batch *b = &l->b;
	l->writing = false;
	if (res == NULL) {
		in->st.errors++;
		log_error("ingest: batch of %u rows failed, answering failure", b->rows);
	} else {
		in->st.batches++;
		if (b->rewrites == 0) {
			in->st.rows += b->rows;
			hist_observe(&metric_batch_rows, b->rows);
		}
		hist_observe(&metric_commit_seconds, elapsed_s(&l->started));
		unsigned unknown = take_outcomes(b, res);
		if (unknown > 0 && b->rewrites < INGEST_REWRITES) {
			b->rewrites++;
			log_info(
				"ingest: %u record(s) stored by another batch meanwhile: the batch "
				"written again for their stored verdicts",
				unknown);
			send_batch(l);
			return;
		}
	}
	bool judge = res != NULL && b->judge;
	batch_finish(b, res != NULL);
	if (judge && in->judge)
		in->judge(in->arg);
	if (in->was_full && queued_rows(in) < in->high_water / 2) {
		in->was_full = false;
		if (in->drain)
			in->drain(in->arg);
	}
	kick(in);
}

static void send_batch(struct lane *l)
{
	struct batch *b = &l->b;
	if (b->nrecords > b->outcomes_cap) {
		b->outcomes_cap = b->nrecords * 2;
		b->outcomes = xrealloc(b->outcomes, b->outcomes_cap * sizeof(*b->outcomes));
		b->open = xrealloc(b->open, b->outcomes_cap * sizeof(*b->open));
	}
	/* The same parameters again for a rewrite: the rows have not changed. */
	unsigned n = 0;
	struct row_set *kinds[] = {&b->position, &b->event, &b->record, &b->photo};
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		n += rows_params(kinds[i], b->values + n, b->lengths + n, b->formats + n);
	/* Prepared: its plan does not depend on the batch (a function's rows are
	 * estimated alike whatever the arrays), and planning it was about
	 * 2.5 ms a batch (docs/architecture.md, "Where the time goes"). */
	struct db_params p = {.n = (int)n,
			      .values = b->values,
			      .lengths = b->lengths,
			      .formats = b->formats,
			      .prepare = true};
	l->writing = true;
	clock_gettime(CLOCK_MONOTONIC, &l->started);
	db_query_params(l->db, l->in->sql, &p, on_batch, l);
}

/*
 * Send the open batch when it is due and a connection is free: while
 * every connection is writing, the batch grows.
 */
static void kick(struct ingest *in)
{
	if (batch_empty(&in->open))
		return;
	if (!in->flush_due && in->open.rows < in->batch_max_rows)
		return;
	struct lane *l = NULL;
	for (unsigned i = 0; i < in->nlanes && l == NULL; i++)
		if (!in->lanes[i].writing && db_connected(in->lanes[i].db))
			l = &in->lanes[i];
	for (unsigned i = 0; i < in->nlanes && l == NULL; i++)
		if (!in->lanes[i].writing) /* all down: it waits in the first one's queue */
			l = &in->lanes[i];
	if (l == NULL)
		return;
	struct batch t = l->b;
	l->b = in->open;
	in->open = t;
	in->flush_due = false;
	event_del(in->ev_flush);
	send_batch(l);
}

static void on_flush_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ingest *in = arg;
	in->flush_due = true;
	kick(in);
}

/* Count rows against the high-water mark and flush when the batch is full. */
static void added(struct ingest *in, unsigned rows)
{
	bool first = in->open.rows == 0 && in->open.nwaiters == 1;
	in->open.rows += rows;
	if (queued_rows(in) >= in->high_water)
		in->was_full = true;
	if (in->open.rows >= in->batch_max_rows) {
		kick(in);
	} else if (first) {
		struct timeval tv = {in->batch_max_ms / 1000, (in->batch_max_ms % 1000) * 1000};
		evtimer_add(in->ev_flush, &tv);
	}
}

/* ---- the interface ---- */

void ingest_reconfigure(struct ingest *in, const struct hconf *conf)
{
	in->batch_max_rows = conf->batch_max_rows;
	in->batch_max_ms = conf->batch_max_ms;
	in->high_water = conf->store_high_water;
}

struct ingest *ingest_new(struct event_base *base, const struct hconf *conf, struct db *const *dbs,
			  unsigned ndbs, ingest_drain_fn drain, ingest_judge_fn judge, void *arg)
{
	struct ingest *in = calloc(1, sizeof(*in));
	if (in == NULL || ndbs == 0 || ndbs > INGEST_MAX_CONNECTIONS) {
		free(in);
		return NULL;
	}
	in->base = base;
	in->nlanes = ndbs;
	for (unsigned i = 0; i < ndbs; i++) {
		in->lanes[i] = (struct lane){.in = in, .db = dbs[i]};
		batch_init(&in->lanes[i].b);
	}
	batch_init(&in->open);
	in->sql = rows_statement(sql_ingest);
	in->drain = drain;
	in->judge = judge;
	in->arg = arg;
	ingest_reconfigure(in, conf);
	in->ev_flush = evtimer_new(base, on_flush_timer, in);
	return in;
}

void ingest_free(struct ingest *in)
{
	if (in == NULL)
		return;
	event_free(in->ev_flush);
	for (unsigned i = 0; i < in->nlanes; i++) {
		batch_finish(&in->lanes[i].b, false);
		batch_free(&in->lanes[i].b);
	}
	batch_finish(&in->open, false);
	batch_free(&in->open);
	free(in->sql);
	free(in);
}

void ingest_add_positions(struct ingest *in, int64_t terminal_id, const struct jt808_location *locs,
			  unsigned n, ingest_done_fn done, void *arg)
{
	for (unsigned i = 0; i < n; i++) {
		const struct jt808_location *l = &locs[i];
		struct row_position r = {.terminal_id = terminal_id,
					 .fix_time = l->time,
					 .lat_e6 = l->lat_e6,
					 .lon_e6 = l->lon_e6,
					 .altitude_m = l->altitude_m,
					 .speed_dkmh = l->speed_dkmh,
					 .direction = l->direction,
					 .alarm = l->alarm,
					 .status = l->status,
					 .fix_valid = l->fix};
		rows_add(&in->open.position, &r);
	}
	batch_wait(&in->open, done, arg, -1);
	added(in, n);
}

/* A nullable integer: set when present. */
static ROW_C_NINT nint(int64_t v, bool present)
{
	return (ROW_C_NINT){.v = v, .set = present};
}

void ingest_add_event(struct ingest *in, const struct ingest_event *ev, ingest_done_fn done,
		      void *arg)
{
	const struct lesson_event *e = ev->e;
	/* Negative class, minutes and mileage: absent from the frame. */
	struct row_event r = {.terminal_id = ev->terminal_id,
			      .kind = e->kind,
			      .event_time = e->time,
			      .person_no = e->person_no,
			      .coach_no = e->coach_no,
			      .class_id = nint(e->class_id, e->class_id >= 0),
			      .course_code = e->course_code,
			      .minutes = nint(e->minutes, e->minutes >= 0),
			      .mileage_dkm = nint(e->mileage_dkm, e->mileage_dkm >= 0),
			      .lat_e6 = e->gnss->lat_e6,
			      .lon_e6 = e->gnss->lon_e6,
			      .fix_valid = e->gnss->fix,
			      .reason = ev->reason,
			      .came_unsigned = ev->came_unsigned,
			      .outside_schedule = e->outside_schedule,
			      .flags = e->flags,
			      .ext_serial = ev->ext_serial,
			      .raw = {ev->raw, ev->raw_len}};
	rows_add(&in->open.event, &r);
	batch_wait(&in->open, done, arg, -1);
	added(in, 1);
}

/*
 * The evidence (migration 025, docs/audit.md "A training record's leaf"):
 * the leaf hash of the row r is stored with it, computed here from the
 * values it gets, so that PostgreSQL builds no leaf.  false: out of memory
 * (the row then goes without: the log computes its leaf in SQL).
 */
static bool record_leaf(const struct row_record *r, const char *verdict, uint8_t out[32])
{
	struct merkle_record l = {.terminal_id = r->terminal_id,
				  .record_no = r->record_no,
				  .record_time = r->record_time,
				  .student_no = r->student_no,
				  .coach_no = r->coach_no,
				  .class_id = r->class_id,
				  .course_code = r->course_code,
				  .part = (int)r->part,
				  .mode = (int)r->mode,
				  .vehicle_class = r->vehicle_class,
				  .upload_type = (int)r->upload_type,
				  .record_status = (int)r->record_status,
				  .max_speed_dkmh = (int32_t)r->max_speed_dkmh,
				  .mileage_dkm = (int32_t)r->mileage_dkm,
				  .lat_e6 = (int32_t)r->lat_e6,
				  .lon_e6 = (int32_t)r->lon_e6,
				  .fix_valid = r->fix_valid,
				  .has_gnss_time = r->gnss_time.set,
				  .gnss_time = r->gnss_time.v,
				  .has_session_login = r->session_login.set,
				  .session_login = r->session_login.v,
				  .verdict = verdict,
				  .reason = r->reason,
				  .received_us = r->received_us};
	unsigned len = 0;
	return EVP_Digest(r->raw.p, r->raw.n, l.raw_sha256, &len, EVP_sha256(), NULL) == 1 &&
	       merkle_record_leaf(&l, out);
}

void ingest_add_record(struct ingest *in, const struct ingest_record *rec, ingest_done_fn done,
		       void *arg)
{
	const struct jtx_record *m = rec->rec;
	const struct jt808_location *g = &m->gnss;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	uint8_t leaf[32];
	struct row_record r = {.i = in->open.nrecords,
			       .terminal_id = rec->terminal_id,
			       .record_no = m->record_no,
			       .record_time = m->record_time,
			       .student_no = m->student_no,
			       .coach_no = m->coach_no,
			       .class_id = m->class_id,
			       .course_code = m->course.digits,
			       .part = m->course.part,
			       .mode = m->course.mode,
			       .vehicle_class = m->course.vehicle_class,
			       .upload_type = m->upload_type,
			       .record_status = m->status,
			       .max_speed_dkmh = m->max_speed_dkmh,
			       .mileage_dkm = m->mileage_dkm,
			       .lat_e6 = g->lat_e6,
			       .lon_e6 = g->lon_e6,
			       .fix_valid = g->fix,
			       .gnss_time = nint(g->time, g->time > 0),
			       .session_login = nint(rec->session_login, rec->session_login > 0),
			       .reason = rec->reason,
			       .came_unsigned = rec->came_unsigned,
			       /* The timing GNSS block: both speeds; the extra items when sent. */
			       .gnss_speed_dkmh = g->speed_dkmh,
			       .recorder_speed_dkmh = g->recorder_speed_dkmh,
			       .gnss_mileage_dkm =
				       nint(g->mileage_dkm, g->extras & JT808_X_MILEAGE),
			       .engine_rpm = nint(g->engine_rpm, g->extras & JT808_X_RPM),
			       .altitude_m = nint(g->altitude_m, g->extras & JT808_X_ALTITUDE),
			       .fuel_dl = nint(g->fuel_dl, g->extras & JT808_X_FUEL),
			       .raw = {rec->raw, rec->raw_len},
			       .received_us = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000};
	if (record_leaf(&r, rec->reason == NULL ? "accepted" : "rejected", leaf))
		r.leaf = (ROW_C_BYTES){leaf, sizeof(leaf)};
	rows_add(&in->open.record, &r);
	if (rec->reason == NULL)
		in->open.judge = true;
	batch_wait(&in->open, done, arg, (int)in->open.nrecords++);
	added(in, 1);
}

void ingest_add_photo(struct ingest *in, int64_t terminal_id, const struct jtx_photo_init *p,
		      const uint8_t *data, size_t len, ingest_done_fn done, void *arg)
{
	struct row_photo r = {.terminal_id = terminal_id,
			      .photo_no = p->photo_no,
			      .person_no = p->person_no,
			      .class_id = p->class_id,
			      .upload_mode = p->upload_mode,
			      .channel = p->channel,
			      .size_code = p->size_code,
			      .event = p->event,
			      .face_confidence = p->face_confidence,
			      .lat_e6 = p->gnss.lat_e6,
			      .lon_e6 = p->gnss.lon_e6,
			      .taken_at = nint(p->gnss.time, p->gnss.time > 0),
			      .data = {data, len}};
	rows_add(&in->open.photo, &r);
	batch_wait(&in->open, done, arg, -1);
	/* Weigh a photo by its size, so that photos too hold the store back. */
	added(in, 1 + (unsigned)(len / 1024));
}

/* ---- the registry ---- */

struct lookup {
	ingest_terminal_fn fn;
	void *arg;
	char phone[21];
};

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

/* A column of the one row by name: "" when null (or absent). */
static const char *col(const PGresult *res, const char *name)
{
	int c = PQfnumber(res, name);
	return c < 0 || PQgetisnull(res, 0, c) ? "" : PQgetvalue(res, 0, c);
}

static int64_t col_i64(const PGresult *res, const char *name)
{
	return strtoll(col(res, name), NULL, 10);
}

#define COL_STR(res, t, field) snprintf((t)->field, sizeof((t)->field), "%s", col(res, #field))

/* The row of terminal_lookup.sql; false when there is none. */
static bool terminal_from_row(const PGresult *res, struct terminal *t, const char *phone)
{
	if (PQntuples(res) != 1)
		return false;
	memset(t, 0, sizeof(*t));
	t->id = col_i64(res, "id");
	t->active = col(res, "active")[0] == 't';
	COL_STR(res, t, auth_code);
	COL_STR(res, t, terminal_no);
	t->cert_not_after = col_i64(res, "cert_not_after");
	t->sign_cert_pem = col(res, "sign_cert_pem");
	if (!hex_to_bytes(col(res, "cert_sha256"), t->cert_sha256, 32) ||
	    !hex_to_bytes(col(res, "sign_cert_sha256"), t->sign_cert_sha256, 32))
		log_warn("ingest: terminal %s has a malformed certificate digest", phone);
	t->sign_cert_since = col_i64(res, "sign_cert_since");
	t->prev_sign_cert_pem = col(res, "prev_sign_cert_pem");
	t->has_prev_sign_cert =
		t->prev_sign_cert_pem[0] && t->sign_cert_since > 0 &&
		hex_to_bytes(col(res, "prev_sign_cert_sha256"), t->prev_sign_cert_sha256, 32);
	COL_STR(res, t, coach_no);
	t->coach_login = col_i64(res, "coach_login");
	COL_STR(res, t, student_no);
	COL_STR(res, t, student_coach_no);
	t->student_class_id = col_i64(res, "student_class_id");
	t->student_login = col_i64(res, "student_login");
	t->last_record = col_i64(res, "last_record");
	t->school_id = col_i64(res, "school_id");
	COL_STR(res, t, vehicle_class);
	COL_STR(res, t, imei);
	COL_STR(res, t, factory_serial);
	t->escaped_sums = col(res, "escaped_sums")[0] == 't';
	t->rsa_raw = col(res, "rsa_raw")[0] == 't';
	return true;
}

static void on_lookup(void *arg, const PGresult *res)
{
	struct lookup *l = arg;
	struct terminal t;
	bool found = res && terminal_from_row(res, &t, l->phone);
	l->fn(l->arg, found, found ? &t : NULL);
	free(l);
}

void ingest_lookup_terminal(struct ingest *in, const char *phone, ingest_terminal_fn fn, void *arg)
{
	struct lookup *l = calloc(1, sizeof(*l));
	if (l == NULL)
		die("out of memory");
	l->fn = fn;
	l->arg = arg;
	jt808_phone_norm(phone, l->phone);
	const char *v[1] = {l->phone};
	db_query(in->lanes[0].db, sql_terminal_lookup, 1, v, on_lookup, l);
}

bool ingest_full(const struct ingest *in)
{
	return queued_rows(in) >= in->high_water;
}

bool ingest_idle(const struct ingest *in)
{
	bool idle = batch_empty(&in->open);
	for (unsigned i = 0; i < in->nlanes; i++)
		idle = idle && batch_empty(&in->lanes[i].b);
	return idle;
}

void ingest_get_stats(const struct ingest *in, struct ingest_stats *st)
{
	*st = in->st;
	st->queued_rows = queued_rows(in);
}
