/*
 * csv.h - the CSV files the tools read and write: RFC 4180 without line
 * breaks inside quotes, UTF-8 (a byte-order mark allowed), CRLF or LF,
 * empty lines and "#" comment lines skipped.  One reader, one driver
 * handing each row to a callback (the imports), one writer.
 *
 * A line the reader refuses (too long, not UTF-8, malformed, not as many
 * fields as the header) is said as "FILE:LINE: reason" on stderr; the
 * driver counts it refused and reads on.
 */
#ifndef HOURSD_TOOLS_CSV_H
#define HOURSD_TOOLS_CSV_H

#include "hoursd.h"

#define CSV_MAX_FIELDS 32
#define CSV_MAX_LINE 4096

struct csv {
	FILE *f;
	const char *path;
	unsigned long line; /* of the row read last, from 1 */
	char buf[CSV_MAX_LINE + 2];
	char *field[CSV_MAX_FIELDS];
	int nfield;
	int ncols;		 /* the header's fields: every row has as many; 0: not checked */
	int col[CSV_MAX_FIELDS]; /* the header's column of each wanted name; -1: absent */
};

/*
 * Open path and, unless need is NULL, read its header: every name of need
 * (nneed) must be a column, each of opt (nopt) may be; no column twice or
 * unknown.  csv_get(c, i) is then the column of need[i] (i < nneed) or of
 * opt[i - nneed].  False (said: "hoursctl: FILE: why", or "FILE:LINE: why",
 * the file closed) otherwise.
 */
bool csv_open(struct csv *c, const char *path, const char *const *need, int nneed,
	      const char *const *opt, int nopt);
void csv_close(struct csv *c);
/* The next row's fields: 1; 0 at the end; -1 when refused (said) or on a read error. */
int csv_next(struct csv *c);
/* Column i of the header's names in the current row ("" when the column is absent). */
const char *csv_get(const struct csv *c, int i);
/* Say "FILE:LINE: why" of the current row. */
void csv_say(const struct csv *c, const char *why);

/* What a row callback made of its row; CSV_ABORT stops the import (a database error). */
enum csv_verdict { CSV_ADDED, CSV_SAME, CSV_REFUSED, CSV_ABORT };
struct csv_counts {
	unsigned long added, same, refused;
	bool read_error;
};
typedef enum csv_verdict (*csv_row_fn)(const struct csv *c, void *arg);
/*
 * The import driver: every remaining row to row(), counted in n (a row
 * the reader refuses: refused).  False when row() aborted.
 */
bool csv_import(struct csv *c, csv_row_fn row, void *arg, struct csv_counts *n);

/* One field, quoted when it must be, then ',' or, for the last one, '\n'. */
void csv_write(FILE *out, const char *s, bool last);

#endif
