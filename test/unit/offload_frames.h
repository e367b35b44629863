/*
 * What the offload tests share (test_offload.c: segmentation, refusals and
 * checksums; test_gro.c: the joiner): frames built by hand, with checksums
 * from a routine written independently of tincan/offload.c (bytes summed by
 * position, over an explicitly assembled pseudo-header), payload bytes that
 * are a function of their TCP sequence number so any reordering, loss or
 * duplication shows, a collector of what the module emits, and the table of
 * GSO frames both suites use.  Defined in offload_frames.c.
 */
#ifndef TEST_OFFLOAD_FRAMES_H
#define TEST_OFFLOAD_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tincan/offload.h"

enum {
	FRAME_MAX = TC_GSO_MAX + 128,
	L2_HLEN = 14,
	VLAN_HLEN = 18,
	IP_TOT = 2,
	IP_ID = 4,
	IP_FRAG = 6,
	IP_PROTO = 9,
	IP_CSUM = 10,
	IP_SRC = 12,
	IP6_PLEN = 4,
	IP6_NEXT = 6,
	IP6_SRC = 8,
	IP6_HLEN = 40,
	TCP_SEQ = 4,
	TCP_ACK = 8,
	TCP_DOFF = 12,
	TCP_FLAGS = 13,
	TCP_WIN = 14,
	TCP_CSUM = 16,
	UDP_CSUM = 6,
	P_TCP = 6,
	P_UDP = 17,
	F_FIN = 0x01,
	F_SYN = 0x02,
	F_PSH = 0x08,
	F_ACK = 0x10,
	F_CWR = 0x80,
	MAX_OUT = 512,
	GSO_UDP_L4 = 5, /* VIRTIO_NET_HDR_GSO_UDP_L4, newer headers only */
};

struct spec {
	bool v6;
	bool vlan;
	size_t ipopt;  /* IPv4 option bytes (NOPs), multiple of 4 */
	bool ext;      /* IPv6: an 8-byte destination options header */
	size_t tcpopt; /* 0 or 12 (NOP NOP timestamps) */
	size_t payload;
	uint8_t flags;
	uint32_t seq;
	uint16_t id;
	uint16_t sport;
	uint32_t ack;
	uint16_t win;
	uint8_t proto; /* 0: TCP */
};

struct frame {
	uint8_t b[FRAME_MAX];
	size_t len, l3, l4, hlen;
	bool v6;
};

struct rec {
	uint8_t *b;
	size_t len;
	struct tc_csum cs;
	struct virtio_net_hdr h;
};

struct out {
	size_t n;
	struct rec r[MAX_OUT];
};

struct gso_case {
	struct spec sp;
	unsigned mss;
};

/* The payload byte at TCP sequence number seq. */
uint8_t of_pat(uint32_t seq);
void of_w16(uint8_t *p, unsigned v);
unsigned of_r16(const uint8_t *p);
uint32_t of_r32(const uint8_t *p);
void of_w32(uint8_t *p, uint32_t v);
/* The independent checksum: byte i of a run weighs 256 when i is even. */
uint64_t of_add_bytes(uint64_t acc, const uint8_t *p, size_t n);
unsigned of_fold16(uint64_t acc);
/* The pseudo-header of the datagram at l3, as bytes, summed. */
uint64_t of_pseudo(const uint8_t *f, size_t l3, bool v6, uint8_t proto,
		   size_t l4len);
/* Builds the frame sp describes, every checksum final. */
void of_build(const struct spec *sp, struct frame *f);
/* A segment of flow `sport` as a peer's kernel would send it. */
void of_seg(struct frame *f, bool v6, uint16_t sport, uint32_t seq,
	    size_t payload, uint8_t flags);
/* Finishes a partial checksum the way a NIC does and checks the result
 * against the independent pseudo-header. */
bool of_partial_ok(const uint8_t *frame, size_t len, const struct tc_csum *cs,
		   size_t l3, bool v6, uint8_t proto);

/* What the module emitted since the last of_out_reset (callbacks below
 * take &of_out as their context). */
extern struct out of_out;
void of_out_reset(void);
void of_on_segment(void *ctx, const uint8_t *frame, size_t len,
		   const struct tc_csum *cs);
void of_on_gro(void *ctx, const struct virtio_net_hdr *h, const uint8_t *frame,
	       size_t len);
/* Where the TCP checksum of f is. */
struct tc_csum of_tcp_cs(const struct frame *f);
/* The virtio header a TSO frame f of the given mss comes with. */
struct virtio_net_hdr of_tso_hdr(const struct frame *f, unsigned mss);

/* GSO frames segmented by test_offload.c and joined back by test_gro.c. */
extern const struct gso_case of_gso_cases[];
extern const size_t of_n_gso;

#endif
