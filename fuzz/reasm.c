/*
 * reasm.c - sub-package reassembly (jt808_reasm_*), with small bounds so
 * that the fuzzer reaches them.  Input: a sequence of pieces, each
 *   byte  bits 0-1 message ID (4 choices), bits 2-5 total (0-15),
 *         bits 6-7 seconds to advance the clock (0, 1, 30, 90)
 *   byte  index (0-255: outside 1..total is an error to report)
 *   WORD  serial
 *   byte  body length (low 6 bits), then the body.
 * A shadow keeps the latest copy of every piece: a completed message must
 * be exactly its pieces joined, and the reassembler never holds more
 * partial messages than were started.
 */
#include "fuzz.h"
#include "jt808.h"

#define MAX_PIECES 8
#define MAX_BYTES 300
#define MAX_AGE 60
#define SHADOW 64

struct shadow {
	uint16_t id, total, first;
	uint8_t len[16];
	uint8_t data[16][64];
	bool have[16];
};

static struct shadow *shadow_of(struct shadow *s, size_t *n, uint16_t id, uint16_t total,
				uint16_t first)
{
	for (size_t i = 0; i < *n; i++)
		if (s[i].id == id && s[i].total == total && s[i].first == first)
			return &s[i];
	if (*n == SHADOW)
		return NULL;
	memset(&s[*n], 0, sizeof(s[*n]));
	s[*n].id = id, s[*n].total = total, s[*n].first = first;
	return &s[(*n)++];
}

/* The message joined from the shadow's pieces equals what the reassembler gave. */
static void check_joined(const struct shadow *sh, const uint8_t *body, size_t len)
{
	size_t off = 0;
	for (unsigned i = 0; i < sh->total; i++) {
		FUZZ_ASSERT(sh->have[i]);
		FUZZ_ASSERT(off + sh->len[i] <= len);
		FUZZ_ASSERT(memcmp(body + off, sh->data[i], sh->len[i]) == 0);
		off += sh->len[i];
	}
	FUZZ_ASSERT(off == len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t ids[] = {0x0900, 0x0200, 0x0100, 0x0704};
	static const unsigned steps[] = {0, 1, 30, 90};
	static struct shadow shadows[SHADOW];
	size_t nshadow = 0;
	struct fuzz_in in = {data, size};
	struct jt808_reasm *r = jt808_reasm_new(MAX_PIECES, MAX_BYTES, MAX_AGE);
	time_t now = 1764000000;

	FUZZ_ASSERT(r != NULL);
	while (in.n >= 5) {
		uint8_t a = fuzz_byte(&in);
		struct jt808_msg m = {0};
		m.h.msg_id = ids[a & 3];
		m.h.subpkg = true;
		m.h.pkg_total = (a >> 2) & 0x0f;
		m.h.pkg_index = fuzz_byte(&in);
		m.h.serial = fuzz_u16(&in);
		now += steps[a >> 6];
		size_t blen;
		m.body = fuzz_take(&in, fuzz_byte(&in) & 0x3f, &blen);
		m.body_len = blen;

		uint16_t first = (uint16_t)(m.h.serial - m.h.pkg_index + 1);
		struct shadow *sh = NULL;
		bool valid =
			m.h.pkg_total >= 1 && m.h.pkg_index >= 1 && m.h.pkg_index <= m.h.pkg_total;
		if (valid &&
		    (sh = shadow_of(shadows, &nshadow, m.h.msg_id, m.h.pkg_total, first))) {
			unsigned i = m.h.pkg_index - 1u;
			sh->have[i] = true;
			sh->len[i] = (uint8_t)blen;
			memcpy(sh->data[i], m.body, blen);
		}
		(void)jt808_reasm_expire(r, now);
		uint8_t *body = NULL;
		size_t len = 0;
		enum jt808_err e = jt808_reasm_add(r, &m, now, &body, &len);
		if (!valid)
			FUZZ_ASSERT(e != JT808_OK);
		if (e != JT808_OK)
			FUZZ_ASSERT(body == NULL);
		if (body != NULL) {
			FUZZ_ASSERT(len <= MAX_BYTES);
			if (sh)
				check_joined(sh, body, len);
			free(body);
		}
		FUZZ_ASSERT(jt808_reasm_pending(r) <= MAX_PIECES * 64u);
	}
	(void)jt808_reasm_expire(r, now + MAX_AGE + 1);
	FUZZ_ASSERT(jt808_reasm_pending(r) == 0);
	jt808_reasm_free(r);
	return 0;
}
