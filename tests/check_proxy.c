/*
 * check_proxy.c - the PROXY protocol parser (src/proxy.c): versions 1 and
 * 2 as HAProxy writes them (and as HAProxy 2.6 wrote them, captured in
 * tests/fixtures/proxy_haproxy.hex), every shorter prefix asking for more, the
 * terminal's bytes after the header left alone, and hostile input refused
 * with its byte position; and listen.proxy_protocol's words.
 */
#include "hoursd.h"
#include "proxy.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>

#define MAX_FIXTURES 8
#define FIXTURE_MAX_BYTES 128
#include "hexfix.h"

static enum proxy_result parse(const void *buf, size_t len, struct proxy_header *h, char *why)
{
	return proxy_parse(buf, len, h, why, 128);
}

/* The source address as "host:port". */
static const char *src_text(const struct proxy_header *h)
{
	static char out[80];
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (h->src.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&h->src;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (h->src.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&h->src;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	}
	snprintf(out, sizeof(out), "%s:%u", host, port);
	return out;
}

/* Every proper prefix of a good header asks for more. */
static void assert_prefixes_need(const uint8_t *buf, size_t len)
{
	struct proxy_header h;
	char why[128];
	for (size_t i = 0; i < len; i++)
		ck_assert_msg(parse(buf, i, &h, why) == PROXY_NEED, "prefix of %zu bytes: %s", i,
			      why);
}

START_TEST(test_v1_tcp4)
{
	const char *s = "PROXY TCP4 203.0.113.7 10.0.0.1 51234 8808\r\n\x7e\x02";
	struct proxy_header h;
	char why[128];
	size_t hdr = strlen(s) - 2;
	ck_assert_int_eq(parse(s, strlen(s), &h, why), PROXY_OK);
	ck_assert_uint_eq(h.len, hdr); /* the terminal's 0x7e is not taken */
	ck_assert_int_eq(h.version, 1);
	ck_assert(!h.local);
	ck_assert_str_eq(src_text(&h), "203.0.113.7:51234");
	assert_prefixes_need((const uint8_t *)s, hdr);
}
END_TEST

START_TEST(test_v1_tcp6_and_unknown)
{
	const char *s = "PROXY TCP6 2001:db8::5 2001:db8::1 65535 443\r\n";
	struct proxy_header h;
	char why[128];
	ck_assert_int_eq(parse(s, strlen(s), &h, why), PROXY_OK);
	ck_assert_str_eq(src_text(&h), "2001:db8::5:65535");
	const char *u = "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n";
	ck_assert_int_eq(parse(u, strlen(u), &h, why), PROXY_OK);
	ck_assert(h.local);
	ck_assert_uint_eq(h.len, strlen(u));
	ck_assert_int_eq(parse("PROXY UNKNOWN\r\n", 15, &h, why), PROXY_OK);
	ck_assert(h.local);
}
END_TEST

/* A broken line names what is wrong and where. */
static void assert_v1_bad(const char *s, const char *reason, size_t pos)
{
	struct proxy_header h;
	char why[128], want[128];
	ck_assert_msg(parse(s, strlen(s), &h, why) == PROXY_BAD, "accepted: %s", s);
	snprintf(want, sizeof(want), "%s (byte %zu)", reason, pos);
	ck_assert_str_eq(why, want);
}

START_TEST(test_v1_hostile)
{
	assert_v1_bad("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", "too many fields", 31);
	assert_v1_bad("PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", "empty field", 19);
	assert_v1_bad("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
		      "protocol TCP4, TCP6 or UNKNOWN expected", 6);
	assert_v1_bad("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", "five fields expected", 28);
	assert_v1_bad("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", "bad source port", 27);
	assert_v1_bad("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", "bad source port", 27);
	assert_v1_bad("PROXY TCP4 1.2.3.4 5.6.7.8 1 -2\r\n", "bad destination port", 29);
	assert_v1_bad("PROXY TCP4 1.2.3.400 5.6.7.8 1 2\r\n", "bad source address", 11);
	assert_v1_bad("PROXY TCP4 ::1 5.6.7.8 1 2\r\n", "bad source address", 11);
	assert_v1_bad("PROXY TCP6 ::1 5.6.7.8 1 2\r\n", "bad destination address", 15);
	assert_v1_bad("PROXY TCP4 1.2.3.4\r5.6.7.8 1 2\r\n", "CR not followed by LF", 19);
	assert_v1_bad("PROXY TCP4 1.2.3.4 \x01", "a byte that is not printable ASCII", 19);
	assert_v1_bad("PROXZ", "not a PROXY protocol header", 4);
	assert_v1_bad("\x7e\x01\x02", "not a PROXY protocol header", 0);
	/* A line that never ends is refused at 107 bytes, not read forever. */
	char longline[200];
	memset(longline, 'A', sizeof(longline));
	memcpy(longline, "PROXY ", 6);
	longline[199] = '\0';
	assert_v1_bad(longline, "no CRLF within 107 bytes", 107);
	struct proxy_header h;
	char why[128];
	ck_assert_int_eq(parse(longline, 106, &h, why), PROXY_NEED);
}
END_TEST

static const uint8_t sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
				0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

/* A v2 header: signature, version 2 and cmd, family, length, then body. */
static size_t v2(uint8_t *out, uint8_t cmd, uint8_t fam, const uint8_t *body, uint16_t blen)
{
	memcpy(out, sig, 12);
	out[12] = (uint8_t)(0x20 | cmd);
	out[13] = fam;
	out[14] = (uint8_t)(blen >> 8);
	out[15] = (uint8_t)blen;
	if (blen)
		memcpy(out + 16, body, blen);
	return 16u + blen;
}

START_TEST(test_v2_tcp4_with_tlv)
{
	/* 198.51.100.9:40000 -> 10.0.0.1:8443, then a TLV (an ALPN of 2 bytes) HAProxy may add. */
	const uint8_t body[] = {198,  51,   100,  9,	10, 0, 0,   1,	0x9c,
				0x40, 0x20, 0xfb, 0x01, 0,  2, 'h', '2'};
	uint8_t buf[64];
	size_t n = v2(buf, 1, 0x11, body, sizeof(body));
	buf[n] = 0x16; /* the TLS ClientHello's first byte follows */
	struct proxy_header h;
	char why[128];
	ck_assert_int_eq(parse(buf, n + 1, &h, why), PROXY_OK);
	ck_assert_uint_eq(h.len, n);
	ck_assert_int_eq(h.version, 2);
	ck_assert_str_eq(src_text(&h), "198.51.100.9:40000");
	assert_prefixes_need(buf, n);
}
END_TEST

START_TEST(test_v2_tcp6_local_unspec)
{
	uint8_t body[36] = {0x20, 0x01, 0x0d, 0xb8};
	body[15] = 7;
	body[32] = 0x01;
	body[33] = 0xbb;
	uint8_t buf[64];
	size_t n = v2(buf, 1, 0x21, body, sizeof(body));
	struct proxy_header h;
	char why[128];
	ck_assert_int_eq(parse(buf, n, &h, why), PROXY_OK);
	ck_assert_str_eq(src_text(&h), "2001:db8::7:443");
	/* LOCAL (the balancer's own connection): the socket's address stays. */
	n = v2(buf, 0, 0x11, body, 12);
	ck_assert_int_eq(parse(buf, n, &h, why), PROXY_OK);
	ck_assert(h.local);
	ck_assert_uint_eq(h.len, 28);
	n = v2(buf, 1, 0x00, NULL, 0);
	ck_assert_int_eq(parse(buf, n, &h, why), PROXY_OK);
	ck_assert(h.local);
}
END_TEST

static void assert_v2_bad(const uint8_t *buf, size_t n, const char *reason, size_t pos)
{
	struct proxy_header h;
	char why[128], want[128];
	ck_assert_int_eq(parse(buf, n, &h, why), PROXY_BAD);
	snprintf(want, sizeof(want), "%s (byte %zu)", reason, pos);
	ck_assert_str_eq(why, want);
}

START_TEST(test_v2_hostile)
{
	uint8_t body[40] = {0};
	uint8_t buf[128];
	size_t n = v2(buf, 1, 0x11, body, 11); /* one byte short of the addresses */
	assert_v2_bad(buf, n, "length too short for TCP over IPv4", 14);
	n = v2(buf, 1, 0x21, body, 35);
	assert_v2_bad(buf, n, "length too short for TCP over IPv6", 14);
	n = v2(buf, 1, 0x12, body, 12); /* UDP */
	assert_v2_bad(buf, n, "family TCP over IPv4 or IPv6 expected", 13);
	n = v2(buf, 1, 0x31, body, 12); /* AF_UNIX */
	assert_v2_bad(buf, n, "family TCP over IPv4 or IPv6 expected", 13);
	n = v2(buf, 2, 0x11, body, 12);
	assert_v2_bad(buf, n, "command LOCAL or PROXY expected", 12);
	n = v2(buf, 1, 0x11, body, 12);
	buf[12] = 0x11; /* version 1 in the binary form */
	assert_v2_bad(buf, n, "version 2 expected", 12);
	/* A length of 65535 is refused at once, not waited for. */
	n = v2(buf, 1, 0x11, body, 12);
	buf[14] = 0xff;
	buf[15] = 0xff;
	assert_v2_bad(buf, 16, "header longer than 1040 bytes", 14);
	/* A signature wrong in its last byte. */
	memcpy(buf, sig, 12);
	buf[11] = 0x0b;
	assert_v2_bad(buf, 12, "not a PROXY protocol header", 11);
}
END_TEST

/* Every byte string of up to 3 bytes and random longer ones: no crash, a sane answer. */
START_TEST(test_fuzz)
{
	uint8_t buf[PROXY_MAX_HEADER + 8];
	struct proxy_header h;
	char why[128];
	unsigned seed = 14;
	for (int round = 0; round < 20000; round++) {
		size_t n = (size_t)rand_r(&seed) % sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)rand_r(&seed);
		if (round % 3 == 0 && n >= 12)
			memcpy(buf, sig, 12); /* a good signature and random rest */
		else if (round % 3 == 1 && n >= 6)
			memcpy(buf, "PROXY ", 6);
		enum proxy_result r = parse(buf, n, &h, why);
		if (r == PROXY_OK)
			ck_assert(h.len <= n && h.len <= PROXY_MAX_HEADER);
		if (r == PROXY_BAD)
			ck_assert(strstr(why, "(byte ") != NULL);
	}
}
END_TEST

START_TEST(test_setting)
{
	char why[128];
	ck_assert(proxy_setting_valid("plain", why, sizeof(why)));
	ck_assert(proxy_setting_valid("plain,tls", why, sizeof(why)));
	ck_assert(proxy_setting_valid(" tls , plain ", why, sizeof(why)));
	ck_assert(!proxy_setting_valid("plain,ssl", why, sizeof(why)));
	ck_assert(!proxy_setting_valid("plaintls", why, sizeof(why)));
	ck_assert(proxy_setting_has("plain,tls", "tls"));
	ck_assert(proxy_setting_has("tls", "tls"));
	ck_assert(!proxy_setting_has("tls", "plain"));
	ck_assert(!proxy_setting_has(NULL, "plain"));
	ck_assert(!proxy_setting_has("", "tls"));
}
END_TEST

/*
 * What HAProxy 2.6 wrote (tests/fixtures/proxy_haproxy.hex): each header
 * read whole with the client's address, the terminal's three bytes left
 * after it, and every shorter prefix asking for more.
 */
START_TEST(test_haproxy_captured)
{
	static const struct {
		const char *tag, *src;
		int version;
		size_t len;
	} want[] = {
		{"haproxy26-v2-tcp4", "127.0.0.1:56906", 2, 28},
		{"haproxy26-v2-tcp6", "::1:45046", 2, 52},
		{"haproxy26-v1-tcp4", "127.0.0.1:41634", 1, 44},
	};
	load_fixture_file("proxy_haproxy.hex");
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct fixture *fx = fixture(want[i].tag);
		struct proxy_header h;
		char why[128];
		ck_assert_msg(parse(fx->data, fx->len, &h, why) == PROXY_OK, "%s: %s", want[i].tag,
			      why);
		ck_assert_int_eq(h.version, want[i].version);
		ck_assert(!h.local);
		ck_assert_uint_eq(h.len, want[i].len);
		ck_assert_uint_eq(fx->len - h.len, 3);
		ck_assert_uint_eq(fx->data[h.len], 0x7e);
		ck_assert_str_eq(src_text(&h), want[i].src);
		assert_prefixes_need(fx->data, h.len);
	}
}
END_TEST

static Suite *proxy_suite(void)
{
	Suite *s = suite_create("proxy");
	TCase *tc = tcase_create("parse");
	tcase_add_test(tc, test_v1_tcp4);
	tcase_add_test(tc, test_v1_tcp6_and_unknown);
	tcase_add_test(tc, test_v1_hostile);
	tcase_add_test(tc, test_v2_tcp4_with_tlv);
	tcase_add_test(tc, test_v2_tcp6_local_unspec);
	tcase_add_test(tc, test_v2_hostile);
	tcase_add_test(tc, test_fuzz);
	tcase_add_test(tc, test_setting);
	tcase_add_test(tc, test_haproxy_captured);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(proxy_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
