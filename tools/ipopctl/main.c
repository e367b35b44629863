/*
 * ipopctl's main: the command table, --help, the option parser (global
 * options before and after the command, the command's own options and
 * positionals) and the run itself.  See ipopctl.h for the whole.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <glib.h>

#include "common/log.h"
#include "common/names.h"
#include "common/paths.h"
#include "tools/ipopctl/client.h"
#include "tools/ipopctl/parse.h"

/* Says what is wrong with the command line and how it is used. */
void usage_msg(struct ctl *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("ipopctl: ", stderr);
	if (c->cmd != NULL)
		fprintf(stderr, "%s: ", c->cmd->name);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (c->cmd != NULL)
		fprintf(stderr, "usage: ipopctl [OPTIONS] %s%s%s\n",
			c->cmd->name, c->cmd->synopsis[0] ? " " : "",
			c->cmd->synopsis);
	fputs("Try 'ipopctl --help' for more information.\n", stderr);
}

static int cmd_help(struct ctl *c, struct args *a);

static const struct command commands[] = {
    {"status", IPOP__ROLE__OBSERVER, cmd_status, 0, 0, "", "",
     "identity, ICE servers, overlays, mappings and links"},
    {"create-overlay", IPOP__ROLE__CONTROLLER, cmd_create_overlay, 1, 1,
     " tap ipv4 ipv6 mtu mode psk-file translation bridge ondemand-rate"
     " ondemand-idle ",
     "NAME --tap IFNAME [--ipv4 A.B.C.D/P] [--ipv6 ADDR/P] [--mtu N]"
     " [--mode l3|switch] [--bridge BRIDGE] [--psk-file FILE]"
     " [--translation] [--ondemand-rate BYTES_PER_S]"
     " [--ondemand-idle MS]",
     "create an overlay and its TAP (PSK file: 32 raw bytes or 64 hex;"
     " --translation: SocialVPN address translation)"},
    {"remove-overlay", IPOP__ROLE__CONTROLLER, cmd_remove_overlay, 1, 1, "",
     "NAME", "remove an overlay, its TAP and its links"},
    {"set-ice", IPOP__ROLE__CONTROLLER, cmd_set_ice, 0, 0, " stun turn ",
     "[--stun IP:PORT]... [--turn IP:PORT,USER,PASS]...",
     "replace the STUN/TURN servers (none given: clear them)"},
    {"create-link", IPOP__ROLE__CONTROLLER, cmd_create_link, 3, 3, " kind ",
     "OVERLAY PEER_UID PEER_PUBKEY [--kind KIND]",
     "start a link to a peer (PEER_PUBKEY: base64 of 32 bytes; KIND:"
     " successor, chord, on-demand)"},
    {"candidates", IPOP__ROLE__OBSERVER, cmd_candidates, 2, 2, "",
     "OVERLAY PEER_UID",
     "print the local candidate blob once gathering is done"},
    {"add-candidates", IPOP__ROLE__CONTROLLER, cmd_add_candidates, 3, 3, "",
     "OVERLAY PEER_UID BLOB", "give a link the peer's candidate blob"},
    {"map-peer", IPOP__ROLE__CONTROLLER, cmd_map_peer, 2, 2,
     " ipv4 ipv6 mac remove peer-ipv4 label ",
     "OVERLAY PEER_UID [--ipv4 A] [--ipv6 A] [--mac aa:bb:cc:dd:ee:ff]"
     " [--peer-ipv4 A] [--label TEXT] [--remove]",
     "map overlay addresses to a peer (or remove the mapping)"},
    {"remove-link", IPOP__ROLE__CONTROLLER, cmd_remove_link, 2, 2, "",
     "OVERLAY PEER_UID", "close and forget a link"},
    {"set-route", IPOP__ROLE__CONTROLLER, cmd_set_route, 2, 3, " remove ",
     "OVERLAY DEST_UID VIA_UID | OVERLAY DEST_UID --remove",
     "GroupVPN: forward frames for DEST_UID to the link to VIA_UID"
     " (or drop that route)"},
    {"set-link-kind", IPOP__ROLE__CONTROLLER, cmd_set_link_kind, 3, 3, "",
     "OVERLAY PEER_UID KIND",
     "label a link successor, chord, on-demand or unspecified"},
    {"stats", IPOP__ROLE__OBSERVER, cmd_stats, 0, 1, "", "[OVERLAY]",
     "per-link counters"},
    {"wait-link", IPOP__ROLE__OBSERVER, cmd_wait_link, 2, 2, "",
     "OVERLAY PEER_UID", "wait (up to --timeout) until the link is connected"},
    {"events", IPOP__ROLE__OBSERVER, cmd_events, 0, 0, "", "",
     "stream events as JSON lines until interrupted"},
    {"metrics", IPOP__ROLE__OBSERVER, cmd_metrics, 0, 0, "", "",
     "print tincan's metrics (Prometheus text, as --metrics serves them)"},
    {"graph", IPOP__ROLE__OBSERVER, cmd_graph, 0, 0, " overlay ",
     "[--overlay NAME]",
     "write the topology seen from this node as Graphviz DOT"
     " (dot -Tpng > topology.png)"},
    {"log-level", IPOP__ROLE__CONTROLLER, cmd_log_level, 1, 1, "", "LEVEL",
     "set tincan's log level (" IPOP_LOG_LEVELS ")"},
    {"echo", IPOP__ROLE__OBSERVER, cmd_echo, 0, -1, "", "[TEXT]",
     "round trip through tincan; prints TEXT back"},
    {"help", IPOP__ROLE__OBSERVER, cmd_help, 0, 0, "", "", "show this help"},
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"usage: ipopctl [--socket PATH] [--json] [--timeout MS]"
		" COMMAND [ARGS]\n\n"
		"Options:\n"
		"  --socket PATH  control socket (default $" IPOP_SOCKET_ENV
		", else " IPOP_SOCKET_DEFAULT ")\n"
		"  --json         print JSON instead of tables\n"
		"  --timeout MS   wait at most MS ms for each reply "
		"(default %d, 0 = forever)\n"
		"  --help         show this help\n"
		"  --version      print the version\n\nCommands:\n",
		DEFAULT_TIMEOUT_MS);
	for (i = 0; i < G_N_ELEMENTS(commands); i++)
		fprintf(f, "  %-15s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\nArguments:\n");
	for (i = 0; i < G_N_ELEMENTS(commands); i++)
		if (commands[i].synopsis[0] != '\0')
			fprintf(f, "  %s %s\n", commands[i].name,
				commands[i].synopsis);
	fprintf(f, "\nPEER_UID is 40 lowercase hex digits.\n"
		   "NAME, OVERLAY: " IPOP_NAME_RULE ".\n"
		   "IFNAME, BRIDGE: " IPOP_IFNAME_RULE ".\n"
		   "Exit status: 0 ok, 1 request failed, 2 usage error,"
		   " 3 cannot connect,\nprotocol error or timeout.\n");
}

static int cmd_help(struct ctl *c, struct args *a)
{
	(void)c;
	(void)a;
	usage(stdout);
	return CTL_OK;
}

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* Stores a single-valued option, refusing repeats. */
static int set_once(struct ctl *c, char **slot, const char *name, char *val)
{
	if (*slot != NULL)
		return usage_err(c, "--%s given twice", name);
	*slot = val;
	return 0;
}

/* The global options, accepted before and after the command. */
static int global_opt(struct ctl *c, const char *name, char *val)
{
	unsigned long ms;

	if (strcmp(name, "json") == 0) {
		c->json = true;
	} else if (strcmp(name, "socket") == 0) {
		c->socket_path = val;
	} else {
		if (!parse_ulong(val, 0, MAX_TIMEOUT_MS, &ms))
			return usage_err(c,
					 "--timeout must be 0..%d ms, got"
					 " '%s'",
					 MAX_TIMEOUT_MS, val);
		c->timeout_ms = (int)ms;
	}
	return 0;
}

static bool opt_takes_value(const char *name)
{
	return strcmp(name, "json") != 0 && strcmp(name, "remove") != 0 &&
	       strcmp(name, "translation") != 0 && strcmp(name, "help") != 0 &&
	       strcmp(name, "version") != 0;
}

static bool is_global_opt(const char *name)
{
	return strcmp(name, "json") == 0 || strcmp(name, "socket") == 0 ||
	       strcmp(name, "timeout") == 0;
}

/* Whether the current command (none yet: a is NULL) takes --name. */
static bool is_known_opt(struct ctl *c, struct args *a, const char *name)
{
	char pat[40];

	if (is_global_opt(name))
		return true;
	if (a == NULL || strlen(name) > 20)
		return false;
	snprintf(pat, sizeof(pat), " %s ", name);
	return strstr(c->cmd->opts, pat) != NULL;
}

static int command_opt(struct ctl *c, struct args *a, const char *name,
		       char *val)
{
	g_assert(a != NULL);
	/* Flags (--remove, --translation) come without a value. */
	if (val == NULL && opt_takes_value(name))
		return usage_err(c, "--%s needs a value", name);
	if (strcmp(name, "stun") == 0)
		g_ptr_array_add(a->stun, val);
	else if (strcmp(name, "turn") == 0)
		g_ptr_array_add(a->turn, val);
	else if (strcmp(name, "remove") == 0)
		a->remove = true;
	else if (strcmp(name, "translation") == 0)
		a->translation = true;
	else if (strcmp(name, "peer-ipv4") == 0)
		return set_once(c, &a->peer_ipv4, name, val);
	else if (strcmp(name, "bridge") == 0)
		return set_once(c, &a->bridge, name, val);
	else if (strcmp(name, "label") == 0)
		return set_once(c, &a->label, name, val);
	else if (strcmp(name, "tap") == 0)
		return set_once(c, &a->tap, name, val);
	else if (strcmp(name, "ipv4") == 0)
		return set_once(c, &a->ipv4, name, val);
	else if (strcmp(name, "ipv6") == 0)
		return set_once(c, &a->ipv6, name, val);
	else if (strcmp(name, "mtu") == 0)
		return set_once(c, &a->mtu, name, val);
	else if (strcmp(name, "mode") == 0)
		return set_once(c, &a->mode, name, val);
	else if (strcmp(name, "psk-file") == 0)
		return set_once(c, &a->psk_file, name, val);
	else if (strcmp(name, "mac") == 0)
		return set_once(c, &a->mac, name, val);
	else if (strcmp(name, "kind") == 0)
		return set_once(c, &a->kind, name, val);
	else if (strcmp(name, "ondemand-rate") == 0)
		return set_once(c, &a->ondemand_rate, name, val);
	else if (strcmp(name, "ondemand-idle") == 0)
		return set_once(c, &a->ondemand_idle, name, val);
	else if (strcmp(name, "overlay") == 0)
		return set_once(c, &a->overlay, name, val);
	return 0;
}

/* Handles argv[*i], an option "--name", "--name=value" or "--name value".
 * Returns 0, CTL_USAGE, or -1 for --help / --version (already printed). */
static int one_option(struct ctl *c, struct args *a, int argc, char **argv,
		      int *i)
{
	char *arg = argv[*i] + 2, *eq = strchr(arg, '='), *val = NULL;
	char name[32];

	if (strcmp(arg, "help") == 0 || strcmp(argv[*i], "-h") == 0) {
		usage(stdout);
		return -1;
	}
	if (strcmp(arg, "version") == 0) {
		printf("ipopctl %s\n", IPOP_VERSION);
		return -1;
	}
	snprintf(name, sizeof(name), "%.*s",
		 (int)(eq != NULL ? (size_t)(eq - arg) : strlen(arg)), arg);
	if (!is_known_opt(c, a, name))
		return usage_err(c, "unknown option --%s", name);
	if (opt_takes_value(name)) {
		if (eq != NULL)
			val = eq + 1;
		else if (*i + 1 < argc)
			val = argv[++*i];
		else
			return usage_err(c, "--%s needs a value", name);
	} else if (eq != NULL) {
		return usage_err(c, "--%s takes no value", name);
	}
	if (is_global_opt(name))
		return global_opt(c, name, val);
	return command_opt(c, a, name, val);
}

static bool is_option(const char *s)
{
	return strcmp(s, "-h") == 0 || (s[0] == '-' && s[1] == '-' && s[2]);
}

/* Parses the command's own arguments (global options allowed too). */
static int parse_command(struct ctl *c, struct args *a, int argc, char **argv)
{
	bool opts_done = false;
	int i, r;

	a->pos = g_new0(char *, (size_t)argc + 1);
	for (i = 0; i < argc; i++) {
		if (!opts_done && strcmp(argv[i], "--") == 0) {
			opts_done = true;
		} else if (!opts_done && is_option(argv[i])) {
			r = one_option(c, a, argc, argv, &i);
			if (r != 0)
				return r;
		} else {
			a->pos[a->npos++] = argv[i];
		}
	}
	if (a->npos < c->cmd->min_pos)
		return usage_err(c, "missing arguments");
	if (c->cmd->max_pos >= 0 && a->npos > c->cmd->max_pos)
		return usage_err(c, "too many arguments ('%s')",
				 a->pos[c->cmd->max_pos]);
	return 0;
}

/* Global options, then the command name; *argi gets its index. */
static int parse_global(struct ctl *c, int argc, char **argv, int *argi)
{
	int i, r;

	for (i = 1; i < argc && is_option(argv[i]); i++) {
		r = one_option(c, NULL, argc, argv, &i);
		if (r != 0)
			return r;
	}
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc)
		return usage_err(c, "no command given");
	c->cmd = find_command(argv[i]);
	if (c->cmd == NULL)
		return usage_err(c, "unknown command '%s'", argv[i]);
	*argi = i + 1;
	return 0;
}

static int check_socket_path(struct ctl *c)
{
	struct sockaddr_un sa;
	size_t len = c->socket_path != NULL ? strlen(c->socket_path) : 0;

	if (len == 0 || len >= sizeof(sa.sun_path))
		return usage_err(c,
				 "socket path '%s' is empty or longer than"
				 " %zu bytes",
				 c->socket_path, sizeof(sa.sun_path) - 1);
	return 0;
}

static int run(struct ctl *c, int argc, char **argv)
{
	struct args a;
	int argi = 0, r;

	memset(&a, 0, sizeof(a));
	a.stun = g_ptr_array_new();
	a.turn = g_ptr_array_new();
	r = parse_global(c, argc, argv, &argi);
	if (r == 0)
		r = parse_command(c, &a, argc - argi, argv + argi);
	if (r == 0)
		r = check_socket_path(c);
	if (r == 0)
		r = c->cmd->run(c, &a);
	else if (r < 0)
		r = CTL_OK; /* --help or --version */
	g_free(a.pos);
	g_ptr_array_free(a.stun, TRUE);
	g_ptr_array_free(a.turn, TRUE);
	return r;
}

int main(int argc, char **argv)
{
	struct ctl c;
	const char *env = getenv(IPOP_SOCKET_ENV);
	int r;

	signal(SIGPIPE, SIG_IGN);
	memset(&c, 0, sizeof(c));
	c.fd = -1;
	c.next_id = 1;
	c.timeout_ms = DEFAULT_TIMEOUT_MS;
	c.socket_path =
	    env != NULL && env[0] != '\0' ? env : IPOP_SOCKET_DEFAULT;
	r = run(&c, argc, argv);
	client_close(&c);
	if (fflush(stdout) != 0 && errno != EPIPE && r == CTL_OK) {
		fprintf(stderr, "ipopctl: writing output: %s\n",
			strerror(errno));
		r = CTL_FAIL;
	}
	return r;
}
