/*
 * Link session: the secure channel of one link, WireGuard-style, on top of
 * the Noise IKpsk2 handshake.  This module owns the handshake messages as
 * framed on the wire, the transport keypairs (next/current/previous), the
 * replay windows, rekey decisions and wiping of old keys.  It does no I/O and
 * reads no clock: callers pass the time in, so tests can drive it.
 *
 * Wire formats, version 3 (all integers little-endian):
 *   INIT   [type=1][3 zero][sender idx u32]
 *          [noise msg1: e, s, payload(16): ts(12) suites u8 3 zero]
 *          [mac1 16][mac2 16]                                        = 152 B
 *   RESP   [type=2][3 zero][sender idx u32][receiver idx u32]
 *          [noise msg2: e, payload(8): chosen u8 suites u8 6 zero]   =  68 B
 *   COOKIE [type=3][3 zero][receiver idx u32][nonce 24][cookie 32]   =  64 B
 *   DATA   [type=4][3 zero][receiver idx u32][counter u64][AEAD ciphertext]
 * mac1, mac2 and the cookie reply are cookie.h's.  "suites" is a set of
 * aead.h's tc_suite bits: in INIT the initiator's offer, in RESP the
 * responder's own set, next to the one suite it chose for DATA (the
 * fastest of the two sets' intersection, tc_aead_suite_best).  Both travel
 * inside the Noise messages, encrypted and in the handshake hash: on the
 * path they can be neither read nor changed (a changed bit fails the
 * handshake), so no one but the two ends picks the suite.  The initiator
 * checks the choice against both sets.  The Noise handshake itself is
 * always ChaChaPoly; only DATA uses the chosen suite.
 * Version 2 had a 148-byte INIT and a 60-byte RESP without suites,
 * version 1 (before the MACs) a 116-byte INIT; each version has its own
 * Noise prologue.  Peers of different versions drop each other's
 * initiations by their length (-EPROTONOSUPPORT), and a forged length
 * cannot mix them, since the prologue differs.
 * The initiation payload starts with a TAI64N timestamp; a responder accepts
 * an initiation only if its timestamp is newer than the last accepted one,
 * so a replayed initiation gets no answer.  Only the initiator side of a
 * link starts handshakes (the ICE-controlling side), so two cannot cross.
 */
#ifndef TC_SESSION_H
#define TC_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tc_msg_type {
	TC_MSG_INIT = 1,
	TC_MSG_RESP = 2,
	TC_MSG_COOKIE = 3,
	TC_MSG_DATA = 4,
};

enum {
	TC_INIT_LEN = 8 + 32 + 48 + 16 + 16 + 2 * 16,
	TC_INIT_V2_LEN = 8 + 32 + 48 + 12 + 16 + 2 * 16, /* refused */
	TC_INIT_V1_LEN = 8 + 32 + 48 + 12 + 16,		 /* refused */
	TC_RESP_LEN = 12 + 32 + 8 + 16, /* not 64: COOKIE's length */
	TC_DATA_HDR_LEN = 16,
	TC_DATA_OVERHEAD = 16 + 16, /* header + tag */
	TC_REPLAY_WINDOW = 8192,    /* counters tracked behind the top */
	TC_REKEY_AFTER_MS = 120 * 1000,
	TC_REJECT_AFTER_MS = 180 * 1000,
	TC_REKEY_TIMEOUT_MS = 2 * 1000, /* resend an unanswered INIT */
};

#define TC_REKEY_AFTER_MSGS (1ULL << 60)
#define TC_REJECT_AFTER_MSGS (UINT64_MAX - 8192 - 1)

/* Sliding replay window over 64-bit counters.  Public value type. */
struct tc_replay {
	uint64_t top; /* highest counter accepted + 1 */
	uint64_t bits[TC_REPLAY_WINDOW / 64];
};

void tc_replay_init(struct tc_replay *r);
/* Would counter c be accepted?  Does not change the window. */
bool tc_replay_check(const struct tc_replay *r, uint64_t c);
/* Records c as seen; call only after the AEAD check passed.  Returns false
 * (and changes nothing) if c is a replay or too old. */
bool tc_replay_update(struct tc_replay *r, uint64_t c);

/* Time as the caller sees it. */
struct tc_time {
	uint64_t mono_ms; /* monotonic, for timers */
	uint64_t wall_ns; /* realtime, for the TAI64N timestamp */
};

/* Results of tc_session_receive, >= 0; errors are -errno. */
enum tc_rx {
	TC_RX_DATA = 0,	       /* plaintext written to out */
	TC_RX_REPLY = 1,       /* handshake response written to out: send it */
	TC_RX_ESTABLISHED = 2, /* initiator: handshake completed, keys ready */
	TC_RX_COOKIE = 3, /* initiator: a cookie for the next INIT's mac2 */
};

struct tc_session;

/* New session.  Borrows s_priv/s_pub (must outlive the session), copies
 * peer_pub (the static key the peer must prove) and psk (NULL: zeros). */
struct tc_session *tc_session_new(bool initiator, const uint8_t s_priv[32],
				  const uint8_t s_pub[32],
				  const uint8_t peer_pub[32],
				  const uint8_t psk[32]);
/* Wipes every key and frees; NULL is a no-op. */
void tc_session_free(struct tc_session *s);
/* The suites (aead.h's tc_suite bits) every session created afterwards
 * offers or accepts; the default is tc_aead_suites_local().  0, or -EINVAL
 * for an empty set or an unknown bit, -ENOTSUP for a suite this machine
 * cannot run. */
int tc_session_set_default_suites(unsigned set);
unsigned tc_session_default_suites(void);
/* The same for one session, from its next handshake on. */
int tc_session_set_suites(struct tc_session *s, unsigned set);
/* The suite of the keypair DATA is sent with (0 before the first
 * handshake completes). */
unsigned tc_session_suite(const struct tc_session *s);
/* Initiator: builds a fresh INIT into out (cap >= TC_INIT_LEN), with mac1
 * and, while a cookie from the responder is fresh, mac2.  Returns its
 * length, -EINVAL on a responder. */
int tc_session_initiate(struct tc_session *s, const struct tc_time *t,
			uint8_t *out, size_t cap);
/* Handles one packet from the link (untrusted: from peer).  Returns a
 * tc_rx value with *out_len set, or -errno: -EBADMSG (malformed or failed
 * authentication), -EALREADY (replay), -ENOKEY (no keypair for the index),
 * -EKEYEXPIRED (keypair too old), -EPERM (wrong static key),
 * -EPROTONOSUPPORT (an initiation of wire version 1 or 2), -ENOPROTOOPT
 * (responder: the offer and our suites have none in common), -EPROTO
 * (initiator: an authentic RESP whose choice of suite breaks the rule).  An
 * INIT's mac1 is checked before any DH; its mac2 is the caller's business
 * (cookie.h's guard, which knows the sender's address).  A negative result
 * never changes the session.  For a DATA packet (type TC_MSG_DATA) out may
 * be pkt + TC_DATA_HDR_LEN, writable: it is opened in place, and if refused
 * may be left zeroed there; any other packet needs an out apart from pkt. */
int tc_session_receive(struct tc_session *s, const struct tc_time *t,
		       const uint8_t *pkt, size_t len, uint8_t *out, size_t cap,
		       size_t *out_len);
/* Encrypts len bytes into a DATA packet in out (cap >= len +
 * TC_DATA_OVERHEAD).  pt may be out + TC_DATA_HDR_LEN (sealed in place);
 * otherwise it must not overlap out.  Returns the packet length, -ENOKEY when
 * no current keypair may send (none yet, expired, or responder not yet
 * confirmed), or -EIO when the cipher failed (nothing to send). */
int tc_session_encrypt(struct tc_session *s, const struct tc_time *t,
		       const uint8_t *pt, size_t len, uint8_t *out, size_t cap);
/* Takes s's lock once for a batch of calls from this thread (a link
 * sealing the segments of one TSO frame, or opening one wakeup's
 * packets): until tc_session_release each
 * call on s from this thread skips its own lock, which on this path is an
 * atomic operation per packet that waits for the ciphertext's stores.
 * False (nothing taken; calls lock as usual) for NULL or when this thread
 * holds a session already.  tc_session_free ends a hold on s. */
bool tc_session_hold(struct tc_session *s);
/* Ends a hold tc_session_hold(s) returned true for (else a no-op). */
void tc_session_release(struct tc_session *s);
/* True when the initiator should start a new handshake now: no keys, keys
 * older than TC_REKEY_AFTER_MS or past TC_REKEY_AFTER_MSGS, or an
 * unanswered INIT older than TC_REKEY_TIMEOUT_MS. */
bool tc_session_wants_handshake(const struct tc_session *s,
				const struct tc_time *t);
/* True when a current keypair may send. */
bool tc_session_can_send(const struct tc_session *s, const struct tc_time *t);
/* Monotonic ms of the last completed handshake, 0 if none. */
uint64_t tc_session_last_handshake(const struct tc_session *s);
/* Wall-clock ns of the last completed handshake, 0 if none. */
uint64_t tc_session_last_handshake_wall(const struct tc_session *s);
/* Number of completed handshakes. */
unsigned tc_session_handshakes(const struct tc_session *s);

#endif
