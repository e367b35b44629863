/*
 * Forwarding table of one L3 overlay: which peer (by uid) owns which virtual
 * IPv4 address, IPv6 address and synthetic MAC.  A pure data structure: no
 * links, no I/O.  The overlay looks up a destination here and then finds the
 * link by uid.
 */
#ifndef TC_FWD_H
#define TC_FWD_H

#include <stdbool.h>
#include <stdint.h>

#include "tincan/identity.h"

struct tc_fwd_entry {
	char uid[IPOP_UID_SIZE];
	bool has_v4;
	uint8_t v4[4];
	bool has_v6;
	uint8_t v6[16];
	uint8_t mac[6];
	/* Translation only: the peer's own TAP address (not indexed: peers
	 * may all use the same one in their own views). */
	bool has_peer_v4;
	uint8_t peer_v4[4];
	char label[IPOP_LABEL_MAX +
		   1]; /* free text from the controller, e.g. a JID */
};

struct tc_fwd;

struct tc_fwd *tc_fwd_new(void);
/* Frees the table and its entries; NULL is a no-op. */
void tc_fwd_free(struct tc_fwd *f);
/* Adds or replaces the entry for e->uid (copies e).  -EEXIST if one of its
 * addresses or its MAC belongs to another uid (nothing changes then),
 * -EINVAL for a bad uid or a MAC that is multicast or zero. */
int tc_fwd_map(struct tc_fwd *f, const struct tc_fwd_entry *e);
/* Removes the entry of uid: 0 or -ENOENT. */
int tc_fwd_unmap(struct tc_fwd *f, const char *uid);
/* Lookups; the result is borrowed until the next map/unmap.  NULL if none. */
const struct tc_fwd_entry *tc_fwd_by_uid(const struct tc_fwd *f,
					 const char *uid);
const struct tc_fwd_entry *tc_fwd_by_v4(const struct tc_fwd *f,
					const uint8_t v4[4]);
const struct tc_fwd_entry *tc_fwd_by_v6(const struct tc_fwd *f,
					const uint8_t v6[16]);
const struct tc_fwd_entry *tc_fwd_by_mac(const struct tc_fwd *f,
					 const uint8_t mac[6]);
/* Number of entries. */
unsigned tc_fwd_count(const struct tc_fwd *f);
/* Calls fn for every entry (the table must not change meanwhile). */
void tc_fwd_foreach(const struct tc_fwd *f,
		    void (*fn)(const struct tc_fwd_entry *e, void *ctx),
		    void *ctx);

#endif
