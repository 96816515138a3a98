/*
 * conn.h - a terminal connection, shared by conn.c (transport, framing,
 * the JT/T 808 core), timing.c (the timing-training messages, around
 * lesson.c) and command.c (the platform's commands).
 */
#ifndef HOURSD_CONN_H
#define HOURSD_CONN_H

#include "hoursd.h"
#include "jtx.h"
#include "lesson.h"
#include "log.h"
#include "reasons.h"
#include "ingest.h"
#include "db.h"

#include <time.h>

enum conn_state { CS_HANDSHAKE, CS_CONNECTED, CS_REGISTERED, CS_AUTHENTICATED, CS_CLOSED };
enum term_state { TERM_NONE, TERM_LOOKING, TERM_FOUND, TERM_UNKNOWN };

struct conn {
	struct conn *prev, *next;
	struct server *srv;
	struct bufferevent *bev;
	enum conn_state state;
	enum term_state term;
	struct terminal t; /* t.sign_cert_pem is not kept */
	bool tls;
	bool reading;
	bool asking;	       /* a query this connection's next frame depends on is out */
	bool terminal_counted; /* counted among its terminal's authenticated connections */
	char host[46]; /* the peer's address without the port: failed authentications count by it */
	char peer[64];
	char phone[21]; /* normalized terminal number: the certificate's, or the first frame's */
	uint8_t cert_sha256[32];
	/* Answers copy the header form the terminal last used. */
	uint8_t layout; /* enum jt808_layout */
	uint8_t version;
	char hdr_phone[JT808_PHONE_MAX + 1];
	uint16_t out_serial;
	uint16_t ext_serial; /* of the extension messages we start (commands) */
	unsigned refs;
	unsigned inflight; /* frames waiting for their commit */
	uint64_t rx_pos;   /* stream offset of the input buffer's first byte */
	unsigned warn_logged,
		warn_suppressed;   /* warning lines this minute, and those not written */
	time_t deadline;	   /* CLOCK_MONOTONIC seconds: closed unless a frame (or the
				      handshake, or the authentication) comes first */
	struct jt808_reasm *reasm; /* NULL until the first piece of a sub-packaged message */
	/* The last message sent in pieces, kept for the terminal's request of missing ones. */
	struct {
		uint8_t *body;
		size_t len;
		uint16_t msg_id, first_serial, total;
	} split;
	/* The registry's facts and the lesson open on the terminal; NULL until
	 * the first timing message (timing.c). */
	struct lesson *lesson;
};

/* An answer owed after a commit. */
struct pending_ack {
	struct conn *c;
	uint16_t serial, msg_id; /* the JT/T 808 frame answered */
	uint16_t answer_id;	 /* 0: 0x8001; else the 0x8900 timing answer to send */
	uint16_t ext_serial;
	bool accepted;	    /* the verdict hoursd gave (a resend takes the stored one) */
	bool is_record;	    /* a training record: counted by its final verdict */
	uint8_t part;	    /* a student login: the part its answer reports progress for */
	enum reason reason; /* hoursd's reason code, R_NONE when accepted */
	char terminal_no[JTX_TERMINAL_NO_LEN + 1];
	char person_no[JTX_PERSON_NO_LEN + 1];
	struct timespec received;
};

/*
 * A line about c.  Warnings and errors are limited to
 * connection.warnings_per_min per connection; the janitor writes how many
 * were not written.
 */
void conn_log(const struct conn *c, enum log_level lvl, const char *fmt, ...) PRINTF(3, 4);
void conn_send_frame(struct conn *c, uint16_t msg_id, const uint8_t *body, size_t len);
void conn_send_ack(struct conn *c, uint16_t serial, uint16_t msg_id, uint8_t result);
/* A new pending answer for frame m, holding a reference on c; pass it to a store_add_*. */
struct pending_ack *conn_pending(struct conn *c, const struct jt808_msg *m);
/* The store callback for pending answers. */
void conn_committed(void *arg, enum ingest_outcome o);

/* For command.c: a reference held across a query; the connection of a terminal. */
void conn_hold(struct conn *c);
void conn_release(struct conn *c);
bool conn_is_open(const struct conn *c);
struct conn *conn_find_authenticated(int64_t terminal_id);
bool conn_any_authenticated(void);
uint16_t conn_next_ext_serial(struct conn *c);

/*
 * timing.c: a query the connection's next frames wait for (reading pauses
 * until its answer); the callback calls conn_answered() first (false: the
 * connection closed meanwhile) and conn_ask_done() last.
 */
void conn_ask(struct conn *c, const char *sql, int n, const char *const *v, db_result_fn fn,
	      void *arg);
bool conn_answered(struct conn *c);
void conn_ask_done(struct conn *c);

/* timing.c: the terminal was looked up (t valid during the call); a 0x0900 message. */
void timing_restore(struct conn *c, const struct terminal *t);
void timing_handle(struct conn *c, const struct jt808_msg *m);

#endif
