/*
 * Controller configuration: reads the YAML file with libyaml's event API
 * into a small tree of scalars, lists and mappings (refusing anchors,
 * aliases and extra documents), then walks that tree with one table of
 * key handlers per mapping, filling struct ctl_config and validating every
 * value on the way.  Every error names the file, the 1-based line of the
 * offending node and the dotted key path.  This module reads the password
 * and group secret files the config names (and hashes the secret into the
 * PSK) but opens no sockets and starts nothing.
 */
#define G_LOG_DOMAIN "controller"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sodium.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "controller/config.h"

enum {
	MAX_DEPTH = 16,		/* the config nests 4 deep */
	MAX_FILE = 1024 * 1024, /* config file */
	MAX_SECRET = 64 * 1024, /* group secret file */
	MIN_SECRET = 16,
	MAX_PASSWORD = 1024, /* password file */
	STUN_PORT = 3478,
	XMPP_PORT = 5222,
	TAP_MAX = 15, /* IFNAMSIZ - 1 */
	NAME_MAX_LEN = 32,
	GROUP_MAX = 64,
};

#define DEFAULT_SOCKET "/run/ipop/tincan.sock"
#define DEFAULT_STATE_DIR "/var/lib/ipop-controller"

GQuark ctl_config_error_quark(void)
{
	return g_quark_from_static_string("ctl-config-error-quark");
}

/* ---- the tree ---------------------------------------------------------- */

enum node_kind { N_SCALAR, N_LIST, N_MAP };

struct node {
	enum node_kind kind;
	unsigned line; /* 1-based */
	bool plain;    /* scalar written without quotes */
	char *str;     /* scalar, NUL-terminated, no inner NUL */
	size_t len;
	GPtrArray *kids; /* list items; map: key, value, key, value... */
};

static void node_free(struct node *n)
{
	if (n == NULL)
		return;
	if (n->str != NULL) {
		/* scalars include passwords */
		sodium_memzero(n->str, n->len);
		g_free(n->str);
	}
	if (n->kids != NULL)
		g_ptr_array_free(n->kids, TRUE);
	g_free(n);
}

static struct node *node_new(enum node_kind kind, const yaml_event_t *ev)
{
	struct node *n = g_new0(struct node, 1);

	n->kind = kind;
	n->line = (unsigned)ev->start_mark.line + 1;
	if (kind != N_SCALAR)
		n->kids =
		    g_ptr_array_new_with_free_func((GDestroyNotify)node_free);
	return n;
}

/* g_autoptr needs a type name without `struct`. */
typedef struct node tree;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(tree, node_free)

struct reader {
	yaml_parser_t parser;
	const char *name;
	GError **err;
};

static int G_GNUC_PRINTF(4, 5) fail_line(GError **err, const char *name,
					 unsigned line, const char *fmt, ...)
{
	g_autofree char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(err, CTL_CONFIG_ERROR, 0, "%s:%u: %s", name, line, msg);
	return -EINVAL;
}

/* Fetches the next event; a libyaml error becomes a syntax error. */
static int next_event(struct reader *r, yaml_event_t *ev)
{
	const yaml_parser_t *p = &r->parser;

	if (yaml_parser_parse(&r->parser, ev))
		return 0;
	return fail_line(r->err, r->name, (unsigned)p->problem_mark.line + 1,
			 "YAML syntax error: %s%s%s",
			 p->problem ? p->problem : "unknown problem",
			 p->context ? " " : "", p->context ? p->context : "");
}

static const yaml_char_t *event_anchor(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return ev->data.scalar.anchor;
	case YAML_SEQUENCE_START_EVENT:
		return ev->data.sequence_start.anchor;
	case YAML_MAPPING_START_EVENT:
		return ev->data.mapping_start.anchor;
	default:
		return NULL;
	}
}

static struct node *load_node(struct reader *r, yaml_event_t *ev, int depth);

/* Reads the children of a list or mapping up to its end event. */
static int load_kids(struct reader *r, struct node *n, int depth)
{
	yaml_event_t ev;
	struct node *kid;

	for (;;) {
		if (next_event(r, &ev) < 0)
			return -EINVAL;
		if (ev.type == YAML_SEQUENCE_END_EVENT ||
		    ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		kid = load_node(r, &ev, depth + 1);
		if (kid == NULL)
			return -EINVAL;
		g_ptr_array_add(n->kids, kid);
	}
}

static struct node *load_scalar(struct reader *r, const yaml_event_t *ev)
{
	struct node *n = node_new(N_SCALAR, ev);

	n->len = ev->data.scalar.length;
	n->str = g_malloc(n->len + 1);
	memcpy(n->str, ev->data.scalar.value, n->len);
	n->str[n->len] = '\0';
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	if (strlen(n->str) != n->len) {
		fail_line(r->err, r->name, n->line, "NUL byte in a value");
		node_free(n);
		return NULL;
	}
	return n;
}

/* Builds the node that starts with *ev (consumed). */
static struct node *load_node(struct reader *r, yaml_event_t *ev, int depth)
{
	g_autoptr(tree) n = NULL;
	unsigned line = (unsigned)ev->start_mark.line + 1;
	yaml_event_type_t type = ev->type;

	if (type == YAML_ALIAS_EVENT || event_anchor(ev) != NULL)
		fail_line(r->err, r->name, line,
			  "YAML anchors and aliases are not supported");
	else if (depth > MAX_DEPTH)
		fail_line(r->err, r->name, line, "nesting too deep");
	else if (type == YAML_SCALAR_EVENT)
		n = load_scalar(r, ev);
	else if (type == YAML_SEQUENCE_START_EVENT ||
		 type == YAML_MAPPING_START_EVENT)
		n = node_new(type == YAML_MAPPING_START_EVENT ? N_MAP : N_LIST,
			     ev);
	else
		fail_line(r->err, r->name, line, "unexpected YAML event");
	yaml_event_delete(ev);
	if (n != NULL && n->kind != N_SCALAR && load_kids(r, n, depth) < 0)
		return NULL;
	return g_steal_pointer(&n);
}

/* Expects an event of the given type and drops it. */
static int expect(struct reader *r, yaml_event_type_t type)
{
	yaml_event_t ev;
	int ret = 0;

	if (next_event(r, &ev) < 0)
		return -EINVAL;
	if (ev.type == YAML_DOCUMENT_START_EVENT && type != ev.type)
		ret =
		    fail_line(r->err, r->name, (unsigned)ev.start_mark.line + 1,
			      "only one YAML document is allowed");
	else if (ev.type != type)
		ret =
		    fail_line(r->err, r->name, (unsigned)ev.start_mark.line + 1,
			      "unexpected YAML structure");
	yaml_event_delete(&ev);
	return ret;
}

/* The stream: exactly one document holding one node. */
static struct node *load_stream(struct reader *r)
{
	g_autoptr(tree) root = NULL;
	yaml_event_t ev;

	if (expect(r, YAML_STREAM_START_EVENT) < 0 || next_event(r, &ev) < 0)
		return NULL;
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		fail_line(r->err, r->name, 1, "the configuration is empty");
		return NULL;
	}
	yaml_event_delete(&ev);
	if (next_event(r, &ev) < 0)
		return NULL;
	root = load_node(r, &ev, 0);
	if (root == NULL || expect(r, YAML_DOCUMENT_END_EVENT) < 0 ||
	    expect(r, YAML_STREAM_END_EVENT) < 0)
		return NULL;
	return g_steal_pointer(&root);
}

static struct node *load_tree(const char *text, size_t len, const char *name,
			      GError **err)
{
	struct reader r = {.name = name, .err = err};
	struct node *root;

	if (!yaml_parser_initialize(&r.parser)) {
		fail_line(err, name, 1, "out of memory");
		return NULL;
	}
	yaml_parser_set_input_string(&r.parser, (const unsigned char *)text,
				     len);
	root = load_stream(&r);
	yaml_parser_delete(&r.parser);
	return root;
}

/* ---- walking the tree -------------------------------------------------- */

struct walk {
	const char *name; /* the file, for messages */
	const char *base; /* directory for relative paths, or NULL */
	struct ctl_config *cfg;
	GError **err;
};

static int G_GNUC_PRINTF(4, 5) fail(const struct walk *w, const struct node *n,
				    const char *path, const char *fmt, ...)
{
	g_autofree char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	return fail_line(w->err, w->name, n->line, "key '%s': %s", path, msg);
}

typedef int (*setter_fn)(const struct walk *w, const struct node *n,
			 const char *path, void *slot);

struct field {
	const char *key;
	setter_fn set;
	size_t off; /* of the slot in the object */
	bool required;
};

static const char *kind_name(const struct node *n)
{
	static const char *const names[] = {
	    [N_SCALAR] = "a single value",
	    [N_LIST] = "a list",
	    [N_MAP] = "a mapping",
	};

	return names[n->kind];
}

static int need_kind(const struct walk *w, const struct node *n,
		     const char *path, enum node_kind kind, const char *what)
{
	if (n->kind == kind)
		return 0;
	return fail(w, n, path, "must be %s, not %s", what, kind_name(n));
}

static char *join(const char *path, const char *key)
{
	return path[0] == '\0' ? g_strdup(key)
			       : g_strdup_printf("%s.%s", path, key);
}

static int key_index(const struct field *f, size_t nf, const char *key)
{
	for (size_t i = 0; i < nf; i++)
		if (strcmp(f[i].key, key) == 0)
			return (int)i;
	return -1;
}

static int unknown_key(const struct walk *w, const struct node *key,
		       const char *path, const struct field *f, size_t nf)
{
	g_autoptr(GString) known = g_string_new(NULL);

	for (size_t i = 0; i < nf; i++)
		g_string_append_printf(known, "%s%s", i ? ", " : "", f[i].key);
	return fail(w, key, path, "unknown key (expected one of: %s)",
		    known->str);
}

/* Checks one key of a mapping and hands its value to the field's setter. */
static int walk_pair(const struct walk *w, const struct node *map, guint i,
		     const char *path, const struct field *f, size_t nf,
		     void *obj, uint32_t *seen)
{
	const struct node *key = map->kids->pdata[i];
	const struct node *val = map->kids->pdata[i + 1];
	g_autofree char *kp = NULL;
	int idx;

	if (key->kind != N_SCALAR)
		return fail(w, key, path[0] ? path : "(top level)",
			    "a key must be a plain name");
	kp = join(path, key->str);
	for (guint j = 0; j < i; j += 2) {
		const struct node *prev = map->kids->pdata[j];

		if (prev->kind == N_SCALAR && strcmp(prev->str, key->str) == 0)
			return fail(w, key, kp,
				    "duplicate key (first on line %u)",
				    prev->line);
	}
	idx = key_index(f, nf, key->str);
	if (idx < 0)
		return unknown_key(w, key, kp, f, nf);
	*seen |= 1u << idx;
	return f[idx].set(w, val, kp, (char *)obj + f[idx].off);
}

/* Walks a mapping with its field table; *seen gets a bit per key found. */
static int walk_map(const struct walk *w, const struct node *map,
		    const char *path, const struct field *f, size_t nf,
		    void *obj, uint32_t *seen)
{
	*seen = 0;
	if (need_kind(w, map, path[0] ? path : "(top level)", N_MAP,
		      "a mapping") < 0)
		return -EINVAL;
	for (guint i = 0; i + 1 < map->kids->len; i += 2)
		if (walk_pair(w, map, i, path, f, nf, obj, seen) < 0)
			return -EINVAL;
	for (size_t i = 0; i < nf; i++) {
		g_autofree char *kp = join(path, f[i].key);

		if (f[i].required && !(*seen & (1u << i)))
			return fail(w, map, kp, "required key is missing");
	}
	return 0;
}

typedef int (*item_fn)(const struct walk *w, const struct node *n,
		       const char *path, unsigned i);

/* Walks a list of at most max items, calling fn on each. */
static int walk_list(const struct walk *w, const struct node *n,
		     const char *path, unsigned max, item_fn fn)
{
	if (need_kind(w, n, path, N_LIST, "a list") < 0)
		return -EINVAL;
	if (n->kids->len > max)
		return fail(w, n, path,
			    "at most %u entries are allowed (%u given)", max,
			    n->kids->len);
	for (guint i = 0; i < n->kids->len; i++) {
		g_autofree char *ip = g_strdup_printf("%s[%u]", path, i);

		if (fn(w, n->kids->pdata[i], ip, i) < 0)
			return -EINVAL;
	}
	return 0;
}

/* ---- scalar values ----------------------------------------------------- */

static bool is_null(const struct node *n)
{
	return n->plain && (n->len == 0 || strcmp(n->str, "~") == 0 ||
			    g_ascii_strcasecmp(n->str, "null") == 0);
}

/* A non-empty single value without control characters. */
static int need_text(const struct walk *w, const struct node *n,
		     const char *path)
{
	if (need_kind(w, n, path, N_SCALAR, "a single value") < 0)
		return -EINVAL;
	if (is_null(n))
		return fail(w, n, path, "must not be empty");
	for (size_t i = 0; i < n->len; i++)
		if (g_ascii_iscntrl(n->str[i]))
			return fail(w, n, path, "control character in value");
	return 0;
}

static int set_string(const struct walk *w, const struct node *n,
		      const char *path, void *slot)
{
	char **s = slot;

	if (need_text(w, n, path) < 0)
		return -EINVAL;
	*s = g_strdup(n->str);
	return 0;
}

/* A decimal number in [min, max], quoted or not. */
static int get_uint(const struct walk *w, const struct node *n,
		    const char *path, unsigned min, unsigned max, unsigned *out)
{
	unsigned long v = 0;
	bool ok = n->kind == N_SCALAR && n->len > 0 && n->len <= 9;

	for (size_t i = 0; ok && i < n->len; i++) {
		ok = g_ascii_isdigit(n->str[i]);
		v = v * 10 + (unsigned long)(n->str[i] - '0');
	}
	if (!ok || v < min || v > max)
		return fail(w, n, path, "must be %u-%u", min, max);
	*out = (unsigned)v;
	return 0;
}

static int set_port(const struct walk *w, const struct node *n,
		    const char *path, void *slot)
{
	unsigned v;

	if (get_uint(w, n, path, 1, 65535, &v) < 0)
		return -EINVAL;
	*(uint16_t *)slot = (uint16_t)v;
	return 0;
}

static int set_mtu(const struct walk *w, const struct node *n, const char *path,
		   void *slot)
{
	return get_uint(w, n, path, 576, 9000, slot);
}

/* 1..max bytes of [A-Za-z0-9._-] and the extra characters given. */
static int set_ident(const struct walk *w, const struct node *n,
		     const char *path, char **out, size_t max,
		     const char *extra)
{
	if (need_text(w, n, path) < 0)
		return -EINVAL;
	if (n->len > max)
		return fail(w, n, path, "'%s' is longer than %zu bytes", n->str,
			    max);
	for (size_t i = 0; i < n->len; i++) {
		char c = n->str[i];

		if (!g_ascii_isalnum(c) && strchr("._-", c) == NULL &&
		    strchr(extra, c) == NULL)
			return fail(
			    w, n, path,
			    "'%s' may only contain A-Z a-z 0-9 . _ -%s%s",
			    n->str, extra[0] ? " " : "", extra);
	}
	*out = g_strdup(n->str);
	return 0;
}

/* ---- files ------------------------------------------------------------- */

static char *resolve(const struct walk *w, const char *file)
{
	if (w->base == NULL || g_path_is_absolute(file))
		return g_strdup(file);
	return g_build_filename(w->base, file, NULL);
}

static int check_secret_fd(const struct walk *w, const struct node *n,
			   const char *path, const char *file, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return fail(w, n, path, "cannot stat '%s': %s", file,
			    g_strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(w, n, path, "'%s' is not a regular file", file);
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		return fail(w, n, path,
			    "'%s' is accessible by group or others (mode "
			    "%04o): run chmod 600 on it",
			    file, (unsigned)(st.st_mode & 07777));
	return 0;
}

/* Reads the whole fd into buf (max bytes at most); *len gets the size. */
static int read_all(int fd, uint8_t *buf, size_t max, size_t *len)
{
	ssize_t r;

	*len = 0;
	do {
		r = read(fd, buf + *len, max + 1 - *len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		*len += (size_t)r;
	} while (r > 0 && *len <= max);
	return *len > max ? -EFBIG : 0;
}

/* Reads a private file (no group/other access) of min..max bytes into
 * sodium_malloc memory (max + 1 bytes) that the caller wipes and frees. */
static uint8_t *read_secret(const struct walk *w, const struct node *n,
			    const char *path, size_t min, size_t max,
			    size_t *len)
{
	g_autofree char *file = resolve(w, n->str);
	uint8_t *buf = NULL;
	int fd, ret;

	/* untrusted: the file's bytes are taken as they are */
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		fail(w, n, path, "cannot open '%s': %s", file,
		     g_strerror(errno));
		return NULL;
	}
	if (check_secret_fd(w, n, path, file, fd) < 0)
		goto out;
	buf = sodium_malloc(max + 1);
	if (buf == NULL) {
		fail(w, n, path, "out of memory");
		goto out;
	}
	ret = read_all(fd, buf, max, len);
	if (ret < 0 || *len < min) {
		if (ret < 0)
			fail(w, n, path, "cannot read '%s': %s", file,
			     ret == -EFBIG ? "too large" : g_strerror(-ret));
		else
			fail(w, n, path,
			     "'%s' is too short (%zu bytes, at least %zu)",
			     file, *len, min);
		sodium_free(buf);
		buf = NULL;
	}
out:
	close(fd);
	return buf;
}

static int set_ca_file(const struct walk *w, const struct node *n,
		       const char *path, void *slot)
{
	char **s = slot;
	g_autofree char *file = NULL;

	if (need_text(w, n, path) < 0)
		return -EINVAL;
	file = resolve(w, n->str);
	if (access(file, R_OK) < 0)
		return fail(w, n, path, "cannot read '%s': %s", file,
			    g_strerror(errno));
	*s = g_steal_pointer(&file);
	return 0;
}

/* ---- xmpp -------------------------------------------------------------- */

static bool is_bare_jid(const char *s)
{
	const char *at = strchr(s, '@');

	if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@'))
		return false;
	if (strlen(at + 1) > 1023 || at - s > 1023)
		return false;
	for (; *s != '\0'; s++)
		if (*s == '/' || g_ascii_isspace(*s))
			return false;
	return true;
}

static int set_jid(const struct walk *w, const struct node *n, const char *path,
		   void *slot)
{
	if (need_text(w, n, path) < 0)
		return -EINVAL;
	if (!is_bare_jid(n->str))
		return fail(w, n, path,
			    "'%s' is not a bare JID (user@domain, no resource)",
			    n->str);
	*(char **)slot = g_strdup(n->str);
	return 0;
}

static bool is_numeric_ip(const char *s)
{
	uint8_t buf[16];

	return inet_pton(AF_INET, s, buf) == 1 ||
	       inet_pton(AF_INET6, s, buf) == 1;
}

static bool is_host(const char *s)
{
	size_t len = strlen(s);

	if (is_numeric_ip(s))
		return true;
	if (len == 0 || len > 253 || s[0] == '-' || s[0] == '.')
		return false;
	for (; *s != '\0'; s++)
		if (!g_ascii_isalnum(*s) && *s != '-' && *s != '.')
			return false;
	return true;
}

static int set_server(const struct walk *w, const struct node *n,
		      const char *path, void *slot)
{
	if (need_text(w, n, path) < 0)
		return -EINVAL;
	if (!is_host(n->str))
		return fail(w, n, path, "'%s' is not a host name or IP address",
			    n->str);
	*(char **)slot = g_strdup(n->str);
	return 0;
}

static int set_tls(const struct walk *w, const struct node *n, const char *path,
		   void *slot)
{
	enum ctl_tls *tls = slot;

	if (need_text(w, n, path) < 0)
		return -EINVAL;
	if (strcmp(n->str, "required") == 0)
		*tls = CTL_TLS_REQUIRED;
	else if (strcmp(n->str, "off") == 0)
		*tls = CTL_TLS_OFF;
	else
		return fail(w, n, path, "must be required or off, not '%s'",
			    n->str);
	return 0;
}

static int only_one_password(const struct walk *w, const struct node *n,
			     const char *path)
{
	if (w->cfg->password == NULL)
		return 0;
	return fail(
	    w, n, path,
	    "give either xmpp.password or xmpp.password_file, not both");
}

static int set_password(const struct walk *w, const struct node *n,
			const char *path, void *slot)
{
	if (only_one_password(w, n, path) < 0 || need_text(w, n, path) < 0)
		return -EINVAL;
	*(char **)slot = g_strdup(n->str);
	return 0;
}

/* The file's first line, without its line end, is the password. */
static int set_password_file(const struct walk *w, const struct node *n,
			     const char *path, void *slot)
{
	uint8_t *buf;
	size_t len;

	if (only_one_password(w, n, path) < 0 || need_text(w, n, path) < 0)
		return -EINVAL;
	buf = read_secret(w, n, path, 1, MAX_PASSWORD, &len);
	if (buf == NULL)
		return -EINVAL;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (len == 0 || memchr(buf, '\0', len) || memchr(buf, '\n', len)) {
		sodium_free(buf);
		return fail(w, n, path,
			    "the password file must hold one non-empty line");
	}
	*(char **)slot = g_strndup((const char *)buf, len);
	sodium_free(buf);
	return 0;
}

#define CFG(member) offsetof(struct ctl_config, member)

static const struct field xmpp_fields[] = {
    {"jid", set_jid, CFG(jid), true},
    {"password", set_password, CFG(password), false},
    {"password_file", set_password_file, CFG(password), false},
    {"server", set_server, CFG(server), false},
    {"port", set_port, CFG(port), false},
    {"tls", set_tls, CFG(tls), false},
    {"ca_file", set_ca_file, CFG(ca_file), false},
};

static int set_xmpp(const struct walk *w, const struct node *n,
		    const char *path, void *slot)
{
	g_autofree char *kp = join(path, "password");
	uint32_t seen;

	if (walk_map(w, n, path, xmpp_fields, G_N_ELEMENTS(xmpp_fields), slot,
		     &seen) < 0)
		return -EINVAL;
	if (w->cfg->password == NULL)
		return fail(
		    w, n, kp,
		    "required key is missing (give password or password_file)");
	return 0;
}

/* ---- ice --------------------------------------------------------------- */

/* "IP", "IP:PORT", "[IPv6]", "[IPv6]:PORT" or a bare IPv6 address. */
static bool split_hostport(const char *s, char **addr, unsigned *port)
{
	const char *colon = strrchr(s, ':');
	g_autofree char *host = NULL;
	char *end;
	unsigned long v = STUN_PORT;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || (close[1] != '\0' && close[1] != ':'))
			return false;
		host = g_strndup(s + 1, (size_t)(close - s - 1));
		colon = close[1] == ':' ? close + 1 : NULL;
		if (inet_pton(AF_INET6, host, &(struct in6_addr){0}) != 1)
			return false;
	} else if (colon != NULL && strchr(s, ':') != colon) {
		host = g_strdup(s); /* bare IPv6, no port */
		colon = NULL;
	} else {
		host = colon ? g_strndup(s, (size_t)(colon - s)) : g_strdup(s);
	}
	if (colon != NULL) {
		if (!g_ascii_isdigit(colon[1]))
			return false;
		errno = 0;
		v = strtoul(colon + 1, &end, 10);
		if (*end != '\0' || errno != 0 || v < 1 || v > 65535)
			return false;
	}
	if (!is_numeric_ip(host))
		return false;
	*addr = g_steal_pointer(&host);
	*port = (unsigned)v;
	return true;
}

static int set_hostport(const struct walk *w, const struct node *n,
			const char *path, struct ctl_ice_server *srv)
{
	unsigned port;

	if (need_text(w, n, path) < 0)
		return -EINVAL;
	if (!split_hostport(n->str, &srv->address, &port))
		return fail(
		    w, n, path,
		    "'%s' must be a numeric IP address with an optional :PORT "
		    "(host names are not resolved; write IPv6 as [addr]:port)",
		    n->str);
	srv->port = (uint16_t)port;
	return 0;
}

static int stun_item(const struct walk *w, const struct node *n,
		     const char *path, unsigned i)
{
	w->cfg->n_stun = i + 1;
	return set_hostport(w, n, path, &w->cfg->stun[i]);
}

static int set_turn_server(const struct walk *w, const struct node *n,
			   const char *path, void *slot)
{
	return set_hostport(w, n, path, slot);
}

#define SRV(member) offsetof(struct ctl_ice_server, member)

static const struct field turn_fields[] = {
    {"server", set_turn_server, 0, true},
    {"user", set_string, SRV(user), true},
    {"password", set_string, SRV(password), true},
};

static int turn_item(const struct walk *w, const struct node *n,
		     const char *path, unsigned i)
{
	uint32_t seen;

	w->cfg->n_turn = i + 1;
	return walk_map(w, n, path, turn_fields, G_N_ELEMENTS(turn_fields),
			&w->cfg->turn[i], &seen);
}

static int set_stun(const struct walk *w, const struct node *n,
		    const char *path, void *slot)
{
	(void)slot;
	return walk_list(w, n, path, CTL_MAX_SERVERS, stun_item);
}

static int set_turn(const struct walk *w, const struct node *n,
		    const char *path, void *slot)
{
	(void)slot;
	return walk_list(w, n, path, CTL_MAX_SERVERS, turn_item);
}

static const struct field ice_fields[] = {
    {"stun", set_stun, 0, false},
    {"turn", set_turn, 0, false},
};

static int set_ice(const struct walk *w, const struct node *n, const char *path,
		   void *slot)
{
	uint32_t seen;

	return walk_map(w, n, path, ice_fields, G_N_ELEMENTS(ice_fields), slot,
			&seen);
}

/* ---- overlays ---------------------------------------------------------- */

/* The overlay being walked: overlay_item counts it before walking it. */
static struct ctl_overlay_config *current(const struct walk *w)
{
	return &w->cfg->overlays[w->cfg->n_overlays - 1];
}

/* Refuses a value another overlay already has for the same member. */
static int unique(const struct walk *w, const struct node *n, const char *path,
		  size_t off, const char *what)
{
	const struct ctl_overlay_config *self = current(w);

	for (unsigned i = 0; i < w->cfg->n_overlays; i++) {
		const struct ctl_overlay_config *o = &w->cfg->overlays[i];
		const char *v = *(char *const *)((const char *)o + off);

		if (o != self && v != NULL && strcmp(v, n->str) == 0)
			return fail(w, n, path,
				    "duplicate %s '%s' (also overlays[%u])",
				    what, n->str, i);
	}
	return 0;
}

#define OVL(member) offsetof(struct ctl_overlay_config, member)

static int set_name(const struct walk *w, const struct node *n,
		    const char *path, void *slot)
{
	if (set_ident(w, n, path, slot, NAME_MAX_LEN, "") < 0)
		return -EINVAL;
	return unique(w, n, path, OVL(name), "overlay name");
}

static int set_tap(const struct walk *w, const struct node *n, const char *path,
		   void *slot)
{
	if (set_ident(w, n, path, slot, TAP_MAX, "") < 0)
		return -EINVAL;
	if (strcmp(n->str, ".") == 0 || strcmp(n->str, "..") == 0)
		return fail(w, n, path, "'%s' is not an interface name",
			    n->str);
	return unique(w, n, path, OVL(tap), "tap");
}

static int set_group(const struct walk *w, const struct node *n,
		     const char *path, void *slot)
{
	return set_ident(w, n, path, slot, GROUP_MAX, "@");
}

static int set_type(const struct walk *w, const struct node *n,
		    const char *path, void *slot)
{
	enum ctl_overlay_type *t = slot;

	if (need_text(w, n, path) < 0)
		return -EINVAL;
	if (strcmp(n->str, "gvpn") == 0)
		*t = CTL_OVERLAY_GVPN;
	else if (strcmp(n->str, "svpn") == 0)
		*t = CTL_OVERLAY_SVPN;
	else if (strcmp(n->str, "switch") == 0)
		*t = CTL_OVERLAY_SWITCH;
	else
		return fail(w, n, path,
			    "must be gvpn, svpn or switch, not '%s'", n->str);
	return 0;
}

/* "ADDR/P" with ADDR of the family and P in [1, max]. */
static bool split_cidr(const char *s, int family, unsigned max, char **addr,
		       unsigned *prefix)
{
	const char *slash = strchr(s, '/');
	g_autofree char *a = NULL;
	struct in6_addr buf;
	unsigned long p;
	char *end;

	if (slash == NULL || !g_ascii_isdigit(slash[1]) || slash - s > 45)
		return false;
	a = g_strndup(s, (size_t)(slash - s));
	p = strtoul(slash + 1, &end, 10);
	if (*end != '\0' || p < 1 || p > max || inet_pton(family, a, &buf) != 1)
		return false;
	*addr = g_steal_pointer(&a);
	*prefix = (unsigned)p;
	return true;
}

/* The host part of a node address is neither all zeros nor all ones. */
static bool is_host_v4(const char *addr, unsigned prefix)
{
	struct in_addr a;
	uint32_t host_mask = (uint32_t)(0xffffffffu >> prefix);
	uint32_t h;

	inet_pton(AF_INET, addr, &a);
	h = ntohl(a.s_addr) & host_mask;
	return h != 0 && h != host_mask;
}

static int set_address(const struct walk *w, const struct node *n,
		       const char *path, void *slot)
{
	struct ctl_overlay_config *o = slot;

	if (need_text(w, n, path) < 0)
		return -EINVAL;
	if (!split_cidr(n->str, AF_INET, 30, &o->ipv4, &o->ipv4_prefix))
		return fail(w, n, path,
			    "'%s' must be an IPv4 address with a prefix length "
			    "A.B.C.D/P, P 1-30",
			    n->str);
	if (!is_host_v4(o->ipv4, o->ipv4_prefix))
		return fail(
		    w, n, path,
		    "'%s' is the network or broadcast address of its subnet",
		    n->str);
	return 0;
}

static int set_address6(const struct walk *w, const struct node *n,
			const char *path, void *slot)
{
	struct ctl_overlay_config *o = slot;

	if (need_text(w, n, path) < 0)
		return -EINVAL;
	if (!split_cidr(n->str, AF_INET6, 128, &o->ipv6, &o->ipv6_prefix))
		return fail(w, n, path,
			    "'%s' must be an IPv6 address with a prefix length "
			    "ADDR/P, P 1-128",
			    n->str);
	return 0;
}

static int set_secret_file(const struct walk *w, const struct node *n,
			   const char *path, void *slot)
{
	struct ctl_overlay_config *o = slot;
	uint8_t *buf;
	size_t len;

	if (need_text(w, n, path) < 0)
		return -EINVAL;
	buf = read_secret(w, n, path, MIN_SECRET, MAX_SECRET, &len);
	if (buf == NULL)
		return -EINVAL;
	crypto_generichash(o->psk, sizeof(o->psk), buf, len, NULL, 0);
	o->has_secret = true;
	sodium_free(buf);
	return 0;
}

static int set_subnet(const struct walk *w, const struct node *n,
		      const char *path, void *slot)
{
	struct ctl_overlay_config *o = slot;
	g_autofree char *net = NULL;
	uint32_t a;

	if (need_text(w, n, path) < 0)
		return -EINVAL;
	if (!split_cidr(n->str, AF_INET, 30, &net, &o->subnet_prefix) ||
	    o->subnet_prefix < 8)
		return fail(w, n, path,
			    "'%s' must be an IPv4 subnet "
			    "A.B.C.D/P, P 8-30",
			    n->str);
	inet_pton(AF_INET, net, o->subnet);
	memcpy(&a, o->subnet, 4);
	if (ntohl(a) & (0xffffffffu >> o->subnet_prefix))
		return fail(w, n, path, "'%s' has host bits set", n->str);
	return 0;
}

static int set_bridge(const struct walk *w, const struct node *n,
		      const char *path, void *slot)
{
	return set_ident(w, n, path, slot, IFNAMSIZ - 1, "");
}

static int set_pin_device(const struct walk *w, const struct node *n,
			  const char *path, void *slot)
{
	char **dev = slot;
	size_t i;

	if (need_text(w, n, path) < 0)
		return -EINVAL;
	for (i = 0; n->str[i]; i++)
		if (!g_ascii_isxdigit(n->str[i]) || g_ascii_isupper(n->str[i]))
			break;
	if (i != 40 || n->str[i])
		return fail(w, n, path,
			    "'%s' must be a device uid "
			    "(40 lowercase hex digits)",
			    n->str);
	*dev = g_strdup(n->str);
	return 0;
}

static int set_pin_address(const struct walk *w, const struct node *n,
			   const char *path, void *slot)
{
	if (need_text(w, n, path) < 0)
		return -EINVAL;
	if (inet_pton(AF_INET, n->str, slot) != 1)
		return fail(w, n, path, "'%s' must be an IPv4 address", n->str);
	return 0;
}

static const struct field pin_fields[] = {
    {"device", set_pin_device, offsetof(struct ctl_pin, device), true},
    {"address", set_pin_address, offsetof(struct ctl_pin, v4), true},
};

static int pin_item(const struct walk *w, const struct node *n,
		    const char *path, unsigned i)
{
	struct ctl_overlay_config *o = current(w);
	uint32_t seen;

	o->n_pins = i + 1;
	return walk_map(w, n, path, pin_fields, G_N_ELEMENTS(pin_fields),
			&o->pins[i], &seen);
}

static int set_pins(const struct walk *w, const struct node *n,
		    const char *path, void *slot)
{
	(void)slot;
	return walk_list(w, n, path, CTL_MAX_PINS, pin_item) < 0 ? -EINVAL : 0;
}

/* Handlers that fill several members get the whole overlay (offset 0). */
static const struct field overlay_fields[] = {
    {"subnet", set_subnet, 0, false},
    {"bridge", set_bridge, OVL(bridge), false},
    {"pins", set_pins, 0, false},
    {"name", set_name, OVL(name), true},
    {"type", set_type, OVL(type), true},
    {"tap", set_tap, OVL(tap), true},
    {"address", set_address, 0, false},
    {"address6", set_address6, 0, false},
    {"group", set_group, OVL(group), false},
    {"secret_file", set_secret_file, 0, false},
    {"mtu", set_mtu, OVL(mtu), false},
};

/* Keys that belong to one type only. */
static int only_for(const struct walk *w, const struct node *n,
		    const char *path, const struct ctl_overlay_config *o)
{
	const char *key = NULL, *type = NULL;
	g_autofree char *kp = NULL;

	if (o->bridge && o->type != CTL_OVERLAY_SWITCH)
		key = "bridge", type = "switch";
	else if ((o->subnet_prefix || o->n_pins) && o->type != CTL_OVERLAY_SVPN)
		key = o->n_pins ? "pins" : "subnet", type = "svpn";
	else if (o->has_secret && o->type == CTL_OVERLAY_SVPN)
		key = "secret_file", type = "gvpn and switch";
	if (!key)
		return 0;
	kp = join(path, key);
	return fail(w, n, kp, "only for type %s", type);
}

/* Pins must be distinct hosts of the subnet other than this node's own
 * address, one per device. */
static int check_pins(const struct walk *w, const struct node *n,
		      const char *path, const struct ctl_overlay_config *o,
		      uint32_t net, uint32_t mask)
{
	g_autofree char *kp = join(path, "pins");
	uint32_t self, a, b;
	unsigned i, j;

	inet_pton(AF_INET, o->ipv4, &self);
	for (i = 0; i < o->n_pins; i++) {
		memcpy(&a, o->pins[i].v4, 4);
		if ((ntohl(a) & mask) != net || (ntohl(a) & ~mask) == 0 ||
		    (ntohl(a) & ~mask) == ~mask || a == self)
			return fail(w, n, kp,
				    "pin %u: address is not a free "
				    "host of the subnet",
				    i);
		for (j = 0; j < i; j++) {
			memcpy(&b, o->pins[j].v4, 4);
			if (a == b ||
			    !strcmp(o->pins[i].device, o->pins[j].device))
				return fail(w, n, kp,
					    "pins %u and %u share a "
					    "device or an address",
					    j, i);
		}
	}
	return 0;
}

/* SocialVPN: subnet 172.31.0.0/16 and its first host unless configured;
 * the node's address lies in the subnet with the subnet's prefix. */
static int svpn_defaults(const struct walk *w, const struct node *n,
			 const char *path, struct ctl_overlay_config *o)
{
	static const uint8_t def_net[4] = {172, 31, 0, 0};
	g_autofree char *kp = join(path, "address");
	uint32_t net, mask, a = 0;
	char buf[INET_ADDRSTRLEN];

	if (!o->subnet_prefix) {
		memcpy(o->subnet, def_net, 4);
		o->subnet_prefix = 16;
	}
	memcpy(&net, o->subnet, 4);
	net = ntohl(net);
	mask = 0xffffffffu << (32 - o->subnet_prefix);
	if (!o->ipv4) {
		a = htonl(net + 1);
		o->ipv4 = g_strdup(inet_ntop(AF_INET, &a, buf, sizeof(buf)));
		o->ipv4_prefix = o->subnet_prefix;
	}
	inet_pton(AF_INET, o->ipv4, &a);
	if ((ntohl(a) & mask) != net || o->ipv4_prefix != o->subnet_prefix)
		return fail(w, n, kp,
			    "'%s/%u' must lie in the subnet with "
			    "its prefix /%u",
			    o->ipv4, o->ipv4_prefix, o->subnet_prefix);
	if (!o->group)
		o->group = g_strdup("socialvpn");
	if (o->ipv6) {
		g_autofree char *k6 = join(path, "address6");
		return fail(w, n, k6,
			    "not for type svpn (IPv6 addresses "
			    "derive from device uids)");
	}
	if (check_pins(w, n, path, o, net, mask) < 0)
		return -EINVAL;
	return only_for(w, n, path, o);
}

static int overlay_item(const struct walk *w, const struct node *n,
			const char *path, unsigned i)
{
	struct ctl_overlay_config *o = &w->cfg->overlays[i];
	const char *missing = NULL;
	g_autofree char *kp = NULL;
	uint32_t seen;

	w->cfg->n_overlays = i + 1;
	if (walk_map(w, n, path, overlay_fields, G_N_ELEMENTS(overlay_fields),
		     o, &seen) < 0)
		return -EINVAL;
	if (o->mtu == 0)
		o->mtu = CTL_MTU_DEFAULT;
	if (o->type == CTL_OVERLAY_SVPN)
		return svpn_defaults(w, n, path, o);
	if (o->ipv4 == NULL && o->type == CTL_OVERLAY_GVPN)
		missing = "address";
	else if (o->group == NULL)
		missing = "group";
	else if (o->bridge == NULL && o->type == CTL_OVERLAY_SWITCH)
		missing = "bridge";
	if (missing == NULL)
		return only_for(w, n, path, o);
	kp = join(path, missing);
	return fail(w, n, kp, "required key is missing (type %s needs it)",
		    o->type == CTL_OVERLAY_GVPN ? "gvpn" : "switch");
}

static int set_overlays(const struct walk *w, const struct node *n,
			const char *path, void *slot)
{
	(void)slot;
	if (walk_list(w, n, path, CTL_MAX_OVERLAYS, overlay_item) < 0)
		return -EINVAL;
	if (n->kids->len == 0)
		return fail(w, n, path, "at least one overlay is required");
	return 0;
}

/* ---- top level --------------------------------------------------------- */

static const struct field tincan_fields[] = {
    {"socket", set_string, CFG(tincan_socket), false},
};

static int set_tincan(const struct walk *w, const struct node *n,
		      const char *path, void *slot)
{
	uint32_t seen;

	return walk_map(w, n, path, tincan_fields, G_N_ELEMENTS(tincan_fields),
			slot, &seen);
}

/* Sections get the config itself as their object (offset 0). */
static const struct field top_fields[] = {
    {"tincan", set_tincan, 0, false},
    {"state_dir", set_string, CFG(state_dir), false},
    {"xmpp", set_xmpp, 0, true},
    {"ice", set_ice, 0, false},
    {"overlays", set_overlays, 0, true},
};

static void apply_defaults(struct ctl_config *c)
{
	if (c->tincan_socket == NULL)
		c->tincan_socket = g_strdup(DEFAULT_SOCKET);
	if (c->state_dir == NULL)
		c->state_dir = g_strdup(DEFAULT_STATE_DIR);
	if (c->server == NULL)
		c->server = g_strdup(strchr(c->jid, '@') + 1);
	if (c->port == 0)
		c->port = XMPP_PORT;
	if (c->tls == 0)
		c->tls = CTL_TLS_REQUIRED;
}

static struct ctl_config *parse(const char *text, size_t len, const char *name,
				const char *base, GError **err)
{
	g_autoptr(tree) root = NULL;
	struct ctl_config *c;
	struct walk w = {.name = name, .base = base, .err = err};
	uint32_t seen;

	if (sodium_init() < 0) {
		fail_line(err, name, 1, "libsodium failed to initialise");
		return NULL;
	}
	root = load_tree(text, len, name, err);
	if (root == NULL)
		return NULL;
	if (root->kind != N_MAP) {
		fail_line(err, name, root->line,
			  "the top level must be a mapping of keys, not %s",
			  kind_name(root));
		return NULL;
	}
	c = w.cfg = g_new0(struct ctl_config, 1);
	c->path = g_strdup(name);
	if (walk_map(&w, root, "", top_fields, G_N_ELEMENTS(top_fields), c,
		     &seen) < 0) {
		ctl_config_free(c);
		return NULL;
	}
	apply_defaults(c);
	return c;
}

struct ctl_config *ctl_config_parse(const char *text, size_t len,
				    const char *name, GError **err)
{
	return parse(text, len, name, NULL, err);
}

/* Relative secret and password files are found next to the config file. */
struct ctl_config *ctl_config_load(const char *path, GError **err)
{
	g_autoptr(GError) ferr = NULL;
	g_autofree char *base = NULL;
	struct ctl_config *c;
	char *text = NULL;
	gsize len = 0;

	if (!g_file_get_contents(path, &text, &len, &ferr)) {
		g_set_error(err, CTL_CONFIG_ERROR, 0, "%s: %s", path,
			    ferr->message);
		return NULL;
	}
	if (len > MAX_FILE) {
		fail_line(err, path, 1, "the file is larger than %d bytes",
			  MAX_FILE);
		c = NULL;
	} else {
		base = g_path_get_dirname(path);
		c = parse(text, len, path, base, err);
	}
	sodium_memzero(text, len);
	g_free(text);
	return c;
}

static void free_secret(char *s)
{
	if (s == NULL)
		return;
	sodium_memzero(s, strlen(s));
	g_free(s);
}

static void free_server(struct ctl_ice_server *s)
{
	g_free(s->address);
	g_free(s->user);
	free_secret(s->password);
}

static void free_overlay(struct ctl_overlay_config *o)
{
	g_free(o->name);
	g_free(o->tap);
	g_free(o->ipv4);
	g_free(o->ipv6);
	g_free(o->group);
	g_free(o->bridge);
	for (unsigned i = 0; i < CTL_MAX_PINS; i++)
		g_free(o->pins[i].device);
	sodium_memzero(o->psk, sizeof(o->psk));
}

void ctl_config_free(struct ctl_config *c)
{
	if (c == NULL)
		return;
	g_free(c->path);
	g_free(c->tincan_socket);
	g_free(c->state_dir);
	g_free(c->jid);
	free_secret(c->password);
	g_free(c->server);
	g_free(c->ca_file);
	for (unsigned i = 0; i < CTL_MAX_SERVERS; i++) {
		free_server(&c->stun[i]);
		free_server(&c->turn[i]);
	}
	for (unsigned i = 0; i < CTL_MAX_OVERLAYS; i++)
		free_overlay(&c->overlays[i]);
	sodium_memzero(c, sizeof(*c));
	g_free(c);
}
