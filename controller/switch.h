/*
 * Switch-mode policy: the GroupVPN membership among routers (mutual
 * subscription, same group, group secret proof), but tincan runs as a
 * learning switch between the bridge its TAP is a port of and the links:
 * routers need no overlay address, and no member is ever mapped (tincan
 * learns MAC addresses).  This module owns those rules only; the
 * membership engine (member.h) runs them.  (tincan/switch.c is the
 * dataplane's switch; the two share a name, not code.)
 */
#ifndef CTL_SWITCH_H
#define CTL_SWITCH_H

#include "controller/member.h"

/* The switch-mode operations for ctl_member_new. */
extern const struct ctl_member_ops ctl_switch_ops;

#endif
