/*
 * Overlays: a TAP device, its forwarding table and its links, and the L3
 * frame logic between them.  This module owns the TAP fd and its watch, the
 * table, the links and the overlay's secret; it does not own the identity or
 * the ICE servers (env) and knows nothing of the control socket except the
 * request messages it validates.
 */
#define G_LOG_DOMAIN "tincan"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <glib-unix.h>
#include <sodium.h>

#include "proto/pbutil.h"
#include "tincan/ether.h"
#include "tincan/fwd.h"
#include "tincan/offload.h"
#include "tincan/overlay.h"
#include "tincan/switch.h"
#include "tincan/tap.h"
#include "tincan/xlate.h"

enum {
	FRAMES_PER_WAKEUP = 64,
	BYTES_PER_WAKEUP = 256 * 1024, /* TSO frames: ~180 segments to seal */
	EXPIRE_EVERY_MS = 10 * 1000,
	VLAN_TAG_LEN = 4,
	ARP_TPA_OFF = TC_ETH_HLEN + 24, /* target protocol address */
	ARP_MIN_LEN = TC_ETH_HLEN + 28,
	UNKNOWN_FRAME_BYTES = 256,
};

struct tc_overlay {
	const struct tc_env *env;
	char name[64];
	char tap[IFNAMSIZ];
	char bridge[IFNAMSIZ]; /* switch mode, or "" */
	int fd;
	guint watch;
	struct tc_tap_config cfg;
	Ipop__OverlayMode mode;
	bool translation;     /* SocialVPN: rewrite IPv4 on receive */
	uint8_t *psk;	      /* sodium_malloc'd, or NULL */
	struct tc_fwd *fwd;   /* L3 mode */
	struct tc_switch *sw; /* switch mode */
	guint expire;	      /* switch mode: MAC ageing timer */
	GHashTable *links;    /* uid -> struct tc_link * */
	uint64_t unknown_window_ms;
	unsigned unknown_in_window;
	uint64_t tap_dropped;
	uint64_t malformed;
	bool offload;	    /* the kernel hands over TSO and partial sums */
	uint8_t *rx;	    /* virtio header + frame read from the TAP */
	struct tc_gro *gro; /* frames from links on their way to the TAP */
	GSource *gro_flush; /* empties gro after each main loop pass */
	bool gro_pending;
	bool gro_refused; /* the kernel refused a joined frame */
};

enum { RX_CAP = TC_OFFLOAD_VNET_LEN + TC_GSO_MAX };

static bool name_ok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > max)
		return false;
	for (; *s; s++)
		if (!g_ascii_isalnum(*s) && !strchr("-_.", *s))
			return false;
	return true;
}

/* Labels end up on operators' terminals: no control characters. */
static bool label_ok(const char *s, size_t max)
{
	size_t n = 0;

	for (; *s; s++, n++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return n <= max;
}

/* Every frame written to the TAP goes with a virtio header. */
static void tap_out(void *ctx, const struct virtio_net_hdr *h,
		    const uint8_t *frame, size_t len)
{
	struct tc_overlay *ov = ctx;
	/* writev does not write through iov_base. */
	struct iovec iov[2] = {
	    {ipop_cbytes(h), TC_OFFLOAD_VNET_LEN},
	    {ipop_cbytes(frame), len},
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

/* A complete frame made here (answers, announcements). */
static void write_tap(struct tc_overlay *ov, const uint8_t *frame, size_t len)
{
	static const struct virtio_net_hdr none;

	tap_out(ov, &none, frame, len);
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
	tap_out(ov, &h, frame, len);
}

/* The flush source carries its overlay. */
struct gro_source {
	GSource base;
	struct tc_overlay *ov;
};

static gboolean gro_prepare(GSource *src, gint *timeout)
{
	*timeout = -1;
	return ((struct gro_source *)src)->ov->gro_pending;
}

static gboolean gro_check(GSource *src)
{
	return ((struct gro_source *)src)->ov->gro_pending;
}

static gboolean gro_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
	struct tc_overlay *ov = ((struct gro_source *)src)->ov;

	(void)cb;
	(void)data;
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
static GSource *gro_source_new(struct tc_overlay *ov)
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
	Ipop__Event ev = IPOP__EVENT__INIT;
	Ipop__UnknownDestinationEvent ud =
	    IPOP__UNKNOWN_DESTINATION_EVENT__INIT;
	char a4[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN];
	uint64_t now_ms = (uint64_t)g_get_monotonic_time() / 1000;

	if (now_ms - ov->unknown_window_ms >= 1000) {
		ov->unknown_window_ms = now_ms;
		ov->unknown_in_window = 0;
	}
	if (ov->unknown_in_window++ >= TC_UNKNOWN_DEST_PER_SEC)
		return;
	ud.overlay = ov->name;
	if (v4) {
		inet_ntop(AF_INET, v4, a4, sizeof(a4));
		ud.dst_ipv4 = a4;
	}
	if (fi->kind == TC_FRAME_UNICAST_V6) {
		inet_ntop(AF_INET6, fi->dst_v6, a6, sizeof(a6));
		ud.dst_ipv6 = a6;
	}
	ud.dst_mac.data = ipop_cbytes(frame);
	ud.dst_mac.len = TC_ETH_ALEN;
	ud.frame.data = ipop_cbytes(frame);
	ud.frame.len = MIN(len, (size_t)UNKNOWN_FRAME_BYTES);
	ev.kind_case = IPOP__EVENT__KIND_UNKNOWN_DESTINATION;
	ev.unknown_destination = &ud;
	ov->env->emit(ov->env->node, &ev);
}

static void send_to(struct tc_overlay *ov, const struct tc_fwd_entry *e,
		    const uint8_t *frame, size_t len, const struct tc_csum *cs)
{
	struct tc_link *l = g_hash_table_lookup(ov->links, e->uid);

	if (l)
		tc_link_send_frame(l, frame, len, cs);
	else
		ov->tap_dropped++;
}

static void flood(struct tc_overlay *ov, const uint8_t *frame, size_t len,
		  const struct tc_csum *cs)
{
	GHashTableIter it;
	gpointer l;

	g_hash_table_iter_init(&it, ov->links);
	while (g_hash_table_iter_next(&it, NULL, &l))
		if (tc_link_state(l) == IPOP__LINK_STATE__CONNECTED)
			tc_link_send_frame(l, frame, len, cs);
}

static void answer_arp(struct tc_overlay *ov, const struct tc_frame_info *fi,
		       const uint8_t *frame, size_t len)
{
	uint8_t reply[64];
	int n = tc_arp_answer(frame, len, ov->fwd, reply, sizeof(reply));

	if (n > 0)
		write_tap(ov, reply, (size_t)n);
	else if (n == 0 && len >= ARP_MIN_LEN)
		emit_unknown(ov, fi, frame, len, frame + ARP_TPA_OFF);
}

static void answer_nd(struct tc_overlay *ov, const uint8_t *frame, size_t len)
{
	uint8_t reply[128];
	int n = tc_nd_answer(frame, len, ov->fwd, reply, sizeof(reply));

	if (n > 0)
		write_tap(ov, reply, (size_t)n);
}

static uint64_t now_ms(void)
{
	return (uint64_t)g_get_monotonic_time() / 1000;
}

/* Switch mode, from the bridge: learn, then one link or all of them. */
static void switch_from_tap(struct tc_overlay *ov, const uint8_t *frame,
			    size_t len, const struct tc_csum *cs)
{
	const char *to = NULL;
	uint64_t t = now_ms();
	struct tc_link *l;

	if (len < TC_ETH_HLEN)
		return;
	tc_switch_learn(ov->sw, frame + TC_ETH_ALEN, NULL, t);
	switch (tc_switch_decide(ov->sw, frame, NULL, t, &to)) {
	case TC_SWITCH_UNICAST:
		l = to ? g_hash_table_lookup(ov->links, to) : NULL;
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

/* Switch mode, from a link (untrusted: from peer).  The routers form a
 * full mesh, so a frame from a link only ever goes to the local bridge:
 * never to another link, which would loop or duplicate it. */
static void switch_from_link(struct tc_overlay *ov, struct tc_link *l,
			     uint8_t *frame, size_t len,
			     const struct tc_csum *cs)
{
	const char *to = NULL;
	const char *uid = tc_link_peer_uid(l);
	uint64_t t = now_ms();

	if (len < TC_ETH_HLEN ||
	    len > ov->cfg.mtu + TC_ETH_HLEN + VLAN_TAG_LEN) {
		ov->malformed++;
		return;
	}
	tc_switch_learn(ov->sw, frame + TC_ETH_ALEN, uid, t);
	if (tc_switch_decide(ov->sw, frame, uid, t, &to) != TC_SWITCH_DROP)
		link_to_tap(ov, frame, len, cs);
}

static gboolean on_expire(gpointer data)
{
	struct tc_overlay *ov = data;

	tc_switch_expire(ov->sw, now_ms());
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
		e = tc_fwd_by_v4(ov->fwd, fi.dst_v4);
		break;
	case TC_FRAME_UNICAST_V6:
		e = tc_fwd_by_v6(ov->fwd, fi.dst_v6);
		break;
	case TC_FRAME_DROP:
	default:
		return;
	}
	if (e)
		send_to(ov, e, frame, len, cs);
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
	const struct tc_fwd_entry *e;
	uint16_t type;

	if (ov->sw) {
		switch_from_link(ov, l, frame, len, cs);
		return;
	}
	if (len < TC_ETH_HLEN || len > ov->cfg.mtu + TC_ETH_HLEN) {
		ov->malformed++;
		return;
	}
	type = (uint16_t)(frame[12] << 8 | frame[13]);
	if (type != TC_ETHERTYPE_IPV4 && type != TC_ETHERTYPE_IPV6) {
		ov->malformed++;
		return;
	}
	e = tc_fwd_by_uid(ov->fwd, tc_link_peer_uid(l));
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
		tc_mac_from_uid(tc_link_peer_uid(l), frame + TC_ETH_ALEN);
	link_to_tap(ov, frame, len, cs);
}

static const struct tc_link_ops link_ops = {
    .on_frame = on_link_frame,
    .on_state = NULL,
};

static void from_tap_segment(void *ctx, const uint8_t *frame, size_t len,
			     const struct tc_csum *cs)
{
	tc_overlay_from_tap(ctx, frame, len, cs);
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
		if (tc_gso_segment(&h, frame, len,
				   ov->cfg.mtu + TC_ETH_HLEN + VLAN_TAG_LEN,
				   from_tap_segment, ov) < 0)
			ov->malformed++;
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

static gboolean on_tap_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct tc_overlay *ov = data;
	GHashTableIter it;
	size_t bytes = 0;
	gpointer l;
	int i;

	if (cond & (G_IO_ERR | G_IO_HUP)) {
		g_critical("overlay %s: TAP %s failed; no longer reading it",
			   ov->name, ov->tap);
		ov->watch = 0;
		return G_SOURCE_REMOVE;
	}
	for (i = 0; i < FRAMES_PER_WAKEUP && bytes < BYTES_PER_WAKEUP; i++) {
		ssize_t n = read(fd, ov->rx, RX_CAP);
		if (n <= 0)
			break;
		bytes += (size_t)n;
		from_tap(ov, (size_t)n);
	}
	/* Links batch what they were given; send it now. */
	g_hash_table_iter_init(&it, ov->links);
	while (g_hash_table_iter_next(&it, NULL, &l))
		tc_link_flush(l);
	return G_SOURCE_CONTINUE;
}

static bool parse_addr(int af, const char *s, unsigned prefix, uint8_t *out,
		       unsigned max_prefix)
{
	return s && *s && prefix >= 1 && prefix <= max_prefix &&
	       inet_pton(af, s, out) == 1;
}

#define FAIL(st, ...)                                                          \
	do {                                                                   \
		*status = (st);                                                \
		g_snprintf(why, why_len, __VA_ARGS__);                         \
		return false;                                                  \
	} while (0)

static bool validate(const Ipop__CreateOverlay *r, struct tc_tap_config *c,
		     Ipop__Status *status, char *why, size_t why_len)
{
	if (!name_ok(r->name, 32))
		FAIL(IPOP__STATUS__BAD_REQUEST, "overlay name must be 1-32 "
						"characters of [A-Za-z0-9._-]");
	if (!name_ok(r->tap_name, IFNAMSIZ - 1))
		FAIL(IPOP__STATUS__BAD_REQUEST,
		     "tap name must be 1-%d "
		     "characters of [A-Za-z0-9._-]",
		     IFNAMSIZ - 1);
	if (r->mode != IPOP__OVERLAY_MODE__L3 &&
	    r->mode != IPOP__OVERLAY_MODE__SWITCH &&
	    r->mode != IPOP__OVERLAY_MODE__MODE_UNSPECIFIED)
		FAIL(IPOP__STATUS__BAD_REQUEST, "unknown mode");
	if (r->translation && r->mode == IPOP__OVERLAY_MODE__SWITCH)
		FAIL(IPOP__STATUS__BAD_REQUEST, "translation needs L3 mode");
	if (r->bridge && *r->bridge &&
	    (r->mode != IPOP__OVERLAY_MODE__SWITCH ||
	     !name_ok(r->bridge, IFNAMSIZ - 1)))
		FAIL(IPOP__STATUS__BAD_REQUEST,
		     "bridge needs switch mode and "
		     "a name of 1-%d characters of [A-Za-z0-9._-]",
		     IFNAMSIZ - 1);
	if (r->translation && !(r->ipv4 && *r->ipv4))
		FAIL(IPOP__STATUS__BAD_REQUEST, "translation needs an IPv4 "
						"address");
	c->mtu = r->mtu ? r->mtu : TC_MTU_DEFAULT;
	if (c->mtu < TC_MTU_MIN || c->mtu > TC_MTU_MAX)
		FAIL(IPOP__STATUS__BAD_REQUEST, "mtu must be %d-%d", TC_MTU_MIN,
		     TC_MTU_MAX);
	if (r->ipv4 && *r->ipv4) {
		if (!parse_addr(AF_INET, r->ipv4, r->ipv4_prefix, c->v4, 32))
			FAIL(IPOP__STATUS__BAD_REQUEST,
			     "bad IPv4 address "
			     "or prefix '%s/%u'",
			     r->ipv4, r->ipv4_prefix);
		c->has_v4 = true;
		c->v4_prefix = r->ipv4_prefix;
	}
	if (r->ipv6 && *r->ipv6) {
		if (!parse_addr(AF_INET6, r->ipv6, r->ipv6_prefix, c->v6, 128))
			FAIL(IPOP__STATUS__BAD_REQUEST,
			     "bad IPv6 address "
			     "or prefix '%s/%u'",
			     r->ipv6, r->ipv6_prefix);
		c->has_v6 = true;
		c->v6_prefix = r->ipv6_prefix;
	}
	if (r->psk.len != 0 && r->psk.len != 32)
		FAIL(IPOP__STATUS__BAD_REQUEST, "psk must be 32 bytes");
	return true;
}

struct tc_overlay *tc_overlay_new(const struct tc_env *env,
				  const Ipop__CreateOverlay *req,
				  Ipop__Status *status, char *why,
				  size_t why_len)
{
	struct tc_overlay *ov = g_new0(struct tc_overlay, 1);
	int r;

	ov->fd = -1;
	ov->env = env;
	if (!validate(req, &ov->cfg, status, why, why_len))
		goto err;
	g_strlcpy(ov->name, req->name, sizeof(ov->name));
	ov->mode = req->mode == IPOP__OVERLAY_MODE__SWITCH
		       ? IPOP__OVERLAY_MODE__SWITCH
		       : IPOP__OVERLAY_MODE__L3;
	ov->translation = req->translation;
	tc_mac_from_uid(env->id->uid, ov->cfg.mac);
	if (req->psk.len == 32) {
		ov->psk = sodium_malloc(32);
		memcpy(ov->psk, req->psk.data, 32);
	}
	ov->fd = tc_tap_open(req->tap_name, ov->tap, true);
	if (ov->fd < 0 || (r = tc_tap_configure(ov->tap, &ov->cfg)) < 0) {
		*status = IPOP__STATUS__INTERNAL;
		g_snprintf(why, why_len, "cannot set up TAP %s: %s",
			   req->tap_name,
			   g_strerror(ov->fd < 0 ? -ov->fd : -r));
		goto err;
	}
	if (req->bridge && *req->bridge) {
		r = tc_tap_attach_bridge(ov->tap, req->bridge);
		if (r < 0) {
			*status = IPOP__STATUS__INTERNAL;
			g_snprintf(why, why_len,
				   "cannot attach %s to bridge "
				   "%s: %s",
				   ov->tap, req->bridge, g_strerror(-r));
			goto err;
		}
		g_strlcpy(ov->bridge, req->bridge, sizeof(ov->bridge));
	}
	r = tc_tap_set_offload(ov->fd);
	ov->offload = r == 0;
	if (r < 0)
		g_message("overlay %s: TAP %s without offloads (%s): one "
			  "frame per read, checksums made by the kernel",
			  ov->name, ov->tap, g_strerror(-r));
	ov->rx = g_malloc(RX_CAP);
	ov->gro = tc_gro_new(tap_out, ov);
	ov->gro_flush = gro_source_new(ov);
	ov->fwd = tc_fwd_new();
	if (ov->mode == IPOP__OVERLAY_MODE__SWITCH) {
		ov->sw = tc_switch_new();
		ov->expire = g_timeout_add(EXPIRE_EVERY_MS, on_expire, ov);
	}
	ov->links = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					  (GDestroyNotify)tc_link_free);
	ov->watch = g_unix_fd_add(ov->fd, G_IO_IN | G_IO_ERR | G_IO_HUP,
				  on_tap_readable, ov);
	g_message("overlay %s: TAP %s up, %s%s, mtu %u%s", ov->name, ov->tap,
		  ov->sw ? "switch mode" : "L3 mode",
		  ov->translation ? " with translation" : "", ov->cfg.mtu,
		  ov->offload ? ", TSO and checksum offload" : "");
	return ov;
err:
	tc_overlay_free(ov);
	return NULL;
}

void tc_overlay_free(struct tc_overlay *ov)
{
	if (!ov)
		return;
	if (ov->watch)
		g_source_remove(ov->watch);
	if (ov->expire)
		g_source_remove(ov->expire);
	if (ov->links)
		g_hash_table_destroy(ov->links);
	if (ov->gro_flush) {
		g_source_destroy(ov->gro_flush);
		g_source_unref(ov->gro_flush);
	}
	tc_gro_free(ov->gro);
	g_free(ov->rx);
	tc_fwd_free(ov->fwd);
	tc_switch_free(ov->sw);
	if (ov->fd >= 0)
		close(ov->fd);
	sodium_free(ov->psk);
	g_free(ov);
}

const char *tc_overlay_name(const struct tc_overlay *ov)
{
	return ov->name;
}

const char *tc_overlay_tap(const struct tc_overlay *ov)
{
	return ov->tap;
}

struct tc_link *tc_overlay_link(struct tc_overlay *ov, const char *uid)
{
	return uid ? g_hash_table_lookup(ov->links, uid) : NULL;
}

#undef FAIL
#define FAIL(st, ...)                                                          \
	do {                                                                   \
		g_snprintf(why, why_len, __VA_ARGS__);                         \
		return (st);                                                   \
	} while (0)

Ipop__Status tc_overlay_create_link(struct tc_overlay *ov,
				    const Ipop__CreateLink *req, char *why,
				    size_t why_len)
{
	struct tc_link *l;

	if (!req->peer_uid || !ipop_uid_is_valid(req->peer_uid))
		FAIL(IPOP__STATUS__BAD_REQUEST,
		     "peer_uid must be 40 hex digits");
	if (req->peer_public_key.len != 32)
		FAIL(IPOP__STATUS__BAD_REQUEST,
		     "peer_public_key must be 32 bytes");
	{
		char uid[IPOP_UID_SIZE];
		ipop_uid_from_key(req->peer_public_key.data, uid);
		if (strcmp(uid, req->peer_uid))
			FAIL(IPOP__STATUS__BAD_REQUEST,
			     "peer_uid does not match peer_public_key");
	}
	if (!strcmp(req->peer_uid, ov->env->id->uid))
		FAIL(IPOP__STATUS__BAD_REQUEST, "cannot link to myself");
	if (g_hash_table_contains(ov->links, req->peer_uid))
		FAIL(IPOP__STATUS__EXISTS, "link to %s exists", req->peer_uid);
	l = tc_link_new(ov->env, ov->name, req->peer_uid,
			req->peer_public_key.data, ov->psk, &link_ops, ov);
	if (!l)
		FAIL(IPOP__STATUS__INTERNAL, "cannot create link (see log)");
	g_hash_table_insert(ov->links, g_strdup(req->peer_uid), l);
	return IPOP__STATUS__OK;
}

Ipop__Status tc_overlay_remove_link(struct tc_overlay *ov, const char *uid,
				    char *why, size_t why_len)
{
	if (!uid || !g_hash_table_remove(ov->links, uid))
		FAIL(IPOP__STATUS__NOT_FOUND, "no link to %s", uid ? uid : "");
	if (ov->sw)
		tc_switch_forget_port(ov->sw, uid);
	g_message("overlay %s: link to %.12s removed", ov->name, uid);
	return IPOP__STATUS__OK;
}

Ipop__Status tc_overlay_add_remote(struct tc_overlay *ov,
				   const Ipop__AddRemoteCandidates *req,
				   char *why, size_t why_len)
{
	struct tc_link *l = tc_overlay_link(ov, req->peer_uid);
	int r;

	if (!l)
		FAIL(IPOP__STATUS__NOT_FOUND, "no link to %s",
		     req->peer_uid ? req->peer_uid : "");
	if (!req->remote)
		FAIL(IPOP__STATUS__BAD_REQUEST, "remote credentials missing");
	r = tc_link_add_remote(l, req->remote);
	if (r == -EALREADY)
		FAIL(IPOP__STATUS__EXISTS, "link already has other remote "
					   "credentials");
	if (r < 0)
		FAIL(IPOP__STATUS__BAD_REQUEST, "no usable remote candidates "
						"or bad credentials");
	return IPOP__STATUS__OK;
}

/* Lets a neighbour entry the kernel gave up on before the mapping existed
 * recover now rather than after its retransmit timer. */
static void announce(struct tc_overlay *ov, const struct tc_fwd_entry *e)
{
	uint8_t frame[64];
	int n;

	if (!e->has_v4 || !ov->cfg.has_v4)
		return;
	n = tc_arp_announce(e, ov->cfg.mac, ov->cfg.v4, frame, sizeof(frame));
	if (n > 0)
		write_tap(ov, frame, (size_t)n);
}

Ipop__Status tc_overlay_map_peer(struct tc_overlay *ov,
				 const Ipop__MapPeer *req, char *why,
				 size_t why_len)
{
	struct tc_fwd_entry e = {0};

	if (!req->peer_uid || !ipop_uid_is_valid(req->peer_uid))
		FAIL(IPOP__STATUS__BAD_REQUEST,
		     "peer_uid must be 40 hex digits");
	if (req->remove) {
		if (tc_fwd_unmap(ov->fwd, req->peer_uid) < 0)
			FAIL(IPOP__STATUS__NOT_FOUND, "no mapping for %s",
			     req->peer_uid);
		return IPOP__STATUS__OK;
	}
	g_strlcpy(e.uid, req->peer_uid, sizeof(e.uid));
	if (req->ipv4 && *req->ipv4) {
		if (inet_pton(AF_INET, req->ipv4, e.v4) != 1)
			FAIL(IPOP__STATUS__BAD_REQUEST, "bad IPv4 '%s'",
			     req->ipv4);
		e.has_v4 = true;
	}
	if (req->ipv6 && *req->ipv6) {
		if (inet_pton(AF_INET6, req->ipv6, e.v6) != 1)
			FAIL(IPOP__STATUS__BAD_REQUEST, "bad IPv6 '%s'",
			     req->ipv6);
		e.has_v6 = true;
	}
	if (!e.has_v4 && !e.has_v6)
		FAIL(IPOP__STATUS__BAD_REQUEST, "map needs ipv4 or ipv6");
	if (req->peer_ipv4 && *req->peer_ipv4) {
		if (inet_pton(AF_INET, req->peer_ipv4, e.peer_v4) != 1)
			FAIL(IPOP__STATUS__BAD_REQUEST, "bad peer IPv4 '%s'",
			     req->peer_ipv4);
		e.has_peer_v4 = true;
	}
	if (req->label && !label_ok(req->label, sizeof(e.label) - 1))
		FAIL(IPOP__STATUS__BAD_REQUEST,
		     "label must be at most %zu "
		     "printable characters",
		     sizeof(e.label) - 1);
	if (req->label)
		g_strlcpy(e.label, req->label, sizeof(e.label));
	if (ov->translation && e.has_v4 && !e.has_peer_v4)
		FAIL(IPOP__STATUS__BAD_REQUEST, "translation needs peer_ipv4");
	if (req->mac.len == TC_ETH_ALEN)
		memcpy(e.mac, req->mac.data, TC_ETH_ALEN);
	else if (req->mac.len == 0)
		tc_mac_from_uid(req->peer_uid, e.mac);
	else
		FAIL(IPOP__STATUS__BAD_REQUEST, "mac must be 6 bytes");
	switch (tc_fwd_map(ov->fwd, &e)) {
	case 0:
		announce(ov, &e);
		return IPOP__STATUS__OK;
	case -EEXIST:
		FAIL(IPOP__STATUS__EXISTS,
		     "address or MAC mapped to another peer");
	default:
		FAIL(IPOP__STATUS__BAD_REQUEST, "invalid mapping");
	}
}

static char *ntop(int af, const void *a)
{
	char buf[INET6_ADDRSTRLEN];

	return g_strdup(inet_ntop(af, a, buf, sizeof(buf)));
}

static void add_mapping(const struct tc_fwd_entry *e, void *ctx)
{
	Ipop__OverlayInfo *info = ctx;
	Ipop__PeerMapping *m = g_new0(Ipop__PeerMapping, 1);

	ipop__peer_mapping__init(m);
	m->peer_uid = g_strdup(e->uid);
	m->ipv4 = e->has_v4 ? ntop(AF_INET, e->v4) : g_strdup("");
	m->ipv6 = e->has_v6 ? ntop(AF_INET6, e->v6) : g_strdup("");
	m->mac.data = g_memdup2(e->mac, TC_ETH_ALEN);
	m->mac.len = TC_ETH_ALEN;
	m->peer_ipv4 =
	    e->has_peer_v4 ? ntop(AF_INET, e->peer_v4) : g_strdup("");
	m->label = g_strdup(e->label);
	info->mappings[info->n_mappings++] = m;
}

static void add_mac(const uint8_t mac[6], const char *uid, uint64_t age_ms,
		    void *ctx)
{
	Ipop__OverlayInfo *info = ctx;
	Ipop__MacEntry *m = g_new0(Ipop__MacEntry, 1);

	ipop__mac_entry__init(m);
	m->mac.data = g_memdup2(mac, TC_ETH_ALEN);
	m->mac.len = TC_ETH_ALEN;
	m->peer_uid = g_strdup(uid ? uid : "");
	m->age_ms = (uint32_t)MIN(age_ms, (uint64_t)UINT32_MAX);
	info->mac_table[info->n_mac_table++] = m;
}

void tc_overlay_fill_info(const struct tc_overlay *ov, Ipop__OverlayInfo *info)
{
	GHashTableIter it;
	gpointer l;

	ipop__overlay_info__init(info);
	info->name = g_strdup(ov->name);
	info->tap_name = g_strdup(ov->tap);
	info->mode = ov->mode;
	info->bridge = g_strdup(ov->bridge);
	info->translation = ov->translation;
	info->dropped_malformed = ov->malformed;
	info->dropped_tap = ov->tap_dropped;
	info->offload = ov->offload;
	tc_gro_counts(ov->gro, &info->joined_frames, &info->joined_segments);
	info->ipv4 = ov->cfg.has_v4 ? ntop(AF_INET, ov->cfg.v4) : g_strdup("");
	info->ipv4_prefix = ov->cfg.v4_prefix;
	info->ipv6 = ov->cfg.has_v6 ? ntop(AF_INET6, ov->cfg.v6) : g_strdup("");
	info->ipv6_prefix = ov->cfg.v6_prefix;
	info->mtu = ov->cfg.mtu;
	info->tap_mac.data = g_memdup2(ov->cfg.mac, TC_ETH_ALEN);
	info->tap_mac.len = TC_ETH_ALEN;
	info->has_psk = ov->psk != NULL;
	info->mappings = g_new0(Ipop__PeerMapping *, tc_fwd_count(ov->fwd) + 1);
	tc_fwd_foreach(ov->fwd, add_mapping, info);
	if (ov->sw) {
		info->mac_table =
		    g_new0(Ipop__MacEntry *, tc_switch_count(ov->sw) + 1);
		tc_switch_foreach(ov->sw, now_ms(), add_mac, info);
	}
	info->links =
	    g_new0(Ipop__LinkInfo *, g_hash_table_size(ov->links) + 1);
	g_hash_table_iter_init(&it, ov->links);
	while (g_hash_table_iter_next(&it, NULL, &l)) {
		Ipop__LinkInfo *li = g_new0(Ipop__LinkInfo, 1);
		tc_link_fill_info(l, li);
		info->links[info->n_links++] = li;
	}
}

void tc_overlay_info_clear(Ipop__OverlayInfo *info)
{
	size_t i;

	for (i = 0; i < info->n_mappings; i++) {
		g_free(info->mappings[i]->peer_uid);
		g_free(info->mappings[i]->ipv4);
		g_free(info->mappings[i]->ipv6);
		g_free(info->mappings[i]->mac.data);
		g_free(info->mappings[i]->peer_ipv4);
		g_free(info->mappings[i]->label);
		g_free(info->mappings[i]);
	}
	for (i = 0; i < info->n_links; i++) {
		tc_link_info_clear(info->links[i]);
		g_free(info->links[i]);
	}
	for (i = 0; i < info->n_mac_table; i++) {
		g_free(info->mac_table[i]->mac.data);
		g_free(info->mac_table[i]->peer_uid);
		g_free(info->mac_table[i]);
	}
	g_free(info->mac_table);
	g_free(info->mappings);
	g_free(info->links);
	g_free(info->name);
	g_free(info->tap_name);
	g_free(info->ipv4);
	g_free(info->ipv6);
	g_free(info->tap_mac.data);
	g_free(info->bridge);
	ipop__overlay_info__init(info);
}
