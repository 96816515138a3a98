/*
 * store.h - PostgreSQL: one asynchronous libpq connection on the event
 * loop, the group-commit batcher and the terminal registry look-ups.
 *
 * Rows wait in memory until a flush (batch_max_rows rows, or batch_max_ms
 * after the first row); one flush is one statement, hence one
 * transaction; every frame's callback runs after that commit.  When the
 * database is away the rows wait, nothing is acked, callers see
 * store_full() and stop reading, and the store reconnects with backoff and
 * writes the batch again (the inserts are idempotent).
 */
#ifndef HOURSD_STORE_H
#define HOURSD_STORE_H

#include "hoursd.h"
#include "jt808.h"
#include "jtx.h"

struct event_base;
struct hconf;
struct store;

/* A registered terminal, as the registry has it, with its open lesson. */
struct store_terminal {
	int64_t id;
	bool active;
	char auth_code[65];
	char terminal_no[JTX_TERMINAL_NO_LEN + 1]; /* "" when not registered */
	int64_t school_id;			   /* 0 when not assigned */
	char vehicle_class[4];			   /* of its vehicle, "" when unknown */
	uint8_t cert_sha256[32];
	int64_t cert_not_after;	   /* seconds since the epoch */
	const char *sign_cert_pem; /* valid during the callback only */
	uint8_t sign_cert_sha256[32];
	/* The lesson open at the last accepted logins, if any (0 = none). */
	char coach_no[JTX_PERSON_NO_LEN + 1];
	int64_t coach_login;
	char student_no[JTX_PERSON_NO_LEN + 1];
	char student_coach_no[JTX_PERSON_NO_LEN + 1];
	int64_t student_class_id;
	int64_t student_login;
	int64_t last_record; /* time of the last accepted record of that student login */
	/* Timing terminals: what registration must match ("" = anything), device quirks. */
	char imei[16];
	char factory_serial[8];
	bool escaped_sums; /* length and check code over the escaped bytes */
	bool rsa_raw;	   /* unpadded RSA signatures accepted */
};

/* What became of a frame's rows. */
enum store_outcome {
	STORE_FAILED,		  /* a permanent database error: answer failure */
	STORE_STORED,		  /* committed now (a record: accepted) */
	STORE_REJECTED,		  /* a record committed now, rejected by the database's checks */
	STORE_DUPLICATE,	  /* a record stored before, accepted then */
	STORE_DUPLICATE_REJECTED, /* a record stored before, rejected then */
	STORE_CONFLICT,		  /* another record under the same number: kept aside */
};

/*
 * Called once per queued frame, after the commit (or a permanent failure);
 * reason: the database's reason code with STORE_REJECTED, else NULL.
 */
typedef void (*store_done_fn)(void *arg, enum store_outcome o, const char *reason);

/* A login or logout, as stored in session_event. */
struct store_event {
	int64_t terminal_id;
	const char *kind; /* coach_login, coach_logout, student_login, student_logout */
	time_t event_time;
	const char *person_no;
	const char *coach_no;	  /* student login, else NULL */
	int64_t class_id;	  /* -1: none */
	const char *course_code;  /* NULL: none */
	int minutes, mileage_dkm; /* student logout, else -1 */
	const struct jt808_location *gnss;
	const char *reason; /* NULL: accepted */
	bool came_unsigned; /* came without a signature: stored with signed = false */
	uint16_t ext_serial;
	const uint8_t *raw;
	size_t raw_len;
};

/* A training record with its verdict. */
struct store_record {
	int64_t terminal_id;
	const struct jtx_record *rec;
	time_t session_login; /* 0: no open lesson */
	const char *reason;   /* NULL: accepted */
	bool came_unsigned;   /* came without a signature: stored with signed = false */
	const uint8_t *raw;
	size_t raw_len;
};
/* found is false for an unknown terminal; t is valid only during the call. */
typedef void (*store_terminal_fn)(void *arg, bool found, const struct store_terminal *t);
/* A caller's query: res is NULL when the database failed it; valid during the call only. */
typedef struct pg_result PGresult;
typedef void (*store_query_fn)(void *arg, const PGresult *res);
/* Called when the queue drops below half of store_high_water after being full. */
typedef void (*store_drain_fn)(void *arg);

struct store *store_new(struct event_base *base, const struct hconf *conf, store_drain_fn drain,
			void *drain_arg) MUSTCHECK;
void store_free(struct store *s);
/* Take the limits of a reloaded config (conninfo changes apply at the next reconnect). */
void store_reconfigure(struct store *s, const struct hconf *conf);

/* Queue the positions of one frame; done runs once, after their commit. */
void store_add_positions(struct store *s, int64_t terminal_id, const struct jt808_location *locs,
			 unsigned n, store_done_fn done, void *arg);
void store_add_event(struct store *s, const struct store_event *e, store_done_fn done, void *arg);
void store_add_record(struct store *s, const struct store_record *r, store_done_fn done, void *arg);
void store_add_photo(struct store *s, int64_t terminal_id, const struct jtx_photo_init *init,
		     const uint8_t *data, size_t len, store_done_fn done, void *arg);

/* Look a terminal up by its normalized number. */
void store_lookup_terminal(struct store *s, const char *phone, store_terminal_fn fn, void *arg);

/*
 * Run one parameterized statement (sql must outlive the call: static
 * text) ahead of the batches; fn gets its result.  A statement lost with
 * the connection is sent again after the reconnect.
 */
void store_query(struct store *s, const char *sql, int n, const char *const *values,
		 store_query_fn fn, void *arg);

/* Rows queued and not yet committed are at or above the high-water mark. */
bool store_full(const struct store *s);
/* Nothing queued, nothing in flight. */
bool store_idle(const struct store *s);
bool store_connected(const struct store *s);

struct store_stats {
	uint64_t batches, rows, reconnects, errors;
	unsigned queued_rows;
};
void store_get_stats(const struct store *s, struct store_stats *st);

/* "0013800000001" -> "13800000001"; "000" -> "0".  out needs 21 bytes. */
void store_phone_norm(const char *digits, char out[21]);

#endif
