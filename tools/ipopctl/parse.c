/*
 * The checks of parse.h.  Each names the argument or option at fault and
 * what it must look like, in the words of --help.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <glib.h>
#include <sodium.h>

#include "tools/ipopctl/parse.h"

static bool is_uid(const char *s)
{
	size_t i;

	for (i = 0; i < UID_LEN; i++)
		if (!g_ascii_isdigit(s[i]) && (s[i] < 'a' || s[i] > 'f'))
			return false;
	return s[UID_LEN] == '\0';
}

int parse_uid(struct ctl *c, const char *s)
{
	if (!is_uid(s))
		return usage_err(c,
				 "PEER_UID must be 40 lowercase hex digits,"
				 " got '%s'",
				 s);
	return 0;
}

/* Overlay names go into logs and tables: printable, no spaces, bounded. */
int parse_name(struct ctl *c, const char *what, const char *s, size_t max)
{
	const unsigned char *p;
	size_t len = strlen(s);

	if (len == 0 || len > max)
		return usage_err(c, "%s must be 1 to %zu characters", what,
				 max);
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '/')
			return usage_err(c,
					 "%s '%s' contains a space, control"
					 " character or '/'",
					 what, s);
	return 0;
}

/* Strict base64: standard alphabet, length a multiple of 4, '=' only as
 * final padding.  GLib's decoder skips junk, so check before decoding. */
static bool is_base64(const char *s)
{
	size_t len = strlen(s), i, pad = 0;

	if (len == 0 || len % 4 != 0)
		return false;
	for (i = 0; i < len; i++) {
		char ch = s[i];

		if (ch == '=') {
			pad++;
			continue;
		}
		if (pad > 0)
			return false;
		if (!g_ascii_isalnum(ch) && ch != '+' && ch != '/')
			return false;
	}
	return pad <= 2;
}

/* Decodes strict base64 into a new buffer; NULL if s is not base64. */
uint8_t *parse_b64(const char *s, size_t *len)
{
	if (!is_base64(s))
		return NULL;
	return g_base64_decode(s, len);
}

int parse_key(struct ctl *c, const char *s, uint8_t key[KEY_LEN])
{
	size_t len = 0;
	uint8_t *raw = parse_b64(s, &len);

	if (raw == NULL || len != KEY_LEN) {
		g_free(raw);
		return usage_err(c,
				 "PEER_PUBKEY must be base64 of exactly %d"
				 " bytes (44 characters), got '%s'",
				 KEY_LEN, s);
	}
	memcpy(key, raw, KEY_LEN);
	g_free(raw);
	return 0;
}

bool parse_ulong(const char *s, unsigned long min, unsigned long max,
		 unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!g_ascii_isdigit(s[0]))
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* Checks an address literal and returns its canonical text (g_malloc'd). */
static char *canon_addr(int af, const char *s)
{
	unsigned char bin[sizeof(struct in6_addr)];
	char buf[INET6_ADDRSTRLEN];

	if (inet_pton(af, s, bin) != 1)
		return NULL;
	if (inet_ntop(af, bin, buf, sizeof(buf)) == NULL)
		return NULL;
	return g_strdup(buf);
}

/* "ADDR/P" with P in range for af; *addr gets the canonical address. */
int parse_cidr(struct ctl *c, int af, const char *opt, const char *s,
	       char **addr, uint32_t *prefix)
{
	unsigned long max = af == AF_INET ? 32 : 128, p;
	const char *slash = strchr(s, '/');
	char *a;

	if (slash == NULL)
		return usage_err(c, "--%s '%s': expected %s/PREFIX", opt, s,
				 af == AF_INET ? "A.B.C.D" : "ADDR");
	if (!parse_ulong(slash + 1, 0, max, &p))
		return usage_err(c, "--%s '%s': prefix must be 0..%lu", opt, s,
				 max);
	a = g_strndup(s, (gsize)(slash - s));
	*addr = canon_addr(af, a);
	g_free(a);
	if (*addr == NULL)
		return usage_err(c, "--%s '%s': not an IPv%d address", opt, s,
				 af == AF_INET ? 4 : 6);
	*prefix = (uint32_t)p;
	return 0;
}

int parse_addr(struct ctl *c, int af, const char *opt, const char *s,
	       char **addr)
{
	*addr = canon_addr(af, s);
	if (*addr == NULL)
		return usage_err(c, "--%s '%s': not an IPv%d address", opt, s,
				 af == AF_INET ? 4 : 6);
	return 0;
}

/* "IP:PORT" or "[IPv6]:PORT"; *host gets the canonical address. */
int parse_hostport(struct ctl *c, const char *opt, const char *s, char **host,
		   uint32_t *port)
{
	const char *colon, *hs = s, *he;
	unsigned long p;
	char *h;

	if (s[0] == '[') {
		hs = s + 1;
		he = strchr(hs, ']');
		colon = he != NULL && he[1] == ':' ? he + 1 : NULL;
	} else {
		colon = strrchr(s, ':');
		he = colon;
	}
	if (colon == NULL || he == NULL)
		return usage_err(c,
				 "--%s '%s': expected IP:PORT"
				 " ([IPv6]:PORT)",
				 opt, s);
	if (!parse_ulong(colon + 1, 1, 65535, &p))
		return usage_err(c, "--%s '%s': port must be 1..65535", opt, s);
	h = g_strndup(hs, (gsize)(he - hs));
	*host = canon_addr(strchr(h, ':') != NULL ? AF_INET6 : AF_INET, h);
	g_free(h);
	if (*host == NULL)
		return usage_err(c, "--%s '%s': not an IP address", opt, s);
	*port = (uint32_t)p;
	return 0;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = g_ascii_tolower(ch);
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

int parse_mac(struct ctl *c, const char *s, uint8_t mac[MAC_LEN])
{
	size_t i;
	int hi, lo;

	if (strlen(s) != MAC_LEN * 3 - 1)
		goto bad;
	for (i = 0; i < MAC_LEN; i++) {
		hi = hexval(s[i * 3]);
		lo = hexval(s[i * 3 + 1]);
		if (hi < 0 || lo < 0 ||
		    (i + 1 < MAC_LEN && s[i * 3 + 2] != ':'))
			goto bad;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	if (mac[0] & 1)
		return usage_err(c, "--mac '%s' is a multicast address", s);
	return 0;
bad:
	return usage_err(c, "--mac '%s': expected aa:bb:cc:dd:ee:ff", s);
}

/* Reads a 32-byte PSK file: 32 raw bytes, or 64 hex digits with optional
 * trailing whitespace.  The buffer is wiped before returning. */
int parse_psk_file(struct ctl *c, const char *path, uint8_t psk[KEY_LEN])
{
	uint8_t buf[PSK_FILE_MAX];
	struct stat st;
	ssize_t n;
	size_t len, i;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return usage_err(c, "--psk-file %s: %s", path, strerror(errno));
	if (fstat(fd, &st) == 0 && (st.st_mode & 077) != 0)
		fprintf(stderr,
			"ipopctl: warning: %s is readable by other"
			" users\n",
			path);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0) {
		rc = usage_err(c, "--psk-file %s: %s", path, strerror(errno));
		goto out;
	}
	len = (size_t)n;
	if (len == KEY_LEN) {
		memcpy(psk, buf, KEY_LEN);
		goto out;
	}
	while (len > 0 && g_ascii_isspace(buf[len - 1]))
		len--;
	for (i = 0; len == 2 * KEY_LEN && i < KEY_LEN; i++) {
		int hi = hexval((char)buf[2 * i]),
		    lo = hexval((char)buf[2 * i + 1]);

		if (hi < 0 || lo < 0)
			break;
		psk[i] = (uint8_t)(hi << 4 | lo);
	}
	if (len != 2 * KEY_LEN || i != KEY_LEN)
		rc = usage_err(c,
			       "--psk-file %s: must hold 32 raw bytes or 64"
			       " hex digits",
			       path);
out:
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

/* Checks OVERLAY PEER_UID, the first two positionals of link commands. */
int parse_link_args(struct ctl *c, struct args *a)
{
	int r = parse_name(c, "OVERLAY", a->pos[0], OVERLAY_NAME_MAX);

	return r != 0 ? r : parse_uid(c, a->pos[1]);
}
