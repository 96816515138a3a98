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

#include <time.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

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
	if (!check_known("site list", "school", a->pos[0]))
		return 1;
	PGresult *r = pgq_query(sql_site_list, 1, v);
	if (r == NULL)
		return 1;
	out_table(stdout, r, cols, ARRAY_SIZE(cols));
	PQclear(r);
	return 0;
}

/* The serial as the national platforms print it: upper-case hex, no padding. */
static void seal_serial(X509 *x, char *out, size_t cap)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	const char *h = hex ? hex : "";
	while (h[0] == '0' && h[1] != '\0')
		h++;
	snprintf(out, cap, "%s", h);
	OPENSSL_free(hex);
	BN_free(bn);
}

/* x's PEM (or k's PKCS#8 PEM) as a string (malloc'd); NULL otherwise. */
static char *seal_pem(X509 *x, EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL, *s = NULL;
	bool ok = b && (x ? PEM_write_bio_X509(b, x)
			  : PEM_write_bio_PKCS8PrivateKey(b, k, NULL, NULL, 0, NULL, NULL)) == 1;
	long n = ok ? BIO_get_mem_data(b, &p) : 0;
	if (n > 0 && (s = malloc((size_t)n + 1)) != NULL) {
		memcpy(s, p, (size_t)n);
		s[n] = '\0';
	}
	BIO_free(b);
	return s;
}

/* school seal CODE --p12 FILE --pass-file FILE */
int schools_seal(const struct args *a)
{
	const char *code = a->pos[0], *p12 = a->opt[0], *passfile = a->opt[1];
	if (!check_label("school code", code, 64))
		return 2;
	if (p12 == NULL || passfile == NULL) {
		fprintf(stderr, "hoursctl: school seal: --p12 FILE and --pass-file FILE are "
				"required\n");
		return 2;
	}
	size_t len = 0;
	char *der = check_read_file(p12, &len), *pass = check_read_file(passfile, NULL);
	if (der == NULL || pass == NULL) {
		fprintf(stderr, "hoursctl: school seal: cannot read %s\n", der ? passfile : p12);
		free(der);
		free(pass);
		return 1;
	}
	pass[strcspn(pass, "\r\n")] = '\0';
	const unsigned char *q = (const unsigned char *)der;
	PKCS12 *pk = d2i_PKCS12(NULL, &q, (long)len);
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	int rc = 1;
	char serial[80], notafter[24], *cert = NULL, *key = NULL;
	if (pk == NULL || PKCS12_parse(pk, pass, &k, &x, NULL) != 1 || k == NULL || x == NULL) {
		fprintf(stderr,
			"hoursctl: school seal: %s: not a PKCS#12 with a key and its "
			"certificate, or a wrong password\n",
			p12);
		goto out;
	}
	if (!EVP_PKEY_is_a(k, "RSA") || EVP_PKEY_get_bits(k) != 2048 ||
	    X509_check_private_key(x, k) != 1) {
		fprintf(stderr,
			"hoursctl: school seal: %s: an RSA-2048 key and its own "
			"certificate expected (esignature is 512 hex digits)\n",
			p12);
		goto out;
	}
	struct tm tm;
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1 ||
	    (cert = seal_pem(x, NULL)) == NULL || (key = seal_pem(NULL, k)) == NULL) {
		fprintf(stderr, "hoursctl: school seal: %s: cannot read the certificate\n", p12);
		goto out;
	}
	seal_serial(x, serial, sizeof(serial));
	snprintf(notafter, sizeof(notafter), "%lld", (long long)timegm(&tm));
	const char *v[5] = {code, cert, key, serial, notafter};
	PGresult *r = pgq_query(sql_school_seal, 5, v);
	if (r == NULL)
		goto out;
	if (PQntuples(r) == 1) {
		printf("school %s: seal serial %s, valid until %s\n", code,
		       PQgetvalue(r, 0, SCHOOL_SEAL_SERIAL),
		       PQgetvalue(r, 0, SCHOOL_SEAL_NOT_AFTER));
		rc = 0;
	} else {
		fprintf(stderr, "hoursctl: school seal: no school %s\n", code);
	}
	PQclear(r);
out:
	if (key)
		OPENSSL_cleanse(key, strlen(key));
	OPENSSL_cleanse(pass, strlen(pass));
	free(cert);
	free(key);
	free(der);
	free(pass);
	EVP_PKEY_free(k);
	X509_free(x);
	PKCS12_free(pk);
	return rc;
}
