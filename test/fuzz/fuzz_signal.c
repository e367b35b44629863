/*
 * libFuzzer harness for the XMPP signalling payloads (controller/signal.c).
 * The input is the text of a stanza as a contact sends it: libstrophe
 * parses it, and the <ipop xmlns="urn:ipop-c:signal:1"/> element (the root
 * itself, or a child of the root as in a <message/>) becomes the attribute
 * table through xmpp_stanza.c's own ctl_xmpp_signal_attrs (at most 32
 * attributes, at most CTL_XMPP_MAX_PAYLOAD bytes of names and values,
 * xmlns left out).  ctl_sig_decode must accept or refuse with a reason; an
 * accepted payload must encode to a table that decodes to the same struct,
 * and the proof check must not care what the proof bytes are.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <strophe.h>

#include "controller/signal.h"
#include "controller/xmpp.h"
#include "controller/xmpp_int.h"

enum { STANZA_MAX = 2 * CTL_XMPP_MAX_PAYLOAD };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static xmpp_ctx_t *ctx;

static void same(const struct ctl_sig *a, const struct ctl_sig *b)
{
	assert(a->kind == b->kind);
	assert(strcmp(a->uid, b->uid) == 0);
	assert(strcmp(a->overlay, b->overlay) == 0);
	assert(memcmp(a->key, b->key, sizeof(a->key)) == 0);
	assert(strcmp(a->group, b->group) == 0);
	assert(strcmp(a->ipv4, b->ipv4) == 0);
	assert(strcmp(a->ipv6, b->ipv6) == 0);
	assert(a->has_proof == b->has_proof);
	assert(memcmp(a->proof, b->proof, sizeof(a->proof)) == 0);
	assert(a->ack == b->ack);
	assert(strcmp(a->to, b->to) == 0);
	assert((a->cands == NULL) == (b->cands == NULL));
	assert(a->cands == NULL || strcmp(a->cands, b->cands) == 0);
	assert(strcmp(a->seen, b->seen) == 0);
}

static void decode(GHashTable *attrs)
{
	static const uint8_t psk[IPOP_PSK_LEN] = {7};
	struct ctl_sig s, again;
	char why[128];
	GHashTable *t;
	int rc;

	rc = ctl_sig_decode(attrs, &s, why, sizeof(why));
	if (rc < 0) {
		assert(rc == -EINVAL && why[0] != '\0');
		assert(s.cands == NULL && s.kind == 0);
		return;
	}
	assert(strlen(s.uid) == IPOP_UID_SIZE - 1);
	assert(s.kind != CTL_SIG_LINK || s.cands != NULL);
	(void)ctl_sig_proof_ok(&s, psk);
	t = ctl_sig_encode(&s);
	assert(t != NULL);
	assert(ctl_sig_decode(t, &again, why, sizeof(why)) == 0);
	same(&s, &again);
	g_hash_table_unref(t);
	ctl_sig_clear(&again);
	ctl_sig_clear(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	xmpp_stanza_t *root, *ipop;
	GHashTable *attrs;
	char *text;

	if (ctx == NULL) {
		xmpp_initialize();
		ctx = xmpp_ctx_new(NULL, NULL);
		assert(ctx != NULL);
	}
	if (size > STANZA_MAX || memchr(data, '\0', size) != NULL)
		return 0;
	text = g_strndup((const char *)data, size);
	root = xmpp_stanza_new_from_string(ctx, text);
	g_free(text);
	if (root == NULL)
		return 0;
	ipop = root;
	if (g_strcmp0(xmpp_stanza_get_name(root), "ipop") != 0 ||
	    g_strcmp0(xmpp_stanza_get_ns(root), CTL_SIGNAL_NS) != 0)
		ipop = xmpp_stanza_get_child_by_name_and_ns(root, "ipop",
							    CTL_SIGNAL_NS);
	if (ipop != NULL && (attrs = ctl_xmpp_signal_attrs(ipop)) != NULL) {
		decode(attrs);
		g_hash_table_unref(attrs);
	}
	xmpp_stanza_release(root);
	return 0;
}
