/*
 * geo.c - a school's site as GeoJSON (src/geo.c, hoursctl site import):
 * any bytes, a clear error or a site that answers where points are and
 * writes itself back as GeoJSON that parses again to the same shape.
 * Input: the GeoJSON text.
 */
#include "fuzz.h"
#include "geo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512] = "";
	char *text = (char *)fuzz_dup(data, size);
	struct geo_site *s = geo_site_parse(text, size, err, sizeof(err));
	free(text);
	if (s == NULL) {
		FUZZ_ASSERT(err[0] != '\0');
		return 0;
	}
	(void)geo_locate(s, 31230500, 121472000);
	(void)geo_contains(s, 0, 0);
	char *back = geo_site_to_geojson(s);
	FUZZ_ASSERT(back != NULL);
	struct geo_site *again = geo_site_parse(back, strlen(back), err, sizeof(err));
	if (again == NULL)
		fprintf(stderr, "written back: %s\nerror: %s\n", back, err);
	FUZZ_ASSERT(again != NULL);
	FUZZ_ASSERT(geo_site_polygons(again) == geo_site_polygons(s));
	FUZZ_ASSERT(geo_site_points(again) == geo_site_points(s));
	geo_site_free(again);
	free(back);
	geo_site_free(s);
	return 0;
}
