/*
 * The ICMP answers of pmtu.h (RFC 792 / RFC 1191 for IPv4, RFC 4443 for
 * IPv6).  The answer comes from the packet's destination address: the
 * kernel takes it as what the path said.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <glib.h>

#include "tincan/bytes.h"
#include "tincan/ether.h"
#include "tincan/pmtu.h"

enum {
	IP4_HLEN = 20,
	IP6_HLEN = 40,
	ICMP_HLEN = 8,
	IP4_QUOTE = 8,	    /* bytes after the quoted IPv4 header */
	IP6_MIN_MTU = 1280, /* an ICMPv6 error fits it */
	PROTO_ICMP = 1,
	PROTO_ICMP6 = 58,
	ICMP_UNREACH = 3,
	ICMP_FRAG_NEEDED = 4,
	ICMP6_TOO_BIG = 2,
	TTL = 64,
};

static void eth_reply(const uint8_t *frame, uint8_t *out, uint16_t type)
{
	memcpy(out, frame + TC_ETH_ALEN, TC_ETH_ALEN);
	memcpy(out + TC_ETH_ALEN, frame, TC_ETH_ALEN);
	tc_put16(out + 12, type);
}

/* An ICMP type that reports an error must not be answered (RFC 1122). */
static bool icmp4_is_error(uint8_t type)
{
	return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

static int too_big4(const uint8_t *frame, size_t len, uint32_t mtu,
		    uint8_t *out, size_t cap)
{
	const uint8_t *ip = frame + TC_ETH_HLEN;
	size_t iplen = len - TC_ETH_HLEN, ihl, quote, total;
	uint8_t *o = out + TC_ETH_HLEN, *icmp;

	if (iplen < IP4_HLEN || ip[0] >> 4 != 4)
		return -EINVAL;
	ihl = (size_t)(ip[0] & 0xf) * 4;
	if (ihl < IP4_HLEN || ihl > iplen)
		return -EINVAL;
	if (iplen <= mtu)
		return 0;
	/* Only a first fragment can carry an ICMP header to look at. */
	if (ip[9] == PROTO_ICMP && (tc_get16(ip + 6) & 0x1fff) == 0 &&
	    (iplen < ihl + 1 || icmp4_is_error(ip[ihl])))
		return 0;
	quote = MIN(iplen, ihl + IP4_QUOTE);
	total = IP4_HLEN + ICMP_HLEN + quote;
	if (cap < TC_ETH_HLEN + total)
		return -ENOSPC;
	eth_reply(frame, out, TC_ETHERTYPE_IPV4);
	memset(o, 0, IP4_HLEN + ICMP_HLEN);
	o[0] = 0x45;
	tc_put16(o + 2, (uint16_t)total);
	o[8] = TTL;
	o[9] = PROTO_ICMP;
	memcpy(o + 12, ip + 16, 4); /* from the destination */
	memcpy(o + 16, ip + 12, 4);
	tc_put16(o + 10, tc_csum_fold(tc_csum_add(0, o, IP4_HLEN)));
	icmp = o + IP4_HLEN;
	icmp[0] = ICMP_UNREACH;
	icmp[1] = ICMP_FRAG_NEEDED;
	tc_put16(icmp + 6, (uint16_t)MIN(mtu, 0xffffu));
	memcpy(icmp + ICMP_HLEN, ip, quote);
	tc_put16(icmp + 2,
		 tc_csum_fold(tc_csum_add(0, icmp, ICMP_HLEN + quote)));
	return (int)(TC_ETH_HLEN + total);
}

static int too_big6(const uint8_t *frame, size_t len, uint32_t mtu,
		    uint8_t *out, size_t cap)
{
	const uint8_t *ip = frame + TC_ETH_HLEN;
	size_t iplen = len - TC_ETH_HLEN, quote, total;
	uint8_t *o = out + TC_ETH_HLEN, *icmp, pseudo[8] = {0};
	uint32_t sum;

	if (iplen < IP6_HLEN || ip[0] >> 4 != 6)
		return -EINVAL;
	if (iplen <= mtu)
		return 0;
	/* An ICMPv6 error (type below 128) right after the header. */
	if (ip[6] == PROTO_ICMP6 &&
	    (iplen < IP6_HLEN + 1 || ip[IP6_HLEN] < 128))
		return 0;
	quote = MIN(iplen, (size_t)IP6_MIN_MTU - IP6_HLEN - ICMP_HLEN);
	total = IP6_HLEN + ICMP_HLEN + quote;
	if (cap < TC_ETH_HLEN + total)
		return -ENOSPC;
	eth_reply(frame, out, TC_ETHERTYPE_IPV6);
	memset(o, 0, IP6_HLEN + ICMP_HLEN);
	o[0] = 0x60;
	tc_put16(o + 4, (uint16_t)(ICMP_HLEN + quote));
	o[6] = PROTO_ICMP6;
	o[7] = TTL;
	memcpy(o + 8, ip + 24, 16); /* from the destination */
	memcpy(o + 24, ip + 8, 16);
	icmp = o + IP6_HLEN;
	icmp[0] = ICMP6_TOO_BIG;
	tc_put32(icmp + 4, mtu);
	memcpy(icmp + ICMP_HLEN, ip, quote);
	tc_put32(pseudo, (uint32_t)(ICMP_HLEN + quote));
	pseudo[7] = PROTO_ICMP6;
	sum = tc_csum_add(0, o + 8, 32);
	sum = tc_csum_add(sum, pseudo, sizeof(pseudo));
	sum = tc_csum_add(sum, icmp, ICMP_HLEN + quote);
	tc_put16(icmp + 2, tc_csum_fold(sum));
	return (int)(TC_ETH_HLEN + total);
}

int tc_pmtu_too_big(const uint8_t *frame, size_t len, uint32_t mtu,
		    uint8_t *out, size_t cap)
{
	uint16_t type;

	if (len < TC_ETH_HLEN)
		return -EINVAL;
	type = tc_get16(frame + 12);
	if (type == TC_ETHERTYPE_IPV4)
		return too_big4(frame, len, mtu, out, cap);
	if (type == TC_ETHERTYPE_IPV6)
		return too_big6(frame, len, mtu, out, cap);
	return 0;
}
