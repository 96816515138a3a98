/*
 * push_national.h - the national profile of the push
 * (docs/push-contract.md, "The national profile"): the body of
 * POST {base}/stagetrainningtime, the query every call carries
 * (?v=&ts=&sign=&user=), the signature scheme of the terminals over the
 * signed data and the timestamp, and what the answers {errorcode,
 * message, data} mean.  Pure functions, no I/O; push.c does the calls.
 */
#ifndef HOURSD_PUSH_NATIONAL_H
#define HOURSD_PUSH_NATIONAL_H

#include "hoursd.h"
#include "push_answer.h"
#include "push_body.h"

typedef struct evp_pkey_st EVP_PKEY;
typedef struct json_t json_t;

#define NATIONAL_VERSION "1.0.0.e2" /* the v= of every call */
#define NATIONAL_SIGN_HEX 512	    /* RSA-2048: 256 bytes, upper-case hex */
#define NATIONAL_MAX_SKEW_S 60	    /* a 201 is retried only when the clocks agree this well */

/* What the configuration decides of a national body (push.national_*). */
struct national_values {
	unsigned rectype, rectype_backfilled, examresult;
};

/*
 * The body of /stagetrainningtime (compact, members sorted) from the
 * packet's values f, the record numbers rnums (a JSON array of strings,
 * recarray's rnum), and pdfid of the uploaded teaching log.  NULL with
 * err when a value is missing.
 */
char *national_body(const struct push_fields *f, const struct national_values *nv,
		    const json_t *rnums, const char *pdfid, const char *esignature, char *err,
		    size_t errlen) MUSTCHECK;

/*
 * One lesson's teaching log (电子教学日志), the body of POST
 * {base}/classrecord: the hook for the teaching log per lesson, which the
 * pusher does not send yet (docs/push-contract.md 9.3).  Times are
 * yyyyMMddHHmmss (UTC+8); photo ids are the /imageup/stuimg answers'
 * data.id (0: none); part[] the minutes of each part in the lesson.
 */
struct national_lesson {
	const char *inscode, *stunum, *coachnum, *carnum, *simunum, *platnum, *recnum, *subjcode;
	const char *starttime, *endtime, *coacmt; /* coacmt: the coach's comment, "" */
	long long photo[3];
	int duration, total, part[4];
	const char *mileage_km, *avevelocity; /* one decimal, as the terminals' figures */
};

/*
 * The body of /classrecord (compact, members sorted): the 22 members of
 * PROTOCOL.md; codes, numbers and times as strings, minutes as integers,
 * mileage and average speed as numbers, photo ids as numbers [check: the
 * types of a public /classrecord sample].  NULL with err when a value is
 * missing or malformed.
 */
char *national_classrecord_body(const struct national_lesson *l, char *err,
				size_t errlen) MUSTCHECK;

/*
 * user=: the signing certificate's serial as the platforms print it,
 * upper-case hex without padding to whole bytes: hex (BN_bn2hex's, which
 * pads: "0A1B...") with its leading zeros dropped ("A1B..."; "0" stays).
 */
void national_user(const char *hex, char *out, size_t cap);

/*
 * The upload's body as the public code posts it: multipart/form-data with
 * one part named "file" (filename, ctype) holding the n bytes of file,
 * delimited by boundary (Content-Type: multipart/form-data;
 * boundary=...).  malloc'd, its length in *outlen; NULL when out of
 * memory or when boundary occurs in the file (draw another).
 */
unsigned char *national_multipart(const uint8_t *file, size_t n, const char *filename,
				  const char *ctype, const char *boundary, size_t *outlen);

/*
 * esignature: the school's seal key over data (the scheme of sign=
 * without the timestamp: SHA-256, RSA PKCS#1 v1.5 over the bare digest),
 * 512 upper-case hex digits.
 */
bool national_seal(EVP_PKEY *key, const uint8_t *data, size_t n,
		   char hex[NATIONAL_SIGN_HEX + 1]) MUSTCHECK;

/*
 * sign: SHA-256 over data || ts (8 bytes, big-endian milliseconds), the
 * bare digest signed with RSA PKCS#1 v1.5 (the terminals' scheme, sig.c's
 * SIG_FORM_BARE), as 512 upper-case hex digits into hex (513 bytes).
 */
bool national_sign(EVP_PKEY *key, const uint8_t *data, size_t n, uint64_t ts_ms,
		   char hex[NATIONAL_SIGN_HEX + 1]) MUSTCHECK;

/* "?v=...&ts=...&sign=...&user=..." for path (no query of its own): malloc'd. */
char *national_uri(const char *path, uint64_t ts_ms, const char *sign, const char *user);

/*
 * The answer to a stage-hours POST: the HTTP statuses as the project's
 * contract (push_classify), then a 2xx's errorcode: 0 accepted; 1 retry,
 * unless failed_before + 1 answers of 1 reach failed_max (then rejected,
 * platform_refused, the platform's message in error);
 * 201 (timestamp reused or off by more than 3 minutes) retried only when
 * date (the answer's Date header) is within NATIONAL_MAX_SKEW_S of now,
 * else failed (fix the clock, re-drive); 202 (certificate) failed, a
 * configuration problem; any other code rejected (failed); no errorcode:
 * malformed (error, retried).
 */
void national_classify(int status, const char *body, size_t len, const char *retry_after,
		       const char *date, time_t now, unsigned failed_before, unsigned failed_max,
		       struct push_verdict *v);

/*
 * data.id of an answer to an upload (/imageup/epdfimg), a string or an
 * integer, into id; false with why (errorcode and message, or malformed).
 */
bool national_upload_id(const char *body, size_t len, char *id, size_t cap, char *why,
			size_t whylen);

#endif
