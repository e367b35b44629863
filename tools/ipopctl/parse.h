/*
 * ipopctl's checks of user input, all done before the socket is touched:
 * uids, names, keys, numbers, addresses, MACs and PSK files.  Each returns
 * 0, or CTL_USAGE after usage_err has said what is wrong; what the checks
 * fill in is the caller's (strings g_malloc'd where said).
 */
#ifndef IPOPCTL_PARSE_H
#define IPOPCTL_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tools/ipopctl/ipopctl.h"

/* A PEER_UID argument. */
int parse_uid(struct ctl *c, const char *s);
/* An overlay name given as what ("NAME", "OVERLAY"): IPOP_NAME_RULE. */
int parse_overlay_name(struct ctl *c, const char *what, const char *s);
/* A TAP or bridge name given as what ("--tap"): IPOP_IFNAME_RULE. */
int parse_ifname(struct ctl *c, const char *what, const char *s);
/* A --label: at most IPOP_LABEL_MAX bytes, no control characters. */
int parse_label(struct ctl *c, const char *s);
/* A LEVEL: one of IPOP_LOG_LEVELS. */
int parse_log_level(struct ctl *c, const char *s);
/* OVERLAY PEER_UID, the first two positionals of link commands. */
int parse_link_args(struct ctl *c, struct args *a);
/* A PEER_PUBKEY: canonical base64 of exactly IPOP_KEY_LEN bytes. */
int parse_key(struct ctl *c, const char *s, uint8_t key[IPOP_KEY_LEN]);
/* A decimal number min..max into *out: false if s is anything else (no
 * message: the caller words it). */
bool parse_ulong(const char *s, unsigned long min, unsigned long max,
		 unsigned long *out);
/* "ADDR/P" of family af given as --opt; *addr gets the canonical address
 * (g_malloc'd). */
int parse_cidr(struct ctl *c, int af, const char *opt, const char *s,
	       char **addr, uint32_t *prefix);
/* A plain address of family af given as --opt; *addr as above. */
int parse_addr(struct ctl *c, int af, const char *opt, const char *s,
	       char **addr);
/* "IP:PORT" or "[IPv6]:PORT" given as --opt; *host as above. */
int parse_hostport(struct ctl *c, const char *opt, const char *s, char **host,
		   uint32_t *port);
/* A unicast MAC "aa:bb:cc:dd:ee:ff" given as --mac. */
int parse_mac(struct ctl *c, const char *s, uint8_t mac[IPOP_MAC_LEN]);
/* Reads a PSK file into psk: 32 raw bytes, or 64 hex digits with optional
 * trailing whitespace; a file that group or others may access is refused
 * (the rule of common/io.h).  Its buffer is wiped before returning. */
int parse_psk_file(struct ctl *c, const char *path, uint8_t psk[IPOP_PSK_LEN]);
/* Decodes a non-empty strict base64 blob into a new buffer (caller
 * g_frees); NULL if s is not base64. */
uint8_t *parse_b64(const char *s, size_t *len);

#endif
