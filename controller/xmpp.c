/*
 * The controller's XMPP session: the connection.  Owns one libstrophe
 * context and connection and drives them from the GLib default main
 * context: the socket, learnt from libstrophe's sockopt callback on every
 * (re)connect, is watched with g_unix_fd_add; every wakeup runs
 * xmpp_run_once(ctx, 0) twice (output queued by a handler is written on
 * the next run); a one-shot G_IO_OUT watch catches the end of the
 * non-blocking connect and a short periodic timer serves libstrophe's
 * timed handlers.  It logs in, keeps the stream alive, reconnects (at once,
 * then with capped, jittered exponential backoff) and frees.  After login the
 * roster and presence are xmpp_roster.c's (it brings the session online),
 * signalling stanzas xmpp_stanza.c's.  It knows nothing of overlays (see
 * signal.c and member.c).  Single-threaded, like libstrophe.
 */
#define G_LOG_DOMAIN "controller"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <signal.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>

#include <glib.h>
#include <glib-unix.h>
#include <strophe.h>

#include "common/backoff.h"
#include "common/log.h"
#include "controller/xmpp.h"
#include "controller/xmpp_int.h"

enum {
	TICK_MS = 150,	  /* libstrophe timers, partial writes */
	KEEPALIVE_S = 30, /* whitespace keepalive while online */
	PUMP_MAX = 16,	  /* xmpp_run_once calls per wakeup, at most */
};

/* The sockopt callback gets no user data: find the session by conn. */
static GSList *sessions;

static struct ctl_xmpp *by_conn(const xmpp_conn_t *conn)
{
	for (GSList *l = sessions; l != NULL; l = l->next) {
		struct ctl_xmpp *x = l->data;

		if (x->conn == conn)
			return x;
	}
	return NULL;
}

void ctl_xmpp_clear_source(guint *id)
{
	if (*id != 0) {
		g_source_remove(*id);
		*id = 0;
	}
}

/* ---- driving libstrophe ---- */

/* Output that handlers queue is written by the next xmpp_run_once, and a
 * run that writes may at once read the answer (a server on loopback is
 * that fast), so run at least twice and again after every run in which
 * libstrophe did anything (it logs each stanza it sends or receives). */
static void pump(struct ctl_xmpp *x)
{
	if (x->pumping)
		return;
	x->pumping = true;
	for (int i = 0; i < PUMP_MAX; i++) {
		x->activity = false;
		xmpp_run_once(x->sctx, 0);
		if (i >= 1 && !x->activity)
			break;
	}
	x->pumping = false;
}

static gboolean on_kick(gpointer data)
{
	struct ctl_xmpp *x = data;

	x->kick_id = 0;
	pump(x);
	return G_SOURCE_REMOVE;
}

/* Output queued outside a libstrophe handler is written from an idle
 * callback, never by re-entering xmpp_run_once. */
void ctl_xmpp_kick(struct ctl_xmpp *x)
{
	if (x->kick_id == 0 && !x->freeing)
		x->kick_id = g_idle_add(on_kick, x);
}

static gboolean on_fd(gint fd, GIOCondition cond, gpointer data)
{
	struct ctl_xmpp *x = data;

	(void)fd;
	if (cond & G_IO_NVAL) {
		x->in_id = 0;
		return G_SOURCE_REMOVE;
	}
	if (cond & G_IO_IN)
		x->rx_us = g_get_monotonic_time();
	pump(x);
	return G_SOURCE_CONTINUE;
}

static gboolean on_fd_out(gint fd, GIOCondition cond, gpointer data)
{
	struct ctl_xmpp *x = data;

	(void)fd;
	(void)cond;
	x->out_id = 0;
	pump(x);
	return G_SOURCE_REMOVE;
}

static gboolean on_tick(gpointer data)
{
	pump(data);
	return G_SOURCE_CONTINUE;
}

static void drop_watches(struct ctl_xmpp *x)
{
	ctl_xmpp_clear_source(&x->in_id);
	ctl_xmpp_clear_source(&x->out_id);
}

/* Called by libstrophe for every socket it creates. */
static int on_socket(xmpp_conn_t *conn, void *sock)
{
	struct ctl_xmpp *x = by_conn(conn);
	int fd = *(int *)sock;

	if (x == NULL)
		return -1;
	drop_watches(x);
	if (fd < 0 || fd >= FD_SETSIZE) {
		g_warning("xmpp: socket %d unusable with select()", fd);
		return -1;
	}
	x->fd = fd;
	x->in_id = g_unix_fd_add(fd, G_IO_IN | G_IO_ERR | G_IO_HUP, on_fd, x);
	x->out_id = g_unix_fd_add(fd, G_IO_OUT, on_fd_out, x);
	return xmpp_sockopt_cb_keepalive(conn, sock);
}

static void on_strophe_log(void *data, xmpp_log_level_t level, const char *area,
			   const char *msg)
{
	struct ctl_xmpp *x = data;

	x->activity = true;
	/* Debug output would include stanzas and SASL exchanges. */
	if (level == XMPP_LEVEL_ERROR)
		g_message("xmpp: libstrophe %s: %s", area, IPOP_LOG_STR(msg));
	else if (level == XMPP_LEVEL_WARN)
		g_debug("xmpp: libstrophe %s: %s", area, IPOP_LOG_STR(msg));
}

/* ---- connection life cycle ---- */

static void start_connect(struct ctl_xmpp *x);

static gboolean on_retry(gpointer data)
{
	struct ctl_xmpp *x = data;

	x->retry_id = 0;
	start_connect(x);
	return G_SOURCE_REMOVE;
}

unsigned ctl_xmpp_retry_ms(unsigned attempt, uint64_t offline_ms, uint32_t rnd)
{
	uint32_t cap = offline_ms < CTL_XMPP_RETRY_FAST_FOR_MS
			   ? CTL_XMPP_RETRY_FAST_MAX_MS
			   : CTL_XMPP_BACKOFF_MAX_MS;

	if (attempt == 0)
		return 0;
	return ipop_backoff_ms(CTL_XMPP_RETRY_FIRST_MS, cap, attempt - 1, rnd);
}

static void schedule_retry(struct ctl_xmpp *x)
{
	gint64 now = g_get_monotonic_time();
	unsigned delay;

	if (x->offline_us == 0)
		x->offline_us = now;
	delay = ctl_xmpp_retry_ms(x->attempt++,
				  (uint64_t)(now - x->offline_us) / 1000,
				  g_random_int());
	ctl_xmpp_clear_source(&x->retry_id);
	g_message("xmpp: reconnecting in %u ms (attempt %u)", delay,
		  x->attempt);
	x->retry_id = g_timeout_add(delay, on_retry, x);
}

/* Online again after a loss: said once, with the cause and how long. */
void ctl_xmpp_recovered(struct ctl_xmpp *x)
{
	if (x->offline_us == 0)
		return;
	x->recoveries++;
	g_message("xmpp: recovered: online again %" G_GINT64_FORMAT
		  " ms after the session was lost (%s), %u reconnect "
		  "attempts; %u recoveries so far",
		  (g_get_monotonic_time() - x->offline_us) / 1000,
		  IPOP_LOG_STR(x->lost_why ? x->lost_why : "?"), x->attempt,
		  x->recoveries);
	x->offline_us = 0;
	x->attempt = 0;
	g_clear_pointer(&x->lost_why, g_free);
}

static const char *stream_error_name(xmpp_error_type_t t)
{
	switch (t) {
	case XMPP_SE_CONFLICT:
		return "conflict (the resource logged in elsewhere)";
	case XMPP_SE_NOT_AUTHORIZED:
		return "not-authorized";
	case XMPP_SE_SYSTEM_SHUTDOWN:
		return "system-shutdown";
	case XMPP_SE_POLICY_VIOLATION:
		return "policy-violation";
	case XMPP_SE_HOST_UNKNOWN:
		return "host-unknown";
	case XMPP_SE_CONN_TIMEOUT:
		return "connection-timeout";
	case XMPP_SE_RESOURCE_CONSTRAINT:
		return "resource-constraint";
	default:
		return "other";
	}
}

static char *describe(bool logged_in, int error, xmpp_stream_error_t *se)
{
	if (se != NULL)
		return g_strdup_printf(
		    "stream error: %s%s%s", stream_error_name(se->type),
		    se->text ? ": " : "", se->text ? se->text : "");
	if (error != 0)
		return g_strdup(g_strerror(error));
	return g_strdup(logged_in ? "closed by the server"
				  : "could not connect or log in (refused, TLS "
				    "or authentication)");
}

static void logged_in(struct ctl_xmpp *x)
{
	const char *bound = xmpp_conn_get_bound_jid(x->conn);

	x->logged_in = true;
	x->session++;
	g_message("xmpp: logged in as %s (%s)",
		  IPOP_LOG_STR(bound ? bound : x->full_jid),
		  xmpp_conn_is_secured(x->conn) ? "TLS" : "no TLS");
	ctl_xmpp_request_roster(x);
}

static int on_pong(xmpp_conn_t *conn, xmpp_stanza_t *st, void *data)
{
	struct ctl_xmpp *x = data;

	(void)conn;
	(void)st; /* a result or an error: the server answered either way */
	ctl_xmpp_clear_source(&x->ping_timer);
	x->ping_id[0] = '\0';
	return 0;
}

static void ping_done(struct ctl_xmpp *x)
{
	ctl_xmpp_clear_source(&x->ping_timer);
	if (x->ping_id[0] && x->conn)
		xmpp_id_handler_delete(x->conn, on_pong, x->ping_id);
	x->ping_id[0] = '\0';
}

bool ctl_xmpp_ping_wait(gint64 sent_us, gint64 rx_us, gint64 now_us,
			bool tcp_acked)
{
	bool spoke = rx_us > sent_us &&
		     now_us - rx_us < (gint64)CTL_XMPP_PING_TIMEOUT_MS * 1000;

	return (tcp_acked || spoke) &&
	       now_us - MAX(sent_us, rx_us) <
		   (gint64)CTL_XMPP_PING_PATIENCE_MS * 1000;
}

/* Whether the server's host acknowledges what we send: nothing sent is
 * unacknowledged, or an acknowledgement came within the ping's timeout.
 * The kernel answers for a server too busy to read (Prosody with 32
 * members starting at once); on a path a NAT lost, nothing comes back. */
static bool tcp_acked(int fd)
{
	struct tcp_info ti;
	socklen_t n = sizeof(ti);

	if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &n) < 0 ||
	    n < offsetof(struct tcp_info, tcpi_rcv_rtt))
		return false;
	return ti.tcpi_unacked == 0 ||
	       ti.tcpi_last_ack_recv < CTL_XMPP_PING_TIMEOUT_MS;
}

/* No answer to the ping: the session is dead though its socket is not
 * (a NAT on the way dropped it), and a new one is made at once; unless
 * the path still works and the server is only slow (see ctl_xmpp_nudge):
 * then a whitespace keepalive goes out, for the next period's check to
 * find acknowledged or not. */
static gboolean on_ping_timeout(gpointer data)
{
	struct ctl_xmpp *x = data;
	gint64 now = g_get_monotonic_time();
	gint64 waited_ms = (now - x->ping_sent_us) / 1000;
	bool acked = tcp_acked(x->fd);

	if (ctl_xmpp_ping_wait(x->ping_sent_us, x->rx_us, now, acked)) {
		g_debug("xmpp: a ping unanswered for %" G_GINT64_FORMAT
			" ms, but the path works; waiting",
			waited_ms);
		xmpp_send_raw(x->conn, " ", 1);
		ctl_xmpp_kick(x);
		return G_SOURCE_CONTINUE;
	}
	x->ping_timer = 0;
	if (acked)
		g_message("xmpp: no answer to a ping within %" G_GINT64_FORMAT
			  " ms and nothing from the server for %d ms, though "
			  "its host acknowledges (the server hangs); "
			  "reconnecting",
			  waited_ms, CTL_XMPP_PING_PATIENCE_MS);
	else
		g_message("xmpp: no answer to a ping within %" G_GINT64_FORMAT
			  " ms, and the server's host acknowledges nothing we "
			  "send (the path is gone); reconnecting",
			  waited_ms);
	ping_done(x);
	/* Not a polite close: that waits for a server that does not answer.
	 * The socket shut, libstrophe reports the loss on its next read. */
	if (x->fd >= 0)
		shutdown(x->fd, SHUT_RDWR);
	else
		xmpp_disconnect(x->conn);
	ctl_xmpp_kick(x);
	return G_SOURCE_REMOVE;
}

void ctl_xmpp_nudge(struct ctl_xmpp *x)
{
	const char *domain;
	xmpp_stanza_t *iq, *ping;
	g_autofree char *id = NULL;

	if (x == NULL || !x->online || x->ping_timer)
		return;
	domain = strchr(x->cfg->jid, '@');
	id = ctl_xmpp_next_id(x, "ping");
	iq = xmpp_iq_new(x->sctx, "get", id);
	xmpp_stanza_set_to(iq, domain ? domain + 1 : x->cfg->jid);
	ping = xmpp_stanza_new(x->sctx);
	xmpp_stanza_set_name(ping, "ping");
	xmpp_stanza_set_ns(ping, "urn:xmpp:ping");
	xmpp_stanza_add_child_ex(iq, ping, 0);
	g_strlcpy(x->ping_id, id, sizeof(x->ping_id));
	xmpp_id_handler_add(x->conn, on_pong, x->ping_id, x);
	xmpp_send(x->conn, iq);
	xmpp_stanza_release(iq);
	x->ping_sent_us = g_get_monotonic_time();
	x->ping_timer =
	    g_timeout_add(CTL_XMPP_PING_TIMEOUT_MS, on_ping_timeout, x);
	ctl_xmpp_kick(x);
}

static void lost(struct ctl_xmpp *x, int error, xmpp_stream_error_t *se)
{
	bool was_online = x->online;
	g_autofree char *why = describe(x->logged_in, error, se);

	drop_watches(x);
	ping_done(x);
	x->fd = -1;
	ctl_xmpp_roster_cancel(x);
	ctl_xmpp_clear_source(&x->sweep_id);
	x->online = false;
	g_clear_pointer(&x->bound, g_free);
	if (x->freeing)
		return;
	if (x->logged_in)
		g_message("xmpp: disconnected: %s", IPOP_LOG_STR(why));
	else
		g_message("xmpp: connection to %s:%u failed: %s",
			  x->cfg->server ? x->cfg->server : "(SRV)",
			  x->cfg->port, IPOP_LOG_STR(why));
	x->logged_in = false;
	if (x->offline_us == 0) {
		g_free(x->lost_why);
		x->lost_why = g_strdup(why);
	}
	schedule_retry(x);
	if (was_online && x->ops->on_offline != NULL)
		x->ops->on_offline(x->cb_ctx, why);
}

static void on_conn(xmpp_conn_t *conn, xmpp_conn_event_t ev, int error,
		    xmpp_stream_error_t *se, void *data)
{
	struct ctl_xmpp *x = data;

	(void)conn;
	if (ev == XMPP_CONN_CONNECT) {
		if (!x->freeing)
			logged_in(x);
	} else if (ev == XMPP_CONN_DISCONNECT || ev == XMPP_CONN_FAIL) {
		lost(x, error, se);
	}
}

static void start_connect(struct ctl_xmpp *x)
{
	int r;

	g_message("xmpp: connecting to %s:%u as %s",
		  x->cfg->server ? x->cfg->server : "(SRV)", x->cfg->port,
		  x->full_jid);
	r = xmpp_connect_client(x->conn, x->cfg->server, x->cfg->port, on_conn,
				x);
	if (r != XMPP_EOK) {
		drop_watches(x);
		g_message("xmpp: connect to %s failed at once (%d)",
			  x->cfg->server ? x->cfg->server : "(SRV)", r);
		schedule_retry(x);
	}
}

static gboolean on_keepalive(gpointer data)
{
	struct ctl_xmpp *x = data;

	if (x->online) {
		xmpp_send_raw(x->conn, " ", 1);
		ctl_xmpp_kick(x);
	}
	return G_SOURCE_CONTINUE;
}

static bool resource_ok(const char *r)
{
	size_t n;

	if (r == NULL)
		return false;
	n = strnlen(r, 1024);
	if (n == 0 || n > 1023 || !g_utf8_validate(r, n, NULL))
		return false;
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)r[i] < 0x20 || r[i] == 0x7f)
			return false;
	}
	return true;
}

static int setup_conn(struct ctl_xmpp *x)
{
	long flags = XMPP_CONN_FLAG_DISABLE_SM;

	if (x->cfg->tls == CTL_TLS_OFF)
		flags |= XMPP_CONN_FLAG_DISABLE_TLS;
	else
		flags |= XMPP_CONN_FLAG_MANDATORY_TLS;
	if (xmpp_conn_set_flags(x->conn, flags) != XMPP_EOK)
		return -EINVAL;
	if (x->cfg->tls != CTL_TLS_OFF && x->cfg->ca_file != NULL)
		xmpp_conn_set_cafile(x->conn, x->cfg->ca_file);
	xmpp_conn_set_jid(x->conn, x->full_jid);
	xmpp_conn_set_pass(x->conn, x->cfg->password);
	xmpp_conn_set_sockopt_callback(x->conn, on_socket);
	xmpp_handler_add(x->conn, ctl_xmpp_on_iq, NULL, "iq", NULL, x);
	xmpp_handler_add(x->conn, ctl_xmpp_on_presence, NULL, "presence", NULL,
			 x);
	xmpp_handler_add(x->conn, ctl_xmpp_on_message, NULL, "message", NULL,
			 x);
	return 0;
}

struct ctl_xmpp *ctl_xmpp_new(const struct ctl_config *cfg,
			      const char *resource,
			      const struct ctl_xmpp_ops *ops, void *ctx)
{
	static bool initialised;
	struct ctl_xmpp *x;

	if (cfg == NULL || ops == NULL || !ctl_xmpp_jid_ok(cfg->jid) ||
	    strchr(cfg->jid, '/') != NULL || cfg->password == NULL ||
	    !resource_ok(resource))
		return NULL;
	if (!initialised) {
		/* libstrophe writes with send() and OpenSSL without
		 * MSG_NOSIGNAL: a server that closes the connection while a
		 * stanza is going out (a restart, a refused TLS login) would
		 * otherwise kill the process instead of causing a reconnect. */
		signal(SIGPIPE, SIG_IGN);
		xmpp_initialize();
		initialised = true;
	}
	x = g_new0(struct ctl_xmpp, 1);
	x->cfg = cfg;
	x->ops = ops;
	x->cb_ctx = ctx;
	x->fd = -1;
	x->full_jid = g_strdup_printf("%s/%s", cfg->jid, resource);
	x->log.handler = on_strophe_log;
	x->log.userdata = x;
	x->sctx = xmpp_ctx_new(NULL, &x->log);
	x->conn = x->sctx ? xmpp_conn_new(x->sctx) : NULL;
	x->roster =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	x->avail = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	x->asked = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	sessions = g_slist_prepend(sessions, x);
	if (x->conn == NULL || setup_conn(x) < 0) {
		ctl_xmpp_free(x);
		return NULL;
	}
	x->tick_id = g_timeout_add(TICK_MS, on_tick, x);
	x->keepalive_id = g_timeout_add_seconds(KEEPALIVE_S, on_keepalive, x);
	start_connect(x);
	return x;
}

void ctl_xmpp_free(struct ctl_xmpp *x)
{
	if (x == NULL)
		return;
	if (x->pumping) {
		g_critical("ctl_xmpp_free called from an XMPP callback");
		return;
	}
	x->freeing = true;
	ctl_xmpp_clear_source(&x->tick_id);
	ctl_xmpp_clear_source(&x->retry_id);
	ctl_xmpp_clear_source(&x->kick_id);
	ctl_xmpp_clear_source(&x->keepalive_id);
	ctl_xmpp_clear_source(&x->sweep_id);
	ping_done(x);
	if (x->conn != NULL) {
		if (x->online)
			ctl_xmpp_send_presence(x, NULL, "unavailable");
		xmpp_disconnect(x->conn);
		pump(x); /* writes the presence and </stream:stream> */
		xmpp_conn_release(x->conn);
	}
	drop_watches(x);
	if (x->sctx != NULL)
		xmpp_ctx_free(x->sctx);
	sessions = g_slist_remove(sessions, x);
	g_hash_table_destroy(x->roster);
	g_hash_table_destroy(x->avail);
	g_hash_table_destroy(x->asked);
	g_free(x->bound);
	g_free(x->lost_why);
	g_free(x->full_jid);
	g_free(x);
}

bool ctl_xmpp_is_online(const struct ctl_xmpp *x)
{
	return x != NULL && x->online;
}

const char *ctl_xmpp_full_jid(const struct ctl_xmpp *x)
{
	return x != NULL && x->online ? x->bound : NULL;
}
