/*
 * The controller's XMPP session.  Owns one libstrophe context and
 * connection and drives them from the GLib default main context: the
 * socket, learnt from libstrophe's sockopt callback on every (re)connect,
 * is watched with g_unix_fd_add; every wakeup runs xmpp_run_once(ctx, 0)
 * twice (output queued by a handler is written on the next run); a
 * one-shot G_IO_OUT watch catches the end of the non-blocking connect and
 * a short periodic timer serves libstrophe's timed handlers.  After login
 * it fetches the roster, sends presence and reports online; it follows
 * roster pushes, presence and signalling messages, and reconnects with
 * exponential backoff.  Stanzas from the network are untrusted: anything
 * malformed or oversized is logged at debug level and dropped.  It knows
 * nothing of overlays (see signal.c and gvpn.c).  Single-threaded, like
 * libstrophe.
 */
#define G_LOG_DOMAIN "controller"

#include <errno.h>
#include <string.h>
#include <sys/select.h>

#include <glib.h>
#include <glib-unix.h>
#include <strophe.h>

#include "controller/signal.h"
#include "controller/xmpp.h"

enum {
	TICK_MS = 150,	  /* libstrophe timers, partial writes */
	KEEPALIVE_S = 30, /* whitespace keepalive while online */
	SWEEP_MS = 5000,  /* after a reconnect, forget unseen resources */
	MAX_ATTRS = 32,	  /* attributes of one <ipop/> element */
	MAX_JID = 3071,	  /* RFC 7622: three parts of 1023 bytes */
	MAX_ROSTER = 10000,
	PUMP_MAX = 16, /* xmpp_run_once calls per wakeup, at most */
};

#define NS_ROSTER "jabber:iq:roster"
#define NS_PING "urn:xmpp:ping"
#define NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"

struct ctl_xmpp {
	const struct ctl_config *cfg;
	const struct ctl_xmpp_ops *ops;
	void *cb_ctx;
	char *full_jid; /* the JID we ask to bind */
	xmpp_log_t log;
	xmpp_ctx_t *sctx;
	xmpp_conn_t *conn;
	guint in_id, out_id, tick_id, retry_id, kick_id, keepalive_id, sweep_id;
	unsigned backoff_ms;
	unsigned serial;    /* stanza ids */
	unsigned session;   /* logins so far */
	char roster_id[32]; /* pending roster request, "" if none */
	bool logged_in;	    /* libstrophe reported CONNECT */
	bool online;	    /* roster received and presence sent */
	bool pumping;
	bool activity; /* libstrophe logged something this run */
	bool freeing;
	char *bound;	    /* bound full JID while online */
	GHashTable *roster; /* bare JID -> enum ctl_sub */
	GHashTable *avail;  /* full JID -> session it was last seen in */
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

static void clear_source(guint *id)
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
static void kick(struct ctl_xmpp *x)
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
	clear_source(&x->in_id);
	clear_source(&x->out_id);
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
		g_message("xmpp: libstrophe %s: %s", area, msg);
	else if (level == XMPP_LEVEL_WARN)
		g_debug("xmpp: libstrophe %s: %s", area, msg);
}

/* ---- helpers for untrusted strings ---- */

/* True for a plausible JID: 3..MAX_JID bytes of valid UTF-8 with no
 * whitespace or control characters. */
static bool jid_ok(const char *s)
{
	size_t n;

	if (s == NULL)
		return false;
	n = strnlen(s, MAX_JID + 1);
	if (n < 3 || n > MAX_JID || !g_utf8_validate(s, n, NULL))
		return false;
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return false;
	}
	return true;
}

static bool is_full_jid(const char *s)
{
	const char *slash;

	if (!jid_ok(s))
		return false;
	slash = strchr(s, '/');
	return slash != NULL && slash != s && slash[1] != '\0';
}

static char *bare_of(const char *jid)
{
	const char *slash = strchr(jid, '/');

	return slash ? g_strndup(jid, (gsize)(slash - jid)) : g_strdup(jid);
}

static char *next_id(struct ctl_xmpp *x, const char *prefix)
{
	return g_strdup_printf("%s%u", prefix, ++x->serial);
}

/* ---- replies ---- */

static void send_iq_result(struct ctl_xmpp *x, xmpp_stanza_t *req)
{
	const char *id = xmpp_stanza_get_id(req);
	const char *from = xmpp_stanza_get_from(req);
	xmpp_stanza_t *iq;

	if (id == NULL)
		return;
	iq = xmpp_iq_new(x->sctx, "result", id);
	if (from != NULL)
		xmpp_stanza_set_to(iq, from);
	xmpp_send(x->conn, iq);
	xmpp_stanza_release(iq);
}

static void send_iq_unavailable(struct ctl_xmpp *x, xmpp_stanza_t *req)
{
	const char *id = xmpp_stanza_get_id(req);
	const char *from = xmpp_stanza_get_from(req);
	xmpp_stanza_t *iq, *err, *cond;

	if (id == NULL)
		return;
	iq = xmpp_iq_new(x->sctx, "error", id);
	if (from != NULL)
		xmpp_stanza_set_to(iq, from);
	err = xmpp_stanza_new(x->sctx);
	xmpp_stanza_set_name(err, "error");
	xmpp_stanza_set_type(err, "cancel");
	cond = xmpp_stanza_new(x->sctx);
	xmpp_stanza_set_name(cond, "service-unavailable");
	xmpp_stanza_set_ns(cond, NS_STANZAS);
	xmpp_stanza_add_child_ex(err, cond, 0);
	xmpp_stanza_add_child_ex(iq, err, 0);
	xmpp_send(x->conn, iq);
	xmpp_stanza_release(iq);
}

static void send_presence(struct ctl_xmpp *x, const char *to, const char *type)
{
	xmpp_stanza_t *p = xmpp_presence_new(x->sctx);

	if (to != NULL)
		xmpp_stanza_set_to(p, to);
	if (type != NULL)
		xmpp_stanza_set_type(p, type);
	xmpp_send(x->conn, p);
	xmpp_stanza_release(p);
}

/* ---- roster ---- */

static bool parse_sub(const char *s, enum ctl_sub *sub)
{
	static const char *const names[] = {
	    [CTL_SUB_NONE] = "none",	 [CTL_SUB_TO] = "to",
	    [CTL_SUB_FROM] = "from",	 [CTL_SUB_BOTH] = "both",
	    [CTL_SUB_REMOVE] = "remove",
	};

	if (s == NULL) {
		*sub = CTL_SUB_NONE;
		return true;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		if (strcmp(s, names[i]) == 0) {
			*sub = i;
			return true;
		}
	}
	return false;
}

/* untrusted: one <item/> of a roster result or push */
static void roster_item(struct ctl_xmpp *x, xmpp_stanza_t *item,
			GHashTable *seen)
{
	const char *jid = xmpp_stanza_get_attribute(item, "jid");
	enum ctl_sub sub;

	if (!jid_ok(jid) || strchr(jid, '/') != NULL ||
	    !parse_sub(xmpp_stanza_get_attribute(item, "subscription"), &sub)) {
		g_debug("xmpp: malformed roster item dropped");
		return;
	}
	if (seen != NULL)
		g_hash_table_add(seen, g_strdup(jid));
	if (sub == CTL_SUB_REMOVE)
		g_hash_table_remove(x->roster, jid);
	else if (g_hash_table_size(x->roster) < MAX_ROSTER ||
		 g_hash_table_contains(x->roster, jid))
		g_hash_table_insert(x->roster, g_strdup(jid),
				    GINT_TO_POINTER(sub));
	else
		return;
	if (!x->freeing && x->ops->on_roster != NULL)
		x->ops->on_roster(x->cb_ctx, jid, sub);
}

static void roster_items(struct ctl_xmpp *x, xmpp_stanza_t *query,
			 GHashTable *seen)
{
	xmpp_stanza_t *c;

	for (c = xmpp_stanza_get_children(query); c != NULL;
	     c = xmpp_stanza_get_next(c)) {
		const char *name = xmpp_stanza_get_name(c);

		if (name != NULL && strcmp(name, "item") == 0)
			roster_item(x, c, seen);
	}
}

/* Contacts dropped from the roster while we were offline. */
static void roster_drop_unseen(struct ctl_xmpp *x, GHashTable *seen)
{
	GHashTableIter it;
	gpointer key;
	GPtrArray *gone = g_ptr_array_new_with_free_func(g_free);

	g_hash_table_iter_init(&it, x->roster);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		if (!g_hash_table_contains(seen, key)) {
			g_ptr_array_add(gone, g_strdup(key));
			g_hash_table_iter_remove(&it);
		}
	}
	for (guint i = 0; i < gone->len; i++) {
		if (x->ops->on_roster != NULL)
			x->ops->on_roster(x->cb_ctx, gone->pdata[i],
					  CTL_SUB_REMOVE);
	}
	g_ptr_array_free(gone, TRUE);
}

static gboolean on_sweep(gpointer data);

static void go_online(struct ctl_xmpp *x)
{
	const char *bound = xmpp_conn_get_bound_jid(x->conn);

	send_presence(x, NULL, NULL);
	x->online = true;
	g_free(x->bound);
	x->bound = g_strdup(bound != NULL ? bound : x->full_jid);
	g_message("xmpp: online as %s", x->bound);
	clear_source(&x->sweep_id);
	x->sweep_id = g_timeout_add(SWEEP_MS, on_sweep, x);
	if (x->ops->on_online != NULL)
		x->ops->on_online(x->cb_ctx, x->bound);
}

static int on_roster_result(xmpp_conn_t *conn, xmpp_stanza_t *st, void *data)
{
	struct ctl_xmpp *x = data;
	const char *type = xmpp_stanza_get_type(st);
	xmpp_stanza_t *q;
	GHashTable *seen;

	(void)conn;
	x->roster_id[0] = '\0';
	if (x->freeing)
		return 0;
	q = xmpp_stanza_get_child_by_name_and_ns(st, "query", NS_ROSTER);
	if (type != NULL && strcmp(type, "result") == 0) {
		seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					     NULL);
		if (q != NULL)
			roster_items(x, q, seen);
		roster_drop_unseen(x, seen);
		g_hash_table_destroy(seen);
	} else {
		g_warning("xmpp: roster request failed; going on without it");
	}
	go_online(x);
	return 0;
}

static void request_roster(struct ctl_xmpp *x)
{
	g_autofree char *id = next_id(x, "roster");
	xmpp_stanza_t *iq = xmpp_iq_new(x->sctx, "get", id);
	xmpp_stanza_t *q = xmpp_stanza_new(x->sctx);

	xmpp_stanza_set_name(q, "query");
	xmpp_stanza_set_ns(q, NS_ROSTER);
	xmpp_stanza_add_child_ex(iq, q, 0);
	g_strlcpy(x->roster_id, id, sizeof(x->roster_id));
	xmpp_id_handler_add(x->conn, on_roster_result, x->roster_id, x);
	xmpp_send(x->conn, iq);
	xmpp_stanza_release(iq);
}

/* untrusted: an iq set with a roster query; only the server may push. */
static void roster_push(struct ctl_xmpp *x, xmpp_stanza_t *st, xmpp_stanza_t *q)
{
	const char *from = xmpp_stanza_get_from(st);

	if (from != NULL && g_ascii_strcasecmp(from, x->cfg->jid) != 0) {
		g_debug("xmpp: roster push from %.64s ignored", from);
		return;
	}
	send_iq_result(x, st);
	if (x->online)
		roster_items(x, q, NULL);
}

/* untrusted: any iq addressed to us */
static int on_iq(xmpp_conn_t *conn, xmpp_stanza_t *st, void *data)
{
	struct ctl_xmpp *x = data;
	const char *type = xmpp_stanza_get_type(st);
	xmpp_stanza_t *q;

	(void)conn;
	if (type == NULL || x->freeing)
		return 1;
	if (strcmp(type, "set") == 0) {
		q = xmpp_stanza_get_child_by_name_and_ns(st, "query",
							 NS_ROSTER);
		if (q != NULL)
			roster_push(x, st, q);
		else
			send_iq_unavailable(x, st);
	} else if (strcmp(type, "get") == 0) {
		if (xmpp_stanza_get_child_by_name_and_ns(st, "ping", NS_PING))
			send_iq_result(x, st);
		else
			send_iq_unavailable(x, st);
	}
	return 1;
}

/* ---- presence ---- */

/* Reports each JID in gone (owned) as unavailable. */
static void report_gone(struct ctl_xmpp *x, GPtrArray *gone)
{
	for (guint i = 0; i < gone->len; i++) {
		if (x->ops->on_presence != NULL)
			x->ops->on_presence(x->cb_ctx, gone->pdata[i], false);
	}
	g_ptr_array_free(gone, TRUE);
}

/* "unavailable" from a bare JID: none of its resources is online. */
static void bare_unavailable(struct ctl_xmpp *x, const char *bare)
{
	size_t n = strlen(bare);
	GHashTableIter it;
	gpointer key;
	GPtrArray *gone = g_ptr_array_new_with_free_func(g_free);

	g_hash_table_iter_init(&it, x->avail);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		const char *full = key;

		if (strncmp(full, bare, n) == 0 && full[n] == '/') {
			g_ptr_array_add(gone, g_strdup(full));
			g_hash_table_iter_remove(&it);
		}
	}
	report_gone(x, gone);
}

static void presence_change(struct ctl_xmpp *x, const char *from,
			    bool available)
{
	if (!available && strchr(from, '/') == NULL) {
		bare_unavailable(x, from);
		return;
	}
	if (!is_full_jid(from)) {
		g_debug("xmpp: presence from a bare or bad JID dropped");
		return;
	}
	if (x->bound != NULL && strcmp(from, x->bound) == 0)
		return;
	if (available)
		g_hash_table_insert(x->avail, g_strdup(from),
				    GUINT_TO_POINTER(x->session));
	else
		g_hash_table_remove(x->avail, from);
	if (x->ops->on_presence != NULL)
		x->ops->on_presence(x->cb_ctx, from, available);
}

/* A contact we already follow (subscription to/both) asking to follow us
 * is approved; requests from anybody else are only logged. */
static void subscribe_request(struct ctl_xmpp *x, const char *from)
{
	g_autofree char *bare = bare_of(from);
	gpointer v;
	enum ctl_sub sub = CTL_SUB_NONE;

	if (g_hash_table_lookup_extended(x->roster, bare, NULL, &v))
		sub = GPOINTER_TO_INT(v);
	if (sub == CTL_SUB_TO || sub == CTL_SUB_BOTH) {
		send_presence(x, bare, "subscribed");
		g_message("xmpp: approved subscription request of %s", bare);
	} else {
		g_message("xmpp: subscription request of %s not approved "
			  "(not a contact we follow)",
			  bare);
	}
}

/* untrusted: presence from anybody */
static int on_presence(xmpp_conn_t *conn, xmpp_stanza_t *st, void *data)
{
	struct ctl_xmpp *x = data;
	const char *from = xmpp_stanza_get_from(st);
	const char *type = xmpp_stanza_get_type(st);

	(void)conn;
	if (x->freeing || !x->online)
		return 1;
	if (!jid_ok(from)) {
		g_debug("xmpp: presence without a valid from dropped");
		return 1;
	}
	if (type == NULL || strcmp(type, "unavailable") == 0)
		presence_change(x, from, type == NULL);
	else if (strcmp(type, "subscribe") == 0)
		subscribe_request(x, from);
	else if (strcmp(type, "subscribed") == 0 ||
		 strcmp(type, "unsubscribe") == 0 ||
		 strcmp(type, "unsubscribed") == 0)
		g_message("xmpp: %s from %s", type, from);
	else
		g_debug("xmpp: presence of type %.32s from %s ignored", type,
			from);
	return 1;
}

/* Resources of the previous session that were not seen again within
 * SWEEP_MS of this login went away while we were offline. */
static gboolean on_sweep(gpointer data)
{
	struct ctl_xmpp *x = data;
	GHashTableIter it;
	gpointer key, val;
	GPtrArray *gone = g_ptr_array_new_with_free_func(g_free);

	x->sweep_id = 0;
	g_hash_table_iter_init(&it, x->avail);
	while (g_hash_table_iter_next(&it, &key, &val)) {
		if (GPOINTER_TO_UINT(val) != x->session) {
			g_ptr_array_add(gone, g_strdup(key));
			g_hash_table_iter_remove(&it);
		}
	}
	report_gone(x, gone);
	return G_SOURCE_REMOVE;
}

/* ---- signalling messages ---- */

/* untrusted: the attributes of an <ipop/> element; NULL if too many or
 * too large. */
static GHashTable *signal_attrs(xmpp_stanza_t *ipop)
{
	const char *kv[2 * MAX_ATTRS];
	int count = xmpp_stanza_get_attribute_count(ipop);
	int n;
	size_t total = 0;
	GHashTable *t;

	if (count <= 0 || count > MAX_ATTRS)
		return NULL;
	n = xmpp_stanza_get_attributes(ipop, kv, 2 * MAX_ATTRS);
	if (n < 0 || n > 2 * MAX_ATTRS || n % 2 != 0)
		return NULL;
	for (int i = 0; i < n; i++) {
		if (kv[i] == NULL)
			return NULL;
		total += strlen(kv[i]);
	}
	if (total > CTL_XMPP_MAX_PAYLOAD)
		return NULL;
	t = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	for (int i = 0; i < n; i += 2) {
		if (strcmp(kv[i], "xmlns") != 0)
			g_hash_table_insert(t, g_strdup(kv[i]),
					    g_strdup(kv[i + 1]));
	}
	return t;
}

/* untrusted: messages from anybody */
static int on_message(xmpp_conn_t *conn, xmpp_stanza_t *st, void *data)
{
	struct ctl_xmpp *x = data;
	const char *from = xmpp_stanza_get_from(st);
	const char *type = xmpp_stanza_get_type(st);
	xmpp_stanza_t *ipop;
	GHashTable *attrs;

	(void)conn;
	if (x->freeing || !x->online)
		return 1;
	ipop = xmpp_stanza_get_child_by_name_and_ns(st, "ipop", CTL_SIGNAL_NS);
	if (ipop == NULL || (type != NULL && strcmp(type, "error") == 0)) {
		g_debug("xmpp: message without a signal dropped");
		return 1;
	}
	if (!is_full_jid(from) ||
	    (x->bound != NULL && strcmp(from, x->bound) == 0)) {
		g_debug("xmpp: signal from a bare, bad or own JID dropped");
		return 1;
	}
	attrs = signal_attrs(ipop);
	if (attrs == NULL) {
		g_debug("xmpp: oversized or malformed signal from %s dropped",
			from);
		return 1;
	}
	if (x->ops->on_signal != NULL)
		x->ops->on_signal(x->cb_ctx, from, attrs);
	g_hash_table_unref(attrs);
	return 1;
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

static void schedule_retry(struct ctl_xmpp *x)
{
	/* Up to a quarter more, so that controllers thrown off by a server
	 * restart do not all come back at the same instant. */
	unsigned delay = x->backoff_ms + (unsigned)g_random_int_range(
					     0, (gint)x->backoff_ms / 4 + 1);

	clear_source(&x->retry_id);
	g_message("xmpp: reconnecting in %u ms", delay);
	x->retry_id = g_timeout_add(delay, on_retry, x);
	x->backoff_ms = MIN(x->backoff_ms * 2, CTL_XMPP_BACKOFF_MAX_MS);
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
	x->backoff_ms = CTL_XMPP_BACKOFF_MIN_MS;
	g_message("xmpp: logged in as %s (%s)", bound ? bound : x->full_jid,
		  xmpp_conn_is_secured(x->conn) ? "TLS" : "no TLS");
	request_roster(x);
}

static void lost(struct ctl_xmpp *x, int error, xmpp_stream_error_t *se)
{
	bool was_online = x->online;
	g_autofree char *why = describe(x->logged_in, error, se);

	drop_watches(x);
	if (x->roster_id[0] != '\0') {
		xmpp_id_handler_delete(x->conn, on_roster_result, x->roster_id);
		x->roster_id[0] = '\0';
	}
	clear_source(&x->sweep_id);
	x->online = false;
	g_clear_pointer(&x->bound, g_free);
	if (x->freeing)
		return;
	if (x->logged_in)
		g_message("xmpp: disconnected: %s", why);
	else
		g_message("xmpp: connection to %s:%u failed: %s",
			  x->cfg->server ? x->cfg->server : "(SRV)",
			  x->cfg->port, why);
	x->logged_in = false;
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
		kick(x);
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
	xmpp_handler_add(x->conn, on_iq, NULL, "iq", NULL, x);
	xmpp_handler_add(x->conn, on_presence, NULL, "presence", NULL, x);
	xmpp_handler_add(x->conn, on_message, NULL, "message", NULL, x);
	return 0;
}

struct ctl_xmpp *ctl_xmpp_new(const struct ctl_config *cfg,
			      const char *resource,
			      const struct ctl_xmpp_ops *ops, void *ctx)
{
	static bool initialised;
	struct ctl_xmpp *x;

	if (cfg == NULL || ops == NULL || !jid_ok(cfg->jid) ||
	    strchr(cfg->jid, '/') != NULL || cfg->password == NULL ||
	    !resource_ok(resource))
		return NULL;
	if (!initialised) {
		xmpp_initialize();
		initialised = true;
	}
	x = g_new0(struct ctl_xmpp, 1);
	x->cfg = cfg;
	x->ops = ops;
	x->cb_ctx = ctx;
	x->full_jid = g_strdup_printf("%s/%s", cfg->jid, resource);
	x->log.handler = on_strophe_log;
	x->log.userdata = x;
	x->sctx = xmpp_ctx_new(NULL, &x->log);
	x->conn = x->sctx ? xmpp_conn_new(x->sctx) : NULL;
	x->roster =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	x->avail = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	x->backoff_ms = CTL_XMPP_BACKOFF_MIN_MS;
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
	clear_source(&x->tick_id);
	clear_source(&x->retry_id);
	clear_source(&x->kick_id);
	clear_source(&x->keepalive_id);
	clear_source(&x->sweep_id);
	if (x->conn != NULL) {
		if (x->online)
			send_presence(x, NULL, "unavailable");
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
	g_free(x->bound);
	g_free(x->full_jid);
	g_free(x);
}

/* ---- sending ---- */

/* An XML attribute name we are willing to write. */
static bool xml_name_ok(const char *s)
{
	if (!g_ascii_isalpha(s[0]) && s[0] != '_')
		return false;
	for (const char *p = s + 1; *p != '\0'; p++) {
		if (!g_ascii_isalnum(*p) && strchr("._-", *p) == NULL)
			return false;
	}
	return strcmp(s, "xmlns") != 0;
}

/* Valid UTF-8 without control characters (XML 1.0 forbids most). */
static bool xml_value_ok(const char *s)
{
	if (!g_utf8_validate(s, -1, NULL))
		return false;
	for (const char *p = s; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	}
	return true;
}

static xmpp_stanza_t *signal_element(struct ctl_xmpp *x, GHashTable *attrs)
{
	xmpp_stanza_t *ipop = xmpp_stanza_new(x->sctx);
	GHashTableIter it;
	gpointer k, v;

	xmpp_stanza_set_name(ipop, "ipop");
	xmpp_stanza_set_ns(ipop, CTL_SIGNAL_NS);
	g_hash_table_iter_init(&it, attrs);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		if (k == NULL || v == NULL || !xml_name_ok(k) ||
		    !xml_value_ok(v)) {
			xmpp_stanza_release(ipop);
			return NULL;
		}
		xmpp_stanza_set_attribute(ipop, k, v);
	}
	return ipop;
}

int ctl_xmpp_send(struct ctl_xmpp *x, const char *to_full_jid,
		  GHashTable *attrs)
{
	g_autofree char *id = NULL;
	xmpp_stanza_t *msg, *ipop;
	char *text = NULL;
	size_t len = 0;
	int r = 0;

	if (x == NULL || attrs == NULL || !jid_ok(to_full_jid))
		return -EINVAL;
	if (!x->online)
		return -ENOTCONN;
	if (g_hash_table_size(attrs) > MAX_ATTRS)
		return -EMSGSIZE;
	if ((ipop = signal_element(x, attrs)) == NULL)
		return -EINVAL;
	id = next_id(x, "s");
	msg = xmpp_message_new(x->sctx, "normal", to_full_jid, id);
	xmpp_stanza_add_child_ex(msg, ipop, 0);
	if (xmpp_stanza_to_text(msg, &text, &len) != XMPP_EOK)
		r = -ENOMEM;
	else if (len > CTL_XMPP_MAX_PAYLOAD)
		r = -EMSGSIZE;
	if (text != NULL)
		xmpp_free(x->sctx, text);
	if (r == 0) {
		xmpp_send(x->conn, msg);
		kick(x);
	}
	xmpp_stanza_release(msg);
	return r;
}

int ctl_xmpp_subscription(struct ctl_xmpp *x, const char *bare_jid,
			  const char *type)
{
	static const char *const types[] = {
	    "subscribe",
	    "subscribed",
	    "unsubscribe",
	    "unsubscribed",
	};
	bool known = false;

	if (x == NULL || type == NULL || !jid_ok(bare_jid) ||
	    strchr(bare_jid, '/') != NULL)
		return -EINVAL;
	for (size_t i = 0; i < G_N_ELEMENTS(types); i++)
		known = known || strcmp(type, types[i]) == 0;
	if (!known)
		return -EINVAL;
	if (!x->online)
		return -ENOTCONN;
	send_presence(x, bare_jid, type);
	kick(x);
	return 0;
}

bool ctl_xmpp_is_online(const struct ctl_xmpp *x)
{
	return x != NULL && x->online;
}

const char *ctl_xmpp_full_jid(const struct ctl_xmpp *x)
{
	return x != NULL && x->online ? x->bound : NULL;
}
