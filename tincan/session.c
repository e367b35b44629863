/*
 * Link session: frames the Noise IKpsk2 handshake as INIT/RESP packets,
 * keeps the transport keypairs (next, current, previous) with their indices,
 * counters and replay windows, and turns DATA packets into plaintext and
 * back.  It owns every key of one link and wipes each one when it is
 * replaced; it does no I/O and reads no clock.
 *
 * Choices the header leaves open:
 * - The Noise prologue is the fixed string "IPOP-C link v3" (v2 had no
 *   suites, v1 no MACs), so a handshake cannot be replayed into another
 *   protocol built on the same pattern, nor into another version.
 * - The suites: the initiator offers its set (fixed when the INIT is
 *   built), the responder picks tc_aead_suite_best(offer & own) or refuses
 *   the INIT (-ENOPROTOOPT) when that is empty, and the initiator refuses
 *   (-EPROTO) a RESP whose choice is not best(offer & responder's set).
 *   Each keypair keeps its suite: a rekey may change it, old packets
 *   still open under the old keypair.  AES-256-GCM counters use Noise's
 *   AESGCM nonce (big-endian), ChaCha20-Poly1305 Noise's ChaChaPoly one.
 * - mac1 and mac2 close the INIT outside the Noise message (as WireGuard's
 *   do): they are checked before the Noise state is even allocated.  The
 *   initiator keeps the latest cookie reply to its pending INIT and uses it
 *   for mac2 of the INITs it sends within TC_COOKIE_USE_MS.
 * - The 16-byte DATA header is the AEAD's associated data.  WireGuard relies
 *   on the counter being the nonce and the index selecting the key; binding
 *   the whole header costs nothing and leaves no unauthenticated bit.
 * - The replay window tracks the TC_REPLAY_WINDOW counters top-WINDOW ..
 *   top-1 (top is the highest accepted counter + 1): top-WINDOW is still
 *   accepted once, top-WINDOW-1 is too old.  UINT64_MAX is never accepted.
 * - The responder's keypair waits in "next" until the first DATA under it
 *   authenticates, so "current" is always confirmed and is what we send on.
 *   A handshake counts as completed at that point for the responder and on
 *   RESP for the initiator.
 * - The clear INIT and RESP headers (type, indices) are mixed into the
 *   handshake hash before the Noise message (tc_noise_hs_*_ad), so a
 *   changed index fails authentication instead of misrouting the keys.
 * - The initiator's timestamps strictly increase even if the wall clock does
 *   not, so a quick retry is not taken for a replay.
 * - Every function takes the session's lock, so a receive thread and a send
 *   thread may share one session.
 * A negative result from tc_session_receive leaves the session unchanged:
 * every check runs before the first write to the session.  Output buffers
 * must not overlap the input packet (the AEAD does not allow shifted
 * overlap, and RESP is written while INIT is still being read), but for
 * DATA opened in place: out at the ciphertext itself.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>

#include <sodium.h>

#include "tincan/aead.h"
#include "tincan/cookie.h"
#include "tincan/noise.h"
#include "tincan/session.h"

enum {
	KEY_LEN = TC_NOISE_KEY_LEN,
	TS_LEN = 12,
	HDR_TYPE = 0,	   /* u8 type, then 3 reserved zero bytes */
	HDR_IDX = 4,	   /* u32 sender (INIT/RESP) or receiver (DATA) */
	RESP_RECEIVER = 8, /* u32 receiver index in RESP */
	DATA_COUNTER = 8,  /* u64 counter in DATA */
	INIT_PAYLOAD_LEN = TS_LEN + 4, /* ts, suites, 3 zero */
	RESP_PAYLOAD_LEN = 8,	       /* chosen, suites, 6 zero */
	INIT_NOISE = 8,
	INIT_NOISE_LEN = TC_INIT_LEN - INIT_NOISE - 2 * TC_MAC_LEN,
	INIT_MAC1 = TC_INIT_LEN - 2 * TC_MAC_LEN,
	RESP_NOISE = 12,
	COOKIE_RECEIVER = 4,
};

static const uint8_t prologue[] = "IPOP-C link v3";

/* tc_session_set_default_suites; 0: tc_aead_suites_local(). */
static unsigned default_suites;

struct keypair {
	bool valid;
	uint32_t local_idx;
	uint32_t remote_idx;
	struct tc_aead_key send; /* its suite is the keypair's */
	struct tc_aead_key recv;
	uint64_t send_ctr;
	uint64_t created_ms;
	struct tc_replay replay;
};

struct tc_session {
	pthread_mutex_t *lock; /* &lock_store: const calls lock too */
	pthread_mutex_t lock_store;
	bool initiator;
	unsigned suites;   /* offered (initiator) or accepted (responder) */
	unsigned hs_offer; /* initiator: the suites the pending INIT offered */
	const uint8_t *s_priv;
	const uint8_t *s_pub;
	uint8_t peer_pub[KEY_LEN];
	uint8_t psk[KEY_LEN];
	struct tc_cookie_keys own_keys;	 /* responder: mac1 of our key */
	struct tc_cookie_keys peer_keys; /* initiator: the peer's */
	uint8_t cookie[TC_COOKIE_LEN];	 /* initiator: latest cookie */
	uint64_t cookie_ms;
	bool have_cookie;
	uint8_t hs_mac1[TC_MAC_LEN]; /* mac1 of the pending INIT */
	struct keypair cur, prev, next;
	struct tc_noise_hs *hs; /* initiator: INIT awaiting its RESP */
	uint32_t hs_idx;
	uint64_t hs_sent_ms;
	uint64_t last_sent_wall; /* initiator: newest timestamp sent */
	uint8_t last_ts[TS_LEN]; /* responder: newest timestamp accepted */
	uint64_t last_hs_ms;
	uint64_t last_hs_wall;
	unsigned handshakes;
};

/* The session this thread holds (tc_session_hold): its calls skip the
 * lock, which the hold took once for all of them. */
static _Thread_local const struct tc_session *held;

static void session_lock(const struct tc_session *s)
{
	if (held != s)
		pthread_mutex_lock(s->lock);
}

static void session_unlock(const struct tc_session *s)
{
	if (held != s)
		pthread_mutex_unlock(s->lock);
}

bool tc_session_hold(struct tc_session *s)
{
	if (s == NULL || held != NULL)
		return false;
	pthread_mutex_lock(s->lock);
	held = s;
	return true;
}

void tc_session_release(struct tc_session *s)
{
	if (s == NULL || held != s)
		return;
	held = NULL;
	pthread_mutex_unlock(s->lock);
}

/* Replay window. */

void tc_replay_init(struct tc_replay *r)
{
	memset(r, 0, sizeof(*r));
}

static bool bit_test(const struct tc_replay *r, uint64_t c)
{
	uint64_t slot = c % TC_REPLAY_WINDOW;

	return (r->bits[slot / 64] >> (slot % 64)) & 1;
}

bool tc_replay_check(const struct tc_replay *r, uint64_t c)
{
	if (c == UINT64_MAX)
		return false;
	if (c >= r->top)
		return true;
	if (r->top - c > TC_REPLAY_WINDOW)
		return false;
	return !bit_test(r, c);
}

/* Forgets the slots of counters top .. c, which the new window reuses. */
static void advance(struct tc_replay *r, uint64_t c)
{
	uint64_t k = r->top, slot;

	if (c - r->top >= TC_REPLAY_WINDOW) {
		memset(r->bits, 0, sizeof(r->bits));
		return;
	}
	while (k <= c) {
		slot = k % TC_REPLAY_WINDOW;
		if (slot % 64 == 0 && c - k >= 63) {
			r->bits[slot / 64] = 0;
			k += 64;
		} else {
			r->bits[slot / 64] &= ~(1ULL << (slot % 64));
			k++;
		}
	}
}

bool tc_replay_update(struct tc_replay *r, uint64_t c)
{
	uint64_t slot;

	if (!tc_replay_check(r, c))
		return false;
	if (c >= r->top) {
		advance(r, c);
		r->top = c + 1;
	}
	slot = c % TC_REPLAY_WINDOW;
	r->bits[slot / 64] |= 1ULL << (slot % 64);
	return true;
}

/* Little helpers. */

static void put_le32(uint8_t *p, uint32_t v)
{
	int i;

	for (i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

static uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static void put_header(uint8_t *p, enum tc_msg_type type, uint32_t idx)
{
	p[HDR_TYPE] = (uint8_t)type;
	p[1] = p[2] = p[3] = 0;
	put_le32(p + HDR_IDX, idx);
}

/* TAI64N: big-endian 2^62 + seconds, then big-endian nanoseconds. */
static void tai64n(uint8_t out[TS_LEN], uint64_t wall_ns)
{
	uint64_t sec = (1ULL << 62) + wall_ns / 1000000000ULL;
	uint32_t nsec = (uint32_t)(wall_ns % 1000000000ULL);
	int i;

	for (i = 0; i < 8; i++)
		out[i] = (uint8_t)(sec >> (56 - 8 * i));
	for (i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)(nsec >> (24 - 8 * i));
}

static uint64_t age(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

static void keypair_wipe(struct keypair *kp)
{
	tc_aead_key_wipe(&kp->send);
	tc_aead_key_wipe(&kp->recv);
	sodium_memzero(kp, sizeof(*kp));
}

/* dst's keys are released, src's move into dst (their handles change
 * owner: aead.h), and src is left zeroed. */
static void keypair_move(struct keypair *dst, struct keypair *src)
{
	keypair_wipe(dst);
	memcpy(dst, src, sizeof(*dst));
	sodium_memzero(src, sizeof(*src));
}

static bool keypair_usable(const struct keypair *kp, const struct tc_time *t)
{
	return kp->valid &&
	       age(t->mono_ms, kp->created_ms) < TC_REJECT_AFTER_MS &&
	       kp->send_ctr < TC_REJECT_AFTER_MSGS;
}

static bool idx_in_use(const struct tc_session *s, uint32_t idx)
{
	return (s->cur.valid && s->cur.local_idx == idx) ||
	       (s->prev.valid && s->prev.local_idx == idx) ||
	       (s->next.valid && s->next.local_idx == idx) ||
	       (s->hs != NULL && s->hs_idx == idx);
}

static uint32_t fresh_idx(const struct tc_session *s)
{
	uint32_t idx;

	do
		idx = randombytes_random();
	while (idx_in_use(s, idx));
	return idx;
}

/* Fills kp from a completed handshake, for suite (which this machine can
 * run: both ends checked). */
static void keypair_set(struct keypair *kp, struct tc_noise_hs *hs,
			unsigned suite, uint32_t local_idx, uint32_t remote_idx,
			const struct tc_time *t)
{
	uint8_t send_key[KEY_LEN], recv_key[KEY_LEN];

	keypair_wipe(kp);
	tc_noise_hs_split(hs, send_key, recv_key);
	(void)tc_aead_key_set(&kp->send, suite, send_key);
	(void)tc_aead_key_set(&kp->recv, suite, recv_key);
	sodium_memzero(send_key, sizeof(send_key));
	sodium_memzero(recv_key, sizeof(recv_key));
	kp->local_idx = local_idx;
	kp->remote_idx = remote_idx;
	kp->created_ms = t->mono_ms;
	tc_replay_init(&kp->replay);
	kp->valid = true;
}

/* Current becomes previous, the old previous is wiped, and the current slot
 * is left for the caller to fill. */
static void retire_current(struct tc_session *s)
{
	keypair_move(&s->prev, &s->cur);
}

static void handshake_completed(struct tc_session *s, const struct tc_time *t)
{
	s->handshakes++;
	s->last_hs_ms = t->mono_ms;
	s->last_hs_wall = t->wall_ns;
}

/* Responder: the first authenticated DATA under next confirms it. */
static void confirm_next(struct tc_session *s, const struct tc_time *t)
{
	retire_current(s);
	keypair_move(&s->cur, &s->next);
	handshake_completed(s, t);
}

/* Construction. */

struct tc_session *tc_session_new(bool initiator, const uint8_t s_priv[32],
				  const uint8_t s_pub[32],
				  const uint8_t peer_pub[32],
				  const uint8_t psk[32])
{
	struct tc_session *s;

	if (sodium_init() < 0 || s_priv == NULL || s_pub == NULL ||
	    peer_pub == NULL)
		return NULL;
	s = sodium_malloc(sizeof(*s));
	if (s == NULL)
		return NULL;
	sodium_memzero(s, sizeof(*s));
	if (pthread_mutex_init(&s->lock_store, NULL) != 0) {
		sodium_free(s);
		return NULL;
	}
	/* Const accessors lock through this pointer, with no cast. */
	s->lock = &s->lock_store;
	s->initiator = initiator;
	s->suites = tc_session_default_suites();
	s->s_priv = s_priv;
	s->s_pub = s_pub;
	memcpy(s->peer_pub, peer_pub, KEY_LEN);
	tc_cookie_keys_init(&s->own_keys, s_pub);
	tc_cookie_keys_init(&s->peer_keys, peer_pub);
	if (psk != NULL)
		memcpy(s->psk, psk, KEY_LEN);
	return s;
}

void tc_session_free(struct tc_session *s)
{
	if (s == NULL)
		return;
	tc_session_release(s); /* a hold ends with the session */
	tc_noise_hs_free(s->hs);
	keypair_wipe(&s->cur);
	keypair_wipe(&s->prev);
	keypair_wipe(&s->next);
	pthread_mutex_destroy(&s->lock_store);
	sodium_memzero(s, sizeof(*s));
	sodium_free(s);
}

/* Initiator: INIT. */

int tc_session_initiate(struct tc_session *s, const struct tc_time *t,
			uint8_t *out, size_t cap)
{
	struct tc_noise_hs *hs;
	uint8_t payload[INIT_PAYLOAD_LEN] = {0};
	uint64_t wall;
	uint32_t idx;
	int rc;

	if (s == NULL || t == NULL || out == NULL || !s->initiator)
		return -EINVAL;
	if (cap < TC_INIT_LEN)
		return -ENOSPC;
	hs = tc_noise_hs_new(true, prologue, sizeof(prologue) - 1, s->s_priv,
			     s->s_pub, s->peer_pub, s->psk);
	if (hs == NULL)
		return -ENOMEM;

	session_lock(s);
	wall =
	    t->wall_ns > s->last_sent_wall ? t->wall_ns : s->last_sent_wall + 1;
	tai64n(payload, wall);
	payload[TS_LEN] = (uint8_t)s->suites;
	idx = fresh_idx(s);
	put_header(out, TC_MSG_INIT, idx);
	rc = tc_noise_hs_write_ad(hs, out, INIT_NOISE, payload, sizeof(payload),
				  out + INIT_NOISE, INIT_NOISE_LEN);
	if (rc != INIT_NOISE_LEN) {
		session_unlock(s);
		tc_noise_hs_free(hs);
		return rc < 0 ? rc : -EINVAL;
	}
	if (s->have_cookie && age(t->mono_ms, s->cookie_ms) >= TC_COOKIE_USE_MS)
		s->have_cookie = false;
	tc_cookie_seal(&s->peer_keys, s->have_cookie ? s->cookie : NULL, out,
		       TC_INIT_LEN);
	memcpy(s->hs_mac1, out + INIT_MAC1, TC_MAC_LEN);
	tc_noise_hs_free(s->hs); /* a new INIT supersedes the old */
	s->hs = hs;
	s->hs_offer = s->suites;
	s->hs_idx = idx;
	s->hs_sent_ms = t->mono_ms;
	s->last_sent_wall = wall;
	session_unlock(s);
	return TC_INIT_LEN;
}

/* Responder: INIT in, RESP out.  untrusted: pkt is from the peer. */
static int recv_init(struct tc_session *s, const struct tc_time *t,
		     const uint8_t *pkt, size_t len, uint8_t *out, size_t cap,
		     size_t *out_len)
{
	struct tc_noise_hs *hs;
	uint8_t ts[INIT_PAYLOAD_LEN], reply[RESP_PAYLOAD_LEN] = {0};
	const uint8_t *rs;
	uint32_t local, remote;
	unsigned suite;
	int rc;

	if (!s->initiator && (len == TC_INIT_V1_LEN || len == TC_INIT_V2_LEN))
		return -EPROTONOSUPPORT;
	if (s->initiator || len != TC_INIT_LEN)
		return -EBADMSG;
	/* The cheap check first: no Noise state, no DH without mac1. */
	if (!tc_cookie_mac1_ok(&s->own_keys, pkt, len))
		return -EBADMSG;
	remote = get_le32(pkt + HDR_IDX);
	if (cap < TC_RESP_LEN)
		return -ENOSPC;
	hs = tc_noise_hs_new(false, prologue, sizeof(prologue) - 1, s->s_priv,
			     s->s_pub, NULL, s->psk);
	if (hs == NULL)
		return -ENOMEM;
	rc = tc_noise_hs_read_ad(hs, pkt, INIT_NOISE, pkt + INIT_NOISE,
				 INIT_NOISE_LEN, ts, sizeof(ts));
	if (rc != INIT_PAYLOAD_LEN) {
		rc = -EBADMSG;
		goto out;
	}
	rs = tc_noise_hs_remote_static(hs);
	if (rs == NULL || sodium_memcmp(rs, s->peer_pub, KEY_LEN) != 0) {
		rc = -EPERM;
		goto out;
	}
	/* Big-endian, so byte order is time order. */
	if (memcmp(ts, s->last_ts, TS_LEN) <= 0) {
		rc = -EALREADY;
		goto out;
	}
	/* The offer's unknown bits and the reserved bytes are a later
	 * version's business: ignored. */
	suite = tc_aead_suite_best(ts[TS_LEN] & s->suites);
	if (suite == 0) {
		rc = -ENOPROTOOPT;
		goto out;
	}
	reply[0] = (uint8_t)suite;
	reply[1] = (uint8_t)s->suites;
	local = fresh_idx(s);
	put_header(out, TC_MSG_RESP, local);
	put_le32(out + RESP_RECEIVER, remote);
	rc = tc_noise_hs_write_ad(hs, out, RESP_NOISE, reply, sizeof(reply),
				  out + RESP_NOISE, cap - RESP_NOISE);
	if (rc != TC_RESP_LEN - RESP_NOISE) {
		rc = rc < 0 ? rc : -EBADMSG;
		goto out;
	}
	keypair_set(&s->next, hs, suite, local, remote, t);
	memcpy(s->last_ts, ts, TS_LEN);
	*out_len = TC_RESP_LEN;
	rc = TC_RX_REPLY;
out:
	tc_noise_hs_free(hs);
	return rc;
}

/* Initiator: whether the responder chose as it must: one suite, the best
 * of what we offered and it runs. */
static bool choice_ok(const struct tc_session *s, const uint8_t *reply)
{
	unsigned chosen = reply[0], theirs = reply[1] & TC_SUITES_KNOWN;

	return chosen != 0 &&
	       chosen == tc_aead_suite_best(s->hs_offer & theirs);
}

/* Initiator: RESP in.  untrusted: pkt is from the peer. */
static int recv_resp(struct tc_session *s, const struct tc_time *t,
		     const uint8_t *pkt, size_t len, size_t *out_len)
{
	uint8_t reply[RESP_PAYLOAD_LEN];
	struct tc_noise_hs *hs;
	int rc;

	if (!s->initiator || len != TC_RESP_LEN)
		return -EBADMSG;
	if (s->hs == NULL || get_le32(pkt + RESP_RECEIVER) != s->hs_idx)
		return -ENOKEY;
	/* Read on a copy: neither a forged RESP nor a refused choice
	 * cancels the pending handshake. */
	hs = tc_noise_hs_dup(s->hs);
	if (hs == NULL)
		return -ENOMEM;
	rc = tc_noise_hs_read_ad(hs, pkt, RESP_NOISE, pkt + RESP_NOISE,
				 len - RESP_NOISE, reply, sizeof(reply));
	if (rc != RESP_PAYLOAD_LEN || !choice_ok(s, reply)) {
		tc_noise_hs_free(hs);
		return rc == RESP_PAYLOAD_LEN ? -EPROTO : -EBADMSG;
	}
	retire_current(s);
	keypair_set(&s->cur, hs, reply[0], s->hs_idx, get_le32(pkt + HDR_IDX),
		    t);
	handshake_completed(s, t);
	tc_noise_hs_free(hs);
	tc_noise_hs_free(s->hs);
	s->hs = NULL;
	*out_len = 0;
	return TC_RX_ESTABLISHED;
}

/* Initiator: a cookie reply to the pending INIT.  untrusted: from the
 * network; it only changes the next INIT's mac2. */
static int recv_cookie(struct tc_session *s, const struct tc_time *t,
		       const uint8_t *pkt, size_t len, size_t *out_len)
{
	uint8_t cookie[TC_COOKIE_LEN];

	if (!s->initiator || len != TC_COOKIE_REPLY_LEN)
		return -EBADMSG;
	if (s->hs == NULL || get_le32(pkt + COOKIE_RECEIVER) != s->hs_idx)
		return -ENOKEY;
	if (tc_cookie_open_reply(&s->peer_keys, s->hs_mac1, pkt, len, cookie) !=
	    0)
		return -EBADMSG;
	memcpy(s->cookie, cookie, sizeof(cookie));
	sodium_memzero(cookie, sizeof(cookie));
	s->cookie_ms = t->mono_ms;
	s->have_cookie = true;
	*out_len = 0;
	return TC_RX_COOKIE;
}

static struct keypair *find_keypair(struct tc_session *s, uint32_t idx)
{
	if (s->cur.valid && s->cur.local_idx == idx)
		return &s->cur;
	if (s->prev.valid && s->prev.local_idx == idx)
		return &s->prev;
	if (s->next.valid && s->next.local_idx == idx)
		return &s->next;
	return NULL;
}

/* DATA in.  untrusted: pkt is from the peer. */
static int recv_data(struct tc_session *s, const struct tc_time *t,
		     const uint8_t *pkt, size_t len, uint8_t *out, size_t cap,
		     size_t *out_len)
{
	struct keypair *kp;
	uint8_t dummy[1];
	uint64_t ctr;
	size_t plen;

	if (len < TC_DATA_OVERHEAD)
		return -EBADMSG;
	kp = find_keypair(s, get_le32(pkt + HDR_IDX));
	if (kp == NULL)
		return -ENOKEY;
	ctr = get_le64(pkt + DATA_COUNTER);
	if (age(t->mono_ms, kp->created_ms) >= TC_REJECT_AFTER_MS ||
	    ctr >= TC_REJECT_AFTER_MSGS)
		return -EKEYEXPIRED;
	/* Cheap reject before the AEAD; the window moves only after it. */
	if (!tc_replay_check(&kp->replay, ctr))
		return -EALREADY;
	plen = len - TC_DATA_OVERHEAD;
	if (cap < plen || (out == NULL && plen > 0))
		return -ENOSPC;
	if (tc_aead_key_open(&kp->recv, ctr, plen > 0 ? out : dummy,
			     pkt + TC_DATA_HDR_LEN, len - TC_DATA_HDR_LEN, pkt,
			     TC_DATA_HDR_LEN) != 0)
		return -EBADMSG;
	tc_replay_update(&kp->replay, ctr);
	if (kp == &s->next)
		confirm_next(s, t);
	*out_len = plen;
	return TC_RX_DATA;
}

int tc_session_receive(struct tc_session *s, const struct tc_time *t,
		       const uint8_t *pkt, size_t len, uint8_t *out, size_t cap,
		       size_t *out_len)
{
	int rc;

	if (s == NULL || t == NULL || out_len == NULL ||
	    (pkt == NULL && len > 0) || (out == NULL && cap > 0))
		return -EINVAL;
	/* untrusted: from peer; the 8-byte common header comes first. */
	if (len < 8 || pkt[1] != 0 || pkt[2] != 0 || pkt[3] != 0)
		return -EBADMSG;
	session_lock(s);
	switch (pkt[HDR_TYPE]) {
	case TC_MSG_INIT:
		rc = recv_init(s, t, pkt, len, out, cap, out_len);
		break;
	case TC_MSG_RESP:
		rc = recv_resp(s, t, pkt, len, out_len);
		break;
	case TC_MSG_COOKIE:
		rc = recv_cookie(s, t, pkt, len, out_len);
		break;
	case TC_MSG_DATA:
		rc = recv_data(s, t, pkt, len, out, cap, out_len);
		break;
	default:
		rc = -EBADMSG;
		break;
	}
	session_unlock(s);
	return rc;
}

/* DATA out. */

int tc_session_encrypt(struct tc_session *s, const struct tc_time *t,
		       const uint8_t *pt, size_t len, uint8_t *out, size_t cap)
{
	struct keypair *kp;
	int rc;

	if (s == NULL || t == NULL || out == NULL || (pt == NULL && len > 0))
		return -EINVAL;
	if (len > (size_t)INT_MAX - TC_DATA_OVERHEAD)
		return -EMSGSIZE;
	if (cap < len + TC_DATA_OVERHEAD)
		return -ENOSPC;
	session_lock(s);
	kp = &s->cur;
	if (!keypair_usable(kp, t)) {
		rc = -ENOKEY;
		goto out;
	}
	put_header(out, TC_MSG_DATA, kp->remote_idx);
	put_le64(out + DATA_COUNTER, kp->send_ctr);
	rc = tc_aead_key_seal(&kp->send, kp->send_ctr, out + TC_DATA_HDR_LEN,
			      pt, len, out, TC_DATA_HDR_LEN);
	kp->send_ctr++; /* even after a failure: never a nonce twice */
	if (rc == 0)
		rc = (int)(len + TC_DATA_OVERHEAD);
out:
	session_unlock(s);
	return rc;
}

/* Suites. */

static int suites_ok(unsigned set)
{
	if (set == 0 || (set & ~(unsigned)TC_SUITES_KNOWN) != 0)
		return -EINVAL;
	if ((set & ~tc_aead_suites_local()) != 0)
		return -ENOTSUP;
	return 0;
}

int tc_session_set_default_suites(unsigned set)
{
	int rc = suites_ok(set);

	if (rc == 0)
		default_suites = set;
	return rc;
}

unsigned tc_session_default_suites(void)
{
	return default_suites != 0 ? default_suites : tc_aead_suites_local();
}

int tc_session_set_suites(struct tc_session *s, unsigned set)
{
	int rc = suites_ok(set);

	if (s == NULL)
		return -EINVAL;
	if (rc == 0) {
		session_lock(s);
		s->suites = set;
		session_unlock(s);
	}
	return rc;
}

unsigned tc_session_suite(const struct tc_session *s)
{
	unsigned v;

	if (s == NULL)
		return 0;
	session_lock(s);
	v = s->cur.valid ? s->cur.send.suite : 0;
	session_unlock(s);
	return v;
}

/* Timers and queries. */

bool tc_session_wants_handshake(const struct tc_session *s,
				const struct tc_time *t)
{
	bool want;

	if (s == NULL || t == NULL || !s->initiator)
		return false;
	session_lock(s);
	if (s->hs != NULL)
		want = age(t->mono_ms, s->hs_sent_ms) >= TC_REKEY_TIMEOUT_MS;
	else
		want =
		    !s->cur.valid ||
		    age(t->mono_ms, s->cur.created_ms) >= TC_REKEY_AFTER_MS ||
		    s->cur.send_ctr >= TC_REKEY_AFTER_MSGS;
	session_unlock(s);
	return want;
}

bool tc_session_can_send(const struct tc_session *s, const struct tc_time *t)
{
	bool ok;

	if (s == NULL || t == NULL)
		return false;
	session_lock(s);
	ok = keypair_usable(&s->cur, t);
	session_unlock(s);
	return ok;
}

uint64_t tc_session_last_handshake(const struct tc_session *s)
{
	uint64_t v;

	if (s == NULL)
		return 0;
	session_lock(s);
	v = s->last_hs_ms;
	session_unlock(s);
	return v;
}

uint64_t tc_session_last_handshake_wall(const struct tc_session *s)
{
	uint64_t v;

	if (s == NULL)
		return 0;
	session_lock(s);
	v = s->last_hs_wall;
	session_unlock(s);
	return v;
}

unsigned tc_session_handshakes(const struct tc_session *s)
{
	unsigned v;

	if (s == NULL)
		return 0;
	session_lock(s);
	v = s->handshakes;
	session_unlock(s);
	return v;
}
