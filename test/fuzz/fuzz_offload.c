/*
 * libFuzzer harness for the TAP offloads.  Bit 0 of the input's first byte
 * picks the half under test.
 *
 * Segmentation (bit 0 clear): bytes 1-10 are a virtio header in native
 * order, bytes 11-12 a segment limit, the rest a frame.  Bits 1-7 of the
 * first byte are helps the fuzzer could hardly find alone: make csum_start
 * point after the IP header, make the IP length fill the frame, make
 * gso_type match the ethertype, and write an Ethernet and IP skeleton
 * (IPv4 or IPv6, tagged or not, with a destination options header or
 * not).  A refusal must emit nothing; otherwise
 * the return value counts the segments, each fits the limit, has its IP
 * length, IPv4 id and header checksum, TCP sequence number and partial
 * checksum (the pseudo-header sum for its own length) right, and the
 * payloads put together are the frame's.  The one-at-a-time cut
 * (tc_gso_begin/next, each segment into a buffer of exactly its length)
 * must give the same answer and segments.  tc_csum_set_pseudo, given the
 * same frame and the header's csum_start and csum_offset, changes the
 * field or nothing.
 *
 * Joining (bit 0 set): the rest is a list of 4-byte records, each either a
 * TCP segment built from a template (flow, IP version, length, PSH, in
 * order or not, one header byte flipped, partial or complete checksum) or
 * a raw frame taken from the input.  Every frame that leaves must be
 * sound: a joined one has a GSO header that fits it, IP lengths, IPv4
 * header checksum and pseudo-header sum right, and, when only templates
 * were fed, payload bytes that are the function of their sequence numbers
 * the templates use.  At the end bytes and segments are conserved: what
 * came in left, less the headers the joins saved, and tc_gro_counts agrees.
 */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tincan/ether.h"
#include "tincan/offload.h"

enum {
	VLAN_HLEN = 18,
	IP_TOT = 2,
	IP_ID = 4,
	IP_SRC = 12,
	IP6_PLEN = 4,
	IP6_SRC = 8,
	IP6_HLEN = 40,
	TCP_SEQ = 4,
	TCP_DOFF = 12,
	TCP_FLAGS = 13,
	TCP_CSUM = 16,
	P_TCP = 6,
	F_ACK = 0x10,
	F_PSH = 0x08,
	HELP_START = 2,
	HELP_LENGTH = 4,
	HELP_TYPE = 8,
	HELP_SKELETON = 16,
	HELP_V6 = 32,
	HELP_VLAN = 64,
	HELP_EXT = 128,
	IP6_DSTOPTS = 60,
	N_FLOWS = 12,
	REC_LEN = 4,
	REC_RAW = 0x40,
	REC_V6 = 0x10,
	REC_PSH = 0x20,
	REC_COMPLETE = 0x80,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static uint8_t pat(uint32_t seq)
{
	return (uint8_t)((seq * 2654435761u) >> 24);
}

/* The IP header offset and version of a frame, or 0. */
static size_t l3_of(const uint8_t *f, size_t len, bool *v6)
{
	size_t l3 = TC_ETH_HLEN;
	unsigned type;

	if (len < VLAN_HLEN)
		return 0;
	type = get16(f + 12);
	if (type == TC_ETHERTYPE_VLAN) {
		l3 = VLAN_HLEN;
		type = get16(f + 16);
	}
	*v6 = type == TC_ETHERTYPE_IPV6;
	return type == TC_ETHERTYPE_IPV4 || *v6 ? l3 : 0;
}

/* The field value of a partial checksum for the datagram at l3 whose
 * transport header (l4len bytes) is at start: folded, not complemented. */
static unsigned pseudo_field(const uint8_t *f, size_t l3, bool v6, size_t l4len)
{
	uint8_t tail[4] = {0, P_TCP, (uint8_t)(l4len >> 8), (uint8_t)l4len};
	uint32_t sum;

	if (v6) {
		sum = tc_csum_add(0, f + l3 + IP6_SRC, 32);
		sum += (uint32_t)(l4len >> 16);
	} else {
		sum = tc_csum_add(0, f + l3 + IP_SRC, 8);
	}
	sum = tc_csum_add(sum, tail, sizeof(tail));
	return (uint16_t)~tc_csum_fold(sum);
}

/* ---- segmentation ---- */

struct gso_run {
	const uint8_t *f;
	size_t l3, l4, hlen, end, mss, seg_max, n, off;
	bool v6;
};

static void on_segment(void *ctx, const uint8_t *s, size_t len,
		       const struct tc_csum *cs)
{
	struct gso_run *r = ctx;
	size_t plen = len - r->hlen;

	assert(len <= r->seg_max && len >= r->hlen && plen <= r->mss);
	assert(cs->start == r->l4 && cs->offset == TCP_CSUM);
	assert(memcmp(s, r->f, r->l3) == 0);
	assert(memcmp(s + r->hlen, r->f + r->off, plen) == 0);
	if (r->v6) {
		assert(get16(s + r->l3 + IP6_PLEN) == len - r->l3 - IP6_HLEN);
	} else {
		assert(get16(s + r->l3 + IP_TOT) == len - r->l3);
		assert(get16(s + r->l3 + IP_ID) ==
		       ((get16(r->f + r->l3 + IP_ID) + r->n) & 0xffff));
		assert(tc_csum_fold(tc_csum_add(0, s + r->l3, r->l4 - r->l3)) ==
		       0);
	}
	assert(get32(s + r->l4 + TCP_SEQ) ==
	       (uint32_t)(get32(r->f + r->l4 + TCP_SEQ) + r->n * r->mss));
	assert(get16(s + r->l4 + TCP_CSUM) ==
	       pseudo_field(s, r->l3, r->v6, len - r->l4));
	r->off += plen;
	r->n++;
}

/* Ethertype (with a tag or not), IP version, TCP as the protocol and no
 * fragment bits: what a TSO frame has and random bytes rarely do. */
static void skeleton(uint8_t how, uint8_t *f, size_t len)
{
	size_t l3 = how & HELP_VLAN ? VLAN_HLEN : TC_ETH_HLEN;
	bool v6 = how & HELP_V6;

	if (len < l3 + IP6_HLEN)
		return;
	if (how & HELP_VLAN)
		put16(f + 12, TC_ETHERTYPE_VLAN);
	put16(f + l3 - 2, v6 ? TC_ETHERTYPE_IPV6 : TC_ETHERTYPE_IPV4);
	if (v6) {
		f[l3] = (uint8_t)(0x60 | (f[l3] & 15));
		f[l3 + 6] = P_TCP;
		if ((how & HELP_EXT) && len >= l3 + IP6_HLEN + 8) {
			f[l3 + 6] = IP6_DSTOPTS;
			f[l3 + IP6_HLEN] = P_TCP;
		}
		return;
	}
	f[l3] = (uint8_t)(0x40 | ((f[l3] & 15) < 5 ? 5 : f[l3] & 15));
	f[l3 + 6] &= 0x40;
	f[l3 + 7] = 0;
	f[l3 + 9] = P_TCP;
}

static void help_gso(uint8_t how, struct virtio_net_hdr *h, uint8_t *f,
		     size_t len)
{
	bool v6 = false;
	size_t l3, ihl;

	if (how & HELP_SKELETON)
		skeleton(how, f, len);
	l3 = l3_of(f, len, &v6);
	if (l3 == 0 || len < l3 + IP6_HLEN)
		return;
	ihl = v6 ? IP6_HLEN : (size_t)(f[l3] & 15) * 4;
	if (v6 && f[l3 + 6] == IP6_DSTOPTS && len >= l3 + IP6_HLEN + 2)
		ihl += ((size_t)f[l3 + IP6_HLEN + 1] + 1) * 8;
	if (how & HELP_START)
		h->csum_start = (uint16_t)(l3 + ihl);
	if ((how & HELP_LENGTH) && len - l3 <= 0xffff + IP6_HLEN) {
		if (v6)
			put16(f + l3 + IP6_PLEN,
			      (unsigned)(len - l3 - IP6_HLEN));
		else if (len - l3 <= 0xffff)
			put16(f + l3 + IP_TOT, (unsigned)(len - l3));
	}
	if (how & HELP_TYPE)
		h->gso_type =
		    v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
}

/* tc_csum_set_pseudo on the same frame: it changes the two bytes of the
 * field or nothing. */
static void fuzz_pseudo(const struct virtio_net_hdr *h, const uint8_t *f,
			size_t len)
{
	struct tc_csum cs = {h->csum_start, h->csum_offset};
	uint8_t *c = malloc(len + 1);
	size_t at = (size_t)cs.start + cs.offset;

	assert(c != NULL);
	memcpy(c, f, len);
	if (tc_csum_set_pseudo(c, len, &cs) == 0) {
		assert(tc_csum_valid(&cs, len));
		c[at] = f[at];
		c[at + 1] = f[at + 1];
	}
	assert(memcmp(c, f, len) == 0);
	free(c);
}

/* The same cut one segment at a time (tc_gso_begin/next), each segment
 * into a buffer of exactly its length: the same answer and segments. */
static void fuzz_cut(const struct virtio_net_hdr *h, const uint8_t *f,
		     size_t len, struct gso_run *r, int rc)
{
	struct tc_gso_cut c;
	size_t n;
	uint8_t *s;

	assert(tc_gso_begin(&c, h, f, len, r->seg_max) ==
	       (rc < 0 ? -EINVAL : rc));
	if (rc < 0)
		return;
	r->n = 0;
	r->off = r->hlen;
	while ((n = tc_gso_next_len(&c)) > 0) {
		s = malloc(n);
		assert(s != NULL);
		assert(tc_gso_next(&c, s, n - 1) == 0);
		assert(tc_gso_next(&c, s, n) == n);
		on_segment(r, s, n, &c.cs);
		free(s);
	}
	assert((size_t)rc == r->n && r->off == r->end);
}

static void fuzz_gso(const uint8_t *data, size_t size)
{
	struct virtio_net_hdr h;
	struct gso_run r = {0};
	uint8_t *f;
	size_t len;
	int rc;

	if (size < 1 + sizeof(h) + 2)
		return;
	memcpy(&h, data + 1, sizeof(h));
	r.seg_max = 64 + get16(data + 1 + sizeof(h));
	len = size - 1 - sizeof(h) - 2;
	f = malloc(len + 1);
	assert(f != NULL);
	memcpy(f, data + 1 + sizeof(h) + 2, len);
	help_gso(data[0], &h, f, len);
	r.f = f;
	r.l3 = l3_of(f, len, &r.v6);
	r.l4 = h.csum_start;
	if (r.l3 != 0 && len >= r.l3 + IP6_HLEN && r.l4 + TCP_DOFF < len) {
		r.hlen = r.l4 + (size_t)(f[r.l4 + TCP_DOFF] >> 4) * 4;
		r.end = r.l3 + get16(f + r.l3 + (r.v6 ? IP6_PLEN : IP_TOT)) +
			(r.v6 ? IP6_HLEN : 0);
	}
	r.mss = h.gso_size;
	r.off = r.hlen;
	rc = tc_gso_segment(&h, f, len, r.seg_max, on_segment, &r);
	if (rc < 0)
		assert(r.n == 0);
	else
		assert(rc > 0 && (size_t)rc == r.n && r.off == r.end);
	fuzz_cut(&h, f, len, &r, rc);
	fuzz_pseudo(&h, f, len);
	free(f);
}

/* ---- joining ---- */

struct gro_run {
	size_t bytes_in, bytes_out, frames_in, frames_out;
	uint64_t joined, segs;
	bool raw;
	uint32_t next[N_FLOWS];
};

static void check_joined(struct gro_run *r, const struct virtio_net_hdr *h,
			 const uint8_t *f, size_t len)
{
	bool v6 = false;
	size_t l3 = l3_of(f, len, &v6), l4 = h->csum_start, i, n;
	uint32_t seq;

	assert(l3 == TC_ETH_HLEN && len <= TC_GRO_MAX);
	assert(h->flags == VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert(h->gso_type ==
	       (v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4));
	assert(l4 == l3 + (v6 ? IP6_HLEN : 20) && h->csum_offset == TCP_CSUM);
	assert(h->hdr_len == l4 + (size_t)(f[l4 + TCP_DOFF] >> 4) * 4);
	assert(h->gso_size > 0 && len - h->hdr_len > h->gso_size);
	if (v6) {
		assert(get16(f + l3 + IP6_PLEN) == len - l4);
	} else {
		assert(get16(f + l3 + IP_TOT) == len - l3);
		assert(tc_csum_fold(tc_csum_add(0, f + l3, 20)) == 0);
	}
	assert(get16(f + l4 + TCP_CSUM) == pseudo_field(f, l3, v6, len - l4));
	n = (len - h->hdr_len + h->gso_size - 1) / h->gso_size;
	r->joined++;
	r->segs += n;
	r->frames_out += n;
	r->bytes_out += len + (n - 1) * h->hdr_len;
	seq = get32(f + l4 + TCP_SEQ);
	for (i = 0; !r->raw && i < len - h->hdr_len; i++)
		assert(f[h->hdr_len + i] == pat(seq + (uint32_t)i));
}

static void on_gro(void *ctx, const struct virtio_net_hdr *h, const uint8_t *f,
		   size_t len)
{
	struct gro_run *r = ctx;

	if (h->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		check_joined(r, h, f, len);
		return;
	}
	assert(h->gso_size == 0 && h->hdr_len == 0);
	assert(h->flags == 0 || h->flags == VIRTIO_NET_HDR_F_NEEDS_CSUM);
	r->frames_out++;
	r->bytes_out += len;
}

/* A TCP segment from the template: record bytes are control, payload
 * length, sequence choice and a header byte to flip. */
static size_t template(struct gro_run *r, const uint8_t *rec, uint8_t *f,
		       struct tc_csum *cs)
{
	bool v6 = rec[0] & REC_V6;
	size_t flow = (rec[0] & 15) % N_FLOWS, l4 = v6 ? 54 : 34,
	       hlen = l4 + 20;
	size_t plen = (size_t)rec[1] * 8 + (rec[1] & 7), len = hlen + plen, i;
	uint32_t seq = rec[2] < 200 ? r->next[flow] : (uint32_t)rec[2] * 999;

	memset(f, 0, hlen);
	f[5] = 1;
	put16(f + 12, v6 ? TC_ETHERTYPE_IPV6 : TC_ETHERTYPE_IPV4);
	f[14] = v6 ? 0x60 : 0x45;
	f[14 + (v6 ? 6 : 9)] = P_TCP;
	f[14 + (v6 ? 7 : 8)] = 64;
	f[14 + (v6 ? 39 : 19)] = 2;
	put16(f + 14 + (v6 ? IP6_PLEN : IP_TOT),
	      (unsigned)(len - (v6 ? l4 : 14)));
	put16(f + l4, (unsigned)(1000 + flow));
	put16(f + l4 + 2, 80);
	put16(f + l4 + TCP_SEQ, seq >> 16);
	put16(f + l4 + TCP_SEQ + 2, seq & 0xffff);
	f[l4 + TCP_DOFF] = 0x50;
	f[l4 + TCP_FLAGS] = F_ACK | (rec[0] & REC_PSH ? F_PSH : 0);
	for (i = 0; i < plen; i++)
		f[hlen + i] = pat(seq + (uint32_t)i);
	if (rec[3] != 0 && rec[3] < hlen &&
	    (rec[3] < l4 + TCP_SEQ || rec[3] >= l4 + TCP_SEQ + 4))
		f[rec[3]] ^=
		    1; /* not the sequence number: payload follows it */
	r->next[flow] = seq + (uint32_t)plen;
	cs->start = rec[0] & REC_COMPLETE ? 0 : (uint16_t)l4;
	cs->offset = rec[0] & REC_COMPLETE ? 0 : TCP_CSUM;
	return len;
}

static void fuzz_gro(const uint8_t *data, size_t size)
{
	static uint8_t f[TC_GSO_MAX];
	struct gro_run r = {0};
	struct tc_gro *g = tc_gro_new(on_gro, &r);
	struct tc_csum cs;
	uint64_t joined, segs;
	size_t pos = 1, len;

	while (size - pos >= REC_LEN) {
		const uint8_t *rec = data + pos;

		pos += REC_LEN;
		if (rec[0] & REC_RAW) {
			len = get16(rec + 1) % (size - pos + 1);
			memcpy(f, data + pos, len);
			pos += len;
			cs.start = rec[3];
			cs.offset = rec[0] & REC_COMPLETE ? 6 : TCP_CSUM;
			r.raw = true;
		} else {
			len = template(&r, rec, f, &cs);
		}
		r.frames_in++;
		r.bytes_in += len;
		tc_gro_frame(g, f, len, &cs);
	}
	tc_gro_flush(g);
	tc_gro_counts(g, &joined, &segs);
	assert(joined == r.joined && segs == r.segs);
	assert(r.frames_in == r.frames_out && r.bytes_in == r.bytes_out);
	tc_gro_free(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		fuzz_gro(data, size);
	else
		fuzz_gso(data, size);
	return 0;
}
