/*
 * Signalling payload codec: converts the attribute table of one
 * <ipop xmlns="urn:ipop-c:signal:1"/> element into a validated struct
 * ctl_sig and back, and computes the group membership proof.  Every value
 * is checked for syntax and length before it is copied; unknown extra
 * attributes are ignored so that newer peers may add fields.  No I/O.
 */
#define G_LOG_DOMAIN "controller"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <glib.h>
#include <sodium.h>

#include "controller/signal.h"
#include "common/encoding.h"
#include "common/names.h"
#include "common/uid.h"

static const char *const kind_names[] = {
    [CTL_SIG_ADVERTISE] = "advertise",
    [CTL_SIG_LINK] = "link",
    [CTL_SIG_BYE] = "bye",
};

static int fail(char *why, size_t why_len, const char *reason)
{
	if (why != NULL && why_len > 0)
		g_strlcpy(why, reason, why_len);
	return -EINVAL;
}

static const char *attr(GHashTable *attrs, const char *name)
{
	return g_hash_table_lookup(attrs, name);
}

/* Parses an address of family af and stores its canonical text form. */
static bool ip_text(int af, const char *s, char *out, size_t out_len)
{
	uint8_t bin[sizeof(struct in6_addr)];

	if (strlen(s) >= out_len || inet_pton(af, s, bin) != 1)
		return false;
	return inet_ntop(af, bin, out, out_len) != NULL;
}

static int decode_kind(GHashTable *attrs, enum ctl_sig_kind *kind, char *why,
		       size_t why_len)
{
	const char *k = attr(attrs, "kind");

	if (k == NULL)
		return fail(why, why_len, "missing kind");
	for (size_t i = 1; i < G_N_ELEMENTS(kind_names); i++) {
		if (strcmp(k, kind_names[i]) == 0) {
			*kind = i;
			return 0;
		}
	}
	return fail(why, why_len, "unknown kind");
}

/* The fields every kind carries: uid and overlay. */
static int decode_common(GHashTable *attrs, struct ctl_sig *out, char *why,
			 size_t why_len)
{
	const char *uid = attr(attrs, "uid");
	const char *overlay = attr(attrs, "overlay");

	if (uid == NULL)
		return fail(why, why_len, "missing uid");
	if (!ipop_uid_is_valid(uid))
		return fail(why, why_len, "bad uid");
	memcpy(out->uid, uid, IPOP_UID_SIZE);
	if (overlay == NULL)
		return fail(why, why_len, "missing overlay");
	if (!ipop_overlay_name_is_valid(overlay))
		return fail(why, why_len, "bad overlay");
	g_strlcpy(out->overlay, overlay, sizeof(out->overlay));
	return 0;
}

static int decode_key(GHashTable *attrs, struct ctl_sig *out, char *why,
		      size_t why_len)
{
	const char *key = attr(attrs, "key");
	char uid[IPOP_UID_SIZE];

	if (key == NULL)
		return fail(why, why_len, "missing key");
	if (!ipop_key_from_b64(key, out->key))
		return fail(why, why_len, "key is not 32 bytes of base64");
	ipop_uid_from_key(out->key, uid);
	if (strcmp(uid, out->uid) != 0)
		return fail(why, why_len, "uid does not match key");
	return 0;
}

static int decode_addrs(GHashTable *attrs, struct ctl_sig *out, char *why,
			size_t why_len)
{
	const char *v4 = attr(attrs, "ipv4");
	const char *v6 = attr(attrs, "ipv6");

	/* Switch-mode routers may have no overlay address: ipv4 is then
	 * absent and the policy decides whether it needs one. */
	if (v4 != NULL && !ip_text(AF_INET, v4, out->ipv4, sizeof(out->ipv4)))
		return fail(why, why_len, "bad ipv4");
	if (v6 != NULL && !ip_text(AF_INET6, v6, out->ipv6, sizeof(out->ipv6)))
		return fail(why, why_len, "bad ipv6");
	return 0;
}

static int decode_advertise(GHashTable *attrs, struct ctl_sig *out, char *why,
			    size_t why_len)
{
	const char *group = attr(attrs, "group");
	const char *proof = attr(attrs, "proof");
	const char *ack = attr(attrs, "ack");
	int r;

	if ((r = decode_key(attrs, out, why, why_len)) < 0)
		return r;
	if (group == NULL)
		return fail(why, why_len, "missing group");
	if (!ipop_group_is_valid(group))
		return fail(why, why_len, "bad group");
	g_strlcpy(out->group, group, sizeof(out->group));
	if ((r = decode_addrs(attrs, out, why, why_len)) < 0)
		return r;
	if (proof != NULL) {
		if (!ipop_b64_decode_exact(proof, out->proof,
					   sizeof(out->proof)))
			return fail(why, why_len, "bad proof");
		out->has_proof = true;
	}
	if (ack != NULL && strcmp(ack, "1") != 0 && strcmp(ack, "0") != 0)
		return fail(why, why_len, "bad ack");
	out->ack = ack != NULL && strcmp(ack, "1") == 0;
	return 0;
}

/* An ICE ufrag: 4-256 characters of the ICE alphabet (RFC 8445). */
static bool ufrag_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 4 || n >= CTL_SIG_MAX_UFRAG)
		return false;
	for (; *s; s++)
		if (!g_ascii_isalnum(*s) && *s != '+' && *s != '/')
			return false;
	return true;
}

static int decode_link(GHashTable *attrs, struct ctl_sig *out, char *why,
		       size_t why_len)
{
	const char *to = attr(attrs, "to");
	const char *cands = attr(attrs, "cands");
	const char *seen = attr(attrs, "seen");
	size_t len;

	if (to == NULL)
		return fail(why, why_len, "missing to");
	if (!ipop_uid_is_valid(to))
		return fail(why, why_len, "bad to");
	memcpy(out->to, to, IPOP_UID_SIZE);
	if (cands == NULL)
		return fail(why, why_len, "missing cands");
	len = strlen(cands);
	if (len == 0 || len > CTL_SIG_MAX_BLOB ||
	    !ipop_b64_is_valid(cands, len))
		return fail(why, why_len, "bad cands");
	if (seen != NULL && !ufrag_ok(seen))
		return fail(why, why_len, "bad seen");
	if (seen != NULL)
		g_strlcpy(out->seen, seen, sizeof(out->seen));
	out->cands = g_strdup(cands);
	return 0;
}

/* untrusted: attrs come from any XMPP contact */
int ctl_sig_decode(GHashTable *attrs, struct ctl_sig *out, char *why,
		   size_t why_len)
{
	int r;

	memset(out, 0, sizeof(*out));
	if (why != NULL && why_len > 0)
		why[0] = '\0';
	if (attrs == NULL)
		return fail(why, why_len, "no attributes");
	if ((r = decode_kind(attrs, &out->kind, why, why_len)) < 0 ||
	    (r = decode_common(attrs, out, why, why_len)) < 0)
		goto err;
	switch (out->kind) {
	case CTL_SIG_ADVERTISE:
		r = decode_advertise(attrs, out, why, why_len);
		break;
	case CTL_SIG_LINK:
		r = decode_link(attrs, out, why, why_len);
		break;
	case CTL_SIG_BYE:
		r = 0;
		break;
	}
	if (r == 0)
		return 0;
err:
	ctl_sig_clear(out);
	return r;
}

static void put(GHashTable *t, const char *name, const char *value)
{
	g_hash_table_insert(t, g_strdup(name), g_strdup(value));
}

static void put_b64(GHashTable *t, const char *name, const uint8_t *p, size_t n)
{
	g_hash_table_insert(t, g_strdup(name), g_base64_encode(p, n));
}

GHashTable *ctl_sig_encode(const struct ctl_sig *s)
{
	GHashTable *t;

	if (s == NULL || s->kind < CTL_SIG_ADVERTISE || s->kind > CTL_SIG_BYE)
		return NULL;
	t = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	put(t, "kind", kind_names[s->kind]);
	put(t, "uid", s->uid);
	put(t, "overlay", s->overlay);
	if (s->kind == CTL_SIG_ADVERTISE) {
		put_b64(t, "key", s->key, sizeof(s->key));
		put(t, "group", s->group);
		if (s->ipv4[0] != '\0')
			put(t, "ipv4", s->ipv4);
		if (s->ipv6[0] != '\0')
			put(t, "ipv6", s->ipv6);
		if (s->has_proof)
			put_b64(t, "proof", s->proof, sizeof(s->proof));
		if (s->ack)
			put(t, "ack", "1");
	} else if (s->kind == CTL_SIG_LINK) {
		put(t, "to", s->to);
		put(t, "cands", s->cands != NULL ? s->cands : "");
		if (s->seen[0] != '\0')
			put(t, "seen", s->seen);
	}
	return t;
}

void ctl_sig_clear(struct ctl_sig *s)
{
	if (s == NULL)
		return;
	g_free(s->cands);
	memset(s, 0, sizeof(*s));
}

/* The NUL after group and after uid separates the fields, so no two
 * different (group, uid) pairs hash the same bytes. */
void ctl_sig_proof(const uint8_t psk[IPOP_PSK_LEN], const char *group,
		   const char *uid, const uint8_t key[IPOP_KEY_LEN],
		   uint8_t out[CTL_SIG_PROOF_LEN])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, psk, IPOP_PSK_LEN, CTL_SIG_PROOF_LEN);
	crypto_generichash_update(&st, (const uint8_t *)group,
				  strlen(group) + 1);
	crypto_generichash_update(&st, (const uint8_t *)uid, strlen(uid) + 1);
	crypto_generichash_update(&st, key, IPOP_KEY_LEN);
	crypto_generichash_final(&st, out, CTL_SIG_PROOF_LEN);
	sodium_memzero(&st, sizeof(st));
}

bool ctl_sig_proof_ok(const struct ctl_sig *s, const uint8_t psk[IPOP_PSK_LEN])
{
	uint8_t want[CTL_SIG_PROOF_LEN];
	bool ok;

	if (s == NULL || !s->has_proof)
		return false;
	ctl_sig_proof(psk, s->group, s->uid, s->key, want);
	ok = sodium_memcmp(want, s->proof, sizeof(want)) == 0;
	sodium_memzero(want, sizeof(want));
	return ok;
}
