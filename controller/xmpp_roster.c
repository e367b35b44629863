/*
 * The session's roster and presence: the roster fetched after each login
 * (contacts gone while offline are reported removed) and followed through
 * server pushes, the full JIDs seen available (resources of the previous
 * session not seen again within SWEEP_MS are reported gone), subscription
 * requests (approved for contacts we follow or asked ourselves, or for
 * anybody with xmpp.auto_approve; any other request stays pending on the
 * server for the user to approve or refuse, see friends.c), and the iq
 * requests we answer (roster pushes, pings; anything else gets
 * service-unavailable).
 * Every stanza here is untrusted.
 */
#define G_LOG_DOMAIN "controller"

#include <errno.h>
#include <string.h>

#include <glib.h>
#include <strophe.h>

#include "common/log.h"
#include "controller/xmpp.h"
#include "controller/xmpp_int.h"

enum {
	SWEEP_MS = 5000, /* after a reconnect, forget unseen resources */
	MAX_ROSTER = 10000,
	MAX_AVAIL = 4 * MAX_ROSTER, /* resources tracked as available */
};

#define NS_ROSTER "jabber:iq:roster"
#define NS_PING "urn:xmpp:ping"
#define NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"

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

	if (!ctl_xmpp_jid_ok(jid) || strchr(jid, '/') != NULL ||
	    !parse_sub(xmpp_stanza_get_attribute(item, "subscription"), &sub)) {
		g_debug("xmpp: malformed roster item dropped");
		return;
	}
	if (seen != NULL)
		g_hash_table_add(seen, g_strdup(jid));
	if (sub != CTL_SUB_REMOVE &&
	    g_strcmp0(xmpp_stanza_get_attribute(item, "ask"), "subscribe") == 0)
		g_hash_table_add(x->asked, g_strdup(jid));
	else
		g_hash_table_remove(x->asked, jid);
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

	ctl_xmpp_send_presence(x, NULL, NULL);
	x->online = true;
	g_free(x->bound);
	x->bound = g_strdup(bound != NULL ? bound : x->full_jid);
	g_message("xmpp: online as %s", IPOP_LOG_STR(x->bound));
	ctl_xmpp_recovered(x);
	ctl_xmpp_clear_source(&x->sweep_id);
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
		g_hash_table_remove_all(x->asked);
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

void ctl_xmpp_request_roster(struct ctl_xmpp *x)
{
	g_autofree char *id = ctl_xmpp_next_id(x, "roster");
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

void ctl_xmpp_roster_cancel(struct ctl_xmpp *x)
{
	if (x->roster_id[0] != '\0') {
		xmpp_id_handler_delete(x->conn, on_roster_result, x->roster_id);
		x->roster_id[0] = '\0';
	}
}

/* untrusted: an iq set with a roster query; only the server may push. */
static void roster_push(struct ctl_xmpp *x, xmpp_stanza_t *st, xmpp_stanza_t *q)
{
	const char *from = xmpp_stanza_get_from(st);

	if (from != NULL && g_ascii_strcasecmp(from, x->cfg->jid) != 0) {
		g_debug("xmpp: roster push from %s ignored",
			IPOP_LOG_STR(from));
		return;
	}
	send_iq_result(x, st);
	if (x->online)
		roster_items(x, q, NULL);
}

/* untrusted: any iq addressed to us */
int ctl_xmpp_on_iq(xmpp_conn_t *conn, xmpp_stanza_t *st, void *data)
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

/* Anybody may send us a directed presence: only contacts (any roster
 * entry) and this account's own other resources are tracked, so that
 * strangers cannot grow x->avail (and the members' tables) without bound;
 * and at most MAX_AVAIL resources in all. */
static bool presence_tracked(struct ctl_xmpp *x, const char *from)
{
	g_autofree char *bare = ctl_xmpp_bare_of(from);

	if (!g_hash_table_contains(x->roster, bare) &&
	    g_ascii_strcasecmp(bare, x->cfg->jid) != 0) {
		g_debug("xmpp: presence from %s, not a contact, ignored",
			IPOP_LOG_STR(from));
		return false;
	}
	if (g_hash_table_size(x->avail) >= MAX_AVAIL &&
	    !g_hash_table_contains(x->avail, from)) {
		g_debug("xmpp: %d resources available already; presence "
			"from %s ignored",
			MAX_AVAIL, IPOP_LOG_STR(from));
		return false;
	}
	return true;
}

static void presence_change(struct ctl_xmpp *x, const char *from,
			    bool available)
{
	if (!available && strchr(from, '/') == NULL) {
		bare_unavailable(x, from);
		return;
	}
	if (!ctl_xmpp_is_full_jid(from)) {
		g_debug("xmpp: presence from a bare or bad JID dropped");
		return;
	}
	if (x->bound != NULL && strcmp(from, x->bound) == 0)
		return;
	if (available && !presence_tracked(x, from))
		return;
	if (available)
		g_hash_table_insert(x->avail, g_strdup(from),
				    GUINT_TO_POINTER(x->session));
	else
		g_hash_table_remove(x->avail, from);
	if (x->ops->on_presence != NULL)
		x->ops->on_presence(x->cb_ctx, from, available);
}

/* A request completing a friendship we started (we follow the contact,
 * or asked to) is approved; with xmpp.auto_approve every request is, and
 * we ask back.  Any other request is left pending on the server, which
 * delivers it again at every login until the user approves or refuses it
 * (`ipop-controller friends approve|refuse JID`). */
static void subscribe_request(struct ctl_xmpp *x, const char *from)
{
	g_autofree char *bare = ctl_xmpp_bare_of(from);
	gpointer v;
	enum ctl_sub sub = CTL_SUB_NONE;
	bool follows, asked;

	if (strchr(from, '/') != NULL || !strcmp(bare, x->cfg->jid)) {
		g_debug("xmpp: subscription request from %s ignored",
			IPOP_LOG_STR(from));
		return;
	}
	if (g_hash_table_lookup_extended(x->roster, bare, NULL, &v))
		sub = GPOINTER_TO_INT(v);
	follows = sub == CTL_SUB_TO || sub == CTL_SUB_BOTH;
	asked = g_hash_table_contains(x->asked, bare);
	if (follows || asked) {
		ctl_xmpp_send_presence(x, bare, "subscribed");
		g_message("xmpp: approved subscription request of %s (%s)",
			  IPOP_LOG_STR(bare),
			  follows ? "a contact we follow" : "we asked it too");
	} else if (x->cfg->auto_approve) {
		ctl_xmpp_send_presence(x, bare, "subscribed");
		ctl_xmpp_send_presence(x, bare, "subscribe");
		g_hash_table_add(x->asked, g_strdup(bare));
		g_message("xmpp: approved subscription request of %s and asked "
			  "back (xmpp.auto_approve)",
			  IPOP_LOG_STR(bare));
	} else {
		g_message(
		    "xmpp: subscription request of %s is pending: "
		    "approve it with `ipop-controller --config %s friends "
		    "approve %s`, or refuse it",
		    IPOP_LOG_STR(bare), IPOP_LOG_STR(x->cfg->path),
		    IPOP_LOG_STR(bare));
	}
}

/* untrusted: presence from anybody */
int ctl_xmpp_on_presence(xmpp_conn_t *conn, xmpp_stanza_t *st, void *data)
{
	struct ctl_xmpp *x = data;
	const char *from = xmpp_stanza_get_from(st);
	const char *type = xmpp_stanza_get_type(st);

	(void)conn;
	if (x->freeing || !x->online)
		return 1;
	if (!ctl_xmpp_jid_ok(from)) {
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
		g_message("xmpp: %s from %s", IPOP_LOG_STR(type),
			  IPOP_LOG_STR(from));
	else
		g_debug("xmpp: presence of type %s from %s ignored",
			IPOP_LOG_STR(type), IPOP_LOG_STR(from));
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

	if (x == NULL || type == NULL || !ctl_xmpp_jid_ok(bare_jid) ||
	    strchr(bare_jid, '/') != NULL)
		return -EINVAL;
	for (size_t i = 0; i < G_N_ELEMENTS(types); i++)
		known = known || strcmp(type, types[i]) == 0;
	if (!known)
		return -EINVAL;
	if (!x->online)
		return -ENOTCONN;
	ctl_xmpp_send_presence(x, bare_jid, type);
	ctl_xmpp_kick(x);
	return 0;
}
