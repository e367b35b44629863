/*
 * Sizes and limits that more than one program checks: the key and uid
 * lengths, the longest names, the MTU range, how many ICE servers a node
 * takes, how many mappings an overlay holds.  Each number lives here once, so
 * ipopctl can never accept what tincan or the controller refuse.  Buffers for
 * textual addresses use the system's INET_ADDRSTRLEN and INET6_ADDRSTRLEN.
 */
#ifndef IPOP_LIMITS_H
#define IPOP_LIMITS_H

enum {
	IPOP_KEY_LEN = 32,     /* X25519 public or private key */
	IPOP_PSK_LEN = 32,     /* group secret as tincan takes it */
	IPOP_UID_BYTES = 20,   /* BLAKE2b-160 of the public key */
	IPOP_UID_HEX_LEN = 40, /* its lowercase hex */
	IPOP_UID_SIZE = IPOP_UID_HEX_LEN + 1,
	IPOP_NAME_MAX = 32, /* overlay names: 1-32 of [A-Za-z0-9._-] */
	IPOP_NAME_SIZE = IPOP_NAME_MAX + 1,
	IPOP_IFNAME_MAX = 15, /* TAP and bridge names (IFNAMSIZ - 1) */
	IPOP_LABEL_MAX = 127, /* a mapping's free-text label, bytes */
	IPOP_GROUP_MAX = 64,  /* a GroupVPN or switch group name, bytes */
	IPOP_MAC_LEN = 6,
	IPOP_MTU_MIN = 576,
	IPOP_MTU_DEFAULT = 1400,
	IPOP_MTU_MAX = 9000,
	IPOP_MAX_ICE_SERVERS = 8, /* STUN servers, and TURN servers */
	IPOP_ICE_PORT_DEFAULT = 3478,
	IPOP_ICE_ADDR_MAX = 63,	  /* a server's numeric address, bytes */
	IPOP_TURN_CRED_MAX = 127, /* a TURN user name or password, bytes */
	/* Peer mappings one overlay holds; MapPeer of a new peer beyond it is
	 * refused.  ~0.5 KiB of tincan memory each, and GetState pages them. */
	IPOP_MAPPINGS_MAX = 131072,
};

#endif
