/*
 * The control socket: a Unix stream listener, its clients, framing, the
 * Hello exchange, roles, who owns which overlay (tincan/owners.h: scoped
 * controllers own what they claim; one whole-node controller at a time, a
 * new one replacing the old), and event fan-out.  Owns the listening fd, every
 * client and their buffers; it does not interpret requests: those go to the
 * handler.
 */
#ifndef TC_CONTROL_H
#define TC_CONTROL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/ipop.pb-c.h"

enum {
	TC_CONTROL_MAX_CLIENTS = 64,
	TC_CONTROL_MAX_QUEUE = 8 * 1024 * 1024, /* bytes queued per client */
	/* Connections that have not said Hello yet: at most this many (a new
	 * one closes the oldest), each for at most TC_CONTROL_HELLO_MS. */
	TC_CONTROL_MAX_PENDING = 16,
	TC_CONTROL_HELLO_MS = 3000,
	/* Slots beyond TC_CONTROL_MAX_CLIENTS that only root or tincan's own
	 * user may take, so a full table never locks out the operator. */
	TC_CONTROL_RESERVED = 4,
};

/* What to do with a new connection (tc_control_admit). */
enum tc_control_admit {
	TC_ADMIT_ACCEPT,
	/* Close the oldest pre-Hello connection, then accept; with only
	 * privileged ones waiting and an unprivileged newcomer, refuse. */
	TC_ADMIT_EVICT,
	TC_ADMIT_REFUSE,
};

struct tc_control_handler {
	/* Fills resp for req (borrowed).  The role is already checked against
	 * tc_control_role_check's table. */
	void (*handle)(void *ctx, const Ipop__Request *req,
		       Ipop__Response *resp);
	/* Frees what handle put into resp, after it was sent. */
	void (*release)(void *ctx, Ipop__Response *resp);
	/* Fills the HelloReply (borrowed fields). */
	void (*hello)(void *ctx, Ipop__HelloReply *reply);
	void *ctx;
};

struct tc_control;

/* Binds and listens on path (a stale socket file is replaced, a live one is
 * refused), mode 0660, group gid if gid != (gid_t)-1.  Borrows h.  NULL with
 * a logged reason. */
struct tc_control *tc_control_new(const char *path, gid_t gid,
				  const struct tc_control_handler *h);
/* Disconnects every client, closes and unlinks the socket; NULL is a no-op. */
void tc_control_free(struct tc_control *c);
/* Queues ev to every client that completed its Hello (borrows ev). */
void tc_control_broadcast(struct tc_control *c, Ipop__Event *ev);
/* Whether role may send a request of kind (PROTOCOL.md §5's table): 0,
 * -EPERM (answered DENIED) or -EOPNOTSUPP for a kind this tincan does not
 * know. */
int tc_control_role_check(Ipop__Role role, Ipop__Request__KindCase kind);
/* The admission rule, a pure function: with `pending` connections before
 * their Hello among `total`, may a new one from a privileged peer (root or
 * tincan's own user) or not come in?  Room is made by closing the oldest
 * pre-Hello connection; with none to close, privileged peers still have
 * TC_CONTROL_RESERVED slots. */
enum tc_control_admit tc_control_admit(unsigned pending, unsigned total,
				       bool privileged);
/* The request's name as PROTOCOL.md spells it ("SetLogLevel"); static. */
const char *tc_control_request_name(Ipop__Request__KindCase kind);

/* For metrics: clients connected, whether one is the CONTROLLER, and the
 * events a client did not get because it was dropped (its queue full). */
struct tc_control_stats {
	unsigned clients;
	bool controller;
	uint64_t events_dropped;
};
void tc_control_get_stats(const struct tc_control *c,
			  struct tc_control_stats *st);

#endif
