/*
 * policesim.c - a simulated police platform: the receiving side of
 * docs/push-contract.md, for the tests of hoursd's pusher.
 *
 * One evhttp over OpenSSL (client certificates required and verified
 * against --client-ca).  A packet is POSTed to any path not starting with
 * "/_"; it is checked in the contract's order (signature over the exact
 * body bytes, JSON, canonical form, fields), deduplicated by packet id and
 * appended to --store as one JSON line before "accepted" is answered.  The
 * store is read back at start, so a restarted simulator still knows what
 * it accepted.
 *
 * Faults come from --fault SPEC or POST /_faults (loopback only).  "Before"
 * faults (5xx, busy, timeout, reset, reject) are taken by the next packet
 * requests, whatever they carry, and nothing is processed; "after" faults
 * (dup, lost, garbage, huge) are taken by the next packets that are
 * accepted: the packet is stored and only the answer is replaced.  slow
 * delays every answer.  An answer that waits (slow, timeout) is a
 * pending entry with a timer; all of them are answered or released
 * before the evhttp is freed, so that nothing leaks under ASan.
 */
#include "hoursd.h"
#include "policesim.h"
#include "conf.h"
#include "log.h"
#include "tls_server.h"
#include "sig.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

struct opts {
	const char *listen, *cert, *key, *client_ca, *store, *fault, *field_map, *national_dir;
	const char *verify[MAX_VERIFY_CERTS];
	unsigned nverify;
	bool verbose;
};

static struct bufferevent *on_bev(struct event_base *base, void *arg)
{
	struct psim *ps = arg;
	SSL *ssl = SSL_new(ps->tls);
	if (!ssl)
		return NULL;
	struct bufferevent *bev = bufferevent_openssl_socket_new(
		base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev)
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* The signing algorithm of the certificate's key: RSA-SHA256, SM2-SM3, or NULL. */
static const char *signer_alg(X509 *x)
{
	EVP_PKEY *pk = X509_get0_pubkey(x);
	char group[32] = "";
	if (pk && EVP_PKEY_is_a(pk, "EC"))
		(void)EVP_PKEY_get_group_name(pk, group, sizeof(group), NULL);
	if (pk && EVP_PKEY_is_a(pk, "RSA"))
		return "RSA-SHA256";
	if (pk && (EVP_PKEY_is_a(pk, "SM2") || strcmp(group, "SM2") == 0))
		return "SM2-SM3";
	return NULL;
}

/* The certificate cached under its SHA-256 in s; false (logged) otherwise. */
static bool signer_cache(struct psim *ps, X509 *x, struct signer *s, const char *path)
{
	char *pem = NULL, err[256];
	unsigned mdlen = 0;
	BIO *mem = BIO_new(BIO_s_mem());
	if (!mem || X509_digest(x, EVP_sha256(), s->sha256, &mdlen) != 1 || mdlen != 32 ||
	    PEM_write_bio_X509(mem, x) != 1 || BIO_write(mem, "", 1) != 1) {
		BIO_free(mem);
		log_error("--verify-cert %s: cannot encode", path);
		return false;
	}
	size_t len = (size_t)BIO_get_mem_data(mem, &pem);
	bool ok = len > 0 && sig_cache_put(ps->sigs, s->sha256, pem, err, sizeof(err));
	BIO_free(mem);
	if (!ok)
		log_error("--verify-cert %s: %s", path, err);
	return ok;
}

/* A signing certificate to verify with: cached under its digest, its algorithm named. */
static bool add_signer(struct psim *ps, const char *path)
{
	FILE *fp = fopen(path, "r");
	X509 *x = fp ? PEM_read_X509(fp, NULL, NULL, NULL) : NULL;
	struct signer *s = &ps->signer[ps->nsigners];
	bool ok = false;
	if (fp)
		fclose(fp);
	if (!x)
		log_error("--verify-cert %s: cannot read a PEM certificate", path);
	else if ((s->alg = signer_alg(x)) == NULL)
		log_error("--verify-cert %s: an RSA or SM2 key is required", path);
	else
		ok = signer_cache(ps, x, s, path);
	if (ok) {
		hex_encode(s->hex, s->sha256, 32);
		log_info("verifying %s signatures with %s (key id %s)", s->alg, path, s->hex);
		ps->nsigners++;
	}
	if (ok && ps->nat && !natsim_add_cert(ps->nat, x)) {
		log_error("--verify-cert %s: the national interface needs an RSA key and a serial",
			  path);
		ok = false;
	}
	X509_free(x);
	return ok;
}

/* The packets of an earlier run: their ids are duplicates from the start. */
static bool store_load(struct psim *ps, const char *path)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0, skipped = 0;

	if (!fp) {
		if (errno == ENOENT)
			return true;
		log_error("--store %s: %s", path, strerror(errno));
		return false;
	}
	while (getline(&line, &cap, fp) > 0) {
		json_t *j = json_loads(line, 0, NULL);
		const char *id = json_string_value(json_object_get(j, "packet_id"));
		json_t *body = json_object_get(j, "body");
		lineno++;
		if (id && json_is_string(body))
			json_object_set(ps->seen, id, body);
		else
			skipped++;
		json_decref(j);
	}
	free(line);
	fclose(fp);
	log_info("store %s: %zu packets from %u lines%s", path, json_object_size(ps->seen), lineno,
		 skipped ? " (unreadable lines skipped)" : "");
	return true;
}

/*
 * One entry of a field map, as docs/push-contract.md section 6 says: a
 * contract name to a new name of 1-64 printable ASCII bytes (no quote or
 * backslash), given to no other member.
 */
static bool map_entry_ok(struct psim *ps, const char *k, json_t *v)
{
	const char *n = json_string_value(v);
	size_t len = n ? strlen(n) : 0;

	if (!packet_field_known(k) || len == 0 || len > 64 || json_object_get(ps->contract, n))
		return false;
	for (size_t i = 0; i < len; i++)
		if (n[i] < 0x21 || n[i] > 0x7e || n[i] == '"' || n[i] == '\\')
			return false;
	/* Another member's name, unless that member is renamed too. */
	return !packet_field_known(n) || json_object_get(ps->rename, n);
}

/* The field map: an object of contract name -> province name, both ways. */
static bool field_map_load(struct psim *ps, const char *path)
{
	json_error_t e;
	const char *k;
	json_t *v;

	ps->rename = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
	if (!json_is_object(ps->rename)) {
		log_error("--field-map %s:%d: %s", path, e.line, e.text);
		return false;
	}
	ps->contract = json_object();
	json_object_foreach(ps->rename, k, v)
	{
		if (!map_entry_ok(ps, k, v)) {
			log_error("--field-map %s: '%s': a contract field mapped to a new, "
				  "unique name expected",
				  path, k);
			return false;
		}
		json_object_set_new(ps->contract, json_string_value(v), json_string(k));
	}
	return true;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct psim *ps = arg;
	log_info("signal %d: exiting", (int)sig);
	event_base_loopbreak(ps->base);
}

/* TLS, the faults, the national interface, the signers, the field map and the store. */
static bool psim_load(struct psim *ps, const struct opts *o)
{
	struct hconf tc = {.tls_cert = (char *)o->cert,
			   .tls_key = (char *)o->key,
			   .tls_ca = (char *)o->client_ca};
	char err[512];
	ps->base = event_base_new();
	ps->sigs = sig_cache_new(MAX_VERIFY_CERTS);
	ps->seen = json_object();
	bool ok = ps->base && ps->sigs && ps->seen;
	ps->tls = ok ? tls_server_ctx(&tc, err, sizeof(err)) : NULL;
	if (ok && !ps->tls)
		log_error("TLS: %s", err);
	ok = ps->tls && faults_parse(&ps->f, o->fault ? o->fault : "",
				     o->fault ? strlen(o->fault) : 0, err, sizeof(err));
	if (ps->tls && !ok)
		log_error("--fault: %s", err);
	if (ok && o->national_dir && !(ps->nat = natsim_new(o->national_dir)))
		ok = false;
	for (unsigned i = 0; ok && i < o->nverify; i++)
		ok = add_signer(ps, o->verify[i]);
	ok = ok && (!o->field_map || field_map_load(ps, o->field_map));
	ok = ok && store_load(ps, o->store);
	if (ok && !(ps->store = fopen(o->store, "a"))) {
		log_error("--store %s: %s", o->store, strerror(errno));
		ok = false;
	}
	return ok;
}

/* The evhttp bound to host:port, its callbacks and limits; NULL (logged) when it cannot listen. */
static struct evhttp_bound_socket *psim_listen(struct psim *ps, const char *host,
					       unsigned long port, const char *listen)
{
	ps->http = evhttp_new(ps->base);
	struct evhttp_bound_socket *sock =
		ps->http ? evhttp_bind_socket_with_handle(ps->http, host, (ev_uint16_t)port) : NULL;
	if (ps->http && !sock)
		log_error("cannot listen on %s", listen);
	if (!sock)
		return NULL;
	evhttp_set_bevcb(ps->http, on_bev, ps);
	evhttp_set_gencb(ps->http, requests_on_request, ps);
	evhttp_set_timeout(ps->http, CONN_TIMEOUT_S);
	evhttp_set_max_body_size(ps->http, ps->nat ? MAX_NATIONAL_BODY : MAX_BODY);
	evhttp_set_max_headers_size(ps->http, MAX_HEADERS);
	evhttp_set_allowed_methods(ps->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
						     EVHTTP_REQ_DELETE);
	return sock;
}

static bool psim_signals(struct psim *ps)
{
	ps->sigint_ev = evsignal_new(ps->base, SIGINT, on_signal, ps);
	ps->sigterm_ev = evsignal_new(ps->base, SIGTERM, on_signal, ps);
	if (!ps->sigint_ev || !ps->sigterm_ev)
		return false;
	evsignal_add(ps->sigint_ev, NULL);
	evsignal_add(ps->sigterm_ev, NULL);
	return true;
}

/* The start's log line: the address and port bound, the faults. */
static void log_listening(struct psim *ps, struct evhttp_bound_socket *sock)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char addr[64] = "?", spec[512];
	uint16_t bound = 0;
	if (getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &sl) == 0) {
		void *a = ss.ss_family == AF_INET6
				  ? (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
				  : (void *)&((struct sockaddr_in *)&ss)->sin_addr;
		evutil_inet_ntop(ss.ss_family, a, addr, sizeof(addr));
		bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						       : ((struct sockaddr_in *)&ss)->sin_port);
	}
	faults_format(&ps->f, spec, sizeof(spec));
	log_info("policesim listening on %s port %u (client certificates required), faults '%s'",
		 addr, (unsigned)bound, spec);
}

static bool psim_start(struct psim *ps, const struct opts *o)
{
	char *host = strdup(o->listen);
	char *colon = host ? strrchr(host, ':') : NULL;
	unsigned long port;
	if (!colon || !faults_uint(colon + 1, strlen(colon + 1), 65535, &port)) {
		log_error("--listen %s: HOST:PORT expected", o->listen);
		free(host);
		return false;
	}
	*colon = '\0';
	struct evhttp_bound_socket *sock =
		psim_load(ps, o) ? psim_listen(ps, host, port, o->listen) : NULL;
	free(host);
	if (!sock || !psim_signals(ps))
		return false;
	log_listening(ps, sock);
	return true;
}

/* Release every waiting request (answered, or freed when its connection is gone), then the rest. */
static void psim_free(struct psim *ps)
{
	while (ps->pending) {
		struct pending *p = ps->pending;
		if (p->a.act == ACT_HOLD)
			p->a.act = ACT_RESET;
		answer_now(p->req, &p->a);
		answer_unlink(ps, p);
	}
	if (ps->http)
		evhttp_free(ps->http);
	if (ps->sigint_ev)
		event_free(ps->sigint_ev);
	if (ps->sigterm_ev)
		event_free(ps->sigterm_ev);
	SSL_CTX_free(ps->tls);
	sig_cache_free(ps->sigs);
	if (ps->store)
		fclose(ps->store);
	json_decref(ps->seen);
	json_decref(ps->rename);
	json_decref(ps->contract);
	natsim_free(ps->nat);
	if (ps->base)
		event_base_free(ps->base);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: policesim --cert FILE --key FILE --client-ca FILE --verify-cert FILE\n"
		"                 --store FILE [options]\n"
		"A simulated police platform: the receiving side of docs/push-contract.md.\n"
		"  --listen HOST:PORT   where to listen (default 127.0.0.1:8443; port 0: any)\n"
		"  --cert, --key FILE   the server's certificate and key (PEM)\n"
		"  --client-ca FILE     CA the clients' certificates must chain to\n"
		"  --verify-cert FILE   the pusher's signing certificate (RSA or SM2); repeatable\n"
		"  --store FILE         one JSON line per accepted packet; read back at start\n"
		"  --field-map FILE     the pusher's push.field_map, to read renamed fields\n"
		"  --fault SPEC         e.g. 5xx:3,busy:1,timeout:2,reset:1,reject:1,dup:1,\n"
		"                       lost:1,garbage:1,huge:1,slow:2000 (see the contract);\n"
		"                       e1:N, e201:N, e202:N: errorcodes of the national profile\n"
		"  --national-dir DIR   also the national interface: .../imageup/TYPE,\n"
		"                       .../stagetrainningtime, .../{stunum}-stagetrainningtime\n"
		"                       review-{subject}, and POST /booking; PDFs and accepted\n"
		"                       calls are kept in DIR (national.jsonl, read back at start)\n"
		"  -v, --verbose        debug log\n"
		"Admin (loopback only): GET /_stats, GET /_faults, POST /_faults with a SPEC.\n"
		"       policesim pre-enter --hoursd HOST:PORT --cert FILE --key FILE --ca FILE\n"
		"                 [--day DATE] STUDENT\n"
		"Pre-enter a student as the platform does: only once hoursd says the student\n"
		"is enrolled and scheduled that day (docs/push-contract.md section 10); exit 0\n"
		"pre-entered, 1 refused, 2 usage, 3 hoursd could not be asked.\n");
}

/* Where the value of option c goes; NULL for an option without one. */
static const char **opt_slot(struct opts *o, int c)
{
	switch (c) {
	case 'l':
		return &o->listen;
	case 'c':
		return &o->cert;
	case 'k':
		return &o->key;
	case 'a':
		return &o->client_ca;
	case 'o':
		return &o->store;
	case 'f':
		return &o->fault;
	case 'm':
		return &o->field_map;
	case 'N':
		return &o->national_dir;
	default:
		return NULL;
	}
}

/* One option: 0 taken, else -1 (--help) or EXIT_USAGE. */
static int take_opt(struct opts *o, int c)
{
	const char **slot = opt_slot(o, c);
	if (slot) {
		*slot = optarg;
	} else if (c == 'v') {
		o->verbose = true;
	} else if (c == 's' && o->nverify < MAX_VERIFY_CERTS) {
		o->verify[o->nverify++] = optarg;
	} else if (c == 's') {
		log_error("at most %d --verify-cert", MAX_VERIFY_CERTS);
		return EXIT_USAGE;
	} else {
		usage(c == 'h' ? stdout : stderr);
		return c == 'h' ? -1 : EXIT_USAGE;
	}
	return 0;
}

static int parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{"listen", required_argument, NULL, 'l'},
		{"cert", required_argument, NULL, 'c'},
		{"key", required_argument, NULL, 'k'},
		{"client-ca", required_argument, NULL, 'a'},
		{"verify-cert", required_argument, NULL, 's'},
		{"store", required_argument, NULL, 'o'},
		{"fault", required_argument, NULL, 'f'},
		{"field-map", required_argument, NULL, 'm'},
		{"national-dir", required_argument, NULL, 'N'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c, rc = 0;

	*o = (struct opts){.listen = "127.0.0.1:8443"};
	while (rc == 0 && (c = getopt_long(argc, argv, "vh", lo, NULL)) != -1)
		rc = take_opt(o, c);
	if (rc != 0)
		return rc;
	if (optind < argc || !o->cert || !o->key || !o->client_ca || !o->nverify || !o->store) {
		log_error("--cert, --key, --client-ca, --verify-cert and --store are required");
		usage(stderr);
		return EXIT_USAGE;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct psim ps;
	struct opts o;
	log_set_prefix("policesim");
	/* The pre-entry of a student: a question to hoursd, not the platform's service. */
	if (argc > 1 && strcmp(argv[1], "pre-enter") == 0)
		return policesim_preenter(argc - 1, argv + 1);
	int rc = parse_opts(&o, argc, argv);

	if (rc != 0)
		return rc < 0 ? 0 : rc;
	if (o.verbose)
		log_set_level(HLOG_DEBUG);
	signal(SIGPIPE, SIG_IGN);
	rc = 1;
	if (psim_start(&ps, &o)) {
		event_base_dispatch(ps.base);
		rc = 0;
	}
	psim_free(&ps);
	libevent_global_shutdown();
	return rc;
}
