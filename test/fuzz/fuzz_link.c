/*
 * libFuzzer harness for the link session.  Sessions with fixed keys are
 * built once: a fresh responder, and an initiator/responder pair with a
 * confirmed keypair, so DATA parsing is reached with live indices.  The
 * input's first byte picks a mode; the rest is either a raw packet for one
 * of the sessions, or a plaintext to carry, or an XOR mask over a genuine
 * INIT, RESP or DATA packet, or over a cookie reply to a pending INIT.  The
 * oracle for the masks: a packet is accepted only if the mask left it
 * unchanged, since every byte is authenticated (an INIT's mac2 is the
 * guard's, so the session ignores it; the guard's mode checks it).  Two
 * modes feed the handshake guard (cookie.h): raw bytes as an initiation
 * from a source address, under load or not; and a genuine INIT carrying
 * mac2 over a cookie, masked, which the guard under load passes only
 * unchanged.  A carried plaintext of inner type TC_INNER_FORWARD (5) is
 * also read as a GroupVPN forward header (route.h), the way a receiving
 * overlay reads it: refused as -EPROTO, or accepted with its fields inside
 * the message and encoded back to the very same bytes.
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "tincan/cookie.h"
#include "tincan/link.h"
#include "tincan/route.h"
#include "tincan/session.h"

enum { BUF = 4096 };

enum mode {
	MODE_RAW_FRESH,
	MODE_RAW_RESPONDER,
	MODE_RAW_INITIATOR,
	MODE_CARRY,
	MODE_MASK_DATA,
	MODE_MASK_INIT,
	MODE_MASK_RESP,
	MODE_GUARD_RAW,	  /* [flags][source 6][packet...] */
	MODE_MASK_COOKIE, /* [mask over the cookie reply, then the INIT] */
	MODE_COUNT,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t ipriv[32], ipub[32], rpriv[32], rpub[32], psk[32];
static struct tc_session *fresh, *ini, *res;
static struct tc_time now = {1000000, 1700000000ULL * 1000000000ULL};
static uint8_t out[BUF], pkt[BUF];
static struct tc_cookie_keys rkeys;
static struct tc_guard *guard, *loaded; /* loaded: always under load */
static const uint8_t src[6] = {10, 1, 0, 2, 0x12, 0x34};
static const uint8_t src_c[6] = {10, 1, 0, 3, 0x12, 0x34}; /* not load_up's */

/* Keeps g under load at now (a fixed clock: the hold never ends). */
static void load_up(struct tc_guard *g)
{
	struct tc_session *i2 = tc_session_new(true, ipriv, ipub, rpub, psk);
	uint8_t init[TC_INIT_LEN];
	int n;

	assert(i2 != NULL);
	assert(tc_session_initiate(i2, &now, init, sizeof(init)) ==
	       TC_INIT_LEN);
	tc_session_free(i2);
	for (n = 0; n <= TC_GUARD_LOAD_PER_S; n++)
		(void)tc_guard_check(g, &rkeys, init, sizeof(init), src, 6,
				     now.mono_ms, NULL);
	assert(tc_guard_under_load(g, now.mono_ms));
}

/* The sessions live in sodium_malloc's own mappings, which LeakSanitizer
 * does not scan: the GnuTLS handles of their keys would look leaked at
 * exit unless freed. */
static void teardown(void)
{
	tc_session_free(fresh);
	tc_session_free(ini);
	tc_session_free(res);
}

static void setup(void)
{
	uint8_t init[TC_INIT_LEN], resp[TC_RESP_LEN];
	size_t olen;
	int i, len;

	assert(sodium_init() >= 0);
	for (i = 0; i < 32; i++) {
		ipriv[i] = (uint8_t)(i + 1);
		rpriv[i] = (uint8_t)(i + 101);
		psk[i] = (uint8_t)(i + 201);
	}
	crypto_scalarmult_base(ipub, ipriv);
	crypto_scalarmult_base(rpub, rpriv);
	fresh = tc_session_new(false, rpriv, rpub, ipub, psk);
	ini = tc_session_new(true, ipriv, ipub, rpub, psk);
	res = tc_session_new(false, rpriv, rpub, ipub, psk);
	assert(fresh != NULL && ini != NULL && res != NULL);
	assert(tc_session_initiate(ini, &now, init, sizeof(init)) ==
	       TC_INIT_LEN);
	assert(tc_session_receive(res, &now, init, sizeof(init), resp,
				  sizeof(resp), &olen) == TC_RX_REPLY);
	assert(tc_session_receive(ini, &now, resp, sizeof(resp), NULL, 0,
				  &olen) == TC_RX_ESTABLISHED);
	len = tc_session_encrypt(ini, &now, NULL, 0, pkt, sizeof(pkt));
	assert(len == TC_DATA_OVERHEAD);
	assert(tc_session_receive(res, &now, pkt, (size_t)len, out, sizeof(out),
				  &olen) == TC_RX_DATA);
	tc_cookie_keys_init(&rkeys, rpub);
	guard = tc_guard_new();
	loaded = tc_guard_new();
	assert(guard != NULL && loaded != NULL);
	load_up(loaded);
	atexit(teardown);
}

/* XORs mask over pkt[0..len); true if that changed anything. */
static bool apply_mask(uint8_t *p, size_t len, const uint8_t *mask, size_t mlen)
{
	bool changed = false;
	size_t i;

	for (i = 0; i < len && i < mlen; i++) {
		p[i] ^= mask[i];
		changed |= mask[i] != 0;
	}
	return changed;
}

/* untrusted: a forward header as a peer sends it (after the type). */
static void forward_inner(const uint8_t *body, size_t len)
{
	struct tc_route_hdr h;
	uint8_t again[TC_ROUTE_OVERHEAD];
	int n = tc_route_hdr_decode(body, len, &h);

	if (n < 0) {
		assert(n == -EPROTO);
		return;
	}
	assert(n == TC_ROUTE_HDR_LEN || n == TC_ROUTE_OVERHEAD);
	assert((size_t)n <= len);
	assert(memcmp(h.src.b, h.dst.b, IPOP_RING_ID_LEN) != 0);
	assert(h.cs.start == 0 ||
	       (size_t)h.cs.start + h.cs.offset + 2 <= len - (size_t)n);
	assert(tc_route_hdr_encode(&h, again, sizeof(again)) == n);
	assert(memcmp(again, body, (size_t)n) == 0);
}

static void carry(const uint8_t *msg, size_t len)
{
	size_t olen = 0;
	int n;

	if (len > BUF - TC_DATA_OVERHEAD)
		len = BUF - TC_DATA_OVERHEAD;
	n = tc_session_encrypt(ini, &now, msg, len, pkt, sizeof(pkt));
	assert(n == (int)len + TC_DATA_OVERHEAD);
	assert(tc_session_receive(res, &now, pkt, (size_t)n, out, sizeof(out),
				  &olen) == TC_RX_DATA);
	assert(olen == len && memcmp(out, msg, len) == 0);
	if (olen > 0 && out[0] == TC_INNER_FORWARD)
		forward_inner(out + 1, olen - 1);
	assert(tc_session_receive(res, &now, pkt, (size_t)n, out, sizeof(out),
				  &olen) == -EALREADY);
}

static void mask_data(const uint8_t *mask, size_t mlen)
{
	size_t olen;
	bool changed;
	int n, rc;

	n = tc_session_encrypt(res, &now, (const uint8_t *)"payload", 7, pkt,
			       sizeof(pkt));
	assert(n > 0);
	changed = apply_mask(pkt, (size_t)n, mask, mlen);
	rc = tc_session_receive(ini, &now, pkt, (size_t)n, out, sizeof(out),
				&olen);
	assert(changed ? rc < 0 : rc == TC_RX_DATA);
}

/* A one-off initiator talks to a one-off responder, so the fixed pair's
 * state and timestamps stay out of it. */
static void mask_handshake(bool init_side, const uint8_t *mask, size_t mlen)
{
	struct tc_session *i2, *r2;
	uint8_t init[TC_INIT_LEN], resp[TC_RESP_LEN];
	size_t olen;
	bool changed = false;
	int rc;

	i2 = tc_session_new(true, ipriv, ipub, rpub, psk);
	r2 = tc_session_new(false, rpriv, rpub, ipub, psk);
	assert(i2 != NULL && r2 != NULL);
	assert(tc_session_initiate(i2, &now, init, sizeof(init)) ==
	       TC_INIT_LEN);
	if (init_side)
		changed =
		    apply_mask(init, sizeof(init) - TC_MAC_LEN, mask, mlen);
	rc = tc_session_receive(r2, &now, init, sizeof(init), resp,
				sizeof(resp), &olen);
	assert(changed ? rc < 0 : rc == TC_RX_REPLY);
	if (!init_side) {
		changed = apply_mask(resp, sizeof(resp), mask, mlen);
		rc = tc_session_receive(i2, &now, resp, sizeof(resp), NULL, 0,
					&olen);
		assert(changed ? rc < 0 : rc == TC_RX_ESTABLISHED);
	}
	tc_session_free(i2);
	tc_session_free(r2);
}

/* Raw bytes as an initiation: any verdict, no crash, and never a pass
 * under load without the right mac2 (which random bytes do not have). */
static void guard_raw(const uint8_t *d, size_t n)
{
	enum tc_guard_verdict v;
	uint8_t reply[TC_COOKIE_REPLY_LEN];
	struct tc_guard *g;

	if (n < 7)
		return;
	g = d[0] & 1 ? loaded : guard;
	v = tc_guard_check(g, &rkeys, d + 7, n - 7, d + 1, 6, now.mono_ms,
			   NULL);
	if (v == TC_GUARD_COOKIE || v == TC_GUARD_BAD_MAC2) {
		assert(n - 7 >= 2 * TC_MAC_LEN);
		tc_guard_cookie_reply(g, &rkeys, d + 7, n - 7, d + 1, 6,
				      now.mono_ms, reply, NULL);
	}
}

/* A cookie reply to a one-off initiator's INIT, masked, then its next
 * INIT (with mac2), masked by the rest: the initiator takes the reply and
 * the loaded guard passes the INIT only when both are unchanged. */
static void mask_cookie(const uint8_t *mask, size_t mlen)
{
	uint8_t init[TC_INIT_LEN], reply[TC_COOKIE_REPLY_LEN];
	struct tc_session *i2;
	struct tc_guard *g = tc_guard_new();
	enum tc_guard_verdict v;
	bool changed;
	size_t olen, used;
	uint64_t ms = now.mono_ms + 500; /* under load, buckets refilled */
	int rc;

	/* A guard of its own: at a fixed clock the budgets never refill. */
	assert(g != NULL);
	load_up(g);
	i2 = tc_session_new(true, ipriv, ipub, rpub, psk);
	assert(i2 != NULL);
	assert(tc_session_initiate(i2, &now, init, sizeof(init)) ==
	       TC_INIT_LEN);
	assert(tc_guard_check(g, &rkeys, init, sizeof(init), src_c, 6, ms,
			      NULL) == TC_GUARD_COOKIE);
	tc_guard_cookie_reply(g, &rkeys, init, sizeof(init), src_c, 6, ms,
			      reply, NULL);
	changed = apply_mask(reply, sizeof(reply), mask, mlen);
	rc = tc_session_receive(i2, &now, reply, sizeof(reply), NULL, 0, &olen);
	assert(changed ? rc < 0 : rc == TC_RX_COOKIE);
	assert(tc_session_initiate(i2, &now, init, sizeof(init)) ==
	       TC_INIT_LEN);
	used = mlen < sizeof(reply) ? mlen : sizeof(reply);
	changed |= apply_mask(init, sizeof(init), mask + used, mlen - used);
	v = tc_guard_check(g, &rkeys, init, sizeof(init), src_c, 6, ms, NULL);
	assert(changed ? v != TC_GUARD_PASS : v == TC_GUARD_PASS);
	tc_session_free(i2);
	tc_guard_free(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	size_t olen;

	if (!ready) {
		setup();
		ready = true;
	}
	if (size < 1)
		return 0;
	switch (data[0] % MODE_COUNT) {
	case MODE_RAW_FRESH:
		(void)tc_session_receive(fresh, &now, data + 1, size - 1, out,
					 sizeof(out), &olen);
		break;
	case MODE_RAW_RESPONDER:
		(void)tc_session_receive(res, &now, data + 1, size - 1, out,
					 sizeof(out), &olen);
		break;
	case MODE_RAW_INITIATOR:
		(void)tc_session_receive(ini, &now, data + 1, size - 1, out,
					 sizeof(out), &olen);
		break;
	case MODE_CARRY:
		carry(data + 1, size - 1);
		break;
	case MODE_MASK_DATA:
		mask_data(data + 1, size - 1);
		break;
	case MODE_MASK_INIT:
		mask_handshake(true, data + 1, size - 1);
		break;
	case MODE_GUARD_RAW:
		guard_raw(data + 1, size - 1);
		break;
	case MODE_MASK_COOKIE:
		mask_cookie(data + 1, size - 1);
		break;
	case MODE_MASK_RESP:
	default:
		mask_handshake(false, data + 1, size - 1);
		break;
	}
	return 0;
}
