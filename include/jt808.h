/*
 * jt808.h - the JT/T 808 frame codec: the 2011/2013 and 2019 headers, and
 * the national driver-training timing header (驾培, JT/T 1302 family).
 *
 * Pure functions on byte arrays: no I/O, no allocation except in the
 * sub-package reassembler.  Everything a terminal sends is hostile, so
 * every parser returns a jt808_err and never reads past the length it is
 * given.  Layout facts and the choices made are in docs/protocol.md.
 */
#ifndef HOURSD_JT808_H
#define HOURSD_JT808_H

#include "hoursd.h"
#include <time.h>

#define JT808_FLAG 0x7e
#define JT808_ESC 0x7d
#define JT808_MAX_BODY 1023 /* 10 bits of body length */
#define JT808_PHONE_MAX 20  /* digits of a 2019 terminal number */
#define JT808_PIECE_MAX 732 /* body bytes a piece of a sub-packaged downlink carries at most */
#define JT808_TIMING_VERSION 0x80 /* byte 0 of a timing frame from a terminal */

/*
 * Header layouts, told apart by byte 0 and an exact length match
 * (docs/protocol.md, "Header layouts"); answers go out in the layout the
 * terminal used.
 */
enum jt808_layout {
	JT808_L2013,   /* id, props, BCD[6], serial: 12 bytes */
	JT808_L2019,   /* id, props (bit 14), version, BCD[10], serial: 17 bytes */
	JT808_LTIMING, /* version, id, props, BCD[8], serial, reserved: 16 bytes */
	JT808_L__COUNT
};
const char *jt808_layout_name(enum jt808_layout l);
/* Digits of the terminal number in a layout's header (12, 20, 16). */
size_t jt808_phone_digits(enum jt808_layout l);

/* Message IDs the server knows. */
enum {
	JT808_T_GENERAL_ACK = 0x0001,
	JT808_T_HEARTBEAT = 0x0002,
	JT808_T_DEREGISTER = 0x0003,
	JT808_T_ASK_PIECES = 0x0005, /* 2019: the terminal asks for pieces of a downlink */
	JT808_T_REGISTER = 0x0100,
	JT808_T_AUTH = 0x0102,
	JT808_T_LOCATION = 0x0200,
	JT808_T_BATCH_LOCATION = 0x0704,
	JT808_T_TRANSPARENT_UP = 0x0900,
	JT808_P_GENERAL_ACK = 0x8001,
	JT808_P_REGISTER_ACK = 0x8100,
	JT808_P_ASK_PIECES = 0x8003,
	JT808_P_TRANSPARENT_DOWN = 0x8900,
};

/* Results of 0x8001. */
enum { JT808_R_OK = 0, JT808_R_FAILED = 1, JT808_R_BAD_MESSAGE = 2, JT808_R_NOT_SUPPORTED = 3 };

/* Results of 0x8100. */
enum {
	JT808_REG_OK = 0,
	JT808_REG_VEHICLE_TAKEN = 1,
	JT808_REG_VEHICLE_UNKNOWN = 2,
	JT808_REG_TERMINAL_TAKEN = 3,
	JT808_REG_TERMINAL_UNKNOWN = 4,
};

enum jt808_err {
	JT808_OK = 0,
	JT808_E_SHORT,	    /* fewer bytes than the header or a field needs */
	JT808_E_ESCAPE,	    /* 0x7D followed by something other than 0x01/0x02 */
	JT808_E_CHECK,	    /* XOR check code differs */
	JT808_E_LENGTH,	    /* body length in properties differs from the bytes */
	JT808_E_TOO_LONG,   /* frame longer than the configured maximum */
	JT808_E_BCD,	    /* a BCD nibble above 9 */
	JT808_E_TIME,	    /* a BCD time that is not a real time */
	JT808_E_PIECE,	    /* bad sub-package numbers (index 0, index > total, total 0) */
	JT808_E_REASM_FULL, /* reassembly bound reached (pieces or bytes) */
	JT808_E_SPACE,	    /* output buffer too small (encoder) */
	JT808_E__COUNT
};

/* A short stable name for each error, used in logs and metrics labels. */
const char *jt808_strerror(enum jt808_err e);

struct jt808_header {
	uint16_t msg_id;
	uint16_t props;	   /* raw body properties word */
	uint16_t body_len; /* bits 0-9 */
	uint8_t encrypt;   /* bits 10-12 */
	bool subpkg;	   /* bit 13 */
	uint8_t layout;	   /* enum jt808_layout */
	uint8_t version;   /* the version byte (2019, timing), 0 for 2013 */
	uint8_t reserved;  /* the timing header's reserved byte: read, never trusted */
	/* Terminal number as the BCD digits, NUL-terminated: 12 digits (2013),
	 * 20 (2019) or 16 (timing), leading zeros kept. */
	char phone[JT808_PHONE_MAX + 1];
	uint16_t serial;
	uint16_t pkg_total; /* only when subpkg */
	uint16_t pkg_index; /* from 1, only when subpkg */
};

struct jt808_msg {
	struct jt808_header h;
	const uint8_t *body; /* points into the caller's unescaped buffer */
	size_t body_len;
	bool escaped_sums; /* parsed by jt808_parse_escaped_sums: the device counts escaped bytes */
};

/*
 * Stream scanning.  buf[0..n) is what has arrived on a connection.
 *  JT808_SCAN_NEED:  no complete frame yet; drop s->skip bytes (junk
 *                    before the first 0x7E) and wait for more.
 *  JT808_SCAN_FRAME: the escaped frame content (without both 0x7E) is at
 *                    buf + s->start, s->len bytes; drop s->skip bytes
 *                    after handling it.  s->junk counts bytes of junk
 *                    before the opening 0x7E (included in skip).
 *  JT808_SCAN_OVERSIZE: a frame longer than max_frame (escaped bytes
 *                    between the flags); drop s->skip bytes, which resyncs
 *                    on the next 0x7E.
 * The closing 0x7E of a frame is not consumed when it may be the opening
 * flag of the next frame (some devices share one flag between frames);
 * an empty frame (0x7E 0x7E) is skipped without being reported.
 */
enum jt808_scan_result { JT808_SCAN_NEED, JT808_SCAN_FRAME, JT808_SCAN_OVERSIZE };
struct jt808_scan {
	size_t skip;
	size_t start;
	size_t len;
	size_t junk;
};
enum jt808_scan_result jt808_scan(const uint8_t *buf, size_t n, size_t max_frame,
				  struct jt808_scan *s);

/* Unescape in[0..n) into out (cap >= n suffices); *outlen gets the length. */
enum jt808_err jt808_unescape(const uint8_t *in, size_t n, uint8_t *out, size_t *outlen) MUSTCHECK;

/* Parse unescaped header + body + check code; m->body points into buf. */
enum jt808_err jt808_parse(const uint8_t *buf, size_t n, struct jt808_msg *m) MUSTCHECK;

/*
 * The device fault of docs/protocol.md ("escaped sums"): the body length
 * and the check code computed over the escaped bytes.  esc[0..n) is the
 * frame as received (without the flags); work must hold n bytes and
 * receives the unescaped frame, into which m->body points.
 */
enum jt808_err jt808_parse_escaped_sums(const uint8_t *esc, size_t n, uint8_t *work,
					struct jt808_msg *m) MUSTCHECK;

/*
 * Encode one frame: header fields from h (msg_id, layout, version,
 * reserved, phone, serial, encrypt, subpkg/pkg_total/pkg_index; body_len
 * and props are computed), body, check code, escaping and both flags.
 * Returns the number of bytes written to out, or 0 when cap is too small
 * or body_len > JT808_MAX_BODY.  h->phone: digits only, left-padded with
 * zeros to the layout's width (jt808_phone_digits).
 */
size_t jt808_encode(const struct jt808_header *h, const uint8_t *body, size_t body_len,
		    uint8_t *out, size_t cap) MUSTCHECK;

/* Worst-case encoded size of a frame with body_len bytes of body. */
#define JT808_ENCODED_MAX(body_len) (2 + 2 * (17 + 4 + (body_len) + 1))

/* Big-endian helpers for body building and parsing. */
static inline uint16_t jt808_get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t jt808_get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint8_t *jt808_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}
static inline uint8_t *jt808_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

/* BCD: n bytes to 2n digits (+NUL) in out; JT808_E_BCD on a nibble > 9. */
enum jt808_err jt808_bcd_to_str(const uint8_t *in, size_t n, char *out) MUSTCHECK;
/* 2n digits (left-padded with '0' when shorter) to n BCD bytes; false on a non-digit or too long.
 */
bool jt808_str_to_bcd(const char *digits, uint8_t *out, size_t n) MUSTCHECK;
/* BCD[6] YYMMDDhhmmss in UTC+8 (Beijing time) to seconds since the epoch (UTC). */
enum jt808_err jt808_bcd_time(const uint8_t in[6], time_t *out) MUSTCHECK;
/* Seconds since the epoch to BCD[6] in UTC+8. */
void jt808_time_bcd(time_t t, uint8_t out[6]);

/* ---- message bodies ---- */

#define JT808_LOCATION_LEN 28 /* the GNSS block */
#define JT808_ST_FIX 0x2u     /* status bit 1: fix valid */
#define JT808_ST_SOUTH 0x4u
#define JT808_ST_WEST 0x8u

/*
 * A position.  In the timing messages' GNSS block (jtx.c) the word at 16
 * is the recorder's speed, not the altitude, and speed_dkmh is the
 * satellite speed; the altitude and the rest come as extra items, whose
 * presence the JT808_X_* bits of extras record.
 */
enum { JT808_X_MILEAGE = 1, JT808_X_FUEL = 2, JT808_X_ALTITUDE = 4, JT808_X_RPM = 8 };
struct jt808_location {
	uint32_t alarm;
	uint32_t status;
	int32_t lat_e6; /* degrees x 10^6, negative when south */
	int32_t lon_e6; /* negative when west */
	uint16_t altitude_m;
	uint16_t speed_dkmh; /* 0.1 km/h (timing messages: the satellite speed) */
	uint16_t direction;
	time_t time; /* UTC seconds */
	bool fix;
	/* timing messages only */
	uint8_t extras;		      /* JT808_X_* present */
	uint16_t recorder_speed_dkmh; /* the vehicle's own speed, 0.1 km/h */
	uint32_t mileage_dkm;	      /* extra 0x01: 0.1 km */
	uint16_t fuel_dl;	      /* extra 0x02: 0.1 L */
	uint16_t engine_rpm;	      /* extra 0x05 */
};

/* Parse the 28-byte GNSS block (extra items after it are ignored). */
enum jt808_err jt808_parse_location(const uint8_t *b, size_t n,
				    struct jt808_location *loc) MUSTCHECK;
/* Write the 28-byte block; returns 28. */
size_t jt808_build_location(const struct jt808_location *loc, uint8_t out[JT808_LOCATION_LEN]);

/*
 * 0x0704 batch: calls fn for each item's location; stops at the first
 * error (returned) or when fn returns false.  *count gets the declared count.
 */
typedef bool (*jt808_location_fn)(void *arg, const struct jt808_location *loc);
enum jt808_err jt808_parse_batch_location(const uint8_t *b, size_t n, jt808_location_fn fn,
					  void *arg, unsigned *count) MUSTCHECK;

/* 0x0100: the fields the server uses. */
struct jt808_register {
	uint16_t province, city;
	char maker[12];	      /* 5 (2013, timing) or 11 (2019) bytes, NUL-terminated, NULs cut */
	char model[31];	      /* 20 or 30 */
	char terminal_id[31]; /* the factory serial: 7 or 30 */
	char imei[16];	      /* timing layout only: BYTE[15] */
	uint8_t plate_color;
	char plate[33]; /* GBK bytes as sent, cut at 32 */
};
/* The layout of the frame selects the body's; a 2013-shaped body under
 * the 2019 flag is recognised by its length (see docs/protocol.md). */
enum jt808_err jt808_parse_register(const uint8_t *b, size_t n, enum jt808_layout l,
				    struct jt808_register *r) MUSTCHECK;
size_t jt808_build_register(const struct jt808_register *r, enum jt808_layout l, uint8_t *out,
			    size_t cap) MUSTCHECK;

/* 0x0102 of 2013/2019: the auth code (2013: whole body; 2019: length-prefixed, then IMEI and
 * version). */
enum jt808_err jt808_parse_auth(const uint8_t *b, size_t n, bool v2019, char *code,
				size_t cap) MUSTCHECK;
size_t jt808_build_auth(const char *code, bool v2019, uint8_t *out, size_t cap) MUSTCHECK;

/*
 * 0x0102 of the timing layout: timestamp DWORD (Unix seconds), then the
 * terminal's signature over SHA-256(terminal number, 16 ASCII || the
 * timestamp's 4 bytes); *sig points into b.  jt808_auth_signed_data
 * writes the 20 signed bytes.
 */
#define JT808_AUTH_SIGNED_LEN 20
enum jt808_err jt808_parse_auth_signed(const uint8_t *b, size_t n, uint32_t *ts,
				       const uint8_t **sig, size_t *sig_len) MUSTCHECK;
size_t jt808_build_auth_signed(uint32_t ts, const uint8_t *sig, size_t sig_len, uint8_t *out,
			       size_t cap) MUSTCHECK;
bool jt808_auth_signed_data(const char *terminal_no, uint32_t ts,
			    uint8_t out[JT808_AUTH_SIGNED_LEN]) MUSTCHECK;

/* 0x8001 / 0x0001 body: serial, id, result.  Returns 5. */
size_t jt808_build_general_ack(uint16_t serial, uint16_t id, uint8_t result, uint8_t out[5]);
enum jt808_err jt808_parse_general_ack(const uint8_t *b, size_t n, uint16_t *serial, uint16_t *id,
				       uint8_t *result) MUSTCHECK;
/* 0x8100 body (2013/2019): serial, result, then the auth code when result is 0. */
size_t jt808_build_register_ack(uint16_t serial, uint8_t result, const char *code, uint8_t *out,
				size_t cap) MUSTCHECK;
enum jt808_err jt808_parse_register_ack(const uint8_t *b, size_t n, uint16_t *serial,
					uint8_t *result, char *code, size_t cap) MUSTCHECK;

/*
 * 0x8100 body of the timing layout: serial, result, then when result is 0
 * the platform number BYTE[5], the training institution's number
 * BYTE[16], the timing terminal number BYTE[16], the certificate's
 * password BYTE[12] and the certificate (Base64 of a PKCS#12) to the end.
 */
struct jt808_register_ack_timing {
	uint16_t serial;
	uint8_t result;
	char platform_no[6];
	char institution_no[17];
	char terminal_no[17];
	char cert_password[13];
	const char *cert_b64; /* parse: into the body; build: the caller's */
	size_t cert_len;
};
size_t jt808_build_register_ack_timing(const struct jt808_register_ack_timing *a, uint8_t *out,
				       size_t cap) MUSTCHECK;
enum jt808_err jt808_parse_register_ack_timing(const uint8_t *b, size_t n,
					       struct jt808_register_ack_timing *a) MUSTCHECK;

/*
 * A request for pieces of a sub-packaged message (0x8003 both ways in the
 * timing protocol, 0x0005 from a 2019 terminal): the first piece's serial,
 * a count, then the missing piece numbers (WORDs).  The count is a BYTE
 * except in the 2019 layout, where it is a WORD.  At most cap numbers are
 * written to idx; *count gets the declared count.
 */
enum jt808_err jt808_parse_piece_request(const uint8_t *b, size_t n, enum jt808_layout l,
					 uint16_t *first_serial, uint16_t *idx, size_t cap,
					 size_t *count) MUSTCHECK;
size_t jt808_build_piece_request(uint16_t first_serial, const uint16_t *idx, size_t count,
				 enum jt808_layout l, uint8_t *out, size_t cap) MUSTCHECK;

/* ---- sub-package reassembly (one per connection) ---- */

struct jt808_reasm;
struct jt808_reasm *jt808_reasm_new(unsigned max_pieces, size_t max_bytes, unsigned max_age_s);
void jt808_reasm_free(struct jt808_reasm *r);
/*
 * Add one piece (m->h.subpkg set).  Returns JT808_OK with *body NULL while
 * the message is incomplete; JT808_OK with *body (malloc'd, caller frees)
 * and *len when this piece completed it; an error when the piece is bad or
 * a bound is reached (the partial message is dropped then).  Pieces are
 * keyed by message ID, total and first serial (serial - index + 1);
 * a repeated piece replaces the earlier copy.
 */
enum jt808_err jt808_reasm_add(struct jt808_reasm *r, const struct jt808_msg *m, time_t now,
			       uint8_t **body, size_t *len) MUSTCHECK;
/* Drop partial messages older than max_age_s; returns how many were dropped. */
unsigned jt808_reasm_expire(struct jt808_reasm *r, time_t now);
/* Partial messages held now (for tests and metrics). */
unsigned jt808_reasm_pending(const struct jt808_reasm *r);

/*
 * One budget of bytes for the reassembly of many connections: a piece
 * that would take the total over max first drops the oldest unfinished
 * messages of any of them (never the one it belongs to); when that is not
 * enough it is refused with JT808_E_REASM_FULL.  A piece costs its length
 * plus JT808_REASM_PIECE_COST.  The budget must outlive its reassemblies.
 */
#define JT808_REASM_PIECE_COST 64
struct jt808_reasm_budget {
	size_t max, held;
	uint64_t dropped;		 /* unfinished messages dropped for the budget, in all */
	struct partial *oldest, *newest; /* every partial message under the budget, by birth */
};
void jt808_reasm_set_budget(struct jt808_reasm *r, struct jt808_reasm_budget *b);

/*
 * A terminal's phone number as the registry keys it: leading zeros
 * dropped ("0013800000001" -> "13800000001"; "000" -> "0").  out needs 21
 * bytes.
 */
void jt808_phone_norm(const char *digits, char out[21]);

#endif
