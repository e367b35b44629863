/*
 * gvpn-sim: the GroupVPN overlay at sizes this machine cannot run.  Builds
 * the real topology (common/topology.c) over synthetic member sets of
 * random uids and walks the real greedy rule (common/ring.c, what tincan
 * forwards by) between sampled pairs, printing per member count: links per
 * member (max, mean), path length in hops (mean, p99, max) and how many
 * edges change when one member joins or leaves.  Deterministic: the same
 * seed gives the same table.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/ring.h"
#include "common/topology.h"

enum {
	PAIRS = 4000, /* sampled (source, destination) pairs per size */
	CHURN_TRIALS = 5,
	HOP_LIMIT = 32, /* PROTOCOL.md §14: tincan drops a frame after 32 */
};

struct stats {
	unsigned max_deg;
	double mean_deg;
	double mean_hops, p99_hops;
	unsigned max_hops, over_limit, unreachable;
	double join_changed, leave_changed;
	unsigned join_max, leave_max;
};

static uint64_t rng_state;

/* splitmix64: reproducible synthetic uids. */
static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void random_id(struct ipop_ring_id *id)
{
	size_t i;

	for (i = 0; i < IPOP_RING_ID_LEN; i++)
		id->b[i] = (uint8_t)rnd();
}

static int by_id(const void *a, const void *b)
{
	return ipop_ring_cmp(a, b);
}

/* n distinct random ids, sorted (a duplicate of 160 random bits is
 * impossible in practice, but drop one anyway). */
static size_t make_ids(struct ipop_ring_id *ids, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		random_id(&ids[i]);
	qsort(ids, n, sizeof(*ids), by_id);
	for (i = 0; i < n; i++)
		if (!k || ipop_ring_cmp(&ids[k - 1], &ids[i]))
			ids[k++] = ids[i];
	return k;
}

/* Greedy hops from s to d, or -1 when a hop cannot make progress. */
static int walk(const struct ipop_topo *t, const struct ipop_ring_id *ids,
		size_t s, size_t d, struct ipop_ring_id *scratch)
{
	size_t cur = s, cnt, k;
	int hops = 0;

	while (cur != d) {
		const struct ipop_topo_adj *a = ipop_topo_adj(t, cur, &cnt);
		int pick;

		for (k = 0; k < cnt; k++)
			scratch[k] = ids[a[k].peer];
		pick = ipop_ring_next_hop(&ids[cur], &ids[d], scratch, cnt);
		if (pick < 0)
			return -1;
		cur = a[pick].peer;
		if (++hops > (int)ipop_topo_members(t))
			return -1;
	}
	return hops;
}

static int by_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static void degrees(const struct ipop_topo *t, struct stats *st)
{
	size_t i, cnt, n = ipop_topo_members(t);
	double sum = 0;

	st->max_deg = 0;
	for (i = 0; i < n; i++) {
		ipop_topo_adj(t, i, &cnt);
		sum += (double)cnt;
		if (cnt > st->max_deg)
			st->max_deg = (unsigned)cnt;
	}
	st->mean_deg = n ? sum / (double)n : 0;
}

static void paths(const struct ipop_topo *t, const struct ipop_ring_id *ids,
		  struct stats *st, unsigned max_links)
{
	size_t n = ipop_topo_members(t), np = 0, i, j;
	bool all = n * (n - 1) <= PAIRS;
	int *hops = malloc(sizeof(int) * (all ? n * n : PAIRS));
	struct ipop_ring_id *scratch = malloc(sizeof(*scratch) * max_links);
	double sum = 0;

	if (!hops || !scratch) {
		fprintf(stderr, "gvpn-sim: out of memory\n");
		exit(1);
	}
	for (i = 0; all && i < n; i++)
		for (j = 0; j < n; j++)
			if (i != j)
				hops[np++] = walk(t, ids, i, j, scratch);
	for (; !all && np < PAIRS; np++) {
		i = rnd() % n;
		do
			j = rnd() % n;
		while (j == i);
		hops[np] = walk(t, ids, i, j, scratch);
	}
	st->unreachable = st->over_limit = 0;
	for (i = 0; i < np; i++) {
		st->unreachable += hops[i] < 0;
		st->over_limit += hops[i] > HOP_LIMIT;
		sum += hops[i] < 0 ? 0 : hops[i];
	}
	qsort(hops, np, sizeof(*hops), by_int);
	st->mean_hops = sum / (double)np;
	st->p99_hops = hops[(np * 99) / 100];
	st->max_hops = (unsigned)hops[np - 1];
	free(hops);
	free(scratch);
}

static int by_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Edges of t as sorted keys ((a * m + b) << 2 | kind), a < b, over member
 * indices mapped through map (index in t -> index in a set of m). */
static uint64_t *edge_keys(const struct ipop_topo *t, const size_t *map,
			   size_t m, size_t *ne)
{
	size_t n = ipop_topo_members(t), i, k, cnt;
	uint64_t *keys = malloc(sizeof(*keys) * (ipop_topo_edges(t) + 1));

	if (!keys) {
		fprintf(stderr, "gvpn-sim: out of memory\n");
		exit(1);
	}
	*ne = 0;
	for (i = 0; i < n; i++) {
		const struct ipop_topo_adj *a = ipop_topo_adj(t, i, &cnt);
		for (k = 0; k < cnt; k++) {
			uint64_t x = map[i], y = map[a[k].peer];
			if (x < y)
				keys[(*ne)++] = (x * m + y) << 2 | a[k].kind;
		}
	}
	qsort(keys, *ne, sizeof(*keys), by_u64);
	return keys;
}

/* Links made or removed, plus links whose kind changed, between the graph
 * of the big set (m members) and that of the small set (mapped into it). */
static unsigned changed(const struct ipop_topo *big,
			const struct ipop_topo *small, const size_t *map)
{
	size_t m = ipop_topo_members(big), nb, ns, i = 0, j = 0;
	size_t *ident = malloc(sizeof(*ident) * m);
	uint64_t *kb, *ks;
	unsigned diff = 0;

	if (!ident) {
		fprintf(stderr, "gvpn-sim: out of memory\n");
		exit(1);
	}
	for (i = 0; i < m; i++)
		ident[i] = i;
	kb = edge_keys(big, ident, m, &nb);
	ks = edge_keys(small, map, m, &ns);
	i = 0;
	while (i < nb || j < ns) {
		if (j == ns || (i < nb && kb[i] >> 2 < ks[j] >> 2)) {
			diff++, i++;
		} else if (i == nb || ks[j] >> 2 < kb[i] >> 2) {
			diff++, j++;
		} else {
			diff += kb[i] != ks[j];
			i++, j++;
		}
	}
	free(ident);
	free(kb);
	free(ks);
	return diff;
}

static struct ipop_topo *build(const struct ipop_ring_id *ids, size_t n,
			       const struct ipop_topo_params *p)
{
	struct ipop_topo *t = ipop_topo_build(ids, n, p);

	if (!t) {
		fprintf(stderr, "gvpn-sim: cannot build %zu members\n", n);
		exit(1);
	}
	return t;
}

/* One member joins (a new random uid) or leaves (a random member): the
 * edges that differ between the two graphs. */
static unsigned churn(const struct ipop_ring_id *ids, size_t n,
		      const struct ipop_topo *t,
		      const struct ipop_topo_params *p, bool join)
{
	size_t m = join ? n + 1 : n - 1, pos, i;
	struct ipop_ring_id *ids2 = malloc(sizeof(*ids2) * (m + 1));
	size_t *map = malloc(sizeof(*map) * (n + 1));
	struct ipop_ring_id x;
	struct ipop_topo *t2;
	unsigned diff;

	if (!ids2 || !map) {
		fprintf(stderr, "gvpn-sim: out of memory\n");
		exit(1);
	}
	if (join) {
		do
			random_id(&x);
		while (ipop_topo_find(ids, n, &x) >= 0);
		for (pos = 0; pos < n && ipop_ring_cmp(&ids[pos], &x) < 0;
		     pos++)
			;
		memcpy(ids2, ids, pos * sizeof(*ids));
		ids2[pos] = x;
		memcpy(ids2 + pos + 1, ids + pos, (n - pos) * sizeof(*ids));
		for (i = 0; i < n; i++)
			map[i] = i < pos ? i : i + 1;
		t2 = build(ids2, m, p);
		diff = changed(t2, t, map);
	} else {
		pos = rnd() % n;
		memcpy(ids2, ids, pos * sizeof(*ids));
		memcpy(ids2 + pos, ids + pos + 1, (n - pos - 1) * sizeof(*ids));
		for (i = 0; i < m; i++)
			map[i] = i < pos ? i : i + 1;
		t2 = build(ids2, m, p);
		diff = changed(t, t2, map);
	}
	ipop_topo_free(t2);
	free(ids2);
	free(map);
	return diff;
}

static void measure(size_t n, const struct ipop_topo_params *p,
		    struct stats *st)
{
	struct ipop_ring_id *ids = malloc(sizeof(*ids) * n);
	struct ipop_topo *t;
	unsigned k, d;

	if (!ids) {
		fprintf(stderr, "gvpn-sim: out of memory\n");
		exit(1);
	}
	n = make_ids(ids, n);
	t = build(ids, n, p);
	degrees(t, st);
	paths(t, ids, st, p->max_links);
	st->join_changed = st->leave_changed = 0;
	st->join_max = st->leave_max = 0;
	for (k = 0; k < CHURN_TRIALS; k++) {
		d = churn(ids, n, t, p, true);
		st->join_changed += d;
		st->join_max = d > st->join_max ? d : st->join_max;
		d = churn(ids, n, t, p, false);
		st->leave_changed += d;
		st->leave_max = d > st->leave_max ? d : st->leave_max;
	}
	st->join_changed /= CHURN_TRIALS;
	st->leave_changed /= CHURN_TRIALS;
	ipop_topo_free(t);
	free(ids);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gvpn-sim [-s successors] [-c chords] [-m max_links] "
		"[-r seed] [N...]\n"
		"Builds the GroupVPN topology over N random members (default "
		"10 100 1000 10000 100000)\nand prints links per member, "
		"greedy path lengths and link changes per join/leave.\n");
}

static unsigned number(const char *s, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > 10000000) {
		fprintf(stderr, "gvpn-sim: bad %s '%s'\n", what, s);
		exit(2);
	}
	return (unsigned)v;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = {10, 100, 1000, 10000, 100000};
	struct ipop_topo_params p = {IPOP_TOPO_DEFAULT_SUCCESSORS,
				     IPOP_TOPO_DEFAULT_CHORDS,
				     IPOP_TOPO_DEFAULT_MAX_LINKS};
	const char *why;
	struct stats st;
	int opt, i, nsizes;
	uint64_t seed = 1;

	while ((opt = getopt(argc, argv, "s:c:m:r:h")) != -1) {
		switch (opt) {
		case 's':
			p.successors = number(optarg, "successors");
			break;
		case 'c':
			p.chords = number(optarg, "chords");
			break;
		case 'm':
			p.max_links = number(optarg, "max_links");
			break;
		case 'r':
			seed = number(optarg, "seed");
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (ipop_topo_params_check(&p, &why) < 0) {
		fprintf(stderr, "gvpn-sim: %s\n", why);
		return 2;
	}
	nsizes = argc > optind ? argc - optind
			       : (int)(sizeof(sizes) / sizeof(*sizes));
	printf("successors %u, chords %u, max_links %u, seed %llu; %d sampled "
	       "pairs, %d joins and leaves each\n",
	       p.successors, p.chords, p.max_links, (unsigned long long)seed,
	       PAIRS, CHURN_TRIALS);
	printf("%8s %9s %9s %9s %8s %8s %8s %12s %12s\n", "members",
	       "links.max", "links.avg", "hops.avg", "hops.p99", "hops.max",
	       ">32/unr", "join.chg(mx)", "leave.chg(mx)");
	for (i = 0; i < nsizes; i++) {
		size_t n =
		    argc > optind ? number(argv[optind + i], "N") : sizes[i];
		clock_t c0 = clock();
		char j[32], l[32];

		if (n < 2) {
			fprintf(stderr, "gvpn-sim: N must be at least 2\n");
			return 2;
		}
		rng_state = seed + n;
		measure(n, &p, &st);
		snprintf(j, sizeof(j), "%.1f(%u)", st.join_changed,
			 st.join_max);
		snprintf(l, sizeof(l), "%.1f(%u)", st.leave_changed,
			 st.leave_max);
		printf("%8zu %9u %9.2f %9.2f %8.0f %8u %4u/%-3u %12s %12s  "
		       "(%.1f s)\n",
		       n, st.max_deg, st.mean_deg, st.mean_hops, st.p99_hops,
		       st.max_hops, st.over_limit, st.unreachable, j, l,
		       (double)(clock() - c0) / CLOCKS_PER_SEC);
	}
	return 0;
}
