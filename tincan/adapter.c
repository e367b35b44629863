/*
 * The converters of adapter.h: between the control protocol's generated
 * messages and tincan's own structs.  Every rule about what a request may
 * hold lives in the core (overlay.c, link.c); this file only moves fields
 * and maps enums and errors, so a client gets the answers it always got.
 */
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "common/limits.h"
#include "common/names.h"
#include "proto/pbutil.h"
#include "tincan/adapter.h"
#include "tincan/link.h"
#include "tincan/owners.h"

void tc_adapter_overlay_req(const Ipop__CreateOverlay *m,
			    struct tc_overlay_req *r)
{
	memset(r, 0, sizeof(*r));
	r->name = m->name;
	r->tap_name = m->tap_name;
	switch (m->mode) {
	case IPOP__OVERLAY_MODE__MODE_UNSPECIFIED:
	case IPOP__OVERLAY_MODE__L3:
		r->mode = TC_OVERLAY_L3;
		break;
	case IPOP__OVERLAY_MODE__SWITCH:
		r->mode = TC_OVERLAY_SWITCH;
		break;
	default:
		r->mode = TC_OVERLAY_MODE_UNKNOWN;
		break;
	}
	r->ipv4 = m->ipv4;
	r->ipv4_prefix = m->ipv4_prefix;
	r->ipv6 = m->ipv6;
	r->ipv6_prefix = m->ipv6_prefix;
	r->mtu = m->mtu;
	r->translation = m->translation;
	r->psk = m->psk.data;
	r->psk_len = m->psk.len;
	r->bridge = m->bridge;
	r->ondemand_bytes_per_s = m->ondemand_bytes_per_s;
	r->ondemand_idle_ms = m->ondemand_idle_ms;
}

void tc_adapter_link_req(const Ipop__CreateLink *m, struct tc_link_req *r)
{
	r->peer_uid = m->peer_uid;
	r->peer_pub = m->peer_public_key.data;
	r->peer_pub_len = m->peer_public_key.len;
	/* An unknown kind is kept as unspecified: it only labels the link. */
	r->kind =
	    m->kind >= 0 && m->kind <= IPOP__LINK_KIND__LINK_KIND_ON_DEMAND
		? (enum tc_link_kind)m->kind
		: TC_LINK_KIND_UNSPECIFIED;
}

void tc_adapter_map_req(const Ipop__MapPeer *m, struct tc_map_req *r)
{
	r->peer_uid = m->peer_uid;
	r->remove = m->remove;
	r->ipv4 = m->ipv4;
	r->ipv6 = m->ipv6;
	r->peer_ipv4 = m->peer_ipv4;
	r->mac = m->mac.data;
	r->mac_len = m->mac.len;
	r->label = m->label;
}

const struct tc_ice_creds *tc_adapter_creds(const Ipop__IceCredentials *m,
					    struct tc_ice_creds *out)
{
	if (!m)
		return NULL;
	out->ufrag = m->ufrag;
	out->pwd = m->pwd;
	out->candidates = m->candidates;
	out->n_candidates = m->n_candidates;
	return out;
}

const char *tc_adapter_request_overlay(const Ipop__Request *req)
{
	switch (req->kind_case) {
	case IPOP__REQUEST__KIND_CREATE_OVERLAY:
		return req->create_overlay->name;
	case IPOP__REQUEST__KIND_REMOVE_OVERLAY:
		return req->remove_overlay->name;
	case IPOP__REQUEST__KIND_CREATE_LINK:
		return req->create_link->overlay;
	case IPOP__REQUEST__KIND_ADD_REMOTE_CANDIDATES:
		return req->add_remote_candidates->overlay;
	case IPOP__REQUEST__KIND_REMOVE_LINK:
		return req->remove_link->overlay;
	case IPOP__REQUEST__KIND_MAP_PEER:
		return req->map_peer->overlay;
	case IPOP__REQUEST__KIND_SET_ROUTE:
		return req->set_route->overlay;
	case IPOP__REQUEST__KIND_SET_LINK_KIND:
		return req->set_link_kind->overlay;
	default:
		return NULL;
	}
}

const char *tc_adapter_claims_problem(const Ipop__Hello *h)
{
	size_t i;

	if (h->role != IPOP__ROLE__CONTROLLER && (h->n_overlays || h->scoped))
		return "only a CONTROLLER claims overlays";
	if (h->n_overlays > TC_OWNERS_MAX_CLAIMS)
		return "too many overlays claimed (at most 256)";
	for (i = 0; i < h->n_overlays; i++)
		if (!ipop_overlay_name_is_valid(h->overlays[i]))
			return "a claimed overlay name is not " IPOP_NAME_RULE;
	return NULL;
}

Ipop__Status tc_adapter_status(int err)
{
	switch (err) {
	case 0:
		return IPOP__STATUS__OK;
	case -EINVAL:
		return IPOP__STATUS__BAD_REQUEST;
	case -EEXIST:
		return IPOP__STATUS__EXISTS;
	case -ENOENT:
		return IPOP__STATUS__NOT_FOUND;
	default:
		return IPOP__STATUS__INTERNAL;
	}
}

Ipop__LinkState tc_adapter_link_state(enum tc_link_state st)
{
	switch (st) {
	case TC_LINK_GATHERING:
		return IPOP__LINK_STATE__GATHERING;
	case TC_LINK_CONNECTING:
		return IPOP__LINK_STATE__CONNECTING;
	case TC_LINK_CONNECTED:
		return IPOP__LINK_STATE__CONNECTED;
	case TC_LINK_FAILED:
		return IPOP__LINK_STATE__FAILED;
	case TC_LINK_CLOSED:
		return IPOP__LINK_STATE__CLOSED;
	default:
		return IPOP__LINK_STATE__LINK_STATE_UNSPECIFIED;
	}
}

Ipop__OverlayMode tc_adapter_mode(enum tc_overlay_mode m)
{
	switch (m) {
	case TC_OVERLAY_L3:
		return IPOP__OVERLAY_MODE__L3;
	case TC_OVERLAY_SWITCH:
		return IPOP__OVERLAY_MODE__SWITCH;
	default:
		return IPOP__OVERLAY_MODE__MODE_UNSPECIFIED;
	}
}

/* Borrows c's strings (the message is only packed). */
static void creds_fill(const struct tc_ice_creds *c, Ipop__IceCredentials *m)
{
	ipop__ice_credentials__init(m);
	m->ufrag = ipop_cstr(c->ufrag);
	m->pwd = ipop_cstr(c->pwd);
	m->candidates = (char **)(uintptr_t)c->candidates;
	m->n_candidates = c->n_candidates;
}

static void pair_fill(const struct tc_cand_pair *p, Ipop__CandidatePair *m)
{
	ipop__candidate_pair__init(m);
	m->local_type = ipop_cstr(p->local_type);
	m->local_address = ipop_cstr(p->local_addr);
	m->remote_type = ipop_cstr(p->remote_type);
	m->remote_address = ipop_cstr(p->remote_addr);
}

static void link_state_event(const struct tc_event *e,
			     struct tc_adapter_event *b)
{
	Ipop__LinkStateChangedEvent *m = &b->link_state;

	ipop__link_state_changed_event__init(m);
	m->overlay = ipop_cstr(e->overlay);
	m->peer_uid = ipop_cstr(e->peer_uid);
	m->state = tc_adapter_link_state(e->u.link_state.state);
	m->reason = ipop_cstr(e->u.link_state.reason);
	if (e->u.link_state.pair) {
		pair_fill(e->u.link_state.pair, &b->pair);
		m->pair = &b->pair;
	}
	b->ev.kind_case = IPOP__EVENT__KIND_LINK_STATE;
	b->ev.link_state = m;
}

static void local_event(const struct tc_event *e, struct tc_adapter_event *b)
{
	ipop__local_candidates_event__init(&b->local);
	b->local.overlay = ipop_cstr(e->overlay);
	b->local.peer_uid = ipop_cstr(e->peer_uid);
	creds_fill(e->u.local, &b->creds);
	b->local.local = &b->creds;
	b->ev.kind_case = IPOP__EVENT__KIND_LOCAL_CANDIDATES;
	b->ev.local_candidates = &b->local;
}

static void unknown_event(const struct tc_event *e, struct tc_adapter_event *b)
{
	Ipop__UnknownDestinationEvent *m = &b->unknown;

	ipop__unknown_destination_event__init(m);
	m->overlay = ipop_cstr(e->overlay);
	if (e->u.unknown.dst_v4) {
		inet_ntop(AF_INET, e->u.unknown.dst_v4, b->v4, sizeof(b->v4));
		m->dst_ipv4 = b->v4;
	}
	if (e->u.unknown.dst_v6) {
		inet_ntop(AF_INET6, e->u.unknown.dst_v6, b->v6, sizeof(b->v6));
		m->dst_ipv6 = b->v6;
	}
	m->dst_mac.data = ipop_cbytes(e->u.unknown.dst_mac);
	m->dst_mac.len = IPOP_MAC_LEN;
	m->frame.data = ipop_cbytes(e->u.unknown.frame);
	m->frame.len = e->u.unknown.frame_len;
	b->ev.kind_case = IPOP__EVENT__KIND_UNKNOWN_DESTINATION;
	b->ev.unknown_destination = m;
}

static void route_events(const struct tc_event *e, struct tc_adapter_event *b)
{
	if (e->kind == TC_EVENT_ROUTE_TRAFFIC) {
		ipop__route_traffic_event__init(&b->route_traffic);
		b->route_traffic.overlay = ipop_cstr(e->overlay);
		b->route_traffic.peer_uid = ipop_cstr(e->peer_uid);
		b->route_traffic.bytes_per_s = e->u.bytes_per_s;
		b->ev.kind_case = IPOP__EVENT__KIND_ROUTE_TRAFFIC;
		b->ev.route_traffic = &b->route_traffic;
		return;
	}
	ipop__link_idle_event__init(&b->link_idle);
	b->link_idle.overlay = ipop_cstr(e->overlay);
	b->link_idle.peer_uid = ipop_cstr(e->peer_uid);
	b->link_idle.idle_ms = e->u.idle_ms;
	b->ev.kind_case = IPOP__EVENT__KIND_LINK_IDLE;
	b->ev.link_idle = &b->link_idle;
}

Ipop__Event *tc_adapter_event(const struct tc_event *e,
			      struct tc_adapter_event *buf)
{
	ipop__event__init(&buf->ev);
	switch (e->kind) {
	case TC_EVENT_LINK_STATE:
		link_state_event(e, buf);
		break;
	case TC_EVENT_LOCAL_CANDIDATES:
		local_event(e, buf);
		break;
	case TC_EVENT_UNKNOWN_DEST:
		unknown_event(e, buf);
		break;
	case TC_EVENT_ROUTE_TRAFFIC:
	case TC_EVENT_LINK_IDLE:
		route_events(e, buf);
		break;
	}
	return &buf->ev;
}

Ipop__IceCredentials *tc_adapter_creds_msg(const struct tc_ice_creds *c)
{
	Ipop__IceCredentials *m = g_new0(Ipop__IceCredentials, 1);

	creds_fill(c, m);
	return m;
}

static char *ntop(int af, const void *a)
{
	char buf[INET6_ADDRSTRLEN];

	return g_strdup(inet_ntop(af, a, buf, sizeof(buf)));
}

static Ipop__PeerMapping *mapping_msg(const struct tc_overlay *ov,
				      const struct tc_fwd_entry *e)
{
	Ipop__PeerMapping *m = g_new0(Ipop__PeerMapping, 1);
	struct tc_overlay_route_view v;

	ipop__peer_mapping__init(m);
	m->peer_uid = g_strdup(e->uid);
	m->ipv4 = e->has_v4 ? ntop(AF_INET, e->v4) : g_strdup("");
	m->ipv6 = e->has_v6 ? ntop(AF_INET6, e->v6) : g_strdup("");
	m->mac.data = g_memdup2(e->mac, IPOP_MAC_LEN);
	m->mac.len = IPOP_MAC_LEN;
	m->peer_ipv4 =
	    e->has_peer_v4 ? ntop(AF_INET, e->peer_v4) : g_strdup("");
	m->label = g_strdup(e->label);
	tc_overlay_route_view(ov, e->uid, &v);
	m->via_uid = g_strdup(v.forwarded ? v.via_uid : "");
	m->route_installed = v.forwarded && v.installed;
	m->fwd_tx_packets = v.tx_packets;
	m->fwd_tx_bytes = v.tx_bytes;
	m->fwd_rx_packets = v.rx_packets;
	m->fwd_rx_bytes = v.rx_bytes;
	return m;
}

static void mapping_free(Ipop__PeerMapping *m)
{
	g_free(m->peer_uid);
	g_free(m->ipv4);
	g_free(m->ipv6);
	g_free(m->mac.data);
	g_free(m->peer_ipv4);
	g_free(m->label);
	g_free(m->via_uid);
	g_free(m);
}

struct add_mappings {
	const struct tc_overlay *ov;
	Ipop__OverlayInfo *info;
};

static void add_mapping(const struct tc_fwd_entry *e, void *ctx)
{
	struct add_mappings *a = ctx;

	a->info->mappings[a->info->n_mappings++] = mapping_msg(a->ov, e);
}

static void add_mac(const uint8_t mac[6], const char *uid, uint64_t age_ms,
		    void *ctx)
{
	Ipop__OverlayInfo *info = ctx;
	Ipop__MacEntry *m = g_new0(Ipop__MacEntry, 1);

	ipop__mac_entry__init(m);
	m->mac.data = g_memdup2(mac, IPOP_MAC_LEN);
	m->mac.len = IPOP_MAC_LEN;
	m->peer_uid = g_strdup(uid ? uid : "");
	m->age_ms = (uint32_t)MIN(age_ms, (uint64_t)UINT32_MAX);
	info->mac_table[info->n_mac_table++] = m;
}

static Ipop__CandidatePair *pair_dup(const struct tc_cand_pair *p)
{
	Ipop__CandidatePair *m = g_new0(Ipop__CandidatePair, 1);

	ipop__candidate_pair__init(m);
	m->local_type = g_strdup(p->local_type);
	m->local_address = g_strdup(p->local_addr);
	m->remote_type = g_strdup(p->remote_type);
	m->remote_address = g_strdup(p->remote_addr);
	return m;
}

static void add_link(const struct tc_link *l, void *ctx)
{
	Ipop__OverlayInfo *info = ctx;
	Ipop__LinkInfo *m = g_new0(Ipop__LinkInfo, 1);
	struct tc_link_info li;

	tc_link_get_info(l, &li);
	ipop__link_info__init(m);
	m->overlay = g_strdup(li.overlay);
	m->peer_uid = g_strdup(li.peer_uid);
	m->peer_public_key.data = g_memdup2(li.peer_pub, IPOP_KEY_LEN);
	m->peer_public_key.len = IPOP_KEY_LEN;
	m->state = tc_adapter_link_state(li.state);
	m->controlling = li.controlling;
	if (li.pair)
		m->pair = pair_dup(li.pair);
	m->tx_bytes = li.tx_bytes;
	m->tx_packets = li.tx_packets;
	m->rx_bytes = li.rx_bytes;
	m->rx_packets = li.rx_packets;
	m->dropped = li.dropped;
	m->rtt_us = li.rtt_us;
	m->cipher = g_strdup(li.cipher);
	/* this link's share of the handshake guard (PROTOCOL.md §13) */
	TC_ADAPTER_GUARD_COPY(m, &li.guard);
	TC_ADAPTER_REPAIR_COPY(m, &li.repair);
	m->silent_ms = li.silent_ms;
	m->last_handshake_unix_ms = li.last_handshake_unix_ms;
	m->kind = (Ipop__LinkKind)li.kind;
	m->idle_ms = li.idle_ms;
	info->links[info->n_links++] = m;
}

/* The overlay's own fields (addresses as text, "" when absent). */
static void overlay_fields(const struct tc_overlay_info *oi,
			   Ipop__OverlayInfo *info)
{
	const struct tc_tap_config *c = oi->cfg;

	info->name = g_strdup(oi->name);
	info->tap_name = g_strdup(oi->tap);
	info->mode = tc_adapter_mode(oi->mode);
	info->bridge = g_strdup(oi->bridge);
	info->translation = oi->translation;
	info->dropped_malformed = oi->dropped_malformed;
	info->dropped_tap = oi->dropped_tap;
	info->offload = oi->offload;
	info->joined_frames = oi->joined_frames;
	info->joined_segments = oi->joined_segments;
	info->forwarded_packets = oi->forwarded;
	info->dropped_no_route = oi->dropped_no_route;
	info->dropped_hop_limit = oi->dropped_hop_limit;
	info->ipv4 = c->has_v4 ? ntop(AF_INET, c->v4) : g_strdup("");
	info->ipv4_prefix = c->v4_prefix;
	info->ipv6 = c->has_v6 ? ntop(AF_INET6, c->v6) : g_strdup("");
	info->ipv6_prefix = c->v6_prefix;
	info->mtu = c->mtu;
	info->tap_mac.data = g_memdup2(c->mac, IPOP_MAC_LEN);
	info->tap_mac.len = IPOP_MAC_LEN;
	info->has_psk = oi->has_psk;
}

/* The overlay's fields, links and MAC table (head) or only its fields, with
 * room for n mappings. */
static Ipop__OverlayInfo *overlay_part(const struct tc_overlay *ov, bool head,
				       size_t n)
{
	Ipop__OverlayInfo *info = g_new0(Ipop__OverlayInfo, 1);
	struct tc_overlay_info oi;

	tc_overlay_get_info(ov, &oi);
	ipop__overlay_info__init(info);
	overlay_fields(&oi, info);
	info->mappings = g_new0(Ipop__PeerMapping *, n + 1);
	if (!head)
		return info;
	if (oi.mode == TC_OVERLAY_SWITCH) {
		info->mac_table = g_new0(Ipop__MacEntry *, oi.n_macs + 1);
		tc_overlay_foreach_mac(ov, add_mac, info);
	}
	info->links = g_new0(Ipop__LinkInfo *, oi.n_links + 1);
	tc_overlay_foreach_link(ov, add_link, info);
	return info;
}

Ipop__OverlayInfo *tc_adapter_overlay_info(const struct tc_overlay *ov)
{
	struct tc_overlay_info oi;
	Ipop__OverlayInfo *info;
	struct add_mappings a = {.ov = ov};

	tc_overlay_get_info(ov, &oi);
	info = overlay_part(ov, true, oi.n_mappings);
	a.info = info;
	tc_overlay_foreach_mapping(ov, add_mapping, &a);
	return info;
}

/* What one more element of len bytes adds to a message: tag, length, body
 * (the enclosing length may grow by a byte too). */
static size_t field_cost(size_t len)
{
	return len + 1 + 1 + (len >= 128) + (len >= 16384) + 1;
}

struct after {
	const char *uid;
	GPtrArray *out; /* const struct tc_fwd_entry * */
};

/* The table's entries stay put until the next MapPeer, which cannot run
 * while a page is built. */
static void collect_after(const struct tc_fwd_entry *e, void *ctx)
{
	struct after *a = ctx;

	if (strcmp(e->uid, a->uid) > 0)
		g_ptr_array_add(a->out, (gpointer)(uintptr_t)e);
}

static int by_uid(gconstpointer a, gconstpointer b)
{
	const struct tc_fwd_entry *x = *(const struct tc_fwd_entry *const *)a;
	const struct tc_fwd_entry *y = *(const struct tc_fwd_entry *const *)b;

	return strcmp(x->uid, y->uid);
}

static int by_age(gconstpointer a, gconstpointer b)
{
	const Ipop__MacEntry *x = *(Ipop__MacEntry *const *)a;
	const Ipop__MacEntry *y = *(Ipop__MacEntry *const *)b;

	return x->age_ms < y->age_ms ? -1 : x->age_ms > y->age_ms;
}

static void mac_free(Ipop__MacEntry *m)
{
	g_free(m->mac.data);
	g_free(m->peer_uid);
	g_free(m);
}

/* A MAC table (switch mode, up to 8,192 entries) can exceed a frame on
 * its own: a head keeps the most recently seen entries that fit in half
 * the page and counts the rest in pg->macs_omitted.  The new cost. */
static size_t trim_macs(Ipop__OverlayInfo *info, size_t cost,
			struct tc_adapter_page *pg)
{
	qsort(info->mac_table, info->n_mac_table, sizeof(*info->mac_table),
	      (int (*)(const void *, const void *))by_age);
	while (info->n_mac_table > 0 && cost > pg->budget / 2) {
		Ipop__MacEntry *m = info->mac_table[--info->n_mac_table];
		cost -= MIN(
		    cost, field_cost(ipop__mac_entry__get_packed_size(m)) - 1);
		info->mac_table[info->n_mac_table] = NULL;
		mac_free(m);
		pg->macs_omitted++;
	}
	return cost;
}

Ipop__OverlayInfo *tc_adapter_overlay_page(const struct tc_overlay *ov,
					   struct tc_adapter_page *pg)
{
	struct after a = {.uid = pg->after ? pg->after : ""};
	Ipop__OverlayInfo *info;
	Ipop__PeerMapping *m;
	size_t cost, mcost, i;

	pg->done = false;
	pg->last[0] = '\0';
	a.out = g_ptr_array_new();
	tc_overlay_foreach_mapping(ov, collect_after, &a);
	g_ptr_array_sort(a.out, by_uid);
	info = overlay_part(ov, pg->head, a.out->len);
	cost = field_cost(ipop__overlay_info__get_packed_size(info)) + 4;
	if (cost > pg->budget / 2 && info->n_mac_table > 0)
		cost = trim_macs(info, cost, pg);
	if (cost > pg->budget) {
		tc_adapter_overlay_info_free(info);
		g_ptr_array_free(a.out, TRUE);
		return NULL;
	}
	for (i = 0; i < a.out->len; i++) {
		if (pg->max && info->n_mappings >= pg->max)
			break;
		m = mapping_msg(ov, a.out->pdata[i]);
		mcost = field_cost(ipop__peer_mapping__get_packed_size(m));
		if (cost + mcost > pg->budget) {
			mapping_free(m);
			break;
		}
		cost += mcost;
		info->mappings[info->n_mappings++] = m;
		g_strlcpy(pg->last, m->peer_uid, sizeof(pg->last));
	}
	pg->done = i == a.out->len;
	pg->budget -= cost;
	g_ptr_array_free(a.out, TRUE);
	return info;
}

static void link_info_free(Ipop__LinkInfo *m)
{
	g_free(m->overlay);
	g_free(m->peer_uid);
	g_free(m->peer_public_key.data);
	g_free(m->cipher);
	if (m->pair) {
		g_free(m->pair->local_type);
		g_free(m->pair->local_address);
		g_free(m->pair->remote_type);
		g_free(m->pair->remote_address);
		g_free(m->pair);
	}
	g_free(m);
}

void tc_adapter_overlay_info_free(Ipop__OverlayInfo *info)
{
	size_t i;

	for (i = 0; i < info->n_mappings; i++)
		mapping_free(info->mappings[i]);
	for (i = 0; i < info->n_links; i++)
		link_info_free(info->links[i]);
	for (i = 0; i < info->n_mac_table; i++)
		mac_free(info->mac_table[i]);
	g_free(info->mac_table);
	g_free(info->mappings);
	g_free(info->links);
	g_free(info->name);
	g_free(info->tap_name);
	g_free(info->ipv4);
	g_free(info->ipv6);
	g_free(info->tap_mac.data);
	g_free(info->bridge);
	g_free(info);
}
