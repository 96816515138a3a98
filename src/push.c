/*
 * push.c - the pusher, see push.h and docs/push-contract.md.
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
 * store_query, parameterized: sql/queries/push_take.sql, push_save.sql,
 * push_record.sql, and push_outbox_stats.sql for the gauges.
 */
#include "hoursd.h"
#include "push.h"
#include "conf.h"
#include "log.h"
#include "server.h"
#include "sig.h"
#include "store.h"
#include "queries.h"

#include <math.h>
#include <strings.h>
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
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define MAX_ANSWER (64 * 1024) /* the contract: anything longer is malformed */
#define MAX_ANSWER_HEADERS 16384
#define ANSWER_KEPT 4096 /* push_attempt.answer */
#define MAX_NAME 64	 /* a field map's new name */
#define STATS_EVERY_S 5	 /* the outbox gauges */
#define SIG_MAX 512
#define MAX_PATH_LEN 2048

/* ---- the configuration ---- */

struct push_config {
	unsigned refs;
	char *url;
	char *host;	   /* for connecting and verifying: no brackets */
	char *host_header; /* Host: as the URL has it, with the port when not 443 */
	char *path;	   /* path and query */
	uint16_t port;
	bool host_is_ip;
	SSL_CTX *tls;
	EVP_PKEY *sign_key;
	const char *alg; /* RSA-SHA256 or SM2-SM3 */
	char key_id[65];
	json_t *field_map; /* NULL: the contract's names */
	unsigned concurrency, timeout_s, retry_min_s, retry_max_s, max_age_s, lease_s;
};

static void cfg_unref(struct push_config *pc)
{
	if (pc == NULL || --pc->refs > 0)
		return;
	free(pc->url);
	free(pc->host);
	free(pc->host_header);
	free(pc->path);
	SSL_CTX_free(pc->tls);
	EVP_PKEY_free(pc->sign_key);
	json_decref(pc->field_map);
	free(pc);
}

void push_config_free(struct push_config *pc)
{
	cfg_unref(pc);
}

/* The last OpenSSL error as text, after what; the queue is cleared. */
static bool ssl_fail(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char buf[256] = "";
	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, errlen, "%s%s%s", what, *buf ? ": " : "", buf);
	ERR_clear_error();
	return false;
}

/* https://host[:port]/path?query: no user info, no fragment. */
static bool parse_url(struct push_config *pc, const char *url, char *err, size_t errlen)
{
	struct evhttp_uri *u = evhttp_uri_parse(url);
	const char *scheme = u ? evhttp_uri_get_scheme(u) : NULL;
	const char *host = u ? evhttp_uri_get_host(u) : NULL;
	bool ok = false;

	if (u == NULL || scheme == NULL || strcasecmp(scheme, "https") != 0 || host == NULL ||
	    *host == '\0' || evhttp_uri_get_userinfo(u) || evhttp_uri_get_fragment(u)) {
		snprintf(err, errlen, "push.url \"%.100s\": https://HOST[:PORT]/PATH expected",
			 url);
		goto out;
	}
	int port = evhttp_uri_get_port(u);
	pc->port = port > 0 ? (uint16_t)port : 443;
	size_t hl = strlen(host);
	bool v6 = hl > 2 && host[0] == '[' && host[hl - 1] == ']';
	pc->host = v6 ? strndup(host + 1, hl - 2) : strdup(host);
	const char *path = evhttp_uri_get_path(u), *query = evhttp_uri_get_query(u);
	char buf[MAX_PATH_LEN], hh[300];
	int n = snprintf(buf, sizeof(buf), "%s%s%s", path && *path ? path : "/", query ? "?" : "",
			 query ? query : "");
	if (pc->port != 443)
		snprintf(hh, sizeof(hh), "%s:%u", host, (unsigned)pc->port);
	else
		snprintf(hh, sizeof(hh), "%s", host);
	pc->path = n > 0 && (size_t)n < sizeof(buf) ? strdup(buf) : NULL;
	pc->host_header = strdup(hh);
	pc->url = strdup(url);
	unsigned char ip[16];
	pc->host_is_ip = pc->host && (evutil_inet_pton(AF_INET, pc->host, ip) == 1 ||
				      evutil_inet_pton(AF_INET6, pc->host, ip) == 1);
	ok = pc->host && pc->path && pc->host_header && pc->url;
	if (!ok)
		snprintf(err, errlen, "push.url: too long");
out:
	if (u)
		evhttp_uri_free(u);
	return ok;
}

/* TLS 1.2+, the platform's certificate verified against push.ca, ours presented. */
static bool make_tls(struct push_config *pc, const struct hconf *c, char *err, size_t errlen)
{
	char what[700];
	pc->tls = SSL_CTX_new(TLS_client_method());
	if (pc->tls == NULL)
		return ssl_fail(err, errlen, "push: TLS context");
	SSL_CTX_set_min_proto_version(pc->tls, TLS1_2_VERSION);
	SSL_CTX_set_verify(pc->tls, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(pc->tls, c->push_ca, NULL) != 1) {
		snprintf(what, sizeof(what), "push.ca %s", c->push_ca);
		return ssl_fail(err, errlen, what);
	}
	if (SSL_CTX_use_certificate_chain_file(pc->tls, c->push_cert) != 1) {
		snprintf(what, sizeof(what), "push.cert %s", c->push_cert);
		return ssl_fail(err, errlen, what);
	}
	if (SSL_CTX_use_PrivateKey_file(pc->tls, c->push_key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(pc->tls) != 1) {
		snprintf(what, sizeof(what), "push.key %s (or it does not match push.cert)",
			 c->push_key);
		return ssl_fail(err, errlen, what);
	}
	return true;
}

/* RSA of 2048 bits or more, or SM2: the contract's two algorithms. */
static const char *key_alg(EVP_PKEY *k)
{
	char group[32] = "";
	if (EVP_PKEY_is_a(k, "RSA"))
		return EVP_PKEY_get_bits(k) >= 2048 ? "RSA-SHA256" : NULL;
	if (EVP_PKEY_is_a(k, "EC"))
		(void)EVP_PKEY_get_group_name(k, group, sizeof(group), NULL);
	if (EVP_PKEY_is_a(k, "SM2") || strcmp(group, "SM2") == 0)
		return "SM2-SM3";
	return NULL;
}

/*
 * The signing key and its certificate: the key id is the certificate's
 * SHA-256, and a test body signed with the key must verify with the
 * certificate the way the platform verifies it (sig.c).
 */
static bool load_signer(struct push_config *pc, const struct hconf *c, char *err, size_t errlen)
{
	static const char probe[] = "{\"probe\":true}";
	uint8_t md[32], sig[SIG_MAX];
	size_t siglen = sizeof(sig);
	unsigned mdlen = 0;
	char *pem = NULL;
	bool ok = false;

	pc->sign_key = sig_load_key(c->push_sign_key);
	if (pc->sign_key == NULL) {
		snprintf(err, errlen, "push.sign_key %s: cannot read a PEM private key",
			 c->push_sign_key);
		return false;
	}
	pc->alg = key_alg(pc->sign_key);
	if (pc->alg == NULL) {
		snprintf(err, errlen,
			 "push.sign_key %s: an RSA (2048 bits or more) or SM2 key "
			 "is required",
			 c->push_sign_key);
		return false;
	}
	FILE *f = fopen(c->push_sign_cert, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	BIO *mem = x ? BIO_new(BIO_s_mem()) : NULL;
	if (x == NULL || mem == NULL || X509_digest(x, EVP_sha256(), md, &mdlen) != 1 ||
	    mdlen != 32 || PEM_write_bio_X509(mem, x) != 1 || BIO_write(mem, "", 1) != 1 ||
	    BIO_get_mem_data(mem, &pem) <= 0) {
		snprintf(err, errlen, "push.sign_cert %s: cannot read a PEM certificate",
			 c->push_sign_cert);
		goto out;
	}
	for (size_t i = 0; i < 32; i++)
		snprintf(pc->key_id + 2 * i, 3, "%02x", md[i]);
	struct sig_cache *sc = sig_cache_new(1);
	char why[256] = "";
	ok = sc && sig_cache_put(sc, md, pem, why, sizeof(why)) &&
	     sig_sign(pc->sign_key, (const uint8_t *)probe, strlen(probe), sig, &siglen) &&
	     sig_verify(sc, md, (const uint8_t *)probe, strlen(probe), sig, siglen, time(NULL)) ==
		     SIG_OK;
	sig_cache_free(sc);
	if (!ok)
		snprintf(err, errlen,
			 "push.sign_key %s and push.sign_cert %s: a test signature does not "
			 "verify (not a pair, or the certificate is not valid now)%s%s",
			 c->push_sign_key, c->push_sign_cert, *why ? ": " : "", why);
out:
	BIO_free(mem);
	X509_free(x);
	ERR_clear_error();
	return ok;
}

/* A whole small file, NUL-terminated; NULL when it cannot be read or is over max bytes. */
static char *slurp(const char *path, size_t max, size_t *lenp)
{
	FILE *f = fopen(path, "rb");
	char *text = f ? malloc(max + 1) : NULL;
	size_t len = text ? fread(text, 1, max + 1, f) : 0;
	if (f)
		fclose(f);
	if (text == NULL || len > max) {
		free(text);
		return NULL;
	}
	text[len] = '\0';
	*lenp = len;
	return text;
}

static bool load_field_map(struct push_config *pc, const char *path, char *err, size_t errlen)
{
	char why[300];
	size_t len = 0;
	char *text = slurp(path, 256 * 1024, &len);
	if (text == NULL) {
		snprintf(err, errlen, "push.field_map %s: cannot read it (or over 256 KiB)", path);
		return false;
	}
	pc->field_map = push_field_map_parse(text, len, why, sizeof(why));
	free(text);
	if (pc->field_map == NULL)
		snprintf(err, errlen, "push.field_map %s: %s", path, why);
	return pc->field_map != NULL;
}

bool push_config_load(const struct hconf *c, struct push_config **out, char *err, size_t errlen)
{
	*out = NULL;
	if (c->push_url == NULL)
		return true;
	struct push_config *pc = calloc(1, sizeof(*pc));
	if (pc == NULL) {
		snprintf(err, errlen, "push: out of memory");
		return false;
	}
	pc->refs = 1;
	pc->concurrency = c->push_concurrency;
	pc->timeout_s = c->push_timeout_s;
	pc->retry_min_s = c->push_retry_min_s;
	pc->retry_max_s = c->push_retry_max_s;
	pc->max_age_s = c->push_max_age_s;
	pc->lease_s = c->push_lease_s;
	bool ok = parse_url(pc, c->push_url, err, errlen) && make_tls(pc, c, err, errlen) &&
		  load_signer(pc, c, err, errlen) &&
		  (c->push_field_map == NULL || load_field_map(pc, c->push_field_map, err, errlen));
	if (!ok) {
		cfg_unref(pc);
		return false;
	}
	*out = pc;
	return true;
}

/* ---- the body ---- */

/* The contract's members (section 3), in its order. */
static const char *const members[] = {
	"packet_id",
	"version",
	"school_code",
	"student_no",
	"id_card_sha256",
	"vehicle_class",
	"part",
	"subject",
	"total_minutes",
	"vehicle_minutes",
	"simulator_minutes",
	"classroom_minutes",
	"remote_minutes",
	"mileage_km",
	"first_minute",
	"last_minute",
	"record_count",
	"records_sha256",
	"backfilled",
	"backfill_form",
	"created_at",
};

static bool is_member(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(members); i++)
		if (strcmp(members[i], name) == 0)
			return true;
	return false;
}

/* A new name: 1-64 bytes of printable ASCII without space, quote or backslash. */
static bool name_ok(const char *n)
{
	size_t len = n ? strlen(n) : 0;
	if (len == 0 || len > MAX_NAME)
		return false;
	for (size_t i = 0; i < len; i++)
		if (n[i] < 0x21 || n[i] > 0x7e || n[i] == '"' || n[i] == '\\')
			return false;
	return true;
}

json_t *push_field_map_parse(const char *text, size_t len, char *err, size_t errlen)
{
	json_error_t e;
	json_t *m = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
	const char *k, *k2;
	json_t *v, *v2;

	if (!json_is_object(m)) {
		if (m)
			snprintf(err, errlen, "one JSON object expected");
		else
			snprintf(err, errlen, "line %d: %s", e.line, e.text);
		goto bad;
	}
	json_object_foreach(m, k, v)
	{
		const char *n = json_string_value(v);
		if (!is_member(k)) {
			snprintf(err, errlen, "\"%.64s\" is not a member of the contract's body",
				 k);
			goto bad;
		}
		if (!name_ok(n)) {
			snprintf(err, errlen,
				 "%s: the new name must be 1-%d bytes of printable ASCII, "
				 "no space, quote or backslash",
				 k, MAX_NAME);
			goto bad;
		}
		/* A member's name, unless that member is renamed too. */
		if (is_member(n) && strcmp(n, k) != 0 && json_object_get(m, n) == NULL) {
			snprintf(err, errlen, "%s: \"%s\" is the name of another member", k, n);
			goto bad;
		}
		json_object_foreach(m, k2, v2)
		{
			if (k2 != k && strcmp(k2, k) != 0 &&
			    strcmp(json_string_value(v2) ? json_string_value(v2) : "", n) == 0) {
				snprintf(err, errlen, "%s and %s are both renamed \"%s\"", k, k2,
					 n);
				goto bad;
			}
		}
	}
	return m;
bad:
	json_decref(m);
	return NULL;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

char *push_body_build(const struct push_fields *f, const json_t *map, char *err, size_t errlen)
{
	if (f->part < 1 || f->part > 4 || !f->school_code || !f->first_minute || !f->last_minute ||
	    !f->mileage_km || !f->records_sha256 || !f->created_at) {
		snprintf(err, errlen, "%s",
			 !f->school_code    ? "no school code: the records' terminals and the "
					      "student belong to no school"
			 : !f->first_minute ? "no progress row for the student and part"
					    : "a member is missing");
		return NULL;
	}
	if (f->backfilled != (f->backfill_form != NULL)) {
		snprintf(err, errlen, "back-filled minutes without a back-fill form");
		return NULL;
	}
	long long total = f->vehicle + f->simulator + f->classroom + f->remote;
	json_t *v[ARRAY_SIZE(members)] = {
		json_string(f->packet_id),
		json_integer(1),
		json_string(f->school_code),
		json_string(f->student_no),
		str_or_null(f->id_card_sha256),
		json_string(f->vehicle_class),
		json_integer(f->part),
		json_integer(f->part), /* subject n opens with part n (the contract's table) */
		json_integer(total),
		json_integer(f->vehicle),
		json_integer(f->simulator),
		json_integer(f->classroom),
		json_integer(f->remote),
		json_string(f->mileage_km),
		json_string(f->first_minute),
		json_string(f->last_minute),
		json_integer(f->record_count),
		json_string(f->records_sha256),
		json_boolean(f->backfilled),
		str_or_null(f->backfill_form),
		json_string(f->created_at),
	};
	json_t *o = json_object();
	bool ok = o != NULL;
	for (size_t i = 0; i < ARRAY_SIZE(members); i++) {
		const char *name = map ? json_string_value(json_object_get(map, members[i])) : NULL;
		/* A NULL value: a string that is not UTF-8, or no memory. */
		ok = ok && v[i] && json_object_set_new(o, name ? name : members[i], v[i]) == 0;
		if (!ok && v[i])
			json_decref(v[i]);
	}
	char *body = ok ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	if (body == NULL)
		snprintf(err, errlen, "a value is not UTF-8 text (or out of memory)");
	return body;
}

/* ---- answers ---- */

const char *push_outcome_name(enum push_outcome o)
{
	static const char *const names[] = {"accepted", "duplicate", "rejected", "retry", "error"};
	return (unsigned)o < ARRAY_SIZE(names) ? names[o] : "?";
}

/* Length of the valid UTF-8 character at s (n bytes left), 0 when invalid: PostgreSQL's rules. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len = s[0] < 0x80		    ? 1
		     : s[0] >= 0xc2 && s[0] <= 0xdf ? 2
		     : s[0] >= 0xe0 && s[0] <= 0xef ? 3
		     : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4
						    : 0;
	if (len == 0 || len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
		return 0;
	return len;
}

/*
 * Text from the platform, made safe for a log line and a text column:
 * valid UTF-8 is kept, control characters (newlines too, unless
 * keep_lines) and invalid bytes become \xNN.  At most cap - 1 bytes,
 * cut between characters.
 */
static void sanitize(const char *in, size_t n, char *out, size_t cap, bool keep_lines)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		size_t l = utf8_len(s + i, n - i);
		bool ctl = l == 1 && (s[i] < 0x20 || s[i] == 0x7f) &&
			   !(keep_lines && (s[i] == '\n' || s[i] == '\t'));
		if (l == 0 || ctl) {
			if (o + 4 >= cap)
				break;
			snprintf(out + o, cap - o, "\\x%02x", s[i]);
			o += 4;
			i++;
			continue;
		}
		if (o + l >= cap)
			break;
		memcpy(out + o, s + i, l);
		o += l;
		i += l;
	}
	if (cap)
		out[o < cap ? o : cap - 1] = '\0';
}

/* Retry-After: delta seconds or an HTTP date; -1 when neither. */
static int retry_after(const char *h, time_t now)
{
	if (h == NULL)
		return -1;
	while (*h == ' ')
		h++;
	if (*h >= '0' && *h <= '9') {
		char *end;
		unsigned long v = strtoul(h, &end, 10);
		while (*end == ' ')
			end++;
		return *end ? -1 : v > 86400 * 365 ? 86400 * 365 : (int)v;
	}
	struct tm tm = {0};
	const char *end = strptime(h, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (end == NULL || *end)
		return -1;
	time_t t = timegm(&tm);
	return t <= now ? 0 : t - now > 86400 * 365 ? 86400 * 365 : (int)(t - now);
}

/* "code: message" of a JSON answer, or "HTTP n" and an excerpt of the body. */
static void describe(int status, json_t *j, const char *body, size_t len, char *out, size_t cap)
{
	const char *code = json_string_value(json_object_get(j, "code"));
	const char *msg = json_string_value(json_object_get(j, "message"));
	char a[200], b[300], raw[120];
	if (code) {
		sanitize(code, strlen(code), a, sizeof(a), false);
		sanitize(msg ? msg : "", msg ? strlen(msg) : 0, b, sizeof(b), false);
		snprintf(out, cap, "%s: %s", a, b);
		return;
	}
	sanitize(body, len, raw, sizeof(raw), false);
	snprintf(out, cap, "HTTP %d%s%s", status, len ? ": " : "", raw);
}

void push_classify(int status, const char *body, size_t len, const char *ra, time_t now,
		   struct push_verdict *v)
{
	json_t *j = len > 0 && len <= MAX_ANSWER ? json_loadb(body, len, 0, NULL) : NULL;
	const char *result = json_string_value(json_object_get(j, "result"));
	bool dup = result && strcmp(result, "duplicate") == 0;

	memset(v, 0, sizeof(*v));
	v->retry_after_s = -1;
	if (status >= 200 && status < 300 && result && strcmp(result, "accepted") == 0) {
		v->outcome = PUSH_ACCEPTED;
	} else if ((status >= 200 && status < 300) || status == 409) {
		v->outcome = dup ? PUSH_DUPLICATE : PUSH_ERROR;
		if (!dup) {
			char d[300];
			describe(status, NULL, body, len, d, sizeof(d));
			snprintf(v->error, sizeof(v->error), "malformed answer: %s", d);
		}
	} else if (status == 400 || status == 422) {
		v->outcome = PUSH_REJECTED;
		describe(status, j, body, len, v->error, sizeof(v->error));
	} else if ((status == 429 || status == 503) &&
		   (v->retry_after_s = retry_after(ra, now)) >= 0) {
		v->outcome = PUSH_RETRY;
		snprintf(v->error, sizeof(v->error), "HTTP %d, retry after %d s", status,
			 v->retry_after_s);
	} else if (status >= 400 && status < 600) {
		v->outcome = PUSH_RETRY;
		v->config_problem = status < 500;
		char d[400];
		describe(status, j, body, len, d, sizeof(d));
		if (j && json_object_get(j, "code"))
			snprintf(v->error, sizeof(v->error), "HTTP %d %s", status, d);
		else
			snprintf(v->error, sizeof(v->error), "%s", d);
	} else {
		v->outcome = PUSH_ERROR;
		snprintf(v->error, sizeof(v->error), "malformed answer: HTTP status %d", status);
	}
	json_decref(j);
}

double push_backoff(unsigned n, unsigned min_s, unsigned max_s, double u)
{
	double d = (double)min_s * ldexp(1.0, (int)(n < 1 ? 0 : n > 40 ? 39 : n - 1));
	if (d > max_s)
		d = max_s;
	return d / 2 + (u < 0 ? 0 : u > 1 ? 1 : u) * d / 2;
}

/* ---- the pusher ---- */

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
	struct store *store;
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
	cfg_unref(j->cfg);
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
	store_query(j->p->store, sql_push_record, 11, vals, on_recorded, j);
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
			sanitize(body, n, answer, ANSWER_KEPT + 1, true);
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

/* Standard base64 with padding, no line breaks. */
static void base64(const uint8_t *in, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

/* Sign the body and POST it on a fresh connection; false with why when it cannot start. */
static bool job_send(struct job *j, char *why, size_t cap)
{
	struct push *p = j->p;
	struct push_config *c = j->cfg;
	uint8_t sig[SIG_MAX];
	size_t siglen = sizeof(sig), blen = strlen(j->body);
	char sig64[SIG_MAX * 4 / 3 + 8], attempt[16];

	if (!sig_sign(c->sign_key, (const uint8_t *)j->body, blen, sig, &siglen)) {
		snprintf(why, cap, "cannot sign the body with push.sign_key");
		return false;
	}
	base64(sig, siglen, sig64);
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
	evhttp_connection_set_max_body_size(j->evcon, MAX_ANSWER);
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

/* The body from sql_push_take's values (columns 0 and 4-19), under the field map. */
static char *build_from_row(const struct job *j, const PGresult *res, int r, char *err,
			    size_t errlen)
{
	struct push_fields f = {
		.packet_id = col(res, r, 0),
		.student_no = col(res, r, 4),
		.part = (int)col_ll(res, r, 5),
		.vehicle_class = col(res, r, 6),
		.backfilled = PQgetvalue(res, r, 7)[0] == 't',
		.backfill_form = NULL, /* back-fill forms are not stored yet */
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
	j->cfg = p->cfg;
	j->cfg->refs++;
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
	store_query(p->store, sql_push_save, 3, vals, on_saved, j);
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
	if (p->cfg == NULL || p->draining || p->stopped || p->taking ||
	    !store_connected(p->store) || p->njobs >= p->cfg->concurrency)
		return;
	char lease[16], limit[16];
	snprintf(lease, sizeof(lease), "%u", p->cfg->lease_s);
	snprintf(limit, sizeof(limit), "%u", p->cfg->concurrency - p->njobs);
	const char *vals[2] = {lease, limit};
	p->taking = true;
	store_query(p->store, sql_push_take, 2, vals, on_taken, p);
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
	if (p->ticks++ % STATS_EVERY_S == 0 && !p->counting && store_connected(p->store)) {
		p->counting = true;
		store_query(p->store, sql_push_outbox_stats, 0, NULL, on_counted, p);
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

struct push *push_new(struct event_base *base, struct store *store, struct server_stats *st,
		      struct push_config *pc)
{
	struct push *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->base = base;
	p->store = store;
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
	cfg_unref(p->cfg);
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
	cfg_unref(p->cfg);
	free(p);
}
