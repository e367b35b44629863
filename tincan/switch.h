/*
 * The learning switch of switch-mode overlays: which link (by peer uid)
 * a MAC address was last seen behind, with ageing, and the forwarding
 * decision for a frame.  A pure data structure with the time passed in: no
 * links, no I/O.  The local TAP (the bridge port) is the port with uid NULL.
 */
#ifndef TC_SWITCH_H
#define TC_SWITCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tincan/identity.h"

enum {
	TC_SWITCH_AGE_MS = 300 * 1000, /* entries older than this expire */
	TC_SWITCH_MAX_ENTRIES = 8192,  /* beyond this, the oldest go first */
};

enum tc_switch_action {
	TC_SWITCH_DROP = 0, /* nowhere to send (e.g. back where it came from) */
	TC_SWITCH_UNICAST,  /* to one port: *out_uid (NULL = the local TAP) */
	TC_SWITCH_FLOOD,    /* to every port except the one it came from */
};

struct tc_switch;

struct tc_switch *tc_switch_new(void);
/* Frees the table; NULL is a no-op. */
void tc_switch_free(struct tc_switch *sw);
/* Learns the source MAC of a frame that arrived on port from_uid (NULL =
 * local TAP) at now_ms; multicast/broadcast/zero sources are not learned. */
void tc_switch_learn(struct tc_switch *sw, const uint8_t src[6],
		     const char *from_uid, uint64_t now_ms);
/* Decides where a frame with destination dst, arrived on from_uid, goes.
 * Unknown or expired unicast, broadcast and multicast flood; a known MAC
 * behind the port the frame came from is dropped (split horizon).  When
 * the result is UNICAST, *out_uid is the port (borrowed until the next
 * change; NULL = local TAP). */
enum tc_switch_action tc_switch_decide(struct tc_switch *sw,
				       const uint8_t dst[6],
				       const char *from_uid, uint64_t now_ms,
				       const char **out_uid);
/* Forgets every MAC learned behind port uid (its link went away). */
void tc_switch_forget_port(struct tc_switch *sw, const char *uid);
/* Removes entries older than TC_SWITCH_AGE_MS; returns how many. */
unsigned tc_switch_expire(struct tc_switch *sw, uint64_t now_ms);
/* Number of entries. */
unsigned tc_switch_count(const struct tc_switch *sw);
/* Calls fn for every entry: mac, port uid (NULL = local), age in ms. */
void tc_switch_foreach(const struct tc_switch *sw, uint64_t now_ms,
		       void (*fn)(const uint8_t mac[6], const char *uid,
				  uint64_t age_ms, void *ctx),
		       void *ctx);

#endif
