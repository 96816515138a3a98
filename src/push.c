/*
 * push.c - the pusher's job loop, see push.h and docs/push-contract.md:
 * take, send, record.  Its configuration is push_conf.c's, the body and
 * the meaning of an answer are pure functions of push_body.c and
 * push_answer.c.
 *
 * A packet's attempt is a job with one state machine:
 *
 *   taken --(no body yet)--> saving --> sending --> recording --> (freed)
 *         \--(body kept)-------------/          \
 *   (a body that cannot be built goes straight to recording, failed)
 *
 * taken:     one statement marks up to push.concurrency due packets
 *            'sending' under a lease and returns, for those without a
 *            body, the body's values gathered in SQL.
 * saving:    the body built here is written with the packet before it is
 *            sent, so that every attempt, in any instance, sends the same
 *            bytes (coalesce keeps a body written before).
 * sending:   one HTTPS connection per attempt (libevent evhttp over a
 *            bufferevent_openssl), a deadline of push.timeout_s.
 * recording: one statement inserts the push_attempt row and moves the
 *            packet to done, failed or pending, guarded by the attempt
 *            number, so an instance whose lease ran out changes nothing.
 *
 * Connections are freed after the loop pass that finished them (never
 * inside evhttp's callback chain).  Every statement goes through
 * db_query, parameterized: sql/queries/push_take.sql, push_save.sql,
 * push_record.sql, and push_outbox_stats.sql for the gauges.
 */
#include "hoursd.h"
#include "push.h"
#include "log.h"
#include "push_answer.h"
#include "push_body.h"
#include "server.h"
#include "sig.h"
#include "ingest.h"
#include "db.h"
#include "queries.h"

#include <math.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <libpq-fe.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define MAX_ANSWER_HEADERS 16384
#define ANSWER_KEPT 4096 /* push_attempt.answer */
#define STATS_EVERY_S 5	 /* the outbox gauges */

enum job_state { J_SAVING, J_SENDING, J_RECORDING };

struct job {
	struct job *next;
	struct push *p;
	struct push_config *cfg; /* a reference */
	enum job_state state;
	char id[40], student[40];
	int part;
	unsigned attempt, backoff_n; /* the packet's attempt number; attempts since a re-drive */
	char *body;
	struct evhttp_connection *evcon;
	struct bufferevent *bev; /* the connection's */
	struct event *deadline;
	int http_error; /* enum evhttp_request_error + 1; 0: none reported */
	struct timespec t0;
	double started; /* seconds since the epoch */
};

/* A connection finished with, freed after the loop pass. */
struct dead {
	struct dead *next;
	struct evhttp_connection *evcon;
};

struct push {
	struct event_base *base;
	struct db *db;
	struct server_stats *st;
	struct push_config *cfg; /* NULL: off */
	struct evdns_base *dns;
	struct event *tick, *reap;
	struct job *jobs;
	struct dead *dead;
	unsigned njobs, ticks;
	bool taking, counting, draining, stopped;
};

static void poke(struct push *p);

static double now_wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double uniform(void)
{
	uint32_t r;
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (uint32_t)random();
	return (double)r / 4294967295.0;
}

static void job_free(struct job *j)
{
	struct push *p = j->p;
	for (struct job **jp = &p->jobs; *jp; jp = &(*jp)->next) {
		if (*jp == j) {
			*jp = j->next;
			break;
		}
	}
	p->njobs--;
	p->st->push_in_flight = p->njobs;
	if (j->deadline)
		event_free(j->deadline);
	if (j->evcon)
		evhttp_connection_free(j->evcon);
	push_config_free(j->cfg);
	free(j->body);
	free(j);
}

/* Hand the connection to the reaper: it may still be on the stack. */
static void job_detach(struct job *j)
{
	if (j->deadline)
		event_del(j->deadline);
	if (j->evcon == NULL)
		return;
	struct dead *d = malloc(sizeof(*d));
	if (d == NULL)
		die("out of memory");
	*d = (struct dead){j->p->dead, j->evcon};
	j->p->dead = d;
	j->evcon = NULL;
	j->bev = NULL;
	event_active(j->p->reap, EV_TIMEOUT, 0);
}

static void on_reap(evutil_socket_t fd, short what, void *arg)
{
	struct push *p = arg;
	while (p->dead) {
		struct dead *d = p->dead;
		p->dead = d->next;
		evhttp_connection_free(d->evcon);
		free(d);
	}
}

static void count_outcome(struct server_stats *st, enum push_outcome o)
{
	uint64_t *c[] = {&st->push_accepted, &st->push_duplicate, &st->push_rejected,
			 &st->push_retry, &st->push_error};
	(*c[o])++;
}

static void on_recorded(void *arg, const PGresult *res)
{
	struct job *j = arg;
	struct push *p = j->p;
	if (res && PQntuples(res) == 1 && !p->stopped) {
		const char *state = PQgetvalue(res, 0, 0);
		if (strcmp(state, "failed") == 0) {
			bool expired = strncmp(PQgetvalue(res, 0, 1), "expired", 7) == 0;
			if (expired)
				p->st->push_failed_expired++;
			log_error("push: packet %s (student %s, part %d) failed: %s", j->id,
				  j->student, j->part, PQgetvalue(res, 0, 1));
		}
	} else if (res && !p->stopped) {
		log_warn("push: packet %s attempt %u recorded, but its lease had passed to another "
			 "attempt",
			 j->id, j->attempt);
	}
	job_free(j);
	if (!p->stopped)
		poke(p);
}

/*
 * One attempt is over: record it and decide the packet.  status 0 when
 * there was no answer; answer NULL then.
 */
static void job_record(struct job *j, int status, const struct push_verdict *v, const char *answer,
		       bool fail_now)
{
	struct push_config *c = j->cfg;
	struct timespec t1;
	char started[32], latency[16], st[16], delay[32], maxage[16], attempt[16];
	const char *decision = v->outcome == PUSH_ACCEPTED || v->outcome == PUSH_DUPLICATE ? "done"
			       : v->outcome == PUSH_REJECTED || fail_now ? "failed"
									 : "retry";
	double d = v->retry_after_s >= 0
			   ? fmin(fmax(v->retry_after_s, c->retry_min_s), c->retry_max_s)
			   : push_backoff(j->backoff_n, c->retry_min_s, c->retry_max_s, uniform());

	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms =
		(long)((t1.tv_sec - j->t0.tv_sec) * 1000 + (t1.tv_nsec - j->t0.tv_nsec) / 1000000);
	snprintf(started, sizeof(started), "%.3f", j->started);
	snprintf(latency, sizeof(latency), "%ld", ms);
	snprintf(st, sizeof(st), "%d", status);
	snprintf(delay, sizeof(delay), "%.3f", d);
	snprintf(maxage, sizeof(maxage), "%u", c->max_age_s);
	snprintf(attempt, sizeof(attempt), "%u", j->attempt);
	const char *vals[11] = {j->id,
				attempt,
				started,
				latency,
				status ? st : NULL,
				push_outcome_name(v->outcome),
				answer,
				decision,
				delay,
				maxage,
				*v->error ? v->error : NULL};

	count_outcome(j->p->st, v->outcome);
	if (v->outcome == PUSH_REJECTED)
		j->p->st->push_failed_rejected++;
	enum log_level lvl = v->outcome == PUSH_REJECTED || v->config_problem || fail_now
				     ? HLOG_ERROR
			     : v->outcome <= PUSH_DUPLICATE ? HLOG_INFO
							    : HLOG_WARN;
	log_msg(lvl, "push: packet %s attempt %u: %s%s%s (%ld ms)%s%s", j->id, j->attempt,
		push_outcome_name(v->outcome), status ? ", HTTP " : "", status ? st : "", ms,
		*v->error ? ": " : "", v->error);
	if (strcmp(decision, "retry") == 0)
		log_debug("push: packet %s: next attempt in %.1f s", j->id, d);
	j->state = J_RECORDING;
	db_query(j->p->db, sql_push_record, 11, vals, on_recorded, j);
}

static const char *http_error_text(int e)
{
	switch (e - 1) {
	case EVREQ_HTTP_TIMEOUT:
		return "no answer within push.timeout_s";
	case EVREQ_HTTP_EOF:
		return "connection closed without an answer";
	case EVREQ_HTTP_INVALID_HEADER:
		return "malformed answer headers";
	case EVREQ_HTTP_BUFFER_ERROR:
		return "connection error";
	case EVREQ_HTTP_DATA_TOO_LONG:
		return "malformed answer: over 64 KiB";
	default:
		return "connection failed";
	}
}

/*
 * No answer: why, or what OpenSSL says when the TLS handshake failed (a
 * certificate that does not verify, a host name mismatch): a
 * configuration problem, logged at error.
 */
static void no_answer(struct job *j, const char *why, struct push_verdict *v)
{
	char tls[200] = "";
	unsigned long e = j->bev ? bufferevent_get_openssl_error(j->bev) : 0;
	SSL *ssl = j->bev ? bufferevent_openssl_get_ssl(j->bev) : NULL;
	long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
	if (vr != X509_V_OK)
		snprintf(tls, sizeof(tls), "%s", X509_verify_cert_error_string(vr));
	else if (e)
		ERR_error_string_n(e, tls, sizeof(tls));
	while (j->bev && bufferevent_get_openssl_error(j->bev))
		;
	memset(v, 0, sizeof(*v));
	v->outcome = PUSH_ERROR;
	v->retry_after_s = -1;
	v->config_problem = vr != X509_V_OK;
	if (*tls)
		snprintf(v->error, sizeof(v->error), "TLS failure (%s): %s", why, tls);
	else
		snprintf(v->error, sizeof(v->error), "%s", why);
}

static void on_request_error(enum evhttp_request_error e, void *arg)
{
	struct job *j = arg;
	j->http_error = (int)e + 1;
}

/* evhttp's callback: the answer, or NULL (or a status of 0) when there is none. */
static void on_response(struct evhttp_request *req, void *arg)
{
	struct job *j = arg;
	struct push_verdict v;
	int status = req ? evhttp_request_get_response_code(req) : 0;
	char *answer = NULL;

	if (status <= 0) {
		no_answer(j, http_error_text(j->http_error), &v);
		status = 0;
	} else {
		struct evbuffer *in = evhttp_request_get_input_buffer(req);
		size_t n = evbuffer_get_length(in);
		const char *body = n ? (const char *)evbuffer_pullup(in, -1) : "";
		const char *ra =
			evhttp_find_header(evhttp_request_get_input_headers(req), "Retry-After");
		push_classify(status, body, n, ra, time(NULL), &v);
		answer = malloc(ANSWER_KEPT + 1);
		if (answer)
			push_sanitize(body, n, answer, ANSWER_KEPT + 1, true);
	}
	job_detach(j);
	job_record(j, status, &v, answer, false);
	free(answer);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct job *j = arg;
	struct push_verdict v;
	no_answer(j, "no answer within push.timeout_s", &v);
	/* Not inside evhttp: the connection (and its request) can go now, with no callback. */
	evhttp_connection_free(j->evcon);
	j->evcon = NULL;
	j->bev = NULL;
	job_record(j, 0, &v, NULL, false);
}

/* Sign the body and POST it on a fresh connection; false with why when it cannot start. */
static bool job_send(struct job *j, char *why, size_t cap)
{
	struct push *p = j->p;
	struct push_config *c = j->cfg;
	uint8_t sig[PUSH_SIG_MAX];
	size_t siglen = sizeof(sig), blen = strlen(j->body);
	char sig64[PUSH_SIG_MAX * 4 / 3 + 8], attempt[16];

	if (!sig_sign(c->sign_key, (const uint8_t *)j->body, blen, sig, &siglen)) {
		snprintf(why, cap, "cannot sign the body with push.sign_key");
		return false;
	}
	push_signature_base64(sig, siglen, sig64);
	SSL *ssl = SSL_new(c->tls);
	bool named = ssl && (c->host_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
									   c->host) == 1
					   : SSL_set_tlsext_host_name(ssl, c->host) == 1 &&
						     SSL_set1_host(ssl, c->host) == 1);
	if (ssl && !named) {
		SSL_free(ssl);
		ssl = NULL;
	}
	struct bufferevent *bev = ssl ? bufferevent_openssl_socket_new(
						p->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
						BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS)
				      : NULL;
	if (bev == NULL) {
		SSL_free(ssl);
		ERR_clear_error();
		snprintf(why, cap, "cannot make a TLS connection");
		return false;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	j->evcon = evhttp_connection_base_bufferevent_new(p->base, p->dns, bev, c->host, c->port);
	if (j->evcon == NULL) {
		bufferevent_free(bev);
		snprintf(why, cap, "cannot make an HTTP connection");
		return false;
	}
	j->bev = bev;
	evhttp_connection_set_timeout(j->evcon, (int)c->timeout_s);
	evhttp_connection_set_max_body_size(j->evcon, PUSH_MAX_ANSWER);
	evhttp_connection_set_max_headers_size(j->evcon, MAX_ANSWER_HEADERS);
	evhttp_connection_set_retries(j->evcon, 0);
	struct evhttp_request *req = evhttp_request_new(on_response, j);
	if (req == NULL) {
		snprintf(why, cap, "out of memory");
		return false;
	}
	evhttp_request_set_error_cb(req, on_request_error);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	snprintf(attempt, sizeof(attempt), "%u", j->attempt);
	evhttp_add_header(h, "Host", c->host_header);
	evhttp_add_header(h, "User-Agent", "hoursd/" HOURSD_VERSION);
	evhttp_add_header(h, "Content-Type", "application/json; charset=utf-8");
	evhttp_add_header(h, "Connection", "close");
	evhttp_add_header(h, "X-Hoursd-Signature", sig64);
	evhttp_add_header(h, "X-Hoursd-Signature-Alg", c->alg);
	evhttp_add_header(h, "X-Hoursd-Key-Id", c->key_id);
	evhttp_add_header(h, "X-Hoursd-Packet-Id", j->id);
	evhttp_add_header(h, "X-Hoursd-Attempt", attempt);
	evbuffer_add(evhttp_request_get_output_buffer(req), j->body, blen);
	clock_gettime(CLOCK_MONOTONIC, &j->t0);
	j->started = now_wall();
	if (evhttp_make_request(j->evcon, req, EVHTTP_REQ_POST, c->path) != 0) {
		snprintf(why, cap, "cannot start the request");
		return false; /* evhttp freed the request */
	}
	j->state = J_SENDING;
	j->deadline = evtimer_new(p->base, on_deadline, j);
	if (j->deadline == NULL)
		die("out of memory");
	struct timeval tv = {(time_t)c->timeout_s, 0};
	evtimer_add(j->deadline, &tv);
	return true;
}

/* Send, or record why the attempt could not start (an error: retried). */
static void job_start(struct job *j)
{
	char why[200];
	clock_gettime(CLOCK_MONOTONIC, &j->t0);
	j->started = now_wall();
	if (job_send(j, why, sizeof(why)))
		return;
	struct push_verdict v = {.outcome = PUSH_ERROR, .retry_after_s = -1};
	snprintf(v.error, sizeof(v.error), "not sent: %s", why);
	if (j->evcon) {
		evhttp_connection_free(j->evcon);
		j->evcon = NULL;
		j->bev = NULL;
	}
	job_record(j, 0, &v, NULL, false);
}

static void on_saved(void *arg, const PGresult *res)
{
	struct job *j = arg;
	if (j->p->stopped || res == NULL || PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		if (res && !j->p->stopped)
			log_warn("push: packet %s: its lease passed to another attempt", j->id);
		/* Failed statement or lost lease: the packet comes back when the lease ends. */
		job_free(j);
		return;
	}
	char *body = strdup(PQgetvalue(res, 0, 0));
	if (body == NULL)
		die("out of memory");
	free(j->body);
	j->body = body;
	job_start(j);
}

static const char *col(const PGresult *res, int r, int c)
{
	return PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
}

static long long col_ll(const PGresult *res, int r, int c)
{
	return PQgetisnull(res, r, c) ? 0 : strtoll(PQgetvalue(res, r, c), NULL, 10);
}

/* The body from sql_push_take's values (columns 0 and 4-21), under the field map. */
static char *build_from_row(const struct job *j, const PGresult *res, int r, char *err,
			    size_t errlen)
{
	struct push_fields f = {
		.packet_id = col(res, r, 0),
		.student_no = col(res, r, 4),
		.part = (int)col_ll(res, r, 5),
		.vehicle_class = col(res, r, 6),
		.backfilled = PQgetvalue(res, r, 7)[0] == 't',
		.backfill_form = col(res, r, 20),
		.backfilled_minutes = col_ll(res, r, 21),
		.created_at = col(res, r, 8),
		.school_code = col(res, r, 9),
		.id_card_sha256 = col(res, r, 10),
		.vehicle = col_ll(res, r, 11),
		.simulator = col_ll(res, r, 12),
		.classroom = col_ll(res, r, 13),
		.remote = col_ll(res, r, 14),
		.mileage_km = col(res, r, 15),
		.first_minute = col(res, r, 16),
		.last_minute = col(res, r, 17),
		.record_count = col_ll(res, r, 18),
		.records_sha256 = col(res, r, 19),
	};
	return push_body_build(&f, j->cfg->field_map, err, errlen);
}

/* One taken packet: its job, then save (first attempt) or send. */
static void take_row(struct push *p, const PGresult *res, int r)
{
	struct job *j = calloc(1, sizeof(*j));
	if (j == NULL)
		die("out of memory");
	j->p = p;
	j->cfg = push_config_ref(p->cfg);
	snprintf(j->id, sizeof(j->id), "%s", PQgetvalue(res, r, 0));
	j->attempt = (unsigned)col_ll(res, r, 1);
	j->backoff_n = (unsigned)col_ll(res, r, 2);
	snprintf(j->student, sizeof(j->student), "%s", PQgetvalue(res, r, 4));
	j->part = (int)col_ll(res, r, 5);
	j->next = p->jobs;
	p->jobs = j;
	p->njobs++;
	p->st->push_in_flight = p->njobs;
	if (!PQgetisnull(res, r, 3)) {
		j->body = strdup(PQgetvalue(res, r, 3));
		if (j->body == NULL)
			die("out of memory");
		job_start(j);
		return;
	}
	char err[300], attempt[16];
	j->body = build_from_row(j, res, r, err, sizeof(err));
	if (j->body == NULL) {
		/* Retrying cannot help: an operator fixes the data and re-drives the packet. */
		struct push_verdict v = {.outcome = PUSH_ERROR, .retry_after_s = -1};
		snprintf(v.error, sizeof(v.error), "cannot build the body: %s", err);
		p->st->push_failed_unbuildable++;
		clock_gettime(CLOCK_MONOTONIC, &j->t0);
		j->started = now_wall();
		job_record(j, 0, &v, NULL, true);
		return;
	}
	snprintf(attempt, sizeof(attempt), "%u", j->attempt);
	const char *vals[3] = {j->id, j->body, attempt};
	j->state = J_SAVING;
	db_query(p->db, sql_push_save, 3, vals, on_saved, j);
}

static void on_taken(void *arg, const PGresult *res)
{
	struct push *p = arg;
	p->taking = false;
	if (p->stopped || res == NULL)
		return;
	if (p->cfg == NULL) {
		if (PQntuples(res) > 0)
			log_warn("push: switched off with %d packets just taken; they wait for "
				 "their lease to end",
				 PQntuples(res));
		return;
	}
	for (int r = 0; r < PQntuples(res); r++)
		take_row(p, res, r);
}

/* Take due packets when there is room (taken while draining are sent all the same). */
static void poke(struct push *p)
{
	if (p->cfg == NULL || p->draining || p->stopped || p->taking || !db_connected(p->db) ||
	    p->njobs >= p->cfg->concurrency)
		return;
	char lease[16], limit[16];
	snprintf(lease, sizeof(lease), "%u", p->cfg->lease_s);
	snprintf(limit, sizeof(limit), "%u", p->cfg->concurrency - p->njobs);
	const char *vals[2] = {lease, limit};
	p->taking = true;
	db_query(p->db, sql_push_take, 2, vals, on_taken, p);
}

static void on_counted(void *arg, const PGresult *res)
{
	struct push *p = arg;
	p->counting = false;
	if (p->stopped || res == NULL || PQntuples(res) != 1)
		return;
	p->st->outbox_waiting = (uint64_t)col_ll(res, 0, 0);
	p->st->outbox_oldest_s = (uint64_t)col_ll(res, 0, 1);
	p->st->outbox_failed = (uint64_t)col_ll(res, 0, 2);
	p->st->outbox_known = true;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct push *p = arg;
	if (p->draining || p->stopped)
		return;
	if (p->ticks++ % STATS_EVERY_S == 0 && !p->counting && db_connected(p->db)) {
		p->counting = true;
		db_query(p->db, sql_push_outbox_stats, 0, NULL, on_counted, p);
	}
	poke(p);
}

/* ---- the interface ---- */

static void log_config(const struct push_config *pc)
{
	if (pc == NULL) {
		log_info("push: off (push.url not set); met parts wait in the outbox");
		return;
	}
	log_info("push: on, POST %s (%s, key id %.16s..., %u at once, timeout %u s, lease %u "
		 "s%s)",
		 pc->url, pc->alg, pc->key_id, pc->concurrency, pc->timeout_s, pc->lease_s,
		 pc->field_map ? ", field map" : "");
}

struct push *push_new(struct event_base *base, struct db *db, struct server_stats *st,
		      struct push_config *pc)
{
	struct push *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->base = base;
	p->db = db;
	p->st = st;
	p->cfg = pc;
	p->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
					      EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (p->dns == NULL)
		log_warn("push: no DNS resolver (/etc/resolv.conf); host names are resolved "
			 "blocking");
	p->tick = event_new(base, -1, EV_PERSIST, on_tick, p);
	p->reap = event_new(base, -1, 0, on_reap, p);
	if (p->tick == NULL || p->reap == NULL) {
		push_free(p);
		return NULL;
	}
	struct timeval sec = {1, 0};
	event_add(p->tick, &sec);
	st->push_enabled = pc != NULL;
	log_config(pc);
	return p;
}

void push_reconfigure(struct push *p, struct push_config *pc)
{
	push_config_free(p->cfg);
	p->cfg = pc;
	p->st->push_enabled = pc != NULL;
	log_config(pc);
	poke(p);
}

void push_drain(struct push *p)
{
	p->draining = true;
	if (p->njobs)
		log_info("push: %u attempts in flight finish; no new packets taken", p->njobs);
}

bool push_idle(const struct push *p)
{
	return p->njobs == 0 && !p->taking;
}

void push_stop(struct push *p)
{
	if (p == NULL)
		return;
	p->stopped = true;
	/* Requests in flight are abandoned; their packets come back when the lease ends. */
	for (struct job *j = p->jobs, *next; j; j = next) {
		next = j->next;
		if (j->state == J_SENDING) {
			log_warn("push: packet %s abandoned in flight at exit", j->id);
			job_free(j);
		}
	}
	on_reap(-1, 0, p);
}

void push_free(struct push *p)
{
	if (p == NULL)
		return;
	p->stopped = true;
	while (p->jobs)
		job_free(p->jobs);
	on_reap(-1, 0, p);
	if (p->tick)
		event_free(p->tick);
	if (p->reap)
		event_free(p->reap);
	if (p->dns)
		evdns_base_free(p->dns, 0);
	push_config_free(p->cfg);
	free(p);
}
