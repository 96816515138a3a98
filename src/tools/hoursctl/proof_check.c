/*
 * proof_check.c - hoursctl audit check-proof: a bundle of audit prove
 * (proof.c) checked without the database (docs/audit.md, "A proof per
 * pushed part").
 *
 * What it holds the bundle to, with nothing but the bundle, the CA and
 * the checkpoint key:
 *  - the checkpoint's signature by the key given, over the text hoursd
 *    signs (k, batch n, head, time);
 *  - the batches' links, recomputed here from the link the first is on,
 *    each batch's size and root, up to the signed head;
 *  - each record's leaf in its batch's tree: the RFC 9162 inclusion proof
 *    recomputed here from the leaf's data, its index and the batch's size;
 *  - the leaf's data against the raw frame: its raw_sha256 is the frame's
 *    digest, and the terminal, record number, time, student, part and
 *    vehicle class it logged are those the frame (decoded with hoursd's
 *    own codec) says; the row was accepted at ingest;
 *  - the frame's signature against the terminal's signing certificate in
 *    force at the record's time, that certificate's chain to the CA;
 *  - the packet's body: its student, part, vehicle class, record count
 *    and records_sha256 (the SHA-256 of "terminal|record\n" a record,
 *    sorted) are those of the records proven.
 * The Merkle hashing and the links are written again here on purpose:
 * this file shares no code with merkle.c (a checker that shared the
 * daemon's mistakes would prove them).  The bundle is read strictly: an
 * unknown or missing member, a duplicate, hex not lowercase, a
 * certificate not in DER are refused, so that no byte of it goes
 * unchecked but the parts of the body beyond those above.
 */
#include "hoursd.h"
#include "hoursctl.h"
#include "chain.h"
#include "jtx.h"
#include "sig.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <time.h>

#define PROOF_FORMAT "hoursd audit proof v1"
#define PROOF_CA "not in the database: supplied at check time (--ca)"
#define MAX_BUNDLE (512u << 20)

struct chk {
	unsigned long problems;
};

static void fail(struct chk *c, const char *fmt, ...) PRINTF(2, 3);
static void fail(struct chk *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("FAILED: ");
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	c->problems++;
}

/* ---- hashing, on its own (not merkle.c) ---- */

static void sha256_2(const void *a, size_t an, const void *b, size_t bn, uint8_t out[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned len = 0;
	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, a, an) != 1 || (bn && EVP_DigestUpdate(ctx, b, bn) != 1) ||
	    EVP_DigestFinal_ex(ctx, out, &len) != 1)
		memset(out, 0, 32); /* never equal to a real hash by chance */
	EVP_MD_CTX_free(ctx);
}

/* RFC 9162 2.1.1: a leaf's hash, SHA-256(0x00 || data). */
static void rfc_leaf(const uint8_t *d, size_t n, uint8_t out[32])
{
	uint8_t pre = 0x00;
	sha256_2(&pre, 1, d, n, out);
}

/* RFC 9162 2.1.1: an inner node, SHA-256(0x01 || left || right). */
static void rfc_node(const uint8_t l[32], const uint8_t r[32], uint8_t out[32])
{
	uint8_t b[65];
	b[0] = 0x01;
	memcpy(b + 1, l, 32);
	memcpy(b + 33, r, 32);
	sha256_2(b, sizeof(b), NULL, 0, out);
}

/*
 * RFC 9162 2.1.3.2: verify an inclusion proof of leaf hash h at index
 * in a tree of size leaves against root.
 */
static bool rfc_included(const uint8_t h[32], uint64_t index, uint64_t size,
			 const uint8_t (*path)[32], size_t plen, const uint8_t root[32])
{
	if (index >= size)
		return false;
	uint64_t fn = index, sn = size - 1;
	uint8_t r[32];
	memcpy(r, h, 32);
	for (size_t i = 0; i < plen; i++) {
		if (sn == 0)
			return false;
		if ((fn & 1) || fn == sn) {
			rfc_node(path[i], r, r);
			if (!(fn & 1))
				while (!(fn & 1) && fn != 0) {
					fn >>= 1;
					sn >>= 1;
				}
		} else {
			rfc_node(r, path[i], r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && memcmp(r, root, 32) == 0;
}

/* The link of batch n: SHA-256(previous || be64 n || be64 size || root). */
static void log_link(const uint8_t prev[32], uint64_t n, uint64_t size, const uint8_t root[32],
		     uint8_t out[32])
{
	uint8_t b[80];
	memcpy(b, prev, 32);
	for (int i = 0; i < 8; i++) {
		b[32 + i] = (uint8_t)(n >> (56 - 8 * i));
		b[40 + i] = (uint8_t)(size >> (56 - 8 * i));
	}
	memcpy(b + 48, root, 32);
	sha256_2(b, sizeof(b), NULL, 0, out);
}

/* ---- the bundle, read strictly ---- */

static int hexval(char ch)
{
	return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Lowercase hex into a new buffer (its length in *n); NULL when it is not. */
static uint8_t *unhex(const char *s, size_t *n)
{
	size_t len = s ? strlen(s) : 1;
	if (len % 2)
		return NULL;
	uint8_t *b = malloc(len / 2 + 1);
	for (size_t i = 0; b && i < len / 2; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			free(b);
			return NULL;
		}
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	*n = len / 2;
	return b;
}

/* Exactly 32 bytes of lowercase hex. */
static bool hash_of(const json_t *v, uint8_t out[32])
{
	size_t n = 0;
	uint8_t *b = unhex(json_string_value(v), &n);
	bool ok = b && n == 32;
	if (ok)
		memcpy(out, b, 32);
	free(b);
	return ok;
}

/*
 * An object with exactly the members named ("?name": optional), of the
 * JSON types given (s string, i integer, b boolean, a array, o object,
 * n integer or null); false (said) when not.
 */
static bool shape(struct chk *c, const json_t *o, const char *what, const char *const *names,
		  const char *types)
{
	if (!json_is_object(o)) {
		fail(c, "%s: not an object", what);
		return false;
	}
	size_t want = 0, seen = 0;
	for (size_t i = 0; names[i]; i++) {
		bool opt = names[i][0] == '?';
		const char *nm = names[i] + opt;
		const json_t *v = json_object_get(o, nm);
		if (v == NULL) {
			if (!opt) {
				fail(c, "%s: no member \"%s\"", what, nm);
				return false;
			}
			continue;
		}
		want++;
		bool ok = true;
		switch (types[i]) {
		case 's':
			ok = json_is_string(v);
			break;
		case 'i':
			ok = json_is_integer(v);
			break;
		case 'b':
			ok = json_is_boolean(v);
			break;
		case 'a':
			ok = json_is_array(v);
			break;
		case 'o':
			ok = json_is_object(v);
			break;
		case 'n':
			ok = json_is_integer(v) || json_is_null(v);
			break;
		}
		if (!ok) {
			fail(c, "%s: member \"%s\" is not of its type", what, nm);
			return false;
		}
	}
	seen = json_object_size(o);
	if (seen != want) {
		fail(c, "%s: a member the format does not have", what);
		return false;
	}
	return true;
}

#define SHAPE(c, o, what, types, ...)                                                              \
	shape(c, o, what, (const char *const[]){__VA_ARGS__, NULL}, types)

/* ---- the terminals and their certificates ---- */

struct pcert {
	long long since; /* LLONG_MIN: from the start */
	uint8_t sha[32];
	char *pem;
	bool chain_ok;
};

struct pterm {
	long long id;
	const char *terminal_no, *phone;
	bool rsa_raw, escaped;
	struct pcert *certs;
	size_t ncerts;
};

/* A certificate from its DER hex: canonical DER, chained to the CA. */
static bool load_cert(struct chk *c, X509_STORE *ca, const json_t *j, const char *who,
		      struct pcert *pc)
{
	size_t n = 0;
	uint8_t *der = unhex(json_string_value(json_object_get(j, "der")), &n);
	const uint8_t *p = der;
	X509 *x = der ? d2i_X509(NULL, &p, (long)n) : NULL;
	uint8_t *again = NULL;
	int m = x ? i2d_X509(x, &again) : -1;
	bool ok = x && p == der + n && m == (int)n && memcmp(again, der, n) == 0;
	OPENSSL_free(again);
	free(der);
	if (!ok) {
		fail(c, "%s: a certificate is not one certificate in DER", who);
		X509_free(x);
		return false;
	}
	unsigned len = 0;
	X509_digest(x, EVP_sha256(), pc->sha, &len);
	BIO *b = BIO_new(BIO_s_mem());
	char *mem = NULL;
	long ml = 0;
	if (b && PEM_write_bio_X509(b, x) == 1 && (ml = BIO_get_mem_data(b, &mem)) > 0) {
		pc->pem = malloc((size_t)ml + 1);
		if (pc->pem) {
			memcpy(pc->pem, mem, (size_t)ml);
			pc->pem[ml] = '\0';
		}
	}
	BIO_free(b);
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	/* its chain, whatever the time: the validity is checked at the record's own time */
	pc->chain_ok = ctx && X509_STORE_CTX_init(ctx, ca, x, NULL) == 1 &&
		       (X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx),
						    X509_V_FLAG_NO_CHECK_TIME),
			X509_verify_cert(ctx) == 1);
	if (!pc->chain_ok) {
		char hex[17];
		for (int i = 0; i < 8; i++)
			snprintf(hex + 2 * i, 3, "%02x", pc->sha[i]);
		fail(c, "%s: certificate %s...: not issued under the CA given (%s)", who, hex,
		     ctx ? X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx))
			 : "no memory");
	}
	X509_STORE_CTX_free(ctx);
	X509_free(x);
	return pc->pem != NULL && pc->chain_ok;
}

static bool load_terms(struct chk *c, X509_STORE *ca, const json_t *arr, struct pterm **out,
		       size_t *nout)
{
	size_t n = json_array_size(arr), i;
	const json_t *t;
	struct pterm *ts = calloc(n + 1, sizeof(*ts));
	*out = ts;
	*nout = 0;
	if (ts == NULL || n == 0) {
		fail(c, "terminals: none");
		return false;
	}
	bool ok = true;
	json_array_foreach(arr, i, t)
	{
		char who[64];
		snprintf(who, sizeof(who), "terminals[%zu]", i);
		if (!SHAPE(c, t, who, "issbba", "id", "terminal_no", "?phone", "rsa_raw",
			   "escaped_sums", "certs"))
			return false;
		struct pterm *pt = &ts[(*nout)++];
		pt->id = json_integer_value(json_object_get(t, "id"));
		pt->terminal_no = json_string_value(json_object_get(t, "terminal_no"));
		pt->phone = json_string_value(json_object_get(t, "phone"));
		pt->rsa_raw = json_is_true(json_object_get(t, "rsa_raw"));
		pt->escaped = json_is_true(json_object_get(t, "escaped_sums"));
		if ((pt->terminal_no[0] == '\0') != (pt->phone != NULL)) {
			fail(c, "%s: a phone is given exactly when the terminal number is not",
			     who);
			return false;
		}
		for (size_t k = 0; k + 1 < *nout; k++)
			if (ts[k].id == pt->id) {
				fail(c, "%s: terminal %lld twice", who, pt->id);
				return false;
			}
		const json_t *certs = json_object_get(t, "certs"), *cj;
		size_t k;
		pt->certs = calloc(json_array_size(certs) + 1, sizeof(*pt->certs));
		if (pt->certs == NULL || json_array_size(certs) == 0) {
			fail(c, "%s: no certificate", who);
			return false;
		}
		json_array_foreach(certs, k, cj)
		{
			char w[96];
			snprintf(w, sizeof(w), "%s.certs[%zu]", who, k);
			if (!SHAPE(c, cj, w, "ns", "since", "der"))
				return false;
			struct pcert *pc = &pt->certs[pt->ncerts++];
			const json_t *s = json_object_get(cj, "since");
			pc->since = json_is_null(s) ? LLONG_MIN : json_integer_value(s);
			/* the first is in force from the start, the others each after the one
			 * before */
			if ((k == 0) != json_is_null(s) ||
			    (k > 0 && pc->since <= pt->certs[k - 1].since)) {
				fail(c, "%s: not in force after the one before", w);
				return false;
			}
			ok = load_cert(c, ca, cj, w, pc) && ok;
		}
	}
	return ok;
}

static void free_terms(struct pterm *ts, size_t n)
{
	for (size_t i = 0; ts && i < n; i++) {
		for (size_t k = 0; k < ts[i].ncerts; k++)
			free(ts[i].certs[k].pem);
		free(ts[i].certs);
	}
	free(ts);
}

/* ---- a training record's leaf (migration 015's leaf_expr) ---- */

struct leaf {
	long long terminal_id, record_time, received_at; /* Unix seconds */
	char record_no[64], student_no[64], vehicle_class[8], verdict[16];
	int part;
	uint8_t raw_sha256[32];
};

struct rd {
	const uint8_t *p;
	size_t n;
	bool bad;
};

static uint64_t be(struct rd *r, size_t k)
{
	uint64_t v = 0;
	if (r->n < k) {
		r->bad = true;
		return 0;
	}
	for (size_t i = 0; i < k; i++)
		v = v << 8 | r->p[i];
	r->p += k;
	r->n -= k;
	return v;
}

/* A text field: be32 length and the bytes (-1: NULL, read as ""). */
static void text_field(struct rd *r, char *out, size_t cap)
{
	uint32_t len = (uint32_t)be(r, 4);
	out[0] = '\0';
	if (r->bad || len == 0xffffffffu)
		return;
	if (len >= cap || len > r->n) {
		r->bad = true;
		return;
	}
	memcpy(out, r->p, len);
	out[len] = '\0';
	if (strlen(out) != len)
		r->bad = true;
	r->p += len;
	r->n -= len;
}

/* A moment: be64 microseconds since 2000-01-01 UTC (one byte 0xff: NULL, LLONG_MIN). */
static long long moment(struct rd *r)
{
	if (r->n >= 1 && r->p[0] == 0xff) { /* NULL: the one byte (no time of ours begins so) */
		r->p++;
		r->n--;
		return LLONG_MIN;
	}
	int64_t us = (int64_t)be(r, 8);
	long long s = us / 1000000 - (us % 1000000 < 0 ? 1 : 0);
	return s + 946684800LL;
}

static bool parse_leaf(const uint8_t *d, size_t n, struct leaf *l)
{
	static const char pre[] = "training_record\n";
	if (n < sizeof(pre) - 1 || memcmp(d, pre, sizeof(pre) - 1) != 0)
		return false;
	struct rd r = {d + sizeof(pre) - 1, n - (sizeof(pre) - 1), false};
	char skip[512];
	l->terminal_id = (long long)be(&r, 8);
	text_field(&r, l->record_no, sizeof(l->record_no));
	l->record_time = moment(&r);
	text_field(&r, l->student_no, sizeof(l->student_no));
	text_field(&r, skip, sizeof(skip)); /* coach_no */
	be(&r, 8);			    /* class_id */
	text_field(&r, skip, sizeof(skip)); /* course_code */
	l->part = (int16_t)be(&r, 2);
	be(&r, 2); /* mode */
	text_field(&r, l->vehicle_class, sizeof(l->vehicle_class));
	be(&r, 2 + 2 + 4 + 4 + 4 + 4 + 1); /* upload type ... fix_valid */
	moment(&r);			   /* gnss_time */
	moment(&r);			   /* session_login_at */
	text_field(&r, l->verdict, sizeof(l->verdict));
	text_field(&r, skip, sizeof(skip)); /* reason */
	l->received_at = moment(&r);
	if (r.bad || r.n != 32)
		return false;
	memcpy(l->raw_sha256, r.p, 32);
	return true;
}

/* ---- the check ---- */

struct prec {
	const char *record_no, *name; /* name: the terminal's in records_sha256 */
	long long batch, index, time;
	char vehicle_class[8];
};

static int by_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct batchv {
	long long n, size;
	uint8_t root[32];
};

static const struct pterm *term_find(const struct pterm *ts, size_t n, long long id)
{
	for (size_t i = 0; i < n; i++)
		if (ts[i].id == id)
			return &ts[i];
	return NULL;
}

static const struct pcert *cert_at(const struct pterm *t, long long at)
{
	size_t k = 0;
	while (k + 1 < t->ncerts && t->certs[k + 1].since <= at)
		k++;
	return &t->certs[k];
}

/*
 * j's leaf (data ld) at j's index of j's batch's tree, by j's path; false
 * (said) when not.  Its batch, index and the batch's size.
 */
static bool included(struct chk *c, const char *who, const uint8_t *ld, size_t ln, const json_t *j,
		     const struct batchv *bs, size_t nbs, long long *batch, long long *index,
		     long long *size)
{
	*batch = json_integer_value(json_object_get(j, "batch"));
	*index = json_integer_value(json_object_get(j, "index"));
	const struct batchv *b = NULL;
	for (size_t k = 0; k < nbs && b == NULL; k++)
		if (bs[k].n == *batch)
			b = &bs[k];
	const json_t *path = json_object_get(j, "path"), *pj;
	size_t plen = json_array_size(path), k;
	uint8_t(*pv)[32] = calloc(plen + 1, 32), lh[32];
	bool pok = pv != NULL && plen <= 64, ok = false;
	json_array_foreach(path, k, pj) pok = pok && hash_of(pj, pv[k]);
	rfc_leaf(ld, ln, lh);
	if (b == NULL)
		fail(c, "%s: its batch %lld is not in the bundle's log", who, *batch);
	else if (!pok)
		fail(c, "%s: its path is not a list of hashes", who);
	else if (*index < 0 || !rfc_included(lh, (uint64_t)*index, (uint64_t)b->size,
					     (const uint8_t(*)[32])pv, plen, b->root))
		fail(c,
		     "%s: its leaf is not at %lld of batch %lld's tree (the inclusion proof fails)",
		     who, *index, *batch);
	else
		ok = true;
	if (b)
		*size = b->size;
	free(pv);
	return ok;
}

/* One record: leaf, frame, signature, inclusion; one line of what it proved. */
static bool check_record(struct chk *c, const json_t *j, size_t i, const char *student, int part,
			 const struct pterm *ts, size_t nts, const struct batchv *bs, size_t nbs,
			 struct sig_cache *sigs, struct prec *out)
{
	char who[96];
	snprintf(who, sizeof(who), "records[%zu]", i);
	if (!SHAPE(c, j, who, "isssiia", "terminal", "record_no", "raw", "leaf", "batch", "index",
		   "path"))
		return false;
	out->record_no = json_string_value(json_object_get(j, "record_no"));
	snprintf(who, sizeof(who), "record %.40s", out->record_no);
	const struct pterm *t =
		term_find(ts, nts, json_integer_value(json_object_get(j, "terminal")));
	if (t == NULL) {
		fail(c, "%s: its terminal is not in the bundle", who);
		return false;
	}
	out->name = t->terminal_no[0] ? t->terminal_no : t->phone;
	size_t rn = 0, ln = 0;
	uint8_t *raw = unhex(json_string_value(json_object_get(j, "raw")), &rn);
	uint8_t *ld = unhex(json_string_value(json_object_get(j, "leaf")), &ln);
	struct leaf l;
	bool ok = false;
	uint8_t h[32];
	if (raw == NULL || ld == NULL) {
		fail(c, "%s: raw or leaf is not lowercase hex", who);
		goto out;
	}
	if (!parse_leaf(ld, ln, &l)) {
		fail(c, "%s: its leaf is not a training record's", who);
		goto out;
	}
	sha256_2(raw, rn, NULL, 0, h);
	if (memcmp(h, l.raw_sha256, 32) != 0) {
		fail(c, "%s: the raw frame is not the one its leaf logged (SHA-256 differs)", who);
		goto out;
	}
	struct jtx_header fh;
	struct jtx_record m;
	enum jtx_err e = jtx_parse(raw, rn, &fh);
	if (e != JTX_OK && t->escaped)
		e = jtx_parse_escaped_len(raw, rn, &fh);
	if (e != JTX_OK || fh.msg_id != JTX_RECORD ||
	    jtx_parse_record(fh.data, fh.data_len, &m) != JTX_OK) {
		fail(c, "%s: the raw frame is not a training record", who);
		goto out;
	}
	if (strcmp(m.record_no, out->record_no) != 0 || strcmp(l.record_no, m.record_no) != 0 ||
	    l.terminal_id != t->id || l.record_time != (long long)m.record_time ||
	    strcmp(l.student_no, m.student_no) != 0 || l.part != m.course.part ||
	    strcmp(l.vehicle_class, m.course.vehicle_class) != 0) {
		fail(c,
		     "%s: its leaf does not log what the frame says (terminal, number, time, "
		     "student, part or class)",
		     who);
		goto out;
	}
	if (strcmp(m.student_no, student) != 0 || m.course.part != part) {
		fail(c, "%s: the frame is student %s part %d's, not the bundle's", who,
		     m.student_no, m.course.part);
		goto out;
	}
	if (strcmp(l.verdict, "accepted") != 0) {
		fail(c, "%s: its leaf logs it %s at ingest, not accepted", who, l.verdict);
		goto out;
	}
	if (t->terminal_no[0] && strcmp(t->terminal_no, fh.terminal_no) != 0) {
		fail(c, "%s: the frame names terminal %s, the bundle %s", who, fh.terminal_no,
		     t->terminal_no);
		goto out;
	}
	const struct pcert *pc = cert_at(t, (long long)m.record_time);
	const char *sigsaid = "unsigned (rules.unsigned: flag): nothing signed to check";
	if (fh.sig_len > 0) {
		char err[256];
		enum sig_result s = SIG_BAD;
		if (pc->pem && sig_cache_put(sigs, pc->sha, pc->pem, err, sizeof(err)))
			s = sig_verify_flags(sigs, pc->sha, fh.signed_bytes, fh.signed_len, fh.sig,
					     fh.sig_len, (time_t)l.received_at,
					     t->rsa_raw ? SIG_F_RSA_RAW : 0);
		if (s != SIG_OK) {
			fail(c, "%s: the frame's signature: %s", who, sig_result_name(s));
			goto out;
		}
		sigsaid = "signed by the certificate in force then";
	}
	out->time = (long long)m.record_time;
	snprintf(out->vehicle_class, sizeof(out->vehicle_class), "%s", m.course.vehicle_class);
	long long size = 0;
	if (included(c, who, ld, ln, j, bs, nbs, &out->batch, &out->index, &size)) {
		char when[32];
		time_t local = (time_t)m.record_time + 8 * 3600;
		struct tm tm;
		gmtime_r(&local, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
		char fp[17];
		for (int q = 0; q < 8; q++)
			snprintf(fp + 2 * q, 3, "%02x", pc->sha[q]);
		printf("%s UTC+8  record %s  terminal %s: %s (%s..., under the CA), logged in "
		       "batch %lld as leaf %lld of %lld\n",
		       when, out->record_no, out->name, sigsaid, fp, out->batch, out->index, size);
		ok = true;
	}
out:
	free(raw);
	free(ld);
	return ok;
}

/* The batches' links from the one before up to the checkpoint's head; its signature. */
static bool check_log(struct chk *c, const json_t *log, const json_t *cp, EVP_PKEY *key,
		      struct batchv **bs, size_t *nbs)
{
	*nbs = 0;
	if (!SHAPE(c, log, "log", "sa", "before", "batches") ||
	    !SHAPE(c, cp, "checkpoint", "iisiss", "k", "n", "head", "at", "key_id", "signature"))
		return false;
	const json_t *arr = json_object_get(log, "batches"), *b;
	size_t i;
	uint8_t link[32], root[32], head[32];
	*bs = calloc(json_array_size(arr) + 1, sizeof(**bs));
	if (*bs == NULL || !hash_of(json_object_get(log, "before"), link)) {
		fail(c, "log: before is not a hash");
		return false;
	}
	json_array_foreach(arr, i, b)
	{
		char who[48];
		snprintf(who, sizeof(who), "log.batches[%zu]", i);
		if (!SHAPE(c, b, who, "iis", "n", "size", "root"))
			return false;
		struct batchv *v = &(*bs)[(*nbs)++];
		v->n = json_integer_value(json_object_get(b, "n"));
		v->size = json_integer_value(json_object_get(b, "size"));
		if (!hash_of(json_object_get(b, "root"), v->root) || v->size < 1 || v->n < 1 ||
		    (i > 0 && v->n != (*bs)[i - 1].n + 1)) {
			fail(c, "%s: not the batch after the one before, or its root no hash", who);
			return false;
		}
		memcpy(root, v->root, 32);
		log_link(link, (uint64_t)v->n, (uint64_t)v->size, root, link);
	}
	long long k = json_integer_value(json_object_get(cp, "k")),
		  n = json_integer_value(json_object_get(cp, "n")),
		  at = json_integer_value(json_object_get(cp, "at"));
	const char *head_hex = json_string_value(json_object_get(cp, "head"));
	if (*nbs == 0 || (*bs)[*nbs - 1].n != n) {
		fail(c,
		     "checkpoint k=%lld: it signs batch %lld, the bundle's log does not end there",
		     k, n);
		return false;
	}
	if (!hash_of(json_object_get(cp, "head"), head) || memcmp(head, link, 32) != 0) {
		fail(c, "checkpoint k=%lld: the batches' links do not lead to its signed head", k);
		return false;
	}
	char id[65], text[320];
	size_t sl = 0;
	uint8_t *sig = unhex(json_string_value(json_object_get(cp, "signature")), &sl);
	bool ok = false;
	if (!checkpoint_key_id(key, id) ||
	    strcmp(id, json_string_value(json_object_get(cp, "key_id"))) != 0)
		fail(c, "checkpoint k=%lld: signed by another key than the one given", k);
	else if (sig == NULL)
		fail(c, "checkpoint k=%lld: its signature is not lowercase hex", k);
	else if (snprintf(text, sizeof(text),
			  "hoursd audit checkpoint v2\nk=%lld\nn=%lld\nhead=%s\nat=%lld\n", k, n,
			  head_hex, at) >= (int)sizeof(text) ||
		 !checkpoint_verify(key, text, sig, sl))
		fail(c, "checkpoint k=%lld: the signature does not verify", k);
	else
		ok = true;
	free(sig);
	if (ok) {
		char when[32];
		time_t tt = (time_t)at;
		struct tm tm;
		gmtime_r(&tt, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
		printf("checkpoint k=%lld, signed %s by key %.16s...: the log's head at batch %lld; "
		       "batches %lld to %lld link up to it\n",
		       k, when, id, n, (*bs)[0].n, n);
	}
	return ok;
}

/*
 * A body of the national profile (docs/push-contract.md 9): its student
 * (stunum) and subject; for parts 2 and 3 each rnum of its recarray
 * (the record's own number; the push sends the minutes the part needs)
 * is a record proven, and none twice; for parts 1 and 4 recarray holds the teaching logs' numbers,
 * which no record of the bundle proves: said, not checked.
 */
static bool check_national_body(struct chk *c, const json_t *packet, const json_t *b,
				const char *student, int part, const struct prec *rs, size_t n)
{
	char want[16];
	snprintf(want, sizeof(want), "%d", part);
	const char *stunum = json_string_value(json_object_get(b, "stunum")),
		   *subject = json_string_value(json_object_get(b, "subject"));
	const json_t *arr = json_object_get(b, "recarray");
	if (stunum == NULL || strcmp(stunum, student) != 0 || subject == NULL ||
	    strcmp(subject, want) != 0 || !json_is_array(arr)) {
		fail(c, "packet: the national body is not student %s subject %d", student, part);
		return false;
	}
	const char *id = json_string_value(json_object_get(packet, "id"));
	if (part == 1 || part == 4) {
		printf("packet %s: national body of student %s subject %d; its recarray holds %zu "
		       "teaching logs' numbers, not proven here\n",
		       id, student, part, json_array_size(arr));
		return true;
	}
	size_t m = json_array_size(arr);
	const char **got = calloc(m + 1, sizeof(*got)), **have = calloc(n + 1, sizeof(*have));
	bool ok = got && have && m <= n;
	for (size_t i = 0; ok && i < m; i++) {
		got[i] = json_string_value(json_object_get(json_array_get(arr, i), "rnum"));
		ok = got[i] != NULL;
	}
	for (size_t i = 0; ok && i < n; i++)
		have[i] = rs[i].record_no;
	if (ok) {
		qsort(got, m, sizeof(*got), by_line);
		qsort(have, n, sizeof(*have), by_line);
		for (size_t i = 0; ok && i < m; i++)
			ok = bsearch(&got[i], have, n, sizeof(*have), by_line) != NULL &&
			     (i == 0 || strcmp(got[i - 1], got[i]) != 0);
	}
	free(got);
	free(have);
	if (!ok) {
		fail(c, "packet: the national body's recarray (%zu) is not the %zu records proven",
		     m, n);
		return false;
	}
	printf("packet %s: national body of student %s subject %d: each of its recarray's %zu "
	       "records is one of the %zu proven\n",
	       id, student, part, m, n);
	return true;
}

/* The body's claims against the records proven. */
static bool check_body(struct chk *c, const json_t *packet, const char *student, int part,
		       struct prec *rs, size_t n, const struct batchv *bs, size_t nbs)
{
	if (!SHAPE(c, packet, "packet", "sssiia", "id", "body", "leaf", "batch", "index", "path"))
		return false;
	const char *id = json_string_value(json_object_get(packet, "id")),
		   *text = json_string_value(json_object_get(packet, "body"));
	size_t ln = 0;
	uint8_t *ld = unhex(json_string_value(json_object_get(packet, "leaf")), &ln), bh[32];
	static const char pre[] = "push_body_logged\n";
	struct rd r = {ld, ln, ld == NULL};
	char lid[64], lstudent[64];
	r.p += r.bad || ln < sizeof(pre) - 1 ? 0 : sizeof(pre) - 1;
	r.n -= r.bad || ln < sizeof(pre) - 1 ? 0 : sizeof(pre) - 1;
	bool leaf_ok = !r.bad && ln >= sizeof(pre) - 1 && memcmp(ld, pre, sizeof(pre) - 1) == 0;
	text_field(&r, lid, sizeof(lid));
	text_field(&r, lstudent, sizeof(lstudent));
	int lpart = (int16_t)be(&r, 2);
	sha256_2(text, strlen(text), NULL, 0, bh);
	long long pb = 0, pi = 0, psize = 0;
	if (!leaf_ok || r.bad || r.n != 32) {
		fail(c, "packet: its leaf is not a pushed body's");
		free(ld);
		return false;
	}
	if (strcmp(lid, id) != 0 || strcmp(lstudent, student) != 0 || lpart != part ||
	    memcmp(r.p, bh, 32) != 0) {
		fail(c, "packet: its leaf does not log this body (packet, student, part or SHA-256 "
			"differs)");
		free(ld);
		return false;
	}
	bool in = included(c, "packet", ld, ln, packet, bs, nbs, &pb, &pi, &psize);
	free(ld);
	if (!in)
		return false;
	char bhex[17];
	for (int q = 0; q < 8; q++)
		snprintf(bhex + 2 * q, 3, "%02x", bh[q]);
	printf("packet %s: its body (SHA-256 %s...) logged in batch %lld as leaf %lld of %lld\n",
	       id, bhex, pb, pi, psize);
	json_error_t je;
	json_t *b = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	bool ok = false;
	char **lines = calloc(n + 1, sizeof(*lines));
	if (b == NULL || !json_is_object(b)) {
		fail(c, "packet: the body is not a JSON object (%s)", je.text);
		goto out;
	}
	if (json_object_get(b, "stunum") != NULL) {
		ok = check_national_body(c, packet, b, student, part, rs, n);
		goto out;
	}
	const char *bstu = json_string_value(json_object_get(b, "student_no")),
		   *vc = json_string_value(json_object_get(b, "vehicle_class")),
		   *digest = json_string_value(json_object_get(b, "records_sha256"));
	const json_t *bp = json_object_get(b, "part"), *cnt = json_object_get(b, "record_count");
	if (bstu == NULL || strcmp(bstu, student) != 0 || !json_is_integer(bp) ||
	    json_integer_value(bp) != part || vc == NULL || strcmp(vc, rs[0].vehicle_class) != 0) {
		fail(c, "packet: the body is not student %s part %d of class %s", student, part,
		     rs[0].vehicle_class);
		goto out;
	}
	if (!json_is_integer(cnt) || json_integer_value(cnt) != (json_int_t)n) {
		fail(c, "packet: the body counts %lld records, the bundle proves %zu",
		     json_is_integer(cnt) ? (long long)json_integer_value(cnt) : -1LL, n);
		goto out;
	}
	size_t total = 1;
	for (size_t i = 0; lines && i < n; i++) {
		size_t len = strlen(rs[i].name) + strlen(rs[i].record_no) + 3;
		lines[i] = malloc(len);
		if (lines[i] == NULL)
			goto out;
		snprintf(lines[i], len, "%s|%s\n", rs[i].name, rs[i].record_no);
		total += len;
	}
	qsort(lines, n, sizeof(*lines), by_line);
	char *all = malloc(total), hex[65];
	size_t at = 0;
	for (size_t i = 0; all && i < n; i++) {
		size_t len = strlen(lines[i]);
		memcpy(all + at, lines[i], len);
		at += len;
	}
	uint8_t d[32];
	sha256_2(all ? all : "", all ? at : 0, NULL, 0, d);
	free(all);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	if (digest == NULL || strcmp(digest, hex) != 0) {
		fail(c, "packet: the body's records_sha256 is not that of the records proven");
		goto out;
	}
	printf("packet %s: student %s part %d class %s, %zu records: records_sha256 %.16s... is "
	       "theirs\n",
	       json_string_value(json_object_get(packet, "id")), student, part, vc, n, hex);
	ok = true;
out:
	for (size_t i = 0; lines && i < n; i++)
		free(lines[i]);
	free(lines);
	json_decref(b);
	return ok;
}

static bool check(struct chk *c, const json_t *root, X509_STORE *ca, EVP_PKEY *key)
{
	if (!SHAPE(c, root, "bundle", "ssiosaaoo", "format", "student", "part", "packet", "ca",
		   "terminals", "records", "log", "checkpoint"))
		return false;
	if (strcmp(json_string_value(json_object_get(root, "format")), PROOF_FORMAT) != 0 ||
	    strcmp(json_string_value(json_object_get(root, "ca")), PROOF_CA) != 0) {
		fail(c, "bundle: not a \"" PROOF_FORMAT "\"");
		return false;
	}
	const char *student = json_string_value(json_object_get(root, "student"));
	int part = (int)json_integer_value(json_object_get(root, "part"));
	struct pterm *ts = NULL;
	size_t nts = 0, nbs = 0;
	struct batchv *bs = NULL;
	struct sig_cache *sigs = sig_cache_new(64);
	const json_t *recs = json_object_get(root, "records"), *r;
	size_t n = json_array_size(recs), i;
	struct prec *rs = calloc(n + 1, sizeof(*rs));
	bool ok = sigs && rs && n > 0;
	if (n == 0)
		fail(c, "records: none");
	ok = ok && load_terms(c, ca, json_object_get(root, "terminals"), &ts, &nts);
	ok = ok && check_log(c, json_object_get(root, "log"), json_object_get(root, "checkpoint"),
			     key, &bs, &nbs);
	json_array_foreach(recs, i, r)
	{
		if (!ok)
			break;
		ok = check_record(c, r, i, student, part, ts, nts, bs, nbs, sigs, &rs[i]);
		for (size_t k = 0; ok && k < i; k++)
			if ((strcmp(rs[k].record_no, rs[i].record_no) == 0 &&
			     strcmp(rs[k].name, rs[i].name) == 0) ||
			    (rs[k].batch == rs[i].batch && rs[k].index == rs[i].index)) {
				fail(c, "record %s: in the bundle twice", rs[i].record_no);
				ok = false;
			}
	}
	ok = ok && check_body(c, json_object_get(root, "packet"), student, part, rs, n, bs, nbs);
	/* every terminal and certificate given is one a record was checked against */
	for (size_t k = 0; ok && k < nts; k++) {
		bool used = false;
		for (size_t q = 0; q < n && !used; q++)
			used = strcmp(rs[q].name,
				      ts[k].terminal_no[0] ? ts[k].terminal_no : ts[k].phone) == 0;
		if (!used) {
			fail(c, "terminals: terminal %lld signed none of the records", ts[k].id);
			ok = false;
		}
	}
	if (ok)
		printf("proved: the %zu minutes of student %s part %d above, as pushed, are frames "
		       "their terminals signed, in the audit log under a checkpoint signed by the "
		       "key given\n",
		       n, student, part);
	free(rs);
	free(bs);
	free_terms(ts, nts);
	sig_cache_free(sigs);
	return ok;
}

int proof_check(const struct args *a)
{
	const char *path = a->pos[0], *ca_path = a->opt[0], *key_path = a->opt[1];
	if (ca_path == NULL || key_path == NULL) {
		fprintf(stderr,
			"hoursctl: audit check-proof: --ca FILE and --key FILE are required\n");
		return 2;
	}
	char err[512];
	EVP_PKEY *key = checkpoint_key_load(key_path, false, err, sizeof(err));
	if (key == NULL) {
		fprintf(stderr, "hoursctl: --key %s\n", err);
		return 2;
	}
	X509_STORE *ca = X509_STORE_new();
	if (ca == NULL || X509_STORE_load_file(ca, ca_path) != 1) {
		fprintf(stderr, "hoursctl: --ca %s: not a file of PEM certificates\n", ca_path);
		X509_STORE_free(ca);
		EVP_PKEY_free(key);
		return 2;
	}
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0;
	if (f) {
		buf = malloc(MAX_BUNDLE + 1);
		len = buf ? fread(buf, 1, MAX_BUNDLE + 1, f) : 0;
		fclose(f);
	}
	struct chk c = {0};
	json_t *root = NULL;
	if (f == NULL || buf == NULL) {
		fprintf(stderr, "hoursctl: %s: %s\n", path, f ? "no memory" : strerror(errno));
		free(buf);
		X509_STORE_free(ca);
		EVP_PKEY_free(key);
		return 1;
	}
	json_error_t je;
	if (len > MAX_BUNDLE)
		fail(&c, "bundle: larger than %u MiB", MAX_BUNDLE >> 20);
	else if ((root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je)) == NULL)
		fail(&c, "bundle: not JSON (line %d: %s)", je.line, je.text);
	bool ok = root && check(&c, root, ca, key);
	if (!ok)
		printf("refused: %s proves nothing (%lu failed)\n", path,
		       c.problems ? c.problems : 1);
	json_decref(root);
	free(buf);
	X509_STORE_free(ca);
	EVP_PKEY_free(key);
	return ok ? 0 : 1;
}
