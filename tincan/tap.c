/*
 * TAP devices: opens /dev/net/tun in TAP mode without packet information
 * and configures the interface with the classic ioctls (no netlink): MAC,
 * MTU, one IPv4 address with its netmask, one IPv6 address with duplicate
 * address detection switched off, then up.  Acts on the network namespace of
 * the calling thread.  It keeps nothing: the caller owns the returned fd,
 * and closing it removes the device.
 */
#define G_LOG_DOMAIN "tincan"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_tun.h>
#include <linux/sockios.h>

#include <glib.h>

#include "tincan/tap.h"

/* The kernel's struct in6_ifreq (linux/ipv6.h), spelt out here because that
 * header clashes with glibc's netinet/in.h on older systems. */
struct tap_in6_ifreq {
	struct in6_addr addr;
	uint32_t prefixlen;
	int ifindex;
};

static bool name_ok(const char *ifname)
{
	return ifname != NULL && *ifname != '\0' && strlen(ifname) < IFNAMSIZ &&
	       strchr(ifname, '/') == NULL && strcmp(ifname, ".") != 0 &&
	       strcmp(ifname, "..") != 0;
}

int tc_tap_open(const char *name, char name_out[IFNAMSIZ], bool vnet_hdr)
{
	struct ifreq ifr;
	int fd, r;

	memset(&ifr, 0, sizeof(ifr));
	if (name != NULL && *name != '\0') {
		if (strlen(name) >= IFNAMSIZ)
			return -EINVAL;
		memcpy(ifr.ifr_name, name, strlen(name));
	}
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet_hdr ? IFF_VNET_HDR : 0);
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		g_warning("tap %s: open /dev/net/tun: %s", name ? name : "",
			  g_strerror(-r));
		return r;
	}
	if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
		r = -errno;
		g_warning("tap %s: TUNSETIFF: %s", name ? name : "",
			  g_strerror(-r));
		close(fd);
		return r;
	}
	if (name_out != NULL) {
		memcpy(name_out, ifr.ifr_name, IFNAMSIZ);
		name_out[IFNAMSIZ - 1] = '\0';
	}
	g_debug("tap %.*s: opened (fd %d)", IFNAMSIZ, ifr.ifr_name, fd);
	return fd;
}

int tc_tap_set_offload(int fd)
{
	unsigned long off = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;

	return ioctl(fd, TUNSETOFFLOAD, off) == 0 ? 0 : -errno;
}

/* One ioctl on a request naming ifname; logs the failing step. */
static int if_ioctl(int sock, unsigned long req, const char *step,
		    const char *ifname, void *arg)
{
	int r;

	if (ioctl(sock, req, arg) == 0)
		return 0;
	r = -errno;
	g_warning("tap %s: %s: %s", ifname, step, g_strerror(-r));
	return r;
}

static void ifr_init(struct ifreq *ifr, const char *ifname)
{
	memset(ifr, 0, sizeof(*ifr));
	memcpy(ifr->ifr_name, ifname, strlen(ifname));
}

static int set_mac(int sock, const char *ifname, const uint8_t mac[6])
{
	static const uint8_t zero[6];
	struct ifreq ifr;

	/* An all-zero MAC means "keep the kernel's random one". */
	if (memcmp(mac, zero, 6) == 0)
		return 0;
	ifr_init(&ifr, ifname);
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);
	return if_ioctl(sock, SIOCSIFHWADDR, "SIOCSIFHWADDR", ifname, &ifr);
}

static int set_mtu(int sock, const char *ifname, unsigned mtu)
{
	struct ifreq ifr;

	if (mtu == 0)
		return 0;
	if (mtu > 65535) {
		g_warning("tap %s: MTU %u is too large", ifname, mtu);
		return -EINVAL;
	}
	ifr_init(&ifr, ifname);
	ifr.ifr_mtu = (int)mtu;
	return if_ioctl(sock, SIOCSIFMTU, "SIOCSIFMTU", ifname, &ifr);
}

static int set_v4(int sock, const char *ifname, const uint8_t v4[4],
		  unsigned prefix)
{
	struct sockaddr_in sin;
	struct ifreq ifr;
	uint32_t mask;
	int r;

	if (prefix > 32) {
		g_warning("tap %s: IPv4 prefix /%u is invalid", ifname, prefix);
		return -EINVAL;
	}
	mask = prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	memcpy(&sin.sin_addr, v4, 4);
	ifr_init(&ifr, ifname);
	memcpy(&ifr.ifr_addr, &sin, sizeof(sin));
	r = if_ioctl(sock, SIOCSIFADDR, "SIOCSIFADDR", ifname, &ifr);
	if (r != 0)
		return r;
	sin.sin_addr.s_addr = htonl(mask);
	ifr_init(&ifr, ifname);
	memcpy(&ifr.ifr_netmask, &sin, sizeof(sin));
	return if_ioctl(sock, SIOCSIFNETMASK, "SIOCSIFNETMASK", ifname, &ifr);
}

/* The overlay has no duplicates to detect, and DAD would hold the address
 * tentative (unusable) for a second or more after start.  A plain write:
 * g_file_set_contents would try to rename a temporary file into /proc. */
static void disable_dad(const char *ifname)
{
	g_autofree char *path = NULL;
	int fd;

	path = g_strdup_printf("/proc/sys/net/ipv6/conf/%s/accept_dad", ifname);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0", 1) != 1)
		g_debug("tap %s: cannot switch off DAD in %s: %s", ifname, path,
			g_strerror(errno));
	if (fd >= 0)
		close(fd);
}

static int set_v6(const char *ifname, const uint8_t v6[16], unsigned prefix)
{
	struct tap_in6_ifreq req;
	int sock, r;

	if (prefix > 128) {
		g_warning("tap %s: IPv6 prefix /%u is invalid", ifname, prefix);
		return -EINVAL;
	}
	memset(&req, 0, sizeof(req));
	req.ifindex = (int)if_nametoindex(ifname);
	if (req.ifindex == 0) {
		r = -errno;
		g_warning("tap %s: if_nametoindex: %s", ifname, g_strerror(-r));
		return r;
	}
	memcpy(&req.addr, v6, 16);
	req.prefixlen = prefix;
	disable_dad(ifname);
	sock = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0) {
		r = -errno;
		g_warning("tap %s: AF_INET6 socket: %s", ifname,
			  g_strerror(-r));
		return r;
	}
	r = if_ioctl(sock, SIOCSIFADDR, "SIOCSIFADDR (IPv6)", ifname, &req);
	close(sock);
	return r;
}

static int set_up(int sock, const char *ifname)
{
	struct ifreq ifr;
	int r;

	ifr_init(&ifr, ifname);
	r = if_ioctl(sock, SIOCGIFFLAGS, "SIOCGIFFLAGS", ifname, &ifr);
	if (r != 0)
		return r;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	return if_ioctl(sock, SIOCSIFFLAGS, "SIOCSIFFLAGS", ifname, &ifr);
}

int tc_tap_configure(const char *ifname, const struct tc_tap_config *cfg)
{
	int sock, r;

	if (!name_ok(ifname)) {
		g_warning("tap: invalid interface name");
		return -EINVAL;
	}
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0) {
		r = -errno;
		g_warning("tap %s: AF_INET socket: %s", ifname, g_strerror(-r));
		return r;
	}
	r = set_mac(sock, ifname, cfg->mac);
	if (r == 0)
		r = set_mtu(sock, ifname, cfg->mtu);
	if (r == 0 && cfg->has_v4)
		r = set_v4(sock, ifname, cfg->v4, cfg->v4_prefix);
	if (r == 0 && cfg->has_v6)
		r = set_v6(ifname, cfg->v6, cfg->v6_prefix);
	if (r == 0)
		r = set_up(sock, ifname);
	close(sock);
	return r;
}

/* Creates the bridge when it does not exist yet; an existing one is fine. */
static int ensure_bridge(int sock, const char *bridge)
{
	if (if_nametoindex(bridge) != 0)
		return 0;
	if (ioctl(sock, SIOCBRADDBR, bridge) < 0 && errno != EEXIST) {
		int r = -errno;
		g_warning("bridge %s: cannot create: %s", bridge,
			  g_strerror(-r));
		return r;
	}
	g_message("bridge %s created", bridge);
	return 0;
}

int tc_tap_attach_bridge(const char *ifname, const char *bridge)
{
	struct ifreq ifr;
	int sock, r;

	if (!name_ok(ifname) || !name_ok(bridge))
		return -EINVAL;
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -errno;
	r = ensure_bridge(sock, bridge);
	if (r == 0) {
		ifr_init(&ifr, bridge);
		ifr.ifr_ifindex = (int)if_nametoindex(ifname);
		r = if_ioctl(sock, SIOCBRADDIF, "SIOCBRADDIF", bridge, &ifr);
	}
	if (r == 0)
		r = set_up(sock, bridge);
	close(sock);
	return r;
}
