/*
 * TAP offloads: cutting TSO frames from the local kernel into MSS-sized
 * segments (tc_gso_segment), joining consecutive TCP segments from links
 * into one GSO frame for the local kernel (struct tc_gro), and refreshing
 * a partial checksum's pseudo-header sum (tc_csum_set_pseudo).  This module
 * owns the per-TAP joiner state and its flow buffers; it does no I/O and
 * never completes a TCP checksum: segments and joined frames keep partial
 * checksums, with the pseudo-header sum for their own length in the field.
 * Every header is parsed from the frame itself (the virtio header's
 * hdr_len is not trusted, csum_start must agree with the parse), and every
 * length is checked before an offset is read.
 *
 * What is parsed, and why:
 * - Ethernet, with at most one 802.1Q tag for segmentation and
 *   tc_csum_set_pseudo; the joiner takes untagged frames only (a tagged
 *   frame passes through unjoined).
 * - IPv4 with or without options, never a fragment (MF or an offset): a
 *   fragment has no TCP header to cut at.  Trailing bytes after the IPv4
 *   total length (or IPv6 payload length) are Ethernet padding and are
 *   dropped from segments.
 * - IPv6 with the transport header at csum_start: either directly after
 *   the fixed header (next header TCP/UDP), or after hop-by-hop and
 *   destination options headers, which are walked to check that they end
 *   exactly at csum_start with TCP/UDP next.  A routing header is refused:
 *   the pseudo-header would need the final destination from inside it.
 *   The joiner takes IPv6 with TCP directly after the fixed header only.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <glib.h>

#include "tincan/bytes.h"
#include "tincan/ether.h"
#include "tincan/offload.h"

/* Ethernet, with at most one 802.1Q tag. */
enum {
	ETH_TYPE = 12,
	VLAN_INNER_TYPE = 16,
	VLAN_HLEN = 18,
};

/* IPv4 header (RFC 791). */
enum {
	IP4_VIHL = 0,
	IP4_TOTLEN = 2,
	IP4_ID = 4,
	IP4_FRAG = 6,
	IP4_PROTO = 9,
	IP4_CSUM = 10,
	IP4_SRC = 12,
	IP4_MINLEN = 20,
	IP4_ADDRS_LEN = 8,
	IP4_VIHL_PLAIN = 0x45, /* version 4, no options */
	IP4_FRAGMASK = 0x3fff, /* MF and the offset; DF is allowed */
};

/* IPv6 header (RFC 8200) and the extension headers walked. */
enum {
	IP6_PLEN = 4,
	IP6_NEXT = 6,
	IP6_SRC = 8,
	IP6_HLEN = 40,
	IP6_ADDRS_LEN = 32,
	IP6_HOPOPTS = 0,
	IP6_DSTOPTS = 60,
	IP6_EXT_UNIT = 8,
};

/* TCP (RFC 9293) and UDP. */
enum {
	PROTO_TCP = 6,
	PROTO_UDP = 17,
	TCP_PORTS_LEN = 4,
	TCP_SEQ = 4,
	TCP_ACK = 8,
	TCP_DOFF = 12,
	TCP_FLAGS = 13,
	TCP_WIN = 14,
	TCP_CSUM = 16,
	TCP_URG = 18,
	TCP_MINLEN = 20,
	UDP_CSUM = 6,
	UDP_HLEN = 8,
	TH_FIN = 0x01,
	TH_PSH = 0x08,
	TH_ACK = 0x10,
	TH_CWR = 0x80,
};

/* Where the headers of a datagram are, once checked. */
struct l3 {
	size_t l3;  /* IP header */
	size_t l4;  /* transport header (csum_start) */
	size_t end; /* end of the datagram, padding excluded */
	uint8_t proto;
	bool v6;
};

/* One joined frame in the making. */
struct flow {
	uint8_t *buf; /* TC_GRO_MAX bytes, allocated on first use */
	size_t len;
	uint64_t born; /* start order, for eviction and flushing */
	uint32_t next_seq;
	uint32_t segs;
	size_t mss; /* payload of the first segment */
	size_t l4;
	size_t hlen; /* Ethernet + IP + TCP headers */
	bool busy;
	bool v6;
};

struct tc_gro {
	tc_gro_out_fn out;
	void *ctx;
	struct flow flows[TC_GRO_FLOWS];
	uint64_t clock;
	uint64_t joined;
	uint64_t segments;
};

/* A joinable segment, parsed. */
struct seg {
	const uint8_t *f;
	size_t len;
	size_t l4;
	size_t hlen;
	size_t plen;
	uint32_t seq;
	uint8_t flags;
	bool v6;
};

/* Segments are built here, one at a time: no allocation per frame.  A
 * pointer, allocated on first use: a static per-thread array would be
 * zeroed (resident) in every thread of the process. */
static _Thread_local uint8_t *seg_buf;

/* Folded but not complemented: what a partial checksum field holds. */
static uint16_t fold(uint32_t sum)
{
	return (uint16_t)~tc_csum_fold(sum);
}

bool tc_csum_valid(const struct tc_csum *cs, size_t len)
{
	return cs != NULL && cs->start >= TC_ETH_HLEN &&
	       (size_t)cs->start + cs->offset + 2 <= len;
}

/* The ethertype and the IP header's offset, after at most one tag. */
static int parse_eth(const uint8_t *f, size_t len, size_t *l3, uint16_t *type)
{
	if (len < TC_ETH_HLEN)
		return -EINVAL;
	*type = tc_get16(f + ETH_TYPE);
	*l3 = TC_ETH_HLEN;
	if (*type != TC_ETHERTYPE_VLAN)
		return 0;
	if (len < VLAN_HLEN)
		return -EINVAL;
	*type = tc_get16(f + VLAN_INNER_TYPE);
	*l3 = VLAN_HLEN;
	return 0;
}

/* An unfragmented IPv4 datagram whose transport header is at start. */
static int parse_ip4(const uint8_t *f, size_t len, size_t start, struct l3 *p)
{
	const uint8_t *ip = f + p->l3;
	size_t ihl, tot;

	if (len - p->l3 < IP4_MINLEN || ip[IP4_VIHL] >> 4 != 4)
		return -EINVAL;
	ihl = (size_t)(ip[IP4_VIHL] & 15) * 4;
	tot = tc_get16(ip + IP4_TOTLEN);
	if (ihl < IP4_MINLEN || tot < ihl || tot > len - p->l3)
		return -EINVAL;
	if ((tc_get16(ip + IP4_FRAG) & IP4_FRAGMASK) != 0 ||
	    start != p->l3 + ihl)
		return -EINVAL;
	p->l4 = start;
	p->end = p->l3 + tot;
	p->proto = ip[IP4_PROTO];
	p->v6 = false;
	return 0;
}

/* Walks hop-by-hop and destination options headers from the fixed header
 * to start; they must end there exactly. */
static int walk_ip6(const uint8_t *f, size_t start, struct l3 *p)
{
	size_t pos = p->l3 + IP6_HLEN;
	uint8_t next = f[p->l3 + IP6_NEXT];

	while (pos < start) {
		if (next != IP6_HOPOPTS && next != IP6_DSTOPTS)
			return -EINVAL;
		if (p->end - pos < 2)
			return -EINVAL;
		next = f[pos];
		pos += ((size_t)f[pos + 1] + 1) * IP6_EXT_UNIT;
	}
	if (pos != start)
		return -EINVAL;
	p->proto = next;
	return 0;
}

/* An IPv6 datagram whose transport header is at start. */
static int parse_ip6(const uint8_t *f, size_t len, size_t start, struct l3 *p)
{
	const uint8_t *ip = f + p->l3;
	size_t plen;

	if (len - p->l3 < IP6_HLEN || ip[0] >> 4 != 6)
		return -EINVAL;
	plen = tc_get16(ip + IP6_PLEN);
	if (plen > len - p->l3 - IP6_HLEN)
		return -EINVAL;
	p->end = p->l3 + IP6_HLEN + plen;
	if (start < p->l3 + IP6_HLEN || start > p->end)
		return -EINVAL;
	p->l4 = start;
	p->v6 = true;
	return walk_ip6(f, start, p);
}

/* The IP layer of frame, with the transport header at start. */
static int parse_l3(const uint8_t *f, size_t len, size_t start, struct l3 *p)
{
	uint16_t type;

	if (parse_eth(f, len, &p->l3, &type) < 0)
		return -EINVAL;
	if (type == TC_ETHERTYPE_IPV4)
		return parse_ip4(f, len, start, p);
	if (type == TC_ETHERTYPE_IPV6)
		return parse_ip6(f, len, start, p);
	return -EINVAL;
}

/* The pseudo-header sum without the transport length. */
static uint32_t addr_sum(const uint8_t *f, const struct l3 *p)
{
	if (p->v6)
		return tc_csum_add(p->proto, f + p->l3 + IP6_SRC,
				   IP6_ADDRS_LEN);
	return tc_csum_add(p->proto, f + p->l3 + IP4_SRC, IP4_ADDRS_LEN);
}

/* Recomputes an IPv4 header checksum (a few words, not the payload). */
static void ip4_fix_csum(uint8_t *ip)
{
	size_t ihl = (size_t)(ip[IP4_VIHL] & 15) * 4;

	tc_put16(ip + IP4_CSUM, 0);
	tc_put16(ip + IP4_CSUM, tc_csum_fold(tc_csum_add(0, ip, ihl)));
}

int tc_csum_set_pseudo(uint8_t *frame, size_t len, const struct tc_csum *cs)
{
	struct l3 p;
	size_t need;

	/* untrusted: a peer's frame, after translation */
	if (!tc_csum_valid(cs, len) || parse_l3(frame, len, cs->start, &p) < 0)
		return -EINVAL;
	if (p.proto == PROTO_TCP && cs->offset == TCP_CSUM)
		need = TCP_MINLEN;
	else if (p.proto == PROTO_UDP && cs->offset == UDP_CSUM)
		need = UDP_HLEN;
	else
		return -EINVAL;
	if (p.end - p.l4 < need)
		return -EINVAL;
	tc_put16(frame + p.l4 + cs->offset,
		 fold(addr_sum(frame, &p) + (uint32_t)(p.end - p.l4)));
	return 0;
}

/* Segmentation: one TSO frame, checked once, then cut. */

int tc_gso_begin(struct tc_gso_cut *c, const struct virtio_net_hdr *h,
		 const uint8_t *f, size_t len, size_t seg_max)
{
	unsigned type = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
	struct l3 p;
	size_t thl, payload;

	/* untrusted: from the local kernel */
	if ((type != VIRTIO_NET_HDR_GSO_TCPV4 &&
	     type != VIRTIO_NET_HDR_GSO_TCPV6) ||
	    h->gso_size == 0)
		return -EINVAL;
	if (parse_l3(f, len, h->csum_start, &p) < 0 || p.proto != PROTO_TCP ||
	    p.v6 != (type == VIRTIO_NET_HDR_GSO_TCPV6))
		return -EINVAL;
	if (p.end - p.l4 < TCP_MINLEN)
		return -EINVAL;
	thl = (size_t)(f[p.l4 + TCP_DOFF] >> 4) * 4;
	if (thl < TCP_MINLEN || thl > p.end - p.l4)
		return -EINVAL;
	c->hlen = p.l4 + thl;
	c->mss = h->gso_size;
	if (c->hlen + c->mss > seg_max || c->hlen + c->mss > TC_GSO_MAX)
		return -EINVAL;
	payload = p.end - c->hlen;
	c->nseg = payload == 0 ? 1 : (payload + c->mss - 1) / c->mss;
	c->next = 0;
	c->frame = f;
	c->l3 = p.l3;
	c->l4 = p.l4;
	c->end = p.end;
	c->v6 = p.v6;
	c->asum = addr_sum(f, &p);
	c->seq0 = tc_get32(f + p.l4 + TCP_SEQ);
	c->flags0 = f[p.l4 + TCP_FLAGS];
	c->id0 = p.v6 ? 0 : tc_get16(f + p.l3 + IP4_ID);
	c->cs.start = (uint16_t)p.l4;
	c->cs.offset = TCP_CSUM;
	return (int)c->nseg;
}

size_t tc_gso_next_len(const struct tc_gso_cut *c)
{
	size_t off = c->hlen + c->next * c->mss;

	if (c->next >= c->nseg)
		return 0;
	return c->hlen + MIN(c->mss, c->end - off);
}

/* Rewrites the headers copied into seg for segment i of plen bytes. */
static void gso_fix(const struct tc_gso_cut *c, uint8_t *seg, size_t i,
		    size_t plen)
{
	uint8_t *ip = seg + c->l3;
	uint8_t *th = seg + c->l4;
	size_t tcplen = c->hlen - c->l4 + plen;
	uint8_t flags = c->flags0;

	if (c->v6) {
		tc_put16(ip + IP6_PLEN,
			 (uint16_t)(c->hlen + plen - c->l3 - IP6_HLEN));
	} else {
		tc_put16(ip + IP4_TOTLEN, (uint16_t)(c->hlen + plen - c->l3));
		tc_put16(ip + IP4_ID, (uint16_t)(c->id0 + i));
		ip4_fix_csum(ip);
	}
	if (i + 1 < c->nseg)
		flags &= (uint8_t) ~(TH_FIN | TH_PSH);
	if (i > 0)
		flags &= (uint8_t)~TH_CWR;
	tc_put32(th + TCP_SEQ, c->seq0 + (uint32_t)(i * c->mss));
	th[TCP_FLAGS] = flags;
	tc_put16(th + TCP_CSUM, fold(c->asum + (uint32_t)tcplen));
}

size_t tc_gso_next(struct tc_gso_cut *c, uint8_t *out, size_t cap)
{
	size_t n = tc_gso_next_len(c);
	size_t plen;

	if (n == 0 || n > cap)
		return 0;
	plen = n - c->hlen;
	memcpy(out, c->frame, c->hlen);
	memcpy(out + c->hlen, c->frame + c->hlen + c->next * c->mss, plen);
	gso_fix(c, out, c->next, plen);
	c->next++;
	return n;
}

void tc_gso_skip(struct tc_gso_cut *c)
{
	if (c->next < c->nseg)
		c->next++;
}

int tc_gso_segment(const struct virtio_net_hdr *h, const uint8_t *frame,
		   size_t len, size_t seg_max, tc_segment_fn emit, void *ctx)
{
	struct tc_gso_cut c;
	size_t n;

	if (tc_gso_begin(&c, h, frame, len, seg_max) < 0)
		return -EINVAL;
	if (seg_buf == NULL)
		seg_buf = g_malloc(TC_GSO_MAX);
	while ((n = tc_gso_next(&c, seg_buf, TC_GSO_MAX)) > 0)
		emit(ctx, seg_buf, n, &c.cs);
	return (int)c.nseg;
}

/* The joiner. */

struct tc_gro *tc_gro_new(tc_gro_out_fn out, void *ctx)
{
	struct tc_gro *g = g_new0(struct tc_gro, 1);

	g->out = out;
	g->ctx = ctx;
	return g;
}

void tc_gro_free(struct tc_gro *g)
{
	size_t i;

	if (g == NULL)
		return;
	for (i = 0; i < TC_GRO_FLOWS; i++)
		g_free(g->flows[i].buf);
	g_free(g);
}

void tc_gro_counts(const struct tc_gro *g, uint64_t *joined, uint64_t *segments)
{
	*joined = g->joined;
	*segments = g->segments;
}

void tc_csum_vnet_hdr(const struct tc_csum *cs, struct virtio_net_hdr *h)
{
	memset(h, 0, sizeof(*h));
	if (cs != NULL && cs->start != 0) {
		h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h->csum_start = cs->start;
		h->csum_offset = cs->offset;
	}
}

/* A frame that is not joined leaves as it is. */
static void pass(struct tc_gro *g, const uint8_t *f, size_t len,
		 const struct tc_csum *cs)
{
	struct virtio_net_hdr h;

	tc_csum_vnet_hdr(cs, &h);
	g->out(g->ctx, &h, f, len);
}

/* The IP part of a joinable segment: no tag, no options, no fragment, no
 * extension header, and no padding (the length fills the frame). */
static bool seg_ip(const uint8_t *f, size_t len, struct seg *s)
{
	const uint8_t *ip = f + TC_ETH_HLEN;
	uint16_t type = tc_get16(f + ETH_TYPE);

	if (type == TC_ETHERTYPE_IPV4) {
		s->l4 = TC_ETH_HLEN + IP4_MINLEN;
		return len >= s->l4 && ip[IP4_VIHL] == IP4_VIHL_PLAIN &&
		       (tc_get16(ip + IP4_FRAG) & IP4_FRAGMASK) == 0 &&
		       ip[IP4_PROTO] == PROTO_TCP &&
		       tc_get16(ip + IP4_TOTLEN) == len - TC_ETH_HLEN;
	}
	if (type == TC_ETHERTYPE_IPV6) {
		s->l4 = TC_ETH_HLEN + IP6_HLEN;
		s->v6 = true;
		return len >= s->l4 && ip[0] >> 4 == 6 &&
		       ip[IP6_NEXT] == PROTO_TCP &&
		       tc_get16(ip + IP6_PLEN) == len - s->l4;
	}
	return false;
}

/* Whether f is a partial TCP segment with payload that may be joined. */
static bool seg_parse(const uint8_t *f, size_t len, const struct tc_csum *cs,
		      struct seg *s)
{
	size_t thl;

	if (cs == NULL || cs->offset != TCP_CSUM || len < TC_ETH_HLEN ||
	    len > TC_GRO_MAX)
		return false;
	s->v6 = false;
	if (!seg_ip(f, len, s) || cs->start != s->l4 ||
	    len - s->l4 < TCP_MINLEN)
		return false;
	thl = (size_t)(f[s->l4 + TCP_DOFF] >> 4) * 4;
	if (thl < TCP_MINLEN || thl >= len - s->l4)
		return false;
	s->flags = f[s->l4 + TCP_FLAGS];
	if ((s->flags & ~TH_PSH) != TH_ACK)
		return false;
	s->f = f;
	s->len = len;
	s->hlen = s->l4 + thl;
	s->plen = len - s->hlen;
	s->seq = tc_get32(f + s->l4 + TCP_SEQ);
	return true;
}

/* Same addresses, ports and IP version. */
static bool same_flow(const struct flow *fl, const struct seg *s)
{
	const uint8_t *a = fl->buf, *b = s->f;

	if (fl->v6 != s->v6)
		return false;
	if (s->v6 ? memcmp(a + TC_ETH_HLEN + IP6_SRC, b + TC_ETH_HLEN + IP6_SRC,
			   IP6_ADDRS_LEN) != 0
		  : memcmp(a + TC_ETH_HLEN + IP4_SRC, b + TC_ETH_HLEN + IP4_SRC,
			   IP4_ADDRS_LEN) != 0)
		return false;
	return memcmp(a + fl->l4, b + s->l4, TCP_PORTS_LEN) == 0;
}

/* The IP headers agree but for length, id and checksum (IPv4) or the
 * payload length (IPv6); the addresses were compared by same_flow. */
static bool same_ip(const uint8_t *a, const uint8_t *b, bool v6)
{
	a += TC_ETH_HLEN;
	b += TC_ETH_HLEN;
	if (v6)
		return memcmp(a, b, IP6_PLEN) == 0 &&
		       memcmp(a + IP6_NEXT, b + IP6_NEXT, 2) == 0;
	return memcmp(a, b, IP4_TOTLEN) == 0 &&
	       memcmp(a + IP4_FRAG, b + IP4_FRAG, IP4_CSUM - IP4_FRAG) == 0;
}

/* s is the next segment of fl: Ethernet and IP headers equal, TCP equal
 * but for sequence number, window, checksum and PSH, in order, no bigger
 * than the first, and the result fits. */
static bool continues(const struct flow *fl, const struct seg *s)
{
	const uint8_t *a = fl->buf + fl->l4, *b = s->f + s->l4;

	if (s->seq != fl->next_seq || s->plen > fl->mss ||
	    s->hlen != fl->hlen || fl->len + s->plen > TC_GRO_MAX)
		return false;
	if (memcmp(fl->buf, s->f, TC_ETH_HLEN) != 0 ||
	    !same_ip(fl->buf, s->f, s->v6))
		return false;
	return memcmp(a + TCP_ACK, b + TCP_ACK, TCP_FLAGS - TCP_ACK) == 0 &&
	       memcmp(a + TCP_URG, b + TCP_URG, fl->hlen - fl->l4 - TCP_URG) ==
		   0;
}

/* A joined frame's headers: lengths and the pseudo-header sum for the
 * whole TCP length. */
static void finish_joined(struct flow *fl, struct virtio_net_hdr *h)
{
	uint8_t *ip = fl->buf + TC_ETH_HLEN;
	struct l3 p = {TC_ETH_HLEN, fl->l4, fl->len, PROTO_TCP, fl->v6};

	if (fl->v6) {
		tc_put16(ip + IP6_PLEN, (uint16_t)(fl->len - fl->l4));
	} else {
		tc_put16(ip + IP4_TOTLEN, (uint16_t)(fl->len - TC_ETH_HLEN));
		ip4_fix_csum(ip);
	}
	tc_put16(fl->buf + fl->l4 + TCP_CSUM,
		 fold(addr_sum(fl->buf, &p) + (uint32_t)(fl->len - fl->l4)));
	h->gso_type =
	    fl->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
	h->gso_size = (uint16_t)fl->mss;
	h->hdr_len = (uint16_t)fl->hlen;
}

/* The flow's pending frame leaves; its slot is free again. */
static void flow_out(struct tc_gro *g, struct flow *fl)
{
	const struct tc_csum cs = {(uint16_t)fl->l4, TCP_CSUM};
	struct virtio_net_hdr h;

	tc_csum_vnet_hdr(&cs, &h);
	if (fl->segs > 1) {
		finish_joined(fl, &h);
		g->joined++;
		g->segments += fl->segs;
	}
	fl->busy = false;
	g->out(g->ctx, &h, fl->buf, fl->len);
}

static struct flow *oldest(struct tc_gro *g)
{
	struct flow *best = NULL;
	size_t i;

	for (i = 0; i < TC_GRO_FLOWS; i++)
		if (g->flows[i].busy &&
		    (best == NULL || g->flows[i].born < best->born))
			best = &g->flows[i];
	return best;
}

/* The pending flow s belongs to, or NULL. */
static struct flow *find(struct tc_gro *g, const struct seg *s)
{
	size_t i;

	for (i = 0; i < TC_GRO_FLOWS; i++)
		if (g->flows[i].busy && same_flow(&g->flows[i], s))
			return &g->flows[i];
	return NULL;
}

/* A free slot, made by sending the oldest flow off if needed. */
static struct flow *free_slot(struct tc_gro *g)
{
	struct flow *fl;
	size_t i;

	for (i = 0; i < TC_GRO_FLOWS; i++)
		if (!g->flows[i].busy)
			return &g->flows[i];
	fl = oldest(g);
	flow_out(g, fl);
	return fl;
}

/* s starts a new pending frame in the free slot fl. */
static void start(struct tc_gro *g, struct flow *fl, const struct seg *s)
{
	if (fl->buf == NULL)
		fl->buf = g_malloc(TC_GRO_MAX);
	memcpy(fl->buf, s->f, s->len);
	fl->len = s->len;
	fl->born = g->clock++;
	fl->next_seq = s->seq + (uint32_t)s->plen;
	fl->segs = 1;
	fl->mss = s->plen;
	fl->l4 = s->l4;
	fl->hlen = s->hlen;
	fl->v6 = s->v6;
	fl->busy = true;
}

/* s continues fl; a PSH or a short segment ends the frame, which leaves. */
static void append(struct tc_gro *g, struct flow *fl, const struct seg *s)
{
	uint8_t *th = fl->buf + fl->l4;

	memcpy(fl->buf + fl->len, s->f + s->hlen, s->plen);
	fl->len += s->plen;
	fl->next_seq += (uint32_t)s->plen;
	fl->segs++;
	memcpy(th + TCP_WIN, s->f + s->l4 + TCP_WIN, 2);
	th[TCP_FLAGS] |= s->flags & TH_PSH;
	if ((s->flags & TH_PSH) || s->plen < fl->mss)
		flow_out(g, fl);
}

void tc_gro_frame(struct tc_gro *g, const uint8_t *frame, size_t len,
		  const struct tc_csum *cs)
{
	struct seg s;
	struct flow *fl;

	/* untrusted: from a peer */
	if (!seg_parse(frame, len, cs, &s)) {
		tc_gro_flush(g);
		pass(g, frame, len, cs);
		return;
	}
	fl = find(g, &s);
	if (fl != NULL && continues(fl, &s)) {
		append(g, fl, &s);
		return;
	}
	if (fl != NULL)
		flow_out(g, fl);
	if (s.flags & TH_PSH) {
		pass(g, frame, len, cs);
		return;
	}
	start(g, fl != NULL ? fl : free_slot(g), &s);
}

void tc_gro_flush(struct tc_gro *g)
{
	struct flow *fl;

	while ((fl = oldest(g)) != NULL)
		flow_out(g, fl);
}
