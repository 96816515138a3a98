/*
 * conf.c - the YAML configuration, see conf.h.
 *
 * One static table, conf_keys[], describes every key: its dotted name,
 * type, place in struct hconf, bounds, default and whether a reload may
 * change it.  The loader reads the file with libyaml's document API,
 * flattens the nested mappings into dotted names, looks each one up in
 * the table and stores the value; then it checks required keys and the
 * rules that tie several keys together.  Nothing is half-applied: on any
 * error the new struct is freed and the caller keeps what it had.
 */
#include "hoursd.h"
#include "conf.h"
#include "log.h"
#include "proxy.h"
#include "ydoc.h"

#include <libpq-fe.h>
#include <limits.h>
#include <unistd.h>

enum conf_type {
	CT_STR,	    /* non-empty string */
	CT_STR_OFF, /* string; empty means off and stores NULL */
	CT_UINT,    /* unsigned decimal within [min, max] */
	CT_BOOL,    /* true / false */
	CT_LEVEL,   /* a log level name, see log_level_parse() */
};

/* Extra check of a string value; false with a reason in why. */
typedef bool (*conf_check_fn)(const char *s, char *why, size_t whylen);

struct conf_key {
	const char *name;
	enum conf_type type;
	size_t off;
	unsigned min, max;
	unsigned def_uint;   /* CT_UINT and CT_BOOL */
	const char *def_str; /* string types: NULL = required (CT_STR) or off */
	bool reloadable;
	conf_check_fn check;
};

static bool check_hostport(const char *s, char *why, size_t whylen);
static bool check_platform_no(const char *s, char *why, size_t whylen);
static bool check_unsigned(const char *s, char *why, size_t whylen);
static bool check_push_profile(const char *s, char *why, size_t whylen);
static bool check_national_esignature(const char *s, char *why, size_t whylen);
static bool check_schedule(const char *s, char *why, size_t whylen);
static bool check_date(const char *s, char *why, size_t whylen);

/* clang-format off */
#define OFF(f) offsetof(struct hconf, f)
#define KSTR(n, f, def, rl, chk) {n, CT_STR, OFF(f), 0, 0, 0, def, rl, chk}
#define KOFF(n, f, def, rl, chk) {n, CT_STR_OFF, OFF(f), 0, 0, 0, def, rl, chk}
#define KUINT(n, f, lo, hi, def, rl) {n, CT_UINT, OFF(f), lo, hi, def, NULL, rl, NULL}
#define KBOOL(n, f, def, rl) {n, CT_BOOL, OFF(f), 0, 1, def, NULL, rl, NULL}
#define KLEVEL(n, f, def, rl) {n, CT_LEVEL, OFF(f), 0, 0, 0, def, rl, NULL}
/* clang-format on */

/*
 * The table.  Bounds are what the code can live with, not what is wise;
 * docs/configuration.md says what is wise.  Order is the index of key_set.
 */
static const struct conf_key conf_keys[] = {
	KSTR("listen.tls", listen_tls, NULL, false, check_hostport),
	KOFF("listen.plain", listen_plain, NULL, false, check_hostport),
	KOFF("listen.proxy_protocol", proxy_protocol, NULL, false, proxy_setting_valid),
	KSTR("tls.cert", tls_cert, NULL, true, NULL),
	KSTR("tls.key", tls_key, NULL, true, NULL),
	KSTR("tls.ca", tls_ca, NULL, true, NULL),
	KSTR("database.conninfo", db_conninfo, NULL, false, NULL),
	KUINT("database.connections", db_connections, 1, 8, 2, false),
	KUINT("database.batch_max_rows", batch_max_rows, 1, 100000, 500, true),
	KUINT("database.batch_max_ms", batch_max_ms, 1, 10000, 5, true),
	KUINT("database.store_high_water", store_high_water, 1, 10000000, 20000, true),
	KUINT("database.reconnect_min_ms", db_reconnect_min_ms, 10, 60000, 100, true),
	KUINT("database.reconnect_max_ms", db_reconnect_max_ms, 10, 600000, 5000, true),
	KUINT("judge.batch_max_rows", judge_batch_max_rows, 1, 1000000, 5000, true),
	KUINT("judge.interval_ms", judge_interval_ms, 10, 600000, 1000, true),
	KUINT("judge.gap_ms", judge_gap_ms, 0, 10000, 100, true),
	KUINT("judge.busy_batch_rows", judge_busy_batch_rows, 0, 1000000, 0, true),
	KUINT("audit.chain_interval_ms", audit_chain_interval_ms, 10, 600000, 1000, true),
	KOFF("audit.checkpoint_key", audit_checkpoint_key, NULL, true, NULL),
	KUINT("audit.checkpoint_interval_s", audit_checkpoint_interval_s, 1, 86400, 300, true),
	KOFF("audit.checkpoint_file", audit_checkpoint_file, NULL, true, NULL),
	KUINT("connection.idle_timeout_s", idle_timeout_s, 5, 86400, 300, true),
	KUINT("connection.max_frame_bytes", max_frame_bytes, 64, 65536, 2200, true),
	KUINT("connection.high_water", conn_high_water, 1, 100000, 64, true),
	KUINT("connection.frames_per_read", frames_per_read, 1, 10000, 32, true),
	KUINT("connection.reasm_max_pieces", reasm_max_pieces, 2, 65535, 128, true),
	KUINT("connection.reasm_max_bytes", reasm_max_bytes, 1024, 16777216, 131072, true),
	KUINT("connection.reasm_max_age_s", reasm_max_age_s, 1, 3600, 60, true),
	KUINT("connection.auth_window_s", auth_window_s, 10, 86400, 300, true),
	KUINT("connection.auth_failures_per_min", auth_failures_per_min, 1, 100000, 5, true),
	KSTR("registration.platform_no", platform_no, "00000", true, check_platform_no),
	KLEVEL("log.level", log_level, "info", true),
	KBOOL("process.allow_root", allow_root, 0, false),
	KOFF("admin.listen", admin_listen, "127.0.0.1:8809", false, check_hostport),
	KUINT("session.timeout_s", session_timeout_s, 60, 86400, 1800, true),
	KUINT("process.drain_timeout_s", drain_timeout_s, 1, 3600, 20, true),
	KSTR("rules.syllabus", syllabus_path, "/etc/hoursd/syllabus.yaml", true, NULL),
	KUINT("rules.max_record_age_s", max_record_age_s, 60, 31536000, 604800, true),
	KUINT("rules.max_future_s", max_future_s, 0, 86400, 300, true),
	KUINT("rules.max_jump_kmh", max_jump_kmh, 10, 1000, 150, true),
	KUINT("rules.max_speed_difference_kmh", max_speed_difference_kmh, 0, 1000, 30, true),
	KSTR("rules.unsigned", unsigned_policy, "reject", true, check_unsigned),
	KOFF("push.url", push_url, NULL, true, NULL),
	KOFF("push.ca", push_ca, NULL, true, NULL),
	KOFF("push.cert", push_cert, NULL, true, NULL),
	KOFF("push.key", push_key, NULL, true, NULL),
	KOFF("push.sign_key", push_sign_key, NULL, true, NULL),
	KOFF("push.sign_cert", push_sign_cert, NULL, true, NULL),
	KOFF("push.field_map", push_field_map, NULL, true, NULL),
	KUINT("push.concurrency", push_concurrency, 1, 256, 4, true),
	KUINT("push.timeout_s", push_timeout_s, 1, 600, 10, true),
	KUINT("push.retry_min_s", push_retry_min_s, 1, 86400, 5, true),
	KUINT("push.retry_max_s", push_retry_max_s, 1, 604800, 600, true),
	KUINT("push.max_age_s", push_max_age_s, 60, 31536000, 259200, true),
	KUINT("push.lease_s", push_lease_s, 5, 86400, 120, true),
	KUINT("findings.missing_minutes", findings_missing_minutes, 1, 1440, 5, true),
	KUINT("findings.clock_skew_s", findings_clock_skew_s, 1, 86400, 120, true),
	KUINT("findings.off_site_minutes", findings_off_site_minutes, 1, 1000000, 1, true),
	KUINT("findings.max_students_per_coach_day", findings_max_students_per_coach_day, 1, 10000,
	      16, true),
	KUINT("findings.max_coach_minutes_per_day", findings_max_coach_minutes_per_day, 1, 1440,
	      600, true),
	KUINT("findings.min_face_confidence", findings_min_face_confidence, 0, 100, 60, true),
	KUINT("findings.silent_days", findings_silent_days, 1, 3650, 7, true),
	KUINT("findings.min_realtime_percent", findings_min_realtime_percent, 0, 100, 90, true),
	KUINT("findings.max_travel_kmh", findings_max_travel_kmh, 1, 10000, 150, true),
	KSTR("push.profile", push_profile, "hoursd", true, check_push_profile),
	KUINT("push.national_rectype", push_national_rectype, 0, 999, 1, true),
	KUINT("push.national_rectype_backfilled", push_national_rectype_backfilled, 0, 999, 2,
	      true),
	KUINT("push.national_examresult", push_national_examresult, 0, 999, 1, true),
	KBOOL("push.national_review", push_national_review, 0, true),
	KUINT("push.national_failed_max", push_national_failed_max, 1, 100, 3, true),
	KUINT("push.national_review_min_s", push_national_review_min_s, 1, 86400, 300, true),
	KUINT("push.national_review_max_s", push_national_review_max_s, 1, 2592000, 86400, true),
	KSTR("push.national_esignature", push_national_esignature, "body", true,
	     check_national_esignature),
	KSTR("rules.schedule", schedule_policy, "flag", true, check_schedule),
	KSTR("rules.coach_not_registered", registry_policy[0], "refuse", true, check_schedule),
	KSTR("rules.coach_retired", registry_policy[1], "refuse", true, check_schedule),
	KSTR("rules.coach_other_school", registry_policy[2], "refuse", true, check_schedule),
	KSTR("rules.coach_class_not_allowed", registry_policy[3], "refuse", true, check_schedule),
	KSTR("rules.vehicle_not_registered", registry_policy[4], "refuse", true, check_schedule),
	KSTR("rules.vehicle_other_school", registry_policy[5], "refuse", true, check_schedule),
	KSTR("rules.vehicle_other_class", registry_policy[6], "refuse", true, check_schedule),
	KSTR("rules.terminal_not_bound", registry_policy[7], "refuse", true, check_schedule),
	KSTR("rules.legacy_cutoff", legacy_cutoff, "2023-05-25", true, check_date),
	KOFF("listen.readiness", listen_readiness, NULL, false, check_hostport),
	KOFF("readiness.ca", readiness_ca, NULL, false, NULL),
	KOFF("tls.crl", tls_crl, NULL, true, NULL),
	KUINT("connection.max_connections", max_connections, 0, 10000000, 100000, true),
	KUINT("connection.max_per_address", max_per_address, 0, 10000000, 1000, true),
	KUINT("connection.max_per_terminal", max_per_terminal, 0, 10000, 2, true),
	KUINT("connection.handshake_timeout_s", handshake_timeout_s, 1, 3600, 10, true),
	KUINT("connection.auth_timeout_s", auth_timeout_s, 1, 3600, 60, true),
	KUINT("connection.fd_reserve", fd_reserve, 8, 100000, 64, true),
	KUINT("connection.reasm_budget_bytes", reasm_budget_bytes, 65536, 4000000000u, 67108864,
	      true),
	KUINT("connection.warnings_per_min", warnings_per_min, 1, 100000, 10, true),
	KUINT("connection.lines_per_min", lines_per_min, 1, 100000, 30, true),
	KUINT("connection.bad_frames_per_min", bad_frames_per_min, 1, 1000000, 60, true),
	KUINT("connection.throttle_s", throttle_s, 1, 86400, 60, true),
	KUINT("connection.preauth_answers", preauth_answers, 4, 100000, 32, true),
	KUINT("connection.out_max_bytes", out_max_bytes, 4096, 16777216, 65536, true),
	KUINT("connection.out_budget_bytes", out_budget_bytes, 65536, 4000000000u, 67108864, true),
	KUINT("connection.sndbuf_bytes", sndbuf_bytes, 0, 16777216, 65536, true),
	KUINT("connection.write_timeout_s", write_timeout_s, 1, 3600, 30, true),
	KUINT("admin.header_timeout_s", admin_header_timeout_s, 1, 3600, 5, true),
	KUINT("admin.body_timeout_s", admin_body_timeout_s, 1, 3600, 10, true),
};

_Static_assert(ARRAY_SIZE(conf_keys) <= CONF_MAX_KEYS,
	       "key_set and key_line hold CONF_MAX_KEYS keys");

#define NKEYS ARRAY_SIZE(conf_keys)
#define NAME_MAX_LEN 128

/* State of one conf_load() call. */
struct loader {
	struct ydoc y; /* first: the file, the message buffer, the document */
	struct hconf *c;
	unsigned long line[NKEYS]; /* 1-based line of each key set */
	unsigned long root_line;
};

/* Swap one key's value between two configurations. */
static void swap_value(struct hconf *a, struct hconf *b, const struct conf_key *k)
{
	char *pa = (char *)a + k->off, *pb = (char *)b + k->off;
	size_t n = k->type == CT_UINT	? sizeof(unsigned)
		   : k->type == CT_BOOL ? sizeof(bool)
					: sizeof(char *);
	char tmp[sizeof(char *) > sizeof(unsigned) ? sizeof(char *) : sizeof(unsigned)];
	memcpy(tmp, pa, n);
	memcpy(pa, pb, n);
	memcpy(pb, tmp, n);
}

static bool same_value(const struct hconf *a, const struct hconf *b, const struct conf_key *k)
{
	const char *pa = (const char *)a + k->off, *pb = (const char *)b + k->off;
	switch (k->type) {
	case CT_UINT:
		return *(const unsigned *)pa == *(const unsigned *)pb;
	case CT_BOOL:
		return *(const bool *)pa == *(const bool *)pb;
	default: {
		const char *sa = *(char *const *)pa, *sb = *(char *const *)pb;
		return (sa == NULL && sb == NULL) || (sa && sb && strcmp(sa, sb) == 0);
	}
	}
}

unsigned conf_keep_restart_keys(struct hconf *next, struct hconf *cur)
{
	unsigned changed = 0;
	for (size_t i = 0; i < NKEYS; i++) {
		const struct conf_key *k = &conf_keys[i];
		if (k->reloadable || same_value(next, cur, k))
			continue;
		log_warn("reload: %s changed; it takes effect at the next restart", k->name);
		swap_value(next, cur, k);
		changed++;
	}
	return changed;
}

size_t conf_key_count(void)
{
	return NKEYS;
}

const char *conf_key_name(size_t i)
{
	return i < NKEYS ? conf_keys[i].name : NULL;
}

bool conf_key_reloadable(size_t i)
{
	return i < NKEYS && conf_keys[i].reloadable;
}

bool conf_key_was_set(const struct hconf *c, size_t i)
{
	return c && i < NKEYS && c->key_set[i];
}

const char *conf_key_where(const struct hconf *c, const char *key, char *buf, size_t len)
{
	size_t i = 0;
	while (i < NKEYS && strcmp(conf_keys[i].name, key) != 0)
		i++;
	if (c == NULL || c->path == NULL || i == NKEYS)
		snprintf(buf, len, "%s", "");
	else
		snprintf(buf, len, "%s:%lu: ", c->path, c->key_line[i]);
	return buf;
}

static void *field(struct hconf *c, const struct conf_key *k)
{
	return (char *)c + k->off;
}

static bool is_string_type(enum conf_type t)
{
	return t == CT_STR || t == CT_STR_OFF || t == CT_LEVEL;
}

void conf_free(struct hconf *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < NKEYS; i++) {
		if (is_string_type(conf_keys[i].type))
			free(*(char **)field(c, &conf_keys[i]));
	}
	free(c->path);
	free(c);
}

/*
 * "host:port" with a non-empty host (an IPv6 host in brackets) and a
 * decimal port 1-65535.  Name resolution is the listener's business.
 */
/* The platform number of the registration answer: BYTE[5] of printable ASCII. */
static bool check_platform_no(const char *s, char *why, size_t whylen)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++) {
		if (s[i] < 0x21 || s[i] > 0x7e) {
			snprintf(why, whylen, "printable ASCII without spaces expected");
			return false;
		}
	}
	if (n >= 1 && n <= 5)
		return true;
	snprintf(why, whylen, "1 to 5 characters expected (the answer has BYTE[5] for it)");
	return false;
}

static bool check_unsigned(const char *s, char *why, size_t whylen)
{
	if (strcmp(s, "reject") == 0 || strcmp(s, "flag") == 0)
		return true;
	snprintf(why, whylen, "\"reject\" or \"flag\" expected");
	return false;
}

static bool check_push_profile(const char *s, char *why, size_t whylen)
{
	if (strcmp(s, "hoursd") == 0 || strcmp(s, "national") == 0)
		return true;
	snprintf(why, whylen, "\"hoursd\" or \"national\" expected");
	return false;
}

static bool check_national_esignature(const char *s, char *why, size_t whylen)
{
	if (strcmp(s, "body") == 0 || strcmp(s, "pdf") == 0 || strcmp(s, "none") == 0)
		return true;
	snprintf(why, whylen, "\"body\", \"pdf\" or \"none\" expected");
	return false;
}

static bool check_schedule(const char *s, char *why, size_t whylen)
{
	if (strcmp(s, "refuse") == 0 || strcmp(s, "flag") == 0)
		return true;
	snprintf(why, whylen, "\"refuse\" or \"flag\" expected");
	return false;
}

bool conf_valid_date(const char *s)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, m, d, n = 0;
	if (s == NULL || strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 ||
	    n != 10 || s[4] != '-' || s[7] != '-')
		return false;
	bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
	return y >= 1990 && y <= 2200 && m >= 1 && m <= 12 && d >= 1 && d <= mdays[m - 1] &&
	       (m != 2 || d < 29 || leap);
}

static bool check_date(const char *s, char *why, size_t whylen)
{
	if (conf_valid_date(s))
		return true;
	snprintf(why, whylen, "a date YYYY-MM-DD expected");
	return false;
}

static bool check_hostport(const char *s, char *why, size_t whylen)
{
	const char *colon = strrchr(s, ':');
	if (!colon || colon == s) {
		snprintf(why, whylen, "expected \"host:port\"");
		return false;
	}
	if (s[0] == '[' && colon[-1] != ']') {
		snprintf(why, whylen, "expected \"[ipv6]:port\"");
		return false;
	}
	if (s[0] != '[' && memchr(s, ':', (size_t)(colon - s))) {
		snprintf(why, whylen, "an IPv6 host must be in brackets");
		return false;
	}
	const char *p = colon + 1;
	unsigned long port = 0;
	size_t n = strspn(p, "0123456789");
	if (n == 0 || n > 5 || p[n] != '\0' || (port = strtoul(p, NULL, 10)) < 1 || port > 65535) {
		snprintf(why, whylen, "port must be 1-65535");
		return false;
	}
	return true;
}

/* Strict decimal: digits only, no sign, no spaces, fits in unsigned long long. */
static bool parse_decimal(const char *s, unsigned long long *out, bool *overflow)
{
	unsigned long long v = 0;
	*overflow = false;
	if (*s == '\0')
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		unsigned d = (unsigned)(*s - '0');
		if (v > (ULLONG_MAX - d) / 10)
			*overflow = true;
		else
			v = v * 10 + d;
	}
	*out = v;
	return true;
}

static bool set_uint(struct loader *ld, const struct conf_key *k, const yaml_node_t *n)
{
	unsigned long long v = 0;
	bool overflow;
	const char *s = ydoc_scalar(n);
	if (!parse_decimal(s, &v, &overflow))
		return ydoc_fail(&ld->y, ydoc_line(n),
				 "%s: expected an unsigned integer, got \"%.40s\"", k->name, s);
	if (overflow || v < k->min || v > k->max)
		return ydoc_fail(&ld->y, ydoc_line(n), "%s: value %.40s is out of bounds [%u, %u]",
				 k->name, s, k->min, k->max);
	*(unsigned *)field(ld->c, k) = (unsigned)v;
	return true;
}

static bool set_bool(struct loader *ld, const struct conf_key *k, const yaml_node_t *n)
{
	const char *s = ydoc_scalar(n);
	bool v;
	if (strcmp(s, "true") == 0)
		v = true;
	else if (strcmp(s, "false") == 0)
		v = false;
	else
		return ydoc_fail(&ld->y, ydoc_line(n), "%s: expected true or false, got \"%.40s\"",
				 k->name, s);
	*(bool *)field(ld->c, k) = v;
	return true;
}

/* A plain "", "~" or "null" is YAML's null: an empty string to us. */
static bool scalar_is_empty(const yaml_node_t *n)
{
	const char *s = ydoc_scalar(n);
	if (*s == '\0')
		return true;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return strcmp(s, "~") == 0 || strcmp(s, "null") == 0;
}

static bool set_string(struct loader *ld, const struct conf_key *k, const yaml_node_t *n)
{
	char **dst = field(ld->c, k);
	const char *s = ydoc_scalar(n);
	char why[128];
	enum log_level lvl;
	bool empty = scalar_is_empty(n);

	if (empty && k->type != CT_STR_OFF)
		return ydoc_fail(&ld->y, ydoc_line(n), "%s: must not be empty", k->name);
	if (k->type == CT_LEVEL && !log_level_parse(s, &lvl))
		return ydoc_fail(&ld->y, ydoc_line(n),
				 "%s: unknown log level \"%.40s\" (debug, info, warn, error)",
				 k->name, s);
	if (!empty && k->check && !k->check(s, why, sizeof(why)))
		return ydoc_fail(&ld->y, ydoc_line(n), "%s: \"%.60s\": %s", k->name, s, why);
	char *copy = empty ? NULL : strdup(s);
	if (!empty && !copy)
		return ydoc_fail(&ld->y, ydoc_line(n), "%s: out of memory", k->name);
	free(*dst);
	*dst = copy;
	return true;
}

static const struct conf_key *find_key(const char *name, size_t *idx)
{
	for (size_t i = 0; i < NKEYS; i++) {
		if (strcmp(conf_keys[i].name, name) == 0) {
			*idx = i;
			return &conf_keys[i];
		}
	}
	return NULL;
}

/* Whether name is a section, i.e. "name." starts some key. */
static bool is_section(const char *name)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < NKEYS; i++) {
		if (strncmp(conf_keys[i].name, name, len) == 0 && conf_keys[i].name[len] == '.')
			return true;
	}
	return false;
}

/*
 * A flow list of words ([plain, tls]) for a key that takes one: stored as
 * the words joined by commas, checked like the string.
 */
static bool set_list(struct loader *ld, size_t i, const yaml_node_t *seq)
{
	const struct conf_key *k = &conf_keys[i];
	char joined[64] = "", why[128];
	for (const yaml_node_item_t *it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++) {
		const yaml_node_t *n = ydoc_node(&ld->y, *it);
		if (n == NULL || n->type != YAML_SCALAR_NODE)
			return ydoc_fail(&ld->y, ydoc_line(seq), "%s: expected a list of words",
					 k->name);
		size_t used = strlen(joined);
		if (used + strlen(ydoc_scalar(n)) + 2 > sizeof(joined))
			return ydoc_fail(&ld->y, ydoc_line(n), "%s: list too long", k->name);
		snprintf(joined + used, sizeof(joined) - used, "%s%s", used ? "," : "",
			 ydoc_scalar(n));
	}
	if (!k->check(joined, why, sizeof(why)))
		return ydoc_fail(&ld->y, ydoc_line(seq), "%s: %s", k->name, why);
	char **dst = field(ld->c, k);
	free(*dst);
	*dst = *joined ? strdup(joined) : NULL;
	if (*joined && *dst == NULL)
		return ydoc_fail(&ld->y, ydoc_line(seq), "%s: out of memory", k->name);
	ld->c->key_set[i] = true;
	ld->line[i] = ydoc_line(seq);
	return true;
}

/* Store the value node of one table key. */
static bool set_key(struct loader *ld, size_t i, const yaml_node_t *val)
{
	const struct conf_key *k = &conf_keys[i];
	if (val->type == YAML_SEQUENCE_NODE && k->check == proxy_setting_valid)
		return set_list(ld, i, val);
	if (val->type != YAML_SCALAR_NODE)
		return ydoc_fail(&ld->y, ydoc_line(val), "%s: expected a scalar, got %s", k->name,
				 ydoc_kind(val));
	if (strlen(ydoc_scalar(val)) != val->data.scalar.length)
		return ydoc_fail(&ld->y, ydoc_line(val), "%s: value contains a NUL byte", k->name);
	ld->c->key_set[i] = true;
	ld->line[i] = ydoc_line(val);
	switch (k->type) {
	case CT_UINT:
		return set_uint(ld, k, val);
	case CT_BOOL:
		return set_bool(ld, k, val);
	default:
		return set_string(ld, k, val);
	}
}

static bool load_mapping(struct loader *ld, const yaml_node_t *map, const char *prefix);

/* One "key: value" pair of a mapping under prefix. */
static bool load_pair(struct loader *ld, const yaml_node_t *kn, const yaml_node_t *val,
		      const char *prefix)
{
	char name[NAME_MAX_LEN];
	size_t i;
	if (kn->type != YAML_SCALAR_NODE)
		return ydoc_fail(&ld->y, ydoc_line(kn), "%s%skeys must be scalars, got %s", prefix,
				 *prefix ? ": " : "", ydoc_kind(kn));
	int n = snprintf(name, sizeof(name), "%s%s%s", prefix, *prefix ? "." : "", ydoc_scalar(kn));
	if (n < 0 || (size_t)n >= sizeof(name))
		return ydoc_fail(&ld->y, ydoc_line(kn), "unknown key \"%.60s...\"", name);
	if (find_key(name, &i)) {
		if (ld->c->key_set[i])
			return ydoc_fail(&ld->y, ydoc_line(kn),
					 "duplicate key %s (first on line %lu)", name, ld->line[i]);
		return set_key(ld, i, val);
	}
	if (!is_section(name))
		return ydoc_fail(&ld->y, ydoc_line(kn), "unknown key \"%.80s\"", name);
	if (val->type != YAML_MAPPING_NODE)
		return ydoc_fail(&ld->y, ydoc_line(val), "%s: expected a mapping, got %s", name,
				 ydoc_kind(val));
	return load_mapping(ld, val, name);
}

/* A key written twice in one mapping, e.g. two "database:" sections. */
static bool check_dup_keys(struct loader *ld, const yaml_node_t *map)
{
	yaml_node_pair_t *start = map->data.mapping.pairs.start;
	yaml_node_pair_t *top = map->data.mapping.pairs.top;
	for (yaml_node_pair_t *a = start; a < top; a++) {
		const yaml_node_t *ka = ydoc_node(&ld->y, a->key);
		if (!ka || ka->type != YAML_SCALAR_NODE)
			continue;
		for (yaml_node_pair_t *b = start; b < a; b++) {
			const yaml_node_t *kb = ydoc_node(&ld->y, b->key);
			if (kb && kb->type == YAML_SCALAR_NODE &&
			    strcmp(ydoc_scalar(ka), ydoc_scalar(kb)) == 0)
				return ydoc_fail(&ld->y, ydoc_line(ka),
						 "duplicate key %.80s (first on line %lu)",
						 ydoc_scalar(ka), ydoc_line(kb));
		}
	}
	return true;
}

static bool load_mapping(struct loader *ld, const yaml_node_t *map, const char *prefix)
{
	if (!check_dup_keys(ld, map))
		return false;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *kn = ydoc_node(&ld->y, p->key);
		const yaml_node_t *vn = ydoc_node(&ld->y, p->value);
		if (!kn || !vn)
			return ydoc_fail(&ld->y, ydoc_line(map), "malformed mapping");
		if (!load_pair(ld, kn, vn, prefix))
			return false;
	}
	return true;
}

static bool set_defaults(struct loader *ld)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const struct conf_key *k = &conf_keys[i];
		if (k->type == CT_UINT) {
			*(unsigned *)field(ld->c, k) = k->def_uint;
		} else if (k->type == CT_BOOL) {
			*(bool *)field(ld->c, k) = k->def_uint != 0;
		} else if (k->def_str) {
			char *s = strdup(k->def_str);
			if (!s)
				return ydoc_fail(&ld->y, 0, "out of memory");
			*(char **)field(ld->c, k) = s;
		}
	}
	return true;
}

void conf_uint_defaults(struct hconf *c)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (conf_keys[i].type == CT_UINT)
			*(unsigned *)field(c, &conf_keys[i]) = conf_keys[i].def_uint;
}

static size_t key_index(const char *name)
{
	size_t i = 0;
	if (!find_key(name, &i))
		abort(); /* a name below is not in the table: a bug, not input */
	return i;
}

/* Line of the first of two keys written in the file, for a rule between them. */
static unsigned long rule_line(struct loader *ld, const char *a, const char *b)
{
	size_t i = key_index(a), j = key_index(b);
	if (ld->line[i])
		return ld->line[i];
	return ld->line[j] ? ld->line[j] : ld->root_line;
}

/* push.url needs every file of the push; delays and the lease must agree. */
static bool check_push(struct loader *ld)
{
	static const char *const files[] = {"push.ca", "push.cert", "push.key", "push.sign_key",
					    "push.sign_cert"};
	struct hconf *c = ld->c;
	if (c->push_retry_min_s > c->push_retry_max_s)
		return ydoc_fail(&ld->y, rule_line(ld, "push.retry_min_s", "push.retry_max_s"),
				 "push.retry_min_s (%u) is greater than push.retry_max_s (%u)",
				 c->push_retry_min_s, c->push_retry_max_s);
	if (c->push_lease_s <= c->push_timeout_s)
		return ydoc_fail(&ld->y, rule_line(ld, "push.lease_s", "push.timeout_s"),
				 "push.lease_s (%u) must be greater than push.timeout_s (%u)",
				 c->push_lease_s, c->push_timeout_s);
	if (c->push_field_map && strcmp(c->push_profile, "national") == 0)
		return ydoc_fail(&ld->y, rule_line(ld, "push.field_map", "push.profile"),
				 "push.field_map renames the hoursd profile's members; the "
				 "national profile's names are fixed");
	if (c->push_url == NULL)
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		const struct conf_key *k = &conf_keys[key_index(files[i])];
		if (*(char **)field(c, k) == NULL)
			return ydoc_fail(&ld->y, rule_line(ld, "push.url", files[i]),
					 "push.url is set: %s is required", files[i]);
	}
	return true;
}

/* A host of a conninfo's list that libpq would take for a host name, but is a relative path. */
static bool relative_dir(const char *p, size_t len)
{
	return len > 0 && p[0] != '/' && p[0] != '@' && memchr(p, '/', len) != NULL;
}

/* The hosts (comma-separated) with each relative_dir() prefixed by cwd. NULL: no memory. */
static char *absolute_hosts(const char *hosts, const char *cwd)
{
	size_t cap = strlen(hosts) + 1;
	for (const char *p = hosts; p; p = strchr(p, ','), p = p ? p + 1 : NULL)
		cap += strlen(cwd) + 1;
	char *out = malloc(cap);
	size_t n = 0;
	for (const char *p = hosts; out;) {
		size_t len = strcspn(p, ",");
		bool rel = relative_dir(p, len);
		n += (size_t)snprintf(out + n, cap - n, "%s%s%.*s%s", rel ? cwd : "",
				      rel ? "/" : "", (int)len, p, p[len] ? "," : "");
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	return out;
}

/* keyword='value' of every option given, as libpq reads it back. */
static char *conninfo_string(const PQconninfoOption *opts)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (f == NULL)
		return NULL;
	const char *sep = "";
	for (const PQconninfoOption *o = opts; o->keyword; o++) {
		if (o->val == NULL)
			continue;
		fprintf(f, "%s%s='", sep, o->keyword);
		for (const char *v = o->val; *v; v++)
			fprintf(f, "%s%c", *v == '\'' || *v == '\\' ? "\\" : "", *v);
		fputc('\'', f);
		sep = " ";
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/*
 * database.conninfo as libpq will read it: refused at its line when
 * libpq cannot parse it.  A host= socket directory relative to the
 * working directory ("var/pg/run", as in the sample) is made absolute
 * against it, as every other relative path of the file is read from
 * there: libpq would look it up as a host name.  Only then is the string
 * rewritten (keyword='value' form).
 */
static bool resolve_conninfo(struct loader *ld)
{
	unsigned long line = ld->line[key_index("database.conninfo")];
	char *msg = NULL, cwd[4096], *hosts = NULL;
	PQconninfoOption *opts = PQconninfoParse(ld->c->db_conninfo, &msg);
	if (opts == NULL) {
		if (msg)
			msg[strcspn(msg, "\n")] = '\0';
		ydoc_fail(&ld->y, line, "database.conninfo: %s", msg ? msg : "out of memory");
		PQfreemem(msg);
		return false;
	}
	PQconninfoOption *host = NULL;
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (strcmp(o->keyword, "host") == 0 && o->val)
			host = o;
	bool ok = true;
	if (host && getcwd(cwd, sizeof(cwd))) {
		hosts = absolute_hosts(host->val, cwd);
		char *given = host->val, *text = NULL;
		if (hosts && strcmp(hosts, given) != 0) {
			host->val = hosts;
			text = conninfo_string(opts);
			host->val = given;
			if (text) {
				free(ld->c->db_conninfo);
				ld->c->db_conninfo = text;
			}
		}
		ok = hosts && (text || strcmp(hosts, given) == 0);
	}
	free(hosts);
	PQconninfoFree(opts);
	return ok || ydoc_fail(&ld->y, line, "database.conninfo: out of memory");
}

/* Required keys and the rules between keys; lines point at the key that breaks them. */
static bool check_whole(struct loader *ld)
{
	struct hconf *c = ld->c;
	for (size_t i = 0; i < NKEYS; i++) {
		const struct conf_key *k = &conf_keys[i];
		if (k->type == CT_STR && !*(char **)field(c, k))
			return ydoc_fail(&ld->y, ld->root_line, "missing required key %s", k->name);
	}
	if (c->db_reconnect_min_ms > c->db_reconnect_max_ms)
		return ydoc_fail(
			&ld->y,
			rule_line(ld, "database.reconnect_min_ms", "database.reconnect_max_ms"),
			"database.reconnect_min_ms (%u) is greater than "
			"database.reconnect_max_ms (%u)",
			c->db_reconnect_min_ms, c->db_reconnect_max_ms);
	if (c->store_high_water < c->batch_max_rows)
		return ydoc_fail(
			&ld->y,
			rule_line(ld, "database.store_high_water", "database.batch_max_rows"),
			"database.store_high_water (%u) is less than "
			"database.batch_max_rows (%u)",
			c->store_high_water, c->batch_max_rows);
	if (c->listen_readiness && c->readiness_ca == NULL)
		return ydoc_fail(&ld->y, rule_line(ld, "listen.readiness", "readiness.ca"),
				 "listen.readiness is set: readiness.ca is required (the CA of "
				 "the clients that may ask)");
	return check_push(ld) && resolve_conninfo(ld);
}

/* The root of the document: a mapping of sections and keys. */
static bool load_root(struct ydoc *y, const yaml_node_t *root, void *arg)
{
	struct loader *ld = arg;
	ld->root_line = ydoc_line(root);
	if (root->type != YAML_MAPPING_NODE)
		return ydoc_fail(y, ydoc_line(root), "top level must be a mapping, got %s",
				 ydoc_kind(root));
	return load_mapping(ld, root, "");
}

struct hconf *conf_load(const char *path, char *err, size_t errlen)
{
	struct loader ld = {.y = {.path = path, .err = err, .errlen = errlen}, .root_line = 1};
	FILE *f = ydoc_open(&ld.y);
	if (!f)
		return NULL;
	ld.c = calloc(1, sizeof(*ld.c));
	bool ok = ld.c && set_defaults(&ld) &&
		  ydoc_load(&ld.y, f, load_root, &ld, "empty configuration") && check_whole(&ld);
	if (!ld.c)
		ydoc_fail(&ld.y, 0, "out of memory");
	fclose(f);
	if (ok && (ld.c->path = strdup(path)) == NULL)
		ok = ydoc_fail(&ld.y, 0, "out of memory");
	if (!ok) {
		conf_free(ld.c);
		return NULL;
	}
	for (size_t i = 0; i < NKEYS; i++)
		ld.c->key_line[i] = ld.line[i] ? ld.line[i] : ld.root_line;
	return ld.c;
}
