/*
 * body.c - every JT/T 808 body decoder on its own, without a frame
 * around it, so that the fuzzer spends no effort on check codes.
 * Input: byte 0 picks the message ID (low 4 bits, the table below) and
 * the header layout (bits 4-5); the rest is the body.
 */
#include "decode.h"

static const uint16_t ids[] = {
	JT808_T_REGISTER,	  JT808_T_AUTH,		  JT808_T_LOCATION,
	JT808_T_BATCH_LOCATION,	  JT808_T_TRANSPARENT_UP, JT808_T_ASK_PIECES,
	JT808_P_ASK_PIECES,	  JT808_T_GENERAL_ACK,	  JT808_P_REGISTER_ACK,
	JT808_P_TRANSPARENT_DOWN, JT808_T_HEARTBEAT,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	uint8_t sel = fuzz_byte(&in);
	struct jt808_msg m = {0};

	m.h.msg_id = ids[(sel & 0x0f) % ARRAY_SIZE(ids)];
	m.h.layout = (uint8_t)(((sel >> 4) & 3) % JT808_L__COUNT);
	m.escaped_sums = (sel & 0x40) != 0;
	uint8_t *body = fuzz_dup(in.p, in.n);
	m.body = body;
	m.body_len = in.n;
	fuzz_decode_msg(&m);
	free(body);
	return 0;
}
