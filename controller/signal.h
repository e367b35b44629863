/*
 * Signalling payloads exchanged between controllers over XMPP: one element
 * <ipop xmlns="urn:ipop-c:signal:1" kind="..." .../> whose attributes carry
 * every field.  This module converts between those attributes (a string
 * table, as the XMPP module hands them over) and validated structs; it does
 * no I/O.  Every attribute from the network is untrusted and checked here.
 *
 * Kinds:
 *   advertise  uid, key, overlay, group [, ipv4] [, ipv6] [, proof] [, ack]
 *              "this device is in this overlay"; ack="1" marks an answer
 *              to an advertise, which is never answered again
 *   link       uid, to, overlay, cands [, seen]   ICE credentials and
 *              candidates of the sender's link to `to` (a candidate blob:
 *              base64 of a packed ipop.IceCredentials); `seen` is the ufrag
 *              of the recipient's link that the sender's link is bound to,
 *              so candidates meant for an older link can be told apart
 *   bye        uid, overlay              the sender's controller stops; peers
 * keep a working link until it fails (the node may live on)
 */
#ifndef CTL_SIGNAL_H
#define CTL_SIGNAL_H

#include <glib.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/limits.h"

#define CTL_SIGNAL_NS "urn:ipop-c:signal:1"

enum ctl_sig_kind {
	CTL_SIG_ADVERTISE = 1,
	CTL_SIG_LINK,
	CTL_SIG_BYE,
};

enum {
	CTL_SIG_MAX_BLOB = 8192, /* base64 candidate blob, bytes */
	CTL_SIG_PROOF_LEN = 32,
	CTL_SIG_MAX_UFRAG = 257,
	CTL_SIG_GROUP_SIZE = IPOP_GROUP_MAX + 1, /* IPOP_GROUP_RULE, and NUL */
};

struct ctl_sig {
	enum ctl_sig_kind kind;
	char uid[IPOP_UID_SIZE];   /* sender's tincan uid */
	uint8_t key[IPOP_KEY_LEN]; /* sender's static public key (advertise) */
	char overlay[IPOP_NAME_SIZE];
	char group[CTL_SIG_GROUP_SIZE]; /* advertise */
	char ipv4[INET_ADDRSTRLEN];  /* advertise: dotted quad, "" if absent */
	char ipv6[INET6_ADDRSTRLEN]; /* advertise: optional, "" if absent */
	bool has_proof;
	uint8_t proof[CTL_SIG_PROOF_LEN];
	bool ack;		      /* advertise answering an advertise */
	char to[IPOP_UID_SIZE];	      /* link: recipient uid */
	char *cands;		      /* link: blob, g_malloc'd */
	char seen[CTL_SIG_MAX_UFRAG]; /* link: optional, "" if absent */
};

/* Decodes attrs (untrusted: from any XMPP contact) into out.  0, or
 * -EINVAL with why filled ("bad uid", "key is not 32 bytes", ...); out is
 * then cleared.  Also checks that uid is the hash of key (advertise). */
int ctl_sig_decode(GHashTable *attrs, struct ctl_sig *out, char *why,
		   size_t why_len);
/* New table (string -> string, both owned by the table) for s, with "kind". */
GHashTable *ctl_sig_encode(const struct ctl_sig *s);
/* Frees what out owns and zeroes it. */
void ctl_sig_clear(struct ctl_sig *s);
/* Group membership proof: keyed BLAKE2b-256 (key = psk) over group, uid and
 * key, so only holders of the group secret can make it. */
void ctl_sig_proof(const uint8_t psk[IPOP_PSK_LEN], const char *group,
		   const char *uid, const uint8_t key[IPOP_KEY_LEN],
		   uint8_t out[CTL_SIG_PROOF_LEN]);
/* Constant-time check of s->proof against psk. */
bool ctl_sig_proof_ok(const struct ctl_sig *s, const uint8_t psk[IPOP_PSK_LEN]);

#endif
