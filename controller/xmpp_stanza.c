/*
 * XMPP stanzas that carry signalling, and the checks every string from the
 * network passes: JIDs and their parts, the <ipop/> element's attributes
 * in (untrusted, bounded in count and size) and out (only names and values
 * XML can carry), message and presence stanzas built for the session.
 */
#define G_LOG_DOMAIN "controller"

#include <errno.h>
#include <string.h>

#include <glib.h>
#include <strophe.h>

#include "common/log.h"
#include "controller/signal.h"
#include "controller/xmpp.h"
#include "controller/xmpp_int.h"

enum {
	MAX_ATTRS = 32, /* attributes of one <ipop/> element */
	MAX_JID = 3071, /* RFC 7622: three parts of 1023 bytes */
};

/* ---- helpers for untrusted strings ---- */

/* True for a plausible JID: 3..MAX_JID bytes of valid UTF-8 with no
 * whitespace or control characters. */
bool ctl_xmpp_jid_ok(const char *s)
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

bool ctl_xmpp_is_full_jid(const char *s)
{
	const char *slash;

	if (!ctl_xmpp_jid_ok(s))
		return false;
	slash = strchr(s, '/');
	return slash != NULL && slash != s && slash[1] != '\0';
}

char *ctl_xmpp_bare_of(const char *jid)
{
	const char *slash = strchr(jid, '/');

	return slash ? g_strndup(jid, (gsize)(slash - jid)) : g_strdup(jid);
}

char *ctl_xmpp_next_id(struct ctl_xmpp *x, const char *prefix)
{
	return g_strdup_printf("%s%u", prefix, ++x->serial);
}

void ctl_xmpp_send_presence(struct ctl_xmpp *x, const char *to,
			    const char *type)
{
	xmpp_stanza_t *p = xmpp_presence_new(x->sctx);

	if (to != NULL)
		xmpp_stanza_set_to(p, to);
	if (type != NULL)
		xmpp_stanza_set_type(p, type);
	xmpp_send(x->conn, p);
	xmpp_stanza_release(p);
}

/* ---- signalling messages ---- */

GHashTable *ctl_xmpp_signal_attrs(xmpp_stanza_t *ipop)
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
int ctl_xmpp_on_message(xmpp_conn_t *conn, xmpp_stanza_t *st, void *data)
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
	if (!ctl_xmpp_is_full_jid(from) ||
	    (x->bound != NULL && strcmp(from, x->bound) == 0)) {
		g_debug("xmpp: signal from a bare, bad or own JID dropped");
		return 1;
	}
	attrs = ctl_xmpp_signal_attrs(ipop);
	if (attrs == NULL) {
		g_debug("xmpp: oversized or malformed signal from %s dropped",
			IPOP_LOG_STR(from));
		return 1;
	}
	if (x->ops->on_signal != NULL)
		x->ops->on_signal(x->cb_ctx, from, attrs);
	g_hash_table_unref(attrs);
	return 1;
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

	if (x == NULL || attrs == NULL || !ctl_xmpp_jid_ok(to_full_jid))
		return -EINVAL;
	if (!x->online)
		return -ENOTCONN;
	if (g_hash_table_size(attrs) > MAX_ATTRS)
		return -EMSGSIZE;
	if ((ipop = signal_element(x, attrs)) == NULL)
		return -EINVAL;
	id = ctl_xmpp_next_id(x, "s");
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
		ctl_xmpp_kick(x);
	}
	xmpp_stanza_release(msg);
	return r;
}
