/*
 * findings.h - the notice's violations found in the data (findings.c),
 * which the quarterly joint report with the police (report.c) lists per
 * school: docs/audit.md, "Findings".
 */
#ifndef HOURSD_FINDINGS_H
#define HOURSD_FINDINGS_H

#include "hoursd.h"

#include <jansson.h>

/* The thresholds: the configuration's findings.* keys. */
struct findings_limits {
	unsigned missing_minutes, clock_skew_s, off_site_minutes, max_students_per_coach_day,
		max_coach_minutes_per_day, min_face_confidence, silent_days, min_realtime_percent,
		max_travel_kmh;
};

/*
 * The thresholds: the findings.* keys of the configuration (-c FILE),
 * else their defaults.  False (said) when the file does not load.
 */
bool findings_limits(struct findings_limits *lim);

/* What to look at: NULL school, from or to is no limit (from, to as PostgreSQL reads them). */
struct findings_query {
	const char *school, *from, *to;
	struct findings_limits lim;
};

/*
 * Every finding as a JSON array of objects (finding, school, subject, at,
 * measure, detail, evidence: the rows that show it); NULL (said on
 * stderr) on a database error.
 */
json_t *findings_collect(const struct findings_query *q);

/* Whether s is a quarter, YYYYQn: bounds in Beijing time as PostgreSQL reads them. */
bool quarter_bounds(const char *s, char from[32], char to[32]);

#endif
