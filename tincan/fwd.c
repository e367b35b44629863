/*
 * Forwarding table of one L3 overlay: four GHashTables over the same set of
 * entries, keyed by uid, IPv4, IPv6 and MAC.  The uid table owns the
 * entries; the other three borrow both key and value from them (a key is a
 * pointer into its own entry), so an entry and its index rows always go
 * together.  No I/O and no links: callers find the link by uid.
 */
#define G_LOG_DOMAIN "tincan"

#include <errno.h>
#include <string.h>

#include <glib.h>

#include "common/uid.h"
#include "tincan/fwd.h"

struct tc_fwd {
	GHashTable *by_uid; /* uid -> entry, owns the entries */
	GHashTable *by_v4;  /* entry->v4 -> entry */
	GHashTable *by_v6;  /* entry->v6 -> entry */
	GHashTable *by_mac; /* entry->mac -> entry */
};

/* FNV-1a over a short key: addresses are not chosen by an attacker in a way
 * that matters here (the controller maps them), so a simple hash will do. */
static guint hash_bytes(const uint8_t *p, size_t n)
{
	guint h = 2166136261u;

	while (n-- > 0)
		h = (h ^ *p++) * 16777619u;
	return h;
}

static guint v4_hash(gconstpointer k)
{
	return hash_bytes(k, 4);
}

static gboolean v4_equal(gconstpointer a, gconstpointer b)
{
	return memcmp(a, b, 4) == 0;
}

static guint v6_hash(gconstpointer k)
{
	return hash_bytes(k, 16);
}

static gboolean v6_equal(gconstpointer a, gconstpointer b)
{
	return memcmp(a, b, 16) == 0;
}

static guint mac_hash(gconstpointer k)
{
	return hash_bytes(k, 6);
}

static gboolean mac_equal(gconstpointer a, gconstpointer b)
{
	return memcmp(a, b, 6) == 0;
}

struct tc_fwd *tc_fwd_new(void)
{
	struct tc_fwd *f = g_new0(struct tc_fwd, 1);

	f->by_uid =
	    g_hash_table_new_full(ipop_uid_hash, g_str_equal, NULL, g_free);
	f->by_v4 = g_hash_table_new(v4_hash, v4_equal);
	f->by_v6 = g_hash_table_new(v6_hash, v6_equal);
	f->by_mac = g_hash_table_new(mac_hash, mac_equal);
	return f;
}

void tc_fwd_free(struct tc_fwd *f)
{
	if (f == NULL)
		return;
	g_hash_table_destroy(f->by_mac);
	g_hash_table_destroy(f->by_v6);
	g_hash_table_destroy(f->by_v4);
	g_hash_table_destroy(f->by_uid);
	g_free(f);
}

static bool mac_is_usable(const uint8_t mac[6])
{
	static const uint8_t zero[6];

	return (mac[0] & 0x01) == 0 && memcmp(mac, zero, 6) != 0;
}

/* True if key is indexed in t by an entry of a uid other than uid. */
static bool taken_by_other(GHashTable *t, const void *key, const char *uid)
{
	const struct tc_fwd_entry *o = g_hash_table_lookup(t, key);

	return o != NULL && strcmp(o->uid, uid) != 0;
}

/* Drops e from the address indexes (not from by_uid, which frees it). */
static void unindex(struct tc_fwd *f, const struct tc_fwd_entry *e)
{
	if (e->has_v4)
		g_hash_table_remove(f->by_v4, e->v4);
	if (e->has_v6)
		g_hash_table_remove(f->by_v6, e->v6);
	g_hash_table_remove(f->by_mac, e->mac);
}

int tc_fwd_map(struct tc_fwd *f, const struct tc_fwd_entry *e)
{
	struct tc_fwd_entry *n, *old;

	if (!ipop_uid_is_valid(e->uid) || !mac_is_usable(e->mac))
		return -EINVAL;
	if ((e->has_v4 && taken_by_other(f->by_v4, e->v4, e->uid)) ||
	    (e->has_v6 && taken_by_other(f->by_v6, e->v6, e->uid)) ||
	    taken_by_other(f->by_mac, e->mac, e->uid))
		return -EEXIST;
	n = g_memdup2(e, sizeof(*e));
	if (!n->has_v4)
		memset(n->v4, 0, sizeof(n->v4));
	if (!n->has_v6)
		memset(n->v6, 0, sizeof(n->v6));
	old = g_hash_table_lookup(f->by_uid, e->uid);
	if (old != NULL) {
		unindex(f, old);
		g_hash_table_remove(f->by_uid, old->uid);
	}
	g_hash_table_insert(f->by_uid, n->uid, n);
	if (n->has_v4)
		g_hash_table_insert(f->by_v4, n->v4, n);
	if (n->has_v6)
		g_hash_table_insert(f->by_v6, n->v6, n);
	g_hash_table_insert(f->by_mac, n->mac, n);
	return 0;
}

int tc_fwd_unmap(struct tc_fwd *f, const char *uid)
{
	const struct tc_fwd_entry *e = tc_fwd_by_uid(f, uid);

	if (e == NULL)
		return -ENOENT;
	unindex(f, e);
	g_hash_table_remove(f->by_uid, e->uid);
	return 0;
}

const struct tc_fwd_entry *tc_fwd_by_uid(const struct tc_fwd *f,
					 const char *uid)
{
	if (uid == NULL)
		return NULL;
	return g_hash_table_lookup(f->by_uid, uid);
}

const struct tc_fwd_entry *tc_fwd_by_v4(const struct tc_fwd *f,
					const uint8_t v4[4])
{
	return g_hash_table_lookup(f->by_v4, v4);
}

const struct tc_fwd_entry *tc_fwd_by_v6(const struct tc_fwd *f,
					const uint8_t v6[16])
{
	return g_hash_table_lookup(f->by_v6, v6);
}

const struct tc_fwd_entry *tc_fwd_by_mac(const struct tc_fwd *f,
					 const uint8_t mac[6])
{
	return g_hash_table_lookup(f->by_mac, mac);
}

unsigned tc_fwd_count(const struct tc_fwd *f)
{
	return g_hash_table_size(f->by_uid);
}

void tc_fwd_foreach(const struct tc_fwd *f,
		    void (*fn)(const struct tc_fwd_entry *e, void *ctx),
		    void *ctx)
{
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, f->by_uid);
	while (g_hash_table_iter_next(&it, NULL, &v))
		fn(v, ctx);
}
