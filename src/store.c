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
#include "metrics.h"
#include "reasons.h"
#include "jsonw.h"

#include <time.h>

#include <errno.h>
#include <event2/event.h>
#include <libpq-fe.h>

enum pg_state { PG_DOWN, PG_CONNECTING, PG_READY };
enum job { JOB_NONE, JOB_BATCH, JOB_QUERY };

struct waiter {
	store_done_fn done;
	void *arg;
	int record; /* index into the batch's records, -1 for other frames */
};

/*
 * A batch: the rows of every kind as the elements of JSON arrays, which
 * one statement unpacks with jsonb_to_recordset, and the frames waiting
 * for it.
 */
struct batch {
	struct jsonw positions, events, records, photos;
	unsigned rows; /* weight against the high-water mark */
	unsigned nrecords;
	struct waiter *waiters;
	unsigned nwaiters, waiters_cap;
	enum store_outcome *outcomes; /* per record, filled from the result */
	const char **reasons;	      /* per record: the database's reason with STORE_REJECTED */
	unsigned outcomes_cap;
};

#define MAX_PARAMS 16

/* A query waiting for the connection: a terminal look-up, or one of store_query(). */
struct query {
	struct query *next;
	const char *sql; /* static text */
	int nparams;
	char *params[MAX_PARAMS];
	store_terminal_fn terminal_fn; /* a terminal look-up */
	store_query_fn fn;	       /* a caller's query */
	void *arg;
};

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
	char *inflight_json;   /* its parameter, kept for a rewrite after a reconnect */
	bool flush_due;
	enum job job;
	bool job_failed;
	char job_error[256];
	struct timespec job_started;
	struct query *q_head, *q_tail, *q_busy;
	PGresult *q_result; /* the busy query's result, until it completes */
	struct store_terminal term;
	char *term_pem;

	bool was_full;
	store_drain_fn drain;
	void *drain_arg;
	struct store_stats st;
};

/*
 * One statement, hence one transaction, for the whole batch.  Records
 * come back one row each with what became of them: inserted now, or
 * already there with the same bytes (a resend; a record uploaded again on
 * command with the same fields), or with other bytes (a conflict, kept
 * aside).  A record inserted concurrently by another
 * instance is neither in ins nor in old: a resend too.
 */
static const char batch_sql[] =
	"WITH d AS (SELECT $1::jsonb AS j),"
	" pos AS (INSERT INTO position (terminal_id, fix_time, lat_e6, lon_e6, altitude_m,"
	"  speed_dkmh, direction, alarm, status, fix_valid)"
	"  SELECT t, to_timestamp(ft), la, lo, al, sp, di, am, st, fv"
	"  FROM d, jsonb_to_recordset(d.j->'p') AS x(t bigint, ft bigint, la int, lo int, al int,"
	"   sp int, di int, am bigint, st bigint, fv bool)"
	"  ON CONFLICT DO NOTHING),"
	" ev AS (INSERT INTO session_event (terminal_id, kind, event_time, person_no, coach_no,"
	"  class_id, course_code, minutes, mileage_dkm, lat_e6, lon_e6, fix_valid, verdict, reason,"
	"  ext_serial, raw, signed)"
	"  SELECT t, k, to_timestamp(et), pn, cn, ci, cc, mi, ml, la, lo, fv,"
	"   CASE WHEN rs IS NULL THEN 'accepted' ELSE 'rejected' END, rs, es, decode(raw, 'hex'),"
	"   NOT coalesce(us, false)"
	"  FROM d, jsonb_to_recordset(d.j->'e') AS x(t bigint, k text, et bigint, pn text, cn text,"
	"   ci bigint, cc text, mi int, ml int, la int, lo int, fv bool, rs text, es int, raw text,"
	"   us bool)"
	"  ON CONFLICT DO NOTHING),"
	" ph AS (INSERT INTO photo (terminal_id, photo_no, person_no, class_id, upload_mode, "
	"channel,"
	"  size_code, event, face_confidence, taken_at, lat_e6, lon_e6, size, sha256, data)"
	"  SELECT t, pn, pe, ci, um, ch, sc, ev, fc, to_timestamp(ta), la, lo, sz,"
	"   sha256(decode(data, 'hex')), decode(data, 'hex')"
	"  FROM d, jsonb_to_recordset(d.j->'f') AS x(t bigint, pn text, pe text, ci bigint, um int,"
	"   ch int, sc int, ev int, fc int, ta bigint, la int, lo int, sz int, data text)"
	"  ON CONFLICT DO NOTHING),"
	" rin AS (SELECT x.*, decode(raw, 'hex') AS rawb,"
	"  row_number() OVER (PARTITION BY t, no ORDER BY i) AS resend,"
	"  date_trunc('minute', to_timestamp(rt)) AS minute,"
	"  (to_timestamp(rt + 28800) AT TIME ZONE 'UTC')::date AS day,"
	"  CASE WHEN x.pa IN (2, 3) THEN 'practice' ELSE 'theory' END AS grp"
	"  FROM d, jsonb_to_recordset(d.j->'r') AS"
	"  x(i int, t bigint, no text, rt bigint, sn text, cn text, ci bigint, cc text, pa int,"
	"   mo int, vc text, ut int, st int, ms int, ml int, la int, lo int, fv bool, gt bigint,"
	"   sl bigint, rs text, raw text, gs int, gr int, gm bigint, ge int, ga int, gf int,"
	"   us bool)),"
	/* Records hoursd accepted that are not resends: they claim their minute. */
	" cand AS (SELECT DISTINCT ON (t, no) * FROM rin WHERE rs IS NULL AND NOT EXISTS"
	"  (SELECT 1 FROM training_record tr WHERE tr.terminal_id = rin.t AND tr.record_no = "
	"rin.no)"
	"  ORDER BY t, no, i),"
	" claim AS (INSERT INTO minute_claim (terminal_id, record_no, student_no, coach_no, minute)"
	"  SELECT t, no, sn, cn, minute FROM cand ORDER BY rt, i ON CONFLICT DO NOTHING"
	"  RETURNING terminal_id, record_no),"
	/* IS TRUE keeps each IN a hashed subplan: as a join of two CTEs, whose row counts
	 * the planner cannot know, it is planned as a nested loop, quadratic in the batch. */
	" claimed AS (SELECT * FROM cand"
	"  WHERE ((t, no) IN (SELECT terminal_id, record_no FROM claim)) IS TRUE),"
	/* The daily cap: minutes offered per student, part and day, counted in record order. */
	" dayagg AS (SELECT sn, grp, day, count(*) AS n FROM claimed GROUP BY sn, grp, day),"
	" dayup AS (INSERT INTO progress_day (student_no, cap_group, day, minutes)"
	"  SELECT sn, grp, day, n FROM dayagg ON CONFLICT (student_no, cap_group, day) DO UPDATE"
	"  SET minutes = progress_day.minutes + EXCLUDED.minutes"
	"  RETURNING student_no, cap_group, day, minutes),"
	" ranked AS (SELECT c.*, row_number() OVER (g ORDER BY rt, no) AS k, count(*) OVER g AS n"
	"  FROM claimed c WINDOW g AS (PARTITION BY sn, grp, day)),"
	" counted AS (SELECT r.* FROM ranked r"
	"  JOIN dayup u ON u.student_no = r.sn AND u.cap_group = r.grp AND u.day = r.day"
	"  LEFT JOIN syllabus_part sp ON sp.vehicle_class = r.vc AND sp.part = r.pa"
	"  WHERE u.minutes - r.n + r.k <= coalesce(sp.daily_cap_minutes, 2147483647)),"
	/* The verdict: hoursd's, else the database's (overlap, daily cap), else accepted. */
	" verdict AS (SELECT rin.i, CASE"
	"  WHEN rin.rs IS NOT NULL THEN rin.rs"
	"  WHEN rin.i IN (SELECT i FROM counted) THEN NULL"
	"  WHEN rin.i IN (SELECT i FROM claimed) THEN 'daily_cap'"
	"  WHEN EXISTS (SELECT 1 FROM minute_claim m WHERE m.student_no = rin.sn"
	"   AND m.minute = rin.minute) OR (rin.sn, rin.minute) IN (SELECT sn, minute FROM claimed)"
	"  THEN 'student_overlap'"
	"  ELSE 'coach_overlap' END AS reason FROM rin),"
	" ins AS (INSERT INTO training_record (terminal_id, record_no, record_time, student_no,"
	"  coach_no, class_id, course_code, part, mode, vehicle_class, upload_type, record_status,"
	"  max_speed_dkmh, mileage_dkm, lat_e6, lon_e6, fix_valid, gnss_time, session_login_at,"
	"  verdict, reason, raw, raw_sha256, gnss_speed_dkmh, recorder_speed_dkmh, gnss_mileage_dkm,"
	"  engine_rpm, altitude_m, fuel_dl, signed)"
	"  SELECT DISTINCT ON (t, no) t, no, to_timestamp(rt), sn, cn, ci, cc, pa, mo, vc, ut, st,"
	"   ms, ml, la, lo, fv, to_timestamp(gt), to_timestamp(sl),"
	"   CASE WHEN v.reason IS NULL THEN 'accepted' ELSE 'rejected' END, v.reason, rawb,"
	"   sha256(rawb), gs, gr, gm, ge, ga, gf, NOT coalesce(us, false)"
	"  FROM rin JOIN verdict v USING (i) ORDER BY t, no, i"
	"  ON CONFLICT (terminal_id, record_no) DO NOTHING RETURNING terminal_id, record_no, "
	"verdict),"
	/* Progress per student and part, by kind: 1 vehicle, 2 classroom, 3 simulator, 4 remote. */
	" agg AS (SELECT sn, pa, min(vc) AS vc, count(*) FILTER (WHERE mo = 1) AS veh,"
	"  count(*) FILTER (WHERE mo = 3) AS sim, count(*) FILTER (WHERE mo = 2) AS cls,"
	"  count(*) FILTER (WHERE mo = 4) AS rem, sum(ml) AS ml, min(minute) AS first,"
	"  max(minute) AS last, count(*) AS n FROM counted GROUP BY sn, pa),"
	" prog AS (INSERT INTO progress (student_no, part, vehicle_class, vehicle, simulator,"
	"  classroom, remote, mileage_dkm, first_minute, last_minute, records)"
	"  SELECT sn, pa, vc, veh, sim, cls, rem, ml, first, last, n FROM agg"
	"  ON CONFLICT (student_no, part) DO UPDATE SET vehicle = progress.vehicle + "
	"EXCLUDED.vehicle,"
	"  simulator = progress.simulator + EXCLUDED.simulator,"
	"  classroom = progress.classroom + EXCLUDED.classroom,"
	"  remote = progress.remote + EXCLUDED.remote,"
	"  mileage_dkm = progress.mileage_dkm + EXCLUDED.mileage_dkm,"
	"  first_minute = least(progress.first_minute, EXCLUDED.first_minute),"
	"  last_minute = greatest(progress.last_minute, EXCLUDED.last_minute),"
	"  records = progress.records + EXCLUDED.records, updated_at = now() RETURNING *),"
	/* A part met now or before: its one packet, decided under the unique key. */
	" met AS (SELECT p.* FROM prog p JOIN syllabus_part sp"
	"  ON sp.vehicle_class = p.vehicle_class AND sp.part = p.part"
	"  WHERE least(p.vehicle, coalesce(sp.max_vehicle, p.vehicle))"
	"  + least(p.simulator, coalesce(sp.max_simulator, p.simulator))"
	"  + least(p.classroom, coalesce(sp.max_classroom, p.classroom))"
	"  + least(p.remote, coalesce(sp.max_remote, p.remote)) >= sp.required_minutes),"
	" pk AS (INSERT INTO push_packet (id, student_no, part, vehicle_class)"
	"  SELECT gen_random_uuid(), student_no, part, vehicle_class FROM met"
	"  ON CONFLICT (student_no, part) DO NOTHING),"
	/* A record uploaded again on the platform's command (upload type 2) has another upload
	 * type byte, so other bytes and another signature: the same record when every field it
	 * reports is the stored one's. */
	" old AS (SELECT rin.i, tr.raw_sha256 = sha256(rin.rawb) OR (rin.ut = 2"
	"  AND (tr.record_time, tr.student_no, tr.coach_no, tr.class_id, tr.course_code,"
	"  tr.record_status, tr.max_speed_dkmh, tr.mileage_dkm, tr.lat_e6, tr.lon_e6)"
	"  = (to_timestamp(rin.rt), rin.sn, rin.cn, rin.ci, rin.cc, rin.st, rin.ms, rin.ml,"
	"  rin.la, rin.lo)) AS same, tr.verdict"
	"  FROM rin JOIN training_record tr ON tr.terminal_id = rin.t AND tr.record_no = rin.no),"
	" conf AS (INSERT INTO training_record_conflict (terminal_id, record_no, raw, raw_sha256)"
	"  SELECT rin.t, rin.no, rin.rawb, sha256(rin.rawb) FROM rin JOIN old USING (i)"
	"  WHERE NOT old.same ON CONFLICT DO NOTHING)"
	/* Per record: s stored accepted, x stored rejected, d/r a resend of one stored
	 * accepted/rejected (before, by another instance, or earlier in this batch: resend > 1),
	 * c a conflict. */
	" SELECT rin.i, CASE WHEN old.i IS NOT NULL AND NOT old.same THEN 'c'"
	"  WHEN old.i IS NOT NULL THEN CASE WHEN old.verdict = 'accepted' THEN 'd' ELSE 'r' END"
	"  WHEN ins.record_no IS NULL THEN 'd'"
	"  WHEN rin.resend > 1"
	"  THEN CASE WHEN ins.verdict = 'accepted' THEN 'd' ELSE 'r' END"
	"  WHEN ins.verdict = 'accepted' THEN 's' ELSE 'x' END, coalesce(v.reason, '')"
	" FROM rin JOIN verdict v USING (i)"
	" LEFT JOIN ins ON ins.terminal_id = rin.t AND ins.record_no = rin.no"
	" LEFT JOIN old ON old.i = rin.i";

/*
 * The terminal, and its lesson as the last accepted logins and logouts
 * left it, so that a reconnecting terminal or a restarted hoursd goes on.
 */
static const char lookup_terminal_sql[] =
	"SELECT t.id, t.status = 'active', t.auth_code, coalesce(t.terminal_no, ''),"
	" encode(t.cert_sha256, 'hex'), extract(epoch FROM t.cert_not_after)::bigint,"
	" coalesce(t.sign_cert_pem, t.cert_pem),"
	" encode(coalesce(t.sign_cert_sha256, t.cert_sha256), 'hex'),"
	" c.person_no, extract(epoch FROM c.event_time)::bigint,"
	" s.person_no, s.coach_no, s.class_id, extract(epoch FROM s.event_time)::bigint,"
	" (SELECT extract(epoch FROM max(r.record_time))::bigint FROM training_record r"
	"  WHERE r.terminal_id = t.id AND r.session_login_at = s.event_time"
	"  AND r.verdict = 'accepted'),"
	" coalesce(t.school_id, 0), coalesce(v.vehicle_class, ''),"
	" coalesce(t.imei, ''), coalesce(t.factory_serial, ''), t.escaped_sums, t.rsa_raw"
	" FROM terminal t LEFT JOIN vehicle v ON v.id = t.vehicle_id"
	" LEFT JOIN LATERAL (SELECT kind, person_no, event_time FROM session_event e"
	"  WHERE e.terminal_id = t.id AND e.kind IN ('coach_login', 'coach_logout')"
	"  AND e.verdict = 'accepted'"
	"  ORDER BY event_time DESC, kind = 'coach_logout' DESC LIMIT 1) c"
	"  ON c.kind = 'coach_login'"
	" LEFT JOIN LATERAL (SELECT kind, person_no, coach_no, class_id, event_time"
	"  FROM session_event e"
	"  WHERE e.terminal_id = t.id AND e.kind IN ('student_login', 'student_logout')"
	"  AND e.verdict = 'accepted'"
	"  ORDER BY event_time DESC, kind = 'student_logout' DESC LIMIT 1) s"
	"  ON s.kind = 'student_login'"
	" WHERE t.phone = $1";

static void pg_connect(struct store *s);
static void kick(struct store *s);

static void query_free(struct query *q)
{
	for (int i = 0; i < q->nparams; i++)
		free(q->params[i]);
	free(q);
}

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);
	if (q == NULL)
		die("out of memory (%zu bytes)", n);
	return q;
}

void store_phone_norm(const char *digits, char out[21])
{
	while (digits[0] == '0' && digits[1] != '\0')
		digits++;
	snprintf(out, 21, "%s", digits);
}

static double elapsed_s(const struct timespec *since)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) + (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

/* ---- batches ---- */

static void batch_wait(struct batch *b, store_done_fn done, void *arg, int record)
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
	for (unsigned i = 0; i < b->nwaiters; i++) {
		const struct waiter *w = &b->waiters[i];
		enum store_outcome o = STORE_FAILED;
		const char *why = NULL;
		if (ok && w->record >= 0) {
			o = b->outcomes[w->record];
			why = b->reasons[w->record];
		} else if (ok) {
			o = STORE_STORED;
		}
		w->done(w->arg, o, why);
	}
	b->nwaiters = 0;
	b->rows = 0;
	b->nrecords = 0;
	jsonw_reset(&b->positions);
	jsonw_reset(&b->events);
	jsonw_reset(&b->records);
	jsonw_reset(&b->photos);
}

static void batch_free(struct batch *b)
{
	free(b->waiters);
	free(b->outcomes);
	free(b->reasons);
	jsonw_free(&b->positions);
	jsonw_free(&b->events);
	jsonw_free(&b->records);
	jsonw_free(&b->photos);
}

static unsigned queued_rows(const struct store *s)
{
	return s->open.rows + s->inflight.rows;
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

/* {"p":[...],"e":[...],"r":[...],"f":[...]}, NUL-terminated, malloc'ed. */
static char *batch_document(const struct batch *b)
{
	const struct {
		const char *open;
		const struct jsonw *w;
	} part[] = {{"{\"p\":[", &b->positions},
		    {"],\"e\":[", &b->events},
		    {"],\"r\":[", &b->records},
		    {"],\"f\":[", &b->photos}};
	struct jsonw doc = {0};
	for (size_t i = 0; i < ARRAY_SIZE(part); i++) {
		jsonw_raw(&doc, part[i].open, strlen(part[i].open));
		jsonw_raw(&doc, part[i].w->buf, part[i].w->len);
	}
	jsonw_raw(&doc, "]}", 3); /* with the NUL */
	return doc.buf;
}

static void send_batch(struct store *s)
{
	struct batch *b = &s->inflight;
	if (s->inflight_json == NULL)
		s->inflight_json = batch_document(b);
	if (b->nrecords > b->outcomes_cap) {
		b->outcomes_cap = b->nrecords * 2;
		b->outcomes = xrealloc(b->outcomes, b->outcomes_cap * sizeof(*b->outcomes));
		b->reasons = xrealloc(b->reasons, b->outcomes_cap * sizeof(*b->reasons));
	}
	for (unsigned i = 0; i < b->nrecords; i++) {
		b->outcomes[i] = STORE_FAILED; /* until the result says otherwise */
		b->reasons[i] = NULL;
	}
	const char *values[1] = {s->inflight_json};
	s->job = JOB_BATCH;
	s->job_failed = false;
	clock_gettime(CLOCK_MONOTONIC, &s->job_started);
	if (!PQsendQueryParams(s->pg, batch_sql, 1, NULL, values, NULL, NULL, 0) ||
	    !send_flushing(s))
		conn_lost(s, PQerrorMessage(s->pg));
}

static void send_query(struct store *s)
{
	s->q_busy = s->q_head;
	s->q_head = s->q_head->next;
	if (s->q_head == NULL)
		s->q_tail = NULL;
	struct query *q = s->q_busy;
	s->job = JOB_QUERY;
	s->job_failed = false;
	if (!PQsendQueryParams(s->pg, q->sql, q->nparams, NULL, (const char *const *)q->params,
			       NULL, NULL, 0) ||
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

static int64_t value_i64(const PGresult *res, int col)
{
	return PQgetisnull(res, 0, col) ? 0 : strtoll(PQgetvalue(res, 0, col), NULL, 10);
}

static void value_str(const PGresult *res, int col, char *out, size_t cap)
{
	snprintf(out, cap, "%s", PQgetisnull(res, 0, col) ? "" : PQgetvalue(res, 0, col));
}

/* The row of lookup_terminal_sql; false when there is none. */
static bool terminal_from_row(struct store *s, const PGresult *res)
{
	if (PQntuples(res) != 1)
		return false;
	struct store_terminal *t = &s->term;
	memset(t, 0, sizeof(*t));
	t->id = value_i64(res, 0);
	t->active = PQgetvalue(res, 0, 1)[0] == 't';
	value_str(res, 2, t->auth_code, sizeof(t->auth_code));
	value_str(res, 3, t->terminal_no, sizeof(t->terminal_no));
	bool ok = hex_to_bytes(PQgetvalue(res, 0, 4), t->cert_sha256, sizeof(t->cert_sha256));
	t->cert_not_after = value_i64(res, 5);
	free(s->term_pem);
	s->term_pem = strdup(PQgetvalue(res, 0, 6));
	if (s->term_pem == NULL)
		die("out of memory");
	t->sign_cert_pem = s->term_pem;
	ok = ok && hex_to_bytes(PQgetvalue(res, 0, 7), t->sign_cert_sha256, 32);
	if (!ok)
		log_warn("store: terminal %s has a malformed certificate digest",
			 s->q_busy->params[0]);
	value_str(res, 8, t->coach_no, sizeof(t->coach_no));
	t->coach_login = value_i64(res, 9);
	value_str(res, 10, t->student_no, sizeof(t->student_no));
	value_str(res, 11, t->student_coach_no, sizeof(t->student_coach_no));
	t->student_class_id = value_i64(res, 12);
	t->student_login = value_i64(res, 13);
	t->last_record = value_i64(res, 14);
	t->school_id = value_i64(res, 15);
	value_str(res, 16, t->vehicle_class, sizeof(t->vehicle_class));
	value_str(res, 17, t->imei, sizeof(t->imei));
	value_str(res, 18, t->factory_serial, sizeof(t->factory_serial));
	t->escaped_sums = PQgetvalue(res, 0, 19)[0] == 't';
	t->rsa_raw = PQgetvalue(res, 0, 20)[0] == 't';
	return true;
}

/* One row per record: its index in the batch and a letter for what became of it. */
static void take_outcomes(struct store *s, const PGresult *res)
{
	struct batch *b = &s->inflight;
	for (int r = 0; r < PQntuples(res); r++) {
		long i = strtol(PQgetvalue(res, r, 0), NULL, 10);
		if (i < 0 || (unsigned long)i >= b->nrecords)
			continue;
		switch (PQgetvalue(res, r, 1)[0]) {
		case 's':
			b->outcomes[i] = STORE_STORED;
			break;
		case 'd':
			b->outcomes[i] = STORE_DUPLICATE;
			break;
		case 'r':
			b->outcomes[i] = STORE_DUPLICATE_REJECTED;
			break;
		case 'c':
			b->outcomes[i] = STORE_CONFLICT;
			break;
		case 'x':
			b->outcomes[i] = STORE_REJECTED;
			/* A static name, not the result's text: the result is cleared soon. */
			b->reasons[i] = reason_name(reason_index(PQgetvalue(res, r, 2)));
			break;
		default:
			break;
		}
	}
}

/* Take one result of the statement in flight; true when it keeps res (a query's). */
static bool take_result(struct store *s, PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		if (s->job == JOB_QUERY) {
			PQclear(s->q_result);
			s->q_result = res;
			return true;
		}
		if (s->job == JOB_BATCH)
			take_outcomes(s, res);
		return false;
	}
	s->job_failed = true;
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	snprintf(s->job_error, sizeof(s->job_error), "%s (sqlstate %s)", PQresultErrorMessage(res),
		 state ? state : "none");
	/* Strip the trailing newline libpq adds. */
	char *nl = strchr(s->job_error, '\n');
	if (nl)
		*nl = ' ';
	return false;
}

/* The statement in flight has returned all its results. */
static void job_done(struct store *s)
{
	enum job job = s->job;
	s->job = JOB_NONE;
	if (job == JOB_QUERY) {
		struct query *q = s->q_busy;
		PGresult *res = s->job_failed ? NULL : s->q_result;
		s->q_busy = NULL;
		if (s->job_failed)
			log_error("store: query failed: %s", s->job_error);
		if (q->terminal_fn)
			q->terminal_fn(q->arg, res && terminal_from_row(s, res), &s->term);
		else
			q->fn(q->arg, res);
		PQclear(s->q_result);
		s->q_result = NULL;
		query_free(q);
	} else if (job == JOB_BATCH) {
		unsigned rows = s->inflight.rows;
		if (s->job_failed) {
			s->st.errors++;
			log_error("store: batch of %u rows failed, answering failure: %s", rows,
				  s->job_error);
		} else {
			s->st.batches++;
			s->st.rows += rows;
			hist_observe(&metric_batch_rows, rows);
			hist_observe(&metric_commit_seconds, elapsed_s(&s->job_started));
		}
		free(s->inflight_json);
		s->inflight_json = NULL;
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
	if (s->job == JOB_QUERY && s->q_busy) {
		s->q_busy->next = s->q_head;
		s->q_head = s->q_busy;
		if (s->q_tail == NULL)
			s->q_tail = s->q_busy;
		s->q_busy = NULL;
	}
	PQclear(s->q_result);
	s->q_result = NULL;
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
		if (!take_result(s, res))
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
	if (s->q_head) {
		send_query(s);
		return;
	}
	if (batch_empty(&s->inflight)) {
		if (batch_empty(&s->open))
			return;
		if (!s->flush_due && s->open.rows < s->batch_max_rows)
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
	free(s->inflight_json);
	free(s->term_pem);
	PQclear(s->q_result);
	if (s->q_busy) {
		s->q_busy->next = s->q_head;
		s->q_head = s->q_busy;
	}
	while (s->q_head) {
		struct query *q = s->q_head;
		s->q_head = q->next;
		if (q->terminal_fn)
			q->terminal_fn(q->arg, false, NULL);
		else
			q->fn(q->arg, NULL);
		query_free(q);
	}
	free(s->conninfo);
	free(s);
}

/* Count rows against the high-water mark and flush when the batch is full. */
static void added(struct store *s, unsigned rows)
{
	bool first = s->open.rows == 0 && s->open.nwaiters == 1;
	s->open.rows += rows;
	if (queued_rows(s) >= s->high_water)
		s->was_full = true;
	if (s->open.rows >= s->batch_max_rows) {
		kick(s);
	} else if (first) {
		struct timeval tv = {s->batch_max_ms / 1000, (s->batch_max_ms % 1000) * 1000};
		evtimer_add(s->ev_flush, &tv);
	}
}

static void gnss_json(struct jsonw *w, const struct jt808_location *g)
{
	jsonw_int(w, "la", g->lat_e6);
	jsonw_int(w, "lo", g->lon_e6);
	jsonw_bool(w, "fv", g->fix);
}

void store_add_positions(struct store *s, int64_t terminal_id, const struct jt808_location *locs,
			 unsigned n, store_done_fn done, void *arg)
{
	struct jsonw *w = &s->open.positions;
	for (unsigned i = 0; i < n; i++) {
		const struct jt808_location *l = &locs[i];
		jsonw_object_begin(w);
		jsonw_int(w, "t", terminal_id);
		jsonw_int(w, "ft", l->time);
		jsonw_int(w, "la", l->lat_e6);
		jsonw_int(w, "lo", l->lon_e6);
		jsonw_int(w, "al", l->altitude_m);
		jsonw_int(w, "sp", l->speed_dkmh);
		jsonw_int(w, "di", l->direction);
		jsonw_int(w, "am", l->alarm);
		jsonw_int(w, "st", l->status);
		jsonw_bool(w, "fv", l->fix);
		jsonw_object_end(w);
	}
	batch_wait(&s->open, done, arg, -1);
	added(s, n);
}

void store_add_event(struct store *s, const struct store_event *e, store_done_fn done, void *arg)
{
	struct jsonw *w = &s->open.events;
	jsonw_object_begin(w);
	jsonw_int(w, "t", e->terminal_id);
	jsonw_str(w, "k", e->kind);
	jsonw_int(w, "et", e->event_time);
	jsonw_str(w, "pn", e->person_no);
	jsonw_str(w, "cn", e->coach_no);
	jsonw_int_or_null(w, "ci", e->class_id, e->class_id >= 0);
	jsonw_str(w, "cc", e->course_code);
	/* Negative minutes and mileage: absent from the frame. */
	jsonw_int_or_null(w, "mi", e->minutes, e->minutes >= 0);
	jsonw_int_or_null(w, "ml", e->mileage_dkm, e->mileage_dkm >= 0);
	jsonw_str(w, "rs", e->reason);
	jsonw_bool(w, "us", e->came_unsigned);
	jsonw_int(w, "es", e->ext_serial);
	gnss_json(w, e->gnss);
	jsonw_hex(w, "raw", e->raw, e->raw_len);
	jsonw_object_end(w);
	batch_wait(&s->open, done, arg, -1);
	added(s, 1);
}

void store_add_record(struct store *s, const struct store_record *r, store_done_fn done, void *arg)
{
	const struct jtx_record *m = r->rec;
	struct jsonw *w = &s->open.records;
	jsonw_object_begin(w);
	jsonw_int(w, "i", s->open.nrecords);
	jsonw_int(w, "t", r->terminal_id);
	jsonw_str(w, "no", m->record_no);
	jsonw_int(w, "rt", m->record_time);
	jsonw_str(w, "sn", m->student_no);
	jsonw_str(w, "cn", m->coach_no);
	jsonw_int(w, "ci", m->class_id);
	jsonw_str(w, "cc", m->course.digits);
	jsonw_int(w, "pa", m->course.part);
	jsonw_int(w, "mo", m->course.mode);
	jsonw_str(w, "vc", m->course.vehicle_class);
	jsonw_int(w, "ut", m->upload_type);
	jsonw_int(w, "st", m->status);
	jsonw_int(w, "ms", m->max_speed_dkmh);
	jsonw_int(w, "ml", m->mileage_dkm);
	gnss_json(w, &m->gnss);
	jsonw_int_or_null(w, "gt", m->gnss.time, m->gnss.time > 0);
	jsonw_int_or_null(w, "sl", r->session_login, r->session_login > 0);
	jsonw_str(w, "rs", r->reason);
	jsonw_bool(w, "us", r->came_unsigned);
	jsonw_hex(w, "raw", r->raw, r->raw_len);
	/* The timing GNSS block: both speeds; the extra items when sent. */
	const struct jt808_location *g = &m->gnss;
	jsonw_int(w, "gs", g->speed_dkmh);
	jsonw_int(w, "gr", g->recorder_speed_dkmh);
	jsonw_int_or_null(w, "gm", g->mileage_dkm, g->extras & JT808_X_MILEAGE);
	jsonw_int_or_null(w, "ge", g->engine_rpm, g->extras & JT808_X_RPM);
	jsonw_int_or_null(w, "ga", g->altitude_m, g->extras & JT808_X_ALTITUDE);
	jsonw_int_or_null(w, "gf", g->fuel_dl, g->extras & JT808_X_FUEL);
	jsonw_object_end(w);
	batch_wait(&s->open, done, arg, (int)s->open.nrecords++);
	added(s, 1);
}

void store_add_photo(struct store *s, int64_t terminal_id, const struct jtx_photo_init *p,
		     const uint8_t *data, size_t len, store_done_fn done, void *arg)
{
	struct jsonw *w = &s->open.photos;
	jsonw_object_begin(w);
	jsonw_int(w, "t", terminal_id);
	jsonw_str(w, "pn", p->photo_no);
	jsonw_str(w, "pe", p->person_no);
	jsonw_int(w, "ci", p->class_id);
	jsonw_int(w, "um", p->upload_mode);
	jsonw_int(w, "ch", p->channel);
	jsonw_int(w, "sc", p->size_code);
	jsonw_int(w, "ev", p->event);
	jsonw_int(w, "fc", p->face_confidence);
	jsonw_int(w, "sz", (long long)len);
	gnss_json(w, &p->gnss);
	jsonw_int_or_null(w, "ta", p->gnss.time, p->gnss.time > 0);
	jsonw_hex(w, "data", data, len);
	jsonw_object_end(w);
	batch_wait(&s->open, done, arg, -1);
	/* Weigh a photo by its size, so that photos too hold the store back. */
	added(s, 1 + (unsigned)(len / 1024));
}

static void enqueue(struct store *s, const char *sql, int n, const char *const *values,
		    store_terminal_fn terminal_fn, store_query_fn fn, void *arg)
{
	struct query *q = calloc(1, sizeof(*q));
	if (q == NULL || n > MAX_PARAMS)
		die("store: cannot queue a query of %d parameters", n);
	q->sql = sql;
	q->nparams = n;
	for (int i = 0; i < n; i++) {
		q->params[i] = values[i] ? strdup(values[i]) : NULL;
		if (values[i] && q->params[i] == NULL)
			die("out of memory");
	}
	q->terminal_fn = terminal_fn;
	q->fn = fn;
	q->arg = arg;
	if (s->q_tail)
		s->q_tail->next = q;
	else
		s->q_head = q;
	s->q_tail = q;
	kick(s);
}

void store_lookup_terminal(struct store *s, const char *phone, store_terminal_fn fn, void *arg)
{
	char norm[21];
	store_phone_norm(phone, norm);
	const char *v[1] = {norm};
	enqueue(s, lookup_terminal_sql, 1, v, fn, NULL, arg);
}

void store_query(struct store *s, const char *sql, int n, const char *const *values,
		 store_query_fn fn, void *arg)
{
	enqueue(s, sql, n, values, NULL, fn, arg);
}

bool store_full(const struct store *s)
{
	return queued_rows(s) >= s->high_water;
}

bool store_idle(const struct store *s)
{
	return batch_empty(&s->open) && batch_empty(&s->inflight) && s->q_head == NULL &&
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
