/*
 * Tests of tincan/offload.c's joiner (GRO), on the segments of the GSO
 * frames of offload_frames.h (round trip) and on hand-made sequences:
 * flows interleaved, out of order, retransmitted, ended by PSH or a short
 * segment, evicted, over the size limit; and on frames it must not join.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "offload_frames.h"

static struct frame big, tmp; /* too big for a check stack frame */

static struct tc_gro *gro;

static void gro_setup(void)
{
	of_out_reset();
	gro = tc_gro_new(of_on_gro, &of_out);
}

static void gro_teardown(void)
{
	tc_gro_free(gro);
	gro = NULL;
	of_out_reset();
}

static void feed(const struct frame *f)
{
	struct tc_csum cs = of_tcp_cs(f);

	tc_gro_frame(gro, f->b, f->len, &cs);
}

static void feed_seg(bool v6, uint16_t sport, uint32_t seq, size_t payload,
		     uint8_t flags)
{
	of_seg(&tmp, v6, sport, seq, payload, flags);
	feed(&tmp);
}

/* Output r is flow sport's bytes [seq, seq + payload) in nseg segments of
 * mss, with every header right. */
static void check_joined(const struct rec *r, bool v6, uint16_t sport,
			 uint32_t seq, size_t payload, size_t nseg, size_t mss)
{
	size_t l4 = L2_HLEN + (v6 ? IP6_HLEN : 20), hlen = l4 + 20, i;
	const uint8_t *th = r->b + l4;
	struct tc_csum cs = {(uint16_t)l4, TCP_CSUM};

	ck_assert_uint_eq(r->len, hlen + payload);
	ck_assert_uint_eq(of_r16(th), sport);
	ck_assert_uint_eq(of_r32(th + TCP_SEQ), seq);
	for (i = 0; i < payload; i++)
		ck_assert_uint_eq(r->b[hlen + i], of_pat(seq + (uint32_t)i));
	ck_assert_uint_eq(r->h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	ck_assert_uint_eq(r->h.csum_start, l4);
	ck_assert_uint_eq(r->h.csum_offset, TCP_CSUM);
	if (v6)
		ck_assert_uint_eq(of_r16(r->b + L2_HLEN + IP6_PLEN),
				  r->len - l4);
	else {
		ck_assert_uint_eq(of_r16(r->b + L2_HLEN + IP_TOT),
				  r->len - L2_HLEN);
		ck_assert_uint_eq(
		    of_fold16(of_add_bytes(0, r->b + L2_HLEN, 20)), 0xffff);
	}
	ck_assert(of_partial_ok(r->b, r->len, &cs, L2_HLEN, v6, P_TCP));
	if (nseg == 1) {
		ck_assert_uint_eq(r->h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
		ck_assert_uint_eq(r->h.gso_size, 0);
		return;
	}
	ck_assert_uint_eq(r->h.gso_type, v6 ? VIRTIO_NET_HDR_GSO_TCPV6
					    : VIRTIO_NET_HDR_GSO_TCPV4);
	ck_assert_uint_eq(r->h.gso_size, mss);
	ck_assert_uint_eq(r->h.hdr_len, hlen);
	ck_assert_uint_eq((payload + mss - 1) / mss, nseg);
}

/* 4. Round trip: the segments of every untagged case without FIN or CWR,
 * joined again, give back the original frame byte for byte (its IPv4 id
 * is the first segment's, which is the original's; the IPv4 header
 * checksum is recomputed and the TCP field is again the pseudo-header sum
 * for the whole length, both as the original had them). */
START_TEST(test_round_trip)
{
	const struct gso_case *c = &of_gso_cases[_i];
	struct out segs;
	struct virtio_net_hdr h;
	uint64_t joined, nsegs;
	size_t i, n;

	if (c->sp.vlan || (c->sp.flags & (F_FIN | F_CWR)) || c->sp.ipopt != 0 ||
	    c->sp.ext || c->sp.payload == 0)
		return;
	of_build(&c->sp, &big);
	h = of_tso_hdr(&big, c->mss);
	of_out_reset();
	n = (size_t)tc_gso_segment(&h, big.b, big.len, 65535, of_on_segment,
				   &of_out);
	segs = of_out;
	of_out.n = 0;
	for (i = 0; i < n; i++)
		tc_gro_frame(gro, segs.r[i].b, segs.r[i].len, &segs.r[i].cs);
	tc_gro_flush(gro);
	if (big.len > TC_GRO_MAX) {
		ck_assert_uint_eq(of_out.n, 2);
		ck_assert_uint_le(of_out.r[0].len, TC_GRO_MAX);
		ck_assert_uint_gt(of_out.r[0].len + c->mss, TC_GRO_MAX);
		ck_assert_uint_eq(of_out.r[0].len + of_out.r[1].len - big.hlen,
				  big.len);
	} else {
		ck_assert_uint_eq(of_out.n, 1);
		ck_assert_uint_eq(of_out.r[0].len, big.len);
		ck_assert_mem_eq(of_out.r[0].b, big.b, big.len);
		ck_assert_uint_eq(of_out.r[0].h.gso_type,
				  n > 1 ? h.gso_type : VIRTIO_NET_HDR_GSO_NONE);
		if (n > 1) {
			ck_assert_uint_eq(of_out.r[0].h.gso_size, c->mss);
			ck_assert_uint_eq(of_out.r[0].h.hdr_len, big.hlen);
		}
	}
	tc_gro_counts(gro, &joined, &nsegs);
	ck_assert_uint_eq(joined, n > 1 ? of_out.n : 0);
	ck_assert_uint_eq(nsegs, n > 1 ? n : 0);
	for (i = 0; i < n; i++)
		free(segs.r[i].b);
}
END_TEST

START_TEST(test_join_basic)
{
	size_t i;

	for (i = 0; i < 5; i++)
		feed_seg(_i, 1, 100 + (uint32_t)(i * 1000), 1000, F_ACK);
	ck_assert_uint_eq(of_out.n, 0);
	tc_gro_flush(gro);
	ck_assert_uint_eq(of_out.n, 1);
	check_joined(&of_out.r[0], _i, 1, 100, 5000, 5, 1000);
	tc_gro_flush(gro);
	ck_assert_uint_eq(of_out.n, 1);
}
END_TEST

START_TEST(test_interleaved)
{
	size_t i;

	for (i = 0; i < 3; i++) {
		feed_seg(false, 1, 100 + (uint32_t)(i * 500), 500, F_ACK);
		feed_seg(false, 2, 900 + (uint32_t)(i * 700), 700, F_ACK);
	}
	feed_seg(true, 1, 100, 500, F_ACK); /* same ports, other version */
	ck_assert_uint_eq(of_out.n, 0);
	tc_gro_flush(gro);
	ck_assert_uint_eq(of_out.n, 3);
	check_joined(&of_out.r[0], false, 1, 100, 1500, 3, 500);
	check_joined(&of_out.r[1], false, 2, 900, 2100, 3, 700);
	check_joined(&of_out.r[2], true, 1, 100, 500, 1, 500);
}
END_TEST

START_TEST(test_out_of_order)
{
	feed_seg(false, 1, 0, 100, F_ACK);
	feed_seg(false, 1, 200, 100, F_ACK);
	feed_seg(false, 1, 100, 100, F_ACK);
	tc_gro_flush(gro);
	ck_assert_uint_eq(of_out.n, 3);
	check_joined(&of_out.r[0], false, 1, 0, 100, 1, 100);
	check_joined(&of_out.r[1], false, 1, 200, 100, 1, 100);
	check_joined(&of_out.r[2], false, 1, 100, 100, 1, 100);
}
END_TEST

START_TEST(test_retransmit)
{
	feed_seg(false, 1, 0, 100, F_ACK);
	feed_seg(false, 1, 100, 100, F_ACK);
	feed_seg(false, 1, 100, 100, F_ACK);
	feed_seg(false, 1, 200, 100, F_ACK);
	tc_gro_flush(gro);
	ck_assert_uint_eq(of_out.n, 2);
	check_joined(&of_out.r[0], false, 1, 0, 200, 2, 100);
	check_joined(&of_out.r[1], false, 1, 100, 200, 2, 100);
}
END_TEST

/* A pure ACK of the flow, then an UDP datagram: each leaves after what
 * was pending before it. */
START_TEST(test_order_kept)
{
	struct spec sp = {.payload = 0, .flags = F_ACK, .seq = 300};
	struct tc_csum cs;

	feed_seg(false, 2, 0, 100, F_ACK);
	feed_seg(false, 1, 0, 100, F_ACK);
	feed_seg(false, 1, 100, 100, F_ACK);
	of_build(&sp, &tmp); /* sport 40000 */
	feed(&tmp);
	ck_assert_uint_eq(of_out.n, 3);
	check_joined(&of_out.r[0], false, 2, 0, 100, 1, 100);
	check_joined(&of_out.r[1], false, 1, 0, 200, 2, 100);
	ck_assert_uint_eq(of_out.r[2].len, tmp.len);
	ck_assert_uint_eq(of_out.r[2].h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	feed_seg(false, 1, 200, 100, F_ACK);
	sp.proto = P_UDP;
	sp.payload = 30;
	of_build(&sp, &tmp);
	cs.start = (uint16_t)tmp.l4;
	cs.offset = UDP_CSUM;
	tc_gro_frame(gro, tmp.b, tmp.len, &cs);
	ck_assert_uint_eq(of_out.n, 5);
	check_joined(&of_out.r[3], false, 1, 200, 100, 1, 100);
	ck_assert_mem_eq(of_out.r[4].b, tmp.b, tmp.len);
	ck_assert_uint_eq(of_out.r[4].h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	ck_assert_uint_eq(of_out.r[4].h.csum_start, tmp.l4);
	ck_assert_uint_eq(of_out.r[4].h.csum_offset, UDP_CSUM);
	ck_assert_uint_eq(of_out.r[4].h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	ck_assert_uint_eq(of_out.r[4].h.gso_size, 0);
	ck_assert_uint_eq(of_out.r[4].h.hdr_len, 0);
	tc_gro_flush(gro);
	ck_assert_uint_eq(of_out.n, 5);
}
END_TEST

START_TEST(test_psh_ends)
{
	feed_seg(false, 1, 0, 100, F_ACK);
	feed_seg(false, 1, 100, 100, F_ACK | F_PSH);
	ck_assert_uint_eq(of_out.n, 1);
	check_joined(&of_out.r[0], false, 1, 0, 200, 2, 100);
	ck_assert_uint_eq(of_out.r[0].b[L2_HLEN + 20 + TCP_FLAGS],
			  F_ACK | F_PSH);
	feed_seg(false, 1, 200, 100, F_ACK | F_PSH); /* alone: at once */
	ck_assert_uint_eq(of_out.n, 2);
	check_joined(&of_out.r[1], false, 1, 200, 100, 1, 100);
	feed_seg(false, 1, 300, 100, F_ACK);
	tc_gro_flush(gro);
	ck_assert_uint_eq(of_out.n, 3);
	check_joined(&of_out.r[2], false, 1, 300, 100, 1, 100);
}
END_TEST

START_TEST(test_short_ends)
{
	feed_seg(true, 1, 0, 100, F_ACK);
	feed_seg(true, 1, 100, 100, F_ACK);
	feed_seg(true, 1, 200, 40, F_ACK);
	ck_assert_uint_eq(of_out.n, 1);
	check_joined(&of_out.r[0], true, 1, 0, 240, 3, 100);
	feed_seg(true, 1, 240, 100, F_ACK);
	feed_seg(true, 1, 340, 101, F_ACK); /* bigger than the first */
	tc_gro_flush(gro);
	ck_assert_uint_eq(of_out.n, 3);
	check_joined(&of_out.r[1], true, 1, 240, 100, 1, 100);
	check_joined(&of_out.r[2], true, 1, 340, 101, 1, 101);
}
END_TEST

START_TEST(test_evict_oldest)
{
	size_t i;

	for (i = 0; i <= TC_GRO_FLOWS; i++)
		feed_seg(false, (uint16_t)(10 + i), 0, 100, F_ACK);
	ck_assert_uint_eq(of_out.n, 1);
	check_joined(&of_out.r[0], false, 10, 0, 100, 1, 100);
	feed_seg(false, 11, 100, 100, F_ACK);
	tc_gro_flush(gro);
	ck_assert_uint_eq(of_out.n, 1 + TC_GRO_FLOWS);
	check_joined(&of_out.r[1], false, 11, 0, 200, 2, 100);
	for (i = 2; i <= TC_GRO_FLOWS; i++)
		check_joined(&of_out.r[i], false, (uint16_t)(10 + i), 0, 100, 1,
			     100);
}
END_TEST

START_TEST(test_max)
{
	size_t i, per = (TC_GRO_MAX - 54) / 1448;

	for (i = 0; i < 50; i++)
		feed_seg(false, 1, (uint32_t)(i * 1448), 1448, F_ACK);
	ck_assert_uint_eq(of_out.n, 1);
	check_joined(&of_out.r[0], false, 1, 0, per * 1448, per, 1448);
	tc_gro_flush(gro);
	ck_assert_uint_eq(of_out.n, 2);
	check_joined(&of_out.r[1], false, 1, (uint32_t)(per * 1448),
		     (50 - per) * 1448, 50 - per, 1448);
}
END_TEST

/* Frames that must pass one by one, each unchanged. */
enum nojoin {
	NJ_COMPLETE,
	NJ_IPOPT,
	NJ_VLAN,
	NJ_V6_EXT,
	NJ_SYN,
	NJ_FIN,
	NJ_CWR,
	NJ_CS_ELSEWHERE,
	NJ_PADDED,
	N_NOJOIN
};

static void nojoin_frame(enum nojoin k, uint32_t seq, struct frame *f,
			 struct tc_csum *cs)
{
	struct spec sp = {.payload = 100, .flags = F_ACK, .seq = seq};

	sp.ipopt = k == NJ_IPOPT ? 4 : 0;
	sp.vlan = k == NJ_VLAN;
	sp.v6 = sp.ext = k == NJ_V6_EXT;
	if (k == NJ_SYN)
		sp.flags |= F_SYN;
	if (k == NJ_FIN)
		sp.flags |= F_FIN;
	if (k == NJ_CWR)
		sp.flags |= F_CWR;
	of_build(&sp, f);
	*cs = of_tcp_cs(f);
	if (k == NJ_COMPLETE)
		cs->start = cs->offset = 0;
	if (k == NJ_CS_ELSEWHERE)
		cs->offset = 6;
	if (k == NJ_PADDED)
		f->len += 2;
}

START_TEST(test_not_joined)
{
	struct frame *f = malloc(sizeof(*f) * 3);
	struct tc_csum cs[3];
	size_t i;

	for (i = 0; i < 3; i++) {
		nojoin_frame(_i, (uint32_t)(i * 100), &f[i], &cs[i]);
		tc_gro_frame(gro, f[i].b, f[i].len, &cs[i]);
		ck_assert_uint_eq(of_out.n, i + 1);
		ck_assert_uint_eq(of_out.r[i].len, f[i].len);
		ck_assert_mem_eq(of_out.r[i].b, f[i].b, f[i].len);
		ck_assert_uint_eq(of_out.r[i].h.gso_type,
				  VIRTIO_NET_HDR_GSO_NONE);
		ck_assert_uint_eq(
		    of_out.r[i].h.flags,
		    _i == NJ_COMPLETE ? 0 : VIRTIO_NET_HDR_F_NEEDS_CSUM);
		ck_assert_uint_eq(of_out.r[i].h.csum_start, cs[i].start);
		ck_assert_uint_eq(of_out.r[i].h.csum_offset, cs[i].offset);
	}
	free(f);
}
END_TEST

/* Header differences that keep segments apart (Ethernet destination,
 * IPv4 TOS, DF and TTL, IPv6 traffic class, flow label and hop limit, the
 * ACK number), and the window, which does not: the joined frame carries
 * the latest one. */
static const size_t diff_at[2][4] = {
    {0, L2_HLEN + 1, L2_HLEN + IP_FRAG, L2_HLEN + 8},
    {L2_HLEN + 1, L2_HLEN + 3, L2_HLEN + 7, L2_HLEN + 40 + TCP_ACK + 3},
};

START_TEST(test_header_differences)
{
	struct frame *a = malloc(sizeof(*a));
	size_t l4 = L2_HLEN + (_i ? IP6_HLEN : 20), i;

	for (i = 0; i < 4; i++) {
		of_seg(a, _i, 1, 0, 100, F_ACK);
		feed(a);
		of_seg(a, _i, 1, 100, 100, F_ACK);
		a->b[diff_at[_i][i]] ^= 0x40;
		feed(a);
	}
	tc_gro_flush(gro);
	ck_assert_uint_eq(of_out.n, 8);
	of_out_reset();
	of_seg(a, _i, 1, 0, 100, F_ACK);
	feed(a);
	of_seg(a, _i, 1, 100, 100, F_ACK);
	of_w16(a->b + l4 + TCP_WIN, 999);
	feed(a);
	tc_gro_flush(gro);
	ck_assert_uint_eq(of_out.n, 1);
	check_joined(&of_out.r[0], _i, 1, 0, 200, 2, 100);
	ck_assert_uint_eq(of_r16(of_out.r[0].b + l4 + TCP_WIN), 999);
	free(a);
}
END_TEST

/* Timestamps that differ keep segments apart; equal options join. */
START_TEST(test_options)
{
	struct spec sp = {.tcpopt = 12, .payload = 100, .flags = F_ACK};
	uint64_t joined, segs;

	of_build(&sp, &tmp);
	feed(&tmp);
	sp.seq = 100;
	of_build(&sp, &tmp);
	feed(&tmp);
	sp.seq = 200;
	of_build(&sp, &tmp);
	of_w32(tmp.b + tmp.l4 + 24, 0x11223345);
	feed(&tmp);
	tc_gro_flush(gro);
	ck_assert_uint_eq(of_out.n, 2);
	ck_assert_uint_eq(of_out.r[0].len, tmp.hlen + 200);
	ck_assert_uint_eq(of_out.r[0].h.hdr_len, tmp.hlen);
	ck_assert_uint_eq(of_out.r[1].len, tmp.len);
	tc_gro_counts(gro, &joined, &segs);
	ck_assert_uint_eq(joined, 1);
	ck_assert_uint_eq(segs, 2);
}
END_TEST

START_TEST(test_counts)
{
	uint64_t joined, segs;
	size_t i;

	tc_gro_counts(gro, &joined, &segs);
	ck_assert_uint_eq(joined + segs, 0);
	for (i = 0; i < 4; i++)
		feed_seg(false, 1, (uint32_t)(i * 10), 10, F_ACK);
	for (i = 0; i < 3; i++)
		feed_seg(true, 2, (uint32_t)(i * 10), 10, F_ACK);
	feed_seg(true, 3, 0, 10, F_ACK);
	tc_gro_flush(gro);
	tc_gro_counts(gro, &joined, &segs);
	ck_assert_uint_eq(joined, 2);
	ck_assert_uint_eq(segs, 7);
}
END_TEST

Suite *suite_gro(void)
{
	Suite *s = suite_create("gro");
	TCase *tc = tcase_create("join");

	tcase_add_checked_fixture(tc, gro_setup, gro_teardown);
	tcase_add_loop_test(tc, test_round_trip, 0, (int)of_n_gso);
	tcase_add_loop_test(tc, test_join_basic, 0, 2);
	tcase_add_test(tc, test_interleaved);
	tcase_add_test(tc, test_out_of_order);
	tcase_add_test(tc, test_retransmit);
	tcase_add_test(tc, test_order_kept);
	tcase_add_test(tc, test_psh_ends);
	tcase_add_test(tc, test_short_ends);
	tcase_add_test(tc, test_evict_oldest);
	tcase_add_test(tc, test_max);
	tcase_add_loop_test(tc, test_not_joined, 0, N_NOJOIN);
	tcase_add_loop_test(tc, test_header_differences, 0, 2);
	tcase_add_test(tc, test_options);
	tcase_add_test(tc, test_counts);
	suite_add_tcase(s, tc);
	return s;
}
