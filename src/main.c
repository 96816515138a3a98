/*
 * main.c - the daemon: arguments, configuration, signals and the loop.
 *
 *   hoursd -c FILE       run in the foreground, log to stderr
 *   hoursd -t -c FILE    check the configuration and exit
 *   hoursd --version, hoursd --config-keys
 */
#include "hoursd.h"
#include "bundle.h"
#include "conf.h"
#include "admin.h"
#include "readiness.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "push.h"
#include "teachlog.h"
#include "rules.h"
#include "server.h"
#include "auth.h"
#include "command.h"
#include "conn.h"
#include "listener.h"
#include "timing.h"
#include "tls_server.h"
#include "sig.h"
#include "ingest.h"
#include "db.h"
#include "judge.h"
#include "chain.h"
#include "syllabus.h"

#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define SIG_CACHE_ENTRIES 100000 /* signing keys kept parsed, one per terminal */

/* The messages conn.c hands up, each to its module. */
static const struct conn_handler handlers[] = {
	{JT808_T_AUTH, true, auth_handle},
	{JT808_T_TRANSPARENT_UP, false, timing_handle},
};

static struct server srv;
static struct admin *admin;
static struct readiness *readiness;
static struct event *ev_janitor, *ev_term, *ev_int, *ev_hup;
static const char *config_path;

static void usage(FILE *f)
{
	fprintf(f, "usage: hoursd -c FILE [-t]\n"
		   "       hoursd --version | --config-keys | --help\n"
		   "  -c, --config FILE   configuration (YAML)\n"
		   "  -t, --test          check the configuration and exit\n"
		   "      --version       print the version and exit\n"
		   "      --config-keys   list the configuration keys, (restart) after those\n"
		   "                      a reload cannot change, and exit\n"
		   "  -h, --help          print this help and exit\n");
}

static void log_start(void)
{
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	/* One descriptor a terminal, and some for the database, listeners and logs. */
	unsigned long long fds = rl.rlim_cur, room = fds > 64 ? fds - 64 : 0;
	log_info("hoursd %s starting: libevent %s (%s), %s, open-file limit %llu: room for about"
		 " %llu terminals",
		 HOURSD_VERSION, event_get_version(), event_base_get_method(srv.base),
		 OpenSSL_version(OPENSSL_VERSION), fds, room);
	if (room < 1024)
		log_warn("the open-file limit leaves room for only %llu terminals; raise it"
			 " (LimitNOFILE= in the unit)",
			 room);
}

static void stop_now(void)
{
	event_base_loopbreak(srv.base);
}

/* Once a second: reassembly expiry, commands to send. */
static void on_janitor(evutil_socket_t fd, short what, void *arg)
{
	conn_janitor(time(NULL));
	command_poll(&srv);
}

/* ---- the drain (SIGTERM) ---- */

#define DRAIN_CHECK_MS 20 /* how soon a drained process notices it */

static struct event *ev_drain_check, *ev_drain_deadline;
static struct timespec drain_started; /* CLOCK_MONOTONIC */

/* What the drain may still wait for, and what an exit leaves to others. */
struct drain_left {
	unsigned frames;  /* read from open connections, not answered yet */
	unsigned unsent;  /* connections whose answers are not all written out */
	unsigned rows;	  /* rows waiting for their commit */
	bool ingest;	  /* frames (of any connection) waiting for a commit */
	bool push;	  /* push attempts in flight while the database is up */
	unsigned pushing; /* push attempts in flight */
	bool judge;	  /* a judge batch in flight: its queue keeps it */
};

static void drain_look(struct drain_left *l)
{
	struct ingest_stats is;
	ingest_get_stats(srv.ingest, &is);
	conn_unanswered(&l->frames, &l->unsent);
	l->rows = is.queued_rows;
	l->ingest = !ingest_idle(srv.ingest);
	l->pushing = srv.st.push_in_flight;
	/* An attempt cannot be recorded without the database: its lease brings it back. */
	l->push = !push_idle(srv.push) && db_connected(srv.db);
	l->judge = !judge_idle(srv.judge);
}

/* Nothing a terminal or the platform waits for: exiting loses nothing. */
static bool drained(const struct drain_left *l)
{
	return l->frames == 0 && l->unsent == 0 && !l->ingest && !l->push;
}

static double drain_elapsed_s(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - drain_started.tv_sec) +
	       (double)(now.tv_nsec - drain_started.tv_nsec) / 1e9;
}

/* What the drain waits for, in words: "3 frames unanswered, 40 rows to commit". */
static const char *drain_waits_for(const struct drain_left *l, char *buf, size_t cap)
{
	char frames[64] = "", unsent[64] = "", push[64] = "";
	if (l->frames || l->ingest)
		snprintf(frames, sizeof(frames), "%u frames unanswered, %u rows to commit",
			 l->frames, l->rows);
	if (l->unsent)
		snprintf(unsent, sizeof(unsent), "answers not written out on %u connections",
			 l->unsent);
	if (l->push)
		snprintf(push, sizeof(push), "%u push attempts in flight", l->pushing);
	snprintf(buf, cap, "%s%s%s%s%s", frames, frames[0] && (unsent[0] || push[0]) ? ", " : "",
		 unsent, unsent[0] && push[0] ? ", " : "", push);
	return buf;
}

/* What an exit now leaves behind, for the last lines of the drain. */
static void drain_leaves(const struct drain_left *l)
{
	if (l->judge)
		log_info("drain: a judge batch was still running; what it had not committed stays "
			 "in judge_queue for the next start");
	if (l->pushing)
		log_info("drain: %u push attempts left in flight; their packets are taken again "
			 "when their lease ends",
			 l->pushing);
}

/* Stop when nothing is left that the drain waits for; true when stopping. */
static bool drain_done(const struct drain_left *l)
{
	if (!drained(l))
		return false;
	log_info("drained: every committed frame answered (%.3f s after the signal)",
		 drain_elapsed_s());
	drain_leaves(l);
	stop_now();
	return true;
}

static void on_drain_check(evutil_socket_t fd, short what, void *arg)
{
	struct drain_left l;
	drain_look(&l);
	drain_done(&l);
}

static void arm_deadline(double left_s)
{
	struct timeval tv = {(time_t)left_s,
			     (suseconds_t)((left_s - (double)(time_t)left_s) * 1e6)};
	event_add(ev_drain_deadline, &tv);
}

/* process.drain_timeout_s after the signal, and never before it. */
static void on_drain_deadline(evutil_socket_t fd, short what, void *arg)
{
	double early = (double)srv.conf->drain_timeout_s - drain_elapsed_s();
	if (early > 0) { /* libevent's coarse clock fired it a little early */
		arm_deadline(early + 0.001);
		return;
	}
	struct drain_left l;
	drain_look(&l);
	if (drain_done(&l))
		return;
	char words[256];
	log_warn("drain deadline passed (%u s): stopping with %s%s%s", srv.conf->drain_timeout_s,
		 drain_waits_for(&l, words, sizeof(words)),
		 db_connected(srv.db) ? "" : " (the database is not connected)",
		 l.frames || l.unsent ? "; their terminals send those frames again" : "");
	drain_leaves(&l);
	stop_now();
}

static void on_sigterm(evutil_socket_t sig, short what, void *arg)
{
	if (srv.draining) {
		log_warn("second signal: stopping now");
		stop_now();
		return;
	}
	srv.draining = true;
	clock_gettime(CLOCK_MONOTONIC, &drain_started);
	notify("STOPPING=1");
	listeners_stop(&srv);
	conn_pause_all(&srv);
	push_drain(srv.push);
	judge_stop(srv.judge);
	chain_stop(srv.chain);
	log_info("signal %d: stop accepting, commit and answer what is in flight", (int)sig);
	struct drain_left l;
	drain_look(&l);
	if (drain_done(&l))
		return;
	char words[256];
	log_info("drain: waiting at most %u s for %s", srv.conf->drain_timeout_s,
		 drain_waits_for(&l, words, sizeof(words)));
	struct timeval check = {0, DRAIN_CHECK_MS * 1000};
	event_add(ev_drain_check, &check);
	arm_deadline((double)srv.conf->drain_timeout_s);
}

/* The options of a database connection, from the configuration. */
#define DB_OPTS(nm, c)                                                                             \
	.name = (nm), .conninfo = (c)->db_conninfo, .reconnect_min_ms = (c)->db_reconnect_min_ms,  \
	.reconnect_max_ms = (c)->db_reconnect_max_ms

_Static_assert(ARRAY_SIZE(srv.ingest_db) == INGEST_MAX_CONNECTIONS,
	       "room for database.connections");

/* The name of ingest's connection i in log lines: ingest, ingest2, ... */
static const char *ingest_db_name(unsigned i, char name[16])
{
	snprintf(name, 16, i ? "ingest%u" : "ingest", i + 1);
	return name;
}

/* Ingest committed records for the judge. */
static void on_ingested(void *arg)
{
	judge_kick(srv.judge);
}

static void on_sites(void *arg, struct geo_set *sites)
{
	if (sites == NULL)
		return; /* the old set stays */
	geo_set_free(srv.sites);
	srv.sites = sites;
}

/*
 * The CRLs of tls.crl: the signing certificates they list verify
 * nothing, and connections that use a revoked certificate are closed.
 * Takes crls.
 */
static void use_crls(STACK_OF(X509_CRL) * crls)
{
	unsigned n = sig_cache_set_crls(srv.sigs, crls);
	if (srv.conf->tls_crl)
		log_info("tls.crl %s: %d CRL(s), %u cached signing certificate(s) revoked",
			 srv.conf->tls_crl, sk_X509_CRL_num(crls), n);
	conn_close_revoked(&srv, crls);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
}

static void set_log_level(const struct hconf *c)
{
	enum log_level lvl;
	if (log_level_parse(c->log_level, &lvl))
		log_set_level(lvl);
}

/* A reloaded configuration's database options: a new conninfo applies at the next reconnect. */
static void reconfigure_dbs(const struct hconf *c)
{
	for (unsigned i = 0; i < srv.ningest_db; i++) {
		char name[16];
		db_reconfigure(srv.ingest_db[i],
			       &(struct db_opts){DB_OPTS(ingest_db_name(i, name), c)});
	}
	db_reconfigure(srv.judge_db, &(struct db_opts){DB_OPTS("judge", c)});
	db_reconfigure(srv.chain_db, &(struct db_opts){DB_OPTS("chain", c)});
}

/*
 * SIGHUP: load and check the whole new bundle (bundle.c: the file, its
 * TLS files and CRLs, the syllabus, the push, the checkpoint key); swap
 * only when all of it is good.  Connections stay up; new limits apply to
 * them at once, new TLS files to new connections, the new push to the
 * next packets taken.
 */
static void reload(void)
{
	char err[512];
	struct bundle next;
	if (!bundle_load(config_path, &next, err, sizeof(err))) {
		log_error("reload refused, the running configuration stays: %s", err);
		return;
	}
	chain_reconfigure(srv.chain, next.conf, &next.key);
	push_reconfigure(srv.push, next.push);
	conf_keep_restart_keys(next.conf, srv.conf);
	set_log_level(next.conf);
	SSL_CTX_free(srv.tls); /* connections hold their own reference */
	srv.tls = next.tls;
	ingest_reconfigure(srv.ingest, next.conf);
	judge_reconfigure(srv.judge, next.conf);
	reconfigure_dbs(next.conf);
	conf_free(srv.conf);
	srv.conf = next.conf;
	use_crls(next.crls);
	syllabus_free(srv.syl);
	srv.syl = next.syl;
	rules_publish_syllabus(srv.judge_db, srv.syl);
	rules_load_sites(srv.db, on_sites, NULL);
	log_info("reloaded %s (%u connections kept)", config_path, conn_count());
}

static void on_sighup(evutil_socket_t sig, short what, void *arg)
{
	notify("RELOADING=1");
	reload();
	notify("READY=1");
}

/*
 * hoursd -t: why the file is refused, as one "file:line: message" line;
 * under systemd's ExecReload, with the priority "error" for the journal.
 */
static void refused(const char *err)
{
	fprintf(stderr, "%s%s\n", log_journal_detect() ? "<3>" : "", err);
}

/*
 * hoursd -t: each file that a site supplies (its certificates, hoursd's
 * checkpoint key) and that cannot be read, a line naming it and where the
 * docs say how to make it, all of them at once rather than the first; the
 * number of lines (0: all there, or the file itself is refused).
 */
static int missing_site_files(const char *path)
{
	static const char how[] = "a site's own (docs/operations.md, \"Certificates\"; "
				  "for a trial: hoursd-setup --trial-pki, README.Debian)";
	char err[512], where[512];
	struct hconf *c = conf_load(path, err, sizeof(err));
	if (c == NULL)
		return 0;
	const struct {
		const char *key, *file, *how;
	} files[] = {
		{"tls.cert", c->tls_cert, how},
		{"tls.key", c->tls_key, how},
		{"tls.ca", c->tls_ca, how},
		{"audit.checkpoint_key", c->audit_checkpoint_key,
		 "hoursd's own key (docs/audit.md, \"Tamper evidence\"; hoursd-setup makes it)"},
	};
	int n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		if (files[i].file == NULL || access(files[i].file, R_OK) == 0)
			continue;
		char msg[1024];
		snprintf(msg, sizeof(msg), "%s%s %s: %s: %s",
			 conf_key_where(c, files[i].key, where, sizeof(where)), files[i].key,
			 files[i].file, strerror(errno), files[i].how);
		refused(msg);
		n++;
	}
	conf_free(c);
	return n;
}

/* hoursd -t: the bundle loaded and checked as the start and a reload do. */
static int check(const char *path)
{
	char err[512];
	struct bundle b;
	if (missing_site_files(path) > 0)
		return 1;
	if (!bundle_load(path, &b, err, sizeof(err))) {
		refused(err);
		return 1;
	}
	bundle_free(&b);
	printf("%s: configuration ok\n", path);
	return 0;
}

/* ---- start and stop ---- */

/* The database connections: ingest's, the judge's, the audit chain's. */
static void start_databases(const struct hconf *cf)
{
	srv.ningest_db = cf->db_connections;
	for (unsigned i = 0; i < srv.ningest_db; i++) {
		char name[16];
		srv.ingest_db[i] =
			db_new(srv.base, &(struct db_opts){DB_OPTS(ingest_db_name(i, name), cf)});
		if (srv.ingest_db[i] == NULL)
			die("cannot create the database connections");
	}
	srv.db = srv.ingest_db[0];
	srv.judge_db = db_new(srv.base, &(struct db_opts){DB_OPTS("judge", cf)});
	srv.chain_db = db_new(srv.base, &(struct db_opts){DB_OPTS("chain", cf)});
	if (srv.db == NULL || srv.judge_db == NULL || srv.chain_db == NULL)
		die("cannot create the database connections");
}

/* The stages on them, taking the bundle's checkpoint key and push configuration. */
static void start_stages(const struct hconf *cf, struct chain_key *key, struct push_config *pc)
{
	/* The judge reads the syllabus: published on its connection, before its first batch. */
	rules_publish_syllabus(srv.judge_db, srv.syl);
	srv.judge = judge_new(srv.base, cf, srv.judge_db);
	srv.ingest = ingest_new(srv.base, cf, srv.ingest_db, srv.ningest_db, conn_resume_all,
				on_ingested, &srv);
	if (srv.judge == NULL || srv.ingest == NULL)
		die("cannot create the ingest and judge stages");
	srv.chain = chain_new(srv.base, cf, srv.chain_db, key);
	if (srv.chain == NULL)
		die("cannot create the audit chain stage");
	/* Queued before any terminal's look-up, so loaded before its first record. */
	rules_load_sites(srv.db, on_sites, NULL);
	auth_warn_unbound(srv.db); /* before the terminals: a line for each bound to nothing */
	srv.push = push_new(srv.base, srv.db, &srv.st, pc);
	if (srv.push == NULL)
		die("cannot create the pusher");
}

/* The admin and readiness listeners, then the terminals'. */
static void start_listening(const struct hconf *cf)
{
	char err[512];
	if (cf->admin_listen) {
		admin = admin_start(&srv, cf->admin_listen, err, sizeof(err));
		if (admin == NULL)
			die("%s", err);
		listeners_guard(&srv, admin_listener(admin), false);
	}
	if (cf->listen_readiness) {
		readiness = readiness_start(&srv, err, sizeof(err));
		if (readiness == NULL)
			die("%s", err);
		listeners_guard(&srv, readiness_listener(readiness), true);
	}
	conn_set_handlers(handlers, ARRAY_SIZE(handlers), command_authenticated);
	if (!listeners_start(&srv, err, sizeof(err)))
		die("%s", err);
}

/* Signals, the janitor and the drain's timers. */
static void start_events(void)
{
	ev_term = evsignal_new(srv.base, SIGTERM, on_sigterm, NULL);
	ev_int = evsignal_new(srv.base, SIGINT, on_sigterm, NULL);
	ev_hup = evsignal_new(srv.base, SIGHUP, on_sighup, NULL);
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);
	event_add(ev_hup, NULL);
	ev_janitor = event_new(srv.base, -1, EV_PERSIST, on_janitor, NULL);
	ev_drain_check = event_new(srv.base, -1, EV_PERSIST, on_drain_check, NULL);
	ev_drain_deadline = evtimer_new(srv.base, on_drain_deadline, NULL);
	if (ev_janitor == NULL || ev_drain_check == NULL || ev_drain_deadline == NULL)
		die("cannot create the timers");
	struct timeval sec = {1, 0};
	event_add(ev_janitor, &sec);
}

/* After the loop: everything closed and freed, the connections first; the last line. */
static void stop(void)
{
	if (!srv.draining)
		notify("STOPPING=1");
	listeners_stop(&srv);
	conn_close_all("shutting down");
	push_stop(srv.push); /* no statement queued after this */
	/* The connections first: their waiting statements' callbacks still find the stages. */
	for (unsigned i = 0; i < srv.ningest_db; i++)
		db_free(srv.ingest_db[i]);
	db_free(srv.judge_db);
	db_free(srv.chain_db);
	readiness_free(readiness); /* its questions were answered (503) by db_free */
	ingest_free(srv.ingest);
	judge_free(srv.judge);
	chain_free(srv.chain);
	push_free(srv.push);
	teachlog_shutdown(); /* the teaching log's font caches (push.c's national profile) */
	sig_cache_free(srv.sigs);
	syllabus_free(srv.syl);
	geo_set_free(srv.sites);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	admin_free(admin);
	event_free(ev_janitor);
	event_free(ev_drain_check);
	event_free(ev_drain_deadline);
	SSL_CTX_free(srv.tls);
	event_base_free(srv.base);
	log_info(
		"stopped: %llu connections, %llu frames, %llu positions, %llu acks ok, %llu failed",
		(unsigned long long)srv.st.accepted, (unsigned long long)srv.st.frames,
		(unsigned long long)srv.st.positions, (unsigned long long)srv.st.acks_ok,
		(unsigned long long)srv.st.acks_failed);
	conf_free(srv.conf);
}

/* Start on the bundle at path (any failure ends the process), run the loop, stop. */
static int run(const char *path)
{
	char err[512];
	struct bundle b;
	config_path = path;
	if (!bundle_load(path, &b, err, sizeof(err)))
		die("%s", err); /* a line of priority "error" in the journal */
	srv.conf = b.conf;
	srv.tls = b.tls;
	srv.syl = b.syl;
	set_log_level(srv.conf);
	if (geteuid() == 0 && !srv.conf->allow_root)
		die("refusing to run as root (set process.allow_root: true to allow it)");
	signal(SIGPIPE, SIG_IGN);
	srv.base = event_base_new();
	if (srv.base == NULL)
		die("cannot create the event loop");
	log_start();
	metrics_init();
	srv.sigs = sig_cache_new(SIG_CACHE_ENTRIES);
	if (srv.sigs == NULL)
		die("cannot create the signature key cache");
	use_crls(b.crls);
	start_databases(srv.conf);
	start_stages(srv.conf, &b.key, b.push);
	start_listening(srv.conf);
	start_events();
	log_info("ready");
	notify("READY=1");

	event_base_dispatch(srv.base);

	stop();
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'}, {"test", no_argument, NULL, 't'},
		{"version", no_argument, NULL, 'V'},	  {"config-keys", no_argument, NULL, 'K'},
		{"help", no_argument, NULL, 'h'},	  {NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	bool test = false;
	int o;
	while ((o = getopt_long(argc, argv, "c:th", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			path = optarg;
			break;
		case 't':
			test = true;
			break;
		case 'V':
			printf("hoursd %s\n", HOURSD_VERSION);
			return 0;
		case 'K':
			for (size_t i = 0; i < conf_key_count(); i++)
				printf("%s%s\n", conf_key_name(i),
				       conf_key_reloadable(i) ? "" : " (restart)");
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (path == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (test)
		return check(path);
	return run(path);
}
