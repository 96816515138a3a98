/*
 * students.h - hoursctl's students: enrolment, scheduling and the
 * back-filled hours of legacy students (docs/students.md), with blocking
 * libpq (a command line, not the daemon).
 *
 * Every function returns hoursctl's exit status: 0 done, 1 failed (or
 * some rows refused), 2 a usage error.  Arguments are checked before the
 * database is reached (db() is called at the first statement), files
 * read before too, so that a mistyped line costs no connection.
 */
#ifndef HOURSD_STUDENTS_H
#define HOURSD_STUDENTS_H

#include "hoursd.h"

typedef struct pg_conn PGconn;

/* The connection, made at the first statement (hoursctl's conn()); NULL: said. */
typedef PGconn *(*students_db_fn)(void);

struct student_fields {
	const char *student_no, *school, *vehicle_class, *enrolled_on, *id_card;
	const char *pre_entered_on; /* NULL: none */
	bool legacy;
};

int students_add(students_db_fn db, const struct student_fields *f);
int students_import(students_db_fn db, const char *path);
int students_list(students_db_fn db, const char *school);
int students_show(students_db_fn db, const char *student_no);

int schedule_add(students_db_fn db, const char *student_no, const char *coach_no, const char *plate,
		 const char *from, const char *to);
int schedule_import(students_db_fn db, const char *path);
int schedule_list(students_db_fn db, const char *student_no, const char *day);

/* cutoff: rules.legacy_cutoff (YYYY-MM-DD); scan: NULL to take the form's own. */
int backfill_import(students_db_fn db, const char *path, const char *scan, const char *cutoff);
int backfill_decide(students_db_fn db, const char *form_no, bool approve, const char *by,
		    const char *note);
int backfill_list(students_db_fn db, const char *state);
int backfill_show(students_db_fn db, const char *form_no);

/* explain's back-filled part: the forms per part beside the terminals' minutes. */
int students_explain_backfill(PGconn *c, const char *student_no, FILE *out);

/* Checks shared with the tests: a date YYYY-MM-DD that exists; an identity-card number. */
bool students_valid_id_card(const char *s);

#endif
