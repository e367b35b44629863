/*
 * The controller daemon: ties the configuration, the tincan client, the
 * XMPP session and one policy per overlay together.  Owns all of them;
 * main.c only builds it, runs the loop and frees it.
 */
#ifndef CTL_DAEMON_H
#define CTL_DAEMON_H

#include "controller/config.h"

struct ctl_daemon;

/* Starts connecting to tincan (XMPP follows once tincan's identity is
 * known).  Borrows cfg, which must outlive the daemon. */
struct ctl_daemon *ctl_daemon_new(const struct ctl_config *cfg);
/* Says bye to every member and goes offline, letting the loop run briefly
 * so the stanzas leave. */
void ctl_daemon_shutdown(struct ctl_daemon *d);
/* Frees everything; NULL is a no-op. */
void ctl_daemon_free(struct ctl_daemon *d);

#endif
