/*
 * Tests of tincan/fwd.c: mapping, the four lookups, replacement of an entry
 * (its old addresses must be released), refusal of addresses held by
 * another uid (leaving the table unchanged), removal and iteration.
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "tincan/fwd.h"

#define UID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define UID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define UID_C "cccccccccccccccccccccccccccccccccccccccc"

static struct tc_fwd_entry entry(const char *uid, uint8_t n)
{
	struct tc_fwd_entry e;

	memset(&e, 0, sizeof(e));
	g_strlcpy(e.uid, uid, sizeof(e.uid));
	e.has_v4 = true;
	memcpy(e.v4, (uint8_t[]){10, 1, 0, n}, 4);
	e.has_v6 = true;
	memcpy(e.v6, (uint8_t[]){0xfd, 0, [15] = n}, 16);
	memcpy(e.mac, (uint8_t[]){0x02, 0, 0, 0, 0, n}, 6);
	return e;
}

static struct tc_fwd *fwd;

static void setup(void)
{
	struct tc_fwd_entry a = entry(UID_A, 1), b = entry(UID_B, 2);

	fwd = tc_fwd_new();
	ck_assert_int_eq(tc_fwd_map(fwd, &a), 0);
	ck_assert_int_eq(tc_fwd_map(fwd, &b), 0);
}

static void teardown(void)
{
	tc_fwd_free(fwd);
	fwd = NULL;
}

/* Asserts that all lookups of e's addresses find uid. */
static void assert_found(const struct tc_fwd_entry *e, const char *uid)
{
	ck_assert_str_eq(tc_fwd_by_uid(fwd, e->uid)->uid, uid);
	ck_assert_str_eq(tc_fwd_by_v4(fwd, e->v4)->uid, uid);
	ck_assert_str_eq(tc_fwd_by_v6(fwd, e->v6)->uid, uid);
	ck_assert_str_eq(tc_fwd_by_mac(fwd, e->mac)->uid, uid);
}

static void assert_gone(const struct tc_fwd_entry *e)
{
	ck_assert_ptr_null(tc_fwd_by_v4(fwd, e->v4));
	ck_assert_ptr_null(tc_fwd_by_v6(fwd, e->v6));
	ck_assert_ptr_null(tc_fwd_by_mac(fwd, e->mac));
}

START_TEST(test_lookup)
{
	struct tc_fwd_entry a = entry(UID_A, 1), b = entry(UID_B, 2);
	struct tc_fwd_entry c = entry(UID_C, 3);
	const struct tc_fwd_entry *got;

	assert_found(&a, UID_A);
	assert_found(&b, UID_B);
	assert_gone(&c);
	ck_assert_ptr_null(tc_fwd_by_uid(fwd, UID_C));
	ck_assert_ptr_null(tc_fwd_by_uid(fwd, NULL));
	ck_assert_uint_eq(tc_fwd_count(fwd), 2);
	got = tc_fwd_by_uid(fwd, UID_A);
	ck_assert_mem_eq(got, &a, sizeof(a));
}
END_TEST

START_TEST(test_replace)
{
	struct tc_fwd_entry a = entry(UID_A, 1), a2 = entry(UID_A, 9);

	ck_assert_int_eq(tc_fwd_map(fwd, &a2), 0);
	ck_assert_uint_eq(tc_fwd_count(fwd), 2);
	assert_found(&a2, UID_A);
	assert_gone(&a);
	/* Mapping the same entry again is a no-op. */
	ck_assert_int_eq(tc_fwd_map(fwd, &a2), 0);
	assert_found(&a2, UID_A);
	/* The old addresses are free for someone else now. */
	memset(a.uid, 'c', IPOP_UID_HEX_LEN);
	ck_assert_int_eq(tc_fwd_map(fwd, &a), 0);
	assert_found(&a, UID_C);
}
END_TEST

START_TEST(test_replace_drops_family)
{
	struct tc_fwd_entry a = entry(UID_A, 1), a2 = entry(UID_A, 1);
	uint8_t zero4[4] = {0}, zero6[16] = {0};

	a2.has_v4 = false;
	a2.has_v6 = false;
	ck_assert_int_eq(tc_fwd_map(fwd, &a2), 0);
	ck_assert_ptr_null(tc_fwd_by_v4(fwd, a.v4));
	ck_assert_ptr_null(tc_fwd_by_v6(fwd, a.v6));
	ck_assert_ptr_null(tc_fwd_by_v4(fwd, zero4));
	ck_assert_ptr_null(tc_fwd_by_v6(fwd, zero6));
	ck_assert_str_eq(tc_fwd_by_mac(fwd, a.mac)->uid, UID_A);
	ck_assert(!tc_fwd_by_uid(fwd, UID_A)->has_v4);
}
END_TEST

/* A new entry for uid C that takes one of B's addresses: refused. */
enum { STEAL_V4, STEAL_V6, STEAL_MAC, STEAL_ALL };

START_TEST(test_conflict)
{
	struct tc_fwd_entry b = entry(UID_B, 2), c = entry(UID_C, 3);
	struct tc_fwd_entry a2 = entry(UID_A, 4);

	if (_i == STEAL_V4 || _i == STEAL_ALL)
		memcpy(c.v4, b.v4, 4);
	if (_i == STEAL_V6 || _i == STEAL_ALL)
		memcpy(c.v6, b.v6, 16);
	if (_i == STEAL_MAC || _i == STEAL_ALL)
		memcpy(c.mac, b.mac, 6);
	ck_assert_int_eq(tc_fwd_map(fwd, &c), -EEXIST);
	ck_assert_ptr_null(tc_fwd_by_uid(fwd, UID_C));
	ck_assert_uint_eq(tc_fwd_count(fwd), 2);
	assert_found(&b, UID_B);

	/* The same for a replacement of A: A keeps its old entry. */
	memcpy(a2.uid, UID_A, sizeof(a2.uid));
	memcpy(a2.v4, c.v4, 4);
	memcpy(a2.v6, c.v6, 16);
	memcpy(a2.mac, c.mac, 6);
	ck_assert_int_eq(tc_fwd_map(fwd, &a2), -EEXIST);
	{
		struct tc_fwd_entry a = entry(UID_A, 1);

		assert_found(&a, UID_A);
	}
	assert_found(&b, UID_B);
}
END_TEST

START_TEST(test_invalid)
{
	struct tc_fwd_entry c = entry(UID_C, 3);
	static const uint8_t bad_macs[][6] = {
	    {0, 0, 0, 0, 0, 0},
	    {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	    {0x01, 0x00, 0x5e, 0, 0, 1},
	    {0x33, 0x33, 0, 0, 0, 1},
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(bad_macs); i++) {
		memcpy(c.mac, bad_macs[i], 6);
		ck_assert_int_eq(tc_fwd_map(fwd, &c), -EINVAL);
	}
	c = entry(UID_C, 3);
	c.uid[5] = 'G';
	ck_assert_int_eq(tc_fwd_map(fwd, &c), -EINVAL);
	c.uid[5] = '\0';
	ck_assert_int_eq(tc_fwd_map(fwd, &c), -EINVAL);
	ck_assert_uint_eq(tc_fwd_count(fwd), 2);
}
END_TEST

START_TEST(test_unmap)
{
	struct tc_fwd_entry a = entry(UID_A, 1), b = entry(UID_B, 2);

	ck_assert_int_eq(tc_fwd_unmap(fwd, UID_A), 0);
	ck_assert_int_eq(tc_fwd_unmap(fwd, UID_A), -ENOENT);
	ck_assert_int_eq(tc_fwd_unmap(fwd, UID_C), -ENOENT);
	ck_assert_ptr_null(tc_fwd_by_uid(fwd, UID_A));
	assert_gone(&a);
	assert_found(&b, UID_B);
	ck_assert_uint_eq(tc_fwd_count(fwd), 1);
	ck_assert_int_eq(tc_fwd_unmap(fwd, UID_B), 0);
	ck_assert_uint_eq(tc_fwd_count(fwd), 0);
	ck_assert_int_eq(tc_fwd_map(fwd, &a), 0);
	assert_found(&a, UID_A);
}
END_TEST

static void count_cb(const struct tc_fwd_entry *e, void *ctx)
{
	unsigned *seen = ctx;

	if (strcmp(e->uid, UID_A) == 0)
		seen[0]++;
	else if (strcmp(e->uid, UID_B) == 0)
		seen[1]++;
	else
		seen[2]++;
}

START_TEST(test_foreach)
{
	unsigned seen[3] = {0};
	struct tc_fwd *empty = tc_fwd_new();

	tc_fwd_foreach(fwd, count_cb, seen);
	ck_assert_uint_eq(seen[0], 1);
	ck_assert_uint_eq(seen[1], 1);
	ck_assert_uint_eq(seen[2], 0);
	tc_fwd_foreach(empty, count_cb, seen);
	ck_assert_uint_eq(seen[0] + seen[1] + seen[2], 2);
	ck_assert_uint_eq(tc_fwd_count(empty), 0);
	tc_fwd_free(empty);
	tc_fwd_free(NULL);
}
END_TEST

START_TEST(test_many)
{
	char uid[IPOP_UID_SIZE];
	struct tc_fwd_entry e;
	unsigned i;

	for (i = 10; i < 250; i++) {
		g_snprintf(uid, sizeof(uid), "%040x", i);
		e = entry(uid, (uint8_t)i);
		ck_assert_int_eq(tc_fwd_map(fwd, &e), 0);
	}
	ck_assert_uint_eq(tc_fwd_count(fwd), 242);
	for (i = 10; i < 250; i++) {
		g_snprintf(uid, sizeof(uid), "%040x", i);
		e = entry(uid, (uint8_t)i);
		assert_found(&e, uid);
		ck_assert_int_eq(tc_fwd_unmap(fwd, uid), 0);
	}
	ck_assert_uint_eq(tc_fwd_count(fwd), 2);
}
END_TEST

extern Suite *suite_fwd(void);

Suite *suite_fwd(void)
{
	Suite *s = suite_create("fwd");
	TCase *tc = tcase_create("table");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_lookup);
	tcase_add_test(tc, test_replace);
	tcase_add_test(tc, test_replace_drops_family);
	tcase_add_loop_test(tc, test_conflict, STEAL_V4, STEAL_ALL + 1);
	tcase_add_test(tc, test_invalid);
	tcase_add_test(tc, test_unmap);
	tcase_add_test(tc, test_foreach);
	tcase_add_test(tc, test_many);
	suite_add_tcase(s, tc);
	return s;
}
