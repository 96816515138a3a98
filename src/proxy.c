/*
 * proxy.c - see proxy.h.
 *
 * The parser follows HAProxy's proxy-protocol.txt: version 1 is one line
 * of text ("PROXY TCP4 src dst sport dport\r\n", at most 107 bytes),
 * version 2 a 16-byte binary header (a 12-byte signature, version and
 * command, family, length) and the addresses.  Anything else, or any
 * deviation, is refused: the header comes from our balancer, which
 * writes it exactly.
 */
#include "hoursd.h"
#include "proxy.h"
#include "log.h"
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

static const uint8_t v2_sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
				   0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};
static const char v1_sig[] = "PROXY ";

static enum proxy_result bad(char *why, size_t whylen, size_t pos, const char *what)
{
	snprintf(why, whylen, "%s (byte %zu)", what, pos);
	return PROXY_BAD;
}

/* ---- version 1 ---- */

/* A port: 1-5 digits, no leading zero, at most 65535. */
static bool v1_port(const char *s, uint16_t *out)
{
	size_t n = strlen(s);
	if (n == 0 || n > 5 || strspn(s, "0123456789") != n || (n > 1 && s[0] == '0'))
		return false;
	unsigned long v = strtoul(s, NULL, 10);
	if (v > 65535)
		return false;
	*out = (uint16_t)v;
	return true;
}

static bool v1_address(const char *proto, const char *addr, uint16_t port, struct proxy_header *h)
{
	memset(&h->src, 0, sizeof(h->src));
	if (strcmp(proto, "TCP4") == 0) {
		struct sockaddr_in *in = (struct sockaddr_in *)&h->src;
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		h->srclen = sizeof(*in);
		return inet_pton(AF_INET, addr, &in->sin_addr) == 1;
	}
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&h->src;
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	h->srclen = sizeof(*in6);
	return inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1;
}

/*
 * The line between "PROXY " and CRLF (line, NUL-terminated, of printable
 * ASCII): five fields separated by single spaces, or UNKNOWN and anything.
 */
static enum proxy_result v1_fields(char *line, struct proxy_header *h, char *why, size_t whylen)
{
	char *field[6];
	size_t pos[6];
	int n = 0;
	char *p = line;
	size_t linelen = strlen(line);
	if (strncmp(line, "UNKNOWN", 7) == 0 && (line[7] == '\0' || line[7] == ' ')) {
		h->local = true;
		return PROXY_OK;
	}
	for (;;) {
		if (n == 6)
			return bad(why, whylen, 6 + (size_t)(p - line), "too many fields");
		pos[n] = 6 + (size_t)(p - line);
		field[n++] = p;
		char *sp = strchr(p, ' ');
		if (sp == NULL)
			break;
		*sp = '\0';
		p = sp + 1;
	}
	for (int i = 0; i < n; i++)
		if (*field[i] == '\0')
			return bad(why, whylen, pos[i], "empty field");
	if (strcmp(field[0], "TCP4") != 0 && strcmp(field[0], "TCP6") != 0)
		return bad(why, whylen, pos[0], "protocol TCP4, TCP6 or UNKNOWN expected");
	if (n > 5)
		return bad(why, whylen, pos[5], "too many fields");
	if (n < 5)
		return bad(why, whylen, 6 + linelen, "five fields expected");
	uint16_t sport, dport;
	if (!v1_port(field[3], &sport))
		return bad(why, whylen, pos[3], "bad source port");
	if (!v1_port(field[4], &dport))
		return bad(why, whylen, pos[4], "bad destination port");
	struct proxy_header dst;
	if (!v1_address(field[0], field[2], dport, &dst))
		return bad(why, whylen, pos[2], "bad destination address");
	if (!v1_address(field[0], field[1], sport, h))
		return bad(why, whylen, pos[1], "bad source address");
	return PROXY_OK;
}

static enum proxy_result parse_v1(const uint8_t *buf, size_t len, struct proxy_header *h, char *why,
				  size_t whylen)
{
	size_t end = 0; /* the CR's position */
	for (size_t i = sizeof(v1_sig) - 1; i < len && end == 0; i++) {
		if (i >= PROXY_V1_MAX)
			return bad(why, whylen, i, "no CRLF within 107 bytes");
		if (buf[i] == '\r') {
			if (i + 1 < len && buf[i + 1] != '\n')
				return bad(why, whylen, i + 1, "CR not followed by LF");
			if (i + 1 == len)
				return PROXY_NEED;
			end = i;
		} else if (buf[i] < 0x20 || buf[i] > 0x7e) {
			return bad(why, whylen, i, "a byte that is not printable ASCII");
		}
	}
	if (end == 0)
		return PROXY_NEED;
	char line[PROXY_V1_MAX];
	size_t n = end - (sizeof(v1_sig) - 1);
	memcpy(line, buf + sizeof(v1_sig) - 1, n);
	line[n] = '\0';
	h->len = end + 2;
	h->version = 1;
	return v1_fields(line, h, why, whylen);
}

/* ---- version 2 ---- */

static enum proxy_result parse_v2(const uint8_t *buf, size_t len, struct proxy_header *h, char *why,
				  size_t whylen)
{
	if (len < 16)
		return PROXY_NEED;
	if ((buf[12] >> 4) != 2)
		return bad(why, whylen, 12, "version 2 expected");
	unsigned cmd = buf[12] & 0x0f, fam = buf[13];
	size_t alen = (size_t)buf[14] << 8 | buf[15];
	if (cmd > 1)
		return bad(why, whylen, 12, "command LOCAL or PROXY expected");
	if (16 + alen > PROXY_MAX_HEADER)
		return bad(why, whylen, 14, "header longer than 1040 bytes");
	if (len < 16 + alen)
		return PROXY_NEED;
	h->len = 16 + alen;
	h->version = 2;
	if (cmd == 0 || fam == 0x00) { /* LOCAL (the balancer's own check), UNSPEC */
		h->local = true;
		return PROXY_OK;
	}
	const uint8_t *a = buf + 16;
	memset(&h->src, 0, sizeof(h->src));
	if (fam == 0x11) { /* TCP over IPv4: src, dst, sport, dport */
		if (alen < 12)
			return bad(why, whylen, 14, "length too short for TCP over IPv4");
		struct sockaddr_in *in = (struct sockaddr_in *)&h->src;
		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, a, 4);
		memcpy(&in->sin_port, a + 8, 2);
		h->srclen = sizeof(*in);
		return PROXY_OK;
	}
	if (fam == 0x21) { /* TCP over IPv6 */
		if (alen < 36)
			return bad(why, whylen, 14, "length too short for TCP over IPv6");
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&h->src;
		in6->sin6_family = AF_INET6;
		memcpy(&in6->sin6_addr, a, 16);
		memcpy(&in6->sin6_port, a + 32, 2);
		h->srclen = sizeof(*in6);
		return PROXY_OK;
	}
	return bad(why, whylen, 13, "family TCP over IPv4 or IPv6 expected");
}

enum proxy_result proxy_parse(const uint8_t *buf, size_t len, struct proxy_header *h, char *why,
			      size_t whylen)
{
	*h = (struct proxy_header){0};
	if (whylen)
		*why = '\0';
	if (len == 0)
		return PROXY_NEED;
	const uint8_t *sig = buf[0] == 'P' ? (const uint8_t *)v1_sig : v2_sig;
	size_t siglen = buf[0] == 'P' ? sizeof(v1_sig) - 1 : sizeof(v2_sig);
	for (size_t i = 0; i < siglen && i < len; i++)
		if (buf[i] != sig[i])
			return bad(why, whylen, i, "not a PROXY protocol header");
	if (len < siglen)
		return PROXY_NEED;
	return sig == v2_sig ? parse_v2(buf, len, h, why, whylen)
			     : parse_v1(buf, len, h, why, whylen);
}

/* ---- listen.proxy_protocol ---- */

/* Call fn on each word of a list separated by commas and spaces; false when fn is. */
static bool each_word(const char *s, bool (*fn)(const char *w, size_t n, void *arg), void *arg)
{
	while (*s) {
		s += strspn(s, ", ");
		size_t n = strcspn(s, ", ");
		if (n && !fn(s, n, arg))
			return false;
		s += n;
	}
	return true;
}

static bool known_word(const char *w, size_t n, void *arg)
{
	return (n == 5 && memcmp(w, "plain", 5) == 0) || (n == 3 && memcmp(w, "tls", 3) == 0);
}

bool proxy_setting_valid(const char *setting, char *why, size_t whylen)
{
	if (each_word(setting, known_word, NULL))
		return true;
	snprintf(why, whylen, "a list of the listeners plain and tls expected");
	return false;
}

static bool not_this(const char *w, size_t n, void *arg)
{
	const char *want = arg;
	return !(strlen(want) == n && memcmp(w, want, n) == 0);
}

bool proxy_setting_has(const char *setting, const char *listener)
{
	return setting && !each_word(setting, not_this, (void *)(uintptr_t)listener);
}

/* ---- waiting for the header on an accepted socket ---- */

struct waiting {
	struct waiting *prev, *next;
	struct server *srv;
	int fd;
	bool tls;
	proxy_accept_fn hand_on;
	struct event *ev;
	struct sockaddr_storage sa; /* the balancer's side, for the log and LOCAL */
	int salen;
	uint8_t buf[PROXY_MAX_HEADER];
	size_t have;	  /* header bytes taken off the socket so far */
	int64_t accepted; /* CLOCK_MONOTONIC ms */
	unsigned timeout_ms;
	int64_t deadline; /* a header sent a byte at a time does not get longer */
};

static struct waiting *waiting_list;
static unsigned nwaiting;

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void peer_text(const struct sockaddr *sa, char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	}
	snprintf(out, cap, "%s:%u", host, port);
}

/* Forget w; close its socket unless it was handed on. */
static void waiting_end(struct waiting *w, bool close_fd)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		waiting_list = w->next;
	if (w->next)
		w->next->prev = w->prev;
	nwaiting--;
	w->srv->proxy_waiting = nwaiting;
	event_free(w->ev);
	if (close_fd)
		close(w->fd);
	free(w);
}

static void waiting_fail(struct waiting *w, const char *why)
{
	char peer[64];
	peer_text((const struct sockaddr *)&w->sa, peer, sizeof(peer));
	log_warn("conn - %s: closed: PROXY protocol header: %s", peer, why);
	waiting_end(w, true);
}

/*
 * Peek at what has arrived; take off the socket only bytes of the header
 * (all of them while it is incomplete, so that the next read event is for
 * new bytes), never a byte of the terminal's.
 */
static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct waiting *w = arg;
	if ((what & EV_TIMEOUT) || mono_ms() >= w->deadline) {
		char why[128];
		w->srv->st.deadline_handshake++;
		snprintf(why, sizeof(why), "not whole within %u s (connection.handshake_timeout_s)",
			 w->timeout_ms / 1000);
		waiting_fail(w, why);
		return;
	}
	ssize_t n = recv(fd, w->buf + w->have, sizeof(w->buf) - w->have, MSG_PEEK);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		waiting_fail(w, n == 0 ? "closed before its end" : strerror(errno));
		return;
	}
	struct proxy_header h;
	char why[128];
	size_t total = w->have + (size_t)n;
	enum proxy_result r = proxy_parse(w->buf, total, &h, why, sizeof(why));
	if (r == PROXY_BAD) {
		waiting_fail(w, why);
		return;
	}
	size_t take = r == PROXY_NEED ? (size_t)n : h.len - w->have;
	if (r == PROXY_NEED && total == sizeof(w->buf)) {
		waiting_fail(w, "too long");
		return;
	}
	if (recv(fd, w->buf + w->have, take, 0) != (ssize_t)take) {
		waiting_fail(w, "the socket gave back fewer bytes than it showed");
		return;
	}
	w->have += take;
	if (r == PROXY_NEED)
		return;
	struct server *srv = w->srv;
	bool tls = w->tls;
	proxy_accept_fn hand_on = w->hand_on;
	int64_t accepted = w->accepted;
	const struct sockaddr *sa =
		h.local ? (const struct sockaddr *)&w->sa : (const struct sockaddr *)&h.src;
	int salen = h.local ? w->salen : (int)h.srclen;
	struct sockaddr_storage copy;
	memcpy(&copy, sa, (size_t)salen);
	waiting_end(w, false);
	hand_on(srv, fd, (const struct sockaddr *)&copy, salen, tls, accepted);
}

void proxy_wait(struct server *srv, int fd, const struct sockaddr *sa, int salen, bool tls,
		unsigned ms, proxy_accept_fn hand_on)
{
	struct waiting *w = NULL;
	if (nwaiting < PROXY_WAIT_MAX && salen > 0 && (size_t)salen <= sizeof(w->sa))
		w = calloc(1, sizeof(*w));
	if (w == NULL) {
		log_warn("PROXY protocol: %u connections already waiting for their header; "
			 "closing a new one",
			 nwaiting);
		close(fd);
		return;
	}
	*w = (struct waiting){.srv = srv,
			      .fd = fd,
			      .tls = tls,
			      .hand_on = hand_on,
			      .salen = salen,
			      .accepted = mono_ms(),
			      .timeout_ms = ms};
	w->deadline = w->accepted + ms;
	memcpy(&w->sa, sa, (size_t)salen);
	w->ev = event_new(srv->base, fd, EV_READ | EV_PERSIST, on_readable, w);
	if (w->ev == NULL)
		die("out of memory");
	w->next = waiting_list;
	if (waiting_list)
		waiting_list->prev = w;
	waiting_list = w;
	nwaiting++;
	srv->proxy_waiting = nwaiting;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	event_add(w->ev, &tv);
}

void proxy_wait_close_all(void)
{
	while (waiting_list)
		waiting_end(waiting_list, true);
}
