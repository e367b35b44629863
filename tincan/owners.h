/*
 * Who owns which overlay: the rules of PROTOCOL.md §12 as a pure table,
 * with no sockets and no wire types (control.c asks it about each request).
 * A controller is either the whole-node controller (it claimed nothing in
 * its Hello: the behaviour of every client before ownership; at most one at
 * a time) or a scoped one that owns just the overlays it claimed.  Claims
 * map an overlay name to a client id; the whole-node controller owns every
 * name nobody claimed.  Owns the table and its copies of the names; knows
 * nothing of overlays that exist.
 */
#ifndef TC_OWNERS_H
#define TC_OWNERS_H

#include <stdbool.h>
#include <stddef.h>

enum {
	/* Overlays one controller may claim (in its Hello and afterwards). */
	TC_OWNERS_MAX_CLAIMS = 256,
};

struct tc_owners;

/* An empty table; never NULL. */
struct tc_owners *tc_owners_new(void);
/* Frees the table and its names; NULL is a no-op. */
void tc_owners_free(struct tc_owners *o);

/* Client id (non-zero) becomes the whole-node controller.  Returns the id
 * of the whole-node controller it replaces (to be told and disconnected),
 * 0 for none.  The claims of scoped controllers stay. */
unsigned tc_owners_set_whole(struct tc_owners *o, unsigned id);
/* Whether id is the whole-node controller. */
bool tc_owners_is_whole(const struct tc_owners *o, unsigned id);

/* Client id claims the overlay name (copied; it need not exist yet): 0 and
 * *prev = the owner it takes the name from (0 for none or id itself; the
 * whole-node controller when nobody had claimed it), or -ENOSPC when id
 * holds TC_OWNERS_MAX_CLAIMS already. */
int tc_owners_claim(struct tc_owners *o, unsigned id, const char *name,
		    unsigned *prev);
/* Client id gives up its claim on name: 0, or -ENOENT when id had not
 * claimed it.  The overlay keeps running. */
int tc_owners_release(struct tc_owners *o, unsigned id, const char *name);
/* Client id is gone: every claim it held is released, and it stops being
 * the whole-node controller.  Nothing else changes. */
void tc_owners_drop(struct tc_owners *o, unsigned id);

/* The owner of name: its claimer, else the whole-node controller, else 0. */
unsigned tc_owners_owner(const struct tc_owners *o, const char *name);
/* Whether the claims (not the whole-node default) give name to someone. */
bool tc_owners_is_claimed(const struct tc_owners *o, const char *name);
/* How many overlays id has claimed. */
unsigned tc_owners_count(const struct tc_owners *o, unsigned id);

/* Whether controller id may change overlay name: 0 or -EPERM.  NULL name
 * is a node-wide request (SetIceServers, SetLogLevel), which every
 * controller may send. */
int tc_owners_may(const struct tc_owners *o, unsigned id, const char *name);

#endif
