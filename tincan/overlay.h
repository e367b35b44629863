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
#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"
#include "tincan/env.h"
#include "tincan/fwd.h"
#include "tincan/link.h"
#include "tincan/offload.h"
#include "tincan/tap.h"
#include "tincan/types.h"

enum {
	TC_UNKNOWN_DEST_PER_SEC = 10, /* UnknownDestination events */
};

enum tc_overlay_mode {
	TC_OVERLAY_L3 = 1,
	TC_OVERLAY_SWITCH = 2,
	/* A mode the adapter did not recognise: refused by tc_overlay_new
	 * ("unknown mode") in the order of its other checks. */
	TC_OVERLAY_MODE_UNKNOWN = 3,
};

/* untrusted: from the controller.  Strings may be NULL (as absent);
 * addresses are text as the controller sent them, so refusals quote them. */
struct tc_overlay_req {
	const char *name;
	const char *tap_name;
	enum tc_overlay_mode mode;
	const char *ipv4, *ipv6; /* "" or NULL: none */
	uint32_t ipv4_prefix, ipv6_prefix;
	uint32_t mtu; /* 0: IPOP_MTU_DEFAULT */
	bool translation;
	const uint8_t *psk; /* psk_len bytes: 0 (none) or IPOP_PSK_LEN */
	size_t psk_len;
	const char *bridge;	       /* switch mode; "" or NULL: none */
	uint64_t ondemand_bytes_per_s; /* PROTOCOL.md §14.3; 0 = off */
	uint32_t ondemand_idle_ms;
};

struct tc_link_req {
	const char *peer_uid;
	const uint8_t *peer_pub; /* peer_pub_len bytes, IPOP_KEY_LEN wanted */
	size_t peer_pub_len;
	enum tc_link_kind kind;
};

struct tc_map_req {
	const char *peer_uid;
	bool remove;
	const char *ipv4, *ipv6, *peer_ipv4; /* "" or NULL: none */
	const uint8_t *mac;		     /* mac_len bytes: 0 or 6 */
	size_t mac_len;
	const char *label; /* NULL: none */
};

/* What GetState reports of an overlay besides its mappings, MAC table and
 * links (see the foreach functions); strings borrowed from the overlay. */
struct tc_overlay_info {
	const char *name;
	const char *tap;
	const char *bridge; /* "" unless switch mode with a bridge */
	enum tc_overlay_mode mode;
	bool translation;
	bool offload;
	bool has_psk;
	uint64_t dropped_malformed, dropped_tap;
	uint64_t joined_frames, joined_segments;
	const struct tc_tap_config *cfg; /* addresses, prefixes, MTU, MAC */
	uint64_t forwarded, dropped_no_route, dropped_hop_limit; /* §14 */
	unsigned n_mappings, n_macs, n_links;
};

struct tc_overlay;

/* Creates the TAP and configures it from req (untrusted: from the
 * controller; validated here).  NULL with *err (-EINVAL for a bad request,
 * -EIO when the system refused the TAP or bridge) and why set. */
struct tc_overlay *tc_overlay_new(const struct tc_env *env,
				  const struct tc_overlay_req *req, int *err,
				  char *why, size_t why_len);
/* Frees links, closes the TAP (the device vanishes); NULL is a no-op. */
void tc_overlay_free(struct tc_overlay *ov);
const char *tc_overlay_name(const struct tc_overlay *ov);
const char *tc_overlay_tap(const struct tc_overlay *ov);

/* Link management: 0, or -EINVAL (bad request), -EEXIST, -ENOENT, -EIO
 * (the system refused), with why filled. */
int tc_overlay_create_link(struct tc_overlay *ov, const struct tc_link_req *req,
			   char *why, size_t why_len);
int tc_overlay_remove_link(struct tc_overlay *ov, const char *uid, char *why,
			   size_t why_len);
/* remote NULL: the request carried no credentials. */
int tc_overlay_add_remote(struct tc_overlay *ov, const char *uid,
			  const struct tc_ice_creds *remote, char *why,
			  size_t why_len);
int tc_overlay_map_peer(struct tc_overlay *ov, const struct tc_map_req *req,
			char *why, size_t why_len);
/* The link to uid, or NULL. */
struct tc_link *tc_overlay_link(const struct tc_overlay *ov, const char *uid);

/* GetState: the overlay's own fields, then each mapping, MAC table entry
 * (switch mode) and link, borrowed for the call. */
void tc_overlay_get_info(const struct tc_overlay *ov,
			 struct tc_overlay_info *info);
void tc_overlay_foreach_mapping(const struct tc_overlay *ov,
				void (*fn)(const struct tc_fwd_entry *e,
					   void *ctx),
				void *ctx);
void tc_overlay_foreach_mac(const struct tc_overlay *ov,
			    void (*fn)(const uint8_t mac[6], const char *uid,
				       uint64_t age_ms, void *ctx),
			    void *ctx);
void tc_overlay_foreach_link(const struct tc_overlay *ov,
			     void (*fn)(const struct tc_link *l, void *ctx),
			     void *ctx);

/* GroupVPN forwarding (PROTOCOL.md §14), 0 or -errno with why filled:
 * -EINVAL (malformed uid, via equal to dest or self, an overlay that does
 * not forward), -ENOENT (remove without a route; no such link). */
int tc_overlay_set_route(struct tc_overlay *ov, const char *dest,
			 const char *via, bool remove, char *why,
			 size_t why_len);
int tc_overlay_set_link_kind(struct tc_overlay *ov, const char *uid,
			     enum tc_link_kind kind, char *why, size_t why_len);
/* How frames reach the mapped member uid (GetState). */
struct tc_overlay_route_view {
	bool forwarded;	     /* no connected direct link: via_uid applies */
	const char *via_uid; /* borrowed; "" when unreachable */
	bool installed;
	uint64_t tx_packets, tx_bytes, rx_packets, rx_bytes;
};
void tc_overlay_route_view(const struct tc_overlay *ov, const char *uid,
			   struct tc_overlay_route_view *v);

/* Frame handling, exposed for tests: a frame read from the TAP (one
 * segment, not a TSO frame) with its checksum state. */
void tc_overlay_from_tap(struct tc_overlay *ov, const uint8_t *frame,
			 size_t len, const struct tc_csum *cs);

#endif
