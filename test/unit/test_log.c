/*
 * Tests of common/log.c's writer as the daemons run it: lines with time and
 * program on a terminal or file, "<N>" priority prefixes and no time when
 * JOURNAL_STREAM names stderr (systemd's journald stream), and the level
 * steps SIGUSR1/SIGUSR2 make in ipop-controller.  Each test points stderr
 * at a temporary file and puts everything back (CK_FORK=no runs them in one
 * process).
 */
#define G_LOG_DOMAIN "logtest"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "common/log.h"

struct capture {
	char *path;
	int fd;	   /* the temporary file */
	int saved; /* the original stderr */
};

/* Sends stderr to a new temporary file. */
static void capture_start(struct capture *c)
{
	c->fd = g_file_open_tmp("ipop-log-XXXXXX", &c->path, NULL);
	ck_assert_int_ge(c->fd, 0);
	fflush(stderr);
	c->saved = dup(2);
	ck_assert_int_ge(c->saved, 0);
	ck_assert_int_eq(dup2(c->fd, 2), 2);
}

/* What was written so far, as a new string. */
static char *captured(struct capture *c)
{
	char *text = NULL;

	fflush(stderr);
	ck_assert(g_file_get_contents(c->path, &text, NULL, NULL));
	return text;
}

/* Puts stderr, the level and the writer's journal choice back. */
static void capture_end(struct capture *c)
{
	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
	close(c->fd);
	unlink(c->path);
	g_free(c->path);
	unsetenv("JOURNAL_STREAM");
	ipop_log_init("ipop-test", G_LOG_DOMAIN);
	ck_assert(ipop_log_set_level("message"));
}

/* Sets JOURNAL_STREAM to fd's "DEV:INODE", as systemd does. */
static void set_journal_stream(int fd)
{
	struct stat st;
	char v[64];

	ck_assert_int_eq(fstat(fd, &st), 0);
	g_snprintf(v, sizeof(v), "%ju:%ju", (uintmax_t)st.st_dev,
		   (uintmax_t)st.st_ino);
	ck_assert_int_eq(setenv("JOURNAL_STREAM", v, 1), 0);
}

START_TEST(test_log_journal_prefix)
{
	struct capture c;
	char *text;

	capture_start(&c);
	set_journal_stream(2);
	ipop_log_init("ipop-test", G_LOG_DOMAIN);
	ck_assert(ipop_log_set_level("message"));
	ck_assert(ipop_log_to_journal());
	g_message("link ov/abc: up");
	g_log("GLib-Test", G_LOG_LEVEL_WARNING, "from a library");
	g_info("not at message");
	g_log("GLib-Test", G_LOG_LEVEL_MESSAGE, "a library's message");
	text = captured(&c);
	ck_assert_str_eq(text, "<5>[message] link ov/abc: up\n"
			       "<4>[warning] GLib-Test: from a library\n");
	g_free(text);
	capture_end(&c);
}
END_TEST

START_TEST(test_log_timestamps_off_journal)
{
	struct capture c;
	GRegex *re;
	char *text;

	capture_start(&c);
	unsetenv("JOURNAL_STREAM");
	ipop_log_init("ipop-test", G_LOG_DOMAIN);
	ck_assert(!ipop_log_to_journal());
	g_message("hello");
	text = captured(&c);
	re = g_regex_new("^[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3} "
			 "ipop-test\\[message\\] hello\n$",
			 0, 0, NULL);
	ck_assert_msg(g_regex_match(re, text, 0, NULL), "got '%s'", text);
	g_regex_unref(re);
	g_free(text);
	capture_end(&c);
}
END_TEST

/* A JOURNAL_STREAM inherited from a unit but naming another file (stderr
 * redirected), or malformed, keeps the timestamps. */
static const char *const bad_streams[] = {
    "", "12", "12:", ":34", "1:2x", "a:b", "1:2:3", "-1:-1",
};

START_TEST(test_log_journal_stream_mismatch)
{
	struct capture c;
	char *other;
	int fd = g_file_open_tmp("ipop-log-other-XXXXXX", &other, NULL);
	unsigned i;

	ck_assert_int_ge(fd, 0);
	capture_start(&c);
	set_journal_stream(fd);
	ipop_log_init("ipop-test", G_LOG_DOMAIN);
	ck_assert(!ipop_log_to_journal());
	for (i = 0; i < G_N_ELEMENTS(bad_streams); i++) {
		setenv("JOURNAL_STREAM", bad_streams[i], 1);
		ipop_log_init("ipop-test", G_LOG_DOMAIN);
		ck_assert_msg(!ipop_log_to_journal(), "'%s'", bad_streams[i]);
	}
	/* And the matching one, last, proves the test can tell. */
	set_journal_stream(2);
	ipop_log_init("ipop-test", G_LOG_DOMAIN);
	ck_assert(ipop_log_to_journal());
	capture_end(&c);
	close(fd);
	unlink(other);
	g_free(other);
}
END_TEST

START_TEST(test_log_step)
{
	struct capture c;
	char *text;

	capture_start(&c);
	set_journal_stream(2);
	ipop_log_init("ipop-test", G_LOG_DOMAIN);
	ck_assert(ipop_log_set_level("message"));
	g_info("hidden at message");
	ck_assert_str_eq(ipop_log_step(+1, "SIGUSR1"), "info");
	g_info("shown at info");
	g_debug("hidden at info");
	ck_assert_str_eq(ipop_log_step(+1, "SIGUSR1"), "debug");
	ck_assert_str_eq(ipop_log_step(+1, "SIGUSR1"), "debug");
	ck_assert_str_eq(ipop_log_level(), "debug");
	ck_assert_str_eq(ipop_log_step(-5, "SIGUSR2"), "warning");
	ck_assert_str_eq(ipop_log_step(-1, NULL), "warning");
	g_message("hidden at warning");
	g_warning("shown at warning");
	text = captured(&c);
	ck_assert_str_eq(text, "<5>[message] log level now info (SIGUSR1)\n"
			       "<6>[info] shown at info\n"
			       "<5>[message] log level now debug (SIGUSR1)\n"
			       "<5>[message] log level now debug (SIGUSR1)\n"
			       "<5>[message] log level now warning (SIGUSR2)\n"
			       "<5>[message] log level now warning (request)\n"
			       "<4>[warning] shown at warning\n");
	g_free(text);
	capture_end(&c);
}
END_TEST

extern Suite *suite_log(void);

Suite *suite_log(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("writer");

	tcase_add_test(tc, test_log_journal_prefix);
	tcase_add_test(tc, test_log_timestamps_off_journal);
	tcase_add_test(tc, test_log_journal_stream_mismatch);
	tcase_add_test(tc, test_log_step);
	suite_add_tcase(s, tc);
	return s;
}
