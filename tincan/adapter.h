/*
 * The control adapter's converters: protobuf requests to tincan's own
 * request structs, -errno to the wire Status, tincan's events, link and
 * overlay information to protobuf messages.  The only place besides node.c
 * and control.c that knows the generated types; the core never sees them.
 * Requests are borrowed (the structs point into the message); events are
 * built on the caller's stack; information is allocated and freed here.
 */
#ifndef TC_ADAPTER_H
#define TC_ADAPTER_H

#include <arpa/inet.h>

#include "proto/ipop.pb-c.h"
#include "tincan/overlay.h"
#include "tincan/types.h"

/* Requests: fill r from m, borrowing m's strings and bytes. */
void tc_adapter_overlay_req(const Ipop__CreateOverlay *m,
			    struct tc_overlay_req *r);
void tc_adapter_link_req(const Ipop__CreateLink *m, struct tc_link_req *r);
void tc_adapter_map_req(const Ipop__MapPeer *m, struct tc_map_req *r);
/* Fills out from m and returns it, or NULL when m is NULL (absent). */
const struct tc_ice_creds *tc_adapter_creds(const Ipop__IceCredentials *m,
					    struct tc_ice_creds *out);

/* The overlay a controller-only request changes (borrowed from req), or
 * NULL for a node-wide one (SetIceServers, SetLogLevel) and queries. */
const char *tc_adapter_request_overlay(const Ipop__Request *req);

/* Why a Hello's ownership fields are refused (PROTOCOL.md §4, §12): an
 * OBSERVER claiming, too many or malformed names; NULL when fine. */
const char *tc_adapter_claims_problem(const Ipop__Hello *h);

/* The Status a client gets for a core error: -EINVAL BAD_REQUEST, -EEXIST
 * EXISTS, -ENOENT NOT_FOUND, 0 OK, anything else INTERNAL. */
Ipop__Status tc_adapter_status(int err);
Ipop__LinkState tc_adapter_link_state(enum tc_link_state st);
Ipop__OverlayMode tc_adapter_mode(enum tc_overlay_mode m);

/* Room for one event message and its parts, on the emitter's stack. */
struct tc_adapter_event {
	Ipop__Event ev;
	Ipop__LinkStateChangedEvent link_state;
	Ipop__CandidatePair pair;
	Ipop__LocalCandidatesEvent local;
	Ipop__IceCredentials creds;
	Ipop__UnknownDestinationEvent unknown;
	Ipop__RouteTrafficEvent route_traffic;
	Ipop__LinkIdleEvent link_idle;
	char v4[INET_ADDRSTRLEN], v6[INET6_ADDRSTRLEN];
};
/* Builds the wire event of e in buf (borrowing from e): &buf->ev. */
Ipop__Event *tc_adapter_event(const struct tc_event *e,
			      struct tc_adapter_event *buf);

/* Credentials for a response, borrowing from c: free with g_free. */
Ipop__IceCredentials *tc_adapter_creds_msg(const struct tc_ice_creds *c);
/* GetState's view of an overlay, its mappings, MAC table and links:
 * allocated, free with tc_adapter_overlay_info_free. */
Ipop__OverlayInfo *tc_adapter_overlay_info(const struct tc_overlay *ov);
void tc_adapter_overlay_info_free(Ipop__OverlayInfo *info);

/* One overlay's part of a GetState page.  head: the overlay's first page,
 * which carries its links and MAC table (later pages carry only its own
 * fields and mappings).  Mappings come in peer_uid order, those after
 * `after` ("" = from the first), at most max of them (0: no limit), while
 * the packed OverlayInfo stays within *budget bytes.  NULL when not even
 * the part without mappings fits; else the part (free with
 * tc_adapter_overlay_info_free), *budget less what it takes, *done true
 * when the overlay's last mapping is in it, last its last peer_uid ("" for
 * none).  A head whose MAC table would take more than half the budget keeps
 * the most recently seen entries that fit and adds the others to
 * macs_omitted. */
struct tc_adapter_page {
	bool head;
	const char *after;
	size_t max;
	size_t budget;
	bool done;
	char last[IPOP_UID_SIZE];
	unsigned macs_omitted;
};
Ipop__OverlayInfo *tc_adapter_overlay_page(const struct tc_overlay *ov,
					   struct tc_adapter_page *pg);

/* The handshake guard's counters (struct tc_guard_counters *c) into the
 * protobuf message m: LinkInfo (a link's share) and NodeState (the totals)
 * name them alike (PROTOCOL.md §13). */
#define TC_ADAPTER_GUARD_COPY(m, c)                                            \
	do {                                                                   \
		(m)->init_received = (c)->init_received;                       \
		(m)->init_passed = (c)->init_passed;                           \
		(m)->init_dropped_mac1 = (c)->drop_mac1;                       \
		(m)->init_dropped_budget = (c)->drop_budget;                   \
		(m)->init_dropped_mac2 = (c)->drop_mac2;                       \
		(m)->cookie_replies_sent = (c)->cookie_sent;                   \
		(m)->cookie_replies_received = (c)->cookie_received;           \
		(m)->junk_dropped = (c)->junk;                                 \
		(m)->roams = (c)->roams;                                       \
	} while (0)

/* LinkInfo's self-repair fields (PROTOCOL.md §15) from a link's counters. */
#define TC_ADAPTER_REPAIR_COPY(m, c)                                           \
	do {                                                                   \
		(m)->recoveries = (c)->recoveries;                             \
		(m)->last_recovery_ms = (c)->last_recovery_ms;                 \
		(m)->ice_restarts = (c)->restarts;                             \
		(m)->peer_ice_restarts = (c)->peer_restarts;                   \
		(m)->ice_restarts_given_up = (c)->restarts_given_up;           \
		(m)->pair_switches = (c)->pair_switches;                       \
		(m)->relay_fallbacks = (c)->relay_fallbacks;                   \
		(m)->relay_upgrades = (c)->relay_upgrades;                     \
	} while (0)

#endif
