/*
 * The control socket server's clients.  Owns every client once the
 * listener (control_listen.c) has admitted it: its fd, frame reader, output
 * queue and role.  Requests are checked here
 * (Hello first, version, role) and interpreted by the handler; a broken or
 * hostile client is answered with an error and disconnected, and never
 * affects the others.
 */
#define G_LOG_DOMAIN "tincan"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>

#include "common/log.h"
#include "common/names.h"
#include "proto/frame.h"
#include "proto/pbutil.h"
#include "proto/wire.h"
#include "tincan/adapter.h"
#include "tincan/control.h"
#include "tincan/control_int.h"
#include "tincan/owners.h"

void tc_control_client_free(struct client *cl)
{
	struct tc_control *c = cl->ctl;

	tc_owners_drop(c->owners, cl->id);
	c->clients = g_list_remove(c->clients, cl);
	if (cl->in_watch)
		g_source_remove(cl->in_watch);
	if (cl->out_watch)
		g_source_remove(cl->out_watch);
	close(cl->fd);
	ipop_frame_reader_free(cl->reader);
	g_byte_array_free(cl->out, TRUE);
	g_free(cl);
}

static void client_drop(struct client *cl, const char *why)
{
	g_message("control: client %u (pid %d) disconnected: %s", cl->id,
		  (int)cl->pid, why);
	tc_control_client_free(cl);
}

/* Writes what is queued; false if the client had to be dropped. */
static bool flush(struct client *cl)
{
	int r = ipop_frame_flush(cl->fd, cl->out);

	if (r == 0 || r == -EAGAIN)
		return true;
	client_drop(cl, g_strerror(-r));
	return false;
}

static gboolean on_writable(gint fd, GIOCondition cond, gpointer data)
{
	struct client *cl = data;

	(void)fd;
	(void)cond;
	if (!flush(cl))
		return G_SOURCE_REMOVE; /* cl is gone and its watch with it */
	if (cl->out->len)
		return G_SOURCE_CONTINUE;
	cl->out_watch = 0;
	return G_SOURCE_REMOVE;
}

/* Queues one envelope; false if the client was dropped. */
static bool queue(struct client *cl, Ipop__Envelope *env)
{
	size_t len;
	uint8_t *frame = ipop_frame_encode(env, &len);

	if (!frame) {
		g_warning("control: message too large for client %u", cl->id);
		return true;
	}
	if (cl->out->len + len > TC_CONTROL_MAX_QUEUE) {
		g_free(frame);
		client_drop(cl, "not reading (queue full)");
		return false;
	}
	g_byte_array_append(cl->out, frame, (guint)len);
	g_free(frame);
	if (!flush(cl))
		return false;
	if (cl->out->len && !cl->out_watch)
		cl->out_watch = g_unix_fd_add_full(
		    CONTROL_PRIORITY, cl->fd, G_IO_OUT, on_writable, cl, NULL);
	return true;
}

static bool respond(struct client *cl, uint64_t id, Ipop__Response *resp)
{
	Ipop__Envelope env = IPOP__ENVELOPE__INIT;
	Ipop__Response big = IPOP__RESPONSE__INIT;
	char why[200];
	size_t n;

	env.version = IPOP_PROTOCOL_VERSION;
	env.request_id = id;
	env.body_case = IPOP__ENVELOPE__BODY_RESPONSE;
	env.response = resp;
	n = ipop__envelope__get_packed_size(&env);
	if (n > IPOP_FRAME_MAX) {
		/* An answer the client would wait for forever if dropped. */
		g_snprintf(why, sizeof(why),
			   "the answer is %zu bytes, over the %d-byte frame "
			   "limit: ask for less (GetState: paged=true, see "
			   "PROTOCOL.md)",
			   n, IPOP_FRAME_MAX);
		g_message("control: client %u: %s", cl->id, why);
		big.status = IPOP__STATUS__TOO_BIG;
		big.message = why;
		env.response = &big;
	}
	return queue(cl, &env);
}

/* Answers with an error, then disconnects. */
static void refuse(struct client *cl, uint64_t id, Ipop__Status st,
		   const char *why)
{
	Ipop__Response resp = IPOP__RESPONSE__INIT;

	resp.status = st;
	resp.message = ipop_cstr(why);
	if (respond(cl, id, &resp))
		client_drop(cl, why);
}

/* Who may send what: PROTOCOL.md §5's table, the only place the rule
 * lives.  Hello is the first frame of every session and is handled before
 * this table; a kind not listed is one this tincan does not know. */
enum {
	MAY_C = 1u << IPOP__ROLE__CONTROLLER,
	MAY_O = 1u << IPOP__ROLE__OBSERVER
};

static const struct {
	Ipop__Request__KindCase kind;
	const char *name;
	unsigned roles;
} request_roles[] = {
    {IPOP__REQUEST__KIND_HELLO, "Hello", MAY_C | MAY_O},
    {IPOP__REQUEST__KIND_CREATE_OVERLAY, "CreateOverlay", MAY_C},
    {IPOP__REQUEST__KIND_REMOVE_OVERLAY, "RemoveOverlay", MAY_C},
    {IPOP__REQUEST__KIND_SET_ICE_SERVERS, "SetIceServers", MAY_C},
    {IPOP__REQUEST__KIND_CREATE_LINK, "CreateLink", MAY_C},
    {IPOP__REQUEST__KIND_ADD_REMOTE_CANDIDATES, "AddRemoteCandidates", MAY_C},
    {IPOP__REQUEST__KIND_GET_LOCAL_CANDIDATES, "GetLocalCandidates",
     MAY_C | MAY_O},
    {IPOP__REQUEST__KIND_REMOVE_LINK, "RemoveLink", MAY_C},
    {IPOP__REQUEST__KIND_MAP_PEER, "MapPeer", MAY_C},
    {IPOP__REQUEST__KIND_SET_ROUTE, "SetRoute", MAY_C},
    {IPOP__REQUEST__KIND_SET_LINK_KIND, "SetLinkKind", MAY_C},
    {IPOP__REQUEST__KIND_GET_STATE, "GetState", MAY_C | MAY_O},
    {IPOP__REQUEST__KIND_GET_STATS, "GetStats", MAY_C | MAY_O},
    {IPOP__REQUEST__KIND_CLAIM_OVERLAY, "ClaimOverlay", MAY_C},
    {IPOP__REQUEST__KIND_RELEASE_OVERLAY, "ReleaseOverlay", MAY_C},
    {IPOP__REQUEST__KIND_SET_LOG_LEVEL, "SetLogLevel", MAY_C},
    {IPOP__REQUEST__KIND_ECHO, "Echo", MAY_C | MAY_O},
    {IPOP__REQUEST__KIND_GET_METRICS, "GetMetrics", MAY_C | MAY_O},
};

/* The table's row for kind, or -1. */
static int find_kind(Ipop__Request__KindCase kind)
{
	unsigned i;

	for (i = 0; i < G_N_ELEMENTS(request_roles); i++)
		if (request_roles[i].kind == kind)
			return (int)i;
	return -1;
}

int tc_control_role_check(Ipop__Role role, Ipop__Request__KindCase kind)
{
	int i = find_kind(kind);

	if (i < 0)
		return -EOPNOTSUPP;
	if (role <= 0 || role >= 32 || !(request_roles[i].roles & (1u << role)))
		return -EPERM;
	return 0;
}

/* A request only a controller may send: one that changes something. */
static bool is_change(Ipop__Request__KindCase kind)
{
	return tc_control_role_check(IPOP__ROLE__OBSERVER, kind) == -EPERM;
}

const char *tc_control_request_name(Ipop__Request__KindCase kind)
{
	int i = find_kind(kind);

	return i < 0 ? "unknown request" : request_roles[i].name;
}

static struct client *find_client(struct tc_control *c, unsigned id)
{
	GList *it;

	for (it = c->clients; it; it = it->next)
		if (((struct client *)it->data)->id == id)
			return it->data;
	return NULL;
}

/* Sends ev to cl alone; false if cl was dropped. */
static bool tell(struct client *cl, Ipop__Event *ev)
{
	Ipop__Envelope env = IPOP__ENVELOPE__INIT;

	env.version = IPOP_PROTOCOL_VERSION;
	env.body_case = IPOP__ENVELOPE__BODY_EVENT;
	env.event = ev;
	return queue(cl, &env);
}

/* A whole-node controller said Hello: the one before it is told and
 * disconnected (version 1's rule); scoped controllers keep their claims. */
static void replace_controller(struct client *cl)
{
	struct tc_control *c = cl->ctl;
	struct client *old =
	    find_client(c, tc_owners_set_whole(c->owners, cl->id));
	Ipop__Event ev = IPOP__EVENT__INIT;
	Ipop__ControllerReplacedEvent cr =
	    IPOP__CONTROLLER_REPLACED_EVENT__INIT;
	char why[96];

	if (!old)
		return;
	g_snprintf(why, sizeof(why), "replaced by client %u (pid %d)", cl->id,
		   (int)cl->pid);
	cr.reason = why;
	ev.kind_case = IPOP__EVENT__KIND_CONTROLLER_REPLACED;
	ev.controller_replaced = &cr;
	if (tell(old, &ev))
		client_drop(old, why);
}

/* cl claims name, taking it from its owner, who is told and keeps the
 * rest.  0 or -ENOSPC. */
static int claim(struct client *cl, const char *name)
{
	struct tc_control *c = cl->ctl;
	Ipop__Event ev = IPOP__EVENT__INIT;
	Ipop__OverlayTakenEvent ot = IPOP__OVERLAY_TAKEN_EVENT__INIT;
	struct client *old;
	unsigned prev;
	char why[IPOP_LOG_STR_LEN + 96];
	int r = tc_owners_claim(c->owners, cl->id, name, &prev);

	if (r < 0 || !(old = find_client(c, prev)))
		return r;
	g_snprintf(why, sizeof(why), "overlay '%s' taken by client %u (%s)",
		   name, cl->id, cl->name);
	g_message("control: client %u: %s", old->id, why);
	ot.overlay = (char *)(uintptr_t)name;
	ot.reason = why;
	ev.kind_case = IPOP__EVENT__KIND_OVERLAY_TAKEN;
	ev.overlay_taken = &ot;
	tell(old, &ev);
	return 0;
}

/* After a controller's Hello: whole-node, or owner of what it names. */
static void take_ownership(struct client *cl, const Ipop__Hello *h)
{
	size_t i;

	if (!h->scoped && h->n_overlays == 0) {
		replace_controller(cl);
		return;
	}
	for (i = 0; i < h->n_overlays; i++)
		claim(cl, h->overlays[i]);
	g_message("control: client %u owns %zu overlays", cl->id,
		  h->n_overlays);
}

static bool handle_hello(struct client *cl, uint64_t id, const Ipop__Hello *h)
{
	Ipop__Response resp = IPOP__RESPONSE__INIT;
	Ipop__HelloReply reply = IPOP__HELLO_REPLY__INIT;

	if (h->protocol_version != IPOP_PROTOCOL_VERSION) {
		refuse(cl, id, IPOP__STATUS__VERSION_MISMATCH,
		       "protocol version not supported (this tincan speaks 1)");
		return false;
	}
	if (h->role != IPOP__ROLE__CONTROLLER &&
	    h->role != IPOP__ROLE__OBSERVER) {
		refuse(cl, id, IPOP__STATUS__BAD_REQUEST, "unknown role");
		return false;
	}
	if (tc_adapter_claims_problem(h)) {
		refuse(cl, id, IPOP__STATUS__BAD_REQUEST,
		       tc_adapter_claims_problem(h));
		return false;
	}
	cl->role = h->role;
	/* untrusted: from the client */
	ipop_log_str(h->client_name && *h->client_name ? h->client_name : "?",
		     cl->name, sizeof(cl->name));
	g_message("control: client %u (pid %d, %s) is %s", cl->id, (int)cl->pid,
		  cl->name,
		  h->role != IPOP__ROLE__CONTROLLER ? "OBSERVER"
		  : h->scoped || h->n_overlays	    ? "a scoped CONTROLLER"
						    : "CONTROLLER");
	cl->ctl->h->hello(cl->ctl->h->ctx, &reply);
	resp.status = IPOP__STATUS__OK;
	resp.result_case = IPOP__RESPONSE__RESULT_HELLO;
	resp.hello = &reply;
	if (!respond(cl, id, &resp))
		return false;
	if (h->role == IPOP__ROLE__CONTROLLER)
		take_ownership(cl, h);
	return true;
}

/* Answers DENIED to a request the client's role may not send; the
 * connection stays open and nothing changes. */
static bool deny(struct client *cl, uint64_t id, Ipop__Request__KindCase kind)
{
	Ipop__Response resp = IPOP__RESPONSE__INIT;
	char why[128];

	g_snprintf(why, sizeof(why),
		   "%s is for the CONTROLLER only; this connection is an "
		   "OBSERVER",
		   tc_control_request_name(kind));
	g_info("control: client %u (pid %d) denied %s", cl->id, (int)cl->pid,
	       tc_control_request_name(kind));
	resp.status = IPOP__STATUS__DENIED;
	resp.message = why;
	return respond(cl, id, &resp);
}

/* Answers DENIED to a change of an overlay another controller owns (or
 * nobody does); the connection stays open and nothing changes. */
static bool deny_overlay(struct client *cl, uint64_t id,
			 Ipop__Request__KindCase kind, const char *overlay)
{
	struct tc_control *c = cl->ctl;
	Ipop__Response resp = IPOP__RESPONSE__INIT;
	struct client *owner =
	    find_client(c, tc_owners_owner(c->owners, overlay));
	char who[IPOP_LOG_STR_LEN + 64], why[2 * IPOP_LOG_STR_LEN + 128];

	if (owner)
		g_snprintf(who, sizeof(who),
			   "controller client %u (%s) owns it", owner->id,
			   owner->name);
	else
		g_strlcpy(who, "no controller owns it: claim it first",
			  sizeof(who));
	g_snprintf(why, sizeof(why),
		   "%s on overlay '%s' denied: this controller does not own "
		   "it; %s (PROTOCOL.md §12)",
		   /* untrusted: from the client */
		   tc_control_request_name(kind), IPOP_LOG_STR(overlay), who);
	g_info("control: client %u (pid %d) %s", cl->id, (int)cl->pid, why);
	resp.status = IPOP__STATUS__DENIED;
	resp.message = why;
	return respond(cl, id, &resp);
}

/* ClaimOverlay and ReleaseOverlay: answered here, where the clients are. */
static bool handle_claim(struct client *cl, uint64_t id,
			 const Ipop__Request *req)
{
	Ipop__Response resp = IPOP__RESPONSE__INIT;
	bool take = req->kind_case == IPOP__REQUEST__KIND_CLAIM_OVERLAY;
	const char *name =
	    take ? req->claim_overlay->name : req->release_overlay->name;
	int r;

	resp.status = IPOP__STATUS__OK;
	if (!ipop_overlay_name_is_valid(name)) {
		resp.status = IPOP__STATUS__BAD_REQUEST;
		resp.message = ipop_cstr("overlay name is not " IPOP_NAME_RULE);
		return respond(cl, id, &resp);
	}
	r = take ? claim(cl, name)
		 : tc_owners_release(cl->ctl->owners, cl->id, name);
	if (r == -ENOSPC) {
		resp.status = IPOP__STATUS__INTERNAL;
		resp.message =
		    ipop_cstr("too many overlays claimed (at most 256)");
	} else if (r < 0) {
		resp.status = IPOP__STATUS__NOT_FOUND;
		resp.message =
		    ipop_cstr("this controller has not claimed that overlay");
	} else {
		g_message("control: client %u %s overlay %s", cl->id,
			  take ? "claimed" : "released", name);
	}
	return respond(cl, id, &resp);
}

struct text_check {
	char why[IPOP_WIRE_PATH_MAX + 96];
};

static bool check_text(void *ctx, const char *path, const uint8_t *s,
		       size_t len)
{
	struct text_check *t = ctx;
	const char *problem = ipop_text_problem((const char *)s, len);

	if (problem == NULL)
		return true;
	g_snprintf(t->why, sizeof(t->why),
		   "%s %s (every string must be UTF-8 without NUL bytes)", path,
		   problem);
	return false;
}

/* Why the strings of the envelope just read are refused, or NULL.  They
 * are checked on the wire: the unpacked copy ends at the first NUL. */
static const char *bad_text(struct client *cl, struct text_check *t)
{
	size_t len;
	const uint8_t *body = ipop_frame_reader_last(cl->reader, &len);
	int r;

	if (body == NULL)
		return NULL;
	r = ipop_wire_strings(&ipop__envelope__descriptor, body, len,
			      check_text, t);
	if (r == 0)
		return NULL;
	if (r < 0)
		g_strlcpy(t->why, "undecodable request", sizeof(t->why));
	/* The path names one of our fields, never the client's bytes. */
	g_info("control: client %u (pid %d) sent bad text: %s", cl->id,
	       (int)cl->pid, t->why);
	return t->why;
}

/* Answers BAD_REQUEST for a request whose strings are refused; the
 * connection stays open. */
static bool bad_request(struct client *cl, uint64_t id, const char *why)
{
	Ipop__Response resp = IPOP__RESPONSE__INIT;

	resp.status = IPOP__STATUS__BAD_REQUEST;
	resp.message = ipop_cstr(why);
	return respond(cl, id, &resp);
}

/* Handles one envelope; false if the client is gone. */
static bool handle(struct client *cl, const Ipop__Envelope *env)
{
	const struct tc_control_handler *h = cl->ctl->h;
	const Ipop__Request *req = env->request;
	Ipop__Response resp = IPOP__RESPONSE__INIT;
	struct text_check text;
	const char *why, *target;
	bool alive;

	if (env->body_case != IPOP__ENVELOPE__BODY_REQUEST || !req ||
	    req->kind_case == IPOP__REQUEST__KIND__NOT_SET) {
		if (cl->role == IPOP__ROLE__ROLE_UNSPECIFIED) {
			refuse(cl, env->request_id, IPOP__STATUS__BAD_REQUEST,
			       "first message must be a Hello request");
			return false;
		}
		resp.status = IPOP__STATUS__UNSUPPORTED;
		resp.message = ipop_cstr("not a request this tincan knows");
		return respond(cl, env->request_id, &resp);
	}
	why = bad_text(cl, &text);
	if (cl->role == IPOP__ROLE__ROLE_UNSPECIFIED) {
		if (why != NULL) {
			refuse(cl, env->request_id, IPOP__STATUS__BAD_REQUEST,
			       why);
			return false;
		}
		if (req->kind_case == IPOP__REQUEST__KIND_HELLO)
			return handle_hello(cl, env->request_id, req->hello);
		refuse(cl, env->request_id, IPOP__STATUS__BAD_REQUEST,
		       "first message must be a Hello request");
		return false;
	}
	if (req->kind_case == IPOP__REQUEST__KIND_HELLO) {
		resp.status = IPOP__STATUS__BAD_REQUEST;
		resp.message = ipop_cstr("Hello already done");
		return respond(cl, env->request_id, &resp);
	}
	switch (tc_control_role_check(cl->role, req->kind_case)) {
	case 0:
		break;
	case -EPERM:
		return deny(cl, env->request_id, req->kind_case);
	default:
		/* A kind this tincan does not know: the handler answers
		 * UNSUPPORTED, as it always has. */
		break;
	}
	if (why != NULL)
		return bad_request(cl, env->request_id, why);
	if (req->kind_case == IPOP__REQUEST__KIND_CLAIM_OVERLAY ||
	    req->kind_case == IPOP__REQUEST__KIND_RELEASE_OVERLAY)
		return handle_claim(cl, env->request_id, req);
	target = tc_adapter_request_overlay(req);
	/* An empty name is the handler's BAD_REQUEST or NOT_FOUND. */
	if (is_change(req->kind_case) && !(target && !*target) &&
	    tc_owners_may(cl->ctl->owners, cl->id, target) < 0)
		return deny_overlay(cl, env->request_id, req->kind_case,
				    target);
	if (is_change(req->kind_case) && target == NULL)
		g_message("control: client %u (%s) sends node-wide %s", cl->id,
			  cl->name, tc_control_request_name(req->kind_case));
	h->handle(h->ctx, req, &resp);
	alive = respond(cl, env->request_id, &resp);
	h->release(h->ctx, &resp);
	return alive;
}

static const char *reader_error(int r, Ipop__Status *st)
{
	*st = IPOP__STATUS__BAD_REQUEST;
	switch (r) {
	case -EMSGSIZE:
		return "frame too large";
	case -EPROTO:
		*st = IPOP__STATUS__VERSION_MISMATCH;
		return "envelope version not supported (this tincan speaks 1)";
	default:
		return "undecodable frame";
	}
}

static bool on_envelope(void *ctx, const Ipop__Envelope *env)
{
	return handle(ctx, env);
}

/* untrusted: from a local client (any bytes). */
gboolean tc_control_on_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct client *cl = data;
	int r = ipop_frame_pump(fd, cl->reader, on_envelope, cl);
	const char *why;
	Ipop__Status st;

	(void)cond;
	if (r == IPOP_PUMP_MORE)
		return G_SOURCE_CONTINUE;
	if (r == IPOP_PUMP_STOPPED)
		return G_SOURCE_REMOVE; /* the client is gone */
	cl->in_watch = 0;
	if (r == 0 || (r != -EMSGSIZE && r != -EBADMSG && r != -EPROTO)) {
		client_drop(cl, r == 0 ? "closed by client" : g_strerror(-r));
		return G_SOURCE_REMOVE;
	}
	why = reader_error(r, &st);
	g_message("control: client %u sent a bad frame: %s", cl->id, why);
	refuse(cl, 0, st, why);
	return G_SOURCE_REMOVE;
}

void tc_control_broadcast(struct tc_control *c, Ipop__Event *ev)
{
	Ipop__Envelope env = IPOP__ENVELOPE__INIT;
	GList *it, *next;

	env.version = IPOP_PROTOCOL_VERSION;
	env.body_case = IPOP__ENVELOPE__BODY_EVENT;
	env.event = ev;
	for (it = c->clients; it; it = next) {
		struct client *cl = it->data;
		next = it->next; /* queue() may drop cl */
		if (cl->role != IPOP__ROLE__ROLE_UNSPECIFIED &&
		    !queue(cl, &env))
			c->events_dropped++;
	}
}

void tc_control_get_stats(const struct tc_control *c,
			  struct tc_control_stats *st)
{
	const GList *it;

	st->clients = g_list_length(c->clients);
	st->controller = false; /* any CONTROLLER, whole-node or scoped */
	for (it = c->clients; it; it = it->next)
		if (((const struct client *)it->data)->role ==
		    IPOP__ROLE__CONTROLLER)
			st->controller = true;
	st->events_dropped = c->events_dropped;
}
