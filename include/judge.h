/*
 * judge.h - the second stage: the decisions that need the whole
 * database, taken in large batches on a connection of its own.
 *
 * Records ingest accepted wait in judge_queue; the judge takes up to
 * judge.batch_max_rows of them at a time (sql/queries/daemon/judge.sql: minute
 * claims, daily caps, progress, packets, and the removal from the queue
 * in one transaction) when ingest has committed new ones (batches start
 * at least judge.gap_ms apart), and every judge.interval_ms in any case
 * (records of other instances, or left from before a restart).  A full
 * batch is followed by the next at once.  While ingest commits, a batch
 * takes at most judge.busy_batch_rows.
 * The lag between an ingest commit and its judgement is in /metrics
 * (hoursd_judge_lag_seconds).
 */
#ifndef HOURSD_JUDGE_H
#define HOURSD_JUDGE_H

#include "hoursd.h"

struct event_base;
struct hconf;
struct db;
struct judge;

struct judge_stats {
	uint64_t batches, errors, judged, counted, daily_cap, student_overlap, coach_overlap;
	uint64_t packets;
	double last_oldest_s; /* the longest wait in the queue of the last batch */
};

struct judge *judge_new(struct event_base *base, const struct hconf *conf, struct db *db) MUSTCHECK;
void judge_free(struct judge *j);
void judge_reconfigure(struct judge *j, const struct hconf *conf);
/* Ingest committed records for the judge: take them now, or right after the batch in flight. */
void judge_kick(struct judge *j);
/*
 * Shutting down: no batch after the one in flight (what stays queued is
 * judged after the restart, by this instance or another).
 */
void judge_stop(struct judge *j);
/* No batch in flight. */
bool judge_idle(const struct judge *j);
void judge_get_stats(const struct judge *j, struct judge_stats *st);

#endif
