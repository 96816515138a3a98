/*
 * national.c - the national stage-hours interface as policesim
 * plays it, see policesim.h and docs/push-contract.md, "The national
 * profile".
 *
 * Every call is checked the way the platform checks it: user= names a
 * known certificate (its serial), ts= is within 3 minutes and not used
 * before by that certificate, sign= verifies (the terminals' scheme: RSA
 * over the SHA-256 of the signed data || ts as 8 bytes) over the exact
 * body (POST), the file (upload) or the path's keys (GET).  What is
 * accepted goes to DIR/national.jsonl (read back at start) and the PDFs
 * to DIR/pdf-ID.pdf.  A booking (POST /booking {"stunum","subject"}) is
 * refused until that student's stage hours of that subject arrived.
 */
#include "hoursd.h"
#include "policesim.h"
#include "log.h"
#include "sig.h"

#include <errno.h>
#include <time.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#define MAX_CERTS 8
#define TS_WINDOW_MS (3 * 60 * 1000) /* 201 beyond it */
#define SIGN_HEX 512

struct natcert {
	char serial[80];
	uint8_t sha256[32];
};

struct natsim {
	char *dir;
	struct sig_cache *sigs;
	struct natcert cert[MAX_CERTS];
	unsigned ncerts, next_pdf;
	json_t *ts_used; /* "user:ts" -> true */
	json_t *pdfs;	 /* id -> {"sha256", "size"} */
	json_t *stages;	 /* "stunum-subject" -> the body first accepted */
	FILE *log;	 /* DIR/national.jsonl */
	uint64_t uploads, stages_accepted, stages_repeated, refused, bookings, bookings_refused,
		reviews;
};

static const char *const stage_members[] = {
	"inscode",   "stunum",	      "subject",     "totaltime", "vehicletime",
	"classtime", "simulatortime", "networktime", "duration",  "examresult",
	"mileage",   "rectype",	      "recarray",    "pdfid",	  "esignature",
};

static void remember(struct natsim *n, json_t *line)
{
	const char *kind = json_string_value(json_object_get(line, "kind"));
	if (kind && strcmp(kind, "pdf") == 0) {
		json_object_set(n->pdfs, json_string_value(json_object_get(line, "id")), line);
		n->next_pdf++;
	} else if (kind && strcmp(kind, "stage") == 0) {
		json_t *b = json_loads(json_string_value(json_object_get(line, "body")), 0, NULL);
		char key[64];
		snprintf(key, sizeof(key), "%s-%lld",
			 json_string_value(json_object_get(b, "stunum")),
			 (long long)json_integer_value(json_object_get(b, "subject")));
		json_object_set_new(n->stages, key, b);
	}
}

static bool load(struct natsim *n, const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	if (f == NULL)
		return errno == ENOENT;
	while (getline(&line, &cap, f) > 0) {
		json_t *j = json_loads(line, 0, NULL);
		if (json_is_object(j))
			remember(n, j);
		json_decref(j);
	}
	free(line);
	fclose(f);
	return true;
}

struct natsim *natsim_new(const char *dir, struct sig_cache *sigs)
{
	struct natsim *n = calloc(1, sizeof(*n));
	char path[1024];
	if (n == NULL)
		return NULL;
	n->dir = strdup(dir);
	n->sigs = sigs;
	n->ts_used = json_object();
	n->pdfs = json_object();
	n->stages = json_object();
	snprintf(path, sizeof(path), "%s/national.jsonl", dir);
	if (!n->dir || !n->ts_used || !n->pdfs || !n->stages || !load(n, path) ||
	    !(n->log = fopen(path, "a"))) {
		log_error("--national-dir %s: cannot use %s: %s", dir, path, strerror(errno));
		natsim_free(n);
		return NULL;
	}
	log_info("national interface on: %zu PDFs, %zu stage hours from %s",
		 json_object_size(n->pdfs), json_object_size(n->stages), path);
	return n;
}

void natsim_free(struct natsim *n)
{
	if (n == NULL)
		return;
	if (n->log)
		fclose(n->log);
	json_decref(n->ts_used);
	json_decref(n->pdfs);
	json_decref(n->stages);
	free(n->dir);
	free(n);
}

bool natsim_add_cert(struct natsim *n, X509 *x, const uint8_t sha256[32])
{
	if (n->ncerts == MAX_CERTS)
		return false;
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	bool ok = hex && strlen(hex) < sizeof(n->cert[0].serial);
	if (ok) {
		snprintf(n->cert[n->ncerts].serial, sizeof(n->cert[0].serial), "%s", hex);
		memcpy(n->cert[n->ncerts].sha256, sha256, 32);
		log_info("national: certificate serial %s signs", hex);
		n->ncerts++;
	}
	OPENSSL_free(hex);
	BN_free(bn);
	return ok;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t a = strlen(s), b = strlen(tail);
	return a >= b && strcmp(s + a - b, tail) == 0;
}

bool natsim_is_stage(const char *path)
{
	return ends_with(path, "/stagetrainningtime");
}

bool natsim_path(const char *path)
{
	return natsim_is_stage(path) || strstr(path, "/imageup/") ||
	       strstr(path, "-stagetrainningtimereview-") || strcmp(path, "/booking") == 0;
}

static char *reply(int code, const char *msg, json_t *data)
{
	json_t *j = json_pack("{sissso}", "errorcode", code, "message", msg, "data",
			      data ? data : json_null());
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	return s;
}

/* One query parameter's value (at most cap - 1 bytes, no decoding: the values are hex and digits).
 */
static bool param(const char *query, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	for (const char *p = query; p && *p;) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		if (len > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
			if (len - nl - 1 >= cap)
				return false;
			memcpy(out, p + nl + 1, len - nl - 1);
			out[len - nl - 1] = '\0';
			return true;
		}
		p = amp ? amp + 1 : NULL;
	}
	return false;
}

static int hexv(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* sign= as 256 bytes: 512 upper-case hex digits; false otherwise. */
static bool sign_bytes(const char *sign, uint8_t sig[SIGN_HEX / 2])
{
	if (strlen(sign) != SIGN_HEX)
		return false;
	for (size_t i = 0; i < SIGN_HEX / 2; i++) {
		int hi = hexv(sign[2 * i]), lo = hexv(sign[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		sig[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* ts= within 3 minutes of now (ms); false otherwise. */
static bool ts_fresh(const char *ts, unsigned long long *t, struct timespec *now)
{
	char *end;
	*t = strtoull(ts, &end, 10);
	clock_gettime(CLOCK_REALTIME, now);
	long long now_ms = (long long)now->tv_sec * 1000 + now->tv_nsec / 1000000;
	return !*end && end != ts && llabs((long long)*t - now_ms) <= TS_WINDOW_MS;
}

/* The certificate whose serial user= names, or NULL. */
static const struct natcert *cert_of(const struct natsim *n, const char *user)
{
	const struct natcert *c = NULL;
	for (unsigned i = 0; i < n->ncerts; i++)
		if (strcmp(n->cert[i].serial, user) == 0)
			c = &n->cert[i];
	return c;
}

/* sign over data || ts as 8 bytes, with the certificate: 0, else the errorcode with why. */
static int sign_verifies(struct natsim *n, const struct natcert *c, const uint8_t *data, size_t len,
			 unsigned long long t, const uint8_t *sig, time_t now, const char **why)
{
	uint8_t *m = malloc(len + 8);
	if (m == NULL) {
		*why = "out of memory";
		return 1;
	}
	memcpy(m, data, len);
	for (int i = 0; i < 8; i++)
		m[len + i] = (uint8_t)(t >> (56 - 8 * i));
	enum sig_result r = sig_verify(n->sigs, c->sha256, m, len + 8, sig, SIGN_HEX / 2, now);
	free(m);
	if (r == SIG_OK)
		return 0;
	*why = "sign does not verify with the certificate";
	return 202;
}

/*
 * The query's v, ts, user and sign over data || ts: 0 when it verifies,
 * else the errorcode (201 timestamp, 202 certificate or signature, 200
 * format) with why.
 */
static int check_call(struct natsim *n, const char *query, const uint8_t *data, size_t len,
		      const char **why)
{
	char v[32], ts[32], user[80], sign[SIGN_HEX + 2], key[128];
	uint8_t sig[SIGN_HEX / 2];
	unsigned long long t;
	struct timespec now;
	const struct natcert *c = NULL;
	int code = 202;
	if (!param(query, "v", v, sizeof(v)) || !param(query, "ts", ts, sizeof(ts)) ||
	    !param(query, "user", user, sizeof(user)) ||
	    !param(query, "sign", sign, sizeof(sign))) {
		*why = "v, ts, sign and user are required";
		return 200;
	}
	if (!ts_fresh(ts, &t, &now)) {
		*why = "timestamp more than 3 minutes off";
		return 201;
	}
	if ((c = cert_of(n, user)) == NULL)
		*why = "no certificate of that serial (user)";
	else if (!sign_bytes(sign, sig))
		*why = "sign is not 512 upper-case hex digits";
	else
		code = sign_verifies(n, c, data, len, t, sig, now.tv_sec, why);
	if (code != 0)
		return code;
	snprintf(key, sizeof(key), "%s:%llu", user, t);
	if (json_object_get(n->ts_used, key)) {
		*why = "timestamp reused";
		return 201;
	}
	json_object_set_new(n->ts_used, key, json_true());
	return 0;
}

/* One line of DIR/national.jsonl, flushed before the answer. */
static bool log_line(struct natsim *n, json_t *line)
{
	char when[32];
	time_t now = time(NULL);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	json_object_set_new(line, "received_at", json_string(when));
	char *s = json_dumps(line, JSON_COMPACT | JSON_SORT_KEYS);
	bool ok = s && fprintf(n->log, "%s\n", s) > 0 && fflush(n->log) == 0;
	free(s);
	return ok;
}

static char *upload(struct natsim *n, const char *path, const char *query, const uint8_t *body,
		    size_t len, const char **what)
{
	char id[32], file[1200], sha[65];
	uint8_t md[32];
	if (len < 5 || memcmp(body, "%PDF-", 5) != 0) {
		*what = "upload: not a PDF";
		return reply(200, "not a PDF", NULL);
	}
	snprintf(id, sizeof(id), "P%08u", n->next_pdf + 1); /* remember() counts it */
	snprintf(file, sizeof(file), "%s/pdf-%s.pdf", n->dir, id);
	FILE *f = fopen(file, "wb");
	bool ok = f && fwrite(body, 1, len, f) == len;
	if (f && fclose(f) != 0)
		ok = false;
	EVP_Digest(body, len, md, NULL, EVP_sha256(), NULL);
	hex_encode(sha, md, 32);
	json_t *line = json_pack("{sssssssssI}", "kind", "pdf", "id", id, "path", path, "file",
				 file, "sha256", sha, "size", (json_int_t)len);
	ok = ok && line && log_line(n, line);
	if (ok)
		remember(n, line);
	json_decref(line);
	if (!ok) {
		*what = "upload: cannot store";
		return reply(1, "cannot store the file", NULL);
	}
	n->uploads++;
	*what = "upload stored";
	return reply(0, "ok", json_pack("{ss}", "id", id));
}

/* The body's members and their types; NULL when it is one, else the member at fault. */
static const char *stage_invalid(json_t *b)
{
	if (!json_is_object(b))
		return "the body";
	for (size_t i = 0; i < ARRAY_SIZE(stage_members); i++) {
		json_t *v = json_object_get(b, stage_members[i]);
		bool ok = strcmp(stage_members[i], "recarray") == 0  ? json_is_array(v)
			  : strcmp(stage_members[i], "mileage") == 0 ? json_is_number(v)
			  : i < 2 || i >= 13			     ? json_is_string(v)
								     : json_is_integer(v);
		if (!ok)
			return stage_members[i];
	}
	json_int_t s = json_integer_value(json_object_get(b, "subject"));
	return json_object_size(b) != ARRAY_SIZE(stage_members) ? "(a member too many)"
	       : s < 1 || s > 4					? "subject"
								: NULL;
}

static char *stage(struct natsim *n, const char *path, const char *query, const uint8_t *body,
		   size_t len, const char **what)
{
	json_t *b = json_loadb((const char *)body, len, 0, NULL);
	const char *bad = stage_invalid(b);
	char msg[160], key[64];
	if (bad) {
		json_decref(b);
		n->refused++;
		snprintf(msg, sizeof(msg), "bad format: %s", bad);
		*what = "stage hours: bad format";
		return reply(200, msg, NULL);
	}
	const char *pdfid = json_string_value(json_object_get(b, "pdfid"));
	if (!json_object_get(n->pdfs, pdfid)) {
		json_decref(b);
		n->refused++;
		*what = "stage hours: unknown pdfid";
		return reply(100, "no such pdfid: upload the teaching log first", NULL);
	}
	snprintf(key, sizeof(key), "%s-%lld", json_string_value(json_object_get(b, "stunum")),
		 (long long)json_integer_value(json_object_get(b, "subject")));
	json_decref(b);
	if (json_object_get(n->stages, key)) {
		n->stages_repeated++;
		*what = "stage hours: already here";
		return reply(0, "ok (already received)", NULL);
	}
	char ts[32] = "", sign[SIGN_HEX + 2] = "", user[80] = "";
	param(query, "ts", ts, sizeof(ts));
	param(query, "sign", sign, sizeof(sign));
	param(query, "user", user, sizeof(user));
	json_t *line = json_pack("{ssssss%ssssss}", "kind", "stage", "path", path, "body",
				 (const char *)body, len, "ts", ts, "sign", sign, "user", user);
	if (!line || !log_line(n, line)) {
		json_decref(line);
		*what = "stage hours: cannot store";
		return reply(1, "cannot store", NULL);
	}
	remember(n, line);
	json_decref(line);
	n->stages_accepted++;
	*what = "stage hours accepted";
	return reply(0, "ok", NULL);
}

/* GET /{stunum}-stagetrainningtimereview-{subject}: approved at once (a simulator's supervisor). */
static char *review(struct natsim *n, const char *path, const char *query, const char **what)
{
	const char *slash = strrchr(path, '/'), *mid = strstr(path, "-stagetrainningtimereview-");
	char stunum[40], key[64], keys[64];
	size_t sl = slash && mid > slash ? (size_t)(mid - slash - 1) : 0;
	if (sl == 0 || sl >= sizeof(stunum)) {
		*what = "review: bad path";
		return reply(200, "bad path", NULL);
	}
	memcpy(stunum, slash + 1, sl);
	stunum[sl] = '\0';
	const char *subject = mid + strlen("-stagetrainningtimereview-");
	snprintf(keys, sizeof(keys), "%s%s", stunum, subject);
	const char *why = NULL;
	int code = check_call(n, query, (const uint8_t *)keys, strlen(keys), &why);
	if (code) {
		n->refused++;
		*what = why;
		return reply(code, why, NULL);
	}
	snprintf(key, sizeof(key), "%s-%s", stunum, subject);
	json_t *b = json_object_get(n->stages, key);
	n->reviews++;
	if (!b) {
		*what = "review: no such stage hours";
		return reply(100, "no such stage hours", NULL);
	}
	*what = "review answered";
	return reply(0, "ok",
		     json_pack("{sisOsOsOs[]}", "valid", 1, "validtime",
			       json_object_get(b, "totaltime"), "needfultime",
			       json_object_get(b, "totaltime"), "pdfid",
			       json_object_get(b, "pdfid"), "recarray"));
}

/* POST /booking {"stunum", "subject"}: only once that subject's stage hours arrived. */
static char *booking(struct natsim *n, const uint8_t *body, size_t len, const char **what)
{
	json_t *b = json_loadb((const char *)body, len, 0, NULL);
	const char *stunum = json_string_value(json_object_get(b, "stunum"));
	json_t *subject = json_object_get(b, "subject");
	char key[64], msg[200];
	char *out;
	if (!stunum || !json_is_integer(subject)) {
		*what = "booking: bad format";
		out = reply(200, "{\"stunum\": \"...\", \"subject\": N} expected", NULL);
	} else {
		snprintf(key, sizeof(key), "%s-%lld", stunum,
			 (long long)json_integer_value(subject));
		json_t *st = json_object_get(n->stages, key);
		if (st == NULL) {
			n->bookings_refused++;
			snprintf(msg, sizeof(msg),
				 "学时未推送 the stage hours of subject %lld of student %s have "
				 "not arrived: no booking",
				 (long long)json_integer_value(subject), stunum);
			*what = "booking refused";
			out = reply(100, msg, NULL);
		} else {
			n->bookings++;
			*what = "booked";
			out = reply(0, "booked",
				    json_pack("{sssOsO}", "stunum", stunum, "subject", subject,
					      "totaltime", json_object_get(st, "totaltime")));
		}
	}
	json_decref(b);
	return out;
}

char *natsim_handle(struct natsim *n, bool post, const char *path, const char *query,
		    const uint8_t *body, size_t len, int fault, int *status, const char **what)
{
	*status = 200;
	if (strcmp(path, "/booking") == 0)
		return post ? booking(n, body, len, what) : reply(200, "POST only", NULL);
	if (strstr(path, "-stagetrainningtimereview-"))
		return review(n, path, query, what);
	if (!post) {
		*what = "not POST";
		return reply(200, "POST only", NULL);
	}
	if (fault) {
		*what = "injected errorcode";
		return reply(fault, "injected by policesim", NULL);
	}
	const char *why = NULL;
	int code = check_call(n, query, body, len, &why);
	if (code) {
		n->refused++;
		*what = why;
		return reply(code, why, NULL);
	}
	return natsim_is_stage(path) ? stage(n, path, query, body, len, what)
				     : upload(n, path, query, body, len, what);
}

void natsim_stats(const struct natsim *n, json_t *s)
{
	json_object_set_new(s, "national_uploads", json_integer((json_int_t)n->uploads));
	json_object_set_new(s, "national_stages", json_integer((json_int_t)n->stages_accepted));
	json_object_set_new(s, "national_stages_repeated",
			    json_integer((json_int_t)n->stages_repeated));
	json_object_set_new(s, "national_refused", json_integer((json_int_t)n->refused));
	json_object_set_new(s, "national_reviews", json_integer((json_int_t)n->reviews));
	json_object_set_new(s, "bookings", json_integer((json_int_t)n->bookings));
	json_object_set_new(s, "bookings_refused", json_integer((json_int_t)n->bookings_refused));
}
