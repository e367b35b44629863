/*
 * Metrics: the exposition text of a fixture node, byte for byte (a change
 * to a name, a label or the order is a change operators see); label
 * escaping; path types; the "other" drop reason; the HTTP request parser
 * and the --metrics address parser, table-driven; and the listener itself
 * on a loopback port, a client thread talking to it while the test runs
 * the main loop.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "tincan/metrics.h"
#include "tincan/metrics_http.h"

#define UID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define UID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static struct tc_tap_config cfg;
static struct tc_cand_pair pair_ab = {"host", "10.1.0.2:40000", "srflx",
				      "100.64.2.2:50000"};
static struct tc_link_info links[2];
static struct tc_fwd_entry maps[1];
static struct tc_metrics_overlay ov;
static struct tc_metrics_node node;

/* One overlay with a connected link (A: reflexive path, counters, drops
 * with two of unknown reason) and a new one (B), and A mapped with a label
 * that needs escaping. */
static void fixture(void)
{
	memset(links, 0, sizeof(links));
	memset(maps, 0, sizeof(maps));
	memset(&ov, 0, sizeof(ov));
	links[0].overlay = links[1].overlay = "vpn";
	links[0].peer_uid = UID_A;
	links[0].state = TC_LINK_CONNECTED;
	links[0].pair = &pair_ab;
	links[0].rx_bytes = 1000;
	links[0].tx_bytes = 2000;
	links[0].rx_packets = 10;
	links[0].tx_packets = 20;
	links[0].handshakes = 3;
	links[0].cipher = "aes-256-gcm";
	links[0].flaps = 1;
	links[0].repair = (struct tc_repair_counters){.recoveries = 4,
						      .restarts = 2,
						      .peer_restarts = 1,
						      .relay_fallbacks = 1,
						      .relay_upgrades = 1};
	links[0].rtt_us = 1500;
	links[0].last_handshake_unix_ms = 1700000000123ULL;
	links[0].drops[TC_DROP_BAD_PACKET] = 2;
	links[0].drops[TC_DROP_REPLAY] = 1;
	links[0].dropped = 5;
	links[1].peer_uid = UID_B;
	links[1].state = TC_LINK_GATHERING;
	g_strlcpy(maps[0].uid, UID_A, sizeof(maps[0].uid));
	maps[0].has_v4 = true;
	memcpy(maps[0].v4, (uint8_t[]){10, 254, 0, 2}, 4);
	g_strlcpy(maps[0].label, "alice \"a\\b\"", sizeof(maps[0].label));
	ov.info.name = "vpn";
	ov.info.tap = "ipop0";
	ov.info.mode = TC_OVERLAY_L3;
	ov.info.cfg = &cfg;
	ov.info.dropped_malformed = 3;
	ov.info.dropped_tap = 4;
	ov.info.dropped_no_route = 5;
	ov.info.dropped_hop_limit = 6;
	ov.info.forwarded = 7;
	ov.links = links;
	ov.n_links = 2;
	ov.maps = maps;
	ov.n_maps = 1;
	node = (struct tc_metrics_node){
	    .uid = "cccccccccccccccccccccccccccccccccccccccc",
	    .version = "1.2.3",
	    .control_clients = 2,
	    .controller = true,
	    .events_dropped = 7,
	    .guard = {.init_received = 100,
		      .init_passed = 10,
		      .drop_mac1 = 20,
		      .drop_budget = 30,
		      .drop_mac2 = 40,
		      .cookie_sent = 5,
		      .cookie_received = 6,
		      .junk = 8,
		      .roams = 9,
		      .under_load = true},
	    .repair = {.recoveries = 6, .restarts = 3, .peer_restarts = 2},
	    .overlays = &ov,
	    .n_overlays = 1,
	};
}

static const char expected[] =
    "# HELP ipop_node_info This tincan's uid and software version (always 1).\n"
    "# TYPE ipop_node_info gauge\n"
    "ipop_node_info{uid=\"cccccccccccccccccccccccccccccccccccccccc\",version="
    "\"1.2.3\"} 1\n"
    "# HELP ipop_node_overlays Overlays on this node.\n"
    "# TYPE ipop_node_overlays gauge\n"
    "ipop_node_overlays 1\n"
    "# HELP ipop_node_links Links of all overlays, by state.\n"
    "# TYPE ipop_node_links gauge\n"
    "ipop_node_links{state=\"gathering\"} 1\n"
    "ipop_node_links{state=\"connecting\"} 0\n"
    "ipop_node_links{state=\"connected\"} 1\n"
    "ipop_node_links{state=\"failed\"} 0\n"
    "ipop_node_links{state=\"closed\"} 0\n"
    "# HELP ipop_node_control_clients Clients connected to the control "
    "socket.\n"
    "# TYPE ipop_node_control_clients gauge\n"
    "ipop_node_control_clients 2\n"
    "# HELP ipop_node_controller_connected 1 while a CONTROLLER client is "
    "connected.\n"
    "# TYPE ipop_node_controller_connected gauge\n"
    "ipop_node_controller_connected 1\n"
    "# HELP ipop_node_events_dropped_total Events a control client did not get "
    "(its queue was full).\n"
    "# TYPE ipop_node_events_dropped_total counter\n"
    "ipop_node_events_dropped_total 7\n"
    "# HELP ipop_node_handshake_initiations_total Handshake initiations "
    "received, by what the guard did: passed to the Diffie-Hellman, or "
    "dropped for a bad mac1, an exhausted budget or a bad mac2 under load.\n"
    "# TYPE ipop_node_handshake_initiations_total counter\n"
    "ipop_node_handshake_initiations_total{result=\"passed\"} 10\n"
    "ipop_node_handshake_initiations_total{result=\"bad_mac1\"} 20\n"
    "ipop_node_handshake_initiations_total{result=\"over_budget\"} 30\n"
    "ipop_node_handshake_initiations_total{result=\"bad_mac2\"} 40\n"
    "# HELP ipop_node_handshake_initiations_received_total Handshake "
    "initiations of the right length received.\n"
    "# TYPE ipop_node_handshake_initiations_received_total counter\n"
    "ipop_node_handshake_initiations_received_total 100\n"
    "# HELP ipop_node_cookie_replies_total Cookie replies sent to initiators "
    "under load, and accepted from responders.\n"
    "# TYPE ipop_node_cookie_replies_total counter\n"
    "ipop_node_cookie_replies_total{direction=\"sent\"} 5\n"
    "ipop_node_cookie_replies_total{direction=\"received\"} 6\n"
    "# HELP ipop_node_junk_datagrams_total Datagrams naming no message type, "
    "length or live session, dropped for the cost of a lookup.\n"
    "# TYPE ipop_node_junk_datagrams_total counter\n"
    "ipop_node_junk_datagrams_total 8\n"
    "# HELP ipop_node_roams_total Times a peer's authenticated packets came "
    "from a new address and its link moved there.\n"
    "# TYPE ipop_node_roams_total counter\n"
    "ipop_node_roams_total 9\n"
    "# HELP ipop_node_handshake_under_load 1 while initiations arrive faster "
    "than the load threshold (cookies required).\n"
    "# TYPE ipop_node_handshake_under_load gauge\n"
    "ipop_node_handshake_under_load 1\n"
    "# HELP ipop_node_link_recoveries_total Silences of a peer (1.5 s or "
    "more) that ended with traffic back, over every link this tincan had.\n"
    "# TYPE ipop_node_link_recoveries_total counter\n"
    "ipop_node_link_recoveries_total 6\n"
    "# HELP ipop_node_ice_restarts_total ICE restarts of links, by who "
    "started them.\n"
    "# TYPE ipop_node_ice_restarts_total counter\n"
    "ipop_node_ice_restarts_total{by=\"self\"} 3\n"
    "ipop_node_ice_restarts_total{by=\"peer\"} 2\n"
    "# HELP ipop_overlay_info An overlay, its TAP device and mode (always 1).\n"
    "# TYPE ipop_overlay_info gauge\n"
    "ipop_overlay_info{overlay=\"vpn\",tap=\"ipop0\",mode=\"l3\"} 1\n"
    "# HELP ipop_overlay_links Links of the overlay.\n"
    "# TYPE ipop_overlay_links gauge\n"
    "ipop_overlay_links{overlay=\"vpn\"} 2\n"
    "# HELP ipop_overlay_mappings Peers mapped to overlay addresses.\n"
    "# TYPE ipop_overlay_mappings gauge\n"
    "ipop_overlay_mappings{overlay=\"vpn\"} 1\n"
    "# HELP ipop_overlay_dropped_frames_total Frames the overlay dropped: "
    "malformed (bad headers, spoofed sources), refused by the TAP device "
    "(tap), or GroupVPN frames with no link nearer their destination "
    "(no_route) or out of hops (hop_limit).\n"
    "# TYPE ipop_overlay_dropped_frames_total counter\n"
    "ipop_overlay_dropped_frames_total{overlay=\"vpn\",reason=\"malformed\"} "
    "3\n"
    "ipop_overlay_dropped_frames_total{overlay=\"vpn\",reason=\"tap\"} 4\n"
    "ipop_overlay_dropped_frames_total{overlay=\"vpn\",reason=\"no_route\"} "
    "5\n"
    "ipop_overlay_dropped_frames_total{overlay=\"vpn\",reason=\"hop_limit\"} "
    "6\n"
    "# HELP ipop_overlay_forwarded_frames_total GroupVPN: frames passed on "
    "between two other members.\n"
    "# TYPE ipop_overlay_forwarded_frames_total counter\n"
    "ipop_overlay_forwarded_frames_total{overlay=\"vpn\"} 7\n"
    "# HELP ipop_peer_info A peer mapped in an overlay: its label and overlay "
    "addresses (always 1).\n"
    "# TYPE ipop_peer_info gauge\n"
    "ipop_peer_info{overlay=\"vpn\",peer="
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",label=\"alice "
    "\\\"a\\\\b\\\"\",ipv4=\"10.254.0.2\",ipv6=\"\"} 1\n"
    "# HELP ipop_link_state The link's state: 1 for the current one, 0 for the "
    "others.\n"
    "# TYPE ipop_link_state gauge\n"
    "ipop_link_state{overlay=\"vpn\",peer="
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",state=\"gathering\"} 0\n"
    "ipop_link_state{overlay=\"vpn\",peer="
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",state=\"connecting\"} 0\n"
    "ipop_link_state{overlay=\"vpn\",peer="
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",state=\"connected\"} 1\n"
    "ipop_link_state{overlay=\"vpn\",peer="
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",state=\"failed\"} 0\n"
    "ipop_link_state{overlay=\"vpn\",peer="
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",state=\"closed\"} 0\n"
    "ipop_link_state{overlay=\"vpn\",peer="
    "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",state=\"gathering\"} 1\n"
    "ipop_link_state{overlay=\"vpn\",peer="
    "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",state=\"connecting\"} 0\n"
    "ipop_link_state{overlay=\"vpn\",peer="
    "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",state=\"connected\"} 0\n"
    "ipop_link_state{overlay=\"vpn\",peer="
    "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",state=\"failed\"} 0\n"
    "ipop_link_state{overlay=\"vpn\",peer="
    "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",state=\"closed\"} 0\n"
    "# HELP ipop_link_path_type The selected path: host (direct), srflx "
    "(through NAT) or relay (TURN); 1 for the current one, all 0 before ICE "
    "selects one.\n"
    "# TYPE ipop_link_path_type gauge\n"
    "ipop_link_path_type{overlay=\"vpn\",peer="
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",type=\"host\"} 0\n"
    "ipop_link_path_type{overlay=\"vpn\",peer="
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",type=\"srflx\"} 1\n"
    "ipop_link_path_type{overlay=\"vpn\",peer="
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",type=\"relay\"} 0\n"
    "ipop_link_path_type{overlay=\"vpn\",peer="
    "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",type=\"host\"} 0\n"
    "ipop_link_path_type{overlay=\"vpn\",peer="
    "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",type=\"srflx\"} 0\n"
    "ipop_link_path_type{overlay=\"vpn\",peer="
    "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",type=\"relay\"} 0\n"
    "# HELP ipop_link_cipher The transport cipher of the link's current keys: "
    "1 for the one in use, all 0 before the first handshake.\n"
    "# TYPE ipop_link_cipher gauge\n"
    "ipop_link_cipher{overlay=\"vpn\",peer="
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",cipher=\"chacha20-poly1305\"}"
    " "
    "0\n"
    "ipop_link_cipher{overlay=\"vpn\",peer="
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",cipher=\"aes-256-gcm\"} 1\n"
    "ipop_link_cipher{overlay=\"vpn\",peer="
    "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",cipher=\"chacha20-poly1305\"}"
    " "
    "0\n"
    "ipop_link_cipher{overlay=\"vpn\",peer="
    "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",cipher=\"aes-256-gcm\"} 0\n"
    "# HELP ipop_link_rx_bytes_total Bytes of Ethernet frames received from "
    "the peer.\n"
    "# TYPE ipop_link_rx_bytes_total counter\n"
    "ipop_link_rx_bytes_total{overlay=\"vpn\",peer="
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"} 1000\n"
    "ipop_link_rx_bytes_total{overlay=\"vpn\",peer="
    "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"} 0\n"
    "# HELP ipop_link_tx_bytes_total Bytes of Ethernet frames sent to the "
    "peer.\n"
    "# TYPE ipop_link_tx_bytes_total counter\n"
    "ipop_link_tx_bytes_total{overlay=\"vpn\",peer="
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"} 2000\n"
    "ipop_link_tx_bytes_total{overlay=\"vpn\",peer="
    "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"} 0\n"
    "# HELP ipop_link_rx_packets_total Ethernet frames received from the "
    "peer.\n"
    "# TYPE ipop_link_rx_packets_total counter\n"
    "ipop_link_rx_packets_total{overlay=\"vpn\",peer="
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"} 10\n"
    "ipop_link_rx_packets_total{overlay=\"vpn\",peer="
    "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"} 0\n"
    "# HELP ipop_link_tx_packets_total Ethernet frames sent to the peer.\n"
    "# TYPE ipop_link_tx_packets_total counter\n"
    "ipop_link_tx_packets_total{overlay=\"vpn\",peer="
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"} 20\n"
    "ipop_link_tx_packets_total{overlay=\"vpn\",peer="
    "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"} 0\n"
    "# HELP ipop_link_handshakes_total Noise handshakes completed on the "
    "link.\n"
    "# TYPE ipop_link_handshakes_total counter\n"
    "ipop_link_handshakes_total{overlay=\"vpn\",peer="
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"} 3\n"
    "ipop_link_handshakes_total{overlay=\"vpn\",peer="
    "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"} 0\n"
    "# HELP ipop_link_rekeys_total Handshakes after the link's first one (key "
    "rotation, or new keys after the peer lost its own).\n"
    "# TYPE ipop_link_rekeys_total counter\n"
    "ipop_link_rekeys_total{overlay=\"vpn\",peer="
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"} 2\n"
    "ipop_link_rekeys_total{overlay=\"vpn\",peer="
    "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"} 0\n"
    "# HELP ipop_link_flaps_total Times the link left the connected state.\n"
    "# TYPE ipop_link_flaps_total counter\n"
    "ipop_link_flaps_total{overlay=\"vpn\",peer="
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"} 1\n"
    "ipop_link_flaps_total{overlay=\"vpn\",peer="
    "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"} 0\n"
    "# HELP ipop_link_recoveries_total Silences of the peer (1.5 s or more) "
    "that ended with traffic back.\n"
    "# TYPE ipop_link_recoveries_total counter\n"
    "ipop_link_recoveries_total{overlay=\"vpn\",peer="
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"} 4\n"
    "ipop_link_recoveries_total{overlay=\"vpn\",peer="
    "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"} 0\n"
    "# HELP ipop_link_ice_restarts_total ICE restarts of the link, started by "
    "either side.\n"
    "# TYPE ipop_link_ice_restarts_total counter\n"
    "ipop_link_ice_restarts_total{overlay=\"vpn\",peer="
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"} 3\n"
    "ipop_link_ice_restarts_total{overlay=\"vpn\",peer="
    "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"} 0\n"
    "# HELP ipop_link_relay_fallbacks_total Moves from a direct path onto a "
    "TURN relay.\n"
    "# TYPE ipop_link_relay_fallbacks_total counter\n"
    "ipop_link_relay_fallbacks_total{overlay=\"vpn\",peer="
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"} 1\n"
    "ipop_link_relay_fallbacks_total{overlay=\"vpn\",peer="
    "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"} 0\n"
    "# HELP ipop_link_relay_upgrades_total Moves from a TURN relay back to a "
    "direct path.\n"
    "# TYPE ipop_link_relay_upgrades_total counter\n"
    "ipop_link_relay_upgrades_total{overlay=\"vpn\",peer="
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"} 1\n"
    "ipop_link_relay_upgrades_total{overlay=\"vpn\",peer="
    "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"} 0\n"
    "# HELP ipop_link_dropped_packets_total Packets the link dropped, by "
    "reason.\n"
    "# TYPE ipop_link_dropped_packets_total counter\n"
    "ipop_link_dropped_packets_total{overlay=\"vpn\",peer="
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",reason=\"bad_packet\"} 2\n"
    "ipop_link_dropped_packets_total{overlay=\"vpn\",peer="
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",reason=\"replay\"} 1\n"
    "ipop_link_dropped_packets_total{overlay=\"vpn\",peer="
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",reason=\"no_key\"} 0\n"
    "ipop_link_dropped_packets_total{overlay=\"vpn\",peer="
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",reason=\"key_expired\"} 0\n"
    "ipop_link_dropped_packets_total{overlay=\"vpn\",peer="
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",reason=\"wrong_key\"} 0\n"
    "ipop_link_dropped_packets_total{overlay=\"vpn\",peer="
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",reason=\"too_big\"} 0\n"
    "ipop_link_dropped_packets_total{overlay=\"vpn\",peer="
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",reason=\"bad_inner\"} 0\n"
    "ipop_link_dropped_packets_total{overlay=\"vpn\",peer="
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",reason=\"other\"} 2\n"
    "ipop_link_dropped_packets_total{overlay=\"vpn\",peer="
    "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",reason=\"bad_packet\"} 0\n"
    "ipop_link_dropped_packets_total{overlay=\"vpn\",peer="
    "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",reason=\"replay\"} 0\n"
    "ipop_link_dropped_packets_total{overlay=\"vpn\",peer="
    "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",reason=\"no_key\"} 0\n"
    "ipop_link_dropped_packets_total{overlay=\"vpn\",peer="
    "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",reason=\"key_expired\"} 0\n"
    "ipop_link_dropped_packets_total{overlay=\"vpn\",peer="
    "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",reason=\"wrong_key\"} 0\n"
    "ipop_link_dropped_packets_total{overlay=\"vpn\",peer="
    "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",reason=\"too_big\"} 0\n"
    "ipop_link_dropped_packets_total{overlay=\"vpn\",peer="
    "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",reason=\"bad_inner\"} 0\n"
    "ipop_link_dropped_packets_total{overlay=\"vpn\",peer="
    "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",reason=\"other\"} 0\n"
    "# HELP ipop_link_rtt_seconds Latest round-trip time of the link's probe "
    "(absent until measured).\n"
    "# TYPE ipop_link_rtt_seconds gauge\n"
    "ipop_link_rtt_seconds{overlay=\"vpn\",peer="
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"} 0.001500\n"
    "# HELP ipop_link_last_handshake_timestamp_seconds Unix time of the last "
    "completed handshake (absent before the first).\n"
    "# TYPE ipop_link_last_handshake_timestamp_seconds gauge\n"
    "ipop_link_last_handshake_timestamp_seconds{overlay=\"vpn\",peer="
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"} 1700000000.123\n";

START_TEST(text_of_fixture)
{
	GString *s = g_string_new(NULL);

	fixture();
	tc_metrics_render(&node, s);
	if (strcmp(s->str, expected) != 0)
		fprintf(stderr, "---- got ----\n%s---- end ----\n", s->str);
	ck_assert_msg(strcmp(s->str, expected) == 0,
		      "the text differs from the expected one (printed above)");
	g_string_free(s, TRUE);
}
END_TEST

/* Without overlays every family is still announced, and nothing else. */
START_TEST(empty_node_announces_families)
{
	struct tc_metrics_node n = {.uid = "u", .version = "v"};
	GString *s = g_string_new(NULL);
	gchar **lines;
	unsigned help = 0, type = 0, i;

	tc_metrics_render(&n, s);
	lines = g_strsplit(s->str, "\n", -1);
	for (i = 0; lines[i]; i++) {
		help += g_str_has_prefix(lines[i], "# HELP ");
		type += g_str_has_prefix(lines[i], "# TYPE ");
	}
	ck_assert_uint_eq(help, type);
	ck_assert_uint_eq(help, 37);
	ck_assert_ptr_nonnull(strstr(s->str, "\nipop_node_overlays 0\n"));
	ck_assert_ptr_null(strstr(s->str, "ipop_link_state{"));
	g_strfreev(lines);
	g_string_free(s, TRUE);
}
END_TEST

static const struct {
	const char *in, *out;
} esc_cases[] = {
    {"plain", "plain"},
    {"a\"b", "a\\\"b"},
    {"back\\slash", "back\\\\slash"},
    {"two\nlines", "two\\nlines"},
    {"\\\"\n", "\\\\\\\"\\n"},
    {"", ""},
    {"caf\xc3\xa9", "caf\xc3\xa9"},
};

START_TEST(label_escaping)
{
	GString *s = g_string_new(NULL);

	tc_metrics_escape(s, esc_cases[_i].in);
	ck_assert_str_eq(s->str, esc_cases[_i].out);
	g_string_free(s, TRUE);
}
END_TEST

static const struct {
	const char *local, *remote, *want;
} path_cases[] = {
    {"host", "host", "host"},	  {"host", "srflx", "srflx"},
    {"prflx", "host", "srflx"},	  {"srflx", "relay", "relay"},
    {"relay", "host", "relay"},	  {"host", "unknown", NULL},
    {"unknown", "unknown", NULL},
};

START_TEST(path_types)
{
	struct tc_cand_pair p = {0};
	const char *got;

	g_strlcpy(p.local_type, path_cases[_i].local, sizeof(p.local_type));
	g_strlcpy(p.remote_type, path_cases[_i].remote, sizeof(p.remote_type));
	got = tc_metrics_path_type(&p);
	if (path_cases[_i].want)
		ck_assert_str_eq(got, path_cases[_i].want);
	else
		ck_assert_ptr_null(got);
	ck_assert_ptr_null(tc_metrics_path_type(NULL));
}
END_TEST

/* Drops of no known reason are "other"; more known than dropped (a count
 * that raced) never goes negative. */
START_TEST(other_drops)
{
	GString *s = g_string_new(NULL);

	fixture();
	links[0].dropped = 2;
	tc_metrics_render(&node, s);
	ck_assert_ptr_nonnull(strstr(
	    s->str,
	    "ipop_link_dropped_packets_total{overlay=\"vpn\",peer=\"" UID_A
	    "\",reason=\"other\"} 0\n"));
	g_string_free(s, TRUE);
}
END_TEST

static const struct {
	const char *req;
	enum tc_http_status want;
} http_cases[] = {
    {"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", TC_HTTP_OK},
    {"GET /metrics HTTP/1.0\r\n\r\n", TC_HTTP_OK},
    {"GET /metrics HTTP/1.1\nHost: x\nAccept: */*\n\n", TC_HTTP_OK},
    {"GET /metrics?name[]=x HTTP/1.1\r\n\r\n", TC_HTTP_OK},
    {"GET /metrics HTTP/1.1\r\nUser-Agent: Prometheus/2.42.0\r\n"
     "Accept: application/openmetrics-text;version=1.0.0,text/plain;"
     "version=0.0.4;q=0.5,*/*;q=0.1\r\nX-Prometheus-Scrape-Timeout-Seconds:"
     " 10\r\n\r\n",
     TC_HTTP_OK},
    {"GET /metrics HTTP/1.1\r\nHost: x\r\n", TC_HTTP_INCOMPLETE},
    {"GET /metr", TC_HTTP_INCOMPLETE},
    {"", TC_HTTP_INCOMPLETE},
    {"GET / HTTP/1.1\r\n\r\n", TC_HTTP_NOT_FOUND},
    {"GET /metricsx HTTP/1.1\r\n\r\n", TC_HTTP_NOT_FOUND},
    {"GET /metrics/ HTTP/1.1\r\n\r\n", TC_HTTP_NOT_FOUND},
    {"GET http://h/metrics HTTP/1.1\r\n\r\n", TC_HTTP_NOT_FOUND},
    {"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", TC_HTTP_BAD_METHOD},
    {"HEAD /metrics HTTP/1.1\r\n\r\n", TC_HTTP_BAD_METHOD},
    {"get /metrics HTTP/1.1\r\n\r\n", TC_HTTP_BAD_METHOD},
    {"DELETE /x HTTP/1.1\r\n\r\n", TC_HTTP_BAD_METHOD},
    {"GET /metrics HTTP/2.0\r\n\r\n", TC_HTTP_BAD_VERSION},
    {"GET /metrics HTTP/0.9\r\n\r\n", TC_HTTP_BAD_VERSION},
    {"GET /metrics\r\n\r\n", TC_HTTP_BAD_REQUEST},
    {"GET /metrics HTTP/1.1 \r\n\r\n", TC_HTTP_BAD_REQUEST},
    {"GET  /metrics HTTP/1.1\r\n\r\n", TC_HTTP_BAD_REQUEST},
    {" GET /metrics HTTP/1.1\r\n\r\n", TC_HTTP_BAD_REQUEST},
    {"\r\n\r\n", TC_HTTP_BAD_REQUEST},
    {"GET /met\x01rics HTTP/1.1\r\n\r\n", TC_HTTP_BAD_REQUEST},
    {"GET /metrics HTTPS/1.1\r\n\r\n", TC_HTTP_BAD_REQUEST},
    {"\x16\x03\x01\x02\x05\x01\x07\x01\xfc\x03\x03\n", TC_HTTP_BAD_REQUEST},
    {"GET /metrics HTTP/1.1\r\nNoColon\r\n\r\n", TC_HTTP_BAD_REQUEST},
    {"GET /metrics HTTP/1.1\r\n: empty\r\n\r\n", TC_HTTP_BAD_REQUEST},
    {"GET /metrics HTTP/1.1\r\nA : b\r\n\r\n", TC_HTTP_BAD_REQUEST},
    {"GET /metrics HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", TC_HTTP_BAD_REQUEST},
    {"GET /metrics HTTP/1.1\r\nA: b\x01\r\n\r\n", TC_HTTP_BAD_REQUEST},
};

START_TEST(http_requests)
{
	const char *r = http_cases[_i].req;

	ck_assert_int_eq(tc_http_parse((const uint8_t *)r, strlen(r)),
			 http_cases[_i].want);
}
END_TEST

/* Headers that never end: refused at the limit, not before. */
START_TEST(http_request_too_large)
{
	GString *g = g_string_new("GET /metrics HTTP/1.1\r\n");
	const uint8_t *b;

	while (g->len < TC_HTTP_MAX_REQUEST + 100)
		g_string_append(g, "X-Pad: 0123456789abcdef\r\n");
	b = (const uint8_t *)g->str;
	ck_assert_int_eq(tc_http_parse(b, TC_HTTP_MAX_REQUEST - 1),
			 TC_HTTP_INCOMPLETE);
	ck_assert_int_eq(tc_http_parse(b, TC_HTTP_MAX_REQUEST),
			 TC_HTTP_TOO_LARGE);
	ck_assert_int_eq(tc_http_parse(b, g->len), TC_HTTP_TOO_LARGE);
	/* A first line that never ends. */
	memset(g->str, 'G', g->len);
	ck_assert_int_eq(tc_http_parse(b, TC_HTTP_MAX_REQUEST - 1),
			 TC_HTTP_INCOMPLETE);
	ck_assert_int_eq(tc_http_parse(b, g->len), TC_HTTP_TOO_LARGE);
	g_string_free(g, TRUE);
}
END_TEST

static const struct {
	const char *addr;
	int family; /* 0: refused */
	unsigned port;
	bool loopback;
} addr_cases[] = {
    {"127.0.0.1:9586", AF_INET, 9586, true},
    {"127.1.2.3:1", AF_INET, 1, true},
    {"0.0.0.0:9586", AF_INET, 9586, false},
    {"10.0.0.1:65535", AF_INET, 65535, false},
    {"[::1]:9586", AF_INET6, 9586, true},
    {"[::]:9586", AF_INET6, 9586, false},
    {"[::ffff:127.0.0.1]:80", AF_INET6, 80, true},
    {"[fd00::1]:9586", AF_INET6, 9586, false},
    {"127.0.0.1", 0, 0, false},
    {"127.0.0.1:", 0, 0, false},
    {"127.0.0.1:0", 0, 0, false},
    {"127.0.0.1:65536", 0, 0, false},
    {"127.0.0.1:95a6", 0, 0, false},
    {"127.0.0.1:+80", 0, 0, false},
    {"localhost:9586", 0, 0, false},
    {"::1:9586", 0, 0, false},
    {"[127.0.0.1]:9586", 0, 0, false},
    {"[::1]9586", 0, 0, false},
    {"[::1:9586", 0, 0, false},
    {":9586", 0, 0, false},
    {"", 0, 0, false},
    {"1.2.3:99", 0, 0, false},
    {"[aaaa:bbbb:cccc:dddd:eeee:ffff:1111:2222:3333:4444:5555:6666]:1", 0, 0,
     false},
};

START_TEST(metrics_addresses)
{
	struct sockaddr_storage sa;
	socklen_t len = 0;
	char why[160] = "";
	int r = tc_http_parse_addr(addr_cases[_i].addr, &sa, &len, why,
				   sizeof(why));

	if (addr_cases[_i].family == 0) {
		ck_assert_int_eq(r, -EINVAL);
		ck_assert_ptr_nonnull(strstr(why, "IPv4:PORT or [IPv6]:PORT"));
		return;
	}
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(sa.ss_family, addr_cases[_i].family);
	ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&sa)->sin_port),
			  addr_cases[_i].port);
	ck_assert_uint_eq(len, sa.ss_family == AF_INET
				   ? sizeof(struct sockaddr_in)
				   : sizeof(struct sockaddr_in6));
	ck_assert(tc_http_is_loopback(&sa) == addr_cases[_i].loopback);
}
END_TEST

/* The listener: a client thread sends a request and reads until the
 * server closes; the test runs the main loop meanwhile. */

struct exchange {
	uint16_t port;
	const char *req;
	GString *got;
	gint done;
	gint64 took_us; /* from connect to the server's close */
};

static gpointer client_thread(gpointer data)
{
	struct exchange *x = data;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct timeval tv = {.tv_sec = 8};
	char buf[4096];
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	gint64 t0 = g_get_monotonic_time();

	sa.sin_port = htons(x->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    send(fd, x->req, strlen(x->req), MSG_NOSIGNAL) >= 0)
		while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
			g_string_append_len(x->got, buf, n);
	x->took_us = g_get_monotonic_time() - t0;
	close(fd);
	g_atomic_int_set(&x->done, 1);
	return NULL;
}

static void render_test(void *ctx, GString *out)
{
	(*(int *)ctx)++;
	g_string_append(out, "ipop_test_total 1\n");
}

/* A listener on a free loopback port: *port gets it. */
static struct tc_metrics_http *listener(int *renders, uint16_t *port)
{
	struct tc_metrics_http *h = NULL;
	char addr[32];
	unsigned i;

	for (i = 0; i < 200 && !h; i++) {
		*port = (uint16_t)(20000 + (getpid() * 7 + i * 131) % 40000);
		g_snprintf(addr, sizeof(addr), "127.0.0.1:%u", *port);
		h = tc_metrics_http_new(addr, render_test, renders);
	}
	ck_assert_ptr_nonnull(h);
	return h;
}

static const struct {
	const char *req, *status, *body;
	int renders;
} serve_cases[] = {
    {"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
     "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
     "Content-Length: 18\r\n",
     "\r\n\r\nipop_test_total 1\n", 1},
    {"GET /nope HTTP/1.0\r\n\r\n", "HTTP/1.1 404 Not Found\r\n",
     "only GET /metrics", 0},
    {"PUT /metrics HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody",
     "HTTP/1.1 405 Method Not Allowed\r\n", "Allow: GET\r\n", 0},
    {"\x16\x03\x01 not http\n", "HTTP/1.1 400 Bad Request\r\n",
     "Connection: close", 0},
    /* Incomplete: closed unanswered after TC_HTTP_TIMEOUT_MS. */
    {"GET /metrics HTTP/1.1\r\n", "", "", 0},
};

START_TEST(listener_serves)
{
	struct exchange x = {.req = serve_cases[_i].req};
	struct tc_metrics_http *h;
	GThread *t;
	gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	int renders = 0;

	h = listener(&renders, &x.port);
	x.got = g_string_new(NULL);
	t = g_thread_new("client", client_thread, &x);
	while (!g_atomic_int_get(&x.done) && g_get_monotonic_time() < end)
		if (!g_main_context_iteration(NULL, FALSE))
			g_usleep(1000);
	g_thread_join(t);
	ck_assert(g_str_has_prefix(x.got->str, serve_cases[_i].status));
	ck_assert_ptr_nonnull(strstr(x.got->str, serve_cases[_i].body));
	ck_assert_int_eq(renders, serve_cases[_i].renders);
	if (serve_cases[_i].status[0] == '\0') {
		ck_assert_uint_eq(x.got->len, 0);
		ck_assert_int_ge(x.took_us, (TC_HTTP_TIMEOUT_MS - 500) * 1000);
		ck_assert_int_lt(x.took_us, (TC_HTTP_TIMEOUT_MS + 2000) * 1000);
	} else {
		ck_assert_int_lt(x.took_us, 2 * G_USEC_PER_SEC);
	}
	tc_metrics_http_free(h);
	g_string_free(x.got, TRUE);
}
END_TEST

Suite *suite_metrics(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("text");

	tcase_add_test(tc, text_of_fixture);
	tcase_add_test(tc, empty_node_announces_families);
	tcase_add_test(tc, other_drops);
	tcase_add_loop_test(tc, label_escaping, 0, G_N_ELEMENTS(esc_cases));
	tcase_add_loop_test(tc, path_types, 0, G_N_ELEMENTS(path_cases));
	suite_add_tcase(s, tc);
	tc = tcase_create("http");
	tcase_add_loop_test(tc, http_requests, 0, G_N_ELEMENTS(http_cases));
	tcase_add_test(tc, http_request_too_large);
	tcase_add_loop_test(tc, metrics_addresses, 0, G_N_ELEMENTS(addr_cases));
	suite_add_tcase(s, tc);
	tc = tcase_create("listener");
	tcase_set_timeout(tc, 15);
	tcase_add_loop_test(tc, listener_serves, 0, G_N_ELEMENTS(serve_cases));
	suite_add_tcase(s, tc);
	return s;
}
