/*
 * check_sqlfacts.c - the shared facts of the SQL are written once, in the
 * migrations (sql/0*.sql), and the statements of sql/queries/ call them
 * instead of copying them: no UTC+8 by hand (local_clock(), local_minute(),
 * local_midnight(), local_time(), training_day()), no counted minutes summed
 * by hand (counted_minutes()), no practice parts by number (cap_group()), no
 * progress plus forms by hand (progress_with_forms(), part_total).
 *
 * The statements are read as compiled in (sql_statements[], queries.h),
 * the text PostgreSQL is sent: comment lines are not part of it.
 */
#include "hoursd.h"
#include "queries.h"

#include <check.h>
#include <regex.h>

/* A fact's hand copy, what to write instead, and a copy the pattern must catch. */
static const struct fact {
	const char *re; /* POSIX extended, case ignored, across lines */
	const char *instead;
	const char *copy;
} facts[] = {
	{"interval[[:space:]]*'8[[:space:]]*hours?'",
	 "UTC+8 by hand: local_clock(), local_minute(), local_midnight(), local_time() "
	 "(sql/013_shared_facts.sql)",
	 "to_char(t AT TIME ZONE 'UTC' + interval '8 hours', 'YYYY-MM-DD HH24:MI')"},
	{"\\)[[:space:]]*[-+][[:space:]]*capped[[:space:]]*\\(",
	 "counted minutes summed by hand: counted_minutes() (sql/013_shared_facts.sql)",
	 "capped(p.vehicle, sp.max_vehicle)\n         + capped(p.simulator, sp.max_simulator)"},
	{"capped[[:space:]]*\\(([^()]|\\([^()]*\\))*\\)[[:space:]]*[-+]",
	 "counted minutes summed by hand: counted_minutes() (sql/013_shared_facts.sql)",
	 "capped(coalesce(p.remote, 0), sp.max_remote) - 1"},
	{"[^a-z_]in[[:space:]]*\\([[:space:]]*2[[:space:]]*,[[:space:]]*3[[:space:]]*\\)",
	 "the practice parts by number: cap_group(part) = 'practice' (sql/007_pipeline.sql)",
	 "FILTER (WHERE s.part IN (2, 3))"},
	{"coalesce[[:space:]]*\\([a-z_.]*(vehicle|simulator|classroom|remote|mileage_dkm),"
	 "[[:space:]]*0[[:space:]]*\\)[[:space:]]*\\+[[:space:]]*coalesce[[:space:]]*\\(",
	 "progress plus forms by hand: progress_with_forms() or the view part_total "
	 "(sql/013_shared_facts.sql)",
	 "coalesce(t.mileage_dkm, 0) + coalesce(b.mileage_dkm, 0)"},
};

static bool matches(const regex_t *rx, const char *text)
{
	return regexec(rx, text, 0, NULL, 0) == 0;
}

START_TEST(statements_are_there)
{
	ck_assert_uint_ge(sql_nstatements, 99);
	for (size_t i = 0; i < sql_nstatements; i++)
		ck_assert_msg(sql_statements[i].text[0] != '\0', "%s.sql: no statement",
			      sql_statements[i].name);
}
END_TEST

/* Fact _i: the pattern catches its copy, and no statement holds one. */
START_TEST(no_hand_copy)
{
	const struct fact *f = &facts[_i];
	regex_t rx;
	ck_assert_int_eq(regcomp(&rx, f->re, REG_EXTENDED | REG_ICASE | REG_NOSUB), 0);
	ck_assert_msg(matches(&rx, f->copy), "%s misses \"%s\"", f->re, f->copy);
	for (size_t i = 0; i < sql_nstatements; i++)
		ck_assert_msg(!matches(&rx, sql_statements[i].text), "%s.sql: %s",
			      sql_statements[i].name, f->instead);
	regfree(&rx);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sqlfacts");
	TCase *tc = tcase_create("facts");
	tcase_add_test(tc, statements_are_there);
	tcase_add_loop_test(tc, no_hand_copy, 0, (int)ARRAY_SIZE(facts));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
