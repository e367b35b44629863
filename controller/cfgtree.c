/*
 * The YAML tree of cfgtree.h: libyaml's event API read into nodes (one
 * recursive descent over the events, bounded by MAX_DEPTH), and the walker
 * over mappings and lists with its error messages.  Scalars are wiped when
 * freed, since the tree holds passwords.
 */
#define G_LOG_DOMAIN "controller"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <string.h>
#include <yaml.h>

#include "controller/cfgtree.h"
#include "controller/config.h"

enum {
	MAX_DEPTH = 16, /* the config nests 4 deep */
	MAX_FIELDS = 32 /* bits of a walk's `seen` */
};

int cfg_fail_line(GError **err, const char *name, unsigned line,
		  const char *fmt, ...)
{
	g_autofree char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(err, CTL_CONFIG_ERROR, 0, "%s:%u: %s", name, line, msg);
	return -EINVAL;
}

/* ---- the tree ---------------------------------------------------------- */

void cfg_node_free(struct cfg_node *n)
{
	if (n == NULL)
		return;
	if (n->str != NULL) {
		sodium_memzero(n->str, n->len);
		g_free(n->str);
	}
	if (n->kids != NULL)
		g_ptr_array_free(n->kids, TRUE);
	g_free(n);
}

static struct cfg_node *node_new(enum cfg_kind kind, const yaml_event_t *ev)
{
	struct cfg_node *n = g_new0(struct cfg_node, 1);

	n->kind = kind;
	n->line = (unsigned)ev->start_mark.line + 1;
	n->column = (unsigned)ev->start_mark.column + 1;
	if (kind != CFG_SCALAR)
		n->kids = g_ptr_array_new_with_free_func(
		    (GDestroyNotify)cfg_node_free);
	return n;
}

const char *cfg_kind_name(const struct cfg_node *n)
{
	static const char *const names[] = {
	    [CFG_SCALAR] = "a single value",
	    [CFG_LIST] = "a list",
	    [CFG_MAP] = "a mapping",
	};

	return names[n->kind];
}

struct reader {
	yaml_parser_t parser;
	const char *name;
	GError **err;
};

/* Fetches the next event; a libyaml error becomes a syntax error. */
static int next_event(struct reader *r, yaml_event_t *ev)
{
	const yaml_parser_t *p = &r->parser;

	if (yaml_parser_parse(&r->parser, ev))
		return 0;
	return cfg_fail_line(
	    r->err, r->name, (unsigned)p->problem_mark.line + 1,
	    "YAML syntax error: %s%s%s",
	    p->problem ? p->problem : "unknown problem", p->context ? " " : "",
	    p->context ? p->context : "");
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

static struct cfg_node *load_node(struct reader *r, yaml_event_t *ev,
				  int depth);

/* Reads the children of a list or mapping up to its end event. */
static int load_kids(struct reader *r, struct cfg_node *n, int depth)
{
	yaml_event_t ev;
	struct cfg_node *kid;

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

static struct cfg_node *load_scalar(struct reader *r, const yaml_event_t *ev)
{
	struct cfg_node *n = node_new(CFG_SCALAR, ev);

	n->len = ev->data.scalar.length;
	n->str = g_malloc(n->len + 1);
	memcpy(n->str, ev->data.scalar.value, n->len);
	n->str[n->len] = '\0';
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	if (strlen(n->str) != n->len) {
		cfg_fail_line(r->err, r->name, n->line, "NUL byte in a value");
		cfg_node_free(n);
		return NULL;
	}
	return n;
}

/* Builds the node that starts with *ev (consumed). */
static struct cfg_node *load_node(struct reader *r, yaml_event_t *ev, int depth)
{
	g_autoptr(cfg_tree) n = NULL;
	unsigned line = (unsigned)ev->start_mark.line + 1;
	yaml_event_type_t type = ev->type;

	if (type == YAML_ALIAS_EVENT || event_anchor(ev) != NULL)
		cfg_fail_line(r->err, r->name, line,
			      "YAML anchors and aliases are not supported");
	else if (depth > MAX_DEPTH)
		cfg_fail_line(r->err, r->name, line, "nesting too deep");
	else if (type == YAML_SCALAR_EVENT)
		n = load_scalar(r, ev);
	else if (type == YAML_SEQUENCE_START_EVENT ||
		 type == YAML_MAPPING_START_EVENT)
		n = node_new(
		    type == YAML_MAPPING_START_EVENT ? CFG_MAP : CFG_LIST, ev);
	else
		cfg_fail_line(r->err, r->name, line, "unexpected YAML event");
	yaml_event_delete(ev);
	if (n != NULL && n->kind != CFG_SCALAR && load_kids(r, n, depth) < 0)
		return NULL;
	return g_steal_pointer(&n);
}

/* Expects an event of the given type and drops it. */
static int expect(struct reader *r, yaml_event_type_t type)
{
	yaml_event_t ev;
	unsigned line;
	int ret = 0;

	if (next_event(r, &ev) < 0)
		return -EINVAL;
	line = (unsigned)ev.start_mark.line + 1;
	if (ev.type == YAML_DOCUMENT_START_EVENT && type != ev.type)
		ret = cfg_fail_line(r->err, r->name, line,
				    "only one YAML document is allowed");
	else if (ev.type != type)
		ret = cfg_fail_line(r->err, r->name, line,
				    "unexpected YAML structure");
	yaml_event_delete(&ev);
	return ret;
}

/* The stream: exactly one document holding one node. */
static struct cfg_node *load_stream(struct reader *r)
{
	g_autoptr(cfg_tree) root = NULL;
	yaml_event_t ev;

	if (expect(r, YAML_STREAM_START_EVENT) < 0 || next_event(r, &ev) < 0)
		return NULL;
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		cfg_fail_line(r->err, r->name, 1, "the configuration is empty");
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

struct cfg_node *cfg_tree_load(const char *text, size_t len, const char *name,
			       GError **err)
{
	struct reader r = {.name = name, .err = err};
	struct cfg_node *root;

	if (!yaml_parser_initialize(&r.parser)) {
		cfg_fail_line(err, name, 1, "out of memory");
		return NULL;
	}
	yaml_parser_set_input_string(&r.parser, (const unsigned char *)text,
				     len);
	root = load_stream(&r);
	yaml_parser_delete(&r.parser);
	return root;
}

/* ---- walking the tree -------------------------------------------------- */

int cfg_fail(const struct cfg_walk *w, const struct cfg_node *n,
	     const char *path, const char *fmt, ...)
{
	g_autofree char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	return cfg_fail_line(w->err, w->name, n->line, "key '%s': %s", path,
			     msg);
}

int cfg_need_kind(const struct cfg_walk *w, const struct cfg_node *n,
		  const char *path, enum cfg_kind kind, const char *what)
{
	if (n->kind == kind)
		return 0;
	return cfg_fail(w, n, path, "must be %s, not %s", what,
			cfg_kind_name(n));
}

/* YAML's null: an empty plain scalar, ~ or null. */
static bool is_null(const struct cfg_node *n)
{
	return n->plain && (n->len == 0 || strcmp(n->str, "~") == 0 ||
			    g_ascii_strcasecmp(n->str, "null") == 0);
}

int cfg_need_text(const struct cfg_walk *w, const struct cfg_node *n,
		  const char *path)
{
	if (cfg_need_kind(w, n, path, CFG_SCALAR, "a single value") < 0)
		return -EINVAL;
	if (is_null(n))
		return cfg_fail(w, n, path, "must not be empty");
	for (size_t i = 0; i < n->len; i++)
		if (g_ascii_iscntrl(n->str[i]))
			return cfg_fail(w, n, path,
					"control character in value");
	return 0;
}

char *cfg_join(const char *path, const char *key)
{
	return path[0] == '\0' ? g_strdup(key)
			       : g_strdup_printf("%s.%s", path, key);
}

char *cfg_resolve(const struct cfg_walk *w, const char *file)
{
	if (w->base == NULL || g_path_is_absolute(file))
		return g_strdup(file);
	return g_build_filename(w->base, file, NULL);
}

static int key_index(const struct cfg_field *f, size_t nf, const char *key)
{
	for (size_t i = 0; i < nf; i++)
		if (strcmp(f[i].key, key) == 0)
			return (int)i;
	return -1;
}

static int unknown_key(const struct cfg_walk *w, const struct cfg_node *key,
		       const char *path, const struct cfg_field *f, size_t nf)
{
	g_autoptr(GString) known = g_string_new(NULL);

	for (size_t i = 0; i < nf; i++)
		g_string_append_printf(known, "%s%s", i ? ", " : "", f[i].key);
	return cfg_fail(w, key, path, "unknown key (expected one of: %s)",
			known->str);
}

/* Checks one key of a mapping and hands its value to the field's setter. */
static int walk_pair(const struct cfg_walk *w, const struct cfg_node *map,
		     guint i, const char *path, const struct cfg_field *f,
		     size_t nf, void *obj, uint32_t *seen)
{
	const struct cfg_node *key = map->kids->pdata[i];
	const struct cfg_node *val = map->kids->pdata[i + 1];
	g_autofree char *kp = NULL;
	int idx;

	if (key->kind != CFG_SCALAR)
		return cfg_fail(w, key, path[0] ? path : "(top level)",
				"a key must be a plain name");
	kp = cfg_join(path, key->str);
	for (guint j = 0; j < i; j += 2) {
		const struct cfg_node *prev = map->kids->pdata[j];

		if (prev->kind == CFG_SCALAR &&
		    strcmp(prev->str, key->str) == 0)
			return cfg_fail(w, key, kp,
					"duplicate key (first on line %u)",
					prev->line);
	}
	idx = key_index(f, nf, key->str);
	if (idx < 0)
		return unknown_key(w, key, kp, f, nf);
	*seen |= 1u << idx;
	return f[idx].set(w, val, kp, (char *)obj + f[idx].off);
}

int cfg_walk_map(const struct cfg_walk *w, const struct cfg_node *map,
		 const char *path, const struct cfg_field *f, size_t nf,
		 void *obj, uint32_t *seen)
{
	g_assert(nf <= MAX_FIELDS);
	*seen = 0;
	if (cfg_need_kind(w, map, path[0] ? path : "(top level)", CFG_MAP,
			  "a mapping") < 0)
		return -EINVAL;
	for (guint i = 0; i + 1 < map->kids->len; i += 2)
		if (walk_pair(w, map, i, path, f, nf, obj, seen) < 0)
			return -EINVAL;
	for (size_t i = 0; i < nf; i++) {
		g_autofree char *kp = cfg_join(path, f[i].key);

		if (f[i].required && !(*seen & (1u << i)))
			return cfg_fail(w, map, kp, "required key is missing");
	}
	return 0;
}

int cfg_walk_list(const struct cfg_walk *w, const struct cfg_node *n,
		  const char *path, unsigned max, cfg_item_fn fn)
{
	if (cfg_need_kind(w, n, path, CFG_LIST, "a list") < 0)
		return -EINVAL;
	if (n->kids->len > max)
		return cfg_fail(w, n, path,
				"at most %u entries are allowed (%u given)",
				max, n->kids->len);
	for (guint i = 0; i < n->kids->len; i++) {
		g_autofree char *ip = g_strdup_printf("%s[%u]", path, i);

		if (fn(w, n->kids->pdata[i], ip, i) < 0)
			return -EINVAL;
	}
	return 0;
}
