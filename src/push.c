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
 * db_query, parameterized: sql/queries/daemon/push_take.sql, push_save.sql,
 * push_record.sql, and push_outbox_stats.sql for the gauges.
 */
#include "hoursd.h"
#include "push.h"
#include "log.h"
#include "push_answer.h"
#include "push_body.h"
#include "push_national.h"
#include "teachlog.h"
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
#include <jansson.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define MAX_ANSWER_HEADERS 16384
#define ANSWER_KEPT 4096 /* push_attempt.answer */
#define STATS_EVERY_S 5	 /* the outbox gauges */

enum job_state { J_LOG, J_CLASSRECORD, J_UPLOADING, J_SAVING, J_SENDING, J_RECORDING, J_REVIEW };

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
	/* The national profile's first attempt: the take's values, the teaching log, its PDF. */
	json_t *fields; /* the body's values of sql_push_take's row (fields_of_row) */
	char *doc;	/* sql_teaching_log's document */
	unsigned char *pdf;
	size_t pdf_len;
	bool review;	   /* done under the national profile: fetch the review */
	unsigned failed_1; /* the platform's answers of errorcode 1 since the last re-drive */
	char *seal_pem;	   /* the packet's school's seal key (PEM), NULL: none */
	json_t *lessons;   /* the teaching logs of the part (the doc's classrecords) */
	size_t lesson;	   /* the next one to send */
	char *lesson_body; /* the one in flight */
	/* Master data upward (upward_item, 023): this job sends one item. */
	bool upward;
	char kind[16], method[8];
	char *key; /* DELETE: the number in the path */
	/* A training area's review (028): student holds its inscode. */
	bool region;
	char seq[16];
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
	bool taking, taking_reviews, counting, draining, stopped;
	bool taking_upward, upward_busy; /* one upward item at a time: in order */
	bool taking_region_reviews;
};

static void poke(struct push *p);
static void review_due(struct job *j, double in_s);
static void region_review_due(struct job *j, double in_s);
static void upward_record(struct job *j, int status, const struct push_verdict *v,
			  const char *answer);

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
	json_decref(j->fields);
	free(j->doc);
	free(j->pdf);
	if (j->seal_pem)
		OPENSSL_cleanse(j->seal_pem, strlen(j->seal_pem));
	free(j->seal_pem);
	json_decref(j->lessons);
	free(j->lesson_body);
	free(j->key);
	if (j->upward)
		p->upward_busy = false;
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
		const char *state = PQgetvalue(res, 0, PUSH_RECORD_STATE);
		const char *error = PQgetvalue(res, 0, PUSH_RECORD_LAST_ERROR);
		if (strcmp(state, "failed") == 0) {
			bool expired = strncmp(error, "expired", 7) == 0;
			if (expired)
				p->st->push_failed_expired++;
			log_error("push: packet %s (student %s, part %d) failed: %s", j->id,
				  j->student, j->part, error);
		}
		if (strcmp(state, "done") == 0 && j->review) {
			review_due(j, 0); /* fetched by the reviews' take; the job goes */
			return;
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
	char started[32], latency[16], st[16], delay[32], maxage[16], attempt[16], ec[16];
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
	snprintf(ec, sizeof(ec), "%d", v->errorcode);
	const char *vals[12] = {j->id,
				attempt,
				started,
				latency,
				status ? st : NULL,
				push_outcome_name(v->outcome),
				answer,
				decision,
				delay,
				maxage,
				*v->error ? v->error : NULL,
				v->has_errorcode ? ec : NULL};

	count_outcome(j->p->st, v->outcome);
	if (v->platform_refused)
		j->p->st->push_failed_platform++;
	else if (v->outcome == PUSH_REJECTED)
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
	db_query(j->p->db, sql_push_record, 12, vals, on_recorded, j);
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
/*
 * The platform's HTTP answer, read the same way for every call of an
 * attempt (the stage hours or the contract's packet, the upload, a
 * teaching log, an upward item): its status (0: none, and v says why);
 * for an answer, the verdict (national_classify() under the national
 * profile, else push_classify()), the answer kept cut and sanitized
 * (*kept, the caller frees it) and its bytes (*body, *len: valid until
 * the request is freed).
 */
static int read_answer(struct job *j, struct evhttp_request *req, struct push_verdict *v,
		       char **kept, const char **body, size_t *len)
{
	int status = req ? evhttp_request_get_response_code(req) : 0;
	*kept = NULL;
	*body = "";
	*len = 0;
	if (status <= 0) {
		no_answer(j, http_error_text(j->http_error), v);
		return 0;
	}
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	*len = evbuffer_get_length(in);
	if (*len)
		*body = (const char *)evbuffer_pullup(in, -1);
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const char *ra = evhttp_find_header(h, "Retry-After");
	if (j->cfg->national)
		national_classify(status, *body, *len, ra, evhttp_find_header(h, "Date"),
				  time(NULL), j->failed_1, j->cfg->failed_max, v);
	else
		push_classify(status, *body, *len, ra, time(NULL), v);
	*kept = malloc(ANSWER_KEPT + 1);
	if (*kept)
		push_sanitize(*body, *len, *kept, ANSWER_KEPT + 1, true);
	return status;
}

static void on_response(struct evhttp_request *req, void *arg)
{
	struct job *j = arg;
	struct push_verdict v;
	char *answer;
	const char *body;
	size_t n;
	int status = read_answer(j, req, &v, &answer, &body, &n);
	if (status > 0 && j->cfg->national)
		j->review = j->cfg->review && v.outcome == PUSH_ACCEPTED;
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
	if (j->upward) {
		upward_record(j, 0, &v, NULL);
		return;
	}
	if (j->state == J_REVIEW && j->region) {
		log_warn("push: training area %s-%s: no review within push.timeout_s", j->student,
			 j->seq);
		region_review_due(j, j->cfg->review_min_s);
		return;
	}
	if (j->state == J_REVIEW) {
		log_warn("push: packet %s: no review within push.timeout_s", j->id);
		review_due(j, j->cfg->review_min_s);
		return;
	}
	if (j->state == J_UPLOADING)
		snprintf(v.error, sizeof(v.error),
			 "teaching-log upload: no answer within "
			 "push.timeout_s");
	if (j->state == J_CLASSRECORD)
		snprintf(v.error, sizeof(v.error), "teaching log: no answer within push.timeout_s");
	job_record(j, 0, &v, NULL, false);
}

/*
 * A fresh HTTPS connection to the platform and a request on it with the
 * headers every call has; cb gets the answer.  NULL with why when it
 * cannot be made (j->evcon, when set, is freed by the caller).
 */
static struct evhttp_request *
job_connect(struct job *j, void (*cb)(struct evhttp_request *, void *), char *why, size_t cap)
{
	struct push *p = j->p;
	struct push_config *c = j->cfg;
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
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	j->evcon = evhttp_connection_base_bufferevent_new(p->base, p->dns, bev, c->host, c->port);
	if (j->evcon == NULL) {
		bufferevent_free(bev);
		snprintf(why, cap, "cannot make an HTTP connection");
		return NULL;
	}
	j->bev = bev;
	evhttp_connection_set_timeout(j->evcon, (int)c->timeout_s);
	evhttp_connection_set_max_body_size(j->evcon, PUSH_MAX_ANSWER);
	evhttp_connection_set_max_headers_size(j->evcon, MAX_ANSWER_HEADERS);
	evhttp_connection_set_retries(j->evcon, 0);
	struct evhttp_request *req = evhttp_request_new(cb, j);
	if (req == NULL) {
		snprintf(why, cap, "out of memory");
		return NULL;
	}
	evhttp_request_set_error_cb(req, on_request_error);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", c->host_header);
	evhttp_add_header(h, "User-Agent", "hoursd/" HOURSD_VERSION);
	evhttp_add_header(h, "Connection", "close");
	return req;
}

/* Send req (headers and body set) to uri; the deadline of push.timeout_s starts. */
static bool job_launch(struct job *j, struct evhttp_request *req, enum evhttp_cmd_type cmd,
		       const char *uri, enum job_state st, char *why, size_t cap)
{
	if (evhttp_make_request(j->evcon, req, cmd, uri) != 0) {
		snprintf(why, cap, "cannot start the request");
		return false; /* evhttp freed the request */
	}
	j->state = st;
	/* One timer per job: the national profile's calls (upload, hours, review) reuse it. */
	if (j->deadline == NULL && (j->deadline = evtimer_new(j->p->base, on_deadline, j)) == NULL)
		die("out of memory");
	struct timeval tv = {(time_t)j->cfg->timeout_s, 0};
	evtimer_add(j->deadline, &tv);
	return true;
}

/*
 * A call of the national profile: path appended to the base of push.url,
 * signed data (the body, the file, or the path's keys) signed with a
 * fresh ts, the query ?v=&ts=&sign=&user=, and body (n bytes, NULL: none).
 */
static bool national_call(struct job *j, enum evhttp_cmd_type cmd, const char *path,
			  const void *sdata, size_t sn, const char *ctype, const void *body,
			  size_t n, void (*cb)(struct evhttp_request *, void *), enum job_state st,
			  char *why, size_t cap)
{
	struct push_config *c = j->cfg;
	char sign[NATIONAL_SIGN_HEX + 1], full[2400];
	/*
	 * A fresh ts on every call, never one this process used before: the
	 * platform refuses a reused one (201), and calls in flight together
	 * may start within the same millisecond.
	 */
	static uint64_t last_ts;
	uint64_t ts = (uint64_t)(now_wall() * 1000.0);
	if (ts <= last_ts)
		ts = last_ts + 1;
	last_ts = ts;
	if (!national_sign(c->sign_key, sdata, sn, ts, sign)) {
		snprintf(why, cap, "cannot sign with push.sign_key");
		return false;
	}
	snprintf(full, sizeof(full), "%s%s", c->path, path);
	char *uri = national_uri(full, ts, sign, c->user);
	struct evhttp_request *req = uri ? job_connect(j, cb, why, cap) : NULL;
	if (req == NULL) {
		if (uri == NULL)
			snprintf(why, cap, "out of memory");
		free(uri);
		return false;
	}
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	if (ctype)
		evhttp_add_header(h, "Content-Type", ctype);
	if (body)
		evbuffer_add(evhttp_request_get_output_buffer(req), body, n);
	bool ok = job_launch(j, req, cmd, uri, st, why, cap);
	free(uri);
	return ok;
}

/* Sign the body and POST it on a fresh connection; false with why when it cannot start. */
static bool job_send(struct job *j, char *why, size_t cap)
{
	struct push_config *c = j->cfg;
	uint8_t sig[PUSH_SIG_MAX];
	size_t siglen = sizeof(sig), blen = strlen(j->body);
	char sig64[PUSH_SIG_MAX * 4 / 3 + 8], attempt[16];

	clock_gettime(CLOCK_MONOTONIC, &j->t0);
	j->started = now_wall();
	if (c->national)
		return national_call(j, EVHTTP_REQ_POST, "/stagetrainningtime", j->body, blen,
				     "application/json;charset=utf-8", j->body, blen, on_response,
				     J_SENDING, why, cap);
	if (!sig_sign(c->sign_key, (const uint8_t *)j->body, blen, sig, &siglen)) {
		snprintf(why, cap, "cannot sign the body with push.sign_key");
		return false;
	}
	push_signature_base64(sig, siglen, sig64);
	struct evhttp_request *req = job_connect(j, on_response, why, cap);
	if (req == NULL)
		return false;
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	snprintf(attempt, sizeof(attempt), "%u", j->attempt);
	evhttp_add_header(h, "Content-Type", "application/json; charset=utf-8");
	evhttp_add_header(h, "X-Hoursd-Signature", sig64);
	evhttp_add_header(h, "X-Hoursd-Signature-Alg", c->alg);
	evhttp_add_header(h, "X-Hoursd-Key-Id", c->key_id);
	evhttp_add_header(h, "X-Hoursd-Packet-Id", j->id);
	evhttp_add_header(h, "X-Hoursd-Attempt", attempt);
	evbuffer_add(evhttp_request_get_output_buffer(req), j->body, blen);
	return job_launch(j, req, EVHTTP_REQ_POST, c->path, J_SENDING, why, cap);
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

/* The body of sql_push_save's row, or of sql_push_save_national's: the same column. */
_Static_assert((int)PUSH_SAVE_BODY == (int)PUSH_SAVE_NATIONAL_BODY, "push_save*.sql: body");

static void on_saved(void *arg, const PGresult *res)
{
	struct job *j = arg;
	if (j->p->stopped || res == NULL || PQntuples(res) != 1 ||
	    PQgetisnull(res, 0, PUSH_SAVE_BODY)) {
		if (res && !j->p->stopped)
			log_warn("push: packet %s: its lease passed to another attempt", j->id);
		/* Failed statement or lost lease: the packet comes back when the lease ends. */
		job_free(j);
		return;
	}
	char *body = strdup(PQgetvalue(res, 0, PUSH_SAVE_BODY));
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

/* The body's values of sql_push_take's row; strings point into res. */
static void fields_of_row(const PGresult *res, int r, struct push_fields *f)
{
	*f = (struct push_fields){
		.packet_id = col(res, r, PUSH_TAKE_ID),
		.student_no = col(res, r, PUSH_TAKE_STUDENT_NO),
		.part = (int)col_ll(res, r, PUSH_TAKE_PART),
		.vehicle_class = col(res, r, PUSH_TAKE_VEHICLE_CLASS),
		.backfilled = PQgetvalue(res, r, PUSH_TAKE_BACKFILLED)[0] == 't',
		.backfill_form = col(res, r, PUSH_TAKE_FORMS),
		.backfilled_minutes = col_ll(res, r, PUSH_TAKE_BF_MINUTES),
		.created_at = col(res, r, PUSH_TAKE_CREATED),
		.school_code = col(res, r, PUSH_TAKE_SCHOOL),
		.id_card_sha256 = col(res, r, PUSH_TAKE_ID_CARD),
		.vehicle = col_ll(res, r, PUSH_TAKE_VEH),
		.simulator = col_ll(res, r, PUSH_TAKE_SIM),
		.classroom = col_ll(res, r, PUSH_TAKE_CLS),
		.remote = col_ll(res, r, PUSH_TAKE_REM),
		.mileage_km = col(res, r, PUSH_TAKE_KM),
		.first_minute = col(res, r, PUSH_TAKE_FIRST),
		.last_minute = col(res, r, PUSH_TAKE_LAST),
		.record_count = col_ll(res, r, PUSH_TAKE_N),
		.records_sha256 = col(res, r, PUSH_TAKE_DIGEST),
	};
}

/* The same values kept in the job (JSON) while the national profile gathers the teaching log. */
static json_t *fields_to_json(const struct push_fields *f)
{
	json_t *o = json_pack("{s:s?, s:s?, s:i, s:s?, s:b, s:s?, s:s?, s:I, s:I, s:I, s:I, s:s?}",
			      "packet_id", f->packet_id, "student_no", f->student_no, "part",
			      f->part, "vehicle_class", f->vehicle_class, "backfilled",
			      f->backfilled, "created_at", f->created_at, "school_code",
			      f->school_code, "vehicle", (json_int_t)f->vehicle, "simulator",
			      (json_int_t)f->simulator, "classroom", (json_int_t)f->classroom,
			      "remote", (json_int_t)f->remote, "mileage_km", f->mileage_km);
	if (o == NULL)
		die("out of memory");
	return o;
}

static void fields_from_json(json_t *o, struct push_fields *f)
{
#define S(k) json_string_value(json_object_get(o, k))
#define I(k) json_integer_value(json_object_get(o, k))
	*f = (struct push_fields){
		.packet_id = S("packet_id"),
		.student_no = S("student_no"),
		.part = (int)I("part"),
		.vehicle_class = S("vehicle_class"),
		.backfilled = json_is_true(json_object_get(o, "backfilled")),
		.created_at = S("created_at"),
		.school_code = S("school_code"),
		.vehicle = I("vehicle"),
		.simulator = I("simulator"),
		.classroom = I("classroom"),
		.remote = I("remote"),
		.mileage_km = S("mileage_km"),
	};
#undef S
#undef I
}

/* Retrying cannot help: an operator fixes the data and re-drives the packet. */
static void unbuildable(struct job *j, const char *why)
{
	struct push_verdict v = {.outcome = PUSH_ERROR, .retry_after_s = -1};
	snprintf(v.error, sizeof(v.error), "cannot build the body: %s", why);
	j->p->st->push_failed_unbuildable++;
	clock_gettime(CLOCK_MONOTONIC, &j->t0);
	j->started = now_wall();
	job_record(j, 0, &v, NULL, true);
}

/* An attempt of the national profile that could not start a call: an error, retried. */
static void not_sent(struct job *j, const char *what, const char *why)
{
	struct push_verdict v = {.outcome = PUSH_ERROR, .retry_after_s = -1};
	snprintf(v.error, sizeof(v.error), "%snot sent: %s", what, why);
	if (j->evcon) {
		evhttp_connection_free(j->evcon);
		j->evcon = NULL;
		j->bev = NULL;
	}
	job_record(j, 0, &v, NULL, false);
}

/*
 * esignature (push.national_esignature): the seal key of the packet's
 * school (school_seal) over body (the body with esignature "") or over
 * the teaching log's PDF.  False with err when the school has no seal.
 */
static bool esignature(struct job *j, const char *body, char hex[NATIONAL_SIGN_HEX + 1], char *err,
		       size_t errlen)
{
	const char *school = json_string_value(json_object_get(j->fields, "school_code"));
	if (j->seal_pem == NULL) {
		snprintf(err, errlen,
			 "school %s has no seal for esignature (push.national_esignature): "
			 "hoursctl school seal %s --p12 FILE --pass-file FILE",
			 school ? school : "?", school ? school : "CODE");
		return false;
	}
	BIO *b = BIO_new_mem_buf(j->seal_pem, -1);
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	bool ok = k && (j->cfg->esign == NATIONAL_ESIGN_PDF
				? national_seal(k, j->pdf, j->pdf_len, hex)
				: national_seal(k, (const uint8_t *)body, strlen(body), hex));
	EVP_PKEY_free(k);
	ERR_clear_error();
	if (!ok)
		snprintf(err, errlen, "school %s: its seal key cannot sign (RSA-2048 expected)",
			 school ? school : "?");
	return ok;
}

/* The national body with the uploaded PDF's id, kept with the packet, then sent (on_saved). */
static void national_save(struct job *j, const char *pdfid)
{
	struct push_fields f;
	char err[300], attempt[16], sha[65];
	uint8_t md[32];
	fields_from_json(j->fields, &f);
	json_t *doc = json_loads(j->doc, 0, NULL);
	const struct national_values nv = {j->cfg->rectype, j->cfg->rectype_backfilled,
					   j->cfg->examresult};
	/* recarray: the records' own numbers (parts 2, 3), the teaching logs' (parts 1, 4). */
	json_t *rnums = json_object_get(doc, "rnums"), *logs = NULL;
	if (f.part == 1 || f.part == 4) {
		size_t i;
		json_t *l;
		logs = json_array();
		json_array_foreach(json_object_get(doc, "classrecords"), i, l)
			json_array_append(logs, json_object_get(l, "recnum"));
		rnums = logs;
	}
	char *body = national_body(&f, &nv, rnums, pdfid, "", err, sizeof(err));
	if (body && j->cfg->esign != NATIONAL_ESIGN_NONE) {
		/* esignature: the school's seal over the body without it, or over the PDF. */
		char seal[NATIONAL_SIGN_HEX + 1];
		if (!esignature(j, body, seal, err, sizeof(err))) {
			free(body);
			body = NULL;
		} else {
			free(body);
			body = national_body(&f, &nv, rnums, pdfid, seal, err, sizeof(err));
		}
	}
	json_decref(logs);
	json_decref(doc);
	if (body == NULL) {
		unbuildable(j, err);
		return;
	}
	free(j->body);
	j->body = body;
	EVP_Digest(j->pdf, j->pdf_len, md, NULL, EVP_sha256(), NULL);
	hex_encode(sha, md, 32);
	snprintf(attempt, sizeof(attempt), "%u", j->attempt);
	const char *vals[5] = {j->id, j->body, attempt, pdfid, sha};
	j->state = J_SAVING;
	db_query(j->p->db, sql_push_save_national, 5, vals, on_saved, j);
}

/* The platform's answer to the teaching log's upload: its id, or the attempt is over. */
static void on_uploaded(struct evhttp_request *req, void *arg)
{
	struct job *j = arg;
	struct push_verdict v;
	char *answer, id[128], why[300], err[sizeof(v.error)];
	const char *body;
	size_t n;
	/* The upload's errorcode means what it means for the stage hours (201, 202...). */
	int status = read_answer(j, req, &v, &answer, &body, &n);
	if (status >= 200 && status < 300 &&
	    national_upload_id(body, n, id, sizeof(id), why, sizeof(why))) {
		free(answer);
		job_detach(j);
		log_debug("push: packet %s: teaching log uploaded (%zu bytes), pdfid %s", j->id,
			  j->pdf_len, id);
		national_save(j, id);
		return;
	}
	if (status > 0 && v.outcome == PUSH_ACCEPTED) {
		v.outcome = PUSH_ERROR;
		snprintf(v.error, sizeof(v.error), "%s", why);
	}
	snprintf(err, sizeof(err), "%s", v.error);
	snprintf(v.error, sizeof(v.error), "teaching-log upload: %.480s", err);
	job_detach(j);
	job_record(j, status, &v, answer, false);
	free(answer);
}

static void next_classrecord(struct job *j);
static void upload_pdf(struct job *j);

/* A teaching log kept as accepted (teaching_log_sent): the next one. */
static void on_classrecord_kept(void *arg, const PGresult *res)
{
	struct job *j = arg;
	if (j->p->stopped || res == NULL) {
		job_free(j); /* the packet comes back when the lease ends */
		return;
	}
	j->lesson++;
	next_classrecord(j);
}

/* The platform's answer to a lesson's teaching log: kept when 0, else the attempt is over. */
static void on_classrecord(struct evhttp_request *req, void *arg)
{
	struct job *j = arg;
	struct push_verdict v;
	char *answer, err[sizeof(v.error)];
	const char *body;
	size_t n;
	const char *recnum =
		json_string_value(json_object_get(json_array_get(j->lessons, j->lesson), "recnum"));
	int status = read_answer(j, req, &v, &answer, &body, &n);
	if (status > 0 && v.outcome == PUSH_ACCEPTED) {
		free(answer);
		job_detach(j);
		log_debug("push: packet %s: teaching log %s accepted", j->id, recnum);
		const char *vals[3] = {recnum, j->id, j->lesson_body};
		j->state = J_LOG;
		db_query(j->p->db, sql_teaching_log_sent, 3, vals, on_classrecord_kept, j);
		return;
	}
	snprintf(err, sizeof(err), "%s", v.error);
	snprintf(v.error, sizeof(v.error), "teaching log %.40s: %.440s", recnum ? recnum : "?",
		 err);
	job_detach(j);
	job_record(j, status, &v, answer, false);
	free(answer);
}

/*
 * POST {base}/classrecord of the next lesson the platform has not accepted
 * yet (teaching_log_sent); when none is left, the PDF's upload.
 */
static void next_classrecord(struct job *j)
{
	char err[300], why[200];
	json_t *l;
	while ((l = json_array_get(j->lessons, j->lesson)) != NULL &&
	       json_is_true(json_object_get(l, "sent")))
		j->lesson++;
	if (l == NULL) {
		upload_pdf(j);
		return;
	}
	if (json_is_true(json_object_get(l, "queued"))) {
		/* The lesson closed: the upward queue sends its log; the stage hours wait for it.
		 */
		snprintf(why, sizeof(why), "%.40s waits for its lesson's log in the upward queue",
			 json_string_value(json_object_get(l, "recnum")));
		not_sent(j, "teaching log ", why);
		return;
	}
#define S(k) json_string_value(json_object_get(l, k))
	int part = (int)json_integer_value(json_object_get(l, "part"));
	int minutes = (int)json_integer_value(json_object_get(l, "duration"));
	struct national_lesson nl = {
		.inscode = S("inscode"),
		.stunum = S("stunum"),
		.coachnum = S("coachnum"),
		.carnum = S("carnum"),
		.simunum = S("simunum"),
		.platnum = S("platnum"),
		.recnum = S("recnum"),
		.subjcode = S("subjcode"),
		.starttime = S("starttime"),
		.endtime = S("endtime"),
		.coacmt = "",
		.duration = minutes,
		.total = minutes,
		.mileage_km = S("mileage_km"),
		.avevelocity = S("avevelocity"),
	};
#undef S
	if (part >= 1 && part <= 4)
		nl.part[part - 1] = minutes;
	free(j->lesson_body);
	j->lesson_body = national_classrecord_body(&nl, err, sizeof(err));
	if (j->lesson_body == NULL) {
		unbuildable(j, err);
		return;
	}
	size_t n = strlen(j->lesson_body);
	if (!national_call(j, EVHTTP_REQ_POST, "/classrecord", j->lesson_body, n,
			   "application/json;charset=utf-8", j->lesson_body, n, on_classrecord,
			   J_CLASSRECORD, why, sizeof(why)))
		not_sent(j, "teaching log: ", why);
}

/* The back-filled forms are in: draw the teaching log, send the lessons' logs, upload it. */
static void on_forms(void *arg, const PGresult *res)
{
	struct job *j = arg;
	char err[300];

	if (j->p->stopped || res == NULL) {
		job_free(j); /* the packet comes back when the lease ends */
		return;
	}
	j->pdf = teachlog_pdf(j->doc, res, &j->pdf_len, err, sizeof(err));
	if (j->pdf == NULL) {
		unbuildable(j, err);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &j->t0);
	j->started = now_wall();
	json_t *doc = json_loads(j->doc, 0, NULL);
	j->lessons = json_incref(json_object_get(doc, "classrecords"));
	json_decref(doc);
	j->lesson = 0;
	next_classrecord(j);
}

/*
 * A file as the public code uploads it (multipart/form-data, one part
 * named file, a random boundary): malloc'd, its length in *flen and the
 * request's Content-Type in ctype; NULL when it cannot be made.
 */
static unsigned char *upload_form(const uint8_t *file, size_t n, const char *filename,
				  const char *type, char ctype[96], size_t *flen)
{
	unsigned char *form = NULL, rnd[16];
	char boundary[48], rhex[33];
	for (int tries = 0; form == NULL && tries < 4; tries++) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			break;
		hex_encode(rhex, rnd, sizeof(rnd));
		snprintf(boundary, sizeof(boundary), "hoursd-%s", rhex);
		form = national_multipart(file, n, filename, type, boundary, flen);
	}
	if (form)
		snprintf(ctype, 96, "multipart/form-data; boundary=%s", boundary);
	return form;
}

/* The teaching log's PDF uploaded (/imageup/epdfimg), once the lessons' logs went up. */
static void upload_pdf(struct job *j)
{
	char why[200], ctype[96];
	size_t flen = 0;
	/* sign= over the file's bytes alone */
	unsigned char *form =
		upload_form(j->pdf, j->pdf_len, "teachlog.pdf", "application/pdf", ctype, &flen);
	if (form == NULL) {
		not_sent(j, "teaching-log upload: ", "cannot make the multipart form");
		return;
	}
	if (!national_call(j, EVHTTP_REQ_POST, "/imageup/epdfimg", j->pdf, j->pdf_len, ctype, form,
			   flen, on_uploaded, J_UPLOADING, why, sizeof(why)))
		not_sent(j, "teaching-log upload: ", why);
	free(form);
}

/* The teaching log's document; then the back-filled forms. */
static void on_log(void *arg, const PGresult *res)
{
	struct job *j = arg;
	if (j->p->stopped || res == NULL) {
		job_free(j);
		return;
	}
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, TEACHING_LOG_DOC)) {
		unbuildable(j, "no minutes of the student's part: no teaching log");
		return;
	}
	j->doc = strdup(PQgetvalue(res, 0, TEACHING_LOG_DOC));
	if (j->doc == NULL)
		die("out of memory");
	char part[8];
	snprintf(part, sizeof(part), "%d", j->part);
	const char *vals[2] = {j->student, part};
	db_query(j->p->db, sql_teaching_log_backfill, 2, vals, on_forms, j);
}

static void on_review_saved(void *arg, const PGresult *res)
{
	struct job *j = arg;
	struct push *p = j->p;
	if (res && PQntuples(res) == 1 && !p->stopped)
		log_info("push: packet %s: review %s", j->id,
			 PQgetvalue(res, 0, PUSH_REVIEW_SAVE_FINAL)[0] == 't'
				 ? "final"
				 : "not final yet: fetched again later");
	job_free(j);
	if (!p->stopped)
		poke(p);
}

/* The review's next fetch is due in in_s seconds (push_review_due.sql); then the job goes. */
static void review_due(struct job *j, double in_s)
{
	char s[32];
	snprintf(s, sizeof(s), "%.3f", in_s);
	const char *vals[2] = {j->id, s};
	j->state = J_RECORDING;
	db_query(j->p->db, sql_push_review_due, 2, vals, on_review_saved, j);
}

/* The review's answer, stored (push_review) when it has an errorcode; else fetched again later. */
static void on_review(struct evhttp_request *req, void *arg)
{
	struct job *j = arg;
	struct push *p = j->p;
	int status = req ? evhttp_request_get_response_code(req) : 0;
	struct evbuffer *in = status > 0 ? evhttp_request_get_input_buffer(req) : NULL;
	size_t n = in ? evbuffer_get_length(in) : 0;
	const char *body = n ? (const char *)evbuffer_pullup(in, -1) : "";
	json_t *a = n && n <= PUSH_MAX_ANSWER ? json_loadb(body, n, 0, NULL) : NULL;
	json_t *ec = json_object_get(a, "errorcode");
	job_detach(j);
	if (!json_is_integer(ec)) {
		log_warn("push: packet %s: the review's answer is %s (HTTP %d)", j->id,
			 status > 0 ? "malformed" : "missing", status);
		json_decref(a);
		review_due(j, j->cfg->review_min_s);
		return;
	}
	char code[24], answer[ANSWER_KEPT + 1], lo[16], hi[16];
	char *data = json_is_object(json_object_get(a, "data"))
			     ? json_dumps(json_object_get(a, "data"), JSON_COMPACT)
			     : NULL;
	snprintf(code, sizeof(code), "%lld", (long long)json_integer_value(ec));
	snprintf(lo, sizeof(lo), "%u", j->cfg->review_min_s);
	snprintf(hi, sizeof(hi), "%u", j->cfg->review_max_s);
	push_sanitize(body, n, answer, sizeof(answer), true);
	log_info("push: packet %s: review fetched, errorcode %s", j->id, code);
	const char *vals[6] = {j->id, code, answer, data, lo, hi};
	j->state = J_RECORDING;
	db_query(p->db, sql_push_review_save, 6, vals, on_review_saved, j);
	free(data);
	json_decref(a);
}

/* GET {base}/{stunum}-stagetrainningtimereview-{subject}, signed over stunum and subject. */
static void start_review(struct job *j)
{
	char path[128], keys[64], why[200];
	snprintf(path, sizeof(path), "/%s-stagetrainningtimereview-%d", j->student, j->part);
	snprintf(keys, sizeof(keys), "%s%d", j->student, j->part);
	if (national_call(j, EVHTTP_REQ_GET, path, keys, strlen(keys), NULL, NULL, 0, on_review,
			  J_REVIEW, why, sizeof(why)))
		return;
	log_warn("push: packet %s: review not fetched: %s", j->id, why);
	if (j->evcon) {
		evhttp_connection_free(j->evcon);
		j->evcon = NULL;
		j->bev = NULL;
	}
	review_due(j, j->cfg->review_min_s);
}

/* The reviews due, taken: a job each (push_review_take.sql). */
static void on_reviews_taken(void *arg, const PGresult *res)
{
	struct push *p = arg;
	p->taking_reviews = false;
	if (p->stopped || res == NULL || p->cfg == NULL)
		return;
	for (int r = 0; r < PQntuples(res); r++) {
		struct job *j = calloc(1, sizeof(*j));
		if (j == NULL)
			die("out of memory");
		j->p = p;
		j->cfg = push_config_ref(p->cfg);
		snprintf(j->id, sizeof(j->id), "%s", PQgetvalue(res, r, PUSH_REVIEW_TAKE_ID));
		snprintf(j->student, sizeof(j->student), "%s",
			 PQgetvalue(res, r, PUSH_REVIEW_TAKE_STUDENT_NO));
		j->part = (int)col_ll(res, r, PUSH_REVIEW_TAKE_PART);
		j->next = p->jobs;
		p->jobs = j;
		p->njobs++;
		p->st->push_in_flight = p->njobs;
		clock_gettime(CLOCK_MONOTONIC, &j->t0);
		j->started = now_wall();
		start_review(j);
	}
}

/* Take the stage reviews due (national profile, push.national_review) when there is room. */
static void poke_reviews(struct push *p)
{
	if (p->cfg == NULL || !p->cfg->national || !p->cfg->review || p->draining || p->stopped ||
	    p->taking_reviews || !db_connected(p->db) || p->njobs >= p->cfg->concurrency)
		return;
	char lease[16], limit[16];
	snprintf(lease, sizeof(lease), "%u", p->cfg->lease_s);
	snprintf(limit, sizeof(limit), "%u", p->cfg->concurrency - p->njobs);
	const char *vals[2] = {lease, limit};
	p->taking_reviews = true;
	db_query(p->db, sql_push_review_take, 2, vals, on_reviews_taken, p);
}

/* ---- a training area's review (028; docs/push-contract.md 9.8) ---- */

static void on_region_review_saved(void *arg, const PGresult *res)
{
	struct job *j = arg;
	struct push *p = j->p;
	if (res && PQntuples(res) == 1 && !p->stopped)
		log_info("push: training area %s-%s: review %s", j->student, j->seq,
			 PQgetvalue(res, 0, REGION_REVIEW_SAVE_REVIEW_FINAL)[0] == 't'
				 ? "final"
				 : "not final yet: fetched again later");
	job_free(j);
	if (!p->stopped)
		poke(p);
}

/* The training area's review due in in_s seconds (after a fetch without an answer). */
static void region_review_due(struct job *j, double in_s)
{
	char secs[32];
	snprintf(secs, sizeof(secs), "%.3f", in_s);
	const char *vals[2] = {j->id, secs};
	j->state = J_RECORDING;
	db_query(j->p->db, sql_region_review_due, 2, vals, on_region_review_saved, j);
}

/* The area's review answered: flag (1 approved) and reason kept; else fetched again later. */
static void on_region_review(struct evhttp_request *req, void *arg)
{
	struct job *j = arg;
	int status = req ? evhttp_request_get_response_code(req) : 0;
	struct evbuffer *in = status > 0 ? evhttp_request_get_input_buffer(req) : NULL;
	size_t n = in ? evbuffer_get_length(in) : 0;
	const char *body = n ? (const char *)evbuffer_pullup(in, -1) : "";
	json_t *a = n && n <= PUSH_MAX_ANSWER ? json_loadb(body, n, 0, NULL) : NULL;
	json_t *ec = json_object_get(a, "errorcode");
	job_detach(j);
	if (!json_is_integer(ec)) {
		log_warn("push: training area %s-%s: the review's answer is %s (HTTP %d)",
			 j->student, j->seq, status > 0 ? "malformed" : "missing", status);
		json_decref(a);
		region_review_due(j, j->cfg->review_min_s);
		return;
	}
	char code[24], answer[ANSWER_KEPT + 1], lo[16], hi[16];
	char *data = json_is_object(json_object_get(a, "data"))
			     ? json_dumps(json_object_get(a, "data"), JSON_COMPACT)
			     : NULL;
	snprintf(code, sizeof(code), "%lld", (long long)json_integer_value(ec));
	snprintf(lo, sizeof(lo), "%u", j->cfg->review_min_s);
	snprintf(hi, sizeof(hi), "%u", j->cfg->review_max_s);
	push_sanitize(body, n, answer, sizeof(answer), true);
	const char *vals[6] = {j->id, code, answer, data, lo, hi};
	j->state = J_RECORDING;
	db_query(j->p->db, sql_region_review_save, 6, vals, on_region_review_saved, j);
	free(data);
	json_decref(a);
}

/* GET {base}/{inscode}-regionreview-{seq}, signed over inscode and seq joined. */
static void start_region_review(struct job *j)
{
	char path[128], keys[64], why[200];
	snprintf(path, sizeof(path), "/%s-regionreview-%s", j->student, j->seq);
	snprintf(keys, sizeof(keys), "%s%s", j->student, j->seq);
	if (national_call(j, EVHTTP_REQ_GET, path, keys, strlen(keys), NULL, NULL, 0,
			  on_region_review, J_REVIEW, why, sizeof(why)))
		return;
	log_warn("push: training area %s-%s: review not fetched: %s", j->student, j->seq, why);
	if (j->evcon) {
		evhttp_connection_free(j->evcon);
		j->evcon = NULL;
		j->bev = NULL;
	}
	region_review_due(j, j->cfg->review_min_s);
}

static void on_region_reviews_taken(void *arg, const PGresult *res)
{
	struct push *p = arg;
	p->taking_region_reviews = false;
	if (p->stopped || res == NULL || p->cfg == NULL)
		return;
	for (int r = 0; r < PQntuples(res); r++) {
		struct job *j = calloc(1, sizeof(*j));
		if (j == NULL)
			die("out of memory");
		j->p = p;
		j->cfg = push_config_ref(p->cfg);
		j->region = true;
		snprintf(j->id, sizeof(j->id), "%s", PQgetvalue(res, r, REGION_REVIEW_TAKE_ID));
		snprintf(j->student, sizeof(j->student), "%s",
			 PQgetvalue(res, r, REGION_REVIEW_TAKE_INSCODE));
		snprintf(j->seq, sizeof(j->seq), "%s", PQgetvalue(res, r, REGION_REVIEW_TAKE_SEQ));
		j->next = p->jobs;
		p->jobs = j;
		p->njobs++;
		p->st->push_in_flight = p->njobs;
		clock_gettime(CLOCK_MONOTONIC, &j->t0);
		j->started = now_wall();
		start_region_review(j);
	}
}

/* Take the training areas' reviews due (national profile, push.national_review). */
static void poke_region_reviews(struct push *p)
{
	if (p->cfg == NULL || !p->cfg->national || !p->cfg->review || p->draining || p->stopped ||
	    p->taking_region_reviews || !db_connected(p->db) || p->njobs >= p->cfg->concurrency)
		return;
	char lease[16], limit[16];
	snprintf(lease, sizeof(lease), "%u", p->cfg->lease_s);
	snprintf(limit, sizeof(limit), "%u", p->cfg->concurrency - p->njobs);
	const char *vals[2] = {lease, limit};
	p->taking_region_reviews = true;
	db_query(p->db, sql_region_review_take, 2, vals, on_region_reviews_taken, p);
}

/* One taken packet: its job, then save (first attempt) or send. */
static void take_row(struct push *p, const PGresult *res, int r)
{
	struct job *j = calloc(1, sizeof(*j));
	if (j == NULL)
		die("out of memory");
	j->p = p;
	j->cfg = push_config_ref(p->cfg);
	snprintf(j->id, sizeof(j->id), "%s", PQgetvalue(res, r, PUSH_TAKE_ID));
	j->attempt = (unsigned)col_ll(res, r, PUSH_TAKE_ATTEMPTS);
	j->backoff_n = (unsigned)col_ll(res, r, PUSH_TAKE_SINCE_REDRIVE);
	snprintf(j->student, sizeof(j->student), "%s", PQgetvalue(res, r, PUSH_TAKE_STUDENT_NO));
	j->part = (int)col_ll(res, r, PUSH_TAKE_PART);
	j->failed_1 = (unsigned)col_ll(res, r, PUSH_TAKE_FAILED_1);
	if (!PQgetisnull(res, r, PUSH_TAKE_SEAL) &&
	    (j->seal_pem = strdup(PQgetvalue(res, r, PUSH_TAKE_SEAL))) == NULL)
		die("out of memory");
	j->next = p->jobs;
	p->jobs = j;
	p->njobs++;
	p->st->push_in_flight = p->njobs;
	const char *built = col(res, r, PUSH_TAKE_PROFILE);
	const char *now = j->cfg->national ? "national" : "hoursd";
	if (!PQgetisnull(res, r, PUSH_TAKE_BODY) && built && strcmp(built, now) != 0) {
		char why[200];
		snprintf(why, sizeof(why),
			 "its body was built under push.profile %s, the configuration says %s",
			 built, now);
		unbuildable(j, why);
		return;
	}
	if (!PQgetisnull(res, r, PUSH_TAKE_BODY)) {
		j->body = strdup(PQgetvalue(res, r, PUSH_TAKE_BODY));
		if (j->body == NULL)
			die("out of memory");
		job_start(j);
		return;
	}
	char err[300], attempt[16];
	struct push_fields f;
	fields_of_row(res, r, &f);
	if (j->cfg->national) {
		/* The teaching log first: its PDF is uploaded, its id goes in the body. */
		char part[8];
		snprintf(part, sizeof(part), "%d", j->part);
		const char *vals[2] = {j->student, part};
		j->fields = fields_to_json(&f);
		j->state = J_LOG;
		db_query(p->db, sql_teaching_log, 2, vals, on_log, j);
		return;
	}
	j->body = push_body_build(&f, j->cfg->field_map, err, sizeof(err));
	if (j->body == NULL) {
		unbuildable(j, err);
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

/* ---- master data upward (upward_item, 023; docs/push-contract.md, 9.6) ---- */

static void poke_upward(struct push *p);

static void on_upward_recorded(void *arg, const PGresult *res)
{
	struct job *j = arg;
	struct push *p = j->p;
	if (res && PQntuples(res) == 1 && !p->stopped) {
		const char *state = PQgetvalue(res, 0, UPWARD_RECORD_STATE);
		if (strcmp(state, "failed") == 0)
			log_error("push: upward %s %s %s failed: %s", j->id, j->method, j->kind,
				  PQgetvalue(res, 0, UPWARD_RECORD_LAST_ERROR));
	} else if (res && !p->stopped) {
		log_warn("push: upward %s attempt %u recorded, but its lease had passed", j->id,
			 j->attempt);
	}
	job_free(j);
	if (!p->stopped)
		poke_upward(p);
}

/* The number the platform assigned in the answer's data (PROTOCOL.md: the national base numbers).
 */
static void upward_number(const struct job *j, const char *answer, char *out, size_t cap)
{
	static const char *const names[][2] = {
		{"institution", "inscode"}, {"coach", "coachnum"}, {"trainingcar", "carnum"},
		{"device", "devnum"},	    {"student", "stunum"}, {"stuimg", "id"},
	};
	*out = '\0';
	json_t *a = answer ? json_loads(answer, 0, NULL) : NULL;
	json_t *data = json_object_get(a, "data");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(j->kind, names[i][0]) != 0)
			continue;
		json_t *v = json_object_get(data, names[i][1]);
		if (json_is_string(v))
			push_sanitize(json_string_value(v), json_string_length(v), out, cap, false);
		else if (json_is_integer(v))
			snprintf(out, cap, "%lld", (long long)json_integer_value(v));
	}
	json_decref(a);
}

/* One upward attempt is over: record it (upward_record.sql). */
static void upward_record(struct job *j, int status, const struct push_verdict *v,
			  const char *answer)
{
	struct push_config *c = j->cfg;
	const char *decision = v->outcome == PUSH_ACCEPTED || v->outcome == PUSH_DUPLICATE ? "done"
			       : v->outcome == PUSH_REJECTED ? "failed"
							     : "retry";
	double d = v->retry_after_s >= 0
			   ? fmin(fmax(v->retry_after_s, c->retry_min_s), c->retry_max_s)
			   : push_backoff(j->attempt, c->retry_min_s, c->retry_max_s, uniform());
	char attempt[16], delay[32], ec[16], no[64];
	snprintf(attempt, sizeof(attempt), "%u", j->attempt);
	snprintf(delay, sizeof(delay), "%.3f", d);
	snprintf(ec, sizeof(ec), "%d", v->errorcode);
	upward_number(j, v->outcome == PUSH_ACCEPTED ? answer : NULL, no, sizeof(no));
	const char *vals[8] = {j->id,
			       attempt,
			       decision,
			       delay,
			       answer,
			       v->has_errorcode ? ec : NULL,
			       *v->error ? v->error : NULL,
			       *no ? no : NULL};
	count_outcome(j->p->st, v->outcome);
	log_msg(v->outcome == PUSH_REJECTED || v->config_problem ? HLOG_ERROR
		: v->outcome <= PUSH_DUPLICATE			 ? HLOG_INFO
								 : HLOG_WARN,
		"push: upward %s %s %s attempt %u: %s%s%s%s%s", j->id, j->method, j->kind,
		j->attempt, push_outcome_name(v->outcome), *no ? ", number " : "", no,
		*v->error ? ": " : "", v->error);
	j->state = J_RECORDING;
	db_query(j->p->db, sql_upward_record, 8, vals, on_upward_recorded, j);
}

static void on_upward_response(struct evhttp_request *req, void *arg)
{
	struct job *j = arg;
	struct push_verdict v;
	char *answer;
	const char *body;
	size_t n;
	int status = read_answer(j, req, &v, &answer, &body, &n);
	job_detach(j);
	upward_record(j, status, &v, answer);
	free(answer);
}

/*
 * A lesson's photo (stuimg): its kept body holds the file in hex; POST
 * {base}/imageup/stuimg as the teaching log's PDF goes, signed over the
 * file's bytes; the answer's data.id becomes the item's number.
 */
static bool upward_photo(struct job *j, char *why, size_t cap)
{
	json_t *b = json_loads(j->body, 0, NULL);
	const char *hex = json_string_value(json_object_get(b, "file"));
	const char *no = json_string_value(json_object_get(b, "photo_no"));
	long flen = 0;
	unsigned char *file = hex && *hex ? OPENSSL_hexstr2buf(hex, &flen) : NULL;
	char name[80], ctype[96];
	size_t n = 0;
	snprintf(name, sizeof(name), "%.60s.jpg", no ? no : "photo");
	unsigned char *form =
		file ? upload_form(file, (size_t)flen, name, "image/jpeg", ctype, &n) : NULL;
	bool ok = form && national_call(j, EVHTTP_REQ_POST, "/imageup/stuimg", file, (size_t)flen,
					ctype, form, n, on_upward_response, J_SENDING, why, cap);
	if (!form)
		snprintf(why, cap, "%s", file ? "cannot make the multipart form" : "no photo file");
	free(form);
	OPENSSL_free(file);
	json_decref(b);
	return ok;
}

/*
 * POST {base}/{kind} with the kept body, signed over it; or DELETE
 * {base}/coach-{n}, /trainingCar-{n} (the platforms' spelling),
 * /device-{n}, signed over the number.
 */
static void upward_send(struct job *j)
{
	char path[160], why[200];
	bool ok;
	clock_gettime(CLOCK_MONOTONIC, &j->t0);
	j->started = now_wall();
	if (strcmp(j->method, "DELETE") == 0) {
		const char *name = strcmp(j->kind, "trainingcar") == 0 ? "trainingCar" : j->kind;
		snprintf(path, sizeof(path), "/%s-%s", name, j->key ? j->key : "");
		ok = j->key &&
		     national_call(j, EVHTTP_REQ_DELETE, path, j->key, strlen(j->key), NULL, NULL,
				   0, on_upward_response, J_SENDING, why, sizeof(why));
		if (!j->key)
			snprintf(why, sizeof(why), "no number to delete");
	} else if (strcmp(j->kind, "stuimg") == 0) {
		ok = upward_photo(j, why, sizeof(why));
	} else {
		size_t n = strlen(j->body);
		snprintf(path, sizeof(path), "/%s", j->kind);
		ok = national_call(j, EVHTTP_REQ_POST, path, j->body, n,
				   "application/json;charset=utf-8", j->body, n, on_upward_response,
				   J_SENDING, why, sizeof(why));
	}
	if (ok)
		return;
	struct push_verdict v = {.outcome = PUSH_ERROR, .retry_after_s = -1};
	snprintf(v.error, sizeof(v.error), "not sent: %s", why);
	if (j->evcon) {
		evhttp_connection_free(j->evcon);
		j->evcon = NULL;
		j->bev = NULL;
	}
	upward_record(j, 0, &v, NULL);
}

static void on_upward_saved(void *arg, const PGresult *res)
{
	struct job *j = arg;
	if (j->p->stopped || res == NULL || PQntuples(res) != 1 ||
	    PQgetisnull(res, 0, UPWARD_SAVE_BODY)) {
		if (res && !j->p->stopped)
			log_warn("push: upward %s: its lease passed to another attempt", j->id);
		job_free(j);
		return;
	}
	free(j->body);
	if ((j->body = strdup(PQgetvalue(res, 0, UPWARD_SAVE_BODY))) == NULL)
		die("out of memory");
	upward_send(j);
}

/* The head of the upward queue, taken: its body built and kept (first attempt), then sent. */
static void on_upward_taken(void *arg, const PGresult *res)
{
	struct push *p = arg;
	p->taking_upward = false;
	if (p->stopped || res == NULL || PQntuples(res) != 1 || p->cfg == NULL)
		return;
	struct job *j = calloc(1, sizeof(*j));
	if (j == NULL)
		die("out of memory");
	j->p = p;
	j->cfg = push_config_ref(p->cfg);
	j->upward = true;
	p->upward_busy = true;
	snprintf(j->id, sizeof(j->id), "%s", PQgetvalue(res, 0, UPWARD_TAKE_ID));
	snprintf(j->kind, sizeof(j->kind), "%s", PQgetvalue(res, 0, UPWARD_TAKE_KIND));
	snprintf(j->method, sizeof(j->method), "%s", PQgetvalue(res, 0, UPWARD_TAKE_METHOD));
	j->attempt = (unsigned)col_ll(res, 0, UPWARD_TAKE_ATTEMPTS);
	j->failed_1 = (unsigned)col_ll(res, 0, UPWARD_TAKE_FAILED_1);
	if (!PQgetisnull(res, 0, UPWARD_TAKE_KEY) &&
	    (j->key = strdup(PQgetvalue(res, 0, UPWARD_TAKE_KEY))) == NULL)
		die("out of memory");
	j->next = p->jobs;
	p->jobs = j;
	p->njobs++;
	p->st->push_in_flight = p->njobs;
	clock_gettime(CLOCK_MONOTONIC, &j->t0);
	j->started = now_wall();
	if (strcmp(j->method, "DELETE") == 0) {
		upward_send(j);
		return;
	}
	if (!PQgetisnull(res, 0, UPWARD_TAKE_BODY)) {
		if ((j->body = strdup(PQgetvalue(res, 0, UPWARD_TAKE_BODY))) == NULL)
			die("out of memory");
		upward_send(j);
		return;
	}
	/* The members as SQL gathered them, written compact with members sorted, kept. */
	const char *m = col(res, 0, UPWARD_TAKE_MEMBERS);
	json_t *o = m ? json_loads(m, 0, NULL) : NULL;
	j->body = json_is_object(o)
			  ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(12))
			  : NULL;
	json_decref(o);
	if (j->body == NULL) {
		struct push_verdict v = {.outcome = PUSH_REJECTED, .retry_after_s = -1};
		snprintf(v.error, sizeof(v.error), "not sent: the %s's row is gone", j->kind);
		upward_record(j, 0, &v, NULL);
		return;
	}
	char attempt[16];
	snprintf(attempt, sizeof(attempt), "%u", j->attempt);
	const char *vals[3] = {j->id, j->body, attempt};
	j->state = J_SAVING;
	db_query(p->db, sql_upward_save, 3, vals, on_upward_saved, j);
}

/*
 * Master data goes upward under the national profile only, one item at a
 * time and in order: the next is taken when the one before is recorded.
 */
static void poke_upward(struct push *p)
{
	if (p->cfg == NULL || !p->cfg->national || p->draining || p->stopped || p->taking_upward ||
	    p->upward_busy || !db_connected(p->db) || p->njobs >= p->cfg->concurrency)
		return;
	char lease[16];
	snprintf(lease, sizeof(lease), "%u", p->cfg->lease_s);
	const char *vals[1] = {lease};
	p->taking_upward = true;
	db_query(p->db, sql_upward_take, 1, vals, on_upward_taken, p);
}

static void on_counted(void *arg, const PGresult *res)
{
	struct push *p = arg;
	p->counting = false;
	if (p->stopped || res == NULL || PQntuples(res) != 1)
		return;
	p->st->outbox_waiting = (uint64_t)col_ll(res, 0, PUSH_OUTBOX_STATS_WAITING);
	p->st->outbox_oldest_s = (uint64_t)col_ll(res, 0, PUSH_OUTBOX_STATS_OLDEST_S);
	p->st->outbox_failed = (uint64_t)col_ll(res, 0, PUSH_OUTBOX_STATS_FAILED);
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
	poke_reviews(p);
	poke_region_reviews(p);
	poke_upward(p);
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
	return p->njobs == 0 && !p->taking && !p->taking_reviews && !p->taking_upward &&
	       !p->taking_region_reviews;
}

void push_stop(struct push *p)
{
	if (p == NULL)
		return;
	p->stopped = true;
	/* Requests in flight are abandoned; their packets come back when the lease ends. */
	for (struct job *j = p->jobs, *next; j; j = next) {
		next = j->next;
		if (j->state == J_SENDING || j->state == J_UPLOADING || j->state == J_REVIEW ||
		    j->state == J_CLASSRECORD) {
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
