/*
 * jt808.c - see jt808.h.  Layouts and the choices made where sources
 * disagree are in docs/protocol.md.
 *
 * Every parser checks each length before it reads; nothing here asserts
 * on input bytes.  Only the reassembler allocates.
 */
#include "hoursd.h"
#include "jt808.h"

#define PROPS_LEN_MASK 0x03ffu
#define PROPS_ENC_SHIFT 10
#define PROPS_ENC_MASK 0x1c00u
#define PROPS_SUBPKG 0x2000u
#define PROPS_V2019 0x4000u

#define HDR_PIECES 4 /* total, index */
#define HDR_MAX 17   /* the longest header without pieces (2019) */
/* Largest unescaped frame: the longest header with pieces, full body, check. */
#define FRAME_MAX (HDR_MAX + HDR_PIECES + JT808_MAX_BODY + 1)
#define NONE 0xff

/*
 * The header layouts, one row each: offsets of each field, NONE where a
 * layout has no such field, and the header's length without pieces
 * (which follow it when the message is sub-packaged).  Sources and the
 * choices made: docs/protocol.md, "Header layouts".
 */
static const struct hdr_layout {
	const char *name;
	uint8_t version, id, props, phone, phone_len, serial, reserved, len;
} layouts[JT808_L__COUNT] = {
	[JT808_L2013] = {"2013", NONE, 0, 2, 4, 6, 10, NONE, 12},
	[JT808_L2019] = {"2019", 4, 0, 2, 5, 10, 15, NONE, 17},
	[JT808_LTIMING] = {"timing", 0, 1, 3, 5, 8, 13, 15, 16},
};

const char *jt808_layout_name(enum jt808_layout l)
{
	return (unsigned)l < JT808_L__COUNT ? layouts[l].name : "unknown";
}

size_t jt808_phone_digits(enum jt808_layout l)
{
	return (unsigned)l < JT808_L__COUNT ? 2u * layouts[l].phone_len : 0;
}

#define BEIJING_OFFSET (8 * 3600)
#define AUTH_IMEI_LEN 15
#define AUTH_VERSION_LEN 20

/* One name a line; clang-format would pack them into columns. */
/* clang-format off */
static const char *const err_names[JT808_E__COUNT] = {
	[JT808_OK] = "ok",
	[JT808_E_SHORT] = "short",
	[JT808_E_ESCAPE] = "escape",
	[JT808_E_CHECK] = "check",
	[JT808_E_LENGTH] = "length",
	[JT808_E_TOO_LONG] = "too_long",
	[JT808_E_BCD] = "bcd",
	[JT808_E_TIME] = "time",
	[JT808_E_PIECE] = "piece",
	[JT808_E_REASM_FULL] = "reasm_full",
	[JT808_E_SPACE] = "space",
};
/* clang-format on */

const char *jt808_strerror(enum jt808_err e)
{
	if ((unsigned)e >= JT808_E__COUNT)
		return "unknown";
	return err_names[e];
}

/* ---- stream scanning ---- */

static size_t find_flag(const uint8_t *buf, size_t from, size_t n)
{
	const uint8_t *p;

	if (from >= n)
		return n;
	p = memchr(buf + from, JT808_FLAG, n - from);
	return p ? (size_t)(p - buf) : n;
}

/*
 * The closing flag is left in the buffer (skip stops before it) because
 * some devices let one 0x7E close a frame and open the next; when the
 * next frame brings its own opening flag, the pair "7E 7E" is an empty
 * frame and is stepped over here.
 */
enum jt808_scan_result jt808_scan(const uint8_t *buf, size_t n, size_t max_frame,
				  struct jt808_scan *s)
{
	size_t open, close;

	memset(s, 0, sizeof(*s));
	open = find_flag(buf, 0, n);
	s->junk = open;
	if (open == n) {
		s->skip = n;
		return JT808_SCAN_NEED;
	}
	while (open + 1 < n && buf[open + 1] == JT808_FLAG)
		open++;
	close = find_flag(buf, open + 1, n);
	if (close == n) {
		if (n - open - 1 > max_frame) {
			s->skip = n;
			return JT808_SCAN_OVERSIZE;
		}
		s->skip = open;
		return JT808_SCAN_NEED;
	}
	s->skip = close;
	if (close - open - 1 > max_frame)
		return JT808_SCAN_OVERSIZE;
	s->start = open + 1;
	s->len = close - open - 1;
	return JT808_SCAN_FRAME;
}

enum jt808_err jt808_unescape(const uint8_t *in, size_t n, uint8_t *out, size_t *outlen)
{
	size_t i, o = 0;

	*outlen = 0;
	for (i = 0; i < n; i++) {
		if (in[i] != JT808_ESC) {
			out[o++] = in[i];
			continue;
		}
		if (i + 1 >= n)
			return JT808_E_ESCAPE;
		if (in[i + 1] == 0x01)
			out[o++] = JT808_ESC;
		else if (in[i + 1] == 0x02)
			out[o++] = JT808_FLAG;
		else
			return JT808_E_ESCAPE;
		i++;
	}
	*outlen = o;
	return JT808_OK;
}

/* ---- header ---- */

static uint8_t xor_sum(const uint8_t *p, size_t n)
{
	uint8_t x = 0;

	while (n--)
		x ^= *p++;
	return x;
}

static size_t header_len(const struct hdr_layout *l, bool subpkg)
{
	return l->len + (subpkg ? HDR_PIECES : 0);
}

static uint16_t props_of(const uint8_t *buf, size_t n, const struct hdr_layout *l)
{
	return n >= (size_t)l->props + 2 ? jt808_get16(buf + l->props) : 0;
}

/*
 * Whether buf[0..n) is a frame of layout l, with the body length that
 * layout's properties declare (body_len) against the bytes there are
 * (n, check code included).  A 2019 frame has bit 14 set; a timing frame
 * has the top bit of byte 0 set (its version, 0x80), which no uplink
 * message ID of the other layouts has.  Some 2013 devices set bit 14:
 * the exact length decides (docs/protocol.md, "2019 bit").
 */
static bool layout_fits(const uint8_t *buf, size_t n, size_t body_len, enum jt808_layout i)
{
	const struct hdr_layout *l = &layouts[i];
	uint16_t props = props_of(buf, n, l);

	if (n < l->len + 1u)
		return false;
	if (i == JT808_L2019 && !(props & PROPS_V2019))
		return false;
	if (i == JT808_LTIMING && !(buf[0] & 0x80))
		return false;
	return n == header_len(l, props & PROPS_SUBPKG) + body_len + 1;
}

/*
 * Decide the layout of an unescaped frame whose body length is the one
 * its properties declare.  The order is the preference when two fit: a
 * frame that fits the timing layout exactly is one (a 2013 downlink
 * starting 0x80 would also need its length to fit there).
 */
static enum jt808_err pick_layout(const uint8_t *buf, size_t n, enum jt808_layout *out)
{
	static const enum jt808_layout order[] = {JT808_LTIMING, JT808_L2019, JT808_L2013};

	for (size_t k = 0; k < ARRAY_SIZE(order); k++) {
		const struct hdr_layout *l = &layouts[order[k]];

		if (layout_fits(buf, n, props_of(buf, n, l) & PROPS_LEN_MASK, order[k])) {
			*out = order[k];
			return JT808_OK;
		}
	}
	return n < layouts[JT808_L2013].len + 1u ? JT808_E_SHORT : JT808_E_LENGTH;
}

static enum jt808_err check_pieces(uint16_t total, uint16_t index)
{
	if (total == 0 || index == 0 || index > total)
		return JT808_E_PIECE;
	return JT808_OK;
}

/* Fill h from buf once its layout is known to fit. */
static enum jt808_err read_header(const uint8_t *buf, enum jt808_layout i, struct jt808_header *h)
{
	const struct hdr_layout *l = &layouts[i];
	const uint8_t *pieces = buf + l->len;

	h->layout = (uint8_t)i;
	h->msg_id = jt808_get16(buf + l->id);
	h->props = jt808_get16(buf + l->props);
	h->body_len = h->props & PROPS_LEN_MASK;
	h->encrypt = (uint8_t)((h->props & PROPS_ENC_MASK) >> PROPS_ENC_SHIFT);
	h->subpkg = h->props & PROPS_SUBPKG;
	h->version = l->version == NONE ? 0 : buf[l->version];
	h->reserved = l->reserved == NONE ? 0 : buf[l->reserved];
	if (jt808_bcd_to_str(buf + l->phone, l->phone_len, h->phone) != JT808_OK)
		return JT808_E_BCD;
	h->serial = jt808_get16(buf + l->serial);
	if (!h->subpkg)
		return JT808_OK;
	h->pkg_total = jt808_get16(pieces);
	h->pkg_index = jt808_get16(pieces + 2);
	return check_pieces(h->pkg_total, h->pkg_index);
}

enum jt808_err jt808_parse(const uint8_t *buf, size_t n, struct jt808_msg *m)
{
	enum jt808_layout l;
	enum jt808_err e;

	memset(m, 0, sizeof(*m));
	if (n < layouts[JT808_L2013].len + 1u)
		return JT808_E_SHORT;
	if (n > FRAME_MAX)
		return JT808_E_TOO_LONG;
	if (xor_sum(buf, n - 1) != buf[n - 1])
		return JT808_E_CHECK;
	e = pick_layout(buf, n, &l);
	if (e != JT808_OK)
		return e;
	e = read_header(buf, l, &m->h);
	if (e != JT808_OK)
		return e;
	m->body = buf + header_len(&layouts[l], m->h.subpkg);
	m->body_len = m->h.body_len;
	return JT808_OK;
}

/*
 * The escaped-sums fault: the declared body length counts the escaped
 * body and the check code is the XOR of the escaped header and body.  The
 * check byte itself is the last unescaped byte.  pos[i] is the escaped
 * offset of unescaped byte i, to find where the body ends in each.
 */
enum jt808_err jt808_parse_escaped_sums(const uint8_t *esc, size_t n, uint8_t *work,
					struct jt808_msg *m)
{
	uint16_t pos[2 * FRAME_MAX + 2];
	size_t len = 0;

	memset(m, 0, sizeof(*m));
	if (n > sizeof(pos) / sizeof(pos[0]))
		return JT808_E_TOO_LONG;
	for (size_t i = 0; i < n; i++) {
		pos[len] = (uint16_t)i;
		if (esc[i] != JT808_ESC) {
			work[len++] = esc[i];
			continue;
		}
		if (i + 1 >= n || (esc[i + 1] != 0x01 && esc[i + 1] != 0x02))
			return JT808_E_ESCAPE;
		work[len++] = esc[i + 1] == 0x01 ? JT808_ESC : JT808_FLAG;
		i++;
	}
	if (len < layouts[JT808_L2013].len + 1u)
		return JT808_E_SHORT;
	if (len > FRAME_MAX)
		return JT808_E_TOO_LONG;
	/* The check byte is unescaped byte len - 1, starting at escaped pos[len - 1]. */
	if (xor_sum(esc, pos[len - 1]) != work[len - 1])
		return JT808_E_CHECK;
	for (enum jt808_layout i = 0; i < JT808_L__COUNT; i++) {
		const struct hdr_layout *l = &layouts[i];
		uint16_t props = props_of(work, len, l);
		size_t hl = header_len(l, props & PROPS_SUBPKG);

		if (len < hl + 1)
			continue;
		size_t esc_body = (size_t)pos[len - 1] - pos[hl];
		if (esc_body != (props & PROPS_LEN_MASK))
			continue;
		/* Fits with the unescaped body length: the same test as jt808_parse. */
		if (!layout_fits(work, len, len - hl - 1, i))
			continue;
		enum jt808_err e = read_header(work, i, &m->h);
		if (e != JT808_OK)
			return e;
		m->h.body_len = (uint16_t)(len - hl - 1);
		m->body = work + hl;
		m->body_len = m->h.body_len;
		m->escaped_sums = true;
		return JT808_OK;
	}
	return JT808_E_LENGTH;
}

/* ---- encoder ---- */

/* Escaping writer: tracks room and the running check code. */
struct writer {
	uint8_t *out;
	size_t cap, pos;
	uint8_t sum;
	bool ok;
};

static void put_raw(struct writer *w, uint8_t b)
{
	if (w->pos >= w->cap) {
		w->ok = false;
		return;
	}
	w->out[w->pos++] = b;
}

static void put_esc(struct writer *w, uint8_t b)
{
	if (b == JT808_FLAG || b == JT808_ESC) {
		put_raw(w, JT808_ESC);
		put_raw(w, b == JT808_FLAG ? 0x02 : 0x01);
	} else {
		put_raw(w, b);
	}
}

static void put_bytes(struct writer *w, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		w->sum ^= p[i];
		put_esc(w, p[i]);
	}
}

/* Build the unescaped header into hdr; returns its length or 0. */
static size_t build_header(const struct jt808_header *h, size_t body_len, uint8_t *hdr)
{
	const struct hdr_layout *l;
	uint16_t props = (uint16_t)body_len;

	if (h->layout >= JT808_L__COUNT)
		return 0;
	l = &layouts[h->layout];
	props |= (uint16_t)((h->encrypt << PROPS_ENC_SHIFT) & PROPS_ENC_MASK);
	if (h->subpkg)
		props |= PROPS_SUBPKG;
	if (h->layout == JT808_L2019)
		props |= PROPS_V2019;
	memset(hdr, 0, l->len);
	jt808_put16(hdr + l->id, h->msg_id);
	jt808_put16(hdr + l->props, props);
	if (l->version != NONE)
		hdr[l->version] = h->version;
	if (l->reserved != NONE)
		hdr[l->reserved] = h->reserved;
	if (!jt808_str_to_bcd(h->phone, hdr + l->phone, l->phone_len))
		return 0;
	jt808_put16(hdr + l->serial, h->serial);
	if (!h->subpkg)
		return l->len;
	jt808_put16(hdr + l->len, h->pkg_total);
	jt808_put16(hdr + l->len + 2, h->pkg_index);
	return l->len + HDR_PIECES;
}

size_t jt808_encode(const struct jt808_header *h, const uint8_t *body, size_t body_len,
		    uint8_t *out, size_t cap)
{
	uint8_t hdr[HDR_MAX + HDR_PIECES];
	struct writer w = {.out = out, .cap = cap, .ok = true};
	size_t hl;
	uint8_t check;

	if (body_len > JT808_MAX_BODY)
		return 0;
	hl = build_header(h, body_len, hdr);
	if (hl == 0)
		return 0;
	put_raw(&w, JT808_FLAG);
	put_bytes(&w, hdr, hl);
	put_bytes(&w, body, body_len);
	check = w.sum;
	put_esc(&w, check);
	put_raw(&w, JT808_FLAG);
	return w.ok ? w.pos : 0;
}

/* ---- BCD ---- */

enum jt808_err jt808_bcd_to_str(const uint8_t *in, size_t n, char *out)
{
	enum jt808_err e = JT808_OK;

	for (size_t i = 0; i < n; i++) {
		uint8_t hi = in[i] >> 4, lo = in[i] & 0x0f;

		if (hi > 9 || lo > 9)
			e = JT808_E_BCD;
		out[2 * i] = (char)('0' + (hi > 9 ? 0 : hi));
		out[2 * i + 1] = (char)('0' + (lo > 9 ? 0 : lo));
	}
	out[2 * n] = '\0';
	return e;
}

bool jt808_str_to_bcd(const char *digits, uint8_t *out, size_t n)
{
	size_t len = strlen(digits), pad;

	if (len > 2 * n)
		return false;
	pad = 2 * n - len;
	for (size_t i = 0; i < 2 * n; i++) {
		char c = i < pad ? '0' : digits[i - pad];

		if (c < '0' || c > '9')
			return false;
		if (i % 2 == 0)
			out[i / 2] = (uint8_t)((c - '0') << 4);
		else
			out[i / 2] |= (uint8_t)(c - '0');
	}
	return true;
}

static bool bcd_byte(uint8_t b, int *v)
{
	if ((b >> 4) > 9 || (b & 0x0f) > 9)
		return false;
	*v = (b >> 4) * 10 + (b & 0x0f);
	return true;
}

static int days_in_month(int year, int mon)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return mon == 2 && leap ? 29 : days[mon - 1];
}

/* Years are 20YY: the 2011 standard postdates 2000 and BCD has 2 digits. */
enum jt808_err jt808_bcd_time(const uint8_t in[6], time_t *out)
{
	int v[6];
	struct tm tm = {0};

	for (int i = 0; i < 6; i++) {
		if (!bcd_byte(in[i], &v[i]))
			return JT808_E_BCD;
	}
	if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > days_in_month(2000 + v[0], v[1]))
		return JT808_E_TIME;
	if (v[3] > 23 || v[4] > 59 || v[5] > 59)
		return JT808_E_TIME;
	tm.tm_year = 100 + v[0];
	tm.tm_mon = v[1] - 1;
	tm.tm_mday = v[2];
	tm.tm_hour = v[3];
	tm.tm_min = v[4];
	tm.tm_sec = v[5];
	*out = timegm(&tm) - BEIJING_OFFSET;
	return JT808_OK;
}

static uint8_t to_bcd(int v)
{
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

void jt808_time_bcd(time_t t, uint8_t out[6])
{
	time_t local = t + BEIJING_OFFSET;
	struct tm tm;

	if (!gmtime_r(&local, &tm)) {
		memset(out, 0, 6);
		return;
	}
	out[0] = to_bcd((tm.tm_year % 100 + 100) % 100);
	out[1] = to_bcd(tm.tm_mon + 1);
	out[2] = to_bcd(tm.tm_mday);
	out[3] = to_bcd(tm.tm_hour);
	out[4] = to_bcd(tm.tm_min);
	out[5] = to_bcd(tm.tm_sec);
}

/* ---- 0x0200 / 0x0704 ---- */

/*
 * Degrees arrive unsigned with the sign in a status bit.  A hostile
 * value above INT32_MAX is clamped so that negating it stays defined.
 */
static int32_t signed_deg(uint32_t raw, bool negative)
{
	int32_t v = raw > INT32_MAX ? INT32_MAX : (int32_t)raw;

	return negative ? -v : v;
}

static uint32_t abs_deg(int32_t v)
{
	return v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
}

enum jt808_err jt808_parse_location(const uint8_t *b, size_t n, struct jt808_location *loc)
{
	memset(loc, 0, sizeof(*loc));
	if (n < JT808_LOCATION_LEN)
		return JT808_E_SHORT;
	loc->alarm = jt808_get32(b);
	loc->status = jt808_get32(b + 4);
	loc->lat_e6 = signed_deg(jt808_get32(b + 8), loc->status & JT808_ST_SOUTH);
	loc->lon_e6 = signed_deg(jt808_get32(b + 12), loc->status & JT808_ST_WEST);
	loc->altitude_m = jt808_get16(b + 16);
	loc->speed_dkmh = jt808_get16(b + 18);
	loc->direction = jt808_get16(b + 20);
	loc->fix = loc->status & JT808_ST_FIX;
	return jt808_bcd_time(b + 22, &loc->time);
}

/* The sign of lat/lon and loc->fix are authoritative for their status bits. */
static uint32_t build_status(const struct jt808_location *loc)
{
	uint32_t st = loc->status;

	st = loc->fix ? st | JT808_ST_FIX : st & ~JT808_ST_FIX;
	if (loc->lat_e6 < 0)
		st |= JT808_ST_SOUTH;
	else if (loc->lat_e6 > 0)
		st &= ~JT808_ST_SOUTH;
	if (loc->lon_e6 < 0)
		st |= JT808_ST_WEST;
	else if (loc->lon_e6 > 0)
		st &= ~JT808_ST_WEST;
	return st;
}

size_t jt808_build_location(const struct jt808_location *loc, uint8_t out[JT808_LOCATION_LEN])
{
	uint8_t *p = out;

	p = jt808_put32(p, loc->alarm);
	p = jt808_put32(p, build_status(loc));
	p = jt808_put32(p, abs_deg(loc->lat_e6));
	p = jt808_put32(p, abs_deg(loc->lon_e6));
	p = jt808_put16(p, loc->altitude_m);
	p = jt808_put16(p, loc->speed_dkmh);
	p = jt808_put16(p, loc->direction);
	jt808_time_bcd(loc->time, p);
	return JT808_LOCATION_LEN;
}

enum jt808_err jt808_parse_batch_location(const uint8_t *b, size_t n, jt808_location_fn fn,
					  void *arg, unsigned *count)
{
	size_t off = 3;

	*count = 0;
	if (n < 3)
		return JT808_E_SHORT;
	*count = jt808_get16(b);
	for (unsigned i = 0; i < *count; i++) {
		struct jt808_location loc;
		enum jt808_err e;
		size_t len;

		if (n - off < 2)
			return JT808_E_SHORT;
		len = jt808_get16(b + off);
		off += 2;
		if (n - off < len)
			return JT808_E_SHORT;
		e = jt808_parse_location(b + off, len, &loc);
		if (e != JT808_OK)
			return e;
		off += len;
		if (fn && !fn(arg, &loc))
			break;
	}
	return JT808_OK;
}

/* ---- 0x0100 ---- */

/*
 * Field sizes per edition, one table so that a variant is a new row.
 * min_len is the body with an empty plate: how editions are told apart.
 * The timing layout's registration adds the IMEI after the factory serial.
 */
struct reg_layout {
	size_t maker, model, tid, imei;
};

static const struct reg_layout reg_2011 = {5, 8, 7, 0};
static const struct reg_layout reg_2013 = {5, 20, 7, 0};
static const struct reg_layout reg_2019 = {11, 30, 30, 0};
static const struct reg_layout reg_timing = {5, 20, 7, 15};

static size_t reg_min_len(const struct reg_layout *l)
{
	return 4 + l->maker + l->model + l->tid + l->imei + 1;
}

static const struct reg_layout *reg_pick(size_t n, enum jt808_layout layout)
{
	if (layout == JT808_LTIMING)
		return n >= reg_min_len(&reg_timing) ? &reg_timing : NULL;
	if (layout == JT808_L2019 && n >= reg_min_len(&reg_2019))
		return &reg_2019;
	if (n >= reg_min_len(&reg_2013))
		return &reg_2013;
	if (n >= reg_min_len(&reg_2011))
		return &reg_2011;
	return NULL;
}

/* Copy a fixed field as a C string: NUL padding on either side is cut. */
static void copy_field(char *dst, size_t cap, const uint8_t *src, size_t n)
{
	while (n > 0 && src[0] == 0) {
		src++;
		n--;
	}
	while (n > 0 && src[n - 1] == 0)
		n--;
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

enum jt808_err jt808_parse_register(const uint8_t *b, size_t n, enum jt808_layout layout,
				    struct jt808_register *r)
{
	const struct reg_layout *l = reg_pick(n, layout);
	const uint8_t *p = b + 4;

	memset(r, 0, sizeof(*r));
	if (!l)
		return JT808_E_SHORT;
	r->province = jt808_get16(b);
	r->city = jt808_get16(b + 2);
	copy_field(r->maker, sizeof(r->maker), p, l->maker);
	p += l->maker;
	copy_field(r->model, sizeof(r->model), p, l->model);
	p += l->model;
	copy_field(r->terminal_id, sizeof(r->terminal_id), p, l->tid);
	p += l->tid;
	copy_field(r->imei, sizeof(r->imei), p, l->imei);
	p += l->imei;
	r->plate_color = *p++;
	copy_field(r->plate, sizeof(r->plate), p, n - (size_t)(p - b));
	return JT808_OK;
}

/* Write s into a fixed field of n bytes, NUL-padded; false when too long. */
static bool put_field(uint8_t **p, const char *s, size_t n)
{
	size_t len = strlen(s);

	if (len > n)
		return false;
	memcpy(*p, s, len);
	memset(*p + len, 0, n - len);
	*p += n;
	return true;
}

size_t jt808_build_register(const struct jt808_register *r, enum jt808_layout layout, uint8_t *out,
			    size_t cap)
{
	const struct reg_layout *l = layout == JT808_LTIMING ? &reg_timing
				     : layout == JT808_L2019 ? &reg_2019
							     : &reg_2013;
	size_t plate = strlen(r->plate);
	uint8_t *p = out;

	if (cap < reg_min_len(l) + plate)
		return 0;
	p = jt808_put16(p, r->province);
	p = jt808_put16(p, r->city);
	/* The IMEI exists in the timing layout only: the others leave it out. */
	if (!put_field(&p, r->maker, l->maker) || !put_field(&p, r->model, l->model) ||
	    !put_field(&p, r->terminal_id, l->tid) || (l->imei && !put_field(&p, r->imei, l->imei)))
		return 0;
	*p++ = r->plate_color;
	memcpy(p, r->plate, plate);
	return (size_t)(p - out) + plate;
}

/* ---- 0x0102 ---- */

/*
 * An authentication code: NUL padding after it is dropped; an empty code,
 * or a NUL inside one (which a C string would cut short, so that "123\0x"
 * compared as "123"), is refused (fuzz/regress/body/auth-empty-code).
 */
static enum jt808_err copy_code(char *code, size_t cap, const uint8_t *src, size_t n)
{
	while (n > 0 && src[n - 1] == 0)
		n--;
	if (n == 0)
		return JT808_E_SHORT;
	if (memchr(src, 0, n) != NULL)
		return JT808_E_LENGTH;
	if (cap == 0 || n >= cap)
		return JT808_E_SPACE;
	memcpy(code, src, n);
	code[n] = '\0';
	return JT808_OK;
}

/*
 * 2019 bodies are recognised by a length byte consistent with the body;
 * anything else under the 2019 flag is taken as a 2013 body (the whole
 * body is the code), as some devices send (docs/protocol.md).
 */
enum jt808_err jt808_parse_auth(const uint8_t *b, size_t n, bool v2019, char *code, size_t cap)
{
	size_t fixed = 1 + AUTH_IMEI_LEN + AUTH_VERSION_LEN;

	if (cap > 0)
		code[0] = '\0';
	if (n == 0)
		return JT808_E_SHORT;
	if (v2019 && n >= fixed && b[0] <= n - fixed)
		return copy_code(code, cap, b + 1, b[0]);
	return copy_code(code, cap, b, n);
}

size_t jt808_build_auth(const char *code, bool v2019, uint8_t *out, size_t cap)
{
	size_t len = strlen(code);
	size_t need = v2019 ? 1 + len + AUTH_IMEI_LEN + AUTH_VERSION_LEN : len;

	if (cap < need || (v2019 && len > UINT8_MAX))
		return 0;
	if (!v2019) {
		memcpy(out, code, len);
		return len;
	}
	out[0] = (uint8_t)len;
	memcpy(out + 1, code, len);
	memset(out + 1 + len, 0, AUTH_IMEI_LEN + AUTH_VERSION_LEN);
	return need;
}

#define AUTH_TS_LEN 4

enum jt808_err jt808_parse_auth_signed(const uint8_t *b, size_t n, uint32_t *ts,
				       const uint8_t **sig, size_t *sig_len)
{
	*ts = 0;
	*sig = NULL;
	*sig_len = 0;
	if (n <= AUTH_TS_LEN)
		return JT808_E_SHORT;
	*ts = jt808_get32(b);
	*sig = b + AUTH_TS_LEN;
	*sig_len = n - AUTH_TS_LEN;
	return JT808_OK;
}

size_t jt808_build_auth_signed(uint32_t ts, const uint8_t *sig, size_t sig_len, uint8_t *out,
			       size_t cap)
{
	if (cap < AUTH_TS_LEN || cap - AUTH_TS_LEN < sig_len)
		return 0;
	jt808_put32(out, ts);
	if (sig_len)
		memcpy(out + AUTH_TS_LEN, sig, sig_len);
	return AUTH_TS_LEN + sig_len;
}

/* The terminal number must be exactly 16 printable characters, as the header's. */
bool jt808_auth_signed_data(const char *terminal_no, uint32_t ts,
			    uint8_t out[JT808_AUTH_SIGNED_LEN])
{
	if (strlen(terminal_no) != JT808_AUTH_SIGNED_LEN - AUTH_TS_LEN)
		return false;
	memcpy(out, terminal_no, JT808_AUTH_SIGNED_LEN - AUTH_TS_LEN);
	jt808_put32(out + JT808_AUTH_SIGNED_LEN - AUTH_TS_LEN, ts);
	return true;
}

/* ---- 0x8001 / 0x8100 ---- */

size_t jt808_build_general_ack(uint16_t serial, uint16_t id, uint8_t result, uint8_t out[5])
{
	jt808_put16(out, serial);
	jt808_put16(out + 2, id);
	out[4] = result;
	return 5;
}

enum jt808_err jt808_parse_general_ack(const uint8_t *b, size_t n, uint16_t *serial, uint16_t *id,
				       uint8_t *result)
{
	if (n < 5)
		return JT808_E_SHORT;
	*serial = jt808_get16(b);
	*id = jt808_get16(b + 2);
	*result = b[4];
	return JT808_OK;
}

size_t jt808_build_register_ack(uint16_t serial, uint8_t result, const char *code, uint8_t *out,
				size_t cap)
{
	size_t len = result == JT808_REG_OK && code ? strlen(code) : 0;

	if (cap < 3 + len)
		return 0;
	jt808_put16(out, serial);
	out[2] = result;
	memcpy(out + 3, code ? code : "", len);
	return 3 + len;
}

enum jt808_err jt808_parse_register_ack(const uint8_t *b, size_t n, uint16_t *serial,
					uint8_t *result, char *code, size_t cap)
{
	if (cap > 0)
		code[0] = '\0';
	if (n < 3)
		return JT808_E_SHORT;
	*serial = jt808_get16(b);
	*result = b[2];
	if (*result != JT808_REG_OK)
		return JT808_OK;
	return copy_code(code, cap, b + 3, n - 3);
}

/* ---- 0x8100, timing layout ---- */

/* Widths of the fixed fields after serial and result. */
enum { RT_PLATFORM = 5, RT_INSTITUTION = 16, RT_TERMINAL = 16, RT_PASSWORD = 12 };
#define RT_FIXED (3 + RT_PLATFORM + RT_INSTITUTION + RT_TERMINAL + RT_PASSWORD)

size_t jt808_build_register_ack_timing(const struct jt808_register_ack_timing *a, uint8_t *out,
				       size_t cap)
{
	uint8_t *p = out;

	if (cap < 3)
		return 0;
	p = jt808_put16(p, a->serial);
	*p++ = a->result;
	if (a->result != JT808_REG_OK)
		return 3;
	if (cap < RT_FIXED || cap - RT_FIXED < a->cert_len)
		return 0;
	if (!put_field(&p, a->platform_no, RT_PLATFORM) ||
	    !put_field(&p, a->institution_no, RT_INSTITUTION) ||
	    !put_field(&p, a->terminal_no, RT_TERMINAL) ||
	    !put_field(&p, a->cert_password, RT_PASSWORD))
		return 0;
	if (a->cert_len)
		memcpy(p, a->cert_b64, a->cert_len);
	return RT_FIXED + a->cert_len;
}

enum jt808_err jt808_parse_register_ack_timing(const uint8_t *b, size_t n,
					       struct jt808_register_ack_timing *a)
{
	const uint8_t *p = b + 3;

	memset(a, 0, sizeof(*a));
	if (n < 3)
		return JT808_E_SHORT;
	a->serial = jt808_get16(b);
	a->result = b[2];
	if (a->result != JT808_REG_OK)
		return JT808_OK;
	if (n < RT_FIXED)
		return JT808_E_SHORT;
	copy_field(a->platform_no, sizeof(a->platform_no), p, RT_PLATFORM);
	p += RT_PLATFORM;
	copy_field(a->institution_no, sizeof(a->institution_no), p, RT_INSTITUTION);
	p += RT_INSTITUTION;
	copy_field(a->terminal_no, sizeof(a->terminal_no), p, RT_TERMINAL);
	p += RT_TERMINAL;
	copy_field(a->cert_password, sizeof(a->cert_password), p, RT_PASSWORD);
	p += RT_PASSWORD;
	a->cert_b64 = (const char *)p;
	a->cert_len = n - RT_FIXED;
	return JT808_OK;
}

/* ---- 0x8003 / 0x0005 ---- */

enum jt808_err jt808_parse_piece_request(const uint8_t *b, size_t n, enum jt808_layout l,
					 uint16_t *first_serial, uint16_t *idx, size_t cap,
					 size_t *count)
{
	size_t cw = l == JT808_L2019 ? 2 : 1;

	*count = 0;
	if (n < 2 + cw)
		return JT808_E_SHORT;
	*first_serial = jt808_get16(b);
	*count = cw == 2 ? jt808_get16(b + 2) : b[2];
	if (n - 2 - cw < 2 * *count)
		return JT808_E_SHORT;
	for (size_t i = 0; i < *count && i < cap; i++)
		idx[i] = jt808_get16(b + 2 + cw + 2 * i);
	return JT808_OK;
}

size_t jt808_build_piece_request(uint16_t first_serial, const uint16_t *idx, size_t count,
				 enum jt808_layout l, uint8_t *out, size_t cap)
{
	size_t cw = l == JT808_L2019 ? 2 : 1, need = 2 + cw + 2 * count;
	uint8_t *p = out;

	if (cap < need || count > (cw == 2 ? UINT16_MAX : UINT8_MAX))
		return 0;
	p = jt808_put16(p, first_serial);
	if (cw == 2)
		p = jt808_put16(p, (uint16_t)count);
	else
		*p++ = (uint8_t)count;
	for (size_t i = 0; i < count; i++)
		p = jt808_put16(p, idx[i]);
	return need;
}

/* ---- sub-package reassembly ---- */

/* One message being reassembled; pieces[i] holds index i + 1. */
struct partial {
	struct partial *next;
	struct partial *bprev, *bnext; /* in the budget's list, by birth */
	struct jt808_reasm *owner;
	uint16_t msg_id, total, first_serial;
	unsigned have;
	size_t bytes;
	time_t born;
	uint8_t **pieces;
	size_t *lens;
};

struct jt808_reasm {
	unsigned max_pieces, max_age_s;
	size_t max_bytes;
	struct partial *head;
	unsigned pending, pieces_held;
	size_t bytes_held;
	struct jt808_reasm_budget *budget; /* NULL: only this reassembly's bounds */
};

void jt808_reasm_set_budget(struct jt808_reasm *r, struct jt808_reasm_budget *b)
{
	r->budget = b;
}

/* What a partial message costs the budget. */
static size_t partial_cost(const struct partial *p)
{
	return p->bytes + (size_t)p->have * JT808_REASM_PIECE_COST;
}

struct jt808_reasm *jt808_reasm_new(unsigned max_pieces, size_t max_bytes, unsigned max_age_s)
{
	struct jt808_reasm *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->max_pieces = max_pieces;
	r->max_bytes = max_bytes;
	r->max_age_s = max_age_s;
	return r;
}

/* Unlink p (found through *link) and give back what it held. */
static void partial_drop(struct jt808_reasm *r, struct partial **link)
{
	struct partial *p = *link;

	*link = p->next;
	struct jt808_reasm_budget *b = r->budget;
	if (b) {
		b->held -= partial_cost(p);
		if (p->bprev)
			p->bprev->bnext = p->bnext;
		else
			b->oldest = p->bnext;
		if (p->bnext)
			p->bnext->bprev = p->bprev;
		else
			b->newest = p->bprev;
	}
	for (unsigned i = 0; i < p->total; i++)
		free(p->pieces[i]);
	r->pending--;
	r->pieces_held -= p->have;
	r->bytes_held -= p->bytes;
	free(p->pieces);
	free(p->lens);
	free(p);
}

void jt808_reasm_free(struct jt808_reasm *r)
{
	if (!r)
		return;
	while (r->head)
		partial_drop(r, &r->head);
	free(r);
}

static struct partial **partial_find(struct jt808_reasm *r, uint16_t id, uint16_t total,
				     uint16_t first)
{
	struct partial **link;

	for (link = &r->head; *link; link = &(*link)->next) {
		struct partial *p = *link;

		if (p->msg_id == id && p->total == total && p->first_serial == first)
			return link;
	}
	return NULL;
}

static struct partial **partial_new(struct jt808_reasm *r, const struct jt808_header *h,
				    uint16_t first, time_t now)
{
	struct partial *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->pieces = calloc(h->pkg_total, sizeof(*p->pieces));
	p->lens = calloc(h->pkg_total, sizeof(*p->lens));
	if (!p->pieces || !p->lens) {
		free(p->pieces);
		free(p->lens);
		free(p);
		return NULL;
	}
	p->msg_id = h->msg_id;
	p->total = h->pkg_total;
	p->first_serial = first;
	p->born = now;
	p->owner = r;
	p->next = r->head;
	r->head = p;
	r->pending++;
	if (r->budget) {
		struct jt808_reasm_budget *b = r->budget;
		p->bprev = b->newest;
		if (b->newest)
			b->newest->bnext = p;
		else
			b->oldest = p;
		b->newest = p;
	}
	return &r->head;
}

/*
 * Make room for need more bytes under the budget, dropping the oldest
 * unfinished messages but keep; false when even that is not enough.
 */
static bool budget_room(struct jt808_reasm_budget *b, const struct partial *keep, size_t need)
{
	struct partial *p = b->oldest;
	while (b->held + need > b->max && p) {
		struct partial *next = p->bnext;
		if (p != keep) {
			struct jt808_reasm *o = p->owner;
			struct partial **link = &o->head;
			while (*link != p)
				link = &(*link)->next;
			partial_drop(o, link);
			b->dropped++;
		}
		p = next;
	}
	return b->held + need <= b->max;
}

/*
 * Store one piece, replacing an earlier copy of the same index.  The
 * bounds are checked against what would be held after the store.
 */
static enum jt808_err partial_store(struct jt808_reasm *r, struct partial *p, unsigned idx,
				    const uint8_t *body, size_t len)
{
	size_t old = p->lens[idx];
	bool dup = p->pieces[idx] != NULL;
	uint8_t *copy;

	size_t cost = len - old + (dup ? 0 : JT808_REASM_PIECE_COST);
	if (r->bytes_held - old + len > r->max_bytes ||
	    (!dup && r->pieces_held + 1 > r->max_pieces))
		return JT808_E_REASM_FULL;
	if (r->budget && (!dup || len > old) && !budget_room(r->budget, p, cost))
		return JT808_E_REASM_FULL;
	copy = malloc(len ? len : 1);
	if (!copy)
		return JT808_E_REASM_FULL;
	if (len)
		memcpy(copy, body, len);
	free(p->pieces[idx]);
	p->pieces[idx] = copy;
	p->lens[idx] = len;
	p->bytes += len - old;
	r->bytes_held += len - old;
	if (r->budget)
		r->budget->held += cost;
	if (!dup) {
		p->have++;
		r->pieces_held++;
	}
	return JT808_OK;
}

static uint8_t *partial_join(const struct partial *p, size_t *len)
{
	uint8_t *out = malloc(p->bytes ? p->bytes : 1);
	size_t off = 0;

	if (!out)
		return NULL;
	for (unsigned i = 0; i < p->total; i++) {
		memcpy(out + off, p->pieces[i], p->lens[i]);
		off += p->lens[i];
	}
	*len = off;
	return out;
}

enum jt808_err jt808_reasm_add(struct jt808_reasm *r, const struct jt808_msg *m, time_t now,
			       uint8_t **body, size_t *len)
{
	const struct jt808_header *h = &m->h;
	uint16_t first = (uint16_t)(h->serial - h->pkg_index + 1);
	struct partial **link;
	enum jt808_err e;

	*body = NULL;
	*len = 0;
	if (!h->subpkg || check_pieces(h->pkg_total, h->pkg_index) != JT808_OK)
		return JT808_E_PIECE;
	if (h->pkg_total > r->max_pieces)
		return JT808_E_REASM_FULL;
	link = partial_find(r, h->msg_id, h->pkg_total, first);
	if (!link)
		link = partial_new(r, h, first, now);
	if (!link)
		return JT808_E_REASM_FULL;
	e = partial_store(r, *link, h->pkg_index - 1u, m->body, m->body_len);
	if (e == JT808_OK && (*link)->have < (*link)->total)
		return JT808_OK;
	if (e == JT808_OK) {
		*body = partial_join(*link, len);
		if (!*body)
			e = JT808_E_REASM_FULL;
	}
	/* Complete or failed: either way the partial message goes. */
	partial_drop(r, link);
	return e;
}

unsigned jt808_reasm_expire(struct jt808_reasm *r, time_t now)
{
	struct partial **link = &r->head;
	unsigned dropped = 0;

	while (*link) {
		if (now - (*link)->born > (time_t)r->max_age_s) {
			partial_drop(r, link);
			dropped++;
		} else {
			link = &(*link)->next;
		}
	}
	return dropped;
}

unsigned jt808_reasm_pending(const struct jt808_reasm *r)
{
	return r->pending;
}

void jt808_phone_norm(const char *digits, char out[21])
{
	while (digits[0] == '0' && digits[1] != '\0')
		digits++;
	snprintf(out, 21, "%s", digits);
}
