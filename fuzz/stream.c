/*
 * stream.c - the bytes of a connection as hoursd reads them (conn.c's
 * process_input and handle_frame): the stream scanner, unescaping, the
 * frame parser with the escaped-sums fallback, sub-package reassembly,
 * then every body decoder (decode.h).  Input: the raw stream.
 */
#include "decode.h"

#define MAX_FRAME 4096 /* connection.max_frame_bytes' default order */

static uint8_t frame_buf[MAX_FRAME];
static uint8_t work[MAX_FRAME];

static void handle_frame(struct jt808_reasm *r, const uint8_t *esc, size_t n, time_t now)
{
	struct jt808_msg m;
	size_t len = 0;
	enum jt808_err e = JT808_E_TOO_LONG;

	if (n <= sizeof(frame_buf))
		e = jt808_unescape(esc, n, frame_buf, &len);
	if (e == JT808_OK) {
		FUZZ_ASSERT(len <= n);
		e = jt808_parse(frame_buf, len, &m);
	}
	if ((e == JT808_E_CHECK || e == JT808_E_LENGTH) && n <= sizeof(work))
		e = jt808_parse_escaped_sums(esc, n, work, &m);
	if (e != JT808_OK)
		return;
	FUZZ_ASSERT(m.body_len == m.h.body_len || m.escaped_sums);
	char phone[21];
	jt808_phone_norm(m.h.phone, phone);
	FUZZ_ASSERT(phone[0] != '\0');
	if (!m.h.subpkg) {
		fuzz_decode_msg(&m);
		return;
	}
	uint8_t *body = NULL;
	size_t blen = 0;
	if (jt808_reasm_add(r, &m, now, &body, &blen) != JT808_OK || body == NULL)
		return;
	struct jt808_msg whole = m;
	whole.h.subpkg = false;
	whole.body = body;
	whole.body_len = blen;
	fuzz_decode_msg(&whole);
	free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jt808_reasm *r = jt808_reasm_new(16, 16384, 60);
	const uint8_t *buf = data;
	size_t n = size;
	time_t now = 1764000000;

	FUZZ_ASSERT(r != NULL);
	while (n > 0) {
		struct jt808_scan s;
		enum jt808_scan_result res = jt808_scan(buf, n, MAX_FRAME, &s);
		FUZZ_ASSERT(s.skip <= n);
		FUZZ_ASSERT(s.junk <= s.skip || res == JT808_SCAN_NEED);
		if (res == JT808_SCAN_FRAME) {
			FUZZ_ASSERT(s.start + s.len <= n && s.len <= MAX_FRAME);
			FUZZ_ASSERT(s.skip > 0);
			handle_frame(r, buf + s.start, s.len, now++);
		} else if (res == JT808_SCAN_OVERSIZE) {
			FUZZ_ASSERT(s.skip > 0);
		} else if (s.skip == 0) {
			break; /* waiting for more bytes */
		}
		buf += s.skip;
		n -= s.skip;
	}
	(void)jt808_reasm_expire(r, now + 3600);
	FUZZ_ASSERT(jt808_reasm_pending(r) == 0);
	jt808_reasm_free(r);
	return 0;
}
