/*
 * reasons.h - the reason codes a timing message or a training record can
 * be refused with, hoursd's and the database's (docs/protocol.md), as one
 * enum.  Checks return the enum; the name is what is stored (the reason
 * column) and what labels the metrics, so a name never changes.
 * tests/check_reasons.c holds this list and the documentation's table
 * to each other.
 */
#ifndef HOURSD_REASONS_H
#define HOURSD_REASONS_H

#include "hoursd.h"

enum reason {
	R_NONE = 0, /* accepted: no reason, stored as NULL */
	/* the message and the terminal */
	R_NO_SIGNATURE,
	R_BAD_SIGNATURE,
	R_CERTIFICATE_EXPIRED,
	R_NO_SIGNING_KEY,
	R_TERMINAL_DISABLED,
	R_TERMINAL_NO_MISMATCH,
	/* the lesson */
	R_COACH_NOT_LOGGED_IN,
	R_STUDENT_NOT_LOGGED_IN,
	R_NO_SESSION,
	R_SESSION_TIMED_OUT,
	R_CLASS_MISMATCH,
	R_OUTSIDE_SCHEDULE,
	/* the registry at a login (docs/registry.md): refused or flagged, rules.<name> */
	R_COACH_NOT_REGISTERED,
	R_COACH_RETIRED,
	R_COACH_OTHER_SCHOOL,
	R_COACH_CLASS_NOT_ALLOWED,
	R_VEHICLE_NOT_REGISTERED,
	R_VEHICLE_OTHER_SCHOOL,
	R_VEHICLE_OTHER_CLASS,
	R_TERMINAL_NOT_BOUND,
	/* the minute (rules.c) */
	R_RECORD_IN_FUTURE,
	R_RECORD_TOO_OLD,
	R_NO_SYLLABUS_PART,
	R_VEHICLE_CLASS_MISMATCH,
	R_KIND_NOT_ALLOWED,
	R_NO_GNSS_FIX,
	R_SPEED_OVER_LIMIT,
	R_SPEED_MISMATCH,
	R_POSITION_JUMP,
	R_NO_TRAINING_SITE,
	R_OUTSIDE_TRAINING_SITE,
	/* the database, across connections and instances */
	R_STUDENT_OVERLAP,
	R_COACH_OVERLAP,
	R_DAILY_CAP,
	/* never stored as a reason: metrics only */
	R_NUMBER_REUSED,
	R_OTHER, /* a name from the database that is none of the above */
	R__COUNT
};

/* The stored name ("no_signature"); NULL for R_NONE and for a value out of range. */
const char *reason_name(enum reason r);
/* One line saying when the code is given; NULL for R_NONE and out of range. */
const char *reason_doc(enum reason r);
/* The code of a name: R_NONE for NULL, R_OTHER for a name not in the list. */
enum reason reason_index(const char *name);

#endif
