/*
 * syllabus.c - the syllabus file (src/syllabus.c): any bytes, a clear
 * error or a syllabus whose parts answer.  Input: the file.
 */
#include "file.h"
#include "syllabus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512] = "";
	struct syllabus *s = syllabus_load(fuzz_file(data, size), err, sizeof(err));
	if (s == NULL) {
		FUZZ_ASSERT(err[0] != '\0');
		return 0;
	}
	unsigned minutes[SYL_KINDS] = {0};
	for (size_t i = 0; i < syllabus_count(s); i++)
		(void)syllabus_met(syllabus_at(s, i), minutes);
	(void)syllabus_name(s);
	syllabus_free(s);
	return 0;
}
