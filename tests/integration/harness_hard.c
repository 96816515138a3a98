/*
 * harness_hard.c - the harness of the topics that attack hoursd from
 * outside (hardening.c, abuse.c): hoursd under a low descriptor limit,
 * raw sockets, hoursd's CPU time.
 */
#include "harness.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

/* Insert text after the first line of the config that is exactly `line` ("tls:"). */
void conf_insert(const char *line, const char *text)
{
	static char buf[1 << 16];
	FILE *f = fopen(conf_path, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char key[64];
	snprintf(key, sizeof(key), "\n%s\n", line);
	char *p = strstr(buf, key);
	ck_assert_ptr_nonnull(p);
	p += strlen(key);
	f = fopen(conf_path, "w");
	ck_assert_ptr_nonnull(f);
	fwrite(buf, 1, (size_t)(p - buf), f);
	fputs(text, f);
	fputs(p, f);
	fclose(f);
}

/*
 * hoursd with a plain listener, tail at the end, more keys in the tls and
 * admin sections ("" for none), and its open-file limit set to nofile
 * (0: inherited).
 */
void start_hoursd_hard(const char *tail, const char *tls_more, const char *admin_more,
		       rlim_t nofile)
{
	plain_port = free_port();
	char extra[64];
	snprintf(extra, sizeof(extra), "  plain: \"127.0.0.1:%d\"\n", plain_port);
	int readies = count_lines_with(" ready");
	write_config_tail(extra, tail);
	if (tls_more[0])
		conf_insert("tls:", tls_more);
	if (admin_more[0])
		conf_insert("admin:", admin_more);
	char prog[600];
	snprintf(prog, sizeof(prog), "%s/hoursd", bindir);
	char *argv[] = {prog, (char *)"-c", conf_path, NULL};
	struct rlimit old, low;
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	if (nofile)
		low.rlim_cur = nofile;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	hoursd_pid = spawn(argv, log_path, log_path);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	for (int i = 0; i < 200 && count_lines_with(" ready") <= readies; i++)
		usleep(50000);
	ck_assert_msg(count_lines_with(" ready") > readies, "hoursd did not become ready");
}

/* A non-blocking TCP connection to port (the handshake may still be under way). */
int connect_nb(int to_port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(fd, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)to_port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	ck_assert_msg(r == 0 || errno == EINPROGRESS, "connect: %s", strerror(errno));
	return fd;
}

/* hoursd's CPU time so far, in clock ticks (utime + stime of /proc/PID/stat). */
long long cpu_ticks(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	ck_assert_ptr_nonnull(p);
	unsigned long long ut = 0, st = 0;
	/* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
	 * stime */
	ck_assert_int_eq(
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st),
		2);
	return (long long)(ut + st);
}

long long file_size(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

/* The peer closed fd (a read gives 0 or an error); what it sent is thrown away. */
bool closed_by_peer(int fd)
{
	char b[4096];
	ssize_t r = recv(fd, b, sizeof(b), MSG_DONTWAIT);
	return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}
