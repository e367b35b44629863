/*
 * Parsers of the configuration's single values: numbers in a range, ports,
 * choices among names, names (overlay, interface, group), uids, JIDs, host
 * names, ICE server addresses, IPv4/IPv6 addresses with prefixes and IPv4
 * subnets.  Each takes the value's text (untrusted: from the config file)
 * and returns 0 with the result filled in, or -EINVAL with *why set to a
 * sentence saying what is allowed, quoting the value where that helps
 * (never for secrets); the caller frees *why and adds file, line and key.
 * The shared rules (name characters, uid form, limits) are common/'s; this
 * module only phrases them.  Pure functions: no I/O, no tree.
 */
#ifndef CTL_CFGVALUE_H
#define CTL_CFGVALUE_H

#include <stddef.h>
#include <stdint.h>

/* A decimal number in [min, max] (at most 9 digits, no sign). */
int cfg_value_uint(const char *s, unsigned min, unsigned max, unsigned *out,
		   char **why);
/* A port, 1-65535. */
int cfg_value_port(const char *s, uint16_t *out, char **why);

struct cfg_choice {
	const char *name;
	int value;
};
/* One of the n names of choices: *out gets its value.  The message lists
 * them ("must be a, b or c, not 's'"). */
int cfg_value_choice(const char *s, const struct cfg_choice *choices, size_t n,
		     int *out, char **why);

/* 1..max bytes of name characters (common/names.h) or of extra. */
int cfg_value_name(const char *s, size_t max, const char *extra, char **why);
/* An overlay name (IPOP_NAME_RULE). */
int cfg_value_overlay_name(const char *s, char **why);
/* A TAP or bridge name (IPOP_IFNAME_RULE), not "." or "..". */
int cfg_value_ifname(const char *s, char **why);
/* A group name (IPOP_GROUP_RULE). */
int cfg_value_group(const char *s, char **why);
/* A device uid: 40 lowercase hex digits (common/uid.h). */
int cfg_value_uid(const char *s, char **why);
/* At most max bytes; the value is not quoted (it may be a secret). */
int cfg_value_max_len(const char *s, size_t max, char **why);

/* A bare JID: user@domain, no resource, no white space. */
int cfg_value_bare_jid(const char *s, char **why);
/* A host name or a numeric IPv4/IPv6 address. */
int cfg_value_host(const char *s, char **why);
/* "IP", "IP:PORT", "[IPv6]", "[IPv6]:PORT" or a bare IPv6 address, all
 * numeric: *addr (caller frees) and *port (def_port if not given). */
int cfg_value_hostport(const char *s, uint16_t def_port, char **addr,
		       uint16_t *port, char **why);

/* A node's IPv4 address "A.B.C.D/P", P 1-30, neither the network nor the
 * broadcast address of its subnet: *addr (dotted quad, caller frees). */
int cfg_value_ipv4_host(const char *s, char **addr, unsigned *prefix,
			char **why);
/* A node's IPv6 address "ADDR/P", P 1-128: *addr (caller frees). */
int cfg_value_ipv6_host(const char *s, char **addr, unsigned *prefix,
			char **why);
/* An IPv4 subnet "A.B.C.D/P", P 8-30, without host bits. */
int cfg_value_ipv4_subnet(const char *s, uint8_t net[4], unsigned *prefix,
			  char **why);
/* A plain IPv4 address "A.B.C.D". */
int cfg_value_ipv4(const char *s, uint8_t out[4], char **why);

#endif
