/*
 * The exposition text of metrics.h.  Families come in a fixed order (node,
 * overlays, peers, links), each with HELP and TYPE lines, each sample on
 * one line: name{labels} value.  Counters end in _total, units are in the
 * name (bytes, seconds), states and path types are one series per value
 * (1 for the current one, 0 for the others), so a query never has to know
 * a number's meaning.  The snapshot of live overlays (tc_metrics_render_live)
 * borrows the links' strings only for the call.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tincan/metrics.h"

static const enum tc_link_state states[] = {
    TC_LINK_GATHERING, TC_LINK_CONNECTING, TC_LINK_CONNECTED,
    TC_LINK_FAILED,    TC_LINK_CLOSED,
};

static const char *const path_types[] = {"host", "srflx", "relay"};

/* Label values of enum tc_drop_reason, then the rest ("other"). */
static const char *const drop_names[TC_DROP_REASONS] = {
    [TC_DROP_BAD_PACKET] = "bad_packet", [TC_DROP_REPLAY] = "replay",
    [TC_DROP_NO_KEY] = "no_key",	 [TC_DROP_KEY_EXPIRED] = "key_expired",
    [TC_DROP_WRONG_KEY] = "wrong_key",	 [TC_DROP_TOO_BIG] = "too_big",
    [TC_DROP_BAD_INNER] = "bad_inner",
};

void tc_metrics_escape(GString *out, const char *v)
{
	for (; v && *v; v++) {
		if (*v == '\\')
			g_string_append(out, "\\\\");
		else if (*v == '"')
			g_string_append(out, "\\\"");
		else if (*v == '\n')
			g_string_append(out, "\\n");
		else
			g_string_append_c(out, *v);
	}
}

static bool is_type(const char *t, const char *want)
{
	return strcmp(t, want) == 0;
}

const char *tc_metrics_path_type(const struct tc_cand_pair *p)
{
	if (!p)
		return NULL;
	if (is_type(p->local_type, "relay") || is_type(p->remote_type, "relay"))
		return "relay";
	if (is_type(p->local_type, "srflx") ||
	    is_type(p->remote_type, "srflx") ||
	    is_type(p->local_type, "prflx") || is_type(p->remote_type, "prflx"))
		return "srflx";
	if (is_type(p->local_type, "host") && is_type(p->remote_type, "host"))
		return "host";
	return NULL;
}

/* The text format, piece by piece. */

static void family(GString *s, const char *name, const char *type,
		   const char *help)
{
	g_string_append_printf(s, "# HELP %s %s\n# TYPE %s %s\n", name, help,
			       name, type);
}

static void open_sample(GString *s, const char *name)
{
	g_string_append(s, name);
	g_string_append_c(s, '{');
}

static void label(GString *s, const char *key, const char *v)
{
	if (s->str[s->len - 1] != '{')
		g_string_append_c(s, ',');
	g_string_append_printf(s, "%s=\"", key);
	tc_metrics_escape(s, v);
	g_string_append_c(s, '"');
}

/* Ends the label set ("{}" is dropped) and writes the value. */
static void value(GString *s, const char *v)
{
	if (s->str[s->len - 1] == '{')
		g_string_truncate(s, s->len - 1);
	else
		g_string_append_c(s, '}');
	g_string_append_printf(s, " %s\n", v);
}

static void value_u64(GString *s, uint64_t v)
{
	char buf[24];

	g_snprintf(buf, sizeof(buf), "%" PRIu64, v);
	value(s, buf);
}

static void link_labels(GString *s, const char *name,
			const struct tc_link_info *li)
{
	open_sample(s, name);
	label(s, "overlay", li->overlay);
	label(s, "peer", li->peer_uid);
}

/* The node. */

/* The handshake guard (PROTOCOL.md §13), summed over every link. */
static void guard_sample(GString *s, const char *name, const char *key,
			 const char *v, uint64_t n)
{
	open_sample(s, name);
	if (key)
		label(s, key, v);
	value_u64(s, n);
}

static void guard_families(GString *s, const struct tc_guard_counters *g)
{
	family(s, "ipop_node_handshake_initiations_total", "counter",
	       "Handshake initiations received, by what the guard did: "
	       "passed to the Diffie-Hellman, or dropped for a bad mac1, "
	       "an exhausted budget or a bad mac2 under load.");
	guard_sample(s, "ipop_node_handshake_initiations_total", "result",
		     "passed", g->init_passed);
	guard_sample(s, "ipop_node_handshake_initiations_total", "result",
		     "bad_mac1", g->drop_mac1);
	guard_sample(s, "ipop_node_handshake_initiations_total", "result",
		     "over_budget", g->drop_budget);
	guard_sample(s, "ipop_node_handshake_initiations_total", "result",
		     "bad_mac2", g->drop_mac2);
	family(s, "ipop_node_handshake_initiations_received_total", "counter",
	       "Handshake initiations of the right length received.");
	guard_sample(s, "ipop_node_handshake_initiations_received_total", NULL,
		     NULL, g->init_received);
	family(s, "ipop_node_cookie_replies_total", "counter",
	       "Cookie replies sent to initiators under load, and accepted "
	       "from responders.");
	guard_sample(s, "ipop_node_cookie_replies_total", "direction", "sent",
		     g->cookie_sent);
	guard_sample(s, "ipop_node_cookie_replies_total", "direction",
		     "received", g->cookie_received);
	family(s, "ipop_node_junk_datagrams_total", "counter",
	       "Datagrams naming no message type, length or live session, "
	       "dropped for the cost of a lookup.");
	guard_sample(s, "ipop_node_junk_datagrams_total", NULL, NULL, g->junk);
	family(s, "ipop_node_roams_total", "counter",
	       "Times a peer's authenticated packets came from a new address "
	       "and its link moved there.");
	guard_sample(s, "ipop_node_roams_total", NULL, NULL, g->roams);
	family(s, "ipop_node_handshake_under_load", "gauge",
	       "1 while initiations arrive faster than the load threshold "
	       "(cookies required).");
	guard_sample(s, "ipop_node_handshake_under_load", NULL, NULL,
		     g->under_load ? 1 : 0);
}

static void node_families(GString *s, const struct tc_metrics_node *n)
{
	size_t i, k, j, count;

	family(s, "ipop_node_info", "gauge",
	       "This tincan's uid and software version (always 1).");
	open_sample(s, "ipop_node_info");
	label(s, "uid", n->uid);
	label(s, "version", n->version);
	value(s, "1");
	family(s, "ipop_node_overlays", "gauge", "Overlays on this node.");
	open_sample(s, "ipop_node_overlays");
	value_u64(s, n->n_overlays);
	family(s, "ipop_node_links", "gauge",
	       "Links of all overlays, by state.");
	for (j = 0; j < G_N_ELEMENTS(states); j++) {
		count = 0;
		for (i = 0; i < n->n_overlays; i++)
			for (k = 0; k < n->overlays[i].n_links; k++)
				count +=
				    n->overlays[i].links[k].state == states[j];
		open_sample(s, "ipop_node_links");
		label(s, "state", tc_link_state_name(states[j]));
		value_u64(s, count);
	}
	family(s, "ipop_node_control_clients", "gauge",
	       "Clients connected to the control socket.");
	open_sample(s, "ipop_node_control_clients");
	value_u64(s, n->control_clients);
	family(s, "ipop_node_controller_connected", "gauge",
	       "1 while a CONTROLLER client is connected.");
	open_sample(s, "ipop_node_controller_connected");
	value(s, n->controller ? "1" : "0");
	family(s, "ipop_node_events_dropped_total", "counter",
	       "Events a control client did not get (its queue was full).");
	open_sample(s, "ipop_node_events_dropped_total");
	value_u64(s, n->events_dropped);
	guard_families(s, &n->guard);
	family(s, "ipop_node_link_recoveries_total", "counter",
	       "Silences of a peer (1.5 s or more) that ended with traffic "
	       "back, over every link this tincan had.");
	guard_sample(s, "ipop_node_link_recoveries_total", NULL, NULL,
		     n->repair.recoveries);
	family(s, "ipop_node_ice_restarts_total", "counter",
	       "ICE restarts of links, by who started them.");
	guard_sample(s, "ipop_node_ice_restarts_total", "by", "self",
		     n->repair.restarts);
	guard_sample(s, "ipop_node_ice_restarts_total", "by", "peer",
		     n->repair.peer_restarts);
}

/* Overlays and the peers they map. */

static const char *mode_name(enum tc_overlay_mode m)
{
	return m == TC_OVERLAY_SWITCH ? "switch" : "l3";
}

static void overlay_gauge(GString *s, const char *name,
			  const struct tc_metrics_overlay *o, uint64_t v)
{
	open_sample(s, name);
	label(s, "overlay", o->info.name);
	value_u64(s, v);
}

static void overlay_drop(GString *s, const struct tc_metrics_overlay *o,
			 const char *reason, uint64_t v)
{
	open_sample(s, "ipop_overlay_dropped_frames_total");
	label(s, "overlay", o->info.name);
	label(s, "reason", reason);
	value_u64(s, v);
}

static void overlay_families(GString *s, const struct tc_metrics_node *n)
{
	const struct tc_metrics_overlay *o;
	size_t i;

	family(s, "ipop_overlay_info", "gauge",
	       "An overlay, its TAP device and mode (always 1).");
	for (i = 0; i < n->n_overlays; i++) {
		o = &n->overlays[i];
		open_sample(s, "ipop_overlay_info");
		label(s, "overlay", o->info.name);
		label(s, "tap", o->info.tap);
		label(s, "mode", mode_name(o->info.mode));
		value(s, "1");
	}
	family(s, "ipop_overlay_links", "gauge", "Links of the overlay.");
	for (i = 0; i < n->n_overlays; i++)
		overlay_gauge(s, "ipop_overlay_links", &n->overlays[i],
			      n->overlays[i].n_links);
	family(s, "ipop_overlay_mappings", "gauge",
	       "Peers mapped to overlay addresses.");
	for (i = 0; i < n->n_overlays; i++)
		overlay_gauge(s, "ipop_overlay_mappings", &n->overlays[i],
			      n->overlays[i].n_maps);
	family(s, "ipop_overlay_dropped_frames_total", "counter",
	       "Frames the overlay dropped: malformed (bad headers, spoofed "
	       "sources), refused by the TAP device (tap), or GroupVPN "
	       "frames with no link nearer their destination (no_route) or "
	       "out of hops (hop_limit).");
	for (i = 0; i < n->n_overlays; i++) {
		o = &n->overlays[i];
		overlay_drop(s, o, "malformed", o->info.dropped_malformed);
		overlay_drop(s, o, "tap", o->info.dropped_tap);
		overlay_drop(s, o, "no_route", o->info.dropped_no_route);
		overlay_drop(s, o, "hop_limit", o->info.dropped_hop_limit);
	}
	family(s, "ipop_overlay_forwarded_frames_total", "counter",
	       "GroupVPN: frames passed on between two other members.");
	for (i = 0; i < n->n_overlays; i++)
		overlay_gauge(s, "ipop_overlay_forwarded_frames_total",
			      &n->overlays[i], n->overlays[i].info.forwarded);
}

static void peer_sample(GString *s, const char *overlay,
			const struct tc_fwd_entry *e)
{
	char v4[INET_ADDRSTRLEN] = "", v6[INET6_ADDRSTRLEN] = "";

	if (e->has_v4)
		inet_ntop(AF_INET, e->v4, v4, sizeof(v4));
	if (e->has_v6)
		inet_ntop(AF_INET6, e->v6, v6, sizeof(v6));
	open_sample(s, "ipop_peer_info");
	label(s, "overlay", overlay);
	label(s, "peer", e->uid);
	label(s, "label", e->label);
	label(s, "ipv4", v4);
	label(s, "ipv6", v6);
	value(s, "1");
}

static void peer_families(GString *s, const struct tc_metrics_node *n)
{
	size_t i, k;

	family(s, "ipop_peer_info", "gauge",
	       "A peer mapped in an overlay: its label and overlay addresses "
	       "(always 1).");
	for (i = 0; i < n->n_overlays; i++)
		for (k = 0; k < n->overlays[i].n_maps; k++)
			peer_sample(s, n->overlays[i].info.name,
				    &n->overlays[i].maps[k]);
}

/* Links. */

static uint64_t get_rx_bytes(const struct tc_link_info *l)
{
	return l->rx_bytes;
}

static uint64_t get_tx_bytes(const struct tc_link_info *l)
{
	return l->tx_bytes;
}

static uint64_t get_rx_packets(const struct tc_link_info *l)
{
	return l->rx_packets;
}

static uint64_t get_tx_packets(const struct tc_link_info *l)
{
	return l->tx_packets;
}

static uint64_t get_handshakes(const struct tc_link_info *l)
{
	return l->handshakes;
}

static uint64_t get_rekeys(const struct tc_link_info *l)
{
	return l->handshakes > 1 ? l->handshakes - 1 : 0;
}

static uint64_t get_flaps(const struct tc_link_info *l)
{
	return l->flaps;
}

static uint64_t get_recoveries(const struct tc_link_info *l)
{
	return l->repair.recoveries;
}

static uint64_t get_restarts(const struct tc_link_info *l)
{
	return l->repair.restarts + l->repair.peer_restarts;
}

static uint64_t get_fallbacks(const struct tc_link_info *l)
{
	return l->repair.relay_fallbacks;
}

static uint64_t get_upgrades(const struct tc_link_info *l)
{
	return l->repair.relay_upgrades;
}

static const struct {
	const char *name, *help;
	uint64_t (*get)(const struct tc_link_info *l);
} link_counters[] = {
    {"ipop_link_rx_bytes_total",
     "Bytes of Ethernet frames received from the peer.", get_rx_bytes},
    {"ipop_link_tx_bytes_total", "Bytes of Ethernet frames sent to the peer.",
     get_tx_bytes},
    {"ipop_link_rx_packets_total", "Ethernet frames received from the peer.",
     get_rx_packets},
    {"ipop_link_tx_packets_total", "Ethernet frames sent to the peer.",
     get_tx_packets},
    {"ipop_link_handshakes_total", "Noise handshakes completed on the link.",
     get_handshakes},
    {"ipop_link_rekeys_total",
     "Handshakes after the link's first one (key rotation, or new keys "
     "after the peer lost its own).",
     get_rekeys},
    {"ipop_link_flaps_total", "Times the link left the connected state.",
     get_flaps},
    {"ipop_link_recoveries_total",
     "Silences of the peer (1.5 s or more) that ended with traffic back.",
     get_recoveries},
    {"ipop_link_ice_restarts_total",
     "ICE restarts of the link, started by either side.", get_restarts},
    {"ipop_link_relay_fallbacks_total",
     "Moves from a direct path onto a TURN relay.", get_fallbacks},
    {"ipop_link_relay_upgrades_total",
     "Moves from a TURN relay back to a direct path.", get_upgrades},
};

/* Calls fn for every link of every overlay, in order. */
static void each_link(GString *s, const struct tc_metrics_node *n,
		      void (*fn)(GString *s, const struct tc_link_info *l))
{
	size_t i, k;

	for (i = 0; i < n->n_overlays; i++)
		for (k = 0; k < n->overlays[i].n_links; k++)
			fn(s, &n->overlays[i].links[k]);
}

static void state_samples(GString *s, const struct tc_link_info *l)
{
	size_t j;

	for (j = 0; j < G_N_ELEMENTS(states); j++) {
		link_labels(s, "ipop_link_state", l);
		label(s, "state", tc_link_state_name(states[j]));
		value(s, l->state == states[j] ? "1" : "0");
	}
}

static void path_samples(GString *s, const struct tc_link_info *l)
{
	const char *t = tc_metrics_path_type(l->pair);
	size_t j;

	for (j = 0; j < G_N_ELEMENTS(path_types); j++) {
		link_labels(s, "ipop_link_path_type", l);
		label(s, "type", path_types[j]);
		value(s, t && strcmp(t, path_types[j]) == 0 ? "1" : "0");
	}
}

static void cipher_samples(GString *s, const struct tc_link_info *l)
{
	static const char *const ciphers[] = {"chacha20-poly1305",
					      "aes-256-gcm"};
	size_t j;

	for (j = 0; j < G_N_ELEMENTS(ciphers); j++) {
		link_labels(s, "ipop_link_cipher", l);
		label(s, "cipher", ciphers[j]);
		value(s, l->cipher && strcmp(l->cipher, ciphers[j]) == 0 ? "1"
									 : "0");
	}
}

static void rtt_sample(GString *s, const struct tc_link_info *l)
{
	char buf[32];

	if (l->rtt_us == 0)
		return;
	g_snprintf(buf, sizeof(buf), "%u.%06u", l->rtt_us / 1000000,
		   l->rtt_us % 1000000);
	link_labels(s, "ipop_link_rtt_seconds", l);
	value(s, buf);
}

static void handshake_time_sample(GString *s, const struct tc_link_info *l)
{
	char buf[32];

	if (l->last_handshake_unix_ms == 0)
		return;
	g_snprintf(buf, sizeof(buf), "%" PRIu64 ".%03u",
		   l->last_handshake_unix_ms / 1000,
		   (unsigned)(l->last_handshake_unix_ms % 1000));
	link_labels(s, "ipop_link_last_handshake_timestamp_seconds", l);
	value(s, buf);
}

static void drop_samples(GString *s, const struct tc_link_info *l)
{
	uint64_t known = 0;
	size_t j;

	for (j = 0; j < TC_DROP_REASONS; j++) {
		link_labels(s, "ipop_link_dropped_packets_total", l);
		label(s, "reason", drop_names[j]);
		value_u64(s, l->drops[j]);
		known += l->drops[j];
	}
	link_labels(s, "ipop_link_dropped_packets_total", l);
	label(s, "reason", "other");
	value_u64(s, l->dropped > known ? l->dropped - known : 0);
}

static void link_families(GString *s, const struct tc_metrics_node *n)
{
	size_t c, i, k;

	family(s, "ipop_link_state", "gauge",
	       "The link's state: 1 for the current one, 0 for the others.");
	each_link(s, n, state_samples);
	family(s, "ipop_link_path_type", "gauge",
	       "The selected path: host (direct), srflx (through NAT) or relay "
	       "(TURN); 1 for the current one, all 0 before ICE selects one.");
	each_link(s, n, path_samples);
	family(s, "ipop_link_cipher", "gauge",
	       "The transport cipher of the link's current keys: 1 for the one "
	       "in use, all 0 before the first handshake.");
	each_link(s, n, cipher_samples);
	for (c = 0; c < G_N_ELEMENTS(link_counters); c++) {
		family(s, link_counters[c].name, "counter",
		       link_counters[c].help);
		for (i = 0; i < n->n_overlays; i++)
			for (k = 0; k < n->overlays[i].n_links; k++) {
				const struct tc_link_info *l =
				    &n->overlays[i].links[k];
				link_labels(s, link_counters[c].name, l);
				value_u64(s, link_counters[c].get(l));
			}
	}
	family(s, "ipop_link_dropped_packets_total", "counter",
	       "Packets the link dropped, by reason.");
	each_link(s, n, drop_samples);
	family(s, "ipop_link_rtt_seconds", "gauge",
	       "Latest round-trip time of the link's probe (absent until "
	       "measured).");
	each_link(s, n, rtt_sample);
	family(s, "ipop_link_last_handshake_timestamp_seconds", "gauge",
	       "Unix time of the last completed handshake (absent before the "
	       "first).");
	each_link(s, n, handshake_time_sample);
}

void tc_metrics_render(const struct tc_metrics_node *n, GString *out)
{
	node_families(out, n);
	overlay_families(out, n);
	peer_families(out, n);
	link_families(out, n);
}

/* The snapshot of live overlays. */

struct collect {
	struct tc_metrics_overlay *o;
	size_t cap_links, cap_maps;
};

static void add_link(const struct tc_link *l, void *ctx)
{
	struct collect *c = ctx;

	if (c->o->n_links < c->cap_links)
		tc_link_get_info(l, &c->o->links[c->o->n_links++]);
}

static void add_map(const struct tc_fwd_entry *e, void *ctx)
{
	struct collect *c = ctx;

	if (c->o->n_maps < c->cap_maps)
		c->o->maps[c->o->n_maps++] = *e;
}

static int by_peer(const void *a, const void *b)
{
	return strcmp(((const struct tc_link_info *)a)->peer_uid,
		      ((const struct tc_link_info *)b)->peer_uid);
}

static int by_uid(const void *a, const void *b)
{
	return strcmp(((const struct tc_fwd_entry *)a)->uid,
		      ((const struct tc_fwd_entry *)b)->uid);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct tc_metrics_overlay *)a)->info.name,
		      ((const struct tc_metrics_overlay *)b)->info.name);
}

static void collect(const struct tc_overlay *ov, struct tc_metrics_overlay *o)
{
	struct collect c = {.o = o};

	memset(o, 0, sizeof(*o));
	tc_overlay_get_info(ov, &o->info);
	c.cap_links = o->info.n_links;
	c.cap_maps = o->info.n_mappings;
	o->links = g_new0(struct tc_link_info, c.cap_links + 1);
	o->maps = g_new0(struct tc_fwd_entry, c.cap_maps + 1);
	tc_overlay_foreach_link(ov, add_link, &c);
	if (o->info.mode != TC_OVERLAY_SWITCH)
		tc_overlay_foreach_mapping(ov, add_map, &c);
	qsort(o->links, o->n_links, sizeof(*o->links), by_peer);
	qsort(o->maps, o->n_maps, sizeof(*o->maps), by_uid);
}

void tc_metrics_render_live(const struct tc_metrics_node *base,
			    struct tc_overlay *const *ovs, size_t n_ovs,
			    GString *out)
{
	struct tc_metrics_node n = *base;
	struct tc_metrics_overlay *o =
	    g_new0(struct tc_metrics_overlay, n_ovs + 1);
	size_t i;

	for (i = 0; i < n_ovs; i++)
		collect(ovs[i], &o[i]);
	qsort(o, n_ovs, sizeof(*o), by_name);
	n.overlays = o;
	n.n_overlays = n_ovs;
	tc_metrics_render(&n, out);
	for (i = 0; i < n_ovs; i++) {
		g_free(o[i].links);
		g_free(o[i].maps);
	}
	g_free(o);
}
