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
/* A label: at most IPOP_LABEL_MAX bytes, no control characters (it is
 * printed on operators' terminals); NULL and "" are valid. */
bool ipop_label_is_valid(const char *s);

#endif
