/*
 * progress.h - a long job's count and rate on the operator's terminal:
 * one line on standard error, redrawn at most five times a second
 * ("student import big.csv: 12000 rows, 4100/s, 40%, eta 0m04s"), finished with its
 * totals; nothing at all when standard error is not a terminal (a script,
 * a pipe, a log), so that output stays clean for machines.
 *
 * One job at a time.  A command adopts it in three lines: progress_begin()
 * before its loop, progress_step() in it, progress_end() after.
 */
#ifndef HOURSD_TOOLS_PROGRESS_H
#define HOURSD_TOOLS_PROGRESS_H

#include "hoursd.h"

/*
 * A job of what ("student import FILE"), counting unit ("rows"); total:
 * the count at the end when known (a percentage is shown), else 0.
 */
void progress_begin(const char *what, const char *unit, unsigned long total);
/* The job has done n units so far (a count, not an increment). */
void progress_step(unsigned long n);
/* The job is over: its last line, with the count and the mean rate. */
void progress_end(void);

#endif
