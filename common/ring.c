/*
 * Ring arithmetic of ring.h on 20-byte big-endian numbers.
 */
#include <errno.h>
#include <string.h>

#include "common/ring.h"
#include "common/uid.h"

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	return c - 'a' + 10; /* ipop_uid_is_valid allows only 0-9a-f */
}

int ipop_ring_id_parse(const char *uid, struct ipop_ring_id *out)
{
	size_t i;

	if (!ipop_uid_is_valid(uid))
		return -EINVAL;
	for (i = 0; i < IPOP_RING_ID_LEN; i++)
		out->b[i] = (uint8_t)(hex_digit(uid[2 * i]) << 4 |
				      hex_digit(uid[2 * i + 1]));
	return 0;
}

int ipop_ring_cmp(const struct ipop_ring_id *a, const struct ipop_ring_id *b)
{
	return memcmp(a->b, b->b, IPOP_RING_ID_LEN);
}

void ipop_ring_dist(const struct ipop_ring_id *from,
		    const struct ipop_ring_id *to, struct ipop_ring_id *out)
{
	int borrow = 0;
	int i;

	for (i = IPOP_RING_ID_LEN - 1; i >= 0; i--) {
		int d = to->b[i] - from->b[i] - borrow;

		borrow = d < 0;
		out->b[i] = (uint8_t)(d + (borrow ? 256 : 0));
	}
}

void ipop_ring_add_pow2(const struct ipop_ring_id *a, unsigned bit,
			struct ipop_ring_id *out)
{
	int i = IPOP_RING_ID_LEN - 1 - (int)(bit / 8);
	unsigned carry = 1u << (bit % 8);

	*out = *a;
	for (; i >= 0 && carry; i--) {
		unsigned s = out->b[i] + carry;

		out->b[i] = (uint8_t)s;
		carry = s >> 8;
	}
}

int ipop_ring_next_hop(const struct ipop_ring_id *self,
		       const struct ipop_ring_id *dest,
		       const struct ipop_ring_id *hops, size_t n)
{
	struct ipop_ring_id best, mine, d;
	int pick = -1;
	size_t i;

	ipop_ring_dist(self, dest, &mine);
	best = mine;
	for (i = 0; i < n; i++) {
		ipop_ring_dist(&hops[i], dest, &d);
		if (ipop_ring_cmp(&d, &best) < 0) {
			best = d;
			pick = (int)i;
		}
	}
	return pick;
}
