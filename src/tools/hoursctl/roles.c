/*
 * roles.c - hoursctl role add: a login of one of the roles of
 * docs/audit.md ("Roles").  The password (first line of the file) goes to
 * the server as a SCRAM verifier made here, never in clear.
 */
#include "hoursd.h"
#include "hoursctl.h"
#include "common/pgq.h"
#include "queries.h"

#include <openssl/crypto.h>

static const char *const kinds[] = {"hoursd", "auditor", "district-auditor", "liaison"};
#define DISTRICT_AUDITOR 2

/* KIND NAME [--district D] checked: the kind's index, or -1 (said). */
static int role_kind(const char *kind, const char *name, const char *district)
{
	int k = 0;
	while (k < (int)ARRAY_SIZE(kinds) && strcmp(kinds[k], kind) != 0)
		k++;
	if (k == (int)ARRAY_SIZE(kinds)) {
		fprintf(stderr,
			"hoursctl: role add: KIND is hoursd, auditor, district-auditor or "
			"liaison, not \"%s\"\n",
			kind);
		return -1;
	}
	size_t n = strlen(name);
	if (n < 1 || n > 63 || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != n ||
	    (name[0] >= '0' && name[0] <= '9') || strncmp(name, "pg_", 3) == 0) {
		fprintf(stderr,
			"hoursctl: role add: NAME \"%s\": 1-63 of a-z, 0-9 and _, not "
			"starting with a digit or pg_\n",
			name);
		return -1;
	}
	if ((k == DISTRICT_AUDITOR) != (district != NULL)) {
		fprintf(stderr, "hoursctl: role add: --district D goes with district-auditor, "
				"and only with it\n");
		return -1;
	}
	return district && !check_label("district", district, 64) ? -1 : k;
}

/* The first line of file: the password (malloc'd); NULL with *rc set (said) otherwise. */
static char *password(const char *file, int *rc)
{
	char *pass = check_read_file(file, NULL);
	if (pass == NULL) {
		fprintf(stderr, "hoursctl: role add: cannot read %s\n", file);
		*rc = 1;
		return NULL;
	}
	pass[strcspn(pass, "\r\n")] = '\0';
	if (pass[0] != '\0')
		return pass;
	fprintf(stderr, "hoursctl: role add: %s: an empty password\n", file);
	free(pass);
	*rc = 2;
	return NULL;
}

/* The password's SCRAM verifier for name (PQfreemem), made by libpq; NULL (said) otherwise. */
static char *verifier(char *pass, const char *name)
{
	char *v = NULL;
	PGconn *c = pgq_conn();
	if (c) {
		v = PQencryptPasswordConn(c, pass, name, "scram-sha-256");
		if (v == NULL)
			fprintf(stderr, "hoursctl: role add: %s", PQerrorMessage(c));
	}
	OPENSSL_cleanse(pass, strlen(pass));
	free(pass);
	return v;
}

/* role add hoursd|auditor|district-auditor|liaison NAME [--district D] [--password-file F] */
int roles_add(const struct args *a)
{
	const char *kind = a->pos[0], *name = a->pos[1], *district = a->opt[0];
	char *pass = NULL, *scram = NULL;
	int rc = 0;
	if (role_kind(kind, name, district) < 0)
		return 2;
	if (a->opt[1] && (pass = password(a->opt[1], &rc)) == NULL)
		return rc;
	if (pass && (scram = verifier(pass, name)) == NULL)
		return 1;
	const char *v[4] = {kind, name, district, scram};
	PGresult *r = pgq_query(sql_role_add, 4, v);
	PQfreemem(scram);
	if (r == NULL)
		return 1;
	printf("role %s %s: %s%s%s\n", name,
	       PQgetvalue(r, 0, ROLE_ADD_AUDIT_ROLE_ADD)[0] == 't' ? "created" : "updated", kind,
	       district ? " of district " : "", district ? district : "");
	PQclear(r);
	return 0;
}
