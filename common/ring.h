/*
 * The GroupVPN ring: uids read as 160-bit numbers on a circle, clockwise
 * distance between them, and the greedy next hop.  Pure functions over
 * byte strings, shared by tincan's forwarding (tincan/route.c), the
 * controller's topology and the simulator, so all three agree on where a
 * frame goes.  Greedy forwarding never loops: every hop strictly shortens
 * the clockwise distance to the destination.
 */
#ifndef IPOP_RING_H
#define IPOP_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { IPOP_RING_ID_LEN = 20 };

/* A uid as a point on the ring (big-endian, the uid's hex decoded). */
struct ipop_ring_id {
	uint8_t b[IPOP_RING_ID_LEN];
};

/* Decodes 40 hex digits (a valid uid); -EINVAL otherwise (out untouched). */
int ipop_ring_id_parse(const char *uid, struct ipop_ring_id *out);
/* <0, 0, >0 as a is below, equal to or above b. */
int ipop_ring_cmp(const struct ipop_ring_id *a, const struct ipop_ring_id *b);
/* out = (to - from) mod 2^160: how far clockwise to is from from. */
void ipop_ring_dist(const struct ipop_ring_id *from,
		    const struct ipop_ring_id *to, struct ipop_ring_id *out);
/* out = a + 2^bit mod 2^160 (bit < 160): the chord target bit away. */
void ipop_ring_add_pow2(const struct ipop_ring_id *a, unsigned bit,
			struct ipop_ring_id *out);
/* The index in hops[0..n) of the greedy next hop from self towards dest:
 * the hop nearest dest clockwise among those strictly nearer to it than
 * self (dest itself, when among hops, always wins).  -1 when none is
 * nearer: the frame cannot make progress and is dropped.  Borrows all. */
int ipop_ring_next_hop(const struct ipop_ring_id *self,
		       const struct ipop_ring_id *dest,
		       const struct ipop_ring_id *hops, size_t n);

#endif
