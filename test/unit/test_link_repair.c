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
 * silence and restarted ICE by itself.  Then: a link whose peer remade its
 * link before either connected rebinds to the new one without a restart
 * of its own, and a link freed during a restart takes no datagram that
 * its next stream reads afterwards.
 */
#include <check.h>
#include <string.h>

#include <glib.h>
#include <nice/agent.h>
#include <sodium.h>

#include "tincan/env.h"
#include "tincan/identity.h"
#include "tincan/link.h"
#include "tincan/link_int.h" /* the agent, held as a TURN close holds it */

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

/* The last "recovered:" line tincan logged, for the test to read. */
static char recovered_line[512];

static void keep_recovered(const gchar *domain, GLogLevelFlags level,
			   const gchar *msg, gpointer data)
{
	(void)data;
	if (strstr(msg, "recovered:"))
		g_strlcpy(recovered_line, msg, sizeof(recovered_line));
	g_log_default_handler(domain, level, msg, NULL);
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
	guint logh = g_log_set_handler("tincan", G_LOG_LEVEL_MESSAGE,
				       keep_recovered, NULL);

	recovered_line[0] = '\0';
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
	/* Either side of the restart tells how the traffic came back: over
	 * the restarted stream, never "the same path". */
	if (_i >= 2)
		ck_assert_msg(strstr(recovered_line, "over an ICE restart"),
			      "recovery logged as: %s", recovered_line);
	g_log_remove_handler("tincan", logh);
	ck_assert_uint_ge(info.handshakes, 2);
	/* The kept side announced its restarted credentials. */
	ck_assert_uint_ge(kept->events, 2);
	tc_link_free(a.link);
	tc_link_free(b.link);
	tc_identity_free(a.id);
	tc_identity_free(b.id);
}
END_TEST

/* The peer's first link went before either end connected (a topology
 * change at start-up remade it): ours, told of the first link and then of
 * the new one, rebinds its stream to the new one and keeps its own ufrag,
 * so the peer sees no restart to answer.  _i 0: ours controlling. */
START_TEST(test_fresh_link_rebinds)
{
	struct side a, b, *ours, *theirs;
	struct tc_link_info info;
	g_autofree char *ufrag = NULL;

	side_init(&a, &b);
	side_init(&b, &a);
	make_link(&a);
	make_link(&b);
	tc_link_get_info(a.link, &info);
	ours = info.controlling == (_i == 0) ? &a : &b;
	theirs = ours == &a ? &b : &a;
	while (!tc_link_local(a.link) || !tc_link_local(b.link))
		g_main_context_iteration(NULL, TRUE);
	ufrag = g_strdup(tc_link_local(ours->link)->ufrag);
	ck_assert_int_eq(
	    tc_link_add_remote(ours->link, tc_link_local(theirs->link)), 0);
	tc_link_free(theirs->link);
	make_link(theirs);
	while (!tc_link_local(theirs->link))
		g_main_context_iteration(NULL, TRUE);
	ck_assert_int_eq(
	    tc_link_add_remote(theirs->link, tc_link_local(ours->link)), 0);
	ck_assert_int_eq(
	    tc_link_add_remote(ours->link, tc_link_local(theirs->link)), 0);
	a.carry = b.carry = true;
	ck_assert_msg(run_until(both_connected, &a, &b, 5000),
		      "not connected: %d %d", a.state, b.state);
	ck_assert(exchange(&a, &b));
	tc_link_get_info(ours->link, &info);
	ck_assert_uint_eq(info.repair.restarts + info.repair.peer_restarts, 0);
	ck_assert_str_eq(tc_link_local(ours->link)->ufrag, ufrag);
	/* Gathered, then the same again as the answer to the new ufrag. */
	ck_assert_uint_eq(ours->events, 2);
	tc_link_free(a.link);
	tc_link_free(b.link);
	tc_identity_free(a.id);
	tc_identity_free(b.id);
}
END_TEST

/* A bare libnice agent standing in for the peer's end of a restarted
 * stream: controlling, host candidates on 127.0.0.1. */
struct raw_peer {
	NiceAgent *agent;
	guint stream;
	char *cand_lines[8];
	struct tc_ice_creds creds;
	gchar *ufrag, *pwd;
};

static void raw_recv(NiceAgent *agent, guint stream, guint comp, guint len,
		     gchar *buf, gpointer data)
{
	(void)agent;
	(void)stream;
	(void)comp;
	(void)len;
	(void)buf;
	(void)data;
}

static void raw_peer_open(struct raw_peer *p)
{
	NiceAddress a;
	GSList *cands, *it;
	size_t n = 0;

	memset(p, 0, sizeof(*p));
	p->agent = nice_agent_new_full(g_main_context_default(),
				       NICE_COMPATIBILITY_RFC5245, 0);
	g_object_set(p->agent, "ice-tcp", FALSE, "upnp", FALSE,
		     "controlling-mode", TRUE, NULL);
	nice_address_init(&a);
	ck_assert(nice_address_set_from_string(&a, "127.0.0.1"));
	nice_agent_add_local_address(p->agent, &a);
	p->stream = nice_agent_add_stream(p->agent, 1);
	nice_agent_attach_recv(p->agent, p->stream, 1, g_main_context_default(),
			       raw_recv, NULL);
	ck_assert(nice_agent_gather_candidates(p->agent, p->stream));
	do {
		g_main_context_iteration(NULL, FALSE);
		cands = nice_agent_get_local_candidates(p->agent, p->stream, 1);
	} while (!cands && (g_usleep(1000), true));
	for (it = cands; it && n < G_N_ELEMENTS(p->cand_lines); it = it->next)
		p->cand_lines[n++] =
		    nice_agent_generate_local_candidate_sdp(p->agent, it->data);
	g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
	ck_assert(nice_agent_get_local_credentials(p->agent, p->stream,
						   &p->ufrag, &p->pwd));
	p->creds = (struct tc_ice_creds){p->ufrag, p->pwd, p->cand_lines, n};
}

static void raw_peer_bind(struct raw_peer *p, const struct tc_ice_creds *c)
{
	GSList *list = NULL;
	size_t i;

	nice_agent_set_remote_credentials(p->agent, p->stream, c->ufrag,
					  c->pwd);
	for (i = 0; i < c->n_candidates; i++) {
		NiceCandidate *nc = nice_agent_parse_remote_candidate_sdp(
		    p->agent, p->stream, c->candidates[i]);
		if (nc)
			list = g_slist_prepend(list, nc);
	}
	ck_assert_int_gt(
	    nice_agent_set_remote_candidates(p->agent, p->stream, 1, list), 0);
	g_slist_free_full(list, (GDestroyNotify)nice_candidate_free);
}

static bool raw_peer_selected(struct raw_peer *p)
{
	NiceCandidate *lc, *rc;

	return nice_agent_get_selected_pair(p->agent, p->stream, 1, &lc, &rc);
}

static void raw_peer_close(struct raw_peer *p)
{
	size_t i;

	nice_agent_close_async(p->agent, NULL, NULL);
	g_object_unref(p->agent);
	for (i = 0; i < G_N_ELEMENTS(p->cand_lines); i++)
		g_free(p->cand_lines[i]);
	g_free(p->ufrag);
	g_free(p->pwd);
}

/* Bytes that are no message of ours (counted as junk) from the raw peer. */
static void raw_peer_junk(struct raw_peer *p)
{
	gchar junk[64];

	memset(junk, 0xee, sizeof(junk));
	(void)nice_agent_send(p->agent, p->stream, 1, sizeof(junk), junk);
}

/* a and b linked and connected, a the ICE-controlled side (the larger
 * uid controls). */
static void connect_a_controlled(struct side *a, struct side *b)
{
	struct tc_identity *swap;
	struct tc_link_info info;

	side_init(a, b);
	side_init(b, a);
	if (strcmp(a->id->uid, b->id->uid) < 0) {
		swap = a->id;
		a->id = b->id;
		b->id = swap;
		a->env.id = a->id;
		b->env.id = b->id;
	}
	make_link(a);
	make_link(b);
	a->carry = b->carry = true;
	while (!tc_link_local(a->link) || !tc_link_local(b->link))
		g_main_context_iteration(NULL, TRUE);
	ck_assert_int_eq(tc_link_add_remote(a->link, tc_link_local(b->link)),
			 0);
	ck_assert_int_eq(tc_link_add_remote(b->link, tc_link_local(a->link)),
			 0);
	ck_assert(run_until(both_connected, a, b, 5000));
	tc_link_get_info(a->link, &info);
	ck_assert(!info.controlling);
}

/* A link freed while an ICE restart runs: libnice's close is asynchronous
 * and keeps the agent's sockets a moment, so a datagram that reaches the
 * next stream then must not be handed to the freed link (ipop-tincan
 * crashed so when GroupVPN removed a link that was restarting).  The
 * restarted stream's peer is a bare agent sending junk over its pair;
 * ours is controlled, so junk (not the peer proving itself) keeps it from
 * moving onto the stream. */
START_TEST(test_free_during_restart)
{
	struct side a, b;
	struct tc_link_info info;
	struct raw_peer p;
	NiceAgent *keep;
	gint64 end;

	connect_a_controlled(&a, &b);
	/* The peer restarted (a new ufrag): a's next stream opens. */
	a.carry = false;
	raw_peer_open(&p);
	ck_assert_int_eq(tc_link_add_remote(a.link, &p.creds), 0);
	while (a.events < 2)
		g_main_context_iteration(NULL, TRUE);
	raw_peer_bind(&p, tc_link_local(a.link));
	end = g_get_monotonic_time() + 3 * G_USEC_PER_SEC;
	while (!raw_peer_selected(&p) && g_get_monotonic_time() < end)
		if (!g_main_context_iteration(NULL, FALSE))
			g_usleep(1000);
	ck_assert(raw_peer_selected(&p));
	/* The junk reaches our link over the next stream. */
	end = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
	do {
		raw_peer_junk(&p);
		g_main_context_iteration(NULL, FALSE);
		g_usleep(1000);
		tc_link_get_info(a.link, &info);
	} while (!info.guard.junk && g_get_monotonic_time() < end);
	ck_assert_uint_gt(info.guard.junk, 0);
	ck_assert_uint_eq(info.repair.peer_restarts, 1);
	raw_peer_junk(&p);
	/* libnice keeps a closed agent (and every stream's socket) until
	 * the TURN servers answered the deallocations: held here as long. */
	keep = g_object_ref(a.link->agent);
	tc_link_free(a.link);
	a.link = NULL;
	end = g_get_monotonic_time() + 300 * 1000;
	while (g_get_monotonic_time() < end) {
		raw_peer_junk(&p);
		if (!g_main_context_iteration(NULL, FALSE))
			g_usleep(1000);
	}
	g_object_unref(keep);
	raw_peer_close(&p);
	tc_link_free(b.link);
	tc_identity_free(a.id);
	tc_identity_free(b.id);
}
END_TEST

static bool no_retired(struct side *a, struct side *b)
{
	(void)b;
	return !a->link->retired || a->link->retired->len == 0;
}

/* The peer restarted twice at once (its two answers came together): the
 * first restart's stream, direct-only and still gathering (libnice
 * resolving its STUN server asynchronously), is replaced at once.  Its
 * removal waits for its gathering to end: libnice's resolver callback
 * does not check that the stream still exists, and tincan crashed in it
 * (bench-gvpn at 64 members). */
START_TEST(test_restart_replaced_while_gathering)
{
	struct side a, b;
	struct tc_link_info info;
	struct raw_peer p1, p2;
	guint first;
	gint64 end;

	connect_a_controlled(&a, &b);
	/* Restarts of a working link are direct-only: STUN, no TURN.  Nothing
	 * answers on the discard port; libnice gives up after 2 tries. */
	a.carry = false;
	a.ice.n_stun = 1;
	g_strlcpy(a.ice.stun[0].address, "127.0.0.1",
		  sizeof(a.ice.stun[0].address));
	a.ice.stun[0].port = 9;
	g_object_set(a.link->agent, "stun-initial-timeout", 50,
		     "stun-max-retransmissions", 2, NULL);
	raw_peer_open(&p1);
	raw_peer_open(&p2);
	ck_assert_int_eq(tc_link_add_remote(a.link, &p1.creds), 0);
	first = a.link->next_stream;
	ck_assert_uint_ne(first, 0);
	ck_assert(!a.link->next_gathered);
	ck_assert_int_eq(tc_link_add_remote(a.link, &p2.creds), 0);
	ck_assert_uint_ne(a.link->next_stream, first);
	tc_link_get_info(a.link, &info);
	ck_assert_uint_eq(info.repair.peer_restarts, 2);
	ck_assert_ptr_nonnull(a.link->retired);
	ck_assert_uint_eq(a.link->retired->len, 1);
	/* The resolver answers, then the retired stream's gathering ends
	 * and it goes; the link lives on. */
	ck_assert_msg(run_until(no_retired, &a, &b, 5000),
		      "the retired stream was never removed");
	end = g_get_monotonic_time() + 200 * 1000;
	while (g_get_monotonic_time() < end)
		if (!g_main_context_iteration(NULL, FALSE))
			g_usleep(1000);
	ck_assert_uint_ne(a.link->next_stream, 0);
	raw_peer_close(&p1);
	raw_peer_close(&p2);
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
	tcase_add_loop_test(tc, test_fresh_link_rebinds, 0, 2);
	tcase_add_test(tc, test_free_during_restart);
	tcase_add_test(tc, test_restart_replaced_while_gathering);
	suite_add_tcase(s, tc);
	return s;
}
