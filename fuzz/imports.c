/*
 * imports.c - the files a school or a clerk gives hoursctl
 * (src/tools/hoursctl/students.c, schedule.c, forms.c, backfill.c, over
 * the CSV reader of src/tools/common/csv.c): the students' and the slots'
 * CSV and the back-fill forms (JSON, or a CSV of forms).  Input: a
 * selector byte, then the file.  The harness gives no database: every
 * row is read and checked as far as the file alone allows, and the first
 * good one ends the import ("hoursctl: no database", said once), as a
 * lost connection would; what must hold is that no input crashes, leaks
 * or reads past its bytes, and that the exit status is a usage or failure
 * one.
 */
#include "file.h"
#include "hoursctl/hoursctl.h"
#include "common/pgq.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	unsetenv("HOURSD_DB");
	pgq_init(NULL);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	unsigned which = fuzz_byte(&in) % 4;
	struct args a = {.pos = {fuzz_file(in.p, in.n)}};
	int rc;
	switch (which) {
	case 0:
		rc = students_import(&a);
		break;
	case 1:
		rc = schedule_import(&a);
		break;
	default:
		/* a form: JSON by its first byte, else a CSV of forms; no scan beside it,
		 * rules.legacy_cutoff its default (no configuration) */
		rc = backfill_import(&a);
		break;
	}
	FUZZ_ASSERT(rc >= 0 && rc <= 2);
	return 0;
}
