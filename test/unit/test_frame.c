/*
 * Tests of the control-protocol framing (proto/frame.c) without any I/O:
 * encoding and the stream reader (round trips, many frames per feed, frames
 * split byte by byte, truncation, oversized lengths, garbage and wrong
 * versions).  The blocking helpers are tested in test_frame_io.c.  Nothing
 * here needs root.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "frame_samples.h"

START_TEST(test_round_trip)
{
	struct ipop_frame_reader *r = ipop_frame_reader_new();
	Ipop__Envelope *out = NULL;
	struct sample s;
	uint8_t *buf;
	size_t len;

	sample_init(&s, _i);
	buf = ipop_frame_encode(&s.env, &len);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(s.env.version, IPOP_PROTOCOL_VERSION);
	ck_assert_uint_eq(len, IPOP_FRAME_HDR +
				   ipop__envelope__get_packed_size(&s.env));
	ck_assert_uint_eq((size_t)buf[0] << 24 | buf[1] << 16 | buf[2] << 8 |
			      buf[3],
			  len - IPOP_FRAME_HDR);
	ck_assert_int_eq(ipop_frame_reader_feed(r, buf, len), 0);
	ck_assert_uint_eq(ipop_frame_reader_pending(r), len);
	ck_assert_int_eq(ipop_frame_reader_next(r, &out), 1);
	ck_assert_uint_eq(out->request_id, s.env.request_id);
	ck_assert_int_eq(out->body_case, s.env.body_case);
	assert_same(out, &s.env);
	ck_assert_uint_eq(ipop_frame_reader_pending(r), 0);
	ipop__envelope__free_unpacked(out, NULL);
	ck_assert_int_eq(ipop_frame_reader_next(r, &out), 0);
	ck_assert_ptr_null(out);

	/* The body alone decodes the same way. */
	ck_assert_int_eq(ipop_envelope_decode(buf + IPOP_FRAME_HDR,
					      len - IPOP_FRAME_HDR, &out),
			 1);
	assert_same(out, &s.env);
	ipop__envelope__free_unpacked(out, NULL);
	g_free(buf);
	sample_clear(&s);
	ipop_frame_reader_free(r);
}
END_TEST

START_TEST(test_encode_keeps_version)
{
	Ipop__Envelope env = IPOP__ENVELOPE__INIT;
	uint8_t *buf;
	size_t len;

	env.version = 7;
	buf = ipop_frame_encode(&env, &len);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(env.version, 7);
	g_free(buf);
}
END_TEST

enum { MANY = 200 };

START_TEST(test_many_in_one_feed)
{
	struct ipop_frame_reader *r = ipop_frame_reader_new();
	GByteArray *all = g_byte_array_new();
	Ipop__Envelope *out;
	uint8_t *buf;
	size_t len;
	int i;

	for (i = 0; i < MANY; i++) {
		buf = encode_id((uint64_t)i + 1, &len);
		g_byte_array_append(all, buf, (guint)len);
		g_free(buf);
	}
	ck_assert_int_eq(ipop_frame_reader_feed(r, all->data, all->len), 0);
	for (i = 0; i < MANY; i++) {
		ck_assert_int_eq(ipop_frame_reader_next(r, &out), 1);
		ck_assert_uint_eq(out->request_id, (uint64_t)i + 1);
		ipop__envelope__free_unpacked(out, NULL);
	}
	ck_assert_int_eq(ipop_frame_reader_next(r, &out), 0);
	ck_assert_uint_eq(ipop_frame_reader_pending(r), 0);
	g_byte_array_free(all, TRUE);
	ipop_frame_reader_free(r);
}
END_TEST

/* Every sample, fed one byte at a time: nothing until the last byte. */
START_TEST(test_byte_by_byte)
{
	struct ipop_frame_reader *r = ipop_frame_reader_new();
	Ipop__Envelope *out;
	struct sample s;
	uint8_t *buf;
	size_t len, i;

	sample_init(&s, _i);
	buf = ipop_frame_encode(&s.env, &len);
	ck_assert_ptr_nonnull(buf);
	for (i = 0; i < len; i++) {
		ck_assert_int_eq(ipop_frame_reader_next(r, &out), 0);
		ck_assert_int_eq(ipop_frame_reader_feed(r, buf + i, 1), 0);
	}
	ck_assert_int_eq(ipop_frame_reader_next(r, &out), 1);
	assert_same(out, &s.env);
	ipop__envelope__free_unpacked(out, NULL);
	ck_assert_int_eq(ipop_frame_reader_next(r, &out), 0);
	g_free(buf);
	sample_clear(&s);
	ipop_frame_reader_free(r);
}
END_TEST

/* Three frames split at every possible point into two feeds. */
START_TEST(test_split_everywhere)
{
	GByteArray *all = g_byte_array_new();
	struct ipop_frame_reader *r;
	Ipop__Envelope *out;
	uint8_t *buf;
	size_t len, cut;
	int i, got;

	for (i = 0; i < 3; i++) {
		buf = encode_id((uint64_t)i + 300, &len);
		g_byte_array_append(all, buf, (guint)len);
		g_free(buf);
	}
	for (cut = 0; cut <= all->len; cut++) {
		r = ipop_frame_reader_new();
		got = 0;
		ck_assert_int_eq(ipop_frame_reader_feed(r, all->data, cut), 0);
		while (ipop_frame_reader_next(r, &out) == 1) {
			ck_assert_uint_eq(out->request_id, 300 + got++);
			ipop__envelope__free_unpacked(out, NULL);
		}
		ck_assert_int_eq(
		    ipop_frame_reader_feed(r, all->data + cut, all->len - cut),
		    0);
		while (ipop_frame_reader_next(r, &out) == 1) {
			ck_assert_uint_eq(out->request_id, 300 + got++);
			ipop__envelope__free_unpacked(out, NULL);
		}
		ck_assert_int_eq(got, 3);
		ipop_frame_reader_free(r);
	}
	g_byte_array_free(all, TRUE);
}
END_TEST

/* Truncated at these lengths (negative: from the end), then completed. */
static const int truncations[] = {0, 1, 3, 4, 5, -1};

START_TEST(test_truncated)
{
	struct ipop_frame_reader *r = ipop_frame_reader_new();
	Ipop__Envelope *out;
	struct sample s;
	uint8_t *buf;
	size_t len, cut;

	sample_init(&s, 4);
	buf = ipop_frame_encode(&s.env, &len);
	cut = truncations[_i] >= 0 ? (size_t)truncations[_i]
				   : len - (size_t)-truncations[_i];
	ck_assert_int_eq(ipop_frame_reader_feed(r, buf, cut), 0);
	ck_assert_int_eq(ipop_frame_reader_next(r, &out), 0);
	ck_assert_ptr_null(out);
	ck_assert_uint_eq(ipop_frame_reader_pending(r), cut);
	ck_assert_int_eq(ipop_frame_reader_next(r, &out), 0);
	ck_assert_int_eq(ipop_frame_reader_feed(r, buf + cut, len - cut), 0);
	ck_assert_int_eq(ipop_frame_reader_next(r, &out), 1);
	assert_same(out, &s.env);
	ipop__envelope__free_unpacked(out, NULL);
	g_free(buf);
	sample_clear(&s);
	ipop_frame_reader_free(r);
}
END_TEST

static const uint32_t oversized[] = {
    IPOP_FRAME_MAX + 1,
    0x7fffffff,
    0x80000000,
    0xffffffff,
};

/* An oversized header is refused as soon as its 4th byte arrives, nothing
 * of it is buffered, and the reader stays in error. */
START_TEST(test_oversized)
{
	struct ipop_frame_reader *r = ipop_frame_reader_new();
	uint8_t hdr[IPOP_FRAME_HDR + 2] = {0};
	Ipop__Envelope *out;
	int i;

	hdr[0] = oversized[_i] >> 24;
	hdr[1] = oversized[_i] >> 16;
	hdr[2] = oversized[_i] >> 8;
	hdr[3] = oversized[_i];
	for (i = 0; i < IPOP_FRAME_HDR - 1; i++)
		ck_assert_int_eq(ipop_frame_reader_feed(r, hdr + i, 1), 0);
	ck_assert_int_eq(ipop_frame_reader_feed(r, hdr + 3, 3), -EMSGSIZE);
	ck_assert_uint_le(ipop_frame_reader_pending(r), IPOP_FRAME_HDR);
	ck_assert_int_eq(ipop_frame_reader_next(r, &out), -EMSGSIZE);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(ipop_frame_reader_feed(r, hdr, 1), -EMSGSIZE);
	ck_assert_int_eq(ipop_frame_reader_next(r, &out), -EMSGSIZE);
	ipop_frame_reader_free(r);
}
END_TEST

/* A good frame followed by an oversized header in the same feed. */
START_TEST(test_oversized_after_good)
{
	struct ipop_frame_reader *r = ipop_frame_reader_new();
	static const uint8_t bad[] = {0x00, 0x04, 0x00, 0x01};
	Ipop__Envelope *out;
	uint8_t *buf;
	size_t len;

	buf = encode_id(9, &len);
	buf = g_realloc(buf, len + sizeof(bad));
	memcpy(buf + len, bad, sizeof(bad));
	ck_assert_int_eq(ipop_frame_reader_feed(r, buf, len + sizeof(bad)),
			 -EMSGSIZE);
	ck_assert_int_eq(ipop_frame_reader_next(r, &out), -EMSGSIZE);
	g_free(buf);
	ipop_frame_reader_free(r);
}
END_TEST

/* Exactly IPOP_FRAME_MAX is allowed: the reader waits for the body. */
START_TEST(test_max_length_accepted)
{
	struct ipop_frame_reader *r = ipop_frame_reader_new();
	const uint8_t hdr[] = {0x00, 0x04, 0x00, 0x00};
	Ipop__Envelope *out;

	ck_assert_int_eq(IPOP_FRAME_MAX, 0x40000);
	ck_assert_int_eq(ipop_frame_reader_feed(r, hdr, sizeof(hdr)), 0);
	ck_assert_int_eq(ipop_frame_reader_next(r, &out), 0);
	ipop_frame_reader_free(r);
}
END_TEST

/* A zero-length body decodes to an envelope with version 0. */
START_TEST(test_zero_length_body)
{
	struct ipop_frame_reader *r = ipop_frame_reader_new();
	const uint8_t frame[] = {0, 0, 0, 0};
	Ipop__Envelope *out;

	ck_assert_int_eq(ipop_envelope_decode(NULL, 0, &out), -EPROTO);
	ck_assert_int_eq(ipop_envelope_decode(frame, 0, &out), -EPROTO);
	ck_assert_int_eq(ipop_frame_reader_feed(r, frame, sizeof(frame)), 0);
	ck_assert_int_eq(ipop_frame_reader_next(r, &out), -EPROTO);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(ipop_frame_reader_next(r, &out), -EPROTO);
	ipop_frame_reader_free(r);
}
END_TEST

/* Unknown fields from a newer schema are kept, not refused. */
START_TEST(test_unknown_fields_ok)
{
	/* Envelope field 99 (varint) and Hello field 9 (bytes) are unknown. */
	const uint8_t body[] = {0x08, 0x01, 0x98, 0x06, 0x07, 0x52, 0x07,
				0x0a, 0x05, 0x08, 0x01, 0x4a, 0x01, 0x00};
	Ipop__Envelope *out;

	ck_assert_int_eq(ipop_envelope_decode(body, sizeof(body), &out), 1);
	ck_assert_int_eq(out->request->kind_case, IPOP__REQUEST__KIND_HELLO);
	ck_assert_uint_eq(out->request->hello->protocol_version, 1);
	ck_assert_uint_eq(out->base.n_unknown_fields, 1);
	ck_assert_uint_eq(out->request->hello->base.n_unknown_fields, 1);
	ipop__envelope__free_unpacked(out, NULL);
}
END_TEST

/* A body with only the version set is valid: no body is not an error. */
START_TEST(test_no_body_is_valid)
{
	const uint8_t body[] = {0x08, 0x01};
	Ipop__Envelope *out;

	ck_assert_int_eq(ipop_envelope_decode(body, sizeof(body), &out), 1);
	ck_assert_int_eq(out->body_case, IPOP__ENVELOPE__BODY__NOT_SET);
	ck_assert_uint_eq(out->request_id, 0);
	ipop__envelope__free_unpacked(out, NULL);
}
END_TEST

struct bytes {
	const char *what;
	size_t len;
	uint8_t b[16];
};

static const struct bytes garbage[] = {
    {"lone 0xff", 1, {0xff}},
    {"truncated varint", 2, {0x08, 0x81}},
    {"overlong varint",
     12,
     {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
    {"request longer than body", 5, {0x08, 0x01, 0x52, 0x05, 0x01}},
    {"field number 0", 2, {0x00, 0x01}},
    {"wire type 7", 2, {0x0f, 0x01}},
    {"truncated fixed64", 4, {0x09, 0x01, 0x02, 0x03}},
    {"bad hello inside", 6, {0x08, 0x01, 0x52, 0x02, 0x0a, 0x05}},
    /* protobuf-c lets field 0 through in a non-minimal tag (fuzzer). */
    {"field 0, long tag", 8, {0x08, 0x01, 0x85, 0x00, 0x52, 0x0c, 0x0a, 0x0a}},
    {"field 0 in hello",
     14,
     {0x08, 0x01, 0x52, 0x0a, 0x0a, 0x08, 0x08, 0x01, 0x85, 0x00, 0x01, 0x02,
      0x03, 0x04}},
    {"field 0 in repeated overlay",
     14,
     {0x08, 0x01, 0x5a, 0x0a, 0x5a, 0x08, 0x2a, 0x06, 0x85, 0x00, 0x01, 0x02,
      0x03, 0x04}},
};

START_TEST(test_garbage)
{
	const struct bytes *g = &garbage[_i];
	struct ipop_frame_reader *r = ipop_frame_reader_new();
	uint8_t hdr[IPOP_FRAME_HDR] = {0, 0, 0, (uint8_t)g->len};
	Ipop__Envelope *out;

	ck_assert_msg(ipop_envelope_decode(g->b, g->len, &out) == -EBADMSG,
		      "%s decoded", g->what);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(ipop_frame_reader_feed(r, hdr, sizeof(hdr)), 0);
	ck_assert_int_eq(ipop_frame_reader_feed(r, g->b, g->len), 0);
	ck_assert_int_eq(ipop_frame_reader_next(r, &out), -EBADMSG);
	ck_assert_int_eq(ipop_frame_reader_next(r, &out), -EBADMSG);
	ck_assert_int_eq(ipop_frame_reader_feed(r, hdr, 1), -EBADMSG);
	ipop_frame_reader_free(r);
}
END_TEST

static const uint32_t bad_versions[] = {2, 0x7f, 0xffffffff};

START_TEST(test_wrong_version)
{
	struct ipop_frame_reader *r = ipop_frame_reader_new();
	Ipop__Envelope env = IPOP__ENVELOPE__INIT, *out;
	uint8_t *buf;
	size_t len;

	env.version = bad_versions[_i];
	buf = ipop_frame_encode(&env, &len);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(ipop_envelope_decode(buf + IPOP_FRAME_HDR,
					      len - IPOP_FRAME_HDR, &out),
			 -EPROTO);
	ck_assert_int_eq(ipop_frame_reader_feed(r, buf, len), 0);
	ck_assert_int_eq(ipop_frame_reader_next(r, &out), -EPROTO);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(ipop_frame_reader_next(r, &out), -EPROTO);
	g_free(buf);
	ipop_frame_reader_free(r);
}
END_TEST

START_TEST(test_encode_limit)
{
	uint8_t *data = g_malloc0(IPOP_FRAME_MAX + 1);
	Ipop__Envelope env;
	Ipop__Request req;
	Ipop__Echo echo;
	uint8_t *buf;
	size_t len = 99;

	echo_of_size(&env, &req, &echo, data, IPOP_FRAME_MAX + 1);
	ck_assert_ptr_null(ipop_frame_encode(&env, &len));
	ck_assert_uint_eq(len, 0);

	echo_of_size(&env, &req, &echo, data, IPOP_FRAME_MAX);
	buf = ipop_frame_encode(&env, &len);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(len, IPOP_FRAME_HDR + IPOP_FRAME_MAX);
	g_free(buf);
	g_free(data);
}
END_TEST

/* The largest frame goes through the reader too. */
START_TEST(test_max_frame_reads)
{
	struct ipop_frame_reader *r = ipop_frame_reader_new();
	uint8_t *data = g_malloc0(IPOP_FRAME_MAX);
	Ipop__Envelope env, *out;
	Ipop__Request req;
	Ipop__Echo echo;
	uint8_t *buf;
	size_t len;

	echo_of_size(&env, &req, &echo, data, IPOP_FRAME_MAX);
	buf = ipop_frame_encode(&env, &len);
	ck_assert_int_eq(ipop_frame_reader_feed(r, buf, len), 0);
	ck_assert_int_eq(ipop_frame_reader_next(r, &out), 1);
	ck_assert_uint_eq(out->request->echo->data.len, echo.data.len);
	ipop__envelope__free_unpacked(out, NULL);
	g_free(buf);
	g_free(data);
	ipop_frame_reader_free(r);
}
END_TEST

/* Feeding and draining forever keeps nothing pending. */
START_TEST(test_steady_state)
{
	struct ipop_frame_reader *r = ipop_frame_reader_new();
	Ipop__Envelope *out;
	uint8_t *buf;
	size_t len;
	int i;

	buf = encode_id(5, &len);
	for (i = 0; i < 10000; i++) {
		ck_assert_int_eq(ipop_frame_reader_feed(r, buf, 2), 0);
		ck_assert_int_eq(ipop_frame_reader_feed(r, buf + 2, len - 2),
				 0);
		ck_assert_int_eq(ipop_frame_reader_next(r, &out), 1);
		ipop__envelope__free_unpacked(out, NULL);
		ck_assert_uint_eq(ipop_frame_reader_pending(r), 0);
	}
	g_free(buf);
	ipop_frame_reader_free(r);
}
END_TEST

START_TEST(test_free_null)
{
	ipop_frame_reader_free(NULL);
}
END_TEST

static TCase *tcase_codec(void)
{
	TCase *tc = tcase_create("codec");

	tcase_add_loop_test(tc, test_round_trip, 0, N_SAMPLES);
	tcase_add_test(tc, test_encode_keeps_version);
	tcase_add_test(tc, test_encode_limit);
	tcase_add_test(tc, test_no_body_is_valid);
	tcase_add_test(tc, test_unknown_fields_ok);
	tcase_add_test(tc, test_zero_length_body);
	tcase_add_loop_test(tc, test_garbage, 0, NELEM(garbage));
	tcase_add_loop_test(tc, test_wrong_version, 0, NELEM(bad_versions));
	tcase_add_test(tc, test_free_null);
	return tc;
}

static TCase *tcase_reader(void)
{
	TCase *tc = tcase_create("reader");

	tcase_add_test(tc, test_many_in_one_feed);
	tcase_add_loop_test(tc, test_byte_by_byte, 0, N_SAMPLES);
	tcase_add_test(tc, test_split_everywhere);
	tcase_add_loop_test(tc, test_truncated, 0, NELEM(truncations));
	tcase_add_loop_test(tc, test_oversized, 0, NELEM(oversized));
	tcase_add_test(tc, test_oversized_after_good);
	tcase_add_test(tc, test_max_length_accepted);
	tcase_add_test(tc, test_max_frame_reads);
	tcase_add_test(tc, test_steady_state);
	tcase_set_timeout(tc, 60);
	return tc;
}

Suite *suite_frame(void)
{
	Suite *s = suite_create("frame");

	suite_add_tcase(s, tcase_codec());
	suite_add_tcase(s, tcase_reader());
	return s;
}
