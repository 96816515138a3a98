/*
 * hoursctl.h - what the sections of hoursctl share: the command line a
 * run function gets (struct args), the run functions the command table
 * of main.c names, section by section (a file each), the checks of
 * arguments they share (check.c), and the few calls between sections.
 *
 * A run function returns hoursctl's exit status: 0 done, 1 failed (or
 * some rows refused, or differences found), 2 a usage error.  It checks
 * its arguments (and reads its files) before the first statement, which
 * makes the connection (common/pgq.h).
 */
#ifndef HOURSD_HOURSCTL_H
#define HOURSD_HOURSCTL_H

#include "hoursd.h"

/*
 * A command line checked against its verb (main.c's verbs[]): only the
 * options of the verb, each with a value.
 */
#define MAX_POS 4
#define MAX_OPTS 14
struct args {
	const char *sub;	   /* the subcommand as typed: "disable" of "disable|enable" */
	const char *pos[MAX_POS];  /* the positionals; NULL past the ones given */
	const char *opt[MAX_OPTS]; /* each option's value, in the verb's order; NULL: not given */
};

/* migrate.c */
int migrate_run(const struct args *a);

/* terminals.c: provisioning and the terminals' state */
int terminals_add(const struct args *a);
int terminals_list(const struct args *a);
int terminals_quirk(const struct args *a);
int terminals_status(const struct args *a);
int terminals_assign(const struct args *a);

/* commands.c: the commands queued for a terminal */
int commands_fetch_records(const struct args *a);
int commands_photo(const struct args *a);
int commands_ban(const struct args *a);
int commands_list(const struct args *a);

/* schools.c: schools and their training sites */
int schools_add(const struct args *a);
int schools_set_district(const struct args *a);
int schools_list(const struct args *a);
int schools_seal(const struct args *a);
int schools_site_import(const struct args *a);
int schools_site_list(const struct args *a);

/* roles.c: the database logins of docs/audit.md */
int roles_add(const struct args *a);

/* outbox.c: the push outbox */
int outbox_list(const struct args *a);
int outbox_show(const struct args *a);
int outbox_retry(const struct args *a);
int outbox_upward(const struct args *a);
int outbox_upward_retry(const struct args *a);

/* audit.c: explain and recompute */
int audit_explain(const struct args *a);
int audit_recompute(const struct args *a);
/*
 * Progress (per student and part, by kind) and the per-day counts derived
 * again from the stored records, every difference from the stored ones a
 * line on out (student NULL: every student).  The number of differences,
 * or -1 on error (said).
 */
int audit_differences(const char *student_no, FILE *out);

/* verify.c: the tamper evidence of docs/audit.md */
int verify_audit(const struct args *a);
int verify_checkpoints(const struct args *a);

/* proof.c, proof_check.c: a proof per pushed part, made and checked without the database */
int proof_make(const struct args *a);
int proof_check(const struct args *a);

/* evidence_verify.c: the Merkle log (migration 015) and its checkpoints */
typedef struct evp_pkey_st EVP_PKEY;
struct evidence_opts {
	EVP_PKEY *key;	      /* the checkpoints' key; NULL: checkpoints not checked */
	const char *key_id;   /* its id (checkpoint_key_id) */
	const char *witness;  /* a witness file; NULL: none */
	long long max_age_s;  /* the newest checkpoint at most this old; 0: any age */
	struct pg_conn *conn; /* the connection to read with (libpq's PGconn); NULL: hoursctl's */
};
struct evidence_result {
	unsigned long problems;
	long long batches, leaves, checkpoints;
};
/* Every discrepancy a line on out; false on a database error (said). */
bool evidence_verify(const struct evidence_opts *o, FILE *out, struct evidence_result *r);
/* The log's checkpoints as witness lines ("v2 k n head at key signature"). */
bool evidence_export(FILE *f);

/* findings.c, report.c: the notice's violations, the quarterly report */
int findings_run(const struct args *a);
int report_quarterly(const struct args *a);
int report_import_police(const struct args *a);

/* registry.c: coaches, training vehicles and the terminals' bindings (docs/registry.md) */
int registry_coach_add(const struct args *a);
int registry_coach_import(const struct args *a);
int registry_coach_list(const struct args *a);
int registry_coach_show(const struct args *a);
int registry_coach_retire(const struct args *a);
int registry_vehicle_add(const struct args *a);
int registry_vehicle_import(const struct args *a);
int registry_vehicle_list(const struct args *a);
int registry_vehicle_show(const struct args *a);
int registry_vehicle_retire(const struct args *a);
int registry_vehicle_bind(const struct args *a);

/* students.c, schedule.c, backfill.c: students.h */
int students_add(const struct args *a);
int students_import(const struct args *a);
int students_list(const struct args *a);
int students_show(const struct args *a);
int students_held(const struct args *a);
int schedule_add(const struct args *a);
int schedule_import(const struct args *a);
int schedule_list(const struct args *a);
int backfill_import(const struct args *a);
int backfill_decide(const struct args *a);
int backfill_list(const struct args *a);
int backfill_show(const struct args *a);
/* explain's back-filled part: the forms per part beside the terminals' minutes.  0, or 1. */
int backfill_explain(const char *student_no, FILE *out);

/* check.c */
/* The whole file, NUL-terminated (malloc'd); *lenp (when given) its length.  NULL: not read. */
char *check_read_file(const char *path, size_t *lenp);
/* Printable text of 1 to max bytes, no control characters; false (said) otherwise. */
bool check_label(const char *what, const char *s, size_t max);
/* A whole number in [lo, hi] from option name; false (said) otherwise. */
bool check_uint(const char *name, const char *v, unsigned long lo, unsigned long hi,
		unsigned long *out);
/*
 * A timestamp as PostgreSQL reads it in hoursctl's session, whose zone is
 * Asia/Shanghai (common/pgq.c): '2026-11-30 08:00' is China time, a zone
 * may be given.  To Unix seconds: the first statement of the command.
 * False (said).
 */
bool check_time(const char *name, const char *v, time_t *out);
/* The exit status after check_time() failed: the database's when it was not reached, else 2. */
int check_time_rc(void);
/*
 * Whether the school (by code), student (by number) or terminal (by
 * number, normalised) a list's filter names exists; NULL: no filter, true.
 * False, said in one line for cmd, when it does not or on an error: the
 * command exits 1 rather than print an empty list.
 */
bool check_known(const char *cmd, const char *kind, const char *key);

#endif
