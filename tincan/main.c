/*
 * ipop-tincan: the dataplane daemon.  Parses arguments, builds the node,
 * runs the GLib main loop until SIGTERM or SIGINT, and frees everything.
 */
#define G_LOG_DOMAIN "tincan"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib.h>
#include <sodium.h>

#include "common/log.h"
#include "common/paths.h"
#include "tincan/aead.h"
#include "tincan/metrics_http.h"
#include "tincan/node.h"
#include "tincan/session.h"

#ifndef IPOP_VERSION
#define IPOP_VERSION "0.0.0"
#endif

enum { SHUTDOWN_GRACE_MS = 300 };

struct args {
	gchar *socket;
	gchar *state_dir;
	gchar *log_level;
	gchar *group;
	gchar *metrics;
	gchar *cipher;
	gboolean foreground;
	gboolean version;
	gboolean loopback;
};

static gboolean on_signal(gpointer loop)
{
	g_message("signal received, shutting down");
	g_main_loop_quit(loop);
	return G_SOURCE_CONTINUE;
}

/* --cipher: which transport suites the links offer and accept.  A suite
 * this CPU cannot run is a start-up error. */
static int set_cipher(const char *name)
{
	unsigned set;
	int r;

	if (!name)
		return 0;
	r = tc_aead_suites_parse(name, &set);
	if (r == -ENOTSUP) {
		fprintf(stderr,
			"ipop-tincan: --cipher %s: this CPU lacks AES-NI or "
			"PCLMUL (libsodium's AES-256-GCM is not available)\n",
			name);
		return r;
	}
	if (r < 0 || tc_session_set_default_suites(set) < 0) {
		fprintf(stderr,
			"ipop-tincan: --cipher: '%s' is not auto, "
			"chacha20-poly1305 or aes-256-gcm\n",
			name);
		return -EINVAL;
	}
	return 0;
}

/* A bad --metrics address is a start-up error, said before anything
 * starts. */
static int check_metrics(const char *addr)
{
	struct sockaddr_storage sa;
	socklen_t len;
	char why[160];

	if (!addr)
		return 0;
	if (tc_http_parse_addr(addr, &sa, &len, why, sizeof(why)) < 0) {
		fprintf(stderr, "ipop-tincan: --metrics: %s\n", why);
		return -EINVAL;
	}
	return 0;
}

static int parse(int argc, char **argv, struct args *a)
{
	GOptionEntry entries[] = {
	    {"socket", 's', 0, G_OPTION_ARG_FILENAME, &a->socket,
	     "control socket (default " IPOP_SOCKET_DEFAULT ")", "PATH"},
	    {"state-dir", 'd', 0, G_OPTION_ARG_FILENAME, &a->state_dir,
	     "identity and state (default " IPOP_TINCAN_STATE_DEFAULT ")",
	     "DIR"},
	    {"log-level", 'l', 0, G_OPTION_ARG_STRING, &a->log_level,
	     "error|critical|warning|message|info|debug (default message)",
	     "LEVEL"},
	    {"socket-group", 'g', 0, G_OPTION_ARG_STRING, &a->group,
	     "group allowed to use the control socket", "NAME"},
	    {"metrics", 'm', 0, G_OPTION_ARG_STRING, &a->metrics,
	     "serve Prometheus metrics on http://ADDR:PORT/metrics "
	     "(e.g. 127.0.0.1:9586 or [::1]:9586; off by default)",
	     "ADDR:PORT"},
	    {"cipher", 'c', 0, G_OPTION_ARG_STRING, &a->cipher,
	     "transport cipher of the links: auto (AES-256-GCM where both "
	     "ends have AES-NI, else ChaCha20-Poly1305), chacha20-poly1305 "
	     "or aes-256-gcm (default auto)",
	     "NAME"},
	    {"foreground", 'f', 0, G_OPTION_ARG_NONE, &a->foreground,
	     "stay in the foreground", NULL},
	    {"allow-loopback", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE,
	     &a->loopback, "use loopback addresses as ICE candidates", NULL},
	    {"version", 'V', 0, G_OPTION_ARG_NONE, &a->version,
	     "print the version and exit", NULL},
	    {NULL, 0, 0, 0, NULL, NULL, NULL},
	};
	g_autoptr(GOptionContext) oc =
	    g_option_context_new("- IPOP dataplane daemon");
	g_autoptr(GError) err = NULL;

	g_option_context_set_summary(
	    oc, "Owns TAP devices and encrypted ICE links; driven over the\n"
		"control socket by ipop-controller or ipopctl.");
	g_option_context_add_main_entries(oc, entries, NULL);
	if (!g_option_context_parse(oc, &argc, &argv, &err)) {
		fprintf(stderr, "ipop-tincan: %s (try --help)\n", err->message);
		return -EINVAL;
	}
	if (argc > 1) {
		fprintf(stderr, "ipop-tincan: unexpected argument '%s'\n",
			argv[1]);
		return -EINVAL;
	}
	if (sodium_init() < 0 || set_cipher(a->cipher) < 0)
		return -EINVAL;
	return check_metrics(a->metrics);
}

static int resolve_group(const char *name, gid_t *gid)
{
	struct group *g;

	*gid = (gid_t)-1;
	if (!name)
		return 0;
	g = getgrnam(name);
	if (!g) {
		fprintf(stderr, "ipop-tincan: unknown group '%s'\n", name);
		return -ENOENT;
	}
	*gid = g->gr_gid;
	return 0;
}

static void free_args(struct args *a)
{
	g_free(a->socket);
	g_free(a->state_dir);
	g_free(a->log_level);
	g_free(a->group);
	g_free(a->metrics);
	g_free(a->cipher);
}

/* Lets closing agents release their TURN allocations. */
static void drain(void)
{
	gint64 end = g_get_monotonic_time() + SHUTDOWN_GRACE_MS * 1000;

	while (g_get_monotonic_time() < end && g_main_context_pending(NULL))
		g_main_context_iteration(NULL, FALSE);
}

int main(int argc, char **argv)
{
	struct args a = {0};
	struct tc_node_options opt = {0};
	struct tc_node *node;
	struct tc_metrics_http *metrics = NULL;
	GMainLoop *loop;
	int rc = EXIT_FAILURE;

	if (parse(argc, argv, &a) < 0)
		goto out;
	if (a.version) {
		printf("ipop-tincan %s\n", IPOP_VERSION);
		rc = EXIT_SUCCESS;
		goto out;
	}
	ipop_log_init("ipop-tincan", G_LOG_DOMAIN);
	if (a.log_level && !ipop_log_set_level(a.log_level)) {
		fprintf(stderr, "ipop-tincan: unknown log level '%s'\n",
			a.log_level);
		goto out;
	}
	if (sodium_init() < 0 || resolve_group(a.group, &opt.socket_gid) < 0)
		goto out;
	opt.socket_path = a.socket ? a.socket : IPOP_SOCKET_DEFAULT;
	opt.state_dir = a.state_dir ? a.state_dir : IPOP_TINCAN_STATE_DEFAULT;
	opt.allow_loopback = a.loopback;
	if (!a.socket)
		g_mkdir_with_parents(IPOP_RUN_DIR, 0755);
	if (!a.foreground && daemon(0, 1) < 0) {
		fprintf(stderr, "ipop-tincan: daemon: %s\n", g_strerror(errno));
		goto out;
	}
	node = tc_node_new(&opt);
	if (!node)
		goto out;
	if (a.metrics) {
		metrics = tc_metrics_http_new(a.metrics, tc_node_metrics, node);
		if (!metrics) {
			tc_node_free(node);
			goto out;
		}
	}
	loop = g_main_loop_new(NULL, FALSE);
	g_unix_signal_add(SIGTERM, on_signal, loop);
	g_unix_signal_add(SIGINT, on_signal, loop);
	g_main_loop_run(loop);
	tc_metrics_http_free(metrics);
	tc_node_free(node);
	drain();
	g_main_loop_unref(loop);
	rc = EXIT_SUCCESS;
out:
	free_args(&a);
	return rc;
}
