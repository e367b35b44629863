/*
 * The switch-mode rules of switch.h: a SWITCH overlay without translation
 * and without mappings.  No state of its own; no address rules.
 */
#include "controller/switch.h"

static void overlay(void *state, const struct ctl_overlay_config *cfg,
		    Ipop__CreateOverlay *co)
{
	(void)state;
	(void)cfg;
	co->mode = IPOP__OVERLAY_MODE__SWITCH;
	co->translation = false;
}

/* No admits hook: a router may advertise no address at all.  No map
 * hook: MAC learning decides where frames go. */
const struct ctl_member_ops ctl_switch_ops = {
    .overlay = overlay,
};
