/*
 * students.c - hoursctl student add, import, list, show and held: the
 * enrolment of students (docs/students.md), and the checks of the fields
 * the students' files share (students.h).
 */
#include "hoursd.h"
#include "hoursctl.h"
#include "students.h"
#include "common/csv.h"
#include "common/out.h"
#include "common/pgq.h"
#include "conf.h"
#include "queries.h"

#include <time.h>

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

bool students_valid_no16(const char *s)
{
	if (s == NULL || strlen(s) != 16)
		return false;
	for (const char *p = s; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			return false;
	return true;
}

/* A licence class: a letter and an optional digit (C1, B2, D). */
bool students_valid_class(const char *s)
{
	return s && s[0] >= 'A' && s[0] <= 'Z' &&
	       (s[1] == '\0' || (s[1] >= '0' && s[1] <= '9' && s[2] == '\0'));
}

bool students_valid_text(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

bool students_valid_token(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return false;
	return true;
}

bool students_local_time(const char *in, char out[32])
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

/* ---- students ---- */

struct student_fields {
	const char *student_no, *school, *vehicle_class, *enrolled_on, *id_card;
	const char *pre_entered_on; /* NULL: none */
	bool legacy;
};

/* Today in China (UTC+8), YYYY-MM-DD: no enrolment or pre-entry is later. */
static const char *today_cst(void)
{
	static char day[16];
	time_t t = time(NULL) + 8 * 3600;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	return day;
}

/* Why a student's facts are refused, or NULL. */
static const char *student_refusal(const struct student_fields *f, char *buf, size_t cap)
{
	if (!students_valid_no16(f->student_no))
		return "student number: 16 printable ASCII characters expected";
	if (!students_valid_text(f->school, 64))
		return "school code: 1-64 printable characters expected";
	if (!students_valid_class(f->vehicle_class))
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
	if (strcmp(f->enrolled_on, today_cst()) > 0) {
		snprintf(buf, cap, "enrolment date %s is after today (%s, China time)",
			 f->enrolled_on, today_cst());
		return buf;
	}
	if (f->pre_entered_on && strcmp(f->pre_entered_on, today_cst()) > 0) {
		snprintf(buf, cap, "pre-entry date %s is after today (%s, China time)",
			 f->pre_entered_on, today_cst());
		return buf;
	}
	if (f->pre_entered_on && strcmp(f->pre_entered_on, f->enrolled_on) < 0) {
		snprintf(buf, cap, "pre-entry date %s is before the enrolment date %s",
			 f->pre_entered_on, f->enrolled_on);
		return buf;
	}
	return NULL;
}

/* Store one student checked already: the statement's outcome, NULL on a database error. */
static const char *enrol(const struct student_fields *f)
{
	static char out[16];
	const char *v[7] = {f->student_no,    f->school,  f->vehicle_class,
			    f->enrolled_on,   f->id_card, f->legacy ? "t" : "f",
			    f->pre_entered_on};
	PGresult *r = pgq_query(sql_student_enrol, 7, v);
	if (r == NULL)
		return NULL;
	snprintf(out, sizeof(out), "%s", PQgetvalue(r, 0, STUDENT_ENROL_OUTCOME));
	PQclear(r);
	return out;
}

static const char *enrol_reason(const char *outcome, const struct student_fields *f, char *buf,
				size_t cap)
{
	if (strcmp(outcome, "no_school") == 0)
		snprintf(buf, cap, "no school %s (hoursctl school add)", f->school);
	else if (strcmp(outcome, "no_class") == 0)
		snprintf(buf, cap,
			 "vehicle class %s is not in the syllabus (rules.syllabus, as hoursd "
			 "published it: docs/syllabus.md)",
			 f->vehicle_class);
	else
		snprintf(buf, cap,
			 "student %s is enrolled already with other facts (school, class, dates, "
			 "legacy or identity card): nothing changed",
			 f->student_no);
	return buf;
}

/* student add STUDENT --school CODE --class C1 --enrolled DATE [...] */
int students_add(const struct args *a)
{
	char buf[256];
	const struct student_fields f = {.student_no = a->pos[0],
					 .school = a->opt[0],
					 .vehicle_class = a->opt[1],
					 .enrolled_on = a->opt[2],
					 .id_card = a->opt[3],
					 .pre_entered_on = a->opt[5] ? a->opt[5] : a->opt[4],
					 .legacy = a->opt[4] != NULL};
	if (f.school == NULL || f.vehicle_class == NULL || f.enrolled_on == NULL) {
		fprintf(stderr, "hoursctl: student add: --school, --class and --enrolled are "
				"required\n");
		return 2;
	}
	if (a->opt[4] && a->opt[5]) {
		fprintf(stderr, "hoursctl: student add: --legacy DATE is the pre-entry date; "
				"--pre-entered is for a student who is not legacy\n");
		return 2;
	}
	const char *why = student_refusal(&f, buf, sizeof(buf));
	if (why) {
		fprintf(stderr, "hoursctl: student add: %s\n", why);
		return 2;
	}
	const char *o = enrol(&f);
	if (o == NULL)
		return 1;
	if (strcmp(o, "added") != 0 && strcmp(o, "same") != 0) {
		fprintf(stderr, "hoursctl: student add: %s\n",
			enrol_reason(o, &f, buf, sizeof(buf)));
		return 1;
	}
	printf("student %s %s (school %s, class %s, enrolled %s%s%s)\n", f.student_no,
	       strcmp(o, "added") == 0 ? "enrolled" : "was enrolled already", f.school,
	       f.vehicle_class, f.enrolled_on, f.legacy ? ", legacy, pre-entered " : "",
	       f.legacy ? f.pre_entered_on : "");
	return 0;
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

/* One row of a students' CSV: enrolled, enrolled already, or refused (said). */
static enum csv_verdict student_row(const struct csv *c, void *arg)
{
	char buf[256];
	struct student_fields f = {
		.student_no = csv_get(c, S_NO),
		.school = csv_get(c, S_SCHOOL),
		.vehicle_class = csv_get(c, S_CLASS),
		.enrolled_on = csv_get(c, S_ENROLLED),
		.id_card = csv_get(c, S_ID)[0] ? csv_get(c, S_ID) : NULL,
		.pre_entered_on = csv_get(c, S_PRE)[0] ? csv_get(c, S_PRE) : NULL,
	};
	const char *why = yes_no(csv_get(c, S_LEGACY), &f.legacy)
				  ? student_refusal(&f, buf, sizeof(buf))
				  : "legacy: yes or no expected (empty: no)";
	const char *o = why ? NULL : enrol(&f);
	if (why == NULL && o == NULL)
		return CSV_ABORT;
	if (o && strcmp(o, "added") == 0)
		return CSV_ADDED;
	if (o && strcmp(o, "same") == 0)
		return CSV_SAME;
	csv_say(c, why ? why : enrol_reason(o, &f, buf, sizeof(buf)));
	return CSV_REFUSED;
}

/* student import FILE.csv: every good row stored, each bad one said (exit 1). */
int students_import(const struct args *a)
{
	static const char *const need[] = {"student_no", "school", "class", "enrolled_on"};
	static const char *const opt[] = {"id_card", "legacy", "pre_entered_on"};
	const char *path = a->pos[0];
	struct csv c;
	struct csv_counts n = {0};
	if (!csv_open(&c, path, need, 4, opt, 3))
		return 1;
	bool ok = csv_import(&c, student_row, NULL, &n);
	csv_close(&c);
	if (!ok)
		return 1;
	if (n.read_error)
		fprintf(stderr, "hoursctl: %s: read error\n", path);
	printf("%s: %lu enrolled, %lu enrolled already (unchanged), %lu refused\n", path, n.added,
	       n.same, n.refused);
	return n.refused || n.read_error ? 1 : 0;
}

/* student list [--school CODE]: with today's slots and their back-fill forms. */
int students_list(const struct args *a)
{
	static const struct pgq_col cols[] = {
		{"student", STUDENT_LIST_STUDENT_NO, 16, 0},
		{"school", STUDENT_LIST_CODE, 12, 0},
		{"class", STUDENT_LIST_VEHICLE_CLASS, 5, 0},
		{"enrolled", STUDENT_LIST_ENROLLED_ON, 10, 0},
		{"legacy", STUDENT_LIST_LEGACY, 6, 0},
		{"pre-entered", STUDENT_LIST_PRE_ENTERED_ON, 11, 0},
		{"slots today", STUDENT_LIST_SLOTS_TODAY, 11, 0},
		{"forms", STUDENT_LIST_FORMS, 0, 0},
	};
	const char *v[1] = {a->opt[0]};
	if (!check_known("student list", "school", a->opt[0]))
		return 1;
	PGresult *r = pgq_query(sql_student_list, 1, v);
	if (r == NULL)
		return 1;
	out_table(stdout, r, cols, ARRAY_SIZE(cols));
	PQclear(r);
	return 0;
}

/* One student's enrolment (student_show.sql); false when there is none. */
static bool show_student(const PGresult *r)
{
	if (PQntuples(r) == 0)
		return false;
	bool legacy = PQgetvalue(r, 0, STUDENT_SHOW_LEGACY)[0] == 't';
	printf("student        %s\nschool         %s (%s)\nclass          %s\nenrolled       %s "
	       "(by %s, entered %s)\n",
	       PQgetvalue(r, 0, STUDENT_SHOW_STUDENT_NO), PQgetvalue(r, 0, STUDENT_SHOW_CODE),
	       PQgetvalue(r, 0, STUDENT_SHOW_NAME), PQgetvalue(r, 0, STUDENT_SHOW_VEHICLE_CLASS),
	       PQgetvalue(r, 0, STUDENT_SHOW_ENROLLED_ON),
	       PQgetvalue(r, 0, STUDENT_SHOW_ENROLLED_BY), PQgetvalue(r, 0, STUDENT_SHOW_CREATED));
	printf("legacy         %s\npre-entered    %s\nidentity card  %s%s\n", legacy ? "yes" : "no",
	       PQgetvalue(r, 0, STUDENT_SHOW_PRE_ENTERED_ON),
	       PQgetvalue(r, 0, STUDENT_SHOW_ID_CARD_SHA256)[0] ? "SHA-256 " : "none recorded",
	       PQgetvalue(r, 0, STUDENT_SHOW_ID_CARD_SHA256));
	if (PQgetvalue(r, 0, STUDENT_SHOW_HELD_CLASS)[0])
		printf("licence held   %s\n", PQgetvalue(r, 0, STUDENT_SHOW_HELD_CLASS));
	return true;
}

/* student show STUDENT: one student's enrolment and schedule. */
int students_show(const struct args *a)
{
	const char *student_no = a->pos[0];
	const char *v[2] = {student_no, NULL};
	PGresult *r = pgq_query(sql_student_show, 1, v);
	if (r == NULL)
		return 1;
	bool found = PQntuples(r) > 0 && (out_show("student", r, true) || show_student(r));
	PQclear(r);
	if (!found) {
		fprintf(stderr, "hoursctl: student show: no student %s enrolled\n", student_no);
		return 1;
	}
	PGresult *s = pgq_query(sql_schedule_list, 2, v);
	if (s == NULL)
		return 1;
	if (!out_show("slots", s, false)) {
		printf("slots          %d\n", PQntuples(s));
		for (int i = 0; i < PQntuples(s); i++)
			printf("  %s - %s  coach %s  vehicle %s\n",
			       PQgetvalue(s, i, SCHEDULE_LIST_STARTS_AT),
			       PQgetvalue(s, i, SCHEDULE_LIST_ENDS_AT),
			       PQgetvalue(s, i, SCHEDULE_LIST_COACH_NO),
			       PQgetvalue(s, i, SCHEDULE_LIST_PLATE));
	}
	PQclear(s);
	out_end(stdout);
	return 0;
}

/*
 * student held STUDENT CLASS|none: the licence a student already holds
 * (adding a class: the syllabus's reduced figures apply), until
 * enrolment records it; "none" removes it.
 */
int students_held(const struct args *a)
{
	const char *student_no = a->pos[0], *cls = a->pos[1];
	if (!check_label("student number", student_no, 32))
		return 2;
	bool none = strcmp(cls, "none") == 0;
	if (!none && !(strlen(cls) <= 2 && cls[0] >= 'A' && cls[0] <= 'Z' &&
		       (cls[1] == '\0' || (cls[1] >= '0' && cls[1] <= '9')))) {
		fprintf(stderr,
			"hoursctl: licence class \"%s\": a letter and an optional digit "
			"(C1, B2, D), or none\n",
			cls);
		return 2;
	}
	const char *v[2] = {student_no, cls};
	PGresult *r =
		pgq_query(none ? sql_student_held_clear : sql_student_held_set, none ? 1 : 2, v);
	if (r == NULL)
		return 1;
	if (none)
		printf("student %s: %s\n", student_no,
		       PQntuples(r) ? "no licence held any more" : "no licence was recorded");
	else
		printf("student %s holds %s: the adding-class figures apply from the judge's next "
		       "batch\n",
		       student_no, PQgetvalue(r, 0, STUDENT_HELD_SET_HELD_CLASS));
	PQclear(r);
	return 0;
}
