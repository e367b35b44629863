/*
 * Links: one libnice agent per peer, the Noise session on top of it, the
 * liveness probe and the per-link counters.  This module owns the agent, the
 * session and the timer of each link; it does not parse Ethernet, route or
 * know about TAPs: decrypted frames go to the overlay through tc_link_ops.
 * Every libnice callback is disconnected before the link is freed.
 */
#define G_LOG_DOMAIN "tincan"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <netinet/udp.h>

#include <agent.h>
#include <sodium.h>

#include "proto/frame.h"
#include "proto/pbutil.h"
#include "tincan/bytes.h"
#include "tincan/link.h"
#include "tincan/session.h"

struct tc_link {
	const struct tc_env *env;
	char overlay[64];
	char peer_uid[IPOP_UID_SIZE];
	uint8_t peer_pub[32];
	bool controlling;
	Ipop__LinkState state;
	const struct tc_link_ops *ops;
	void *owner;

	NiceAgent *agent;
	guint stream;
	guint tick;
	bool gathered;
	bool have_remote;
	char *remote_ufrag;
	Ipop__IceCredentials local; /* filled when gathering is done */
	char **local_cands;

	bool pair_selected;
	char pair_ltype[8], pair_rtype[8];
	char pair_laddr[INET6_ADDRSTRLEN + 8], pair_raddr[INET6_ADDRSTRLEN + 8];

	struct tc_session *session;
	uint8_t *held_resp; /* a handshake response waiting for a pair */
	size_t held_resp_len;
	uint64_t last_init_ms;
	uint32_t retry_ms;   /* next first-handshake retry */
	uint64_t last_rx_ms; /* last authenticated packet */
	uint64_t last_probe_ms;
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
	uint8_t *batch; /* TC_LINK_BATCH_BYTES, allocated on first use */
	size_t batch_used;
	struct tc_link_run {
		size_t off, bytes; /* where in batch, and how much */
		uint16_t seg;	   /* size of each packet but the last */
		uint16_t n;
	} runs[TC_LINK_RUNS];
	unsigned n_runs;

	uint64_t tx_bytes, tx_packets, rx_bytes, rx_packets, dropped;
	uint8_t buf[TC_LINK_MAX_PACKET + 64]; /* scratch, main loop only */
	uint8_t pt[TC_LINK_MAX_PACKET + 64];
};

static void start_fast_rx(struct tc_link *l);

static void now(struct tc_time *t)
{
	t->mono_ms = (uint64_t)g_get_monotonic_time() / 1000;
	t->wall_ns = (uint64_t)g_get_real_time() * 1000;
}

static void fill_pair(const struct tc_link *l, Ipop__CandidatePair *p)
{
	p->local_type = ipop_cstr(l->pair_ltype);
	p->local_address = ipop_cstr(l->pair_laddr);
	p->remote_type = ipop_cstr(l->pair_rtype);
	p->remote_address = ipop_cstr(l->pair_raddr);
}

static void set_state(struct tc_link *l, Ipop__LinkState st, const char *why)
{
	Ipop__Event ev = IPOP__EVENT__INIT;
	Ipop__LinkStateChangedEvent lse = IPOP__LINK_STATE_CHANGED_EVENT__INIT;
	Ipop__CandidatePair pair = IPOP__CANDIDATE_PAIR__INIT;

	if (l->state == st)
		return;
	g_message("link %s/%.12s: %s -> %s (%s)", l->overlay, l->peer_uid,
		  ipop_link_state_name(l->state), ipop_link_state_name(st),
		  why);
	l->state = st;
	lse.overlay = l->overlay;
	lse.peer_uid = l->peer_uid;
	lse.state = st;
	lse.reason = ipop_cstr(why);
	if (l->pair_selected) {
		fill_pair(l, &pair);
		lse.pair = &pair;
	}
	ev.kind_case = IPOP__EVENT__KIND_LINK_STATE;
	ev.link_state = &lse;
	l->env->emit(l->env->node, &ev);
	start_fast_rx(l);
	if (l->ops->on_state)
		l->ops->on_state(l->owner, l, st);
}

static int raw_send(struct tc_link *l, const uint8_t *pkt, size_t len)
{
	gint n;

	/* The responder may hear the initiation before its own agent has
	 * selected a pair; libnice then answers on the checked path. */
	n = nice_agent_send(l->agent, l->stream, 1, (guint)len,
			    (const gchar *)pkt);
	if (n < 0 || (size_t)n != len)
		return -EAGAIN;
	return 0;
}

/* Encrypts an inner message (type, pre_len header bytes, body) into out:
 * its length or -errno. */
static int seal(struct tc_link *l, uint8_t type, const uint8_t *pre,
		size_t pre_len, const uint8_t *body, size_t len, uint8_t *out,
		size_t cap)
{
	struct tc_time t;

	if (1 + pre_len + len > TC_LINK_MAX_PACKET)
		return -EMSGSIZE;
	now(&t);
	l->pt[0] = type;
	if (pre_len)
		memcpy(l->pt + 1, pre, pre_len);
	if (len)
		memcpy(l->pt + 1 + pre_len, body, len);
	return tc_session_encrypt(l->session, &t, l->pt, 1 + pre_len + len, out,
				  cap);
}

static int send_inner(struct tc_link *l, uint8_t type, const uint8_t *body,
		      size_t len)
{
	int n = seal(l, type, NULL, 0, body, len, l->buf, sizeof(l->buf));

	if (n < 0)
		return n;
	return raw_send(l, l->buf, (size_t)n);
}

static void send_initiation(struct tc_link *l, const struct tc_time *t)
{
	int n = tc_session_initiate(l->session, t, l->buf, sizeof(l->buf));

	if (n < 0) {
		g_warning("link %s/%.12s: cannot build handshake: %s",
			  l->overlay, l->peer_uid, g_strerror(-n));
		return;
	}
	l->last_init_ms = t->mono_ms;
	g_debug("link %s/%.12s: handshake initiation sent", l->overlay,
		l->peer_uid);
	raw_send(l, l->buf, (size_t)n);
}

static void send_probe(struct tc_link *l, uint8_t type, uint32_t seq,
		       uint64_t sent_us)
{
	uint8_t body[12];

	memcpy(body, &seq, 4);
	memcpy(body + 4, &sent_us, 8);
	send_inner(l, type, body, sizeof(body));
}

/* An empty DATA packet: confirms a new keypair to the responder. */
static void send_keepalive(struct tc_link *l, const struct tc_time *t)
{
	int n =
	    tc_session_encrypt(l->session, t, NULL, 0, l->buf, sizeof(l->buf));

	if (n > 0)
		raw_send(l, l->buf, (size_t)n);
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
		send_probe(l, TC_INNER_PROBE_REPLY, seq, sent_us);
		return;
	}
	now_us = (uint64_t)g_get_monotonic_time();
	if (seq == l->probe_seq && sent_us <= now_us &&
	    now_us - sent_us < 60 * G_USEC_PER_SEC)
		l->rtt_us = (uint32_t)(now_us - sent_us);
}

static void deliver(struct tc_link *l, uint8_t *frame, size_t len,
		    const struct tc_csum *cs)
{
	l->rx_packets++;
	l->rx_bytes += len;
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
		return;
	}
	cs.start = tc_get16(body);
	cs.offset = tc_get16(body + 2);
	len -= TC_INNER_PARTIAL_LEN;
	if (!tc_csum_valid(&cs, len)) {
		l->dropped++;
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
	case TC_INNER_CLOSE:
		/* Authenticated: only the peer can say it.  The controller
		 * learns at once instead of after TC_LINK_DEAD_MS. */
		set_state(l, IPOP__LINK_STATE__FAILED, "peer closed the link");
		break;
	default:
		l->dropped++; /* untrusted: unknown inner type */
		break;
	}
}

static void on_authenticated(struct tc_link *l, const struct tc_time *t)
{
	l->last_rx_ms = t->mono_ms;
	if (l->state != IPOP__LINK_STATE__CONNECTED &&
	    tc_session_can_send(l->session, t))
		set_state(l, IPOP__LINK_STATE__CONNECTED,
			  l->state == IPOP__LINK_STATE__FAILED
			      ? "traffic resumed"
			      : "handshake complete");
}

/* The initiation can arrive before this side's agent has selected a pair,
 * when libnice cannot send yet: the response waits for the pair (else the
 * initiator would only retry after TC_LINK_FIRST_RETRY_MS). */
static void send_response(struct tc_link *l, const uint8_t *resp, size_t len)
{
	g_clear_pointer(&l->held_resp, g_free);
	if (raw_send(l, resp, len) == 0) {
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

/* untrusted: from peer (any bytes the ICE socket delivers). */
static void receive(struct tc_link *l, const uint8_t *buf, size_t len,
		    const struct tc_time *t)
{
	size_t out_len = 0;
	int r;

	r = tc_session_receive(l->session, t, buf, len, l->pt, sizeof(l->pt),
			       &out_len);
	switch (r) {
	case TC_RX_DATA:
		on_authenticated(l, t);
		handle_inner(l, l->pt, out_len);
		break;
	case TC_RX_REPLY:
		send_response(l, l->pt, out_len);
		break;
	case TC_RX_ESTABLISHED:
		send_keepalive(l, t);
		on_authenticated(l, t);
		break;
	default:
		l->dropped++;
		g_debug("link %s/%.12s: dropped %zu-byte packet: %s",
			l->overlay, l->peer_uid, len, g_strerror(-r));
		break;
	}
}

/* libnice's receive callback: used until the fast receive path takes the
 * socket, and on relayed pairs. */
static void on_recv(NiceAgent *agent, guint stream, guint comp, guint len,
		    gchar *buf, gpointer data)
{
	struct tc_link *l = data;
	struct tc_time t;

	(void)agent;
	(void)stream;
	(void)comp;
	now(&t);
	receive(l, (const uint8_t *)buf, len, &t);
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
		       char (*ctl)[RX_CTL_LEN])
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
	}
}

/* One message: datagrams of seg bytes back to back (the last may be
 * shorter), or a single datagram when seg is 0. */
static void rx_message(struct tc_link *l, const uint8_t *buf, size_t len,
		       size_t seg, const struct tc_time *t)
{
	size_t off;

	if (seg == 0 || seg > len)
		seg = len;
	for (off = 0; off < len && l->rx_src; off += seg)
		receive(l, buf + off, MIN(seg, len - off), t);
}

/* untrusted: from anyone who can reach the socket.  Anything that is not
 * ours (STUN: libnice no longer needs it, see start_fast_rx) fails
 * authentication and is counted as dropped. */
static gboolean on_fast_readable(GSocket *sock, GIOCondition cond,
				 gpointer data)
{
	struct tc_link *l = data;
	struct mmsghdr m[TC_LINK_RX_MSGS];
	struct iovec iov[TC_LINK_RX_MSGS];
	_Alignas(struct cmsghdr) char ctl[TC_LINK_RX_MSGS][RX_CTL_LEN];
	int fd = g_socket_get_fd(sock), n, i, round;
	struct tc_time t;

	(void)cond;
	now(&t);
	for (round = 0; round < TC_LINK_RX_ROUNDS && l->rx_src; round++) {
		rx_prepare(m, iov, ctl);
		n = recvmmsg(fd, m, TC_LINK_RX_MSGS, MSG_DONTWAIT, NULL);
		for (i = 0; i < n && l->rx_src; i++)
			rx_message(l, rx_area + (size_t)i * TC_LINK_RX_MSG,
				   m[i].msg_len, gro_size(&m[i].msg_hdr), &t);
		if (n < TC_LINK_RX_MSGS)
			break;
	}
	return G_SOURCE_CONTINUE;
}

/* Once ICE is done (READY) on a direct pair and the peer has spoken
 * through it (CONNECTED: the peer's side has its pair too), tincan reads
 * the selected socket itself: recvmmsg, and UDP_GRO so a burst the peer
 * sent as one UDP segmentation offload message arrives as one.  libnice's
 * reception is paused meanwhile (it would read coalesced datagrams as one):
 * it has nothing left to receive, since the agents run without consent
 * freshness (liveness is the authenticated probe, every second) and its
 * keepalives are indications that need no answer.  A check the peer still
 * runs on some other pair goes unanswered, which only fails that pair. */
static void start_fast_rx(struct tc_link *l)
{
	int on = 1;

	if (l->rx_src || !l->fast_sock || !l->ice_ready ||
	    l->state != IPOP__LINK_STATE__CONNECTED)
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

static void stop_fast_rx(struct tc_link *l)
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
	nice_agent_attach_recv(l->agent, l->stream, 1, l->env->ctx, on_recv, l);
}

static gboolean on_tick(gpointer data)
{
	struct tc_link *l = data;
	struct tc_time t;

	now(&t);
	if (!l->pair_selected)
		return G_SOURCE_CONTINUE;
	/* A failed link retries the handshake too: the peer may have lost
	 * its keys (restarted) while the path still works. */
	if (l->controlling &&
	    (tc_session_wants_handshake(l->session, &t) ||
	     (l->state == IPOP__LINK_STATE__FAILED &&
	      t.mono_ms - l->last_init_ms >= TC_REKEY_TIMEOUT_MS) ||
	     (l->state == IPOP__LINK_STATE__CONNECTING &&
	      t.mono_ms - l->last_init_ms >= l->retry_ms))) {
		l->retry_ms =
		    MIN(l->retry_ms * 2, (uint32_t)TC_LINK_MAX_RETRY_MS);
		send_initiation(l, &t);
	}
	if (!tc_session_can_send(l->session, &t))
		return G_SOURCE_CONTINUE;
	if (t.mono_ms - l->last_probe_ms >= TC_LINK_PROBE_MS) {
		l->last_probe_ms = t.mono_ms;
		send_probe(l, TC_INNER_PROBE, ++l->probe_seq,
			   (uint64_t)g_get_monotonic_time());
	}
	if (l->state == IPOP__LINK_STATE__CONNECTED &&
	    t.mono_ms - l->last_rx_ms > TC_LINK_DEAD_MS)
		set_state(l, IPOP__LINK_STATE__FAILED,
			  "peer stopped answering");
	return G_SOURCE_CONTINUE;
}

static const char *cand_type(NiceCandidateType t)
{
	switch (t) {
	case NICE_CANDIDATE_TYPE_HOST:
		return "host";
	case NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE:
		return "srflx";
	case NICE_CANDIDATE_TYPE_PEER_REFLEXIVE:
		return "prflx";
	case NICE_CANDIDATE_TYPE_RELAYED:
		return "relay";
	default:
		return "unknown";
	}
}

static void describe(const NiceCandidate *c, char *type, size_t tlen,
		     char *addr, size_t alen)
{
	char ip[NICE_ADDRESS_STRING_LEN];

	nice_address_to_string(&c->addr, ip);
	g_strlcpy(type, cand_type(c->type), tlen);
	if (nice_address_ip_version(&c->addr) == 6)
		g_snprintf(addr, alen, "[%s]:%u", ip,
			   nice_address_get_port(&c->addr));
	else
		g_snprintf(addr, alen, "%s:%u", ip,
			   nice_address_get_port(&c->addr));
}

static void clear_fast_path(struct tc_link *l)
{
	stop_fast_rx(l);
	tc_link_flush(l);
	if (l->fast_sock)
		g_object_unref(l->fast_sock);
	l->fast_sock = NULL;
}

/* The default socket buffers (~200 KB) overflow under a burst of UDP GSO
 * sends from the peer faster than one main loop pass drains them; root may
 * go past net.core.rmem_max (SO_RCVBUFFORCE), others get what it allows. */
static void grow_buffers(struct tc_link *l, int fd)
{
	int size = TC_LINK_SOCKBUF;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)))
		g_message("link %s/%.12s: cannot grow the receive buffer: %s",
			  l->overlay, l->peer_uid, g_strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)))
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size,
				 sizeof(size));
}

static void set_fast_path(struct tc_link *l, const NiceCandidate *lc,
			  const NiceCandidate *rc)
{
	clear_fast_path(l);
	if (lc->type == NICE_CANDIDATE_TYPE_RELAYED ||
	    lc->transport != NICE_CANDIDATE_TRANSPORT_UDP)
		return;
	l->fast_sock = nice_agent_get_selected_socket(l->agent, l->stream, 1);
	if (!l->fast_sock)
		return;
	grow_buffers(l, g_socket_get_fd(l->fast_sock));
	start_fast_rx(l);
	memset(&l->fast_addr, 0, sizeof(l->fast_addr));
	nice_address_copy_to_sockaddr(&rc->addr,
				      (struct sockaddr *)&l->fast_addr);
	l->fast_len = nice_address_ip_version(&rc->addr) == 6
			  ? sizeof(struct sockaddr_in6)
			  : sizeof(struct sockaddr_in);
}

static void on_selected_pair(NiceAgent *agent, guint stream, guint comp,
			     NiceCandidate *lc, NiceCandidate *rc,
			     gpointer data)
{
	struct tc_link *l = data;
	struct tc_time t;

	(void)agent;
	(void)stream;
	(void)comp;
	describe(lc, l->pair_ltype, sizeof(l->pair_ltype), l->pair_laddr,
		 sizeof(l->pair_laddr));
	describe(rc, l->pair_rtype, sizeof(l->pair_rtype), l->pair_raddr,
		 sizeof(l->pair_raddr));
	g_message("link %s/%.12s: selected pair %s %s -> %s %s", l->overlay,
		  l->peer_uid, l->pair_ltype, l->pair_laddr, l->pair_rtype,
		  l->pair_raddr);
	l->pair_selected = true;
	set_fast_path(l, lc, rc);
	if (l->held_resp) {
		raw_send(l, l->held_resp, l->held_resp_len);
		g_debug("link %s/%.12s: held handshake response sent",
			l->overlay, l->peer_uid);
		g_clear_pointer(&l->held_resp, g_free);
	}
	now(&t);
	if (l->controlling && !tc_session_can_send(l->session, &t))
		send_initiation(l, &t);
}

static void on_component_state(NiceAgent *agent, guint stream, guint comp,
			       guint state, gpointer data)
{
	struct tc_link *l = data;

	(void)agent;
	(void)stream;
	(void)comp;
	g_debug("link %s/%.12s: ICE component %s", l->overlay, l->peer_uid,
		nice_component_state_to_string(state));
	l->ice_ready = state == NICE_COMPONENT_STATE_READY;
	if (l->ice_ready)
		start_fast_rx(l);
	else
		stop_fast_rx(l);
	if (state == NICE_COMPONENT_STATE_FAILED &&
	    l->state != IPOP__LINK_STATE__CONNECTED)
		set_state(l, IPOP__LINK_STATE__FAILED, "ICE failed");
}

static void on_gathering_done(NiceAgent *agent, guint stream, gpointer data)
{
	struct tc_link *l = data;
	Ipop__Event ev = IPOP__EVENT__INIT;
	Ipop__LocalCandidatesEvent lce = IPOP__LOCAL_CANDIDATES_EVENT__INIT;
	gchar *ufrag = NULL, *pwd = NULL;
	GSList *cands, *it;
	guint n = 0;

	cands = nice_agent_get_local_candidates(agent, stream, 1);
	nice_agent_get_local_credentials(agent, stream, &ufrag, &pwd);
	l->local_cands = g_new0(char *, g_slist_length(cands) + 1);
	for (it = cands; it; it = it->next)
		l->local_cands[n++] =
		    nice_agent_generate_local_candidate_sdp(agent, it->data);
	g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
	l->local.ufrag = ufrag;
	l->local.pwd = pwd;
	l->local.candidates = l->local_cands;
	l->local.n_candidates = n;
	l->gathered = true;
	g_message("link %s/%.12s: gathered %u local candidates", l->overlay,
		  l->peer_uid, n);
	lce.overlay = l->overlay;
	lce.peer_uid = l->peer_uid;
	lce.local = &l->local;
	ev.kind_case = IPOP__EVENT__KIND_LOCAL_CANDIDATES;
	ev.local_candidates = &lce;
	l->env->emit(l->env->node, &ev);
	if (l->state == IPOP__LINK_STATE__GATHERING)
		set_state(l, IPOP__LINK_STATE__CONNECTING,
			  "candidates gathered");
}

static bool usable_address(const struct tc_link *l, const struct ifaddrs *ifa)
{
	const struct sockaddr *sa = ifa->ifa_addr;

	if (!sa || !(ifa->ifa_flags & IFF_UP))
		return false;
	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
		return false;
	if ((ifa->ifa_flags & IFF_LOOPBACK) && !l->env->allow_loopback)
		return false;
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		if (IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr))
			return false;
	}
	/* Our own TAPs would make the overlay carry itself. */
	return !l->env->is_own_tap(l->env->node, ifa->ifa_name);
}

/* Host candidates from every interface but our TAPs (and loopback). */
static void add_local_addresses(struct tc_link *l)
{
	struct ifaddrs *ifs, *ifa;
	NiceAddress a;

	if (getifaddrs(&ifs) < 0) {
		g_warning("getifaddrs: %s", g_strerror(errno));
		return;
	}
	for (ifa = ifs; ifa; ifa = ifa->ifa_next) {
		if (!usable_address(l, ifa))
			continue;
		nice_address_init(&a);
		nice_address_set_from_sockaddr(&a, ifa->ifa_addr);
		nice_agent_add_local_address(l->agent, &a);
	}
	freeifaddrs(ifs);
}

static void configure_servers(struct tc_link *l)
{
	const struct tc_ice_config *ice = l->env->ice;
	unsigned i;

	for (i = 0; i < ice->n_turn; i++)
		nice_agent_set_relay_info(
		    l->agent, l->stream, 1, ice->turn[i].address,
		    ice->turn[i].port, ice->turn[i].username,
		    ice->turn[i].password, NICE_RELAY_TYPE_TURN_UDP);
	/* A TURN allocation already yields the reflexive address; a STUN
	 * server next to TURN made libnice's gathering take 2 s instead of
	 * 45 ms (measured with coturn), so STUN is used only without TURN.
	 * libnice takes one STUN server: the first. */
	if (ice->n_turn == 0 && ice->n_stun > 0)
		g_object_set(l->agent, "stun-server", ice->stun[0].address,
			     "stun-server-port", (guint)ice->stun[0].port,
			     NULL);
}

static int start_agent(struct tc_link *l)
{
	/* No consent freshness: the fast receive path takes the socket from
	 * libnice once ICE is done; the authenticated probe (TC_LINK_PROBE_MS,
	 * dead after TC_LINK_DEAD_MS) is this link's consent. */
	l->agent = nice_agent_new_full(l->env->ctx, NICE_COMPATIBILITY_RFC5245,
				       NICE_AGENT_OPTION_NONE);
	if (!l->agent)
		return -ENOMEM;
	g_object_set(l->agent, "ice-tcp", FALSE, "upnp", FALSE,
		     "controlling-mode", l->controlling, NULL);
	add_local_addresses(l);
	l->stream = nice_agent_add_stream(l->agent, 1);
	if (!l->stream)
		return -ENOMEM;
	configure_servers(l);
	g_signal_connect(l->agent, "candidate-gathering-done",
			 G_CALLBACK(on_gathering_done), l);
	g_signal_connect(l->agent, "new-selected-pair-full",
			 G_CALLBACK(on_selected_pair), l);
	g_signal_connect(l->agent, "component-state-changed",
			 G_CALLBACK(on_component_state), l);
	nice_agent_attach_recv(l->agent, l->stream, 1, l->env->ctx, on_recv, l);
	if (!nice_agent_gather_candidates(l->agent, l->stream))
		return -EADDRNOTAVAIL;
	return 0;
}

struct tc_link *tc_link_new(const struct tc_env *env, const char *overlay,
			    const char *peer_uid, const uint8_t peer_pub[32],
			    const uint8_t *psk, const struct tc_link_ops *ops,
			    void *owner)
{
	struct tc_link *l = g_new0(struct tc_link, 1);
	int r;

	l->env = env;
	l->ops = ops;
	l->owner = owner;
	g_strlcpy(l->overlay, overlay, sizeof(l->overlay));
	g_strlcpy(l->peer_uid, peer_uid, sizeof(l->peer_uid));
	memcpy(l->peer_pub, peer_pub, 32);
	l->controlling = strcmp(env->id->uid, peer_uid) < 0;
	l->state = IPOP__LINK_STATE__GATHERING;
	l->retry_ms = TC_LINK_FIRST_RETRY_MS;
	ipop__ice_credentials__init(&l->local);
	l->session = tc_session_new(l->controlling, env->id->priv, env->id->pub,
				    peer_pub, psk);
	if (!l->session) {
		g_warning("link %s/%.12s: cannot create session", overlay,
			  peer_uid);
		goto err;
	}
	r = start_agent(l);
	if (r < 0) {
		g_warning("link %s/%.12s: ICE agent: %s", overlay, peer_uid,
			  g_strerror(-r));
		goto err;
	}
	l->tick = g_timeout_add(TC_LINK_TICK_MS, on_tick, l);
	g_message("link %s/%.12s: created (%s)", overlay, peer_uid,
		  l->controlling ? "controlling, initiator"
				 : "controlled, responder");
	return l;
err:
	tc_link_free(l);
	return NULL;
}

/* A removed link tells its peer, so the peer does not wait for its
 * liveness probe to notice. */
static void say_close(struct tc_link *l)
{
	if (l->agent && l->session && l->pair_selected)
		send_inner(l, TC_INNER_CLOSE, NULL, 0);
}

void tc_link_free(struct tc_link *l)
{
	if (!l)
		return;
	if (l->tick)
		g_source_remove(l->tick);
	if (l->agent)
		clear_fast_path(l);
	say_close(l);
	g_free(l->batch);
	g_free(l->held_resp);
	if (l->agent) {
		if (l->stream)
			nice_agent_attach_recv(l->agent, l->stream, 1,
					       l->env->ctx, NULL, NULL);
		g_signal_handlers_disconnect_by_data(l->agent, l);
		/* The async close keeps its own reference to the agent. */
		nice_agent_close_async(l->agent, NULL, NULL);
		g_object_unref(l->agent);
	}
	tc_session_free(l->session);
	/* Before gathering they are protobuf-c's shared empty string. */
	if (l->gathered) {
		g_free(l->local.ufrag);
		g_free(l->local.pwd);
	}
	g_strfreev(l->local_cands);
	g_free(l->remote_ufrag);
	sodium_memzero(l->buf, sizeof(l->buf));
	sodium_memzero(l->pt, sizeof(l->pt));
	g_free(l);
}

static bool cred_ok(const char *s, size_t min, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (n < min || n > max)
		return false;
	for (; *s; s++)
		if (!g_ascii_isalnum(*s) && *s != '+' && *s != '/')
			return false;
	return true;
}

int tc_link_add_remote(struct tc_link *l, const Ipop__IceCredentials *remote)
{
	GSList *list = NULL;
	size_t i;
	int added;

	if (!cred_ok(remote->ufrag, 4, 256) || !cred_ok(remote->pwd, 22, 256))
		return -EINVAL;
	if (l->have_remote && strcmp(l->remote_ufrag, remote->ufrag))
		return -EALREADY;
	for (i = 0; i < remote->n_candidates && i < 64; i++) {
		NiceCandidate *c = nice_agent_parse_remote_candidate_sdp(
		    l->agent, l->stream, remote->candidates[i]);
		if (c)
			list = g_slist_prepend(list, c);
		else
			g_message("link %s/%.12s: ignoring bad candidate",
				  l->overlay, l->peer_uid);
	}
	if (!list)
		return -EINVAL;
	if (!l->have_remote) {
		nice_agent_set_remote_credentials(l->agent, l->stream,
						  remote->ufrag, remote->pwd);
		l->remote_ufrag = g_strdup(remote->ufrag);
		l->have_remote = true;
	}
	added = nice_agent_set_remote_candidates(l->agent, l->stream, 1, list);
	g_slist_free_full(list, (GDestroyNotify)nice_candidate_free);
	g_message("link %s/%.12s: %d remote candidates added", l->overlay,
		  l->peer_uid, added);
	return added > 0 ? 0 : -EINVAL;
}

/* One message per run; the kernel cuts a run into datagrams of seg bytes
 * (UDP_SEGMENT).  ctl holds each run's control message. */
static void run_msg(struct tc_link *l, const struct tc_link_run *r,
		    struct mmsghdr *m, struct iovec *iov, char *ctl)
{
	struct cmsghdr *cm;

	iov->iov_base = l->batch + r->off;
	iov->iov_len = r->bytes;
	memset(m, 0, sizeof(*m));
	m->msg_hdr.msg_name = &l->fast_addr;
	m->msg_hdr.msg_namelen = l->fast_len;
	m->msg_hdr.msg_iov = iov;
	m->msg_hdr.msg_iovlen = 1;
	if (r->n < 2)
		return;
	m->msg_hdr.msg_control = ctl;
	m->msg_hdr.msg_controllen = CMSG_SPACE(sizeof(uint16_t));
	cm = CMSG_FIRSTHDR(&m->msg_hdr);
	cm->cmsg_level = SOL_UDP;
	cm->cmsg_type = UDP_SEGMENT;
	cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
	memcpy(CMSG_DATA(cm), &r->seg, sizeof(r->seg));
}

/* Sends the runs from the first; returns how many left, errno set when
 * some did not. */
static unsigned send_runs(struct tc_link *l)
{
	struct mmsghdr m[TC_LINK_RUNS];
	struct iovec iov[TC_LINK_RUNS];
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} ctl[TC_LINK_RUNS];
	int fd = g_socket_get_fd(l->fast_sock);
	unsigned i, done = 0;
	int n;

	for (i = 0; i < l->n_runs; i++)
		run_msg(l, &l->runs[i], &m[i], &iov[i], ctl[i].buf);
	while (done < l->n_runs) {
		n = sendmmsg(fd, m + done, l->n_runs - done, MSG_DONTWAIT);
		if (n <= 0)
			break;
		done += (unsigned)n;
	}
	return done;
}

void tc_link_flush(struct tc_link *l)
{
	const struct tc_link_run *r;
	unsigned i, sent = 0;
	size_t off;
	int err = 0;

	if (!l->n_runs)
		return;
	if (l->fast_sock) {
		sent = send_runs(l);
		err = errno;
	}
	/* No fast path, or the kernel refused a run: one datagram at a time
	 * through libnice.  A refusal that is not a full buffer (no UDP GSO,
	 * a datagram over the path MTU) turns the fast path off. */
	if (l->fast_sock && sent < l->n_runs && err != EAGAIN &&
	    err != ENOBUFS) {
		g_message("link %s/%.12s: UDP segmentation refused (%s); "
			  "sending one datagram at a time",
			  l->overlay, l->peer_uid, g_strerror(err));
		g_object_unref(l->fast_sock);
		l->fast_sock = NULL;
	}
	for (i = sent; i < l->n_runs; i++) {
		r = &l->runs[i];
		for (off = 0; off < r->bytes; off += r->seg)
			raw_send(l, l->batch + r->off + off,
				 MIN((size_t)r->seg, r->bytes - off));
	}
	l->n_runs = 0;
	l->batch_used = 0;
}

/* The run a packet of n bytes joins, or a new one (flushing first when the
 * batch is full). */
static struct tc_link_run *run_for(struct tc_link *l, size_t n)
{
	struct tc_link_run *r = l->n_runs ? &l->runs[l->n_runs - 1] : NULL;

	if (l->batch_used + n > TC_LINK_BATCH_BYTES) {
		tc_link_flush(l);
		r = NULL;
	}
	/* A run whose last packet was shorter than seg is closed. */
	if (r && r->bytes == (size_t)r->n * r->seg && n <= r->seg &&
	    r->n < TC_LINK_BATCH && r->bytes + n <= TC_LINK_GSO_MAX)
		return r;
	if (l->n_runs == TC_LINK_RUNS)
		tc_link_flush(l);
	r = &l->runs[l->n_runs++];
	r->off = l->batch_used;
	r->bytes = 0;
	r->seg = (uint16_t)n;
	r->n = 0;
	return r;
}

/* Encrypts a frame into the batch. */
static int batch_frame(struct tc_link *l, const uint8_t *frame, size_t len,
		       const struct tc_csum *cs)
{
	uint8_t pre[TC_INNER_PARTIAL_LEN];
	size_t pre_len = 0, want;
	struct tc_link_run *r;
	int n;

	if (cs && cs->start) {
		tc_put16(pre, cs->start);
		tc_put16(pre + 2, cs->offset);
		pre_len = sizeof(pre);
	}
	want = 1 + pre_len + len + TC_DATA_OVERHEAD;
	if (want > TC_LINK_BATCH_SLOT)
		return -EMSGSIZE;
	if (!l->batch)
		l->batch = g_malloc(TC_LINK_BATCH_BYTES);
	r = run_for(l, want);
	n = seal(l, pre_len ? TC_INNER_FRAME_PARTIAL : TC_INNER_FRAME, pre,
		 pre_len, frame, len, l->batch + l->batch_used,
		 TC_LINK_BATCH_BYTES - l->batch_used);
	if (n < 0) {
		if (r->n == 0)
			l->n_runs--; /* the run was new: forget it */
		return n;
	}
	r->bytes += (size_t)n;
	r->n++;
	l->batch_used += (size_t)n;
	return 0;
}

int tc_link_send_frame(struct tc_link *l, const uint8_t *frame, size_t len,
		       const struct tc_csum *cs)
{
	int r = batch_frame(l, frame, len, cs);

	if (r < 0) {
		l->dropped++;
		return r;
	}
	l->tx_packets++;
	l->tx_bytes += len;
	return 0;
}

void tc_link_fill_info(const struct tc_link *l, Ipop__LinkInfo *info)
{
	ipop__link_info__init(info);
	info->overlay = g_strdup(l->overlay);
	info->peer_uid = g_strdup(l->peer_uid);
	info->peer_public_key.data = g_memdup2(l->peer_pub, 32);
	info->peer_public_key.len = 32;
	info->state = l->state;
	info->controlling = l->controlling;
	if (l->pair_selected) {
		Ipop__CandidatePair *p = g_new0(Ipop__CandidatePair, 1);
		ipop__candidate_pair__init(p);
		p->local_type = g_strdup(l->pair_ltype);
		p->local_address = g_strdup(l->pair_laddr);
		p->remote_type = g_strdup(l->pair_rtype);
		p->remote_address = g_strdup(l->pair_raddr);
		info->pair = p;
	}
	info->tx_bytes = l->tx_bytes;
	info->tx_packets = l->tx_packets;
	info->rx_bytes = l->rx_bytes;
	info->rx_packets = l->rx_packets;
	info->dropped = l->dropped;
	info->rtt_us = l->rtt_us;
	info->last_handshake_unix_ms =
	    tc_session_last_handshake_wall(l->session) / 1000000;
}

void tc_link_info_clear(Ipop__LinkInfo *info)
{
	g_free(info->overlay);
	g_free(info->peer_uid);
	g_free(info->peer_public_key.data);
	if (info->pair) {
		g_free(info->pair->local_type);
		g_free(info->pair->local_address);
		g_free(info->pair->remote_type);
		g_free(info->pair->remote_address);
		g_free(info->pair);
	}
	ipop__link_info__init(info);
}

const Ipop__IceCredentials *tc_link_local(const struct tc_link *l)
{
	return l->gathered ? &l->local : NULL;
}

bool tc_link_fast_rx(const struct tc_link *l)
{
	return l->rx_src != NULL;
}

const char *tc_link_peer_uid(const struct tc_link *l)
{
	return l->peer_uid;
}

Ipop__LinkState tc_link_state(const struct tc_link *l)
{
	return l->state;
}
