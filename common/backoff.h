/*
 * Capped exponential backoff with jitter: how long to wait before the next
 * attempt of something that keeps failing (an XMPP reconnect in the
 * controller, an ICE restart in tincan).  Pure functions of the attempt
 * number and a random draw, so the schedule is testable and every program
 * spaces its retries the same way.  Owns nothing.
 */
#ifndef IPOP_BACKOFF_H
#define IPOP_BACKOFF_H

#include <stdint.h>

/* The delay before retry number attempt (0: the first one): first doubled
 * attempt times, capped at max, then jittered down into [3/4, 1] of itself
 * by rnd (any 32-bit value; a uniform draw gives a uniform jitter).  A
 * jitter keeps many clients thrown off by the same fault from retrying in
 * step.  first 0 gives 0; max below first caps at max. */
uint32_t ipop_backoff_ms(uint32_t first, uint32_t max, unsigned attempt,
			 uint32_t rnd);

#endif
