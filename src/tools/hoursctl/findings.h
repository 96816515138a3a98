/*
 * findings.h - the notice's violations found in the data (hoursctl
 * findings) and the quarterly joint report with the police (hoursctl
 * report), read with blocking libpq: docs/audit.md, "Findings".
 */
#ifndef HOURSD_FINDINGS_H
#define HOURSD_FINDINGS_H

#include "hoursd.h"

#include <jansson.h>

typedef struct pg_conn PGconn;
struct hconf;

/* The thresholds: the configuration's findings.* keys. */
struct findings_limits {
	unsigned missing_minutes, clock_skew_s, off_site_minutes, max_students_per_coach_day,
		max_coach_minutes_per_day, min_face_confidence, silent_days, min_realtime_percent;
};

void findings_limits_of(const struct hconf *c, struct findings_limits *lim);

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
json_t *findings_collect(PGconn *db, const struct findings_query *q);

/* hoursctl findings: print as text, csv or json.  0, or 1 on error. */
int findings_run(PGconn *db, const struct findings_query *q, const char *format, FILE *out);

/*
 * hoursctl report quarterly QUARTER --out DIR: the supervision report of
 * each school and the public table of training quality (CSV, HTML).
 */
int report_quarterly(PGconn *db, const char *quarter, const char *dir,
		     const struct findings_limits *lim, FILE *out);

/* hoursctl report import-police FILE: 0 all rows stored, 1 some refused (each said). */
int report_import_police(PGconn *db, const char *path, FILE *out);

/* Whether s is a quarter, YYYYQn: bounds in Beijing time as PostgreSQL reads them. */
bool quarter_bounds(const char *s, char from[32], char to[32]);

#endif
