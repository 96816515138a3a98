/*
 * audit.h - what hoursctl tells operators and auditors about a student's
 * hours, read from the database with blocking libpq (a command line, not
 * the daemon).
 */
#ifndef HOURSD_AUDIT_H
#define HOURSD_AUDIT_H

#include "hoursd.h"

typedef struct pg_conn PGconn;

/*
 * Progress per part and every minute that did not count, with its
 * reason.  0; 1 on error, or when nothing at all is known of the student
 * (no record, progress, enrolment or licence held: a mistyped number).
 */
int audit_explain(PGconn *db, const char *student_no, FILE *out);

/*
 * Re-derive progress (per student and part, by kind) and the per-day
 * counts from the stored records, and report every difference from the
 * stored progress.  NULL: every student.  0 when none differ, 1 when some
 * do or on error.
 */
int audit_recompute(PGconn *db, const char *student_no, FILE *out);

/* hoursctl audit verify (verify.c): what is checked, docs/audit.md "Verifying". */
typedef struct evp_pkey_st EVP_PKEY;
struct audit_verify_opts {
	const char *from, *to; /* the records' time range, as PostgreSQL reads it; NULL: open */
	const char *school;    /* a school code; NULL: every school */
	EVP_PKEY *key;	       /* the checkpoints' key (its public half); NULL: none given */
	const char *witness;   /* a file of `audit checkpoints --export`; NULL: none */
};
/* Every discrepancy one line on out; 0 when there is none, 1 otherwise or on error. */
int audit_verify(PGconn *db, const struct audit_verify_opts *o, FILE *out);
/* The stored checkpoints: listed on out, or written to export_path (a witness file). */
int audit_checkpoints(PGconn *db, const char *export_path, FILE *out);

#endif
