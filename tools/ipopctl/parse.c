/*
 * The checks of parse.h.  Each names the argument or option at fault and
 * what it must look like, in the words of --help.  The rules themselves
 * (uids, names, levels, encodings, secret files) are common/'s, so ipopctl
 * refuses exactly what tincan would.
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

#include "common/encoding.h"
#include "common/io.h"
#include "common/log.h"
#include "common/names.h"
#include "common/uid.h"
#include "tools/ipopctl/parse.h"

int parse_uid(struct ctl *c, const char *s)
{
	if (!ipop_uid_is_valid(s))
		return usage_err(c,
				 "PEER_UID must be 40 lowercase hex digits,"
				 " got '%s'",
				 s);
	return 0;
}

int parse_overlay_name(struct ctl *c, const char *what, const char *s)
{
	if (!ipop_overlay_name_is_valid(s))
		return usage_err(c, "%s '%s' must be " IPOP_NAME_RULE, what, s);
	return 0;
}

int parse_ifname(struct ctl *c, const char *what, const char *s)
{
	if (!ipop_ifname_is_valid(s))
		return usage_err(c, "%s '%s' must be " IPOP_IFNAME_RULE, what,
				 s);
	return 0;
}

int parse_label(struct ctl *c, const char *s)
{
	if (!ipop_label_is_valid(s))
		return usage_err(c,
				 "--label must be at most %d bytes without"
				 " control characters",
				 IPOP_LABEL_MAX);
	return 0;
}

int parse_log_level(struct ctl *c, const char *s)
{
	if (!ipop_log_level_is_valid(s))
		return usage_err(
		    c, "LEVEL must be one of " IPOP_LOG_LEVELS ", got '%s'", s);
	return 0;
}

uint8_t *parse_b64(const char *s, size_t *len)
{
	size_t n = strlen(s);

	/* GLib's decoder skips junk, so the text is checked first. */
	if (n == 0 || !ipop_b64_is_valid(s, n))
		return NULL;
	return g_base64_decode(s, len);
}

int parse_key(struct ctl *c, const char *s, uint8_t key[IPOP_KEY_LEN])
{
	if (!ipop_key_from_b64(s, key))
		return usage_err(c,
				 "PEER_PUBKEY must be base64 of exactly %d"
				 " bytes (44 characters), got '%s'",
				 IPOP_KEY_LEN, s);
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

int parse_mac(struct ctl *c, const char *s, uint8_t mac[IPOP_MAC_LEN])
{
	if (!ipop_mac_parse(s, mac))
		return usage_err(c, "--mac '%s': expected aa:bb:cc:dd:ee:ff",
				 s);
	if (mac[0] & 1)
		return usage_err(c, "--mac '%s' is a multicast address", s);
	return 0;
}

/* Refuses a PSK file that is not private, in the words the daemons use for
 * their secret files. */
static int psk_fd_check(struct ctl *c, const char *path, int fd)
{
	mode_t mode = 0;
	int r = ipop_secret_fd_check(fd, &mode);

	if (r == -EINVAL)
		return usage_err(c, "--psk-file %s is not a regular file",
				 path);
	if (r == -EPERM)
		return usage_err(c,
				 "--psk-file %s is accessible by group or"
				 " others (mode %04o): run chmod 600 %s",
				 path, (unsigned)mode, path);
	if (r == -EACCES)
		return usage_err(
		    c,
		    "--psk-file %s belongs to another user: it must"
		    " be yours (or root's)",
		    path);
	if (r < 0)
		return usage_err(c, "--psk-file %s: %s", path, g_strerror(-r));
	return 0;
}

/* The file's bytes: 32 raw, or 64 hex digits and trailing whitespace. */
static bool psk_decode(const uint8_t *buf, size_t len,
		       uint8_t psk[IPOP_PSK_LEN])
{
	if (len == IPOP_PSK_LEN) {
		memcpy(psk, buf, IPOP_PSK_LEN);
		return true;
	}
	while (len > 0 && g_ascii_isspace(buf[len - 1]))
		len--;
	return ipop_hex_decode((const char *)buf, len, psk, IPOP_PSK_LEN);
}

int parse_psk_file(struct ctl *c, const char *path, uint8_t psk[IPOP_PSK_LEN])
{
	uint8_t buf[PSK_FILE_MAX + 1];
	size_t len = 0;
	int fd, r;

	/* untrusted: the file's bytes are checked before use.  Non-blocking,
	 * so a FIFO is refused instead of waited on. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return usage_err(c, "--psk-file %s: %s", path, strerror(errno));
	r = psk_fd_check(c, path, fd);
	if (r == 0) {
		r = ipop_read_all(fd, buf, PSK_FILE_MAX, &len);
		if (r < 0 && r != -EFBIG)
			r = usage_err(c, "--psk-file %s: %s", path,
				      g_strerror(-r));
		else if (r < 0 || !psk_decode(buf, len, psk))
			r = usage_err(c,
				      "--psk-file %s: must hold 32 raw bytes or"
				      " 64 hex digits",
				      path);
	}
	close(fd);
	sodium_memzero(buf, sizeof(buf));
	return r;
}

/* Checks OVERLAY PEER_UID, the first two positionals of link commands. */
int parse_link_args(struct ctl *c, struct args *a)
{
	int r = parse_overlay_name(c, "OVERLAY", a->pos[0]);

	return r != 0 ? r : parse_uid(c, a->pos[1]);
}
