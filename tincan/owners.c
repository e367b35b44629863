/*
 * The ownership table of the control socket (owners.h).  A hash table of
 * claims (overlay name -> client id) and the id of the whole-node
 * controller; every rule of PROTOCOL.md §12 is a function of these two.
 */
#include <errno.h>

#include <glib.h>

#include "tincan/owners.h"

struct tc_owners {
	GHashTable *claims; /* name (owned) -> GUINT_TO_POINTER(id) */
	unsigned whole;	    /* the whole-node controller, 0 for none */
};

struct tc_owners *tc_owners_new(void)
{
	struct tc_owners *o = g_new0(struct tc_owners, 1);

	o->claims =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	return o;
}

void tc_owners_free(struct tc_owners *o)
{
	if (!o)
		return;
	g_hash_table_destroy(o->claims);
	g_free(o);
}

unsigned tc_owners_set_whole(struct tc_owners *o, unsigned id)
{
	unsigned old = o->whole;

	o->whole = id;
	return old == id ? 0 : old;
}

bool tc_owners_is_whole(const struct tc_owners *o, unsigned id)
{
	return id != 0 && o->whole == id;
}

unsigned tc_owners_count(const struct tc_owners *o, unsigned id)
{
	GHashTableIter it;
	gpointer v;
	unsigned n = 0;

	g_hash_table_iter_init(&it, o->claims);
	while (g_hash_table_iter_next(&it, NULL, &v))
		n += GPOINTER_TO_UINT(v) == id;
	return n;
}

int tc_owners_claim(struct tc_owners *o, unsigned id, const char *name,
		    unsigned *prev)
{
	gpointer v;
	bool had = g_hash_table_lookup_extended(o->claims, name, NULL, &v);
	unsigned old = had ? GPOINTER_TO_UINT(v) : o->whole;

	*prev = 0;
	if (had && old == id)
		return 0;
	if (tc_owners_count(o, id) >= TC_OWNERS_MAX_CLAIMS)
		return -ENOSPC;
	g_hash_table_insert(o->claims, g_strdup(name), GUINT_TO_POINTER(id));
	*prev = old == id ? 0 : old;
	return 0;
}

int tc_owners_release(struct tc_owners *o, unsigned id, const char *name)
{
	gpointer v;

	if (!g_hash_table_lookup_extended(o->claims, name, NULL, &v) ||
	    GPOINTER_TO_UINT(v) != id)
		return -ENOENT;
	g_hash_table_remove(o->claims, name);
	return 0;
}

static gboolean held_by(gpointer key, gpointer value, gpointer id)
{
	(void)key;
	return value == id;
}

void tc_owners_drop(struct tc_owners *o, unsigned id)
{
	g_hash_table_foreach_remove(o->claims, held_by, GUINT_TO_POINTER(id));
	if (o->whole == id)
		o->whole = 0;
}

unsigned tc_owners_owner(const struct tc_owners *o, const char *name)
{
	gpointer v;

	if (g_hash_table_lookup_extended(o->claims, name, NULL, &v))
		return GPOINTER_TO_UINT(v);
	return o->whole;
}

bool tc_owners_is_claimed(const struct tc_owners *o, const char *name)
{
	return g_hash_table_contains(o->claims, name);
}

int tc_owners_may(const struct tc_owners *o, unsigned id, const char *name)
{
	if (id == 0)
		return -EPERM;
	if (name == NULL)
		return 0;
	return tc_owners_owner(o, name) == id ? 0 : -EPERM;
}
