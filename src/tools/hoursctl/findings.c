/*
 * findings.c - hoursctl findings: the notice's violations (section 二)
 * found in the data, each with the rows that show it.
 *
 * One statement per kind of finding (sql/queries/findings_*.sql, over the
 * views of sql/010_findings.sql), all with the same parameters and the
 * same columns, so that one loop runs them and one printer prints them;
 * the thresholds come from the configuration (findings.*).  A finding is
 * not an error: the exit status is 0 whatever was found.
 */
#include "hoursd.h"
#include "hoursctl.h"
#include "findings.h"
#include "common/cfg.h"
#include "common/csv.h"
#include "common/pgq.h"
#include "conf.h"
#include "queries.h"

static void limits_of(const struct hconf *c, struct findings_limits *lim)
{
	*lim = (struct findings_limits){
		.missing_minutes = c->findings_missing_minutes,
		.clock_skew_s = c->findings_clock_skew_s,
		.off_site_minutes = c->findings_off_site_minutes,
		.max_students_per_coach_day = c->findings_max_students_per_coach_day,
		.max_coach_minutes_per_day = c->findings_max_coach_minutes_per_day,
		.min_face_confidence = c->findings_min_face_confidence,
		.silent_days = c->findings_silent_days,
		.min_realtime_percent = c->findings_min_realtime_percent,
		.max_travel_kmh = c->findings_max_travel_kmh,
	};
}

bool findings_limits(struct findings_limits *lim)
{
	if (cfg_path() == NULL) {
		struct hconf d = {0};
		conf_uint_defaults(&d);
		limits_of(&d, lim);
		return true;
	}
	const struct hconf *c = cfg_get();
	if (c)
		limits_of(c, lim);
	return c != NULL;
}

#define LIM(f) offsetof(struct findings_limits, f)
#define NO_LIM ((size_t)-1)

/* The kinds, in the order they are listed; lim: the thresholds, $4 and $5. */
static const struct kind {
	const char *sql;
	size_t lim[2];
} kinds[] = {
	{sql_findings_short_lesson, {LIM(missing_minutes), NO_LIM}},
	{sql_findings_content_reduced, {NO_LIM, NO_LIM}},
	{sql_findings_terminal_anomaly, {LIM(clock_skew_s), NO_LIM}},
	{sql_findings_vendor_anomaly, {LIM(clock_skew_s), NO_LIM}},
	{sql_findings_off_site, {LIM(off_site_minutes), NO_LIM}},
	{sql_findings_coach_two_places, {NO_LIM, NO_LIM}},
	{sql_findings_coach_day, {LIM(max_students_per_coach_day), LIM(max_coach_minutes_per_day)}},
	{sql_findings_coach_not_allowed, {NO_LIM, NO_LIM}},
	{sql_findings_impossible_travel, {LIM(max_travel_kmh), NO_LIM}},
	{sql_findings_face_match, {LIM(min_face_confidence), NO_LIM}},
	{sql_findings_vehicle_no_terminal, {NO_LIM, NO_LIM}},
	{sql_findings_terminal_silent, {LIM(silent_days), NO_LIM}},
	{sql_findings_upload_timeliness, {LIM(min_realtime_percent), NO_LIM}},
};

/*
 * Every kind gives findings_off_site's columns, in its order: read by its
 * names (the fourth and fifth have names of their own in some kinds).
 */
#define SAME_COLUMNS(K, AT, MEASURE)                                                               \
	_Static_assert((int)K##_FINDING == (int)FINDINGS_OFF_SITE_FINDING &&                       \
			       (int)K##_SCHOOL_CODE == (int)FINDINGS_OFF_SITE_SCHOOL_CODE &&       \
			       (int)K##_SUBJECT == (int)FINDINGS_OFF_SITE_SUBJECT &&               \
			       (int)K##_##AT == (int)FINDINGS_OFF_SITE_AT &&                       \
			       (int)K##_##MEASURE == (int)FINDINGS_OFF_SITE_MEASURE &&             \
			       (int)K##_DETAIL == (int)FINDINGS_OFF_SITE_DETAIL &&                 \
			       (int)K##_EVIDENCE == (int)FINDINGS_OFF_SITE_EVIDENCE &&             \
			       (int)K##_NCOLS == (int)FINDINGS_OFF_SITE_NCOLS,                     \
		       #K " and FINDINGS_OFF_SITE differ in their columns")
SAME_COLUMNS(FINDINGS_SHORT_LESSON, AT, MISSING_MINUTES);
SAME_COLUMNS(FINDINGS_CONTENT_REDUCED, AT, MEASURE);
SAME_COLUMNS(FINDINGS_TERMINAL_ANOMALY, AT, MEASURE);
SAME_COLUMNS(FINDINGS_VENDOR_ANOMALY, AT, MEASURE);
SAME_COLUMNS(FINDINGS_COACH_TWO_PLACES, AT, MEASURE);
SAME_COLUMNS(FINDINGS_COACH_DAY, DAY, STUDENTS);
SAME_COLUMNS(FINDINGS_COACH_NOT_ALLOWED, AT, MEASURE);
SAME_COLUMNS(FINDINGS_IMPOSSIBLE_TRAVEL, AT, MEASURE);
SAME_COLUMNS(FINDINGS_FACE_MATCH, AT, FACE_CONFIDENCE);
SAME_COLUMNS(FINDINGS_VEHICLE_NO_TERMINAL, AT, MEASURE);
SAME_COLUMNS(FINDINGS_TERMINAL_SILENT, AT, SILENT_DAYS);
SAME_COLUMNS(FINDINGS_UPLOAD_TIMELINESS, AT, MEASURE);

/* A finding's keys, by the column each comes from; the evidence is parsed. */
static const char *const columns[] = {
	[FINDINGS_OFF_SITE_FINDING] = "finding",   [FINDINGS_OFF_SITE_SCHOOL_CODE] = "school",
	[FINDINGS_OFF_SITE_SUBJECT] = "subject",   [FINDINGS_OFF_SITE_AT] = "at",
	[FINDINGS_OFF_SITE_MEASURE] = "measure",   [FINDINGS_OFF_SITE_DETAIL] = "detail",
	[FINDINGS_OFF_SITE_EVIDENCE] = "evidence",
};
_Static_assert(ARRAY_SIZE(columns) == FINDINGS_OFF_SITE_NCOLS &&
		       FINDINGS_OFF_SITE_EVIDENCE + 1 == FINDINGS_OFF_SITE_NCOLS,
	       "a key a column, the evidence last");

/* One statement's rows appended to all; false (said) on error. */
static bool collect_kind(const struct kind *k, const struct findings_query *q, json_t *all)
{
	char lim[2][16];
	const char *v[5] = {q->school, q->from, q->to, lim[0], lim[1]};
	int n = 3;
	for (int i = 0; i < 2 && k->lim[i] != NO_LIM; i++, n++)
		snprintf(lim[i], sizeof(lim[i]), "%u",
			 *(const unsigned *)((const char *)&q->lim + k->lim[i]));
	if (n == 3) {
		snprintf(lim[0], sizeof(lim[0]), "0"); /* $4 is in every statement */
		n = 4;
	}
	PGresult *r = pgq_query_in("findings", k->sql, n, v);
	if (r == NULL)
		return false;
	for (int i = 0; i < PQntuples(r); i++) {
		json_t *o = json_object();
		for (int c = 0; c < FINDINGS_OFF_SITE_EVIDENCE; c++)
			json_object_set_new(o, columns[c], json_string(PQgetvalue(r, i, c)));
		json_t *ev = json_loads(PQgetvalue(r, i, FINDINGS_OFF_SITE_EVIDENCE),
					JSON_DECODE_ANY, NULL);
		json_object_set_new(o, "evidence", ev ? ev : json_array());
		json_array_append_new(all, o);
	}
	PQclear(r);
	return true;
}

json_t *findings_collect(const struct findings_query *q)
{
	json_t *all = json_array();
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (!collect_kind(&kinds[i], q, all)) {
			json_decref(all);
			return NULL;
		}
	return all;
}

static const char *str_of(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static void print_csv(const json_t *all, FILE *out)
{
	for (size_t c = 0; c < ARRAY_SIZE(columns); c++)
		csv_write(out, columns[c], c + 1 == ARRAY_SIZE(columns));
	size_t i;
	const json_t *o;
	json_array_foreach(all, i, o)
	{
		for (size_t c = 0; c < 6; c++)
			csv_write(out, str_of(o, columns[c]), false);
		char *ev = json_dumps(json_object_get(o, "evidence"),
				      JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(10));
		csv_write(out, ev ? ev : "[]", true);
		free(ev);
	}
}

/* "minutes_missing 1, off_site 2": the count of each kind, in the order found. */
static void print_counts(const json_t *all, FILE *out)
{
	size_t i, j;
	const json_t *o, *p;
	bool first = true;
	json_array_foreach(all, i, o)
	{
		const char *f = str_of(o, "finding");
		bool seen = false;
		size_t n = 0;
		json_array_foreach(all, j, p)
		{
			bool same = strcmp(str_of(p, "finding"), f) == 0;
			seen = seen || (same && j < i);
			n += same;
		}
		if (!seen) {
			fprintf(out, "%s%s %zu", first ? "" : ", ", f, n);
			first = false;
		}
	}
}

static void print_text(const json_t *all, FILE *out)
{
	size_t i, j;
	const json_t *o, *e;
	json_array_foreach(all, i, o)
	{
		const char *school = str_of(o, "school");
		fprintf(out, "%s: %s%s%s%s, measure %s\n  %s\n", str_of(o, "finding"),
			school[0] ? "school " : "", school, school[0] ? ", " : "",
			str_of(o, "subject"), str_of(o, "measure"), str_of(o, "detail"));
		fprintf(out, "  at %s; evidence:\n", str_of(o, "at"));
		json_array_foreach(json_object_get(o, "evidence"), j, e)
		{
			char *s = json_dumps(e, JSON_COMPACT | JSON_ENCODE_ANY |
							JSON_REAL_PRECISION(10));
			fprintf(out, "    %s\n", s ? s : "?");
			free(s);
		}
	}
	if (json_array_size(all) == 0) {
		fprintf(out, "no findings\n");
		return;
	}
	fprintf(out, "%zu findings: ", json_array_size(all));
	print_counts(all, out);
	fputc('\n', out);
}

static json_t *limits_json(const struct findings_limits *l)
{
	return json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i}", "missing_minutes",
			 (int)l->missing_minutes, "clock_skew_s", (int)l->clock_skew_s,
			 "off_site_minutes", (int)l->off_site_minutes, "max_students_per_coach_day",
			 (int)l->max_students_per_coach_day, "max_coach_minutes_per_day",
			 (int)l->max_coach_minutes_per_day, "min_face_confidence",
			 (int)l->min_face_confidence, "silent_days", (int)l->silent_days,
			 "min_realtime_percent", (int)l->min_realtime_percent);
}

/* The findings as text, CSV or JSON on out. */
static int print(const struct findings_query *q, const char *format, FILE *out)
{
	json_t *all = findings_collect(q);
	if (all == NULL)
		return 1;
	if (strcmp(format, "csv") == 0) {
		print_csv(all, out);
	} else if (strcmp(format, "json") == 0) {
		json_t *doc =
			json_pack("{s:s?,s:s?,s:s?,s:o,s:O}", "school", q->school, "from", q->from,
				  "to", q->to, "thresholds", limits_json(&q->lim), "findings", all);
		json_dumpf(doc, out, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
		fputc('\n', out);
		json_decref(doc);
	} else {
		print_text(all, out);
	}
	json_decref(all);
	return 0;
}

/* Whether the school is known; false (said) when not, or on error. */
static bool school_known(const char *school)
{
	const char *v[1] = {school};
	PGresult *r = pgq_query(sql_school_exists, 1, v);
	if (r == NULL)
		return false;
	bool known = PQntuples(r) == 1;
	PQclear(r);
	if (!known)
		fprintf(stderr, "hoursctl: findings: no school \"%s\"\n", school);
	return known;
}

/* findings [--school CODE] [--from TS] [--to TS] [--format text|csv|json]: exit 0 whatever is
 * found. */
int findings_run(const struct args *a)
{
	struct findings_query q = {.school = a->opt[0], .from = a->opt[1], .to = a->opt[2]};
	const char *format = a->opt[3] ? a->opt[3] : "text";
	if (strcmp(format, "text") != 0 && strcmp(format, "csv") != 0 &&
	    strcmp(format, "json") != 0) {
		fprintf(stderr, "hoursctl: findings: --format is text, csv or json, not \"%s\"\n",
			format);
		return 2;
	}
	if (!findings_limits(&q.lim))
		return 1;
	/* The times as every command reads them (check.c): a bad one is a usage error. */
	time_t from = 0, to = 0;
	if ((q.from && !check_time("--from", q.from, &from)) ||
	    (q.to && !check_time("--to", q.to, &to)))
		return check_time_rc();
	if (q.from && q.to && to < from) {
		fprintf(stderr, "hoursctl: findings: --to is before --from\n");
		return 2;
	}
	if (q.school && !school_known(q.school))
		return 1;
	return pgq_conn() ? print(&q, format, stdout) : 1;
}
