/*
 * Tests of the transport suites: known-answer vectors for both AEADs
 * (RFC 8439 section 2.8.2 for ChaCha20-Poly1305; test cases 13, 14 and 16
 * of the GCM specification, McGrew and Viega, for AES-256-GCM, under both
 * its implementations, GnuTLS's and libsodium's), the
 * counter nonces, forgeries under AES-256-GCM, and the choice of suite in
 * the link handshake: AES-256-GCM where both ends offer it, ChaCha20-
 * Poly1305 otherwise, a refusal when nothing is common, and no downgrade
 * by tampering (a flipped suite bit fails the handshake even with mac1
 * recomputed, the way an attacker on the path who knows the public key
 * would).  The AES-256-GCM cases need AES-NI and PCLMUL; without them they
 * say so and check only that AES-256-GCM is refused.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "aes_here.h"
#include "tincan/aead.h"
#include "tincan/cookie.h"
#include "tincan/session.h"

enum { BUF = 2048, CHACHA = TC_SUITE_CHACHA20_POLY1305 };
enum { AES = TC_SUITE_AES256_GCM, BOTH = CHACHA | AES };

static size_t unhex(uint8_t *out, const char *hex)
{
	size_t n = strlen(hex) / 2, i;
	unsigned v;

	for (i = 0; i < n; i++) {
		ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* One vector through tc_aead_key_seal_nonce and back, under one
 * implementation (AES-256-GCM: GnuTLS's, or libsodium's with gnutls
 * false). */
static void kat_under(bool gnutls, unsigned suite, const char *key_hex,
		      const char *nonce_hex, const char *ad_hex,
		      const uint8_t *pt, size_t len, const char *ct_hex,
		      const char *tag_hex)
{
	uint8_t key[32], nonce[12], ad[64], want[BUF], got[BUF], back[BUF];
	struct tc_aead_key k = {0};
	size_t adlen, clen;

	ck_assert_uint_eq(unhex(key, key_hex), 32);
	ck_assert_uint_eq(unhex(nonce, nonce_hex), 12);
	adlen = unhex(ad, ad_hex);
	clen = unhex(want, ct_hex);
	ck_assert_uint_eq(clen, len);
	ck_assert_uint_eq(unhex(want + clen, tag_hex), 16);
	tc_aead_aes_gnutls(gnutls);
	ck_assert_int_eq(tc_aead_key_set(&k, suite, key), 0);
	tc_aead_aes_gnutls(true);
	ck_assert(tc_aead_key_gnutls(&k) == (gnutls && suite == AES));
	tc_aead_key_seal_nonce(&k, got, pt, len, ad, adlen, nonce);
	ck_assert_mem_eq(got, want, len + 16);
	ck_assert_int_eq(
	    tc_aead_key_open_nonce(&k, back, want, len + 16, ad, adlen, nonce),
	    0);
	ck_assert(len == 0 || memcmp(back, pt, len) == 0);
	want[len] ^= 1; /* the tag */
	ck_assert_int_eq(
	    tc_aead_key_open_nonce(&k, back, want, len + 16, ad, adlen, nonce),
	    -EBADMSG);
	tc_aead_key_wipe(&k);
	ck_assert_uint_eq(k.suite, 0);
}

/* A vector under every implementation of its suite. */
static void kat(unsigned suite, const char *key_hex, const char *nonce_hex,
		const char *ad_hex, const uint8_t *pt, size_t len,
		const char *ct_hex, const char *tag_hex)
{
	kat_under(true, suite, key_hex, nonce_hex, ad_hex, pt, len, ct_hex,
		  tag_hex);
	if (suite == AES)
		kat_under(false, suite, key_hex, nonce_hex, ad_hex, pt, len,
			  ct_hex, tag_hex);
}

START_TEST(test_kat_chacha20_poly1305)
{
	static const char sunscreen[] =
	    "Ladies and Gentlemen of the class of '99: If I could offer you "
	    "only one tip for the future, sunscreen would be it.";
	const char *key = "808182838485868788898a8b8c8d8e8f"
			  "909192939495969798999a9b9c9d9e9f";
	const char *ct = "d31a8d34648e60db7b86afbc53ef7ec2"
			 "a4aded51296e08fea9e2b5a736ee62d6"
			 "3dbea45e8ca9671282fafb69da92728b"
			 "1a71de0a9e060b2905d6a5b67ecd3b36"
			 "92ddbd7f2d778b8c9803aee328091b58"
			 "fab324e4fad675945585808b4831d7bc"
			 "3ff4def08e4b7a9de576d26586cec64b"
			 "6116";
	uint8_t k[32], nonce[12], ad[12], out[BUF];

	ck_assert_int_ge(sodium_init(), 0);
	kat(CHACHA, key, "070000004041424344454647", "50515253c0c1c2c3c4c5c6c7",
	    (const uint8_t *)sunscreen, strlen(sunscreen), ct,
	    "1ae10b594f09e26a7e902ecbd0600691");
	/* tc_aead_seal, the handshake's primitive, gives the same bytes. */
	unhex(k, key);
	unhex(nonce, "070000004041424344454647");
	unhex(ad, "50515253c0c1c2c3c4c5c6c7");
	tc_aead_seal(out, (const uint8_t *)sunscreen, strlen(sunscreen), ad,
		     sizeof(ad), nonce, k);
	ck_assert_uint_eq(out[0], 0xd3);
	ck_assert_uint_eq(out[strlen(sunscreen)], 0x1a);
	ck_assert_uint_eq(out[strlen(sunscreen) + 15], 0x91);
}
END_TEST

START_TEST(test_kat_aes256_gcm)
{
	const char *zero = "0000000000000000000000000000000000000000000000000"
			   "000000000000000";
	const char *key16 = "feffe9928665731c6d6a8f9467308308"
			    "feffe9928665731c6d6a8f9467308308";
	uint8_t pt[64], key[32];
	struct tc_aead_key k = {0};
	size_t n;

	if (!aes_here("suites")) {
		memset(key, 0, sizeof(key));
		ck_assert_int_eq(tc_aead_key_set(&k, AES, key), -ENOTSUP);
		return;
	}
	/* Test case 13: empty message. */
	kat(AES, zero, "000000000000000000000000", "", pt, 0, "",
	    "530f8afbc74536b9a963b4f1c4cb738b");
	/* Test case 14: one zero block. */
	memset(pt, 0, 16);
	kat(AES, zero, "000000000000000000000000", "", pt, 16,
	    "cea7403d4d606b6e074ec5d3baf39d18",
	    "d0d1c8a799996bf0265b98b5d48ab919");
	/* Test case 16: 60 bytes with 20 of AD. */
	n = unhex(pt, "d9313225f88406e5a55909c5aff5269a"
		      "86a7a9531534f7da2e4c303d8a318a72"
		      "1c3c0c95956809532fcf0e2449a6b525"
		      "b16aedf5aa0de657ba637b39");
	kat(AES, key16, "cafebabefacedbaddecaf888",
	    "feedfacedeadbeeffeedfacedeadbeefabaddad2", pt, n,
	    "522dc1f099567d07f47f37a32a84427d"
	    "643a8cdcbfe5c0c97598a2bd2555d1aa"
	    "8cb08e48590dbb3da7b08b1056828838"
	    "c5f61e6393ba7a0abcc9f662",
	    "76fc6ece0f4e1768cddf8853bb2d551b");
}
END_TEST

/* Counter n is Noise's nonce for each cipher: LE for ChaChaPoly, BE for
 * AESGCM, after 4 zero bytes. */
START_TEST(test_counter_nonce)
{
	static const unsigned suites[] = {CHACHA, AES};
	const uint64_t n = 0x0102030405060708ULL;
	uint8_t key[32], nonce[12] = {0}, pt[100], a[116], b[116];
	struct tc_aead_key k = {0};
	size_t i, j;

	randombytes_buf(key, sizeof(key));
	randombytes_buf(pt, sizeof(pt));
	for (i = 0; i < 2; i++) {
		if (suites[i] == AES && !aes_here("suites"))
			continue;
		ck_assert_int_eq(tc_aead_key_set(&k, suites[i], key), 0);
		for (j = 0; j < 8; j++)
			nonce[4 + j] =
			    (uint8_t)(suites[i] == AES ? n >> (56 - 8 * j)
						       : n >> (8 * j));
		tc_aead_key_seal(&k, n, a, pt, sizeof(pt), NULL, 0);
		tc_aead_key_seal_nonce(&k, b, pt, sizeof(pt), NULL, 0, nonce);
		ck_assert_mem_eq(a, b, sizeof(a));
		ck_assert_int_eq(
		    tc_aead_key_open(&k, n, b, a, sizeof(a), NULL, 0), 0);
		ck_assert_mem_eq(b, pt, sizeof(pt));
		ck_assert_int_eq(
		    tc_aead_key_open(&k, n + 1, b, a, sizeof(a), NULL, 0),
		    -EBADMSG);
	}
	tc_aead_key_wipe(&k);
}
END_TEST

/* Every flipped bit of an AES-256-GCM message, tag or AD is refused. */
START_TEST(test_aes_forgeries)
{
	uint8_t key[32], ad[16], pt[64], ct[80], out[64];
	struct tc_aead_key k = {0};
	size_t i;
	int bit;

	if (!aes_here("suites"))
		return;
	randombytes_buf(key, sizeof(key));
	randombytes_buf(ad, sizeof(ad));
	randombytes_buf(pt, sizeof(pt));
	ck_assert_int_eq(tc_aead_key_set(&k, AES, key), 0);
	tc_aead_key_seal(&k, 9, ct, pt, sizeof(pt), ad, sizeof(ad));
	for (i = 0; i < sizeof(ct); i++)
		for (bit = 0; bit < 8; bit++) {
			ct[i] ^= (uint8_t)(1u << bit);
			ck_assert_int_eq(tc_aead_key_open(&k, 9, out, ct,
							  sizeof(ct), ad,
							  sizeof(ad)),
					 -EBADMSG);
			ct[i] ^= (uint8_t)(1u << bit);
		}
	ad[3] ^= 4;
	ck_assert_int_eq(
	    tc_aead_key_open(&k, 9, out, ct, sizeof(ct), ad, sizeof(ad)),
	    -EBADMSG);
	ad[3] ^= 4;
	ck_assert_int_eq(tc_aead_key_open(&k, 9, out, ct, 15, ad, sizeof(ad)),
			 -EBADMSG);
	ck_assert_int_eq(
	    tc_aead_key_open(&k, 9, out, ct, sizeof(ct), ad, sizeof(ad)), 0);
	ck_assert_mem_eq(out, pt, sizeof(pt));
	tc_aead_key_wipe(&k);
}
END_TEST

START_TEST(test_suite_names)
{
	unsigned set = 0;

	ck_assert_str_eq(tc_aead_suite_name(CHACHA), "chacha20-poly1305");
	ck_assert_str_eq(tc_aead_suite_name(AES), "aes-256-gcm");
	ck_assert_str_eq(tc_aead_suite_name(0), "");
	ck_assert_str_eq(tc_aead_suite_name(BOTH), "");
	ck_assert_int_eq(tc_aead_suites_parse("chacha20-poly1305", &set), 0);
	ck_assert_uint_eq(set, CHACHA);
	ck_assert_int_eq(tc_aead_suites_parse("auto", &set), 0);
	ck_assert_uint_eq(set, tc_aead_suites_local());
	ck_assert_int_eq(tc_aead_suites_parse("aes-128-gcm", &set), -EINVAL);
	ck_assert_int_eq(tc_aead_suites_parse("aes-256-gcm", &set),
			 tc_aead_aes_available() ? 0 : -ENOTSUP);
	ck_assert_uint_eq(tc_aead_suite_best(BOTH), AES);
	ck_assert_uint_eq(tc_aead_suite_best(CHACHA), CHACHA);
	ck_assert_uint_eq(tc_aead_suite_best(0), 0);
	ck_assert_int_eq(tc_session_set_default_suites(0), -EINVAL);
	ck_assert_int_eq(tc_session_set_default_suites(8), -EINVAL);
}
END_TEST

/* A link in memory whose two ends offer isuites and rsuites. */
struct pair {
	uint8_t ipriv[32], ipub[32], rpriv[32], rpub[32];
	struct tc_session *i, *r;
	struct tc_time t;
	uint8_t init[TC_INIT_LEN], resp[TC_RESP_LEN];
};

static void pair_new(struct pair *p, unsigned isuites, unsigned rsuites)
{
	ck_assert_int_ge(sodium_init(), 0);
	crypto_box_keypair(p->ipub, p->ipriv);
	crypto_box_keypair(p->rpub, p->rpriv);
	p->i = tc_session_new(true, p->ipriv, p->ipub, p->rpub, NULL);
	p->r = tc_session_new(false, p->rpriv, p->rpub, p->ipub, NULL);
	ck_assert_int_eq(tc_session_set_suites(p->i, isuites), 0);
	ck_assert_int_eq(tc_session_set_suites(p->r, rsuites), 0);
	p->t.mono_ms = 1000000;
	p->t.wall_ns = 1800000000ULL * 1000000000ULL;
	ck_assert_int_eq(
	    tc_session_initiate(p->i, &p->t, p->init, sizeof(p->init)),
	    TC_INIT_LEN);
}

static void pair_free(struct pair *p)
{
	tc_session_free(p->i);
	tc_session_free(p->r);
}

static int to_responder(struct pair *p, const uint8_t *init)
{
	size_t olen = 0;

	return tc_session_receive(p->r, &p->t, init, TC_INIT_LEN, p->resp,
				  sizeof(p->resp), &olen);
}

static int to_initiator(struct pair *p, const uint8_t *resp)
{
	size_t olen = 0;

	return tc_session_receive(p->i, &p->t, resp, TC_RESP_LEN, NULL, 0,
				  &olen);
}

/* DATA both ways (the first confirms the responder's keys). */
static void traffic(struct pair *p, const char *msg)
{
	uint8_t pkt[BUF], out[BUF];
	size_t olen = 0;
	int n;

	n = tc_session_encrypt(p->i, &p->t, (const uint8_t *)msg, strlen(msg),
			       pkt, sizeof(pkt));
	ck_assert_int_eq(n, (int)strlen(msg) + TC_DATA_OVERHEAD);
	ck_assert_int_eq(tc_session_receive(p->r, &p->t, pkt, (size_t)n, out,
					    sizeof(out), &olen),
			 TC_RX_DATA);
	ck_assert_mem_eq(out, msg, strlen(msg));
	n = tc_session_encrypt(p->r, &p->t, (const uint8_t *)msg, strlen(msg),
			       pkt, sizeof(pkt));
	ck_assert_int_eq(tc_session_receive(p->i, &p->t, pkt, (size_t)n, out,
					    sizeof(out), &olen),
			 TC_RX_DATA);
	ck_assert_mem_eq(out, msg, strlen(msg));
}

/* Who gets what: _i picks (initiator set, responder set, expected). */
START_TEST(test_choice)
{
	static const unsigned cases[][3] = {
	    {BOTH, BOTH, AES},	    {BOTH, CHACHA, CHACHA},
	    {CHACHA, BOTH, CHACHA}, {CHACHA, CHACHA, CHACHA},
	    {AES, BOTH, AES},	    {BOTH, AES, AES},
	};
	const unsigned *c = cases[_i];
	struct pair p;

	if ((c[0] & AES || c[1] & AES) && !aes_here("suites"))
		return;
	pair_new(&p, c[0], c[1]);
	ck_assert_uint_eq(tc_session_suite(p.i), 0);
	ck_assert_int_eq(to_responder(&p, p.init), TC_RX_REPLY);
	ck_assert_int_eq(to_initiator(&p, p.resp), TC_RX_ESTABLISHED);
	ck_assert_uint_eq(tc_session_suite(p.i), c[2]);
	traffic(&p, "suite check");
	ck_assert_uint_eq(tc_session_suite(p.r), c[2]);
	pair_free(&p);
}
END_TEST

/* Nothing in common: the responder refuses and keeps no keys. */
START_TEST(test_no_common_suite)
{
	struct pair p;

	if (!aes_here("suites"))
		return;
	pair_new(&p, AES, CHACHA);
	ck_assert_int_eq(to_responder(&p, p.init), -ENOPROTOOPT);
	ck_assert(!tc_session_can_send(p.r, &p.t));
	/* The same responder accepts once the initiator offers ChaCha20. */
	ck_assert_int_eq(tc_session_set_suites(p.i, BOTH), 0);
	p.t.wall_ns += 1000;
	ck_assert_int_eq(tc_session_initiate(p.i, &p.t, p.init, sizeof(p.init)),
			 TC_INIT_LEN);
	ck_assert_int_eq(to_responder(&p, p.init), TC_RX_REPLY);
	ck_assert_int_eq(to_initiator(&p, p.resp), TC_RX_ESTABLISHED);
	ck_assert_uint_eq(tc_session_suite(p.i), CHACHA);
	pair_free(&p);
}
END_TEST

/* Where the suite bytes sit in the encrypted payloads. */
enum {
	INIT_SUITES = 8 + 32 + 48 + 12,
	RESP_CHOSEN = 12 + 32,
	RESP_SUITES = RESP_CHOSEN + 1,
};

/* An attacker on the path flips suite bits of the INIT (ChaCha20 is a
 * stream cipher: the flip would land exactly on the offer) and re-seals
 * mac1 with the responder's public key: the Noise AEAD refuses it. */
START_TEST(test_downgrade_init)
{
	struct tc_cookie_keys rkeys;
	uint8_t bad[TC_INIT_LEN];
	struct pair p;
	unsigned bit;

	pair_new(&p, BOTH & tc_aead_suites_local(),
		 BOTH & tc_aead_suites_local());
	tc_cookie_keys_init(&rkeys, p.rpub);
	for (bit = 0; bit < 8; bit++) {
		memcpy(bad, p.init, sizeof(bad));
		bad[INIT_SUITES] ^= (uint8_t)(1u << bit);
		tc_cookie_seal(&rkeys, NULL, bad, sizeof(bad));
		ck_assert(tc_cookie_mac1_ok(&rkeys, bad, sizeof(bad)));
		ck_assert_int_eq(to_responder(&p, bad), -EBADMSG);
	}
	ck_assert(!tc_session_can_send(p.r, &p.t));
	/* The genuine INIT still works: the refusals changed nothing. */
	ck_assert_int_eq(to_responder(&p, p.init), TC_RX_REPLY);
	ck_assert_int_eq(to_initiator(&p, p.resp), TC_RX_ESTABLISHED);
	ck_assert_uint_eq(tc_session_suite(p.i),
			  tc_aead_suite_best(tc_aead_suites_local()));
	pair_free(&p);
}
END_TEST

/* The same for the RESP's choice and set: refused, and the pending
 * handshake survives for the genuine RESP. */
START_TEST(test_downgrade_resp)
{
	static const int pos[] = {RESP_CHOSEN, RESP_SUITES};
	uint8_t bad[TC_RESP_LEN];
	struct pair p;
	unsigned bit, k;

	pair_new(&p, BOTH & tc_aead_suites_local(),
		 BOTH & tc_aead_suites_local());
	ck_assert_int_eq(to_responder(&p, p.init), TC_RX_REPLY);
	for (k = 0; k < 2; k++)
		for (bit = 0; bit < 8; bit++) {
			memcpy(bad, p.resp, sizeof(bad));
			bad[pos[k]] ^= (uint8_t)(1u << bit);
			ck_assert_int_eq(to_initiator(&p, bad), -EBADMSG);
		}
	ck_assert(!tc_session_can_send(p.i, &p.t));
	ck_assert_int_eq(to_initiator(&p, p.resp), TC_RX_ESTABLISHED);
	traffic(&p, "after the forgeries");
	pair_free(&p);
}
END_TEST

/* Initiations of the older wire versions are refused by their length. */
START_TEST(test_old_versions)
{
	struct pair p;
	size_t olen = 0;

	pair_new(&p, CHACHA, CHACHA);
	ck_assert_int_eq(tc_session_receive(p.r, &p.t, p.init, TC_INIT_V2_LEN,
					    p.resp, sizeof(p.resp), &olen),
			 -EPROTONOSUPPORT);
	ck_assert_int_eq(tc_session_receive(p.r, &p.t, p.init, TC_INIT_V1_LEN,
					    p.resp, sizeof(p.resp), &olen),
			 -EPROTONOSUPPORT);
	ck_assert_int_eq(to_responder(&p, p.init), TC_RX_REPLY);
	pair_free(&p);
}
END_TEST

/* A rekey may change the suite; a packet sealed under the previous
 * keypair (the other suite) still opens, once. */
START_TEST(test_rekey_changes_suite)
{
	uint8_t old[BUF], out[BUF];
	struct pair p;
	size_t olen = 0;
	int n;

	if (!aes_here("suites"))
		return;
	pair_new(&p, BOTH, BOTH);
	ck_assert_int_eq(to_responder(&p, p.init), TC_RX_REPLY);
	ck_assert_int_eq(to_initiator(&p, p.resp), TC_RX_ESTABLISHED);
	traffic(&p, "under AES");
	ck_assert_uint_eq(tc_session_suite(p.r), AES);
	n = tc_session_encrypt(p.r, &p.t, (const uint8_t *)"late", 4, old,
			       sizeof(old));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(tc_session_set_suites(p.i, CHACHA), 0);
	p.t.mono_ms += 1000;
	p.t.wall_ns += 1000000000ULL;
	ck_assert_int_eq(tc_session_initiate(p.i, &p.t, p.init, sizeof(p.init)),
			 TC_INIT_LEN);
	ck_assert_int_eq(to_responder(&p, p.init), TC_RX_REPLY);
	ck_assert_int_eq(to_initiator(&p, p.resp), TC_RX_ESTABLISHED);
	ck_assert_uint_eq(tc_session_suite(p.i), CHACHA);
	ck_assert_int_eq(tc_session_receive(p.i, &p.t, old, (size_t)n, out,
					    sizeof(out), &olen),
			 TC_RX_DATA);
	ck_assert_mem_eq(out, "late", 4);
	ck_assert_int_eq(tc_session_receive(p.i, &p.t, old, (size_t)n, out,
					    sizeof(out), &olen),
			 -EALREADY);
	traffic(&p, "under ChaCha20");
	ck_assert_uint_eq(tc_session_suite(p.r), CHACHA);
	pair_free(&p);
}
END_TEST

/* DATA sealed in place (the message already where its ciphertext goes, as
 * link_data.c lays it out) opens to the message, under either suite. */
START_TEST(test_seal_in_place)
{
	static const unsigned suites[] = {CHACHA, AES};
	uint8_t pkt[BUF], msg[1400], out[BUF];
	struct pair p;
	size_t olen = 0;
	int n;

	if (suites[_i] == AES && !aes_here("suites"))
		return;
	pair_new(&p, suites[_i], suites[_i]);
	ck_assert_int_eq(to_responder(&p, p.init), TC_RX_REPLY);
	ck_assert_int_eq(to_initiator(&p, p.resp), TC_RX_ESTABLISHED);
	randombytes_buf(msg, sizeof(msg));
	memcpy(pkt + TC_DATA_HDR_LEN, msg, sizeof(msg));
	n = tc_session_encrypt(p.i, &p.t, pkt + TC_DATA_HDR_LEN, sizeof(msg),
			       pkt, sizeof(pkt));
	ck_assert_int_eq(n, (int)sizeof(msg) + TC_DATA_OVERHEAD);
	ck_assert(memcmp(pkt + TC_DATA_HDR_LEN, msg, 64) != 0);
	ck_assert_int_eq(tc_session_receive(p.r, &p.t, pkt, (size_t)n, out,
					    sizeof(out), &olen),
			 TC_RX_DATA);
	ck_assert_uint_eq(olen, sizeof(msg));
	ck_assert_mem_eq(out, msg, sizeof(msg));
	ck_assert_uint_eq(tc_session_suite(p.r), suites[_i]);
	/* Opened in place: the plaintext where the ciphertext was; a replay
	 * or a forgery is refused there. */
	memcpy(pkt + TC_DATA_HDR_LEN, msg, sizeof(msg));
	n = tc_session_encrypt(p.i, &p.t, pkt + TC_DATA_HDR_LEN, sizeof(msg),
			       pkt, sizeof(pkt));
	memcpy(out, pkt, (size_t)n);
	ck_assert_int_eq(tc_session_receive(p.r, &p.t, pkt, (size_t)n,
					    pkt + TC_DATA_HDR_LEN,
					    (size_t)n - TC_DATA_HDR_LEN, &olen),
			 TC_RX_DATA);
	ck_assert_uint_eq(olen, sizeof(msg));
	ck_assert_mem_eq(pkt + TC_DATA_HDR_LEN, msg, sizeof(msg));
	ck_assert_int_eq(tc_session_receive(p.r, &p.t, out, (size_t)n,
					    out + TC_DATA_HDR_LEN,
					    (size_t)n - TC_DATA_HDR_LEN, &olen),
			 -EALREADY);
	n = tc_session_encrypt(p.i, &p.t, msg, sizeof(msg), pkt, sizeof(pkt));
	pkt[n - 1] ^= 1;
	ck_assert_int_eq(tc_session_receive(p.r, &p.t, pkt, (size_t)n,
					    pkt + TC_DATA_HDR_LEN,
					    (size_t)n - TC_DATA_HDR_LEN, &olen),
			 -EBADMSG);
	pkt[n - 1] ^= 1;
	ck_assert(memcmp(pkt + TC_DATA_HDR_LEN, msg, 64) != 0);
	pair_free(&p);
}
END_TEST

Suite *suite_suites(void)
{
	Suite *s = suite_create("suites");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_kat_chacha20_poly1305);
	tcase_add_test(tc, test_kat_aes256_gcm);
	tcase_add_test(tc, test_counter_nonce);
	tcase_add_test(tc, test_aes_forgeries);
	tcase_add_test(tc, test_suite_names);
	tcase_add_loop_test(tc, test_choice, 0, 6);
	tcase_add_test(tc, test_no_common_suite);
	tcase_add_test(tc, test_downgrade_init);
	tcase_add_test(tc, test_downgrade_resp);
	tcase_add_test(tc, test_old_versions);
	tcase_add_test(tc, test_rekey_changes_suite);
	tcase_add_loop_test(tc, test_seal_in_place, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}
