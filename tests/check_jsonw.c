/*
 * check_jsonw.c - what jsonw writes, read back by jansson: every value
 * as given, hostile strings escaped into valid JSON, growth past the
 * first buffer, reuse after a reset.
 */
#include "hoursd.h"
#include "jsonw.h"

#include <check.h>
#include <jansson.h>
#include <limits.h>

/* w's text wrapped as an array, parsed by jansson (which must accept it). */
static json_t *parse(const struct jsonw *w)
{
	char *text = malloc(w->len + 3);
	ck_assert_ptr_nonnull(text);
	text[0] = '[';
	memcpy(text + 1, w->buf, w->len);
	text[w->len + 1] = ']';
	json_error_t e;
	json_t *j = json_loadb(text, w->len + 2, JSON_ALLOW_NUL, &e);
	ck_assert_msg(j != NULL, "jansson refuses %.*s: %s at %d", (int)w->len + 2, text, e.text,
		      e.position);
	free(text);
	return j;
}

START_TEST(test_values)
{
	struct jsonw w = {0};
	jsonw_object_begin(&w);
	jsonw_int(&w, "a", 0);
	jsonw_int(&w, "b", -42);
	jsonw_int(&w, "max", LLONG_MAX);
	jsonw_int(&w, "min", LLONG_MIN);
	jsonw_int_or_null(&w, "n", 7, false);
	jsonw_int_or_null(&w, "p", 7, true);
	jsonw_bool(&w, "t", true);
	jsonw_bool(&w, "f", false);
	jsonw_str(&w, "s", "T0000139000000012611260065");
	jsonw_str(&w, "z", NULL);
	jsonw_str(&w, "e", "");
	static const uint8_t raw[] = {0x00, 0x7e, 0x7d, 0xff, 0x10};
	jsonw_hex(&w, "h", raw, sizeof(raw));
	jsonw_hex(&w, "h0", raw, 0);
	jsonw_object_end(&w);
	jsonw_object_begin(&w);
	jsonw_object_end(&w);

	json_t *j = parse(&w);
	ck_assert_uint_eq(json_array_size(j), 2);
	json_t *o = json_array_get(j, 0);
	ck_assert_uint_eq(json_object_size(o), 13);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "a")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "b")), -42);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "max")), LLONG_MAX);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "min")), LLONG_MIN);
	ck_assert(json_is_null(json_object_get(o, "n")));
	ck_assert_int_eq(json_integer_value(json_object_get(o, "p")), 7);
	ck_assert(json_is_true(json_object_get(o, "t")));
	ck_assert(json_is_false(json_object_get(o, "f")));
	ck_assert_str_eq(json_string_value(json_object_get(o, "s")), "T0000139000000012611260065");
	ck_assert(json_is_null(json_object_get(o, "z")));
	ck_assert_str_eq(json_string_value(json_object_get(o, "e")), "");
	ck_assert_str_eq(json_string_value(json_object_get(o, "h")), "007e7dff10");
	ck_assert_str_eq(json_string_value(json_object_get(o, "h0")), "");
	ck_assert_uint_eq(json_object_size(json_array_get(j, 1)), 0);
	json_decref(j);
	jsonw_free(&w);
}
END_TEST

/* Every byte from 1 to 255 in one string: valid JSON, each byte back as U+00XX. */
START_TEST(test_hostile_string)
{
	char s[256];
	for (int i = 1; i < 256; i++)
		s[i - 1] = (char)i;
	s[255] = '\0';
	struct jsonw w = {0};
	jsonw_object_begin(&w);
	jsonw_str(&w, "s", s);
	jsonw_object_end(&w);
	json_t *j = parse(&w);
	const char *back = json_string_value(json_object_get(json_array_get(j, 0), "s"));
	ck_assert_ptr_nonnull(back);
	/* Back as UTF-8: 1..127 as one byte, 128..255 as two (Latin-1 read as code points). */
	const unsigned char *p = (const unsigned char *)back;
	for (int i = 1; i < 256; i++) {
		unsigned cp = *p < 0x80 ? *p++ : (unsigned)((p[0] & 0x1f) << 6 | (p[1] & 0x3f));
		if (i >= 0x80)
			p += 2;
		ck_assert_uint_eq(cp, (unsigned)i);
	}
	ck_assert_uint_eq(*p, 0);
	json_decref(j);
	jsonw_free(&w);
}
END_TEST

/* Thousands of objects: the buffer grows; a reset starts an empty document. */
START_TEST(test_growth_and_reset)
{
	struct jsonw w = {0};
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 5000; i++) {
			jsonw_object_begin(&w);
			jsonw_int(&w, "i", i);
			jsonw_str(&w, "q", "\"quoted\" \\ back");
			jsonw_object_end(&w);
		}
		json_t *j = parse(&w);
		ck_assert_uint_eq(json_array_size(j), 5000);
		json_t *last = json_array_get(j, 4999);
		ck_assert_int_eq(json_integer_value(json_object_get(last, "i")), 4999);
		ck_assert_str_eq(json_string_value(json_object_get(last, "q")),
				 "\"quoted\" \\ back");
		json_decref(j);
		jsonw_reset(&w);
		ck_assert_uint_eq(w.len, 0);
	}
	struct jsonw empty = {0}; /* never written: its buffer is NULL */
	jsonw_raw(&w, empty.buf, empty.len);
	jsonw_raw(&w, "{}", 2);
	json_t *j = parse(&w);
	ck_assert_uint_eq(json_array_size(j), 1);
	json_decref(j);
	jsonw_free(&w);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("jsonw");
	TCase *tc = tcase_create("jsonw");
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_hostile_string);
	tcase_add_test(tc, test_growth_and_reset);
	suite_add_tcase(s, tc);
	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? 1 : 0;
}
