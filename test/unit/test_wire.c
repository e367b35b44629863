/*
 * Tests of proto/wire.c, the walker that shows string fields exactly as
 * sent, and of the frame reader's view of the last envelope's bytes: an
 * overlay name "hs\0x" unpacks as "hs", and only the wire form tells.
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "proto/frame.h"
#include "proto/wire.h"

/* Envelope{version 1, request{create_overlay{name "hs\0x", tap_name "t0"}}}
 * spelled by hand: protobuf-c packs strings up to their first NUL. */
static const uint8_t nul_name[] = {
    0x08, 0x01,			     /* version = 1 */
    0x52, 0x0c,			     /* request, 12 bytes */
    0x12, 0x0a,			     /* create_overlay, 10 bytes */
    0x0a, 0x04, 'h', 's', 0x00, 'x', /* name */
    0x12, 0x02, 't', '0',	     /* tap_name */
};

struct seen {
	int n;
	char path[4][IPOP_WIRE_PATH_MAX];
	size_t len[4];
	int stop_at; /* stop after this many (0: never) */
};

static bool record(void *ctx, const char *path, const uint8_t *s, size_t len)
{
	struct seen *v = ctx;

	(void)s;
	if (v->n < 4) {
		g_strlcpy(v->path[v->n], path, sizeof(v->path[0]));
		v->len[v->n] = len;
	}
	v->n++;
	return v->stop_at == 0 || v->n < v->stop_at;
}

START_TEST(test_wire_nul_name)
{
	Ipop__Envelope *env = NULL;
	struct seen v = {0};

	/* What the daemon would have seen without the walker. */
	ck_assert_int_eq(ipop_envelope_decode(nul_name, sizeof(nul_name), &env),
			 1);
	ck_assert_str_eq(env->request->create_overlay->name, "hs");
	ipop__envelope__free_unpacked(env, NULL);

	ck_assert_int_eq(ipop_wire_strings(&ipop__envelope__descriptor,
					   nul_name, sizeof(nul_name), record,
					   &v),
			 0);
	ck_assert_int_eq(v.n, 2);
	ck_assert_str_eq(v.path[0], "request.create_overlay.name");
	ck_assert_uint_eq(v.len[0], 4);
	ck_assert_str_eq(v.path[1], "request.create_overlay.tap_name");
	ck_assert_uint_eq(v.len[1], 2);

	v = (struct seen){.stop_at = 1};
	ck_assert_int_eq(ipop_wire_strings(&ipop__envelope__descriptor,
					   nul_name, sizeof(nul_name), record,
					   &v),
			 1);
	ck_assert_int_eq(v.n, 1);
}
END_TEST

/* Bytes fields are not strings, and unknown fields are skipped whole,
 * even when they hold what would be a bad string. */
START_TEST(test_wire_skips)
{
	static const uint8_t msg[] = {
	    0x08, 0x01,			  /* version */
	    0x52, 0x0a,			  /* request, 10 bytes: */
	    0x6a, 0x05,			  /* echo, 5 bytes: */
	    0x0a, 0x03, 0x00, 0xff, 0x00, /* data = 00 ff 00 */
	    0xf8, 0x07, 0x05,		  /* unknown varint field 127 */
	    0x7a, 0x02, 0x00, 0xff,	  /* unknown LEN field 15 */
	};
	struct seen v = {0};
	Ipop__Envelope *env = NULL;

	ck_assert_int_eq(ipop_envelope_decode(msg, sizeof(msg), &env), 1);
	ipop__envelope__free_unpacked(env, NULL);
	ck_assert_int_eq(ipop_wire_strings(&ipop__envelope__descriptor, msg,
					   sizeof(msg), record, &v),
			 0);
	ck_assert_int_eq(v.n, 0);
}
END_TEST

static const struct {
	const char *what;
	uint8_t b[12];
	size_t n;
} broken[] = {
    {"length past the end", {0x52, 0x05, 0x12, 0x00}, 4},
    {"varint of eleven bytes",
     {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
     12},
    {"tag cut short", {0x80}, 1},
    {"field number 0", {0x02, 0x00}, 2},
    {"a group", {0x0b, 0x0c}, 2},
    {"fixed64 cut short", {0x09, 0x01, 0x02}, 3},
};

START_TEST(test_wire_broken)
{
	struct seen v = {0};

	ck_assert_msg(ipop_wire_strings(&ipop__envelope__descriptor,
					broken[_i].b, broken[_i].n, record,
					&v) == -EBADMSG,
		      "%s", broken[_i].what);
}
END_TEST

START_TEST(test_reader_last)
{
	struct ipop_frame_reader *r = ipop_frame_reader_new();
	uint8_t frame[4 + sizeof(nul_name)] = {0, 0, 0, sizeof(nul_name)};
	Ipop__Envelope *env = NULL;
	const uint8_t *body;
	size_t len = 99;

	ck_assert_ptr_null(ipop_frame_reader_last(r, &len));
	ck_assert_uint_eq(len, 0);
	memcpy(frame + 4, nul_name, sizeof(nul_name));
	ck_assert_int_eq(ipop_frame_reader_feed(r, frame, sizeof(frame)), 0);
	ck_assert_int_eq(ipop_frame_reader_feed(r, frame, sizeof(frame)), 0);
	ck_assert_int_eq(ipop_frame_reader_next(r, &env), 1);
	body = ipop_frame_reader_last(r, &len);
	ck_assert_uint_eq(len, sizeof(nul_name));
	ck_assert(memcmp(body, nul_name, len) == 0);
	ipop__envelope__free_unpacked(env, NULL);
	ck_assert_int_eq(ipop_frame_reader_next(r, &env), 1);
	ck_assert_ptr_nonnull(ipop_frame_reader_last(r, &len));
	ipop__envelope__free_unpacked(env, NULL);
	ck_assert_int_eq(ipop_frame_reader_next(r, &env), 0);
	ck_assert_ptr_null(ipop_frame_reader_last(r, &len));
	ipop_frame_reader_free(r);
}
END_TEST

extern Suite *suite_wire(void);

Suite *suite_wire(void)
{
	Suite *s = suite_create("wire");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_wire_nul_name);
	tcase_add_test(tc, test_wire_skips);
	tcase_add_loop_test(tc, test_wire_broken, 0, G_N_ELEMENTS(broken));
	tcase_add_test(tc, test_reader_last);
	suite_add_tcase(s, tc);
	return s;
}
