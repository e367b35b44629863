/*
 * What every overlay and link borrows from the node: the identity, the ICE
 * servers, the main context, the names of our own TAPs (never used as ICE
 * candidates) and the event sink.  Owned by the node; outlives every overlay.
 */
#ifndef TC_ENV_H
#define TC_ENV_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/limits.h"
#include "tincan/identity.h"
#include "tincan/types.h"

struct tc_ice_server {
	char address[IPOP_ICE_ADDR_MAX + 1]; /* numeric IP */
	uint16_t port;
	char username[IPOP_TURN_CRED_MAX + 1]; /* TURN only */
	char password[IPOP_TURN_CRED_MAX + 1]; /* TURN only; never logged or
						* returned */
};

struct tc_ice_config {
	unsigned n_stun;
	struct tc_ice_server stun[IPOP_MAX_ICE_SERVERS];
	unsigned n_turn;
	struct tc_ice_server turn[IPOP_MAX_ICE_SERVERS];
};

struct tc_env {
	GMainContext *ctx;
	const struct tc_identity *id;
	const struct tc_ice_config *ice;
	/* True if ifname is one of our TAPs (its addresses are not candidates).
	 */
	bool (*is_own_tap)(void *node, const char *ifname);
	/* Takes a filled event and delivers it to every client (borrows ev
	 * for the call). */
	void (*emit)(void *node, const struct tc_event *ev);
	/* Loopback addresses as host candidates (unit tests over 127.0.0.1). */
	bool allow_loopback;
	void *node;
};

#endif
