/*
 * ChaCha20-Poly1305 as RFC 8439 defines it (96-bit nonce, the "IETF"
 * variant), composed from libsodium's ChaCha20 keystream and Poly1305: the
 * output is byte for byte that of crypto_aead_chacha20poly1305_ietf_*, the
 * cost is not.  libsodium's ChaCha20 serves a request in 512-byte chunks with
 * its widest SIMD code and leaves the remainder (len % 512) to narrower and
 * then scalar code; for a 1420-byte packet that tail took a third of the
 * packet's time (measured: 1049 ns for 1420 bytes, 645 ns for 1536).  Here
 * the keystream of a packet, the Poly1305 key block included, comes from one
 * request rounded up to whole chunks, and is XORed in.
 *
 * The keystream scratch is per thread (callable from any thread), allocated
 * once on a thread's first call; nothing is allocated per message.
 *
 * The transport keys of a link (struct tc_aead_key) use one of two suites,
 * chosen in the link's handshake (session.h): this ChaCha20-Poly1305, or
 * AES-256-GCM, offered only where crypto_aead_aes256gcm_is_available()
 * (AES-NI and PCLMUL).  An AES-256-GCM key is expanded once, not per packet,
 * for two implementations of the same cipher: GnuTLS's (already loaded,
 * through libnice), which seals or opens a 1400-byte packet in about
 * 0.35 us here against libsodium's 0.71 (its stitched AES and GHASH code),
 * and libsodium's, used when GnuTLS refuses a key (no memory, a FIPS
 * policy) or tc_aead_aes_gnutls(false) says so.  Both give the same bytes
 * (checked against the same vectors), so the two ends of a link need not
 * agree on which one runs.
 *
 * Ownership: a key set under GnuTLS holds a handle of its own, freed by
 * tc_aead_key_wipe.  So a struct tc_aead_key is never copied: it is set in
 * place (starting zeroed) and moved with tc_aead_key_move.  A GnuTLS handle
 * keeps per-message state, so one key's seal and open calls must not run
 * at the same time (the session's lock serialises them).
 */
#ifndef TC_AEAD_H
#define TC_AEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

enum {
	TC_AEAD_KEY_LEN = 32,
	TC_AEAD_NONCE_LEN = 12,
	TC_AEAD_TAG_LEN = 16,
	TC_AEAD_MAX = 65536, /* largest plaintext */
};

/* Encrypts len bytes of pt (len <= TC_AEAD_MAX) into out (len + 16 bytes:
 * ciphertext, then tag), authenticating ad.  out may equal pt. */
void tc_aead_seal(uint8_t *out, const uint8_t *pt, size_t len,
		  const uint8_t *ad, size_t adlen,
		  const uint8_t nonce[TC_AEAD_NONCE_LEN],
		  const uint8_t key[TC_AEAD_KEY_LEN]);
/* Checks the tag of ct (len bytes, tag included) over ad and the ciphertext
 * in constant time, then decrypts into out (len - 16 bytes; may equal ct).
 * 0, or -EBADMSG (out untouched) for a forgery, a wrong key or nonce, or len
 * below 16 or above TC_AEAD_MAX + 16. */
int tc_aead_open(uint8_t *out, const uint8_t *ct, size_t len, const uint8_t *ad,
		 size_t adlen, const uint8_t nonce[TC_AEAD_NONCE_LEN],
		 const uint8_t key[TC_AEAD_KEY_LEN]);

/* Transport suites.  Each is one bit, so a set of them is a bitmask (the
 * handshake carries such a set: session.h). */
enum tc_suite {
	TC_SUITE_CHACHA20_POLY1305 = 1 << 0,
	TC_SUITE_AES256_GCM = 1 << 1,
	TC_SUITES_KNOWN = TC_SUITE_CHACHA20_POLY1305 | TC_SUITE_AES256_GCM,
};

/* True when this CPU runs libsodium's AES-256-GCM (AES-NI and PCLMUL). */
bool tc_aead_aes_available(void);
/* The suites this machine can run: ChaCha20-Poly1305, and AES-256-GCM
 * when available. */
unsigned tc_aead_suites_local(void);
/* "chacha20-poly1305" or "aes-256-gcm" for one suite, "" otherwise. */
const char *tc_aead_suite_name(unsigned suite);
/* Parses "auto" (the local suites), "chacha20-poly1305" or "aes-256-gcm"
 * into a set: 0, -EINVAL for another name, -ENOTSUP for AES-256-GCM on a
 * CPU without it. */
int tc_aead_suites_parse(const char *name, unsigned *set);
/* Of the suites in set, the one a handshake picks: AES-256-GCM before
 * ChaCha20-Poly1305 (faster where both ends have it); 0 for none. */
unsigned tc_aead_suite_best(unsigned set);

/* Whether AES-256-GCM keys set from now on use GnuTLS (the default, true)
 * or libsodium; for tests and measurements.  Keys already set keep theirs. */
void tc_aead_aes_gnutls(bool on);

/* One direction's transport key under one suite. */
struct tc_aead_key {
	union {
		crypto_aead_aes256gcm_state aes; /* 16-byte aligned */
		uint8_t chacha[TC_AEAD_KEY_LEN];
	} u;
	void *gnutls;	/* owned gnutls_aead_cipher_hd_t for AES-256-GCM, or
			   NULL: libsodium's u.aes does the work */
	unsigned suite; /* 0: no key */
};

/* Sets k to key under suite: 0, -ENOTSUP (AES-256-GCM unavailable) or
 * -EINVAL (not one known suite).  k is zeroed or holds a key (released
 * first). */
int tc_aead_key_set(struct tc_aead_key *k, unsigned suite,
		    const uint8_t key[TC_AEAD_KEY_LEN]);
/* Releases and wipes k (suite 0 afterwards). */
void tc_aead_key_wipe(struct tc_aead_key *k);
/* Moves src's key into dst (whose own key is released first) and leaves
 * src zeroed. */
void tc_aead_key_move(struct tc_aead_key *dst, struct tc_aead_key *src);
/* True when k is an AES-256-GCM key that GnuTLS runs. */
bool tc_aead_key_gnutls(const struct tc_aead_key *k);
/* Seal and open with an explicit 96-bit nonce, as tc_aead_seal/_open (any
 * length: above TC_AEAD_MAX libsodium's own ChaCha20-Poly1305 does the
 * work).  k must hold a key.  Seal gives 0, or -EIO when GnuTLS failed
 * sealing in place (out == pt; nothing to send: out is zeroed).  For
 * AES-256-GCM a refused message may leave out zeroed instead of
 * untouched. */
int tc_aead_key_seal_nonce(const struct tc_aead_key *k, uint8_t *out,
			   const uint8_t *pt, size_t len, const uint8_t *ad,
			   size_t adlen,
			   const uint8_t nonce[TC_AEAD_NONCE_LEN]);
int tc_aead_key_open_nonce(const struct tc_aead_key *k, uint8_t *out,
			   const uint8_t *ct, size_t len, const uint8_t *ad,
			   size_t adlen,
			   const uint8_t nonce[TC_AEAD_NONCE_LEN]);
/* With the message counter n as the nonce, the way Noise forms it for
 * each cipher: 4 zero bytes, then n little-endian (ChaChaPoly) or
 * big-endian (AESGCM). */
int tc_aead_key_seal(const struct tc_aead_key *k, uint64_t n, uint8_t *out,
		     const uint8_t *pt, size_t len, const uint8_t *ad,
		     size_t adlen);
int tc_aead_key_open(const struct tc_aead_key *k, uint64_t n, uint8_t *out,
		     const uint8_t *ct, size_t len, const uint8_t *ad,
		     size_t adlen);

#endif
