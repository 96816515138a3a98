/*
 * conn.c - one terminal connection: buffers, framing, the state machine
 * (handshake -> connected -> registered -> authenticated -> closed) and
 * the messages of the JT/T 808 core.  The others (the authentication,
 * 0x0900) go up to the handlers set at start, whose verdicts are carried
 * out here (conn.h): conn.c calls nothing above it.
 *
 * A frame that carries data is handed to the store and answered only
 * after its commit.  While a connection has too many frames waiting, or
 * the store is full, or a registry look-up is out, the connection stops
 * reading: the terminal's own TCP window then holds it back.
 */
#include "hoursd.h"
#include "conn.h"
#include "server.h"
#include "conf.h"
#include "log.h"
#include "ingest.h"
#include "db.h"
#include "queries.h"
#include "reasons.h"
#include "metrics.h"
#include "sig.h"
#include "terminal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

enum frame_result { FRAME_DONE, FRAME_LATER };
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
	unsigned inflight;		    /* frames waiting for their commit */
	uint64_t rx_pos;		    /* stream offset of the input buffer's first byte */
	unsigned lines_logged, warn_logged; /* log lines this minute: all, warnings and errors */
	unsigned lines_suppressed;	    /* lines not written since the last such line */
	unsigned bad_frames;		    /* bad or unsupported frames this minute */
	unsigned preauth_sent;		    /* frames sent before authentication */
	int64_t deadline; /* CLOCK_MONOTONIC ms: closed unless a frame (or the handshake, or the
			     authentication) comes first */
	struct jt808_reasm *reasm; /* NULL until the first piece of a sub-packaged message */
	/* The last message sent in pieces, kept for the terminal's request of missing ones. */
	struct {
		uint8_t *body;
		size_t len;
		uint16_t msg_id, first_serial, total;
	} split;
	/* The state of the handlers above (conn_msg.state): timing.c's lesson. */
	void *above;
};

/* An answer owed after a commit. */
struct pending_ack {
	struct conn *c;
	uint16_t serial, msg_id; /* the JT/T 808 frame answered */
	struct conn_answer a;
	struct timespec received;
};

#define CLOSE_FLUSH_MS 1000 /* a refusal's answer: this long to reach the terminal */
#define LINGER_MAX 4096	    /* closes flushing at once; past it, closed outright */
#define TLS_READ_STEP 512   /* bytes of TLS input read at a time (new_bev) */
#define MAX_BATCH_ITEMS 4096

static struct conn *conns;
static unsigned nconns;
static uint8_t frame_buf[65536];
/* Every connection's unfinished sub-packaged messages share this. */
static struct jt808_reasm_budget reasm_budget;
/* Set at start (conn_set_handlers). */
static const struct conn_handler *handlers;
static size_t nhandlers;
static conn_auth_fn on_authenticated;

/* Milliseconds that only go forward: the deadlines'. */
static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A deadline s seconds from now. */
static int64_t after_s(unsigned s)
{
	return mono_ms() + (int64_t)s * 1000;
}

/* ---- connections by source address and by terminal ---- */

/*
 * A count of open connections per key (a source address, a terminal
 * number): a chained hash whose nodes go when their count does.
 */
#define COUNT_BUCKETS 16384
struct count_node {
	struct count_node *next;
	unsigned n;
	char key[];
};
struct count_table {
	struct count_node *b[COUNT_BUCKETS];
};
static struct count_table per_address, per_terminal;

static struct count_node **count_find(struct count_table *t, const char *key)
{
	uint32_t h = 2166136261u;
	for (const char *p = key; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	struct count_node **link = &t->b[h % COUNT_BUCKETS];
	while (*link && strcmp((*link)->key, key) != 0)
		link = &(*link)->next;
	return link;
}

static unsigned count_of(struct count_table *t, const char *key)
{
	struct count_node *n = *count_find(t, key);
	return n ? n->n : 0;
}

static void count_add(struct count_table *t, const char *key)
{
	struct count_node **link = count_find(t, key);
	if (*link == NULL) {
		size_t len = strlen(key) + 1;
		*link = calloc(1, sizeof(**link) + len);
		if (*link == NULL)
			die("out of memory");
		memcpy((*link)->key, key, len);
	}
	(*link)->n++;
}

static void count_remove(struct count_table *t, const char *key)
{
	struct count_node **link = count_find(t, key), *n = *link;
	if (n && --n->n == 0) {
		*link = n->next;
		free(n);
	}
}

/*
 * A connection refused by a limit: one line a second at most for all of
 * them, with how many the lines in between would have said.
 */
static void refusal_log(const char *peer, const char *why)
{
	static int64_t last;
	static unsigned unlogged;
	int64_t now = mono_ms() / 1000;
	if (now == last) {
		unlogged++;
		return;
	}
	last = now;
	if (unlogged)
		log_warn("connection from %s refused: %s (and %u more refused since the last such "
			 "line)",
			 peer, why, unlogged);
	else
		log_warn("connection from %s refused: %s", peer, why);
	unlogged = 0;
}

static void process_input(struct conn *c);

/* ---- life cycle ---- */

static void conn_ref(struct conn *c)
{
	c->refs++;
}

static void conn_unref(struct conn *c)
{
	if (--c->refs == 0) {
		jt808_reasm_free(c->reasm);
		c->srv->st.reasm_bytes = reasm_budget.held;
		free(c->above);
		free(c->split.body);
		free(c);
	}
}

void conn_log(const struct conn *c, enum log_level lvl, const char *fmt, ...)
{
	if (!log_enabled(lvl))
		return;
	if (c->state != CS_CLOSED) {
		/* The counts are not the connection's state: written through a const pointer. */
		struct conn *w = (struct conn *)c;
		const struct hconf *cf = c->srv->conf;
		bool warn = lvl >= HLOG_WARN;
		if (w->lines_logged >= cf->lines_per_min ||
		    (warn && w->warn_logged >= cf->warnings_per_min)) {
			w->lines_suppressed++;
			w->srv->st.warnings_suppressed++;
			return;
		}
		w->lines_logged++;
		w->warn_logged += warn;
	}
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg(lvl, "conn %s %s: %s", c->phone[0] ? c->phone : "-", c->peer, msg);
}

/* ---- closes ---- */

/*
 * A closed connection's bufferevent, kept until the answers queued on it
 * are written or CLOSE_FLUSH_MS have passed: a refusal's answer reaches
 * the terminal, which then need not take the close for a broken link.
 */
struct flushing {
	struct flushing *prev, *next;
	struct bufferevent *bev;
	struct event *timer;
	struct server *srv;
};
static struct flushing *flushing;
static unsigned nlinger;

/* The unsent answers of bev, no longer counted against connection.out_budget_bytes. */
static void bev_free(struct server *srv, struct bufferevent *bev)
{
	size_t left = evbuffer_get_length(bufferevent_get_output(bev));
	srv->st.out_bytes -= left < srv->st.out_bytes ? left : srv->st.out_bytes;
	bufferevent_free(bev);
}

static void linger_end(struct flushing *l)
{
	if (l->prev)
		l->prev->next = l->next;
	else
		flushing = l->next;
	if (l->next)
		l->next->prev = l->prev;
	bev_free(l->srv, l->bev);
	event_free(l->timer);
	free(l);
	nlinger--;
}

static void linger_write(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		linger_end(arg);
}

static void linger_event(struct bufferevent *bev, short what, void *arg)
{
	linger_end(arg);
}

static void linger_timeout(evutil_socket_t fd, short what, void *arg)
{
	linger_end(arg);
}

/* Free bev now, or once its answers are out (flush: a refusal's answer). */
static void release_bev(struct server *srv, struct bufferevent *bev, bool flush)
{
	struct flushing *l = NULL;
	if (flush && evbuffer_get_length(bufferevent_get_output(bev)) > 0 && nlinger < LINGER_MAX)
		l = calloc(1, sizeof(*l));
	if (l)
		l->timer = evtimer_new(srv->base, linger_timeout, l);
	if (l == NULL || l->timer == NULL) {
		free(l);
		bev_free(srv, bev);
		return;
	}
	l->bev = bev;
	l->srv = srv;
	l->next = flushing;
	if (flushing)
		flushing->prev = l;
	flushing = l;
	nlinger++;
	bufferevent_disable(bev, EV_READ);
	bufferevent_setcb(bev, NULL, linger_write, linger_event, l);
	bufferevent_enable(bev, EV_WRITE);
	struct timeval tv = {CLOSE_FLUSH_MS / 1000, (CLOSE_FLUSH_MS % 1000) * 1000};
	evtimer_add(l->timer, &tv);
}

/*
 * Every disconnect goes through here, with its reason; flush: after the
 * answers already queued (a refusal that promises one).
 */
static void close_conn(struct conn *c, const char *reason, bool flush)
{
	if (c->state == CS_CLOSED)
		return;
	/* The close lines are written whatever the connection's budget of lines. */
	c->state = CS_CLOSED;
	conn_log(c, HLOG_INFO, "closed: %s (%u frames waiting for commit)", reason, c->inflight);
	if (c->lines_suppressed)
		conn_log(c, HLOG_INFO, "%u line(s) not logged before the close",
			 c->lines_suppressed);
	count_remove(&per_address, c->host);
	if (c->terminal_counted)
		count_remove(&per_terminal, c->phone);
	if (c->prev)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	nconns--;
	c->srv->st.closed++;
	release_bev(c->srv, c->bev, flush);
	c->bev = NULL;
	conn_unref(c);
}

static void conn_close(struct conn *c, const char *reason)
{
	close_conn(c, reason, false);
}

/* ---- throttles: terminals and addresses closed for their bad input ---- */

/*
 * Keys (a terminal number, or an address before authentication) refused
 * until a time, in a table where keys that hash alike share a slot: a
 * newer throttle takes the slot.
 */
#define THROTTLE_SLOTS 4096
static struct {
	char key[46];
	int64_t until; /* mono_ms() */
} throttle[THROTTLE_SLOTS];

static unsigned throttle_slot(const char *key)
{
	uint32_t h = 2166136261u;
	for (const char *p = key; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return h % THROTTLE_SLOTS;
}

static void throttle_set(const char *key, unsigned seconds)
{
	unsigned i = throttle_slot(key);
	snprintf(throttle[i].key, sizeof(throttle[i].key), "%s", key);
	throttle[i].until = after_s(seconds);
}

static bool throttled(const char *key)
{
	unsigned i = throttle_slot(key);
	return throttle[i].until > mono_ms() && strcmp(throttle[i].key, key) == 0;
}

/*
 * c broke a budget (bad frames, answers before authentication): closed
 * once its answers are out, its terminal (once authenticated) or its
 * address throttled for connection.throttle_s.
 */
static void close_throttled(struct conn *c, const char *why)
{
	bool by_terminal = c->state == CS_AUTHENTICATED;
	char reason[256];
	throttle_set(by_terminal ? c->phone : c->host, c->srv->conf->throttle_s);
	snprintf(reason, sizeof(reason), "%s; %s %s refused for %u s (connection.throttle_s)", why,
		 by_terminal ? "terminal" : "address", by_terminal ? c->phone : c->host,
		 c->srv->conf->throttle_s);
	close_conn(c, reason, true);
}

/* One more bad or unsupported frame: past connection.bad_frames_per_min, closed. */
static void bad_input(struct conn *c)
{
	unsigned most = c->srv->conf->bad_frames_per_min;
	if (c->state == CS_CLOSED || ++c->bad_frames <= most)
		return;
	char why[128];
	c->srv->st.refused_bad_frames++;
	snprintf(why, sizeof(why),
		 "more than %u bad or unsupported frames this minute "
		 "(connection.bad_frames_per_min)",
		 most);
	close_throttled(c, why);
}

static bool may_read(const struct conn *c)
{
	const struct hconf *cf = c->srv->conf;
	if (c->state == CS_CLOSED || c->srv->draining || c->term == TERM_LOOKING || c->asking)
		return false;
	if (c->inflight >= cf->conn_high_water || ingest_full(c->srv->ingest))
		return false;
	/* Answers not read: this connection's cap, and all connections' budget. */
	size_t out = evbuffer_get_length(bufferevent_get_output(c->bev));
	return out < cf->out_max_bytes && (out == 0 || c->srv->st.out_bytes < cf->out_budget_bytes);
}

/*
 * Turn reading on or off to match may_read().  When it comes back on,
 * what is already buffered is handled now: no read event will come for it.
 */
static void update_reading(struct conn *c)
{
	bool want = may_read(c);
	if (want == c->reading)
		return;
	c->reading = want;
	if (want) {
		bufferevent_enable(c->bev, EV_READ);
		process_input(c);
	} else {
		bufferevent_disable(c->bev, EV_READ);
	}
}

/* ---- answers ---- */

/* One frame in the layout, version and number the terminal used; total 0: not a piece. */
static void send_one(struct conn *c, uint16_t msg_id, uint16_t serial, const uint8_t *body,
		     size_t len, uint16_t total, uint16_t index)
{
	struct jt808_header h = {
		.msg_id = msg_id,
		.layout = c->layout,
		.version = c->version,
		.serial = serial,
		.subpkg = total > 0,
		.pkg_total = total,
		.pkg_index = index,
	};
	memcpy(h.phone, c->hdr_phone, sizeof(h.phone));
	if (c->state == CS_CLOSED)
		return;
	if (c->state != CS_AUTHENTICATED && ++c->preauth_sent > c->srv->conf->preauth_answers) {
		char why[128];
		c->srv->st.refused_preauth_answers++;
		snprintf(why, sizeof(why),
			 "more than %u frames answered before authentication "
			 "(connection.preauth_answers)",
			 c->srv->conf->preauth_answers);
		close_throttled(c, why);
		return;
	}
	uint8_t out[JT808_ENCODED_MAX(JT808_MAX_BODY)];
	size_t n = jt808_encode(&h, body, len, out, sizeof(out));
	if (n == 0) {
		conn_log(c, HLOG_ERROR, "cannot encode answer 0x%04x", msg_id);
		return;
	}
	bufferevent_write(c->bev, out, n);
}

static void send_piece(struct conn *c, uint16_t index)
{
	size_t off = (size_t)(index - 1) * JT808_PIECE_MAX;
	size_t len = c->split.len - off < JT808_PIECE_MAX ? c->split.len - off : JT808_PIECE_MAX;
	send_one(c, c->split.msg_id, (uint16_t)(c->split.first_serial + index - 1),
		 c->split.body + off, len, c->split.total, index);
}

/*
 * A body longer than a piece goes out sub-packaged: pieces of
 * JT808_PIECE_MAX bytes with consecutive serials, as the terminals send
 * theirs.  The message is kept until the next one, so that pieces a
 * terminal asks for again (0x8003) can be sent again.
 */
void conn_send_frame(struct conn *c, uint16_t msg_id, const uint8_t *body, size_t len)
{
	if (c->state == CS_CLOSED)
		return;
	if (len <= JT808_PIECE_MAX) {
		send_one(c, msg_id, c->out_serial++, body, len, 0, 0);
		return;
	}
	uint8_t *copy = malloc(len);
	if (copy == NULL)
		die("out of memory");
	memcpy(copy, body, len);
	free(c->split.body);
	c->split.body = copy;
	c->split.len = len;
	c->split.msg_id = msg_id;
	c->split.first_serial = c->out_serial;
	c->split.total = (uint16_t)((len + JT808_PIECE_MAX - 1) / JT808_PIECE_MAX);
	c->out_serial = (uint16_t)(c->out_serial + c->split.total);
	for (uint16_t i = 1; i <= c->split.total; i++)
		send_piece(c, i);
}

static void conn_send_ack(struct conn *c, uint16_t serial, uint16_t msg_id, uint8_t result)
{
	uint8_t body[5];
	jt808_build_general_ack(serial, msg_id, result, body);
	conn_send_frame(c, JT808_P_GENERAL_ACK, body, sizeof(body));
	if (result == JT808_R_OK)
		c->srv->st.acks_ok++;
	else
		c->srv->st.acks_failed++;
}

/* A frame refused for what it is (bad, unsupported, out of turn): answered, and counted. */
static void refuse(struct conn *c, uint16_t serial, uint16_t msg_id, uint8_t result)
{
	conn_send_ack(c, serial, msg_id, result);
	bad_input(c);
}

/* ---- bad input ---- */

static void bad_frame(struct conn *c, const char *reason, const uint8_t *bytes, size_t n,
		      uint64_t pos)
{
	char hex[80];
	/* A flood of bad frames is counted in full but logged only so often (conn_log). */
	log_hex(hex, sizeof(hex), bytes, n, 24);
	conn_log(c, HLOG_WARN, "bad frame at byte %llu (%zu bytes): %s: %s",
		 (unsigned long long)pos, n, reason, hex);
}

/* ---- the registry ---- */

static void on_terminal(void *arg, bool found, const struct terminal *t)
{
	struct conn *c = arg;
	if (c->state != CS_CLOSED) {
		if (!found) {
			c->term = TERM_UNKNOWN;
			c->srv->st.unknown_terminal++;
			conn_log(c, HLOG_WARN, "terminal is not in the registry");
		} else {
			char err[256];
			c->t = *t;
			c->t.sign_cert_pem = NULL;
			c->t.prev_sign_cert_pem = NULL;
			c->term = TERM_FOUND;
			if (!sig_cache_has(c->srv->sigs, t->sign_cert_sha256) &&
			    !sig_cache_put(c->srv->sigs, t->sign_cert_sha256, t->sign_cert_pem, err,
					   sizeof(err)))
				conn_log(c, HLOG_ERROR, "signing certificate unusable: %s", err);
			if (t->has_prev_sign_cert &&
			    !sig_cache_has(c->srv->sigs, t->prev_sign_cert_sha256) &&
			    !sig_cache_put(c->srv->sigs, t->prev_sign_cert_sha256,
					   t->prev_sign_cert_pem, err, sizeof(err)))
				conn_log(c, HLOG_ERROR, "previous signing certificate unusable: %s",
					 err);
			if (t->coach_login && t->coach_no[0] && t->student_login)
				conn_log(c, HLOG_INFO,
					 "lesson continues: coach %s, student %s since %lld",
					 t->coach_no, t->student_no, (long long)t->student_login);
			if (c->tls && CRYPTO_memcmp(t->cert_sha256, c->cert_sha256, 32) != 0) {
				conn_close(c, "client certificate is not the one registered for "
					      "this terminal");
			} else if (!t->active) {
				conn_log(c, HLOG_WARN, "terminal is disabled in the registry");
			}
		}
		if (c->state != CS_CLOSED)
			update_reading(c);
	}
	conn_unref(c);
}

static void look_up(struct conn *c)
{
	c->term = TERM_LOOKING;
	update_reading(c);
	conn_ref(c);
	ingest_lookup_terminal(c->srv->ingest, c->phone, on_terminal, c);
}

/*
 * A query the connection's next frames depend on (a registration's
 * certificate, an authentication's timestamp): reading pauses until its
 * answer, which the callback takes with answered().
 */
static void ask(struct conn *c, const char *sql, int n, const char *const *v, db_result_fn fn,
		void *arg)
{
	c->asking = true;
	update_reading(c);
	conn_ref(c);
	db_query(c->srv->db, sql, n, v, fn, arg);
}

/* The answer to ask() is in: false when the connection closed meanwhile. */
static bool answered(struct conn *c)
{
	c->asking = false;
	return c->state != CS_CLOSED;
}

/* The end of every ask() callback. */
static void ask_done(struct conn *c)
{
	if (c->state != CS_CLOSED)
		update_reading(c);
	conn_unref(c);
}

/* ---- messages ---- */

/* A new answer owed for frame m after its commit, holding a reference on c. */
static struct pending_ack *pending(struct conn *c, const struct jt808_msg *m,
				   const struct conn_answer *a)
{
	struct pending_ack *p = calloc(1, sizeof(*p));
	if (p == NULL)
		die("out of memory");
	p->c = c;
	p->serial = m->h.serial;
	p->msg_id = m->h.msg_id;
	p->a = *a;
	clock_gettime(CLOCK_MONOTONIC, &p->received);
	conn_ref(c);
	c->inflight++;
	return p;
}

static double since(const struct timespec *t0)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* The answer a committed frame has earned: its verdict, or the stored one for a resend. */
static bool answer_ok(const struct pending_ack *p, enum ingest_outcome o)
{
	switch (o) {
	case INGEST_STORED:
		return p->a.accepted;
	case INGEST_DUPLICATE:
		return true;
	default:
		return false;
	}
}

static void send_timing_answer(struct conn *c, const struct pending_ack *p, struct jtx_answer *a)
{
	memcpy(a->person_no, p->a.person_no, sizeof(a->person_no));
	uint8_t data[128], body[256];
	size_t n = jtx_build_answer(p->a.answer_id, a, data, sizeof(data));
	struct jtx_header h = {.msg_id = p->a.answer_id, .serial = p->a.ext_serial};
	memcpy(h.terminal_no, p->a.terminal_no, sizeof(h.terminal_no));
	size_t len = n ? jtx_build(&h, data, n, NULL, 0, body, sizeof(body)) : 0;
	if (len == 0) {
		conn_log(c, HLOG_ERROR, "cannot encode timing answer 0x%04x", p->a.answer_id);
		return;
	}
	conn_send_frame(c, JT808_P_TRANSPARENT_DOWN, body, len);
}

/* The last step of every pending answer: it is written (or the connection is gone). */
static void pending_done(struct pending_ack *p)
{
	struct conn *c = p->c;
	c->inflight--;
	hist_observe(&metric_ack_seconds, since(&p->received));
	if (c->state != CS_CLOSED)
		update_reading(c);
	free(p);
	conn_unref(c);
}

static uint16_t word(const PGresult *res, int col)
{
	long long v = strtoll(PQgetvalue(res, 0, col), NULL, 10);
	return (uint16_t)(v < 0 ? 0 : v > UINT16_MAX ? UINT16_MAX : v);
}

/* A student login's answer tells the terminal the student's progress (0x8201). */
static void on_progress(void *arg, const PGresult *res)
{
	struct pending_ack *p = arg;
	struct jtx_answer a = {.result = JTX_R_OK};
	if (res && PQntuples(res) == 1) {
		a.total_minutes = word(res, 0);
		a.part_minutes = word(res, 1);
		a.total_mileage = word(res, 2);
		a.part_mileage = word(res, 3);
	}
	if (p->c->state != CS_CLOSED)
		send_timing_answer(p->c, p, &a);
	pending_done(p);
}

/* A record's ingest verdict, in the counters: a resend is not counted again. */
static void count_record(struct server_stats *st, const struct pending_ack *p,
			 enum ingest_outcome o)
{
	if (o == INGEST_STORED && p->a.accepted) {
		st->records_accepted++;
	} else if (o == INGEST_STORED || o == INGEST_CONFLICT) {
		enum reason why = o == INGEST_CONFLICT ? R_NUMBER_REUSED : p->a.reason;
		st->records_rejected++;
		st->records_rejected_by_reason[why == R_NONE ? R_OTHER : why]++;
	}
}

/* A record's verdict in the log, once its outcome is known: a copy's is the stored one. */
static void log_record(struct conn *c, const struct pending_ack *p, enum ingest_outcome o)
{
	if (o == INGEST_STORED && !p->a.accepted)
		conn_log(c, HLOG_WARN, "timing message 0x0203 (extended serial %u) rejected: %s",
			 p->a.ext_serial, reason_name(p->a.reason));
	else if (o == INGEST_DUPLICATE || o == INGEST_DUPLICATE_REJECTED)
		conn_log(c, HLOG_DEBUG,
			 "record (extended serial %u) sent again: answered as stored (%s)",
			 p->a.ext_serial, o == INGEST_DUPLICATE ? "accepted" : "rejected");
}

/* The store's callback for every pending answer (ingest_done_fn). */
static void committed(void *arg, enum ingest_outcome o)
{
	struct pending_ack *p = arg;
	struct conn *c = p->c;
	bool ok = answer_ok(p, o);
	if (p->a.is_record) {
		count_record(&c->srv->st, p, o);
		log_record(c, p, o);
	}
	if (c->state != CS_CLOSED && p->a.answer_id == JTX_STUDENT_LOGIN_ACK && ok) {
		char part[4];
		snprintf(part, sizeof(part), "%u", p->a.part);
		const char *v[2] = {p->a.person_no, part};
		db_query(c->srv->db, sql_progress_of_student, 2, v, on_progress, p);
		return;
	}
	if (c->state != CS_CLOSED) {
		if (p->a.answer_id) {
			struct jtx_answer a = {.result = ok ? JTX_R_OK : JTX_R_OTHER};
			send_timing_answer(c, p, &a);
		} else {
			conn_send_ack(c, p->serial, p->msg_id, ok ? JT808_R_OK : JT808_R_FAILED);
		}
		if (o == INGEST_CONFLICT && p->a.is_record) /* resend.c logs the others' */
			conn_log(c, HLOG_WARN,
				 "record number reused by a different record: kept aside, refused");
	}
	pending_done(p);
}

static void store_frame(struct conn *c, const struct jt808_msg *m,
			const struct jt808_location *locs, unsigned n)
{
	c->srv->st.positions += n;
	struct conn_answer a = {.accepted = true};
	ingest_add_positions(c->srv->ingest, c->t.id, locs, n, committed, pending(c, m, &a));
}

/* ---- registration ---- */

/*
 * Why a registering terminal is refused, or NULL.  A timing terminal must
 * also match the IMEI and factory serial it was provisioned with, and
 * have a timing terminal number to be handed.
 */
static const char *register_refusal(const struct conn *c, const struct jt808_register *r)
{
	if (c->term != TERM_FOUND)
		return "terminal is not in the registry";
	if (!c->t.active)
		return "terminal is disabled";
	if (c->layout != JT808_LTIMING)
		return NULL;
	if (c->t.imei[0] && strcmp(c->t.imei, r->imei) != 0)
		return "IMEI differs from the provisioned one";
	if (c->t.factory_serial[0] && strcmp(c->t.factory_serial, r->terminal_id) != 0)
		return "factory serial differs from the provisioned one";
	if (c->t.terminal_no[0] == '\0')
		return "no timing terminal number provisioned (hoursctl terminal add --terminal-no)";
	return NULL;
}

struct pending_reg {
	struct conn *c;
	uint16_t serial;
};

static void registered(struct conn *c, bool ok)
{
	if (ok) {
		c->srv->st.registrations_ok++;
		if (c->state < CS_REGISTERED)
			c->state = CS_REGISTERED;
	} else {
		c->srv->st.registrations_refused++;
	}
}

static void send_register_refused(struct conn *c, uint16_t serial, const char *why)
{
	struct jt808_register_ack_timing a = {.serial = serial,
					      .result = JT808_REG_TERMINAL_UNKNOWN};
	uint8_t body[8];
	size_t n = jt808_build_register_ack_timing(&a, body, sizeof(body));
	conn_log(c, HLOG_WARN, "registration refused: %s", why);
	if (n > 0)
		conn_send_frame(c, JT808_P_REGISTER_ACK, body, n);
	registered(c, false);
}

/*
 * The timing answer carries the certificate: Base64 of the PKCS#12, then
 * one NUL (a public terminal app drops the answer's last byte: see
 * docs/protocol.md); libpq's value ends in that NUL already.  Without a
 * stored PKCS#12 the terminal is taken to hold its key already: password
 * and certificate go out empty.
 */
static void send_registration(struct conn *c, uint16_t serial, const PGresult *res)
{
	const char *b64 = PQgetvalue(res, 0, TERMINAL_CREDENTIAL_P12),
		   *code = PQgetvalue(res, 0, TERMINAL_CREDENTIAL_SCHOOL_CODE);
	size_t b64_len = strlen(b64);
	if (strlen(code) > 16) {
		send_register_refused(
			c, serial, "the school's code is longer than the 16 bytes of the answer");
		return;
	}
	struct jt808_register_ack_timing a = {.serial = serial,
					      .result = JT808_REG_OK,
					      .cert_b64 = b64,
					      .cert_len = b64_len ? b64_len + 1 : 0};
	snprintf(a.platform_no, sizeof(a.platform_no), "%s", c->srv->conf->platform_no);
	snprintf(a.institution_no, sizeof(a.institution_no), "%s", code);
	snprintf(a.terminal_no, sizeof(a.terminal_no), "%s", c->t.terminal_no);
	snprintf(a.cert_password, sizeof(a.cert_password), "%s",
		 PQgetvalue(res, 0, TERMINAL_CREDENTIAL_PASSWORD));
	size_t cap = 64 + a.cert_len;
	uint8_t *body = malloc(cap);
	if (body == NULL)
		die("out of memory");
	size_t n = jt808_build_register_ack_timing(&a, body, cap);
	if (n > 0) {
		conn_send_frame(c, JT808_P_REGISTER_ACK, body, n);
		conn_log(c, HLOG_INFO,
			 "registered: timing number %s, certificate of %zu Base64 bytes in %u "
			 "piece(s)",
			 c->t.terminal_no, b64_len,
			 n > JT808_PIECE_MAX ? (unsigned)c->split.total : 1u);
		registered(c, true);
	} else {
		send_register_refused(c, serial, "the answer could not be built");
	}
	free(body);
}

static void on_credential(void *arg, const PGresult *res)
{
	struct pending_reg *p = arg;
	struct conn *c = p->c;
	if (answered(c)) {
		if (res && PQntuples(res) == 1)
			send_registration(c, p->serial, res);
		else
			send_register_refused(c, p->serial, "the registry could not be read");
	}
	ask_done(c);
	free(p);
}

static void handle_register(struct conn *c, const struct jt808_msg *m)
{
	struct jt808_register r;
	uint8_t body[128];
	enum jt808_err e = jt808_parse_register(m->body, m->body_len, m->h.layout, &r);
	if (e != JT808_OK) {
		conn_log(c, HLOG_WARN, "registration body (%zu bytes, %s layout): %s", m->body_len,
			 jt808_layout_name(m->h.layout), jt808_strerror(e));
		refuse(c, m->h.serial, m->h.msg_id, JT808_R_BAD_MESSAGE);
		return;
	}
	const char *why = register_refusal(c, &r);
	conn_log(c, why ? HLOG_WARN : HLOG_INFO,
		 "registration (province %u, city %u, serial %s, IMEI %s)%s%s", r.province, r.city,
		 r.terminal_id, r.imei[0] ? r.imei : "-", why ? ": " : "", why ? why : "");
	if (c->layout == JT808_LTIMING) {
		if (why) {
			send_register_refused(c, m->h.serial, why);
			return;
		}
		struct pending_reg *p = malloc(sizeof(*p));
		if (p == NULL)
			die("out of memory");
		p->c = c;
		p->serial = m->h.serial;
		char id[24];
		snprintf(id, sizeof(id), "%lld", (long long)c->t.id);
		const char *v[1] = {id};
		ask(c, sql_terminal_credential, 1, v, on_credential, p);
		return;
	}
	uint8_t result = why ? JT808_REG_TERMINAL_UNKNOWN : JT808_REG_OK;
	size_t n = jt808_build_register_ack(m->h.serial, result, result ? NULL : c->t.auth_code,
					    body, sizeof(body));
	if (n > 0)
		conn_send_frame(c, JT808_P_REGISTER_ACK, body, n);
	registered(c, result == JT808_REG_OK);
}

/* 0x8003 (timing, 2013) or 0x0005 (2019): pieces of our last sub-packaged answer, again. */
static void handle_piece_request(struct conn *c, const struct jt808_msg *m)
{
	uint16_t idx[256], first = 0;
	size_t count = 0;
	enum jt808_err e = jt808_parse_piece_request(m->body, m->body_len, m->h.layout, &first, idx,
						     ARRAY_SIZE(idx), &count);
	bool ok = e == JT808_OK && c->split.body && first == c->split.first_serial &&
		  count <= ARRAY_SIZE(idx);
	for (size_t i = 0; ok && i < count; i++)
		ok = idx[i] >= 1 && idx[i] <= c->split.total;
	if (!ok) {
		conn_log(c, HLOG_WARN, "request for pieces of serial %u refused: %s", first,
			 e != JT808_OK			  ? jt808_strerror(e)
			 : !c->split.body		  ? "nothing was sent in pieces"
			 : first != c->split.first_serial ? "not the last message sent in pieces"
							  : "no such piece");
		refuse(c, m->h.serial, m->h.msg_id, JT808_R_FAILED);
		return;
	}
	conn_log(c, HLOG_INFO, "%zu piece(s) of 0x%04x sent again on request", count,
		 c->split.msg_id);
	for (size_t i = 0; i < count; i++)
		send_piece(c, idx[i]);
	c->srv->st.pieces_resent += count;
}

/* ---- authentication (its checks are auth.c's) ---- */

/*
 * The terminal proved itself: authenticated, unless it already has
 * connection.max_per_terminal authenticated connections.
 */
static void authenticated(struct conn *c, const struct jt808_msg *m)
{
	unsigned most = c->srv->conf->max_per_terminal;
	char why[160];
	if (throttled(c->phone)) {
		c->srv->st.refused_throttled++;
		snprintf(why, sizeof(why),
			 "terminal %s throttled after bad or unsupported frames "
			 "(connection.bad_frames_per_min)",
			 c->phone);
		refusal_log(c->peer, why);
		conn_send_ack(c, m->h.serial, m->h.msg_id, JT808_R_FAILED);
		close_conn(c, why, true);
		return;
	}
	if (!c->terminal_counted) {
		if (most && count_of(&per_terminal, c->phone) >= most) {
			c->srv->st.refused_per_terminal++;
			snprintf(why, sizeof(why),
				 "terminal %s already has %u authenticated connection(s) "
				 "(connection.max_per_terminal)",
				 c->phone, most);
			refusal_log(c->peer, why);
			conn_send_ack(c, m->h.serial, m->h.msg_id, JT808_R_FAILED);
			close_conn(c, why, true);
			return;
		}
		count_add(&per_terminal, c->phone);
		c->terminal_counted = true;
	}
	c->deadline = after_s(c->srv->conf->idle_timeout_s);
	c->state = CS_AUTHENTICATED;
	c->preauth_sent = 0; /* a deregistration begins the count again */
	c->srv->st.auth_ok++;
	conn_log(c, HLOG_INFO, "authenticated (terminal id %lld, %s layout)", (long long)c->t.id,
		 jt808_layout_name(c->layout));
	conn_send_ack(c, m->h.serial, m->h.msg_id, JT808_R_OK);
	if (on_authenticated)
		on_authenticated(c->srv, c->t.id);
}

static void handle_location(struct conn *c, const struct jt808_msg *m)
{
	struct jt808_location loc;
	enum jt808_err e = jt808_parse_location(m->body, m->body_len, &loc);
	if (e != JT808_OK) {
		conn_log(c, HLOG_WARN, "location body (serial %u): %s", m->h.serial,
			 jt808_strerror(e));
		refuse(c, m->h.serial, m->h.msg_id, JT808_R_BAD_MESSAGE);
		return;
	}
	store_frame(c, m, &loc, 1);
}

struct batch_collect {
	struct jt808_location *locs;
	unsigned n, cap;
};

static bool collect_location(void *arg, const struct jt808_location *loc)
{
	struct batch_collect *b = arg;
	if (b->n == b->cap) {
		if (b->cap >= MAX_BATCH_ITEMS)
			return false;
		b->cap = b->cap ? b->cap * 2 : 16;
		struct jt808_location *p = realloc(b->locs, b->cap * sizeof(*p));
		if (p == NULL)
			die("out of memory");
		b->locs = p;
	}
	b->locs[b->n++] = *loc;
	return true;
}

static void handle_batch(struct conn *c, const struct jt808_msg *m)
{
	struct batch_collect b = {0};
	unsigned declared = 0;
	enum jt808_err e =
		jt808_parse_batch_location(m->body, m->body_len, collect_location, &b, &declared);
	if (e != JT808_OK || b.n != declared) {
		conn_log(c, HLOG_WARN, "batch location (serial %u): %s, %u of %u items",
			 m->h.serial, e != JT808_OK ? jt808_strerror(e) : "item count differs", b.n,
			 declared);
		refuse(c, m->h.serial, m->h.msg_id, JT808_R_BAD_MESSAGE);
	} else {
		store_frame(c, m, b.locs, b.n);
	}
	free(b.locs);
}

static enum frame_type frame_type_of(uint16_t id)
{
	switch (id) {
	case JT808_T_HEARTBEAT:
		return FT_HEARTBEAT;
	case JT808_T_REGISTER:
		return FT_REGISTER;
	case JT808_T_AUTH:
		return FT_AUTH;
	case JT808_T_LOCATION:
		return FT_LOCATION;
	case JT808_T_BATCH_LOCATION:
		return FT_BATCH_LOCATION;
	case JT808_T_TRANSPARENT_UP:
		return FT_TRANSPARENT;
	case JT808_T_GENERAL_ACK:
		return FT_TERMINAL_ACK;
	default:
		return FT_OTHER;
	}
}

/* ---- messages handed up ---- */

void conn_set_handlers(const struct conn_handler *h, size_t n, conn_auth_fn auth)
{
	handlers = h;
	nhandlers = n;
	on_authenticated = auth;
}

static const struct conn_handler *handler_of(uint16_t msg_id)
{
	for (size_t i = 0; i < nhandlers; i++)
		if (handlers[i].msg_id == msg_id)
			return &handlers[i];
	return NULL;
}

/* What a handler reads of c, with message m. */
static struct conn_msg msg_in(struct conn *c, const struct jt808_msg *m)
{
	return (struct conn_msg){.c = c,
				 .m = m,
				 .srv = c->srv,
				 .t = c->term == TERM_FOUND ? &c->t : NULL,
				 .host = c->host,
				 .state = &c->above};
}

static void carry_out(const struct conn_msg *in, const struct conn_verdict *v);

/* A verdict's question: its answer goes to fn, for the verdict on the message. */
struct asked {
	struct conn *c;
	struct jt808_msg m; /* the header: the body is not kept */
	conn_asked_fn fn;
	void *arg;
};

static void on_asked(void *arg, const PGresult *res)
{
	struct asked *q = arg;
	struct conn *c = q->c;
	if (answered(c)) {
		struct conn_msg in = msg_in(c, &q->m);
		struct conn_verdict v = {0};
		q->fn(&in, q->arg, res, &v);
		carry_out(&in, &v);
	}
	ask_done(c);
	free(q->arg);
	free(q);
}

static void ask_for(const struct conn_msg *in, const struct conn_verdict *v)
{
	struct asked *q = malloc(sizeof(*q));
	if (q == NULL)
		die("out of memory");
	*q = (struct asked){.c = in->c, .m = *in->m, .fn = v->asked, .arg = v->arg};
	q->m.body = NULL;
	q->m.body_len = 0;
	const char *params[CONN_PARAMS];
	int n = v->nparams < CONN_PARAMS ? v->nparams : CONN_PARAMS;
	for (int i = 0; i < n; i++)
		params[i] = v->param[i];
	ask(in->c, v->sql, n, params, on_asked, q);
}

/* Do what a handler decided: its lines first, then its act. */
static void carry_out(const struct conn_msg *in, const struct conn_verdict *v)
{
	struct conn *c = in->c;
	const struct jt808_msg *m = in->m;
	for (unsigned i = 0; i < v->lines.n; i++)
		conn_log(c, v->lines.line[i].lvl, "%s", v->lines.line[i].text);
	switch (v->act) {
	case CONN_NONE:
		break;
	case CONN_ACK:
		if (v->result == JT808_R_BAD_MESSAGE || v->result == JT808_R_NOT_SUPPORTED)
			refuse(c, m->h.serial, m->h.msg_id, v->result);
		else
			conn_send_ack(c, m->h.serial, m->h.msg_id, v->result);
		break;
	case CONN_SEND:
		conn_send_frame(c, v->send_id, v->send, v->send_len);
		break;
	case CONN_STORE:
		v->store(in, v, committed, pending(c, m, &v->answer));
		break;
	case CONN_ASK:
		ask_for(in, v);
		break;
	case CONN_AUTHENTICATE:
		authenticated(c, m);
		break;
	case CONN_CLOSE:
		conn_send_ack(c, m->h.serial, m->h.msg_id, v->result);
		close_conn(c, v->why, true);
		break;
	}
}

static void hand_up(struct conn *c, const struct jt808_msg *m, const struct conn_handler *h)
{
	struct conn_msg in = msg_in(c, m);
	struct conn_verdict v = {0};
	h->fn(&in, &v);
	carry_out(&in, &v);
}

static void dispatch(struct conn *c, const struct jt808_msg *m)
{
	const struct conn_handler *h = handler_of(m->h.msg_id);
	switch (m->h.msg_id) {
	case JT808_T_REGISTER:
		handle_register(c, m);
		return;
	case JT808_T_GENERAL_ACK:
		return;		 /* the terminal answering us: nothing to say */
	case JT808_P_ASK_PIECES: /* the timing protocol uses the same ID both ways */
	case JT808_T_ASK_PIECES:
		handle_piece_request(c, m);
		return;
	default:
		break;
	}
	if (h && h->any_state) {
		hand_up(c, m, h);
		return;
	}
	if (c->state != CS_AUTHENTICATED) {
		c->srv->st.not_authenticated++;
		conn_log(c, HLOG_WARN, "message 0x%04x before authentication refused", m->h.msg_id);
		refuse(c, m->h.serial, m->h.msg_id, JT808_R_FAILED);
		return;
	}
	switch (m->h.msg_id) {
	case JT808_T_HEARTBEAT:
		conn_send_ack(c, m->h.serial, m->h.msg_id, JT808_R_OK);
		break;
	case JT808_T_DEREGISTER:
		conn_send_ack(c, m->h.serial, m->h.msg_id, JT808_R_OK);
		c->state = CS_CONNECTED;
		c->deadline = after_s(c->srv->conf->auth_timeout_s);
		conn_log(c, HLOG_INFO, "deregistered: authentication needed again");
		break;
	case JT808_T_LOCATION:
		handle_location(c, m);
		break;
	case JT808_T_BATCH_LOCATION:
		handle_batch(c, m);
		break;
	default:
		if (h) {
			hand_up(c, m, h);
			break;
		}
		c->srv->st.unsupported++;
		conn_log(c, HLOG_INFO, "message 0x%04x not supported", m->h.msg_id);
		refuse(c, m->h.serial, m->h.msg_id, JT808_R_NOT_SUPPORTED);
		break;
	}
}

/* Reassemble a piece; dispatch the whole message when it is complete. */
static void handle_piece(struct conn *c, const struct jt808_msg *m, uint64_t pos)
{
	uint8_t *body = NULL;
	size_t len = 0;
	if (c->reasm == NULL) {
		const struct hconf *cf = c->srv->conf;
		c->reasm = jt808_reasm_new(cf->reasm_max_pieces, cf->reasm_max_bytes,
					   cf->reasm_max_age_s);
		if (c->reasm == NULL)
			die("out of memory");
		jt808_reasm_set_budget(c->reasm, &reasm_budget);
	}
	enum jt808_err e = jt808_reasm_add(c->reasm, m, time(NULL), &body, &len);
	c->srv->st.reasm_bytes = reasm_budget.held;
	c->srv->st.reasm_dropped = reasm_budget.dropped;
	if (jt808_reasm_pending(c->reasm) == 0) {
		/* Nothing unfinished: an idle connection holds no reassembly. */
		jt808_reasm_free(c->reasm);
		c->reasm = NULL;
	}
	if (e != JT808_OK) {
		c->srv->st.bad_frames[e]++;
		bad_frame(c, jt808_strerror(e), m->body, m->body_len, pos);
		refuse(c, m->h.serial, m->h.msg_id, JT808_R_BAD_MESSAGE);
		return;
	}
	if (body == NULL)
		return;
	struct jt808_msg whole = *m;
	whole.h.subpkg = false;
	/* Answered with the serial of the last piece (index = total), whichever came last. */
	whole.h.serial = (uint16_t)(m->h.serial + m->h.pkg_total - m->h.pkg_index);
	whole.body = body;
	whole.body_len = len;
	dispatch(c, &whole);
	free(body);
}

/*
 * A frame that fails its check code or length may be the escaped-sums
 * device fault (docs/protocol.md): taken when the terminal's quirk is on
 * (or to learn who is talking, on a connection's first frame); else
 * answered with "bad message" and a log line naming the likely cause.
 */
enum quirk { Q_NOT, Q_TAKEN, Q_REFUSED };
static enum quirk escaped_sums(struct conn *c, const uint8_t *esc, size_t n, uint64_t pos,
			       enum jt808_err e, struct jt808_msg *m)
{
	static uint8_t work[65536];
	if ((e != JT808_E_CHECK && e != JT808_E_LENGTH) || n > sizeof(work) ||
	    jt808_parse_escaped_sums(esc, n, work, m) != JT808_OK)
		return Q_NOT;
	if (c->phone[0] == '\0' || (c->term == TERM_FOUND && c->t.escaped_sums)) {
		c->srv->st.escaped_sums++;
		return Q_TAKEN;
	}
	c->srv->st.bad_frames[e]++;
	c->layout = m->h.layout; /* answered in the terminal's own layout */
	c->version = m->h.version;
	memcpy(c->hdr_phone, m->h.phone, sizeof(c->hdr_phone));
	bad_frame(c,
		  "length and check code match the escaped bytes: a known device fault; "
		  "`hoursctl terminal quirk NUMBER escaped-sums on` accepts it",
		  esc, n, pos);
	refuse(c, m->h.serial, m->h.msg_id, JT808_R_BAD_MESSAGE);
	return Q_REFUSED;
}

/* Every frame received once: a piece of a sub-packaged message as its message. */
static void count_frame(struct conn *c, enum frame_type t)
{
	c->srv->st.frames++;
	c->srv->st.frames_by_type[t]++;
}

/*
 * One frame, still escaped, at stream offset pos.  FRAME_LATER leaves it
 * in the buffer: the terminal must first be looked up.
 */
static enum frame_result handle_frame(struct conn *c, const uint8_t *esc, size_t n, uint64_t pos)
{
	struct jt808_msg m;
	size_t len;
	enum jt808_err e = JT808_E_TOO_LONG;
	if (n <= sizeof(frame_buf))
		e = jt808_unescape(esc, n, frame_buf, &len);
	if (e == JT808_OK)
		e = jt808_parse(frame_buf, len, &m);
	enum quirk q = e == JT808_OK ? Q_TAKEN : escaped_sums(c, esc, n, pos, e, &m);
	if (q == Q_NOT) {
		c->srv->st.bad_frames[e]++;
		bad_frame(c, jt808_strerror(e), esc, n, pos);
		bad_input(c);
	}
	if (q != Q_TAKEN) {
		count_frame(c, FT_MALFORMED);
		return FRAME_DONE;
	}
	char phone[21];
	jt808_phone_norm(m.h.phone, phone);
	if (c->phone[0] == '\0') {
		/* Plain TCP: the first frame names the terminal (counted when handled again). */
		memcpy(c->phone, phone, sizeof(phone));
		look_up(c);
		return FRAME_LATER;
	}
	count_frame(c, frame_type_of(m.h.msg_id));
	/* Only a whole frame keeps an authenticated connection open (a trickle does not). */
	if (c->state == CS_AUTHENTICATED)
		c->deadline = after_s(c->srv->conf->idle_timeout_s);
	c->layout = m.h.layout;
	c->version = m.h.version;
	memcpy(c->hdr_phone, m.h.phone, sizeof(c->hdr_phone));
	if (strcmp(phone, c->phone) != 0) {
		c->srv->st.number_mismatch++;
		conn_log(c, HLOG_WARN,
			 "frame at byte %llu names terminal %s, the %s names %s: refused",
			 (unsigned long long)pos, phone, c->tls ? "certificate" : "connection",
			 c->phone);
		refuse(c, m.h.serial, m.h.msg_id, JT808_R_FAILED);
		return FRAME_DONE;
	}
	if (m.h.encrypt != 0) {
		conn_log(c, HLOG_WARN, "encrypted body (serial %u) not supported", m.h.serial);
		refuse(c, m.h.serial, m.h.msg_id, JT808_R_BAD_MESSAGE);
		return FRAME_DONE;
	}
	if (m.h.subpkg)
		handle_piece(c, &m, pos);
	else
		dispatch(c, &m);
	return FRAME_DONE;
}

/* Handle what the input buffer holds, within the per-event frame budget. */
static void process_input(struct conn *c)
{
	const struct hconf *cf = c->srv->conf;
	struct evbuffer *in;
	unsigned handled = 0;
	conn_ref(c);
	while (may_read(c) && handled < cf->frames_per_read) {
		in = bufferevent_get_input(c->bev);
		size_t n = evbuffer_get_length(in);
		if (n == 0)
			break;
		const uint8_t *buf = evbuffer_pullup(in, (ev_ssize_t)n);
		struct jt808_scan s;
		enum jt808_scan_result r = jt808_scan(buf, n, cf->max_frame_bytes, &s);
		if (s.junk > 0) {
			c->srv->st.junk_bytes += s.junk;
			conn_log(c, HLOG_WARN, "%zu bytes of junk at byte %llu skipped", s.junk,
				 (unsigned long long)c->rx_pos);
			bad_input(c);
			if (c->state == CS_CLOSED)
				break;
		}
		if (r == JT808_SCAN_FRAME) {
			if (handle_frame(c, buf + s.start, s.len, c->rx_pos + s.start) ==
			    FRAME_LATER) {
				/* Drop only the junk before the frame; come back to the frame. */
				evbuffer_drain(in, s.junk);
				c->rx_pos += s.junk;
				break;
			}
			handled++;
		} else if (r == JT808_SCAN_OVERSIZE) {
			c->srv->st.oversize++;
			bad_frame(c, "frame longer than connection.max_frame_bytes", buf, s.skip,
				  c->rx_pos);
			bad_input(c);
		}
		if (c->state == CS_CLOSED)
			break;
		evbuffer_drain(in, s.skip);
		c->rx_pos += s.skip;
		if (r == JT808_SCAN_NEED)
			break;
	}
	/* Frames left over for the budget: come back after other connections. */
	if (c->state != CS_CLOSED && handled == cf->frames_per_read && may_read(c))
		bufferevent_trigger(c->bev, EV_READ,
				    BEV_TRIG_DEFER_CALLBACKS | BEV_TRIG_IGNORE_WATERMARKS);
	if (c->state != CS_CLOSED)
		update_reading(c);
	conn_unref(c);
}

/* ---- libevent callbacks ---- */

/*
 * An idle TLS connection keeps no record buffers: OpenSSL sets its read
 * buffer up before it learns that nothing is there, and
 * SSL_MODE_RELEASE_BUFFERS does not always give it back; SSL_free_buffers
 * keeps buffers that hold data.
 */
static void release_tls_buffers(struct conn *c)
{
	SSL *ssl = c->tls && c->bev ? bufferevent_openssl_get_ssl(c->bev) : NULL;
	if (ssl && SSL_pending(ssl) == 0)
		SSL_free_buffers(ssl);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	conn_ref(c);
	process_input(c);
	if (c->state != CS_CLOSED)
		release_tls_buffers(c);
	conn_unref(c);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	/* Answers drained: a connection held for its output may read again. */
	update_reading(c);
	if (c->state != CS_CLOSED)
		release_tls_buffers(c);
}

/*
 * The certificates the terminal sent besides its own were needed for the
 * handshake's verification only; the session keeps them (parsed, about
 * 4 KB each) for as long as the connection lasts unless they are freed.
 * The terminal's own certificate stays (tls_revoked reads it).
 */
static void drop_peer_chain(SSL *ssl)
{
	STACK_OF(X509) *chain = ssl ? SSL_get_peer_cert_chain(ssl) : NULL;
	X509 *x;
	while (chain && (x = sk_X509_pop(chain)) != NULL)
		X509_free(x);
}

/* Take the terminal number from the certificate's subject CN. */
static bool take_certificate(struct conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	X509 *cert = ssl ? SSL_get1_peer_certificate(ssl) : NULL;
	if (cert == NULL)
		return false;
	bool ok = false;
	unsigned mdlen = 0;
	X509_NAME *name = X509_get_subject_name(cert);
	int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	ASN1_STRING *cn = i >= 0 ? X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)) : NULL;
	if (cn && X509_digest(cert, EVP_sha256(), c->cert_sha256, &mdlen) == 1 && mdlen == 32) {
		const unsigned char *d = ASN1_STRING_get0_data(cn);
		int len = ASN1_STRING_length(cn);
		char digits[21];
		ok = len >= 1 && len <= 20;
		for (int k = 0; ok && k < len; k++)
			ok = d[k] >= '0' && d[k] <= '9';
		if (ok) {
			memcpy(digits, d, (size_t)len);
			digits[len] = '\0';
			jt808_phone_norm(digits, c->phone);
		}
	}
	X509_free(cert);
	drop_peer_chain(ssl);
	return ok;
}

/* Describe a failed connection; false when it was only a close without close_notify. */
static bool tls_error(struct conn *c, char *buf, size_t len)
{
	unsigned long e = bufferevent_get_openssl_error(c->bev);
	if (e == 0)
		e = ERR_get_error();
	ERR_clear_error();
	if (e && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
		return false;
	if (e)
		ERR_error_string_n(e, buf, len);
	else
		snprintf(buf, len, "%s", "connection reset");
	return true;
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	char why[256];
	if (what & BEV_EVENT_CONNECTED) {
		if (!take_certificate(c)) {
			conn_close(c, "client certificate has no terminal number (subject CN of "
				      "1-20 digits)");
			return;
		}
		c->state = CS_CONNECTED;
		c->deadline = after_s(c->srv->conf->auth_timeout_s);
		release_tls_buffers(c);
		conn_log(c, HLOG_INFO, "TLS established (%s)",
			 SSL_get_version(bufferevent_openssl_get_ssl(bev)));
		look_up(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		c->srv->st.deadline_write++;
		snprintf(why, sizeof(why),
			 "answers not read: no progress writing them for %u s "
			 "(connection.write_timeout_s)",
			 c->srv->conf->write_timeout_s);
		conn_close(c, why);
	} else if (what & BEV_EVENT_EOF) {
		conn_close(c, "closed by the terminal");
	} else if (what & BEV_EVENT_ERROR) {
		if (c->state == CS_HANDSHAKE)
			c->srv->st.tls_failures++;
		if (!tls_error(c, why, sizeof(why)) && c->state != CS_HANDSHAKE) {
			conn_close(c, "closed by the terminal (no TLS close_notify)");
			return;
		}
		char reason[400];
		SSL *ssl = c->tls ? bufferevent_openssl_get_ssl(c->bev) : NULL;
		long vr = ssl && c->state == CS_HANDSHAKE ? SSL_get_verify_result(ssl) : X509_V_OK;
		/* The client certificate's own fault (expired, revoked...) by name. */
		snprintf(reason, sizeof(reason), "%s: %s%s%s%s",
			 c->state == CS_HANDSHAKE ? "TLS handshake failed" : "error", why,
			 vr != X509_V_OK ? " (" : "",
			 vr != X509_V_OK ? X509_verify_cert_error_string(vr) : "",
			 vr != X509_V_OK ? ")" : "");
		conn_close(c, reason);
	}
}

/* The peer's address without and with its port. */
static void peer_names(const struct sockaddr *sa, char host[INET6_ADDRSTRLEN], char *peer,
		       size_t cap)
{
	uint16_t port = 0;
	snprintf(host, INET6_ADDRSTRLEN, "?");
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, INET6_ADDRSTRLEN);
		port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, INET6_ADDRSTRLEN);
		port = ntohs(in6->sin6_port);
	}
	snprintf(peer, cap, "%s:%u", host, port);
}

/* Why a new connection from host is refused by a limit, or NULL. */
static const char *admission_refusal(struct server *srv, const char *host, char *buf, size_t cap)
{
	const struct hconf *cf = srv->conf;
	/* Those still sending their PROXY header count: they hold a descriptor too. */
	unsigned open = nconns + srv->proxy_waiting;
	if (cf->max_connections && open >= cf->max_connections) {
		srv->st.refused_max_connections++;
		snprintf(buf, cap, "%u connections open (connection.max_connections)", open);
		return buf;
	}
	if (throttled(host)) {
		srv->st.refused_throttled++;
		snprintf(buf, cap,
			 "address throttled after bad or unsupported frames, or too many answers "
			 "before authentication (connection.throttle_s)");
		return buf;
	}
	if (cf->max_per_address && count_of(&per_address, host) >= cf->max_per_address) {
		srv->st.refused_per_address++;
		snprintf(buf, cap,
			 "%u connections open from this address (connection.max_per_address)",
			 cf->max_per_address);
		return buf;
	}
	return NULL;
}

/* A bufferevent for the accepted descriptor: TLS (accepting) or plain. */
static struct bufferevent *new_bev(struct server *srv, evutil_socket_t fd, bool tls)
{
	int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
	if (!tls)
		return bufferevent_socket_new(srv->base, fd, opts);
	SSL *ssl = SSL_new(srv->tls);
	struct bufferevent *bev = ssl ? bufferevent_openssl_socket_new(
						srv->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, opts)
				      : NULL;
	if (bev == NULL && ssl)
		SSL_free(ssl);
	if (bev) {
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
		/*
		 * libevent reads TLS until OpenSSL wants more, reserving this much
		 * input buffer for each try; the last, empty, reservation stays
		 * while the connection idles (with the default 16 KB, a 32 KB
		 * chain a connection).
		 */
		bufferevent_set_max_single_read(bev, TLS_READ_STEP);
	}
	return bev;
}

/* What the output buffers of every connection hold (server_stats.out_bytes). */
static void count_output(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	struct server *srv = arg;
	srv->st.out_bytes += info->n_added;
	srv->st.out_bytes -=
		info->n_deleted < srv->st.out_bytes ? info->n_deleted : srv->st.out_bytes;
}

/*
 * The socket's send buffer bounded (the kernel otherwise grows it to
 * megabytes for a peer that does not read), and a write deadline: answers
 * that make no progress for connection.write_timeout_s close the
 * connection.
 */
static void bound_output(struct conn *c, evutil_socket_t fd)
{
	const struct hconf *cf = c->srv->conf;
	int size = (int)cf->sndbuf_bytes;
	if (size > 0 && setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)) != 0)
		conn_log(c, HLOG_DEBUG, "SO_SNDBUF: %s", strerror(errno));
	struct timeval wtv = {(time_t)cf->write_timeout_s, 0};
	bufferevent_set_timeouts(c->bev, NULL, &wtv);
	evbuffer_add_cb(bufferevent_get_output(c->bev), count_output, c->srv);
}

void conn_accept(struct server *srv, evutil_socket_t fd, const struct sockaddr *sa, int salen,
		 bool tls, int64_t accepted_ms)
{
	const struct hconf *cf = srv->conf;
	char host[INET6_ADDRSTRLEN], peer[64], buf[128];
	peer_names(sa, host, peer, sizeof(peer));
	const char *why = admission_refusal(srv, host, buf, sizeof(buf));
	if (why) {
		refusal_log(peer, why);
		evutil_closesocket(fd);
		return;
	}
	struct conn *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		evutil_closesocket(fd);
		return;
	}
	c->srv = srv;
	c->tls = tls;
	c->refs = 1; /* the list's */
	memcpy(c->peer, peer, sizeof(c->peer));
	snprintf(c->host, sizeof(c->host), "%s", host);
	c->bev = new_bev(srv, fd, tls);
	if (c->bev == NULL) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	reasm_budget.max = cf->reasm_budget_bytes;
	c->state = tls ? CS_HANDSHAKE : CS_CONNECTED;
	/* The handshake deadline counts from the accept, the PROXY header's wait included. */
	c->deadline = tls ? (accepted_ms ? accepted_ms : mono_ms()) +
				      (int64_t)cf->handshake_timeout_s * 1000
			  : after_s(cf->auth_timeout_s);
	count_add(&per_address, c->host);
	c->next = conns;
	if (conns)
		conns->prev = c;
	conns = c;
	nconns++;
	srv->st.accepted++;
	size_t high = 2 * (size_t)cf->max_frame_bytes + 64;
	bufferevent_setwatermark(c->bev, EV_READ, 0, high < 16384 ? 16384 : high);
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bound_output(c, fd);
	c->reading = true;
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	conn_log(c, HLOG_DEBUG, "accepted (%s)", tls ? "TLS" : "plain TCP");
}

/* ---- the whole set ---- */

void conn_resume_all(void *arg)
{
	for (struct conn *c = conns, *next; c; c = next) {
		conn_ref(c);
		update_reading(c);
		next = c->next;
		conn_unref(c);
	}
}

void conn_pause_all(struct server *srv)
{
	for (struct conn *c = conns; c; c = c->next) {
		if (c->reading) {
			c->reading = false;
			bufferevent_disable(c->bev, EV_READ);
		}
	}
}

void conn_close_all(const char *reason)
{
	while (conns)
		conn_close(conns, reason);
	/* The refusals' answers not written yet: no later than the connections. */
	while (flushing)
		linger_end(flushing);
}

/*
 * The deadline of c has passed: close it, saying which.  An authenticated
 * connection that hoursd itself holds back (frames waiting for their
 * commit, a query out, the store full, the drain) is not idle: its
 * deadline moves on.
 */
static void check_deadline(struct conn *c, int64_t now)
{
	const struct hconf *cf = c->srv->conf;
	char why[160];
	/* Not a terminal that stopped reading its answers: that one stays idle. */
	bool held_back = c->inflight || c->asking || c->term == TERM_LOOKING || c->srv->draining ||
			 ingest_full(c->srv->ingest);
	if (c->state == CS_AUTHENTICATED && held_back)
		c->deadline = now + (int64_t)cf->idle_timeout_s * 1000;
	if (now < c->deadline)
		return;
	if (c->state == CS_HANDSHAKE) {
		c->srv->st.deadline_handshake++;
		snprintf(why, sizeof(why),
			 "TLS handshake not done within %u s (connection.handshake_timeout_s)",
			 cf->handshake_timeout_s);
	} else if (c->state != CS_AUTHENTICATED) {
		c->srv->st.deadline_auth++;
		snprintf(why, sizeof(why),
			 "not authenticated within %u s (connection.auth_timeout_s)",
			 cf->auth_timeout_s);
	} else {
		c->srv->st.deadline_idle++;
		snprintf(why, sizeof(why),
			 "idle timeout: no complete frame for %u s (connection.idle_timeout_s)",
			 cf->idle_timeout_s);
	}
	conn_close(c, why);
}

/* c's TLS client certificate is on one of crls (same issuer, same serial). */
static bool tls_revoked(const struct conn *c, STACK_OF(X509_CRL) * crls)
{
	SSL *ssl = c->tls ? bufferevent_openssl_get_ssl(c->bev) : NULL;
	X509 *x = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
	X509_REVOKED *rev;
	for (int i = 0; x && i < sk_X509_CRL_num(crls); i++) {
		X509_CRL *crl = sk_X509_CRL_value(crls, i);
		if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(x)) == 0 &&
		    X509_CRL_get0_by_cert(crl, &rev, x) == 1)
			return true;
	}
	return false;
}

void conn_close_revoked(struct server *srv, STACK_OF(X509_CRL) * crls)
{
	for (struct conn *c = conns, *next; c; c = next) {
		next = c->next;
		if (c->state != CS_HANDSHAKE && tls_revoked(c, crls))
			conn_close(c, "client certificate revoked (tls.crl)");
		else if (c->term == TERM_FOUND &&
			 sig_cache_revoked(srv->sigs, c->t.sign_cert_sha256))
			conn_close(c, "signing certificate revoked (tls.crl)");
	}
}

void conn_janitor(time_t now)
{
	static time_t minute;
	static uint64_t dropped_logged;
	bool new_minute = now / 60 != minute;
	int64_t mono = mono_ms();
	minute = now / 60;
	for (struct conn *c = conns, *next; c; c = next) {
		next = c->next;
		if (new_minute) {
			c->lines_logged = c->warn_logged = c->bad_frames = 0;
			if (c->lines_suppressed)
				conn_log(c, HLOG_WARN,
					 "%u more line(s) not logged in the last minute",
					 c->lines_suppressed);
			c->lines_suppressed = 0;
		}
		unsigned n = c->reasm ? jt808_reasm_expire(c->reasm, now) : 0;
		if (n > 0)
			conn_log(c, HLOG_WARN, "%u unfinished sub-packaged message(s) expired", n);
		check_deadline(c, mono);
	}
	if (conns)
		reasm_budget.max = conns->srv->conf->reasm_budget_bytes;
	if (reasm_budget.dropped != dropped_logged) {
		log_warn("reassembly budget (connection.reasm_budget_bytes, %zu bytes) full: %llu "
			 "unfinished sub-packaged message(s) dropped, oldest first, since the last "
			 "such line",
			 reasm_budget.max,
			 (unsigned long long)(reasm_budget.dropped - dropped_logged));
		dropped_logged = reasm_budget.dropped;
	}
	if (conns) {
		conns->srv->st.reasm_bytes = reasm_budget.held;
		conns->srv->st.reasm_dropped = reasm_budget.dropped;
	}
}

void conn_hold(struct conn *c)
{
	conn_ref(c);
}

void conn_release(struct conn *c)
{
	conn_unref(c);
}

bool conn_is_open(const struct conn *c)
{
	return c->state != CS_CLOSED;
}

const struct terminal *conn_terminal(const struct conn *c)
{
	return &c->t;
}

/* A walk of every connection: commands are few, and found once a second at most. */
struct conn *conn_find_authenticated(int64_t terminal_id)
{
	for (struct conn *c = conns; c; c = c->next) {
		if (c->state == CS_AUTHENTICATED && c->t.id == terminal_id)
			return c;
	}
	return NULL;
}

bool conn_any_authenticated(void)
{
	for (struct conn *c = conns; c; c = c->next) {
		if (c->state == CS_AUTHENTICATED)
			return true;
	}
	return false;
}

uint16_t conn_next_ext_serial(struct conn *c)
{
	return ++c->ext_serial;
}

void conn_count_by_state(unsigned out[CONN_STATES])
{
	memset(out, 0, CONN_STATES * sizeof(out[0]));
	for (const struct conn *c = conns; c; c = c->next)
		if ((int)c->state < (int)CONN_STATES)
			out[c->state]++;
}

unsigned conn_count(void)
{
	return nconns;
}

void conn_unanswered(unsigned *frames, unsigned *unsent)
{
	*frames = *unsent = 0;
	for (const struct conn *c = conns; c; c = c->next) {
		*frames += c->inflight;
		*unsent += evbuffer_get_length(bufferevent_get_output(c->bev)) > 0;
	}
}
