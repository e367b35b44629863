/*
 * Tests of tincan/offload.c.  Frames are built by hand here (Ethernet,
 * optional 802.1Q tag, IPv4 with options or IPv6 with a destination
 * options header, TCP with options), with checksums from a routine written
 * independently of the module (bytes summed by position, over an
 * explicitly assembled pseudo-header).  Payload bytes are a function of
 * their TCP sequence number, so any reordering, loss or duplication of
 * payload shows.  Segmentation is checked header by header and by finishing
 * every partial checksum and verifying it; the joiner is checked on the
 * segments of those frames (round trip), on hand-made sequences (flows
 * interleaved, out of order, retransmitted, ended by PSH or a short
 * segment, evicted, over the size limit), and on frames it must not join.
 * Then tc_csum_set_pseudo and tc_csum_valid, and a throughput note.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tincan/offload.h"

enum {
	FRAME_MAX = TC_GSO_MAX + 128,
	L2_HLEN = 14,
	VLAN_HLEN = 18,
	IP_TOT = 2,
	IP_ID = 4,
	IP_FRAG = 6,
	IP_PROTO = 9,
	IP_CSUM = 10,
	IP_SRC = 12,
	IP6_PLEN = 4,
	IP6_NEXT = 6,
	IP6_SRC = 8,
	IP6_HLEN = 40,
	TCP_SEQ = 4,
	TCP_ACK = 8,
	TCP_DOFF = 12,
	TCP_FLAGS = 13,
	TCP_WIN = 14,
	TCP_CSUM = 16,
	UDP_CSUM = 6,
	P_TCP = 6,
	P_UDP = 17,
	F_FIN = 0x01,
	F_SYN = 0x02,
	F_PSH = 0x08,
	F_ACK = 0x10,
	F_CWR = 0x80,
	MAX_OUT = 512,
	GSO_UDP_L4 = 5, /* VIRTIO_NET_HDR_GSO_UDP_L4, newer headers only */
};

/* ---- frames, built by hand ---- */

struct spec {
	bool v6;
	bool vlan;
	size_t ipopt;  /* IPv4 option bytes (NOPs), multiple of 4 */
	bool ext;      /* IPv6: an 8-byte destination options header */
	size_t tcpopt; /* 0 or 12 (NOP NOP timestamps) */
	size_t payload;
	uint8_t flags;
	uint32_t seq;
	uint16_t id;
	uint16_t sport;
	uint32_t ack;
	uint16_t win;
	uint8_t proto; /* 0: TCP */
};

struct frame {
	uint8_t b[FRAME_MAX];
	size_t len, l3, l4, hlen;
	bool v6;
};

static const uint8_t MAC_A[6] = {2, 0, 0, 0, 0, 1};
static const uint8_t MAC_B[6] = {2, 0, 0, 0, 0, 2};
static const uint8_t V4_A[4] = {10, 1, 0, 1};
static const uint8_t V4_B[4] = {10, 1, 0, 2};
static const uint8_t V6_A[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0,
				 0,    0, 0, 0, 0, 0, 0, 1};
static const uint8_t V6_B[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0,
				 0,    0, 0, 0, 0, 0, 0, 2};

static uint8_t pat(uint32_t seq)
{
	return (uint8_t)((seq * 2654435761u) >> 24);
}

static void w16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static unsigned r16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static uint32_t r32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void w32(uint8_t *p, uint32_t v)
{
	w16(p, v >> 16);
	w16(p + 2, v & 0xffff);
}

/* The independent checksum: byte i of a run weighs 256 when i is even. */
static uint64_t add_bytes(uint64_t acc, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		acc += (i % 2 == 0) ? (uint64_t)p[i] * 256 : p[i];
	return acc;
}

static unsigned fold16(uint64_t acc)
{
	while (acc > 0xffff)
		acc = (acc & 0xffff) + (acc >> 16);
	return (unsigned)acc;
}

/* The pseudo-header of the datagram at l3, as bytes, summed. */
static uint64_t pseudo(const uint8_t *f, size_t l3, bool v6, uint8_t proto,
		       size_t l4len)
{
	uint8_t ph[40];

	memset(ph, 0, sizeof(ph));
	if (v6) {
		memcpy(ph, f + l3 + IP6_SRC, 32);
		w32(ph + 32, (uint32_t)l4len);
		ph[39] = proto;
		return add_bytes(0, ph, 40);
	}
	memcpy(ph, f + l3 + IP_SRC, 8);
	ph[9] = proto;
	w16(ph + 10, (unsigned)l4len);
	return add_bytes(0, ph, 12);
}

static void build(const struct spec *sp, struct frame *f)
{
	uint8_t *p = f->b, *ip, *th;
	uint8_t proto = sp->proto ? sp->proto : P_TCP;
	size_t ihl = 20 + sp->ipopt, thl = 20 + sp->tcpopt, i;

	memset(f, 0, sizeof(*f));
	memcpy(p, MAC_B, 6);
	memcpy(p + 6, MAC_A, 6);
	f->l3 = L2_HLEN;
	if (sp->vlan) {
		w16(p + 12, 0x8100);
		w16(p + 14, 5);
		f->l3 = VLAN_HLEN;
	}
	w16(p + f->l3 - 2, sp->v6 ? 0x86dd : 0x0800);
	ip = p + f->l3;
	f->v6 = sp->v6;
	if (sp->v6) {
		ip[0] = 0x60;
		ip[1] = 0x01; /* a flow label */
		ip[IP6_NEXT] = sp->ext ? 60 : proto;
		ip[7] = 64;
		memcpy(ip + 8, V6_A, 16);
		memcpy(ip + 24, V6_B, 16);
		ihl = IP6_HLEN;
		if (sp->ext) {
			ip[40] = proto;
			ip[41] = 0;
			ip[42] = 1; /* PadN, 4 bytes */
			ip[43] = 4;
			ihl += 8;
		}
	} else {
		ip[0] = (uint8_t)(0x40 | ihl / 4);
		ip[1] = 0x10;
		w16(ip + IP_ID, sp->id);
		w16(ip + IP_FRAG, 0x4000); /* DF */
		ip[8] = 64;
		ip[IP_PROTO] = proto;
		memcpy(ip + 12, V4_A, 4);
		memcpy(ip + 16, V4_B, 4);
		memset(ip + 20, 1, sp->ipopt);
	}
	f->l4 = f->l3 + ihl;
	th = p + f->l4;
	w16(th, sp->sport ? sp->sport : 40000);
	w16(th + 2, 443);
	if (proto == P_UDP) {
		thl = 8;
		w16(th + 4, (unsigned)(thl + sp->payload));
	} else {
		w32(th + TCP_SEQ, sp->seq);
		w32(th + TCP_ACK, sp->ack ? sp->ack : 0x01020304);
		th[TCP_DOFF] = (uint8_t)(thl / 4 << 4);
		th[TCP_FLAGS] = sp->flags;
		w16(th + TCP_WIN, sp->win ? sp->win : 502);
		if (sp->tcpopt == 12) {
			th[20] = th[21] = 1;
			th[22] = 8;
			th[23] = 10;
			w32(th + 24, 0x11223344);
			w32(th + 28, 0x55667788);
		}
	}
	f->hlen = f->l4 + thl;
	for (i = 0; i < sp->payload; i++)
		p[f->hlen + i] = pat(sp->seq + (uint32_t)i);
	f->len = f->hlen + sp->payload;
	if (sp->v6) {
		w16(ip + IP6_PLEN, (unsigned)(f->len - f->l3 - IP6_HLEN));
	} else {
		w16(ip + IP_TOT, (unsigned)(f->len - f->l3));
		w16(ip + IP_CSUM, ~fold16(add_bytes(0, ip, ihl)) & 0xffff);
	}
	/* partial, as the kernel leaves it: the pseudo-header sum only */
	w16(th + (proto == P_UDP ? UDP_CSUM : TCP_CSUM),
	    fold16(pseudo(p, f->l3, sp->v6, proto, f->len - f->l4)));
}

/* A segment of flow `sport` as a peer's kernel would send it. */
static void seg(struct frame *f, bool v6, uint16_t sport, uint32_t seq,
		size_t payload, uint8_t flags)
{
	struct spec sp = {0};

	sp.v6 = v6;
	sp.sport = sport;
	sp.seq = seq;
	sp.payload = payload;
	sp.flags = flags;
	build(&sp, f);
}

/* Finishes a partial checksum the way a NIC does and checks the result
 * against the independent pseudo-header. */
static bool partial_ok(const uint8_t *frame, size_t len,
		       const struct tc_csum *cs, size_t l3, bool v6,
		       uint8_t proto)
{
	uint8_t *c = malloc(len);
	unsigned v;
	bool ok;

	memcpy(c, frame, len);
	v = ~fold16(add_bytes(0, c + cs->start, len - cs->start)) & 0xffff;
	w16(c + cs->start + cs->offset, v);
	ok = fold16(pseudo(c, l3, v6, proto, len - cs->start) +
		    add_bytes(0, c + cs->start, len - cs->start)) == 0xffff;
	free(c);
	return ok;
}

/* ---- collecting what the module emits ---- */

struct rec {
	uint8_t *b;
	size_t len;
	struct tc_csum cs;
	struct virtio_net_hdr h;
};

struct out {
	size_t n;
	struct rec r[MAX_OUT];
};

static struct out out;

static void out_reset(void)
{
	size_t i;

	for (i = 0; i < out.n; i++)
		free(out.r[i].b);
	out.n = 0;
}

static void keep(const uint8_t *frame, size_t len)
{
	ck_assert_uint_lt(out.n, MAX_OUT);
	out.r[out.n].b = malloc(len ? len : 1);
	memcpy(out.r[out.n].b, frame, len);
	out.r[out.n].len = len;
}

static void on_segment(void *ctx, const uint8_t *frame, size_t len,
		       const struct tc_csum *cs)
{
	ck_assert_ptr_eq(ctx, &out);
	keep(frame, len);
	out.r[out.n++].cs = *cs;
}

static void on_gro(void *ctx, const struct virtio_net_hdr *h,
		   const uint8_t *frame, size_t len)
{
	ck_assert_ptr_eq(ctx, &out);
	keep(frame, len);
	out.r[out.n++].h = *h;
}

static struct virtio_net_hdr tso_hdr(const struct frame *f, unsigned mss)
{
	struct virtio_net_hdr h = {0};

	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.gso_type =
	    f->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
	h.gso_size = (uint16_t)mss;
	h.hdr_len = (uint16_t)f->hlen;
	h.csum_start = (uint16_t)f->l4;
	h.csum_offset = TCP_CSUM;
	return h;
}

/* ---- 1. segmentation ---- */

struct gso_case {
	struct spec sp;
	unsigned mss;
};

static const struct gso_case gso_cases[] = {
    {{.payload = 10000, .flags = F_ACK | F_PSH, .seq = 1000, .id = 7}, 1448},
    {{.payload = 1448 * 4, .flags = F_ACK | F_PSH | F_FIN}, 1448},
    {{.payload = 500, .flags = F_ACK | F_PSH}, 1448},
    {{.vlan = true, .payload = 6000, .flags = F_ACK | F_PSH | F_CWR}, 1400},
    {{.v6 = true, .payload = 10000, .flags = F_ACK | F_PSH}, 1428},
    {{.v6 = true, .payload = 1428 * 3, .flags = F_ACK | F_PSH | F_FIN | F_CWR},
     1428},
    {{.v6 = true, .payload = 100, .flags = F_ACK}, 1428},
    {{.v6 = true, .vlan = true, .payload = 7000, .flags = F_ACK}, 1000},
    {{.ipopt = 8,
      .tcpopt = 12,
      .payload = 65535 - 28 - 32,
      .flags = F_ACK | F_PSH},
     1436},
    {{.v6 = true, .tcpopt = 12, .payload = 65535 - 32, .flags = F_ACK | F_PSH},
     1416},
    {{.payload = 4000, .flags = F_ACK, .id = 0xfffe}, 1000},
    {{.payload = 4000, .flags = F_ACK, .seq = 0xfffffc00}, 1000},
    {{.v6 = true, .ext = true, .payload = 5000, .flags = F_ACK}, 1400},
    {{.payload = 0, .flags = F_ACK | F_FIN}, 1448},
    {{.payload = 1, .flags = F_ACK | F_PSH}, 1},
};
enum { N_GSO = sizeof(gso_cases) / sizeof(gso_cases[0]) };

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
		ck_assert_uint_eq(r16(ip + IP6_PLEN), r->len - o->l3 - 40);
		ck_assert_mem_eq(ip + 6, o->b + o->l3 + 6, o->l4 - o->l3 - 6);
	} else {
		ck_assert_uint_eq(r16(ip + IP_TOT), r->len - o->l3);
		ck_assert_uint_eq(r16(ip + IP_ID),
				  (r16(o->b + o->l3 + IP_ID) + i) & 0xffff);
		ck_assert_uint_eq(fold16(add_bytes(0, ip, o->l4 - o->l3)),
				  0xffff);
		ck_assert_mem_eq(ip + IP_FRAG, o->b + o->l3 + IP_FRAG, 4);
		ck_assert_mem_eq(ip + IP_SRC, o->b + o->l3 + IP_SRC,
				 o->l4 - o->l3 - IP_SRC);
	}
	ck_assert_uint_eq(r32(th + TCP_SEQ),
			  (uint32_t)(r32(o->b + o->l4 + TCP_SEQ) + i * mss));
	if (i + 1 < n)
		fl &= (uint8_t) ~(F_FIN | F_PSH);
	if (i > 0)
		fl &= (uint8_t)~F_CWR;
	ck_assert_uint_eq(th[TCP_FLAGS], fl);
	ck_assert_mem_eq(th, o->b + o->l4, 4);
	ck_assert_mem_eq(th + TCP_ACK, o->b + o->l4 + TCP_ACK, 5);
	ck_assert_mem_eq(th + TCP_WIN, o->b + o->l4 + TCP_WIN, 2);
	ck_assert_mem_eq(th + 18, o->b + o->l4 + 18, o->hlen - o->l4 - 18);
	ck_assert(partial_ok(s, r->len, &r->cs, o->l3, o->v6, P_TCP));
}

START_TEST(test_segment)
{
	const struct gso_case *c = &gso_cases[_i];
	struct virtio_net_hdr h;
	size_t i, n, off;
	int rc;

	build(&c->sp, &big);
	h = tso_hdr(&big, c->mss);
	n = c->sp.payload == 0 ? 1 : (c->sp.payload + c->mss - 1) / c->mss;
	out_reset();
	rc = tc_gso_segment(&h, big.b, big.len, big.hlen + c->mss, on_segment,
			    &out);
	ck_assert_int_eq(rc, (int)n);
	ck_assert_uint_eq(out.n, n);
	for (i = 0, off = big.hlen; i < n; i++) {
		check_segment(&big, &out.r[i], i, n, c->mss);
		ck_assert_mem_eq(out.r[i].b + big.hlen, big.b + off,
				 out.r[i].len - big.hlen);
		off += out.r[i].len - big.hlen;
	}
	ck_assert_uint_eq(off, big.len);
	out_reset();
}
END_TEST

/* hdr_len is not trusted, flags are not needed, ECN is accepted, and
 * Ethernet padding after the datagram is not payload. */
START_TEST(test_segment_details)
{
	struct spec sp = {.payload = 3000, .flags = F_ACK, .seq = 5};
	struct virtio_net_hdr h;

	build(&sp, &big);
	h = tso_hdr(&big, 1000);
	h.hdr_len = 3;
	h.flags = 0;
	h.gso_type |= VIRTIO_NET_HDR_GSO_ECN;
	memset(big.b + big.len, 0xee, 6);
	out_reset();
	ck_assert_int_eq(
	    tc_gso_segment(&h, big.b, big.len + 6, 2000, on_segment, &out), 3);
	ck_assert_uint_eq(out.r[2].len, big.hlen + 1000);
	ck_assert_uint_eq(out.r[2].b[out.r[2].len - 1], pat(5 + 2999));
	out_reset();
}
END_TEST

/* ---- 2. refusals ---- */

static int try_segment(const struct frame *f, const struct virtio_net_hdr *h,
		       size_t len, size_t seg_max)
{
	int rc;

	out_reset();
	rc = tc_gso_segment(h, f->b, len, seg_max, on_segment, &out);
	if (rc < 0)
		ck_assert_uint_eq(out.n, 0);
	out_reset();
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
	build(&sp, f);
	*h = tso_hdr(f, 1000);
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
		w16(ip + IP_FRAG, 0x2000);
		break;
	case R_FRAGOFF:
		w16(ip + IP_FRAG, 0x0001);
		break;
	case R_DOFF4:
		f->b[f->l4 + TCP_DOFF] = 0x40;
		break;
	case R_DOFF_LONG:
		f->len = f->l4 + 40;
		w16(ip + IP_TOT, 60);
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
		w16(f->b + 12, 0x8100);
		w16(f->b + 14, 7);
		w16(f->b + 16, 0x8100);
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
		w16(ip + IP_TOT, (unsigned)(f->len - f->l3 + 1));
		break;
	case N_REFUSAL:
		break;
	}
}

START_TEST(test_refused)
{
	struct virtio_net_hdr h;
	size_t seg_max;

	refuse(_i, &big, &h, &seg_max);
	ck_assert_int_eq(try_segment(&big, &h, big.len, seg_max), -EINVAL);
}
END_TEST

/* The same frames without the fault are accepted (the refusals above are
 * for the fault, not for something else). */
START_TEST(test_refused_control)
{
	struct spec sp = {.payload = 3000, .flags = F_ACK};
	struct virtio_net_hdr h;

	build(&sp, &big);
	h = tso_hdr(&big, 1000);
	ck_assert_int_eq(try_segment(&big, &h, big.len, big.hlen + 1000), 3);
	sp.v6 = sp.ext = true;
	build(&sp, &big);
	h = tso_hdr(&big, 1000);
	ck_assert_int_eq(try_segment(&big, &h, big.len, big.hlen + 1000), 3);
}
END_TEST

/* Every truncation of an accepted frame is refused: the IP length no
 * longer fits, or the headers are cut. */
START_TEST(test_truncated)
{
	const struct gso_case *c = &gso_cases[_i];
	struct virtio_net_hdr h;
	size_t len, step;

	build(&c->sp, &big);
	h = tso_hdr(&big, c->mss);
	step = big.len > 8000 ? 97 : 1;
	for (len = 0; len < big.len; len += len < big.hlen + 2 ? 1 : step)
		ck_assert_int_eq(try_segment(&big, &h, len, 65535), -EINVAL);
}
END_TEST

/* ---- 3. joining ---- */

static struct tc_gro *gro;

static void gro_setup(void)
{
	out_reset();
	gro = tc_gro_new(on_gro, &out);
}

static void gro_teardown(void)
{
	tc_gro_free(gro);
	gro = NULL;
	out_reset();
}

static struct tc_csum tcp_cs(const struct frame *f)
{
	struct tc_csum cs = {(uint16_t)f->l4, TCP_CSUM};

	return cs;
}

static void feed(const struct frame *f)
{
	struct tc_csum cs = tcp_cs(f);

	tc_gro_frame(gro, f->b, f->len, &cs);
}

static void feed_seg(bool v6, uint16_t sport, uint32_t seq, size_t payload,
		     uint8_t flags)
{
	seg(&tmp, v6, sport, seq, payload, flags);
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
	ck_assert_uint_eq(r16(th), sport);
	ck_assert_uint_eq(r32(th + TCP_SEQ), seq);
	for (i = 0; i < payload; i++)
		ck_assert_uint_eq(r->b[hlen + i], pat(seq + (uint32_t)i));
	ck_assert_uint_eq(r->h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	ck_assert_uint_eq(r->h.csum_start, l4);
	ck_assert_uint_eq(r->h.csum_offset, TCP_CSUM);
	if (v6)
		ck_assert_uint_eq(r16(r->b + L2_HLEN + IP6_PLEN), r->len - l4);
	else {
		ck_assert_uint_eq(r16(r->b + L2_HLEN + IP_TOT),
				  r->len - L2_HLEN);
		ck_assert_uint_eq(fold16(add_bytes(0, r->b + L2_HLEN, 20)),
				  0xffff);
	}
	ck_assert(partial_ok(r->b, r->len, &cs, L2_HLEN, v6, P_TCP));
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
	const struct gso_case *c = &gso_cases[_i];
	struct out segs;
	struct virtio_net_hdr h;
	uint64_t joined, nsegs;
	size_t i, n;

	if (c->sp.vlan || (c->sp.flags & (F_FIN | F_CWR)) || c->sp.ipopt != 0 ||
	    c->sp.ext || c->sp.payload == 0)
		return;
	build(&c->sp, &big);
	h = tso_hdr(&big, c->mss);
	out_reset();
	n = (size_t)tc_gso_segment(&h, big.b, big.len, 65535, on_segment, &out);
	segs = out;
	out.n = 0;
	for (i = 0; i < n; i++)
		tc_gro_frame(gro, segs.r[i].b, segs.r[i].len, &segs.r[i].cs);
	tc_gro_flush(gro);
	if (big.len > TC_GRO_MAX) {
		ck_assert_uint_eq(out.n, 2);
		ck_assert_uint_le(out.r[0].len, TC_GRO_MAX);
		ck_assert_uint_gt(out.r[0].len + c->mss, TC_GRO_MAX);
		ck_assert_uint_eq(out.r[0].len + out.r[1].len - big.hlen,
				  big.len);
	} else {
		ck_assert_uint_eq(out.n, 1);
		ck_assert_uint_eq(out.r[0].len, big.len);
		ck_assert_mem_eq(out.r[0].b, big.b, big.len);
		ck_assert_uint_eq(out.r[0].h.gso_type,
				  n > 1 ? h.gso_type : VIRTIO_NET_HDR_GSO_NONE);
		if (n > 1) {
			ck_assert_uint_eq(out.r[0].h.gso_size, c->mss);
			ck_assert_uint_eq(out.r[0].h.hdr_len, big.hlen);
		}
	}
	tc_gro_counts(gro, &joined, &nsegs);
	ck_assert_uint_eq(joined, n > 1 ? out.n : 0);
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
	ck_assert_uint_eq(out.n, 0);
	tc_gro_flush(gro);
	ck_assert_uint_eq(out.n, 1);
	check_joined(&out.r[0], _i, 1, 100, 5000, 5, 1000);
	tc_gro_flush(gro);
	ck_assert_uint_eq(out.n, 1);
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
	ck_assert_uint_eq(out.n, 0);
	tc_gro_flush(gro);
	ck_assert_uint_eq(out.n, 3);
	check_joined(&out.r[0], false, 1, 100, 1500, 3, 500);
	check_joined(&out.r[1], false, 2, 900, 2100, 3, 700);
	check_joined(&out.r[2], true, 1, 100, 500, 1, 500);
}
END_TEST

START_TEST(test_out_of_order)
{
	feed_seg(false, 1, 0, 100, F_ACK);
	feed_seg(false, 1, 200, 100, F_ACK);
	feed_seg(false, 1, 100, 100, F_ACK);
	tc_gro_flush(gro);
	ck_assert_uint_eq(out.n, 3);
	check_joined(&out.r[0], false, 1, 0, 100, 1, 100);
	check_joined(&out.r[1], false, 1, 200, 100, 1, 100);
	check_joined(&out.r[2], false, 1, 100, 100, 1, 100);
}
END_TEST

START_TEST(test_retransmit)
{
	feed_seg(false, 1, 0, 100, F_ACK);
	feed_seg(false, 1, 100, 100, F_ACK);
	feed_seg(false, 1, 100, 100, F_ACK);
	feed_seg(false, 1, 200, 100, F_ACK);
	tc_gro_flush(gro);
	ck_assert_uint_eq(out.n, 2);
	check_joined(&out.r[0], false, 1, 0, 200, 2, 100);
	check_joined(&out.r[1], false, 1, 100, 200, 2, 100);
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
	build(&sp, &tmp); /* sport 40000 */
	feed(&tmp);
	ck_assert_uint_eq(out.n, 3);
	check_joined(&out.r[0], false, 2, 0, 100, 1, 100);
	check_joined(&out.r[1], false, 1, 0, 200, 2, 100);
	ck_assert_uint_eq(out.r[2].len, tmp.len);
	ck_assert_uint_eq(out.r[2].h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	feed_seg(false, 1, 200, 100, F_ACK);
	sp.proto = P_UDP;
	sp.payload = 30;
	build(&sp, &tmp);
	cs.start = (uint16_t)tmp.l4;
	cs.offset = UDP_CSUM;
	tc_gro_frame(gro, tmp.b, tmp.len, &cs);
	ck_assert_uint_eq(out.n, 5);
	check_joined(&out.r[3], false, 1, 200, 100, 1, 100);
	ck_assert_mem_eq(out.r[4].b, tmp.b, tmp.len);
	ck_assert_uint_eq(out.r[4].h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	ck_assert_uint_eq(out.r[4].h.csum_start, tmp.l4);
	ck_assert_uint_eq(out.r[4].h.csum_offset, UDP_CSUM);
	ck_assert_uint_eq(out.r[4].h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	ck_assert_uint_eq(out.r[4].h.gso_size, 0);
	ck_assert_uint_eq(out.r[4].h.hdr_len, 0);
	tc_gro_flush(gro);
	ck_assert_uint_eq(out.n, 5);
}
END_TEST

START_TEST(test_psh_ends)
{
	feed_seg(false, 1, 0, 100, F_ACK);
	feed_seg(false, 1, 100, 100, F_ACK | F_PSH);
	ck_assert_uint_eq(out.n, 1);
	check_joined(&out.r[0], false, 1, 0, 200, 2, 100);
	ck_assert_uint_eq(out.r[0].b[L2_HLEN + 20 + TCP_FLAGS], F_ACK | F_PSH);
	feed_seg(false, 1, 200, 100, F_ACK | F_PSH); /* alone: at once */
	ck_assert_uint_eq(out.n, 2);
	check_joined(&out.r[1], false, 1, 200, 100, 1, 100);
	feed_seg(false, 1, 300, 100, F_ACK);
	tc_gro_flush(gro);
	ck_assert_uint_eq(out.n, 3);
	check_joined(&out.r[2], false, 1, 300, 100, 1, 100);
}
END_TEST

START_TEST(test_short_ends)
{
	feed_seg(true, 1, 0, 100, F_ACK);
	feed_seg(true, 1, 100, 100, F_ACK);
	feed_seg(true, 1, 200, 40, F_ACK);
	ck_assert_uint_eq(out.n, 1);
	check_joined(&out.r[0], true, 1, 0, 240, 3, 100);
	feed_seg(true, 1, 240, 100, F_ACK);
	feed_seg(true, 1, 340, 101, F_ACK); /* bigger than the first */
	tc_gro_flush(gro);
	ck_assert_uint_eq(out.n, 3);
	check_joined(&out.r[1], true, 1, 240, 100, 1, 100);
	check_joined(&out.r[2], true, 1, 340, 101, 1, 101);
}
END_TEST

START_TEST(test_evict_oldest)
{
	size_t i;

	for (i = 0; i <= TC_GRO_FLOWS; i++)
		feed_seg(false, (uint16_t)(10 + i), 0, 100, F_ACK);
	ck_assert_uint_eq(out.n, 1);
	check_joined(&out.r[0], false, 10, 0, 100, 1, 100);
	feed_seg(false, 11, 100, 100, F_ACK);
	tc_gro_flush(gro);
	ck_assert_uint_eq(out.n, 1 + TC_GRO_FLOWS);
	check_joined(&out.r[1], false, 11, 0, 200, 2, 100);
	for (i = 2; i <= TC_GRO_FLOWS; i++)
		check_joined(&out.r[i], false, (uint16_t)(10 + i), 0, 100, 1,
			     100);
}
END_TEST

START_TEST(test_max)
{
	size_t i, per = (TC_GRO_MAX - 54) / 1448;

	for (i = 0; i < 50; i++)
		feed_seg(false, 1, (uint32_t)(i * 1448), 1448, F_ACK);
	ck_assert_uint_eq(out.n, 1);
	check_joined(&out.r[0], false, 1, 0, per * 1448, per, 1448);
	tc_gro_flush(gro);
	ck_assert_uint_eq(out.n, 2);
	check_joined(&out.r[1], false, 1, (uint32_t)(per * 1448),
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
	build(&sp, f);
	*cs = tcp_cs(f);
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
		ck_assert_uint_eq(out.n, i + 1);
		ck_assert_uint_eq(out.r[i].len, f[i].len);
		ck_assert_mem_eq(out.r[i].b, f[i].b, f[i].len);
		ck_assert_uint_eq(out.r[i].h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
		ck_assert_uint_eq(
		    out.r[i].h.flags,
		    _i == NJ_COMPLETE ? 0 : VIRTIO_NET_HDR_F_NEEDS_CSUM);
		ck_assert_uint_eq(out.r[i].h.csum_start, cs[i].start);
		ck_assert_uint_eq(out.r[i].h.csum_offset, cs[i].offset);
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
		seg(a, _i, 1, 0, 100, F_ACK);
		feed(a);
		seg(a, _i, 1, 100, 100, F_ACK);
		a->b[diff_at[_i][i]] ^= 0x40;
		feed(a);
	}
	tc_gro_flush(gro);
	ck_assert_uint_eq(out.n, 8);
	out_reset();
	seg(a, _i, 1, 0, 100, F_ACK);
	feed(a);
	seg(a, _i, 1, 100, 100, F_ACK);
	w16(a->b + l4 + TCP_WIN, 999);
	feed(a);
	tc_gro_flush(gro);
	ck_assert_uint_eq(out.n, 1);
	check_joined(&out.r[0], _i, 1, 0, 200, 2, 100);
	ck_assert_uint_eq(r16(out.r[0].b + l4 + TCP_WIN), 999);
	free(a);
}
END_TEST

/* Timestamps that differ keep segments apart; equal options join. */
START_TEST(test_options)
{
	struct spec sp = {.tcpopt = 12, .payload = 100, .flags = F_ACK};
	uint64_t joined, segs;

	build(&sp, &tmp);
	feed(&tmp);
	sp.seq = 100;
	build(&sp, &tmp);
	feed(&tmp);
	sp.seq = 200;
	build(&sp, &tmp);
	w32(tmp.b + tmp.l4 + 24, 0x11223345);
	feed(&tmp);
	tc_gro_flush(gro);
	ck_assert_uint_eq(out.n, 2);
	ck_assert_uint_eq(out.r[0].len, tmp.hlen + 200);
	ck_assert_uint_eq(out.r[0].h.hdr_len, tmp.hlen);
	ck_assert_uint_eq(out.r[1].len, tmp.len);
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

	build(&c->sp, &tmp);
	cs.start = (uint16_t)tmp.l4;
	cs.offset = (uint16_t)c->offset;
	w16(tmp.b + tmp.l4 + c->offset, 0xbeef);
	memset(tmp.b + tmp.len, 0, 4); /* padding is not part of it */
	ck_assert_int_eq(tc_csum_set_pseudo(tmp.b, tmp.len + 4, &cs), 0);
	ck_assert_uint_eq(
	    r16(tmp.b + tmp.l4 + c->offset),
	    fold16(pseudo(tmp.b, tmp.l3, tmp.v6, proto, tmp.len - tmp.l4)));
	ck_assert(partial_ok(tmp.b, tmp.len, &cs, tmp.l3, tmp.v6, proto));
	/* the sum follows a rewritten address */
	tmp.b[tmp.l3 + (tmp.v6 ? 23 : 15)] ^= 0x5a;
	ck_assert_int_eq(tc_csum_set_pseudo(tmp.b, tmp.len, &cs), 0);
	ck_assert(partial_ok(tmp.b, tmp.len, &cs, tmp.l3, tmp.v6, proto));
}
END_TEST

START_TEST(test_set_pseudo_refused)
{
	struct spec sp = {.payload = 20, .flags = F_ACK};
	struct tc_csum cs;
	struct frame *f = &tmp;

	build(&sp, f);
	cs = tcp_cs(f);
	ck_assert_int_eq(tc_csum_set_pseudo(f->b, f->len, &cs), 0);
	cs.offset = UDP_CSUM; /* TCP with UDP's offset */
	ck_assert_int_eq(tc_csum_set_pseudo(f->b, f->len, &cs), -EINVAL);
	cs = tcp_cs(f);
	cs.start += 4;
	ck_assert_int_eq(tc_csum_set_pseudo(f->b, f->len, &cs), -EINVAL);
	cs.start = 0;
	ck_assert_int_eq(tc_csum_set_pseudo(f->b, f->len, &cs), -EINVAL);
	cs = tcp_cs(f);
	ck_assert_int_eq(tc_csum_set_pseudo(f->b, f->l4 + 19, &cs), -EINVAL);
	f->b[f->l3 + IP_FRAG] |= 0x20; /* MF */
	ck_assert_int_eq(tc_csum_set_pseudo(f->b, f->len, &cs), -EINVAL);
	f->b[f->l3 + IP_FRAG] &= (uint8_t)~0x20;
	f->b[f->l3 + IP_PROTO] = 1; /* ICMP */
	ck_assert_int_eq(tc_csum_set_pseudo(f->b, f->len, &cs), -EINVAL);
	sp.v6 = sp.ext = true;
	sp.proto = P_UDP;
	build(&sp, f);
	cs.start = (uint16_t)f->l4;
	cs.offset = UDP_CSUM;
	ck_assert_int_eq(tc_csum_set_pseudo(f->b, f->len, &cs), 0);
	cs.start = (uint16_t)(f->l3 + IP6_HLEN); /* the options header */
	ck_assert_int_eq(tc_csum_set_pseudo(f->b, f->len, &cs), -EINVAL);
	cs.start = (uint16_t)f->l4;
	f->b[f->l3 + IP6_NEXT] = 43; /* routing */
	ck_assert_int_eq(tc_csum_set_pseudo(f->b, f->len, &cs), -EINVAL);
	w16(f->b + 12, 0x0806);
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

	build(&sp, &big);
	h = tso_hdr(&big, 1448);
	t = now_ns();
	for (i = 0; i < rounds; i++)
		n += (size_t)tc_gso_segment(&h, big.b, big.len, 1514,
					    count_segment, NULL);
	t = now_ns() - t;
	printf("offload: %.1f ns per segment (64 KB TSO frame, MSS 1448)\n",
	       t / (double)n);
	seg(&tmp, false, 1, 0, 1448, F_ACK);
	cs = tcp_cs(&tmp);
	t = now_ns();
	for (i = 0; i < rounds; i++) {
		for (j = 0; j < 44; j++) {
			w32(tmp.b + tmp.l4 + TCP_SEQ, (uint32_t)(j * 1448));
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

	tcase_add_loop_test(tc, test_segment, 0, N_GSO);
	tcase_add_test(tc, test_segment_details);
	tcase_add_loop_test(tc, test_refused, 0, N_REFUSAL);
	tcase_add_test(tc, test_refused_control);
	tcase_add_loop_test(tc, test_truncated, 0, N_GSO);
	suite_add_tcase(s, tc);

	tc = tcase_create("join");
	tcase_add_checked_fixture(tc, gro_setup, gro_teardown);
	tcase_add_loop_test(tc, test_round_trip, 0, N_GSO);
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
