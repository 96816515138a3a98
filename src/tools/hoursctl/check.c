/*
 * check.c - the checks of arguments the sections of hoursctl share, and
 * reading a whole file (see hoursctl.h).
 */
#include "hoursd.h"
#include "hoursctl.h"
#include "common/pgq.h"
#include "queries.h"

#include <errno.h>

char *check_read_file(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	do {
		if (len + 4096 + 1 > cap) {
			cap = (cap + 4096 + 1) * 2;
			char *p = realloc(buf, cap);
			if (p == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = p;
		}
		n = fread(buf + len, 1, 4096, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	if (lenp)
		*lenp = len;
	return buf;
}

/* Codes and names stay listable. */
bool check_label(const char *what, const char *s, size_t max)
{
	size_t n = strlen(s);
	bool ok = n >= 1 && n <= max;
	for (size_t i = 0; ok && i < n; i++)
		ok = (unsigned char)s[i] >= 0x20 && s[i] != 0x7f;
	if (!ok)
		fprintf(stderr, "hoursctl: %s must be 1-%zu printable characters\n", what, max);
	return ok;
}

bool check_uint(const char *name, const char *v, unsigned long lo, unsigned long hi,
		unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long x = strtoul(v, &end, 10);
	if (errno || *end || end == v || v[0] == '-' || x < lo || x > hi) {
		fprintf(stderr, "hoursctl: %s must be a whole number from %lu to %lu\n", name, lo,
			hi);
		return false;
	}
	*out = x;
	return true;
}

bool check_time(const char *name, const char *v, time_t *out)
{
	const char *p[1] = {v};
	/* Its own error, in one line: not the server's (pgq_exec says nothing). */
	PGresult *r = pgq_exec(sql_timestamp_epoch, 1, p);
	if (r == NULL) /* not reached: said */
		return false;
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr,
			"hoursctl: %s: not a timestamp: \"%s\" (YYYY-MM-DD HH:MM, China time; or "
			"with a zone, +08)\n",
			name, v);
		PQclear(r);
		return false;
	}
	*out = (time_t)strtoll(PQgetvalue(r, 0, TIMESTAMP_EPOCH_EPOCH), NULL, 10);
	PQclear(r);
	return true;
}

int check_time_rc(void)
{
	return pgq_status() ? pgq_status() : 2;
}

bool check_known(const char *cmd, const char *kind, const char *key)
{
	if (key == NULL)
		return true;
	const char *v[2] = {kind, key};
	PGresult *r = pgq_query(sql_named_known, 2, v);
	if (r == NULL)
		return false;
	bool known = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, NAMED_KNOWN_KNOWN), "t") == 0;
	PQclear(r);
	if (!known)
		fprintf(stderr, "hoursctl: %s: no %s %s\n", cmd, kind, key);
	return known;
}
