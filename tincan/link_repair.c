/*
 * A link repairing itself: the rules of repair.h applied to one link.
 * This file owns the link's next stream (an ICE restart in progress,
 * opened beside the current one so traffic keeps flowing until the new one
 * has a pair), the probe schedule while the peer is silent, the restart and
 * relay-upgrade backoff, and the repair counters; the life of the agent
 * and the selected pair are link.c's.
 *
 * Either side restarts when its peer falls silent (the one that notices
 * first wins; two restarts that cross bind to each other, see
 * tc_repair_classify); a side given a new ufrag it did not expect (RFC
 * 8445 §9) restarts its own side to answer, so the controller only
 * carries local_candidates events as for a new link.  Only the
 * ICE-controlling side looks for a way off a relay.
 * The peer's end of a restarted stream may be a new link (its tincan
 * restarted, or its controller remade the link to answer), so the
 * controlling side starts a handshake (a rekey) when a stream takes over.
 */
#define G_LOG_DOMAIN "tincan"

#include <string.h>

#include "common/backoff.h"
#include "tincan/link_int.h"
#include "tincan/repair.h"

/* The node's totals over every link it had. */
static struct tc_repair_counters totals;

void tc_link_repair_totals(struct tc_repair_counters *c)
{
	*c = totals;
}

#define COUNT(l, field)                                                        \
	do {                                                                   \
		(l)->rc.field++;                                               \
		totals.field++;                                                \
	} while (0)

static uint64_t silent_ms(const struct tc_link *l, const struct tc_time *t)
{
	return t->mono_ms - l->last_rx_ms;
}

/* libnice 0.1.21 resolves a gathering stream's STUN server
 * asynchronously, and the callback does not check that the stream still
 * exists: removing one whose gathering had not ended crashed tincan (a
 * NULL stream in stun_server_resolved_cb; bench-gvpn at 64 members, where
 * a restart replaced a direct-only one within the resolver's delay).
 * Such a stream is only detached, and removed once its gathering ends. */
static void retire(struct tc_link *l, guint stream)
{
	if (!l->retired)
		l->retired = g_array_new(FALSE, FALSE, sizeof(guint));
	g_array_append_val(l->retired, stream);
}

bool tc_link_repair_gathered(struct tc_link *l, guint stream)
{
	for (guint i = 0; l->retired && i < l->retired->len; i++) {
		if (g_array_index(l->retired, guint, i) != stream)
			continue;
		g_array_remove_index_fast(l->retired, i);
		nice_agent_remove_stream(l->agent, stream);
		return true;
	}
	return false;
}

/* Drops the next stream (libnice closes its sockets and allocations). */
static void drop_next(struct tc_link *l)
{
	if (!l->next_stream)
		return;
	nice_agent_attach_recv(l->agent, l->next_stream, 1, l->env->ctx, NULL,
			       NULL);
	if (l->next_gathered)
		nice_agent_remove_stream(l->agent, l->next_stream);
	else
		retire(l, l->next_stream);
	l->next_stream = 0;
	tc_link_stun_done(l);
	g_clear_pointer(&l->next_remote_ufrag, g_free);
	l->next_ready = l->next_selected = l->next_relayed = false;
	l->next_peer = l->next_failed = l->next_gathered = false;
	l->next_spoken = false;
	/* What GetLocalCandidates answers is the current stream's again. */
	if (l->gathered)
		tc_link_load_local(l, l->stream);
}

/* Opens a next stream (replacing one in progress): 0 or -errno.  While
 * the current path works, a restart can only be looking for a direct path
 * (ours off a relay, or the peer's we answer): its stream gathers no
 * relay candidates. */
static int restart(struct tc_link *l, const struct tc_time *t, bool peer,
		   const char *why)
{
	bool direct_only = !l->outage_ms && l->state == TC_LINK_CONNECTED;

	drop_next(l);
	if (!tc_link_open_stream(l, &l->next_stream, direct_only))
		return -ENOMEM;
	l->next_peer = peer;
	l->next_started_ms = t->mono_ms;
	if (peer)
		COUNT(l, peer_restarts);
	else
		COUNT(l, restarts);
	g_message("link %s/%.12s: ICE restart (%s%s)", l->overlay, l->peer_uid,
		  why, direct_only ? ", direct paths only" : "");
	return 0;
}

void tc_link_repair_free(struct tc_link *l)
{
	if (l->announce)
		g_source_remove(l->announce);
	l->announce = 0;
	/* The agent's close removes the streams; only our copies go. */
	g_clear_pointer(&l->next_remote_ufrag, g_free);
	g_clear_pointer(&l->retired, g_array_unref);
	l->next_stream = 0;
}

static gboolean on_announce(gpointer data)
{
	struct tc_link *l = data;
	struct tc_event ev = {.kind = TC_EVENT_LOCAL_CANDIDATES};

	l->announce = 0;
	ev.overlay = l->overlay;
	ev.peer_uid = l->peer_uid;
	ev.u.local = &l->local;
	l->env->emit(l->env->node, &ev);
	return G_SOURCE_REMOVE;
}

/* A fresh link rebound to the peer's new credentials: its own, unchanged,
 * go out again as the answer the peer's restart waits for. */
static void announce_current(struct tc_link *l)
{
	if (l->gathered && !l->next_stream && !l->announce)
		l->announce = g_idle_add(on_announce, l);
}

/* Our restart's candidates went out before the peer's new end existed
 * (its tincan restarted): they go out again, bound now, once the
 * controller has the answer to the request that bound them (an idle
 * callback runs after the reply is written). */
static void announce_later(struct tc_link *l)
{
	if (l->next_gathered && !l->announce)
		l->announce = g_idle_add(on_announce, l);
}

/* The peer's credentials on the current stream. */
static guint set_current(struct tc_link *l, const char *ufrag, const char *pwd)
{
	nice_agent_set_remote_credentials(l->agent, l->stream, ufrag, pwd);
	g_free(l->remote_ufrag);
	l->remote_ufrag = g_strdup(ufrag);
	l->have_remote = true;
	return l->stream;
}

guint tc_link_repair_bind(struct tc_link *l, const char *ufrag, const char *pwd)
{
	struct tc_repair_streams s = {
	    .controlling = l->controlling,
	    .current_remote = l->have_remote ? l->remote_ufrag : NULL,
	    .has_next = l->next_stream != 0,
	    .next_remote = l->next_remote_ufrag,
	    .fresh = !l->pair_selected && !l->last_rx_ms,
	};
	struct tc_time t;

	switch (tc_repair_classify(&s, ufrag)) {
	case TC_REMOTE_REBIND:
		g_message("link %s/%.12s: the peer's new ICE credentials "
			  "replace its old ones (no path yet)",
			  l->overlay, l->peer_uid);
		announce_current(l);
		return set_current(l, ufrag, pwd);
	case TC_REMOTE_SET_CURRENT:
		return set_current(l, ufrag, pwd);
	case TC_REMOTE_CURRENT:
		return l->stream;
	case TC_REMOTE_NEXT:
		return l->next_stream;
	case TC_REMOTE_RESTART:
		tc_link_now(&t);
		if (restart(l, &t, true, "the peer restarted its side") < 0)
			return 0;
		break;
	case TC_REMOTE_SET_NEXT:
		announce_later(l);
		break;
	}
	nice_agent_set_remote_credentials(l->agent, l->next_stream, ufrag, pwd);
	g_free(l->next_remote_ufrag);
	l->next_remote_ufrag = g_strdup(ufrag);
	return l->next_stream;
}

static bool is_relayed(const struct tc_link *l)
{
	return !strcmp(l->pair.local_type, "relay") ||
	       !strcmp(l->pair.remote_type, "relay");
}

/* Whether the controlling side moves onto its next stream now. */
static bool promote_due(const struct tc_link *l, const struct tc_time *t)
{
	struct tc_repair_paths p = {
	    .new_relayed = l->next_relayed,
	    .old_relayed = is_relayed(l),
	    .silent = l->outage_ms != 0,
	    .deaf = t->mono_ms - l->last_reply_ms >= TC_REPAIR_DEAF_MS,
	};

	return l->controlling && l->next_selected &&
	       tc_repair_should_promote(&p);
}

/* The next stream takes over: the old one goes, the pair is the new one's. */
static void promote(struct tc_link *l, const struct tc_time *t)
{
	NiceCandidate *lc = NULL, *rc = NULL;
	guint old = l->stream;

	if (!nice_agent_get_selected_pair(l->agent, l->next_stream, 1, &lc,
					  &rc))
		return;
	g_message("link %s/%.12s: the restarted ICE stream takes over (peer "
		  "silent for %" G_GUINT64_FORMAT " ms)",
		  l->overlay, l->peer_uid, silent_ms(l, t));
	tc_link_clear_fast_path(l);
	l->stream = l->next_stream;
	l->next_stream = 0;
	g_free(l->remote_ufrag);
	l->remote_ufrag = l->next_remote_ufrag;
	l->next_remote_ufrag = NULL;
	l->have_remote = l->remote_ufrag != NULL;
	l->ice_ready = l->next_ready;
	l->next_selected = l->next_ready = l->next_relayed = false;
	l->next_failed = l->next_gathered = l->next_spoken = false;
	l->moved_by = "an ICE restart";
	/* The new path needs a round trip (a handshake) before the peer is
	 * heard: no new restart meanwhile. */
	l->restart_due_ms =
	    MAX(l->restart_due_ms, t->mono_ms + TC_REPAIR_RESTART_FIRST_MS);
	/* lc and rc belong to the new stream, which stays. */
	nice_agent_attach_recv(l->agent, old, 1, l->env->ctx, NULL, NULL);
	nice_agent_remove_stream(l->agent, old);
	tc_link_use_pair(l, lc, rc);
	/* The peer's end may be new (its tincan restarted, or its
	 * controller remade the link to answer): fresh keys.  A handshake
	 * costs one round trip, like a rekey; data keeps the old keys until
	 * it completes. */
	if (l->controlling)
		tc_link_send_initiation(l, t);
	/* Speaking on the new stream moves the peer there too. */
	if (tc_session_can_send(l->session, t))
		tc_link_send_probe(l, TC_INNER_PROBE, ++l->probe_seq,
				   (uint64_t)g_get_monotonic_time());
	l->next_peer = false;
	tc_link_start_fast_rx(l);
}

void tc_link_repair_selected(struct tc_link *l, guint stream)
{
	NiceCandidate *lc = NULL, *rc = NULL;
	struct tc_time t;

	if (stream != l->next_stream ||
	    !nice_agent_get_selected_pair(l->agent, stream, 1, &lc, &rc))
		return;
	l->next_selected = true;
	l->next_relayed = lc->type == NICE_CANDIDATE_TYPE_RELAYED ||
			  rc->type == NICE_CANDIDATE_TYPE_RELAYED;
	tc_link_now(&t);
	if (l->controlling ? promote_due(l, &t) : l->next_spoken)
		promote(l, &t);
}

/* Only the ICE-controlling side moves onto a restarted stream by its
 * own judgement; the other side moves when the peer speaks on it, so the
 * two ends cannot settle on different streams (each side's checks can
 * succeed against a stream of the peer's that the peer is not using). */
void tc_link_repair_spoke(struct tc_link *l, const struct tc_time *t)
{
	if (!l->rx_stream || l->rx_stream != l->next_stream)
		return;
	/* Before our agent selected the pair the peer spoke on, the move
	 * (and any answer, held meanwhile) waits for the selection. */
	l->next_spoken = true;
	if (l->next_selected)
		promote(l, t);
}

void tc_link_repair_component(struct tc_link *l, guint stream, guint state)
{
	if (stream != l->next_stream)
		return;
	l->next_ready = state == NICE_COMPONENT_STATE_READY;
	/* Dropped by the next tick, not inside libnice's signal. */
	if (state == NICE_COMPONENT_STATE_FAILED)
		l->next_failed = true;
}

void tc_link_repair_pair_changed(struct tc_link *l, bool had_pair,
				 bool old_relayed, bool relayed)
{
	if (!had_pair)
		return;
	COUNT(l, pair_switches);
	if (!old_relayed && relayed) {
		COUNT(l, relay_fallbacks);
		g_message("link %s/%.12s: fell back to the TURN relay",
			  l->overlay, l->peer_uid);
	} else if (old_relayed && !relayed) {
		COUNT(l, relay_upgrades);
		l->upgrade_attempt = 0;
		g_message("link %s/%.12s: back on a direct path", l->overlay,
			  l->peer_uid);
	}
	if (!l->moved_by)
		l->moved_by = "a new pair";
}

void tc_link_repair_heard(struct tc_link *l, const struct tc_time *t)
{
	uint64_t ms;
	const char *how;

	l->tx_at_rx = l->tx_packets;
	if (!l->outage_ms)
		return;
	/* Heard on a restarted stream this side has not moved onto (its
	 * agent has no pair there yet): nothing of ours reaches the peer
	 * yet, so the silence ends with the move, not now (a controlling
	 * side would also no longer move once its pair is selected).  The
	 * move comes with the selection (tc_link_repair_selected) or with
	 * the peer's packet after it (tc_link_repair_spoke, before this
	 * call); promote sets moved_by, so the first packet heard once
	 * moved logs the recovery "over an ICE restart". */
	if (l->rx_stream && l->rx_stream == l->next_stream)
		return;
	ms = t->mono_ms - l->outage_ms;
	if (l->moved_by)
		how = l->moved_by;
	else if (l->gc.roams != l->outage_roams)
		how = "the peer's new address (roaming)";
	else
		how = "the same path";
	l->rc.last_recovery_ms = ms;
	totals.last_recovery_ms = ms;
	COUNT(l, recoveries);
	g_message(
	    "link %s/%.12s: recovered: traffic back after %" G_GUINT64_FORMAT
	    " ms of silence, over %s (%s %s -> %s %s)",
	    l->overlay, l->peer_uid, ms, how, l->pair.local_type,
	    l->pair.local_addr, l->pair.remote_type, l->pair.remote_addr);
	l->outage_ms = 0;
	l->moved_by = NULL;
	l->restart_attempt = 0;
	l->restart_due_ms = 0;
}

/* The peer went silent: noted once. */
static void silence_began(struct tc_link *l, const struct tc_time *t)
{
	l->outage_ms = l->last_rx_ms;
	l->outage_roams = l->gc.roams;
	l->moved_by = NULL;
	/* A restart begun while the peer still spoke (the way off a relay)
	 * looks for something else: a new one starts now. */
	if (l->next_stream && l->next_started_ms <= l->outage_ms &&
	    !l->next_selected) {
		drop_next(l);
		l->restart_due_ms = 0;
	}
	g_message("link %s/%.12s: peer silent for %" G_GUINT64_FORMAT
		  " ms; probing every %d ms%s",
		  l->overlay, l->peer_uid, silent_ms(l, t), TC_REPAIR_BURST_MS,
		  l->next_stream ? "" : ", restarting ICE");
}

/* Our restarts: at once when the silence begins, then backing off. */
static void restart_when_due(struct tc_link *l, const struct tc_time *t)
{
	if (l->next_stream || t->mono_ms < l->restart_due_ms)
		return;
	if (restart(l, t, false, "the peer is silent") == 0)
		l->restart_due_ms =
		    t->mono_ms + ipop_backoff_ms(TC_REPAIR_RESTART_FIRST_MS,
						 TC_REPAIR_RESTART_MAX_MS,
						 l->restart_attempt++,
						 g_random_int());
}

/* On a relay, now and then a restart looks for a direct path again. */
static void upgrade_when_due(struct tc_link *l, const struct tc_time *t)
{
	uint32_t wait;

	if (!is_relayed(l) || l->state != TC_LINK_CONNECTED) {
		l->upgrade_due_ms = 0;
		return;
	}
	wait = ipop_backoff_ms(TC_REPAIR_UPGRADE_FIRST_MS,
			       TC_REPAIR_UPGRADE_MAX_MS, l->upgrade_attempt,
			       g_random_int());
	if (!l->upgrade_due_ms)
		l->upgrade_due_ms = t->mono_ms + wait;
	if (l->next_stream || t->mono_ms < l->upgrade_due_ms)
		return;
	l->upgrade_attempt++;
	l->upgrade_due_ms = 0;
	restart(l, t, false, "on a relay: looking for a direct path");
}

/* A next stream whose checks all failed, or that has not taken over in
 * time, goes. */
static void next_expired(struct tc_link *l, const struct tc_time *t)
{
	if (l->next_stream && l->next_failed && !l->next_selected) {
		g_message("link %s/%.12s: the ICE restart found no path",
			  l->overlay, l->peer_uid);
		COUNT(l, restarts_given_up);
		drop_next(l);
		return;
	}
	if (!l->next_stream ||
	    t->mono_ms - l->next_started_ms < TC_REPAIR_RESTART_WAIT_MS)
		return;
	g_message("link %s/%.12s: ICE restart given up after %d ms (%s)",
		  l->overlay, l->peer_uid, TC_REPAIR_RESTART_WAIT_MS,
		  !l->next_selected ? "no pair"
		  : l->next_relayed ? "only a relay again"
				    : "the current path works");
	COUNT(l, restarts_given_up);
	drop_next(l);
}

void tc_link_repair_tick(struct tc_link *l, const struct tc_time *t)
{
	uint64_t quiet = silent_ms(l, t);
	bool busy = tc_repair_busy(l->tx_packets - l->tx_at_rx, l->rtt_us);

	if (l->last_rx_ms && !l->outage_ms && tc_repair_is_silent(quiet, busy))
		silence_began(l, t);
	if (promote_due(l, t))
		promote(l, t);
	next_expired(l, t);
	if (l->outage_ms)
		restart_when_due(l, t);
	else if (l->controlling)
		upgrade_when_due(l, t);
	if (tc_session_can_send(l->session, t) &&
	    t->mono_ms - l->last_probe_ms >= tc_repair_probe_ms(quiet, busy)) {
		l->last_probe_ms = t->mono_ms;
		tc_link_send_probe(l, TC_INNER_PROBE, ++l->probe_seq,
				   (uint64_t)g_get_monotonic_time());
	}
	if (l->state == TC_LINK_CONNECTED && quiet > TC_LINK_DEAD_MS)
		tc_link_set_state(l, TC_LINK_FAILED, "peer stopped answering");
}
