/*
 * metrics.c - fixed-bucket histograms, see metrics.h.
 *
 * counts[] holds one count per bucket (not cumulative), the last one for
 * values above every bound; the admin listener adds them up when it
 * renders the cumulative _bucket lines.  Single-threaded like the rest
 * of the daemon, so no atomics.
 */
#include "hoursd.h"
#include "metrics.h"

struct hist metric_batch_rows;
struct hist metric_commit_seconds;
struct hist metric_ack_seconds;
struct hist metric_judge_lag_seconds;
struct hist metric_judge_batch_rows;

/* Rows per batch: up to database.batch_max_rows' upper bound and beyond. */
static const double batch_row_bounds[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, -1};
/* Seconds: sub-millisecond commits on a local database up to stalls. */
static const double second_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
				       0.1,    0.25,  0.5,    1,     2.5,  -1};
/* The judge's lag: a fraction of a second normally, up to minutes when it falls behind. */
static const double lag_bounds[] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
				    2.5,  5,	 10,   30,  60,	  300, -1};

void hist_init(struct hist *h, const double *bounds)
{
	memset(h, 0, sizeof(*h));
	while (h->nbuckets < HIST_MAX_BUCKETS && bounds[h->nbuckets] >= 0) {
		h->bounds[h->nbuckets] = bounds[h->nbuckets];
		h->nbuckets++;
	}
}

/* A NaN is dropped: it belongs to no bucket and would poison the sum. */
void hist_observe(struct hist *h, double v)
{
	if (v != v)
		return;
	unsigned i = 0;
	while (i < h->nbuckets && v > h->bounds[i])
		i++;
	h->counts[i]++;
	h->count++;
	h->sum += v;
}

void metrics_init(void)
{
	hist_init(&metric_batch_rows, batch_row_bounds);
	hist_init(&metric_commit_seconds, second_bounds);
	hist_init(&metric_ack_seconds, second_bounds);
	hist_init(&metric_judge_lag_seconds, lag_bounds);
	hist_init(&metric_judge_batch_rows, batch_row_bounds);
}
