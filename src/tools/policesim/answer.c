/*
 * answer.c - policesim's answers and when they go (policesim.h): a JSON
 * body, or none; now, after slow ms, or held (the timeout fault) as a
 * pending entry with a timer.  All of them are answered or released
 * before the evhttp is freed (policesim.c), so that nothing leaks under
 * ASan.
 */
#include "hoursd.h"
#include "policesim.h"
#include "log.h"

#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

struct evbuffer *answer_json(json_t *j)
{
	struct evbuffer *b = evbuffer_new();
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	if (b && s)
		evbuffer_add(b, s, strlen(s));
	free(s);
	json_decref(j);
	return b;
}

struct answer answer_result(int code, const char *reason, const char *result)
{
	return (struct answer){ACT_SEND, code, reason,
			       answer_json(json_pack("{ss}", "result", result)), false};
}

struct answer answer_rejected(int code, const char *reason, const char *why, const char *msg)
{
	json_t *j = json_pack("{ssssss}", "result", "rejected", "code", why, "message", msg);
	return (struct answer){ACT_SEND, code, reason, answer_json(j), false};
}

struct answer answer_retry(int code, const char *reason, bool retry_after)
{
	struct answer a = answer_result(code, reason, "retry");
	a.retry_after = retry_after;
	return a;
}

/* 200 with a body that is not JSON, or that is 10 MB of it. */
struct answer answer_broken(bool huge)
{
	struct answer a = {ACT_SEND, 200, "OK", evbuffer_new(), false};
	if (!a.body)
		return a;
	if (!huge) {
		evbuffer_add_printf(a.body, "{\"result\":\"acc\x01<html>");
		return a;
	}
	static char pad[64 * 1024];
	memset(pad, 'x', sizeof(pad));
	evbuffer_add_printf(a.body, "{\"result\":\"accepted\",\"pad\":\"");
	for (size_t n = 0; n < HUGE_BYTES; n += sizeof(pad))
		evbuffer_add(a.body, pad, sizeof(pad));
	evbuffer_add_printf(a.body, "\"}");
	return a;
}

/*
 * Close the connection under an unanswered request: the socket is shut
 * down (and set to reset on close) and an answer is queued, whose write
 * fails, so that evhttp frees the connection and the request itself on
 * its next event rather than inside this callback.
 */
static void reset_request(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
	if (fd >= 0) {
		struct linger lg = {1, 0};
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		(void)shutdown(fd, SHUT_RDWR);
	}
	evhttp_send_error(req, HTTP_INTERNAL, "reset");
}

/* Send (or reset) now; frees the answer's body.  A detached request is freed by evhttp_send_*. */
void answer_now(struct evhttp_request *req, struct answer *a)
{
	if (a->act == ACT_RESET || a->act == ACT_HOLD) {
		reset_request(req);
	} else if (!a->body) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
	} else {
		struct evkeyvalq *h = evhttp_request_get_output_headers(req);
		evhttp_add_header(h, "Content-Type", "application/json");
		if (a->retry_after)
			evhttp_add_header(h, "Retry-After", "1");
		evhttp_send_reply(req, a->code, a->reason, a->body);
	}
	if (a->body)
		evbuffer_free(a->body);
	a->body = NULL;
}

void answer_unlink(struct psim *ps, struct pending *p)
{
	for (struct pending **pp = &ps->pending; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	event_free(p->timer);
	free(p);
}

static void on_pending_timer(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p = arg;
	struct psim *ps = p->ps;
	if (p->a.act == ACT_HOLD) { /* the timeout fault: give up, close */
		log_info("held request released after %d s", HOLD_S);
		p->a.act = ACT_RESET;
	}
	answer_now(p->req, &p->a);
	answer_unlink(ps, p);
}

struct pending *answer_pending(struct psim *ps, struct evhttp_request *req)
{
	for (struct pending *p = ps->pending; p; p = p->next)
		if (p->req == req)
			return p;
	return NULL;
}

/* Answer now, or after slow ms, or hold (timeout fault). */
void answer_send(struct psim *ps, struct evhttp_request *req, struct answer a, bool delay)
{
	unsigned ms = a.act == ACT_HOLD ? HOLD_S * 1000u : delay ? ps->f.slow_ms : 0;
	if (ms == 0 || a.act == ACT_RESET) {
		answer_now(req, &a);
		return;
	}
	struct pending *p = calloc(1, sizeof(*p));
	struct event *t = p ? evtimer_new(ps->base, on_pending_timer, p) : NULL;
	if (!t) {
		free(p);
		answer_now(req, &a);
		return;
	}
	*p = (struct pending){ps->pending, ps, req, t, a};
	ps->pending = p;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	evtimer_add(t, &tv);
}
