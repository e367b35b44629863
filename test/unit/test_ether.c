/*
 * Tests of tincan/ether.c: ARP replies compared byte for byte with frames
 * written out by hand, neighbour advertisements checked field by field and
 * with a checksum routine written independently here (byte-wise, over an
 * explicitly assembled pseudo-header), refusal of every truncation and of
 * each malformed field, frame classification, synthetic MACs and the
 * RFC 1071 helpers.
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "tincan/ether.h"

#define UID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static const uint8_t req_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static const uint8_t peer_mac[6] = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01};
static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t req_v4[4] = {10, 1, 0, 100};
static const uint8_t peer_v4[4] = {10, 1, 0, 1};
static const uint8_t req_v6[16] = {0xfd, 0, [15] = 0x64};
static const uint8_t peer_v6[16] = {0xfd, 0, [15] = 0x01};
static const uint8_t other_v6[16] = {0xfd, 0, [15] = 0x07};
static const uint8_t unspec_v6[16];
static const uint8_t sol_node[16] = {
    0xff, 0x02, [11] = 0x01, [12] = 0xff, [15] = 0x01};
static const uint8_t sol_mac[6] = {0x33, 0x33, 0xff, 0x00, 0x00, 0x01};

static struct tc_fwd *fwd;

static void setup(void)
{
	struct tc_fwd_entry e;

	memset(&e, 0, sizeof(e));
	g_strlcpy(e.uid, UID_A, sizeof(e.uid));
	e.has_v4 = true;
	memcpy(e.v4, peer_v4, 4);
	e.has_v6 = true;
	memcpy(e.v6, peer_v6, 16);
	memcpy(e.mac, peer_mac, 6);
	fwd = tc_fwd_new();
	ck_assert_int_eq(tc_fwd_map(fwd, &e), 0);
}

static void teardown(void)
{
	tc_fwd_free(fwd);
}

/* ---- ARP ---- */

/* Who has 10.1.0.1?  Tell 10.1.0.100 (52:54:00:12:34:56). */
static const uint8_t arp_req[42] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* eth dst */
    0x52, 0x54, 0x00, 0x12, 0x34, 0x56, /* eth src */
    0x08, 0x06,				/* ARP */
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, /* ether, IPv4, 6, 4 */
    0x00, 0x01,				/* request */
    0x52, 0x54, 0x00, 0x12, 0x34, 0x56, /* sha */
    10,	  1,	0,    100,		/* spa */
    0,	  0,	0,    0,    0,	  0,	/* tha */
    10,	  1,	0,    1,		/* tpa */
};

/* 10.1.0.1 is at 02:aa:bb:cc:dd:01. */
static const uint8_t arp_rep[42] = {
    0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x02, 0xaa, 0xbb, 0xcc, 0xdd,
    0x01, 0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,
    0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01, 10,   1,    0,	  1,	0x52,
    0x54, 0x00, 0x12, 0x34, 0x56, 10,	1,    0,    100,
};

START_TEST(test_arp_answer)
{
	uint8_t out[64], frame[60];

	memset(out, 0xee, sizeof(out));
	ck_assert_int_eq(
	    tc_arp_answer(arp_req, sizeof(arp_req), fwd, out, sizeof(out)), 42);
	ck_assert_mem_eq(out, arp_rep, 42);
	ck_assert_uint_eq(out[42], 0xee);

	/* Padded to the Ethernet minimum, answered in place. */
	memset(frame, 0, sizeof(frame));
	memcpy(frame, arp_req, sizeof(arp_req));
	ck_assert_int_eq(tc_arp_answer(frame, sizeof(frame), fwd, frame, 42),
			 42);
	ck_assert_mem_eq(frame, arp_rep, 42);

	/* A unicast re-check (to the peer's MAC) is answered too. */
	memcpy(frame, arp_req, sizeof(arp_req));
	memcpy(frame, peer_mac, 6);
	ck_assert_int_eq(tc_arp_answer(frame, 42, fwd, out, sizeof(out)), 42);
	ck_assert_mem_eq(out, arp_rep, 42);

	ck_assert_int_eq(tc_arp_answer(arp_req, 42, fwd, out, 41), -ENOSPC);
}
END_TEST

/* The announcement on map is the same reply, unsolicited. */
START_TEST(test_arp_announce)
{
	static const uint8_t tap_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
	const struct tc_fwd_entry *e = tc_fwd_by_uid(fwd, UID_A);
	struct tc_fwd_entry v6only;
	uint8_t out[64];

	ck_assert_int_eq(tc_arp_announce(e, tap_mac, req_v4, out, sizeof(out)),
			 42);
	ck_assert_mem_eq(out, arp_rep, 42);
	ck_assert_int_eq(tc_arp_announce(e, tap_mac, req_v4, out, 41), -ENOSPC);
	v6only = *e;
	v6only.has_v4 = false;
	ck_assert_int_eq(
	    tc_arp_announce(&v6only, tap_mac, req_v4, out, sizeof(out)),
	    -EINVAL);
}
END_TEST

START_TEST(test_arp_unmapped)
{
	uint8_t frame[42], out[42];

	memcpy(frame, arp_req, sizeof(frame));
	frame[41] = 2; /* 10.1.0.2: nobody */
	ck_assert_int_eq(tc_arp_answer(frame, 42, fwd, out, 42), 0);
	/* Gratuitous: 10.1.0.1 announcing itself. */
	memcpy(frame, arp_req, sizeof(frame));
	memcpy(frame + 28, peer_v4, 4);
	ck_assert_int_eq(tc_arp_answer(frame, 42, fwd, out, 42), 0);
}
END_TEST

START_TEST(test_arp_truncated)
{
	uint8_t out[42];

	ck_assert_int_eq(tc_arp_answer(arp_req, (size_t)_i, fwd, out, 42),
			 -EINVAL);
}
END_TEST

static const struct {
	size_t off;
	uint8_t val;
} arp_bad[] = {
    {12, 0x86}, /* ethertype */
    {15, 0x06}, /* htype 6 */
    {16, 0x86}, /* ptype */
    {18, 0x05}, /* hlen */
    {19, 0x10}, /* plen */
    {21, 0x02}, /* op reply */
    {21, 0x03}, /* op 3 */
    {22, 0x01}, /* sha multicast */
};

START_TEST(test_arp_malformed)
{
	uint8_t frame[42], out[42];

	memcpy(frame, arp_req, sizeof(frame));
	frame[arp_bad[_i].off] = arp_bad[_i].val;
	ck_assert_int_eq(tc_arp_answer(frame, 42, fwd, out, 42), -EINVAL);
}
END_TEST

/* ---- ICMPv6 checksum, written independently of tc_csum_* ---- */

/* One's complement sum, byte by byte: even offsets are high bytes. */
static uint16_t ref_csum(const uint8_t *buf, size_t len)
{
	uint64_t s = 0;
	size_t i;

	for (i = 0; i < len; i++)
		s += (i % 2 == 0) ? (uint64_t)buf[i] * 256 : buf[i];
	while (s > 0xffff)
		s = (s >> 16) + (s & 0xffff);
	return (uint16_t)(~s & 0xffff);
}

/* ICMPv6 checksum of the packet at ip (IPv6 header + ICMPv6). */
static uint16_t ref_icmp6_csum(const uint8_t *ip)
{
	uint8_t buf[40 + 1500];
	size_t plen = (size_t)ip[4] << 8 | ip[5];

	ck_assert_uint_le(plen, 1500);
	memcpy(buf, ip + 8, 32); /* src, dst */
	buf[32] = 0;
	buf[33] = 0;
	buf[34] = (uint8_t)(plen >> 8);
	buf[35] = (uint8_t)plen;
	buf[36] = 0;
	buf[37] = 0;
	buf[38] = 0;
	buf[39] = 58;
	memcpy(buf + 40, ip + 40, plen);
	return ref_csum(buf, 40 + plen);
}

static void set_icmp6_csum(uint8_t *ip)
{
	uint16_t c;

	ip[42] = 0;
	ip[43] = 0;
	c = ref_icmp6_csum(ip);
	ip[42] = (uint8_t)(c >> 8);
	ip[43] = (uint8_t)c;
}

/* A neighbour solicitation for target from src; with_slla adds the
 * source link-layer address option.  Returns the frame length. */
static size_t build_ns(uint8_t *f, const uint8_t *eth_dst, const uint8_t *src,
		       const uint8_t *dst, const uint8_t *target,
		       bool with_slla)
{
	uint8_t *ip = f + 14, *icmp = ip + 40;
	size_t plen = with_slla ? 32 : 24;

	memset(f, 0, 14 + 40 + plen);
	memcpy(f, eth_dst, 6);
	memcpy(f + 6, req_mac, 6);
	f[12] = 0x86;
	f[13] = 0xdd;
	ip[0] = 0x60;
	ip[5] = (uint8_t)plen;
	ip[6] = 58;
	ip[7] = 255;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
	icmp[0] = 135;
	memcpy(icmp + 8, target, 16);
	if (with_slla) {
		icmp[24] = 1;
		icmp[25] = 1;
		memcpy(icmp + 26, req_mac, 6);
	}
	set_icmp6_csum(ip);
	return 14 + 40 + plen;
}

/* The NA expected in answer, written out field by field. */
static void expect_na(uint8_t *f, const uint8_t *eth_dst, const uint8_t *dst,
		      uint8_t flags)
{
	uint8_t *ip = f + 14, *icmp = ip + 40;

	memset(f, 0, 86);
	memcpy(f, eth_dst, 6);
	memcpy(f + 6, peer_mac, 6);
	f[12] = 0x86;
	f[13] = 0xdd;
	ip[0] = 0x60;
	ip[5] = 32;
	ip[6] = 58;
	ip[7] = 255;
	memcpy(ip + 8, peer_v6, 16);
	memcpy(ip + 24, dst, 16);
	icmp[0] = 136;
	icmp[4] = flags;
	memcpy(icmp + 8, peer_v6, 16);
	icmp[24] = 2;
	icmp[25] = 1;
	memcpy(icmp + 26, peer_mac, 6);
	set_icmp6_csum(ip);
}

START_TEST(test_nd_answer)
{
	uint8_t ns[128], out[128], want[86];
	size_t len = build_ns(ns, sol_mac, req_v6, sol_node, peer_v6, true);

	memset(out, 0xee, sizeof(out));
	ck_assert_int_eq(tc_nd_answer(ns, len, fwd, out, sizeof(out)), 86);
	ck_assert_uint_eq(out[86], 0xee);
	/* Checksum over the answer including its checksum field: 0. */
	ck_assert_uint_eq(ref_icmp6_csum(out + 14), 0);
	expect_na(want, req_mac, req_v6, 0x60); /* Solicited, Override */
	ck_assert_mem_eq(out, want, 86);

	/* Without options, and answered in place. */
	len = build_ns(ns, sol_mac, req_v6, sol_node, peer_v6, false);
	ck_assert_int_eq(tc_nd_answer(ns, len, fwd, ns, sizeof(ns)), 86);
	ck_assert_mem_eq(ns, want, 86);

	ck_assert_int_eq(tc_nd_answer(want, 86, fwd, out, sizeof(out)),
			 -EINVAL);
	len = build_ns(ns, sol_mac, req_v6, sol_node, peer_v6, true);
	ck_assert_int_eq(tc_nd_answer(ns, len, fwd, out, 85), -ENOSPC);
}
END_TEST

START_TEST(test_nd_dad)
{
	static const uint8_t all_nodes[16] = {0xff, 0x02, [15] = 0x01};
	static const uint8_t all_nodes_mac[6] = {0x33, 0x33, 0, 0, 0, 1};
	uint8_t ns[128], out[128], want[86];
	size_t len = build_ns(ns, sol_mac, unspec_v6, sol_node, peer_v6, false);

	ck_assert_int_eq(tc_nd_answer(ns, len, fwd, out, sizeof(out)), 86);
	ck_assert_uint_eq(ref_icmp6_csum(out + 14), 0);
	expect_na(want, all_nodes_mac, all_nodes, 0x20); /* Override */
	ck_assert_mem_eq(out, want, 86);
}
END_TEST

START_TEST(test_nd_unmapped)
{
	uint8_t ns[128], out[128];
	size_t len = build_ns(ns, sol_mac, req_v6, sol_node, other_v6, true);

	ck_assert_int_eq(tc_nd_answer(ns, len, fwd, out, sizeof(out)), 0);
}
END_TEST

START_TEST(test_nd_truncated)
{
	uint8_t ns[128], out[128];
	size_t len = build_ns(ns, sol_mac, req_v6, sol_node, peer_v6, true);

	ck_assert_uint_lt((size_t)_i, len);
	ck_assert_int_eq(tc_nd_answer(ns, (size_t)_i, fwd, out, sizeof(out)),
			 -EINVAL);
}
END_TEST

/* Each case damages one thing; fix_csum recomputes the checksum after, so
 * that the damage alone is what gets the NS refused. */
static const struct {
	const char *what;
	size_t off;
	uint8_t val;
	bool fix_csum;
} nd_bad[] = {
    {"checksum", 14 + 40 + 2, 0x12, false},
    {"payload", 14 + 40 + 20, 0x01, false},
    {"hop limit 64", 14 + 7, 64, false},
    {"hop limit 254", 14 + 7, 254, false},
    {"code 1", 14 + 40 + 1, 1, true},
    {"next header UDP", 14 + 6, 17, false},
    {"IP version 4", 14 + 0, 0x40, false},
    {"ethertype", 12, 0x08, false},
    {"multicast target", 14 + 40 + 8, 0xff, true},
    {"option length 0", 14 + 40 + 25, 0, true},
    {"option length 2", 14 + 40 + 25, 2, true},
    {"payload length 40", 14 + 5, 40, true},
    {"multicast requester", 6, 0x01, false},
};

START_TEST(test_nd_malformed)
{
	uint8_t ns[128], out[128];
	size_t len = build_ns(ns, sol_mac, req_v6, sol_node, peer_v6, true);

	ns[nd_bad[_i].off] = nd_bad[_i].val;
	if (nd_bad[_i].fix_csum)
		set_icmp6_csum(ns + 14);
	ck_assert_msg(tc_nd_answer(ns, len, fwd, out, sizeof(out)) == -EINVAL,
		      "accepted: %s", nd_bad[_i].what);
}
END_TEST

/* ---- classification ---- */

static size_t build_ipv4(uint8_t *f, const uint8_t *eth_dst, const uint8_t *dst)
{
	memset(f, 0, 14 + 28);
	memcpy(f, eth_dst, 6);
	memcpy(f + 6, req_mac, 6);
	f[12] = 0x08;
	f[14] = 0x45;
	f[14 + 3] = 28; /* total length: 20 + 8 (UDP) */
	f[14 + 8] = 64;
	f[14 + 9] = 17;
	memcpy(f + 14 + 12, req_v4, 4);
	memcpy(f + 14 + 16, dst, 4);
	return 14 + 28;
}

static size_t build_ipv6(uint8_t *f, const uint8_t *eth_dst, const uint8_t *dst)
{
	memset(f, 0, 14 + 48);
	memcpy(f, eth_dst, 6);
	memcpy(f + 6, req_mac, 6);
	f[12] = 0x86;
	f[13] = 0xdd;
	f[14] = 0x60;
	f[14 + 5] = 8;
	f[14 + 6] = 17;
	f[14 + 7] = 64;
	memcpy(f + 14 + 8, req_v6, 16);
	memcpy(f + 14 + 24, dst, 16);
	return 14 + 48;
}

/* ---- a peer's frame comes from the peer ---- */

START_TEST(test_src_is_peer)
{
	const struct tc_fwd_entry *e = tc_fwd_by_uid(fwd, UID_A);
	static const uint8_t link_local[16] = {0xfe, 0x80, [15] = 0x09};
	uint8_t f[128];
	size_t len;

	ck_assert_ptr_nonnull(e);
	len = build_ipv4(f, peer_mac, req_v4);
	memcpy(f + 14 + 12, peer_v4, 4);
	ck_assert(tc_frame_src_is_peer(f, len, e, true));
	ck_assert(!tc_frame_src_is_peer(f, len, NULL, true));
	ck_assert(!tc_frame_src_is_peer(f, 14 + 19, e, true));
	memcpy(f + 14 + 12, req_v4, 4); /* another member's address */
	ck_assert(!tc_frame_src_is_peer(f, len, e, true));
	/* translation: the translator checks the IPv4 source itself */
	ck_assert(tc_frame_src_is_peer(f, len, e, false));

	len = build_ipv6(f, peer_mac, req_v6);
	ck_assert(!tc_frame_src_is_peer(f, len, e, true));
	memcpy(f + 14 + 8, peer_v6, 16);
	ck_assert(tc_frame_src_is_peer(f, len, e, true));
	ck_assert(!tc_frame_src_is_peer(f, len - 1, e, true));
	memcpy(f + 14 + 8, link_local, 16);
	ck_assert(tc_frame_src_is_peer(f, len, e, true));
	memcpy(f + 14 + 8, unspec_v6, 16);
	ck_assert(tc_frame_src_is_peer(f, len, e, true));

	f[12] = 0x08; /* ARP never crosses an L3 link */
	f[13] = 0x06;
	ck_assert(!tc_frame_src_is_peer(f, len, e, true));
}
END_TEST

enum frame_case {
	C_ARP_REQ,
	C_ARP_REQ_UNICAST,
	C_ARP_REPLY,
	C_ARP_REPLY_BCAST,
	C_ARP_SHORT,
	C_ARP_BAD_PTYPE,
	C_V4,
	C_V4_PADDED,
	C_V4_BCAST,
	C_V4_MCAST,
	C_V4_SHORT,
	C_V4_IHL4,
	C_V4_IHL_OVER,
	C_V4_VER6,
	C_V4_TOTLEN_OVER,
	C_V4_TOTLEN_UNDER,
	C_V6,
	C_V6_MCAST,
	C_V6_SHORT,
	C_V6_PLEN_OVER,
	C_V6_VER4,
	C_NS,
	C_NS_UNICAST,
	C_NS_SHORT_PLEN,
	C_ETH_ONLY,
	C_RUNT,
	C_EMPTY,
	C_VLAN,
	C_LLDP,
	C_COUNT
};

static const struct {
	const char *name;
	enum tc_frame_kind kind;
} frame_cases[C_COUNT] = {
    [C_ARP_REQ] = {"ARP request", TC_FRAME_ARP_REQUEST},
    [C_ARP_REQ_UNICAST] = {"unicast ARP request", TC_FRAME_ARP_REQUEST},
    [C_ARP_REPLY] = {"unicast ARP reply", TC_FRAME_DROP},
    [C_ARP_REPLY_BCAST] = {"broadcast ARP reply", TC_FRAME_BROADCAST},
    [C_ARP_SHORT] = {"truncated ARP", TC_FRAME_DROP},
    [C_ARP_BAD_PTYPE] = {"ARP for IPv6", TC_FRAME_DROP},
    [C_V4] = {"IPv4 unicast", TC_FRAME_UNICAST_V4},
    [C_V4_PADDED] = {"IPv4 padded", TC_FRAME_UNICAST_V4},
    [C_V4_BCAST] = {"IPv4 broadcast", TC_FRAME_BROADCAST},
    [C_V4_MCAST] = {"IPv4 multicast", TC_FRAME_BROADCAST},
    [C_V4_SHORT] = {"IPv4 truncated header", TC_FRAME_DROP},
    [C_V4_IHL4] = {"IPv4 IHL 4", TC_FRAME_DROP},
    [C_V4_IHL_OVER] = {"IPv4 IHL past total", TC_FRAME_DROP},
    [C_V4_VER6] = {"IPv4 version 6", TC_FRAME_DROP},
    [C_V4_TOTLEN_OVER] = {"IPv4 total length > frame", TC_FRAME_DROP},
    [C_V4_TOTLEN_UNDER] = {"IPv4 total length < IHL", TC_FRAME_DROP},
    [C_V6] = {"IPv6 unicast", TC_FRAME_UNICAST_V6},
    [C_V6_MCAST] = {"IPv6 multicast", TC_FRAME_BROADCAST},
    [C_V6_SHORT] = {"IPv6 truncated header", TC_FRAME_DROP},
    [C_V6_PLEN_OVER] = {"IPv6 payload length > frame", TC_FRAME_DROP},
    [C_V6_VER4] = {"IPv6 version 4", TC_FRAME_DROP},
    [C_NS] = {"neighbour solicitation", TC_FRAME_NEIGH_SOLICIT},
    [C_NS_UNICAST] = {"unicast NS", TC_FRAME_NEIGH_SOLICIT},
    [C_NS_SHORT_PLEN] = {"ICMPv6 135 too short", TC_FRAME_BROADCAST},
    [C_ETH_ONLY] = {"Ethernet header only", TC_FRAME_DROP},
    [C_RUNT] = {"13 bytes", TC_FRAME_DROP},
    [C_EMPTY] = {"empty", TC_FRAME_DROP},
    [C_VLAN] = {"VLAN tagged", TC_FRAME_DROP},
    [C_LLDP] = {"LLDP", TC_FRAME_DROP},
};

static size_t build_case(enum frame_case c, uint8_t *f)
{
	static const uint8_t v4_bcast[4] = {10, 1, 0, 255};
	static const uint8_t v4_mdns[4] = {224, 0, 0, 251};
	static const uint8_t mac_v4_mdns[6] = {0x01, 0x00, 0x5e, 0, 0, 0xfb};
	static const uint8_t v6_mdns[16] = {0xff, 0x02, [15] = 0xfb};
	static const uint8_t mac_v6_mdns[6] = {0x33, 0x33, 0, 0, 0, 0xfb};
	size_t len;

	switch (c) {
	case C_ARP_REQ:
		memcpy(f, arp_req, 42);
		return 42;
	case C_ARP_REQ_UNICAST:
		memcpy(f, arp_req, 42);
		memcpy(f, peer_mac, 6);
		return 42;
	case C_ARP_REPLY:
		memcpy(f, arp_rep, 42);
		return 42;
	case C_ARP_REPLY_BCAST:
		memcpy(f, arp_rep, 42);
		memcpy(f, bcast, 6);
		return 42;
	case C_ARP_SHORT:
		memcpy(f, arp_req, 42);
		return 41;
	case C_ARP_BAD_PTYPE:
		memcpy(f, arp_req, 42);
		f[16] = 0x86;
		f[17] = 0xdd;
		return 42;
	case C_V4:
		return build_ipv4(f, peer_mac, peer_v4);
	case C_V4_PADDED:
		len = build_ipv4(f, peer_mac, peer_v4);
		memset(f + len, 0, 60 - len);
		return 60;
	case C_V4_BCAST:
		return build_ipv4(f, bcast, v4_bcast);
	case C_V4_MCAST:
		return build_ipv4(f, mac_v4_mdns, v4_mdns);
	case C_V4_SHORT:
		build_ipv4(f, peer_mac, peer_v4);
		return 14 + 19;
	case C_V4_IHL4:
		len = build_ipv4(f, peer_mac, peer_v4);
		f[14] = 0x44;
		return len;
	case C_V4_IHL_OVER:
		len = build_ipv4(f, peer_mac, peer_v4);
		f[14] = 0x48; /* 32-byte header in a 28-byte datagram */
		return len;
	case C_V4_VER6:
		len = build_ipv4(f, peer_mac, peer_v4);
		f[14] = 0x65;
		return len;
	case C_V4_TOTLEN_OVER:
		len = build_ipv4(f, peer_mac, peer_v4);
		f[14 + 3] = 29;
		return len;
	case C_V4_TOTLEN_UNDER:
		len = build_ipv4(f, peer_mac, peer_v4);
		f[14 + 3] = 19;
		return len;
	case C_V6:
		return build_ipv6(f, peer_mac, peer_v6);
	case C_V6_MCAST:
		return build_ipv6(f, mac_v6_mdns, v6_mdns);
	case C_V6_SHORT:
		build_ipv6(f, peer_mac, peer_v6);
		return 14 + 39;
	case C_V6_PLEN_OVER:
		len = build_ipv6(f, peer_mac, peer_v6);
		f[14 + 5] = 9;
		return len;
	case C_V6_VER4:
		len = build_ipv6(f, peer_mac, peer_v6);
		f[14] = 0x40;
		return len;
	case C_NS:
		return build_ns(f, sol_mac, req_v6, sol_node, peer_v6, true);
	case C_NS_UNICAST:
		return build_ns(f, peer_mac, req_v6, peer_v6, peer_v6, true);
	case C_NS_SHORT_PLEN:
		/* Type 135 but only 8 bytes of ICMPv6: not an NS we can use,
		 * and multicast, so it is just replicated. */
		len = build_ns(f, sol_mac, req_v6, sol_node, peer_v6, false);
		f[14 + 5] = 8;
		return 14 + 40 + 8;
	case C_ETH_ONLY:
		memcpy(f, arp_req, 14);
		return 14;
	case C_RUNT:
		memcpy(f, arp_req, 13);
		return 13;
	case C_EMPTY:
		return 0;
	case C_VLAN:
		len = build_ipv4(f, peer_mac, peer_v4);
		f[12] = 0x81;
		f[13] = 0x00;
		return len;
	case C_LLDP:
		len = build_ipv4(f, peer_mac, peer_v4);
		f[12] = 0x88;
		f[13] = 0xcc;
		return len;
	case C_COUNT:
		break;
	}
	ck_abort_msg("no such case");
	return 0;
}

START_TEST(test_classify)
{
	uint8_t f[128];
	struct tc_frame_info info;
	size_t len;

	memset(f, 0xa5, sizeof(f));
	len = build_case((enum frame_case)_i, f);
	memset(&info, 0x5a, sizeof(info));
	tc_frame_classify(f, len, &info);
	ck_assert_msg(info.kind == frame_cases[_i].kind, "%s: kind %d, want %d",
		      frame_cases[_i].name, info.kind, frame_cases[_i].kind);
	if (info.kind == TC_FRAME_UNICAST_V4)
		ck_assert_mem_eq(info.dst_v4, peer_v4, 4);
	if (info.kind == TC_FRAME_UNICAST_V6 || _i == C_NS_UNICAST)
		ck_assert_mem_eq(info.dst_v6, peer_v6, 16);
	if (len >= 14)
		ck_assert_uint_eq(info.ethertype,
				  (unsigned)(f[12] << 8 | f[13]));
}
END_TEST

/* ---- MACs and checksums ---- */

START_TEST(test_mac_from_uid)
{
	static const uint8_t want[6] = {0x02, 0x01, 0x23, 0x45, 0x67, 0x89};
	uint8_t a[6], b[6];

	tc_mac_from_uid("0123456789abcdef0123456789abcdef01234567", a);
	ck_assert_mem_eq(a, want, 6);
	tc_mac_from_uid("fedcba9876543210fedcba9876543210fedcba98", a);
	ck_assert_mem_eq(a, ((uint8_t[]){0x02, 0xfe, 0xdc, 0xba, 0x98, 0x76}),
			 6);
	ck_assert(!tc_mac_is_group(a));

	/* Not a uid: still a deterministic locally administered unicast. */
	tc_mac_from_uid("not a uid", a);
	tc_mac_from_uid("not a uid", b);
	ck_assert_mem_eq(a, b, 6);
	ck_assert_uint_eq(a[0], 0x02);
	tc_mac_from_uid("not a uid either", b);
	ck_assert_mem_ne(a, b, 6);
}
END_TEST

START_TEST(test_mac_is_group)
{
	ck_assert(tc_mac_is_group(bcast));
	ck_assert(tc_mac_is_group(sol_mac));
	ck_assert(tc_mac_is_group((uint8_t[]){0x01, 0, 0x5e, 0, 0, 1}));
	ck_assert(!tc_mac_is_group(req_mac));
	ck_assert(!tc_mac_is_group(peer_mac));
}
END_TEST

START_TEST(test_csum)
{
	/* The example of RFC 1071 section 3. */
	static const uint8_t ex[8] = {0x00, 0x01, 0xf2, 0x03,
				      0xf4, 0xf5, 0xf6, 0xf7};
	uint8_t buf[1501];
	uint32_t sum;
	size_t i;

	ck_assert_uint_eq(tc_csum_add(0, ex, 8), 0x2ddf0);
	ck_assert_uint_eq(tc_csum_fold(tc_csum_add(0, ex, 8)), 0x220d);
	ck_assert_uint_eq(tc_csum_fold(0), 0xffff);

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	for (i = 0; i <= sizeof(buf); i++) {
		/* Odd lengths pad with a zero; chunks split at even offsets. */
		uint16_t whole = tc_csum_fold(tc_csum_add(0, buf, i));
		size_t half = (i / 2) & ~(size_t)1;

		ck_assert_uint_eq(whole, ref_csum(buf, i));
		sum = tc_csum_add(0, buf, half);
		sum = tc_csum_add(sum, buf + half, i - half);
		ck_assert_uint_eq(tc_csum_fold(sum), whole);
	}
	/* A long run of 0xffff words must not overflow the 32-bit sum. */
	{
		static uint8_t ones[1 << 18];

		memset(ones, 0xff, sizeof(ones));
		ck_assert_uint_eq(
		    tc_csum_fold(tc_csum_add(0, ones, sizeof(ones))),
		    ref_csum(ones, sizeof(ones)));
	}
}
END_TEST

extern Suite *suite_ether(void);

Suite *suite_ether(void)
{
	Suite *s = suite_create("ether");
	TCase *tc = tcase_create("arp");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_arp_answer);
	tcase_add_test(tc, test_arp_unmapped);
	tcase_add_test(tc, test_arp_announce);
	tcase_add_loop_test(tc, test_arp_truncated, 0, 42);
	tcase_add_loop_test(tc, test_arp_malformed, 0, G_N_ELEMENTS(arp_bad));
	suite_add_tcase(s, tc);

	tc = tcase_create("nd");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_nd_answer);
	tcase_add_test(tc, test_nd_dad);
	tcase_add_test(tc, test_nd_unmapped);
	tcase_add_loop_test(tc, test_nd_truncated, 0, 14 + 40 + 32);
	tcase_add_loop_test(tc, test_nd_malformed, 0, G_N_ELEMENTS(nd_bad));
	suite_add_tcase(s, tc);

	tc = tcase_create("classify");
	tcase_add_loop_test(tc, test_classify, 0, C_COUNT);
	suite_add_tcase(s, tc);

	tc = tcase_create("util");
	tcase_add_test(tc, test_mac_from_uid);
	tcase_add_test(tc, test_mac_is_group);
	tcase_add_test(tc, test_csum);
	suite_add_tcase(s, tc);

	tc = tcase_create("source");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_src_is_peer);
	suite_add_tcase(s, tc);
	return s;
}
