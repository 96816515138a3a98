/*
 * geo.h - training-site geometry: GeoJSON polygons, exact point-in-polygon,
 * distances and the position-jump check.
 *
 * Coordinates are int32 degrees x 10^6, negative south and west: exactly
 * what a terminal sends (struct jt808_location).  The site's polygons are
 * held in the same unit, so a point is located with int64 cross products
 * and no floating point at all: a point on an edge or a vertex is found
 * on it, whatever the shape.  Rings are planar in (longitude, latitude);
 * a site must not cross the antimeridian.  Rules in docs/sites.md.
 */
#ifndef HOURSD_GEO_H
#define HOURSD_GEO_H

#include "hoursd.h"
#include <time.h>

#define GEO_MAX_POSITIONS 100000 /* per site, closing positions included */
#define GEO_MAX_TEXT (16u << 20) /* bytes of GeoJSON text */
#define GEO_JUMP_NOISE_M 50.0	 /* GNSS noise forgiven by the jump check */

/* The polygons of one site (outer rings with holes); immutable once parsed. */
struct geo_site;
/* All sites of all schools, by school id; read-only once built. */
struct geo_set;

/*
 * Parse GeoJSON text (len bytes, need not be NUL-terminated): a Polygon, a
 * MultiPolygon, a Feature of one of those, or a FeatureCollection of such
 * Features.  NULL on error, with a one-line message naming the offending
 * member (e.g. "coordinates[0][2]: latitude 91 out of range") in err.
 */
struct geo_site *geo_site_parse(const char *text, size_t len, char *err, size_t errlen) MUSTCHECK;
void geo_site_free(struct geo_site *site);

size_t geo_site_polygons(const struct geo_site *site);
/* Vertices, not counting the positions that close the rings. */
size_t geo_site_points(const struct geo_site *site);

/*
 * The site as one compact MultiPolygon, closed rings, at most 6 decimals:
 * what hoursctl stores and hoursd parses back.  malloc'ed; NULL when out
 * of memory.
 */
char *geo_site_to_geojson(const struct geo_site *site) MUSTCHECK;

enum geo_place { GEO_OUTSIDE, GEO_INSIDE, GEO_ON_EDGE };

/*
 * Where a point is.  GEO_ON_EDGE: on an edge or a vertex of an outer ring
 * or of a hole.  Inside a hole (not on its edge) is GEO_OUTSIDE.  Where
 * polygons overlap, inside any one of them wins.
 */
enum geo_place geo_locate(const struct geo_site *site, int32_t lat_e6, int32_t lon_e6);

/* On the site: inside it or on its fence (GEO_ON_EDGE counts as inside). */
bool geo_contains(const struct geo_site *site, int32_t lat_e6, int32_t lon_e6);

/* Great-circle distance in metres (haversine, mean earth radius). */
double geo_distance_m(int32_t lat1_e6, int32_t lon1_e6, int32_t lat2_e6, int32_t lon2_e6);

struct geo_fix {
	int32_t lat_e6;
	int32_t lon_e6;
	time_t t; /* seconds */
};

/*
 * True when going from one fix to the other is faster than max_kmh: the
 * distance, less GEO_JUMP_NOISE_M, exceeds what max_kmh covers in the time
 * between them.  The order of the fixes does not matter; the same time at
 * two places more than GEO_JUMP_NOISE_M apart is too fast.
 */
bool geo_jump_too_fast(const struct geo_fix *a, const struct geo_fix *b, double max_kmh);

struct geo_set *geo_set_new(void) MUSTCHECK;
/*
 * Add a named site of a school; the set takes the site in every case (it
 * is freed on failure).  False only when out of memory.
 */
bool geo_set_add(struct geo_set *set, int64_t school_id, const char *name,
		 struct geo_site *site) MUSTCHECK;
/* How many sites the school has (0: unknown school). */
size_t geo_set_sites(const struct geo_set *set, int64_t school_id);
/*
 * The name of a site of the school that contains the point (geo_contains),
 * or NULL when none does.  Valid until geo_set_free.
 */
const char *geo_set_find(const struct geo_set *set, int64_t school_id, int32_t lat_e6,
			 int32_t lon_e6);
void geo_set_free(struct geo_set *set);

#endif
