/*
 * traffic.c - what a terminal sends (termsim.h): the registration
 * (0x0100), the authentication (0x0102: the auth code, or in the timing
 * layout a signature, timing.c), heartbeats (0x0002), location reports
 * (0x0200, or 0x0704 batches), the hostile frames of --inject, then the
 * lesson's messages (lesson_run.c); paced by --rate and by a window of
 * unanswered frames (termsim_pump()).
 */
#include "hoursd.h"
#include "jt808.h"
#include "log.h"
#include "termsim.h"

#include <openssl/rand.h>

#define SIM_OVERSIZE_LEN 4000
#define SIM_GARBAGE_LEN 64
#define SIM_UNKNOWN_ID 0x0F0F

const char *const termsim_inject_names[INJ_UNKNOWN + 1] = {
	[INJ_NONE] = "none",
	[INJ_GARBAGE] = "garbage",
	[INJ_BADCHECK] = "badcheck",
	[INJ_OVERSIZE] = "oversize",
	[INJ_SUBPKG] = "subpkg-unfinished",
	[INJ_UNKNOWN] = "unknown-msg",
};

void termsim_register(struct sim *s)
{
	struct jt808_register r = {.province = 31, .city = 0, .plate_color = 1};
	const char *p = s->phone_raw;
	size_t plen = strlen(p);
	uint8_t body[256];
	size_t n;

	snprintf(r.maker, sizeof(r.maker), "HRSD");
	snprintf(r.model, sizeof(r.model), "TERMSIM");
	/* 2013, timing: the factory serial is 7 bytes, so the phone's last 7 digits. */
	snprintf(r.terminal_id, sizeof(r.terminal_id), "%s",
		 s->o->layout == JT808_L2019 || plen <= 7 ? p : p + plen - 7);
	memcpy(r.imei, s->imei, sizeof(r.imei));
	snprintf(r.plate, sizeof(r.plate), "HA12345");
	n = jt808_build_register(&r, s->o->layout, body, sizeof(body));
	if (n == 0) {
		log_error("cannot build the registration body");
		termsim_finish(s);
		return;
	}
	s->reg_serial = termsim_send_simple(s, JT808_T_REGISTER, body, n, K_REG);
	termsim_set_state(s, ST_REGISTERING);
}

void termsim_start_sending(struct sim *s)
{
	termsim_set_state(s, ST_SENDING);
	s->pace_t0_us = termsim_now_us();
	s->paced = 0;
	termsim_pump(s);
}

/*
 * --auth-twice sends the very bytes again, serial included: a replay,
 * whose answer is awaited as a second answer under the same serial.
 */
static void send_auth(struct sim *s, const uint8_t *body, size_t len)
{
	struct jt808_header h = termsim_header(s, JT808_T_AUTH);
	uint8_t out[SIM_FRAME_CAP];
	size_t n = jt808_encode(&h, body, len, out, sizeof(out));

	if (n == 0) {
		log_error("cannot encode the authentication");
		termsim_finish(s);
		return;
	}
	termsim_slot_fill(s, &h, K_AUTH, true, 0, s->o->auth_twice ? 2 : 1);
	termsim_write(s, out, n);
	if (s->o->auth_twice) {
		s->inflight++;
		log_info("%ssending the same authentication frame again (--auth-twice)",
			 termsim_who(s));
		termsim_write(s, out, n);
	}
	termsim_set_state(s, ST_AUTHENTICATING);
}

void termsim_start_auth(struct sim *s)
{
	uint8_t body[JT808_MAX_BODY];
	size_t n;

	if (s->o->no_auth) {
		termsim_start_sending(s);
		return;
	}
	if (s->o->layout == JT808_LTIMING) {
		n = termsim_auth_timing(s, body, sizeof(body));
	} else {
		if (s->o->auth_code)
			snprintf(s->auth_code, sizeof(s->auth_code), "%s", s->o->auth_code);
		n = jt808_build_auth(s->auth_code, s->o->layout == JT808_L2019, body, sizeof(body));
	}
	if (n == 0) {
		log_error("cannot build the authentication body");
		termsim_finish(s);
		return;
	}
	send_auth(s, body, n);
}

/*
 * Position i's time: --start-time (default now - positions) + i.  In --loop
 * without --start-time it follows the wall clock instead: the loop sends
 * rate x batch positions a second from the start.
 */
time_t termsim_position_time(const struct sim *s, uint64_t i)
{
	const struct opts *o = s->o;
	double per_s = o->rate * (o->batch > 0 ? o->batch : 1);

	if (o->loop && !o->start_time_set)
		return (time_t)(o->start_time + (long long)((double)i / per_s));
	return (time_t)(o->start_time + (long long)i);
}

/* Position i of the route: a few metres north-east per point, 30 km/h. */
static void position_at(const struct sim *s, uint64_t i, struct jt808_location *loc)
{
	*loc = (struct jt808_location){
		.status = JT808_ST_FIX,
		.lat_e6 = 31230000 + (int32_t)(i % 100000) * 20,
		.lon_e6 = 121470000 + (int32_t)(i % 100000) * 20,
		.altitude_m = 10,
		.speed_dkmh = 300,
		.direction = 45,
		.fix = true,
	};
	loc->time = termsim_position_time(s, i);
}

static void send_location(struct sim *s)
{
	struct jt808_location loc;
	uint8_t body[JT808_LOCATION_LEN];
	struct jt808_header h = termsim_header(s, JT808_T_LOCATION);

	position_at(s, s->pos_next, &loc);
	jt808_build_location(&loc, body);
	if (termsim_send_msg(s, &h, body, sizeof(body), K_POS, s->pos_next, 1) != 0)
		s->pos_sent++;
	s->pos_next++;
}

static uint16_t positions_left(const struct sim *s, uint16_t max)
{
	uint64_t left;

	if (s->o->loop)
		return max;
	left = (uint64_t)s->o->positions - s->pos_next;
	return left < max ? (uint16_t)left : max;
}

/* 0x0704: count WORD, type BYTE 0, then count x (length WORD, GNSS block). */
static void send_batch(struct sim *s)
{
	uint8_t body[JT808_MAX_BODY];
	uint16_t count = positions_left(s, (uint16_t)s->o->batch);
	uint8_t *p = jt808_put16(body, count);
	struct jt808_header h = termsim_header(s, JT808_T_BATCH_LOCATION);

	*p++ = 0;
	for (uint16_t k = 0; k < count; k++) {
		struct jt808_location loc;

		position_at(s, s->pos_next + k, &loc);
		p = jt808_put16(p, JT808_LOCATION_LEN);
		p += jt808_build_location(&loc, p);
	}
	if (termsim_send_msg(s, &h, body, (size_t)(p - body), K_POS, s->pos_next, count) != 0)
		s->pos_sent += count;
	s->pos_next += count;
}

static void inject_garbage(struct sim *s)
{
	uint8_t junk[SIM_GARBAGE_LEN];

	if (RAND_bytes(junk, sizeof(junk)) != 1)
		memset(junk, 0x5a, sizeof(junk));
	for (size_t i = 0; i < sizeof(junk); i++)
		if (junk[i] == JT808_FLAG)
			junk[i] = 0;
	termsim_write(s, junk, sizeof(junk));
}

/*
 * Replace the (possibly escaped) check code before the closing flag with a
 * wrong one that needs no escaping.  A 0x7D in an escaped stream always
 * starts an escape, so a 0x7D two bytes before the end means the check
 * code was escaped.
 */
static size_t spoil_check(uint8_t *f, size_t n)
{
	size_t at = (n >= 4 && f[n - 3] == JT808_ESC) ? n - 3 : n - 2;
	uint8_t old = f[at] == JT808_ESC ? (uint8_t)(f[at + 1] == 0x01 ? 0x7d : 0x7e) : f[at];

	f[at] = old == 0x00 ? 0x01 : 0x00;
	f[at + 1] = JT808_FLAG;
	return at + 2;
}

static void inject_badcheck(struct sim *s)
{
	struct jt808_location loc;
	uint8_t body[JT808_LOCATION_LEN], out[SIM_FRAME_CAP];
	struct jt808_header h = termsim_header(s, JT808_T_LOCATION);
	size_t n;

	position_at(s, 0, &loc);
	jt808_build_location(&loc, body);
	n = jt808_encode(&h, body, sizeof(body), out, sizeof(out));
	if (n < 4) {
		log_error("cannot encode the badcheck frame");
		return;
	}
	n = spoil_check(out, n);
	termsim_slot_fill(s, &h, K_BADCHECK, false, 0, 0);
	termsim_write(s, out, n);
}

static void inject_oversize(struct sim *s)
{
	uint8_t *f = malloc(SIM_OVERSIZE_LEN + 2);

	if (!f) {
		log_error("out of memory");
		return;
	}
	memset(f, 0x30, SIM_OVERSIZE_LEN + 2);
	f[0] = JT808_FLAG;
	f[SIM_OVERSIZE_LEN + 1] = JT808_FLAG;
	termsim_write(s, f, SIM_OVERSIZE_LEN + 2);
	free(f);
}

/* Piece 1 of 2 of a location report; piece 2 never comes. */
static void inject_subpkg(struct sim *s)
{
	struct jt808_location loc;
	uint8_t body[JT808_LOCATION_LEN];
	struct jt808_header h = termsim_header(s, JT808_T_LOCATION);

	h.subpkg = true;
	h.pkg_total = 2;
	h.pkg_index = 1;
	position_at(s, 0, &loc);
	jt808_build_location(&loc, body);
	termsim_send_msg(s, &h, body, JT808_LOCATION_LEN / 2, K_SUBPKG, 0, 0);
}

static void inject_unknown(struct sim *s)
{
	static const uint8_t body[] = {0x01, 0x02, 0x03, 0x04};

	termsim_send_simple(s, SIM_UNKNOWN_ID, body, sizeof(body), K_UNKNOWN);
}

static void inject(struct sim *s)
{
	s->inject_done = true;
	log_info("injecting %s", termsim_inject_names[s->o->inject]);
	switch (s->o->inject) {
	case INJ_GARBAGE:
		inject_garbage(s);
		break;
	case INJ_BADCHECK:
		inject_badcheck(s);
		break;
	case INJ_OVERSIZE:
		inject_oversize(s);
		break;
	case INJ_SUBPKG:
		inject_subpkg(s);
		break;
	case INJ_UNKNOWN:
		inject_unknown(s);
		break;
	case INJ_NONE:
		return;
	}
	s->injected++;
}

static bool positions_done(const struct sim *s)
{
	return !s->o->loop && s->pos_next >= (uint64_t)s->o->positions;
}

void termsim_check_drained(struct sim *s)
{
	if (s->st == ST_DRAINING && s->inflight == 0)
		termsim_finish(s);
}

/* Send whatever the window and the rate allow now. */
void termsim_pump(struct sim *s)
{
	while (s->st == ST_SENDING) {
		if (s->inflight >= (unsigned)s->o->window)
			return;
		if (s->hb_sent >= s->o->heartbeats && !s->inject_done && s->o->inject != INJ_NONE) {
			inject(s);
			continue;
		}
		if (s->hb_sent >= s->o->heartbeats && positions_done(s)) {
			enum termsim_step r = s->lesson ? termsim_lesson_step(s) : STEP_DONE;

			if (r == STEP_SENT)
				continue;
			if (r == STEP_WAIT)
				return;
			termsim_set_state(s, ST_DRAINING);
			termsim_check_drained(s);
			return;
		}
		if (!termsim_pace_allows(s))
			return;
		if (s->hb_sent < s->o->heartbeats) {
			termsim_send_simple(s, JT808_T_HEARTBEAT, NULL, 0, K_HB);
			s->hb_sent++;
		} else if (s->o->batch > 0) {
			send_batch(s);
		} else {
			send_location(s);
		}
	}
}
