/*
 * Tests of tincan/offload.c's segmentation and checksums, on frames built
 * by hand (offload_frames.h: Ethernet, optional 802.1Q tag, IPv4 with
 * options or IPv6 with a destination options header, TCP with options).
 * Segmentation is checked header by header and by finishing every partial
 * checksum and verifying it; then the frames it must refuse, then
 * tc_csum_set_pseudo and tc_csum_valid, and a throughput note.  The joiner
 * is tested in test_gro.c.
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

static void check_segment(const struct frame *o, const struct rec *r, size_t i,
			  size_t n, unsigned mss)
{
	const uint8_t *s = r->b, *ip = s + o->l3, *th = s + o->l4;
	size_t plen = r->len - o->hlen;
	uint8_t fl = o->b[o->l4 + TCP_FLAGS];

	ck_assert_uint_eq(r->cs.start, o->l4);
	ck_assert_uint_eq(r->cs.offset, TCP_CSUM);
	ck_assert(i + 1 == n ? plen <= mss && (plen > 0 || n == 1)
			     : plen == mss);
	ck_assert_mem_eq(s, o->b, o->l3);
	if (o->v6) {
		ck_assert_uint_eq(of_r16(ip + IP6_PLEN), r->len - o->l3 - 40);
		ck_assert_mem_eq(ip + 6, o->b + o->l3 + 6, o->l4 - o->l3 - 6);
	} else {
		ck_assert_uint_eq(of_r16(ip + IP_TOT), r->len - o->l3);
		ck_assert_uint_eq(of_r16(ip + IP_ID),
				  (of_r16(o->b + o->l3 + IP_ID) + i) & 0xffff);
		ck_assert_uint_eq(of_fold16(of_add_bytes(0, ip, o->l4 - o->l3)),
				  0xffff);
		ck_assert_mem_eq(ip + IP_FRAG, o->b + o->l3 + IP_FRAG, 4);
		ck_assert_mem_eq(ip + IP_SRC, o->b + o->l3 + IP_SRC,
				 o->l4 - o->l3 - IP_SRC);
	}
	ck_assert_uint_eq(of_r32(th + TCP_SEQ),
			  (uint32_t)(of_r32(o->b + o->l4 + TCP_SEQ) + i * mss));
	if (i + 1 < n)
		fl &= (uint8_t) ~(F_FIN | F_PSH);
	if (i > 0)
		fl &= (uint8_t)~F_CWR;
	ck_assert_uint_eq(th[TCP_FLAGS], fl);
	ck_assert_mem_eq(th, o->b + o->l4, 4);
	ck_assert_mem_eq(th + TCP_ACK, o->b + o->l4 + TCP_ACK, 5);
	ck_assert_mem_eq(th + TCP_WIN, o->b + o->l4 + TCP_WIN, 2);
	ck_assert_mem_eq(th + 18, o->b + o->l4 + 18, o->hlen - o->l4 - 18);
	ck_assert(of_partial_ok(s, r->len, &r->cs, o->l3, o->v6, P_TCP));
}

START_TEST(test_segment)
{
	const struct gso_case *c = &of_gso_cases[_i];
	struct virtio_net_hdr h;
	size_t i, n, off;
	int rc;

	of_build(&c->sp, &big);
	h = of_tso_hdr(&big, c->mss);
	n = c->sp.payload == 0 ? 1 : (c->sp.payload + c->mss - 1) / c->mss;
	of_out_reset();
	rc = tc_gso_segment(&h, big.b, big.len, big.hlen + c->mss,
			    of_on_segment, &of_out);
	ck_assert_int_eq(rc, (int)n);
	ck_assert_uint_eq(of_out.n, n);
	for (i = 0, off = big.hlen; i < n; i++) {
		check_segment(&big, &of_out.r[i], i, n, c->mss);
		ck_assert_mem_eq(of_out.r[i].b + big.hlen, big.b + off,
				 of_out.r[i].len - big.hlen);
		off += of_out.r[i].len - big.hlen;
	}
	ck_assert_uint_eq(off, big.len);
	of_out_reset();
}
END_TEST

/* The cut one segment at a time (tc_gso_begin/next, what a link cuts
 * into its batch) gives the same segments as tc_gso_segment; a buffer one
 * byte short is refused without moving on, and skip moves past one. */
START_TEST(test_cut)
{
	const struct gso_case *c = &of_gso_cases[_i];
	struct virtio_net_hdr h;
	struct tc_gso_cut cut;
	size_t i, n, len;

	of_build(&c->sp, &big);
	h = of_tso_hdr(&big, c->mss);
	of_out_reset();
	n = (size_t)tc_gso_segment(&h, big.b, big.len, big.hlen + c->mss,
				   of_on_segment, &of_out);
	ck_assert_int_eq(
	    tc_gso_begin(&cut, &h, big.b, big.len, big.hlen + c->mss), (int)n);
	ck_assert_uint_eq(cut.cs.start, of_out.r[0].cs.start);
	ck_assert_uint_eq(cut.cs.offset, of_out.r[0].cs.offset);
	for (i = 0; i < n; i++) {
		len = tc_gso_next_len(&cut);
		ck_assert_uint_eq(len, of_out.r[i].len);
		ck_assert_uint_eq(tc_gso_next(&cut, tmp.b, len - 1), 0);
		ck_assert_uint_eq(tc_gso_next_len(&cut), len);
		memset(tmp.b, 0xa5, len);
		ck_assert_uint_eq(tc_gso_next(&cut, tmp.b, len), len);
		ck_assert_mem_eq(tmp.b, of_out.r[i].b, len);
	}
	ck_assert_uint_eq(tc_gso_next_len(&cut), 0);
	ck_assert_uint_eq(tc_gso_next(&cut, tmp.b, sizeof(tmp.b)), 0);
	if (n > 1) {
		ck_assert_int_eq(
		    tc_gso_begin(&cut, &h, big.b, big.len, big.hlen + c->mss),
		    (int)n);
		tc_gso_skip(&cut);
		len = tc_gso_next(&cut, tmp.b, sizeof(tmp.b));
		ck_assert_uint_eq(len, of_out.r[1].len);
		ck_assert_mem_eq(tmp.b, of_out.r[1].b, len);
	}
	tc_gso_skip(&cut);
	of_out_reset();
}
END_TEST

/* hdr_len is not trusted, flags are not needed, ECN is accepted, and
 * Ethernet padding after the datagram is not payload. */
START_TEST(test_segment_details)
{
	struct spec sp = {.payload = 3000, .flags = F_ACK, .seq = 5};
	struct virtio_net_hdr h;

	of_build(&sp, &big);
	h = of_tso_hdr(&big, 1000);
	h.hdr_len = 3;
	h.flags = 0;
	h.gso_type |= VIRTIO_NET_HDR_GSO_ECN;
	memset(big.b + big.len, 0xee, 6);
	of_out_reset();
	ck_assert_int_eq(tc_gso_segment(&h, big.b, big.len + 6, 2000,
					of_on_segment, &of_out),
			 3);
	ck_assert_uint_eq(of_out.r[2].len, big.hlen + 1000);
	ck_assert_uint_eq(of_out.r[2].b[of_out.r[2].len - 1], of_pat(5 + 2999));
	of_out_reset();
}
END_TEST

/* ---- 2. refusals ---- */

static int try_segment(const struct frame *f, const struct virtio_net_hdr *h,
		       size_t len, size_t seg_max)
{
	int rc;

	of_out_reset();
	rc = tc_gso_segment(h, f->b, len, seg_max, of_on_segment, &of_out);
	if (rc < 0)
		ck_assert_uint_eq(of_out.n, 0);
	of_out_reset();
	return rc;
}

enum refusal {
	R_NONE,
	R_UDP,
	R_UDP_L4,
	R_TYPE_MISMATCH,
	R_MSS0,
	R_MF,
	R_FRAGOFF,
	R_DOFF4,
	R_DOFF_LONG,
	R_SEG_MAX,
	R_START_LATE,
	R_START_EARLY,
	R_START_ZERO,
	R_NOT_TCP,
	R_IHL4,
	R_VERSION,
	R_QINQ,
	R_ROUTING,
	R_V6_EXT_SHORT,
	R_TOT_LONG,
	N_REFUSAL
};

static void refuse(enum refusal r, struct frame *f, struct virtio_net_hdr *h,
		   size_t *seg_max)
{
	struct spec sp = {.payload = 3000, .flags = F_ACK};
	uint8_t *ip;

	sp.v6 = r == R_ROUTING || r == R_V6_EXT_SHORT || r == R_TYPE_MISMATCH;
	sp.ext = r == R_ROUTING || r == R_V6_EXT_SHORT;
	sp.proto = r == R_NOT_TCP ? P_UDP : 0;
	of_build(&sp, f);
	*h = of_tso_hdr(f, 1000);
	*seg_max = f->hlen + 1000;
	ip = f->b + f->l3;
	switch (r) {
	case R_NONE:
		h->gso_type = VIRTIO_NET_HDR_GSO_NONE;
		break;
	case R_UDP:
		h->gso_type = VIRTIO_NET_HDR_GSO_UDP;
		break;
	case R_UDP_L4:
		h->gso_type = GSO_UDP_L4;
		break;
	case R_TYPE_MISMATCH:
		h->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
		break;
	case R_MSS0:
		h->gso_size = 0;
		break;
	case R_MF:
		of_w16(ip + IP_FRAG, 0x2000);
		break;
	case R_FRAGOFF:
		of_w16(ip + IP_FRAG, 0x0001);
		break;
	case R_DOFF4:
		f->b[f->l4 + TCP_DOFF] = 0x40;
		break;
	case R_DOFF_LONG:
		f->len = f->l4 + 40;
		of_w16(ip + IP_TOT, 60);
		f->b[f->l4 + TCP_DOFF] = 0xf0;
		break;
	case R_SEG_MAX:
		(*seg_max)--;
		break;
	case R_START_LATE:
		h->csum_start += 4;
		break;
	case R_START_EARLY:
		h->csum_start -= 1;
		break;
	case R_START_ZERO:
		h->csum_start = 0;
		break;
	case R_NOT_TCP:
		break;
	case R_IHL4:
		ip[0] = 0x44;
		h->csum_start = (uint16_t)(f->l3 + 16);
		break;
	case R_VERSION:
		ip[0] = 0x65;
		break;
	case R_QINQ:
		memmove(f->b + 16, f->b + 12, f->len - 12);
		of_w16(f->b + 12, 0x8100);
		of_w16(f->b + 14, 7);
		of_w16(f->b + 16, 0x8100);
		f->len += 4;
		h->csum_start += 4;
		break;
	case R_ROUTING:
		ip[IP6_NEXT] = 43;
		break;
	case R_V6_EXT_SHORT:
		h->csum_start = (uint16_t)(f->l3 + IP6_HLEN);
		break;
	case R_TOT_LONG:
		of_w16(ip + IP_TOT, (unsigned)(f->len - f->l3 + 1));
		break;
	case N_REFUSAL:
		break;
	}
}

START_TEST(test_refused)
{
	struct virtio_net_hdr h;
	struct tc_gso_cut cut;
	size_t seg_max;

	refuse(_i, &big, &h, &seg_max);
	ck_assert_int_eq(try_segment(&big, &h, big.len, seg_max), -EINVAL);
	ck_assert_int_eq(tc_gso_begin(&cut, &h, big.b, big.len, seg_max),
			 -EINVAL);
}
END_TEST

/* The same frames without the fault are accepted (the refusals above are
 * for the fault, not for something else). */
START_TEST(test_refused_control)
{
	struct spec sp = {.payload = 3000, .flags = F_ACK};
	struct virtio_net_hdr h;

	of_build(&sp, &big);
	h = of_tso_hdr(&big, 1000);
	ck_assert_int_eq(try_segment(&big, &h, big.len, big.hlen + 1000), 3);
	sp.v6 = sp.ext = true;
	of_build(&sp, &big);
	h = of_tso_hdr(&big, 1000);
	ck_assert_int_eq(try_segment(&big, &h, big.len, big.hlen + 1000), 3);
}
END_TEST

/* Every truncation of an accepted frame is refused: the IP length no
 * longer fits, or the headers are cut. */
START_TEST(test_truncated)
{
	const struct gso_case *c = &of_gso_cases[_i];
	struct virtio_net_hdr h;
	size_t len, step;

	of_build(&c->sp, &big);
	h = of_tso_hdr(&big, c->mss);
	step = big.len > 8000 ? 97 : 1;
	for (len = 0; len < big.len; len += len < big.hlen + 2 ? 1 : step)
		ck_assert_int_eq(try_segment(&big, &h, len, 65535), -EINVAL);
}
END_TEST

/* ---- 5. pseudo-header sums ---- */

struct pseudo_case {
	struct spec sp;
	unsigned offset;
};

static const struct pseudo_case pseudo_cases[] = {
    {{.payload = 50, .flags = F_ACK}, TCP_CSUM},
    {{.payload = 50, .proto = P_UDP}, UDP_CSUM},
    {{.v6 = true, .payload = 50, .flags = F_ACK}, TCP_CSUM},
    {{.v6 = true, .payload = 51, .proto = P_UDP}, UDP_CSUM},
    {{.vlan = true, .ipopt = 4, .payload = 7}, TCP_CSUM},
    {{.v6 = true, .ext = true, .vlan = true, .payload = 9, .proto = P_UDP},
     UDP_CSUM},
};
enum { N_PSEUDO = sizeof(pseudo_cases) / sizeof(pseudo_cases[0]) };

START_TEST(test_set_pseudo)
{
	const struct pseudo_case *c = &pseudo_cases[_i];
	struct tc_csum cs;
	uint8_t proto = c->sp.proto ? c->sp.proto : P_TCP;

	of_build(&c->sp, &tmp);
	cs.start = (uint16_t)tmp.l4;
	cs.offset = (uint16_t)c->offset;
	of_w16(tmp.b + tmp.l4 + c->offset, 0xbeef);
	memset(tmp.b + tmp.len, 0, 4); /* padding is not part of it */
	ck_assert_int_eq(tc_csum_set_pseudo(tmp.b, tmp.len + 4, &cs), 0);
	ck_assert_uint_eq(of_r16(tmp.b + tmp.l4 + c->offset),
			  of_fold16(of_pseudo(tmp.b, tmp.l3, tmp.v6, proto,
					      tmp.len - tmp.l4)));
	ck_assert(of_partial_ok(tmp.b, tmp.len, &cs, tmp.l3, tmp.v6, proto));
	/* the sum follows a rewritten address */
	tmp.b[tmp.l3 + (tmp.v6 ? 23 : 15)] ^= 0x5a;
	ck_assert_int_eq(tc_csum_set_pseudo(tmp.b, tmp.len, &cs), 0);
	ck_assert(of_partial_ok(tmp.b, tmp.len, &cs, tmp.l3, tmp.v6, proto));
}
END_TEST

START_TEST(test_set_pseudo_refused)
{
	struct spec sp = {.payload = 20, .flags = F_ACK};
	struct tc_csum cs;
	struct frame *f = &tmp;

	of_build(&sp, f);
	cs = of_tcp_cs(f);
	ck_assert_int_eq(tc_csum_set_pseudo(f->b, f->len, &cs), 0);
	cs.offset = UDP_CSUM; /* TCP with UDP's offset */
	ck_assert_int_eq(tc_csum_set_pseudo(f->b, f->len, &cs), -EINVAL);
	cs = of_tcp_cs(f);
	cs.start += 4;
	ck_assert_int_eq(tc_csum_set_pseudo(f->b, f->len, &cs), -EINVAL);
	cs.start = 0;
	ck_assert_int_eq(tc_csum_set_pseudo(f->b, f->len, &cs), -EINVAL);
	cs = of_tcp_cs(f);
	ck_assert_int_eq(tc_csum_set_pseudo(f->b, f->l4 + 19, &cs), -EINVAL);
	f->b[f->l3 + IP_FRAG] |= 0x20; /* MF */
	ck_assert_int_eq(tc_csum_set_pseudo(f->b, f->len, &cs), -EINVAL);
	f->b[f->l3 + IP_FRAG] &= (uint8_t)~0x20;
	f->b[f->l3 + IP_PROTO] = 1; /* ICMP */
	ck_assert_int_eq(tc_csum_set_pseudo(f->b, f->len, &cs), -EINVAL);
	sp.v6 = sp.ext = true;
	sp.proto = P_UDP;
	of_build(&sp, f);
	cs.start = (uint16_t)f->l4;
	cs.offset = UDP_CSUM;
	ck_assert_int_eq(tc_csum_set_pseudo(f->b, f->len, &cs), 0);
	cs.start = (uint16_t)(f->l3 + IP6_HLEN); /* the options header */
	ck_assert_int_eq(tc_csum_set_pseudo(f->b, f->len, &cs), -EINVAL);
	cs.start = (uint16_t)f->l4;
	f->b[f->l3 + IP6_NEXT] = 43; /* routing */
	ck_assert_int_eq(tc_csum_set_pseudo(f->b, f->len, &cs), -EINVAL);
	of_w16(f->b + 12, 0x0806);
	ck_assert_int_eq(tc_csum_set_pseudo(f->b, f->len, &cs), -EINVAL);
}
END_TEST

START_TEST(test_csum_valid)
{
	struct tc_csum cs = {14, 16};

	ck_assert(tc_csum_valid(&cs, 32));
	ck_assert(!tc_csum_valid(&cs, 31));
	ck_assert(!tc_csum_valid(&cs, 0));
	cs.start = 13;
	ck_assert(!tc_csum_valid(&cs, 1000));
	cs.start = 0;
	cs.offset = 0;
	ck_assert(!tc_csum_valid(&cs, 1000));
	cs.start = 65535;
	cs.offset = 65535;
	ck_assert(!tc_csum_valid(&cs, 65535));
	ck_assert(tc_csum_valid(&cs, 65535 * 2 + 2));
	ck_assert(!tc_csum_valid(NULL, 1000));
}
END_TEST

/* ---- 6. throughput note ---- */

static size_t sink;

static void count_segment(void *ctx, const uint8_t *frame, size_t len,
			  const struct tc_csum *cs)
{
	(void)ctx;
	(void)cs;
	sink += len + frame[len - 1];
}

static void count_gro(void *ctx, const struct virtio_net_hdr *h,
		      const uint8_t *frame, size_t len)
{
	(void)ctx;
	(void)h;
	sink += len + frame[0];
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

START_TEST(test_throughput)
{
	struct spec sp = {.payload = 65535 - 40, .flags = F_ACK | F_PSH};
	struct virtio_net_hdr h;
	struct tc_gro *g = tc_gro_new(count_gro, NULL);
	struct tc_csum cs;
	double t;
	size_t i, j, rounds = 2000, n = 0;

	of_build(&sp, &big);
	h = of_tso_hdr(&big, 1448);
	t = now_ns();
	for (i = 0; i < rounds; i++)
		n += (size_t)tc_gso_segment(&h, big.b, big.len, 1514,
					    count_segment, NULL);
	t = now_ns() - t;
	printf("offload: %.1f ns per segment (64 KB TSO frame, MSS 1448)\n",
	       t / (double)n);
	of_seg(&tmp, false, 1, 0, 1448, F_ACK);
	cs = of_tcp_cs(&tmp);
	t = now_ns();
	for (i = 0; i < rounds; i++) {
		for (j = 0; j < 44; j++) {
			of_w32(tmp.b + tmp.l4 + TCP_SEQ, (uint32_t)(j * 1448));
			tc_gro_frame(g, tmp.b, tmp.len, &cs);
		}
		tc_gro_flush(g);
	}
	t = now_ns() - t;
	printf("offload: %.1f ns per joined segment (44 x 1448 bytes)\n",
	       t / (double)(rounds * 44));
	ck_assert_uint_gt(sink, 0);
	tc_gro_free(g);
}
END_TEST

Suite *suite_offload(void)
{
	Suite *s = suite_create("offload");
	TCase *tc = tcase_create("segment");

	tcase_add_loop_test(tc, test_segment, 0, (int)of_n_gso);
	tcase_add_loop_test(tc, test_cut, 0, (int)of_n_gso);
	tcase_add_test(tc, test_segment_details);
	tcase_add_loop_test(tc, test_refused, 0, N_REFUSAL);
	tcase_add_test(tc, test_refused_control);
	tcase_add_loop_test(tc, test_truncated, 0, (int)of_n_gso);
	suite_add_tcase(s, tc);

	tc = tcase_create("csum");
	tcase_add_loop_test(tc, test_set_pseudo, 0, N_PSEUDO);
	tcase_add_test(tc, test_set_pseudo_refused);
	tcase_add_test(tc, test_csum_valid);
	suite_add_tcase(s, tc);

	tc = tcase_create("throughput");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_throughput);
	suite_add_tcase(s, tc);
	return s;
}
