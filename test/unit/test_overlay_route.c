/*
 * Tests of tincan/overlay_route.c on a real overlay (a TAP in a network
 * namespace of the test's own: root only, skipped otherwise): a frame from
 * the TAP for a member without a link is forwarded or counted as
 * dropped_no_route; TC_INNER_FORWARD bodies from a link are refused when
 * malformed, dropped at the hop limit, delivered to this node only from a
 * source that owns the packet's address, and refused in an overlay that
 * does not forward; SetRoute and SetLinkKind answer as PROTOCOL.md §14
 * says.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "tincan/bytes.h"
#include "tincan/ether.h"
#include "tincan/overlay_int.h"

#define SELF "1000000000000000000000000000000000000001"
#define PEER "8000000000000000000000000000000000000002"
#define OTHER "c000000000000000000000000000000000000003"

static int home_ns = -1;

static void no_event(void *node, const struct tc_event *ev)
{
	(void)node;
	(void)ev;
}

static struct tc_identity id = {.uid = SELF};
static struct tc_env env = {.id = &id, .emit = no_event};

/* The overlay, in a namespace of its own; NULL (skip) without root. */
static struct tc_overlay *overlay(bool translation)
{
	struct tc_overlay_req r = {.name = "fw",
				   .tap_name = "tcfw0",
				   .mode = TC_OVERLAY_L3,
				   .ipv4 = "10.98.0.1",
				   .ipv4_prefix = 24,
				   .translation = translation};
	struct tc_map_req m = {.peer_uid = PEER, .ipv4 = "10.98.0.2"};
	struct tc_overlay *ov;
	char why[256];
	int err;

	if (geteuid() != 0) {
		printf("# SKIP overlay_route: needs root for a netns\n");
		return NULL;
	}
	home_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(home_ns, 0);
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	ov = tc_overlay_new(&env, &r, &err, why, sizeof(why));
	ck_assert_msg(ov != NULL, "%s", why);
	if (translation)
		m.peer_ipv4 = "10.98.0.1";
	ck_assert_int_eq(tc_overlay_map_peer(ov, &m, why, sizeof(why)), 0);
	return ov;
}

static void done(struct tc_overlay *ov)
{
	tc_overlay_free(ov);
	ck_assert_int_eq(setns(home_ns, CLONE_NEWNET), 0);
	close(home_ns);
	home_ns = -1;
}

/* An IPv4 frame from src to dst (last bytes of 10.98.0.x), 60 bytes. */
static size_t ip_frame(uint8_t *f, uint8_t src, uint8_t dst)
{
	memset(f, 0, 60);
	memset(f, 0x02, 6);
	memset(f + 6, 0x04, 6);
	tc_put16(f + 12, TC_ETHERTYPE_IPV4);
	f[14] = 0x45;
	tc_put16(f + 16, 46);
	f[22] = 64;
	f[23] = 17;
	memcpy(f + 26, (const uint8_t[]){10, 98, 0, src}, 4);
	memcpy(f + 30, (const uint8_t[]){10, 98, 0, dst}, 4);
	tc_put16(f + 24, tc_csum_fold(tc_csum_add(0, f + 14, 20)));
	return 60;
}

/* A forward body: header then the frame. */
static size_t body(uint8_t *b, uint8_t hops, const char *src, const char *dst,
		   uint8_t ip_src, uint8_t ip_dst)
{
	struct tc_route_hdr h = {.hops = hops};
	int n;

	ck_assert_int_eq(ipop_ring_id_parse(src, &h.src), 0);
	ck_assert_int_eq(ipop_ring_id_parse(dst, &h.dst), 0);
	n = tc_route_hdr_encode(&h, b, TC_ROUTE_OVERHEAD);
	ck_assert_int_eq(n, TC_ROUTE_HDR_LEN);
	return (size_t)n + ip_frame(b + n, ip_src, ip_dst);
}

static void info(struct tc_overlay *ov, struct tc_overlay_info *oi)
{
	tc_overlay_get_info(ov, oi);
}

START_TEST(test_from_tap_without_route)
{
	struct tc_overlay *ov = overlay(false);
	struct tc_overlay_route_view v;
	struct tc_overlay_info oi;
	struct tc_csum cs = {0, 0};
	uint8_t f[60];

	if (!ov)
		return;
	tc_overlay_from_tap(ov, f, ip_frame(f, 1, 2), &cs);
	info(ov, &oi);
	ck_assert_uint_eq(oi.dropped_no_route, 1);
	tc_overlay_route_view(ov, PEER, &v);
	ck_assert(v.forwarded);
	ck_assert_str_eq(v.via_uid, "");
	ck_assert_uint_eq(v.tx_packets, 0);
	done(ov);
}
END_TEST

START_TEST(test_forward_bodies)
{
	struct tc_overlay *ov = overlay(false);
	struct tc_overlay_route_view v;
	struct tc_overlay_info oi;
	uint8_t b[TC_ROUTE_OVERHEAD + 60];
	size_t n;

	if (!ov)
		return;
	/* Too short for a header, then a header without a frame. */
	tc_overlay_link_ops.on_forward(ov, NULL, b, 10);
	n = body(b, 5, PEER, SELF, 2, 1);
	tc_overlay_link_ops.on_forward(ov, NULL, b, TC_ROUTE_HDR_LEN + 10);
	info(ov, &oi);
	ck_assert_uint_eq(oi.dropped_malformed, 2);
	/* For this node, from the member that owns the source address. */
	tc_overlay_link_ops.on_forward(ov, NULL, b, n);
	info(ov, &oi);
	ck_assert_uint_eq(oi.dropped_malformed, 2);
	tc_overlay_route_view(ov, PEER, &v);
	ck_assert_uint_eq(v.rx_packets, 1);
	ck_assert_uint_eq(v.rx_bytes, 60);
	/* A member speaking as another: refused, not counted. */
	n = body(b, 5, PEER, SELF, 7, 1);
	tc_overlay_link_ops.on_forward(ov, NULL, b, n);
	n = body(b, 5, OTHER, SELF, 2, 1); /* OTHER is not mapped */
	tc_overlay_link_ops.on_forward(ov, NULL, b, n);
	info(ov, &oi);
	ck_assert_uint_eq(oi.dropped_malformed, 4);
	tc_overlay_route_view(ov, PEER, &v);
	ck_assert_uint_eq(v.rx_packets, 1);
	/* For another member: out of hops, then nowhere to go. */
	n = body(b, 1, PEER, OTHER, 2, 3);
	tc_overlay_link_ops.on_forward(ov, NULL, b, n);
	n = body(b, 9, PEER, OTHER, 2, 3);
	tc_overlay_link_ops.on_forward(ov, NULL, b, n);
	info(ov, &oi);
	ck_assert_uint_eq(oi.dropped_hop_limit, 1);
	ck_assert_uint_eq(oi.dropped_no_route, 1);
	ck_assert_uint_eq(oi.forwarded, 0);
	done(ov);
}
END_TEST

START_TEST(test_requests)
{
	struct tc_overlay *ov = overlay(false);
	struct tc_overlay_route_view v;
	char why[256];

	if (!ov)
		return;
	ck_assert_int_eq(
	    tc_overlay_set_route(ov, PEER, PEER, false, why, sizeof(why)),
	    -EINVAL);
	ck_assert_int_eq(
	    tc_overlay_set_route(ov, PEER, SELF, false, why, sizeof(why)),
	    -EINVAL);
	ck_assert_int_eq(
	    tc_overlay_set_route(ov, "8000", OTHER, false, why, sizeof(why)),
	    -EINVAL);
	ck_assert_int_eq(
	    tc_overlay_set_route(ov, PEER, NULL, false, why, sizeof(why)),
	    -EINVAL);
	ck_assert_int_eq(
	    tc_overlay_set_route(ov, PEER, NULL, true, why, sizeof(why)),
	    -ENOENT);
	ck_assert_int_eq(
	    tc_overlay_set_route(ov, PEER, OTHER, false, why, sizeof(why)), 0);
	/* Its link is not connected: no next hop yet. */
	tc_overlay_route_view(ov, PEER, &v);
	ck_assert_str_eq(v.via_uid, "");
	ck_assert_int_eq(
	    tc_overlay_set_route(ov, PEER, NULL, true, why, sizeof(why)), 0);
	ck_assert_int_eq(tc_overlay_set_link_kind(ov, PEER, TC_LINK_KIND_CHORD,
						  why, sizeof(why)),
			 -ENOENT);
	ck_assert_int_eq(
	    tc_overlay_set_link_kind(ov, PEER, 7, why, sizeof(why)), -EINVAL);
	done(ov);
}
END_TEST

/* SocialVPN (translation): no forwarding at all. */
START_TEST(test_translation_does_not_forward)
{
	struct tc_overlay *ov = overlay(true);
	struct tc_overlay_info oi;
	uint8_t b[TC_ROUTE_OVERHEAD + 60];
	char why[256];
	size_t n;

	if (!ov)
		return;
	ck_assert_int_eq(
	    tc_overlay_set_route(ov, PEER, OTHER, false, why, sizeof(why)),
	    -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "does not forward"));
	n = body(b, 5, PEER, SELF, 2, 1);
	tc_overlay_link_ops.on_forward(ov, NULL, b, n);
	info(ov, &oi);
	ck_assert_uint_eq(oi.dropped_malformed, 1);
	done(ov);
}
END_TEST

extern Suite *suite_overlay_route(void);

Suite *suite_overlay_route(void)
{
	Suite *s = suite_create("overlay_route");
	TCase *tc = tcase_create("overlay_route");

	tcase_add_test(tc, test_from_tap_without_route);
	tcase_add_test(tc, test_forward_bodies);
	tcase_add_test(tc, test_requests);
	tcase_add_test(tc, test_translation_does_not_forward);
	suite_add_tcase(s, tc);
	return s;
}
