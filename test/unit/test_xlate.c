/*
 * Tests of tincan/xlate.c.  Each case is built twice by hand, once as the
 * peer sends it (the peer's addresses) and once as it must come out of the
 * translator (our view's addresses), both with checksums computed from
 * scratch by a routine written independently here (bytes summed by parity,
 * over an explicitly assembled pseudo-header); the rewritten frame must
 * equal the second build byte for byte, and every checksum in it is verified
 * again.  Refused frames must come back unchanged.  Then every truncation
 * of every accepted frame, fragment reassembly, 10000 random mutations, and
 * a throughput note.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tincan/xlate.h"

enum {
	PKT_MAX = 1600,
	ETH_HLEN = 14,
	ETH_TYPE = 12,
	VLAN_HLEN = 18,
	IP_HLEN = 20,
	IP_TOT = 2,
	IP_ID = 4,
	IP_FRAG = 6,
	IP_TTL = 8,
	IP_PROTO = 9,
	IP_CSUM = 10,
	IP_SRC = 12,
	IP_DST = 16,
	IP_MF = 0x2000,
	IP_OFF = 0x1fff,
	P_ICMP = 1,
	P_TCP = 6,
	P_UDP = 17,
	P_GRE = 47,
	TCP_HLEN = 20,
	TCP_CSUM = 16,
	UDP_HLEN = 8,
	UDP_LEN = 4,
	UDP_CSUM = 6,
	ICMP_HLEN = 8,
	ICMP_CSUM = 2,
	T_IPV4 = 0x0800,
	T_ARP = 0x0806,
	T_IPV6 = 0x86dd,
	T_VLAN = 0x8100,
	T_QINQ = 0x88a8,
};

/* The peer's own address, and us as the peer sees us. */
static const uint8_t PEER[4] = { 10, 8, 0, 2 };
static const uint8_t ME_THERE[4] = { 10, 8, 0, 9 };
/* The peer in our view, and our TAP address. */
static const uint8_t PEER_HERE[4] = { 172, 31, 0, 7 };
static const uint8_t ME[4] = { 172, 31, 0, 1 };
static const uint8_t OTHER[4] = { 10, 8, 0, 3 };
static const uint8_t BCAST[4] = { 255, 255, 255, 255 };
static const uint8_t MDNS[4] = { 224, 0, 0, 251 };
static const uint8_t SUBNET_BCAST[4] = { 10, 8, 255, 255 };

static const struct tc_xlate xl = {
	{ 10, 8, 0, 2 }, { 172, 31, 0, 7 }, { 172, 31, 0, 1 }
};

/* Outer addresses of one build: as sent (wire) or as expected (local). */
struct view {
	const uint8_t *src, *dst;
};
static const struct view wire = { PEER, ME_THERE };
static const struct view local = { PEER_HERE, ME };

struct pkt {
	uint8_t b[PKT_MAX];
	size_t len;
};

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (v >> 8) & 0xff;
	p[1] = v & 0xff;
}

static unsigned get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* ---- the independent checksum ---- */

/* Bytes at even and odd positions summed apart, combined at the end. */
struct sum {
	uint64_t even, odd;
	size_t pos;
};

static void sum_bytes(struct sum *s, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++, s->pos++) {
		if (s->pos % 2 == 0)
			s->even += p[i];
		else
			s->odd += p[i];
	}
}

static unsigned sum_fold(const struct sum *s)
{
	uint64_t v = s->even * 256 + s->odd;

	while (v > 0xffff)
		v = (v & 0xffff) + (v >> 16);
	return (unsigned)v;
}

static void sum_pseudo(struct sum *s, const uint8_t *ip, size_t l4len)
{
	uint8_t tail[4] = { 0, ip[IP_PROTO], (l4len >> 8) & 0xff,
			    l4len & 0xff };

	sum_bytes(s, ip + IP_SRC, 4);
	sum_bytes(s, ip + IP_DST, 4);
	sum_bytes(s, tail, sizeof(tail));
}

/* Folded sum of an L4 segment, with the pseudo-header if pseudo. */
static unsigned l4_sum(const uint8_t *ip, const uint8_t *l4, size_t n,
		       bool pseudo)
{
	struct sum s = { 0 };

	if (pseudo)
		sum_pseudo(&s, ip, n);
	sum_bytes(&s, l4, n);
	return sum_fold(&s);
}

static unsigned hdr_sum(const uint8_t *p, size_t n)
{
	struct sum s = { 0 };

	sum_bytes(&s, p, n);
	return sum_fold(&s);
}

/* The value for a zeroed checksum field. */
static unsigned csum_of(unsigned folded)
{
	return ~folded & 0xffff;
}

/* ---- building packets ---- */

struct ipspec {
	uint8_t proto;
	const uint8_t *src, *dst;
	const uint8_t *opts;
	size_t optlen;		/* a multiple of 4 */
	unsigned frag;
};

/* An IPv4 datagram at ip: header, options, then the l4 bytes. */
static size_t dgram(uint8_t *ip, const struct ipspec *s, const uint8_t *l4,
		    size_t l4len)
{
	size_t hlen = IP_HLEN + s->optlen;

	memset(ip, 0, IP_HLEN);
	ip[0] = 0x40 | (uint8_t)(hlen / 4);
	put16(ip + IP_TOT, (unsigned)(hlen + l4len));
	put16(ip + IP_ID, 0x4d2e);
	put16(ip + IP_FRAG, s->frag);
	ip[IP_TTL] = 64;
	ip[IP_PROTO] = s->proto;
	memcpy(ip + IP_SRC, s->src, 4);
	memcpy(ip + IP_DST, s->dst, 4);
	if (s->optlen > 0)
		memcpy(ip + IP_HLEN, s->opts, s->optlen);
	put16(ip + IP_CSUM, csum_of(hdr_sum(ip, hlen)));
	memcpy(ip + hlen, l4, l4len);
	return hlen + l4len;
}

static size_t eth(uint8_t *f, unsigned type, bool bcast)
{
	static const uint8_t dst[6] = { 0x02, 0xaa, 0, 0, 0, 0x01 };
	static const uint8_t src[6] = { 0x02, 0xbb, 0, 0, 0, 0x02 };

	if (bcast)
		memset(f, 0xff, 6);
	else
		memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	put16(f + ETH_TYPE, type);
	return ETH_HLEN;
}

static void frame_ip(struct pkt *p, const struct ipspec *s,
		     const uint8_t *l4, size_t l4len)
{
	size_t n = eth(p->b, T_IPV4, false);

	p->len = n + dgram(p->b + n, s, l4, l4len);
}

static void payload(uint8_t *p, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + seed);
}

/* A pseudo-header checksum for seg (length n) between src and dst. */
static unsigned seg_csum(const uint8_t *src, const uint8_t *dst,
			 uint8_t proto, const uint8_t *seg, size_t n)
{
	uint8_t ip[IP_HLEN] = { 0 };

	ip[IP_PROTO] = proto;
	memcpy(ip + IP_SRC, src, 4);
	memcpy(ip + IP_DST, dst, 4);
	return csum_of(l4_sum(ip, seg, n, true));
}

static size_t seg_tcp(uint8_t *t, const uint8_t *src, const uint8_t *dst,
		      size_t paylen)
{
	memset(t, 0, TCP_HLEN);
	put16(t, 40000);
	put16(t + 2, 22);
	put16(t + 4, 0x1234);
	put16(t + 6, 0x5678);
	t[12] = 5 << 4;
	t[13] = 0x18;
	put16(t + 14, 512);
	payload(t + TCP_HLEN, paylen, 3);
	put16(t + TCP_CSUM,
	      seg_csum(src, dst, P_TCP, t, TCP_HLEN + paylen));
	return TCP_HLEN + paylen;
}

/* with_csum false: the "no checksum" zero. */
static size_t seg_udp(uint8_t *u, const uint8_t *src, const uint8_t *dst,
		      size_t paylen, bool with_csum)
{
	unsigned c;

	put16(u, 5353);
	put16(u + 2, 33434);
	put16(u + UDP_LEN, (unsigned)(UDP_HLEN + paylen));
	put16(u + UDP_CSUM, 0);
	payload(u + UDP_HLEN, paylen, 11);
	if (!with_csum)
		return UDP_HLEN + paylen;
	c = seg_csum(src, dst, P_UDP, u, UDP_HLEN + paylen);
	put16(u + UDP_CSUM, c == 0 ? 0xffff : c);
	return UDP_HLEN + paylen;
}

static size_t seg_icmp(uint8_t *c, uint8_t type, uint8_t code,
		       const uint8_t *body, size_t n)
{
	memset(c, 0, ICMP_HLEN);
	c[0] = type;
	c[1] = code;
	if (type == 8) {
		put16(c + 4, 0x77);
		put16(c + 6, 1);
	}
	if (n > 0)
		memcpy(c + ICMP_HLEN, body, n);
	put16(c + ICMP_CSUM, csum_of(hdr_sum(c, ICMP_HLEN + n)));
	return ICMP_HLEN + n;
}

/* ---- the cases: each builds the frame for a view ---- */

static void b_tcp(struct pkt *p, const struct view *v)
{
	struct ipspec s = { P_TCP, v->src, v->dst, NULL, 0, 0 };
	uint8_t seg[PKT_MAX];

	frame_ip(p, &s, seg, seg_tcp(seg, v->src, v->dst, 100));
}

static void b_udp(struct pkt *p, const struct view *v)
{
	struct ipspec s = { P_UDP, v->src, v->dst, NULL, 0, 0 };
	uint8_t seg[PKT_MAX];

	frame_ip(p, &s, seg, seg_udp(seg, v->src, v->dst, 33, true));
}

static void b_udp_nocsum(struct pkt *p, const struct view *v)
{
	struct ipspec s = { P_UDP, v->src, v->dst, NULL, 0, 0 };
	uint8_t seg[PKT_MAX];

	frame_ip(p, &s, seg, seg_udp(seg, v->src, v->dst, 20, false));
}

/* The last payload word is chosen so that, between the local addresses,
 * the checksum computes to zero (and is sent as 0xffff). */
static void b_udp_becomes_zero(struct pkt *p, const struct view *v)
{
	struct ipspec s = { P_UDP, v->src, v->dst, NULL, 0, 0 };
	uint8_t seg[UDP_HLEN + 8];
	unsigned c;

	seg_udp(seg, local.src, local.dst, 8, false);
	put16(seg + UDP_HLEN + 6, 0);
	c = seg_csum(local.src, local.dst, P_UDP, seg, sizeof(seg));
	put16(seg + UDP_HLEN + 6, c);
	c = seg_csum(v->src, v->dst, P_UDP, seg, sizeof(seg));
	put16(seg + UDP_CSUM, c == 0 ? 0xffff : c);
	frame_ip(p, &s, seg, sizeof(seg));
}

static void b_icmp_echo(struct pkt *p, const struct view *v)
{
	struct ipspec s = { P_ICMP, v->src, v->dst, NULL, 0, 0 };
	uint8_t body[56], seg[PKT_MAX];

	payload(body, sizeof(body), 5);
	frame_ip(p, &s, seg, seg_icmp(seg, 8, 0, body, sizeof(body)));
}

static void b_gre(struct pkt *p, const struct view *v)
{
	struct ipspec s = { P_GRE, v->src, v->dst, NULL, 0, 0 };
	uint8_t seg[24];

	payload(seg, sizeof(seg), 9);
	frame_ip(p, &s, seg, sizeof(seg));
}

/* The packet an ICMP error quotes went from us to the peer: reversed. */
static size_t quoted(uint8_t *q, uint8_t proto, const struct view *v,
		     const uint8_t *qdst)
{
	struct ipspec s = { proto, v->dst, qdst, NULL, 0, 0 };
	uint8_t seg[64], body[12];
	size_t n;

	if (proto == P_UDP) {
		n = seg_udp(seg, v->dst, qdst, 4, true);
	} else if (proto == P_TCP) {
		n = seg_tcp(seg, v->dst, qdst, 0);
	} else {
		payload(body, sizeof(body), 1);
		n = seg_icmp(seg, 8, 0, body, sizeof(body));
	}
	return dgram(q, &s, seg, n);
}

/* An ICMP error quoting qlen bytes (0: all) of a packet of proto. */
static void icmp_err(struct pkt *p, const struct view *v, uint8_t type,
		     uint8_t proto, size_t qlen, const uint8_t *qdst)
{
	struct ipspec s = { P_ICMP, v->src, v->dst, NULL, 0, 0 };
	uint8_t q[128], seg[PKT_MAX];
	size_t n = quoted(q, proto, v, qdst);

	if (qlen != 0)
		n = qlen;
	frame_ip(p, &s, seg, seg_icmp(seg, type, type == 3 ? 3 : 0, q, n));
}

static void b_unreach_udp(struct pkt *p, const struct view *v)
{
	icmp_err(p, v, 3, P_UDP, 0, v->src);
}

static void b_unreach_tcp8(struct pkt *p, const struct view *v)
{
	icmp_err(p, v, 3, P_TCP, IP_HLEN + 8, v->src);
}

static void b_unreach_tcp_full(struct pkt *p, const struct view *v)
{
	icmp_err(p, v, 3, P_TCP, 0, v->src);
}

static void b_unreach_icmp(struct pkt *p, const struct view *v)
{
	icmp_err(p, v, 3, P_ICMP, 0, v->src);
}

static void b_timxceed_udp(struct pkt *p, const struct view *v)
{
	icmp_err(p, v, 11, P_UDP, 0, v->src);
}

static void b_paramprob_tcp(struct pkt *p, const struct view *v)
{
	icmp_err(p, v, 12, P_TCP, 0, v->src);
}

static void b_quench_udp(struct pkt *p, const struct view *v)
{
	icmp_err(p, v, 4, P_UDP, IP_HLEN + 8, v->src);
}

static void b_redirect_udp(struct pkt *p, const struct view *v)
{
	icmp_err(p, v, 5, P_UDP, 0, v->src);
}

/* An error quoting a later fragment: the bytes after the quoted header
 * are payload, not a UDP header, and stay as they are. */
static void b_unreach_frag(struct pkt *p, const struct view *v)
{
	struct ipspec qs = { P_UDP, v->dst, v->src, NULL, 0, 1 };
	struct ipspec s = { P_ICMP, v->src, v->dst, NULL, 0, 0 };
	uint8_t body[16], q[64], seg[PKT_MAX];
	size_t n;

	payload(body, sizeof(body), 13);
	n = dgram(q, &qs, body, sizeof(body));
	frame_ip(p, &s, seg, seg_icmp(seg, 3, 3, q, n));
}

/* An error about a packet to someone else: the peer may not say that. */
static void b_unreach_other(struct pkt *p, const struct view *v)
{
	icmp_err(p, v, 3, P_UDP, 0, OTHER);
}

static void b_unreach_short(struct pkt *p, const struct view *v)
{
	icmp_err(p, v, 3, P_UDP, IP_HLEN - 1, v->src);
}

/* The quote cut inside its own options. */
static void b_unreach_quote_ihl(struct pkt *p, const struct view *v)
{
	uint8_t *c;

	icmp_err(p, v, 3, P_UDP, IP_HLEN + 8, v->src);
	c = p->b + ETH_HLEN + IP_HLEN;
	c[ICMP_HLEN] = 0x4f;
	put16(c + ICMP_CSUM, 0);
	put16(c + ICMP_CSUM, csum_of(hdr_sum(c, ICMP_HLEN + IP_HLEN + 8)));
}

static void with_opts(struct pkt *p, const struct view *v, const uint8_t *o,
		      size_t n)
{
	struct ipspec s = { P_TCP, v->src, v->dst, o, n, 0 };
	uint8_t seg[PKT_MAX];

	frame_ip(p, &s, seg, seg_tcp(seg, v->src, v->dst, 40));
}

static void b_opt_nop_eol(struct pkt *p, const struct view *v)
{
	static const uint8_t o[] = { 1, 1, 1, 0 };

	with_opts(p, v, o, sizeof(o));
}

static void b_opt_timestamp(struct pkt *p, const struct view *v)
{
	static const uint8_t o[] = { 68, 12, 9, 0, 0, 1, 2, 3,
				     0, 0, 0, 0 };

	with_opts(p, v, o, sizeof(o));
}

static void b_opt_rr(struct pkt *p, const struct view *v)
{
	static const uint8_t o[] = { 7, 11, 8, 10, 8, 0, 1, 0, 0, 0, 0, 0 };

	with_opts(p, v, o, sizeof(o));
}

static void b_opt_lsrr(struct pkt *p, const struct view *v)
{
	static const uint8_t o[] = { 1, 131, 7, 4, 10, 8, 0, 5 };

	with_opts(p, v, o, sizeof(o));
}

static void b_opt_ssrr(struct pkt *p, const struct view *v)
{
	static const uint8_t o[] = { 137, 7, 4, 10, 8, 0, 5, 0 };

	with_opts(p, v, o, sizeof(o));
}

static void b_opt_len_short(struct pkt *p, const struct view *v)
{
	static const uint8_t o[] = { 68, 1, 0, 0 };

	with_opts(p, v, o, sizeof(o));
}

static void b_opt_len_over(struct pkt *p, const struct view *v)
{
	static const uint8_t o[] = { 1, 1, 68, 3 };

	with_opts(p, v, o, sizeof(o));
}

static void b_opt_len_cut(struct pkt *p, const struct view *v)
{
	static const uint8_t o[] = { 1, 1, 1, 68 };

	with_opts(p, v, o, sizeof(o));
}

/* One of the three fragments of an 80-byte TCP segment. */
enum { FRAG_SEG = 80, FRAG_A = 24, FRAG_B = 48 };

static void fragment(struct pkt *p, const struct view *v, size_t from,
		     size_t to, bool more)
{
	struct ipspec s = { P_TCP, v->src, v->dst, NULL, 0, 0 };
	uint8_t seg[FRAG_SEG];

	seg_tcp(seg, v->src, v->dst, FRAG_SEG - TCP_HLEN);
	s.frag = (unsigned)(from / 8) | (more ? IP_MF : 0);
	frame_ip(p, &s, seg + from, to - from);
}

static void b_frag_first(struct pkt *p, const struct view *v)
{
	fragment(p, v, 0, FRAG_A, true);
}

static void b_frag_middle(struct pkt *p, const struct view *v)
{
	fragment(p, v, FRAG_A, FRAG_B, true);
}

static void b_frag_last(struct pkt *p, const struct view *v)
{
	fragment(p, v, FRAG_B, FRAG_SEG, false);
}

/* Eight bytes of TCP in a first fragment (RFC 1858). */
static void b_frag_tiny(struct pkt *p, const struct view *v)
{
	fragment(p, v, 0, 8, true);
}

static void to_dst(struct pkt *p, const struct view *v, const uint8_t *dst)
{
	struct ipspec s = { P_UDP, v->src, dst, NULL, 0, 0 };
	uint8_t seg[PKT_MAX];

	frame_ip(p, &s, seg, seg_udp(seg, v->src, dst, 16, true));
}

static void b_bcast(struct pkt *p, const struct view *v)
{
	to_dst(p, v, BCAST);
}

static void b_mcast(struct pkt *p, const struct view *v)
{
	to_dst(p, v, MDNS);
}

static void b_eth_bcast(struct pkt *p, const struct view *v)
{
	to_dst(p, v, SUBNET_BCAST);
	memset(p->b, 0xff, 6);
}

static void b_wrong_src(struct pkt *p, const struct view *v)
{
	struct view o = { OTHER, v->dst };

	b_udp(p, &o);
}

static void b_padded(struct pkt *p, const struct view *v)
{
	struct ipspec s = { P_UDP, v->src, v->dst, NULL, 0, 0 };
	uint8_t seg[UDP_HLEN + 2];

	frame_ip(p, &s, seg, seg_udp(seg, v->src, v->dst, 2, true));
	memset(p->b + p->len, 0xa5, 60 - p->len);
	p->len = 60;
}

/* The frame moved four bytes up behind an 802.1Q tag of VLAN 5. */
static void tag(struct pkt *p)
{
	memmove(p->b + VLAN_HLEN, p->b + ETH_HLEN, p->len - ETH_HLEN);
	put16(p->b + VLAN_HLEN - 2, get16(p->b + ETH_TYPE));
	put16(p->b + ETH_TYPE, T_VLAN);
	put16(p->b + ETH_HLEN, 5);
	p->len += VLAN_HLEN - ETH_HLEN;
}

static void b_vlan_tcp(struct pkt *p, const struct view *v)
{
	b_tcp(p, v);
	tag(p);
}

static void b_vlan_twice(struct pkt *p, const struct view *v)
{
	b_tcp(p, v);
	tag(p);
	tag(p);
}

static void b_qinq(struct pkt *p, const struct view *v)
{
	b_tcp(p, v);
	tag(p);
	put16(p->b + ETH_TYPE, T_QINQ);
}

static void b_ipv6(struct pkt *p, const struct view *v)
{
	(void)v;
	p->len = eth(p->b, T_IPV6, false);
	memset(p->b + p->len, 0, 40);
	p->b[p->len] = 0x60;
	p->len += 40;
}

static void b_vlan_ipv6(struct pkt *p, const struct view *v)
{
	b_ipv6(p, v);
	tag(p);
}

static void b_arp(struct pkt *p, const struct view *v)
{
	(void)v;
	p->len = eth(p->b, T_ARP, true);
	memset(p->b + p->len, 0, 28);
	p->len += 28;
}

/* Breaks one header field of a built packet, with the header checksum
 * recomputed so that only the field is wrong. */
static void broken(struct pkt *p, size_t off, unsigned val, bool byte)
{
	uint8_t *ip = p->b + ETH_HLEN;

	if (byte)
		ip[off] = (uint8_t)val;
	else
		put16(ip + off, val);
	put16(ip + IP_CSUM, 0);
	put16(ip + IP_CSUM, csum_of(hdr_sum(ip, IP_HLEN)));
}

static void b_ihl4(struct pkt *p, const struct view *v)
{
	b_udp(p, v);
	broken(p, 0, 0x44, true);
}

static void b_ihl_over_tot(struct pkt *p, const struct view *v)
{
	/* 48 bytes of datagram, a 60-byte header. */
	b_udp_nocsum(p, v);
	broken(p, 0, 0x4f, true);
}

static void b_version6(struct pkt *p, const struct view *v)
{
	b_udp(p, v);
	broken(p, 0, 0x65, true);
}

static void b_tot_over(struct pkt *p, const struct view *v)
{
	b_udp(p, v);
	broken(p, IP_TOT, IP_HLEN + UDP_HLEN + 33 + 1, false);
}

static void b_tot_under(struct pkt *p, const struct view *v)
{
	b_udp(p, v);
	broken(p, IP_TOT, IP_HLEN - 1, false);
}

static void b_tot_short_udp(struct pkt *p, const struct view *v)
{
	b_udp(p, v);
	broken(p, IP_TOT, IP_HLEN + UDP_HLEN - 1, false);
}

static void b_bad_ip_csum(struct pkt *p, const struct view *v)
{
	b_udp(p, v);
	p->b[ETH_HLEN + IP_CSUM] ^= 0x40;
}

static void b_tcp_short(struct pkt *p, const struct view *v)
{
	struct ipspec s = { P_TCP, v->src, v->dst, NULL, 0, 0 };
	uint8_t seg[TCP_HLEN];

	seg_tcp(seg, v->src, v->dst, 0);
	frame_ip(p, &s, seg, TCP_HLEN - 1);
}

static void b_icmp_short(struct pkt *p, const struct view *v)
{
	struct ipspec s = { P_ICMP, v->src, v->dst, NULL, 0, 0 };
	uint8_t seg[ICMP_HLEN];

	seg_icmp(seg, 8, 0, NULL, 0);
	frame_ip(p, &s, seg, ICMP_HLEN - 1);
}

struct xcase {
	const char *name;
	void (*build)(struct pkt *p, const struct view *v);
	int expect;
};

#define OK_(fn) { #fn, fn, TC_XLATE_OK }
static const struct xcase ok_cases[] = {
	OK_(b_tcp), OK_(b_udp), OK_(b_udp_nocsum), OK_(b_udp_becomes_zero),
	OK_(b_icmp_echo), OK_(b_gre), OK_(b_unreach_udp), OK_(b_unreach_tcp8),
	OK_(b_unreach_tcp_full), OK_(b_unreach_icmp), OK_(b_timxceed_udp),
	OK_(b_paramprob_tcp), OK_(b_quench_udp), OK_(b_redirect_udp),
	OK_(b_unreach_frag),
	OK_(b_opt_nop_eol), OK_(b_opt_timestamp), OK_(b_opt_rr),
	OK_(b_frag_first), OK_(b_frag_middle), OK_(b_frag_last),
	OK_(b_bcast), OK_(b_mcast), OK_(b_eth_bcast), OK_(b_padded),
	OK_(b_vlan_tcp),
};
#define N_OK (int)(sizeof(ok_cases) / sizeof(ok_cases[0]))

static const struct xcase refused_cases[] = {
	{ "wrong source", b_wrong_src, -EPERM },
	{ "error about another host", b_unreach_other, -EPERM },
	{ "IPv6", b_ipv6, TC_XLATE_PASS },
	{ "tagged IPv6", b_vlan_ipv6, TC_XLATE_PASS },
	{ "ARP", b_arp, TC_XLATE_PASS },
	{ "two 802.1Q tags", b_vlan_twice, -EINVAL },
	{ "802.1ad tag", b_qinq, -EINVAL },
	{ "LSRR", b_opt_lsrr, -EINVAL },
	{ "SSRR", b_opt_ssrr, -EINVAL },
	{ "option length 1", b_opt_len_short, -EINVAL },
	{ "option past header", b_opt_len_over, -EINVAL },
	{ "option length cut", b_opt_len_cut, -EINVAL },
	{ "tiny first fragment", b_frag_tiny, -EINVAL },
	{ "IHL 4", b_ihl4, -EINVAL },
	{ "IHL past total length", b_ihl_over_tot, -EINVAL },
	{ "version 6", b_version6, -EINVAL },
	{ "total length > frame", b_tot_over, -EINVAL },
	{ "total length < IHL", b_tot_under, -EINVAL },
	{ "UDP header cut by total length", b_tot_short_udp, -EINVAL },
	{ "bad header checksum", b_bad_ip_csum, -EINVAL },
	{ "TCP header cut", b_tcp_short, -EINVAL },
	{ "ICMP header cut", b_icmp_short, -EINVAL },
	{ "quote shorter than a header", b_unreach_short, -EINVAL },
	{ "quote cut in its options", b_unreach_quote_ihl, -EINVAL },
};
#define N_REFUSED (int)(sizeof(refused_cases) / sizeof(refused_cases[0]))

/* ---- independent verification ---- */

/* Validity of each checksum found: -1 absent, 0 wrong, 1 right. */
struct sums {
	int ip, l4, emb_ip, emb_l4;
};

static int verdict(unsigned folded)
{
	return folded == 0xffff;
}

/* The IPv4 header of a frame, or NULL; sets the bytes after it. */
static const uint8_t *ip_of(const uint8_t *f, size_t len, size_t *avail)
{
	size_t off = ETH_HLEN;

	if (len >= VLAN_HLEN && get16(f + ETH_TYPE) == T_VLAN)
		off = VLAN_HLEN;
	if (len < off + IP_HLEN || get16(f + off - 2) != T_IPV4)
		return NULL;
	*avail = len - off;
	return f + off;
}

/* A TCP/UDP segment's checksum, when its checksum field is inside. */
static int seg_verdict(const uint8_t *ip, const uint8_t *l4, size_t n)
{
	if (ip[IP_PROTO] == P_TCP && n >= TCP_HLEN)
		return verdict(l4_sum(ip, l4, n, true));
	if (ip[IP_PROTO] == P_UDP && n >= UDP_HLEN)
		return get16(l4 + UDP_CSUM) == 0 ||
		       verdict(l4_sum(ip, l4, n, true));
	return -1;
}

static bool is_error(uint8_t type)
{
	return type == 3 || type == 4 || type == 5 || type == 11 ||
	       type == 12;
}

/* The quote of an ICMP error: its header, and its segment if all there. */
static void quote_sums(const uint8_t *q, size_t qlen, struct sums *s)
{
	size_t ehl, etot;

	if (qlen < IP_HLEN || q[0] >> 4 != 4)
		return;
	ehl = (size_t)(q[0] & 15) * 4;
	etot = get16(q + IP_TOT);
	if (ehl < IP_HLEN || ehl > qlen)
		return;
	s->emb_ip = verdict(hdr_sum(q, ehl));
	if ((get16(q + IP_FRAG) & (IP_MF | IP_OFF)) == 0 && etot <= qlen &&
	    etot >= ehl)
		s->emb_l4 = seg_verdict(q, q + ehl, etot - ehl);
}

static void l4_sums(const uint8_t *ip, const uint8_t *l4, size_t n,
		    struct sums *s)
{
	if (ip[IP_PROTO] != P_ICMP) {
		s->l4 = seg_verdict(ip, l4, n);
		return;
	}
	if (n < ICMP_HLEN)
		return;
	s->l4 = verdict(l4_sum(ip, l4, n, false));
	if (is_error(l4[0]))
		quote_sums(l4 + ICMP_HLEN, n - ICMP_HLEN, s);
}

static void check_sums(const uint8_t *f, size_t len, struct sums *s)
{
	const uint8_t *ip;
	size_t avail, hl, tot;

	s->ip = s->l4 = s->emb_ip = s->emb_l4 = -1;
	ip = ip_of(f, len, &avail);
	if (ip == NULL)
		return;
	hl = (size_t)(ip[0] & 15) * 4;
	tot = get16(ip + IP_TOT);
	if (hl < IP_HLEN || hl > tot || tot > avail)
		return;
	s->ip = verdict(hdr_sum(ip, hl));
	if ((get16(ip + IP_FRAG) & (IP_MF | IP_OFF)) == 0)
		l4_sums(ip, ip + hl, tot - hl, s);
}

static void assert_all_valid(const struct pkt *p)
{
	struct sums s;

	check_sums(p->b, p->len, &s);
	ck_assert_int_eq(s.ip, 1);
	ck_assert_int_ne(s.l4, 0);
	ck_assert_int_ne(s.emb_ip, 0);
	ck_assert_int_ne(s.emb_l4, 0);
}

/* ---- tests ---- */

static void run_case(const struct xcase *c)
{
	struct pkt in, orig, want;
	int rc;

	c->build(&in, &wire);
	orig = in;
	if (c->expect == TC_XLATE_OK)
		assert_all_valid(&in);
	rc = tc_xlate_rewrite(in.b, in.len, &xl);
	ck_assert_msg(rc == c->expect, "%s: %d, want %d", c->name, rc,
		      c->expect);
	if (rc != TC_XLATE_OK) {
		ck_assert_mem_eq(in.b, orig.b, orig.len);
		return;
	}
	c->build(&want, &local);
	ck_assert_uint_eq(in.len, want.len);
	ck_assert_msg(memcmp(in.b, want.b, want.len) == 0, "%s differs",
		      c->name);
	assert_all_valid(&in);
}

START_TEST(test_ok)
{
	run_case(&ok_cases[_i]);
}
END_TEST

START_TEST(test_refused)
{
	run_case(&refused_cases[_i]);
}
END_TEST

/* Pins down the details the byte comparison only implies. */
START_TEST(test_details)
{
	struct pkt p;
	const uint8_t *ip = p.b + ETH_HLEN, *q;

	b_udp_becomes_zero(&p, &wire);
	ck_assert_uint_ne(get16(ip + IP_HLEN + UDP_CSUM), 0xffff);
	ck_assert_int_eq(tc_xlate_rewrite(p.b, p.len, &xl), TC_XLATE_OK);
	ck_assert_uint_eq(get16(ip + IP_HLEN + UDP_CSUM), 0xffff);

	b_udp_nocsum(&p, &wire);
	ck_assert_int_eq(tc_xlate_rewrite(p.b, p.len, &xl), TC_XLATE_OK);
	ck_assert_uint_eq(get16(ip + IP_HLEN + UDP_CSUM), 0);

	b_mcast(&p, &wire);
	ck_assert_int_eq(tc_xlate_rewrite(p.b, p.len, &xl), TC_XLATE_OK);
	ck_assert_mem_eq(ip + IP_SRC, PEER_HERE, 4);
	ck_assert_mem_eq(ip + IP_DST, MDNS, 4);

	/* The quote is rewritten in reverse. */
	b_unreach_udp(&p, &wire);
	ck_assert_int_eq(tc_xlate_rewrite(p.b, p.len, &xl), TC_XLATE_OK);
	q = ip + IP_HLEN + ICMP_HLEN;
	ck_assert_mem_eq(ip + IP_SRC, PEER_HERE, 4);
	ck_assert_mem_eq(ip + IP_DST, ME, 4);
	ck_assert_mem_eq(q + IP_SRC, ME, 4);
	ck_assert_mem_eq(q + IP_DST, PEER_HERE, 4);
}
END_TEST

/* RFC 1624's own example: 0xdd2f over a word 0x5555 -> 0x3285 gives
 * 0x0000; here over a 4-byte field, compared with a full recomputation. */
START_TEST(test_csum_update4)
{
	uint8_t hdr[IP_HLEN], c[2];
	const uint8_t newsrc[4] = { 0x32, 0x85, 0, 0 };
	const uint8_t oldsrc[4] = { 0x55, 0x55, 0, 0 };

	c[0] = 0xdd;
	c[1] = 0x2f;
	tc_xlate_csum_update4(c, oldsrc, newsrc);
	ck_assert_uint_eq(get16(c), 0x0000);

	memset(hdr, 0, sizeof(hdr));
	hdr[0] = 0x45;
	memcpy(hdr + IP_SRC, PEER, 4);
	memcpy(hdr + IP_DST, ME_THERE, 4);
	put16(hdr + IP_CSUM, csum_of(hdr_sum(hdr, IP_HLEN)));
	tc_xlate_csum_update4(hdr + IP_CSUM, hdr + IP_SRC, PEER_HERE);
	memcpy(hdr + IP_SRC, PEER_HERE, 4);
	ck_assert_uint_eq(hdr_sum(hdr, IP_HLEN), 0xffff);
}
END_TEST

/* Every prefix of an accepted frame shorter than its datagram is refused
 * and left alone; each is copied into a buffer of exactly that size, so
 * that the sanitizer build catches a read past it. */
START_TEST(test_truncated)
{
	const struct xcase *c = &ok_cases[_i];
	const uint8_t *ip;
	struct pkt p;
	size_t n, avail, end;
	uint8_t *buf;
	int rc;

	c->build(&p, &wire);
	ip = ip_of(p.b, p.len, &avail);
	ck_assert_ptr_nonnull(ip);
	end = (size_t)(ip - p.b) + get16(ip + IP_TOT);
	for (n = 0; n < p.len; n++) {
		buf = malloc(n > 0 ? n : 1);
		memcpy(buf, p.b, n);
		rc = tc_xlate_rewrite(buf, n, &xl);
		if (n < end) {
			ck_assert_msg(rc == -EINVAL, "%s cut to %zu: %d",
				      c->name, n, rc);
			ck_assert(memcmp(buf, p.b, n) == 0);
		} else {
			ck_assert_int_eq(rc, TC_XLATE_OK);
		}
		free(buf);
	}
}
END_TEST

/* The three fragments rewritten one by one and put together again carry
 * a TCP checksum that is right for the new addresses. */
START_TEST(test_reassembly)
{
	struct pkt a, b, c;
	uint8_t seg[FRAG_SEG];
	const uint8_t *ip = a.b + ETH_HLEN;

	b_frag_first(&a, &wire);
	b_frag_middle(&b, &wire);
	b_frag_last(&c, &wire);
	ck_assert_int_eq(tc_xlate_rewrite(a.b, a.len, &xl), TC_XLATE_OK);
	ck_assert_int_eq(tc_xlate_rewrite(b.b, b.len, &xl), TC_XLATE_OK);
	ck_assert_int_eq(tc_xlate_rewrite(c.b, c.len, &xl), TC_XLATE_OK);
	memcpy(seg, a.b + ETH_HLEN + IP_HLEN, FRAG_A);
	memcpy(seg + FRAG_A, b.b + ETH_HLEN + IP_HLEN, FRAG_B - FRAG_A);
	memcpy(seg + FRAG_B, c.b + ETH_HLEN + IP_HLEN, FRAG_SEG - FRAG_B);
	ck_assert_mem_eq(ip + IP_SRC, PEER_HERE, 4);
	ck_assert_mem_eq(ip + IP_DST, ME, 4);
	ck_assert_uint_eq(l4_sum(ip, seg, sizeof(seg), true), 0xffff);
	ck_assert_uint_eq(hdr_sum(b.b + ETH_HLEN, IP_HLEN), 0xffff);
	ck_assert_uint_eq(hdr_sum(c.b + ETH_HLEN, IP_HLEN), 0xffff);
}
END_TEST

/* ---- random mutations ---- */

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

/* The outer header checksum made right again, when the header is there. */
static void refix_ip(struct pkt *p)
{
	size_t avail;
	const uint8_t *found = ip_of(p->b, p->len, &avail);
	uint8_t *ip;
	size_t hl;

	if (found == NULL)
		return;
	ip = p->b + (found - p->b);
	hl = (size_t)(ip[0] & 15) * 4;
	if (hl < IP_HLEN || hl > avail)
		return;
	put16(ip + IP_CSUM, 0);
	put16(ip + IP_CSUM, csum_of(hdr_sum(ip, hl)));
}

static void mutate(struct pkt *p)
{
	unsigned k, n = 1 + rnd() % 4;
	size_t span;

	for (k = 0; k < n; k++) {
		span = rnd() % 5 != 0 && p->len > 80 ? 80 : p->len;
		p->b[rnd() % span] ^= (uint8_t)(1 + rnd() % 255);
	}
	if (rnd() % 8 == 0)
		p->len = rnd() % (p->len + 1);
	if (rnd() % 2 == 0)
		refix_ip(p);
}

enum { N_RANDOM = 10000 };

/* Refused and unchanged, or rewritten with a right header checksum and
 * every other checksum exactly as right or wrong as it was. */
static int random_one(void)
{
	struct pkt p, orig;
	struct sums before, after;
	int rc;

	ok_cases[rnd() % N_OK].build(&p, &wire);
	mutate(&p);
	orig = p;
	check_sums(p.b, p.len, &before);
	rc = tc_xlate_rewrite(p.b, p.len, &xl);
	if (rc != TC_XLATE_OK) {
		ck_assert(memcmp(p.b, orig.b, p.len) == 0);
		return rc;
	}
	check_sums(p.b, p.len, &after);
	ck_assert_int_eq(before.ip, 1);
	ck_assert_int_eq(after.ip, 1);
	ck_assert_int_eq(after.l4, before.l4);
	ck_assert_int_eq(after.emb_ip, before.emb_ip);
	ck_assert_int_eq(after.emb_l4, before.emb_l4);
	ck_assert_mem_eq(p.b, orig.b, ETH_HLEN);
	return rc;
}

START_TEST(test_random)
{
	unsigned i, ok = 0, inval = 0, perm = 0, pass = 0;
	int rc;

	for (i = 0; i < N_RANDOM; i++) {
		rc = random_one();
		ok += rc == TC_XLATE_OK;
		inval += rc == -EINVAL;
		perm += rc == -EPERM;
		pass += rc == TC_XLATE_PASS;
	}
	ck_assert_uint_eq(ok + inval + perm + pass, N_RANDOM);
	/* Both outcomes must be exercised for the loop to mean anything. */
	ck_assert_uint_gt(ok, N_RANDOM / 10);
	ck_assert_uint_gt(inval, N_RANDOM / 10);
	printf("xlate random: %u rewritten, %u invalid, %u refused source, "
	       "%u passed\n", ok, inval, perm, pass);
	fflush(stdout);
}
END_TEST

/* A note, not an assertion: the cost of one rewrite of a 1400-byte TCP
 * packet, translated there and back in turns. */
START_TEST(test_throughput)
{
	static const struct tc_xlate back = {
		{ 172, 31, 0, 7 }, { 10, 8, 0, 2 }, { 10, 8, 0, 9 }
	};
	struct ipspec s = { P_TCP, PEER, ME_THERE, NULL, 0, 0 };
	struct timespec t0, t1;
	uint8_t seg[PKT_MAX];
	struct pkt p, orig;
	long i, n = 1000000;
	int bad = 0;
	double ns;

	frame_ip(&p, &s, seg, seg_tcp(seg, PEER, ME_THERE, 1400 - 40));
	orig = p;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++)
		bad |= tc_xlate_rewrite(p.b, p.len, i % 2 ? &back : &xl);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_int_eq(bad, 0);
	ck_assert_mem_eq(p.b, orig.b, p.len);
	ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 +
	      (double)(t1.tv_nsec - t0.tv_nsec)) / (double)n;
	printf("xlate: %.1f ns per 1400-byte TCP packet (%ld rewrites)\n",
	       ns, n);
	fflush(stdout);
}
END_TEST

Suite *suite_xlate(void)
{
	Suite *s = suite_create("xlate");
	TCase *tc = tcase_create("cases");

	tcase_add_loop_test(tc, test_ok, 0, N_OK);
	tcase_add_loop_test(tc, test_refused, 0, N_REFUSED);
	tcase_add_test(tc, test_details);
	tcase_add_test(tc, test_csum_update4);
	tcase_add_test(tc, test_reassembly);
	suite_add_tcase(s, tc);

	tc = tcase_create("robust");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_truncated, 0, N_OK);
	tcase_add_test(tc, test_random);
	tcase_add_test(tc, test_throughput);
	suite_add_tcase(s, tc);
	return s;
}
