/*
 * A node's uid: the lowercase hex of a 20-byte BLAKE2b hash of its X25519
 * public key, so a uid commits to a key.  This module owns the rule and
 * nothing else (the key pair itself is tincan's, see tincan/identity.h).
 */
#ifndef IPOP_UID_H
#define IPOP_UID_H

#include <stdbool.h>
#include <stdint.h>

#include "common/limits.h"

/* Writes the uid (40 hex digits + NUL) of a public key. */
void ipop_uid_from_key(const uint8_t pub[IPOP_KEY_LEN],
		       char uid[IPOP_UID_SIZE]);
/* True if s is exactly 40 lowercase hex digits (NULL: false). */
bool ipop_uid_is_valid(const char *s);
/* True if the uid commits to pub. */
bool ipop_uid_matches_key(const char *uid, const uint8_t pub[IPOP_KEY_LEN]);
/* A hash of uid (a NUL-terminated string, any length) for the uid-keyed
 * tables of the packet path (GHashFunc's shape): FNV-1a over at most its
 * first 16 characters, which of a uid are 64 bits of a hash already.
 * g_str_hash walks all 40 and cost ~2 % of tincan's CPU per packet. */
unsigned ipop_uid_hash(const void *uid);

#endif
