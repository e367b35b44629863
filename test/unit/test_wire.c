/*
 * Tests of proto/wire.c, the walker that shows string fields exactly as
 * sent, and of the frame reader's view of the last envelope's bytes: an
 * overlay name "hs\0x" unpacks as "hs", and only the wire form tells.
 * Also proto/pages.c, the client side of GetState paging.
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "proto/frame.h"
#include "proto/pages.h"
#include "proto/pbutil.h"
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

/* A frame's bytes are zeroed in the reader's buffer once the frame is
 * consumed (the next call to next()), so a psk does not linger there. */
START_TEST(test_reader_wipes)
{
	static const uint8_t psk_msg[] = {
	    0x08, 0x01, 0x52, 0x24, 0x12, 0x22, 0x52, 0x20, /* ...psk = 32 */
	    0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5,
	    0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5,
	    0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5,
	};
	struct ipop_frame_reader *r = ipop_frame_reader_new();
	uint8_t frame[4 + sizeof(psk_msg)] = {0, 0, 0, sizeof(psk_msg)};
	Ipop__Envelope *env = NULL;
	const uint8_t *body;
	size_t len, i;

	memcpy(frame + 4, psk_msg, sizeof(psk_msg));
	ck_assert_int_eq(ipop_frame_reader_feed(r, frame, sizeof(frame)), 0);
	ck_assert_int_eq(ipop_frame_reader_next(r, &env), 1);
	ck_assert_uint_eq(env->request->create_overlay->psk.len, 32);
	ipop__envelope__free_unpacked(env, NULL);
	body = ipop_frame_reader_last(r, &len);
	ck_assert_uint_eq(len, sizeof(psk_msg));
	ck_assert_int_eq(ipop_frame_reader_next(r, &env), 0);
	/* White box: the bytes are still inside the reader's buffer. */
	for (i = 0; i < len; i++)
		ck_assert_int_eq(body[i], 0);
	ipop_frame_reader_free(r);
}
END_TEST

/* A page: overlays named in names[] ("a" "b"), each with the mappings
 * uids[k] lists (one letter each, made 40 characters long). */
struct fake_page {
	const char *names[3];
	const char *maps[3];
	int links[3];
	bool more;
	const char *next;
};

static Ipop__NodeState *page_msg(const struct fake_page *f)
{
	Ipop__NodeState *st = g_new0(Ipop__NodeState, 1);
	size_t i, k;

	ipop__node_state__init(st);
	st->uid = ipop_cstr("self");
	st->more = f->more;
	st->next_cursor = ipop_cstr(f->next ? f->next : "");
	st->overlays = g_new0(Ipop__OverlayInfo *, 4);
	for (i = 0; i < 3 && f->names[i]; i++) {
		Ipop__OverlayInfo *o = g_new0(Ipop__OverlayInfo, 1);
		ipop__overlay_info__init(o);
		o->name = ipop_cstr(f->names[i]);
		o->mappings = g_new0(Ipop__PeerMapping *, 8);
		for (k = 0; f->maps[i][k]; k++) {
			Ipop__PeerMapping *m = g_new0(Ipop__PeerMapping, 1);
			ipop__peer_mapping__init(m);
			m->peer_uid = g_strnfill(40, f->maps[i][k]);
			o->mappings[o->n_mappings++] = m;
		}
		o->links = g_new0(Ipop__LinkInfo *, 4);
		for (k = 0; k < (size_t)f->links[i]; k++) {
			Ipop__LinkInfo *l = g_new0(Ipop__LinkInfo, 1);
			ipop__link_info__init(l);
			o->links[o->n_links++] = l;
		}
		st->overlays[st->n_overlays++] = o;
	}
	return st;
}

static void page_free(Ipop__NodeState *st)
{
	size_t i, k;

	for (i = 0; i < st->n_overlays; i++) {
		for (k = 0; k < st->overlays[i]->n_mappings; k++) {
			g_free(st->overlays[i]->mappings[k]->peer_uid);
			g_free(st->overlays[i]->mappings[k]);
		}
		for (k = 0; k < st->overlays[i]->n_links; k++)
			g_free(st->overlays[i]->links[k]);
		g_free(st->overlays[i]->links);
		g_free(st->overlays[i]->mappings);
		g_free(st->overlays[i]);
	}
	g_free(st->overlays);
	g_free(st);
}

/* Three pages: "a" spans the first two, "b" starts in the second and ends
 * in the third.  The join has two overlays with all their mappings in
 * order and the links of each overlay's first part. */
START_TEST(test_pages_join)
{
	static const struct fake_page pages[] = {
	    {{"a"},
	     {"01"},
	     {2},
	     true,
	     "a/1111111111111111111111111111111111111111"},
	    {{"a", "b"},
	     {"23", "4"},
	     {0, 1},
	     true,
	     "b/4444444444444444444444444444444444444444"},
	    {{"b"}, {"5"}, {0}, false, NULL},
	};
	struct ipop_state_pages *p = ipop_state_pages_new("", 0);
	Ipop__NodeState *st;
	Ipop__GetState gs;
	size_t i;

	ipop_state_pages_request(p, &gs);
	ck_assert(gs.paged);
	ck_assert_str_eq(gs.cursor, "");
	for (i = 0; i < G_N_ELEMENTS(pages); i++) {
		Ipop__NodeState *pg = page_msg(&pages[i]);
		pg->mac_entries_omitted = (uint32_t)i;
		ck_assert_int_eq(ipop_state_pages_add(p, pg), pages[i].more);
		page_free(pg);
		ipop_state_pages_request(p, &gs);
		if (pages[i].more)
			ck_assert_str_eq(gs.cursor, pages[i].next);
	}
	st = ipop_state_pages_join(p);
	ck_assert_ptr_nonnull(st);
	ck_assert(!st->more);
	ck_assert_uint_eq(st->mac_entries_omitted, 0 + 1 + 2);
	ck_assert_uint_eq(st->n_overlays, 2);
	ck_assert_str_eq(st->overlays[0]->name, "a");
	ck_assert_uint_eq(st->overlays[0]->n_mappings, 4);
	ck_assert_uint_eq(st->overlays[0]->n_links, 2);
	ck_assert_str_eq(st->overlays[1]->name, "b");
	ck_assert_uint_eq(st->overlays[1]->n_mappings, 2);
	ck_assert_uint_eq(st->overlays[1]->n_links, 1);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(st->overlays[0]->mappings[i]->peer_uid[0],
				 (int)('0' + i));
	ck_assert_int_eq(st->overlays[1]->mappings[1]->peer_uid[39], '5');
	ipop__node_state__free_unpacked(st, NULL);
	ipop_state_pages_free(p);
}
END_TEST

/* A tincan that answers "more" with the cursor it was given would loop
 * a client forever; an old tincan's single whole answer is the state. */
START_TEST(test_pages_stuck)
{
	static const struct fake_page stuck = {{"a"}, {"0"}, {0}, true, "a/"};
	static const struct fake_page whole = {{"a"}, {"01"}, {1}, false, NULL};
	struct ipop_state_pages *p = ipop_state_pages_new(NULL, 10);
	Ipop__NodeState *pg = page_msg(&stuck), *st;
	Ipop__GetState gs;

	ck_assert_ptr_null(ipop_state_pages_join(p));
	ck_assert_int_eq(ipop_state_pages_add(p, pg), 1);
	ck_assert_int_eq(ipop_state_pages_add(p, pg), -EPROTO);
	ipop_state_pages_request(p, &gs);
	ck_assert_uint_eq(gs.limit, 10);
	page_free(pg);
	ipop_state_pages_free(p);

	p = ipop_state_pages_new(NULL, 0);
	pg = page_msg(&whole);
	ck_assert_int_eq(ipop_state_pages_add(p, pg), 0);
	st = ipop_state_pages_join(p);
	ck_assert_uint_eq(st->overlays[0]->n_mappings, 2);
	ipop__node_state__free_unpacked(st, NULL);
	page_free(pg);
	ipop_state_pages_free(p);
	ipop_state_pages_free(NULL);
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
	tcase_add_test(tc, test_reader_wipes);
	tcase_add_test(tc, test_pages_join);
	tcase_add_test(tc, test_pages_stuck);
	suite_add_tcase(s, tc);
	return s;
}
