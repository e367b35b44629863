/*
 * Node identity: the persistent X25519 static key pair of this tincan and the
 * uid derived from it (the rule is common/uid.h).  Owns the key file in the
 * state dir; the private key lives in sodium_malloc memory.
 */
#ifndef TC_IDENTITY_H
#define TC_IDENTITY_H

#include <stdint.h>

#include "common/limits.h"
#include "common/uid.h"

struct tc_identity {
	uint8_t pub[IPOP_KEY_LEN];
	uint8_t *priv; /* sodium_malloc'd, IPOP_KEY_LEN */
	char uid[IPOP_UID_SIZE];
};

/* Loads DIR/identity.key, creating it (0600, DIR 0700) on first start.
 * NULL with errno set and a logged reason on failure. */
struct tc_identity *tc_identity_load(const char *state_dir);
/* A fresh random identity that is not stored (tests). */
struct tc_identity *tc_identity_generate(void);
/* Wipes and frees; NULL is a no-op. */
void tc_identity_free(struct tc_identity *id);

#endif
