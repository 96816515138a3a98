/*
 * readiness.c - the pre-entry question over mutual TLS, see readiness.h
 * and docs/push-contract.md section 10; and on the same listener the
 * national platform's review notice (POST /reviewmsg, section 9.5): the
 * stage review it names is fetched at once.
 *
 * The TLS context is the terminals' (hoursd's certificate, TLS 1.2+, a
 * client certificate required) with readiness.ca as the only CA its
 * clients' certificates may come from: a terminal's certificate does not
 * open this door, nor does a client without one (the handshake fails).
 * A request waits for its statement; when its client goes meanwhile,
 * evhttp keeps the request for our reply, which then frees it.
 */
#include "hoursd.h"
#include "readiness.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "queries.h"
#include "server.h"
#include "tls_server.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#define READINESS_TIMEOUT_S 10
#define READINESS_MAX_HEADERS 8192
#define READINESS_MAX_BODY 4096 /* a review notice is about 100 bytes */

struct readiness {
	struct server *srv;
	SSL_CTX *tls;
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
};

/* One question waiting for its statement. */
struct question {
	struct evhttp_request *req;
	char who[128];	  /* the client certificate's subject CN, for the log */
	char student[24]; /* the student asked about (checked: 16 printable bytes); after= */
};

static void reply_json(struct evhttp_request *req, int code, const char *reason, json_t *o)
{
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	struct evbuffer *b = evbuffer_new();
	if (text == NULL || b == NULL) {
		free(text);
		if (b)
			evbuffer_free(b);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evbuffer_add_printf(b, "%s\n", text);
	free(text);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Content-Type", "application/json; charset=utf-8");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply(req, code, reason, b);
	evbuffer_free(b);
}

static void reply_error(struct evhttp_request *req, int code, const char *reason,
			const char *message)
{
	reply_json(req, code, reason, json_pack("{s:s}", "error", message));
}

/* The subject CN of the client's certificate ("?" when it cannot be read). */
static void client_name(struct evhttp_request *req, char *out, size_t cap)
{
	snprintf(out, cap, "?");
	struct evhttp_connection *ec = evhttp_request_get_connection(req);
	struct bufferevent *bev = ec ? evhttp_connection_get_bufferevent(ec) : NULL;
	SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
	X509 *x = ssl ? SSL_get1_peer_certificate(ssl) : NULL;
	if (x) {
		X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, out, (int)cap);
		X509_free(x);
	}
}

static void on_answer(void *arg, const PGresult *res)
{
	struct question *q = arg;
	if (res == NULL || PQntuples(res) != 1) {
		log_warn("readiness: %s: the database did not answer", q->who);
		reply_error(q->req, 503, "Service Unavailable", "the database did not answer");
		free(q);
		return;
	}
	bool enrolled = PQgetvalue(res, 0, READINESS_ENROLLED)[0] == 't';
	long long slots = strtoll(PQgetvalue(res, 0, READINESS_SLOTS), NULL, 10);
	const char *student = q->student, *day = PQgetvalue(res, 0, READINESS_DAY);
	const char *school =
		PQgetisnull(res, 0, READINESS_CODE) ? NULL : PQgetvalue(res, 0, READINESS_CODE);
	const char *vclass = PQgetisnull(res, 0, READINESS_VEHICLE_CLASS)
				     ? NULL
				     : PQgetvalue(res, 0, READINESS_VEHICLE_CLASS);
	json_t *o = json_pack("{s:s?, s:s, s:b, s:b, s:I, s:b, s:s?, s:s?}", "student_no", student,
			      "day", day, "enrolled", enrolled, "scheduled", slots > 0, "slots",
			      (json_int_t)slots, "ready", enrolled && slots > 0, "school_code",
			      school, "vehicle_class", vclass);
	log_info("readiness: %s asked for %s on %s: %s", q->who, student, day,
		 enrolled && slots > 0 ? "ready"
		 : enrolled	       ? "enrolled, not scheduled"
				       : "not enrolled");
	reply_json(q->req, 200, "OK", o);
	free(q);
}

/* A query parameter's value, or NULL; false when the query string does not parse. */
static bool params(struct evhttp_request *req, struct evkeyvalq *kv)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	return evhttp_parse_query_str(query ? query : "", kv) == 0;
}

static bool printable16(const char *s)
{
	if (s == NULL || strlen(s) != 16)
		return false;
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

/* The national platform's answer form: {errorcode, message, data}. */
static void reply_national(struct evhttp_request *req, int code, const char *message)
{
	reply_json(req, 200, "OK",
		   json_pack("{s:i, s:s, s:n}", "errorcode", code, "message", message, "data"));
}

/* One reviewmsg notice waiting for its statement. */
struct notice {
	struct evhttp_request *req;
	char who[128], student[48];
	int subject; /* 0: a training area's notice (student holds inscode-seq) */
};

static void on_notice(void *arg, const PGresult *res)
{
	struct notice *q = arg;
	if (res == NULL) {
		log_warn("review notice: %s: the database did not answer", q->who);
		reply_national(q->req, 1, "the database did not answer: send the notice again");
	} else if (PQntuples(res) == 0 && q->subject == 0) {
		log_warn("review notice: %s: training area %s was not sent from here", q->who,
			 q->student);
		reply_national(q->req, 100, "no such training area sent from here");
	} else if (PQntuples(res) == 0) {
		log_warn("review notice: %s: stage hours of subject %d of %s were not pushed here",
			 q->who, q->subject, q->student);
		reply_national(q->req, 100, "no such stage hours pushed from here");
	} else if (q->subject == 0) {
		log_info("review notice: %s: the review of training area %s is fetched now", q->who,
			 q->student);
		reply_national(q->req, 0, "ok");
	} else {
		log_info("review notice: %s: the review of subject %d of %s is fetched now", q->who,
			 q->subject, q->student);
		reply_national(q->req, 0, "ok");
	}
	free(q);
}

/* A member that the platform sends as a string or a number: its integer value, or -1. */
static long long int_or_string(json_t *v)
{
	if (json_is_integer(v))
		return json_integer_value(v);
	const char *s = json_string_value(v);
	char *end;
	long long n = s && *s ? strtoll(s, &end, 10) : -1;
	return s && *s && *end == '\0' ? n : -1;
}

/*
 * POST /reviewmsg: the national supervision platform's notice that a
 * review is ready, {"reviewtype":"1"|"2","data":{...}}: 2 a stage review
 * (data.stunum, data.subject), fetched at once; 1 a training area's
 * (data.inscode, data.seq, strings or numbers), fetched at once too.
 */
static void review_notice(struct readiness *r, struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	json_t *b = n && n <= READINESS_MAX_BODY
			    ? json_loadb((const char *)evbuffer_pullup(in, -1), n, 0, NULL)
			    : NULL;
	long long type = int_or_string(json_object_get(b, "reviewtype"));
	json_t *d = json_object_get(b, "data");
	const char *stunum = json_string_value(json_object_get(d, "stunum"));
	long long subject = int_or_string(json_object_get(d, "subject"));
	const char *ins = json_string_value(json_object_get(d, "inscode"));
	long long seq = int_or_string(json_object_get(d, "seq"));
	if (type == 1 && (!ins || !*ins || strlen(ins) > 16 || seq < 0 || seq > 999999)) {
		reply_national(req, 200,
			       "bad format: {\"reviewtype\":\"1\",\"data\":{\"inscode\":"
			       "\"...\",\"seq\":\"1\"}} expected");
	} else if (type == 1) {
		struct notice *q = calloc(1, sizeof(*q));
		if (q == NULL)
			die("out of memory");
		q->req = req;
		client_name(req, q->who, sizeof(q->who));
		char sq[24];
		snprintf(sq, sizeof(sq), "%lld", seq);
		snprintf(q->student, sizeof(q->student), "%.16s-%.20s", ins, sq);
		const char *v[2] = {ins, sq};
		db_query(r->srv->db, sql_region_notice, 2, v, on_notice, q);
	} else if (type != 2 || !printable16(stunum) || subject < 1 || subject > 4) {
		reply_national(req, 200,
			       "bad format: {\"reviewtype\":\"2\",\"data\":{\"stunum\":"
			       "\"...\",\"subject\":\"1\"..\"4\"}} expected");
	} else {
		struct notice *q = calloc(1, sizeof(*q));
		if (q == NULL)
			die("out of memory");
		q->req = req;
		q->subject = (int)subject;
		client_name(req, q->who, sizeof(q->who));
		snprintf(q->student, sizeof(q->student), "%s", stunum);
		char part[8];
		snprintf(part, sizeof(part), "%d", q->subject);
		const char *v[2] = {stunum, part};
		db_query(r->srv->db, sql_review_notice, 2, v, on_notice, q);
	}
	json_decref(b);
}

/* The checkpoints read: a witness line each (text/plain), in k order. */
static void on_checkpoints(void *arg, const PGresult *res)
{
	struct question *q = arg;
	struct evbuffer *b = res ? evbuffer_new() : NULL;
	if (b == NULL) {
		log_warn("checkpoints: %s: the database did not answer", q->who);
		reply_error(q->req, 503, "Service Unavailable", "the database did not answer");
		free(q);
		return;
	}
	for (int i = 0; i < PQntuples(res); i++)
		evbuffer_add_printf(b, "%s\n", PQgetvalue(res, i, CHECKPOINTS_AFTER_LINE));
	struct evkeyvalq *h = evhttp_request_get_output_headers(q->req);
	evhttp_add_header(h, "Content-Type", "text/plain; charset=utf-8");
	evhttp_add_header(h, "Cache-Control", "no-store");
	log_info("checkpoints: %s took %d after %s", q->who, PQntuples(res), q->student);
	evhttp_send_reply(q->req, 200, "OK", b);
	evbuffer_free(b);
	free(q);
}

/* GET /v1/checkpoints?after=N: the audit log's checkpoints after k = N (0: all), 1000 at most. */
static void serve_checkpoints(struct readiness *r, struct evhttp_request *req, struct evkeyvalq *kv)
{
	const char *after = evhttp_find_header(kv, "after");
	char *end = NULL;
	long long k = after ? strtoll(after, &end, 10) : 0;
	if (after && (end == after || *end || k < 0 || strlen(after) > 18)) {
		reply_error(req, HTTP_BADREQUEST, "Bad Request",
			    "after: a checkpoint number, 0 or more");
		return;
	}
	struct question *q = calloc(1, sizeof(*q));
	if (q == NULL)
		die("out of memory");
	q->req = req;
	client_name(req, q->who, sizeof(q->who));
	snprintf(q->student, sizeof(q->student), "%lld", k);
	const char *v[1] = {q->student};
	db_query(r->srv->db, sql_checkpoints_after, 1, v, on_checkpoints, q);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct readiness *r = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	if (path && strcmp(path, "/reviewmsg") == 0 &&
	    evhttp_request_get_command(req) == EVHTTP_REQ_POST) {
		review_notice(r, req);
		return;
	}
	bool cps = path && strcmp(path, "/v1/checkpoints") == 0;
	if (path == NULL || (!cps && strcmp(path, "/v1/readiness") != 0)) {
		reply_error(req, HTTP_NOTFOUND, "Not Found",
			    "no such path: GET /v1/readiness or /v1/checkpoints, POST /reviewmsg");
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET");
		reply_error(req, 405, "Method Not Allowed", "GET only");
		return;
	}
	struct evkeyvalq kv;
	if (!params(req, &kv)) {
		reply_error(req, HTTP_BADREQUEST, "Bad Request", "the query string does not parse");
		return;
	}
	if (cps) {
		serve_checkpoints(r, req, &kv);
		evhttp_clear_headers(&kv);
		return;
	}
	const char *student = evhttp_find_header(&kv, "student");
	const char *day = evhttp_find_header(&kv, "day");
	const char *bad = !printable16(student) ? "student: the 16-character national student "
						  "number expected"
			  : day && !conf_valid_date(day) ? "day: a date YYYY-MM-DD expected"
							 : NULL;
	if (bad) {
		reply_error(req, HTTP_BADREQUEST, "Bad Request", bad);
		evhttp_clear_headers(&kv);
		return;
	}
	struct question *q = calloc(1, sizeof(*q));
	if (q == NULL)
		die("out of memory");
	q->req = req;
	client_name(req, q->who, sizeof(q->who));
	snprintf(q->student, sizeof(q->student), "%s", student);
	const char *v[2] = {student, day};
	db_query(r->srv->db, sql_readiness, 2, v, on_answer, q);
	evhttp_clear_headers(&kv);
}

static struct bufferevent *on_bev(struct event_base *base, void *arg)
{
	struct readiness *r = arg;
	SSL *ssl = SSL_new(r->tls);
	if (ssl == NULL)
		return NULL;
	struct bufferevent *bev = bufferevent_openssl_socket_new(
		base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev)
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* hoursd's server context with readiness.ca the only CA of client certificates. */
static SSL_CTX *context(const struct hconf *c, char *err, size_t errlen)
{
	SSL_CTX *ctx = tls_server_ctx(c, err, errlen);
	if (ctx == NULL)
		return NULL;
	X509_STORE *st = X509_STORE_new();
	STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(c->readiness_ca);
	if (st == NULL || X509_STORE_load_locations(st, c->readiness_ca, NULL) != 1 ||
	    names == NULL) {
		char buf[256];
		ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
		ERR_clear_error();
		snprintf(err, errlen, "readiness.ca %s: %s", c->readiness_ca, buf);
		X509_STORE_free(st);
		sk_X509_NAME_pop_free(names, X509_NAME_free);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_cert_store(ctx, st);
	SSL_CTX_set_client_CA_list(ctx, names);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"hoursd-readiness", 16);
	return ctx;
}

/* "host:port" into its parts (no brackets); false when it does not split. */
static bool split(const char *addr, char *host, size_t cap, unsigned *port)
{
	const char *colon = strrchr(addr, ':');
	if (colon == NULL || colon == addr)
		return false;
	const char *h = addr, *e = colon;
	if (addr[0] == '[' && colon[-1] == ']') {
		h++;
		e--;
	}
	char *end;
	unsigned long p = strtoul(colon + 1, &end, 10);
	if (*end || colon[1] == '\0' || p > 65535 || (size_t)(e - h) >= cap || e == h)
		return false;
	memcpy(host, h, (size_t)(e - h));
	host[e - h] = '\0';
	*port = (unsigned)p;
	return true;
}

struct readiness *readiness_start(struct server *srv, char *err, size_t errlen)
{
	const struct hconf *c = srv->conf;
	char host[256];
	unsigned port;
	if (!split(c->listen_readiness, host, sizeof(host), &port)) {
		snprintf(err, errlen, "listen.readiness \"%.60s\": expected \"host:port\"",
			 c->listen_readiness);
		return NULL;
	}
	struct readiness *r = calloc(1, sizeof(*r));
	if (r == NULL)
		die("out of memory");
	r->srv = srv;
	r->tls = context(c, err, errlen);
	r->http = r->tls ? evhttp_new(srv->base) : NULL;
	if (r->tls && r->http == NULL)
		snprintf(err, errlen, "readiness listener: out of memory");
	r->sock = r->http ? evhttp_bind_socket_with_handle(r->http, host, (ev_uint16_t)port) : NULL;
	if (r->http && r->sock == NULL)
		snprintf(err, errlen, "readiness listener: cannot listen on %.80s: %s",
			 c->listen_readiness, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	if (r->sock == NULL) {
		readiness_free(r);
		return NULL;
	}
	evhttp_set_bevcb(r->http, on_bev, r);
	evhttp_set_gencb(r->http, on_request, r);
	evhttp_set_timeout(r->http, READINESS_TIMEOUT_S);
	evhttp_set_max_headers_size(r->http, READINESS_MAX_HEADERS);
	evhttp_set_max_body_size(r->http, READINESS_MAX_BODY); /* a review notice's */
	evhttp_set_allowed_methods(r->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
						    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	log_info("readiness listener on %s port %u (mutual TLS, clients of %s): GET /v1/readiness, "
		 "GET /v1/checkpoints, POST /reviewmsg",
		 host, readiness_port(r), c->readiness_ca);
	return r;
}

unsigned readiness_port(const struct readiness *r)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(evhttp_bound_socket_get_fd(r->sock), (struct sockaddr *)&ss, &len) != 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

struct evconnlistener *readiness_listener(const struct readiness *r)
{
	return evhttp_bound_socket_get_listener(r->sock);
}

void readiness_free(struct readiness *r)
{
	if (r == NULL)
		return;
	if (r->http) {
		r->srv->readiness_listener = NULL; /* freed with evhttp */
		evhttp_free(r->http);
	}
	SSL_CTX_free(r->tls);
	free(r);
}
