/*
 * push_answer.h - what the platform's answer to a push means
 * (docs/push-contract.md section 5): the outcome, when to try again, and
 * the answer's text made safe to log and store.  Pure functions, no I/O.
 */
#ifndef HOURSD_PUSH_ANSWER_H
#define HOURSD_PUSH_ANSWER_H

#include "hoursd.h"
#include <time.h>

#define PUSH_MAX_ANSWER (64 * 1024) /* the contract: anything longer is malformed */

enum push_outcome { PUSH_ACCEPTED, PUSH_DUPLICATE, PUSH_REJECTED, PUSH_RETRY, PUSH_ERROR };
const char *push_outcome_name(enum push_outcome o);

struct push_verdict {
	enum push_outcome outcome;
	int retry_after_s;   /* from Retry-After (429/503), else -1 */
	bool config_problem; /* a 4xx an operator must fix: logged at error */
	char error[512];     /* what went wrong, for last_error ("" when accepted) */
	/* The national profile: the answer's errorcode (push_attempt.errorcode), if any. */
	bool has_errorcode;
	int errorcode;
	bool platform_refused; /* errorcode 1 answered push.national_failed_max times */
};
/*
 * The contract's table of answers (section 5): status is the HTTP status
 * (never 0; a request without an answer is PUSH_ERROR by the caller), body
 * at most 64 KiB, retry_after the header or NULL, now for an HTTP date.
 */
void push_classify(int status, const char *body, size_t len, const char *retry_after, time_t now,
		   struct push_verdict *v);

/*
 * Seconds until the next attempt after the n-th unsuccessful one (n >= 1),
 * jitter drawn by u in [0, 1].
 */
double push_backoff(unsigned n, unsigned min_s, unsigned max_s, double u);

/* Retry-After (delta seconds or an HTTP date) in seconds from now, at most a year; -1: neither. */
int push_retry_after(const char *header, time_t now);

/*
 * Text from the platform, made safe for a log line and a text column:
 * valid UTF-8 is kept, control characters (newlines too, unless
 * keep_lines) and invalid bytes become \xNN.  At most cap - 1 bytes,
 * cut between characters.
 */
void push_sanitize(const char *in, size_t n, char *out, size_t cap, bool keep_lines);

#endif
