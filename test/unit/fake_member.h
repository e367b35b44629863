/*
 * A fake struct ctl_member_io for the policy suites (test_gvpn.c,
 * test_svpn.c, test_switch_policy.c): it records every tincan request and
 * signal the membership engine makes as text lines, so a test asserts on
 * what a policy decided without XMPP or tincan.  Also makes the signals
 * and events a test feeds in.
 */
#ifndef TEST_FAKE_MEMBER_H
#define TEST_FAKE_MEMBER_H

#include <stdbool.h>

#include "controller/member.h"

#define FAKE_MY_UID "1111111111111111111111111111111111111111"

/* Lines, one per output:
 *   "req TAG KIND"                      every request (KIND: kind_case)
 *   "overlay MODE TRANSL V4/P V6/P BR"  a CreateOverlay's fields
 *   "map UID V4 V6 PEERV4 REMOVE"       a MapPeer's fields ("-" for "")
 *   "sig TO KIND ACK"                   every signal
 *   "adv V4 V6"                         an advertisement's addresses */
struct rec {
	GPtrArray *log;
	enum ctl_sub sub; /* what the roster says of everyone */
};

/* An io recording into r (whose log it creates; sub starts mutual). */
struct ctl_member_io fake_io(struct rec *r, const char *my_jid,
			     const char *state_dir);
void fake_free(struct rec *r);
/* True if the log holds the line printf(fmt, ...) makes. */
bool logged(const struct rec *r, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* Number of log lines that start with prefix. */
unsigned count_prefix(const struct rec *r, const char *prefix);

/* An advertisement from a fresh identity in group/overlay "theirs". */
void fake_adv(struct ctl_sig *s, const char *group, const char *ipv4);
/* A link signal from the member adv to this node, bound to seen. */
void fake_link(struct ctl_sig *link, const struct ctl_sig *adv,
	       const char *seen);
/* A bye from the member adv. */
void fake_bye(struct ctl_sig *bye, const struct ctl_sig *adv);
/* Feeds a LinkStateChanged event for uid on overlay. */
void fake_link_event(struct ctl_members *e, const char *overlay,
		     const char *uid, Ipop__LinkState st);
/* Answers the request made with "OP:UID" (status OK or EXISTS). */
void fake_reply(struct ctl_members *e, const char *op, const char *uid,
		Ipop__Status st);

#endif
