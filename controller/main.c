/*
 * ipop-controller: the control-plane daemon.  Parses arguments, loads and
 * validates the configuration, runs the daemon in the GLib main loop until
 * SIGTERM or SIGINT, says goodbye and frees everything.  SIGUSR1 and
 * SIGUSR2 make the log more or less verbose at run time.  SIGPIPE is
 * ignored: a peer that closes its end while we write (the XMPP server
 * after our end of stream) is an error return, not the end of the process.
 */
#define G_LOG_DOMAIN "controller"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib-unix.h>
#include <glib.h>
#include <sodium.h>

#include "controller/config.h"
#include "controller/daemon.h"
#include "controller/friends.h"
#include "common/log.h"

#ifndef IPOP_VERSION
#define IPOP_VERSION "0.0.0"
#endif

struct args {
	gchar *config;
	gchar *log_level;
	gchar *tincan_socket; /* overrides tincan.socket */
	gchar *state_dir;     /* overrides state_dir */
	gboolean check;
	gboolean version;
	int n_rest; /* "friends ..." after the options */
	char **rest;
};

static gboolean on_signal(gpointer loop)
{
	g_message("signal received, shutting down");
	g_main_loop_quit(loop);
	return G_SOURCE_CONTINUE;
}

static gboolean on_usr1(gpointer data)
{
	(void)data;
	ipop_log_step(+1, "SIGUSR1");
	return G_SOURCE_CONTINUE;
}

static gboolean on_usr2(gpointer data)
{
	(void)data;
	ipop_log_step(-1, "SIGUSR2");
	return G_SOURCE_CONTINUE;
}

static int parse(int argc, char **argv, struct args *a)
{
	GOptionEntry entries[] = {
	    {"config", 'c', 0, G_OPTION_ARG_FILENAME, &a->config,
	     "configuration file (YAML; see /usr/share/doc/ipop/examples)",
	     "FILE"},
	    {"log-level", 'l', 0, G_OPTION_ARG_STRING, &a->log_level,
	     "error|critical|warning|message|info|debug (default message)",
	     "LEVEL"},
	    {"tincan-socket", 0, 0, G_OPTION_ARG_FILENAME, &a->tincan_socket,
	     "tincan's control socket (overrides tincan.socket)", "PATH"},
	    {"state-dir", 0, 0, G_OPTION_ARG_FILENAME, &a->state_dir,
	     "state directory (overrides state_dir)", "DIR"},
	    {"check-config", 0, 0, G_OPTION_ARG_NONE, &a->check,
	     "validate the configuration and exit", NULL},
	    {"version", 'V', 0, G_OPTION_ARG_NONE, &a->version,
	     "print the version and exit", NULL},
	    {NULL, 0, 0, 0, NULL, NULL, NULL},
	};
	g_autoptr(GOptionContext) oc =
	    g_option_context_new("[friends list|add|remove|approve|refuse "
				 "[JID]] - IPOP control plane (XMPP, GroupVPN, "
				 "SocialVPN, switch mode)");
	g_autoptr(GError) err = NULL;

	g_option_context_set_summary(
	    oc,
	    "Logs into XMPP, finds the members of its overlays and drives\n"
	    "the local ipop-tincan so that every member reaches every other.\n"
	    "With 'friends ...' after the options it manages the account's\n"
	    "friends instead (real roster and subscription stanzas) and "
	    "exits;\n"
	    "see ipop-controller(8), FRIENDS.");
	g_option_context_add_main_entries(oc, entries, NULL);
	if (!g_option_context_parse(oc, &argc, &argv, &err)) {
		fprintf(stderr, "ipop-controller: %s (try --help)\n",
			err->message);
		return -1;
	}
	if (argc > 1 && !strcmp(argv[1], "friends")) {
		a->n_rest = argc - 1;
		a->rest = argv + 1;
	} else if (argc > 1) {
		fprintf(stderr, "ipop-controller: unexpected argument '%s'\n",
			argv[1]);
		return -1;
	}
	if (!a->version && !a->config) {
		fprintf(stderr, "ipop-controller: --config FILE is required "
				"(try --help)\n");
		return -1;
	}
	return 0;
}

static int run(const struct ctl_config *cfg)
{
	struct ctl_daemon *d = ctl_daemon_new(cfg);
	GMainLoop *loop = g_main_loop_new(NULL, FALSE);
	guint s1 = g_unix_signal_add(SIGTERM, on_signal, loop);
	guint s2 = g_unix_signal_add(SIGINT, on_signal, loop);
	guint s3 = g_unix_signal_add(SIGUSR1, on_usr1, NULL);
	guint s4 = g_unix_signal_add(SIGUSR2, on_usr2, NULL);

	g_main_loop_run(loop);
	ctl_daemon_shutdown(d);
	ctl_daemon_free(d);
	g_source_remove(s1);
	g_source_remove(s2);
	g_source_remove(s3);
	g_source_remove(s4);
	g_main_loop_unref(loop);
	return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	struct args a = {0};
	struct ctl_config *cfg = NULL;
	g_autoptr(GError) err = NULL;
	int rc = EXIT_FAILURE;

	/* libstrophe writes TLS records with OpenSSL's plain write(), which
	 * raises SIGPIPE when the server has already closed the socket (seen
	 * at the end of `friends` over STARTTLS: exit 141 after the answer). */
	signal(SIGPIPE, SIG_IGN);
	if (parse(argc, argv, &a) < 0)
		goto out;
	if (a.version) {
		printf("ipop-controller %s\n", IPOP_VERSION);
		rc = EXIT_SUCCESS;
		goto out;
	}
	ipop_log_init("ipop-controller", G_LOG_DOMAIN);
	if (a.log_level && !ipop_log_set_level(a.log_level)) {
		fprintf(stderr, "ipop-controller: unknown log level '%s'\n",
			a.log_level);
		goto out;
	}
	if (sodium_init() < 0)
		goto out;
	cfg = ctl_config_load(a.config, &err);
	if (!cfg) {
		/* One line; under journald filed as an error ("<3>"). */
		fprintf(stderr, "%sipop-controller: %s\n",
			ipop_log_to_journal() ? "<3>" : "", err->message);
		goto out;
	}
	/* The instance units (ipop-controller@NAME) pair each configuration
	 * with its own tincan and state, whatever the file says. */
	if (a.tincan_socket) {
		g_free(cfg->tincan_socket);
		cfg->tincan_socket = g_strdup(a.tincan_socket);
	}
	if (a.state_dir) {
		g_free(cfg->state_dir);
		cfg->state_dir = g_strdup(a.state_dir);
	}
	if (a.check) {
		printf("%s: configuration OK (%u overlay%s)\n", a.config,
		       cfg->n_overlays, cfg->n_overlays == 1 ? "" : "s");
		rc = EXIT_SUCCESS;
		goto out;
	}
	if (a.n_rest > 0) {
		rc = ctl_friends_main(cfg, a.n_rest, a.rest);
		goto out;
	}
	rc = run(cfg);
out:
	ctl_config_free(cfg);
	g_free(a.config);
	g_free(a.log_level);
	g_free(a.tincan_socket);
	g_free(a.state_dir);
	return rc;
}
