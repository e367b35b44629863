/*
 * libFuzzer harness for the controller's YAML configuration loader.  The
 * input is the file: it is written to an anonymous memfd and loaded through
 * /proc/self/fd/N with ctl_config_load, the path the daemon takes (secret
 * files named by the configuration are then looked for in /proc/self/fd/),
 * and it is parsed from memory with ctl_config_parse, which looks for them
 * in the working directory: a private one holding a group secret and an
 * XMPP password file (group-secret, xmpp-password, in $TMPDIR; removed at
 * exit), so configurations that name them reach the secret readers.  A
 * refusal must say why, naming the file; an accepted configuration must
 * hold what the loader promises.  Everything is freed, so LeakSanitizer
 * sees any leak across iterations.
 */
#include <assert.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <glib.h>

#include "controller/config.h"

enum { CONFIG_MAX = 64 * 1024 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put_file(const char *name, const char *text)
{
	int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert(fd >= 0);
	assert(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
}

static char *dir;

static void cleanup(void)
{
	char *p;

	p = g_build_filename(dir, "group-secret", NULL);
	(void)unlink(p);
	g_free(p);
	p = g_build_filename(dir, "xmpp-password", NULL);
	(void)unlink(p);
	g_free(p);
	(void)rmdir(dir);
}

/* In $TMPDIR: libFuzzer may end without running atexit handlers, and
 * test/fuzz/run points TMPDIR at a directory it removes. */
static void setup(void)
{
	dir =
	    g_build_filename(g_get_tmp_dir(), "ipop-fuzz-config.XXXXXX", NULL);
	assert(g_mkdtemp(dir) != NULL && chdir(dir) == 0);
	atexit(cleanup);
	put_file("group-secret", "0123456789abcdef0123456789abcdef\n");
	put_file("xmpp-password", "hunter2\n");
}

static void check(const struct ctl_config *c)
{
	assert(c->jid != NULL && c->tincan_socket != NULL);
	assert(c->state_dir != NULL && c->port > 0);
	assert(c->n_overlays <= CTL_MAX_OVERLAYS);
	assert(c->n_stun <= CTL_MAX_SERVERS && c->n_turn <= CTL_MAX_SERVERS);
	for (unsigned i = 0; i < c->n_overlays; i++) {
		const struct ctl_overlay_config *o = &c->overlays[i];

		assert(o->name != NULL && o->tap != NULL);
		assert(o->n_pins <= CTL_MAX_PINS);
		assert(o->mtu > 0);
	}
}

/* A result of the loader: a configuration, or an error naming the file. */
static void result(struct ctl_config *c, GError *err, const char *name)
{
	if (c == NULL) {
		assert(err != NULL && err->message != NULL);
		assert(strstr(err->message, name) != NULL);
		g_error_free(err);
	} else {
		assert(err == NULL);
		check(c);
		ctl_config_free(c);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct ctl_config *c;
	GError *err = NULL;
	char path[64];
	int fd;

	if (!ready) {
		setup();
		ready = true;
	}
	if (size > CONFIG_MAX)
		return 0;
	fd = memfd_create("fuzz-config", MFD_CLOEXEC);
	assert(fd >= 0);
	assert(size == 0 || write(fd, data, size) == (ssize_t)size);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	c = ctl_config_load(path, &err);
	result(c, err, path);
	close(fd);
	err = NULL;
	c = ctl_config_parse((const char *)data, size, "fuzz.yaml", &err);
	result(c, err, "fuzz.yaml");
	return 0;
}
