/*
 * rows.c - see rows.h.
 *
 * An array in PostgreSQL's binary format (array_recv): the number of
 * dimensions (1), whether any element is null, the element type's OID,
 * the dimension's length and lower bound (1); then each element, its
 * length (-1: null) and its bytes in the type's binary format (int8: 8
 * bytes big-endian; bool: 1 byte; text: the characters in the client
 * encoding, UTF-8; bytea: the bytes).  Each column keeps the header's 20
 * bytes first and fills them when the batch is sent.
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

_Static_assert(ARRAY_SIZE(position_columns) <= ROWS_MAX_COLUMNS &&
		       ARRAY_SIZE(event_columns) <= ROWS_MAX_COLUMNS &&
		       ARRAY_SIZE(record_columns) <= ROWS_MAX_COLUMNS &&
		       ARRAY_SIZE(photo_columns) <= ROWS_MAX_COLUMNS,
	       "a kind has more columns than ROWS_MAX_COLUMNS");

/* The element types: their OIDs (pg_type.h) and names. */
static const struct {
	uint32_t oid;
	const char *name;
} elem[] = {[ROW_T_INT] = {20, "bigint"},
	    [ROW_T_NINT] = {20, "bigint"},
	    [ROW_T_BOOL] = {16, "boolean"},
	    [ROW_T_TEXT] = {25, "text"},
	    [ROW_T_BYTES] = {17, "bytea"}};

#define HEADER 20

static void *grow(void *p, size_t n)
{
	void *q = realloc(p, n);
	if (q == NULL)
		die("out of memory (%zu bytes)", n);
	return q;
}

/* Room for n more bytes; returns where they go (len not moved). */
static uint8_t *room(struct row_bytes *b, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 256;
		b->buf = grow(b->buf, b->cap);
	}
	return b->buf + b->len;
}

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put_i64(struct row_bytes *b, int64_t v)
{
	uint8_t *p = room(b, 12);
	be32(p, 8);
	uint64_t u = (uint64_t)v;
	for (int i = 0; i < 8; i++)
		p[4 + i] = (uint8_t)(u >> (56 - 8 * i));
	b->len += 12;
}

static void put_null(struct row_array *a)
{
	be32(room(&a->b, 4), UINT32_MAX); /* -1 */
	a->b.len += 4;
	a->has_null = true;
}

void rows_init(struct row_set *set, const struct row_schema *s)
{
	memset(set, 0, sizeof(*set));
	set->s = s;
	rows_reset(set);
}

void rows_reset(struct row_set *set)
{
	set->n = 0;
	for (size_t i = 0; i < set->s->ncolumns; i++) {
		struct row_array *a = &set->col[i];
		room(&a->b, HEADER);
		a->b.len = HEADER;
		a->has_null = false;
	}
}

void rows_free(struct row_set *set)
{
	for (size_t i = 0; i < ROWS_MAX_COLUMNS; i++)
		free(set->col[i].b.buf);
}

void rows_add(struct row_set *set, const void *row)
{
	const struct row_schema *s = set->s;
	for (size_t i = 0; i < s->ncolumns; i++) {
		const struct row_column *c = &s->columns[i];
		const void *v = (const char *)row + c->offset;
		struct row_array *a = &set->col[i];
		switch (c->type) {
		case ROW_T_INT:
			put_i64(&a->b, *(const ROW_C_INT *)v);
			break;
		case ROW_T_NINT: {
			const ROW_C_NINT *n = v;
			if (n->set)
				put_i64(&a->b, n->v);
			else
				put_null(a);
			break;
		}
		case ROW_T_BOOL: {
			uint8_t *p = room(&a->b, 5);
			be32(p, 1);
			p[4] = *(const ROW_C_BOOL *)v ? 1 : 0;
			a->b.len += 5;
			break;
		}
		case ROW_T_TEXT: {
			const char *t = *(const ROW_C_TEXT *)v;
			if (t == NULL) {
				put_null(a);
				break;
			}
			/* Each byte a character (Latin-1), in UTF-8: at most two bytes each. */
			size_t n = strlen(t);
			uint8_t *p = room(&a->b, 4 + 2 * n), *q = p + 4;
			for (const unsigned char *c8 = (const unsigned char *)t; *c8; c8++) {
				if (*c8 < 0x80) {
					*q++ = *c8;
				} else {
					*q++ = (uint8_t)(0xc0 | (*c8 >> 6));
					*q++ = (uint8_t)(0x80 | (*c8 & 0x3f));
				}
			}
			be32(p, (uint32_t)(q - p - 4));
			a->b.len += (size_t)(q - p);
			break;
		}
		case ROW_T_BYTES: {
			const ROW_C_BYTES *b = v;
			if (b->n > INT32_MAX)
				die("rows: a value of %zu bytes", b->n);
			uint8_t *p = room(&a->b, 4 + b->n);
			be32(p, (uint32_t)b->n);
			if (b->n)
				memcpy(p + 4, b->p, b->n);
			a->b.len += 4 + b->n;
			break;
		}
		}
	}
	set->n++;
}

unsigned rows_params(struct row_set *set, const char **values, int *lengths, int *formats)
{
	const struct row_schema *s = set->s;
	for (size_t i = 0; i < s->ncolumns; i++) {
		struct row_array *a = &set->col[i];
		if (a->b.len > INT32_MAX)
			die("rows: a column of %zu bytes", a->b.len);
		uint8_t *h = a->b.buf;
		be32(h, 1);		  /* dimensions */
		be32(h + 4, a->has_null); /* has nulls */
		be32(h + 8, elem[s->columns[i].type].oid);
		be32(h + 12, set->n); /* the dimension's length */
		be32(h + 16, 1);      /* its lower bound */
		values[i] = (const char *)h;
		lengths[i] = (int)a->b.len;
		formats[i] = 1;
	}
	return (unsigned)s->ncolumns;
}

/* unnest($first::type[], ...) AS x(name, ...) into out. */
static void unnest_of(struct jsonw *out, const struct row_schema *s, unsigned first)
{
	char col[160];
	jsonw_raw(out, "unnest(", 7);
	for (size_t i = 0; i < s->ncolumns; i++) {
		int n = snprintf(col, sizeof(col), "%s$%u::%s[]", i ? ", " : "",
				 first + (unsigned)i, elem[s->columns[i].type].name);
		jsonw_raw(out, col, (size_t)n);
	}
	jsonw_raw(out, ") AS x(", 7);
	for (size_t i = 0; i < s->ncolumns; i++) {
		int n = snprintf(col, sizeof(col), "%s%s", i ? ", " : "", s->columns[i].name);
		jsonw_raw(out, col, (size_t)n);
	}
	jsonw_raw(out, ")", 1);
}

char *rows_statement(const char *sql)
{
	const struct row_schema *const kinds[] = {&row_position_schema, &row_event_schema,
						  &row_record_schema, &row_photo_schema};
	struct jsonw out = {0}; /* used as a growing text buffer */
	const char *p = sql;
	while (*p) {
		const char *at = strchr(p, '@');
		if (at == NULL) {
			jsonw_raw(&out, p, strlen(p));
			break;
		}
		jsonw_raw(&out, p, (size_t)(at - p));
		const char *end = strchr(at + 1, '@');
		unsigned first = 1;
		const struct row_schema *k = NULL;
		for (size_t i = 0; end && i < ARRAY_SIZE(kinds) && k == NULL; i++) {
			if ((size_t)(end - at - 1) == strlen(kinds[i]->kind) &&
			    strncmp(at + 1, kinds[i]->kind, (size_t)(end - at - 1)) == 0)
				k = kinds[i];
			else
				first += (unsigned)kinds[i]->ncolumns;
		}
		if (k == NULL)
			die("rows: unknown placeholder in a statement at \"%.20s\"", at);
		unnest_of(&out, k, first);
		p = end + 1;
	}
	jsonw_raw(&out, "", 1);
	return out.buf;
}
