/*
 * An overlay: one TAP device, its forwarding table and its links.  In L3
 * mode tincan answers ARP and neighbour solicitations for mapped peers
 * itself, sends unicast to the mapped peer's link, replicates broadcast and
 * multicast to every connected link and reports unmapped destinations
 * (rate-limited).  Owns the TAP fd, the table and the links; borrows env.
 */
#ifndef TC_OVERLAY_H
#define TC_OVERLAY_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "proto/ipop.pb-c.h"
#include "tincan/env.h"
#include "tincan/link.h"
#include "tincan/offload.h"

enum {
	TC_MTU_DEFAULT = 1400,
	TC_MTU_MIN = 576,
	TC_MTU_MAX = 9000,
	TC_UNKNOWN_DEST_PER_SEC = 10, /* UnknownDestination events */
};

struct tc_overlay;

/* Creates the TAP and configures it from req (untrusted: from the
 * controller; validated here).  NULL with *status and *why set. */
struct tc_overlay *tc_overlay_new(const struct tc_env *env,
				  const Ipop__CreateOverlay *req,
				  Ipop__Status *status, char *why,
				  size_t why_len);
/* Frees links, closes the TAP (the device vanishes); NULL is a no-op. */
void tc_overlay_free(struct tc_overlay *ov);
const char *tc_overlay_name(const struct tc_overlay *ov);
const char *tc_overlay_tap(const struct tc_overlay *ov);

/* Link management; all return an Ipop__Status with why filled on error. */
Ipop__Status tc_overlay_create_link(struct tc_overlay *ov,
				    const Ipop__CreateLink *req, char *why,
				    size_t why_len);
Ipop__Status tc_overlay_remove_link(struct tc_overlay *ov, const char *uid,
				    char *why, size_t why_len);
Ipop__Status tc_overlay_add_remote(struct tc_overlay *ov,
				   const Ipop__AddRemoteCandidates *req,
				   char *why, size_t why_len);
Ipop__Status tc_overlay_map_peer(struct tc_overlay *ov,
				 const Ipop__MapPeer *req, char *why,
				 size_t why_len);
/* The link to uid, or NULL. */
struct tc_link *tc_overlay_link(struct tc_overlay *ov, const char *uid);
/* Fills info (owned by info; free with tc_overlay_info_clear). */
void tc_overlay_fill_info(const struct tc_overlay *ov, Ipop__OverlayInfo *info);
void tc_overlay_info_clear(Ipop__OverlayInfo *info);

/* Frame handling, exposed for tests: a frame read from the TAP (one
 * segment, not a TSO frame) with its checksum state. */
void tc_overlay_from_tap(struct tc_overlay *ov, const uint8_t *frame,
			 size_t len, const struct tc_csum *cs);

#endif
