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
 */
#ifndef TC_AEAD_H
#define TC_AEAD_H

#include <stddef.h>
#include <stdint.h>

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

#endif
