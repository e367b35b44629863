/*
 * GroupVPN forwarding of an overlay (PROTOCOL.md §14): frames for mapped
 * members without a connected direct link go hop by hop over links in
 * TC_INNER_FORWARD messages; frames passed on by others are delivered or
 * passed on again; the move onto a new direct link holds frames until
 * the last forwarded one has arrived; and a timer raises route_traffic
 * and link_idle events.  Only L3 overlays without translation forward.
 * The state lives in route.c; the overlay (overlay.c) owns it.
 *
 * MTU: a forwarded frame carries up to TC_ROUTE_OVERHEAD (46) bytes more
 * than a direct one, yet must fit the same UDP datagram (the overlay MTU
 * was chosen for direct frames).  TSO frames to a forwarded destination
 * are cut into segments that much smaller; a single packet too large is
 * answered with ICMP "fragmentation needed" / "packet too big" for
 * mtu - 46 (pmtu.h), so the kernel lowers that destination's path MTU.
 */
#define G_LOG_DOMAIN "tincan"

#include <errno.h>
#include <string.h>

#include "common/uid.h"
#include "tincan/ether.h"
#include "tincan/overlay_int.h"
#include "tincan/pmtu.h"

enum {
	ROUTE_TICK_MS = 250,
	TOO_BIG_CAP = 1400,
};

static bool is_up(const struct tc_link *l)
{
	return l && tc_link_state(l) == TC_LINK_CONNECTED;
}

/* The connected links as next hops, those heard from lately first (the
 * route tick calls it too: staleness comes without a state change). */
void tc_overlay_route_links_changed(struct tc_overlay *ov)
{
	GPtrArray *fresh, *stale;
	GHashTableIter it;
	gpointer uid, l;
	size_t n_fresh;

	if (!ov->route)
		return;
	fresh = g_ptr_array_new();
	stale = g_ptr_array_new();
	g_hash_table_iter_init(&it, ov->links);
	while (g_hash_table_iter_next(&it, &uid, &l)) {
		if (!is_up(l))
			continue;
		if (tc_link_rx_age_ms(l) < TC_ROUTE_STALE_MS)
			g_ptr_array_add(fresh, uid);
		else
			g_ptr_array_add(stale, uid);
	}
	n_fresh = fresh->len;
	if (stale->len)
		g_ptr_array_extend(fresh, stale, NULL, NULL);
	tc_route_set_neighbours(ov->route, (const char *const *)fresh->pdata,
				fresh->len, n_fresh);
	g_ptr_array_free(fresh, TRUE);
	g_ptr_array_free(stale, TRUE);
}

/* The forwarded path takes about twice the first hop (one intermediate
 * member, links of similar RTT); that is how long a move waits. */
static uint32_t hold_ms(const struct tc_link *via)
{
	return tc_link_rtt_us(via) * 2 / 1000 + 1;
}

static void too_big(struct tc_overlay *ov, const uint8_t *frame, size_t len)
{
	uint8_t out[TOO_BIG_CAP];
	int n = tc_pmtu_too_big(frame, len, ov->cfg.mtu - TC_ROUTE_OVERHEAD,
				out, sizeof(out));

	ov->tap_dropped++;
	if (n > 0)
		tc_overlay_write_tap(ov, out, (size_t)n);
}

/* Sends a frame from the TAP to d over other members. */
static void forward_origin(struct tc_overlay *ov, struct tc_route_dest *d,
			   const uint8_t *frame, size_t len,
			   const struct tc_csum *cs)
{
	uint8_t pre[TC_ROUTE_OVERHEAD];
	struct tc_route_hdr h = {.hops = TC_ROUTE_HOP_LIMIT};
	bool installed;
	const char *via = tc_route_next_hop(ov->route, d, &installed);
	struct tc_link *l = tc_overlay_link(ov, via);
	int n;

	if (!is_up(l)) {
		ov->dropped_no_route++;
		return;
	}
	if (len > ov->cfg.mtu - TC_ROUTE_OVERHEAD + TC_ETH_HLEN) {
		too_big(ov, frame, len);
		return;
	}
	h.src = *tc_route_self(ov->route);
	h.dst = d->id;
	if (cs)
		h.cs = *cs;
	n = tc_route_hdr_encode(&h, pre, sizeof(pre));
	if (n < 0 || tc_link_send_forward(l, pre, (size_t)n, frame, len) < 0)
		return;
	tc_route_count_tx(d, len, tc_overlay_now_ms(), hold_ms(l));
}

static void drain_one(void *ctx, const uint8_t *frame, size_t len,
		      const struct tc_csum *cs);

struct drain {
	struct tc_overlay *ov;
	struct tc_route_dest *d;
	uint64_t now, next; /* next: the earliest hold still running */
};

/* Held frames leave: over the direct link if it is still up, else over
 * the overlay path again. */
static void drain_one(void *ctx, const uint8_t *frame, size_t len,
		      const struct tc_csum *cs)
{
	struct drain *dr = ctx;
	struct tc_link *l = tc_overlay_link(dr->ov, dr->d->uid);

	if (is_up(l))
		tc_link_send_frame(l, frame, len, cs);
	else
		forward_origin(dr->ov, dr->d, frame, len, cs);
}

static void drain_due(struct tc_route_dest *d, void *ctx)
{
	struct drain *dr = ctx;
	struct tc_link *l;

	if (g_queue_is_empty(&d->held))
		return;
	if (dr->now < d->hold_until_ms) {
		dr->next = MIN(dr->next, d->hold_until_ms);
		return;
	}
	dr->d = d;
	tc_route_hold_drain(d, drain_one, dr);
	l = tc_overlay_link(dr->ov, d->uid);
	if (l)
		tc_link_flush(l);
	g_debug("overlay %s: frames for %.12s now on the direct link",
		dr->ov->name, d->uid);
}

static void arm_hold(struct tc_overlay *ov, uint64_t at_ms);

static gboolean on_hold_timer(gpointer data)
{
	struct tc_overlay *ov = data;
	struct drain dr = {.ov = ov, .now = tc_overlay_now_ms()};

	dr.next = UINT64_MAX;
	ov->hold_timer = 0;
	ov->hold_at_ms = 0;
	tc_route_foreach(ov->route, drain_due, &dr);
	if (dr.next != UINT64_MAX)
		arm_hold(ov, dr.next);
	return G_SOURCE_REMOVE;
}

static void arm_hold(struct tc_overlay *ov, uint64_t at_ms)
{
	uint64_t now = tc_overlay_now_ms();

	if (ov->hold_timer && ov->hold_at_ms <= at_ms)
		return;
	if (ov->hold_timer)
		g_source_remove(ov->hold_timer);
	ov->hold_at_ms = at_ms;
	ov->hold_timer = g_timeout_add((guint)(at_ms > now ? at_ms - now : 0),
				       on_hold_timer, ov);
}

/* §14.3: the direct link is up but the last forwarded frame may still be
 * on the longer path; this one waits behind it. */
static void hold(struct tc_overlay *ov, struct tc_route_dest *d,
		 struct tc_link *l, const uint8_t *frame, size_t len,
		 const struct tc_csum *cs)
{
	struct drain dr = {.ov = ov, .d = d};

	if (tc_route_hold_push(d, frame, len, cs) == 0) {
		arm_hold(ov, d->hold_until_ms);
		return;
	}
	tc_route_hold_drain(d, drain_one, &dr);
	tc_link_send_frame(l, frame, len, cs);
}

/* How a frame for uid leaves now. */
enum way {
	WAY_DIRECT,  /* straight on l */
	WAY_HELD,    /* on l, after d's hold: the route is being switched */
	WAY_FORWARD, /* along d's route */
	WAY_NONE,    /* no link in a plain overlay, or a malformed uid */
};

static enum way way_of(struct tc_overlay *ov, const char *uid,
		       struct tc_link **l, struct tc_route_dest **d)
{
	*l = tc_overlay_link(ov, uid);
	*d = NULL;
	if (!ov->route)
		return *l ? WAY_DIRECT : WAY_NONE;
	if (is_up(*l)) {
		*d = tc_route_dest(ov->route, uid, false);
		return *d && tc_route_must_hold(*d, tc_overlay_now_ms())
			   ? WAY_HELD
			   : WAY_DIRECT;
	}
	*d = tc_route_dest(ov->route, uid, true);
	return *d ? WAY_FORWARD : WAY_NONE;
}

struct tc_link *tc_overlay_route_direct(struct tc_overlay *ov, const char *uid)
{
	struct tc_link *l;
	struct tc_route_dest *d;

	return way_of(ov, uid, &l, &d) == WAY_DIRECT ? l : NULL;
}

void tc_overlay_route_send(struct tc_overlay *ov, const char *uid,
			   const uint8_t *frame, size_t len,
			   const struct tc_csum *cs)
{
	struct tc_link *l;
	struct tc_route_dest *d;

	switch (way_of(ov, uid, &l, &d)) {
	case WAY_DIRECT:
		tc_link_send_frame(l, frame, len, cs);
		break;
	case WAY_HELD:
		hold(ov, d, l, frame, len, cs);
		break;
	case WAY_FORWARD:
		forward_origin(ov, d, frame, len, cs);
		break;
	case WAY_NONE:
		if (!ov->route)
			ov->tap_dropped++;
		break;
	}
}

uint16_t tc_overlay_route_gso(struct tc_overlay *ov,
			      const struct tc_fwd_entry *e, uint16_t gso_size)
{
	if (!ov->route || gso_size <= TC_ROUTE_OVERHEAD)
		return gso_size;
	if (!e || is_up(tc_overlay_link(ov, e->uid)))
		return gso_size;
	return (uint16_t)(gso_size - TC_ROUTE_OVERHEAD);
}

/* A forwarded frame addressed to this node. */
static void deliver_here(struct tc_overlay *ov, const struct tc_route_hdr *h,
			 uint8_t *frame, size_t len)
{
	char src[IPOP_UID_SIZE];
	struct tc_route_dest *d;
	uint64_t malformed = ov->malformed;

	tc_route_id_hex(&h->src, src);
	tc_overlay_deliver(ov, src, frame, len, &h->cs);
	if (ov->malformed != malformed)
		return;
	d = tc_route_dest(ov->route, src, true);
	if (d)
		tc_route_count_rx(d, len, tc_overlay_now_ms());
}

/* A forwarded frame for another member: the direct link to it, else its
 * installed route, else the greedy rule. */
static void pass_on(struct tc_overlay *ov, uint8_t *body, size_t hlen,
		    const struct tc_route_hdr *h, size_t len)
{
	char dst[IPOP_UID_SIZE];
	struct tc_route_dest *d;
	struct tc_link *l;
	const char *via = NULL;
	bool installed;

	if (h->hops <= 1) {
		ov->dropped_hop_limit++;
		return;
	}
	tc_route_id_hex(&h->dst, dst);
	l = tc_overlay_link(ov, dst);
	if (!is_up(l)) {
		d = tc_route_dest(ov->route, dst, false);
		via = d ? tc_route_next_hop(ov->route, d, &installed)
			: tc_route_next_hop_id(ov->route, &h->dst);
		l = tc_overlay_link(ov, via);
	}
	if (!is_up(l)) {
		ov->dropped_no_route++;
		return;
	}
	body[0] = (uint8_t)(h->hops - 1);
	if (tc_link_send_forward(l, body, hlen, body + hlen, len) == 0)
		ov->forwarded++;
	ov->links_pending = true;
}

/* untrusted: from peer (authenticated as the link's peer, but the header
 * and the frame are its word). */
void tc_overlay_on_forward(void *owner, struct tc_link *l, uint8_t *body,
			   size_t len)
{
	struct tc_overlay *ov = owner;
	struct tc_route_hdr h;
	int n;

	(void)l;
	if (!ov->route) {
		ov->malformed++; /* §14: only L3 without translation */
		return;
	}
	n = tc_route_hdr_decode(body, len, &h);
	if (n < 0 || len - (size_t)n < TC_ETH_HLEN ||
	    len - (size_t)n > ov->cfg.mtu + TC_ETH_HLEN) {
		ov->malformed++;
		return;
	}
	if (ipop_ring_cmp(&h.dst, tc_route_self(ov->route)) == 0)
		deliver_here(ov, &h, body + n, len - (size_t)n);
	else
		pass_on(ov, body, (size_t)n, &h, len - (size_t)n);
}

struct tick {
	struct tc_overlay *ov;
	uint64_t now;
};

static void emit(struct tc_overlay *ov, struct tc_event *ev, const char *uid)
{
	ev->overlay = ov->name;
	ev->peer_uid = uid;
	ov->env->emit(ov->env->node, ev);
}

static void rate_check(struct tc_route_dest *d, void *ctx)
{
	struct tick *t = ctx;
	struct tc_event ev = {.kind = TC_EVENT_ROUTE_TRAFFIC};
	uint64_t rate;

	if (!tc_route_rate_due(d, t->now, t->ov->ondemand_bps, &rate) ||
	    is_up(tc_overlay_link(t->ov, d->uid)))
		return;
	ev.u.bytes_per_s = rate;
	g_info("overlay %s: %llu B/s forwarded with %.12s", t->ov->name,
	       (unsigned long long)rate, d->uid);
	emit(t->ov, &ev, d->uid);
}

static void idle_check(struct tc_overlay *ov)
{
	struct tc_event ev = {.kind = TC_EVENT_LINK_IDLE};
	GHashTableIter it;
	gpointer uid, l;

	g_hash_table_iter_init(&it, ov->links);
	while (g_hash_table_iter_next(&it, &uid, &l)) {
		if (tc_link_kind(l) != TC_LINK_KIND_ON_DEMAND ||
		    !tc_link_take_idle(l, ov->ondemand_idle_ms))
			continue;
		ev.u.idle_ms = tc_link_idle_ms(l);
		emit(ov, &ev, uid);
	}
}

static gboolean on_route_tick(gpointer data)
{
	struct tc_overlay *ov = data;
	struct tick t = {.ov = ov, .now = tc_overlay_now_ms()};

	tc_overlay_route_links_changed(ov);
	tc_route_foreach(ov->route, rate_check, &t);
	if (ov->ondemand_idle_ms)
		idle_check(ov);
	return G_SOURCE_CONTINUE;
}

void tc_overlay_route_start(struct tc_overlay *ov)
{
	if (ov->mode != TC_OVERLAY_L3 || ov->translation)
		return;
	ov->route = tc_route_new(ov->env->id->uid);
	ov->route_tick = g_timeout_add(ROUTE_TICK_MS, on_route_tick, ov);
}

void tc_overlay_route_stop(struct tc_overlay *ov)
{
	if (ov->route_tick)
		g_source_remove(ov->route_tick);
	if (ov->hold_timer)
		g_source_remove(ov->hold_timer);
	ov->route_tick = ov->hold_timer = 0;
	tc_route_free(ov->route);
	ov->route = NULL;
}

#define FAIL(err, ...)                                                         \
	do {                                                                   \
		g_snprintf(why, why_len, __VA_ARGS__);                         \
		return (err);                                                  \
	} while (0)

int tc_overlay_set_route(struct tc_overlay *ov, const char *dest,
			 const char *via, bool remove, char *why,
			 size_t why_len)
{
	if (!ov->route)
		FAIL(-EINVAL,
		     "overlay %s does not forward (L3 without "
		     "translation only)",
		     ov->name);
	if (!dest || !ipop_uid_is_valid(dest))
		FAIL(-EINVAL, "dest_uid must be 40 hex digits");
	if (remove) {
		if (tc_route_unset(ov->route, dest) < 0)
			FAIL(-ENOENT, "no route to %s", dest);
		return 0;
	}
	if (!via || !ipop_uid_is_valid(via))
		FAIL(-EINVAL, "via_uid must be 40 hex digits");
	if (tc_route_set(ov->route, dest, via) < 0)
		FAIL(-EINVAL,
		     "via_uid must differ from dest_uid and this node");
	g_info("overlay %s: route to %.12s via %.12s", ov->name, dest, via);
	return 0;
}

int tc_overlay_set_link_kind(struct tc_overlay *ov, const char *uid,
			     enum tc_link_kind kind, char *why, size_t why_len)
{
	struct tc_link *l;

	if (!uid || !ipop_uid_is_valid(uid))
		FAIL(-EINVAL, "peer_uid must be 40 hex digits");
	if (kind > TC_LINK_KIND_ON_DEMAND)
		FAIL(-EINVAL, "unknown link kind");
	l = tc_overlay_link(ov, uid);
	if (!l)
		FAIL(-ENOENT, "no link to %s", uid);
	tc_link_set_kind(l, kind);
	return 0;
}

#undef FAIL

void tc_overlay_route_view(const struct tc_overlay *ov, const char *uid,
			   struct tc_overlay_route_view *v)
{
	struct tc_route_dest *d;

	memset(v, 0, sizeof(*v));
	v->via_uid = "";
	if (!ov->route)
		return;
	d = tc_route_dest(ov->route, uid, false);
	if (d) {
		v->tx_packets = d->tx_packets;
		v->tx_bytes = d->tx_bytes;
		v->rx_packets = d->rx_packets;
		v->rx_bytes = d->rx_bytes;
	}
	v->forwarded = !is_up(tc_overlay_link(ov, uid));
	if (!v->forwarded)
		return;
	if (d)
		v->via_uid = tc_route_next_hop(ov->route, d, &v->installed);
	else if (ipop_uid_is_valid(uid)) {
		struct ipop_ring_id id;
		ipop_ring_id_parse(uid, &id);
		v->via_uid = tc_route_next_hop_id(ov->route, &id);
	}
	if (!v->via_uid)
		v->via_uid = "";
}
