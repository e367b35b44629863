/*
 * Tests of common/topology.c over random member sets: the degree bound
 * holds, edges are symmetric, the graph is connected, the greedy rule of
 * common/ring.c reaches every member from every member in O(log n) hops,
 * one join or leave changes few edges, the same set always gives the same
 * graph, and bad parameters or unsorted sets are refused.
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "common/topology.h"

/* Sizes and parameters the table-driven tests run over. */
static const struct {
	size_t n;
	struct ipop_topo_params p;
} cases[] = {
    {1, {1, 0, 2}},	{2, {1, 0, 2}},	    {3, {2, 4, 4}},
    {16, {1, 2, 4}},	{16, {2, 12, 24}},  {100, {1, 3, 5}},
    {300, {2, 12, 24}}, {1000, {2, 8, 16}}, {2000, {2, 12, 24}},
};

static int by_id(const void *a, const void *b)
{
	return ipop_ring_cmp(a, b);
}

/* ceil(log2(n)) for n >= 1. */
static unsigned log2_up(size_t n)
{
	unsigned l = 0;

	while (((size_t)1 << l) < n)
		l++;
	return l;
}

static struct ipop_ring_id *random_ids(GRand *r, size_t n)
{
	struct ipop_ring_id *ids = g_new(struct ipop_ring_id, n ? n : 1);
	size_t i, k;

	for (i = 0; i < n; i++)
		for (k = 0; k < IPOP_RING_ID_LEN; k++)
			ids[i].b[k] = (uint8_t)g_rand_int_range(r, 0, 256);
	qsort(ids, n, sizeof(*ids), by_id);
	return ids;
}

static struct ipop_topo *build_case(int c, struct ipop_ring_id **ids)
{
	GRand *r = g_rand_new_with_seed(1000 + (guint32)c);
	struct ipop_topo *t;

	*ids = random_ids(r, cases[c].n);
	t = ipop_topo_build(*ids, cases[c].n, &cases[c].p);
	ck_assert_ptr_nonnull(t);
	g_rand_free(r);
	return t;
}

START_TEST(test_degree_bound_and_symmetry)
{
	struct ipop_ring_id *ids;
	struct ipop_topo *t = build_case(_i, &ids);
	size_t i, k, cnt, n = cases[_i].n, sum = 0;

	for (i = 0; i < n; i++) {
		const struct ipop_topo_adj *a = ipop_topo_adj(t, i, &cnt);
		ck_assert_uint_le(cnt, cases[_i].p.max_links);
		for (k = 0; k < cnt; k++) {
			ck_assert_uint_ne(a[k].peer, i);
			ck_assert_int_eq(ipop_topo_kind(t, a[k].peer, i),
					 a[k].kind);
			if (k)
				ck_assert_uint_lt(a[k - 1].peer, a[k].peer);
		}
		sum += cnt;
		/* The ring is always there. */
		if (n > 1)
			ck_assert_int_eq(ipop_topo_kind(t, i, (i + 1) % n),
					 IPOP_TOPO_SUCCESSOR);
	}
	ck_assert_uint_eq(sum, 2 * ipop_topo_edges(t));
	ipop_topo_free(t);
	g_free(ids);
}
END_TEST

START_TEST(test_connected)
{
	struct ipop_ring_id *ids;
	struct ipop_topo *t = build_case(_i, &ids);
	size_t n = cases[_i].n, head = 0, tail = 0, k, cnt;
	size_t *queue = g_new(size_t, n);
	bool *seen = g_new0(bool, n);

	queue[tail++] = 0;
	seen[0] = true;
	while (head < tail) {
		const struct ipop_topo_adj *a =
		    ipop_topo_adj(t, queue[head++], &cnt);
		for (k = 0; k < cnt; k++)
			if (!seen[a[k].peer]) {
				seen[a[k].peer] = true;
				queue[tail++] = a[k].peer;
			}
	}
	ck_assert_uint_eq(tail, n);
	g_free(queue);
	g_free(seen);
	ipop_topo_free(t);
	g_free(ids);
}
END_TEST

/* Greedy hops from s to d as tincan would forward, failing on no progress
 * or on a member visited twice. */
static unsigned walk(const struct ipop_topo *t, const struct ipop_ring_id *ids,
		     size_t s, size_t d)
{
	struct ipop_ring_id hops[IPOP_TOPO_MAX_LINKS];
	size_t n = ipop_topo_members(t), cur = s, k, cnt;
	bool *seen = g_new0(bool, n);
	unsigned h = 0;

	while (cur != d) {
		const struct ipop_topo_adj *a = ipop_topo_adj(t, cur, &cnt);
		int pick;

		ck_assert(!seen[cur]);
		seen[cur] = true;
		for (k = 0; k < cnt; k++)
			hops[k] = ids[a[k].peer];
		pick = ipop_ring_next_hop(&ids[cur], &ids[d], hops, cnt);
		ck_assert_int_ge(pick, 0);
		cur = a[pick].peer;
		h++;
	}
	g_free(seen);
	return h;
}

START_TEST(test_greedy_reaches_everyone)
{
	struct ipop_ring_id *ids;
	struct ipop_topo *t = build_case(_i, &ids);
	size_t n = cases[_i].n, s, d;
	GRand *r = g_rand_new_with_seed(7);
	double sum = 0;
	unsigned h, max = 0, pairs = 0;

	for (s = 0; s < n; s++)
		for (d = 0; d < n; d++) {
			/* All pairs of small sets, a sample of large ones. */
			if (s == d ||
			    (n > 100 && g_rand_int_range(r, 0, n) > 2))
				continue;
			h = walk(t, ids, s, d);
			sum += h;
			max = h > max ? h : max;
			pairs++;
		}
	/* With Chord's fingers (at least log2 n chords) the paths are
	 * logarithmic; the cases with fewer chords only need to arrive. */
	if (n > 2 && cases[_i].p.chords >= log2_up(n)) {
		ck_assert_double_le(sum / pairs, log2_up(n));
		ck_assert_uint_le(max, 2 * log2_up(n));
	}
	g_rand_free(r);
	ipop_topo_free(t);
	g_free(ids);
}
END_TEST

/* Edges present in exactly one of a (m members) and b (mapped into a's
 * indices by map), counting a kind change as one. */
static unsigned diff(const struct ipop_topo *a, const struct ipop_topo *b,
		     const size_t *map)
{
	size_t nb = ipop_topo_members(b), i, k, cnt;
	unsigned d = 0, common = 0;

	for (i = 0; i < nb; i++) {
		const struct ipop_topo_adj *e = ipop_topo_adj(b, i, &cnt);
		for (k = 0; k < cnt; k++) {
			enum ipop_topo_kind ka =
			    ipop_topo_kind(a, map[i], map[e[k].peer]);
			if (i > e[k].peer)
				continue;
			if (ka == IPOP_TOPO_NONE)
				d++;
			else
				common++, d += ka != e[k].kind;
		}
	}
	return d + (unsigned)(ipop_topo_edges(a) - common);
}

START_TEST(test_few_changes_on_join_and_leave)
{
	const struct ipop_topo_params p = {2, 12, 24};
	GRand *r = g_rand_new_with_seed(99);
	size_t n = 500, i, pos, trial;
	struct ipop_ring_id *ids = random_ids(r, n + 1);
	struct ipop_topo *big = ipop_topo_build(ids, n + 1, &p), *small;
	struct ipop_ring_id *less = g_new(struct ipop_ring_id, n);
	size_t *map = g_new(size_t, n);
	unsigned d, total = 0;

	ck_assert_ptr_nonnull(big);
	/* Member pos leaving the n + 1 set is the same as it joining the
	 * n others: one diff measures both directions. */
	for (trial = 0; trial < 10; trial++) {
		pos = (size_t)g_rand_int_range(r, 0, (gint32)n + 1);
		for (i = 0; i < n; i++) {
			map[i] = i < pos ? i : i + 1;
			less[i] = ids[map[i]];
		}
		small = ipop_topo_build(less, n, &p);
		d = diff(big, small, map);
		/* The leaver's own links (at most max_links) and about as
		 * many again around it; against ~4,700 edges. */
		ck_assert_uint_le(d, 3 * p.max_links);
		total += d;
		ipop_topo_free(small);
	}
	ck_assert_uint_le(total / 10, 2 * p.max_links);
	g_rand_free(r);
	ipop_topo_free(big);
	g_free(ids);
	g_free(less);
	g_free(map);
}
END_TEST

START_TEST(test_deterministic)
{
	struct ipop_ring_id *ids;
	struct ipop_topo *t = build_case(_i, &ids);
	struct ipop_topo *u = ipop_topo_build(ids, cases[_i].n, &cases[_i].p);
	size_t i, c1, c2, n = cases[_i].n;

	ck_assert_ptr_nonnull(u);
	ck_assert_uint_eq(ipop_topo_edges(t), ipop_topo_edges(u));
	for (i = 0; i < n; i++) {
		const struct ipop_topo_adj *a = ipop_topo_adj(t, i, &c1);
		const struct ipop_topo_adj *b = ipop_topo_adj(u, i, &c2);
		ck_assert_uint_eq(c1, c2);
		ck_assert(!memcmp(a, b, c1 * sizeof(*a)));
	}
	ipop_topo_free(t);
	ipop_topo_free(u);
	g_free(ids);
}
END_TEST

START_TEST(test_refuses_bad_input)
{
	static const struct {
		struct ipop_topo_params p;
		int ok;
	} params[] = {
	    {{0, 3, 8}, 0},	{{17, 3, 40}, 0}, {{2, 33, 8}, 0},
	    {{2, 3, 257}, 0},	{{2, 3, 3}, 0},	  {{1, 0, 2}, 1},
	    {{16, 32, 256}, 1}, {{2, 12, 24}, 1},
	};
	struct ipop_ring_id ids[3];
	const struct ipop_topo_params ok = {1, 1, 2};
	struct ipop_topo *t;
	const char *why = NULL;
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(params); i++) {
		why = NULL;
		ck_assert_int_eq(ipop_topo_params_check(&params[i].p, &why),
				 params[i].ok ? 0 : -EINVAL);
		ck_assert(params[i].ok || why != NULL);
	}
	memset(ids, 0, sizeof(ids));
	ids[0].b[19] = 1;
	ids[1].b[19] = 1; /* duplicate */
	ids[2].b[19] = 3;
	ck_assert_ptr_null(ipop_topo_build(ids, 3, &ok));
	ids[1].b[19] = 4; /* unsorted */
	ck_assert_ptr_null(ipop_topo_build(ids, 3, &ok));
	ids[1].b[19] = 2;
	ck_assert_ptr_null(ipop_topo_build(ids, 3, &params[0].p));
	t = ipop_topo_build(ids, 0, &ok); /* nobody: an empty graph */
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(ipop_topo_edges(t), 0);
	ipop_topo_free(t);
}
END_TEST

START_TEST(test_chord_levels_and_find)
{
	unsigned lv[IPOP_TOPO_MAX_CHORDS], k, nl;
	struct ipop_ring_id ids[4];
	size_t i;

	ck_assert_uint_eq(ipop_topo_chord_levels(1, 12, lv), 0);
	nl = ipop_topo_chord_levels(16, 12, lv); /* all 4 of Chord's */
	ck_assert_uint_eq(nl, 4);
	for (k = 0; k < nl; k++)
		ck_assert_uint_eq(lv[k], k + 1);
	nl = ipop_topo_chord_levels(100000, 4, lv); /* 16 spread over 4 */
	ck_assert_uint_eq(nl, 4);
	ck_assert_uint_eq(lv[0], 1);
	ck_assert_uint_eq(lv[1], 5);
	ck_assert_uint_eq(lv[3], 13);
	memset(ids, 0, sizeof(ids));
	for (i = 0; i < 4; i++)
		ids[i].b[0] = (uint8_t)(i * 0x40);
	ck_assert_int_eq(ipop_topo_find(ids, 4, &ids[2]), 2);
	ids[3].b[19] = 1;
	ck_assert_int_eq(ipop_topo_find(ids, 3, &ids[3]), -1);
}
END_TEST

/* Four members evenly spaced, one chord level (half the ring): the
 * successor ring plus the two diagonals. */
START_TEST(test_small_exact)
{
	const struct ipop_topo_params p = {1, 1, 3};
	struct ipop_ring_id ids[4];
	struct ipop_topo *t;
	size_t i;

	memset(ids, 0, sizeof(ids));
	for (i = 0; i < 4; i++)
		ids[i].b[0] = (uint8_t)(i * 0x40);
	t = ipop_topo_build(ids, 4, &p);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(ipop_topo_edges(t), 6);
	ck_assert_int_eq(ipop_topo_kind(t, 0, 1), IPOP_TOPO_SUCCESSOR);
	ck_assert_int_eq(ipop_topo_kind(t, 3, 0), IPOP_TOPO_SUCCESSOR);
	ck_assert_int_eq(ipop_topo_kind(t, 0, 2), IPOP_TOPO_CHORD);
	ck_assert_int_eq(ipop_topo_kind(t, 1, 3), IPOP_TOPO_CHORD);
	ck_assert_int_eq(ipop_topo_kind(t, 0, 9), IPOP_TOPO_NONE);
	ipop_topo_free(t);
	/* A bound of 2 leaves room for the ring only. */
	t = ipop_topo_build(ids, 4, &(struct ipop_topo_params){1, 1, 2});
	ck_assert_uint_eq(ipop_topo_edges(t), 4);
	ipop_topo_free(t);
}
END_TEST

extern Suite *suite_topology(void);

Suite *suite_topology(void)
{
	Suite *s = suite_create("topology");
	TCase *tc = tcase_create("topology");
	int nc = (int)G_N_ELEMENTS(cases);

	tcase_set_timeout(tc, 20);
	tcase_add_loop_test(tc, test_degree_bound_and_symmetry, 0, nc);
	tcase_add_loop_test(tc, test_connected, 0, nc);
	tcase_add_loop_test(tc, test_greedy_reaches_everyone, 0, nc);
	tcase_add_loop_test(tc, test_deterministic, 0, nc);
	tcase_add_test(tc, test_few_changes_on_join_and_leave);
	tcase_add_test(tc, test_refuses_bad_input);
	tcase_add_test(tc, test_chord_levels_and_find);
	tcase_add_test(tc, test_small_exact);
	suite_add_tcase(s, tc);
	return s;
}
