/*
 * check_rows.c - the batch's columns as PostgreSQL's binary arrays,
 * read back by a reader written here from the format's definition
 * (array_recv: dimensions, has-nulls flag, element type OID, length and
 * lower bound, then each element's length, -1 for null, and its bytes):
 * every value as given, nulls, text bytes as Latin-1 characters in UTF-8,
 * empty sets, growth, reuse after a reset; and the statement's unnest()
 * with its parameters numbered kind after kind.
 */
#include "hoursd.h"
#include "rows.h"

#include <check.h>
#include <limits.h>

struct reader {
	const uint8_t *p;
	size_t n, at;
};

static uint32_t get32(struct reader *r)
{
	ck_assert_uint_le(r->at + 4, r->n);
	const uint8_t *p = r->p + r->at;
	r->at += 4;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The header of a one-dimensional array of elements of type oid; returns its length. */
static uint32_t header(struct reader *r, uint32_t oid, bool has_null)
{
	ck_assert_uint_eq(get32(r), 1);
	ck_assert_uint_eq(get32(r), has_null ? 1 : 0);
	ck_assert_uint_eq(get32(r), oid);
	uint32_t n = get32(r);
	ck_assert_uint_eq(get32(r), 1);
	return n;
}

/* The next element: its length (-1: null) and where its bytes are. */
static int32_t element(struct reader *r, const uint8_t **bytes)
{
	int32_t len = (int32_t)get32(r);
	*bytes = r->p + r->at;
	if (len > 0) {
		ck_assert_uint_le(r->at + (size_t)len, r->n);
		r->at += (size_t)len;
	}
	return len;
}

static int64_t int8_of(struct reader *r)
{
	const uint8_t *b;
	ck_assert_int_eq(element(r, &b), 8);
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return (int64_t)v;
}

static void column(struct reader *r, const char *const *values, const int *lengths,
		   const int *formats, size_t i)
{
	ck_assert_int_eq(formats[i], 1);
	*r = (struct reader){.p = (const uint8_t *)values[i], .n = (size_t)lengths[i]};
}

static void done(const struct reader *r)
{
	ck_assert_uint_eq(r->at, r->n);
}

START_TEST(test_position_values)
{
	struct row_set set;
	rows_init(&set, &row_position_schema);
	struct row_position a = {.terminal_id = 7,
				 .fix_time = 1700000000,
				 .lat_e6 = -33868820,
				 .lon_e6 = 151209290,
				 .altitude_m = INT64_MIN,
				 .speed_dkmh = INT64_MAX,
				 .direction = 0,
				 .alarm = 0xffffffff,
				 .status = 3,
				 .fix_valid = true};
	struct row_position b = a;
	b.terminal_id = 8;
	b.fix_valid = false;
	rows_add(&set, &a);
	rows_add(&set, &b);
	const char *values[ROWS_MAX_COLUMNS];
	int lengths[ROWS_MAX_COLUMNS], formats[ROWS_MAX_COLUMNS];
	ck_assert_uint_eq(rows_params(&set, values, lengths, formats), 10);
	struct reader r;
	const int64_t want[9][2] = {{7, 8},
				    {1700000000, 1700000000},
				    {-33868820, -33868820},
				    {151209290, 151209290},
				    {INT64_MIN, INT64_MIN},
				    {INT64_MAX, INT64_MAX},
				    {0, 0},
				    {0xffffffff, 0xffffffff},
				    {3, 3}};
	for (size_t c = 0; c < 9; c++) {
		column(&r, values, lengths, formats, c);
		ck_assert_uint_eq(header(&r, 20, false), 2); /* int8 */
		ck_assert_int_eq(int8_of(&r), want[c][0]);
		ck_assert_int_eq(int8_of(&r), want[c][1]);
		done(&r);
	}
	column(&r, values, lengths, formats, 9);
	ck_assert_uint_eq(header(&r, 16, false), 2); /* bool */
	const uint8_t *e;
	ck_assert_int_eq(element(&r, &e), 1);
	ck_assert_uint_eq(e[0], 1);
	ck_assert_int_eq(element(&r, &e), 1);
	ck_assert_uint_eq(e[0], 0);
	done(&r);
	rows_free(&set);
}
END_TEST

/* A record's column by name. */
static size_t col_of(const struct row_schema *s, const char *name)
{
	for (size_t i = 0; i < s->ncolumns; i++)
		if (strcmp(s->columns[i].name, name) == 0)
			return i;
	ck_abort_msg("no column %s", name);
	return 0;
}

START_TEST(test_record_nulls_text_bytes)
{
	struct row_set set;
	rows_init(&set, &row_record_schema);
	static const uint8_t raw[] = {0x00, 0x7e, 0xff, 0x13};
	struct row_record a = {.record_no = "0001",
			       .student_no = "S\xe4\x01\"\\",
			       .coach_no = "",
			       .course_code = "1212110000",
			       .vehicle_class = "C1",
			       .gnss_time = {.v = 5, .set = false},
			       .engine_rpm = {.v = -1, .set = true},
			       .reason = NULL,
			       .raw = {raw, sizeof(raw)}};
	struct row_record b = a;
	b.reason = "bad_signature";
	b.raw = (ROW_C_BYTES){NULL, 0};
	rows_add(&set, &a);
	rows_add(&set, &b);
	const char *values[ROWS_MAX_COLUMNS];
	int lengths[ROWS_MAX_COLUMNS], formats[ROWS_MAX_COLUMNS];
	ck_assert_uint_eq(rows_params(&set, values, lengths, formats), row_record_schema.ncolumns);
	struct reader r;
	const uint8_t *e;

	column(&r, values, lengths, formats, col_of(&row_record_schema, "student_no"));
	ck_assert_uint_eq(header(&r, 25, false), 2); /* text */
	/* S, U+00E4 (C3 A4), U+0001, '"', '\\': no escaping, Latin-1 in UTF-8 */
	static const uint8_t utf8[] = {'S', 0xc3, 0xa4, 0x01, '"', '\\'};
	ck_assert_int_eq(element(&r, &e), sizeof(utf8));
	ck_assert_mem_eq(e, utf8, sizeof(utf8));
	ck_assert_int_eq(element(&r, &e), sizeof(utf8));
	done(&r);

	column(&r, values, lengths, formats, col_of(&row_record_schema, "coach_no"));
	ck_assert_uint_eq(header(&r, 25, false), 2);
	ck_assert_int_eq(element(&r, &e), 0); /* empty, not null */
	ck_assert_int_eq(element(&r, &e), 0);
	done(&r);

	column(&r, values, lengths, formats, col_of(&row_record_schema, "reason"));
	ck_assert_uint_eq(header(&r, 25, true), 2);
	ck_assert_int_eq(element(&r, &e), -1);
	ck_assert_int_eq(element(&r, &e), 13);
	ck_assert_mem_eq(e, "bad_signature", 13);
	done(&r);

	column(&r, values, lengths, formats, col_of(&row_record_schema, "gnss_time"));
	ck_assert_uint_eq(header(&r, 20, true), 2);
	ck_assert_int_eq(element(&r, &e), -1);
	ck_assert_int_eq(element(&r, &e), -1);
	done(&r);

	column(&r, values, lengths, formats, col_of(&row_record_schema, "engine_rpm"));
	ck_assert_uint_eq(header(&r, 20, false), 2);
	ck_assert_int_eq(int8_of(&r), -1);
	ck_assert_int_eq(int8_of(&r), -1);
	done(&r);

	column(&r, values, lengths, formats, col_of(&row_record_schema, "raw"));
	ck_assert_uint_eq(header(&r, 17, false), 2); /* bytea */
	ck_assert_int_eq(element(&r, &e), sizeof(raw));
	ck_assert_mem_eq(e, raw, sizeof(raw));
	ck_assert_int_eq(element(&r, &e), 0);
	done(&r);

	/* Reused after a reset: nothing of the rows before, nulls forgotten. */
	rows_reset(&set);
	ck_assert_uint_eq(rows_params(&set, values, lengths, formats), row_record_schema.ncolumns);
	for (size_t c = 0; c < row_record_schema.ncolumns; c++) {
		column(&r, values, lengths, formats, c);
		get32(&r);
		ck_assert_uint_eq(get32(&r), 0); /* no nulls */
		get32(&r);
		ck_assert_uint_eq(get32(&r), 0); /* no elements */
		get32(&r);
		done(&r);
	}
	rows_free(&set);
}
END_TEST

START_TEST(test_growth)
{
	struct row_set set;
	rows_init(&set, &row_photo_schema);
	static uint8_t data[70000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	struct row_photo p = {.photo_no = "p", .person_no = "x", .data = {data, sizeof(data)}};
	for (int i = 0; i < 40; i++) {
		p.class_id = i;
		rows_add(&set, &p);
	}
	const char *values[ROWS_MAX_COLUMNS];
	int lengths[ROWS_MAX_COLUMNS], formats[ROWS_MAX_COLUMNS];
	rows_params(&set, values, lengths, formats);
	struct reader r;
	column(&r, values, lengths, formats, col_of(&row_photo_schema, "class_id"));
	ck_assert_uint_eq(header(&r, 20, false), 40);
	for (int i = 0; i < 40; i++)
		ck_assert_int_eq(int8_of(&r), i);
	done(&r);
	column(&r, values, lengths, formats, col_of(&row_photo_schema, "data"));
	ck_assert_uint_eq(header(&r, 17, false), 40);
	for (int i = 0; i < 40; i++) {
		const uint8_t *e;
		ck_assert_int_eq(element(&r, &e), sizeof(data));
		ck_assert_mem_eq(e, data, sizeof(data));
	}
	done(&r);
	rows_free(&set);
}
END_TEST

START_TEST(test_statement)
{
	char *s = rows_statement("a @position@ b @record@ c");
	ck_assert_ptr_nonnull(s);
	ck_assert_msg(strncmp(s, "a unnest($1::bigint[], $2::bigint[], ", 37) == 0, "%s", s);
	ck_assert_msg(strstr(s, "$10::boolean[]) AS x(terminal_id, fix_time, ") != NULL, "%s", s);
	/* record's first after position's and event's columns */
	char first[64];
	snprintf(first, sizeof(first), " b unnest($%zu::bigint[], ",
		 row_position_schema.ncolumns + row_event_schema.ncolumns + 1);
	ck_assert_msg(strstr(s, first) != NULL, "%s", s);
	ck_assert_msg(strstr(s, "::bytea[]) AS x(i, terminal_id, record_no, ") != NULL, "%s", s);
	ck_assert_msg(strstr(s, ", raw, received_us, leaf) c") != NULL, "%s", s);
	free(s);
	ck_assert_int_eq(ROWS_NPARAMS,
			 (int)(row_position_schema.ncolumns + row_event_schema.ncolumns +
			       row_record_schema.ncolumns + row_photo_schema.ncolumns));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rows");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_position_values);
	tcase_add_test(tc, test_record_nulls_text_bytes);
	tcase_add_test(tc, test_growth);
	tcase_add_test(tc, test_statement);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
