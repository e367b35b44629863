/*
 * The friends command: one short XMPP session as the configuration's
 * account, under a resource of its own ("friends-" and random hex), driven
 * by its own libstrophe loop (no daemon, no GLib main loop).  It fetches
 * the roster, sends initial presence so that the server hands over the
 * subscription requests still pending for the account, waits for a ping
 * round trip and a short grace for those, then acts:
 *   list          prints "JID SUBSCRIPTION [asked] [pending]" per contact
 *   add JID       asks to follow JID (subscribe) and approves JID's pending
 *                 request if there is one (subscribed)
 *   approve JID   approves JID's pending request and asks back
 *   refuse JID    refuses JID's pending request (unsubscribed)
 *   remove JID    removes JID from the roster (the server cancels both
 *                 directions of the subscription)
 * and prints the contact's resulting roster line.  Friendship in IPOP is a
 * mutual subscription (`both`): a device links to the devices of accounts
 * whose subscription is `both` (SocialVPN) or, in GroupVPN, to the
 * members with `both` who also hold the group and its secret.  Every
 * stanza from the server is untrusted.
 */
#define G_LOG_DOMAIN "controller"

#include <stdio.h>
#include <string.h>

#include <glib.h>
#include <strophe.h>

#include "common/log.h"
#include "controller/friends.h"
#include "controller/xmpp_int.h"

enum {
	TIMEOUT_MS = 15000, /* the whole session */
	GRACE_MS = 300,	    /* after the ping: late pending requests */
	SETTLE_MS = 1500,   /* after the action: its roster push */
	BYE_MS = 2000,	    /* closing the stream */
	RUN_MS = 50,	    /* one xmpp_run_once */
};

#define NS_ROSTER "jabber:iq:roster"
#define NS_PING "urn:xmpp:ping"
#define NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"

enum cmd { CMD_LIST, CMD_ADD, CMD_APPROVE, CMD_REFUSE, CMD_REMOVE };

enum phase {
	PH_CONNECT,  /* logging in */
	PH_ROSTER,   /* roster requested */
	PH_COLLECT,  /* presence sent, ping in flight */
	PH_GRACE,    /* pong received, pending requests may still come */
	PH_ACT,	     /* action sent, waiting for its answer */
	PH_SETTLE,   /* answered, waiting for the contact's roster push */
	PH_FINISHED, /* result known */
};

struct item {
	char sub[8]; /* none, to, from, both */
	bool asked;  /* ask="subscribe": our request awaits an answer */
};

struct fr {
	const struct ctl_config *cfg;
	enum cmd cmd;
	char *peer; /* the JID argument, lower-cased */
	xmpp_ctx_t *ctx;
	xmpp_conn_t *conn;
	xmpp_log_t log;
	GHashTable *roster;  /* bare JID -> struct item */
	GHashTable *pending; /* bare JIDs whose request awaits us */
	enum phase phase;
	gint64 until; /* end of PH_GRACE / PH_SETTLE, monotonic us */
	bool connected, closed, pushed;
	int status;
	char *error;
	unsigned serial;
};

static const struct {
	const char *name;
	enum cmd cmd;
	bool has_jid;
} cmds[] = {
    {"list", CMD_LIST, false},	    {"add", CMD_ADD, true},
    {"approve", CMD_APPROVE, true}, {"refuse", CMD_REFUSE, true},
    {"remove", CMD_REMOVE, true},
};

static gint64 now_us(void)
{
	return g_get_monotonic_time();
}

static void fail(struct fr *f, char *msg)
{
	if (f->error == NULL)
		f->error = msg;
	else
		g_free(msg);
	f->status = CTL_FRIENDS_FAILED;
	f->phase = PH_FINISHED;
}

static char *next_id(struct fr *f, const char *prefix)
{
	return g_strdup_printf("%s%u", prefix, ++f->serial);
}

static void send_presence(struct fr *f, const char *to, const char *type)
{
	xmpp_stanza_t *p = xmpp_presence_new(f->ctx);

	if (to != NULL)
		xmpp_stanza_set_to(p, to);
	if (type != NULL)
		xmpp_stanza_set_type(p, type);
	xmpp_send(f->conn, p);
	xmpp_stanza_release(p);
}

/* Available, priority 0: ejabberd hands over pending requests only to
 * resources of non-negative priority (Prosody to any). */
static void send_initial_presence(struct fr *f)
{
	send_presence(f, NULL, NULL);
}

/* An iq of type with one child NAME in NS (and its id handler). */
static xmpp_stanza_t *iq_with(struct fr *f, const char *type, const char *name,
			      const char *ns, xmpp_handler h,
			      const char *prefix)
{
	g_autofree char *id = next_id(f, prefix);
	xmpp_stanza_t *iq = xmpp_iq_new(f->ctx, type, id);
	xmpp_stanza_t *q = xmpp_stanza_new(f->ctx);

	xmpp_stanza_set_name(q, name);
	xmpp_stanza_set_ns(q, ns);
	xmpp_stanza_add_child_ex(iq, q, 0);
	xmpp_id_handler_add(f->conn, h, id, f);
	return iq;
}

static bool is_result(xmpp_stanza_t *st)
{
	return g_strcmp0(xmpp_stanza_get_type(st), "result") == 0;
}

/* The first child of an iq's <error/>, e.g. "not-allowed". */
static const char *error_of(xmpp_stanza_t *st)
{
	xmpp_stanza_t *e = xmpp_stanza_get_child_by_name(st, "error");
	xmpp_stanza_t *c = e ? xmpp_stanza_get_children(e) : NULL;
	const char *name = c ? xmpp_stanza_get_name(c) : NULL;

	return name != NULL && ctl_xmpp_jid_ok(name) ? name : "unknown error";
}

/* ---- the roster ---- */

/* untrusted: one <item/> of the roster result or a push */
static void take_item(struct fr *f, xmpp_stanza_t *item)
{
	const char *jid = xmpp_stanza_get_attribute(item, "jid");
	const char *sub = xmpp_stanza_get_attribute(item, "subscription");
	struct item *it;

	if (!ctl_xmpp_jid_ok(jid) || strchr(jid, '/') != NULL)
		return;
	if (sub == NULL)
		sub = "none";
	if (f->peer != NULL && g_ascii_strcasecmp(jid, f->peer) == 0)
		f->pushed = true;
	if (strcmp(sub, "remove") == 0) {
		g_hash_table_remove(f->roster, jid);
		return;
	}
	if (strcmp(sub, "none") && strcmp(sub, "to") && strcmp(sub, "from") &&
	    strcmp(sub, "both"))
		return;
	it = g_new0(struct item, 1);
	g_strlcpy(it->sub, sub, sizeof(it->sub));
	it->asked =
	    g_strcmp0(xmpp_stanza_get_attribute(item, "ask"), "subscribe") == 0;
	g_hash_table_replace(f->roster, g_ascii_strdown(jid, -1), it);
}

static void take_items(struct fr *f, xmpp_stanza_t *query)
{
	for (xmpp_stanza_t *c = xmpp_stanza_get_children(query); c != NULL;
	     c = xmpp_stanza_get_next(c)) {
		if (g_strcmp0(xmpp_stanza_get_name(c), "item") == 0)
			take_item(f, c);
	}
}

static int on_pong(xmpp_conn_t *conn, xmpp_stanza_t *st, void *data);

static void send_ping(struct fr *f)
{
	xmpp_stanza_t *iq = iq_with(f, "get", "ping", NS_PING, on_pong, "ping");

	xmpp_send(f->conn, iq);
	xmpp_stanza_release(iq);
}

static int on_roster(xmpp_conn_t *conn, xmpp_stanza_t *st, void *data)
{
	struct fr *f = data;
	xmpp_stanza_t *q;

	(void)conn;
	if (!is_result(st)) {
		fail(f, g_strdup_printf("the server refused the roster: %s",
					error_of(st)));
		return 0;
	}
	q = xmpp_stanza_get_child_by_name_and_ns(st, "query", NS_ROSTER);
	if (q != NULL)
		take_items(f, q);
	send_initial_presence(f);
	send_ping(f);
	f->phase = PH_COLLECT;
	return 0;
}

/* ---- the action ---- */

static int on_removed(xmpp_conn_t *conn, xmpp_stanza_t *st, void *data)
{
	struct fr *f = data;

	(void)conn;
	if (!is_result(st)) {
		fail(f, g_strdup_printf("the server refused to remove %s: %s",
					f->peer, error_of(st)));
		return 0;
	}
	f->phase = PH_SETTLE;
	f->until = now_us() + SETTLE_MS * 1000;
	return 0;
}

static void send_remove(struct fr *f)
{
	xmpp_stanza_t *iq =
	    iq_with(f, "set", "query", NS_ROSTER, on_removed, "remove");
	xmpp_stanza_t *item = xmpp_stanza_new(f->ctx);

	xmpp_stanza_set_name(item, "item");
	xmpp_stanza_set_attribute(item, "jid", f->peer);
	xmpp_stanza_set_attribute(item, "subscription", "remove");
	xmpp_stanza_add_child_ex(xmpp_stanza_get_children(iq), item, 0);
	xmpp_send(f->conn, iq);
	xmpp_stanza_release(iq);
}

static bool follows(struct fr *f, const char *jid)
{
	const struct item *it = g_hash_table_lookup(f->roster, jid);

	return it != NULL && (it->asked || !strcmp(it->sub, "to") ||
			      !strcmp(it->sub, "both"));
}

/* The grace is over: every pending request is known. */
static void act(struct fr *f)
{
	bool pending = f->peer && g_hash_table_contains(f->pending, f->peer);

	f->phase = PH_ACT;
	f->pushed = false;
	switch (f->cmd) {
	case CMD_LIST:
		f->phase = PH_FINISHED;
		return;
	case CMD_ADD:
		if (pending)
			send_presence(f, f->peer, "subscribed");
		send_presence(f, f->peer, "subscribe");
		g_hash_table_remove(f->pending, f->peer);
		break;
	case CMD_APPROVE:
	case CMD_REFUSE:
		if (!pending) {
			fail(f, g_strdup_printf("no pending request from %s",
						f->peer));
			return;
		}
		if (f->cmd == CMD_REFUSE) {
			send_presence(f, f->peer, "unsubscribed");
			g_hash_table_remove(f->pending, f->peer);
			break;
		}
		send_presence(f, f->peer, "subscribed");
		if (!follows(f, f->peer))
			send_presence(f, f->peer, "subscribe");
		g_hash_table_remove(f->pending, f->peer);
		break;
	case CMD_REMOVE:
		if (!g_hash_table_contains(f->roster, f->peer)) {
			fail(f, g_strdup_printf("%s is not in the roster",
						f->peer));
			return;
		}
		send_remove(f);
		return;
	}
	send_ping(f);
}

static int on_pong(xmpp_conn_t *conn, xmpp_stanza_t *st, void *data)
{
	struct fr *f = data;

	(void)conn;
	(void)st; /* an error answer proves the round trip just as well */
	if (f->phase == PH_COLLECT) {
		f->phase = PH_GRACE;
		f->until = now_us() + GRACE_MS * 1000;
	} else if (f->phase == PH_ACT) {
		f->phase = f->cmd == CMD_REFUSE ? PH_FINISHED : PH_SETTLE;
		f->until = now_us() + SETTLE_MS * 1000;
	}
	return 0;
}

/* ---- stanzas from the server ---- */

static void reply(struct fr *f, xmpp_stanza_t *req, bool ok)
{
	const char *id = xmpp_stanza_get_id(req);
	xmpp_stanza_t *iq, *err, *cond;

	if (id == NULL)
		return;
	iq = xmpp_iq_new(f->ctx, ok ? "result" : "error", id);
	if (xmpp_stanza_get_from(req) != NULL)
		xmpp_stanza_set_to(iq, xmpp_stanza_get_from(req));
	if (!ok) {
		err = xmpp_stanza_new(f->ctx);
		xmpp_stanza_set_name(err, "error");
		xmpp_stanza_set_type(err, "cancel");
		cond = xmpp_stanza_new(f->ctx);
		xmpp_stanza_set_name(cond, "service-unavailable");
		xmpp_stanza_set_ns(cond, NS_STANZAS);
		xmpp_stanza_add_child_ex(err, cond, 0);
		xmpp_stanza_add_child_ex(iq, err, 0);
	}
	xmpp_send(f->conn, iq);
	xmpp_stanza_release(iq);
}

/* untrusted: any iq; only the server may push the roster */
static int on_iq(xmpp_conn_t *conn, xmpp_stanza_t *st, void *data)
{
	struct fr *f = data;
	const char *type = xmpp_stanza_get_type(st);
	const char *from = xmpp_stanza_get_from(st);
	xmpp_stanza_t *q =
	    xmpp_stanza_get_child_by_name_and_ns(st, "query", NS_ROSTER);

	(void)conn;
	if (g_strcmp0(type, "set") == 0 && q != NULL &&
	    (from == NULL || g_ascii_strcasecmp(from, f->cfg->jid) == 0)) {
		take_items(f, q);
		reply(f, st, true);
	} else if (g_strcmp0(type, "get") == 0 &&
		   xmpp_stanza_get_child_by_name_and_ns(st, "ping", NS_PING)) {
		reply(f, st, true);
	} else if (g_strcmp0(type, "get") == 0 || g_strcmp0(type, "set") == 0) {
		reply(f, st, false);
	}
	return 1;
}

/* untrusted: presence; only subscription requests matter here */
static int on_presence(xmpp_conn_t *conn, xmpp_stanza_t *st, void *data)
{
	struct fr *f = data;
	const char *from = xmpp_stanza_get_from(st);
	g_autofree char *bare = NULL;

	(void)conn;
	if (g_strcmp0(xmpp_stanza_get_type(st), "subscribe") != 0 ||
	    !ctl_xmpp_jid_ok(from) || g_hash_table_size(f->pending) >= 10000)
		return 1;
	bare = ctl_xmpp_bare_of(from);
	g_hash_table_add(f->pending, g_ascii_strdown(bare, -1));
	return 1;
}

static void on_conn(xmpp_conn_t *conn, xmpp_conn_event_t ev, int error,
		    xmpp_stream_error_t *se, void *data)
{
	struct fr *f = data;
	xmpp_stanza_t *iq;

	(void)error;
	if (ev == XMPP_CONN_CONNECT) {
		f->connected = true;
		iq = iq_with(f, "get", "query", NS_ROSTER, on_roster, "roster");
		xmpp_send(conn, iq);
		xmpp_stanza_release(iq);
		f->phase = PH_ROSTER;
		return;
	}
	f->closed = true;
	if (f->phase != PH_FINISHED)
		fail(f,
		     g_strdup_printf("%s %s:%u as %s%s%s",
				     f->connected ? "lost the connection to"
						  : "could not log in to",
				     f->cfg->server ? f->cfg->server : "(SRV)",
				     f->cfg->port, f->cfg->jid,
				     se != NULL && se->text ? ": " : "",
				     se != NULL && se->text ? se->text : ""));
}

static void on_log(void *data, xmpp_log_level_t level, const char *area,
		   const char *msg)
{
	(void)data;
	if (level >= XMPP_LEVEL_WARN)
		g_debug("friends: libstrophe %s: %s", area, IPOP_LOG_STR(msg));
}

/* ---- the session ---- */

static int setup(struct fr *f)
{
	long flags = XMPP_CONN_FLAG_DISABLE_SM;
	g_autofree char *full =
	    g_strdup_printf("%s/friends-%08x", f->cfg->jid, g_random_int());

	f->log.handler = on_log;
	f->log.userdata = f;
	f->ctx = xmpp_ctx_new(NULL, &f->log);
	f->conn = f->ctx ? xmpp_conn_new(f->ctx) : NULL;
	if (f->conn == NULL)
		return -1;
	if (f->cfg->tls == CTL_TLS_OFF)
		flags |= XMPP_CONN_FLAG_DISABLE_TLS;
	else
		flags |= XMPP_CONN_FLAG_MANDATORY_TLS;
	if (xmpp_conn_set_flags(f->conn, flags) != XMPP_EOK)
		return -1;
	if (f->cfg->tls != CTL_TLS_OFF && f->cfg->ca_file != NULL)
		xmpp_conn_set_cafile(f->conn, f->cfg->ca_file);
	xmpp_conn_set_jid(f->conn, full);
	xmpp_conn_set_pass(f->conn, f->cfg->password);
	xmpp_handler_add(f->conn, on_iq, NULL, "iq", NULL, f);
	xmpp_handler_add(f->conn, on_presence, NULL, "presence", NULL, f);
	return xmpp_connect_client(f->conn, f->cfg->server, f->cfg->port,
				   on_conn, f) == XMPP_EOK
		   ? 0
		   : -1;
}

/* Time-driven steps: the end of the grace, of the settling. */
static void step(struct fr *f)
{
	if (f->phase == PH_GRACE && now_us() >= f->until)
		act(f);
	else if (f->phase == PH_SETTLE && (f->pushed || now_us() >= f->until))
		f->phase = PH_FINISHED;
}

static void run(struct fr *f)
{
	gint64 deadline = now_us() + TIMEOUT_MS * 1000;

	while (f->phase != PH_FINISHED && !f->closed) {
		if (now_us() >= deadline) {
			fail(f, g_strdup_printf("no answer from the server "
						"within %d s",
						TIMEOUT_MS / 1000));
			break;
		}
		xmpp_run_once(f->ctx, RUN_MS);
		step(f);
	}
}

/* Unavailable presence and the end of the stream, bounded. */
static void bye(struct fr *f)
{
	gint64 deadline = now_us() + BYE_MS * 1000;

	if (!f->connected || f->closed)
		return;
	send_presence(f, NULL, "unavailable");
	xmpp_disconnect(f->conn);
	while (!f->closed && now_us() < deadline)
		xmpp_run_once(f->ctx, RUN_MS);
}

static void print_line(struct fr *f, const char *jid)
{
	const struct item *it = g_hash_table_lookup(f->roster, jid);

	printf("%s %s%s%s\n", jid, it ? it->sub : "none",
	       it && it->asked ? " asked" : "",
	       g_hash_table_contains(f->pending, jid) ? " pending" : "");
}

static gint by_name(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void print_list(struct fr *f)
{
	g_autoptr(GPtrArray) all = g_ptr_array_new();
	GHashTableIter it;
	gpointer k;

	g_hash_table_iter_init(&it, f->roster);
	while (g_hash_table_iter_next(&it, &k, NULL))
		g_ptr_array_add(all, k);
	g_hash_table_iter_init(&it, f->pending);
	while (g_hash_table_iter_next(&it, &k, NULL)) {
		if (!g_hash_table_contains(f->roster, k))
			g_ptr_array_add(all, k);
	}
	g_ptr_array_sort(all, by_name);
	for (guint i = 0; i < all->len; i++)
		print_line(f, all->pdata[i]);
}

static void print_result(struct fr *f)
{
	if (f->cmd == CMD_LIST)
		print_list(f);
	else if (f->cmd == CMD_REMOVE)
		printf("%s removed\n", f->peer);
	else if (f->cmd == CMD_REFUSE)
		printf("%s refused\n", f->peer);
	else
		print_line(f, f->peer);
}

static int usage(const char *why)
{
	fprintf(stderr,
		"ipop-controller: friends: %s\n"
		"usage: ipop-controller --config FILE friends list | add JID | "
		"remove JID | approve JID | refuse JID\n",
		why);
	return CTL_FRIENDS_USAGE;
}

/* argv: "friends", a command, maybe a JID. */
static int parse(struct fr *f, int argc, char **argv)
{
	size_t i;

	if (argc < 2 || strcmp(argv[0], "friends") != 0)
		return usage("which command?");
	for (i = 0; i < G_N_ELEMENTS(cmds); i++) {
		if (strcmp(argv[1], cmds[i].name) == 0)
			break;
	}
	if (i == G_N_ELEMENTS(cmds))
		return usage("unknown command");
	f->cmd = cmds[i].cmd;
	if (argc != (cmds[i].has_jid ? 3 : 2))
		return usage(cmds[i].has_jid ? "give one JID"
					     : "too many arguments");
	if (!cmds[i].has_jid)
		return 0;
	if (!ctl_xmpp_jid_ok(argv[2]) || strchr(argv[2], '/') != NULL ||
	    strchr(argv[2], '@') == NULL)
		return usage("JID must be a bare user@domain");
	f->peer = g_ascii_strdown(argv[2], -1);
	if (g_ascii_strcasecmp(f->peer, f->cfg->jid) == 0)
		return usage("that is this account");
	return 0;
}

int ctl_friends_main(const struct ctl_config *cfg, int argc, char **argv)
{
	struct fr f = {.cfg = cfg, .status = CTL_FRIENDS_OK};
	int rc;

	if ((rc = parse(&f, argc, argv)) != 0)
		goto out;
	xmpp_initialize();
	f.roster =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	f.pending =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	if (setup(&f) < 0)
		fail(&f, g_strdup("cannot start an XMPP connection"));
	else
		run(&f);
	if (f.status == CTL_FRIENDS_OK)
		print_result(&f);
	else
		fprintf(stderr, "ipop-controller: friends: %s\n", f.error);
	fflush(stdout);
	bye(&f);
	rc = f.status;
	if (f.conn != NULL)
		xmpp_conn_release(f.conn);
	if (f.ctx != NULL)
		xmpp_ctx_free(f.ctx);
	xmpp_shutdown();
	g_hash_table_destroy(f.roster);
	g_hash_table_destroy(f.pending);
	g_free(f.error);
out:
	g_free(f.peer);
	return rc;
}
