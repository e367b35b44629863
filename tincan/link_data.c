/*
 * The receive path of a link: packets received (libnice's callback, or
 * recvmmsg with UDP_GRO on the selected socket) and opened, the handshake
 * messages and the probes.  Nothing here allocates per packet: the shared
 * receive area is allocated once.  The send batch is link_batch.c's; the
 * link's life, ICE and state are link.c's.
 *
 * What reaches a link's socket is anyone's: on the fast path every
 * datagram comes with its sender's address, on libnice's path only from a
 * checked remote candidate (libnice drops the rest).  Each costs a lookup
 * unless it proves something: DATA, RESP and COOKIE name a live index (the
 * session checks it before any crypto), an INIT must pass the node's
 * handshake guard (cookie.h: mac1, then under load mac2 and the budgets)
 * before the session does a DH.  An authenticated DATA packet from an
 * address that is not the selected pair's moves the fast path there
 * (roaming); nothing else does.
 */
#define G_LOG_DOMAIN "tincan"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <netinet/udp.h>

#include "tincan/bytes.h"
#include "tincan/link_int.h"
#include "tincan/stun_answer.h"

/* Scratch shared by every link (all run on the main loop and finish with
 * a buffer before the next packet): tx for the control messages a link
 * sends itself (handshake, probes, keepalives), rx for what a received
 * packet opens to.  Kept out of struct tc_link, whose every instance had
 * carried both, 128 KiB sized for the largest packet.  Zero-fill memory:
 * pages never touched are never resident. */
static uint8_t tx_buf[TC_LINK_MAX_PACKET + 64];
static uint8_t rx_pt[TC_LINK_MAX_PACKET + 64];

int tc_link_raw_send(struct tc_link *l, const uint8_t *pkt, size_t len)
{
	gint n;

	/* After a roam libnice's pair points where the peer no longer is. */
	if (l->roamed && l->fast_sock)
		return sendto(g_socket_get_fd(l->fast_sock), pkt, len,
			      MSG_DONTWAIT, (struct sockaddr *)&l->fast_addr,
			      l->fast_len) == (ssize_t)len
			   ? 0
			   : -EAGAIN;
	/* The responder may hear the initiation before its own agent has
	 * selected a pair; libnice then answers on the checked path. */
	n = nice_agent_send(l->agent, l->stream, 1, (guint)len,
			    (const gchar *)pkt);
	if (n < 0 || (size_t)n != len)
		return -EAGAIN;
	return 0;
}

/* Encrypts an inner message into out at now_ms: its length or -errno.  The
 * message is laid out where its ciphertext goes (after the DATA header)
 * and sealed in place, so no staging buffer is needed (the body is still
 * copied once, into out). */
static int seal(struct tc_link *l, uint64_t now_ms, uint8_t type,
		const uint8_t *pre, size_t pre_len, const uint8_t *body,
		size_t len, uint8_t *out, size_t cap)
{
	struct tc_time t = {now_ms, 0};
	uint8_t *pt = out + TC_DATA_HDR_LEN;
	size_t n = 1 + pre_len + len;

	if (n > TC_LINK_MAX_PACKET)
		return -EMSGSIZE;
	if (cap < n + TC_DATA_OVERHEAD)
		return -ENOSPC;
	tc_link_lay_out(pt, type, pre, pre_len, body, len);
	return tc_session_encrypt(l->session, &t, pt, n, out, cap);
}

int tc_link_send_inner(struct tc_link *l, uint8_t type, const uint8_t *body,
		       size_t len)
{
	int n = seal(l, (uint64_t)g_get_monotonic_time() / 1000, type, NULL, 0,
		     body, len, tx_buf, sizeof(tx_buf));

	if (n < 0)
		return n;
	return tc_link_raw_send(l, tx_buf, (size_t)n);
}

void tc_link_send_initiation(struct tc_link *l, const struct tc_time *t)
{
	int n = tc_session_initiate(l->session, t, tx_buf, sizeof(tx_buf));

	if (n < 0) {
		g_warning("link %s/%.12s: cannot build handshake: %s",
			  l->overlay, l->peer_uid, g_strerror(-n));
		return;
	}
	l->last_init_ms = t->mono_ms;
	g_debug("link %s/%.12s: handshake initiation sent", l->overlay,
		l->peer_uid);
	tc_link_raw_send(l, tx_buf, (size_t)n);
}

void tc_link_send_probe(struct tc_link *l, uint8_t type, uint32_t seq,
			uint64_t sent_us)
{
	uint8_t body[12];

	memcpy(body, &seq, 4);
	memcpy(body + 4, &sent_us, 8);
	tc_link_send_inner(l, type, body, sizeof(body));
}

/* An empty DATA packet: confirms a new keypair to the responder. */
static void send_keepalive(struct tc_link *l, const struct tc_time *t)
{
	int n =
	    tc_session_encrypt(l->session, t, NULL, 0, tx_buf, sizeof(tx_buf));

	if (n > 0)
		tc_link_raw_send(l, tx_buf, (size_t)n);
}

static void handle_probe(struct tc_link *l, uint8_t type, const uint8_t *body,
			 size_t len)
{
	uint32_t seq;
	uint64_t sent_us, now_us;

	if (len != 12)
		return; /* untrusted: malformed probe, dropped */
	memcpy(&seq, body, 4);
	memcpy(&sent_us, body + 4, 8);
	if (type == TC_INNER_PROBE) {
		tc_link_send_probe(l, TC_INNER_PROBE_REPLY, seq, sent_us);
		return;
	}
	now_us = (uint64_t)g_get_monotonic_time();
	/* Any answer shows the peer hears us (an older probe's too). */
	l->last_reply_ms = now_us / 1000;
	if (seq == l->probe_seq && sent_us <= now_us &&
	    now_us - sent_us < 60 * G_USEC_PER_SEC)
		l->rtt_us = (uint32_t)(now_us - sent_us);
}

static void deliver(struct tc_link *l, uint8_t *frame, size_t len,
		    const struct tc_csum *cs)
{
	l->rx_packets++;
	l->rx_bytes += len;
	/* last_rx_ms: this packet's time, set as it was authenticated. */
	tc_link_data_seen(l, l->last_rx_ms);
	if (l->ops->on_frame)
		l->ops->on_frame(l->owner, l, frame, len, cs);
}

/* untrusted: from peer (authenticated, but the checksum description is
 * the peer's word: it must lie inside the frame). */
static void handle_partial(struct tc_link *l, uint8_t *body, size_t len)
{
	struct tc_csum cs;

	if (len < TC_INNER_PARTIAL_LEN) {
		l->dropped++;
		tc_link_count_drop(l, -EPROTO);
		return;
	}
	cs.start = tc_get16(body);
	cs.offset = tc_get16(body + 2);
	len -= TC_INNER_PARTIAL_LEN;
	if (!tc_csum_valid(&cs, len)) {
		l->dropped++;
		tc_link_count_drop(l, -EPROTO);
		return;
	}
	deliver(l, body + TC_INNER_PARTIAL_LEN, len, &cs);
}

static void handle_inner(struct tc_link *l, uint8_t *pt, size_t len)
{
	static const struct tc_csum complete;

	if (len == 0)
		return; /* keepalive: confirms the keypair */
	switch (pt[0]) {
	case TC_INNER_FRAME:
		deliver(l, pt + 1, len - 1, &complete);
		break;
	case TC_INNER_FRAME_PARTIAL:
		handle_partial(l, pt + 1, len - 1);
		break;
	case TC_INNER_PROBE:
	case TC_INNER_PROBE_REPLY:
		handle_probe(l, pt[0], pt + 1, len - 1);
		break;
	case TC_INNER_FORWARD:
		if (!l->ops->on_forward)
			goto bad;
		l->rx_packets++;
		l->rx_bytes += len - 1;
		tc_link_data_seen(l, l->last_rx_ms);
		l->ops->on_forward(l->owner, l, pt + 1, len - 1);
		break;
	case TC_INNER_CLOSE:
		/* Authenticated: only the peer can say it.  The controller
		 * learns at once instead of after TC_LINK_DEAD_MS. */
		tc_link_set_state(l, TC_LINK_FAILED, "peer closed the link");
		break;
	default:
	bad:
		l->dropped++; /* untrusted: unknown inner type */
		tc_link_count_drop(l, -EPROTO);
		break;
	}
}

static void on_authenticated(struct tc_link *l, const struct tc_time *t)
{
	tc_link_repair_heard(l, t);
	l->last_rx_ms = t->mono_ms;
	if (l->state != TC_LINK_CONNECTED && tc_session_can_send(l->session, t))
		tc_link_set_state(l, TC_LINK_CONNECTED,
				  l->state == TC_LINK_FAILED
				      ? "traffic resumed"
				      : "handshake complete");
}

/* The initiation can arrive before this side's agent has selected a pair,
 * when libnice cannot send yet: the response waits for the pair (else the
 * initiator would only retry after TC_LINK_FIRST_RETRY_MS). */
static void send_response(struct tc_link *l, const uint8_t *resp, size_t len)
{
	g_clear_pointer(&l->held_resp, g_free);
	/* An initiation that came on a restarted stream not yet ours is
	 * answered there, once it is (link_repair.c). */
	if (!l->next_spoken && tc_link_raw_send(l, resp, len) == 0) {
		g_debug("link %s/%.12s: handshake response sent", l->overlay,
			l->peer_uid);
		return;
	}
	l->held_resp = g_memdup2(resp, len);
	l->held_resp_len = len;
	g_debug("link %s/%.12s: handshake response held until ICE selects a "
		"pair",
		l->overlay, l->peer_uid);
}

/* The node's guard (see link_int.h). */
static struct tc_guard *guard;
static unsigned guard_users;

struct tc_guard *tc_link_guard_hold(void)
{
	if (!guard)
		guard = tc_guard_new();
	if (guard)
		guard_users++;
	return guard;
}

void tc_link_guard_release(void)
{
	if (guard_users && --guard_users == 0)
		g_clear_pointer(&guard, tc_guard_free);
}

void tc_link_guard_totals(struct tc_guard_counters *c)
{
	tc_guard_get_counters(guard, (uint64_t)g_get_monotonic_time() / 1000,
			      c);
}

/* Where a datagram came from: the fast path knows (addr set), libnice's
 * path delivers only from the checked peer, named by the selected pair. */
struct rx_src {
	const struct sockaddr_storage *addr;
	socklen_t len;
};

/* The bytes a cookie is bound to: address and port, or the pair. */
static void src_key(const struct tc_link *l, const struct rx_src *src,
		    uint8_t key[18], size_t *klen)
{
	const struct sockaddr_in *v4 = (const void *)src->addr;
	const struct sockaddr_in6 *v6 = (const void *)src->addr;

	if (src->addr && src->addr->ss_family == AF_INET) {
		memcpy(key, &v4->sin_addr, 4);
		memcpy(key + 4, &v4->sin_port, 2);
		*klen = 6;
	} else if (src->addr && src->addr->ss_family == AF_INET6) {
		memcpy(key, &v6->sin6_addr, 16);
		memcpy(key + 16, &v6->sin6_port, 2);
		*klen = 18;
	} else {
		*klen = MIN(strlen(l->pair.remote_addr), (size_t)18);
		memcpy(key, l->pair.remote_addr, *klen);
	}
}

/* A dropped datagram: counted, and logged at most once a second per link
 * (a flood must not become a flood of log lines). */
static void drop(struct tc_link *l, size_t len, int r, const struct tc_time *t)
{
	l->dropped++;
	tc_link_count_drop(l, r);
	if (t->mono_ms - l->drop_log_ms < 1000) {
		l->drops_unlogged++;
		return;
	}
	g_debug("link %s/%.12s: dropped %zu-byte packet: %s (and %u more "
		"since the last such line)",
		l->overlay, l->peer_uid, len, g_strerror(-r),
		l->drops_unlogged);
	if (r == -EPROTONOSUPPORT)
		g_message("link %s/%.12s: the peer speaks an older handshake "
			  "version (1 or 2, this node 3); both ends need the "
			  "same tincan version",
			  l->overlay, l->peer_uid);
	l->drop_log_ms = t->mono_ms;
	l->drops_unlogged = 0;
}

enum { TC_HS_FAIL_LOG_MS = 10000 };

/* A handshake message (by type and length) the session refused: a wrong
 * key or a broken message is what an operator needs to see, so it is
 * logged at message level, though at most once per TC_HS_FAIL_LOG_MS. */
static void handshake_refused(struct tc_link *l, const uint8_t *buf, size_t len,
			      int r, const struct tc_time *t)
{
	const char *why;

	if (!((buf[0] == TC_MSG_INIT && len == TC_INIT_LEN) ||
	      (buf[0] == TC_MSG_RESP && len == TC_RESP_LEN)) ||
	    r == -EPROTONOSUPPORT || r == -EALREADY)
		return; /* not one, logged by drop(), or a mere replay */
	if (l->hs_fail_log_ms &&
	    t->mono_ms - l->hs_fail_log_ms < TC_HS_FAIL_LOG_MS) {
		l->hs_fails_unlogged++;
		return;
	}
	if (r == -EPERM)
		why = "the peer's static key is not the one this link was "
		      "created with";
	else if (r == -EKEYREJECTED)
		why = "its mac1 is not keyed by this node's public key (the "
		      "peer was given another key for this node)";
	else if (r == -ENOPROTOOPT)
		why = "the peer offers no transport cipher this node accepts "
		      "(see --cipher on both ends)";
	else if (r == -EPROTO)
		why = "the peer chose a transport cipher it may not choose";
	else if (r == -EBADMSG)
		why = "it does not open with the keys of this link (the peer "
		      "and this node may have been given different keys, or "
		      "it is forged)";
	else
		why = g_strerror(-r);
	g_message("link %s/%.12s: handshake %s refused: %s (%u more since "
		  "the last such line)",
		  l->overlay, l->peer_uid,
		  buf[0] == TC_MSG_INIT ? "initiation" : "response", why,
		  l->hs_fails_unlogged);
	l->hs_fail_log_ms = t->mono_ms;
	l->hs_fails_unlogged = 0;
}

static void send_cookie(struct tc_link *l, const uint8_t *init, size_t len,
			const struct rx_src *src, const uint8_t *key,
			size_t klen, const struct tc_time *t)
{
	uint8_t reply[TC_COOKIE_REPLY_LEN];

	tc_guard_cookie_reply(guard, &l->own_keys, init, len, key, klen,
			      t->mono_ms, reply, &l->gc);
	if (src->addr && l->fast_sock)
		(void)sendto(g_socket_get_fd(l->fast_sock), reply,
			     sizeof(reply), MSG_DONTWAIT,
			     (const struct sockaddr *)src->addr, src->len);
	else
		tc_link_raw_send(l, reply, sizeof(reply));
}

/* An initiation to a responder: true when it is worth the session's DH. */
static bool init_admitted(struct tc_link *l, const uint8_t *buf, size_t len,
			  const struct rx_src *src, const struct tc_time *t)
{
	uint8_t key[18];
	size_t klen;

	src_key(l, src, key, &klen);
	switch (tc_guard_check(guard, &l->own_keys, buf, len, key, klen,
			       t->mono_ms, &l->gc)) {
	case TC_GUARD_PASS:
		return true;
	case TC_GUARD_COOKIE:
	case TC_GUARD_BAD_MAC2:
		send_cookie(l, buf, len, src, key, klen, t);
		return false;
	case TC_GUARD_BAD_MAC1:
		handshake_refused(l, buf, len, -EKEYREJECTED, t);
		l->dropped++;
		return false;
	default:
		l->dropped++;
		return false;
	}
}

/* An authenticated packet from elsewhere than the pair: the peer moved. */
static void roam(struct tc_link *l, const struct rx_src *src)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	const struct sockaddr_in *v4 = (const void *)src->addr;
	const struct sockaddr_in6 *v6 = (const void *)src->addr;

	if (!src->addr || !l->fast_sock ||
	    (src->len == l->fast_len &&
	     memcmp(src->addr, &l->fast_addr, src->len) == 0))
		return;
	memcpy(&l->fast_addr, src->addr, src->len);
	l->fast_len = src->len;
	l->roamed = true;
	l->gc.roams++;
	tc_guard_count(guard, &(struct tc_guard_counters){.roams = 1});
	if (src->addr->ss_family == AF_INET)
		inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof(ip));
	else
		inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof(ip));
	g_message("link %s/%.12s: peer moved to %s port %u", l->overlay,
		  l->peer_uid, ip,
		  ntohs(src->addr->ss_family == AF_INET ? v4->sin_port
							: v6->sin6_port));
}

/* untrusted: a STUN datagram on the fast path, where libnice sees none:
 * a check of the peer's is answered as libnice would (the peer's agent
 * selects the pair only once one is), a keepalive needs nothing.  False
 * when it is nothing of this stream's: the session tries it (junk). */
static bool fast_stun(struct tc_link *l, const uint8_t *buf, size_t len,
		      const struct rx_src *src)
{
	uint8_t reply[TC_STUN_REPLY_MAX];
	struct tc_stun_creds c = {.controlling = l->controlling};
	gchar *ufrag = NULL, *pwd = NULL;
	size_t n = 0;
	int r;

	switch (tc_stun_kind(buf, len)) {
	case TC_STUN_INDICATION:
		return true;
	case TC_STUN_REQUEST:
		break;
	default:
		return false;
	}
	if (!nice_agent_get_local_credentials(l->agent, l->stream, &ufrag,
					      &pwd))
		return false;
	c.ufrag = ufrag;
	c.pwd = pwd;
	r = tc_stun_answer(&c, buf, len, (const struct sockaddr *)src->addr,
			   src->len, reply, &n);
	g_free(ufrag);
	g_free(pwd);
	if (r < 0)
		return false;
	(void)sendto(g_socket_get_fd(l->fast_sock), reply, n, MSG_DONTWAIT,
		     (const struct sockaddr *)src->addr, src->len);
	l->checks_answered++;
	g_debug("link %s/%.12s: answered the peer's connectivity check "
		"(%" G_GUINT64_FORMAT " so far)",
		l->overlay, l->peer_uid, l->checks_answered);
	return true;
}

/* untrusted: from peer (any bytes the ICE socket delivers).  own is buf
 * when the bytes are tincan's own (the fast path's receive area), NULL
 * when they are libnice's: a DATA packet in our own bytes is opened in
 * place, which saves copying it (~2 % of tincan's CPU). */
static void receive(struct tc_link *l, const uint8_t *buf, size_t len,
		    uint8_t *own, const struct rx_src *src,
		    const struct tc_time *t)
{
	uint8_t *out = rx_pt;
	size_t out_len = 0, cap = sizeof(rx_pt);
	int r;

	if (src->addr && l->fast_sock && fast_stun(l, buf, len, src))
		return;
	if (len > 0 && buf[0] == TC_MSG_INIT)
		l->init_seen = true;
	if (!l->controlling && len == TC_INIT_LEN && buf[0] == TC_MSG_INIT &&
	    !init_admitted(l, buf, len, src, t))
		return;
	if (own && len > TC_DATA_HDR_LEN && buf[0] == TC_MSG_DATA) {
		out = own + TC_DATA_HDR_LEN;
		cap = len - TC_DATA_HDR_LEN;
	}
	r = tc_session_receive(l->session, t, buf, len, out, cap, &out_len);
	switch (r) {
	case TC_RX_DATA:
		tc_link_repair_spoke(l, t);
		roam(l, src);
		on_authenticated(l, t);
		handle_inner(l, out, out_len);
		break;
	case TC_RX_REPLY:
		tc_link_repair_spoke(l, t);
		send_response(l, out, out_len);
		break;
	case TC_RX_ESTABLISHED:
		tc_link_repair_spoke(l, t);
		send_keepalive(l, t);
		on_authenticated(l, t);
		break;
	case TC_RX_COOKIE:
		l->gc.cookie_received++;
		tc_guard_count(
		    guard, &(struct tc_guard_counters){.cookie_received = 1});
		break;
	default:
		/* An INIT the guard saw is counted there, not as junk. */
		if (l->controlling || len != TC_INIT_LEN ||
		    buf[0] != TC_MSG_INIT) {
			l->gc.junk++;
			tc_guard_count(guard,
				       &(struct tc_guard_counters){.junk = 1});
		}
		handshake_refused(l, buf, len, r, t);
		drop(l, len, r, t);
		break;
	}
}

/* libnice's receive callback: used until the fast receive path takes the
 * socket, and on relayed pairs. */
void tc_link_on_recv(NiceAgent *agent, guint stream, guint comp, guint len,
		     gchar *buf, gpointer data)
{
	struct tc_link *l = data;
	const struct rx_src src = {NULL, 0};
	struct tc_time t;

	(void)agent;
	(void)stream;
	(void)comp;
	tc_link_now(&t);
	l->rx_stream = stream;
	receive(l, (const uint8_t *)buf, len, NULL, &src, &t);
	l->rx_stream = 0;
}

/* Receive buffers of the fast path, shared by every link: all run on the
 * main loop and finish with a buffer before the next read. */
static uint8_t *rx_area;

/* The segment size of a coalesced read (UDP_GRO), or 0. */
static size_t gro_size(struct msghdr *mh)
{
	struct cmsghdr *cm;
	int v;

	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm))
		if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO) {
			memcpy(&v, CMSG_DATA(cm), sizeof(v));
			return v > 0 ? (size_t)v : 0;
		}
	return 0;
}

/* Room for one UDP_GRO control message. */
#define RX_CTL_LEN CMSG_SPACE(sizeof(int))

/* Points each message of a recvmmsg at its slot of rx_area. */
static void rx_prepare(struct mmsghdr *m, struct iovec *iov,
		       char (*ctl)[RX_CTL_LEN], struct sockaddr_storage *from)
{
	int i;

	for (i = 0; i < TC_LINK_RX_MSGS; i++) {
		iov[i].iov_base = rx_area + (size_t)i * TC_LINK_RX_MSG;
		iov[i].iov_len = TC_LINK_RX_MSG;
		memset(&m[i], 0, sizeof(m[i]));
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
		m[i].msg_hdr.msg_control = ctl[i];
		m[i].msg_hdr.msg_controllen = RX_CTL_LEN;
		m[i].msg_hdr.msg_name = &from[i];
		m[i].msg_hdr.msg_namelen = sizeof(from[i]);
	}
}

/* One message: datagrams of seg bytes back to back (the last may be
 * shorter), or a single datagram when seg is 0. */
static void rx_message(struct tc_link *l, uint8_t *buf, size_t len, size_t seg,
		       const struct rx_src *src, const struct tc_time *t)
{
	size_t off;

	if (seg == 0 || seg > len)
		seg = len;
	for (off = 0; off < len && l->rx_src; off += seg)
		receive(l, buf + off, MIN(seg, len - off), buf + off, src, t);
}

/* untrusted: from anyone who can reach the socket.  The peer's checks
 * are answered (fast_stun); anything else that is not ours names no
 * session or fails the guard and is counted as dropped. */
static gboolean on_fast_readable(GSocket *sock, GIOCondition cond,
				 gpointer data)
{
	struct tc_link *l = data;
	struct mmsghdr m[TC_LINK_RX_MSGS];
	struct iovec iov[TC_LINK_RX_MSGS];
	_Alignas(struct cmsghdr) char ctl[TC_LINK_RX_MSGS][RX_CTL_LEN];
	struct sockaddr_storage from[TC_LINK_RX_MSGS];
	int fd = g_socket_get_fd(sock), n, i, round;
	struct rx_src src;
	struct tc_time t;
	bool held;

	(void)cond;
	tc_link_now(&t);
	/* One lock for the wakeup's packets.  Their delivery may seal on
	 * other links (forwarding), which lock their own sessions. */
	held = tc_session_hold(l->session);
	for (round = 0; round < TC_LINK_RX_ROUNDS && l->rx_src; round++) {
		rx_prepare(m, iov, ctl, from);
		n = recvmmsg(fd, m, TC_LINK_RX_MSGS, MSG_DONTWAIT, NULL);
		for (i = 0; i < n && l->rx_src; i++) {
			src.addr = &from[i];
			src.len = m[i].msg_hdr.msg_namelen;
			rx_message(l, rx_area + (size_t)i * TC_LINK_RX_MSG,
				   m[i].msg_len, gro_size(&m[i].msg_hdr), &src,
				   &t);
		}
		if (n < TC_LINK_RX_MSGS)
			break;
	}
	if (held)
		tc_session_release(l->session);
	return G_SOURCE_CONTINUE;
}

/* Once ICE is done (READY) on a direct pair of a CONNECTED link, tincan
 * reads the selected socket itself: recvmmsg, and UDP_GRO so a burst the
 * peer sent as one UDP segmentation offload message arrives as one.
 * libnice's reception is paused meanwhile (it would read coalesced
 * datagrams as one).  The agents run without consent freshness (liveness
 * is the authenticated probe, every second) and their keepalives are
 * indications that need no answer; what libnice would still have to do on
 * this socket is answer the peer's connectivity checks, and fast_stun
 * does that: a link that moved onto a restarted stream takes the socket
 * at once, while the peer's agent may still wait for an answer to select
 * the pair (it never got one: NAT rebinding took up to 4 s).  A check the
 * peer runs on some other pair of ours goes unanswered, which only fails
 * that pair. */
void tc_link_start_fast_rx(struct tc_link *l)
{
	int on = 1;

	if (l->rx_src || !l->fast_sock || !l->ice_ready ||
	    l->state != TC_LINK_CONNECTED)
		return;
	if (!rx_area)
		rx_area = g_malloc((size_t)TC_LINK_RX_MSGS * TC_LINK_RX_MSG);
	if (setsockopt(g_socket_get_fd(l->fast_sock), SOL_UDP, UDP_GRO, &on,
		       sizeof(on)))
		g_debug("link %s/%.12s: no UDP_GRO: %s", l->overlay,
			l->peer_uid, g_strerror(errno));
	nice_agent_attach_recv(l->agent, l->stream, 1, l->env->ctx, NULL, NULL);
	l->rx_src = g_socket_create_source(l->fast_sock, G_IO_IN, NULL);
	g_source_set_callback(l->rx_src, G_SOURCE_FUNC(on_fast_readable), l,
			      NULL);
	g_source_attach(l->rx_src, l->env->ctx);
	g_debug("link %s/%.12s: fast receive path on", l->overlay, l->peer_uid);
}

void tc_link_stop_fast_rx(struct tc_link *l)
{
	int off = 0;

	if (!l->rx_src)
		return;
	g_source_destroy(l->rx_src);
	g_source_unref(l->rx_src);
	l->rx_src = NULL;
	if (l->fast_sock)
		(void)setsockopt(g_socket_get_fd(l->fast_sock), SOL_UDP,
				 UDP_GRO, &off, sizeof(off));
	nice_agent_attach_recv(l->agent, l->stream, 1, l->env->ctx,
			       tc_link_on_recv, l);
}
