/*
 * national.c - the national timing platform's upward interface as
 * policesim plays it: the platform's strict twin, written from the public
 * samples and the facts of PROTOCOL.md ("The platform's upward
 * interfaces") alone.  It shares no encoding or signing code with hoursd:
 * its own serial printing (the platforms' Long.toHexString, no padding),
 * its own signature check (what `openssl pkeyutl -verifyrecover
 * -pkeyopt rsa_padding_mode:pkcs1` does, then a comparison with the
 * SHA-256 of the signed data || ts), its own multipart reading, its own
 * checks of the members and their types (jansson parses the JSON).
 *
 * Every call: user= names a known certificate by its unpadded serial
 * (else 202), ts= is within 3 minutes and not used before by that
 * certificate (else 201), sign= verifies over the exact body (POST), the
 * uploaded file's bytes (upload) or the path's keys (GET) (else 202).
 * What is accepted goes to DIR/national.jsonl (read back at start) and
 * the PDFs to DIR/pdf-ID.pdf.  A booking (POST /booking
 * {"stunum","subject"}) is refused until that student's stage hours of
 * that subject arrived.
 */
#include "hoursd.h"
#include "policesim.h"
#include "log.h"

#include <errno.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#define MAX_CERTS 8
#define TS_WINDOW_MS (3 * 60 * 1000) /* 201 beyond it */
#define SIGN_HEX 512

struct natcert {
	char serial[80]; /* as the platforms print it */
	EVP_PKEY *pub;
};

struct natsim {
	char *dir;
	struct natcert cert[MAX_CERTS];
	unsigned ncerts, next_pdf;
	json_t *ts_used;   /* "user:ts" -> true */
	json_t *pdfs;	   /* id (decimal) -> the upload's line (kind pdf or img) */
	json_t *stages;	   /* "stunum-subject" -> the body first accepted */
	json_t *records;   /* the records forwarded to it (DIR/records.txt); NULL: none */
	bool hold;	   /* reviews pending until decided (POST /_review) */
	json_t *teachlogs; /* recnum -> true: the teaching logs received (/classrecord) */
	json_t *decided;   /* "stunum-subject" -> {rnum: reason} refused by the supervisor */
	json_t *master;	   /* master data upward: kind -> {number: body} */
	FILE *log;	   /* DIR/national.jsonl */
	uint64_t uploads, stages_accepted, stages_repeated, refused, bookings, bookings_refused,
		reviews, upward;
};

/* The stage hours' members (PROTOCOL.md, POST /stagetrainningtime). */
static const char *const stage_members[] = {
	"inscode",   "stunum",	      "subject",     "totaltime", "vehicletime",
	"classtime", "simulatortime", "networktime", "duration",  "examresult",
	"mileage",   "rectype",	      "recarray",    "pdfid",	  "esignature",
};

static void hex_lower(char *out, const uint8_t *b, size_t n)
{
	static const char d[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static void remember_upward(struct natsim *n, json_t *line);

static void remember(struct natsim *n, json_t *line)
{
	const char *kind = json_string_value(json_object_get(line, "kind"));
	if (kind && (strcmp(kind, "pdf") == 0 || strcmp(kind, "img") == 0)) {
		json_object_set(n->pdfs, json_string_value(json_object_get(line, "id")), line);
		n->next_pdf++;
	} else if (kind && strcmp(kind, "stage") == 0) {
		json_t *b = json_loads(json_string_value(json_object_get(line, "body")), 0, NULL);
		char key[64];
		snprintf(key, sizeof(key), "%s-%s", json_string_value(json_object_get(b, "stunum")),
			 json_string_value(json_object_get(b, "subject")));
		json_object_set_new(n->stages, key, b);
	} else if (kind && strcmp(kind, "upward") == 0) {
		remember_upward(n, line);
	} else if (kind && strcmp(kind, "classrecord") == 0) {
		json_t *b = json_loads(json_string_value(json_object_get(line, "body")), 0, NULL);
		const char *rn = json_string_value(json_object_get(b, "recnum"));
		if (rn)
			json_object_set_new(n->teachlogs, rn, json_true());
		json_decref(b);
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

/*
 * The timing platform's records, one record number a line (what the
 * terminals' platform forwarded upward); no file: not known, and a stage
 * hours' rnum of part 2 or 3 is not checked.
 */
static bool load_records(struct natsim *n, const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	if (f == NULL)
		return errno == ENOENT;
	n->records = json_object();
	while (n->records && getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\r\n")] = '\0';
		if (*line)
			json_object_set_new(n->records, line, json_true());
	}
	free(line);
	fclose(f);
	return n->records != NULL;
}

struct natsim *natsim_new(const char *dir)
{
	struct natsim *n = calloc(1, sizeof(*n));
	char path[1024], recs[1024];
	if (n == NULL)
		return NULL;
	n->dir = strdup(dir);
	n->ts_used = json_object();
	n->pdfs = json_object();
	n->stages = json_object();
	n->decided = json_object();
	n->teachlogs = json_object();
	n->master = json_object();
	snprintf(path, sizeof(path), "%s/national.jsonl", dir);
	snprintf(recs, sizeof(recs), "%s/records.txt", dir);
	if (!n->dir || !n->ts_used || !n->pdfs || !n->stages || !n->master || !load(n, path) ||
	    !load_records(n, recs) || !(n->log = fopen(path, "a"))) {
		log_error("--national-dir %s: cannot use %s: %s", dir, path, strerror(errno));
		natsim_free(n);
		return NULL;
	}
	log_info("national interface on: %zu PDFs, %zu stage hours from %s; %s",
		 json_object_size(n->pdfs), json_object_size(n->stages), path,
		 n->records ? "records known from records.txt" : "no records.txt");
	return n;
}

void natsim_free(struct natsim *n)
{
	if (n == NULL)
		return;
	if (n->log)
		fclose(n->log);
	for (unsigned i = 0; i < n->ncerts; i++)
		EVP_PKEY_free(n->cert[i].pub);
	json_decref(n->ts_used);
	json_decref(n->pdfs);
	json_decref(n->stages);
	json_decref(n->records);
	json_decref(n->decided);
	json_decref(n->teachlogs);
	json_decref(n->master);
	free(n->dir);
	free(n);
}

void natsim_serial(const uint8_t *der, size_t len, char *out, size_t cap)
{
	static const char d[] = "0123456789ABCDEF";
	size_t o = 0;
	bool started = false;
	for (size_t i = 0; i < len && o + 2 < cap; i++) {
		for (int sh = 4; sh >= 0; sh -= 4) {
			unsigned nib = (der[i] >> sh) & 15;
			if (!started && nib == 0)
				continue;
			started = true;
			out[o++] = d[nib];
		}
	}
	if (!started && cap > 1)
		out[o++] = '0';
	out[o] = '\0';
}

bool natsim_add_cert(struct natsim *n, X509 *x)
{
	const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
	EVP_PKEY *pub = X509_get_pubkey(x);
	if (n->ncerts == MAX_CERTS || sn == NULL || pub == NULL || !EVP_PKEY_is_a(pub, "RSA")) {
		EVP_PKEY_free(pub);
		return false;
	}
	struct natcert *c = &n->cert[n->ncerts++];
	natsim_serial(ASN1_STRING_get0_data(sn), (size_t)ASN1_STRING_length(sn), c->serial,
		      sizeof(c->serial));
	c->pub = pub;
	log_info("national: certificate serial %s signs", c->serial);
	return true;
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

static bool is_classrecord(const char *path)
{
	return ends_with(path, "/classrecord");
}

bool natsim_path(const char *path)
{
	return natsim_is_stage(path) || is_classrecord(path) || strstr(path, "/imageup/") ||
	       strstr(path, "-stagetrainningtimereview-") || strstr(path, "-regionreview-") ||
	       strcmp(path, "/booking") == 0 || natsim_upward_path(path);
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

/*
 * sign over data || ts as 8 bytes: what `openssl pkeyutl -verifyrecover
 * -certin -pkeyopt rsa_padding_mode:pkcs1` recovers from it must be the
 * SHA-256 of those bytes (the bare digest, no DigestInfo).  0, else 202.
 */
static int sign_verifies(const struct natcert *c, const uint8_t *data, size_t len,
			 unsigned long long t, const uint8_t *sig, const char **why)
{
	uint8_t ts[8], md[32], got[512];
	size_t glen = sizeof(got);
	for (int i = 0; i < 8; i++)
		ts[i] = (uint8_t)(t >> (56 - 8 * i));
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(c->pub, NULL);
	bool ok = m && pc && EVP_DigestInit_ex(m, EVP_sha256(), NULL) == 1 &&
		  EVP_DigestUpdate(m, data, len) == 1 && EVP_DigestUpdate(m, ts, 8) == 1 &&
		  EVP_DigestFinal_ex(m, md, NULL) == 1 && EVP_PKEY_verify_recover_init(pc) == 1 &&
		  EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1 &&
		  EVP_PKEY_verify_recover(pc, got, &glen, sig, SIGN_HEX / 2) == 1 && glen == 32 &&
		  memcmp(got, md, 32) == 0;
	EVP_MD_CTX_free(m);
	EVP_PKEY_CTX_free(pc);
	if (ok)
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
		code = sign_verifies(c, data, len, t, sig, why);
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

/* The value of a header parameter (boundary=...), quoted or not, into out; false: none. */
static bool header_param(const char *h, const char *name, char *out, size_t cap)
{
	const char *p = h ? strcasestr(h, name) : NULL;
	if (p == NULL)
		return false;
	p += strlen(name);
	bool q = *p == '"';
	p += q;
	size_t l = q ? strcspn(p, "\"") : strcspn(p, "; \t");
	if (l == 0 || l >= cap)
		return false;
	memcpy(out, p, l);
	out[l] = '\0';
	return true;
}

static const uint8_t *find(const uint8_t *h, size_t hn, const char *needle, size_t nn)
{
	return nn <= hn ? memmem(h, hn, needle, nn) : NULL;
}

/*
 * The part named "file" of a multipart/form-data body (RFC 7578), as the
 * public code posts an upload: its bytes in *file, *flen.  False with
 * why: not a multipart form (a raw body), no boundary, no part "file".
 */
bool natsim_form_file(const char *ctype, const uint8_t *body, size_t len, const uint8_t **file,
		      size_t *flen, const char **why)
{
	char boundary[80], delim[90];
	if (ctype == NULL || strncasecmp(ctype, "multipart/form-data", 19) != 0) {
		*why = "not multipart/form-data";
		return false;
	}
	if (!header_param(ctype, "boundary=", boundary, sizeof(boundary))) {
		*why = "multipart/form-data without a boundary";
		return false;
	}
	size_t dl = (size_t)snprintf(delim, sizeof(delim), "--%s", boundary);
	const uint8_t *p = find(body, len, delim, dl), *end = body + len;
	while (p) {
		p += dl;
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			break; /* the closing delimiter */
		const uint8_t *hdrs = find(p, (size_t)(end - p), "\r\n\r\n", 4);
		if (hdrs == NULL)
			break;
		const uint8_t *data = hdrs + 4;
		char crlfdelim[96];
		size_t cl = (size_t)snprintf(crlfdelim, sizeof(crlfdelim), "\r\n%s", delim);
		const uint8_t *next = find(data, (size_t)(end - data), crlfdelim, cl);
		if (next == NULL)
			break;
		/* Content-Disposition: form-data; name="file" among the part's headers */
		char h[1024];
		size_t hl = (size_t)(hdrs - p) < sizeof(h) - 1 ? (size_t)(hdrs - p) : sizeof(h) - 1;
		memcpy(h, p, hl);
		h[hl] = '\0';
		char name[64];
		const char *cd = strcasestr(h, "Content-Disposition:");
		if (cd && strcasestr(cd, "form-data") &&
		    header_param(cd, "name=", name, sizeof(name)) && strcmp(name, "file") == 0) {
			*file = data;
			*flen = (size_t)(next - data);
			return true;
		}
		p = next + 2;
	}
	*why = "no part named file";
	return false;
}

static char *upload(struct natsim *n, const char *path, const char *query, const char *ctype,
		    const uint8_t *body, size_t len, const char **what)
{
	char id[32], file[1200], sha[65], msg[160];
	uint8_t md[32];
	const uint8_t *pdf = NULL;
	size_t plen = 0;
	const char *why = NULL;
	if (!natsim_form_file(ctype, body, len, &pdf, &plen, &why)) {
		n->refused++;
		snprintf(msg, sizeof(msg), "bad format: %s (one part named file expected)", why);
		*what = "upload: not a multipart form";
		return reply(200, msg, NULL);
	}
	int code = check_call(n, query, pdf, plen, &why);
	if (code) {
		n->refused++;
		*what = why;
		return reply(code, why, NULL);
	}
	/* /imageup/stuimg: a photo (JPEG); /imageup/epdfimg (any other type): a PDF. */
	bool img = ends_with(path, "/imageup/stuimg");
	if (img ? plen < 3 || memcmp(pdf, "\xff\xd8\xff", 3) != 0
		: plen < 5 || memcmp(pdf, "%PDF-", 5) != 0) {
		n->refused++;
		*what = img ? "upload: not a JPEG" : "upload: not a PDF";
		return reply(200, img ? "not a JPEG" : "not a PDF", NULL);
	}
	snprintf(id, sizeof(id), "%u", 10000 + n->next_pdf + 1); /* remember() counts it */
	snprintf(file, sizeof(file), "%s/%s-%s.%s", n->dir, img ? "img" : "pdf", id,
		 img ? "jpg" : "pdf");
	FILE *f = fopen(file, "wb");
	bool ok = f && fwrite(pdf, 1, plen, f) == plen;
	if (f && fclose(f) != 0)
		ok = false;
	EVP_Digest(pdf, plen, md, NULL, EVP_sha256(), NULL);
	hex_lower(sha, md, 32);
	json_t *line = json_pack("{sssssssssI}", "kind", img ? "img" : "pdf", "id", id, "path",
				 path, "file", file, "sha256", sha, "size", (json_int_t)plen);
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
	/* data.id: a number, as the platform's answers give it */
	return reply(0, "ok", json_pack("{sI}", "id", (json_int_t)strtoll(id, NULL, 10)));
}

static bool digits(const char *v, size_t min, size_t max)
{
	size_t l = v ? strlen(v) : 0;
	return l >= min && l <= max && strspn(v, "0123456789") == l;
}

static bool upper_hex(const char *v, size_t l)
{
	return v && strlen(v) == l && strspn(v, "0123456789ABCDEF") == l;
}

/*
 * The body's members and their types as the public sample sends them
 * (subject and examresult strings, pdfid a number, esignature the seal's
 * 512 hex digits): NULL when it is one, else the member at fault.
 */
const char *natsim_stage_invalid(json_t *b)
{
	if (!json_is_object(b))
		return "the body";
	for (size_t i = 0; i < ARRAY_SIZE(stage_members); i++) {
		const char *m = stage_members[i];
		json_t *v = json_object_get(b, m);
		bool ok;
		if (strcmp(m, "inscode") == 0 || strcmp(m, "stunum") == 0)
			ok = json_is_string(v) && json_string_length(v) > 0;
		else if (strcmp(m, "subject") == 0)
			ok = json_is_string(v) && json_string_length(v) == 1 &&
			     strchr("1234", json_string_value(v)[0]);
		else if (strcmp(m, "examresult") == 0)
			ok = digits(json_string_value(v), 1, 3);
		else if (strcmp(m, "mileage") == 0)
			ok = json_is_number(v) && json_number_value(v) >= 0;
		else if (strcmp(m, "pdfid") == 0)
			ok = json_is_integer(v);
		else if (strcmp(m, "esignature") == 0)
			ok = upper_hex(json_string_value(v), SIGN_HEX);
		else if (strcmp(m, "recarray") == 0) {
			size_t k;
			json_t *r;
			ok = json_is_array(v);
			json_array_foreach(v, k, r) ok = ok && json_is_object(r) &&
							 json_object_size(r) == 1 &&
							 json_is_string(json_object_get(r, "rnum"));
		} else
			ok = json_is_integer(v) && json_integer_value(v) >= 0;
		if (!ok)
			return m;
	}
	/* commitFlag: a string in the public test tool's sample (check_policesim.c), optional. */
	json_t *flag = json_object_get(b, "commitFlag");
	if (flag && !json_is_string(flag))
		return "commitFlag";
	return json_object_size(b) != ARRAY_SIZE(stage_members) + (flag != NULL)
		       ? "(a member too many)"
		       : NULL;
}

/*
 * Every rnum one the platform received: for parts 2 and 3 a record the
 * timing platform forwarded (when it knows them: records.txt); for parts
 * 1 and 4 a teaching log's recnum received by /classrecord.  NULL, or
 * the first rnum unknown.
 */
static const char *rnum_unknown(const struct natsim *n, json_t *b)
{
	const char *subject = json_string_value(json_object_get(b, "subject"));
	bool practice = subject && (subject[0] == '2' || subject[0] == '3');
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(b, "recarray"), i, r)
	{
		const char *rn = json_string_value(json_object_get(r, "rnum"));
		if (practice ? n->records && !json_object_get(n->records, rn)
			     : !json_object_get(n->teachlogs, rn))
			return rn;
	}
	return NULL;
}

static char *stage(struct natsim *n, const char *path, const char *query, const uint8_t *body,
		   size_t len, const char **what)
{
	json_t *b = json_loadb((const char *)body, len, 0, NULL);
	const char *bad = natsim_stage_invalid(b);
	char msg[200], key[64], pdfid[32];
	if (bad) {
		json_decref(b);
		n->refused++;
		snprintf(msg, sizeof(msg), "bad format: %s", bad);
		*what = "stage hours: bad format";
		return reply(200, msg, NULL);
	}
	snprintf(pdfid, sizeof(pdfid), "%lld",
		 (long long)json_integer_value(json_object_get(b, "pdfid")));
	const char *pkind =
		json_string_value(json_object_get(json_object_get(n->pdfs, pdfid), "kind"));
	if (pkind == NULL || strcmp(pkind, "pdf") != 0) {
		json_decref(b);
		n->refused++;
		*what = "stage hours: unknown pdfid";
		return reply(100, "no such pdfid: upload the teaching log first", NULL);
	}
	const char *rn = rnum_unknown(n, b);
	if (rn) {
		snprintf(msg, sizeof(msg), "no such record or teaching log: rnum %.40s", rn);
		json_decref(b);
		n->refused++;
		*what = "stage hours: unknown rnum";
		return reply(100, msg, NULL);
	}
	snprintf(key, sizeof(key), "%s-%s", json_string_value(json_object_get(b, "stunum")),
		 json_string_value(json_object_get(b, "subject")));
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

/* The teaching log's members (PROTOCOL.md, POST /classrecord) and their types. */
static const char *const classrecord_members[] = {
	"inscode", "stunum",   "coachnum", "carnum",	  "simunum", "platnum",
	"recnum",  "subjcode", "photo1",   "photo2",	  "photo3",  "starttime",
	"endtime", "duration", "mileage",  "avevelocity", "coacmt",  "total",
	"part1",   "part2",    "part3",	   "part4",
};

const char *natsim_classrecord_invalid(json_t *b)
{
	if (!json_is_object(b))
		return "the body";
	for (size_t i = 0; i < ARRAY_SIZE(classrecord_members); i++) {
		const char *m = classrecord_members[i];
		json_t *v = json_object_get(b, m);
		bool ok;
		if (strcmp(m, "starttime") == 0 || strcmp(m, "endtime") == 0)
			ok = digits(json_string_value(v), 14, 14);
		else if (strcmp(m, "mileage") == 0 || strcmp(m, "avevelocity") == 0)
			ok = json_is_number(v) && json_number_value(v) >= 0;
		else if (strncmp(m, "photo", 5) == 0 || strncmp(m, "part", 4) == 0 ||
			 strcmp(m, "duration") == 0 || strcmp(m, "total") == 0)
			ok = json_is_integer(v) && json_integer_value(v) >= 0;
		else if (strcmp(m, "inscode") == 0 || strcmp(m, "stunum") == 0 ||
			 strcmp(m, "coachnum") == 0 || strcmp(m, "recnum") == 0 ||
			 strcmp(m, "subjcode") == 0)
			ok = json_is_string(v) && json_string_length(v) > 0;
		else
			ok = json_is_string(v);
		if (!ok)
			return m;
	}
	return json_object_size(b) != ARRAY_SIZE(classrecord_members) ? "(a member too many)"
								      : NULL;
}

/* POST /classrecord: a lesson's teaching log; its recnum may then be a part 1 or 4 rnum. */
static char *classrecord(struct natsim *n, const char *path, const char *query, const uint8_t *body,
			 size_t len, const char **what)
{
	json_t *b = json_loadb((const char *)body, len, 0, NULL);
	const char *bad = natsim_classrecord_invalid(b);
	char msg[160];
	if (bad) {
		json_decref(b);
		n->refused++;
		snprintf(msg, sizeof(msg), "bad format: %s", bad);
		*what = "teaching log: bad format";
		return reply(200, msg, NULL);
	}
	json_decref(b);
	char ts[32] = "", sign[SIGN_HEX + 2] = "", user[80] = "";
	param(query, "ts", ts, sizeof(ts));
	param(query, "sign", sign, sizeof(sign));
	param(query, "user", user, sizeof(user));
	json_t *line = json_pack("{ssssss%ssssss}", "kind", "classrecord", "path", path, "body",
				 (const char *)body, len, "ts", ts, "sign", sign, "user", user);
	if (!line || !log_line(n, line)) {
		json_decref(line);
		*what = "teaching log: cannot store";
		return reply(1, "cannot store", NULL);
	}
	remember(n, line);
	json_decref(line);
	*what = "teaching log accepted";
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
	json_t *refused = json_object_get(n->decided, key);
	if (n->hold && refused == NULL) {
		*what = "review: not decided yet";
		return reply(100, "审核中 not reviewed yet", NULL);
	}
	/* Approved; the records the supervisor refused, each with its reason, count no minute. */
	json_t *rec = json_array();
	const char *rn;
	json_t *why_r;
	json_object_foreach(refused, rn, why_r)
		json_array_append_new(rec, json_pack("{sssO}", "rnum", rn, "reason", why_r));
	json_int_t total = json_integer_value(json_object_get(b, "totaltime"));
	json_int_t valid = total - (json_int_t)json_array_size(rec);
	*what = "review answered";
	return reply(0, "ok",
		     json_pack("{sisIsOsOso}", "valid", 1, "validtime", valid < 0 ? 0 : valid,
			       "needfultime", json_object_get(b, "totaltime"), "pdfid",
			       json_object_get(b, "pdfid"), "recarray", rec));
}

bool natsim_review_admin(struct natsim *n, const uint8_t *body, size_t len, char *msg, size_t cap)
{
	json_t *b = body ? json_loadb((const char *)body, len, 0, NULL) : NULL;
	json_t *hold = json_object_get(b, "hold");
	const char *stunum = json_string_value(json_object_get(b, "stunum"));
	const char *subject = json_string_value(json_object_get(b, "subject"));
	json_t *refuse = json_object_get(b, "refuse");
	const char *ins = json_string_value(json_object_get(b, "inscode"));
	const char *seq = json_string_value(json_object_get(b, "seq"));
	bool ok = true;
	if (ins && seq) {
		char key[100];
		snprintf(key, sizeof(key), "region-%.40s-%.20s", ins, seq);
		json_object_set_new(n->decided, key, json_object());
		snprintf(msg, cap, "review of training area %s-%s approved", ins, seq);
	} else if (json_is_boolean(hold)) {
		n->hold = json_is_true(hold);
		snprintf(msg, cap, "reviews %s",
			 n->hold ? "held until decided" : "approved at once");
	} else if (stunum && subject && (refuse == NULL || json_is_object(refuse))) {
		char key[64];
		snprintf(key, sizeof(key), "%s-%s", stunum, subject);
		json_object_set_new(n->decided, key,
				    refuse ? json_deep_copy(refuse) : json_object());
		snprintf(msg, cap, "review of %s decided", key);
	} else {
		snprintf(msg, cap,
			 "{\"hold\": true|false}, {\"stunum\", \"subject\": \"N\", "
			 "\"refuse\": {RNUM: REASON}} or {\"inscode\", \"seq\"} expected");
		ok = false;
	}
	json_decref(b);
	return ok;
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

/* ---- master data upward (PROTOCOL.md: /institution ... /student and their DELETEs) ---- */

/*
 * The members of each master-data POST and their types: S a non-empty
 * string, s a string (may be empty), i a non-negative integer, D a date
 * yyyyMMdd or empty, T a time yyyyMMddHHmmss, N a string of digits, n
 * any number.  Names from
 * PROTOCOL.md's table (the
 * relay's five extra members of /institution among them); the types of
 * members no public sample shows are this simulator's reading: text as
 * strings, codes and counts as numbers.
 */
struct upmember {
	const char *name; /* "?name": optional, seen in a public sample but not in every one */
	char type;
};
struct upkind {
	const char *kind;   /* the path's last segment */
	const char *number; /* the member that numbers it; NULL: none of its own */
	const struct upmember *m;
	size_t nm;
};
#define UM(...) ((const struct upmember[]){__VA_ARGS__})
#define UK(k, num, ...)                                                                            \
	{                                                                                          \
		k, num, UM(__VA_ARGS__), sizeof(UM(__VA_ARGS__)) / sizeof(struct upmember)         \
	}
static const struct upkind upkinds[] = {
	/*
	 * The relay's own signed sample (LeiYi0110/TimeSystemHttp,
	 * SignTestCase.java; check_policesim.c holds it) sends busistatus as
	 * a string of digits, has no creditcode, and six members more (counts
	 * as integers, lat and lng any number), each optional here.
	 */
	UK("institution", "inscode", {"inscode", 'S'}, {"district", 's'}, {"name", 'S'},
	   {"shortname", 's'}, {"licnum", 's'}, {"licetime", 's'}, {"business", 's'},
	   {"?creditcode", 's'}, {"address", 's'}, {"postcode", 's'}, {"legal", 's'},
	   {"contact", 's'}, {"phone", 's'}, {"busiscope", 's'}, {"busistatus", 'N'},
	   {"level", 'i'}, {"coachnumber", 'i'}, {"grasupvnum", 'i'}, {"safmngnum", 'i'},
	   {"tracarnum", 'i'}, {"praticefield", 'i'}, {"?thcoachnum", 'i'}, {"?pracoachnum", 'i'},
	   {"?lat", 'n'}, {"?lng", 'n'}, {"?position", 'i'}, {"?thumbnailid", 'i'}),
	UK("coach", "coachnum", {"inscode", 'S'}, {"coachnum", 'S'}, {"name", 's'}, {"sex", 'i'},
	   {"idcard", 's'}, {"mobile", 's'}, {"address", 's'}, {"photo", 'i'}, {"fingerprint", 'i'},
	   {"drilicence", 's'}, {"fstdrilicdate", 'D'}, {"occupationno", 's'},
	   {"occupationlevel", 'i'}, {"dripermitted", 's'}, {"teachpermitted", 's'},
	   {"employstatus", 'i'}, {"hiredate", 'D'}, {"leavedate", 'D'}),
	UK("trainingcar", "carnum", {"inscode", 'S'}, {"carnum", 'S'}, {"franum", 's'},
	   {"engnum", 's'}, {"licnum", 'S'}, {"platecolor", 's'}, {"photo", 'i'},
	   {"manufacture", 's'}, {"brand", 's'}, {"model", 's'}, {"perdritype", 'S'},
	   {"buydate", 'D'}),
	UK("device", "devnum", {"devnum", 'S'}, {"termtype", 'i'}, {"vender", 's'}, {"model", 's'},
	   {"imei", 's'}, {"sn", 's'}, {"inscode", 'S'}, {"cerbase64", 'S'}),
	/* A training area (PROTOCOL.md, /region): every member a string, as the relay sends them.
	 */
	UK("region", "seq", {"inscode", 'S'}, {"seq", 'N'}, {"name", 'S'}, {"address", 's'},
	   {"area", 's'}, {"type", 'N'}, {"vehicletype", 's'}, {"polygon", 's'},
	   {"totalvehnum", 'N'}, {"curvehnum", 'N'}),
	/* A lesson's photo (PROTOCOL.md, /trainimginfo): ptime yyyyMMddHHmmss, fileid an upload's.
	 */
	UK("trainimginfo", NULL, {"inscode", 'S'}, {"stunum", 'S'}, {"coachnum", 'S'},
	   {"subjcode", 'S'}, {"platnum", 'S'}, {"recnum", 'S'}, {"ptime", 'T'}, {"fileid", 'i'}),
	UK("devassign", NULL, {"devnum", 'S'}, {"carnum", 'S'}, {"sim", 'N'}),
	UK("devRembinding", NULL, {"devnum", 'S'}, {"carnum", 'S'}, {"sim", 'N'}),
	UK("student", "stunum", {"inscode", 'S'}, {"stunum", 'S'}, {"cardtype", 'i'},
	   {"idcard", 's'}, {"nationality", 's'}, {"name", 's'}, {"sex", 'i'}, {"phone", 's'},
	   {"address", 's'}, {"photo", 'i'}, {"fingerprint", 'i'}, {"busitype", 'i'},
	   {"drilicnum", 's'}, {"fstdrilicdate", 'D'}, {"perdritype", 'S'}, {"traintype", 'S'},
	   {"applydate", 'D'}),
};

static const char *last_segment(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static const struct upkind *upkind_of(const char *seg)
{
	for (size_t i = 0; i < ARRAY_SIZE(upkinds); i++)
		if (strcmp(seg, upkinds[i].kind) == 0)
			return &upkinds[i];
	return NULL;
}

/* DELETE's path: coach-N, trainingCar-N (the platforms' spelling),
 * device-N. */
static const char *delete_kind(const char *seg, const char **num)
{
	static const char *const names[][2] = {
		{"coach-", "coach"}, {"trainingCar-", "trainingcar"}, {"device-", "device"}};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		size_t l = strlen(names[i][0]);
		if (strncmp(seg, names[i][0], l) == 0 && seg[l]) {
			*num = seg + l;
			return names[i][1];
		}
	}
	return NULL;
}

bool natsim_upward_path(const char *path)
{
	const char *num;
	return upkind_of(last_segment(path)) || delete_kind(last_segment(path), &num);
}

const char *natsim_upward_invalid(const char *kind, json_t *b)
{
	const struct upkind *k = upkind_of(kind);
	if (k == NULL || !json_is_object(b))
		return "the body";
	size_t present = 0;
	for (size_t i = 0; i < k->nm; i++) {
		bool optional = k->m[i].name[0] == '?';
		const char *name = k->m[i].name + optional;
		json_t *v = json_object_get(b, name);
		const char *s = json_string_value(v);
		bool ok;
		if (v == NULL && optional)
			continue;
		present++;
		switch (k->m[i].type) {
		case 'n':
			ok = json_is_number(v);
			break;
		case 'S':
			ok = s && *s;
			break;
		case 's':
			ok = s != NULL;
			break;
		case 'D':
			ok = s && (*s == '\0' || digits(s, 8, 8));
			break;
		case 'T':
			ok = digits(s, 14, 14);
			break;
		case 'N':
			ok = digits(s, 1, 20);
			break;
		default:
			ok = json_is_integer(v) && json_integer_value(v) >= 0;
		}
		if (!ok)
			return name;
	}
	return json_object_size(b) != present ? "(a member too many)" : NULL;
}

/* The registry as the platform holds it: kind -> {number: body}. */
static json_t *held(struct natsim *n, const char *kind)
{
	json_t *k = json_object_get(n->master, kind);
	if (k == NULL) {
		k = json_object();
		json_object_set_new(n->master, kind, k);
	}
	return k;
}

/* What an accepted master-data call changes (also when national.jsonl is
 * read back). */
static void remember_upward(struct natsim *n, json_t *line)
{
	const char *kind = json_string_value(json_object_get(line, "upkind"));
	const char *method = json_string_value(json_object_get(line, "method"));
	const char *num = json_string_value(json_object_get(line, "number"));
	const char *body = json_string_value(json_object_get(line, "body"));
	if (!kind || !method)
		return;
	if (strcmp(method, "DELETE") == 0) {
		if (num)
			json_object_del(held(n, kind), num);
		return;
	}
	json_t *b = body ? json_loads(body, 0, NULL) : NULL;
	if (strcmp(kind, "devassign") == 0)
		json_object_set(held(n, "binding"), json_string_value(json_object_get(b, "devnum")),
				b);
	else if (strcmp(kind, "devRembinding") == 0)
		json_object_del(held(n, "binding"),
				json_string_value(json_object_get(b, "devnum")));
	else if (num)
		json_object_set(held(n, kind), num, b);
	json_decref(b);
}

/*
 * What the platform refuses as no such resource (100): a member naming a
 * school, vehicle or terminal it was never sent (or was deleted), an
 * unbinding of a terminal not bound to that vehicle.  NULL: none.
 */
static const char *unknown_ref(struct natsim *n, const char *kind, json_t *b)
{
	const char *ins = json_string_value(json_object_get(b, "inscode"));
	const char *dev = json_string_value(json_object_get(b, "devnum"));
	const char *car = json_string_value(json_object_get(b, "carnum"));
	if (strcmp(kind, "institution") != 0 && ins &&
	    !json_object_get(held(n, "institution"), ins))
		return "inscode: no such school";
	if (dev && strcmp(kind, "device") != 0 && !json_object_get(held(n, "device"), dev))
		return "devnum: no such terminal";
	if (car && strcmp(kind, "trainingcar") != 0 &&
	    !json_object_get(held(n, "trainingcar"), car))
		return "carnum: no such training vehicle";
	if (strcmp(kind, "trainimginfo") == 0) {
		char fid[32];
		snprintf(fid, sizeof(fid), "%lld",
			 (long long)json_integer_value(json_object_get(b, "fileid")));
		const char *k =
			json_string_value(json_object_get(json_object_get(n->pdfs, fid), "kind"));
		if (!k || strcmp(k, "img") != 0)
			return "fileid: no such photo uploaded";
		if (!json_object_get(n->teachlogs, json_string_value(json_object_get(b, "recnum"))))
			return "recnum: no such teaching log";
	}
	if (strcmp(kind, "devRembinding") == 0) {
		json_t *cur = json_object_get(held(n, "binding"), dev);
		const char *was = json_string_value(json_object_get(cur, "carnum"));
		if (!was || strcmp(was, car) != 0)
			return "the terminal is not bound to that vehicle";
	}
	return NULL;
}

static char *upward(struct natsim *n, bool del, const char *path, const char *query,
		    const uint8_t *body, size_t len, const char **what)
{
	const char *seg = last_segment(path), *num = NULL, *why = NULL;
	const char *kind = del ? delete_kind(seg, &num) : seg;
	static char msg[200]; /* what, for the caller's log line */
	json_t *b = NULL;
	int code;
	if (kind == NULL || (!del && !upkind_of(kind))) {
		*what = "master data: no such interface";
		return reply(100, "no such interface", NULL);
	}
	/* Signed over the body (POST) or the path's key, the number
	 * (DELETE). */
	code = del ? check_call(n, query, (const uint8_t *)num, strlen(num), &why)
		   : check_call(n, query, body, len, &why);
	if (code == 0 && !del) {
		b = json_loadb((const char *)body, len, 0, NULL);
		const char *bad = natsim_upward_invalid(kind, b);
		if (bad) {
			snprintf(msg, sizeof(msg), "bad format: %s", bad);
			why = msg;
			code = 200;
		} else if ((why = unknown_ref(n, kind, b)) != NULL) {
			code = 100;
		} else {
			const char *nm = upkind_of(kind)->number;
			num = nm ? json_string_value(json_object_get(b, nm)) : NULL;
		}
	} else if (code == 0 && !json_object_get(held(n, kind), num)) {
		why = "no such resource";
		code = 100;
	}
	if (code) {
		json_decref(b);
		n->refused++;
		*what = why;
		return reply(code, why, NULL);
	}
	json_t *line =
		json_pack("{ssssssssss%ss}", "kind", "upward", "upkind", kind, "method",
			  del ? "DELETE" : "POST", "path", path, "body",
			  del ? "" : (const char *)body, del ? 0 : len, "number", num ? num : "");
	if (!line || !log_line(n, line)) {
		json_decref(line);
		json_decref(b);
		*what = "master data: cannot store";
		return reply(1, "cannot store", NULL);
	}
	remember_upward(n, line);
	json_decref(line);
	n->upward++;
	*what = del ? "master data deleted" : "master data accepted";
	/* The answer's data numbers what it created (the national base
	 * assigns the numbers). */
	const struct upkind *k = del ? NULL : upkind_of(kind);
	json_t *data = k && k->number ? json_pack("{ss}", k->number, num) : NULL;
	json_decref(b);
	return reply(0, "ok", data);
}

/*
 * GET /{inscode}-regionreview-{seq}: a training area it holds, approved
 * at once (data.flag 1), unless reviews are held (POST /_review
 * {"hold":true}): 100, 审核中, until POST /_review {"inscode":...,
 * "seq":...} approves it.  Signed over inscode and seq joined.
 */
static char *region_review(struct natsim *n, const char *path, const char *query, const char **what)
{
	const char *slash = strrchr(path, '/'), *mid = strstr(path, "-regionreview-");
	char ins[64], seq[32], keys[96], key[110];
	if (!slash || !mid || mid <= slash + 1 || (size_t)(mid - slash - 1) >= sizeof(ins) ||
	    strlen(mid + 14) >= sizeof(seq)) {
		*what = "region review: bad path";
		return reply(200, "bad format", NULL);
	}
	snprintf(ins, sizeof(ins), "%.*s", (int)(mid - slash - 1), slash + 1);
	snprintf(seq, sizeof(seq), "%s", mid + 14);
	snprintf(keys, sizeof(keys), "%s%s", ins, seq);
	const char *why = NULL;
	int code = check_call(n, query, (const uint8_t *)keys, strlen(keys), &why);
	if (code) {
		n->refused++;
		*what = why;
		return reply(code, why, NULL);
	}
	json_t *b = json_object_get(held(n, "region"), seq);
	const char *bins = json_string_value(json_object_get(b, "inscode"));
	if (!bins || strcmp(bins, ins) != 0) {
		*what = "region review: no such training area";
		return reply(100, "no such training area", NULL);
	}
	snprintf(key, sizeof(key), "region-%s-%s", ins, seq);
	if (n->hold && !json_object_get(n->decided, key)) {
		*what = "region review: pending";
		return reply(100, "审核中", NULL);
	}
	n->reviews++;
	*what = "region review: approved";
	return reply(
		0, "ok",
		json_pack("{sisssssi}", "flag", 1, "reason", "", "inscode", ins, "seq", atoi(seq)));
}

char *natsim_upward_delete(struct natsim *n, const char *path, const char *query, const char **what)
{
	return upward(n, true, path, query, NULL, 0, what);
}

char *natsim_handle(struct natsim *n, bool post, const char *path, const char *query,
		    const char *ctype, const uint8_t *body, size_t len, int fault, int *status,
		    const char **what)
{
	*status = 200;
	if (strcmp(path, "/booking") == 0)
		return post ? booking(n, body, len, what) : reply(200, "POST only", NULL);
	if (strstr(path, "-stagetrainningtimereview-"))
		return review(n, path, query, what);
	if (strstr(path, "-regionreview-"))
		return region_review(n, path, query, what);
	if (!post) {
		*what = "not POST";
		return reply(200, "POST only", NULL);
	}
	if (fault) {
		*what = "injected errorcode";
		return reply(fault, "injected by policesim", NULL);
	}
	if (upkind_of(last_segment(path)))
		return upward(n, false, path, query, body, len, what);
	if (!natsim_is_stage(path) && !is_classrecord(path))
		return upload(n, path, query, ctype, body, len, what);
	const char *why = NULL;
	int code = check_call(n, query, body, len, &why);
	if (code) {
		n->refused++;
		*what = why;
		return reply(code, why, NULL);
	}
	return is_classrecord(path) ? classrecord(n, path, query, body, len, what)
				    : stage(n, path, query, body, len, what);
}

void natsim_stats(const struct natsim *n, json_t *s)
{
	json_object_set_new(s, "national_uploads", json_integer((json_int_t)n->uploads));
	json_object_set_new(s, "national_stages", json_integer((json_int_t)n->stages_accepted));
	json_object_set_new(s, "national_stages_repeated",
			    json_integer((json_int_t)n->stages_repeated));
	json_object_set_new(s, "national_refused", json_integer((json_int_t)n->refused));
	json_object_set_new(s, "national_reviews", json_integer((json_int_t)n->reviews));
	json_object_set_new(s, "national_upward", json_integer((json_int_t)n->upward));
	json_object_set_new(s, "bookings", json_integer((json_int_t)n->bookings));
	json_object_set_new(s, "bookings_refused", json_integer((json_int_t)n->bookings_refused));
}
