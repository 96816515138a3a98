/*
 * check_push.c - the pusher's pure parts against docs/push-contract.md:
 * the field map's rules (section 6), the canonical body (sections 3 and
 * 4.1) and its signature's encoding (section 2) from push_body.c; the
 * table of answers (section 5), Retry-After, the answer's text made safe
 * and the backoff from push_answer.c.
 */
#include "hoursd.h"
#include "push_answer.h"
#include "push_body.h"
#include "push_national.h"

#include <check.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <time.h>

#define ID_SPECIMEN "426695a0efdb59b9eaedaf0b5ca3eddf013cc2a7f9e283437704ea605f421e6d"
#define RECORDS "88a96c6ab61cc37885ccb75cf115ed8ded8f45821ec44d047a410548a3465a44"

/* The contract's example (section 3.1). */
static struct push_fields example(void)
{
	return (struct push_fields){
		.packet_id = "3f1c2a9e-7b4d-4c6e-9a8f-1d2e3c4b5a69",
		.school_code = "4401000001",
		.student_no = "4401000000000001",
		.id_card_sha256 = ID_SPECIMEN,
		.vehicle_class = "C1",
		.mileage_km = "123.4",
		.first_minute = "2026-03-01T08:00:00+08:00",
		.last_minute = "2026-03-20T17:59:00+08:00",
		.records_sha256 = RECORDS,
		.created_at = "2026-03-20T18:00:05+08:00",
		.part = 2,
		.vehicle = 840,
		.simulator = 120,
		.record_count = 960,
	};
}

START_TEST(body_is_the_contract_example)
{
	struct push_fields f = example();
	char err[200];
	char *b = push_body_build(&f, NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(
		b, "{\"backfill_form\":null,\"backfilled\":false,\"backfilled_minutes\":0,"
		   "\"classroom_minutes\":0,"
		   "\"created_at\":\"2026-03-20T18:00:05+08:00\","
		   "\"first_minute\":\"2026-03-01T08:00:00+08:00\","
		   "\"id_card_sha256\":\"" ID_SPECIMEN "\","
		   "\"last_minute\":\"2026-03-20T17:59:00+08:00\",\"mileage_km\":\"123.4\","
		   "\"packet_id\":\"3f1c2a9e-7b4d-4c6e-9a8f-1d2e3c4b5a69\",\"part\":2,"
		   "\"record_count\":960,\"records_sha256\":\"" RECORDS "\","
		   "\"remote_minutes\":0,\"school_code\":\"4401000001\",\"simulator_minutes\":120,"
		   "\"student_no\":\"4401000000000001\",\"subject\":2,\"total_minutes\":960,"
		   "\"vehicle_class\":\"C1\",\"vehicle_minutes\":840,\"version\":1}");
	free(b);
}
END_TEST

START_TEST(body_null_id_card_and_escapes)
{
	struct push_fields f = example();
	char err[200];
	f.id_card_sha256 = NULL;
	f.school_code =
		"a\"b\\c/\x01\xe4\xb8\xad"; /* quote, backslash, slash, control, non-ASCII */
	char *b = push_body_build(&f, NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_nonnull(strstr(b, "\"id_card_sha256\":null"));
	ck_assert_ptr_nonnull(strstr(b, "\"school_code\":\"a\\\"b\\\\c/\\u0001\xe4\xb8\xad\""));
	free(b);
	f.school_code = "\xff"; /* not UTF-8 */
	ck_assert_ptr_null(push_body_build(&f, NULL, err, sizeof(err)));
	f = example();
	f.school_code = NULL;
	ck_assert_ptr_null(push_body_build(&f, NULL, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "school"));
	f = example();
	f.backfilled = true; /* without a form */
	ck_assert_ptr_null(push_body_build(&f, NULL, err, sizeof(err)));
}
END_TEST

START_TEST(field_map_renames_and_resorts)
{
	char err[200];
	const char *text = "{\"school_code\":\"inscode\",\"student_no\":\"stunum\","
			   "\"total_minutes\":\"totaltime\",\"packet_id\":\"zz_id\"}";
	json_t *m = push_field_map_parse(text, strlen(text), err, sizeof(err));
	ck_assert_msg(m != NULL, "%s", err);
	struct push_fields f = example();
	char *b = push_body_build(&f, m, err, sizeof(err));
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_null(strstr(b, "school_code"));
	ck_assert_ptr_nonnull(strstr(b, "\"inscode\":\"4401000001\""));
	ck_assert_ptr_nonnull(strstr(b, "\"totaltime\":960"));
	/* Sorted by the new names: zz_id comes last. */
	ck_assert_ptr_nonnull(strstr(b, "\"version\":1,\"zz_id\":\"3f1c2a9e-"));
	free(b);
	json_decref(m);
	/* Renaming a member to its own name, or swapping two names, is allowed. */
	text = "{\"part\":\"subject\",\"subject\":\"part\",\"version\":\"version\"}";
	m = push_field_map_parse(text, strlen(text), err, sizeof(err));
	ck_assert_msg(m != NULL, "%s", err);
	json_decref(m);
}
END_TEST

START_TEST(field_map_rules)
{
	static const char *const bad[] = {
		"[]",
		"{\"school_code\":",
		"{\"schoolcode\":\"inscode\"}",			 /* not a member */
		"{\"result\":\"res\"}",				 /* an answer's name */
		"{\"school_code\":\"\"}",			 /* empty */
		"{\"school_code\":\"in code\"}",		 /* a space */
		"{\"school_code\":\"in\\\"code\"}",		 /* a quote */
		"{\"school_code\":3}",				 /* not a string */
		"{\"school_code\":\"part\"}",			 /* another member's name */
		"{\"school_code\":\"x\",\"student_no\":\"x\"}",	 /* one name twice */
		"{\"school_code\":\"a\",\"school_code\":\"b\"}", /* a key twice */
		"{\"school_code\":"
		"\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}", /* 65 */
	};
	char err[200];
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = '\0';
		json_t *m = push_field_map_parse(bad[i], strlen(bad[i]), err, sizeof(err));
		ck_assert_msg(m == NULL, "accepted %s", bad[i]);
		ck_assert_msg(err[0] != '\0', "no reason for %s", bad[i]);
	}
}
END_TEST

START_TEST(signature_base64_as_rfc4648)
{
	static const struct {
		const char *in, *want;
	} t[] = {
		{"", ""},
		{"f", "Zg=="},
		{"fo", "Zm8="},
		{"foo", "Zm9v"},
		{"foob", "Zm9vYg=="},
		{"fooba", "Zm9vYmE="},
		{"foobar", "Zm9vYmFy"},
	};
	char out[16];
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		push_signature_base64((const uint8_t *)t[i].in, strlen(t[i].in), out);
		ck_assert_str_eq(out, t[i].want);
	}
	/* The largest signature: one line, no breaks, padded. */
	uint8_t sig[PUSH_SIG_MAX];
	char sig64[PUSH_SIG_MAX * 4 / 3 + 8];
	for (size_t i = 0; i < sizeof(sig); i++)
		sig[i] = (uint8_t)(i * 7);
	push_signature_base64(sig, sizeof(sig), sig64);
	ck_assert_uint_eq(strlen(sig64), 4 * ((sizeof(sig) + 2) / 3));
	ck_assert_ptr_null(strpbrk(sig64, "\r\n"));
	ck_assert_str_eq(sig64 + strlen(sig64) - 4, "8vk="); /* 0xf2 0xf9, padded */
}
END_TEST

START_TEST(answers_as_the_table_says)
{
	static const struct {
		int status;
		const char *body, *retry_after;
		enum push_outcome want;
		int retry_after_s;
		bool config;
	} t[] = {
		{200, "{\"result\":\"accepted\"}", NULL, PUSH_ACCEPTED, -1, false},
		{200, "{\"result\":\"duplicate\"}", NULL, PUSH_DUPLICATE, -1, false},
		{409, "{\"result\":\"duplicate\"}", NULL, PUSH_DUPLICATE, -1, false},
		{409, "{\"result\":\"conflict\"}", NULL, PUSH_ERROR, -1, false},
		{200, "{\"result\":\"acc\x01<html>", NULL, PUSH_ERROR, -1, false},
		{200, "{\"result\":\"retry\"}", NULL, PUSH_ERROR, -1, false},
		{201, "[]", NULL, PUSH_ERROR, -1, false},
		{422, "{\"result\":\"rejected\",\"code\":\"unknown_school\",\"message\":\"no\"}",
		 NULL, PUSH_REJECTED, -1, false},
		{400, "not json", NULL, PUSH_REJECTED, -1, false},
		{429, "{}", "7", PUSH_RETRY, 7, false},
		{503, "{}", "Wed, 21 Oct 2015 07:28:00 GMT", PUSH_RETRY, 0, false},
		{503, "{\"result\":\"retry\"}", NULL, PUSH_RETRY, -1, false},
		{429, "{}", NULL, PUSH_RETRY, -1, true},
		{429, "{}", "soon", PUSH_RETRY, -1, true},
		{401, "{\"result\":\"rejected\",\"code\":\"bad_signature\"}", NULL, PUSH_RETRY, -1,
		 true},
		{404, "", NULL, PUSH_RETRY, -1, true},
		{413, "", NULL, PUSH_RETRY, -1, true},
		{500, "", NULL, PUSH_RETRY, -1, false},
		{302, "", NULL, PUSH_ERROR, -1, false},
		{101, "", NULL, PUSH_ERROR, -1, false},
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct push_verdict v;
		push_classify(t[i].status, t[i].body, strlen(t[i].body), t[i].retry_after,
			      1445412480 + 3600, &v);
		ck_assert_msg(v.outcome == t[i].want, "%d %s: %s, want %s", t[i].status, t[i].body,
			      push_outcome_name(v.outcome), push_outcome_name(t[i].want));
		ck_assert_int_eq(v.retry_after_s, t[i].retry_after_s);
		ck_assert_int_eq(v.config_problem, t[i].config);
		ck_assert_int_eq(v.error[0] == '\0', v.outcome <= PUSH_DUPLICATE);
		for (const char *c = v.error; *c; c++)
			ck_assert_msg((unsigned char)*c >= 0x20, "control in %s", v.error);
	}
	struct push_verdict v;
	const char *r = "{\"result\":\"rejected\",\"code\":\"unknown_school\",\"message\":\"S9\"}";
	push_classify(422, r, strlen(r), NULL, 0, &v);
	ck_assert_str_eq(v.error, "unknown_school: S9");
}
END_TEST

START_TEST(retry_after_seconds_or_date)
{
	const time_t now = 1445412480; /* Wed, 21 Oct 2015 07:28:00 GMT */
	ck_assert_int_eq(push_retry_after(NULL, now), -1);
	ck_assert_int_eq(push_retry_after("", now), -1);
	ck_assert_int_eq(push_retry_after("7", now), 7);
	ck_assert_int_eq(push_retry_after(" 7 ", now), 7);
	ck_assert_int_eq(push_retry_after("0", now), 0);
	ck_assert_int_eq(push_retry_after("7s", now), -1);
	ck_assert_int_eq(push_retry_after("-7", now), -1);
	ck_assert_int_eq(push_retry_after("99999999999", now), 86400 * 365);
	ck_assert_int_eq(push_retry_after("Wed, 21 Oct 2015 07:29:00 GMT", now), 60);
	ck_assert_int_eq(push_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now), 0);
	ck_assert_int_eq(push_retry_after("Fri, 21 Oct 2016 07:28:00 GMT", now), 86400 * 365);
	ck_assert_int_eq(push_retry_after("Wed, 21 Oct 2015 07:29:00 GMT+1", now), -1);
	ck_assert_int_eq(push_retry_after("tomorrow", now), -1);
}
END_TEST

START_TEST(sanitize_keeps_utf8_escapes_the_rest)
{
	static const struct {
		const char *in;
		bool keep_lines;
		const char *want;
	} t[] = {
		{"ok \xe4\xb8\xad", false, "ok \xe4\xb8\xad"},
		{"a\nb\tc", false, "a\\x0ab\\x09c"},
		{"a\nb\tc\r", true, "a\nb\tc\\x0d"},
		{"\x7f", false, "\\x7f"},
		{"\xff", false, "\\xff"},
		{"\xc0\xaf", false, "\\xc0\\xaf"},		     /* overlong */
		{"\xed\xa0\x80", false, "\\xed\\xa0\\x80"},	     /* a surrogate */
		{"\xe4\xb8", false, "\\xe4\\xb8"},		     /* cut short */
		{"\xf4\x90\x80\x80", false, "\\xf4\\x90\\x80\\x80"}, /* past U+10FFFF */
	};
	char out[64];
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		push_sanitize(t[i].in, strlen(t[i].in), out, sizeof(out), t[i].keep_lines);
		ck_assert_str_eq(out, t[i].want);
	}
	/* At most cap - 1 bytes, cut between characters and escapes. */
	push_sanitize("a\xe4\xb8\xad", 4, out, 4, false);
	ck_assert_str_eq(out, "a");
	push_sanitize("a\xe4\xb8\xad", 4, out, 5, false);
	ck_assert_str_eq(out, "a\xe4\xb8\xad");
	push_sanitize("\x01\x01", 2, out, 8, false);
	ck_assert_str_eq(out, "\\x01");
	/* The length is given: a NUL is a byte like another. */
	push_sanitize("a\0b", 3, out, sizeof(out), false);
	ck_assert_str_eq(out, "a\\x00b");
}
END_TEST

START_TEST(backoff_doubles_within_bounds)
{
	/* d = min(max, min * 2^(n-1)), drawn in [d/2, d]. */
	ck_assert(push_backoff(1, 5, 600, 0) == 2.5);
	ck_assert(push_backoff(1, 5, 600, 1) == 5);
	ck_assert(push_backoff(3, 5, 600, 1) == 20);
	ck_assert(push_backoff(3, 5, 600, 0.5) == 15);
	ck_assert(push_backoff(20, 5, 600, 1) == 600);
	ck_assert(push_backoff(1000, 5, 600, 0) == 300);
	ck_assert(push_backoff(0, 5, 600, 1) == 5);
}
END_TEST

/* ---- the national profile (docs/push-contract.md section 9) ---- */

/* The body: the members, sorted; rectype by back-fill; pdfid and recarray in. */
START_TEST(national_body_members_and_rectype)
{
	struct push_fields f = example();
	const struct national_values nv = {.rectype = 7, .rectype_backfilled = 9, .examresult = 1};
	json_t *rn = json_pack("[ss]", "440100000000001700000120", "440100000000002300000007");
	char err[200];
	char *b = national_body(&f, &nv, rn, "P1", "", err, sizeof(err));
	ck_assert_str_eq(
		b, "{\"classtime\":0,\"duration\":960,\"esignature\":\"\",\"examresult\":\"1\","
		   "\"inscode\":\"4401000001\",\"mileage\":123.4,\"networktime\":0,"
		   "\"pdfid\":\"P1\",\"recarray\":[{\"rnum\":\"440100000000001700000120\"},"
		   "{\"rnum\":\"440100000000002300000007\"}],\"rectype\":7,"
		   "\"simulatortime\":120,\"stunum\":\"4401000000000001\",\"subject\":\"2\","
		   "\"totaltime\":960,\"vehicletime\":840}");
	free(b);
	/* As the public sample: pdfid a number when the platform's id is one; the seal's hex. */
	b = national_body(&f, &nv, rn, "1234", "AB12", err, sizeof(err));
	ck_assert_ptr_nonnull(strstr(b, "\"esignature\":\"AB12\","));
	ck_assert_ptr_nonnull(strstr(b, "\"pdfid\":1234,"));
	free(b);
	b = national_body(&f, &nv, rn, "0123", NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(strstr(b, "\"pdfid\":\"0123\","));
	free(b);
	f.backfilled = true;
	f.mileage_km = "0.0";
	b = national_body(&f, &nv, rn, "P1", "", err, sizeof(err));
	ck_assert_ptr_nonnull(strstr(b, "\"rectype\":9,"));
	ck_assert_ptr_nonnull(strstr(b, "\"mileage\":0.0,"));
	free(b);
	ck_assert_ptr_null(national_body(&f, &nv, rn, NULL, "", err, sizeof(err)));
	ck_assert_str_eq(err, "the teaching log's pdfid is missing");
	f.school_code = NULL;
	ck_assert_ptr_null(national_body(&f, &nv, rn, "P1", "", err, sizeof(err)));
	json_decref(rn);
}
END_TEST

/* sign: 512 upper-case hex digits that RSA-recover to SHA-256(data || ts as 8 bytes BE). */
START_TEST(national_sign_is_the_bare_digest)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	ck_assert_ptr_nonnull(k);
	char hex[NATIONAL_SIGN_HEX + 1];
	const uint64_t ts = 1764500000123ULL;
	ck_assert(national_sign(k, (const uint8_t *)"{}", 2, ts, hex));
	ck_assert_uint_eq(strlen(hex), 512);
	ck_assert_uint_eq(strspn(hex, "0123456789ABCDEF"), 512);
	uint8_t sig[256], want[32], got[256];
	for (int i = 0; i < 256; i++)
		sscanf(hex + 2 * i, "%2hhX", &sig[i]);
	const uint8_t data[] = {'{', '}', 0x00, 0x00, 0x01, 0x9a, 0xd4, 0x65, 0x4d, 0x7b};
	ck_assert_uint_eq(ts, 0x0000019ad4654d7bULL);
	EVP_Digest(data, sizeof(data), want, NULL, EVP_sha256(), NULL);
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);
	size_t n = sizeof(got);
	ck_assert_int_eq(EVP_PKEY_verify_recover_init(c), 1);
	ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING), 1);
	ck_assert_int_eq(EVP_PKEY_verify_recover(c, got, &n, sig, sizeof(sig)), 1);
	ck_assert_uint_eq(n, 32);
	ck_assert_mem_eq(got, want, 32);
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(k);
	char *u = national_uri("/top/stagetrainningtime", ts, "AB", "1F");
	ck_assert_str_eq(u, "/top/stagetrainningtime?v=1.0.0.e2&ts=1764500000123&sign=AB&user=1F");
	free(u);
}
END_TEST

/* The answers: 0 done, 1 retry, 201 by the clocks, 202 failed, others failed, malformed retried. */
START_TEST(national_answers)
{
	struct push_verdict v;
	const time_t now = 1764500000; /* Sun, 30 Nov 2025 10:53:20 GMT */
	const char *same = "Sun, 30 Nov 2025 10:53:50 GMT", *off = "Sun, 30 Nov 2025 11:03:20 GMT";
#define ANS(s) s, strlen(s)
	national_classify(200, ANS("{\"errorcode\":0,\"message\":\"ok\",\"data\":null}"), NULL,
			  same, now, 0, 3, &v);
	ck_assert_int_eq(v.outcome, PUSH_ACCEPTED);
	national_classify(200, ANS("{\"errorcode\":1,\"message\":\"busy\"}"), NULL, same, now, 0, 3,
			  &v);
	ck_assert_int_eq(v.outcome, PUSH_RETRY);
	ck_assert_str_eq(v.error, "errorcode 1: busy");
	ck_assert(v.has_errorcode && v.errorcode == 1 && !v.platform_refused);
	/* The third answer of 1 (push.national_failed_max 3): failed, the platform's message kept.
	 */
	national_classify(200, ANS("{\"errorcode\":1,\"message\":\"学员不存在 no such student\"}"),
			  NULL, same, now, 2, 3, &v);
	ck_assert_int_eq(v.outcome, PUSH_REJECTED);
	ck_assert(v.platform_refused);
	ck_assert_ptr_nonnull(strstr(
		v.error, "errorcode 1: 学员不存在 no such student (the platform answered 1 3 "
			 "times"));
	national_classify(200, ANS("{\"errorcode\":201,\"message\":\"ts\"}"), NULL, same, now, 0, 3,
			  &v);
	ck_assert_int_eq(v.outcome, PUSH_RETRY);
	ck_assert_ptr_nonnull(strstr(v.error, "clocks agree within 30 s"));
	national_classify(200, ANS("{\"errorcode\":201,\"message\":\"ts\"}"), NULL, off, now, 0, 3,
			  &v);
	ck_assert_int_eq(v.outcome, PUSH_REJECTED);
	ck_assert(v.config_problem);
	ck_assert_ptr_nonnull(strstr(v.error, "our clock is -600 s off the platform's"));
	national_classify(200, ANS("{\"errorcode\":201,\"message\":\"ts\"}"), NULL, NULL, now, 0, 3,
			  &v);
	ck_assert_int_eq(v.outcome, PUSH_REJECTED);
	national_classify(200, ANS("{\"errorcode\":202,\"message\":\"cert\"}"), NULL, same, now, 0,
			  3, &v);
	ck_assert_int_eq(v.outcome, PUSH_REJECTED);
	ck_assert(v.config_problem);
	ck_assert_ptr_nonnull(strstr(v.error, "errorcode 202: cert (certificate not valid"));
	national_classify(200, ANS("{\"errorcode\":100,\"message\":\"no\"}"), NULL, same, now, 0, 3,
			  &v);
	ck_assert_int_eq(v.outcome, PUSH_REJECTED);
	national_classify(200, ANS("<html>"), NULL, same, now, 0, 3, &v);
	ck_assert_int_eq(v.outcome, PUSH_ERROR);
	national_classify(200, ANS("{\"errorcode\":\"0\"}"), NULL, same, now, 0, 3, &v);
	ck_assert_int_eq(v.outcome, PUSH_ERROR);
	national_classify(503, ANS(""), "5", same, now, 0, 3, &v);
	ck_assert_int_eq(v.outcome, PUSH_RETRY);
	ck_assert_int_eq(v.retry_after_s, 5);
	ck_assert(!v.has_errorcode);
	national_classify(409, ANS("{\"result\":\"duplicate\"}"), NULL, same, now, 0, 3, &v);
	ck_assert_int_eq(v.outcome, PUSH_ERROR);
	char id[32], why[200];
	ck_assert(national_upload_id(ANS("{\"errorcode\":0,\"data\":{\"id\":\"P9\"}}"), id,
				     sizeof(id), why, sizeof(why)));
	ck_assert_str_eq(id, "P9");
	ck_assert(national_upload_id(ANS("{\"errorcode\":0,\"data\":{\"id\":42}}"), id, sizeof(id),
				     why, sizeof(why)));
	ck_assert_str_eq(id, "42");
	ck_assert(!national_upload_id(ANS("{\"errorcode\":0,\"data\":{}}"), id, sizeof(id), why,
				      sizeof(why)));
	ck_assert_str_eq(why, "malformed answer: no data.id");
	ck_assert(!national_upload_id(ANS("{\"errorcode\":202,\"message\":\"c\"}"), id, sizeof(id),
				      why, sizeof(why)));
	ck_assert_str_eq(why, "errorcode 202: c");
#undef ANS
}
END_TEST

/* user= without padding to whole bytes; the upload as a multipart form with one part, file. */
START_TEST(national_user_and_multipart)
{
	char u[80];
	national_user("0A1B2C", u, sizeof(u));
	ck_assert_str_eq(u, "A1B2C");
	national_user("0157C239F2EC", u, sizeof(u));
	ck_assert_str_eq(u, "157C239F2EC");
	national_user("15E171BD22A", u, sizeof(u));
	ck_assert_str_eq(u, "15E171BD22A");
	national_user("00", u, sizeof(u));
	ck_assert_str_eq(u, "0");
	size_t n = 0;
	unsigned char *m = national_multipart((const uint8_t *)"%PDF-1", 6, "t.pdf",
					      "application/pdf", "BND", &n);
	const char want[] = "--BND\r\nContent-Disposition: form-data; name=\"file\"; "
			    "filename=\"t.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1"
			    "\r\n--BND--\r\n";
	ck_assert_uint_eq(n, strlen(want));
	ck_assert_mem_eq(m, want, n);
	free(m);
	ck_assert_ptr_null(national_multipart((const uint8_t *)"xxBNDxx", 7, "t.pdf",
					      "application/pdf", "BND", &n));
}
END_TEST

/* The teaching log's body (/classrecord): the 22 members, sorted; a bad time refused. */
START_TEST(national_classrecord)
{
	struct national_lesson l = {.inscode = "4401000001",
				    .stunum = "4401000000000001",
				    .coachnum = "4401000000000009",
				    .carnum = "4401000000000005",
				    .simunum = "13800000002",
				    .platnum = "4401000000000017",
				    .recnum = "440100000000001726030108",
				    .subjcode = "1212110000",
				    .starttime = "20260301080000",
				    .endtime = "20260301094500",
				    .photo = {10001, 10002, 0},
				    .duration = 105,
				    .total = 105,
				    .part = {0, 105, 0, 0},
				    .mileage_km = "12.5",
				    .avevelocity = "7.1"};
	char err[200];
	char *b = national_classrecord_body(&l, err, sizeof(err));
	ck_assert_str_eq(b, "{\"avevelocity\":7.1,\"carnum\":\"4401000000000005\",\"coachnum\":"
			    "\"4401000000000009\",\"coacmt\":\"\",\"duration\":105,\"endtime\":"
			    "\"20260301094500\",\"inscode\":\"4401000001\",\"mileage\":12.5,"
			    "\"part1\":0,\"part2\":105,\"part3\":0,\"part4\":0,\"photo1\":10001,"
			    "\"photo2\":10002,\"photo3\":0,\"platnum\":\"4401000000000017\","
			    "\"recnum\":\"440100000000001726030108\",\"simunum\":\"13800000002\","
			    "\"starttime\":\"20260301080000\",\"stunum\":\"4401000000000001\","
			    "\"subjcode\":\"1212110000\",\"total\":105}");
	free(b);
	l.endtime = "2026-03-01 09:45";
	ck_assert_ptr_null(national_classrecord_body(&l, err, sizeof(err)));
	ck_assert_str_eq(err, "the teaching log's endtime (yyyyMMddHHmmss) is missing");
}
END_TEST

static Suite *push_suite(void)
{
	Suite *s = suite_create("push");
	TCase *tc = tcase_create("push");
	tcase_add_test(tc, body_is_the_contract_example);
	tcase_add_test(tc, body_null_id_card_and_escapes);
	tcase_add_test(tc, field_map_renames_and_resorts);
	tcase_add_test(tc, field_map_rules);
	tcase_add_test(tc, signature_base64_as_rfc4648);
	tcase_add_test(tc, answers_as_the_table_says);
	tcase_add_test(tc, retry_after_seconds_or_date);
	tcase_add_test(tc, sanitize_keeps_utf8_escapes_the_rest);
	tcase_add_test(tc, backoff_doubles_within_bounds);
	suite_add_tcase(s, tc);
	TCase *tn = tcase_create("national");
	tcase_add_test(tn, national_body_members_and_rectype);
	tcase_add_test(tn, national_sign_is_the_bare_digest);
	tcase_add_test(tn, national_answers);
	tcase_add_test(tn, national_user_and_multipart);
	tcase_add_test(tn, national_classrecord);
	suite_add_tcase(s, tn);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(push_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
