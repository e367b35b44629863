/*
 * GroupVPN policy: members are contacts with mutual subscription that
 * advertise the same group (and prove the group secret when the overlay
 * has one); every member has a static address in the overlay's subnet,
 * tincan maps each member to the addresses it advertised, and nothing is
 * translated.  Links form the bounded overlay of common/topology.h
 * (successors, chords, max_links) plus on-demand links; tincan forwards
 * for members without a direct link.  This module owns those rules only; the
 * membership engine (member.h) runs them.
 */
#ifndef CTL_GVPN_H
#define CTL_GVPN_H

#include "controller/member.h"

/* The GroupVPN operations for ctl_member_new. */
extern const struct ctl_member_ops ctl_gvpn_ops;

#endif
