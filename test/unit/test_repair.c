/*
 * Tests of the self-repair timing and decisions: common/backoff.c (capped,
 * jittered exponential backoff), the controller's XMPP reconnect schedule,
 * tincan/repair.c (probe intervals by silence, what a new remote ufrag
 * means, when a restarted ICE stream takes over) and the membership
 * engine's side: a failed link is left to tincan rather than remade at
 * once, and links still connecting send their candidates again as soon as
 * XMPP is back.
 */
#include <check.h>
#include <stdint.h>

#include <glib.h>

#include "common/backoff.h"
#include "controller/gvpn.h"
#include "controller/xmpp.h"
#include "tincan/repair.h"
#include "test/unit/fake_member.h"

/* attempt -> the delay without jitter (rnd 0) and with the most (~0). */
static const struct {
	uint32_t first, max;
	unsigned attempt;
	uint32_t lo, hi;
} backoffs[] = {
    {100, 1000, 0, 75, 100},	{100, 1000, 1, 150, 200},
    {100, 1000, 3, 600, 800},	{100, 1000, 4, 750, 1000},
    {100, 1000, 60, 750, 1000}, {100, 1000, 4000, 750, 1000},
    {0, 1000, 5, 0, 0},		{5000, 1000, 0, 750, 1000},
    {1, UINT32_MAX, 40, 0, 0}, /* capped at 2^32-1: checked below */
};

START_TEST(test_backoff_table)
{
	uint32_t a = ipop_backoff_ms(backoffs[_i].first, backoffs[_i].max,
				     backoffs[_i].attempt, UINT32_MAX);
	uint32_t b = ipop_backoff_ms(backoffs[_i].first, backoffs[_i].max,
				     backoffs[_i].attempt, 0);

	if (backoffs[_i].max == UINT32_MAX) {
		/* No overflow: the doubling stops at the cap. */
		ck_assert_uint_eq(b, UINT32_MAX);
		ck_assert_uint_ge(a, UINT32_MAX / 4 * 3);
		return;
	}
	ck_assert_uint_eq(b, backoffs[_i].hi);
	ck_assert_uint_ge(a, backoffs[_i].lo);
	ck_assert_uint_le(a, b);
}
END_TEST

/* Random draws stay inside [3/4, 1] of the undithered delay and spread. */
START_TEST(test_backoff_jitter_spreads)
{
	uint32_t lo = UINT32_MAX, hi = 0, d;
	GRand *r = g_rand_new_with_seed(7);
	int i;

	for (i = 0; i < 2000; i++) {
		d = ipop_backoff_ms(1000, 30000, 2, g_rand_int(r));
		ck_assert_uint_ge(d, 3000);
		ck_assert_uint_le(d, 4000);
		lo = MIN(lo, d);
		hi = MAX(hi, d);
	}
	ck_assert_uint_lt(lo, 3100);
	ck_assert_uint_gt(hi, 3900);
	g_rand_free(r);
}
END_TEST

/* The first reconnect is immediate; the schedule stays under
 * CTL_XMPP_RETRY_FAST_MAX_MS while the outage is young (a server restart
 * is found within that), and only then grows to CTL_XMPP_BACKOFF_MAX_MS. */
START_TEST(test_xmpp_retry_schedule)
{
	uint64_t offline = 0;
	unsigned n;
	uint32_t d;

	ck_assert_uint_eq(ctl_xmpp_retry_ms(0, 0, 12345), 0);
	ck_assert_uint_le(ctl_xmpp_retry_ms(1, 0, 0), CTL_XMPP_RETRY_FIRST_MS);
	for (n = 1; offline < CTL_XMPP_RETRY_FAST_FOR_MS; n++) {
		d = ctl_xmpp_retry_ms(n, offline, g_random_int());
		ck_assert_uint_gt(d, 0);
		ck_assert_uint_le(d, CTL_XMPP_RETRY_FAST_MAX_MS);
		offline += d;
	}
	/* A 20 s outage costs about 20 attempts, not hundreds. */
	ck_assert_uint_lt(n, CTL_XMPP_RETRY_FAST_FOR_MS / 1000 + 10);
	d = ctl_xmpp_retry_ms(40, CTL_XMPP_RETRY_FAST_FOR_MS, 0);
	ck_assert_uint_eq(d, CTL_XMPP_BACKOFF_MAX_MS);
	ck_assert_uint_ge(
	    ctl_xmpp_retry_ms(40, CTL_XMPP_RETRY_FAST_FOR_MS, UINT32_MAX),
	    CTL_XMPP_BACKOFF_MAX_MS / 4 * 3);
}
END_TEST

/* A ping is waited for while the path works (the server's host
 * acknowledges our bytes, or the server sent after the ping within the
 * last period) and the server is not hung (it sent something within the
 * patience); a path that acknowledges nothing and sends nothing ends the
 * session after one period. */
START_TEST(test_xmpp_ping_wait)
{
	const gint64 s = 10 * G_USEC_PER_SEC, ms = 1000;
	const gint64 period = CTL_XMPP_PING_TIMEOUT_MS * ms;
	const gint64 patience = CTL_XMPP_PING_PATIENCE_MS * ms;

	/* A NAT lost the session: nothing acknowledged, nothing read. */
	ck_assert(!ctl_xmpp_ping_wait(s, 0, s + period, false));
	ck_assert(!ctl_xmpp_ping_wait(s, s - ms, s + period, false));
	/* A busy server: its kernel acknowledges, or it still sends. */
	ck_assert(ctl_xmpp_ping_wait(s, 0, s + period, true));
	ck_assert(ctl_xmpp_ping_wait(s, s + 300 * ms, s + period, false));
	ck_assert(
	    ctl_xmpp_ping_wait(s, s + 5 * period, s + 6 * period - ms, false));
	/* It sent once, then went quiet for a whole period. */
	ck_assert(!ctl_xmpp_ping_wait(s, s + ms, s + period + ms, false));
	/* Nothing from the server for the whole patience: it hangs. */
	ck_assert(ctl_xmpp_ping_wait(s, 0, s + patience - ms, true));
	ck_assert(!ctl_xmpp_ping_wait(s, 0, s + patience, true));
	ck_assert(!ctl_xmpp_ping_wait(s, s + ms, s + ms + patience, true));
	/* One that keeps sending is only slow, however long the backlog. */
	ck_assert(ctl_xmpp_ping_wait(s, s + patience, s + patience + ms, true));
	ck_assert(ctl_xmpp_ping_wait(s, s + 3 * patience, s + 3 * patience + ms,
				     false));
}
END_TEST

START_TEST(test_probe_intervals)
{
	ck_assert_uint_eq(tc_repair_probe_ms(0, false), TC_REPAIR_PROBE_MS);
	ck_assert_uint_eq(tc_repair_probe_ms(TC_REPAIR_SUSPECT_MS - 1, false),
			  TC_REPAIR_PROBE_MS);
	ck_assert_uint_eq(tc_repair_probe_ms(TC_REPAIR_SUSPECT_MS, false),
			  TC_REPAIR_BURST_MS);
	ck_assert_uint_eq(tc_repair_probe_ms(TC_REPAIR_BURST_FOR_MS - 1, false),
			  TC_REPAIR_BURST_MS);
	ck_assert_uint_eq(tc_repair_probe_ms(TC_REPAIR_BURST_FOR_MS, false),
			  TC_REPAIR_IDLE_PROBE_MS);
	/* Frames going out unanswered: the bursts start sooner. */
	ck_assert_uint_eq(tc_repair_probe_ms(TC_REPAIR_QUICK_MS - 1, true),
			  TC_REPAIR_PROBE_MS);
	ck_assert_uint_eq(tc_repair_probe_ms(TC_REPAIR_QUICK_MS, true),
			  TC_REPAIR_BURST_MS);
	ck_assert_uint_eq(tc_repair_probe_ms(TC_REPAIR_BURST_FOR_MS, true),
			  TC_REPAIR_IDLE_PROBE_MS);
	/* The order the design relies on: a silence is suspected before the
	 * link is declared dead, within 3 s; an idle link (one probe reply a
	 * second) is not suspected between two replies; a busy one is after
	 * a few unanswered burst probes. */
	ck_assert(!tc_repair_is_silent(TC_REPAIR_PROBE_MS + 300, false));
	ck_assert(tc_repair_is_silent(TC_REPAIR_SUSPECT_MS, false));
	ck_assert(!tc_repair_is_silent(TC_REPAIR_QUICK_MS, true));
	ck_assert(tc_repair_is_silent(TC_REPAIR_BUSY_SUSPECT_MS, true));
	/* Busy: frames out since the last packet in, on a fast path. */
	ck_assert(!tc_repair_busy(0, 1000));
	ck_assert(tc_repair_busy(1, 0));
	ck_assert(tc_repair_busy(50, TC_REPAIR_BUSY_MAX_RTT_US - 1));
	ck_assert(!tc_repair_busy(50, TC_REPAIR_BUSY_MAX_RTT_US));
	/* A burst probe sent at TC_REPAIR_QUICK_MS is back before the busy
	 * threshold on any path counted busy. */
	ck_assert_uint_ge(TC_REPAIR_BUSY_SUSPECT_MS,
			  TC_REPAIR_QUICK_MS + TC_REPAIR_BURST_MS +
			      TC_REPAIR_BUSY_MAX_RTT_US / 1000);
	ck_assert_uint_ge(TC_REPAIR_BUSY_SUSPECT_MS,
			  TC_REPAIR_QUICK_MS + 2 * TC_REPAIR_BURST_MS);
	ck_assert_uint_lt(TC_REPAIR_SUSPECT_MS, TC_REPAIR_DEAD_MS);
	ck_assert_uint_le(TC_REPAIR_DEAD_MS, 3000);
	ck_assert_uint_le(TC_REPAIR_BURST_MS, 250);
}
END_TEST

/* What a remote ufrag means: controlling, current, has_next, next_remote,
 * fresh, ufrag -> decision. */
static const struct {
	bool controlling;
	const char *current;
	bool has_next;
	const char *next;
	bool fresh;
	const char *ufrag;
	enum tc_repair_remote want;
} remotes[] = {
    {false, NULL, false, NULL, true, "A1", TC_REMOTE_SET_CURRENT},
    {true, NULL, false, NULL, true, "A1", TC_REMOTE_SET_CURRENT},
    {false, "A1", false, NULL, false, "A1", TC_REMOTE_CURRENT},
    {true, "A1", true, "A2", false, "A1", TC_REMOTE_CURRENT},
    /* the peer restarted: restart our side */
    {false, "A1", false, NULL, false, "A2", TC_REMOTE_RESTART},
    {true, "A1", false, NULL, false, "A2", TC_REMOTE_RESTART},
    /* the answer to our restart binds the next stream */
    {true, "A1", true, NULL, false, "A2", TC_REMOTE_SET_NEXT},
    {false, "A1", true, NULL, false, "A2", TC_REMOTE_SET_NEXT},
    {true, "A1", true, "A2", false, "A2", TC_REMOTE_NEXT},
    /* a newer one while the next is bound: the controlled side restarts
     * again, the controlling side rebinds (never a restart of its own,
     * which would answer an answer for ever) */
    {false, "A1", true, "A2", false, "A3", TC_REMOTE_RESTART},
    {true, "A1", true, "A2", false, "A3", TC_REMOTE_SET_NEXT},
    /* a link that never had a path (the peer's first link was remade
     * before either connected) rebinds its current stream, its own
     * ufrag unchanged: either role */
    {false, "A1", false, NULL, true, "A2", TC_REMOTE_REBIND},
    {true, "A1", false, NULL, true, "A2", TC_REMOTE_REBIND},
    {true, "A1", false, NULL, true, "A1", TC_REMOTE_CURRENT},
    /* our restart answered by a peer that rebound its stream: its
     * ufrag is the one we have, and binds our next stream */
    {true, "A1", true, NULL, false, "A1", TC_REMOTE_SET_NEXT},
    {false, "A1", true, NULL, false, "A1", TC_REMOTE_SET_NEXT},
};

START_TEST(test_remote_classify)
{
	struct tc_repair_streams s = {
	    .controlling = remotes[_i].controlling,
	    .current_remote = remotes[_i].current,
	    .has_next = remotes[_i].has_next,
	    .next_remote = remotes[_i].next,
	    .fresh = remotes[_i].fresh,
	};

	ck_assert_int_eq(tc_repair_classify(&s, remotes[_i].ufrag),
			 remotes[_i].want);
}
END_TEST

/* Two sides restarting and answering by the rules settle: simulate the
 * exchange of ufrags (each restart makes a fresh one) and count. */
START_TEST(test_restarts_settle)
{
	/* side 0 controlling, 1 controlled; each holds its local ufrag and
	 * the remote it is bound to. */
	int local[2] = {1, 101}, cur[2] = {101, 1}, next_local[2] = {0, 0};
	int next_remote[2] = {0, 0}, fresh = 200, rounds = 0, inbox[2];
	char a[16], b[16], c[16];

	if (_i == 0) {
		/* Side 0 restarts; side 1's tincan also restarted (a new
		 * link whose first remote was side 0's old ufrag). */
		next_local[0] = ++fresh;
		local[1] = ++fresh;
		cur[1] = 1;
		inbox[1] = next_local[0]; /* side 0's restart reaches 1 */
		inbox[0] = local[1];	  /* side 1's new link reaches 0 */
	} else {
		/* Both sides noticed the silence and restarted at once. */
		next_local[0] = ++fresh;
		next_local[1] = ++fresh;
		inbox[1] = next_local[0];
		inbox[0] = next_local[1];
	}
	while ((inbox[0] || inbox[1]) && rounds++ < 20) {
		for (int i = 0; i < 2; i++) {
			struct tc_repair_streams s = {
			    .controlling = i == 0,
			    .current_remote = a,
			    .has_next = next_local[i] != 0,
			    .next_remote = next_remote[i] ? b : NULL,
			};
			int u = inbox[i];

			if (!u)
				continue;
			inbox[i] = 0;
			g_snprintf(a, sizeof(a), "%d", cur[i]);
			g_snprintf(b, sizeof(b), "%d", next_remote[i]);
			g_snprintf(c, sizeof(c), "%d", u);
			switch (tc_repair_classify(&s, c)) {
			case TC_REMOTE_RESTART:
				next_local[i] = ++fresh;
				next_remote[i] = u;
				inbox[1 - i] = next_local[i];
				break;
			case TC_REMOTE_SET_NEXT:
				next_remote[i] = u;
				break;
			default:
				break;
			}
		}
	}
	ck_assert_int_lt(rounds, 20);
	/* Both next streams are bound to each other. */
	ck_assert_int_eq(next_remote[0], next_local[1]);
	ck_assert_int_eq(next_remote[1], next_local[0]);
}
END_TEST

/* One end of a link in the simulation below: ufrags are numbers (0:
 * none), each restart makes a new one. */
struct sim_end {
	bool controlling, fresh;
	int cur_local, cur_remote, next_local, next_remote;
	int inbox[4]; /* ufrags the controller carries to this end */
	unsigned n_in;
};

static int sim_fresh_ufrag = 500;

static void sim_send(struct sim_end *to, int ufrag)
{
	ck_assert_uint_lt(to->n_in, G_N_ELEMENTS(to->inbox));
	to->inbox[to->n_in++] = ufrag;
}

/* The next stream takes over: the controlling end as soon as it is
 * bound (its checks succeed at once here), the controlled one when the
 * peer's current stream is the one bound to it (the peer speaks on it). */
static void sim_promote(struct sim_end *e, const struct sim_end *peer)
{
	if (!e->next_local || !e->next_remote)
		return;
	if (!e->controlling && (peer->cur_local != e->next_remote ||
				peer->cur_remote != e->next_local))
		return;
	e->cur_local = e->next_local;
	e->cur_remote = e->next_remote;
	e->next_local = e->next_remote = 0;
	e->fresh = false;
}

static void sim_receive(struct sim_end *e, struct sim_end *peer, int u)
{
	char cur[16], next[16], c[16];
	struct tc_repair_streams s = {
	    .controlling = e->controlling,
	    .current_remote = e->cur_remote ? cur : NULL,
	    .has_next = e->next_local != 0,
	    .next_remote = e->next_remote ? next : NULL,
	    .fresh = e->fresh,
	};

	g_snprintf(cur, sizeof(cur), "%d", e->cur_remote);
	g_snprintf(next, sizeof(next), "%d", e->next_remote);
	g_snprintf(c, sizeof(c), "%d", u);
	switch (tc_repair_classify(&s, c)) {
	case TC_REMOTE_SET_CURRENT:
		e->cur_remote = u;
		break;
	case TC_REMOTE_REBIND:
		e->cur_remote = u;
		sim_send(peer, e->cur_local); /* the answer, unchanged */
		break;
	case TC_REMOTE_RESTART:
		e->next_local = ++sim_fresh_ufrag;
		e->next_remote = u;
		sim_send(peer, e->next_local);
		break;
	case TC_REMOTE_SET_NEXT:
		e->next_remote = u;
		break;
	default:
		break;
	}
}

/* Two new links made at start-up, each end first told of the other's
 * first link (removed and remade a moment later when the topology
 * changed), then of the new one: before fresh links rebound instead of
 * restarting, each restart answered the other's (the controlling end
 * moving onto each new stream at once) for ever.  _i: which end's new
 * ufrag arrives first. */
START_TEST(test_remade_links_settle)
{
	struct sim_end end[2] = {
	    {.controlling = true, .fresh = true, .cur_local = 2},
	    {.controlling = false, .fresh = true, .cur_local = 102},
	};
	unsigned rounds = 0, i, k, n;

	end[0].cur_remote = 101; /* the peer's first link, gone */
	end[1].cur_remote = 1;
	sim_send(&end[_i], end[1 - _i].cur_local);
	sim_send(&end[1 - _i], end[_i].cur_local);
	while ((end[0].n_in || end[1].n_in) && rounds++ < 20)
		for (i = 0; i < 2; i++) {
			n = end[i].n_in;
			end[i].n_in = 0;
			for (k = 0; k < n; k++)
				sim_receive(&end[i], &end[1 - i],
					    end[i].inbox[k]);
			sim_promote(&end[i], &end[1 - i]);
		}
	ck_assert_uint_lt(rounds, 20);
	/* No restart at all: the current streams are bound to each other. */
	ck_assert_int_eq(end[0].cur_remote, end[1].cur_local);
	ck_assert_int_eq(end[1].cur_remote, end[0].cur_local);
	ck_assert_int_eq(end[0].next_local + end[1].next_local, 0);
	ck_assert_int_eq(end[0].cur_local, 2);
	ck_assert_int_eq(end[1].cur_local, 102);
}
END_TEST

/* A link restarts after it moved onto a stream the peer's fresh link (its
 * tincan restarted) never completed: the peer rebinds to the restart and
 * answers with its unchanged ufrag, which is the one our current stream
 * holds.  Before that bound our next stream, the restart never got an
 * answer and every later one was given up (faults.sh, tincan SIGKILL). */
START_TEST(test_restart_answered_by_rebind)
{
	struct sim_end end[2] = {
	    {.controlling = _i == 0,
	     .cur_local = 3,
	     .cur_remote = 102,
	     .next_local = 4},
	    {.controlling = _i != 0,
	     .fresh = true,
	     .cur_local = 102,
	     .cur_remote = 3},
	};
	unsigned rounds = 0, i, k, n;

	sim_send(&end[1], 4);
	while ((end[0].n_in || end[1].n_in) && rounds++ < 20)
		for (i = 0; i < 2; i++) {
			n = end[i].n_in;
			end[i].n_in = 0;
			for (k = 0; k < n; k++)
				sim_receive(&end[i], &end[1 - i],
					    end[i].inbox[k]);
			sim_promote(&end[i], &end[1 - i]);
		}
	ck_assert_uint_lt(rounds, 20);
	ck_assert_int_eq(end[1].cur_remote, 4);
	ck_assert_int_eq(end[1].cur_local, 102);
	/* Our next stream, bound to the peer's, took over. */
	ck_assert_int_eq(end[0].cur_local, 4);
	ck_assert_int_eq(end[0].cur_remote, 102);
}
END_TEST

/* When the controlling side's next stream takes over: new_relayed,
 * old_relayed, silent, deaf -> promote. */
static const struct {
	struct tc_repair_paths p;
	bool want;
} promotions[] = {
    /* the old path broken either way: anything that works */
    {{true, false, true, false}, true},
    {{false, false, true, false}, true},
    {{true, true, true, false}, true},
    {{false, false, false, true}, true},
    {{true, false, false, true}, true},
    /* the old path works: only the way back from a relay */
    {{false, true, false, false}, true},
    {{true, true, false, false}, false},
    {{true, false, false, false}, false},
    /* a direct path that works is kept for another direct one (the
     * peer's restart was a false alarm; moving broke the link while the
     * peer's agent had not selected the new pair) */
    {{false, false, false, false}, false},
};

START_TEST(test_promotion)
{
	ck_assert_int_eq(tc_repair_should_promote(&promotions[_i].p),
			 promotions[_i].want);
}
END_TEST

static struct ctl_overlay_config cfg;

static struct ctl_members *engine(struct rec *r)
{
	fake_cfg(&cfg, CTL_OVERLAY_GVPN, "gv", "lab");
	cfg.ipv4 = (char *)(uintptr_t) "10.10.0.1";
	cfg.ipv4_prefix = 24;
	return fake_ready(fake_policy(r, &cfg, &ctl_gvpn_ops, NULL, NULL));
}

/* A failed link is tincan's to repair: no RemoveLink at once (the old
 * engine remade it at once, which cost a round of signalling). */
START_TEST(test_failed_link_left_to_tincan)
{
	struct rec r;
	struct ctl_members *g = engine(&r);
	struct ctl_sig adv;

	fake_adv(&adv, "lab", "10.10.0.2");
	ctl_member_signal(g, "bob@x/dev", &adv);
	fake_reply(g, "create", adv.uid, IPOP__STATUS__OK);
	fake_link_event(g, "gv", adv.uid, IPOP__LINK_STATE__CONNECTED);
	g_ptr_array_set_size(r.log, 0);
	fake_link_event(g, "gv", adv.uid, IPOP__LINK_STATE__FAILED);
	ck_assert_uint_eq(count_prefix(&r, "req relink:"), 0);
	ck_assert_uint_eq(count_prefix(&r, "req remove:"), 0);
	ck_assert_uint_eq(ctl_member_count(g), 1);
	fake_link_event(g, "gv", adv.uid, IPOP__LINK_STATE__CONNECTED);
	ck_assert_uint_eq(ctl_member_connected(g), 1);
	fake_finish(&r, g);
}
END_TEST

/* Back online in XMPP: every link asks tincan for its candidates again
 * at once (they go to the peer when the answer comes): those sent while
 * XMPP was down were lost.  A member without a link does not. */
START_TEST(test_online_resends_candidates)
{
	struct rec r;
	struct ctl_members *g = engine(&r);
	struct ctl_sig adv;
	char line[160];

	fake_adv(&adv, "lab", "10.10.0.2");
	ctl_member_signal(g, "bob@x/dev", &adv);
	fake_reply(g, "create", adv.uid, IPOP__STATUS__OK);
	g_ptr_array_set_size(r.log, 0);
	ctl_member_online(g);
	g_snprintf(line, sizeof(line), "req local:%s 7", adv.uid);
	ck_assert(logged(&r, "%s", line));
	fake_link_event(g, "gv", adv.uid, IPOP__LINK_STATE__CONNECTED);
	g_ptr_array_set_size(r.log, 0);
	ctl_member_online(g);
	ck_assert(logged(&r, "%s", line));
	ck_assert_uint_eq(count_prefix(&r, "req local:"), 1);
	/* Gone (tincan refused the link): nothing to resend. */
	fake_reply(g, "create", adv.uid, IPOP__STATUS__INTERNAL);
	g_ptr_array_set_size(r.log, 0);
	ctl_member_online(g);
	ck_assert_uint_eq(count_prefix(&r, "req local:"), 0);
	fake_finish(&r, g);
}
END_TEST

/* A member whose XMPP session went (the server says unavailable: its
 * controller remade the session, or stopped) while its link is failed
 * and repairing keeps the link for the relink delay; the link not back by
 * then, the member and its link go. */
START_TEST(test_gone_while_repairing)
{
	struct rec r;
	struct ctl_members *g = engine(&r);
	struct ctl_sig adv;
	gint64 end;

	fake_adv(&adv, "lab", "10.10.0.2");
	ctl_member_presence(g, "bob@x/dev", true);
	ctl_member_signal(g, "bob@x/dev", &adv);
	fake_reply(g, "create", adv.uid, IPOP__STATUS__OK);
	fake_link_event(g, "gv", adv.uid, IPOP__LINK_STATE__CONNECTED);
	fake_link_event(g, "gv", adv.uid, IPOP__LINK_STATE__FAILED);
	g_ptr_array_set_size(r.log, 0);
	ctl_member_presence(g, "bob@x/dev", false);
	ck_assert_uint_eq(ctl_member_count(g), 1);
	ck_assert_uint_eq(count_prefix(&r, "req remove:"), 0);
	end = g_get_monotonic_time() + 20 * FAKE_RELINK_MS * 1000;
	while (ctl_member_count(g) == 1 && g_get_monotonic_time() < end)
		if (!g_main_context_iteration(NULL, FALSE))
			g_usleep(2000);
	ck_assert_uint_eq(ctl_member_count(g), 0);
	ck_assert_uint_eq(count_prefix(&r, "req remove:"), 1);
	fake_finish(&r, g);
}
END_TEST

extern Suite *suite_repair(void);

Suite *suite_repair(void)
{
	Suite *s = suite_create("repair");
	TCase *tc = tcase_create("repair");

	tcase_add_loop_test(tc, test_backoff_table, 0, G_N_ELEMENTS(backoffs));
	tcase_add_test(tc, test_backoff_jitter_spreads);
	tcase_add_test(tc, test_xmpp_retry_schedule);
	tcase_add_test(tc, test_xmpp_ping_wait);
	tcase_add_test(tc, test_probe_intervals);
	tcase_add_loop_test(tc, test_remote_classify, 0, G_N_ELEMENTS(remotes));
	tcase_add_loop_test(tc, test_restarts_settle, 0, 2);
	tcase_add_loop_test(tc, test_remade_links_settle, 0, 2);
	tcase_add_loop_test(tc, test_restart_answered_by_rebind, 0, 2);
	tcase_add_loop_test(tc, test_promotion, 0, G_N_ELEMENTS(promotions));
	tcase_add_test(tc, test_failed_link_left_to_tincan);
	tcase_add_test(tc, test_online_resends_candidates);
	tcase_add_test(tc, test_gone_while_repairing);
	suite_add_tcase(s, tc);
	return s;
}
