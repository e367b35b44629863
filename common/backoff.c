/*
 * Capped exponential backoff with jitter (see backoff.h).
 */
#include "common/backoff.h"

uint32_t ipop_backoff_ms(uint32_t first, uint32_t max, unsigned attempt,
			 uint32_t rnd)
{
	uint64_t d = first;
	uint64_t spread;

	if (first > max)
		d = max;
	/* Doubling stops at the cap: no shift can overflow. */
	while (attempt-- > 0 && d < max)
		d *= 2;
	if (d > max)
		d = max;
	/* Up to a quarter off, in proportion to rnd / 2^32. */
	spread = d / 4;
	return (uint32_t)(d - (spread * rnd >> 32));
}
