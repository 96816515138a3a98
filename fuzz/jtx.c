/*
 * jtx.c - the timing-training extension (src/jtx.c): a 0x0900 body from
 * its transparent type byte, both ways the header's data length is read
 * (plain, and the escaped-sums device fault), then the data of each
 * extended message (lesson_decode as timing.c calls it, the command
 * answers, the platform's answers termsim reads).  A second mode takes
 * the data directly: byte 0 = 0xff, then the extended ID, then the data.
 */
#include "decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size >= 3 && data[0] == 0xff) {
		struct fuzz_in in = {data + 1, size - 1};
		struct jtx_header h = {0};
		struct jtx_course c;
		h.msg_id = fuzz_u16(&in);
		uint8_t *d = fuzz_dup(in.p, in.n);
		h.data = d;
		h.data_len = (uint32_t)in.n;
		fuzz_decode_jtx_data(&h);
		if (in.n >= 5 && jtx_course_decode(d, &c) == JTX_OK) {
			/* digits outside the fields (reserved) are not kept: the fields are */
			uint8_t bcd[5];
			struct jtx_course again;
			FUZZ_ASSERT(jtx_course_encode(&c, bcd));
			FUZZ_ASSERT(jtx_course_decode(bcd, &again) == JTX_OK);
			FUZZ_ASSERT(again.mode == c.mode && again.part == c.part);
			FUZZ_ASSERT(again.subject == c.subject);
			FUZZ_ASSERT(strcmp(again.vehicle_class, c.vehicle_class) == 0);
		}
		free(d);
		return 0;
	}
	fuzz_decode_transparent(data, size, false);
	fuzz_decode_transparent(data, size, true);
	return 0;
}
