/*
 * listener.c - the listening sockets.
 *
 * Terminals authenticate with certificates from the configured CA (mutual
 * TLS, 1.2 or 1.3; the context is tls_server.c's).  The plain-TCP
 * listener exists for legacy terminals and is off unless listen.plain is
 * set.
 *
 * At the descriptor limit accept() fails at once, again and again: every
 * listener (the admin and readiness ones too) is paused for a moment
 * instead, and one line says so per pause interval.
 * connection.fd_reserve descriptors are never given to terminals, so that
 * the database connections, the pusher and the HTTP listeners still find
 * one.
 */
#include "hoursd.h"
#include "listener.h"
#include "server.h"
#include "conn.h"
#include "conf.h"
#include "log.h"
#include "proxy.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <sys/resource.h>

#define PAUSE_MS 250   /* accepting again after this, the limit permitting */
#define PAUSE_LOG_S 10 /* a line at most this often while it lasts */

static struct {
	struct server *srv; /* the error callback's: evhttp's listeners carry evhttp's argument */
	struct event *resume;
	bool paused;
	rlim_t limit;			   /* RLIMIT_NOFILE's soft limit at start */
	time_t logged;			   /* when the last line was written */
	unsigned pauses, errors, reserved; /* since then */
	int last_err;
} guard;

/*
 * The terminal listeners; the HTTP ones (admin, readiness) too when
 * `http`: when an accept failed for want of descriptors.  A pause begun by
 * connection.fd_reserve leaves them on, the reserve being theirs.
 */
static void set_enabled(struct server *srv, bool on, bool http)
{
	struct evconnlistener *l[] = {srv->tls_listener, srv->plain_listener,
				      http ? srv->admin_listener : NULL,
				      http ? srv->readiness_listener : NULL};
	for (size_t i = 0; i < ARRAY_SIZE(l); i++) {
		if (l[i] == NULL)
			continue;
		if (on)
			evconnlistener_enable(l[i]);
		else
			evconnlistener_disable(l[i]);
	}
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	guard.paused = false;
	set_enabled(arg, true, true);
}

static void pause_log(const struct server *srv)
{
	time_t now = time(NULL);
	if (now - guard.logged < PAUSE_LOG_S)
		return;
	guard.logged = now;
	log_error("descriptor limit: accepting paused %u time(s) in the last %d s (%u accept "
		  "failure(s), last: %s; %u connection(s) refused to keep connection.fd_reserve "
		  "= %u of %llu descriptors free); %u terminal connections open",
		  guard.pauses, PAUSE_LOG_S, guard.errors,
		  guard.last_err ? evutil_socket_error_to_string(guard.last_err) : "none",
		  guard.reserved, srv->conf->fd_reserve, (unsigned long long)guard.limit,
		  conn_count());
	guard.pauses = guard.errors = guard.reserved = 0;
}

/*
 * The descriptor limit was reached (err: the accept's errno, 0 when the
 * reserve refused one): stop accepting on every listener for a moment.
 */
static void pause_all(struct server *srv, int err)
{
	if (err) {
		guard.errors++;
		guard.last_err = err;
		srv->st.accept_errors++;
	} else {
		guard.reserved++;
		srv->st.refused_fd_reserve++;
	}
	if (!guard.paused) {
		guard.paused = true;
		guard.pauses++;
		srv->st.accept_pauses++;
		set_enabled(srv, false, err != 0);
		if (guard.resume == NULL)
			guard.resume = evtimer_new(srv->base, on_resume, srv);
		struct timeval tv = {0, PAUSE_MS * 1000};
		if (guard.resume)
			evtimer_add(guard.resume, &tv);
	} else if (err) {
		/*
		 * An HTTP listener's accept failed during a pause the reserve began:
		 * it pauses too, whoever began the pause, instead of spinning on its
		 * failing accept() until the pause ends.
		 */
		set_enabled(srv, false, true);
	}
	pause_log(srv);
}

/* An accepted descriptor eats into connection.fd_reserve: true when it must be refused. */
static bool fd_reserved(const struct server *srv, evutil_socket_t fd)
{
	/* accept() gives the lowest free descriptor: those below fd are all in use. */
	return guard.limit != RLIM_INFINITY && (rlim_t)fd + srv->conf->fd_reserve >= guard.limit;
}

static void accept_one(struct server *srv, evutil_socket_t fd, struct sockaddr *sa, int salen,
		       bool tls)
{
	if (fd_reserved(srv, fd)) {
		evutil_closesocket(fd);
		pause_all(srv, 0);
		return;
	}
	/*
	 * A listener named in listen.proxy_protocol reads the balancer's header
	 * first (proxy.c); those waiting for it count in connection.max_connections.
	 */
	unsigned most = srv->conf->max_connections;
	if (proxy_setting_has(srv->conf->proxy_protocol, tls ? "tls" : "plain")) {
		if (most && conn_count() + srv->proxy_waiting >= most) {
			srv->st.refused_max_connections++;
			evutil_closesocket(fd);
			return;
		}
		proxy_wait(srv, fd, sa, salen, tls, srv->conf->handshake_timeout_s * 1000,
			   conn_accept);
	} else {
		conn_accept(srv, fd, sa, salen, tls, 0);
	}
}

static void on_accept_tls(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
			  int salen, void *arg)
{
	accept_one(arg, fd, sa, salen, true);
}

static void on_accept_plain(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
			    int salen, void *arg)
{
	accept_one(arg, fd, sa, salen, false);
}

/*
 * Any listener's accept failed.  Not arg: on the HTTP listeners it is
 * evhttp's own (libevent passes the accept callback's argument).
 */
static void on_listen_error(struct evconnlistener *l, void *arg)
{
	int e = EVUTIL_SOCKET_ERROR();
	if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
		pause_all(guard.srv, e);
		return;
	}
	/* Other errors (ECONNABORTED...) are one connection's: carry on. */
	log_warn("accept failed: %s", evutil_socket_error_to_string(e));
}

void listeners_guard(struct server *srv, struct evconnlistener *http, bool readiness)
{
	if (readiness)
		srv->readiness_listener = http;
	else
		srv->admin_listener = http;
	guard.srv = srv;
	evconnlistener_set_error_cb(http, on_listen_error);
}

static struct evconnlistener *listen_on(struct server *srv, const char *addr, bool tls, char *err,
					size_t errlen)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &len) != 0) {
		snprintf(err, errlen, "cannot parse listen address %s", addr);
		return NULL;
	}
	struct evconnlistener *l = evconnlistener_new_bind(
		srv->base, tls ? on_accept_tls : on_accept_plain, srv,
		LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 1024,
		(struct sockaddr *)&ss, len);
	if (l == NULL) {
		snprintf(err, errlen, "cannot listen on %s: %s", addr,
			 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		return NULL;
	}
	evconnlistener_set_error_cb(l, on_listen_error);
	log_info("listening on %s (%s%s)", addr,
		 tls ? "TLS, client certificates required" : "plain TCP, legacy terminals",
		 proxy_setting_has(srv->conf->proxy_protocol, tls ? "tls" : "plain")
			 ? "; PROXY protocol header first"
			 : "");
	return l;
}

bool listeners_start(struct server *srv, char *err, size_t errlen)
{
	struct rlimit rl;
	guard.srv = srv;
	guard.limit = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : RLIM_INFINITY;
	srv->tls_listener = listen_on(srv, srv->conf->listen_tls, true, err, errlen);
	if (srv->tls_listener == NULL)
		return false;
	if (srv->conf->listen_plain) {
		srv->plain_listener = listen_on(srv, srv->conf->listen_plain, false, err, errlen);
		if (srv->plain_listener == NULL) {
			listeners_stop(srv);
			return false;
		}
	}
	return true;
}

void listeners_stop(struct server *srv)
{
	if (srv->tls_listener)
		evconnlistener_free(srv->tls_listener);
	if (srv->plain_listener)
		evconnlistener_free(srv->plain_listener);
	srv->tls_listener = srv->plain_listener = NULL;
	proxy_wait_close_all();
	if (guard.resume)
		event_free(guard.resume);
	guard.resume = NULL;
	guard.paused = false;
}
