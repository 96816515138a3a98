/*
 * check_syllabus.c - the syllabus loader and the decision: the shipped
 * conf/syllabus.yaml loads, a class may list a subset of the parts, the
 * adding-class figures and the part 3 mileage gate are derived, every kind
 * of bad file is refused with "file:line: message", and syllabus_met()
 * draws the line where the SQL draws it.
 */
#include "hoursd.h"
#include "syllabus.h"
#include "testutil.h"

#include <check.h>
#include <unistd.h>

/* Line numbers of the pieces below, counted from the first line of HEAD. */
#define HEAD                                                                                       \
	"syllabus: \"test syllabus\"\n"			      /* 1 */                              \
	"hour_minutes: 60\n"				      /* 2 */                              \
	"daily_cap_minutes: { theory: 240, practice: 180 }\n" /* 3 */                              \
	"classes:\n"					      /* 4 */
#define P1                                                                                         \
	"      1: { required_hours: 12, kinds: [classroom, remote], max_share: { remote: 0.5 } "   \
	"}\n"
#define P2                                                                                         \
	"      2: { required_hours: 16, kinds: [vehicle, simulator], max_share: { simulator: "     \
	"0.25 }, on_site: true, max_speed_kmh: 50 }\n"
#define P3 "      3: { required_hours: 24, kinds: [vehicle, simulator], daily_cap_minutes: 0 }\n"
#define P4 "      4: { required_minutes: 600, kinds: [classroom, remote] }\n"
/* A whole class: the key on line L, its parts on lines L+3 .. L+6. */
#define CLASS(name)                                                                                \
	"  " name ":\n"                                                                            \
	"    min_mileage_km: 300\n"                                                                \
	"    parts:\n" P1 P2 P3 P4
#define GOOD HEAD CLASS("C1")
/* A class with parts 2 and 4 only, as C6: the key on line L, parts on L+3, L+4. */
#define SUBSET(name)                                                                               \
	"  " name ":\n"                                                                            \
	"    min_mileage_km: 300\n"                                                                \
	"    parts:\n" P2 P4

/* Load text and expect the error "<file>:<line>: " followed by a message containing want. */
static void expect_err(const char *text, unsigned line, const char *want)
{
	char err[512], prefix[128];
	char *path = write_tmp(text);
	struct syllabus *s = syllabus_load(path, err, sizeof(err));
	snprintf(prefix, sizeof(prefix), "%s:%u: ", path, line);
	unlink(path);
	free(path);
	ck_assert_msg(s == NULL, "loaded a bad file, expected line %u: %s", line, want);
	ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0, "error \"%s\", expected prefix %s",
		      err, prefix);
	ck_assert_msg(strstr(err, want) != NULL, "error \"%s\" does not say \"%s\"", err, want);
}

static struct syllabus *load_text(const char *text)
{
	char err[512];
	char *path = write_tmp(text);
	struct syllabus *s = syllabus_load(path, err, sizeof(err));
	unlink(path);
	free(path);
	ck_assert_msg(s != NULL, "load failed: %s", err);
	return s;
}

START_TEST(shipped_file_loads)
{
	char err[512];
	struct syllabus *s =
		syllabus_load(env_or("SYLLABUS_FILE", "conf/syllabus.yaml"), err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	ck_assert_str_ne(syllabus_name(s), "");
	ck_assert_uint_eq(syllabus_hour_minutes(s), 60);
	static const char *const want[] = {"C1", "C2"};
	for (size_t c = 0; c < ARRAY_SIZE(want); c++) {
		for (unsigned part = 1; part <= 4; part++) {
			const struct syllabus_part *p = syllabus_part(s, want[c], part);
			ck_assert_msg(p != NULL, "%s part %u missing", want[c], part);
			ck_assert_str_eq(p->vehicle_class, want[c]);
			ck_assert_uint_eq(p->part, part);
			ck_assert_uint_gt(p->required_minutes, 0);
			ck_assert_uint_eq(p->min_mileage_km, 300);
		}
		/* Field driving is on the site; theory has no vehicle minutes. */
		ck_assert(syllabus_part(s, want[c], 2)->on_site);
		ck_assert(!syllabus_part(s, want[c], 3)->on_site);
		ck_assert_int_eq(syllabus_part(s, want[c], 1)->max_minutes[SYL_VEHICLE], 0);
	}
	ck_assert_uint_eq(syllabus_part(s, "C1", 1)->required_minutes, 12 * 60);
	ck_assert_uint_ge(syllabus_count(s), 8);
	ck_assert_ptr_null(syllabus_at(s, syllabus_count(s)));
	syllabus_free(s);
}
END_TEST

/* The course code's classes, in the order syllabus_at() keeps. */
static const char *const class_order_names[] = {"A1", "A2", "A3", "B1", "B2", "C1",
						"C2", "C3", "C4", "C5", "C6", "D",
						"E",  "F",  "M",  "N",	"P"};

static size_t class_rank(const char *cls)
{
	for (size_t i = 0; i < ARRAY_SIZE(class_order_names); i++) {
		if (strcmp(class_order_names[i], cls) == 0)
			return i;
	}
	ck_abort_msg("class %s is not in the class table", cls);
	return 0;
}

/*
 * syllabus_at() walks the listed parts only, by class then ascending part,
 * and each is what syllabus_part() finds for its class and part.
 */
static void check_order(const struct syllabus *s)
{
	for (size_t i = 0; i < syllabus_count(s); i++) {
		const struct syllabus_part *p = syllabus_at(s, i);
		ck_assert_ptr_nonnull(p);
		ck_assert_uint_ge(p->part, 1);
		ck_assert_uint_le(p->part, 4);
		ck_assert_ptr_eq(syllabus_part(s, p->vehicle_class, p->part), p);
		if (i == 0)
			continue;
		const struct syllabus_part *q = syllabus_at(s, i - 1);
		size_t rp = class_rank(p->vehicle_class), rq = class_rank(q->vehicle_class);
		ck_assert_msg(rq < rp || (rq == rp && q->part < p->part),
			      "%s part %u comes after %s part %u", p->vehicle_class, p->part,
			      q->vehicle_class, q->part);
	}
}

/*
 * The shipped file: C6 with parts 2 and 4 only; the adding-class figures
 * (part 1 at least 4 hours, part 4 at least 6) on the classes the source
 * names; the mileage gate on part 3.
 */
START_TEST(shipped_file_c6_adding_gate)
{
	char err[512];
	struct syllabus *s =
		syllabus_load(env_or("SYLLABUS_FILE", "conf/syllabus.yaml"), err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	check_order(s);

	ck_assert_ptr_null(syllabus_part(s, "C6", 1));
	ck_assert_ptr_null(syllabus_part(s, "C6", 3));
	const struct syllabus_part *c6p2 = syllabus_part(s, "C6", 2);
	const struct syllabus_part *c6p4 = syllabus_part(s, "C6", 4);
	ck_assert_ptr_nonnull(c6p2);
	ck_assert_ptr_nonnull(c6p4);
	ck_assert(c6p2->practice);
	ck_assert(c6p2->on_site);
	ck_assert(!c6p4->practice);
	ck_assert(!c6p2->confirmed);
	ck_assert_ptr_eq(c6p4, c6p2 + 1); /* stored compactly, next to each other */
	ck_assert_uint_eq(c6p2->adding_required_minutes, 0);
	ck_assert_uint_eq(c6p4->adding_required_minutes, 0);
	ck_assert_uint_eq(c6p2->gate_mileage_km, 0);

	static const char *const adding[] = {"C1", "C2", "C3", "C4", "C5", "D", "E", "F"};
	for (size_t c = 0; c < ARRAY_SIZE(adding); c++) {
		const struct syllabus_part *p1 = syllabus_part(s, adding[c], 1);
		const struct syllabus_part *p4 = syllabus_part(s, adding[c], 4);
		ck_assert_msg(p1 && p4, "%s parts 1 and 4", adding[c]);
		ck_assert_uint_eq(p1->adding_required_minutes, 4 * 60);
		ck_assert_uint_eq(p4->adding_required_minutes, 6 * 60);
		ck_assert_uint_eq(syllabus_part(s, adding[c], 2)->adding_required_minutes, 0);
		ck_assert_uint_eq(syllabus_part(s, adding[c], 3)->adding_required_minutes, 0);
	}
	/* The source does not name the buses and lorries. */
	static const char *const full[] = {"A1", "A2", "A3", "B1", "B2"};
	for (size_t c = 0; c < ARRAY_SIZE(full); c++) {
		for (unsigned part = 1; part <= 4; part++)
			ck_assert_uint_eq(syllabus_part(s, full[c], part)->adding_required_minutes,
					  0);
	}
	for (size_t i = 0; i < syllabus_count(s); i++) {
		const struct syllabus_part *p = syllabus_at(s, i);
		ck_assert_uint_le(p->adding_required_minutes, p->required_minutes);
		ck_assert_uint_eq(p->gate_mileage_km, p->part == 3 ? p->min_mileage_km : 0);
	}
	ck_assert_uint_eq(syllabus_part(s, "C1", 3)->gate_mileage_km, 300);
	ck_assert_uint_eq(syllabus_part(s, "C1", 2)->gate_mileage_km, 0);
	ck_assert_uint_eq(syllabus_part(s, "C1", 2)->min_mileage_km, 300);
	syllabus_free(s);
}
END_TEST

START_TEST(derived_figures)
{
	struct syllabus *s = load_text(GOOD);
	ck_assert_str_eq(syllabus_name(s), "test syllabus");
	ck_assert_uint_eq(syllabus_effective_minutes(s), 60); /* defaults to hour_minutes */
	const struct syllabus_part *p1 = syllabus_part(s, "C1", 1);
	const struct syllabus_part *p2 = syllabus_part(s, "C1", 2);
	const struct syllabus_part *p3 = syllabus_part(s, "C1", 3);
	const struct syllabus_part *p4 = syllabus_part(s, "C1", 4);
	ck_assert_uint_eq(p1->required_minutes, 720);
	ck_assert_int_eq(p1->max_minutes[SYL_REMOTE], 360);
	ck_assert_int_eq(p1->max_minutes[SYL_CLASSROOM], SYL_UNLIMITED);
	ck_assert_int_eq(p1->max_minutes[SYL_VEHICLE], 0);
	ck_assert_int_eq(p1->max_minutes[SYL_SIMULATOR], 0);
	ck_assert(!p1->practice);
	ck_assert_uint_eq(p1->daily_cap_minutes, 240);
	ck_assert_int_eq(p2->max_minutes[SYL_SIMULATOR], 240);
	ck_assert_int_eq(p2->max_minutes[SYL_VEHICLE], SYL_UNLIMITED);
	ck_assert(p2->on_site);
	ck_assert(p2->practice);
	ck_assert_uint_eq(p2->max_speed_dkmh, 500);
	ck_assert_uint_eq(p2->daily_cap_minutes, 180);
	ck_assert_uint_eq(p2->line, 9);
	ck_assert_uint_eq(p3->daily_cap_minutes, 0); /* written: no cap */
	ck_assert_uint_eq(p3->max_speed_dkmh, 0);
	ck_assert_uint_eq(p4->required_minutes, 600);
	ck_assert(p4->confirmed);
	/* The gate is part 3's alone; min_mileage_km stays on every part. */
	ck_assert_uint_eq(p3->gate_mileage_km, 300);
	ck_assert_uint_eq(p1->gate_mileage_km, 0);
	ck_assert_uint_eq(p2->gate_mileage_km, 0);
	ck_assert_uint_eq(p4->gate_mileage_km, 0);
	ck_assert_uint_eq(p1->min_mileage_km, 300);
	ck_assert_uint_eq(p4->min_mileage_km, 300);
	/* No adding_class: no reduced figure. */
	ck_assert_uint_eq(p1->adding_required_minutes, 0);
	ck_assert_uint_eq(p4->adding_required_minutes, 0);
	ck_assert_ptr_null(syllabus_part(s, "C2", 1));
	ck_assert_ptr_null(syllabus_part(s, "C1", 0));
	ck_assert_ptr_null(syllabus_part(s, "C1", 5));
	syllabus_free(s);
}
END_TEST

/* Classes come back in the class table's order, whatever the file's. */
START_TEST(class_order)
{
	struct syllabus *s = load_text(HEAD CLASS("F") CLASS("A1") CLASS("C2"));
	ck_assert_uint_eq(syllabus_count(s), 12);
	ck_assert_str_eq(syllabus_at(s, 0)->vehicle_class, "A1");
	ck_assert_str_eq(syllabus_at(s, 4)->vehicle_class, "C2");
	ck_assert_str_eq(syllabus_at(s, 8)->vehicle_class, "F");
	ck_assert_ptr_eq(syllabus_part(s, "C2", 3), syllabus_at(s, 6));
	check_order(s);
	syllabus_free(s);
}
END_TEST

/* A class may list any non-empty subset of the parts; only those are stored. */
START_TEST(subset_of_parts)
{
	struct syllabus *s = load_text(HEAD SUBSET("C6") CLASS("C1") SUBSET("A1"));
	ck_assert_uint_eq(syllabus_count(s), 8);
	check_order(s);
	ck_assert_str_eq(syllabus_at(s, 0)->vehicle_class, "A1");
	ck_assert_uint_eq(syllabus_at(s, 0)->part, 2);
	ck_assert_uint_eq(syllabus_at(s, 1)->part, 4);
	ck_assert_str_eq(syllabus_at(s, 2)->vehicle_class, "C1");
	ck_assert_uint_eq(syllabus_at(s, 2)->part, 1);
	ck_assert_str_eq(syllabus_at(s, 6)->vehicle_class, "C6");
	ck_assert_uint_eq(syllabus_at(s, 6)->part, 2);
	ck_assert_uint_eq(syllabus_at(s, 7)->part, 4);
	ck_assert_ptr_null(syllabus_at(s, 8));

	const struct syllabus_part *p2 = syllabus_part(s, "C6", 2);
	const struct syllabus_part *p4 = syllabus_part(s, "C6", 4);
	ck_assert_ptr_eq(p2, syllabus_at(s, 6));
	ck_assert_ptr_eq(p4, syllabus_at(s, 7));
	ck_assert_uint_eq(p2->required_minutes, 960);
	ck_assert_uint_eq(p2->line, 8);
	ck_assert_uint_eq(p4->required_minutes, 600);
	ck_assert_uint_eq(p4->line, 9);
	ck_assert_ptr_null(syllabus_part(s, "C6", 1));
	ck_assert_ptr_null(syllabus_part(s, "C6", 3));
	ck_assert_ptr_null(syllabus_part(s, "A1", 1));
	ck_assert_ptr_null(syllabus_part(s, "A1", 3));
	/* No part 3: nothing to gate, whatever min_mileage_km says. */
	ck_assert_uint_eq(p2->min_mileage_km, 300);
	ck_assert_uint_eq(p2->gate_mileage_km, 0);
	ck_assert_uint_eq(p4->gate_mileage_km, 0);
	/* Absent parts are never met. */
	unsigned m[SYL_KINDS] = {100000, 100000, 100000, 100000};
	ck_assert(!syllabus_met(syllabus_part(s, "C6", 1), m));
	ck_assert(syllabus_met(p2, m));
	syllabus_free(s);
}
END_TEST

/* A single part, in the middle of the range, is a subset too. */
START_TEST(single_part)
{
	struct syllabus *s = load_text(HEAD "  C3:\n    parts:\n" P3);
	ck_assert_uint_eq(syllabus_count(s), 1);
	ck_assert_uint_eq(syllabus_at(s, 0)->part, 3);
	ck_assert_uint_eq(syllabus_at(s, 0)->gate_mileage_km, 0); /* no min_mileage_km */
	ck_assert_ptr_eq(syllabus_part(s, "C3", 3), syllabus_at(s, 0));
	ck_assert_ptr_null(syllabus_part(s, "C3", 2));
	ck_assert_ptr_null(syllabus_part(s, "C3", 4));
	syllabus_free(s);
}
END_TEST

/*
 * adding_class in hours: the reduced figure of the parts it names, up to
 * and including the full requirement; the kinds' caps stay those of the
 * full requirement.
 */
START_TEST(adding_class_loaded)
{
	struct syllabus *s = load_text(HEAD "  C1:\n"
					    "    min_mileage_km: 300\n"
					    "    adding_class: { 1: 4, 4: 10 }\n"
					    "    parts:\n" P1 P2 P3 P4);
	const struct syllabus_part *p1 = syllabus_part(s, "C1", 1);
	const struct syllabus_part *p4 = syllabus_part(s, "C1", 4);
	ck_assert_uint_eq(p1->adding_required_minutes, 240);
	ck_assert_uint_eq(p1->required_minutes, 720);
	ck_assert_int_eq(p1->max_minutes[SYL_REMOTE], 360);  /* half of 720, not of 240 */
	ck_assert_uint_eq(p4->adding_required_minutes, 600); /* equal to the full figure */
	ck_assert_uint_eq(syllabus_part(s, "C1", 2)->adding_required_minutes, 0);
	ck_assert_uint_eq(syllabus_part(s, "C1", 3)->adding_required_minutes, 0);
	syllabus_free(s);
}
END_TEST

/* adding_class_minutes, written after the parts, on a subset class. */
START_TEST(adding_class_minutes_loaded)
{
	struct syllabus *s = load_text(HEAD "  C6:\n"
					    "    parts:\n" P2 P4 "    adding_class_minutes:\n"
					    "      2: 905\n"
					    "      4: 1\n");
	ck_assert_uint_eq(syllabus_part(s, "C6", 2)->adding_required_minutes, 905);
	ck_assert_uint_eq(syllabus_part(s, "C6", 4)->adding_required_minutes, 1);
	syllabus_free(s);
}
END_TEST

START_TEST(err_unknown_class)
{
	expect_err(HEAD CLASS("C1") CLASS("X9"), 12, "unknown vehicle class \"X9\"");
}
END_TEST

START_TEST(err_unknown_key_top)
{
	expect_err("syllabus: x\nhours_per_day: 4\n"
		   "classes:\n" CLASS("C1"),
		   2, "unknown key \"hours_per_day\"");
}
END_TEST

START_TEST(err_unknown_key_part)
{
	expect_err(HEAD "  C1:\n    parts:\n" P1 P2
			"      3: { required_hours: 24, kinds: [vehicle], max_sped_kmh: 90 }\n" P4,
		   9, "class C1 part 3: unknown key \"max_sped_kmh\"");
}
END_TEST

START_TEST(err_unknown_key_class)
{
	expect_err(HEAD "  C1:\n    mileage: 300\n    parts:\n" P1 P2 P3 P4, 6,
		   "class C1: unknown key \"mileage\"");
}
END_TEST

START_TEST(err_negative_minutes)
{
	expect_err(HEAD "  C1:\n    parts:\n" P1 P2 P3
			"      4: { required_minutes: -600, kinds: [classroom] }\n",
		   10, "required_minutes: must not be negative");
}
END_TEST

START_TEST(err_non_numeric_minutes)
{
	expect_err(HEAD "  C1:\n    parts:\n" P1
			"      2: { required_hours: sixteen, kinds: [vehicle] }\n" P3 P4,
		   8, "required_hours: expected a whole number, got \"sixteen\"");
}
END_TEST

START_TEST(err_fractional_minutes)
{
	expect_err(HEAD "  C1:\n    parts:\n" P1 P2 P3
			"      4: { required_minutes: 600.5, kinds: [classroom] }\n",
		   10, "expected a whole number");
}
END_TEST

START_TEST(err_share_above_one)
{
	expect_err(HEAD "  C1:\n    parts:\n" P1
			"      2: { required_hours: 16, kinds: [vehicle, simulator],\n"
			"           max_share: { simulator: 1.25 } }\n" P3 P4,
		   9, "share 1.25 is outside 0..1");
}
END_TEST

START_TEST(err_share_negative)
{
	expect_err(HEAD "  C1:\n    parts:\n"
			"      1: { required_hours: 12, kinds: [classroom, remote], max_share: { "
			"remote: -0.5 } }\n" P2 P3 P4,
		   7, "share -0.5 is outside 0..1");
}
END_TEST

START_TEST(err_share_not_a_number)
{
	expect_err(HEAD "  C1:\n    parts:\n"
			"      1: { required_hours: 12, kinds: [remote], max_share: { remote: half "
			"} }\n" P2 P3 P4,
		   7, "expected a share 0..1");
}
END_TEST

START_TEST(err_part_outside)
{
	expect_err(HEAD "  C1:\n    parts:\n" P1 P2 P3 P4
			"      5: { required_hours: 1, kinds: [vehicle] }\n",
		   11, "part \"5\" is outside 1..4");
}
END_TEST

START_TEST(err_part_zero)
{
	expect_err(HEAD "  C1:\n    parts:\n      0: { required_hours: 1, kinds: [vehicle] }\n", 7,
		   "part \"0\" is outside 1..4");
}
END_TEST

START_TEST(err_no_parts)
{
	expect_err(HEAD CLASS("C1") "  C2:\n    min_mileage_km: 300\n    parts: {}\n", 14,
		   "class C2: parts: no parts (list at least one of parts 1-4)");
}
END_TEST

START_TEST(err_parts_missing)
{
	expect_err(HEAD CLASS("C1") "  C2:\n    min_mileage_km: 300\n", 12,
		   "class C2: parts missing");
}
END_TEST

/* The adding-class figures: each refused with the line of its value or key. */
#define ADDING_HEAD HEAD "  C1:\n    adding_class:\n" /* the first entry on line 7 */
#define ADDING_PARTS "    parts:\n" P1 P2 P3 P4

START_TEST(err_adding_above_requirement)
{
	expect_err(ADDING_HEAD "      1: 4\n      4: 11\n" ADDING_PARTS, 8,
		   "class C1: adding_class: part 4: 660 minutes is above the part's full "
		   "requirement (600 minutes)");
}
END_TEST

START_TEST(err_adding_minutes_above_requirement)
{
	expect_err(HEAD "  C1:\n    adding_class_minutes: { 2: 961 }\n" ADDING_PARTS, 6,
		   "adding_class_minutes: part 2: 961 minutes is above the part's full "
		   "requirement (960 minutes)");
}
END_TEST

START_TEST(err_adding_absent_part)
{
	expect_err(HEAD SUBSET("C6") "    adding_class:\n      4: 6\n      1: 4\n", 12,
		   "class C6: adding_class: part 1 is not one of the class's parts");
}
END_TEST

START_TEST(err_adding_part_outside)
{
	expect_err(ADDING_HEAD "      5: 4\n" ADDING_PARTS, 7,
		   "class C1: adding_class: part \"5\" is outside 1..4");
}
END_TEST

START_TEST(err_adding_not_a_number)
{
	expect_err(ADDING_HEAD "      1: four\n" ADDING_PARTS, 7,
		   "adding_class: part 1: expected a whole number, got \"four\"");
}
END_TEST

START_TEST(err_adding_negative)
{
	expect_err(ADDING_HEAD "      1: -4\n" ADDING_PARTS, 7,
		   "adding_class: part 1: must not be negative");
}
END_TEST

START_TEST(err_adding_fractional)
{
	expect_err(ADDING_HEAD "      1: 4.5\n" ADDING_PARTS, 7, "expected a whole number");
}
END_TEST

START_TEST(err_adding_zero)
{
	expect_err(ADDING_HEAD "      1: 0\n" ADDING_PARTS, 7,
		   "adding_class: part 1: 0 is not a reduced figure");
}
END_TEST

START_TEST(err_adding_not_a_mapping)
{
	expect_err(HEAD "  C1:\n    adding_class: [4, 6]\n" ADDING_PARTS, 6,
		   "class C1: adding_class: expected a mapping, got a sequence");
}
END_TEST

START_TEST(err_adding_empty)
{
	expect_err(HEAD "  C1:\n    adding_class: {}\n" ADDING_PARTS, 6, "adding_class: empty");
}
END_TEST

START_TEST(err_adding_duplicate)
{
	expect_err(ADDING_HEAD "      1: 4\n      1: 5\n" ADDING_PARTS, 8,
		   "duplicate key 1 (first on line 7)");
}
END_TEST

START_TEST(err_adding_both_keys)
{
	expect_err(HEAD "  C1:\n    adding_class: { 1: 4 }\n"
			"    adding_class_minutes: { 1: 240 }\n" ADDING_PARTS,
		   7, "both adding_class and adding_class_minutes");
}
END_TEST

START_TEST(err_no_requirement)
{
	expect_err(HEAD "  C1:\n    parts:\n" P1 P2 "      3: { kinds: [vehicle] }\n" P4, 9,
		   "class C1 part 3: no requirement");
}
END_TEST

START_TEST(err_zero_requirement)
{
	expect_err(HEAD "  C1:\n    parts:\n" P1 P2 P3
			"      4: { required_minutes: 0, kinds: [classroom] }\n",
		   10, "no requirement (0)");
}
END_TEST

START_TEST(err_both_requirements)
{
	expect_err(HEAD "  C1:\n    parts:\n" P1 P2 P3 "      4: { required_hours: 10,\n"
			"           required_minutes: 600, kinds: [classroom] }\n",
		   11, "both required_hours and required_minutes");
}
END_TEST

START_TEST(err_kind_not_allowed)
{
	expect_err(HEAD "  C1:\n    parts:\n" P1
			"      2: { required_hours: 16, kinds: [vehicle], max_share: { simulator: "
			"0.25 } }\n" P3 P4,
		   8, "kind simulator is not allowed in this part");
}
END_TEST

START_TEST(err_unknown_kind)
{
	expect_err(HEAD "  C1:\n    parts:\n" P1 P2
			"      3: { required_hours: 24, kinds: [vehicle, helicopter] }\n" P4,
		   9, "unknown kind \"helicopter\"");
}
END_TEST

START_TEST(err_kind_twice)
{
	expect_err(HEAD "  C1:\n    parts:\n" P1 P2
			"      3: { required_hours: 24, kinds: [vehicle, vehicle] }\n" P4,
		   9, "kind vehicle listed twice");
}
END_TEST

START_TEST(err_no_kinds)
{
	expect_err(HEAD "  C1:\n    parts:\n" P1 P2 "      3: { required_hours: 24 }\n" P4, 9,
		   "kinds missing");
}
END_TEST

START_TEST(err_cannot_be_met)
{
	expect_err(HEAD "  C1:\n    parts:\n" P1 P2 P3
			"      4: { required_hours: 10, kinds: [remote], max_share: { remote: 0.5 "
			"} }\n",
		   10, "cannot be met");
}
END_TEST

START_TEST(err_duplicate_class)
{
	expect_err(HEAD CLASS("C1") CLASS("C1"), 12, "duplicate key C1 (first on line 5)");
}
END_TEST

START_TEST(err_duplicate_part)
{
	expect_err(HEAD "  C1:\n    parts:\n" P1 P2 P3 P4 P2, 11,
		   "duplicate key 2 (first on line 8)");
}
END_TEST

START_TEST(err_duplicate_key_in_part)
{
	expect_err(HEAD "  C1:\n    parts:\n" P1 P2 P3
			"      4: { required_minutes: 600, kinds: [classroom],\n"
			"           kinds: [remote] }\n",
		   11, "duplicate key kinds (first on line 10)");
}
END_TEST

START_TEST(err_duplicate_top_key)
{
	expect_err(HEAD CLASS("C1") "hour_minutes: 45\n", 12,
		   "duplicate key hour_minutes (first on line 2)");
}
END_TEST

START_TEST(err_syntax)
{
	expect_err(HEAD "  C1:\n    parts:\n      1: { required_hours: 12, kinds: [classroom\n"
			"      2: { required_hours: 16 }\n",
		   8, "YAML syntax error");
}
END_TEST

START_TEST(err_bad_bool)
{
	expect_err(HEAD "  C1:\n    parts:\n" P1
			"      2: { required_hours: 16, kinds: [vehicle], on_site: yes }\n" P3 P4,
		   8, "on_site: expected true or false");
}
END_TEST

START_TEST(err_missing_name)
{
	expect_err("hour_minutes: 60\nclasses:\n" CLASS("C1"), 1, "missing key syllabus");
}
END_TEST

START_TEST(err_no_classes)
{
	expect_err("syllabus: x\nclasses: {}\n", 2, "classes: empty");
}
END_TEST

START_TEST(err_two_documents)
{
	expect_err(GOOD "---\nsyllabus: y\n", 13, "more than one YAML document");
}
END_TEST

START_TEST(err_unreadable)
{
	char err[256];
	ck_assert_ptr_null(syllabus_load("/nonexistent/syllabus.yaml", err, sizeof(err)));
	ck_assert_str_eq(err,
			 "/nonexistent/syllabus.yaml:0: cannot open: No such file or directory");
}
END_TEST

/* C1 part 2 of GOOD: 960 minutes, simulator at most 240, vehicle unlimited. */
static struct syllabus *met_syl;
static const struct syllabus_part *met_part;

static void met_setup(void)
{
	met_syl = load_text(GOOD);
	met_part = syllabus_part(met_syl, "C1", 2);
	ck_assert_ptr_nonnull(met_part);
}

static void met_teardown(void)
{
	syllabus_free(met_syl);
}

static bool met(unsigned veh, unsigned cls, unsigned sim, unsigned rem)
{
	unsigned m[SYL_KINDS];
	m[SYL_VEHICLE] = veh;
	m[SYL_CLASSROOM] = cls;
	m[SYL_SIMULATOR] = sim;
	m[SYL_REMOTE] = rem;
	return syllabus_met(met_part, m);
}

START_TEST(met_at_requirement)
{
	ck_assert(met(960, 0, 0, 0));
	ck_assert(met(720, 0, 240, 0));
}
END_TEST

START_TEST(met_below_requirement)
{
	ck_assert(!met(959, 0, 0, 0));
	ck_assert(!met(719, 0, 240, 0));
	ck_assert(!met(0, 0, 0, 0));
}
END_TEST

START_TEST(met_above_requirement)
{
	ck_assert(met(961, 0, 0, 0));
	ck_assert(met(5000, 0, 100, 0));
}
END_TEST

/* Simulator minutes past their share do not count, however many. */
START_TEST(met_simulator_over_share)
{
	ck_assert(!met(700, 0, 260, 0)); /* 700 + 240 = 940 */
	ck_assert(!met(0, 0, 960, 0));
	ck_assert(!met(719, 0, 100000, 0));
	ck_assert(met(720, 0, 100000, 0));
}
END_TEST

/* Kinds the part does not allow count for nothing. */
START_TEST(met_kind_not_allowed)
{
	ck_assert(!met(0, 960, 0, 960));
	ck_assert(!met(959, 1, 0, 1));
}
END_TEST

START_TEST(met_null_part)
{
	unsigned m[SYL_KINDS] = {100000, 100000, 100000, 100000};
	ck_assert(!syllabus_met(NULL, m));
	ck_assert(!syllabus_met(syllabus_part(met_syl, "B2", 2), m));
}
END_TEST

START_TEST(kind_names)
{
	ck_assert_str_eq(syllabus_kind_name(SYL_VEHICLE), "vehicle");
	ck_assert_str_eq(syllabus_kind_name(SYL_CLASSROOM), "classroom");
	ck_assert_str_eq(syllabus_kind_name(SYL_SIMULATOR), "simulator");
	ck_assert_str_eq(syllabus_kind_name(SYL_REMOTE), "remote");
	ck_assert_ptr_null(syllabus_kind_name(SYL_KINDS));
}
END_TEST

static Suite *syllabus_suite(void)
{
	Suite *s = suite_create("syllabus");
	TCase *tc = tcase_create("load");
	tcase_add_test(tc, shipped_file_loads);
	tcase_add_test(tc, shipped_file_c6_adding_gate);
	tcase_add_test(tc, derived_figures);
	tcase_add_test(tc, class_order);
	tcase_add_test(tc, subset_of_parts);
	tcase_add_test(tc, single_part);
	tcase_add_test(tc, adding_class_loaded);
	tcase_add_test(tc, adding_class_minutes_loaded);
	tcase_add_test(tc, kind_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, err_unknown_class);
	tcase_add_test(tc, err_unknown_key_top);
	tcase_add_test(tc, err_unknown_key_part);
	tcase_add_test(tc, err_unknown_key_class);
	tcase_add_test(tc, err_negative_minutes);
	tcase_add_test(tc, err_non_numeric_minutes);
	tcase_add_test(tc, err_fractional_minutes);
	tcase_add_test(tc, err_share_above_one);
	tcase_add_test(tc, err_share_negative);
	tcase_add_test(tc, err_share_not_a_number);
	tcase_add_test(tc, err_part_outside);
	tcase_add_test(tc, err_part_zero);
	tcase_add_test(tc, err_no_parts);
	tcase_add_test(tc, err_parts_missing);
	tcase_add_test(tc, err_adding_above_requirement);
	tcase_add_test(tc, err_adding_minutes_above_requirement);
	tcase_add_test(tc, err_adding_absent_part);
	tcase_add_test(tc, err_adding_part_outside);
	tcase_add_test(tc, err_adding_not_a_number);
	tcase_add_test(tc, err_adding_negative);
	tcase_add_test(tc, err_adding_fractional);
	tcase_add_test(tc, err_adding_zero);
	tcase_add_test(tc, err_adding_not_a_mapping);
	tcase_add_test(tc, err_adding_empty);
	tcase_add_test(tc, err_adding_duplicate);
	tcase_add_test(tc, err_adding_both_keys);
	tcase_add_test(tc, err_no_requirement);
	tcase_add_test(tc, err_zero_requirement);
	tcase_add_test(tc, err_both_requirements);
	tcase_add_test(tc, err_kind_not_allowed);
	tcase_add_test(tc, err_unknown_kind);
	tcase_add_test(tc, err_kind_twice);
	tcase_add_test(tc, err_no_kinds);
	tcase_add_test(tc, err_cannot_be_met);
	tcase_add_test(tc, err_duplicate_class);
	tcase_add_test(tc, err_duplicate_part);
	tcase_add_test(tc, err_duplicate_key_in_part);
	tcase_add_test(tc, err_duplicate_top_key);
	tcase_add_test(tc, err_syntax);
	tcase_add_test(tc, err_bad_bool);
	tcase_add_test(tc, err_missing_name);
	tcase_add_test(tc, err_no_classes);
	tcase_add_test(tc, err_two_documents);
	tcase_add_test(tc, err_unreadable);
	suite_add_tcase(s, tc);

	tc = tcase_create("met");
	tcase_add_checked_fixture(tc, met_setup, met_teardown);
	tcase_add_test(tc, met_at_requirement);
	tcase_add_test(tc, met_below_requirement);
	tcase_add_test(tc, met_above_requirement);
	tcase_add_test(tc, met_simulator_over_share);
	tcase_add_test(tc, met_kind_not_allowed);
	tcase_add_test(tc, met_null_part);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(syllabus_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
