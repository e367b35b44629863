/*
 * The GroupVPN overlay graph as a pure function of the member set: members
 * ordered by uid on the ring of common/ring.h, each linked to its ring
 * successors and to Chord-style chords (the member following self +
 * 2^(160-l) for a few levels l), under a hard bound on the links a member
 * holds in both directions.  Every member computes the same graph from the
 * same set, so both ends of an edge agree that it exists and what kind it
 * is.  The successor edges alone keep the graph connected and let greedy
 * forwarding (ipop_ring_next_hop) reach everyone; the chords shorten the
 * paths.  No I/O, no GLib: the controller and tools/gvpn-sim both link it.
 * On-demand links are not the topology's business.
 */
#ifndef IPOP_TOPOLOGY_H
#define IPOP_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ring.h"

enum {
	IPOP_TOPO_MAX_SUCCESSORS = 16,
	IPOP_TOPO_MAX_CHORDS = 32,
	IPOP_TOPO_MAX_LINKS = 256,
	/* The defaults of the config keys successors, chords and max_links
	 * (man/ipop-controller.yaml.5): with them gvpn-sim finds every greedy
	 * path within tincan's hop limit of 32 up to 100,000 members. */
	IPOP_TOPO_DEFAULT_SUCCESSORS = 2,
	IPOP_TOPO_DEFAULT_CHORDS = 12,
	IPOP_TOPO_DEFAULT_MAX_LINKS = 24,
};

/* Why an edge exists; the values are proto's LinkKind. */
enum ipop_topo_kind {
	IPOP_TOPO_NONE = 0,
	IPOP_TOPO_SUCCESSOR = 1, /* ring neighbour (either side) */
	IPOP_TOPO_CHORD = 2,
};

struct ipop_topo_params {
	unsigned successors; /* ring successors per member, 1..16 */
	unsigned chords;     /* chord levels per member, 0..32 */
	unsigned max_links;  /* degree bound, 2 * successors..256 */
};

/* One neighbour of a member: its index in the member set and the kind. */
struct ipop_topo_adj {
	uint32_t peer;
	uint8_t kind; /* enum ipop_topo_kind */
};

struct ipop_topo;

/* 0, or -EINVAL with *why set ("max_links must be at least 2 *
 * successors"). */
int ipop_topo_params_check(const struct ipop_topo_params *p, const char **why);
/* The chord levels used for n members: writes up to IPOP_TOPO_MAX_CHORDS
 * levels (1 = half the ring away) to levels and returns their number. */
unsigned ipop_topo_chord_levels(size_t n, unsigned chords, unsigned *levels);
/* The graph of the n members ids (borrowed; strictly ascending) under p.
 * NULL when ids are not strictly ascending, n is over UINT32_MAX, p fails
 * ipop_topo_params_check, or memory runs out. */
struct ipop_topo *ipop_topo_build(const struct ipop_ring_id *ids, size_t n,
				  const struct ipop_topo_params *p);
/* Frees t; NULL is a no-op. */
void ipop_topo_free(struct ipop_topo *t);
/* Number of members / of edges. */
size_t ipop_topo_members(const struct ipop_topo *t);
size_t ipop_topo_edges(const struct ipop_topo *t);
/* The neighbours of member i (< members), *count of them; borrowed from
 * t, sorted by peer index. */
const struct ipop_topo_adj *ipop_topo_adj(const struct ipop_topo *t, size_t i,
					  size_t *count);
/* The kind of edge i-j, IPOP_TOPO_NONE when there is none. */
enum ipop_topo_kind ipop_topo_kind(const struct ipop_topo *t, size_t i,
				   size_t j);
/* The index of id in the sorted ids, or -1 (binary search). */
long ipop_topo_find(const struct ipop_ring_id *ids, size_t n,
		    const struct ipop_ring_id *id);

#endif
