/*
 * Tests of tincan/identity.c: key file creation and reload in a private
 * temporary dir, the modes it insists on, refusal of damaged or exposed key
 * files, and the uid derivation (checked against BLAKE2b-160 vectors
 * computed with Python's hashlib).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <sodium.h>

#include "tincan/identity.h"

static char tmpdir[64];

static void setup(void)
{
	strcpy(tmpdir, "/tmp/tc-identity-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void rm_rf(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *n;

	if (d == NULL)
		return;
	while ((n = g_dir_read_name(d)) != NULL) {
		g_autofree char *p = g_build_filename(dir, n, NULL);

		if (g_file_test(p, G_FILE_TEST_IS_DIR) &&
		    !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
			rm_rf(p);
		else
			g_unlink(p);
	}
	g_dir_close(d);
	g_rmdir(dir);
}

static void teardown(void)
{
	rm_rf(tmpdir);
}

/* Writes len bytes of key material to DIR/identity.key with mode. */
static char *write_key(const char *dir, size_t len, mode_t mode)
{
	char *path = g_build_filename(dir, "identity.key", NULL);
	uint8_t buf[128];
	int fd;

	ck_assert_uint_le(len, sizeof(buf));
	memset(buf, 0x42, sizeof(buf));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

START_TEST(test_create_and_reload)
{
	g_autofree char *state = g_build_filename(tmpdir, "a", "state", NULL);
	g_autofree char *path = g_build_filename(state, "identity.key", NULL);
	struct tc_identity *a, *b;
	uint8_t pub[IPOP_KEY_LEN];
	char uid[IPOP_UID_SIZE];
	struct stat st;
	mode_t old = umask(0);

	a = tc_identity_load(state);
	umask(old);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(stat(state, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(st.st_size, IPOP_KEY_LEN);

	/* pub and uid follow from priv. */
	ck_assert_int_eq(crypto_scalarmult_base(pub, a->priv), 0);
	ck_assert_mem_eq(pub, a->pub, IPOP_KEY_LEN);
	ipop_uid_from_key(a->pub, uid);
	ck_assert_str_eq(uid, a->uid);
	ck_assert(ipop_uid_is_valid(a->uid));

	b = tc_identity_load(state);
	ck_assert_ptr_nonnull(b);
	ck_assert_mem_eq(a->priv, b->priv, IPOP_KEY_LEN);
	ck_assert_mem_eq(a->pub, b->pub, IPOP_KEY_LEN);
	ck_assert_str_eq(a->uid, b->uid);
	tc_identity_free(a);
	tc_identity_free(b);
	tc_identity_free(NULL);
}
END_TEST

START_TEST(test_generate_differs)
{
	struct tc_identity *a = tc_identity_generate();
	struct tc_identity *b = tc_identity_generate();

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_str_ne(a->uid, b->uid);
	ck_assert(ipop_uid_is_valid(a->uid));
	tc_identity_free(a);
	tc_identity_free(b);
}
END_TEST

static const size_t bad_sizes[] = {0, 1, 16, 31, 33, 64, 65};

START_TEST(test_bad_size_refused)
{
	g_autofree char *path = write_key(tmpdir, bad_sizes[_i], 0600);
	struct stat st;

	errno = 0;
	ck_assert_ptr_null(tc_identity_load(tmpdir));
	ck_assert_int_eq(errno, EINVAL);
	/* Refused, not repaired. */
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, (off_t)bad_sizes[_i]);
}
END_TEST

static const mode_t bad_modes[] = {0644, 0640, 0604, 0660, 0666, 0610};

START_TEST(test_loose_mode_refused)
{
	g_autofree char *path = write_key(tmpdir, IPOP_KEY_LEN, bad_modes[_i]);
	struct stat st;

	errno = 0;
	ck_assert_ptr_null(tc_identity_load(tmpdir));
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, bad_modes[_i]);
}
END_TEST

START_TEST(test_good_existing_key)
{
	struct tc_identity *id;
	uint8_t priv[IPOP_KEY_LEN];

	/* Read-only for the owner is fine. */
	g_free(write_key(tmpdir, IPOP_KEY_LEN, 0400));
	id = tc_identity_load(tmpdir);
	memset(priv, 0x42, sizeof(priv));
	ck_assert_ptr_nonnull(id);
	ck_assert_mem_eq(id->priv, priv, IPOP_KEY_LEN);
	tc_identity_free(id);
}
END_TEST

START_TEST(test_not_a_file_refused)
{
	g_autofree char *path = g_build_filename(tmpdir, "identity.key", NULL);
	g_autofree char *target = g_build_filename(tmpdir, "elsewhere", NULL);

	/* A directory in place of the key. */
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_ptr_null(tc_identity_load(tmpdir));
	ck_assert_int_eq(rmdir(path), 0);
	/* A symlink in place of the key is neither followed nor written
	 * through. */
	ck_assert_int_eq(symlink(target, path), 0);
	ck_assert_ptr_null(tc_identity_load(tmpdir));
	ck_assert(!g_file_test(target, G_FILE_TEST_EXISTS));
	/* A state dir that is a file. */
	ck_assert_int_eq(unlink(path), 0);
	g_free(write_key(tmpdir, IPOP_KEY_LEN, 0600));
	ck_assert_ptr_null(tc_identity_load(path));
	ck_assert_ptr_null(tc_identity_load(""));
}
END_TEST

/* A key file of another user is refused: its owner could swap the key in
 * (audit, issue 18).  Needs root to give the file away. */
START_TEST(test_foreign_owner_refused)
{
	g_autofree char *path = write_key(tmpdir, IPOP_KEY_LEN, 0600);
	struct tc_identity *id;

	if (geteuid() != 0) {
		fprintf(stderr, "# SKIP identity:foreign_owner: needs root\n");
		return;
	}
	ck_assert_int_eq(chown(path, 65534, 65534), 0);
	errno = 0;
	ck_assert_ptr_null(tc_identity_load(tmpdir));
	ck_assert_int_eq(errno, EACCES);
	/* root's own file is fine. */
	ck_assert_int_eq(chown(path, 0, 0), 0);
	id = tc_identity_load(tmpdir);
	ck_assert_ptr_nonnull(id);
	tc_identity_free(id);
}
END_TEST

static void count_warning(const gchar *domain, GLogLevelFlags level,
			  const gchar *msg, gpointer data)
{
	(void)domain;
	(void)level;
	if (strstr(msg, "writable by group or others") != NULL)
		++*(int *)data;
}

/* A state dir others may write (and so remove or replace the key in) is
 * used, with a warning (audit, issue 18). */
START_TEST(test_open_dir_warned)
{
	g_autofree char *state = g_build_filename(tmpdir, "s", NULL);
	struct tc_identity *id;
	int warned = 0;
	guint h = g_log_set_handler("tincan", G_LOG_LEVEL_WARNING,
				    count_warning, &warned);

	ck_assert_int_eq(mkdir(state, 0700), 0);
	id = tc_identity_load(state);
	ck_assert_ptr_nonnull(id);
	tc_identity_free(id);
	ck_assert_int_eq(warned, 0);
	ck_assert_int_eq(chmod(state, 0777), 0);
	id = tc_identity_load(state);
	ck_assert_ptr_nonnull(id);
	tc_identity_free(id);
	ck_assert_int_eq(warned, 1);
	g_log_remove_handler("tincan", h);
}
END_TEST

/* A FIFO in place of the key is refused at once: opening it used to block
 * the start-up for ever, waiting for a writer (audit, issue 18). */
START_TEST(test_fifo_refused)
{
	g_autofree char *path = g_build_filename(tmpdir, "identity.key", NULL);

	ck_assert_int_eq(mkfifo(path, 0600), 0);
	errno = 0;
	ck_assert_ptr_null(tc_identity_load(tmpdir));
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

static const struct {
	uint8_t fill_kind; /* 0: all zero, 1: bytes 0..31 */
	const char *uid;
} uid_vectors[] = {
    {0, "0210bea6a139797d74aa5764fb226398f07f42c4"},
    {1, "b1b133b99f516e6c82ceda892ef5af50fa4b4e71"},
};

START_TEST(test_uid_vectors)
{
	uint8_t pub[IPOP_KEY_LEN];
	char uid[IPOP_UID_SIZE];
	int i;

	for (i = 0; i < IPOP_KEY_LEN; i++)
		pub[i] = uid_vectors[_i].fill_kind ? (uint8_t)i : 0;
	ipop_uid_from_key(pub, uid);
	ck_assert_str_eq(uid, uid_vectors[_i].uid);
}
END_TEST

static const struct {
	const char *s;
	bool valid;
} uid_cases[] = {
    {"0210bea6a139797d74aa5764fb226398f07f42c4", true},
    {"0123456789abcdef0123456789abcdef01234567", true},
    {"0210BEA6A139797D74AA5764FB226398F07F42C4", false},
    {"0210bea6a139797d74aa5764fb226398f07f42c", false},
    {"0210bea6a139797d74aa5764fb226398f07f42c40", false},
    {"0210bea6a139797d74aa5764fb226398f07f42cg", false},
    {"0210bea6a139797d74aa5764 b226398f07f42c4", false},
    {"", false},
    {NULL, false},
};

START_TEST(test_uid_is_valid)
{
	ck_assert_int_eq(ipop_uid_is_valid(uid_cases[_i].s),
			 uid_cases[_i].valid);
}
END_TEST

/* The packet path's uid hash: equal uids hash equal, 2,000 random uids
 * (uids of random keys) hardly collide, and a string shorter than 16
 * characters is read only up to its NUL (ASan, under make sanitize). */
START_TEST(test_uid_hash)
{
	GHashTable *seen = g_hash_table_new(NULL, NULL);
	uint8_t pub[IPOP_KEY_LEN];
	char a[IPOP_UID_SIZE], b[IPOP_UID_SIZE];
	char *shortest = g_strdup("ab");
	int i;

	for (i = 0; i < 2000; i++) {
		randombytes_buf(pub, sizeof(pub));
		ipop_uid_from_key(pub, a);
		memcpy(b, a, sizeof(b));
		ck_assert_uint_eq(ipop_uid_hash(a), ipop_uid_hash(b));
		g_hash_table_add(seen, GUINT_TO_POINTER(ipop_uid_hash(a)));
	}
	ck_assert_uint_ge(g_hash_table_size(seen), 1995);
	ck_assert_uint_ne(ipop_uid_hash(shortest), ipop_uid_hash(""));
	g_free(shortest);
	g_hash_table_destroy(seen);
}
END_TEST

extern Suite *suite_identity(void);

Suite *suite_identity(void)
{
	Suite *s = suite_create("identity");
	TCase *tc = tcase_create("keyfile");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_create_and_reload);
	tcase_add_test(tc, test_generate_differs);
	tcase_add_loop_test(tc, test_bad_size_refused, 0,
			    G_N_ELEMENTS(bad_sizes));
	tcase_add_loop_test(tc, test_loose_mode_refused, 0,
			    G_N_ELEMENTS(bad_modes));
	tcase_add_test(tc, test_good_existing_key);
	tcase_add_test(tc, test_not_a_file_refused);
	tcase_add_test(tc, test_fifo_refused);
	tcase_add_test(tc, test_foreign_owner_refused);
	tcase_add_test(tc, test_open_dir_warned);
	suite_add_tcase(s, tc);

	tc = tcase_create("uid");
	tcase_add_loop_test(tc, test_uid_vectors, 0, G_N_ELEMENTS(uid_vectors));
	tcase_add_loop_test(tc, test_uid_is_valid, 0, G_N_ELEMENTS(uid_cases));
	tcase_add_test(tc, test_uid_hash);
	suite_add_tcase(s, tc);
	return s;
}
