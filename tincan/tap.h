/*
 * TAP devices: opening /dev/net/tun in TAP mode and configuring the
 * interface (MAC, MTU, IPv4 and IPv6 addresses, up) with ioctls in the
 * current network namespace.  Owns nothing after return: the caller owns the
 * fd, and closing it removes the (non-persistent) device.
 */
#ifndef TC_TAP_H
#define TC_TAP_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

struct tc_tap_config {
	uint8_t mac[6];
	unsigned mtu;
	bool has_v4;
	uint8_t v4[4];
	unsigned v4_prefix;
	bool has_v6;
	uint8_t v6[16];
	unsigned v6_prefix;
};

/* Opens a non-blocking TAP (IFF_TAP | IFF_NO_PI) named name (may hold a
 * %d pattern, or be empty for the kernel's choice); the actual name goes to
 * name_out.  With vnet_hdr, every frame read or written is preceded by a
 * struct virtio_net_hdr (IFF_VNET_HDR, native byte order).  Returns the fd
 * or -errno. */
int tc_tap_open(const char *name, char name_out[IFNAMSIZ], bool vnet_hdr);
/* Lets the kernel hand over frames with partial TCP/UDP checksums and TCP
 * segments of up to 64 KB (IPv4 and IPv6): needs a vnet_hdr TAP.  0 or
 * -errno (the TAP then works without offloads). */
int tc_tap_set_offload(int fd);
/* Applies cfg to the interface and brings it up.  IPv6 duplicate address
 * detection is switched off on it (the overlay has no duplicates to find).
 * 0 or -errno (with a logged reason). */
int tc_tap_configure(const char *ifname, const struct tc_tap_config *cfg);
/* Makes ifname a port of the Linux bridge `bridge`, creating the bridge
 * (and bringing it up) when it does not exist.  0 or -errno. */
int tc_tap_attach_bridge(const char *ifname, const char *bridge);

#endif
