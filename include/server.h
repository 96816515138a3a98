/*
 * server.h - the daemon's shared state: one per process, owned by main.
 */
#ifndef HOURSD_SERVER_H
#define HOURSD_SERVER_H

#include "hoursd.h"
#include "jt808.h"
#include "reasons.h"

#include <openssl/ssl.h>

struct event_base;
struct hconf;
struct db;
struct ingest;
struct judge;
struct chain;
struct evconnlistener;
struct sig_cache;
struct syllabus;
struct geo_set;
struct push;

/* Frames received, by message, or malformed (the admin listener's label). */
enum frame_type {
	FT_HEARTBEAT,
	FT_REGISTER,
	FT_AUTH,
	FT_LOCATION,
	FT_BATCH_LOCATION,
	FT_TRANSPARENT,
	FT_TERMINAL_ACK,
	FT_OTHER,
	FT_MALFORMED, /* not decoded: hoursd_bad_frames_total says why */
	FT__COUNT
};

/* Counters since start; read by the log summary and the admin listener. */
struct server_stats {
	uint64_t accepted, closed, tls_failures;
	/* Connections refused at accept or authentication, by the limit that refused them. */
	uint64_t refused_max_connections, refused_per_address, refused_per_terminal,
		refused_fd_reserve, refused_bad_frames, refused_preauth_answers,
		refused_throttled; /* bad_frames, preauth_answers: the closes; throttled: after */
	uint64_t accept_pauses, accept_errors; /* the descriptor limit reached */
	uint64_t deadline_handshake, deadline_auth, deadline_idle,
		deadline_write;	      /* connections closed */
	uint64_t warnings_suppressed; /* per-connection log lines not written */
	uint64_t out_bytes;	      /* answers queued and not yet written, all connections */
	uint64_t reasm_bytes, reasm_dropped; /* the reassembly budget: held now, dropped */
	uint64_t frames;		     /* every frame once: the sum of frames_by_type */
	uint64_t bad_frames[JT808_E__COUNT]; /* by reason */
	uint64_t oversize, junk_bytes;
	uint64_t number_mismatch, unknown_terminal, not_authenticated, unsupported;
	uint64_t registrations_ok, registrations_refused;
	uint64_t auth_ok, auth_failed, auth_throttled;
	uint64_t escaped_sums; /* frames taken under a terminal's escaped-sums quirk */
	uint64_t pieces_resent;
	uint64_t positions, acks_ok, acks_failed;
	uint64_t records_accepted, records_rejected, session_events, photos;
	uint64_t frames_by_type[FT__COUNT];
	uint64_t records_rejected_by_reason[R__COUNT]; /* R_NONE unused */
	/* logins refused by reason, and taken with a check of the registry flagged (flags) */
	uint64_t logins_refused_by_reason[R__COUNT], logins_flagged_by_reason[R__COUNT];
	/* push.c: attempts by outcome, packets failed by cause, the outbox as last counted */
	uint64_t push_accepted, push_duplicate, push_rejected, push_retry, push_error;
	uint64_t push_failed_rejected, push_failed_expired, push_failed_unbuildable;
	uint64_t push_failed_platform; /* national: errorcode 1 push.national_failed_max times */
	uint64_t outbox_waiting, outbox_oldest_s, outbox_failed; /* waiting: pending + sending */
	bool outbox_known;					 /* counted at least once */
	bool push_enabled;					 /* push.url is set */
	unsigned push_in_flight;
};

struct server {
	struct event_base *base;
	struct hconf *conf;
	struct db *db;		 /* ingest's first connection: look-ups, commands, the pusher */
	struct db *ingest_db[8]; /* ingest's connections (database.connections), db first */
	unsigned ningest_db;
	struct ingest *ingest; /* the first stage: rows as received, answered after commit */
	struct db *judge_db;   /* the judge's own connection */
	struct judge *judge;   /* the second stage: claims, caps, progress, packets */
	struct db *chain_db;   /* the audit chain's own connection */
	struct chain *chain;   /* the audit hash chain and its signed checkpoints */
	struct sig_cache *sigs;
	struct syllabus *syl;  /* rules.syllabus, swapped on reload */
	struct geo_set *sites; /* training sites, NULL until loaded */
	struct push *push;     /* the pusher (sends only while push.url is set) */
	SSL_CTX *tls;
	struct evconnlistener *tls_listener;
	struct evconnlistener *plain_listener;
	struct evconnlistener *admin_listener;	   /* evhttp's, paused with the others */
	struct evconnlistener *readiness_listener; /* the same, for listen.readiness */
	bool draining;
	unsigned proxy_waiting; /* accepted, still sending their PROXY header (proxy.c) */
	struct server_stats st;
};

#endif
