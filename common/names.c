/*
 * The name rules of names.h.  Pure functions over C strings.
 */
#include <glib.h>

#include "common/names.h"

bool ipop_is_name_char(char c)
{
	return g_ascii_isalnum(c) || c == '.' || c == '_' || c == '-';
}

bool ipop_name_is_valid(const char *s, size_t max)
{
	size_t n;

	if (s == NULL)
		return false;
	for (n = 0; s[n] != '\0'; n++)
		if (n >= max || !ipop_is_name_char(s[n]))
			return false;
	return n > 0;
}

bool ipop_overlay_name_is_valid(const char *s)
{
	return ipop_name_is_valid(s, IPOP_NAME_MAX);
}

bool ipop_ifname_is_valid(const char *s)
{
	return ipop_name_is_valid(s, IPOP_IFNAME_MAX);
}

bool ipop_group_is_valid(const char *s)
{
	size_t n;

	if (s == NULL)
		return false;
	for (n = 0; s[n] != '\0'; n++)
		if (n >= IPOP_GROUP_MAX ||
		    (!ipop_is_name_char(s[n]) && s[n] != '@'))
			return false;
	return n > 0;
}

bool ipop_label_is_valid(const char *s)
{
	size_t n;

	if (s == NULL)
		return true;
	for (n = 0; s[n] != '\0'; n++)
		if (n >= IPOP_LABEL_MAX || (unsigned char)s[n] < 0x20 ||
		    s[n] == 0x7f)
			return false;
	return true;
}
