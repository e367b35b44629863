/*
 * Value types tincan's core shares between its modules and hands to the
 * control adapter: link states, ICE credentials, a selected candidate pair
 * and the events links and overlays emit.  Plain C, no generated protobuf
 * type: the adapter (node.c, adapter.c) converts these to and from the
 * wire messages.  Every pointer in these structs is borrowed.
 */
#ifndef TC_TYPES_H
#define TC_TYPES_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A link's life.  The values are those of the wire enum LinkState (the
 * adapter still converts explicitly). */
enum tc_link_state {
	TC_LINK_GATHERING = 1,	/* collecting local candidates */
	TC_LINK_CONNECTING = 2, /* ICE checks or handshake in progress */
	TC_LINK_CONNECTED = 3,	/* handshake done, data flows */
	TC_LINK_FAILED = 4,	/* ICE failed or liveness lost */
	TC_LINK_CLOSED = 5,	/* removed */
};

/* The state's name for logs ("gathering", ..., "unknown"). */
static inline const char *tc_link_state_name(enum tc_link_state s)
{
	switch (s) {
	case TC_LINK_GATHERING:
		return "gathering";
	case TC_LINK_CONNECTING:
		return "connecting";
	case TC_LINK_CONNECTED:
		return "connected";
	case TC_LINK_FAILED:
		return "failed";
	case TC_LINK_CLOSED:
		return "closed";
	default:
		return "unknown";
	}
}

/* ICE credentials and candidates (SDP "a=candidate:" lines). */
struct tc_ice_creds {
	const char *ufrag;
	const char *pwd;
	char *const *candidates;
	size_t n_candidates;
};

/* A selected candidate pair: types host/srflx/prflx/relay, addresses as
 * "ip:port" or "[ip]:port". */
struct tc_cand_pair {
	char local_type[8];
	char local_addr[INET6_ADDRSTRLEN + 8];
	char remote_type[8];
	char remote_addr[INET6_ADDRSTRLEN + 8];
};

enum tc_event_kind {
	TC_EVENT_LINK_STATE,	   /* a link changed state */
	TC_EVENT_LOCAL_CANDIDATES, /* a link finished gathering */
	TC_EVENT_UNKNOWN_DEST,	   /* a frame from the TAP had no route */
	TC_EVENT_ROUTE_TRAFFIC,	   /* forwarded traffic to/from peer_uid */
	TC_EVENT_LINK_IDLE,	   /* an ON_DEMAND link carried nothing */
};

/* One event; overlay always set, peer_uid for link events. */
struct tc_event {
	enum tc_event_kind kind;
	const char *overlay;
	const char *peer_uid;
	union {
		struct {
			enum tc_link_state state;
			const char *reason;
			const struct tc_cand_pair *pair; /* NULL: none yet */
		} link_state;
		const struct tc_ice_creds *local;
		struct {
			const uint8_t *dst_v4;	/* 4 bytes, or NULL */
			const uint8_t *dst_v6;	/* 16 bytes, or NULL */
			const uint8_t *dst_mac; /* 6 bytes */
			const uint8_t *frame;	/* its first bytes */
			size_t frame_len;
		} unknown;
		uint64_t bytes_per_s; /* route_traffic */
		uint32_t idle_ms;     /* link_idle */
	} u;
};

#endif
