/*
 * check_log.c - the two shapes of a log line: a timestamp and the level
 * name when stderr is a file or a terminal; the sd-daemon.h priority
 * ("<3>".."<7>") and no timestamp when $JOURNAL_STREAM names stderr, as
 * systemd sets it when stderr is the journal.  stderr goes to a file here,
 * and JOURNAL_STREAM is set to that file's own device and inode.
 */
#include "hoursd.h"
#include "log.h"

#include <check.h>
#include <fcntl.h>
#include <regex.h>
#include <sys/stat.h>
#include <unistd.h>

static char path[64];
static int saved_stderr = -1;

/* stderr into a fresh file; its dev:ino in buf. */
static void stderr_to_file(char *devino, size_t cap)
{
	snprintf(path, sizeof(path), "/tmp/check_log_XXXXXX");
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
	struct stat st;
	ck_assert_int_eq(fstat(STDERR_FILENO, &st), 0);
	snprintf(devino, cap, "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
}

/* stderr back; what was written to the file, in out. */
static void read_back(char *out, size_t cap)
{
	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(out, 1, cap - 1, f);
	out[n] = '\0';
	fclose(f);
	unlink(path);
}

static void log_all_levels(void)
{
	log_set_level(HLOG_DEBUG);
	log_debug("a debug line %d", 7);
	log_info("an info line");
	log_warn("a warning");
	log_error("an error: %s", "why");
	log_set_level(HLOG_INFO);
	log_debug("not shown");
}

static void teardown(void)
{
	unsetenv("JOURNAL_STREAM");
	log_set_prefix(NULL);
	log_journal_detect();
}

START_TEST(journal_lines)
{
	char devino[64], out[2048];
	stderr_to_file(devino, sizeof(devino));
	ck_assert_int_eq(setenv("JOURNAL_STREAM", devino, 1), 0);
	ck_assert(log_journal_detect());
	log_all_levels();
	log_set_prefix("termsim");
	log_info("with a prefix");
	read_back(out, sizeof(out));
	ck_assert_str_eq(out, "<7>debug a debug line 7\n"
			      "<6>info an info line\n"
			      "<4>warn a warning\n"
			      "<3>error an error: why\n"
			      "<6>info termsim: with a prefix\n");
}
END_TEST

/* One line: the timestamp (UTC, milliseconds), the level, the text. */
static void assert_stamped(const char *out)
{
	regex_t re;
	ck_assert_int_eq(
		regcomp(&re,
			"^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
			"(debug a debug line 7|info an info line|warn a warning|error an error: "
			"why)\n){4}$",
			REG_EXTENDED),
		0);
	ck_assert_msg(regexec(&re, out, 0, NULL, 0) == 0, "not stamped lines: %s", out);
	regfree(&re);
	ck_assert_ptr_null(strchr(out, '<'));
}

START_TEST(file_lines)
{
	char devino[64], out[2048];
	stderr_to_file(devino, sizeof(devino));
	unsetenv("JOURNAL_STREAM");
	ck_assert(!log_journal_detect());
	log_all_levels();
	read_back(out, sizeof(out));
	assert_stamped(out);
}
END_TEST

/* A JOURNAL_STREAM inherited from a parent whose stderr was the journal. */
START_TEST(journal_stream_of_another_file)
{
	char devino[64], other[80], out[2048];
	stderr_to_file(devino, sizeof(devino));
	snprintf(other, sizeof(other), "%s1", devino); /* another inode */
	ck_assert_int_eq(setenv("JOURNAL_STREAM", other, 1), 0);
	ck_assert(!log_journal_detect());
	log_all_levels();
	read_back(out, sizeof(out));
	assert_stamped(out);
}
END_TEST

START_TEST(journal_stream_malformed)
{
	static const char *const bad[] = {"", "12", "12:", ":34", "12:34x", "x:y"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		ck_assert_int_eq(setenv("JOURNAL_STREAM", bad[i], 1), 0);
		ck_assert_msg(!log_journal_detect(), "JOURNAL_STREAM=\"%s\" taken", bad[i]);
	}
}
END_TEST

/* hex_encode() in both cases, and log_hex() over it: cut by max, and by cap. */
START_TEST(hex)
{
	static const uint8_t b[] = {0x00, 0x7e, 0xab, 0xff};
	char out[16];
	ck_assert_str_eq(hex_encode(out, b, sizeof(b)), "007eabff");
	ck_assert_str_eq(hex_encode_upper(out, b, sizeof(b)), "007EABFF");
	ck_assert_str_eq(hex_encode(out, b, 0), "");
	log_hex(out, sizeof(out), b, sizeof(b), 2);
	ck_assert_str_eq(out, "007e...");
	log_hex(out, 6, b, sizeof(b), 4);
	ck_assert_str_eq(out, "007e");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("lines");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, journal_lines);
	tcase_add_test(tc, file_lines);
	tcase_add_test(tc, journal_stream_of_another_file);
	tcase_add_test(tc, journal_stream_malformed);
	tcase_add_test(tc, hex);
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
