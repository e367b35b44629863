/*
 * Tests of the handshake guard (cookie.c) together with the session that
 * makes and reads the messages: mac1 against the responder's key, the load
 * threshold and its hold time, cookie replies that only the initiator of
 * that INIT can open, mac2 bound to the sender's address and to the
 * current secret, the per-source and global budgets of DH work and the
 * per-source budget of cookie replies, the counters, and the
 * refusal of a version-1 initiation.  Time is driven by the test.
 */
#include <check.h>
#include <errno.h>
#include <glib.h>
#include <sodium.h>
#include <string.h>

#include "tincan/cookie.h"
#include "tincan/session.h"

enum { BUF = 256, T0 = 5000000 };

struct pair {
	uint8_t ipriv[32], ipub[32], rpriv[32], rpub[32];
	struct tc_session *i, *r;
	struct tc_cookie_keys rkeys; /* the responder's own */
	struct tc_guard *g;
	struct tc_time t;
};

static const uint8_t src_a[6] = {10, 1, 0, 2, 0x12, 0x34};
static const uint8_t src_b[6] = {10, 1, 0, 4, 0x12, 0x34};

static void pair_new(struct pair *p)
{
	ck_assert_int_ge(sodium_init(), 0);
	crypto_box_keypair(p->ipub, p->ipriv);
	crypto_box_keypair(p->rpub, p->rpriv);
	p->i = tc_session_new(true, p->ipriv, p->ipub, p->rpub, NULL);
	p->r = tc_session_new(false, p->rpriv, p->rpub, p->ipub, NULL);
	ck_assert_ptr_nonnull(p->i);
	ck_assert_ptr_nonnull(p->r);
	tc_cookie_keys_init(&p->rkeys, p->rpub);
	p->g = tc_guard_new();
	ck_assert_ptr_nonnull(p->g);
	p->t.mono_ms = T0;
	p->t.wall_ns = 1700000000ULL * 1000000000ULL;
}

static void pair_free(struct pair *p)
{
	tc_session_free(p->i);
	tc_session_free(p->r);
	tc_guard_free(p->g);
}

static void tick(struct pair *p, uint64_t ms)
{
	p->t.mono_ms += ms;
	p->t.wall_ns += ms * 1000000ULL;
}

static void make_init(struct pair *p, uint8_t init[TC_INIT_LEN])
{
	ck_assert_int_eq(tc_session_initiate(p->i, &p->t, init, TC_INIT_LEN),
			 TC_INIT_LEN);
}

static enum tc_guard_verdict check(struct pair *p, const uint8_t *init,
				   const uint8_t *src)
{
	return tc_guard_check(p->g, &p->rkeys, init, TC_INIT_LEN, src, 6,
			      p->t.mono_ms, NULL);
}

/* Initiations with a valid mac1 until the guard is under load (they also
 * empty the global bucket), then 100 ms for it to refill a little. */
static void load_up(struct pair *p)
{
	uint8_t init[TC_INIT_LEN];
	int n;

	make_init(p, init);
	for (n = 0; n <= TC_GUARD_LOAD_PER_S; n++)
		check(p, init, src_b);
	ck_assert(tc_guard_under_load(p->g, p->t.mono_ms));
	tick(p, 100);
}

/* The responder answers init with a cookie for src; the initiator takes
 * it. */
static void get_cookie(struct pair *p, const uint8_t *init, const uint8_t *src)
{
	uint8_t reply[TC_COOKIE_REPLY_LEN];
	size_t olen = 9;

	tc_guard_cookie_reply(p->g, &p->rkeys, init, TC_INIT_LEN, src, 6,
			      p->t.mono_ms, reply, NULL);
	ck_assert_int_eq(reply[0], TC_MSG_COOKIE);
	ck_assert_int_eq(tc_session_receive(p->i, &p->t, reply, sizeof(reply),
					    NULL, 0, &olen),
			 TC_RX_COOKIE);
	ck_assert_uint_eq(olen, 0);
}

START_TEST(test_mac1)
{
	uint8_t init[TC_INIT_LEN], bad[TC_INIT_LEN], other[32], opriv[32];
	struct tc_cookie_keys okeys;
	struct pair p;
	size_t pos;

	pair_new(&p);
	make_init(&p, init);
	ck_assert(tc_cookie_mac1_ok(&p.rkeys, init, sizeof(init)));
	/* Every byte mac1 covers, and mac1 itself. */
	for (pos = 0; pos < TC_INIT_LEN - TC_MAC_LEN; pos++) {
		memcpy(bad, init, sizeof(init));
		bad[pos] ^= 0x20;
		ck_assert_msg(!tc_cookie_mac1_ok(&p.rkeys, bad, sizeof(bad)),
			      "pos %zu", pos);
		ck_assert_int_eq(check(&p, bad, src_a), TC_GUARD_BAD_MAC1);
	}
	/* Another node's key does not verify it. */
	crypto_box_keypair(other, opriv);
	tc_cookie_keys_init(&okeys, other);
	ck_assert(!tc_cookie_mac1_ok(&okeys, init, sizeof(init)));
	ck_assert(!tc_cookie_mac1_ok(&p.rkeys, init, 16));
	/* Not under load and with mac1: worth a DH, and the session agrees. */
	ck_assert_int_eq(check(&p, init, src_a), TC_GUARD_PASS);
	pair_free(&p);
}
END_TEST

START_TEST(test_cookie_roundtrip)
{
	uint8_t init[TC_INIT_LEN], resp[BUF];
	struct tc_guard_counters c;
	struct pair p;
	size_t olen;

	pair_new(&p);
	load_up(&p);
	make_init(&p, init);
	ck_assert_int_eq(check(&p, init, src_a), TC_GUARD_COOKIE);
	get_cookie(&p, init, src_a);
	/* The next INIT carries mac2 for src_a: it passes from there only. */
	make_init(&p, init);
	ck_assert_int_eq(check(&p, init, src_b), TC_GUARD_BAD_MAC2);
	ck_assert_int_eq(check(&p, init, src_a), TC_GUARD_PASS);
	ck_assert_int_eq(tc_session_receive(p.r, &p.t, init, TC_INIT_LEN, resp,
					    sizeof(resp), &olen),
			 TC_RX_REPLY);
	tc_guard_get_counters(p.g, p.t.mono_ms, &c);
	ck_assert(c.under_load);
	ck_assert_uint_eq(c.drop_mac2, 1);
	ck_assert_uint_eq(c.cookie_sent, 1);
	ck_assert_uint_ge(c.init_passed, 1);
	ck_assert_uint_eq(c.init_received, TC_GUARD_LOAD_PER_S + 1 + 3);
	pair_free(&p);
}
END_TEST

/* A reply is only for the initiator of that INIT. */
START_TEST(test_cookie_reply_forged)
{
	uint8_t init[TC_INIT_LEN], other[TC_INIT_LEN];
	uint8_t reply[TC_COOKIE_REPLY_LEN], bad[TC_COOKIE_REPLY_LEN];
	struct pair p;
	size_t olen, pos;

	pair_new(&p);
	make_init(&p, other);
	make_init(&p, init); /* supersedes other */
	tc_guard_cookie_reply(p.g, &p.rkeys, init, TC_INIT_LEN, src_a, 6,
			      p.t.mono_ms, reply, NULL);
	for (pos = 0; pos < sizeof(reply); pos++) {
		memcpy(bad, reply, sizeof(reply));
		bad[pos] ^= 1;
		ck_assert_int_lt(tc_session_receive(p.i, &p.t, bad, sizeof(bad),
						    NULL, 0, &olen),
				 0);
	}
	ck_assert_int_eq(
	    tc_session_receive(p.i, &p.t, reply, 40, NULL, 0, &olen), -EBADMSG);
	/* The responder has no use for a cookie. */
	ck_assert_int_eq(
	    tc_session_receive(p.r, &p.t, reply, sizeof(reply), NULL, 0, &olen),
	    -EBADMSG);
	/* A reply to the superseded INIT names no pending handshake. */
	tc_guard_cookie_reply(p.g, &p.rkeys, other, TC_INIT_LEN, src_a, 6,
			      p.t.mono_ms, bad, NULL);
	ck_assert_int_eq(
	    tc_session_receive(p.i, &p.t, bad, sizeof(bad), NULL, 0, &olen),
	    -ENOKEY);
	/* Same index, but the AD is the mac1 of another INIT. */
	memcpy(other + 4, init + 4, 4);
	tc_cookie_seal(&p.rkeys, NULL, other, TC_INIT_LEN);
	tc_guard_cookie_reply(p.g, &p.rkeys, other, TC_INIT_LEN, src_a, 6,
			      p.t.mono_ms, bad, NULL);
	ck_assert_int_eq(
	    tc_session_receive(p.i, &p.t, bad, sizeof(bad), NULL, 0, &olen),
	    -EBADMSG);
	/* Nothing of that gave the initiator a cookie: its INIT has none. */
	make_init(&p, init);
	load_up(&p);
	ck_assert_int_eq(check(&p, init, src_a), TC_GUARD_COOKIE);
	ck_assert_int_eq(
	    tc_session_receive(p.i, &p.t, reply, sizeof(reply), NULL, 0, &olen),
	    -ENOKEY);
	pair_free(&p);
}
END_TEST

/* A cookie dies with its secret (TC_COOKIE_SECRET_MS); the initiator
 * stops using one after TC_COOKIE_USE_MS. */
START_TEST(test_cookie_expiry)
{
	uint8_t init[TC_INIT_LEN];
	struct pair p;

	pair_new(&p);
	load_up(&p);
	make_init(&p, init);
	get_cookie(&p, init, src_a);
	tick(&p, TC_COOKIE_SECRET_MS + 1);
	load_up(&p); /* rotates the secret, loads the guard again */
	make_init(&p, init);
	/* The initiator dropped the old cookie: mac2 zero, a new cookie. */
	ck_assert_int_eq(check(&p, init, src_a), TC_GUARD_COOKIE);
	get_cookie(&p, init, src_a);
	make_init(&p, init);
	ck_assert_int_eq(check(&p, init, src_a), TC_GUARD_PASS);
	/* A cookie still in use but from the previous secret is refused. */
	tick(&p, TC_COOKIE_USE_MS - 1);
	make_init(&p, init);
	tick(&p, TC_COOKIE_SECRET_MS - TC_COOKIE_USE_MS + 2);
	load_up(&p);
	ck_assert_int_eq(check(&p, init, src_a), TC_GUARD_BAD_MAC2);
	pair_free(&p);
}
END_TEST

START_TEST(test_load_hold)
{
	uint8_t init[TC_INIT_LEN];
	struct pair p;
	int n;

	pair_new(&p);
	make_init(&p, init);
	/* The threshold itself is not load. */
	for (n = 0; n < TC_GUARD_LOAD_PER_S; n++)
		check(&p, init, src_a);
	ck_assert(!tc_guard_under_load(p.g, p.t.mono_ms));
	check(&p, init, src_a);
	ck_assert(tc_guard_under_load(p.g, p.t.mono_ms));
	tick(&p, TC_GUARD_LOAD_HOLD_MS - 1);
	ck_assert(tc_guard_under_load(p.g, p.t.mono_ms));
	/* The next second's first initiation still sees the last one's rate. */
	tick(&p, 2);
	check(&p, init, src_a);
	ck_assert(tc_guard_under_load(p.g, p.t.mono_ms));
	tick(&p, TC_GUARD_LOAD_HOLD_MS + 1);
	ck_assert(!tc_guard_under_load(p.g, p.t.mono_ms));
	/* Bad mac1 costs a hash and is not load. */
	init[20] ^= 1;
	for (n = 0; n < 3 * TC_GUARD_LOAD_PER_S; n++)
		ck_assert_int_eq(check(&p, init, src_a), TC_GUARD_BAD_MAC1);
	ck_assert(!tc_guard_under_load(p.g, p.t.mono_ms));
	pair_free(&p);
}
END_TEST

/* Under load a source with a valid cookie gets TC_GUARD_SOURCE_BURST, then
 * TC_GUARD_SOURCE_PER_S; another source has its own bucket. */
START_TEST(test_source_budget)
{
	uint8_t ia[TC_INIT_LEN], ib[TC_INIT_LEN];
	struct tc_guard_counters c;
	struct pair p, q;
	int n, pass = 0;

	pair_new(&p);
	pair_new(&q); /* a second initiator, same responder keys and guard */
	tc_guard_free(q.g);
	q.g = p.g;
	memcpy(&q.rkeys, &p.rkeys, sizeof(q.rkeys));
	tc_session_free(q.i);
	q.i = tc_session_new(true, q.ipriv, q.ipub, p.rpub, NULL);
	tick(&p, 10 * 1000); /* the global bucket is full again */
	q.t = p.t;
	load_up(&p);
	make_init(&p, ia);
	get_cookie(&p, ia, src_a);
	make_init(&q, ib);
	get_cookie(&q, ib, src_b);
	make_init(&p, ia);
	make_init(&q, ib);
	for (n = 0; n < 3 * TC_GUARD_SOURCE_BURST; n++)
		pass += check(&p, ia, src_a) == TC_GUARD_PASS;
	ck_assert_int_eq(pass, TC_GUARD_SOURCE_BURST);
	ck_assert_int_eq(check(&p, ia, src_a), TC_GUARD_OVER_BUDGET);
	ck_assert_int_eq(check(&q, ib, src_b), TC_GUARD_PASS);
	/* One token back after 1000 / TC_GUARD_SOURCE_PER_S ms. */
	tick(&p, 1000 / TC_GUARD_SOURCE_PER_S);
	ck_assert_int_eq(check(&p, ia, src_a), TC_GUARD_PASS);
	ck_assert_int_eq(check(&p, ia, src_a), TC_GUARD_OVER_BUDGET);
	tc_guard_get_counters(p.g, p.t.mono_ms, &c);
	ck_assert_uint_eq(c.drop_budget,
			  2 * TC_GUARD_SOURCE_BURST + 2 +
			      (TC_GUARD_LOAD_PER_S - TC_GUARD_GLOBAL_BURST));
	q.g = NULL;
	pair_free(&q);
	pair_free(&p);
}
END_TEST

/* Under load, one source that never sends a mac2 gets
 * TC_GUARD_COOKIE_BURST cookie replies, then TC_GUARD_COOKIE_PER_S. */
START_TEST(test_cookie_budget)
{
	uint8_t init[TC_INIT_LEN];
	struct pair p;
	int n, cookies = 0;

	pair_new(&p);
	load_up(&p); /* from src_b: took one of its cookie replies */
	make_init(&p, init);
	for (n = 0; n < 3 * TC_GUARD_COOKIE_BURST; n++)
		cookies += check(&p, init, src_a) == TC_GUARD_COOKIE;
	ck_assert_int_eq(cookies, TC_GUARD_COOKIE_BURST);
	ck_assert_int_eq(check(&p, init, src_a), TC_GUARD_OVER_BUDGET);
	ck_assert_int_eq(check(&p, init, src_b), TC_GUARD_COOKIE);
	tick(&p, 1000 / TC_GUARD_COOKIE_PER_S);
	ck_assert_int_eq(check(&p, init, src_a), TC_GUARD_COOKIE);
	ck_assert_int_eq(check(&p, init, src_a), TC_GUARD_OVER_BUDGET);
	pair_free(&p);
}
END_TEST

/* Not under load, the global bucket still bounds the DH work. */
START_TEST(test_global_budget)
{
	uint8_t init[TC_INIT_LEN];
	struct tc_guard_counters c, lc;
	struct pair p;
	int n, pass = 0;

	pair_new(&p);
	memset(&lc, 0, sizeof(lc));
	make_init(&p, init);
	for (n = 0; n < TC_GUARD_LOAD_PER_S - 1; n++)
		pass += tc_guard_check(p.g, &p.rkeys, init, TC_INIT_LEN, src_a,
				       6, p.t.mono_ms, &lc) == TC_GUARD_PASS;
	ck_assert(!tc_guard_under_load(p.g, p.t.mono_ms));
	ck_assert_int_eq(pass, TC_GUARD_GLOBAL_BURST);
	tick(&p, 1000 / TC_GUARD_GLOBAL_PER_S);
	ck_assert_int_eq(check(&p, init, src_a), TC_GUARD_PASS);
	/* The caller's counters got the same as the totals. */
	tc_guard_get_counters(p.g, p.t.mono_ms, &c);
	ck_assert_uint_eq(lc.init_received, TC_GUARD_LOAD_PER_S - 1);
	ck_assert_uint_eq(lc.init_passed, TC_GUARD_GLOBAL_BURST);
	ck_assert_uint_eq(lc.drop_budget,
			  TC_GUARD_LOAD_PER_S - 1 - TC_GUARD_GLOBAL_BURST);
	ck_assert_uint_eq(c.init_received, lc.init_received + 1);
	ck_assert_uint_eq(c.init_passed, lc.init_passed + 1);
	tc_guard_count(p.g, &(struct tc_guard_counters){.junk = 3, .roams = 1});
	tc_guard_get_counters(p.g, p.t.mono_ms, &c);
	ck_assert_uint_eq(c.junk, 3);
	ck_assert_uint_eq(c.roams, 1);
	tc_guard_get_counters(NULL, p.t.mono_ms, &c);
	ck_assert_uint_eq(c.init_received, 0);
	pair_free(&p);
}
END_TEST

/* A version-1 initiation (116 bytes, no MACs) is refused by its length, as
 * any version-1 peer refuses ours. */
START_TEST(test_v1_refused)
{
	uint8_t init[TC_INIT_LEN], out[BUF];
	struct pair p;
	size_t olen;

	pair_new(&p);
	make_init(&p, init);
	ck_assert_int_eq(tc_session_receive(p.r, &p.t, init, TC_INIT_V1_LEN,
					    out, sizeof(out), &olen),
			 -EPROTONOSUPPORT);
	ck_assert_int_eq(tc_session_receive(p.r, &p.t, init, TC_INIT_LEN - 1,
					    out, sizeof(out), &olen),
			 -EBADMSG);
	/* The genuine one still works afterwards. */
	ck_assert_int_eq(tc_session_receive(p.r, &p.t, init, TC_INIT_LEN, out,
					    sizeof(out), &olen),
			 TC_RX_REPLY);
	pair_free(&p);
}
END_TEST

Suite *suite_cookie(void)
{
	Suite *s = suite_create("cookie");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_mac1);
	tcase_add_test(tc, test_cookie_roundtrip);
	tcase_add_test(tc, test_cookie_reply_forged);
	tcase_add_test(tc, test_cookie_expiry);
	tcase_add_test(tc, test_load_hold);
	tcase_add_test(tc, test_source_budget);
	tcase_add_test(tc, test_cookie_budget);
	tcase_add_test(tc, test_global_budget);
	tcase_add_test(tc, test_v1_refused);
	suite_add_tcase(s, tc);
	return s;
}
