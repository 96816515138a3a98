/*
 * check_merkle.c - merkle.c against RFC 9162 computed here another way:
 * the roots of small trees written out node by node, every audit path of
 * trees of 1 to 40 leaves checked with the RFC's verification algorithm
 * (section 2.1.3.2, written here, not merkle.c's), a link, the framing of
 * the leaves' data.
 */
#include "hoursd.h"
#include "merkle.h"

#include <check.h>
#include <openssl/sha.h>

static void h(const void *a, size_t an, const void *b, size_t bn, const void *c, size_t cn,
	      uint8_t out[32])
{
	uint8_t buf[256];
	ck_assert_uint_le(an + bn + cn, sizeof(buf));
	memcpy(buf, a, an);
	if (bn)
		memcpy(buf + an, b, bn);
	if (cn)
		memcpy(buf + an + bn, c, cn);
	SHA256(buf, an + bn + cn, out);
}

static void leaf(int i, uint8_t out[32])
{
	uint8_t d[2] = {0x00, (uint8_t)i};
	h(d, 2, NULL, 0, NULL, 0, out);
}

static void node(const uint8_t l[32], const uint8_t r[32], uint8_t out[32])
{
	static const uint8_t one = 0x01;
	h(&one, 1, l, 32, r, 32, out);
}

START_TEST(roots_by_hand)
{
	uint8_t lv[5][32], buf[5 * 32], root[32], want[32], ab[32], cd[32], abcd[32];
	for (int i = 0; i < 5; i++) {
		leaf(i, lv[i]);
		memcpy(buf + 32 * i, lv[i], 32);
	}
	ck_assert(!merkle_root(buf, 0, root));
	ck_assert(merkle_root(buf, 1, root));
	ck_assert_mem_eq(root, lv[0], 32);
	ck_assert(merkle_root(buf, 3, root)); /* ((a b) c) */
	node(lv[0], lv[1], ab);
	node(ab, lv[2], want);
	ck_assert_mem_eq(root, want, 32);
	ck_assert(merkle_root(buf, 5, root)); /* (((a b) (c d)) e) */
	node(lv[2], lv[3], cd);
	node(ab, cd, abcd);
	node(abcd, lv[4], want);
	ck_assert_mem_eq(root, want, 32);
}
END_TEST

/* RFC 9162 2.1.3.2: verify an inclusion proof of leaf index of size. */
static bool rfc_verify(size_t index, size_t size, const uint8_t lh[32], uint8_t path[][32],
		       size_t len, const uint8_t root[32])
{
	if (index >= size)
		return false;
	size_t fn = index, sn = size - 1;
	uint8_t r[32];
	memcpy(r, lh, 32);
	for (size_t i = 0; i < len; i++) {
		if (sn == 0)
			return false;
		if ((fn & 1) || fn == sn) {
			node(path[i], r, r);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			node(r, path[i], r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && memcmp(r, root, 32) == 0;
}

START_TEST(every_path_verifies)
{
	uint8_t buf[40 * 32], root[32], path[64][32];
	for (int i = 0; i < 40; i++)
		leaf(i, buf + 32 * i);
	for (size_t n = 1; n <= 40; n++) {
		ck_assert(merkle_root(buf, n, root));
		for (size_t i = 0; i < n; i++) {
			size_t len = 0;
			ck_assert(merkle_path(buf, n, i, path, &len));
			ck_assert_msg(rfc_verify(i, n, buf + 32 * i, path, len, root),
				      "leaf %zu of %zu", i, n);
			/* another leaf does not verify on that path */
			ck_assert(n == 1 ||
				  !rfc_verify(i, n, buf + 32 * ((i + 1) % n), path, len, root));
		}
		size_t len;
		ck_assert(!merkle_path(buf, n, n, path, &len));
	}
}
END_TEST

START_TEST(link_and_framing)
{
	uint8_t prev[32] = {1}, root[32] = {2}, out[32], want[32], be[16] = {0};
	ck_assert(merkle_link(prev, 258, 3, root, out));
	be[6] = 1;
	be[7] = 2;
	be[15] = 3;
	h(prev, 32, be, 16, root, 32, want);
	ck_assert_mem_eq(out, want, 32);
	/* two leaves' data, framed: "ab" and "" */
	static const uint8_t data[] = {0, 0, 0, 2, 'a', 'b', 0, 0, 0, 0};
	size_t n = 0;
	uint8_t *lv = merkle_leaves(data, sizeof(data), &n);
	ck_assert_ptr_nonnull(lv);
	ck_assert_uint_eq(n, 2);
	static const uint8_t ab[] = {0, 'a', 'b'}, none[] = {0};
	h(ab, 3, NULL, 0, NULL, 0, want);
	ck_assert_mem_eq(lv, want, 32);
	h(none, 1, NULL, 0, NULL, 0, want);
	ck_assert_mem_eq(lv + 32, want, 32);
	free(lv);
	/* a length past the end, a cut length: refused */
	static const uint8_t bad1[] = {0, 0, 0, 3, 'a', 'b'}, bad2[] = {0, 0, 0};
	ck_assert_ptr_null(merkle_leaves(bad1, sizeof(bad1), &n));
	ck_assert_ptr_null(merkle_leaves(bad2, sizeof(bad2), &n));
	/* a stored leaf hash (length 0x80000020) taken as it is; any other length with the
	 * top bit refused */
	uint8_t stored[4 + 32 + 4] = {0x80, 0, 0, 0x20, 7, 7, 7};
	lv = merkle_leaves(stored, sizeof(stored), &n);
	ck_assert_ptr_nonnull(lv);
	ck_assert_uint_eq(n, 2);
	ck_assert_mem_eq(lv, stored + 4, 32);
	h(none, 1, NULL, 0, NULL, 0, want);
	ck_assert_mem_eq(lv + 32, want, 32);
	free(lv);
	static const uint8_t bad3[] = {0x80, 0, 0, 2, 'a', 'b'};
	ck_assert_ptr_null(merkle_leaves(bad3, sizeof(bad3), &n));
	uint8_t x[2];
	ck_assert(merkle_unhex("aB", x, 1) && x[0] == 0xab);
	ck_assert(!merkle_unhex("ag", x, 1));
	ck_assert(!merkle_unhex("abc", x, 1));
}
END_TEST

/*
 * A training record's leaf against the hashes PostgreSQL computed, with
 * migration 015's leaf_expr, for two rows of these values (docs/audit.md,
 * "A training record's leaf"): every field, NULLs, UTF-8, a negative
 * longitude, microseconds.
 */
START_TEST(record_leaf_as_sql)
{
	struct merkle_record r = {.terminal_id = 1,
				  .record_no = "0000000000000123456",
				  .record_time = 1765000000,
				  .student_no = "S000000000000082",
				  .coach_no = "C000000000000001",
				  .class_id = 42,
				  .course_code = "1213010000",
				  .part = 2,
				  .mode = 1,
				  .vehicle_class = "C1",
				  .upload_type = 1,
				  .record_status = 0,
				  .max_speed_dkmh = 300,
				  .mileage_dkm = 12,
				  .lat_e6 = 31230000,
				  .lon_e6 = -121470000,
				  .fix_valid = true,
				  .has_gnss_time = true,
				  .gnss_time = 1765000001,
				  .verdict = "rejected",
				  .reason = "a reason, \xe4\xb8\xad\xe6\x96\x87",
				  .received_us = 1765000002123456};
	static const uint8_t raw1[] = {1, 2}, raw2[] = {3};
	SHA256(raw1, sizeof(raw1), r.raw_sha256);
	uint8_t out[32], want[32];
	ck_assert(merkle_record_leaf(&r, out));
	ck_assert(merkle_unhex("39d7bfd73d6a832613d107c390ef17a69408358ae651aae4e76c1afb5669e2cf",
			       want, 32));
	ck_assert_mem_eq(out, want, 32);
	r = (struct merkle_record){.terminal_id = 1,
				   .record_no = "R2",
				   .record_time = 1765000000,
				   .student_no = "S1",
				   .coach_no = "C1",
				   .class_id = 7,
				   .course_code = "1212010000",
				   .part = 1,
				   .mode = 2,
				   .vehicle_class = "C2",
				   .upload_type = 2,
				   .record_status = 1,
				   .has_session_login = true,
				   .session_login = 1764990000,
				   .verdict = "accepted",
				   .received_us = 1765000003000001};
	SHA256(raw2, sizeof(raw2), r.raw_sha256);
	ck_assert(merkle_record_leaf(&r, out));
	ck_assert(merkle_unhex("1d5e2bc94afc79d15b81cd98bb89a9acb7ba457c4e2a9b57fa19589793aa705c",
			       want, 32));
	ck_assert_mem_eq(out, want, 32);
	/* one field changed: another leaf */
	r.mileage_dkm = 1;
	ck_assert(merkle_record_leaf(&r, out));
	ck_assert_mem_ne(out, want, 32);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("merkle");
	TCase *tc = tcase_create("rfc9162");
	tcase_add_test(tc, roots_by_hand);
	tcase_add_test(tc, every_path_verifies);
	tcase_add_test(tc, link_and_framing);
	tcase_add_test(tc, record_leaf_as_sql);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
