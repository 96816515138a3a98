/*
 * proof.c - hoursctl audit prove: a student's pushed part as one
 * self-contained bundle that anyone can check without the database
 * (docs/audit.md, "A proof per pushed part"; proof_check.c checks it).
 *
 * The bundle (JSON, format "hoursd audit proof v1") holds the packet as
 * pushed (its body), each counted record's raw frame and the data of its
 * leaf in the audit log, the terminals that signed them with every
 * signing certificate they have had (DER, and when each came into force:
 * the one in force at a record's time is the one it is checked against),
 * each leaf's inclusion proof in its batch's Merkle tree (RFC 9162), the
 * batches from the first record's to the one a signed checkpoint names
 * (their sizes and roots, and the link the first is on), and that
 * checkpoint.  The CA is not in the database: it is supplied at check
 * time.
 */
#include "hoursd.h"
#include "hoursctl.h"
#include "common/pgq.h"
#include "log.h"
#include "merkle.h"
#include "queries.h"

#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define PROOF_FORMAT "hoursd audit proof v1"

/* A certificate's PEM as lowercase hex of its DER; NULL when it does not parse. */
static char *der_hex(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	uint8_t *der = NULL;
	int n = x ? i2d_X509(x, &der) : -1;
	X509_free(x);
	char *hex = n > 0 ? malloc(2 * (size_t)n + 1) : NULL;
	if (hex)
		hex_encode(hex, der, (size_t)n);
	OPENSSL_free(der);
	return hex;
}

/* The terminals of the records (ids in ids[0..n)), each with its certificates by time. */
static json_t *terminals_of(const long long *ids, int n)
{
	PGresult *r = pgq_query(sql_audit_terminal_certs, 1, (const char *const[]){NULL});
	if (r == NULL)
		return NULL;
	json_t *arr = json_array(), *cur = NULL;
	long long cur_id = -1;
	bool ok = true;
	for (int i = 0; ok && i < PQntuples(r); i++) {
#define COL(c) PQgetvalue(r, i, AUDIT_TERMINAL_CERTS_##c)
		long long id = strtoll(COL(ID), NULL, 10);
		bool wanted = false;
		for (int k = 0; k < n && !wanted; k++)
			wanted = ids[k] == id;
		if (!wanted)
			continue;
		if (id != cur_id) {
			cur_id = id;
			cur = json_object();
			json_object_set_new(cur, "id", json_integer(id));
			json_object_set_new(cur, "terminal_no", json_string(COL(TERMINAL_NO)));
			if (COL(TERMINAL_NO)[0] == '\0')
				json_object_set_new(cur, "phone", json_string(COL(PHONE)));
			json_object_set_new(cur, "rsa_raw", json_boolean(COL(RSA_RAW)[0] == 't'));
			json_object_set_new(cur, "escaped_sums",
					    json_boolean(COL(ESCAPED_SUMS)[0] == 't'));
			json_object_set_new(cur, "certs", json_array());
			json_array_append_new(arr, cur);
		}
		char *der = der_hex(COL(SIGN_CERT_PEM));
		if (der == NULL) {
			fprintf(stderr,
				"hoursctl: terminal %s: its signing certificate does not parse\n",
				COL(PHONE));
			ok = false;
			break;
		}
		json_t *c = json_object();
		json_object_set_new(c, "since",
				    PQgetisnull(r, i, AUDIT_TERMINAL_CERTS_SINCE)
					    ? json_null()
					    : json_integer(strtoll(COL(SINCE), NULL, 10)));
		json_object_set_new(c, "der", json_string(der));
		free(der);
		json_array_append_new(json_object_get(cur, "certs"), c);
#undef COL
	}
	PQclear(r);
	if (!ok) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

/* One batch's leaves (binary) from its hex; NULL when malformed. */
static uint8_t *leaves_bin(const char *hex, size_t *n)
{
	size_t len = strlen(hex);
	*n = len / 64;
	uint8_t *b = malloc(len / 2 + 1);
	if (b && (len % 64 != 0 || !merkle_unhex(hex, b, len / 2))) {
		free(b);
		return NULL;
	}
	return b;
}

/* The leaf's place in its batch and its audit path into rec; false (said) when not there. */
static bool place(json_t *rec, const uint8_t *leaves, size_t nl, const char *leaf_hex,
		  const char *record_no)
{
	size_t len = strlen(leaf_hex) / 2;
	uint8_t *data = malloc(len + 1), h[32];
	bool ok = data && merkle_unhex(leaf_hex, data, len) && merkle_leaf(data, len, h);
	free(data);
	size_t i = 0;
	while (ok && i < nl && memcmp(leaves + 32 * i, h, 32) != 0)
		i++;
	if (!ok || i == nl) {
		fprintf(stderr,
			"hoursctl: %s: its row is not as its batch logged it (audit verify "
			"names what changed)\n",
			record_no);
		return false;
	}
	uint8_t path[64][32];
	size_t plen = 0;
	if (!merkle_path(leaves, nl, i, path, &plen))
		return false;
	json_object_set_new(rec, "index", json_integer((json_int_t)i));
	json_t *p = json_array();
	for (size_t d = 0; d < plen; d++) {
		char hex[65];
		json_array_append_new(p, json_string(hex_encode(hex, path[d], 32)));
	}
	json_object_set_new(rec, "path", p);
	return true;
}

/* The batches lo..hi and the link before them into b; each record's path. */
static bool batches(json_t *b, json_t *records, long long lo, long long hi)
{
	char slo[24], shi[24];
	snprintf(slo, sizeof(slo), "%lld", lo);
	snprintf(shi, sizeof(shi), "%lld", hi);
	PGresult *r = pgq_query(sql_audit_prove_batches, 2, (const char *const[]){slo, shi});
	if (r == NULL)
		return false;
	bool ok = PQntuples(r) == hi - lo + 1;
	if (!ok)
		fprintf(stderr,
			"hoursctl: the log's batches %lld to %lld are not all there (audit "
			"verify names what is missing)\n",
			lo, hi);
	json_t *arr = json_array();
	for (int i = 0; ok && i < PQntuples(r); i++) {
#define COL(c) PQgetvalue(r, i, AUDIT_PROVE_BATCHES_##c)
		long long n = strtoll(COL(N), NULL, 10);
		if (i == 0)
			json_object_set_new(b, "before", json_string(COL(BEFORE)));
		json_t *o = json_object();
		json_object_set_new(o, "n", json_integer(n));
		json_object_set_new(o, "size", json_integer(strtoll(COL(SIZE), NULL, 10)));
		json_object_set_new(o, "root", json_string(COL(ROOT)));
		json_array_append_new(arr, o);
		size_t nl = 0;
		uint8_t *leaves = NULL;
		size_t k;
		json_t *rec;
		json_array_foreach(records, k, rec)
		{
			if (!ok || json_integer_value(json_object_get(rec, "batch")) != n)
				continue;
			if (leaves == NULL && (leaves = leaves_bin(COL(LEAVES), &nl)) == NULL) {
				ok = false;
				break;
			}
			const char *what = json_string_value(json_object_get(rec, "record_no"));
			ok = place(rec, leaves, nl, json_string_value(json_object_get(rec, "leaf")),
				   what ? what : "the packet's body");
		}
		free(leaves);
#undef COL
	}
	PQclear(r);
	json_object_set_new(b, "batches", arr);
	return ok;
}

static bool checkpoint(json_t *bundle, long long n)
{
	char sn[24];
	snprintf(sn, sizeof(sn), "%lld", n);
	PGresult *r = pgq_query(sql_audit_prove_checkpoint, 1, (const char *const[]){sn});
	if (r == NULL)
		return false;
	bool ok = PQntuples(r) == 1;
	if (!ok) {
		fprintf(stderr,
			"hoursctl: no signed checkpoint covers batch %lld yet (audit.checkpoint_key "
			"off, or its interval not passed: try again later)\n",
			n);
	} else {
#define COL(c) PQgetvalue(r, 0, AUDIT_PROVE_CHECKPOINT_##c)
		json_t *o = json_object();
		json_object_set_new(o, "k", json_integer(strtoll(COL(K), NULL, 10)));
		json_object_set_new(o, "n", json_integer(strtoll(COL(N), NULL, 10)));
		json_object_set_new(o, "head", json_string(COL(HEAD)));
		json_object_set_new(o, "at", json_integer(strtoll(COL(SIGNED_AT), NULL, 10)));
		json_object_set_new(o, "key_id", json_string(COL(KEY_ID)));
		json_object_set_new(o, "signature", json_string(COL(SIGNATURE)));
		json_object_set_new(bundle, "checkpoint", o);
#undef COL
	}
	PQclear(r);
	return ok;
}

/* The counted records with their frames and leaves into arr; their batches' range. */
static bool records(json_t *arr, const char *const p[2], long long *lo, long long *hi,
		    long long **ids, int *nids)
{
	PGresult *r = pgq_query(sql_audit_prove_records, 2, p);
	if (r == NULL)
		return false;
	int rows = PQntuples(r);
	bool ok = rows > 0;
	if (!ok)
		fprintf(stderr, "hoursctl: student %s part %s: no counted record\n", p[0], p[1]);
	*ids = calloc((size_t)rows + 1, sizeof(**ids));
	*lo = LLONG_MAX;
	*hi = 0;
	for (int i = 0; ok && *ids && i < rows; i++) {
#define COL(c) PQgetvalue(r, i, AUDIT_PROVE_RECORDS_##c)
		if (PQgetisnull(r, i, AUDIT_PROVE_RECORDS_BATCH) ||
		    PQgetisnull(r, i, AUDIT_PROVE_RECORDS_LEAF)) {
			fprintf(stderr,
				"hoursctl: record %s: not in the audit log yet (logged every "
				"audit.chain_interval_ms; a row of the old chain has no proof)\n",
				COL(RECORD_NO));
			ok = false;
			break;
		}
		long long t = strtoll(COL(TERMINAL_ID), NULL, 10),
			  b = strtoll(COL(BATCH), NULL, 10);
		json_t *o = json_object();
		json_object_set_new(o, "terminal", json_integer(t));
		json_object_set_new(o, "record_no", json_string(COL(RECORD_NO)));
		json_object_set_new(o, "raw", json_string(COL(RAW)));
		json_object_set_new(o, "leaf", json_string(COL(LEAF)));
		json_object_set_new(o, "batch", json_integer(b));
		json_array_append_new(arr, o);
		*lo = b < *lo ? b : *lo;
		*hi = b > *hi ? b : *hi;
		int k = 0;
		while (k < *nids && (*ids)[k] != t)
			k++;
		if (k == *nids)
			(*ids)[(*nids)++] = t;
#undef COL
	}
	PQclear(r);
	return ok && *ids;
}

int proof_make(const struct args *a)
{
	const char *student = a->pos[0], *part = a->pos[1], *out = a->opt[0];
	char *end = NULL;
	long pn = strtol(part, &end, 10);
	if (*end || pn < 1 || pn > 4) {
		fprintf(stderr, "hoursctl: audit prove: PART is 1 to 4, not '%s'\n", part);
		return 2;
	}
	if (out == NULL) {
		fprintf(stderr, "hoursctl: audit prove: --out FILE is required\n");
		return 2;
	}
	const char *p[2] = {student, part};
	PGresult *pk = pgq_query(sql_audit_prove_packet, 2, p);
	if (pk == NULL)
		return 1;
	if (PQntuples(pk) != 1) {
		fprintf(stderr, "hoursctl: student %s part %s: no packet built (nothing pushed)\n",
			student, part);
		PQclear(pk);
		return 1;
	}
	json_t *bundle = json_object(), *packet = json_object(), *recs = json_array(),
	       *log = json_object();
	json_object_set_new(bundle, "format", json_string(PROOF_FORMAT));
	json_object_set_new(bundle, "student", json_string(student));
	json_object_set_new(bundle, "part", json_integer(pn));
	json_object_set_new(packet, "id", json_string(PQgetvalue(pk, 0, AUDIT_PROVE_PACKET_ID)));
	json_object_set_new(packet, "body",
			    json_string(PQgetvalue(pk, 0, AUDIT_PROVE_PACKET_BODY)));
	bool logged = !PQgetisnull(pk, 0, AUDIT_PROVE_PACKET_BATCH) &&
		      !PQgetisnull(pk, 0, AUDIT_PROVE_PACKET_LEAF);
	long long pbatch =
		logged ? strtoll(PQgetvalue(pk, 0, AUDIT_PROVE_PACKET_BATCH), NULL, 10) : 0;
	if (logged) {
		json_object_set_new(packet, "leaf",
				    json_string(PQgetvalue(pk, 0, AUDIT_PROVE_PACKET_LEAF)));
		json_object_set_new(packet, "batch", json_integer(pbatch));
	}
	PQclear(pk);
	if (!logged) {
		fprintf(stderr,
			"hoursctl: student %s part %s: the packet's body is not in the audit log yet "
			"(logged every audit.chain_interval_ms)\n",
			student, part);
		json_decref(packet);
		json_decref(bundle);
		return 1;
	}
	json_object_set_new(bundle, "packet", packet);
	json_object_set_new(bundle, "ca",
			    json_string("not in the database: supplied at check time (--ca)"));
	long long lo = 0, hi = 0, *ids = NULL;
	int nids = 0;
	json_t *terms = NULL;
	bool ok = records(recs, p, &lo, &hi, &ids, &nids) && (terms = terminals_of(ids, nids));
	free(ids);
	if (terms)
		json_object_set_new(bundle, "terminals", terms);
	json_object_set_new(bundle, "records", recs);
	json_object_set_new(bundle, "log", log);
	lo = pbatch < lo ? pbatch : lo;
	hi = pbatch > hi ? pbatch : hi;
	/* the records and the packet each get their place and path */
	json_t *all = json_array();
	size_t k;
	json_t *rec;
	json_array_foreach(recs, k, rec) json_array_append(all, rec);
	json_array_append(all, packet);
	ok = ok && checkpoint(bundle, hi);
	ok = ok && batches(log, all, lo,
			   json_integer_value(
				   json_object_get(json_object_get(bundle, "checkpoint"), "n")));
	json_decref(all);
	if (ok && json_dump_file(bundle, out, JSON_INDENT(1) | JSON_PRESERVE_ORDER) != 0) {
		fprintf(stderr, "hoursctl: %s: %s\n", out, strerror(errno));
		ok = false;
	}
	if (ok)
		printf("proof of student %s part %s: %zu records, batches %lld to %lld, checkpoint "
		       "k=%lld, written to %s\n",
		       student, part, json_array_size(recs), lo,
		       (long long)json_integer_value(
			       json_object_get(json_object_get(bundle, "checkpoint"), "n")),
		       (long long)json_integer_value(
			       json_object_get(json_object_get(bundle, "checkpoint"), "k")),
		       out);
	json_decref(bundle);
	return ok ? 0 : 1;
}
