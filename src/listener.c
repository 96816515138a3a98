/*
 * listener.c - the listening sockets.
 *
 * Terminals authenticate with certificates from the configured CA (mutual
 * TLS, 1.2 or 1.3; the context is tls_server.c's).  The plain-TCP
 * listener exists for legacy terminals and is off unless listen.plain is
 * set.
 */
#include "hoursd.h"
#include "server.h"
#include "conf.h"
#include "log.h"
#include "proxy.h"

#include <event2/listener.h>

/* A listener named in listen.proxy_protocol reads the balancer's header first (proxy.c). */
static void accepted(struct server *srv, evutil_socket_t fd, struct sockaddr *sa, int salen,
		     bool tls)
{
	if (proxy_setting_has(srv->conf->proxy_protocol, tls ? "tls" : "plain"))
		proxy_wait(srv, fd, sa, salen, tls);
	else
		conn_accept(srv, fd, sa, salen, tls);
}

static void on_accept_tls(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
			  int salen, void *arg)
{
	accepted(arg, fd, sa, salen, true);
}

static void on_accept_plain(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
			    int salen, void *arg)
{
	accepted(arg, fd, sa, salen, false);
}

static void on_listen_error(struct evconnlistener *l, void *arg)
{
	int e = EVUTIL_SOCKET_ERROR();
	/* EMFILE and friends: log and carry on; the listener keeps trying. */
	log_error("accept failed: %s", evutil_socket_error_to_string(e));
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
}
