/*
 * The controller's XMPP session: libstrophe driven from the GLib main loop
 * (its socket watched with g_unix_fd_add, never a busy poll), TLS by
 * default, reconnect with backoff, roster fetch and pushes, presence, and
 * signalling messages.  Owns the libstrophe context and connection; it
 * knows nothing of overlays: payloads travel as attribute tables (see
 * signal.h) and roster/presence changes are reported through callbacks.
 */
#ifndef CTL_XMPP_H
#define CTL_XMPP_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "controller/config.h"

enum {
	/* Reconnects: the first at once, then from CTL_XMPP_RETRY_FIRST_MS
	 * doubling (jittered, see common/backoff.h) up to
	 * CTL_XMPP_RETRY_FAST_MAX_MS while the outage is younger than
	 * CTL_XMPP_RETRY_FAST_FOR_MS (a server restart is back within
	 * that), then up to CTL_XMPP_BACKOFF_MAX_MS. */
	CTL_XMPP_RETRY_FIRST_MS = 250,
	CTL_XMPP_RETRY_FAST_MAX_MS = 1500,
	CTL_XMPP_RETRY_FAST_FOR_MS = 120000,
	CTL_XMPP_BACKOFF_MAX_MS = 30000,
	CTL_XMPP_MAX_PAYLOAD = 16384, /* bytes of one signalling stanza */
	/* A ping (see ctl_xmpp_nudge) unanswered after
	 * CTL_XMPP_PING_TIMEOUT_MS on a path that no longer works ends the
	 * session; one behind a busy server's backlog is waited for, period
	 * by period, while the server sent something within the last
	 * CTL_XMPP_PING_PATIENCE_MS (64 members starting at once on two
	 * cores: Prosody answered after more than 20 s). */
	CTL_XMPP_PING_TIMEOUT_MS = 1000,
	CTL_XMPP_PING_PATIENCE_MS = 20000,
};

/* Roster subscription state of a contact. */
enum ctl_sub {
	CTL_SUB_NONE = 0,
	CTL_SUB_TO,
	CTL_SUB_FROM,
	CTL_SUB_BOTH,
	CTL_SUB_REMOVE, /* the contact was removed from the roster */
};

struct ctl_xmpp_ops {
	/* Logged in, resource bound, roster received, presence sent. */
	void (*on_online)(void *ctx, const char *full_jid);
	/* Connection lost (a reconnect is already scheduled). */
	void (*on_offline)(void *ctx, const char *why);
	/* A roster item, from the initial fetch or a push. */
	void (*on_roster)(void *ctx, const char *bare_jid, enum ctl_sub sub);
	/* Presence of a contact's resource (full JID), available or not. */
	void (*on_presence)(void *ctx, const char *full_jid, bool available);
	/* A signalling payload (attributes borrowed for the call) from a
	 * full JID.  Only messages carrying an <ipop xmlns=CTL_SIGNAL_NS/>
	 * child reach here; anything else is logged at debug and dropped. */
	void (*on_signal)(void *ctx, const char *from_full_jid,
			  GHashTable *attrs);
};

struct ctl_xmpp;

/* Starts connecting to cfg's server as cfg->jid with the given resource
 * (borrows cfg and ops; copies resource).  NULL only on bad arguments. */
struct ctl_xmpp *ctl_xmpp_new(const struct ctl_config *cfg,
			      const char *resource,
			      const struct ctl_xmpp_ops *ops, void *ctx);
/* Sends unavailable presence if online, disconnects and frees; NULL is a
 * no-op. */
void ctl_xmpp_free(struct ctl_xmpp *x);
/* Sends a signalling message to a full JID: <message type="normal"> with an
 * <ipop xmlns=CTL_SIGNAL_NS/> child holding attrs (borrowed).  0, -ENOTCONN
 * when offline, -EMSGSIZE if it would exceed CTL_XMPP_MAX_PAYLOAD. */
int ctl_xmpp_send(struct ctl_xmpp *x, const char *to_full_jid,
		  GHashTable *attrs);
/* Subscription management (used by tests and SocialVPN): send
 * subscribe / subscribed / unsubscribe / unsubscribed to a bare JID. */
int ctl_xmpp_subscription(struct ctl_xmpp *x, const char *bare_jid,
			  const char *type);
/* Pure: the delay before reconnect attempt number attempt (0: the first
 * after the connection was lost) when the session has been offline for
 * offline_ms, with rnd a random draw. */
unsigned ctl_xmpp_retry_ms(unsigned attempt, uint64_t offline_ms, uint32_t rnd);
/* Checks the session now (when online and no check is pending): an XMPP
 * ping (XEP-0199) to the server, and a new session at once when, after
 * CTL_XMPP_PING_TIMEOUT_MS, it is unanswered and the path is gone (see
 * ctl_xmpp_ping_wait).  A NAT on the way that lost its state leaves a session
 * that neither receives nor fails; a link repairing itself (tincan's events)
 * calls for this, so the signalling its repair needs flows.  A server
 * whose host acknowledges our bytes is alive, only slow to reach the
 * ping in its backlog (32 members starting at once on two cores: Prosody
 * answered after up to 9 s and sent nothing at all for seconds at a
 * time, and every member that reconnected made it slower still).  NULL
 * is a no-op. */
void ctl_xmpp_nudge(struct ctl_xmpp *x);
/* Pure: whether a ping sent at sent_us (monotonic) and unanswered at
 * now_us is waited for one more period (true) or ends the session: it is
 * waited for while the path works, that is the server's host acknowledges
 * what we send (tcp_acked) or bytes came from the server (read last at
 * rx_us, 0: never) after the ping and within the last
 * CTL_XMPP_PING_TIMEOUT_MS, and the server is not hung: the ping or its
 * last bytes are younger than CTL_XMPP_PING_PATIENCE_MS. */
bool ctl_xmpp_ping_wait(gint64 sent_us, gint64 rx_us, gint64 now_us,
			bool tcp_acked);
/* True when online. */
bool ctl_xmpp_is_online(const struct ctl_xmpp *x);
/* Our bound full JID, or NULL when offline. */
const char *ctl_xmpp_full_jid(const struct ctl_xmpp *x);

#endif
