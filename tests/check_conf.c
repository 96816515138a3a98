/*
 * check_conf.c - the configuration loader: the sample config and the
 * reference doc cover every key of the table, defaults apply, and every
 * kind of bad file is refused with "file:line: message".
 */
#include "hoursd.h"
#include "conf.h"
#include "tls_server.h"
#include "testutil.h"

#include <check.h>
#include <libpq-fe.h>
#include <unistd.h>

/* The smallest valid file: only the required keys.  Line numbers in comments. */
#define MIN_CONF                                                                                   \
	"listen:\n"		      /* 1 */                                                      \
	"  tls: \"127.0.0.1:8808\"\n" /* 2 */                                                      \
	"tls:\n"		      /* 3 */                                                      \
	"  cert: a.crt\n"	      /* 4 */                                                      \
	"  key: a.key\n"	      /* 5 */                                                      \
	"  ca: ca.crt\n"	      /* 6 */                                                      \
	"database:\n"		      /* 7 */                                                      \
	"  conninfo: \"dbname=x\"\n"  /* 8 */

static size_t key_index(const char *name)
{
	for (size_t i = 0; i < conf_key_count(); i++) {
		if (strcmp(conf_key_name(i), name) == 0)
			return i;
	}
	ck_abort_msg("no key %s", name);
	return 0;
}

/* Loading the file at path fails with "path:line: ...sub...". */
static void expect_path_err(const char *path, unsigned line, const char *sub)
{
	char err[512], prefix[256];
	struct hconf *c = conf_load(path, err, sizeof(err));
	if (c)
		conf_free(c);
	ck_assert_msg(c == NULL, "%s loaded, expected an error with \"%s\"", path, sub);
	snprintf(prefix, sizeof(prefix), "%s:%u: ", path, line);
	ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0, "error \"%s\" lacks prefix \"%s\"",
		      err, prefix);
	ck_assert_msg(strstr(err, sub) != NULL, "error \"%s\" lacks \"%s\"", err, sub);
}

/* Loading text fails at line with sub in the message. */
static void expect_err(const char *text, unsigned line, const char *sub)
{
	char *path = write_tmp(text);
	expect_path_err(path, line, sub);
	unlink(path);
	free(path);
}

/* Loading text succeeds; the caller frees the result. */
static struct hconf *load_ok(const char *text)
{
	char err[512] = "";
	char *path = write_tmp(text);
	struct hconf *c = conf_load(path, err, sizeof(err));
	unlink(path);
	free(path);
	ck_assert_msg(c != NULL, "load failed: %s", err);
	return c;
}

START_TEST(sample_sets_every_key)
{
	char err[512] = "";
	const char *path = env_or("CONF_SAMPLE", "conf/hoursd.yaml");
	struct hconf *c = conf_load(path, err, sizeof(err));
	ck_assert_msg(c != NULL, "%s: %s", path, err);
	for (size_t i = 0; i < conf_key_count(); i++)
		ck_assert_msg(conf_key_was_set(c, i), "%s does not set %s", path, conf_key_name(i));
	conf_free(c);
}
END_TEST

START_TEST(doc_names_every_key)
{
	const char *path = env_or("CONF_DOC", "docs/configuration.md");
	char *text = slurp(path, NULL);
	for (size_t i = 0; i < conf_key_count(); i++) {
		char quoted[160];
		snprintf(quoted, sizeof(quoted), "`%s`", conf_key_name(i));
		ck_assert_msg(strstr(text, quoted) != NULL, "%s does not mention %s", path, quoted);
	}
	free(text);
}
END_TEST

/* Whether some key of the table is in section (its name before the dot). */
static bool is_section(const char *section, size_t len)
{
	for (size_t i = 0; i < conf_key_count(); i++)
		if (strncmp(conf_key_name(i), section, len) == 0 && conf_key_name(i)[len] == '.')
			return true;
	return false;
}

/*
 * The doc's list of sections, "sections (`listen`, `tls`, ...)", names
 * every section of the key table, and nothing else.
 */
START_TEST(doc_lists_every_section)
{
	const char *path = env_or("CONF_DOC", "docs/configuration.md");
	char *text = slurp(path, NULL);
	char *list = strstr(text, "sections (");
	ck_assert_msg(list != NULL, "%s has no list \"sections (`listen`, ...)\"", path);
	list += strlen("sections (");
	char *end = strchr(list, ')');
	ck_assert_ptr_nonnull(end);
	*end = '\0';
	for (size_t i = 0; i < conf_key_count(); i++) {
		char quoted[160];
		snprintf(quoted, sizeof(quoted), "`%.*s`", (int)strcspn(conf_key_name(i), "."),
			 conf_key_name(i));
		ck_assert_msg(strstr(list, quoted) != NULL,
			      "%s: the list of sections does not name %s", path, quoted);
	}
	for (char *p = strchr(list, '`'); p; p = strchr(p, '`')) {
		size_t len = strcspn(p + 1, "`");
		ck_assert_msg(p[1 + len] == '`', "%s: the list of sections: unclosed `", path);
		ck_assert_msg(is_section(p + 1, len),
			      "%s: the list of sections names `%.*s`, "
			      "which is not a section",
			      path, (int)len, p + 1);
		p += len + 2;
	}
	free(text);
}
END_TEST

/* The value of keyword in a conninfo, as libpq reads it (NULL: not given); freed by the caller. */
static char *conninfo_value(const char *conninfo, const char *keyword)
{
	char *err = NULL, *v = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &err);
	ck_assert_msg(opts != NULL, "%s: %s", conninfo, err);
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (strcmp(o->keyword, keyword) == 0 && o->val)
			v = strdup(o->val);
	PQconninfoFree(opts);
	return v;
}

#define CONF_CONNINFO(ci)                                                                          \
	"listen:\n  tls: \"127.0.0.1:8808\"\ntls:\n  cert: a.crt\n  key: a.key\n  ca: ca.crt\n"    \
	"database:\n  conninfo: \"" ci "\"\n"

/*
 * A host= socket directory relative to the working directory is made
 * absolute (libpq would take it for a host name); the rest of the
 * conninfo means what it meant; an absolute one is left as written; one
 * libpq cannot parse is refused at its line.
 */
START_TEST(conninfo_relative_host)
{
	char cwd[4096], want[4200];
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	struct hconf *c = load_ok(
		CONF_CONNINFO("host=var/pg/run,db.example,/run/pg port=54329 dbname='a b'"));
	snprintf(want, sizeof(want), "%s/var/pg/run,db.example,/run/pg", cwd);
	char *host = conninfo_value(c->db_conninfo, "host");
	char *port = conninfo_value(c->db_conninfo, "port");
	char *dbname = conninfo_value(c->db_conninfo, "dbname");
	ck_assert_str_eq(host, want);
	ck_assert_str_eq(port, "54329");
	ck_assert_str_eq(dbname, "a b");
	free(host);
	free(port);
	free(dbname);
	conf_free(c);
	c = load_ok(CONF_CONNINFO("host=/run/postgresql dbname=hoursd"));
	ck_assert_str_eq(c->db_conninfo, "host=/run/postgresql dbname=hoursd");
	conf_free(c);
	c = load_ok(CONF_CONNINFO("postgresql://localhost/hoursd"));
	ck_assert_str_eq(c->db_conninfo, "postgresql://localhost/hoursd");
	conf_free(c);
	expect_err(CONF_CONNINFO("host=x dbname"), 8,
		   "database.conninfo: missing \"=\" after \"dbname\"");
}
END_TEST

/* A TLS file that cannot be read is named with the line of its key, not OpenSSL's code. */
START_TEST(tls_file_error_at_its_line)
{
	char err[512] = "", want[700], where[300];
	char *path = write_tmp(MIN_CONF);
	struct hconf *c = conf_load(path, err, sizeof(err));
	ck_assert_msg(c != NULL, "load failed: %s", err);
	ck_assert_ptr_null(tls_server_ctx(c, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:4: tls.cert a.crt: No such file or directory", path);
	ck_assert_str_eq(err, want);
	snprintf(want, sizeof(want), "%s:1: ", path);
	ck_assert_str_eq(conf_key_where(c, "rules.syllabus", where, sizeof(where)), want);
	conf_free(c);
	unlink(path);
	free(path);
	struct hconf bare = {.tls_cert = (char *)"a.crt"};
	ck_assert_str_eq(conf_key_where(&bare, "tls.cert", where, sizeof(where)), "");
}
END_TEST

START_TEST(minimal_gets_defaults)
{
	struct hconf *c = load_ok(MIN_CONF);
	ck_assert_str_eq(c->listen_tls, "127.0.0.1:8808");
	ck_assert_ptr_null(c->listen_plain);
	ck_assert_str_eq(c->admin_listen, "127.0.0.1:8809");
	ck_assert_str_eq(c->tls_cert, "a.crt");
	ck_assert_str_eq(c->tls_key, "a.key");
	ck_assert_str_eq(c->tls_ca, "ca.crt");
	ck_assert_str_eq(c->db_conninfo, "dbname=x");
	ck_assert_uint_eq(c->batch_max_rows, 500);
	ck_assert_uint_eq(c->batch_max_ms, 5);
	ck_assert_uint_eq(c->store_high_water, 20000);
	ck_assert_uint_eq(c->db_reconnect_min_ms, 100);
	ck_assert_uint_eq(c->db_reconnect_max_ms, 5000);
	ck_assert_uint_eq(c->idle_timeout_s, 300);
	ck_assert_uint_eq(c->max_frame_bytes, 2200);
	ck_assert_uint_eq(c->conn_high_water, 64);
	ck_assert_uint_eq(c->frames_per_read, 32);
	ck_assert_uint_eq(c->reasm_max_pieces, 128);
	ck_assert_uint_eq(c->reasm_max_bytes, 131072);
	ck_assert_uint_eq(c->reasm_max_age_s, 60);
	ck_assert_str_eq(c->log_level, "info");
	ck_assert(!c->allow_root);
	for (size_t i = 0; i < conf_key_count(); i++) {
		const char *k = conf_key_name(i);
		bool written = !strcmp(k, "listen.tls") || !strcmp(k, "tls.cert") ||
			       !strcmp(k, "tls.key") || !strcmp(k, "tls.ca") ||
			       !strcmp(k, "database.conninfo");
		ck_assert_msg(c->key_set[i] == written, "%s", k);
	}
	conf_free(c);
}
END_TEST

START_TEST(values_are_stored)
{
	struct hconf *c = load_ok(MIN_CONF "  batch_max_rows: 7\n"
					   "  reconnect_min_ms: 5000\n"
					   "listen.plain: \"[::1]:9000\"\n"
					   "log: {level: debug}\n"
					   "process:\n  allow_root: true\n");
	ck_assert_uint_eq(c->batch_max_rows, 7);
	ck_assert_uint_eq(c->db_reconnect_min_ms, 5000);
	ck_assert_str_eq(c->listen_plain, "[::1]:9000");
	ck_assert_str_eq(c->log_level, "debug");
	ck_assert(c->allow_root);
	ck_assert(conf_key_was_set(c, key_index("listen.plain")));
	ck_assert(!conf_key_was_set(c, key_index("database.batch_max_ms")));
	conf_free(c);
}
END_TEST

START_TEST(plain_empty_is_off)
{
	struct hconf *c = load_ok(MIN_CONF "listen.plain: \"\"\n");
	ck_assert_ptr_null(c->listen_plain);
	ck_assert(conf_key_was_set(c, key_index("listen.plain")));
	conf_free(c);
}
END_TEST

START_TEST(admin_listen_values)
{
	struct hconf *c = load_ok(MIN_CONF "admin:\n  listen: \"\"\n");
	ck_assert_ptr_null(c->admin_listen);
	ck_assert(conf_key_was_set(c, key_index("admin.listen")));
	conf_free(c);
	c = load_ok(MIN_CONF "admin: {listen: \"[::1]:9100\"}\n");
	ck_assert_str_eq(c->admin_listen, "[::1]:9100");
	conf_free(c);
	ck_assert(!conf_key_reloadable(key_index("admin.listen")));
	expect_err(MIN_CONF "admin:\n  listen: \"localhost\"\n", 10, "admin.listen");
}
END_TEST

START_TEST(key_table)
{
	ck_assert_uint_le(conf_key_count(), CONF_MAX_KEYS);
	ck_assert_ptr_null(conf_key_name(conf_key_count()));
	ck_assert(!conf_key_reloadable(conf_key_count()));
	ck_assert(conf_key_reloadable(key_index("log.level")));
	ck_assert(!conf_key_reloadable(key_index("listen.tls")));
	ck_assert(!conf_key_was_set(NULL, 0));
	conf_free(NULL);
}
END_TEST

START_TEST(err_unknown_key)
{
	expect_err(MIN_CONF "  batchmax: 1\n", 9, "unknown key \"database.batchmax\"");
}
END_TEST

START_TEST(err_unknown_section)
{
	expect_err(MIN_CONF "lisen:\n  tls: x\n", 9, "unknown key \"lisen\"");
}
END_TEST

START_TEST(err_uint_letters)
{
	expect_err(MIN_CONF "  batch_max_rows: abc\n", 9,
		   "database.batch_max_rows: expected an unsigned integer, got \"abc\"");
}
END_TEST

START_TEST(err_uint_negative)
{
	expect_err(MIN_CONF "  batch_max_ms: -1\n", 9, "expected an unsigned integer, got \"-1\"");
}
END_TEST

START_TEST(err_uint_suffix)
{
	expect_err(MIN_CONF "  batch_max_ms: 12x\n", 9,
		   "expected an unsigned integer, got \"12x\"");
}
END_TEST

START_TEST(err_uint_empty)
{
	expect_err(MIN_CONF "  batch_max_ms:\n", 9, "expected an unsigned integer");
}
END_TEST

START_TEST(err_uint_overflow)
{
	expect_err(MIN_CONF "  store_high_water: 99999999999999999999999\n", 9,
		   "database.store_high_water: value 99999999999999999999999 is out of bounds");
	expect_err(MIN_CONF "  store_high_water: 4294967296\n", 9, "out of bounds");
}
END_TEST

START_TEST(err_uint_above_max)
{
	expect_err(MIN_CONF "  batch_max_rows: 100001\n", 9,
		   "database.batch_max_rows: value 100001 is out of bounds [1, 100000]");
}
END_TEST

START_TEST(err_uint_below_min)
{
	expect_err(MIN_CONF "connection:\n  frames_per_read: 0\n", 10,
		   "connection.frames_per_read: value 0 is out of bounds [1, 10000]");
}
END_TEST

START_TEST(err_duplicate_key)
{
	expect_err(MIN_CONF "  conninfo: \"dbname=y\"\n", 9,
		   "duplicate key conninfo (first on line 8)");
}
END_TEST

START_TEST(err_duplicate_section)
{
	expect_err(MIN_CONF "listen:\n  plain: \"\"\n", 9,
		   "duplicate key listen (first on line 1)");
}
END_TEST

START_TEST(err_duplicate_dotted)
{
	expect_err(MIN_CONF "database.conninfo: y\n", 9,
		   "duplicate key database.conninfo (first on line 8)");
}
END_TEST

START_TEST(err_top_level_sequence)
{
	expect_err("# a list\n- listen\n- tls\n", 2, "top level must be a mapping, got a sequence");
}
END_TEST

START_TEST(err_top_level_scalar)
{
	expect_err("\n\nhello\n", 3, "top level must be a mapping, got a scalar");
}
END_TEST

START_TEST(err_sequence_for_scalar)
{
	expect_err(MIN_CONF "  batch_max_rows:\n    - 1\n    - 2\n", 10,
		   "database.batch_max_rows: expected a scalar, got a sequence");
}
END_TEST

START_TEST(err_mapping_for_scalar)
{
	expect_err(MIN_CONF "log:\n  level: {a: b}\n", 10,
		   "log.level: expected a scalar, got a mapping");
}
END_TEST

START_TEST(err_scalar_for_section)
{
	expect_err(MIN_CONF "connection: 5\n", 9, "connection: expected a mapping, got a scalar");
}
END_TEST

START_TEST(err_complex_key)
{
	expect_err(MIN_CONF "? [a, b]\n: 1\n", 9, "keys must be scalars, got a sequence");
}
END_TEST

START_TEST(err_empty_file)
{
	expect_err("", 1, "empty configuration");
}
END_TEST

START_TEST(err_comments_only)
{
	expect_err("# nothing\n\n# here\n", 1, "empty configuration");
}
END_TEST

START_TEST(err_unreadable)
{
	expect_path_err("/tmp/check_conf_does/not/exist.yaml", 0, "cannot open");
	expect_path_err("/tmp", 0, "cannot read");
}
END_TEST

START_TEST(err_syntax)
{
	expect_err(MIN_CONF "  batch_max_rows: [1, 2\n", 10, "YAML syntax error");
	expect_err(MIN_CONF "  tls: \"unterminated\n", 10, "YAML syntax error");
}
END_TEST

START_TEST(err_two_documents)
{
	expect_err(MIN_CONF "---\nlog:\n  level: info\n", 10, "more than one YAML document");
}
END_TEST

START_TEST(err_log_level)
{
	expect_err(MIN_CONF "log:\n  level: verbose\n", 10,
		   "log.level: unknown log level \"verbose\"");
}
END_TEST

START_TEST(err_listen_address)
{
	static const struct {
		const char *addr;
		const char *why;
	} bad[] = {
		{"localhost", "expected \"host:port\""},
		{":8808", "expected \"host:port\""},
		{"127.0.0.1:", "port must be 1-65535"},
		{"127.0.0.1:0", "port must be 1-65535"},
		{"127.0.0.1:65536", "port must be 1-65535"},
		{"127.0.0.1:99999999999", "port must be 1-65535"},
		{"127.0.0.1:80x", "port must be 1-65535"},
		{"127.0.0.1:-1", "port must be 1-65535"},
		{"::1:8808", "an IPv6 host must be in brackets"},
		{"[::1:8808", "expected \"[ipv6]:port\""},
	};
	char text[512], sub[128];
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(text, sizeof(text), "%slisten.plain: \"%s\"\n", MIN_CONF, bad[i].addr);
		snprintf(sub, sizeof(sub), "listen.plain: \"%s\": %s", bad[i].addr, bad[i].why);
		expect_err(text, 9, sub);
	}
	expect_err("listen:\n  tls: \"127.0.0.1:0\"\n", 2, "listen.tls: \"127.0.0.1:0\": port");
}
END_TEST

START_TEST(err_reconnect_order)
{
	expect_err(MIN_CONF "  reconnect_min_ms: 6000\n  reconnect_max_ms: 5000\n", 9,
		   "database.reconnect_min_ms (6000) is greater than database.reconnect_max_ms "
		   "(5000)");
	/* Only the max written: the line of the key that is set. */
	expect_err(MIN_CONF "  reconnect_max_ms: 50\n", 9, "(100) is greater than");
}
END_TEST

START_TEST(err_store_below_batch)
{
	expect_err(MIN_CONF "  batch_max_rows: 1000\n  store_high_water: 999\n", 10,
		   "database.store_high_water (999) is less than database.batch_max_rows (1000)");
}
END_TEST

START_TEST(err_push_rules)
{
	expect_err(MIN_CONF "push:\n  retry_min_s: 60\n  retry_max_s: 30\n", 10,
		   "push.retry_min_s (60) is greater than push.retry_max_s (30)");
	expect_err(MIN_CONF "push:\n  timeout_s: 30\n  lease_s: 30\n", 11,
		   "push.lease_s (30) must be greater than push.timeout_s (30)");
	expect_err(MIN_CONF "push:\n  url: \"https://p.example/x\"\n  ca: ca.crt\n", 10,
		   "push.url is set: push.cert is required");
}
END_TEST

/* push.profile: hoursd or national; the national names are not renamed by a field map. */
START_TEST(push_profile)
{
	expect_err(MIN_CONF "push:\n  profile: provincial\n", 10,
		   "\"hoursd\" or \"national\" expected");
	expect_err(MIN_CONF "push:\n  profile: national\n  field_map: map.json\n", 11,
		   "push.field_map renames the hoursd profile's members");
	struct hconf *c = load_ok(MIN_CONF "push:\n  profile: national\n  national_rectype: 4\n"
					   "  national_review: true\n");
	ck_assert_str_eq(c->push_profile, "national");
	ck_assert_uint_eq(c->push_national_rectype, 4);
	ck_assert_uint_eq(c->push_national_rectype_backfilled, 2);
	ck_assert_uint_eq(c->push_national_examresult, 1);
	ck_assert(c->push_national_review);
	conf_free(c);
	c = load_ok(MIN_CONF);
	ck_assert_str_eq(c->push_profile, "hoursd");
	ck_assert(!c->push_national_review);
	conf_free(c);
}
END_TEST

START_TEST(err_missing_required)
{
	expect_err("# header\nlisten:\n  tls: \"127.0.0.1:8808\"\n", 2,
		   "missing required key tls.cert");
	expect_err("listen:\n  tls: \"127.0.0.1:8808\"\ntls:\n  cert: a\n  key: b\n  ca: c\n", 1,
		   "missing required key database.conninfo");
}
END_TEST

START_TEST(err_required_empty)
{
	expect_err("tls:\n  cert: \"\"\n", 2, "tls.cert: must not be empty");
	expect_err("tls:\n  key: ~\n", 2, "tls.key: must not be empty");
}
END_TEST

START_TEST(err_bool)
{
	expect_err(MIN_CONF "process:\n  allow_root: maybe\n", 10,
		   "process.allow_root: expected true or false, got \"maybe\"");
}
END_TEST

START_TEST(err_nul_byte)
{
	expect_err("tls:\n  cert: \"a\\0b\"\n", 2, "tls.cert: value contains a NUL byte");
}
END_TEST

/* The findings thresholds: defaults, as a file sets them, bounds; and without a file. */
START_TEST(findings_thresholds)
{
	struct hconf *c = load_ok(MIN_CONF);
	ck_assert_uint_eq(c->findings_missing_minutes, 5);
	ck_assert_uint_eq(c->findings_min_face_confidence, 60);
	ck_assert_uint_eq(c->findings_silent_days, 7);
	ck_assert_uint_eq(c->findings_min_realtime_percent, 90);
	struct hconf d = {0};
	conf_uint_defaults(&d);
	ck_assert_uint_eq(d.findings_missing_minutes, c->findings_missing_minutes);
	ck_assert_uint_eq(d.findings_clock_skew_s, c->findings_clock_skew_s);
	ck_assert_uint_eq(d.findings_max_coach_minutes_per_day, 600);
	ck_assert_ptr_null(d.db_conninfo); /* strings untouched */
	conf_free(c);
	c = load_ok(MIN_CONF "findings:\n  missing_minutes: 30\n  min_face_confidence: 0\n");
	ck_assert_uint_eq(c->findings_missing_minutes, 30);
	ck_assert_uint_eq(c->findings_min_face_confidence, 0);
	conf_free(c);
	expect_err(MIN_CONF "findings:\n  min_realtime_percent: 101\n", 10,
		   "findings.min_realtime_percent");
	expect_err(MIN_CONF "findings:\n  silent_days: 0\n", 10, "findings.silent_days");
}
END_TEST

static Suite *conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("load");
	tcase_add_test(tc, sample_sets_every_key);
	tcase_add_test(tc, doc_names_every_key);
	tcase_add_test(tc, doc_lists_every_section);
	tcase_add_test(tc, conninfo_relative_host);
	tcase_add_test(tc, tls_file_error_at_its_line);
	tcase_add_test(tc, minimal_gets_defaults);
	tcase_add_test(tc, values_are_stored);
	tcase_add_test(tc, plain_empty_is_off);
	tcase_add_test(tc, key_table);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, err_unknown_key);
	tcase_add_test(tc, err_unknown_section);
	tcase_add_test(tc, err_uint_letters);
	tcase_add_test(tc, err_uint_negative);
	tcase_add_test(tc, err_uint_suffix);
	tcase_add_test(tc, err_uint_empty);
	tcase_add_test(tc, err_uint_overflow);
	tcase_add_test(tc, err_uint_above_max);
	tcase_add_test(tc, err_uint_below_min);
	tcase_add_test(tc, err_duplicate_key);
	tcase_add_test(tc, err_duplicate_section);
	tcase_add_test(tc, err_duplicate_dotted);
	tcase_add_test(tc, err_top_level_sequence);
	tcase_add_test(tc, err_top_level_scalar);
	tcase_add_test(tc, err_sequence_for_scalar);
	tcase_add_test(tc, err_mapping_for_scalar);
	tcase_add_test(tc, err_scalar_for_section);
	tcase_add_test(tc, err_complex_key);
	tcase_add_test(tc, err_empty_file);
	tcase_add_test(tc, err_comments_only);
	tcase_add_test(tc, err_unreadable);
	tcase_add_test(tc, err_syntax);
	tcase_add_test(tc, err_two_documents);
	tcase_add_test(tc, err_log_level);
	tcase_add_test(tc, err_listen_address);
	tcase_add_test(tc, err_reconnect_order);
	tcase_add_test(tc, err_store_below_batch);
	tcase_add_test(tc, err_push_rules);
	tcase_add_test(tc, push_profile);
	tcase_add_test(tc, err_missing_required);
	tcase_add_test(tc, err_required_empty);
	tcase_add_test(tc, err_bool);
	tcase_add_test(tc, err_nul_byte);
	tcase_add_test(tc, findings_thresholds);
	tcase_add_test(tc, admin_listen_values);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(conf_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
