/*
 * The control harness's seeds (test/fuzz/fuzz_control.c): one envelope body
 * per request kind, valid as a controller would send it, and the refusals
 * the adapter and the text check must give: bad names, a name with a NUL,
 * a label that is not UTF-8 or holds a C1 control, a short psk, a bad uid,
 * paged GetState with a cursor.  Names are the request kind.
 */
#include <string.h>

#include <glib.h>

#include "proto/frame.h"
#include "proto/pbutil.h"
#include "test/fuzz/seeds/seeds.h"

static const char peer_uid[] = "8d3a0f1b2c4e5d6a7b8c9d0e1f2a3b4c5d6e7f80";

/* Writes req as the body of an envelope: fuzz_control/<name>. */
static void put_req(const char *name, Ipop__Request *req)
{
	Ipop__Envelope env = IPOP__ENVELOPE__INIT;
	uint8_t *buf;
	size_t n;

	env.version = IPOP_PROTOCOL_VERSION;
	env.request_id = 7;
	env.body_case = IPOP__ENVELOPE__BODY_REQUEST;
	env.request = req;
	n = ipop__envelope__get_packed_size(&env);
	buf = g_malloc(n);
	ipop__envelope__pack(&env, buf);
	put("fuzz_control", name, buf, n);
	g_free(buf);
}

static void overlay_seeds(void)
{
	Ipop__Request req = IPOP__REQUEST__INIT;
	Ipop__CreateOverlay co = IPOP__CREATE_OVERLAY__INIT;
	static uint8_t psk[32] = {1, 2, 3};

	req.kind_case = IPOP__REQUEST__KIND_CREATE_OVERLAY;
	req.create_overlay = &co;
	co.name = ipop_cstr("hs");
	co.tap_name = ipop_cstr("fzs0");
	co.mode = IPOP__OVERLAY_MODE__L3;
	co.ipv4 = ipop_cstr("10.98.0.1");
	co.ipv4_prefix = 24;
	co.ipv6 = ipop_cstr("fd00:98::1");
	co.ipv6_prefix = 64;
	co.mtu = 1400;
	co.psk.data = psk;
	co.psk.len = sizeof(psk);
	put_req("create-overlay", &req);
	co.psk.len = 31;
	put_req("create-overlay-short-psk", &req);
	co.psk.len = 0;
	co.mode = IPOP__OVERLAY_MODE__SWITCH;
	co.ipv4 = co.ipv6 = ipop_cstr("");
	co.bridge = ipop_cstr("br-fz");
	put_req("create-overlay-switch", &req);
	co.mode = IPOP__OVERLAY_MODE__L3;
	co.translation = true;
	put_req("create-overlay-translation-no-v4", &req);
	co.translation = false;
	co.bridge = ipop_cstr("");
	co.name = ipop_cstr("a b");
	put_req("create-overlay-bad-name", &req);
	co.name = ipop_cstr("hs");
	co.mtu = 100;
	put_req("create-overlay-bad-mtu", &req);
}

static void map_seeds(void)
{
	Ipop__Request req = IPOP__REQUEST__INIT;
	Ipop__MapPeer mp = IPOP__MAP_PEER__INIT;
	static uint8_t mac[6] = {0x02, 1, 2, 3, 4, 5};

	req.kind_case = IPOP__REQUEST__KIND_MAP_PEER;
	req.map_peer = &mp;
	mp.overlay = ipop_cstr("fz");
	mp.peer_uid = ipop_cstr(peer_uid);
	mp.ipv4 = ipop_cstr("10.99.0.2");
	mp.ipv6 = ipop_cstr("fd00:99::2");
	mp.label = ipop_cstr("alice@example.org (caf\xc3\xa9)");
	put_req("map-peer", &req);
	mp.mac.data = mac;
	mp.mac.len = sizeof(mac);
	mp.peer_ipv4 = ipop_cstr("172.31.0.9");
	put_req("map-peer-mac", &req);
	mp.label = ipop_cstr("csi \xc2\x9b"
			     "31m");
	put_req("map-peer-c1-label", &req);
	mp.label = ipop_cstr("caf\xe9");
	put_req("map-peer-latin1-label", &req);
	mp.label = ipop_cstr("");
	mp.peer_uid = ipop_cstr("not-a-uid");
	put_req("map-peer-bad-uid", &req);
	mp.peer_uid = ipop_cstr(peer_uid);
	mp.remove = true;
	put_req("map-peer-remove", &req);
}

static void link_seeds(void)
{
	Ipop__Request req = IPOP__REQUEST__INIT;
	Ipop__CreateLink cl = IPOP__CREATE_LINK__INIT;
	Ipop__AddRemoteCandidates ar = IPOP__ADD_REMOTE_CANDIDATES__INIT;
	Ipop__IceCredentials ic = IPOP__ICE_CREDENTIALS__INIT;
	Ipop__RemoveLink rl = IPOP__REMOVE_LINK__INIT;
	Ipop__GetLocalCandidates gl = IPOP__GET_LOCAL_CANDIDATES__INIT;
	static uint8_t key[32] = {9, 8, 7};
	static char *cands[] = {
	    (char *)(uintptr_t) "a=candidate:1 1 UDP 2130706431 10.0.0.1 4000 "
				"typ host"};

	req.kind_case = IPOP__REQUEST__KIND_CREATE_LINK;
	req.create_link = &cl;
	cl.overlay = ipop_cstr("fz");
	cl.peer_uid = ipop_cstr(peer_uid);
	cl.peer_public_key.data = key;
	cl.peer_public_key.len = sizeof(key);
	put_req("create-link", &req);
	req.kind_case = IPOP__REQUEST__KIND_ADD_REMOTE_CANDIDATES;
	req.add_remote_candidates = &ar;
	ar.overlay = ipop_cstr("fz");
	ar.peer_uid = ipop_cstr(peer_uid);
	ic.ufrag = ipop_cstr("abcd");
	ic.pwd = ipop_cstr("abcdefghijklmnopqrstuvwx");
	ic.candidates = cands;
	ic.n_candidates = 1;
	ar.remote = &ic;
	put_req("add-remote-candidates", &req);
	req.kind_case = IPOP__REQUEST__KIND_REMOVE_LINK;
	req.remove_link = &rl;
	rl.overlay = ipop_cstr("fz");
	rl.peer_uid = ipop_cstr(peer_uid);
	put_req("remove-link", &req);
	req.kind_case = IPOP__REQUEST__KIND_GET_LOCAL_CANDIDATES;
	req.get_local_candidates = &gl;
	gl.overlay = ipop_cstr("fz");
	gl.peer_uid = ipop_cstr(peer_uid);
	put_req("get-local-candidates", &req);
}

static void node_seeds(void)
{
	Ipop__Request req = IPOP__REQUEST__INIT;
	Ipop__Hello h = IPOP__HELLO__INIT;
	Ipop__SetIceServers si = IPOP__SET_ICE_SERVERS__INIT;
	Ipop__StunServer st = IPOP__STUN_SERVER__INIT, *stp = &st;
	Ipop__TurnServer tu = IPOP__TURN_SERVER__INIT, *tup = &tu;
	Ipop__GetState gs = IPOP__GET_STATE__INIT;
	Ipop__GetStats gst = IPOP__GET_STATS__INIT;
	Ipop__SetLogLevel ll = IPOP__SET_LOG_LEVEL__INIT;
	Ipop__RemoveOverlay ro = IPOP__REMOVE_OVERLAY__INIT;
	Ipop__Echo e = IPOP__ECHO__INIT;

	req.kind_case = IPOP__REQUEST__KIND_HELLO;
	req.hello = &h;
	h.protocol_version = 1;
	h.role = IPOP__ROLE__CONTROLLER;
	h.client_name = ipop_cstr("ipop-controller");
	put_req("hello", &req);
	req.kind_case = IPOP__REQUEST__KIND_SET_ICE_SERVERS;
	req.set_ice_servers = &si;
	st.address = ipop_cstr("10.0.0.5");
	st.port = 3478;
	tu.address = ipop_cstr("10.0.0.6");
	tu.port = 3478;
	tu.username = ipop_cstr("u");
	tu.password = ipop_cstr("p");
	si.stun = &stp;
	si.n_stun = 1;
	si.turn = &tup;
	si.n_turn = 1;
	put_req("set-ice-servers", &req);
	req.kind_case = IPOP__REQUEST__KIND_GET_STATE;
	req.get_state = &gs;
	put_req("get-state", &req);
	gs.paged = true;
	gs.overlay = ipop_cstr("fz");
	gs.cursor = ipop_cstr("fz/8d3a0f1b2c4e5d6a7b8c9d0e1f2a3b4c5d6e7f80");
	gs.limit = 100;
	put_req("get-state-paged", &req);
	req.kind_case = IPOP__REQUEST__KIND_GET_STATS;
	req.get_stats = &gst;
	gst.overlay = ipop_cstr("fz");
	put_req("get-stats", &req);
	req.kind_case = IPOP__REQUEST__KIND_SET_LOG_LEVEL;
	req.set_log_level = &ll;
	ll.level = ipop_cstr("debug");
	put_req("set-log-level", &req);
	req.kind_case = IPOP__REQUEST__KIND_REMOVE_OVERLAY;
	req.remove_overlay = &ro;
	ro.name = ipop_cstr("fz");
	put_req("remove-overlay", &req);
	req.kind_case = IPOP__REQUEST__KIND_ECHO;
	req.echo = &e;
	e.data.data = (uint8_t *)(uintptr_t) "ping";
	e.data.len = 4;
	put_req("echo", &req);
}

void control_seeds(void)
{
	/* CreateOverlay{name "hs\0x", tap "t0"}: packed by hand, since
	 * protobuf-c packs a string only up to its NUL. */
	static const uint8_t nul_name[] = {
	    0x08, 0x01, 0x10, 0x07, 0x52, 0x0c, 0x12, 0x0a, 0x0a,
	    0x04, 'h',	's',  0x00, 'x',  0x12, 0x02, 't',  '0',
	};

	overlay_seeds();
	map_seeds();
	link_seeds();
	node_seeds();
	put("fuzz_control", "create-overlay-nul-name", nul_name,
	    sizeof(nul_name));
}
