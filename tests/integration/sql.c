/*
 * sql.c - every statement against the schema; the tcase "sql".
 *
 * Each statement of sql/queries/ (sql_statements[], scripts/sql2c.sh)
 * prepared on a fresh copy of the migrated template and described: its
 * result columns, their number and names in order, are those its
 * "-- columns:" line gives, which the C code reads them by (queries.h),
 * and a statement without the line returns none.  Every statement is
 * prepared alone, the transaction commands and DDL included; ingest.sql
 * is prepared as ingest.c sends it, its unnest() lists spliced in
 * (rows_statement()).
 */
#include "harness.h"
#include "queries.h"
#include "rows.h"

START_TEST(test_statements_return_their_columns)
{
	PGconn *c = db_connect(test_ci);
	ck_assert_uint_gt(sql_nstatements, 0);
	for (size_t i = 0; i < sql_nstatements; i++) {
		const struct sql_statement *st = &sql_statements[i];
		char *text = strcmp(st->name, "ingest") == 0 ? rows_statement(st->text)
							     : strdup(st->text);
		ck_assert_ptr_nonnull(text);
		PGresult *r = PQprepare(c, "", text, 0, NULL);
		ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s.sql: %s", st->name,
			      PQerrorMessage(c));
		PQclear(r);
		r = PQdescribePrepared(c, "");
		ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s.sql: %s", st->name,
			      PQerrorMessage(c));
		char got[2048] = "";
		for (int j = 0; j < PQnfields(r); j++) {
			size_t n = strlen(got);
			int w = snprintf(got + n, sizeof(got) - n, "%s%s", j ? ", " : "",
					 PQfname(r, j));
			ck_assert_msg(w >= 0 && (size_t)w < sizeof(got) - n,
				      "%s.sql: too many columns", st->name);
		}
		if (st->columns == NULL)
			ck_assert_msg(PQnfields(r) == 0,
				      "%s.sql returns %d columns (%s) and has no -- columns: line",
				      st->name, PQnfields(r), got);
		else
			ck_assert_msg(strcmp(got, st->columns) == 0,
				      "%s.sql returns \"%s\", its -- columns: line says \"%s\"",
				      st->name, got, st->columns);
		PQclear(r);
		free(text);
	}
	PQfinish(c);
}
END_TEST

TCase *tcase_sql(void)
{
	TCase *tc = tcase_create("sql");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_statements_return_their_columns);
	return tc;
}
