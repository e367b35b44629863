/*
 * Commands about links: create-link, add-candidates and remove-link, and
 * the two that wait for tincan (candidates until gathering is done,
 * wait-link until the link is up), asking again every POLL_MS in case
 * events do not come.
 */
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "tools/ipopctl/client.h"
#include "tools/ipopctl/json.h"
#include "tools/ipopctl/parse.h"
#include "tools/ipopctl/render.h"

int cmd_create_link(struct ctl *c, struct args *a)
{
	uint8_t key[IPOP_KEY_LEN];
	Ipop__CreateLink cl;
	Ipop__Request req;
	int r;

	if ((r = parse_link_args(c, a)) != 0 ||
	    (r = parse_key(c, a->pos[2], key)) != 0)
		return r;
	ipop__create_link__init(&cl);
	if (a->kind != NULL && (r = parse_link_kind(c, a->kind, &cl.kind)) != 0)
		return r;
	cl.overlay = a->pos[0];
	cl.peer_uid = a->pos[1];
	cl.peer_public_key.data = key;
	cl.peer_public_key.len = IPOP_KEY_LEN;
	ipop__request__init(&req);
	req.kind_case = IPOP__REQUEST__KIND_CREATE_LINK;
	req.create_link = &cl;
	return client_request(c, &req);
}

/* Decodes a candidate blob.  untrusted: pasted from the other peer. */
static int parse_blob(struct ctl *c, const char *s, Ipop__IceCredentials **out)
{
	size_t len = 0;
	uint8_t *raw;

	if (strlen(s) > IPOP_FRAME_MAX)
		return usage_err(c, "BLOB is longer than %d characters",
				 IPOP_FRAME_MAX);
	raw = parse_b64(s, &len);
	if (raw == NULL)
		return usage_err(c, "BLOB is not valid base64");
	*out = ipop__ice_credentials__unpack(NULL, len, raw);
	g_free(raw);
	if (*out == NULL)
		return usage_err(c,
				 "BLOB does not decode as ipop.IceCredentials"
				 " (was it copied whole?)");
	if ((*out)->ufrag[0] == '\0' || (*out)->pwd[0] == '\0') {
		ipop__ice_credentials__free_unpacked(*out, NULL);
		*out = NULL;
		return usage_err(c, "BLOB has no ICE ufrag/pwd");
	}
	return 0;
}

int cmd_add_candidates(struct ctl *c, struct args *a)
{
	Ipop__IceCredentials *cred = NULL;
	Ipop__AddRemoteCandidates arc;
	Ipop__Request req;
	int r;

	if ((r = parse_link_args(c, a)) != 0 ||
	    (r = parse_blob(c, a->pos[2], &cred)) != 0)
		return r;
	ipop__add_remote_candidates__init(&arc);
	arc.overlay = a->pos[0];
	arc.peer_uid = a->pos[1];
	arc.remote = cred;
	ipop__request__init(&req);
	req.kind_case = IPOP__REQUEST__KIND_ADD_REMOTE_CANDIDATES;
	req.add_remote_candidates = &arc;
	r = client_request(c, &req);
	ipop__ice_credentials__free_unpacked(cred, NULL);
	return r;
}

int cmd_remove_link(struct ctl *c, struct args *a)
{
	Ipop__RemoveLink rl;
	Ipop__Request req;
	int r;

	if ((r = parse_link_args(c, a)) != 0)
		return r;
	ipop__remove_link__init(&rl);
	rl.overlay = a->pos[0];
	rl.peer_uid = a->pos[1];
	ipop__request__init(&req);
	req.kind_case = IPOP__REQUEST__KIND_REMOVE_LINK;
	req.remove_link = &rl;
	return client_request(c, &req);
}

struct cand_wait {
	char *overlay, *peer; /* borrowed from argv */
	uint8_t *packed;      /* the blob once known */
	size_t len;
};

static void cand_keep(struct cand_wait *w, const Ipop__IceCredentials *cr)
{
	if (w->packed != NULL || cr == NULL)
		return;
	w->len = ipop__ice_credentials__get_packed_size(cr);
	w->packed = g_malloc(w->len + 1);
	ipop__ice_credentials__pack(cr, w->packed);
}

static void cand_event(struct ctl *c, const Ipop__Event *ev)
{
	struct cand_wait *w = c->ev_arg;
	const Ipop__LocalCandidatesEvent *lc = ev->local_candidates;

	if (ev->kind_case != IPOP__EVENT__KIND_LOCAL_CANDIDATES || lc == NULL)
		return;
	if (strcmp(lc->overlay, w->overlay) == 0 &&
	    strcmp(lc->peer_uid, w->peer) == 0)
		cand_keep(w, lc->local);
	c->ev_done = w->packed != NULL;
}

/* One GetLocalCandidates round: CTL_OK (w->packed set if gathering is
 * done), or an error code. */
static int cand_ask(struct ctl *c, struct cand_wait *w, int64_t deadline)
{
	Ipop__GetLocalCandidates glc;
	Ipop__Envelope *env;
	Ipop__Request req;
	int r;

	ipop__get_local_candidates__init(&glc);
	glc.overlay = w->overlay;
	glc.peer_uid = w->peer;
	ipop__request__init(&req);
	req.kind_case = IPOP__REQUEST__KIND_GET_LOCAL_CANDIDATES;
	req.get_local_candidates = &glc;
	r = client_call(c, &req, deadline, IPOP__RESPONSE__RESULT_LOCAL, &env);
	if (env != NULL) {
		cand_keep(w, env->response->local);
		ipop__envelope__free_unpacked(env, NULL);
	}
	return r;
}

static void print_blob(struct ctl *c, const struct cand_wait *w)
{
	char *b64 = g_base64_encode(w->packed, w->len);
	struct json j;

	if (c->json) {
		json_begin(&j);
		json_str(&j, "overlay", w->overlay);
		json_str(&j, "peer_uid", w->peer);
		json_str(&j, "blob", b64);
		json_end(&j);
	} else {
		printf("%s\n", b64);
	}
	g_free(b64);
}

int cmd_candidates(struct ctl *c, struct args *a)
{
	struct cand_wait w = {.overlay = a->pos[0], .peer = a->pos[1]};
	int64_t deadline;
	int r;

	if ((r = parse_link_args(c, a)) != 0)
		return r;
	c->on_event = cand_event;
	c->ev_arg = &w;
	r = client_open(c);
	deadline = client_deadline(c->timeout_ms);
	/* Ask, then listen for the event; ask again in case this tincan
	 * does not send events to observers. */
	while (r == CTL_OK && w.packed == NULL) {
		if (deadline != 0 && g_get_monotonic_time() >= deadline) {
			r = conn_err("no local candidates for peer %.12s on"
				     " %s within %d ms",
				     w.peer, w.overlay, c->timeout_ms);
			break;
		}
		r = cand_ask(c, &w, deadline);
		if (r == CTL_OK && w.packed == NULL)
			r = client_pump(c, POLL_MS, deadline);
	}
	if (r == CTL_OK)
		print_blob(c, &w);
	g_free(w.packed);
	return r;
}

struct link_wait {
	const char *overlay, *peer;
	Ipop__LinkState state; /* last seen; 0 = link not seen */
	char *pair;	       /* "host a:p -> srflx b:q" once connected */
	bool from_event;
};

static void link_seen(struct link_wait *w, Ipop__LinkState st,
		      const Ipop__CandidatePair *p)
{
	w->state = st;
	if (st == IPOP__LINK_STATE__CONNECTED && w->pair == NULL &&
	    render_has_pair(p))
		w->pair = g_strdup_printf("%s %s -> %s %s", p->local_type,
					  p->local_address, p->remote_type,
					  p->remote_address);
}

static bool link_done(const struct link_wait *w)
{
	return w->state == IPOP__LINK_STATE__CONNECTED ||
	       w->state == IPOP__LINK_STATE__FAILED ||
	       w->state == IPOP__LINK_STATE__CLOSED;
}

static void link_event(struct ctl *c, const Ipop__Event *ev)
{
	struct link_wait *w = c->ev_arg;
	const Ipop__LinkStateChangedEvent *ls = ev->link_state;

	if (ev->kind_case != IPOP__EVENT__KIND_LINK_STATE || ls == NULL)
		return;
	if (strcmp(ls->overlay, w->overlay) == 0 &&
	    strcmp(ls->peer_uid, w->peer) == 0)
		link_seen(w, ls->state, ls->pair);
	c->ev_done = link_done(w);
}

static void link_from_state(struct link_wait *w, const Ipop__NodeState *st)
{
	size_t i, k;

	for (i = 0; i < st->n_overlays; i++) {
		const Ipop__OverlayInfo *o = st->overlays[i];

		if (strcmp(o->name, w->overlay) != 0)
			continue;
		for (k = 0; k < o->n_links; k++)
			if (strcmp(o->links[k]->peer_uid, w->peer) == 0)
				link_seen(w, o->links[k]->state,
					  o->links[k]->pair);
	}
}

/* One GetState round bounded by the overall deadline. */
static int link_poll(struct ctl *c, struct link_wait *w, int64_t deadline)
{
	Ipop__Request req;
	Ipop__GetState gs;
	Ipop__Envelope *env;
	int r;

	ipop__get_state__init(&gs);
	ipop__request__init(&req);
	req.kind_case = IPOP__REQUEST__KIND_GET_STATE;
	req.get_state = &gs;
	r = client_call(c, &req, deadline, IPOP__RESPONSE__RESULT_STATE, &env);
	if (env != NULL) {
		link_from_state(w, env->response->state);
		ipop__envelope__free_unpacked(env, NULL);
	}
	return r;
}

static void print_connected(const struct link_wait *w)
{
	struct json j;

	json_begin(&j);
	json_str(&j, "overlay", w->overlay);
	json_str(&j, "peer_uid", w->peer);
	json_str(&j, "state", ipop_link_state_name(w->state));
	json_str(&j, "pair", w->pair);
	json_end(&j);
}

int cmd_wait_link(struct ctl *c, struct args *a)
{
	struct link_wait w = {.overlay = a->pos[0], .peer = a->pos[1]};
	int64_t deadline;
	int r;

	if ((r = parse_link_args(c, a)) != 0)
		return r;
	c->on_event = link_event;
	c->ev_arg = &w;
	r = client_open(c);
	deadline = client_deadline(c->timeout_ms);
	while (r == CTL_OK && !link_done(&w) &&
	       (deadline == 0 || g_get_monotonic_time() < deadline)) {
		r = link_poll(c, &w, deadline);
		if (r == CTL_OK && !link_done(&w))
			r = client_pump(c, POLL_MS, deadline);
	}
	if (r == CTL_OK && w.state == IPOP__LINK_STATE__CONNECTED) {
		if (c->json)
			print_connected(&w);
		else
			printf("connected%s%s\n", w.pair ? ": " : "",
			       w.pair ? w.pair : "");
	} else if (r == CTL_OK) {
		fprintf(stderr, "ipopctl: wait-link: link %.12s on %s %s\n",
			w.peer, w.overlay,
			w.state == IPOP__LINK_STATE__FAILED   ? "failed"
			: w.state == IPOP__LINK_STATE__CLOSED ? "was closed"
			: w.state == 0 ? "not found before the timeout"
				       : "not connected before the timeout");
		r = CTL_FAIL;
	}
	g_free(w.pair);
	return r;
}
