/*
 * The frames of test_xlate.c's cases and their independent checksums: see
 * xlate_cases.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "xlate_cases.h"

const uint8_t PEER[4] = {10, 8, 0, 2};
const uint8_t ME_THERE[4] = {10, 8, 0, 9};
/* The peer in our view, and our TAP address. */
const uint8_t PEER_HERE[4] = {172, 31, 0, 7};
const uint8_t ME[4] = {172, 31, 0, 1};
static const uint8_t OTHER[4] = {10, 8, 0, 3};
static const uint8_t BCAST[4] = {255, 255, 255, 255};
const uint8_t MDNS[4] = {224, 0, 0, 251};
static const uint8_t SUBNET_BCAST[4] = {10, 8, 255, 255};

const struct tc_xlate xl = {{10, 8, 0, 2}, {172, 31, 0, 7}, {172, 31, 0, 1}};

const struct view wire = {PEER, ME_THERE};
const struct view local = {PEER_HERE, ME};

void put16(uint8_t *p, unsigned v)
{
	p[0] = (v >> 8) & 0xff;
	p[1] = v & 0xff;
}

unsigned get16(const uint8_t *p)
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
	uint8_t tail[4] = {0, ip[IP_PROTO], (l4len >> 8) & 0xff, l4len & 0xff};

	sum_bytes(s, ip + IP_SRC, 4);
	sum_bytes(s, ip + IP_DST, 4);
	sum_bytes(s, tail, sizeof(tail));
}

/* Folded sum of an L4 segment, with the pseudo-header if pseudo. */
unsigned l4_sum(const uint8_t *ip, const uint8_t *l4, size_t n, bool pseudo)
{
	struct sum s = {0};

	if (pseudo)
		sum_pseudo(&s, ip, n);
	sum_bytes(&s, l4, n);
	return sum_fold(&s);
}

unsigned hdr_sum(const uint8_t *p, size_t n)
{
	struct sum s = {0};

	sum_bytes(&s, p, n);
	return sum_fold(&s);
}

/* The value for a zeroed checksum field. */
unsigned csum_of(unsigned folded)
{
	return ~folded & 0xffff;
}

/* ---- building packets ---- */

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
	static const uint8_t dst[6] = {0x02, 0xaa, 0, 0, 0, 0x01};
	static const uint8_t src[6] = {0x02, 0xbb, 0, 0, 0, 0x02};

	if (bcast)
		memset(f, 0xff, 6);
	else
		memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	put16(f + ETH_TYPE, type);
	return ETH_HLEN;
}

void frame_ip(struct pkt *p, const struct ipspec *s, const uint8_t *l4,
	      size_t l4len)
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
static unsigned seg_csum(const uint8_t *src, const uint8_t *dst, uint8_t proto,
			 const uint8_t *seg, size_t n)
{
	uint8_t ip[IP_HLEN] = {0};

	ip[IP_PROTO] = proto;
	memcpy(ip + IP_SRC, src, 4);
	memcpy(ip + IP_DST, dst, 4);
	return csum_of(l4_sum(ip, seg, n, true));
}

size_t seg_tcp(uint8_t *t, const uint8_t *src, const uint8_t *dst,
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
	put16(t + TCP_CSUM, seg_csum(src, dst, P_TCP, t, TCP_HLEN + paylen));
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
	struct ipspec s = {P_TCP, v->src, v->dst, NULL, 0, 0};
	uint8_t seg[PKT_MAX];

	frame_ip(p, &s, seg, seg_tcp(seg, v->src, v->dst, 100));
}

static void b_udp(struct pkt *p, const struct view *v)
{
	struct ipspec s = {P_UDP, v->src, v->dst, NULL, 0, 0};
	uint8_t seg[PKT_MAX];

	frame_ip(p, &s, seg, seg_udp(seg, v->src, v->dst, 33, true));
}

void b_udp_nocsum(struct pkt *p, const struct view *v)
{
	struct ipspec s = {P_UDP, v->src, v->dst, NULL, 0, 0};
	uint8_t seg[PKT_MAX];

	frame_ip(p, &s, seg, seg_udp(seg, v->src, v->dst, 20, false));
}

/* The last payload word is chosen so that, between the local addresses,
 * the checksum computes to zero (and is sent as 0xffff). */
void b_udp_becomes_zero(struct pkt *p, const struct view *v)
{
	struct ipspec s = {P_UDP, v->src, v->dst, NULL, 0, 0};
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
	struct ipspec s = {P_ICMP, v->src, v->dst, NULL, 0, 0};
	uint8_t body[56], seg[PKT_MAX];

	payload(body, sizeof(body), 5);
	frame_ip(p, &s, seg, seg_icmp(seg, 8, 0, body, sizeof(body)));
}

static void b_gre(struct pkt *p, const struct view *v)
{
	struct ipspec s = {P_GRE, v->src, v->dst, NULL, 0, 0};
	uint8_t seg[24];

	payload(seg, sizeof(seg), 9);
	frame_ip(p, &s, seg, sizeof(seg));
}

/* The packet an ICMP error quotes went from us to the peer: reversed. */
static size_t quoted(uint8_t *q, uint8_t proto, const struct view *v,
		     const uint8_t *qdst)
{
	struct ipspec s = {proto, v->dst, qdst, NULL, 0, 0};
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
	struct ipspec s = {P_ICMP, v->src, v->dst, NULL, 0, 0};
	uint8_t q[128], seg[PKT_MAX];
	size_t n = quoted(q, proto, v, qdst);

	if (qlen != 0)
		n = qlen;
	frame_ip(p, &s, seg, seg_icmp(seg, type, type == 3 ? 3 : 0, q, n));
}

void b_unreach_udp(struct pkt *p, const struct view *v)
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
	struct ipspec qs = {P_UDP, v->dst, v->src, NULL, 0, 1};
	struct ipspec s = {P_ICMP, v->src, v->dst, NULL, 0, 0};
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
	struct ipspec s = {P_TCP, v->src, v->dst, o, n, 0};
	uint8_t seg[PKT_MAX];

	frame_ip(p, &s, seg, seg_tcp(seg, v->src, v->dst, 40));
}

static void b_opt_nop_eol(struct pkt *p, const struct view *v)
{
	static const uint8_t o[] = {1, 1, 1, 0};

	with_opts(p, v, o, sizeof(o));
}

static void b_opt_timestamp(struct pkt *p, const struct view *v)
{
	static const uint8_t o[] = {68, 12, 9, 0, 0, 1, 2, 3, 0, 0, 0, 0};

	with_opts(p, v, o, sizeof(o));
}

static void b_opt_rr(struct pkt *p, const struct view *v)
{
	static const uint8_t o[] = {7, 11, 8, 10, 8, 0, 1, 0, 0, 0, 0, 0};

	with_opts(p, v, o, sizeof(o));
}

static void b_opt_lsrr(struct pkt *p, const struct view *v)
{
	static const uint8_t o[] = {1, 131, 7, 4, 10, 8, 0, 5};

	with_opts(p, v, o, sizeof(o));
}

static void b_opt_ssrr(struct pkt *p, const struct view *v)
{
	static const uint8_t o[] = {137, 7, 4, 10, 8, 0, 5, 0};

	with_opts(p, v, o, sizeof(o));
}

static void b_opt_len_short(struct pkt *p, const struct view *v)
{
	static const uint8_t o[] = {68, 1, 0, 0};

	with_opts(p, v, o, sizeof(o));
}

static void b_opt_len_over(struct pkt *p, const struct view *v)
{
	static const uint8_t o[] = {1, 1, 68, 3};

	with_opts(p, v, o, sizeof(o));
}

static void b_opt_len_cut(struct pkt *p, const struct view *v)
{
	static const uint8_t o[] = {1, 1, 1, 68};

	with_opts(p, v, o, sizeof(o));
}

/* One of the three fragments of an 80-byte TCP segment. */

static void fragment(struct pkt *p, const struct view *v, size_t from,
		     size_t to, bool more)
{
	struct ipspec s = {P_TCP, v->src, v->dst, NULL, 0, 0};
	uint8_t seg[FRAG_SEG];

	seg_tcp(seg, v->src, v->dst, FRAG_SEG - TCP_HLEN);
	s.frag = (unsigned)(from / 8) | (more ? IP_MF : 0);
	frame_ip(p, &s, seg + from, to - from);
}

void b_frag_first(struct pkt *p, const struct view *v)
{
	fragment(p, v, 0, FRAG_A, true);
}

void b_frag_middle(struct pkt *p, const struct view *v)
{
	fragment(p, v, FRAG_A, FRAG_B, true);
}

void b_frag_last(struct pkt *p, const struct view *v)
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
	struct ipspec s = {P_UDP, v->src, dst, NULL, 0, 0};
	uint8_t seg[PKT_MAX];

	frame_ip(p, &s, seg, seg_udp(seg, v->src, dst, 16, true));
}

static void b_bcast(struct pkt *p, const struct view *v)
{
	to_dst(p, v, BCAST);
}

void b_mcast(struct pkt *p, const struct view *v)
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
	struct view o = {OTHER, v->dst};

	b_udp(p, &o);
}

static void b_padded(struct pkt *p, const struct view *v)
{
	struct ipspec s = {P_UDP, v->src, v->dst, NULL, 0, 0};
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
	struct ipspec s = {P_TCP, v->src, v->dst, NULL, 0, 0};
	uint8_t seg[TCP_HLEN];

	seg_tcp(seg, v->src, v->dst, 0);
	frame_ip(p, &s, seg, TCP_HLEN - 1);
}

static void b_icmp_short(struct pkt *p, const struct view *v)
{
	struct ipspec s = {P_ICMP, v->src, v->dst, NULL, 0, 0};
	uint8_t seg[ICMP_HLEN];

	seg_icmp(seg, 8, 0, NULL, 0);
	frame_ip(p, &s, seg, ICMP_HLEN - 1);
}

#define OK_(fn)                                                                \
	{                                                                      \
#fn, fn, TC_XLATE_OK                                           \
	}
const struct xcase ok_cases[] = {
    OK_(b_tcp),
    OK_(b_udp),
    OK_(b_udp_nocsum),
    OK_(b_udp_becomes_zero),
    OK_(b_icmp_echo),
    OK_(b_gre),
    OK_(b_unreach_udp),
    OK_(b_unreach_tcp8),
    OK_(b_unreach_tcp_full),
    OK_(b_unreach_icmp),
    OK_(b_timxceed_udp),
    OK_(b_paramprob_tcp),
    OK_(b_quench_udp),
    OK_(b_redirect_udp),
    OK_(b_unreach_frag),
    OK_(b_opt_nop_eol),
    OK_(b_opt_timestamp),
    OK_(b_opt_rr),
    OK_(b_frag_first),
    OK_(b_frag_middle),
    OK_(b_frag_last),
    OK_(b_bcast),
    OK_(b_mcast),
    OK_(b_eth_bcast),
    OK_(b_padded),
    OK_(b_vlan_tcp),
};
const int n_ok_cases = (int)(sizeof(ok_cases) / sizeof(ok_cases[0]));

const struct xcase refused_cases[] = {
    {"wrong source", b_wrong_src, -EPERM},
    {"error about another host", b_unreach_other, -EPERM},
    {"IPv6", b_ipv6, TC_XLATE_PASS},
    {"tagged IPv6", b_vlan_ipv6, TC_XLATE_PASS},
    {"ARP", b_arp, TC_XLATE_PASS},
    {"two 802.1Q tags", b_vlan_twice, -EINVAL},
    {"802.1ad tag", b_qinq, -EINVAL},
    {"LSRR", b_opt_lsrr, -EINVAL},
    {"SSRR", b_opt_ssrr, -EINVAL},
    {"option length 1", b_opt_len_short, -EINVAL},
    {"option past header", b_opt_len_over, -EINVAL},
    {"option length cut", b_opt_len_cut, -EINVAL},
    {"tiny first fragment", b_frag_tiny, -EINVAL},
    {"IHL 4", b_ihl4, -EINVAL},
    {"IHL past total length", b_ihl_over_tot, -EINVAL},
    {"version 6", b_version6, -EINVAL},
    {"total length > frame", b_tot_over, -EINVAL},
    {"total length < IHL", b_tot_under, -EINVAL},
    {"UDP header cut by total length", b_tot_short_udp, -EINVAL},
    {"bad header checksum", b_bad_ip_csum, -EINVAL},
    {"TCP header cut", b_tcp_short, -EINVAL},
    {"ICMP header cut", b_icmp_short, -EINVAL},
    {"quote shorter than a header", b_unreach_short, -EINVAL},
    {"quote cut in its options", b_unreach_quote_ihl, -EINVAL},
};
const int n_refused_cases =
    (int)(sizeof(refused_cases) / sizeof(refused_cases[0]));
