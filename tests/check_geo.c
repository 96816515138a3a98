/*
 * check_geo.c - unit tests for training-site geometry (src/geo.c).
 *
 * Shapes are written as GeoJSON with small whole-degree coordinates, so
 * that "on the edge" is exact; where() takes (longitude, latitude) in
 * degrees, the GeoJSON order.  The sample site is conf/site-sample.geojson
 * (GEO_SAMPLE overrides the path).  The fuzz test compares geo_locate with
 * a slow winding-number reference on random simple polygons.
 */
#include "hoursd.h"
#include "geo.h"
#include "testutil.h"

#include <check.h>
#include <math.h>

#define D(v) ((int32_t)llround((v)*1e6))

static struct geo_site *site_of(const char *json)
{
	char err[256] = "";
	struct geo_site *s = geo_site_parse(json, strlen(json), err, sizeof(err));
	ck_assert_msg(s != NULL, "parse failed: %s\n%s", err, json);
	return s;
}

static enum geo_place where(const struct geo_site *s, double lon, double lat)
{
	return geo_locate(s, D(lat), D(lon));
}

/* The parse error for json, which must be refused. */
static const char *parse_error(const char *json, size_t len)
{
	static char err[256];
	err[0] = '\0';
	struct geo_site *s = geo_site_parse(json, len, err, sizeof(err));
	ck_assert_msg(s == NULL, "accepted: %s", json);
	ck_assert_msg(err[0] != '\0', "no message for: %s", json);
	return err;
}

static const char *sample_path(void)
{
	return env_or("GEO_SAMPLE", "conf/site-sample.geojson");
}

/* ---- edges, vertices, the ray ---- */

#define TRIANGLE "{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[10,0],[0,10],[0,0]]]}"

START_TEST(test_point_on_sloped_edge)
{
	struct geo_site *s = site_of(TRIANGLE);
	ck_assert_int_eq(where(s, 5, 5), GEO_ON_EDGE);
	ck_assert_int_eq(where(s, 2.5, 7.5), GEO_ON_EDGE);
	ck_assert_int_eq(where(s, 5, 5.000001), GEO_OUTSIDE); /* one microdegree off */
	ck_assert_int_eq(where(s, 5, 4.999999), GEO_INSIDE);
	ck_assert_int_eq(where(s, 4, 5), GEO_INSIDE);
	ck_assert_int_eq(where(s, 6, 5), GEO_OUTSIDE);
	ck_assert(geo_contains(s, D(5), D(5)));
	ck_assert(!geo_contains(s, D(5), D(6)));
	geo_site_free(s);
}
END_TEST

START_TEST(test_point_on_vertex)
{
	struct geo_site *s = site_of(TRIANGLE);
	ck_assert_int_eq(where(s, 0, 0), GEO_ON_EDGE);
	ck_assert_int_eq(where(s, 10, 0), GEO_ON_EDGE);
	ck_assert_int_eq(where(s, 0, 10), GEO_ON_EDGE);
	ck_assert_int_eq(where(s, 10.000001, 0), GEO_OUTSIDE);
	ck_assert_int_eq(where(s, 0, 10.000001), GEO_OUTSIDE);
	ck_assert_int_eq(where(s, -0.000001, -0.000001), GEO_OUTSIDE);
	ck_assert(geo_contains(s, 0, 0));
	geo_site_free(s);
}
END_TEST

START_TEST(test_point_on_horizontal_edge)
{
	struct geo_site *s =
		site_of("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[10,0],[10,10],[0,10],[0,"
			"0]]]}");
	ck_assert_int_eq(where(s, 5, 0), GEO_ON_EDGE);	/* bottom */
	ck_assert_int_eq(where(s, 5, 10), GEO_ON_EDGE); /* top */
	ck_assert_int_eq(where(s, 0, 5), GEO_ON_EDGE);	/* vertical */
	ck_assert_int_eq(where(s, 10, 5), GEO_ON_EDGE);
	/* On the line of a horizontal edge, beyond it: the ray runs along the edge. */
	ck_assert_int_eq(where(s, -5, 0), GEO_OUTSIDE);
	ck_assert_int_eq(where(s, -5, 10), GEO_OUTSIDE);
	ck_assert_int_eq(where(s, 15, 10), GEO_OUTSIDE);
	ck_assert_int_eq(where(s, 5, 5), GEO_INSIDE);
	geo_site_free(s);
}
END_TEST

START_TEST(test_ray_through_vertex)
{
	/* A diamond: the ray from (2,5) towards +x leaves through the vertex (10,5). */
	struct geo_site *s = site_of(
		"{\"type\":\"Polygon\",\"coordinates\":[[[5,0],[10,5],[5,10],[0,5],[5,0]]]}");
	ck_assert_int_eq(where(s, 2, 5), GEO_INSIDE);
	ck_assert_int_eq(where(s, 9.999999, 5), GEO_INSIDE);
	/* From the left, the ray passes through both side vertices. */
	ck_assert_int_eq(where(s, -1, 5), GEO_OUTSIDE);
	ck_assert_int_eq(where(s, 11, 5), GEO_OUTSIDE);
	/* Level with the bottom vertex, the ray only touches it. */
	ck_assert_int_eq(where(s, 4, 0), GEO_OUTSIDE);
	ck_assert_int_eq(where(s, 5, 0), GEO_ON_EDGE);
	geo_site_free(s);

	/* An apex that the ray only grazes, and a reflex vertex it passes through. */
	s = site_of("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[10,0],[10,10],[5,4],[0,10],"
		    "[0,0]]]}");
	ck_assert_int_eq(where(s, 2, 4), GEO_INSIDE); /* ray through the reflex vertex (5,4) */
	ck_assert_int_eq(where(s, -1, 4), GEO_OUTSIDE);
	ck_assert_int_eq(where(s, 5, 4), GEO_ON_EDGE);
	ck_assert_int_eq(where(s, 5, 5), GEO_OUTSIDE); /* in the notch */
	ck_assert_int_eq(where(s, 5, 3.999999), GEO_INSIDE);
	ck_assert_int_eq(where(s, -1, 10), GEO_OUTSIDE); /* ray through both tips */
	ck_assert_int_eq(where(s, 7, 10), GEO_OUTSIDE);
	ck_assert_int_eq(where(s, 10, 10), GEO_ON_EDGE);
	geo_site_free(s);
}
END_TEST

/* ---- holes ---- */

#define SQUARE_WITH_HOLE                                                                           \
	"{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[10,0],[10,10],[0,10],[0,0]],"              \
	"[[3,3],[3,7],[7,7],[7,3],[3,3]]]}"

START_TEST(test_inside_hole)
{
	struct geo_site *s = site_of(SQUARE_WITH_HOLE);
	ck_assert_int_eq(where(s, 5, 5), GEO_OUTSIDE);
	ck_assert_int_eq(where(s, 3.000001, 3.000001), GEO_OUTSIDE);
	ck_assert_int_eq(where(s, 2.999999, 5), GEO_INSIDE);
	ck_assert_int_eq(where(s, 1, 5), GEO_INSIDE); /* ray crosses the hole twice */
	ck_assert_int_eq(where(s, 8, 5), GEO_INSIDE);
	ck_assert(!geo_contains(s, D(5), D(5)));
	geo_site_free(s);
}
END_TEST

START_TEST(test_on_hole_edge)
{
	struct geo_site *s = site_of(SQUARE_WITH_HOLE);
	ck_assert_int_eq(where(s, 3, 5), GEO_ON_EDGE);
	ck_assert_int_eq(where(s, 5, 7), GEO_ON_EDGE); /* horizontal hole edge */
	ck_assert_int_eq(where(s, 7, 3), GEO_ON_EDGE); /* hole vertex */
	ck_assert(geo_contains(s, D(5), D(3)));
	geo_site_free(s);
}
END_TEST

/* ---- concave shapes ---- */

START_TEST(test_concave_u)
{
	/* A U: arms x 0-3 and 7-10, base y 0-3, the notch x 3-7 above y 3. */
	struct geo_site *s = site_of("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[10,0],[10,10],"
				     "[7,10],[7,3],[3,3],[3,10],[0,10],[0,0]]]}");
	ck_assert_int_eq(where(s, 5, 5), GEO_OUTSIDE);	/* in the notch */
	ck_assert_int_eq(where(s, 5, 10), GEO_OUTSIDE); /* across the notch's mouth */
	ck_assert_int_eq(where(s, 1, 5), GEO_INSIDE);	/* left arm, ray crosses the notch */
	ck_assert_int_eq(where(s, 8, 5), GEO_INSIDE);
	ck_assert_int_eq(where(s, 5, 2), GEO_INSIDE);  /* the base */
	ck_assert_int_eq(where(s, 5, 3), GEO_ON_EDGE); /* the notch's floor */
	ck_assert_int_eq(where(s, 3, 3), GEO_ON_EDGE); /* inner corner */
	ck_assert_int_eq(where(s, 2, 3), GEO_INSIDE);  /* level with the floor, in the arm */
	ck_assert_int_eq(where(s, -1, 3), GEO_OUTSIDE);
	ck_assert_int_eq(where(s, 3, 10), GEO_ON_EDGE);
	ck_assert_int_eq(where(s, 5, 3.000001), GEO_OUTSIDE);
	geo_site_free(s);
}
END_TEST

START_TEST(test_concave_star)
{
	/* A four-point star around (10,10): tips at distance 10, inner corners at (±2,±2). */
	struct geo_site *s =
		site_of("{\"type\":\"Polygon\",\"coordinates\":[[[10,0],[12,8],[20,10],"
			"[12,12],[10,20],[8,12],[0,10],[8,8],[10,0]]]}");
	ck_assert_int_eq(where(s, 10, 10), GEO_INSIDE);
	ck_assert_int_eq(where(s, 10, 0), GEO_ON_EDGE);
	ck_assert_int_eq(where(s, 20, 10), GEO_ON_EDGE);
	ck_assert_int_eq(where(s, 12, 12), GEO_ON_EDGE);
	ck_assert_int_eq(where(s, 15, 15), GEO_OUTSIDE); /* between two tips */
	ck_assert_int_eq(where(s, 5, 5), GEO_OUTSIDE);
	ck_assert_int_eq(where(s, 16, 11), GEO_ON_EDGE); /* midpoint of (20,10)-(12,12) */
	ck_assert_int_eq(where(s, 16, 10.5), GEO_INSIDE);
	ck_assert_int_eq(where(s, 16, 11.5), GEO_OUTSIDE);
	ck_assert_int_eq(where(s, 2, 10), GEO_INSIDE); /* level with two tips */
	ck_assert_int_eq(where(s, -2, 10), GEO_OUTSIDE);
	ck_assert_int_eq(where(s, 11, 4), GEO_ON_EDGE); /* midpoint of (10,0)-(12,8) */
	geo_site_free(s);
}
END_TEST

/* ---- several polygons ---- */

#define TWO_SQUARES                                                                                \
	"[[[[0,0],[4,0],[4,4],[0,4],[0,0]]],"                                                      \
	"[[[10,0],[14,0],[14,4],[10,4],[10,0]],[[11,1],[13,1],[13,3],[11,3],[11,1]]]]"

START_TEST(test_multipolygon)
{
	const char *forms[] = {
		"{\"type\":\"MultiPolygon\",\"coordinates\":" TWO_SQUARES "}",
		"{\"type\":\"Feature\",\"properties\":null,\"geometry\":{\"type\":\"MultiPolygon\","
		"\"coordinates\":" TWO_SQUARES "}}",
		"{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"geometry\":"
		"{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[4,0],[4,4],[0,4],[0,0]]]}},"
		"{\"type\":\"Feature\",\"properties\":{\"n\":2},\"geometry\":{\"type\":\"Polygon\","
		"\"coordinates\":[[[10,0],[14,0],[14,4],[10,4],[10,0]],[[11,1],[13,1],[13,3],[11,"
		"3],[11,1]]]}}]}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(forms); i++) {
		struct geo_site *s = site_of(forms[i]);
		ck_assert_uint_eq(geo_site_polygons(s), 2);
		ck_assert_uint_eq(geo_site_points(s), 12);
		ck_assert_int_eq(where(s, 2, 2), GEO_INSIDE);
		ck_assert_int_eq(where(s, 10.5, 2), GEO_INSIDE);
		ck_assert_int_eq(where(s, 12, 2), GEO_OUTSIDE); /* the second one's hole */
		ck_assert_int_eq(where(s, 13, 2), GEO_ON_EDGE);
		ck_assert_int_eq(where(s, 7, 2), GEO_OUTSIDE); /* between them */
		ck_assert_int_eq(where(s, 4, 2), GEO_ON_EDGE);
		ck_assert_int_eq(where(s, 7, 0), GEO_OUTSIDE); /* on the line of both bottoms */
		geo_site_free(s);
	}
}
END_TEST

START_TEST(test_overlapping_polygons)
{
	/* The fence of one polygon inside another is inside, not on the edge. */
	struct geo_site *s =
		site_of("{\"type\":\"MultiPolygon\",\"coordinates\":[[[[0,0],[4,0],[4,4],[0,4],[0,"
			"0]]],[[[2,2],[6,2],[6,6],[2,6],[2,2]]]]}");
	ck_assert_int_eq(where(s, 4, 3), GEO_INSIDE);
	ck_assert_int_eq(where(s, 3, 3), GEO_INSIDE);
	ck_assert_int_eq(where(s, 5, 5), GEO_INSIDE);
	ck_assert_int_eq(where(s, 6, 4), GEO_ON_EDGE);
	ck_assert_int_eq(where(s, 1, 5), GEO_OUTSIDE);
	geo_site_free(s);
}
END_TEST

/* ---- the sample site, southern and western coordinates, hostile points ---- */

START_TEST(test_sample_site)
{
	char *text = slurp(sample_path(), NULL);
	struct geo_site *s = site_of(text);
	free(text);
	ck_assert_uint_eq(geo_site_polygons(s), 1);
	ck_assert_uint_eq(geo_site_points(s), 10);
	ck_assert_int_eq(where(s, 121.473, 31.2305), GEO_INSIDE);     /* the bottom bar */
	ck_assert_int_eq(where(s, 121.471, 31.2325), GEO_INSIDE);     /* the left column */
	ck_assert_int_eq(where(s, 121.473, 31.232), GEO_OUTSIDE);     /* the notch of the L */
	ck_assert_int_eq(where(s, 121.472, 31.2315), GEO_ON_EDGE);    /* the reflex corner */
	ck_assert_int_eq(where(s, 121.4707, 31.2307), GEO_OUTSIDE);   /* in the building */
	ck_assert_int_eq(where(s, 121.4705, 31.2307), GEO_ON_EDGE);   /* its wall */
	ck_assert_int_eq(where(s, 121.474, 31.23), GEO_ON_EDGE);      /* a corner */
	ck_assert_int_eq(where(s, 121.474001, 31.2305), GEO_OUTSIDE); /* 1e-6 east */
	ck_assert_int_eq(where(s, 0, 0), GEO_OUTSIDE);
	ck_assert_int_eq(geo_locate(s, INT32_MAX, INT32_MIN), GEO_OUTSIDE);
	ck_assert_int_eq(geo_locate(s, INT32_MIN, INT32_MAX), GEO_OUTSIDE);
	geo_site_free(s);
}
END_TEST

START_TEST(test_south_west_and_extremes)
{
	/* Around Sao Paulo: negative latitude and longitude. */
	struct geo_site *s = site_of("{\"type\":\"Polygon\",\"coordinates\":[[[-46.64,-23.56],"
				     "[-46.62,-23.56],[-46.62,-23.54],[-46.64,-23.54],[-46.64,-23."
				     "56]]]}");
	ck_assert_int_eq(where(s, -46.63, -23.55), GEO_INSIDE);
	ck_assert_int_eq(where(s, -46.62, -23.55), GEO_ON_EDGE);
	ck_assert_int_eq(where(s, 46.63, 23.55), GEO_OUTSIDE);
	ck_assert_int_eq(where(s, -46.63, 23.55), GEO_OUTSIDE);
	geo_site_free(s);

	/* The whole plane: the largest products the arithmetic meets. */
	s = site_of("{\"type\":\"Polygon\",\"coordinates\":[[[-180,-90],[180,-90],[180,90],[-180,"
		    "90],[-180,-90]],[[-179.999999,-89.999999],[179.999999,89.999999],[-179."
		    "999999,89.999999],[-179.999999,-89.999999]]]}");
	ck_assert_int_eq(where(s, 180, 90), GEO_ON_EDGE);
	ck_assert_int_eq(where(s, 0, 0), GEO_ON_EDGE); /* on the hole's diagonal */
	ck_assert_int_eq(where(s, 0.000001, 0), GEO_INSIDE);
	ck_assert_int_eq(where(s, -0.000001, 0), GEO_OUTSIDE); /* in the hole */
	ck_assert_int_eq(where(s, 179.999999, 0), GEO_INSIDE);
	ck_assert_int_eq(geo_locate(s, INT32_MAX, 0), GEO_OUTSIDE);
	geo_site_free(s);
}
END_TEST

/* ---- GeoJSON errors ---- */

static void expect_error(const char *json, const char *needle)
{
	const char *err = parse_error(json, strlen(json));
	ck_assert_msg(strstr(err, needle) != NULL, "error \"%s\" lacks \"%s\" for %s", err, needle,
		      json);
}

#define POLY(c) "{\"type\":\"Polygon\",\"coordinates\":" c "}"

START_TEST(test_geojson_not_json)
{
	expect_error("", "not JSON");
	expect_error("not json", "not JSON");
	expect_error("{\"type\":\"Polygon\",", "not JSON");
	expect_error(POLY("[[[0,0],[1,0],[1,1],[0,0]]]") " trailing", "not JSON");
	expect_error("{\"type\":\"Polygon\",\"type\":\"Polygon\",\"coordinates\":[]}",
		     "not JSON"); /* duplicate key */
	expect_error(POLY("[[[0,0],[1,0],[1,1],[0,1e999]]]"), "not JSON");
	ck_assert_ptr_null(geo_site_parse("{\"type\":\"Pol", 5, (char[64]){0}, 64));
}
END_TEST

START_TEST(test_geojson_wrong_type)
{
	expect_error("[1,2]", "must be a GeoJSON object");
	expect_error("\"Polygon\"", "not JSON"); /* jansson takes only objects and arrays */
	expect_error("{\"coordinates\":[[[0,0],[1,0],[1,1],[0,0]]]}", "only Polygon");
	expect_error("{\"type\":5,\"coordinates\":[[[0,0],[1,0],[1,1],[0,0]]]}", "only Polygon");
	expect_error("{\"type\":\"polygon\",\"coordinates\":[[[0,0],[1,0],[1,1],[0,0]]]}",
		     "only Polygon");
	expect_error("{\"type\":\"Point\",\"coordinates\":[1,2]}", "type \"Point\"");
	expect_error("{\"type\":\"LineString\",\"coordinates\":[[1,2],[3,4]]}", "only Polygon");
	expect_error("{\"type\":\"GeometryCollection\",\"geometries\":[" POLY(
			     "[[[0,0],[1,0],[1,1],[0,0]]]") "]}",
		     "only Polygon");
	expect_error("{\"type\":\"Feature\",\"geometry\":null}", "geometry: a geometry must be");
	expect_error("{\"type\":\"Feature\"}", "geometry: a geometry must be");
	expect_error("{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,"
		     "2]}}",
		     "geometry: type \"Point\"");
	expect_error("{\"type\":\"FeatureCollection\",\"features\":[]}", "non-empty features");
	expect_error("{\"type\":\"FeatureCollection\"}", "non-empty features");
	expect_error("{\"type\":\"FeatureCollection\",\"features\":[" POLY(
			     "[[[0,0],[1,0],[1,1],[0,0]]]") "]}",
		     "features[0]: not a Feature");
	expect_error("{\"type\":\"Feature\",\"geometry\":{\"type\":\"FeatureCollection\","
		     "\"features\":[]}}",
		     "only Polygon");
}
END_TEST

START_TEST(test_geojson_bad_rings)
{
	expect_error(POLY("[[[0,0],[1,0],[1,1],[0,1]]]"), "coordinates[0]: the ring is not closed");
	expect_error(POLY("[[[0,0],[1,0],[0,0]]]"), "at least 4 positions, has 3");
	expect_error(POLY("[[]]"), "at least 4 positions, has 0");
	expect_error(POLY("[[[0,0],[1,0],[2,0],[0,0]]]"), "no area");
	expect_error(POLY("[[[0,0],[0,0],[0,0],[0,0]]]"), "no area");
	expect_error(POLY("[[[0,0],[1,1],[1,1],[0,0]]]"), "no area");
	expect_error(POLY("[]"), "non-empty array of rings");
	expect_error("{\"type\":\"Polygon\"}", "coordinates: a polygon is a non-empty");
	expect_error(POLY("{}"), "non-empty array of rings");
	expect_error(POLY("[[[0,0],[1,0],[1,1],[0,0]],[[0,0],[1,0],[1,1]]]"),
		     "coordinates[1]: a ring needs");
	expect_error("{\"type\":\"MultiPolygon\",\"coordinates\":[]}",
		     "non-empty array of polygons");
	expect_error("{\"type\":\"MultiPolygon\",\"coordinates\":[[[[0,0],[1,0],[1,1],[0,0]]],"
		     "[[[0,0],[1,0],[1,1],[0,1]]]]}",
		     "coordinates[1][0]: the ring is not closed");
}
END_TEST

START_TEST(test_geojson_bad_numbers)
{
	expect_error(POLY("[[[0,0],[180.5,0],[1,1],[0,0]]]"),
		     "coordinates[0][1]: longitude 180.5 out of range");
	expect_error(POLY("[[[0,0],[1,-91],[1,1],[0,0]]]"), "latitude -91 out of range");
	expect_error(POLY("[[[0,0],[1,0],[1,90.0000001],[0,0]]]"), "latitude");
	expect_error(POLY("[[[0,0],[1,0],[1,1],[0,0],[1e300,0]]]"), "longitude");
	expect_error(POLY("[[[0,0],[\"1\",0],[1,1],[0,0]]]"), "longitude is not a number");
	expect_error(POLY("[[[0,0],[1,null],[1,1],[0,0]]]"), "latitude is not a number");
	expect_error(POLY("[[[0,0],[1,0,\"high\"],[1,1],[0,0]]]"), "altitude is not a number");
	expect_error(POLY("[[[0],[1,0],[1,1],[0]]]"), "2 or 3 numbers");
	expect_error(POLY("[[[0,0,0,0],[1,0],[1,1],[0,0]]]"), "2 or 3 numbers");
	expect_error(POLY("[[[0,0],[1,0],[1,1],[9223372036854775807,0]]]"), "out of range");
	/* At the limits: accepted. */
	struct geo_site *s = site_of(POLY("[[[-180,-90],[180,-90],[180,90],[-180,-90]]]"));
	geo_site_free(s);
	s = site_of(POLY("[[[0,0,5],[1,0,5.5],[1,1,-3],[0,0,5]]]"));
	ck_assert_uint_eq(geo_site_points(s), 3);
	geo_site_free(s);
}
END_TEST

START_TEST(test_geojson_nested_garbage)
{
	expect_error(POLY("[[[[0,0]],[[1,0]],[[1,1]],[[0,0]]]]"), "2 or 3 numbers");
	expect_error(POLY("[[[0,0],[1,0],[1,1],{\"x\":1}]]"), "coordinates[0][3]: a position");
	expect_error(POLY("[[0,0],[1,0],[1,1],[0,0]]"), "coordinates[0]: a ring needs at least 4");
	expect_error(POLY("[[[0,0],[1,0],[1,1],[0,0]],7]"), "coordinates[1]: a ring is an array");
	expect_error(POLY("[[[0,0],[1,0],[1,1],[0,0],[[[[[[]]]]]]]]"), "coordinates[0][4]");
	expect_error("{\"type\":\"MultiPolygon\",\"coordinates\":[[[0,0],[1,0],[1,1],[0,0]]]}",
		     "coordinates[0][0]: a ring needs at least 4 positions, has 2");
	expect_error(
		"{\"type\":\"FeatureCollection\",\"features\":["
		"{\"type\":\"Feature\",\"geometry\":" POLY(
			"[[[0,0],[1,0],[1,1],[0,0]]]") "},"
						       "{\"type\":\"Feature\",\"geometry\":" POLY(
							       "[[[0,0],[1,0],[1,91],[0,0]]]") "}]"
											       "}",
		"features[1].geometry.coordinates[0][2]: latitude 91 out of range");
	/* Deep nesting stops in the JSON parser, not in a stack overflow. */
	size_t depth = 100000;
	char *deep = malloc(2 * depth + 1);
	ck_assert_ptr_nonnull(deep);
	memset(deep, '[', depth);
	memset(deep + depth, ']', depth);
	deep[2 * depth] = '\0';
	parse_error(deep, 2 * depth);
	free(deep);
	/* Cut short by the length given, and a NUL byte inside the text. */
	parse_error(POLY("[[[0,0],[1,0],[1,1],[0,0]]]"), 20);
	parse_error("{\"type\":\"Polygon\"\0}", 19);
}
END_TEST

/* A ring of n positions (n - 1 vertices on a circle of radius 10 degrees), closed. */
static char *big_ring(size_t n)
{
	char *buf = malloc(n * 48 + 64), *p = buf;
	ck_assert_ptr_nonnull(buf);
	p += sprintf(p, "{\"type\":\"Polygon\",\"coordinates\":[[");
	for (size_t i = 0; i < n; i++) {
		double a = 2 * 3.14159265358979 * (double)(i % (n - 1)) / (double)(n - 1);
		p += sprintf(p, "%s[%.6f,%.6f]", i ? "," : "", 10 * cos(a), 10 * sin(a));
	}
	sprintf(p, "]]}");
	return buf;
}

START_TEST(test_geojson_too_many_points)
{
	char *ok = big_ring(GEO_MAX_POSITIONS), *bad = big_ring(GEO_MAX_POSITIONS + 1);
	struct geo_site *s = site_of(ok);
	ck_assert_uint_eq(geo_site_polygons(s), 1);
	ck_assert_uint_le(geo_site_points(s), GEO_MAX_POSITIONS - 1);
	ck_assert_int_eq(where(s, 0, 0), GEO_INSIDE);
	ck_assert_int_eq(where(s, 10.1, 0), GEO_OUTSIDE);
	geo_site_free(s);
	ck_assert_ptr_nonnull(strstr(parse_error(bad, strlen(bad)), "more than 100000 positions"));
	/* The limit is per site, across polygons. */
	char *two = malloc(strlen(ok) * 2 + 128);
	ck_assert_ptr_nonnull(two);
	const char *c = strstr(ok, "[[[");
	sprintf(two,
		"{\"type\":\"MultiPolygon\",\"coordinates\":[[[[0,0],[1,0],[1,1],[0,0]]],%.*s]}",
		(int)(strlen(c) - 1), c);
	ck_assert_ptr_nonnull(strstr(parse_error(two, strlen(two)), "more than 100000"));
	free(two);
	free(ok);
	free(bad);
}
END_TEST

START_TEST(test_normalized_roundtrip)
{
	char *text = slurp(sample_path(), NULL);
	struct geo_site *s = site_of(text), *t;
	free(text);
	char *out = geo_site_to_geojson(s);
	ck_assert_ptr_nonnull(out);
	ck_assert_str_eq(out,
			 "{\"type\":\"MultiPolygon\",\"coordinates\":[[[[121.47,31.23],[121.474,"
			 "31.23],[121.474,31.2315],[121.472,31.2315],[121.472,31.233],[121."
			 "47,31.233],[121.47,31.23]],[[121.4705,31.2305],[121.4705,31.231],["
			 "121.471,31.231],[121.471,31.2305],[121.4705,31.2305]]]]}");
	t = site_of(out);
	free(out);
	ck_assert_uint_eq(geo_site_points(t), geo_site_points(s));
	geo_site_free(t);
	geo_site_free(s);

	/* Negative values, whole degrees, repeated vertices dropped, altitude dropped. */
	s = site_of(POLY("[[[-0.5,-1],[-0.5,-1],[0.000001,-1,7],[0.000001,-0.000001],[-0.5,-1]]]"));
	out = geo_site_to_geojson(s);
	ck_assert_ptr_nonnull(out);
	ck_assert_str_eq(out,
			 "{\"type\":\"MultiPolygon\",\"coordinates\":[[[[-0.5,-1],[0.000001,-1],"
			 "[0.000001,-0.000001],[-0.5,-1]]]]}");
	free(out);
	geo_site_free(s);
}
END_TEST

/* ---- distance and jumps ---- */

START_TEST(test_distance_known_values)
{
	/* One degree of latitude on the mean sphere: 6371008.8 * pi / 180 = 111195.08 m. */
	ck_assert_double_eq_tol(geo_distance_m(D(31), D(121), D(32), D(121)), 111195.08, 0.01);
	ck_assert_double_eq_tol(geo_distance_m(0, 0, 0, D(1)), 111195.08, 0.01);
	ck_assert_double_eq_tol(geo_distance_m(D(-1), D(-77), D(0), D(-77)), 111195.08, 0.01);
	/* At 60 degrees, a degree of longitude is about half as long. */
	ck_assert_double_eq_tol(geo_distance_m(D(60), D(10), D(60), D(11)), 55597.5, 1.0);
	/* Half the circumference, pole to pole and antipodes. */
	ck_assert_double_eq_tol(geo_distance_m(D(90), 0, D(-90), 0), 20015114.4, 1.0);
	ck_assert_double_eq_tol(geo_distance_m(0, D(-90), 0, D(90)), 20015114.4, 1.0);
	/* 900 microdegrees of latitude: 100.08 m; one microdegree: 0.11 m. */
	ck_assert_double_eq_tol(geo_distance_m(D(31.23), D(121.47), D(31.2309), D(121.47)), 100.08,
				0.01);
	ck_assert_double_eq_tol(geo_distance_m(D(31.23), D(121.47), D(31.230001), D(121.47)), 0.111,
				0.001);
	ck_assert_double_eq(geo_distance_m(D(31.23), D(121.47), D(31.23), D(121.47)), 0.0);
	/* Symmetric, and across the antimeridian the short way. */
	ck_assert_double_eq(geo_distance_m(D(31.1), D(121.2), D(39.9), D(116.4)),
			    geo_distance_m(D(39.9), D(116.4), D(31.1), D(121.2)));
	ck_assert_double_eq_tol(geo_distance_m(0, D(179.5), 0, D(-179.5)), 111195.08, 0.01);
}
END_TEST

static struct geo_fix fix(double lat, double lon, time_t t)
{
	return (struct geo_fix){D(lat), D(lon), t};
}

START_TEST(test_jump_checks)
{
	const time_t t0 = 1709222370;
	struct geo_fix a = fix(31.23, 121.47, t0), b;
	/* Same time: noise up to 50 m is forgiven, more is a jump. */
	b = fix(31.2304, 121.47, t0); /* 44.5 m */
	ck_assert(!geo_jump_too_fast(&a, &b, 80));
	b = fix(31.2305, 121.47, t0); /* 55.6 m */
	ck_assert(geo_jump_too_fast(&a, &b, 80));
	ck_assert(!geo_jump_too_fast(&a, &a, 80));
	ck_assert(!geo_jump_too_fast(&a, &a, 0));
	/* 1 km in 60 s is 60 km/h: fine at 80, too fast at 50. */
	b = fix(31.23 + 1000 / 111195.08, 121.47, t0 + 60);
	ck_assert(!geo_jump_too_fast(&a, &b, 80));
	ck_assert(geo_jump_too_fast(&a, &b, 50));
	/* 2 km in 60 s is 120 km/h. */
	b = fix(31.23 + 2000 / 111195.08, 121.47, t0 + 60);
	ck_assert(geo_jump_too_fast(&a, &b, 80));
	ck_assert(!geo_jump_too_fast(&a, &b, 130));
	/* The noise allowance: 1050 m in 60 s passes at 60 km/h, 1060 m does not. */
	b = fix(31.23 + 1049 / 111195.08, 121.47, t0 + 60);
	ck_assert(!geo_jump_too_fast(&a, &b, 60));
	b = fix(31.23 + 1060 / 111195.08, 121.47, t0 + 60);
	ck_assert(geo_jump_too_fast(&a, &b, 60));
	/* Order does not matter: a record that arrives late is judged the same. */
	ck_assert(geo_jump_too_fast(&b, &a, 60));
	b.t = t0 - 60;
	ck_assert(geo_jump_too_fast(&a, &b, 60));
	ck_assert(!geo_jump_too_fast(&a, &b, 70));
	/* Standing still for a day, and a limit of 0 or NaN: only noise allowed. */
	b = fix(31.23, 121.47, t0 + 86400);
	ck_assert(!geo_jump_too_fast(&a, &b, 0));
	b = fix(31.2306, 121.47, t0 + 86400);
	ck_assert(geo_jump_too_fast(&a, &b, 0));
	ck_assert(geo_jump_too_fast(&a, &b, -5));
	ck_assert(geo_jump_too_fast(&a, &b, NAN));
	ck_assert(!geo_jump_too_fast(&a, &b, 1));
}
END_TEST

/* ---- the set of sites ---- */

START_TEST(test_site_set)
{
	struct geo_set *set = geo_set_new();
	ck_assert_ptr_nonnull(set);
	ck_assert_uint_eq(geo_set_sites(set, 1), 0);
	ck_assert_ptr_null(geo_set_find(set, 1, D(1), D(1)));
	ck_assert(geo_set_add(set, 1, "north", site_of(POLY("[[[0,0],[4,0],[4,4],[0,4],[0,0]]]"))));
	ck_assert(geo_set_add(set, 1, "south",
			      site_of(POLY("[[[0,-10],[4,-10],[4,-6],[0,-6],[0,-10]]]"))));
	ck_assert(geo_set_add(set, 2, "only", site_of(SQUARE_WITH_HOLE)));
	ck_assert_uint_eq(geo_set_sites(set, 1), 2);
	ck_assert_uint_eq(geo_set_sites(set, 2), 1);
	ck_assert_uint_eq(geo_set_sites(set, 3), 0);
	ck_assert_str_eq(geo_set_find(set, 1, D(2), D(2)), "north");
	ck_assert_str_eq(geo_set_find(set, 1, D(-8), D(2)), "south");
	ck_assert_str_eq(geo_set_find(set, 1, D(-6), D(4)), "south"); /* a corner */
	ck_assert_ptr_null(geo_set_find(set, 1, D(-3), D(2)));
	ck_assert_ptr_null(geo_set_find(set, 2, D(5), D(5))); /* school 2's hole */
	ck_assert_str_eq(geo_set_find(set, 2, D(2), D(2)), "only");
	ck_assert_ptr_null(geo_set_find(set, 3, D(2), D(2))); /* another school's site */
	/* Many schools: the table grows; ids hash anywhere, negative included. */
	for (int64_t id = 100; id < 3100; id++) {
		char name[32];
		snprintf(name, sizeof(name), "s%lld", (long long)id);
		double x = (double)(id % 100);
		char json[256];
		snprintf(json, sizeof(json), POLY("[[[%g,0],[%g,0],[%g,1],[%g,0]]]"), x, x + 1, x,
			 x);
		ck_assert(geo_set_add(set, id * 7919 - 5000000, name, site_of(json)));
	}
	for (int64_t id = 100; id < 3100; id++) {
		char name[32];
		snprintf(name, sizeof(name), "s%lld", (long long)id);
		double x = (double)(id % 100);
		ck_assert_uint_eq(geo_set_sites(set, id * 7919 - 5000000), 1);
		ck_assert_str_eq(geo_set_find(set, id * 7919 - 5000000, D(0.25), D(x + 0.25)),
				 name);
		ck_assert_ptr_null(geo_set_find(set, id * 7919 - 5000000, D(0.25), D(x + 1.25)));
	}
	ck_assert_str_eq(geo_set_find(set, 1, D(2), D(2)), "north");
	geo_set_free(set);
	geo_set_free(NULL);
	geo_site_free(NULL);
}
END_TEST

/* ---- fuzz against a slow reference ---- */

struct pt {
	int64_t x, y;
};

static int64_t orient(struct pt a, struct pt b, struct pt p)
{
	return (b.x - a.x) * (p.y - a.y) - (p.x - a.x) * (b.y - a.y);
}

/* On the closed segment a-b: collinear, and between the ends by dot products. */
static bool ref_on_segment(struct pt a, struct pt b, struct pt p)
{
	return orient(a, b, p) == 0 && (p.x - a.x) * (b.x - a.x) + (p.y - a.y) * (b.y - a.y) >= 0 &&
	       (p.x - b.x) * (a.x - b.x) + (p.y - b.y) * (a.y - b.y) >= 0;
}

/* Sunday's winding number; -1 when p is on the ring. */
static int ref_winding(const struct pt *v, size_t n, struct pt p)
{
	int wn = 0;
	for (size_t i = 0; i < n; i++) {
		struct pt a = v[i], b = v[(i + 1) % n];
		if (ref_on_segment(a, b, p))
			return -1;
		if (a.y <= p.y) {
			if (b.y > p.y && orient(a, b, p) > 0)
				wn++;
		} else if (b.y <= p.y && orient(a, b, p) < 0) {
			wn--;
		}
	}
	return wn;
}

static int sgn(int64_t v)
{
	return (v > 0) - (v < 0);
}

/* Closed segments a-b and c-d share a point. */
static bool segments_meet(struct pt a, struct pt b, struct pt c, struct pt d)
{
	int o1 = sgn(orient(a, b, c)), o2 = sgn(orient(a, b, d));
	int o3 = sgn(orient(c, d, a)), o4 = sgn(orient(c, d, b));
	if (o1 * o2 < 0 && o3 * o4 < 0)
		return true; /* a proper crossing */
	return ref_on_segment(a, b, c) || ref_on_segment(a, b, d) || ref_on_segment(c, d, a) ||
	       ref_on_segment(c, d, b);
}

/* A simple ring: non-adjacent edges never meet, adjacent ones only at their vertex. */
static bool ref_simple(const struct pt *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct pt a = v[i], b = v[(i + 1) % n], c = v[(i + 2) % n];
		if (a.x == b.x && a.y == b.y)
			return false;
		if (orient(a, b, c) == 0 &&
		    (b.x - a.x) * (c.x - b.x) + (b.y - a.y) * (c.y - b.y) < 0)
			return false; /* folds back on itself */
		for (size_t j = i + 2; j < n; j++) {
			if (i == 0 && j == n - 1)
				continue;
			if (segments_meet(a, b, v[j], v[(j + 1) % n]))
				return false;
		}
	}
	return n >= 3 && orient(v[0], v[1], v[2]) != 0;
}

static uint64_t rng_state = 0x2545f4914f6cdd1du;

static uint64_t rnd(uint64_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state % n;
}

/* Random points sorted by angle around their mean: often simple, checked exactly. */
static size_t random_ring(struct pt *v, int64_t lo, int64_t hi)
{
	for (;;) {
		size_t n = 3 + rnd(10);
		double cx = 0, cy = 0, ang[16];
		for (size_t i = 0; i < n; i++) {
			v[i] = (struct pt){lo + (int64_t)rnd((uint64_t)(hi - lo + 1)),
					   lo + (int64_t)rnd((uint64_t)(hi - lo + 1))};
			cx += (double)v[i].x / (double)n;
			cy += (double)v[i].y / (double)n;
		}
		for (size_t i = 0; i < n; i++)
			ang[i] = atan2((double)v[i].y - cy, (double)v[i].x - cx);
		for (size_t i = 1; i < n; i++) /* insertion sort by angle */
			for (size_t j = i; j > 0 && ang[j] < ang[j - 1]; j--) {
				double ta = ang[j];
				struct pt tp = v[j];
				ang[j] = ang[j - 1];
				v[j] = v[j - 1];
				ang[j - 1] = ta;
				v[j - 1] = tp;
			}
		if (ref_simple(v, n))
			return n;
	}
}

/* A polygon of the fuzz: an outer ring and perhaps one hole strictly inside it. */
struct fpoly {
	struct pt outer[16], hole[16];
	size_t n_outer, n_hole;
};

static bool hole_strictly_inside(const struct fpoly *p)
{
	for (size_t i = 0; i < p->n_hole; i++) {
		if (ref_winding(p->outer, p->n_outer, p->hole[i]) == 0 ||
		    ref_winding(p->outer, p->n_outer, p->hole[i]) == -1)
			return false;
		for (size_t j = 0; j < p->n_outer; j++)
			if (segments_meet(p->hole[i], p->hole[(i + 1) % p->n_hole], p->outer[j],
					  p->outer[(j + 1) % p->n_outer]))
				return false;
	}
	return true;
}

static void random_poly(struct fpoly *p, int64_t grid)
{
	p->n_outer = random_ring(p->outer, 0, grid);
	p->n_hole = 0;
	for (int tries = 0; tries < 20 && rnd(2) == 0; tries++) {
		p->n_hole = random_ring(p->hole, grid / 4, grid - grid / 4);
		if (hole_strictly_inside(p))
			return;
		p->n_hole = 0;
	}
}

static enum geo_place ref_poly(const struct fpoly *p, struct pt q)
{
	int w = ref_winding(p->outer, p->n_outer, q);
	if (w == -1)
		return GEO_ON_EDGE;
	if (w == 0)
		return GEO_OUTSIDE;
	if (p->n_hole == 0)
		return GEO_INSIDE;
	w = ref_winding(p->hole, p->n_hole, q);
	return w == -1 ? GEO_ON_EDGE : w == 0 ? GEO_INSIDE : GEO_OUTSIDE;
}

/* Grid to e6 coordinates: x0 + gx * sx, y0 + gy * sy. */
struct frame {
	int64_t x0, y0, sx, sy, grid;
};

static void put_e6(char **p, int64_t v)
{
	int64_t a = v < 0 ? -v : v;
	*p += sprintf(*p, "%s%lld.%06lld", v < 0 ? "-" : "", (long long)(a / 1000000),
		      (long long)(a % 1000000));
}

static void put_ring(char **p, const struct pt *v, size_t n, bool reverse)
{
	*p += sprintf(*p, "[");
	for (size_t k = 0; k <= n; k++) {
		size_t i = reverse ? (n - k % n) % n : k % n;
		*p += sprintf(*p, "%s[", k ? "," : "");
		put_e6(p, v[i].x);
		*p += sprintf(*p, ",");
		put_e6(p, v[i].y);
		*p += sprintf(*p, "]");
	}
	*p += sprintf(*p, "]");
}

static struct pt scale(struct pt g, const struct frame *f)
{
	return (struct pt){f->x0 + g.x * f->sx, f->y0 + g.y * f->sy};
}

static void fuzz_round(const struct frame *f, char *json)
{
	struct fpoly polys[2], sc[2];
	size_t np = 1 + rnd(2);
	char *p = json;
	p += sprintf(p, "{\"type\":\"MultiPolygon\",\"coordinates\":[");
	for (size_t k = 0; k < np; k++) {
		random_poly(&polys[k], f->grid);
		sc[k] = polys[k];
		for (size_t i = 0; i < sc[k].n_outer; i++)
			sc[k].outer[i] = scale(polys[k].outer[i], f);
		for (size_t i = 0; i < sc[k].n_hole; i++)
			sc[k].hole[i] = scale(polys[k].hole[i], f);
		p += sprintf(p, "%s[", k ? "," : "");
		put_ring(&p, sc[k].outer, sc[k].n_outer, rnd(2)); /* either orientation */
		if (sc[k].n_hole) {
			p += sprintf(p, ",");
			put_ring(&p, sc[k].hole, sc[k].n_hole, rnd(2));
		}
		p += sprintf(p, "]");
	}
	sprintf(p, "]}");
	struct geo_site *s = site_of(json);
	for (int64_t gy = -1; gy <= f->grid + 1; gy++) {
		for (int64_t gx = -1; gx <= f->grid + 1; gx++) {
			/* Grid points, and random points between them. */
			for (int off = 0; off < 2; off++) {
				struct pt q = scale((struct pt){gx, gy}, f);
				if (off) {
					q.x += (int64_t)rnd((uint64_t)f->sx);
					q.y += (int64_t)rnd((uint64_t)f->sy);
				}
				if (q.x < -180000000 || q.x > 180000000 || q.y < -90000000 ||
				    q.y > 90000000)
					continue;
				enum geo_place want = GEO_OUTSIDE;
				for (size_t k = 0; k < np; k++) {
					enum geo_place w = ref_poly(&sc[k], q);
					if (w == GEO_INSIDE ||
					    (w == GEO_ON_EDGE && want == GEO_OUTSIDE))
						want = w;
				}
				enum geo_place got = geo_locate(s, (int32_t)q.y, (int32_t)q.x);
				ck_assert_msg(got == want, "(%lld,%lld): got %d, want %d in %s",
					      (long long)q.x, (long long)q.y, got, want, json);
			}
		}
	}
	geo_site_free(s);
}

START_TEST(test_fuzz_against_winding_number)
{
	static const struct frame frames[] = {
		{121470000, 31230000, 1, 1, 8},	       /* microdegrees at the sample site */
		{121470000, 31230000, 1000, 1000, 12}, /* a 100 m grid */
		{-46640000, -23560000, 7, 3, 10},      /* south-west, anisotropic */
		{-180000000, -90000000, 22500000, 11250000, 16}, /* the whole plane */
		{0, 0, 1, 1, 4},				 /* tiny: many collinear cases */
	};
	char *json = malloc(1 << 16);
	ck_assert_ptr_nonnull(json);
	rng_state ^= (uint64_t)_i * 0x9e3779b97f4a7c15u;
	for (int round = 0; round < 600; round++)
		fuzz_round(&frames[round % ARRAY_SIZE(frames)], json);
	free(json);
}
END_TEST

static Suite *geo_suite(void)
{
	Suite *s = suite_create("geo");
	TCase *pip = tcase_create("point in polygon"), *json = tcase_create("geojson");
	TCase *dist = tcase_create("distance"), *set = tcase_create("set");
	TCase *fuzz = tcase_create("fuzz");

	tcase_add_test(pip, test_point_on_sloped_edge);
	tcase_add_test(pip, test_point_on_vertex);
	tcase_add_test(pip, test_point_on_horizontal_edge);
	tcase_add_test(pip, test_ray_through_vertex);
	tcase_add_test(pip, test_inside_hole);
	tcase_add_test(pip, test_on_hole_edge);
	tcase_add_test(pip, test_concave_u);
	tcase_add_test(pip, test_concave_star);
	tcase_add_test(pip, test_multipolygon);
	tcase_add_test(pip, test_overlapping_polygons);
	tcase_add_test(pip, test_sample_site);
	tcase_add_test(pip, test_south_west_and_extremes);

	tcase_add_test(json, test_geojson_not_json);
	tcase_add_test(json, test_geojson_wrong_type);
	tcase_add_test(json, test_geojson_bad_rings);
	tcase_add_test(json, test_geojson_bad_numbers);
	tcase_add_test(json, test_geojson_nested_garbage);
	tcase_add_test(json, test_geojson_too_many_points);
	tcase_add_test(json, test_normalized_roundtrip);

	tcase_add_test(dist, test_distance_known_values);
	tcase_add_test(dist, test_jump_checks);

	tcase_add_test(set, test_site_set);

	tcase_add_loop_test(fuzz, test_fuzz_against_winding_number, 0, 4);
	tcase_set_timeout(fuzz, 60);

	suite_add_tcase(s, pip);
	suite_add_tcase(s, json);
	suite_add_tcase(s, dist);
	suite_add_tcase(s, set);
	suite_add_tcase(s, fuzz);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(geo_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
