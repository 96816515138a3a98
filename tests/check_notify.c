/*
 * check_notify.c - notify() reaches a datagram socket named by
 * $NOTIFY_SOCKET, as a path and as an abstract address, adds
 * MONOTONIC_USEC= to RELOADING=1, and does nothing when unset.
 */
#include "hoursd.h"
#include "notify.h"

#include <check.h>
#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static char dir[64];
static char sock_path[128];

/* A datagram socket bound to name ('@' = abstract); sets NOTIFY_SOCKET to name. */
static int bind_notify(const char *name)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n = strlen(name);
	ck_assert_uint_lt(n, sizeof(sa.sun_path));
	memcpy(sa.sun_path, name, n);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	ck_assert_msg(bind(fd, (struct sockaddr *)&sa, len) == 0, "bind %s", name);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", name, 1), 0);
	return fd;
}

/* The next datagram within timeout_ms into buf (NUL-terminated); its length or -1. */
static ssize_t recv_one(int fd, char *buf, size_t cap, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, timeout_ms) != 1)
		return -1;
	ssize_t n = recv(fd, buf, cap - 1, 0);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	return n;
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_notify_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock_path, sizeof(sock_path), "%s/notify.sock", dir);
}

static void teardown(void)
{
	unlink(sock_path);
	rmdir(dir);
	unsetenv("NOTIFY_SOCKET");
}

START_TEST(path_socket)
{
	char buf[512];
	int fd = bind_notify(sock_path);
	notify("READY=1");
	ck_assert_int_eq(recv_one(fd, buf, sizeof(buf), 2000), 7);
	ck_assert_str_eq(buf, "READY=1");
	notify("STOPPING=1\nSTATUS=draining");
	ck_assert_int_gt(recv_one(fd, buf, sizeof(buf), 2000), 0);
	ck_assert_str_eq(buf, "STOPPING=1\nSTATUS=draining");
	close(fd);
}
END_TEST

START_TEST(abstract_socket)
{
	char name[64], buf[512];
	snprintf(name, sizeof(name), "@check_notify_%ld_%ld", (long)getpid(), (long)time(NULL));
	int fd = bind_notify(name);
	notify("READY=1");
	ck_assert_int_eq(recv_one(fd, buf, sizeof(buf), 2000), 7);
	ck_assert_str_eq(buf, "READY=1");
	close(fd);
}
END_TEST

static unsigned long long now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000;
}

START_TEST(reloading_has_monotonic_usec)
{
	char buf[512];
	int fd = bind_notify(sock_path);
	unsigned long long before = now_usec();
	notify("RELOADING=1");
	unsigned long long after = now_usec();
	ck_assert_int_gt(recv_one(fd, buf, sizeof(buf), 2000), 0);
	const char *prefix = "RELOADING=1\nMONOTONIC_USEC=";
	ck_assert_msg(strncmp(buf, prefix, strlen(prefix)) == 0, "got \"%s\"", buf);
	char *end;
	unsigned long long usec = strtoull(buf + strlen(prefix), &end, 10);
	ck_assert_str_eq(end, "");
	ck_assert_uint_ge(usec, before);
	ck_assert_uint_le(usec, after);
	/* Only a whole RELOADING=1 line counts. */
	notify("STATUS=RELOADING=10");
	ck_assert_int_gt(recv_one(fd, buf, sizeof(buf), 2000), 0);
	ck_assert_str_eq(buf, "STATUS=RELOADING=10");
	notify("STATUS=reloading\nRELOADING=1");
	ck_assert_int_gt(recv_one(fd, buf, sizeof(buf), 2000), 0);
	ck_assert_ptr_nonnull(strstr(buf, "\nRELOADING=1\nMONOTONIC_USEC="));
	close(fd);
}
END_TEST

START_TEST(unset_or_bad_is_noop)
{
	char buf[512];
	int fd = bind_notify(sock_path);
	unsetenv("NOTIFY_SOCKET");
	notify("READY=1");
	setenv("NOTIFY_SOCKET", "relative/notify.sock", 1);
	notify("READY=1");
	setenv("NOTIFY_SOCKET", "", 1);
	notify("READY=1");
	setenv("NOTIFY_SOCKET", "@", 1);
	notify("READY=1");
	ck_assert_int_eq(recv_one(fd, buf, sizeof(buf), 100), -1);
	/* A socket that is gone: logged, not fatal. */
	setenv("NOTIFY_SOCKET", "/tmp/check_notify_no/such.sock", 1);
	notify("READY=1");
	close(fd);
}
END_TEST

START_TEST(too_long_is_not_sent)
{
	char buf[512];
	int fd = bind_notify(sock_path);
	char *big = malloc(4096);
	ck_assert_ptr_nonnull(big);
	memset(big, 'x', 4095);
	big[4095] = '\0';
	memcpy(big, "STATUS=", 7);
	notify(big);
	free(big);
	ck_assert_int_eq(recv_one(fd, buf, sizeof(buf), 100), -1);
	close(fd);
}
END_TEST

static Suite *notify_suite(void)
{
	Suite *s = suite_create("notify");
	TCase *tc = tcase_create("notify");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, path_socket);
	tcase_add_test(tc, abstract_socket);
	tcase_add_test(tc, reloading_has_monotonic_usec);
	tcase_add_test(tc, unset_or_bad_is_noop);
	tcase_add_test(tc, too_long_is_not_sent);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(notify_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
