/*
 * One link: an ICE agent (libnice) to one peer of one overlay, the Noise
 * session that secures it, the liveness probe and the counters.  A link owns
 * its agent and session; it does not own frames it is handed, nor its
 * overlay, which it reaches through the callbacks in tc_link_ops.
 *
 * Life: new (gathering starts) -> local candidates surface as an event ->
 * remote credentials and candidates are added -> ICE selects a pair -> the
 * ICE-controlling side (smaller uid) sends the handshake initiation -> data
 * flows.  A probe each second keeps RTT; a silent peer makes the link
 * repair itself (repair.h: probe bursts, ICE restarts alongside the
 * current stream, relay fallback and the way back) and a link silent for
 * TC_LINK_DEAD_MS is FAILED; an authenticated packet brings it back.
 */
#ifndef TC_LINK_H
#define TC_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"
#include "tincan/cookie.h"
#include "tincan/env.h"
#include "tincan/identity.h"
#include "tincan/offload.h"
#include "tincan/repair.h"
#include "tincan/types.h"

enum {
	TC_LINK_TICK_MS = 50,
	TC_LINK_PROBE_MS = TC_REPAIR_PROBE_MS,
	TC_LINK_DEAD_MS = TC_REPAIR_DEAD_MS,
	TC_LINK_FIRST_RETRY_MS = 100, /* first initiation retry, doubling */
	TC_LINK_MAX_RETRY_MS = 1000,
	/* A responder whose pair has been up this long without any handshake
	 * initiation from the peer says why it may be waiting (once). */
	TC_LINK_NO_INIT_LOG_MS = 5000,
	TC_LINK_MAX_PACKET = 65536,
	TC_LINK_BATCH = 64,	   /* packets per UDP GSO message */
	TC_LINK_BATCH_SLOT = 9104, /* jumbo frame + inner header + overhead */
	TC_LINK_GSO_MAX = 65000,   /* bytes in one UDP GSO message */
	TC_LINK_RUNS = 16,	   /* UDP GSO messages per sendmmsg */
	TC_LINK_BATCH_BYTES = 2 * 65536, /* bytes batched before a flush */
	TC_LINK_SOCKBUF = 2 << 20, /* UDP socket buffers of a direct pair */
	TC_LINK_RX_MSGS = 8,	   /* messages per recvmmsg */
	TC_LINK_RX_MSG = 65536,	   /* bytes per message (a UDP_GRO burst) */
	TC_LINK_RX_ROUNDS = 2,	   /* recvmmsg calls per wakeup at most */
};

/* Inner payload types, first byte of every decrypted DATA packet. */
enum tc_inner {
	TC_INNER_FRAME = 0,	  /* an Ethernet frame follows */
	TC_INNER_PROBE = 1,	  /* [seq u32][sent_us u64] */
	TC_INNER_PROBE_REPLY = 2, /* echo of a probe */
	TC_INNER_CLOSE = 3,	  /* the sender removed its end of the link */
	/* [csum start u16][csum offset u16] (big endian), then an Ethernet
	 * frame whose TCP/UDP checksum is partial (struct tc_csum). */
	TC_INNER_FRAME_PARTIAL = 4,
	TC_INNER_PARTIAL_LEN = 4,
	/* GroupVPN: a frame between two members, the header of route.h
	 * first (PROTOCOL.md §14).  Only the overlay reads it. */
	TC_INNER_FORWARD = 5,
};

/* Why the controller holds a link (PROTOCOL.md §14.2). */
enum tc_link_kind {
	TC_LINK_KIND_UNSPECIFIED = 0,
	TC_LINK_KIND_SUCCESSOR = 1,
	TC_LINK_KIND_CHORD = 2,
	TC_LINK_KIND_ON_DEMAND = 3,
};

struct tc_link;

/* Why a link dropped a packet (metrics.c names them). */
enum tc_drop_reason {
	TC_DROP_BAD_PACKET,  /* malformed, or failed authentication */
	TC_DROP_REPLAY,	     /* a counter or initiation seen before */
	TC_DROP_NO_KEY,	     /* no keypair to open it with or to send with */
	TC_DROP_KEY_EXPIRED, /* its keypair is too old */
	TC_DROP_WRONG_KEY,   /* a handshake from a key other than the pinned */
	TC_DROP_TOO_BIG,     /* a frame too large to seal */
	TC_DROP_BAD_INNER,   /* authenticated, but an unknown or bad message */
	TC_DROP_REASONS,
};

/* How a link repaired itself (link_repair.c), per link and summed over
 * the node (PROTOCOL.md §15). */
struct tc_repair_counters {
	uint64_t recoveries;	    /* silences (TC_REPAIR_SUSPECT_MS) ended */
	uint64_t last_recovery_ms;  /* how long the last one lasted */
	uint64_t restarts;	    /* ICE restarts this side started */
	uint64_t peer_restarts;	    /* restarts of the peer's, answered */
	uint64_t restarts_given_up; /* restarts that selected nothing */
	uint64_t pair_switches;	    /* the selected pair changed */
	uint64_t relay_fallbacks;   /* from a direct pair onto a relay */
	uint64_t relay_upgrades;    /* from a relay back to a direct pair */
};

/* What GetState reports of a link; strings borrowed from the link until
 * it changes or is freed. */
struct tc_link_info {
	const char *overlay;
	const char *peer_uid;
	const uint8_t *peer_pub; /* IPOP_KEY_LEN bytes */
	enum tc_link_state state;
	bool controlling;
	const struct tc_cand_pair *pair; /* NULL until ICE selects one */
	uint64_t tx_bytes, tx_packets, rx_bytes, rx_packets, dropped;
	uint32_t rtt_us;
	uint64_t last_handshake_unix_ms;
	const char *cipher; /* DATA's suite (aead.h), "" before a handshake */
	/* For metrics.c: drops by reason (they may sum to less than dropped:
	 * the rest has no known reason), handshakes completed, and how often
	 * the link left CONNECTED. */
	uint64_t drops[TC_DROP_REASONS];
	unsigned handshakes;
	uint64_t flaps;
	struct tc_guard_counters guard; /* handshake guard, this link's share */
	enum tc_link_kind kind;
	uint32_t idle_ms; /* since the last data frame either way */
	struct tc_repair_counters repair;
	uint64_t silent_ms; /* since the last authenticated packet */
};

struct tc_link_ops {
	/* A decrypted Ethernet frame from the peer (borrowed for the call)
	 * and its checksum state (cs->start within the frame, checked). */
	void (*on_frame)(void *owner, struct tc_link *l, uint8_t *frame,
			 size_t len, const struct tc_csum *cs);
	/* The link's state changed (event already emitted). */
	void (*on_state)(void *owner, struct tc_link *l, enum tc_link_state st);
	/* A TC_INNER_FORWARD body (after the type byte, borrowed for the
	 * call); NULL: the type is refused like an unknown one. */
	void (*on_forward)(void *owner, struct tc_link *l, uint8_t *body,
			   size_t len);
};

/* Creates the link and starts gathering.  Borrows env (must outlive the
 * link); copies the rest.  psk may be NULL.  NULL with a logged reason. */
struct tc_link *tc_link_new(const struct tc_env *env, const char *overlay,
			    const char *peer_uid,
			    const uint8_t peer_pub[IPOP_KEY_LEN],
			    const uint8_t *psk, const struct tc_link_ops *ops,
			    void *owner);
/* Tells the peer (when the link can still send), closes the agent (TURN
 * allocations released), wipes keys, frees; emits nothing.  NULL is a
 * no-op. */
void tc_link_free(struct tc_link *l);
/* Sets the peer's ICE credentials and candidates (untrusted: from the
 * controller, relaying the peer).  0, -EINVAL (none parsed), -EALREADY if
 * credentials differ from ones already set. */
int tc_link_add_remote(struct tc_link *l, const struct tc_ice_creds *remote);
/* Encrypts one Ethernet frame (borrowed) and its checksum state (cs: NULL
 * or start 0 for a complete frame) into the link's send batch; the batch
 * leaves when it is full or on tc_link_flush.  0, or -errno when the link
 * cannot carry data yet (counted as dropped). */
int tc_link_send_frame(struct tc_link *l, const uint8_t *frame, size_t len,
		       const struct tc_csum *cs);
/* tc_link_send_frame for every segment of a TSO frame, each segment cut
 * straight into the batch (its payload copied once, no staging buffer).
 * 0, or the -errno of the last segment refused (each refused one is
 * counted as dropped). */
int tc_link_send_tso(struct tc_link *l, struct tc_gso_cut *c);
/* The same for a forwarded frame: pre (pre_len bytes, the route.h header)
 * then the frame, as one TC_INNER_FORWARD message. */
int tc_link_send_forward(struct tc_link *l, const uint8_t *pre, size_t pre_len,
			 const uint8_t *frame, size_t len);
/* Sends what is batched (the overlay calls it after each TAP wakeup). */
void tc_link_flush(struct tc_link *l);
/* Fills info (borrowing from the link, see struct tc_link_info). */
void tc_link_get_info(const struct tc_link *l, struct tc_link_info *info);
/* Local credentials + candidates once gathering is done (borrowed from the
 * link), else NULL. */
const struct tc_ice_creds *tc_link_local(const struct tc_link *l);
const char *tc_link_peer_uid(const struct tc_link *l);
/* The handshake guard's totals over every link of this process (all zero
 * when there is no link). */
void tc_link_guard_totals(struct tc_guard_counters *c);
/* The repair counters summed over every link this process had. */
void tc_link_repair_totals(struct tc_repair_counters *c);
/* Whether tincan reads the link's socket itself (fast receive path). */
bool tc_link_fast_rx(const struct tc_link *l);
enum tc_link_state tc_link_state(const struct tc_link *l);
uint32_t tc_link_rtt_us(const struct tc_link *l);
void tc_link_set_kind(struct tc_link *l, enum tc_link_kind kind);
enum tc_link_kind tc_link_kind(const struct tc_link *l);
/* Milliseconds since the last authenticated packet from the peer (its
 * probe replies arrive every TC_LINK_PROBE_MS on a live link). */
uint32_t tc_link_rx_age_ms(const struct tc_link *l);
/* Milliseconds since the last data frame either way (probes and
 * keepalives aside; since creation before any). */
uint32_t tc_link_idle_ms(const struct tc_link *l);
/* True once per idle spell: the link has been idle for idle_ms or more
 * and this was not said since its last data frame. */
bool tc_link_take_idle(struct tc_link *l, uint32_t idle_ms);

#endif
