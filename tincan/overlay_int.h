/*
 * The inside of an overlay, shared by its two files only: overlay.c (life
 * and control requests: validation, links, mappings, GetState) and
 * overlay_path.c (the packet path between the TAP and the links).  No
 * other module includes this header.
 */
#ifndef TC_OVERLAY_INT_H
#define TC_OVERLAY_INT_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "common/limits.h"
#include "tincan/env.h"
#include "tincan/fwd.h"
#include "tincan/link.h"
#include "tincan/offload.h"
#include "tincan/overlay.h"
#include "tincan/route.h"
#include "tincan/switch.h"
#include "tincan/tap.h"

enum {
	TC_OVERLAY_EXPIRE_MS = 10 * 1000, /* switch mode: MAC ageing pass */
	TC_OVERLAY_RX_CAP = TC_OFFLOAD_VNET_LEN + TC_GSO_MAX,
};

struct tc_overlay {
	const struct tc_env *env;
	char name[IPOP_NAME_SIZE];
	char tap[IFNAMSIZ];
	char bridge[IFNAMSIZ]; /* switch mode, or "" */
	int fd;
	guint watch;
	struct tc_tap_config cfg;
	enum tc_overlay_mode mode;
	bool translation;     /* SocialVPN: rewrite IPv4 on receive */
	uint8_t *psk;	      /* sodium_malloc'd, or NULL */
	struct tc_fwd *fwd;   /* L3 mode */
	struct tc_switch *sw; /* switch mode */
	guint expire;	      /* switch mode: MAC ageing timer */
	GHashTable *links;    /* uid -> struct tc_link * */
	uint64_t unknown_window_ms;
	unsigned unknown_in_window;
	uint64_t tap_dropped;
	uint64_t malformed;
	bool offload;	    /* the kernel hands over TSO and partial sums */
	uint8_t *rx;	    /* virtio header + frame read from the TAP */
	struct tc_gro *gro; /* frames from links on their way to the TAP */
	GSource *gro_flush; /* empties gro after each main loop pass */
	bool gro_pending;
	bool gro_refused; /* the kernel refused a joined frame */
	/* GroupVPN forwarding (overlay_route.c): L3 without translation. */
	struct tc_route *route; /* NULL: no forwarding */
	bool links_pending;	/* frames passed on wait in link batches */
	uint64_t ondemand_bps;	/* route_traffic threshold, 0 = off */
	uint32_t ondemand_idle_ms;
	guint route_tick; /* the on-demand events' timer */
	guint hold_timer; /* the next end of a hold (route.h) */
	uint64_t hold_at_ms;
	uint64_t forwarded, dropped_no_route, dropped_hop_limit;
};

/* What the links of an overlay call back (decrypted frames). */
extern const struct tc_link_ops tc_overlay_link_ops;

/* Milliseconds of the monotonic clock. */
uint64_t tc_overlay_now_ms(void);
/* Writes one frame with its virtio header to the TAP (tc_gro's output). */
void tc_overlay_tap_out(void *ov, const struct virtio_net_hdr *h,
			const uint8_t *frame, size_t len);
/* Writes a complete frame made here (answers, announcements). */
void tc_overlay_write_tap(struct tc_overlay *ov, const uint8_t *frame,
			  size_t len);
/* The source that flushes ov->gro after each main loop pass, attached. */
GSource *tc_overlay_gro_source_new(struct tc_overlay *ov);
/* The TAP watch (g_unix_fd_add callback; data is the overlay). */
gboolean tc_overlay_on_tap_readable(gint fd, GIOCondition cond, gpointer data);
/* A frame from a link or from a member over others (untrusted: from
 * peer), checked against src's mapping as its sender and written to the
 * TAP (L3 mode). */
void tc_overlay_deliver(struct tc_overlay *ov, const char *src, uint8_t *frame,
			size_t len, const struct tc_csum *cs);
/* The mapping a unicast IP frame (headers only read) is addressed to, or
 * NULL (not unicast IP, or no mapping). */
const struct tc_fwd_entry *tc_overlay_unicast_dest(struct tc_overlay *ov,
						   const uint8_t *frame,
						   size_t len);

/* overlay_route.c.  Set up forwarding (L3 without translation) and tear
 * it down. */
void tc_overlay_route_start(struct tc_overlay *ov);
void tc_overlay_route_stop(struct tc_overlay *ov);
/* A unicast frame from the TAP for the mapped member uid: its direct
 * link when connected (after a hold), else forwarded. */
void tc_overlay_route_send(struct tc_overlay *ov, const char *uid,
			   const uint8_t *frame, size_t len,
			   const struct tc_csum *cs);
/* The link tc_overlay_route_send would put a frame for uid straight on
 * now (no forwarding, no hold), or NULL.  Like it, it makes the route
 * entry of a member without a connected link. */
struct tc_link *tc_overlay_route_direct(struct tc_overlay *ov, const char *uid);
/* The TCP payload per segment a TSO frame for the mapping e (NULL: none)
 * must be cut into: gso_size, less TC_ROUTE_OVERHEAD when the frame will
 * be forwarded. */
uint16_t tc_overlay_route_gso(struct tc_overlay *ov,
			      const struct tc_fwd_entry *e, uint16_t gso_size);
/* The links changed: a link was added, removed or changed state. */
void tc_overlay_route_links_changed(struct tc_overlay *ov);
/* The link op for TC_INNER_FORWARD bodies. */
void tc_overlay_on_forward(void *owner, struct tc_link *l, uint8_t *body,
			   size_t len);

/* The MAC ageing timer of switch mode (data is the overlay). */
gboolean tc_overlay_on_expire(gpointer data);

#endif
