/*
 * The overlay graph of topology.h.  Edges are added in one fixed order, so
 * the result depends on the member set and the parameters only: first the
 * successor edges (i, i+1..i+s), which always fit the bound because
 * max_links >= 2 * successors; then, level by level from the longest
 * chord down and member by member in ring order, the chord from each
 * member to the first member at or after self + 2^(160-l), kept only when
 * both ends still have room.  The chord levels depend on the number of
 * members n: with L = floor(log2 n) useful levels, a member that may hold
 * at least L chords takes all of them (Chord's fingers); one that may
 * hold c < L takes c levels spread evenly over 1..L.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/topology.h"

struct ipop_topo {
	size_t n;
	size_t edges;
	unsigned cap;		   /* max_links: adjacency slots per member */
	uint32_t *deg;		   /* neighbours of each member */
	struct ipop_topo_adj *adj; /* n * cap slots */
};

int ipop_topo_params_check(const struct ipop_topo_params *p, const char **why)
{
	if (p->successors < 1 || p->successors > IPOP_TOPO_MAX_SUCCESSORS)
		*why = "successors must be 1-16";
	else if (p->chords > IPOP_TOPO_MAX_CHORDS)
		*why = "chords must be 0-32";
	else if (p->max_links > IPOP_TOPO_MAX_LINKS)
		*why = "max_links must be at most 256";
	else if (p->max_links < 2 * p->successors)
		*why = "max_links must be at least 2 * successors (a member "
		       "links to its successors and is linked by its "
		       "predecessors)";
	else
		return 0;
	return -EINVAL;
}

static unsigned floor_log2(size_t n)
{
	unsigned l = 0;

	while (n >>= 1)
		l++;
	return l;
}

unsigned ipop_topo_chord_levels(size_t n, unsigned chords, unsigned *levels)
{
	unsigned useful = n < 2 ? 0 : floor_log2(n);
	unsigned j;

	if (chords > IPOP_TOPO_MAX_CHORDS)
		chords = IPOP_TOPO_MAX_CHORDS;
	if (useful > IPOP_RING_ID_LEN * 8)
		useful = IPOP_RING_ID_LEN * 8;
	if (chords >= useful) {
		for (j = 0; j < useful; j++)
			levels[j] = j + 1;
		return useful;
	}
	for (j = 0; j < chords; j++)
		levels[j] = 1 + j * useful / chords;
	return chords;
}

long ipop_topo_find(const struct ipop_ring_id *ids, size_t n,
		    const struct ipop_ring_id *id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = ipop_ring_cmp(&ids[mid], id);

		if (!c)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* The first member at or clockwise after point x. */
static size_t successor_of(const struct ipop_ring_id *ids, size_t n,
			   const struct ipop_ring_id *x)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ipop_ring_cmp(&ids[mid], x) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == n ? 0 : lo;
}

static struct ipop_topo_adj *slot(const struct ipop_topo *t, size_t i)
{
	return &t->adj[i * t->cap];
}

enum ipop_topo_kind ipop_topo_kind(const struct ipop_topo *t, size_t i,
				   size_t j)
{
	const struct ipop_topo_adj *a;
	uint32_t k;

	if (i >= t->n || j >= t->n)
		return IPOP_TOPO_NONE;
	a = slot(t, i);
	for (k = 0; k < t->deg[i]; k++)
		if (a[k].peer == j)
			return (enum ipop_topo_kind)a[k].kind;
	return IPOP_TOPO_NONE;
}

static void add_edge(struct ipop_topo *t, size_t i, size_t j,
		     enum ipop_topo_kind kind)
{
	slot(t, i)[t->deg[i]++] =
	    (struct ipop_topo_adj){(uint32_t)j, (uint8_t)kind};
	slot(t, j)[t->deg[j]++] =
	    (struct ipop_topo_adj){(uint32_t)i, (uint8_t)kind};
	t->edges++;
}

static void add_successors(struct ipop_topo *t, unsigned successors)
{
	size_t i, j;
	unsigned k;

	for (i = 0; i < t->n; i++)
		for (k = 1; k <= successors; k++) {
			j = (i + k) % t->n;
			if (j != i && !ipop_topo_kind(t, i, j))
				add_edge(t, i, j, IPOP_TOPO_SUCCESSOR);
		}
}

static void add_chords(struct ipop_topo *t, const struct ipop_ring_id *ids,
		       unsigned chords)
{
	unsigned levels[IPOP_TOPO_MAX_CHORDS];
	unsigned nl = ipop_topo_chord_levels(t->n, chords, levels);
	struct ipop_ring_id target;
	unsigned l;
	size_t i, j;

	for (l = 0; l < nl; l++)
		for (i = 0; i < t->n; i++) {
			ipop_ring_add_pow2(
			    &ids[i], IPOP_RING_ID_LEN * 8 - levels[l], &target);
			j = successor_of(ids, t->n, &target);
			if (j == i || ipop_topo_kind(t, i, j))
				continue;
			if (t->deg[i] < t->cap && t->deg[j] < t->cap)
				add_edge(t, i, j, IPOP_TOPO_CHORD);
		}
}

static int by_peer(const void *a, const void *b)
{
	const struct ipop_topo_adj *x = a, *y = b;

	return (x->peer > y->peer) - (x->peer < y->peer);
}

static bool ascending(const struct ipop_ring_id *ids, size_t n)
{
	size_t i;

	for (i = 1; i < n; i++)
		if (ipop_ring_cmp(&ids[i - 1], &ids[i]) >= 0)
			return false;
	return true;
}

struct ipop_topo *ipop_topo_build(const struct ipop_ring_id *ids, size_t n,
				  const struct ipop_topo_params *p)
{
	struct ipop_topo *t;
	const char *why;
	size_t i;

	if (ipop_topo_params_check(p, &why) < 0 || n > UINT32_MAX ||
	    !ascending(ids, n))
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->n = n;
	t->cap = p->max_links;
	t->deg = calloc(n ? n : 1, sizeof(*t->deg));
	t->adj = calloc(n ? n * t->cap : 1, sizeof(*t->adj));
	if (!t->deg || !t->adj) {
		ipop_topo_free(t);
		return NULL;
	}
	add_successors(t, p->successors);
	add_chords(t, ids, p->chords);
	for (i = 0; i < n; i++)
		qsort(slot(t, i), t->deg[i], sizeof(*t->adj), by_peer);
	return t;
}

void ipop_topo_free(struct ipop_topo *t)
{
	if (!t)
		return;
	free(t->deg);
	free(t->adj);
	free(t);
}

size_t ipop_topo_members(const struct ipop_topo *t)
{
	return t->n;
}

size_t ipop_topo_edges(const struct ipop_topo *t)
{
	return t->edges;
}

const struct ipop_topo_adj *ipop_topo_adj(const struct ipop_topo *t, size_t i,
					  size_t *count)
{
	if (i >= t->n) {
		*count = 0;
		return NULL;
	}
	*count = t->deg[i];
	return slot(t, i);
}
