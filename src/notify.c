/*
 * notify.c - sd_notify by hand, see notify.h.
 *
 * The protocol is one datagram of "KEY=VALUE\n..." text sent to the
 * AF_UNIX socket named in $NOTIFY_SOCKET: a file system path, or an
 * abstract address when it starts with '@'.  A fresh socket per call:
 * notifications come a handful of times per process lifetime.
 */
#include "hoursd.h"
#include "notify.h"
#include "log.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define NOTIFY_MAX 1024

/* Fill sa from $NOTIFY_SOCKET; false when unset or not a usable address. */
static bool notify_addr(struct sockaddr_un *sa, socklen_t *len)
{
	const char *e = getenv("NOTIFY_SOCKET");
	if (e == NULL || (e[0] != '/' && e[0] != '@'))
		return false; /* unset, or a form we do not speak (vsock:) */
	size_t n = strlen(e);
	if (n < 2 || n >= sizeof(sa->sun_path))
		return false;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, e, n);
	if (e[0] == '@')
		sa->sun_path[0] = '\0'; /* abstract: the length counts, no trailing NUL */
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	return true;
}

/* Whether state has a line that is exactly "RELOADING=1". */
static bool is_reloading(const char *state)
{
	static const char key[] = "RELOADING=1";
	for (const char *p = state; (p = strstr(p, key)) != NULL; p++) {
		char after = p[sizeof(key) - 1];
		if ((p == state || p[-1] == '\n') && (after == '\0' || after == '\n'))
			return true;
	}
	return false;
}

/* state, plus MONOTONIC_USEC= for a reload, into buf; false when it does not fit. */
static bool notify_text(const char *state, char *buf, size_t cap, size_t *len)
{
	int n;
	if (is_reloading(state)) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		unsigned long long usec = (unsigned long long)ts.tv_sec * 1000000ULL +
					  (unsigned long long)ts.tv_nsec / 1000;
		n = snprintf(buf, cap, "%s\nMONOTONIC_USEC=%llu", state, usec);
	} else {
		n = snprintf(buf, cap, "%s", state);
	}
	if (n < 0 || (size_t)n >= cap)
		return false;
	*len = (size_t)n;
	return true;
}

void notify(const char *state)
{
	struct sockaddr_un sa;
	socklen_t salen;
	char buf[NOTIFY_MAX];
	size_t len;

	if (!notify_addr(&sa, &salen))
		return;
	if (!notify_text(state, buf, sizeof(buf), &len)) {
		log_warn("notify: state too long, not sent");
		return;
	}
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_warn("notify: socket: %s", strerror(errno));
		return;
	}
	ssize_t r = sendto(fd, buf, len, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
	if (r < 0)
		log_warn("notify: cannot send \"%.40s\" to $NOTIFY_SOCKET: %s", state,
			 strerror(errno));
	close(fd);
}
