/*
 * The membership engine of one overlay, shared by every policy: the member
 * table (keyed by full JID, indexed by uid), which links tincan holds and
 * in what state, advertisements, candidate exchange, the failed-link and
 * resend timers, adoption of a running tincan and the clean-shutdown bye.
 * What differs between policies (who may be a member beyond the shared
 * rules, what CreateOverlay asks for, what tincan maps a member to) comes
 * from a struct ctl_member_ops that each policy file provides (gvpn.c,
 * svpn.c, switch.c); the engine never looks at the overlay's type.  It
 * talks to the world only through struct ctl_member_io, so every decision
 * is testable without XMPP or tincan.
 *
 * Link setup is symmetric and idempotent: each side creates its own link to
 * the other on learning of it and sends its candidates; each side adds
 * the other's candidates to its link.  ICE and handshake roles follow uid
 * order inside tincan, so simultaneous starts cannot collide.  A node links
 * to every member unless its policy bounds the overlay (GroupVPN): then it
 * maps every member but links only to its neighbours in the topology of
 * common/topology.h plus on-demand links (member_links.c).
 */
#ifndef CTL_MEMBER_H
#define CTL_MEMBER_H

#include <glib.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/limits.h"
#include "controller/config.h"
#include "controller/signal.h"
#include "controller/xmpp.h"
#include "proto/ipop.pb-c.h"

enum {
	/* A failed link is remade when it is still failed after this:
	 * tincan repairs a link itself (probe bursts, ICE restarts), so
	 * this is the last resort. */
	CTL_MEMBER_RELINK_MS = 20000,
	CTL_MEMBER_RESEND_MS =
	    4000, /* candidates of a connecting link, again */
	/* Our link's ufrags remembered per member: the first and the
	 * newest (a link's ICE restarts; see member_int.h). */
	CTL_MEMBER_UFRAGS = 8,
};

/* What the engine may do; implemented by the daemon (or by tests). */
struct ctl_member_io {
	/* Sends a tincan request; the engine learns the outcome from
	 * ctl_member_tincan_reply(..., tag) with the same tag (copied). */
	void (*request)(void *ctx, Ipop__Request *req, const char *tag);
	/* Sends a signal to a full JID. */
	void (*signal)(void *ctx, const char *to_full_jid,
		       const struct ctl_sig *s);
	/* Subscription of a bare JID as the roster says now. */
	enum ctl_sub (*subscription)(void *ctx, const char *bare_jid);
	void *ctx;
	const char *my_jid;    /* our bare JID */
	const char *state_dir; /* where a policy keeps its files */
	unsigned relink_ms;    /* 0: CTL_MEMBER_RELINK_MS (tests wait less) */
};

/* What a policy sees of a member (borrowed for the call). */
struct ctl_peer {
	const char *jid;  /* full JID */
	const char *uid;  /* 40 hex digits */
	const char *ipv4; /* as the member advertised it, "" if none */
	const char *ipv6; /* as the member advertised it, "" if none */
};

/* The addresses of a MapPeer request. */
struct ctl_mapping {
	char ipv4[INET_ADDRSTRLEN]; /* the peer's address as tincan routes it */
	char ipv6[INET6_ADDRSTRLEN];	 /* "" if none */
	char peer_ipv4[INET_ADDRSTRLEN]; /* translation: the address the peer
					  * uses itself; "" without */
};

/* A policy: what its overlays do differently.  state is what init made
 * (NULL when init is NULL); a NULL hook means "nothing to add". */
struct ctl_member_ops {
	/* Makes the policy's state for overlay cfg of node my_uid; cfg and
	 * io's strings are borrowed and outlive the state.  0, or -errno
	 * (logged): the overlay is then not managed. */
	int (*init)(void **state, const struct ctl_overlay_config *cfg,
		    const char *my_uid, const struct ctl_member_io *io);
	/* Frees state (NULL: no-op). */
	void (*fini)(void *state);
	/* Admission rules beyond the shared ones (mutual subscription, same
	 * group, not this node, group secret proof), typically about the
	 * addresses adv claims.  False with *why set refuses.  Pure. */
	bool (*admits)(const struct ctl_overlay_config *cfg,
		       const struct ctl_sig *adv, const char **why);
	/* True if the devices of bare_jid are members whatever the roster
	 * says, and a roster change never drops them. */
	bool (*is_own)(void *state, const char *bare_jid);
	/* Fills the policy's part of CreateOverlay: mode and translation
	 * always, and may replace the IPv6 address; the engine has set name,
	 * TAP, bridge, addresses from cfg, MTU and PSK.  Strings it sets
	 * must live in state. */
	void (*overlay)(void *state, const struct ctl_overlay_config *cfg,
			Ipop__CreateOverlay *co);
	/* The policy's part of this node's advertisement: may replace the
	 * addresses the engine took from cfg. */
	void (*advertise)(void *state, struct ctl_sig *s);
	/* The mapping tincan gets for peer p when its link is made (remove
	 * false) or dropped (remove true).  False: no MapPeer this time.
	 * NULL: this policy never maps (tincan learns MAC addresses). */
	bool (*map)(void *state, const struct ctl_peer *p, bool remove,
		    struct ctl_mapping *out);
	/* True if cfg's overlay links only along a bounded topology, whose
	 * parameters it writes to out.  NULL: every member is linked. */
	bool (*bounded)(const struct ctl_overlay_config *cfg,
			struct ipop_topo_params *out);
};

struct ctl_members;

/* The engine for overlay cfg (borrowed) of node my_uid/my_key (copied),
 * run by policy ops (borrowed, static); io is copied, its strings
 * borrowed.  NULL (logged) when the policy's init fails. */
struct ctl_members *ctl_member_new(const struct ctl_overlay_config *cfg,
				   const char *my_uid,
				   const uint8_t my_key[IPOP_KEY_LEN],
				   const struct ctl_member_ops *ops,
				   const struct ctl_member_io *io);
/* Frees the members, timers and the policy's state; NULL is a no-op. */
void ctl_member_free(struct ctl_members *e);
const char *ctl_member_name(const struct ctl_members *e);
const char *ctl_member_group(const struct ctl_members *e);

/* Pure membership decision (exposed for tests): may the sender of adv,
 * whose roster subscription is sub (own devices count as mutual), be a
 * member of cfg under policy ops?  why says no. */
bool ctl_member_admits(const struct ctl_member_ops *ops,
		       const struct ctl_overlay_config *cfg, const char *my_uid,
		       enum ctl_sub sub, const struct ctl_sig *adv,
		       const char **why);
/* The mapping a peer advertised for itself (what GroupVPN maps). */
void ctl_mapping_advertised(const struct ctl_peer *p, struct ctl_mapping *out);

/* Inputs. */
/* Our XMPP session is (re)established: advertise to everyone available. */
void ctl_member_online(struct ctl_members *e);
/* A contact's resource came or went. */
void ctl_member_presence(struct ctl_members *e, const char *full_jid,
			 bool available);
/* A roster change: members of bare_jid lose or keep their place. */
void ctl_member_roster(struct ctl_members *e, const char *bare_jid,
		       enum ctl_sub sub);
/* A decoded signal from full_jid (borrowed).  Advertisements go to the
 * overlays of their group; link and bye signals go to every overlay, and
 * the one that holds the sender as a member under the sender's overlay
 * name takes them. */
void ctl_member_signal(struct ctl_members *e, const char *full_jid,
		       const struct ctl_sig *s);
/* A tincan event that concerns this overlay. */
void ctl_member_event(struct ctl_members *e, const Ipop__Event *ev);
/* The answer to a request made with tag (resp NULL: tincan went away). */
void ctl_member_tincan_reply(struct ctl_members *e, const char *tag,
			     const Ipop__Response *resp);
/* tincan (re)connected: adopt state from its overlay info (NULL when the
 * overlay does not exist yet: the engine creates it). */
void ctl_member_adopt(struct ctl_members *e, const Ipop__OverlayInfo *info);
/* Sends bye to every member (clean shutdown). */
void ctl_member_leave(struct ctl_members *e);
/* Number of members / of members whose link is connected. */
unsigned ctl_member_count(const struct ctl_members *e);
unsigned ctl_member_connected(const struct ctl_members *e);

#endif
