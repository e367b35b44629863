/*
 * Client of tincan's control socket for the controller.  Owns the socket,
 * its watches, the frame reader, the output queue and the table of pending
 * requests (id -> callback); a request whose answer never comes fails after
 * CTL_TINCAN_TIMEOUT_MS.  Every callback runs from the main loop, never from
 * inside ctl_tincan_request.
 */
#define G_LOG_DOMAIN "controller"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib-unix.h>
#include <sodium.h>

#include "common/log.h"
#include "controller/tincan.h"
#include "proto/frame.h"
#include "proto/pages.h"
#include "proto/pbutil.h"

struct pending {
	uint64_t id;
	ctl_tincan_reply_fn fn;
	void *data;
	gint64 deadline; /* monotonic us */
};

struct ctl_tincan {
	char *path;
	const struct ctl_tincan_ops *ops;
	void *ctx;
	int fd;
	guint in_watch, out_watch, retry, sweep;
	unsigned retry_ms;
	bool hello_done;
	bool replaced;
	uint64_t next_id;
	GPtrArray
	    *claims; /* overlay names the Hello claims (PROTOCOL.md §12) */
	struct ipop_frame_reader *reader;
	GByteArray *out;
	GQueue pending; /* struct pending *, in id order */
};

static void schedule_retry(struct ctl_tincan *t);

/* Fails every pending request (resp NULL), oldest first. */
static void fail_pending(struct ctl_tincan *t)
{
	struct pending *p;

	while ((p = g_queue_pop_head(&t->pending))) {
		p->fn(t->ctx, NULL, p->data);
		g_free(p);
	}
}

static void close_socket(struct ctl_tincan *t)
{
	if (t->in_watch)
		g_source_remove(t->in_watch);
	if (t->out_watch)
		g_source_remove(t->out_watch);
	t->in_watch = t->out_watch = 0;
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	ipop_frame_reader_free(t->reader);
	t->reader = NULL;
	sodium_memzero(t->out->data, t->out->len); /* unsent requests */
	g_byte_array_set_size(t->out, 0);
}

static void lost(struct ctl_tincan *t, const char *why)
{
	bool was_up = t->hello_done;

	g_message("tincan: connection lost: %s", why);
	close_socket(t);
	t->hello_done = false;
	fail_pending(t);
	if (was_up && t->ops->on_disconnected)
		t->ops->on_disconnected(t->ctx, t->replaced);
	if (!t->replaced)
		schedule_retry(t);
}

static bool flush(struct ctl_tincan *t)
{
	int r = ipop_frame_flush(t->fd, t->out);

	if (r == 0 || r == -EAGAIN)
		return true;
	lost(t, g_strerror(-r));
	return false;
}

static gboolean on_writable(gint fd, GIOCondition cond, gpointer data)
{
	struct ctl_tincan *t = data;

	(void)fd;
	(void)cond;
	if (!flush(t))
		return G_SOURCE_REMOVE;
	if (t->out->len)
		return G_SOURCE_CONTINUE;
	t->out_watch = 0;
	return G_SOURCE_REMOVE;
}

static int queue(struct ctl_tincan *t, Ipop__Envelope *env)
{
	size_t len;
	uint8_t *frame = ipop_frame_encode(env, &len);

	if (!frame)
		return -EMSGSIZE;
	g_byte_array_append(t->out, frame, (guint)len);
	/* A CreateOverlay frame holds the group psk. */
	sodium_memzero(frame, len);
	g_free(frame);
	if (!t->out_watch)
		t->out_watch = g_unix_fd_add(t->fd, G_IO_OUT, on_writable, t);
	return 0;
}

static int send_request(struct ctl_tincan *t, Ipop__Request *req, uint64_t id)
{
	Ipop__Envelope env = IPOP__ENVELOPE__INIT;

	env.version = IPOP_PROTOCOL_VERSION;
	env.request_id = id;
	env.body_case = IPOP__ENVELOPE__BODY_REQUEST;
	env.request = req;
	return queue(t, &env);
}

static void on_hello(struct ctl_tincan *t, const Ipop__Response *resp)
{
	if (resp->status != IPOP__STATUS__OK ||
	    resp->result_case != IPOP__RESPONSE__RESULT_HELLO) {
		g_warning("tincan refused our Hello: %s",
			  IPOP_LOG_STR(resp->message));
		lost(t, "hello refused");
		return;
	}
	t->hello_done = true;
	t->retry_ms = CTL_TINCAN_RETRY_MIN_MS;
	g_message("tincan: connected as CONTROLLER (node %s, tincan %s)",
		  IPOP_LOG_STR(resp->hello->uid),
		  IPOP_LOG_STR(resp->hello->version));
	if (t->ops->on_connected)
		t->ops->on_connected(t->ctx, resp->hello);
}

static void on_response(struct ctl_tincan *t, uint64_t id,
			const Ipop__Response *resp)
{
	struct pending *p = g_queue_peek_head(&t->pending);

	if (id == 0 && !t->hello_done) {
		on_hello(t, resp);
		return;
	}
	/* Responses come in request order; anything else is a bug there. */
	if (!p || p->id != id) {
		g_warning(
		    "tincan: response to unknown request %" G_GUINT64_FORMAT,
		    id);
		return;
	}
	g_queue_pop_head(&t->pending);
	p->fn(t->ctx, resp, p->data);
	g_free(p);
}

/* Handles one envelope; false if the connection is gone. */
static bool dispatch(struct ctl_tincan *t, const Ipop__Envelope *env)
{
	if (env->body_case == IPOP__ENVELOPE__BODY_RESPONSE && env->response) {
		on_response(t, env->request_id, env->response);
		return t->fd >= 0;
	}
	if (env->body_case != IPOP__ENVELOPE__BODY_EVENT || !env->event)
		return true;
	if (env->event->kind_case == IPOP__EVENT__KIND_CONTROLLER_REPLACED) {
		g_warning(
		    "tincan: another controller took over (%s)",
		    IPOP_LOG_STR(env->event->controller_replaced->reason));
		t->replaced = true;
		lost(t, "replaced by another controller");
		return false;
	}
	if (env->event->kind_case == IPOP__EVENT__KIND_OVERLAY_TAKEN)
		g_warning("tincan: %s; this controller leaves it alone until "
			  "it reconnects",
			  IPOP_LOG_STR(env->event->overlay_taken->reason));
	if (t->hello_done && t->ops->on_event)
		t->ops->on_event(t->ctx, env->event);
	return t->fd >= 0;
}

static bool on_envelope(void *ctx, const Ipop__Envelope *env)
{
	return dispatch(ctx, env);
}

static gboolean on_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct ctl_tincan *t = data;
	int r = ipop_frame_pump(fd, t->reader, on_envelope, t);

	(void)cond;
	if (r == IPOP_PUMP_MORE)
		return G_SOURCE_CONTINUE;
	if (r == IPOP_PUMP_STOPPED)
		return G_SOURCE_REMOVE; /* lost() removed the watch */
	t->in_watch = 0;
	if (r == 0)
		lost(t, "tincan closed the socket");
	else if (r == -EMSGSIZE || r == -EBADMSG || r == -EPROTO)
		lost(t, "undecodable data from tincan");
	else
		lost(t, g_strerror(-r));
	return G_SOURCE_REMOVE;
}

static int try_connect(struct ctl_tincan *t)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	Ipop__Request req = IPOP__REQUEST__INIT;
	Ipop__Hello hello = IPOP__HELLO__INIT;
	int fd;

	/* A cut path would name another socket. */
	if (g_strlcpy(sa.sun_path, t->path, sizeof(sa.sun_path)) >=
	    sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	t->fd = fd;
	t->replaced = false;
	t->reader = ipop_frame_reader_new();
	t->in_watch =
	    g_unix_fd_add(fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_readable, t);
	hello.protocol_version = IPOP_PROTOCOL_VERSION;
	hello.role = IPOP__ROLE__CONTROLLER;
	hello.client_name = ipop_cstr("ipop-controller");
	/* Scoped: this process owns its config's overlays and nothing else,
	 * so several controllers can share one tincan. */
	hello.scoped = true;
	hello.n_overlays = t->claims->len;
	hello.overlays = (char **)t->claims->pdata;
	req.kind_case = IPOP__REQUEST__KIND_HELLO;
	req.hello = &hello;
	return send_request(t, &req, 0);
}

static gboolean on_retry(gpointer data)
{
	struct ctl_tincan *t = data;
	int r;

	t->retry = 0;
	r = try_connect(t);
	if (r < 0) {
		g_debug("tincan: connect %s: %s", t->path, g_strerror(-r));
		schedule_retry(t);
	}
	return G_SOURCE_REMOVE;
}

static void schedule_retry(struct ctl_tincan *t)
{
	if (t->retry)
		return;
	t->retry = g_timeout_add(t->retry_ms, on_retry, t);
	t->retry_ms = MIN(t->retry_ms * 2, (unsigned)CTL_TINCAN_RETRY_MAX_MS);
}

static gboolean on_sweep(gpointer data)
{
	struct ctl_tincan *t = data;
	struct pending *p = g_queue_peek_head(&t->pending);

	if (p && g_get_monotonic_time() > p->deadline)
		lost(t, "request timed out");
	return G_SOURCE_CONTINUE;
}

struct ctl_tincan *ctl_tincan_new(const char *path,
				  const struct ctl_tincan_ops *ops, void *ctx)
{
	struct ctl_tincan *t = g_new0(struct ctl_tincan, 1);

	t->path = g_strdup(path);
	t->ops = ops;
	t->ctx = ctx;
	t->fd = -1;
	t->next_id = 1;
	t->retry_ms = CTL_TINCAN_RETRY_MIN_MS;
	t->out = g_byte_array_new();
	t->claims = g_ptr_array_new_with_free_func(g_free);
	g_queue_init(&t->pending);
	t->retry = g_idle_add(on_retry, t);
	t->sweep = g_timeout_add(1000, on_sweep, t);
	return t;
}

void ctl_tincan_free(struct ctl_tincan *t)
{
	if (!t)
		return;
	if (t->retry)
		g_source_remove(t->retry);
	g_source_remove(t->sweep);
	close_socket(t);
	fail_pending(t);
	g_byte_array_free(t->out, TRUE);
	g_ptr_array_free(t->claims, TRUE);
	g_free(t->path);
	g_free(t);
}

void ctl_tincan_claim(struct ctl_tincan *t, const char *overlay)
{
	g_ptr_array_add(t->claims, g_strdup(overlay));
}

/* A GetState read page by page for its caller, who gets one answer. */
struct paging {
	struct ctl_tincan *t;
	struct ipop_state_pages *pages;
	ctl_tincan_reply_fn fn;
	void *data;
	unsigned n_pages;
	gint64 start; /* monotonic us */
};

static int send_page(struct paging *pg);

static size_t count_mappings(const Ipop__NodeState *st)
{
	size_t i, n = 0;

	for (i = 0; i < st->n_overlays; i++)
		n += st->overlays[i]->n_mappings;
	return n;
}

static void page_done(struct paging *pg, const Ipop__Response *resp)
{
	pg->fn(pg->t->ctx, resp, pg->data);
	ipop_state_pages_free(pg->pages);
	g_free(pg);
}

static void on_page(void *ctx, const Ipop__Response *resp, void *data)
{
	struct paging *pg = data;
	Ipop__Response whole = IPOP__RESPONSE__INIT;
	int more;

	(void)ctx;
	if (!resp || resp->status != IPOP__STATUS__OK ||
	    resp->result_case != IPOP__RESPONSE__RESULT_STATE) {
		page_done(pg, resp);
		return;
	}
	pg->n_pages++;
	more = ipop_state_pages_add(pg->pages, resp->state);
	if (more == 1 && send_page(pg) == 0)
		return;
	if (more < 0)
		g_warning("tincan: GetState pages do not move on");
	whole.status = IPOP__STATUS__OK;
	whole.result_case = IPOP__RESPONSE__RESULT_STATE;
	whole.state = more == 0 ? ipop_state_pages_join(pg->pages) : NULL;
	if (!whole.state) {
		page_done(pg, NULL);
		return;
	}
	g_info("tincan: state read: %zu overlays, %zu mappings, %u pages in "
	       "%" G_GINT64_FORMAT " ms",
	       whole.state->n_overlays, count_mappings(whole.state),
	       pg->n_pages, (g_get_monotonic_time() - pg->start) / 1000);
	page_done(pg, &whole);
	ipop__node_state__free_unpacked(whole.state, NULL);
}

/* Asks for the next page; 0 or -errno (the caller then ends pg). */
static int send_page(struct paging *pg)
{
	Ipop__Request req = IPOP__REQUEST__INIT;
	Ipop__GetState gs;

	ipop_state_pages_request(pg->pages, &gs);
	req.kind_case = IPOP__REQUEST__KIND_GET_STATE;
	req.get_state = &gs;
	return ctl_tincan_request(pg->t, &req, on_page, pg);
}

int ctl_tincan_request(struct ctl_tincan *t, Ipop__Request *req,
		       ctl_tincan_reply_fn fn, void *data)
{
	struct paging *pg;
	struct pending *p;
	int r;

	if (!t->hello_done)
		return -ENOTCONN;
	if (req->kind_case == IPOP__REQUEST__KIND_GET_STATE &&
	    !req->get_state->paged) {
		/* However large the state, the caller gets all of it. */
		pg = g_new0(struct paging, 1);
		pg->t = t;
		pg->fn = fn;
		pg->data = data;
		pg->pages = ipop_state_pages_new(req->get_state->overlay, 0);
		pg->start = g_get_monotonic_time();
		r = send_page(pg);
		if (r < 0) {
			ipop_state_pages_free(pg->pages);
			g_free(pg);
		}
		return r;
	}
	r = send_request(t, req, t->next_id);
	if (r < 0)
		return r;
	p = g_new0(struct pending, 1);
	p->id = t->next_id++;
	p->fn = fn;
	p->data = data;
	p->deadline =
	    g_get_monotonic_time() + (gint64)CTL_TINCAN_TIMEOUT_MS * 1000;
	g_queue_push_tail(&t->pending, p);
	return 0;
}
