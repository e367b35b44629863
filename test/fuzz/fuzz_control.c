/*
 * libFuzzer harness for every control request body.  The input is one
 * envelope body (no length header); it goes through a frame reader as
 * control.c receives it, the wire-level text check control.c applies to
 * every string (proto/wire.c with common/names.c's rule), the role table
 * for both roles, and then the adapter's converters and the core's
 * validation of its kind: CreateOverlay (names, mode, addresses, MTU, psk;
 * a request that passes creates its TAP, in a network namespace of the
 * harness's own when it runs as root, and frees it), MapPeer,
 * RemoveLink, AddRemoteCandidates and GetLocalCandidates against one
 * overlay the harness holds (when it could create one), SetLogLevel's
 * level rule, CreateLink's and SetIceServers' conversions.  What is not
 * reached: node.c's static SetIceServers check and CreateLink's libnice
 * agent.  No socket is opened.
 */
#include <assert.h>
#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <sodium.h>

#include "common/log.h"
#include "common/names.h"
#include "proto/frame.h"
#include "proto/wire.h"
#include "tincan/adapter.h"
#include "tincan/control.h"
#include "tincan/overlay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tc_identity id = {.uid =
				    "0123456789abcdef0123456789abcdef01234567"};
static struct tc_ice_config ice;
static struct tc_env env;
static struct tc_overlay *held; /* "fz" on TAP fzc0, when it could be made */
static bool taps_ok;		/* TAPs would land in our own namespace */

static void quiet(const gchar *domain, GLogLevelFlags level, const gchar *msg,
		  gpointer data)
{
	(void)domain;
	(void)level;
	(void)msg;
	(void)data;
}

static void no_event(void *node, const struct tc_event *ev)
{
	(void)node;
	(void)ev;
}

static bool not_own(void *node, const char *ifname)
{
	(void)node;
	(void)ifname;
	return false;
}

static void setup(void)
{
	struct tc_overlay_req r = {.name = "fz",
				   .tap_name = "fzc0",
				   .mode = TC_OVERLAY_L3,
				   .ipv4 = "10.99.0.1",
				   .ipv4_prefix = 16};
	char why[256];
	int err;

	assert(sodium_init() >= 0);
	g_log_set_default_handler(quiet, NULL);
	/* As root, a TAP must not appear in the namespace we were run in. */
	taps_ok = geteuid() != 0 || unshare(CLONE_NEWNET) == 0;
	env.ctx = g_main_context_default();
	env.id = &id;
	env.ice = &ice;
	env.emit = no_event;
	env.is_own_tap = not_own;
	if (taps_ok)
		held = tc_overlay_new(&env, &r, &err, why, sizeof(why));
}

static bool check_text(void *ctx, const char *path, const uint8_t *s,
		       size_t len)
{
	const char *problem = ipop_text_problem((const char *)s, len);

	(void)ctx;
	assert(path[0] != '\0');
	/* A string that passes reads back whole as a C string. */
	assert(problem != NULL || memchr(s, '\0', len) == NULL);
	return problem == NULL;
}

static void create_overlay(const Ipop__CreateOverlay *m)
{
	struct tc_overlay_req r;
	struct tc_overlay *ov;
	char why[256] = "";
	int err = 0;

	tc_adapter_overlay_req(m, &r);
	assert(r.name == m->name && r.psk_len == m->psk.len);
	if (!taps_ok || (r.name && !strcmp(r.name, "fz")) ||
	    (r.tap_name && !strcmp(r.tap_name, "fzc0")))
		return;
	ov = tc_overlay_new(&env, &r, &err, why, sizeof(why));
	assert((ov != NULL) == (err == 0));
	assert(ov != NULL || why[0] != '\0');
	tc_overlay_free(ov);
}

static void map_peer(const Ipop__MapPeer *m)
{
	struct tc_map_req r;
	char why[256] = "";
	int err;

	memset(&r, 0, sizeof(r));
	tc_adapter_map_req(m, &r);
	if (!held)
		return;
	err = tc_overlay_map_peer(held, &r, why, sizeof(why));
	assert(err == 0 || why[0] != '\0');
	if (err == 0 && !r.remove) {
		/* Keep the table as it was for the next input. */
		r.remove = true;
		assert(tc_overlay_map_peer(held, &r, why, sizeof(why)) == 0);
	}
}

static void link_kinds(const Ipop__Request *req)
{
	struct tc_ice_creds creds;
	struct tc_link_req lr;
	char why[256] = "";
	const Ipop__AddRemoteCandidates *ar;

	switch (req->kind_case) {
	case IPOP__REQUEST__KIND_CREATE_LINK:
		tc_adapter_link_req(req->create_link, &lr);
		assert(lr.peer_pub_len ==
		       req->create_link->peer_public_key.len);
		break;
	case IPOP__REQUEST__KIND_REMOVE_LINK:
		if (held)
			assert(tc_overlay_remove_link(
				   held, req->remove_link->peer_uid, why,
				   sizeof(why)) < 0);
		break;
	case IPOP__REQUEST__KIND_ADD_REMOTE_CANDIDATES:
		ar = req->add_remote_candidates;
		if (held)
			assert(tc_overlay_add_remote(
				   held, ar->peer_uid,
				   tc_adapter_creds(ar->remote, &creds), why,
				   sizeof(why)) < 0);
		break;
	case IPOP__REQUEST__KIND_GET_LOCAL_CANDIDATES:
		if (held && req->get_local_candidates->peer_uid)
			assert(tc_overlay_link(
				   held, req->get_local_candidates->peer_uid) ==
			       NULL);
		break;
	default:
		break;
	}
}

static void request(const Ipop__Request *req)
{
	int c = tc_control_role_check(IPOP__ROLE__CONTROLLER, req->kind_case);
	int o = tc_control_role_check(IPOP__ROLE__OBSERVER, req->kind_case);

	assert(c == 0 || c == -EOPNOTSUPP);
	assert(o == 0 || o == -EPERM || o == -EOPNOTSUPP);
	assert(tc_control_request_name(req->kind_case) != NULL);
	switch (req->kind_case) {
	case IPOP__REQUEST__KIND_CREATE_OVERLAY:
		create_overlay(req->create_overlay);
		break;
	case IPOP__REQUEST__KIND_MAP_PEER:
		map_peer(req->map_peer);
		break;
	case IPOP__REQUEST__KIND_SET_LOG_LEVEL:
		(void)ipop_log_level_is_valid(req->set_log_level->level);
		break;
	case IPOP__REQUEST__KIND_SET_ICE_SERVERS:
		assert(req->set_ice_servers->n_stun == 0 ||
		       req->set_ice_servers->stun != NULL);
		break;
	default:
		link_kinds(req);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct ipop_frame_reader *r;
	Ipop__Envelope *env_msg = NULL;
	uint8_t hdr[IPOP_FRAME_HDR];
	const uint8_t *body;
	size_t len;
	int rc;

	if (!ready) {
		setup();
		ready = true;
	}
	if (size > IPOP_FRAME_MAX)
		return 0;
	hdr[0] = (uint8_t)(size >> 24);
	hdr[1] = (uint8_t)(size >> 16);
	hdr[2] = (uint8_t)(size >> 8);
	hdr[3] = (uint8_t)size;
	r = ipop_frame_reader_new();
	assert(ipop_frame_reader_feed(r, hdr, sizeof(hdr)) == 0);
	assert(ipop_frame_reader_feed(r, data, size) == 0);
	rc = ipop_frame_reader_next(r, &env_msg);
	if (rc == 1) {
		body = ipop_frame_reader_last(r, &len);
		assert(body != NULL && len == size);
		/* Only requests whose strings pass reach the handler. */
		if (ipop_wire_strings(&ipop__envelope__descriptor, body, len,
				      check_text, NULL) == 0 &&
		    env_msg->body_case == IPOP__ENVELOPE__BODY_REQUEST &&
		    env_msg->request != NULL)
			request(env_msg->request);
		ipop__envelope__free_unpacked(env_msg, NULL);
	} else {
		assert(rc == -EBADMSG || rc == -EPROTO);
	}
	ipop_frame_reader_free(r);
	return 0;
}
