/*
 * audit.c - hoursctl explain and recompute: what operators and auditors
 * are told about a student's hours.
 *
 * The stored records are the truth; progress, progress_day and the push
 * packets are derived from them inside the commit (store.c).  recompute
 * derives them again, independently, with plain aggregates over
 * training_record (sql/queries/hoursctl/audit_recompute.sql for progress,
 * audit_recompute_days.sql for the per-day counts), and compares.
 */
#include "hoursd.h"
#include "hoursctl.h"
#include "common/pgq.h"
#include "queries.h"
#include "teachlog.h"

#include <jansson.h>

#include <errno.h>

/* PGQ_RANGE reads the first minute and the column after it: the last. */
_Static_assert(AUDIT_PROGRESS_LAST_MINUTE == AUDIT_PROGRESS_FIRST_MINUTE + 1,
	       "audit_progress: the last minute follows the first");

/* Progress per part (audit_progress.sql), a line each. */
static void print_progress(const PGresult *p, FILE *out)
{
	static const struct pgq_col cols[] = {
		{"part", AUDIT_PROGRESS_PART, 4, 0},
		{"class", AUDIT_PROGRESS_VEHICLE_CLASS, 5, 0},
		{"vehicle", AUDIT_PROGRESS_VEHICLE, -7, 0},
		{"simulator", AUDIT_PROGRESS_SIMULATOR, -9, 0},
		{"classroom", AUDIT_PROGRESS_CLASSROOM, -9, 0},
		{"remote", AUDIT_PROGRESS_REMOTE, -6, 0},
		{"km", AUDIT_PROGRESS_KM, -8, 0},
		{"records", AUDIT_PROGRESS_RECORDS, -7, 0},
		{"required", AUDIT_PROGRESS_REQUIRED, -8, 0},
		{"push", AUDIT_PROGRESS_PUSH_STATE, 8, 0},
		{"first - last minute (UTC+8)", AUDIT_PROGRESS_FIRST_MINUTE, 0, PGQ_RANGE},
	};
	pgq_table(out, p, cols, ARRAY_SIZE(cols));
	if (PQntuples(p) == 0)
		fprintf(out, "(no counted minutes)\n");
}

/* The licence held and the mileage of the practice parts (audit_student_rules.sql). */
static void print_rules(const PGresult *g, FILE *out)
{
	if (PQntuples(g) != 1)
		return;
	const char *held = PQgetvalue(g, 0, AUDIT_STUDENT_RULES_HELD_CLASS);
	const char *lowered = PQgetvalue(g, 0, AUDIT_STUDENT_RULES_LOWERED);
	if (held[0])
		fprintf(out, "\nlicence held: %s (noted %s): adding a class, %s\n", held,
			PQgetvalue(g, 0, AUDIT_STUDENT_RULES_NOTED_AT),
			lowered[0] ? lowered : "no part of this class has reduced figures");
	else
		fprintf(out, "\nlicence held: none recorded (the full figures apply)\n");
	const char *km = PQgetvalue(g, 0, AUDIT_STUDENT_RULES_PRACTICE_KM);
	const char *gate = PQgetvalue(g, 0, AUDIT_STUDENT_RULES_GATE_KM);
	if (gate[0])
		fprintf(out, "mileage of the practice parts: %s km; part %s waits for %s km\n", km,
			PQgetvalue(g, 0, AUDIT_STUDENT_RULES_GATED_PART), gate);
	else
		fprintf(out, "mileage of the practice parts: %s km\n", km);
}

/* Every minute that did not count, with its reason (audit_rejected.sql). */
static void print_rejected(const PGresult *r, FILE *out)
{
	fprintf(out, "\nminutes that did not count: %d (times UTC+8)\n", PQntuples(r));
	for (int i = 0; i < PQntuples(r); i++)
		fprintf(out, "  %s  %s  terminal %s  part %s  %s\n",
			PQgetvalue(r, i, AUDIT_REJECTED_RECORD_TIME),
			PQgetvalue(r, i, AUDIT_REJECTED_RECORD_NO),
			PQgetvalue(r, i, AUDIT_REJECTED_PHONE),
			PQgetvalue(r, i, AUDIT_REJECTED_PART),
			PQgetvalue(r, i, AUDIT_REJECTED_REASON));
}

/* The national platform's stage reviews (audit_reviews.sql), each refused record with its reason.
 */
static void print_reviews(const PGresult *w, FILE *out)
{
	const char *part = NULL;
	for (int i = 0; i < PQntuples(w); i++) {
		const char *pt = PQgetvalue(w, i, AUDIT_REVIEWS_PART);
		if (part == NULL)
			fprintf(out, "\nthe platform's stage reviews (push.profile national):\n");
		if (part == NULL || strcmp(part, pt) != 0)
			fprintf(out, "  part %s: %s, errorcode %s, valid %s, validtime %s of %s\n",
				pt, PQgetvalue(w, i, AUDIT_REVIEWS_STATUS),
				PQgetvalue(w, i, AUDIT_REVIEWS_ERRORCODE),
				PQgetvalue(w, i, AUDIT_REVIEWS_VALID),
				PQgetvalue(w, i, AUDIT_REVIEWS_VALIDTIME),
				PQgetvalue(w, i, AUDIT_REVIEWS_NEEDFULTIME));
		part = pt;
		if (!PQgetisnull(w, i, AUDIT_REVIEWS_RNUM))
			fprintf(out, "    refused rnum %s: %s\n",
				PQgetvalue(w, i, AUDIT_REVIEWS_RNUM),
				PQgetisnull(w, i, AUDIT_REVIEWS_REASON)
					? "(no reason given)"
					: PQgetvalue(w, i, AUDIT_REVIEWS_REASON));
	}
}

/* Whether anything at all is known of the student; false (said) when not, or on error. */
static bool student_known(const char *cmd, const char *const v[1])
{
	PGresult *k = pgq_query(sql_audit_student_known, 1, v);
	if (k == NULL)
		return false;
	bool known = PQgetvalue(k, 0, AUDIT_STUDENT_KNOWN_KNOWN)[0] == 't';
	PQclear(k);
	if (!known)
		fprintf(stderr,
			"hoursctl: %s: no student %s: no training record, progress, "
			"enrolment or licence held\n",
			cmd, v[0]);
	return known;
}

/*
 * Progress per part and every minute that did not count, with its
 * reason.  0; 1 on error, or when nothing at all is known of the student
 * (no record, progress, enrolment or licence held: a mistyped number).
 */
static int explain(const char *student_no, FILE *out)
{
	const char *v[1] = {student_no};
	if (!student_known("explain", v))
		return 1;
	PGresult *p = pgq_query(sql_audit_progress, 1, v);
	PGresult *r = p ? pgq_query(sql_audit_rejected, 1, v) : NULL;
	PGresult *g = r ? pgq_query(sql_audit_student_rules, 1, v) : NULL;
	PGresult *w = g ? pgq_query(sql_audit_reviews, 1, v) : NULL;
	int rc = 1;
	if (w) {
		fprintf(out, "student %s\n\n", student_no);
		print_progress(p, out);
		print_reviews(w, out);
		print_rules(g, out);
		rc = backfill_explain(student_no, out);
	}
	if (rc == 0)
		print_rejected(r, out);
	PQclear(p);
	PQclear(r);
	PQclear(g);
	PQclear(w);
	return rc;
}

/*
 * The photos the teaching log names ("photos" of each lesson), their
 * bytes unescaped into ph[] (at most max); the count, -1 on an error (said).
 */
static int load_photos(const char *student, const char *doc, struct teachlog_photo *ph, size_t max,
		       PGresult **keep)
{
	json_t *d = json_loads(doc, 0, NULL), *l, *sha;
	size_t i, k;
	char *arr = NULL;
	size_t cap = 0;
	FILE *f = open_memstream(&arr, &cap);
	if (f == NULL) {
		json_decref(d);
		return -1;
	}
	bool first = true;
	fputc('{', f);
	json_array_foreach(json_object_get(d, "lessons"), i, l)
	{
		json_array_foreach(json_object_get(l, "photos"), k, sha)
		{
			const char *h = json_string_value(sha);
			if (h == NULL || strlen(h) != 64 || strspn(h, "0123456789abcdef") != 64)
				continue;
			fprintf(f, "%s%s", first ? "" : ",", h);
			first = false;
		}
	}
	fputc('}', f);
	fclose(f);
	json_decref(d);
	const char *v[2] = {student, arr};
	PGresult *r = pgq_query(sql_teaching_log_photos, 2, v);
	free(arr);
	if (r == NULL)
		return -1;
	int n = 0;
	for (int row = 0; row < PQntuples(r) && (size_t)n < max; row++) {
		size_t len = 0;
		unsigned char *bytes = PQunescapeBytea(
			(const unsigned char *)PQgetvalue(r, row, TEACHING_LOG_PHOTOS_DATA), &len);
		if (bytes == NULL)
			continue;
		snprintf(ph[n].sha256_hex, sizeof(ph[n].sha256_hex), "%s",
			 PQgetvalue(r, row, TEACHING_LOG_PHOTOS_SHA256_HEX));
		ph[n].data = bytes;
		ph[n].len = len;
		n++;
	}
	*keep = r;
	return n;
}

/* The printed PDF into file (out of memory, or not written: said). */
static int write_pdf(const char *student, const PGresult *d, const PGresult *f, const char *file)
{
	char err[256];
	size_t n = 0;
	struct teachlog_photo ph[256];
	PGresult *keep = NULL;
	const char *doc = PQgetvalue(d, 0, TEACHING_LOG_DOC);
	int nph = load_photos(student, doc, ph, ARRAY_SIZE(ph), &keep);
	unsigned char *pdf =
		nph < 0 ? NULL : teachlog_pdf_print(doc, f, ph, (size_t)nph, &n, err, sizeof(err));
	for (int i = 0; i < nph; i++)
		PQfreemem((void *)ph[i].data);
	PQclear(keep);
	if (nph < 0)
		return 1;
	FILE *out = pdf ? fopen(file, "wb") : NULL;
	bool written = out && fwrite(pdf, 1, n, out) == n;
	if (out && fclose(out) != 0)
		written = false;
	if (pdf == NULL)
		fprintf(stderr, "hoursctl: %s\n", err);
	else if (!written)
		fprintf(stderr, "hoursctl: explain --pdf %s: %s\n", file, strerror(errno));
	free(pdf);
	return pdf && written ? 0 : 1;
}

/*
 * The teaching log of the student's part as a PDF in file: the document
 * the pusher's national profile uploads (sql/queries/daemon/teaching_log.sql,
 * teaching_log_backfill.sql, src/pdf/teachlog.c).
 */
static int explain_pdf(const char *student, const char *part, const char *file)
{
	const char *v[2] = {student, part};
	PGresult *d = pgq_query(sql_teaching_log, 2, v);
	PGresult *f = d ? pgq_query(sql_teaching_log_backfill, 2, v) : NULL;
	int rc = 1;
	if (f && (PQntuples(d) != 1 || PQgetisnull(d, 0, TEACHING_LOG_DOC)))
		fprintf(stderr, "hoursctl: explain --pdf: student %s has no counted minutes%s%s\n",
			student, part ? " in part " : "", part ? part : "");
	else if (f)
		rc = write_pdf(student, d, f, file);
	PQclear(d);
	PQclear(f);
	teachlog_shutdown();
	return rc;
}

/* explain STUDENT [--pdf FILE [--part N]] */
int audit_explain(const struct args *a)
{
	const char *part = a->opt[1];
	if (part && !(part[0] >= '1' && part[0] <= '4' && part[1] == '\0')) {
		fprintf(stderr, "hoursctl: explain: --part %s: 1 to 4 expected\n", part);
		return 2;
	}
	if (part && !a->opt[0]) {
		fprintf(stderr, "hoursctl: explain: --part goes with --pdf\n");
		return 2;
	}
	if (pgq_conn() == NULL)
		return 1;
	if (a->opt[0])
		return explain_pdf(a->pos[0], part, a->opt[0]);
	return explain(a->pos[0], stdout);
}

int audit_differences(const char *student_no, FILE *out)
{
	const char *v[1] = {student_no};
	PGresult *p = pgq_query(sql_audit_recompute, 1, v);
	PGresult *d = p ? pgq_query(sql_audit_recompute_days, 1, v) : NULL;
	if (d == NULL) {
		PQclear(p);
		return -1;
	}
	for (int i = 0; i < PQntuples(p); i++)
		fprintf(out,
			"student %s part %s: from records vehicle/simulator/classroom/remote/"
			"mileage/records %s, stored %s\n",
			PQgetvalue(p, i, AUDIT_RECOMPUTE_STUDENT_NO),
			PQgetvalue(p, i, AUDIT_RECOMPUTE_PART),
			PQgetvalue(p, i, AUDIT_RECOMPUTE_DERIVED),
			PQgetvalue(p, i, AUDIT_RECOMPUTE_STORED));
	for (int i = 0; i < PQntuples(d); i++)
		fprintf(out, "student %s %s day %s: offered %s, stored %s, counted %s, cap %s\n",
			PQgetvalue(d, i, AUDIT_RECOMPUTE_DAYS_STUDENT_NO),
			PQgetvalue(d, i, AUDIT_RECOMPUTE_DAYS_CAP_GROUP),
			PQgetvalue(d, i, AUDIT_RECOMPUTE_DAYS_DAY),
			PQgetvalue(d, i, AUDIT_RECOMPUTE_DAYS_OFFERED),
			PQgetvalue(d, i, AUDIT_RECOMPUTE_DAYS_MINUTES),
			PQgetvalue(d, i, AUDIT_RECOMPUTE_DAYS_COUNTED),
			PQgetvalue(d, i, AUDIT_RECOMPUTE_DAYS_CAP));
	int differences = PQntuples(p) + PQntuples(d);
	fprintf(out, "recompute: %d difference(s)%s\n", differences,
		differences ? "" : ": the stored progress is what the records say");
	PQclear(p);
	PQclear(d);
	return differences;
}

/* recompute [STUDENT]: exit 1 when some differ, or on error. */
int audit_recompute(const struct args *a)
{
	if (pgq_conn() == NULL)
		return 1;
	const char *v[1] = {a->pos[0]};
	if (v[0] && !student_known("recompute", v))
		return 1;
	return audit_differences(a->pos[0], stdout) == 0 ? 0 : 1;
}
