/*
 * Tests of tincan/adapter.c, the converter between the control protocol and
 * tincan's own structs, and of the core's side of the contract: a refused
 * overlay request comes back as -EINVAL with the reason clients have always
 * read, before any TAP is touched (so no root is needed), and the adapter
 * turns each core error into the Status clients have always got.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "tincan/adapter.h"
#include "tincan/offload.h"
#include "tincan/overlay.h"

static const struct {
	int err;
	Ipop__Status st;
} statuses[] = {
    {0, IPOP__STATUS__OK},
    {-EINVAL, IPOP__STATUS__BAD_REQUEST},
    {-EEXIST, IPOP__STATUS__EXISTS},
    {-ENOENT, IPOP__STATUS__NOT_FOUND},
    {-EIO, IPOP__STATUS__INTERNAL},
    {-ENOMEM, IPOP__STATUS__INTERNAL},
    {-EPERM, IPOP__STATUS__INTERNAL},
};

START_TEST(test_status)
{
	ck_assert_int_eq(tc_adapter_status(statuses[_i].err), statuses[_i].st);
}
END_TEST

static const struct {
	enum tc_link_state tc;
	Ipop__LinkState wire;
	const char *name;
} states[] = {
    {TC_LINK_GATHERING, IPOP__LINK_STATE__GATHERING, "gathering"},
    {TC_LINK_CONNECTING, IPOP__LINK_STATE__CONNECTING, "connecting"},
    {TC_LINK_CONNECTED, IPOP__LINK_STATE__CONNECTED, "connected"},
    {TC_LINK_FAILED, IPOP__LINK_STATE__FAILED, "failed"},
    {TC_LINK_CLOSED, IPOP__LINK_STATE__CLOSED, "closed"},
};

START_TEST(test_link_state)
{
	ck_assert_int_eq(tc_adapter_link_state(states[_i].tc), states[_i].wire);
	ck_assert_str_eq(tc_link_state_name(states[_i].tc), states[_i].name);
}
END_TEST

static const struct {
	Ipop__OverlayMode wire;
	enum tc_overlay_mode tc;
	Ipop__OverlayMode back;
} modes[] = {
    {IPOP__OVERLAY_MODE__MODE_UNSPECIFIED, TC_OVERLAY_L3,
     IPOP__OVERLAY_MODE__L3},
    {IPOP__OVERLAY_MODE__L3, TC_OVERLAY_L3, IPOP__OVERLAY_MODE__L3},
    {IPOP__OVERLAY_MODE__SWITCH, TC_OVERLAY_SWITCH, IPOP__OVERLAY_MODE__SWITCH},
    {(Ipop__OverlayMode)7, TC_OVERLAY_MODE_UNKNOWN,
     IPOP__OVERLAY_MODE__MODE_UNSPECIFIED},
};

START_TEST(test_overlay_req)
{
	Ipop__CreateOverlay m = IPOP__CREATE_OVERLAY__INIT;
	struct tc_overlay_req r;
	uint8_t psk[32] = {1};

	m.name = (char *)(uintptr_t) "ov";
	m.tap_name = (char *)(uintptr_t) "tap0";
	m.mode = modes[_i].wire;
	m.mtu = 1280;
	m.psk.data = psk;
	m.psk.len = sizeof(psk);
	tc_adapter_overlay_req(&m, &r);
	ck_assert_int_eq(r.mode, modes[_i].tc);
	ck_assert_int_eq(tc_adapter_mode(r.mode), modes[_i].back);
	ck_assert_str_eq(r.name, "ov");
	ck_assert_str_eq(r.tap_name, "tap0");
	ck_assert_uint_eq(r.mtu, 1280);
	ck_assert_ptr_eq(r.psk, psk);
	ck_assert_uint_eq(r.psk_len, 32);
}
END_TEST

/* Refusals clients read today, in the order the checks run. */
static const struct {
	struct tc_overlay_req req;
	const char *why;
} refused[] = {
    {{.name = NULL, .tap_name = "t"},
     "overlay name must be 1-32 characters of [A-Za-z0-9._-]"},
    {{.name = "a b", .tap_name = "t"},
     "overlay name must be 1-32 characters of [A-Za-z0-9._-]"},
    {{.name = "ov", .tap_name = "sixteen-chars-xx"},
     "tap name must be 1-15 characters of [A-Za-z0-9._-]"},
    {{.name = "ov", .tap_name = "t", .mode = TC_OVERLAY_MODE_UNKNOWN},
     "unknown mode"},
    {{.name = "ov",
      .tap_name = "t",
      .mode = TC_OVERLAY_SWITCH,
      .translation = true},
     "translation needs L3 mode"},
    {{.name = "ov", .tap_name = "t", .mode = TC_OVERLAY_L3, .bridge = "br"},
     "bridge needs switch mode and a name of 1-15 characters of "
     "[A-Za-z0-9._-]"},
    {{.name = "ov", .tap_name = "t", .translation = true, .ipv4 = ""},
     "translation needs an IPv4 address"},
    {{.name = "ov", .tap_name = "t", .mtu = 575}, "mtu must be 576-9000"},
    {{.name = "ov", .tap_name = "t", .ipv4 = "10.0.0.1", .ipv4_prefix = 0},
     "bad IPv4 address or prefix '10.0.0.1/0'"},
    {{.name = "ov", .tap_name = "t", .ipv6 = "fd::g", .ipv6_prefix = 64},
     "bad IPv6 address or prefix 'fd::g/64'"},
    {{.name = "ov", .tap_name = "t", .psk_len = 31}, "psk must be 32 bytes"},
};

START_TEST(test_overlay_refused)
{
	struct tc_env env = {0};
	char why[256] = "";
	int err = 0;

	ck_assert_ptr_null(
	    tc_overlay_new(&env, &refused[_i].req, &err, why, sizeof(why)));
	ck_assert_int_eq(err, -EINVAL);
	ck_assert_str_eq(why, refused[_i].why);
	ck_assert_int_eq(tc_adapter_status(err), IPOP__STATUS__BAD_REQUEST);
}
END_TEST

START_TEST(test_creds)
{
	char *cands[] = {(char *)(uintptr_t) "a=candidate:1 1 UDP 1 10.0.0.1 1 "
					     "typ host"};
	Ipop__IceCredentials m = IPOP__ICE_CREDENTIALS__INIT, *back;
	struct tc_ice_creds c;

	ck_assert_ptr_null(tc_adapter_creds(NULL, &c));
	m.ufrag = (char *)(uintptr_t) "abcd";
	m.pwd = (char *)(uintptr_t) "abcdefghijklmnopqrstuv";
	m.candidates = cands;
	m.n_candidates = 1;
	ck_assert_ptr_eq(tc_adapter_creds(&m, &c), &c);
	ck_assert_str_eq(c.ufrag, "abcd");
	ck_assert_str_eq(c.pwd, m.pwd);
	ck_assert_uint_eq(c.n_candidates, 1);
	ck_assert_str_eq(c.candidates[0], cands[0]);
	back = tc_adapter_creds_msg(&c);
	ck_assert_str_eq(back->ufrag, "abcd");
	ck_assert_str_eq(back->pwd, m.pwd);
	ck_assert_uint_eq(back->n_candidates, 1);
	ck_assert_str_eq(back->candidates[0], cands[0]);
	g_free(back);
}
END_TEST

START_TEST(test_event_link_state)
{
	struct tc_cand_pair pair = {"host", "10.0.0.1:5000", "relay",
				    "[fd00::2]:3478"};
	struct tc_event e = {
	    .kind = TC_EVENT_LINK_STATE, .overlay = "ov", .peer_uid = "uid"};
	struct tc_adapter_event buf;
	Ipop__Event *ev;

	e.u.link_state.state = TC_LINK_CONNECTED;
	e.u.link_state.reason = "handshake complete";
	ev = tc_adapter_event(&e, &buf);
	ck_assert_int_eq(ev->kind_case, IPOP__EVENT__KIND_LINK_STATE);
	ck_assert_str_eq(ev->link_state->overlay, "ov");
	ck_assert_str_eq(ev->link_state->peer_uid, "uid");
	ck_assert_int_eq(ev->link_state->state, IPOP__LINK_STATE__CONNECTED);
	ck_assert_str_eq(ev->link_state->reason, "handshake complete");
	ck_assert_ptr_null(ev->link_state->pair);
	e.u.link_state.pair = &pair;
	ev = tc_adapter_event(&e, &buf);
	ck_assert_str_eq(ev->link_state->pair->local_type, "host");
	ck_assert_str_eq(ev->link_state->pair->local_address, "10.0.0.1:5000");
	ck_assert_str_eq(ev->link_state->pair->remote_type, "relay");
	ck_assert_str_eq(ev->link_state->pair->remote_address,
			 "[fd00::2]:3478");
}
END_TEST

START_TEST(test_event_unknown)
{
	uint8_t frame[300], v4[4] = {10, 9, 0, 77};
	uint8_t v6[16] = {0xfd, [15] = 7};
	struct tc_event e = {.kind = TC_EVENT_UNKNOWN_DEST, .overlay = "ov"};
	struct tc_adapter_event buf;
	Ipop__Event *ev;

	memset(frame, 0xab, sizeof(frame));
	e.u.unknown.dst_v4 = v4;
	e.u.unknown.dst_mac = frame;
	e.u.unknown.frame = frame;
	e.u.unknown.frame_len = 256;
	ev = tc_adapter_event(&e, &buf);
	ck_assert_int_eq(ev->kind_case, IPOP__EVENT__KIND_UNKNOWN_DESTINATION);
	ck_assert_str_eq(ev->unknown_destination->overlay, "ov");
	ck_assert_str_eq(ev->unknown_destination->dst_ipv4, "10.9.0.77");
	ck_assert_str_eq(ev->unknown_destination->dst_ipv6, "");
	ck_assert_uint_eq(ev->unknown_destination->dst_mac.len, 6);
	ck_assert_uint_eq(ev->unknown_destination->frame.len, 256);
	e.u.unknown.dst_v4 = NULL;
	e.u.unknown.dst_v6 = v6;
	ev = tc_adapter_event(&e, &buf);
	ck_assert_str_eq(ev->unknown_destination->dst_ipv4, "");
	ck_assert_str_eq(ev->unknown_destination->dst_ipv6, "fd00::7");
}
END_TEST

START_TEST(test_event_local)
{
	char *cands[] = {(char *)(uintptr_t) "a=candidate:x"};
	struct tc_ice_creds c = {"ufrg", "pwd", cands, 1};
	struct tc_event e = {.kind = TC_EVENT_LOCAL_CANDIDATES,
			     .overlay = "ov",
			     .peer_uid = "uid",
			     .u.local = &c};
	struct tc_adapter_event buf;
	Ipop__Event *ev = tc_adapter_event(&e, &buf);

	ck_assert_int_eq(ev->kind_case, IPOP__EVENT__KIND_LOCAL_CANDIDATES);
	ck_assert_str_eq(ev->local_candidates->peer_uid, "uid");
	ck_assert_str_eq(ev->local_candidates->local->ufrag, "ufrg");
	ck_assert_uint_eq(ev->local_candidates->local->n_candidates, 1);
	ck_assert_str_eq(ev->local_candidates->local->candidates[0],
			 "a=candidate:x");
}
END_TEST

static void no_event(void *node, const struct tc_event *ev)
{
	(void)node;
	(void)ev;
}

/* A TAP-backed overlay in this (forked) test's own network namespace
 * holding n mappings with uids from a hash, or NULL (skipped: no root). */
/* The overlay tests need a TAP, so root moves into a network namespace of
 * its own; the unit tests may run in one process (CK_FORK=no, as make
 * sanitize does), so the test goes back to where it came from after. */
static int home_ns = -1;

static bool private_netns(void)
{
	home_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home_ns < 0)
		return false;
	if (unshare(CLONE_NEWNET) != 0) {
		close(home_ns);
		home_ns = -1;
		return false;
	}
	return true;
}

static void back_home(void)
{
	if (home_ns < 0)
		return;
	ck_assert_int_eq(setns(home_ns, CLONE_NEWNET), 0);
	close(home_ns);
	home_ns = -1;
}

static struct tc_overlay *paged_overlay(struct tc_env *env, unsigned n)
{
	static struct tc_identity id = {
	    .uid = "00112233445566778899aabbccddeeff00112233"};
	struct tc_overlay_req r = {.name = "pg",
				   .tap_name = "tcpage0",
				   .mode = TC_OVERLAY_L3,
				   .ipv4 = "10.97.0.1",
				   .ipv4_prefix = 16};
	struct tc_overlay *ov;
	char why[256], uid[IPOP_UID_SIZE], ip[INET_ADDRSTRLEN], label[64];
	struct tc_map_req m = {0};
	int err;

	if (geteuid() != 0 || !private_netns()) {
		printf("# SKIP adapter:pages: needs root for a netns\n");
		return NULL;
	}
	env->id = &id;
	env->emit = no_event;
	ov = tc_overlay_new(env, &r, &err, why, sizeof(why));
	ck_assert_msg(ov != NULL, "%s", why);
	for (unsigned i = 0; i < n; i++) {
		char *h = g_compute_checksum_for_data(
		    G_CHECKSUM_SHA1, (const guchar *)&i, sizeof(i));
		g_strlcpy(uid, h, sizeof(uid));
		g_free(h);
		g_snprintf(ip, sizeof(ip), "10.97.%u.%u", 1 + i / 250,
			   1 + i % 250);
		g_snprintf(label, sizeof(label), "peer %u", i);
		m.peer_uid = uid;
		m.ipv4 = ip;
		m.label = label;
		ck_assert_int_eq(tc_overlay_map_peer(ov, &m, why, sizeof(why)),
				 0);
	}
	return ov;
}

/* Pages of 4 KiB: every mapping once, in uid order, each part within its
 * budget, links only in the head; a limit and a tiny budget behave. */
START_TEST(test_overlay_pages)
{
	struct tc_env env = {0};
	struct tc_overlay *ov = paged_overlay(&env, 300);
	struct tc_adapter_page pg = {.head = true, .after = ""};
	Ipop__OverlayInfo *part;
	char last[IPOP_UID_SIZE] = "";
	unsigned seen = 0, pages = 0;
	size_t i;

	if (!ov)
		return;
	do {
		pg.budget = 4096;
		part = tc_adapter_overlay_page(ov, &pg);
		ck_assert_ptr_nonnull(part);
		ck_assert_uint_le(ipop__overlay_info__get_packed_size(part),
				  4096 - pg.budget);
		ck_assert(part->n_mappings > 0);
		ck_assert(pg.head || part->n_links == 0);
		for (i = 0; i < part->n_mappings; i++) {
			ck_assert_int_lt(
			    strcmp(last, part->mappings[i]->peer_uid), 0);
			g_strlcpy(last, part->mappings[i]->peer_uid,
				  sizeof(last));
		}
		ck_assert_str_eq(pg.last, last);
		seen += (unsigned)part->n_mappings;
		pages++;
		tc_adapter_overlay_info_free(part);
		pg.head = false;
		pg.after = last;
	} while (!pg.done);
	ck_assert_uint_eq(seen, 300);
	ck_assert_uint_gt(pages, 5);

	pg = (struct tc_adapter_page){
	    .head = true, .after = "", .max = 7, .budget = 1 << 20};
	part = tc_adapter_overlay_page(ov, &pg);
	ck_assert_uint_eq(part->n_mappings, 7);
	ck_assert(!pg.done);
	tc_adapter_overlay_info_free(part);
	pg = (struct tc_adapter_page){.head = true, .after = "", .budget = 8};
	ck_assert_ptr_null(tc_adapter_overlay_page(ov, &pg));
	tc_overlay_free(ov);
	back_home();
}
END_TEST

/* A switch overlay's MAC table of 3,000 entries (~140 KB) does not fit a
 * 32 KiB page: the head keeps what fits in half of it and counts the rest. */
START_TEST(test_overlay_page_macs)
{
	static struct tc_identity id = {
	    .uid = "00112233445566778899aabbccddeeff00112233"};
	struct tc_overlay_req r = {
	    .name = "sw", .tap_name = "tcpgsw0", .mode = TC_OVERLAY_SWITCH};
	struct tc_adapter_page pg = {
	    .head = true, .after = "", .budget = 32768};
	uint8_t frame[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
	struct tc_csum cs = {0};
	struct tc_env env = {.id = &id, .emit = no_event};
	Ipop__OverlayInfo *part;
	struct tc_overlay *ov;
	char why[256];
	int err;

	if (geteuid() != 0 || !private_netns()) {
		printf("# SKIP adapter:page-macs: needs root for a netns\n");
		return;
	}
	ov = tc_overlay_new(&env, &r, &err, why, sizeof(why));
	ck_assert_msg(ov != NULL, "%s", why);
	frame[12] = 0x08; /* IPv4 ethertype */
	for (unsigned i = 0; i < 3000; i++) {
		frame[9] = (uint8_t)(i >> 16);
		frame[10] = (uint8_t)(i >> 8);
		frame[11] = (uint8_t)i;
		tc_overlay_from_tap(ov, frame, sizeof(frame), &cs);
	}
	part = tc_adapter_overlay_page(ov, &pg);
	ck_assert_ptr_nonnull(part);
	ck_assert_uint_gt(part->n_mac_table, 100);
	ck_assert_uint_gt(pg.macs_omitted, 0);
	ck_assert_uint_eq(part->n_mac_table + pg.macs_omitted, 3000);
	ck_assert_uint_le(ipop__overlay_info__get_packed_size(part), 32768 / 2);
	tc_adapter_overlay_info_free(part);
	tc_overlay_free(ov);
	back_home();
}
END_TEST

extern Suite *suite_adapter(void);

Suite *suite_adapter(void)
{
	Suite *s = suite_create("adapter");
	TCase *tc = tcase_create("convert");

	tcase_add_loop_test(tc, test_status, 0, G_N_ELEMENTS(statuses));
	tcase_add_loop_test(tc, test_link_state, 0, G_N_ELEMENTS(states));
	tcase_add_loop_test(tc, test_overlay_req, 0, G_N_ELEMENTS(modes));
	tcase_add_loop_test(tc, test_overlay_refused, 0, G_N_ELEMENTS(refused));
	tcase_add_test(tc, test_creds);
	tcase_add_test(tc, test_overlay_pages);
	tcase_add_test(tc, test_overlay_page_macs);
	tcase_add_test(tc, test_event_link_state);
	tcase_add_test(tc, test_event_unknown);
	tcase_add_test(tc, test_event_local);
	suite_add_tcase(s, tc);
	return s;
}
