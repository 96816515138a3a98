/*
 * pgq.h - the tools' one way to the database, with blocking libpq (a
 * command line, not the daemon), as PostgreSQL's src/fe_utils serves its
 * programs: the connection, made at the first statement so that every
 * argument is checked before the database is reached; one
 * query-and-error wrapper; one printer of result tables.
 *
 * The connection: -d CONNINFO (pgq_init), else database.conninfo of the
 * configuration given with -c (cfg.h), else $HOURSD_DB.  Messages go to
 * stderr and begin "hoursctl: ".
 */
#ifndef HOURSD_TOOLS_PGQ_H
#define HOURSD_TOOLS_PGQ_H

#include "hoursd.h"

#include <libpq-fe.h>

/* -d CONNINFO; NULL: the configuration's, else $HOURSD_DB.  Nothing is reached yet. */
void pgq_init(const char *conninfo);
/*
 * The connection, made now when it is not yet.  NULL (said) when there
 * is none: pgq_status() then says the exit status (1, or 2 when no
 * database was given at all); later calls say nothing more.
 */
PGconn *pgq_conn(void);
/*
 * Another connection to the same database, for a stage that runs beside
 * the first on a thread of its own (its caller PQfinish()es it); NULL
 * (said) when there is none.
 */
PGconn *pgq_conn_more(void);
/* 0, or the exit status the command ends with because the database was not reached. */
int pgq_status(void);
void pgq_finish(void);

/*
 * The query-and-error wrapper: one parameterized statement (values NULL
 * for SQL NULL), its result when it succeeded (rows or a command);
 * otherwise NULL, said as "hoursctl: ERROR..." (with what: "hoursctl:
 * WHAT: ERROR...").  NULL too, said by pgq_conn(), without a connection.
 */
PGresult *pgq_query_in(const char *what, const char *sql, int n, const char *const *values);
PGresult *pgq_query(const char *sql, int n, const char *const *values);
/* The same on connection c (NULL: the first), its result in format (0 text, 1 binary). */
PGresult *pgq_query_on(PGconn *c, const char *sql, int n, const char *const *values, int format);
/* A statement whose result is not needed: whether it succeeded (said otherwise). */
bool pgq_ok(const char *sql, int n, const char *const *values);
/*
 * The statement's result whatever its status, for a caller that reads
 * the error itself (its SQLSTATE); NULL only without a connection.
 */
PGresult *pgq_exec(const char *sql, int n, const char *const *values);

/*
 * A column of a printed table: its title and the result's column, padded
 * to width (> 0 left-aligned, < 0 right-aligned, 0 not: the last column),
 * the columns one blank apart, the title line first.
 */
struct pgq_col {
	const char *title;
	int col;
	int width;
	unsigned flags;
};
#define PGQ_CUT 1u   /* a value cut at width and not padded (the title is padded) */
#define PGQ_DASH 2u  /* "-" for an empty value */
#define PGQ_RANGE 4u /* columns col and col + 1 as "A - B" */

/* The title line and a line per row of r. */
void pgq_table(FILE *out, const PGresult *r, const struct pgq_col *cols, size_t n);

#endif
