/*
 * audit.c - see audit.h.
 *
 * The stored records are the truth; progress, progress_day and the push
 * packets are derived from them inside the commit (store.c).  recompute
 * derives them again, independently, with plain aggregates over
 * training_record, and compares.
 */
#include "hoursd.h"
#include "audit.h"

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

static const char progress_sql[] =
	"SELECT p.part, p.vehicle_class, p.vehicle, p.simulator, p.classroom, p.remote,"
	" round(p.mileage_dkm / 10.0, 1), p.records, coalesce(sp.required_minutes::text, '?'),"
	" coalesce(pk.state, '-'), coalesce(to_char(p.first_minute AT TIME ZONE 'UTC'"
	"  + interval '8 hours', 'YYYY-MM-DD HH24:MI'), ''),"
	" coalesce(to_char(p.last_minute AT TIME ZONE 'UTC' + interval '8 hours',"
	"  'YYYY-MM-DD HH24:MI'), '')"
	" FROM progress p LEFT JOIN syllabus_part sp"
	"  ON sp.vehicle_class = p.vehicle_class AND sp.part = p.part"
	" LEFT JOIN push_packet pk ON pk.student_no = p.student_no AND pk.part = p.part"
	" WHERE p.student_no = $1 ORDER BY p.part";

static const char rejected_sql[] =
	"SELECT to_char(r.record_time AT TIME ZONE 'UTC' + interval '8 hours',"
	" 'YYYY-MM-DD HH24:MI:SS'), r.record_no, t.phone, r.part,"
	" r.reason FROM record_verdict r JOIN terminal t ON t.id = r.terminal_id"
	" WHERE r.student_no = $1 AND r.verdict = 'rejected' ORDER BY r.record_time, r.record_no";

int audit_explain(PGconn *db, const char *student_no, FILE *out)
{
	const char *v[1] = {student_no};
	PGresult *p = run(db, progress_sql, 1, v);
	PGresult *r = p ? run(db, rejected_sql, 1, v) : NULL;
	if (r == NULL) {
		PQclear(p);
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
	fprintf(out, "\nminutes that did not count: %d (times UTC+8)\n", PQntuples(r));
	for (int i = 0; i < PQntuples(r); i++)
		fprintf(out, "  %s  %s  terminal %s  part %s  %s\n", PQgetvalue(r, i, 0),
			PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
			PQgetvalue(r, i, 4));
	PQclear(p);
	PQclear(r);
	return 0;
}

/*
 * Progress derived from the accepted records next to the stored one; a
 * row per (student, part) where any figure differs.
 */
static const char recompute_sql[] =
	"WITH d AS (SELECT student_no, part, count(*) FILTER (WHERE mode = 1) AS vehicle,"
	"  count(*) FILTER (WHERE mode = 3) AS simulator,"
	"  count(*) FILTER (WHERE mode = 2) AS classroom,"
	"  count(*) FILTER (WHERE mode = 4) AS remote, sum(mileage_dkm) AS mileage_dkm,"
	"  count(*) AS records FROM record_verdict"
	"  WHERE verdict = 'accepted' AND ($1::text IS NULL OR student_no = $1)"
	"  GROUP BY student_no, part),"
	" p AS (SELECT * FROM progress WHERE $1::text IS NULL OR student_no = $1)"
	" SELECT coalesce(d.student_no, p.student_no), coalesce(d.part, p.part),"
	"  concat_ws('/', d.vehicle, d.simulator, d.classroom, d.remote, d.mileage_dkm, d.records),"
	"  concat_ws('/', p.vehicle, p.simulator, p.classroom, p.remote, p.mileage_dkm, p.records)"
	" FROM d FULL JOIN p ON p.student_no = d.student_no AND p.part = d.part"
	" WHERE (d.vehicle, d.simulator, d.classroom, d.remote, d.mileage_dkm, d.records)"
	"  IS DISTINCT FROM (p.vehicle, p.simulator, p.classroom, p.remote, p.mileage_dkm, p.records)"
	" ORDER BY 1, 2";

/*
 * Minutes offered per day (counted or over the cap) against progress_day,
 * and days whose counted minutes exceed the cap.
 */
static const char recompute_days_sql[] =
	"WITH r AS (SELECT *, cap_group(part) AS grp"
	"  FROM record_verdict WHERE (verdict = 'accepted' OR reason = 'daily_cap')"
	"  AND ($1::text IS NULL OR student_no = $1)),"
	" d AS (SELECT student_no, grp,"
	"  training_day(record_time) AS day,"
	"  count(*) AS offered, count(*) FILTER (WHERE verdict = 'accepted') AS counted,"
	"  (SELECT max(sp.daily_cap_minutes) FROM syllabus_part sp"
	"   WHERE sp.vehicle_class = min(r.vehicle_class) AND sp.part = ANY (array_agg(r.part)))"
	"  AS cap FROM r GROUP BY 1, 2, 3),"
	" p AS (SELECT * FROM progress_day WHERE $1::text IS NULL OR student_no = $1)"
	" SELECT coalesce(d.student_no, p.student_no), coalesce(d.grp, p.cap_group),"
	"  coalesce(d.day, p.day), d.offered, p.minutes, d.counted, d.cap"
	" FROM d FULL JOIN p ON p.student_no = d.student_no AND p.cap_group = d.grp"
	"  AND p.day = d.day"
	" WHERE d.offered IS DISTINCT FROM p.minutes OR d.counted > d.cap"
	" ORDER BY 1, 2, 3";

int audit_recompute(PGconn *db, const char *student_no, FILE *out)
{
	const char *v[1] = {student_no};
	PGresult *p = run(db, recompute_sql, 1, v);
	PGresult *d = p ? run(db, recompute_days_sql, 1, v) : NULL;
	if (d == NULL) {
		PQclear(p);
		return 2;
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
