/*
 * out.c - see out.h.
 */
#include "hoursd.h"
#include "common/out.h"

#include <ctype.h>
#include <jansson.h>

/* PostgreSQL's type oids (pg_type.dat) for typed JSON values. */
#define OID_BOOL 16
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_NUMERIC 1700

static enum out_format format = OUT_TEXT;
static json_t *sections; /* a show's tables in json, until out_end() */

bool out_set(const char *cmd, const char *value)
{
	static const char *const names[] = {"text", "csv", "json"};
	if (value == NULL) {
		format = OUT_TEXT;
		return true;
	}
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strcmp(value, names[i]) == 0) {
			format = (enum out_format)i;
			return true;
		}
	fprintf(stderr, "hoursctl: %s: --format is text, csv or json, not \"%s\"\n", cmd, value);
	return false;
}

enum out_format out_format(void)
{
	return format;
}

/*
 * A title as a key: lower-case letters and digits, every other run of
 * characters one '_', a remark in parentheses left out ("start - end
 * (UTC+8)": start_end, "next attempt": next_attempt).
 */
static void key_of(const char *title, const char *suffix, char *buf, size_t len)
{
	size_t k = 0;
	for (const char *p = title; *p && *p != '(' && k + 1 < len; p++) {
		if (isalnum((unsigned char)*p))
			buf[k++] = (char)tolower((unsigned char)*p);
		else if (k > 0 && buf[k - 1] != '_')
			buf[k++] = '_';
	}
	while (k > 0 && buf[k - 1] == '_')
		k--;
	buf[k] = '\0';
	if (suffix)
		snprintf(buf + k, len - k, "%s", suffix);
}

static json_t *value_of(const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return json_null();
	const char *v = PQgetvalue(r, row, col);
	switch (PQftype(r, col)) {
	case OID_BOOL:
		return json_boolean(v[0] == 't');
	case OID_INT2:
	case OID_INT4:
	case OID_INT8:
		return json_integer(strtoll(v, NULL, 10));
	case OID_FLOAT4:
	case OID_FLOAT8:
	case OID_NUMERIC:
		return json_real(strtod(v, NULL));
	default:
		return json_string(v);
	}
}

static json_t *json_rows(const PGresult *r, const struct pgq_col *cols, size_t n)
{
	json_t *rows = json_array();
	char key[128];
	for (int i = 0; i < PQntuples(r); i++) {
		json_t *o = json_object();
		for (size_t k = 0; k < n; k++) {
			const struct pgq_col *c = &cols[k];
			key_of(c->title, c->flags & PGQ_RANGE ? "_from" : NULL, key, sizeof(key));
			json_object_set_new(o, key, value_of(r, i, c->col));
			if (c->flags & PGQ_RANGE) {
				key_of(c->title, "_to", key, sizeof(key));
				json_object_set_new(o, key, value_of(r, i, c->col + 1));
			}
		}
		json_array_append_new(rows, o);
	}
	return rows;
}

static void csv_field(FILE *out, const char *v, bool first)
{
	if (!first)
		fputc(',', out);
	if (strpbrk(v, ",\"\r\n") == NULL) {
		fputs(v, out);
		return;
	}
	fputc('"', out);
	for (const char *p = v; *p; p++) {
		if (*p == '"')
			fputc('"', out);
		fputc(*p, out);
	}
	fputc('"', out);
}

static void csv_table(FILE *out, const PGresult *r, const struct pgq_col *cols, size_t n)
{
	char key[128];
	for (size_t k = 0; k < n; k++) {
		bool range = cols[k].flags & PGQ_RANGE;
		key_of(cols[k].title, range ? "_from" : NULL, key, sizeof(key));
		csv_field(out, key, k == 0);
		if (range) {
			key_of(cols[k].title, "_to", key, sizeof(key));
			csv_field(out, key, false);
		}
	}
	fputs("\r\n", out);
	for (int i = 0; i < PQntuples(r); i++) {
		for (size_t k = 0; k < n; k++) {
			csv_field(out, PQgetvalue(r, i, cols[k].col), k == 0);
			if (cols[k].flags & PGQ_RANGE)
				csv_field(out, PQgetvalue(r, i, cols[k].col + 1), false);
		}
		fputs("\r\n", out);
	}
}

static void json_print(FILE *out, json_t *j)
{
	json_dumpf(j, out, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	fputc('\n', out);
	json_decref(j);
}

void out_table(FILE *out, const PGresult *r, const struct pgq_col *cols, size_t n)
{
	switch (format) {
	case OUT_TEXT:
		pgq_table(out, r, cols, n);
		break;
	case OUT_CSV:
		csv_table(out, r, cols, n);
		break;
	case OUT_JSON:
		json_print(out, json_rows(r, cols, n));
		break;
	}
}

void out_section(FILE *out, const char *name, const char *title, const PGresult *r,
		 const struct pgq_col *cols, size_t n)
{
	switch (format) {
	case OUT_TEXT:
		if (title)
			fprintf(out, "%s", title);
		pgq_table(out, r, cols, n);
		break;
	case OUT_CSV:
		fprintf(out, "# %s\r\n", name);
		csv_table(out, r, cols, n);
		break;
	case OUT_JSON:
		if (sections == NULL)
			sections = json_object();
		json_object_set_new(sections, name, json_rows(r, cols, n));
		break;
	}
}

static json_t *row_object(const PGresult *r, int i)
{
	json_t *o = json_object();
	for (int k = 0; k < PQnfields(r); k++)
		json_object_set_new(o, PQfname(r, k), value_of(r, i, k));
	return o;
}

bool out_show(const char *name, const PGresult *r, bool one)
{
	if (format == OUT_TEXT)
		return false;
	if (format == OUT_CSV) {
		printf("# %s\r\n", name);
		for (int k = 0; k < PQnfields(r); k++)
			csv_field(stdout, PQfname(r, k), k == 0);
		fputs("\r\n", stdout);
		for (int i = 0; i < (one && PQntuples(r) > 1 ? 1 : PQntuples(r)); i++) {
			for (int k = 0; k < PQnfields(r); k++)
				csv_field(stdout, PQgetvalue(r, i, k), k == 0);
			fputs("\r\n", stdout);
		}
		return true;
	}
	if (sections == NULL)
		sections = json_object();
	json_t *v;
	if (one) {
		v = PQntuples(r) > 0 ? row_object(r, 0) : json_null();
	} else {
		v = json_array();
		for (int i = 0; i < PQntuples(r); i++)
			json_array_append_new(v, row_object(r, i));
	}
	json_object_set_new(sections, name, v);
	return true;
}

void out_end(FILE *out)
{
	if (format == OUT_JSON)
		json_print(out, sections ? sections : json_object());
	sections = NULL;
}
