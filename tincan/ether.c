/*
 * Ethernet-level packet logic of L3 mode as pure functions over byte
 * buffers: classifying frames read from the TAP, answering ARP requests and
 * IPv6 neighbour solicitations for mapped peers with their synthetic MACs,
 * deriving those MACs, and the RFC 1071 checksum.  Every function reads only
 * after checking the length it needs; nothing here keeps state or does I/O.
 * Answers are built from copies of the request's fields, so out may alias
 * frame.
 */
#define G_LOG_DOMAIN "tincan"

#include <errno.h>
#include <string.h>

#include <glib.h>
#include <sodium.h>

#include "tincan/bytes.h"
#include "tincan/ether.h"

/* Ethernet header. */
enum { ETH_DST = 0, ETH_SRC = 6, ETH_TYPE = 12 };

/* ARP for IPv4 over Ethernet (RFC 826), offsets from the ARP header. */
enum {
	ARP_HTYPE = 0,
	ARP_PTYPE = 2,
	ARP_HLEN = 4,
	ARP_PLEN = 5,
	ARP_OP = 6,
	ARP_SHA = 8,
	ARP_SPA = 14,
	ARP_THA = 18,
	ARP_TPA = 24,
	ARP_LEN = 28,
	ARP_HTYPE_ETHER = 1,
	ARP_OP_REQUEST = 1,
	ARP_OP_REPLY = 2,
	ARP_FRAME_LEN = TC_ETH_HLEN + ARP_LEN,
};

/* IPv4 header. */
enum {
	IP4_VIHL = 0,
	IP4_TOTLEN = 2,
	IP4_SRC = 12,
	IP4_DST = 16,
	IP4_MINLEN = 20,
};

/* IPv6 header. */
enum {
	IP6_VER = 0,
	IP6_PLEN = 4,
	IP6_NXT = 6,
	IP6_HOPS = 7,
	IP6_SRC = 8,
	IP6_DST = 24,
	IP6_HLEN = 40,
	IP6_ADDR_LEN = 16,
	NXT_ICMP6 = 58,
	ND_HOP_LIMIT = 255,
};

/* ICMPv6 neighbour discovery (RFC 4861), offsets from the ICMPv6 header. */
enum {
	ICMP6_TYPE = 0,
	ICMP6_CODE = 1,
	ICMP6_CSUM = 2,
	ND_FLAGS = 4,
	ND_TARGET = 8,
	ND_OPTS = 24,
	ND_NS = 135,
	ND_NA = 136,
	ND_NA_SOLICITED = 0x40,
	ND_NA_OVERRIDE = 0x20,
	ND_OPT_TLLA = 2,
	ND_OPT_UNIT = 8,
	NA_LEN = ND_OPTS + ND_OPT_UNIT,
	NA_FRAME_LEN = TC_ETH_HLEN + IP6_HLEN + NA_LEN,
};

static const uint8_t all_nodes[IP6_ADDR_LEN] = {0xff, 0x02, [15] = 0x01};
static const uint8_t all_nodes_mac[TC_ETH_ALEN] = {0x33, 0x33, 0, 0, 0, 1};

bool tc_mac_is_group(const uint8_t mac[6])
{
	return (mac[0] & 0x01) != 0;
}

/* Sums 16-bit big-endian words; chunks other than the last must have an
 * even length (an odd tail is padded with a zero byte, RFC 1071).  The
 * carries are folded back into 32 bits, so any length is safe. */
uint32_t tc_csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t acc = sum;

	for (; len >= 2; p += 2, len -= 2)
		acc += tc_get16(p);
	if (len == 1)
		acc += (uint32_t)p[0] << 8;
	while (acc >> 32)
		acc = (acc & 0xffffffffu) + (acc >> 32);
	return (uint32_t)acc;
}

/* Folds to 16 bits and complements: the value for the checksum field, in
 * host order (store it big-endian).  Over data that includes a correct
 * checksum it yields 0. */
uint16_t tc_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Sum of the IPv6 pseudo-header (RFC 8200 section 8.1). */
static uint32_t ip6_pseudo_sum(const uint8_t *src, const uint8_t *dst,
			       uint32_t ulen, uint8_t nxt)
{
	uint8_t tail[8] = {ulen >> 24, ulen >> 16, ulen >> 8, ulen,
			   0,	       0,	   0,	      nxt};
	uint32_t sum;

	sum = tc_csum_add(0, src, IP6_ADDR_LEN);
	sum = tc_csum_add(sum, dst, IP6_ADDR_LEN);
	return tc_csum_add(sum, tail, sizeof(tail));
}

static bool arp_ok(const uint8_t *arp, size_t avail)
{
	return avail >= ARP_LEN &&
	       tc_get16(arp + ARP_HTYPE) == ARP_HTYPE_ETHER &&
	       tc_get16(arp + ARP_PTYPE) == TC_ETHERTYPE_IPV4 &&
	       arp[ARP_HLEN] == TC_ETH_ALEN && arp[ARP_PLEN] == 4;
}

/* Version, header length and total length fit what was read (a frame may
 * carry Ethernet padding after the datagram). */
static bool ipv4_ok(const uint8_t *ip, size_t avail)
{
	size_t ihl, tot;

	if (avail < IP4_MINLEN || ip[IP4_VIHL] >> 4 != 4)
		return false;
	ihl = (size_t)(ip[IP4_VIHL] & 0x0f) * 4;
	tot = tc_get16(ip + IP4_TOTLEN);
	return ihl >= IP4_MINLEN && tot >= ihl && tot <= avail;
}

static bool ipv6_ok(const uint8_t *ip, size_t avail)
{
	return avail >= IP6_HLEN && ip[IP6_VER] >> 4 == 6 &&
	       IP6_HLEN + (size_t)tc_get16(ip + IP6_PLEN) <= avail;
}

/* An IPv6 packet (already ipv6_ok) carrying a neighbour solicitation.  No
 * extension headers: the kernel never puts any on NS. */
static bool ipv6_is_ns(const uint8_t *ip)
{
	return ip[IP6_NXT] == NXT_ICMP6 && tc_get16(ip + IP6_PLEN) >= ND_OPTS &&
	       ip[IP6_HLEN + ICMP6_TYPE] == ND_NS;
}

static enum tc_frame_kind classify_arp(const uint8_t *arp, size_t avail,
				       bool group)
{
	if (!arp_ok(arp, avail))
		return TC_FRAME_DROP;
	if (tc_get16(arp + ARP_OP) == ARP_OP_REQUEST)
		return TC_FRAME_ARP_REQUEST;
	return group ? TC_FRAME_BROADCAST : TC_FRAME_DROP;
}

bool tc_frame_src_is_peer(const uint8_t *frame, size_t len,
			  const struct tc_fwd_entry *e, bool check_v4)
{
	const uint8_t *l3 = frame + TC_ETH_HLEN;
	const uint8_t *src;

	if (!e || len < TC_ETH_HLEN)
		return false;
	switch (tc_get16(frame + ETH_TYPE)) {
	case TC_ETHERTYPE_IPV4:
		if (!ipv4_ok(l3, len - TC_ETH_HLEN))
			return false;
		return !check_v4 ||
		       (e->has_v4 && memcmp(l3 + IP4_SRC, e->v4, 4) == 0);
	case TC_ETHERTYPE_IPV6:
		if (!ipv6_ok(l3, len - TC_ETH_HLEN))
			return false;
		src = l3 + IP6_SRC;
		if ((src[0] == 0xfe && (src[1] & 0xc0) == 0x80) ||
		    memcmp(src, (const uint8_t[IP6_ADDR_LEN]){0},
			   IP6_ADDR_LEN) == 0)
			return true;
		return e->has_v6 && memcmp(src, e->v6, IP6_ADDR_LEN) == 0;
	default:
		return false;
	}
}

/* untrusted: from the local kernel through the TAP */
void tc_frame_classify(const uint8_t *frame, size_t len,
		       struct tc_frame_info *info)
{
	const uint8_t *l3;
	size_t avail;
	bool group;

	memset(info, 0, sizeof(*info));
	info->kind = TC_FRAME_DROP;
	if (len < TC_ETH_HLEN)
		return;
	l3 = frame + TC_ETH_HLEN;
	avail = len - TC_ETH_HLEN;
	group = tc_mac_is_group(frame + ETH_DST);
	info->ethertype = tc_get16(frame + ETH_TYPE);
	switch (info->ethertype) {
	case TC_ETHERTYPE_ARP:
		info->kind = classify_arp(l3, avail, group);
		break;
	case TC_ETHERTYPE_IPV4:
		if (!ipv4_ok(l3, avail))
			break;
		memcpy(info->dst_v4, l3 + IP4_DST, 4);
		info->kind = group ? TC_FRAME_BROADCAST : TC_FRAME_UNICAST_V4;
		break;
	case TC_ETHERTYPE_IPV6:
		if (!ipv6_ok(l3, avail))
			break;
		memcpy(info->dst_v6, l3 + IP6_DST, IP6_ADDR_LEN);
		if (ipv6_is_ns(l3))
			info->kind = TC_FRAME_NEIGH_SOLICIT;
		else
			info->kind =
			    group ? TC_FRAME_BROADCAST : TC_FRAME_UNICAST_V6;
		break;
	default:
		break;
	}
}

/* untrusted: from the local kernel through the TAP */
/* Writes an ARP reply "ip is at mac" from (mac, ip) to (to_mac, to_ip). */
static int arp_reply(uint8_t *out, const uint8_t mac[6], const uint8_t ip[4],
		     const uint8_t to_mac[6], const uint8_t to_ip[4])
{
	uint8_t *rep = out + TC_ETH_HLEN;

	memcpy(out + ETH_DST, to_mac, TC_ETH_ALEN);
	memcpy(out + ETH_SRC, mac, TC_ETH_ALEN);
	tc_put16(out + ETH_TYPE, TC_ETHERTYPE_ARP);
	tc_put16(rep + ARP_HTYPE, ARP_HTYPE_ETHER);
	tc_put16(rep + ARP_PTYPE, TC_ETHERTYPE_IPV4);
	rep[ARP_HLEN] = TC_ETH_ALEN;
	rep[ARP_PLEN] = 4;
	tc_put16(rep + ARP_OP, ARP_OP_REPLY);
	memcpy(rep + ARP_SHA, mac, TC_ETH_ALEN);
	memcpy(rep + ARP_SPA, ip, 4);
	memcpy(rep + ARP_THA, to_mac, TC_ETH_ALEN);
	memcpy(rep + ARP_TPA, to_ip, 4);
	return ARP_FRAME_LEN;
}

int tc_arp_answer(const uint8_t *frame, size_t len, const struct tc_fwd *f,
		  uint8_t *out, size_t cap)
{
	const struct tc_fwd_entry *e;
	uint8_t req_mac[TC_ETH_ALEN], req_ip[4], tgt_ip[4];
	const uint8_t *arp;

	if (cap < ARP_FRAME_LEN)
		return -ENOSPC;
	if (len < ARP_FRAME_LEN ||
	    tc_get16(frame + ETH_TYPE) != TC_ETHERTYPE_ARP)
		return -EINVAL;
	arp = frame + TC_ETH_HLEN;
	if (!arp_ok(arp, len - TC_ETH_HLEN) ||
	    tc_get16(arp + ARP_OP) != ARP_OP_REQUEST)
		return -EINVAL;
	memcpy(req_mac, arp + ARP_SHA, TC_ETH_ALEN);
	memcpy(req_ip, arp + ARP_SPA, 4);
	memcpy(tgt_ip, arp + ARP_TPA, 4);
	if (tc_mac_is_group(req_mac))
		return -EINVAL;
	/* A gratuitous ARP announces the sender; there is nothing to answer. */
	if (memcmp(req_ip, tgt_ip, 4) == 0)
		return 0;
	e = tc_fwd_by_v4(f, tgt_ip);
	if (e == NULL)
		return 0;

	return arp_reply(out, e->mac, tgt_ip, req_mac, req_ip);
}

int tc_arp_announce(const struct tc_fwd_entry *e, const uint8_t tap_mac[6],
		    const uint8_t tap_v4[4], uint8_t *out, size_t cap)
{
	if (cap < ARP_FRAME_LEN)
		return -ENOSPC;
	if (!e->has_v4)
		return -EINVAL;
	return arp_reply(out, e->mac, e->v4, tap_mac, tap_v4);
}

/* Every option has a non-zero length and fits (RFC 4861 section 7.1.1). */
static bool nd_options_ok(const uint8_t *opt, size_t len)
{
	size_t olen;

	while (len > 0) {
		if (len < 2)
			return false;
		olen = (size_t)opt[1] * ND_OPT_UNIT;
		if (olen == 0 || olen > len)
			return false;
		opt += olen;
		len -= olen;
	}
	return true;
}

/* Validates the NS in frame as RFC 4861 section 7.1.1 asks of a receiver. */
static bool ns_valid(const uint8_t *frame, size_t len)
{
	const uint8_t *ip, *icmp;
	size_t ilen;
	uint32_t sum;

	if (len < TC_ETH_HLEN ||
	    tc_get16(frame + ETH_TYPE) != TC_ETHERTYPE_IPV6)
		return false;
	ip = frame + TC_ETH_HLEN;
	if (!ipv6_ok(ip, len - TC_ETH_HLEN) || !ipv6_is_ns(ip))
		return false;
	icmp = ip + IP6_HLEN;
	ilen = tc_get16(ip + IP6_PLEN);
	if (ip[IP6_HOPS] != ND_HOP_LIMIT || icmp[ICMP6_CODE] != 0)
		return false;
	sum = ip6_pseudo_sum(ip + IP6_SRC, ip + IP6_DST, (uint32_t)ilen,
			     NXT_ICMP6);
	if (tc_csum_fold(tc_csum_add(sum, icmp, ilen)) != 0)
		return false;
	if (icmp[ND_TARGET] == 0xff) /* a multicast target */
		return false;
	if (tc_mac_is_group(frame + ETH_SRC))
		return false;
	return nd_options_ok(icmp + ND_OPTS, ilen - ND_OPTS);
}

static bool ip6_is_unspecified(const uint8_t *a)
{
	static const uint8_t zero[IP6_ADDR_LEN];

	return memcmp(a, zero, IP6_ADDR_LEN) == 0;
}

/* Writes the NA frame for target into out (NA_FRAME_LEN bytes). */
static void nd_build_na(uint8_t *out, const uint8_t *eth_dst,
			const uint8_t *ip_dst, const uint8_t *target,
			const uint8_t *peer_mac, uint8_t flags)
{
	uint8_t *ip = out + TC_ETH_HLEN;
	uint8_t *icmp = ip + IP6_HLEN;
	uint32_t sum;

	memcpy(out + ETH_DST, eth_dst, TC_ETH_ALEN);
	memcpy(out + ETH_SRC, peer_mac, TC_ETH_ALEN);
	tc_put16(out + ETH_TYPE, TC_ETHERTYPE_IPV6);
	memset(ip, 0, IP6_HLEN + NA_LEN);
	ip[IP6_VER] = 6 << 4;
	tc_put16(ip + IP6_PLEN, NA_LEN);
	ip[IP6_NXT] = NXT_ICMP6;
	ip[IP6_HOPS] = ND_HOP_LIMIT;
	memcpy(ip + IP6_SRC, target, IP6_ADDR_LEN);
	memcpy(ip + IP6_DST, ip_dst, IP6_ADDR_LEN);
	icmp[ICMP6_TYPE] = ND_NA;
	icmp[ND_FLAGS] = flags;
	memcpy(icmp + ND_TARGET, target, IP6_ADDR_LEN);
	icmp[ND_OPTS] = ND_OPT_TLLA;
	icmp[ND_OPTS + 1] = 1;
	memcpy(icmp + ND_OPTS + 2, peer_mac, TC_ETH_ALEN);
	sum = ip6_pseudo_sum(ip + IP6_SRC, ip + IP6_DST, NA_LEN, NXT_ICMP6);
	tc_put16(icmp + ICMP6_CSUM,
		 tc_csum_fold(tc_csum_add(sum, icmp, NA_LEN)));
}

/* untrusted: from the local kernel through the TAP */
int tc_nd_answer(const uint8_t *frame, size_t len, const struct tc_fwd *f,
		 uint8_t *out, size_t cap)
{
	const struct tc_fwd_entry *e;
	uint8_t req_mac[TC_ETH_ALEN], src[IP6_ADDR_LEN], target[IP6_ADDR_LEN];
	uint8_t peer_mac[TC_ETH_ALEN];

	if (cap < NA_FRAME_LEN)
		return -ENOSPC;
	if (!ns_valid(frame, len))
		return -EINVAL;
	memcpy(req_mac, frame + ETH_SRC, TC_ETH_ALEN);
	memcpy(src, frame + TC_ETH_HLEN + IP6_SRC, IP6_ADDR_LEN);
	memcpy(target, frame + TC_ETH_HLEN + IP6_HLEN + ND_TARGET,
	       IP6_ADDR_LEN);
	e = tc_fwd_by_v6(f, target);
	if (e == NULL)
		return 0;
	memcpy(peer_mac, e->mac, TC_ETH_ALEN);
	/* Duplicate address detection: the asker has no address yet, so the
	 * answer goes to all nodes and is not "solicited" (RFC 4861 7.2.4). */
	if (ip6_is_unspecified(src))
		nd_build_na(out, all_nodes_mac, all_nodes, target, peer_mac,
			    ND_NA_OVERRIDE);
	else
		nd_build_na(out, req_mac, src, target, peer_mac,
			    ND_NA_SOLICITED | ND_NA_OVERRIDE);
	return NA_FRAME_LEN;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	return c - 'a' + 10;
}

/* 02 (locally administered, unicast) followed by the first five bytes of the
 * uid, which is itself a hash, so anyone can compute it: "02" + uid[0:10].
 * A string that is not a valid uid is hashed instead. */
void tc_mac_from_uid(const char *uid, uint8_t mac[6])
{
	uint8_t h[16];
	int i;

	mac[0] = 0x02;
	if (ipop_uid_is_valid(uid)) {
		for (i = 0; i < 5; i++)
			mac[1 + i] = (uint8_t)(hexval(uid[2 * i]) << 4 |
					       hexval(uid[2 * i + 1]));
		return;
	}
	if (uid == NULL)
		uid = "";
	crypto_generichash(h, sizeof(h), (const unsigned char *)uid,
			   strlen(uid), NULL, 0);
	memcpy(mac + 1, h, 5);
}
