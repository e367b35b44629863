/*
 * SocialVPN local-view addresses: which IPv4 address each friend's device
 * (by uid) has in this node's view, stable across restarts.  Owns the
 * table and its file in the state dir; addresses come from the overlay's
 * subnet, avoiding the network and broadcast addresses, this node's own
 * address and the pinned ones.  No sockets.
 */
#ifndef CTL_ADDRS_H
#define CTL_ADDRS_H

#include <stdbool.h>
#include <stdint.h>

struct ctl_addrs;

struct ctl_addr_pin {
	const char *uid; /* 40 hex digits */
	uint8_t v4[4];
};

/* Opens (creating if missing) the table stored at path ("uid a.b.c.d"
 * per line, written atomically: temp file + rename, mode 0600) for the
 * subnet net/prefix (prefix 8-30) where this node is self.  pins (n of
 * them, copied) always win.  A file with bad lines is not fatal: bad lines
 * are logged and skipped.  NULL (with a logged reason) only when the path
 * cannot be created or the arguments are invalid. */
struct ctl_addrs *ctl_addrs_open(const char *path, const uint8_t net[4],
				 unsigned prefix, const uint8_t self[4],
				 const struct ctl_addr_pin *pins, unsigned n);
void ctl_addrs_free(struct ctl_addrs *a);
/* The address of uid in our view (assigned and saved on first use:
 * derived from a hash of the uid, probing linearly to the next free one).
 * 0, or -ENOSPC when the subnet is full, -EIO if it could not be saved
 * (the address is still assigned). */
int ctl_addrs_get(struct ctl_addrs *a, const char *uid, uint8_t out[4]);
/* True if v4 is assigned (or pinned) to some uid other than uid. */
bool ctl_addrs_taken(const struct ctl_addrs *a, const uint8_t v4[4],
		     const char *uid);
/* Number of assigned addresses (pins included). */
unsigned ctl_addrs_count(const struct ctl_addrs *a);

#endif
