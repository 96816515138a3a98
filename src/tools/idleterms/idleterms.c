/*
 * idleterms.c - many idle terminals at once, for `make bench-conn`
 * (scripts/bench-conn.sh): each connects over plain TCP or mutual TLS,
 * authenticates with the 2013 header and an auth code (0x0102, answered
 * 0x8001), and then sends nothing.  One epoll loop and a few hundred
 * bytes per connection, so that the figures measured are hoursd's.
 *
 * Connections come from the loopback addresses 127.0.0.1 .. 127.0.0.K
 * (--sources K) in turn: one source address has only the ephemeral ports
 * to give.  At most --window connections are being set up at a time.
 * When every one is authenticated (or has failed), one line
 * "authenticated=N failed=F elapsed_ms=T" goes to stdout; then the
 * connections stay open, idle, until SIGTERM or SIGINT.  Exit: 0 when
 * all authenticated, 1 otherwise, 2 usage.
 */
#include "hoursd.h"
#include "jt808.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

enum cstate { C_CONNECTING, C_HANDSHAKE, C_AUTHING, C_IDLE, C_DEAD };

struct term {
	int fd;
	SSL *ssl;
	uint8_t state;
	uint8_t got; /* bytes of the answer read so far */
	uint8_t buf[48];
};

static struct {
	unsigned port, count, sources, window;
	unsigned long long phone_base;
	bool same_phone;
	const char *code, *ca, *cert, *key;
} opt = {.sources = 1, .window = 256};

static SSL_CTX *ctx;
static struct term *terms;
static int ep;
static unsigned started, active, authed, failed, idle_closed;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void watch(unsigned i, uint32_t events, int op)
{
	struct epoll_event ev = {.events = events, .data.u32 = i};
	if (epoll_ctl(ep, op, terms[i].fd, &ev) != 0 && op != EPOLL_CTL_DEL) {
		perror("idleterms: epoll_ctl");
		exit(1);
	}
}

static void fail(unsigned i)
{
	struct term *t = &terms[i];
	if (t->state == C_IDLE) {
		idle_closed++;
	} else {
		failed++;
		active--;
	}
	t->state = C_DEAD;
	SSL_free(t->ssl);
	t->ssl = NULL;
	close(t->fd);
	t->fd = -1;
}

/* Write all of n bytes (they fit in an empty socket buffer): false on error. */
static bool send_all(struct term *t, const uint8_t *b, size_t n)
{
	if (t->ssl)
		return SSL_write(t->ssl, b, (int)n) == (int)n;
	return write(t->fd, b, n) == (ssize_t)n;
}

static void send_auth(unsigned i)
{
	struct term *t = &terms[i];
	struct jt808_header h = {.msg_id = JT808_T_AUTH, .layout = JT808_L2013, .serial = 1};
	snprintf(h.phone, sizeof(h.phone), "%012llu", opt.phone_base + (opt.same_phone ? 0 : i));
	uint8_t body[128], out[512];
	size_t blen = jt808_build_auth(opt.code, false, body, sizeof(body));
	size_t n = blen ? jt808_encode(&h, body, blen, out, sizeof(out)) : 0;
	if (n == 0 || !send_all(t, out, n)) {
		fail(i);
		return;
	}
	t->state = C_AUTHING;
	watch(i, EPOLLIN, EPOLL_CTL_MOD);
}

static void start_one(unsigned i)
{
	struct term *t = &terms[i];
	struct sockaddr_in src = {.sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(0x7f000001u + i % opt.sources)};
	struct sockaddr_in dst = {.sin_family = AF_INET,
				  .sin_port = htons((uint16_t)opt.port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int one = 1;
	started++;
	active++;
	t->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (t->fd < 0) {
		perror("idleterms: socket");
		exit(1);
	}
	/* The port is chosen at connect, per destination: more than 28 000 a source. */
	setsockopt(t->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	if (bind(t->fd, (struct sockaddr *)&src, sizeof(src)) != 0 ||
	    (connect(t->fd, (struct sockaddr *)&dst, sizeof(dst)) != 0 && errno != EINPROGRESS)) {
		t->state = C_CONNECTING;
		fail(i);
		return;
	}
	t->state = C_CONNECTING;
	watch(i, EPOLLOUT, EPOLL_CTL_ADD);
}

static void handshake(unsigned i)
{
	struct term *t = &terms[i];
	int r = SSL_do_handshake(t->ssl);
	if (r == 1) {
		send_auth(i);
		return;
	}
	int e = SSL_get_error(t->ssl, r);
	if (e == SSL_ERROR_WANT_READ)
		watch(i, EPOLLIN, EPOLL_CTL_MOD);
	else if (e == SSL_ERROR_WANT_WRITE)
		watch(i, EPOLLOUT, EPOLL_CTL_MOD);
	else
		fail(i);
}

static void connected(unsigned i)
{
	struct term *t = &terms[i];
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
		fail(i);
		return;
	}
	if (ctx == NULL) {
		send_auth(i);
		return;
	}
	t->ssl = SSL_new(ctx);
	if (t->ssl == NULL || SSL_set_fd(t->ssl, t->fd) != 1) {
		fail(i);
		return;
	}
	SSL_set_connect_state(t->ssl);
	t->state = C_HANDSHAKE;
	handshake(i);
}

/* Read what is there; ssize_t as read(2): 0 at EOF, -1 with EAGAIN when nothing yet. */
static ssize_t recv_some(struct term *t, uint8_t *b, size_t cap)
{
	if (t->ssl == NULL)
		return read(t->fd, b, cap);
	int r = SSL_read(t->ssl, b, (int)cap);
	if (r > 0)
		return r;
	int e = SSL_get_error(t->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		errno = EAGAIN;
		return -1;
	}
	return e == SSL_ERROR_ZERO_RETURN ? 0 : -2;
}

/* The answer to the authentication: 0x8001 with result 0. */
static void answer(unsigned i)
{
	struct term *t = &terms[i];
	ssize_t r = recv_some(t, t->buf + t->got, sizeof(t->buf) - t->got);
	if (r < 0 && errno == EAGAIN && r == -1)
		return;
	if (r <= 0) {
		fail(i);
		return;
	}
	t->got = (uint8_t)(t->got + r);
	struct jt808_scan s;
	if (jt808_scan(t->buf, t->got, sizeof(t->buf), &s) != JT808_SCAN_FRAME) {
		if (t->got == sizeof(t->buf))
			fail(i);
		return;
	}
	uint8_t raw[64];
	size_t len;
	struct jt808_msg m;
	uint16_t serial, id;
	uint8_t result = 1;
	if (jt808_unescape(t->buf + s.start, s.len, raw, &len) != JT808_OK ||
	    jt808_parse(raw, len, &m) != JT808_OK || m.h.msg_id != JT808_P_GENERAL_ACK ||
	    jt808_parse_general_ack(m.body, m.body_len, &serial, &id, &result) != JT808_OK ||
	    result != 0) {
		fail(i);
		return;
	}
	t->state = C_IDLE;
	t->got = 0;
	authed++;
	active--;
}

/* An idle terminal heard something: the server closing it, most likely. */
static void idle_input(unsigned i)
{
	struct term *t = &terms[i];
	uint8_t b[256];
	ssize_t r = recv_some(t, b, sizeof(b));
	if (r == 0 || r == -2 || (r < 0 && errno != EAGAIN))
		fail(i);
}

static void event_on(unsigned i)
{
	switch (terms[i].state) {
	case C_CONNECTING:
		connected(i);
		break;
	case C_HANDSHAKE:
		handshake(i);
		break;
	case C_AUTHING:
		answer(i);
		break;
	case C_IDLE:
		idle_input(i);
		break;
	default:
		break;
	}
}

static SSL_CTX *client_ctx(void)
{
	SSL_CTX *c = SSL_CTX_new(TLS_client_method());
	if (c == NULL || SSL_CTX_load_verify_locations(c, opt.ca, NULL) != 1 ||
	    SSL_CTX_use_certificate_chain_file(c, opt.cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(c, opt.key, SSL_FILETYPE_PEM) != 1) {
		ERR_print_errors_fp(stderr);
		exit(2);
	}
	SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
	return c;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: idleterms --port P --count N --phone FIRST [--same-phone] --auth-code CODE\n"
		"                 [--sources K] [--window W] [--tls --ca F --cert F --key F]\n");
	exit(2);
}

enum {
	O_PORT = 256,
	O_COUNT,
	O_PHONE,
	O_SAME,
	O_CODE,
	O_SOURCES,
	O_WINDOW,
	O_TLS,
	O_CA,
	O_CERT,
	O_KEY
};

/* Where the value of option c goes: a number (*num) or a text; false for another option. */
static bool opt_slot(int c, unsigned **num, const char ***text)
{
	*num = c == O_PORT	? &opt.port
	       : c == O_COUNT	? &opt.count
	       : c == O_SOURCES ? &opt.sources
	       : c == O_WINDOW	? &opt.window
				: NULL;
	*text = c == O_CODE   ? &opt.code
		: c == O_CA   ? &opt.ca
		: c == O_CERT ? &opt.cert
		: c == O_KEY  ? &opt.key
			      : NULL;
	return *num || *text;
}

/* One option; false when it is not one of ours. */
static bool take_opt(int c, bool *tls)
{
	unsigned *num;
	const char **text;
	if (opt_slot(c, &num, &text)) {
		if (num)
			*num = (unsigned)strtoul(optarg, NULL, 10);
		else
			*text = optarg;
	} else if (c == O_PHONE) {
		opt.phone_base = strtoull(optarg, NULL, 10);
	} else if (c == O_SAME || c == O_TLS) {
		*(c == O_SAME ? &opt.same_phone : tls) = true;
	} else {
		return false;
	}
	return true;
}

static void parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{"port", required_argument, NULL, O_PORT},
		{"count", required_argument, NULL, O_COUNT},
		{"phone", required_argument, NULL, O_PHONE},
		{"same-phone", no_argument, NULL, O_SAME},
		{"auth-code", required_argument, NULL, O_CODE},
		{"sources", required_argument, NULL, O_SOURCES},
		{"window", required_argument, NULL, O_WINDOW},
		{"tls", no_argument, NULL, O_TLS},
		{"ca", required_argument, NULL, O_CA},
		{"cert", required_argument, NULL, O_CERT},
		{"key", required_argument, NULL, O_KEY},
		{NULL, 0, NULL, 0},
	};
	bool tls = false;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
		if (!take_opt(c, &tls))
			usage();
	if (opt.port == 0 || opt.port > 65535 || opt.count == 0 || opt.code == NULL ||
	    opt.sources == 0 || opt.sources > 254 || opt.window == 0 ||
	    (tls && (!opt.ca || !opt.cert || !opt.key)))
		usage();
	if (tls)
		ctx = client_ctx();
}

/* C connections need C descriptors: take the hard limit. */
static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < opt.count + 64) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Start, handshake and authenticate every terminal, then idle until a signal. */
static void run(void)
{
	double t0 = now_ms();
	bool reported = false;
	struct epoll_event evs[512];
	while (!stop) {
		while (started < opt.count && active < opt.window)
			start_one(started);
		if (!reported && started == opt.count && active == 0) {
			printf("authenticated=%u failed=%u elapsed_ms=%.0f\n", authed, failed,
			       now_ms() - t0);
			fflush(stdout);
			reported = true;
		}
		int n = epoll_wait(ep, evs, ARRAY_SIZE(evs), 1000);
		for (int k = 0; k < n; k++)
			event_on(evs[k].data.u32);
	}
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	terms = calloc(opt.count, sizeof(*terms));
	ep = epoll_create1(0);
	if (terms == NULL || ep < 0) {
		perror("idleterms");
		return 1;
	}
	run();
	fprintf(stderr,
		"idleterms: %u authenticated, %u failed, %u closed by the server while idle\n",
		authed, failed, idle_closed);
	for (unsigned i = 0; i < started; i++) {
		SSL_free(terms[i].ssl);
		if (terms[i].fd >= 0)
			close(terms[i].fd);
	}
	free(terms);
	SSL_CTX_free(ctx);
	return failed == 0 && idle_closed == 0 ? 0 : 1;
}
