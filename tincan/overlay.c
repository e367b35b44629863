/*
 * Overlays: life and control requests.  Creating an overlay validates its
 * configuration, opens and configures the TAP (attaching it to a bridge in
 * switch mode) and sets up the table, the links and the watches; the
 * requests add and remove links, hand them remote candidates and map peers;
 * GetState reads the overlay back.  This module owns the TAP fd and its
 * watch, the table, the links and the overlay's secret; it does not own
 * the identity or the ICE servers (env).  It speaks tincan's own request
 * structs and -errno; the packet path is overlay_path.c.
 */
#define G_LOG_DOMAIN "tincan"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>
#include <sodium.h>

#include "common/names.h"
#include "common/uid.h"
#include "tincan/ether.h"
#include "tincan/overlay_int.h"

static bool has(const char *s)
{
	return s && *s;
}

static bool parse_addr(int af, const char *s, unsigned prefix, uint8_t *out,
		       unsigned max_prefix)
{
	return has(s) && prefix >= 1 && prefix <= max_prefix &&
	       inet_pton(af, s, out) == 1;
}

/* Fills why and returns err from the function using it. */
#define FAIL(err, ...)                                                         \
	do {                                                                   \
		g_snprintf(why, why_len, __VA_ARGS__);                         \
		return (err);                                                  \
	} while (0)

static int validate_names(const struct tc_overlay_req *r, char *why,
			  size_t why_len)
{
	if (!ipop_overlay_name_is_valid(r->name))
		FAIL(-EINVAL, "overlay name must be " IPOP_NAME_RULE);
	if (!ipop_ifname_is_valid(r->tap_name))
		FAIL(-EINVAL, "tap name must be " IPOP_IFNAME_RULE);
	if (r->mode == TC_OVERLAY_MODE_UNKNOWN)
		FAIL(-EINVAL, "unknown mode");
	if (r->translation && r->mode == TC_OVERLAY_SWITCH)
		FAIL(-EINVAL, "translation needs L3 mode");
	if (has(r->bridge) &&
	    (r->mode != TC_OVERLAY_SWITCH || !ipop_ifname_is_valid(r->bridge)))
		FAIL(
		    -EINVAL,
		    "bridge needs switch mode and a name of " IPOP_IFNAME_RULE);
	if (r->translation && !has(r->ipv4))
		FAIL(-EINVAL, "translation needs an IPv4 address");
	return 0;
}

static int validate(const struct tc_overlay_req *r, struct tc_tap_config *c,
		    char *why, size_t why_len)
{
	int err = validate_names(r, why, why_len);

	if (err < 0)
		return err;
	c->mtu = r->mtu ? r->mtu : IPOP_MTU_DEFAULT;
	if (c->mtu < IPOP_MTU_MIN || c->mtu > IPOP_MTU_MAX)
		FAIL(-EINVAL, "mtu must be %d-%d", IPOP_MTU_MIN, IPOP_MTU_MAX);
	if (has(r->ipv4)) {
		if (!parse_addr(AF_INET, r->ipv4, r->ipv4_prefix, c->v4, 32))
			FAIL(-EINVAL, "bad IPv4 address or prefix '%s/%u'",
			     r->ipv4, r->ipv4_prefix);
		c->has_v4 = true;
		c->v4_prefix = r->ipv4_prefix;
	}
	if (has(r->ipv6)) {
		if (!parse_addr(AF_INET6, r->ipv6, r->ipv6_prefix, c->v6, 128))
			FAIL(-EINVAL, "bad IPv6 address or prefix '%s/%u'",
			     r->ipv6, r->ipv6_prefix);
		c->has_v6 = true;
		c->v6_prefix = r->ipv6_prefix;
	}
	if (r->psk_len != 0 && r->psk_len != IPOP_PSK_LEN)
		FAIL(-EINVAL, "psk must be 32 bytes");
	return 0;
}

/* The TAP, its addresses and its bridge.  Failures here are the system's
 * (-EIO), the kernel's reason goes into why. */
static int open_tap(struct tc_overlay *ov, const struct tc_overlay_req *req,
		    char *why, size_t why_len)
{
	int r = 0;

	ov->fd = tc_tap_open(req->tap_name, ov->tap, true);
	if (ov->fd < 0 || (r = tc_tap_configure(ov->tap, &ov->cfg)) < 0)
		FAIL(-EIO, "cannot set up TAP %s: %s", req->tap_name,
		     g_strerror(ov->fd < 0 ? -ov->fd : -r));
	if (has(req->bridge)) {
		r = tc_tap_attach_bridge(ov->tap, req->bridge);
		if (r < 0)
			FAIL(-EIO, "cannot attach %s to bridge %s: %s", ov->tap,
			     req->bridge, g_strerror(-r));
		g_strlcpy(ov->bridge, req->bridge, sizeof(ov->bridge));
	}
	r = tc_tap_set_offload(ov->fd);
	ov->offload = r == 0;
	if (r < 0)
		g_message("overlay %s: TAP %s without offloads (%s): one "
			  "frame per read, checksums made by the kernel",
			  ov->name, ov->tap, g_strerror(-r));
	return 0;
}

/* Table, links, the GRO flush and the watches: nothing here fails. */
static void start(struct tc_overlay *ov)
{
	ov->rx = g_malloc(TC_OVERLAY_RX_CAP);
	ov->gro = tc_gro_new(tc_overlay_tap_out, ov);
	ov->gro_flush = tc_overlay_gro_source_new(ov);
	ov->fwd = tc_fwd_new();
	if (ov->mode == TC_OVERLAY_SWITCH) {
		ov->sw = tc_switch_new();
		ov->expire = g_timeout_add(TC_OVERLAY_EXPIRE_MS,
					   tc_overlay_on_expire, ov);
	}
	ov->links = g_hash_table_new_full(ipop_uid_hash, g_str_equal, g_free,
					  (GDestroyNotify)tc_link_free);
	ov->watch = g_unix_fd_add(ov->fd, G_IO_IN | G_IO_ERR | G_IO_HUP,
				  tc_overlay_on_tap_readable, ov);
	tc_overlay_route_start(ov);
}

struct tc_overlay *tc_overlay_new(const struct tc_env *env,
				  const struct tc_overlay_req *req, int *err,
				  char *why, size_t why_len)
{
	struct tc_overlay *ov = g_new0(struct tc_overlay, 1);

	ov->fd = -1;
	ov->env = env;
	*err = validate(req, &ov->cfg, why, why_len);
	if (*err < 0)
		goto err;
	g_strlcpy(ov->name, req->name, sizeof(ov->name));
	ov->mode =
	    req->mode == TC_OVERLAY_SWITCH ? TC_OVERLAY_SWITCH : TC_OVERLAY_L3;
	ov->translation = req->translation;
	ov->ondemand_bps = req->ondemand_bytes_per_s;
	ov->ondemand_idle_ms = req->ondemand_idle_ms;
	tc_mac_from_uid(env->id->uid, ov->cfg.mac);
	if (req->psk_len == IPOP_PSK_LEN) {
		ov->psk = sodium_malloc(IPOP_PSK_LEN);
		memcpy(ov->psk, req->psk, IPOP_PSK_LEN);
	}
	*err = open_tap(ov, req, why, why_len);
	if (*err < 0)
		goto err;
	start(ov);
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
	tc_overlay_route_stop(ov);
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

struct tc_link *tc_overlay_link(const struct tc_overlay *ov, const char *uid)
{
	return uid ? g_hash_table_lookup(ov->links, uid) : NULL;
}

int tc_overlay_create_link(struct tc_overlay *ov, const struct tc_link_req *req,
			   char *why, size_t why_len)
{
	char uid[IPOP_UID_SIZE];
	struct tc_link *l;

	if (!req->peer_uid || !ipop_uid_is_valid(req->peer_uid))
		FAIL(-EINVAL, "peer_uid must be 40 hex digits");
	if (req->peer_pub_len != IPOP_KEY_LEN)
		FAIL(-EINVAL, "peer_public_key must be 32 bytes");
	ipop_uid_from_key(req->peer_pub, uid);
	if (strcmp(uid, req->peer_uid))
		FAIL(-EINVAL, "peer_uid does not match peer_public_key");
	if (!strcmp(req->peer_uid, ov->env->id->uid))
		FAIL(-EINVAL, "cannot link to myself");
	if (g_hash_table_contains(ov->links, req->peer_uid))
		FAIL(-EEXIST, "link to %s exists", req->peer_uid);
	l = tc_link_new(ov->env, ov->name, req->peer_uid, req->peer_pub,
			ov->psk, &tc_overlay_link_ops, ov);
	if (!l)
		FAIL(-EIO, "cannot create link (see log)");
	tc_link_set_kind(l, req->kind);
	g_hash_table_insert(ov->links, g_strdup(req->peer_uid), l);
	return 0;
}

int tc_overlay_remove_link(struct tc_overlay *ov, const char *uid, char *why,
			   size_t why_len)
{
	if (!uid || !g_hash_table_remove(ov->links, uid))
		FAIL(-ENOENT, "no link to %s", uid ? uid : "");
	if (ov->sw)
		tc_switch_forget_port(ov->sw, uid);
	tc_overlay_route_links_changed(ov);
	g_message("overlay %s: link to %.12s removed", ov->name, uid);
	return 0;
}

int tc_overlay_add_remote(struct tc_overlay *ov, const char *uid,
			  const struct tc_ice_creds *remote, char *why,
			  size_t why_len)
{
	struct tc_link *l = tc_overlay_link(ov, uid);
	int r;

	if (!l)
		FAIL(-ENOENT, "no link to %s", uid ? uid : "");
	if (!remote)
		FAIL(-EINVAL, "remote credentials missing");
	r = tc_link_add_remote(l, remote);
	if (r == -EALREADY)
		FAIL(-EEXIST, "link already has other remote credentials");
	if (r < 0)
		FAIL(-EINVAL, "no usable remote candidates or bad credentials");
	return 0;
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
		tc_overlay_write_tap(ov, frame, (size_t)n);
}

/* The addresses of a mapping, in the order their refusals are checked. */
static int map_addresses(const struct tc_map_req *req, struct tc_fwd_entry *e,
			 char *why, size_t why_len)
{
	if (has(req->ipv4)) {
		if (inet_pton(AF_INET, req->ipv4, e->v4) != 1)
			FAIL(-EINVAL, "bad IPv4 '%s'", req->ipv4);
		e->has_v4 = true;
	}
	if (has(req->ipv6)) {
		if (inet_pton(AF_INET6, req->ipv6, e->v6) != 1)
			FAIL(-EINVAL, "bad IPv6 '%s'", req->ipv6);
		e->has_v6 = true;
	}
	if (!e->has_v4 && !e->has_v6)
		FAIL(-EINVAL, "map needs ipv4 or ipv6");
	if (has(req->peer_ipv4)) {
		if (inet_pton(AF_INET, req->peer_ipv4, e->peer_v4) != 1)
			FAIL(-EINVAL, "bad peer IPv4 '%s'", req->peer_ipv4);
		e->has_peer_v4 = true;
	}
	return 0;
}

static int map_entry(const struct tc_overlay *ov, const struct tc_map_req *req,
		     struct tc_fwd_entry *e, char *why, size_t why_len)
{
	int err;

	g_strlcpy(e->uid, req->peer_uid, sizeof(e->uid));
	err = map_addresses(req, e, why, why_len);
	if (err < 0)
		return err;
	if (!ipop_label_is_valid(req->label))
		FAIL(-EINVAL, "label must be at most %d printable characters",
		     IPOP_LABEL_MAX);
	if (req->label)
		g_strlcpy(e->label, req->label, sizeof(e->label));
	if (ov->translation && e->has_v4 && !e->has_peer_v4)
		FAIL(-EINVAL, "translation needs peer_ipv4");
	if (req->mac_len == TC_ETH_ALEN)
		memcpy(e->mac, req->mac, TC_ETH_ALEN);
	else if (req->mac_len == 0)
		tc_mac_from_uid(req->peer_uid, e->mac);
	else
		FAIL(-EINVAL, "mac must be 6 bytes");
	return 0;
}

int tc_overlay_map_peer(struct tc_overlay *ov, const struct tc_map_req *req,
			char *why, size_t why_len)
{
	struct tc_fwd_entry e = {0};
	int err;

	if (!req->peer_uid || !ipop_uid_is_valid(req->peer_uid))
		FAIL(-EINVAL, "peer_uid must be 40 hex digits");
	if (req->remove) {
		if (tc_fwd_unmap(ov->fwd, req->peer_uid) < 0)
			FAIL(-ENOENT, "no mapping for %s", req->peer_uid);
		if (ov->route)
			tc_route_forget(ov->route, req->peer_uid);
		return 0;
	}
	err = map_entry(ov, req, &e, why, why_len);
	if (err < 0)
		return err;
	switch (tc_fwd_map(ov->fwd, &e)) {
	case 0:
		announce(ov, &e);
		return 0;
	case -EEXIST:
		FAIL(-EEXIST, "address or MAC mapped to another peer");
	default:
		FAIL(-EINVAL, "invalid mapping");
	}
}

#undef FAIL

void tc_overlay_get_info(const struct tc_overlay *ov,
			 struct tc_overlay_info *info)
{
	memset(info, 0, sizeof(*info));
	info->name = ov->name;
	info->tap = ov->tap;
	info->bridge = ov->bridge;
	info->mode = ov->mode;
	info->translation = ov->translation;
	info->offload = ov->offload;
	info->has_psk = ov->psk != NULL;
	info->dropped_malformed = ov->malformed;
	info->dropped_tap = ov->tap_dropped;
	tc_gro_counts(ov->gro, &info->joined_frames, &info->joined_segments);
	info->cfg = &ov->cfg;
	info->n_mappings = tc_fwd_count(ov->fwd);
	info->n_macs = ov->sw ? tc_switch_count(ov->sw) : 0;
	info->n_links = g_hash_table_size(ov->links);
	info->forwarded = ov->forwarded;
	info->dropped_no_route = ov->dropped_no_route;
	info->dropped_hop_limit = ov->dropped_hop_limit;
}

void tc_overlay_foreach_mapping(const struct tc_overlay *ov,
				void (*fn)(const struct tc_fwd_entry *e,
					   void *ctx),
				void *ctx)
{
	tc_fwd_foreach(ov->fwd, fn, ctx);
}

void tc_overlay_foreach_mac(const struct tc_overlay *ov,
			    void (*fn)(const uint8_t mac[6], const char *uid,
				       uint64_t age_ms, void *ctx),
			    void *ctx)
{
	if (ov->sw)
		tc_switch_foreach(ov->sw, tc_overlay_now_ms(), fn, ctx);
}

void tc_overlay_foreach_link(const struct tc_overlay *ov,
			     void (*fn)(const struct tc_link *l, void *ctx),
			     void *ctx)
{
	GHashTableIter it;
	gpointer l;

	g_hash_table_iter_init(&it, ov->links);
	while (g_hash_table_iter_next(&it, NULL, &l))
		fn(l, ctx);
}
