/*
 * termsim.c - simulated timing terminals: by default the national timing
 * layout over plain TCP, as real timing terminals speak it; the 2013 and
 * 2019 headers and (mutual) TLS on request.
 *
 * Used by the demo (--loop), the integration tests and the load generator.
 * Each terminal is one connection: register (0x0100), authenticate
 * (0x0102: the auth code, or in the timing layout a signature with the key
 * the registration answer delivered, termsim_timing.c), heartbeats
 * (0x0002), then location reports (0x0200, or 0x0704 batches), then with
 * --lesson a timing-training lesson (termsim_lesson.c),
 * paced by --rate and by a window of unanswered frames.  Every frame
 * waits for its answer (0x8001 matched by answered serial and ID; 0x8900
 * by extended ID and serial); at the end a key=value summary, totals over
 * all terminals (--terminals C, one event loop), goes to stdout.  Exit: 0
 * all answered as expected, 1 a failure or an early close, 2 usage,
 * 3 timeout (no progress for --timeout s).
 */
#include "hoursd.h"
#include "jt808.h"
#include "log.h"
#include "sig.h"
#include "termsim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define SIM_SCAN_WINDOW (SIM_MAX_FRAME + 64) /* bytes looked at per scan */
#define SIM_READ_HIGH (64 * 1024)	     /* input bound before we stop reading */
#define SIM_ITEM_LEN (2 + JT808_LOCATION_LEN)
#define SIM_BATCH_MAX ((JT808_MAX_BODY - 3) / SIM_ITEM_LEN)
#define SIM_WINDOW_MAX 4096
#define SIM_TERMINALS_MAX 100000
#define SIM_LAT_MAX (1u << 22) /* latency samples kept */
#define SIM_FRAME_CAP JT808_ENCODED_MAX(JT808_MAX_BODY)
#define SIM_OVERSIZE_LEN 4000
#define SIM_GARBAGE_LEN 64
#define SIM_UNKNOWN_ID 0x0F0F

enum sim_exit { EXIT_DONE = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_TIMEOUT = 3 };

static const char *const inject_names[] = {
	[INJ_NONE] = "none",
	[INJ_GARBAGE] = "garbage",
	[INJ_BADCHECK] = "badcheck",
	[INJ_OVERSIZE] = "oversize",
	[INJ_SUBPKG] = "subpkg-unfinished",
	[INJ_UNKNOWN] = "unknown-msg",
};

static const char *const state_names[] = {"connecting", "registering", "authenticating",
					  "sending",	"draining",    "done"};

static void pump(struct sim *s);

/* ---- small helpers ---- */

uint64_t termsim_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static struct timeval tv_from_us(uint64_t us)
{
	struct timeval tv = {.tv_sec = (time_t)(us / 1000000u),
			     .tv_usec = (suseconds_t)(us % 1000000u)};

	return tv;
}

static void sim_set_state(struct sim *s, enum sim_state st)
{
	log_debug("state %s -> %s", state_names[s->st], state_names[st]);
	s->st = st;
}

/*
 * This terminal is done; the loop stops when the last one is.  The
 * caller's callback chain returns before anything is freed.
 */
static void sim_finish(struct sim *s)
{
	if (s->st == ST_DONE)
		return;
	sim_set_state(s, ST_DONE);
	s->t_end_us = termsim_now_us();
	event_del(s->idle_ev);
	event_del(s->pace_ev);
	if (--s->run->active == 0) {
		s->run->t_end_us = s->t_end_us;
		event_base_loopexit(s->run->base, NULL);
	}
}

/* A prefix naming the terminal in log lines, when there are several. */
static const char *who(const struct sim *s)
{
	static char buf[JT808_PHONE_MAX + 4];

	if (s->run->nsims <= 1)
		return "";
	snprintf(buf, sizeof(buf), "%s: ", s->phone_raw);
	return buf;
}

const char *termsim_who(const struct sim *s)
{
	return who(s);
}

/* Any progress (a frame out or in) pushes the no-progress deadline back. */
static void idle_touch(struct sim *s)
{
	struct timeval tv = {.tv_sec = s->o->timeout_s};

	event_add(s->idle_ev, &tv);
}

static void log_frame(const char *dir, const uint8_t *buf, size_t n)
{
	char hex[200];

	if (!log_enabled(HLOG_DEBUG))
		return;
	log_hex(hex, sizeof(hex), buf, n, 64);
	log_debug("%s %zu bytes: %s", dir, n, hex);
}

static void sim_write(struct sim *s, const uint8_t *buf, size_t n)
{
	log_frame("send", buf, n);
	if (bufferevent_write(s->bev, buf, n) != 0)
		log_error("bufferevent_write failed");
	idle_touch(s);
}

/* ---- sending ---- */

/*
 * The timing header's reserved byte is what real terminals send: 1 while
 * a student is logged in, else 0 (the server reads it, never trusts it).
 */
static struct jt808_header header_with(const struct sim *s, uint16_t msg_id, uint16_t serial)
{
	bool timing = s->o->layout == JT808_LTIMING;
	struct jt808_header h = {.msg_id = msg_id,
				 .layout = s->o->layout,
				 .version = s->o->layout == JT808_L2019 ? 1
					    : timing			? JT808_TIMING_VERSION
									: 0,
				 .reserved = timing && s->in_training ? 1 : 0,
				 .serial = serial};

	memcpy(h.phone, s->phone, sizeof(h.phone));
	return h;
}

static struct jt808_header sim_header(struct sim *s, uint16_t msg_id)
{
	uint16_t serial = ++s->serial;

	if (serial == 0)
		serial = s->serial = 1;
	return header_with(s, msg_id, serial);
}

/* count consecutive serials (the pieces of one message), none of them 0. */
static uint16_t reserve_serials(struct sim *s, unsigned count)
{
	uint16_t first;

	if ((unsigned)s->serial + count > UINT16_MAX)
		s->serial = 0;
	first = (uint16_t)(s->serial + 1);
	s->serial = (uint16_t)(s->serial + count);
	return first;
}

static void slot_fill(struct sim *s, const struct jt808_header *h, enum slot_kind kind,
		      bool tracked, uint64_t first_pos, uint16_t npos)
{
	struct slot *sl = &s->slots[h->serial];

	if (sl->kind != K_FREE && sl->tracked) {
		log_warn("serial %u reused while unanswered", h->serial);
		s->inflight--;
	}
	*sl = (struct slot){.sent_us = termsim_now_us(),
			    .first_pos = first_pos,
			    .npos = npos,
			    .msg_id = h->msg_id,
			    .kind = (uint8_t)kind,
			    .tracked = tracked};
	if (tracked)
		s->inflight++;
}

/* Encode and queue one frame; returns its serial (0 when it could not be encoded). */
static uint16_t send_msg(struct sim *s, struct jt808_header *h, const uint8_t *body, size_t len,
			 enum slot_kind kind, uint64_t first_pos, uint16_t npos)
{
	uint8_t out[SIM_FRAME_CAP];
	size_t n = jt808_encode(h, body, len, out, sizeof(out));

	if (n == 0) {
		log_error("cannot encode message 0x%04x (%zu body bytes)", h->msg_id, len);
		return 0;
	}
	slot_fill(s, h, kind, kind != K_BADCHECK && kind != K_SUBPKG && kind != K_ASK, first_pos,
		  npos);
	sim_write(s, out, n);
	return h->serial;
}

static uint16_t send_simple(struct sim *s, uint16_t msg_id, const uint8_t *body, size_t len,
			    enum slot_kind kind)
{
	struct jt808_header h = sim_header(s, msg_id);

	return send_msg(s, &h, body, len, kind, 0, 0);
}

uint16_t termsim_send_untracked(struct sim *s, uint16_t msg_id, const uint8_t *body, size_t len)
{
	return send_simple(s, msg_id, body, len, K_ASK);
}

unsigned termsim_pieces(size_t len)
{
	return len <= JT808_MAX_BODY ? 1 : (unsigned)((len + SIM_PIECE - 1) / SIM_PIECE);
}

/* Piece k (from 1) of total of a 0x0900 body, under serial first + k - 1. */
static bool send_piece(struct sim *s, const uint8_t *body, size_t len, unsigned k, unsigned total,
		       uint16_t first, enum slot_kind kind, bool tracked, uint64_t ref)
{
	struct jt808_header h = header_with(s, JT808_T_TRANSPARENT_UP, (uint16_t)(first + k - 1));
	size_t off = total > 1 ? (size_t)(k - 1) * SIM_PIECE : 0;
	size_t n = total > 1 && len - off > SIM_PIECE ? SIM_PIECE : len - off;
	uint8_t out[SIM_FRAME_CAP];
	size_t w;

	h.subpkg = total > 1;
	h.pkg_total = h.subpkg ? (uint16_t)total : 0;
	h.pkg_index = h.subpkg ? (uint16_t)k : 0;
	w = jt808_encode(&h, body + off, n, out, sizeof(out));
	if (w == 0) {
		log_error("%scannot encode piece %u/%u (%zu bytes)", who(s), k, total, n);
		return false;
	}
	slot_fill(s, &h, kind, tracked, ref, 0);
	sim_write(s, out, w);
	return true;
}

/* The index of the last piece sent, given the order and the piece left out. */
static unsigned last_sent_piece(unsigned total, bool reverse, unsigned drop)
{
	unsigned last = 0;

	for (unsigned i = 0; i < total; i++) {
		unsigned k = reverse ? total - i : i + 1;

		if (k != drop)
			last = k;
	}
	return last;
}

uint16_t termsim_send_transparent(struct sim *s, const uint8_t *body, size_t len, size_t ref,
				  bool tracked, bool reverse, unsigned drop)
{
	unsigned total = termsim_pieces(len), last = last_sent_piece(total, reverse, drop);
	uint16_t first, main_serial;

	if (total > UINT16_MAX || last == 0)
		return 0;
	first = reserve_serials(s, total);
	main_serial = (uint16_t)(first + last - 1);
	for (unsigned i = 0; i < total; i++) {
		unsigned k = reverse ? total - i : i + 1;
		bool is_main = k == last;

		if (k == drop)
			continue;
		if (!send_piece(s, body, len, k, total, first, is_main ? K_LESSON : K_PIECE,
				is_main && tracked, is_main ? ref : main_serial))
			return 0;
	}
	return main_serial;
}

static void send_register(struct sim *s)
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
		sim_finish(s);
		return;
	}
	s->reg_serial = send_simple(s, JT808_T_REGISTER, body, n, K_REG);
	sim_set_state(s, ST_REGISTERING);
}

static void start_sending(struct sim *s)
{
	sim_set_state(s, ST_SENDING);
	s->pace_t0_us = termsim_now_us();
	s->paced = 0;
	pump(s);
}

/*
 * --auth-twice sends the very bytes again, serial included: a replay,
 * whose answer is awaited as a second answer under the same serial.
 */
static void send_auth(struct sim *s, const uint8_t *body, size_t len)
{
	struct jt808_header h = sim_header(s, JT808_T_AUTH);
	uint8_t out[SIM_FRAME_CAP];
	size_t n = jt808_encode(&h, body, len, out, sizeof(out));

	if (n == 0) {
		log_error("cannot encode the authentication");
		sim_finish(s);
		return;
	}
	slot_fill(s, &h, K_AUTH, true, 0, s->o->auth_twice ? 2 : 1);
	sim_write(s, out, n);
	if (s->o->auth_twice) {
		s->inflight++;
		log_info("%ssending the same authentication frame again (--auth-twice)", who(s));
		sim_write(s, out, n);
	}
	sim_set_state(s, ST_AUTHENTICATING);
}

static void start_auth(struct sim *s)
{
	uint8_t body[JT808_MAX_BODY];
	size_t n;

	if (s->o->no_auth) {
		start_sending(s);
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
		sim_finish(s);
		return;
	}
	send_auth(s, body, n);
}

/*
 * Position i's time: --start-time (default now - positions) + i.  In --loop
 * without --start-time it follows the wall clock instead: the loop sends
 * rate x batch positions a second from the start.
 */
static time_t position_time(const struct sim *s, uint64_t i)
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
	loc->time = position_time(s, i);
}

static void send_location(struct sim *s)
{
	struct jt808_location loc;
	uint8_t body[JT808_LOCATION_LEN];
	struct jt808_header h = sim_header(s, JT808_T_LOCATION);

	position_at(s, s->pos_next, &loc);
	jt808_build_location(&loc, body);
	if (send_msg(s, &h, body, sizeof(body), K_POS, s->pos_next, 1) != 0)
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
	struct jt808_header h = sim_header(s, JT808_T_BATCH_LOCATION);

	*p++ = 0;
	for (uint16_t k = 0; k < count; k++) {
		struct jt808_location loc;

		position_at(s, s->pos_next + k, &loc);
		p = jt808_put16(p, JT808_LOCATION_LEN);
		p += jt808_build_location(&loc, p);
	}
	if (send_msg(s, &h, body, (size_t)(p - body), K_POS, s->pos_next, count) != 0)
		s->pos_sent += count;
	s->pos_next += count;
}

/* ---- injections: hostile input the server must survive ---- */

static void inject_garbage(struct sim *s)
{
	uint8_t junk[SIM_GARBAGE_LEN];

	if (RAND_bytes(junk, sizeof(junk)) != 1)
		memset(junk, 0x5a, sizeof(junk));
	for (size_t i = 0; i < sizeof(junk); i++)
		if (junk[i] == JT808_FLAG)
			junk[i] = 0;
	sim_write(s, junk, sizeof(junk));
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
	struct jt808_header h = sim_header(s, JT808_T_LOCATION);
	size_t n;

	position_at(s, 0, &loc);
	jt808_build_location(&loc, body);
	n = jt808_encode(&h, body, sizeof(body), out, sizeof(out));
	if (n < 4) {
		log_error("cannot encode the badcheck frame");
		return;
	}
	n = spoil_check(out, n);
	slot_fill(s, &h, K_BADCHECK, false, 0, 0);
	sim_write(s, out, n);
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
	sim_write(s, f, SIM_OVERSIZE_LEN + 2);
	free(f);
}

/* Piece 1 of 2 of a location report; piece 2 never comes. */
static void inject_subpkg(struct sim *s)
{
	struct jt808_location loc;
	uint8_t body[JT808_LOCATION_LEN];
	struct jt808_header h = sim_header(s, JT808_T_LOCATION);

	h.subpkg = true;
	h.pkg_total = 2;
	h.pkg_index = 1;
	position_at(s, 0, &loc);
	jt808_build_location(&loc, body);
	send_msg(s, &h, body, JT808_LOCATION_LEN / 2, K_SUBPKG, 0, 0);
}

static void inject_unknown(struct sim *s)
{
	static const uint8_t body[] = {0x01, 0x02, 0x03, 0x04};

	send_simple(s, SIM_UNKNOWN_ID, body, sizeof(body), K_UNKNOWN);
}

static void inject(struct sim *s)
{
	s->inject_done = true;
	log_info("injecting %s", inject_names[s->o->inject]);
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

/* ---- pacing ---- */

/*
 * --rate R: the k-th paced frame may leave at t0 + k/R.  When it is too
 * early, arm the pace timer for that moment and say no.  A long stall
 * (window full) does not bank more than one second of credit.
 */
bool termsim_pace_allows(struct sim *s)
{
	uint64_t now, due;

	if (s->o->rate <= 0)
		return true;
	now = termsim_now_us();
	due = s->pace_t0_us + (uint64_t)((double)s->paced * 1e6 / s->o->rate);
	if (due > now) {
		struct timeval tv = tv_from_us(due - now);

		event_add(s->pace_ev, &tv);
		return false;
	}
	if (now - due > 1000000u) {
		s->pace_t0_us = now;
		s->paced = 0;
	}
	s->paced++;
	return true;
}

static bool positions_done(const struct sim *s)
{
	return !s->o->loop && s->pos_next >= (uint64_t)s->o->positions;
}

static void check_drained(struct sim *s)
{
	if (s->st == ST_DRAINING && s->inflight == 0)
		sim_finish(s);
}

/* Send whatever the window and the rate allow now. */
static void pump(struct sim *s)
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
			sim_set_state(s, ST_DRAINING);
			check_drained(s);
			return;
		}
		if (!termsim_pace_allows(s))
			return;
		if (s->hb_sent < s->o->heartbeats) {
			send_simple(s, JT808_T_HEARTBEAT, NULL, 0, K_HB);
			s->hb_sent++;
		} else if (s->o->batch > 0) {
			send_batch(s);
		} else {
			send_location(s);
		}
	}
}

/* ---- receiving ---- */

static void record_latency(struct sim *s, const struct slot *sl)
{
	uint64_t d = termsim_now_us() - sl->sent_us;
	uint32_t us = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
	struct run *r = s->run;

	if (r->nlat < SIM_LAT_MAX)
		r->lat_us[r->nlat++] = us;
}

/* A record's answer (a timing message answered by 0x8001), apart from the rest. */
static void record_record_latency(struct sim *s, const struct slot *sl)
{
	uint64_t d = termsim_now_us() - sl->sent_us;
	struct run *r = s->run;

	if (r->nrec_lat < SIM_LAT_MAX)
		r->rec_lat_us[r->nrec_lat++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

void termsim_slot_answered(struct sim *s, uint16_t serial)
{
	struct slot *sl = &s->slots[serial];

	if (sl->kind != K_LESSON)
		return;
	sl->kind = K_FREE;
	if (!sl->tracked)
		return;
	s->inflight--;
	s->acks++;
	record_latency(s, sl);
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
		fprintf(s->run->acked, "%lld\n", (long long)position_time(s, sl->first_pos + k));
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
		log_info("%sthe request for missing pieces (serial %u) answered, result %u", who(s),
			 serial, result);
	} else {
		log_info("piece 1 of the unfinished sub-package answered, result %u", result);
	}
}

/* The second answer of --auth-twice is the replay's: it must be refused. */
static void replay_answered(struct sim *s, uint8_t result)
{
	s->auth_replay_result = result;
	if (result == JT808_R_OK)
		log_error("%sthe replayed authentication was accepted (result 0)", who(s));
	else
		log_info("%sthe replayed authentication was refused, result %u", who(s), result);
}

static void auth_answered(struct sim *s, uint8_t result)
{
	if (s->auth_result >= 0) {
		replay_answered(s, result);
		return;
	}
	s->auth_result = result;
	if (result != JT808_R_OK) {
		log_error("%sauthentication refused, result %u%s", who(s), result,
			  s->o->layout == JT808_LTIMING ? " (signature or timestamp not accepted)"
							: " (auth code not accepted)");
		sim_finish(s);
		return;
	}
	log_info("%sauthenticated%s", who(s),
		 s->o->layout == JT808_LTIMING ? " (signed timestamp accepted)" : "");
	start_sending(s);
}

static void account_answer(struct sim *s, const struct slot *sl, uint16_t serial, uint8_t result)
{
	switch (sl->kind) {
	case K_REG:
		log_error("registration answered by 0x8001 with result %u", result);
		sim_finish(s);
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
				  who(s), *serial, main_serial);
			return false;
		}
		log_info("%s0x8001 for a sub-packaged message under serial %u, not %u (the last "
			 "piece sent)",
			 who(s), *serial, main_serial);
		*serial = main_serial;
	}
	if (sl->kind == K_FREE || sl->kind == K_PIECE || sl->msg_id != id) {
		log_warn("%s0x8001 for serial %u id 0x%04x matches nothing sent", who(s), *serial,
			 id);
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
	record_latency(s, &sl);
	if (sl.kind == K_LESSON)
		record_record_latency(s, &sl);
	account_answer(s, &sl, serial, result);
	check_drained(s);
	pump(s);
}

/* The lesson waits for the registration answer when it brings the key or the number. */
static bool lesson_deferred(const struct opts *o)
{
	return o->l.minutes >= 0 && o->layout == JT808_LTIMING && !o->no_register;
}

/* The timing answer's certificate taken, the lesson can be built and signed. */
static bool registered_timing(struct sim *s, const struct jt808_register_ack_timing *a)
{
	uint64_t t0 = termsim_now_us();

	if (!termsim_take_certificate(s, a)) {
		s->cert_failed = true;
		return false;
	}
	if (!lesson_deferred(s->o))
		return true;
	if (!termsim_lesson_prepare(s, s->pkey)) {
		s->cert_failed = true;
		return false;
	}
	log_info("%slesson messages built and signed in %.1f ms", who(s),
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
	record_latency(s, sl);
	s->reg_result = result;
	if (result != JT808_REG_OK) {
		log_error("%sregistration refused, result %u", who(s), result);
		sim_finish(s);
		return;
	}
	if (s->o->layout == JT808_LTIMING) {
		if (!registered_timing(s, &a)) {
			sim_finish(s);
			return;
		}
	} else {
		memcpy(s->auth_code, code, sizeof(code));
		log_info("registered, auth code received (%zu bytes)", strlen(code));
	}
	start_auth(s);
}

static void on_transparent_down(struct sim *s, const struct jt808_msg *m)
{
	termsim_lesson_on_down(s, m);
	check_drained(s);
	pump(s);
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

	log_frame("recv", esc, n);
	if (e == JT808_OK)
		e = jt808_parse(s->run->rx, len, &m);
	if (e != JT808_OK) {
		log_warn("bad frame from server (%zu bytes): %s", n, jt808_strerror(e));
		return;
	}
	idle_touch(s);
	log_debug("recv message 0x%04x serial %u body %zu", m.h.msg_id, m.h.serial, m.body_len);
	if (m.h.layout != s->o->layout && !s->layout_warned) {
		s->layout_warned = true;
		log_warn("%sserver answered in the %s layout, not %s", who(s),
			 jt808_layout_name((enum jt808_layout)m.h.layout),
			 jt808_layout_name((enum jt808_layout)s->o->layout));
	}
	if (m.h.subpkg)
		on_piece(s, &m);
	else
		dispatch(s, &m);
}

/* Take every complete frame out of the input; junk and oversize frames are skipped. */
static void on_read(struct bufferevent *bev, void *arg)
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

/* ---- connection events ---- */

/*
 * Log what OpenSSL and the socket say about a failed connection.  Entries
 * of library 0 are libevent's copies of SSL_get_error() codes: noise.
 */
static void log_conn_errors(struct sim *s, const char *what, int err)
{
	unsigned long e;
	char buf[256];

	while ((e = bufferevent_get_openssl_error(s->bev)) != 0) {
		if (ERR_GET_LIB(e) == 0)
			continue;
		ERR_error_string_n(e, buf, sizeof(buf));
		log_error("%s: TLS: %s", what, buf);
	}
	if (s->ssl && SSL_get_verify_result(s->ssl) != X509_V_OK)
		log_error("%s: server certificate rejected: %s", what,
			  X509_verify_cert_error_string(SSL_get_verify_result(s->ssl)));
	if (err != 0)
		log_error("%s: %s", what, evutil_socket_error_to_string(err));
}

/* The connection ended before we were done: say why, as far as we know. */
static void on_closed(struct sim *s, short what)
{
	int err = (what & BEV_EVENT_ERROR) ? EVUTIL_SOCKET_ERROR() : 0;

	log_conn_errors(s, s->st == ST_CONNECTING ? "TLS handshake failed" : "connection error",
			err);
	if (s->ssl && SSL_get_verify_result(s->ssl) != X509_V_OK) {
		s->tls_failed = true;
		return;
	}
	if (s->st == ST_CONNECTING || s->acks == 0)
		log_error("%sconnection closed by server while %s%s", who(s), state_names[s->st],
			  s->o->plain ? "" : " (client certificate refused?)");
	else
		log_error("%sconnection closed by server while %s (%u frames unanswered)", who(s),
			  state_names[s->st], s->inflight);
	s->closed = true;
}

static void on_connected(struct sim *s)
{
	log_info("%sconnected to %s:%s%s", who(s), s->o->host, s->o->port,
		 s->o->plain ? " (plain)" : " (TLS)");
	if (!s->o->no_register)
		send_register(s);
	else
		start_auth(s);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct sim *s = arg;

	if (what & BEV_EVENT_CONNECTED) {
		on_connected(s);
		return;
	}
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) || s->st == ST_DONE)
		return;
	on_closed(s, what);
	sim_finish(s);
}

static void on_idle(evutil_socket_t fd, short what, void *arg)
{
	struct sim *s = arg;

	if (s->st == ST_DONE)
		return;
	log_error("%stimeout: no progress for %d s while %s, %u frames unanswered", who(s),
		  s->o->timeout_s, state_names[s->st], s->inflight);
	s->timed_out = true;
	sim_finish(s);
}

static void on_pace(evutil_socket_t fd, short what, void *arg)
{
	pump(arg);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct run *r = arg;

	log_info("signal %d, stopping", (int)sig);
	r->interrupted = true;
	for (unsigned i = 0; i < r->nsims; i++)
		sim_finish(&r->sims[i]);
}

/* ---- setup ---- */

static SSL_CTX *tls_client_ctx(const struct opts *o, const char *cert, const char *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(ctx, o->ca, NULL) != 1) {
		log_error("cannot load CA file %s", o->ca);
		goto fail;
	}
	if (cert && SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		log_error("cannot load certificate %s", cert);
		goto fail;
	}
	if (key && (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(ctx) != 1)) {
		log_error("cannot load key %s (or it does not match the certificate)", key);
		goto fail;
	}
	return ctx;
fail:
	ERR_print_errors_fp(stderr);
	SSL_CTX_free(ctx);
	return NULL;
}

/* The name checked in the server certificate: --host unless it is an IP address. */
static const char *tls_server_name(const char *host)
{
	unsigned char addr[16];

	if (inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1)
		return "localhost";
	return host;
}

/* Wrap the connected socket; for TLS the handshake starts now. */
static struct bufferevent *make_bev(struct sim *s, evutil_socket_t fd)
{
	const char *name = tls_server_name(s->o->host);
	int opts = BEV_OPT_CLOSE_ON_FREE;

	if (s->o->plain)
		return bufferevent_socket_new(s->run->base, fd, opts);
	s->ssl = SSL_new(s->ctx);
	if (!s->ssl || SSL_set1_host(s->ssl, name) != 1 ||
	    SSL_set_tlsext_host_name(s->ssl, name) != 1)
		return NULL;
	return bufferevent_openssl_socket_new(s->run->base, fd, s->ssl, BUFFEREVENT_SSL_CONNECTING,
					      opts);
}

static bool start_bev(struct sim *s)
{
	s->bev = make_bev(s, s->fd);
	if (!s->bev) {
		log_error("%scannot set up the connection", who(s));
		return false;
	}
	s->fd = -1; /* the bufferevent closes it now */
	if (!s->o->plain)
		bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
	bufferevent_setcb(s->bev, on_read, NULL, on_event, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, SIM_READ_HIGH);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	if (s->o->plain)
		on_connected(s);
	return true;
}

/*
 * The TCP connect is ours (not bufferevent_socket_connect) so that a
 * refused connection is told apart from a server closing the TLS session.
 */
static void on_tcp_connect(evutil_socket_t fd, short what, void *arg)
{
	struct sim *s = arg;
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err != 0) {
		log_error("%sconnect to %s:%s failed: %s", who(s), s->o->host, s->o->port,
			  strerror(err));
		s->connect_failed = true;
		sim_finish(s);
		return;
	}
	if (!start_bev(s)) {
		s->connect_failed = true;
		sim_finish(s);
	}
}

/* Frames are small and latency is measured: no Nagle delay. */
static void set_nodelay(evutil_socket_t fd)
{
	int one = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
		log_warn("TCP_NODELAY: %s", strerror(errno));
}

static bool start_connect(struct sim *s, const struct evutil_addrinfo *ai)
{
	s->fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
	if (s->fd < 0 || evutil_make_socket_nonblocking(s->fd) != 0) {
		log_error("%ssocket: %s", who(s), strerror(errno));
		return false;
	}
	set_nodelay(s->fd);
	if (connect(s->fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
		log_error("%sconnect to %s:%s failed: %s", who(s), s->o->host, s->o->port,
			  strerror(errno));
		return false;
	}
	s->conn_ev = event_new(s->run->base, s->fd, EV_WRITE, on_tcp_connect, s);
	return s->conn_ev && event_add(s->conn_ev, NULL) == 0;
}

/* Start every terminal's connection; false when none could start. */
static bool run_connect(struct run *r)
{
	struct evutil_addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct evutil_addrinfo *ai = NULL;
	unsigned started = 0;
	int rc = evutil_getaddrinfo(r->o.host, r->o.port, &hints, &ai);

	if (rc != 0) {
		log_error("cannot resolve %s:%s: %s", r->o.host, r->o.port,
			  evutil_gai_strerror(rc));
		return false;
	}
	for (unsigned i = 0; i < r->nsims; i++) {
		struct sim *s = &r->sims[i];

		idle_touch(s);
		if (start_connect(s, ai)) {
			started++;
		} else {
			s->connect_failed = true;
			sim_finish(s);
		}
	}
	evutil_freeaddrinfo(ai);
	return started > 0;
}

/* pat with every "{}" replaced by digits (malloc'd); NULL for NULL. */
static char *subst(const char *pat, const char *digits)
{
	size_t n = 1, dl = strlen(digits);
	char *out, *w;

	if (!pat)
		return NULL;
	for (const char *p = pat; *p; p++)
		n += (p[0] == '{' && p[1] == '}') ? dl : 1;
	if (!(out = malloc(n)))
		return NULL;
	for (w = out; *pat;) {
		if (pat[0] == '{' && pat[1] == '}') {
			memcpy(w, digits, dl);
			w += dl;
			pat += 2;
		} else {
			*w++ = *pat++;
		}
	}
	*w = '\0';
	return out;
}

static bool same_path(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* "T" and the phone, zero-padded to 15 digits (its last 15 when longer). */
static void default_terminal_no(const char *phone, char out[JTX_TERMINAL_NO_LEN + 1])
{
	size_t n = strlen(phone), w = JTX_TERMINAL_NO_LEN - 1;

	if (n > w) {
		phone += n - w;
		n = w;
	}
	out[0] = 'T';
	memset(out + 1, '0', w - n);
	memcpy(out + 1 + w - n, phone, n + 1);
}

/*
 * The file of the signing key: --sign-key; else --key, except where the
 * timing registration answer brings the terminal's key.
 */
static const char *sign_key_path(const struct opts *o)
{
	if (o->l.sign_key)
		return o->l.sign_key;
	return o->layout == JT808_LTIMING && !o->no_register ? NULL : o->key;
}

/* Terminal i's numbers: the timing terminal number (until an answer names one) and IMEI. */
static bool sim_numbers(const struct opts *o, struct sim *s)
{
	if (o->l.terminal_no) {
		if (!termsim_number_plus(o->l.terminal_no, s->index, s->terminal_no,
					 sizeof(s->terminal_no)))
			return false;
	} else {
		default_terminal_no(s->phone_raw, s->terminal_no);
	}
	if (o->imei)
		return termsim_number_plus(o->imei, s->index, s->imei, sizeof(s->imei));
	termsim_default_imei(s->phone_raw, s->imei);
	return true;
}

/* Terminal i's phone (--phone plus i, as many digits), numbers and file names. */
static bool sim_identity(struct run *r, struct sim *s)
{
	const struct opts *o = &r->o;
	size_t want = jt808_phone_digits(o->layout), n;

	if (!termsim_number_plus(o->phone_raw, s->index, s->phone_raw, sizeof(s->phone_raw))) {
		log_error("--phone %s plus %u does not fit in as many digits", o->phone_raw,
			  s->index);
		return false;
	}
	n = strlen(s->phone_raw);
	memset(s->phone, '0', want - n);
	memcpy(s->phone + want - n, s->phone_raw, n + 1);
	if (!sim_numbers(o, s)) {
		log_error("terminal %u: --terminal-no or --imei plus %u overflows its digits",
			  s->index, s->index);
		return false;
	}
	s->cert = subst(o->cert, s->phone_raw);
	s->key = subst(o->key, s->phone_raw);
	s->sign_key = subst(sign_key_path(o), s->phone_raw);
	s->p12_out = subst(o->p12_out, s->phone_raw);
	return (!o->cert || s->cert) && (!o->key || s->key) && (!sign_key_path(o) || s->sign_key) &&
	       (!o->p12_out || s->p12_out);
}

/* The TLS context: terminal 0's again when the files are the same. */
static bool sim_tls(struct run *r, struct sim *s)
{
	struct sim *first = &r->sims[0];

	if (r->o.plain)
		return true;
	if (s != first && same_path(s->cert, first->cert) && same_path(s->key, first->key)) {
		s->ctx = first->ctx;
		return SSL_CTX_up_ref(s->ctx) == 1;
	}
	s->ctx = tls_client_ctx(&r->o, s->cert, s->key);
	return s->ctx != NULL;
}

/* A key signs the lesson (unless --unsigned) and the timing authentication. */
static bool key_needed(const struct opts *o)
{
	return (o->l.minutes >= 0 && !o->l.unsigned_msgs) ||
	       (o->layout == JT808_LTIMING && !o->no_auth);
}

/* Load the signing key file, or share the previous terminal's when the file is the same. */
static bool sim_key(struct run *r, struct sim *s)
{
	struct sim *prev = s->index > 0 ? s - 1 : NULL;

	if (!s->sign_key || !key_needed(&r->o))
		return true;
	if (prev && prev->pkey && same_path(prev->sign_key, s->sign_key)) {
		s->pkey = prev->pkey;
		return EVP_PKEY_up_ref(s->pkey) == 1;
	}
	if (!(s->pkey = sig_load_key(s->sign_key))) {
		log_error("cannot load the signing key %s", s->sign_key);
		return false;
	}
	return true;
}

/* Pre-sign the lesson, unless the registration answer brings what it needs. */
static bool sim_lesson(struct run *r, struct sim *s)
{
	if (r->o.l.minutes < 0 || lesson_deferred(&r->o))
		return true;
	return termsim_lesson_prepare(s, s->pkey);
}

static bool sim_setup(struct run *r, struct sim *s)
{
	s->slots = calloc(65536, sizeof(*s->slots));
	s->idle_ev = evtimer_new(r->base, on_idle, s);
	s->pace_ev = evtimer_new(r->base, on_pace, s);
	if (!s->slots || !s->idle_ev || !s->pace_ev)
		return false;
	return sim_identity(r, s) && sim_tls(r, s) && sim_key(r, s) && sim_lesson(r, s);
}

static bool open_append(const char *path, FILE **f)
{
	if (path && !(*f = fopen(path, "a"))) {
		log_error("cannot open %s: %s", path, strerror(errno));
		return false;
	}
	return true;
}

static bool run_events(struct run *r)
{
	r->base = event_base_new();
	if (!r->base)
		return false;
	r->sigint_ev = evsignal_new(r->base, SIGINT, on_signal, r);
	r->sigterm_ev = evsignal_new(r->base, SIGTERM, on_signal, r);
	if (!r->sigint_ev || !r->sigterm_ev)
		return false;
	event_add(r->sigint_ev, NULL);
	event_add(r->sigterm_ev, NULL);
	return true;
}

/* Every terminal ready to connect, its lesson built and signed. */
static bool run_setup(struct run *r)
{
	bool ok = true;
	uint64_t t0 = termsim_now_us();

	r->nsims = r->active = (unsigned)r->o.terminals;
	r->sims = calloc(r->nsims, sizeof(*r->sims));
	r->lat_us = malloc(SIM_LAT_MAX * sizeof(*r->lat_us));
	r->rec_lat_us = malloc(SIM_LAT_MAX * sizeof(*r->rec_lat_us));
	if (!r->sims || !r->lat_us || !r->rec_lat_us || !run_events(r))
		return false;
	if (!open_append(r->o.acked_file, &r->acked) ||
	    !open_append(r->o.l.records_file, &r->records))
		return false;
	for (unsigned i = 0; i < r->nsims; i++) {
		struct sim *s = &r->sims[i];

		*s = (struct sim){.run = r, .o = &r->o, .index = i, .fd = -1};
		s->reg_result = s->auth_result = s->unknown_result = -1;
		s->auth_replay_result = -1;
	}
	for (unsigned i = 0; i < r->nsims && ok; i++)
		ok = sim_setup(r, &r->sims[i]);
	if (ok && r->o.l.minutes >= 0 && !lesson_deferred(&r->o))
		log_info("lesson messages of %u terminal(s) built and signed in %.1f ms", r->nsims,
			 (double)(termsim_now_us() - t0) / 1000.0);
	return ok;
}

static void free_event(struct event *ev)
{
	if (ev)
		event_free(ev);
}

static void sim_free(struct sim *s)
{
	if (s->bev)
		bufferevent_free(s->bev); /* frees the SSL too */
	else if (s->ssl)
		SSL_free(s->ssl);
	if (s->fd >= 0)
		evutil_closesocket(s->fd);
	SSL_CTX_free(s->ctx);
	free_event(s->conn_ev);
	free_event(s->idle_ev);
	free_event(s->pace_ev);
	termsim_lesson_free(s);
	termsim_dl_free(s);
	EVP_PKEY_free(s->pkey);
	free(s->slots);
	free(s->cert);
	free(s->key);
	free(s->sign_key);
	free(s->p12_out);
}

static void run_free(struct run *r)
{
	for (unsigned i = 0; r->sims && i < r->nsims; i++)
		sim_free(&r->sims[i]);
	free(r->sims);
	free_event(r->sigint_ev);
	free_event(r->sigterm_ev);
	if (r->base)
		event_base_free(r->base);
	if (r->acked)
		fclose(r->acked);
	if (r->records)
		fclose(r->records);
	free(r->lat_us);
	free(r->rec_lat_us);
}

/* ---- summary ---- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static double percentile_ms(const uint32_t *v, size_t n, unsigned pct)
{
	if (n == 0)
		return 0;
	return v[(n - 1) * pct / 100] / 1000.0;
}

/* The auth code came from the server: print it without control bytes. */
static void print_code(const char *code)
{
	fputs("auth_code=", stdout);
	for (const char *c = code; *c; c++)
		putchar(*c > 0x20 && *c < 0x7f ? *c : '?');
	putchar('\n');
}

static uint64_t member_value(const struct sim *s, size_t off, size_t size)
{
	const char *p = (const char *)s + off;
	uint64_t v64 = 0;
	unsigned vu = 0;
	bool vb = false;

	switch (size) {
	case sizeof(uint64_t):
		memcpy(&v64, p, sizeof(v64));
		return v64;
	case sizeof(unsigned):
		memcpy(&vu, p, sizeof(vu));
		return vu;
	default:
		memcpy(&vb, p, sizeof(vb));
		return vb;
	}
}

/* The total over the terminals of a uint64_t, unsigned or bool member. */
#define SUM_OF(r, type, member) sum_of(r, offsetof(struct sim, member), sizeof(type))
static uint64_t sum_of(const struct run *r, size_t off, size_t size)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < r->nsims; i++)
		sum += member_value(&r->sims[i], off, size);
	return sum;
}

/* A result over the terminals: the first one that is not good, else good. */
static int result_of(const struct run *r, size_t off, int good)
{
	for (unsigned i = 0; i < r->nsims; i++) {
		int v;

		memcpy(&v, (const char *)&r->sims[i] + off, sizeof(v));
		if (v != good)
			return v;
	}
	return good;
}

static void print_core(const struct run *r)
{
	printf("register_result=%d\n", result_of(r, offsetof(struct sim, reg_result), 0));
	print_code(r->sims[0].auth_code);
	printf("auth_result=%d\n", result_of(r, offsetof(struct sim, auth_result), 0));
	if (r->o.auth_twice)
		printf("auth_replay_result=%d\n",
		       result_of(r, offsetof(struct sim, auth_replay_result), 1));
	if (r->o.layout == JT808_LTIMING)
		printf("terminal_no=%s\n", r->sims[0].terminal_no);
	printf("heartbeats_acked=%" PRIu64 "\n", SUM_OF(r, uint64_t, hb_acked));
	printf("positions_sent=%" PRIu64 "\n", SUM_OF(r, uint64_t, pos_sent));
	printf("positions_acked=%" PRIu64 "\n", SUM_OF(r, uint64_t, pos_acked));
	printf("positions_failed=%" PRIu64 "\n", SUM_OF(r, uint64_t, pos_failed));
	printf("unknown_result=%d\n",
	       result_of(r, offsetof(struct sim, unknown_result), r->sims[0].unknown_result));
	printf("injected=%" PRIu64 "\n", SUM_OF(r, uint64_t, injected));
	printf("unanswered=%" PRIu64 "\n", SUM_OF(r, unsigned, inflight));
	printf("closed_by_server=%" PRIu64 "\n", SUM_OF(r, bool, closed));
	printf("connect_failed=%" PRIu64 "\n", SUM_OF(r, bool, connect_failed));
	printf("tls_failed=%" PRIu64 "\n", SUM_OF(r, bool, tls_failed));
	printf("commands_answered=%" PRIu64 "\n", SUM_OF(r, uint64_t, commands));
	if (r->o.layout == JT808_LTIMING && !r->o.no_register)
		printf("certificate_failed=%" PRIu64 "\n", SUM_OF(r, bool, cert_failed));
}

static void print_summary(struct run *r)
{
	uint64_t end = r->t_end_us ? r->t_end_us : termsim_now_us();
	double secs = (double)(end - r->t_start_us) / 1e6;
	uint64_t acks = SUM_OF(r, uint64_t, acks);

	qsort(r->lat_us, r->nlat, sizeof(*r->lat_us), cmp_u32);
	if (r->nsims > 1)
		printf("terminals=%u\n", r->nsims);
	print_core(r);
	printf("elapsed_ms=%" PRIu64 "\n", (end - r->t_start_us) / 1000u);
	printf("acks_per_s=%.1f\n", secs > 0 ? (double)acks / secs : 0.0);
	printf("ack_latency_p50_ms=%.3f\n", percentile_ms(r->lat_us, r->nlat, 50));
	printf("ack_latency_p99_ms=%.3f\n", percentile_ms(r->lat_us, r->nlat, 99));
	if (r->o.l.minutes >= 0) {
		/* The records' answers alone: the logins, registration and authentication
		 * (a PKCS#12 in pieces, a signature checked) are slower and fewer. */
		qsort(r->rec_lat_us, r->nrec_lat, sizeof(*r->rec_lat_us), cmp_u32);
		printf("record_latency_p50_ms=%.3f\n",
		       percentile_ms(r->rec_lat_us, r->nrec_lat, 50));
		printf("record_latency_p99_ms=%.3f\n",
		       percentile_ms(r->rec_lat_us, r->nrec_lat, 99));
		termsim_lesson_summary(r);
	}
	fflush(stdout);
}

/* An answer or an event that says the run failed (not merely unfinished). */
static bool sim_failed(const struct sim *s)
{
	const struct opts *o = s->o;

	if (s->closed || s->connect_failed || s->tls_failed || s->pos_failed || s->badcheck_acked ||
	    s->cert_failed)
		return true;
	if (s->reg_result > 0 || s->auth_result > 0 || s->auth_replay_result == JT808_R_OK)
		return true;
	if (s->lesson && termsim_lesson_failed(s))
		return true;
	return o->inject == INJ_UNKNOWN && s->unknown_result != -1 &&
	       s->unknown_result != JT808_R_NOT_SUPPORTED;
}

/* Registration, authentication, every position and the lesson answered. */
static bool sim_complete(const struct sim *s)
{
	const struct opts *o = s->o;

	if ((!o->no_register && s->reg_result != 0) || (!o->no_auth && s->auth_result != 0))
		return false;
	if (o->l.minutes >= 0 && (!s->lesson || !termsim_lesson_complete(s)))
		return false;
	return s->inflight == 0 && s->pos_acked == s->pos_sent;
}

static int sim_exit_code(const struct sim *s)
{
	bool interrupted = s->run->interrupted;

	if (sim_failed(s))
		return EXIT_FAIL;
	if (interrupted && s->o->loop)
		return EXIT_DONE;
	if (s->timed_out)
		return EXIT_TIMEOUT;
	return sim_complete(s) && !interrupted ? EXIT_DONE : EXIT_FAIL;
}

/* A failure anywhere is 1; else a timeout anywhere is 3. */
static int run_exit_code(const struct run *r)
{
	int rc = EXIT_DONE;

	for (unsigned i = 0; i < r->nsims; i++) {
		int e = sim_exit_code(&r->sims[i]);

		if (e == EXIT_FAIL)
			return EXIT_FAIL;
		if (e == EXIT_TIMEOUT)
			rc = EXIT_TIMEOUT;
	}
	return rc;
}

/* ---- options ---- */

static void usage(FILE *f)
{
	fputs("usage: termsim --phone DIGITS [options]\n"
	      "By default a timing terminal: plain TCP, the national timing header, a\n"
	      "registration whose answer brings the terminal number and a PKCS#12 with\n"
	      "the terminal's key, then an authentication signed with that key.\n"
	      "connection:\n"
	      "  --host H (127.0.0.1)  --port P (8808)\n"
	      "  --plain                           plain TCP (the default)\n"
	      "  --tls                             TLS instead, with --ca (and --cert/--key)\n"
	      "  --ca F --cert F --key F           TLS trust and client identity\n"
	      "  --layout timing|2013|2019         header layout (timing: version 0x80,\n"
	      "                                    BCD[8] phone, reserved byte 1 while a\n"
	      "                                    student is logged in, else 0)\n"
	      "  --v2019                           the same as --layout 2019\n"
	      "  --phone DIGITS                    up to 16 (timing), 12 (2013) or 20 (2019)\n"
	      "registration and authentication:\n"
	      "  --no-register  --no-auth\n"
	      "  --auth-code CODE                  2013/2019: the code, without registration\n"
	      "  --imei N                          timing: 15 digits in the registration\n"
	      "                                    (default 86 + the phone's last 13 digits)\n"
	      "  --drop-piece N                    ignore the first arrival of downlink\n"
	      "                                    piece N: after 2 s termsim asks for it\n"
	      "                                    (0x8003) and the server must resend it\n"
	      "  --p12-out F                       timing: write the PKCS#12 (DER) of the\n"
	      "                                    registration answer to F\n"
	      "  --sign-key F                      timing: the key signing authentication\n"
	      "                                    and lesson instead of the PKCS#12's;\n"
	      "                                    required with --no-register\n"
	      "  --terminal-no S                   timing: the 16-character terminal number\n"
	      "                                    instead of the registration answer's\n"
	      "                                    (without registration, default T + the\n"
	      "                                    phone in 15 digits)\n"
	      "  --auth-ts-offset S                timing: S seconds added to the\n"
	      "                                    authentication's timestamp (stale: -600)\n"
	      "  --auth-bad-sig                    timing: one byte of the signature flipped\n"
	      "  --auth-twice                      the same authentication frame twice on\n"
	      "                                    the connection, byte for byte: the second\n"
	      "                                    (the replay) must be refused, else exit 1\n"
	      "                                    (auth_replay_result in the summary)\n"
	      "  Authentication refused: a log line and exit status 1.\n"
	      "traffic:\n"
	      "  --heartbeats N  --positions N  --batch K (0x0704, K <= 34)\n"
	      "  --rate R (frames/s, 0 = window only)  --window W (16)  --timeout S (30)\n"
	      "  --start-time EPOCH  --acked-file F  --loop  -v\n"
	      "  --inject garbage|badcheck|oversize|subpkg-unfinished|unknown-msg\n"
	      "  --terminals C                     C terminals in one event loop: phones\n"
	      "                                    consecutive from --phone; \"{}\" in --cert,\n"
	      "                                    --key, --sign-key, --p12-out is each one's\n"
	      "                                    phone digits; --imei and --terminal-no\n"
	      "                                    count up like the phone\n",
	      f);
	fputs(termsim_lesson_usage, f);
}

bool termsim_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* Each terminal pads its own phone (sim_identity). */
static bool parse_phone(struct opts *o, const char *s)
{
	size_t n = strlen(s), want = jt808_phone_digits(o->layout);

	if (n == 0 || n > want || strspn(s, "0123456789") != n)
		return false;
	snprintf(o->phone_raw, sizeof(o->phone_raw), "%s", s);
	return true;
}

static bool parse_layout(struct opts *o, const char *s)
{
	static const struct {
		const char *name;
		enum jt808_layout l;
	} names[] = {{"timing", JT808_LTIMING}, {"2013", JT808_L2013}, {"2019", JT808_L2019}};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (strcmp(s, names[i].name) == 0) {
			o->layout = (uint8_t)names[i].l;
			return true;
		}
	}
	return false;
}

static bool parse_imei(struct opts *o, const char *s)
{
	o->imei = s;
	return strlen(s) == 15 && strspn(s, "0123456789") == 15;
}

static bool parse_inject(struct opts *o, const char *s)
{
	for (size_t i = 1; i < ARRAY_SIZE(inject_names); i++) {
		if (strcmp(s, inject_names[i]) == 0) {
			o->inject = (enum inject_kind)i;
			return true;
		}
	}
	return false;
}

enum {
	O_HOST = 256,
	O_PORT,
	O_CA,
	O_CERT,
	O_KEY,
	O_PLAIN,
	O_PHONE,
	O_V2019,
	O_POSITIONS,
	O_BATCH,
	O_RATE,
	O_WINDOW,
	O_HEARTBEATS,
	O_TIMEOUT,
	O_NO_REGISTER,
	O_NO_AUTH,
	O_AUTH_CODE,
	O_START_TIME,
	O_ACKED_FILE,
	O_LOOP,
	O_INJECT,
	O_TERMINALS,
	O_TLS,
	O_LAYOUT,
	O_IMEI,
	O_DROP_PIECE,
	O_P12_OUT,
	O_AUTH_TS_OFFSET,
	O_AUTH_BAD_SIG,
	O_AUTH_TWICE,
};

static const struct option long_opts[] = {
	{"host", required_argument, NULL, O_HOST},
	{"port", required_argument, NULL, O_PORT},
	{"ca", required_argument, NULL, O_CA},
	{"cert", required_argument, NULL, O_CERT},
	{"key", required_argument, NULL, O_KEY},
	{"plain", no_argument, NULL, O_PLAIN},
	{"phone", required_argument, NULL, O_PHONE},
	{"v2019", no_argument, NULL, O_V2019},
	{"positions", required_argument, NULL, O_POSITIONS},
	{"batch", required_argument, NULL, O_BATCH},
	{"rate", required_argument, NULL, O_RATE},
	{"window", required_argument, NULL, O_WINDOW},
	{"heartbeats", required_argument, NULL, O_HEARTBEATS},
	{"timeout", required_argument, NULL, O_TIMEOUT},
	{"no-register", no_argument, NULL, O_NO_REGISTER},
	{"no-auth", no_argument, NULL, O_NO_AUTH},
	{"auth-code", required_argument, NULL, O_AUTH_CODE},
	{"start-time", required_argument, NULL, O_START_TIME},
	{"acked-file", required_argument, NULL, O_ACKED_FILE},
	{"loop", no_argument, NULL, O_LOOP},
	{"inject", required_argument, NULL, O_INJECT},
	{"terminals", required_argument, NULL, O_TERMINALS},
	{"tls", no_argument, NULL, O_TLS},
	{"layout", required_argument, NULL, O_LAYOUT},
	{"imei", required_argument, NULL, O_IMEI},
	{"drop-piece", required_argument, NULL, O_DROP_PIECE},
	{"p12-out", required_argument, NULL, O_P12_OUT},
	{"auth-ts-offset", required_argument, NULL, O_AUTH_TS_OFFSET},
	{"auth-bad-sig", no_argument, NULL, O_AUTH_BAD_SIG},
	{"auth-twice", no_argument, NULL, O_AUTH_TWICE},
	{"unsigned", no_argument, NULL, O_UNSIGNED},
	{"reupload", no_argument, NULL, O_REUPLOAD},
	{"lesson", required_argument, NULL, O_LESSON},
	{"sign-key", required_argument, NULL, O_SIGN_KEY},
	{"terminal-no", required_argument, NULL, O_TERMINAL_NO},
	{"coach", required_argument, NULL, O_COACH},
	{"student", required_argument, NULL, O_STUDENT},
	{"class-id", required_argument, NULL, O_CLASS_ID},
	{"course", required_argument, NULL, O_COURSE},
	{"record-start", required_argument, NULL, O_RECORD_START},
	{"record-seq", required_argument, NULL, O_RECORD_SEQ},
	{"tamper", required_argument, NULL, O_TAMPER},
	{"resend", required_argument, NULL, O_RESEND},
	{"reuse", required_argument, NULL, O_REUSE},
	{"no-session", no_argument, NULL, O_NO_SESSION},
	{"no-login", no_argument, NULL, O_NO_LOGIN},
	{"resume", no_argument, NULL, O_RESUME},
	{"no-logout", no_argument, NULL, O_NO_LOGOUT},
	{"photo", required_argument, NULL, O_PHOTO},
	{"photo-order", required_argument, NULL, O_PHOTO_ORDER},
	{"photo-drop", required_argument, NULL, O_PHOTO_DROP},
	{"records-file", required_argument, NULL, O_RECORDS_FILE},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static bool parse_rate(const char *arg, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(arg, &end);
	return !errno && end != arg && !*end && *out >= 0 && *out <= 1e7;
}

static bool parse_int(const char *s, long min, long max, int *out)
{
	long v;

	if (!termsim_parse_long(s, min, max, &v))
		return false;
	*out = (int)v;
	return true;
}

static bool parse_start_time(struct opts *o, const char *arg)
{
	long v;

	if (!termsim_parse_long(arg, 0, 4102444800L, &v))
		return false;
	o->start_time = v;
	o->start_time_set = true;
	return true;
}

/* Options with a number; false on a bad value. */
static bool apply_num_opt(struct opts *o, int c, const char *arg)
{
	int port;

	switch (c) {
	case O_PORT:
		o->port = arg;
		return parse_int(arg, 1, 65535, &port);
	case O_POSITIONS:
		return termsim_parse_long(arg, 0, 100000000, &o->positions);
	case O_HEARTBEATS:
		return termsim_parse_long(arg, 0, 100000000, &o->heartbeats);
	case O_BATCH:
		return parse_int(arg, 0, SIM_BATCH_MAX, &o->batch);
	case O_RATE:
		return parse_rate(arg, &o->rate);
	case O_WINDOW:
		return parse_int(arg, 1, SIM_WINDOW_MAX, &o->window);
	case O_TIMEOUT:
		return parse_int(arg, 1, 86400, &o->timeout_s);
	case O_START_TIME:
		return parse_start_time(o, arg);
	case O_TERMINALS:
		return parse_int(arg, 1, SIM_TERMINALS_MAX, &o->terminals);
	case O_DROP_PIECE:
		return termsim_parse_long(arg, 1, UINT16_MAX, &o->drop_piece);
	case O_AUTH_TS_OFFSET:
		return termsim_parse_long(arg, -100000000, 100000000, &o->auth_ts_offset);
	default:
		return termsim_lesson_opt(&o->l, c, arg);
	}
}

/* One option; false on a bad value or an unknown option. */
static bool apply_opt(struct opts *o, int c, const char *arg, const char **phone)
{
	switch (c) {
	case O_HOST:
		o->host = arg;
		break;
	case O_CA:
		o->ca = arg;
		break;
	case O_CERT:
		o->cert = arg;
		break;
	case O_KEY:
		o->key = arg;
		break;
	case O_PLAIN:
		o->plain = true;
		break;
	case O_TLS:
		o->plain = false;
		break;
	case O_LAYOUT:
		return parse_layout(o, arg);
	case O_IMEI:
		return parse_imei(o, arg);
	case O_P12_OUT:
		o->p12_out = arg;
		break;
	case O_AUTH_BAD_SIG:
		o->auth_bad_sig = true;
		break;
	case O_AUTH_TWICE:
		o->auth_twice = true;
		break;
	case O_PHONE:
		*phone = arg;
		break;
	case O_V2019:
		o->layout = JT808_L2019;
		break;
	case O_NO_REGISTER:
		o->no_register = true;
		break;
	case O_NO_AUTH:
		o->no_auth = true;
		break;
	case O_AUTH_CODE:
		o->auth_code = arg;
		return strlen(arg) < 63;
	case O_ACKED_FILE:
		o->acked_file = arg;
		break;
	case O_LOOP:
		o->loop = true;
		break;
	case O_INJECT:
		return parse_inject(o, arg);
	case 'v':
		o->verbose = true;
		break;
	default:
		return apply_num_opt(o, c, arg);
	}
	return true;
}

static bool check_terminals(const struct opts *o)
{
	char last[JT808_PHONE_MAX + 1];

	if (!termsim_number_plus(o->phone_raw, (unsigned)o->terminals - 1, last, sizeof(last))) {
		log_error("--terminals %d: --phone %s plus %d needs more digits", o->terminals,
			  o->phone_raw, o->terminals - 1);
		return false;
	}
	if (o->terminals > 1 && o->cert && (!strstr(o->cert, "{}") || !strstr(o->key, "{}")))
		log_warn("--terminals %d with one certificate for all: the server may refuse "
			 "all but one",
			 o->terminals);
	return true;
}

/* Options of one layout given with another, or needing what is left out. */
static bool check_layout_opts(const struct opts *o)
{
	bool timing = o->layout == JT808_LTIMING;

	if (timing && o->auth_code) {
		log_error("--auth-code is for --layout 2013|2019: the timing layout signs instead");
		return false;
	}
	if (!timing && (o->imei || o->p12_out || o->auth_ts_offset || o->auth_bad_sig)) {
		log_error("--imei, --p12-out, --auth-ts-offset and --auth-bad-sig are for the "
			  "timing layout");
		return false;
	}
	if ((o->imei || o->p12_out) && o->no_register) {
		log_error("--imei and --p12-out go with the registration (no --no-register)");
		return false;
	}
	if (o->no_auth && (o->auth_ts_offset || o->auth_bad_sig || o->auth_twice)) {
		log_error("--auth-* options need the authentication (no --no-auth)");
		return false;
	}
	if (!o->no_register || o->no_auth)
		return true;
	if (timing && !sign_key_path(o)) {
		log_error("--no-register in the timing layout needs --sign-key F (the key of the "
			  "terminal's registered certificate) or --no-auth");
		return false;
	}
	if (!timing && !o->auth_code) {
		log_error("--no-register needs --auth-code CODE or --no-auth");
		return false;
	}
	return true;
}

/* Checks across options, after all are read. */
static bool check_opts(struct opts *o, const char *phone)
{
	if (!phone || !parse_phone(o, phone)) {
		log_error("--phone: 1 to %zu digits required", jt808_phone_digits(o->layout));
		return false;
	}
	if (!o->plain && !o->ca) {
		log_error("--ca is required with --tls");
		return false;
	}
	if (!o->cert != !o->key) {
		log_error("--cert and --key go together");
		return false;
	}
	if (o->plain && o->cert)
		log_warn("--cert without --tls: plain TCP, the certificate is not sent");
	if (!check_layout_opts(o))
		return false;
	if (o->loop && o->rate <= 0)
		o->rate = 1;
	if (!o->start_time_set)
		o->start_time = (long long)time(NULL) - (o->loop ? 0 : o->positions);
	return check_terminals(o) && termsim_lesson_check(o);
}

/* 0 when the options are usable; EXIT_USAGE or -1 (--help) otherwise. */
static int parse_opts(struct opts *o, int argc, char **argv)
{
	const char *phone = NULL;
	int c, idx = -1;

	*o = (struct opts){.host = "127.0.0.1",
			   .port = "8808",
			   .plain = true,
			   .layout = JT808_LTIMING,
			   .window = 16,
			   .timeout_s = 30,
			   .terminals = 1};
	termsim_lesson_defaults(&o->l);
	while ((c = getopt_long(argc, argv, "vh", long_opts, &idx)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return -1;
		}
		if (!apply_opt(o, c, optarg, &phone)) {
			if (c != '?')
				log_error("bad value for option --%s: %s",
					  idx >= 0 ? long_opts[idx].name : "?",
					  optarg ? optarg : "");
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		log_error("unexpected argument %s", argv[optind]);
		return EXIT_USAGE;
	}
	return check_opts(o, phone) ? 0 : EXIT_USAGE;
}

/* C terminals need C descriptors: take the hard limit. */
static void raise_nofile(unsigned want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want + 64)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want + 64)
		log_warn("descriptor limit %llu is low for %u terminals",
			 (unsigned long long)rl.rlim_cur, want);
}

int main(int argc, char **argv)
{
	static struct run run;
	struct run *r = &run;
	log_set_prefix("termsim");
	int rc = parse_opts(&r->o, argc, argv);

	if (rc != 0)
		return rc < 0 ? EXIT_DONE : rc;
	if (r->o.verbose)
		log_set_level(HLOG_DEBUG);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile((unsigned)r->o.terminals);
	if (!run_setup(r)) {
		run_free(r);
		libevent_global_shutdown();
		return EXIT_USAGE;
	}
	r->t_start_us = termsim_now_us();
	if (run_connect(r)) {
		event_base_dispatch(r->base);
		rc = run_exit_code(r);
	} else {
		for (unsigned i = 0; i < r->nsims; i++)
			r->sims[i].connect_failed = true;
		rc = EXIT_FAIL;
	}
	print_summary(r);
	run_free(r);
	libevent_global_shutdown();
	return rc;
}
