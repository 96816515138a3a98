/*
 * testutil.h - what the unit suites (tests/check_*.c) share: a setting
 * from the environment, a scratch file, a file read whole.  Static inline
 * definitions: each suite is one program.
 */
#ifndef HOURSD_TESTS_TESTUTIL_H
#define HOURSD_TESTS_TESTUTIL_H

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The environment's value of name, or def when it is unset or empty. */
static inline const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);
	return v && *v ? v : def;
}

/* Write text to a fresh file /tmp/SUITE_XXXXXX; the caller unlinks and frees the path. */
static inline char *write_tmp(const char *text)
{
	char *path = NULL;
	ck_assert_int_gt(asprintf(&path, "/tmp/%s_XXXXXX", program_invocation_short_name), 0);
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	size_t len = strlen(text);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

/* The whole of a text file (not empty), its length into len unless NULL; the caller frees it. */
static inline char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	char *text = NULL;
	size_t n = 0, cap = 0, got;
	do {
		if (cap - n < 4096) {
			cap += cap + 4096;
			text = realloc(text, cap + 1);
			ck_assert_ptr_nonnull(text);
		}
		got = fread(text + n, 1, cap - n, f);
		n += got;
	} while (got > 0);
	fclose(f);
	text[n] = '\0';
	ck_assert_int_gt(n, 0);
	if (len)
		*len = n;
	return text;
}

#endif
