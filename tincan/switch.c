/*
 * The MAC table of a switch-mode overlay: which port (a link by peer uid, or
 * the local TAP) each unicast MAC was last seen behind, and the forwarding
 * decision for a frame.  It owns only the table; it does not send, flood or
 * know links, and takes the time from its caller.
 *
 * Entries live in a GHashTable keyed by the MAC packed into a uint64 and, at
 * the same time, on an intrusive list in order of last sighting (oldest at
 * the head).  Learning moves an entry to the tail, so eviction at
 * TC_SWITCH_MAX_ENTRIES takes the head in O(1) and expire() stops at the
 * first fresh entry (O(expired)).  forget_port() and foreach() walk the
 * whole list.  Source MACs come from LAN devices and peers, so the hash is
 * SipHash with a per-process random key: nobody can aim collisions at one
 * bucket chain.
 *
 * An entry is expired when now - last_seen >= TC_SWITCH_AGE_MS (an entry
 * seen AGE_MS - 1 ms ago is still good); decide() treats an expired entry as
 * unknown before expire() has removed it.  The caller's clock should be
 * monotonic; a time that goes backwards is stamped as the newest time seen,
 * which keeps the list ordered, and ages never go below zero.
 */
#define G_LOG_DOMAIN "tincan"

#include <string.h>

#include <glib.h>
#include <sodium.h>

#include "tincan/switch.h"

struct entry {
	uint64_t key;		   /* the MAC, packed; the hash key */
	uint64_t seen_ms;	   /* last sighting */
	struct entry *prev, *next; /* age list, oldest first */
	char port[IPOP_UID_SIZE];  /* peer uid, "" = local TAP */
};

struct tc_switch {
	GHashTable *by_mac; /* &entry->key -> entry, owns entries */
	struct entry *oldest, *newest;
	bool warned_uid;
};

static uint8_t hash_key[crypto_shorthash_KEYBYTES];

static guint mac_hash(gconstpointer k)
{
	uint8_t out[crypto_shorthash_BYTES];
	guint h;

	crypto_shorthash(out, k, sizeof(uint64_t), hash_key);
	memcpy(&h, out, sizeof(h));
	return h;
}

static gboolean mac_equal(gconstpointer a, gconstpointer b)
{
	return *(const uint64_t *)a == *(const uint64_t *)b;
}

static uint64_t mac_pack(const uint8_t mac[6])
{
	uint64_t k = 0;
	int i;

	for (i = 0; i < 6; i++)
		k = k << 8 | mac[i];
	return k;
}

static void mac_unpack(uint64_t k, uint8_t mac[6])
{
	int i;

	for (i = 5; i >= 0; i--, k >>= 8)
		mac[i] = (uint8_t)k;
}

/* Group addresses (broadcast, multicast) have bit 0 of the first byte. */
static bool is_group(const uint8_t mac[6])
{
	return (mac[0] & 1) != 0;
}

static const char *port_of(const char *uid)
{
	return uid != NULL ? uid : "";
}

static uint64_t age_of(const struct entry *e, uint64_t now_ms)
{
	return now_ms > e->seen_ms ? now_ms - e->seen_ms : 0;
}

static bool is_expired(const struct entry *e, uint64_t now_ms)
{
	return age_of(e, now_ms) >= TC_SWITCH_AGE_MS;
}

static void list_unlink(struct tc_switch *sw, struct entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		sw->oldest = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		sw->newest = e->prev;
	e->prev = e->next = NULL;
}

static void list_append(struct tc_switch *sw, struct entry *e)
{
	e->prev = sw->newest;
	e->next = NULL;
	if (sw->newest != NULL)
		sw->newest->next = e;
	else
		sw->oldest = e;
	sw->newest = e;
}

/* Unlinks e and drops it from the table, which frees it. */
static void remove_entry(struct tc_switch *sw, struct entry *e)
{
	list_unlink(sw, e);
	g_hash_table_remove(sw->by_mac, &e->key);
}

struct tc_switch *tc_switch_new(void)
{
	static gsize once;
	struct tc_switch *sw;

	if (g_once_init_enter(&once)) {
		if (sodium_init() < 0)
			g_error("switch: libsodium failed to start");
		crypto_shorthash_keygen(hash_key);
		g_once_init_leave(&once, 1);
	}
	sw = g_new0(struct tc_switch, 1);
	sw->by_mac = g_hash_table_new_full(mac_hash, mac_equal, NULL, g_free);
	return sw;
}

void tc_switch_free(struct tc_switch *sw)
{
	if (sw == NULL)
		return;
	g_hash_table_destroy(sw->by_mac);
	g_free(sw);
}

/* A new entry for key: the oldest one is recycled when the table is full. */
static struct entry *entry_alloc(struct tc_switch *sw, uint64_t key)
{
	struct entry *e;

	if (g_hash_table_size(sw->by_mac) >= TC_SWITCH_MAX_ENTRIES &&
	    sw->oldest != NULL) {
		e = sw->oldest;
		list_unlink(sw, e);
		g_hash_table_steal(sw->by_mac, &e->key);
	} else {
		e = g_new(struct entry, 1);
	}
	e->key = key;
	e->port[0] = '\0';
	g_hash_table_insert(sw->by_mac, &e->key, e);
	return e;
}

/* True if uid fits an entry; peer uids always do (40 hex digits). */
static bool uid_fits(struct tc_switch *sw, const char *uid)
{
	if (uid == NULL || strnlen(uid, IPOP_UID_SIZE) <= IPOP_UID_HEX_LEN)
		return true;
	if (!sw->warned_uid)
		g_warning("switch: port uid longer than %d chars, not learned",
			  IPOP_UID_HEX_LEN);
	sw->warned_uid = true;
	return false;
}

/* untrusted: src is the source MAC of a frame from the LAN or a peer */
void tc_switch_learn(struct tc_switch *sw, const uint8_t src[6],
		     const char *from_uid, uint64_t now_ms)
{
	uint64_t key = mac_pack(src);
	const char *port = port_of(from_uid);
	struct entry *e;

	if (is_group(src) || key == 0 || !uid_fits(sw, from_uid))
		return;
	/* Keep the age list sorted even if the clock steps back. */
	if (sw->newest != NULL && now_ms < sw->newest->seen_ms)
		now_ms = sw->newest->seen_ms;
	e = g_hash_table_lookup(sw->by_mac, &key);
	if (e == NULL)
		e = entry_alloc(sw, key);
	else
		list_unlink(sw, e);
	/* A station that moved to another port is simply relearned. */
	if (strcmp(e->port, port) != 0)
		g_strlcpy(e->port, port, sizeof(e->port));
	e->seen_ms = now_ms;
	list_append(sw, e);
}

/* untrusted: dst is the destination MAC of a frame from the LAN or a peer */
enum tc_switch_action tc_switch_decide(struct tc_switch *sw,
				       const uint8_t dst[6],
				       const char *from_uid, uint64_t now_ms,
				       const char **out_uid)
{
	uint64_t key = mac_pack(dst);
	struct entry *e;

	if (out_uid != NULL)
		*out_uid = NULL;
	if (is_group(dst))
		return TC_SWITCH_FLOOD;
	e = g_hash_table_lookup(sw->by_mac, &key);
	if (e == NULL || is_expired(e, now_ms))
		return TC_SWITCH_FLOOD;
	/* Split horizon: never back out of the port it came in on. */
	if (strcmp(e->port, port_of(from_uid)) == 0)
		return TC_SWITCH_DROP;
	if (out_uid != NULL)
		*out_uid = e->port[0] != '\0' ? e->port : NULL;
	return TC_SWITCH_UNICAST;
}

void tc_switch_forget_port(struct tc_switch *sw, const char *uid)
{
	const char *port = port_of(uid);
	struct entry *e, *next;

	for (e = sw->oldest; e != NULL; e = next) {
		next = e->next;
		if (strcmp(e->port, port) == 0)
			remove_entry(sw, e);
	}
}

unsigned tc_switch_expire(struct tc_switch *sw, uint64_t now_ms)
{
	unsigned n = 0;

	/* The list is oldest first: stop at the first entry still fresh. */
	while (sw->oldest != NULL && is_expired(sw->oldest, now_ms)) {
		remove_entry(sw, sw->oldest);
		n++;
	}
	return n;
}

unsigned tc_switch_count(const struct tc_switch *sw)
{
	return g_hash_table_size(sw->by_mac);
}

void tc_switch_foreach(const struct tc_switch *sw, uint64_t now_ms,
		       void (*fn)(const uint8_t mac[6], const char *uid,
				  uint64_t age_ms, void *ctx),
		       void *ctx)
{
	const struct entry *e;
	uint8_t mac[6];

	for (e = sw->oldest; e != NULL; e = e->next) {
		mac_unpack(e->key, mac);
		fn(mac, e->port[0] != '\0' ? e->port : NULL, age_of(e, now_ms),
		   ctx);
	}
}
