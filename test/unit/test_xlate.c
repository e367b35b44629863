/*
 * Tests of tincan/xlate.c.  Each case is built twice by hand, once as the
 * peer sends it (the peer's addresses) and once as it must come out of the
 * translator (our view's addresses), both with checksums computed from
 * scratch by a routine written independently here (bytes summed by parity,
 * over an explicitly assembled pseudo-header); the rewritten frame must
 * equal the second build byte for byte, and every checksum in it is verified
 * again.  Refused frames must come back unchanged.  Then every truncation
 * of every accepted frame, fragment reassembly, 10000 random mutations, and
 * a throughput note.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xlate_cases.h"

/* ---- independent verification ---- */

/* Validity of each checksum found: -1 absent, 0 wrong, 1 right. */
struct sums {
	int ip, l4, emb_ip, emb_l4;
};

static int verdict(unsigned folded)
{
	return folded == 0xffff;
}

/* The IPv4 header of a frame, or NULL; sets the bytes after it. */
static const uint8_t *ip_of(const uint8_t *f, size_t len, size_t *avail)
{
	size_t off = ETH_HLEN;

	if (len >= VLAN_HLEN && get16(f + ETH_TYPE) == T_VLAN)
		off = VLAN_HLEN;
	if (len < off + IP_HLEN || get16(f + off - 2) != T_IPV4)
		return NULL;
	*avail = len - off;
	return f + off;
}

/* A TCP/UDP segment's checksum, when its checksum field is inside. */
static int seg_verdict(const uint8_t *ip, const uint8_t *l4, size_t n)
{
	if (ip[IP_PROTO] == P_TCP && n >= TCP_HLEN)
		return verdict(l4_sum(ip, l4, n, true));
	if (ip[IP_PROTO] == P_UDP && n >= UDP_HLEN)
		return get16(l4 + UDP_CSUM) == 0 ||
		       verdict(l4_sum(ip, l4, n, true));
	return -1;
}

static bool is_error(uint8_t type)
{
	return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

/* The quote of an ICMP error: its header, and its segment if all there. */
static void quote_sums(const uint8_t *q, size_t qlen, struct sums *s)
{
	size_t ehl, etot;

	if (qlen < IP_HLEN || q[0] >> 4 != 4)
		return;
	ehl = (size_t)(q[0] & 15) * 4;
	etot = get16(q + IP_TOT);
	if (ehl < IP_HLEN || ehl > qlen)
		return;
	s->emb_ip = verdict(hdr_sum(q, ehl));
	if ((get16(q + IP_FRAG) & (IP_MF | IP_OFF)) == 0 && etot <= qlen &&
	    etot >= ehl)
		s->emb_l4 = seg_verdict(q, q + ehl, etot - ehl);
}

static void l4_sums(const uint8_t *ip, const uint8_t *l4, size_t n,
		    struct sums *s)
{
	if (ip[IP_PROTO] != P_ICMP) {
		s->l4 = seg_verdict(ip, l4, n);
		return;
	}
	if (n < ICMP_HLEN)
		return;
	s->l4 = verdict(l4_sum(ip, l4, n, false));
	if (is_error(l4[0]))
		quote_sums(l4 + ICMP_HLEN, n - ICMP_HLEN, s);
}

static void check_sums(const uint8_t *f, size_t len, struct sums *s)
{
	const uint8_t *ip;
	size_t avail, hl, tot;

	s->ip = s->l4 = s->emb_ip = s->emb_l4 = -1;
	ip = ip_of(f, len, &avail);
	if (ip == NULL)
		return;
	hl = (size_t)(ip[0] & 15) * 4;
	tot = get16(ip + IP_TOT);
	if (hl < IP_HLEN || hl > tot || tot > avail)
		return;
	s->ip = verdict(hdr_sum(ip, hl));
	if ((get16(ip + IP_FRAG) & (IP_MF | IP_OFF)) == 0)
		l4_sums(ip, ip + hl, tot - hl, s);
}

static void assert_all_valid(const struct pkt *p)
{
	struct sums s;

	check_sums(p->b, p->len, &s);
	ck_assert_int_eq(s.ip, 1);
	ck_assert_int_ne(s.l4, 0);
	ck_assert_int_ne(s.emb_ip, 0);
	ck_assert_int_ne(s.emb_l4, 0);
}

/* ---- tests ---- */

static void run_case(const struct xcase *c)
{
	struct pkt in, orig, want;
	int rc;

	c->build(&in, &wire);
	orig = in;
	if (c->expect == TC_XLATE_OK)
		assert_all_valid(&in);
	rc = tc_xlate_rewrite(in.b, in.len, &xl);
	ck_assert_msg(rc == c->expect, "%s: %d, want %d", c->name, rc,
		      c->expect);
	if (rc != TC_XLATE_OK) {
		ck_assert_mem_eq(in.b, orig.b, orig.len);
		return;
	}
	c->build(&want, &local);
	ck_assert_uint_eq(in.len, want.len);
	ck_assert_msg(memcmp(in.b, want.b, want.len) == 0, "%s differs",
		      c->name);
	assert_all_valid(&in);
}

START_TEST(test_ok)
{
	run_case(&ok_cases[_i]);
}
END_TEST

START_TEST(test_refused)
{
	run_case(&refused_cases[_i]);
}
END_TEST

/* Pins down the details the byte comparison only implies. */
START_TEST(test_details)
{
	struct pkt p;
	const uint8_t *ip = p.b + ETH_HLEN, *q;

	b_udp_becomes_zero(&p, &wire);
	ck_assert_uint_ne(get16(ip + IP_HLEN + UDP_CSUM), 0xffff);
	ck_assert_int_eq(tc_xlate_rewrite(p.b, p.len, &xl), TC_XLATE_OK);
	ck_assert_uint_eq(get16(ip + IP_HLEN + UDP_CSUM), 0xffff);

	b_udp_nocsum(&p, &wire);
	ck_assert_int_eq(tc_xlate_rewrite(p.b, p.len, &xl), TC_XLATE_OK);
	ck_assert_uint_eq(get16(ip + IP_HLEN + UDP_CSUM), 0);

	b_mcast(&p, &wire);
	ck_assert_int_eq(tc_xlate_rewrite(p.b, p.len, &xl), TC_XLATE_OK);
	ck_assert_mem_eq(ip + IP_SRC, PEER_HERE, 4);
	ck_assert_mem_eq(ip + IP_DST, MDNS, 4);

	/* The quote is rewritten in reverse. */
	b_unreach_udp(&p, &wire);
	ck_assert_int_eq(tc_xlate_rewrite(p.b, p.len, &xl), TC_XLATE_OK);
	q = ip + IP_HLEN + ICMP_HLEN;
	ck_assert_mem_eq(ip + IP_SRC, PEER_HERE, 4);
	ck_assert_mem_eq(ip + IP_DST, ME, 4);
	ck_assert_mem_eq(q + IP_SRC, ME, 4);
	ck_assert_mem_eq(q + IP_DST, PEER_HERE, 4);
}
END_TEST

/* RFC 1624's own example: 0xdd2f over a word 0x5555 -> 0x3285 gives
 * 0x0000; here over a 4-byte field, compared with a full recomputation. */
START_TEST(test_csum_update4)
{
	uint8_t hdr[IP_HLEN], c[2];
	const uint8_t newsrc[4] = {0x32, 0x85, 0, 0};
	const uint8_t oldsrc[4] = {0x55, 0x55, 0, 0};

	c[0] = 0xdd;
	c[1] = 0x2f;
	tc_xlate_csum_update4(c, oldsrc, newsrc);
	ck_assert_uint_eq(get16(c), 0x0000);

	memset(hdr, 0, sizeof(hdr));
	hdr[0] = 0x45;
	memcpy(hdr + IP_SRC, PEER, 4);
	memcpy(hdr + IP_DST, ME_THERE, 4);
	put16(hdr + IP_CSUM, csum_of(hdr_sum(hdr, IP_HLEN)));
	tc_xlate_csum_update4(hdr + IP_CSUM, hdr + IP_SRC, PEER_HERE);
	memcpy(hdr + IP_SRC, PEER_HERE, 4);
	ck_assert_uint_eq(hdr_sum(hdr, IP_HLEN), 0xffff);
}
END_TEST

/* Every prefix of an accepted frame shorter than its datagram is refused
 * and left alone; each is copied into a buffer of exactly that size, so
 * that the sanitizer build catches a read past it. */
START_TEST(test_truncated)
{
	const struct xcase *c = &ok_cases[_i];
	const uint8_t *ip;
	struct pkt p;
	size_t n, avail, end;
	uint8_t *buf;
	int rc;

	c->build(&p, &wire);
	ip = ip_of(p.b, p.len, &avail);
	ck_assert_ptr_nonnull(ip);
	end = (size_t)(ip - p.b) + get16(ip + IP_TOT);
	for (n = 0; n < p.len; n++) {
		buf = malloc(n > 0 ? n : 1);
		memcpy(buf, p.b, n);
		rc = tc_xlate_rewrite(buf, n, &xl);
		if (n < end) {
			ck_assert_msg(rc == -EINVAL, "%s cut to %zu: %d",
				      c->name, n, rc);
			ck_assert(memcmp(buf, p.b, n) == 0);
		} else {
			ck_assert_int_eq(rc, TC_XLATE_OK);
		}
		free(buf);
	}
}
END_TEST

/* The three fragments rewritten one by one and put together again carry
 * a TCP checksum that is right for the new addresses. */
START_TEST(test_reassembly)
{
	struct pkt a, b, c;
	uint8_t seg[FRAG_SEG];
	const uint8_t *ip = a.b + ETH_HLEN;

	b_frag_first(&a, &wire);
	b_frag_middle(&b, &wire);
	b_frag_last(&c, &wire);
	ck_assert_int_eq(tc_xlate_rewrite(a.b, a.len, &xl), TC_XLATE_OK);
	ck_assert_int_eq(tc_xlate_rewrite(b.b, b.len, &xl), TC_XLATE_OK);
	ck_assert_int_eq(tc_xlate_rewrite(c.b, c.len, &xl), TC_XLATE_OK);
	memcpy(seg, a.b + ETH_HLEN + IP_HLEN, FRAG_A);
	memcpy(seg + FRAG_A, b.b + ETH_HLEN + IP_HLEN, FRAG_B - FRAG_A);
	memcpy(seg + FRAG_B, c.b + ETH_HLEN + IP_HLEN, FRAG_SEG - FRAG_B);
	ck_assert_mem_eq(ip + IP_SRC, PEER_HERE, 4);
	ck_assert_mem_eq(ip + IP_DST, ME, 4);
	ck_assert_uint_eq(l4_sum(ip, seg, sizeof(seg), true), 0xffff);
	ck_assert_uint_eq(hdr_sum(b.b + ETH_HLEN, IP_HLEN), 0xffff);
	ck_assert_uint_eq(hdr_sum(c.b + ETH_HLEN, IP_HLEN), 0xffff);
}
END_TEST

/* ---- random mutations ---- */

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

/* The outer header checksum made right again, when the header is there. */
static void refix_ip(struct pkt *p)
{
	size_t avail;
	const uint8_t *found = ip_of(p->b, p->len, &avail);
	uint8_t *ip;
	size_t hl;

	if (found == NULL)
		return;
	ip = p->b + (found - p->b);
	hl = (size_t)(ip[0] & 15) * 4;
	if (hl < IP_HLEN || hl > avail)
		return;
	put16(ip + IP_CSUM, 0);
	put16(ip + IP_CSUM, csum_of(hdr_sum(ip, hl)));
}

static void mutate(struct pkt *p)
{
	unsigned k, n = 1 + rnd() % 4;
	size_t span;

	for (k = 0; k < n; k++) {
		span = rnd() % 5 != 0 && p->len > 80 ? 80 : p->len;
		p->b[rnd() % span] ^= (uint8_t)(1 + rnd() % 255);
	}
	if (rnd() % 8 == 0)
		p->len = rnd() % (p->len + 1);
	if (rnd() % 2 == 0)
		refix_ip(p);
}

enum { N_RANDOM = 10000 };

/* Refused and unchanged, or rewritten with a right header checksum and
 * every other checksum exactly as right or wrong as it was. */
static int random_one(void)
{
	struct pkt p, orig;
	struct sums before, after;
	int rc;

	ok_cases[rnd() % n_ok_cases].build(&p, &wire);
	mutate(&p);
	orig = p;
	check_sums(p.b, p.len, &before);
	rc = tc_xlate_rewrite(p.b, p.len, &xl);
	if (rc != TC_XLATE_OK) {
		ck_assert(memcmp(p.b, orig.b, p.len) == 0);
		return rc;
	}
	check_sums(p.b, p.len, &after);
	ck_assert_int_eq(before.ip, 1);
	ck_assert_int_eq(after.ip, 1);
	ck_assert_int_eq(after.l4, before.l4);
	ck_assert_int_eq(after.emb_ip, before.emb_ip);
	ck_assert_int_eq(after.emb_l4, before.emb_l4);
	ck_assert_mem_eq(p.b, orig.b, ETH_HLEN);
	return rc;
}

START_TEST(test_random)
{
	unsigned i, ok = 0, inval = 0, perm = 0, pass = 0;
	int rc;

	for (i = 0; i < N_RANDOM; i++) {
		rc = random_one();
		ok += rc == TC_XLATE_OK;
		inval += rc == -EINVAL;
		perm += rc == -EPERM;
		pass += rc == TC_XLATE_PASS;
	}
	ck_assert_uint_eq(ok + inval + perm + pass, N_RANDOM);
	/* Both outcomes must be exercised for the loop to mean anything. */
	ck_assert_uint_gt(ok, N_RANDOM / 10);
	ck_assert_uint_gt(inval, N_RANDOM / 10);
	printf("xlate random: %u rewritten, %u invalid, %u refused source, "
	       "%u passed\n",
	       ok, inval, perm, pass);
	fflush(stdout);
}
END_TEST

/* A note, not an assertion: the cost of one rewrite of a 1400-byte TCP
 * packet, translated there and back in turns. */
START_TEST(test_throughput)
{
	static const struct tc_xlate back = {
	    {172, 31, 0, 7}, {10, 8, 0, 2}, {10, 8, 0, 9}};
	struct ipspec s = {P_TCP, PEER, ME_THERE, NULL, 0, 0};
	struct timespec t0, t1;
	uint8_t seg[PKT_MAX];
	struct pkt p, orig;
	long i, n = 1000000;
	int bad = 0;
	double ns;

	frame_ip(&p, &s, seg, seg_tcp(seg, PEER, ME_THERE, 1400 - 40));
	orig = p;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++)
		bad |= tc_xlate_rewrite(p.b, p.len, i % 2 ? &back : &xl);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_int_eq(bad, 0);
	ck_assert_mem_eq(p.b, orig.b, p.len);
	ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 +
	      (double)(t1.tv_nsec - t0.tv_nsec)) /
	     (double)n;
	printf("xlate: %.1f ns per 1400-byte TCP packet (%ld rewrites)\n", ns,
	       n);
	fflush(stdout);
}
END_TEST

Suite *suite_xlate(void)
{
	Suite *s = suite_create("xlate");
	TCase *tc = tcase_create("cases");

	tcase_add_loop_test(tc, test_ok, 0, n_ok_cases);
	tcase_add_loop_test(tc, test_refused, 0, n_refused_cases);
	tcase_add_test(tc, test_details);
	tcase_add_test(tc, test_csum_update4);
	tcase_add_test(tc, test_reassembly);
	suite_add_tcase(s, tc);

	tc = tcase_create("robust");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_truncated, 0, n_ok_cases);
	tcase_add_test(tc, test_random);
	tcase_add_test(tc, test_throughput);
	suite_add_tcase(s, tc);
	return s;
}
