/*
 * Tests of the Noise IKpsk2 module: conformance with the cacophony vectors
 * (handshake messages, handshake hash and transport messages must match byte
 * for byte), a round trip with random keys, and rejection of tampered,
 * truncated, out-of-turn and low-order input without disturbing the state.
 * The vector file is parsed with a few string searches: its layout is fixed
 * (one object per vector, hex strings, a "messages" array of payload and
 * ciphertext pairs).
 */
#include <check.h>
#include <errno.h>
#include <glib.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "tincan/noise.h"

#define VECTORS_DEFAULT "../../../shared/vectors/noise-ik-cacophony.json"
#define PSK_PROTOCOL "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b"

enum { MAX_MSGS = 16, MAX_BIN = 512 };

struct bin {
	uint8_t b[MAX_BIN];
	size_t len;
};

struct vector {
	struct bin prologue, psk, init_static, init_eph, init_rs;
	struct bin resp_static, resp_eph, hash;
	struct bin payload[MAX_MSGS], ct[MAX_MSGS];
	size_t nmsgs;
};

static bool unhex(const char *s, size_t slen, struct bin *out)
{
	size_t i;

	if (slen % 2 != 0 || slen / 2 > sizeof(out->b))
		return false;
	for (i = 0; i < slen / 2; i++) {
		int hi = g_ascii_xdigit_value(s[2 * i]);
		int lo = g_ascii_xdigit_value(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out->b[i] = (uint8_t)(hi << 4 | lo);
	}
	out->len = slen / 2;
	return true;
}

/* Decodes the first string value after "key" in [p, end); returns the
 * position after it, or NULL. */
static const char *hex_field(const char *p, const char *end, const char *key,
			     struct bin *out)
{
	g_autofree char *qkey = g_strdup_printf("\"%s\"", key);
	const char *k, *q1, *q2;

	k = g_strstr_len(p, end - p, qkey);
	if (k == NULL)
		return NULL;
	q1 = memchr(k + strlen(qkey), '"', end - k - strlen(qkey));
	if (q1 == NULL)
		return NULL;
	q2 = memchr(q1 + 1, '"', end - q1 - 1);
	if (q2 == NULL || !unhex(q1 + 1, q2 - q1 - 1, out))
		return NULL;
	return q2 + 1;
}

static bool parse_vector(const char *p, const char *end, struct vector *v)
{
	static const struct {
		const char *key;
		size_t off;
	} fields[] = {
	    {"init_prologue", offsetof(struct vector, prologue)},
	    {"init_psks", offsetof(struct vector, psk)},
	    {"init_static", offsetof(struct vector, init_static)},
	    {"init_ephemeral", offsetof(struct vector, init_eph)},
	    {"init_remote_static", offsetof(struct vector, init_rs)},
	    {"resp_static", offsetof(struct vector, resp_static)},
	    {"resp_ephemeral", offsetof(struct vector, resp_eph)},
	    {"handshake_hash", offsetof(struct vector, hash)},
	};
	const char *m;
	size_t i;

	memset(v, 0, sizeof(*v));
	for (i = 0; i < G_N_ELEMENTS(fields); i++)
		if (hex_field(p, end, fields[i].key,
			      (struct bin *)((char *)v + fields[i].off)) ==
		    NULL)
			return false;
	m = g_strstr_len(p, end - p, "\"messages\"");
	if (m == NULL)
		return false;
	while (v->nmsgs < MAX_MSGS) {
		const char *next =
		    hex_field(m, end, "payload", &v->payload[v->nmsgs]);

		if (next == NULL)
			break;
		m = hex_field(next, end, "ciphertext", &v->ct[v->nmsgs]);
		if (m == NULL)
			return false;
		v->nmsgs++;
	}
	return v->nmsgs >= 2;
}

/* Loads every IKpsk2 vector; returns the count, or -1 if the file is absent. */
static int load_vectors(struct vector **out)
{
	const char *path = g_getenv("IPOP_VECTORS");
	g_autofree char *text = NULL;
	const char *p, *end;
	size_t len;
	int n = 0;

	if (path == NULL)
		path = VECTORS_DEFAULT;
	if (!g_file_get_contents(path, &text, &len, NULL))
		return -1;
	*out = NULL;
	end = text + len;
	for (p = g_strstr_len(text, len, "\"protocol_name\""); p != NULL;) {
		const char *next =
		    g_strstr_len(p + 1, end - p - 1, "\"protocol_name\"");
		const char *vend = next != NULL ? next : end;
		const char *name =
		    g_strstr_len(p, vend - p, "\"" PSK_PROTOCOL "\"");

		if (name != NULL) {
			*out = g_renew(struct vector, *out, n + 1);
			ck_assert_msg(parse_vector(p, vend, &(*out)[n]),
				      "vector %d does not parse", n);
			n++;
		}
		p = next;
	}
	return n;
}

static void ck_bin_eq(const uint8_t *got, const struct bin *want,
		      const char *what)
{
	ck_assert_msg(memcmp(got, want->b, want->len) == 0, "%s differs", what);
}

static void run_vector(const struct vector *v)
{
	uint8_t ipub[32], rpub[32], buf[MAX_BIN], pt[MAX_BIN];
	uint8_t isend[32], irecv[32], rsend[32], rrecv[32];
	uint64_t n_i = 0, n_r = 0;
	struct tc_noise_hs *ini, *res;
	size_t m;
	int rc;

	crypto_scalarmult_base(ipub, v->init_static.b);
	crypto_scalarmult_base(rpub, v->resp_static.b);
	ck_assert_mem_eq(rpub, v->init_rs.b, 32);
	ini = tc_noise_hs_new(true, v->prologue.b, v->prologue.len,
			      v->init_static.b, ipub, v->init_rs.b, v->psk.b);
	res = tc_noise_hs_new(false, v->prologue.b, v->prologue.len,
			      v->resp_static.b, rpub, NULL, v->psk.b);
	ck_assert_ptr_nonnull(ini);
	ck_assert_ptr_nonnull(res);
	tc_noise_hs_set_ephemeral(ini, v->init_eph.b);
	tc_noise_hs_set_ephemeral(res, v->resp_eph.b);

	rc = tc_noise_hs_write(ini, v->payload[0].b, v->payload[0].len, buf,
			       sizeof(buf));
	ck_assert_int_eq(rc, (int)v->ct[0].len);
	ck_bin_eq(buf, &v->ct[0], "message 1");
	rc = tc_noise_hs_read(res, buf, v->ct[0].len, pt, sizeof(pt));
	ck_assert_int_eq(rc, (int)v->payload[0].len);
	ck_bin_eq(pt, &v->payload[0], "payload 1");
	ck_assert_mem_eq(tc_noise_hs_remote_static(res), ipub, 32);

	rc = tc_noise_hs_write(res, v->payload[1].b, v->payload[1].len, buf,
			       sizeof(buf));
	ck_assert_int_eq(rc, (int)v->ct[1].len);
	ck_bin_eq(buf, &v->ct[1], "message 2");
	rc = tc_noise_hs_read(ini, buf, v->ct[1].len, pt, sizeof(pt));
	ck_assert_int_eq(rc, (int)v->payload[1].len);
	ck_bin_eq(pt, &v->payload[1], "payload 2");

	ck_assert(tc_noise_hs_is_done(ini) && tc_noise_hs_is_done(res));
	ck_assert_mem_eq(tc_noise_hs_hash(ini), v->hash.b, 64);
	ck_assert_mem_eq(tc_noise_hs_hash(res), v->hash.b, 64);
	ck_assert_int_eq(tc_noise_hs_split(ini, isend, irecv), 0);
	ck_assert_int_eq(tc_noise_hs_split(res, rsend, rrecv), 0);

	/* Transport messages alternate, starting with the initiator. */
	for (m = 2; m < v->nmsgs; m++) {
		bool from_i = m % 2 == 0;
		uint64_t *n = from_i ? &n_i : &n_r;

		ck_assert_uint_eq(v->ct[m].len, v->payload[m].len + 16);
		tc_noise_encrypt(from_i ? isend : rsend, *n, NULL, 0,
				 v->payload[m].b, v->payload[m].len, buf);
		ck_bin_eq(buf, &v->ct[m], "transport message");
		ck_assert_int_eq(tc_noise_decrypt(from_i ? rrecv : irecv, *n,
						  NULL, 0, buf, v->ct[m].len,
						  pt),
				 0);
		ck_bin_eq(pt, &v->payload[m], "transport payload");
		(*n)++;
	}
	tc_noise_hs_free(ini);
	tc_noise_hs_free(res);
}

START_TEST(test_vectors)
{
	struct vector *v = NULL;
	int i, n = load_vectors(&v);

	if (n < 0) {
		printf("SKIP: noise vectors not found (set IPOP_VECTORS)\n");
		return;
	}
	ck_assert_int_ge(n, 1);
	for (i = 0; i < n; i++)
		run_vector(&v[i]);
	g_free(v);
}
END_TEST

/* A pair of handshake states with random keys. */
struct pair {
	uint8_t ipriv[32], ipub[32], rpriv[32], rpub[32], psk[32];
	struct tc_noise_hs *ini, *res;
	uint8_t msg1[256], msg2[256];
	int len1, len2;
};

static const uint8_t prologue[] = "test prologue";

static void pair_new(struct pair *p, bool write_msgs)
{
	crypto_box_keypair(p->ipub, p->ipriv);
	crypto_box_keypair(p->rpub, p->rpriv);
	randombytes_buf(p->psk, sizeof(p->psk));
	p->ini = tc_noise_hs_new(true, prologue, sizeof(prologue), p->ipriv,
				 p->ipub, p->rpub, p->psk);
	p->res = tc_noise_hs_new(false, prologue, sizeof(prologue), p->rpriv,
				 p->rpub, NULL, p->psk);
	ck_assert_ptr_nonnull(p->ini);
	ck_assert_ptr_nonnull(p->res);
	if (!write_msgs)
		return;
	p->len1 = tc_noise_hs_write(p->ini, (const uint8_t *)"hi", 2, p->msg1,
				    sizeof(p->msg1));
	ck_assert_int_eq(p->len1, TC_NOISE_MSG1_OVERHEAD + 2);
}

static void pair_free(struct pair *p)
{
	tc_noise_hs_free(p->ini);
	tc_noise_hs_free(p->res);
}

START_TEST(test_roundtrip)
{
	uint8_t pt[16], is[32], ir[32], rs[32], rr[32], ct[64];
	struct pair p;

	pair_new(&p, true);
	ck_assert_ptr_null(tc_noise_hs_remote_static(p.res));
	ck_assert_int_eq(
	    tc_noise_hs_read(p.res, p.msg1, p.len1, pt, sizeof(pt)), 2);
	ck_assert_mem_eq(pt, "hi", 2);
	ck_assert_mem_eq(tc_noise_hs_remote_static(p.res), p.ipub, 32);
	ck_assert_int_eq(tc_noise_hs_split(p.res, rs, rr), -EINVAL);
	p.len2 = tc_noise_hs_write(p.res, NULL, 0, p.msg2, sizeof(p.msg2));
	ck_assert_int_eq(p.len2, TC_NOISE_MSG2_OVERHEAD);
	ck_assert_int_eq(tc_noise_hs_read(p.ini, p.msg2, p.len2, NULL, 0), 0);
	ck_assert_mem_eq(tc_noise_hs_hash(p.ini), tc_noise_hs_hash(p.res), 64);
	ck_assert_int_eq(tc_noise_hs_split(p.ini, is, ir), 0);
	ck_assert_int_eq(tc_noise_hs_split(p.res, rs, rr), 0);
	ck_assert_mem_eq(is, rr, 32);
	ck_assert_mem_eq(ir, rs, 32);
	ck_assert(memcmp(is, ir, 32) != 0);
	tc_noise_encrypt(is, 7, (const uint8_t *)"ad", 2,
			 (const uint8_t *)"data", 4, ct);
	ck_assert_int_eq(
	    tc_noise_decrypt(rr, 7, (const uint8_t *)"ad", 2, ct, 20, pt), 0);
	ck_assert_mem_eq(pt, "data", 4);
	ck_assert_int_eq(
	    tc_noise_decrypt(rr, 8, (const uint8_t *)"ad", 2, ct, 20, pt),
	    -EBADMSG);
	ck_assert_int_eq(
	    tc_noise_decrypt(rr, 7, (const uint8_t *)"aD", 2, ct, 20, pt),
	    -EBADMSG);
	ck_assert_int_eq(tc_noise_decrypt(rr, 7, NULL, 0, ct, 15, pt),
			 -EBADMSG);
	pair_free(&p);
}
END_TEST

/* Every flipped byte of message 1 and 2 fails, and the reader's state is
 * untouched: the genuine message still succeeds afterwards. */
START_TEST(test_tamper)
{
	uint8_t pt[16], bad[256];
	struct pair p;
	int i;

	pair_new(&p, true);
	for (i = 0; i < p.len1; i++) {
		memcpy(bad, p.msg1, p.len1);
		bad[i] ^= 0x01;
		ck_assert_int_eq(
		    tc_noise_hs_read(p.res, bad, p.len1, pt, sizeof(pt)),
		    -EBADMSG);
	}
	ck_assert_int_eq(
	    tc_noise_hs_read(p.res, p.msg1, p.len1, pt, sizeof(pt)), 2);
	p.len2 = tc_noise_hs_write(p.res, NULL, 0, p.msg2, sizeof(p.msg2));
	for (i = 0; i < p.len2; i++) {
		memcpy(bad, p.msg2, p.len2);
		bad[i] ^= 0x80;
		ck_assert_int_eq(tc_noise_hs_read(p.ini, bad, p.len2, NULL, 0),
				 -EBADMSG);
	}
	ck_assert_int_eq(tc_noise_hs_read(p.ini, p.msg2, p.len2, NULL, 0), 0);
	ck_assert(tc_noise_hs_is_done(p.ini));
	pair_free(&p);
}
END_TEST

START_TEST(test_wrong_psk)
{
	uint8_t pt[16], other[32];
	struct pair p;

	pair_new(&p, true);
	memset(other, 0x42, sizeof(other));
	tc_noise_hs_free(p.res);
	p.res = tc_noise_hs_new(false, prologue, sizeof(prologue), p.rpriv,
				p.rpub, NULL, other);
	/* psk2 enters only in message 2: message 1 still reads. */
	ck_assert_int_eq(
	    tc_noise_hs_read(p.res, p.msg1, p.len1, pt, sizeof(pt)), 2);
	p.len2 = tc_noise_hs_write(p.res, NULL, 0, p.msg2, sizeof(p.msg2));
	ck_assert_int_eq(tc_noise_hs_read(p.ini, p.msg2, p.len2, NULL, 0),
			 -EBADMSG);
	ck_assert(!tc_noise_hs_is_done(p.ini));
	pair_free(&p);
}
END_TEST

START_TEST(test_wrong_prologue)
{
	uint8_t pt[16];
	struct pair p;

	pair_new(&p, true);
	tc_noise_hs_free(p.res);
	p.res = tc_noise_hs_new(false, (const uint8_t *)"other", 5, p.rpriv,
				p.rpub, NULL, p.psk);
	ck_assert_int_eq(
	    tc_noise_hs_read(p.res, p.msg1, p.len1, pt, sizeof(pt)), -EBADMSG);
	pair_free(&p);
}
END_TEST

/* Misuse and malformed input, one row each. */
enum misuse {
	MU_READ_SHORT,
	MU_READ_NOSPACE,
	MU_READ_OUT_OF_TURN,
	MU_WRITE_OUT_OF_TURN,
	MU_WRITE_NOSPACE,
	MU_ZERO_EPHEMERAL,
	MU_LOW_ORDER_EPHEMERAL,
	MU_SPLIT_EARLY,
	MU_NEW_NO_RS,
	MU_COUNT
};

START_TEST(test_misuse)
{
	/* A point of order 8 on Curve25519 (from the small-order list). */
	static const uint8_t low_order[32] = {
	    0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
	    0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
	    0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00,
	};
	uint8_t pt[16], buf[256], k1[32], k2[32];
	struct pair p;

	pair_new(&p, true);
	switch (_i) {
	case MU_READ_SHORT:
		ck_assert_int_eq(tc_noise_hs_read(p.res, p.msg1,
						  TC_NOISE_MSG1_OVERHEAD - 1,
						  pt, sizeof(pt)),
				 -EBADMSG);
		break;
	case MU_READ_NOSPACE:
		ck_assert_int_eq(tc_noise_hs_read(p.res, p.msg1, p.len1, pt, 1),
				 -ENOSPC);
		break;
	case MU_READ_OUT_OF_TURN:
		ck_assert_int_eq(
		    tc_noise_hs_read(p.res, p.msg1, p.len1, pt, sizeof(pt)), 2);
		ck_assert_int_eq(
		    tc_noise_hs_read(p.res, p.msg1, p.len1, pt, sizeof(pt)),
		    -EINVAL);
		break;
	case MU_WRITE_OUT_OF_TURN:
		ck_assert_int_eq(
		    tc_noise_hs_write(p.res, NULL, 0, buf, sizeof(buf)),
		    -EINVAL);
		ck_assert_int_eq(
		    tc_noise_hs_write(p.ini, NULL, 0, buf, sizeof(buf)),
		    -EINVAL);
		break;
	case MU_WRITE_NOSPACE:
		ck_assert_int_eq(
		    tc_noise_hs_read(p.res, p.msg1, p.len1, pt, sizeof(pt)), 2);
		ck_assert_int_eq(tc_noise_hs_write(p.res, NULL, 0, buf,
						   TC_NOISE_MSG2_OVERHEAD - 1),
				 -ENOSPC);
		ck_assert_int_eq(tc_noise_hs_write(p.res, NULL, 0, buf,
						   TC_NOISE_MSG2_OVERHEAD),
				 TC_NOISE_MSG2_OVERHEAD);
		break;
	case MU_ZERO_EPHEMERAL:
		memset(p.msg1, 0, 32);
		ck_assert_int_eq(
		    tc_noise_hs_read(p.res, p.msg1, p.len1, pt, sizeof(pt)),
		    -EBADMSG);
		break;
	case MU_LOW_ORDER_EPHEMERAL:
		memcpy(p.msg1, low_order, 32);
		ck_assert_int_eq(
		    tc_noise_hs_read(p.res, p.msg1, p.len1, pt, sizeof(pt)),
		    -EBADMSG);
		break;
	case MU_SPLIT_EARLY:
		ck_assert_int_eq(tc_noise_hs_split(p.ini, k1, k2), -EINVAL);
		break;
	case MU_NEW_NO_RS:
		ck_assert_ptr_null(tc_noise_hs_new(true, NULL, 0, p.ipriv,
						   p.ipub, NULL, NULL));
		break;
	default:
		ck_abort();
	}
	pair_free(&p);
}
END_TEST

/* Two handshakes with fixed keys but random ephemerals differ. */
START_TEST(test_fresh_ephemeral)
{
	uint8_t m1[256], m2[256];
	struct pair p;
	struct tc_noise_hs *again;

	pair_new(&p, false);
	again = tc_noise_hs_new(true, prologue, sizeof(prologue), p.ipriv,
				p.ipub, p.rpub, p.psk);
	ck_assert_int_eq(tc_noise_hs_write(p.ini, NULL, 0, m1, sizeof(m1)),
			 TC_NOISE_MSG1_OVERHEAD);
	ck_assert_int_eq(tc_noise_hs_write(again, NULL, 0, m2, sizeof(m2)),
			 TC_NOISE_MSG1_OVERHEAD);
	ck_assert(memcmp(m1, m2, 32) != 0);
	tc_noise_hs_free(again);
	tc_noise_hs_free(NULL);
	pair_free(&p);
}
END_TEST

/* Declared here for -Wmissing-prototypes; "extern" keeps it out of the
 * Makefile's suite list, which greps for definitions at line start. */
extern Suite *suite_noise(void);

Suite *suite_noise(void)
{
	Suite *s = suite_create("noise");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_vectors);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_tamper);
	tcase_add_test(tc, test_wrong_psk);
	tcase_add_test(tc, test_wrong_prologue);
	tcase_add_loop_test(tc, test_misuse, 0, MU_COUNT);
	tcase_add_test(tc, test_fresh_ephemeral);
	suite_add_tcase(s, tc);
	return s;
}
