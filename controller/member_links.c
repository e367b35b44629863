/*
 * Which links a bounded overlay (GroupVPN) holds: the edges of this node in
 * the topology of topology.h over the members present (every member
 * computes the same graph from the same set, so both ends agree), plus
 * on-demand links that traffic asked for (tincan's route_traffic), that the
 * peer asked for (its candidates arrived although we did not want a link),
 * or that tincan had when we adopted it.  Every member is mapped whether
 * linked or not: tincan forwards frames for the others over the links
 * (PROTOCOL.md §14).  Links go when the topology loses the edge, when an
 * on-demand link idles (link_idle) and when an unwanted link fails; only
 * topology links are remade after a failure.  Unbounded overlays (SocialVPN,
 * switch mode) never come here: they link to everyone.  The relink timer
 * of every overlay lives here too: a failed link that tincan's own repair
 * did not bring back within the relink delay is remade.
 */
#define G_LOG_DOMAIN "controller"

#include <string.h>

#include "common/log.h"
#include "controller/member_int.h"

struct point {
	struct ipop_ring_id id;
	struct member *m; /* NULL: this node */
};

static int by_point(const void *a, const void *b)
{
	return ipop_ring_cmp(&((const struct point *)a)->id,
			     &((const struct point *)b)->id);
}

Ipop__LinkKind ctl_links_wanted(const struct ctl_members *e,
				const struct member *m)
{
	if (!e->bounded || m->want)
		return (Ipop__LinkKind)m->want;
	return m->ondemand ? IPOP__LINK_KIND__LINK_KIND_ON_DEMAND
			   : IPOP__LINK_KIND__LINK_KIND_UNSPECIFIED;
}

static const char *kind_name(unsigned kind)
{
	switch (kind) {
	case IPOP__LINK_KIND__LINK_KIND_SUCCESSOR:
		return "successor";
	case IPOP__LINK_KIND__LINK_KIND_CHORD:
		return "chord";
	case IPOP__LINK_KIND__LINK_KIND_ON_DEMAND:
		return "on-demand";
	default:
		return "unspecified";
	}
}

/* The members the topology is built over: this node and every member
 * online, sorted on the ring.  *self gets this node's index. */
static struct point *points(struct ctl_members *e, size_t *n, size_t *self)
{
	struct point *p = g_new(struct point, g_hash_table_size(e->by_jid) + 1);
	GHashTableIter it;
	gpointer v;
	size_t k = 0, i;

	if (ipop_ring_id_parse(e->my_uid, &p[k].id) == 0)
		p[k++].m = NULL;
	g_hash_table_iter_init(&it, e->by_jid);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct member *m = v;
		m->want = IPOP_TOPO_NONE;
		if (!m->away && ipop_ring_id_parse(m->uid, &p[k].id) == 0)
			p[k++].m = m;
	}
	qsort(p, k, sizeof(*p), by_point);
	*n = k;
	*self = k;
	for (i = 0; i < k; i++)
		if (!p[i].m)
			*self = i;
	return p;
}

/* Marks each member with the kind of our edge to it (want). */
static int compute(struct ctl_members *e)
{
	size_t n, self, i, cnt;
	g_autofree struct point *p = points(e, &n, &self);
	g_autofree struct ipop_ring_id *ids = g_new(struct ipop_ring_id, n + 1);
	struct ipop_topo *t;
	const struct ipop_topo_adj *a;

	if (self == n)
		return -EINVAL; /* our own uid is checked at start-up */
	for (i = 0; i < n; i++)
		ids[i] = p[i].id;
	t = ipop_topo_build(ids, n, &e->topo);
	if (!t) {
		g_warning("overlay %s: cannot compute the topology of %zu "
			  "members",
			  e->cfg->name, n);
		return -ENOMEM;
	}
	a = ipop_topo_adj(t, self, &cnt);
	for (i = 0; i < cnt; i++)
		p[a[i].peer].m->want = a[i].kind;
	g_debug("overlay %s: %zu members, %zu neighbours of this node",
		e->cfg->name, n, cnt);
	ipop_topo_free(t);
	return 0;
}

static void set_kind(struct ctl_members *e, struct member *m,
		     Ipop__LinkKind kind)
{
	Ipop__Request req = IPOP__REQUEST__INIT;
	Ipop__SetLinkKind sk = IPOP__SET_LINK_KIND__INIT;

	sk.overlay = e->cfg->name;
	sk.peer_uid = m->uid;
	sk.kind = kind;
	req.kind_case = IPOP__REQUEST__KIND_SET_LINK_KIND;
	req.set_link_kind = &sk;
	ctl_member_request(e, &req, "kind", m->uid);
	g_message("overlay %s: link to %s is now %s (was %s)", e->cfg->name,
		  IPOP_LOG_STR(m->jid), kind_name(kind), kind_name(m->kind));
	m->kind = (uint8_t)kind;
}

void ctl_links_drop(struct ctl_members *e, struct member *m, const char *why)
{
	g_message("overlay %s: removing the %s link to %s (%s)", e->cfg->name,
		  kind_name(m->kind), IPOP_LOG_STR(m->jid), why);
	ctl_member_remove_link(e, m->uid, "unlink");
	if (m->relink) {
		g_source_remove(m->relink);
		m->relink = 0;
	}
	m->linked = m->ondemand = false;
	m->kind = 0;
	m->state = IPOP__LINK_STATE__LINK_STATE_UNSPECIFIED;
	if (m->remote_ufrag[0] || m->pending_ufrag[0])
		m->dropped_peer = g_str_hash(
		    m->remote_ufrag[0] ? m->remote_ufrag : m->pending_ufrag);
	ctl_cands_forget(m);
	m->pending_ufrag[0] = '\0';
	g_free(m->pending);
	m->pending = NULL;
}

/* Brings one member's link in line with what is wanted of it: with make
 * false only links that go or change kind, with make true new ones (all
 * removals go out first, so this node never holds more than the bound). */
static void apply(struct ctl_members *e, struct member *m, bool make)
{
	Ipop__LinkKind kind;
	gpointer st;

	if (!m->mapped)
		ctl_member_map(e, m, false);
	/* An on-demand link tincan had when we adopted it stays one. */
	if (!m->linked && !m->want &&
	    g_hash_table_lookup_extended(e->adopted, m->uid, NULL, &st) &&
	    CTL_ADOPTED_KIND(st) == IPOP__LINK_KIND__LINK_KIND_ON_DEMAND)
		m->ondemand = true;
	kind = ctl_links_wanted(e, m);
	if (make && kind && !m->linked)
		ctl_member_ensure_link(e, m);
	if (kind && m->linked && m->kind != kind)
		set_kind(e, m, kind);
	else if (!make && !kind && m->linked && !m->away)
		ctl_links_drop(e, m, "no longer a neighbour");
}

void ctl_links_update(struct ctl_members *e)
{
	GHashTableIter it;
	gpointer m;
	int make;

	if (!e->bounded || !e->ready || compute(e) < 0)
		return;
	for (make = 0; make < 2; make++) {
		g_hash_table_iter_init(&it, e->by_jid);
		while (g_hash_table_iter_next(&it, NULL, &m))
			apply(e, m, make);
	}
}

void ctl_links_route_traffic(struct ctl_members *e,
			     const Ipop__RouteTrafficEvent *ev)
{
	struct member *m =
	    ev->peer_uid ? g_hash_table_lookup(e->by_uid, ev->peer_uid) : NULL;

	if (!e->bounded || !m || m->away || m->linked)
		return;
	g_message("overlay %s: %llu bytes/s forwarded to or from %s: making "
		  "an on-demand link",
		  e->cfg->name, (unsigned long long)ev->bytes_per_s,
		  IPOP_LOG_STR(m->jid));
	m->ondemand = true;
	ctl_member_ensure_link(e, m);
}

void ctl_links_idle(struct ctl_members *e, const Ipop__LinkIdleEvent *ev)
{
	struct member *m =
	    ev->peer_uid ? g_hash_table_lookup(e->by_uid, ev->peer_uid) : NULL;

	/* tincan reports ON_DEMAND links only; one the topology has taken
	 * over since (its kind is changing) stays. */
	if (!e->bounded || !m || !m->linked || m->want)
		return;
	ctl_links_drop(e, m, "idle");
}

bool ctl_links_failed(struct ctl_members *e, struct member *m)
{
	if (!e->bounded || m->want)
		return false;
	ctl_links_drop(e, m, "failed");
	return true;
}

void ctl_links_prune(struct ctl_members *e)
{
	GHashTableIter it;
	gpointer uid;
	GPtrArray *gone = g_ptr_array_new_with_free_func(g_free);
	guint i;

	if (!e->bounded) {
		g_ptr_array_free(gone, TRUE);
		return;
	}
	/* Adopted links of members that exist but are not wanted were never
	 * claimed (ctl_member_ensure_link); the unclaimed of non-members
	 * went already. */
	g_hash_table_iter_init(&it, e->adopted);
	while (g_hash_table_iter_next(&it, &uid, NULL)) {
		struct member *m = g_hash_table_lookup(e->by_uid, uid);
		if (m && !m->linked)
			g_ptr_array_add(gone, g_strdup(uid));
	}
	for (i = 0; i < gone->len; i++) {
		g_message("overlay %s: removing adopted link %.12s: not a "
			  "neighbour",
			  e->cfg->name, (char *)gone->pdata[i]);
		ctl_member_remove_link(e, gone->pdata[i], "remove");
	}
	g_ptr_array_free(gone, TRUE);
}

/* The member's link failed CTL_MEMBER_RELINK_MS ago and tincan did not
 * repair it: remade (by the side with the smaller uid; the other side
 * follows when the new candidates reach it). */
struct relink {
	struct ctl_members *e;
	char uid[IPOP_UID_SIZE];
};

unsigned ctl_links_relink_ms(const struct ctl_members *e)
{
	return e->io.relink_ms ? e->io.relink_ms : CTL_MEMBER_RELINK_MS;
}

static gboolean on_relink(gpointer data)
{
	struct relink *r = data;
	struct member *m = g_hash_table_lookup(r->e->by_uid, r->uid);

	if (!m)
		return G_SOURCE_REMOVE;
	m->relink = 0;
	if (m->away && m->state != IPOP__LINK_STATE__CONNECTED) {
		ctl_member_drop(r->e, m,
				"offline and its link did not recover");
		return G_SOURCE_REMOVE;
	}
	if (m->state != IPOP__LINK_STATE__FAILED)
		return G_SOURCE_REMOVE;
	g_message("overlay %s: link to %s still failed after %d ms; remaking "
		  "it",
		  r->e->cfg->name, IPOP_LOG_STR(m->jid),
		  ctl_links_relink_ms(r->e));
	ctl_member_remove_link(r->e, m->uid, "relink");
	return G_SOURCE_REMOVE;
}

void ctl_links_arm_relink(struct ctl_members *e, struct member *m)
{
	struct relink *r;

	if (m->relink)
		return;
	r = g_new0(struct relink, 1);
	r->e = e;
	g_strlcpy(r->uid, m->uid, sizeof(r->uid));
	m->relink = g_timeout_add_full(
	    G_PRIORITY_DEFAULT, ctl_links_relink_ms(e), on_relink, r, g_free);
}
