/*
 * The JSON writer and shapes of json.h.  Every document is one line; keys
 * and value spellings are an interface for scripts.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "proto/frame.h"
#include "tools/ipopctl/ipopctl.h"
#include "tools/ipopctl/json.h"
#include "tools/ipopctl/render.h"

/* Appends the UTF-8 character at p, or U+FFFD for a byte that does not
 * start one (JSON text must be UTF-8); returns the bytes used. */
static size_t utf8_char(GString *s, const unsigned char *p)
{
	gunichar u = g_utf8_get_char_validated((const char *)p, -1);
	size_t n;

	if (u == (gunichar)-1 || u == (gunichar)-2) {
		g_string_append(s, "\\ufffd");
		return 1;
	}
	n = (size_t)g_utf8_skip[*p];
	g_string_append_len(s, (const char *)p, (gssize)n);
	return n;
}

/* Appends v as a JSON string: quotes, backslash and control characters are
 * escaped; valid UTF-8 passes through, anything else becomes U+FFFD (a
 * label from tincan may hold any bytes). */
void json_escape(GString *s, const char *v)
{
	const unsigned char *p;

	g_string_append_c(s, '"');
	for (p = (const unsigned char *)v; *p != '\0'; p++) {
		switch (*p) {
		case '"':
			g_string_append(s, "\\\"");
			break;
		case '\\':
			g_string_append(s, "\\\\");
			break;
		case '\b':
			g_string_append(s, "\\b");
			break;
		case '\f':
			g_string_append(s, "\\f");
			break;
		case '\n':
			g_string_append(s, "\\n");
			break;
		case '\r':
			g_string_append(s, "\\r");
			break;
		case '\t':
			g_string_append(s, "\\t");
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				g_string_append_printf(s, "\\u%04x", *p);
			else if (*p >= 0x80)
				p += utf8_char(s, p) - 1;
			else
				g_string_append_c(s, (char)*p);
		}
	}
	g_string_append_c(s, '"');
}

/* Writes the separator and, inside an object, the key of the next value. */
void json_sep(struct json *j, const char *key)
{
	if (j->depth > 0) {
		if (!j->first[j->depth - 1])
			g_string_append_c(j->s, ',');
		j->first[j->depth - 1] = false;
	}
	if (key != NULL) {
		json_escape(j->s, key);
		g_string_append_c(j->s, ':');
	}
}

void json_open(struct json *j, const char *key, char bracket)
{
	json_sep(j, key);
	g_string_append_c(j->s, bracket);
	g_assert(j->depth < JSON_DEPTH);
	j->first[j->depth++] = true;
}

void json_close(struct json *j, char bracket)
{
	g_assert(j->depth > 0);
	j->depth--;
	g_string_append_c(j->s, bracket);
}

/* v NULL or empty writes null: the JSON shapes use null for "not set". */
void json_str(struct json *j, const char *key, const char *v)
{
	json_sep(j, key);
	if (v == NULL || v[0] == '\0')
		g_string_append(j->s, "null");
	else
		json_escape(j->s, v);
}

void json_u64(struct json *j, const char *key, uint64_t v)
{
	json_sep(j, key);
	g_string_append_printf(j->s, "%" PRIu64, v);
}

void json_bool(struct json *j, const char *key, bool v)
{
	json_sep(j, key);
	g_string_append(j->s, v ? "true" : "false");
}

void json_init(struct json *j)
{
	j->s = g_string_new(NULL);
	j->depth = 0;
}

/* Prints the document as one line and frees it. */
void json_emit(struct json *j)
{
	g_assert(j->depth == 0);
	g_string_append_c(j->s, '\n');
	fwrite(j->s->str, 1, j->s->len, stdout);
	g_string_free(j->s, TRUE);
	j->s = NULL;
}

void json_begin(struct json *j)
{
	json_init(j);
	json_open(j, NULL, '{');
}

void json_end(struct json *j)
{
	json_close(j, '}');
	json_emit(j);
}

static char *typed_addr(const char *type, const char *addr)
{
	return g_strdup_printf("%s %s", type[0] ? type : "?",
			       addr[0] ? addr : "?");
}

/* The handshake guard's counters of a link or of the node (the same
 * field names in both messages). */
#define json_guard(j, m)                                                       \
	do {                                                                   \
		json_u64(j, "init_received", (m)->init_received);              \
		json_u64(j, "init_passed", (m)->init_passed);                  \
		json_u64(j, "init_dropped_mac1", (m)->init_dropped_mac1);      \
		json_u64(j, "init_dropped_budget", (m)->init_dropped_budget);  \
		json_u64(j, "init_dropped_mac2", (m)->init_dropped_mac2);      \
		json_u64(j, "cookie_replies_sent", (m)->cookie_replies_sent);  \
		json_u64(j, "cookie_replies_received",                         \
			 (m)->cookie_replies_received);                        \
		json_u64(j, "junk_dropped", (m)->junk_dropped);                \
		json_u64(j, "roams", (m)->roams);                              \
	} while (0)

void json_link(struct json *j, const Ipop__LinkInfo *l, const char *overlay)
{
	const Ipop__CandidatePair *p = l->pair;
	char *s;

	json_open(j, NULL, '{');
	json_str(j, "overlay", l->overlay[0] ? l->overlay : overlay);
	json_str(j, "peer_uid", l->peer_uid);
	json_str(j, "state", ipop_link_state_name(l->state));
	json_bool(j, "controlling", l->controlling);
	if (render_has_pair(p)) {
		json_open(j, "pair", '{');
		s = typed_addr(p->local_type, p->local_address);
		json_str(j, "local", s);
		g_free(s);
		s = typed_addr(p->remote_type, p->remote_address);
		json_str(j, "remote", s);
		g_free(s);
		json_close(j, '}');
	} else {
		json_str(j, "pair", NULL);
	}
	json_str(j, "local_type", p != NULL ? p->local_type : NULL);
	json_str(j, "remote_type", p != NULL ? p->remote_type : NULL);
	json_u64(j, "tx_bytes", l->tx_bytes);
	json_u64(j, "tx_packets", l->tx_packets);
	json_u64(j, "rx_bytes", l->rx_bytes);
	json_u64(j, "rx_packets", l->rx_packets);
	json_u64(j, "dropped", l->dropped);
	json_u64(j, "last_handshake_ms", l->last_handshake_unix_ms);
	json_u64(j, "rtt_us", l->rtt_us);
	json_str(j, "kind", route_kind_name(l->kind));
	json_u64(j, "idle_ms", l->idle_ms);
	json_str(j, "cipher", l->cipher);
	json_guard(j, l);
	json_open(j, "repair", '{');
	json_u64(j, "recoveries", l->recoveries);
	json_u64(j, "last_recovery_ms", l->last_recovery_ms);
	json_u64(j, "ice_restarts", l->ice_restarts);
	json_u64(j, "peer_ice_restarts", l->peer_ice_restarts);
	json_u64(j, "ice_restarts_given_up", l->ice_restarts_given_up);
	json_u64(j, "pair_switches", l->pair_switches);
	json_u64(j, "relay_fallbacks", l->relay_fallbacks);
	json_u64(j, "relay_upgrades", l->relay_upgrades);
	json_u64(j, "silent_ms", l->silent_ms);
	json_close(j, '}');
	json_close(j, '}');
}

static void json_ice(struct json *j, const Ipop__SetIceServers *ice)
{
	size_t i;
	char *s;

	json_open(j, "ice", '{');
	json_open(j, "stun", '[');
	for (i = 0; ice != NULL && i < ice->n_stun; i++) {
		s = g_strdup_printf(strchr(ice->stun[i]->address, ':')
					? "[%s]:%" PRIu32
					: "%s:%" PRIu32,
				    ice->stun[i]->address, ice->stun[i]->port);
		json_str(j, NULL, s);
		g_free(s);
	}
	json_close(j, ']');
	json_open(j, "turn", '[');
	for (i = 0; ice != NULL && i < ice->n_turn; i++) {
		const Ipop__TurnServer *t = ice->turn[i];

		s = g_strdup_printf(strchr(t->address, ':') ? "[%s]:%" PRIu32
							    : "%s:%" PRIu32,
				    t->address, t->port);
		json_open(j, NULL, '{');
		json_str(j, "server", s);
		json_str(j, "user", t->username);
		json_close(j, '}');
		g_free(s);
	}
	json_close(j, ']');
	json_close(j, '}');
}

static void json_mappings(struct json *j, const Ipop__OverlayInfo *o)
{
	size_t i;
	char *mac;

	json_open(j, "mappings", '[');
	for (i = 0; i < o->n_mappings; i++) {
		const Ipop__PeerMapping *m = o->mappings[i];

		mac = render_mac(&m->mac);
		json_open(j, NULL, '{');
		json_str(j, "peer_uid", m->peer_uid);
		json_str(j, "ipv4", m->ipv4);
		json_str(j, "ipv6", m->ipv6);
		json_str(j, "mac", mac);
		json_str(j, "peer_ipv4", m->peer_ipv4);
		json_str(j, "label", m->label);
		json_str(j, "via_uid", m->via_uid);
		json_bool(j, "route_installed", m->route_installed);
		json_u64(j, "fwd_tx_packets", m->fwd_tx_packets);
		json_u64(j, "fwd_tx_bytes", m->fwd_tx_bytes);
		json_u64(j, "fwd_rx_packets", m->fwd_rx_packets);
		json_u64(j, "fwd_rx_bytes", m->fwd_rx_bytes);
		json_close(j, '}');
		g_free(mac);
	}
	json_close(j, ']');
}

static void json_macs(struct json *j, const Ipop__OverlayInfo *o)
{
	size_t i;
	char *mac;

	json_open(j, "mac_table", '[');
	for (i = 0; i < o->n_mac_table; i++) {
		const Ipop__MacEntry *m = o->mac_table[i];

		mac = render_mac(&m->mac);
		json_open(j, NULL, '{');
		json_str(j, "mac", mac);
		json_str(j, "peer_uid", m->peer_uid);
		json_u64(j, "age_ms", m->age_ms);
		json_close(j, '}');
		g_free(mac);
	}
	json_close(j, ']');
}

static void json_overlay(struct json *j, const Ipop__OverlayInfo *o)
{
	char *v4 = render_cidr(o->ipv4, o->ipv4_prefix);
	char *v6 = render_cidr(o->ipv6, o->ipv6_prefix);
	char *mac = render_mac(&o->tap_mac);
	size_t i;

	json_open(j, NULL, '{');
	json_str(j, "name", o->name);
	json_str(j, "tap", o->tap_name);
	json_str(j, "mode", render_mode(o->mode));
	json_str(j, "ipv4", v4);
	json_str(j, "ipv6", v6);
	json_u64(j, "mtu", o->mtu);
	json_str(j, "mac", mac);
	json_bool(j, "psk", o->has_psk);
	json_bool(j, "translation", o->translation);
	json_str(j, "bridge", o->bridge);
	json_u64(j, "dropped_malformed", o->dropped_malformed);
	json_u64(j, "dropped_tap", o->dropped_tap);
	json_bool(j, "offload", o->offload);
	json_u64(j, "joined_frames", o->joined_frames);
	json_u64(j, "joined_segments", o->joined_segments);
	json_u64(j, "forwarded_packets", o->forwarded_packets);
	json_u64(j, "dropped_no_route", o->dropped_no_route);
	json_u64(j, "dropped_hop_limit", o->dropped_hop_limit);
	json_mappings(j, o);
	json_macs(j, o);
	json_open(j, "links", '[');
	for (i = 0; i < o->n_links; i++)
		json_link(j, o->links[i], o->name);
	json_close(j, ']');
	json_close(j, '}');
	g_free(v4);
	g_free(v6);
	g_free(mac);
}

void json_state(const Ipop__NodeState *st)
{
	struct json j;
	char *key = g_base64_encode(st->public_key.data, st->public_key.len);
	size_t i;

	json_begin(&j);
	json_str(&j, "uid", st->uid);
	json_str(&j, "public_key", key);
	json_str(&j, "version", st->version);
	json_open(&j, "guard", '{');
	json_guard(&j, st);
	json_bool(&j, "under_load", st->under_load);
	json_close(&j, '}');
	json_open(&j, "repair", '{');
	json_u64(&j, "link_recoveries", st->link_recoveries);
	json_u64(&j, "ice_restarts", st->ice_restarts);
	json_u64(&j, "ice_restarts_given_up", st->ice_restarts_given_up);
	json_u64(&j, "relay_fallbacks", st->relay_fallbacks);
	json_u64(&j, "relay_upgrades", st->relay_upgrades);
	json_close(&j, '}');
	json_ice(&j, st->ice);
	json_open(&j, "overlays", '[');
	for (i = 0; i < st->n_overlays; i++)
		json_overlay(&j, st->overlays[i]);
	json_close(&j, ']');
	json_end(&j);
	g_free(key);
}

static void json_pair_fields(struct json *j, const Ipop__CandidatePair *p)
{
	bool has = p != NULL;

	json_str(j, "local_type", has ? p->local_type : NULL);
	json_str(j, "remote_type", has ? p->remote_type : NULL);
	json_str(j, "local", has ? p->local_address : NULL);
	json_str(j, "remote", has ? p->remote_address : NULL);
}

static void json_local_cands(struct json *j,
			     const Ipop__LocalCandidatesEvent *e)
{
	char *b64 = NULL;
	uint8_t *buf;
	size_t len;

	if (e->local != NULL) {
		len = ipop__ice_credentials__get_packed_size(e->local);
		buf = g_malloc(len + 1);
		ipop__ice_credentials__pack(e->local, buf);
		b64 = g_base64_encode(buf, len);
		g_free(buf);
	}
	json_str(j, "event", "local_candidates");
	json_str(j, "overlay", e->overlay);
	json_str(j, "peer_uid", e->peer_uid);
	json_str(j, "blob", b64);
	g_free(b64);
}

/* Returns false for an event kind this ipopctl does not know. */
static bool json_event_body(struct json *j, const Ipop__Event *ev)
{
	const Ipop__LinkStateChangedEvent *ls = ev->link_state;
	const Ipop__UnknownDestinationEvent *ud = ev->unknown_destination;
	char *mac;

	switch (ev->kind_case) {
	case IPOP__EVENT__KIND_LOCAL_CANDIDATES:
		json_local_cands(j, ev->local_candidates);
		return true;
	case IPOP__EVENT__KIND_LINK_STATE:
		json_str(j, "event", "link_state");
		json_str(j, "overlay", ls->overlay);
		json_str(j, "peer_uid", ls->peer_uid);
		json_str(j, "state", ipop_link_state_name(ls->state));
		json_pair_fields(j, ls->pair);
		json_str(j, "reason", ls->reason);
		return true;
	case IPOP__EVENT__KIND_UNKNOWN_DESTINATION:
		mac = render_mac(&ud->dst_mac);
		json_str(j, "event", "unknown_destination");
		json_str(j, "overlay", ud->overlay);
		json_str(j, "dst_ipv4", ud->dst_ipv4);
		json_str(j, "dst_ipv6", ud->dst_ipv6);
		json_str(j, "dst_mac", mac);
		g_free(mac);
		return true;
	case IPOP__EVENT__KIND_ROUTE_TRAFFIC:
		json_str(j, "event", "route_traffic");
		json_str(j, "overlay", ev->route_traffic->overlay);
		json_str(j, "peer_uid", ev->route_traffic->peer_uid);
		json_u64(j, "bytes_per_s", ev->route_traffic->bytes_per_s);
		return true;
	case IPOP__EVENT__KIND_LINK_IDLE:
		json_str(j, "event", "link_idle");
		json_str(j, "overlay", ev->link_idle->overlay);
		json_str(j, "peer_uid", ev->link_idle->peer_uid);
		json_u64(j, "idle_ms", ev->link_idle->idle_ms);
		return true;
	case IPOP__EVENT__KIND_CONTROLLER_REPLACED:
		json_str(j, "event", "controller_replaced");
		json_str(j, "reason", ev->controller_replaced->reason);
		return true;
	default:
		json_str(j, "event", "unknown");
		return false;
	}
}

void json_event(const Ipop__Event *ev)
{
	struct json j;

	json_begin(&j);
	json_event_body(&j, ev);
	json_end(&j);
}
