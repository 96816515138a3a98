/*
 * backfill.c - hoursctl backfill import, approve|reject, list and show: a
 * legacy student's three-party forms with their scans (docs/students.md,
 * "Back-filled hours"), checked against the database's facts
 * (backfill_facts.sql: legacy, cut-off, syllabus, once), stored with
 * their first step, decided once by a supervisor; and explain's
 * back-filled part.
 */
#include "hoursd.h"
#include "hoursctl.h"
#include "students.h"
#include "common/cfg.h"
#include "common/csv.h"
#include "common/out.h"
#include "common/pgq.h"
#include "conf.h"
#include "log.h"
#include "queries.h"

#include <errno.h>
#include <jansson.h>

/* A kind's minutes against the syllabus's most for it (col: a BACKFILL_FACTS_MAX_ of facts). */
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

/* What the student's facts refuse (backfill_facts.sql: once, enrolled, legacy, cut-off), or NULL.
 */
static const char *student_facts_refusal(const PGresult *r, const struct form *f, const char *sha,
					 const char *cutoff, char *buf, size_t cap)
{
	if (!PQgetisnull(r, 0, BACKFILL_FACTS_FORM_ENTERED))
		snprintf(buf, cap, "form %s was imported already (%s): a form is taken once",
			 f->form_no, PQgetvalue(r, 0, BACKFILL_FACTS_FORM_ENTERED));
	else if (!PQgetisnull(r, 0, BACKFILL_FACTS_FORM_NO))
		snprintf(buf, cap, "this scan (SHA-256 %.16s...) was imported already with form %s",
			 sha, PQgetvalue(r, 0, BACKFILL_FACTS_FORM_NO));
	else if (PQgetvalue(r, 0, BACKFILL_FACTS_ENROLLED)[0] != 't')
		snprintf(buf, cap, "student %s is not enrolled (hoursctl student add|import)",
			 f->student_no);
	else if (strcmp(PQgetvalue(r, 0, BACKFILL_FACTS_CODE), f->school) != 0)
		snprintf(buf, cap, "the form's school %s is not the student's (%s)", f->school,
			 PQgetvalue(r, 0, BACKFILL_FACTS_CODE));
	else if (PQgetvalue(r, 0, BACKFILL_FACTS_LEGACY)[0] != 't')
		snprintf(buf, cap,
			 "student %s is not a legacy student: only legacy students' hours are "
			 "back-filled (the terminals record everyone else's)",
			 f->student_no);
	else if (strcmp(PQgetvalue(r, 0, BACKFILL_FACTS_PRE_ENTERED_ON), cutoff) >= 0)
		snprintf(buf, cap,
			 "student %s was pre-entered on %s, not before the cut-off %s "
			 "(rules.legacy_cutoff)",
			 f->student_no, PQgetvalue(r, 0, BACKFILL_FACTS_PRE_ENTERED_ON), cutoff);
	else
		return NULL;
	return buf;
}

/* What the syllabus's figures for the part refuse (backfill_facts.sql), or NULL. */
static const char *syllabus_refusal(const PGresult *r, const struct form *f, const char *cls,
				    char *buf, size_t cap)
{
	long total = f->vehicle + f->classroom + f->simulator + f->remote;
	const char *why;
	if (PQgetisnull(r, 0, BACKFILL_FACTS_REQUIRED_MINUTES)) {
		snprintf(buf, cap,
			 "the syllabus has no part %ld for class %s (hoursd publishes it at "
			 "start)",
			 f->part, cls);
		return buf;
	}
	if ((why = kind_refusal(r, BACKFILL_FACTS_MAX_VEHICLE, "vehicle", f->vehicle, f->part, buf,
				cap)) ||
	    (why = kind_refusal(r, BACKFILL_FACTS_MAX_SIMULATOR, "simulator", f->simulator, f->part,
				buf, cap)) ||
	    (why = kind_refusal(r, BACKFILL_FACTS_MAX_CLASSROOM, "classroom", f->classroom, f->part,
				buf, cap)) ||
	    (why = kind_refusal(r, BACKFILL_FACTS_MAX_REMOTE, "remote", f->remote, f->part, buf,
				cap)))
		return why;
	long required = strtol(PQgetvalue(r, 0, BACKFILL_FACTS_REQUIRED_MINUTES), NULL, 10);
	long others = strtol(PQgetvalue(r, 0, BACKFILL_FACTS_OTHER_MINUTES), NULL, 10);
	if (total + others > required)
		snprintf(buf, cap,
			 "%ld minutes%s%ld on the student's other forms of part %ld) are more than "
			 "the %ld the syllabus requires for the part",
			 total, others ? " (with " : " (", others, f->part, required);
	else if (!PQgetisnull(r, 0, BACKFILL_FACTS_PACKET))
		snprintf(buf, cap,
			 "part %ld of student %s is met and has its packet already (%s): nothing "
			 "to back-fill",
			 f->part, f->student_no, PQgetvalue(r, 0, BACKFILL_FACTS_PACKET));
	else
		return NULL;
	return buf;
}

/*
 * What the database's facts refuse (backfill_facts.sql), or NULL (said
 * on a database error: *failed); cls gets the student's vehicle class.
 */
static const char *facts_refusal(const struct form *f, const char *sha, const char *cutoff,
				 char cls[8], char *buf, size_t cap, bool *failed)
{
	char part[8];
	snprintf(part, sizeof(part), "%ld", f->part);
	const char *v[4] = {f->student_no, part, f->form_no, sha};
	PGresult *r = pgq_query(sql_backfill_facts, 4, v);
	*failed = r == NULL;
	if (r == NULL)
		return NULL;
	const char *why = student_facts_refusal(r, f, sha, cutoff, buf, cap);
	if (why == NULL) {
		snprintf(cls, 8, "%s", PQgetvalue(r, 0, BACKFILL_FACTS_VEHICLE_CLASS));
		why = syllabus_refusal(r, f, cls, buf, cap);
	}
	PQclear(r);
	return why;
}

/* The form and its scan stored with its first step; 0, or 1 (said as where: why). */
static int form_store(const char *where, const struct form *f, char t[6][32], long long dkm,
		      const char *cls, const char *cutoff, const char *scan_path,
		      const struct scan *s)
{
	char *scanhex = malloc(2 * s->len + 1);
	if (scanhex == NULL) {
		fprintf(stderr, "%s: out of memory\n", where);
		return 1;
	}
	hex_encode(scanhex, s->data, s->len);
	char part[8], n[4][16], km[24];
	snprintf(part, sizeof(part), "%ld", f->part);
	snprintf(n[0], 16, "%ld", f->vehicle);
	snprintf(n[1], 16, "%ld", f->classroom);
	snprintf(n[2], 16, "%ld", f->simulator);
	snprintf(n[3], 16, "%ld", f->remote);
	snprintf(km, sizeof(km), "%lld", dkm);
	const char *base = strrchr(scan_path, '/') ? strrchr(scan_path, '/') + 1 : scan_path;
	const char *v[25] = {f->form_no,  f->student_no, f->school,  part,	    cls,
			     n[0],	  n[1],		 n[2],	     n[3],	    km,
			     f->coach_no, f->from,	 f->to,	     f->student_by, t[0],
			     f->coach_by, t[1],		 f->seal_by, t[2],	    f->entered_by,
			     cutoff,	  base,		 s->type,    scanhex,	    s->sha};
	PGresult *r = pgq_exec(sql_backfill_insert, 25, v);
	free(scanhex);
	if (r == NULL)
		return 1;
	ExecStatusType st = PQresultStatus(r);
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	if (st != PGRES_TUPLES_OK && state && strcmp(state, "23505") == 0) /* imported meanwhile */
		fprintf(stderr, "%s: form %s or its scan was imported already\n", where,
			f->form_no);
	else if (st != PGRES_TUPLES_OK)
		fprintf(stderr, "%s: %s", where, PQerrorMessage(pgq_conn()));
	PQclear(r);
	return st == PGRES_TUPLES_OK ? 0 : 1;
}

/*
 * One form: checked (itself, its scan, the database's facts), then stored
 * with its first step.  0 stored; 1 refused (said as where: why).
 */
static int form_import(const char *where, const char *path, struct form *f,
		       const char *scan_override, const char *cutoff)
{
	char t[6][32], buf[512], sp[4096], cls[8] = "";
	long long dkm = 0;
	struct scan s;
	bool failed = false;
	if (scan_override)
		f->scan = scan_override;
	const char *why = forms_refusal(f, t, &dkm, buf, sizeof(buf));
	if (why == NULL && scan_override)
		snprintf(sp, sizeof(sp), "%s", scan_override);
	else if (why == NULL)
		forms_scan_path(path, f->scan, sp, sizeof(sp));
	why = why ? why : forms_scan_read(sp, &s, buf, sizeof(buf));
	if (why) {
		fprintf(stderr, "%s: %s\n", where, why);
		return 1;
	}
	why = facts_refusal(f, s.sha, cutoff, cls, buf, sizeof(buf), &failed);
	int rc = failed || why ? 1 : form_store(where, f, t, dkm, cls, cutoff, sp, &s);
	free(s.data);
	if (why)
		fprintf(stderr, "%s: %s\n", where, why);
	if (rc == 0)
		printf("form %s imported: student %s part %ld, %ld minutes (vehicle %ld, classroom "
		       "%ld, simulator %ld, remote %ld), %s km; scan %s SHA-256 %s; pending a "
		       "supervisor's approval\n",
		       f->form_no, f->student_no, f->part,
		       f->vehicle + f->classroom + f->simulator + f->remote, f->vehicle,
		       f->classroom, f->simulator, f->remote, f->mileage_km, s.type, s.sha);
	return rc;
}

/* rules.legacy_cutoff of the configuration given with -c, else its default; NULL (said). */
static const char *legacy_cutoff(void)
{
	if (cfg_path() == NULL)
		return "2023-05-25";
	const struct hconf *c = cfg_get();
	return c ? c->legacy_cutoff : NULL;
}

static int import_json(const char *path, const char *scan, const char *cutoff)
{
	json_error_t e;
	json_t *o = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
	if (o == NULL) {
		fprintf(stderr, "%s:%d: %s\n", path, e.line, e.text);
		return 1;
	}
	struct form f = {0};
	char buf[128];
	const char *why = forms_from_json(o, &f, buf, sizeof(buf));
	int rc = 1;
	if (why)
		fprintf(stderr, "%s: %s\n", path, why);
	else
		rc = form_import(path, path, &f, scan, cutoff);
	json_decref(o);
	return rc;
}

/* One row of a CSV of forms: imported, or refused (said as FILE:LINE: why). */
static enum csv_verdict form_row(const struct csv *c, void *arg)
{
	const char *cutoff = arg;
	struct form f = {0};
	char where[4200];
	forms_from_csv(c, &f);
	snprintf(where, sizeof(where), "%s:%lu", c->path, c->line);
	return form_import(where, c->path, &f, NULL, cutoff) == 0 ? CSV_ADDED : CSV_REFUSED;
}

static int import_csv(const char *path, const char *cutoff)
{
	struct csv c;
	struct csv_counts n = {0};
	if (!csv_open(&c, path, forms_csv_columns, FORMS_CSV_COLUMNS, NULL, 0))
		return 1;
	csv_import(&c, form_row, (void *)cutoff, &n);
	csv_close(&c);
	printf("%s: %lu forms imported, %lu refused\n", path, n.added, n.refused);
	return n.refused ? 1 : 0;
}

/* backfill import FORM [--scan FILE]: JSON when the file's first non-blank byte is '{', else CSV.
 */
int backfill_import(const struct args *a)
{
	const char *path = a->pos[0], *scan = a->opt[0];
	const char *cutoff = legacy_cutoff();
	if (cutoff == NULL)
		return 1;
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
		return import_json(path, scan, cutoff);
	/* One scan is one paper form: a CSV of forms names each row's in its scan column. */
	if (scan) {
		fprintf(stderr,
			"hoursctl: backfill import: --scan goes with one form (JSON); %s is a "
			"CSV of forms: each row names its scan in the scan column\n",
			path);
		return 2;
	}
	return import_csv(path, cutoff);
}

/* FORM --by NAME [--note TEXT] checked; false (said) otherwise. */
static bool decide_args(const char *verb, const char *form_no, bool approve, const char *by,
			const char *note)
{
	if (!students_valid_token(form_no, 64)) {
		fprintf(stderr, "hoursctl: backfill %s: FORM: 1-64 printable ASCII characters\n",
			verb);
		return false;
	}
	if (by == NULL || !students_valid_text(by, 200)) {
		fprintf(stderr,
			"hoursctl: backfill %s: --by NAME: who decides (1-200 characters)\n", verb);
		return false;
	}
	if ((note && !students_valid_text(note, 2000)) || (!approve && note == NULL)) {
		fprintf(stderr, "hoursctl: backfill %s: --note TEXT: %s (1-2000 characters)\n",
			verb, approve ? "a note" : "the reason for the rejection");
		return false;
	}
	return true;
}

/* backfill approve|reject FORM --by NAME [--note TEXT]: a supervisor's decision, once per form. */
int backfill_decide(const struct args *a)
{
	bool approve = strcmp(a->sub, "approve") == 0;
	const char *verb = approve ? "approve" : "reject";
	const char *form_no = a->pos[0], *by = a->opt[0];
	if (!decide_args(verb, form_no, approve, by, a->opt[1]))
		return 2;
	const char *v[4] = {form_no, approve ? "approved" : "rejected", by, a->opt[1]};
	PGresult *r = pgq_query(sql_backfill_decide, 4, v);
	if (r == NULL)
		return 1;
	int rc = 0;
	if (PQgetvalue(r, 0, BACKFILL_DECIDE_FOUND)[0] != 't') {
		fprintf(stderr, "hoursctl: backfill %s: no form %s\n", verb, form_no);
		rc = 1;
	} else if (PQgetvalue(r, 0, BACKFILL_DECIDE_WRITTEN)[0] != 't') {
		fprintf(stderr, "hoursctl: backfill %s: form %s was %s: a form is decided once\n",
			verb, form_no, PQgetvalue(r, 0, BACKFILL_DECIDE_BEFORE));
		rc = 1;
	} else if (approve) {
		const char *packet = PQgetvalue(r, 0, BACKFILL_DECIDE_PACKET);
		printf("form %s approved by %s: student %s part %s counts it from the judge's next "
		       "batch%s%s\n",
		       form_no, by, PQgetvalue(r, 0, BACKFILL_DECIDE_STUDENT_NO),
		       PQgetvalue(r, 0, BACKFILL_DECIDE_PART),
		       packet[0] ? "; the part has its packet already, it is not pushed again: "
				 : "",
		       packet);
	} else {
		printf("form %s rejected by %s: it does not count\n", form_no, by);
	}
	PQclear(r);
	return rc;
}

/* backfill list [--state S] */
int backfill_list(const struct args *a)
{
	static const char *const states[] = {"pending", "approved", "rejected"};
	static const struct pgq_col cols[] = {
		{"form", BACKFILL_LIST_FORM_NO, 20, 0},
		{"student", BACKFILL_LIST_STUDENT_NO, 16, 0},
		{"part", BACKFILL_LIST_PART, 4, 0},
		{"minutes", BACKFILL_LIST_MINUTES, -7, 0},
		{"state", BACKFILL_LIST_STATE, 8, 0},
		{"entered by", BACKFILL_LIST_ENTERED_BY, 16, 0},
		{"entered (UTC+8)", BACKFILL_LIST_ENTERED_AT, 16, 0},
		{"decided by", BACKFILL_LIST_DECIDED_BY, 0, 0},
	};
	const char *state = a->opt[0];
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
	PGresult *r = pgq_query(sql_backfill_list, 1, v);
	if (r == NULL)
		return 1;
	out_table(stdout, r, cols, ARRAY_SIZE(cols));
	PQclear(r);
	return 0;
}

/* The form as entered (backfill_show.sql); false when there is none. */
static bool show_form(const PGresult *r)
{
	if (PQntuples(r) == 0)
		return false;
#define V(c) PQgetvalue(r, 0, BACKFILL_SHOW_##c)
	printf("form           %s (%s)\nstudent        %s, school %s, class %s\npart           %s\n"
	       "minutes        vehicle %s, classroom %s, simulator %s, remote %s\n"
	       "mileage        %s km\ncoach          %s\ntrained        %s to %s\n",
	       V(FORM_NO), V(STATE), V(STUDENT_NO), V(SCHOOL_CODE), V(VEHICLE_CLASS), V(PART),
	       V(VEHICLE), V(CLASSROOM), V(SIMULATOR), V(REMOTE), V(KM), V(COACH_NO),
	       V(TRAINED_FROM), V(TRAINED_TO));
	printf("signed         student %s (%s), coach %s (%s)\nsealed         %s (%s)\n"
	       "entered by     %s (cut-off %s)\nscan           %s, %s, %s bytes, SHA-256 %s\n"
	       "packet         %s\n",
	       V(STUDENT_SIGNED_BY), V(STUDENT_SIGNED_AT), V(COACH_SIGNED_BY), V(COACH_SIGNED_AT),
	       V(SEALED_BY), V(SEALED_AT), V(ENTERED_BY), V(CUTOFF), V(SCAN_NAME), V(SCAN_TYPE),
	       V(SCAN_SIZE), V(SCAN_SHA256), V(PACKET));
#undef V
	return true;
}

/* backfill show FORM: as entered, its scan's SHA-256, its packet, every step with who and when. */
int backfill_show(const struct args *a)
{
	const char *form_no = a->pos[0];
	const char *v[1] = {form_no};
	PGresult *r = pgq_query(sql_backfill_show, 1, v);
	if (r == NULL)
		return 1;
	bool found = PQntuples(r) > 0 && (out_show("form", r, true) || show_form(r));
	PQclear(r);
	if (!found) {
		fprintf(stderr, "hoursctl: backfill show: no form %s\n", form_no);
		return 1;
	}
	PGresult *s = pgq_query(sql_backfill_steps, 1, v);
	if (s == NULL)
		return 1;
	if (!out_show("steps", s, false)) {
		printf("steps (UTC+8)\n");
		for (int i = 0; i < PQntuples(s); i++)
			printf("  %-8s %s by %s (database user %s)%s%s\n",
			       PQgetvalue(s, i, BACKFILL_STEPS_STEP),
			       PQgetvalue(s, i, BACKFILL_STEPS_AT),
			       PQgetvalue(s, i, BACKFILL_STEPS_BY_NAME),
			       PQgetvalue(s, i, BACKFILL_STEPS_DB_USER),
			       PQgetvalue(s, i, BACKFILL_STEPS_NOTE)[0] ? ": " : "",
			       PQgetvalue(s, i, BACKFILL_STEPS_NOTE));
	}
	PQclear(s);
	out_end(stdout);
	return 0;
}

int backfill_explain(const char *student_no, FILE *out)
{
	static const struct pgq_col cols[] = {
		{"part", AUDIT_BACKFILL_PART, 4, 0},
		{"vehicle", AUDIT_BACKFILL_VEHICLE, -7, 0},
		{"simulator", AUDIT_BACKFILL_SIMULATOR, -9, 0},
		{"classroom", AUDIT_BACKFILL_CLASSROOM, -9, 0},
		{"remote", AUDIT_BACKFILL_REMOTE, -6, 0},
		{"km", AUDIT_BACKFILL_KM, -8, 0},
		{"approved", AUDIT_BACKFILL_FORMS, 20, 0},
		{"pending", AUDIT_BACKFILL_PENDING, 20, 0},
		{"terminal", AUDIT_BACKFILL_TERMINALS, -8, 0},
		{"together", AUDIT_BACKFILL_COUNTED, -8, 0},
		{"required", AUDIT_BACKFILL_REQUIRED, -8, 0},
		{"push", AUDIT_BACKFILL_PUSH_STATE, 0, 0},
	};
	const char *v[1] = {student_no};
	PGresult *r = pgq_query(sql_audit_backfill, 1, v);
	if (r == NULL)
		return 1;
	if (PQntuples(r) > 0) {
		fprintf(out, "\nback-filled hours (approved forms; counted with the terminals' "
			     "minutes, each kind capped):\n");
		pgq_table(out, r, cols, ARRAY_SIZE(cols));
	}
	PQclear(r);
	return 0;
}
