/*
 * progress.c - see progress.h.
 */
#include "hoursd.h"
#include "common/progress.h"

#include <time.h>
#include <unistd.h>

static struct {
	bool on; /* a job runs and stderr is a terminal */
	char what[160];
	const char *unit;
	unsigned long total, n;
	double start, last; /* monotonic seconds: the job's start, the last redraw */
} job;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void draw(bool final)
{
	double dt = now_s() - job.start;
	double rate = dt > 0 ? (double)job.n / dt : 0;
	fprintf(stderr, "\r\033[K%s: %lu %s, %.0f/s", job.what, job.n, job.unit, rate);
	if (job.total) {
		fprintf(stderr, ", %lu%%",
			(unsigned long)((double)job.n * 100.0 / (double)job.total + 0.5));
		if (!final && rate > 0 && job.total > job.n) {
			unsigned long left = (unsigned long)((double)(job.total - job.n) / rate);
			fprintf(stderr, ", eta %lum%02lus", left / 60, left % 60);
		}
	}
	if (final)
		fprintf(stderr, ", %.1f s\n", dt);
	fflush(stderr);
}

void progress_begin(const char *what, const char *unit, unsigned long total)
{
	job.on = isatty(STDERR_FILENO) == 1;
	if (!job.on)
		return;
	snprintf(job.what, sizeof(job.what), "%s", what);
	job.unit = unit;
	job.total = total;
	job.n = 0;
	job.start = job.last = now_s();
}

void progress_step(unsigned long n)
{
	if (!job.on)
		return;
	job.n = n;
	double t = now_s();
	if (t - job.last >= 0.2) {
		job.last = t;
		draw(false);
	}
}

void progress_end(void)
{
	if (!job.on)
		return;
	draw(true);
	job.on = false;
}
