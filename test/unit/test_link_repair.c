/*
 * A link repairing itself, end to end inside one process: two tc_link
 * objects run real ICE over 127.0.0.1 while a stand-in controller carries
 * every local_candidates event to the other side (as the real one does
 * over XMPP).  One side's link is then replaced by a new one (its tincan
 * restarted: same identity, new ICE credentials, no keys): the other side
 * must take the new credentials as an ICE restart of the peer, restart its
 * own side on a second stream, move onto it and carry frames again, still
 * the same link object.  Run with the controlling side restarting and with
 * the controlled one, each at once and after the kept side noticed the
 * silence and restarted ICE by itself.
 */
#include <check.h>
#include <string.h>

#include <glib.h>
#include <sodium.h>

#include "tincan/env.h"
#include "tincan/identity.h"
#include "tincan/link.h"

struct side {
	struct tc_identity *id;
	struct tc_ice_config ice;
	struct tc_env env;
	struct tc_link *link;
	struct side *peer;
	bool carry; /* the stand-in controller forwards our candidates */
	enum tc_link_state state;
	unsigned frames, events;
};

static bool no_tap(void *node, const char *ifname)
{
	(void)node;
	(void)ifname;
	return false;
}

/* The stand-in controller: our new candidates go to the peer's link. */
static void emit(void *node, const struct tc_event *ev)
{
	struct side *s = node;

	if (ev->kind != TC_EVENT_LOCAL_CANDIDATES)
		return;
	s->events++;
	if (s->carry && s->peer->link)
		ck_assert_int_eq(tc_link_add_remote(s->peer->link, ev->u.local),
				 0);
}

static void on_frame(void *owner, struct tc_link *l, uint8_t *frame, size_t len,
		     const struct tc_csum *cs)
{
	struct side *s = owner;

	(void)l;
	(void)frame;
	(void)len;
	(void)cs;
	s->frames++;
}

static void on_state(void *owner, struct tc_link *l, enum tc_link_state st)
{
	struct side *s = owner;

	(void)l;
	s->state = st;
}

static const struct tc_link_ops ops = {.on_frame = on_frame,
				       .on_state = on_state};

static void side_init(struct side *s, struct side *peer)
{
	memset(s, 0, sizeof(*s));
	s->id = tc_identity_generate();
	ck_assert_ptr_nonnull(s->id);
	s->peer = peer;
	s->env.ctx = g_main_context_default();
	s->env.id = s->id;
	s->env.ice = &s->ice;
	s->env.is_own_tap = no_tap;
	s->env.emit = emit;
	s->env.allow_loopback = true;
	s->env.node = s;
}

static void make_link(struct side *s)
{
	s->link = tc_link_new(&s->env, "ov", s->peer->id->uid, s->peer->id->pub,
			      NULL, &ops, s);
	ck_assert_ptr_nonnull(s->link);
	s->state = TC_LINK_GATHERING;
}

static bool run_until(bool (*cond)(struct side *, struct side *),
		      struct side *a, struct side *b, int ms)
{
	gint64 end = g_get_monotonic_time() + ms * 1000;

	while (!cond(a, b) && g_get_monotonic_time() < end)
		if (!g_main_context_iteration(NULL, FALSE))
			g_usleep(1000);
	return cond(a, b);
}

static bool both_connected(struct side *a, struct side *b)
{
	return a->state == TC_LINK_CONNECTED && b->state == TC_LINK_CONNECTED;
}

/* The kept side (first) restarted by itself: new candidates announced
 * while its peer's link is gone. */
static bool restarted_alone(struct side *kept, struct side *gone)
{
	struct tc_link_info info;

	(void)gone;
	tc_link_get_info(kept->link, &info);
	return info.repair.restarts > 0 && tc_link_local(kept->link);
}

static bool both_got(struct side *a, struct side *b)
{
	return a->frames > 0 && b->frames > 0;
}

/* Frames both ways, until each side got one (or 3 s). */
static bool exchange(struct side *a, struct side *b)
{
	uint8_t frame[200];
	gint64 end = g_get_monotonic_time() + 3 * G_USEC_PER_SEC;

	a->frames = b->frames = 0;
	randombytes_buf(frame, sizeof(frame));
	while (!both_got(a, b) && g_get_monotonic_time() < end) {
		tc_link_send_frame(a->link, frame, sizeof(frame), NULL);
		tc_link_flush(a->link);
		tc_link_send_frame(b->link, frame, sizeof(frame), NULL);
		tc_link_flush(b->link);
		run_until(both_got, a, b, 50);
	}
	return both_got(a, b);
}

START_TEST(test_peer_restart_is_an_ice_restart)
{
	struct side a, b, *kept, *restarted;
	struct tc_link *before;
	struct tc_link_info info;

	side_init(&a, &b);
	side_init(&b, &a);
	make_link(&a);
	make_link(&b);
	a.carry = b.carry = true;
	/* Candidates of a link gathered before the other existed. */
	while (!tc_link_local(a.link) || !tc_link_local(b.link))
		g_main_context_iteration(NULL, TRUE);
	ck_assert_int_eq(tc_link_add_remote(a.link, tc_link_local(b.link)), 0);
	ck_assert_int_eq(tc_link_add_remote(b.link, tc_link_local(a.link)), 0);
	ck_assert_msg(run_until(both_connected, &a, &b, 5000),
		      "no first connection: %d %d", a.state, b.state);
	ck_assert(exchange(&a, &b));

	/* _i 0, 2: the controlling side's tincan restarts; 1, 3: the other.
	 * 2, 3: the new one comes only after the kept side noticed the
	 * silence and restarted by itself. */
	tc_link_get_info(a.link, &info);
	kept = (info.controlling == (_i % 2 == 1)) ? &a : &b;
	restarted = kept == &a ? &b : &a;
	before = kept->link;
	restarted->carry = false; /* a new link is not told of the old */
	tc_link_free(restarted->link);
	restarted->link = NULL;
	if (_i >= 2) {
		unsigned ev = kept->events;

		ck_assert(run_until(restarted_alone, kept, restarted,
				    TC_LINK_DEAD_MS + 1000));
		ck_assert_uint_gt(kept->events, ev);
	}
	make_link(restarted);
	while (!tc_link_local(restarted->link))
		g_main_context_iteration(NULL, TRUE);
	/* The controller gives the new link the peer's candidates as it
	 * knows them, and the peer the new ones: a new ufrag. */
	restarted->carry = true;
	ck_assert_int_eq(
	    tc_link_add_remote(kept->link, tc_link_local(restarted->link)), 0);
	ck_assert_msg(run_until(both_connected, &a, &b, 8000),
		      "not connected again: %d %d", a.state, b.state);
	ck_assert_msg(exchange(&a, &b), "no frames after the restart");
	ck_assert_ptr_eq(kept->link, before);
	tc_link_get_info(kept->link, &info);
	ck_assert_uint_eq(info.repair.restarts + info.repair.peer_restarts, 1);
	ck_assert_uint_eq(info.repair.restarts, _i >= 2 ? 1 : 0);
	ck_assert_uint_eq(info.repair.recoveries, _i >= 2 ? 1 : 0);
	ck_assert_uint_ge(info.handshakes, 2);
	/* The kept side announced its restarted credentials. */
	ck_assert_uint_ge(kept->events, 2);
	tc_link_free(a.link);
	tc_link_free(b.link);
	tc_identity_free(a.id);
	tc_identity_free(b.id);
}
END_TEST

extern Suite *suite_link_repair(void);

Suite *suite_link_repair(void)
{
	Suite *s = suite_create("link_repair");
	TCase *tc = tcase_create("loopback");

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_peer_restart_is_an_ice_restart, 0, 4);
	suite_add_tcase(s, tc);
	return s;
}
