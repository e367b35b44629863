/*
 * GroupVPN forwarding state of one overlay (PROTOCOL.md §14): the links
 * that are connected now (the candidate next hops), the routes the
 * controller installed, and per destination the forwarded-frame counters,
 * the traffic rate behind route_traffic events and the frames held while
 * a destination moves from the overlay path onto its own direct link.
 * Also the TC_INNER_FORWARD header codec.  No I/O and no links: the
 * overlay asks where a frame goes and sends it itself.  The hold queue is
 * the only place of the packet path that allocates per frame, and only
 * for the few milliseconds of a move.
 */
#ifndef TC_ROUTE_H
#define TC_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "common/limits.h"
#include "common/ring.h"
#include "tincan/offload.h"

enum {
	TC_ROUTE_HOP_LIMIT = 32,
	/* [hops u8][flags u8][src uid 20][dst uid 20] */
	TC_ROUTE_HDR_LEN = 2 + 2 * IPOP_RING_ID_LEN,
	/* flags bit 0: the frame's checksum is partial and [csum start
	 * u16][csum offset u16] (big endian) follow the header. */
	TC_ROUTE_F_PARTIAL = 0x01,
	TC_ROUTE_PARTIAL_LEN = 4,
	/* What forwarding costs the inner MTU: a forwarded frame is at most
	 * this much smaller than a direct one, so both fit the same UDP
	 * datagram size. */
	TC_ROUTE_OVERHEAD = TC_ROUTE_HDR_LEN + TC_ROUTE_PARTIAL_LEN,
	/* The move onto a direct link (§14.3). */
	TC_ROUTE_HOLD_FRAMES = 512,
	TC_ROUTE_HOLD_BYTES = 1 << 20,
	TC_ROUTE_HOLD_MIN_MS = 2,
	TC_ROUTE_HOLD_MAX_MS = 200,
	/* route_traffic: a rate over 1 s, an event at most every 2 s. */
	TC_ROUTE_RATE_WINDOW_MS = 1000,
	TC_ROUTE_EVENT_EVERY_MS = 2000,
	/* A connected link that heard nothing (its probe replies included)
	 * for this long is a next hop of last resort: its peer may be dead
	 * before the link says so (TC_LINK_DEAD_MS). */
	TC_ROUTE_STALE_MS = 1500,
};

/* The header of a forwarded frame; cs.start == 0: complete checksums. */
struct tc_route_hdr {
	uint8_t hops;
	uint8_t flags;
	struct ipop_ring_id src, dst;
	struct tc_csum cs;
};

/* Writes h (TC_ROUTE_F_PARTIAL and its fields when h->cs.start is set; the
 * other flags bits are written as 0) into out: its length, or -ENOSPC. */
int tc_route_hdr_encode(const struct tc_route_hdr *h, uint8_t *out, size_t cap);
/* untrusted: from peer.  Parses the body of a TC_INNER_FORWARD message
 * (len bytes after the type byte): the header's length (the Ethernet
 * frame follows), or -EPROTO for a body shorter than its header, unknown
 * flags, src equal to dst, or a partial checksum outside the frame. */
int tc_route_hdr_decode(const uint8_t *body, size_t len,
			struct tc_route_hdr *h);

/* Per destination (a mapped member); the overlay reads the counters. */
struct tc_route_dest {
	char uid[IPOP_UID_SIZE];
	struct ipop_ring_id id;
	char via[IPOP_UID_SIZE]; /* installed route, "" for none */
	/* Frames to and from it over other members (counted at the ends). */
	uint64_t tx_packets, tx_bytes, rx_packets, rx_bytes;
	/* route_traffic: bytes in the window since win_start_ms. */
	uint64_t win_start_ms, win_bytes, last_event_ms, last_rate;
	/* The move onto a direct link: until hold_until_ms frames wait. */
	uint64_t hold_until_ms;
	GQueue held; /* struct tc_route_held * */
	size_t held_bytes;
};

struct tc_route_held {
	struct tc_csum cs;
	size_t len;
	uint8_t frame[]; /* len bytes */
};

struct tc_route;

/* self: this node's uid (copied). */
struct tc_route *tc_route_new(const char *self);
/* Frees every destination and held frame; NULL is a no-op. */
void tc_route_free(struct tc_route *r);

/* This node's point on the ring (borrowed). */
const struct ipop_ring_id *tc_route_self(const struct tc_route *r);
/* The uid (lowercase hex) of a ring point. */
void tc_route_id_hex(const struct ipop_ring_id *id, char out[IPOP_UID_SIZE]);

/* The entry of uid (borrowed until tc_route_forget or free); create: add
 * one if there is none.  NULL for a malformed uid or none without
 * create. */
struct tc_route_dest *tc_route_dest(struct tc_route *r, const char *uid,
				    bool create);
/* Drops uid's counters and held frames (the member was unmapped); an
 * installed route to it stays.  No-op without an entry. */
void tc_route_forget(struct tc_route *r, const char *uid);
/* Calls fn for every entry (the table must not change meanwhile). */
void tc_route_foreach(struct tc_route *r,
		      void (*fn)(struct tc_route_dest *d, void *ctx),
		      void *ctx);

/* SetRoute: 0, -EINVAL (malformed uid, via equal to dest or self), -ENOENT
 * (remove without a route). */
int tc_route_set(struct tc_route *r, const char *dest, const char *via);
int tc_route_unset(struct tc_route *r, const char *dest);

/* The connected links, the candidate next hops (uids copied): the first
 * n_fresh of them heard from lately, the rest stale (TC_ROUTE_STALE_MS),
 * used only when no fresh link makes progress. */
void tc_route_set_neighbours(struct tc_route *r, const char *const *uids,
			     size_t n, size_t n_fresh);
bool tc_route_is_neighbour(const struct tc_route *r, const char *uid);
/* Where a frame for d goes: its installed route when that link is
 * connected and fresh (*installed true), else the greedy ring rule over
 * the fresh links, else the installed route or the greedy rule over the
 * stale ones too; NULL when no link is nearer.  Borrowed. */
const char *tc_route_next_hop(const struct tc_route *r,
			      const struct tc_route_dest *d, bool *installed);
/* The same for a destination given only by ring id (transit frames). */
const char *tc_route_next_hop_id(const struct tc_route *r,
				 const struct ipop_ring_id *dest);

/* Counts a frame of len bytes sent to (tx) or received from d over other
 * members at now_ms; a transmission also starts the hold that a move
 * onto a direct link must keep: hold_ms (the forwarded path's RTT, kept
 * within TC_ROUTE_HOLD_MIN_MS..MAX_MS) from now. */
void tc_route_count_tx(struct tc_route_dest *d, size_t len, uint64_t now_ms,
		       uint32_t hold_ms);
void tc_route_count_rx(struct tc_route_dest *d, size_t len, uint64_t now_ms);
/* route_traffic: closes d's rate window when it is TC_ROUTE_RATE_WINDOW_MS
 * old and returns true when an event is due (rate over threshold, none in
 * the last TC_ROUTE_EVENT_EVERY_MS), with the rate in *rate. */
bool tc_route_rate_due(struct tc_route_dest *d, uint64_t now_ms,
		       uint64_t threshold, uint64_t *rate);

/* Whether a frame for d sent on its direct link must wait now: its last
 * forwarded frame may still be on the way, or frames wait already. */
bool tc_route_must_hold(const struct tc_route_dest *d, uint64_t now_ms);
/* Queues a copy of the frame: 0, or -ENOBUFS when the queue is full (the
 * caller then drains it and sends this frame after). */
int tc_route_hold_push(struct tc_route_dest *d, const uint8_t *frame,
		       size_t len, const struct tc_csum *cs);
/* Hands the held frames to fn in order and empties the queue. */
void tc_route_hold_drain(struct tc_route_dest *d,
			 void (*fn)(void *ctx, const uint8_t *frame, size_t len,
				    const struct tc_csum *cs),
			 void *ctx);

#endif
