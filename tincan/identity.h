/*
 * Node identity: the persistent X25519 static key pair of this tincan and the
 * uid derived from it (hex of a 20-byte BLAKE2b of the public key, so a uid
 * commits to a key).  Owns the key file in the state dir; the private key
 * lives in sodium_malloc memory.
 */
#ifndef TC_IDENTITY_H
#define TC_IDENTITY_H

#include <stdbool.h>
#include <stdint.h>

enum { TC_UID_HEX_LEN = 40, TC_UID_BYTES = 20, TC_KEY_LEN = 32 };

struct tc_identity {
	uint8_t pub[TC_KEY_LEN];
	uint8_t *priv; /* sodium_malloc'd, TC_KEY_LEN */
	char uid[TC_UID_HEX_LEN + 1];
};

/* Loads DIR/identity.key, creating it (0600, DIR 0700) on first start.
 * NULL with errno set and a logged reason on failure. */
struct tc_identity *tc_identity_load(const char *state_dir);
/* A fresh random identity that is not stored (tests). */
struct tc_identity *tc_identity_generate(void);
/* Wipes and frees; NULL is a no-op. */
void tc_identity_free(struct tc_identity *id);
/* Writes the uid (40 hex digits + NUL) of a public key. */
void tc_uid_from_key(const uint8_t pub[TC_KEY_LEN],
		     char uid[TC_UID_HEX_LEN + 1]);
/* True if s is exactly 40 lowercase hex digits. */
bool tc_uid_is_valid(const char *s);

#endif
