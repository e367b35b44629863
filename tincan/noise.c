/*
 * Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b (Noise revision 34) on libsodium:
 * the symmetric state (ck, h, k, n), the handshake state of one IKpsk2
 * handshake, HMAC-BLAKE2b and HKDF as the spec defines them, and the
 * ChaCha20-Poly1305 transport primitive with the Noise nonce.  It knows
 * nothing of framing, indices, clocks or I/O; the link session does that.
 * Every message is processed on a scratch copy of the state that replaces the
 * real state only on success, so a failed read or write leaves the handshake
 * exactly as it was (stronger than the header promises).  The _ad variants
 * MixHash caller framing into h before the message (outside the Noise spec,
 * in the spirit of the prologue); without ad the result is pure Noise.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include <sodium.h>

#include "tincan/aead.h"
#include "tincan/noise.h"

enum {
	HASHLEN = 64,
	BLOCKLEN = 128,
	DHLEN = 32,
	NONCE_LEN = 12,
};

enum hs_step {
	STEP_MSG1,
	STEP_MSG2,
	STEP_DONE,
};

static const char protocol_name[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b";

struct tc_noise_hs {
	uint8_t ck[HASHLEN];
	uint8_t h[HASHLEN];
	uint8_t k[TC_NOISE_KEY_LEN];
	uint64_t n;
	uint8_t s_priv[DHLEN];
	uint8_t s_pub[DHLEN];
	uint8_t e_priv[DHLEN];
	uint8_t e_pub[DHLEN];
	uint8_t re[DHLEN];
	uint8_t rs[DHLEN];
	uint8_t psk[TC_NOISE_KEY_LEN];
	enum hs_step step;
	bool has_k;
	bool has_rs;
	bool e_fixed;
	bool initiator;
};

static void make_nonce(uint8_t nonce[NONCE_LEN], uint64_t n)
{
	int i;

	memset(nonce, 0, 4);
	for (i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(n >> (8 * i));
}

void tc_noise_encrypt(const uint8_t key[32], uint64_t n, const uint8_t *ad,
		      size_t adlen, const uint8_t *pt, size_t len, uint8_t *out)
{
	uint8_t nonce[NONCE_LEN];

	make_nonce(nonce, n);
	if (len <= TC_AEAD_MAX)
		tc_aead_seal(out, pt, len, ad, adlen, nonce, key);
	else
		crypto_aead_chacha20poly1305_ietf_encrypt(
		    out, NULL, pt, len, ad, adlen, NULL, nonce, key);
}

/* len counts the ciphertext with its tag; out receives len - 16 bytes. */
int tc_noise_decrypt(const uint8_t key[32], uint64_t n, const uint8_t *ad,
		     size_t adlen, const uint8_t *ct, size_t len, uint8_t *out)
{
	uint8_t nonce[NONCE_LEN];

	if (len < TC_NOISE_TAG_LEN)
		return -EBADMSG;
	make_nonce(nonce, n);
	if (len - TC_NOISE_TAG_LEN <= TC_AEAD_MAX)
		return tc_aead_open(out, ct, len, ad, adlen, nonce, key);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(
		out, NULL, NULL, ct, len, ad, adlen, nonce, key) != 0)
		return -EBADMSG;
	return 0;
}

/* HASH(a || b), either part may be empty. */
static void hash2(uint8_t out[HASHLEN], const uint8_t *a, size_t alen,
		  const uint8_t *b, size_t blen)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, HASHLEN);
	crypto_generichash_update(&st, a, alen);
	crypto_generichash_update(&st, b, blen);
	crypto_generichash_final(&st, out, HASHLEN);
	sodium_memzero(&st, sizeof(st));
}

/* HMAC-HASH(key, a || b || c) with a HASHLEN key, per RFC 2104. */
static void hmac(uint8_t out[HASHLEN], const uint8_t key[HASHLEN],
		 const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	crypto_generichash_state st;
	uint8_t pad[BLOCKLEN], inner[HASHLEN];
	int i;

	memset(pad, 0x36, sizeof(pad));
	for (i = 0; i < HASHLEN; i++)
		pad[i] ^= key[i];
	crypto_generichash_init(&st, NULL, 0, HASHLEN);
	crypto_generichash_update(&st, pad, sizeof(pad));
	crypto_generichash_update(&st, a, alen);
	crypto_generichash_update(&st, b, blen);
	crypto_generichash_final(&st, inner, HASHLEN);

	memset(pad, 0x5c, sizeof(pad));
	for (i = 0; i < HASHLEN; i++)
		pad[i] ^= key[i];
	hash2(out, pad, sizeof(pad), inner, sizeof(inner));

	sodium_memzero(&st, sizeof(st));
	sodium_memzero(pad, sizeof(pad));
	sodium_memzero(inner, sizeof(inner));
}

/* HKDF(ck, ikm) with two or (out3 != NULL) three outputs.  out1 may alias
 * ck: ck is read only before out1 is written. */
static void hkdf(const uint8_t ck[HASHLEN], const uint8_t *ikm, size_t ikmlen,
		 uint8_t out1[HASHLEN], uint8_t out2[HASHLEN],
		 uint8_t out3[HASHLEN])
{
	static const uint8_t one = 1, two = 2, three = 3;
	uint8_t tk[HASHLEN];

	hmac(tk, ck, ikm, ikmlen, NULL, 0);
	hmac(out1, tk, &one, 1, NULL, 0);
	hmac(out2, tk, out1, HASHLEN, &two, 1);
	if (out3 != NULL)
		hmac(out3, tk, out2, HASHLEN, &three, 1);
	sodium_memzero(tk, sizeof(tk));
}

static void mix_hash(struct tc_noise_hs *hs, const uint8_t *data, size_t len)
{
	hash2(hs->h, hs->h, HASHLEN, data, len);
}

static void mix_key(struct tc_noise_hs *hs, const uint8_t *ikm, size_t len)
{
	uint8_t tk[HASHLEN];

	hkdf(hs->ck, ikm, len, hs->ck, tk, NULL);
	memcpy(hs->k, tk, TC_NOISE_KEY_LEN); /* truncated to 32 bytes */
	hs->n = 0;
	hs->has_k = true;
	sodium_memzero(tk, sizeof(tk));
}

static void mix_key_and_hash(struct tc_noise_hs *hs, const uint8_t *ikm,
			     size_t len)
{
	uint8_t th[HASHLEN], tk[HASHLEN];

	hkdf(hs->ck, ikm, len, hs->ck, th, tk);
	mix_hash(hs, th, HASHLEN);
	memcpy(hs->k, tk, TC_NOISE_KEY_LEN);
	hs->n = 0;
	hs->has_k = true;
	sodium_memzero(th, sizeof(th));
	sodium_memzero(tk, sizeof(tk));
}

/* Writes len (+ 16 with a key) bytes to out; returns the count written. */
static size_t encrypt_and_hash(struct tc_noise_hs *hs, const uint8_t *pt,
			       size_t len, uint8_t *out)
{
	size_t olen = len;

	if (hs->has_k) {
		tc_noise_encrypt(hs->k, hs->n, hs->h, HASHLEN, pt, len, out);
		hs->n++;
		olen += TC_NOISE_TAG_LEN;
	} else if (len > 0) {
		memmove(out, pt, len);
	}
	mix_hash(hs, out, olen);
	return olen;
}

/* Reads len bytes of ct into out (len - 16 of them with a key). */
static int decrypt_and_hash(struct tc_noise_hs *hs, const uint8_t *ct,
			    size_t len, uint8_t *out)
{
	uint8_t dummy[1];

	if (hs->has_k) {
		if (len < TC_NOISE_TAG_LEN)
			return -EBADMSG;
		if (tc_noise_decrypt(hs->k, hs->n, hs->h, HASHLEN, ct, len,
				     out != NULL ? out : dummy) != 0)
			return -EBADMSG;
		hs->n++;
	} else if (len > 0) {
		memmove(out, ct, len);
	}
	mix_hash(hs, ct, len);
	return 0;
}

/* MixKey(DH(priv, pub)); -EBADMSG on a low-order or all-zero result. */
static int mix_dh(struct tc_noise_hs *hs, const uint8_t priv[DHLEN],
		  const uint8_t pub[DHLEN])
{
	uint8_t shared[DHLEN];
	int rc = 0;

	if (crypto_scalarmult(shared, priv, pub) != 0 ||
	    sodium_is_zero(shared, sizeof(shared)))
		rc = -EBADMSG;
	else
		mix_key(hs, shared, sizeof(shared));
	sodium_memzero(shared, sizeof(shared));
	return rc;
}

struct tc_noise_hs *
tc_noise_hs_new(bool initiator, const uint8_t *prologue, size_t prologue_len,
		const uint8_t s_priv[32], const uint8_t s_pub[32],
		const uint8_t rs_pub[32], const uint8_t psk[32])
{
	struct tc_noise_hs *hs;

	if (sodium_init() < 0 || s_priv == NULL || s_pub == NULL ||
	    (initiator && rs_pub == NULL) ||
	    (prologue == NULL && prologue_len > 0))
		return NULL;
	hs = sodium_malloc(sizeof(*hs));
	if (hs == NULL)
		return NULL;
	sodium_memzero(hs, sizeof(*hs));
	hs->initiator = initiator;
	memcpy(hs->s_priv, s_priv, DHLEN);
	memcpy(hs->s_pub, s_pub, DHLEN);
	if (psk != NULL)
		memcpy(hs->psk, psk, sizeof(hs->psk));
	if (rs_pub != NULL) {
		memcpy(hs->rs, rs_pub, DHLEN);
		hs->has_rs = true;
	}

	/* The name is shorter than HASHLEN: h is the name zero-padded. */
	memcpy(hs->h, protocol_name, sizeof(protocol_name) - 1);
	memcpy(hs->ck, hs->h, HASHLEN);
	mix_hash(hs, prologue, prologue_len);
	/* Pre-message "<- s": both sides hash the responder's static key. */
	mix_hash(hs, initiator ? hs->rs : hs->s_pub, DHLEN);
	return hs;
}

struct tc_noise_hs *tc_noise_hs_dup(const struct tc_noise_hs *hs)
{
	struct tc_noise_hs *d;

	if (hs == NULL)
		return NULL;
	d = sodium_malloc(sizeof(*d));
	if (d != NULL)
		memcpy(d, hs, sizeof(*d));
	return d;
}

void tc_noise_hs_free(struct tc_noise_hs *hs)
{
	if (hs == NULL)
		return;
	sodium_memzero(hs, sizeof(*hs));
	sodium_free(hs);
}

void tc_noise_hs_set_ephemeral(struct tc_noise_hs *hs, const uint8_t e_priv[32])
{
	if (hs == NULL || e_priv == NULL)
		return;
	memcpy(hs->e_priv, e_priv, DHLEN);
	hs->e_fixed = true;
}

/* Token "e" on the sending side, with the psk-mode MixKey(e.pub). */
static void write_e(struct tc_noise_hs *hs, uint8_t *out)
{
	if (!hs->e_fixed)
		randombytes_buf(hs->e_priv, DHLEN);
	crypto_scalarmult_base(hs->e_pub, hs->e_priv);
	memcpy(out, hs->e_pub, DHLEN);
	mix_hash(hs, hs->e_pub, DHLEN);
	mix_key(hs, hs->e_pub, DHLEN);
}

/* Token "e" on the receiving side. */
static void read_e(struct tc_noise_hs *hs, const uint8_t *msg)
{
	memcpy(hs->re, msg, DHLEN);
	mix_hash(hs, hs->re, DHLEN);
	mix_key(hs, hs->re, DHLEN);
}

/* -> e, es, s, ss */
static int write_msg1(struct tc_noise_hs *hs, const uint8_t *payload,
		      size_t plen, uint8_t *out)
{
	write_e(hs, out);
	if (mix_dh(hs, hs->e_priv, hs->rs) != 0)
		return -EINVAL;
	encrypt_and_hash(hs, hs->s_pub, DHLEN, out + DHLEN);
	if (mix_dh(hs, hs->s_priv, hs->rs) != 0)
		return -EINVAL;
	encrypt_and_hash(hs, payload, plen,
			 out + DHLEN + DHLEN + TC_NOISE_TAG_LEN);
	return 0;
}

/* <- e, ee, se, psk */
static int write_msg2(struct tc_noise_hs *hs, const uint8_t *payload,
		      size_t plen, uint8_t *out)
{
	write_e(hs, out);
	if (mix_dh(hs, hs->e_priv, hs->re) != 0 ||
	    mix_dh(hs, hs->e_priv, hs->rs) != 0)
		return -EINVAL;
	mix_key_and_hash(hs, hs->psk, sizeof(hs->psk));
	encrypt_and_hash(hs, payload, plen, out + DHLEN);
	return 0;
}

static int read_msg1(struct tc_noise_hs *hs, const uint8_t *msg, size_t len,
		     uint8_t *payload_out)
{
	const size_t s_off = DHLEN, p_off = DHLEN + DHLEN + TC_NOISE_TAG_LEN;

	read_e(hs, msg);
	if (mix_dh(hs, hs->s_priv, hs->re) != 0)
		return -EBADMSG;
	if (decrypt_and_hash(hs, msg + s_off, DHLEN + TC_NOISE_TAG_LEN,
			     hs->rs) != 0)
		return -EBADMSG;
	hs->has_rs = true;
	if (mix_dh(hs, hs->s_priv, hs->rs) != 0)
		return -EBADMSG;
	return decrypt_and_hash(hs, msg + p_off, len - p_off, payload_out);
}

static int read_msg2(struct tc_noise_hs *hs, const uint8_t *msg, size_t len,
		     uint8_t *payload_out)
{
	read_e(hs, msg);
	if (mix_dh(hs, hs->e_priv, hs->re) != 0 ||
	    mix_dh(hs, hs->s_priv, hs->re) != 0)
		return -EBADMSG;
	mix_key_and_hash(hs, hs->psk, sizeof(hs->psk));
	return decrypt_and_hash(hs, msg + DHLEN, len - DHLEN, payload_out);
}

static bool our_turn_to_write(const struct tc_noise_hs *hs)
{
	return (hs->initiator && hs->step == STEP_MSG1) ||
	       (!hs->initiator && hs->step == STEP_MSG2);
}

int tc_noise_hs_write_ad(struct tc_noise_hs *hs, const uint8_t *ad,
			 size_t adlen, const uint8_t *payload, size_t plen,
			 uint8_t *out, size_t cap)
{
	struct tc_noise_hs tmp;
	size_t need;
	int rc;

	if (hs == NULL || out == NULL || (payload == NULL && plen > 0) ||
	    (ad == NULL && adlen > 0) || !our_turn_to_write(hs))
		return -EINVAL;
	need = (hs->step == STEP_MSG1 ? TC_NOISE_MSG1_OVERHEAD
				      : TC_NOISE_MSG2_OVERHEAD);
	if (plen > (size_t)INT_MAX - need)
		return -EMSGSIZE;
	need += plen;
	if (cap < need)
		return -ENOSPC;

	tmp = *hs;
	if (adlen > 0)
		mix_hash(&tmp, ad, adlen);
	if (tmp.step == STEP_MSG1)
		rc = write_msg1(&tmp, payload, plen, out);
	else
		rc = write_msg2(&tmp, payload, plen, out);
	if (rc == 0) {
		tmp.step++;
		*hs = tmp;
		rc = (int)need;
	}
	sodium_memzero(&tmp, sizeof(tmp));
	return rc;
}

int tc_noise_hs_write(struct tc_noise_hs *hs, const uint8_t *payload,
		      size_t plen, uint8_t *out, size_t cap)
{
	return tc_noise_hs_write_ad(hs, NULL, 0, payload, plen, out, cap);
}

/* untrusted: msg (and ad, the clear header around it) come from the peer. */
int tc_noise_hs_read_ad(struct tc_noise_hs *hs, const uint8_t *ad, size_t adlen,
			const uint8_t *msg, size_t len, uint8_t *payload_out,
			size_t cap)
{
	struct tc_noise_hs tmp;
	size_t over, plen;
	int rc;

	if (hs == NULL || msg == NULL || (ad == NULL && adlen > 0) ||
	    our_turn_to_write(hs) || hs->step == STEP_DONE)
		return -EINVAL;
	over = (hs->step == STEP_MSG1 ? TC_NOISE_MSG1_OVERHEAD
				      : TC_NOISE_MSG2_OVERHEAD);
	if (len < over || len - over > (size_t)INT_MAX)
		return -EBADMSG;
	plen = len - over;
	if (cap < plen || (payload_out == NULL && plen > 0))
		return -ENOSPC;

	tmp = *hs;
	if (adlen > 0)
		mix_hash(&tmp, ad, adlen);
	if (tmp.step == STEP_MSG1)
		rc = read_msg1(&tmp, msg, len, payload_out);
	else
		rc = read_msg2(&tmp, msg, len, payload_out);
	if (rc == 0) {
		tmp.step++;
		*hs = tmp;
		rc = (int)plen;
	}
	sodium_memzero(&tmp, sizeof(tmp));
	return rc;
}

int tc_noise_hs_read(struct tc_noise_hs *hs, const uint8_t *msg, size_t len,
		     uint8_t *payload_out, size_t cap)
{
	return tc_noise_hs_read_ad(hs, NULL, 0, msg, len, payload_out, cap);
}

bool tc_noise_hs_is_done(const struct tc_noise_hs *hs)
{
	return hs != NULL && hs->step == STEP_DONE;
}

const uint8_t *tc_noise_hs_remote_static(const struct tc_noise_hs *hs)
{
	if (hs == NULL || !hs->has_rs)
		return NULL;
	return hs->rs;
}

const uint8_t *tc_noise_hs_hash(const struct tc_noise_hs *hs)
{
	return hs != NULL ? hs->h : NULL;
}

int tc_noise_hs_split(struct tc_noise_hs *hs, uint8_t send_key[32],
		      uint8_t recv_key[32])
{
	uint8_t k1[HASHLEN], k2[HASHLEN];

	if (!tc_noise_hs_is_done(hs) || send_key == NULL || recv_key == NULL)
		return -EINVAL;
	hkdf(hs->ck, NULL, 0, k1, k2, NULL);
	memcpy(hs->initiator ? send_key : recv_key, k1, TC_NOISE_KEY_LEN);
	memcpy(hs->initiator ? recv_key : send_key, k2, TC_NOISE_KEY_LEN);
	sodium_memzero(k1, sizeof(k1));
	sodium_memzero(k2, sizeof(k2));
	return 0;
}
