/*
 * The controller's client of tincan's control socket: connects (retrying
 * with backoff while tincan is away), says Hello as a CONTROLLER owning the
 * overlays it was given (PROTOCOL.md §12), sends
 * requests with ids and routes each response to its callback, and hands
 * events to the owner.  Owns the socket, the frame reader and the pending
 * requests; knows nothing of policy.
 */
#ifndef CTL_TINCAN_H
#define CTL_TINCAN_H

#include <stdbool.h>

#include "proto/ipop.pb-c.h"

enum {
	CTL_TINCAN_RETRY_MIN_MS = 100,
	CTL_TINCAN_RETRY_MAX_MS = 2000,
	CTL_TINCAN_TIMEOUT_MS =
	    10000, /* a request unanswered this long fails */
};

/* Called once per request: resp is NULL when tincan went away or timed out
 * before answering.  Borrowed for the call. */
typedef void (*ctl_tincan_reply_fn)(void *ctx, const Ipop__Response *resp,
				    void *data);

struct ctl_tincan_ops {
	/* Hello answered: tincan's identity. */
	void (*on_connected)(void *ctx, const Ipop__HelloReply *hello);
	/* Connection lost or replaced; a reconnect is scheduled unless the
	 * loss was a ControllerReplaced event (then replaced is true and the
	 * client stays down: the other controller owns tincan now). */
	void (*on_disconnected)(void *ctx, bool replaced);
	/* An event (borrowed for the call). */
	void (*on_event)(void *ctx, const Ipop__Event *ev);
};

struct ctl_tincan;

/* Starts connecting to path (copied); borrows ops.  Never NULL. */
struct ctl_tincan *ctl_tincan_new(const char *path,
				  const struct ctl_tincan_ops *ops, void *ctx);
/* Adds overlay (copied) to what the Hello claims: the client is a scoped
 * CONTROLLER owning just these (PROTOCOL.md §12).  Call right after
 * ctl_tincan_new, before the main loop runs; every reconnect claims them
 * again. */
void ctl_tincan_claim(struct ctl_tincan *t, const char *overlay);
/* Closes; pending callbacks are called with NULL first.  NULL: no-op. */
void ctl_tincan_free(struct ctl_tincan *t);
/* Sends req (borrowed; packed at once).  fn(ctx, resp, data) is called
 * exactly once later, never from inside this call.  An unpaged GetState is
 * read page by page and answered once with the whole state.  data is owned by
 * the caller and must stay valid until fn runs (free it in fn).  0 or -ENOTCONN
 * (fn is not called then). */
int ctl_tincan_request(struct ctl_tincan *t, Ipop__Request *req,
		       ctl_tincan_reply_fn fn, void *data);

#endif
