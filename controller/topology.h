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
#ifndef CTL_TOPOLOGY_H
#define CTL_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ring.h"

enum {
	CTL_TOPO_MAX_SUCCESSORS = 16,
	CTL_TOPO_MAX_CHORDS = 32,
	CTL_TOPO_MAX_LINKS = 256,
	/* The defaults of the config keys successors, chords and max_links
	 * (man/ipop-controller.yaml.5): with them gvpn-sim finds every greedy
	 * path within tincan's hop limit of 32 up to 100,000 members. */
	CTL_TOPO_DEFAULT_SUCCESSORS = 2,
	CTL_TOPO_DEFAULT_CHORDS = 12,
	CTL_TOPO_DEFAULT_MAX_LINKS = 24,
};

/* Why an edge exists; the values are proto's LinkKind. */
enum ctl_topo_kind {
	CTL_TOPO_NONE = 0,
	CTL_TOPO_SUCCESSOR = 1, /* ring neighbour (either side) */
	CTL_TOPO_CHORD = 2,
};

struct ctl_topo_params {
	unsigned successors; /* ring successors per member, 1..16 */
	unsigned chords;     /* chord levels per member, 0..32 */
	unsigned max_links;  /* degree bound, 2 * successors..256 */
};

/* One neighbour of a member: its index in the member set and the kind. */
struct ctl_topo_adj {
	uint32_t peer;
	uint8_t kind; /* enum ctl_topo_kind */
};

struct ctl_topo;

/* 0, or -EINVAL with *why set ("max_links must be at least 2 *
 * successors"). */
int ctl_topo_params_check(const struct ctl_topo_params *p, const char **why);
/* The chord levels used for n members: writes up to CTL_TOPO_MAX_CHORDS
 * levels (1 = half the ring away) to levels and returns their number. */
unsigned ctl_topo_chord_levels(size_t n, unsigned chords, unsigned *levels);
/* The graph of the n members ids (borrowed; strictly ascending) under p.
 * NULL when ids are not strictly ascending, n is over UINT32_MAX, p fails
 * ctl_topo_params_check, or memory runs out. */
struct ctl_topo *ctl_topo_build(const struct ipop_ring_id *ids, size_t n,
				const struct ctl_topo_params *p);
/* Frees t; NULL is a no-op. */
void ctl_topo_free(struct ctl_topo *t);
/* Number of members / of edges. */
size_t ctl_topo_members(const struct ctl_topo *t);
size_t ctl_topo_edges(const struct ctl_topo *t);
/* The neighbours of member i (< members), *count of them; borrowed from
 * t, sorted by peer index. */
const struct ctl_topo_adj *ctl_topo_adj(const struct ctl_topo *t, size_t i,
					size_t *count);
/* The kind of edge i-j, CTL_TOPO_NONE when there is none. */
enum ctl_topo_kind ctl_topo_kind(const struct ctl_topo *t, size_t i, size_t j);
/* The index of id in the sorted ids, or -1 (binary search). */
long ctl_topo_find(const struct ipop_ring_id *ids, size_t n,
		   const struct ipop_ring_id *id);

#endif
