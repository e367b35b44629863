/*
 * Tests of tincan/aead.c against libsodium's own
 * crypto_aead_chacha20poly1305_ietf_*: every message length from 0 to 2099
 * bytes (across the 512-byte chunk edges), the largest, with several AD
 * lengths, random keys and nonces, must give the same bytes; opening must
 * give the plaintext back, in place too; every flipped bit of ciphertext,
 * tag or AD, a wrong nonce and a wrong key must be refused with the output
 * untouched.  Then a throughput note (printed, never asserted).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "tincan/aead.h"

enum { MAXLEN = TC_AEAD_MAX, BIG = MAXLEN + TC_AEAD_TAG_LEN };

static uint8_t pt[MAXLEN], ref[BIG], got[BIG], back[MAXLEN];

static void same_as_libsodium(size_t len, size_t adlen)
{
	uint8_t key[32], nonce[12], ad[64];
	unsigned long long rl = 0;

	randombytes_buf(key, sizeof(key));
	randombytes_buf(nonce, sizeof(nonce));
	randombytes_buf(ad, sizeof(ad));
	randombytes_buf(pt, len);
	crypto_aead_chacha20poly1305_ietf_encrypt(ref, &rl, pt, len, ad, adlen,
						  NULL, nonce, key);
	ck_assert_uint_eq(rl, len + TC_AEAD_TAG_LEN);
	tc_aead_seal(got, pt, len, ad, adlen, nonce, key);
	ck_assert_msg(memcmp(got, ref, len + TC_AEAD_TAG_LEN) == 0,
		      "len %zu adlen %zu differs from libsodium", len, adlen);
	memset(back, 0xee, len);
	ck_assert_int_eq(tc_aead_open(back, ref, len + TC_AEAD_TAG_LEN, ad,
				      adlen, nonce, key),
			 0);
	ck_assert(len == 0 || memcmp(back, pt, len) == 0);
}

/* Lengths _i * 100 to _i * 100 + 99. */
START_TEST(test_aead_lengths)
{
	static const size_t ads[] = {0, 1, 15, 16, 17, 32};
	size_t len, i;

	ck_assert_int_ge(sodium_init(), 0);
	for (len = (size_t)_i * 100; len < (size_t)_i * 100 + 100; len++)
		for (i = 0; i < sizeof(ads) / sizeof(ads[0]); i++)
			same_as_libsodium(len, ads[i]);
}
END_TEST

START_TEST(test_aead_largest)
{
	same_as_libsodium(MAXLEN, 16);
	same_as_libsodium(MAXLEN - 1, 0);
}
END_TEST

START_TEST(test_aead_in_place)
{
	uint8_t key[32], nonce[12], ad[16], buf[1500 + 16];

	randombytes_buf(key, sizeof(key));
	randombytes_buf(nonce, sizeof(nonce));
	randombytes_buf(ad, sizeof(ad));
	randombytes_buf(pt, 1500);
	memcpy(buf, pt, 1500);
	tc_aead_seal(buf, buf, 1500, ad, sizeof(ad), nonce, key);
	crypto_aead_chacha20poly1305_ietf_encrypt(ref, NULL, pt, 1500, ad,
						  sizeof(ad), NULL, nonce, key);
	ck_assert_mem_eq(buf, ref, sizeof(buf));
	ck_assert_int_eq(
	    tc_aead_open(buf, buf, sizeof(buf), ad, sizeof(ad), nonce, key), 0);
	ck_assert_mem_eq(buf, pt, 1500);
}
END_TEST

/* Every bit of ciphertext, tag and AD matters; refusals leave out as is. */
START_TEST(test_aead_forgeries)
{
	uint8_t key[32], nonce[12], ad[20], ct[100 + 16], out[100];
	uint8_t key2[32], nonce2[12];
	size_t i;
	int bit;

	randombytes_buf(key, sizeof(key));
	randombytes_buf(nonce, sizeof(nonce));
	randombytes_buf(ad, sizeof(ad));
	randombytes_buf(pt, 100);
	tc_aead_seal(ct, pt, 100, ad, sizeof(ad), nonce, key);
	for (i = 0; i < sizeof(ct); i++)
		for (bit = 0; bit < 8; bit++) {
			ct[i] ^= (uint8_t)(1u << bit);
			memset(out, 0x77, sizeof(out));
			ck_assert_int_eq(tc_aead_open(out, ct, sizeof(ct), ad,
						      sizeof(ad), nonce, key),
					 -EBADMSG);
			ck_assert_uint_eq(out[0], 0x77);
			ck_assert_uint_eq(out[99], 0x77);
			ct[i] ^= (uint8_t)(1u << bit);
		}
	for (i = 0; i < sizeof(ad); i++) {
		ad[i] ^= 0x01;
		ck_assert_int_eq(tc_aead_open(out, ct, sizeof(ct), ad,
					      sizeof(ad), nonce, key),
				 -EBADMSG);
		ad[i] ^= 0x01;
	}
	/* The AD's length is authenticated too. */
	ck_assert_int_eq(
	    tc_aead_open(out, ct, sizeof(ct), ad, sizeof(ad) - 1, nonce, key),
	    -EBADMSG);
	memcpy(nonce2, nonce, sizeof(nonce));
	nonce2[11] ^= 0x80;
	ck_assert_int_eq(
	    tc_aead_open(out, ct, sizeof(ct), ad, sizeof(ad), nonce2, key),
	    -EBADMSG);
	memcpy(key2, key, sizeof(key));
	key2[0] ^= 0x01;
	ck_assert_int_eq(
	    tc_aead_open(out, ct, sizeof(ct), ad, sizeof(ad), nonce, key2),
	    -EBADMSG);
	/* A truncated tag, nothing, and the intact message. */
	ck_assert_int_eq(tc_aead_open(out, ct, 15, ad, sizeof(ad), nonce, key),
			 -EBADMSG);
	ck_assert_int_eq(tc_aead_open(out, ct, 0, ad, sizeof(ad), nonce, key),
			 -EBADMSG);
	ck_assert_int_eq(
	    tc_aead_open(out, ct, sizeof(ct), ad, sizeof(ad), nonce, key), 0);
	ck_assert_mem_eq(out, pt, 100);
}
END_TEST

START_TEST(test_aead_too_long)
{
	uint8_t key[32] = {0}, nonce[12] = {0};

	ck_assert_int_eq(tc_aead_open(back, ref, BIG + 1, NULL, 0, nonce, key),
			 -EBADMSG);
}
END_TEST

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Printed for the performance notes; never asserted (machines differ). */
START_TEST(test_aead_throughput)
{
	uint8_t key[32] = {1}, nonce[12] = {0}, ad[16] = {0};
	const int n = 20000;
	double t0, ours, theirs;
	int i;

	/* The SIMD implementations are picked here. */
	ck_assert_int_ge(sodium_init(), 0);
	t0 = now_s();
	for (i = 0; i < n; i++) {
		nonce[0] = (uint8_t)i;
		tc_aead_seal(got, pt, 1420, ad, sizeof(ad), nonce, key);
	}
	ours = (now_s() - t0) / n * 1e9;
	t0 = now_s();
	for (i = 0; i < n; i++) {
		nonce[0] = (uint8_t)i;
		crypto_aead_chacha20poly1305_ietf_encrypt(
		    ref, NULL, pt, 1420, ad, sizeof(ad), NULL, nonce, key);
	}
	theirs = (now_s() - t0) / n * 1e9;
	printf("aead: 1420-byte seal %.0f ns (libsodium's AEAD %.0f ns)\n",
	       ours, theirs);
	ck_assert(ours > 0 && theirs > 0);
}
END_TEST

Suite *suite_aead(void)
{
	Suite *s = suite_create("aead");
	TCase *tc = tcase_create("aead");

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_aead_lengths, 0, 21);
	tcase_add_test(tc, test_aead_largest);
	tcase_add_test(tc, test_aead_in_place);
	tcase_add_test(tc, test_aead_forgeries);
	tcase_add_test(tc, test_aead_too_long);
	tcase_add_test(tc, test_aead_throughput);
	suite_add_tcase(s, tc);
	return s;
}
