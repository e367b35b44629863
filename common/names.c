/*
 * The name rules of names.h.  Pure functions over C strings, and the text
 * rule over counted bytes.
 */
#include <string.h>

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
	size_t i, n;

	if (s == NULL)
		return true;
	n = strlen(s);
	if (n > IPOP_LABEL_MAX || !g_utf8_validate(s, (gssize)n, NULL))
		return false;
	/* g_unichar_iscntrl: C0, DEL and the C1 controls (U+0080-U+009F,
	 * which some terminals take as escape sequences). */
	for (i = 0; i < n; i += (size_t)g_utf8_skip[(unsigned char)s[i]])
		if (g_unichar_iscntrl(g_utf8_get_char(s + i)))
			return false;
	return true;
}

const char *ipop_text_problem(const char *s, size_t len)
{
	if (len == 0)
		return NULL;
	if (s == NULL || memchr(s, '\0', len) != NULL)
		return "holds a NUL byte";
	/* GLib refuses overlong forms, surrogates and code points past
	 * U+10FFFF, as RFC 3629 does. */
	if (!g_utf8_validate(s, (gssize)len, NULL))
		return "is not valid UTF-8";
	return NULL;
}

bool ipop_text_is_valid(const char *s, size_t len)
{
	return ipop_text_problem(s, len) == NULL;
}
