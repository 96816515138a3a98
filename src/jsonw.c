/*
 * jsonw.c - see jsonw.h.
 */
#include "hoursd.h"
#include "jsonw.h"
#include "log.h"

static void grow(struct jsonw *w, size_t more)
{
	if (w->len + more <= w->cap)
		return;
	size_t cap = w->cap ? w->cap : 4096;
	while (cap < w->len + more)
		cap *= 2;
	char *b = realloc(w->buf, cap);
	if (b == NULL)
		die("out of memory (%zu bytes of batch document)", cap);
	w->buf = b;
	w->cap = cap;
}

static void put(struct jsonw *w, const char *s, size_t n)
{
	if (n == 0)
		return; /* s may be the NULL buffer of an empty writer */
	grow(w, n);
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

void jsonw_raw(struct jsonw *w, const char *t, size_t n)
{
	put(w, t, n);
}

void jsonw_reset(struct jsonw *w)
{
	w->len = 0;
	w->comma = false;
}

void jsonw_free(struct jsonw *w)
{
	free(w->buf);
	*w = (struct jsonw){0};
}

void jsonw_object_begin(struct jsonw *w)
{
	if (w->comma)
		put(w, ",{", 2);
	else
		put(w, "{", 1);
	w->comma = false;
}

void jsonw_object_end(struct jsonw *w)
{
	put(w, "}", 1);
	w->comma = true;
}

/* ,"key": */
static void key(struct jsonw *w, const char *k)
{
	size_t n = strlen(k);
	grow(w, n + 4);
	char *p = w->buf + w->len;
	if (w->comma)
		*p++ = ',';
	*p++ = '"';
	memcpy(p, k, n);
	p += n;
	*p++ = '"';
	*p++ = ':';
	w->len = (size_t)(p - w->buf);
	w->comma = true;
}

void jsonw_int(struct jsonw *w, const char *k, long long v)
{
	key(w, k);
	char tmp[24], *p = tmp + sizeof(tmp);
	/* Digits of |v| backwards, without overflow at LLONG_MIN. */
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	put(w, p, (size_t)(tmp + sizeof(tmp) - p));
}

void jsonw_int_or_null(struct jsonw *w, const char *k, long long v, bool present)
{
	if (present) {
		jsonw_int(w, k, v);
	} else {
		key(w, k);
		put(w, "null", 4);
	}
}

void jsonw_bool(struct jsonw *w, const char *k, bool v)
{
	key(w, k);
	put(w, v ? "true" : "false", v ? 4 : 5);
}

static const char hexdig[] = "0123456789abcdef";

void jsonw_str(struct jsonw *w, const char *k, const char *s)
{
	key(w, k);
	if (s == NULL) {
		put(w, "null", 4);
		return;
	}
	size_t n = strlen(s);
	grow(w, 6 * n + 2); /* the worst case: every byte as \u00XX */
	char *p = w->buf + w->len;
	*p++ = '"';
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\') {
			*p++ = '\\';
			*p++ = (char)*c;
		} else if (*c >= 0x20 && *c < 0x7f) {
			*p++ = (char)*c;
		} else {
			memcpy(p, "\\u00", 4);
			p[4] = hexdig[*c >> 4];
			p[5] = hexdig[*c & 15];
			p += 6;
		}
	}
	*p++ = '"';
	w->len = (size_t)(p - w->buf);
}

void jsonw_hex(struct jsonw *w, const char *k, const uint8_t *b, size_t n)
{
	key(w, k);
	grow(w, 2 * n + 3); /* log_hex needs room for its NUL and one more */
	w->buf[w->len++] = '"';
	log_hex(w->buf + w->len, 2 * n + 2, b, n, n);
	w->len += 2 * n;
	w->buf[w->len++] = '"'; /* over log_hex's NUL */
}
