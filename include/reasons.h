/*
 * reasons.h - the reason codes a training record can be rejected with,
 * hoursd's and the database's (docs/protocol.md), as one list: the
 * metrics count by it, and the store maps the database's text onto it.
 */
#ifndef HOURSD_REASONS_H
#define HOURSD_REASONS_H

#include "hoursd.h"

/* The index of a reason code, or the index of "other" for a string not in the list. */
size_t reason_index(const char *reason);
/* The name of an index; NULL past the end. */
const char *reason_name(size_t i);

#endif
