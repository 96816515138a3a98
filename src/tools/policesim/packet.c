/*
 * packet.c - a packet POSTed to policesim (policesim.h), checked in the
 * contract's order (docs/push-contract.md): the signature over the exact
 * body bytes, JSON, the canonical form, the fields (under the contract's
 * names, --field-map undone); deduplicated by packet id and appended to
 * --store as one JSON line before "accepted" is answered.
 */
#include "hoursd.h"
#include "policesim.h"
#include "log.h"
#include "sig.h"

#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/evp.h>

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

bool packet_field_known(const char *name)
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
		if (!packet_field_known(name)) {
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

/* A packet's body and what its checks found. */
struct body {
	const char *p;
	size_t n;
	const struct signer *signer;
	char pid[40];
};

/*
 * The body's JSON, canonical and under the contract's names; the packet
 * id into b->pid.  False with the rejection in *a otherwise.
 */
static bool body_valid(struct psim *ps, struct body *b, const char *cn, struct answer *a,
		       const char **what)
{
	char why[160];
	json_error_t jerr;
	json_t *root = json_loadb(b->p, b->n, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(root)) {
		json_decref(root);
		ps->st.bad_request++;
		*what = "bad JSON";
		*a = answer_rejected(HTTP_BADREQUEST, "Bad Request", "bad_json",
				     "the body is not a JSON object");
		return false;
	}
	char *canon = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
	bool canonical = canon && strlen(canon) == b->n && memcmp(canon, b->p, b->n) == 0;
	free(canon);
	json_t *view = canonical ? contract_view(ps, root, why, sizeof(why)) : NULL;
	json_decref(root);
	if (!canonical) {
		ps->st.bad_request++;
		*what = "not canonical";
		*a = answer_rejected(HTTP_BADREQUEST, "Bad Request", "not_canonical",
				     "the body is not in the canonical form");
	} else if (!view) {
		ps->st.rejected_invalid++;
		log_info("%s: invalid packet: %s", cn, why);
		*what = "invalid field";
		*a = answer_rejected(422, "Unprocessable Entity", "invalid_field", why);
	} else {
		snprintf(b->pid, sizeof(b->pid), "%s", sv(view, "packet_id"));
	}
	json_decref(view);
	return view != NULL;
}

/* A good packet: a duplicate, or stored and accepted (unless an after fault answers). */
static struct answer store(struct psim *ps, const struct body *b, const char *cn,
			   struct evhttp_request *req, const char **what)
{
	json_t *prev = json_object_get(ps->seen, b->pid);
	if (prev) {
		ps->st.duplicates++;
		*what = "duplicate";
		if (json_string_length(prev) != b->n ||
		    memcmp(json_string_value(prev), b->p, b->n) != 0) {
			ps->st.duplicates_differing++;
			*what = "duplicate, body differs from the one accepted";
		}
		return answer_result(409, "Conflict", "duplicate");
	}
	if (!store_append(ps, b->pid, b->p, b->n, b->signer, cn, req)) {
		ps->st.store_errors++;
		*what = "store write failed";
		return answer_retry(HTTP_SERVUNAVAIL, "Service Unavailable", false);
	}
	json_object_set_new(ps->seen, b->pid, json_stringn(b->p, b->n));
	ps->st.accepted++;
	*what = "accepted";
	int f = faults_take(&ps->f, true);
	if (f < 0)
		return answer_result(HTTP_OK, "OK", "accepted");
	ps->st.faults_injected++;
	*what = faults_name(f);
	return faults_after(f);
}

struct answer packet_take(struct psim *ps, struct evhttp_request *req, const char *cn, char *pid,
			  size_t pidcap, const char **what)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct body b = {.n = evbuffer_get_length(in)};
	struct answer a;
	b.p = b.n ? (const char *)evbuffer_pullup(in, -1) : "";
	const char *bad = check_signature(ps, req, (const uint8_t *)b.p, b.n, &b.signer);
	if (bad) {
		ps->st.rejected_signature++;
		*what = bad;
		return answer_rejected(401, "Unauthorized", "bad_signature", bad);
	}
	if (!body_valid(ps, &b, cn, &a, what))
		return a;
	snprintf(pid, pidcap, "%s", b.pid);
	return store(ps, &b, cn, req, what);
}
