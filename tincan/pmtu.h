/*
 * "Packet too big" answers for the local kernel: a frame from the TAP
 * that cannot cross the overlay (a forwarded frame carries
 * TC_ROUTE_OVERHEAD more bytes than a direct one) is answered with an
 * ICMPv4 "fragmentation needed" or ICMPv6 "packet too big" naming the
 * MTU that fits, as a router on the path would, so the kernel lowers its
 * path MTU for that destination and TCP its MSS.  A pure function over
 * caller buffers; the frame is untrusted (the local kernel).
 */
#ifndef TC_PMTU_H
#define TC_PMTU_H

#include <stddef.h>
#include <stdint.h>

/* Writes into out the Ethernet frame answering frame (an IPv4 or IPv6
 * packet) with mtu: its length; 0 when no answer is due (not IP, an ICMP
 * error itself, a packet that fits); -EINVAL when malformed; -ENOSPC
 * when cap is too small (1294 bytes always suffice). */
int tc_pmtu_too_big(const uint8_t *frame, size_t len, uint32_t mtu,
		    uint8_t *out, size_t cap);

#endif
