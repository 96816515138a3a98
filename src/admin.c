/*
 * admin.c - the admin HTTP listener, see admin.h.
 *
 * One evhttp on the daemon's loop with a single generic callback that
 * routes by path: unknown paths get 404, known paths with a method other
 * than GET or HEAD get 405.  Every page is built from scratch per
 * request; the numbers are a few hundred lines at most, and a scrape
 * every few seconds costs less than one terminal frame.
 */
#include "hoursd.h"
#include "admin.h"
#include "reasons.h"
#include "log.h"
#include "metrics.h"
#include "server.h"
#include "conn.h"
#include "conf.h"

#include <dirent.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <math.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ADMIN_TIMEOUT_S 10
#define ADMIN_MAX_HEADERS 8192
#define ADMIN_MAX_BODY 1024
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct admin_conn;

struct admin {
	struct server *srv;
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
	double start_time;
	struct admin_conn *conns; /* open connections, for their deadlines */
	struct event *tick;	  /* once a second: the deadlines */
};

/* ---- the text format ---- */

/*
 * A float as Prometheus and Go print it: the shortest form that reads
 * back to the same double ("0.0005", "2.5", "1"), +Inf, -Inf, NaN.
 */
static void fmt_double(char *buf, size_t cap, double v)
{
	if (isnan(v)) {
		snprintf(buf, cap, "NaN");
	} else if (isinf(v)) {
		snprintf(buf, cap, "%s", v > 0 ? "+Inf" : "-Inf");
	} else {
		snprintf(buf, cap, "%.15g", v);
		if (strtod(buf, NULL) != v)
			snprintf(buf, cap, "%.17g", v);
	}
}

/* A label value between its quotes: backslash, double quote and newline escaped. */
static void put_label_value(struct evbuffer *o, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			evbuffer_add(o, "\\\\", 2);
		else if (*v == '"')
			evbuffer_add(o, "\\\"", 2);
		else if (*v == '\n')
			evbuffer_add(o, "\\n", 2);
		else
			evbuffer_add(o, v, 1);
	}
}

/* The HELP and TYPE lines of a family; help texts are constants without '\' or newline. */
static void family(struct evbuffer *o, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample_u64(struct evbuffer *o, const char *name, uint64_t v)
{
	evbuffer_add_printf(o, "%s %llu\n", name, (unsigned long long)v);
}

/* name{label="value"} v */
static void sample_label(struct evbuffer *o, const char *name, const char *label, const char *value,
			 uint64_t v)
{
	evbuffer_add_printf(o, "%s{%s=\"", name, label);
	put_label_value(o, value);
	evbuffer_add_printf(o, "\"} %llu\n", (unsigned long long)v);
}

static void counter(struct evbuffer *o, const char *name, const char *help, uint64_t v)
{
	family(o, name, "counter", help);
	sample_u64(o, name, v);
}

static void gauge(struct evbuffer *o, const char *name, const char *help, uint64_t v)
{
	family(o, name, "gauge", help);
	sample_u64(o, name, v);
}

/* A family of one sample with a float value: gauge or counter. */
static void single_double(struct evbuffer *o, const char *name, const char *type, const char *help,
			  double v)
{
	char num[40];
	family(o, name, type, help);
	fmt_double(num, sizeof(num), v);
	evbuffer_add_printf(o, "%s %s\n", name, num);
}

/* Cumulative _bucket lines from the per-bucket counts, +Inf, _sum and _count. */
static void histogram(struct evbuffer *o, const char *name, const char *help, const struct hist *h)
{
	char num[40];
	uint64_t cum = 0;
	family(o, name, "histogram", help);
	for (unsigned i = 0; i < h->nbuckets; i++) {
		cum += h->counts[i];
		fmt_double(num, sizeof(num), h->bounds[i]);
		evbuffer_add_printf(o, "%s_bucket{le=\"%s\"} %llu\n", name, num,
				    (unsigned long long)cum);
	}
	evbuffer_add_printf(o, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)h->count);
	fmt_double(num, sizeof(num), h->sum);
	evbuffer_add_printf(o, "%s_sum %s\n%s_count %llu\n", name, num, name,
			    (unsigned long long)h->count);
}

/* ---- the metrics ---- */

static const char *const frame_type_names[FT__COUNT] = {
	"heartbeat",   "registration",	  "authentication", "location",	 "batch_location",
	"transparent", "terminal_answer", "other",	    "malformed",
};

static const char *const conn_state_names[CONN_STATES] = {"handshake", "connected", "registered",
							  "authenticated"};

/* The process_* families of the Prometheus client libraries, same names and meanings. */
static void render_process_std(struct evbuffer *o, const struct admin_state *s)
{
	const struct admin_process *p = &s->proc;
	single_double(o, "process_start_time_seconds", "gauge",
		      "Start time of the process since the Unix epoch in seconds.", s->start_time);
	single_double(o, "process_cpu_seconds_total", "counter",
		      "Total user and system CPU time spent in seconds.", p->cpu_seconds);
	if (p->fds_known)
		gauge(o, "process_open_fds", "Number of open file descriptors.", p->open_fds);
	single_double(o, "process_max_fds", "gauge",
		      "Maximum number of open file descriptors (the soft RLIMIT_NOFILE).",
		      p->max_fds);
	if (!p->memory_known)
		return;
	single_double(o, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
		      p->resident_bytes);
	single_double(o, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
		      p->virtual_bytes);
}

static void render_process(struct evbuffer *o, const struct server *srv,
			   const struct admin_state *s)
{
	family(o, "hoursd_build_info", "gauge", "Always 1; the version of the running hoursd.");
	sample_label(o, "hoursd_build_info", "version", HOURSD_VERSION, 1);
	render_process_std(o, s);
	gauge(o, "hoursd_draining", "1 once a stop signal came and the daemon drains.",
	      srv->draining);
	gauge(o, "hoursd_tls_listener_up", "1 while the TLS listener accepts terminals.",
	      srv->tls_listener != NULL);
}

/* Connections refused, paused or closed by the limits of docs/operations.md. */
static void render_limits(struct evbuffer *o, const struct server_stats *st)
{
	static const char *const refused[] = {
		"max_connections", "max_per_address", "max_per_terminal", "fd_reserve",
		"bad_frames",	   "preauth_answers", "throttle"};
	const uint64_t nrefused[] = {st->refused_max_connections, st->refused_per_address,
				     st->refused_per_terminal,	  st->refused_fd_reserve,
				     st->refused_bad_frames,	  st->refused_preauth_answers,
				     st->refused_throttled};
	family(o, "hoursd_connections_refused_total", "counter",
	       "Terminal connections refused by a limit, by the limit (connection.*).");
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++)
		sample_label(o, "hoursd_connections_refused_total", "limit", refused[i],
			     nrefused[i]);
	counter(o, "hoursd_accept_pauses_total",
		"Times every listener paused accepting at the descriptor limit.",
		st->accept_pauses);
	counter(o, "hoursd_accept_errors_total",
		"accept() failures for want of descriptors or memory.", st->accept_errors);
	static const char *const deadline[] = {"handshake", "auth", "idle", "write"};
	const uint64_t ndeadline[] = {st->deadline_handshake, st->deadline_auth, st->deadline_idle,
				      st->deadline_write};
	family(o, "hoursd_connections_timed_out_total", "counter",
	       "Terminal connections closed at a deadline: TLS handshake (PROXY header included), "
	       "authentication, idle, answers not read (write).");
	for (size_t i = 0; i < ARRAY_SIZE(deadline); i++)
		sample_label(o, "hoursd_connections_timed_out_total", "deadline", deadline[i],
			     ndeadline[i]);
	counter(o, "hoursd_log_lines_suppressed_total",
		"Per-connection log lines not written (connection.lines_per_min, "
		"connection.warnings_per_min).",
		st->warnings_suppressed);
	gauge(o, "hoursd_output_bytes",
	      "Answers queued for terminals and not yet written, all connections "
	      "(connection.out_budget_bytes bounds it).",
	      st->out_bytes);
	gauge(o, "hoursd_reassembly_bytes",
	      "Bytes held by unfinished sub-packaged messages, all connections "
	      "(connection.reasm_budget_bytes bounds it).",
	      st->reasm_bytes);
	counter(o, "hoursd_reassembly_dropped_total",
		"Unfinished sub-packaged messages dropped, oldest first, to keep the reassembly "
		"budget.",
		st->reasm_dropped);
}

static void render_connections(struct evbuffer *o, const struct server_stats *st,
			       const struct admin_state *s)
{
	counter(o, "hoursd_connections_accepted_total", "Terminal connections accepted.",
		st->accepted);
	counter(o, "hoursd_connections_closed_total", "Terminal connections closed.", st->closed);
	family(o, "hoursd_connections", "gauge",
	       "Terminal connections open now, by state (their sum: all open connections).");
	for (int i = 0; i < CONN_STATES; i++)
		sample_label(o, "hoursd_connections", "state", conn_state_names[i],
			     s->conns_by_state[i]);
	counter(o, "hoursd_tls_handshake_failures_total",
		"TLS handshakes that failed (bad or missing client certificate, protocol errors).",
		st->tls_failures);
	render_limits(o, st);
}

static void render_frames(struct evbuffer *o, const struct server_stats *st)
{
	family(o, "hoursd_frames_total", "counter",
	       "JT/T 808 frames received, each once (a piece of a sub-packaged message as its "
	       "message), by message type; type malformed: not decoded.");
	for (int i = 0; i < FT__COUNT; i++)
		sample_label(o, "hoursd_frames_total", "type", frame_type_names[i],
			     st->frames_by_type[i]);
	family(o, "hoursd_bad_frames_total", "counter",
	       "Frames dropped as malformed (the type malformed of hoursd_frames_total) and "
	       "pieces of sub-packaged messages that could not be reassembled, by reason.");
	for (int i = JT808_OK + 1; i < JT808_E__COUNT; i++)
		sample_label(o, "hoursd_bad_frames_total", "reason",
			     jt808_strerror((enum jt808_err)i), st->bad_frames[i]);
	counter(o, "hoursd_oversize_frames_total",
		"Frames longer than connection.max_frame_bytes, skipped.", st->oversize);
	counter(o, "hoursd_junk_bytes_total", "Bytes outside any frame, skipped while resyncing.",
		st->junk_bytes);
	counter(o, "hoursd_number_mismatch_total",
		"Frames naming another terminal than the connection's, refused.",
		st->number_mismatch);
	counter(o, "hoursd_unknown_terminal_total",
		"Connections from terminal numbers not in the registry.", st->unknown_terminal);
	counter(o, "hoursd_not_authenticated_total",
		"Messages refused because the terminal had not authenticated.",
		st->not_authenticated);
	counter(o, "hoursd_unsupported_messages_total", "Messages answered with 'not supported'.",
		st->unsupported);
	counter(o, "hoursd_registrations_total", "Registrations answered with success.",
		st->registrations_ok);
	counter(o, "hoursd_registrations_refused_total",
		"Registrations refused (unknown, disabled or mismatching terminal).",
		st->registrations_refused);
	counter(o, "hoursd_authentications_total", "Authentications accepted.", st->auth_ok);
	counter(o, "hoursd_authentications_failed_total",
		"Authentications refused: bad code or signature, stale or replayed timestamp, "
		"unknown or disabled terminal.",
		st->auth_failed);
	counter(o, "hoursd_authentications_throttled_total",
		"Authentications refused unchecked: too many failures from the address this minute.",
		st->auth_throttled);
	counter(o, "hoursd_escaped_sums_frames_total",
		"Frames taken under a terminal's escaped-sums quirk.", st->escaped_sums);
	counter(o, "hoursd_pieces_resent_total",
		"Pieces of sub-packaged answers sent again on the terminal's request.",
		st->pieces_resent);
}

/* Rejections by the judge, by reason name (0: not a reason of the judge's). */
static uint64_t judge_rejected(const struct judge_stats *j, const char *reason)
{
	return strcmp(reason, "daily_cap") == 0		? j->daily_cap
	       : strcmp(reason, "student_overlap") == 0 ? j->student_overlap
	       : strcmp(reason, "coach_overlap") == 0	? j->coach_overlap
							: 0;
}

static void render_records(struct evbuffer *o, const struct server_stats *st,
			   const struct judge_stats *j)
{
	counter(o, "hoursd_positions_total", "Position reports handed to the store.",
		st->positions);
	family(o, "hoursd_acks_total", "counter",
	       "General answers sent to terminals, by result (ok, or any failure).");
	sample_label(o, "hoursd_acks_total", "result", "ok", st->acks_ok);
	sample_label(o, "hoursd_acks_total", "result", "failed", st->acks_failed);
	family(o, "hoursd_training_records_total", "counter",
	       "Training records (0x0203) checked by ingest, by verdict; rejected ones are stored "
	       "too.");
	sample_label(o, "hoursd_training_records_total", "verdict", "accepted",
		     st->records_accepted);
	sample_label(o, "hoursd_training_records_total", "verdict", "rejected",
		     st->records_rejected);
	family(o, "hoursd_training_records_rejected_total", "counter",
	       "Training records rejected, by reason code (docs/protocol.md): by ingest, or by "
	       "the judge (daily_cap, student_overlap, coach_overlap).");
	for (enum reason r = R_NONE + 1; r < R__COUNT; r++)
		sample_label(o, "hoursd_training_records_rejected_total", "reason", reason_name(r),
			     st->records_rejected_by_reason[r] + judge_rejected(j, reason_name(r)));
	counter(o, "hoursd_session_events_total", "Coach and student logins and logouts received.",
		st->session_events);
	family(o, "hoursd_logins_refused_total", "counter",
	       "Coach and student logins refused, by reason code (docs/protocol.md), the "
	       "registry's checks (docs/registry.md) among them.");
	for (enum reason r = R_NONE + 1; r < R__COUNT; r++)
		sample_label(o, "hoursd_logins_refused_total", "reason", reason_name(r),
			     st->logins_refused_by_reason[r]);
	family(o, "hoursd_logins_flagged_total", "counter",
	       "Logins taken with a check of the registry failed under its setting flag, by the "
	       "check's reason code (docs/registry.md).");
	for (enum reason r = R_COACH_NOT_REGISTERED; r <= R_TERMINAL_NOT_BOUND; r++)
		sample_label(o, "hoursd_logins_flagged_total", "reason", reason_name(r),
			     st->logins_flagged_by_reason[r]);
	counter(o, "hoursd_photos_total", "Photos received whole and handed to the store.",
		st->photos);
}

static void render_store(struct evbuffer *o, const struct admin_state *s)
{
	gauge(o, "hoursd_db_up", "1 while every database connection (ingest's, the judge's) is up.",
	      s->db_up);
	counter(o, "hoursd_db_batches_total", "Batches committed.", s->store.batches);
	counter(o, "hoursd_db_rows_total", "Rows committed.", s->store.rows);
	counter(o, "hoursd_db_connects_total",
		"Connections to the database established, the first one included.", s->db_connects);
	counter(o, "hoursd_db_errors_total",
		"Batches that failed with a permanent database error, answered with failure.",
		s->store.errors);
	gauge(o, "hoursd_db_queued_rows", "Rows waiting for a commit.", s->store.queued_rows);
}

static void render_judge(struct evbuffer *o, const struct judge_stats *j)
{
	counter(o, "hoursd_judge_batches_total", "Judge batches committed.", j->batches);
	counter(o, "hoursd_judge_errors_total",
		"Judge batches that failed (rolled back whole, taken again).", j->errors);
	family(o, "hoursd_judge_records_total", "counter",
	       "Records ingest accepted, as the judge decided them: counted, or the reason not.");
	sample_label(o, "hoursd_judge_records_total", "decision", "counted", j->counted);
	sample_label(o, "hoursd_judge_records_total", "decision", "daily_cap", j->daily_cap);
	sample_label(o, "hoursd_judge_records_total", "decision", "student_overlap",
		     j->student_overlap);
	sample_label(o, "hoursd_judge_records_total", "decision", "coach_overlap",
		     j->coach_overlap);
	counter(o, "hoursd_judge_packets_total", "Push packets made by the judge (parts met).",
		j->packets);
}

static void render_chain(struct evbuffer *o, const struct chain_stats *c)
{
	counter(o, "hoursd_audit_links_total",
		"Rows (leaves) this process appended to the audit log (docs/audit.md).", c->linked);
	counter(o, "hoursd_audit_batches_total",
		"Batches (Merkle trees) this process appended to the audit log.", c->batches);
	counter(o, "hoursd_audit_checkpoints_refused_total",
		"Checkpoints not signed: what was logged since the last one did not hold.",
		c->refused);
	counter(o, "hoursd_audit_checkpoints_total",
		"Checkpoints of the chain's head this process signed and stored.", c->checkpoints);
	counter(o, "hoursd_audit_errors_total",
		"Chain batches or checkpoints that failed (rolled back whole, taken again).",
		c->errors);
}

static void render_push(struct evbuffer *o, const struct server_stats *st)
{
	gauge(o, "hoursd_push_enabled", "1 while push.url is set and packets are sent.",
	      st->push_enabled);
	family(o, "hoursd_push_attempts_total", "counter",
	       "Attempts to deliver a packet to the police platform, by outcome.");
	sample_label(o, "hoursd_push_attempts_total", "outcome", "accepted", st->push_accepted);
	sample_label(o, "hoursd_push_attempts_total", "outcome", "duplicate", st->push_duplicate);
	sample_label(o, "hoursd_push_attempts_total", "outcome", "rejected", st->push_rejected);
	sample_label(o, "hoursd_push_attempts_total", "outcome", "retry", st->push_retry);
	sample_label(o, "hoursd_push_attempts_total", "outcome", "error", st->push_error);
	family(o, "hoursd_push_packets_failed_total", "counter",
	       "Packets marked failed by this process (hoursctl push retry re-drives them), "
	       "by cause.");
	sample_label(o, "hoursd_push_packets_failed_total", "cause", "rejected",
		     st->push_failed_rejected);
	sample_label(o, "hoursd_push_packets_failed_total", "cause", "expired",
		     st->push_failed_expired);
	sample_label(o, "hoursd_push_packets_failed_total", "cause", "unbuildable",
		     st->push_failed_unbuildable);
	sample_label(o, "hoursd_push_packets_failed_total", "cause", "platform",
		     st->push_failed_platform);
	gauge(o, "hoursd_push_in_flight", "Packets being sent or recorded by this process now.",
	      st->push_in_flight);
	if (!st->outbox_known)
		return; /* not counted yet: no number rather than a false 0 */
	gauge(o, "hoursd_push_outbox_waiting",
	      "Packets not delivered yet (pending or sending), all instances; counted every 5 s.",
	      st->outbox_waiting);
	gauge(o, "hoursd_push_outbox_oldest_seconds",
	      "Age of the oldest packet not delivered yet, in seconds (0: none).",
	      st->outbox_oldest_s);
	gauge(o, "hoursd_push_outbox_failed",
	      "Packets in state failed, waiting for an operator (hoursctl push list --state "
	      "failed).",
	      st->outbox_failed);
}

static void render_histograms(struct evbuffer *o)
{
	histogram(o, "hoursd_db_batch_rows", "Rows per committed batch.", &metric_batch_rows);
	histogram(o, "hoursd_db_commit_seconds",
		  "Time from sending a batch to seeing its commit, in seconds.",
		  &metric_commit_seconds);
	histogram(
		o, "hoursd_judge_lag_seconds",
		"Per judge batch, the longest a record of it waited between its ingest commit and "
		"the judge, in seconds.",
		&metric_judge_lag_seconds);
	histogram(o, "hoursd_judge_batch_rows", "Records per judge batch.",
		  &metric_judge_batch_rows);
	histogram(o, "hoursd_ack_seconds",
		  "Time from decoding a frame to writing its answer, in seconds.",
		  &metric_ack_seconds);
}

void admin_render_metrics(const struct server *srv, const struct admin_state *s,
			  struct evbuffer *out)
{
	render_process(out, srv, s);
	render_connections(out, &srv->st, s);
	render_frames(out, &srv->st);
	render_records(out, &srv->st, &s->judge);
	render_store(out, s);
	render_judge(out, &s->judge);
	render_chain(out, &s->chain);
	render_push(out, &srv->st);
	render_histograms(out);
}

/* ---- the process, from /proc/self ---- */

/* Entries of /proc/self/fd but the one reading it. */
static bool count_fds(unsigned *n)
{
	DIR *d = opendir("/proc/self/fd");
	if (d == NULL)
		return false;
	unsigned k = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		k += e->d_name[0] != '.';
	closedir(d);
	*n = k > 0 ? k - 1 : 0;
	return true;
}

/* /proc/self/statm: sizes in pages, the whole and the resident. */
static bool read_statm(double *virt, double *rss)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long long size, resident;
	bool ok = f && fscanf(f, "%llu %llu", &size, &resident) == 2;
	if (f)
		fclose(f);
	long page = sysconf(_SC_PAGESIZE);
	if (!ok || page <= 0)
		return false;
	*virt = (double)size * (double)page;
	*rss = (double)resident * (double)page;
	return true;
}

void admin_read_process(struct admin_process *p)
{
	memset(p, 0, sizeof(*p));
	p->fds_known = count_fds(&p->open_fds);
	p->memory_known = read_statm(&p->virtual_bytes, &p->resident_bytes);
	struct rlimit rl;
	p->max_fds = getrlimit(RLIMIT_NOFILE, &rl) != 0 ? NAN
		     : rl.rlim_cur == RLIM_INFINITY	? INFINITY
							: (double)rl.rlim_cur;
	/* /proc/self/stat's utime + stime, in microseconds rather than clock ticks. */
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		p->cpu_seconds = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
				 (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* ---- readiness ---- */

bool admin_ready(const struct server *srv, bool db_up, char *why, size_t whylen)
{
	size_t n = 0;
	if (whylen > 0)
		why[0] = '\0';
	const char *reasons[4];
	if (srv->draining)
		reasons[n++] = "draining: shutting down\n";
	else if (srv->tls_listener == NULL)
		reasons[n++] = "TLS listener not up\n";
	if (!db_up)
		reasons[n++] = "database not connected\n";
	if (srv->chain && chain_refusal(srv->chain))
		reasons[n++] = chain_refusal(srv->chain);
	for (size_t i = 0, used = 0; i < n && used < whylen; i++)
		used += (size_t)snprintf(why + used, whylen - used, "%s", reasons[i]);
	return n == 0;
}

/* ---- HTTP ---- */

static void take_state(const struct admin *a, struct admin_state *s)
{
	memset(s, 0, sizeof(*s));
	if (a->srv->ingest) {
		ingest_get_stats(a->srv->ingest, &s->store);
		judge_get_stats(a->srv->judge, &s->judge);
		if (a->srv->chain)
			chain_get_stats(a->srv->chain, &s->chain);
		struct db_stats st;
		s->db_up = db_connected(a->srv->judge_db);
		db_get_stats(a->srv->judge_db, &st);
		s->db_connects = st.reconnects;
		for (unsigned i = 0; i < a->srv->ningest_db; i++) {
			s->db_up = s->db_up && db_connected(a->srv->ingest_db[i]);
			db_get_stats(a->srv->ingest_db[i], &st);
			s->db_connects += st.reconnects;
		}
	}
	conn_count_by_state(s->conns_by_state);
	s->start_time = a->start_time;
	admin_read_process(&s->proc);
}

static void reply(struct evhttp_request *req, int code, const char *reason,
		  const char *content_type, struct evbuffer *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Content-Type", content_type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply(req, code, reason, body);
}

static void reply_text(struct evhttp_request *req, int code, const char *reason, const char *text)
{
	struct evbuffer *b = evbuffer_new();
	if (b == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evbuffer_add(b, text, strlen(text));
	reply(req, code, reason, "text/plain; charset=utf-8", b);
	evbuffer_free(b);
}

static void serve_metrics(struct admin *a, struct evhttp_request *req)
{
	struct admin_state s;
	struct evbuffer *b = evbuffer_new();
	if (b == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	take_state(a, &s);
	admin_render_metrics(a->srv, &s, b);
	reply(req, HTTP_OK, "OK", METRICS_CONTENT_TYPE, b);
	evbuffer_free(b);
}

/* The loop answered, so the process is alive. */
static void serve_healthz(struct admin *a, struct evhttp_request *req)
{
	reply_text(req, HTTP_OK, "OK", "ok\n");
}

static void serve_readyz(struct admin *a, struct evhttp_request *req)
{
	struct admin_state s;
	char why[256];
	take_state(a, &s);
	if (admin_ready(a->srv, s.db_up, why, sizeof(why)))
		reply_text(req, HTTP_OK, "OK", "ready\n");
	else
		reply_text(req, HTTP_SERVUNAVAIL, "Service Unavailable", why);
}

static const struct route {
	const char *path;
	void (*serve)(struct admin *a, struct evhttp_request *req);
} routes[] = {
	{"/metrics", serve_metrics},
	{"/healthz", serve_healthz},
	{"/readyz", serve_readyz},
};

static const struct route *route_find(struct evhttp_request *req)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	for (size_t i = 0; path && i < ARRAY_SIZE(routes); i++) {
		if (strcmp(path, routes[i].path) == 0)
			return &routes[i];
	}
	return NULL;
}

static void on_request(struct evhttp_request *req, void *arg)
{
	const struct route *r = route_find(req);
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	if (r == NULL) {
		reply_text(req, HTTP_NOTFOUND, "Not Found", "not found\n");
	} else if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
		reply_text(req, 405, "Method Not Allowed", "method not allowed\n");
	} else {
		r->serve(arg, req);
	}
}

/* ---- the listener ---- */

/* Split "host:port" / "[v6]:port" into host (no brackets) and port 0-65535. */
static bool split_addr(const char *addr, char *host, size_t hostcap, uint16_t *port)
{
	const char *colon = strrchr(addr, ':');
	if (colon == NULL || colon == addr || colon[1] == '\0')
		return false;
	const char *h = addr, *hend = colon;
	if (addr[0] == '[') {
		if (colon[-1] != ']')
			return false;
		h++;
		hend--;
	}
	char *end;
	errno = 0;
	unsigned long p = strtoul(colon + 1, &end, 10);
	size_t hlen = (size_t)(hend - h);
	if (*end != '\0' || errno != 0 || p > 65535 || colon[1] < '0' || colon[1] > '9' ||
	    hlen == 0 || hlen >= hostcap)
		return false;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = (uint16_t)p;
	return true;
}

static double now_realtime(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Methods evhttp passes to us (the rest it answers 501 itself); we answer 405. */
/* ---- deadlines ----
 *
 * evhttp's own timeout starts again with every byte, so a client sending
 * one byte now and then would keep a connection for ever.  hoursd makes
 * each connection's bufferevent (evhttp_set_bevcb) and watches its
 * buffers: the headers must be in within admin.header_timeout_s (from
 * the connection, or from the previous answer), the body within
 * admin.body_timeout_s more; past that the socket is shut down and
 * evhttp closes the connection.  evhttp's close callback forgets it.
 */
struct admin_conn {
	struct admin_conn *prev, *next;
	struct admin *a;
	struct bufferevent *bev;
	struct evhttp_connection *evcon; /* NULL until attached */
	struct evbuffer_cb_entry *in_cb, *out_cb;
	time_t deadline;       /* CLOCK_MONOTONIC seconds */
	bool in_body, newline; /* headers done; the last header byte was a newline */
};

static time_t mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec;
}

static unsigned header_timeout(const struct admin *a)
{
	return a->srv->conf ? a->srv->conf->admin_header_timeout_s : 5;
}

static unsigned body_timeout(const struct admin *a)
{
	return a->srv->conf ? a->srv->conf->admin_body_timeout_s : 10;
}

/* Bytes came in: look for the empty line that ends the headers ("\r\n\r\n" or "\n\n"). */
static void on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct admin_conn *ac = arg;
	struct evbuffer_ptr pos;
	struct evbuffer_iovec v[16];
	size_t len = evbuffer_get_length(buf);
	if (info->n_added == 0 || ac->in_body || info->n_added > len ||
	    evbuffer_ptr_set(buf, &pos, len - info->n_added, EVBUFFER_PTR_SET) != 0)
		return;
	int n = evbuffer_peek(buf, (ev_ssize_t)info->n_added, &pos, v, ARRAY_SIZE(v));
	for (int i = 0; i < n && i < (int)ARRAY_SIZE(v) && !ac->in_body; i++) {
		const char *p = v[i].iov_base;
		for (size_t k = 0; k < v[i].iov_len && !ac->in_body; k++) {
			if (p[k] == '\n') {
				ac->in_body = ac->newline;
				ac->newline = true;
			} else if (p[k] != '\r') {
				ac->newline = false;
			}
		}
	}
	if (ac->in_body)
		ac->deadline = mono_s() + body_timeout(ac->a);
}

/* An answer goes out: the next request's headers have their time again. */
static void on_output(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct admin_conn *ac = arg;
	if (info->n_added > 0) {
		ac->in_body = ac->newline = false;
		ac->deadline = mono_s() + header_timeout(ac->a);
	}
}

static void admin_conn_free(struct admin_conn *ac)
{
	evbuffer_remove_cb_entry(bufferevent_get_input(ac->bev), ac->in_cb);
	evbuffer_remove_cb_entry(bufferevent_get_output(ac->bev), ac->out_cb);
	if (ac->prev)
		ac->prev->next = ac->next;
	else
		ac->a->conns = ac->next;
	if (ac->next)
		ac->next->prev = ac->prev;
	free(ac);
}

/* evhttp closes the connection. */
static void on_conn_close(struct evhttp_connection *evcon, void *arg)
{
	admin_conn_free(arg);
}

/*
 * One turn of the loop after the accept, evhttp has set its callbacks on
 * the bufferevent (the argument is its connection): hang the close
 * callback there.  The reference taken at the accept kept the
 * bufferevent alive in case evhttp freed the connection before.
 */
static void attach(evutil_socket_t fd, short what, void *arg)
{
	struct admin_conn *ac = arg;
	struct bufferevent *bev = ac->bev;
	bufferevent_event_cb eventcb = NULL;
	void *cbarg = NULL;
	bufferevent_getcb(bev, NULL, NULL, &eventcb, &cbarg);
	if (eventcb == NULL || cbarg == NULL) {
		admin_conn_free(ac); /* already closed */
	} else {
		ac->evcon = cbarg;
		evhttp_connection_set_closecb(ac->evcon, on_conn_close, ac);
	}
	bufferevent_decref(bev);
}

/* evhttp's bufferevent for a new connection, watched. */
static struct bufferevent *admin_bev(struct event_base *base, void *arg)
{
	struct admin *a = arg;
	struct admin_conn *ac = calloc(1, sizeof(*ac));
	struct bufferevent *bev =
		ac ? bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE) : NULL;
	if (bev == NULL) {
		free(ac);
		return NULL;
	}
	ac->a = a;
	ac->bev = bev;
	ac->deadline = mono_s() + header_timeout(a);
	ac->in_cb = evbuffer_add_cb(bufferevent_get_input(bev), on_input, ac);
	ac->out_cb = evbuffer_add_cb(bufferevent_get_output(bev), on_output, ac);
	if (ac->in_cb == NULL || ac->out_cb == NULL ||
	    event_base_once(base, -1, EV_TIMEOUT, attach, ac, &(struct timeval){0, 0}) != 0) {
		if (ac->in_cb)
			evbuffer_remove_cb_entry(bufferevent_get_input(bev), ac->in_cb);
		if (ac->out_cb)
			evbuffer_remove_cb_entry(bufferevent_get_output(bev), ac->out_cb);
		bufferevent_free(bev);
		free(ac);
		return NULL;
	}
	bufferevent_incref(bev);
	ac->next = a->conns;
	if (a->conns)
		a->conns->prev = ac;
	a->conns = ac;
	return bev;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct admin *a = arg;
	time_t now = mono_s();
	for (struct admin_conn *ac = a->conns; ac; ac = ac->next) {
		if (now < ac->deadline || ac->evcon == NULL)
			continue;
		evutil_socket_t s = bufferevent_getfd(ac->bev);
		log_warn("admin: a client disconnected: request %s not in within %u s "
			 "(admin.%s_timeout_s)",
			 ac->in_body ? "body" : "headers",
			 ac->in_body ? body_timeout(a) : header_timeout(a),
			 ac->in_body ? "body" : "header");
		ac->deadline = now + 3600; /* once */
		if (s >= 0)
			shutdown(s, SHUT_RDWR);
	}
}

#define ADMIN_METHODS                                                                              \
	(EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | \
	 EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH)

static struct evhttp *http_new(struct admin *a)
{
	struct evhttp *http = evhttp_new(a->srv->base);
	if (http == NULL)
		return NULL;
	evhttp_set_timeout(http, ADMIN_TIMEOUT_S);
	evhttp_set_max_headers_size(http, ADMIN_MAX_HEADERS);
	evhttp_set_max_body_size(http, ADMIN_MAX_BODY);
	evhttp_set_allowed_methods(http, ADMIN_METHODS);
	evhttp_set_gencb(http, on_request, a);
	evhttp_set_bevcb(http, admin_bev, a);
	return http;
}

struct admin *admin_start(struct server *srv, const char *addr, char *err, size_t errlen)
{
	char host[256];
	uint16_t port;
	if (!split_addr(addr, host, sizeof(host), &port)) {
		snprintf(err, errlen, "admin.listen \"%.60s\": expected \"host:port\"", addr);
		return NULL;
	}
	struct admin *a = calloc(1, sizeof(*a));
	if (a != NULL) {
		a->srv = srv;
		a->http = http_new(a);
		a->tick = event_new(srv->base, -1, EV_PERSIST, on_tick, a);
	}
	if (a == NULL || a->http == NULL || a->tick == NULL) {
		snprintf(err, errlen, "admin listener: out of memory");
		admin_free(a);
		return NULL;
	}
	a->sock = evhttp_bind_socket_with_handle(a->http, host, port);
	if (a->sock == NULL) {
		snprintf(err, errlen, "admin listener: cannot listen on %.80s: %s", addr,
			 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		admin_free(a);
		return NULL;
	}
	event_add(a->tick, &(struct timeval){1, 0});
	a->start_time = now_realtime();
	log_info("admin listener on %s port %u: /metrics, /healthz, /readyz", host, admin_port(a));
	return a;
}

struct evconnlistener *admin_listener(const struct admin *a)
{
	return evhttp_bound_socket_get_listener(a->sock);
}

unsigned admin_port(const struct admin *a)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	evutil_socket_t fd = evhttp_bound_socket_get_fd(a->sock);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

void admin_free(struct admin *a)
{
	if (a == NULL)
		return;
	a->srv->admin_listener = NULL;
	if (a->http)
		evhttp_free(a->http);
	if (a->tick)
		event_free(a->tick);
	free(a);
}
