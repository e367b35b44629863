/*
 * How a link repairs itself: the timing and the decisions, as pure
 * functions of what the link knows (how long the peer has been silent,
 * which streams it holds, which pair was selected), so every rule is
 * tested without libnice or a network.  link_repair.c applies them to a
 * link; this module owns nothing.
 *
 * A link that hears nothing from its peer for TC_REPAIR_SUSPECT_MS probes
 * every TC_REPAIR_BURST_MS (an immediate path check: when the underlay
 * comes back, traffic resumes within one burst interval) and starts an
 * ICE restart alongside the current stream
 * (make before break: new credentials and freshly gathered candidates,
 * carried by the controller as a local_candidates event).  The new stream
 * takes over when it selects a pair while the old path is still silent, or
 * when its pair is direct; after TC_REPAIR_DEAD_MS of silence the link is
 * FAILED and restarts go on with capped, jittered exponential backoff.  A
 * link on a TURN relay looks for a direct path the same way, on a slower
 * schedule.
 */
#ifndef TC_REPAIR_H
#define TC_REPAIR_H

#include <stdbool.h>
#include <stdint.h>

enum {
	TC_REPAIR_PROBE_MS = 1000,   /* probe interval while the peer talks */
	TC_REPAIR_SUSPECT_MS = 1500, /* silence that starts the repair */
	/* While frames go out and nothing comes back the peer is missed
	 * sooner: probes every TC_REPAIR_BURST_MS after TC_REPAIR_QUICK_MS,
	 * the repair after TC_REPAIR_BUSY_SUSPECT_MS.  (An idle link hears
	 * only the probe replies, one a second.) */
	TC_REPAIR_QUICK_MS = 300,
	TC_REPAIR_BUSY_SUSPECT_MS = 700,
	TC_REPAIR_BUSY_MAX_RTT_US = 150000, /* slower paths: idle rules */
	TC_REPAIR_BURST_MS = 200,	    /* probe interval while silent */
	TC_REPAIR_BURST_FOR_MS = 120000,    /* then slower again: */
	TC_REPAIR_IDLE_PROBE_MS = 2000,	    /* a link silent for long */
	TC_REPAIR_DEAD_MS = 2500, /* silence after which it is FAILED */
	TC_REPAIR_RESTART_FIRST_MS = 1000, /* after the first restart */
	TC_REPAIR_RESTART_MAX_MS = 30000,
	TC_REPAIR_RESTART_WAIT_MS = 5000,  /* a restart that selected no pair
					      by then is abandoned */
	TC_REPAIR_UPGRADE_FIRST_MS = 4000, /* on a relay: try direct again */
	TC_REPAIR_UPGRADE_MAX_MS = 60000,
	/* No answer to our probes (one a second while the peer talks) for
	 * this long: the peer does not hear us, though we hear it. */
	TC_REPAIR_DEAF_MS = 2000,
};

/* The probe interval after silent_ms without an authenticated packet;
 * busy: frames were sent since the last one. */
uint32_t tc_repair_probe_ms(uint64_t silent_ms, bool busy);
/* Whether a silence of silent_ms (busy as above) is one to repair. */
bool tc_repair_is_silent(uint64_t silent_ms, bool busy);
/* Whether a link counts as busy (see above): frames went out since the
 * peer's last packet, on a path whose round trip (rtt_us, 0 when not
 * measured yet) leaves a burst probe time to come back. */
bool tc_repair_busy(uint64_t frames_since_rx, uint32_t rtt_us);

/* What remote ICE credentials with a given ufrag are, for a link that
 * holds a current stream and maybe a next one (a restart in progress). */
enum tc_repair_remote {
	TC_REMOTE_SET_CURRENT, /* the first credentials the link gets */
	TC_REMOTE_CURRENT,     /* more candidates for the current stream */
	TC_REMOTE_SET_NEXT,    /* the answer to our restart: bind the next
				  (a new ufrag, or the current one of a
				  peer that rebound, see below) */
	TC_REMOTE_NEXT,	       /* more candidates for the next stream */
	TC_REMOTE_RESTART,     /* the peer restarted: restart our side too */
	TC_REMOTE_REBIND,      /* a fresh link: bind the current stream anew */
};

struct tc_repair_streams {
	bool controlling;
	const char *current_remote; /* NULL: no credentials yet */
	bool has_next;
	const char *next_remote; /* NULL: the next stream is not bound */
	/* The current stream never carried the peer (no pair selected,
	 * nothing heard): nothing to keep working while a restart runs. */
	bool fresh;
};

/* Decides for ufrag (RFC 8445 §9: a new remote ufrag is a restart).  The
 * controlling side never answers a restart with another one while it has
 * a next stream (it rebinds that one), so two sides restarting at once
 * cannot keep each other restarting.  A fresh link (see above) answers a
 * new ufrag by rebinding its current stream, keeping its own ufrag (and
 * announcing it again, as the answer to a restart of the peer's): the
 * peer remade its link (a topology change, its tincan restarted) or
 * restarted before we ever connected, and a restart of ours would look
 * like one more restart to the peer, whose answer would restart us again
 * (two new links remade at start-up did so for ever). */
enum tc_repair_remote tc_repair_classify(const struct tc_repair_streams *s,
					 const char *ufrag);

/* What the controlling side knows when its next stream has a pair. */
struct tc_repair_paths {
	bool new_relayed; /* the next stream's pair goes through TURN */
	bool old_relayed; /* the current pair does */
	bool silent;	  /* the peer is silent (tc_repair_is_silent) */
	bool deaf;	  /* the peer does not answer our probes */
};

/* Whether the next stream takes over from the current one.  A current
 * path that works both ways is left only for a direct one off a relay:
 * the restart was a false alarm (a loaded host late with its probes) or
 * the look for a direct path, and moving while the peer may not have our
 * new credentials yet (its agent then never selects the pair we speak
 * on) broke a working link for seconds. */
bool tc_repair_should_promote(const struct tc_repair_paths *p);

#endif
