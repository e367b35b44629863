/*
 * Membership policy of one overlay (gvpn, switch or svpn).  Owns the member
 * table (keyed by full JID, indexed by uid), the knowledge of which links
 * tincan holds and, for svpn, the local-view address table.  It
 * turns presence, roster changes, signals and tincan events into tincan
 * requests and signals through struct ctl_gvpn_io; it never touches a
 * socket itself.
 */
#define G_LOG_DOMAIN "controller"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "controller/addrs.h"
#include "controller/gvpn.h"
#include "proto/pbutil.h"
#include "common/uid.h"

enum { PRUNE_AFTER_MS = 15000 };

struct member {
	char *jid;	  /* full JID */
	char overlay[33]; /* the member's own name for the overlay */
	char uid[41];
	uint8_t key[32];
	char ipv4[16];
	char ipv6[46];
	bool linked; /* tincan has (or is making) the link */
	bool away;   /* offline in XMPP, link still carrying */
	Ipop__LinkState state;
	char *pending; /* remote blob waiting for our link */
	guint relink;  /* timer remaking a failed link */
	/* Link generations: the ufrag of our current link, and the peer's
	 * ufrag our link is bound to ("" when unknown). */
	char local_ufrag[CTL_SIG_MAX_UFRAG];
	char remote_ufrag[CTL_SIG_MAX_UFRAG];
	char pending_ufrag[CTL_SIG_MAX_UFRAG];
	gint64 cands_sent_us; /* when our candidates last went out */
};

struct ctl_gvpn {
	const struct ctl_overlay_config *cfg;
	char my_uid[41];
	uint8_t my_key[32];
	struct ctl_gvpn_io io;
	bool ready;	       /* the overlay exists in tincan */
	GHashTable *by_jid;    /* full JID -> struct member * (owned) */
	GHashTable *by_uid;    /* uid -> struct member * (borrowed) */
	GHashTable *available; /* full JIDs of contacts online */
	GHashTable *adopted;   /* uids of links tincan had on adopt */
	guint prune;
	struct ctl_addrs *addrs; /* svpn: local-view addresses */
	guint resend;		 /* candidates of links still connecting */
	char ipv6[46];		 /* svpn: our derived IPv6, else "" */
};

static bool is_svpn(const struct ctl_gvpn *g)
{
	return g->cfg->type == CTL_OVERLAY_SVPN;
}

void ctl_svpn_ipv6(const char *uid, char out[46])
{
	uint8_t a[16] = {0xfd, 0x69, 0x70, 0x6f, 0x70, 0x76};
	size_t i;

	for (i = 0; i < 10; i++)
		a[6 + i] = (uint8_t)(g_ascii_xdigit_value(uid[2 * i]) << 4 |
				     g_ascii_xdigit_value(uid[2 * i + 1]));
	inet_ntop(AF_INET6, a, out, 46);
}

static void member_free(struct member *m)
{
	if (m->relink)
		g_source_remove(m->relink);
	g_free(m->jid);
	g_free(m->pending);
	g_free(m);
}

static char *bare_of(const char *full)
{
	const char *slash = strchr(full, '/');

	return slash ? g_strndup(full, (gsize)(slash - full)) : g_strdup(full);
}

/* The roster's word, with this user's own devices as mutual in svpn. */
static enum ctl_sub sub_of(struct ctl_gvpn *g, const char *bare)
{
	if (is_svpn(g) && g->io.my_jid && !strcmp(bare, g->io.my_jid))
		return CTL_SUB_BOTH;
	return g->io.subscription(g->io.ctx, bare);
}

static void request(struct ctl_gvpn *g, Ipop__Request *req, const char *op,
		    const char *uid)
{
	g_autofree char *tag = g_strdup_printf("%s:%s", op, uid ? uid : "");

	g->io.request(g->io.ctx, req, tag);
}

static void advertise(struct ctl_gvpn *g, const char *to, bool ack)
{
	struct ctl_sig s = {.kind = CTL_SIG_ADVERTISE, .ack = ack};

	g_strlcpy(s.uid, g->my_uid, sizeof(s.uid));
	memcpy(s.key, g->my_key, 32);
	g_strlcpy(s.overlay, g->cfg->name, sizeof(s.overlay));
	g_strlcpy(s.group, g->cfg->group, sizeof(s.group));
	if (g->cfg->ipv4)
		g_strlcpy(s.ipv4, g->cfg->ipv4, sizeof(s.ipv4));
	if (g->ipv6[0])
		g_strlcpy(s.ipv6, g->ipv6, sizeof(s.ipv6));
	else if (g->cfg->ipv6)
		g_strlcpy(s.ipv6, g->cfg->ipv6, sizeof(s.ipv6));
	if (g->cfg->has_secret) {
		ctl_sig_proof(g->cfg->psk, s.group, s.uid, s.key, s.proof);
		s.has_proof = true;
	}
	g->io.signal(g->io.ctx, to, &s);
}

static void send_candidates(struct ctl_gvpn *g, struct member *m,
			    const Ipop__IceCredentials *local)
{
	struct ctl_sig s = {.kind = CTL_SIG_LINK};
	size_t len = ipop__ice_credentials__get_packed_size(local);
	g_autofree uint8_t *buf = g_malloc(len ? len : 1);

	ipop__ice_credentials__pack(local, buf);
	g_strlcpy(s.uid, g->my_uid, sizeof(s.uid));
	g_strlcpy(s.to, m->uid, sizeof(s.to));
	g_strlcpy(s.overlay, g->cfg->name, sizeof(s.overlay));
	s.cands = g_base64_encode(buf, len);
	g_strlcpy(m->local_ufrag, local->ufrag, sizeof(m->local_ufrag));
	g_strlcpy(s.seen, m->remote_ufrag, sizeof(s.seen));
	m->cands_sent_us = g_get_monotonic_time();
	g_debug("overlay %s: candidates to %s", g->cfg->name, m->jid);
	g->io.signal(g->io.ctx, m->jid, &s);
	g_free(s.cands);
}

static void ask_local(struct ctl_gvpn *g, struct member *m)
{
	Ipop__Request req = IPOP__REQUEST__INIT;
	Ipop__GetLocalCandidates glc = IPOP__GET_LOCAL_CANDIDATES__INIT;

	glc.overlay = g->cfg->name;
	glc.peer_uid = m->uid;
	req.kind_case = IPOP__REQUEST__KIND_GET_LOCAL_CANDIDATES;
	req.get_local_candidates = &glc;
	request(g, &req, "local", m->uid);
}

/* svpn: the member's address in our view, and its uid-derived IPv6. */
static bool view_addrs(struct ctl_gvpn *g, struct member *m, char *v4, char *v6)
{
	uint8_t a[4];
	int r = ctl_addrs_get(g->addrs, m->uid, a);

	if (r == -ENOSPC) {
		g_warning("overlay %s: subnet full, no address for %s",
			  g->cfg->name, m->jid);
		return false;
	}
	inet_ntop(AF_INET, a, v4, INET_ADDRSTRLEN);
	ctl_svpn_ipv6(m->uid, v6);
	return true;
}

static void map_peer(struct ctl_gvpn *g, struct member *m, bool remove)
{
	Ipop__Request req = IPOP__REQUEST__INIT;
	Ipop__MapPeer mp = IPOP__MAP_PEER__INIT;
	char v4[INET_ADDRSTRLEN], v6[46];

	if (g->cfg->type == CTL_OVERLAY_SWITCH)
		return; /* MAC learning decides */
	mp.overlay = g->cfg->name;
	mp.peer_uid = m->uid;
	mp.ipv4 = m->ipv4;
	mp.ipv6 = m->ipv6;
	mp.label = m->jid;
	mp.remove = remove;
	if (is_svpn(g) && !remove) {
		if (!view_addrs(g, m, v4, v6))
			return;
		mp.ipv4 = v4;
		mp.ipv6 = v6;
		mp.peer_ipv4 = m->ipv4;
	}
	req.kind_case = IPOP__REQUEST__KIND_MAP_PEER;
	req.map_peer = &mp;
	request(g, &req, "map", m->uid);
}

static void ensure_link(struct ctl_gvpn *g, struct member *m)
{
	Ipop__Request req = IPOP__REQUEST__INIT;
	Ipop__CreateLink cl = IPOP__CREATE_LINK__INIT;

	if (!g->ready || m->linked)
		return;
	m->linked = true;
	if (!g_hash_table_contains(g->adopted, m->uid)) {
		cl.overlay = g->cfg->name;
		cl.peer_uid = m->uid;
		cl.peer_public_key.data = m->key;
		cl.peer_public_key.len = 32;
		req.kind_case = IPOP__REQUEST__KIND_CREATE_LINK;
		req.create_link = &cl;
		request(g, &req, "create", m->uid);
		g_message("overlay %s: linking to %s (uid %.12s)", g->cfg->name,
			  m->jid, m->uid);
	}
	map_peer(g, m, false);
	ask_local(g, m);
}

static void remove_link(struct ctl_gvpn *g, const char *uid, const char *op)
{
	Ipop__Request req = IPOP__REQUEST__INIT;
	Ipop__RemoveLink rl = IPOP__REMOVE_LINK__INIT;

	rl.overlay = g->cfg->name;
	rl.peer_uid = ipop_cstr(uid);
	req.kind_case = IPOP__REQUEST__KIND_REMOVE_LINK;
	req.remove_link = &rl;
	request(g, &req, op, uid);
	g_hash_table_remove(g->adopted, uid);
}

static void drop_member(struct ctl_gvpn *g, struct member *m, const char *why)
{
	g_message("overlay %s: %s leaves (%s)", g->cfg->name, m->jid, why);
	if (m->linked) {
		remove_link(g, m->uid, "remove");
		map_peer(g, m, true);
	}
	g_hash_table_remove(g->by_uid, m->uid);
	g_hash_table_remove(g->by_jid, m->jid); /* frees m */
}

bool ctl_gvpn_admits(const struct ctl_overlay_config *cfg, const char *my_uid,
		     enum ctl_sub sub, const struct ctl_sig *adv,
		     const char **why)
{
	uint8_t a[4];

	bool needs_v4 = cfg->type != CTL_OVERLAY_SWITCH;

	if (sub != CTL_SUB_BOTH)
		*why = "no mutual subscription";
	else if (strcmp(adv->group, cfg->group))
		*why = "different group";
	else if (!strcmp(adv->uid, my_uid))
		*why = "that is this node";
	else if (cfg->has_secret && !adv->has_proof)
		*why = "no group secret proof";
	else if (cfg->has_secret && !ctl_sig_proof_ok(adv, cfg->psk))
		*why = "wrong group secret proof";
	else if (needs_v4 && inet_pton(AF_INET, adv->ipv4, a) != 1)
		*why = "no IPv4 address";
	/* In SocialVPN every node may use the same address in its own view. */
	else if (cfg->type == CTL_OVERLAY_GVPN && !strcmp(adv->ipv4, cfg->ipv4))
		*why = "claims this node's address";
	else
		return true;
	return false;
}

static struct member *add_member(struct ctl_gvpn *g, const char *jid,
				 const struct ctl_sig *s)
{
	struct member *m = g_new0(struct member, 1);

	m->jid = g_strdup(jid);
	g_strlcpy(m->overlay, s->overlay, sizeof(m->overlay));
	g_strlcpy(m->uid, s->uid, sizeof(m->uid));
	memcpy(m->key, s->key, 32);
	g_strlcpy(m->ipv4, s->ipv4, sizeof(m->ipv4));
	g_strlcpy(m->ipv6, s->ipv6, sizeof(m->ipv6));
	m->linked = false;
	g_hash_table_insert(g->by_jid, m->jid, m);
	g_hash_table_insert(g->by_uid, m->uid, m);
	g_message("overlay %s: member %s (uid %.12s, %s)", g->cfg->name, jid,
		  m->uid, m->ipv4[0] ? m->ipv4 : "no address");
	return m;
}

static void on_advertise(struct ctl_gvpn *g, const char *jid,
			 const struct ctl_sig *s)
{
	g_autofree char *bare = bare_of(jid);
	struct member *m = g_hash_table_lookup(g->by_jid, jid);
	struct member *same_uid = g_hash_table_lookup(g->by_uid, s->uid);
	const char *why = NULL;

	if (!ctl_gvpn_admits(g->cfg, g->my_uid, sub_of(g, bare), s, &why)) {
		g_message("overlay %s: not admitting %s: %s", g->cfg->name, jid,
			  why);
		if (m)
			drop_member(g, m, why);
		return;
	}
	/* A device that changed identity, or an identity that moved. */
	if (m && (strcmp(m->uid, s->uid) || memcmp(m->key, s->key, 32) ||
		  strcmp(m->ipv4, s->ipv4) || strcmp(m->overlay, s->overlay)))
		drop_member(g, m, "identity or address changed");
	else if (!m && same_uid)
		drop_member(g, same_uid, "moved to another resource");
	m = g_hash_table_lookup(g->by_jid, jid);
	if (!m)
		m = add_member(g, jid, s);
	m->away = false;
	if (!s->ack)
		advertise(g, jid, true);
	ensure_link(g, m);
}

static void add_remote(struct ctl_gvpn *g, struct member *m, const char *blob)
{
	Ipop__Request req = IPOP__REQUEST__INIT;
	Ipop__AddRemoteCandidates arc = IPOP__ADD_REMOTE_CANDIDATES__INIT;
	Ipop__IceCredentials *ic;
	g_autofree guchar *raw = NULL;
	gsize len = 0;

	raw = g_base64_decode(blob, &len);
	ic = ipop__ice_credentials__unpack(NULL, len, raw); /* untrusted */
	if (!ic) {
		g_message("overlay %s: undecodable candidates from %s",
			  g->cfg->name, m->jid);
		return;
	}
	g_strlcpy(m->pending_ufrag, ic->ufrag, sizeof(m->pending_ufrag));
	arc.overlay = g->cfg->name;
	arc.peer_uid = m->uid;
	arc.remote = ic;
	req.kind_case = IPOP__REQUEST__KIND_ADD_REMOTE_CANDIDATES;
	req.add_remote_candidates = &arc;
	/* Kept until tincan accepts them: a remade link needs them again. */
	if (m->pending != blob) {
		g_free(m->pending);
		m->pending = g_strdup(blob);
	}
	request(g, &req, "add", m->uid);
	ipop__ice_credentials__free_unpacked(ic, NULL);
}

static void on_link_signal(struct ctl_gvpn *g, const char *jid,
			   const struct ctl_sig *s)
{
	struct member *m = g_hash_table_lookup(g->by_jid, jid);

	/* Signals go to every overlay; only the one holding the member
	 * under the sender's overlay name takes them. */
	if (!m || strcmp(m->overlay, s->overlay))
		return;
	if (strcmp(m->uid, s->uid) || strcmp(s->to, g->my_uid)) {
		g_message(
		    "overlay %s: candidates from %s for another node dropped",
		    g->cfg->name, jid);
		return;
	}
	/* Bound to a link of ours that is gone: the peer gets our current
	 * candidates (again) and answers for the current link. */
	if (s->seen[0] && m->local_ufrag[0] &&
	    strcmp(s->seen, m->local_ufrag)) {
		g_debug("overlay %s: candidates from %s for an older link",
			g->cfg->name, jid);
		if (m->linked)
			ask_local(g, m);
		return;
	}
	g_free(m->pending);
	m->pending = g_strdup(s->cands);
	if (!m->linked)
		ensure_link(g, m); /* candidates go in once it exists */
	else if (g_hash_table_contains(g->adopted, m->uid) ||
		 m->state != IPOP__LINK_STATE__LINK_STATE_UNSPECIFIED)
		add_remote(g, m, m->pending);
}

/* A member's controller went away (bye, or unavailable).  Its tincan may
 * still run: an XMPP server restart reports everyone unavailable, and a
 * restarted or replaced controller says bye.  A link that still works is
 * kept until it fails; one that does not is removed now. */
static void member_gone(struct ctl_gvpn *g, struct member *m, const char *why)
{
	if (m->state != IPOP__LINK_STATE__CONNECTED) {
		drop_member(g, m, why);
		return;
	}
	g_message("overlay %s: %s %s; keeping its working link until it fails",
		  g->cfg->name, m->jid, why);
	m->away = true;
}

void ctl_gvpn_signal(struct ctl_gvpn *g, const char *full_jid,
		     const struct ctl_sig *s)
{
	struct member *m;

	switch (s->kind) {
	case CTL_SIG_ADVERTISE:
		on_advertise(g, full_jid, s);
		break;
	case CTL_SIG_LINK:
		on_link_signal(g, full_jid, s);
		break;
	case CTL_SIG_BYE:
		m = g_hash_table_lookup(g->by_jid, full_jid);
		if (m && !strcmp(m->uid, s->uid) &&
		    !strcmp(m->overlay, s->overlay))
			member_gone(g, m, "said bye");
		break;
	}
}

void ctl_gvpn_online(struct ctl_gvpn *g)
{
	GHashTableIter it;
	gpointer jid;

	g_hash_table_iter_init(&it, g->available);
	while (g_hash_table_iter_next(&it, &jid, NULL))
		advertise(g, jid, false);
}

void ctl_gvpn_presence(struct ctl_gvpn *g, const char *full_jid, bool available)
{
	g_autofree char *bare = bare_of(full_jid);
	struct member *m = g_hash_table_lookup(g->by_jid, full_jid);

	if (!available) {
		g_hash_table_remove(g->available, full_jid);
		if (m)
			member_gone(g, m, "went offline");
		return;
	}
	g_hash_table_add(g->available, g_strdup(full_jid));
	if (sub_of(g, bare) == CTL_SUB_BOTH)
		advertise(g, full_jid, false);
}

void ctl_gvpn_roster(struct ctl_gvpn *g, const char *bare_jid, enum ctl_sub sub)
{
	GHashTableIter it;
	gpointer jid, m;
	GPtrArray *gone;
	guint i;

	if (is_svpn(g) && g->io.my_jid && !strcmp(bare_jid, g->io.my_jid))
		return; /* never unfriend ourselves */
	if (sub == CTL_SUB_BOTH) {
		/* A new friend: greet its devices that are already online. */
		g_hash_table_iter_init(&it, g->available);
		while (g_hash_table_iter_next(&it, &jid, NULL)) {
			g_autofree char *bare = bare_of(jid);
			if (!strcmp(bare, bare_jid) &&
			    !g_hash_table_contains(g->by_jid, jid))
				advertise(g, jid, false);
		}
		return;
	}
	gone = g_ptr_array_new();
	g_hash_table_iter_init(&it, g->by_jid);
	while (g_hash_table_iter_next(&it, &jid, &m)) {
		g_autofree char *bare = bare_of(jid);
		if (!strcmp(bare, bare_jid))
			g_ptr_array_add(gone, m);
	}
	for (i = 0; i < gone->len; i++)
		drop_member(g, gone->pdata[i], "subscription ended");
	g_ptr_array_free(gone, TRUE);
}

static gboolean on_relink(gpointer data)
{
	struct member *m = data;

	m->relink = 0;
	return G_SOURCE_REMOVE;
}

static void link_state(struct ctl_gvpn *g, const Ipop__LinkStateChangedEvent *e)
{
	struct member *m =
	    e->peer_uid ? g_hash_table_lookup(g->by_uid, e->peer_uid) : NULL;

	if (!m)
		return;
	m->state = e->state;
	if (e->state == IPOP__LINK_STATE__FAILED && m->away) {
		drop_member(g, m, "offline and its link failed");
		return;
	}
	if (e->state == IPOP__LINK_STATE__CONNECTED)
		g_message("overlay %s: link to %s connected (%s -> %s)",
			  g->cfg->name, m->jid,
			  e->pair ? e->pair->local_type : "?",
			  e->pair ? e->pair->remote_type : "?");
	/* A link that failed is remade once, after a pause, by the side with
	 * the smaller uid; the other side follows when its add fails. */
	if (e->state == IPOP__LINK_STATE__FAILED && !m->relink &&
	    strcmp(g->my_uid, m->uid) < 0) {
		g_message("overlay %s: link to %s failed; remaking it",
			  g->cfg->name, m->jid);
		m->relink = g_timeout_add(CTL_GVPN_RELINK_MS, on_relink, m);
		remove_link(g, m->uid, "relink");
	}
}

void ctl_gvpn_event(struct ctl_gvpn *g, const Ipop__Event *ev)
{
	struct member *m;

	switch (ev->kind_case) {
	case IPOP__EVENT__KIND_LINK_STATE:
		link_state(g, ev->link_state);
		break;
	case IPOP__EVENT__KIND_LOCAL_CANDIDATES:
		m = ev->local_candidates->peer_uid
			? g_hash_table_lookup(g->by_uid,
					      ev->local_candidates->peer_uid)
			: NULL;
		if (m && ev->local_candidates->local)
			send_candidates(g, m, ev->local_candidates->local);
		break;
	default:
		break;
	}
}

static void create_overlay(struct ctl_gvpn *g)
{
	Ipop__Request req = IPOP__REQUEST__INIT;
	Ipop__CreateOverlay co = IPOP__CREATE_OVERLAY__INIT;

	co.name = g->cfg->name;
	co.tap_name = g->cfg->tap;
	co.mode = g->cfg->type == CTL_OVERLAY_SWITCH
		      ? IPOP__OVERLAY_MODE__SWITCH
		      : IPOP__OVERLAY_MODE__L3;
	if (g->cfg->bridge)
		co.bridge = g->cfg->bridge;
	co.translation = is_svpn(g);
	if (g->cfg->ipv4) {
		co.ipv4 = g->cfg->ipv4;
		co.ipv4_prefix = g->cfg->ipv4_prefix;
	}
	if (g->ipv6[0]) {
		co.ipv6 = g->ipv6;
		co.ipv6_prefix = 48;
	} else if (g->cfg->ipv6) {
		co.ipv6 = g->cfg->ipv6;
		co.ipv6_prefix = g->cfg->ipv6_prefix;
	}
	co.mtu = g->cfg->mtu;
	if (g->cfg->has_secret) {
		co.psk.data = ipop_cbytes(g->cfg->psk);
		co.psk.len = CTL_PSK_LEN;
	}
	req.kind_case = IPOP__REQUEST__KIND_CREATE_OVERLAY;
	req.create_overlay = &co;
	request(g, &req, "overlay", NULL);
}

static void link_everyone(struct ctl_gvpn *g)
{
	GHashTableIter it;
	gpointer m;

	g_hash_table_iter_init(&it, g->by_jid);
	while (g_hash_table_iter_next(&it, NULL, &m))
		ensure_link(g, m);
}

/* Links tincan had that no member claimed since adoption are stale. */
static gboolean on_prune(gpointer data)
{
	struct ctl_gvpn *g = data;
	GHashTableIter it;
	gpointer uid;
	GPtrArray *stale = g_ptr_array_new_with_free_func(g_free);
	guint i;

	g->prune = 0;
	g_hash_table_iter_init(&it, g->adopted);
	while (g_hash_table_iter_next(&it, &uid, NULL))
		if (!g_hash_table_contains(g->by_uid, uid))
			g_ptr_array_add(stale, g_strdup(uid));
	for (i = 0; i < stale->len; i++) {
		g_message("overlay %s: removing stale link %.12s", g->cfg->name,
			  (char *)stale->pdata[i]);
		remove_link(g, stale->pdata[i], "remove");
	}
	g_ptr_array_free(stale, TRUE);
	return G_SOURCE_REMOVE;
}

void ctl_gvpn_adopt(struct ctl_gvpn *g, const Ipop__OverlayInfo *info)
{
	GHashTableIter it;
	gpointer m;
	size_t i;

	g->ready = false;
	g_hash_table_remove_all(g->adopted);
	g_hash_table_iter_init(&it, g->by_jid);
	while (g_hash_table_iter_next(&it, NULL, &m))
		((struct member *)m)->linked = false;
	if (!info) {
		create_overlay(g);
		return;
	}
	for (i = 0; i < info->n_links; i++)
		g_hash_table_add(g->adopted,
				 g_strdup(info->links[i]->peer_uid));
	g_message("overlay %s: adopted overlay with %zu links", g->cfg->name,
		  info->n_links);
	g->ready = true;
	link_everyone(g);
	if (g->prune)
		g_source_remove(g->prune);
	g->prune = g_timeout_add(PRUNE_AFTER_MS, on_prune, g);
}

static void after_create(struct ctl_gvpn *g, struct member *m,
			 const Ipop__Response *resp)
{
	if (resp->status != IPOP__STATUS__OK &&
	    resp->status != IPOP__STATUS__EXISTS) {
		g_warning("overlay %s: tincan refused link to %s: %s",
			  g->cfg->name, m->jid, resp->message);
		m->linked = false;
		return;
	}
	m->state = IPOP__LINK_STATE__GATHERING;
	if (m->pending)
		add_remote(g, m, m->pending);
}

static void after_add(struct ctl_gvpn *g, struct member *m,
		      const Ipop__Response *resp)
{
	if (resp->status == IPOP__STATUS__OK) {
		g_strlcpy(m->remote_ufrag, m->pending_ufrag,
			  sizeof(m->remote_ufrag));
		g_free(m->pending);
		m->pending = NULL;
		return;
	}
	if (resp->status == IPOP__STATUS__EXISTS) {
		/* The peer remade its link: ours must follow. */
		g_message("overlay %s: %s has a new link; remaking ours",
			  g->cfg->name, m->jid);
		remove_link(g, m->uid, "relink");
		return;
	}
	g_message("overlay %s: candidates of %s refused: %s", g->cfg->name,
		  m->jid, resp->message);
}

void ctl_gvpn_tincan_reply(struct ctl_gvpn *g, const char *tag,
			   const Ipop__Response *resp)
{
	const char *colon = strchr(tag, ':');
	g_autofree char *op = g_strndup(tag, colon ? (gsize)(colon - tag) : 0);
	struct member *m =
	    colon ? g_hash_table_lookup(g->by_uid, colon + 1) : NULL;

	if (!resp)
		return; /* tincan went away; adoption redoes everything */
	if (!strcmp(op, "overlay")) {
		if (resp->status != IPOP__STATUS__OK) {
			g_critical("overlay %s: cannot create overlay: %s",
				   g->cfg->name, resp->message);
			return;
		}
		g->ready = true;
		link_everyone(g);
	} else if (!strcmp(op, "create") && m) {
		after_create(g, m, resp);
	} else if (!strcmp(op, "add") && m) {
		after_add(g, m, resp);
	} else if (!strcmp(op, "local") && m &&
		   resp->result_case == IPOP__RESPONSE__RESULT_LOCAL) {
		send_candidates(g, m, resp->local);
	} else if (!strcmp(op, "relink") && m) {
		m->local_ufrag[0] = m->remote_ufrag[0] = '\0';
		m->linked = false;
		m->state = IPOP__LINK_STATE__LINK_STATE_UNSPECIFIED;
		ensure_link(g, m);
	} else if (resp->status != IPOP__STATUS__OK && strcmp(op, "local")) {
		g_message("overlay %s: %s: %s", g->cfg->name, tag,
			  resp->message);
	}
}

void ctl_gvpn_leave(struct ctl_gvpn *g)
{
	GHashTableIter it;
	gpointer m;

	g_hash_table_iter_init(&it, g->by_jid);
	while (g_hash_table_iter_next(&it, NULL, &m)) {
		struct ctl_sig s = {.kind = CTL_SIG_BYE};
		g_strlcpy(s.uid, g->my_uid, sizeof(s.uid));
		g_strlcpy(s.overlay, g->cfg->name, sizeof(s.overlay));
		g->io.signal(g->io.ctx, ((struct member *)m)->jid, &s);
	}
}

unsigned ctl_gvpn_members(const struct ctl_gvpn *g)
{
	return g_hash_table_size(g->by_jid);
}

unsigned ctl_gvpn_connected(const struct ctl_gvpn *g)
{
	GHashTableIter it;
	gpointer m;
	unsigned n = 0;

	g_hash_table_iter_init(&it, g->by_jid);
	while (g_hash_table_iter_next(&it, NULL, &m))
		n += ((struct member *)m)->state == IPOP__LINK_STATE__CONNECTED;
	return n;
}

static int open_addrs(struct ctl_gvpn *g)
{
	const struct ctl_overlay_config *c = g->cfg;
	g_autofree char *file = g_strdup_printf("svpn-%s.addrs", c->name);
	g_autofree char *path = g_build_filename(
	    g->io.state_dir ? g->io.state_dir : ".", file, NULL);
	struct ctl_addr_pin pins[CTL_MAX_PINS];
	uint8_t self[4];
	unsigned i;

	for (i = 0; i < c->n_pins; i++) {
		pins[i].uid = c->pins[i].device;
		memcpy(pins[i].v4, c->pins[i].v4, 4);
	}
	inet_pton(AF_INET, c->ipv4, self);
	g->addrs = ctl_addrs_open(path, c->subnet, c->subnet_prefix, self, pins,
				  c->n_pins);
	if (!g->addrs)
		return -EIO;
	ctl_svpn_ipv6(g->my_uid, g->ipv6);
	return 0;
}

/* Signals can be lost (an XMPP session silently dead behind a NAT that
 * lost its mapping): a link that is not connected sends its candidates
 * again every CTL_GVPN_RESEND_MS.  The peer adds them idempotently. */
static gboolean on_resend(gpointer data)
{
	struct ctl_gvpn *g = data;
	gint64 now = g_get_monotonic_time();
	GHashTableIter it;
	gpointer p;

	g_hash_table_iter_init(&it, g->by_jid);
	while (g_hash_table_iter_next(&it, NULL, &p)) {
		struct member *m = p;
		if (m->linked && m->state != IPOP__LINK_STATE__CONNECTED &&
		    m->local_ufrag[0] &&
		    now - m->cands_sent_us >= CTL_GVPN_RESEND_MS * 1000)
			ask_local(g, m);
	}
	return G_SOURCE_CONTINUE;
}

struct ctl_gvpn *ctl_gvpn_new(const struct ctl_overlay_config *cfg,
			      const char *my_uid, const uint8_t my_key[32],
			      const struct ctl_gvpn_io *io)
{
	struct ctl_gvpn *g = g_new0(struct ctl_gvpn, 1);

	g->cfg = cfg;
	g_strlcpy(g->my_uid, my_uid, sizeof(g->my_uid));
	memcpy(g->my_key, my_key, 32);
	g->io = *io;
	g->by_jid = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					  (GDestroyNotify)member_free);
	g->by_uid = g_hash_table_new(g_str_hash, g_str_equal);
	g->available =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g->adopted =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	if (is_svpn(g) && open_addrs(g) < 0) {
		ctl_gvpn_free(g);
		return NULL;
	}
	g->resend = g_timeout_add(CTL_GVPN_RESEND_MS / 2, on_resend, g);
	return g;
}

void ctl_gvpn_free(struct ctl_gvpn *g)
{
	if (!g)
		return;
	if (g->prune)
		g_source_remove(g->prune);
	if (g->resend)
		g_source_remove(g->resend);
	g_hash_table_destroy(g->by_uid);
	g_hash_table_destroy(g->by_jid);
	g_hash_table_destroy(g->available);
	g_hash_table_destroy(g->adopted);
	ctl_addrs_free(g->addrs);
	g_free(g);
}

const char *ctl_gvpn_name(const struct ctl_gvpn *g)
{
	return g->cfg->name;
}

const char *ctl_gvpn_group(const struct ctl_gvpn *g)
{
	return g->cfg->group;
}
