/*
 * decode.h - a message's body through every decoder hoursd hands it to,
 * as conn.c, timing.c, lesson.c and command.c do (the handlers without
 * their I/O), and through the decoders termsim uses on the platform's
 * answers.  Round trips are checked where a builder exists: what a parser
 * accepted, its builder writes, and the parser takes back.
 */
#ifndef HOURSD_FUZZ_DECODE_H
#define HOURSD_FUZZ_DECODE_H

#include "fuzz.h"
#include "jt808.h"
#include "jtx.h"
#include "lesson.h"

static inline bool fuzz_count_location(void *arg, const struct jt808_location *loc)
{
	unsigned *n = arg;
	FUZZ_ASSERT(loc->fix == ((loc->status & JT808_ST_FIX) != 0));
	return ++*n < 1000;
}

/* What a lesson message's builder writes back from what its parser read; 0 for another ID. */
static inline size_t fuzz_rebuild_lesson(const struct lesson_msg *lm, uint8_t *out, size_t cap)
{
	switch (lm->id) {
	case JTX_COACH_LOGIN:
		return jtx_build_coach_login(&lm->coach_login, out, cap);
	case JTX_COACH_LOGOUT:
		return jtx_build_coach_logout(&lm->coach_logout, out, cap);
	case JTX_STUDENT_LOGIN:
		return jtx_build_student_login(&lm->student_login, out, cap);
	case JTX_STUDENT_LOGOUT:
		return jtx_build_student_logout(&lm->student_logout, out, cap);
	case JTX_RECORD:
		return jtx_build_record(&lm->record, out, cap);
	case JTX_PHOTO_INIT:
		return jtx_build_photo_init(&lm->photo_init, out, cap);
	case JTX_PHOTO_DATA:
		return jtx_build_photo_data(lm->photo_data.photo_no, lm->photo_data.bytes,
					    lm->photo_data.len, out, cap);
	default:
		return 0;
	}
}

/*
 * The data of a 0x0900 extension message, by its extended ID.  What a
 * parser took, its builder writes, and the parser takes again with the
 * same key fields (numbers and times).
 */
static inline void fuzz_decode_jtx_data(const struct jtx_header *h)
{
	struct lesson_msg lm, again;
	struct jtx_command cmd, cmd2;
	struct jtx_answer ans, ans2;
	static uint8_t out[65536 + 64];
	size_t n;

	if (lesson_decode(h, &lm) == JTX_OK) {
		n = fuzz_rebuild_lesson(&lm, out, sizeof(out));
		FUZZ_ASSERT(n > 0);
		struct jtx_header h2 = *h;
		h2.data = out;
		h2.data_len = (uint32_t)n;
		FUZZ_ASSERT(lesson_decode(&h2, &again) == JTX_OK);
		if (lm.id == JTX_RECORD) {
			FUZZ_ASSERT(strcmp(again.record.record_no, lm.record.record_no) == 0);
			FUZZ_ASSERT(again.record.record_time == lm.record.record_time);
			FUZZ_ASSERT(again.record.gnss.time == lm.record.gnss.time);
		}
		if (lm.id == JTX_STUDENT_LOGOUT)
			FUZZ_ASSERT(again.student_logout.logout_time ==
				    lm.student_logout.logout_time);
	}
	if (jtx_command_of_answer(h->msg_id) != 0 || jtx_command_answer_id(h->msg_id) != 0) {
		if (jtx_parse_command(h->msg_id, h->data, h->data_len, &cmd) == JTX_OK) {
			n = jtx_build_command(h->msg_id, &cmd, out, sizeof(out));
			FUZZ_ASSERT(n > 0);
			FUZZ_ASSERT(jtx_parse_command(h->msg_id, out, n, &cmd2) == JTX_OK);
			FUZZ_ASSERT(cmd2.from == cmd.from && cmd2.to == cmd.to);
		}
	}
	if (jtx_parse_answer(h->msg_id, h->data, h->data_len, &ans) == JTX_OK) {
		n = jtx_build_answer(h->msg_id, &ans, out, sizeof(out));
		FUZZ_ASSERT(n > 0);
		FUZZ_ASSERT(jtx_parse_answer(h->msg_id, out, n, &ans2) == JTX_OK);
		FUZZ_ASSERT(ans2.result == ans.result);
	}
}

/* A 0x0900 body: the extension header, then its data. */
static inline void fuzz_decode_transparent(const uint8_t *b, size_t n, bool escaped_sums)
{
	struct jtx_header h;
	enum jtx_err e = escaped_sums ? jtx_parse_escaped_len(b, n, &h) : jtx_parse(b, n, &h);
	if (e != JTX_OK)
		return;
	FUZZ_ASSERT(h.data + h.data_len <= b + n || escaped_sums);
	FUZZ_ASSERT(h.sig_len == 0 || (h.sig >= b && h.sig + h.sig_len <= b + n));
	FUZZ_ASSERT(h.signed_bytes >= b && h.signed_bytes + h.signed_len <= b + n);
	if (!escaped_sums) {
		/* the extension header written again reads the same */
		static uint8_t out[65536 + 1024];
		struct jtx_header h2;
		size_t len = jtx_build(&h, h.data, h.data_len, h.sig, h.sig_len, out, sizeof(out));
		FUZZ_ASSERT(len > 0);
		FUZZ_ASSERT(jtx_parse(out, len, &h2) == JTX_OK);
		FUZZ_ASSERT(h2.msg_id == h.msg_id && h2.serial == h.serial);
		FUZZ_ASSERT(h2.data_len == h.data_len && h2.sig_len == h.sig_len);
		FUZZ_ASSERT(strcmp(h2.terminal_no, h.terminal_no) == 0);
	}
	fuzz_decode_jtx_data(&h);
}

/* One whole message (reassembled when it came in pieces), by message ID. */
static inline void fuzz_decode_msg(const struct jt808_msg *m)
{
	const uint8_t *b = m->body;
	size_t n = m->body_len;
	struct jt808_register reg;
	struct jt808_location loc;
	struct jt808_register_ack_timing rat;
	char code[128];
	uint16_t serial, id, idx[64];
	uint8_t result;
	static uint8_t out[(1 << 17) + 1024]; /* a reassembled body: up to reasm_max_bytes */
	uint32_t ts;
	const uint8_t *sig;
	size_t sig_len, count;
	unsigned items = 0, declared;

	switch (m->h.msg_id) {
	case JT808_T_REGISTER:
		if (jt808_parse_register(b, n, m->h.layout, &reg) == JT808_OK) {
			size_t len = jt808_build_register(&reg, m->h.layout, out, sizeof(out));
			FUZZ_ASSERT(len > 0);
			FUZZ_ASSERT(jt808_parse_register(out, len, m->h.layout, &reg) == JT808_OK);
		}
		break;
	case JT808_T_AUTH:
		if (m->h.layout == JT808_LTIMING) {
			if (jt808_parse_auth_signed(b, n, &ts, &sig, &sig_len) == JT808_OK) {
				uint8_t signed_data[JT808_AUTH_SIGNED_LEN];
				uint32_t ts2;
				const uint8_t *sig2;
				size_t sig2_len;
				FUZZ_ASSERT(sig >= b && sig + sig_len <= b + n);
				(void)!jt808_auth_signed_data("3100000000000006", ts, signed_data);
				size_t len =
					jt808_build_auth_signed(ts, sig, sig_len, out, sizeof(out));
				FUZZ_ASSERT(len > 0);
				FUZZ_ASSERT(jt808_parse_auth_signed(out, len, &ts2, &sig2,
								    &sig2_len) == JT808_OK);
				FUZZ_ASSERT(ts2 == ts && sig2_len == sig_len);
			}
		} else {
			bool v2019 = m->h.layout == JT808_L2019;
			char again[128];
			if (jt808_parse_auth(b, n, v2019, code, sizeof(code)) == JT808_OK) {
				size_t len = jt808_build_auth(code, v2019, out, sizeof(out));
				FUZZ_ASSERT(len > 0);
				FUZZ_ASSERT(jt808_parse_auth(out, len, v2019, again,
							     sizeof(again)) == JT808_OK);
				FUZZ_ASSERT(strcmp(again, code) == 0);
			}
		}
		break;
	case JT808_T_LOCATION:
		if (jt808_parse_location(b, n, &loc) == JT808_OK) {
			struct jt808_location again;
			jt808_build_location(&loc, out);
			FUZZ_ASSERT(jt808_parse_location(out, JT808_LOCATION_LEN, &again) ==
				    JT808_OK);
			FUZZ_ASSERT(again.lat_e6 == loc.lat_e6 && again.lon_e6 == loc.lon_e6);
			FUZZ_ASSERT(again.time == loc.time);
		}
		break;
	case JT808_T_BATCH_LOCATION:
		(void)!jt808_parse_batch_location(b, n, fuzz_count_location, &items, &declared);
		break;
	case JT808_T_TRANSPARENT_UP:
	case JT808_P_TRANSPARENT_DOWN:
		fuzz_decode_transparent(b, n, m->escaped_sums);
		break;
	case JT808_P_ASK_PIECES:
	case JT808_T_ASK_PIECES:
		if (jt808_parse_piece_request(b, n, m->h.layout, &serial, idx, 64, &count) ==
		    JT808_OK) {
			size_t k = count < 64 ? count : 64;
			size_t len = jt808_build_piece_request(serial, idx, k, m->h.layout, out,
							       sizeof(out));
			FUZZ_ASSERT(len > 0);
		}
		break;
	case JT808_T_GENERAL_ACK:
	case JT808_P_GENERAL_ACK:
		if (jt808_parse_general_ack(b, n, &serial, &id, &result) == JT808_OK) {
			uint16_t s2, id2;
			uint8_t r2;
			jt808_build_general_ack(serial, id, result, out);
			FUZZ_ASSERT(jt808_parse_general_ack(out, 5, &s2, &id2, &r2) == JT808_OK);
			FUZZ_ASSERT(s2 == serial && id2 == id && r2 == result);
		}
		break;
	case JT808_P_REGISTER_ACK:
		if (m->h.layout == JT808_LTIMING) {
			struct jt808_register_ack_timing again;
			if (jt808_parse_register_ack_timing(b, n, &rat) == JT808_OK) {
				size_t len =
					jt808_build_register_ack_timing(&rat, out, sizeof(out));
				FUZZ_ASSERT(len > 0);
				FUZZ_ASSERT(jt808_parse_register_ack_timing(out, len, &again) ==
					    JT808_OK);
				FUZZ_ASSERT(again.result == rat.result &&
					    again.cert_len == rat.cert_len);
				FUZZ_ASSERT(strcmp(again.terminal_no, rat.terminal_no) == 0);
			}
		} else if (jt808_parse_register_ack(b, n, &serial, &result, code, sizeof(code)) ==
			   JT808_OK) {
			uint16_t s2;
			uint8_t r2;
			char again[128];
			size_t len =
				jt808_build_register_ack(serial, result, code, out, sizeof(out));
			FUZZ_ASSERT(len > 0);
			FUZZ_ASSERT(jt808_parse_register_ack(out, len, &s2, &r2, again,
							     sizeof(again)) == JT808_OK);
			FUZZ_ASSERT(s2 == serial && r2 == result);
			FUZZ_ASSERT(result != JT808_REG_OK || strcmp(again, code) == 0);
		}
		break;
	default:
		break;
	}
}

#endif
