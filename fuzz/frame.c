/*
 * frame.c - one frame after unescaping (jt808_parse: the 2013, 2019 and
 * timing headers, told apart by byte 0 and the length), then its body
 * through every decoder (decode.h).  The same bytes, taken as an escaped
 * frame, go through the escaped-sums parser (docs/protocol.md).  Input:
 * header, body and check code, without flags or escapes.
 */
#include "decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jt808_msg m;
	uint8_t *work = malloc(size ? size : 1);

	FUZZ_ASSERT(work != NULL);
	if (jt808_parse(data, size, &m) == JT808_OK) {
		FUZZ_ASSERT(m.body >= data && m.body + m.body_len <= data + size);
		FUZZ_ASSERT(m.h.layout < JT808_L__COUNT);
		FUZZ_ASSERT(strlen(m.h.phone) == jt808_phone_digits(m.h.layout));
		FUZZ_ASSERT(!m.h.subpkg || (m.h.pkg_index >= 1 && m.h.pkg_index <= m.h.pkg_total));
		fuzz_decode_msg(&m);
		/* What the parser read, the encoder writes back and the parser reads again. */
		uint8_t out[JT808_ENCODED_MAX(JT808_MAX_BODY)], again[sizeof(out)];
		size_t n = jt808_encode(&m.h, m.body, m.body_len, out, sizeof(out)), len = 0;
		struct jt808_msg m2;
		FUZZ_ASSERT(n > 2);
		FUZZ_ASSERT(jt808_unescape(out + 1, n - 2, again, &len) == JT808_OK);
		FUZZ_ASSERT(jt808_parse(again, len, &m2) == JT808_OK);
		FUZZ_ASSERT(m2.h.msg_id == m.h.msg_id && m2.h.serial == m.h.serial);
		FUZZ_ASSERT(m2.h.layout == m.h.layout && strcmp(m2.h.phone, m.h.phone) == 0);
		FUZZ_ASSERT(m2.body_len == m.body_len && memcmp(m2.body, m.body, m.body_len) == 0);
	}
	if (jt808_parse_escaped_sums(data, size, work, &m) == JT808_OK) {
		FUZZ_ASSERT(m.escaped_sums);
		fuzz_decode_msg(&m);
	}
	free(work);
	return 0;
}
