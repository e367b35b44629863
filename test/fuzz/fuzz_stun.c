/*
 * libFuzzer harness for the STUN datagrams of tincan's fast receive path
 * (tincan/stun_answer.c).  The input's first byte is a set of flags, the
 * rest the datagram: bit 0 makes this end controlling, bit 1 makes the
 * source IPv6 (else IPv4, both fixed addresses), bit 2 rewrites the value
 * of the first 20-byte MESSAGE-INTEGRITY with the HMAC the fixed password
 * gives, bit 3 rewrites a FINGERPRINT that ends the datagram with the
 * right CRC (libnice is not instrumented, so the fuzzer cannot learn
 * either; without the rewrite every mutation fails there).
 *
 * tc_stun_kind and tc_stun_answer must not crash or read out of bounds.
 * Only a request is answered; a refusal is one of the documented errors
 * with no answer; an answer fits TC_STUN_REPLY_MAX, is a binding success
 * response to the request's transaction, names the source address and
 * came for a request that carried our ufrag, a MESSAGE-INTEGRITY and a
 * FINGERPRINT.  The same datagram is never answered for another password
 * or ufrag.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <glib.h>

#include "tincan/stun_answer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define UFRAG "Ab12"
#define PWD "fuzz-pwd-of-22-chars-x"

enum {
	F_CONTROLLING = 1 << 0,
	F_V6 = 1 << 1,
	F_FIX_MI = 1 << 2,
	F_FIX_FP = 1 << 3,
	DGRAM_MAX = 1500,
	ATTR_USERNAME = 0x0006,
	ATTR_MI = 0x0008,
	ATTR_XOR_MAPPED = 0x0020,
	ATTR_FP = 0x8028,
	MI_LEN = 20,
	FP_LEN = 4,
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The offset of the first attribute of type t whose value has at least
 * want bytes in buf, walking as RFC 5389 pads; 0 when none. */
static size_t find_attr(const uint8_t *buf, size_t len, uint16_t t, size_t want)
{
	size_t off = TC_STUN_HEADER_LEN, alen;

	while (off + 4 <= len) {
		alen = get16(buf + off + 2);
		if (get16(buf + off) == t && off + 4 + want <= len)
			return off;
		off += 4 + ((alen + 3) & ~(size_t)3);
	}
	return 0;
}

/* RFC 5389 §15.4: HMAC-SHA1 over the message before the attribute, with
 * the header's length ending at it. */
static void fix_mi(uint8_t *buf, size_t len)
{
	size_t off = find_attr(buf, len, ATTR_MI, MI_LEN), n = MI_LEN;
	uint8_t saved[2];
	GHmac *h;

	if (!off)
		return;
	memcpy(saved, buf + 2, 2);
	put16(buf + 2, off + 4 + MI_LEN - TC_STUN_HEADER_LEN);
	h = g_hmac_new(G_CHECKSUM_SHA1, (const guchar *)PWD, strlen(PWD));
	g_hmac_update(h, buf, (gssize)off);
	g_hmac_get_digest(h, buf + off + 4, &n);
	g_hmac_unref(h);
	memcpy(buf + 2, saved, 2);
}

static uint32_t crc32(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	int k;

	while (n--) {
		c ^= *p++;
		for (k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0xedb88320u : c >> 1;
	}
	return ~c;
}

/* RFC 5389 §15.5: the CRC-32 of what precedes a FINGERPRINT that ends the
 * message, XOR 0x5354554e. */
static void fix_fp(uint8_t *buf, size_t len)
{
	size_t off;
	uint32_t v;

	if (len < TC_STUN_HEADER_LEN + 4 + FP_LEN)
		return;
	off = len - 4 - FP_LEN;
	if (get16(buf + off) != ATTR_FP || get16(buf + off + 2) != FP_LEN)
		return;
	v = crc32(buf, off) ^ 0x5354554eu;
	buf[off + 4] = (uint8_t)(v >> 24);
	buf[off + 5] = (uint8_t)(v >> 16);
	buf[off + 6] = (uint8_t)(v >> 8);
	buf[off + 7] = (uint8_t)v;
}

static socklen_t source(struct sockaddr_storage *ss, bool v6)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (v6) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(50123);
		a6->sin6_addr.s6_addr[0] = 0xfd;
		a6->sin6_addr.s6_addr[15] = 7;
		return sizeof(*a6);
	}
	a4->sin_family = AF_INET;
	a4->sin_port = htons(50123);
	a4->sin_addr.s_addr = htonl(0x64400102); /* 100.64.1.2 */
	return sizeof(*a4);
}

/* The answer's XOR-MAPPED-ADDRESS is the source (RFC 5389 §15.2). */
static void names_source(const uint8_t *out, size_t n,
			 const struct sockaddr_storage *ss)
{
	size_t off = find_attr(out, n, ATTR_XOR_MAPPED, 8);
	const uint8_t *v;
	uint8_t x[16];
	size_t i;

	assert(off);
	v = out + off + 4;
	assert(get16(v + 2) == (50123 ^ 0x2112));
	for (i = 0; i < 16; i++)
		x[i] = v[4 + i] ^ out[4 + i]; /* cookie, then transaction */
	if (ss->ss_family == AF_INET6) {
		assert(v[1] == 2 && get16(out + off + 2) == 20);
		assert(memcmp(x, &((const struct sockaddr_in6 *)ss)->sin6_addr,
			      16) == 0);
	} else {
		assert(v[1] == 1 && get16(out + off + 2) == 8);
		assert(memcmp(x, &((const struct sockaddr_in *)ss)->sin_addr,
			      4) == 0);
	}
}

static void answered(const uint8_t *buf, size_t len, const uint8_t *out,
		     size_t n, const struct sockaddr_storage *ss)
{
	size_t user = find_attr(buf, len, ATTR_USERNAME, strlen(UFRAG) + 1);

	assert(n > TC_STUN_HEADER_LEN && n <= TC_STUN_REPLY_MAX);
	assert(tc_stun_kind(out, n) == TC_STUN_RESPONSE);
	assert(get16(out) == 0x0101); /* binding success */
	assert(memcmp(out + 4, buf + 4, 16) == 0);
	assert(get16(buf) == 0x0001); /* a binding request */
	assert(user && memcmp(buf + user + 4, UFRAG ":", 5) == 0);
	assert(find_attr(buf, len, ATTR_MI, MI_LEN));
	assert(get16(buf + len - 4 - FP_LEN) == ATTR_FP);
	names_source(out, n, ss);
}

/* The datagram under other credentials: never answered. */
static void not_for(const struct tc_stun_creds *c, const uint8_t *buf,
		    size_t len, const struct sockaddr_storage *ss, socklen_t sl)
{
	uint8_t out[TC_STUN_REPLY_MAX];
	size_t n = 1;
	int r = tc_stun_answer(c, buf, len, (const struct sockaddr *)ss, sl,
			       out, &n);

	assert(r < 0 && n == 0);
}

/* Where a datagram of len bytes ends at an unreadable page: libnice is
 * not instrumented (and inlines its small memcmps), so a read past the
 * datagram is a SEGV here rather than an ASan report. */
static uint8_t *at_guard(const uint8_t *dgram, size_t len)
{
	static uint8_t *page;
	long sz = sysconf(_SC_PAGESIZE);

	if (!page) {
		page = mmap(NULL, 2 * (size_t)sz, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		assert(page != MAP_FAILED);
		assert(mprotect(page + sz, (size_t)sz, PROT_NONE) == 0);
	}
	memcpy(page + sz - len, dgram, len);
	return page + sz - len;
}

/* One datagram for c from ss. */
static void answer(struct tc_stun_creds *c, const uint8_t *dgram, size_t len,
		   const struct sockaddr_storage *ss, socklen_t sl)
{
	uint8_t out[TC_STUN_REPLY_MAX];
	const uint8_t *buf = at_guard(dgram, len);
	enum tc_stun_kind kind = tc_stun_kind(buf, len);
	size_t n = 1;
	int r;

	assert(kind == TC_STUN_NOT || kind == TC_STUN_REQUEST ||
	       kind == TC_STUN_INDICATION || kind == TC_STUN_RESPONSE);
	assert(kind == TC_STUN_NOT || len >= TC_STUN_HEADER_LEN);
	r = tc_stun_answer(c, buf, len, (const struct sockaddr *)ss, sl, out,
			   &n);
	if (r == 0) {
		assert(kind == TC_STUN_REQUEST);
		answered(buf, len, out, n, ss);
		c->pwd = "another-password-22chr";
		not_for(c, buf, len, ss, sl);
		c->pwd = PWD;
		c->ufrag = "Ab1";
		not_for(c, buf, len, ss, sl);
	} else {
		assert(r == -EBADMSG || r == -EACCES || r == -EPROTO);
		assert(n == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t buf[DGRAM_MAX];
	struct sockaddr_storage ss;
	struct tc_stun_creds c = {UFRAG, PWD, false};
	size_t len;

	if (size < 1 || size - 1 > DGRAM_MAX)
		return 0;
	len = size - 1;
	memcpy(buf, data + 1, len);
	if (len >= TC_STUN_HEADER_LEN && (data[0] & F_FIX_MI))
		fix_mi(buf, len);
	if (data[0] & F_FIX_FP)
		fix_fp(buf, len);
	c.controlling = data[0] & F_CONTROLLING;
	answer(&c, buf, len, &ss, source(&ss, data[0] & F_V6));
	return 0;
}
