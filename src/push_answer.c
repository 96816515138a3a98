/*
 * push_answer.c - what an answer of the platform means, see push_answer.h
 * and docs/push-contract.md section 5.
 */
#include "hoursd.h"
#include "push_answer.h"
#include "utf8.h"

#include <jansson.h>
#include <math.h>
#include <time.h>

const char *push_outcome_name(enum push_outcome o)
{
	static const char *const names[] = {"accepted", "duplicate", "rejected", "retry", "error"};
	return (unsigned)o < ARRAY_SIZE(names) ? names[o] : "?";
}

void push_sanitize(const char *in, size_t n, char *out, size_t cap, bool keep_lines)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		size_t l = utf8_char_len(s + i, n - i);
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

int push_retry_after(const char *h, time_t now)
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
		push_sanitize(code, strlen(code), a, sizeof(a), false);
		push_sanitize(msg ? msg : "", msg ? strlen(msg) : 0, b, sizeof(b), false);
		snprintf(out, cap, "%s: %s", a, b);
		return;
	}
	push_sanitize(body, len, raw, sizeof(raw), false);
	snprintf(out, cap, "HTTP %d%s%s", status, len ? ": " : "", raw);
}

void push_classify(int status, const char *body, size_t len, const char *ra, time_t now,
		   struct push_verdict *v)
{
	json_t *j = len > 0 && len <= PUSH_MAX_ANSWER ? json_loadb(body, len, 0, NULL) : NULL;
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
		   (v->retry_after_s = push_retry_after(ra, now)) >= 0) {
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
