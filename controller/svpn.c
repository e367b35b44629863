/*
 * The SocialVPN rules of svpn.h.  Its state is the overlay's local-view
 * address table and this node's derived IPv6 address.
 */
#define G_LOG_DOMAIN "controller"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "common/log.h"
#include "controller/addrs.h"
#include "controller/svpn.h"

struct svpn {
	const struct ctl_overlay_config *cfg;
	const char *my_jid;	     /* borrowed; NULL when unknown */
	struct ctl_addrs *addrs;     /* local-view addresses */
	char ipv6[INET6_ADDRSTRLEN]; /* ours, derived from our uid */
};

/* The /48 prefix is 6 bytes; the rest of the address comes from the uid. */
enum { PREFIX_BYTES = 6, UID_BYTES = sizeof(struct in6_addr) - PREFIX_BYTES };

void ctl_svpn_ipv6(const char *uid, char out[INET6_ADDRSTRLEN])
{
	uint8_t a[sizeof(struct in6_addr)] = {0xfd, 0x69, 0x70,
					      0x6f, 0x70, 0x76};
	size_t i;

	for (i = 0; i < UID_BYTES; i++)
		a[PREFIX_BYTES + i] =
		    (uint8_t)(g_ascii_xdigit_value(uid[2 * i]) << 4 |
			      g_ascii_xdigit_value(uid[2 * i + 1]));
	inet_ntop(AF_INET6, a, out, INET6_ADDRSTRLEN);
}

/* ---- configuration ---- */

/* Pins must be distinct hosts of the subnet other than this node's own
 * address, one per device. */
static int check_pins(const struct ctl_overlay_config *o, uint32_t net,
		      uint32_t mask, char **why)
{
	uint32_t self, a, b;
	unsigned i, j;

	inet_pton(AF_INET, o->ipv4, &self);
	for (i = 0; i < o->n_pins; i++) {
		memcpy(&a, o->pins[i].v4, 4);
		if ((ntohl(a) & mask) != net || (ntohl(a) & ~mask) == 0 ||
		    (ntohl(a) & ~mask) == ~mask || a == self) {
			*why = g_strdup_printf("pin %u: address is not a free "
					       "host of the subnet",
					       i);
			return -EINVAL;
		}
		for (j = 0; j < i; j++) {
			memcpy(&b, o->pins[j].v4, 4);
			if (a == b ||
			    !strcmp(o->pins[i].device, o->pins[j].device)) {
				*why = g_strdup_printf("pins %u and %u share a "
						       "device or an address",
						       j, i);
				return -EINVAL;
			}
		}
	}
	return 0;
}

int ctl_svpn_configure(struct ctl_overlay_config *o, const char **key,
		       char **why)
{
	static const uint8_t def_net[4] = {CTL_SVPN_SUBNET_DEFAULT};
	uint32_t net, mask, a = 0;
	char buf[INET_ADDRSTRLEN];

	if (!o->subnet_prefix) {
		memcpy(o->subnet, def_net, 4);
		o->subnet_prefix = CTL_SVPN_SUBNET_PREFIX_DEFAULT;
	}
	memcpy(&net, o->subnet, 4);
	net = ntohl(net);
	mask = 0xffffffffu << (32 - o->subnet_prefix);
	if (!o->ipv4) {
		a = htonl(net + 1);
		o->ipv4 = g_strdup(inet_ntop(AF_INET, &a, buf, sizeof(buf)));
		o->ipv4_prefix = o->subnet_prefix;
	}
	inet_pton(AF_INET, o->ipv4, &a);
	if ((ntohl(a) & mask) != net || o->ipv4_prefix != o->subnet_prefix) {
		*key = "address";
		*why =
		    g_strdup_printf("'%s/%u' must lie in the subnet with "
				    "its prefix /%u",
				    o->ipv4, o->ipv4_prefix, o->subnet_prefix);
		return -EINVAL;
	}
	if (!o->group)
		o->group = g_strdup(CTL_SVPN_GROUP_DEFAULT);
	if (o->ipv6) {
		*key = "address6";
		*why = g_strdup("not for type svpn (IPv6 addresses derive "
				"from device uids)");
		return -EINVAL;
	}
	*key = "pins";
	return check_pins(o, net, mask, why);
}

/* ---- the policy ---- */

static void fini(void *state)
{
	struct svpn *v = state;

	if (!v)
		return;
	ctl_addrs_free(v->addrs);
	g_free(v);
}

/* Opens the address table state_dir/svpn-NAME.addrs with the pins of the
 * config. */
static int init(void **state, const struct ctl_overlay_config *c,
		const char *my_uid, const struct ctl_member_io *io)
{
	g_autofree char *file = g_strdup_printf("svpn-%s.addrs", c->name);
	g_autofree char *path =
	    g_build_filename(io->state_dir ? io->state_dir : ".", file, NULL);
	struct ctl_addr_pin pins[CTL_MAX_PINS];
	struct svpn *v;
	uint8_t self[4];
	unsigned i;

	for (i = 0; i < c->n_pins; i++) {
		pins[i].uid = c->pins[i].device;
		memcpy(pins[i].v4, c->pins[i].v4, sizeof(pins[i].v4));
	}
	inet_pton(AF_INET, c->ipv4, self);
	v = g_new0(struct svpn, 1);
	v->cfg = c;
	v->my_jid = io->my_jid;
	v->addrs = ctl_addrs_open(path, c->subnet, c->subnet_prefix, self, pins,
				  c->n_pins);
	if (!v->addrs) {
		fini(v);
		return -EIO;
	}
	ctl_svpn_ipv6(my_uid, v->ipv6);
	*state = v;
	return 0;
}

/* Every member needs an IPv4 address; in SocialVPN every node may use the
 * same one in its own view. */
static bool admits(const struct ctl_overlay_config *cfg,
		   const struct ctl_sig *adv, const char **why)
{
	uint8_t a[4];

	(void)cfg;
	if (inet_pton(AF_INET, adv->ipv4, a) == 1)
		return true;
	*why = "no IPv4 address";
	return false;
}

/* This user's other devices are members without any roster entry. */
static bool is_own(void *state, const char *bare_jid)
{
	struct svpn *v = state;

	return v->my_jid && !strcmp(bare_jid, v->my_jid);
}

static void overlay(void *state, const struct ctl_overlay_config *cfg,
		    Ipop__CreateOverlay *co)
{
	struct svpn *v = state;

	(void)cfg;
	co->mode = IPOP__OVERLAY_MODE__L3;
	co->translation = true;
	co->ipv6 = v->ipv6;
	co->ipv6_prefix = CTL_SVPN_IPV6_PREFIX;
}

static void advertise(void *state, struct ctl_sig *s)
{
	struct svpn *v = state;

	g_strlcpy(s->ipv6, v->ipv6, sizeof(s->ipv6));
}

/* A member is mapped to its address in our view and its uid-derived IPv6,
 * and tincan translates to and from the address it uses itself.  Removal
 * names the member by what it advertised, as tincan removes by uid. */
static bool map(void *state, const struct ctl_peer *p, bool remove,
		struct ctl_mapping *out)
{
	struct svpn *v = state;
	uint8_t a[4];
	int r;

	ctl_mapping_advertised(p, out);
	if (remove)
		return true;
	r = ctl_addrs_get(v->addrs, p->uid, a);
	if (r == -ENOSPC) {
		g_warning("overlay %s: subnet full, no address for %s",
			  v->cfg->name, IPOP_LOG_STR(p->jid));
		return false;
	}
	/* -EIO: the address is taken but the file was not saved (logged).
	 * Anything else left a unset. */
	if (r < 0 && r != -EIO)
		return false;
	inet_ntop(AF_INET, a, out->ipv4, sizeof(out->ipv4));
	ctl_svpn_ipv6(p->uid, out->ipv6);
	g_strlcpy(out->peer_ipv4, p->ipv4, sizeof(out->peer_ipv4));
	return true;
}

const struct ctl_member_ops ctl_svpn_ops = {
    .init = init,
    .fini = fini,
    .admits = admits,
    .is_own = is_own,
    .overlay = overlay,
    .advertise = advertise,
    .map = map,
};
