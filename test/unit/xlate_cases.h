/*
 * The translation cases test_xlate.c runs, defined in xlate_cases.c: each
 * builder makes one frame for a view, once as the peer sends it (wire: the
 * peer's addresses) and once as it must come out of the translator (local:
 * our view's addresses), both with checksums computed from scratch by a
 * routine written independently of tincan/xlate.c (bytes summed by parity,
 * over an explicitly assembled pseudo-header).
 */
#ifndef TEST_XLATE_CASES_H
#define TEST_XLATE_CASES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tincan/xlate.h"

enum {
	PKT_MAX = 1600,
	ETH_HLEN = 14,
	ETH_TYPE = 12,
	VLAN_HLEN = 18,
	IP_HLEN = 20,
	IP_TOT = 2,
	IP_ID = 4,
	IP_FRAG = 6,
	IP_TTL = 8,
	IP_PROTO = 9,
	IP_CSUM = 10,
	IP_SRC = 12,
	IP_DST = 16,
	IP_MF = 0x2000,
	IP_OFF = 0x1fff,
	P_ICMP = 1,
	P_TCP = 6,
	P_UDP = 17,
	P_GRE = 47,
	TCP_HLEN = 20,
	TCP_CSUM = 16,
	UDP_HLEN = 8,
	UDP_LEN = 4,
	UDP_CSUM = 6,
	ICMP_HLEN = 8,
	ICMP_CSUM = 2,
	T_IPV4 = 0x0800,
	T_ARP = 0x0806,
	T_IPV6 = 0x86dd,
	T_VLAN = 0x8100,
	T_QINQ = 0x88a8,
};

/* The fragments of the reassembly cases: a segment cut at FRAG_A, FRAG_B. */
enum { FRAG_SEG = 80, FRAG_A = 24, FRAG_B = 48 };

/* The peer's own address, and us as the peer sees us. */
extern const uint8_t PEER[4], ME_THERE[4];
/* The peer in our view, and our TAP address. */
extern const uint8_t PEER_HERE[4], ME[4];
extern const uint8_t MDNS[4];
/* The translation every case goes through. */
extern const struct tc_xlate xl;

/* Outer addresses of one build: as sent (wire) or as expected (local). */
struct view {
	const uint8_t *src, *dst;
};
extern const struct view wire, local;

struct pkt {
	uint8_t b[PKT_MAX];
	size_t len;
};

struct ipspec {
	uint8_t proto;
	const uint8_t *src, *dst;
	const uint8_t *opts;
	size_t optlen; /* a multiple of 4 */
	unsigned frag;
};

/* Big-endian 16-bit fields. */
void put16(uint8_t *p, unsigned v);
unsigned get16(const uint8_t *p);
/* The independent checksum: folded sums of a header and of an L4 segment
 * (with the pseudo-header if pseudo), and the value of a zeroed field. */
unsigned hdr_sum(const uint8_t *p, size_t n);
unsigned l4_sum(const uint8_t *ip, const uint8_t *l4, size_t n, bool pseudo);
unsigned csum_of(unsigned folded);

/* An Ethernet frame around an IPv4 datagram of s with the l4 bytes, and a
 * TCP segment of paylen bytes between src and dst (its length returned). */
void frame_ip(struct pkt *p, const struct ipspec *s, const uint8_t *l4,
	      size_t l4len);
size_t seg_tcp(uint8_t *t, const uint8_t *src, const uint8_t *dst,
	       size_t paylen);
/* Builders the tests also use alone. */
void b_frag_first(struct pkt *p, const struct view *v);
void b_frag_middle(struct pkt *p, const struct view *v);
void b_frag_last(struct pkt *p, const struct view *v);
void b_mcast(struct pkt *p, const struct view *v);
void b_udp_becomes_zero(struct pkt *p, const struct view *v);
void b_udp_nocsum(struct pkt *p, const struct view *v);
void b_unreach_udp(struct pkt *p, const struct view *v);

struct xcase {
	const char *name;
	void (*build)(struct pkt *p, const struct view *v);
	int expect;
};

/* Frames the translator must rewrite, and frames it must refuse or pass
 * (expect: TC_XLATE_PASS or -errno). */
extern const struct xcase ok_cases[], refused_cases[];
extern const int n_ok_cases, n_refused_cases;

#endif
