/*
 * Tests of tincan/route.c and tincan/pmtu.c: the forward header (round
 * trip, every malformed form refused), the next hop (installed route while
 * its link is connected, else greedy, none without progress), counters and
 * the route_traffic rate window, the hold queue of a move onto a direct
 * link, and the ICMP "too big" answers.
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "tincan/bytes.h"
#include "tincan/ether.h"
#include "tincan/pmtu.h"
#include "tincan/route.h"

/* uids with a chosen first byte: their order on the ring (the last 8
 * results stay valid). */
static const char *uid_at(unsigned first)
{
	static char buf[8][IPOP_UID_SIZE];
	static unsigned k;
	char *u = buf[k++ % 8];

	g_snprintf(u, IPOP_UID_SIZE, "%02x%038x", first & 0xff, 7);
	return u;
}

static struct ipop_ring_id id_at(unsigned first)
{
	struct ipop_ring_id id;

	ck_assert_int_eq(ipop_ring_id_parse(uid_at(first), &id), 0);
	return id;
}

START_TEST(test_hdr_round_trip)
{
	struct tc_route_hdr h = {.hops = 32, .src = id_at(1), .dst = id_at(2)};
	struct tc_route_hdr g;
	uint8_t buf[TC_ROUTE_OVERHEAD + 64];

	memset(buf + TC_ROUTE_HDR_LEN, 0, 64);
	ck_assert_int_eq(tc_route_hdr_encode(&h, buf, sizeof(buf)),
			 TC_ROUTE_HDR_LEN);
	ck_assert_int_eq(buf[0], 32);
	ck_assert_int_eq(buf[1], 0);
	ck_assert_int_eq(tc_route_hdr_decode(buf, TC_ROUTE_HDR_LEN + 60, &g),
			 TC_ROUTE_HDR_LEN);
	ck_assert_int_eq(g.hops, 32);
	ck_assert_int_eq(g.cs.start, 0);
	ck_assert_mem_eq(g.src.b, h.src.b, IPOP_RING_ID_LEN);
	ck_assert_mem_eq(g.dst.b, h.dst.b, IPOP_RING_ID_LEN);
	/* A partial checksum travels in 4 more bytes. */
	h.cs.start = 34;
	h.cs.offset = 16;
	ck_assert_int_eq(tc_route_hdr_encode(&h, buf, sizeof(buf)),
			 TC_ROUTE_OVERHEAD);
	ck_assert_int_eq(buf[1], TC_ROUTE_F_PARTIAL);
	ck_assert_int_eq(tc_route_hdr_decode(buf, TC_ROUTE_OVERHEAD + 60, &g),
			 TC_ROUTE_OVERHEAD);
	ck_assert_int_eq(g.cs.start, 34);
	ck_assert_int_eq(g.cs.offset, 16);
	ck_assert_int_eq(tc_route_hdr_encode(&h, buf, TC_ROUTE_HDR_LEN),
			 -ENOSPC);
}
END_TEST

/* untrusted input: every malformed header is refused. */
START_TEST(test_hdr_malformed)
{
	struct tc_route_hdr h = {.hops = 5, .src = id_at(1), .dst = id_at(2)};
	struct tc_route_hdr g;
	uint8_t buf[TC_ROUTE_OVERHEAD + 64] = {0};
	size_t n;

	tc_route_hdr_encode(&h, buf, sizeof(buf));
	for (n = 0; n < TC_ROUTE_HDR_LEN; n++)
		ck_assert_int_eq(tc_route_hdr_decode(buf, n, &g), -EPROTO);
	buf[1] = 0x02; /* unknown flag */
	ck_assert_int_eq(tc_route_hdr_decode(buf, sizeof(buf), &g), -EPROTO);
	buf[1] = 0;
	memcpy(buf + 2 + IPOP_RING_ID_LEN, buf + 2, IPOP_RING_ID_LEN);
	ck_assert_int_eq(tc_route_hdr_decode(buf, sizeof(buf), &g), -EPROTO);
	/* Partial: the 4 bytes missing, or a checksum outside the frame. */
	h.cs.start = 34;
	h.cs.offset = 16;
	tc_route_hdr_encode(&h, buf, sizeof(buf));
	ck_assert_int_eq(tc_route_hdr_decode(buf, TC_ROUTE_HDR_LEN + 2, &g),
			 -EPROTO);
	ck_assert_int_eq(tc_route_hdr_decode(buf, TC_ROUTE_OVERHEAD + 40, &g),
			 -EPROTO);
	ck_assert_int_eq(tc_route_hdr_decode(buf, TC_ROUTE_OVERHEAD + 52, &g),
			 TC_ROUTE_OVERHEAD);
	tc_put16(buf + TC_ROUTE_HDR_LEN, 4); /* start inside Ethernet */
	ck_assert_int_eq(tc_route_hdr_decode(buf, sizeof(buf), &g), -EPROTO);
}
END_TEST

static void neighbours(struct tc_route *r, const unsigned *firsts, size_t n)
{
	const char *u[8];
	size_t i;

	for (i = 0; i < n; i++)
		u[i] = uid_at(firsts[i]);
	tc_route_set_neighbours(r, u, n, n);
}

START_TEST(test_next_hop)
{
	struct tc_route *r = tc_route_new(uid_at(0x10));
	struct tc_route_dest *d = tc_route_dest(r, uid_at(0x80), true);
	bool inst;
	const char *via;

	/* Connected: 0x20 (successor), 0x60 (chord), 0xf0 (predecessor). */
	neighbours(r, (const unsigned[]){0x20, 0x60, 0xf0}, 3);
	via = tc_route_next_hop(r, d, &inst);
	ck_assert_str_eq(via, uid_at(0x60));
	ck_assert(!inst);
	/* An installed route wins while its link is connected. */
	ck_assert_int_eq(tc_route_set(r, uid_at(0x80), uid_at(0xf0)), 0);
	via = tc_route_next_hop(r, d, &inst);
	ck_assert_str_eq(via, uid_at(0xf0));
	ck_assert(inst);
	/* Its link down: greedy again. */
	neighbours(r, (const unsigned[]){0x20, 0x60}, 2);
	via = tc_route_next_hop(r, d, &inst);
	ck_assert_str_eq(via, uid_at(0x60));
	ck_assert(!inst);
	/* The installed route is taken as given (the controller's word),
	 * even where greedy would find no progress... */
	neighbours(r, (const unsigned[]){0x90, 0xf0}, 2);
	ck_assert_str_eq(tc_route_next_hop(r, d, &inst), uid_at(0xf0));
	/* ...without it, no link nearer the destination: nowhere
	 * (dropped_no_route). */
	ck_assert_int_eq(tc_route_unset(r, uid_at(0x80)), 0);
	ck_assert_ptr_null(tc_route_next_hop(r, d, &inst));
	ck_assert_ptr_null(tc_route_next_hop_id(r, &d->id));
	/* The destination itself, when linked, always wins greedily. */
	neighbours(r, (const unsigned[]){0x7f, 0x80}, 2);
	ck_assert_str_eq(tc_route_next_hop_id(r, &d->id), uid_at(0x80));
	tc_route_free(r);
}
END_TEST

/* A stale link (no probe reply lately) is a next hop of last resort. */
START_TEST(test_stale_links)
{
	struct tc_route *r = tc_route_new(uid_at(0x10));
	struct tc_route_dest *d = tc_route_dest(r, uid_at(0x80), true);
	const char *u[3] = {uid_at(0x20), uid_at(0x60), uid_at(0x70)};
	bool inst;

	/* 0x70 is nearest but stale: the fresh 0x60 is taken. */
	tc_route_set_neighbours(r, (const char *const[]){u[1], u[0], u[2]}, 3,
				2);
	ck_assert_str_eq(tc_route_next_hop(r, d, &inst), uid_at(0x60));
	/* An installed route over a stale link yields to a fresh greedy hop. */
	ck_assert_int_eq(tc_route_set(r, uid_at(0x80), uid_at(0x70)), 0);
	ck_assert_str_eq(tc_route_next_hop(r, d, &inst), uid_at(0x60));
	ck_assert(!inst);
	/* No fresh link makes progress: the stale ones are tried. */
	tc_route_set_neighbours(r, (const char *const[]){uid_at(0x90), u[2]}, 2,
				1);
	ck_assert_str_eq(tc_route_next_hop(r, d, &inst), uid_at(0x70));
	ck_assert(inst);
	ck_assert_int_eq(tc_route_unset(r, uid_at(0x80)), 0);
	ck_assert_str_eq(tc_route_next_hop(r, d, &inst), uid_at(0x70));
	ck_assert(!inst);
	/* All stale. */
	tc_route_set_neighbours(
	    r, (const char *const[]){uid_at(0x20), uid_at(0x60), uid_at(0x70)},
	    3, 0);
	ck_assert_str_eq(tc_route_next_hop_id(r, &d->id), uid_at(0x70));
	ck_assert_int_eq(tc_route_unset(r, uid_at(0x80)), -ENOENT);
	tc_route_free(r);
}
END_TEST

START_TEST(test_set_route_refusals)
{
	struct tc_route *r = tc_route_new(uid_at(0x10));

	ck_assert_int_eq(tc_route_set(r, uid_at(0x80), uid_at(0x80)), -EINVAL);
	ck_assert_int_eq(tc_route_set(r, uid_at(0x80), uid_at(0x10)), -EINVAL);
	ck_assert_int_eq(tc_route_set(r, uid_at(0x10), uid_at(0x80)), -EINVAL);
	ck_assert_int_eq(tc_route_set(r, "80", uid_at(0x20)), -EINVAL);
	ck_assert_int_eq(tc_route_set(r, uid_at(0x80), NULL), -EINVAL);
	ck_assert_int_eq(tc_route_unset(r, uid_at(0x80)), -ENOENT);
	ck_assert_ptr_null(tc_route_dest(r, "not a uid", true));
	ck_assert_ptr_null(tc_route_dest(r, uid_at(0x33), false));
	tc_route_free(r);
}
END_TEST

/* A frame passed on loses one hop; TC_ROUTE_HOP_LIMIT links at most. */
START_TEST(test_hop_limit)
{
	struct tc_route_hdr h = {
	    .hops = TC_ROUTE_HOP_LIMIT, .src = id_at(1), .dst = id_at(2)};
	uint8_t buf[TC_ROUTE_HDR_LEN + 14] = {0};
	unsigned links = 1;

	tc_route_hdr_encode(&h, buf, sizeof(buf));
	/* What a member that passes it on does (overlay_route.c). */
	for (;;) {
		ck_assert_int_eq(tc_route_hdr_decode(buf, sizeof(buf), &h),
				 TC_ROUTE_HDR_LEN);
		if (h.hops <= 1)
			break;
		buf[0] = (uint8_t)(h.hops - 1);
		links++;
	}
	ck_assert_uint_eq(links, TC_ROUTE_HOP_LIMIT);
}
END_TEST

START_TEST(test_counters_and_rate)
{
	struct tc_route *r = tc_route_new(uid_at(0x10));
	struct tc_route_dest *d = tc_route_dest(r, uid_at(0x80), true);
	uint64_t rate = 0;
	int i;

	for (i = 0; i < 10; i++)
		tc_route_count_tx(d, 1000, 1000 + (uint64_t)i * 50, 1);
	tc_route_count_rx(d, 500, 1500);
	ck_assert_uint_eq(d->tx_packets, 10);
	ck_assert_uint_eq(d->tx_bytes, 10000);
	ck_assert_uint_eq(d->rx_packets, 1);
	ck_assert_uint_eq(d->rx_bytes, 500);
	/* The window is not a second old yet. */
	ck_assert(!tc_route_rate_due(d, 1900, 5000, &rate));
	/* 10,500 bytes over 1 s: past 5,000 B/s. */
	ck_assert(tc_route_rate_due(d, 2000, 5000, &rate));
	ck_assert_uint_eq(rate, 10500);
	/* Still above, but the last event is under 2 s old. */
	tc_route_count_tx(d, 20000, 2100, 1);
	ck_assert(!tc_route_rate_due(d, 3100, 5000, &rate));
	ck_assert_uint_eq(rate, 20000);
	tc_route_count_tx(d, 20000, 3200, 1);
	ck_assert(tc_route_rate_due(d, 4200, 5000, &rate));
	/* Below the threshold, or the threshold off: no event. */
	tc_route_count_tx(d, 100, 6300, 1);
	ck_assert(!tc_route_rate_due(d, 7300, 5000, &rate));
	tc_route_count_tx(d, 100000, 7400, 1);
	ck_assert(!tc_route_rate_due(d, 8400, 0, &rate));
	tc_route_forget(r, uid_at(0x80));
	ck_assert_ptr_null(tc_route_dest(r, uid_at(0x80), false));
	/* An installed route outlives the mapping; the counters do not. */
	d = tc_route_dest(r, uid_at(0x80), true);
	tc_route_count_tx(d, 100, 9000, 1);
	ck_assert_int_eq(tc_route_set(r, uid_at(0x80), uid_at(0x20)), 0);
	tc_route_forget(r, uid_at(0x80));
	d = tc_route_dest(r, uid_at(0x80), false);
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d->via, uid_at(0x20));
	ck_assert_uint_eq(d->tx_packets, 0);
	tc_route_free(r);
}
END_TEST

struct drained {
	size_t n;
	uint8_t first[8];
	uint16_t starts[8];
};

static void on_drained(void *ctx, const uint8_t *frame, size_t len,
		       const struct tc_csum *cs)
{
	struct drained *d = ctx;

	ck_assert_uint_ge(len, 1);
	if (d->n < 8) {
		d->first[d->n] = frame[0];
		d->starts[d->n] = cs->start;
	}
	d->n++;
}

START_TEST(test_hold_queue)
{
	struct tc_route *r = tc_route_new(uid_at(0x10));
	struct tc_route_dest *d = tc_route_dest(r, uid_at(0x80), true);
	struct tc_csum cs = {34, 16};
	struct drained out = {0};
	uint8_t frame[9000];
	int i, n = 0;

	/* Nothing forwarded: nothing to wait for. */
	ck_assert(!tc_route_must_hold(d, 100));
	/* Forwarded at 1000 over a path of 10 ms: wait until 1010. */
	tc_route_count_tx(d, 100, 1000, 10);
	ck_assert(tc_route_must_hold(d, 1005));
	ck_assert(!tc_route_must_hold(d, 1010));
	/* The hold is kept within its bounds. */
	tc_route_count_tx(d, 100, 2000, 0);
	ck_assert_uint_eq(d->hold_until_ms, 2000 + TC_ROUTE_HOLD_MIN_MS);
	tc_route_count_tx(d, 100, 3000, 100000);
	ck_assert_uint_eq(d->hold_until_ms, 3000 + TC_ROUTE_HOLD_MAX_MS);
	/* Frames wait in order; while any wait, new ones wait too. */
	for (i = 0; i < 3; i++) {
		frame[0] = (uint8_t)i;
		ck_assert_int_eq(
		    tc_route_hold_push(d, frame, 100, i ? &cs : NULL), 0);
	}
	ck_assert(tc_route_must_hold(d, 9999));
	tc_route_hold_drain(d, on_drained, &out);
	ck_assert_uint_eq(out.n, 3);
	ck_assert_int_eq(out.first[0], 0);
	ck_assert_int_eq(out.first[2], 2);
	ck_assert_int_eq(out.starts[0], 0);
	ck_assert_int_eq(out.starts[1], 34);
	ck_assert(!tc_route_must_hold(d, 3001));
	/* Bounded: frames or bytes. */
	memset(frame, 0, sizeof(frame));
	while (tc_route_hold_push(d, frame, sizeof(frame), NULL) == 0)
		n++;
	ck_assert_int_eq(n, TC_ROUTE_HOLD_BYTES / (int)sizeof(frame));
	tc_route_hold_drain(d, on_drained, &out);
	for (n = 0; tc_route_hold_push(d, frame, 10, NULL) == 0; n++)
		;
	ck_assert_int_eq(n, TC_ROUTE_HOLD_FRAMES);
	/* Freeing with frames held frees them (LeakSanitizer). */
	tc_route_free(r);
}
END_TEST

/* An IPv4 TCP frame of len bytes with DF set. */
static size_t v4_frame(uint8_t *f, size_t len)
{
	memset(f, 0, len);
	memset(f, 0x02, 6);
	memset(f + 6, 0x04, 6);
	tc_put16(f + 12, TC_ETHERTYPE_IPV4);
	f[14] = 0x45;
	tc_put16(f + 16, (uint16_t)(len - 14));
	tc_put16(f + 20, 0x4000);
	f[22] = 64;
	f[23] = 6;
	memcpy(f + 26, (const uint8_t[]){10, 0, 0, 1}, 4);
	memcpy(f + 30, (const uint8_t[]){10, 0, 0, 2}, 4);
	tc_put16(f + 24, tc_csum_fold(tc_csum_add(0, f + 14, 20)));
	return len;
}

START_TEST(test_pmtu_v4)
{
	uint8_t f[1514], out[1400];
	size_t len = v4_frame(f, sizeof(f));
	int n = tc_pmtu_too_big(f, len, 1354, out, sizeof(out));

	ck_assert_int_eq(n, 14 + 20 + 8 + 28);
	ck_assert_mem_eq(out, f + 6, 6); /* back to the sender */
	ck_assert_int_eq(out[14 + 9], 1);
	ck_assert_mem_eq(out + 14 + 12, f + 30, 4); /* from the destination */
	ck_assert_mem_eq(out + 14 + 16, f + 26, 4);
	ck_assert_int_eq(tc_csum_fold(tc_csum_add(0, out + 14, 20)), 0);
	ck_assert_int_eq(out[34], 3);
	ck_assert_int_eq(out[35], 4);
	ck_assert_int_eq(tc_get16(out + 34 + 6), 1354);
	ck_assert_int_eq(tc_csum_fold(tc_csum_add(0, out + 34, 8 + 28)), 0);
	ck_assert_mem_eq(out + 42, f + 14, 28);
	/* It fits: no answer; too small a buffer; malformed; ICMP errors. */
	ck_assert_int_eq(tc_pmtu_too_big(f, 1368, 1354, out, sizeof(out)), 0);
	ck_assert_int_eq(tc_pmtu_too_big(f, len, 1354, out, 40), -ENOSPC);
	ck_assert_int_eq(tc_pmtu_too_big(f, 20, 1354, out, sizeof(out)),
			 -EINVAL);
	ck_assert_int_eq(tc_pmtu_too_big(f, 10, 1354, out, sizeof(out)),
			 -EINVAL);
	f[23] = 1;
	f[34] = 3;
	ck_assert_int_eq(tc_pmtu_too_big(f, len, 1354, out, sizeof(out)), 0);
	f[14] = 0x4f; /* header longer than the packet allows */
	ck_assert_int_eq(tc_pmtu_too_big(f, 40, 10, out, sizeof(out)), -EINVAL);
}
END_TEST

START_TEST(test_pmtu_v6)
{
	uint8_t f[1514] = {0}, out[1400];
	uint8_t pseudo[40] = {0};
	uint32_t sum;
	int n;

	tc_put16(f + 12, TC_ETHERTYPE_IPV6);
	f[14] = 0x60;
	tc_put16(f + 18, 1500 - 40);
	f[20] = 6;
	f[21] = 64;
	f[22 + 15] = 1;
	f[38 + 15] = 2;
	n = tc_pmtu_too_big(f, sizeof(f), 1354, out, sizeof(out));
	ck_assert_int_eq(n, 14 + 1280);
	ck_assert_int_eq(out[14 + 6], 58);
	ck_assert_int_eq(out[14 + 8 + 15], 2); /* from the destination */
	ck_assert_int_eq(out[54], 2);
	ck_assert_uint_eq(tc_get32(out + 58), 1354);
	memcpy(pseudo, out + 22, 32);
	tc_put32(pseudo + 32, 1280 - 40);
	pseudo[39] = 58;
	sum = tc_csum_add(0, pseudo, sizeof(pseudo));
	sum = tc_csum_add(sum, out + 54, 1280 - 40);
	ck_assert_int_eq(tc_csum_fold(sum), 0);
	ck_assert_int_eq(tc_pmtu_too_big(f, 1368, 1354, out, sizeof(out)), 0);
	f[20] = 58;
	f[54] = 1; /* an ICMPv6 error is not answered */
	ck_assert_int_eq(tc_pmtu_too_big(f, sizeof(f), 1354, out, sizeof(out)),
			 0);
	tc_put16(f + 12, TC_ETHERTYPE_ARP);
	ck_assert_int_eq(tc_pmtu_too_big(f, sizeof(f), 1354, out, sizeof(out)),
			 0);
}
END_TEST

extern Suite *suite_route(void);

Suite *suite_route(void)
{
	Suite *s = suite_create("route");
	TCase *tc = tcase_create("route");

	tcase_add_test(tc, test_hdr_round_trip);
	tcase_add_test(tc, test_hdr_malformed);
	tcase_add_test(tc, test_next_hop);
	tcase_add_test(tc, test_stale_links);
	tcase_add_test(tc, test_set_route_refusals);
	tcase_add_test(tc, test_hop_limit);
	tcase_add_test(tc, test_counters_and_rate);
	tcase_add_test(tc, test_hold_queue);
	tcase_add_test(tc, test_pmtu_v4);
	tcase_add_test(tc, test_pmtu_v6);
	suite_add_tcase(s, tc);
	return s;
}
