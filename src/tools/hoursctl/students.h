/*
 * students.h - what hoursctl's students share (students.c: enrolment;
 * schedule.c: the slots; forms.c, backfill.c: the back-filled hours of
 * legacy students; docs/students.md): the checks of the fields their
 * files carry, and the back-fill form as its file gives it.
 *
 * The files (a CSV of students or slots, a back-fill form in JSON or CSV
 * and its scan) are hostile input: every row is checked, each fault
 * reported as FILE:LINE: reason, and only rows with none reach the
 * database, one statement each, so that every good row is stored and no
 * bad one.  The statements are idempotent (student number; student and
 * window; form number and scan digest), so a file imported again changes
 * nothing.
 */
#ifndef HOURSD_STUDENTS_H
#define HOURSD_STUDENTS_H

#include "hoursd.h"

struct csv;
typedef struct json_t json_t;

/* students.c: the 16-character national number of a student or a coach, printable ASCII. */
bool students_valid_no16(const char *s);
/* GB 11643: 17 digits and a check character (0-9 or X) that matches them. */
bool students_valid_id_card(const char *s);
/* A licence class: a letter and an optional digit (C1, B2, D). */
bool students_valid_class(const char *s);
/* 1-max bytes, none a control character. */
bool students_valid_text(const char *s, size_t max);
/* A form number or plate: 1-max bytes of printable ASCII without space. */
bool students_valid_token(const char *s, size_t max);
/*
 * A time of China Standard Time as the files write it, "YYYY-MM-DD HH:MM"
 * (or with a T, with :SS, with +08:00), into out as PostgreSQL reads it
 * with its zone: "YYYY-MM-DD HH:MM:SS+08".  Another offset is refused:
 * every time of a school is UTC+8.
 */
bool students_local_time(const char *in, char out[32]);

/* forms.c: a form as read from its file; strings point into the file's parse. */
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

/* A JSON form (docs/students.md): its members into f; NULL, or why (members unknown...). */
const char *forms_from_json(json_t *o, struct form *f, char *buf, size_t cap);
/* The columns of a CSV of forms (forms_csv_columns[], FORMS_CSV_COLUMNS), and a row's form. */
#define FORMS_CSV_COLUMNS 20
extern const char *const forms_csv_columns[FORMS_CSV_COLUMNS];
void forms_from_csv(const struct csv *c, struct form *f);
/*
 * What the form itself breaks (no database needed), or NULL: t gets the
 * signatures' times as PostgreSQL reads them, *dkm the mileage in 0.1 km.
 */
const char *forms_refusal(const struct form *f, char t[6][32], long long *dkm, char *buf,
			  size_t cap);
/* The scan of path: read, typed by its first bytes, hashed.  NULL: fine; else why. */
const char *forms_scan_read(const char *path, struct scan *s, char *buf, size_t cap);
/* The scan's path: as the form names it, relative to the form's directory. */
void forms_scan_path(const char *form_path, const char *scan, char *out, size_t cap);

#endif
