/*
 * schools.c - hoursctl school add, set-district and list; site import and
 * list: the schools, the district whose auditors see each, and their
 * training sites (GeoJSON checked by the code hoursd uses).
 */
#include "hoursd.h"
#include "hoursctl.h"
#include "common/out.h"
#include "common/pgq.h"
#include "geo.h"
#include "queries.h"

/* school add CODE NAME [--district D] */
int schools_add(const struct args *a)
{
	const char *code = a->pos[0], *name = a->pos[1], *district = a->opt[0];
	if (!check_label("school code", code, 64) || !check_label("school name", name, 200) ||
	    (district && !check_label("district", district, 64)))
		return 2;
	const char *v[3] = {code, name, district};
	PGresult *r = pgq_query(sql_school_add, 3, v);
	if (r == NULL)
		return 1;
	printf("school %s %s (id %s)\n", code,
	       PQgetvalue(r, 0, SCHOOL_ADD_ADDED)[0] == 't' ? "added" : "updated",
	       PQgetvalue(r, 0, SCHOOL_ADD_ID));
	PQclear(r);
	return 0;
}

int schools_list(const struct args *a)
{
	static const struct pgq_col cols[] = {
		{"code", SCHOOL_LIST_CODE, 20, 0},
		{"sites", SCHOOL_LIST_SITES, 5, 0},
		{"terminals", SCHOOL_LIST_TERMINALS, 9, 0},
		{"district", SCHOOL_LIST_DISTRICT, 12, PGQ_DASH},
		{"name", SCHOOL_LIST_NAME, 0, 0},
	};
	PGresult *r = pgq_query(sql_school_list, 0, NULL);
	if (r == NULL)
		return 1;
	out_table(stdout, r, cols, ARRAY_SIZE(cols));
	PQclear(r);
	return 0;
}

/* school set-district CODE DISTRICT|none: "none" takes it out of any district. */
int schools_set_district(const struct args *a)
{
	const char *code = a->pos[0], *district = a->pos[1];
	bool none = strcmp(district, "none") == 0;
	if (!check_label("school code", code, 64) ||
	    (!none && !check_label("district", district, 64)))
		return 2;
	const char *v[2] = {code, none ? NULL : district};
	PGresult *r = pgq_query(sql_school_set_district, 2, v);
	if (r == NULL)
		return 1;
	int rc = PQntuples(r) == 1 ? 0 : 1;
	if (rc)
		fprintf(stderr, "hoursctl: school set-district: no school %s\n", code);
	else
		printf("school %s: district %s\n", code, none ? "none" : district);
	PQclear(r);
	return rc;
}

/*
 * The file parsed by the same code hoursd uses, its normalized form (one
 * MultiPolygon, exact 6-decimal coordinates) into json; polygons and
 * points counted.  False (said) otherwise.
 */
static bool site_read(const char *path, char **json, char polygons[24], char points[24])
{
	char err[256];
	size_t len;
	char *text = check_read_file(path, &len);
	if (text == NULL) {
		fprintf(stderr, "hoursctl: cannot read %s\n", path);
		return false;
	}
	struct geo_site *site = geo_site_parse(text, len, err, sizeof(err));
	free(text);
	if (site == NULL) {
		fprintf(stderr, "hoursctl: %s: %s\n", path, err);
		return false;
	}
	snprintf(polygons, 24, "%zu", geo_site_polygons(site));
	snprintf(points, 24, "%zu", geo_site_points(site));
	*json = geo_site_to_geojson(site);
	geo_site_free(site);
	if (*json == NULL)
		fprintf(stderr, "hoursctl: out of memory\n");
	return *json != NULL;
}

/*
 * site import SCHOOL_CODE SITE_NAME FILE.geojson [--kind field|road]:
 * what is stored is the normalized form, so hoursd never meets a site it
 * would refuse.  kind NULL: field for a new site, unchanged for a
 * replaced one.
 */
int schools_site_import(const struct args *a)
{
	const char *school_code = a->pos[0], *name = a->pos[1], *kind = a->opt[0];
	char polygons[24], points[24], *norm;
	if (kind && strcmp(kind, "field") != 0 && strcmp(kind, "road") != 0) {
		fprintf(stderr, "hoursctl: site import: --kind is field or road, not \"%s\"\n",
			kind);
		return 2;
	}
	if (!check_label("site name", name, 200))
		return 2;
	if (!site_read(a->pos[2], &norm, polygons, points))
		return 1;
	const char *v[4] = {school_code, name, kind, norm};
	PGresult *r = pgq_query(sql_site_import, 4, v);
	free(norm);
	if (r == NULL)
		return 1;
	int rc = PQntuples(r) == 0;
	if (rc)
		fprintf(stderr, "hoursctl: no school %s\n", school_code);
	else
		printf("site \"%s\" of school %s %s (id %s, %s, polygons %s, points %s)\n", name,
		       school_code,
		       PQgetvalue(r, 0, SITE_IMPORT_IMPORTED)[0] == 't' ? "imported" : "replaced",
		       PQgetvalue(r, 0, SITE_IMPORT_ID), PQgetvalue(r, 0, SITE_IMPORT_KIND),
		       polygons, points);
	PQclear(r);
	return rc;
}

/* site list [SCHOOL_CODE]: counts from the stored form, coordinates[polygon][ring][position]. */
int schools_site_list(const struct args *a)
{
	static const struct pgq_col cols[] = {
		{"school", SITE_LIST_CODE, 20, 0},  {"site", SITE_LIST_NAME, 24, 0},
		{"kind", SITE_LIST_KIND, 5, 0},	    {"polygons", SITE_LIST_POLYGONS, 8, 0},
		{"points", SITE_LIST_POINTS, 8, 0}, {"updated", SITE_LIST_UPDATED, 0, 0},
	};
	const char *v[1] = {a->pos[0]};
	PGresult *r = pgq_query(sql_site_list, 1, v);
	if (r == NULL)
		return 1;
	out_table(stdout, r, cols, ARRAY_SIZE(cols));
	PQclear(r);
	return 0;
}
