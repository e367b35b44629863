/*
 * SocialVPN policy: members are friends (mutual subscription) and this
 * user's own other devices.  Each member gets a stable IPv4 address in
 * this node's view (addrs.h, kept in the state dir) and tincan translates
 * between views; IPv6 addresses are derived from uids and need no
 * translation.  This module owns those rules and the overlay's address
 * table and its configuration rules and defaults (config.c calls
 * ctl_svpn_configure); the membership engine (member.h) runs the rest.
 */
#ifndef CTL_SVPN_H
#define CTL_SVPN_H

#include <netinet/in.h>

#include "controller/member.h"

enum {
	CTL_SVPN_IPV6_PREFIX = 48,
	CTL_SVPN_SUBNET_PREFIX_DEFAULT = 16,
};
/* The view subnet unless configured (with the prefix above), and the
 * group name unless configured. */
#define CTL_SVPN_SUBNET_DEFAULT 172, 31, 0, 0
#define CTL_SVPN_GROUP_DEFAULT "socialvpn"

/* SocialVPN's configuration rules, applied by config.c to an overlay of
 * type svpn once its keys are read: the subnet and this node's address
 * (the subnet's first host) and the group take the defaults above unless
 * set; the address must lie in the subnet with the subnet's prefix; IPv6
 * addresses are not configured (they derive from uids); pins are
 * distinct free hosts of the subnet, other than this node, one per
 * device.  0, or -EINVAL with *key the offending key (static) and *why
 * the reason (caller frees). */
int ctl_svpn_configure(struct ctl_overlay_config *o, const char **key,
		       char **why);

/* The SocialVPN operations for ctl_member_new. */
extern const struct ctl_member_ops ctl_svpn_ops;

/* SocialVPN's IPv6 address of a uid (40 hex digits): fd69:706f:7076::/48
 * (ASCII "ipopv") followed by the first 80 bits of the uid. */
void ctl_svpn_ipv6(const char *uid, char out[INET6_ADDRSTRLEN]);

#endif
