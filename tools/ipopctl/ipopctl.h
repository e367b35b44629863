/*
 * ipopctl: the command-line client of tincan's control socket.  One run
 * parses and validates one command (every user input is checked before the
 * socket is touched), connects to the Unix socket, says Hello (OBSERVER for
 * queries, CONTROLLER for changes), sends the request and prints the answer
 * as aligned tables or, with --json, as JSON.  It keeps no state between runs
 * and owns no policy: what each message means is tincan's business (see
 * proto/PROTOCOL.md).  Exit codes: 0 ok, 1 the request failed, 2 usage
 * error, 3 cannot connect, protocol error or timeout.  Everything allocated
 * is freed on every path.
 *
 * This header holds what every file of ipopctl shares: the exit codes, the
 * run's context (struct ctl), the parsed command line (struct args), the
 * command table's row and the command handlers, one family per file
 * (node.c, overlay.c, link.c, mapping.c, events.c, metrics.c, graph.c).
 * main.c owns the table, --help and the option parser; client.h the socket,
 * parse.h the checks of user input, render.h the tables, json.h the JSON
 * output.
 */
#ifndef IPOPCTL_H
#define IPOPCTL_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "common/limits.h"
#include "proto/frame.h"
#include "proto/ipop.pb-c.h"

/* Exit codes. */
enum {
	CTL_OK = 0,
	CTL_FAIL = 1,  /* tincan answered with an error status */
	CTL_USAGE = 2, /* bad command line, nothing was sent */
	CTL_CONN = 3,  /* cannot connect, protocol error or timeout */
};

/* ipopctl's own numbers; the limits every program shares (key and name
 * lengths, the MTU range, ...) are in common/limits.h. */
enum {
	DEFAULT_TIMEOUT_MS = 5000,
	MAX_TIMEOUT_MS = 24 * 3600 * 1000,
	POLL_MS = 100,	    /* wait-link and candidates re-ask this often */
	PSK_FILE_MAX = 256, /* longer PSK files are refused unread */
};

struct ctl;

/* Command-line values; strings are borrowed from argv. */
struct args {
	char **pos;
	int npos;
	char *tap, *ipv4, *ipv6, *mtu, *mode, *psk_file, *mac, *peer_ipv4;
	char *bridge, *label;
	char *kind, *ondemand_rate, *ondemand_idle;
	bool remove, translation;
	char *overlay;	 /* graph --overlay */
	GPtrArray *stun; /* char * from argv, not owned */
	GPtrArray *turn;
};

/* One row of the command table (main.c). */
struct command {
	const char *name;
	Ipop__Role role;
	int (*run)(struct ctl *c, struct args *a);
	int min_pos, max_pos; /* max_pos < 0: any number */
	const char *opts;     /* accepted options, " name " separated */
	const char *synopsis;
	const char *help;
};

/* Called for each event that arrives while a command waits; borrows ev. */
typedef void (*event_fn)(struct ctl *c, const Ipop__Event *ev);

/* One run's context: built by main, borrowed by everything else. */
struct ctl {
	const char *socket_path; /* borrowed from argv or the environment */
	bool json;
	bool eof_ok; /* EOF ends the command quietly (events) */
	bool eof;
	int timeout_ms; /* per reply; 0 = no limit */
	const struct command *cmd;
	int fd;			      /* owned, -1 when not connected */
	struct ipop_frame_reader *rd; /* owned */
	uint64_t next_id;
	event_fn on_event; /* events seen while waiting for a reply */
	void *ev_arg;	   /* borrowed by on_event */
	bool ev_done;	   /* set by on_event: stop waiting */
};

/* Says on stderr what is wrong with the command line and how the current
 * command is used (main.c). */
void usage_msg(struct ctl *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* An expression: prints the message, evaluates to CTL_USAGE. */
#define usage_err(c, ...) (usage_msg((c), __VA_ARGS__), CTL_USAGE)

/* The commands: each checks a's values first, then talks to tincan, prints
 * the answer and returns an exit code.  Borrow c and a. */
/* node.c */
int cmd_status(struct ctl *c, struct args *a);
int cmd_stats(struct ctl *c, struct args *a);
int cmd_set_ice(struct ctl *c, struct args *a);
int cmd_log_level(struct ctl *c, struct args *a);
int cmd_echo(struct ctl *c, struct args *a);
/* overlay.c */
int cmd_create_overlay(struct ctl *c, struct args *a);
int cmd_remove_overlay(struct ctl *c, struct args *a);
/* link.c */
int cmd_create_link(struct ctl *c, struct args *a);
int cmd_add_candidates(struct ctl *c, struct args *a);
int cmd_remove_link(struct ctl *c, struct args *a);
int cmd_candidates(struct ctl *c, struct args *a);
int cmd_wait_link(struct ctl *c, struct args *a);
/* mapping.c */
int cmd_map_peer(struct ctl *c, struct args *a);
/* route.c */
int cmd_set_route(struct ctl *c, struct args *a);
int cmd_set_link_kind(struct ctl *c, struct args *a);
/* The name of a link kind, and the kind of a name (CTL_USAGE if none). */
const char *route_kind_name(Ipop__LinkKind k);
int parse_link_kind(struct ctl *c, const char *s, Ipop__LinkKind *out);
/* events.c */
int cmd_events(struct ctl *c, struct args *a);
/* metrics.c, graph.c */
int cmd_metrics(struct ctl *c, struct args *a);
int cmd_graph(struct ctl *c, struct args *a);

#endif
