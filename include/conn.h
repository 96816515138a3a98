/*
 * conn.h - the terminal connections (conn.c): their life on the loop, the
 * services modules above conn.c use, and what conn.c hands up.
 *
 * conn.c decodes the JT/T 808 core itself.  A message it does not own
 * goes to the handler set for it at start (conn_set_handlers: the
 * authentication to auth.c, 0x0900 to timing.c), which gives back one
 * verdict (struct conn_verdict) that conn.c carries out: answer now,
 * store rows and answer after their commit, or first ask the database.
 * conn.c names no module above it.
 */
#ifndef HOURSD_CONN_H
#define HOURSD_CONN_H

#include "hoursd.h"
#include "ingest.h"
#include "jt808.h"
#include "jtx.h"
#include "log.h"
#include "reasons.h"

#include <event2/util.h>
#include <openssl/ssl.h>
#include <time.h>

struct server;
struct conn;
struct terminal;
typedef struct pg_result PGresult;

/* ---- the set of connections ---- */

/* accepted_ms: CLOCK_MONOTONIC ms of the accept (before a PROXY header); 0: now. */
void conn_accept(struct server *srv, evutil_socket_t fd, const struct sockaddr *sa, int salen,
		 bool tls, int64_t accepted_ms);
/* The store drained below its low-water mark: let paused connections read. */
void conn_resume_all(void *srv);
/* Stop reading every connection (drain on shutdown). */
void conn_pause_all(struct server *srv);
void conn_close_all(const char *reason);
/* The CRLs changed: close connections whose TLS or signing certificate they revoke. */
void conn_close_revoked(struct server *srv, STACK_OF(X509_CRL) * crls);
/* Expire sub-package reassembly, close connections past their deadline; once a second. */
void conn_janitor(time_t now);
unsigned conn_count(void);
/* Frames read from open connections and not answered yet; connections
 * whose answers are not all written out. */
void conn_unanswered(unsigned *frames, unsigned *unsent);

/* A connection's state; an open one is in one of the first CONN_STATES. */
enum conn_state { CS_HANDSHAKE, CS_CONNECTED, CS_REGISTERED, CS_AUTHENTICATED, CS_CLOSED };
enum { CONN_STATES = CS_CLOSED };
/* Open connections by state (the admin listener's). */
void conn_count_by_state(unsigned out[CONN_STATES]);

/* ---- one connection, for the modules above (command.c) ---- */

/*
 * A line about c.  Every line, whatever its level, is limited to
 * connection.lines_per_min per connection, warnings and errors also to
 * connection.warnings_per_min; the janitor writes how many were not
 * written.
 */
void conn_log(const struct conn *c, enum log_level lvl, const char *fmt, ...) PRINTF(3, 4);
/* A frame to the terminal, in the layout it uses (sub-packaged when long). */
void conn_send_frame(struct conn *c, uint16_t msg_id, const uint8_t *body, size_t len);
/* A reference held across a query: c stays valid (maybe closed) until released. */
void conn_hold(struct conn *c);
void conn_release(struct conn *c);
bool conn_is_open(const struct conn *c);
/* The registry's snapshot of the connection's terminal (looked up: valid). */
const struct terminal *conn_terminal(const struct conn *c);
struct conn *conn_find_authenticated(int64_t terminal_id);
bool conn_any_authenticated(void);
/* The serial of the next extension message we start (a command). */
uint16_t conn_next_ext_serial(struct conn *c);

/* ---- what conn.c hands up ---- */

/* A message handed up, and what its handler may read of the connection. */
struct conn_msg {
	struct conn *c;		   /* for the services above */
	const struct jt808_msg *m; /* after a question: the header only, body NULL */
	struct server *srv;	   /* read: conf, sigs, syllabus, sites; counted in: st */
	const struct terminal *t;  /* the registry's snapshot; NULL: not in the registry */
	const char *host;	   /* the peer's address without the port */
	void **state;		   /* the handler's own, on this connection; free()d with it */
};

/* The answer owed after a commit: 0x8001, or a timing answer in 0x8900. */
struct conn_answer {
	uint16_t answer_id; /* 0: 0x8001; else the 0x8900 timing answer to send */
	uint16_t ext_serial;
	bool accepted;	    /* the verdict hoursd gave (a resend takes the stored one) */
	bool is_record;	    /* a training record: counted by its final verdict */
	uint8_t part;	    /* a student login: the part its answer reports progress for */
	enum reason reason; /* hoursd's reason code, R_NONE when accepted */
	char terminal_no[JTX_TERMINAL_NO_LEN + 1];
	char person_no[JTX_PERSON_NO_LEN + 1];
};

/* What conn.c does with a message a handler judged. */
enum conn_act {
	CONN_NONE,	   /* nothing more: the lines only */
	CONN_ACK,	   /* answer 0x8001 with .result */
	CONN_SEND,	   /* send the frame .send_id, .send */
	CONN_STORE,	   /* .store the rows; .answer after their commit */
	CONN_ASK,	   /* .sql first, reading paused; .asked gives the verdict on its answer */
	CONN_AUTHENTICATE, /* the terminal proved itself: authenticated (or refused by a limit) */
	CONN_CLOSE,	   /* answer 0x8001 with .result, then close for .why */
};

struct conn_verdict;

/*
 * CONN_STORE: queue the message's rows (ingest, or a statement of the
 * handler's); done(arg, outcome) once, after their commit.
 */
typedef void (*conn_store_fn)(const struct conn_msg *in, const struct conn_verdict *v,
			      ingest_done_fn done, void *arg);
/* CONN_ASK: res as db_result_fn has it; fills v as a handler does. */
typedef void (*conn_asked_fn)(const struct conn_msg *in, void *arg, const PGresult *res,
			      struct conn_verdict *v);

#define CONN_PARAMS 5
#define CONN_PARAM_LEN 32

/*
 * A handler's verdict, carried out by conn.c at once: the lines first
 * (conn_log), then .act.  Its pointers need to live until then only.
 */
struct conn_verdict {
	enum conn_act act;
	uint8_t result;	 /* CONN_ACK, CONN_CLOSE: the 0x8001 result */
	const char *why; /* CONN_CLOSE */
	uint16_t send_id;
	size_t send_len;
	uint8_t send[256];	   /* CONN_SEND */
	conn_store_fn store;	   /* CONN_STORE */
	const void *rows;	   /* the handler's, for .store */
	struct conn_answer answer; /* CONN_STORE */
	const char *sql;	   /* CONN_ASK */
	conn_asked_fn asked;	   /* CONN_ASK */
	void *arg; /* CONN_ASK: NULL or one malloc'd block, free()d by conn.c after .asked */
	/* CONN_ASK's parameters, or .store's */
	int nparams;
	char param[CONN_PARAMS][CONN_PARAM_LEN];
	struct log_deferred lines;
};

typedef void (*conn_msg_fn)(const struct conn_msg *in, struct conn_verdict *v);
/* A terminal authenticated on this instance. */
typedef void (*conn_auth_fn)(struct server *srv, int64_t terminal_id);

struct conn_handler {
	uint16_t msg_id;
	bool any_state; /* handed up before authentication too (the authentication itself) */
	conn_msg_fn fn;
};

/*
 * Set once at start (main.c): the handlers of the messages conn.c does not
 * own (kept, not copied), and who hears of an authentication.  Without a
 * handler a message is answered "not supported" (before authentication:
 * refused).
 */
void conn_set_handlers(const struct conn_handler *h, size_t n, conn_auth_fn auth);

#endif
