/*
 * SocialVPN local-view address table.  Owns the mapping from a friend's
 * device (uid) to the IPv4 address that device has in this node's view,
 * and the file in the state dir that keeps it stable across restarts.
 * Addresses are hosts of the overlay's subnet other than the network and
 * broadcast addresses and this node's own; a new uid starts at a BLAKE2b
 * hash of its uid and probes linearly to the first free host, so the same
 * uid tends to land on the same address even on a fresh table.  Pins from
 * the config always win and are not written to the file (the config keeps
 * them).  It knows nothing of XMPP, links or tincan.
 */
#define G_LOG_DOMAIN "controller"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <sodium.h>

#include "controller/addrs.h"
#include "common/io.h"
#include "common/uid.h"

/* A state file larger than this is not ours: 1000 entries take 53 KB. */
enum { MAX_FILE = 16 * 1024 * 1024 };

struct entry {
	char uid[IPOP_UID_SIZE];
	uint32_t v4; /* host byte order */
	bool pinned;
};

struct ctl_addrs {
	char *path;
	uint32_t net; /* host byte order, host bits clear */
	uint32_t bcast;
	uint32_t self;
	GHashTable *by_uid;  /* uid -> struct entry * (owned) */
	GHashTable *by_addr; /* v4 -> struct entry * (borrowed) */
};

static uint32_t v4_get(const uint8_t v4[4])
{
	return (uint32_t)v4[0] << 24 | (uint32_t)v4[1] << 16 |
	       (uint32_t)v4[2] << 8 | v4[3];
}

static void v4_put(uint32_t v, uint8_t out[4])
{
	out[0] = v >> 24;
	out[1] = v >> 16;
	out[2] = v >> 8;
	out[3] = v;
}

static bool is_host(const struct ctl_addrs *a, uint32_t v)
{
	return v > a->net && v < a->bcast;
}

/* A host of the subnet that may go to a uid. */
static bool is_usable(const struct ctl_addrs *a, uint32_t v)
{
	return is_host(a, v) && v != a->self;
}

static struct entry *by_addr(const struct ctl_addrs *a, uint32_t v)
{
	return g_hash_table_lookup(a->by_addr, GUINT_TO_POINTER(v));
}

static void insert(struct ctl_addrs *a, const char *uid, uint32_t v,
		   bool pinned)
{
	struct entry *e = g_new0(struct entry, 1);

	g_strlcpy(e->uid, uid, sizeof(e->uid));
	e->v4 = v;
	e->pinned = pinned;
	g_hash_table_insert(a->by_uid, e->uid, e);
	g_hash_table_insert(a->by_addr, GUINT_TO_POINTER(v), e);
}

static gint by_v4(gconstpointer pa, gconstpointer pb)
{
	const struct entry *ea = *(struct entry *const *)pa;
	const struct entry *eb = *(struct entry *const *)pb;

	return ea->v4 < eb->v4 ? -1 : ea->v4 > eb->v4;
}

/* The file's text: the unpinned entries, sorted by address. */
static GString *render(const struct ctl_addrs *a)
{
	GString *s =
	    g_string_new("# SocialVPN local-view addresses: uid a.b.c.d\n");
	GPtrArray *list = g_ptr_array_new();
	char text[INET_ADDRSTRLEN];
	GHashTableIter it;
	gpointer val;
	uint8_t v4[4];
	guint i;

	g_hash_table_iter_init(&it, a->by_uid);
	while (g_hash_table_iter_next(&it, NULL, &val))
		g_ptr_array_add(list, val);
	g_ptr_array_sort(list, by_v4);
	for (i = 0; i < list->len; i++) {
		const struct entry *e = list->pdata[i];

		if (e->pinned)
			continue;
		v4_put(e->v4, v4);
		inet_ntop(AF_INET, v4, text, sizeof(text));
		g_string_append_printf(s, "%s %s\n", e->uid, text);
	}
	g_ptr_array_free(list, TRUE);
	return s;
}

/* Syncs the directory so the rename itself survives a crash. */
static void sync_dir(const char *path)
{
	g_autofree char *dir = g_path_get_dirname(path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return;
	(void)fsync(fd);
	close(fd);
}

/* Writes the table to a temp file beside the path, then renames it over
 * the path, so a reader sees the old file or the new one, never half. */
static int save(const struct ctl_addrs *a)
{
	g_autofree char *tmp = g_strdup_printf("%s.XXXXXX", a->path);
	GString *s = render(a);
	int fd, r = 0;

	fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	/* The umask may have narrowed 0600 further; never leave it wider. */
	if (fchmod(fd, 0600) != 0)
		r = -errno;
	if (r == 0)
		r = ipop_write_all(fd, s->str, s->len);
	if (r == 0 && fsync(fd) != 0)
		r = -errno;
	if (r) {
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd) != 0 || rename(tmp, a->path) != 0) {
		r = -errno;
		unlink(tmp);
		goto out;
	}
	sync_dir(a->path);
out:
	if (r)
		g_warning("addrs: cannot save %s: %s", a->path, g_strerror(-r));
	g_string_free(s, TRUE);
	return r;
}

/* Splits "uid a.b.c.d" (surrounding blanks allowed); false if malformed. */
static bool parse_line(char *line, const char **uid, uint32_t *v)
{
	char *sep, *addr;
	uint8_t v4[4];

	g_strstrip(line);
	sep = strpbrk(line, " \t");
	if (sep == NULL)
		return false;
	*sep = '\0';
	addr = g_strchug(sep + 1);
	if (!ipop_uid_is_valid(line) || inet_pton(AF_INET, addr, v4) != 1)
		return false;
	*uid = line;
	*v = v4_get(v4);
	return true;
}

/* Takes one parsed entry of the file, or says why it is dropped. */
static const char *take(struct ctl_addrs *a, const char *uid, uint32_t v)
{
	const struct entry *other;

	if (g_hash_table_contains(a->by_uid, uid))
		return "uid pinned or listed before";
	if (!is_usable(a, v))
		return "address not a free host of the subnet";
	other = by_addr(a, v);
	if (other != NULL)
		return other->pinned ? "address pinned to another uid"
				     : "address listed before";
	insert(a, uid, v, false);
	return NULL;
}

/* Loads the entries of buf (len bytes); true if every line was kept.
 * untrusted: from the state file, which anyone with the dir may edit. */
static bool load_text(struct ctl_addrs *a, const char *buf, size_t len)
{
	bool clean = true;
	unsigned lineno = 0;
	size_t off = 0;

	while (off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (buf + off)) : len - off;
		g_autofree char *line = g_strndup(buf + off, n);
		const char *uid, *why;
		uint32_t v;

		off += n + 1;
		lineno++;
		if (strlen(line) != n) {
			why = "NUL byte";
		} else if (g_strstrip(line)[0] == '\0' || line[0] == '#') {
			continue;
		} else if (!parse_line(line, &uid, &v)) {
			why = "malformed line";
		} else if ((why = take(a, uid, v)) == NULL) {
			continue;
		}
		g_message("addrs: %s:%u: %s, skipped", a->path, lineno, why);
		clean = false;
	}
	return clean;
}

/* Reads the file; a missing one is created.  Only failing to create it,
 * or to read one that exists, is fatal. */
static int load(struct ctl_addrs *a)
{
	g_autofree char *dir = g_path_get_dirname(a->path);
	g_autoptr(GError) err = NULL;
	g_autofree char *buf = NULL;
	struct stat st;
	gsize len;

	if (g_mkdir_with_parents(dir, 0700) != 0) {
		g_warning("addrs: cannot create %s: %s", dir,
			  g_strerror(errno));
		return -EIO;
	}
	if (stat(a->path, &st) != 0) {
		if (errno == ENOENT)
			return save(a) ? -EIO : 0;
		g_warning("addrs: %s: %s", a->path, g_strerror(errno));
		return -EIO;
	}
	if (st.st_size > MAX_FILE) {
		g_warning("addrs: %s is too large", a->path);
		return -EIO;
	}
	if (!g_file_get_contents(a->path, &buf, &len, &err)) {
		g_warning("addrs: %s", err->message);
		return -EIO;
	}
	/* Rewriting drops the skipped lines; failing to is not fatal, as
	 * they are skipped again next time. */
	if (!load_text(a, buf, len))
		(void)save(a);
	return 0;
}

/* Adds the pins; false (logged) if one is invalid or clashes. */
static bool add_pins(struct ctl_addrs *a, const struct ctl_addr_pin *pins,
		     unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		uint32_t v = v4_get(pins[i].v4);

		if (!ipop_uid_is_valid(pins[i].uid)) {
			g_warning("addrs: pin %u: invalid uid", i);
			return false;
		}
		if (!is_usable(a, v) || by_addr(a, v) != NULL ||
		    g_hash_table_contains(a->by_uid, pins[i].uid)) {
			g_warning("addrs: pin %u (%s): address not a free host "
				  "of the subnet, or uid pinned twice",
				  i, pins[i].uid);
			return false;
		}
		insert(a, pins[i].uid, v, true);
	}
	return true;
}

struct ctl_addrs *ctl_addrs_open(const char *path, const uint8_t net[4],
				 unsigned prefix, const uint8_t self[4],
				 const struct ctl_addr_pin *pins, unsigned n)
{
	struct ctl_addrs *a;
	uint32_t mask;

	if (path == NULL || path[0] == '\0' || net == NULL || self == NULL ||
	    prefix < 8 || prefix > 30 || (n > 0 && pins == NULL)) {
		g_warning("addrs: invalid arguments (prefix %u)", prefix);
		return NULL;
	}
	if (sodium_init() < 0) {
		g_warning("addrs: libsodium failed to initialise");
		return NULL;
	}
	mask = ~(uint32_t)0 << (32 - prefix);
	a = g_new0(struct ctl_addrs, 1);
	a->path = g_strdup(path);
	a->net = v4_get(net) & mask;
	a->bcast = a->net | ~mask;
	a->self = v4_get(self);
	a->by_uid =
	    g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
	a->by_addr = g_hash_table_new(g_direct_hash, g_direct_equal);
	if (!is_host(a, a->self)) {
		g_warning("addrs: own address is not a host of the subnet");
		goto err;
	}
	if (!add_pins(a, pins, n) || load(a) != 0)
		goto err;
	return a;
err:
	ctl_addrs_free(a);
	return NULL;
}

void ctl_addrs_free(struct ctl_addrs *a)
{
	if (a == NULL)
		return;
	g_hash_table_destroy(a->by_addr);
	g_hash_table_destroy(a->by_uid);
	g_free(a->path);
	g_free(a);
}

/* The first free host from the uid's hash on; 0 if there is none.  A
 * keyed-free BLAKE2b is the same on every build and version, unlike
 * g_str_hash, so a fresh table derives the same start for a uid. */
static uint32_t pick(const struct ctl_addrs *a, const char *uid)
{
	uint32_t hosts = a->bcast - a->net - 1, i, start, v;
	uint8_t h[crypto_generichash_BYTES_MIN];
	uint64_t x = 0;
	unsigned k;

	crypto_generichash(h, sizeof(h), (const uint8_t *)uid, strlen(uid),
			   NULL, 0);
	for (k = 0; k < 8; k++)
		x = x << 8 | h[k];
	start = (uint32_t)(x % hosts);
	for (i = 0; i < hosts; i++) {
		v = a->net + 1 + (start + i) % hosts;
		if (v != a->self && by_addr(a, v) == NULL)
			return v;
	}
	return 0;
}

int ctl_addrs_get(struct ctl_addrs *a, const char *uid, uint8_t out[4])
{
	const struct entry *e;
	uint32_t v;

	/* untrusted: uids come from peers through XMPP */
	if (!ipop_uid_is_valid(uid))
		return -EINVAL;
	e = g_hash_table_lookup(a->by_uid, uid);
	if (e != NULL) {
		v4_put(e->v4, out);
		return 0;
	}
	v = pick(a, uid);
	if (v == 0)
		return -ENOSPC;
	insert(a, uid, v, false);
	v4_put(v, out);
	return save(a) ? -EIO : 0;
}

bool ctl_addrs_taken(const struct ctl_addrs *a, const uint8_t v4[4],
		     const char *uid)
{
	const struct entry *e = by_addr(a, v4_get(v4));

	return e != NULL && (uid == NULL || strcmp(e->uid, uid) != 0);
}

unsigned ctl_addrs_count(const struct ctl_addrs *a)
{
	return g_hash_table_size(a->by_uid);
}
