/*
 * judge.c - see judge.h.
 */
#include "hoursd.h"
#include "judge.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "queries.h"

#include <time.h>

#include <event2/event.h>
#include <libpq-fe.h>

/* The judge's statement for one batch size; kept until judge_free (a queued job points at it). */
struct judge_text {
	struct judge_text *next;
	unsigned rows;
	char sql[];
};

struct judge {
	struct db *db;
	struct event *tick, *soon;
	unsigned batch_max_rows, busy_batch_rows, interval_ms, gap_ms;
	unsigned rows; /* the batch in flight's size */
	struct timespec last_run;
	struct judge_text *texts; /* every size's statement, the newest first */
	bool running, due, stopped;
	bool ingest_busy; /* ingest committed records since the last batch started */
	struct judge_stats st;
};

static void run(struct judge *j);

static uint64_t count(const PGresult *res, const char *name)
{
	int c = PQfnumber(res, name);
	return c < 0 ? 0 : strtoull(PQgetvalue(res, 0, c), NULL, 10);
}

static void on_judged(void *arg, const PGresult *res)
{
	struct judge *j = arg;
	j->running = false;
	if (res == NULL || PQntuples(res) != 1) {
		/* A deadlock with another instance, a statement timeout: the batch rolled
		 * back whole and stays queued; the next tick takes it again. */
		j->st.errors++;
		return;
	}
	uint64_t judged = count(res, "judged");
	j->st.batches++;
	j->st.judged += judged;
	j->st.counted += count(res, "counted");
	j->st.daily_cap += count(res, "daily_cap");
	j->st.student_overlap += count(res, "student_overlap");
	j->st.coach_overlap += count(res, "coach_overlap");
	j->st.packets += count(res, "packets");
	if (judged > 0) {
		j->st.last_oldest_s = strtod(PQgetvalue(res, 0, PQfnumber(res, "oldest_s")), NULL);
		hist_observe(&metric_judge_lag_seconds, j->st.last_oldest_s);
		hist_observe(&metric_judge_batch_rows, (double)judged);
	}
	/* A full batch: more are waiting. */
	if (!j->stopped && judged >= j->rows)
		run(j);
	else if (j->due)
		judge_kick(j);
}

static void on_soon(evutil_socket_t fd, short what, void *arg)
{
	struct judge *j = arg;
	if (!j->running && !j->stopped)
		run(j);
}

static double ms_since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) * 1e3 + (double)(now.tv_nsec - t->tv_nsec) / 1e6;
}

static const char *judge_text(struct judge *j, unsigned rows);

/*
 * While ingest commits (it kicked the judge since the last batch
 * started), a batch takes at most judge.busy_batch_rows: shorter
 * transactions, the judge's CPU in smaller pieces beside ingest's
 * commits.  On a backlog alone, judge.batch_max_rows.
 */
static void run(struct judge *j)
{
	j->rows = j->batch_max_rows;
	if (j->ingest_busy && j->busy_batch_rows > 0 && j->busy_batch_rows < j->rows)
		j->rows = j->busy_batch_rows;
	j->ingest_busy = false;
	j->due = false;
	j->running = true;
	clock_gettime(CLOCK_MONOTONIC, &j->last_run);
	db_query_params(j->db, judge_text(j, j->rows), &(struct db_params){.prepare = true},
			on_judged, j);
}

/*
 * sql_judge with the batch size written in for its $1: prepared, planned
 * once a connection instead of once a batch (4 to 28 ms of planning on
 * the 2-core machine, more than a small batch's work), and with the size
 * a constant its plan is made for, where a parameter would leave a
 * generic plan to guess the LIMIT.
 */
static const char *judge_text(struct judge *j, unsigned rows)
{
	for (struct judge_text *t = j->texts; t; t = t->next)
		if (t->rows == rows)
			return t->sql;
	static const char param[] = "$1::int";
	const char *at = strstr(sql_judge, param);
	if (at == NULL)
		die("judge.sql: no %s", param);
	size_t n = strlen(sql_judge) + 16;
	struct judge_text *t = malloc(sizeof(*t) + n);
	if (t == NULL)
		die("out of memory");
	snprintf(t->sql, n, "%.*s%u%s", (int)(at - sql_judge), sql_judge, rows, at + strlen(param));
	t->rows = rows;
	t->next = j->texts;
	j->texts = t;
	return t->sql;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct judge *j = arg;
	if (!j->running)
		run(j);
}

void judge_stop(struct judge *j)
{
	j->stopped = true;
	event_del(j->tick);
	event_del(j->soon);
}

/*
 * Batches start at least judge.gap_ms apart: under load a batch takes
 * what several ingest commits queued, and the judge's fixed cost a batch
 * (a statement parsed, planned, committed) is paid less often.
 */
void judge_kick(struct judge *j)
{
	if (j->stopped)
		return;
	j->ingest_busy = true;
	if (j->running) {
		j->due = true;
		return;
	}
	j->due = false;
	double wait = (double)j->gap_ms - ms_since(&j->last_run);
	if (wait <= 0) {
		run(j);
	} else if (!evtimer_pending(j->soon, NULL)) {
		long us = (long)(wait * 1000);
		struct timeval tv = {us / 1000000, us % 1000000};
		evtimer_add(j->soon, &tv);
	}
}

void judge_reconfigure(struct judge *j, const struct hconf *conf)
{
	j->batch_max_rows = conf->judge_batch_max_rows;
	j->busy_batch_rows = conf->judge_busy_batch_rows;
	j->gap_ms = conf->judge_gap_ms;
	if (j->interval_ms != conf->judge_interval_ms && !j->stopped) {
		j->interval_ms = conf->judge_interval_ms;
		struct timeval tv = {j->interval_ms / 1000, (j->interval_ms % 1000) * 1000};
		event_add(j->tick, &tv);
	}
}

struct judge *judge_new(struct event_base *base, const struct hconf *conf, struct db *db)
{
	struct judge *j = calloc(1, sizeof(*j));
	if (j == NULL)
		return NULL;
	j->db = db;
	j->tick = event_new(base, -1, EV_PERSIST, on_tick, j);
	j->soon = evtimer_new(base, on_soon, j);
	judge_reconfigure(j, conf);
	run(j); /* whatever waits from before */
	return j;
}

void judge_free(struct judge *j)
{
	if (j == NULL)
		return;
	event_free(j->tick);
	event_free(j->soon);
	while (j->texts) {
		struct judge_text *t = j->texts;
		j->texts = t->next;
		free(t);
	}
	free(j);
}

bool judge_idle(const struct judge *j)
{
	return !j->running;
}

void judge_get_stats(const struct judge *j, struct judge_stats *st)
{
	*st = j->st;
}
