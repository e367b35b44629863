/*
 * The encodings of encoding.h.  Pure functions; nothing is allocated that
 * outlives a call.
 */
#include <string.h>

#include <glib.h>
#include <sodium.h>

#include "common/encoding.h"

static bool is_b64_char(char c)
{
	return g_ascii_isalnum(c) || c == '+' || c == '/';
}

bool ipop_b64_is_valid(const char *s, size_t len)
{
	size_t pad = 0, i;

	if (len % 4 != 0)
		return false;
	while (pad < 2 && pad < len && s[len - 1 - pad] == '=')
		pad++;
	for (i = 0; i < len - pad; i++)
		if (!is_b64_char(s[i]))
			return false;
	return true;
}

bool ipop_b64_decode_exact(const char *s, uint8_t *out, size_t n)
{
	size_t len = s ? strlen(s) : 0;
	g_autofree guchar *raw = NULL;
	g_autofree char *again = NULL;
	gsize got = 0;

	if (s == NULL || len != 4 * ((n + 2) / 3) || !ipop_b64_is_valid(s, len))
		return false;
	raw = g_base64_decode(s, &got);
	if (raw == NULL || got != n)
		goto fail;
	/* Re-encoding refuses non-zero trailing bits: one spelling only. */
	again = g_base64_encode(raw, got);
	if (strcmp(again, s) != 0)
		goto fail;
	memcpy(out, raw, n);
	sodium_memzero(raw, got);
	sodium_memzero(again, strlen(again));
	return true;
fail:
	if (raw != NULL)
		sodium_memzero(raw, got);
	if (again != NULL)
		sodium_memzero(again, strlen(again));
	return false;
}

bool ipop_key_from_b64(const char *s, uint8_t key[IPOP_KEY_LEN])
{
	return ipop_b64_decode_exact(s, key, IPOP_KEY_LEN);
}

int ipop_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool ipop_hex_decode(const char *s, size_t len, uint8_t *out, size_t n)
{
	size_t i;

	if (len != 2 * n)
		return false;
	for (i = 0; i < n; i++) {
		int hi = ipop_hex_digit(s[2 * i]),
		    lo = ipop_hex_digit(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

bool ipop_mac_parse(const char *s, uint8_t mac[IPOP_MAC_LEN])
{
	uint8_t m[IPOP_MAC_LEN];
	size_t i;

	if (s == NULL || strlen(s) != IPOP_MAC_LEN * 3 - 1)
		return false;
	for (i = 0; i < IPOP_MAC_LEN; i++) {
		if (i + 1 < IPOP_MAC_LEN && s[i * 3 + 2] != ':')
			return false;
		if (!ipop_hex_decode(s + i * 3, 2, &m[i], 1))
			return false;
	}
	memcpy(mac, m, sizeof(m));
	return true;
}
