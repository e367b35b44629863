/*
 * The frames, collector and GSO table the offload tests share: see
 * offload_frames.h.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "offload_frames.h"

static const uint8_t MAC_A[6] = {2, 0, 0, 0, 0, 1};
static const uint8_t MAC_B[6] = {2, 0, 0, 0, 0, 2};
static const uint8_t V4_A[4] = {10, 1, 0, 1};
static const uint8_t V4_B[4] = {10, 1, 0, 2};
static const uint8_t V6_A[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0,
				 0,    0, 0, 0, 0, 0, 0, 1};
static const uint8_t V6_B[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0,
				 0,    0, 0, 0, 0, 0, 0, 2};

uint8_t of_pat(uint32_t seq)
{
	return (uint8_t)((seq * 2654435761u) >> 24);
}

void of_w16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

unsigned of_r16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

uint32_t of_r32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

void of_w32(uint8_t *p, uint32_t v)
{
	of_w16(p, v >> 16);
	of_w16(p + 2, v & 0xffff);
}

/* The independent checksum: byte i of a run weighs 256 when i is even. */
uint64_t of_add_bytes(uint64_t acc, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		acc += (i % 2 == 0) ? (uint64_t)p[i] * 256 : p[i];
	return acc;
}

unsigned of_fold16(uint64_t acc)
{
	while (acc > 0xffff)
		acc = (acc & 0xffff) + (acc >> 16);
	return (unsigned)acc;
}

/* The pseudo-header of the datagram at l3, as bytes, summed. */
uint64_t of_pseudo(const uint8_t *f, size_t l3, bool v6, uint8_t proto,
		   size_t l4len)
{
	uint8_t ph[40];

	memset(ph, 0, sizeof(ph));
	if (v6) {
		memcpy(ph, f + l3 + IP6_SRC, 32);
		of_w32(ph + 32, (uint32_t)l4len);
		ph[39] = proto;
		return of_add_bytes(0, ph, 40);
	}
	memcpy(ph, f + l3 + IP_SRC, 8);
	ph[9] = proto;
	of_w16(ph + 10, (unsigned)l4len);
	return of_add_bytes(0, ph, 12);
}

void of_build(const struct spec *sp, struct frame *f)
{
	uint8_t *p = f->b, *ip, *th;
	uint8_t proto = sp->proto ? sp->proto : P_TCP;
	size_t ihl = 20 + sp->ipopt, thl = 20 + sp->tcpopt, i;

	memset(f, 0, sizeof(*f));
	memcpy(p, MAC_B, 6);
	memcpy(p + 6, MAC_A, 6);
	f->l3 = L2_HLEN;
	if (sp->vlan) {
		of_w16(p + 12, 0x8100);
		of_w16(p + 14, 5);
		f->l3 = VLAN_HLEN;
	}
	of_w16(p + f->l3 - 2, sp->v6 ? 0x86dd : 0x0800);
	ip = p + f->l3;
	f->v6 = sp->v6;
	if (sp->v6) {
		ip[0] = 0x60;
		ip[1] = 0x01; /* a flow label */
		ip[IP6_NEXT] = sp->ext ? 60 : proto;
		ip[7] = 64;
		memcpy(ip + 8, V6_A, 16);
		memcpy(ip + 24, V6_B, 16);
		ihl = IP6_HLEN;
		if (sp->ext) {
			ip[40] = proto;
			ip[41] = 0;
			ip[42] = 1; /* PadN, 4 bytes */
			ip[43] = 4;
			ihl += 8;
		}
	} else {
		ip[0] = (uint8_t)(0x40 | ihl / 4);
		ip[1] = 0x10;
		of_w16(ip + IP_ID, sp->id);
		of_w16(ip + IP_FRAG, 0x4000); /* DF */
		ip[8] = 64;
		ip[IP_PROTO] = proto;
		memcpy(ip + 12, V4_A, 4);
		memcpy(ip + 16, V4_B, 4);
		memset(ip + 20, 1, sp->ipopt);
	}
	f->l4 = f->l3 + ihl;
	th = p + f->l4;
	of_w16(th, sp->sport ? sp->sport : 40000);
	of_w16(th + 2, 443);
	if (proto == P_UDP) {
		thl = 8;
		of_w16(th + 4, (unsigned)(thl + sp->payload));
	} else {
		of_w32(th + TCP_SEQ, sp->seq);
		of_w32(th + TCP_ACK, sp->ack ? sp->ack : 0x01020304);
		th[TCP_DOFF] = (uint8_t)(thl / 4 << 4);
		th[TCP_FLAGS] = sp->flags;
		of_w16(th + TCP_WIN, sp->win ? sp->win : 502);
		if (sp->tcpopt == 12) {
			th[20] = th[21] = 1;
			th[22] = 8;
			th[23] = 10;
			of_w32(th + 24, 0x11223344);
			of_w32(th + 28, 0x55667788);
		}
	}
	f->hlen = f->l4 + thl;
	for (i = 0; i < sp->payload; i++)
		p[f->hlen + i] = of_pat(sp->seq + (uint32_t)i);
	f->len = f->hlen + sp->payload;
	if (sp->v6) {
		of_w16(ip + IP6_PLEN, (unsigned)(f->len - f->l3 - IP6_HLEN));
	} else {
		of_w16(ip + IP_TOT, (unsigned)(f->len - f->l3));
		of_w16(ip + IP_CSUM,
		       ~of_fold16(of_add_bytes(0, ip, ihl)) & 0xffff);
	}
	/* partial, as the kernel leaves it: the pseudo-header sum only */
	of_w16(th + (proto == P_UDP ? UDP_CSUM : TCP_CSUM),
	       of_fold16(of_pseudo(p, f->l3, sp->v6, proto, f->len - f->l4)));
}

/* A segment of flow `sport` as a peer's kernel would send it. */
void of_seg(struct frame *f, bool v6, uint16_t sport, uint32_t seq,
	    size_t payload, uint8_t flags)
{
	struct spec sp = {0};

	sp.v6 = v6;
	sp.sport = sport;
	sp.seq = seq;
	sp.payload = payload;
	sp.flags = flags;
	of_build(&sp, f);
}

/* Finishes a partial checksum the way a NIC does and checks the result
 * against the independent pseudo-header. */
bool of_partial_ok(const uint8_t *frame, size_t len, const struct tc_csum *cs,
		   size_t l3, bool v6, uint8_t proto)
{
	uint8_t *c = malloc(len);
	unsigned v;
	bool ok;

	memcpy(c, frame, len);
	v = ~of_fold16(of_add_bytes(0, c + cs->start, len - cs->start)) &
	    0xffff;
	of_w16(c + cs->start + cs->offset, v);
	ok = of_fold16(of_pseudo(c, l3, v6, proto, len - cs->start) +
		       of_add_bytes(0, c + cs->start, len - cs->start)) ==
	     0xffff;
	free(c);
	return ok;
}
struct out of_out;

void of_out_reset(void)
{
	size_t i;

	for (i = 0; i < of_out.n; i++)
		free(of_out.r[i].b);
	of_out.n = 0;
}

static void keep(const uint8_t *frame, size_t len)
{
	ck_assert_uint_lt(of_out.n, MAX_OUT);
	of_out.r[of_out.n].b = malloc(len ? len : 1);
	memcpy(of_out.r[of_out.n].b, frame, len);
	of_out.r[of_out.n].len = len;
}

void of_on_segment(void *ctx, const uint8_t *frame, size_t len,
		   const struct tc_csum *cs)
{
	ck_assert_ptr_eq(ctx, &of_out);
	keep(frame, len);
	of_out.r[of_out.n++].cs = *cs;
}

void of_on_gro(void *ctx, const struct virtio_net_hdr *h, const uint8_t *frame,
	       size_t len)
{
	ck_assert_ptr_eq(ctx, &of_out);
	keep(frame, len);
	of_out.r[of_out.n++].h = *h;
}

struct tc_csum of_tcp_cs(const struct frame *f)
{
	struct tc_csum cs = {(uint16_t)f->l4, TCP_CSUM};

	return cs;
}

struct virtio_net_hdr of_tso_hdr(const struct frame *f, unsigned mss)
{
	struct virtio_net_hdr h = {0};

	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.gso_type =
	    f->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
	h.gso_size = (uint16_t)mss;
	h.hdr_len = (uint16_t)f->hlen;
	h.csum_start = (uint16_t)f->l4;
	h.csum_offset = TCP_CSUM;
	return h;
}

const struct gso_case of_gso_cases[] = {
    {{.payload = 10000, .flags = F_ACK | F_PSH, .seq = 1000, .id = 7}, 1448},
    {{.payload = 1448 * 4, .flags = F_ACK | F_PSH | F_FIN}, 1448},
    {{.payload = 500, .flags = F_ACK | F_PSH}, 1448},
    {{.vlan = true, .payload = 6000, .flags = F_ACK | F_PSH | F_CWR}, 1400},
    {{.v6 = true, .payload = 10000, .flags = F_ACK | F_PSH}, 1428},
    {{.v6 = true, .payload = 1428 * 3, .flags = F_ACK | F_PSH | F_FIN | F_CWR},
     1428},
    {{.v6 = true, .payload = 100, .flags = F_ACK}, 1428},
    {{.v6 = true, .vlan = true, .payload = 7000, .flags = F_ACK}, 1000},
    {{.ipopt = 8,
      .tcpopt = 12,
      .payload = 65535 - 28 - 32,
      .flags = F_ACK | F_PSH},
     1436},
    {{.v6 = true, .tcpopt = 12, .payload = 65535 - 32, .flags = F_ACK | F_PSH},
     1416},
    {{.payload = 4000, .flags = F_ACK, .id = 0xfffe}, 1000},
    {{.payload = 4000, .flags = F_ACK, .seq = 0xfffffc00}, 1000},
    {{.v6 = true, .ext = true, .payload = 5000, .flags = F_ACK}, 1400},
    {{.payload = 0, .flags = F_ACK | F_FIN}, 1448},
    {{.payload = 1, .flags = F_ACK | F_PSH}, 1},
};
const size_t of_n_gso = sizeof(of_gso_cases) / sizeof(of_gso_cases[0]);
