/*
 * check_policesim.c - policesim's national side, the platform's strict
 * twin: its own serial printing, its reading of an upload's multipart
 * form, and its checks of a stage-hours body against the public samples'
 * members and types (../shared/docs/PROTOCOL.md, "The platform's upward
 * interfaces").  Most bodies below are built from that page's member
 * lists and the public sample's types (subject and examresult strings,
 * pdfid a number, esignature 512 hex digits); public_sample_bodies holds
 * the public code's own sample bodies, pasted, each with its source.
 */
#include "hoursd.h"
#include "../src/tools/policesim/policesim.h"

#include <check.h>
#include <jansson.h>

#define SEAL_HEX                                                                                   \
	"5EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA1" \
	"5EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA1" \
	"5EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA1" \
	"5EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA1" \
	"5EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA1" \
	"5EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA15EA1"

/* A stage-hours body of the sample's form (members of PROTOCOL.md, the sample's types). */
static const char stage_sample[] =
	"{\"inscode\":\"4401000001\",\"stunum\":\"4401000000000001\",\"subject\":\"2\","
	"\"totaltime\":960,\"vehicletime\":840,\"classtime\":0,\"simulatortime\":120,"
	"\"networktime\":0,\"duration\":960,\"examresult\":\"70\",\"mileage\":123.4,"
	"\"rectype\":4,\"recarray\":[{\"rnum\":\"44010000000000172603010001\"},"
	"{\"rnum\":\"44010000000000172603010002\"}],\"pdfid\":1024,\"esignature\":\"" SEAL_HEX
	"\"}";

/* The serial as the platforms print it: no padding to whole bytes (PROTOCOL.md's examples). */
START_TEST(serial_unpadded)
{
	char s[80];
	const uint8_t a[] = {0x01, 0x57, 0xC2, 0x39, 0xF2, 0xEC};
	natsim_serial(a, sizeof(a), s, sizeof(s));
	ck_assert_str_eq(s, "157C239F2EC");
	const uint8_t b[] = {0x01, 0x5E, 0x17, 0x1B, 0xD2, 0x2A};
	natsim_serial(b, sizeof(b), s, sizeof(s));
	ck_assert_str_eq(s, "15E171BD22A");
	const uint8_t c[] = {0x0A, 0x1B, 0x2C, 0x3D, 0x4E};
	natsim_serial(c, sizeof(c), s, sizeof(s));
	ck_assert_str_eq(s, "A1B2C3D4E");
	const uint8_t z[] = {0x00};
	natsim_serial(z, sizeof(z), s, sizeof(s));
	ck_assert_str_eq(s, "0");
}
END_TEST

/* An upload is a multipart form with one part named file; a raw body is not. */
START_TEST(upload_is_a_multipart_form)
{
	static const char form[] = "--XyZ\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\n"
				   "epdfimg\r\n--XyZ\r\nContent-Disposition: form-data; "
				   "name=\"file\"; filename=\"a.pdf\"\r\nContent-Type: "
				   "application/pdf\r\n\r\n%PDF-1.4\r\nxx\r\n--XyZ--\r\n";
	const uint8_t *f = NULL;
	size_t n = 0;
	const char *why = NULL;
	ck_assert(natsim_form_file("multipart/form-data; boundary=XyZ", (const uint8_t *)form,
				   strlen(form), &f, &n, &why));
	ck_assert_uint_eq(n, 12);
	ck_assert_mem_eq(f, "%PDF-1.4\r\nxx", 12);
	ck_assert(natsim_form_file("multipart/form-data; boundary=\"XyZ\"", (const uint8_t *)form,
				   strlen(form), &f, &n, &why));
	ck_assert(
		!natsim_form_file("application/pdf", (const uint8_t *)"%PDF-1.4", 8, &f, &n, &why));
	ck_assert_str_eq(why, "not multipart/form-data");
	ck_assert(!natsim_form_file("multipart/form-data", (const uint8_t *)form, strlen(form), &f,
				    &n, &why));
	ck_assert(!natsim_form_file("multipart/form-data; boundary=Other", (const uint8_t *)form,
				    strlen(form), &f, &n, &why));
	ck_assert_str_eq(why, "no part named file");
}
END_TEST

/* The sample's body parses and passes; each wrong type or missing member is named. */
START_TEST(stage_sample_and_wrong_types)
{
	json_t *b = json_loads(stage_sample, 0, NULL);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_null(natsim_stage_invalid(b));
	static const struct {
		const char *member, *json;
	} bad[] = {
		{"subject", "2"},	{"subject", "\"5\""},	 {"examresult", "70"},
		{"pdfid", "\"1024\""},	{"esignature", "\"\""},	 {"totaltime", "\"960\""},
		{"mileage", "\"1.0\""}, {"recarray", "[\"x\"]"}, {"inscode", "\"\""},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		json_t *c = json_deep_copy(b);
		json_object_set_new(c, bad[i].member,
				    json_loads(bad[i].json, JSON_DECODE_ANY, NULL));
		ck_assert_str_eq(natsim_stage_invalid(c), bad[i].member);
		json_decref(c);
	}
	json_t *c = json_deep_copy(b);
	json_object_del(c, "duration");
	ck_assert_str_eq(natsim_stage_invalid(c), "duration");
	json_object_set_new(c, "duration", json_integer(960));
	json_object_set_new(c, "extra", json_true());
	ck_assert_str_eq(natsim_stage_invalid(c), "(a member too many)");
	json_decref(c);
	json_decref(b);
}
END_TEST

/* A teaching log of the hook's form (push_national.c) passes; a bad time or type is named. */
START_TEST(classrecord_members)
{
	json_t *b = json_loads(
		"{\"avevelocity\":7.1,\"carnum\":\"4401000000000005\",\"coachnum\":\"440100000000"
		"0009\",\"coacmt\":\"\",\"duration\":105,\"endtime\":\"20260301094500\","
		"\"inscode\":\"4401000001\",\"mileage\":12.5,\"part1\":0,\"part2\":105,"
		"\"part3\":0,\"part4\":0,\"photo1\":10001,\"photo2\":10002,\"photo3\":0,"
		"\"platnum\":\"4401000000000017\",\"recnum\":\"440100000000001726030108\","
		"\"simunum\":\"13800000002\",\"starttime\":\"20260301080000\",\"stunum\":"
		"\"4401000000000001\",\"subjcode\":\"1212110000\",\"total\":105}",
		0, NULL);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_null(natsim_classrecord_invalid(b));
	json_object_set_new(b, "starttime", json_string("2026-03-01 08:00"));
	ck_assert_str_eq(natsim_classrecord_invalid(b), "starttime");
	json_object_set_new(b, "starttime", json_string("20260301080000"));
	json_object_set_new(b, "photo1", json_string("10001"));
	ck_assert_str_eq(natsim_classrecord_invalid(b), "photo1");
	json_decref(b);
}
END_TEST

/*
 * Master data upward: each interface's members and types, a member
 * missing or too many, a number where a string goes.
 */
START_TEST(upward_members)
{
	json_t *b = json_loads("{\"devnum\":\"4401000000000017\",\"carnum\":\"4401000000000099\","
			       "\"sim\":\"13800000001\"}",
			       0, NULL);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_null(natsim_upward_invalid("devassign", b));
	ck_assert_ptr_null(natsim_upward_invalid("devRembinding", b));
	json_object_set_new(b, "sim", json_integer(13800000001));
	ck_assert_str_eq(natsim_upward_invalid("devassign", b), "sim");
	json_object_set_new(b, "sim", json_string("13800000001"));
	json_object_set_new(b, "extra", json_string(""));
	ck_assert_str_eq(natsim_upward_invalid("devassign", b), "(a member too many)");
	json_decref(b);
	b = json_loads("{\"inscode\":\"S001\",\"carnum\":\"4401000000000099\",\"franum\":\"\","
		       "\"engnum\":\"\",\"licnum\":\"A12345\",\"platecolor\":\"blue\","
		       "\"photo\":0,\"manufacture\":\"\",\"brand\":\"\",\"model\":\"\","
		       "\"perdritype\":\"C1\",\"buydate\":\"20250102\"}",
		       0, NULL);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_null(natsim_upward_invalid("trainingcar", b));
	json_object_set_new(b, "buydate", json_string("2025-01-02"));
	ck_assert_str_eq(natsim_upward_invalid("trainingcar", b), "buydate");
	json_object_set_new(b, "buydate", json_string(""));
	json_object_set_new(b, "photo", json_string("0"));
	ck_assert_str_eq(natsim_upward_invalid("trainingcar", b), "photo");
	json_object_set_new(b, "photo", json_integer(0));
	json_object_del(b, "licnum");
	ck_assert_str_eq(natsim_upward_invalid("trainingcar", b), "licnum");
	ck_assert_str_eq(natsim_upward_invalid("coach", b), "coachnum");
	ck_assert_str_eq(natsim_upward_invalid("region", b), "seq");
	ck_assert_str_eq(natsim_upward_invalid("graduation", b), "the body");
	json_decref(b);
	ck_assert(natsim_upward_path("/top/coach"));
	ck_assert(natsim_upward_path("/top/trainingCar-4401000000000099"));
	ck_assert(natsim_upward_path("/top/device-4401000000000017"));
	ck_assert(!natsim_upward_path("/top/trainingcar-4401000000000099"));
	ck_assert(!natsim_upward_path("/top/coaches"));
}
END_TEST

/*
 * The public sample bodies, as the public code sends them (pasted, not
 * rebuilt), parse in the strict twin and pass where the public evidence
 * says the platform takes them:
 *
 * - /institution: the relay's own signing test, LeiYi0110/TimeSystemHttp,
 *   51bjxc-supervise-service/src/test/java/com/bjxc/supervise/
 *   SignTestCase.java (the same body in TestSignAndVerify.java and
 *   PrivateKeyFactory.java).  busistatus is a string there, creditcode
 *   absent, six members more than PROTOCOL.md lists.
 * - /stagetrainningtime: the public school-system test tool PROTOCOL.md
 *   names as "one tool sends rectype 4, examresult 70" (Python, tkinter,
 *   btn_submitTra; its inscode, stunum and subject come from the form,
 *   here the strings it makes of them): subject and examresult strings,
 *   pdfid a number, and a commitFlag.  Its esignature is the placeholder
 *   "esignature", which the twin refuses (a seal is 512 hex digits, in
 *   every other sample); with a seal it passes.
 * - the data a school's seal signs in a public seal-signing test page
 *   (JSP, signocx): a stage-hours body without pdfid and esignature,
 *   every number a string or null.  It is not a body sent: the twin
 *   refuses it as one (subject passes, totaltime is a string).
 */
START_TEST(public_sample_bodies)
{
	static const char institution[] =
		"{\"inscode\":\"2236581429084424\",\"district\":\"420528\",\"name\":\"test111\","
		"\"shortname\":\"test2\",\"licnum\":\"112323445566\",\"licetime\":\"20160720\","
		"\"business\":\"23421345563567777775\",\"address\":\"asgweeee\",\"postcode\":"
		"\"443500\",\"legal\":\"fff\",\"contact\":\"fff\",\"phone\":\"18215487978\","
		"\"busiscope\":\"C1,C2,C3\",\"busistatus\":\"1\",\"level\":1,\"coachnumber\":0,"
		"\"grasupvnum\":0,\"safmngnum\":0,\"tracarnum\":0,\"praticefield\":0,"
		"\"thcoachnum\":0,\"pracoachnum\":0,\"lat\":0.0,\"lng\":0.0,\"position\":0,"
		"\"thumbnailid\":0}";
	static const char stage[] =
		"{\"inscode\":\"5851633716061642\",\"subject\":\"1\",\"stunum\":\"6161758136324302\","
		"\"duration\":201,\"examresult\":\"70\",\"mileage\":80,\"pdfid\":9,"
		"\"esignature\":\"esignature\",\"totaltime\":200,\"vehicletime\":40,"
		"\"classtime\":30,\"simulatortime\":20,\"networktime\":10,\"rectype\":4,"
		"\"commitFlag\":\"2\",\"recarray\":[{\"rnum\":\"123456789012345600005\"}]}";
	static const char sealed_data[] =
		"{\"simulatortime\":null,\"rectype\":\"2\",\"stunum\":\"6161758136324302\","
		"\"subject\":\"1\",\"examresult\":\"0\",\"duration\":\"60\",\"totaltime\":\"60\","
		"\"networktime\":null,\"inscode\":\"5851633716061642\",\"recarray\":[{\"rnum\":"
		"\"616175813632430200001\"}],\"vehicletime\":null,\"classtime\":\"60\","
		"\"mileage\":null}";
	json_t *b = json_loads(institution, 0, NULL);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_null(natsim_upward_invalid("institution", b));
	/* hoursd's form (023, 028): creditcode present, the relay's extras absent. */
	json_object_set_new(b, "creditcode", json_string(""));
	json_object_del(b, "lat");
	ck_assert_ptr_null(natsim_upward_invalid("institution", b));
	json_object_set_new(b, "busistatus", json_integer(1));
	ck_assert_str_eq(natsim_upward_invalid("institution", b), "busistatus");
	json_object_set_new(b, "busistatus", json_string("1"));
	json_object_set_new(b, "lng", json_string("0.0"));
	ck_assert_str_eq(natsim_upward_invalid("institution", b), "lng");
	json_object_del(b, "lng");
	json_object_set_new(b, "thumbnail", json_integer(0));
	ck_assert_str_eq(natsim_upward_invalid("institution", b), "(a member too many)");
	json_decref(b);

	b = json_loads(stage, 0, NULL);
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(natsim_stage_invalid(b), "esignature");
	json_object_set_new(b, "esignature", json_string(SEAL_HEX));
	ck_assert_ptr_null(natsim_stage_invalid(b));
	json_object_set_new(b, "commitFlag", json_integer(2));
	ck_assert_str_eq(natsim_stage_invalid(b), "commitFlag");
	json_decref(b);

	b = json_loads(sealed_data, 0, NULL);
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(natsim_stage_invalid(b), "totaltime");
	json_decref(b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("policesim");
	TCase *tc = tcase_create("national");
	tcase_add_test(tc, serial_unpadded);
	tcase_add_test(tc, upload_is_a_multipart_form);
	tcase_add_test(tc, stage_sample_and_wrong_types);
	tcase_add_test(tc, classrecord_members);
	tcase_add_test(tc, upward_members);
	tcase_add_test(tc, public_sample_bodies);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
