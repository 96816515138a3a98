/*
 * preenter.c - policesim pre-enter: the police platform's side
 * of the pre-entry question (docs/push-contract.md section 10).
 *
 * The platform pre-enters a student (预录入) only once the training
 * platform says the student enrolled and is scheduled that day.  A
 * command line asks once, so plain blocking OpenSSL is right: one TLS
 * connection with this platform's client certificate, hoursd's server
 * certificate checked against --ca, one GET, the JSON answer read.
 */
#include "hoursd.h"
#include "policesim.h"

#include <getopt.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>

#define ANSWER_MAX 16384

static void usage_pre(FILE *f)
{
	fprintf(f,
		"usage: policesim pre-enter --hoursd HOST:PORT --cert FILE --key FILE --ca FILE\n"
		"                 [--day YYYY-MM-DD] STUDENT\n");
}

static void tls_error(const char *what)
{
	char buf[256];
	unsigned long e = ERR_get_error();
	ERR_error_string_n(e, buf, sizeof(buf));
	fprintf(stderr, "policesim: pre-enter: %s: %s\n", what, e ? buf : "failed");
	ERR_clear_error();
}

/* The whole answer into buf (NUL-terminated); its length, or -1. */
static long ask(const char *hoursd, const char *cert, const char *key, const char *ca,
		const char *path, char *buf, size_t cap)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	BIO *b = NULL;
	long n = -1;
	if (ctx == NULL) {
		tls_error("TLS context");
		return -1;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
		tls_error(cert);
	else if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
		tls_error(key);
	else if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
		tls_error(ca);
	else if ((b = BIO_new_ssl_connect(ctx)) == NULL)
		tls_error("connection");
	else if (BIO_set_conn_hostname(b, hoursd) != 1 || BIO_do_connect(b) != 1 ||
		 BIO_do_handshake(b) != 1)
		tls_error(hoursd);
	else {
		char req[512];
		int len = snprintf(req, sizeof(req),
				   "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path,
				   hoursd);
		if (BIO_write(b, req, len) != len) {
			tls_error("sending");
		} else {
			size_t got = 0;
			int r;
			while (got + 1 < cap &&
			       (r = BIO_read(b, buf + got, (int)(cap - 1 - got))) > 0)
				got += (size_t)r;
			buf[got] = '\0';
			n = (long)got;
			if (got == 0)
				tls_error(
					"no answer (is this client's certificate of readiness.ca?)");
		}
	}
	BIO_free_all(b);
	SSL_CTX_free(ctx);
	return n > 0 ? n : -1;
}

/* What pre-enter was given. */
struct pre {
	const char *hoursd, *cert, *key, *ca, *day, *student;
};

/* STUDENT of letters and digits, --day of digits and '-'; false (said) otherwise. */
static bool pre_valid(const struct pre *p)
{
	for (const char *c = p->student; *c; c++)
		if (!((*c >= '0' && *c <= '9') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= 'a' && *c <= 'z'))) {
			fprintf(stderr, "policesim: pre-enter: STUDENT: letters and digits\n");
			return false;
		}
	for (const char *c = p->day; c && *c; c++)
		if (!((*c >= '0' && *c <= '9') || *c == '-')) {
			fprintf(stderr, "policesim: pre-enter: --day: YYYY-MM-DD\n");
			return false;
		}
	return true;
}

/* The options and STUDENT into p: -1 to go on, else the exit status (--help, a usage error). */
static int pre_options(int argc, char **argv, struct pre *p)
{
	static const struct option lo[] = {
		{"hoursd", required_argument, NULL, 'H'},
		{"cert", required_argument, NULL, 'c'},
		{"key", required_argument, NULL, 'k'},
		{"ca", required_argument, NULL, 'a'},
		{"day", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		const char **v = c == 'H'   ? &p->hoursd
				 : c == 'c' ? &p->cert
				 : c == 'k' ? &p->key
				 : c == 'a' ? &p->ca
				 : c == 'd' ? &p->day
					    : NULL;
		if (v) {
			*v = optarg;
			continue;
		}
		usage_pre(c == 'h' ? stdout : stderr);
		return c == 'h' ? 0 : 2;
	}
	p->student = optind + 1 == argc ? argv[optind] : NULL;
	if (!p->hoursd || !p->cert || !p->key || !p->ca || !p->student) {
		usage_pre(stderr);
		return 2;
	}
	return pre_valid(p) ? -1 : 2;
}

/* hoursd's answer said: 0 pre-entered, 1 refused, 3 not an answer. */
static int pre_answer(const char *student, const char *answer)
{
	int status = 0;
	const char *body = strstr(answer, "\r\n\r\n");
	if (sscanf(answer, "HTTP/1.%*d %d", &status) != 1 || body == NULL) {
		fprintf(stderr, "policesim: pre-enter: not an HTTP answer\n");
		return 3;
	}
	json_error_t e;
	json_t *o = json_loads(body + 4, 0, &e);
	const char *err = json_string_value(json_object_get(o, "error"));
	if (status != 200 || !json_is_object(o)) {
		fprintf(stderr, "policesim: pre-enter: hoursd answered %d: %s\n", status,
			err ? err : "(no JSON)");
		json_decref(o);
		return 3;
	}
	bool ready = json_is_true(json_object_get(o, "ready"));
	bool enrolled = json_is_true(json_object_get(o, "enrolled"));
	const char *d = json_string_value(json_object_get(o, "day"));
	if (ready)
		printf("student %s pre-entered: enrolled at %s, %lld slot(s) on %s\n", student,
		       json_string_value(json_object_get(o, "school_code")),
		       (long long)json_integer_value(json_object_get(o, "slots")), d ? d : "?");
	else
		printf("student %s not pre-entered: %s on %s\n", student,
		       enrolled ? "enrolled but not scheduled" : "not enrolled", d ? d : "?");
	json_decref(o);
	return ready ? 0 : 1;
}

int policesim_preenter(int argc, char **argv)
{
	struct pre p = {0};
	int rc = pre_options(argc, argv, &p);
	if (rc >= 0)
		return rc;
	/* hoursd closes on a client it refuses: a write error, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	char path[128], answer[ANSWER_MAX];
	snprintf(path, sizeof(path), "/v1/readiness?student=%.32s%s%.10s", p.student,
		 p.day ? "&day=" : "", p.day ? p.day : "");
	if (ask(p.hoursd, p.cert, p.key, p.ca, path, answer, sizeof(answer)) < 0)
		return 3;
	return pre_answer(p.student, answer);
}
