/*
 * ipopctl's JSON output: a small writer that builds one document per line
 * in a GString, and the JSON shapes of tincan's state, links and events
 * that scripts parse (keep them stable).  The writer owns its string until
 * json_emit prints and frees it; the renderings borrow the messages.
 */
#ifndef IPOPCTL_JSON_H
#define IPOPCTL_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "proto/ipop.pb-c.h"

enum { JSON_DEPTH = 16 };

/* A document being written; lives on the caller's stack. */
struct json {
	GString *s; /* owned from json_init to json_emit */
	unsigned depth;
	bool first[JSON_DEPTH];
};

/* Starts an empty document. */
void json_init(struct json *j);
/* Prints the document as one line and frees it. */
void json_emit(struct json *j);
/* json_init and the opening of the document's one object; json_end closes
 * the object and does json_emit. */
void json_begin(struct json *j);
void json_end(struct json *j);
/* Appends v as a JSON string: quotes, backslash and control characters are
 * escaped; bytes >= 0x80 pass through, so UTF-8 stays UTF-8. */
void json_escape(GString *s, const char *v);
/* Writes the separator and, inside an object, the key of the next value
 * (key NULL inside an array). */
void json_sep(struct json *j, const char *key);
/* Opens an object ('{') or an array ('['), and closes it. */
void json_open(struct json *j, const char *key, char bracket);
void json_close(struct json *j, char bracket);
/* One value; json_str writes null for v NULL or empty ("not set"). */
void json_str(struct json *j, const char *key, const char *v);
void json_u64(struct json *j, const char *key, uint64_t v);
void json_bool(struct json *j, const char *key, bool v);

/* A link as an array element; overlay names it when l does not. */
void json_link(struct json *j, const Ipop__LinkInfo *l, const char *overlay);
/* Prints the node's whole state as one document (status --json). */
void json_state(const Ipop__NodeState *st);
/* Prints one event as one document (events). */
void json_event(const Ipop__Event *ev);

#endif
