/*
 * Tests of the control-protocol framing (proto/frame.c): encoding and the
 * stream reader without any I/O (round trips, many frames per feed, frames
 * split byte by byte, truncation, oversized lengths, garbage and wrong
 * versions), then the blocking helpers over socketpairs and pipes (partial
 * writes, timeouts, EOF, a vanished peer).  Nothing here needs root.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "proto/frame.h"

/* Writable strings, because protobuf-c's message structs take char *. */
static char str_client[] = "test";
static char str_uid[] = "0123456789abcdef0123456789abcdef01234567";
static char str_fine[] = "fine";
static char str_reason[] = "new controller";
static char str_relay[] = "relay";
static char str_addr[] = "127.0.0.1:3478";
static char str_ov[] = "ov";

/* Storage for one sample envelope and every sub-message it may point to. */
struct sample {
	Ipop__Envelope env;
	Ipop__Request req;
	Ipop__Response resp;
	Ipop__Event ev;
	Ipop__Hello hello;
	Ipop__HelloReply reply;
	Ipop__Echo echo;
	Ipop__ControllerReplacedEvent replaced;
	Ipop__LinkStateChangedEvent link;
	Ipop__CandidatePair pair;
	uint8_t key[32];
	uint8_t *data;
};

static void sample_request(struct sample *s, int i)
{
	ipop__request__init(&s->req);
	s->env.body_case = IPOP__ENVELOPE__BODY_REQUEST;
	s->env.request = &s->req;
	if (i == 1) {
		ipop__hello__init(&s->hello);
		s->hello.protocol_version = IPOP_PROTOCOL_VERSION;
		s->hello.role = IPOP__ROLE__CONTROLLER;
		s->hello.client_name = str_client;
		s->req.kind_case = IPOP__REQUEST__KIND_HELLO;
		s->req.hello = &s->hello;
		return;
	}
	/* A big echo exercises multi-byte varints and large frames. */
	ipop__echo__init(&s->echo);
	s->echo.data.len = i == 2 ? 3 : 200 * 1024;
	s->data = g_malloc(s->echo.data.len);
	memset(s->data, 0xa5, s->echo.data.len);
	s->echo.data.data = s->data;
	s->req.kind_case = IPOP__REQUEST__KIND_ECHO;
	s->req.echo = &s->echo;
}

static void sample_response(struct sample *s)
{
	ipop__response__init(&s->resp);
	ipop__hello_reply__init(&s->reply);
	memset(s->key, 0x42, sizeof(s->key));
	s->reply.protocol_version = IPOP_PROTOCOL_VERSION;
	s->reply.uid = str_uid;
	s->reply.public_key.data = s->key;
	s->reply.public_key.len = sizeof(s->key);
	s->resp.status = IPOP__STATUS__OK;
	s->resp.message = str_fine;
	s->resp.result_case = IPOP__RESPONSE__RESULT_HELLO;
	s->resp.hello = &s->reply;
	s->env.body_case = IPOP__ENVELOPE__BODY_RESPONSE;
	s->env.response = &s->resp;
}

static void sample_event(struct sample *s, int i)
{
	ipop__event__init(&s->ev);
	s->env.body_case = IPOP__ENVELOPE__BODY_EVENT;
	s->env.event = &s->ev;
	if (i == 5) {
		ipop__controller_replaced_event__init(&s->replaced);
		s->replaced.reason = str_reason;
		s->ev.kind_case = IPOP__EVENT__KIND_CONTROLLER_REPLACED;
		s->ev.controller_replaced = &s->replaced;
		return;
	}
	ipop__link_state_changed_event__init(&s->link);
	ipop__candidate_pair__init(&s->pair);
	s->pair.local_type = str_relay;
	s->pair.remote_address = str_addr;
	s->link.overlay = str_ov;
	s->link.state = IPOP__LINK_STATE__CONNECTED;
	s->link.pair = &s->pair;
	s->ev.kind_case = IPOP__EVENT__KIND_LINK_STATE;
	s->ev.link_state = &s->link;
}

enum { N_SAMPLES = 7 };

/* Sample i: 0 no body, 1 hello, 2 small echo, 3 big echo, 4 response,
 * 5 controller_replaced event, 6 link-state event. */
static void sample_init(struct sample *s, int i)
{
	memset(s, 0, sizeof(*s));
	ipop__envelope__init(&s->env);
	s->env.request_id = i == 0 ? 0 : 1000 + (uint64_t)i * 0x100000001ull;
	if (i >= 1 && i <= 3)
		sample_request(s, i);
	else if (i == 4)
		sample_response(s);
	else if (i >= 5)
		sample_event(s, i);
}

static void sample_clear(struct sample *s)
{
	g_free(s->data);
}

/* Deep equality through the (deterministic) packed form. */
static void assert_same(Ipop__Envelope *a, Ipop__Envelope *b)
{
	size_t na = ipop__envelope__get_packed_size(a);
	size_t nb = ipop__envelope__get_packed_size(b);
	uint8_t *pa, *pb;

	ck_assert_uint_eq(na, nb);
	pa = g_malloc(na + 1);
	pb = g_malloc(nb + 1);
	ipop__envelope__pack(a, pa);
	ipop__envelope__pack(b, pb);
	ck_assert_mem_eq(pa, pb, na);
	g_free(pa);
	g_free(pb);
}

static uint8_t *encode_id(uint64_t id, size_t *len)
{
	Ipop__Envelope env = IPOP__ENVELOPE__INIT;
	uint8_t *buf;

	env.request_id = id;
	buf = ipop_frame_encode(&env, len);
	ck_assert_ptr_nonnull(buf);
	return buf;
}

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

/* An echo request whose data is sized so the envelope packs to want. */
static void echo_of_size(Ipop__Envelope *env, Ipop__Request *req,
			 Ipop__Echo *echo, uint8_t *data, size_t want)
{
	size_t n = want - 16;

	ipop__envelope__init(env);
	ipop__request__init(req);
	ipop__echo__init(echo);
	env->version = IPOP_PROTOCOL_VERSION;
	env->body_case = IPOP__ENVELOPE__BODY_REQUEST;
	env->request = req;
	req->kind_case = IPOP__REQUEST__KIND_ECHO;
	req->echo = echo;
	echo->data.data = data;
	for (;;) {
		echo->data.len = n;
		if (ipop__envelope__get_packed_size(env) >= want)
			break;
		n++;
	}
	ck_assert_uint_eq(ipop__envelope__get_packed_size(env), want);
}

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

static void make_pair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
}

START_TEST(test_socket_round_trip)
{
	struct ipop_frame_reader *r = ipop_frame_reader_new();
	Ipop__Envelope *out;
	struct sample s;
	int sv[2], i;

	make_pair(sv);
	for (i = 0; i < N_SAMPLES; i++) {
		sample_init(&s, i);
		ck_assert_int_eq(ipop_frame_write(sv[0], &s.env), 0);
		sample_clear(&s);
	}
	for (i = 0; i < N_SAMPLES; i++) {
		ck_assert_int_eq(ipop_frame_read(sv[1], r, &out, 2000), 1);
		sample_init(&s, i);
		s.env.version = IPOP_PROTOCOL_VERSION;
		assert_same(out, &s.env);
		sample_clear(&s);
		ipop__envelope__free_unpacked(out, NULL);
	}
	ck_assert_int_eq(ipop_frame_read(sv[1], r, &out, 0), -ETIMEDOUT);
	close(sv[0]);
	close(sv[1]);
	ipop_frame_reader_free(r);
}
END_TEST

struct writer {
	int fd;
	int rc;
};

static gpointer write_big(gpointer p)
{
	struct writer *w = p;
	struct sample s;

	sample_init(&s, 3);
	w->rc = ipop_frame_write(w->fd, &s.env);
	sample_clear(&s);
	return NULL;
}

/* A non-blocking writer with a tiny send buffer forces partial writes. */
START_TEST(test_socket_partial_writes)
{
	struct ipop_frame_reader *r = ipop_frame_reader_new();
	struct writer w = {.rc = 1};
	int sv[2], small = 1024;
	Ipop__Envelope *out;
	GThread *t;

	make_pair(sv);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	ck_assert_int_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	w.fd = sv[0];
	t = g_thread_new("writer", write_big, &w);
	ck_assert_int_eq(ipop_frame_read(sv[1], r, &out, 10000), 1);
	g_thread_join(t);
	ck_assert_int_eq(w.rc, 0);
	ck_assert_int_eq(out->body_case, IPOP__ENVELOPE__BODY_REQUEST);
	ck_assert_uint_eq(out->request->echo->data.len, 200 * 1024);
	ck_assert_uint_eq(out->request->echo->data.data[200 * 1024 - 1], 0xa5);
	ipop__envelope__free_unpacked(out, NULL);
	close(sv[0]);
	close(sv[1]);
	ipop_frame_reader_free(r);
}
END_TEST

static const int timeouts_ms[] = {0, 50, 200};

START_TEST(test_socket_timeout)
{
	struct ipop_frame_reader *r = ipop_frame_reader_new();
	const uint8_t partial[] = {0, 0, 0, 9, 0x08};
	Ipop__Envelope *out;
	gint64 t0, ms;
	int sv[2];

	make_pair(sv);
	/* Half a frame must not count as an answer either. */
	ck_assert_int_eq(write(sv[0], partial, sizeof(partial)),
			 sizeof(partial));
	t0 = g_get_monotonic_time();
	ck_assert_int_eq(ipop_frame_read(sv[1], r, &out, timeouts_ms[_i]),
			 -ETIMEDOUT);
	ms = (g_get_monotonic_time() - t0) / 1000;
	ck_assert_int_ge(ms, timeouts_ms[_i]);
	ck_assert_int_lt(ms, timeouts_ms[_i] + 1000);
	ck_assert_ptr_null(out);
	ck_assert_uint_eq(ipop_frame_reader_pending(r), sizeof(partial));
	close(sv[0]);
	close(sv[1]);
	ipop_frame_reader_free(r);
}
END_TEST

/* EOF before anything, and EOF in the middle of a frame, both read as 0. */
START_TEST(test_socket_eof)
{
	struct ipop_frame_reader *r = ipop_frame_reader_new();
	Ipop__Envelope *out;
	uint8_t *buf;
	size_t len;
	int sv[2];

	make_pair(sv);
	buf = encode_id(1, &len);
	if (_i == 1)
		ck_assert_int_eq(write(sv[0], buf, len - 1), (ssize_t)len - 1);
	close(sv[0]);
	ck_assert_int_eq(ipop_frame_read(sv[1], r, &out, -1), 0);
	ck_assert_ptr_null(out);
	close(sv[1]);
	g_free(buf);
	ipop_frame_reader_free(r);
}
END_TEST

/* A frame already buffered is returned even though the peer has gone. */
START_TEST(test_socket_frame_then_eof)
{
	struct ipop_frame_reader *r = ipop_frame_reader_new();
	Ipop__Envelope env = IPOP__ENVELOPE__INIT, *out;
	int sv[2];

	make_pair(sv);
	env.request_id = 77;
	ck_assert_int_eq(ipop_frame_write(sv[0], &env), 0);
	ck_assert_int_eq(ipop_frame_write(sv[0], &env), 0);
	close(sv[0]);
	ck_assert_int_eq(ipop_frame_read(sv[1], r, &out, 1000), 1);
	ipop__envelope__free_unpacked(out, NULL);
	ck_assert_int_eq(ipop_frame_read(sv[1], r, &out, 1000), 1);
	ck_assert_uint_eq(out->request_id, 77);
	ipop__envelope__free_unpacked(out, NULL);
	ck_assert_int_eq(ipop_frame_read(sv[1], r, &out, 1000), 0);
	close(sv[1]);
	ipop_frame_reader_free(r);
}
END_TEST

/* Reader errors come back from ipop_frame_read unchanged. */
START_TEST(test_socket_oversized)
{
	struct ipop_frame_reader *r = ipop_frame_reader_new();
	const uint8_t hdr[] = {0xff, 0xff, 0xff, 0xff};
	Ipop__Envelope *out;
	int sv[2];

	make_pair(sv);
	ck_assert_int_eq(write(sv[0], hdr, sizeof(hdr)), sizeof(hdr));
	ck_assert_int_eq(ipop_frame_read(sv[1], r, &out, 1000), -EMSGSIZE);
	close(sv[0]);
	close(sv[1]);
	ipop_frame_reader_free(r);
}
END_TEST

/* Writing to a vanished peer is -EPIPE, not a SIGPIPE. */
START_TEST(test_socket_peer_gone)
{
	Ipop__Envelope env = IPOP__ENVELOPE__INIT;
	int sv[2];

	signal(SIGPIPE, SIG_DFL);
	make_pair(sv);
	close(sv[1]);
	ck_assert_int_eq(ipop_frame_write(sv[0], &env), -EPIPE);
	close(sv[0]);
}
END_TEST

START_TEST(test_write_refuses_oversize)
{
	uint8_t *data = g_malloc0(IPOP_FRAME_MAX + 1);
	Ipop__Envelope env;
	Ipop__Request req;
	Ipop__Echo echo;
	int sv[2];

	make_pair(sv);
	echo_of_size(&env, &req, &echo, data, IPOP_FRAME_MAX + 1);
	ck_assert_int_eq(ipop_frame_write(sv[0], &env), -EMSGSIZE);
	close(sv[0]);
	close(sv[1]);
	g_free(data);
}
END_TEST

/* Not a socket: the helpers fall back to write() and still work. */
START_TEST(test_pipe)
{
	struct ipop_frame_reader *r = ipop_frame_reader_new();
	Ipop__Envelope env = IPOP__ENVELOPE__INIT, *out;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	env.request_id = 123;
	ck_assert_int_eq(ipop_frame_write(p[1], &env), 0);
	ck_assert_int_eq(ipop_frame_read(p[0], r, &out, 1000), 1);
	ck_assert_uint_eq(out->request_id, 123);
	ipop__envelope__free_unpacked(out, NULL);
	close(p[1]);
	ck_assert_int_eq(ipop_frame_read(p[0], r, &out, 1000), 0);
	close(p[0]);
	ipop_frame_reader_free(r);
}
END_TEST

START_TEST(test_bad_fd)
{
	struct ipop_frame_reader *r = ipop_frame_reader_new();
	Ipop__Envelope env = IPOP__ENVELOPE__INIT, *out;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	close(p[0]);
	close(p[1]);
	ck_assert_int_eq(ipop_frame_write(p[1], &env), -EBADF);
	ck_assert_int_eq(ipop_frame_read(p[0], r, &out, 100), -EBADF);
	ipop_frame_reader_free(r);
}
END_TEST

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

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

static TCase *tcase_io(void)
{
	TCase *tc = tcase_create("io");

	tcase_add_test(tc, test_socket_round_trip);
	tcase_add_test(tc, test_socket_partial_writes);
	tcase_add_loop_test(tc, test_socket_timeout, 0, NELEM(timeouts_ms));
	tcase_add_loop_test(tc, test_socket_eof, 0, 2);
	tcase_add_test(tc, test_socket_frame_then_eof);
	tcase_add_test(tc, test_socket_oversized);
	tcase_add_test(tc, test_socket_peer_gone);
	tcase_add_test(tc, test_write_refuses_oversize);
	tcase_add_test(tc, test_pipe);
	tcase_add_test(tc, test_bad_fd);
	tcase_set_timeout(tc, 30);
	return tc;
}

extern Suite *suite_frame(void);

/* The non-blocking output queue: everything goes when the socket takes
 * it, the rest stays queued, and a closed peer is reported. */
START_TEST(test_flush_queue)
{
	int sv[2], size = 4096;
	GByteArray *out = g_byte_array_new();
	uint8_t chunk[65536], back[65536];
	size_t got = 0;
	ssize_t n;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	memset(chunk, 0x5a, sizeof(chunk));
	g_byte_array_append(out, chunk, 100);
	ck_assert_int_eq(ipop_frame_flush(sv[0], out), 0);
	ck_assert_uint_eq(out->len, 0);
	ck_assert_int_eq(read(sv[1], back, sizeof(back)), 100);

	/* More than the socket holds: part stays queued. */
	for (int i = 0; i < 16; i++)
		g_byte_array_append(out, chunk, sizeof(chunk));
	ck_assert_int_eq(ipop_frame_flush(sv[0], out), -EAGAIN);
	ck_assert_uint_gt(out->len, 0);
	ck_assert_uint_lt(out->len, 16 * sizeof(chunk));
	while (out->len && got < 32 * sizeof(chunk)) {
		n = read(sv[1], back, sizeof(back));
		ck_assert_int_gt(n, 0);
		got += (size_t)n;
		ipop_frame_flush(sv[0], out);
	}
	ck_assert_uint_eq(out->len, 0);

	close(sv[1]);
	g_byte_array_append(out, chunk, 10);
	ck_assert_int_eq(ipop_frame_flush(sv[0], out), -EPIPE);
	close(sv[0]);
	g_byte_array_free(out, TRUE);
}
END_TEST

Suite *suite_frame(void)
{
	Suite *s = suite_create("frame");
	TCase *tc = tcase_create("flush");

	tcase_add_test(tc, test_flush_queue);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tcase_codec());
	suite_add_tcase(s, tcase_reader());
	suite_add_tcase(s, tcase_io());
	return s;
}
