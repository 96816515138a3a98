/*
 * audit.c - see audit.h.
 *
 * The stored records are the truth; progress, progress_day and the push
 * packets are derived from them inside the commit (store.c).  recompute
 * derives them again, independently, with plain aggregates over
 * training_record (sql/queries/audit_recompute.sql for progress,
 * audit_recompute_days.sql for the per-day counts), and compares.
 */
#include "hoursd.h"
#include "audit.h"
#include "queries.h"
#include "students.h"

#include <libpq-fe.h>

static PGresult *run(PGconn *db, const char *sql, int n, const char *const *values)
{
	PGresult *r = PQexecParams(db, sql, n, NULL, values, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "hoursctl: %s", PQerrorMessage(db));
		PQclear(r);
		return NULL;
	}
	return r;
}

int audit_explain(PGconn *db, const char *student_no, FILE *out)
{
	const char *v[1] = {student_no};
	PGresult *k = run(db, sql_audit_student_known, 1, v);
	if (k == NULL)
		return 1;
	bool known = PQgetvalue(k, 0, 0)[0] == 't';
	PQclear(k);
	if (!known) {
		fprintf(stderr,
			"hoursctl: explain: no student %s: no training record, progress, "
			"enrolment or licence held\n",
			student_no);
		return 1;
	}
	PGresult *p = run(db, sql_audit_progress, 1, v);
	PGresult *r = p ? run(db, sql_audit_rejected, 1, v) : NULL;
	PGresult *g = r ? run(db, sql_audit_student_rules, 1, v) : NULL;
	if (g == NULL) {
		PQclear(p);
		PQclear(r);
		return 1;
	}
	fprintf(out, "student %s\n\n%-4s %-5s %7s %9s %9s %6s %8s %7s %8s %-8s %s\n", student_no,
		"part", "class", "vehicle", "simulator", "classroom", "remote", "km", "records",
		"required", "push", "first - last minute (UTC+8)");
	for (int i = 0; i < PQntuples(p); i++)
		fprintf(out, "%-4s %-5s %7s %9s %9s %6s %8s %7s %8s %-8s %s - %s\n",
			PQgetvalue(p, i, 0), PQgetvalue(p, i, 1), PQgetvalue(p, i, 2),
			PQgetvalue(p, i, 3), PQgetvalue(p, i, 4), PQgetvalue(p, i, 5),
			PQgetvalue(p, i, 6), PQgetvalue(p, i, 7), PQgetvalue(p, i, 8),
			PQgetvalue(p, i, 9), PQgetvalue(p, i, 10), PQgetvalue(p, i, 11));
	if (PQntuples(p) == 0)
		fprintf(out, "(no counted minutes)\n");
	if (PQntuples(g) == 1) {
		const char *held = PQgetvalue(g, 0, 0), *lowered = PQgetvalue(g, 0, 2);
		if (held[0])
			fprintf(out, "\nlicence held: %s (noted %s): adding a class, %s\n", held,
				PQgetvalue(g, 0, 1),
				lowered[0] ? lowered : "no part of this class has reduced figures");
		else
			fprintf(out, "\nlicence held: none recorded (the full figures apply)\n");
		if (PQgetvalue(g, 0, 4)[0])
			fprintf(out,
				"mileage of the practice parts: %s km; part %s waits for %s km\n",
				PQgetvalue(g, 0, 3), PQgetvalue(g, 0, 5), PQgetvalue(g, 0, 4));
		else
			fprintf(out, "mileage of the practice parts: %s km\n", PQgetvalue(g, 0, 3));
	}
	if (students_explain_backfill(db, student_no, out) != 0) {
		PQclear(p);
		PQclear(r);
		PQclear(g);
		return 1;
	}
	fprintf(out, "\nminutes that did not count: %d (times UTC+8)\n", PQntuples(r));
	for (int i = 0; i < PQntuples(r); i++)
		fprintf(out, "  %s  %s  terminal %s  part %s  %s\n", PQgetvalue(r, i, 0),
			PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
			PQgetvalue(r, i, 4));
	PQclear(p);
	PQclear(r);
	PQclear(g);
	return 0;
}

int audit_recompute(PGconn *db, const char *student_no, FILE *out)
{
	const char *v[1] = {student_no};
	PGresult *p = run(db, sql_audit_recompute, 1, v);
	PGresult *d = p ? run(db, sql_audit_recompute_days, 1, v) : NULL;
	if (d == NULL) {
		PQclear(p);
		return 1;
	}
	for (int i = 0; i < PQntuples(p); i++)
		fprintf(out,
			"student %s part %s: from records vehicle/simulator/classroom/remote/"
			"mileage/records %s, stored %s\n",
			PQgetvalue(p, i, 0), PQgetvalue(p, i, 1), PQgetvalue(p, i, 2),
			PQgetvalue(p, i, 3));
	for (int i = 0; i < PQntuples(d); i++)
		fprintf(out, "student %s %s day %s: offered %s, stored %s, counted %s, cap %s\n",
			PQgetvalue(d, i, 0), PQgetvalue(d, i, 1), PQgetvalue(d, i, 2),
			PQgetvalue(d, i, 3), PQgetvalue(d, i, 4), PQgetvalue(d, i, 5),
			PQgetvalue(d, i, 6));
	int differences = PQntuples(p) + PQntuples(d);
	fprintf(out, "recompute: %d difference(s)%s\n", differences,
		differences ? "" : ": the stored progress is what the records say");
	PQclear(p);
	PQclear(d);
	return differences ? 1 : 0;
}
