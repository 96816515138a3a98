/*
 * students.c - see students.h.
 *
 * The files (a CSV of students or slots, a back-fill form in JSON or CSV
 * and its scan) are hostile input: every row is checked here, each fault
 * reported as FILE:LINE: reason, and only rows with none reach the
 * database, one statement each, so that every good row is stored and no
 * bad one.  The statements are idempotent (student number; student and
 * window; form number and scan digest), so a file imported again changes
 * nothing.
 */
#include "hoursd.h"
#include "students.h"
#include "conf.h"
#include "utf8.h"
#include "queries.h"

#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <openssl/evp.h>

#define MAX_FIELDS 32
#define MAX_LINE 4096
#define SCAN_MAX (20 * 1024 * 1024) /* a scanned form: a few pages */

/* ---- small checks ---- */

/* GB 11643: 17 digits and a check character (ISO 7064 MOD 11-2; X for 10). */
bool students_valid_id_card(const char *s)
{
	static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
	static const char check[] = "10X98765432";
	if (s == NULL || strlen(s) != 18)
		return false;
	int sum = 0;
	for (int i = 0; i < 17; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		sum += (s[i] - '0') * w[i];
	}
	return s[17] == check[sum % 11];
}

/* The 16-character national number of a student or a coach: printable ASCII. */
static bool valid_no16(const char *s)
{
	if (s == NULL || strlen(s) != 16)
		return false;
	for (const char *p = s; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			return false;
	return true;
}

/* A licence class: a letter and an optional digit (C1, B2, D). */
static bool valid_class(const char *s)
{
	return s && s[0] >= 'A' && s[0] <= 'Z' &&
	       (s[1] == '\0' || (s[1] >= '0' && s[1] <= '9' && s[2] == '\0'));
}

/* 1-max bytes, none a control character. */
static bool valid_text(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* A form number or plate: 1-max bytes of printable ASCII without space. */
static bool valid_token(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return false;
	return true;
}

/*
 * A time of China Standard Time as the files write it, "YYYY-MM-DD HH:MM"
 * (or with a T, with :SS, with +08:00), into out as PostgreSQL reads it
 * with its zone: "YYYY-MM-DD HH:MM:SS+08".  Another offset is refused:
 * every time of a school is UTC+8.
 */
static bool local_time(const char *in, char out[32])
{
	char date[11];
	int hh, mm, ss = 0, n = 0;
	if (in == NULL || strlen(in) < 16 || (in[10] != ' ' && in[10] != 'T'))
		return false;
	memcpy(date, in, 10);
	date[10] = '\0';
	if (!conf_valid_date(date) || sscanf(in + 11, "%2d:%2d%n", &hh, &mm, &n) != 2 || n != 5)
		return false;
	const char *rest = in + 16;
	if (rest[0] == ':') {
		if (sscanf(rest, ":%2d%n", &ss, &n) != 1 || n != 3)
			return false;
		rest += 3;
	}
	if (strcmp(rest, "") != 0 && strcmp(rest, "+08:00") != 0 && strcmp(rest, "+08") != 0)
		return false;
	if (hh > 23 || mm > 59 || ss > 59 || hh < 0 || mm < 0 || ss < 0)
		return false;
	snprintf(out, 32, "%.10s %02u:%02u:%02u+08", date, (unsigned)hh % 100u, (unsigned)mm % 100u,
		 (unsigned)ss % 100u);
	return true;
}

/* Mileage in km with at most one decimal ("12", "12.5") to 0.1 km. */
static bool parse_km(const char *s, long long *dkm)
{
	long long whole = 0;
	int tenth = 0;
	size_t i = 0, n = s ? strlen(s) : 0;
	if (n == 0 || n > 12)
		return false;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		whole = whole * 10 + (s[i] - '0');
	if (i == 0)
		return false;
	if (i < n) {
		if (s[i] != '.' || i + 2 != n || s[i + 1] < '0' || s[i + 1] > '9')
			return false;
		tenth = s[i + 1] - '0';
	}
	*dkm = whole * 10 + tenth;
	return true;
}

static bool parse_minutes(const char *s, long *out)
{
	char *end;
	errno = 0;
	long v = s && *s ? strtol(s, &end, 10) : -1;
	if (s == NULL || *s == '\0' || errno || *end || v < 0 || v > 100000 || s[0] == '+')
		return false;
	*out = v;
	return true;
}

/* ---- the database ---- */

static PGresult *run(students_db_fn db, const char *sql, int n, const char *const *v)
{
	PGconn *c = db();
	if (c == NULL)
		return NULL;
	PGresult *r = PQexecParams(c, sql, n, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "hoursctl: %s", PQerrorMessage(c));
		PQclear(r);
		return NULL;
	}
	return r;
}

/* ---- CSV ---- */

/*
 * One CSV line (RFC 4180 without line breaks inside quotes) split in
 * place into at most MAX_FIELDS fields; -1 with why on a malformed line.
 */
static int csv_split(char *line, char **f, const char **why)
{
	int n = 0;
	char *p = line;
	for (;;) {
		if (n == MAX_FIELDS) {
			*why = "more than 32 fields";
			return -1;
		}
		char *out = p;
		f[n++] = out;
		if (*p == '"') {
			p++;
			for (;;) {
				if (*p == '\0') {
					*why = "a quoted field is not closed on its line";
					return -1;
				}
				if (*p == '"' && p[1] == '"') {
					*out++ = '"';
					p += 2;
				} else if (*p == '"') {
					p++;
					break;
				} else {
					*out++ = *p++;
				}
			}
			if (*p != ',' && *p != '\0') {
				*why = "text after a closing quote";
				return -1;
			}
		} else {
			while (*p && *p != ',') {
				if (*p == '"') {
					*why = "a quote inside an unquoted field";
					return -1;
				}
				*out++ = *p++;
			}
		}
		char sep = *p;
		*out = '\0';
		if (sep == '\0')
			return n;
		p++;
	}
}

struct csv {
	FILE *f;
	const char *path;
	unsigned long line;
	char buf[MAX_LINE + 2];
	char *field[MAX_FIELDS];
	int nfield;
	int ncols;	     /* the header's fields: every row has as many; 0 while reading it */
	int col[MAX_FIELDS]; /* the header's column of each wanted name; -1: absent */
};

/* The next line's fields: 1; 0 at the end; -1 with "FILE:LINE: why" said. */
static int csv_next(struct csv *c)
{
	for (;;) {
		if (fgets(c->buf, sizeof(c->buf), c->f) == NULL)
			return ferror(c->f) ? -1 : 0;
		c->line++;
		size_t n = strlen(c->buf);
		if (n > 0 && c->buf[n - 1] != '\n' && !feof(c->f)) {
			fprintf(stderr, "%s:%lu: line longer than %d bytes\n", c->path, c->line,
				MAX_LINE);
			int ch;
			while ((ch = fgetc(c->f)) != EOF && ch != '\n')
				;
			return -1;
		}
		while (n > 0 && (c->buf[n - 1] == '\n' || c->buf[n - 1] == '\r'))
			c->buf[--n] = '\0';
		char *s = c->buf;
		if (c->line == 1 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) /* a UTF-8 BOM */
			s += 3;
		if (*s == '\0' || *s == '#')
			continue;
		size_t bad = utf8_invalid_at(s, strlen(s));
		if (s[bad] != '\0') {
			fprintf(stderr,
				"%s:%lu: byte %zu is not UTF-8 (0x%02x): save the file as UTF-8\n",
				c->path, c->line, (size_t)(s - c->buf) + bad + 1,
				(unsigned char)s[bad]);
			return -1;
		}
		const char *why = NULL;
		c->nfield = csv_split(s, c->field, &why);
		if (c->nfield < 0) {
			fprintf(stderr, "%s:%lu: %s\n", c->path, c->line, why);
			return -1;
		}
		if (c->ncols && c->nfield != c->ncols) {
			fprintf(stderr, "%s:%lu: %d fields, the header has %d\n", c->path, c->line,
				c->nfield, c->ncols);
			return -1;
		}
		for (int i = 0; i < c->nfield; i++) { /* trim blanks */
			char *v = c->field[i];
			while (*v == ' ' || *v == '\t')
				v++;
			size_t len = strlen(v);
			while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
				v[--len] = '\0';
			c->field[i] = v;
		}
		return 1;
	}
}

/*
 * Open a CSV and read its header: every name of need must be a column
 * (opt: may be), no column twice or unknown.  False (said) otherwise.
 */
static bool csv_open(struct csv *c, const char *path, const char *const *need, int nneed,
		     const char *const *opt, int nopt)
{
	memset(c, 0, sizeof(*c));
	c->path = path;
	c->f = fopen(path, "r");
	if (c->f == NULL) {
		fprintf(stderr, "hoursctl: %s: %s\n", path, strerror(errno));
		return false;
	}
	int r = csv_next(c);
	if (r <= 0) {
		if (r == 0)
			fprintf(stderr,
				"%s:1: empty file: a header line naming the columns first\n", path);
		fclose(c->f);
		return false;
	}
	for (int i = 0; i < nneed + nopt; i++)
		c->col[i] = -1;
	for (int k = 0; k < c->nfield; k++) {
		int i = 0;
		while (i < nneed + nopt &&
		       strcmp(c->field[k], i < nneed ? need[i] : opt[i - nneed]) != 0)
			i++;
		const char *bad = i == nneed + nopt ? "unknown column"
				  : c->col[i] >= 0  ? "column named twice"
						    : NULL;
		if (bad) {
			fprintf(stderr, "%s:%lu: header: %s \"%.40s\"\n", path, c->line, bad,
				c->field[k]);
			fclose(c->f);
			return false;
		}
		c->col[i] = k;
	}
	for (int i = 0; i < nneed; i++)
		if (c->col[i] < 0) {
			fprintf(stderr, "%s:%lu: header: missing column \"%s\"\n", path, c->line,
				need[i]);
			fclose(c->f);
			return false;
		}
	c->ncols = c->nfield;
	return true;
}

/* Column i of the current row ("" when the column is absent). */
static const char *csv_get(const struct csv *c, int i)
{
	int k = c->col[i];
	return k >= 0 && k < c->nfield ? c->field[k] : "";
}

/* ---- students ---- */

/* Why a student's facts are refused, or NULL. */
static const char *student_refusal(const struct student_fields *f, char *buf, size_t cap)
{
	if (!valid_no16(f->student_no))
		return "student number: 16 printable ASCII characters expected";
	if (!valid_text(f->school, 64))
		return "school code: 1-64 printable characters expected";
	if (!valid_class(f->vehicle_class))
		return "vehicle class: a letter and an optional digit expected (C1, B2, D)";
	if (!conf_valid_date(f->enrolled_on))
		return "enrolment date: YYYY-MM-DD expected";
	if (f->id_card && !students_valid_id_card(f->id_card))
		return "identity-card number: 17 digits and a check character (0-9 or X) that "
		       "matches them expected";
	if (f->pre_entered_on && !conf_valid_date(f->pre_entered_on))
		return "pre-entry date: YYYY-MM-DD expected";
	if (f->legacy && f->pre_entered_on == NULL)
		return "a legacy student needs the police pre-entry date";
	if (f->pre_entered_on && strcmp(f->pre_entered_on, f->enrolled_on) < 0) {
		snprintf(buf, cap, "pre-entry date %s is before the enrolment date %s",
			 f->pre_entered_on, f->enrolled_on);
		return buf;
	}
	return NULL;
}

/* Store one student checked already: the statement's outcome, NULL on a database error. */
static const char *enrol(students_db_fn db, const struct student_fields *f)
{
	static char out[16];
	const char *v[7] = {f->student_no,    f->school,  f->vehicle_class,
			    f->enrolled_on,   f->id_card, f->legacy ? "t" : "f",
			    f->pre_entered_on};
	PGresult *r = run(db, sql_student_enrol, 7, v);
	if (r == NULL)
		return NULL;
	snprintf(out, sizeof(out), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return out;
}

static const char *enrol_reason(const char *outcome, const struct student_fields *f, char *buf,
				size_t cap)
{
	if (strcmp(outcome, "no_school") == 0)
		snprintf(buf, cap, "no school %s (hoursctl school add)", f->school);
	else
		snprintf(buf, cap,
			 "student %s is enrolled already with other facts (school, class, dates, "
			 "legacy or identity card): nothing changed",
			 f->student_no);
	return buf;
}

int students_add(students_db_fn db, const struct student_fields *f)
{
	char buf[256];
	const char *why = student_refusal(f, buf, sizeof(buf));
	if (why) {
		fprintf(stderr, "hoursctl: student add: %s\n", why);
		return 2;
	}
	const char *o = enrol(db, f);
	if (o == NULL)
		return 1;
	if (strcmp(o, "added") == 0 || strcmp(o, "same") == 0) {
		printf("student %s %s (school %s, class %s, enrolled %s%s%s)\n", f->student_no,
		       strcmp(o, "added") == 0 ? "enrolled" : "was enrolled already", f->school,
		       f->vehicle_class, f->enrolled_on, f->legacy ? ", legacy, pre-entered " : "",
		       f->legacy ? f->pre_entered_on : "");
		return 0;
	}
	fprintf(stderr, "hoursctl: student add: %s\n", enrol_reason(o, f, buf, sizeof(buf)));
	return 1;
}

static bool yes_no(const char *s, bool *out)
{
	if (strcmp(s, "") == 0 || strcmp(s, "no") == 0 || strcmp(s, "false") == 0 ||
	    strcmp(s, "0") == 0) {
		*out = false;
		return true;
	}
	if (strcmp(s, "yes") == 0 || strcmp(s, "true") == 0 || strcmp(s, "1") == 0) {
		*out = true;
		return true;
	}
	return false;
}

enum { S_NO, S_SCHOOL, S_CLASS, S_ENROLLED, S_ID, S_LEGACY, S_PRE };

int students_import(students_db_fn db, const char *path)
{
	static const char *const need[] = {"student_no", "school", "class", "enrolled_on"};
	static const char *const opt[] = {"id_card", "legacy", "pre_entered_on"};
	struct csv c;
	if (!csv_open(&c, path, need, 4, opt, 3))
		return 1;
	unsigned long added = 0, same = 0, bad = 0;
	int r;
	while ((r = csv_next(&c)) != 0) {
		char buf[256];
		if (r < 0) {
			bad++;
			if (ferror(c.f))
				break;
			continue;
		}
		struct student_fields f = {
			.student_no = csv_get(&c, S_NO),
			.school = csv_get(&c, S_SCHOOL),
			.vehicle_class = csv_get(&c, S_CLASS),
			.enrolled_on = csv_get(&c, S_ENROLLED),
			.id_card = csv_get(&c, S_ID)[0] ? csv_get(&c, S_ID) : NULL,
			.pre_entered_on = csv_get(&c, S_PRE)[0] ? csv_get(&c, S_PRE) : NULL,
		};
		const char *why = yes_no(csv_get(&c, S_LEGACY), &f.legacy)
					  ? student_refusal(&f, buf, sizeof(buf))
					  : "legacy: yes or no expected (empty: no)";
		const char *o = why ? NULL : enrol(db, &f);
		if (why == NULL && o == NULL) {
			fclose(c.f);
			return 1;
		}
		if (o && strcmp(o, "added") == 0)
			added++;
		else if (o && strcmp(o, "same") == 0)
			same++;
		else {
			fprintf(stderr, "%s:%lu: %s\n", path, c.line,
				why ? why : enrol_reason(o, &f, buf, sizeof(buf)));
			bad++;
		}
	}
	bool read_error = ferror(c.f);
	fclose(c.f);
	if (read_error)
		fprintf(stderr, "hoursctl: %s: read error\n", path);
	printf("%s: %lu enrolled, %lu enrolled already (unchanged), %lu refused\n", path, added,
	       same, bad);
	return bad || read_error ? 1 : 0;
}

int students_list(students_db_fn db, const char *school)
{
	const char *v[1] = {school};
	PGresult *r = run(db, sql_student_list, 1, v);
	if (r == NULL)
		return 1;
	printf("%-16s %-12s %-5s %-10s %-6s %-11s %-11s %s\n", "student", "school", "class",
	       "enrolled", "legacy", "pre-entered", "slots today", "forms");
	for (int i = 0; i < PQntuples(r); i++)
		printf("%-16s %-12s %-5s %-10s %-6s %-11s %-11s %s\n", PQgetvalue(r, i, 0),
		       PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
		       PQgetvalue(r, i, 4), PQgetvalue(r, i, 5), PQgetvalue(r, i, 6),
		       PQgetvalue(r, i, 7));
	PQclear(r);
	return 0;
}

int students_show(students_db_fn db, const char *student_no)
{
	const char *v[2] = {student_no, NULL};
	PGresult *r = run(db, sql_student_show, 1, v);
	if (r == NULL)
		return 1;
	if (PQntuples(r) == 0) {
		fprintf(stderr, "hoursctl: student show: no student %s enrolled\n", student_no);
		PQclear(r);
		return 1;
	}
	bool legacy = PQgetvalue(r, 0, 5)[0] == 't';
	printf("student        %s\nschool         %s (%s)\nclass          %s\nenrolled       %s "
	       "(by %s, entered %s UTC+8)\n",
	       PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 3),
	       PQgetvalue(r, 0, 4), PQgetvalue(r, 0, 8), PQgetvalue(r, 0, 9));
	printf("legacy         %s\npre-entered    %s\nidentity card  %s%s\n", legacy ? "yes" : "no",
	       PQgetvalue(r, 0, 6), PQgetvalue(r, 0, 7)[0] ? "SHA-256 " : "none recorded",
	       PQgetvalue(r, 0, 7));
	if (PQgetvalue(r, 0, 10)[0])
		printf("licence held   %s\n", PQgetvalue(r, 0, 10));
	PQclear(r);
	PGresult *s = run(db, sql_schedule_list, 2, v);
	if (s == NULL)
		return 1;
	printf("slots          %d\n", PQntuples(s));
	for (int i = 0; i < PQntuples(s); i++)
		printf("  %s - %s  coach %s  vehicle %s\n", PQgetvalue(s, i, 4),
		       PQgetvalue(s, i, 5), PQgetvalue(s, i, 2), PQgetvalue(s, i, 3));
	PQclear(s);
	return 0;
}

/* ---- scheduling ---- */

static const char *slot_refusal(const char *student, const char *coach, const char *plate,
				const char *from, const char *to, char f[32], char t[32])
{
	if (!valid_no16(student))
		return "student number: 16 printable ASCII characters expected";
	if (!valid_token(coach, 32))
		return "coach number: 1-32 printable ASCII characters expected";
	if (!valid_text(plate, 16))
		return "vehicle plate: 1-16 printable characters expected";
	if (!local_time(from, f))
		return "start: YYYY-MM-DD HH:MM expected (China Standard Time)";
	if (!local_time(to, t))
		return "end: YYYY-MM-DD HH:MM expected (China Standard Time)";
	if (strcmp(t, f) <= 0)
		return "the end is not after the start";
	return NULL;
}

/* One slot checked already: 'added', 'exists' or 'no_student'; NULL on a database error. */
static const char *slot_store(students_db_fn db, const char *student, const char *coach,
			      const char *plate, const char *f, const char *t, char id[24])
{
	static char out[16];
	const char *v[5] = {student, coach, plate, f, t};
	PGresult *r = run(db, sql_schedule_add, 5, v);
	if (r == NULL)
		return NULL;
	snprintf(out, sizeof(out), "%s", PQgetvalue(r, 0, 0));
	snprintf(id, 24, "%s", PQgetvalue(r, 0, 1));
	PQclear(r);
	return out;
}

int schedule_add(students_db_fn db, const char *student_no, const char *coach_no, const char *plate,
		 const char *from, const char *to)
{
	char f[32], t[32], id[24];
	const char *why = slot_refusal(student_no, coach_no, plate, from, to, f, t);
	if (why) {
		fprintf(stderr, "hoursctl: schedule add: %s\n", why);
		return 2;
	}
	const char *o = slot_store(db, student_no, coach_no, plate, f, t, id);
	if (o == NULL)
		return 1;
	if (strcmp(o, "no_student") == 0) {
		fprintf(stderr,
			"hoursctl: schedule add: no student %s enrolled (hoursctl student "
			"add)\n",
			student_no);
		return 1;
	}
	if (strcmp(o, "added") == 0)
		printf("slot %s: student %s with coach %s in %s, %s - %s\n", id, student_no,
		       coach_no, plate, from, to);
	else
		printf("student %s was scheduled for %s - %s already\n", student_no, from, to);
	return 0;
}

int schedule_import(students_db_fn db, const char *path)
{
	static const char *const need[] = {"student_no", "coach_no", "plate", "starts_at",
					   "ends_at"};
	struct csv c;
	if (!csv_open(&c, path, need, 5, NULL, 0))
		return 1;
	unsigned long added = 0, same = 0, bad = 0;
	int r;
	while ((r = csv_next(&c)) != 0) {
		if (r < 0) {
			bad++;
			if (ferror(c.f))
				break;
			continue;
		}
		char f[32], t[32], id[24];
		const char *st = csv_get(&c, 0);
		const char *why = slot_refusal(st, csv_get(&c, 1), csv_get(&c, 2), csv_get(&c, 3),
					       csv_get(&c, 4), f, t);
		const char *o =
			why ? NULL : slot_store(db, st, csv_get(&c, 1), csv_get(&c, 2), f, t, id);
		if (why == NULL && o == NULL) {
			fclose(c.f);
			return 1;
		}
		if (o && strcmp(o, "added") == 0) {
			added++;
		} else if (o && strcmp(o, "exists") == 0) {
			same++;
		} else {
			char buf[128];
			if (o)
				snprintf(buf, sizeof(buf), "no student %s enrolled", st);
			fprintf(stderr, "%s:%lu: %s\n", path, c.line, why ? why : buf);
			bad++;
		}
	}
	bool read_error = ferror(c.f);
	fclose(c.f);
	if (read_error)
		fprintf(stderr, "hoursctl: %s: read error\n", path);
	printf("%s: %lu slots added, %lu there already (unchanged), %lu refused\n", path, added,
	       same, bad);
	return bad || read_error ? 1 : 0;
}

int schedule_list(students_db_fn db, const char *student_no, const char *day)
{
	if (day && !conf_valid_date(day)) {
		fprintf(stderr, "hoursctl: schedule list: --day: YYYY-MM-DD expected\n");
		return 2;
	}
	const char *v[2] = {student_no, day};
	PGresult *r = run(db, sql_schedule_list, 2, v);
	if (r == NULL)
		return 1;
	printf("%-6s %-16s %-16s %-10s %s\n", "slot", "student", "coach", "vehicle",
	       "start - end (UTC+8)");
	for (int i = 0; i < PQntuples(r); i++)
		printf("%-6s %-16s %-16s %-10s %s - %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
		       PQgetvalue(r, i, 2), PQgetvalue(r, i, 3), PQgetvalue(r, i, 4),
		       PQgetvalue(r, i, 5));
	PQclear(r);
	return 0;
}

/* ---- back-filled hours ---- */

/* A form as read from its file: strings point into the file's parse. */
struct form {
	const char *form_no, *student_no, *school, *coach_no, *from, *to, *entered_by;
	const char *student_by, *student_at, *coach_by, *coach_at, *seal_by, *seal_at;
	const char *mileage_km, *scan;
	long part, vehicle, classroom, simulator, remote;
	bool part_ok, minutes_ok; /* the numbers parsed */
};

/* The scan: its bytes, type and SHA-256. */
struct scan {
	uint8_t *data;
	size_t len;
	const char *type;
	char sha[65];
};

/* Lower-case hex of n bytes into out (2n + 1 bytes): a scan may be 20 MiB. */
static void hex(const uint8_t *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/* The scan of path: read, typed by its first bytes, hashed.  NULL: fine; else why. */
static const char *scan_read(const char *path, struct scan *s, char *buf, size_t cap)
{
	memset(s, 0, sizeof(*s));
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(buf, cap, "scan %.300s: %s", path, strerror(errno));
		return buf;
	}
	size_t capb = 65536;
	s->data = malloc(capb);
	size_t n;
	while (s->data && (n = fread(s->data + s->len, 1, capb - s->len, f)) > 0) {
		s->len += n;
		if (s->len > SCAN_MAX)
			break;
		if (s->len == capb) {
			uint8_t *p = realloc(s->data, capb *= 2);
			if (p == NULL)
				free(s->data);
			s->data = p;
		}
	}
	bool err = ferror(f) != 0;
	fclose(f);
	const char *why = NULL;
	if (s->data == NULL)
		why = "out of memory";
	else if (err)
		why = "read error";
	else if (s->len > SCAN_MAX)
		why = "larger than 20 MiB";
	else if (s->len >= 5 && memcmp(s->data, "%PDF-", 5) == 0)
		s->type = "pdf";
	else if (s->len >= 8 && memcmp(s->data, "\x89PNG\r\n\x1a\n", 8) == 0)
		s->type = "png";
	else if (s->len >= 3 && memcmp(s->data, "\xFF\xD8\xFF", 3) == 0)
		s->type = "jpeg";
	else
		why = "not a PDF, PNG or JPEG file (the scanned paper form)";
	if (why) {
		snprintf(buf, cap, "scan %.300s: %s", path, why);
		free(s->data);
		s->data = NULL;
		return buf;
	}
	uint8_t md[32];
	EVP_Digest(s->data, s->len, md, NULL, EVP_sha256(), NULL);
	hex(md, 32, s->sha);
	return NULL;
}

/* The scan's path: as the form names it, relative to the form's directory. */
static void scan_path(const char *form_path, const char *scan, char *out, size_t cap)
{
	const char *slash = strrchr(form_path, '/');
	if (scan[0] == '/' || slash == NULL)
		snprintf(out, cap, "%s", scan);
	else
		snprintf(out, cap, "%.*s/%s", (int)(slash - form_path), form_path, scan);
}

/* What the form itself breaks (no database needed), or NULL. */
static const char *form_refusal(const struct form *f, char t[6][32], long long *dkm, char *buf,
				size_t cap)
{
	const char *const *times[3][2] = {{&f->student_by, &f->student_at},
					  {&f->coach_by, &f->coach_at},
					  {&f->seal_by, &f->seal_at}};
	static const char *const names[3] = {"student_signature", "coach_signature", "school_seal"};
	if (!valid_token(f->form_no, 64))
		return "form_no: 1-64 printable ASCII characters, no space";
	if (!valid_no16(f->student_no))
		return "student_no: 16 printable ASCII characters expected";
	if (!valid_text(f->school, 64))
		return "school_code: 1-64 printable characters expected";
	if (!f->part_ok || f->part < 1 || f->part > 4)
		return "part: 1 to 4 expected";
	if (!f->minutes_ok)
		return "minutes: whole numbers 0-100000 expected for vehicle, classroom, "
		       "simulator and remote";
	if (f->vehicle + f->classroom + f->simulator + f->remote == 0)
		return "minutes: all four kinds are 0";
	if (!parse_km(f->mileage_km, dkm))
		return "mileage_km: kilometres with at most one decimal expected (\"12.5\")";
	if (!valid_token(f->coach_no, 32))
		return "coach_no: 1-32 printable ASCII characters expected";
	if (!conf_valid_date(f->from) || !conf_valid_date(f->to))
		return "trained_from, trained_to: YYYY-MM-DD expected";
	if (strcmp(f->from, f->to) > 0)
		return "trained_from is after trained_to";
	for (int i = 0; i < 3; i++) {
		if (!valid_text(*times[i][0], 200)) {
			snprintf(buf, cap, "%s: who signed (\"by\") missing", names[i]);
			return buf;
		}
		if (!local_time(*times[i][1], t[i])) {
			snprintf(buf, cap,
				 "%s: when (\"at\") as YYYY-MM-DD HH:MM (China Standard Time) "
				 "expected",
				 names[i]);
			return buf;
		}
		if (strncmp(t[i], f->to, 10) < 0) {
			snprintf(buf, cap, "%s: signed %.10s, before the training ended (%s)",
				 names[i], t[i], f->to);
			return buf;
		}
	}
	if (!valid_text(f->entered_by, 200))
		return "entered_by: who entered the form is missing";
	if (!valid_text(f->scan, 1000))
		return "scan: the scanned paper form's file (PDF or image) is missing";
	return NULL;
}

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static bool jint(json_t *o, const char *k, long *out)
{
	json_t *v = json_object_get(o, k);
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 100000)
		return false;
	*out = (long)json_integer_value(v);
	return true;
}

/* A JSON form (docs/students.md): its members into f; NULL, or why (members unknown...). */
static const char *form_from_json(json_t *o, struct form *f, char *buf, size_t cap)
{
	static const char *const known[] = {
		"form_no",	   "student_no",  "school_code",  "part",	"minutes",
		"mileage_km",	   "coach_no",	  "trained_from", "trained_to", "student_signature",
		"coach_signature", "school_seal", "entered_by",	  "scan"};
	const char *k;
	json_t *v;
	if (!json_is_object(o))
		return "one JSON object expected";
	json_object_foreach(o, k, v)
	{
		size_t i = 0;
		while (i < ARRAY_SIZE(known) && strcmp(known[i], k) != 0)
			i++;
		if (i == ARRAY_SIZE(known)) {
			snprintf(buf, cap, "unknown member \"%.40s\"", k);
			return buf;
		}
	}
	json_t *m = json_object_get(o, "minutes");
	f->form_no = jstr(o, "form_no");
	f->student_no = jstr(o, "student_no");
	f->school = jstr(o, "school_code");
	f->part_ok = jint(o, "part", &f->part);
	f->minutes_ok = json_is_object(m) && json_object_size(m) == 4 &&
			jint(m, "vehicle", &f->vehicle) && jint(m, "classroom", &f->classroom) &&
			jint(m, "simulator", &f->simulator) && jint(m, "remote", &f->remote);
	f->mileage_km = jstr(o, "mileage_km");
	f->coach_no = jstr(o, "coach_no");
	f->from = jstr(o, "trained_from");
	f->to = jstr(o, "trained_to");
	json_t *ss = json_object_get(o, "student_signature"),
	       *cs = json_object_get(o, "coach_signature"), *se = json_object_get(o, "school_seal");
	f->student_by = jstr(ss, "by");
	f->student_at = jstr(ss, "at");
	f->coach_by = jstr(cs, "by");
	f->coach_at = jstr(cs, "at");
	f->seal_by = jstr(se, "by");
	f->seal_at = jstr(se, "at");
	f->entered_by = jstr(o, "entered_by");
	f->scan = jstr(o, "scan");
	return NULL;
}

enum {
	F_NO,
	F_STUDENT,
	F_SCHOOL,
	F_PART,
	F_VEH,
	F_CLS,
	F_SIM,
	F_REM,
	F_KM,
	F_COACH,
	F_FROM,
	F_TO,
	F_SBY,
	F_SAT,
	F_CBY,
	F_CAT,
	F_SEALBY,
	F_SEALAT,
	F_ENTERED,
	F_SCAN,
	F__N
};
static const char *const form_columns[F__N] = {
	"form_no",	     "student_no",	  "school_code",       "part",
	"vehicle_minutes",   "classroom_minutes", "simulator_minutes", "remote_minutes",
	"mileage_km",	     "coach_no",	  "trained_from",      "trained_to",
	"student_signed_by", "student_signed_at", "coach_signed_by",   "coach_signed_at",
	"sealed_by",	     "sealed_at",	  "entered_by",	       "scan"};

static void form_from_csv(const struct csv *c, struct form *f)
{
	f->form_no = csv_get(c, F_NO);
	f->student_no = csv_get(c, F_STUDENT);
	f->school = csv_get(c, F_SCHOOL);
	f->part_ok = parse_minutes(csv_get(c, F_PART), &f->part);
	f->minutes_ok = parse_minutes(csv_get(c, F_VEH), &f->vehicle) &&
			parse_minutes(csv_get(c, F_CLS), &f->classroom) &&
			parse_minutes(csv_get(c, F_SIM), &f->simulator) &&
			parse_minutes(csv_get(c, F_REM), &f->remote);
	f->mileage_km = csv_get(c, F_KM);
	f->coach_no = csv_get(c, F_COACH);
	f->from = csv_get(c, F_FROM);
	f->to = csv_get(c, F_TO);
	f->student_by = csv_get(c, F_SBY);
	f->student_at = csv_get(c, F_SAT);
	f->coach_by = csv_get(c, F_CBY);
	f->coach_at = csv_get(c, F_CAT);
	f->seal_by = csv_get(c, F_SEALBY);
	f->seal_at = csv_get(c, F_SEALAT);
	f->entered_by = csv_get(c, F_ENTERED);
	f->scan = csv_get(c, F_SCAN);
}

/* A kind's minutes against the syllabus's most for it (column col of facts). */
static const char *kind_refusal(const PGresult *r, int col, const char *kind, long minutes,
				long part, char *buf, size_t cap)
{
	if (minutes == 0 || PQgetisnull(r, 0, col))
		return NULL;
	long most = strtol(PQgetvalue(r, 0, col), NULL, 10);
	if (most == 0)
		snprintf(buf, cap, "%s minutes are not allowed in part %ld (the syllabus)", kind,
			 part);
	else if (minutes > most)
		snprintf(buf, cap, "%ld %s minutes: part %ld counts at most %ld of that kind",
			 minutes, kind, part, most);
	else
		return NULL;
	return buf;
}

/*
 * What the database's facts refuse (backfill_facts.sql), or NULL; class
 * gets the student's vehicle class.
 */
static const char *facts_refusal(const PGresult *r, const struct form *f, const char *sha,
				 const char *cutoff, char *cls, size_t clscap, char *buf,
				 size_t cap)
{
	long total = f->vehicle + f->classroom + f->simulator + f->remote;
	const char *why;
	if (!PQgetisnull(r, 0, 11)) {
		snprintf(buf, cap, "form %s was imported already (%s): a form is taken once",
			 f->form_no, PQgetvalue(r, 0, 11));
		return buf;
	}
	if (!PQgetisnull(r, 0, 12)) {
		snprintf(buf, cap, "this scan (SHA-256 %.16s...) was imported already with form %s",
			 sha, PQgetvalue(r, 0, 12));
		return buf;
	}
	if (PQgetvalue(r, 0, 0)[0] != 't') {
		snprintf(buf, cap, "student %s is not enrolled (hoursctl student add|import)",
			 f->student_no);
		return buf;
	}
	if (strcmp(PQgetvalue(r, 0, 3), f->school) != 0) {
		snprintf(buf, cap, "the form's school %s is not the student's (%s)", f->school,
			 PQgetvalue(r, 0, 3));
		return buf;
	}
	if (PQgetvalue(r, 0, 1)[0] != 't') {
		snprintf(buf, cap,
			 "student %s is not a legacy student: only legacy students' hours are "
			 "back-filled (the terminals record everyone else's)",
			 f->student_no);
		return buf;
	}
	if (strcmp(PQgetvalue(r, 0, 2), cutoff) >= 0) {
		snprintf(buf, cap,
			 "student %s was pre-entered on %s, not before the cut-off %s "
			 "(rules.legacy_cutoff)",
			 f->student_no, PQgetvalue(r, 0, 2), cutoff);
		return buf;
	}
	snprintf(cls, clscap, "%s", PQgetvalue(r, 0, 4));
	if (PQgetisnull(r, 0, 9)) {
		snprintf(buf, cap,
			 "the syllabus has no part %ld for class %s (hoursd publishes it at "
			 "start)",
			 f->part, cls);
		return buf;
	}
	if ((why = kind_refusal(r, 5, "vehicle", f->vehicle, f->part, buf, cap)) ||
	    (why = kind_refusal(r, 6, "simulator", f->simulator, f->part, buf, cap)) ||
	    (why = kind_refusal(r, 7, "classroom", f->classroom, f->part, buf, cap)) ||
	    (why = kind_refusal(r, 8, "remote", f->remote, f->part, buf, cap)))
		return why;
	long required = strtol(PQgetvalue(r, 0, 9), NULL, 10);
	long others = strtol(PQgetvalue(r, 0, 10), NULL, 10);
	if (total + others > required) {
		snprintf(buf, cap,
			 "%ld minutes%s%ld on the student's other forms of part %ld) are more than "
			 "the %ld the syllabus requires for the part",
			 total, others ? " (with " : " (", others, f->part, required);
		return buf;
	}
	if (!PQgetisnull(r, 0, 13)) {
		snprintf(buf, cap,
			 "part %ld of student %s is met and has its packet already (%s): nothing "
			 "to back-fill",
			 f->part, f->student_no, PQgetvalue(r, 0, 13));
		return buf;
	}
	return NULL;
}

/*
 * One form: checked (itself, its scan, the database's facts), then stored
 * with its first step.  0 stored; 1 refused (said as where: why).
 */
static int form_import(students_db_fn db, const char *where, const char *path, struct form *f,
		       const char *scan_override, const char *cutoff)
{
	char t[6][32], buf[512], sp[4096], cls[8] = "";
	long long dkm = 0;
	if (scan_override)
		f->scan = scan_override;
	const char *why = form_refusal(f, t, &dkm, buf, sizeof(buf));
	if (why) {
		fprintf(stderr, "%s: %s\n", where, why);
		return 1;
	}
	struct scan s;
	if (scan_override)
		snprintf(sp, sizeof(sp), "%s", scan_override);
	else
		scan_path(path, f->scan, sp, sizeof(sp));
	if ((why = scan_read(sp, &s, buf, sizeof(buf))) != NULL) {
		fprintf(stderr, "%s: %s\n", where, why);
		return 1;
	}
	char part[8];
	snprintf(part, sizeof(part), "%ld", f->part);
	const char *fv[4] = {f->student_no, part, f->form_no, s.sha};
	PGresult *r = run(db, sql_backfill_facts, 4, fv);
	if (r == NULL) {
		free(s.data);
		return 1;
	}
	why = facts_refusal(r, f, s.sha, cutoff, cls, sizeof(cls), buf, sizeof(buf));
	PQclear(r);
	if (why) {
		fprintf(stderr, "%s: %s\n", where, why);
		free(s.data);
		return 1;
	}
	char *scanhex = malloc(2 * s.len + 1);
	if (scanhex == NULL) {
		free(s.data);
		fprintf(stderr, "%s: out of memory\n", where);
		return 1;
	}
	hex(s.data, s.len, scanhex);
	free(s.data);
	char n[4][16], km[24];
	snprintf(n[0], 16, "%ld", f->vehicle);
	snprintf(n[1], 16, "%ld", f->classroom);
	snprintf(n[2], 16, "%ld", f->simulator);
	snprintf(n[3], 16, "%ld", f->remote);
	snprintf(km, sizeof(km), "%lld", dkm);
	const char *base = strrchr(sp, '/') ? strrchr(sp, '/') + 1 : sp;
	const char *v[25] = {f->form_no,  f->student_no, f->school,  part,	    cls,
			     n[0],	  n[1],		 n[2],	     n[3],	    km,
			     f->coach_no, f->from,	 f->to,	     f->student_by, t[0],
			     f->coach_by, t[1],		 f->seal_by, t[2],	    f->entered_by,
			     cutoff,	  base,		 s.type,     scanhex,	    s.sha};
	PGconn *c = db();
	r = c ? PQexecParams(c, sql_backfill_insert, 25, NULL, v, NULL, NULL, 0) : NULL;
	free(scanhex);
	if (r == NULL)
		return 1;
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		if (state && strcmp(state, "23505") == 0) /* unique: imported meanwhile */
			fprintf(stderr, "%s: form %s or its scan was imported already\n", where,
				f->form_no);
		else
			fprintf(stderr, "%s: %s", where, PQerrorMessage(c));
		PQclear(r);
		return 1;
	}
	PQclear(r);
	printf("form %s imported: student %s part %ld, %ld minutes (vehicle %ld, classroom %ld, "
	       "simulator %ld, remote %ld), %s km; scan %s SHA-256 %s; pending a supervisor's "
	       "approval\n",
	       f->form_no, f->student_no, f->part,
	       f->vehicle + f->classroom + f->simulator + f->remote, f->vehicle, f->classroom,
	       f->simulator, f->remote, f->mileage_km, s.type, s.sha);
	return 0;
}

static int import_json(students_db_fn db, const char *path, const char *scan, const char *cutoff)
{
	json_error_t e;
	json_t *o = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
	if (o == NULL) {
		fprintf(stderr, "%s:%d: %s\n", path, e.line, e.text);
		return 1;
	}
	struct form f = {0};
	char buf[128], where[4200];
	snprintf(where, sizeof(where), "%s", path);
	const char *why = form_from_json(o, &f, buf, sizeof(buf));
	int rc = 1;
	if (why)
		fprintf(stderr, "%s: %s\n", path, why);
	else
		rc = form_import(db, where, path, &f, scan, cutoff);
	json_decref(o);
	return rc;
}

static int import_csv(students_db_fn db, const char *path, const char *cutoff)
{
	struct csv c;
	if (!csv_open(&c, path, form_columns, F__N, NULL, 0))
		return 1;
	unsigned long ok = 0, bad = 0;
	int r;
	while ((r = csv_next(&c)) != 0) {
		if (r < 0) {
			bad++;
			if (ferror(c.f))
				break;
			continue;
		}
		struct form f = {0};
		char where[4200];
		form_from_csv(&c, &f);
		snprintf(where, sizeof(where), "%s:%lu", path, c.line);
		if (form_import(db, where, path, &f, NULL, cutoff) == 0)
			ok++;
		else
			bad++;
	}
	fclose(c.f);
	printf("%s: %lu forms imported, %lu refused\n", path, ok, bad);
	return bad ? 1 : 0;
}

/* JSON when the file's first non-blank byte is '{', else CSV. */
int backfill_import(students_db_fn db, const char *path, const char *scan, const char *cutoff)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "hoursctl: %s: %s\n", path, strerror(errno));
		return 1;
	}
	int ch;
	while ((ch = fgetc(f)) == ' ' || ch == '\t' || ch == '\n' || ch == '\r')
		;
	fclose(f);
	if (ch == '{')
		return import_json(db, path, scan, cutoff);
	/* One scan is one paper form: a CSV of forms names each row's in its scan column. */
	if (scan) {
		fprintf(stderr,
			"hoursctl: backfill import: --scan goes with one form (JSON); %s is a "
			"CSV of forms: each row names its scan in the scan column\n",
			path);
		return 2;
	}
	return import_csv(db, path, cutoff);
}

int backfill_decide(students_db_fn db, const char *form_no, bool approve, const char *by,
		    const char *note)
{
	const char *verb = approve ? "approve" : "reject";
	if (!valid_token(form_no, 64)) {
		fprintf(stderr, "hoursctl: backfill %s: FORM: 1-64 printable ASCII characters\n",
			verb);
		return 2;
	}
	if (by == NULL || !valid_text(by, 200)) {
		fprintf(stderr,
			"hoursctl: backfill %s: --by NAME: who decides (1-200 characters)\n", verb);
		return 2;
	}
	if ((note && !valid_text(note, 2000)) || (!approve && note == NULL)) {
		fprintf(stderr, "hoursctl: backfill %s: --note TEXT: %s (1-2000 characters)\n",
			verb, approve ? "a note" : "the reason for the rejection");
		return 2;
	}
	const char *v[4] = {form_no, approve ? "approved" : "rejected", by, note};
	PGresult *r = run(db, sql_backfill_decide, 4, v);
	if (r == NULL)
		return 1;
	int rc = 0;
	if (PQgetvalue(r, 0, 0)[0] != 't') {
		fprintf(stderr, "hoursctl: backfill %s: no form %s\n", verb, form_no);
		rc = 1;
	} else if (PQgetvalue(r, 0, 1)[0] != 't') {
		fprintf(stderr, "hoursctl: backfill %s: form %s was %s: a form is decided once\n",
			verb, form_no, PQgetvalue(r, 0, 2));
		rc = 1;
	} else if (approve) {
		const char *packet = PQgetvalue(r, 0, 5);
		printf("form %s approved by %s: student %s part %s counts it from the judge's next "
		       "batch%s%s\n",
		       form_no, by, PQgetvalue(r, 0, 3), PQgetvalue(r, 0, 4),
		       packet[0] ? "; the part has its packet already, it is not pushed again: "
				 : "",
		       packet);
	} else {
		printf("form %s rejected by %s: it does not count\n", form_no, by);
	}
	PQclear(r);
	return rc;
}

int backfill_list(students_db_fn db, const char *state)
{
	static const char *const states[] = {"pending", "approved", "rejected"};
	bool ok = state == NULL;
	for (size_t i = 0; state && i < ARRAY_SIZE(states); i++)
		ok = ok || strcmp(state, states[i]) == 0;
	if (!ok) {
		fprintf(stderr,
			"hoursctl: backfill list: --state is pending, approved or rejected, not "
			"\"%s\"\n",
			state);
		return 2;
	}
	const char *v[1] = {state};
	PGresult *r = run(db, sql_backfill_list, 1, v);
	if (r == NULL)
		return 1;
	printf("%-20s %-16s %-4s %7s %-8s %-16s %-16s %s\n", "form", "student", "part", "minutes",
	       "state", "entered by", "entered (UTC+8)", "decided by");
	for (int i = 0; i < PQntuples(r); i++)
		printf("%-20s %-16s %-4s %7s %-8s %-16s %-16s %s\n", PQgetvalue(r, i, 0),
		       PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
		       PQgetvalue(r, i, 4), PQgetvalue(r, i, 5), PQgetvalue(r, i, 6),
		       PQgetvalue(r, i, 7));
	PQclear(r);
	return 0;
}

int backfill_show(students_db_fn db, const char *form_no)
{
	const char *v[1] = {form_no};
	PGresult *r = run(db, sql_backfill_show, 1, v);
	if (r == NULL)
		return 1;
	if (PQntuples(r) == 0) {
		fprintf(stderr, "hoursctl: backfill show: no form %s\n", form_no);
		PQclear(r);
		return 1;
	}
#define V(i) PQgetvalue(r, 0, i)
	printf("form           %s (%s)\nstudent        %s, school %s, class %s\npart           %s\n"
	       "minutes        vehicle %s, classroom %s, simulator %s, remote %s\n"
	       "mileage        %s km\ncoach          %s\ntrained        %s to %s\n",
	       V(0), V(25), V(1), V(2), V(4), V(3), V(5), V(6), V(7), V(8), V(9), V(10), V(11),
	       V(12));
	printf("signed         student %s (%s), coach %s (%s)\nsealed         %s (%s)\n"
	       "entered by     %s (cut-off %s)\nscan           %s, %s, %s bytes, SHA-256 %s\n"
	       "packet         %s\n",
	       V(13), V(14), V(15), V(16), V(17), V(18), V(19), V(20), V(21), V(22), V(23), V(24),
	       V(26));
#undef V
	PQclear(r);
	PGresult *s = run(db, sql_backfill_steps, 1, v);
	if (s == NULL)
		return 1;
	printf("steps (UTC+8)\n");
	for (int i = 0; i < PQntuples(s); i++)
		printf("  %-8s %s by %s (database user %s)%s%s\n", PQgetvalue(s, i, 0),
		       PQgetvalue(s, i, 2), PQgetvalue(s, i, 1), PQgetvalue(s, i, 3),
		       PQgetvalue(s, i, 4)[0] ? ": " : "", PQgetvalue(s, i, 4));
	PQclear(s);
	return 0;
}

int students_explain_backfill(PGconn *c, const char *student_no, FILE *out)
{
	const char *v[1] = {student_no};
	PGresult *r = PQexecParams(c, sql_audit_backfill, 1, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "hoursctl: %s", PQerrorMessage(c));
		PQclear(r);
		return 1;
	}
	if (PQntuples(r) > 0) {
		fprintf(out,
			"\nback-filled hours (approved forms; counted with the terminals' minutes, "
			"each kind capped):\n%-4s %7s %9s %9s %6s %8s %-20s %-20s %8s %8s %8s %s\n",
			"part", "vehicle", "simulator", "classroom", "remote", "km", "approved",
			"pending", "terminal", "together", "required", "push");
		for (int i = 0; i < PQntuples(r); i++)
			fprintf(out, "%-4s %7s %9s %9s %6s %8s %-20s %-20s %8s %8s %8s %s\n",
				PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
				PQgetvalue(r, i, 3), PQgetvalue(r, i, 4), PQgetvalue(r, i, 5),
				PQgetvalue(r, i, 6), PQgetvalue(r, i, 7), PQgetvalue(r, i, 8),
				PQgetvalue(r, i, 9), PQgetvalue(r, i, 10), PQgetvalue(r, i, 11));
	}
	PQclear(r);
	return 0;
}
