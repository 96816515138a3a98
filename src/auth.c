/*
 * auth.c - see auth.h.
 *
 * Each step gives conn.c its verdict: refused (answered 0x8001 failure,
 * and counted against the address), the timestamp to take first (one
 * atomic update, sql/queries/daemon/terminal_auth_ts.sql), or authenticated
 * (conn.c then applies connection.max_per_terminal).
 */
#include "hoursd.h"
#include "auth.h"
#include "conf.h"
#include "conn.h"
#include "db.h"
#include "jt808.h"
#include "log.h"
#include "queries.h"
#include "server.h"
#include "sig.h"
#include "terminal.h"

#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <time.h>

/*
 * Failed authentications per address and minute, in a small table where
 * addresses that hash alike share a slot (so the count can only be high,
 * never low, for an address under attack).
 */
#define AUTH_SLOTS 1024
static struct {
	char host[46];
	time_t minute;
	unsigned failures;
} auth_fail[AUTH_SLOTS];

static unsigned slot(const char *host)
{
	uint32_t h = 2166136261u;
	for (const char *p = host; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return h % AUTH_SLOTS;
}

static bool throttled(const struct conn_msg *in)
{
	unsigned i = slot(in->host);
	return auth_fail[i].minute == time(NULL) / 60 &&
	       auth_fail[i].failures >= in->srv->conf->auth_failures_per_min;
}

/* Refused: counted against the address, answered with failure. */
static void failed(const struct conn_msg *in, const char *why, struct conn_verdict *v)
{
	unsigned i = slot(in->host);
	time_t minute = time(NULL) / 60;
	if (auth_fail[i].minute != minute || strcmp(auth_fail[i].host, in->host) != 0) {
		snprintf(auth_fail[i].host, sizeof(auth_fail[i].host), "%s", in->host);
		auth_fail[i].minute = minute;
		auth_fail[i].failures = 0;
	}
	auth_fail[i].failures++;
	in->srv->st.auth_failed++;
	log_defer(&v->lines, HLOG_WARN, "authentication refused: %s", why);
	v->act = CONN_ACK;
	v->result = JT808_R_FAILED;
}

/*
 * The timestamp taken (sql/queries/daemon/terminal_auth_ts.sql): only one newer
 * than the terminal's last accepted one is, on any instance, so a
 * captured authentication cannot be played again.
 */
static void on_auth_ts(const struct conn_msg *in, void *arg, const PGresult *res,
		       struct conn_verdict *v)
{
	if (res && PQntuples(res) == 1)
		v->act = CONN_AUTHENTICATE;
	else if (res)
		failed(in, "timestamp not newer than the last one accepted (a replay)", v);
	else
		failed(in, "the registry could not be updated", v);
}

/* Why a signed authentication is refused before the database is asked, or NULL. */
static const char *signed_refusal(const struct conn_msg *in, uint32_t ts, const uint8_t *sig,
				  size_t sig_len, char *buf, size_t cap)
{
	const struct terminal *t = in->t;
	const struct hconf *cf = in->srv->conf;
	if (t == NULL)
		return "unknown terminal";
	if (!t->active)
		return "terminal disabled";
	uint8_t data[JT808_AUTH_SIGNED_LEN];
	if (!jt808_auth_signed_data(t->terminal_no, ts, data))
		return "no timing terminal number provisioned to check the signature with";
	time_t now = time(NULL);
	long long skew = (long long)ts - (long long)now;
	if (skew > (long long)cf->auth_window_s || -skew > (long long)cf->auth_window_s) {
		snprintf(buf, cap, "timestamp %+lld s from the server's clock (window %u s)", skew,
			 cf->auth_window_s);
		return buf;
	}
	enum sig_result r = sig_verify_flags(in->srv->sigs, t->sign_cert_sha256, data, sizeof(data),
					     sig, sig_len, now, t->rsa_raw ? SIG_F_RSA_RAW : 0);
	if (r == SIG_OK)
		return NULL;
	snprintf(buf, cap, "signature: %s", sig_result_name(r));
	return buf;
}

static void handle_signed(const struct conn_msg *in, struct conn_verdict *v)
{
	const struct jt808_msg *m = in->m;
	uint32_t ts;
	const uint8_t *sig;
	size_t sig_len;
	char buf[128];
	if (jt808_parse_auth_signed(m->body, m->body_len, &ts, &sig, &sig_len) != JT808_OK) {
		log_defer(&v->lines, HLOG_WARN, "authentication body of %zu bytes: too short",
			  m->body_len);
		v->act = CONN_ACK;
		v->result = JT808_R_BAD_MESSAGE;
		return;
	}
	const char *why = signed_refusal(in, ts, sig, sig_len, buf, sizeof(buf));
	if (why) {
		failed(in, why, v);
		return;
	}
	v->act = CONN_ASK;
	v->sql = sql_terminal_auth_ts;
	v->asked = on_auth_ts;
	v->nparams = 2;
	snprintf(v->param[0], sizeof(v->param[0]), "%lld", (long long)in->t->id);
	snprintf(v->param[1], sizeof(v->param[1]), "%lu", (unsigned long)ts);
}

/*
 * The timing layout authenticates with a signature, the others with the
 * auth code handed out at registration.
 */
void auth_handle(const struct conn_msg *in, struct conn_verdict *v)
{
	const struct jt808_msg *m = in->m;
	if (throttled(in)) {
		in->srv->st.auth_throttled++;
		v->act = CONN_CLOSE;
		v->result = JT808_R_FAILED;
		v->why = "too many failed authentications from this address this minute";
		return;
	}
	if (m->h.layout == JT808_LTIMING) {
		handle_signed(in, v);
		return;
	}
	char code[128];
	enum jt808_err e = jt808_parse_auth(m->body, m->body_len, m->h.layout == JT808_L2019, code,
					    sizeof(code));
	if (e != JT808_OK) {
		log_defer(&v->lines, HLOG_WARN, "authentication body: %s", jt808_strerror(e));
		v->act = CONN_ACK;
		v->result = JT808_R_BAD_MESSAGE;
		return;
	}
	size_t len = strlen(code);
	if (in->t == NULL)
		failed(in, "unknown terminal", v);
	else if (!in->t->active)
		failed(in, "terminal disabled", v);
	else if (len != strlen(in->t->auth_code) || CRYPTO_memcmp(code, in->t->auth_code, len) != 0)
		failed(in, "wrong auth code", v);
	else
		v->act = CONN_AUTHENTICATE;
}

static void on_unbound(void *arg, const PGresult *res)
{
	if (res == NULL)
		return;
	for (int i = 0; i < PQntuples(res); i++)
		log_warn("terminal %s: its registration hands its PKCS#12 and password to any "
			 "client that gives its number (neither IMEI nor factory serial "
			 "provisioned): `hoursctl terminal add %s --p12 ... --imei IMEI` binds it",
			 PQgetvalue(res, i, TERMINAL_UNBOUND_PHONE),
			 PQgetvalue(res, i, TERMINAL_UNBOUND_PHONE));
}

void auth_warn_unbound(struct db *db)
{
	db_query(db, sql_terminal_unbound, 0, NULL, on_unbound, NULL);
}
