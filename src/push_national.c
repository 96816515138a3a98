/*
 * push_national.c - the national profile's body, signature and answers,
 * see push_national.h and docs/push-contract.md, "The national profile".
 *
 * The body is written by jansson, compact with members sorted, once, and
 * kept with the packet like the contract's body: every attempt sends the
 * same bytes.  Only the query (ts, sign) changes from one attempt to the
 * next: the platform refuses a reused timestamp (201).
 */
#include "hoursd.h"
#include "push_national.h"
#include "log.h"
#include "sig.h"

#include <jansson.h>
#include <limits.h>
#include <time.h>

/* pdfid as the public sample sends it: a number when the platform's id is one, else a string. */
static json_t *pdfid_value(const char *pdfid)
{
	size_t n = strlen(pdfid);
	bool digits = n > 0 && n <= 18 && (pdfid[0] != '0' || n == 1);
	for (size_t i = 0; digits && i < n; i++)
		digits = pdfid[i] >= '0' && pdfid[i] <= '9';
	return digits ? json_integer(strtoll(pdfid, NULL, 10)) : json_string(pdfid);
}

char *national_body(const struct push_fields *f, const struct national_values *nv,
		    const json_t *rnums, const char *pdfid, const char *esignature, char *err,
		    size_t errlen)
{
	if (!f->school_code || !f->student_no || !f->mileage_km || !pdfid ||
	    !json_is_array(rnums) || f->part < 1 || f->part > 4) {
		snprintf(err, errlen, "%s is missing",
			 !f->school_code	      ? "the school code (inscode)"
			 : !f->student_no	      ? "the student number"
			 : !f->mileage_km	      ? "the progress (mileage)"
			 : !pdfid		      ? "the teaching log's pdfid"
			 : f->part < 1 || f->part > 4 ? "a part of 1 to 4"
						      : "the record list");
		return NULL;
	}
	long long total = f->vehicle + f->simulator + f->classroom + f->remote;
	json_t *recs = json_array();
	size_t i;
	json_t *r;
	json_array_foreach(rnums, i, r) json_array_append_new(recs, json_pack("{sO}", "rnum", r));
	/*
	 * The part opens the exam subject of the same number (docs/push-contract.md, 3).
	 * Types as the public sample body: subject and examresult strings, pdfid a number.
	 */
	char subject[4], examresult[16];
	snprintf(subject, sizeof(subject), "%d", f->part);
	snprintf(examresult, sizeof(examresult), "%u", nv->examresult);
	json_t *b = json_pack(
		"{ss ss ss sI sI sI sI sI sI ss sf si so so ss}", "inscode", f->school_code,
		"stunum", f->student_no, "subject", subject, "totaltime", (json_int_t)total,
		"vehicletime", (json_int_t)f->vehicle, "classtime", (json_int_t)f->classroom,
		"simulatortime", (json_int_t)f->simulator, "networktime", (json_int_t)f->remote,
		"duration", (json_int_t)total, "examresult", examresult, "mileage",
		strtod(f->mileage_km, NULL), "rectype",
		(int)(f->backfilled ? nv->rectype_backfilled : nv->rectype), "recarray", recs,
		"pdfid", pdfid_value(pdfid), "esignature", esignature ? esignature : "");
	char *s = b ? json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(12)) : NULL;
	json_decref(b);
	if (s == NULL)
		snprintf(err, errlen, "out of memory");
	return s;
}

void national_user(const char *hex, char *out, size_t cap)
{
	while (hex[0] == '0' && hex[1] != '\0')
		hex++;
	snprintf(out, cap, "%s", hex);
}

unsigned char *national_multipart(const uint8_t *file, size_t n, const char *filename,
				  const char *ctype, const char *boundary, size_t *outlen)
{
	char head[600], tail[120];
	if (memmem(file, n, boundary, strlen(boundary)) != NULL)
		return NULL; /* drawn again by the caller */
	int h = snprintf(head, sizeof(head),
			 "--%s\r\nContent-Disposition: form-data; name=\"file\"; "
			 "filename=\"%s\"\r\nContent-Type: %s\r\n\r\n",
			 boundary, filename, ctype);
	int t = snprintf(tail, sizeof(tail), "\r\n--%s--\r\n", boundary);
	if (h <= 0 || (size_t)h >= sizeof(head) || t <= 0 || (size_t)t >= sizeof(tail))
		return NULL;
	unsigned char *m = malloc((size_t)h + n + (size_t)t);
	if (m == NULL)
		return NULL;
	memcpy(m, head, (size_t)h);
	memcpy(m + h, file, n);
	memcpy(m + (size_t)h + n, tail, (size_t)t);
	*outlen = (size_t)h + n + (size_t)t;
	return m;
}

bool national_seal(EVP_PKEY *key, const uint8_t *data, size_t n, char hex[NATIONAL_SIGN_HEX + 1])
{
	uint8_t sig[512];
	size_t siglen = sizeof(sig);
	bool ok = sig_sign_form(key, SIG_FORM_BARE, data, n, sig, &siglen) &&
		  siglen * 2 == NATIONAL_SIGN_HEX;
	if (ok)
		hex_encode_upper(hex, sig, siglen);
	return ok;
}

bool national_sign(EVP_PKEY *key, const uint8_t *data, size_t n, uint64_t ts_ms,
		   char hex[NATIONAL_SIGN_HEX + 1])
{
	uint8_t *m = malloc(n + 8), sig[512];
	size_t siglen = sizeof(sig);
	if (m == NULL)
		return false;
	memcpy(m, data, n);
	for (int i = 0; i < 8; i++)
		m[n + i] = (uint8_t)(ts_ms >> (56 - 8 * i));
	bool ok = sig_sign_form(key, SIG_FORM_BARE, m, n + 8, sig, &siglen) &&
		  siglen * 2 == NATIONAL_SIGN_HEX;
	free(m);
	if (ok)
		hex_encode_upper(hex, sig, siglen);
	return ok;
}

char *national_uri(const char *path, uint64_t ts_ms, const char *sign, const char *user)
{
	char *s = NULL;
	if (asprintf(&s, "%s?v=" NATIONAL_VERSION "&ts=%llu&sign=%s&user=%s", path,
		     (unsigned long long)ts_ms, sign, user) < 0)
		return NULL;
	return s;
}

/* "errorcode N: message" of an answer, made safe to log. */
static void describe(json_int_t code, json_t *j, char *out, size_t cap)
{
	const char *msg = json_string_value(json_object_get(j, "message"));
	char m[200];
	push_sanitize(msg ? msg : "", msg ? strlen(msg) : 0, m, sizeof(m), false);
	snprintf(out, cap, "errorcode %lld: %s", (long long)code, m);
}

/* A 201 is retried only when our clock agrees with the platform's (its Date header). */
static void timestamp_refused(const char *date, time_t now, const char *what,
			      struct push_verdict *v)
{
	struct tm tm = {0};
	const char *end = date ? strptime(date, "%a, %d %b %Y %H:%M:%S GMT", &tm) : NULL;
	if (end == NULL || *end) {
		v->outcome = PUSH_REJECTED;
		v->config_problem = true;
		snprintf(v->error, sizeof(v->error),
			 "%s (timestamp refused; the answer has no Date to check our clock "
			 "against: check the clock, then hoursctl push retry)",
			 what);
		return;
	}
	long long skew = (long long)(timegm(&tm) - now);
	if (llabs(skew) <= NATIONAL_MAX_SKEW_S) {
		v->outcome = PUSH_RETRY;
		snprintf(v->error, sizeof(v->error),
			 "%s (timestamp refused; the clocks agree within %lld s: retried with a "
			 "new ts)",
			 what, llabs(skew));
		return;
	}
	v->outcome = PUSH_REJECTED;
	v->config_problem = true;
	snprintf(v->error, sizeof(v->error),
		 "%s (timestamp refused: our clock is %lld s off the platform's: fix the "
		 "clock, then hoursctl push retry)",
		 what, -skew);
}

void national_classify(int status, const char *body, size_t len, const char *ra, const char *date,
		       time_t now, unsigned failed_before, unsigned failed_max,
		       struct push_verdict *v)
{
	if (status < 200 || status >= 300) {
		/* HTTP itself failed: the contract's table (busy, 5xx, a 4xx to fix...). */
		push_classify(status, body, len, ra, now, v);
		if (v->outcome == PUSH_ACCEPTED || v->outcome == PUSH_DUPLICATE)
			v->outcome = PUSH_ERROR;
		return;
	}
	memset(v, 0, sizeof(*v));
	v->retry_after_s = -1;
	json_t *j = len > 0 && len <= PUSH_MAX_ANSWER ? json_loadb(body, len, 0, NULL) : NULL;
	json_t *ec = json_object_get(j, "errorcode");
	if (!json_is_integer(ec)) {
		char raw[120];
		push_sanitize(body, len, raw, sizeof(raw), false);
		v->outcome = PUSH_ERROR;
		snprintf(v->error, sizeof(v->error), "malformed answer: HTTP %d: %s", status, raw);
		json_decref(j);
		return;
	}
	json_int_t code = json_integer_value(ec);
	v->has_errorcode = code >= INT_MIN && code <= INT_MAX;
	v->errorcode = v->has_errorcode ? (int)code : 0;
	char what[300];
	describe(code, j, what, sizeof(what));
	switch (code) {
	case 0:
		v->outcome = PUSH_ACCEPTED;
		break;
	case 1:
		/*
		 * Failed on the platform's side: its message says why, which may be
		 * final (the public code shows it as the platform's reason).  Tried
		 * again up to failed_max answers of 1 since the last re-drive.
		 */
		if (failed_before + 1 >= failed_max) {
			v->outcome = PUSH_REJECTED;
			v->platform_refused = true;
			snprintf(v->error, sizeof(v->error),
				 "%s (the platform answered 1 %u times: its reason stands; fix it, "
				 "then hoursctl push retry)",
				 what, failed_before + 1);
		} else {
			v->outcome = PUSH_RETRY;
			snprintf(v->error, sizeof(v->error), "%s", what);
		}
		break;
	case 201:
		timestamp_refused(date, now, what, v);
		break;
	case 202:
		v->outcome = PUSH_REJECTED;
		v->config_problem = true;
		snprintf(v->error, sizeof(v->error),
			 "%s (certificate not valid: check push.sign_key / push.sign_cert with "
			 "the platform, then hoursctl push retry)",
			 what);
		break;
	default: /* 100 no such resource, 200 bad format, others: resending will not help */
		v->outcome = PUSH_REJECTED;
		snprintf(v->error, sizeof(v->error), "%s", what);
		break;
	}
	json_decref(j);
}

bool national_upload_id(const char *body, size_t len, char *id, size_t cap, char *why,
			size_t whylen)
{
	json_t *j = len > 0 && len <= PUSH_MAX_ANSWER ? json_loadb(body, len, 0, NULL) : NULL;
	json_t *ec = json_object_get(j, "errorcode");
	json_t *v = json_object_get(json_object_get(j, "data"), "id");
	bool ok = false;
	if (!json_is_integer(ec)) {
		char raw[120];
		push_sanitize(body, len, raw, sizeof(raw), false);
		snprintf(why, whylen, "malformed answer: %s", raw);
	} else if (json_integer_value(ec) != 0) {
		describe(json_integer_value(ec), j, why, whylen);
	} else if (json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) < cap) {
		push_sanitize(json_string_value(v), json_string_length(v), id, cap, false);
		ok = true;
	} else if (json_is_integer(v)) {
		snprintf(id, cap, "%lld", (long long)json_integer_value(v));
		ok = true;
	} else {
		snprintf(why, whylen, "malformed answer: no data.id");
	}
	json_decref(j);
	return ok;
}

/* yyyyMMddHHmmss */
static bool is_stamp14(const char *s)
{
	return s && strlen(s) == 14 && strspn(s, "0123456789") == 14;
}

char *national_classrecord_body(const struct national_lesson *l, char *err, size_t errlen)
{
	const char *missing = !l->inscode		  ? "inscode"
			      : !l->stunum		  ? "stunum"
			      : !l->coachnum		  ? "coachnum"
			      : !l->recnum		  ? "recnum"
			      : !l->subjcode		  ? "subjcode"
			      : !is_stamp14(l->starttime) ? "starttime (yyyyMMddHHmmss)"
			      : !is_stamp14(l->endtime)	  ? "endtime (yyyyMMddHHmmss)"
			      : !l->mileage_km		  ? "mileage"
			      : !l->avevelocity		  ? "avevelocity"
							  : NULL;
	if (missing) {
		snprintf(err, errlen, "the teaching log's %s is missing", missing);
		return NULL;
	}
	json_t *b = json_pack(
		"{ss ss ss ss ss ss ss ss sI sI sI ss ss si sf sf ss si si si si si}", "inscode",
		l->inscode, "stunum", l->stunum, "coachnum", l->coachnum, "carnum",
		l->carnum ? l->carnum : "", "simunum", l->simunum ? l->simunum : "", "platnum",
		l->platnum ? l->platnum : "", "recnum", l->recnum, "subjcode", l->subjcode,
		"photo1", (json_int_t)l->photo[0], "photo2", (json_int_t)l->photo[1], "photo3",
		(json_int_t)l->photo[2], "starttime", l->starttime, "endtime", l->endtime,
		"duration", l->duration, "mileage", strtod(l->mileage_km, NULL), "avevelocity",
		strtod(l->avevelocity, NULL), "coacmt", l->coacmt ? l->coacmt : "", "total",
		l->total, "part1", l->part[0], "part2", l->part[1], "part3", l->part[2], "part4",
		l->part[3]);
	char *s = b ? json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(12)) : NULL;
	json_decref(b);
	if (s == NULL)
		snprintf(err, errlen, "out of memory");
	return s;
}
