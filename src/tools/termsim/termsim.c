/*
 * termsim.c - simulated timing terminals: by default the national timing
 * layout over plain TCP, as real timing terminals speak it; the 2013 and
 * 2019 headers and (mutual) TLS on request.
 *
 * Used by the demo (--loop), the integration tests and the load generator.
 * Each terminal is one connection: register (0x0100), authenticate
 * (0x0102: the auth code, or in the timing layout a signature with the key
 * the registration answer delivered, timing.c), heartbeats
 * (0x0002), then location reports (0x0200, or 0x0704 batches), then with
 * --lesson a timing-training lesson (lesson.c),
 * paced by --rate and by a window of unanswered frames.  Every frame
 * waits for its answer (0x8001 matched by answered serial and ID; 0x8900
 * by extended ID and serial); at the end a key=value summary, totals over
 * all terminals (--terminals C, one event loop), goes to stdout.  Exit: 0
 * all answered as expected, 1 a failure or an early close, 2 usage,
 * 3 timeout (no progress for --timeout s).
 */
#include "hoursd.h"
#include "jt808.h"
#include "log.h"
#include "sig.h"
#include "termsim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define SIM_READ_HIGH (64 * 1024) /* input bound before we stop reading */

/* ---- connection events ---- */

/*
 * Log what OpenSSL and the socket say about a failed connection.  Entries
 * of library 0 are libevent's copies of SSL_get_error() codes: noise.
 */
static void log_conn_errors(struct sim *s, const char *what, int err)
{
	unsigned long e;
	char buf[256];

	while ((e = bufferevent_get_openssl_error(s->bev)) != 0) {
		if (ERR_GET_LIB(e) == 0)
			continue;
		ERR_error_string_n(e, buf, sizeof(buf));
		log_error("%s: TLS: %s", what, buf);
	}
	if (s->ssl && SSL_get_verify_result(s->ssl) != X509_V_OK)
		log_error("%s: server certificate rejected: %s", what,
			  X509_verify_cert_error_string(SSL_get_verify_result(s->ssl)));
	if (err != 0)
		log_error("%s: %s", what, evutil_socket_error_to_string(err));
}

/* The connection ended before we were done: say why, as far as we know. */
static void on_closed(struct sim *s, short what)
{
	int err = (what & BEV_EVENT_ERROR) ? EVUTIL_SOCKET_ERROR() : 0;

	log_conn_errors(s, s->st == ST_CONNECTING ? "TLS handshake failed" : "connection error",
			err);
	if (s->ssl && SSL_get_verify_result(s->ssl) != X509_V_OK) {
		s->tls_failed = true;
		return;
	}
	if (s->st == ST_CONNECTING || s->acks == 0)
		log_error("%sconnection closed by server while %s%s", termsim_who(s),
			  termsim_state_name(s->st),
			  s->o->plain ? "" : " (client certificate refused?)");
	else
		log_error("%sconnection closed by server while %s (%u frames unanswered)",
			  termsim_who(s), termsim_state_name(s->st), s->inflight);
	s->closed = true;
}

static void on_connected(struct sim *s)
{
	log_info("%sconnected to %s:%s%s", termsim_who(s), s->o->host, s->o->port,
		 s->o->plain ? " (plain)" : " (TLS)");
	if (!s->o->no_register)
		termsim_register(s);
	else
		termsim_start_auth(s);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct sim *s = arg;

	if (what & BEV_EVENT_CONNECTED) {
		on_connected(s);
		return;
	}
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) || s->st == ST_DONE)
		return;
	on_closed(s, what);
	termsim_finish(s);
}

static void on_idle(evutil_socket_t fd, short what, void *arg)
{
	struct sim *s = arg;

	if (s->st == ST_DONE)
		return;
	log_error("%stimeout: no progress for %d s while %s, %u frames unanswered", termsim_who(s),
		  s->o->timeout_s, termsim_state_name(s->st), s->inflight);
	s->timed_out = true;
	termsim_finish(s);
}

static void on_pace(evutil_socket_t fd, short what, void *arg)
{
	termsim_pump(arg);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct run *r = arg;

	log_info("signal %d, stopping", (int)sig);
	r->interrupted = true;
	for (unsigned i = 0; i < r->nsims; i++)
		termsim_finish(&r->sims[i]);
}

static SSL_CTX *tls_client_ctx(const struct opts *o, const char *cert, const char *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(ctx, o->ca, NULL) != 1) {
		log_error("cannot load CA file %s", o->ca);
		goto fail;
	}
	if (cert && SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		log_error("cannot load certificate %s", cert);
		goto fail;
	}
	if (key && (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(ctx) != 1)) {
		log_error("cannot load key %s (or it does not match the certificate)", key);
		goto fail;
	}
	return ctx;
fail:
	ERR_print_errors_fp(stderr);
	SSL_CTX_free(ctx);
	return NULL;
}

/* The name checked in the server certificate: --host unless it is an IP address. */
static const char *tls_server_name(const char *host)
{
	unsigned char addr[16];

	if (inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1)
		return "localhost";
	return host;
}

/* Wrap the connected socket; for TLS the handshake starts now. */
static struct bufferevent *make_bev(struct sim *s, evutil_socket_t fd)
{
	const char *name = tls_server_name(s->o->host);
	int opts = BEV_OPT_CLOSE_ON_FREE;

	if (s->o->plain)
		return bufferevent_socket_new(s->run->base, fd, opts);
	s->ssl = SSL_new(s->ctx);
	if (!s->ssl || SSL_set1_host(s->ssl, name) != 1 ||
	    SSL_set_tlsext_host_name(s->ssl, name) != 1)
		return NULL;
	return bufferevent_openssl_socket_new(s->run->base, fd, s->ssl, BUFFEREVENT_SSL_CONNECTING,
					      opts);
}

static bool start_bev(struct sim *s)
{
	s->bev = make_bev(s, s->fd);
	if (!s->bev) {
		log_error("%scannot set up the connection", termsim_who(s));
		return false;
	}
	s->fd = -1; /* the bufferevent closes it now */
	if (!s->o->plain)
		bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
	bufferevent_setcb(s->bev, termsim_on_read, NULL, on_event, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, SIM_READ_HIGH);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	if (s->o->plain)
		on_connected(s);
	return true;
}

/*
 * The TCP connect is ours (not bufferevent_socket_connect) so that a
 * refused connection is told apart from a server closing the TLS session.
 */
static void on_tcp_connect(evutil_socket_t fd, short what, void *arg)
{
	struct sim *s = arg;
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err != 0) {
		log_error("%sconnect to %s:%s failed: %s", termsim_who(s), s->o->host, s->o->port,
			  strerror(err));
		s->connect_failed = true;
		termsim_finish(s);
		return;
	}
	if (!start_bev(s)) {
		s->connect_failed = true;
		termsim_finish(s);
	}
}

/* Frames are small and latency is measured: no Nagle delay. */
static void set_nodelay(evutil_socket_t fd)
{
	int one = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
		log_warn("TCP_NODELAY: %s", strerror(errno));
}

static bool start_connect(struct sim *s, const struct evutil_addrinfo *ai)
{
	s->fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
	if (s->fd < 0 || evutil_make_socket_nonblocking(s->fd) != 0) {
		log_error("%ssocket: %s", termsim_who(s), strerror(errno));
		return false;
	}
	set_nodelay(s->fd);
	if (connect(s->fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
		log_error("%sconnect to %s:%s failed: %s", termsim_who(s), s->o->host, s->o->port,
			  strerror(errno));
		return false;
	}
	s->conn_ev = event_new(s->run->base, s->fd, EV_WRITE, on_tcp_connect, s);
	return s->conn_ev && event_add(s->conn_ev, NULL) == 0;
}

/* Start every terminal's connection; false when none could start. */
static bool run_connect(struct run *r)
{
	struct evutil_addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct evutil_addrinfo *ai = NULL;
	unsigned started = 0;
	int rc = evutil_getaddrinfo(r->o.host, r->o.port, &hints, &ai);

	if (rc != 0) {
		log_error("cannot resolve %s:%s: %s", r->o.host, r->o.port,
			  evutil_gai_strerror(rc));
		return false;
	}
	for (unsigned i = 0; i < r->nsims; i++) {
		struct sim *s = &r->sims[i];

		termsim_touch(s);
		if (start_connect(s, ai)) {
			started++;
		} else {
			s->connect_failed = true;
			termsim_finish(s);
		}
	}
	evutil_freeaddrinfo(ai);
	return started > 0;
}

/* pat with every "{}" replaced by digits (malloc'd); NULL for NULL. */
static char *subst(const char *pat, const char *digits)
{
	size_t n = 1, dl = strlen(digits);
	char *out, *w;

	if (!pat)
		return NULL;
	for (const char *p = pat; *p; p++)
		n += (p[0] == '{' && p[1] == '}') ? dl : 1;
	if (!(out = malloc(n)))
		return NULL;
	for (w = out; *pat;) {
		if (pat[0] == '{' && pat[1] == '}') {
			memcpy(w, digits, dl);
			w += dl;
			pat += 2;
		} else {
			*w++ = *pat++;
		}
	}
	*w = '\0';
	return out;
}

static bool same_path(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* "T" and the phone, zero-padded to 15 digits (its last 15 when longer). */
static void default_terminal_no(const char *phone, char out[JTX_TERMINAL_NO_LEN + 1])
{
	size_t n = strlen(phone), w = JTX_TERMINAL_NO_LEN - 1;

	if (n > w) {
		phone += n - w;
		n = w;
	}
	out[0] = 'T';
	memset(out + 1, '0', w - n);
	memcpy(out + 1 + w - n, phone, n + 1);
}

/* Terminal i's numbers: the timing terminal number (until an answer names one) and IMEI. */
static bool sim_numbers(const struct opts *o, struct sim *s)
{
	if (o->l.terminal_no) {
		if (!termsim_number_plus(o->l.terminal_no, s->index, s->terminal_no,
					 sizeof(s->terminal_no)))
			return false;
	} else {
		default_terminal_no(s->phone_raw, s->terminal_no);
	}
	if (o->imei)
		return termsim_number_plus(o->imei, s->index, s->imei, sizeof(s->imei));
	termsim_default_imei(s->phone_raw, s->imei);
	return true;
}

/* Terminal i's phone (--phone plus i, as many digits), numbers and file names. */
static bool sim_identity(struct run *r, struct sim *s)
{
	const struct opts *o = &r->o;
	size_t want = jt808_phone_digits(o->layout), n;

	if (!termsim_number_plus(o->phone_raw, s->index, s->phone_raw, sizeof(s->phone_raw))) {
		log_error("--phone %s plus %u does not fit in as many digits", o->phone_raw,
			  s->index);
		return false;
	}
	n = strlen(s->phone_raw);
	memset(s->phone, '0', want - n);
	memcpy(s->phone + want - n, s->phone_raw, n + 1);
	if (!sim_numbers(o, s)) {
		log_error("terminal %u: --terminal-no or --imei plus %u overflows its digits",
			  s->index, s->index);
		return false;
	}
	s->cert = subst(o->cert, s->phone_raw);
	s->key = subst(o->key, s->phone_raw);
	s->sign_key = subst(termsim_sign_key_path(o), s->phone_raw);
	s->p12_out = subst(o->p12_out, s->phone_raw);
	return (!o->cert || s->cert) && (!o->key || s->key) &&
	       (!termsim_sign_key_path(o) || s->sign_key) && (!o->p12_out || s->p12_out);
}

/* The TLS context: terminal 0's again when the files are the same. */
static bool sim_tls(struct run *r, struct sim *s)
{
	struct sim *first = &r->sims[0];

	if (r->o.plain)
		return true;
	if (s != first && same_path(s->cert, first->cert) && same_path(s->key, first->key)) {
		s->ctx = first->ctx;
		return SSL_CTX_up_ref(s->ctx) == 1;
	}
	s->ctx = tls_client_ctx(&r->o, s->cert, s->key);
	return s->ctx != NULL;
}

/* A key signs the lesson (unless --unsigned) and the timing authentication. */
static bool key_needed(const struct opts *o)
{
	return (o->l.minutes >= 0 && !o->l.unsigned_msgs) ||
	       (o->layout == JT808_LTIMING && !o->no_auth);
}

/* Load the signing key file, or share the previous terminal's when the file is the same. */
static bool sim_key(struct run *r, struct sim *s)
{
	struct sim *prev = s->index > 0 ? s - 1 : NULL;

	if (!s->sign_key || !key_needed(&r->o))
		return true;
	if (prev && prev->pkey && same_path(prev->sign_key, s->sign_key)) {
		s->pkey = prev->pkey;
		return EVP_PKEY_up_ref(s->pkey) == 1;
	}
	if (!(s->pkey = sig_load_key(s->sign_key))) {
		log_error("cannot load the signing key %s", s->sign_key);
		return false;
	}
	return true;
}

/* Pre-sign the lesson, unless the registration answer brings what it needs. */
static bool sim_lesson(struct run *r, struct sim *s)
{
	if (r->o.l.minutes < 0 || termsim_lesson_deferred(&r->o))
		return true;
	return termsim_lesson_prepare(s, s->pkey);
}

static bool sim_setup(struct run *r, struct sim *s)
{
	s->slots = calloc(65536, sizeof(*s->slots));
	s->idle_ev = evtimer_new(r->base, on_idle, s);
	s->pace_ev = evtimer_new(r->base, on_pace, s);
	if (!s->slots || !s->idle_ev || !s->pace_ev)
		return false;
	return sim_identity(r, s) && sim_tls(r, s) && sim_key(r, s) && sim_lesson(r, s);
}

static bool open_append(const char *path, FILE **f)
{
	if (path && !(*f = fopen(path, "a"))) {
		log_error("cannot open %s: %s", path, strerror(errno));
		return false;
	}
	return true;
}

static bool run_events(struct run *r)
{
	r->base = event_base_new();
	if (!r->base)
		return false;
	r->sigint_ev = evsignal_new(r->base, SIGINT, on_signal, r);
	r->sigterm_ev = evsignal_new(r->base, SIGTERM, on_signal, r);
	if (!r->sigint_ev || !r->sigterm_ev)
		return false;
	event_add(r->sigint_ev, NULL);
	event_add(r->sigterm_ev, NULL);
	return true;
}

/* Every terminal ready to connect, its lesson built and signed. */
static bool run_setup(struct run *r)
{
	bool ok = true;
	uint64_t t0 = termsim_now_us();

	r->nsims = r->active = (unsigned)r->o.terminals;
	r->sims = calloc(r->nsims, sizeof(*r->sims));
	r->lat_us = malloc(SIM_LAT_MAX * sizeof(*r->lat_us));
	r->rec_lat_us = malloc(SIM_LAT_MAX * sizeof(*r->rec_lat_us));
	if (!r->sims || !r->lat_us || !r->rec_lat_us || !run_events(r))
		return false;
	if (!open_append(r->o.acked_file, &r->acked) ||
	    !open_append(r->o.l.records_file, &r->records))
		return false;
	for (unsigned i = 0; i < r->nsims; i++) {
		struct sim *s = &r->sims[i];

		*s = (struct sim){.run = r, .o = &r->o, .index = i, .fd = -1};
		s->reg_result = s->auth_result = s->unknown_result = -1;
		s->auth_replay_result = -1;
	}
	for (unsigned i = 0; i < r->nsims && ok; i++)
		ok = sim_setup(r, &r->sims[i]);
	if (ok && r->o.l.minutes >= 0 && !termsim_lesson_deferred(&r->o))
		log_info("lesson messages of %u terminal(s) built and signed in %.1f ms", r->nsims,
			 (double)(termsim_now_us() - t0) / 1000.0);
	return ok;
}

static void free_event(struct event *ev)
{
	if (ev)
		event_free(ev);
}

static void sim_free(struct sim *s)
{
	if (s->bev)
		bufferevent_free(s->bev); /* frees the SSL too */
	else if (s->ssl)
		SSL_free(s->ssl);
	if (s->fd >= 0)
		evutil_closesocket(s->fd);
	SSL_CTX_free(s->ctx);
	free_event(s->conn_ev);
	free_event(s->idle_ev);
	free_event(s->pace_ev);
	termsim_lesson_free(s);
	termsim_dl_free(s);
	EVP_PKEY_free(s->pkey);
	free(s->slots);
	free(s->cert);
	free(s->key);
	free(s->sign_key);
	free(s->p12_out);
}

static void run_free(struct run *r)
{
	for (unsigned i = 0; r->sims && i < r->nsims; i++)
		sim_free(&r->sims[i]);
	free(r->sims);
	free_event(r->sigint_ev);
	free_event(r->sigterm_ev);
	if (r->base)
		event_base_free(r->base);
	if (r->acked)
		fclose(r->acked);
	if (r->records)
		fclose(r->records);
	free(r->lat_us);
	free(r->rec_lat_us);
}

/* C terminals need C descriptors: take the hard limit. */
static void raise_nofile(unsigned want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want + 64)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want + 64)
		log_warn("descriptor limit %llu is low for %u terminals",
			 (unsigned long long)rl.rlim_cur, want);
}

int main(int argc, char **argv)
{
	static struct run run;
	struct run *r = &run;
	log_set_prefix("termsim");
	int rc = termsim_parse_opts(&r->o, argc, argv);

	if (rc != 0)
		return rc < 0 ? EXIT_DONE : rc;
	if (r->o.verbose)
		log_set_level(HLOG_DEBUG);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile((unsigned)r->o.terminals);
	if (!run_setup(r)) {
		run_free(r);
		libevent_global_shutdown();
		return EXIT_USAGE;
	}
	r->t_start_us = termsim_now_us();
	if (run_connect(r)) {
		event_base_dispatch(r->base);
		rc = termsim_exit_code(r);
	} else {
		for (unsigned i = 0; i < r->nsims; i++)
			r->sims[i].connect_failed = true;
		rc = EXIT_FAIL;
	}
	termsim_summary(r);
	run_free(r);
	libevent_global_shutdown();
	return rc;
}
