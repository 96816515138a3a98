/*
 * teachlog.c - the teaching log as schools print it for the student's
 * file (hoursctl explain --pdf, src/pdf/teachlog.c): a timing terminal's
 * lesson with a real JPEG photo, the PDF read back with poppler's tools
 * (pdftotext, pdfimages, pdftoppm), not with ours.
 */
#include "harness.h"

#include <sys/stat.h>

/* sha256sum tests/fixtures/student-photo.jpg */
#define FIXTURE_PHOTO_SHA256 "68b6945c7be25ec83fc5e32761dfbd946c74a4213b73ea513ef47ba7da7dfd93"

/* Lines of `pdfimages -list PDF` that are a WIDTHxHEIGHT JPEG ("jpeg" encoding). */
static int jpegs_in(const char *pdf, int width, int height)
{
	char cmd[1400], line[512];
	snprintf(cmd, sizeof(cmd), "pdfimages -list '%s'", pdf);
	FILE *p = popen(cmd, "r");
	int n = 0;
	while (p && fgets(line, sizeof(line), p)) {
		int page, num, w, h;
		char type[32], colour[32], enc[32];
		if (sscanf(line, "%d %d %31s %d %d %31s %*d %*d %31s", &page, &num, type, &w, &h,
			   colour, enc) == 7 &&
		    strcmp(enc, "jpeg") == 0 && w == width && h == height)
			n++;
	}
	ck_assert_msg(p && pclose(p) == 0, "pdfimages -list %s failed", pdf);
	return n;
}

START_TEST(test_printed_teaching_log)
{
	char photo[700], pdf[700], png[700], cmd[2400];
	snprintf(photo, sizeof(photo), "%s/tests/fixtures/student-photo.jpg", repo);
	start_hoursd_plain(NULL);
	ck_assert_int_eq(
		termsim_timing(words("--lesson 3 --photo-file %s --student S000000000000077"
				     " --coach C000000000000077 " PART3,
				     photo)),
		0);
	ck_assert_int_eq(out_value("photo_result"), 0);
	ck_assert_msg(wait_value("SELECT count(*) FROM record_verdict WHERE student_no = $1"
				 " AND verdict = 'accepted'",
				 "S000000000000077", 3, 20),
		      "the lesson was not judged; see %s", log_path);
	stop_hoursd();

	snprintf(pdf, sizeof(pdf), "%s/printed.pdf", work);
	ck_assert_int_eq(hoursctl_run("explain S000000000000077 --pdf %s --part 3", pdf), 0);
	const char *txt = pdf_text(pdf);
	ck_assert_int_eq(count_lines_in(txt, "电子教学日志"), 1);
	ck_assert_int_ge(count_lines_in(txt, "学员照片 student"), 1);
	ck_assert_int_ge(count_lines_in(txt, "学员签字 student"), 2); /* the lesson's, the end's */
	ck_assert_int_ge(count_lines_in(txt, "教练员签字 coach"), 2);
	ck_assert_int_eq(count_lines_in(txt, "驾校盖章 school seal"), 1);
	ck_assert_int_ge(count_lines_in(txt, "C000000000000077"), 1);
	snprintf(cmd, sizeof(cmd), "照片 photo SHA-256 %s", FIXTURE_PHOTO_SHA256);
	ck_assert_int_eq(count_lines_in(txt, cmd), 1);
	/* The photo twice, as the JPEG it is (160x200): the student's at the head, the lesson's. */
	ck_assert_int_eq(jpegs_in(pdf, 160, 200), 2);
	/* Page 1 as a person sees it, kept beside the report's screenshots. */
	snprintf(png, sizeof(png), "%s/build/report-shots/teachlog", repo);
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p %s/build/report-shots && pdftoppm -png -r 72 -f 1 -l 1"
		 " -singlefile '%s' '%s'",
		 repo, pdf, png);
	ck_assert_int_eq(system(cmd), 0);
	struct stat st;
	snprintf(png, sizeof(png), "%s/build/report-shots/teachlog.png", repo);
	ck_assert_int_eq(stat(png, &st), 0);
	ck_assert_int_gt(st.st_size, 10000);

	/* A photo that is not a JPEG (termsim's made-up bytes) is listed by its
	 * digest, not drawn, and not taken for the student's photo. */
	start_hoursd_plain(NULL);
	ck_assert_int_eq(
		termsim_timing("--auth-ts-offset 1 --lesson 2 --record-seq 21 --photo 3000"
			       " --student S000000000000078 --coach C000000000000078 " PART3),
		0);
	ck_assert_msg(wait_value("SELECT count(*) FROM record_verdict WHERE student_no = $1"
				 " AND verdict = 'accepted'",
				 "S000000000000078", 2, 20),
		      "the lesson was not judged; see %s", log_path);
	stop_hoursd();
	ck_assert_int_eq(hoursctl_run("explain S000000000000078 --pdf %s --part 3", pdf), 0);
	txt = pdf_text(pdf);
	ck_assert_int_eq(count_lines_in(txt, "照片 photo SHA-256 "), 1);
	ck_assert_int_eq(count_lines_in(txt, "学员照片 student"), 0);
	ck_assert_int_eq(jpegs_in(pdf, 160, 200), 0);
}
END_TEST

TCase *tcase_teachlog(void)
{
	TCase *tc = tcase_create("teachlog");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_printed_teaching_log);
	return tc;
}
