/*
 * migrate.c - hoursctl migrate: the numbered migrations (NNN_NAME.sql) of
 * a directory that the database has not applied yet, each in its own
 * transaction, one migrator at a time; then the roles' grants again.
 */
#include "hoursd.h"
#include "hoursctl.h"
#include "common/pgq.h"
#include "queries.h"

#include <dirent.h>
#include <errno.h>
#include <unistd.h>

#include "paths.h" /* HOURSD_SQLDIR, from make's DATADIR (build/gen/paths.h) */

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Apply one file in its own transaction, unless schema_migrations has it. */
static bool apply_one(const char *dir, const char *name, bool *applied)
{
	const char *v[1] = {name};
	*applied = false;
	PGresult *r = pgq_query(sql_migrate_applied, 1, v);
	if (r == NULL)
		return false;
	bool done = PQntuples(r) > 0;
	PQclear(r);
	if (done)
		return true;
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	char *sql = check_read_file(path, NULL);
	if (sql == NULL) {
		fprintf(stderr, "hoursctl: cannot read %s\n", path);
		return false;
	}
	/* A migration is trusted SQL of several statements: the simple protocol runs it. */
	PGresult *res = PQexec(pgq_conn(), sql);
	free(sql);
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "hoursctl: %s: %s", name, PQerrorMessage(pgq_conn()));
	PQclear(res);
	if (ok)
		ok = pgq_ok(sql_migrate_record, 1, v);
	*applied = ok;
	return ok;
}

/*
 * Where migrate looks without --dir: the sql/ of the source tree when
 * this hoursctl is one its build made (build/hoursctl, build/san/hoursctl:
 * a directory above the program's holds src/tools/hoursctl/main.c and sql/),
 * so that a build applies its own migrations; else the installed
 * HOURSD_SQLDIR.  The working directory plays no part.
 */
static const char *default_sql_dir(void)
{
	static char dir[4096 + 8];
	char exe[4096], probe[4096 + 32];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return HOURSD_SQLDIR;
	exe[n] = '\0';
	for (int up = 0; up < 3; up++) {
		char *slash = strrchr(exe, '/');
		if (slash == NULL || slash == exe)
			break;
		*slash = '\0';
		snprintf(probe, sizeof(probe), "%s/src/tools/hoursctl/main.c", exe);
		if (access(probe, R_OK) != 0)
			continue;
		snprintf(dir, sizeof(dir), "%s/sql", exe);
		if (access(dir, R_OK | X_OK) == 0)
			return dir;
	}
	return HOURSD_SQLDIR;
}

/*
 * After every run, whatever it applied: the roles' grants on every table,
 * view and sequence, those of later migrations included (audit_grants()
 * of 009, docs/audit.md "Roles").
 */
static int apply_grants(void)
{
	PGresult *r = pgq_query(sql_migrate_has_grants, 0, NULL);
	if (r == NULL)
		return 1;
	bool has = PQgetvalue(r, 0, MIGRATE_HAS_GRANTS_HAS_GRANTS)[0] == 't';
	PQclear(r);
	if (!has)
		return 0;
	if (!pgq_ok(sql_migrate_grants, 0, NULL))
		return 1;
	printf("grants: the roles' grants applied to every table and view\n");
	return 0;
}

static int cmd_migrate(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL) {
		fprintf(stderr, "hoursctl: migrate: cannot open the migration directory %s: %s\n",
			dir, strerror(errno));
		return 1;
	}
	char *names[1000];
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && n < ARRAY_SIZE(names)) {
		size_t len = strlen(e->d_name);
		if (len > 4 && strcmp(e->d_name + len - 4, ".sql") == 0 && e->d_name[0] >= '0' &&
		    e->d_name[0] <= '9')
			names[n++] = strdup(e->d_name);
	}
	closedir(d);
	if (n == 0) {
		fprintf(stderr, "hoursctl: migrate: no migrations (NNN_NAME.sql) in %s\n", dir);
		return 1;
	}
	qsort(names, n, sizeof(names[0]), cmp_names);
	/* One migrator at a time, whatever the number of hosts. */
	bool ok = pgq_ok(sql_migrate_lock, 0, NULL) && pgq_ok(sql_migrate_create_table, 0, NULL);
	unsigned count = 0;
	for (size_t i = 0; ok && i < n; i++) {
		bool applied;
		ok = pgq_ok(sql_migrate_begin, 0, NULL) && apply_one(dir, names[i], &applied);
		ok = ok && pgq_ok(sql_migrate_commit, 0, NULL);
		if (!ok && pgq_conn()) /* none: said already, no more */
			PQclear(PQexec(pgq_conn(), sql_migrate_rollback));
		if (ok && applied) {
			printf("applied %s\n", names[i]);
			count++;
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	if (!ok)
		return 1;
	printf("migrations: %u applied, schema up to date\n", count);
	return apply_grants();
}

int migrate_run(const struct args *a)
{
	return cmd_migrate(a->opt[0] ? a->opt[0] : default_sql_dir());
}
