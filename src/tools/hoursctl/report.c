/*
 * report.c - the quarterly joint report of the transport authority and
 * the police (notice, section 二(三)): hoursctl report quarterly writes
 * what the authority sends the police (each school's coaches, vehicles
 * and training grounds with the quarter's findings) and the public table
 * of schools' training quality (CSV and a self-contained HTML page with
 * inline SVG charts); hoursctl report import-police reads the police's
 * figures per school from CSV.  docs/audit.md.
 */
#include "hoursd.h"
#include "hoursctl.h"
#include "findings.h"
#include "quality.h"
#include "common/csv.h"
#include "common/html.h"
#include "common/pgq.h"
#include "common/progress.h"
#include "queries.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#define QUARTERLY "report quarterly"
#define POLICE "report import-police"

bool quarter_bounds(const char *s, char from[32], char to[32])
{
	int year = 0, q = 0;
	char tail;
	if (strlen(s) != 6 || sscanf(s, "%4dQ%1d%c", &year, &q, &tail) != 2 || year < 2000 ||
	    year > 2099 || q < 1 || q > 4 || strspn(s, "0123456789") != 4)
		return false;
	snprintf(from, 32, "%04d-%02d-01 00:00:00+08", year, 3 * q - 2);
	snprintf(to, 32, "%04d-%02d-01 00:00:00+08", q == 4 ? year + 1 : year,
		 q == 4 ? 1 : 3 * q + 1);
	return true;
}

/* ---- what the authority sends the police ---- */

/* findings.silent_days: a vehicle whose terminal is that silent is counted silent. */
static unsigned silent_days;

/* The counts of the transport side per school, by the items' states (report_school_items). */
static const char *const item_counts[][2] = {
	{"coach", "active"},
	{"coach", "joined"},
	{"coach", "left"},
	{"coach", "not_registered"},
	{"vehicle", "with_terminal"},
	{"vehicle", "silent"},
	{"vehicle", "without_terminal"},
};

/* The name of a count: coaches_active, vehicles_silent. */
static const char *count_key(size_t k, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s_%s",
		 strcmp(item_counts[k][0], "coach") == 0 ? "coaches" : "vehicles",
		 item_counts[k][1]);
	return buf;
}

/* The findings whose subject is "KIND ID" (a coach's, a vehicle's). */
static json_int_t findings_against(const json_t *mine, const char *kind, const char *id)
{
	json_int_t n = 0;
	size_t i, kl = strlen(kind);
	json_t *o;
	json_array_foreach(mine, i, o)
	{
		const char *s = json_string_value(json_object_get(o, "subject"));
		n += s && strncmp(s, kind, kl) == 0 && s[kl] == ' ' && strcmp(s + kl + 1, id) == 0;
	}
	return n;
}

/*
 * A school's coaches, vehicles and training grounds ({"coaches": [...],
 * ...}, each with its state, minutes and the findings against it), and
 * their counts by state.
 */
static bool add_items(json_t *school, const char *code, const char *from, const char *to,
		      const json_t *mine)
{
	char days[16], key[48];
	snprintf(days, sizeof(days), "%u", silent_days);
	const char *v[4] = {code, from, to, days};
	PGresult *r = pgq_query_in(QUARTERLY, sql_report_school_items, 4, v);
	if (r == NULL)
		return false;
	json_t *coaches = json_array(), *vehicles = json_array(), *grounds = json_array();
	json_int_t counts[ARRAY_SIZE(item_counts)] = {0};
	for (int i = 0; i < PQntuples(r); i++) {
		const char *kind = PQgetvalue(r, i, REPORT_SCHOOL_ITEMS_KIND);
		const char *id = PQgetvalue(r, i, REPORT_SCHOOL_ITEMS_ID);
		const char *state = PQgetvalue(r, i, REPORT_SCHOOL_ITEMS_STATE);
		json_t *a = strcmp(kind, "coach") == 0	   ? coaches
			    : strcmp(kind, "vehicle") == 0 ? vehicles
							   : grounds;
		json_array_append_new(
			a,
			json_pack("{s:s,s:s,s:s,s:I,s:I}", "id", id, "detail",
				  PQgetvalue(r, i, REPORT_SCHOOL_ITEMS_DETAIL), "state", state,
				  "minutes",
				  (json_int_t)strtoll(PQgetvalue(r, i, REPORT_SCHOOL_ITEMS_MINUTES),
						      NULL, 10),
				  "findings", findings_against(mine, kind, id)));
		for (size_t k = 0; k < ARRAY_SIZE(item_counts); k++)
			counts[k] += strcmp(kind, item_counts[k][0]) == 0 &&
				     strcmp(state, item_counts[k][1]) == 0;
	}
	PQclear(r);
	json_object_set_new(school, "coaches", coaches);
	json_object_set_new(school, "vehicles", vehicles);
	json_object_set_new(school, "training_grounds", grounds);
	for (size_t k = 0; k < ARRAY_SIZE(item_counts); k++)
		json_object_set_new(school, count_key(k, key, sizeof(key)),
				    json_integer(counts[k]));
	return true;
}

/* The findings of one school ("" : those of no school, e.g. per vendor). */
static json_t *findings_of(const json_t *all, const char *code)
{
	json_t *mine = json_array();
	size_t i;
	json_t *o;
	json_array_foreach(all, i, o)
	{
		const char *s = json_string_value(json_object_get(o, "school"));
		if (s && strcmp(s, code) == 0)
			json_array_append(mine, o);
	}
	return mine;
}

/* Sum of the measures of one kind of finding (the off-site minutes, say). */
static long measure_sum(const json_t *findings, const char *kind)
{
	long n = 0;
	size_t i;
	json_t *o;
	json_array_foreach(findings, i, o)
	{
		if (strcmp(json_string_value(json_object_get(o, "finding")), kind) == 0)
			n += strtol(json_string_value(json_object_get(o, "measure")), NULL, 10);
	}
	return n;
}

/* A school's figures of a quarter, row i of report_schools: {"code", "name", ...}. */
static json_t *figures_of(const PGresult *r, int i)
{
	long records = strtol(PQgetvalue(r, i, REPORT_SCHOOLS_RECORDS), NULL, 10);
	long realtime = strtol(PQgetvalue(r, i, REPORT_SCHOOLS_REALTIME), NULL, 10);
	json_t *s = json_pack(
		"{s:s,s:s,s:I,s:I,s:I,s:I}", "code", PQgetvalue(r, i, REPORT_SCHOOLS_CODE), "name",
		PQgetvalue(r, i, REPORT_SCHOOLS_NAME), "students_trained",
		(json_int_t)strtol(PQgetvalue(r, i, REPORT_SCHOOLS_STUDENTS), NULL, 10),
		"minutes_counted",
		(json_int_t)strtol(PQgetvalue(r, i, REPORT_SCHOOLS_MINUTES), NULL, 10), "records",
		(json_int_t)records, "realtime_records", (json_int_t)realtime);
	json_object_set_new(s, "realtime_percent",
			    records ? json_real((double)(1000 * realtime / records) / 10.0)
				    : json_null());
	static const struct {
		const char *key;
		int col;
	} police[] = {
		{"exam_pass_rate", REPORT_SCHOOLS_PASS_RATE},
		{"violation_rate", REPORT_SCHOOLS_VIOLATION_RATE},
		{"accident_rate", REPORT_SCHOOLS_ACCIDENT_RATE},
	};
	for (size_t k = 0; k < ARRAY_SIZE(police); k++) {
		const char *val = PQgetvalue(r, i, police[k].col);
		json_object_set_new(s, police[k].key,
				    val[0] ? json_real(strtod(val, NULL)) : json_null());
	}
	return s;
}

/* One school of the report: its figures (row i of report_schools) and lists. */
static json_t *school_of(const PGresult *r, int i, const json_t *all, const char *from,
			 const char *to)
{
	const char *code = PQgetvalue(r, i, REPORT_SCHOOLS_CODE);
	json_t *s = figures_of(r, i);
	json_t *mine = findings_of(all, code);
	if (!add_items(s, code, from, to, mine)) {
		json_decref(mine);
		json_decref(s);
		return NULL;
	}
	json_object_set_new(s, "off_site_minutes", json_integer(measure_sum(mine, "off_site")));
	json_object_set_new(s, "findings", mine);
	return s;
}

static FILE *open_out(const char *dir, const char *name, const char *quarter, const char *ext,
		      char *path, size_t len)
{
	snprintf(path, len, "%s/%s-%s.%s", dir, name, quarter, ext);
	FILE *f = fopen(path, "w");
	if (f == NULL)
		fprintf(stderr, "hoursctl: report quarterly: cannot write %s: %s\n", path,
			strerror(errno));
	return f;
}

static bool close_out(FILE *f, const char *path, FILE *out)
{
	bool ok = !ferror(f);
	ok = fclose(f) == 0 && ok;
	if (!ok)
		fprintf(stderr, "hoursctl: report quarterly: writing %s failed\n", path);
	else
		fprintf(out, "wrote %s\n", path);
	return ok;
}

/* A number of the school, or "" when it is null (no police figures yet). */
static const char *num(const json_t *s, const char *key, char *buf, size_t len)
{
	const json_t *v = json_object_get(s, key);
	if (json_is_integer(v))
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%.1f", json_real_value(v));
	else
		buf[0] = '\0';
	return buf;
}

static bool write_supervision_csv(const json_t *schools, FILE *f)
{
	char key[48];
	fprintf(f, "school_code,school_name,coaches,vehicles,training_grounds,findings,"
		   "off_site_minutes");
	for (size_t k = 0; k < ARRAY_SIZE(item_counts); k++)
		fprintf(f, ",%s", count_key(k, key, sizeof(key)));
	fputc('\n', f);
	size_t i;
	json_t *s;
	json_array_foreach(schools, i, s)
	{
		char b[32];
		csv_write(f, json_string_value(json_object_get(s, "code")), false);
		csv_write(f, json_string_value(json_object_get(s, "name")), false);
		fprintf(f, "%zu,%zu,%zu,%zu,%s", json_array_size(json_object_get(s, "coaches")),
			json_array_size(json_object_get(s, "vehicles")),
			json_array_size(json_object_get(s, "training_grounds")),
			json_array_size(json_object_get(s, "findings")),
			num(s, "off_site_minutes", b, sizeof(b)));
		for (size_t k = 0; k < ARRAY_SIZE(item_counts); k++)
			fprintf(f, ",%s", num(s, count_key(k, key, sizeof(key)), b, sizeof(b)));
		fputc('\n', f);
	}
	return true;
}

/* ---- the public table of training quality ---- */

static const char *const quality_cols[][2] = {
	{"students_trained", "students trained"},
	{"minutes_counted", "minutes counted"},
	{"realtime_percent", "uploaded in real time (%)"},
	{"findings", "findings"},
	{"off_site_minutes", "off-site minutes"},
	{"exam_pass_rate", "exam pass rate (%)"},
	{"violation_rate", "violations per 100 new drivers"},
	{"accident_rate", "accidents per 100 new drivers"},
};

/* The value of a quality column as text ("" unknown); findings is a count. */
static const char *quality_value(const json_t *s, const char *key, char *buf, size_t len)
{
	if (strcmp(key, "findings") == 0) {
		snprintf(buf, len, "%zu", json_array_size(json_object_get(s, "findings")));
		return buf;
	}
	return num(s, key, buf, len);
}

static void write_quality_csv(const json_t *schools, FILE *f)
{
	fprintf(f, "school_code,school_name");
	for (size_t c = 0; c < ARRAY_SIZE(quality_cols); c++)
		fprintf(f, ",%s", quality_cols[c][0]);
	fputc('\n', f);
	size_t i;
	json_t *s;
	json_array_foreach(schools, i, s)
	{
		char b[32];
		csv_write(f, json_string_value(json_object_get(s, "code")), false);
		csv_write(f, json_string_value(json_object_get(s, "name")),
			  ARRAY_SIZE(quality_cols) == 0);
		for (size_t c = 0; c < ARRAY_SIZE(quality_cols); c++)
			csv_write(f, quality_value(s, quality_cols[c][0], b, sizeof(b)),
				  c + 1 == ARRAY_SIZE(quality_cols));
	}
}

/* One list of a school (coaches, vehicles, grounds) as a table of the supervision page. */
static void html_items(FILE *f, const json_t *s, const char *key, const char *title)
{
	const json_t *items = json_object_get(s, key);
	fprintf(f,
		"<h3>%s (%zu)</h3>\n<table>\n<tr><th>id</th><th>detail</th><th>state</th>"
		"<th>minutes</th><th>findings</th></tr>\n",
		title, json_array_size(items));
	size_t i;
	json_t *o;
	json_array_foreach(items, i, o)
	{
		fprintf(f, "<tr><td>");
		html_text(f, json_string_value(json_object_get(o, "id")));
		fprintf(f, "</td><td>");
		html_text(f, json_string_value(json_object_get(o, "detail")));
		fprintf(f, "</td><td>");
		html_text(f, json_string_value(json_object_get(o, "state")));
		fprintf(f,
			"</td><td>%" JSON_INTEGER_FORMAT "</td><td>%" JSON_INTEGER_FORMAT
			"</td></tr>\n",
			json_integer_value(json_object_get(o, "minutes")),
			json_integer_value(json_object_get(o, "findings")));
	}
	fprintf(f, "</table>\n");
}

/* The transport side of the joint report for people: each school's registry and findings. */
static void write_supervision_html(const json_t *schools, const char *quarter, FILE *f)
{
	char key[48], b[32];
	fprintf(f,
		"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		"<title>Coaches, vehicles and training grounds of driving schools, %s</title>\n"
		"<style>\nbody{font-family:sans-serif;margin:24px;color:#222;background:#fff}\n"
		"table{border-collapse:collapse;margin:8px 0 16px}\n"
		"th,td{border:1px solid #bbb;padding:4px 8px;text-align:left}\n"
		"th{background:#e8eef6}\n</style></head><body>\n"
		"<h1>Coaches, vehicles and training grounds of driving schools, %s</h1>\n",
		quarter, quarter);
	size_t i;
	json_t *s;
	json_array_foreach(schools, i, s)
	{
		fprintf(f, "<h2>");
		html_text(f, json_string_value(json_object_get(s, "name")));
		fprintf(f, " (");
		html_text(f, json_string_value(json_object_get(s, "code")));
		fprintf(f, ")</h2>\n<table>\n<tr>");
		for (size_t k = 0; k < ARRAY_SIZE(item_counts); k++)
			fprintf(f, "<th>%s</th>", count_key(k, key, sizeof(key)));
		fprintf(f, "<th>findings</th></tr>\n<tr>");
		for (size_t k = 0; k < ARRAY_SIZE(item_counts); k++)
			fprintf(f, "<td>%s</td>",
				num(s, count_key(k, key, sizeof(key)), b, sizeof(b)));
		fprintf(f, "<td>%zu</td></tr>\n</table>\n",
			json_array_size(json_object_get(s, "findings")));
		html_items(f, s, "coaches", "Coaches");
		html_items(f, s, "vehicles", "Training vehicles");
		html_items(f, s, "training_grounds", "Training grounds");
		const json_t *fs = json_object_get(s, "findings");
		fprintf(f, "<h3>Findings (%zu)</h3>\n<ul>\n", json_array_size(fs));
		size_t j;
		json_t *o;
		json_array_foreach(fs, j, o)
		{
			fprintf(f, "<li>");
			html_text(f, json_string_value(json_object_get(o, "finding")));
			fprintf(f, ": ");
			html_text(f, json_string_value(json_object_get(o, "subject")));
			fprintf(f, ", ");
			html_text(f, json_string_value(json_object_get(o, "detail")));
			fprintf(f, "</li>\n");
		}
		fprintf(f, "</ul>\n");
	}
	fprintf(f, "</body></html>\n");
}

/* Every school of the quarter, NULL (said) on error. */
static json_t *schools_of(const char *quarter, const char *from, const char *to, const json_t *all)
{
	const char *v[3] = {from, to, quarter};
	PGresult *r = pgq_query_in(QUARTERLY, sql_report_schools, 3, v);
	if (r == NULL)
		return NULL;
	json_t *schools = json_array();
	progress_begin("report quarterly", "schools", (unsigned long)PQntuples(r));
	for (int i = 0; i < PQntuples(r); i++) {
		progress_step((unsigned long)i);
		json_t *s = school_of(r, i, all, from, to);
		if (s == NULL) {
			json_decref(schools);
			schools = NULL;
			break;
		}
		json_array_append_new(schools, s);
	}
	progress_step(json_array_size(schools));
	progress_end();
	PQclear(r);
	return schools;
}

/* The quarter before q (2026Q1 before 2026Q2, 2025Q4 before 2026Q1). */
static void quarter_before(char q[8])
{
	unsigned year = (unsigned)atoi(q) % 10000, n = (unsigned)(q[5] - '0') % 10;
	if (--n == 0) {
		n = 4;
		year--;
	}
	snprintf(q, 8, "%04uQ%u", year % 10000, n % 10);
}

/*
 * Each school's figures of the four quarters before quarter, oldest first,
 * as its "history" (the school's page shows the trend).  False (said) on
 * a database error.
 */
static bool add_history(json_t *schools, const char *quarter)
{
	char q[8], from[32], to[32];
	snprintf(q, sizeof(q), "%s", quarter);
	size_t i;
	json_t *s;
	json_array_foreach(schools, i, s) json_object_set_new(s, "history", json_array());
	for (int back = 0; back < 4; back++) {
		quarter_before(q);
		if (!quarter_bounds(q, from, to))
			return false;
		const char *v[3] = {from, to, q};
		PGresult *r = pgq_query_in(QUARTERLY, sql_report_schools, 3, v);
		if (r == NULL)
			return false;
		for (int row = 0; row < PQntuples(r); row++) {
			json_array_foreach(schools, i, s)
			{
				if (strcmp(json_string_value(json_object_get(s, "code")),
					   PQgetvalue(r, row, REPORT_SCHOOLS_CODE)) != 0)
					continue;
				json_t *f = figures_of(r, row);
				json_object_del(f, "code");
				json_object_del(f, "name");
				json_object_set_new(f, "quarter", json_string(q));
				json_array_insert_new(json_object_get(s, "history"), 0, f);
			}
		}
		PQclear(r);
	}
	return true;
}

static bool write_all(const json_t *doc, const char *quarter, const char *dir, FILE *out)
{
	char path[4200];
	const json_t *schools = json_object_get(doc, "schools");
	FILE *f = open_out(dir, "supervision", quarter, "json", path, sizeof(path));
	bool ok = f && json_dumpf(doc, f, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) == 0 &&
		  close_out(f, path, out);
	if (ok && (f = open_out(dir, "supervision", quarter, "csv", path, sizeof(path))))
		ok = write_supervision_csv(schools, f) && close_out(f, path, out);
	else
		ok = false;
	if (ok && (f = open_out(dir, "supervision", quarter, "html", path, sizeof(path)))) {
		write_supervision_html(schools, quarter, f);
		ok = close_out(f, path, out);
	} else {
		ok = false;
	}
	if (ok && (f = open_out(dir, "quality", quarter, "csv", path, sizeof(path)))) {
		write_quality_csv(schools, f);
		ok = close_out(f, path, out);
	} else {
		ok = false;
	}
	return ok && quality_pages_write(doc, dir, out);
}

/* The report's data: the findings of the quarter, every school's figures and lists. */
static json_t *quarter_doc(const char *quarter, const struct findings_query *q)
{
	json_t *all = findings_collect(q);
	json_t *schools = all ? schools_of(quarter, q->from, q->to, all) : NULL;
	json_t *doc = NULL;
	if (schools && !add_history(schools, quarter)) {
		json_decref(schools);
		schools = NULL;
	}
	if (schools)
		doc = json_pack("{s:s,s:s,s:s,s:o,s:o}", "quarter", quarter, "from", q->from, "to",
				q->to, "schools", schools, "findings_of_no_school",
				findings_of(all, ""));
	json_decref(all);
	return doc;
}

/* report quarterly QUARTER --out DIR */
int report_quarterly(const struct args *a)
{
	const char *quarter = a->pos[0], *dir = a->opt[0];
	char from[32], to[32];
	struct findings_query q = {.from = from, .to = to};
	if (!quarter_bounds(quarter, from, to)) {
		fprintf(stderr, "hoursctl: report quarterly: \"%s\" is not a quarter (2026Q3)\n",
			quarter);
		return 2;
	}
	if (dir == NULL) {
		fprintf(stderr, "hoursctl: report quarterly: missing --out DIR\n");
		return 2;
	}
	if (!findings_limits(&q.lim) || pgq_conn() == NULL)
		return 1;
	silent_days = q.lim.silent_days;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "hoursctl: report quarterly: cannot make %s: %s\n", dir,
			strerror(errno));
		return 1;
	}
	json_t *doc = quarter_doc(quarter, &q);
	bool ok = doc && write_all(doc, quarter, dir, stdout);
	json_decref(doc);
	return ok ? 0 : 1;
}

/* ---- the police's figures ---- */

#define POLICE_HEADER "quarter,school_code,exam_pass_rate,violation_rate,accident_rate"

/* A rate: a decimal with at most 2 decimals, 0..max; false with why. */
static bool rate_ok(const char *s, double max, const char *name, char *why, size_t len)
{
	size_t digits = strspn(s, "0123456789");
	const char *dot = s + digits;
	size_t decimals = *dot == '.' ? strspn(dot + 1, "0123456789") : 0;
	bool ok = digits > 0 && digits <= 6 &&
		  (*dot == '\0' ||
		   (*dot == '.' && decimals >= 1 && decimals <= 2 && dot[1 + decimals] == '\0'));
	if (ok && strtod(s, NULL) <= max)
		return true;
	snprintf(why, len, "%s \"%s\" is not a number from 0 to %g with at most 2 decimals", name,
		 s, max);
	return false;
}

/* The reason a row's fields are not good, or NULL. */
static const char *row_refusal(char *const *f, int n, char *why, size_t len)
{
	char a[32], b[32];
	if (n != 5) {
		snprintf(why, len, "%d fields, not 5 (" POLICE_HEADER ")", n);
		return why;
	}
	if (!quarter_bounds(f[0], a, b)) {
		snprintf(why, len, "quarter \"%s\" is not YYYYQn (2026Q3)", f[0]);
		return why;
	}
	if (f[1][0] == '\0') {
		snprintf(why, len, "no school code");
		return why;
	}
	if (!rate_ok(f[2], 100, "exam_pass_rate", why, len) ||
	    !rate_ok(f[3], 10000, "violation_rate", why, len) ||
	    !rate_ok(f[4], 10000, "accident_rate", why, len))
		return why;
	return NULL;
}

/* Whether a row of the same quarter and school came earlier in the file. */
static bool seen_before(json_t *seen, char *const *f)
{
	char key[256];
	snprintf(key, sizeof(key), "%s/%s", f[0], f[1]);
	if (json_object_get(seen, key))
		return true;
	json_object_set_new(seen, key, json_true());
	return false;
}

/* The import: the file and the quarters and schools met so far. */
struct police {
	const char *path;
	json_t *seen;
};

/* One data row: stored, or refused with FILE:LINE: reason. */
static enum csv_verdict police_row(const struct csv *c, void *arg)
{
	struct police *p = arg;
	char *const *f = c->field;
	char why[256];
	const char *refusal = row_refusal(f, c->nfield, why, sizeof(why));
	if (refusal == NULL && seen_before(p->seen, f)) {
		snprintf(why, sizeof(why), "%s of school %s again (kept: the first)", f[0], f[1]);
		refusal = why;
	}
	if (refusal == NULL) {
		const char *v[6] = {f[0], f[1], f[2], f[3], f[4], p->path};
		PGresult *r = pgq_query_in(POLICE, sql_report_police_save, 6, v);
		if (r == NULL)
			return CSV_ABORT;
		if (PQntuples(r) == 0) {
			snprintf(why, sizeof(why), "no school \"%s\"", f[1]);
			refusal = why;
		}
		PQclear(r);
	}
	if (refusal == NULL)
		return CSV_ADDED;
	csv_say(c, refusal);
	return CSV_REFUSED;
}

/* The first row must be the header, name for name; false (said, counted) otherwise. */
static bool police_header(struct csv *c, struct csv_counts *n)
{
	static const char *const names[] = {"quarter", "school_code", "exam_pass_rate",
					    "violation_rate", "accident_rate"};
	int r;
	while ((r = csv_next(c)) < 0 && !ferror(c->f))
		n->refused++;
	if (r <= 0) {
		if (n->refused == 0) {
			fprintf(stderr, "%s: empty: no header " POLICE_HEADER "\n", c->path);
			n->refused++;
		}
		return false;
	}
	bool same = c->nfield == (int)ARRAY_SIZE(names);
	for (int i = 0; same && i < c->nfield; i++)
		same = strcmp(c->field[i], names[i]) == 0;
	if (!same) {
		csv_say(c, "the header must be " POLICE_HEADER);
		n->refused++;
	}
	return same;
}

/* One statement of the import's transaction; false (said) on error. */
static bool police_exec(const char *sql)
{
	PGresult *r = pgq_query_in(POLICE, sql, 0, NULL);
	PQclear(r);
	return r != NULL;
}

/* The rows in one transaction: the good ones stored, the bad ones said; false on a database error.
 */
static bool police_import(struct csv *c, struct csv_counts *n)
{
	struct police p = {.path = c->path, .seen = json_object()};
	bool ok = police_exec(sql_report_begin);
	if (ok && police_header(c, n))
		ok = csv_import(c, police_row, &p, n);
	json_decref(p.seen);
	return police_exec(ok ? sql_report_commit : sql_migrate_rollback) && ok;
}

/* report import-police FILE: 0 all rows stored, 1 some refused (each said). */
int report_import_police(const struct args *a)
{
	const char *path = a->pos[0];
	struct csv c;
	struct csv_counts n = {0};
	/* The file is looked at before the database is reached. */
	if (access(path, R_OK) != 0) {
		fprintf(stderr, "hoursctl: report import-police: cannot read %s: %s\n", path,
			strerror(errno));
		return 1;
	}
	if (pgq_conn() == NULL || !csv_open(&c, path, NULL, 0, NULL, 0))
		return 1;
	bool ok = police_import(&c, &n);
	csv_close(&c);
	if (!ok)
		return 1;
	printf("%s: %lu rows stored, %lu refused\n", path, n.added, n.refused);
	return n.refused ? 1 : 0;
}
