/*
 * `ipop-controller --config FILE friends ...`: manage the account's
 * friends (SocialVPN) or group members (GroupVPN) without a chat client.
 * Logs into the account of the configuration under a resource of its own,
 * sends real roster and subscription stanzas, prints the result and exits.
 */
#ifndef CTL_FRIENDS_H
#define CTL_FRIENDS_H

#include "controller/config.h"

enum {
	CTL_FRIENDS_OK = 0,
	CTL_FRIENDS_FAILED = 1, /* login, server refusal, no such request */
	CTL_FRIENDS_USAGE = 2,
};

/* Runs the command in argv[0..argc) ("friends", then list | add JID |
 * remove JID | approve JID | refuse JID) as cfg's account (borrowed);
 * prints to stdout, errors to stderr.  Returns a CTL_FRIENDS_* status. */
int ctl_friends_main(const struct ctl_config *cfg, int argc, char **argv);

#endif
