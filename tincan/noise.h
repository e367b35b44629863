/*
 * Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b handshake state, built on libsodium
 * primitives (X25519, ChaCha20-Poly1305 IETF, BLAKE2b with HMAC/HKDF as the
 * Noise spec defines them).  This module owns the symmetric and handshake
 * state of one handshake and nothing else: no framing, no clocks, no I/O.
 * All secret state lives in sodium_malloc memory and is wiped on free.
 *
 * Pattern:   <- s
 *            ...
 *            -> e, es, s, ss
 *            <- e, ee, se, psk
 */
#ifndef TC_NOISE_H
#define TC_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	TC_NOISE_KEY_LEN = 32,
	TC_NOISE_HASH_LEN = 64,
	TC_NOISE_TAG_LEN = 16,
	/* message sizes without payload: e + enc(s) + tag / e + tag */
	TC_NOISE_MSG1_OVERHEAD = 32 + 32 + 16 + 16,
	TC_NOISE_MSG2_OVERHEAD = 32 + 16,
};

struct tc_noise_hs;

/* New handshake state.  Copies every key given.  The initiator must know the
 * responder's static public key rs_pub; the responder passes NULL and learns
 * it from message 1.  psk may be NULL (all zeros).  NULL on bad arguments. */
struct tc_noise_hs *
tc_noise_hs_new(bool initiator, const uint8_t *prologue, size_t prologue_len,
		const uint8_t s_priv[32], const uint8_t s_pub[32],
		const uint8_t rs_pub[32], const uint8_t psk[32]);
/* A copy of hs (its own secret memory), NULL without memory: lets a
 * caller read a message and still refuse it on what the payload says. */
struct tc_noise_hs *tc_noise_hs_dup(const struct tc_noise_hs *hs);
/* Wipes and frees hs; NULL is a no-op. */
void tc_noise_hs_free(struct tc_noise_hs *hs);
/* For conformance tests: use this ephemeral private key instead of a random
 * one.  Must be called before the message that sends e. */
void tc_noise_hs_set_ephemeral(struct tc_noise_hs *hs,
			       const uint8_t e_priv[32]);
/* Writes the next handshake message carrying payload into out.  Returns the
 * message length, -ENOSPC if cap is short, -EINVAL if it is not our turn. */
int tc_noise_hs_write(struct tc_noise_hs *hs, const uint8_t *payload,
		      size_t plen, uint8_t *out, size_t cap);
/* Reads the next handshake message (untrusted: from peer), writing the
 * decrypted payload into payload_out.  Returns the payload length, -EBADMSG
 * when authentication fails or the length is wrong, -ENOSPC, -EINVAL out of
 * turn.  After a failure the state is unusable. */
int tc_noise_hs_read(struct tc_noise_hs *hs, const uint8_t *msg, size_t len,
		     uint8_t *payload_out, size_t cap);
/* As tc_noise_hs_write/_read, but MixHash(ad) first, inside the same
 * all-or-nothing step: binds clear framing bytes (a packet header) into the
 * transcript.  adlen 0 is exactly the plain call (no MixHash). */
int tc_noise_hs_write_ad(struct tc_noise_hs *hs, const uint8_t *ad,
			 size_t adlen, const uint8_t *payload, size_t plen,
			 uint8_t *out, size_t cap);
int tc_noise_hs_read_ad(struct tc_noise_hs *hs, const uint8_t *ad, size_t adlen,
			const uint8_t *msg, size_t len, uint8_t *payload_out,
			size_t cap);
/* True once both messages are processed. */
bool tc_noise_hs_is_done(const struct tc_noise_hs *hs);
/* The peer's static public key (borrowed): known to the initiator from the
 * start, to the responder after message 1; NULL before that. */
const uint8_t *tc_noise_hs_remote_static(const struct tc_noise_hs *hs);
/* Handshake hash h (64 bytes, borrowed). */
const uint8_t *tc_noise_hs_hash(const struct tc_noise_hs *hs);
/* After completion: the transport keys, oriented for this side (initiator
 * sends with the first split key).  0, or -EINVAL when not done. */
int tc_noise_hs_split(struct tc_noise_hs *hs, uint8_t send_key[32],
		      uint8_t recv_key[32]);

/* ChaCha20-Poly1305 with the Noise nonce (4 zero bytes + 64-bit LE counter).
 * encrypt writes len + 16 bytes; decrypt returns 0 or -EBADMSG. */
void tc_noise_encrypt(const uint8_t key[32], uint64_t n, const uint8_t *ad,
		      size_t adlen, const uint8_t *pt, size_t len,
		      uint8_t *out);
int tc_noise_decrypt(const uint8_t key[32], uint64_t n, const uint8_t *ad,
		     size_t adlen, const uint8_t *ct, size_t len, uint8_t *out);

#endif
