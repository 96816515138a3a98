/*
 * resend.h - a timing message a terminal sends again (docs/protocol.md,
 * "Sent again"): a copy identical to what is stored under the message's
 * identity is answered with the stored verdict and changes nothing, the
 * lesson's state now whatever it is; a copy that differs is a conflict,
 * kept aside (session_event_conflict, photo_conflict) and refused.
 *
 * Two look-ups make it hold everywhere.  Before a login or logout is
 * judged (and before photo data no announcement on this connection
 * explains is refused), the stored row under its identity is asked for
 * (the caller asks: a CONN_ASK, reading paused), so a copy never reaches
 * the lesson.  After the commit of one judged and stored, the stored row
 * is read again: a copy stored meanwhile by another batch (the same
 * connection before its first answer, another connection, another
 * instance) decides the answer, never the verdict of the copy that was
 * not inserted.  Records have theirs in ingest (ingest.sql, ingest.c);
 * the answers to commands are idempotent updates (command_answer.sql).
 */
#ifndef HOURSD_RESEND_H
#define HOURSD_RESEND_H

#include "hoursd.h"
#include "ingest.h"

#include <libpq-fe.h>

struct conn_msg;
struct conn_verdict;
struct jt808_msg;
struct jtx_header;
struct jtx_photo_init;
struct lesson_msg;
struct server;

/* A login or logout (coach or student): the kinds with a stored verdict to ask for. */
bool resend_is_event(uint16_t msg_id);

/*
 * The question before a login or logout x is judged: v's .sql and
 * parameters (the caller sets .act, .asked and .arg).
 */
void resend_event_question(const struct conn_msg *in, const struct lesson_msg *x,
			   struct conn_verdict *v);

/*
 * The answer res to that question for the message h, x of frame m (its
 * body as received): true when it is a copy of what is stored, and v
 * says what to do (the stored verdict as its answer, or a conflict kept
 * aside); false when nothing is stored under its identity (or the
 * question failed): judge it.  m's body must live until v is carried out.
 */
bool resend_event_answer(const struct conn_msg *in, const struct jtx_header *h,
			 const struct lesson_msg *x, const struct jt808_msg *m, const PGresult *res,
			 struct conn_verdict *v);

/* Store a judged login or logout; done gets the stored verdict's outcome (above). */
void resend_store_event(struct server *srv, const struct ingest_event *e, ingest_done_fn done,
			void *arg);

/* The question for photo data that would be refused: the photo stored under its number. */
void resend_photo_question(const struct conn_msg *in, const char *photo_no, struct conn_verdict *v);

/*
 * Its answer for the data (bytes, len) of photo_no: true when the photo
 * is stored, and v says what to do (answer 0 now for the same data; a
 * conflict kept aside and refused for other data); false when it is not.
 * bytes must live until v is carried out.
 */
bool resend_photo_answer(const struct conn_msg *in, const char *photo_no, const uint8_t *bytes,
			 size_t len, const PGresult *res, struct conn_verdict *v);

/* Store a whole photo; done gets the stored photo's outcome (above). */
void resend_store_photo(struct server *srv, int64_t terminal_id, const struct jtx_photo_init *p,
			const uint8_t *data, size_t len, ingest_done_fn done, void *arg);

#endif
