/*
 * commands.c - hoursctl terminal fetch-records, photo, ban and commands:
 * a command for a terminal, its data built by jtx, kept until the
 * terminal is authenticated on some hoursd (command.c sends it), or until
 * it expires; and the list of them.
 */
#include "hoursd.h"
#include "hoursctl.h"
#include "common/out.h"
#include "common/pgq.h"
#include "jt808.h"
#include "jtx.h"
#include "log.h"
#include "queries.h"

#include <iconv.h>

#define EXPIRES_DEFAULT_S 86400ul
#define EXPIRES_MAX_S (30ul * 86400)

/*
 * Queue one command for a terminal: its data built by jtx, kept until
 * the terminal is authenticated on some hoursd, or until it expires.
 */
static int queue_command(const char *number, const char *kind, uint16_t ext_id,
			 const struct jtx_command *c, unsigned long expires_s)
{
	uint8_t data[300];
	char hex[2 * sizeof(data) + 1], id[8], secs[24], n[21];
	size_t len = jtx_build_command(ext_id, c, data, sizeof(data));
	if (len == 0) {
		fprintf(stderr, "hoursctl: the command cannot be built from these values\n");
		return 2;
	}
	hex_encode(hex, data, len);
	snprintf(id, sizeof(id), "%u", ext_id);
	snprintf(secs, sizeof(secs), "%lu", expires_s);
	jt808_phone_norm(number, n);
	const char *v[5] = {n, kind, id, hex, secs};
	PGresult *r = pgq_query(sql_terminal_command_queue, 5, v);
	if (r == NULL)
		return 1;
	int rc = PQntuples(r) == 1 ? 0 : 1;
	if (rc == 0)
		printf("command %s queued for terminal %s (id %s, 0x%04x, %zu bytes); sent when it "
		       "is authenticated, until %s\n",
		       kind, n, PQgetvalue(r, 0, TERMINAL_COMMAND_QUEUE_ID), ext_id, len,
		       PQgetvalue(r, 0, TERMINAL_COMMAND_QUEUE_EXPIRES_AT));
	else
		fprintf(stderr, "hoursctl: no terminal %s\n", n);
	PQclear(r);
	return rc;
}

/* terminal fetch-records NUMBER --from TS --to TS [--count N] [--expires S] */
int commands_fetch_records(const struct args *a)
{
	const char *count_s = a->opt[2] ? a->opt[2] : "65535";
	unsigned long count, expires = EXPIRES_DEFAULT_S;
	struct jtx_command c = {.query_mode = JTX_QUERY_BY_TIME};
	if (!a->opt[0] || !a->opt[1]) {
		fprintf(stderr, "hoursctl: terminal fetch-records: missing %s TS\n",
			a->opt[0] ? "--to" : "--from");
		return 2;
	}
	if (!check_uint("--count", count_s, 1, 65535, &count) ||
	    (a->opt[3] && !check_uint("--expires", a->opt[3], 1, EXPIRES_MAX_S, &expires)))
		return 2;
	/* PostgreSQL reads the times: the first statement, once the rest is checked. */
	if (!check_time("--from", a->opt[0], &c.from) || !check_time("--to", a->opt[1], &c.to))
		return check_time_rc();
	if (c.to < c.from) {
		fprintf(stderr, "hoursctl: --to is before --from\n");
		return 2;
	}
	c.count = (uint16_t)count;
	return queue_command(a->pos[0], "fetch_records", JTX_FETCH_RECORDS, &c, expires);
}

/* terminal photo NUMBER [--channel N] [--size N] [--expires S] */
int commands_photo(const struct args *a)
{
	unsigned long channel, size, expires = EXPIRES_DEFAULT_S;
	if (!check_uint("--channel", a->opt[0] ? a->opt[0] : "0", 0, 255, &channel) ||
	    !check_uint("--size", a->opt[1] ? a->opt[1] : "1", 0, 255, &size) ||
	    (a->opt[2] && !check_uint("--expires", a->opt[2], 1, EXPIRES_MAX_S, &expires)))
		return 2;
	struct jtx_command c = {
		.upload_mode = 1, .channel = (uint8_t)channel, .size_code = (uint8_t)size};
	return queue_command(a->pos[0], "take_photo", JTX_TAKE_PHOTO, &c, expires);
}

/* UTF-8 to GBK, the terminals' text; false (said) when it does not convert or fit. */
static bool to_gbk(const char *utf8, uint8_t *out, size_t cap, size_t *len)
{
	iconv_t cd = iconv_open("GBK", "UTF-8");
	if (cd == (iconv_t)-1) {
		fprintf(stderr, "hoursctl: this system cannot convert to GBK\n");
		return false;
	}
	char *in = (char *)utf8, *o = (char *)out;
	size_t inleft = strlen(utf8), outleft = cap;
	bool ok = iconv(cd, &in, &inleft, &o, &outleft) != (size_t)-1 && inleft == 0;
	iconv_close(cd);
	if (!ok)
		fprintf(stderr, "hoursctl: --message must be UTF-8 text of at most %zu GBK bytes\n",
			cap);
	*len = cap - outleft;
	return ok;
}

/* terminal ban NUMBER on|off [--message TEXT] [--expires S] */
int commands_ban(const struct args *a)
{
	unsigned long expires = EXPIRES_DEFAULT_S;
	uint8_t msg[255];
	size_t len = 0;
	const char *onoff = a->pos[1];
	if (strcmp(onoff, "on") != 0 && strcmp(onoff, "off") != 0) {
		fprintf(stderr, "hoursctl: terminal ban: \"%s\": on or off expected\n", onoff);
		return 2;
	}
	if ((a->opt[1] && !check_uint("--expires", a->opt[1], 1, EXPIRES_MAX_S, &expires)) ||
	    !to_gbk(a->opt[0] ? a->opt[0] : "", msg, sizeof(msg), &len))
		return 2;
	struct jtx_command c = {.ban_state = strcmp(onoff, "on") == 0 ? JTX_BAN_ON : JTX_BAN_OFF,
				.message = {msg, (uint8_t)len}};
	return queue_command(a->pos[0], "training_ban", JTX_TRAINING_BAN, &c, expires);
}

/* terminal commands [NUMBER] */
int commands_list(const struct args *a)
{
	static const struct pgq_col cols[] = {
		{"id", TERMINAL_COMMAND_LIST_ID, 6, 0},
		{"terminal", TERMINAL_COMMAND_LIST_PHONE, 20, 0},
		{"command", TERMINAL_COMMAND_LIST_KIND, 14, 0},
		{"state", TERMINAL_COMMAND_LIST_STATE, 9, 0},
		{"queued", TERMINAL_COMMAND_LIST_CREATED_AT, 29, 0},
		{"sent", TERMINAL_COMMAND_LIST_SENT_AT, 29, 0},
		{"result", TERMINAL_COMMAND_LIST_RESULT, 6, 0},
		{"expires", TERMINAL_COMMAND_LIST_EXPIRES_AT, 0, 0},
	};
	const char *number = a->pos[0];
	char n[21] = "";
	if (number)
		jt808_phone_norm(number, n);
	const char *v[1] = {number ? n : NULL};
	if (!check_known("terminal commands", "terminal", v[0]))
		return 1;
	PGresult *r = pgq_query(sql_terminal_command_list, 1, v);
	if (r == NULL)
		return 1;
	out_table(stdout, r, cols, ARRAY_SIZE(cols));
	PQclear(r);
	return 0;
}
