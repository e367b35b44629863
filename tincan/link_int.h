/*
 * The inside of a link, shared by its two files only: link.c (life, the
 * ICE agent, candidates, the selected pair, state, the timer) and
 * link_data.c (the packet path: sealing, batching and sending, receiving,
 * handshake messages and probes).  No other module includes this header.
 */
#ifndef TC_LINK_INT_H
#define TC_LINK_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <agent.h>
#include <glib.h>

#include "common/limits.h"
#include "tincan/cookie.h"
#include "tincan/link.h"
#include "tincan/session.h"
#include "tincan/types.h"

struct tc_link {
	const struct tc_env *env;
	char overlay[IPOP_NAME_SIZE];
	char peer_uid[IPOP_UID_SIZE];
	uint8_t peer_pub[IPOP_KEY_LEN];
	bool controlling;
	enum tc_link_state state;
	const struct tc_link_ops *ops;
	void *owner;

	NiceAgent *agent;
	guint stream;
	guint tick;
	bool gathered;
	bool have_remote;
	char *remote_ufrag;
	struct tc_ice_creds local; /* filled when gathering is done */
	char *local_ufrag, *local_pwd;
	char **local_cands;

	bool pair_selected;
	struct tc_cand_pair pair;

	struct tc_session *session;
	uint8_t *held_resp; /* a handshake response waiting for a pair */
	size_t held_resp_len;
	uint64_t last_init_ms;
	uint64_t pair_ms;    /* when the pair was (last) selected */
	bool init_seen;	     /* an initiation came in (responder) */
	bool no_init_told;   /* TC_LINK_NO_INIT_LOG_MS line logged */
	uint32_t retry_ms;   /* next first-handshake retry */
	uint64_t last_rx_ms; /* last authenticated packet */
	uint64_t last_probe_ms;
	uint64_t last_reply_ms; /* the peer last answered a probe of ours */
	uint32_t probe_seq;
	uint32_t rtt_us;

	/* Fast path: a selected pair whose local side is a plain UDP socket
	 * (not a TURN relay) is sent on directly: the packets of a batch sit
	 * back to back in runs of equal size (the last of a run may be
	 * shorter), one UDP segmentation offload message per run, all runs
	 * in one sendmmsg.  libnice keeps the socket, gathering, checks,
	 * consent and TURN. */
	GSocket *fast_sock;
	GSource *rx_src; /* fast receive path, see start_fast_rx */
	bool ice_ready;
	struct sockaddr_storage fast_addr;
	socklen_t fast_len;
	bool roamed;	/* fast_addr is no longer the pair's remote address */
	uint8_t *batch; /* TC_LINK_BATCH_BYTES, allocated on first use */
	size_t batch_used;
	struct tc_link_run {
		size_t off, bytes; /* where in batch, and how much */
		uint16_t seg;	   /* size of each packet but the last */
		uint16_t n;
	} runs[TC_LINK_RUNS];
	unsigned n_runs;

	/* Handshake guard (cookie.h): our mac1 and cookie keys, this link's
	 * share of the counters, and the rate limit of the drop log. */
	struct tc_cookie_keys own_keys;
	struct tc_guard_counters gc;
	uint64_t drop_log_ms;
	unsigned drops_unlogged;
	uint64_t checks_answered; /* the peer's, on the fast path */
	/* Refused handshake messages: logged at most once per
	 * TC_HS_FAIL_LOG_MS, with the count in between. */
	uint64_t hs_fail_log_ms;
	unsigned hs_fails_unlogged;

	uint64_t tx_bytes, tx_packets, rx_bytes, rx_packets, dropped;
	uint64_t drops[TC_DROP_REASONS]; /* see tc_link_count_drop */
	uint64_t flaps;			 /* times it left CONNECTED */
	enum tc_link_kind kind;
	uint64_t last_data_ms; /* a frame sent or received (link.h) */
	bool idle_told;	       /* tc_link_take_idle said it this spell */

	/* Repair (link_repair.c): an ICE restart in progress is a second
	 * stream of the agent, the next one, used once it selects a pair
	 * (repair.h says when); the current one carries traffic meanwhile. */
	guint next_stream;	 /* 0: none */
	char *next_remote_ufrag; /* NULL until the peer's answer binds it */
	bool next_ready;	 /* its component is READY */
	bool next_selected;	 /* it selected a pair */
	bool next_relayed;	 /* that pair goes through a TURN relay */
	bool next_peer;		 /* started because the peer restarted */
	bool next_failed;	 /* its checks all failed */
	bool next_gathered;	 /* its candidates are in l->local */
	/* Streams dropped before their gathering ended, removed when it
	 * ends (see drop_next); NULL while none. */
	GArray *retired;
	bool stun_set;	 /* the agent has a STUN server for a direct-only one */
	guint rx_stream; /* libnice delivers a packet of this stream now */
	bool next_spoken; /* the peer proved itself on the next stream */
	guint announce;	  /* idle source re-sending local_candidates */
	uint64_t next_started_ms;
	uint64_t restart_due_ms; /* no restart of ours before */
	unsigned restart_attempt;
	uint64_t upgrade_due_ms; /* on a relay: next look for a direct path */
	unsigned upgrade_attempt;
	uint64_t outage_ms; /* last_rx_ms when the current silence began */
	uint64_t tx_at_rx;  /* tx_packets when the last packet came */
	uint64_t outage_roams;
	const char *moved_by; /* what moved the link since the silence */
	struct tc_repair_counters rc;
};

/* A data frame went either way at now_ms (a time the caller already
 * read: no clock read per packet): the link is not idle. */
static inline void tc_link_data_seen(struct tc_link *l, uint64_t now_ms)
{
	l->last_data_ms = now_ms;
	l->idle_told = false;
}

static inline void tc_link_now(struct tc_time *t)
{
	t->mono_ms = (uint64_t)g_get_monotonic_time() / 1000;
	t->wall_ns = (uint64_t)g_get_real_time() * 1000;
}

/* link.c: moves to st (no-op if already there), logs, emits the event and
 * tells the owner. */
void tc_link_set_state(struct tc_link *l, enum tc_link_state st,
		       const char *why);

/* link.c: a new stream of the agent with its servers (direct_only: no
 * TURN, so no relay candidates), receive callback and gathering started:
 * its id, also stored in *slot before gathering starts (it may end in the
 * call), or 0 (logged). */
guint tc_link_open_stream(struct tc_link *l, guint *slot, bool direct_only);
/* link.c: a direct-only stream's gathering ended (or it went): the agent's
 * STUN server is unset again. */
void tc_link_stun_done(struct tc_link *l);
/* link.c: fills l->local from a gathered stream's credentials and
 * candidates. */
void tc_link_load_local(struct tc_link *l, guint stream);
/* link.c: makes (lc, rc), the selected pair of the current stream, the
 * link's pair: fast path, held response, first handshake. */
void tc_link_use_pair(struct tc_link *l, const NiceCandidate *lc,
		      const NiceCandidate *rc);
/* link.c: stops the fast path (flushing what is batched). */
void tc_link_clear_fast_path(struct tc_link *l);

/* link_repair.c */
/* The timer's share: probes, silence, restarts, the way off a relay. */
void tc_link_repair_tick(struct tc_link *l, const struct tc_time *t);
/* An authenticated packet arrived (before last_rx_ms moves): ends a
 * silence, logged once with its cause and duration; one that came on the
 * next stream, not moved onto yet, does not (the move will). */
void tc_link_repair_heard(struct tc_link *l, const struct tc_time *t);
/* The stream remote credentials with ufrag belong to (binding it, or
 * restarting this side when the peer restarted); 0 when none can be made. */
guint tc_link_repair_bind(struct tc_link *l, const char *ufrag,
			  const char *pwd);
/* libnice's callbacks for the next stream. */
void tc_link_repair_selected(struct tc_link *l, guint stream);
void tc_link_repair_component(struct tc_link *l, guint stream, guint state);
/* A retired stream's gathering ended: removed now (true), or stream is
 * not one (false). */
bool tc_link_repair_gathered(struct tc_link *l, guint stream);
/* The selected pair changed from (old_relayed) to (relayed): counted. */
void tc_link_repair_pair_changed(struct tc_link *l, bool had_pair,
				 bool old_relayed, bool relayed);
/* The peer proved itself (authenticated data, a valid initiation or the
 * handshake's end) on the packet being received: on the next stream, that
 * stream takes over (before any answer goes out). */
void tc_link_repair_spoke(struct tc_link *l, const struct tc_time *t);
void tc_link_repair_free(struct tc_link *l);

/* link_data.c */
/* One datagram through libnice: 0 or -EAGAIN. */
int tc_link_raw_send(struct tc_link *l, const uint8_t *pkt, size_t len);

/* link_batch.c */
/* Writes an inner message (type, pre_len header bytes, body) at pt: 1 +
 * pre_len + len bytes. */
void tc_link_lay_out(uint8_t *pt, uint8_t type, const uint8_t *pre,
		     size_t pre_len, const uint8_t *body, size_t len);
/* Seals and sends one inner message of type with body: 0 or -errno. */
int tc_link_send_inner(struct tc_link *l, uint8_t type, const uint8_t *body,
		       size_t len);
void tc_link_send_initiation(struct tc_link *l, const struct tc_time *t);
void tc_link_send_probe(struct tc_link *l, uint8_t type, uint32_t seq,
			uint64_t sent_us);
/* The fast receive path: on when ICE is READY on a direct pair and the
 * link is CONNECTED (no-op otherwise), off again. */
void tc_link_start_fast_rx(struct tc_link *l);
void tc_link_stop_fast_rx(struct tc_link *l);
/* The node-wide handshake guard, shared by every link (all on the main
 * loop): each link holds it from tc_link_new to tc_link_free, and the last
 * one frees it.  hold returns NULL only when it cannot be allocated. */
struct tc_guard *tc_link_guard_hold(void);
void tc_link_guard_release(void);
/* libnice's receive callback (data is the link). */
void tc_link_on_recv(NiceAgent *agent, guint stream, guint comp, guint len,
		     gchar *buf, gpointer data);

/* link.c: counts a dropped packet under the reason of err, the -errno that
 * dropped it (-EPROTO: a bad inner message); next to each dropped++. */
void tc_link_count_drop(struct tc_link *l, int err);

#endif
