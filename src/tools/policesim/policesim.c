/*
 * policesim.c - a simulated police platform: the receiving side of
 * docs/push-contract.md, for the tests of hoursd's pusher.
 *
 * One evhttp over OpenSSL (client certificates required and verified
 * against --client-ca).  A packet is POSTed to any path not starting with
 * "/_"; it is checked in the contract's order (signature over the exact
 * body bytes, JSON, canonical form, fields), deduplicated by packet id and
 * appended to --store as one JSON line before "accepted" is answered.  The
 * store is read back at start, so a restarted simulator still knows what
 * it accepted.
 *
 * Faults come from --fault SPEC or POST /_faults (loopback only).  "Before"
 * faults (5xx, busy, timeout, reset, reject) are taken by the next packet
 * requests, whatever they carry, and nothing is processed; "after" faults
 * (dup, lost, garbage, huge) are taken by the next packets that are
 * accepted: the packet is stored and only the answer is replaced.  slow
 * delays every answer.  An answer that waits (slow, timeout) is a
 * pending entry with a timer; all of them are answered or released
 * before the evhttp is freed, so that nothing leaks under ASan.
 */
#include "hoursd.h"
#include "policesim.h"
#include "conf.h"
#include "log.h"
#include "server.h"
#include "sig.h"
#include "policesim.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define EXIT_USAGE 2
#define MAX_BODY (64 * 1024)
#define MAX_HEADERS (16 * 1024)
#define CONN_TIMEOUT_S 60
#define HOLD_S 3600		      /* the timeout fault gives up after this long */
#define HUGE_BYTES (10 * 1024 * 1024) /* the huge fault's body */
#define MAX_RULES 16
#define MAX_FAULT_COUNT 1000000
#define MAX_SLOW_MS 600000
#define MAX_VERIFY_CERTS 8
#define SIG_MAX 512
#define MAX_NATIONAL_BODY (8 * 1024 * 1024) /* an uploaded teaching log */

enum fault {
	F_5XX,
	F_BUSY,
	F_TIMEOUT,
	F_RESET,
	F_REJECT,
	F_DUP,
	F_LOST,
	F_GARBAGE,
	F_HUGE,
	F_E1, /* national stage hours: answered with that errorcode, not processed */
	F_E201,
	F_E202,
};

static const struct {
	const char *name;
	bool after; /* taken by an accepted packet, which is stored */
} fault_info[] = {
	[F_5XX] = {"5xx", false},	  [F_BUSY] = {"busy", false},
	[F_TIMEOUT] = {"timeout", false}, [F_RESET] = {"reset", false},
	[F_REJECT] = {"reject", false},	  [F_DUP] = {"dup", true},
	[F_LOST] = {"lost", true},	  [F_GARBAGE] = {"garbage", true},
	[F_HUGE] = {"huge", true},	  [F_E1] = {"e1", false},
	[F_E201] = {"e201", false},	  [F_E202] = {"e202", false},
};

struct rule {
	enum fault kind;
	unsigned long left;
};

struct faults {
	struct rule r[MAX_RULES];
	unsigned n;
	unsigned slow_ms;
};

/* What to do with a request once decided. */
enum action { ACT_SEND, ACT_HOLD, ACT_RESET };

struct answer {
	enum action act;
	int code;
	const char *reason;
	struct evbuffer *body; /* owned */
	bool retry_after;
};

/* An answer waiting for its timer (slow), or a request never answered (timeout). */
struct pending {
	struct pending *next;
	struct psim *ps;
	struct evhttp_request *req;
	struct event *timer;
	struct answer a;
};

struct signer {
	uint8_t sha256[32];
	char hex[65];
	const char *alg; /* "RSA-SHA256" or "SM2-SM3" */
};

struct stats {
	uint64_t received, accepted, duplicates, duplicates_differing, rejected_signature,
		rejected_invalid, bad_request, faults_injected, slowed, store_errors;
};

struct psim {
	struct event_base *base;
	struct evhttp *http;
	SSL_CTX *tls;
	struct sig_cache *sigs;
	struct signer signer[MAX_VERIFY_CERTS];
	unsigned nsigners;
	FILE *store;
	json_t *seen;	  /* packet id -> the body first accepted */
	json_t *rename;	  /* contract name -> province name (--field-map) */
	json_t *contract; /* province name -> contract name */
	struct faults f;
	struct pending *pending;
	struct stats st;
	struct event *sigint_ev, *sigterm_ev;
	struct natsim *nat; /* --national-dir: the national interface; NULL: off */
};

struct opts {
	const char *listen, *cert, *key, *client_ca, *store, *fault, *field_map, *national_dir;
	const char *verify[MAX_VERIFY_CERTS];
	unsigned nverify;
	bool verbose;
};

/* ---- fault specs ---- */

static bool parse_uint(const char *s, size_t n, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	if (n == 0 || n > 10)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* One "kind:N" of a spec into f; false with err on anything unknown. */
static bool parse_rule(struct faults *f, const char *s, size_t n, char *err, size_t errlen)
{
	const char *colon = memchr(s, ':', n);
	size_t klen = colon ? (size_t)(colon - s) : n;
	unsigned long v;

	if (!colon) {
		snprintf(err, errlen, "'%.*s': kind:N expected", (int)n, s);
		return false;
	}
	const char *num = colon + 1;
	size_t nlen = n - klen - 1;
	if (klen == 4 && memcmp(s, "slow", 4) == 0) {
		if (!parse_uint(num, nlen, MAX_SLOW_MS, &v)) {
			snprintf(err, errlen, "slow: milliseconds 0-%d expected", MAX_SLOW_MS);
			return false;
		}
		f->slow_ms = (unsigned)v;
		return true;
	}
	for (size_t k = 0; k < ARRAY_SIZE(fault_info); k++) {
		if (strlen(fault_info[k].name) != klen || memcmp(s, fault_info[k].name, klen) != 0)
			continue;
		if (!parse_uint(num, nlen, MAX_FAULT_COUNT, &v)) {
			snprintf(err, errlen, "%s: a count 0-%d expected", fault_info[k].name,
				 MAX_FAULT_COUNT);
			return false;
		}
		if (f->n == MAX_RULES) {
			snprintf(err, errlen, "more than %d rules", MAX_RULES);
			return false;
		}
		f->r[f->n++] = (struct rule){(enum fault)k, v};
		return true;
	}
	snprintf(err, errlen, "unknown fault '%.*s'", (int)klen, s);
	return false;
}

/*
 * A whole spec ("5xx:3,slow:200"), blanks and newlines ignored; an empty
 * spec clears every fault.  Parsed into a fresh set: on error nothing changes.
 */
static bool faults_parse(struct faults *out, const char *spec, size_t len, char *err, size_t errlen)
{
	struct faults f = {0};
	char buf[512];
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (spec[i] == ' ' || spec[i] == '\t' || spec[i] == '\r' || spec[i] == '\n')
			continue;
		if (n + 1 >= sizeof(buf)) {
			snprintf(err, errlen, "spec too long");
			return false;
		}
		buf[n++] = spec[i];
	}
	buf[n] = '\0';
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && buf[j] != ',')
			j++;
		if (j > i && !parse_rule(&f, buf + i, j - i, err, errlen))
			return false;
		i = j + 1;
	}
	*out = f;
	return true;
}

/* The remaining faults as a spec. */
static void faults_format(const struct faults *f, char *out, size_t cap)
{
	size_t n = 0;
	out[0] = '\0';
	for (unsigned i = 0; i < f->n && n < cap; i++) {
		if (f->r[i].left)
			n += (size_t)snprintf(out + n, cap - n, "%s%s:%lu", n ? "," : "",
					      fault_info[f->r[i].kind].name, f->r[i].left);
	}
	if (f->slow_ms && n < cap)
		snprintf(out + n, cap - n, "%sslow:%u", n ? "," : "", f->slow_ms);
}

/* Take one of the first rule of the given phase that has some left; -1 when none. */
static int faults_take(struct faults *f, bool after)
{
	for (unsigned i = 0; i < f->n; i++) {
		if (f->r[i].left && fault_info[f->r[i].kind].after == after) {
			f->r[i].left--;
			return (int)f->r[i].kind;
		}
	}
	return -1;
}

/* ---- answers ---- */

static struct evbuffer *json_buffer(json_t *j)
{
	struct evbuffer *b = evbuffer_new();
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	if (b && s)
		evbuffer_add(b, s, strlen(s));
	free(s);
	json_decref(j);
	return b;
}

static struct answer ans_result(int code, const char *reason, const char *result)
{
	return (struct answer){ACT_SEND, code, reason,
			       json_buffer(json_pack("{ss}", "result", result)), false};
}

static struct answer ans_rejected(int code, const char *reason, const char *why, const char *msg)
{
	json_t *j = json_pack("{ssssss}", "result", "rejected", "code", why, "message", msg);
	return (struct answer){ACT_SEND, code, reason, json_buffer(j), false};
}

static struct answer ans_retry(int code, const char *reason, bool retry_after)
{
	struct answer a = ans_result(code, reason, "retry");
	a.retry_after = retry_after;
	return a;
}

/* 200 with a body that is not JSON, or that is 10 MB of it. */
static struct answer ans_broken(bool huge)
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
static void answer_now(struct evhttp_request *req, struct answer *a)
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

static void pending_unlink(struct psim *ps, struct pending *p)
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
	pending_unlink(ps, p);
}

static struct pending *pending_find(struct psim *ps, struct evhttp_request *req)
{
	for (struct pending *p = ps->pending; p; p = p->next)
		if (p->req == req)
			return p;
	return NULL;
}

/* Answer now, or after slow ms, or hold (timeout fault). */
static void answer(struct psim *ps, struct evhttp_request *req, struct answer a, bool delay)
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

/* ---- the packet ---- */

/* The contract's body fields, for the checks of a received packet. */
enum ftype { T_STR, T_STR_OR_NULL, T_INT, T_BOOL };
static const struct {
	const char *name;
	enum ftype t;
} fields[] = {
	{"packet_id", T_STR},
	{"version", T_INT},
	{"school_code", T_STR},
	{"student_no", T_STR},
	{"id_card_sha256", T_STR_OR_NULL},
	{"vehicle_class", T_STR},
	{"part", T_INT},
	{"subject", T_INT},
	{"total_minutes", T_INT},
	{"vehicle_minutes", T_INT},
	{"simulator_minutes", T_INT},
	{"classroom_minutes", T_INT},
	{"remote_minutes", T_INT},
	{"mileage_km", T_STR},
	{"first_minute", T_STR},
	{"last_minute", T_STR},
	{"record_count", T_INT},
	{"records_sha256", T_STR},
	{"backfilled", T_BOOL},
	{"backfill_form", T_STR_OR_NULL},
	{"backfilled_minutes", T_INT},
	{"created_at", T_STR},
};

/* A lower-case hex digit's value, or -1. */
static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static bool field_known(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		if (strcmp(fields[i].name, name) == 0)
			return true;
	return false;
}

static bool is_hex(const char *s, size_t n)
{
	if (!s || strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (hexval(s[i]) < 0)
			return false;
	return true;
}

/* "2026-03-01T08:00:00+08:00": digits where digits go, the rest literal. */
static bool is_time(const char *s)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:dd+08:00";
	if (strlen(s) != sizeof(pat) - 1)
		return false;
	for (size_t i = 0; s[i]; i++)
		if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i])
			return false;
	return true;
}

static bool is_uuid(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : hexval(s[i]) < 0)
			return false;
	}
	return true;
}

static bool is_mileage(const char *s)
{
	size_t n = strlen(s);
	if (n < 3 || n > 12 || s[n - 2] != '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (i != n - 2 && (s[i] < '0' || s[i] > '9'))
			return false;
	return n == 3 || s[0] != '0';
}

static bool type_ok(json_t *v, enum ftype t)
{
	switch (t) {
	case T_STR:
		return json_is_string(v);
	case T_STR_OR_NULL:
		return json_is_string(v) || json_is_null(v);
	case T_INT:
		return json_is_integer(v) && json_integer_value(v) >= 0;
	case T_BOOL:
		return json_is_boolean(v);
	}
	return false;
}

static json_int_t iv(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static const char *sv(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

/* The values' rules beyond their types; NULL when all hold, else what failed. */
static const char *check_values(json_t *b)
{
	if (!is_uuid(sv(b, "packet_id")))
		return "packet_id: not a lower-case UUID";
	if (iv(b, "version") != 1)
		return "version: 1 expected";
	if (iv(b, "part") < 1 || iv(b, "part") > 4 || iv(b, "subject") < 1 || iv(b, "subject") > 4)
		return "part, subject: 1 to 4";
	if (iv(b, "vehicle_minutes") + iv(b, "simulator_minutes") + iv(b, "classroom_minutes") +
		    iv(b, "remote_minutes") !=
	    iv(b, "total_minutes"))
		return "total_minutes: not the sum of the kinds";
	if (!is_mileage(sv(b, "mileage_km")))
		return "mileage_km: km with one decimal expected";
	if (!is_time(sv(b, "first_minute")) || !is_time(sv(b, "last_minute")) ||
	    !is_time(sv(b, "created_at")))
		return "first_minute, last_minute, created_at: YYYY-MM-DDTHH:MM:SS+08:00";
	if (strcmp(sv(b, "first_minute"), sv(b, "last_minute")) > 0)
		return "first_minute after last_minute";
	if (!is_hex(sv(b, "records_sha256"), 64))
		return "records_sha256: 64 lower-case hex digits";
	json_t *id = json_object_get(b, "id_card_sha256");
	if (!json_is_null(id) && !is_hex(json_string_value(id), 64))
		return "id_card_sha256: 64 lower-case hex digits or null";
	if (json_is_true(json_object_get(b, "backfilled")) ==
	    json_is_null(json_object_get(b, "backfill_form")))
		return "backfill_form: a string exactly when backfilled";
	if (iv(b, "backfilled_minutes") < 0 ||
	    iv(b, "backfilled_minutes") > iv(b, "total_minutes") ||
	    (iv(b, "backfilled_minutes") != 0 && !json_is_true(json_object_get(b, "backfilled"))))
		return "backfilled_minutes: 0 to total_minutes, 0 unless backfilled";
	return NULL;
}

/*
 * The body under the contract's names (the --field-map undone), every
 * field present with its type and nothing else; NULL with why otherwise.
 */
static json_t *contract_view(struct psim *ps, json_t *body, char *why, size_t cap)
{
	json_t *out = json_object();
	const char *k;
	json_t *v;

	json_object_foreach(body, k, v)
	{
		json_t *cn = ps->contract ? json_object_get(ps->contract, k) : NULL;
		const char *name = cn ? json_string_value(cn) : k;
		if (!cn && ps->rename && json_object_get(ps->rename, k)) {
			snprintf(why, cap, "%s: renamed by the field map", k);
			goto bad;
		}
		if (!field_known(name)) {
			snprintf(why, cap, "%s: unknown field", k);
			goto bad;
		}
		json_object_set(out, name, v);
	}
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		v = json_object_get(out, fields[i].name);
		if (!v || !type_ok(v, fields[i].t)) {
			snprintf(why, cap, "%s: %s", fields[i].name, v ? "wrong type" : "missing");
			goto bad;
		}
	}
	const char *vwhy = check_values(out);
	if (vwhy) {
		snprintf(why, cap, "%s", vwhy);
		goto bad;
	}
	return out;
bad:
	json_decref(out);
	return NULL;
}

static bool hex_decode(const char *s, uint8_t *out, size_t n)
{
	if (!s || strlen(s) != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* Standard base64 with padding; false when malformed or longer than cap. */
static bool b64_decode(const char *s, uint8_t *out, size_t cap, size_t *n)
{
	size_t len = s ? strlen(s) : 0;
	if (len == 0 || len % 4 || len / 4 * 3 > cap)
		return false;
	int m = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len);
	if (m < 0)
		return false;
	*n = (size_t)m - (s[len - 1] == '=') - (s[len - 2] == '=');
	return true;
}

/* The signature headers against the exact body; NULL when it verifies, else why. */
static const char *check_signature(struct psim *ps, struct evhttp_request *req, const uint8_t *body,
				   size_t n, const struct signer **who)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const char *kid = evhttp_find_header(h, "X-Hoursd-Key-Id");
	const char *alg = evhttp_find_header(h, "X-Hoursd-Signature-Alg");
	const char *sig64 = evhttp_find_header(h, "X-Hoursd-Signature");
	uint8_t id[32], sig[SIG_MAX];
	size_t siglen;

	if (!kid || !alg || !sig64)
		return "missing X-Hoursd-Key-Id, X-Hoursd-Signature-Alg or X-Hoursd-Signature";
	*who = NULL;
	if (hex_decode(kid, id, 32))
		for (unsigned i = 0; i < ps->nsigners; i++)
			if (memcmp(ps->signer[i].sha256, id, 32) == 0)
				*who = &ps->signer[i];
	if (!*who)
		return "unknown key id";
	if (strcmp(alg, (*who)->alg) != 0)
		return "algorithm does not match the key";
	if (!b64_decode(sig64, sig, sizeof(sig), &siglen))
		return "signature is not base64";
	enum sig_result r = sig_verify(ps->sigs, id, body, n, sig, siglen, time(NULL));
	return r == SIG_OK ? NULL : sig_result_name(r);
}

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

static bool store_append(struct psim *ps, const char *id, const char *body, size_t n,
			 const struct signer *s, const char *cn, struct evhttp_request *req)
{
	char when[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	const char *sig =
		evhttp_find_header(evhttp_request_get_input_headers(req), "X-Hoursd-Signature");
	json_t *line = json_pack("{ssssssssssss}", "packet_id", id, "received_at", when, "client",
				 cn, "key_id", s->hex, "alg", s->alg, "signature", sig);
	if (line)
		json_object_set_new(line, "body", json_stringn(body, n));
	char *text = line ? json_dumps(line, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(line);
	bool ok =
		text && ps->store && fprintf(ps->store, "%s\n", text) > 0 && fflush(ps->store) == 0;
	free(text);
	if (!ok)
		clearerr(ps->store);
	return ok;
}

/* The after-fault answers, for a packet just stored. */
static struct answer after_fault(int f)
{
	switch (f) {
	case F_DUP:
		return ans_result(HTTP_OK, "OK", "duplicate");
	case F_LOST:
		return (struct answer){ACT_RESET, 0, NULL, NULL, false};
	case F_GARBAGE:
		return ans_broken(false);
	default:
		return ans_broken(true);
	}
}

/*
 * A packet, checked in the contract's order.  *pid gets the packet id
 * (or "-") for the log line, *what the outcome.
 */
static struct answer packet(struct psim *ps, struct evhttp_request *req, const char *cn, char *pid,
			    size_t pidcap, const char **what)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	const char *body = n ? (const char *)evbuffer_pullup(in, -1) : "";
	const struct signer *s = NULL;
	char why[160];
	json_error_t jerr;

	const char *bad = check_signature(ps, req, (const uint8_t *)body, n, &s);
	if (bad) {
		ps->st.rejected_signature++;
		*what = bad;
		return ans_rejected(401, "Unauthorized", "bad_signature", bad);
	}
	json_t *root = json_loadb(body, n, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(root)) {
		json_decref(root);
		ps->st.bad_request++;
		*what = "bad JSON";
		return ans_rejected(HTTP_BADREQUEST, "Bad Request", "bad_json",
				    "the body is not a JSON object");
	}
	char *canon = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
	bool canonical = canon && strlen(canon) == n && memcmp(canon, body, n) == 0;
	free(canon);
	json_t *view = canonical ? contract_view(ps, root, why, sizeof(why)) : NULL;
	json_decref(root);
	if (!canonical) {
		ps->st.bad_request++;
		*what = "not canonical";
		return ans_rejected(HTTP_BADREQUEST, "Bad Request", "not_canonical",
				    "the body is not in the canonical form");
	}
	if (!view) {
		ps->st.rejected_invalid++;
		log_info("%s: invalid packet: %s", cn, why);
		*what = "invalid field";
		return ans_rejected(422, "Unprocessable Entity", "invalid_field", why);
	}
	snprintf(pid, pidcap, "%s", sv(view, "packet_id"));
	json_decref(view);
	json_t *prev = json_object_get(ps->seen, pid);
	if (prev) {
		ps->st.duplicates++;
		*what = "duplicate";
		if (json_string_length(prev) != n ||
		    memcmp(json_string_value(prev), body, n) != 0) {
			ps->st.duplicates_differing++;
			*what = "duplicate, body differs from the one accepted";
		}
		return ans_result(409, "Conflict", "duplicate");
	}
	if (!store_append(ps, pid, body, n, s, cn, req)) {
		ps->st.store_errors++;
		*what = "store write failed";
		return ans_retry(HTTP_SERVUNAVAIL, "Service Unavailable", false);
	}
	json_object_set_new(ps->seen, pid, json_stringn(body, n));
	ps->st.accepted++;
	*what = "accepted";
	int f = faults_take(&ps->f, true);
	if (f < 0)
		return ans_result(HTTP_OK, "OK", "accepted");
	ps->st.faults_injected++;
	*what = fault_info[f].name;
	return after_fault(f);
}

static struct answer before_fault(int f)
{
	switch (f) {
	case F_5XX:
		return ans_retry(HTTP_SERVUNAVAIL, "Service Unavailable", false);
	case F_BUSY:
		return ans_retry(429, "Too Many Requests", true);
	case F_TIMEOUT:
		return (struct answer){ACT_HOLD, 0, NULL, NULL, false};
	case F_RESET:
		return (struct answer){ACT_RESET, 0, NULL, NULL, false};
	default:
		return ans_rejected(422, "Unprocessable Entity", "injected",
				    "rejected by policesim's fault injection");
	}
}

/* ---- admin ---- */

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
	return (struct answer){ACT_SEND, HTTP_OK, "OK", json_buffer(j), false};
}

static struct answer faults_answer(struct psim *ps, struct evhttp_request *req)
{
	char spec[512], err[160];
	if (evhttp_request_get_command(req) == EVHTTP_REQ_POST) {
		struct evbuffer *in = evhttp_request_get_input_buffer(req);
		size_t n = evbuffer_get_length(in);
		const char *s = n ? (const char *)evbuffer_pullup(in, -1) : "";
		if (!faults_parse(&ps->f, s, n, err, sizeof(err)))
			return ans_rejected(HTTP_BADREQUEST, "Bad Request", "bad_spec", err);
		faults_format(&ps->f, spec, sizeof(spec));
		log_info("faults now '%s'", spec);
	}
	faults_format(&ps->f, spec, sizeof(spec));
	return (struct answer){ACT_SEND, HTTP_OK, "OK",
			       json_buffer(json_pack("{ss}", "faults", spec)), false};
}

static struct answer admin(struct psim *ps, struct evhttp_request *req, const char *path)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	if (!from_loopback(req))
		return ans_rejected(403, "Forbidden", "forbidden", "admin paths are loopback only");
	if (strcmp(path, "/_stats") == 0 && m == EVHTTP_REQ_GET)
		return stats_answer(ps);
	if (strcmp(path, "/_faults") == 0 && (m == EVHTTP_REQ_GET || m == EVHTTP_REQ_POST))
		return faults_answer(ps, req);
	return ans_rejected(HTTP_NOTFOUND, "Not Found", "not_found",
			    "GET /_stats, GET|POST /_faults");
}

/* ---- requests ---- */

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
		log_info("%s %s: fault %s", cn, path, fault_info[f].name);
		answer(ps, req, before_fault(f), true);
		return;
	}
	int code = f == F_E1 ? 1 : f == F_E201 ? 201 : f == F_E202 ? 202 : 0;
	char *out = natsim_handle(ps->nat, post, path, query, body, n, code, &status, &what);
	struct answer a = {ACT_SEND, status, "OK", evbuffer_new(), false};
	if (a.body && out)
		evbuffer_add(a.body, out, strlen(out));
	log_info("%s %s %s (%zu bytes): %s", cn, post ? "POST" : "GET", path, n, what);
	free(out);
	answer(ps, req, a, true);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct psim *ps = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	char cn[64], pid[40] = "-";
	const char *what = "?";

	/* evhttp calls again with no URI on a request it failed: answer, never twice. */
	struct pending *p = pending_find(ps, req);
	if (p) {
		if (p->a.body)
			evbuffer_free(p->a.body);
		pending_unlink(ps, p);
	}
	if (!path) {
		evhttp_send_error(req, HTTP_BADREQUEST, NULL);
		return;
	}
	client_cn(req, cn, sizeof(cn));
	if (strncmp(path, "/_", 2) == 0) {
		answer(ps, req, admin(ps, req, path), false);
		return;
	}
	if (ps->nat && natsim_path(path)) {
		national_request(ps, req, path, evhttp_uri_get_query(uri), cn);
		return;
	}
	if (evbuffer_get_length(evhttp_request_get_input_buffer(req)) > MAX_BODY) {
		answer(ps, req, ans_rejected(413, "Payload Too Large", "too_large", "over 64 KiB"),
		       false);
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
		answer(ps, req, ans_rejected(405, "Method Not Allowed", "method", "POST only"),
		       false);
		return;
	}
	ps->st.received++;
	int f = faults_take(&ps->f, false);
	struct answer a;
	if (f >= 0) {
		ps->st.faults_injected++;
		what = fault_info[f].name;
		a = before_fault(f);
	} else {
		a = packet(ps, req, cn, pid, sizeof(pid), &what);
	}
	if (ps->f.slow_ms && a.act == ACT_SEND)
		ps->st.slowed++;
	log_info("%s %s packet %s: %d %s%s", cn, path, pid, a.act == ACT_SEND ? a.code : 0, what,
		 ps->f.slow_ms && a.act == ACT_SEND ? " (slow)" : "");
	answer(ps, req, a, true);
}

/* ---- set-up ---- */

static struct bufferevent *on_bev(struct event_base *base, void *arg)
{
	struct psim *ps = arg;
	SSL *ssl = SSL_new(ps->tls);
	if (!ssl)
		return NULL;
	struct bufferevent *bev = bufferevent_openssl_socket_new(
		base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev)
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* A signing certificate to verify with: cached under its digest, its algorithm named. */
static bool add_signer(struct psim *ps, const char *path)
{
	char *pem = NULL, err[256];
	size_t len = 0;
	FILE *fp = fopen(path, "r");
	X509 *x = fp ? PEM_read_X509(fp, NULL, NULL, NULL) : NULL;
	struct signer *s = &ps->signer[ps->nsigners];
	unsigned mdlen = 0;
	bool ok = false;

	if (!x) {
		log_error("--verify-cert %s: cannot read a PEM certificate", path);
		goto out;
	}
	EVP_PKEY *pk = X509_get0_pubkey(x);
	char group[32] = "";
	if (pk && EVP_PKEY_is_a(pk, "EC"))
		(void)EVP_PKEY_get_group_name(pk, group, sizeof(group), NULL);
	if (pk && EVP_PKEY_is_a(pk, "RSA"))
		s->alg = "RSA-SHA256";
	else if (pk && (EVP_PKEY_is_a(pk, "SM2") || strcmp(group, "SM2") == 0))
		s->alg = "SM2-SM3";
	else {
		log_error("--verify-cert %s: an RSA or SM2 key is required", path);
		goto out;
	}
	BIO *mem = BIO_new(BIO_s_mem());
	if (!mem || X509_digest(x, EVP_sha256(), s->sha256, &mdlen) != 1 || mdlen != 32 ||
	    PEM_write_bio_X509(mem, x) != 1 || BIO_write(mem, "", 1) != 1) {
		BIO_free(mem);
		log_error("--verify-cert %s: cannot encode", path);
		goto out;
	}
	len = (size_t)BIO_get_mem_data(mem, &pem);
	ok = len > 0 && sig_cache_put(ps->sigs, s->sha256, pem, err, sizeof(err));
	BIO_free(mem);
	if (!ok) {
		log_error("--verify-cert %s: %s", path, err);
		goto out;
	}
	for (size_t i = 0; i < 32; i++)
		snprintf(s->hex + 2 * i, 3, "%02x", s->sha256[i]);
	log_info("verifying %s signatures with %s (key id %s)", s->alg, path, s->hex);
	ps->nsigners++;
	if (ps->nat && !natsim_add_cert(ps->nat, x, s->sha256)) {
		log_error("--verify-cert %s: cannot read its serial", path);
		ok = false;
	}
out:
	X509_free(x);
	if (fp)
		fclose(fp);
	return ok;
}

/* The packets of an earlier run: their ids are duplicates from the start. */
static bool store_load(struct psim *ps, const char *path)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0, skipped = 0;

	if (!fp) {
		if (errno == ENOENT)
			return true;
		log_error("--store %s: %s", path, strerror(errno));
		return false;
	}
	while (getline(&line, &cap, fp) > 0) {
		json_t *j = json_loads(line, 0, NULL);
		const char *id = json_string_value(json_object_get(j, "packet_id"));
		json_t *body = json_object_get(j, "body");
		lineno++;
		if (id && json_is_string(body))
			json_object_set(ps->seen, id, body);
		else
			skipped++;
		json_decref(j);
	}
	free(line);
	fclose(fp);
	log_info("store %s: %zu packets from %u lines%s", path, json_object_size(ps->seen), lineno,
		 skipped ? " (unreadable lines skipped)" : "");
	return true;
}

/*
 * One entry of a field map, as docs/push-contract.md section 6 says: a
 * contract name to a new name of 1-64 printable ASCII bytes (no quote or
 * backslash), given to no other member.
 */
static bool map_entry_ok(struct psim *ps, const char *k, json_t *v)
{
	const char *n = json_string_value(v);
	size_t len = n ? strlen(n) : 0;

	if (!field_known(k) || len == 0 || len > 64 || json_object_get(ps->contract, n))
		return false;
	for (size_t i = 0; i < len; i++)
		if (n[i] < 0x21 || n[i] > 0x7e || n[i] == '"' || n[i] == '\\')
			return false;
	/* Another member's name, unless that member is renamed too. */
	return !field_known(n) || json_object_get(ps->rename, n);
}

/* The field map: an object of contract name -> province name, both ways. */
static bool field_map_load(struct psim *ps, const char *path)
{
	json_error_t e;
	const char *k;
	json_t *v;

	ps->rename = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
	if (!json_is_object(ps->rename)) {
		log_error("--field-map %s:%d: %s", path, e.line, e.text);
		return false;
	}
	ps->contract = json_object();
	json_object_foreach(ps->rename, k, v)
	{
		if (!map_entry_ok(ps, k, v)) {
			log_error("--field-map %s: '%s': a contract field mapped to a new, "
				  "unique name expected",
				  path, k);
			return false;
		}
		json_object_set_new(ps->contract, json_string_value(v), json_string(k));
	}
	return true;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct psim *ps = arg;
	log_info("signal %d: exiting", (int)sig);
	event_base_loopbreak(ps->base);
}

static bool psim_start(struct psim *ps, const struct opts *o)
{
	struct hconf tc = {.tls_cert = (char *)o->cert,
			   .tls_key = (char *)o->key,
			   .tls_ca = (char *)o->client_ca};
	char err[512], spec[512];
	char *host = strdup(o->listen);
	char *colon = host ? strrchr(host, ':') : NULL;
	unsigned long port;

	if (!colon || !parse_uint(colon + 1, strlen(colon + 1), 65535, &port)) {
		log_error("--listen %s: HOST:PORT expected", o->listen);
		free(host);
		return false;
	}
	*colon = '\0';
	ps->base = event_base_new();
	ps->sigs = sig_cache_new(MAX_VERIFY_CERTS);
	ps->seen = json_object();
	bool ok = ps->base && ps->sigs && ps->seen;
	ps->tls = ok ? tls_server_ctx(&tc, err, sizeof(err)) : NULL;
	if (ok && !ps->tls)
		log_error("TLS: %s", err);
	ok = ps->tls && faults_parse(&ps->f, o->fault ? o->fault : "",
				     o->fault ? strlen(o->fault) : 0, err, sizeof(err));
	if (ps->tls && !ok)
		log_error("--fault: %s", err);
	if (ok && o->national_dir && !(ps->nat = natsim_new(o->national_dir, ps->sigs)))
		ok = false;
	for (unsigned i = 0; ok && i < o->nverify; i++)
		ok = add_signer(ps, o->verify[i]);
	ok = ok && (!o->field_map || field_map_load(ps, o->field_map));
	ok = ok && store_load(ps, o->store);
	if (ok && !(ps->store = fopen(o->store, "a"))) {
		log_error("--store %s: %s", o->store, strerror(errno));
		ok = false;
	}
	ps->http = ok ? evhttp_new(ps->base) : NULL;
	struct evhttp_bound_socket *sock =
		ps->http ? evhttp_bind_socket_with_handle(ps->http, host, (ev_uint16_t)port) : NULL;
	if (ps->http && !sock)
		log_error("cannot listen on %s", o->listen);
	free(host);
	if (!sock)
		return false;
	evhttp_set_bevcb(ps->http, on_bev, ps);
	evhttp_set_gencb(ps->http, on_request, ps);
	evhttp_set_timeout(ps->http, CONN_TIMEOUT_S);
	evhttp_set_max_body_size(ps->http, ps->nat ? MAX_NATIONAL_BODY : MAX_BODY);
	evhttp_set_max_headers_size(ps->http, MAX_HEADERS);
	evhttp_set_allowed_methods(ps->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD);
	ps->sigint_ev = evsignal_new(ps->base, SIGINT, on_signal, ps);
	ps->sigterm_ev = evsignal_new(ps->base, SIGTERM, on_signal, ps);
	if (!ps->sigint_ev || !ps->sigterm_ev)
		return false;
	evsignal_add(ps->sigint_ev, NULL);
	evsignal_add(ps->sigterm_ev, NULL);

	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char addr[64] = "?";
	uint16_t bound = 0;
	if (getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &sl) == 0) {
		void *a = ss.ss_family == AF_INET6
				  ? (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
				  : (void *)&((struct sockaddr_in *)&ss)->sin_addr;
		evutil_inet_ntop(ss.ss_family, a, addr, sizeof(addr));
		bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						       : ((struct sockaddr_in *)&ss)->sin_port);
	}
	faults_format(&ps->f, spec, sizeof(spec));
	log_info("policesim listening on %s port %u (client certificates required), faults '%s'",
		 addr, (unsigned)bound, spec);
	return true;
}

/* Release every waiting request (answered, or freed when its connection is gone), then the rest. */
static void psim_free(struct psim *ps)
{
	while (ps->pending) {
		struct pending *p = ps->pending;
		if (p->a.act == ACT_HOLD)
			p->a.act = ACT_RESET;
		answer_now(p->req, &p->a);
		pending_unlink(ps, p);
	}
	if (ps->http)
		evhttp_free(ps->http);
	if (ps->sigint_ev)
		event_free(ps->sigint_ev);
	if (ps->sigterm_ev)
		event_free(ps->sigterm_ev);
	SSL_CTX_free(ps->tls);
	sig_cache_free(ps->sigs);
	if (ps->store)
		fclose(ps->store);
	json_decref(ps->seen);
	json_decref(ps->rename);
	json_decref(ps->contract);
	natsim_free(ps->nat);
	if (ps->base)
		event_base_free(ps->base);
}

/* ---- options ---- */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: policesim --cert FILE --key FILE --client-ca FILE --verify-cert FILE\n"
		"                 --store FILE [options]\n"
		"A simulated police platform: the receiving side of docs/push-contract.md.\n"
		"  --listen HOST:PORT   where to listen (default 127.0.0.1:8443; port 0: any)\n"
		"  --cert, --key FILE   the server's certificate and key (PEM)\n"
		"  --client-ca FILE     CA the clients' certificates must chain to\n"
		"  --verify-cert FILE   the pusher's signing certificate (RSA or SM2); repeatable\n"
		"  --store FILE         one JSON line per accepted packet; read back at start\n"
		"  --field-map FILE     the pusher's push.field_map, to read renamed fields\n"
		"  --fault SPEC         e.g. 5xx:3,busy:1,timeout:2,reset:1,reject:1,dup:1,\n"
		"                       lost:1,garbage:1,huge:1,slow:2000 (see the contract);\n"
		"                       e1:N, e201:N, e202:N: errorcodes of the national profile\n"
		"  --national-dir DIR   also the national interface: .../imageup/TYPE,\n"
		"                       .../stagetrainningtime, .../{stunum}-stagetrainningtime\n"
		"                       review-{subject}, and POST /booking; PDFs and accepted\n"
		"                       calls are kept in DIR (national.jsonl, read back at start)\n"
		"  -v, --verbose        debug log\n"
		"Admin (loopback only): GET /_stats, GET /_faults, POST /_faults with a SPEC.\n"
		"       policesim pre-enter --hoursd HOST:PORT --cert FILE --key FILE --ca FILE\n"
		"                 [--day DATE] STUDENT\n"
		"Pre-enter a student as the platform does: only once hoursd says the student\n"
		"is enrolled and scheduled that day (docs/push-contract.md section 10); exit 0\n"
		"pre-entered, 1 refused, 2 usage, 3 hoursd could not be asked.\n");
}

static int parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{"listen", required_argument, NULL, 'l'},
		{"cert", required_argument, NULL, 'c'},
		{"key", required_argument, NULL, 'k'},
		{"client-ca", required_argument, NULL, 'a'},
		{"verify-cert", required_argument, NULL, 's'},
		{"store", required_argument, NULL, 'o'},
		{"fault", required_argument, NULL, 'f'},
		{"field-map", required_argument, NULL, 'm'},
		{"national-dir", required_argument, NULL, 'N'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	*o = (struct opts){.listen = "127.0.0.1:8443"};
	while ((c = getopt_long(argc, argv, "vh", lo, NULL)) != -1) {
		switch (c) {
		case 'l':
			o->listen = optarg;
			break;
		case 'c':
			o->cert = optarg;
			break;
		case 'k':
			o->key = optarg;
			break;
		case 'a':
			o->client_ca = optarg;
			break;
		case 'o':
			o->store = optarg;
			break;
		case 'f':
			o->fault = optarg;
			break;
		case 'm':
			o->field_map = optarg;
			break;
		case 'N':
			o->national_dir = optarg;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 's':
			if (o->nverify == MAX_VERIFY_CERTS) {
				log_error("at most %d --verify-cert", MAX_VERIFY_CERTS);
				return EXIT_USAGE;
			}
			o->verify[o->nverify++] = optarg;
			break;
		case 'h':
			usage(stdout);
			return -1;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc || !o->cert || !o->key || !o->client_ca || !o->nverify || !o->store) {
		log_error("--cert, --key, --client-ca, --verify-cert and --store are required");
		usage(stderr);
		return EXIT_USAGE;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct psim ps;
	struct opts o;
	log_set_prefix("policesim");
	/* The pre-entry of a student: a question to hoursd, not the platform's service. */
	if (argc > 1 && strcmp(argv[1], "pre-enter") == 0)
		return policesim_preenter(argc - 1, argv + 1);
	int rc = parse_opts(&o, argc, argv);

	if (rc != 0)
		return rc < 0 ? 0 : rc;
	if (o.verbose)
		log_set_level(HLOG_DEBUG);
	signal(SIGPIPE, SIG_IGN);
	rc = 1;
	if (psim_start(&ps, &o)) {
		event_base_dispatch(ps.base);
		rc = 0;
	}
	psim_free(&ps);
	libevent_global_shutdown();
	return rc;
}
