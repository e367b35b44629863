/*
 * The GroupVPN rules of gvpn.h: an L3 overlay without translation whose
 * members are mapped to the addresses they advertise.  No state of its own.
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
	(void)cfg;
	co->mode = IPOP__OVERLAY_MODE__L3;
	co->translation = false;
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
};
