/*
 * evidence.h - audit verify's checks of the rows a terminal's frame made
 * (evidence.c): each stored frame decoded again with hoursd's own codec
 * (jtx.c) and every column taken from it compared with its row, its
 * digest, its signature against the certificate in force when it was
 * signed (terminal_cert, 014), a frame stored twice; the photos' bytes
 * against their digest.  verify.c calls it once, beside the chain's checks.
 */
#ifndef HOURSD_HOURSCTL_EVIDENCE_H
#define HOURSD_HOURSCTL_EVIDENCE_H

#include "hoursd.h"

struct evidence_counts {
	unsigned long records, events, photos; /* rows checked */
	unsigned long problems;		       /* lines said */
	unsigned threads;		       /* the signature checkers */
	double seconds;			       /* the whole of it */
};

/*
 * range: the time range's bounds and the school's id (NULL: open), as
 * audit_frame_records.sql takes them.  Every discrepancy one line on out,
 * in the order of the rows; a progress line on stderr when it is a
 * terminal.  False on a database error (said).
 */
bool evidence_check(const char *const range[3], FILE *out, struct evidence_counts *n) MUSTCHECK;

#endif
