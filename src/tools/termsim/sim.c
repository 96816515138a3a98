/*
 * sim.c - the basics every part of termsim uses (termsim.h): the clock,
 * the names in log lines, the numbers of options, a terminal's state and
 * its end, and the frames it sends: headers and serials, the slots that
 * wait for the answers, sub-packaged pieces, the pace of --rate.  It
 * calls no other part.
 */
#include "hoursd.h"
#include "jt808.h"
#include "log.h"
#include "termsim.h"

#include <errno.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

static const char *const state_names[] = {"connecting", "registering", "authenticating",
					  "sending",	"draining",    "done"};

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

const char *termsim_state_name(enum sim_state st)
{
	return state_names[st];
}

void termsim_set_state(struct sim *s, enum sim_state st)
{
	log_debug("state %s -> %s", termsim_state_name(s->st), termsim_state_name(st));
	s->st = st;
}

/*
 * This terminal is done; the loop stops when the last one is.  The
 * caller's callback chain returns before anything is freed.
 */
void termsim_finish(struct sim *s)
{
	if (s->st == ST_DONE)
		return;
	termsim_set_state(s, ST_DONE);
	s->t_end_us = termsim_now_us();
	event_del(s->idle_ev);
	event_del(s->pace_ev);
	if (--s->run->active == 0) {
		s->run->t_end_us = s->t_end_us;
		event_base_loopexit(s->run->base, NULL);
	}
}

/* A prefix naming the terminal in log lines, when there are several. */
const char *termsim_who(const struct sim *s)
{
	static char buf[JT808_PHONE_MAX + 4];

	if (s->run->nsims <= 1)
		return "";
	snprintf(buf, sizeof(buf), "%s: ", s->phone_raw);
	return buf;
}

/* Any progress (a frame out or in) pushes the no-progress deadline back. */
void termsim_touch(struct sim *s)
{
	struct timeval tv = {.tv_sec = s->o->timeout_s};

	event_add(s->idle_ev, &tv);
}

void termsim_log_frame(const char *dir, const uint8_t *buf, size_t n)
{
	char hex[200];

	if (!log_enabled(HLOG_DEBUG))
		return;
	log_hex(hex, sizeof(hex), buf, n, 64);
	log_debug("%s %zu bytes: %s", dir, n, hex);
}

void termsim_write(struct sim *s, const uint8_t *buf, size_t n)
{
	termsim_log_frame("send", buf, n);
	if (bufferevent_write(s->bev, buf, n) != 0)
		log_error("bufferevent_write failed");
	termsim_touch(s);
}

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

struct jt808_header termsim_header(struct sim *s, uint16_t msg_id)
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

void termsim_slot_fill(struct sim *s, const struct jt808_header *h, enum slot_kind kind,
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
uint16_t termsim_send_msg(struct sim *s, struct jt808_header *h, const uint8_t *body, size_t len,
			  enum slot_kind kind, uint64_t first_pos, uint16_t npos)
{
	uint8_t out[SIM_FRAME_CAP];
	size_t n = jt808_encode(h, body, len, out, sizeof(out));

	if (n == 0) {
		log_error("cannot encode message 0x%04x (%zu body bytes)", h->msg_id, len);
		return 0;
	}
	termsim_slot_fill(s, h, kind, kind != K_BADCHECK && kind != K_SUBPKG && kind != K_ASK,
			  first_pos, npos);
	termsim_write(s, out, n);
	return h->serial;
}

uint16_t termsim_send_simple(struct sim *s, uint16_t msg_id, const uint8_t *body, size_t len,
			     enum slot_kind kind)
{
	struct jt808_header h = termsim_header(s, msg_id);

	return termsim_send_msg(s, &h, body, len, kind, 0, 0);
}

uint16_t termsim_send_untracked(struct sim *s, uint16_t msg_id, const uint8_t *body, size_t len)
{
	return termsim_send_simple(s, msg_id, body, len, K_ASK);
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
		log_error("%scannot encode piece %u/%u (%zu bytes)", termsim_who(s), k, total, n);
		return false;
	}
	termsim_slot_fill(s, &h, kind, tracked, ref, 0);
	termsim_write(s, out, w);
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

void termsim_record_latency(struct sim *s, const struct slot *sl)
{
	uint64_t d = termsim_now_us() - sl->sent_us;
	uint32_t us = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
	struct run *r = s->run;

	if (r->nlat < SIM_LAT_MAX)
		r->lat_us[r->nlat++] = us;
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
	termsim_record_latency(s, sl);
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

bool termsim_number_plus(const char *base, unsigned i, char *out, size_t cap)
{
	size_t n = strlen(base), a;
	unsigned long carry = i;

	if (n >= cap)
		return false;
	memcpy(out, base, n + 1);
	for (a = n; a > 0 && out[a - 1] >= '0' && out[a - 1] <= '9'; a--)
		;
	for (size_t k = n; k > a && carry; k--) {
		unsigned long d = (unsigned long)(out[k - 1] - '0') + carry;

		out[k - 1] = (char)('0' + d % 10);
		carry = d / 10;
	}
	return carry == 0;
}
