/*
 * The value parsers of cfgvalue.h.  Each checks the whole text (a value has
 * one accepted spelling up to what inet_pton allows) before it fills
 * anything the caller keeps.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include "common/limits.h"
#include "common/names.h"
#include "common/uid.h"
#include "controller/cfgvalue.h"

enum {
	JID_PART_MAX = 1023, /* RFC 7622: bytes of the local and domain parts */
	HOST_MAX = 253,	     /* a DNS name */
};

static int G_GNUC_PRINTF(2, 3) refuse(char **why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	*why = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* ---- numbers and choices ----------------------------------------------- */

int cfg_value_uint(const char *s, unsigned min, unsigned max, unsigned *out,
		   char **why)
{
	size_t len = strlen(s);
	unsigned long v = 0;
	bool ok = len > 0 && len <= 9;

	for (size_t i = 0; ok && i < len; i++) {
		ok = g_ascii_isdigit(s[i]);
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (!ok || v < min || v > max)
		return refuse(why, "must be %u-%u", min, max);
	*out = (unsigned)v;
	return 0;
}

int cfg_value_port(const char *s, uint16_t *out, char **why)
{
	unsigned v = 0;

	if (cfg_value_uint(s, 1, 65535, &v, why) < 0)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

int cfg_value_choice(const char *s, const struct cfg_choice *choices, size_t n,
		     int *out, char **why)
{
	g_autoptr(GString) list = g_string_new(NULL);

	for (size_t i = 0; i < n; i++) {
		if (strcmp(s, choices[i].name) == 0) {
			*out = choices[i].value;
			return 0;
		}
	}
	for (size_t i = 0; i < n; i++)
		g_string_append_printf(list, "%s%s",
				       i == 0	    ? ""
				       : i == n - 1 ? " or "
						    : ", ",
				       choices[i].name);
	return refuse(why, "must be %s, not '%s'", list->str, s);
}

/* ---- names -------------------------------------------------------------- */

int cfg_value_name(const char *s, size_t max, const char *extra, char **why)
{
	size_t len = strlen(s);

	if (len == 0)
		return refuse(why, "must not be empty");
	if (len > max)
		return refuse(why, "'%s' is longer than %zu bytes", s, max);
	for (size_t i = 0; i < len; i++) {
		if (!ipop_is_name_char(s[i]) && strchr(extra, s[i]) == NULL)
			return refuse(
			    why, "'%s' may only contain A-Z a-z 0-9 . _ -%s%s",
			    s, extra[0] ? " " : "", extra);
	}
	return 0;
}

/* common/names.h decides; cfg_value_name only says what is wrong. */
int cfg_value_overlay_name(const char *s, char **why)
{
	if (ipop_overlay_name_is_valid(s))
		return 0;
	if (cfg_value_name(s, IPOP_NAME_MAX, "", why) < 0)
		return -EINVAL;
	return refuse(why, "'%s' must be %s", s, IPOP_NAME_RULE);
}

int cfg_value_ifname(const char *s, char **why)
{
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return refuse(why, "'%s' is not an interface name", s);
	if (ipop_ifname_is_valid(s))
		return 0;
	if (cfg_value_name(s, IPOP_IFNAME_MAX, "", why) < 0)
		return -EINVAL;
	return refuse(why, "'%s' must be %s", s, IPOP_IFNAME_RULE);
}

int cfg_value_group(const char *s, char **why)
{
	if (ipop_group_is_valid(s))
		return 0;
	if (cfg_value_name(s, IPOP_GROUP_MAX, "@", why) < 0)
		return -EINVAL;
	return refuse(why, "'%s' must be %s", s, IPOP_GROUP_RULE);
}

int cfg_value_uid(const char *s, char **why)
{
	if (!ipop_uid_is_valid(s))
		return refuse(why,
			      "'%s' must be a device uid "
			      "(%d lowercase hex digits)",
			      s, IPOP_UID_HEX_LEN);
	return 0;
}

int cfg_value_max_len(const char *s, size_t max, char **why)
{
	if (strlen(s) > max)
		return refuse(why, "must be at most %zu bytes", max);
	return 0;
}

/* ---- hosts -------------------------------------------------------------- */

static bool is_bare_jid(const char *s)
{
	const char *at = strchr(s, '@');

	if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@'))
		return false;
	if (strlen(at + 1) > JID_PART_MAX || at - s > JID_PART_MAX)
		return false;
	for (; *s != '\0'; s++)
		if (*s == '/' || g_ascii_isspace(*s))
			return false;
	return true;
}

int cfg_value_bare_jid(const char *s, char **why)
{
	if (!is_bare_jid(s))
		return refuse(why,
			      "'%s' is not a bare JID (user@domain, no "
			      "resource)",
			      s);
	return 0;
}

static bool is_numeric_ip(const char *s)
{
	struct in6_addr buf;

	return inet_pton(AF_INET, s, &buf) == 1 ||
	       inet_pton(AF_INET6, s, &buf) == 1;
}

static bool is_host(const char *s)
{
	size_t len = strlen(s);

	if (is_numeric_ip(s))
		return true;
	if (len == 0 || len > HOST_MAX || s[0] == '-' || s[0] == '.')
		return false;
	for (; *s != '\0'; s++)
		if (!g_ascii_isalnum(*s) && *s != '-' && *s != '.')
			return false;
	return true;
}

int cfg_value_host(const char *s, char **why)
{
	if (!is_host(s))
		return refuse(why, "'%s' is not a host name or IP address", s);
	return 0;
}

/* The port after a colon: 1-65535 in decimal, nothing else. */
static bool parse_port(const char *s, unsigned long *v)
{
	char *end;

	if (!g_ascii_isdigit(s[0]))
		return false;
	errno = 0;
	*v = strtoul(s, &end, 10);
	return *end == '\0' && errno == 0 && *v >= 1 && *v <= 65535;
}

static bool split_hostport(const char *s, char **addr, unsigned long *port)
{
	const char *colon = strrchr(s, ':');
	g_autofree char *host = NULL;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || (close[1] != '\0' && close[1] != ':'))
			return false;
		host = g_strndup(s + 1, (size_t)(close - s - 1));
		colon = close[1] == ':' ? close + 1 : NULL;
		if (inet_pton(AF_INET6, host, &(struct in6_addr){0}) != 1)
			return false;
	} else if (colon != NULL && strchr(s, ':') != colon) {
		host = g_strdup(s); /* bare IPv6, no port */
		colon = NULL;
	} else {
		host = colon ? g_strndup(s, (size_t)(colon - s)) : g_strdup(s);
	}
	if (colon != NULL && !parse_port(colon + 1, port))
		return false;
	if (!is_numeric_ip(host))
		return false;
	*addr = g_steal_pointer(&host);
	return true;
}

/* A numeric address always fits what tincan takes. */
G_STATIC_ASSERT(INET6_ADDRSTRLEN - 1 <= IPOP_ICE_ADDR_MAX);

int cfg_value_hostport(const char *s, uint16_t def_port, char **addr,
		       uint16_t *port, char **why)
{
	unsigned long p = def_port;

	if (!split_hostport(s, addr, &p))
		return refuse(why,
			      "'%s' must be a numeric IP address with an "
			      "optional :PORT (host names are not resolved; "
			      "write IPv6 as [addr]:port)",
			      s);
	*port = (uint16_t)p;
	return 0;
}

/* ---- addresses and subnets ---------------------------------------------- */

/* "ADDR/P" with ADDR of the family and P in [1, max]. */
static bool split_cidr(const char *s, int family, unsigned max, char **addr,
		       unsigned *prefix)
{
	const char *slash = strchr(s, '/');
	g_autofree char *a = NULL;
	struct in6_addr buf;
	unsigned long p;
	char *end;

	if (slash == NULL || !g_ascii_isdigit(slash[1]) ||
	    slash - s >= INET6_ADDRSTRLEN)
		return false;
	a = g_strndup(s, (size_t)(slash - s));
	p = strtoul(slash + 1, &end, 10);
	if (*end != '\0' || p < 1 || p > max || inet_pton(family, a, &buf) != 1)
		return false;
	*addr = g_steal_pointer(&a);
	*prefix = (unsigned)p;
	return true;
}

/* The host part of a node address is neither all zeros nor all ones. */
static bool is_host_v4(const char *addr, unsigned prefix)
{
	struct in_addr a;
	uint32_t host_mask = (uint32_t)(0xffffffffu >> prefix);
	uint32_t h;

	inet_pton(AF_INET, addr, &a);
	h = ntohl(a.s_addr) & host_mask;
	return h != 0 && h != host_mask;
}

int cfg_value_ipv4_host(const char *s, char **addr, unsigned *prefix,
			char **why)
{
	g_autofree char *a = NULL;
	unsigned p;

	if (!split_cidr(s, AF_INET, 30, &a, &p))
		return refuse(why,
			      "'%s' must be an IPv4 address with a prefix "
			      "length A.B.C.D/P, P 1-30",
			      s);
	if (!is_host_v4(a, p))
		return refuse(
		    why,
		    "'%s' is the network or broadcast address of its subnet",
		    s);
	*addr = g_steal_pointer(&a);
	*prefix = p;
	return 0;
}

int cfg_value_ipv6_host(const char *s, char **addr, unsigned *prefix,
			char **why)
{
	if (!split_cidr(s, AF_INET6, 128, addr, prefix))
		return refuse(why,
			      "'%s' must be an IPv6 address with a prefix "
			      "length ADDR/P, P 1-128",
			      s);
	return 0;
}

int cfg_value_ipv4_subnet(const char *s, uint8_t net[4], unsigned *prefix,
			  char **why)
{
	g_autofree char *a = NULL;
	struct in_addr n;
	unsigned p;

	if (!split_cidr(s, AF_INET, 30, &a, &p) || p < 8)
		return refuse(
		    why, "'%s' must be an IPv4 subnet A.B.C.D/P, P 8-30", s);
	inet_pton(AF_INET, a, &n);
	if (ntohl(n.s_addr) & (0xffffffffu >> p))
		return refuse(why, "'%s' has host bits set", s);
	memcpy(net, &n, 4);
	*prefix = p;
	return 0;
}

int cfg_value_ipv4(const char *s, uint8_t out[4], char **why)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return refuse(why, "'%s' must be an IPv4 address", s);
	memcpy(out, &a, 4);
	return 0;
}
