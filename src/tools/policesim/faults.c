/*
 * faults.c - policesim's faults (policesim.h): the specs of --fault and
 * POST /_faults, the rules left, and the answers they make.  "Before"
 * faults (5xx, busy, timeout, reset, reject) are taken by the next packet
 * requests, whatever they carry, and nothing is processed; "after"
 * faults (dup, lost, garbage, huge) are taken by the next packets that
 * are accepted: the packet is stored and only the answer is replaced.
 */
#include "hoursd.h"
#include "policesim.h"

#include <event2/http.h>

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

bool faults_uint(const char *s, size_t n, unsigned long max, unsigned long *out)
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
		if (!faults_uint(num, nlen, MAX_SLOW_MS, &v)) {
			snprintf(err, errlen, "slow: milliseconds 0-%d expected", MAX_SLOW_MS);
			return false;
		}
		f->slow_ms = (unsigned)v;
		return true;
	}
	for (size_t k = 0; k < ARRAY_SIZE(fault_info); k++) {
		if (strlen(fault_info[k].name) != klen || memcmp(s, fault_info[k].name, klen) != 0)
			continue;
		if (!faults_uint(num, nlen, MAX_FAULT_COUNT, &v)) {
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
bool faults_parse(struct faults *out, const char *spec, size_t len, char *err, size_t errlen)
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
void faults_format(const struct faults *f, char *out, size_t cap)
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
int faults_take(struct faults *f, bool after)
{
	for (unsigned i = 0; i < f->n; i++) {
		if (f->r[i].left && fault_info[f->r[i].kind].after == after) {
			f->r[i].left--;
			return (int)f->r[i].kind;
		}
	}
	return -1;
}

const char *faults_name(int f)
{
	return fault_info[f].name;
}

struct answer faults_before(int f)
{
	switch (f) {
	case F_5XX:
		return answer_retry(HTTP_SERVUNAVAIL, "Service Unavailable", false);
	case F_BUSY:
		return answer_retry(429, "Too Many Requests", true);
	case F_TIMEOUT:
		return (struct answer){ACT_HOLD, 0, NULL, NULL, false};
	case F_RESET:
		return (struct answer){ACT_RESET, 0, NULL, NULL, false};
	default:
		return answer_rejected(422, "Unprocessable Entity", "injected",
				       "rejected by policesim's fault injection");
	}
}

/* The after-fault answers, for a packet just stored. */
struct answer faults_after(int f)
{
	switch (f) {
	case F_DUP:
		return answer_result(HTTP_OK, "OK", "duplicate");
	case F_LOST:
		return (struct answer){ACT_RESET, 0, NULL, NULL, false};
	case F_GARBAGE:
		return answer_broken(false);
	default:
		return answer_broken(true);
	}
}
