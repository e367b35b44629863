/*
 * Links: life, ICE and state.  A link is created with its Noise session
 * and a libnice agent that gathers host candidates (never on our own TAPs)
 * and STUN/TURN ones; local candidates go out as an event, remote ones come
 * in from the controller; the selected pair decides whether the packet
 * path may use the socket directly.  The timer drives handshake retries,
 * probes and the liveness deadline.  This module owns the agent, the
 * session and the timer of each link and disconnects every libnice
 * callback before freeing it; the packet path is link_data.c.
 */
#define G_LOG_DOMAIN "tincan"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "tincan/aead.h"
#include "tincan/link_int.h"

void tc_link_set_state(struct tc_link *l, enum tc_link_state st,
		       const char *why)
{
	struct tc_event ev = {.kind = TC_EVENT_LINK_STATE};

	if (l->state == st)
		return;
	g_message("link %s/%.12s: %s -> %s (%s)", l->overlay, l->peer_uid,
		  tc_link_state_name(l->state), tc_link_state_name(st), why);
	if (l->state == TC_LINK_CONNECTED)
		l->flaps++;
	l->state = st;
	ev.overlay = l->overlay;
	ev.peer_uid = l->peer_uid;
	ev.u.link_state.state = st;
	ev.u.link_state.reason = why;
	ev.u.link_state.pair = l->pair_selected ? &l->pair : NULL;
	l->env->emit(l->env->node, &ev);
	tc_link_start_fast_rx(l);
	if (l->ops->on_state)
		l->ops->on_state(l->owner, l, st);
}

/* The responder never starts a handshake: the end with the lower uid does.
 * An end given another key for this node derives another uid for it and
 * may take the responder's part too; then ICE connects and both wait for
 * ever, which nothing else would log. */
static void tell_no_init(struct tc_link *l, const struct tc_time *t)
{
	if (l->controlling || l->init_seen || l->no_init_told ||
	    l->state != TC_LINK_CONNECTING ||
	    t->mono_ms - l->pair_ms < TC_LINK_NO_INIT_LOG_MS)
		return;
	l->no_init_told = true;
	g_message("link %s/%.12s: no handshake initiation from the peer %u s "
		  "after ICE connected: the end with the lower uid starts "
		  "it, the peer here; the peer may have been given another "
		  "key for this node, and so wait for this node to start",
		  l->overlay, l->peer_uid, TC_LINK_NO_INIT_LOG_MS / 1000);
}

static gboolean on_tick(gpointer data)
{
	struct tc_link *l = data;
	struct tc_time t;

	tc_link_now(&t);
	if (!l->pair_selected)
		return G_SOURCE_CONTINUE;
	tell_no_init(l, &t);
	/* A failed link retries the handshake too: the peer may have lost
	 * its keys (restarted) while the path still works. */
	if (l->controlling &&
	    (tc_session_wants_handshake(l->session, &t) ||
	     (l->state == TC_LINK_FAILED &&
	      t.mono_ms - l->last_init_ms >= TC_REKEY_TIMEOUT_MS) ||
	     (l->state == TC_LINK_CONNECTING &&
	      t.mono_ms - l->last_init_ms >= l->retry_ms))) {
		l->retry_ms =
		    MIN(l->retry_ms * 2, (uint32_t)TC_LINK_MAX_RETRY_MS);
		tc_link_send_initiation(l, &t);
	}
	tc_link_repair_tick(l, &t);
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

void tc_link_clear_fast_path(struct tc_link *l)
{
	tc_link_stop_fast_rx(l);
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
	tc_link_clear_fast_path(l);
	if (lc->type == NICE_CANDIDATE_TYPE_RELAYED ||
	    lc->transport != NICE_CANDIDATE_TRANSPORT_UDP)
		return;
	l->fast_sock = nice_agent_get_selected_socket(l->agent, l->stream, 1);
	if (!l->fast_sock)
		return;
	grow_buffers(l, g_socket_get_fd(l->fast_sock));
	tc_link_start_fast_rx(l);
	memset(&l->fast_addr, 0, sizeof(l->fast_addr));
	l->roamed = false;
	nice_address_copy_to_sockaddr(&rc->addr,
				      (struct sockaddr *)&l->fast_addr);
	l->fast_len = nice_address_ip_version(&rc->addr) == 6
			  ? sizeof(struct sockaddr_in6)
			  : sizeof(struct sockaddr_in);
}

static bool is_relayed(const NiceCandidate *lc, const NiceCandidate *rc)
{
	return lc->type == NICE_CANDIDATE_TYPE_RELAYED ||
	       rc->type == NICE_CANDIDATE_TYPE_RELAYED;
}

static bool pair_relayed(const struct tc_cand_pair *p)
{
	return !strcmp(p->local_type, "relay") ||
	       !strcmp(p->remote_type, "relay");
}

void tc_link_use_pair(struct tc_link *l, const NiceCandidate *lc,
		      const NiceCandidate *rc)
{
	bool had = l->pair_selected,
	     was_relayed = had && pair_relayed(&l->pair);
	struct tc_time t;

	describe(lc, l->pair.local_type, sizeof(l->pair.local_type),
		 l->pair.local_addr, sizeof(l->pair.local_addr));
	describe(rc, l->pair.remote_type, sizeof(l->pair.remote_type),
		 l->pair.remote_addr, sizeof(l->pair.remote_addr));
	g_message("link %s/%.12s: selected pair %s %s -> %s %s", l->overlay,
		  l->peer_uid, l->pair.local_type, l->pair.local_addr,
		  l->pair.remote_type, l->pair.remote_addr);
	l->pair_selected = true;
	l->pair_ms = (uint64_t)g_get_monotonic_time() / 1000;
	tc_link_repair_pair_changed(l, had, was_relayed, is_relayed(lc, rc));
	set_fast_path(l, lc, rc);
	if (l->held_resp) {
		tc_link_raw_send(l, l->held_resp, l->held_resp_len);
		g_debug("link %s/%.12s: held handshake response sent",
			l->overlay, l->peer_uid);
		g_clear_pointer(&l->held_resp, g_free);
	}
	tc_link_now(&t);
	if (l->controlling && !tc_session_can_send(l->session, &t))
		tc_link_send_initiation(l, &t);
}

static void on_selected_pair(NiceAgent *agent, guint stream, guint comp,
			     NiceCandidate *lc, NiceCandidate *rc,
			     gpointer data)
{
	struct tc_link *l = data;

	(void)agent;
	(void)comp;
	if (stream == l->stream)
		tc_link_use_pair(l, lc, rc);
	else
		tc_link_repair_selected(l, stream);
}

static void on_component_state(NiceAgent *agent, guint stream, guint comp,
			       guint state, gpointer data)
{
	struct tc_link *l = data;

	(void)agent;
	(void)comp;
	if (stream != l->stream) {
		tc_link_repair_component(l, stream, state);
		return;
	}
	g_debug("link %s/%.12s: ICE component %s", l->overlay, l->peer_uid,
		nice_component_state_to_string(state));
	l->ice_ready = state == NICE_COMPONENT_STATE_READY;
	if (l->ice_ready)
		tc_link_start_fast_rx(l);
	else
		tc_link_stop_fast_rx(l);
	if (state == NICE_COMPONENT_STATE_FAILED &&
	    l->state != TC_LINK_CONNECTED)
		tc_link_set_state(l, TC_LINK_FAILED, "ICE failed");
}

void tc_link_load_local(struct tc_link *l, guint stream)
{
	gchar *ufrag = NULL, *pwd = NULL;
	GSList *cands, *it;
	guint n = 0;

	cands = nice_agent_get_local_candidates(l->agent, stream, 1);
	nice_agent_get_local_credentials(l->agent, stream, &ufrag, &pwd);
	g_strfreev(l->local_cands);
	g_free(l->local_ufrag);
	g_free(l->local_pwd);
	l->local_cands = g_new0(char *, g_slist_length(cands) + 1);
	for (it = cands; it; it = it->next)
		l->local_cands[n++] =
		    nice_agent_generate_local_candidate_sdp(l->agent, it->data);
	g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
	l->local_ufrag = ufrag;
	l->local_pwd = pwd;
	l->local.ufrag = ufrag ? ufrag : "";
	l->local.pwd = pwd ? pwd : "";
	l->local.candidates = l->local_cands;
	l->local.n_candidates = n;
	l->gathered = true;
}

static void on_gathering_done(NiceAgent *agent, guint stream, gpointer data)
{
	struct tc_link *l = data;
	struct tc_event ev = {.kind = TC_EVENT_LOCAL_CANDIDATES};

	(void)agent;
	if (tc_link_repair_gathered(l, stream) ||
	    (stream != l->stream && stream != l->next_stream))
		return;
	tc_link_load_local(l, stream);
	if (stream == l->next_stream) {
		l->next_gathered = true;
		tc_link_stun_done(l);
	}
	g_message("link %s/%.12s: gathered %zu local candidates%s", l->overlay,
		  l->peer_uid, l->local.n_candidates,
		  stream == l->next_stream ? " (ICE restart)" : "");
	ev.overlay = l->overlay;
	ev.peer_uid = l->peer_uid;
	ev.u.local = &l->local;
	l->env->emit(l->env->node, &ev);
	if (l->state == TC_LINK_GATHERING)
		tc_link_set_state(l, TC_LINK_CONNECTING, "candidates gathered");
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

/* A stream looking for a direct path only (direct_only) gets no TURN
 * allocation, so it cannot select a relay; its reflexive address comes
 * from the STUN server, or from the TURN server asked as one (set on the
 * agent for this stream's gathering only, see tc_link_open_stream). */
static void stun_only(struct tc_link *l)
{
	const struct tc_ice_config *ice = l->env->ice;

	if (ice->n_stun > 0)
		g_object_set(l->agent, "stun-server", ice->stun[0].address,
			     "stun-server-port", (guint)ice->stun[0].port,
			     NULL);
	else if (ice->n_turn > 0)
		g_object_set(l->agent, "stun-server", ice->turn[0].address,
			     "stun-server-port", (guint)ice->turn[0].port,
			     NULL);
}

static void configure_servers(struct tc_link *l, guint stream, bool direct_only)
{
	const struct tc_ice_config *ice = l->env->ice;
	unsigned i;

	if (direct_only) {
		stun_only(l);
		l->stun_set = true;
		return;
	}
	for (i = 0; i < ice->n_turn; i++)
		nice_agent_set_relay_info(
		    l->agent, stream, 1, ice->turn[i].address,
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
	g_signal_connect(l->agent, "candidate-gathering-done",
			 G_CALLBACK(on_gathering_done), l);
	g_signal_connect(l->agent, "new-selected-pair-full",
			 G_CALLBACK(on_selected_pair), l);
	g_signal_connect(l->agent, "component-state-changed",
			 G_CALLBACK(on_component_state), l);
	return tc_link_open_stream(l, &l->stream, false) ? 0 : -EADDRNOTAVAIL;
}

/* A direct-only stream's gathering is over: the other streams keep TURN
 * without STUN (see configure_servers). */
void tc_link_stun_done(struct tc_link *l)
{
	if (l->stun_set && l->env->ice->n_turn > 0)
		g_object_set(l->agent, "stun-server", NULL, NULL);
	l->stun_set = false;
}

guint tc_link_open_stream(struct tc_link *l, guint *slot, bool direct_only)
{
	bool ok;

	guint id = nice_agent_add_stream(l->agent, 1);

	if (!id) {
		g_warning("link %s/%.12s: cannot add an ICE stream", l->overlay,
			  l->peer_uid);
		return 0;
	}
	configure_servers(l, id, direct_only);
	nice_agent_attach_recv(l->agent, id, 1, l->env->ctx, tc_link_on_recv,
			       l);
	/* Gathering may end at once, in the call: the id must be known. */
	*slot = id;
	ok = nice_agent_gather_candidates(l->agent, id);
	if (!ok) {
		tc_link_stun_done(l);
		g_warning("link %s/%.12s: cannot gather candidates", l->overlay,
			  l->peer_uid);
		nice_agent_remove_stream(l->agent, id);
		*slot = 0;
		return 0;
	}
	return id;
}

struct tc_link *tc_link_new(const struct tc_env *env, const char *overlay,
			    const char *peer_uid,
			    const uint8_t peer_pub[IPOP_KEY_LEN],
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
	memcpy(l->peer_pub, peer_pub, IPOP_KEY_LEN);
	l->controlling = strcmp(env->id->uid, peer_uid) < 0;
	l->state = TC_LINK_GATHERING;
	l->retry_ms = TC_LINK_FIRST_RETRY_MS;
	l->last_data_ms = (uint64_t)g_get_monotonic_time() / 1000;
	tc_cookie_keys_init(&l->own_keys, env->id->pub);
	if (!tc_link_guard_hold()) {
		g_warning("link %s/%.12s: cannot create the handshake guard",
			  overlay, peer_uid);
		g_free(l);
		return NULL;
	}
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
		tc_link_send_inner(l, TC_INNER_CLOSE, NULL, 0);
}

void tc_link_free(struct tc_link *l)
{
	if (!l)
		return;
	if (l->tick)
		g_source_remove(l->tick);
	if (l->agent)
		tc_link_clear_fast_path(l);
	say_close(l);
	g_free(l->batch);
	g_free(l->held_resp);
	if (l->agent) {
		/* Every stream's, the next one's too: the agent and its
		 * sockets outlive the link until the TURN servers answered
		 * the async close, and a datagram read meanwhile must not
		 * reach the freed link. */
		if (l->stream)
			nice_agent_attach_recv(l->agent, l->stream, 1,
					       l->env->ctx, NULL, NULL);
		if (l->next_stream)
			nice_agent_attach_recv(l->agent, l->next_stream, 1,
					       l->env->ctx, NULL, NULL);
		g_signal_handlers_disconnect_by_data(l->agent, l);
		/* The async close keeps its own reference to the agent. */
		nice_agent_close_async(l->agent, NULL, NULL);
		g_object_unref(l->agent);
	}
	tc_link_repair_free(l);
	tc_session_free(l->session);
	tc_link_guard_release();
	g_free(l->local_ufrag);
	g_free(l->local_pwd);
	g_strfreev(l->local_cands);
	g_free(l->remote_ufrag);
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

/* The candidates of remote parsed for stream (at most 64). */
static GSList *parse_remote(struct tc_link *l, guint stream,
			    const struct tc_ice_creds *remote, bool quiet)
{
	GSList *list = NULL;
	size_t i;

	for (i = 0; i < remote->n_candidates && i < 64; i++) {
		NiceCandidate *c = nice_agent_parse_remote_candidate_sdp(
		    l->agent, stream, remote->candidates[i]);
		if (c)
			list = g_slist_prepend(list, c);
		else if (!quiet)
			g_message("link %s/%.12s: ignoring bad candidate",
				  l->overlay, l->peer_uid);
	}
	return list;
}

int tc_link_add_remote(struct tc_link *l, const struct tc_ice_creds *remote)
{
	GSList *list;
	guint stream;
	int added;

	if (!cred_ok(remote->ufrag, 4, 256) || !cred_ok(remote->pwd, 22, 256))
		return -EINVAL;
	/* Nothing usable: refused before it could restart anything. */
	list = parse_remote(l, l->stream, remote, false);
	if (!list)
		return -EINVAL;
	g_slist_free_full(list, (GDestroyNotify)nice_candidate_free);
	stream = tc_link_repair_bind(l, remote->ufrag, remote->pwd);
	if (!stream)
		return -ENOMEM;
	list = parse_remote(l, stream, remote, true);
	added = nice_agent_set_remote_candidates(l->agent, stream, 1, list);
	g_slist_free_full(list, (GDestroyNotify)nice_candidate_free);
	g_message("link %s/%.12s: %d remote candidates added%s", l->overlay,
		  l->peer_uid, added,
		  stream == l->stream ? "" : " (ICE restart)");
	return added > 0 ? 0 : -EINVAL;
}

void tc_link_get_info(const struct tc_link *l, struct tc_link_info *info)
{
	memset(info, 0, sizeof(*info));
	info->overlay = l->overlay;
	info->peer_uid = l->peer_uid;
	info->peer_pub = l->peer_pub;
	info->state = l->state;
	info->controlling = l->controlling;
	info->pair = l->pair_selected ? &l->pair : NULL;
	info->tx_bytes = l->tx_bytes;
	info->tx_packets = l->tx_packets;
	info->rx_bytes = l->rx_bytes;
	info->rx_packets = l->rx_packets;
	info->dropped = l->dropped;
	info->rtt_us = l->rtt_us;
	info->last_handshake_unix_ms =
	    tc_session_last_handshake_wall(l->session) / 1000000;
	memcpy(info->drops, l->drops, sizeof(info->drops));
	info->handshakes = tc_session_handshakes(l->session);
	info->cipher = tc_aead_suite_name(tc_session_suite(l->session));
	info->flaps = l->flaps;
	info->guard = l->gc;
	info->kind = l->kind;
	info->idle_ms = tc_link_idle_ms(l);
	info->repair = l->rc;
	if (l->last_rx_ms)
		info->silent_ms =
		    (uint64_t)g_get_monotonic_time() / 1000 - l->last_rx_ms;
}

const struct tc_ice_creds *tc_link_local(const struct tc_link *l)
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

enum tc_link_state tc_link_state(const struct tc_link *l)
{
	return l->state;
}

uint32_t tc_link_rtt_us(const struct tc_link *l)
{
	return l->rtt_us;
}

void tc_link_set_kind(struct tc_link *l, enum tc_link_kind kind)
{
	l->kind = kind;
}

enum tc_link_kind tc_link_kind(const struct tc_link *l)
{
	return l->kind;
}

uint32_t tc_link_idle_ms(const struct tc_link *l)
{
	uint64_t now = (uint64_t)g_get_monotonic_time() / 1000;

	return (uint32_t)MIN(now - l->last_data_ms, (uint64_t)UINT32_MAX);
}

uint32_t tc_link_rx_age_ms(const struct tc_link *l)
{
	uint64_t now = (uint64_t)g_get_monotonic_time() / 1000;

	return (uint32_t)MIN(now - l->last_rx_ms, (uint64_t)UINT32_MAX);
}

bool tc_link_take_idle(struct tc_link *l, uint32_t idle_ms)
{
	if (l->idle_told || tc_link_idle_ms(l) < idle_ms)
		return false;
	l->idle_told = true;
	return true;
}

void tc_link_count_drop(struct tc_link *l, int err)
{
	switch (err) {
	case -EBADMSG:
		l->drops[TC_DROP_BAD_PACKET]++;
		break;
	case -EALREADY:
		l->drops[TC_DROP_REPLAY]++;
		break;
	case -ENOKEY:
		l->drops[TC_DROP_NO_KEY]++;
		break;
	case -EKEYEXPIRED:
		l->drops[TC_DROP_KEY_EXPIRED]++;
		break;
	case -EPERM:
		l->drops[TC_DROP_WRONG_KEY]++;
		break;
	case -EMSGSIZE:
		l->drops[TC_DROP_TOO_BIG]++;
		break;
	case -EPROTO:
		l->drops[TC_DROP_BAD_INNER]++;
		break;
	default:
		break; /* no known reason: metrics show it as "other" */
	}
}
