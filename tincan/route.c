/*
 * The forwarding state of route.h: a table of destinations keyed by uid,
 * the connected links as ring points, and the forward header codec.
 */
#include <errno.h>
#include <string.h>

#include "common/uid.h"
#include "tincan/bytes.h"
#include "tincan/route.h"

struct tc_route {
	struct ipop_ring_id self;
	char self_uid[IPOP_UID_SIZE];
	GHashTable *dests; /* uid -> struct tc_route_dest * */
	/* The connected links: uids and their ring points, in step. */
	char (*nb_uid)[IPOP_UID_SIZE];
	struct ipop_ring_id *nb_id;
	size_t n_nb, n_fresh; /* the first n_fresh are fresh */
};

enum {
	OFF_HOPS = 0,
	OFF_FLAGS = 1,
	OFF_SRC = 2,
	OFF_DST = OFF_SRC + IPOP_RING_ID_LEN,
	OFF_CSUM = TC_ROUTE_HDR_LEN,
};

int tc_route_hdr_encode(const struct tc_route_hdr *h, uint8_t *out, size_t cap)
{
	bool partial = h->cs.start != 0;
	size_t need = TC_ROUTE_HDR_LEN + (partial ? TC_ROUTE_PARTIAL_LEN : 0);

	if (cap < need)
		return -ENOSPC;
	out[OFF_HOPS] = h->hops;
	out[OFF_FLAGS] = partial ? TC_ROUTE_F_PARTIAL : 0;
	memcpy(out + OFF_SRC, h->src.b, IPOP_RING_ID_LEN);
	memcpy(out + OFF_DST, h->dst.b, IPOP_RING_ID_LEN);
	if (partial) {
		tc_put16(out + OFF_CSUM, h->cs.start);
		tc_put16(out + OFF_CSUM + 2, h->cs.offset);
	}
	return (int)need;
}

/* untrusted: from peer. */
int tc_route_hdr_decode(const uint8_t *body, size_t len, struct tc_route_hdr *h)
{
	size_t need = TC_ROUTE_HDR_LEN;

	if (len < TC_ROUTE_HDR_LEN)
		return -EPROTO;
	h->hops = body[OFF_HOPS];
	h->flags = body[OFF_FLAGS];
	if (h->flags & ~TC_ROUTE_F_PARTIAL)
		return -EPROTO;
	memcpy(h->src.b, body + OFF_SRC, IPOP_RING_ID_LEN);
	memcpy(h->dst.b, body + OFF_DST, IPOP_RING_ID_LEN);
	if (ipop_ring_cmp(&h->src, &h->dst) == 0)
		return -EPROTO;
	h->cs.start = 0;
	h->cs.offset = 0;
	if (h->flags & TC_ROUTE_F_PARTIAL) {
		need += TC_ROUTE_PARTIAL_LEN;
		if (len < need)
			return -EPROTO;
		h->cs.start = tc_get16(body + OFF_CSUM);
		h->cs.offset = tc_get16(body + OFF_CSUM + 2);
		if (!tc_csum_valid(&h->cs, len - need))
			return -EPROTO;
	}
	return (int)need;
}

static void held_free(gpointer p)
{
	g_free(p);
}

static void dest_free(gpointer p)
{
	struct tc_route_dest *d = p;

	g_queue_clear_full(&d->held, held_free);
	g_free(d);
}

struct tc_route *tc_route_new(const char *self)
{
	struct tc_route *r = g_new0(struct tc_route, 1);

	g_strlcpy(r->self_uid, self, sizeof(r->self_uid));
	if (ipop_ring_id_parse(self, &r->self) < 0)
		memset(&r->self, 0, sizeof(r->self));
	r->dests =
	    g_hash_table_new_full(ipop_uid_hash, g_str_equal, NULL, dest_free);
	return r;
}

void tc_route_free(struct tc_route *r)
{
	if (!r)
		return;
	g_hash_table_destroy(r->dests);
	g_free(r->nb_uid);
	g_free(r->nb_id);
	g_free(r);
}

const struct ipop_ring_id *tc_route_self(const struct tc_route *r)
{
	return &r->self;
}

void tc_route_id_hex(const struct ipop_ring_id *id, char out[IPOP_UID_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < IPOP_RING_ID_LEN; i++) {
		out[2 * i] = hex[id->b[i] >> 4];
		out[2 * i + 1] = hex[id->b[i] & 0xf];
	}
	out[2 * IPOP_RING_ID_LEN] = '\0';
}

struct tc_route_dest *tc_route_dest(struct tc_route *r, const char *uid,
				    bool create)
{
	struct tc_route_dest *d;

	if (!uid)
		return NULL;
	d = g_hash_table_lookup(r->dests, uid);
	if (d || !create || !ipop_uid_is_valid(uid))
		return d;
	d = g_new0(struct tc_route_dest, 1);
	g_strlcpy(d->uid, uid, sizeof(d->uid));
	ipop_ring_id_parse(uid, &d->id);
	g_queue_init(&d->held);
	g_hash_table_insert(r->dests, d->uid, d);
	return d;
}

void tc_route_forget(struct tc_route *r, const char *uid)
{
	struct tc_route_dest *d = tc_route_dest(r, uid, false);
	char via[IPOP_UID_SIZE];

	if (!d)
		return;
	g_strlcpy(via, d->via, sizeof(via));
	g_hash_table_remove(r->dests, uid);
	if (via[0])
		g_strlcpy(tc_route_dest(r, uid, true)->via, via, sizeof(via));
}

void tc_route_foreach(struct tc_route *r,
		      void (*fn)(struct tc_route_dest *d, void *ctx), void *ctx)
{
	GHashTableIter it;
	gpointer d;

	g_hash_table_iter_init(&it, r->dests);
	while (g_hash_table_iter_next(&it, NULL, &d))
		fn(d, ctx);
}

int tc_route_set(struct tc_route *r, const char *dest, const char *via)
{
	struct tc_route_dest *d;

	if (!dest || !via || !ipop_uid_is_valid(dest) ||
	    !ipop_uid_is_valid(via) || !strcmp(dest, via) ||
	    !strcmp(via, r->self_uid) || !strcmp(dest, r->self_uid))
		return -EINVAL;
	d = tc_route_dest(r, dest, true);
	g_strlcpy(d->via, via, sizeof(d->via));
	return 0;
}

int tc_route_unset(struct tc_route *r, const char *dest)
{
	struct tc_route_dest *d = tc_route_dest(r, dest, false);

	if (!d || !d->via[0])
		return -ENOENT;
	d->via[0] = '\0';
	return 0;
}

void tc_route_set_neighbours(struct tc_route *r, const char *const *uids,
			     size_t n, size_t n_fresh)
{
	size_t i, k = 0;

	g_free(r->nb_uid);
	g_free(r->nb_id);
	r->nb_uid = g_malloc0_n(n ? n : 1, IPOP_UID_SIZE);
	r->nb_id = g_new0(struct ipop_ring_id, n ? n : 1);
	for (i = 0; i < n; i++) {
		if (ipop_ring_id_parse(uids[i], &r->nb_id[k]) < 0)
			continue;
		g_strlcpy(r->nb_uid[k], uids[i], IPOP_UID_SIZE);
		k++;
		if (i < n_fresh)
			r->n_fresh = k;
	}
	if (n_fresh == 0)
		r->n_fresh = 0;
	r->n_nb = k;
}

/* Whether uid is among the first n neighbours. */
static bool among(const struct tc_route *r, const char *uid, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(r->nb_uid[i], uid))
			return true;
	return false;
}

bool tc_route_is_neighbour(const struct tc_route *r, const char *uid)
{
	return among(r, uid, r->n_nb);
}

static const char *greedy(const struct tc_route *r,
			  const struct ipop_ring_id *dest, size_t n)
{
	int i = ipop_ring_next_hop(&r->self, dest, r->nb_id, n);

	return i < 0 ? NULL : r->nb_uid[i];
}

const char *tc_route_next_hop_id(const struct tc_route *r,
				 const struct ipop_ring_id *dest)
{
	const char *via = greedy(r, dest, r->n_fresh);

	return via ? via : greedy(r, dest, r->n_nb);
}

const char *tc_route_next_hop(const struct tc_route *r,
			      const struct tc_route_dest *d, bool *installed)
{
	const char *via;

	*installed = d->via[0] && among(r, d->via, r->n_fresh);
	if (*installed)
		return d->via;
	via = greedy(r, &d->id, r->n_fresh);
	if (via)
		return via;
	*installed = d->via[0] && among(r, d->via, r->n_nb);
	return *installed ? d->via : greedy(r, &d->id, r->n_nb);
}

static void count_window(struct tc_route_dest *d, size_t len, uint64_t now_ms)
{
	if (d->win_start_ms == 0)
		d->win_start_ms = now_ms;
	d->win_bytes += len;
}

void tc_route_count_tx(struct tc_route_dest *d, size_t len, uint64_t now_ms,
		       uint32_t hold_ms)
{
	d->tx_packets++;
	d->tx_bytes += len;
	count_window(d, len, now_ms);
	hold_ms = CLAMP(hold_ms, TC_ROUTE_HOLD_MIN_MS, TC_ROUTE_HOLD_MAX_MS);
	d->hold_until_ms = now_ms + hold_ms;
}

void tc_route_count_rx(struct tc_route_dest *d, size_t len, uint64_t now_ms)
{
	d->rx_packets++;
	d->rx_bytes += len;
	count_window(d, len, now_ms);
}

bool tc_route_rate_due(struct tc_route_dest *d, uint64_t now_ms,
		       uint64_t threshold, uint64_t *rate)
{
	uint64_t age;

	if (d->win_start_ms == 0)
		return false;
	age = now_ms - d->win_start_ms;
	if (age < TC_ROUTE_RATE_WINDOW_MS)
		return false;
	d->last_rate = d->win_bytes * 1000 / age;
	d->win_start_ms = 0;
	d->win_bytes = 0;
	*rate = d->last_rate;
	if (threshold == 0 || d->last_rate <= threshold)
		return false;
	if (d->last_event_ms &&
	    now_ms - d->last_event_ms < TC_ROUTE_EVENT_EVERY_MS)
		return false;
	d->last_event_ms = now_ms;
	return true;
}

bool tc_route_must_hold(const struct tc_route_dest *d, uint64_t now_ms)
{
	return now_ms < d->hold_until_ms || d->held.length > 0;
}

int tc_route_hold_push(struct tc_route_dest *d, const uint8_t *frame,
		       size_t len, const struct tc_csum *cs)
{
	struct tc_route_held *h;

	if (d->held.length >= TC_ROUTE_HOLD_FRAMES ||
	    d->held_bytes + len > TC_ROUTE_HOLD_BYTES)
		return -ENOBUFS;
	h = g_malloc(sizeof(*h) + len);
	h->cs = cs ? *cs : (struct tc_csum){0, 0};
	h->len = len;
	memcpy(h->frame, frame, len);
	g_queue_push_tail(&d->held, h);
	d->held_bytes += len;
	return 0;
}

void tc_route_hold_drain(struct tc_route_dest *d,
			 void (*fn)(void *ctx, const uint8_t *frame, size_t len,
				    const struct tc_csum *cs),
			 void *ctx)
{
	struct tc_route_held *h;

	/* The wait is over: what follows goes straight on. */
	d->hold_until_ms = 0;
	while ((h = g_queue_pop_head(&d->held)) != NULL) {
		d->held_bytes -= h->len;
		fn(ctx, h->frame, h->len, &h->cs);
		g_free(h);
	}
}
