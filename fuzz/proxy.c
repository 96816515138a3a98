/*
 * proxy.c - the PROXY protocol header a load balancer writes before a
 * terminal's first byte (src/proxy.c, listen.proxy_protocol).  Anyone who
 * reaches such a listener writes these bytes, so they are a peer's.
 * Input: the connection's first bytes.  Checks: a whole header is no
 * longer than the input nor than the protocol allows, and a prefix of a
 * header never reads as a different whole one.
 */
#include "fuzz.h"
#include "proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_header h;
	char why[160];
	enum proxy_result r = proxy_parse(data, size, &h, why, sizeof(why));
	FUZZ_ASSERT(r == PROXY_NEED || r == PROXY_OK || r == PROXY_BAD);
	if (r == PROXY_BAD)
		FUZZ_ASSERT(memchr(why, '\0', sizeof(why)) != NULL && why[0] != '\0');
	if (r != PROXY_OK)
		return 0;
	FUZZ_ASSERT(h.len > 0 && h.len <= size && h.len <= PROXY_MAX_HEADER);
	FUZZ_ASSERT(h.version == 1 || h.version == 2);
	FUZZ_ASSERT(h.local || h.srclen > 0);
	/* The header alone parses to the same header; one byte less is not whole. */
	struct proxy_header again;
	FUZZ_ASSERT(proxy_parse(data, h.len, &again, why, sizeof(why)) == PROXY_OK);
	FUZZ_ASSERT(again.len == h.len && again.version == h.version);
	FUZZ_ASSERT(proxy_parse(data, h.len - 1, &again, why, sizeof(why)) != PROXY_OK);
	return 0;
}
