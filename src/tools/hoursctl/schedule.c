/*
 * schedule.c - hoursctl schedule add, import and list: the slots in which
 * a student trains with a coach in a vehicle (docs/students.md); a
 * student login outside every slot is refused or flagged
 * (rules.schedule).
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

/* Seconds since the epoch of a time students_local_time() wrote (all UTC+8: differences hold). */
static long long local_seconds(const char *s)
{
	struct tm tm = {0};
	if (sscanf(s, "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
		   &tm.tm_min, &tm.tm_sec) != 6)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (long long)timegm(&tm);
}

static const char *slot_refusal(const char *student, const char *coach, const char *plate,
				const char *from, const char *to, char f[32], char t[32])
{
	if (!students_valid_no16(student))
		return "student number: 16 printable ASCII characters expected";
	if (!students_valid_token(coach, 32))
		return "coach number: 1-32 printable ASCII characters expected";
	if (!students_valid_text(plate, 16))
		return "vehicle plate: 1-16 printable characters expected";
	if (!students_local_time(from, f))
		return "start: YYYY-MM-DD HH:MM expected (China Standard Time)";
	if (!students_local_time(to, t))
		return "end: YYYY-MM-DD HH:MM expected (China Standard Time)";
	if (strcmp(t, f) <= 0)
		return "the end is not after the start";
	if (local_seconds(t) - local_seconds(f) > 24 * 3600)
		return "the slot is longer than 24 hours";
	return NULL;
}

/* One slot checked already: 'added', 'exists' or 'no_student'; NULL on a database error. */
static const char *slot_store(const char *student, const char *coach, const char *plate,
			      const char *f, const char *t, char id[24])
{
	static char out[32];
	const char *v[5] = {student, coach, plate, f, t};
	PGresult *r = pgq_query(sql_schedule_add, 5, v);
	if (r == NULL)
		return NULL;
	snprintf(out, sizeof(out), "%s", PQgetvalue(r, 0, SCHEDULE_ADD_OUTCOME));
	snprintf(id, 24, "%s", PQgetvalue(r, 0, SCHEDULE_ADD_ID));
	PQclear(r);
	return out;
}

/* Why the database refused a slot (slot_store's outcome), or NULL when it took it. */
static const char *store_refusal(const char *o, const char *student, const char *coach,
				 const char *plate, char *buf, size_t cap)
{
	if (strcmp(o, "no_student") == 0)
		snprintf(buf, cap, "no student %s enrolled (hoursctl student add)", student);
	else if (strcmp(o, "coach_retired") == 0)
		snprintf(buf, cap, "coach %s is retired (docs/registry.md)", coach);
	else if (strcmp(o, "coach_other_school") == 0)
		snprintf(buf, cap, "coach %s works for another school than student %s's", coach,
			 student);
	else if (strcmp(o, "vehicle_retired") == 0)
		snprintf(buf, cap, "vehicle %s is retired (docs/registry.md)", plate);
	else if (strcmp(o, "vehicle_other_school") == 0)
		snprintf(buf, cap, "vehicle %s is another school's than student %s's", plate,
			 student);
	else
		return NULL;
	return buf;
}

/* schedule add STUDENT --coach NO --vehicle PLATE --from TIME --to TIME */
int schedule_add(const struct args *a)
{
	const char *student_no = a->pos[0], *coach_no = a->opt[0], *plate = a->opt[1];
	const char *from = a->opt[2], *to = a->opt[3];
	char f[32], t[32], id[24];
	if (!coach_no || !plate || !from || !to) {
		fprintf(stderr, "hoursctl: schedule add: --coach, --vehicle, --from and --to are "
				"required\n");
		return 2;
	}
	const char *why = slot_refusal(student_no, coach_no, plate, from, to, f, t);
	if (why) {
		fprintf(stderr, "hoursctl: schedule add: %s\n", why);
		return 2;
	}
	const char *o = slot_store(student_no, coach_no, plate, f, t, id);
	if (o == NULL)
		return 1;
	char buf[256];
	if ((why = store_refusal(o, student_no, coach_no, plate, buf, sizeof(buf)))) {
		fprintf(stderr, "hoursctl: schedule add: %s\n", why);
		return 1;
	}
	if (strcmp(o, "added") == 0)
		printf("slot %s: student %s with coach %s in %s, %s - %s\n", id, student_no,
		       coach_no, plate, from, to);
	else
		printf("student %s was scheduled for %s - %s already\n", student_no, from, to);
	return 0;
}

/* One row of a slots' CSV: added, there already, or refused (said). */
static enum csv_verdict slot_row(const struct csv *c, void *arg)
{
	char f[32], t[32], id[24], buf[256];
	const char *st = csv_get(c, 0);
	const char *why =
		slot_refusal(st, csv_get(c, 1), csv_get(c, 2), csv_get(c, 3), csv_get(c, 4), f, t);
	const char *o = why ? NULL : slot_store(st, csv_get(c, 1), csv_get(c, 2), f, t, id);
	if (why == NULL && o == NULL)
		return CSV_ABORT;
	if (o && strcmp(o, "added") == 0)
		return CSV_ADDED;
	if (o && strcmp(o, "exists") == 0)
		return CSV_SAME;
	if (o)
		why = store_refusal(o, st, csv_get(c, 1), csv_get(c, 2), buf, sizeof(buf));
	csv_say(c, why ? why : o);
	return CSV_REFUSED;
}

/* schedule import FILE.csv: reported as student import is; again changes nothing. */
int schedule_import(const struct args *a)
{
	static const char *const need[] = {"student_no", "coach_no", "plate", "starts_at",
					   "ends_at"};
	const char *path = a->pos[0];
	struct csv c;
	struct csv_counts n = {0};
	if (!csv_open(&c, path, need, 5, NULL, 0))
		return 1;
	bool ok = csv_import(&c, slot_row, NULL, &n);
	csv_close(&c);
	if (!ok)
		return 1;
	if (n.read_error)
		fprintf(stderr, "hoursctl: %s: read error\n", path);
	printf("%s: %lu slots added, %lu there already (unchanged), %lu refused\n", path, n.added,
	       n.same, n.refused);
	return n.refused || n.read_error ? 1 : 0;
}

/* PGQ_RANGE reads the start and the column after it: the end. */
_Static_assert(SCHEDULE_LIST_ENDS_AT == SCHEDULE_LIST_STARTS_AT + 1,
	       "schedule_list: the end follows the start");

/* schedule list [--student S] [--day DATE] (DATE: YYYY-MM-DD, UTC+8) */
int schedule_list(const struct args *a)
{
	static const struct pgq_col cols[] = {
		{"slot", SCHEDULE_LIST_ID, 6, 0},
		{"student", SCHEDULE_LIST_STUDENT_NO, 16, 0},
		{"coach", SCHEDULE_LIST_COACH_NO, 16, 0},
		{"vehicle", SCHEDULE_LIST_PLATE, 10, 0},
		{"start - end (UTC+8)", SCHEDULE_LIST_STARTS_AT, 0, PGQ_RANGE},
	};
	const char *day = a->opt[1];
	if (day && !conf_valid_date(day)) {
		fprintf(stderr, "hoursctl: schedule list: --day: YYYY-MM-DD expected\n");
		return 2;
	}
	const char *v[2] = {a->opt[0], day};
	if (!check_known("schedule list", "student", a->opt[0]))
		return 1;
	PGresult *r = pgq_query(sql_schedule_list, 2, v);
	if (r == NULL)
		return 1;
	out_table(stdout, r, cols, ARRAY_SIZE(cols));
	PQclear(r);
	return 0;
}
