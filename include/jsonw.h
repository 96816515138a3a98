/*
 * jsonw.h - an append-only JSON writer (once the batch document's).
 *
 * The store sent each batch to PostgreSQL as one JSON document of flat
 * objects (integers, booleans, ASCII text, hex bytes); it now sends
 * binary arrays (rows.h), whose text columns keep this writer's reading
 * of bytes (Latin-1), and rows.c uses it as a text buffer.  Built as a
 * jansson tree and dumped, it cost a fifth of hoursd's instructions per
 * record (callgrind, docs/architecture.md); written straight into one
 * buffer it costs a small fraction of that.  jansson stays the reader and
 * the writer everywhere else, and is the oracle of tests/check_jsonw.c.
 *
 * Keys are the caller's constants and are written as given.  Strings are
 * escaped so that any bytes make valid JSON that jsonb takes (in a UTF-8
 * database, as hoursd's are):
 * '"', '\\' and control bytes as escapes, bytes of 0x80 and above as
 * \u0080..\u00ff (read as Latin-1: hoursd's text fields are ASCII, so
 * this only keeps hostile bytes from breaking the document).
 */
#ifndef HOURSD_JSONW_H
#define HOURSD_JSONW_H

#include "hoursd.h"

struct jsonw {
	char *buf;
	size_t len, cap;
	bool comma; /* the next value or member needs a ',' before it */
};

/* Empty w, keeping its memory. */
void jsonw_reset(struct jsonw *w);
void jsonw_free(struct jsonw *w);

/* '{' of an object that is the next element of the array being written. */
void jsonw_object_begin(struct jsonw *w);
void jsonw_object_end(struct jsonw *w);

void jsonw_int(struct jsonw *w, const char *key, long long v);
/* v, or null when present is false. */
void jsonw_int_or_null(struct jsonw *w, const char *key, long long v, bool present);
void jsonw_bool(struct jsonw *w, const char *key, bool v);
/* s escaped, or null when s is NULL. */
void jsonw_str(struct jsonw *w, const char *key, const char *s);
/* The n bytes at p as lowercase hex text. */
void jsonw_hex(struct jsonw *w, const char *key, const uint8_t *p, size_t n);

/* Append the raw text t (already JSON). */
void jsonw_raw(struct jsonw *w, const char *t, size_t n);

#endif
