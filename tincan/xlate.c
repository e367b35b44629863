/*
 * SocialVPN receive-side translation of IPv4 packets inside Ethernet frames.
 * A frame is first parsed completely into a plan (where the fields to
 * rewrite are), with every length checked before an offset is read; only a
 * plan that passed every check, the source check included, is applied, so
 * a refused frame is never half-rewritten.  Checksums are only ever
 * updated incrementally (RFC 1624, eqn. 3): the payload is never summed.
 *
 * What is accepted, and why:
 * - Ethernet type IPv4, directly or behind one 802.1Q tag.  Stacked tags
 *   and 802.1ad tags are refused rather than passed, so no IPv4 packet can
 *   reach the TAP untranslated and with an unchecked source.  Other types
 *   (IPv6, ARP, a tagged IPv6 packet...) pass untouched.
 * - IPv4 version 4, IHL >= 5 within the datagram, total length within the
 *   frame (trailing Ethernet padding is left as it is), and a correct header
 *   checksum: a packet the kernel would drop anyway is refused here, where
 *   it can be counted.  L4 checksums are not verified (that would cost a
 *   pass over the payload); the incremental update keeps a wrong one wrong.
 * - Options must be well formed.  Loose and strict source routes are
 *   refused: they carry the real destination inside the option, in the
 *   peer's view.  Other options (record route, timestamp...) hold router
 *   addresses, not the end points, and are left as they are.
 * - Non-first fragments get the IP header rewritten only.  An unfragmented
 *   packet or a first fragment must hold the whole minimal TCP header (20
 *   bytes, which also refuses RFC 1858 tiny fragments), the UDP header or
 *   the ICMP header; their pseudo-header checksums are updated there.
 * - ICMP errors must quote a whole IPv4 header, whose destination must be
 *   the peer's own address (a peer may not report on our traffic to anyone
 *   else); the quoted header is rewritten in reverse, with its checksum, and
 *   the quoted TCP or UDP checksum too when the quote reaches it.  The
 *   gateway of a redirect is not translated.
 * Other L4 protocols (and DCCP, UDP-Lite, whose checksums would need the
 * pseudo-header too) get the IP header rewritten only.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "tincan/bytes.h"
#include "tincan/ether.h"
#include "tincan/xlate.h"

/* Ethernet, with at most one 802.1Q tag. */
enum {
	ETH_DST = 0,
	ETH_TYPE = 12,
	VLAN_INNER_TYPE = 16,
	VLAN_HLEN = 18,
	ETHERTYPE_QINQ = 0x88a8,
};

/* IPv4 header (RFC 791). */
enum {
	IP4_VIHL = 0,
	IP4_TOTLEN = 2,
	IP4_FRAG = 6,
	IP4_PROTO = 9,
	IP4_CSUM = 10,
	IP4_SRC = 12,
	IP4_DST = 16,
	IP4_MINLEN = 20,
	IP4_ADDR_LEN = 4,
	IP4_MF = 0x2000,
	IP4_OFFMASK = 0x1fff,
	IPOPT_EOL = 0,
	IPOPT_NOP = 1,
	IPOPT_LSRR = 131,
	IPOPT_SSRR = 137,
	IPOPT_MINLEN = 2,
};

/* Transport headers: where the checksum is and how much must be there. */
enum {
	PROTO_ICMP = 1,
	PROTO_TCP = 6,
	PROTO_UDP = 17,
	TCP_CSUM = 16,
	TCP_MINLEN = 20,
	UDP_CSUM = 6,
	UDP_HLEN = 8,
	CSUM_LEN = 2,
	ICMP_CSUM = 2,
	ICMP_HLEN = 8,
	ICMP_UNREACH = 3,
	ICMP_SOURCEQUENCH = 4,
	ICMP_REDIRECT = 5,
	ICMP_TIMXCEED = 11,
	ICMP_PARAMPROB = 12,
};

/* Where to write, found by parse() before anything is written. */
struct plan {
	uint8_t *ip;
	bool keep_dst;	   /* broadcast or multicast destination */
	uint8_t *l4_csum;  /* pseudo-header checksum, or NULL */
	bool l4_udp;	   /* a zero l4_csum means "none" */
	uint8_t *icmp;	   /* an ICMP error to rewrite the quote of */
	uint8_t *emb;	   /* the quoted IPv4 header */
	uint8_t *emb_csum; /* the quoted TCP/UDP checksum, or NULL */
	bool emb_udp;
};

static const uint8_t ip4_bcast[IP4_ADDR_LEN] = {255, 255, 255, 255};
static const uint8_t eth_bcast[TC_ETH_ALEN] = {255, 255, 255, 255, 255, 255};

/* Adds ~old + new, word by word, for a field of n (even) bytes. */
static uint32_t delta(uint32_t acc, const uint8_t *old, const uint8_t *new_,
		      size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		acc +=
		    (uint16_t)~tc_get16(old + i) + (uint32_t)tc_get16(new_ + i);
	return acc;
}

/* HC' = ~(~HC + acc), acc being the sum of ~m + m' (RFC 1624, eqn. 3). */
static void csum_apply(uint8_t csum[2], uint32_t acc)
{
	uint32_t sum = (uint16_t)~tc_get16(csum) + acc;

	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	tc_put16(csum, (uint16_t)~sum);
}

void tc_xlate_csum_update4(uint8_t csum[2], const uint8_t old[4],
			   const uint8_t new_[4])
{
	csum_apply(csum, delta(0, old, new_, IP4_ADDR_LEN));
}

/* Overwrites an address and returns acc plus its change. */
static uint32_t replace_addr(uint8_t *field, const uint8_t *new_, uint32_t acc)
{
	acc = delta(acc, field, new_, IP4_ADDR_LEN);
	memcpy(field, new_, IP4_ADDR_LEN);
	return acc;
}

/* Applies the pseudo-header change d to an L4 checksum (UDP: zero stays
 * zero, and a computed zero is sent as 0xffff, RFC 768); returns acc plus
 * the change of the checksum field itself, for an enclosing ICMP checksum. */
static uint32_t update_l4(uint8_t *csum, bool udp, uint32_t d, uint32_t acc)
{
	uint8_t old[CSUM_LEN];

	if (udp && tc_get16(csum) == 0)
		return acc;
	memcpy(old, csum, CSUM_LEN);
	csum_apply(csum, d);
	if (udp && tc_get16(csum) == 0)
		tc_put16(csum, 0xffff);
	return delta(acc, old, csum, CSUM_LEN);
}

/* ---- parsing: nothing below writes ---- */

/* Finds the IPv4 header behind Ethernet and at most one 802.1Q tag. */
static int find_ip(uint8_t *frame, size_t len, uint8_t **ip, size_t *avail)
{
	size_t hlen = TC_ETH_HLEN;
	uint16_t type;

	if (len < TC_ETH_HLEN)
		return -EINVAL;
	type = tc_get16(frame + ETH_TYPE);
	if (type == TC_ETHERTYPE_VLAN) {
		if (len < VLAN_HLEN)
			return -EINVAL;
		hlen = VLAN_HLEN;
		type = tc_get16(frame + VLAN_INNER_TYPE);
		if (type == TC_ETHERTYPE_VLAN)
			return -EINVAL;
	}
	if (type == ETHERTYPE_QINQ)
		return -EINVAL;
	if (type != TC_ETHERTYPE_IPV4)
		return TC_XLATE_PASS;
	*ip = frame + hlen;
	*avail = len - hlen;
	return 0;
}

/* One's complement sum of the header is all ones when it is correct. */
static bool ip_csum_ok(const uint8_t *ip, size_t hlen)
{
	return tc_csum_fold(tc_csum_add(0, ip, hlen)) == 0;
}

/* Options well formed, and no source route among them. */
static int options_ok(const uint8_t *ip, size_t hlen)
{
	size_t i = IP4_MINLEN, olen;

	while (i < hlen && ip[i] != IPOPT_EOL) {
		if (ip[i] == IPOPT_NOP) {
			i++;
			continue;
		}
		if (hlen - i < IPOPT_MINLEN)
			return -EINVAL;
		olen = ip[i + 1];
		if (olen < IPOPT_MINLEN || olen > hlen - i)
			return -EINVAL;
		if (ip[i] == IPOPT_LSRR || ip[i] == IPOPT_SSRR)
			return -EINVAL;
		i += olen;
	}
	return 0;
}

/* Version 4, header and total length within avail, correct checksum,
 * options well formed.  Sets the header and datagram lengths. */
static int ip_header_ok(const uint8_t *ip, size_t avail, size_t *hlen,
			size_t *tot)
{
	if (avail < IP4_MINLEN || ip[IP4_VIHL] >> 4 != 4)
		return -EINVAL;
	*hlen = (size_t)(ip[IP4_VIHL] & 0x0f) * 4;
	*tot = tc_get16(ip + IP4_TOTLEN);
	if (*hlen < IP4_MINLEN || *tot < *hlen || *tot > avail)
		return -EINVAL;
	if (!ip_csum_ok(ip, *hlen))
		return -EINVAL;
	return options_ok(ip, *hlen);
}

static bool is_icmp_error(uint8_t type)
{
	return type == ICMP_UNREACH || type == ICMP_SOURCEQUENCH ||
	       type == ICMP_REDIRECT || type == ICMP_TIMXCEED ||
	       type == ICMP_PARAMPROB;
}

/* The quoted L4 checksum, if the quote reaches it and the quoted header
 * is a first fragment (a later one quotes payload, not a header). */
static void parse_quoted_l4(struct plan *p, size_t ehlen, size_t qlen)
{
	uint8_t *l4 = p->emb + ehlen;
	size_t l4len = qlen - ehlen;

	if ((tc_get16(p->emb + IP4_FRAG) & IP4_OFFMASK) != 0)
		return;
	if (p->emb[IP4_PROTO] == PROTO_TCP && l4len >= TCP_CSUM + CSUM_LEN)
		p->emb_csum = l4 + TCP_CSUM;
	if (p->emb[IP4_PROTO] == PROTO_UDP && l4len >= UDP_CSUM + CSUM_LEN) {
		p->emb_csum = l4 + UDP_CSUM;
		p->emb_udp = true;
	}
}

/* untrusted: the quote of an ICMP error (qlen bytes after its header).
 * Only the quoted addresses and checksums are rewritten, so the quoted
 * header need not be correct beyond its version and length. */
static int parse_quote(struct plan *p, uint8_t *icmp, size_t qlen)
{
	uint8_t *emb = icmp + ICMP_HLEN;
	size_t ehlen;

	if (qlen < IP4_MINLEN || emb[IP4_VIHL] >> 4 != 4)
		return -EINVAL;
	ehlen = (size_t)(emb[IP4_VIHL] & 0x0f) * 4;
	if (ehlen < IP4_MINLEN || ehlen > qlen)
		return -EINVAL;
	p->icmp = icmp;
	p->emb = emb;
	parse_quoted_l4(p, ehlen, qlen);
	return 0;
}

/* The transport header of an unfragmented packet or a first fragment. */
static int parse_l4(struct plan *p, uint8_t *l4, size_t l4len)
{
	switch (p->ip[IP4_PROTO]) {
	case PROTO_TCP:
		if (l4len < TCP_MINLEN)
			return -EINVAL;
		p->l4_csum = l4 + TCP_CSUM;
		return 0;
	case PROTO_UDP:
		if (l4len < UDP_HLEN)
			return -EINVAL;
		p->l4_csum = l4 + UDP_CSUM;
		p->l4_udp = true;
		return 0;
	case PROTO_ICMP:
		if (l4len < ICMP_HLEN)
			return -EINVAL;
		if (!is_icmp_error(l4[0]))
			return 0;
		return parse_quote(p, l4, l4len - ICMP_HLEN);
	default:
		return 0;
	}
}

static bool keeps_dst(const uint8_t *frame, const uint8_t *ip)
{
	return memcmp(ip + IP4_DST, ip4_bcast, IP4_ADDR_LEN) == 0 ||
	       (ip[IP4_DST] & 0xf0) == 0xe0 ||
	       memcmp(frame + ETH_DST, eth_bcast, TC_ETH_ALEN) == 0;
}

/* untrusted: a frame from a peer.  Fills p, or returns why not. */
static int parse(uint8_t *frame, size_t len, struct plan *p)
{
	size_t avail, hlen, tot;
	int rc;

	memset(p, 0, sizeof(*p));
	rc = find_ip(frame, len, &p->ip, &avail);
	if (rc != 0)
		return rc;
	rc = ip_header_ok(p->ip, avail, &hlen, &tot);
	if (rc != 0)
		return rc;
	p->keep_dst = keeps_dst(frame, p->ip);
	/* Later fragments carry no L4 header: the IP header is all. */
	if ((tc_get16(p->ip + IP4_FRAG) & IP4_OFFMASK) != 0)
		return 0;
	return parse_l4(p, p->ip + hlen, tot - hlen);
}

/* A peer may only send from its own address, and only report errors
 * about packets sent to it. */
static int sources_ok(const struct plan *p, const struct tc_xlate *x)
{
	if (memcmp(p->ip + IP4_SRC, x->src_from, IP4_ADDR_LEN) != 0)
		return -EPERM;
	if (p->emb != NULL &&
	    memcmp(p->emb + IP4_DST, x->src_from, IP4_ADDR_LEN) != 0)
		return -EPERM;
	return 0;
}

/* ---- applying a checked plan ---- */

/* The quoted header went the other way: its destination (the peer) becomes
 * src_to, its source (us, in the peer's view) dst_to.  Every byte changed
 * in the quote is accounted for in the ICMP checksum. */
static void rewrite_quote(const struct plan *p, const struct tc_xlate *x)
{
	uint32_t d, icmp;

	d = replace_addr(p->emb + IP4_SRC, x->dst_to, 0);
	d = replace_addr(p->emb + IP4_DST, x->src_to, d);
	icmp = update_l4(p->emb + IP4_CSUM, false, d, d);
	if (p->emb_csum != NULL)
		icmp = update_l4(p->emb_csum, p->emb_udp, d, icmp);
	csum_apply(p->icmp + ICMP_CSUM, icmp);
}

static void apply(const struct plan *p, const struct tc_xlate *x)
{
	uint32_t d;

	d = replace_addr(p->ip + IP4_SRC, x->src_to, 0);
	if (!p->keep_dst)
		d = replace_addr(p->ip + IP4_DST, x->dst_to, d);
	csum_apply(p->ip + IP4_CSUM, d);
	if (p->l4_csum != NULL)
		update_l4(p->l4_csum, p->l4_udp, d, 0);
	if (p->emb != NULL)
		rewrite_quote(p, x);
}

/* untrusted: from a peer */
int tc_xlate_rewrite(uint8_t *frame, size_t len, const struct tc_xlate *x)
{
	struct plan p;
	int rc;

	rc = parse(frame, len, &p);
	if (rc != 0)
		return rc;
	rc = sources_ok(&p, x);
	if (rc != 0)
		return rc;
	apply(&p, x);
	return TC_XLATE_OK;
}
