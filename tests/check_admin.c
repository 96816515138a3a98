/*
 * check_admin.c - the admin listener: the /metrics page parsed line by
 * line as the Prometheus text format 0.0.4 with its values matching a
 * fake server's counters, histograms cumulative, the naming rules
 * (units, _total, no label in a name), the process_* figures read from
 * /proc, readiness reasons, and the HTTP side (status codes, headers,
 * 404, 405) over loopback.
 *
 * No database and no connections: this file stands in for the functions
 * admin.c reads them through (ingest_get_stats, judge_get_stats,
 * db_connected, db_get_stats, conn_count_by_state), so ingest.c, judge.c,
 * db.c and conn.c are not linked.
 */
#include "hoursd.h"
#include "admin.h"
#include "metrics.h"
#include "reasons.h"
#include "server.h"
#include "db.h"
#include "ingest.h"
#include "judge.h"

#include <check.h>
#include <ctype.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <fcntl.h>
#include <math.h>
#include <unistd.h>

/* ---- stand-ins for ingest.c, judge.c, chain.c, db.c and conn.c ---- */

static struct ingest_stats fake_stats;
static struct judge_stats fake_judge;
static bool fake_db_up;
static unsigned fake_conns;

void ingest_get_stats(const struct ingest *in, struct ingest_stats *st)
{
	*st = fake_stats;
}

void judge_get_stats(const struct judge *j, struct judge_stats *st)
{
	*st = fake_judge;
}

void chain_get_stats(const struct chain *c, struct chain_stats *st)
{
	*st = (struct chain_stats){.linked = 42, .checkpoints = 3};
}

const char *chain_refusal(const struct chain *c)
{
	return NULL;
}

bool db_connected(const struct db *d)
{
	return fake_db_up;
}

void db_get_stats(const struct db *d, struct db_stats *st)
{
	*st = (struct db_stats){.reconnects = 1};
}

void conn_count_by_state(unsigned out[CONN_STATES])
{
	memset(out, 0, CONN_STATES * sizeof(out[0]));
	out[CONN_STATES - 1] = fake_conns;
}

/* Never dereferenced: admin.c only hands it to the stand-ins above. */
static char fake_store_obj, fake_listener_obj;

static void fake_server(struct server *srv)
{
	memset(srv, 0, sizeof(*srv));
	srv->ingest = (struct ingest *)&fake_store_obj;
	srv->judge = (struct judge *)&fake_store_obj;
	srv->chain = (struct chain *)&fake_store_obj;
	srv->db = srv->judge_db = (struct db *)&fake_store_obj;
	srv->tls_listener = (struct evconnlistener *)&fake_listener_obj;
	srv->st = (struct server_stats){
		.accepted = 101,
		.closed = 7,
		.tls_failures = 3,
		.frames = 123456,
		.oversize = 2,
		.junk_bytes = 99,
		.number_mismatch = 4,
		.unknown_terminal = 5,
		.not_authenticated = 6,
		.unsupported = 8,
		.positions = 120000,
		.acks_ok = 110000,
		.acks_failed = 12,
		.records_accepted = 300,
		.records_rejected = 9,
		.session_events = 40,
		.photos = 11,
	};
	srv->st.frames_by_type[FT_LOCATION] = 120000;
	srv->st.frames_by_type[FT_HEARTBEAT] = 3000;
	srv->st.frames_by_type[FT_MALFORMED] = 18;
	srv->st.bad_frames[JT808_E_CHECK] = 17;
	srv->st.bad_frames[JT808_E_PIECE] = 1;
	srv->st.records_rejected_by_reason[R_NO_SIGNATURE] = 5;
	fake_stats = (struct ingest_stats){
		.batches = 900, .rows = 119990, .errors = 1, .queued_rows = 10};
	fake_judge = (struct judge_stats){.batches = 30,
					  .errors = 1,
					  .judged = 300,
					  .counted = 290,
					  .daily_cap = 7,
					  .student_overlap = 2,
					  .coach_overlap = 1,
					  .packets = 3};
	fake_db_up = true;
	fake_conns = 94;
}

/* ---- a parser of the text format, strict about what hoursd emits ---- */

#define MAX_FAMILIES 256
#define MAX_SAMPLES 1024

struct sample {
	char name[128];
	char labels[256]; /* as written between the braces */
	char le[128];	  /* the le label's value, unescaped */
	double value;
	size_t family;
};

struct family {
	char name[128];
	char type[16];
	char help_text[512];
	bool help;
	size_t nsamples;
};

struct page {
	struct family fam[MAX_FAMILIES];
	size_t nfam;
	struct sample smp[MAX_SAMPLES];
	size_t nsmp;
};

static bool name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	       (!first && c >= '0' && c <= '9');
}

/* A metric or label name at *p into out; advances *p. */
static bool take_name(const char **p, char *out, size_t cap, bool colon_ok)
{
	size_t n = 0;
	while (name_char((*p)[n], n == 0) && (colon_ok || (*p)[n] != ':') && n + 1 < cap)
		n++;
	if (n == 0)
		return false;
	memcpy(out, *p, n);
	out[n] = '\0';
	*p += n;
	return true;
}

/* A quoted label value with \\, \" and \n escapes; unescaped into out. */
static bool take_label_value(const char **p, char *out, size_t cap)
{
	const char *s = *p;
	size_t n = 0;
	if (*s++ != '"')
		return false;
	for (; *s != '"'; s++) {
		char c = *s;
		if (c == '\0' || c == '\n')
			return false;
		if (c == '\\') {
			s++;
			if (*s != '\\' && *s != '"' && *s != 'n')
				return false;
			c = *s == 'n' ? '\n' : *s;
		}
		if (n + 1 < cap)
			out[n++] = c;
	}
	out[n] = '\0';
	*p = s + 1;
	return true;
}

static bool take_labels(const char **p, struct sample *s)
{
	const char *start = *p;
	char lname[64], lval[128];
	while (**p != '}') {
		if (!take_name(p, lname, sizeof(lname), false) || *(*p)++ != '=' ||
		    !take_label_value(p, lval, sizeof(lval)))
			return false;
		if (strcmp(lname, "le") == 0)
			snprintf(s->le, sizeof(s->le), "%s", lval);
		if (**p == ',')
			(*p)++;
		else if (**p != '}')
			return false;
	}
	size_t n = (size_t)(*p - start);
	if (n >= sizeof(s->labels))
		return false;
	memcpy(s->labels, start, n);
	s->labels[n] = '\0';
	(*p)++;
	return true;
}

static bool take_value(const char *p, double *v)
{
	if (strcmp(p, "+Inf") == 0 || strcmp(p, "-Inf") == 0) {
		*v = p[0] == '+' ? INFINITY : -INFINITY;
		return true;
	}
	if (strcmp(p, "NaN") == 0) {
		*v = NAN;
		return true;
	}
	if (*p == ' ' || *p == '\t')
		return false;
	char *end;
	*v = strtod(p, &end);
	return end != p && *end == '\0' && !isinf(*v) && !isnan(*v);
}

/* name{labels} value, no timestamp. */
static bool parse_sample(const char *line, struct sample *s)
{
	memset(s, 0, sizeof(*s));
	const char *p = line;
	if (!take_name(&p, s->name, sizeof(s->name), true))
		return false;
	if (*p == '{') {
		p++;
		if (!take_labels(&p, s))
			return false;
	}
	if (*p++ != ' ')
		return false;
	return take_value(p, &s->value);
}

static struct family *family_get(struct page *pg, const char *name)
{
	for (size_t i = 0; i < pg->nfam; i++) {
		if (strcmp(pg->fam[i].name, name) == 0)
			return &pg->fam[i];
	}
	ck_assert_uint_lt(pg->nfam, MAX_FAMILIES);
	struct family *f = &pg->fam[pg->nfam++];
	snprintf(f->name, sizeof(f->name), "%s", name);
	return f;
}

static void parse_comment(struct page *pg, const char *line)
{
	char name[128], type[16];
	const char *p = line + 7;
	bool help = strncmp(line, "# HELP ", 7) == 0;
	if (!help && strncmp(line, "# TYPE ", 7) != 0)
		return; /* a plain comment */
	ck_assert_msg(take_name(&p, name, sizeof(name), true) && *p == ' ' && p[1] != '\0',
		      "bad line: %s", line);
	struct family *f = family_get(pg, name);
	ck_assert_msg(f->nsamples == 0, "HELP/TYPE after samples: %s", line);
	if (help) {
		ck_assert_msg(!f->help, "second HELP: %s", line);
		f->help = true;
		snprintf(f->help_text, sizeof(f->help_text), "%s", p + 1);
		return;
	}
	ck_assert_msg(f->type[0] == '\0', "second TYPE: %s", line);
	snprintf(type, sizeof(type), "%s", p + 1);
	ck_assert_msg(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0 ||
			      strcmp(type, "histogram") == 0,
		      "bad type: %s", line);
	memcpy(f->type, type, sizeof(type));
}

/* The family a sample belongs to: its own name, or a histogram's minus the suffix. */
static size_t sample_family(struct page *pg, const char *name)
{
	static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
	for (size_t i = 0; i < pg->nfam; i++) {
		const char *fn = pg->fam[i].name;
		size_t n = strlen(fn);
		if (strcmp(name, fn) == 0 && strcmp(pg->fam[i].type, "histogram") != 0)
			return i;
		if (strncmp(name, fn, n) != 0 || strcmp(pg->fam[i].type, "histogram") != 0)
			continue;
		for (size_t j = 0; j < ARRAY_SIZE(suffixes); j++) {
			if (strcmp(name + n, suffixes[j]) == 0)
				return i;
		}
	}
	ck_abort_msg("sample %s has no HELP/TYPE before it", name);
	return 0;
}

static void add_sample(struct page *pg, const char *line)
{
	ck_assert_uint_lt(pg->nsmp, MAX_SAMPLES);
	struct sample *s = &pg->smp[pg->nsmp];
	ck_assert_msg(parse_sample(line, s), "not `name{labels} value`: \"%s\"", line);
	s->family = sample_family(pg, s->name);
	struct family *f = &pg->fam[s->family];
	ck_assert_msg(f->help && f->type[0], "%s lacks HELP or TYPE", f->name);
	ck_assert_msg(s->family == pg->nfam - 1, "%s is not next to its HELP/TYPE", s->name);
	if (strcmp(f->type, "counter") == 0) {
		size_t n = strlen(s->name);
		ck_assert_msg(n > 6 && strcmp(s->name + n - 6, "_total") == 0,
			      "counter %s does not end in _total", s->name);
	}
	for (size_t i = 0; i < pg->nsmp; i++)
		ck_assert_msg(strcmp(pg->smp[i].name, s->name) != 0 ||
				      strcmp(pg->smp[i].labels, s->labels) != 0,
			      "duplicate series %s{%s}", s->name, s->labels);
	f->nsamples++;
	pg->nsmp++;
}

static void parse_page(const char *text, struct page *pg)
{
	memset(pg, 0, sizeof(*pg));
	size_t len = strlen(text);
	ck_assert_msg(len > 0 && text[len - 1] == '\n', "page does not end with a newline");
	char *copy = strdup(text), *save = NULL;
	ck_assert_ptr_nonnull(copy);
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			parse_comment(pg, line);
		else
			add_sample(pg, line);
	}
	free(copy);
	ck_assert_msg(strstr(text, "\n\n") == NULL, "empty line in the page");
	for (size_t i = 0; i < pg->nfam; i++)
		ck_assert_msg(pg->fam[i].nsamples > 0 && pg->fam[i].type[0] && pg->fam[i].help,
			      "family %s incomplete", pg->fam[i].name);
}

static const struct sample *find(const struct page *pg, const char *name, const char *labels)
{
	for (size_t i = 0; i < pg->nsmp; i++) {
		if (strcmp(pg->smp[i].name, name) == 0 && strcmp(pg->smp[i].labels, labels) == 0)
			return &pg->smp[i];
	}
	ck_abort_msg("no sample %s{%s}", name, labels);
	return NULL;
}

static double value(const struct page *pg, const char *name, const char *labels)
{
	return find(pg, name, labels)->value;
}

static double le_value(const char *le)
{
	return strcmp(le, "+Inf") == 0 ? INFINITY : strtod(le, NULL);
}

/* Buckets ascending and cumulative, +Inf last and equal to _count, _sum present. */
static void check_histogram(const struct page *pg, size_t fam)
{
	char name[160];
	double prev_le = -INFINITY, prev = 0;
	const struct sample *last = NULL;
	snprintf(name, sizeof(name), "%s_bucket", pg->fam[fam].name);
	for (size_t i = 0; i < pg->nsmp; i++) {
		const struct sample *s = &pg->smp[i];
		if (strcmp(s->name, name) != 0)
			continue;
		ck_assert_msg(s->le[0] != '\0', "%s without le", name);
		ck_assert_msg(le_value(s->le) > prev_le, "%s: le %s not ascending", name, s->le);
		ck_assert_msg(s->value >= prev, "%s: le %s not cumulative", name, s->le);
		prev_le = le_value(s->le);
		prev = s->value;
		last = s;
	}
	ck_assert_ptr_nonnull(last);
	ck_assert_str_eq(last->le, "+Inf");
	snprintf(name, sizeof(name), "%s_count", pg->fam[fam].name);
	ck_assert(last->value == value(pg, name, ""));
	snprintf(name, sizeof(name), "%s_sum", pg->fam[fam].name);
	(void)find(pg, name, "");
}

static void render(const struct server *srv, const struct admin_state *st, struct page *pg,
		   char **text_out)
{
	struct evbuffer *b = evbuffer_new();
	ck_assert_ptr_nonnull(b);
	admin_render_metrics(srv, st, b);
	size_t n = evbuffer_get_length(b);
	char *text = malloc(n + 1);
	ck_assert_ptr_nonnull(text);
	evbuffer_remove(b, text, n);
	text[n] = '\0';
	evbuffer_free(b);
	parse_page(text, pg);
	if (text_out)
		*text_out = text;
	else
		free(text);
}

static void state_from_fakes(struct admin_state *st)
{
	*st = (struct admin_state){.store = fake_stats,
				   .judge = fake_judge,
				   .chain = {.linked = 42, .checkpoints = 3},
				   .db_connects = 2,
				   .db_up = fake_db_up,
				   .start_time = 1764072000.25,
				   .proc = {.fds_known = true,
					    .memory_known = true,
					    .open_fds = 97,
					    .max_fds = 65536,
					    .resident_bytes = 25165824,
					    .virtual_bytes = 268435456,
					    .cpu_seconds = 12.5}};
	st->conns_by_state[CONN_STATES - 1] = fake_conns;
}

/* ---- the naming rules (prometheus.io/docs/practices/naming) ---- */

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* word is one of name's '_'-separated components. */
static bool has_word(const char *name, const char *word)
{
	size_t k = strlen(word);
	for (const char *p = name; (p = strstr(p, word)) != NULL; p++) {
		if ((p == name || p[-1] == '_') && (p[k] == '\0' || p[k] == '_'))
			return true;
	}
	return false;
}

/* The label names of family fam's samples, each checked; false with why on the first bad one. */
static bool labels_ok(const struct page *pg, size_t fam, char *why, size_t cap)
{
	for (size_t i = 0; i < pg->nsmp; i++) {
		if (pg->smp[i].family != fam)
			continue;
		for (const char *p = pg->smp[i].labels; *p;) {
			size_t n = strcspn(p, "=");
			char lname[64];
			snprintf(lname, sizeof(lname), "%.*s", (int)n, p);
			if (strncmp(lname, "__", 2) == 0 || has_word(pg->fam[fam].name, lname)) {
				snprintf(why, cap, "%s: label %s (reserved, or in the name)",
					 pg->fam[fam].name, lname);
				return false;
			}
			for (p += n + 2; *p && !(*p == '"' && p[-1] != '\\'); p++)
				;
			p += *p == '"';
			p += *p == ',';
		}
	}
	return true;
}

/*
 * The rules every family of the page keeps; NULL when it does, else why
 * not.  Lower-case snake case under hoursd_ or process_; counters and only
 * counters end in _total; the suffixes of a histogram's series are its
 * own; base units only (seconds, bytes), written last (before _total),
 * and written when the help says "in seconds"/"in bytes"; no label in
 * a name ("_by_", a label's own name); an _info gauge is 1.
 */
static const char *name_problem(const struct page *pg, size_t fam, char *why, size_t cap)
{
	static const char *const not_base[] = {"milliseconds", "ms",	  "microseconds", "us",
					       "nanoseconds",  "minutes", "hours",	  "days",
					       "kilobytes",    "kb",	  "megabytes",	  "mb",
					       "percent",      "bits"};
	static const char *const units[] = {"seconds", "bytes"};
	const struct family *f = &pg->fam[fam];
	const char *n = f->name;
	bool counter = strcmp(f->type, "counter") == 0;
	const char *base = counter ? "_total" : "";
	for (const char *p = n; *p; p++)
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_') ||
		    (*p == '_' && (p[1] == '_' || p[1] == '\0')))
			return snprintf(why, cap, "%s: not lower-case snake case", n), why;
	if (strncmp(n, "hoursd_", 7) != 0 && strncmp(n, "process_", 8) != 0)
		return snprintf(why, cap, "%s: neither hoursd_ nor process_", n), why;
	if (counter != ends_with(n, "_total"))
		return snprintf(why, cap, "%s: a %s %s in _total", n, f->type,
				counter ? "not ending" : "ending"),
		       why;
	if (strcmp(f->type, "histogram") != 0 &&
	    (ends_with(n, "_bucket") || ends_with(n, "_sum") || ends_with(n, "_count")))
		return snprintf(why, cap, "%s: a histogram's suffix", n), why;
	for (size_t i = 0; i < ARRAY_SIZE(not_base); i++)
		if (has_word(n, not_base[i]))
			return snprintf(why, cap, "%s: %s is not a base unit", n, not_base[i]), why;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		char last[32], in[32];
		snprintf(last, sizeof(last), "_%s%s", units[i], base);
		snprintf(in, sizeof(in), "in %s", units[i]);
		if (has_word(n, units[i]) && !ends_with(n, last))
			return snprintf(why, cap, "%s: the unit %s not last", n, units[i]), why;
		if (strstr(f->help_text, in) && !has_word(n, units[i]))
			return snprintf(why, cap, "%s: counts %s, not in its name", n, units[i]),
			       why;
	}
	if (has_word(n, "by"))
		return snprintf(why, cap, "%s: a label in the name (_by_)", n), why;
	if (!labels_ok(pg, fam, why, cap))
		return why;
	if (ends_with(n, "_info")) {
		for (size_t i = 0; i < pg->nsmp; i++)
			if (pg->smp[i].family == fam && pg->smp[i].value != 1)
				return snprintf(why, cap, "%s: an _info gauge not 1", n), why;
		if (strcmp(f->type, "gauge") != 0)
			return snprintf(why, cap, "%s: an _info not a gauge", n), why;
	}
	return NULL;
}

static void check_names(const struct page *pg)
{
	char why[256];
	for (size_t i = 0; i < pg->nfam; i++) {
		const char *bad = name_problem(pg, i, why, sizeof(why));
		ck_assert_msg(bad == NULL, "%s", bad);
	}
}

/* ---- histograms ---- */

START_TEST(hist_buckets)
{
	static const double bounds[] = {1, 2.5, 10, -1};
	struct hist h;
	hist_init(&h, bounds);
	ck_assert_uint_eq(h.nbuckets, 3);
	hist_observe(&h, 0.5);
	hist_observe(&h, 1); /* le is inclusive */
	hist_observe(&h, 2.6);
	hist_observe(&h, 11);
	hist_observe(&h, NAN); /* dropped */
	ck_assert_uint_eq(h.counts[0], 2);
	ck_assert_uint_eq(h.counts[1], 0);
	ck_assert_uint_eq(h.counts[2], 1);
	ck_assert_uint_eq(h.counts[3], 1);
	ck_assert_uint_eq(h.count, 4);
	ck_assert_double_eq_tol(h.sum, 15.1, 1e-9);
}
END_TEST

START_TEST(hist_defined)
{
	metrics_init();
	ck_assert_uint_eq(metric_batch_rows.nbuckets, 12);
	ck_assert_double_eq(metric_batch_rows.bounds[11], 5000);
	ck_assert_uint_eq(metric_commit_seconds.nbuckets, 12);
	ck_assert_double_eq(metric_commit_seconds.bounds[0], 0.0005);
	ck_assert_double_eq(metric_ack_seconds.bounds[11], 2.5);
	ck_assert_uint_eq(metric_ack_seconds.count, 0);
}
END_TEST

/* ---- the page ---- */

START_TEST(page_parses_and_matches)
{
	struct server srv;
	struct admin_state st;
	struct page pg;
	char *text;
	fake_server(&srv);
	state_from_fakes(&st);
	metrics_init();
	render(&srv, &st, &pg, &text);
	ck_assert_ptr_nonnull(strstr(text, "# TYPE hoursd_connections_accepted_total counter\n"));
	free(text);
	ck_assert(value(&pg, "hoursd_connections_accepted_total", "") == 101);
	ck_assert(value(&pg, "hoursd_connections_closed_total", "") == 7);
	ck_assert(value(&pg, "hoursd_connections", "state=\"authenticated\"") == 94);
	ck_assert(value(&pg, "hoursd_connections", "state=\"handshake\"") == 0);
	ck_assert(value(&pg, "hoursd_tls_handshake_failures_total", "") == 3);
	ck_assert(value(&pg, "hoursd_frames_total", "type=\"location\"") == 120000);
	ck_assert(value(&pg, "hoursd_frames_total", "type=\"heartbeat\"") == 3000);
	ck_assert(value(&pg, "hoursd_frames_total", "type=\"malformed\"") == 18);
	ck_assert(value(&pg, "hoursd_frames_total", "type=\"registration\"") == 0);
	ck_assert(value(&pg, "hoursd_bad_frames_total", "reason=\"check\"") == 17);
	ck_assert(value(&pg, "hoursd_bad_frames_total", "reason=\"piece\"") == 1);
	ck_assert(value(&pg, "hoursd_bad_frames_total", "reason=\"short\"") == 0);
	ck_assert(value(&pg, "hoursd_oversize_frames_total", "") == 2);
	ck_assert(value(&pg, "hoursd_junk_bytes_total", "") == 99);
	ck_assert(value(&pg, "hoursd_number_mismatch_total", "") == 4);
	ck_assert(value(&pg, "hoursd_unknown_terminal_total", "") == 5);
	ck_assert(value(&pg, "hoursd_not_authenticated_total", "") == 6);
	ck_assert(value(&pg, "hoursd_unsupported_messages_total", "") == 8);
	ck_assert(value(&pg, "hoursd_positions_total", "") == 120000);
	ck_assert(value(&pg, "hoursd_acks_total", "result=\"ok\"") == 110000);
	ck_assert(value(&pg, "hoursd_acks_total", "result=\"failed\"") == 12);
	ck_assert(value(&pg, "hoursd_training_records_total", "verdict=\"accepted\"") == 300);
	ck_assert(value(&pg, "hoursd_training_records_total", "verdict=\"rejected\"") == 9);
	ck_assert(value(&pg, "hoursd_session_events_total", "") == 40);
	ck_assert(value(&pg, "hoursd_photos_total", "") == 11);
	ck_assert(value(&pg, "hoursd_db_up", "") == 1);
	ck_assert(value(&pg, "hoursd_db_batches_total", "") == 900);
	ck_assert(value(&pg, "hoursd_db_rows_total", "") == 119990);
	ck_assert(value(&pg, "hoursd_db_connects_total", "") == 2);
	ck_assert(value(&pg, "hoursd_db_errors_total", "") == 1);
	ck_assert(value(&pg, "hoursd_db_queued_rows", "") == 10);
	ck_assert(value(&pg, "hoursd_judge_batches_total", "") == 30);
	ck_assert(value(&pg, "hoursd_judge_errors_total", "") == 1);
	ck_assert(value(&pg, "hoursd_judge_records_total", "decision=\"counted\"") == 290);
	ck_assert(value(&pg, "hoursd_judge_records_total", "decision=\"daily_cap\"") == 7);
	ck_assert(value(&pg, "hoursd_judge_packets_total", "") == 3);
	ck_assert(value(&pg, "hoursd_audit_links_total", "") == 42);
	ck_assert(value(&pg, "hoursd_audit_checkpoints_total", "") == 3);
	/* Rejections by reason add ingest's and the judge's. */
	ck_assert(value(&pg, "hoursd_training_records_rejected_total", "reason=\"no_signature\"") ==
		  5);
	ck_assert(value(&pg, "hoursd_training_records_rejected_total", "reason=\"daily_cap\"") ==
		  7);
	ck_assert(value(&pg, "hoursd_training_records_rejected_total",
			"reason=\"student_overlap\"") == 2);
	ck_assert(value(&pg, "hoursd_build_info", "version=\"" HOURSD_VERSION "\"") == 1);
	ck_assert(value(&pg, "process_start_time_seconds", "") == 1764072000.25);
	ck_assert(value(&pg, "process_open_fds", "") == 97);
	ck_assert(value(&pg, "process_max_fds", "") == 65536);
	ck_assert(value(&pg, "process_resident_memory_bytes", "") == 25165824);
	ck_assert(value(&pg, "process_virtual_memory_bytes", "") == 268435456);
	ck_assert(value(&pg, "process_cpu_seconds_total", "") == 12.5);
	ck_assert(value(&pg, "hoursd_draining", "") == 0);
	ck_assert(value(&pg, "hoursd_tls_listener_up", "") == 1);
}
END_TEST

/* Every reason but "ok" once, each under its own name. */
START_TEST(page_bad_frame_reasons)
{
	struct server srv;
	struct admin_state st;
	struct page pg;
	fake_server(&srv);
	state_from_fakes(&st);
	for (int i = 0; i < JT808_E__COUNT; i++)
		srv.st.bad_frames[i] = 1000 + (uint64_t)i;
	render(&srv, &st, &pg, NULL);
	size_t n = 0;
	for (size_t i = 0; i < pg.nsmp; i++)
		n += strcmp(pg.smp[i].name, "hoursd_bad_frames_total") == 0;
	ck_assert_uint_eq(n, JT808_E__COUNT - 1);
	for (int i = 1; i < JT808_E__COUNT; i++) {
		char labels[64];
		snprintf(labels, sizeof(labels), "reason=\"%s\"",
			 jt808_strerror((enum jt808_err)i));
		ck_assert(value(&pg, "hoursd_bad_frames_total", labels) == 1000 + i);
	}
}
END_TEST

/* Every reason code but R_NONE once, under its stored name, "other" and "number_reused" too. */
START_TEST(page_rejected_record_reasons)
{
	struct server srv;
	struct admin_state st;
	struct page pg;
	fake_server(&srv);
	state_from_fakes(&st);
	st.judge = (struct judge_stats){0}; /* ingest's counts alone */
	for (int r = 0; r < R__COUNT; r++)
		srv.st.records_rejected_by_reason[r] = 2000 + (uint64_t)r;
	render(&srv, &st, &pg, NULL);
	size_t n = 0;
	for (size_t i = 0; i < pg.nsmp; i++)
		n += strcmp(pg.smp[i].name, "hoursd_training_records_rejected_total") == 0;
	ck_assert_uint_eq(n, R__COUNT - 1);
	for (int r = R_NONE + 1; r < R__COUNT; r++) {
		char labels[64];
		snprintf(labels, sizeof(labels), "reason=\"%s\"", reason_name((enum reason)r));
		ck_assert(value(&pg, "hoursd_training_records_rejected_total", labels) == 2000 + r);
	}
	ck_assert(value(&pg, "hoursd_training_records_rejected_total", "reason=\"other\"") ==
		  2000 + R_OTHER);
	ck_assert(value(&pg, "hoursd_training_records_rejected_total",
			"reason=\"number_reused\"") == 2000 + R_NUMBER_REUSED);
}
END_TEST

START_TEST(page_histograms)
{
	struct server srv;
	struct admin_state st;
	struct page pg;
	fake_server(&srv);
	state_from_fakes(&st);
	metrics_init();
	static const double rows[] = {1, 1, 3, 500, 501, 9000};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		hist_observe(&metric_batch_rows, rows[i]);
	hist_observe(&metric_commit_seconds, 0.0004);
	hist_observe(&metric_commit_seconds, 0.1);
	hist_observe(&metric_commit_seconds, 30);
	render(&srv, &st, &pg, NULL);
	size_t nhist = 0;
	for (size_t i = 0; i < pg.nfam; i++) {
		if (strcmp(pg.fam[i].type, "histogram") == 0) {
			check_histogram(&pg, i);
			nhist++;
		}
	}
	ck_assert_uint_eq(nhist, 5);
	ck_assert(value(&pg, "hoursd_db_batch_rows_bucket", "le=\"1\"") == 2);
	ck_assert(value(&pg, "hoursd_db_batch_rows_bucket", "le=\"5\"") == 3);
	ck_assert(value(&pg, "hoursd_db_batch_rows_bucket", "le=\"500\"") == 4);
	ck_assert(value(&pg, "hoursd_db_batch_rows_bucket", "le=\"1000\"") == 5);
	ck_assert(value(&pg, "hoursd_db_batch_rows_bucket", "le=\"5000\"") == 5);
	ck_assert(value(&pg, "hoursd_db_batch_rows_bucket", "le=\"+Inf\"") == 6);
	ck_assert(value(&pg, "hoursd_db_batch_rows_sum", "") == 10006);
	ck_assert(value(&pg, "hoursd_db_commit_seconds_bucket", "le=\"0.0005\"") == 1);
	ck_assert(value(&pg, "hoursd_db_commit_seconds_bucket", "le=\"0.1\"") == 2);
	ck_assert(value(&pg, "hoursd_db_commit_seconds_bucket", "le=\"2.5\"") == 2);
	ck_assert(value(&pg, "hoursd_db_commit_seconds_count", "") == 3);
	ck_assert_double_eq_tol(value(&pg, "hoursd_db_commit_seconds_sum", ""), 30.1004, 1e-9);
	ck_assert(value(&pg, "hoursd_ack_seconds_count", "") == 0);
}
END_TEST

/* Every family of a full page (the outbox counted) keeps the naming rules. */
START_TEST(page_naming_rules)
{
	struct server srv;
	struct admin_state st;
	struct page pg;
	fake_server(&srv);
	state_from_fakes(&st);
	srv.st.outbox_known = true;
	metrics_init();
	render(&srv, &st, &pg, NULL);
	check_names(&pg);
	for (size_t i = 0; i < pg.nfam; i++)
		ck_assert_msg(strcmp(pg.fam[i].name, "hoursd_connections_open") != 0,
			      "hoursd_connections_open is sum(hoursd_connections)");
	/* hoursd_frames_total is the one count of frames: every frame under one type. */
	double frames = 0;
	for (size_t i = 0; i < pg.nsmp; i++)
		if (strcmp(pg.smp[i].name, "hoursd_frames_total") == 0)
			frames += pg.smp[i].value;
	ck_assert(frames == 120000 + 3000 + 18);
	/* The process_* families of the client libraries, with their types. */
	static const char *const proc[][2] = {
		{"process_start_time_seconds", "gauge"},
		{"process_cpu_seconds_total", "counter"},
		{"process_open_fds", "gauge"},
		{"process_max_fds", "gauge"},
		{"process_resident_memory_bytes", "gauge"},
		{"process_virtual_memory_bytes", "gauge"},
	};
	for (size_t k = 0; k < ARRAY_SIZE(proc); k++) {
		size_t i = 0;
		while (i < pg.nfam && strcmp(pg.fam[i].name, proc[k][0]) != 0)
			i++;
		ck_assert_msg(i < pg.nfam, "no %s", proc[k][0]);
		ck_assert_str_eq(pg.fam[i].type, proc[k][1]);
	}
}
END_TEST

/*
 * The naming rules catch what they are for (each page is otherwise
 * well-formed; a counter without _total the parser refuses already).
 */
START_TEST(naming_rules_catch)
{
	static const char *const bad[] = {
		"# HELP hoursd_frames_by_type_total x\n# TYPE hoursd_frames_by_type_total counter\n"
		"hoursd_frames_by_type_total{type=\"a\"} 1\n",
		"# HELP hoursd_frames_type_total x\n# TYPE hoursd_frames_type_total counter\n"
		"hoursd_frames_type_total{type=\"a\"} 1\n",
		"# HELP hoursd_open_total x\n# TYPE hoursd_open_total gauge\nhoursd_open_total 1\n",
		"# HELP hoursd_lag_ms x\n# TYPE hoursd_lag_ms gauge\nhoursd_lag_ms 1\n",
		"# HELP hoursd_lag x in seconds\n# TYPE hoursd_lag gauge\nhoursd_lag 1\n",
		"# HELP hoursd_seconds_lag x\n# TYPE hoursd_seconds_lag gauge\nhoursd_seconds_lag 1\n",
		"# HELP hoursd_Lag x\n# TYPE hoursd_Lag gauge\nhoursd_Lag 1\n",
		"# HELP lag_seconds x\n# TYPE lag_seconds gauge\nlag_seconds 1\n",
		"# HELP hoursd_rows_count x\n# TYPE hoursd_rows_count gauge\nhoursd_rows_count 1\n",
		"# HELP hoursd_x_info x\n# TYPE hoursd_x_info gauge\nhoursd_x_info{v=\"1\"} 2\n",
		"# HELP hoursd_x x\n# TYPE hoursd_x gauge\nhoursd_x{__a=\"1\"} 2\n",
	};
	char why[256];
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct page pg;
		parse_page(bad[i], &pg);
		ck_assert_msg(name_problem(&pg, 0, why, sizeof(why)) != NULL, "not caught: %s",
			      bad[i]);
	}
	struct page pg;
	parse_page("# HELP hoursd_lag_seconds x in seconds\n# TYPE hoursd_lag_seconds gauge\n"
		   "hoursd_lag_seconds{state=\"a\",kind=\"b\"} 1\n",
		   &pg);
	ck_assert_ptr_null(name_problem(&pg, 0, why, sizeof(why)));
}
END_TEST

/* The process's own figures, read from /proc: a descriptor opened is one more. */
START_TEST(process_figures)
{
	struct admin_process a, b;
	admin_read_process(&a);
	ck_assert(a.fds_known && a.memory_known);
	ck_assert_uint_ge(a.open_fds, 3); /* stdin, stdout, stderr */
	ck_assert(a.max_fds >= a.open_fds);
	ck_assert(a.resident_bytes > 0 && a.virtual_bytes >= a.resident_bytes);
	int fd = open("/dev/null", O_RDONLY);
	ck_assert_int_ge(fd, 0);
	/* Some CPU time, so that the counter moves (getrusage, finer than /proc's clock ticks). */
	volatile double x = 0;
	do {
		for (int i = 0; i < 100000; i++)
			x += i;
		admin_read_process(&b);
	} while (b.cpu_seconds < a.cpu_seconds + 0.02);
	ck_assert_uint_eq(b.open_fds, a.open_fds + 1);
	ck_assert(b.cpu_seconds > a.cpu_seconds);
	close(fd);
	admin_read_process(&b);
	ck_assert_uint_eq(b.open_fds, a.open_fds);
}
END_TEST

/* The parser itself refuses what the format forbids. */
START_TEST(parser_is_strict)
{
	struct sample s;
	ck_assert(parse_sample("a_total 1", &s));
	ck_assert(parse_sample("a{b=\"x\\\"y\\\\z\\n\",le=\"+Inf\"} 2.5e-3", &s));
	ck_assert_str_eq(s.le, "+Inf");
	ck_assert(!parse_sample("a{b=\"x\"} ", &s));
	ck_assert(!parse_sample("a{b=x} 1", &s));
	ck_assert(!parse_sample("a{b=\"\\t\"} 1", &s));
	ck_assert(!parse_sample("a 1 1700000000000 x", &s));
	ck_assert(!parse_sample("9a 1", &s));
	ck_assert(!parse_sample("a  1", &s));
	ck_assert(!parse_sample("a{b:c=\"x\"} 1", &s));
}
END_TEST

/* ---- readiness ---- */

START_TEST(ready_reasons)
{
	struct server srv;
	char why[256];
	fake_server(&srv);
	ck_assert(admin_ready(&srv, true, why, sizeof(why)));
	ck_assert_str_eq(why, "");
	ck_assert(!admin_ready(&srv, false, why, sizeof(why)));
	ck_assert_str_eq(why, "database not connected\n");
	srv.tls_listener = NULL;
	ck_assert(!admin_ready(&srv, false, why, sizeof(why)));
	ck_assert_str_eq(why, "TLS listener not up\ndatabase not connected\n");
	srv.draining = true;
	ck_assert(!admin_ready(&srv, true, why, sizeof(why)));
	ck_assert_str_eq(why, "draining: shutting down\n");
	ck_assert(!admin_ready(&srv, false, why, 10));
	ck_assert_str_eq(why, "draining:");
}
END_TEST

/* ---- HTTP over loopback ---- */

struct response {
	int code;
	char body[32768];
	char content_type[128];
	char allow[64];
	bool done;
};

static void on_response(struct evhttp_request *req, void *arg)
{
	struct response *r = arg;
	r->done = true;
	if (req == NULL)
		return;
	r->code = evhttp_request_get_response_code(req);
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	ck_assert_uint_lt(n, sizeof(r->body));
	evbuffer_remove(in, r->body, n);
	r->body[n] = '\0';
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const char *ct = evhttp_find_header(h, "Content-Type");
	const char *allow = evhttp_find_header(h, "Allow");
	snprintf(r->content_type, sizeof(r->content_type), "%s", ct ? ct : "");
	snprintf(r->allow, sizeof(r->allow), "%s", allow ? allow : "");
}

static struct event_base *base;
static struct server hsrv;
static struct admin *adm;

static void http_setup(void)
{
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	fake_server(&hsrv);
	hsrv.base = base;
	metrics_init();
	char err[256];
	adm = admin_start(&hsrv, "127.0.0.1:0", err, sizeof(err));
	ck_assert_msg(adm != NULL, "%s", err);
	ck_assert_uint_gt(admin_port(adm), 0);
}

static void http_teardown(void)
{
	admin_free(adm);
	event_base_free(base);
}

/* One request on a fresh connection, run to its answer. */
static void request(enum evhttp_cmd_type method, const char *path, struct response *r)
{
	memset(r, 0, sizeof(*r));
	struct evhttp_connection *c =
		evhttp_connection_base_new(base, NULL, "127.0.0.1", (ev_uint16_t)admin_port(adm));
	ck_assert_ptr_nonnull(c);
	struct evhttp_request *req = evhttp_request_new(on_response, r);
	ck_assert_ptr_nonnull(req);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Host", "127.0.0.1");
	ck_assert_int_eq(evhttp_make_request(c, req, method, path), 0);
	while (!r->done)
		ck_assert_int_ge(event_base_loop(base, EVLOOP_ONCE), 0);
	evhttp_connection_free(c);
	ck_assert_msg(r->code != 0, "%s: no answer", path);
}

START_TEST(http_healthz)
{
	struct response r;
	request(EVHTTP_REQ_GET, "/healthz", &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(r.body, "ok\n");
	ck_assert_str_eq(r.content_type, "text/plain; charset=utf-8");
	request(EVHTTP_REQ_HEAD, "/healthz", &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(r.body, "");
}
END_TEST

START_TEST(http_readyz)
{
	struct response r;
	request(EVHTTP_REQ_GET, "/readyz", &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(r.body, "ready\n");
	fake_db_up = false;
	request(EVHTTP_REQ_GET, "/readyz", &r);
	ck_assert_int_eq(r.code, 503);
	ck_assert_str_eq(r.body, "database not connected\n");
	fake_db_up = true;
	hsrv.draining = true;
	hsrv.tls_listener = NULL;
	request(EVHTTP_REQ_GET, "/readyz", &r);
	ck_assert_int_eq(r.code, 503);
	ck_assert_str_eq(r.body, "draining: shutting down\n");
	/* No store at all (not created yet): not ready, not a crash. */
	hsrv.draining = false;
	hsrv.tls_listener = (struct evconnlistener *)&fake_listener_obj;
	hsrv.ingest = NULL;
	request(EVHTTP_REQ_GET, "/readyz", &r);
	ck_assert_int_eq(r.code, 503);
	ck_assert_str_eq(r.body, "database not connected\n");
}
END_TEST

START_TEST(http_metrics)
{
	struct response r;
	struct page pg;
	hist_observe(&metric_ack_seconds, 0.003);
	request(EVHTTP_REQ_GET, "/metrics", &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
	parse_page(r.body, &pg);
	ck_assert(value(&pg, "hoursd_connections_accepted_total", "") == 101);
	ck_assert(value(&pg, "hoursd_connections", "state=\"authenticated\"") == 94);
	ck_assert(value(&pg, "hoursd_db_rows_total", "") == 119990);
	/* The real process: the test's own descriptors and memory. */
	ck_assert(value(&pg, "process_open_fds", "") >= 3);
	ck_assert(value(&pg, "process_open_fds", "") <= value(&pg, "process_max_fds", ""));
	ck_assert(value(&pg, "process_resident_memory_bytes", "") > 1e6);
	ck_assert(value(&pg, "hoursd_ack_seconds_bucket", "le=\"0.0025\"") == 0);
	ck_assert(value(&pg, "hoursd_ack_seconds_bucket", "le=\"0.005\"") == 1);
	double start = value(&pg, "process_start_time_seconds", "");
	ck_assert(start > 1.7e9 && start <= (double)time(NULL) + 1);
	request(EVHTTP_REQ_GET, "/metrics?name=x", &r);
	ck_assert_int_eq(r.code, 200);
}
END_TEST

START_TEST(http_not_found_and_method)
{
	struct response r;
	request(EVHTTP_REQ_GET, "/", &r);
	ck_assert_int_eq(r.code, 404);
	request(EVHTTP_REQ_GET, "/metrics/", &r);
	ck_assert_int_eq(r.code, 404);
	request(EVHTTP_REQ_POST, "/nothing", &r);
	ck_assert_int_eq(r.code, 404);
	request(EVHTTP_REQ_POST, "/metrics", &r);
	ck_assert_int_eq(r.code, 405);
	ck_assert_str_eq(r.allow, "GET, HEAD");
	request(EVHTTP_REQ_DELETE, "/readyz", &r);
	ck_assert_int_eq(r.code, 405);
	request(EVHTTP_REQ_PATCH, "/healthz", &r);
	ck_assert_int_eq(r.code, 405);
}
END_TEST

START_TEST(start_errors)
{
	char err[256];
	ck_assert_ptr_null(admin_start(&hsrv, "localhost", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "expected \"host:port\""));
	ck_assert_ptr_null(admin_start(&hsrv, "127.0.0.1:65536", err, sizeof(err)));
	ck_assert_ptr_null(admin_start(&hsrv, "[::1:80", err, sizeof(err)));
	ck_assert_ptr_null(admin_start(&hsrv, ":80", err, sizeof(err)));
	ck_assert_ptr_null(admin_start(&hsrv, "127.0.0.1:-1", err, sizeof(err)));
	/* The port the fixture holds is taken. */
	char addr[64];
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", admin_port(adm));
	ck_assert_ptr_null(admin_start(&hsrv, addr, err, sizeof(err)));
	ck_assert_msg(strstr(err, "cannot listen on 127.0.0.1:") != NULL, "%s", err);
	admin_free(NULL);
}
END_TEST

START_TEST(start_ipv6)
{
	char err[256];
	struct admin *a = admin_start(&hsrv, "[::1]:0", err, sizeof(err));
	if (a == NULL) /* a host without IPv6 loopback */
		return;
	ck_assert_uint_gt(admin_port(a), 0);
	admin_free(a);
}
END_TEST

static Suite *admin_suite(void)
{
	Suite *s = suite_create("admin");
	TCase *tc = tcase_create("page");
	tcase_add_test(tc, hist_buckets);
	tcase_add_test(tc, hist_defined);
	tcase_add_test(tc, page_parses_and_matches);
	tcase_add_test(tc, page_bad_frame_reasons);
	tcase_add_test(tc, page_rejected_record_reasons);
	tcase_add_test(tc, page_histograms);
	tcase_add_test(tc, page_naming_rules);
	tcase_add_test(tc, naming_rules_catch);
	tcase_add_test(tc, process_figures);
	tcase_add_test(tc, parser_is_strict);
	tcase_add_test(tc, ready_reasons);
	suite_add_tcase(s, tc);
	tc = tcase_create("http");
	tcase_add_checked_fixture(tc, http_setup, http_teardown);
	tcase_add_test(tc, http_healthz);
	tcase_add_test(tc, http_readyz);
	tcase_add_test(tc, http_metrics);
	tcase_add_test(tc, http_not_found_and_method);
	tcase_add_test(tc, start_errors);
	tcase_add_test(tc, start_ipv6);
	suite_add_tcase(s, tc);
	return s;
}

/*
 * `check_admin --dump` prints a page rendered from the fake server, for
 * `promtool check metrics` and for reading.
 */
static int dump(void)
{
	struct server srv;
	struct admin_state st;
	fake_server(&srv);
	state_from_fakes(&st);
	metrics_init();
	hist_observe(&metric_batch_rows, 42);
	hist_observe(&metric_commit_seconds, 0.004);
	hist_observe(&metric_ack_seconds, 0.006);
	struct evbuffer *b = evbuffer_new();
	if (b == NULL)
		return EXIT_FAILURE;
	admin_render_metrics(&srv, &st, b);
	while (evbuffer_get_length(b) > 0 && evbuffer_write(b, 1) > 0)
		;
	evbuffer_free(b);
	return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--dump") == 0)
		return dump();
	SRunner *sr = srunner_create(admin_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
