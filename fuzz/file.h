/*
 * file.h - for the harnesses of the files an operator gives: the input
 * written to a file of its own (the loaders take a path), one per process.
 */
#ifndef HOURSD_FUZZ_FILE_H
#define HOURSD_FUZZ_FILE_H

#include "fuzz.h"
#include <unistd.h>

static char fuzz_path[64];

static inline void fuzz_file_gone(void)
{
	unlink(fuzz_path);
}

static inline const char *fuzz_file(const uint8_t *data, size_t size)
{
	if (fuzz_path[0] == '\0') {
		snprintf(fuzz_path, sizeof(fuzz_path), "/tmp/hoursd-fuzz-%ld.yaml", (long)getpid());
		atexit(fuzz_file_gone);
	}
	FILE *f = fopen(fuzz_path, "wb");
	FUZZ_ASSERT(f != NULL);
	FUZZ_ASSERT(size == 0 || fwrite(data, size, 1, f) == 1);
	FUZZ_ASSERT(fclose(f) == 0);
	return fuzz_path;
}

#endif
