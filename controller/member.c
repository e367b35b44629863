/*
 * The membership engine (see member.h).  Owns the member table (keyed by
 * full JID, indexed by uid), the knowledge of which links tincan holds and
 * the timers that prune, remake and resend; the policy's own state (an
 * address table, say) belongs to its ops.  It turns presence, roster
 * changes, signals and tincan events into tincan requests and signals
 * through struct ctl_member_io; it never touches a socket itself.
 */
#define G_LOG_DOMAIN "controller"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "common/log.h"
#include "controller/member.h"
#include "controller/member_int.h"
#include "proto/pbutil.h"

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

static bool is_own(const struct ctl_members *e, const char *bare)
{
	return e->ops->is_own && e->ops->is_own(e->state, bare);
}

/* The roster's word, with the policy's own devices as mutual. */
static enum ctl_sub sub_of(struct ctl_members *e, const char *bare)
{
	if (is_own(e, bare))
		return CTL_SUB_BOTH;
	return e->io.subscription(e->io.ctx, bare);
}

void ctl_member_request(struct ctl_members *e, Ipop__Request *req,
			const char *op, const char *uid)
{
	g_autofree char *tag = g_strdup_printf("%s:%s", op, uid ? uid : "");

	e->io.request(e->io.ctx, req, tag);
}

static void advertise(struct ctl_members *e, const char *to, bool ack)
{
	struct ctl_sig s = {.kind = CTL_SIG_ADVERTISE, .ack = ack};

	g_strlcpy(s.uid, e->my_uid, sizeof(s.uid));
	memcpy(s.key, e->my_key, IPOP_KEY_LEN);
	g_strlcpy(s.overlay, e->cfg->name, sizeof(s.overlay));
	g_strlcpy(s.group, e->cfg->group, sizeof(s.group));
	if (e->cfg->ipv4)
		g_strlcpy(s.ipv4, e->cfg->ipv4, sizeof(s.ipv4));
	if (e->cfg->ipv6)
		g_strlcpy(s.ipv6, e->cfg->ipv6, sizeof(s.ipv6));
	if (e->ops->advertise)
		e->ops->advertise(e->state, &s);
	if (e->cfg->has_secret) {
		ctl_sig_proof(e->cfg->psk, s.group, s.uid, s.key, s.proof);
		s.has_proof = true;
	}
	e->io.signal(e->io.ctx, to, &s);
}

void ctl_mapping_advertised(const struct ctl_peer *p, struct ctl_mapping *out)
{
	g_strlcpy(out->ipv4, p->ipv4, sizeof(out->ipv4));
	g_strlcpy(out->ipv6, p->ipv6, sizeof(out->ipv6));
	out->peer_ipv4[0] = '\0';
}

void ctl_member_map(struct ctl_members *e, struct member *m, bool remove)
{
	Ipop__Request req = IPOP__REQUEST__INIT;
	Ipop__MapPeer mp = IPOP__MAP_PEER__INIT;
	struct ctl_peer p = {m->jid, m->uid, m->ipv4, m->ipv6};
	struct ctl_mapping map;
	char label[IPOP_LABEL_MAX + 1];

	if (!e->ops->map || !e->ops->map(e->state, &p, remove, &map))
		return;
	/* The label is for people reading ipopctl's tables: the JID escaped
	 * (a resource may hold bidi or C1 controls) and cut to the
	 * IPOP_LABEL_MAX bytes tincan takes (it refused the whole mapping
	 * of a longer JID). */
	ipop_log_str(m->jid, label, sizeof(label));
	mp.overlay = e->cfg->name;
	mp.peer_uid = m->uid;
	mp.ipv4 = map.ipv4;
	mp.ipv6 = map.ipv6;
	mp.peer_ipv4 = map.peer_ipv4;
	mp.label = label;
	mp.remove = remove;
	req.kind_case = IPOP__REQUEST__KIND_MAP_PEER;
	req.map_peer = &mp;
	ctl_member_request(e, &req, "map", m->uid);
	m->mapped = !remove;
}

void ctl_member_ensure_link(struct ctl_members *e, struct member *m)
{
	Ipop__Request req = IPOP__REQUEST__INIT;
	Ipop__CreateLink cl = IPOP__CREATE_LINK__INIT;
	Ipop__LinkKind kind = ctl_links_wanted(e, m);
	gpointer st;

	if (!e->ready || m->linked || (e->bounded && !kind))
		return;
	m->linked = true;
	m->kind = (uint8_t)kind;
	/* An adopted link keeps its state: a connected one is not dropped
	 * when the member's controller says bye (member_gone).  Its kind
	 * is what tincan has; ctl_links_update corrects it. */
	if (g_hash_table_lookup_extended(e->adopted, m->uid, NULL, &st)) {
		m->state = CTL_ADOPTED_STATE(st);
		m->kind = (uint8_t)CTL_ADOPTED_KIND(st);
	} else {
		cl.kind = kind;
		cl.overlay = e->cfg->name;
		cl.peer_uid = m->uid;
		cl.peer_public_key.data = m->key;
		cl.peer_public_key.len = IPOP_KEY_LEN;
		req.kind_case = IPOP__REQUEST__KIND_CREATE_LINK;
		req.create_link = &cl;
		ctl_member_request(e, &req, "create", m->uid);
		g_message("overlay %s: linking to %s (uid %.12s)", e->cfg->name,
			  IPOP_LOG_STR(m->jid), m->uid);
	}
	ctl_member_map(e, m, false);
	ctl_cands_ask(e, m);
}

void ctl_member_remove_link(struct ctl_members *e, const char *uid,
			    const char *op)
{
	Ipop__Request req = IPOP__REQUEST__INIT;
	Ipop__RemoveLink rl = IPOP__REMOVE_LINK__INIT;

	rl.overlay = e->cfg->name;
	rl.peer_uid = ipop_cstr(uid);
	req.kind_case = IPOP__REQUEST__KIND_REMOVE_LINK;
	req.remove_link = &rl;
	ctl_member_request(e, &req, op, uid);
	g_hash_table_remove(e->adopted, uid);
}

void ctl_member_drop(struct ctl_members *e, struct member *m, const char *why)
{
	g_message("overlay %s: %s leaves (%s)", e->cfg->name,
		  IPOP_LOG_STR(m->jid), IPOP_LOG_STR(why));
	if (m->linked)
		ctl_member_remove_link(e, m->uid, "remove");
	if (m->linked || m->mapped)
		ctl_member_map(e, m, true);
	g_hash_table_remove(e->by_uid, m->uid);
	g_hash_table_remove(e->by_jid, m->jid); /* frees m */
	ctl_links_update(e);
}

bool ctl_member_admits(const struct ctl_member_ops *ops,
		       const struct ctl_overlay_config *cfg, const char *my_uid,
		       enum ctl_sub sub, const struct ctl_sig *adv,
		       const char **why)
{
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
	else
		return !ops->admits || ops->admits(cfg, adv, why);
	return false;
}

static struct member *add_member(struct ctl_members *e, const char *jid,
				 const struct ctl_sig *s)
{
	struct member *m = g_new0(struct member, 1);

	m->jid = g_strdup(jid);
	g_strlcpy(m->overlay, s->overlay, sizeof(m->overlay));
	g_strlcpy(m->uid, s->uid, sizeof(m->uid));
	memcpy(m->key, s->key, IPOP_KEY_LEN);
	g_strlcpy(m->ipv4, s->ipv4, sizeof(m->ipv4));
	g_strlcpy(m->ipv6, s->ipv6, sizeof(m->ipv6));
	m->linked = false;
	g_hash_table_insert(e->by_jid, m->jid, m);
	g_hash_table_insert(e->by_uid, m->uid, m);
	g_message("overlay %s: member %s (uid %.12s, %s)", e->cfg->name,
		  IPOP_LOG_STR(jid), m->uid,
		  m->ipv4[0] ? m->ipv4 : "no address");
	return m;
}

static void on_advertise(struct ctl_members *e, const char *jid,
			 const struct ctl_sig *s)
{
	g_autofree char *bare = bare_of(jid);
	struct member *m = g_hash_table_lookup(e->by_jid, jid);
	struct member *same_uid = g_hash_table_lookup(e->by_uid, s->uid);
	const char *why = NULL;

	unsigned held;

	if (!ctl_member_admits(e->ops, e->cfg, e->my_uid, sub_of(e, bare), s,
			       &why)) {
		if (ipop_log_budget_take(&e->refusals, REFUSALS_PER_SEC,
					 &held)) {
			if (held)
				g_message("overlay %s: %u refusals not logged "
					  "(over %d a second)",
					  e->cfg->name, held, REFUSALS_PER_SEC);
			g_message("overlay %s: not admitting %s: %s",
				  e->cfg->name, IPOP_LOG_STR(jid),
				  IPOP_LOG_STR(why));
		}
		if (m)
			ctl_member_drop(e, m, why);
		return;
	}
	/* A device that changed identity, or an identity that moved. */
	if (m &&
	    (strcmp(m->uid, s->uid) || memcmp(m->key, s->key, IPOP_KEY_LEN) ||
	     strcmp(m->ipv4, s->ipv4) || strcmp(m->overlay, s->overlay)))
		ctl_member_drop(e, m, "identity or address changed");
	else if (!m && same_uid)
		ctl_member_drop(e, same_uid, "moved to another resource");
	m = g_hash_table_lookup(e->by_jid, jid);
	if (!m)
		m = add_member(e, jid, s);
	m->away = false;
	if (!s->ack)
		advertise(e, jid, true);
	ctl_links_update(e);
	ctl_member_ensure_link(e, m);
}

/* A member's controller went away (bye, or unavailable).  Its tincan may
 * still run: an XMPP server restart reports everyone unavailable, and a
 * restarted or replaced controller says bye.  A link that still works is
 * kept until it fails; one that does not is removed now. */
static void member_gone(struct ctl_members *e, struct member *m,
			const char *why)
{
	/* A failed link may be repairing itself (and a remade XMPP session
	 * reports its member gone): kept until the relink delay. */
	if (m->state == IPOP__LINK_STATE__FAILED) {
		g_message("overlay %s: %s %s; its link is failed, kept while "
			  "it repairs",
			  e->cfg->name, IPOP_LOG_STR(m->jid),
			  IPOP_LOG_STR(why));
		m->away = true;
		ctl_links_arm_relink(e, m);
		return;
	}
	if (m->state != IPOP__LINK_STATE__CONNECTED) {
		ctl_member_drop(e, m, why);
		return;
	}
	g_message("overlay %s: %s %s; keeping its working link until it fails",
		  e->cfg->name, IPOP_LOG_STR(m->jid), IPOP_LOG_STR(why));
	m->away = true;
	ctl_links_update(e); /* the others link around it */
}

void ctl_member_signal(struct ctl_members *e, const char *full_jid,
		       const struct ctl_sig *s)
{
	struct member *m;

	switch (s->kind) {
	case CTL_SIG_ADVERTISE:
		on_advertise(e, full_jid, s);
		break;
	case CTL_SIG_LINK:
		ctl_cands_signal(e, full_jid, s);
		break;
	case CTL_SIG_BYE:
		m = g_hash_table_lookup(e->by_jid, full_jid);
		if (m && !strcmp(m->uid, s->uid) &&
		    !strcmp(m->overlay, s->overlay))
			member_gone(e, m, "said bye");
		break;
	}
}

void ctl_member_online(struct ctl_members *e)
{
	GHashTableIter it;
	gpointer jid, m;

	g_hash_table_iter_init(&it, e->available);
	while (g_hash_table_iter_next(&it, &jid, NULL))
		advertise(e, jid, false);
	/* Candidates sent while signalling was down were lost: those of a
	 * link made then (a restarted tincan) or of an ICE restart (the
	 * outage that cut XMPP may have cut the link too).  Each link's
	 * current ones go out now, not at the next resend. */
	g_hash_table_iter_init(&it, e->by_jid);
	while (g_hash_table_iter_next(&it, NULL, &m))
		if (((struct member *)m)->linked)
			ctl_cands_ask(e, m);
}

void ctl_member_presence(struct ctl_members *e, const char *full_jid,
			 bool available)
{
	g_autofree char *bare = bare_of(full_jid);
	struct member *m = g_hash_table_lookup(e->by_jid, full_jid);

	if (!available) {
		g_hash_table_remove(e->available, full_jid);
		if (m)
			member_gone(e, m, "went offline");
		return;
	}
	g_hash_table_add(e->available, g_strdup(full_jid));
	if (sub_of(e, bare) == CTL_SUB_BOTH)
		advertise(e, full_jid, false);
}

void ctl_member_roster(struct ctl_members *e, const char *bare_jid,
		       enum ctl_sub sub)
{
	GHashTableIter it;
	gpointer jid, m;
	GPtrArray *gone;
	guint i;

	if (is_own(e, bare_jid))
		return; /* never unfriend ourselves */
	if (sub == CTL_SUB_BOTH) {
		/* A new friend: greet its devices that are already online. */
		g_hash_table_iter_init(&it, e->available);
		while (g_hash_table_iter_next(&it, &jid, NULL)) {
			g_autofree char *bare = bare_of(jid);
			if (!strcmp(bare, bare_jid) &&
			    !g_hash_table_contains(e->by_jid, jid))
				advertise(e, jid, false);
		}
		return;
	}
	gone = g_ptr_array_new();
	g_hash_table_iter_init(&it, e->by_jid);
	while (g_hash_table_iter_next(&it, &jid, &m)) {
		g_autofree char *bare = bare_of(jid);
		if (!strcmp(bare, bare_jid))
			g_ptr_array_add(gone, m);
	}
	for (i = 0; i < gone->len; i++)
		ctl_member_drop(e, gone->pdata[i], "subscription ended");
	g_ptr_array_free(gone, TRUE);
}

static void link_state(struct ctl_members *e,
		       const Ipop__LinkStateChangedEvent *ls)
{
	struct member *m =
	    ls->peer_uid ? g_hash_table_lookup(e->by_uid, ls->peer_uid) : NULL;

	if (!m)
		return;
	m->state = ls->state;
	if (ls->state == IPOP__LINK_STATE__FAILED && m->away) {
		ctl_member_drop(e, m, "offline and its link failed");
		return;
	}
	if (ls->state == IPOP__LINK_STATE__CONNECTED && m->relink) {
		g_source_remove(m->relink);
		m->relink = 0;
	}
	if (ls->state == IPOP__LINK_STATE__CONNECTED)
		g_message("overlay %s: link to %s connected (%s -> %s)",
			  e->cfg->name, IPOP_LOG_STR(m->jid),
			  IPOP_LOG_STR(ls->pair ? ls->pair->local_type : "?"),
			  IPOP_LOG_STR(ls->pair ? ls->pair->remote_type : "?"));
	if (ls->state == IPOP__LINK_STATE__FAILED && ctl_links_failed(e, m))
		return;
	/* tincan repairs a failed link itself; one still failed after the
	 * relink delay is remade by the side with the smaller uid. */
	if (ls->state == IPOP__LINK_STATE__FAILED && !m->relink &&
	    strcmp(e->my_uid, m->uid) < 0) {
		g_message("overlay %s: link to %s failed; tincan repairs it "
			  "(remade if still failed in %u ms)",
			  e->cfg->name, IPOP_LOG_STR(m->jid),
			  ctl_links_relink_ms(e));
		ctl_links_arm_relink(e, m);
	}
}

void ctl_member_event(struct ctl_members *e, const Ipop__Event *ev)
{
	struct member *m;

	switch (ev->kind_case) {
	case IPOP__EVENT__KIND_LINK_STATE:
		link_state(e, ev->link_state);
		break;
	case IPOP__EVENT__KIND_LOCAL_CANDIDATES:
		m = ev->local_candidates->peer_uid
			? g_hash_table_lookup(e->by_uid,
					      ev->local_candidates->peer_uid)
			: NULL;
		if (m && ev->local_candidates->local)
			ctl_cands_send(e, m, ev->local_candidates->local);
		break;
	case IPOP__EVENT__KIND_ROUTE_TRAFFIC:
		ctl_links_route_traffic(e, ev->route_traffic);
		break;
	case IPOP__EVENT__KIND_LINK_IDLE:
		ctl_links_idle(e, ev->link_idle);
		break;
	default:
		break;
	}
}

static void create_overlay(struct ctl_members *e)
{
	Ipop__Request req = IPOP__REQUEST__INIT;
	Ipop__CreateOverlay co = IPOP__CREATE_OVERLAY__INIT;

	co.name = e->cfg->name;
	co.tap_name = e->cfg->tap;
	if (e->cfg->bridge)
		co.bridge = e->cfg->bridge;
	if (e->cfg->ipv4) {
		co.ipv4 = e->cfg->ipv4;
		co.ipv4_prefix = e->cfg->ipv4_prefix;
	}
	if (e->cfg->ipv6) {
		co.ipv6 = e->cfg->ipv6;
		co.ipv6_prefix = e->cfg->ipv6_prefix;
	}
	co.mtu = e->cfg->mtu;
	if (e->cfg->has_secret) {
		co.psk.data = ipop_cbytes(e->cfg->psk);
		co.psk.len = CTL_PSK_LEN;
	}
	e->ops->overlay(e->state, e->cfg, &co);
	req.kind_case = IPOP__REQUEST__KIND_CREATE_OVERLAY;
	req.create_overlay = &co;
	ctl_member_request(e, &req, "overlay", NULL);
}

static void link_everyone(struct ctl_members *e)
{
	GHashTableIter it;
	gpointer m;

	if (e->bounded) {
		ctl_links_update(e);
		return;
	}
	g_hash_table_iter_init(&it, e->by_jid);
	while (g_hash_table_iter_next(&it, NULL, &m))
		ctl_member_ensure_link(e, m);
}

/* Links tincan had that no member claimed since adoption are stale. */
static gboolean on_prune(gpointer data)
{
	struct ctl_members *e = data;
	GHashTableIter it;
	gpointer uid;
	GPtrArray *stale = g_ptr_array_new_with_free_func(g_free);
	guint i;

	e->prune = 0;
	g_hash_table_iter_init(&it, e->adopted);
	while (g_hash_table_iter_next(&it, &uid, NULL))
		if (!g_hash_table_contains(e->by_uid, uid))
			g_ptr_array_add(stale, g_strdup(uid));
	for (i = 0; i < stale->len; i++) {
		g_message("overlay %s: removing stale link %.12s", e->cfg->name,
			  (char *)stale->pdata[i]);
		ctl_member_remove_link(e, stale->pdata[i], "remove");
	}
	g_ptr_array_free(stale, TRUE);
	ctl_links_prune(e);
	return G_SOURCE_REMOVE;
}

void ctl_member_adopt(struct ctl_members *e, const Ipop__OverlayInfo *info)
{
	GHashTableIter it;
	gpointer m;
	size_t i;

	e->ready = false;
	g_hash_table_remove_all(e->adopted);
	g_hash_table_iter_init(&it, e->by_jid);
	while (g_hash_table_iter_next(&it, NULL, &m))
		((struct member *)m)->linked = ((struct member *)m)->mapped =
		    false;
	if (!info) {
		create_overlay(e);
		return;
	}
	for (i = 0; i < info->n_links; i++)
		g_hash_table_insert(
		    e->adopted, g_strdup(info->links[i]->peer_uid),
		    CTL_ADOPTED(info->links[i]->state, info->links[i]->kind));
	g_message("overlay %s: adopted overlay with %zu links", e->cfg->name,
		  info->n_links);
	e->ready = true;
	link_everyone(e);
	if (e->prune)
		g_source_remove(e->prune);
	e->prune = g_timeout_add(PRUNE_AFTER_MS, on_prune, e);
}

static void after_create(struct ctl_members *e, struct member *m,
			 const Ipop__Response *resp)
{
	if (resp->status != IPOP__STATUS__OK &&
	    resp->status != IPOP__STATUS__EXISTS) {
		g_warning("overlay %s: tincan refused link to %s: %s",
			  e->cfg->name, IPOP_LOG_STR(m->jid),
			  IPOP_LOG_STR(resp->message));
		m->linked = false;
		return;
	}
	m->state = IPOP__LINK_STATE__GATHERING;
	if (m->pending)
		ctl_cands_add(e, m, m->pending);
}

static void after_add(struct ctl_members *e, struct member *m,
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
			  e->cfg->name, IPOP_LOG_STR(m->jid));
		ctl_member_remove_link(e, m->uid, "relink");
		return;
	}
	g_message("overlay %s: candidates of %s refused: %s", e->cfg->name,
		  IPOP_LOG_STR(m->jid), IPOP_LOG_STR(resp->message));
}

void ctl_member_tincan_reply(struct ctl_members *e, const char *tag,
			     const Ipop__Response *resp)
{
	const char *colon = strchr(tag, ':');
	g_autofree char *op = g_strndup(tag, colon ? (gsize)(colon - tag) : 0);
	struct member *m =
	    colon ? g_hash_table_lookup(e->by_uid, colon + 1) : NULL;

	if (!resp)
		return; /* tincan went away; adoption redoes everything */
	if (!strcmp(op, "overlay")) {
		if (resp->status != IPOP__STATUS__OK) {
			g_critical("overlay %s: cannot create overlay: %s",
				   e->cfg->name, IPOP_LOG_STR(resp->message));
			return;
		}
		e->ready = true;
		link_everyone(e);
	} else if (!strcmp(op, "create") && m) {
		after_create(e, m, resp);
	} else if (!strcmp(op, "add") && m) {
		after_add(e, m, resp);
	} else if (!strcmp(op, "local") && m &&
		   resp->result_case == IPOP__RESPONSE__RESULT_LOCAL) {
		ctl_cands_send(e, m, resp->local);
	} else if (!strcmp(op, "relink") && m) {
		/* Candidates of a peer link bound to the link just removed
		 * would bind our new link to one the peer must remake in
		 * turn, and the two sides would remake each other's links
		 * for ever.  Ours go out unbound instead; the peer remakes
		 * once and binds them. */
		if (m->pending_bound) {
			g_free(m->pending);
			m->pending = NULL;
		}
		ctl_cands_forget(m);
		m->linked = false;
		m->state = IPOP__LINK_STATE__LINK_STATE_UNSPECIFIED;
		ctl_member_ensure_link(e, m);
	} else if (resp->status != IPOP__STATUS__OK && strcmp(op, "local")) {
		g_message("overlay %s: %s: %s", e->cfg->name, tag,
			  IPOP_LOG_STR(resp->message));
	}
}

void ctl_member_leave(struct ctl_members *e)
{
	GHashTableIter it;
	gpointer m;

	g_hash_table_iter_init(&it, e->by_jid);
	while (g_hash_table_iter_next(&it, NULL, &m)) {
		struct ctl_sig s = {.kind = CTL_SIG_BYE};
		g_strlcpy(s.uid, e->my_uid, sizeof(s.uid));
		g_strlcpy(s.overlay, e->cfg->name, sizeof(s.overlay));
		e->io.signal(e->io.ctx, ((struct member *)m)->jid, &s);
	}
}

unsigned ctl_member_count(const struct ctl_members *e)
{
	return g_hash_table_size(e->by_jid);
}

unsigned ctl_member_connected(const struct ctl_members *e)
{
	GHashTableIter it;
	gpointer m;
	unsigned n = 0;

	g_hash_table_iter_init(&it, e->by_jid);
	while (g_hash_table_iter_next(&it, NULL, &m))
		n += ((struct member *)m)->state == IPOP__LINK_STATE__CONNECTED;
	return n;
}

struct ctl_members *ctl_member_new(const struct ctl_overlay_config *cfg,
				   const char *my_uid,
				   const uint8_t my_key[IPOP_KEY_LEN],
				   const struct ctl_member_ops *ops,
				   const struct ctl_member_io *io)
{
	struct ctl_members *e = g_new0(struct ctl_members, 1);
	const char *why;

	e->cfg = cfg;
	e->ops = ops;
	g_strlcpy(e->my_uid, my_uid, sizeof(e->my_uid));
	memcpy(e->my_key, my_key, IPOP_KEY_LEN);
	e->io = *io;
	e->by_jid = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					  (GDestroyNotify)member_free);
	e->by_uid = g_hash_table_new(g_str_hash, g_str_equal);
	e->available =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	e->adopted =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	e->bounded = ops->bounded && ops->bounded(cfg, &e->topo);
	if (e->bounded && ipop_topo_params_check(&e->topo, &why) < 0) {
		g_warning("overlay %s: %s", cfg->name, why);
		ctl_member_free(e);
		return NULL;
	}
	if (ops->init && ops->init(&e->state, cfg, my_uid, &e->io) < 0) {
		ctl_member_free(e);
		return NULL;
	}
	e->resend =
	    g_timeout_add(CTL_MEMBER_RESEND_MS / 2, ctl_cands_resend, e);
	return e;
}

void ctl_member_free(struct ctl_members *e)
{
	if (!e)
		return;
	if (e->prune)
		g_source_remove(e->prune);
	if (e->resend)
		g_source_remove(e->resend);
	g_hash_table_destroy(e->by_uid);
	g_hash_table_destroy(e->by_jid);
	g_hash_table_destroy(e->available);
	g_hash_table_destroy(e->adopted);
	if (e->ops->fini)
		e->ops->fini(e->state);
	g_free(e);
}

const char *ctl_member_name(const struct ctl_members *e)
{
	return e->cfg->name;
}

const char *ctl_member_group(const struct ctl_members *e)
{
	return e->cfg->group;
}
