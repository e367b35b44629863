/*
 * Controller wiring.  Owns the tincan client, the XMPP session, the roster
 * table and the policies, and routes between them: tincan events and
 * replies to the policy of their overlay, presence and roster changes to
 * every policy, decoded signals to the policies they concern.  Holds no
 * policy of its own.
 */
#define G_LOG_DOMAIN "controller"

#include <string.h>

#include "common/log.h"
#include "controller/daemon.h"
#include "controller/gvpn.h"
#include "controller/member.h"
#include "controller/signal.h"
#include "controller/svpn.h"
#include "controller/switch.h"
#include "controller/tincan.h"
#include "controller/xmpp.h"
#include "common/uid.h"
#include "proto/pbutil.h"

enum {
	SHUTDOWN_FLUSH_MS = 300,
	BAD_SIGNALS_PER_SEC = 10, /* "dropped signal" lines logged a second */
};

struct ctl_daemon {
	const struct ctl_config *cfg;
	struct ctl_tincan *tincan;
	struct ctl_xmpp *xmpp;
	char uid[IPOP_UID_SIZE];
	uint8_t key[IPOP_KEY_LEN];
	GHashTable *roster;  /* bare JID -> GINT_TO_POINTER(sub) */
	GPtrArray *policies; /* struct ctl_members *, one per overlay */
	GPtrArray *bindings; /* struct binding *, one per policy */
	struct ipop_log_budget bad_signals; /* any contact may send junk */
};

/* What a policy's io callbacks get: the daemon and the overlay's name. */
struct binding {
	struct ctl_daemon *d;
	const char *overlay; /* borrowed from the config */
};

struct pending_tag {
	struct ctl_daemon *d;
	char *overlay;
	char *tag;
};

static struct ctl_members *policy_of(struct ctl_daemon *d, const char *overlay)
{
	guint i;

	for (i = 0; overlay && i < d->policies->len; i++)
		if (!strcmp(ctl_member_name(d->policies->pdata[i]), overlay))
			return d->policies->pdata[i];
	return NULL;
}

static void on_reply(void *ctx, const Ipop__Response *resp, void *data)
{
	struct pending_tag *p = data;
	struct ctl_members *e = policy_of(p->d, p->overlay);

	(void)ctx;
	if (e)
		ctl_member_tincan_reply(e, p->tag, resp);
	g_free(p->overlay);
	g_free(p->tag);
	g_free(p);
}

static void io_request(void *ctx, Ipop__Request *req, const char *tag)
{
	struct binding *b = ctx;
	struct pending_tag *p = g_new0(struct pending_tag, 1);

	p->d = b->d;
	p->overlay = g_strdup(b->overlay);
	p->tag = g_strdup(tag);
	if (ctl_tincan_request(b->d->tincan, req, on_reply, p) < 0) {
		/* tincan is away; adoption on reconnect redoes the work. */
		g_debug("tincan away: %s not sent", tag);
		g_free(p->overlay);
		g_free(p->tag);
		g_free(p);
	}
}

static void io_signal(void *ctx, const char *to, const struct ctl_sig *s)
{
	struct binding *b = ctx;
	GHashTable *attrs;
	int r;

	if (!b->d->xmpp)
		return;
	attrs = ctl_sig_encode(s);
	r = ctl_xmpp_send(b->d->xmpp, to, attrs);
	if (r < 0)
		g_debug("signal to %s not sent: %s", IPOP_LOG_STR(to),
			g_strerror(-r));
	else /* counted by tools/bench-gvpn */
		g_debug("signal %d sent to %s", s->kind, IPOP_LOG_STR(to));
	g_hash_table_unref(attrs);
}

static enum ctl_sub io_subscription(void *ctx, const char *bare)
{
	struct binding *b = ctx;

	return (enum ctl_sub)GPOINTER_TO_INT(
	    g_hash_table_lookup(b->d->roster, bare));
}

/* The one place that turns an overlay's configured type into its policy. */
static const struct ctl_member_ops *ops_of(enum ctl_overlay_type type)
{
	switch (type) {
	case CTL_OVERLAY_GVPN:
		return &ctl_gvpn_ops;
	case CTL_OVERLAY_SVPN:
		return &ctl_svpn_ops;
	case CTL_OVERLAY_SWITCH:
		return &ctl_switch_ops;
	}
	g_error("overlay type %d has no policy", type);
}

static void make_policies(struct ctl_daemon *d)
{
	unsigned i;

	for (i = 0; i < d->cfg->n_overlays; i++) {
		struct binding *b = g_new0(struct binding, 1);
		struct ctl_member_io io = {
		    io_request, io_signal,   io_subscription,
		    b,		d->cfg->jid, d->cfg->state_dir,
		    0};
		struct ctl_members *e;

		b->d = d;
		b->overlay = d->cfg->overlays[i].name;
		g_ptr_array_add(d->bindings, b);
		e = ctl_member_new(&d->cfg->overlays[i], d->uid, d->key,
				   ops_of(d->cfg->overlays[i].type), &io);
		if (!e) {
			g_critical("overlay %s is not managed (see above)",
				   b->overlay);
			continue;
		}
		g_ptr_array_add(d->policies, e);
	}
}

/* ---- XMPP side ---- */

static void x_online(void *ctx, const char *full_jid)
{
	struct ctl_daemon *d = ctx;
	guint i;

	g_message("XMPP online as %s", IPOP_LOG_STR(full_jid));
	for (i = 0; i < d->policies->len; i++)
		ctl_member_online(d->policies->pdata[i]);
}

static void x_offline(void *ctx, const char *why)
{
	(void)ctx;
	/* Links keep running; signalling resumes on reconnect. */
	g_message("XMPP offline: %s (links stay up)", IPOP_LOG_STR(why));
}

static void x_roster(void *ctx, const char *bare, enum ctl_sub sub)
{
	struct ctl_daemon *d = ctx;
	guint i;

	if (sub == CTL_SUB_REMOVE || sub == CTL_SUB_NONE)
		g_hash_table_remove(d->roster, bare);
	else
		g_hash_table_insert(d->roster, g_strdup(bare),
				    GINT_TO_POINTER(sub));
	for (i = 0; i < d->policies->len; i++)
		ctl_member_roster(d->policies->pdata[i], bare, sub);
}

static void x_presence(void *ctx, const char *full_jid, bool available)
{
	struct ctl_daemon *d = ctx;
	guint i;

	for (i = 0; i < d->policies->len; i++)
		ctl_member_presence(d->policies->pdata[i], full_jid, available);
}

/* untrusted: attrs from any contact. */
static void x_signal(void *ctx, const char *from, GHashTable *attrs)
{
	struct ctl_daemon *d = ctx;
	struct ctl_sig s;
	char why[128];
	unsigned held;
	guint i;

	if (ctl_sig_decode(attrs, &s, why, sizeof(why)) < 0) {
		if (!ipop_log_budget_take(&d->bad_signals, BAD_SIGNALS_PER_SEC,
					  &held))
			return;
		if (held)
			g_message(
			    "%u bad signals not logged (over %d a second)",
			    held, BAD_SIGNALS_PER_SEC);
		/* untrusted: from an XMPP peer */
		g_message("dropped signal from %s: %s", IPOP_LOG_STR(from),
			  IPOP_LOG_STR(why));
		return;
	}
	for (i = 0; i < d->policies->len; i++) {
		struct ctl_members *e = d->policies->pdata[i];
		if (s.kind != CTL_SIG_ADVERTISE ||
		    !strcmp(s.group, ctl_member_group(e)))
			ctl_member_signal(e, from, &s);
	}
	ctl_sig_clear(&s);
}

static const struct ctl_xmpp_ops xmpp_ops = {
    .on_online = x_online,
    .on_offline = x_offline,
    .on_roster = x_roster,
    .on_presence = x_presence,
    .on_signal = x_signal,
};

/* ---- tincan side ---- */

static void set_ice(struct ctl_daemon *d)
{
	const struct ctl_config *c = d->cfg;
	Ipop__Request req = IPOP__REQUEST__INIT;
	Ipop__SetIceServers ice = IPOP__SET_ICE_SERVERS__INIT;
	Ipop__StunServer stun[CTL_MAX_SERVERS], *ps[CTL_MAX_SERVERS];
	Ipop__TurnServer turn[CTL_MAX_SERVERS], *pt[CTL_MAX_SERVERS];
	unsigned i;

	for (i = 0; i < c->n_stun; i++) {
		ipop__stun_server__init(&stun[i]);
		stun[i].address = c->stun[i].address;
		stun[i].port = c->stun[i].port;
		ps[i] = &stun[i];
	}
	for (i = 0; i < c->n_turn; i++) {
		ipop__turn_server__init(&turn[i]);
		turn[i].address = c->turn[i].address;
		turn[i].port = c->turn[i].port;
		turn[i].username = c->turn[i].user;
		turn[i].password = c->turn[i].password;
		pt[i] = &turn[i];
	}
	ice.n_stun = c->n_stun;
	ice.stun = ps;
	ice.n_turn = c->n_turn;
	ice.turn = pt;
	req.kind_case = IPOP__REQUEST__KIND_SET_ICE_SERVERS;
	req.set_ice_servers = &ice;
	struct pending_tag *p = g_new0(struct pending_tag, 1);
	p->d = d;
	p->tag = g_strdup("ice:");
	if (ctl_tincan_request(d->tincan, &req, on_reply, p) < 0) {
		g_free(p->tag);
		g_free(p);
	}
}

static const Ipop__OverlayInfo *find_info(const Ipop__NodeState *st,
					  const char *name)
{
	size_t i;

	for (i = 0; st && i < st->n_overlays; i++)
		if (!strcmp(st->overlays[i]->name, name))
			return st->overlays[i];
	return NULL;
}

static void on_state(void *ctx, const Ipop__Response *resp, void *data)
{
	struct ctl_daemon *d = data;
	const Ipop__NodeState *st = NULL;
	guint i;

	(void)ctx;
	if (!resp)
		return;
	if (resp->result_case == IPOP__RESPONSE__RESULT_STATE)
		st = resp->state;
	for (i = 0; i < d->policies->len; i++) {
		struct ctl_members *e = d->policies->pdata[i];
		ctl_member_adopt(e, find_info(st, ctl_member_name(e)));
	}
}

static void t_connected(void *ctx, const Ipop__HelloReply *hello)
{
	struct ctl_daemon *d = ctx;
	Ipop__Request req = IPOP__REQUEST__INIT;
	Ipop__GetState gs = IPOP__GET_STATE__INIT;

	if (hello->public_key.len != IPOP_KEY_LEN ||
	    !ipop_uid_is_valid(hello->uid)) {
		g_critical("tincan sent a malformed identity");
		return;
	}
	if (d->uid[0] && strcmp(d->uid, hello->uid))
		g_warning("tincan's identity changed (%s -> %s); restart the "
			  "controller to use the new one",
			  d->uid, IPOP_LOG_STR(hello->uid));
	if (!d->uid[0]) {
		g_strlcpy(d->uid, hello->uid, sizeof(d->uid));
		memcpy(d->key, hello->public_key.data, IPOP_KEY_LEN);
		make_policies(d);
		d->xmpp = ctl_xmpp_new(d->cfg, d->uid, &xmpp_ops, d);
	}
	set_ice(d);
	req.kind_case = IPOP__REQUEST__KIND_GET_STATE;
	req.get_state = &gs;
	ctl_tincan_request(d->tincan, &req, on_state, d);
}

static void t_disconnected(void *ctx, bool replaced)
{
	struct ctl_daemon *d = ctx;

	(void)d;
	if (replaced)
		g_warning("another controller took over tincan; this one idles "
			  "until restarted");
	else
		g_message("tincan went away; reconnecting");
}

static void t_event(void *ctx, const Ipop__Event *ev)
{
	struct ctl_daemon *d = ctx;
	const char *overlay = NULL;
	struct ctl_members *e;

	if (ev->kind_case == IPOP__EVENT__KIND_LINK_STATE) {
		overlay = ev->link_state->overlay;
		/* The fault that silenced the link may have stranded our XMPP
		 * session too (a NAT that forgot its mappings): it is checked
		 * (and remade) before tincan's repair needs it. */
		if (ev->link_state->state == IPOP__LINK_STATE__FAILED)
			ctl_xmpp_nudge(d->xmpp);
	} else if (ev->kind_case == IPOP__EVENT__KIND_LOCAL_CANDIDATES) {
		overlay = ev->local_candidates->overlay;
		/* New candidates (a new link or an ICE restart) must reach
		 * the peer: the same check. */
		ctl_xmpp_nudge(d->xmpp);
	} else if (ev->kind_case == IPOP__EVENT__KIND_ROUTE_TRAFFIC) {
		overlay = ev->route_traffic->overlay;
	} else if (ev->kind_case == IPOP__EVENT__KIND_LINK_IDLE) {
		overlay = ev->link_idle->overlay;
	}
	e = policy_of(d, overlay);
	if (e)
		ctl_member_event(e, ev);
}

static const struct ctl_tincan_ops tincan_ops = {
    .on_connected = t_connected,
    .on_disconnected = t_disconnected,
    .on_event = t_event,
};

struct ctl_daemon *ctl_daemon_new(const struct ctl_config *cfg)
{
	struct ctl_daemon *d = g_new0(struct ctl_daemon, 1);

	d->cfg = cfg;
	d->roster =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	d->policies =
	    g_ptr_array_new_with_free_func((GDestroyNotify)ctl_member_free);
	d->bindings = g_ptr_array_new_with_free_func(g_free);
	d->tincan = ctl_tincan_new(cfg->tincan_socket, &tincan_ops, d);
	for (unsigned i = 0; i < cfg->n_overlays; i++)
		ctl_tincan_claim(d->tincan, cfg->overlays[i].name);
	g_message("controller for %s starting; tincan at %s", cfg->jid,
		  cfg->tincan_socket);
	return d;
}

void ctl_daemon_shutdown(struct ctl_daemon *d)
{
	gint64 end = g_get_monotonic_time() + SHUTDOWN_FLUSH_MS * 1000;
	guint i;

	for (i = 0; d->xmpp && i < d->policies->len; i++)
		ctl_member_leave(d->policies->pdata[i]);
	while (g_get_monotonic_time() < end)
		if (!g_main_context_iteration(NULL, FALSE))
			g_usleep(10000);
}

void ctl_daemon_free(struct ctl_daemon *d)
{
	if (!d)
		return;
	ctl_xmpp_free(d->xmpp);
	ctl_tincan_free(d->tincan);
	g_ptr_array_free(d->policies, TRUE);
	g_ptr_array_free(d->bindings, TRUE);
	g_hash_table_destroy(d->roster);
	g_free(d);
}
