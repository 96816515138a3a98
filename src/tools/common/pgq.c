/*
 * pgq.c - see pgq.h.
 */
#include "hoursd.h"
#include "common/pgq.h"
#include "common/cfg.h"
#include "conf.h"
#include "queries.h"

static PGconn *db;
static const char *dsn; /* -d */
static int status;	/* the exit status when the database was not reached */

void pgq_init(const char *conninfo)
{
	dsn = conninfo;
}

int pgq_status(void)
{
	return status;
}

/* The conninfo: -d, else the configuration's (copied to buf), else $HOURSD_DB; NULL: said. */
static const char *conninfo(char *buf, size_t len)
{
	if (dsn || cfg_path() == NULL) {
		const char *ci = dsn ? dsn : getenv("HOURSD_DB");
		if (ci == NULL) {
			fprintf(stderr, "hoursctl: no database: give -c FILE or -d CONNINFO, or "
					"set $HOURSD_DB\n");
			status = 2;
		}
		return ci;
	}
	const struct hconf *c = cfg_get();
	if (c == NULL) {
		status = 1;
		return NULL;
	}
	snprintf(buf, len, "%s", c->db_conninfo);
	return buf;
}

/* libpq's message in one line: its hint follows on a tabbed line. */
static void say_connect_error(void)
{
	char msg[1024], *p = msg;
	snprintf(msg, sizeof(msg), "%s", PQerrorMessage(db));
	while ((p = strchr(p, '\n')) != NULL)
		*p = p[1] ? ' ' : '\0';
	for (p = msg; (p = strchr(p, '\t')) != NULL;)
		memmove(p, p + 1, strlen(p));
	fprintf(stderr, "hoursctl: cannot connect: %s\n", msg);
}

/* The session's settings of every connection: warnings only, the time zone. */
static void session(PGconn *c)
{
	PQclear(PQexec(c, sql_session_warnings_only));
	PQclear(PQexec(c, sql_session_time_zone));
}

PGconn *pgq_conn(void)
{
	static char buf[4096];
	if (db || status)
		return db;
	const char *ci = conninfo(buf, sizeof(buf));
	if (ci == NULL)
		return NULL;
	db = PQconnectdb(ci);
	if (PQstatus(db) != CONNECTION_OK) {
		say_connect_error();
		PQfinish(db);
		db = NULL;
		status = 1;
		return NULL;
	}
	session(db);
	return db;
}

PGconn *pgq_conn_more(void)
{
	PQconninfoOption *o = pgq_conn() ? PQconninfo(db) : NULL;
	if (o == NULL)
		return NULL;
	size_t n = 0;
	while (o[n].keyword)
		n++;
	const char **kw = calloc(n + 1, sizeof(*kw)), **val = calloc(n + 1, sizeof(*val));
	size_t k = 0;
	for (size_t i = 0; kw && val && i < n; i++)
		if (o[i].val && o[i].val[0]) {
			kw[k] = o[i].keyword;
			val[k++] = o[i].val;
		}
	PGconn *c = kw && val ? PQconnectdbParams(kw, val, 0) : NULL;
	free(kw);
	free(val);
	PQconninfoFree(o);
	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "hoursctl: cannot connect again: %s",
			c ? PQerrorMessage(c) : "out of memory\n");
		PQfinish(c);
		return NULL;
	}
	session(c);
	return c;
}

void pgq_finish(void)
{
	PQfinish(db);
	db = NULL;
}

PGresult *pgq_exec(const char *sql, int n, const char *const *values)
{
	PGconn *c = pgq_conn();
	return c ? PQexecParams(c, sql, n, NULL, values, NULL, NULL, 0) : NULL;
}

PGresult *pgq_query_in(const char *what, const char *sql, int n, const char *const *values)
{
	PGresult *r = pgq_exec(sql, n, values);
	ExecStatusType st = PQresultStatus(r);
	if (r == NULL || st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	fprintf(stderr, "hoursctl: %s%s%s", what ? what : "", what ? ": " : "", PQerrorMessage(db));
	PQclear(r);
	return NULL;
}

PGresult *pgq_query_on(PGconn *c, const char *sql, int n, const char *const *values, int format)
{
	if (c == NULL)
		c = pgq_conn();
	PGresult *r = c ? PQexecParams(c, sql, n, NULL, values, NULL, NULL, format) : NULL;
	ExecStatusType st = PQresultStatus(r);
	if (r == NULL || st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	fprintf(stderr, "hoursctl: %s", PQerrorMessage(c));
	PQclear(r);
	return NULL;
}

PGresult *pgq_query(const char *sql, int n, const char *const *values)
{
	return pgq_query_in(NULL, sql, n, values);
}

bool pgq_ok(const char *sql, int n, const char *const *values)
{
	PGresult *r = pgq_query(sql, n, values);
	PQclear(r);
	return r != NULL;
}

/* One cell: padded, cut, "-" or a range as its column says; a blank before all but the first. */
static void cell(FILE *out, const struct pgq_col *c, const char *v, const char *v2, bool first)
{
	int w = c->width;
	if (!first)
		fputc(' ', out);
	if ((c->flags & PGQ_DASH) && v[0] == '\0')
		v = "-";
	if (v2)
		fprintf(out, "%s - %s", v, v2);
	else if (c->flags & PGQ_CUT)
		fprintf(out, "%.*s", w, v);
	else /* a negative printf width pads on the right: left-aligned */
		fprintf(out, "%*s", -w, v);
}

void pgq_table(FILE *out, const PGresult *r, const struct pgq_col *cols, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		struct pgq_col title = cols[k];
		title.flags = 0;
		cell(out, &title, cols[k].title, NULL, k == 0);
	}
	fputc('\n', out);
	for (int i = 0; i < PQntuples(r); i++) {
		for (size_t k = 0; k < n; k++) {
			const struct pgq_col *c = &cols[k];
			cell(out, c, PQgetvalue(r, i, c->col),
			     c->flags & PGQ_RANGE ? PQgetvalue(r, i, c->col + 1) : NULL, k == 0);
		}
		fputc('\n', out);
	}
}
