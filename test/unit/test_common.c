/*
 * Tests of common/: the name rules every program shares, the strict
 * encodings (base64, hex, MAC), the whole-read/whole-write helpers and the
 * secret-file rule.  The uid rule is tested with the key files in
 * test_identity.c.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "common/encoding.h"
#include "common/io.h"
#include "common/log.h"
#include "common/names.h"

static const struct {
	const char *s;
	bool overlay, ifname;
} name_cases[] = {
    {"a", true, true},
    {"hs.lab_2-x", true, true},
    {"123456789012345", true, true},
    {"1234567890123456", true, false},
    {"12345678901234567890123456789012", true, false},
    {"123456789012345678901234567890123", false, false},
    {"", false, false},
    {"a b", false, false},
    {"a/b", false, false},
    {"a:b", false, false},
    {"caf\xc3\xa9", false, false},
    {"x\n", false, false},
};

START_TEST(test_names)
{
	ck_assert_msg(ipop_overlay_name_is_valid(name_cases[_i].s) ==
			  name_cases[_i].overlay,
		      "overlay name '%s'", name_cases[_i].s);
	ck_assert_msg(ipop_ifname_is_valid(name_cases[_i].s) ==
			  name_cases[_i].ifname,
		      "ifname '%s'", name_cases[_i].s);
}
END_TEST

START_TEST(test_names_null)
{
	ck_assert(!ipop_overlay_name_is_valid(NULL));
	ck_assert(!ipop_ifname_is_valid(NULL));
	ck_assert(ipop_label_is_valid(NULL));
}
END_TEST

START_TEST(test_groups)
{
	char longest[IPOP_GROUP_MAX + 2];

	ck_assert(ipop_group_is_valid("lab"));
	ck_assert(ipop_group_is_valid("team@example.org"));
	ck_assert(ipop_group_is_valid("a.b_c-d"));
	ck_assert(!ipop_group_is_valid(""));
	ck_assert(!ipop_group_is_valid(NULL));
	ck_assert(!ipop_group_is_valid("two words"));
	ck_assert(!ipop_group_is_valid("slash/no"));
	ck_assert(!ipop_group_is_valid("nl\n"));
	memset(longest, 'g', IPOP_GROUP_MAX);
	longest[IPOP_GROUP_MAX] = '\0';
	ck_assert(ipop_group_is_valid(longest));
	longest[IPOP_GROUP_MAX] = 'g';
	longest[IPOP_GROUP_MAX + 1] = '\0';
	ck_assert(!ipop_group_is_valid(longest));
}
END_TEST

START_TEST(test_labels)
{
	char longest[IPOP_LABEL_MAX + 2];

	ck_assert(ipop_label_is_valid(""));
	ck_assert(ipop_label_is_valid("Alice's laptop (caf\xc3\xa9)"));
	ck_assert(!ipop_label_is_valid("two\nlines"));
	ck_assert(!ipop_label_is_valid("esc\x1b[31m"));
	ck_assert(!ipop_label_is_valid("del\x7f"));
	memset(longest, 'x', IPOP_LABEL_MAX);
	longest[IPOP_LABEL_MAX] = '\0';
	ck_assert(ipop_label_is_valid(longest));
	longest[IPOP_LABEL_MAX] = 'x';
	longest[IPOP_LABEL_MAX + 1] = '\0';
	ck_assert(!ipop_label_is_valid(longest));
	/* Not UTF-8, and the C1 controls (U+009B is CSI on some terminals). */
	ck_assert(!ipop_label_is_valid("caf\xe9"));
	ck_assert(!ipop_label_is_valid("\xc2\x9b"
				       "31m"));
	ck_assert(!ipop_label_is_valid("\xc2\x85"));
	ck_assert(
	    ipop_label_is_valid("\xc2\xa0nbsp \xe2\x82\xac \xf0\x9f\x98\x80"));
}
END_TEST

/* The control socket's rule for every string, on counted bytes. */
static const struct {
	const char *s;
	size_t len;
	const char *problem; /* NULL: valid */
} text_cases[] = {
    {"", 0, NULL},
    {"hs", 2, NULL},
    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14, NULL},
    {"hs\0x", 4, "holds a NUL byte"},
    {"\0", 1, "holds a NUL byte"},
    {"hs\0", 3, "holds a NUL byte"},
    {"caf\xe9", 4, "is not valid UTF-8"},	   /* Latin-1 */
    {"\xc0\xaf", 2, "is not valid UTF-8"},	   /* overlong '/' */
    {"\xed\xa0\x80", 3, "is not valid UTF-8"},	   /* a surrogate */
    {"\xf4\x90\x80\x80", 4, "is not valid UTF-8"}, /* past U+10FFFF */
    {"\xe2\x82", 2, "is not valid UTF-8"},	   /* cut short */
    {"\xff", 1, "is not valid UTF-8"},
};

START_TEST(test_text)
{
	const char *p = ipop_text_problem(text_cases[_i].s, text_cases[_i].len);

	if (text_cases[_i].problem == NULL)
		ck_assert_msg(p == NULL, "case %d: %s", _i, p);
	else
		ck_assert_msg(p != NULL && !strcmp(p, text_cases[_i].problem),
			      "case %d: %s", _i, p ? p : "(valid)");
	ck_assert(ipop_text_is_valid(text_cases[_i].s, text_cases[_i].len) ==
		  (text_cases[_i].problem == NULL));
}
END_TEST

START_TEST(test_log_levels)
{
	static const char *const good[] = {"error",   "critical", "warning",
					   "message", "info",	  "debug"};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(good); i++) {
		ck_assert_msg(ipop_log_level_is_valid(good[i]), "%s", good[i]);
		ck_assert_ptr_nonnull(strstr(IPOP_LOG_LEVELS, good[i]));
	}
	ck_assert(!ipop_log_level_is_valid("verbose"));
	ck_assert(!ipop_log_level_is_valid(""));
	ck_assert(!ipop_log_level_is_valid("Debug"));
}
END_TEST

START_TEST(test_b64)
{
	uint8_t key[IPOP_KEY_LEN], again[IPOP_KEY_LEN];
	g_autofree char *text = NULL;
	char *bad;
	size_t i;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 37 + 11);
	text = g_base64_encode(key, sizeof(key));
	ck_assert(ipop_key_from_b64(text, again));
	ck_assert_mem_eq(key, again, sizeof(key));
	ck_assert(!ipop_key_from_b64(NULL, again));
	ck_assert(!ipop_key_from_b64("", again));
	/* One spelling only: a different last character that GLib would
	 * decode to the same bytes (non-zero trailing bits) is refused. */
	bad = g_strdup(text);
	bad[42] = bad[42] == 'A' ? 'B' : (char)(bad[42] + 1);
	ck_assert(!ipop_key_from_b64(bad, again));
	/* A character outside the alphabet, which GLib would skip. */
	bad[42] = text[42];
	bad[3] = '*';
	ck_assert(!ipop_key_from_b64(bad, again));
	g_free(bad);
	/* Wrong length: 31 bytes encoded. */
	g_free(text);
	text = g_base64_encode(key, sizeof(key) - 1);
	ck_assert(!ipop_key_from_b64(text, again));
	ck_assert(ipop_b64_is_valid("", 0));
	ck_assert(ipop_b64_is_valid("QQ==", 4));
	ck_assert(!ipop_b64_is_valid("QQ=", 3));
	ck_assert(!ipop_b64_is_valid("Q===", 4));
}
END_TEST

START_TEST(test_hex_and_mac)
{
	uint8_t out[3], mac[IPOP_MAC_LEN];
	static const uint8_t want[] = {0x02, 0xab, 0xcd, 0xef, 0x10, 0xff};

	ck_assert(ipop_hex_decode("0aFf10", 6, out, 3));
	ck_assert_uint_eq(out[0], 0x0a);
	ck_assert_uint_eq(out[1], 0xff);
	ck_assert_uint_eq(out[2], 0x10);
	ck_assert(!ipop_hex_decode("0aFf1", 5, out, 3));
	ck_assert(!ipop_hex_decode("0aFg10", 6, out, 3));
	ck_assert_int_eq(ipop_hex_digit('z'), -1);
	ck_assert(ipop_mac_parse("02:AB:cd:ef:10:ff", mac));
	ck_assert_mem_eq(mac, want, sizeof(want));
	memset(mac, 0x55, sizeof(mac));
	ck_assert(!ipop_mac_parse("02:ab:cd:ef:10", mac));
	ck_assert(!ipop_mac_parse("02-ab-cd-ef-10-ff", mac));
	ck_assert(!ipop_mac_parse("02:ab:cd:ef:10:ff:", mac));
	ck_assert(!ipop_mac_parse("02:ab:cd:ef:1x:ff", mac));
	ck_assert(!ipop_mac_parse(NULL, mac));
	ck_assert_uint_eq(mac[0], 0x55); /* untouched on failure */
}
END_TEST

static const struct {
	const char *in, *want;
} esc_cases[] = {
    {"plain name-1.x", "plain name-1.x"},
    {"", ""},
    {NULL, "(null)"},
    {"a\nb", "a\\x0ab"},
    {"\n[forged] x", "\\x0a[forged] x"},
    {"\r\t\x01", "\\x0d\\x09\\x01"},
    {"\x1b[31mred", "\\x1b[31mred"},
    {"del\x7f", "del\\x7f"},
    {"back\\slash", "back\\\\slash"},
    {"\\x0a", "\\\\x0a"}, /* cannot pass for an escaped newline */
    {"caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac"}, /* kept */
    {"\xff\xfe", "\\xff\\xfe"},				      /* not UTF-8 */
    {"\xc3", "\\xc3"},					      /* cut short */
    {"\xc0\xaf", "\\xc0\\xaf"},				      /* overlong */
    {"\xed\xa0\x80", "\\xed\\xa0\\x80"},		      /* surrogate */
    {"\xc2\x9b"
     "31m",
     "\\u{009B}31m"}, /* C1 CSI */
    {"\xe2\x80\xae"
     "txt",
     "\\u{202E}txt"}, /* bidi override */
    {"a\xe2\x80\xa8"
     "b",
     "a\\u{2028}b"}, /* line separator */
};

START_TEST(test_log_str)
{
	char buf[IPOP_LOG_STR_LEN];

	ck_assert_str_eq(ipop_log_str(esc_cases[_i].in, buf, sizeof(buf)),
			 esc_cases[_i].want);
	ck_assert_str_eq(IPOP_LOG_STR(esc_cases[_i].in), esc_cases[_i].want);
}
END_TEST

/* The bound: at most len - 1 bytes, cut on a boundary of what was escaped
 * (never half an escape or half a character), with the input's length. */
static void check_cut(const char *in, const char *unit, size_t len)
{
	char *buf = g_malloc(len), marker[48];
	const char *out = ipop_log_str(in, buf, len);
	size_t n = strlen(out), m, body, u = strlen(unit);

	g_snprintf(marker, sizeof(marker), "\xe2\x80\xa6(%zu bytes)",
		   strlen(in));
	m = strlen(marker);
	ck_assert_uint_le(n, len - 1);
	ck_assert_uint_ge(n, m);
	ck_assert_str_eq(out + n - m, marker);
	body = n - m;
	ck_assert_uint_eq(body % u, 0);
	ck_assert_uint_ge(body + 32 + u, len - 1); /* little room wasted */
	for (size_t i = 0; i < body; i += u)
		ck_assert(!strncmp(out + i, unit, u));
	ck_assert(g_utf8_validate(out, -1, NULL));
	g_free(buf);
}

static char *repeat(const char *unit, size_t times)
{
	GString *s = g_string_new(NULL);

	while (times--)
		g_string_append(s, unit);
	return g_string_free(s, FALSE);
}

START_TEST(test_log_str_bound)
{
	char buf[IPOP_LOG_STR_LEN];
	char *s;

	/* Exactly what fits is not cut; one byte more is. */
	s = repeat("A", IPOP_LOG_STR_LEN - 1);
	ck_assert_str_eq(ipop_log_str(s, buf, sizeof(buf)), s);
	g_free(s);
	s = repeat("A", IPOP_LOG_STR_LEN);
	check_cut(s, "A", IPOP_LOG_STR_LEN);
	g_free(s);
	s = repeat("A", 200 * 1024);
	check_cut(s, "A", IPOP_LOG_STR_LEN);
	check_cut(s, "A", IPOP_LOG_STR_MIN);
	check_cut(s, "A", 4096);
	g_free(s);
	s = repeat("\n", 1000);
	check_cut(s, "\\x0a", IPOP_LOG_STR_LEN);
	check_cut(s, "\\x0a", IPOP_LOG_STR_MIN + 1);
	g_free(s);
	s = repeat("\xc3\xa9", 1000);
	check_cut(s, "\xc3\xa9", IPOP_LOG_STR_LEN);
	check_cut(s, "\xc3\xa9", IPOP_LOG_STR_MIN + 1);
	g_free(s);
	s = repeat("\xe2\x80\xae", 300);
	check_cut(s, "\\u{202E}", IPOP_LOG_STR_LEN);
	g_free(s);
}
END_TEST

START_TEST(test_log_one_line)
{
	char *s, *out;

	ck_assert_ptr_null(ipop_log_one_line("one line\twith a tab"));
	ck_assert_ptr_null(ipop_log_one_line("escaped \\x0a stays"));
	out = ipop_log_one_line("a\n[forged] b\x1b[31m\r");
	ck_assert_str_eq(out, "a\\x0a[forged] b\\x1b[31m\\x0d");
	g_free(out);
	s = repeat("\xc3\xa9", IPOP_LOG_LINE_MAX);
	out = ipop_log_one_line(s);
	ck_assert_ptr_nonnull(out);
	ck_assert_uint_le(strlen(out), IPOP_LOG_LINE_MAX + 32);
	ck_assert(g_str_has_suffix(out, "(32768 bytes)"));
	ck_assert(g_utf8_validate(out, -1, NULL));
	g_free(out);
	g_free(s);
	s = repeat("x", IPOP_LOG_LINE_MAX);
	ck_assert_ptr_null(ipop_log_one_line(s));
	g_free(s);
}
END_TEST

static char tmpfile_path[64];

static int tmp_file(mode_t mode)
{
	int fd;

	strcpy(tmpfile_path, "/tmp/ipop-common-XXXXXX");
	fd = mkstemp(tmpfile_path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	return fd;
}

START_TEST(test_read_write_all)
{
	char big[5000], back[5001];
	size_t len = 0, i;
	int fd = tmp_file(0600);

	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	ck_assert_int_eq(ipop_write_all(fd, big, sizeof(big)), 0);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	ck_assert_int_eq(ipop_read_all(fd, back, sizeof(big), &len), 0);
	ck_assert_uint_eq(len, sizeof(big));
	ck_assert_mem_eq(back, big, sizeof(big));
	/* One byte over the limit is an error, not a silent truncation. */
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	ck_assert_int_eq(ipop_read_all(fd, back, sizeof(big) - 1, &len),
			 -EFBIG);
	ck_assert_int_eq(ipop_write_all(-1, big, 1), -EBADF);
	close(fd);
	unlink(tmpfile_path);
}
END_TEST

START_TEST(test_secret_mode)
{
	mode_t mode = 0;
	int fd = tmp_file(0600), dir;

	ck_assert_int_eq(ipop_secret_fd_check(fd, &mode), 0);
	ck_assert_uint_eq(mode, 0600);
	ck_assert_int_eq(fchmod(fd, 0640), 0);
	ck_assert_int_eq(ipop_secret_fd_check(fd, &mode), -EPERM);
	ck_assert_uint_eq(mode, 0640);
	ck_assert_int_eq(fchmod(fd, 0604), 0);
	ck_assert_int_eq(ipop_secret_fd_check(fd, NULL), -EPERM);
	ck_assert_int_eq(fchmod(fd, 0400), 0);
	ck_assert_int_eq(ipop_secret_fd_check(fd, NULL), 0);
	close(fd);
	unlink(tmpfile_path);
	dir = open("/tmp", O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(dir, 0);
	ck_assert_int_eq(ipop_secret_fd_check(dir, NULL), -EINVAL);
	close(dir);
}
END_TEST

extern Suite *suite_common(void);

Suite *suite_common(void)
{
	Suite *s = suite_create("common");
	TCase *tc = tcase_create("rules");

	tcase_add_loop_test(tc, test_names, 0, G_N_ELEMENTS(name_cases));
	tcase_add_test(tc, test_names_null);
	tcase_add_test(tc, test_groups);
	tcase_add_test(tc, test_labels);
	tcase_add_loop_test(tc, test_text, 0, G_N_ELEMENTS(text_cases));
	tcase_add_test(tc, test_log_levels);
	tcase_add_loop_test(tc, test_log_str, 0, G_N_ELEMENTS(esc_cases));
	tcase_add_test(tc, test_log_str_bound);
	tcase_add_test(tc, test_log_one_line);
	tcase_add_test(tc, test_b64);
	tcase_add_test(tc, test_hex_and_mac);
	suite_add_tcase(s, tc);
	tc = tcase_create("io");
	tcase_add_test(tc, test_read_write_all);
	tcase_add_test(tc, test_secret_mode);
	suite_add_tcase(s, tc);
	return s;
}
