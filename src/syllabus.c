/*
 * syllabus.c - the training syllabus, see syllabus.h and docs/syllabus.md.
 *
 * The loader reads the file with libyaml's document API and walks three
 * levels of mappings (top level, class, part) with one small key table
 * per level.  Every value is checked where it is read, with the line of
 * the offending node; then each part gets its derived figures (minutes
 * per kind from the shares, the daily cap of its group, the mileage gate
 * of part 3) and each class its reduced figures for adding a class.  A
 * class lists any non-empty subset of parts 1-4; only the parts listed
 * are stored.  Nothing is half-loaded: on any error the new syllabus is
 * freed and the caller keeps what it had.
 */
#include "hoursd.h"
#include "syllabus.h"
#include "ydoc.h"

/* The vehicle classes of the course code table (docs/protocol.md), in order. */
static const char *const class_names[] = {"A1", "A2", "A3", "B1", "B2", "C1", "C2", "C3", "C4",
					  "C5", "C6", "D",  "E",  "F",	"M",  "N",  "P"};
#define NCLASSES ARRAY_SIZE(class_names)
#define NPARTS 4

static const char *const kind_names[SYL_KINDS] = {"vehicle", "classroom", "simulator", "remote"};

/* Bounds the code can live with; the file's figures are far inside them. */
#define MAX_HOUR_MINUTES 600
#define MAX_REQUIRED_MINUTES 60000 /* 1000 hours of 60 minutes */
#define MAX_DAY_MINUTES 1440
#define MAX_SPEED_KMH 400
#define MAX_MILEAGE_KM 100000
#define SHARE_ONE 1000000ULL /* shares are kept in millionths */

struct syllabus {
	char *name;
	unsigned hour_minutes;
	unsigned effective_minutes;
	unsigned cap_theory, cap_practice; /* minutes a day, 0 = no cap */
	size_t n;
	/* The parts listed, by class (class_names[] order) then part. */
	struct syllabus_part parts[NCLASSES * NPARTS];
	/* Where a class's part is in parts[], plus one; 0 = not listed. */
	unsigned char at[NCLASSES][NPARTS];
};

/* State of one syllabus_load() call. */
struct loader {
	struct ydoc y; /* first: the file, the message buffer, the document */
	struct syllabus *s;
};

const char *syllabus_kind_name(unsigned kind)
{
	return kind < SYL_KINDS ? kind_names[kind] : NULL;
}

static int kind_index(const char *name)
{
	for (int k = 0; k < SYL_KINDS; k++) {
		if (strcmp(kind_names[k], name) == 0)
			return k;
	}
	return -1;
}

static int class_index(const char *name)
{
	for (size_t i = 0; i < NCLASSES; i++) {
		if (strcmp(class_names[i], name) == 0)
			return (int)i;
	}
	return -1;
}

/* A scalar value without NUL bytes; what names the value in messages. */
static bool want_scalar(struct loader *ld, const yaml_node_t *n, const char *what)
{
	if (n->type != YAML_SCALAR_NODE)
		return ydoc_fail(&ld->y, ydoc_line(n), "%s: expected a scalar, got %s", what,
				 ydoc_kind(n));
	if (strlen(ydoc_scalar(n)) != n->data.scalar.length)
		return ydoc_fail(&ld->y, ydoc_line(n), "%s: value contains a NUL byte", what);
	return true;
}

static bool want_mapping(struct loader *ld, const yaml_node_t *n, const char *what)
{
	if (n->type != YAML_MAPPING_NODE)
		return ydoc_fail(&ld->y, ydoc_line(n), "%s: expected a mapping, got %s", what,
				 ydoc_kind(n));
	return true;
}

/*
 * A whole number within [min, max].  Digits only: a sign, a fraction or
 * spaces are refused, and a leading '-' gets its own message because a
 * negative figure is the likely slip.
 */
static bool get_uint(struct loader *ld, const yaml_node_t *n, const char *what, unsigned min,
		     unsigned max, unsigned *out)
{
	if (!want_scalar(ld, n, what))
		return false;
	const char *s = ydoc_scalar(n);
	if (s[0] == '-' && s[1] >= '0' && s[1] <= '9')
		return ydoc_fail(&ld->y, ydoc_line(n), "%s: must not be negative, got %.40s", what,
				 s);
	if (*s == '\0' || strspn(s, "0123456789") != strlen(s))
		return ydoc_fail(&ld->y, ydoc_line(n), "%s: expected a whole number, got \"%.40s\"",
				 what, s);
	unsigned long long v = 0;
	for (; *s; s++) {
		v = v * 10 + (unsigned)(*s - '0');
		if (v > max)
			break;
	}
	if (v < min || v > max)
		return ydoc_fail(&ld->y, ydoc_line(n), "%s: %.40s is out of bounds [%u, %u]", what,
				 ydoc_scalar(n), min, max);
	*out = (unsigned)v;
	return true;
}

static bool get_bool(struct loader *ld, const yaml_node_t *n, const char *what, bool *out)
{
	if (!want_scalar(ld, n, what))
		return false;
	if (strcmp(ydoc_scalar(n), "true") == 0)
		*out = true;
	else if (strcmp(ydoc_scalar(n), "false") == 0)
		*out = false;
	else
		return ydoc_fail(&ld->y, ydoc_line(n), "%s: expected true or false, got \"%.40s\"",
				 what, ydoc_scalar(n));
	return true;
}

/*
 * A share 0..1 as a decimal ("0", "1", "0.25", "1.0"), kept exactly in
 * millionths so that the minutes derived from it do not depend on
 * floating-point rounding.
 */
static bool get_share(struct loader *ld, const yaml_node_t *n, const char *what,
		      unsigned long long *out)
{
	if (!want_scalar(ld, n, what))
		return false;
	const char *s = ydoc_scalar(n), *p = s;
	unsigned long long whole = 0, frac = 0, scale = SHARE_ONE;
	size_t nint = strspn(p, "0123456789");
	if (*p == '-' && p[1] != '\0' && strspn(p + 1, "0123456789.") == strlen(p + 1))
		return ydoc_fail(&ld->y, ydoc_line(n), "%s: share %.40s is outside 0..1", what, s);
	if (nint == 0 || nint > 6)
		goto bad;
	for (; p < s + nint; p++)
		whole = whole * 10 + (unsigned)(*p - '0');
	if (*p == '.') {
		size_t nfrac = strspn(++p, "0123456789");
		if (nfrac == 0 || nfrac > 6)
			goto bad;
		for (size_t i = 0; i < nfrac; i++, p++) {
			scale /= 10;
			frac += (unsigned)(*p - '0') * scale;
		}
	}
	if (*p != '\0')
		goto bad;
	if (whole > 1 || (whole == 1 && frac > 0))
		return ydoc_fail(&ld->y, ydoc_line(n), "%s: share %.40s is outside 0..1", what, s);
	*out = whole * SHARE_ONE + frac;
	return true;
bad:
	return ydoc_fail(&ld->y, ydoc_line(n),
			 "%s: expected a share 0..1 (at most 6 decimals), got \"%.40s\"", what, s);
}

/* A key written twice in one mapping: libyaml keeps both, so look. */
static bool check_dup_keys(struct loader *ld, const yaml_node_t *map, const char *where)
{
	yaml_node_pair_t *start = map->data.mapping.pairs.start;
	yaml_node_pair_t *top = map->data.mapping.pairs.top;
	for (yaml_node_pair_t *a = start; a < top; a++) {
		const yaml_node_t *ka = ydoc_node(&ld->y, a->key);
		if (!ka || ka->type != YAML_SCALAR_NODE)
			return ydoc_fail(&ld->y, ka ? ydoc_line(ka) : ydoc_line(map),
					 "%s: keys must be scalars", where);
		for (yaml_node_pair_t *b = start; b < a; b++) {
			const yaml_node_t *kb = ydoc_node(&ld->y, b->key);
			if (strcmp(ydoc_scalar(ka), ydoc_scalar(kb)) == 0)
				return ydoc_fail(&ld->y, ydoc_line(ka),
						 "%s: duplicate key %.60s (first on line %lu)",
						 where, ydoc_scalar(ka), ydoc_line(kb));
		}
	}
	return true;
}

/*
 * The value nodes of a mapping's keys, by position in names[]; an unknown
 * key is an error.  vals[] and keys[] have one slot per name, NULL when
 * the key is absent.
 */
static bool collect(struct loader *ld, const yaml_node_t *map, const char *where,
		    const char *const *names, size_t nnames, const yaml_node_t **keys,
		    const yaml_node_t **vals)
{
	if (!check_dup_keys(ld, map, where))
		return false;
	for (size_t i = 0; i < nnames; i++)
		keys[i] = vals[i] = NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *k = ydoc_node(&ld->y, p->key), *v = ydoc_node(&ld->y, p->value);
		size_t i = 0;
		while (i < nnames && strcmp(names[i], ydoc_scalar(k)) != 0)
			i++;
		if (i == nnames)
			return ydoc_fail(&ld->y, ydoc_line(k), "%s: unknown key \"%.60s\"", where,
					 ydoc_scalar(k));
		keys[i] = k;
		vals[i] = v;
	}
	return true;
}

/* The kinds list of a part: known names, each once. */
static bool load_kinds(struct loader *ld, const yaml_node_t *seq, const char *where,
		       bool allowed[SYL_KINDS])
{
	char what[80];
	snprintf(what, sizeof(what), "%s: kinds", where);
	if (seq->type != YAML_SEQUENCE_NODE)
		return ydoc_fail(&ld->y, ydoc_line(seq), "%s: expected a sequence, got %s", what,
				 ydoc_kind(seq));
	if (seq->data.sequence.items.start == seq->data.sequence.items.top)
		return ydoc_fail(&ld->y, ydoc_line(seq),
				 "%s: empty (name the kinds of minutes that count)", what);
	for (yaml_node_item_t *it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++) {
		const yaml_node_t *n = ydoc_node(&ld->y, *it);
		if (!want_scalar(ld, n, what))
			return false;
		int k = kind_index(ydoc_scalar(n));
		if (k < 0)
			return ydoc_fail(
				&ld->y, ydoc_line(n),
				"%s: unknown kind \"%.40s\" (vehicle, classroom, simulator, "
				"remote)",
				what, ydoc_scalar(n));
		if (allowed[k])
			return ydoc_fail(&ld->y, ydoc_line(n), "%s: kind %s listed twice", what,
					 kind_names[k]);
		allowed[k] = true;
	}
	return true;
}

/* max_share: kind -> share, only for kinds the part allows. */
static bool load_shares(struct loader *ld, const yaml_node_t *map, const char *where,
			const bool allowed[SYL_KINDS], long long share[SYL_KINDS])
{
	char what[80];
	snprintf(what, sizeof(what), "%s: max_share", where);
	if (!want_mapping(ld, map, what) || !check_dup_keys(ld, map, what))
		return false;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *k = ydoc_node(&ld->y, p->key), *v = ydoc_node(&ld->y, p->value);
		int kind = kind_index(ydoc_scalar(k));
		unsigned long long sh = 0;
		if (kind < 0)
			return ydoc_fail(
				&ld->y, ydoc_line(k),
				"%s: unknown kind \"%.40s\" (vehicle, classroom, simulator, "
				"remote)",
				what, ydoc_scalar(k));
		if (!allowed[kind])
			return ydoc_fail(&ld->y, ydoc_line(k),
					 "%s: kind %s is not allowed in this part (not in kinds)",
					 what, kind_names[kind]);
		if (!get_share(ld, v, what, &sh))
			return false;
		share[kind] = (long long)sh;
	}
	return true;
}

enum part_key { PK_HOURS, PK_MINUTES, PK_KINDS, PK_SHARE, PK_SITE, PK_SPEED, PK_CAP, PK_N };
static const char *const part_keys[PK_N] = {
	"required_hours", "required_minutes",  "kinds", "max_share", "on_site",
	"max_speed_kmh",  "daily_cap_minutes",
};

/* required_hours or required_minutes, exactly one, above zero. */
static bool load_required(struct loader *ld, const yaml_node_t *map, const char *where,
			  const yaml_node_t *const *keys, const yaml_node_t *const *vals,
			  unsigned *out)
{
	char what[80];
	unsigned v = 0, hm = ld->s->hour_minutes;
	if (vals[PK_HOURS] && vals[PK_MINUTES])
		return ydoc_fail(&ld->y, ydoc_line(keys[PK_MINUTES]),
				 "%s: both required_hours and required_minutes; write one", where);
	if (!vals[PK_HOURS] && !vals[PK_MINUTES])
		return ydoc_fail(&ld->y, ydoc_line(map),
				 "%s: no requirement (required_hours or required_minutes)", where);
	bool hours = vals[PK_HOURS] != NULL;
	const yaml_node_t *n = hours ? vals[PK_HOURS] : vals[PK_MINUTES];
	snprintf(what, sizeof(what), "%s: %s", where, part_keys[hours ? PK_HOURS : PK_MINUTES]);
	if (!get_uint(ld, n, what, 0, hours ? MAX_REQUIRED_MINUTES / hm : MAX_REQUIRED_MINUTES, &v))
		return false;
	if (v == 0)
		return ydoc_fail(&ld->y, ydoc_line(n), "%s: no requirement (0)", what);
	*out = hours ? v * hm : v;
	return true;
}

/*
 * The figures derived from what the file says: minutes per kind (floor of
 * required * share, so that a share never lets more through than written),
 * the cap group and its daily cap.  A part whose kinds together cannot
 * reach the requirement could never be met, so it is refused here.
 */
static bool derive(struct loader *ld, struct syllabus_part *p, const char *where,
		   const bool allowed[SYL_KINDS], const long long share[SYL_KINDS], bool cap_set)
{
	unsigned long long reach = 0;
	bool unlimited = false;
	for (int k = 0; k < SYL_KINDS; k++) {
		if (!allowed[k])
			p->max_minutes[k] = 0;
		else if (share[k] < 0)
			p->max_minutes[k] = SYL_UNLIMITED;
		else
			p->max_minutes[k] = (int)((unsigned long long)p->required_minutes *
						  (unsigned long long)share[k] / SHARE_ONE);
		if (p->max_minutes[k] == SYL_UNLIMITED)
			unlimited = true;
		else
			reach += (unsigned)p->max_minutes[k];
	}
	if (!unlimited && reach < p->required_minutes)
		return ydoc_fail(
			&ld->y, p->line,
			"%s: cannot be met: its kinds and shares cover at most %llu of the %u "
			"required minutes",
			where, reach, p->required_minutes);
	p->practice = allowed[SYL_VEHICLE] || allowed[SYL_SIMULATOR];
	if (!cap_set)
		p->daily_cap_minutes = p->practice ? ld->s->cap_practice : ld->s->cap_theory;
	return true;
}

static bool load_part(struct loader *ld, const yaml_node_t *map, const char *where,
		      struct syllabus_part *p)
{
	const yaml_node_t *keys[PK_N], *vals[PK_N];
	bool allowed[SYL_KINDS] = {false};
	long long share[SYL_KINDS] = {-1, -1, -1, -1};
	unsigned speed = 0;
	char what[80];

	if (!want_mapping(ld, map, where) ||
	    !collect(ld, map, where, part_keys, PK_N, keys, vals) ||
	    !load_required(ld, map, where, keys, vals, &p->required_minutes))
		return false;
	if (!vals[PK_KINDS])
		return ydoc_fail(&ld->y, ydoc_line(map),
				 "%s: kinds missing (which kinds of minutes count)", where);
	if (!load_kinds(ld, vals[PK_KINDS], where, allowed))
		return false;
	if (vals[PK_SHARE] && !load_shares(ld, vals[PK_SHARE], where, allowed, share))
		return false;
	snprintf(what, sizeof(what), "%s: on_site", where);
	if (vals[PK_SITE] && !get_bool(ld, vals[PK_SITE], what, &p->on_site))
		return false;
	snprintf(what, sizeof(what), "%s: max_speed_kmh", where);
	if (vals[PK_SPEED] && !get_uint(ld, vals[PK_SPEED], what, 0, MAX_SPEED_KMH, &speed))
		return false;
	p->max_speed_dkmh = speed * 10;
	snprintf(what, sizeof(what), "%s: daily_cap_minutes", where);
	if (vals[PK_CAP] &&
	    !get_uint(ld, vals[PK_CAP], what, 0, MAX_DAY_MINUTES, &p->daily_cap_minutes))
		return false;
	return derive(ld, p, where, allowed, share, vals[PK_CAP] != NULL);
}

enum class_key { CK_CONFIRMED, CK_MILEAGE, CK_PARTS, CK_ADDING, CK_ADDING_MIN, CK_N };
static const char *const class_keys[CK_N] = {"confirmed", "min_mileage_km", "parts", "adding_class",
					     "adding_class_minutes"};

/* "1".."4"; anything else names the offending key. */
static bool part_number(struct loader *ld, const yaml_node_t *k, const char *where, unsigned *out)
{
	const char *s = ydoc_scalar(k);
	if (s[0] < '1' || s[0] > '4' || s[1] != '\0')
		return ydoc_fail(&ld->y, ydoc_line(k), "%s: part \"%.20s\" is outside 1..4", where,
				 s);
	*out = (unsigned)(s[0] - '0');
	return true;
}

/*
 * The reduced figures for a student who already holds a licence and adds
 * this class (增驾): adding_class in hours or adding_class_minutes, part ->
 * requirement.  Only parts the class lists, each above 0 and at most the
 * part's full requirement.  parts[] and seen[] are the class's, by part.
 */
static bool load_adding(struct loader *ld, const yaml_node_t *const *keys,
			const yaml_node_t *const *vals, const char *where,
			struct syllabus_part parts[NPARTS], const bool seen[NPARTS + 1])
{
	if (vals[CK_ADDING] && vals[CK_ADDING_MIN])
		return ydoc_fail(&ld->y, ydoc_line(keys[CK_ADDING_MIN]),
				 "%s: both adding_class and adding_class_minutes; write one",
				 where);
	bool hours = vals[CK_ADDING] != NULL;
	const yaml_node_t *map = hours ? vals[CK_ADDING] : vals[CK_ADDING_MIN];
	unsigned hm = ld->s->hour_minutes;
	char what[80];
	if (map == NULL)
		return true;
	snprintf(what, sizeof(what), "%s: %s", where,
		 class_keys[hours ? CK_ADDING : CK_ADDING_MIN]);
	if (!want_mapping(ld, map, what) || !check_dup_keys(ld, map, what))
		return false;
	if (map->data.mapping.pairs.start == map->data.mapping.pairs.top)
		return ydoc_fail(&ld->y, ydoc_line(map),
				 "%s: empty (name the parts with a reduced figure, or leave the "
				 "key out)",
				 what);
	for (yaml_node_pair_t *pp = map->data.mapping.pairs.start; pp < map->data.mapping.pairs.top;
	     pp++) {
		const yaml_node_t *k = ydoc_node(&ld->y, pp->key),
				  *v = ydoc_node(&ld->y, pp->value);
		unsigned part = 0, figure = 0;
		char pwhat[96];
		if (!part_number(ld, k, what, &part))
			return false;
		if (!seen[part])
			return ydoc_fail(&ld->y, ydoc_line(k),
					 "%s: part %u is not one of the class's parts", what, part);
		snprintf(pwhat, sizeof(pwhat), "%s: part %u", what, part);
		if (!get_uint(ld, v, pwhat, 0,
			      hours ? MAX_REQUIRED_MINUTES / hm : MAX_REQUIRED_MINUTES, &figure))
			return false;
		if (figure == 0)
			return ydoc_fail(&ld->y, ydoc_line(v),
					 "%s: 0 is not a reduced figure (leave the part out)",
					 pwhat);
		struct syllabus_part *p = &parts[part - 1];
		unsigned minutes = hours ? figure * hm : figure;
		if (minutes > p->required_minutes)
			return ydoc_fail(&ld->y, ydoc_line(v),
					 "%s: %u minutes is above the part's full requirement "
					 "(%u minutes)",
					 pwhat, minutes, p->required_minutes);
		p->adding_required_minutes = minutes;
	}
	return true;
}

/*
 * One class (index c of class_names[]): its keys, then its parts, any
 * non-empty subset of 1-4, then its reduced figures.  The parts listed
 * are appended to the syllabus in ascending order.
 */
static bool load_class(struct loader *ld, size_t c, const yaml_node_t *kn, const yaml_node_t *map)
{
	const char *cls = ydoc_scalar(kn);
	const yaml_node_t *keys[CK_N], *vals[CK_N];
	bool confirmed = true;
	unsigned mileage = 0;
	char where[16], what[80];

	snprintf(where, sizeof(where), "class %.4s", cls);
	if (!want_mapping(ld, map, where) || !collect(ld, map, where, class_keys, CK_N, keys, vals))
		return false;
	snprintf(what, sizeof(what), "%s: confirmed", where);
	if (vals[CK_CONFIRMED] && !get_bool(ld, vals[CK_CONFIRMED], what, &confirmed))
		return false;
	snprintf(what, sizeof(what), "%s: min_mileage_km", where);
	if (vals[CK_MILEAGE] && !get_uint(ld, vals[CK_MILEAGE], what, 0, MAX_MILEAGE_KM, &mileage))
		return false;
	if (!vals[CK_PARTS])
		return ydoc_fail(&ld->y, ydoc_line(kn), "%s: parts missing", where);
	snprintf(what, sizeof(what), "%s: parts", where);
	if (!want_mapping(ld, vals[CK_PARTS], what) || !check_dup_keys(ld, vals[CK_PARTS], what))
		return false;

	struct syllabus_part parts[NPARTS];
	bool seen[NPARTS + 1] = {false};
	bool any = false;
	const yaml_node_pair_t *pp = vals[CK_PARTS]->data.mapping.pairs.start;
	for (; pp < vals[CK_PARTS]->data.mapping.pairs.top; pp++) {
		const yaml_node_t *k = ydoc_node(&ld->y, pp->key),
				  *v = ydoc_node(&ld->y, pp->value);
		unsigned part = 0;
		char pwhere[48];
		if (!part_number(ld, k, what, &part))
			return false;
		snprintf(pwhere, sizeof(pwhere), "%s part %u", where, part);
		struct syllabus_part *p = &parts[part - 1];
		memset(p, 0, sizeof(*p));
		snprintf(p->vehicle_class, sizeof(p->vehicle_class), "%s", cls);
		p->part = part;
		p->line = ydoc_line(k);
		p->min_mileage_km = mileage;
		p->gate_mileage_km = part == 3 ? mileage : 0;
		p->confirmed = confirmed;
		if (!load_part(ld, v, pwhere, p))
			return false;
		seen[part] = any = true;
	}
	if (!any)
		return ydoc_fail(&ld->y, ydoc_line(vals[CK_PARTS]),
				 "%s: no parts (list at least one of parts 1-4)", what);
	if (!load_adding(ld, keys, vals, where, parts, seen))
		return false;
	for (unsigned part = 1; part <= NPARTS; part++) {
		if (!seen[part])
			continue;
		ld->s->parts[ld->s->n] = parts[part - 1];
		ld->s->at[c][part - 1] = (unsigned char)(++ld->s->n);
	}
	return true;
}

/*
 * Classes are stored in the order of class_names[], whatever the order of
 * the file, so that syllabus_at() and the syllabus_part rows are stable.
 */
static bool load_classes(struct loader *ld, const yaml_node_t *map)
{
	if (!want_mapping(ld, map, "classes") || !check_dup_keys(ld, map, "classes"))
		return false;
	const yaml_node_t *by_class[NCLASSES][2] = {{NULL}};
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *k = ydoc_node(&ld->y, p->key);
		int c = class_index(ydoc_scalar(k));
		if (c < 0)
			return ydoc_fail(
				&ld->y, ydoc_line(k),
				"classes: unknown vehicle class \"%.20s\" (A1 A2 A3 B1 B2 C1 C2 "
				"C3 C4 C5 C6 D E F M N P)",
				ydoc_scalar(k));
		by_class[c][0] = k;
		by_class[c][1] = ydoc_node(&ld->y, p->value);
	}
	for (size_t c = 0; c < NCLASSES; c++) {
		if (by_class[c][0] && !load_class(ld, c, by_class[c][0], by_class[c][1]))
			return false;
	}
	if (ld->s->n == 0)
		return ydoc_fail(&ld->y, ydoc_line(map), "classes: empty");
	return true;
}

static bool load_caps(struct loader *ld, const yaml_node_t *map)
{
	static const char *const names[] = {"theory", "practice"};
	const yaml_node_t *keys[2], *vals[2];
	if (!want_mapping(ld, map, "daily_cap_minutes") ||
	    !collect(ld, map, "daily_cap_minutes", names, 2, keys, vals))
		return false;
	if (vals[0] && !get_uint(ld, vals[0], "daily_cap_minutes: theory", 0, MAX_DAY_MINUTES,
				 &ld->s->cap_theory))
		return false;
	if (vals[1] && !get_uint(ld, vals[1], "daily_cap_minutes: practice", 0, MAX_DAY_MINUTES,
				 &ld->s->cap_practice))
		return false;
	return true;
}

enum top_key { TK_NAME, TK_HOUR, TK_EFFECTIVE, TK_CAPS, TK_CLASSES, TK_N };
static const char *const top_keys[TK_N] = {"syllabus", "hour_minutes", "effective_minutes",
					   "daily_cap_minutes", "classes"};

/* The top level; hour_minutes and the caps first, since the classes use them. */
static bool load_top(struct ydoc *y, const yaml_node_t *root, void *arg)
{
	struct loader *ld = arg;
	const yaml_node_t *keys[TK_N], *vals[TK_N];
	struct syllabus *s = ld->s;
	if (root->type != YAML_MAPPING_NODE)
		return ydoc_fail(&ld->y, ydoc_line(root), "top level must be a mapping, got %s",
				 ydoc_kind(root));
	if (!collect(ld, root, "top level", top_keys, TK_N, keys, vals))
		return false;
	if (!vals[TK_NAME])
		return ydoc_fail(&ld->y, ydoc_line(root),
				 "missing key syllabus (the document's name)");
	if (!want_scalar(ld, vals[TK_NAME], "syllabus"))
		return false;
	if (ydoc_scalar(vals[TK_NAME])[0] == '\0')
		return ydoc_fail(&ld->y, ydoc_line(vals[TK_NAME]), "syllabus: must not be empty");
	if (!(s->name = strdup(ydoc_scalar(vals[TK_NAME]))))
		return ydoc_fail(&ld->y, 0, "out of memory");
	if (vals[TK_HOUR] &&
	    !get_uint(ld, vals[TK_HOUR], "hour_minutes", 1, MAX_HOUR_MINUTES, &s->hour_minutes))
		return false;
	s->effective_minutes = s->hour_minutes;
	if (vals[TK_EFFECTIVE] && !get_uint(ld, vals[TK_EFFECTIVE], "effective_minutes", 1,
					    s->hour_minutes, &s->effective_minutes))
		return false;
	if (vals[TK_CAPS] && !load_caps(ld, vals[TK_CAPS]))
		return false;
	if (!vals[TK_CLASSES])
		return ydoc_fail(&ld->y, ydoc_line(root), "missing key classes");
	return load_classes(ld, vals[TK_CLASSES]);
}

struct syllabus *syllabus_load(const char *path, char *err, size_t errlen)
{
	struct loader ld = {.y = {.path = path, .err = err, .errlen = errlen}};
	FILE *f = ydoc_open(&ld.y);
	if (!f)
		return NULL;
	ld.s = calloc(1, sizeof(*ld.s));
	if (!ld.s) {
		fclose(f);
		ydoc_fail(&ld.y, 0, "out of memory");
		return NULL;
	}
	ld.s->hour_minutes = 60;
	bool ok = ydoc_load(&ld.y, f, load_top, &ld, "empty syllabus");
	fclose(f);
	if (!ok) {
		syllabus_free(ld.s);
		return NULL;
	}
	return ld.s;
}

void syllabus_free(struct syllabus *s)
{
	if (!s)
		return;
	free(s->name);
	free(s);
}

const char *syllabus_name(const struct syllabus *s)
{
	return s->name;
}

unsigned syllabus_hour_minutes(const struct syllabus *s)
{
	return s->hour_minutes;
}

unsigned syllabus_effective_minutes(const struct syllabus *s)
{
	return s->effective_minutes;
}

const struct syllabus_part *syllabus_part(const struct syllabus *s, const char *vehicle_class,
					  unsigned part)
{
	if (!s || !vehicle_class || part < 1 || part > NPARTS)
		return NULL;
	int c = class_index(vehicle_class);
	if (c < 0 || s->at[c][part - 1] == 0)
		return NULL;
	return &s->parts[s->at[c][part - 1] - 1];
}

size_t syllabus_count(const struct syllabus *s)
{
	return s ? s->n : 0;
}

const struct syllabus_part *syllabus_at(const struct syllabus *s, size_t i)
{
	return s && i < s->n ? &s->parts[i] : NULL;
}

bool syllabus_met(const struct syllabus_part *p, const unsigned minutes_by_kind[SYL_KINDS])
{
	if (!p || !minutes_by_kind)
		return false;
	unsigned long long sum = 0;
	for (int k = 0; k < SYL_KINDS; k++) {
		unsigned m = minutes_by_kind[k];
		int max = p->max_minutes[k];
		sum += max == SYL_UNLIMITED ? m : (m < (unsigned)max ? m : (unsigned)max);
	}
	return sum >= p->required_minutes;
}
