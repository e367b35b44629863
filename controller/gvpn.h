/*
 * Membership policy for one overlay, for the three overlay types:
 *   gvpn    GroupVPN: members are contacts with mutual subscription that
 *           advertise the same group (and prove the group secret when the
 *           overlay has one); static addresses, no translation.
 *   switch  the same membership among routers; tincan switches frames
 *           between the bridge and the links, so no addresses are mapped.
 *   svpn    SocialVPN: members are friends (mutual subscription) and this
 *           user's own other devices; each gets a stable address in this
 *           node's view and tincan translates.
 * It decides which links tincan must hold (one to every online member, for
 * now).  Owns the member table of its overlay;
 * it talks to the world only through struct ctl_gvpn_io, so the decisions
 * are testable without XMPP or tincan.
 *
 * Link setup is symmetric and idempotent: each side creates its own link to
 * the other on learning of it and sends its candidates; each side adds
 * the other's candidates to its link.  ICE and handshake roles follow uid
 * order inside tincan, so simultaneous starts cannot collide.
 */
#ifndef CTL_GVPN_H
#define CTL_GVPN_H

#include <glib.h>
#include <stdbool.h>

#include "controller/config.h"
#include "controller/signal.h"
#include "controller/xmpp.h"
#include "proto/ipop.pb-c.h"

enum {
	CTL_GVPN_RELINK_MS = 5000, /* at most one remake of a failed link per */
	CTL_GVPN_RESEND_MS = 4000, /* candidates of a connecting link, again */
};

/* What the policy may do; implemented by the node (or by tests). */
struct ctl_gvpn_io {
	/* Sends a tincan request; the policy learns the outcome from
	 * ctl_gvpn_tincan_reply(..., tag) with the same tag (copied). */
	void (*request)(void *ctx, Ipop__Request *req, const char *tag);
	/* Sends a signal to a full JID. */
	void (*signal)(void *ctx, const char *to_full_jid,
		       const struct ctl_sig *s);
	/* Subscription of a bare JID as the roster says now. */
	enum ctl_sub (*subscription)(void *ctx, const char *bare_jid);
	void *ctx;
	const char *my_jid; /* our bare JID (svpn: own devices are members) */
	const char *state_dir; /* svpn: where the address table lives */
};

struct ctl_gvpn;

/* Policy for overlay cfg (borrowed) of node my_uid/my_key (copied); io is
 * copied, its strings borrowed.  NULL (logged) when an svpn address table
 * cannot be opened. */
struct ctl_gvpn *ctl_gvpn_new(const struct ctl_overlay_config *cfg,
			      const char *my_uid, const uint8_t my_key[32],
			      const struct ctl_gvpn_io *io);
void ctl_gvpn_free(struct ctl_gvpn *g);
const char *ctl_gvpn_name(const struct ctl_gvpn *g);
const char *ctl_gvpn_group(const struct ctl_gvpn *g);

/* Pure membership decision (exposed for tests): may the sender of adv,
 * whose roster subscription is sub (own devices count as mutual), be a
 * member of cfg?  why says no. */
bool ctl_gvpn_admits(const struct ctl_overlay_config *cfg, const char *my_uid,
		     enum ctl_sub sub, const struct ctl_sig *adv,
		     const char **why);

/* Inputs. */
/* Our XMPP session is (re)established: advertise to everyone available. */
void ctl_gvpn_online(struct ctl_gvpn *g);
/* A contact's resource came or went. */
void ctl_gvpn_presence(struct ctl_gvpn *g, const char *full_jid,
		       bool available);
/* A roster change: members of bare_jid lose or keep their place. */
void ctl_gvpn_roster(struct ctl_gvpn *g, const char *bare_jid,
		     enum ctl_sub sub);
/* A decoded signal from full_jid (borrowed).  Advertisements go to the
 * overlays of their group; link and bye signals go to every overlay, and
 * the one that holds the sender as a member under the sender's overlay
 * name takes them. */
void ctl_gvpn_signal(struct ctl_gvpn *g, const char *full_jid,
		     const struct ctl_sig *s);
/* A tincan event that concerns this overlay. */
void ctl_gvpn_event(struct ctl_gvpn *g, const Ipop__Event *ev);
/* The answer to a request made with tag (resp NULL: tincan went away). */
void ctl_gvpn_tincan_reply(struct ctl_gvpn *g, const char *tag,
			   const Ipop__Response *resp);
/* tincan (re)connected: adopt state from its overlay info (NULL when the
 * overlay does not exist yet: the policy creates it). */
void ctl_gvpn_adopt(struct ctl_gvpn *g, const Ipop__OverlayInfo *info);
/* Sends bye to every member (clean shutdown). */
void ctl_gvpn_leave(struct ctl_gvpn *g);
/* Number of members / of members whose link is connected. */
unsigned ctl_gvpn_members(const struct ctl_gvpn *g);
unsigned ctl_gvpn_connected(const struct ctl_gvpn *g);

/* SocialVPN's IPv6 address of a uid: fd69:706f:7076::/48 (ASCII "ipopv")
 * followed by the first 80 bits of the uid; no translation needed. */
void ctl_svpn_ipv6(const char *uid, char out[46]);

#endif
