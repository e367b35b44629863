/*
 * What the two halves of the control socket share: control.c (clients,
 * framing, Hello, roles, requests, events) and control_listen.c (the
 * listening socket, admission of new connections, the Hello deadline).
 * Only they include this.
 */
#ifndef TC_CONTROL_INT_H
#define TC_CONTROL_INT_H

#include <stdbool.h>
#include <sys/types.h>

#include <glib.h>

#include "common/log.h"
#include "proto/frame.h"
#include "tincan/control.h"
#include "tincan/owners.h"

/* Above the data path (TAP and link sockets), so a saturated link cannot
 * hold a controller's request back for more than one data dispatch. */
enum { CONTROL_PRIORITY = G_PRIORITY_HIGH };

struct client {
	struct tc_control *ctl;
	unsigned id;
	int fd;
	guint in_watch, out_watch;
	struct ipop_frame_reader *reader;
	GByteArray *out;
	Ipop__Role role; /* ROLE_UNSPECIFIED until Hello */
	pid_t pid;
	uid_t uid;
	bool privileged;	     /* root or tincan's own user */
	char name[IPOP_LOG_STR_LEN]; /* Hello.client_name, escaped, cut */
	gint64 since;		     /* monotonic us of the accept */
};

struct tc_control {
	char *path;
	int fd;
	guint watch;
	gid_t gid;
	const struct tc_control_handler *h;
	GList *clients;		  /* newest first */
	struct tc_owners *owners; /* which controller owns which overlay */
	unsigned next_id;
	guint sweep;		 /* drops clients past their Hello deadline */
	unsigned evicted;	 /* pre-Hello clients closed in this burst */
	unsigned late;		 /* pre-Hello clients past the deadline */
	unsigned refused;	 /* connections refused in this burst */
	gint64 burst_logged;	 /* monotonic us of the last burst line */
	uint64_t events_dropped; /* see tc_control_get_stats */
};

/* Disconnects cl and frees it (consumes cl; it leaves c->clients). */
void tc_control_client_free(struct client *cl);
/* The fd watch of a client: reads frames and hands each to the handler. */
gboolean tc_control_on_readable(gint fd, GIOCondition cond, gpointer data);

#endif
