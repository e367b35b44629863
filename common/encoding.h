/*
 * Strict text encodings of binary values: canonical base64 (keys, proofs,
 * candidate blobs) and hex (group secrets, MAC addresses).  GLib's base64
 * decoder skips characters outside the alphabet, so everything here checks
 * the text first; a value has exactly one accepted spelling.
 */
#ifndef IPOP_ENCODING_H
#define IPOP_ENCODING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"

/* True if the len bytes of s are standard-alphabet base64 with correct
 * '=' padding (len a multiple of 4; 0 is valid).  untrusted: s. */
bool ipop_b64_is_valid(const char *s, size_t len);
/* Decodes the canonical base64 of exactly n bytes (the spelling GLib's
 * encoder produces, trailing bits zero) into out: false for anything
 * else, out untouched.  untrusted: s. */
bool ipop_b64_decode_exact(const char *s, uint8_t *out, size_t n);
/* A public key as canonical base64 of 32 bytes (see above). */
bool ipop_key_from_b64(const char *s, uint8_t key[IPOP_KEY_LEN]);
/* The value of one hex digit (either case), or -1. */
int ipop_hex_digit(char c);
/* Decodes exactly 2 * n hex digits (either case) into out: false for any
 * other length or character.  untrusted: s. */
bool ipop_hex_decode(const char *s, size_t len, uint8_t *out, size_t n);
/* Parses "aa:bb:cc:dd:ee:ff" (either case): false if malformed. */
bool ipop_mac_parse(const char *s, uint8_t mac[IPOP_MAC_LEN]);

#endif
