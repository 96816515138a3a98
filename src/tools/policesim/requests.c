/*
 * requests.c - a request to policesim dispatched (policesim.h): a packet
 * to any path not starting with "/_" (packet.c), a call of the national
 * interface (national.c), the admin paths (loopback only): GET /_stats,
 * GET /_faults, POST /_faults with a spec.
 */
#include "hoursd.h"
#include "policesim.h"
#include "log.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/x509.h>

static const char *client_cn(struct evhttp_request *req, char *buf, size_t cap)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
	X509 *x = ssl ? SSL_get1_peer_certificate(ssl) : NULL;
	snprintf(buf, cap, "?");
	if (x) {
		X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf, (int)cap);
		X509_free(x);
	}
	return buf;
}

static bool from_loopback(struct evhttp_request *req)
{
	char *addr = NULL;
	ev_uint16_t port;
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	if (!evcon)
		return false;
	evhttp_connection_get_peer(evcon, &addr, &port);
	return addr && (strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0 ||
			strncmp(addr, "::ffff:127.", 11) == 0);
}

static struct answer stats_answer(struct psim *ps)
{
	const struct stats *s = &ps->st;
	uint64_t pending = 0;
	for (struct pending *p = ps->pending; p; p = p->next)
		pending++;
	const struct {
		const char *name;
		uint64_t v;
	} counters[] = {
		{"received", s->received},
		{"accepted", s->accepted},
		{"duplicates", s->duplicates},
		{"duplicates_differing", s->duplicates_differing},
		{"rejected_signature", s->rejected_signature},
		{"rejected_invalid", s->rejected_invalid},
		{"bad_request", s->bad_request},
		{"faults_injected", s->faults_injected},
		{"slowed", s->slowed},
		{"store_errors", s->store_errors},
		{"stored", json_object_size(ps->seen)},
		{"pending", pending},
	};
	char spec[512];
	json_t *j = json_object();

	for (size_t i = 0; i < ARRAY_SIZE(counters); i++)
		json_object_set_new(j, counters[i].name, json_integer((json_int_t)counters[i].v));
	faults_format(&ps->f, spec, sizeof(spec));
	json_object_set_new(j, "faults", json_string(spec));
	if (ps->nat)
		natsim_stats(ps->nat, j);
	return (struct answer){ACT_SEND, HTTP_OK, "OK", answer_json(j), false};
}

static struct answer faults_answer(struct psim *ps, struct evhttp_request *req)
{
	char spec[512], err[160];
	if (evhttp_request_get_command(req) == EVHTTP_REQ_POST) {
		struct evbuffer *in = evhttp_request_get_input_buffer(req);
		size_t n = evbuffer_get_length(in);
		const char *s = n ? (const char *)evbuffer_pullup(in, -1) : "";
		if (!faults_parse(&ps->f, s, n, err, sizeof(err)))
			return answer_rejected(HTTP_BADREQUEST, "Bad Request", "bad_spec", err);
		faults_format(&ps->f, spec, sizeof(spec));
		log_info("faults now '%s'", spec);
	}
	faults_format(&ps->f, spec, sizeof(spec));
	return (struct answer){ACT_SEND, HTTP_OK, "OK",
			       answer_json(json_pack("{ss}", "faults", spec)), false};
}

static struct answer admin(struct psim *ps, struct evhttp_request *req, const char *path)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	if (!from_loopback(req))
		return answer_rejected(403, "Forbidden", "forbidden",
				       "admin paths are loopback only");
	if (strcmp(path, "/_stats") == 0 && m == EVHTTP_REQ_GET)
		return stats_answer(ps);
	if (strcmp(path, "/_faults") == 0 && (m == EVHTTP_REQ_GET || m == EVHTTP_REQ_POST))
		return faults_answer(ps, req);
	if (strcmp(path, "/_review") == 0 && m == EVHTTP_REQ_POST && ps->nat) {
		struct evbuffer *in = evhttp_request_get_input_buffer(req);
		size_t n = evbuffer_get_length(in);
		char msg[200];
		bool ok = natsim_review_admin(ps->nat, n ? evbuffer_pullup(in, -1) : NULL, n, msg,
					      sizeof(msg));
		log_info("review: %s", msg);
		if (!ok)
			return answer_rejected(HTTP_BADREQUEST, "Bad Request", "bad_request", msg);
		return (struct answer){ACT_SEND, HTTP_OK, "OK",
				       answer_json(json_pack("{ss}", "review", msg)), false};
	}
	return answer_rejected(HTTP_NOTFOUND, "Not Found", "not_found",
			       "GET /_stats, GET|POST /_faults, POST /_review");
}

/*
 * A call of the national interface (policesim_national.c).  The faults of
 * HTTP (5xx, busy, timeout, reset) and the errorcode faults (e1, e201,
 * e202) are taken by stage-hours POSTs only: the uploads, reviews and
 * bookings around them go through.
 */
static void national_request(struct psim *ps, struct evhttp_request *req, const char *path,
			     const char *query, const char *cn)
{
	bool post = evhttp_request_get_command(req) == EVHTTP_REQ_POST;
	int f = post && natsim_is_stage(path) ? faults_take(&ps->f, false) : -1, status = 200;
	const char *what = "?";
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	const uint8_t *body = n ? evbuffer_pullup(in, -1) : (const uint8_t *)"";
	if (f >= 0)
		ps->st.faults_injected++;
	if (f >= 0 && f != F_E1 && f != F_E201 && f != F_E202) {
		log_info("%s %s: fault %s", cn, path, faults_name(f));
		answer_send(ps, req, faults_before(f), true);
		return;
	}
	int code = f == F_E1 ? 1 : f == F_E201 ? 201 : f == F_E202 ? 202 : 0;
	const char *ctype =
		evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
	bool del = evhttp_request_get_command(req) == EVHTTP_REQ_DELETE;
	char *out = del ? natsim_upward_delete(ps->nat, path, query, &what)
			: natsim_handle(ps->nat, post, path, query, ctype, body, n, code, &status,
					&what);
	struct answer a = {ACT_SEND, status, "OK", evbuffer_new(), false};
	if (a.body && out)
		evbuffer_add(a.body, out, strlen(out));
	log_info("%s %s %s (%zu bytes): %s", cn,
		 post  ? "POST"
		 : del ? "DELETE"
		       : "GET",
		 path, n, what);
	free(out);
	answer_send(ps, req, a, true);
}

/* A packet POSTed: a before fault, or the packet taken (packet.c); logged, answered. */
static void packet_request(struct psim *ps, struct evhttp_request *req, const char *path,
			   const char *cn)
{
	char pid[40] = "-";
	const char *what = "?";
	ps->st.received++;
	int f = faults_take(&ps->f, false);
	struct answer a;
	if (f >= 0) {
		ps->st.faults_injected++;
		what = faults_name(f);
		a = faults_before(f);
	} else {
		a = packet_take(ps, req, cn, pid, sizeof(pid), &what);
	}
	if (ps->f.slow_ms && a.act == ACT_SEND)
		ps->st.slowed++;
	log_info("%s %s packet %s: %d %s%s", cn, path, pid, a.act == ACT_SEND ? a.code : 0, what,
		 ps->f.slow_ms && a.act == ACT_SEND ? " (slow)" : "");
	answer_send(ps, req, a, true);
}

/* Not a packet's request (answered): too large, or not a POST; false when it may be one. */
static bool not_a_packet(struct psim *ps, struct evhttp_request *req)
{
	if (evbuffer_get_length(evhttp_request_get_input_buffer(req)) > MAX_BODY) {
		answer_send(ps, req,
			    answer_rejected(413, "Payload Too Large", "too_large", "over 64 KiB"),
			    false);
		return true;
	}
	if (evhttp_request_get_command(req) == EVHTTP_REQ_POST)
		return false;
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
	answer_send(ps, req, answer_rejected(405, "Method Not Allowed", "method", "POST only"),
		    false);
	return true;
}

void requests_on_request(struct evhttp_request *req, void *arg)
{
	struct psim *ps = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	char cn[64];

	/* evhttp calls again with no URI on a request it failed: answer, never twice. */
	struct pending *p = answer_pending(ps, req);
	if (p) {
		if (p->a.body)
			evbuffer_free(p->a.body);
		answer_unlink(ps, p);
	}
	if (!path) {
		evhttp_send_error(req, HTTP_BADREQUEST, NULL);
		return;
	}
	client_cn(req, cn, sizeof(cn));
	if (strncmp(path, "/_", 2) == 0)
		answer_send(ps, req, admin(ps, req, path), false);
	else if (ps->nat && natsim_path(path))
		national_request(ps, req, path, evhttp_uri_get_query(uri), cn);
	else if (!not_a_packet(ps, req))
		packet_request(ps, req, path, cn);
}
