/*
 * The packet path of an overlay: frames read from the TAP (TSO frames cut
 * into segments) go to one link, every link or an UnknownDestination
 * event; frames from links are checked, translated (SocialVPN) and joined
 * into larger TCP frames on their way to the TAP.  L3 mode answers ARP and
 * neighbour solicitations itself; switch mode learns MACs per link.  This
 * file allocates nothing per packet and owns nothing: the overlay's state
 * belongs to overlay.c, which creates and frees it.
 */
#define G_LOG_DOMAIN "tincan"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "tincan/ether.h"
#include "tincan/overlay_int.h"
#include "tincan/xlate.h"

enum {
	FRAMES_PER_WAKEUP = 64,
	BYTES_PER_WAKEUP = 256 * 1024, /* TSO frames: ~180 segments to seal */
	VLAN_TAG_LEN = 4,
	ARP_TPA_OFF = TC_ETH_HLEN + 24, /* target protocol address */
	ARP_MIN_LEN = TC_ETH_HLEN + 28,
	UNKNOWN_FRAME_BYTES = 256,
};

/* writev does not write through iov_base. */
static void *unconst(const void *p)
{
	return (void *)(uintptr_t)p;
}

/* Every frame written to the TAP goes with a virtio header. */
void tc_overlay_tap_out(void *ctx, const struct virtio_net_hdr *h,
			const uint8_t *frame, size_t len)
{
	struct tc_overlay *ov = ctx;
	struct iovec iov[2] = {
	    {unconst(h), TC_OFFLOAD_VNET_LEN},
	    {unconst(frame), len},
	};
	ssize_t n = writev(ov->fd, iov, 2);

	if (n == (ssize_t)(TC_OFFLOAD_VNET_LEN + len))
		return;
	ov->tap_dropped++;
	if (n < 0 && errno == EINVAL &&
	    h->gso_type != VIRTIO_NET_HDR_GSO_NONE && !ov->gro_refused) {
		g_warning("overlay %s: TAP %s refused a joined TCP frame; "
			  "no longer joining segments",
			  ov->name, ov->tap);
		ov->gro_refused = true;
	}
}

void tc_overlay_write_tap(struct tc_overlay *ov, const uint8_t *frame,
			  size_t len)
{
	static const struct virtio_net_hdr none;

	tc_overlay_tap_out(ov, &none, frame, len);
}

/* A frame from a link: joined with the next segments of its TCP flow when
 * it can be; everything pending leaves at the end of the main loop pass. */
static void link_to_tap(struct tc_overlay *ov, const uint8_t *frame, size_t len,
			const struct tc_csum *cs)
{
	struct virtio_net_hdr h;

	if (!ov->gro_refused) {
		tc_gro_frame(ov->gro, frame, len, cs);
		ov->gro_pending = true;
		return;
	}
	tc_csum_vnet_hdr(cs, &h);
	tc_overlay_tap_out(ov, &h, frame, len);
}

/* The flush source carries its overlay. */
struct gro_source {
	GSource base;
	struct tc_overlay *ov;
};

/* Also sends what frames passed on between members left in link batches
 * (overlay_route.c). */
static gboolean gro_ready(GSource *src)
{
	const struct tc_overlay *ov = ((struct gro_source *)src)->ov;

	return ov->gro_pending || ov->links_pending;
}

static gboolean gro_prepare(GSource *src, gint *timeout)
{
	*timeout = -1;
	return gro_ready(src);
}

static gboolean gro_check(GSource *src)
{
	return gro_ready(src);
}

static void flush_links(struct tc_overlay *ov)
{
	GHashTableIter it;
	gpointer l;

	ov->links_pending = false;
	g_hash_table_iter_init(&it, ov->links);
	while (g_hash_table_iter_next(&it, NULL, &l))
		tc_link_flush(l);
}

static gboolean gro_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
	struct tc_overlay *ov = ((struct gro_source *)src)->ov;

	(void)cb;
	(void)data;
	if (ov->links_pending)
		flush_links(ov);
	if (!ov->gro_pending)
		return G_SOURCE_CONTINUE;
	ov->gro_pending = false;
	tc_gro_flush(ov->gro);
	return G_SOURCE_CONTINUE;
}

static GSourceFuncs gro_funcs = {
    .prepare = gro_prepare,
    .check = gro_check,
    .dispatch = gro_dispatch,
};

/* A source that is ready whenever frames wait in gro: libnice delivers the
 * packets of one socket wakeup one callback each, and this runs after them
 * (same priority, attached first: at the start of the next pass, which
 * comes at once because this source is ready). */
GSource *tc_overlay_gro_source_new(struct tc_overlay *ov)
{
	GSource *src = g_source_new(&gro_funcs, sizeof(struct gro_source));

	((struct gro_source *)src)->ov = ov;
	g_source_set_name(src, "tincan gro flush");
	g_source_attach(src, ov->env->ctx);
	return src;
}

static void emit_unknown(struct tc_overlay *ov, const struct tc_frame_info *fi,
			 const uint8_t *frame, size_t len, const uint8_t *v4)
{
	struct tc_event ev = {.kind = TC_EVENT_UNKNOWN_DEST};
	uint64_t now_ms = tc_overlay_now_ms();

	if (now_ms - ov->unknown_window_ms >= 1000) {
		ov->unknown_window_ms = now_ms;
		ov->unknown_in_window = 0;
	}
	if (ov->unknown_in_window++ >= TC_UNKNOWN_DEST_PER_SEC)
		return;
	ev.overlay = ov->name;
	ev.u.unknown.dst_v4 = v4;
	ev.u.unknown.dst_v6 =
	    fi->kind == TC_FRAME_UNICAST_V6 ? fi->dst_v6 : NULL;
	ev.u.unknown.dst_mac = frame;
	ev.u.unknown.frame = frame;
	ev.u.unknown.frame_len = MIN(len, (size_t)UNKNOWN_FRAME_BYTES);
	ov->env->emit(ov->env->node, &ev);
}

static void flood(struct tc_overlay *ov, const uint8_t *frame, size_t len,
		  const struct tc_csum *cs)
{
	GHashTableIter it;
	gpointer l;

	g_hash_table_iter_init(&it, ov->links);
	while (g_hash_table_iter_next(&it, NULL, &l))
		if (tc_link_state(l) == TC_LINK_CONNECTED)
			tc_link_send_frame(l, frame, len, cs);
}

static void answer_arp(struct tc_overlay *ov, const struct tc_frame_info *fi,
		       const uint8_t *frame, size_t len)
{
	uint8_t reply[64];
	int n = tc_arp_answer(frame, len, ov->fwd, reply, sizeof(reply));

	if (n > 0)
		tc_overlay_write_tap(ov, reply, (size_t)n);
	else if (n == 0 && len >= ARP_MIN_LEN)
		emit_unknown(ov, fi, frame, len, frame + ARP_TPA_OFF);
}

static void answer_nd(struct tc_overlay *ov, const uint8_t *frame, size_t len)
{
	uint8_t reply[128];
	int n = tc_nd_answer(frame, len, ov->fwd, reply, sizeof(reply));

	if (n > 0)
		tc_overlay_write_tap(ov, reply, (size_t)n);
}

uint64_t tc_overlay_now_ms(void)
{
	return (uint64_t)g_get_monotonic_time() / 1000;
}

/* Switch mode, from the bridge: learn, then one link or all of them. */
static void switch_from_tap(struct tc_overlay *ov, const uint8_t *frame,
			    size_t len, const struct tc_csum *cs)
{
	const char *to = NULL;
	uint64_t t = tc_overlay_now_ms();
	struct tc_link *l;

	if (len < TC_ETH_HLEN)
		return;
	tc_switch_learn(ov->sw, frame + TC_ETH_ALEN, NULL, t);
	switch (tc_switch_decide(ov->sw, frame, NULL, t, &to)) {
	case TC_SWITCH_UNICAST:
		l = tc_overlay_link(ov, to);
		if (l)
			tc_link_send_frame(l, frame, len, cs);
		break;
	case TC_SWITCH_FLOOD:
		flood(ov, frame, len, cs);
		break;
	default:
		break;
	}
}

/* The mapping a classified unicast IP frame is addressed to, or NULL (not
 * unicast IP, or no mapping). */
static const struct tc_fwd_entry *mapping_of(struct tc_overlay *ov,
					     const struct tc_frame_info *fi)
{
	if (fi->kind == TC_FRAME_UNICAST_V4)
		return tc_fwd_by_v4(ov->fwd, fi->dst_v4);
	if (fi->kind == TC_FRAME_UNICAST_V6)
		return tc_fwd_by_v6(ov->fwd, fi->dst_v6);
	return NULL;
}

/* Switch mode, from a link (untrusted: from peer).  The routers form a
 * full mesh, so a frame from a link only ever goes to the local bridge:
 * never to another link, which would loop or duplicate it. */
static void switch_from_link(struct tc_overlay *ov, struct tc_link *l,
			     uint8_t *frame, size_t len,
			     const struct tc_csum *cs)
{
	const char *to = NULL;
	const char *uid = tc_link_peer_uid(l);
	uint64_t t = tc_overlay_now_ms();

	if (len < TC_ETH_HLEN ||
	    len > ov->cfg.mtu + TC_ETH_HLEN + VLAN_TAG_LEN) {
		ov->malformed++;
		return;
	}
	tc_switch_learn(ov->sw, frame + TC_ETH_ALEN, uid, t);
	if (tc_switch_decide(ov->sw, frame, uid, t, &to) != TC_SWITCH_DROP)
		link_to_tap(ov, frame, len, cs);
}

gboolean tc_overlay_on_expire(gpointer data)
{
	struct tc_overlay *ov = data;

	tc_switch_expire(ov->sw, tc_overlay_now_ms());
	return G_SOURCE_CONTINUE;
}

void tc_overlay_from_tap(struct tc_overlay *ov, const uint8_t *frame,
			 size_t len, const struct tc_csum *cs)
{
	struct tc_frame_info fi;
	const struct tc_fwd_entry *e = NULL;

	if (ov->sw) {
		switch_from_tap(ov, frame, len, cs);
		return;
	}
	tc_frame_classify(frame, len, &fi);
	switch (fi.kind) {
	case TC_FRAME_ARP_REQUEST:
		answer_arp(ov, &fi, frame, len);
		return;
	case TC_FRAME_NEIGH_SOLICIT:
		answer_nd(ov, frame, len);
		return;
	case TC_FRAME_BROADCAST:
		flood(ov, frame, len, cs);
		return;
	case TC_FRAME_UNICAST_V4:
	case TC_FRAME_UNICAST_V6:
		e = mapping_of(ov, &fi);
		break;
	case TC_FRAME_DROP:
	default:
		return;
	}
	if (e)
		tc_overlay_route_send(ov, e->uid, frame, len, cs);
	else
		emit_unknown(ov, &fi, frame, len,
			     fi.kind == TC_FRAME_UNICAST_V4 ? fi.dst_v4 : NULL);
}

/* SocialVPN: the peer's packet comes from its own address and goes to
 * whatever address it gives us; here it comes from its address in our view
 * and goes to our TAP.  IPv6 needs no translation (uid-derived addresses). */
static bool translate(struct tc_overlay *ov, const struct tc_fwd_entry *e,
		      uint8_t *frame, size_t len)
{
	struct tc_xlate x;

	if (!e || !e->has_v4 || !e->has_peer_v4 || !ov->cfg.has_v4)
		return false;
	memcpy(x.src_from, e->peer_v4, 4);
	memcpy(x.src_to, e->v4, 4);
	memcpy(x.dst_to, ov->cfg.v4, 4);
	return tc_xlate_rewrite(frame, len, &x) >= 0;
}

/* untrusted: from peer.  In L3 mode only IP crosses a link; the Ethernet
 * addresses are rewritten so the local kernel sees the peer's synthetic
 * MAC talking to our TAP. */
static void on_link_frame(void *owner, struct tc_link *l, uint8_t *frame,
			  size_t len, const struct tc_csum *cs)
{
	struct tc_overlay *ov = owner;

	if (ov->sw)
		switch_from_link(ov, l, frame, len, cs);
	else
		tc_overlay_deliver(ov, tc_link_peer_uid(l), frame, len, cs);
}

void tc_overlay_deliver(struct tc_overlay *ov, const char *src, uint8_t *frame,
			size_t len, const struct tc_csum *cs)
{
	const struct tc_fwd_entry *e;
	uint16_t type;

	if (len < TC_ETH_HLEN || len > ov->cfg.mtu + TC_ETH_HLEN) {
		ov->malformed++;
		return;
	}
	type = (uint16_t)(frame[12] << 8 | frame[13]);
	if (type != TC_ETHERTYPE_IPV4 && type != TC_ETHERTYPE_IPV6) {
		ov->malformed++;
		return;
	}
	e = tc_fwd_by_uid(ov->fwd, src);
	/* A member sends only as itself (the translator checks SocialVPN's
	 * IPv4 source against the peer's own address below). */
	if (!tc_frame_src_is_peer(frame, len, e, !ov->translation)) {
		ov->malformed++;
		return;
	}
	/* A partial checksum field holds the pseudo-header sum, which the
	 * rewrite's incremental update does not keep: it is set anew. */
	if (ov->translation && type == TC_ETHERTYPE_IPV4 &&
	    (!translate(ov, e, frame, len) ||
	     (cs->start && tc_csum_set_pseudo(frame, len, cs) < 0))) {
		ov->malformed++;
		return;
	}
	if (!tc_mac_is_group(frame))
		memcpy(frame, ov->cfg.mac, TC_ETH_ALEN);
	if (e)
		memcpy(frame + TC_ETH_ALEN, e->mac, TC_ETH_ALEN);
	else
		tc_mac_from_uid(src, frame + TC_ETH_ALEN);
	link_to_tap(ov, frame, len, cs);
}

static void on_link_state(void *owner, struct tc_link *l, enum tc_link_state st)
{
	(void)l;
	(void)st;
	tc_overlay_route_links_changed(owner);
}

const struct tc_link_ops tc_overlay_link_ops = {
    .on_frame = on_link_frame,
    .on_state = on_link_state,
    .on_forward = tc_overlay_on_forward,
};

const struct tc_fwd_entry *
tc_overlay_unicast_dest(struct tc_overlay *ov, const uint8_t *frame, size_t len)
{
	struct tc_frame_info fi;

	tc_frame_classify(frame, len, &fi);
	return mapping_of(ov, &fi);
}

static void from_tap_segment(void *ctx, const uint8_t *frame, size_t len,
			     const struct tc_csum *cs)
{
	tc_overlay_from_tap(ctx, frame, len, cs);
}

/* A TSO frame (len bytes after the virtio header h) cut into segments
 * that fit the MTU.  When every segment would take the same direct link
 * (L3, unicast to a member whose link takes frames now), they are cut
 * straight into it; otherwise each takes a frame's path. */
static void from_tap_tso(struct tc_overlay *ov, struct virtio_net_hdr *h,
			 const uint8_t *frame, size_t len)
{
	size_t seg_max = ov->cfg.mtu + TC_ETH_HLEN + VLAN_TAG_LEN;
	const struct tc_fwd_entry *e = NULL;
	struct tc_gso_cut cut;
	struct tc_link *l = NULL;

	if (!ov->sw) /* looked up once per frame, for both questions */
		e = tc_overlay_unicast_dest(ov, frame, len);
	h->gso_size = tc_overlay_route_gso(ov, e, h->gso_size);
	if (e)
		l = tc_overlay_route_direct(ov, e->uid);
	if (!l) {
		if (tc_gso_segment(h, frame, len, seg_max, from_tap_segment,
				   ov) < 0)
			ov->malformed++;
		return;
	}
	if (tc_gso_begin(&cut, h, frame, len, seg_max) < 0) {
		ov->malformed++;
		return;
	}
	tc_link_send_tso(l, &cut);
}

/* untrusted: from the local kernel (and whatever a bridge forwards to the
 * TAP).  A TSO frame is cut into segments that fit the MTU. */
static void from_tap(struct tc_overlay *ov, size_t n)
{
	const uint8_t *frame = ov->rx + TC_OFFLOAD_VNET_LEN;
	struct virtio_net_hdr h;
	struct tc_csum cs = {0, 0};
	size_t len;

	if (n < TC_OFFLOAD_VNET_LEN)
		return;
	len = n - TC_OFFLOAD_VNET_LEN;
	memcpy(&h, ov->rx, sizeof(h));
	if (h.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		from_tap_tso(ov, &h, frame, len);
		return;
	}
	if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		cs.start = h.csum_start;
		cs.offset = h.csum_offset;
		if (!tc_csum_valid(&cs, len)) {
			ov->malformed++;
			return;
		}
	}
	tc_overlay_from_tap(ov, frame, len, &cs);
}

gboolean tc_overlay_on_tap_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct tc_overlay *ov = data;
	size_t bytes = 0;
	int i;

	if (cond & (G_IO_ERR | G_IO_HUP)) {
		g_critical("overlay %s: TAP %s failed; no longer reading it",
			   ov->name, ov->tap);
		ov->watch = 0;
		return G_SOURCE_REMOVE;
	}
	for (i = 0; i < FRAMES_PER_WAKEUP && bytes < BYTES_PER_WAKEUP; i++) {
		ssize_t n = read(fd, ov->rx, TC_OVERLAY_RX_CAP);
		if (n <= 0)
			break;
		bytes += (size_t)n;
		from_tap(ov, (size_t)n);
	}
	/* Links batch what they were given; send it now. */
	flush_links(ov);
	return G_SOURCE_CONTINUE;
}
