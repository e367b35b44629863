/*
 * Name rules shared by every program: overlay names, interface names
 * (TAPs and bridges), group names, labels.  A name goes into logs,
 * tables, file names and the kernel, so it is short and plain.  This module
 * owns the rules and the texts that state them in error messages.
 */
#ifndef IPOP_NAMES_H
#define IPOP_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "common/limits.h"

#define IPOP_NAME_CHARS "[A-Za-z0-9._-]"
/* The rule as error messages state it. */
#define IPOP_NAME_RULE "1-32 characters of " IPOP_NAME_CHARS
#define IPOP_IFNAME_RULE "1-15 characters of " IPOP_NAME_CHARS
#define IPOP_GROUP_RULE "1-64 characters of [A-Za-z0-9._@-]"

/* True for a letter, a digit, '.', '_' or '-'. */
bool ipop_is_name_char(char c);
/* True if s is 1..max bytes, each a name character (NULL: false). */
bool ipop_name_is_valid(const char *s, size_t max);
/* An overlay name: 1..IPOP_NAME_MAX name characters. */
bool ipop_overlay_name_is_valid(const char *s);
/* A TAP or bridge name: 1..IPOP_IFNAME_MAX name characters. */
bool ipop_ifname_is_valid(const char *s);
/* A group name (members advertise it, configs set it): 1..IPOP_GROUP_MAX
 * name characters or '@' (groups are often named after a JID). */
bool ipop_group_is_valid(const char *s);
/* A label: at most IPOP_LABEL_MAX bytes of valid UTF-8 without control
 * characters (C0, DEL, C1: it is printed on operators' terminals); NULL
 * and "" are valid. */
bool ipop_label_is_valid(const char *s);

/* The rule for every string that crosses the control socket, checked on the
 * bytes as sent (len of them, which may hold a NUL): NULL when s is valid
 * UTF-8 without a NUL byte, else a static phrase saying what is wrong ("holds
 * a NUL byte", "is not valid UTF-8") for an error message.  A C string
 * cannot hold the NUL, so without this check "hs\0x" would silently become
 * "hs". */
const char *ipop_text_problem(const char *s, size_t len);
/* ipop_text_problem(s, len) == NULL. */
bool ipop_text_is_valid(const char *s, size_t len);

#endif
