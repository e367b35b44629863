/*
 * The handshake guard: MACs, cookies, the load meter and the budgets (see
 * cookie.h for the formats).  Choices the header leaves open:
 * - The guard is cheap by construction: one BLAKE2b over ~130 bytes for
 *   mac1, one more for mac2 under load, a table lookup for the budgets;
 *   nothing here allocates after tc_guard_new.
 * - Load is the number of initiations with a valid mac1 in the current or
 *   the previous second; the bad-mac1 ones cost a hash and do not count.
 * - Per-source buckets (DH and cookie replies) live in a fixed table
 *   indexed by a keyed hash of the address; a new source that lands on a
 *   taken slot takes it over with full buckets.  An attacker who evicts a
 * member's slot so gives the member a fresh budget, never a smaller one.
 * - A cookie from the previous secret is not accepted: the initiator asks
 *   again (one more round trip, once every two minutes under load).
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "tincan/cookie.h"

enum {
	MAC1_OFF_FROM_END = 2 * TC_MAC_LEN,
	MAC2_OFF_FROM_END = TC_MAC_LEN,
	REPLY_TYPE = 3,
	REPLY_IDX = 4,
	REPLY_NONCE = 8,
	REPLY_BOX = REPLY_NONCE + TC_COOKIE_NONCE_LEN,
	MILLI = 1000, /* a token, in the buckets' units */
};

struct bucket {
	uint64_t tag;	 /* full keyed hash of the source; 0 = free */
	uint64_t tokens; /* in 1/1000 tokens */
	uint64_t last_ms;
};

/* A source address: its DH budget and its cookie reply budget. */
struct source {
	struct bucket dh, cookie;
};

struct tc_guard {
	uint8_t secret[32];
	uint64_t secret_ms;
	bool secret_stamped;
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
	uint64_t window_ms; /* start of the current second */
	uint64_t in_window, prev_window;
	uint64_t load_until_ms;
	struct bucket global;
	struct source sources[TC_GUARD_SOURCES];
	struct tc_guard_counters total;
};

/* Keys and MACs. */

static void derive(uint8_t out[32], const char label[8], const uint8_t pub[32])
{
	uint8_t in[8 + 32];

	memcpy(in, label, 8);
	memcpy(in + 8, pub, 32);
	crypto_generichash(out, 32, in, sizeof(in), NULL, 0);
}

void tc_cookie_keys_init(struct tc_cookie_keys *k, const uint8_t pub[32])
{
	derive(k->mac1, "mac1----", pub);
	derive(k->cookie, "cookie--", pub);
}

void tc_cookie_mac(uint8_t out[TC_MAC_LEN], const uint8_t *key, size_t klen,
		   const uint8_t *msg, size_t len)
{
	crypto_generichash(out, TC_MAC_LEN, msg, len, key, klen);
}

void tc_cookie_seal(const struct tc_cookie_keys *peer, const uint8_t *cookie,
		    uint8_t *msg, size_t len)
{
	uint8_t *mac1 = msg + len - MAC1_OFF_FROM_END;
	uint8_t *mac2 = msg + len - MAC2_OFF_FROM_END;

	tc_cookie_mac(mac1, peer->mac1, sizeof(peer->mac1), msg,
		      len - MAC1_OFF_FROM_END);
	if (cookie)
		tc_cookie_mac(mac2, cookie, TC_COOKIE_LEN, msg,
			      len - MAC2_OFF_FROM_END);
	else
		memset(mac2, 0, TC_MAC_LEN);
}

bool tc_cookie_mac1_ok(const struct tc_cookie_keys *own, const uint8_t *msg,
		       size_t len)
{
	uint8_t want[TC_MAC_LEN];

	if (len < MAC1_OFF_FROM_END)
		return false;
	tc_cookie_mac(want, own->mac1, sizeof(own->mac1), msg,
		      len - MAC1_OFF_FROM_END);
	return sodium_memcmp(want, msg + len - MAC1_OFF_FROM_END, TC_MAC_LEN) ==
	       0;
}

/* untrusted: reply is from the network. */
int tc_cookie_open_reply(const struct tc_cookie_keys *peer,
			 const uint8_t mac1[TC_MAC_LEN], const uint8_t *reply,
			 size_t len, uint8_t cookie[TC_COOKIE_LEN])
{
	if (len != TC_COOKIE_REPLY_LEN || reply[0] != REPLY_TYPE || reply[1] ||
	    reply[2] || reply[3])
		return -EBADMSG;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		cookie, NULL, NULL, reply + REPLY_BOX,
		TC_COOKIE_REPLY_LEN - REPLY_BOX, mac1, TC_MAC_LEN,
		reply + REPLY_NONCE, peer->cookie) != 0)
		return -EBADMSG;
	return 0;
}

/* The guard. */

struct tc_guard *tc_guard_new(void)
{
	struct tc_guard *g;

	if (sodium_init() < 0)
		return NULL;
	g = sodium_malloc(sizeof(*g));
	if (g == NULL)
		return NULL;
	sodium_memzero(g, sizeof(*g));
	randombytes_buf(g->secret, sizeof(g->secret));
	randombytes_buf(g->hash_key, sizeof(g->hash_key));
	g->global.tag = 1;
	g->global.tokens = (uint64_t)TC_GUARD_GLOBAL_BURST * MILLI;
	return g;
}

void tc_guard_free(struct tc_guard *g)
{
	if (g == NULL)
		return;
	sodium_memzero(g, sizeof(*g));
	sodium_free(g);
}

static void rotate_secret(struct tc_guard *g, uint64_t now_ms)
{
	/* A clock that steps back (callers differ by a few ms) keeps it. */
	if (g->secret_stamped && (now_ms < g->secret_ms ||
				  now_ms - g->secret_ms < TC_COOKIE_SECRET_MS))
		return;
	if (g->secret_stamped)
		randombytes_buf(g->secret, sizeof(g->secret));
	g->secret_ms = now_ms;
	g->secret_stamped = true;
}

/* The cookie of src under the current secret. */
static void make_cookie(struct tc_guard *g, const void *src, size_t srclen,
			uint64_t now_ms, uint8_t cookie[TC_COOKIE_LEN])
{
	rotate_secret(g, now_ms);
	tc_cookie_mac(cookie, g->secret, sizeof(g->secret), src, srclen);
}

static void meter(struct tc_guard *g, uint64_t now_ms)
{
	if (now_ms - g->window_ms >= 1000 || now_ms < g->window_ms) {
		g->prev_window =
		    now_ms - g->window_ms < 2000 ? g->in_window : 0;
		g->in_window = 0;
		g->window_ms = now_ms;
	}
	g->in_window++;
	if (g->in_window > TC_GUARD_LOAD_PER_S ||
	    g->prev_window > TC_GUARD_LOAD_PER_S)
		g->load_until_ms = now_ms + TC_GUARD_LOAD_HOLD_MS;
}

bool tc_guard_under_load(const struct tc_guard *g, uint64_t now_ms)
{
	return g != NULL && now_ms < g->load_until_ms;
}

/* Refills b to now at rate tokens/s up to burst, then takes one. */
static bool take(struct bucket *b, uint64_t now_ms, unsigned rate,
		 unsigned burst)
{
	uint64_t cap = (uint64_t)burst * MILLI;

	if (now_ms > b->last_ms) {
		b->tokens += (now_ms - b->last_ms) * rate;
		if (b->tokens > cap)
			b->tokens = cap;
	}
	b->last_ms = now_ms;
	if (b->tokens < MILLI)
		return false;
	b->tokens -= MILLI;
	return true;
}

static struct source *source_of(struct tc_guard *g, const void *src,
				size_t srclen, uint64_t now_ms)
{
	uint8_t h[crypto_shorthash_BYTES];
	struct source *s;
	uint64_t tag;

	crypto_shorthash(h, src, srclen, g->hash_key);
	memcpy(&tag, h, sizeof(tag));
	tag |= 1; /* 0 marks a free slot */
	s = &g->sources[tag % TC_GUARD_SOURCES];
	if (s->dh.tag != tag) {
		s->dh.tag = tag;
		s->dh.tokens = (uint64_t)TC_GUARD_SOURCE_BURST * MILLI;
		s->cookie.tokens = (uint64_t)TC_GUARD_COOKIE_BURST * MILLI;
		s->dh.last_ms = s->cookie.last_ms = now_ms;
	}
	return s;
}

static bool is_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	size_t i;

	for (i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* Counts one event in both the totals and the caller's counters. */
#define COUNT(g, lc, field)                                                    \
	do {                                                                   \
		(g)->total.field++;                                            \
		if (lc)                                                        \
			(lc)->field++;                                         \
	} while (0)

/* A cookie reply to src, if its budget allows one. */
static enum tc_guard_verdict cookie_due(struct tc_guard *g, const void *src,
					size_t srclen, uint64_t now_ms,
					enum tc_guard_verdict v,
					struct tc_guard_counters *lc)
{
	if (take(&source_of(g, src, srclen, now_ms)->cookie, now_ms,
		 TC_GUARD_COOKIE_PER_S, TC_GUARD_COOKIE_BURST))
		return v;
	COUNT(g, lc, drop_budget);
	return TC_GUARD_OVER_BUDGET;
}

/* Under load: a valid mac2 for src is the price of a DH. */
static enum tc_guard_verdict check_mac2(struct tc_guard *g, const uint8_t *msg,
					size_t len, const void *src,
					size_t srclen, uint64_t now_ms,
					struct tc_guard_counters *lc)
{
	uint8_t cookie[TC_COOKIE_LEN], want[TC_MAC_LEN];
	const uint8_t *mac2 = msg + len - MAC2_OFF_FROM_END;

	if (is_zero(mac2, TC_MAC_LEN))
		return cookie_due(g, src, srclen, now_ms, TC_GUARD_COOKIE, lc);
	make_cookie(g, src, srclen, now_ms, cookie);
	tc_cookie_mac(want, cookie, sizeof(cookie), msg,
		      len - MAC2_OFF_FROM_END);
	if (sodium_memcmp(want, mac2, TC_MAC_LEN) != 0) {
		COUNT(g, lc, drop_mac2);
		return cookie_due(g, src, srclen, now_ms, TC_GUARD_BAD_MAC2,
				  lc);
	}
	if (!take(&source_of(g, src, srclen, now_ms)->dh, now_ms,
		  TC_GUARD_SOURCE_PER_S, TC_GUARD_SOURCE_BURST)) {
		COUNT(g, lc, drop_budget);
		return TC_GUARD_OVER_BUDGET;
	}
	return TC_GUARD_PASS;
}

enum tc_guard_verdict
tc_guard_check(struct tc_guard *g, const struct tc_cookie_keys *own,
	       const uint8_t *msg, size_t len, const void *src, size_t srclen,
	       uint64_t now_ms, struct tc_guard_counters *lc)
{
	enum tc_guard_verdict v;

	COUNT(g, lc, init_received);
	if (!tc_cookie_mac1_ok(own, msg, len)) {
		COUNT(g, lc, drop_mac1);
		return TC_GUARD_BAD_MAC1;
	}
	meter(g, now_ms);
	if (tc_guard_under_load(g, now_ms)) {
		v = check_mac2(g, msg, len, src, srclen, now_ms, lc);
		if (v != TC_GUARD_PASS)
			return v;
	}
	if (!take(&g->global, now_ms, TC_GUARD_GLOBAL_PER_S,
		  TC_GUARD_GLOBAL_BURST)) {
		COUNT(g, lc, drop_budget);
		return TC_GUARD_OVER_BUDGET;
	}
	COUNT(g, lc, init_passed);
	return TC_GUARD_PASS;
}

void tc_guard_cookie_reply(struct tc_guard *g, const struct tc_cookie_keys *own,
			   const uint8_t *msg, size_t len, const void *src,
			   size_t srclen, uint64_t now_ms,
			   uint8_t out[TC_COOKIE_REPLY_LEN],
			   struct tc_guard_counters *lc)
{
	uint8_t cookie[TC_COOKIE_LEN];

	make_cookie(g, src, srclen, now_ms, cookie);
	out[0] = REPLY_TYPE;
	out[1] = out[2] = out[3] = 0;
	memcpy(out + REPLY_IDX, msg + REPLY_IDX, 4);
	randombytes_buf(out + REPLY_NONCE, TC_COOKIE_NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
	    out + REPLY_BOX, NULL, cookie, sizeof(cookie),
	    msg + len - MAC1_OFF_FROM_END, TC_MAC_LEN, NULL, out + REPLY_NONCE,
	    own->cookie);
	sodium_memzero(cookie, sizeof(cookie));
	COUNT(g, lc, cookie_sent);
}

void tc_guard_get_counters(const struct tc_guard *g, uint64_t now_ms,
			   struct tc_guard_counters *c)
{
	memset(c, 0, sizeof(*c));
	if (g == NULL)
		return;
	*c = g->total;
	c->under_load = tc_guard_under_load(g, now_ms);
}

void tc_guard_count(struct tc_guard *g, const struct tc_guard_counters *add)
{
	if (g == NULL)
		return;
	g->total.junk += add->junk;
	g->total.roams += add->roams;
	g->total.cookie_received += add->cookie_received;
}
