/*
 * The node: identity, ICE servers, overlays and the control socket of one
 * ipop-tincan, and the handlers of every control request.  This module owns
 * all of them and, with adapter.c's converters, is the control adapter: it
 * turns protocol messages into the core's plain structs, the core's -errno
 * and reasons into Status answers, and the core's events into Event
 * messages.  It holds no packet logic.
 */
#define G_LOG_DOMAIN "tincan"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <sodium.h>

#include "common/limits.h"
#include "common/log.h"
#include "common/names.h"
#include "common/uid.h"
#include "proto/frame.h"
#include "proto/pbutil.h"
#include "tincan/adapter.h"
#include "tincan/control.h"
#include "tincan/env.h"
#include "tincan/identity.h"
#include "tincan/link.h"
#include "tincan/metrics.h"
#include "tincan/node.h"
#include "tincan/overlay.h"

#ifndef IPOP_VERSION
#define IPOP_VERSION "0.0.0"
#endif

enum {
	MAX_OVERLAYS = 64,
	WHY_LEN = 256,
	/* The smallest packed PeerMapping (uid and MAC): more mappings than
	 * IPOP_FRAME_MAX / this never fit in one frame. */
	STATE_MAPPING_MIN = 52,
	/* Room a page leaves for the Envelope, the Response and its
	 * message around the NodeState. */
	STATE_PAGE_SLACK = 1024,
};

struct tc_node {
	struct tc_identity *id;
	struct tc_ice_config ice;
	struct tc_env env;
	struct tc_control *ctl;
	struct tc_control_handler handler;
	GHashTable *overlays; /* name -> struct tc_overlay * */
	char why[WHY_LEN];
};

/* Our TAPs, and a bridge holding one of them (switch mode): their addresses
 * must never be ICE candidates, or a link would be carried by itself. */
static bool is_own_tap(void *data, const char *ifname)
{
	struct tc_node *n = data;
	GHashTableIter it;
	gpointer ov;
	char path[2 * IFNAMSIZ + 32];

	g_hash_table_iter_init(&it, n->overlays);
	while (g_hash_table_iter_next(&it, NULL, &ov)) {
		if (!strcmp(tc_overlay_tap(ov), ifname))
			return true;
		g_snprintf(path, sizeof(path), "/sys/class/net/%s/brif/%s",
			   ifname, tc_overlay_tap(ov));
		if (access(path, F_OK) == 0)
			return true;
	}
	return false;
}

static void emit(void *data, const struct tc_event *e)
{
	struct tc_node *n = data;
	struct tc_adapter_event buf;

	if (n->ctl)
		tc_control_broadcast(n->ctl, tc_adapter_event(e, &buf));
}

static void hello(void *data, Ipop__HelloReply *reply)
{
	struct tc_node *n = data;

	reply->protocol_version = IPOP_PROTOCOL_VERSION;
	reply->uid = n->id->uid;
	reply->public_key.data = n->id->pub;
	reply->public_key.len = IPOP_KEY_LEN;
	reply->version = ipop_cstr(IPOP_VERSION);
}

/* The message lives in the node's buffer until the response is sent. */
static void fail(struct tc_node *n, Ipop__Response *resp, Ipop__Status st,
		 const char *why)
{
	if (why != n->why)
		g_strlcpy(n->why, why, sizeof(n->why));
	resp->status = st;
	resp->message = n->why;
}

static struct tc_overlay *find_overlay(struct tc_node *n, const char *name,
				       Ipop__Response *resp)
{
	struct tc_overlay *ov =
	    name ? g_hash_table_lookup(n->overlays, name) : NULL;

	if (!ov) {
		g_snprintf(n->why, sizeof(n->why), "no overlay '%s'",
			   name ? name : "");
		fail(n, resp, IPOP__STATUS__NOT_FOUND, n->why);
	}
	return ov;
}

static void create_overlay(struct tc_node *n, const Ipop__CreateOverlay *req,
			   Ipop__Response *resp)
{
	struct tc_overlay_req r;
	struct tc_overlay *ov;
	GHashTableIter it;
	gpointer other;
	int err = 0;

	if (req->name && g_hash_table_contains(n->overlays, req->name)) {
		fail(n, resp, IPOP__STATUS__EXISTS, "overlay exists");
		return;
	}
	g_hash_table_iter_init(&it, n->overlays);
	while (g_hash_table_iter_next(&it, NULL, &other))
		if (req->tap_name &&
		    !strcmp(tc_overlay_tap(other), req->tap_name)) {
			fail(n, resp, IPOP__STATUS__EXISTS, "tap in use");
			return;
		}
	if (g_hash_table_size(n->overlays) >= MAX_OVERLAYS) {
		fail(n, resp, IPOP__STATUS__INTERNAL, "too many overlays");
		return;
	}
	tc_adapter_overlay_req(req, &r);
	ov = tc_overlay_new(&n->env, &r, &err, n->why, sizeof(n->why));
	if (!ov) {
		/* untrusted: the name, and the reason may quote the
		 * request */
		g_message("create-overlay %s refused: %s",
			  IPOP_LOG_STR(req->name ? req->name : ""),
			  IPOP_LOG_STR(n->why));
		fail(n, resp, tc_adapter_status(err), n->why);
		return;
	}
	g_hash_table_insert(n->overlays, g_strdup(tc_overlay_name(ov)), ov);
}

static void remove_overlay(struct tc_node *n, const Ipop__RemoveOverlay *req,
			   Ipop__Response *resp)
{
	if (!find_overlay(n, req->name, resp))
		return;
	g_hash_table_remove(n->overlays, req->name);
	g_message("overlay %s removed", IPOP_LOG_STR(req->name));
}

static bool server_ok(const char *addr, uint32_t port)
{
	uint8_t buf[16];

	return addr && port < 65536 && strlen(addr) <= IPOP_ICE_ADDR_MAX &&
	       (inet_pton(AF_INET, addr, buf) == 1 ||
		inet_pton(AF_INET6, addr, buf) == 1);
}

static void set_ice(struct tc_node *n, const Ipop__SetIceServers *req,
		    Ipop__Response *resp)
{
	struct tc_ice_config c = {0};
	size_t i;

	if (req->n_stun > IPOP_MAX_ICE_SERVERS ||
	    req->n_turn > IPOP_MAX_ICE_SERVERS) {
		fail(n, resp, IPOP__STATUS__BAD_REQUEST, "too many servers");
		return;
	}
	for (i = 0; i < req->n_stun; i++) {
		if (!server_ok(req->stun[i]->address, req->stun[i]->port)) {
			fail(n, resp, IPOP__STATUS__BAD_REQUEST,
			     "STUN server needs a numeric IP and port");
			return;
		}
		g_strlcpy(c.stun[i].address, req->stun[i]->address,
			  sizeof(c.stun[i].address));
		c.stun[i].port =
		    (uint16_t)(req->stun[i]->port ? req->stun[i]->port
						  : IPOP_ICE_PORT_DEFAULT);
	}
	for (i = 0; i < req->n_turn; i++) {
		const Ipop__TurnServer *t = req->turn[i];
		if (!server_ok(t->address, t->port) || !t->username ||
		    !t->password || strlen(t->username) > IPOP_TURN_CRED_MAX ||
		    strlen(t->password) > IPOP_TURN_CRED_MAX) {
			/* earlier entries' passwords are already in c */
			sodium_memzero(&c, sizeof(c));
			fail(n, resp, IPOP__STATUS__BAD_REQUEST,
			     "TURN server needs a numeric IP, port, user and "
			     "password");
			return;
		}
		g_strlcpy(c.turn[i].address, t->address,
			  sizeof(c.turn[i].address));
		c.turn[i].port =
		    (uint16_t)(t->port ? t->port : IPOP_ICE_PORT_DEFAULT);
		g_strlcpy(c.turn[i].username, t->username,
			  sizeof(c.turn[i].username));
		g_strlcpy(c.turn[i].password, t->password,
			  sizeof(c.turn[i].password));
	}
	c.n_stun = (unsigned)req->n_stun;
	c.n_turn = (unsigned)req->n_turn;
	sodium_memzero(&n->ice, sizeof(n->ice));
	n->ice = c;
	sodium_memzero(&c, sizeof(c));
	g_message("ICE servers: %u STUN, %u TURN (used by new links)",
		  n->ice.n_stun, n->ice.n_turn);
}

static void get_local(struct tc_node *n, const Ipop__GetLocalCandidates *req,
		      Ipop__Response *resp)
{
	struct tc_overlay *ov = find_overlay(n, req->overlay, resp);
	struct tc_link *l;
	const struct tc_ice_creds *local;

	if (!ov)
		return;
	l = tc_overlay_link(ov, req->peer_uid);
	if (!l) {
		fail(n, resp, IPOP__STATUS__NOT_FOUND, "no such link");
		return;
	}
	local = tc_link_local(l);
	if (local) {
		/* Its strings are borrowed from the link; release() frees
		 * only the message. */
		resp->result_case = IPOP__RESPONSE__RESULT_LOCAL;
		resp->local = tc_adapter_creds_msg(local);
	}
}

static Ipop__SetIceServers *ice_public(const struct tc_ice_config *c)
{
	Ipop__SetIceServers *s = g_new0(Ipop__SetIceServers, 1);
	unsigned i;

	ipop__set_ice_servers__init(s);
	s->stun = g_new0(Ipop__StunServer *, c->n_stun + 1);
	for (i = 0; i < c->n_stun; i++) {
		Ipop__StunServer *x = g_new0(Ipop__StunServer, 1);
		ipop__stun_server__init(x);
		x->address = g_strdup(c->stun[i].address);
		x->port = c->stun[i].port;
		s->stun[s->n_stun++] = x;
	}
	s->turn = g_new0(Ipop__TurnServer *, c->n_turn + 1);
	for (i = 0; i < c->n_turn; i++) {
		Ipop__TurnServer *x = g_new0(Ipop__TurnServer, 1);
		ipop__turn_server__init(x);
		x->address = g_strdup(c->turn[i].address);
		x->port = c->turn[i].port;
		x->username = g_strdup(c->turn[i].username);
		x->password = g_strdup(""); /* never returned */
		s->turn[s->n_turn++] = x;
	}
	return s;
}

static void ice_public_free(Ipop__SetIceServers *s)
{
	size_t i;

	for (i = 0; i < s->n_stun; i++) {
		g_free(s->stun[i]->address);
		g_free(s->stun[i]);
	}
	for (i = 0; i < s->n_turn; i++) {
		g_free(s->turn[i]->address);
		g_free(s->turn[i]->username);
		g_free(s->turn[i]->password);
		g_free(s->turn[i]);
	}
	g_free(s->stun);
	g_free(s->turn);
	g_free(s);
}

static void state_free(Ipop__NodeState *st);

/* NodeState's node fields, with room for every overlay. */
static Ipop__NodeState *state_head(struct tc_node *n)
{
	Ipop__NodeState *st = g_new0(Ipop__NodeState, 1);
	struct tc_guard_counters gc;
	struct tc_repair_counters rc;

	ipop__node_state__init(st);
	st->uid = g_strdup(n->id->uid);
	st->public_key.data = g_memdup2(n->id->pub, IPOP_KEY_LEN);
	st->public_key.len = IPOP_KEY_LEN;
	st->version = g_strdup(IPOP_VERSION);
	st->ice = ice_public(&n->ice);
	st->overlays =
	    g_new0(Ipop__OverlayInfo *, g_hash_table_size(n->overlays) + 1);
	st->next_cursor = g_strdup("");
	/* The handshake guard's totals (PROTOCOL.md §13); adapter.c copies
	 * each link's share into its LinkInfo. */
	tc_link_guard_totals(&gc);
	TC_ADAPTER_GUARD_COPY(st, &gc);
	st->under_load = gc.under_load;
	tc_link_repair_totals(&rc);
	st->link_recoveries = rc.recoveries;
	st->ice_restarts = rc.restarts + rc.peer_restarts;
	st->ice_restarts_given_up = rc.restarts_given_up;
	st->relay_fallbacks = rc.relay_fallbacks;
	st->relay_upgrades = rc.relay_upgrades;
	return st;
}

/* Mappings of every overlay (or of only), for a refusal that need not
 * build an answer it would throw away. */
static size_t count_mappings(struct tc_node *n, const char *only)
{
	struct tc_overlay_info oi;
	GHashTableIter it;
	gpointer ov;
	size_t total = 0;

	g_hash_table_iter_init(&it, n->overlays);
	while (g_hash_table_iter_next(&it, NULL, &ov)) {
		if (only && *only && strcmp(only, tc_overlay_name(ov)))
			continue;
		tc_overlay_get_info(ov, &oi);
		total += oi.n_mappings;
	}
	return total;
}

static void too_big(struct tc_node *n, Ipop__Response *resp, size_t mappings)
{
	g_snprintf(n->why, sizeof(n->why),
		   "the state (%zu mappings) does not fit in one %d-byte "
		   "frame: send GetState with paged=true and follow "
		   "next_cursor (ipopctl status does)",
		   mappings, IPOP_FRAME_MAX);
	fail(n, resp, IPOP__STATUS__TOO_BIG, n->why);
}

/* The whole NodeState of every overlay, or only of `only` when it is set
 * (GetStats, unpaged GetState).  control.c answers TOO_BIG for what still
 * does not fit in a frame. */
static void get_state(struct tc_node *n, const char *only, Ipop__Response *resp)
{
	Ipop__NodeState *st;
	GHashTableIter it;
	gpointer ov;
	size_t mappings;

	if (only && *only && !find_overlay(n, only, resp))
		return;
	mappings = count_mappings(n, only);
	if (mappings > IPOP_FRAME_MAX / STATE_MAPPING_MIN) {
		too_big(n, resp, mappings);
		return;
	}
	st = state_head(n);
	g_hash_table_iter_init(&it, n->overlays);
	while (g_hash_table_iter_next(&it, NULL, &ov)) {
		if (only && *only && strcmp(only, tc_overlay_name(ov)))
			continue;
		st->overlays[st->n_overlays++] = tc_adapter_overlay_info(ov);
	}
	resp->result_case = IPOP__RESPONSE__RESULT_STATE;
	resp->state = st;
}

/* The cursor "OVERLAY/PEER_UID": go on in OVERLAY (or the next one by
 * name if it is gone) after PEER_UID ("": from its head).  0 or -EINVAL. */
static int parse_cursor(const char *cur, char name[IPOP_NAME_SIZE],
			char uid[IPOP_UID_SIZE])
{
	const char *slash = strchr(cur, '/');
	size_t nlen;

	name[0] = uid[0] = '\0';
	if (!*cur)
		return 0;
	if (!slash || (nlen = (size_t)(slash - cur)) == 0 ||
	    nlen > IPOP_NAME_MAX)
		return -EINVAL;
	memcpy(name, cur, nlen);
	name[nlen] = '\0';
	if (!ipop_overlay_name_is_valid(name) ||
	    (slash[1] && !ipop_uid_is_valid(slash + 1)))
		return -EINVAL;
	g_strlcpy(uid, slash + 1, IPOP_UID_SIZE);
	return 0;
}

static int by_name(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The overlay names a page may visit, sorted: those >= from, or only. */
static GPtrArray *page_names(struct tc_node *n, const char *only,
			     const char *from)
{
	GPtrArray *names = g_ptr_array_new();
	GHashTableIter it;
	gpointer key;

	g_hash_table_iter_init(&it, n->overlays);
	while (g_hash_table_iter_next(&it, &key, NULL))
		if ((!*only || !strcmp(only, key)) && strcmp(key, from) >= 0)
			g_ptr_array_add(names, key);
	g_ptr_array_sort(names, by_name);
	return names;
}

/* Ends the page before the overlay `name`, or inside it after `uid`. */
static bool page_ends(Ipop__NodeState *st, const char *name, const char *uid)
{
	st->more = true;
	g_free(st->next_cursor);
	st->next_cursor = g_strdup_printf("%s/%s", name, uid);
	return true;
}

/* Fills st with the overlays' parts from (cname, cuid) on; false with a
 * TOO_BIG answer when the page could hold nothing. */
static bool fill_page(struct tc_node *n, const Ipop__GetState *req,
		      GPtrArray *names, const char *cname, const char *cuid,
		      Ipop__NodeState *st, Ipop__Response *resp)
{
	struct tc_adapter_page pg = {.max = req->limit};
	size_t head = ipop__node_state__get_packed_size(st), i;
	Ipop__OverlayInfo *part;

	pg.budget = IPOP_FRAME_MAX -
		    MIN(head + STATE_PAGE_SLACK, (size_t)IPOP_FRAME_MAX);
	for (i = 0; i < names->len; i++) {
		const char *name = names->pdata[i];
		bool resume = !strcmp(name, cname) && *cuid;

		pg.head = !resume;
		pg.after = resume ? cuid : "";
		pg.macs_omitted = 0;
		part = tc_adapter_overlay_page(
		    g_hash_table_lookup(n->overlays, name), &pg);
		if (part && pg.macs_omitted && st->n_overlays > 0) {
			/* A fresh page holds more of its MAC table. */
			tc_adapter_overlay_info_free(part);
			return page_ends(st, name, pg.after);
		}
		if (part && (part->n_mappings > 0 || pg.done)) {
			st->overlays[st->n_overlays++] = part;
			st->mac_entries_omitted += pg.macs_omitted;
		} else if (st->n_overlays > 0) {
			tc_adapter_overlay_info_free(part);
			return page_ends(st, name, pg.after);
		} else {
			tc_adapter_overlay_info_free(part);
			g_snprintf(n->why, sizeof(n->why),
				   "overlay %s's links and MAC table alone do "
				   "not fit in one %d-byte frame",
				   name, IPOP_FRAME_MAX);
			fail(n, resp, IPOP__STATUS__TOO_BIG, n->why);
			return false;
		}
		if (!pg.done)
			return page_ends(st, name, pg.last);
		if (req->limit) {
			pg.max -= MIN(pg.max, part->n_mappings);
			if (pg.max == 0 && i + 1 < names->len)
				return page_ends(st, names->pdata[i + 1], "");
		}
	}
	return true;
}

/* One page of GetState{paged}: PROTOCOL.md's "Paging GetState". */
static void get_state_page(struct tc_node *n, const Ipop__GetState *req,
			   Ipop__Response *resp)
{
	const char *only = req->overlay ? req->overlay : "";
	char cname[IPOP_NAME_SIZE], cuid[IPOP_UID_SIZE];
	Ipop__NodeState *st;
	GPtrArray *names;
	bool ok;

	if (*only && !find_overlay(n, only, resp))
		return;
	if (parse_cursor(req->cursor ? req->cursor : "", cname, cuid) < 0) {
		fail(n, resp, IPOP__STATUS__BAD_REQUEST,
		     "cursor must be a next_cursor tincan gave");
		return;
	}
	st = state_head(n);
	st->total_mappings = (uint32_t)count_mappings(n, only);
	names = page_names(n, only, cname);
	ok = fill_page(n, req, names, cname, cuid, st, resp);
	g_ptr_array_free(names, TRUE);
	if (!ok) {
		state_free(st);
		return;
	}
	resp->result_case = IPOP__RESPONSE__RESULT_STATE;
	resp->state = st;
}

static void state_free(Ipop__NodeState *st)
{
	size_t i;

	for (i = 0; i < st->n_overlays; i++)
		tc_adapter_overlay_info_free(st->overlays[i]);
	g_free(st->overlays);
	ice_public_free(st->ice);
	g_free(st->uid);
	g_free(st->public_key.data);
	g_free(st->version);
	g_free(st->next_cursor);
	g_free(st);
}

struct find_uid {
	const char *uid;
	bool found;
};

static void match_uid(const struct tc_fwd_entry *e, void *ctx)
{
	struct find_uid *f = ctx;

	f->found = f->found || !strcmp(e->uid, f->uid);
}

/* IPOP_MAPPINGS_MAX: a MapPeer that would add a mapping to a full overlay
 * is refused (-ENOSPC); changing or removing one still works.  The scan
 * only runs when the overlay is full. */
static int mapping_room(struct tc_node *n, struct tc_overlay *ov,
			const Ipop__MapPeer *m)
{
	struct find_uid f = {.uid = m->peer_uid ? m->peer_uid : ""};
	struct tc_overlay_info oi;

	tc_overlay_get_info(ov, &oi);
	if (m->remove || oi.n_mappings < IPOP_MAPPINGS_MAX)
		return 0;
	tc_overlay_foreach_mapping(ov, match_uid, &f);
	if (f.found)
		return 0;
	g_snprintf(n->why, sizeof(n->why),
		   "overlay %s holds %u mappings, the most one overlay takes; "
		   "remove some first",
		   oi.name, oi.n_mappings);
	return -ENOSPC;
}

/* The core call behind a link or mapping request: 0 or -errno, n->why. */
static int link_call(struct tc_node *n, struct tc_overlay *ov,
		     const Ipop__Request *req)
{
	struct tc_link_req lr;
	struct tc_map_req mr;
	struct tc_ice_creds creds;
	const Ipop__AddRemoteCandidates *ar;

	switch (req->kind_case) {
	case IPOP__REQUEST__KIND_CREATE_LINK:
		tc_adapter_link_req(req->create_link, &lr);
		return tc_overlay_create_link(ov, &lr, n->why, sizeof(n->why));
	case IPOP__REQUEST__KIND_REMOVE_LINK:
		return tc_overlay_remove_link(ov, req->remove_link->peer_uid,
					      n->why, sizeof(n->why));
	case IPOP__REQUEST__KIND_ADD_REMOTE_CANDIDATES:
		ar = req->add_remote_candidates;
		return tc_overlay_add_remote(
		    ov, ar->peer_uid, tc_adapter_creds(ar->remote, &creds),
		    n->why, sizeof(n->why));
	case IPOP__REQUEST__KIND_MAP_PEER:
		if (mapping_room(n, ov, req->map_peer) < 0)
			return -ENOSPC;
		tc_adapter_map_req(req->map_peer, &mr);
		return tc_overlay_map_peer(ov, &mr, n->why, sizeof(n->why));
	case IPOP__REQUEST__KIND_SET_ROUTE:
		return tc_overlay_set_route(
		    ov, req->set_route->dest_uid, req->set_route->via_uid,
		    req->set_route->remove, n->why, sizeof(n->why));
	case IPOP__REQUEST__KIND_SET_LINK_KIND:
		return tc_overlay_set_link_kind(
		    ov, req->set_link_kind->peer_uid,
		    (enum tc_link_kind)req->set_link_kind->kind, n->why,
		    sizeof(n->why));
	default:
		return 0;
	}
}

static void link_request(struct tc_node *n, const Ipop__Request *req,
			 Ipop__Response *resp)
{
	const char *name = tc_adapter_request_overlay(req);
	struct tc_overlay *ov;
	int err = 0;

	ov = find_overlay(n, name, resp);
	if (!ov)
		return;
	n->why[0] = '\0';
	err = link_call(n, ov, req);
	if (err < 0)
		fail(n, resp, tc_adapter_status(err), n->why);
}

/* Zeroes a decoded message's bytes field in place (the message is the
 * caller's, lent as const only so handlers do not change it by mistake). */
static void wipe_bytes(const ProtobufCBinaryData *b)
{
	if (b->data && b->len)
		sodium_memzero((void *)(uintptr_t)b->data, b->len);
}

void tc_node_metrics(void *data, GString *out)
{
	struct tc_node *n = data;
	struct tc_metrics_node m = {.uid = n->id->uid, .version = IPOP_VERSION};
	struct tc_control_stats cs = {0};
	GPtrArray *ovs = g_ptr_array_new();
	GHashTableIter it;
	gpointer ov;

	if (n->ctl)
		tc_control_get_stats(n->ctl, &cs);
	m.control_clients = cs.clients;
	m.controller = cs.controller;
	m.events_dropped = cs.events_dropped;
	tc_link_guard_totals(&m.guard);
	tc_link_repair_totals(&m.repair);
	g_hash_table_iter_init(&it, n->overlays);
	while (g_hash_table_iter_next(&it, NULL, &ov))
		g_ptr_array_add(ovs, ov);
	tc_metrics_render_live(&m, (struct tc_overlay *const *)ovs->pdata,
			       ovs->len, out);
	g_ptr_array_free(ovs, TRUE);
}

/* The text must fit one frame with room for the envelope around it. */
static void get_metrics(struct tc_node *n, Ipop__Response *resp)
{
	GString *s = g_string_new(NULL);
	Ipop__Metrics *m;

	tc_node_metrics(n, s);
	if (s->len > IPOP_FRAME_MAX - 1024) {
		g_snprintf(n->why, sizeof(n->why),
			   "metrics text too large for the control socket "
			   "(%zu bytes); use the --metrics listener",
			   s->len);
		g_string_free(s, TRUE);
		fail(n, resp, IPOP__STATUS__TOO_BIG, n->why);
		return;
	}
	m = g_new0(Ipop__Metrics, 1);
	ipop__metrics__init(m);
	m->text = g_string_free(s, FALSE);
	resp->result_case = IPOP__RESPONSE__RESULT_METRICS;
	resp->metrics = m;
}

static void metrics_free(Ipop__Metrics *m)
{
	g_free(m->text);
	g_free(m);
}

static void handle(void *data, const Ipop__Request *req, Ipop__Response *resp)
{
	struct tc_node *n = data;

	resp->status = IPOP__STATUS__OK;
	switch (req->kind_case) {
	case IPOP__REQUEST__KIND_CREATE_OVERLAY:
		create_overlay(n, req->create_overlay, resp);
		/* The overlay keeps its own copy in protected memory; the
		 * decoded one is freed by the caller without wiping. */
		wipe_bytes(&req->create_overlay->psk);
		break;
	case IPOP__REQUEST__KIND_REMOVE_OVERLAY:
		remove_overlay(n, req->remove_overlay, resp);
		break;
	case IPOP__REQUEST__KIND_SET_ICE_SERVERS:
		set_ice(n, req->set_ice_servers, resp);
		break;
	case IPOP__REQUEST__KIND_CREATE_LINK:
	case IPOP__REQUEST__KIND_REMOVE_LINK:
	case IPOP__REQUEST__KIND_ADD_REMOTE_CANDIDATES:
	case IPOP__REQUEST__KIND_MAP_PEER:
	case IPOP__REQUEST__KIND_SET_ROUTE:
	case IPOP__REQUEST__KIND_SET_LINK_KIND:
		link_request(n, req, resp);
		break;
	case IPOP__REQUEST__KIND_GET_LOCAL_CANDIDATES:
		get_local(n, req->get_local_candidates, resp);
		break;
	case IPOP__REQUEST__KIND_GET_STATE:
		if (req->get_state->paged)
			get_state_page(n, req->get_state, resp);
		else
			get_state(n, req->get_state->overlay, resp);
		break;
	case IPOP__REQUEST__KIND_GET_STATS:
		get_state(n, req->get_stats->overlay, resp);
		break;
	case IPOP__REQUEST__KIND_SET_LOG_LEVEL:
		if (!ipop_log_set_level(req->set_log_level->level))
			fail(n, resp, IPOP__STATUS__BAD_REQUEST,
			     "unknown level "
			     "(error|critical|warning|message|info|debug)");
		else
			g_message("log level set to %s", ipop_log_level());
		break;
	case IPOP__REQUEST__KIND_ECHO:
		resp->result_case = IPOP__RESPONSE__RESULT_ECHO;
		resp->echo = req->echo; /* borrowed from the request */
		break;
	case IPOP__REQUEST__KIND_GET_METRICS:
		get_metrics(n, resp);
		break;
	default:
		fail(n, resp, IPOP__STATUS__UNSUPPORTED, "unknown request");
		break;
	}
}

static void release(void *data, Ipop__Response *resp)
{
	(void)data;
	if (resp->result_case == IPOP__RESPONSE__RESULT_STATE)
		state_free(resp->state);
	else if (resp->result_case == IPOP__RESPONSE__RESULT_LOCAL)
		g_free(resp->local);
	else if (resp->result_case == IPOP__RESPONSE__RESULT_METRICS)
		metrics_free(resp->metrics);
}

struct tc_node *tc_node_new(const struct tc_node_options *opt)
{
	struct tc_node *n = g_new0(struct tc_node, 1);

	n->id = tc_identity_load(opt->state_dir);
	if (!n->id)
		goto err;
	n->overlays = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					    (GDestroyNotify)tc_overlay_free);
	n->env.ctx = g_main_context_default();
	n->env.id = n->id;
	n->env.ice = &n->ice;
	n->env.is_own_tap = is_own_tap;
	n->env.emit = emit;
	n->env.allow_loopback = opt->allow_loopback;
	n->env.node = n;
	n->handler.handle = handle;
	n->handler.release = release;
	n->handler.hello = hello;
	n->handler.ctx = n;
	n->ctl = tc_control_new(opt->socket_path, opt->socket_gid, &n->handler);
	if (!n->ctl)
		goto err;
	g_message("node %s ready", n->id->uid);
	return n;
err:
	tc_node_free(n);
	return NULL;
}

void tc_node_free(struct tc_node *n)
{
	if (!n)
		return;
	/* Clients first: events from closing links go nowhere. */
	tc_control_free(n->ctl);
	n->ctl = NULL;
	if (n->overlays)
		g_hash_table_destroy(n->overlays);
	tc_identity_free(n->id);
	sodium_memzero(&n->ice, sizeof(n->ice));
	g_free(n);
}
