/*
 * The uid rule: BLAKE2b-160 of the public key in lowercase hex.  Uses
 * libsodium's generic hash; holds no state.
 */
#include <string.h>

#include <glib.h>
#include <sodium.h>

#include "common/uid.h"

void ipop_uid_from_key(const uint8_t pub[IPOP_KEY_LEN], char uid[IPOP_UID_SIZE])
{
	uint8_t h[IPOP_UID_BYTES];

	crypto_generichash(h, sizeof(h), pub, IPOP_KEY_LEN, NULL, 0);
	sodium_bin2hex(uid, IPOP_UID_SIZE, h, sizeof(h));
}

bool ipop_uid_is_valid(const char *s)
{
	size_t i;

	if (s == NULL)
		return false;
	for (i = 0; i < IPOP_UID_HEX_LEN; i++) {
		if (!g_ascii_isdigit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	}
	return s[IPOP_UID_HEX_LEN] == '\0';
}

bool ipop_uid_matches_key(const char *uid, const uint8_t pub[IPOP_KEY_LEN])
{
	char derived[IPOP_UID_SIZE];

	if (!ipop_uid_is_valid(uid))
		return false;
	ipop_uid_from_key(pub, derived);
	return strcmp(uid, derived) == 0;
}

enum { HASH_CHARS = 16 };

unsigned ipop_uid_hash(const void *uid)
{
	const unsigned char *s = uid;
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < HASH_CHARS && s[i] != '\0'; i++) {
		h ^= s[i];
		h *= 16777619u;
	}
	return h;
}
