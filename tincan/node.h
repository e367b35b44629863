/*
 * The node: everything one ipop-tincan process holds — identity, ICE
 * servers, overlays and the control socket — and the request handlers that
 * tie them together.  Owns all of them; main.c only builds and frees it.
 */
#ifndef TC_NODE_H
#define TC_NODE_H

#include <stdbool.h>
#include <sys/types.h>

#include <glib.h>

struct tc_node;

struct tc_node_options {
	const char *socket_path;
	const char *state_dir;
	gid_t socket_gid;    /* (gid_t)-1: leave the group alone */
	bool allow_loopback; /* loopback host candidates */
};

/* Loads the identity and opens the control socket.  NULL with a logged
 * reason. */
struct tc_node *tc_node_new(const struct tc_node_options *opt);
/* Removes every overlay (TAPs vanish, links close), closes the socket;
 * NULL is a no-op. */
void tc_node_free(struct tc_node *n);
/* Appends the node's metrics (Prometheus text, tincan/metrics.h) to out;
 * n is a void * so it can be a tc_http_render_fn's context. */
void tc_node_metrics(void *n, GString *out);

#endif
