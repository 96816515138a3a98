/*
 * proxy.h - the PROXY protocol (HAProxy's, versions 1 and 2) in front of
 * a terminal listener.
 *
 * Behind a load balancer in TCP mode every terminal seems to come from
 * the balancer's address; with the PROXY protocol the balancer writes
 * the terminal's real address in a header before the terminal's first
 * byte (before the TLS ClientHello on the TLS port).  hoursd reads it
 * only on the listeners named in listen.proxy_protocol: a header on any
 * other listener is a terminal's bad frame, and anyone who can reach a
 * PROXY listener directly can claim any address, so such a listener must
 * be reachable from the balancer only.
 *
 * proxy_parse() is pure (bytes in, an address or an error with its byte
 * position out); proxy_wait() reads the header off an accepted socket on
 * the loop and then hands the socket on (the listener's conn_accept())
 * with the real address, so everything conn.c does by address (logs, the failed
 * authentications per address) uses the terminal's.
 */
#ifndef HOURSD_PROXY_H
#define HOURSD_PROXY_H

#include "hoursd.h"

#include <sys/socket.h>

/* v1: at most 107 bytes with its CRLF; v2: 16 + the length it states, up to this. */
#define PROXY_V1_MAX 107
#define PROXY_MAX_HEADER 1040

enum proxy_result {
	PROXY_NEED, /* a valid beginning: read more */
	PROXY_OK,   /* a whole header: see struct proxy_header */
	PROXY_BAD,  /* not a PROXY header, or a broken one: close */
};

struct proxy_header {
	size_t len;  /* bytes of the header: the terminal's bytes start after them */
	int version; /* 1 or 2 */
	bool local;  /* v1 UNKNOWN, v2 LOCAL or UNSPEC: keep the socket's own address */
	struct sockaddr_storage src; /* the terminal's address when !local */
	socklen_t srclen;
};

/*
 * Parse the start of a connection's bytes.  PROXY_BAD with a reason and
 * its byte position in why; bytes beyond the header are not looked at.
 */
enum proxy_result proxy_parse(const uint8_t *buf, size_t len, struct proxy_header *h, char *why,
			      size_t whylen) MUSTCHECK;

/*
 * listen.proxy_protocol: the listeners ("plain", "tls") that read a
 * header, as a list separated by commas or spaces; "" is none.
 */
bool proxy_setting_valid(const char *setting, char *why, size_t whylen);
bool proxy_setting_has(const char *setting, const char *listener);

struct server;

/* Where a socket goes once its header is read: conn_accept(). */
typedef void (*proxy_accept_fn)(struct server *srv, int fd, const struct sockaddr *sa, int salen,
				bool tls, int64_t accepted_ms);

/*
 * The listener accepted fd from sa: read its PROXY header (within ms of
 * the accept: connection.handshake_timeout_s), then hand it on with the
 * terminal's address and the time of the accept, or log why and close
 * it.  Counted in srv->proxy_waiting meanwhile.
 */
#define PROXY_WAIT_MAX 4096
void proxy_wait(struct server *srv, int fd, const struct sockaddr *sa, int salen, bool tls,
		unsigned ms, proxy_accept_fn hand_on);
/* Close the sockets still waiting for their header (listeners stopping). */
void proxy_wait_close_all(void);

#endif
