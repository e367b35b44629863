/*
 * A fake struct ctl_member_io for the policy suites (test_gvpn.c,
 * test_svpn.c, test_switch_policy.c): it records every tincan request and
 * signal the membership engine makes as text lines, so a test asserts on
 * what a policy decided without XMPP or tincan.  Also makes the overlay
 * configurations, engines, signals and events a test feeds in, and runs
 * the rows of a policy's admission table.
 */
#ifndef TEST_FAKE_MEMBER_H
#define TEST_FAKE_MEMBER_H

#include <stdbool.h>
#include <stdint.h>

#include "controller/member.h"

#define FAKE_MY_UID "1111111111111111111111111111111111111111"
/* How long a failed link waits for tincan before the engine remakes it. */
#define FAKE_RELINK_MS 50

/* Lines, one per output:
 *   "req TAG KIND"                      every request (KIND: kind_case)
 *   "overlay MODE TRANSL V4/P V6/P BR"  a CreateOverlay's fields
 *   "ondemand BYTES_PER_S IDLE_MS"      and its on-demand thresholds
 *   "link UID KIND"                     a CreateLink's peer and kind
 *   "kind UID KIND"                     a SetLinkKind's
 *   "map UID V4 V6 PEERV4 REMOVE"       a MapPeer's fields ("-" for "")
 *   "sig TO KIND ACK"                   every signal
 *   "adv V4 V6"                         an advertisement's addresses
 *   "cands SEEN"                        a link signal's bound ufrag */
struct rec {
	GPtrArray *log;
	enum ctl_sub sub; /* what the roster says of everyone */
};

/* One row of a policy's admission table: an advertisement from a fresh
 * identity in group with address ip, from a contact the roster says sub
 * of, to an overlay that has a secret or not. */
struct admit_case {
	const char *name;
	bool secret;
	enum ctl_sub sub;
	const char *group;
	const char *ip;
	int proof; /* 0 none, 1 the overlay's psk, 2 a wrong psk */
	bool self; /* the advertisement carries our own uid */
	bool admit;
};

/* Asserts that ops admits c's advertisement to cfg (taking has_secret from
 * c) exactly when c->admit says, with a reason whenever it refuses. */
void fake_check_admit(const struct ctl_member_ops *ops,
		      const struct ctl_overlay_config *cfg,
		      const struct admit_case *c);

/* Zeroes cfg and fills what every policy suite shares: type, name, group,
 * TAP "ipop0", MTU 1400, no secret, a psk of sevens.  Strings are
 * borrowed. */
void fake_cfg(struct ctl_overlay_config *cfg, enum ctl_overlay_type type,
	      const char *name, const char *group);

/* An io recording into r (whose log it creates; sub starts mutual). */
struct ctl_member_io fake_io(struct rec *r, const char *my_jid,
			     const char *state_dir);
void fake_free(struct rec *r);
/* An engine for cfg run by ops as FAKE_MY_UID over fake_io(r, my_jid,
 * state_dir); asserts it was made. */
struct ctl_members *fake_policy(struct rec *r,
				const struct ctl_overlay_config *cfg,
				const struct ctl_member_ops *ops,
				const char *my_jid, const char *state_dir);
/* Starts e with no running overlay and answers its CreateOverlay: e is
 * then ready for members.  Returns e. */
struct ctl_members *fake_ready(struct ctl_members *e);
/* Adopts a running overlay named overlay that holds one link, to uid. */
void fake_adopt_link(struct ctl_members *e, const char *overlay,
		     const char *uid);
/* Asserts that the engine answered jid's advertisement from uid (an ack)
 * and asked tincan for a link to uid and for its local candidates. */
void fake_assert_joined(const struct rec *r, const char *jid, const char *uid);
/* Answers adv's CreateLink and feeds adv's candidates from jid, asserting
 * they are added; then reports the link on overlay connected, asserting
 * that it is the one connected member. */
void fake_link_up(const struct rec *r, struct ctl_members *e,
		  const char *overlay, const char *jid,
		  const struct ctl_sig *adv);
/* Asserts that uid, e's only member, is kept with its link while the link
 * works; then reports the link on overlay failed and asserts that the link
 * is removed and the member gone. */
void fake_kept_until_failed(const struct rec *r, struct ctl_members *e,
			    const char *overlay, const char *uid);
/* Frees r's log and the engine e. */
void fake_finish(struct rec *r, struct ctl_members *e);
/* True if the log holds the line printf(fmt, ...) makes. */
bool logged(const struct rec *r, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* Number of log lines that start with prefix. */
unsigned count_prefix(const struct rec *r, const char *prefix);

/* An advertisement from a fresh identity in group/overlay "theirs". */
void fake_adv(struct ctl_sig *s, const char *group, const char *ipv4);
/* A link signal from the member adv to this node, bound to seen. */
void fake_link(struct ctl_sig *link, const struct ctl_sig *adv,
	       const char *seen);
/* A candidates blob (base64 of a packed IceCredentials) with ufrag; the
 * caller frees it. */
char *fake_cands(const char *ufrag);
/* A bye from the member adv. */
void fake_bye(struct ctl_sig *bye, const struct ctl_sig *adv);
/* Feeds a LinkStateChanged event for uid on overlay. */
void fake_link_event(struct ctl_members *e, const char *overlay,
		     const char *uid, Ipop__LinkState st);
/* Answers uid's GetLocalCandidates ("local:UID") with our link's
 * credentials under ufrag. */
void fake_local(struct ctl_members *e, const char *uid, const char *ufrag);
/* Answers the request made with "OP:UID" (status OK or EXISTS). */
void fake_reply(struct ctl_members *e, const char *op, const char *uid,
		Ipop__Status st);

/* Runs the main loop until the engine's remake of uid's failed link is
 * logged (true) or 1 s passed (false). */
bool fake_wait_relink(const struct rec *r, const char *uid);

#endif
