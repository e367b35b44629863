/*
 * SocialVPN policy: members are friends (mutual subscription) and this
 * user's own other devices.  Each member gets a stable IPv4 address in
 * this node's view (addrs.h, kept in the state dir) and tincan translates
 * between views; IPv6 addresses are derived from uids and need no
 * translation.  This module owns those rules and the overlay's address
 * table; the membership engine (member.h) runs them.  Its configuration
 * defaults (subnet, group "socialvpn") are applied by config.c.
 */
#ifndef CTL_SVPN_H
#define CTL_SVPN_H

#include <netinet/in.h>

#include "controller/member.h"

enum { CTL_SVPN_IPV6_PREFIX = 48 };

/* The SocialVPN operations for ctl_member_new. */
extern const struct ctl_member_ops ctl_svpn_ops;

/* SocialVPN's IPv6 address of a uid (40 hex digits): fd69:706f:7076::/48
 * (ASCII "ipopv") followed by the first 80 bits of the uid. */
void ctl_svpn_ipv6(const char *uid, char out[INET6_ADDRSTRLEN]);

#endif
