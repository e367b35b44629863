/*
 * Tests of common/ring.c: parsing, distance across the wrap, chord targets
 * with carries, and the greedy next hop: on random rings where each node
 * knows its successor and a few chords, every walk reaches its destination
 * without revisiting a node.
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "common/ring.h"

static struct ipop_ring_id id_of(const char *uid)
{
	struct ipop_ring_id r;

	ck_assert_int_eq(ipop_ring_id_parse(uid, &r), 0);
	return r;
}

static struct ipop_ring_id small(uint32_t v)
{
	struct ipop_ring_id r;

	memset(&r, 0, sizeof(r));
	r.b[16] = (uint8_t)(v >> 24);
	r.b[17] = (uint8_t)(v >> 16);
	r.b[18] = (uint8_t)(v >> 8);
	r.b[19] = (uint8_t)v;
	return r;
}

START_TEST(test_parse)
{
	struct ipop_ring_id r =
	    id_of("00ff00000000000000000000000000000000ab01");

	ck_assert_int_eq(r.b[0], 0x00);
	ck_assert_int_eq(r.b[1], 0xff);
	ck_assert_int_eq(r.b[18], 0xab);
	ck_assert_int_eq(r.b[19], 0x01);
	ck_assert_int_eq(ipop_ring_id_parse("00FF", &r), -EINVAL);
	ck_assert_int_eq(ipop_ring_id_parse(NULL, &r), -EINVAL);
	ck_assert_int_eq(
	    ipop_ring_id_parse("00ff00000000000000000000000000000000ab0g", &r),
	    -EINVAL);
}
END_TEST

START_TEST(test_dist_wraps)
{
	struct ipop_ring_id a = small(10), b = small(3), d, top;

	ipop_ring_dist(&b, &a, &d); /* 3 -> 10 */
	ck_assert_int_gt(ipop_ring_cmp(&d, &(struct ipop_ring_id){0}), 0);
	ck_assert_int_eq(d.b[19], 7);
	ipop_ring_dist(&a, &b, &d); /* 10 -> 3 wraps: 2^160 - 7 */
	ck_assert_int_eq(d.b[0], 0xff);
	ck_assert_int_eq(d.b[19], 0xf9);
	memset(&top, 0xff, sizeof(top));
	ipop_ring_dist(&top, &b, &d); /* max -> 3 is 4 */
	ck_assert_int_eq(ipop_ring_cmp(&d, &(struct ipop_ring_id){0}) > 0, 1);
	ck_assert_int_eq(d.b[19], 4);
	ck_assert_int_eq(d.b[0], 0);
}
END_TEST

START_TEST(test_add_pow2)
{
	struct ipop_ring_id a, out;

	memset(&a, 0, sizeof(a));
	a.b[19] = 0xff;
	ipop_ring_add_pow2(&a, 0, &out); /* carries into b[18] */
	ck_assert_int_eq(out.b[19], 0);
	ck_assert_int_eq(out.b[18], 1);
	ipop_ring_add_pow2(&a, 159, &out);
	ck_assert_int_eq(out.b[0], 0x80);
	memset(&a, 0xff, sizeof(a));
	ipop_ring_add_pow2(&a, 0, &out); /* wraps to zero */
	ck_assert_int_eq(ipop_ring_cmp(&out, &(struct ipop_ring_id){0}), 0);
}
END_TEST

START_TEST(test_next_hop_basic)
{
	struct ipop_ring_id self = small(100), hops[3];

	hops[0] = small(150);
	hops[1] = small(300);
	hops[2] = small(50); /* behind us: never nearer to anything ahead */
	ck_assert_int_eq(
	    ipop_ring_next_hop(&self, &(struct ipop_ring_id){0}, hops, 0), -1);
	{
		struct ipop_ring_id d = small(200);

		ck_assert_int_eq(ipop_ring_next_hop(&self, &d, hops, 3), 0);
		d = small(300); /* the destination itself wins */
		ck_assert_int_eq(ipop_ring_next_hop(&self, &d, hops, 3), 1);
		d = small(60); /* wraps round: 50 is nearest before it */
		ck_assert_int_eq(ipop_ring_next_hop(&self, &d, hops, 3), 2);
		d = small(120); /* between us and every hop: no progress */
		ck_assert_int_eq(ipop_ring_next_hop(&self, &d, hops, 3), -1);
	}
}
END_TEST

enum { RING_N = 64, RING_LINKS = 6 };

static int by_id(const void *a, const void *b)
{
	return ipop_ring_cmp(a, b);
}

/* Node i knows i+1 and i + 2^k for k = 1..: every walk ends at its
 * destination, visiting no node twice, in at most log2(N) + 1 hops. */
START_TEST(test_greedy_walks_reach)
{
	struct ipop_ring_id ids[RING_N];
	GRand *r = g_rand_new_with_seed(7 + (guint32)_i);
	int s, t;

	for (s = 0; s < RING_N; s++)
		for (t = 0; t < IPOP_RING_ID_LEN; t++)
			ids[s].b[t] = (uint8_t)g_rand_int(r);
	qsort(ids, RING_N, sizeof(ids[0]), by_id);
	for (s = 0; s < RING_N; s++)
		for (t = 0; t < RING_N; t++) {
			bool seen[RING_N] = {false};
			int at = s, hops_taken = 0;

			while (at != t) {
				struct ipop_ring_id hops[RING_LINKS];
				int k, pick;

				for (k = 0; k < RING_LINKS; k++)
					hops[k] = ids[(at + (1 << k)) % RING_N];
				pick = ipop_ring_next_hop(&ids[at], &ids[t],
							  hops, RING_LINKS);
				ck_assert_int_ge(pick, 0);
				ck_assert(!seen[at]);
				seen[at] = true;
				at = (at + (1 << pick)) % RING_N;
				hops_taken++;
			}
			ck_assert_int_le(hops_taken, 7);
		}
	g_rand_free(r);
}
END_TEST

extern Suite *suite_ring(void);

Suite *suite_ring(void)
{
	Suite *s = suite_create("ring");
	TCase *tc = tcase_create("ring");

	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_dist_wraps);
	tcase_add_test(tc, test_add_pow2);
	tcase_add_test(tc, test_next_hop_basic);
	tcase_add_loop_test(tc, test_greedy_walks_reach, 0, 3);
	suite_add_tcase(s, tc);
	return s;
}
