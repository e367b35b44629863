/*
 * Inside the XMPP session, shared by its three files and by nothing else:
 * xmpp.c drives libstrophe and the connection's life cycle, xmpp_stanza.c
 * checks untrusted strings and carries signalling stanzas, xmpp_roster.c
 * follows the roster and presence.  Callers use xmpp.h.  Every function
 * here runs on the main loop, like libstrophe (not thread-safe).
 */
#ifndef CTL_XMPP_INT_H
#define CTL_XMPP_INT_H

#include <glib.h>
#include <stdbool.h>
#include <strophe.h>

#include "controller/config.h"
#include "controller/xmpp.h"

struct ctl_xmpp {
	const struct ctl_config *cfg;
	const struct ctl_xmpp_ops *ops;
	void *cb_ctx;
	char *full_jid; /* the JID we ask to bind */
	xmpp_log_t log;
	xmpp_ctx_t *sctx;
	xmpp_conn_t *conn;
	guint in_id, out_id, tick_id, retry_id, kick_id, keepalive_id, sweep_id;
	unsigned attempt;    /* reconnects since the session was lost */
	gint64 offline_us;   /* when it was lost (monotonic), 0 if never */
	char *lost_why;	     /* why, for the line that says it is back */
	unsigned recoveries; /* times it came back online after a loss */
	int fd;		     /* the connection's socket, -1 if none */
	guint ping_timer;    /* a ping waits for its answer (see nudge) */
	char ping_id[32];
	gint64 ping_sent_us; /* when it went out (monotonic) */
	gint64 rx_us;	     /* when bytes last came from the server */
	unsigned serial;     /* stanza ids */
	unsigned session;    /* logins so far */
	char roster_id[32];  /* pending roster request, "" if none */
	bool logged_in;	     /* libstrophe reported CONNECT */
	bool online;	     /* roster received and presence sent */
	bool pumping;
	bool activity; /* libstrophe logged something this run */
	bool freeing;
	char *bound;	    /* bound full JID while online */
	GHashTable *roster; /* bare JID -> enum ctl_sub */
	GHashTable *asked;  /* bare JIDs we asked to follow (ask="subscribe") */
	GHashTable *avail;  /* full JID -> session it was last seen in */
};

/* xmpp.c */

/* Removes the source *id if set and zeroes it. */
void ctl_xmpp_clear_source(guint *id);
/* The session came online: logs the recovery from a loss, if any, with
 * its cause and duration (once), and resets the reconnect schedule. */
void ctl_xmpp_recovered(struct ctl_xmpp *x);
/* Has output queued outside a libstrophe handler written soon (from an
 * idle callback, never by re-entering xmpp_run_once). */
void ctl_xmpp_kick(struct ctl_xmpp *x);

/* xmpp_stanza.c */

/* True for a plausible JID: 3..3071 bytes of valid UTF-8 with no white
 * space or control characters (NULL: false).  untrusted: s. */
bool ctl_xmpp_jid_ok(const char *s);
/* A plausible JID with a non-empty resource. */
bool ctl_xmpp_is_full_jid(const char *s);
/* The bare part of a JID; the caller frees. */
char *ctl_xmpp_bare_of(const char *jid);
/* A fresh stanza id "PREFIXn"; the caller frees. */
char *ctl_xmpp_next_id(struct ctl_xmpp *x, const char *prefix);
/* Queues a presence stanza (to and type optional). */
void ctl_xmpp_send_presence(struct ctl_xmpp *x, const char *to,
			    const char *type);
/* libstrophe handler of <message/>: signals reach ops->on_signal. */
int ctl_xmpp_on_message(xmpp_conn_t *conn, xmpp_stanza_t *st, void *data);
/* untrusted: the attributes of an <ipop/> element as a table of owned
 * strings (xmlns left out) for ctl_sig_decode; NULL if there are none,
 * too many or too many bytes. */
GHashTable *ctl_xmpp_signal_attrs(xmpp_stanza_t *ipop);

/* xmpp_roster.c */

/* After login: asks for the roster; its result brings the session online
 * (presence sent, ops->on_online). */
void ctl_xmpp_request_roster(struct ctl_xmpp *x);
/* On a lost connection: forgets a pending roster request. */
void ctl_xmpp_roster_cancel(struct ctl_xmpp *x);
/* libstrophe handlers of <iq/> and <presence/>. */
int ctl_xmpp_on_iq(xmpp_conn_t *conn, xmpp_stanza_t *st, void *data);
int ctl_xmpp_on_presence(xmpp_conn_t *conn, xmpp_stanza_t *st, void *data);

#endif
