/*
 * answers.c - the frames a terminal receives (termsim.h): every complete
 * frame taken out of the input (junk and oversize frames skipped),
 * reassembled when sub-packaged (timing.c), dispatched; each answer
 * matched to the slot of what it answers (0x8001 by answered serial and
 * ID; 0x8100 the registration's; 0x8900 the platform's commands or the
 * lesson's, lesson_run.c) and accounted.
 */
#include "hoursd.h"
#include "jt808.h"
#include "log.h"
#include "termsim.h"

#include <inttypes.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#define SIM_SCAN_WINDOW (SIM_MAX_FRAME + 64) /* bytes looked at per scan */

/* A record's answer (a timing message answered by 0x8001), apart from the rest. */
static void record_record_latency(struct sim *s, const struct slot *sl)
{
	uint64_t d = termsim_now_us() - sl->sent_us;
	struct run *r = s->run;

	if (r->nrec_lat < SIM_LAT_MAX)
		r->rec_lat_us[r->nrec_lat++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

static void positions_acked(struct sim *s, const struct slot *sl, uint8_t result, uint16_t serial)
{
	if (result != JT808_R_OK) {
		s->pos_failed += sl->npos;
		log_warn("position frame serial %u (%u positions) answered with result %u", serial,
			 sl->npos, result);
		return;
	}
	s->pos_acked += sl->npos;
	for (uint16_t k = 0; k < sl->npos && s->run->acked; k++)
		fprintf(s->run->acked, "%lld\n",
			(long long)termsim_position_time(s, sl->first_pos + k));
	if (s->run->acked && s->o->loop)
		fflush(s->run->acked);
	if (s->o->loop)
		log_info("ack serial %u: %u position(s), %" PRIu64 " acked so far", serial,
			 sl->npos, s->pos_acked);
}

static void untracked_answer(struct sim *s, const struct slot *sl, uint16_t serial, uint8_t result)
{
	if (sl->kind == K_LESSON) {
		termsim_lesson_on_ack(s, (size_t)sl->first_pos, serial, result);
	} else if (sl->kind == K_BADCHECK) {
		s->badcheck_acked++;
		log_error("the frame with a wrong check code (serial %u) was answered, result %u",
			  serial, result);
	} else if (sl->kind == K_ASK) {
		log_info("%sthe request for missing pieces (serial %u) answered, result %u",
			 termsim_who(s), serial, result);
	} else {
		log_info("piece 1 of the unfinished sub-package answered, result %u", result);
	}
}

/* The second answer of --auth-twice is the replay's: it must be refused. */
static void replay_answered(struct sim *s, uint8_t result)
{
	s->auth_replay_result = result;
	if (result == JT808_R_OK)
		log_error("%sthe replayed authentication was accepted (result 0)", termsim_who(s));
	else
		log_info("%sthe replayed authentication was refused, result %u", termsim_who(s),
			 result);
}

static void auth_answered(struct sim *s, uint8_t result)
{
	if (s->auth_result >= 0) {
		replay_answered(s, result);
		return;
	}
	s->auth_result = result;
	if (result != JT808_R_OK) {
		log_error("%sauthentication refused, result %u%s", termsim_who(s), result,
			  s->o->layout == JT808_LTIMING ? " (signature or timestamp not accepted)"
							: " (auth code not accepted)");
		termsim_finish(s);
		return;
	}
	log_info("%sauthenticated%s", termsim_who(s),
		 s->o->layout == JT808_LTIMING ? " (signed timestamp accepted)" : "");
	termsim_start_sending(s);
}

static void account_answer(struct sim *s, const struct slot *sl, uint16_t serial, uint8_t result)
{
	switch (sl->kind) {
	case K_REG:
		log_error("registration answered by 0x8001 with result %u", result);
		termsim_finish(s);
		break;
	case K_AUTH:
		auth_answered(s, result);
		break;
	case K_HB:
		if (result == JT808_R_OK)
			s->hb_acked++;
		else
			log_warn("heartbeat serial %u answered with result %u", serial, result);
		break;
	case K_POS:
		positions_acked(s, sl, result, serial);
		break;
	case K_LESSON:
		termsim_lesson_on_ack(s, (size_t)sl->first_pos, serial, result);
		break;
	case K_UNKNOWN:
		s->unknown_result = result;
		if (result != JT808_R_NOT_SUPPORTED)
			log_warn("unknown message answered with result %u, expected 3", result);
		break;
	default:
		log_warn("answer to serial %u of an unexpected kind", serial);
		break;
	}
}

/*
 * The slot an answer to (*serial, id) is for.  An answer to a
 * sub-packaged message under the serial of another piece than the last
 * one sent is taken for it, and said; a server refusing the pieces one by
 * one answers each, and only the first counts.
 */
static bool answered_slot(struct sim *s, uint16_t *serial, uint16_t id, struct slot *sl)
{
	*sl = s->slots[*serial];
	if (sl->kind == K_PIECE && sl->msg_id == id) {
		uint16_t main_serial = (uint16_t)sl->first_pos;

		s->slots[*serial].kind = K_FREE;
		*sl = s->slots[main_serial];
		if (sl->kind != K_LESSON) {
			log_debug("%s0x8001 for piece serial %u: message %u answered already",
				  termsim_who(s), *serial, main_serial);
			return false;
		}
		log_info("%s0x8001 for a sub-packaged message under serial %u, not %u (the last "
			 "piece sent)",
			 termsim_who(s), *serial, main_serial);
		*serial = main_serial;
	}
	if (sl->kind == K_FREE || sl->kind == K_PIECE || sl->msg_id != id) {
		log_warn("%s0x8001 for serial %u id 0x%04x matches nothing sent", termsim_who(s),
			 *serial, id);
		return false;
	}
	return true;
}

static void on_general_ack(struct sim *s, const struct jt808_msg *m)
{
	uint16_t serial, id;
	uint8_t result;
	struct slot sl;

	if (jt808_parse_general_ack(m->body, m->body_len, &serial, &id, &result) != JT808_OK) {
		log_warn("malformed 0x8001 (%zu body bytes)", m->body_len);
		return;
	}
	if (!answered_slot(s, &serial, id, &sl))
		return;
	if (sl.kind == K_AUTH && sl.npos > 1)
		s->slots[serial].npos--; /* --auth-twice: one more answer to come */
	else
		s->slots[serial].kind = K_FREE;
	if (!sl.tracked) {
		untracked_answer(s, &sl, serial, result);
		return;
	}
	s->inflight--;
	s->acks++;
	termsim_record_latency(s, &sl);
	if (sl.kind == K_LESSON)
		record_record_latency(s, &sl);
	account_answer(s, &sl, serial, result);
	termsim_check_drained(s);
	termsim_pump(s);
}

/* The timing answer's certificate taken, the lesson can be built and signed. */
static bool registered_timing(struct sim *s, const struct jt808_register_ack_timing *a)
{
	uint64_t t0 = termsim_now_us();

	if (!termsim_take_certificate(s, a)) {
		s->cert_failed = true;
		return false;
	}
	if (!termsim_lesson_deferred(s->o))
		return true;
	if (!termsim_lesson_prepare(s, s->pkey)) {
		s->cert_failed = true;
		return false;
	}
	log_info("%slesson messages built and signed in %.1f ms", termsim_who(s),
		 (double)(termsim_now_us() - t0) / 1000.0);
	return true;
}

static enum jt808_err parse_register_ack(const struct sim *s, const struct jt808_msg *m,
					 struct jt808_register_ack_timing *a, char *code,
					 size_t cap)
{
	if (s->o->layout == JT808_LTIMING)
		return jt808_parse_register_ack_timing(m->body, m->body_len, a);
	return jt808_parse_register_ack(m->body, m->body_len, &a->serial, &a->result, code, cap);
}

static void on_register_ack(struct sim *s, const struct jt808_msg *m)
{
	struct jt808_register_ack_timing a = {0};
	uint16_t serial;
	uint8_t result;
	char code[sizeof(s->auth_code)];
	struct slot *sl;

	code[0] = '\0';
	if (parse_register_ack(s, m, &a, code, sizeof(code)) != JT808_OK) {
		log_warn("malformed 0x8100 (%zu body bytes, %s layout)", m->body_len,
			 jt808_layout_name((enum jt808_layout)s->o->layout));
		return;
	}
	serial = a.serial;
	result = a.result;
	sl = &s->slots[serial];
	if (s->st != ST_REGISTERING || serial != s->reg_serial || sl->kind != K_REG) {
		log_warn("0x8100 for serial %u matches no registration", serial);
		return;
	}
	sl->kind = K_FREE;
	s->inflight--;
	s->acks++;
	termsim_record_latency(s, sl);
	s->reg_result = result;
	if (result != JT808_REG_OK) {
		log_error("%sregistration refused, result %u", termsim_who(s), result);
		termsim_finish(s);
		return;
	}
	if (s->o->layout == JT808_LTIMING) {
		if (!registered_timing(s, &a)) {
			termsim_finish(s);
			return;
		}
	} else {
		memcpy(s->auth_code, code, sizeof(code));
		log_info("registered, auth code received (%zu bytes)", strlen(code));
	}
	termsim_start_auth(s);
}

static void on_transparent_down(struct sim *s, const struct jt808_msg *m)
{
	termsim_lesson_on_down(s, m);
	termsim_check_drained(s);
	termsim_pump(s);
}

static void dispatch(struct sim *s, const struct jt808_msg *m)
{
	if (m->h.msg_id == JT808_P_GENERAL_ACK)
		on_general_ack(s, m);
	else if (m->h.msg_id == JT808_P_REGISTER_ACK)
		on_register_ack(s, m);
	else if (m->h.msg_id == JT808_P_TRANSPARENT_DOWN && termsim_on_command(s, m))
		return;
	else if (m->h.msg_id == JT808_P_TRANSPARENT_DOWN && s->lesson)
		on_transparent_down(s, m);
	else
		log_info("ignoring message 0x%04x from server", m->h.msg_id);
}

/* A downlink piece: the whole message is dispatched once its last piece is in. */
static void on_piece(struct sim *s, const struct jt808_msg *m)
{
	struct jt808_msg whole = *m;
	uint8_t *body;
	size_t len;
	unsigned pieces;

	if (!termsim_dl_piece(s, m, &body, &len, &pieces))
		return;
	whole.h.subpkg = false;
	whole.h.pkg_total = whole.h.pkg_index = 0;
	whole.body = body;
	whole.body_len = len;
	dispatch(s, &whole);
	free(body);
}

static void handle_frame(struct sim *s, const uint8_t *esc, size_t n)
{
	struct jt808_msg m;
	size_t len;
	enum jt808_err e = jt808_unescape(esc, n, s->run->rx, &len);

	termsim_log_frame("recv", esc, n);
	if (e == JT808_OK)
		e = jt808_parse(s->run->rx, len, &m);
	if (e != JT808_OK) {
		log_warn("bad frame from server (%zu bytes): %s", n, jt808_strerror(e));
		return;
	}
	termsim_touch(s);
	log_debug("recv message 0x%04x serial %u body %zu", m.h.msg_id, m.h.serial, m.body_len);
	if (m.h.layout != s->o->layout && !s->layout_warned) {
		s->layout_warned = true;
		log_warn("%sserver answered in the %s layout, not %s", termsim_who(s),
			 jt808_layout_name((enum jt808_layout)m.h.layout),
			 jt808_layout_name((enum jt808_layout)s->o->layout));
	}
	if (m.h.subpkg)
		on_piece(s, &m);
	else
		dispatch(s, &m);
}

/* Take every complete frame out of the input; junk and oversize frames are skipped. */
void termsim_on_read(struct bufferevent *bev, void *arg)
{
	struct sim *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	while (s->st != ST_DONE) {
		size_t n = evbuffer_get_length(in);
		struct jt808_scan sc = {0};
		enum jt808_scan_result r;
		uint8_t *p;

		if (n == 0)
			return;
		if (n > SIM_SCAN_WINDOW)
			n = SIM_SCAN_WINDOW;
		p = evbuffer_pullup(in, (ev_ssize_t)n);
		r = jt808_scan(p, n, SIM_MAX_FRAME, &sc);
		if (sc.junk)
			log_warn("skipped %zu junk bytes from server", sc.junk);
		if (r == JT808_SCAN_FRAME)
			handle_frame(s, p + sc.start, sc.len);
		else if (r == JT808_SCAN_OVERSIZE)
			log_warn("skipped an oversize frame from server");
		else if (sc.skip == 0 && n < SIM_SCAN_WINDOW)
			return;
		if (sc.skip == 0 || sc.skip > n)
			sc.skip = n; /* defensive: always make progress */
		evbuffer_drain(in, sc.skip);
	}
}
