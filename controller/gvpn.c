/*
 * The GroupVPN rules of gvpn.h: an L3 overlay without translation whose
 * members are mapped to the addresses they advertise, linked along the
 * bounded topology of the overlay's config, with on-demand links past
 * ondemand_threshold.  No state of its own.
 */
#include <arpa/inet.h>
#include <string.h>

#include "controller/gvpn.h"

/* Every member needs its own IPv4 address, and none may claim ours. */
static bool admits(const struct ctl_overlay_config *cfg,
		   const struct ctl_sig *adv, const char **why)
{
	uint8_t a[4];

	if (inet_pton(AF_INET, adv->ipv4, a) != 1)
		*why = "no IPv4 address";
	else if (!strcmp(adv->ipv4, cfg->ipv4))
		*why = "claims this node's address";
	else
		return true;
	return false;
}

static void overlay(void *state, const struct ctl_overlay_config *cfg,
		    Ipop__CreateOverlay *co)
{
	(void)state;
	co->mode = IPOP__OVERLAY_MODE__L3;
	co->translation = false;
	co->ondemand_bytes_per_s = cfg->ondemand_threshold;
	co->ondemand_idle_ms = cfg->ondemand_idle * 1000u;
}

/* Links follow the topology of the overlay's successors, chords and
 * max_links (member_links.c). */
static bool bounded(const struct ctl_overlay_config *cfg,
		    struct ipop_topo_params *out)
{
	*out = cfg->topo;
	return true;
}

static bool map(void *state, const struct ctl_peer *p, bool remove,
		struct ctl_mapping *out)
{
	(void)state;
	(void)remove;
	ctl_mapping_advertised(p, out);
	return true;
}

const struct ctl_member_ops ctl_gvpn_ops = {
    .admits = admits,
    .overlay = overlay,
    .map = map,
    .bounded = bounded,
};
