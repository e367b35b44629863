/*
 * TAP offloads, as pure functions over caller buffers.  The TAP is opened
 * with a virtio-net header in front of every frame and with checksum and
 * TCP segmentation offload, so the local kernel hands tincan TCP frames of
 * up to 64 KB (TSO) and TCP/UDP packets whose checksum is left partial
 * (only the pseudo-header sum is in the checksum field, as the kernel
 * leaves it for a NIC to finish).
 *
 * Send side: tc_gso_segment cuts a TSO frame into MSS-sized TCP segments
 * (the way a NIC would: IPv4 length, id and header checksum, IPv6 payload
 * length, TCP sequence and flags per segment) whose checksums stay partial;
 * the same cut one segment at a time (tc_gso_begin/next) lets a link build
 * each segment where it is sealed.
 * Partial frames cross the link as partial frames (tc_csum travels with
 * them), so no one computes a TCP checksum in userspace: the receiving
 * kernel either trusts it (local delivery, as for any offloaded packet) or
 * finishes it (forwarding).
 *
 * Receive side: struct tc_gro joins consecutive in-order segments of one
 * TCP flow into one large frame written with a GSO header (the way a NIC's
 * GRO would), so the receiving kernel's TCP stack sees one packet instead of
 * dozens.  Only partial TCP frames are joined: a frame whose checksum is
 * complete may come from a LAN behind a bridge and could be corrupt, which a
 * join would hide (its checksum is recomputed by the kernel).
 *
 * Everything here reads untrusted bytes (the local kernel, peers): every
 * offset is checked against the length first; a frame that cannot be
 * handled is refused, never half-written.
 */
#ifndef TC_OFFLOAD_H
#define TC_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/virtio_net.h>

/* Checksum state of a frame.  start == 0: the frame is complete (every
 * checksum in it is final).  Otherwise the 16-bit one's complement sum
 * from byte `start` to the end of the frame, folded into the field at
 * start + offset (which holds the pseudo-header sum, not complemented),
 * gives the checksum: VIRTIO_NET_HDR_F_NEEDS_CSUM's csum_start and
 * csum_offset. */
struct tc_csum {
	uint16_t start;
	uint16_t offset;
};

enum {
	TC_OFFLOAD_VNET_LEN = sizeof(struct virtio_net_hdr), /* 10 */
	TC_GSO_MAX = 65535 + 18 + 64, /* largest frame the TAP hands over */
	TC_GRO_FLOWS = 8,	      /* flows being joined at once */
	TC_GRO_MAX = 65000,	      /* largest joined frame, Ethernet incl. */
};

/* Checks a partial-checksum description against a frame of len bytes:
 * the Ethernet header precedes start and the 2-byte field fits. */
bool tc_csum_valid(const struct tc_csum *cs, size_t len);
/* The virtio header for writing a frame that is not a GSO frame: NEEDS_CSUM
 * with cs's start and offset when cs (may be NULL) is partial, else all
 * zero. */
void tc_csum_vnet_hdr(const struct tc_csum *cs, struct virtio_net_hdr *h);

/* Called once per segment with the segment in a scratch buffer (valid for
 * the call only) and its checksum state. */
typedef void (*tc_segment_fn)(void *ctx, const uint8_t *frame, size_t len,
			      const struct tc_csum *cs);

/* Cuts the TSO frame (len bytes after the virtio header h, native byte
 * order as tun uses) into segments of at most h->gso_size TCP payload
 * bytes each and hands them to emit in order.  Handles TCP over IPv4 (no
 * fragments; options allowed) and IPv6 (csum_start after any extension
 * headers), one 802.1Q tag.  The segments' checksums are partial (start =
 * TCP header, offset 16) with the pseudo-header sum for each segment's
 * length; FIN and PSH stay on the last segment only, CWR on the first
 * only; IPv4 ids count up from the frame's.  Returns the number of
 * segments, or -EINVAL (frame refused, nothing emitted) for a gso_type
 * other than TCPV4/TCPV6, a missing or inconsistent header, a gso_size of
 * 0 or a segment (headers + gso_size) over seg_max bytes. */
int tc_gso_segment(const struct virtio_net_hdr *h, const uint8_t *frame,
		   size_t len, size_t seg_max, tc_segment_fn emit, void *ctx);

/* The same cut, one segment at a time into buffers the caller chooses (a
 * link seals each segment where it is built, so the payload is copied
 * once).  The fields are the cutter's; frame is borrowed until the last
 * segment is out.  cs is every segment's checksum state. */
struct tc_gso_cut {
	const uint8_t *frame;
	struct tc_csum cs;
	size_t l3, l4, end; /* IP header, TCP header, end of the datagram */
	size_t hlen;	    /* headers repeated in every segment */
	size_t mss;	    /* payload per segment */
	size_t nseg, next;  /* segments in all, the next one's index */
	uint32_t asum;	    /* pseudo-header sum without the length */
	uint32_t seq0;
	uint16_t id0;
	uint8_t flags0;
	bool v6;
};

/* Checks the TSO frame as tc_gso_segment does and readies the cut:
 * the number of segments, or -EINVAL (nothing to cut). */
int tc_gso_begin(struct tc_gso_cut *c, const struct virtio_net_hdr *h,
		 const uint8_t *frame, size_t len, size_t seg_max);
/* The length of the next segment, 0 when all are out. */
size_t tc_gso_next_len(const struct tc_gso_cut *c);
/* Writes the next segment (tc_gso_next_len(c) bytes, cap at least that)
 * into out and moves on: its length, or 0 when all are out or cap is too
 * small (nothing written, the cut does not move). */
size_t tc_gso_next(struct tc_gso_cut *c, uint8_t *out, size_t cap);
/* Moves past the next segment without writing it. */
void tc_gso_skip(struct tc_gso_cut *c);

/* Called for every frame leaving the joiner: h is the virtio header to
 * write in front of it (a GSO header for a joined frame). */
typedef void (*tc_gro_out_fn)(void *ctx, const struct virtio_net_hdr *h,
			      const uint8_t *frame, size_t len);

struct tc_gro;

/* A joiner for one TAP: out is called for every frame that leaves it.
 * Buffers (TC_GRO_MAX bytes per flow) are allocated when a flow first
 * needs one. */
struct tc_gro *tc_gro_new(tc_gro_out_fn out, void *ctx);
/* Drops what is pending without writing it.  NULL is a no-op. */
void tc_gro_free(struct tc_gro *g);
/* Takes one frame from a link (borrowed: copied if held).  A partial TCP
 * segment with payload (IPv4 without options or fragments, or IPv6 with
 * TCP next, no VLAN tag) is appended to its flow's pending frame when it
 * continues it (same headers but sequence number, window and checksum,
 * the next sequence number, no more payload than the first segment, no
 * SYN/FIN/RST/URG, the pending frame not ended by PSH or a short segment,
 * the result within TC_GRO_MAX) or else becomes its flow's pending frame
 * (the old one leaves first).  Any other frame leaves at once, after
 * everything pending (order is kept for every flow). */
void tc_gro_frame(struct tc_gro *g, const uint8_t *frame, size_t len,
		  const struct tc_csum *cs);
/* Everything pending leaves, in the order the flows started.  Called at
 * the end of each batch of received packets. */
void tc_gro_flush(struct tc_gro *g);
/* Frames joined from more than one segment, and segments in them, since
 * creation (for stats and benchmarks). */
void tc_gro_counts(const struct tc_gro *g, uint64_t *joined,
		   uint64_t *segments);

/* Sets the partial checksum field of frame (cs->start != 0) to the
 * pseudo-header sum for its current addresses and length: used after a
 * rewrite (SocialVPN translation) changed the addresses.  0, or -EINVAL
 * when the frame is not TCP/UDP over IPv4/IPv6 at cs->start. */
int tc_csum_set_pseudo(uint8_t *frame, size_t len, const struct tc_csum *cs);

#endif
