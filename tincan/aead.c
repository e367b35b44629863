/*
 * ChaCha20-Poly1305 (RFC 8439 section 2.8) from libsodium's primitives: one
 * keystream request per message, rounded up to libsodium's SIMD chunk, whose
 * first block keys Poly1305 and whose following bytes are XORed with the
 * message; Poly1305 runs over the AD, the ciphertext, their zero padding and
 * their lengths.  See aead.h for why.
 */
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <sodium.h>

#include "tincan/aead.h"

enum {
	BLOCK = 64,  /* a ChaCha20 block: the Poly1305 key comes from block 0 */
	CHUNK = 512, /* libsodium's widest ChaCha20 step */
};

enum { KS_LEN = BLOCK + TC_AEAD_MAX + CHUNK };

/* Keystream scratch: block 0, then up to TC_AEAD_MAX bytes, rounded up;
 * allocated on a thread's first use (a static per-thread array would be
 * zeroed, hence resident, in every thread of the process). */
static _Thread_local uint8_t *ks;

/* Whether this thread has its scratch; without it (no memory), libsodium's
 * own AEAD does the work. */
static bool have_ks(void)
{
	if (ks == NULL)
		ks = malloc(KS_LEN);
	return ks != NULL;
}

static const uint8_t zero_pad[16];

static void keystream(size_t len, const uint8_t nonce[TC_AEAD_NONCE_LEN],
		      const uint8_t key[TC_AEAD_KEY_LEN])
{
	size_t n = (BLOCK + len + CHUNK - 1) / CHUNK * CHUNK;

	crypto_stream_chacha20_ietf(ks, n, nonce, key);
}

/* out = in ^ keystream (from byte BLOCK on), a word at a time. */
static void xor_stream(uint8_t *out, const uint8_t *in, size_t len)
{
	const uint8_t *k = ks + BLOCK;
	uint64_t a, b;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&a, in + i, 8);
		memcpy(&b, k + i, 8);
		a ^= b;
		memcpy(out + i, &a, 8);
	}
	for (; i < len; i++)
		out[i] = in[i] ^ k[i];
}

static void le64(uint8_t out[8], uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		out[i] = (uint8_t)(v >> (8 * i));
}

/* The tag over ad and ct, keyed by the first 32 bytes of block 0. */
static void tag(uint8_t out[TC_AEAD_TAG_LEN], const uint8_t *ad, size_t adlen,
		const uint8_t *ct, size_t len)
{
	crypto_onetimeauth_poly1305_state st;
	uint8_t lens[16];

	crypto_onetimeauth_poly1305_init(&st, ks);
	crypto_onetimeauth_poly1305_update(&st, ad, adlen);
	crypto_onetimeauth_poly1305_update(&st, zero_pad,
					   (16 - adlen % 16) % 16);
	crypto_onetimeauth_poly1305_update(&st, ct, len);
	crypto_onetimeauth_poly1305_update(&st, zero_pad, (16 - len % 16) % 16);
	le64(lens, adlen);
	le64(lens + 8, len);
	crypto_onetimeauth_poly1305_update(&st, lens, sizeof(lens));
	crypto_onetimeauth_poly1305_final(&st, out);
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(ks, 32); /* the one-time key */
}

void tc_aead_seal(uint8_t *out, const uint8_t *pt, size_t len,
		  const uint8_t *ad, size_t adlen,
		  const uint8_t nonce[TC_AEAD_NONCE_LEN],
		  const uint8_t key[TC_AEAD_KEY_LEN])
{
	if (!have_ks()) {
		crypto_aead_chacha20poly1305_ietf_encrypt(
		    out, NULL, pt, len, ad, adlen, NULL, nonce, key);
		return;
	}
	keystream(len, nonce, key);
	xor_stream(out, pt, len);
	tag(out + len, ad, adlen, out, len);
}

int tc_aead_open(uint8_t *out, const uint8_t *ct, size_t len, const uint8_t *ad,
		 size_t adlen, const uint8_t nonce[TC_AEAD_NONCE_LEN],
		 const uint8_t key[TC_AEAD_KEY_LEN])
{
	uint8_t want[TC_AEAD_TAG_LEN];

	if (len < TC_AEAD_TAG_LEN || len - TC_AEAD_TAG_LEN > TC_AEAD_MAX)
		return -EBADMSG;
	if (!have_ks())
		return crypto_aead_chacha20poly1305_ietf_decrypt(
			   out, NULL, NULL, ct, len, ad, adlen, nonce, key) == 0
			   ? 0
			   : -EBADMSG;
	len -= TC_AEAD_TAG_LEN;
	keystream(len, nonce, key);
	tag(want, ad, adlen, ct, len);
	if (crypto_verify_16(want, ct + len) != 0)
		return -EBADMSG;
	xor_stream(out, ct, len);
	return 0;
}

/* Transport keys under either suite. */

bool tc_aead_aes_available(void)
{
	return sodium_init() >= 0 && crypto_aead_aes256gcm_is_available();
}

unsigned tc_aead_suites_local(void)
{
	return TC_SUITE_CHACHA20_POLY1305 |
	       (tc_aead_aes_available() ? TC_SUITE_AES256_GCM : 0);
}

const char *tc_aead_suite_name(unsigned suite)
{
	switch (suite) {
	case TC_SUITE_CHACHA20_POLY1305:
		return "chacha20-poly1305";
	case TC_SUITE_AES256_GCM:
		return "aes-256-gcm";
	default:
		return "";
	}
}

int tc_aead_suites_parse(const char *name, unsigned *set)
{
	if (name == NULL || set == NULL)
		return -EINVAL;
	if (strcmp(name, "auto") == 0) {
		*set = tc_aead_suites_local();
		return 0;
	}
	if (strcmp(name, "chacha20-poly1305") == 0) {
		*set = TC_SUITE_CHACHA20_POLY1305;
		return 0;
	}
	if (strcmp(name, "aes-256-gcm") == 0) {
		if (!tc_aead_aes_available())
			return -ENOTSUP;
		*set = TC_SUITE_AES256_GCM;
		return 0;
	}
	return -EINVAL;
}

unsigned tc_aead_suite_best(unsigned set)
{
	if (set & TC_SUITE_AES256_GCM)
		return TC_SUITE_AES256_GCM;
	if (set & TC_SUITE_CHACHA20_POLY1305)
		return TC_SUITE_CHACHA20_POLY1305;
	return 0;
}

/* AES-256-GCM under GnuTLS.  Any failure of GnuTLS falls back to
 * libsodium for that key or message (same bytes), except a refused open. */

static bool aes_gnutls = true;

void tc_aead_aes_gnutls(bool on)
{
	aes_gnutls = on;
}

/* A GnuTLS handle for key, or NULL (not wanted, or refused). */
static void *gnutls_key(const uint8_t key[TC_AEAD_KEY_LEN])
{
	uint8_t copy[TC_AEAD_KEY_LEN];
	gnutls_datum_t d = {copy, TC_AEAD_KEY_LEN};
	gnutls_aead_cipher_hd_t h;
	int rc;

	if (!aes_gnutls)
		return NULL;
	memcpy(copy, key, sizeof(copy));
	rc = gnutls_aead_cipher_init(&h, GNUTLS_CIPHER_AES_256_GCM, &d);
	sodium_memzero(copy, sizeof(copy));
	return rc < 0 ? NULL : h;
}

/* 0, or a GnuTLS error (nothing sealed that can be trusted). */
static int gnutls_seal(void *h, uint8_t *out, const uint8_t *pt, size_t len,
		       const uint8_t *ad, size_t adlen,
		       const uint8_t nonce[TC_AEAD_NONCE_LEN])
{
	giovec_t msg = {out, len}, aad = {(void *)(uintptr_t)ad, adlen};
	size_t olen = len + TC_AEAD_TAG_LEN, tlen = TC_AEAD_TAG_LEN;

	/* In place (encryptv2) when asked to; the copying call otherwise,
	 * which measured faster than a copy and then encryptv2. */
	if (out != pt)
		return gnutls_aead_cipher_encrypt(h, nonce, TC_AEAD_NONCE_LEN,
						  ad, adlen, TC_AEAD_TAG_LEN,
						  pt, len, out, &olen);
	return gnutls_aead_cipher_encryptv2(h, nonce, TC_AEAD_NONCE_LEN, &aad,
					    adlen > 0 ? 1 : 0, &msg, 1,
					    out + len, &tlen);
}

/* ct is len bytes, the tag included (len >= 16).  Decrypts in place in out
 * (the ciphertext copied there first: that measured faster than GnuTLS's
 * copying call), so a refused message leaves out zeroed. */
static int gnutls_open(void *h, uint8_t *out, const uint8_t *ct, size_t len,
		       const uint8_t *ad, size_t adlen,
		       const uint8_t nonce[TC_AEAD_NONCE_LEN])
{
	size_t plen = len - TC_AEAD_TAG_LEN;
	uint8_t tag[TC_AEAD_TAG_LEN];
	giovec_t msg = {out, plen}, aad = {(void *)(uintptr_t)ad, adlen};

	memcpy(tag, ct + plen, sizeof(tag));
	if (out != ct)
		memmove(out, ct, plen);
	if (gnutls_aead_cipher_decryptv2(h, nonce, TC_AEAD_NONCE_LEN, &aad,
					 adlen > 0 ? 1 : 0, &msg, 1, tag,
					 sizeof(tag)) < 0) {
		sodium_memzero(out, plen);
		return -EBADMSG;
	}
	return 0;
}

int tc_aead_key_set(struct tc_aead_key *k, unsigned suite,
		    const uint8_t key[TC_AEAD_KEY_LEN])
{
	tc_aead_key_wipe(k);
	switch (suite) {
	case TC_SUITE_CHACHA20_POLY1305:
		memcpy(k->u.chacha, key, TC_AEAD_KEY_LEN);
		break;
	case TC_SUITE_AES256_GCM:
		if (!tc_aead_aes_available())
			return -ENOTSUP;
		crypto_aead_aes256gcm_beforenm(&k->u.aes, key);
		k->gnutls = gnutls_key(key);
		break;
	default:
		return -EINVAL;
	}
	k->suite = suite;
	return 0;
}

void tc_aead_key_wipe(struct tc_aead_key *k)
{
	if (k->gnutls != NULL)
		gnutls_aead_cipher_deinit(k->gnutls);
	sodium_memzero(k, sizeof(*k));
}

void tc_aead_key_move(struct tc_aead_key *dst, struct tc_aead_key *src)
{
	if (dst == src)
		return;
	tc_aead_key_wipe(dst);
	memcpy(dst, src, sizeof(*dst));
	sodium_memzero(src, sizeof(*src));
}

bool tc_aead_key_gnutls(const struct tc_aead_key *k)
{
	return k->suite == TC_SUITE_AES256_GCM && k->gnutls != NULL;
}

int tc_aead_key_seal_nonce(const struct tc_aead_key *k, uint8_t *out,
			   const uint8_t *pt, size_t len, const uint8_t *ad,
			   size_t adlen, const uint8_t nonce[TC_AEAD_NONCE_LEN])
{
	if (k->suite != TC_SUITE_AES256_GCM) {
		if (len <= TC_AEAD_MAX)
			tc_aead_seal(out, pt, len, ad, adlen, nonce,
				     k->u.chacha);
		else
			crypto_aead_chacha20poly1305_ietf_encrypt(
			    out, NULL, pt, len, ad, adlen, NULL, nonce,
			    k->u.chacha);
		return 0;
	}
	if (k->gnutls != NULL &&
	    gnutls_seal(k->gnutls, out, pt, len, ad, adlen, nonce) == 0)
		return 0;
	/* GnuTLS failed.  Copying, pt is intact and libsodium seals it; in
	 * place, part of it may already be ciphertext. */
	if (k->gnutls != NULL && out == pt) {
		sodium_memzero(out, len + TC_AEAD_TAG_LEN);
		return -EIO;
	}
	crypto_aead_aes256gcm_encrypt_afternm(out, NULL, pt, len, ad, adlen,
					      NULL, nonce, &k->u.aes);
	return 0;
}

int tc_aead_key_open_nonce(const struct tc_aead_key *k, uint8_t *out,
			   const uint8_t *ct, size_t len, const uint8_t *ad,
			   size_t adlen, const uint8_t nonce[TC_AEAD_NONCE_LEN])
{
	if (len < TC_AEAD_TAG_LEN)
		return -EBADMSG;
	if (k->suite != TC_SUITE_AES256_GCM &&
	    len - TC_AEAD_TAG_LEN > TC_AEAD_MAX)
		return crypto_aead_chacha20poly1305_ietf_decrypt(
			   out, NULL, NULL, ct, len, ad, adlen, nonce,
			   k->u.chacha) == 0
			   ? 0
			   : -EBADMSG;
	if (k->suite != TC_SUITE_AES256_GCM)
		return tc_aead_open(out, ct, len, ad, adlen, nonce,
				    k->u.chacha);
	if (k->gnutls != NULL)
		return gnutls_open(k->gnutls, out, ct, len, ad, adlen, nonce);
	return crypto_aead_aes256gcm_decrypt_afternm(
		   out, NULL, NULL, ct, len, ad, adlen, nonce, &k->u.aes) == 0
		   ? 0
		   : -EBADMSG;
}

/* Noise's nonce for counter n under k's cipher. */
static void counter_nonce(const struct tc_aead_key *k, uint64_t n,
			  uint8_t nonce[TC_AEAD_NONCE_LEN])
{
	/* Big-endian for AES-GCM, little-endian for ChaCha20-Poly1305. */
	uint64_t v = k->suite == TC_SUITE_AES256_GCM ? htobe64(n) : htole64(n);

	memset(nonce, 0, 4);
	memcpy(nonce + 4, &v, sizeof(v));
}

int tc_aead_key_seal(const struct tc_aead_key *k, uint64_t n, uint8_t *out,
		     const uint8_t *pt, size_t len, const uint8_t *ad,
		     size_t adlen)
{
	uint8_t nonce[TC_AEAD_NONCE_LEN];

	counter_nonce(k, n, nonce);
	return tc_aead_key_seal_nonce(k, out, pt, len, ad, adlen, nonce);
}

int tc_aead_key_open(const struct tc_aead_key *k, uint64_t n, uint8_t *out,
		     const uint8_t *ct, size_t len, const uint8_t *ad,
		     size_t adlen)
{
	uint8_t nonce[TC_AEAD_NONCE_LEN];

	counter_nonce(k, n, nonce);
	return tc_aead_key_open_nonce(k, out, ct, len, ad, adlen, nonce);
}
