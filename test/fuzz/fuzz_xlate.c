/*
 * libFuzzer harness for the SocialVPN translator.  The input's first byte
 * holds two helps for the fuzzer, which could hardly find them alone: bit 0
 * makes the outer IPv4 header checksum right, bit 1 sets the source to the
 * peer's address.  The rest is a frame, copied into a buffer of exactly its
 * size and rewritten with a fixed translation.  A refused frame must be
 * unchanged; a rewritten one must carry the new source, a right header
 * checksum, and a transport checksum exactly as right or wrong as before.
 */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tincan/ether.h"
#include "tincan/xlate.h"

enum {
	ETH_TYPE = 12,
	VLAN_HLEN = 18,
	IP_TOT = 2,
	IP_FRAG = 6,
	IP_PROTO = 9,
	IP_CSUM = 10,
	IP_SRC = 12,
	IP_DST = 16,
	IP_HLEN = 20,
	IP_FRAGMASK = 0x3fff,
	P_ICMP = 1,
	P_TCP = 6,
	P_UDP = 17,
	TCP_HLEN = 20,
	UDP_HLEN = 8,
	UDP_CSUM = 6,
	ICMP_HLEN = 8,
	HELP_FIX_CSUM = 1,
	HELP_SET_SRC = 2,
};

static const struct tc_xlate xl = {
	{ 10, 8, 0, 2 }, { 172, 31, 0, 7 }, { 172, 31, 0, 1 }
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* The IPv4 header with its lengths checked, or NULL. */
static uint8_t *ip_of(uint8_t *f, size_t len, size_t *hl, size_t *tot)
{
	size_t off = TC_ETH_HLEN;

	if (len >= VLAN_HLEN && get16(f + ETH_TYPE) == TC_ETHERTYPE_VLAN)
		off = VLAN_HLEN;
	if (len < off + IP_HLEN || get16(f + off - 2) != TC_ETHERTYPE_IPV4)
		return NULL;
	*hl = (size_t)(f[off] & 15) * 4;
	*tot = get16(f + off + IP_TOT);
	if (*hl < IP_HLEN || *hl > *tot || *tot > len - off)
		return NULL;
	return f + off;
}

static void help(uint8_t *f, size_t len, uint8_t how)
{
	size_t hl, tot;
	uint8_t *ip = ip_of(f, len, &hl, &tot);

	if (ip == NULL)
		return;
	if (how & HELP_SET_SRC)
		memcpy(ip + IP_SRC, xl.src_from, 4);
	if (how & HELP_FIX_CSUM) {
		ip[IP_CSUM] = ip[IP_CSUM + 1] = 0;
		tot = tc_csum_fold(tc_csum_add(0, ip, hl));
		ip[IP_CSUM] = (uint8_t)(tot >> 8);
		ip[IP_CSUM + 1] = (uint8_t)tot;
	}
}

/* Whether the transport checksum of an unfragmented packet is right:
 * -1 when there is none to judge. */
static int l4_ok(const uint8_t *ip, size_t hl, size_t tot)
{
	const uint8_t *l4 = ip + hl;
	size_t n = tot - hl;
	uint8_t tail[4] = { 0, ip[IP_PROTO], (uint8_t)(n >> 8), (uint8_t)n };
	uint32_t sum = 0;

	if ((get16(ip + IP_FRAG) & IP_FRAGMASK) != 0)
		return -1;
	if (ip[IP_PROTO] == P_ICMP && n >= ICMP_HLEN)
		return tc_csum_fold(tc_csum_add(0, l4, n)) == 0;
	if ((ip[IP_PROTO] == P_TCP && n >= TCP_HLEN) ||
	    (ip[IP_PROTO] == P_UDP && n >= UDP_HLEN)) {
		if (ip[IP_PROTO] == P_UDP && get16(l4 + UDP_CSUM) == 0)
			return 1;
		sum = tc_csum_add(sum, ip + IP_SRC, 8);
		sum = tc_csum_add(sum, tail, sizeof(tail));
		return tc_csum_fold(tc_csum_add(sum, l4, n)) == 0;
	}
	return -1;
}

static void check_rewritten(uint8_t *f, size_t len, int before)
{
	size_t hl, tot;
	const uint8_t *ip = ip_of(f, len, &hl, &tot);

	assert(ip != NULL);
	assert(tc_csum_fold(tc_csum_add(0, ip, hl)) == 0);
	assert(memcmp(ip + IP_SRC, xl.src_to, 4) == 0);
	assert(l4_ok(ip, hl, tot) == before);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *f, *orig;
	size_t len, hl, tot;
	const uint8_t *ip;
	int rc, before = -1;

	if (size == 0)
		return 0;
	len = size - 1;
	f = malloc(len > 0 ? len : 1);
	orig = malloc(len > 0 ? len : 1);
	assert(f != NULL && orig != NULL);
	memcpy(f, data + 1, len);
	help(f, len, data[0]);
	memcpy(orig, f, len);
	ip = ip_of(f, len, &hl, &tot);
	if (ip != NULL)
		before = l4_ok(ip, hl, tot);
	rc = tc_xlate_rewrite(f, len, &xl);
	assert(rc == TC_XLATE_OK || rc == TC_XLATE_PASS || rc == -EINVAL ||
	       rc == -EPERM);
	if (rc == TC_XLATE_OK)
		check_rewritten(f, len, before);
	else
		assert(memcmp(f, orig, len) == 0);
	free(orig);
	free(f);
	return 0;
}
