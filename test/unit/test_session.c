/*
 * Tests of the link session: handshakes between an initiator and a
 * responder in memory, data both ways, rejection of wrong keys, replayed and
 * tampered packets without any change of state, the replay window at its
 * edges (against a naive model too), rekeying with previous/current/next
 * keypairs, the responder's confirmation rule, and the timers.  Time is
 * driven by the test through struct tc_time.
 */
#include <check.h>
#include <errno.h>
#include <glib.h>
#include <sodium.h>
#include <string.h>

#include "tincan/cookie.h"
#include "tincan/session.h"

enum { BUF = 2048 };

struct link {
	uint8_t ipriv[32], ipub[32], rpriv[32], rpub[32], psk[32];
	struct tc_session *i, *r;
	struct tc_time t;
};

/* r_pin / r_psk override what the responder expects (NULL: the truth). */
static void link_new(struct link *l, const uint8_t *r_pin, const uint8_t *r_psk)
{
	ck_assert_int_ge(sodium_init(), 0);
	crypto_box_keypair(l->ipub, l->ipriv);
	crypto_box_keypair(l->rpub, l->rpriv);
	randombytes_buf(l->psk, sizeof(l->psk));
	l->i = tc_session_new(true, l->ipriv, l->ipub, l->rpub, l->psk);
	l->r = tc_session_new(false, l->rpriv, l->rpub,
			      r_pin != NULL ? r_pin : l->ipub,
			      r_psk != NULL ? r_psk : l->psk);
	ck_assert_ptr_nonnull(l->i);
	ck_assert_ptr_nonnull(l->r);
	l->t.mono_ms = 5000000;
	l->t.wall_ns = 1700000000ULL * 1000000000ULL;
}

static void link_free(struct link *l)
{
	tc_session_free(l->i);
	tc_session_free(l->r);
}

static void tick(struct link *l, uint64_t ms)
{
	l->t.mono_ms += ms;
	l->t.wall_ns += ms * 1000000ULL;
}

static void make_init(struct link *l, uint8_t init[TC_INIT_LEN])
{
	ck_assert_int_eq(tc_session_initiate(l->i, &l->t, init, TC_INIT_LEN),
			 TC_INIT_LEN);
}

/* INIT to the responder; returns the RESP in resp. */
static void answer(struct link *l, const uint8_t *init, uint8_t *resp)
{
	size_t olen = 0;

	ck_assert_int_eq(tc_session_receive(l->r, &l->t, init, TC_INIT_LEN,
					    resp, TC_RESP_LEN, &olen),
			 TC_RX_REPLY);
	ck_assert_uint_eq(olen, TC_RESP_LEN);
}

static void establish(struct link *l, const uint8_t *resp)
{
	size_t olen = 99;

	ck_assert_int_eq(
	    tc_session_receive(l->i, &l->t, resp, TC_RESP_LEN, NULL, 0, &olen),
	    TC_RX_ESTABLISHED);
	ck_assert_uint_eq(olen, 0);
}

static int seal(struct tc_session *s, const struct tc_time *t, const char *msg,
		uint8_t *pkt)
{
	return tc_session_encrypt(s, t, (const uint8_t *)msg, strlen(msg), pkt,
				  BUF);
}

static int unseal(struct tc_session *s, const struct tc_time *t,
		  const uint8_t *pkt, int len, uint8_t *out, size_t *olen)
{
	return tc_session_receive(s, t, pkt, (size_t)len, out, BUF, olen);
}

/* Sends msg from one side and checks the other gets exactly it. */
static void xfer(struct tc_session *from, struct tc_session *to,
		 const struct tc_time *t, const char *msg)
{
	uint8_t pkt[BUF], out[BUF];
	size_t olen = 0;
	int len = seal(from, t, msg, pkt);

	ck_assert_int_eq(len, (int)strlen(msg) + TC_DATA_OVERHEAD);
	ck_assert_int_eq(pkt[0], TC_MSG_DATA);
	ck_assert_int_eq(unseal(to, t, pkt, len, out, &olen), TC_RX_DATA);
	ck_assert_uint_eq(olen, strlen(msg));
	ck_assert_mem_eq(out, msg, olen);
}

/* INIT, RESP and the initiator's keepalive that confirms the keys. */
static void handshake(struct link *l)
{
	uint8_t init[TC_INIT_LEN], resp[TC_RESP_LEN];

	make_init(l, init);
	answer(l, init, resp);
	establish(l, resp);
	xfer(l->i, l->r, &l->t, "");
}

START_TEST(test_handshake_data)
{
	uint8_t init[TC_INIT_LEN], resp[TC_RESP_LEN], pkt[BUF];
	struct link l;

	link_new(&l, NULL, NULL);
	ck_assert(!tc_session_can_send(l.i, &l.t));
	ck_assert_int_eq(seal(l.i, &l.t, "x", pkt), -ENOKEY);
	ck_assert_int_eq(tc_session_initiate(l.r, &l.t, init, sizeof(init)),
			 -EINVAL);
	ck_assert_int_eq(tc_session_initiate(l.i, &l.t, init, sizeof(init) - 1),
			 -ENOSPC);
	make_init(&l, init);
	ck_assert_int_eq(init[0], TC_MSG_INIT);
	answer(&l, init, resp);
	ck_assert_int_eq(resp[0], TC_MSG_RESP);
	ck_assert_mem_eq(resp + 8, init + 4, 4); /* receiver = sender */
	ck_assert_uint_eq(tc_session_handshakes(l.r), 0);
	tick(&l, 7);
	establish(&l, resp);
	ck_assert_uint_eq(tc_session_handshakes(l.i), 1);
	ck_assert_uint_eq(tc_session_last_handshake(l.i), l.t.mono_ms);
	ck_assert_uint_eq(tc_session_last_handshake_wall(l.i), l.t.wall_ns);
	ck_assert(tc_session_can_send(l.i, &l.t));
	ck_assert(!tc_session_can_send(l.r, &l.t));
	xfer(l.i, l.r, &l.t, "hello responder");
	ck_assert_uint_eq(tc_session_handshakes(l.r), 1);
	ck_assert_uint_eq(tc_session_last_handshake(l.r), l.t.mono_ms);
	ck_assert(tc_session_can_send(l.r, &l.t));
	xfer(l.r, l.i, &l.t, "hello initiator");
	xfer(l.r, l.i, &l.t, "");
	xfer(l.i, l.r, &l.t, "again");
	link_free(&l);
	tc_session_free(NULL);
}
END_TEST

struct holder_probe {
	struct link *l;
	gint done;
};

static gpointer probe_thread(gpointer data)
{
	struct holder_probe *p = data;

	(void)tc_session_can_send(p->l->i, &p->l->t); /* takes the lock */
	g_atomic_int_set(&p->done, 1);
	return NULL;
}

/* A hold takes the lock once for a batch: this thread's calls go on
 * (traffic both ways, no deadlock), another thread's wait until the
 * release; a second hold while one is held takes nothing. */
START_TEST(test_hold)
{
	struct holder_probe p = {0};
	struct link l;
	GThread *th;

	link_new(&l, NULL, NULL);
	handshake(&l);
	p.l = &l;
	ck_assert(!tc_session_hold(NULL));
	ck_assert(tc_session_hold(l.i));
	ck_assert(!tc_session_hold(l.r));
	ck_assert(!tc_session_hold(l.i));
	tc_session_release(l.r); /* not held: nothing */
	xfer(l.i, l.r, &l.t, "held");
	xfer(l.r, l.i, &l.t, "back");
	th = g_thread_new("probe", probe_thread, &p);
	g_usleep(50 * 1000);
	ck_assert_int_eq(g_atomic_int_get(&p.done), 0);
	tc_session_release(l.i);
	g_thread_join(th);
	ck_assert_int_eq(g_atomic_int_get(&p.done), 1);
	ck_assert(tc_session_hold(l.r));
	tc_session_release(l.r);
	xfer(l.i, l.r, &l.t, "after");
	link_free(&l);
}
END_TEST

START_TEST(test_wrong_pin)
{
	uint8_t other[32], opriv[32], init[TC_INIT_LEN], resp[TC_RESP_LEN];
	struct tc_session *stranger;
	struct link l;
	size_t olen = 77;

	crypto_box_keypair(other, opriv);
	link_new(&l, other, NULL);
	make_init(&l, init);
	ck_assert_int_eq(tc_session_receive(l.r, &l.t, init, sizeof(init), resp,
					    sizeof(resp), &olen),
			 -EPERM);
	ck_assert_uint_eq(olen, 77);
	ck_assert_uint_eq(tc_session_handshakes(l.r), 0);

	/* An initiator that pins some other responder key: the INIT does
	 * not even decrypt at the real responder. */
	stranger = tc_session_new(true, l.ipriv, l.ipub, other, l.psk);
	ck_assert_int_eq(
	    tc_session_initiate(stranger, &l.t, init, sizeof(init)),
	    TC_INIT_LEN);
	ck_assert_int_eq(tc_session_receive(l.r, &l.t, init, sizeof(init), resp,
					    sizeof(resp), &olen),
			 -EBADMSG);
	tc_session_free(stranger);
	link_free(&l);
}
END_TEST

START_TEST(test_wrong_psk)
{
	uint8_t bad[32], init[TC_INIT_LEN], resp[TC_RESP_LEN], pkt[BUF];
	struct link l;
	size_t olen;

	memset(bad, 0xa5, sizeof(bad));
	link_new(&l, NULL, bad);
	make_init(&l, init);
	/* psk2 is mixed in only by message 2: the responder cannot tell. */
	answer(&l, init, resp);
	ck_assert_int_eq(
	    tc_session_receive(l.i, &l.t, resp, sizeof(resp), NULL, 0, &olen),
	    -EBADMSG);
	ck_assert_uint_eq(tc_session_handshakes(l.i), 0);
	ck_assert_int_eq(seal(l.i, &l.t, "x", pkt), -ENOKEY);
	ck_assert_int_eq(seal(l.r, &l.t, "x", pkt), -ENOKEY);
	link_free(&l);
}
END_TEST

START_TEST(test_replayed_init)
{
	uint8_t old[TC_INIT_LEN], init[TC_INIT_LEN], resp[TC_RESP_LEN];
	uint8_t r2[TC_RESP_LEN];
	struct link l;
	size_t olen;

	link_new(&l, NULL, NULL);
	make_init(&l, old);
	tick(&l, 1);
	make_init(&l, init);
	answer(&l, init, resp);
	ck_assert_int_eq(tc_session_receive(l.r, &l.t, init, sizeof(init), r2,
					    sizeof(r2), &olen),
			 -EALREADY);
	ck_assert_int_eq(tc_session_receive(l.r, &l.t, old, sizeof(old), r2,
					    sizeof(r2), &olen),
			 -EALREADY);
	/* The refused replays left the responder's pending keys alone. */
	establish(&l, resp);
	xfer(l.i, l.r, &l.t, "still fine");
	xfer(l.r, l.i, &l.t, "yes");

	/* An INIT made at the same wall time still moves forward. */
	make_init(&l, init);
	answer(&l, init, resp);
	link_free(&l);
}
END_TEST

/* Every byte of each packet kind flipped, and every truncation: each one is
 * refused, and afterwards the genuine packet still works.  An INIT's mac2
 * is left out: the session does not read it (the guard does, test_cookie). */
enum tamper_kind { TK_INIT, TK_RESP, TK_DATA, TK_COUNT };

static int expect_for(enum tamper_kind k, int pos)
{
	if (pos < 4)
		return -EBADMSG; /* type or reserved */
	if (k == TK_DATA && pos < 8)
		return -ENOKEY; /* receiver index */
	if (k == TK_RESP && pos >= 8 && pos < 12)
		return -ENOKEY; /* receiver index */
	return -EBADMSG;
}

START_TEST(test_tamper)
{
	static const uint8_t masks[] = {0x01, 0x80, 0xff};
	uint8_t init[TC_INIT_LEN], resp[TC_RESP_LEN], pkt[BUF], bad[BUF];
	uint8_t out[BUF];
	struct link l;
	struct tc_session *rx;
	int len, pos, rc;
	size_t m, olen, cut;

	link_new(&l, NULL, NULL);
	make_init(&l, init);
	if (_i == TK_INIT) {
		memcpy(pkt, init, sizeof(init));
		len = sizeof(init);
		rx = l.r;
	} else {
		answer(&l, init, resp);
		if (_i == TK_RESP) {
			memcpy(pkt, resp, sizeof(resp));
			len = sizeof(resp);
			rx = l.i;
		} else {
			establish(&l, resp);
			len = seal(l.i, &l.t, "confirming data", pkt);
			rx = l.r;
		}
	}
	for (pos = 0; pos < len - (_i == TK_INIT ? TC_MAC_LEN : 0); pos++) {
		for (m = 0; m < sizeof(masks); m++) {
			memcpy(bad, pkt, len);
			bad[pos] ^= masks[m];
			rc = unseal(rx, &l.t, bad, len, out, &olen);
			ck_assert_msg(rc == expect_for(_i, pos),
				      "pos %d mask %x: %d", pos, masks[m], rc);
		}
	}
	for (cut = 0; cut < (size_t)len; cut++)
		ck_assert_int_lt(unseal(rx, &l.t, pkt, (int)cut, out, &olen),
				 0);
	/* Nothing above confirmed, established or consumed anything. */
	ck_assert_uint_eq(tc_session_handshakes(l.i), _i == TK_DATA);
	ck_assert_uint_eq(tc_session_handshakes(l.r), 0);
	ck_assert(!tc_session_can_send(l.r, &l.t));
	rc = unseal(rx, &l.t, pkt, len, out, &olen);
	ck_assert_int_eq(rc, _i == TK_INIT   ? TC_RX_REPLY
			     : _i == TK_RESP ? TC_RX_ESTABLISHED
					     : TC_RX_DATA);
	if (_i == TK_DATA)
		ck_assert(tc_session_can_send(l.r, &l.t));
	link_free(&l);
}
END_TEST

/* Replay window rows: a sequence of counters and whether each is fresh. */
#define W ((uint64_t)TC_REPLAY_WINDOW)
struct rstep {
	uint64_t c;
	bool ok;
};
struct rrow {
	const char *name;
	struct rstep steps[12];
	size_t n;
};

static const struct rrow rrows[] = {
    {"zero", {{0, true}, {0, false}, {1, true}, {0, false}}, 4},
    {"edges",
     {{10000, true},
      {10000, false},
      {10001, true},
      {10000, false},
      {9999, true},
      /* top = 10002: top-WINDOW is the oldest tracked */
      {10002 - W, true},
      {10002 - W, false},
      {10002 - W - 1, false},
      {10002 - W + 1, true}},
     9},
    {"reorder",
     {{5, true},
      {3, true},
      {4, true},
      {1, true},
      {3, false},
      {2, true},
      {0, true},
      {5, false},
      {6, true},
      {2, false}},
     10},
    {"jump window",
     {{100, true},
      {100 + W, true},
      {100, false},
      {101, true},
      {100 + W - 1, true},
      {164, true},
      {101, false}},
     7},
    {"jump window-1",
     {{100, true}, {99 + W, true}, {100, false}, {99, false}, {101, true}},
     5},
    {"far jump",
     {{7, true},
      {9, true},
      {7 + 5 * W, true},
      {9 + 4 * W, true},
      {9 + 4 * W, false},
      {8 + 4 * W, true},
      {7 + 4 * W, false},
      {7, false},
      {7 + 5 * W - 1, true}},
     9},
    {"big jump",
     {{1, true},
      {UINT64_MAX / 2, true},
      {1, false},
      {UINT64_MAX / 2 - 1, true}},
     4},
    {"max",
     {{UINT64_MAX, false},
      {UINT64_MAX - 1, true},
      {UINT64_MAX - 1, false},
      {UINT64_MAX - W, true},
      {UINT64_MAX - W - 1, false}},
     5},
};

START_TEST(test_replay_rows)
{
	const struct rrow *row = &rrows[_i];
	struct tc_replay r, before;
	size_t k;

	tc_replay_init(&r);
	for (k = 0; k < row->n; k++) {
		const struct rstep *st = &row->steps[k];

		before = r;
		ck_assert_msg(tc_replay_check(&r, st->c) == st->ok,
			      "%s step %zu: check", row->name, k);
		ck_assert(memcmp(&before, &r, sizeof(r)) == 0);
		ck_assert_msg(tc_replay_update(&r, st->c) == st->ok,
			      "%s step %zu: update", row->name, k);
		if (!st->ok)
			ck_assert(memcmp(&before, &r, sizeof(r)) == 0);
	}
}
END_TEST

/* The bitmap agrees with a naive set over long random runs. */
START_TEST(test_replay_model)
{
	GRand *rnd = g_rand_new_with_seed(1234 + _i);
	GHashTable *seen = g_hash_table_new(g_int64_hash, g_int64_equal);
	struct tc_replay r;
	uint64_t top = 0;
	gint64 *keys = g_new(gint64, 40000);
	int n;

	tc_replay_init(&r);
	for (n = 0; n < 40000; n++) {
		uint64_t c,
		    span = g_rand_int_range(rnd, 0, 10) == 0 ? 3 * W : W + 200;
		bool want, got;

		c = top + (uint64_t)g_rand_int_range(rnd, 0, (gint32)span);
		c = c > W + 100 ? c - W - 100 : c;
		if (g_rand_int_range(rnd, 0, 50) == 0)
			c = top + (uint64_t)g_rand_int_range(rnd, 0, 4) * W;
		want = c >= top ||
		       (top - c <= W && !g_hash_table_contains(seen, &c));
		got = tc_replay_update(&r, c);
		ck_assert_msg(got == want, "step %d counter %" G_GUINT64_FORMAT,
			      n, c);
		if (got) {
			keys[n] = (gint64)c;
			g_hash_table_add(seen, &keys[n]);
			top = c >= top ? c + 1 : top;
		}
	}
	g_hash_table_destroy(seen);
	g_free(keys);
	g_rand_free(rnd);
}
END_TEST

/* Packets reordered within the window are accepted once each; one that
 * falls out of the window is refused. */
START_TEST(test_session_reorder)
{
	enum { N = 64 };
	static uint8_t pkts[N][BUF];
	int lens[N], k, order[N];
	uint8_t out[BUF], pkt[BUF];
	struct link l;
	size_t olen;

	link_new(&l, NULL, NULL);
	handshake(&l);
	for (k = 0; k < N; k++) {
		lens[k] = seal(l.i, &l.t, "ab", pkts[k]);
		order[k] = (k * 37) % N; /* 37 is coprime to 64 */
	}
	for (k = 0; k < N; k++)
		ck_assert_int_eq(unseal(l.r, &l.t, pkts[order[k]],
					lens[order[k]], out, &olen),
				 TC_RX_DATA);
	for (k = 0; k < N; k++)
		ck_assert_int_eq(
		    unseal(l.r, &l.t, pkts[k], lens[k], out, &olen), -EALREADY);
	/* Push the window past the first packets: counters 1 .. N were
	 * used (0 was the keepalive); send up to counter N + W. */
	for (k = 0; k < (int)W; k++)
		ck_assert_int_gt(seal(l.i, &l.t, "", pkt), 0);
	ck_assert_int_eq(unseal(l.r, &l.t, pkt, TC_DATA_OVERHEAD, out, &olen),
			 TC_RX_DATA);
	/* top is now N + W + 1, so the first packet (counter 1) lies
	 * N + W behind it: too old. */
	ck_assert_int_eq(unseal(l.r, &l.t, pkts[0], lens[0], out, &olen),
			 -EALREADY);
	link_free(&l);
}
END_TEST

/* Second handshake: the old keypair still carries in-flight packets as
 * "previous"; the third handshake wipes it. */
START_TEST(test_rekey)
{
	uint8_t a1[BUF], a2[BUF], a3[BUF], b1[BUF], b2[BUF], out[BUF];
	uint8_t init[TC_INIT_LEN], resp[TC_RESP_LEN];
	int la1, la2, la3, lb1, lb2;
	struct link l;
	size_t olen;

	link_new(&l, NULL, NULL);
	handshake(&l);
	la1 = seal(l.i, &l.t, "i on kp1, first", a1);
	la2 = seal(l.i, &l.t, "i on kp1, second", a2);
	la3 = seal(l.i, &l.t, "i on kp1, third", a3);
	lb2 = seal(l.r, &l.t, "r on kp1, early", b2);

	tick(&l, 1000);
	make_init(&l, init);
	answer(&l, init, resp);
	/* Responder: kp2 is unconfirmed, so it still sends on kp1. */
	lb1 = seal(l.r, &l.t, "r on kp1", b1);
	ck_assert_int_gt(lb1, 0);
	ck_assert_int_eq(unseal(l.r, &l.t, a1, la1, out, &olen), TC_RX_DATA);
	establish(&l, resp);
	/* Initiator: kp1 is previous now and still decrypts. */
	ck_assert_int_eq(unseal(l.i, &l.t, b1, lb1, out, &olen), TC_RX_DATA);
	ck_assert_mem_eq(out, "r on kp1", olen);
	xfer(l.i, l.r, &l.t, "on kp2"); /* confirms kp2 */
	ck_assert_uint_eq(tc_session_handshakes(l.r), 2);
	ck_assert_int_eq(unseal(l.r, &l.t, a2, la2, out, &olen), TC_RX_DATA);
	xfer(l.r, l.i, &l.t, "r on kp2");

	tick(&l, 1000);
	handshake(&l);
	ck_assert_uint_eq(tc_session_handshakes(l.i), 3);
	ck_assert_uint_eq(tc_session_handshakes(l.r), 3);
	ck_assert_int_eq(unseal(l.i, &l.t, b2, lb2, out, &olen), -ENOKEY);
	ck_assert_int_eq(unseal(l.r, &l.t, a3, la3, out, &olen), -ENOKEY);
	xfer(l.i, l.r, &l.t, "kp3");
	xfer(l.r, l.i, &l.t, "kp3 back");
	link_free(&l);
}
END_TEST

/* A responder may not send on keys nobody has confirmed. */
START_TEST(test_unconfirmed)
{
	uint8_t init[TC_INIT_LEN], resp[TC_RESP_LEN], pkt[BUF];
	struct link l;

	link_new(&l, NULL, NULL);
	make_init(&l, init);
	answer(&l, init, resp);
	ck_assert(!tc_session_can_send(l.r, &l.t));
	ck_assert_int_eq(seal(l.r, &l.t, "too early", pkt), -ENOKEY);
	establish(&l, resp);
	ck_assert_int_eq(seal(l.r, &l.t, "too early", pkt), -ENOKEY);
	xfer(l.i, l.r, &l.t, "");
	xfer(l.r, l.i, &l.t, "now");
	link_free(&l);
}
END_TEST

START_TEST(test_wants_handshake)
{
	uint8_t init[TC_INIT_LEN], resp[TC_RESP_LEN];
	struct link l;

	link_new(&l, NULL, NULL);
	ck_assert(tc_session_wants_handshake(l.i, &l.t));
	ck_assert(!tc_session_wants_handshake(l.r, &l.t));
	make_init(&l, init);
	ck_assert(!tc_session_wants_handshake(l.i, &l.t));
	tick(&l, TC_REKEY_TIMEOUT_MS - 1);
	ck_assert(!tc_session_wants_handshake(l.i, &l.t));
	tick(&l, 1);
	ck_assert(tc_session_wants_handshake(l.i, &l.t));
	make_init(&l, init); /* the retry */
	answer(&l, init, resp);
	establish(&l, resp);
	ck_assert(!tc_session_wants_handshake(l.i, &l.t));
	tick(&l, TC_REKEY_AFTER_MS - 1);
	ck_assert(!tc_session_wants_handshake(l.i, &l.t));
	tick(&l, 1);
	ck_assert(tc_session_wants_handshake(l.i, &l.t));
	ck_assert(!tc_session_wants_handshake(l.r, &l.t));
	make_init(&l, init);
	ck_assert(!tc_session_wants_handshake(l.i, &l.t));
	link_free(&l);
}
END_TEST

START_TEST(test_expiry)
{
	uint8_t pkt[BUF], late[BUF], out[BUF];
	struct link l;
	size_t olen;
	int len, llen;

	link_new(&l, NULL, NULL);
	handshake(&l);
	llen = seal(l.i, &l.t, "sent late", late);
	tick(&l, TC_REJECT_AFTER_MS - 1);
	ck_assert(tc_session_can_send(l.i, &l.t));
	xfer(l.i, l.r, &l.t, "last call");
	tick(&l, 1);
	ck_assert(!tc_session_can_send(l.i, &l.t));
	ck_assert(!tc_session_can_send(l.r, &l.t));
	ck_assert_int_eq(seal(l.i, &l.t, "x", pkt), -ENOKEY);
	ck_assert_int_eq(unseal(l.r, &l.t, late, llen, out, &olen),
			 -EKEYEXPIRED);

	/* A counter at the message limit is refused before the AEAD. */
	tick(&l, 1);
	handshake(&l);
	len = seal(l.i, &l.t, "x", pkt);
	memset(pkt + 8, 0xff, 8);
	ck_assert_int_eq(unseal(l.r, &l.t, pkt, len, out, &olen), -EKEYEXPIRED);
	link_free(&l);
}
END_TEST

/* Malformed packets, one row each: bytes, who receives, expected result. */
struct mrow {
	const char *name;
	uint8_t bytes[16];
	size_t len;
	bool to_initiator;
	size_t cap;
	int want;
};

static const struct mrow mrows[] = {
    {"empty", {0}, 0, false, BUF, -EBADMSG},
    {"seven bytes", {4, 0, 0, 0, 1, 2, 3}, 7, false, BUF, -EBADMSG},
    {"type 3", {3}, 16, false, BUF, -EBADMSG},
    {"type 0", {0}, 16, false, BUF, -EBADMSG},
    {"reserved set", {4, 0, 1, 0}, 16, false, BUF, -EBADMSG},
    {"short init", {1}, 16, false, BUF, -EBADMSG},
    {"short resp", {2}, 16, true, BUF, -EBADMSG},
    {"data header only", {4}, 16, false, BUF, -EBADMSG},
};

START_TEST(test_malformed)
{
	const struct mrow *row = &mrows[_i];
	uint8_t out[BUF];
	struct link l;
	size_t olen = 5;

	link_new(&l, NULL, NULL);
	ck_assert_msg(tc_session_receive(row->to_initiator ? l.i : l.r, &l.t,
					 row->bytes, row->len, out, row->cap,
					 &olen) == row->want,
		      "%s", row->name);
	ck_assert_uint_eq(olen, 5);
	link_free(&l);
}
END_TEST

/* Right-length packets at the wrong place, or without room for output. */
START_TEST(test_misdirected)
{
	uint8_t init[TC_INIT_LEN], resp[TC_RESP_LEN], pkt[BUF], out[BUF];
	struct link l;
	size_t olen;
	int len;

	link_new(&l, NULL, NULL);
	make_init(&l, init);
	ck_assert_int_eq(
	    tc_session_receive(l.i, &l.t, init, sizeof(init), out, BUF, &olen),
	    -EBADMSG);
	ck_assert_int_eq(tc_session_receive(l.r, &l.t, init, sizeof(init), out,
					    TC_RESP_LEN - 1, &olen),
			 -ENOSPC);
	answer(&l, init, resp);
	ck_assert_int_eq(
	    tc_session_receive(l.r, &l.t, resp, sizeof(resp), out, BUF, &olen),
	    -EBADMSG);
	establish(&l, resp);
	/* A second copy of the RESP: its handshake is gone. */
	ck_assert_int_eq(
	    tc_session_receive(l.i, &l.t, resp, sizeof(resp), out, BUF, &olen),
	    -ENOKEY);
	len = seal(l.i, &l.t, "four", pkt);
	ck_assert_int_eq(tc_session_receive(l.r, &l.t, pkt, len, out, 3, &olen),
			 -ENOSPC);
	ck_assert_int_eq(tc_session_receive(l.r, &l.t, pkt, len, out, 4, &olen),
			 TC_RX_DATA);
	ck_assert_int_eq(tc_session_encrypt(l.r, &l.t, out, 4, pkt,
					    4 + TC_DATA_OVERHEAD - 1),
			 -ENOSPC);
	ck_assert_int_eq(
	    tc_session_receive(l.i, &l.t, pkt, len, out, BUF, &olen), -ENOKEY);
	link_free(&l);
}
END_TEST

extern Suite *suite_session(void);

Suite *suite_session(void)
{
	Suite *s = suite_create("session");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_handshake_data);
	tcase_add_test(tc, test_hold);
	tcase_add_test(tc, test_wrong_pin);
	tcase_add_test(tc, test_wrong_psk);
	tcase_add_test(tc, test_replayed_init);
	tcase_add_loop_test(tc, test_tamper, 0, TK_COUNT);
	tcase_add_loop_test(tc, test_replay_rows, 0, G_N_ELEMENTS(rrows));
	tcase_add_loop_test(tc, test_replay_model, 0, 4);
	tcase_add_test(tc, test_session_reorder);
	tcase_add_test(tc, test_rekey);
	tcase_add_test(tc, test_unconfirmed);
	tcase_add_test(tc, test_wants_handshake);
	tcase_add_test(tc, test_expiry);
	tcase_add_loop_test(tc, test_malformed, 0, G_N_ELEMENTS(mrows));
	tcase_add_test(tc, test_misdirected);
	suite_add_tcase(s, tc);
	return s;
}
