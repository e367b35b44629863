/*
 * SocialVPN local-view address table: stability across reopen, the
 * reserved addresses, pins, a full subnet, a corrupt or stale state file,
 * the file's mode and unwritable paths.  Every test works in its own
 * mkdtemp directory.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "controller/addrs.h"

static char *dir;
static char *path;
static GPtrArray *logs; /* "LEVEL message" of the controller */
static guint log_handler;

static void record(const gchar *domain, GLogLevelFlags level, const gchar *msg,
		   gpointer data)
{
	(void)domain;
	(void)data;
	g_ptr_array_add(
	    logs, g_strdup_printf("%d %s", level & G_LOG_LEVEL_MASK, msg));
}

static void setup(void)
{
	char tmpl[] = "/tmp/addrs-test-XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	dir = g_strdup(tmpl);
	path = g_build_filename(dir, "state", "addrs", NULL);
	logs = g_ptr_array_new_with_free_func(g_free);
	log_handler =
	    g_log_set_handler("controller", G_LOG_LEVEL_MASK, record, NULL);
}

static void rm_tree(const char *p)
{
	GDir *d = g_dir_open(p, 0, NULL);
	const char *name;

	if (d == NULL) {
		g_unlink(p);
		return;
	}
	while ((name = g_dir_read_name(d)) != NULL) {
		g_autofree char *sub = g_build_filename(p, name, NULL);

		rm_tree(sub);
	}
	g_dir_close(d);
	g_rmdir(p);
}

static void teardown(void)
{
	/* Without fork mode later suites run in this process: stop
	 * recording into an array that is about to go. */
	g_log_remove_handler("controller", log_handler);
	rm_tree(dir);
	g_free(dir);
	g_free(path);
	g_ptr_array_free(logs, TRUE);
}

/* A distinct valid uid per i (40 lowercase hex digits). */
static const char *uid_of(unsigned i)
{
	static char buf[4][41];
	static unsigned next;
	char *u = buf[next++ % 4];
	g_autofree char *seed = g_strdup_printf("device-%u", i);
	g_autofree char *sum =
	    g_compute_checksum_for_string(G_CHECKSUM_SHA1, seed, -1);

	g_strlcpy(u, sum, 41);
	return u;
}

static uint32_t u32(const uint8_t v[4])
{
	return (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 |
	       (uint32_t)v[2] << 8 | v[3];
}

static void put32(uint32_t x, uint8_t v[4])
{
	v[0] = x >> 24;
	v[1] = x >> 16;
	v[2] = x >> 8;
	v[3] = x;
}

static void write_file(const char *text)
{
	g_autofree char *d = g_path_get_dirname(path);

	ck_assert_int_eq(g_mkdir_with_parents(d, 0700), 0);
	ck_assert(g_file_set_contents(path, text, -1, NULL));
}

static bool logged(const char *needle)
{
	guint i;

	for (i = 0; i < logs->len; i++)
		if (strstr(logs->pdata[i], needle) != NULL)
			return true;
	return false;
}

static const uint8_t NET16[4] = {172, 31, 0, 0};
static const uint8_t SELF16[4] = {172, 31, 0, 1};

static struct ctl_addrs *open16(const struct ctl_addr_pin *pins, unsigned n)
{
	struct ctl_addrs *a = ctl_addrs_open(path, NET16, 16, SELF16, pins, n);

	ck_assert_ptr_nonnull(a);
	return a;
}

START_TEST(stable_across_reopen)
{
	struct ctl_addrs *a = open16(NULL, 0);
	uint8_t x[4], y[4], x2[4], y2[4];

	ck_assert_uint_eq(ctl_addrs_count(a), 0);
	ck_assert_int_eq(ctl_addrs_get(a, uid_of(1), x), 0);
	ck_assert_int_eq(ctl_addrs_get(a, uid_of(2), y), 0);
	ck_assert_uint_ne(u32(x), u32(y));
	ck_assert_int_eq(ctl_addrs_get(a, uid_of(1), x2), 0);
	ck_assert_mem_eq(x, x2, 4);
	ck_assert_uint_eq(ctl_addrs_count(a), 2);
	ctl_addrs_free(a);

	a = open16(NULL, 0);
	ck_assert_uint_eq(ctl_addrs_count(a), 2);
	/* Asked in the other order, so stability is not first-come luck. */
	ck_assert_int_eq(ctl_addrs_get(a, uid_of(2), y2), 0);
	ck_assert_int_eq(ctl_addrs_get(a, uid_of(1), x2), 0);
	ck_assert_mem_eq(x, x2, 4);
	ck_assert_mem_eq(y, y2, 4);
	ck_assert(ctl_addrs_taken(a, x, uid_of(2)));
	ck_assert(!ctl_addrs_taken(a, x, uid_of(1)));
	ck_assert(ctl_addrs_taken(a, x, NULL));
	ck_assert(!ctl_addrs_taken(a, SELF16, NULL));
	ctl_addrs_free(a);
	ck_assert_uint_eq(logs->len, 0);
}
END_TEST

/* The start comes from a hash of the uid: two fresh tables agree. */
START_TEST(same_start_in_fresh_tables)
{
	struct ctl_addrs *a = open16(NULL, 0);
	g_autofree char *other = g_build_filename(dir, "other", NULL);
	struct ctl_addrs *b = ctl_addrs_open(other, NET16, 16, SELF16, NULL, 0);
	uint8_t x[4], y[4];
	unsigned i;

	ck_assert_ptr_nonnull(b);
	for (i = 0; i < 20; i++) {
		ck_assert_int_eq(ctl_addrs_get(a, uid_of(i), x), 0);
		ck_assert_int_eq(ctl_addrs_get(b, uid_of(19 - i), y), 0);
	}
	for (i = 0; i < 20; i++) {
		ck_assert_int_eq(ctl_addrs_get(a, uid_of(i), x), 0);
		ck_assert_int_eq(ctl_addrs_get(b, uid_of(i), y), 0);
		ck_assert_mem_eq(x, y, 4);
	}
	ctl_addrs_free(a);
	ctl_addrs_free(b);
}
END_TEST

/* Subnets filled to the brim: exactly the usable hosts are handed out,
 * never the network, broadcast or own address, then -ENOSPC. */
static const struct {
	uint8_t net[4];
	unsigned prefix;
	uint8_t self[4];
	unsigned usable;
} fills[] = {
    {{10, 9, 0, 0}, 30, {10, 9, 0, 1}, 1},
    {{10, 9, 0, 4}, 30, {10, 9, 0, 6}, 1},
    {{10, 9, 0, 8}, 29, {10, 9, 0, 11}, 5},
    {{10, 9, 0, 8}, 29, {10, 9, 0, 14}, 5},
    {{192, 0, 2, 0}, 28, {192, 0, 2, 1}, 13},
    {{192, 0, 2, 0}, 24, {192, 0, 2, 254}, 253},
};

START_TEST(fill_subnet)
{
	struct ctl_addrs *a = ctl_addrs_open(
	    path, fills[_i].net, fills[_i].prefix, fills[_i].self, NULL, 0);
	uint32_t net = u32(fills[_i].net);
	uint32_t bcast = net | (0xffffffffu >> fills[_i].prefix);
	GHashTable *seen = g_hash_table_new(g_direct_hash, g_direct_equal);
	uint8_t x[4];
	unsigned i;

	ck_assert_ptr_nonnull(a);
	for (i = 0; i < fills[_i].usable; i++) {
		ck_assert_int_eq(ctl_addrs_get(a, uid_of(i), x), 0);
		ck_assert_uint_gt(u32(x), net);
		ck_assert_uint_lt(u32(x), bcast);
		ck_assert_uint_ne(u32(x), u32(fills[_i].self));
		ck_assert(g_hash_table_add(seen, GUINT_TO_POINTER(u32(x))));
	}
	ck_assert_int_eq(ctl_addrs_get(a, uid_of(i), x), -ENOSPC);
	ck_assert_int_eq(ctl_addrs_get(a, uid_of(i + 1), x), -ENOSPC);
	ck_assert_uint_eq(ctl_addrs_count(a), fills[_i].usable);
	/* Those already in keep their address. */
	ck_assert_int_eq(ctl_addrs_get(a, uid_of(0), x), 0);
	ctl_addrs_free(a);
	g_hash_table_destroy(seen);
}
END_TEST

/* Pins take addresses out of the pool, and a /29 with two pins has
 * 6 - 1 (self) - 2 = 3 addresses left. */
START_TEST(pins_win)
{
	const uint8_t net[4] = {10, 7, 0, 0}, self[4] = {10, 7, 0, 1};
	struct ctl_addr_pin pins[2] = {
	    {.v4 = {10, 7, 0, 2}},
	    {.v4 = {10, 7, 0, 6}},
	};
	char p0[41], p1[41];
	struct ctl_addrs *a;
	uint8_t x[4];
	unsigned i;

	g_strlcpy(p0, uid_of(100), sizeof(p0));
	g_strlcpy(p1, uid_of(101), sizeof(p1));
	pins[0].uid = p0;
	pins[1].uid = p1;
	a = ctl_addrs_open(path, net, 29, self, pins, 2);
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(ctl_addrs_count(a), 2);
	ck_assert(ctl_addrs_taken(a, pins[0].v4, uid_of(1)));
	ck_assert(!ctl_addrs_taken(a, pins[0].v4, p0));
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(ctl_addrs_get(a, uid_of(i), x), 0);
		ck_assert(x[3] != 0 && x[3] != 1 && x[3] != 2 && x[3] != 6 &&
			  x[3] != 7);
	}
	ck_assert_int_eq(ctl_addrs_get(a, uid_of(i), x), -ENOSPC);
	ck_assert_int_eq(ctl_addrs_get(a, p1, x), 0);
	ck_assert_mem_eq(x, pins[1].v4, 4);
	ctl_addrs_free(a);
}
END_TEST

/* A stored address later pinned to another uid moves; a stored uid
 * later pinned gets its pin. */
START_TEST(pin_moves_stored)
{
	struct ctl_addr_pin pins[2];
	uint8_t a1[4], b1[4], x[4];
	char u1[41], u2[41], u3[41];
	g_autofree char *text = NULL;
	struct ctl_addrs *a = open16(NULL, 0);

	g_strlcpy(u1, uid_of(1), sizeof(u1));
	g_strlcpy(u2, uid_of(2), sizeof(u2));
	g_strlcpy(u3, uid_of(3), sizeof(u3));
	ck_assert_int_eq(ctl_addrs_get(a, u1, a1), 0);
	ck_assert_int_eq(ctl_addrs_get(a, u2, b1), 0);
	ctl_addrs_free(a);

	pins[0] = (struct ctl_addr_pin){.uid = u3};
	memcpy(pins[0].v4, a1, 4); /* u3 takes u1's address */
	pins[1] = (struct ctl_addr_pin){.uid = u2, .v4 = {172, 31, 9, 9}};
	a = open16(pins, 2);
	ck_assert_uint_eq(ctl_addrs_count(a), 2); /* u1 dropped */
	ck_assert_int_eq(ctl_addrs_get(a, u3, x), 0);
	ck_assert_mem_eq(x, a1, 4);
	ck_assert_int_eq(ctl_addrs_get(a, u2, x), 0);
	ck_assert_mem_eq(x, pins[1].v4, 4);
	ck_assert_int_eq(ctl_addrs_get(a, u1, x), 0);
	ck_assert_uint_ne(u32(x), u32(a1));
	memcpy(a1, x, 4);
	ctl_addrs_free(a);
	ck_assert(logged("address pinned to another uid"));

	/* The move was saved; pins are the config's, not the file's. */
	ck_assert(g_file_get_contents(path, &text, NULL, NULL));
	ck_assert_ptr_null(strstr(text, u3));
	ck_assert_ptr_null(strstr(text, u2));
	a = open16(pins, 2);
	ck_assert_int_eq(ctl_addrs_get(a, u1, x), 0);
	ck_assert_mem_eq(x, a1, 4);
	ctl_addrs_free(a);
}
END_TEST

START_TEST(corrupt_lines_skipped)
{
	g_autofree char *good1 = g_strdup(uid_of(1));
	g_autofree char *good2 = g_strdup(uid_of(2));
	g_autofree char *good3 = g_strdup(uid_of(3));
	g_autofree char *text =
	    g_strdup_printf("# comment\n"	      /* 1 */
			    "\n"		      /* 2 */
			    "%s 172.31.5.5\n"	      /* 3 */
			    "hello world\n"	      /* 4: bad */
			    "%s 300.1.1.1\n"	      /* 5: bad */
			    "abc 172.31.5.6\n"	      /* 6: bad */
			    "%s 172.31.5.7 extra\n"   /* 7: bad */
			    "%s 172.31.5.8\n"	      /* 8: dup uid */
			    "%s 10.0.0.1\n"	      /* 9: outside */
			    "%s 172.31.5.5\n"	      /* 10: dup address */
			    "%s 172.31.255.255\n"     /* 11: broadcast */
			    "%s 172.31.0.1\n"	      /* 12: self */
			    "   %s\t172.31.5.9  \r\n" /* 13 */
			    "%s",		      /* 14: bad, no NL */
			    good1, good2, good2, good1, good2, good2, good2,
			    good2, good2, good3);
	struct ctl_addrs *a;
	g_autofree char *saved = NULL;
	uint8_t x[4];
	unsigned i;

	write_file(text);
	a = open16(NULL, 0);
	ck_assert_uint_eq(ctl_addrs_count(a), 2);
	ck_assert_int_eq(ctl_addrs_get(a, good1, x), 0);
	ck_assert_uint_eq(u32(x), 0xac1f0505);
	ck_assert_int_eq(ctl_addrs_get(a, good2, x), 0);
	ck_assert_uint_eq(u32(x), 0xac1f0509);
	for (i = 4; i <= 14; i++) {
		g_autofree char *where = g_strdup_printf("%s:%u:", path, i);

		ck_assert_msg(logged(where) == (i != 13), "line %u", i);
	}
	ctl_addrs_free(a);

	/* The file was rewritten without the bad lines. */
	ck_assert(g_file_get_contents(path, &saved, NULL, NULL));
	ck_assert_ptr_null(strstr(saved, "hello"));
	g_ptr_array_set_size(logs, 0);
	a = open16(NULL, 0);
	ck_assert_uint_eq(ctl_addrs_count(a), 2);
	ck_assert_uint_eq(logs->len, 0);
	ctl_addrs_free(a);
}
END_TEST

START_TEST(subnet_change_reassigns)
{
	const uint8_t net24[4] = {172, 31, 0, 0};
	const uint8_t other[4] = {10, 44, 0, 0}, oself[4] = {10, 44, 0, 1};
	g_autofree char *text = NULL;
	struct ctl_addrs *a;
	char u1[41], u2[41];
	uint8_t x[4];

	g_strlcpy(u1, uid_of(1), sizeof(u1));
	g_strlcpy(u2, uid_of(2), sizeof(u2));
	text = g_strdup_printf("%s 172.31.0.5\n%s 172.31.7.9\n", u1, u2);
	write_file(text);

	/* Narrowed to a /24: the entry still inside stays. */
	a = ctl_addrs_open(path, net24, 24, SELF16, NULL, 0);
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(ctl_addrs_count(a), 1);
	ck_assert_int_eq(ctl_addrs_get(a, u1, x), 0);
	ck_assert_uint_eq(u32(x), 0xac1f0005);
	ck_assert_int_eq(ctl_addrs_get(a, u2, x), 0);
	ck_assert_uint_eq(u32(x) & 0xffffff00, 0xac1f0000);
	ctl_addrs_free(a);

	/* Moved to another subnet altogether. */
	a = ctl_addrs_open(path, other, 16, oself, NULL, 0);
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(ctl_addrs_count(a), 0);
	ck_assert_int_eq(ctl_addrs_get(a, u1, x), 0);
	ck_assert_uint_eq(u32(x) & 0xffff0000, 0x0a2c0000);
	ctl_addrs_free(a);
}
END_TEST

START_TEST(file_mode)
{
	g_autofree char *parent = g_path_get_dirname(path);
	struct ctl_addrs *a;
	struct stat st;
	uint8_t x[4];
	mode_t old = umask(0);

	a = open16(NULL, 0);
	umask(old);
	ck_assert_int_eq(stat(parent, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	ck_assert_int_eq(stat(path, &st), 0); /* created on open */
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(ctl_addrs_get(a, uid_of(1), x), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ctl_addrs_free(a);
}
END_TEST

/* Paths that cannot be created, whoever runs the test (root included). */
START_TEST(unwritable)
{
	g_autofree char *file = g_build_filename(dir, "file", NULL);
	g_autofree char *under = g_build_filename(file, "sub", "addrs", NULL);
	g_autofree char *parent = g_path_get_dirname(path);
	struct ctl_addrs *a;
	uint8_t x[4], y[4];

	ck_assert(g_file_set_contents(file, "x", -1, NULL));
	ck_assert_ptr_null(ctl_addrs_open(under, NET16, 16, SELF16, NULL, 0));
	ck_assert_ptr_null(ctl_addrs_open(dir, NET16, 16, SELF16, NULL, 0));

	/* The state dir vanishes under an open table: -EIO, but assigned. */
	a = open16(NULL, 0);
	rm_tree(parent);
	ck_assert(g_file_set_contents(parent, "x", -1, NULL));
	ck_assert_int_eq(ctl_addrs_get(a, uid_of(1), x), -EIO);
	ck_assert_int_eq(ctl_addrs_get(a, uid_of(1), y), 0);
	ck_assert_mem_eq(x, y, 4);
	ck_assert_uint_eq(ctl_addrs_count(a), 1);
	ctl_addrs_free(a);
}
END_TEST

/* Pins that clash or leave the subnet make the whole config invalid. */
static const struct {
	unsigned uid[2];
	uint8_t v4[2][4];
} bad_pins[] = {
    {{1, 2}, {{10, 3, 0, 9}, {10, 3, 0, 9}}},	  /* same address */
    {{1, 1}, {{10, 3, 0, 9}, {10, 3, 0, 10}}},	  /* same uid */
    {{1, 2}, {{10, 3, 0, 9}, {10, 3, 0, 1}}},	  /* self */
    {{1, 2}, {{10, 3, 0, 9}, {10, 3, 0, 0}}},	  /* network */
    {{1, 2}, {{10, 3, 0, 9}, {10, 3, 255, 255}}}, /* broadcast */
    {{1, 2}, {{10, 3, 0, 9}, {10, 4, 0, 9}}},	  /* outside */
    {{0, 2}, {{10, 3, 0, 9}, {10, 3, 0, 10}}},	  /* bad uid */
};

static const uint8_t NET10[4] = {10, 3, 0, 0};
static const uint8_t SELF10[4] = {10, 3, 0, 1};

START_TEST(invalid_pins)
{
	struct ctl_addr_pin pins[2];
	char uids[2][41];
	unsigned k;

	for (k = 0; k < 2; k++) {
		if (bad_pins[_i].uid[k] == 0)
			g_strlcpy(uids[k], "not-a-uid", sizeof(uids[k]));
		else
			g_strlcpy(uids[k], uid_of(bad_pins[_i].uid[k]),
				  sizeof(uids[k]));
		pins[k].uid = uids[k];
		memcpy(pins[k].v4, bad_pins[_i].v4[k], 4);
	}
	ck_assert_ptr_null(ctl_addrs_open(path, NET10, 16, SELF10, pins, 2));
	ck_assert(!g_file_test(path, G_FILE_TEST_EXISTS));
	/* The first pin alone is fine. */
	if (bad_pins[_i].uid[0] != 0) {
		struct ctl_addrs *a =
		    ctl_addrs_open(path, NET10, 16, SELF10, pins, 1);

		ck_assert_ptr_nonnull(a);
		ctl_addrs_free(a);
	}
}
END_TEST

START_TEST(invalid_arguments)
{
	const uint8_t bad_self[][4] = {
	    {10, 3, 0, 0},
	    {10, 3, 255, 255},
	    {10, 4, 0, 1},
	};
	struct ctl_addrs *a;
	uint8_t x[4];
	unsigned i;

	ck_assert_ptr_null(ctl_addrs_open(path, NET10, 7, SELF10, NULL, 0));
	ck_assert_ptr_null(ctl_addrs_open(path, NET10, 31, SELF10, NULL, 0));
	ck_assert_ptr_null(ctl_addrs_open(path, NET10, 16, SELF10, NULL, 1));
	ck_assert_ptr_null(ctl_addrs_open("", NET10, 16, SELF10, NULL, 0));
	for (i = 0; i < G_N_ELEMENTS(bad_self); i++)
		ck_assert_ptr_null(
		    ctl_addrs_open(path, NET10, 16, bad_self[i], NULL, 0));
	ck_assert(!g_file_test(path, G_FILE_TEST_EXISTS));

	a = ctl_addrs_open(path, NET10, 16, SELF10, NULL, 0);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(ctl_addrs_get(a, "short", x), -EINVAL);
	ck_assert_int_eq(ctl_addrs_get(a, NULL, x), -EINVAL);
	ck_assert_int_eq(
	    ctl_addrs_get(a, "ABCDEF0123456789ABCDEF0123456789ABCDEF01", x),
	    -EINVAL);
	ck_assert_uint_eq(ctl_addrs_count(a), 0);
	ctl_addrs_free(a);
	ctl_addrs_free(NULL);
}
END_TEST

/* 1000 devices in a /16: all distinct, all kept across a reopen. */
START_TEST(many_uids)
{
	enum { N = 1000 };
	struct ctl_addrs *a = open16(NULL, 0);
	GHashTable *seen = g_hash_table_new(g_direct_hash, g_direct_equal);
	uint32_t *got = g_new(uint32_t, N);
	uint8_t x[4];
	unsigned i;

	for (i = 0; i < N; i++) {
		ck_assert_int_eq(ctl_addrs_get(a, uid_of(i), x), 0);
		ck_assert_uint_eq(u32(x) & 0xffff0000, 0xac1f0000);
		ck_assert_uint_ne(u32(x), 0xac1f0000);
		ck_assert_uint_ne(u32(x), 0xac1fffff);
		ck_assert_uint_ne(u32(x), 0xac1f0001);
		ck_assert(g_hash_table_add(seen, GUINT_TO_POINTER(u32(x))));
		got[i] = u32(x);
	}
	ctl_addrs_free(a);
	a = open16(NULL, 0);
	ck_assert_uint_eq(ctl_addrs_count(a), N);
	for (i = N; i-- > 0;) {
		ck_assert_int_eq(ctl_addrs_get(a, uid_of(i), x), 0);
		ck_assert_uint_eq(u32(x), got[i]);
	}
	put32(got[0], x);
	ck_assert(ctl_addrs_taken(a, x, NULL));
	ctl_addrs_free(a);
	g_hash_table_destroy(seen);
	g_free(got);
}
END_TEST

Suite *suite_addrs(void)
{
	Suite *s = suite_create("addrs");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, stable_across_reopen);
	tcase_add_test(tc, same_start_in_fresh_tables);
	tcase_add_loop_test(tc, fill_subnet, 0, G_N_ELEMENTS(fills));
	tcase_add_test(tc, pins_win);
	tcase_add_test(tc, pin_moves_stored);
	tcase_add_test(tc, corrupt_lines_skipped);
	tcase_add_test(tc, subnet_change_reassigns);
	tcase_add_test(tc, file_mode);
	tcase_add_test(tc, unwritable);
	tcase_add_loop_test(tc, invalid_pins, 0, G_N_ELEMENTS(bad_pins));
	tcase_add_test(tc, invalid_arguments);
	tcase_add_test(tc, many_uids);
	suite_add_tcase(s, tc);
	return s;
}
