/*
 * Handshake DoS defence in the WireGuard manner: the two MACs that close an
 * initiation, the cookie reply, and the guard that decides, before any
 * Diffie-Hellman, whether an initiation is worth one.  This module owns
 * the MAC and cookie crypto, the rotating cookie secret, the load meter and
 * the token buckets (global and per source address); it does no I/O and
 * reads no clock (callers pass milliseconds in) and knows nothing of links.
 *
 *   mac1 = BLAKE2b-128(key = BLAKE2b-256("mac1----" || responder public
 *          key), the initiation up to mac1): only someone who knows the
 *          responder's key makes it do more than a hash.
 *   mac2 = BLAKE2b-128(key = cookie, the initiation up to mac2), zero
 *          without a cookie.
 *   cookie = BLAKE2b-128(key = secret (new every TC_COOKIE_SECRET_MS),
 *          the sender's address): proves the sender receives at it.
 *   COOKIE [type=3][3 zero][receiver idx u32][nonce 24][cookie 16 + tag 16]
 *          = 64 B, XChaCha20-Poly1305 under BLAKE2b-256("cookie--" ||
 *          responder public key) with the initiation's mac1 as AD, so only
 *          the initiator that sent that initiation can read it.
 */
#ifndef TC_COOKIE_H
#define TC_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	TC_MAC_LEN = 16,
	TC_COOKIE_LEN = 16,
	TC_COOKIE_NONCE_LEN = 24,
	TC_COOKIE_REPLY_LEN = 8 + TC_COOKIE_NONCE_LEN + TC_COOKIE_LEN + 16,
	TC_COOKIE_SECRET_MS = 120 * 1000, /* the cookie secret rotates */
	/* A cookie is used for mac2 this long after it arrived (less than
	 * the secret's life, so the responder still knows it). */
	TC_COOKIE_USE_MS = 120 * 1000 - 10 * 1000,
	/* Initiations per second (with a valid mac1) above which the guard
	 * is under load.  Measured here: an initiation costs a responder
	 * ~150 us before it can refuse it (two X25519 steps and a handshake
	 * state in sodium_malloc memory), the guard's checks ~0.6 us.  250/s
	 * are ~4 % of a core, while an honest node sees one per link every
	 * two minutes.  Stays on TC_GUARD_LOAD_HOLD_MS after the rate drops. */
	TC_GUARD_LOAD_PER_S = 250,
	TC_GUARD_LOAD_HOLD_MS = 1000,
	/* Budgets (token buckets) of initiations let through to the DH:
	 * all sources together (at most ~8 % of a core), and one source
	 * address under load. */
	TC_GUARD_GLOBAL_PER_S = 500,
	TC_GUARD_GLOBAL_BURST = 100,
	TC_GUARD_SOURCE_PER_S = 20,
	TC_GUARD_SOURCE_BURST = 5,
	/* Cookie replies to one source address: an honest initiator sends
	 * one INIT per TC_REKEY_TIMEOUT_MS at most; an attacker that never
	 * reads the replies should not make us send a datagram per INIT. */
	TC_GUARD_COOKIE_PER_S = 20,
	TC_GUARD_COOKIE_BURST = 10,
	TC_GUARD_SOURCES = 1024, /* per-source buckets (a hash table) */
};

/* Keys derived from one static public key. */
struct tc_cookie_keys {
	uint8_t mac1[32];
	uint8_t cookie[32];
};

/* Derives both keys of the node whose public key is pub. */
void tc_cookie_keys_init(struct tc_cookie_keys *k, const uint8_t pub[32]);
/* BLAKE2b-128 of msg keyed by key (klen 16 or 32). */
void tc_cookie_mac(uint8_t out[TC_MAC_LEN], const uint8_t *key, size_t klen,
		   const uint8_t *msg, size_t len);
/* Writes mac1 (and mac2 from cookie, zeros when cookie is NULL) into the
 * last 2 * TC_MAC_LEN bytes of msg (len bytes in all). */
void tc_cookie_seal(const struct tc_cookie_keys *peer, const uint8_t *cookie,
		    uint8_t *msg, size_t len);
/* Whether the mac1 in the closing bytes of msg is right (constant time). */
bool tc_cookie_mac1_ok(const struct tc_cookie_keys *own, const uint8_t *msg,
		       size_t len);
/* Initiator: opens a cookie reply (untrusted: from the network) to the
 * initiation whose mac1 was mac1, with the responder's keys peer.  0 and
 * the cookie written, or -EBADMSG. */
int tc_cookie_open_reply(const struct tc_cookie_keys *peer,
			 const uint8_t mac1[TC_MAC_LEN], const uint8_t *reply,
			 size_t len, uint8_t cookie[TC_COOKIE_LEN]);

/* Why the guard stopped an initiation, or let it through (>= 0). */
enum tc_guard_verdict {
	TC_GUARD_PASS = 0,	 /* worth a DH */
	TC_GUARD_COOKIE = 1,	 /* under load, no valid mac2: reply a cookie */
	TC_GUARD_BAD_MAC1 = 2,	 /* dropped */
	TC_GUARD_BAD_MAC2 = 3,	 /* a mac2 that is not ours: cookie again */
	TC_GUARD_OVER_BUDGET = 4 /* dropped: a budget (DH or cookie replies) */
};

/* Counters, as GetState shows them. */
struct tc_guard_counters {
	uint64_t init_received;	  /* initiations of the right length */
	uint64_t init_passed;	  /* let through to the DH */
	uint64_t drop_mac1;	  /* bad mac1 */
	uint64_t drop_budget;	  /* over a DH or cookie reply budget */
	uint64_t drop_mac2;	  /* under load with a mac2 not ours */
	uint64_t cookie_sent;	  /* cookie replies sent */
	uint64_t cookie_received; /* cookie replies accepted (initiator) */
	uint64_t junk;		  /* datagrams of no type, length or index */
	uint64_t roams;		  /* peer moved to a new address */
	bool under_load;	  /* guard totals only: at the time asked */
};

struct tc_guard;

/* A guard with a fresh secret; NULL on allocation failure. */
struct tc_guard *tc_guard_new(void);
/* Wipes and frees; NULL is a no-op. */
void tc_guard_free(struct tc_guard *g);
/* Decides about one initiation of len bytes (untrusted: msg from src,
 * srclen bytes of address) at now_ms, for the node whose keys are own.
 * Counts it in the guard's totals and in lc (the caller's, may be NULL). */
enum tc_guard_verdict
tc_guard_check(struct tc_guard *g, const struct tc_cookie_keys *own,
	       const uint8_t *msg, size_t len, const void *src, size_t srclen,
	       uint64_t now_ms, struct tc_guard_counters *lc);
/* Writes the cookie reply to the initiation msg (len bytes, its sender
 * index at offset 4) for src into out; counts it like tc_guard_check. */
void tc_guard_cookie_reply(struct tc_guard *g, const struct tc_cookie_keys *own,
			   const uint8_t *msg, size_t len, const void *src,
			   size_t srclen, uint64_t now_ms,
			   uint8_t out[TC_COOKIE_REPLY_LEN],
			   struct tc_guard_counters *lc);
/* True while initiations arrive faster than TC_GUARD_LOAD_PER_S. */
bool tc_guard_under_load(const struct tc_guard *g, uint64_t now_ms);
/* The guard's totals (every caller of tc_guard_check). */
void tc_guard_get_counters(const struct tc_guard *g, uint64_t now_ms,
			   struct tc_guard_counters *c);
/* Adds add's junk, roams and cookie_received (counted by the caller, who
 * sees those packets) to the totals. */
void tc_guard_count(struct tc_guard *g, const struct tc_guard_counters *add);

#endif
