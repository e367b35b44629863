/*
 * The human output of render.h: value texts, aligned tables, sizes, times
 * and the status view.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "proto/frame.h"
#include "tools/ipopctl/ipopctl.h"
#include "tools/ipopctl/render.h"

/* "aa:bb:cc:dd:ee:ff" for any non-empty byte string, NULL when empty. */
char *render_mac(const ProtobufCBinaryData *b)
{
	GString *s;
	size_t i;

	if (b->len == 0)
		return NULL;
	s = g_string_new(NULL);
	for (i = 0; i < b->len; i++)
		g_string_append_printf(s, "%s%02x", i ? ":" : "", b->data[i]);
	return g_string_free(s, FALSE);
}

/* "addr/prefix", or NULL when addr is empty. */
char *render_cidr(const char *addr, uint32_t prefix)
{
	if (addr == NULL || addr[0] == '\0')
		return NULL;
	return g_strdup_printf("%s/%" PRIu32, addr, prefix);
}

const char *render_mode(Ipop__OverlayMode m)
{
	switch (m) {
	case IPOP__OVERLAY_MODE__L3:
		return "l3";
	case IPOP__OVERLAY_MODE__SWITCH:
		return "switch";
	default:
		return NULL;
	}
}

bool render_has_pair(const Ipop__CandidatePair *p)
{
	return p != NULL && (p->local_address[0] || p->remote_address[0]);
}

static void fmt_bytes(char *buf, size_t n, uint64_t v)
{
	static const char *const unit[] = {"KiB", "MiB", "GiB",
					   "TiB", "PiB", "EiB"};
	double d;
	size_t i = 0;

	if (v < 1024) {
		snprintf(buf, n, "%" PRIu64 " B", v);
		return;
	}
	d = (double)v / 1024.0;
	while (d >= 1023.95 && i + 1 < G_N_ELEMENTS(unit)) {
		d /= 1024.0;
		i++;
	}
	snprintf(buf, n, "%.1f %s", d, unit[i]);
}

static void fmt_rtt(char *buf, size_t n, uint32_t us)
{
	if (us == 0)
		snprintf(buf, n, "-");
	else if (us < 1000)
		snprintf(buf, n, "%" PRIu32 " us", us);
	else if (us < 1000000)
		snprintf(buf, n, "%.1f ms", us / 1000.0);
	else
		snprintf(buf, n, "%.2f s", us / 1000000.0);
}

/* Time since a unix-ms timestamp, e.g. "42s", "3m 12s", "2h 5m", "4d 1h". */
static void fmt_ago(char *buf, size_t n, uint64_t unix_ms)
{
	int64_t now_ms = g_get_real_time() / 1000;
	uint64_t s;

	if (unix_ms == 0) {
		snprintf(buf, n, "never");
		return;
	}
	s = (uint64_t)now_ms > unix_ms ? ((uint64_t)now_ms - unix_ms) / 1000
				       : 0;
	if (s < 60)
		snprintf(buf, n, "%" PRIu64 "s", s);
	else if (s < 3600)
		snprintf(buf, n, "%" PRIu64 "m %" PRIu64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, n, "%" PRIu64 "h %" PRIu64 "m", s / 3600,
			 s / 60 % 60);
	else
		snprintf(buf, n, "%" PRIu64 "d %" PRIu64 "h", s / 86400,
			 s / 3600 % 24);
}

/* A left-aligned text table: cells are added row by row. */
struct table {
	guint ncols;
	GPtrArray *cells; /* owned strings, row-major */
};

struct table *table_new(guint ncols)
{
	struct table *t = g_new0(struct table, 1);

	t->ncols = ncols;
	t->cells = g_ptr_array_new_with_free_func(g_free);
	return t;
}

void table_free(struct table *t)
{
	if (t == NULL)
		return;
	g_ptr_array_free(t->cells, TRUE);
	g_free(t);
}

void table_cellf(struct table *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_ptr_array_add(t->cells, g_strdup_vprintf(fmt, ap));
	va_end(ap);
}

bool table_has_rows(const struct table *t)
{
	return t->cells->len > t->ncols;
}

static size_t text_width(const char *s)
{
	if (g_utf8_validate(s, -1, NULL))
		return (size_t)g_utf8_strlen(s, -1);
	return strlen(s);
}

void table_print(const struct table *t, const char *indent)
{
	size_t *w = g_new0(size_t, t->ncols);
	guint i;

	for (i = 0; i < t->cells->len; i++) {
		size_t cw = text_width(g_ptr_array_index(t->cells, i));

		if (cw > w[i % t->ncols])
			w[i % t->ncols] = cw;
	}
	for (i = 0; i < t->cells->len; i++) {
		const char *cell = g_ptr_array_index(t->cells, i);
		guint col = i % t->ncols;

		if (col == 0)
			fputs(indent, stdout);
		fputs(cell, stdout);
		if (col + 1 == t->ncols)
			fputc('\n', stdout);
		else
			printf("%*s", (int)(w[col] - text_width(cell) + 2), "");
	}
	g_free(w);
}

void render_link_cells(struct table *t, const Ipop__LinkInfo *l)
{
	const Ipop__CandidatePair *p = l->pair;
	char tx[32], rx[32], rtt[32], ago[32];

	fmt_bytes(tx, sizeof(tx), l->tx_bytes);
	fmt_bytes(rx, sizeof(rx), l->rx_bytes);
	fmt_rtt(rtt, sizeof(rtt), l->rtt_us);
	fmt_ago(ago, sizeof(ago), l->last_handshake_unix_ms);
	table_cellf(t, "%.12s", l->peer_uid[0] ? l->peer_uid : "-");
	table_cellf(t, "%s", ipop_link_state_name(l->state));
	if (render_has_pair(p)) {
		table_cellf(t, "%s->%s", p->local_type[0] ? p->local_type : "?",
			    p->remote_type[0] ? p->remote_type : "?");
		table_cellf(t, "%s",
			    p->remote_address[0] ? p->remote_address : "-");
	} else {
		table_cellf(t, "-");
		table_cellf(t, "-");
	}
	table_cellf(t, "%s", tx);
	table_cellf(t, "%s", rx);
	table_cellf(t, "%s", rtt);
	table_cellf(t, "%s", l->cipher && l->cipher[0] ? l->cipher : "-");
	table_cellf(t, "%s", ago);
	table_cellf(t, "%s", l->kind ? route_kind_name(l->kind) : "-");
	table_cellf(t, "%.1fs", l->idle_ms / 1000.0);
	if (l->recoveries)
		table_cellf(t, "%" PRIu64 " (last %" PRIu64 " ms)",
			    l->recoveries, l->last_recovery_ms);
	else
		table_cellf(t, "-");
}

void render_link_header(struct table *t)
{
	table_cellf(t, "PEER");
	table_cellf(t, "STATE");
	table_cellf(t, "PAIR");
	table_cellf(t, "REMOTE");
	table_cellf(t, "TX");
	table_cellf(t, "RX");
	table_cellf(t, "RTT");
	table_cellf(t, "CIPHER");
	table_cellf(t, "HANDSHAKE AGO");
	table_cellf(t, "KIND");
	table_cellf(t, "IDLE");
	table_cellf(t, "RECOVERED");
}

/* Starts a section of an overlay's view that has n rows: with none, prints
 * "  TITLE  EMPTY" and returns NULL; else prints "  TITLE" and returns a
 * table of ncols for the rows, to print and free with section_end. */
static struct table *section(const char *title, size_t n, const char *empty,
			     guint ncols)
{
	if (n == 0) {
		printf("  %-10s  %s\n", title, empty);
		return NULL;
	}
	printf("  %s\n", title);
	return table_new(ncols);
}

static void section_end(struct table *t)
{
	table_print(t, "    ");
	table_free(t);
}

static void print_links(const Ipop__OverlayInfo *o)
{
	struct table *t;
	size_t i;

	t = section("links", o->n_links, "none", RENDER_LINK_COLS);
	if (t == NULL)
		return;
	render_link_header(t);
	for (i = 0; i < o->n_links; i++)
		render_link_cells(t, o->links[i]);
	section_end(t);
}

/* Whether o has a connected link to uid. */
static bool linked(const Ipop__OverlayInfo *o, const char *uid)
{
	size_t i;

	for (i = 0; i < o->n_links; i++)
		if (!strcmp(o->links[i]->peer_uid, uid))
			return o->links[i]->state ==
			       IPOP__LINK_STATE__CONNECTED;
	return false;
}

/* GroupVPN (L3 without translation): how frames reach the member. */
static void route_cells(struct table *t, const Ipop__OverlayInfo *o,
			const Ipop__PeerMapping *m)
{
	if (linked(o, m->peer_uid))
		table_cellf(t, "direct");
	else if (m->via_uid[0])
		table_cellf(t, "via %.12s%s", m->via_uid,
			    m->route_installed ? " (set-route)" : "");
	else
		table_cellf(t, "unreachable");
	table_cellf(t, "%" PRIu64 "/%" PRIu64, m->fwd_tx_packets,
		    m->fwd_rx_packets);
}

static void print_mappings(const Ipop__OverlayInfo *o)
{
	bool routes = o->mode != IPOP__OVERLAY_MODE__SWITCH && !o->translation;
	struct table *t;
	size_t i;
	char *mac;

	t = section("mappings", o->n_mappings, "none",
		    o->translation ? 6
		    : routes	   ? 7
				   : 5);
	if (t == NULL)
		return;
	table_cellf(t, "PEER");
	table_cellf(t, "LABEL");
	table_cellf(t, o->translation ? "IPV4 (MY VIEW)" : "IPV4");
	table_cellf(t, "IPV6");
	table_cellf(t, "MAC");
	if (o->translation)
		table_cellf(t, "ITS OWN IPV4");
	if (routes) {
		table_cellf(t, "ROUTE");
		table_cellf(t, "FWD TX/RX");
	}
	for (i = 0; i < o->n_mappings; i++) {
		const Ipop__PeerMapping *m = o->mappings[i];

		mac = render_mac(&m->mac);
		table_cellf(t, "%.12s", m->peer_uid);
		table_cellf(t, "%s", m->label[0] ? m->label : "-");
		table_cellf(t, "%s", m->ipv4[0] ? m->ipv4 : "-");
		table_cellf(t, "%s", m->ipv6[0] ? m->ipv6 : "-");
		table_cellf(t, "%s", mac != NULL ? mac : "-");
		if (o->translation)
			table_cellf(t, "%s",
				    m->peer_ipv4[0] ? m->peer_ipv4 : "-");
		if (routes)
			route_cells(t, o, m);
		g_free(mac);
	}
	section_end(t);
}

static void print_macs(const Ipop__OverlayInfo *o)
{
	struct table *t;
	size_t i;
	char *mac;

	if (o->mode != IPOP__OVERLAY_MODE__SWITCH)
		return;
	t = section("mac table", o->n_mac_table, "empty", 3);
	if (t == NULL)
		return;
	table_cellf(t, "MAC");
	table_cellf(t, "PORT");
	table_cellf(t, "AGE");
	for (i = 0; i < o->n_mac_table; i++) {
		const Ipop__MacEntry *m = o->mac_table[i];

		mac = render_mac(&m->mac);
		table_cellf(t, "%s", mac != NULL ? mac : "-");
		table_cellf(t, "%.12s", m->peer_uid[0] ? m->peer_uid : "local");
		table_cellf(t, "%.1f s", m->age_ms / 1000.0);
		g_free(mac);
	}
	section_end(t);
}

static void print_overlay(const Ipop__OverlayInfo *o)
{
	char *v4 = render_cidr(o->ipv4, o->ipv4_prefix);
	char *v6 = render_cidr(o->ipv6, o->ipv6_prefix);
	char *mac = render_mac(&o->tap_mac);
	const char *mode = render_mode(o->mode);

	printf("\noverlay %s\n", o->name);
	printf("  %-10s  %s\n", "tap", o->tap_name[0] ? o->tap_name : "-");
	printf("  %-10s  %s\n", "mode", mode != NULL ? mode : "-");
	printf("  %-10s  %s\n", "ipv4", v4 != NULL ? v4 : "-");
	printf("  %-10s  %s\n", "ipv6", v6 != NULL ? v6 : "-");
	printf("  %-10s  %" PRIu32 "\n", "mtu", o->mtu);
	printf("  %-10s  %s\n", "mac", mac != NULL ? mac : "-");
	printf("  %-10s  %s\n", "psk", o->has_psk ? "yes" : "no");
	printf("  %-10s  %s\n", "translate", o->translation ? "yes" : "no");
	if (o->bridge[0])
		printf("  %-10s  %s\n", "bridge", o->bridge);
	printf("  %-10s  %" PRIu64 " malformed, %" PRIu64 " at the TAP\n",
	       "dropped", o->dropped_malformed, o->dropped_tap);
	if (o->mode != IPOP__OVERLAY_MODE__SWITCH && !o->translation)
		printf("  %-10s  %" PRIu64 " frames passed on; dropped %" PRIu64
		       " without a route, %" PRIu64 " at the hop limit\n",
		       "forwarding", o->forwarded_packets, o->dropped_no_route,
		       o->dropped_hop_limit);
	if (o->offload)
		printf("  %-10s  TSO + checksum; %" PRIu64 " segments joined "
		       "into %" PRIu64 " frames\n",
		       "offload", o->joined_segments, o->joined_frames);
	else
		printf("  %-10s  off\n", "offload");
	print_mappings(o);
	print_macs(o);
	print_links(o);
	g_free(v4);
	g_free(v6);
	g_free(mac);
}

static void print_ice(const Ipop__SetIceServers *ice)
{
	size_t i;

	printf("%-10s  ", "stun");
	if (ice == NULL || ice->n_stun == 0)
		printf("none");
	for (i = 0; ice != NULL && i < ice->n_stun; i++)
		printf(strchr(ice->stun[i]->address, ':') ? "%s[%s]:%" PRIu32
							  : "%s%s:%" PRIu32,
		       i ? ", " : "", ice->stun[i]->address,
		       ice->stun[i]->port);
	printf("\n%-10s  ", "turn");
	if (ice == NULL || ice->n_turn == 0)
		printf("none");
	for (i = 0; ice != NULL && i < ice->n_turn; i++) {
		const Ipop__TurnServer *t = ice->turn[i];

		printf(strchr(t->address, ':') ? "%s[%s]:%" PRIu32 " (%s)"
					       : "%s%s:%" PRIu32 " (%s)",
		       i ? ", " : "", t->address, t->port, t->username);
	}
	printf("\n");
}

void render_state(const Ipop__NodeState *st)
{
	char *key = g_base64_encode(st->public_key.data, st->public_key.len);
	size_t i;

	printf("%-10s  %s\n", "uid", st->uid);
	printf("%-10s  %s\n", "public key", key);
	printf("%-10s  %s\n", "version", st->version);
	print_ice(st->ice);
	printf("%-10s  initiations %" PRIu64 " (passed %" PRIu64
	       ", dropped: mac1 %" PRIu64 ", budget %" PRIu64 ", mac2 %" PRIu64
	       "), cookies sent %" PRIu64 " received %" PRIu64 ", junk %" PRIu64
	       ", roams %" PRIu64 "%s\n",
	       "guard", st->init_received, st->init_passed,
	       st->init_dropped_mac1, st->init_dropped_budget,
	       st->init_dropped_mac2, st->cookie_replies_sent,
	       st->cookie_replies_received, st->junk_dropped, st->roams,
	       st->under_load ? ", UNDER LOAD" : "");
	printf("%-10s  %" PRIu64 " link recoveries, %" PRIu64
	       " ICE restarts (%" PRIu64 " given up), %" PRIu64
	       " relay fallbacks, %" PRIu64 " back to direct\n",
	       "repair", st->link_recoveries, st->ice_restarts,
	       st->ice_restarts_given_up, st->relay_fallbacks,
	       st->relay_upgrades);
	printf("%-10s  %zu\n", "overlays", st->n_overlays);
	for (i = 0; i < st->n_overlays; i++)
		print_overlay(st->overlays[i]);
	g_free(key);
}
