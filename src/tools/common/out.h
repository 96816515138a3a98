/*
 * out.h - how a tool prints its tables: --format text|csv|json, one rule
 * for every list and show.
 *
 * A command adopts it in one line: it names "--format" among its options
 * in hoursctl's verbs[] (main.c then checks the value and sets it with
 * out_set() before the run), and prints each table with out_table()
 * instead of pgq_table().  text is the aligned columns of pgq_table();
 * csv is RFC 4180 with a header line of the titles; json is one array of
 * objects a table, keyed by the titles (lower case, other characters '_', a remark in
 * parentheses left out), numbers and
 * booleans typed from the result's columns, NULL as null.  A command that
 * prints several tables (a show) names each with out_section(): in json
 * they are one object of arrays, in csv each table follows a "# NAME" line.
 */
#ifndef HOURSD_TOOLS_OUT_H
#define HOURSD_TOOLS_OUT_H

#include "hoursd.h"
#include "common/pgq.h"

enum out_format { OUT_TEXT, OUT_CSV, OUT_JSON };

/* The format named by --format (NULL: text); false (said in one line, for cmd) otherwise. */
bool out_set(const char *cmd, const char *value);
enum out_format out_format(void);

/* One table of r, in the format set. */
void out_table(FILE *out, const PGresult *r, const struct pgq_col *cols, size_t n);
/*
 * A show's table under a name: text prints title (when not NULL) and the
 * table; json gathers the tables into one object, printed by out_end().
 */
void out_section(FILE *out, const char *name, const char *title, const PGresult *r,
		 const struct pgq_col *cols, size_t n);
/*
 * A show's result in csv or json, its columns under the statement's own
 * names: the first row as an object (one), or every row; true when done so,
 * false in text (the caller prints its own lines).
 */
bool out_show(const char *name, const PGresult *r, bool one);
/* The end of a show: json's object of its sections (nothing in text and csv). */
void out_end(FILE *out);

#endif
