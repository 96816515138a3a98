/*
 * geo.c - see geo.h.
 *
 * A site keeps all its vertices in one array: a ring is a slice of it
 * (without the closing position), a polygon a slice of the ring array
 * whose first ring is the outer one.  Every ring carries its bounding box,
 * so most points are settled without looking at an edge.
 */
#include "hoursd.h"
#include "geo.h"

#include <jansson.h>
#include <stdarg.h>
#include <math.h>

#define E6 1000000
#define EARTH_RADIUS_M 6371008.8 /* IUGG mean radius */
#define DEG_TO_RAD (3.14159265358979323846 / 180.0)
#define PATH_LEN 128 /* longest: features[N].geometry.coordinates[P][R][K] */

struct pt {
	int32_t x; /* longitude e6 */
	int32_t y; /* latitude e6 */
};

struct box {
	int32_t x0, y0, x1, y1;
};

struct ring {
	size_t off, n;
	struct box box;
};

struct poly {
	size_t first, nrings; /* rings[first] is the outer ring */
};

struct geo_site {
	struct pt *pts;
	struct ring *rings;
	struct poly *polys;
	size_t npts, nrings, npolys;
	size_t cap_pts, cap_rings, cap_polys;
	size_t positions; /* JSON positions read, against GEO_MAX_POSITIONS */
	struct box box;
};

/* ---- growing arrays ---- */

static bool grow(void **p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return true;
	size_t n = *cap ? *cap * 2 : 16;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, n * size);
	if (q == NULL)
		return false;
	*p = q;
	*cap = n;
	return true;
}

/* ---- parsing ---- */

struct parser {
	struct geo_site *s;
	char *err;
	size_t errlen;
};

static bool fail(struct parser *p, const char *path, const char *fmt, ...) PRINTF(3, 4);

static bool fail(struct parser *p, const char *path, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (path[0])
		snprintf(p->err, p->errlen, "%s: %s", path, msg);
	else
		snprintf(p->err, p->errlen, "%s", msg);
	return false;
}

static bool oom(struct parser *p)
{
	return fail(p, "", "out of memory");
}

/* path + "[i]", or path + "." + member; a path too long is cut, harmless in a message. */
static void sub_index(char *out, const char *path, size_t i)
{
	if (snprintf(out, PATH_LEN, "%s[%zu]", path, i) >= PATH_LEN)
		out[PATH_LEN - 1] = '\0';
}

static void sub_member(char *out, const char *path, const char *member)
{
	if (snprintf(out, PATH_LEN, "%s%s%s", path, path[0] ? "." : "", member) >= PATH_LEN)
		out[PATH_LEN - 1] = '\0';
}

/* A coordinate in [-limit, limit] degrees to e6, rounded to the nearest. */
static bool coordinate(struct parser *p, const char *path, json_t *v, double limit,
		       const char *what, int32_t *out)
{
	if (!json_is_number(v))
		return fail(p, path, "%s is not a number", what);
	double d = json_number_value(v);
	if (!(d >= -limit && d <= limit))
		return fail(p, path, "%s %.9g out of range", what, d);
	*out = (int32_t)llround(d * E6);
	return true;
}

static bool position(struct parser *p, const char *path, json_t *v, struct pt *out)
{
	if (!json_is_array(v) || json_array_size(v) < 2 || json_array_size(v) > 3)
		return fail(p, path, "a position is an array of 2 or 3 numbers");
	if (json_array_size(v) == 3 && !json_is_number(json_array_get(v, 2)))
		return fail(p, path, "altitude is not a number");
	return coordinate(p, path, json_array_get(v, 0), 180.0, "longitude", &out->x) &&
	       coordinate(p, path, json_array_get(v, 1), 90.0, "latitude", &out->y);
}

static int64_t cross(struct pt o, struct pt a, struct pt b)
{
	return (int64_t)(a.x - o.x) * (b.y - o.y) - (int64_t)(a.y - o.y) * (b.x - o.x);
}

/*
 * A ring that has no area (fewer than 3 distinct vertices, or all on one
 * line) would make a line "on the fence" of a site: refused.
 */
static bool ring_has_area(const struct pt *v, size_t n)
{
	for (size_t i = 2; i < n; i++)
		if (cross(v[0], v[1], v[i]) != 0)
			return true;
	return false;
}

/*
 * Read one linear ring: at least 4 positions, the last equal to the first.
 * Stored without the closing position and without repeated consecutive
 * vertices (they add no edge).
 */
static bool ring(struct parser *p, const char *path, json_t *v)
{
	struct geo_site *s = p->s;
	char sub[PATH_LEN];
	if (!json_is_array(v))
		return fail(p, path, "a ring is an array of positions");
	size_t n = json_array_size(v);
	if (n < 4)
		return fail(p, path, "a ring needs at least 4 positions, has %zu", n);
	if (n > GEO_MAX_POSITIONS - s->positions)
		return fail(p, path, "more than %d positions in the site", GEO_MAX_POSITIONS);
	s->positions += n;
	if (!grow((void **)&s->pts, &s->cap_pts, s->npts + n, sizeof(struct pt)) ||
	    !grow((void **)&s->rings, &s->cap_rings, s->nrings + 1, sizeof(struct ring)))
		return oom(p);
	struct pt *out = s->pts + s->npts, first = {0, 0}, last = {0, 0};
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		struct pt q;
		sub_index(sub, path, i);
		if (!position(p, sub, json_array_get(v, i), &q))
			return false;
		if (i == 0)
			first = q;
		last = q;
		if (k == 0 || q.x != out[k - 1].x || q.y != out[k - 1].y)
			out[k++] = q;
	}
	if (first.x != last.x || first.y != last.y)
		return fail(p, path,
			    "the ring is not closed (last position differs from the first)");
	k--; /* the closing position */
	if (k < 3 || !ring_has_area(out, k))
		return fail(p, path, "the ring has no area (all its points on one line)");
	struct ring *r = &s->rings[s->nrings++];
	r->off = s->npts;
	r->n = k;
	r->box = (struct box){out[0].x, out[0].y, out[0].x, out[0].y};
	for (size_t i = 1; i < k; i++) {
		r->box.x0 = out[i].x < r->box.x0 ? out[i].x : r->box.x0;
		r->box.y0 = out[i].y < r->box.y0 ? out[i].y : r->box.y0;
		r->box.x1 = out[i].x > r->box.x1 ? out[i].x : r->box.x1;
		r->box.y1 = out[i].y > r->box.y1 ? out[i].y : r->box.y1;
	}
	s->npts += k;
	return true;
}

/* Polygon coordinates: the outer ring, then the holes (not checked to lie inside). */
static bool polygon(struct parser *p, const char *path, json_t *v)
{
	struct geo_site *s = p->s;
	char sub[PATH_LEN];
	if (!json_is_array(v) || json_array_size(v) == 0)
		return fail(p, path, "a polygon is a non-empty array of rings");
	if (!grow((void **)&s->polys, &s->cap_polys, s->npolys + 1, sizeof(struct poly)))
		return oom(p);
	size_t first = s->nrings;
	for (size_t i = 0; i < json_array_size(v); i++) {
		sub_index(sub, path, i);
		if (!ring(p, sub, json_array_get(v, i)))
			return false;
	}
	s->polys[s->npolys++] = (struct poly){first, s->nrings - first};
	return true;
}

static const char *type_of(json_t *obj)
{
	const char *t = json_string_value(json_object_get(obj, "type"));
	return t ? t : "";
}

/* A Polygon or MultiPolygon geometry object. */
static bool geometry(struct parser *p, const char *path, json_t *g)
{
	char sub[PATH_LEN];
	if (!json_is_object(g))
		return fail(p, path, "a geometry must be an object");
	const char *t = type_of(g);
	json_t *c = json_object_get(g, "coordinates");
	bool multi = strcmp(t, "MultiPolygon") == 0;
	if (!multi && strcmp(t, "Polygon") != 0)
		return fail(p, path, "type \"%.32s\": only Polygon and MultiPolygon are sites", t);
	sub_member(sub, path, "coordinates");
	if (!multi)
		return polygon(p, sub, c);
	if (!json_is_array(c) || json_array_size(c) == 0)
		return fail(p, sub, "a MultiPolygon is a non-empty array of polygons");
	for (size_t i = 0; i < json_array_size(c); i++) {
		char sub2[PATH_LEN];
		sub_index(sub2, sub, i);
		if (!polygon(p, sub2, json_array_get(c, i)))
			return false;
	}
	return true;
}

static bool feature(struct parser *p, const char *path, json_t *f)
{
	char sub[PATH_LEN];
	if (!json_is_object(f) || strcmp(type_of(f), "Feature") != 0)
		return fail(p, path, "not a Feature");
	sub_member(sub, path, "geometry");
	return geometry(p, sub, json_object_get(f, "geometry"));
}

static bool document(struct parser *p, json_t *root)
{
	if (!json_is_object(root))
		return fail(p, "", "the document must be a GeoJSON object");
	const char *t = type_of(root);
	if (strcmp(t, "Feature") == 0)
		return feature(p, "", root);
	if (strcmp(t, "FeatureCollection") != 0)
		return geometry(p, "", root);
	json_t *fs = json_object_get(root, "features");
	if (!json_is_array(fs) || json_array_size(fs) == 0)
		return fail(p, "features", "a FeatureCollection needs a non-empty features array");
	for (size_t i = 0; i < json_array_size(fs); i++) {
		char sub[PATH_LEN];
		sub_index(sub, "features", i);
		if (!feature(p, sub, json_array_get(fs, i)))
			return false;
	}
	return true;
}

struct geo_site *geo_site_parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct parser p = {NULL, err, errlen};
	json_error_t je;
	if (len > GEO_MAX_TEXT) {
		fail(&p, "", "more than %u bytes of GeoJSON", GEO_MAX_TEXT);
		return NULL;
	}
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		fail(&p, "", "not JSON: line %d column %d: %s", je.line, je.column, je.text);
		return NULL;
	}
	p.s = calloc(1, sizeof(*p.s));
	bool ok = p.s ? document(&p, root) : oom(&p);
	json_decref(root);
	if (!ok) {
		geo_site_free(p.s);
		return NULL;
	}
	struct geo_site *s = p.s;
	s->box = s->rings[0].box;
	for (size_t i = 0; i < s->npolys; i++) {
		const struct box *b = &s->rings[s->polys[i].first].box;
		s->box.x0 = b->x0 < s->box.x0 ? b->x0 : s->box.x0;
		s->box.y0 = b->y0 < s->box.y0 ? b->y0 : s->box.y0;
		s->box.x1 = b->x1 > s->box.x1 ? b->x1 : s->box.x1;
		s->box.y1 = b->y1 > s->box.y1 ? b->y1 : s->box.y1;
	}
	return s;
}

void geo_site_free(struct geo_site *site)
{
	if (site == NULL)
		return;
	free(site->pts);
	free(site->rings);
	free(site->polys);
	free(site);
}

size_t geo_site_polygons(const struct geo_site *site)
{
	return site->npolys;
}

size_t geo_site_points(const struct geo_site *site)
{
	return site->npts;
}

/* ---- writing ---- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void put(struct sbuf *b, const char *s)
{
	size_t n = strlen(s);
	if (b->oom || !grow((void **)&b->p, &b->cap, b->len + n + 1, 1)) {
		b->oom = true;
		return;
	}
	memcpy(b->p + b->len, s, n + 1);
	b->len += n;
}

/* Exact decimal of an e6 value, trailing zeros of the fraction dropped. */
static void put_e6(struct sbuf *b, int32_t v)
{
	char s[24];
	int64_t a = v < 0 ? -(int64_t)v : v;
	int len = snprintf(s, sizeof(s), "%s%lld.%06lld", v < 0 ? "-" : "", (long long)(a / E6),
			   (long long)(a % E6));
	while (s[len - 1] == '0')
		s[--len] = '\0';
	if (s[len - 1] == '.')
		s[--len] = '\0';
	put(b, s);
}

static void put_ring(struct sbuf *b, const struct geo_site *s, const struct ring *r)
{
	put(b, "[");
	for (size_t i = 0; i <= r->n; i++) {
		const struct pt *q = &s->pts[r->off + (i == r->n ? 0 : i)];
		put(b, i ? ",[" : "[");
		put_e6(b, q->x);
		put(b, ",");
		put_e6(b, q->y);
		put(b, "]");
	}
	put(b, "]");
}

char *geo_site_to_geojson(const struct geo_site *site)
{
	struct sbuf b = {NULL, 0, 0, false};
	put(&b, "{\"type\":\"MultiPolygon\",\"coordinates\":[");
	for (size_t i = 0; i < site->npolys; i++) {
		const struct poly *pg = &site->polys[i];
		put(&b, i ? ",[" : "[");
		for (size_t j = 0; j < pg->nrings; j++) {
			if (j)
				put(&b, ",");
			put_ring(&b, site, &site->rings[pg->first + j]);
		}
		put(&b, "]");
	}
	put(&b, "]}");
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* ---- point in polygon ---- */

static bool in_box(const struct box *b, int32_t x, int32_t y)
{
	return x >= b->x0 && x <= b->x1 && y >= b->y0 && y <= b->y1;
}

/*
 * Crossing number with a ray towards +x, exact in int64 (coordinates
 * within +-180e6, so differences < 2^29 and products < 2^58).  An edge
 * counts when one end is strictly above the ray and the other is not:
 * a ray through a vertex counts the two edges there once or twice, never
 * wrongly, and horizontal edges never count.  Any edge with the point on
 * it (cross product 0 within the edge's box) settles GEO_ON_EDGE first.
 * The caller has checked the ring's box, which bounds x and y.
 */
static enum geo_place ring_locate(const struct geo_site *s, const struct ring *r, int32_t x,
				  int32_t y)
{
	const struct pt *v = s->pts + r->off, p = {x, y};
	bool in = false;
	for (size_t i = 0, j = r->n - 1; i < r->n; j = i++) {
		struct pt a = v[j], b = v[i];
		bool a_up = a.y > y, b_up = b.y > y;
		bool near = (x >= a.x || x >= b.x) && (x <= a.x || x <= b.x) &&
			    (y >= a.y || y >= b.y) && (y <= a.y || y <= b.y);
		if (a_up == b_up && !near)
			continue;
		int64_t c = cross(a, b, p); /* > 0: p left of a->b */
		if (c == 0 && near)
			return GEO_ON_EDGE;
		if (a_up != b_up && (c > 0) == (b.y > a.y))
			in = !in;
	}
	return in ? GEO_INSIDE : GEO_OUTSIDE;
}

static enum geo_place poly_locate(const struct geo_site *s, const struct poly *pg, int32_t x,
				  int32_t y)
{
	const struct ring *outer = &s->rings[pg->first];
	if (!in_box(&outer->box, x, y))
		return GEO_OUTSIDE;
	enum geo_place w = ring_locate(s, outer, x, y);
	if (w != GEO_INSIDE)
		return w;
	for (size_t h = 1; h < pg->nrings; h++) {
		const struct ring *hole = &s->rings[pg->first + h];
		if (!in_box(&hole->box, x, y))
			continue;
		w = ring_locate(s, hole, x, y);
		if (w == GEO_ON_EDGE)
			return GEO_ON_EDGE;
		if (w == GEO_INSIDE)
			return GEO_OUTSIDE;
	}
	return GEO_INSIDE;
}

enum geo_place geo_locate(const struct geo_site *site, int32_t lat_e6, int32_t lon_e6)
{
	enum geo_place best = GEO_OUTSIDE;
	/* The box check comes first: it also keeps hostile coordinates out of the products. */
	if (site->npolys == 0 || !in_box(&site->box, lon_e6, lat_e6))
		return GEO_OUTSIDE;
	for (size_t i = 0; i < site->npolys && best != GEO_INSIDE; i++) {
		enum geo_place w = poly_locate(site, &site->polys[i], lon_e6, lat_e6);
		if (w != GEO_OUTSIDE)
			best = w;
	}
	return best;
}

bool geo_contains(const struct geo_site *site, int32_t lat_e6, int32_t lon_e6)
{
	return geo_locate(site, lat_e6, lon_e6) != GEO_OUTSIDE;
}

/* ---- distance and jumps ---- */

double geo_distance_m(int32_t lat1_e6, int32_t lon1_e6, int32_t lat2_e6, int32_t lon2_e6)
{
	double p1 = lat1_e6 * 1e-6 * DEG_TO_RAD, p2 = lat2_e6 * 1e-6 * DEG_TO_RAD;
	double dp = (lat2_e6 - (double)lat1_e6) * 1e-6 * DEG_TO_RAD;
	double dl = (lon2_e6 - (double)lon1_e6) * 1e-6 * DEG_TO_RAD;
	double a = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);
	return 2 * EARTH_RADIUS_M * asin(sqrt(fmin(1.0, fmax(0.0, a))));
}

bool geo_jump_too_fast(const struct geo_fix *a, const struct geo_fix *b, double max_kmh)
{
	double d = geo_distance_m(a->lat_e6, a->lon_e6, b->lat_e6, b->lon_e6);
	double dt = fabs(difftime(b->t, a->t));
	if (!(max_kmh > 0))
		max_kmh = 0;
	return d - GEO_JUMP_NOISE_M > max_kmh / 3.6 * dt;
}

/* ---- the set of all sites ---- */

struct named_site {
	char *name;
	struct geo_site *site;
};

struct school_sites {
	int64_t school_id;
	bool used;
	struct named_site *v;
	size_t n, cap;
};

/* Open addressing, linear probing, at most half full. */
struct geo_set {
	struct school_sites *slots;
	size_t cap, used;
};

static size_t slot_of(int64_t id, size_t cap)
{
	uint64_t z = (uint64_t)id + 0x9e3779b97f4a7c15u; /* splitmix64 finaliser */
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return (size_t)(z ^ (z >> 31)) & (cap - 1);
}

static struct school_sites *find_slot(struct school_sites *slots, size_t cap, int64_t id)
{
	size_t i = slot_of(id, cap);
	while (slots[i].used && slots[i].school_id != id)
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

struct geo_set *geo_set_new(void)
{
	struct geo_set *set = calloc(1, sizeof(*set));
	if (set == NULL)
		return NULL;
	set->cap = 16;
	set->slots = calloc(set->cap, sizeof(*set->slots));
	if (set->slots == NULL) {
		free(set);
		return NULL;
	}
	return set;
}

static bool rehash(struct geo_set *set)
{
	size_t cap = set->cap * 2;
	struct school_sites *slots = calloc(cap, sizeof(*slots));
	if (slots == NULL)
		return false;
	for (size_t i = 0; i < set->cap; i++)
		if (set->slots[i].used)
			*find_slot(slots, cap, set->slots[i].school_id) = set->slots[i];
	free(set->slots);
	set->slots = slots;
	set->cap = cap;
	return true;
}

bool geo_set_add(struct geo_set *set, int64_t school_id, const char *name, struct geo_site *site)
{
	if ((set->used + 1) * 2 > set->cap && !rehash(set)) {
		geo_site_free(site);
		return false;
	}
	struct school_sites *e = find_slot(set->slots, set->cap, school_id);
	char *copy = strdup(name);
	if (copy == NULL || !grow((void **)&e->v, &e->cap, e->n + 1, sizeof(*e->v))) {
		free(copy);
		geo_site_free(site);
		return false;
	}
	if (!e->used) {
		e->used = true;
		e->school_id = school_id;
		set->used++;
	}
	e->v[e->n++] = (struct named_site){copy, site};
	return true;
}

size_t geo_set_sites(const struct geo_set *set, int64_t school_id)
{
	const struct school_sites *e = find_slot(set->slots, set->cap, school_id);
	return e->used ? e->n : 0;
}

const char *geo_set_find(const struct geo_set *set, int64_t school_id, int32_t lat_e6,
			 int32_t lon_e6)
{
	const struct school_sites *e = find_slot(set->slots, set->cap, school_id);
	for (size_t i = 0; e->used && i < e->n; i++)
		if (geo_contains(e->v[i].site, lat_e6, lon_e6))
			return e->v[i].name;
	return NULL;
}

void geo_set_free(struct geo_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->cap; i++) {
		for (size_t k = 0; k < set->slots[i].n; k++) {
			free(set->slots[i].v[k].name);
			geo_site_free(set->slots[i].v[k].site);
		}
		free(set->slots[i].v);
	}
	free(set->slots);
	free(set);
}
