/*
 * The membership engine's insides, shared by member.c (members, signals,
 * adoption), member_cands.c (a link's candidates, both ways, and which
 * link they are for) and member_links.c (which links a bounded overlay
 * holds: its topology, on-demand links, link kinds).  Not for policies.
 */
#ifndef CTL_MEMBER_INT_H
#define CTL_MEMBER_INT_H

#include "controller/member.h"
#include "common/topology.h"

enum {
	PRUNE_AFTER_MS = 15000,
	REFUSALS_PER_SEC = 10, /* "not admitting" lines logged a second */
};

struct member {
	char *jid; /* full JID */
	char
	    overlay[IPOP_NAME_SIZE]; /* the member's own name for the overlay */
	char uid[IPOP_UID_SIZE];
	uint8_t key[IPOP_KEY_LEN];
	char ipv4[INET_ADDRSTRLEN];
	char ipv6[INET6_ADDRSTRLEN];
	bool linked; /* tincan has (or is making) the link */
	bool away;   /* offline in XMPP, link still carrying */
	bool mapped; /* tincan has its mapping */
	/* Bounded overlays: why we want a link (topology edge kind, or an
	 * on-demand link asked for by traffic or by the peer) and the kind
	 * tincan has for it (Ipop__LinkKind values). */
	uint8_t want;  /* enum ipop_topo_kind */
	bool ondemand; /* an on-demand link is wanted */
	uint8_t kind;  /* what tincan was told */
	Ipop__LinkState state;
	char *pending;	    /* remote blob waiting for our link */
	bool pending_bound; /* it came bound to one of our links (seen) */
	guint relink;	    /* timer remaking a failed link */
	/* Link generations: the ufrag of our current link, and the peer's
	 * ufrag our link is bound to ("" when unknown). */
	char local_ufrag[CTL_SIG_MAX_UFRAG];
	/* Every ufrag our link has had (g_str_hash of each: its first
	 * stream, its ICE restarts, taken over or given up), the first kept
	 * and then the newest CTL_MEMBER_UFRAGS - 1: candidates bound to any
	 * of them are for this link, and tincan sorts out which stream
	 * (tc_repair_classify).  Its current stream is any of them: the
	 * first while no restart took over, though several may have run
	 * (a 10 s outage saw three, and the peer, cut off from XMPP, was
	 * bound to the first: taken for a link gone, both were remade). */
	guint ours[CTL_MEMBER_UFRAGS];
	unsigned n_ours;
	/* The peer's ufrag of the link we last dropped (g_str_hash; 0: none):
	 * that link's candidates, which the peer resends while its end
	 * connects, are no new wish for a link (two ends that each took the
	 * other's as on demand remade each other's links for minutes). */
	guint dropped_peer;
	char remote_ufrag[CTL_SIG_MAX_UFRAG];
	char pending_ufrag[CTL_SIG_MAX_UFRAG];
	/* The peer's newer ufrag our next candidates answer, or "". */
	char answer_ufrag[CTL_SIG_MAX_UFRAG];
	/* The peer's ufrag our candidates last went out bound to ("": to
	 * none). */
	char sent_seen[CTL_SIG_MAX_UFRAG];
	gint64 cands_sent_us; /* when our candidates last went out */
};

struct ctl_members {
	const struct ctl_overlay_config *cfg;
	const struct ctl_member_ops *ops;
	void *state; /* the policy's, from ops->init */
	char my_uid[IPOP_UID_SIZE];
	uint8_t my_key[IPOP_KEY_LEN];
	struct ctl_member_io io;
	bool ready;   /* the overlay exists in tincan */
	bool bounded; /* links follow topo, not everyone */
	struct ipop_topo_params topo;
	GHashTable *by_jid;    /* full JID -> struct member * (owned) */
	GHashTable *by_uid;    /* uid -> struct member * (borrowed) */
	GHashTable *available; /* full JIDs of contacts online */
	GHashTable *adopted;   /* uid -> ADOPTED(state, kind) of links tincan
				* had on adopt */
	guint prune;
	guint resend; /* candidates of links still connecting */
	struct ipop_log_budget refusals; /* anybody may advertise */
};

/* An adopted link's state and kind packed into a hash table value. */
#define CTL_ADOPTED(state, kind)                                               \
	GINT_TO_POINTER((int)(state) | (int)(kind) << 8)
#define CTL_ADOPTED_STATE(v) ((Ipop__LinkState)(GPOINTER_TO_INT(v) & 0xff))
#define CTL_ADOPTED_KIND(v) ((Ipop__LinkKind)(GPOINTER_TO_INT(v) >> 8))

/* member.c */
/* Sends req to tincan tagged "op:uid". */
void ctl_member_request(struct ctl_members *e, Ipop__Request *req,
			const char *op, const char *uid);
/* MapPeer (or, remove, its removal) for m as the policy maps it. */
void ctl_member_map(struct ctl_members *e, struct member *m, bool remove);
/* Makes our link to m (with the kind it is wanted as) unless it exists or
 * a bounded overlay does not want it. */
void ctl_member_ensure_link(struct ctl_members *e, struct member *m);
/* Forgets m (its link removed, its mapping dropped), logging why. */
void ctl_member_drop(struct ctl_members *e, struct member *m, const char *why);
/* RemoveLink of uid tagged op; forgets an adopted link of it. */
void ctl_member_remove_link(struct ctl_members *e, const char *uid,
			    const char *op);

/* member_cands.c: the candidates of a link, both ways. */
/* Sends our link's candidates local (tincan's, borrowed) to m. */
void ctl_cands_send(struct ctl_members *e, struct member *m,
		    const Ipop__IceCredentials *local);
/* Asks tincan for our link's candidates (they go out on the answer). */
void ctl_cands_ask(struct ctl_members *e, struct member *m);
/* Gives tincan the peer's candidates blob (untrusted, base64). */
void ctl_cands_add(struct ctl_members *e, struct member *m, const char *blob);
/* A link signal s from jid: the peer's candidates, for which link. */
void ctl_cands_signal(struct ctl_members *e, const char *jid,
		      const struct ctl_sig *s);
/* Forgets which generation of the link both sides' candidates were for
 * (the link is gone or being remade): ufrags, what ours were bound to, the
 * hashes of ours sent. */
void ctl_cands_forget(struct member *m);
/* Timer (data: e): candidates of every link still connecting go out
 * again after CTL_MEMBER_RESEND_MS. */
gboolean ctl_cands_resend(gpointer data);

/* member_links.c */
/* The kind m's link is wanted as: LINK_KIND_UNSPECIFIED when unbounded,
 * 0 (no link) when a bounded overlay does not want one. */
Ipop__LinkKind ctl_links_wanted(const struct ctl_members *e,
				const struct member *m);
/* Bounded overlays: recomputes the topology from the members present and
 * makes, re-kinds and removes links to match; maps every member.  Cheap
 * to call after any change of the member set; no-op when unbounded. */
void ctl_links_update(struct ctl_members *e);
/* A link we no longer want goes: RemoveLink, our link state forgotten,
 * the mapping kept (frames to m are forwarded over others). */
void ctl_links_drop(struct ctl_members *e, struct member *m, const char *why);
/* tincan's route_traffic / link_idle events. */
void ctl_links_route_traffic(struct ctl_members *e,
			     const Ipop__RouteTrafficEvent *ev);
void ctl_links_idle(struct ctl_members *e, const Ipop__LinkIdleEvent *ev);
/* A link to m failed: true if it was one we do not want remade (an
 * on-demand link, or an edge the topology no longer has); it is gone. */
bool ctl_links_failed(struct ctl_members *e, struct member *m);
/* The delay before a failed link tincan did not repair is remade. */
unsigned ctl_links_relink_ms(const struct ctl_members *e);
/* Arms m's relink timer (no-op when armed): when it fires, an away member
 * whose link did not recover is dropped, a still failed link removed to
 * be remade. */
void ctl_links_arm_relink(struct ctl_members *e, struct member *m);
/* At prune time: adopted links of members the topology does not want. */
void ctl_links_prune(struct ctl_members *e);

#endif
