/*
 * rows.c - see rows.h.
 */
#include "hoursd.h"
#include "rows.h"
#include "jsonw.h"
#include "log.h"

#include <stddef.h>

#define ROW_COLUMN(st, name, type) {#name, ROW_T_##type, offsetof(struct st, name)},
#define POSITION_COLUMN(name, type) ROW_COLUMN(row_position, name, type)
#define EVENT_COLUMN(name, type) ROW_COLUMN(row_event, name, type)
#define RECORD_COLUMN(name, type) ROW_COLUMN(row_record, name, type)
#define PHOTO_COLUMN(name, type) ROW_COLUMN(row_photo, name, type)

static const struct row_column position_columns[] = {ROW_POSITION(POSITION_COLUMN)};
static const struct row_column event_columns[] = {ROW_EVENT(EVENT_COLUMN)};
static const struct row_column record_columns[] = {ROW_RECORD(RECORD_COLUMN)};
static const struct row_column photo_columns[] = {ROW_PHOTO(PHOTO_COLUMN)};

const struct row_schema row_position_schema = {"position", position_columns,
					       ARRAY_SIZE(position_columns)};
const struct row_schema row_event_schema = {"event", event_columns, ARRAY_SIZE(event_columns)};
const struct row_schema row_record_schema = {"record", record_columns, ARRAY_SIZE(record_columns)};
const struct row_schema row_photo_schema = {"photo", photo_columns, ARRAY_SIZE(photo_columns)};

static void *grow(void *p, size_t n)
{
	void *q = realloc(p, n);
	if (q == NULL)
		die("out of memory (%zu bytes)", n);
	return q;
}

static void bytes_append(struct row_bytes *b, const uint8_t *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 4096;
		b->buf = grow(b->buf, b->cap);
	}
	if (n)
		memcpy(b->buf + b->len, p, n);
	b->len += n;
}

void rows_write(struct jsonw *w, struct row_bytes *bytes, const struct row_schema *s,
		const void *row)
{
	char key[64];
	jsonw_object_begin(w);
	for (size_t i = 0; i < s->ncolumns; i++) {
		const struct row_column *c = &s->columns[i];
		const void *v = (const char *)row + c->offset;
		switch (c->type) {
		case ROW_T_INT:
			jsonw_int(w, c->name, *(const ROW_C_INT *)v);
			break;
		case ROW_T_NINT: {
			const ROW_C_NINT *n = v;
			jsonw_int_or_null(w, c->name, n->v, n->set);
			break;
		}
		case ROW_T_BOOL:
			jsonw_bool(w, c->name, *(const ROW_C_BOOL *)v);
			break;
		case ROW_T_TEXT:
			jsonw_str(w, c->name, *(const ROW_C_TEXT *)v);
			break;
		case ROW_T_BYTES: {
			const ROW_C_BYTES *b = v;
			snprintf(key, sizeof(key), "%s_o", c->name);
			jsonw_int(w, key, (long long)bytes->len + 1);
			snprintf(key, sizeof(key), "%s_n", c->name);
			jsonw_int(w, key, (long long)b->n);
			bytes_append(bytes, b->p, b->n);
			break;
		}
		}
	}
	jsonw_object_end(w);
}

char *rows_columns(const struct row_schema *s)
{
	static const char *const sql_type[] = {[ROW_T_INT] = "bigint",
					       [ROW_T_NINT] = "bigint",
					       [ROW_T_BOOL] = "boolean",
					       [ROW_T_TEXT] = "text"};
	struct jsonw out = {0}; /* used as a growing text buffer */
	for (size_t i = 0; i < s->ncolumns; i++) {
		const struct row_column *c = &s->columns[i];
		char col[160];
		int n = c->type == ROW_T_BYTES
				? snprintf(col, sizeof(col), "%s%s_o integer, %s_n integer",
					   i ? ", " : "", c->name, c->name)
				: snprintf(col, sizeof(col), "%s%s %s", i ? ", " : "", c->name,
					   sql_type[c->type]);
		jsonw_raw(&out, col, (size_t)n);
	}
	jsonw_raw(&out, "", 1);
	return out.buf;
}

char *rows_statement(const char *sql)
{
	const struct row_schema *const kinds[] = {&row_position_schema, &row_event_schema,
						  &row_record_schema, &row_photo_schema};
	struct jsonw out = {0};
	const char *p = sql;
	while (*p) {
		const char *at = strchr(p, '@');
		if (at == NULL) {
			jsonw_raw(&out, p, strlen(p));
			break;
		}
		jsonw_raw(&out, p, (size_t)(at - p));
		const char *end = strchr(at + 1, '@');
		const struct row_schema *k = NULL;
		for (size_t i = 0; end && i < ARRAY_SIZE(kinds); i++)
			if ((size_t)(end - at - 1) == strlen(kinds[i]->kind) &&
			    strncmp(at + 1, kinds[i]->kind, (size_t)(end - at - 1)) == 0)
				k = kinds[i];
		if (k == NULL)
			die("rows: unknown placeholder in a statement at \"%.20s\"", at);
		char *cols = rows_columns(k);
		jsonw_raw(&out, cols, strlen(cols));
		free(cols);
		p = end + 1;
	}
	jsonw_raw(&out, "", 1);
	return out.buf;
}
