/*
 * Log writer: one line per message on stderr, with time, program, level and
 * domain, filtered by a level that control requests can change; and the
 * escaping of strings from outside before they are logged.
 */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"

static const struct {
	const char *name;
	GLogLevelFlags flag;
} levels[] = {
    {"error", G_LOG_LEVEL_ERROR},     {"critical", G_LOG_LEVEL_CRITICAL},
    {"warning", G_LOG_LEVEL_WARNING}, {"message", G_LOG_LEVEL_MESSAGE},
    {"info", G_LOG_LEVEL_INFO},	      {"debug", G_LOG_LEVEL_DEBUG},
};

static unsigned current = 3; /* message */
static const char *prog = "ipop";
static const char *domain;

static unsigned rank(GLogLevelFlags f)
{
	unsigned i;

	for (i = 0; i < G_N_ELEMENTS(levels); i++)
		if (f & levels[i].flag)
			return i;
	return G_N_ELEMENTS(levels) - 1;
}

static bool is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* The safety net under ipop_log_str: a backslash stays as it is (it may be
 * ipop_log_str's own), the cut is on a UTF-8 character boundary. */
char *ipop_log_one_line(const char *msg)
{
	size_t i, n = strlen(msg);
	GString *out;

	for (i = 0; i < n && (msg[i] == '\t' || !is_ctl((unsigned char)msg[i]));
	     i++)
		;
	if (i == n && n <= IPOP_LOG_LINE_MAX)
		return NULL;
	out = g_string_sized_new(MIN(n, (size_t)IPOP_LOG_LINE_MAX) + 32);
	for (i = 0; i < n && (out->len < IPOP_LOG_LINE_MAX ||
			      ((unsigned char)msg[i] & 0xc0) == 0x80);
	     i++) {
		unsigned char c = (unsigned char)msg[i];
		if (c != '\t' && is_ctl(c))
			g_string_append_printf(out, "\\x%02x", c);
		else
			g_string_append_c(out, (char)c);
	}
	if (i < n)
		g_string_append_printf(out, "\xe2\x80\xa6(%zu bytes)", n);
	return g_string_free(out, FALSE);
}

static GLogWriterOutput writer(GLogLevelFlags flags, const GLogField *fields,
			       gsize n, gpointer data)
{
	const char *msg = "", *dom = NULL;
	unsigned r = rank(flags), limit = current;
	GDateTime *now;
	gchar *ts, *line;
	gsize i;

	(void)data;
	for (i = 0; i < n; i++) {
		if (!strcmp(fields[i].key, "MESSAGE"))
			msg = fields[i].value;
		else if (!strcmp(fields[i].key, "GLIB_DOMAIN"))
			dom = fields[i].value;
	}
	/* Libraries are chatty: their debug output only at our debug. */
	if ((!dom || !domain || strcmp(dom, domain)) && limit < 5 && limit > 2)
		limit = 2;
	if (r > limit)
		return G_LOG_WRITER_HANDLED;
	line = ipop_log_one_line(msg);
	if (line)
		msg = line;
	now = g_date_time_new_now_local();
	ts = g_date_time_format(now, "%H:%M:%S.%f");
	fprintf(stderr, "%.12s %s[%s] %s%s%s\n", ts, prog, levels[r].name,
		dom && strcmp(dom, domain ? domain : "") ? dom : "",
		dom && strcmp(dom, domain ? domain : "") ? ": " : "", msg);
	fflush(stderr);
	g_free(line);
	g_free(ts);
	g_date_time_unref(now);
	return G_LOG_WRITER_HANDLED;
}

void ipop_log_init(const char *prefix, const char *own_domain)
{
	prog = prefix;
	domain = own_domain;
	g_log_set_writer_func(writer, NULL, NULL);
}

/* The index of a level name, or -1. */
static int find_level(const char *name)
{
	unsigned i;

	for (i = 0; name && i < G_N_ELEMENTS(levels); i++)
		if (!strcmp(name, levels[i].name))
			return (int)i;
	return -1;
}

bool ipop_log_set_level(const char *name)
{
	int i = find_level(name);

	if (i < 0)
		return false;
	current = (unsigned)i;
	return true;
}

bool ipop_log_level_is_valid(const char *name)
{
	return find_level(name) >= 0;
}

const char *ipop_log_level(void)
{
	return levels[current].name;
}

bool ipop_log_budget_take(struct ipop_log_budget *b, unsigned max,
			  unsigned *held)
{
	int64_t now = g_get_monotonic_time() / G_USEC_PER_SEC;

	if (now != b->second) {
		b->second = now;
		b->used = 0;
	}
	if (b->used >= max) {
		b->held++;
		return false;
	}
	b->used++;
	*held = b->held;
	b->held = 0;
	return true;
}

/* Code points that are valid UTF-8 but unsafe in a log: C1 controls (some
 * terminals read U+009B as CSI), line and paragraph separators, and the
 * bidi controls that reorder what a reader sees. */
static bool is_unsafe(gunichar u)
{
	return (u >= 0x80 && u <= 0x9f) || u == 0x061c || u == 0x200e ||
	       u == 0x200f || (u >= 0x2028 && u <= 0x202e) ||
	       (u >= 0x2066 && u <= 0x2069);
}

/* The escaped form of the character at s into out (at most 12 bytes, not
 * terminated) and its length in *out_len; returns the input bytes used. */
static size_t escape_one(const char *s, char out[16], size_t *out_len)
{
	unsigned char c = (unsigned char)*s;
	gunichar u;
	size_t n;

	if (c == '\\') {
		memcpy(out, "\\\\", 2);
		*out_len = 2;
		return 1;
	}
	if (c < 0x80 && !is_ctl(c)) {
		out[0] = (char)c;
		*out_len = 1;
		return 1;
	}
	u = c < 0x80 ? (gunichar)-1 : g_utf8_get_char_validated(s, -1);
	if (u == (gunichar)-1 || u == (gunichar)-2) {
		*out_len = (size_t)g_snprintf(out, 16, "\\x%02x", c);
		return 1;
	}
	n = (size_t)g_utf8_skip[c];
	if (is_unsafe(u)) {
		*out_len = (size_t)g_snprintf(out, 16, "\\u{%04X}", u);
		return n;
	}
	memcpy(out, s, n);
	*out_len = n;
	return n;
}

/* Room kept for the marker: "…(" + 20 digits + " bytes)" + NUL. */
enum { MARK_ROOM = 3 + 1 + 20 + 7 + 1 };

/* untrusted: s, any bytes up to a NUL. */
const char *ipop_log_str(const char *s, char *buf, size_t len)
{
	size_t i = 0, o = 0, cut = 0, used, n;
	char piece[16];

	g_return_val_if_fail(buf && len >= IPOP_LOG_STR_MIN, "");
	if (!s)
		s = "(null)";
	while (s[i]) {
		used = escape_one(s + i, piece, &n);
		if (o + n > len - 1) {
			g_snprintf(buf + cut, len - cut,
				   "\xe2\x80\xa6(%zu bytes)", strlen(s));
			return buf;
		}
		memcpy(buf + o, piece, n);
		o += n;
		i += used;
		if (o + MARK_ROOM <= len)
			cut = o;
	}
	buf[o] = '\0';
	return buf;
}
