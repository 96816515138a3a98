/*
 * hexfix.h - hex fixture files for the unit suites (check_jt808.c,
 * check_jtx.c): one body a line as hex (spaces allowed), a comment
 * "# [tag] text" naming the next one.  Define MAX_FIXTURES and
 * FIXTURE_MAX_BYTES before including it.  Static definitions: each suite
 * is one program.
 */
#ifndef HOURSD_TESTS_HEXFIX_H
#define HOURSD_TESTS_HEXFIX_H

#include <check.h>
#include <ctype.h>

struct fixture {
	char tag[48];
	uint8_t data[FIXTURE_MAX_BYTES];
	size_t len;
};

static struct fixture fixtures[MAX_FIXTURES];
static size_t n_fixtures;

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Hex (spaces allowed) to bytes; returns the length, or 0 on bad input. */
static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;

	for (; *s; s++) {
		int v = hexval((unsigned char)*s);

		if (isspace((unsigned char)*s))
			continue;
		if (v < 0 || (hi < 0 && n >= cap))
			return 0;
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return hi < 0 ? n : 0;
}

/* A comment "# [tag] text" names the next body. */
static void take_comment(const char *line, char *tag, size_t tcap)
{
	const char *open = strchr(line, '['), *close = open ? strchr(open, ']') : NULL;

	if (!open || !close || (size_t)(close - open) > tcap)
		return;
	snprintf(tag, tcap, "%.*s", (int)(close - open - 1), open + 1);
}

static void load_fixture_file(const char *name)
{
	const char *dir = getenv("FIXTURES_DIR");
	char path[512], line[4096], tag[48] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests/fixtures", name);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	while (fgets(line, sizeof(line), f)) {
		struct fixture *fx = &fixtures[n_fixtures];

		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#') {
			take_comment(line, tag, sizeof(tag));
			continue;
		}
		if (line[strspn(line, " \t")] == '\0')
			continue;
		ck_assert_uint_lt(n_fixtures, MAX_FIXTURES);
		fx->len = unhex(line, fx->data, sizeof(fx->data));
		ck_assert_msg(fx->len > 0, "bad hex in %s: %s", path, line);
		ck_assert_msg(tag[0] != '\0', "body without a [tag] in %s", path);
		snprintf(fx->tag, sizeof(fx->tag), "%s", tag);
		tag[0] = '\0';
		n_fixtures++;
	}
	fclose(f);
}

static const struct fixture *fixture(const char *tag)
{
	for (size_t i = 0; i < n_fixtures; i++) {
		if (strcmp(fixtures[i].tag, tag) == 0)
			return &fixtures[i];
	}
	ck_abort_msg("no fixture [%s]", tag);
	return NULL;
}

#endif
