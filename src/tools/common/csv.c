/*
 * csv.c - see csv.h.
 */
#include "hoursd.h"
#include "common/csv.h"
#include "common/progress.h"
#include "utf8.h"

#include <errno.h>

void csv_close(struct csv *c)
{
	if (c->f)
		fclose(c->f);
	c->f = NULL;
}

void csv_say(const struct csv *c, const char *why)
{
	fprintf(stderr, "%s:%lu: %s\n", c->path, c->line, why);
}

/* A quoted field from p (its opening quote) into out; past its closing quote, or NULL (why). */
static char *quoted(char *p, char **out, const char **why)
{
	char *o = *out;
	for (p++;;) {
		if (*p == '\0') {
			*why = "a quoted field is not closed on its line";
			return NULL;
		}
		if (*p == '"' && p[1] == '"') {
			*o++ = '"';
			p += 2;
		} else if (*p == '"') {
			*out = o;
			return p + 1;
		} else {
			*o++ = *p++;
		}
	}
}

/*
 * One line split in place into at most CSV_MAX_FIELDS fields; -1 with
 * why on a malformed line.
 */
static int split(char *line, char **f, const char **why)
{
	int n = 0;
	for (char *p = line;; p++) {
		if (n == CSV_MAX_FIELDS) {
			*why = "more than 32 fields";
			return -1;
		}
		char *out = p;
		f[n++] = out;
		if (*p == '"') {
			if ((p = quoted(p, &out, why)) == NULL)
				return -1;
			if (*p != ',' && *p != '\0') {
				*why = "text after a closing quote";
				return -1;
			}
		} else {
			for (; *p && *p != ','; *out++ = *p++)
				if (*p == '"') {
					*why = "a quote inside an unquoted field";
					return -1;
				}
		}
		char sep = *p;
		*out = '\0';
		if (sep == '\0')
			return n;
	}
}

/* The next line that is not empty or a comment, without its end: 1, 0 at the end, -1 (said). */
static int next_line(struct csv *c, char **line)
{
	for (;;) {
		if (fgets(c->buf, sizeof(c->buf), c->f) == NULL)
			return ferror(c->f) ? -1 : 0;
		c->line++;
		size_t n = strlen(c->buf);
		if (n > 0 && c->buf[n - 1] != '\n' && !feof(c->f)) {
			fprintf(stderr, "%s:%lu: line longer than %d bytes\n", c->path, c->line,
				CSV_MAX_LINE);
			int ch;
			while ((ch = fgetc(c->f)) != EOF && ch != '\n')
				;
			return -1;
		}
		while (n > 0 && (c->buf[n - 1] == '\n' || c->buf[n - 1] == '\r'))
			c->buf[--n] = '\0';
		char *s = c->buf;
		if (c->line == 1 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) /* a UTF-8 BOM */
			s += 3;
		if (*s != '\0' && *s != '#') {
			*line = s;
			return 1;
		}
	}
}

/* Blanks around each field off. */
static void trim(struct csv *c)
{
	for (int i = 0; i < c->nfield; i++) {
		char *v = c->field[i];
		while (*v == ' ' || *v == '\t')
			v++;
		size_t len = strlen(v);
		while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
			v[--len] = '\0';
		c->field[i] = v;
	}
}

int csv_next(struct csv *c)
{
	char *s;
	int r = next_line(c, &s);
	if (r <= 0)
		return r;
	size_t bad = utf8_invalid_at(s, strlen(s));
	if (s[bad] != '\0') {
		fprintf(stderr, "%s:%lu: byte %zu is not UTF-8 (0x%02x): save the file as UTF-8\n",
			c->path, c->line, (size_t)(s - c->buf) + bad + 1, (unsigned char)s[bad]);
		return -1;
	}
	const char *why = NULL;
	c->nfield = split(s, c->field, &why);
	if (c->nfield < 0) {
		csv_say(c, why);
		return -1;
	}
	if (c->ncols && c->nfield != c->ncols) {
		fprintf(stderr, "%s:%lu: %d fields, the header has %d\n", c->path, c->line,
			c->nfield, c->ncols);
		return -1;
	}
	trim(c);
	return 1;
}

/* The header's field k among the names: false (said) when unknown or named twice. */
static bool header_name(struct csv *c, int k, const char *const *need, int nneed,
			const char *const *opt, int nopt)
{
	int i = 0;
	while (i < nneed + nopt && strcmp(c->field[k], i < nneed ? need[i] : opt[i - nneed]) != 0)
		i++;
	const char *bad = i == nneed + nopt ? "unknown column"
			  : c->col[i] >= 0  ? "column named twice"
					    : NULL;
	if (bad) {
		fprintf(stderr, "%s:%lu: header: %s \"%.40s\"\n", c->path, c->line, bad,
			c->field[k]);
		return false;
	}
	c->col[i] = k;
	return true;
}

static bool header(struct csv *c, const char *const *need, int nneed, const char *const *opt,
		   int nopt)
{
	int r = csv_next(c);
	if (r <= 0) {
		if (r == 0)
			fprintf(stderr,
				"%s:1: empty file: a header line naming the columns first\n",
				c->path);
		return false;
	}
	for (int i = 0; i < nneed + nopt; i++)
		c->col[i] = -1;
	for (int k = 0; k < c->nfield; k++)
		if (!header_name(c, k, need, nneed, opt, nopt))
			return false;
	for (int i = 0; i < nneed; i++)
		if (c->col[i] < 0) {
			fprintf(stderr, "%s:%lu: header: missing column \"%s\"\n", c->path, c->line,
				need[i]);
			return false;
		}
	c->ncols = c->nfield;
	return true;
}

bool csv_open(struct csv *c, const char *path, const char *const *need, int nneed,
	      const char *const *opt, int nopt)
{
	memset(c, 0, sizeof(*c));
	c->path = path;
	c->f = fopen(path, "r");
	if (c->f == NULL) {
		fprintf(stderr, "hoursctl: %s: %s\n", path, strerror(errno));
		return false;
	}
	if (need == NULL || header(c, need, nneed, opt, nopt))
		return true;
	csv_close(c);
	return false;
}

const char *csv_get(const struct csv *c, int i)
{
	int k = c->col[i];
	return k >= 0 && k < c->nfield ? c->field[k] : "";
}

bool csv_import(struct csv *c, csv_row_fn row, void *arg, struct csv_counts *n)
{
	int r;
	unsigned long rows = 0;
	char what[160];
	snprintf(what, sizeof(what), "import %s", c->path);
	progress_begin(what, "rows", 0);
	while ((r = csv_next(c)) != 0) {
		progress_step(++rows);
		if (r < 0) {
			n->refused++;
			if (ferror(c->f))
				break;
			continue;
		}
		switch (row(c, arg)) {
		case CSV_ADDED:
			n->added++;
			break;
		case CSV_SAME:
			n->same++;
			break;
		case CSV_REFUSED:
			n->refused++;
			break;
		case CSV_ABORT:
			progress_end();
			return false;
		}
	}
	progress_end();
	n->read_error = ferror(c->f) != 0;
	return true;
}

void csv_write(FILE *out, const char *s, bool last)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, out);
	} else {
		fputc('"', out);
		for (; *s; s++) {
			if (*s == '"')
				fputc('"', out);
			fputc(*s, out);
		}
		fputc('"', out);
	}
	fputc(last ? '\n' : ',', out);
}
