/*
 * The configuration's YAML tree and its walker.  Loading turns libyaml's
 * events into a small tree of scalars, lists and mappings, each node with
 * the 1-based line and column where it starts, and refuses what the config
 * never needs (anchors, aliases, several documents, deep nesting, NUL
 * bytes).  Walking checks a mapping against a table of known keys (unknown,
 * duplicate and missing keys are errors) and hands each value to its
 * setter with the dotted key path ("overlays[0].tap") for messages.  This
 * module owns the tree and the error format "FILE:LINE: key 'PATH': WHY";
 * which keys exist and what their values mean is the schema's (config.c).
 */
#ifndef CTL_CFGTREE_H
#define CTL_CFGTREE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ctl_config;

enum cfg_kind { CFG_SCALAR, CFG_LIST, CFG_MAP };

struct cfg_node {
	enum cfg_kind kind;
	unsigned line;	 /* 1-based */
	unsigned column; /* 1-based */
	bool plain;	 /* scalar written without quotes */
	char *str;	 /* scalar, NUL-terminated, no inner NUL */
	size_t len;
	GPtrArray *kids; /* list items; map: key, value, key, value... */
};

/* Parses one YAML document of len bytes; name stands for the file in
 * messages.  NULL with *err set on a syntax error or anything refused. */
struct cfg_node *cfg_tree_load(const char *text, size_t len, const char *name,
			       GError **err);
/* Frees a node and its children, wiping scalars (they include passwords);
 * NULL is a no-op. */
void cfg_node_free(struct cfg_node *n);
/* "a single value", "a list" or "a mapping", for messages. */
const char *cfg_kind_name(const struct cfg_node *n);

/* g_autoptr needs a type name without `struct`. */
typedef struct cfg_node cfg_tree;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(cfg_tree, cfg_node_free)

/* Sets *err to "NAME:LINE: MESSAGE" (CTL_CONFIG_ERROR); returns -EINVAL. */
int cfg_fail_line(GError **err, const char *name, unsigned line,
		  const char *fmt, ...) G_GNUC_PRINTF(4, 5);

/* One walk over a tree: what setters share. */
struct cfg_walk {
	const char *name;	/* the file, for messages */
	const char *base;	/* directory for relative paths, or NULL */
	struct ctl_config *cfg; /* being filled (borrowed) */
	GError **err;
};

/* Sets *err to "NAME:LINE: key 'PATH': MESSAGE" with n's line; -EINVAL. */
int cfg_fail(const struct cfg_walk *w, const struct cfg_node *n,
	     const char *path, const char *fmt, ...) G_GNUC_PRINTF(4, 5);

/* Takes the value n of key path into slot: 0, or -EINVAL after cfg_fail. */
typedef int (*cfg_setter)(const struct cfg_walk *w, const struct cfg_node *n,
			  const char *path, void *slot);

struct cfg_field {
	const char *key;
	cfg_setter set;
	size_t off; /* of the slot in the object */
	bool required;
};

/* Walks a mapping with its field table (at most 32 fields), giving each
 * setter obj + off; *seen gets a bit per key found.  Unknown, duplicate
 * and missing required keys fail. */
int cfg_walk_map(const struct cfg_walk *w, const struct cfg_node *map,
		 const char *path, const struct cfg_field *f, size_t nf,
		 void *obj, uint32_t *seen);

/* Takes item i of a list, whose path is "PATH[i]". */
typedef int (*cfg_item_fn)(const struct cfg_walk *w, const struct cfg_node *n,
			   const char *path, unsigned i);

/* Walks a list of at most max items, calling fn on each in order. */
int cfg_walk_list(const struct cfg_walk *w, const struct cfg_node *n,
		  const char *path, unsigned max, cfg_item_fn fn);

/* Fails unless n is of the kind; what names it ("a mapping"). */
int cfg_need_kind(const struct cfg_walk *w, const struct cfg_node *n,
		  const char *path, enum cfg_kind kind, const char *what);
/* Fails unless n is a non-empty single value without control characters;
 * its text is then n->str. */
int cfg_need_text(const struct cfg_walk *w, const struct cfg_node *n,
		  const char *path);
/* "PATH.KEY", or KEY at the top level (path ""); the caller frees. */
char *cfg_join(const char *path, const char *key);
/* A file named in the config: relative names are taken from the config
 * file's directory when it has one; the caller frees. */
char *cfg_resolve(const struct cfg_walk *w, const char *file);

#endif
