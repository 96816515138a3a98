/*
 * timing.c - what the national timing layout (docs/protocol.md)
 * adds to a terminal: the registration answer, whose certificate arrives
 * in pieces and is a PKCS#12 to open with the password beside it; the
 * requests for pieces that did not come (0x8003); and the signed
 * authentication that replaces the auth code.
 *
 * A real terminal keeps the key of that PKCS#12 and signs with it from
 * then on, so termsim does the same unless --sign-key names another key
 * (a test of a key the server does not know).
 */
#include "hoursd.h"
#include "jt808.h"
#include "log.h"
#include "sig.h"
#include "termsim.h"

#include <errno.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#define DL_MAX_PIECES 128 /* a certificate takes ~5; a bound for a hostile server */
#define DL_MAX_AGE_S 60
#define DL_ASK_AFTER_S 2 /* the wait for a missing piece before asking for it */
#define DL_ASKS_MAX 3	 /* then the --timeout deadline decides */
#define P12_MAX (64 * 1024)

/*
 * The sub-packaged downlink being received: the bytes are jt808_reasm's;
 * what it does not say is which pieces are missing, so seen[] does.
 * One message at a time, as a server sends them.
 */
struct termsim_dl {
	struct sim *s;
	struct jt808_reasm *r;
	struct event *ask_ev;
	bool active, dropped;
	uint16_t msg_id, total, first;
	unsigned asks;
	bool seen[DL_MAX_PIECES + 1];
};

static void dl_ask(evutil_socket_t fd, short what, void *arg);

static struct termsim_dl *dl_get(struct sim *s)
{
	struct termsim_dl *d = s->dl;

	if (d)
		return d;
	if (!(d = calloc(1, sizeof(*d))))
		return NULL;
	d->s = s;
	d->r = jt808_reasm_new(DL_MAX_PIECES, (size_t)DL_MAX_PIECES * JT808_MAX_BODY, DL_MAX_AGE_S);
	d->ask_ev = evtimer_new(s->run->base, dl_ask, d);
	if (!d->r || !d->ask_ev) {
		jt808_reasm_free(d->r);
		if (d->ask_ev)
			event_free(d->ask_ev);
		free(d);
		return NULL;
	}
	return s->dl = d;
}

void termsim_dl_free(struct sim *s)
{
	struct termsim_dl *d = s->dl;

	if (!d)
		return;
	event_free(d->ask_ev);
	jt808_reasm_free(d->r);
	free(d);
	s->dl = NULL;
}

/* A piece of another message than the one tracked starts tracking that one. */
static void dl_track(struct termsim_dl *d, const struct jt808_header *h)
{
	uint16_t first = (uint16_t)(h->serial - h->pkg_index + 1);

	if (d->active && d->msg_id == h->msg_id && d->total == h->pkg_total && d->first == first)
		return;
	d->active = true;
	d->msg_id = h->msg_id;
	d->total = h->pkg_total;
	d->first = first;
	d->asks = 0;
	memset(d->seen, 0, sizeof(d->seen));
}

static void dl_arm(struct termsim_dl *d)
{
	struct timeval tv = {.tv_sec = DL_ASK_AFTER_S};

	event_add(d->ask_ev, &tv);
}

static const char *dl_what(uint16_t msg_id)
{
	return msg_id == JT808_P_REGISTER_ACK ? "registration answer" : "message";
}

/* The wait is over and pieces are missing: ask for them (0x8003; 0x0005 in 2019). */
static void dl_ask(evutil_socket_t fd, short what, void *arg)
{
	struct termsim_dl *d = arg;
	struct sim *s = d->s;
	uint16_t idx[DL_MAX_PIECES];
	uint8_t body[3 + 2 * DL_MAX_PIECES];
	size_t count = 0, n;
	enum jt808_layout l = (enum jt808_layout)s->o->layout;

	if (!d->active || s->st == ST_DONE)
		return;
	for (uint16_t k = 1; k <= d->total; k++)
		if (!d->seen[k])
			idx[count++] = k;
	if (count == 0 || d->asks >= DL_ASKS_MAX)
		return;
	n = jt808_build_piece_request(d->first, idx, count, l, body, sizeof(body));
	if (n == 0 ||
	    termsim_send_untracked(s, l == JT808_L2019 ? JT808_T_ASK_PIECES : JT808_P_ASK_PIECES,
				   body, n) == 0) {
		log_error("%scannot ask for the missing pieces of 0x%04x", termsim_who(s),
			  d->msg_id);
		return;
	}
	d->asks++;
	log_info("%sasked for %zu missing piece(s) of 0x%04x (first serial %u, piece %u of %u)",
		 termsim_who(s), count, d->msg_id, d->first, idx[0], d->total);
	dl_arm(d);
}

bool termsim_dl_piece(struct sim *s, const struct jt808_msg *m, uint8_t **body, size_t *len,
		      unsigned *pieces)
{
	struct termsim_dl *d = dl_get(s);
	enum jt808_err e;

	*body = NULL;
	if (!d) {
		log_error("out of memory");
		return false;
	}
	if (m->h.pkg_total == 0 || m->h.pkg_total > DL_MAX_PIECES || m->h.pkg_index == 0 ||
	    m->h.pkg_index > m->h.pkg_total) {
		log_warn("%sdownlink piece %u of %u of 0x%04x: bad numbers", termsim_who(s),
			 m->h.pkg_index, m->h.pkg_total, m->h.msg_id);
		return false;
	}
	dl_track(d, &m->h);
	if (s->o->drop_piece == m->h.pkg_index && !d->dropped) {
		/* the test of the resend: as if this piece were lost on the way */
		d->dropped = true;
		log_info("%signoring downlink piece %u of %u of 0x%04x (--drop-piece)",
			 termsim_who(s), m->h.pkg_index, m->h.pkg_total, m->h.msg_id);
		dl_arm(d);
		return false;
	}
	e = jt808_reasm_add(d->r, m, time(NULL), body, len);
	if (e != JT808_OK) {
		log_warn("%sdownlink piece %u of %u of 0x%04x: %s", termsim_who(s), m->h.pkg_index,
			 m->h.pkg_total, m->h.msg_id, jt808_strerror(e));
		d->active = false;
		event_del(d->ask_ev);
		return false;
	}
	d->seen[m->h.pkg_index] = true;
	if (!*body) {
		dl_arm(d);
		return false;
	}
	*pieces = d->total;
	log_info("%s%s reassembled from %u pieces", termsim_who(s), dl_what(m->h.msg_id), d->total);
	d->active = false;
	event_del(d->ask_ev);
	return true;
}

/* ---- the registration answer's certificate ---- */

/*
 * Base64 as a server may send it: NULs after it (one is usual), line
 * breaks inside (Java's MIME encoder); EVP_Decode* skips the breaks.
 */
static uint8_t *b64_decode(const char *b64, size_t n, size_t *out_len)
{
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	uint8_t *out = NULL;
	int w = 0, w2 = 0;

	while (n > 0 && (b64[n - 1] == '\0' || b64[n - 1] == '\n' || b64[n - 1] == '\r'))
		n--;
	if (!ctx || n == 0 || n > P12_MAX * 2 || !(out = malloc(n / 4 * 3 + 4)))
		goto fail;
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, out, &w, (const unsigned char *)b64, (int)n) < 0 ||
	    EVP_DecodeFinal(ctx, out + w, &w2) != 1)
		goto fail;
	EVP_ENCODE_CTX_free(ctx);
	*out_len = (size_t)(w + w2);
	return out;
fail:
	EVP_ENCODE_CTX_free(ctx);
	free(out);
	return NULL;
}

static bool write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	bool ok = f && fwrite(p, 1, n, f) == n;

	if (f && fclose(f) != 0)
		ok = false;
	if (!ok)
		log_error("cannot write %s: %s", path, strerror(errno));
	return ok;
}

static void log_ssl_errors(void)
{
	unsigned long e;
	char buf[256];

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		log_error("  %s", buf);
	}
}

/* The key and certificate of the DER PKCS#12; *key NULL on error (logged). */
static void open_p12(struct sim *s, const uint8_t *der, size_t n, const char *password,
		     EVP_PKEY **key, X509 **cert)
{
	const unsigned char *p = der;
	PKCS12 *p12 = d2i_PKCS12(NULL, &p, (long)n);

	*key = NULL;
	*cert = NULL;
	if (!p12 || !PKCS12_parse(p12, password, key, cert, NULL) || !*key) {
		log_error("%sthe registration answer's PKCS#12 (%zu bytes) does not open with "
			  "its password",
			  termsim_who(s), n);
		log_ssl_errors();
		EVP_PKEY_free(*key);
		*key = NULL;
	}
	PKCS12_free(p12);
}

static void log_certificate(struct sim *s, X509 *cert, size_t der_len)
{
	char cn[128] = "?";

	if (cert)
		X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn,
					  sizeof(cn));
	log_info("%sregistered: terminal number %s, certificate CN=%s (PKCS#12, %zu bytes)",
		 termsim_who(s), s->terminal_no, cn, der_len);
}

/* The answer's terminal number, when printable and --terminal-no did not name one. */
static void take_terminal_no(struct sim *s, const char *no)
{
	size_t n = strlen(no);

	if (s->o->l.terminal_no)
		return;
	for (size_t i = 0; i < n; i++)
		if (no[i] <= 0x20 || no[i] > 0x7e)
			n = 0;
	if (n != JTX_TERMINAL_NO_LEN) {
		log_warn("%sthe registration answer's terminal number is not 16 printable "
			 "characters: keeping %s",
			 termsim_who(s), s->terminal_no);
		return;
	}
	memcpy(s->terminal_no, no, n + 1);
}

bool termsim_take_certificate(struct sim *s, const struct jt808_register_ack_timing *a)
{
	size_t der_len = 0;
	uint8_t *der = b64_decode(a->cert_b64, a->cert_len, &der_len);
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	bool ok = false;

	take_terminal_no(s, a->terminal_no);
	if (!der) {
		log_error("%sthe registration answer's certificate (%zu bytes) is not Base64",
			  termsim_who(s), a->cert_len);
		return false;
	}
	if (s->p12_out && !write_file(s->p12_out, der, der_len))
		goto out;
	open_p12(s, der, der_len, a->cert_password, &key, &cert);
	if (!key)
		goto out;
	log_certificate(s, cert, der_len);
	if (s->pkey) {
		log_info("%ssigning with %s, not the certificate's key (--sign-key)",
			 termsim_who(s), s->sign_key);
		EVP_PKEY_free(key);
	} else {
		s->pkey = key;
	}
	ok = true;
out:
	X509_free(cert);
	free(der);
	return ok;
}

/* ---- authentication ---- */

size_t termsim_auth_timing(struct sim *s, uint8_t *out, size_t cap)
{
	const struct opts *o = s->o;
	uint32_t ts = (uint32_t)((long long)time(NULL) + o->auth_ts_offset);
	uint8_t data[JT808_AUTH_SIGNED_LEN], sig[JTX_MAX_SIG];
	size_t sig_len = sizeof(sig);

	if (!s->pkey) {
		log_error("%sno key to sign the authentication with (--sign-key F)",
			  termsim_who(s));
		return 0;
	}
	if (!jt808_auth_signed_data(s->terminal_no, ts, data) ||
	    !sig_sign_form(s->pkey, SIG_FORM_BARE, data, sizeof(data), sig, &sig_len)) {
		log_error("%scannot sign the authentication as terminal %s", termsim_who(s),
			  s->terminal_no);
		return 0;
	}
	if (o->auth_bad_sig)
		sig[sig_len / 2] ^= 0xff;
	log_info("%sauthenticating as terminal %s, timestamp %lu%s%s", termsim_who(s),
		 s->terminal_no, (unsigned long)ts, o->auth_ts_offset ? " (offset)" : "",
		 o->auth_bad_sig ? ", signature spoilt" : "");
	return jt808_build_auth_signed(ts, sig, sig_len, out, cap);
}

void termsim_default_imei(const char *phone, char out[16])
{
	size_t n = strlen(phone);

	if (n > 13)
		phone += n - 13;
	n = strlen(phone);
	memcpy(out, "86", 2);
	memset(out + 2, '0', 13 - n);
	memcpy(out + 15 - n, phone, n + 1);
}

/* ---- the platform's commands ---- */

/* One answer (0x0205, 0x0301, 0x0502) to the command of extended serial cmd->serial. */
static void send_command_answer(struct sim *s, const struct jtx_header *cmd, uint16_t answer_id,
				const struct jtx_command *a)
{
	uint8_t data[64], body[128];
	size_t n = jtx_build_command(answer_id, a, data, sizeof(data));
	struct jtx_header h = {
		.msg_id = answer_id, .props = JTX_PROP_ANSWER, .serial = cmd->serial};
	snprintf(h.terminal_no, sizeof(h.terminal_no), "%s", s->terminal_no);
	size_t len = n ? jtx_build(&h, data, n, NULL, 0, body, sizeof(body)) : 0;
	if (len == 0) {
		log_error("cannot build the answer 0x%04x", answer_id);
		return;
	}
	termsim_send_untracked(s, JT808_T_TRANSPARENT_UP, body, len);
	if (s->o->answers_twice)
		termsim_send_untracked(s, JT808_T_TRANSPARENT_UP, body, len);
}

/*
 * Answered as the cheshang terminal answers (MsgHandle.java): 0x8205 with
 * 0x0205 result 1 (received) and then 3 (nothing to upload again: termsim
 * keeps no records of earlier runs); 0x8301 with 0x0301 result 1 and the
 * command's fields (no photo follows); 0x8502 with 0x0502 result 1 and
 * the state.
 */
bool termsim_on_command(struct sim *s, const struct jt808_msg *m)
{
	struct jtx_header h;
	struct jtx_command c;
	if (jtx_parse(m->body, m->body_len, &h) != JTX_OK)
		return false;
	uint16_t answer_id = jtx_command_answer_id(h.msg_id);
	if (answer_id == 0)
		return false;
	enum jtx_err e = jtx_parse_command(h.msg_id, h.data, h.data_len, &c);
	if (e != JTX_OK) {
		log_error("command 0x%04x (extended serial %u): %s", h.msg_id, h.serial,
			  jtx_strerror(e));
		return true;
	}
	log_info("command 0x%04x (extended serial %u) received%s", h.msg_id, h.serial,
		 h.msg_id == JTX_TRAINING_BAN
			 ? (c.ban_state == JTX_BAN_ON ? ": training banned" : ": training allowed")
			 : "");
	struct jtx_command a = c;
	a.result = JTX_CMD_OK;
	a.message.len = 0;
	send_command_answer(s, &h, answer_id, &a);
	if (h.msg_id == JTX_FETCH_RECORDS) {
		a.result = JTX_CMD_NO_RECORDS;
		send_command_answer(s, &h, answer_id, &a);
	}
	s->commands++;
	return true;
}
