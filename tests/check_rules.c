/*
 * check_rules.c - unit tests for the per-record checks (src/rules.c):
 * one test per reason rules_check_record() can give, at and either side
 * of each bound, and the accepted path.
 *
 * The syllabus is the shipped conf/syllabus.yaml (SYLLABUS_FILE overrides
 * the path): C1 part 1 classroom and remote only, part 2 vehicle and
 * simulator on the site at most 50 km/h, part 3 vehicle and simulator
 * anywhere at most 100 km/h.  The site is conf/site-sample.geojson
 * (SITE_FILE overrides), the school SCHOOL's only site: an L-shaped field,
 * longitude 121.470-121.474 by latitude 31.230-31.2315 with an arm up to
 * latitude 31.233 over longitude 121.470-121.472, and a hole (a building)
 * at 121.4705-121.471 by 31.2305-31.231.
 */
#include "hoursd.h"
#include "rules.h"
#include "conf.h"
#include "syllabus.h"
#include "testutil.h"

#include <check.h>
#include <math.h>

#define D(v) ((int32_t)llround((v)*1e6))

#define SCHOOL 7	 /* has the sample site */
#define SCHOOL_NO_SITE 8 /* has none */
#define NOW ((time_t)1700000000)

/* On the field, away from its edges and from the hole. */
#define IN_LON 121.4725
#define IN_LAT 31.2308

static struct syllabus *syl;
static struct geo_set *sites;
static struct hconf cf;

static void setup(void)
{
	char err[512] = "";
	const char *path = env_or("SYLLABUS_FILE", "conf/syllabus.yaml");
	syl = syllabus_load(path, err, sizeof(err));
	ck_assert_msg(syl != NULL, "%s: %s", path, err);

	path = env_or("SITE_FILE", "conf/site-sample.geojson");
	size_t len;
	char *text = slurp(path, &len);
	struct geo_site *site = geo_site_parse(text, len, err, sizeof(err));
	free(text);
	ck_assert_msg(site != NULL, "%s: %s", path, err);
	sites = geo_set_new();
	ck_assert_ptr_nonnull(sites);
	ck_assert(geo_set_add(sites, SCHOOL, "sample", site));

	memset(&cf, 0, sizeof(cf));
	cf.max_record_age_s = 604800;
	cf.max_future_s = 300;
	cf.max_jump_kmh = 150;
	cf.max_speed_difference_kmh = 30;
}

static void teardown(void)
{
	geo_set_free(sites);
	sites = NULL;
	syllabus_free(syl);
	syl = NULL;
}

/* A terminal of SCHOOL whose vehicle class is unknown, with no fix yet. */
static struct rules_terminal term(void)
{
	return (struct rules_terminal){.school_id = SCHOOL, .vehicle_class = ""};
}

/* A C1 minute of the given mode and part at (lon, lat) with a fix, at speed 30 km/h. */
static struct jtx_record rec(unsigned mode, unsigned part, double lon, double lat, time_t t)
{
	struct jtx_record x;
	memset(&x, 0, sizeof(x));
	strcpy(x.record_no, "0000000000000001231114"
			    "0001");
	strcpy(x.student_no, "1111111111111111");
	strcpy(x.coach_no, "2222222222222222");
	x.class_id = 1;
	x.record_time = t;
	x.course.mode = (uint8_t)mode;
	x.course.part = (uint8_t)part;
	x.course.subject = 1;
	strcpy(x.course.vehicle_class, "C1");
	x.max_speed_dkmh = 300;
	x.gnss.fix = true;
	x.gnss.lat_e6 = D(lat);
	x.gnss.lon_e6 = D(lon);
	x.gnss.speed_dkmh = 300;
	x.gnss.time = t;
	return x;
}

/* A vehicle minute of part 2 on the field. */
static struct jtx_record on_field(time_t t)
{
	return rec(1, 2, IN_LON, IN_LAT, t);
}

static enum reason check(struct rules_terminal *t, const struct jtx_record *x)
{
	return rules_check_record(&cf, syl, sites, t, x, NOW);
}

#define ck_accepted(t, x)                                                                          \
	do {                                                                                       \
		enum reason why_ = check((t), (x));                                                \
		ck_assert_msg(why_ == R_NONE, "refused: %s", reason_name(why_));                   \
	} while (0)
#define ck_refused(t, x, want)                                                                     \
	do {                                                                                       \
		enum reason why_ = check((t), (x));                                                \
		ck_assert_msg(why_ == (want), "%s, expected %s",                                   \
			      why_ ? reason_name(why_) : "accepted", reason_name(want));           \
	} while (0)

/* ---- the accepted path ---- */

START_TEST(accepted_vehicle_minute)
{
	struct rules_terminal t = term();
	struct jtx_record x = on_field(NOW - 60);
	ck_accepted(&t, &x);
	/* The accepted vehicle minute is the new reference fix. */
	ck_assert_int_eq(t.last.lat_e6, D(IN_LAT));
	ck_assert_int_eq(t.last.lon_e6, D(IN_LON));
	ck_assert_int_eq(t.last.t, NOW - 60);

	/* The syllabus figures the tests below rely on. */
	const struct syllabus_part *p = syllabus_part(syl, "C1", 2);
	ck_assert_ptr_nonnull(p);
	ck_assert(p->on_site);
	ck_assert_uint_eq(p->max_speed_dkmh, 500);
	p = syllabus_part(syl, "C1", 3);
	ck_assert_ptr_nonnull(p);
	ck_assert(!p->on_site);
	ck_assert_uint_eq(p->max_speed_dkmh, 1000);
	p = syllabus_part(syl, "C1", 1);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(p->max_minutes[SYL_VEHICLE], 0);
	ck_assert_int_eq(p->max_minutes[SYL_SIMULATOR], 0);
}
END_TEST

/* ---- time ---- */

START_TEST(record_in_future)
{
	struct rules_terminal t = term();
	struct jtx_record x = on_field(NOW + 300); /* at the bound */
	ck_accepted(&t, &x);
	t = term();
	x = on_field(NOW + 299);
	ck_accepted(&t, &x);
	t = term();
	x = on_field(NOW + 301);
	ck_refused(&t, &x, R_RECORD_IN_FUTURE);
	x = on_field(NOW + 86400);
	ck_refused(&t, &x, R_RECORD_IN_FUTURE);

	/* max_future_s 0: now is the latest time. */
	cf.max_future_s = 0;
	t = term();
	x = on_field(NOW);
	ck_accepted(&t, &x);
	x = on_field(NOW + 1);
	ck_refused(&t, &x, R_RECORD_IN_FUTURE);
}
END_TEST

START_TEST(record_too_old)
{
	struct rules_terminal t = term();
	struct jtx_record x = on_field(NOW - 604800); /* at the bound */
	ck_accepted(&t, &x);
	t = term();
	x = on_field(NOW - 604799);
	ck_accepted(&t, &x);
	t = term();
	x = on_field(NOW - 604801);
	ck_refused(&t, &x, R_RECORD_TOO_OLD);
	x = on_field(0);
	ck_refused(&t, &x, R_RECORD_TOO_OLD);
	ck_assert_int_eq(t.last.t, 0); /* refused: no reference fix */
}
END_TEST

/* The time is checked before anything else. */
START_TEST(time_checked_first)
{
	struct rules_terminal t = term();
	struct jtx_record x = rec(9, 9, 0, 0, NOW + 301);
	strcpy(x.course.vehicle_class, "ZZ");
	x.gnss.fix = false;
	ck_refused(&t, &x, R_RECORD_IN_FUTURE);
	x.record_time = NOW - 604801;
	ck_refused(&t, &x, R_RECORD_TOO_OLD);
}
END_TEST

/* ---- the syllabus ---- */

START_TEST(no_syllabus_part)
{
	struct rules_terminal t = term();
	struct jtx_record x = on_field(NOW);
	strcpy(x.course.vehicle_class, "M"); /* not in the file */
	ck_refused(&t, &x, R_NO_SYLLABUS_PART);
	strcpy(x.course.vehicle_class, "C6"); /* in the file, parts 2 and 4 only */
	x.course.part = 3;
	ck_refused(&t, &x, R_NO_SYLLABUS_PART);
	x.course.part = 2;
	strcpy(x.course.vehicle_class, "P");
	ck_refused(&t, &x, R_NO_SYLLABUS_PART);
	strcpy(x.course.vehicle_class, "");
	ck_refused(&t, &x, R_NO_SYLLABUS_PART);

	x = on_field(NOW);
	x.course.part = 0;
	ck_refused(&t, &x, R_NO_SYLLABUS_PART);
	x.course.part = 5;
	ck_refused(&t, &x, R_NO_SYLLABUS_PART);
	x.course.part = 255;
	ck_refused(&t, &x, R_NO_SYLLABUS_PART);

	/* Another class in the file is found. */
	x = on_field(NOW);
	strcpy(x.course.vehicle_class, "C2");
	ck_accepted(&t, &x);
}
END_TEST

START_TEST(vehicle_class_mismatch)
{
	struct rules_terminal t = term();
	t.vehicle_class = "B2";
	struct jtx_record x = on_field(NOW);
	ck_refused(&t, &x, R_VEHICLE_CLASS_MISMATCH);
	/* A classroom minute of another class than the terminal's vehicle too. */
	x = rec(2, 1, IN_LON, IN_LAT, NOW);
	ck_refused(&t, &x, R_VEHICLE_CLASS_MISMATCH);
	ck_assert_int_eq(t.last.t, 0);

	t.vehicle_class = "C1";
	x = on_field(NOW);
	ck_accepted(&t, &x);
	t.vehicle_class = ""; /* unknown: no check */
	x = on_field(NOW);
	ck_accepted(&t, &x);
}
END_TEST

START_TEST(kind_not_allowed)
{
	struct rules_terminal t = term();
	/* Part 1 allows classroom and remote minutes only. */
	struct jtx_record x = rec(1, 1, IN_LON, IN_LAT, NOW);
	ck_refused(&t, &x, R_KIND_NOT_ALLOWED);
	x = rec(3, 1, IN_LON, IN_LAT, NOW); /* a simulator minute */
	ck_refused(&t, &x, R_KIND_NOT_ALLOWED);
	x = rec(3, 4, IN_LON, IN_LAT, NOW);
	ck_refused(&t, &x, R_KIND_NOT_ALLOWED);
	/* Part 2 allows vehicle and simulator minutes only. */
	x = rec(2, 2, IN_LON, IN_LAT, NOW);
	ck_refused(&t, &x, R_KIND_NOT_ALLOWED);
	x = rec(4, 3, IN_LON, IN_LAT, NOW);
	ck_refused(&t, &x, R_KIND_NOT_ALLOWED);
	/* A mode outside 1..4. */
	x = rec(0, 2, IN_LON, IN_LAT, NOW);
	ck_refused(&t, &x, R_KIND_NOT_ALLOWED);
	x = rec(5, 2, IN_LON, IN_LAT, NOW);
	ck_refused(&t, &x, R_KIND_NOT_ALLOWED);
	x = rec(255, 1, IN_LON, IN_LAT, NOW);
	ck_refused(&t, &x, R_KIND_NOT_ALLOWED);
	ck_assert_int_eq(t.last.t, 0);

	/* The kinds each part allows. */
	x = rec(2, 1, IN_LON, IN_LAT, NOW);
	ck_accepted(&t, &x);
	x = rec(4, 1, IN_LON, IN_LAT, NOW);
	ck_accepted(&t, &x);
	x = rec(3, 2, IN_LON, IN_LAT, NOW);
	ck_accepted(&t, &x);
	x = rec(2, 4, IN_LON, IN_LAT, NOW);
	ck_accepted(&t, &x);
	x = rec(3, 3, IN_LON, IN_LAT, NOW);
	ck_accepted(&t, &x);
}
END_TEST

/* ---- GNSS ---- */

START_TEST(no_gnss_fix)
{
	struct rules_terminal t = term();
	struct jtx_record x = on_field(NOW);
	x.gnss.fix = false;
	ck_refused(&t, &x, R_NO_GNSS_FIX);
	x = rec(1, 3, 121.0, 31.0, NOW);
	x.gnss.fix = false;
	ck_refused(&t, &x, R_NO_GNSS_FIX);
	ck_assert_int_eq(t.last.t, 0);
}
END_TEST

START_TEST(speed_over_limit)
{
	struct rules_terminal t = term();
	/* Part 2: 50 km/h. */
	struct jtx_record x = on_field(NOW - 120);
	x.max_speed_dkmh = 500;
	ck_accepted(&t, &x);
	x = on_field(NOW - 60);
	x.max_speed_dkmh = 501;
	ck_refused(&t, &x, R_SPEED_OVER_LIMIT);
	ck_assert_int_eq(t.last.t, NOW - 120); /* refused: the reference stays */
	x.max_speed_dkmh = 65535;
	ck_refused(&t, &x, R_SPEED_OVER_LIMIT);
	x.max_speed_dkmh = 0;
	ck_accepted(&t, &x);

	/* Part 3: 100 km/h, anywhere. */
	t = term();
	x = rec(1, 3, 121.5, 31.3, NOW);
	x.max_speed_dkmh = 1000;
	ck_accepted(&t, &x);
	x.max_speed_dkmh = 1001;
	ck_refused(&t, &x, R_SPEED_OVER_LIMIT);
}
END_TEST

/*
 * The timing GNSS block: the satellite speed counts against the part's
 * limit like the record's top speed, and a minute whose satellite and
 * recorder speeds are both non-zero and further apart than
 * rules.max_speed_difference_kmh is refused; 0 turns the comparison off.
 */
START_TEST(speed_mismatch)
{
	struct rules_terminal t = term();
	struct jtx_record x = on_field(NOW - 240);
	x.gnss.speed_dkmh = 501; /* part 2: 50 km/h */
	ck_refused(&t, &x, R_SPEED_OVER_LIMIT);
	x.gnss.speed_dkmh = 300;
	x.gnss.recorder_speed_dkmh = 601; /* 30.1 km/h apart */
	ck_refused(&t, &x, R_SPEED_MISMATCH);
	x.gnss.recorder_speed_dkmh = 0; /* no recorder speed: nothing to compare */
	ck_accepted(&t, &x);
	x = on_field(NOW - 180);
	x.gnss.speed_dkmh = 300;
	x.gnss.recorder_speed_dkmh = 600; /* exactly 30 km/h apart */
	ck_accepted(&t, &x);
	x = on_field(NOW - 120);
	x.gnss.speed_dkmh = 100;
	x.gnss.recorder_speed_dkmh = 401;
	ck_refused(&t, &x, R_SPEED_MISMATCH);
	cf.max_speed_difference_kmh = 0;
	ck_accepted(&t, &x);
	cf.max_speed_difference_kmh = 30;
}
END_TEST

START_TEST(position_jump)
{
	/* Part 3 (no site): 150 km/h is 2500 m a minute, plus 50 m of noise. */
	struct rules_terminal t = term();
	struct jtx_record a = rec(1, 3, 121.5, 31.3, NOW - 600);
	ck_accepted(&t, &a);

	/* 0.1 degree of latitude (about 11 km) in a minute. */
	struct jtx_record far = rec(1, 3, 121.5, 31.4, NOW - 540);
	ck_refused(&t, &far, R_POSITION_JUMP);
	ck_assert_int_eq(t.last.lat_e6, a.gnss.lat_e6); /* the reference did not move */
	ck_assert_int_eq(t.last.lon_e6, a.gnss.lon_e6);
	ck_assert_int_eq(t.last.t, a.record_time);

	/* The next good record near the old fix is accepted. */
	struct jtx_record near = rec(1, 3, 121.5001, 31.3001, NOW - 480);
	ck_accepted(&t, &near);
	ck_assert_int_eq(t.last.t, near.record_time);

	/* The far place a long time later is no jump (11 km in 8 minutes: 83 km/h). */
	far.record_time = NOW;
	ck_accepted(&t, &far);

	/* The same time at two places more than the noise apart is a jump. */
	t = term();
	a = rec(1, 3, 121.5, 31.3, NOW);
	ck_accepted(&t, &a);
	struct jtx_record same = rec(1, 3, 121.5, 31.301, NOW); /* 111 m */
	ck_refused(&t, &same, R_POSITION_JUMP);
	same = rec(1, 3, 121.5, 31.3003, NOW); /* 33 m: noise */
	ck_accepted(&t, &same);

	/* On the site too (part 2), and a refused jump does not move the reference. */
	t = term();
	a = on_field(NOW - 60);
	ck_accepted(&t, &a);
	far = rec(1, 2, 121.6, 31.4, NOW); /* off the site, 20 km away */
	ck_refused(&t, &far, R_POSITION_JUMP);
	struct jtx_record b = on_field(NOW);
	ck_accepted(&t, &b);
}
END_TEST

/* ---- the training site ---- */

START_TEST(no_training_site)
{
	struct rules_terminal t = term();
	t.school_id = SCHOOL_NO_SITE;
	struct jtx_record x = on_field(NOW);
	ck_refused(&t, &x, R_NO_TRAINING_SITE);
	t.school_id = 0; /* no school assigned */
	ck_refused(&t, &x, R_NO_TRAINING_SITE);
	ck_assert_int_eq(t.last.t, 0);

	/* No set of sites at all (not loaded yet). */
	t = term();
	ck_assert_int_eq(rules_check_record(&cf, syl, NULL, &t, &x, NOW), R_NO_TRAINING_SITE);
	ck_assert_int_eq(t.last.t, 0);

	/* Part 3 needs no site: accepted without one. */
	x = rec(1, 3, IN_LON, IN_LAT, NOW);
	ck_assert_int_eq(rules_check_record(&cf, syl, NULL, &t, &x, NOW), R_NONE);
	t.school_id = SCHOOL_NO_SITE;
	ck_accepted(&t, &x);
}
END_TEST

START_TEST(outside_training_site)
{
	struct rules_terminal t = term();
	/* In the hole (the building). */
	struct jtx_record x = rec(1, 2, 121.47075, 31.23075, NOW);
	ck_refused(&t, &x, R_OUTSIDE_TRAINING_SITE);
	/* Past the arm: in the notch of the L. */
	x = rec(1, 2, 121.473, 31.232, NOW);
	ck_refused(&t, &x, R_OUTSIDE_TRAINING_SITE);
	/* Past the end of the arm, one microdegree and a little more. */
	x = rec(1, 2, 121.471, 31.233001, NOW);
	ck_refused(&t, &x, R_OUTSIDE_TRAINING_SITE);
	x = rec(1, 2, 121.471, 31.2335, NOW);
	ck_refused(&t, &x, R_OUTSIDE_TRAINING_SITE);
	/* Past the far side of the foot. */
	x = rec(1, 2, 121.474001, 31.2305, NOW);
	ck_refused(&t, &x, R_OUTSIDE_TRAINING_SITE);
	ck_assert_int_eq(t.last.t, 0); /* refused: no reference fix */

	/* Inside the arm. */
	x = rec(1, 2, 121.471, 31.2325, NOW);
	ck_accepted(&t, &x);
}
END_TEST

START_TEST(on_edge_and_vertex)
{
	static const double on[][2] = {
		/* On edges of the outer ring: bottom, the arm's end, the sides of the notch. */
		{121.473, 31.230},
		{121.471, 31.233},
		{121.472, 31.232},
		{121.473, 31.2315},
		/* On an edge of the hole. */
		{121.47075, 31.2305},
		/* On vertices: a convex corner, the reflex corner of the L, a corner of the hole.
		 */
		{121.474, 31.2315},
		{121.472, 31.2315},
		{121.470, 31.233},
		{121.471, 31.231},
	};
	size_t n = sizeof(on) / sizeof(on[0]);
	struct rules_terminal t = term();
	for (size_t i = 0; i < n; i++) {
		/* A minute apart: the field is far smaller than a minute's jump. */
		struct jtx_record x = rec(1, 2, on[i][0], on[i][1], NOW - (time_t)(60 * (n - i)));
		ck_accepted(&t, &x);
		ck_assert_int_eq(t.last.lon_e6, D(on[i][0]));
		ck_assert_int_eq(t.last.lat_e6, D(on[i][1]));
	}
}
END_TEST

/* ---- minutes out of a vehicle ---- */

/* Classroom, remote and simulator minutes skip every GNSS check and keep the reference. */
START_TEST(non_vehicle_skips_gnss)
{
	struct rules_terminal t = term();
	struct jtx_record a = on_field(NOW - 60);
	ck_accepted(&t, &a);

	static const unsigned modes[][2] = {{2, 1}, {4, 1}, {2, 4}, {4, 4}, {3, 2}, {3, 3}};
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		/* No fix, too fast, 100 km away at the same time, off the site. */
		struct jtx_record x = rec(modes[i][0], modes[i][1], 122.5, 31.3, NOW - 60);
		x.gnss.fix = false;
		x.max_speed_dkmh = 65535;
		ck_accepted(&t, &x);
		x.gnss.fix = true;
		ck_accepted(&t, &x);
		/* With no site and no school. */
		struct rules_terminal u = term();
		u.school_id = 0;
		ck_assert_int_eq(rules_check_record(&cf, syl, NULL, &u, &x, NOW), R_NONE);
		ck_assert_int_eq(u.last.t, 0);
	}
	/* The reference is still the vehicle minute. */
	ck_assert_int_eq(t.last.t, NOW - 60);
	ck_assert_int_eq(t.last.lat_e6, D(IN_LAT));
	ck_assert_int_eq(t.last.lon_e6, D(IN_LON));
	struct jtx_record b = on_field(NOW);
	ck_accepted(&t, &b);
}
END_TEST

static Suite *rules_suite(void)
{
	Suite *s = suite_create("rules");
	TCase *tc = tcase_create("check_record");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, accepted_vehicle_minute);
	tcase_add_test(tc, record_in_future);
	tcase_add_test(tc, record_too_old);
	tcase_add_test(tc, time_checked_first);
	tcase_add_test(tc, no_syllabus_part);
	tcase_add_test(tc, vehicle_class_mismatch);
	tcase_add_test(tc, kind_not_allowed);
	tcase_add_test(tc, no_gnss_fix);
	tcase_add_test(tc, speed_over_limit);
	tcase_add_test(tc, speed_mismatch);
	tcase_add_test(tc, position_jump);
	tcase_add_test(tc, no_training_site);
	tcase_add_test(tc, outside_training_site);
	tcase_add_test(tc, on_edge_and_vertex);
	tcase_add_test(tc, non_vehicle_skips_gnss);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(rules_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
