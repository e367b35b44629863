/*
 * SocialVPN address translation of IPv4 packets, as pure functions over an
 * Ethernet frame held in a caller's buffer.  Each node sees its friends
 * through its own subnet, and only the receiver translates: a packet from
 * a peer carries the peer's own TAP address as source and, as destination,
 * whatever address the peer's view gives us; the receiver rewrites the
 * source to the peer's local-view address and the destination to its own
 * TAP address.  On send nothing is rewritten (the local-view destination
 * only picks the link).  Checksums (IPv4 header, TCP, UDP, ICMP, and the
 * headers embedded in ICMP errors) are updated incrementally (RFC 1624).
 * The header embedded in an ICMP error describes a packet that went the
 * other way, so it is rewritten in reverse: its destination (equal to
 * src_from) becomes src_to and its source (our address in the peer's
 * view) becomes dst_to.  No I/O, no state.
 *
 * Every length is checked before an offset is read (untrusted: peers and
 * the local kernel); malformed frames are refused, never half-rewritten.
 */
#ifndef TC_XLATE_H
#define TC_XLATE_H

#include <stddef.h>
#include <stdint.h>

/* One receive-side rewrite. */
struct tc_xlate {
	uint8_t
	    src_from[4];   /* the peer's own address: the source must be this */
	uint8_t src_to[4]; /* the peer's address in our view */
	uint8_t dst_to[4]; /* our TAP address: every unicast destination */
};

enum tc_xlate_result {
	TC_XLATE_OK = 0,   /* rewritten in place */
	TC_XLATE_PASS = 1, /* not IPv4 (IPv6, ARP...): untouched */
};

/* Rewrites the IPv4 packet inside the Ethernet frame (len bytes) in place:
 * the IP source must equal x->src_from (else -EPERM: a peer may not spoof)
 * and becomes x->src_to; a unicast destination becomes x->dst_to, while
 * broadcast (255.255.255.255 or the Ethernet broadcast) and multicast
 * (224.0.0.0/4) destinations are kept.  Handles IP options, fragments (the L4
 * header is only in the first fragment; later fragments get the IP header
 * rewritten only), TCP, UDP (a zero UDP checksum stays zero), ICMP (and the
 * embedded IP header and ports of ICMP errors: destination unreachable, time
 * exceeded, parameter problem, source quench, redirect).  Returns
 * TC_XLATE_OK, TC_XLATE_PASS, -EINVAL for a malformed or truncated packet
 * (frame unchanged), or -EPERM when the source does not match (frame
 * unchanged).  The frame's Ethernet addresses are not touched. */
int tc_xlate_rewrite(uint8_t *frame, size_t len, const struct tc_xlate *x);

/* RFC 1624 incremental update of a 16-bit one's complement checksum
 * (network order in *csum) for a 4-byte field changing from old to new. */
void tc_xlate_csum_update4(uint8_t csum[2], const uint8_t old[4],
			   const uint8_t new_[4]);

#endif
