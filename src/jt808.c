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

#define HDR_2013 12  /* id, props, BCD[6], serial */
#define HDR_2019 17  /* id, props, version, BCD[10], serial */
#define HDR_PIECES 4 /* total, index */
#define PHONE_2013 6 /* BCD bytes */
#define PHONE_2019 10
/* Largest unescaped frame: 2019 header with pieces, full body, check. */
#define FRAME_MAX (HDR_2019 + HDR_PIECES + JT808_MAX_BODY + 1)

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

static size_t header_len(bool v2019, bool subpkg)
{
	return (v2019 ? HDR_2019 : HDR_2013) + (subpkg ? HDR_PIECES : 0);
}

/*
 * Decide the header layout.  Bit 14 announces the 2019 header, but some
 * 2013 devices set it anyway: when the frame length only fits the 2013
 * header, the 2013 layout wins (docs/protocol.md, "2019 bit").
 */
static enum jt808_err pick_layout(size_t n, uint16_t props, bool *v2019)
{
	bool sub = props & PROPS_SUBPKG;
	size_t body = props & PROPS_LEN_MASK;
	size_t h19 = header_len(true, sub), h13 = header_len(false, sub);

	*v2019 = props & PROPS_V2019;
	if (*v2019 && n == h19 + body + 1)
		return JT808_OK;
	if (n == h13 + body + 1) {
		*v2019 = false;
		return JT808_OK;
	}
	if (n < (*v2019 ? h19 : h13) + 1)
		return JT808_E_SHORT;
	return JT808_E_LENGTH;
}

static enum jt808_err check_pieces(uint16_t total, uint16_t index)
{
	if (total == 0 || index == 0 || index > total)
		return JT808_E_PIECE;
	return JT808_OK;
}

/* Fill h from buf once the layout is known to fit n. */
static enum jt808_err read_header(const uint8_t *buf, struct jt808_header *h)
{
	const uint8_t *p = buf + 4;
	size_t phone_len = h->v2019 ? PHONE_2019 : PHONE_2013;

	if (h->v2019)
		h->version = *p++;
	if (jt808_bcd_to_str(p, phone_len, h->phone) != JT808_OK)
		return JT808_E_BCD;
	p += phone_len;
	h->serial = jt808_get16(p);
	p += 2;
	if (!h->subpkg)
		return JT808_OK;
	h->pkg_total = jt808_get16(p);
	h->pkg_index = jt808_get16(p + 2);
	return check_pieces(h->pkg_total, h->pkg_index);
}

enum jt808_err jt808_parse(const uint8_t *buf, size_t n, struct jt808_msg *m)
{
	struct jt808_header *h = &m->h;
	enum jt808_err e;
	size_t hl;

	memset(m, 0, sizeof(*m));
	if (n < HDR_2013 + 1)
		return JT808_E_SHORT;
	if (n > FRAME_MAX)
		return JT808_E_TOO_LONG;
	if (xor_sum(buf, n - 1) != buf[n - 1])
		return JT808_E_CHECK;
	h->msg_id = jt808_get16(buf);
	h->props = jt808_get16(buf + 2);
	h->body_len = h->props & PROPS_LEN_MASK;
	h->encrypt = (uint8_t)((h->props & PROPS_ENC_MASK) >> PROPS_ENC_SHIFT);
	h->subpkg = h->props & PROPS_SUBPKG;
	e = pick_layout(n, h->props, &h->v2019);
	if (e != JT808_OK)
		return e;
	e = read_header(buf, h);
	if (e != JT808_OK)
		return e;
	hl = header_len(h->v2019, h->subpkg);
	m->body = buf + hl;
	m->body_len = h->body_len;
	return JT808_OK;
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
	uint8_t *p = hdr;
	size_t phone_len = h->v2019 ? PHONE_2019 : PHONE_2013;
	uint16_t props = (uint16_t)body_len;

	props |= (uint16_t)((h->encrypt << PROPS_ENC_SHIFT) & PROPS_ENC_MASK);
	if (h->subpkg)
		props |= PROPS_SUBPKG;
	if (h->v2019)
		props |= PROPS_V2019;
	p = jt808_put16(p, h->msg_id);
	p = jt808_put16(p, props);
	if (h->v2019)
		*p++ = h->version;
	if (!jt808_str_to_bcd(h->phone, p, phone_len))
		return 0;
	p += phone_len;
	p = jt808_put16(p, h->serial);
	if (h->subpkg) {
		p = jt808_put16(p, h->pkg_total);
		p = jt808_put16(p, h->pkg_index);
	}
	return (size_t)(p - hdr);
}

size_t jt808_encode(const struct jt808_header *h, const uint8_t *body, size_t body_len,
		    uint8_t *out, size_t cap)
{
	uint8_t hdr[HDR_2019 + HDR_PIECES];
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
 */
struct reg_layout {
	size_t maker, model, tid;
};

static const struct reg_layout reg_2011 = {5, 8, 7};
static const struct reg_layout reg_2013 = {5, 20, 7};
static const struct reg_layout reg_2019 = {11, 30, 30};

static size_t reg_min_len(const struct reg_layout *l)
{
	return 4 + l->maker + l->model + l->tid + 1;
}

static const struct reg_layout *reg_pick(size_t n, bool v2019)
{
	if (v2019 && n >= reg_min_len(&reg_2019))
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

enum jt808_err jt808_parse_register(const uint8_t *b, size_t n, bool v2019,
				    struct jt808_register *r)
{
	const struct reg_layout *l = reg_pick(n, v2019);
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

size_t jt808_build_register(const struct jt808_register *r, bool v2019, uint8_t *out, size_t cap)
{
	const struct reg_layout *l = v2019 ? &reg_2019 : &reg_2013;
	size_t plate = strlen(r->plate);
	uint8_t *p = out;

	if (cap < reg_min_len(l) + plate)
		return 0;
	p = jt808_put16(p, r->province);
	p = jt808_put16(p, r->city);
	if (!put_field(&p, r->maker, l->maker) || !put_field(&p, r->model, l->model) ||
	    !put_field(&p, r->terminal_id, l->tid))
		return 0;
	*p++ = r->plate_color;
	memcpy(p, r->plate, plate);
	return (size_t)(p - out) + plate;
}

/* ---- 0x0102 ---- */

static enum jt808_err copy_code(char *code, size_t cap, const uint8_t *src, size_t n)
{
	while (n > 0 && src[n - 1] == 0)
		n--;
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

/* ---- sub-package reassembly ---- */

/* One message being reassembled; pieces[i] holds index i + 1. */
struct partial {
	struct partial *next;
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
};

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
	p->next = r->head;
	r->head = p;
	r->pending++;
	return &r->head;
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

	if (r->bytes_held - old + len > r->max_bytes ||
	    (!dup && r->pieces_held + 1 > r->max_pieces))
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
