/*
 * Tests of tincan/switch.c: learning from the local TAP and from links, the
 * forwarding decision for every kind of destination (with split horizon and
 * a station that moves), ageing at the exact boundary, forgetting a port,
 * eviction of the oldest entries when full, iteration with ages, sources
 * that must not be learned, and a micro-benchmark printed as a note.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "tincan/switch.h"

#define UID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define UID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define UID_C "cccccccccccccccccccccccccccccccccccccccc"
#define LOCAL NULL

enum { T0 = 1000000 }; /* a start time well away from zero */

static const uint8_t MAC_L[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
static const uint8_t MAC_A[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0a};
static const uint8_t MAC_B[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x0b};
static const uint8_t MAC_X[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x99};

static struct tc_switch *sw;

static void setup(void)
{
	sw = tc_switch_new();
	ck_assert_ptr_nonnull(sw);
}

static void teardown(void)
{
	tc_switch_free(sw);
	sw = NULL;
}

/* A distinct unicast MAC for every n < 2^32. */
static void mac_n(uint8_t mac[6], uint32_t n)
{
	mac[0] = 0x02;
	mac[1] = 0x42;
	mac[2] = (uint8_t)(n >> 24);
	mac[3] = (uint8_t)(n >> 16);
	mac[4] = (uint8_t)(n >> 8);
	mac[5] = (uint8_t)n;
}

/* Asserts the decision for dst from port `from` at now, and its port. */
static void assert_decide(const uint8_t dst[6], const char *from, uint64_t now,
			  enum tc_switch_action want, const char *want_uid)
{
	const char *out = "unset";
	enum tc_switch_action got = tc_switch_decide(sw, dst, from, now, &out);

	ck_assert_int_eq(got, want);
	if (want != TC_SWITCH_UNICAST)
		return;
	if (want_uid == NULL)
		ck_assert_ptr_null(out);
	else
		ck_assert_str_eq(out, want_uid);
}

/* Learning from each kind of port: the MAC is then reached there. */
static const char *const learn_ports[] = {LOCAL, UID_A, UID_B};

START_TEST(test_learn)
{
	const char *port = learn_ports[_i];
	const char *other = port == LOCAL ? UID_C : LOCAL;

	assert_decide(MAC_X, other, T0, TC_SWITCH_FLOOD, NULL);
	tc_switch_learn(sw, MAC_X, port, T0);
	ck_assert_uint_eq(tc_switch_count(sw), 1);
	assert_decide(MAC_X, other, T0 + 1, TC_SWITCH_UNICAST, port);
	assert_decide(MAC_X, port, T0 + 1, TC_SWITCH_DROP, NULL);
	/* Learning the same MAC again on the same port adds nothing. */
	tc_switch_learn(sw, MAC_X, port, T0 + 2);
	ck_assert_uint_eq(tc_switch_count(sw), 1);
}
END_TEST

/* The decision table: MAC_L is behind the TAP, MAC_A behind link A and
 * MAC_B behind link B, all learned at T0. */
static const struct decide_case {
	const char *name;
	uint8_t dst[6];
	const char *from;
	uint64_t dt; /* decide at T0 + dt */
	enum tc_switch_action want;
	const char *want_uid;
} decide_cases[] = {
    {"broadcast from local",
     {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
     LOCAL,
     1,
     TC_SWITCH_FLOOD,
     NULL},
    {"broadcast from link",
     {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
     UID_A,
     1,
     TC_SWITCH_FLOOD,
     NULL},
    {"ipv4 multicast",
     {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb},
     LOCAL,
     1,
     TC_SWITCH_FLOOD,
     NULL},
    {"ipv4 multicast from link",
     {0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa},
     UID_B,
     1,
     TC_SWITCH_FLOOD,
     NULL},
    {"ipv6 multicast",
     {0x33, 0x33, 0x00, 0x00, 0x00, 0x01},
     LOCAL,
     1,
     TC_SWITCH_FLOOD,
     NULL},
    {"ipv6 solicited node",
     {0x33, 0x33, 0xff, 0x12, 0x34, 0x0b},
     UID_A,
     1,
     TC_SWITCH_FLOOD,
     NULL},
    {"stp group",
     {0x01, 0x80, 0xc2, 0x00, 0x00, 0x00},
     LOCAL,
     1,
     TC_SWITCH_FLOOD,
     NULL},
    {"unknown unicast from local",
     {0x02, 0x00, 0x00, 0x00, 0x00, 0x99},
     LOCAL,
     1,
     TC_SWITCH_FLOOD,
     NULL},
    {"unknown unicast from link",
     {0x02, 0x00, 0x00, 0x00, 0x00, 0x99},
     UID_A,
     1,
     TC_SWITCH_FLOOD,
     NULL},
    {"zero dst", {0}, LOCAL, 1, TC_SWITCH_FLOOD, NULL},
    {"known to link A from local",
     {0x02, 0, 0, 0, 0, 0x0a},
     LOCAL,
     1,
     TC_SWITCH_UNICAST,
     UID_A},
    {"known to link B from link A",
     {0x52, 0x54, 0x00, 0x12, 0x34, 0x0b},
     UID_A,
     1,
     TC_SWITCH_UNICAST,
     UID_B},
    {"known to local from link A",
     {0x02, 0, 0, 0, 0, 0x01},
     UID_A,
     1,
     TC_SWITCH_UNICAST,
     LOCAL},
    {"known to local from unknown link",
     {0x02, 0, 0, 0, 0, 0x01},
     UID_C,
     1,
     TC_SWITCH_UNICAST,
     LOCAL},
    {"split horizon link",
     {0x02, 0, 0, 0, 0, 0x0a},
     UID_A,
     1,
     TC_SWITCH_DROP,
     NULL},
    {"split horizon local",
     {0x02, 0, 0, 0, 0, 0x01},
     LOCAL,
     1,
     TC_SWITCH_DROP,
     NULL},
    {"split horizon \"\" is local",
     {0x02, 0, 0, 0, 0, 0x01},
     "",
     1,
     TC_SWITCH_DROP,
     NULL},
    {"known just before ageing",
     {0x02, 0, 0, 0, 0, 0x0a},
     LOCAL,
     TC_SWITCH_AGE_MS - 1,
     TC_SWITCH_UNICAST,
     UID_A},
    {"expired is unknown",
     {0x02, 0, 0, 0, 0, 0x0a},
     LOCAL,
     TC_SWITCH_AGE_MS,
     TC_SWITCH_FLOOD,
     NULL},
    {"expired split horizon floods",
     {0x02, 0, 0, 0, 0, 0x01},
     LOCAL,
     TC_SWITCH_AGE_MS + 1,
     TC_SWITCH_FLOOD,
     NULL},
};

static void learn_three(uint64_t now)
{
	tc_switch_learn(sw, MAC_L, LOCAL, now);
	tc_switch_learn(sw, MAC_A, UID_A, now);
	tc_switch_learn(sw, MAC_B, UID_B, now);
}

START_TEST(test_decide)
{
	const struct decide_case *c = &decide_cases[_i];
	enum tc_switch_action got;

	learn_three(T0);
	ck_assert_uint_eq(tc_switch_count(sw), 3);
	got = tc_switch_decide(sw, c->dst, c->from, T0 + c->dt, NULL);
	ck_assert_msg(got == c->want, "%s: got %d, want %d", c->name, got,
		      c->want);
	assert_decide(c->dst, c->from, T0 + c->dt, c->want, c->want_uid);
	/* Deciding never changes the table. */
	ck_assert_uint_eq(tc_switch_count(sw), 3);
}
END_TEST

START_TEST(test_station_move)
{
	learn_three(T0);
	/* MAC_A moves from link A to link B. */
	tc_switch_learn(sw, MAC_A, UID_B, T0 + 10);
	ck_assert_uint_eq(tc_switch_count(sw), 3);
	assert_decide(MAC_A, LOCAL, T0 + 11, TC_SWITCH_UNICAST, UID_B);
	assert_decide(MAC_A, UID_A, T0 + 11, TC_SWITCH_UNICAST, UID_B);
	assert_decide(MAC_A, UID_B, T0 + 11, TC_SWITCH_DROP, NULL);
	/* ... then onto the local LAN ... */
	tc_switch_learn(sw, MAC_A, LOCAL, T0 + 20);
	assert_decide(MAC_A, UID_B, T0 + 21, TC_SWITCH_UNICAST, LOCAL);
	assert_decide(MAC_A, LOCAL, T0 + 21, TC_SWITCH_DROP, NULL);
	/* ... and back behind link A. */
	tc_switch_learn(sw, MAC_A, UID_A, T0 + 30);
	assert_decide(MAC_A, LOCAL, T0 + 31, TC_SWITCH_UNICAST, UID_A);
	ck_assert_uint_eq(tc_switch_count(sw), 3);
	/* Forgetting its old port leaves the moved station alone. */
	tc_switch_forget_port(sw, UID_B);
	assert_decide(MAC_A, LOCAL, T0 + 32, TC_SWITCH_UNICAST, UID_A);
	assert_decide(MAC_B, LOCAL, T0 + 32, TC_SWITCH_FLOOD, NULL);
}
END_TEST

/* Ageing: an entry seen AGE_MS - 1 ago is kept; AGE_MS or more expires. */
static const struct {
	uint64_t dt;
	bool kept;
} age_cases[] = {
    {0, true},
    {TC_SWITCH_AGE_MS - 1, true},
    {TC_SWITCH_AGE_MS, false},
    {TC_SWITCH_AGE_MS + 1, false},
    {(uint64_t)TC_SWITCH_AGE_MS * 1000, false},
};

START_TEST(test_ageing)
{
	uint64_t now = T0 + age_cases[_i].dt;
	bool kept = age_cases[_i].kept;

	tc_switch_learn(sw, MAC_A, UID_A, T0);
	assert_decide(MAC_A, LOCAL, now,
		      kept ? TC_SWITCH_UNICAST : TC_SWITCH_FLOOD, UID_A);
	ck_assert_uint_eq(tc_switch_expire(sw, now), kept ? 0 : 1);
	ck_assert_uint_eq(tc_switch_count(sw), kept ? 1 : 0);
	assert_decide(MAC_A, LOCAL, now,
		      kept ? TC_SWITCH_UNICAST : TC_SWITCH_FLOOD, UID_A);
	ck_assert_uint_eq(tc_switch_expire(sw, now), 0);
}
END_TEST

/* Traffic refreshes an entry; expire removes exactly the old ones. */
START_TEST(test_expire_some)
{
	learn_three(T0);
	tc_switch_learn(sw, MAC_X, UID_C, T0 + 500);
	/* MAC_A keeps talking: refreshed at T0 + 1000. */
	tc_switch_learn(sw, MAC_A, UID_A, T0 + 1000);
	ck_assert_uint_eq(tc_switch_expire(sw, T0 + TC_SWITCH_AGE_MS - 1), 0);
	ck_assert_uint_eq(tc_switch_expire(sw, T0 + TC_SWITCH_AGE_MS), 2);
	ck_assert_uint_eq(tc_switch_count(sw), 2);
	assert_decide(MAC_L, UID_A, T0 + TC_SWITCH_AGE_MS, TC_SWITCH_FLOOD,
		      NULL);
	assert_decide(MAC_B, UID_A, T0 + TC_SWITCH_AGE_MS, TC_SWITCH_FLOOD,
		      NULL);
	assert_decide(MAC_X, UID_A, T0 + TC_SWITCH_AGE_MS + 499,
		      TC_SWITCH_UNICAST, UID_C);
	ck_assert_uint_eq(tc_switch_expire(sw, T0 + TC_SWITCH_AGE_MS + 500), 1);
	assert_decide(MAC_A, LOCAL, T0 + TC_SWITCH_AGE_MS + 999,
		      TC_SWITCH_UNICAST, UID_A);
	ck_assert_uint_eq(tc_switch_expire(sw, T0 + TC_SWITCH_AGE_MS + 1000),
			  1);
	ck_assert_uint_eq(tc_switch_count(sw), 0);
}
END_TEST

/* A clock that steps back neither breaks the order nor underflows ages. */
START_TEST(test_clock_back)
{
	tc_switch_learn(sw, MAC_A, UID_A, T0 + 5000);
	tc_switch_learn(sw, MAC_B, UID_B, T0);
	assert_decide(MAC_B, LOCAL, T0, TC_SWITCH_UNICAST, UID_B);
	ck_assert_uint_eq(
	    tc_switch_expire(sw, T0 + 5000 + TC_SWITCH_AGE_MS - 1), 0);
	ck_assert_uint_eq(tc_switch_expire(sw, T0 + 5000 + TC_SWITCH_AGE_MS),
			  2);
}
END_TEST

START_TEST(test_forget_port)
{
	uint8_t mac[6];
	uint32_t i;

	for (i = 0; i < 3; i++) {
		mac_n(mac, i);
		tc_switch_learn(sw, mac, UID_A, T0 + i);
	}
	for (i = 3; i < 5; i++) {
		mac_n(mac, i);
		tc_switch_learn(sw, mac, UID_B, T0 + i);
	}
	for (i = 5; i < 7; i++) {
		mac_n(mac, i);
		tc_switch_learn(sw, mac, LOCAL, T0 + i);
	}
	ck_assert_uint_eq(tc_switch_count(sw), 7);
	tc_switch_forget_port(sw, UID_C);
	ck_assert_uint_eq(tc_switch_count(sw), 7);
	tc_switch_forget_port(sw, UID_A);
	ck_assert_uint_eq(tc_switch_count(sw), 4);
	for (i = 0; i < 7; i++) {
		mac_n(mac, i);
		assert_decide(mac, UID_C, T0 + 10,
			      i < 3 ? TC_SWITCH_FLOOD : TC_SWITCH_UNICAST,
			      i < 5 ? UID_B : LOCAL);
	}
	tc_switch_forget_port(sw, LOCAL);
	ck_assert_uint_eq(tc_switch_count(sw), 2);
	mac_n(mac, 6);
	assert_decide(mac, UID_C, T0 + 10, TC_SWITCH_FLOOD, NULL);
	tc_switch_forget_port(sw, UID_B);
	ck_assert_uint_eq(tc_switch_count(sw), 0);
	/* The list is still sound: learning works after emptying it. */
	tc_switch_learn(sw, MAC_A, UID_A, T0 + 20);
	assert_decide(MAC_A, LOCAL, T0 + 21, TC_SWITCH_UNICAST, UID_A);
	ck_assert_uint_eq(tc_switch_expire(sw, T0 + 20 + TC_SWITCH_AGE_MS), 1);
}
END_TEST

enum { EXTRA = 100 };

/* Fills MAX + EXTRA distinct MACs, one ms apart; with _i == 1, MAC 0 keeps
 * talking before the table overflows and survives instead of MAC EXTRA. */
START_TEST(test_eviction)
{
	uint8_t mac[6];
	uint32_t i, total = TC_SWITCH_MAX_ENTRIES + EXTRA;
	bool refresh = _i == 1;

	for (i = 0; i < total; i++) {
		if (refresh && i == TC_SWITCH_MAX_ENTRIES) {
			mac_n(mac, 0);
			tc_switch_learn(sw, mac, LOCAL, T0 + i);
		}
		mac_n(mac, i);
		tc_switch_learn(sw, mac, i % 2 ? UID_A : LOCAL, T0 + i);
		ck_assert_uint_le(tc_switch_count(sw), TC_SWITCH_MAX_ENTRIES);
	}
	ck_assert_uint_eq(tc_switch_count(sw), TC_SWITCH_MAX_ENTRIES);
	for (i = 0; i < total; i++) {
		bool known =
		    i >= EXTRA + (refresh ? 1 : 0) || (refresh && i == 0);

		mac_n(mac, i);
		assert_decide(mac, UID_B, T0 + total,
			      known ? TC_SWITCH_UNICAST : TC_SWITCH_FLOOD,
			      i % 2 ? UID_A : LOCAL);
	}
}
END_TEST

struct seen {
	unsigned n;
	unsigned found[3];
	uint64_t now;
};

static void foreach_cb(const uint8_t mac[6], const char *uid, uint64_t age_ms,
		       void *ctx)
{
	struct seen *s = ctx;

	s->n++;
	if (memcmp(mac, MAC_L, 6) == 0) {
		ck_assert_ptr_null(uid);
		ck_assert_uint_eq(age_ms, 3000);
		s->found[0]++;
	} else if (memcmp(mac, MAC_A, 6) == 0) {
		ck_assert_str_eq(uid, UID_A);
		ck_assert_uint_eq(age_ms, 2000);
		s->found[1]++;
	} else if (memcmp(mac, MAC_B, 6) == 0) {
		ck_assert_str_eq(uid, UID_B);
		ck_assert_uint_eq(age_ms, 0);
		s->found[2]++;
	} else {
		ck_abort_msg("foreach reported a MAC never learned");
	}
}

START_TEST(test_foreach)
{
	struct seen s = {0};
	struct tc_switch *empty = tc_switch_new();

	tc_switch_learn(sw, MAC_L, LOCAL, T0);
	tc_switch_learn(sw, MAC_A, UID_C, T0 + 500);
	tc_switch_learn(sw, MAC_A, UID_A, T0 + 1000);
	tc_switch_learn(sw, MAC_B, UID_B, T0 + 3000);
	tc_switch_foreach(sw, T0 + 3000, foreach_cb, &s);
	ck_assert_uint_eq(s.n, 3);
	ck_assert_uint_eq(s.found[0], 1);
	ck_assert_uint_eq(s.found[1], 1);
	ck_assert_uint_eq(s.found[2], 1);
	tc_switch_foreach(empty, T0, foreach_cb, &s);
	ck_assert_uint_eq(s.n, 3);
	ck_assert_uint_eq(tc_switch_count(empty), 0);
	tc_switch_free(empty);
	tc_switch_free(NULL);
}
END_TEST

/* Group and zero sources are never learned, from any port. */
static const uint8_t bad_sources[][6] = {
    {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01},
    {0x33, 0x33, 0x00, 0x00, 0x00, 0x01}, {0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e},
    {0x03, 0x00, 0x00, 0x00, 0x00, 0x01}, {0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
};

START_TEST(test_not_learned)
{
	const uint8_t *src = bad_sources[_i];

	tc_switch_learn(sw, src, LOCAL, T0);
	tc_switch_learn(sw, src, UID_A, T0);
	ck_assert_uint_eq(tc_switch_count(sw), 0);
	assert_decide(src, UID_B, T0, TC_SWITCH_FLOOD, NULL);
	/* Its neighbours in the address space are ordinary unicast. */
	tc_switch_learn(sw, MAC_A, UID_A, T0);
	ck_assert_uint_eq(tc_switch_count(sw), 1);
}
END_TEST

/* A port name that is not a uid cannot be stored and is not learned. */
START_TEST(test_long_uid)
{
	tc_switch_learn(sw, MAC_A, UID_A "x", T0);
	ck_assert_uint_eq(tc_switch_count(sw), 0);
	tc_switch_learn(sw, MAC_A, "", T0);
	assert_decide(MAC_A, UID_A, T0, TC_SWITCH_UNICAST, LOCAL);
}
END_TEST

enum { BENCH_FRAMES = 1000000, BENCH_MACS = 1000 };

/* Not a pass/fail test: ns per learn + decide, printed as a note. */
START_TEST(test_bench)
{
	static const char *const ports[] = {LOCAL, UID_A, UID_B, UID_C};
	static uint8_t macs[BENCH_MACS][6];
	unsigned i, counts[3] = {0};
	gint64 t;

	for (i = 0; i < BENCH_MACS; i++)
		mac_n(macs[i], i * 2654435761u);
	t = g_get_monotonic_time();
	for (i = 0; i < BENCH_FRAMES; i++) {
		unsigned s = i % BENCH_MACS, d = (i * 7 + 3) % BENCH_MACS;
		const char *out;

		tc_switch_learn(sw, macs[s], ports[s % 4], T0 + i / 1000);
		counts[tc_switch_decide(sw, macs[d], ports[s % 4],
					T0 + i / 1000, &out)]++;
	}
	t = g_get_monotonic_time() - t;
	fprintf(stderr,
		"note: switch: %.1f ns per learn+decide "
		"(%d frames, %d MACs; %u unicast, %u flood, %u drop)\n",
		(double)t * 1000.0 / BENCH_FRAMES, BENCH_FRAMES, BENCH_MACS,
		counts[TC_SWITCH_UNICAST], counts[TC_SWITCH_FLOOD],
		counts[TC_SWITCH_DROP]);
	ck_assert_uint_eq(tc_switch_count(sw), BENCH_MACS);
	/* Source and destination ports always differ here, so once every
	 * MAC is known (after the first round) every frame is unicast. */
	ck_assert_uint_eq(counts[TC_SWITCH_DROP], 0);
	ck_assert_uint_lt(counts[TC_SWITCH_FLOOD], BENCH_MACS);
	ck_assert_uint_gt(counts[TC_SWITCH_UNICAST], BENCH_FRAMES - BENCH_MACS);
}
END_TEST

Suite *suite_switch(void)
{
	Suite *s = suite_create("switch");
	TCase *tc = tcase_create("table");
	TCase *bench = tcase_create("bench");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_learn, 0, G_N_ELEMENTS(learn_ports));
	tcase_add_loop_test(tc, test_decide, 0, G_N_ELEMENTS(decide_cases));
	tcase_add_test(tc, test_station_move);
	tcase_add_loop_test(tc, test_ageing, 0, G_N_ELEMENTS(age_cases));
	tcase_add_test(tc, test_expire_some);
	tcase_add_test(tc, test_clock_back);
	tcase_add_test(tc, test_forget_port);
	tcase_add_loop_test(tc, test_eviction, 0, 2);
	tcase_add_test(tc, test_foreach);
	tcase_add_loop_test(tc, test_not_learned, 0, G_N_ELEMENTS(bad_sources));
	tcase_add_test(tc, test_long_uid);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(bench, setup, teardown);
	tcase_set_timeout(bench, 60);
	tcase_add_test(bench, test_bench);
	suite_add_tcase(s, bench);
	return s;
}
