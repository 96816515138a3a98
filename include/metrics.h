/*
 * metrics.h - counters and histograms for the admin listener's /metrics.
 *
 * Histograms have fixed bucket bounds chosen at definition; observing is
 * a loop over at most a dozen bounds, cheap enough for the hot path.
 */
#ifndef HOURSD_METRICS_H
#define HOURSD_METRICS_H

#include "hoursd.h"

#define HIST_MAX_BUCKETS 16

struct hist {
	unsigned nbuckets;
	double bounds[HIST_MAX_BUCKETS]; /* upper bounds, ascending; +Inf implied */
	uint64_t counts[HIST_MAX_BUCKETS + 1];
	uint64_t count;
	double sum;
};

/* Bounds given as a list ending with a negative number. */
void hist_init(struct hist *h, const double *bounds);
void hist_observe(struct hist *h, double v);

/* Latency and size histograms the daemon keeps (defined in metrics.c). */
extern struct hist metric_batch_rows;	     /* rows per committed batch */
extern struct hist metric_commit_seconds;    /* statement sent -> commit seen */
extern struct hist metric_ack_seconds;	     /* frame decoded -> ack written */
extern struct hist metric_judge_lag_seconds; /* per judge batch: its oldest record's wait */
extern struct hist metric_judge_batch_rows;  /* records per judge batch */
void metrics_init(void);

#endif
