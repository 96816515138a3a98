/*
 * command.c - see command.h.
 *
 * A command is sent at most once: the instance that finds it waiting
 * takes it with one UPDATE ... WHERE sent_at IS NULL, and sends it only
 * when that update took it.  A connection lost between the update and
 * the write loses the command (it shows as sent and never answered in
 * `hoursctl terminal commands`); queue it again.  The terminal's answer
 * is matched by terminal, command and the extension serial it went out
 * with.
 */
#include "hoursd.h"
#include "command.h"
#include "conn.h"
#include "jt808.h"
#include "jtx.h"
#include "log.h"
#include "server.h"
#include "ingest.h"
#include "db.h"
#include "queries.h"
#include "terminal.h"

#include <libpq-fe.h>

static bool polling;

/* A command taken for a connection, sent once the update that took it is in. */
struct taking {
	struct conn *c;
	long long id;
	uint16_t ext_id, ext_serial;
	size_t len;
	uint8_t data[];
};

static void send_command(struct conn *c, const struct taking *t)
{
	struct jtx_header h = {
		.msg_id = t->ext_id, .props = JTX_PROP_ANSWER, .serial = t->ext_serial};
	uint8_t body[JT808_MAX_BODY];
	snprintf(h.terminal_no, sizeof(h.terminal_no), "%s", conn_terminal(c)->terminal_no);
	size_t n = jtx_build(&h, t->data, t->len, NULL, 0, body, sizeof(body));
	if (n == 0) {
		conn_log(c, HLOG_ERROR, "command %lld (0x%04x) cannot be encoded", t->id,
			 t->ext_id);
		return;
	}
	conn_send_frame(c, JT808_P_TRANSPARENT_DOWN, body, n);
	conn_log(c, HLOG_INFO, "command %lld (0x%04x) sent, extended serial %u", t->id, t->ext_id,
		 t->ext_serial);
}

static void on_taken(void *arg, const PGresult *res)
{
	struct taking *t = arg;
	if (res && PQntuples(res) == 1 && conn_is_open(t->c))
		send_command(t->c, t);
	conn_release(t->c);
	free(t);
}

/* Take one waiting command for the connection of its terminal. */
static void take(struct server *srv, struct conn *c, long long id, uint16_t ext_id,
		 const unsigned char *data, size_t len)
{
	struct taking *t = malloc(sizeof(*t) + len);
	if (t == NULL)
		die("out of memory");
	t->c = c;
	t->id = id;
	t->ext_id = ext_id;
	t->ext_serial = conn_next_ext_serial(c);
	t->len = len;
	memcpy(t->data, data, len);
	char ids[24], serial[8];
	snprintf(ids, sizeof(ids), "%lld", id);
	snprintf(serial, sizeof(serial), "%u", t->ext_serial);
	const char *v[2] = {ids, serial};
	conn_hold(c);
	db_query(srv->db, sql_command_take, 2, v, on_taken, t);
}

/* Both statements give the same columns: read by command_waiting_for's names. */
_Static_assert((int)COMMAND_WAITING_FOR_ID == (int)COMMAND_WAITING_NEW_ID &&
		       (int)COMMAND_WAITING_FOR_TERMINAL_ID ==
			       (int)COMMAND_WAITING_NEW_TERMINAL_ID &&
		       (int)COMMAND_WAITING_FOR_EXT_ID == (int)COMMAND_WAITING_NEW_EXT_ID &&
		       (int)COMMAND_WAITING_FOR_DATA == (int)COMMAND_WAITING_NEW_DATA &&
		       (int)COMMAND_WAITING_FOR_NCOLS == (int)COMMAND_WAITING_NEW_NCOLS,
	       "command_waiting_for.sql and command_waiting_new.sql differ in their columns");

/*
 * Where commands are looked for: a terminal's, when it authenticates
 * (sql_command_waiting_for); and every second the ones queued in the last
 * minute, for terminals already authenticated (sql_command_waiting_new; a
 * command seen twice is taken once).  A waiting command is never matched
 * against every connection on every poll.  Each row is taken for the
 * connection its terminal is authenticated on here.
 */
static void take_rows(struct server *srv, const PGresult *res)
{
	for (int i = 0; res && i < PQntuples(res); i++) {
		struct conn *c = conn_find_authenticated(
			strtoll(PQgetvalue(res, i, COMMAND_WAITING_FOR_TERMINAL_ID), NULL, 10));
		long ext_id = strtol(PQgetvalue(res, i, COMMAND_WAITING_FOR_EXT_ID), NULL, 10);
		if (c == NULL || jtx_command_answer_id((uint16_t)ext_id) == 0)
			continue;
		size_t len = 0;
		unsigned char *data = PQunescapeBytea(
			(const unsigned char *)PQgetvalue(res, i, COMMAND_WAITING_FOR_DATA), &len);
		if (data == NULL)
			die("out of memory");
		long long id = strtoll(PQgetvalue(res, i, COMMAND_WAITING_FOR_ID), NULL, 10);
		if (len <= JT808_MAX_BODY - 64)
			take(srv, c, id, (uint16_t)ext_id, data, len);
		else
			conn_log(c, HLOG_ERROR, "command %lld: %zu bytes of data, too long to send",
				 id, len);
		PQfreemem(data);
	}
}

static void on_new(void *arg, const PGresult *res)
{
	polling = false;
	take_rows(arg, res);
}

void command_poll(struct server *srv)
{
	if (polling || srv->draining || !conn_any_authenticated())
		return;
	polling = true;
	db_query(srv->db, sql_command_waiting_new, 0, NULL, on_new, srv);
}

static void on_for_terminal(void *arg, const PGresult *res)
{
	take_rows(arg, res);
}

void command_authenticated(struct server *srv, int64_t terminal_id)
{
	char id[24];
	snprintf(id, sizeof(id), "%lld", (long long)terminal_id);
	const char *v[1] = {id};
	db_query(srv->db, sql_command_waiting_for, 1, v, on_for_terminal, srv);
}

/* ---- answers ---- */

/* An answer's row on its way (sql/queries/daemon/command_answer.sql), then conn.c's done. */
struct answer_store {
	struct conn *c; /* held by the answer conn.c owes */
	uint16_t ext_serial;
	ingest_done_fn done;
	void *arg;
};

static void on_answer_stored(void *arg, const PGresult *res)
{
	struct answer_store *s = arg;
	bool ours = res && PQntuples(res) == 1;
	if (res && !ours)
		conn_log(s->c, HLOG_WARN,
			 "an answer (extended serial %u) to no command sent to this terminal",
			 s->ext_serial);
	s->done(s->arg, ours ? INGEST_STORED : INGEST_FAILED);
	free(s);
}

/* The store of an answer's verdict (conn_store_fn): its parameters are the verdict's. */
static void store_answer(const struct conn_msg *in, const struct conn_verdict *v,
			 ingest_done_fn done, void *arg)
{
	struct answer_store *s = malloc(sizeof(*s));
	if (s == NULL)
		die("out of memory");
	*s = (struct answer_store){
		.c = in->c, .ext_serial = v->answer.ext_serial, .done = done, .arg = arg};
	const char *p[4] = {v->param[0], v->param[1], v->param[2], v->param[3]};
	db_query(in->srv->db, sql_command_answer, 4, p, on_answer_stored, s);
}

void command_answer(const struct conn_msg *in, const struct jtx_header *h, struct conn_verdict *v)
{
	struct jtx_command a;
	enum jtx_err e = jtx_parse_command(h->msg_id, h->data, h->data_len, &a);
	if (e != JTX_OK) {
		log_defer(&v->lines, HLOG_WARN, "answer 0x%04x (serial %u): %s", h->msg_id,
			  in->m->h.serial, jtx_strerror(e));
		v->act = CONN_ACK;
		v->result = JT808_R_BAD_MESSAGE;
		return;
	}
	log_defer(&v->lines, HLOG_INFO, "answer 0x%04x to command extended serial %u: result %u",
		  h->msg_id, h->serial, a.result);
	v->act = CONN_STORE;
	v->store = store_answer;
	v->answer = (struct conn_answer){.accepted = true, .ext_serial = h->serial}; /* 0x8001 */
	v->nparams = 4;
	snprintf(v->param[0], sizeof(v->param[0]), "%lld", (long long)in->t->id);
	snprintf(v->param[1], sizeof(v->param[1]), "%u", h->serial);
	snprintf(v->param[2], sizeof(v->param[2]), "%u", jtx_command_of_answer(h->msg_id));
	snprintf(v->param[3], sizeof(v->param[3]), "%u", a.result);
}
