/*
 * The link repair rules (see repair.h): pure functions.
 */
#include <string.h>

#include "tincan/repair.h"

uint32_t tc_repair_probe_ms(uint64_t silent_ms, bool busy)
{
	if (silent_ms >= TC_REPAIR_BURST_FOR_MS)
		return TC_REPAIR_IDLE_PROBE_MS;
	if (silent_ms >= TC_REPAIR_SUSPECT_MS ||
	    (busy && silent_ms >= TC_REPAIR_QUICK_MS))
		return TC_REPAIR_BURST_MS;
	return TC_REPAIR_PROBE_MS;
}

bool tc_repair_is_silent(uint64_t silent_ms, bool busy)
{
	return silent_ms >=
	       (busy ? TC_REPAIR_BUSY_SUSPECT_MS : TC_REPAIR_SUSPECT_MS);
}

bool tc_repair_busy(uint64_t frames_since_rx, uint32_t rtt_us)
{
	return frames_since_rx > 0 && rtt_us < TC_REPAIR_BUSY_MAX_RTT_US;
}

enum tc_repair_remote tc_repair_classify(const struct tc_repair_streams *s,
					 const char *ufrag)
{
	if (!s->current_remote)
		return TC_REMOTE_SET_CURRENT;
	/* A peer that rebound its stream to our restart answers with the
	 * ufrag it had: our next stream pairs with its current one. */
	if (!strcmp(s->current_remote, ufrag))
		return s->has_next && !s->next_remote ? TC_REMOTE_SET_NEXT
						      : TC_REMOTE_CURRENT;
	if (s->has_next && s->next_remote && !strcmp(s->next_remote, ufrag))
		return TC_REMOTE_NEXT;
	if (s->has_next && (!s->next_remote || s->controlling))
		return TC_REMOTE_SET_NEXT;
	if (s->fresh && !s->has_next)
		return TC_REMOTE_REBIND;
	return TC_REMOTE_RESTART;
}

bool tc_repair_should_promote(const struct tc_repair_paths *p)
{
	/* A selected pair passed checks both ways: it works.  While the old
	 * path is broken either way anything that works beats it; while it
	 * works only direct off a relay is a gain. */
	return p->silent || p->deaf || (p->old_relayed && !p->new_relayed);
}
