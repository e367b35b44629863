/*
 * Tests of tincan/tap.c, against the real kernel, inside a network namespace
 * of its own created in a child process (so nothing touches the host's
 * interfaces, and the namespace dies with the child).  Needs root; without
 * it, or where namespaces are not allowed, the test prints a note and
 * passes as skipped.
 *
 *   child netns:  lo (up)    tctestN  10.99.0.1/24  fd00:99::1/64
 *                              |
 *                           TAP fd (this test plays the overlay: it
 *                           answers ARP/NS with tc_arp_answer/tc_nd_answer
 *                           for the absent peer 10.99.0.2 / fd00:99::2)
 *
 * Besides reading the configuration back with ioctls, it sends a UDP
 * datagram to the peer and checks the whole L3 path: the kernel asks (ARP
 * or NS) on the TAP, the answer written to the fd is accepted, and the
 * queued datagram comes out addressed to the peer's synthetic MAC.  Then
 * the same with a virtio-header TAP and offloads: a local datagram leaves
 * with its checksum left partial, and an inbound one written with a
 * partial checksum is delivered while a wrong complete one is dropped.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

#include "tincan/ether.h"
#include "tincan/fwd.h"
#include "tincan/offload.h"
#include "tincan/tap.h"

enum { SKIP = 77 };

#define PEER_UID "0123456789abcdef0123456789abcdef01234567"

static const uint8_t tap_mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
static const uint8_t peer_mac[6] = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x02};
static const uint8_t my_v4[4] = {10, 99, 0, 1};
static const uint8_t peer_v4[4] = {10, 99, 0, 2};
static const uint8_t my_v6[16] = {0xfd, 0x00, 0x00, 0x99, [15] = 1};
static const uint8_t peer_v6[16] = {0xfd, 0x00, 0x00, 0x99, [15] = 2};

/* In the child, a failed check names itself and ends the child. */
#define REQUIRE(cond)                                                          \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "test_tap: %s:%d: failed: %s\n",       \
				__FILE__, __LINE__, #cond);                    \
			fflush(stderr);                                        \
			_exit(1);                                              \
		}                                                              \
	} while (0)

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads frames (after skip bytes of virtio header) from the TAP until one
 * has kind, for up to 3 s.  Returns the length read (header included) or
 * 0. */
static size_t wait_frame_skip(int fd, enum tc_frame_kind kind, uint8_t *buf,
			      size_t cap, size_t skip)
{
	int64_t deadline = now_ms() + 3000;
	struct tc_frame_info info;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	ssize_t n;

	while (now_ms() < deadline) {
		if (poll(&p, 1, (int)(deadline - now_ms())) <= 0)
			continue;
		n = read(fd, buf, cap);
		if (n <= (ssize_t)skip)
			continue;
		tc_frame_classify(buf + skip, (size_t)n - skip, &info);
		if (info.kind == kind)
			return (size_t)n;
	}
	return 0;
}

static size_t wait_frame(int fd, enum tc_frame_kind kind, uint8_t *buf,
			 size_t cap)
{
	return wait_frame_skip(fd, kind, buf, cap, 0);
}

static void set_lo_up(void)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	REQUIRE(s >= 0);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	REQUIRE(ioctl(s, SIOCGIFFLAGS, &ifr) == 0);
	ifr.ifr_flags |= IFF_UP;
	REQUIRE(ioctl(s, SIOCSIFFLAGS, &ifr) == 0);
	close(s);
}

static void check_ioctls(const char *ifname)
{
	struct ifreq ifr;
	struct sockaddr_in sin;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	REQUIRE(s >= 0);
	memset(&ifr, 0, sizeof(ifr));
	g_strlcpy(ifr.ifr_name, ifname, IFNAMSIZ);
	REQUIRE(ioctl(s, SIOCGIFMTU, &ifr) == 0);
	REQUIRE(ifr.ifr_mtu == 1400);
	REQUIRE(ioctl(s, SIOCGIFHWADDR, &ifr) == 0);
	REQUIRE(memcmp(ifr.ifr_hwaddr.sa_data, tap_mac, 6) == 0);
	REQUIRE(ioctl(s, SIOCGIFFLAGS, &ifr) == 0);
	REQUIRE(ifr.ifr_flags & IFF_UP);
	REQUIRE(ioctl(s, SIOCGIFADDR, &ifr) == 0);
	memcpy(&sin, &ifr.ifr_addr, sizeof(sin));
	REQUIRE(memcmp(&sin.sin_addr, my_v4, 4) == 0);
	REQUIRE(ioctl(s, SIOCGIFNETMASK, &ifr) == 0);
	memcpy(&sin, &ifr.ifr_netmask, sizeof(sin));
	REQUIRE(sin.sin_addr.s_addr == htonl(0xffffff00));
	close(s);
}

/* /proc/net/if_inet6 lists "ADDR IFINDEX PREFIX SCOPE FLAGS NAME". */
static void check_v6_addr(const char *ifname)
{
	g_autofree char *text = NULL;
	g_autofree char *dad = NULL;
	g_autofree char *path = NULL;
	g_auto(GStrv) lines = NULL;
	char addr[33], name[IFNAMSIZ];
	unsigned idx, plen, scope, flags;
	bool found = false;
	size_t i;

	REQUIRE(g_file_get_contents("/proc/net/if_inet6", &text, NULL, NULL));
	lines = g_strsplit(text, "\n", -1);
	for (i = 0; lines[i] != NULL; i++) {
		if (sscanf(lines[i], "%32s %x %x %x %x %15s", addr, &idx, &plen,
			   &scope, &flags, name) != 6)
			continue;
		if (strcmp(addr, "fd000099000000000000000000000001") == 0 &&
		    strcmp(name, ifname) == 0 && plen == 64)
			found = true;
	}
	REQUIRE(found);
	path = g_strdup_printf("/proc/sys/net/ipv6/conf/%s/accept_dad", ifname);
	REQUIRE(g_file_get_contents(path, &dad, NULL, NULL));
	REQUIRE(dad[0] == '0');
}

static void check_bad_configs(const struct tc_tap_config *good,
			      const char *ifname)
{
	struct tc_tap_config c = *good;

	REQUIRE(tc_tap_configure("tcnosuch0", good) == -ENODEV);
	REQUIRE(tc_tap_configure("", good) == -EINVAL);
	REQUIRE(tc_tap_configure("../x", good) == -EINVAL);
	c.v4_prefix = 33;
	REQUIRE(tc_tap_configure(ifname, &c) == -EINVAL);
	c = *good;
	c.v6_prefix = 129;
	REQUIRE(tc_tap_configure(ifname, &c) == -EINVAL);
	c = *good;
	c.mtu = 70000;
	REQUIRE(tc_tap_configure(ifname, &c) == -EINVAL);
}

static struct tc_fwd *peer_table(void)
{
	struct tc_fwd *f = tc_fwd_new();
	struct tc_fwd_entry e;

	memset(&e, 0, sizeof(e));
	g_strlcpy(e.uid, PEER_UID, sizeof(e.uid));
	e.has_v4 = true;
	memcpy(e.v4, peer_v4, 4);
	e.has_v6 = true;
	memcpy(e.v6, peer_v6, 16);
	memcpy(e.mac, peer_mac, 6);
	REQUIRE(tc_fwd_map(f, &e) == 0);
	return f;
}

/* UDP to the absent IPv4 peer: ARP out, our answer in, datagram out. */
static void check_arp_path(int fd, const struct tc_fwd *f)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9)};
	struct tc_frame_info info;
	uint8_t buf[2048], ans[64];
	size_t n;
	int s, r;

	memcpy(&to.sin_addr, peer_v4, 4);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	REQUIRE(s >= 0);
	REQUIRE(sendto(s, "hello4", 6, 0, (struct sockaddr *)&to, sizeof(to)) ==
		6);
	n = wait_frame(fd, TC_FRAME_ARP_REQUEST, buf, sizeof(buf));
	REQUIRE(n > 0);
	REQUIRE(memcmp(buf + 6, tap_mac, 6) == 0);
	r = tc_arp_answer(buf, n, f, ans, sizeof(ans));
	REQUIRE(r == 42);
	REQUIRE(write(fd, ans, (size_t)r) == r);
	n = wait_frame(fd, TC_FRAME_UNICAST_V4, buf, sizeof(buf));
	REQUIRE(n > 0);
	tc_frame_classify(buf, n, &info);
	REQUIRE(memcmp(info.dst_v4, peer_v4, 4) == 0);
	REQUIRE(memcmp(buf, peer_mac, 6) == 0);
	REQUIRE(memcmp(buf + 6, tap_mac, 6) == 0);
	REQUIRE(memmem(buf, n, "hello4", 6) != NULL);
	close(s);
}

/* The same over IPv6: NS out, NA in, datagram out. */
static void check_nd_path(int fd, const struct tc_fwd *f)
{
	struct sockaddr_in6 to = {.sin6_family = AF_INET6,
				  .sin6_port = htons(9)};
	struct tc_frame_info info;
	uint8_t buf[2048], ans[128];
	size_t n;
	int s, r = 0;

	memcpy(&to.sin6_addr, peer_v6, 16);
	s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	REQUIRE(s >= 0);
	REQUIRE(sendto(s, "hello6", 6, 0, (struct sockaddr *)&to, sizeof(to)) ==
		6);
	/* Skip solicitations for other addresses (none expected). */
	while (r == 0) {
		n = wait_frame(fd, TC_FRAME_NEIGH_SOLICIT, buf, sizeof(buf));
		REQUIRE(n > 0);
		r = tc_nd_answer(buf, n, f, ans, sizeof(ans));
		REQUIRE(r >= 0);
	}
	REQUIRE(r == 86);
	REQUIRE(write(fd, ans, (size_t)r) == r);
	n = wait_frame(fd, TC_FRAME_UNICAST_V6, buf, sizeof(buf));
	REQUIRE(n > 0);
	tc_frame_classify(buf, n, &info);
	REQUIRE(memcmp(info.dst_v6, peer_v6, 16) == 0);
	REQUIRE(memcmp(buf, peer_mac, 6) == 0);
	REQUIRE(memmem(buf, n, "hello6", 6) != NULL);
	close(s);
}

/* One's complement sum over len bytes, folded, not complemented. */
static uint16_t sum16(const uint8_t *p, size_t len, uint32_t acc)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		acc += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		acc += (uint32_t)(p[len - 1] << 8);
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

/* A UDP datagram from the peer to us:port, as a frame; its UDP checksum
 * field holds the pseudo-header sum only (partial) when partial, else a
 * deliberately wrong full checksum. */
static size_t peer_udp_frame(uint8_t *f, uint16_t port, bool partial)
{
	static const char msg[] = "offloaded";
	size_t ulen = 8 + sizeof(msg), n = 14 + 20 + ulen;
	uint16_t c;

	memset(f, 0, n);
	memcpy(f, tap_mac, 6);
	memcpy(f + 6, peer_mac, 6);
	f[12] = 0x08;
	f[14] = 0x45;
	f[16] = (uint8_t)((20 + ulen) >> 8);
	f[17] = (uint8_t)(20 + ulen);
	f[22] = 64;
	f[23] = 17;
	memcpy(f + 26, peer_v4, 4);
	memcpy(f + 30, my_v4, 4);
	c = (uint16_t)~sum16(f + 14, 20, 0);
	f[24] = (uint8_t)(c >> 8);
	f[25] = (uint8_t)c;
	f[34] = 0x30;
	f[35] = 0x39;
	f[36] = (uint8_t)(port >> 8);
	f[37] = (uint8_t)port;
	f[38] = (uint8_t)(ulen >> 8);
	f[39] = (uint8_t)ulen;
	memcpy(f + 42, msg, sizeof(msg));
	/* Pseudo header: addresses, protocol, UDP length. */
	c = sum16(f + 26, 8, 17 + (uint32_t)ulen);
	if (!partial)
		c = (uint16_t)(c ^ 0x5a5a); /* wrong on purpose */
	f[40] = (uint8_t)(c >> 8);
	f[41] = (uint8_t)c;
	return n;
}

/* With IFF_VNET_HDR and offloads, the kernel leaves our UDP checksum to
 * "the NIC" (NEEDS_CSUM at the UDP header), and a frame written with
 * NEEDS_CSUM and only the pseudo-header sum is accepted, while the same
 * frame with a wrong complete checksum is dropped by the kernel. */
static void check_offload_path(int fd, const struct tc_fwd *f)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9)};
	struct sockaddr_in me = {.sin_family = AF_INET};
	struct virtio_net_hdr h;
	socklen_t ml = sizeof(me);
	uint8_t buf[2048], ans[64], frame[128];
	char got[64];
	size_t n, fl;
	int s, r;

	memcpy(&to.sin_addr, peer_v4, 4);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	REQUIRE(s >= 0);
	REQUIRE(sendto(s, "hello4", 6, 0, (struct sockaddr *)&to, sizeof(to)) ==
		6);
	n = wait_frame_skip(fd, TC_FRAME_ARP_REQUEST, buf, sizeof(buf),
			    TC_OFFLOAD_VNET_LEN);
	REQUIRE(n > TC_OFFLOAD_VNET_LEN);
	r = tc_arp_answer(buf + TC_OFFLOAD_VNET_LEN, n - TC_OFFLOAD_VNET_LEN, f,
			  ans + TC_OFFLOAD_VNET_LEN,
			  sizeof(ans) - TC_OFFLOAD_VNET_LEN);
	REQUIRE(r == 42);
	memset(ans, 0, TC_OFFLOAD_VNET_LEN);
	REQUIRE(write(fd, ans, TC_OFFLOAD_VNET_LEN + (size_t)r) ==
		(ssize_t)TC_OFFLOAD_VNET_LEN + r);
	n = wait_frame_skip(fd, TC_FRAME_UNICAST_V4, buf, sizeof(buf),
			    TC_OFFLOAD_VNET_LEN);
	REQUIRE(n == TC_OFFLOAD_VNET_LEN + 14 + 20 + 8 + 6);
	memcpy(&h, buf, sizeof(h));
	REQUIRE(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
	REQUIRE(h.gso_type == VIRTIO_NET_HDR_GSO_NONE);
	REQUIRE(h.csum_start == 14 + 20);
	REQUIRE(h.csum_offset == 6);

	/* Now inward, to a bound socket. */
	REQUIRE(getsockname(s, (struct sockaddr *)&me, &ml) == 0);
	memset(&h, 0, sizeof(h));
	fl = peer_udp_frame(frame + TC_OFFLOAD_VNET_LEN, ntohs(me.sin_port),
			    false);
	memcpy(frame, &h, sizeof(h));
	REQUIRE(write(fd, frame, TC_OFFLOAD_VNET_LEN + fl) ==
		(ssize_t)(TC_OFFLOAD_VNET_LEN + fl));
	usleep(100 * 1000);
	REQUIRE(recv(s, got, sizeof(got), MSG_DONTWAIT) < 0); /* dropped */
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.csum_start = 34;
	h.csum_offset = 6;
	fl = peer_udp_frame(frame + TC_OFFLOAD_VNET_LEN, ntohs(me.sin_port),
			    true);
	memcpy(frame, &h, sizeof(h));
	REQUIRE(write(fd, frame, TC_OFFLOAD_VNET_LEN + fl) ==
		(ssize_t)(TC_OFFLOAD_VNET_LEN + fl));
	usleep(100 * 1000);
	REQUIRE(recv(s, got, sizeof(got), MSG_DONTWAIT) == 10);
	REQUIRE(memcmp(got, "offloaded", 10) == 0);
	close(s);
}

static int run_in_netns(void)
{
	struct tc_tap_config cfg = {.mtu = 1400,
				    .has_v4 = true,
				    .v4_prefix = 24,
				    .has_v6 = true,
				    .v6_prefix = 64};
	char ifname[IFNAMSIZ];
	struct tc_fwd *f;
	int fd;

	if (geteuid() != 0) {
		printf("# SKIP tap:netns: needs root for a netns\n");
		return SKIP;
	}
	if (unshare(CLONE_NEWNET) != 0) {
		printf("# SKIP tap:netns: unshare(CLONE_NEWNET): %s\n",
		       strerror(errno));
		return errno == EPERM ? SKIP : 1;
	}
	if (access("/dev/net/tun", R_OK | W_OK) != 0) {
		printf("# SKIP tap:netns: no /dev/net/tun\n");
		return SKIP;
	}
	set_lo_up();
	memcpy(cfg.mac, tap_mac, 6);
	memcpy(cfg.v4, my_v4, 4);
	memcpy(cfg.v6, my_v6, 16);
	REQUIRE(tc_tap_open("tctest-way-too-long-name", ifname, false) ==
		-EINVAL);
	fd = tc_tap_open("tctest%d", ifname, false);
	REQUIRE(fd >= 0);
	REQUIRE(g_str_has_prefix(ifname, "tctest"));
	REQUIRE(fcntl(fd, F_GETFL) & O_NONBLOCK);
	REQUIRE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	REQUIRE(tc_tap_configure(ifname, &cfg) == 0);
	check_ioctls(ifname);
	check_v6_addr(ifname);
	check_bad_configs(&cfg, ifname);
	f = peer_table();
	check_arp_path(fd, f);
	check_nd_path(fd, f);
	close(fd);
	/* The device vanished with its fd; the same again with offloads. */
	fd = tc_tap_open("tctest%d", ifname, true);
	REQUIRE(fd >= 0);
	REQUIRE(tc_tap_set_offload(fd) == 0);
	REQUIRE(tc_tap_configure(ifname, &cfg) == 0);
	check_offload_path(fd, f);
	tc_fwd_free(f);
	close(fd);
	return 0;
}

START_TEST(test_tap_netns)
{
	pid_t pid;
	int status;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int r = run_in_netns();

		fflush(stdout);
		fflush(stderr);
		_exit(r);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_msg(WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == SKIP,
		      "TAP scenario failed (exit %d), see stderr",
		      WEXITSTATUS(status));
}
END_TEST

extern Suite *suite_tap(void);

Suite *suite_tap(void)
{
	Suite *s = suite_create("tap");
	TCase *tc = tcase_create("netns");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_tap_netns);
	suite_add_tcase(s, tc);
	return s;
}
