/*
 * ingest.h - the first stage: rows as received, with the verdict hoursd
 * gave them, made durable in group commits; the terminal registry's
 * look-ups.
 *
 * Rows wait in memory until a flush (database.batch_max_rows rows, or
 * database.batch_max_ms after the first row); one flush is one statement
 * (sql/queries/daemon/ingest.sql), hence one transaction, on the ingest
 * connection (db.h); every frame's callback runs after that commit.  The
 * records accepted are queued for the judge (judge.h) in the same
 * transaction: no rule that needs the whole database delays an answer.
 * When the database is away the rows wait, nothing is answered, callers
 * see ingest_full() and stop reading, and the batch is written again
 * after the reconnect (every insert is idempotent).
 */
#ifndef HOURSD_INGEST_H
#define HOURSD_INGEST_H

#include "hoursd.h"
#include "jt808.h"
#include "jtx.h"
#include "terminal.h"

struct event_base;
struct hconf;
struct db;
struct ingest;
struct lesson_event;

/* What became of a frame's rows. */
enum ingest_outcome {
	INGEST_FAILED,		   /* a permanent database error: answer failure */
	INGEST_STORED,		   /* committed now, with the verdict hoursd gave */
	INGEST_DUPLICATE,	   /* a record stored before, accepted then */
	INGEST_DUPLICATE_REJECTED, /* a record stored before, rejected then */
	INGEST_CONFLICT,	   /* another record under the same number: kept aside */
};

/* Called once per queued frame, after the commit (or a permanent failure). */
typedef void (*ingest_done_fn)(void *arg, enum ingest_outcome o);

/* A login or logout, as stored in session_event: the lesson's event and its frame. */
struct ingest_event {
	int64_t terminal_id;
	const struct lesson_event *e;
	const char *reason; /* NULL: accepted */
	bool came_unsigned; /* came without a signature: stored with signed = false */
	uint16_t ext_serial;
	const uint8_t *raw;
	size_t raw_len;
};

/* A training record with its verdict. */
struct ingest_record {
	int64_t terminal_id;
	const struct jtx_record *rec;
	time_t session_login; /* 0: no open lesson */
	const char *reason;   /* NULL: accepted */
	bool came_unsigned;   /* came without a signature: stored with signed = false */
	const uint8_t *raw;
	size_t raw_len;
};
/* found is false for an unknown terminal; t is valid only during the call. */
typedef void (*ingest_terminal_fn)(void *arg, bool found, const struct terminal *t);
/* Called when the queue drops below half of store_high_water after being full. */
typedef void (*ingest_drain_fn)(void *arg);
/* Called after a commit that queued records for the judge. */
typedef void (*ingest_judge_fn)(void *arg);

/* The most connections ingest writes on (database.connections). */
#define INGEST_MAX_CONNECTIONS 8

/*
 * dbs: the connections batches are written on, one batch in flight on
 * each; look-ups go on the first.
 */
struct ingest *ingest_new(struct event_base *base, const struct hconf *conf, struct db *const *dbs,
			  unsigned ndbs, ingest_drain_fn drain, ingest_judge_fn judge,
			  void *arg) MUSTCHECK;
/* Frames waiting are answered with failure. */
void ingest_free(struct ingest *in);
/* Take the limits of a reloaded config. */
void ingest_reconfigure(struct ingest *in, const struct hconf *conf);

/* Queue the positions of one frame; done runs once, after their commit. */
void ingest_add_positions(struct ingest *in, int64_t terminal_id, const struct jt808_location *locs,
			  unsigned n, ingest_done_fn done, void *arg);
void ingest_add_event(struct ingest *in, const struct ingest_event *e, ingest_done_fn done,
		      void *arg);
void ingest_add_record(struct ingest *in, const struct ingest_record *r, ingest_done_fn done,
		       void *arg);
void ingest_add_photo(struct ingest *in, int64_t terminal_id, const struct jtx_photo_init *init,
		      const uint8_t *data, size_t len, ingest_done_fn done, void *arg);

/* Look a terminal up by its normalized number (jt808_phone_norm). */
void ingest_lookup_terminal(struct ingest *in, const char *phone, ingest_terminal_fn fn, void *arg);

/* Rows queued and not yet committed are at or above the high-water mark. */
bool ingest_full(const struct ingest *in);
/* Nothing queued, nothing in flight. */
bool ingest_idle(const struct ingest *in);

struct ingest_stats {
	uint64_t batches, rows, errors;
	unsigned queued_rows;
};
void ingest_get_stats(const struct ingest *in, struct ingest_stats *st);

#endif
