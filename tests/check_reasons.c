/*
 * check_reasons.c - the reason codes (src/reasons.c): the enum's table is
 * whole, its names are the ones already stored in the database and in
 * metrics labels, and docs/protocol.md's table of reason codes lists
 * exactly the enum's codes.
 *
 * The documentation is read from the working directory (make check runs
 * the suites from the repository's root); REASONS_DOC overrides the path.
 */
#include "hoursd.h"
#include "reasons.h"
#include "testutil.h"

#include <check.h>
#include <ctype.h>

#define MAX_ROWS 64

/* The table's rows: the code of each, in the documentation's order. */
static char doc_names[MAX_ROWS][48];
static size_t n_doc;

/* "| `no_signature` | ..." -> "no_signature"; false when the first cell is not one quoted code. */
static bool row_code(const char *line, char *out, size_t cap)
{
	const char *open = strstr(line, "| `"), *close = open ? strchr(open + 3, '`') : NULL;
	if (open != line || close == NULL || (size_t)(close - open - 3) >= cap)
		return false;
	memcpy(out, open + 3, (size_t)(close - open - 3));
	out[close - open - 3] = '\0';
	return strncmp(close + 1, " |", 2) == 0;
}

/*
 * The table under "**Reason codes**": its header row "| reason | meaning |",
 * the separator, then one row a code up to the first line that is not a
 * row.
 */
static void read_doc_table(void)
{
	const char *path = env_or("REASONS_DOC", "docs/protocol.md");
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	char line[1024];
	enum { BEFORE, HEADING, HEADER, ROWS, AFTER } at = BEFORE;
	n_doc = 0;
	while (at != AFTER && fgets(line, sizeof(line), f)) {
		switch (at) {
		case BEFORE:
			if (strncmp(line, "**Reason codes**", 16) == 0)
				at = HEADING;
			break;
		case HEADING:
			if (strncmp(line, "| reason | meaning |", 20) == 0)
				at = HEADER;
			break;
		case HEADER:
			ck_assert_msg(strncmp(line, "|---|", 5) == 0, "%s: no separator row", path);
			at = ROWS;
			break;
		case ROWS:
			if (line[0] != '|') {
				at = AFTER;
				break;
			}
			ck_assert_msg(n_doc < MAX_ROWS, "%s: more than %d rows", path, MAX_ROWS);
			ck_assert_msg(row_code(line, doc_names[n_doc], sizeof(doc_names[0])),
				      "%s: a row without a `code` first: %s", path, line);
			n_doc++;
			break;
		case AFTER:
			break;
		}
	}
	fclose(f);
	ck_assert_msg(at != BEFORE, "%s: no **Reason codes** paragraph", path);
	ck_assert_msg(n_doc > 0, "%s: no table of reason codes", path);
}

/* ---- the enum's own table ---- */

/* Every code has a name and a line of documentation; names are distinct and read back. */
START_TEST(table_is_whole)
{
	ck_assert_ptr_null(reason_name(R_NONE));
	ck_assert_ptr_null(reason_doc(R_NONE));
	ck_assert_ptr_null(reason_name(R__COUNT));
	ck_assert_ptr_null(reason_doc(R__COUNT));
	for (enum reason r = R_NONE + 1; r < R__COUNT; r++) {
		const char *name = reason_name(r), *doc = reason_doc(r);
		ck_assert_msg(name != NULL && doc != NULL, "code %d has no name or doc", (int)r);
		ck_assert_msg(strlen(doc) > 10 && strchr(doc, '\n') == NULL,
			      "%s: the doc is not one line", name);
		for (const char *p = name; *p; p++)
			ck_assert_msg(islower((unsigned char)*p) || *p == '_',
				      "%s: not lower case and underscores", name);
		ck_assert_msg(reason_index(name) == r, "%s reads back as %d", name,
			      (int)reason_index(name));
		for (enum reason q = R_NONE + 1; q < r; q++)
			ck_assert_msg(strcmp(reason_name(q), name) != 0, "%s twice", name);
	}
}
END_TEST

START_TEST(index_of_unknown)
{
	ck_assert_int_eq(reason_index(NULL), R_NONE);
	ck_assert_int_eq(reason_index(""), R_OTHER);
	ck_assert_int_eq(reason_index("No_signature"), R_OTHER);
	ck_assert_int_eq(reason_index("no_signature "), R_OTHER);
	ck_assert_int_eq(reason_index("other"), R_OTHER);
	ck_assert_int_eq(reason_index("daily_cap"), R_DAILY_CAP);
}
END_TEST

/*
 * The names are stored in training_record.reason and session_event.reason
 * and label hoursd_training_records_rejected_total: renaming one (even
 * together with the documentation) loses the history.  This list is the
 * names as first shipped; a new code is added here, none is changed.
 */
START_TEST(names_never_change)
{
	static const struct {
		enum reason r;
		const char *name;
	} shipped[] = {
		{R_NO_SIGNATURE, "no_signature"},
		{R_BAD_SIGNATURE, "bad_signature"},
		{R_CERTIFICATE_EXPIRED, "certificate_expired"},
		{R_NO_SIGNING_KEY, "no_signing_key"},
		{R_TERMINAL_DISABLED, "terminal_disabled"},
		{R_TERMINAL_NO_MISMATCH, "terminal_no_mismatch"},
		{R_COACH_NOT_LOGGED_IN, "coach_not_logged_in"},
		{R_STUDENT_NOT_LOGGED_IN, "student_not_logged_in"},
		{R_NO_SESSION, "no_session"},
		{R_SESSION_TIMED_OUT, "session_timed_out"},
		{R_CLASS_MISMATCH, "class_mismatch"},
		{R_RECORD_IN_FUTURE, "record_in_future"},
		{R_RECORD_TOO_OLD, "record_too_old"},
		{R_NO_SYLLABUS_PART, "no_syllabus_part"},
		{R_VEHICLE_CLASS_MISMATCH, "vehicle_class_mismatch"},
		{R_KIND_NOT_ALLOWED, "kind_not_allowed"},
		{R_NO_GNSS_FIX, "no_gnss_fix"},
		{R_SPEED_OVER_LIMIT, "speed_over_limit"},
		{R_SPEED_MISMATCH, "speed_mismatch"},
		{R_POSITION_JUMP, "position_jump"},
		{R_NO_TRAINING_SITE, "no_training_site"},
		{R_OUTSIDE_TRAINING_SITE, "outside_training_site"},
		{R_STUDENT_OVERLAP, "student_overlap"},
		{R_COACH_OVERLAP, "coach_overlap"},
		{R_DAILY_CAP, "daily_cap"},
		{R_NUMBER_REUSED, "number_reused"},
		{R_OTHER, "other"},
		{R_OUTSIDE_SCHEDULE, "outside_schedule"},
		{R_COACH_NOT_REGISTERED, "coach_not_registered"},
		{R_COACH_RETIRED, "coach_retired"},
		{R_COACH_OTHER_SCHOOL, "coach_other_school"},
		{R_COACH_CLASS_NOT_ALLOWED, "coach_class_not_allowed"},
		{R_VEHICLE_NOT_REGISTERED, "vehicle_not_registered"},
		{R_VEHICLE_OTHER_SCHOOL, "vehicle_other_school"},
		{R_VEHICLE_OTHER_CLASS, "vehicle_other_class"},
		{R_TERMINAL_NOT_BOUND, "terminal_not_bound"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(shipped); i++) {
		const char *name = reason_name(shipped[i].r);
		ck_assert_msg(name != NULL, "%s has no name", shipped[i].name);
		ck_assert_str_eq(name, shipped[i].name);
	}
}
END_TEST

/* ---- the documentation ---- */

START_TEST(doc_lists_every_code)
{
	read_doc_table();
	for (enum reason r = R_NONE + 1; r < R__COUNT; r++) {
		bool found = false;
		for (size_t i = 0; i < n_doc && !found; i++)
			found = strcmp(doc_names[i], reason_name(r)) == 0;
		ck_assert_msg(found, "docs/protocol.md's table of reason codes lacks `%s`",
			      reason_name(r));
	}
}
END_TEST

START_TEST(doc_lists_only_codes)
{
	read_doc_table();
	for (size_t i = 0; i < n_doc; i++) {
		enum reason r = reason_index(doc_names[i]);
		ck_assert_msg(r != R_NONE && strcmp(reason_name(r), doc_names[i]) == 0,
			      "docs/protocol.md lists `%s`, which include/reasons.h does not have",
			      doc_names[i]);
		for (size_t j = 0; j < i; j++)
			ck_assert_msg(strcmp(doc_names[i], doc_names[j]) != 0,
				      "docs/protocol.md lists `%s` twice", doc_names[i]);
	}
}
END_TEST

static Suite *reasons_suite(void)
{
	Suite *s = suite_create("reasons");
	TCase *tc = tcase_create("codes");
	tcase_add_test(tc, table_is_whole);
	tcase_add_test(tc, index_of_unknown);
	tcase_add_test(tc, names_never_change);
	tcase_add_test(tc, doc_lists_every_code);
	tcase_add_test(tc, doc_lists_only_codes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(reasons_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
