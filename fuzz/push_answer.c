/*
 * push_answer.c - the police platform's answer to a push
 * (src/push_answer.c): status, Retry-After and body as a peer sends them.
 * Input: WORD status, byte Retry-After length, the header, the body.
 */
#include "fuzz.h"
#include "push_answer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	int status = fuzz_u16(&in) % 1000;
	size_t rlen, blen;
	const uint8_t *ra = fuzz_take(&in, fuzz_byte(&in), &rlen);
	char *retry = malloc(rlen + 1);
	memcpy(retry, ra, rlen);
	retry[rlen] = '\0';
	const uint8_t *b = fuzz_take(&in, in.n, &blen);
	char *body = (char *)fuzz_dup(b, blen);
	struct push_verdict v;
	push_classify(status ? status : 200, body, blen, rlen ? retry : NULL, 1764000000, &v);
	FUZZ_ASSERT(v.outcome <= PUSH_ERROR);
	FUZZ_ASSERT(memchr(v.error, '\0', sizeof(v.error)) != NULL);
	char safe[256];
	push_sanitize(body, blen, safe, sizeof(safe), (status & 1) != 0);
	FUZZ_ASSERT(strlen(safe) < sizeof(safe));
	for (const char *p = safe; *p; p++)
		FUZZ_ASSERT((unsigned char)*p >= 0x20 || *p == '\n' || *p == '\t');
	free(body);
	free(retry);
	return 0;
}
