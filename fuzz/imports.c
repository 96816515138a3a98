/*
 * imports.c - the files a school or a clerk gives hoursctl
 * (src/tools/hoursctl/students.c): the students' and the slots' CSV and the
 * back-fill forms (JSON, or a CSV of forms).  Input: a selector byte,
 * then the file.  The harness has no database: every row is read and
 * checked as far as the file alone allows, and the first good one ends
 * the import ("the database did not answer"), as a lost connection
 * would; what must hold is that no input crashes, leaks or reads past
 * its bytes, and that the exit status is a usage or failure one.
 */
#include "file.h"
#include "hoursctl/students.h"

#include <stdio.h>

static PGconn *no_db(void)
{
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	unsigned which = fuzz_byte(&in) % 4;
	const char *path = fuzz_file(in.p, in.n);
	int rc;
	switch (which) {
	case 0:
		rc = students_import(no_db, path);
		break;
	case 1:
		rc = schedule_import(no_db, path);
		break;
	default:
		/* a form: JSON by its first byte, else a CSV of forms; no scan beside it */
		rc = backfill_import(no_db, path, NULL, "2023-05-25");
		break;
	}
	FUZZ_ASSERT(rc >= 0 && rc <= 2);
	return 0;
}
