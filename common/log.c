/*
 * Log writer: one line per message on stderr, with time, program, level and
 * domain, filtered by a level that control requests or signals can change;
 * under journald (stderr is the stream JOURNAL_STREAM names) the time and
 * program give way to a syslog priority prefix.  And the escaping of
 * strings from outside before they are logged.
 */
#include <glib.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"

/* prio: the syslog priority journald files the line under (sd-daemon's
 * "<N>" prefix): err, crit, warning, notice, info, debug. */
static const struct {
	const char *name;
	GLogLevelFlags flag;
	int prio;
} levels[] = {
    {"error", G_LOG_LEVEL_ERROR, 3},	 {"critical", G_LOG_LEVEL_CRITICAL, 2},
    {"warning", G_LOG_LEVEL_WARNING, 4}, {"message", G_LOG_LEVEL_MESSAGE, 5},
    {"info", G_LOG_LEVEL_INFO, 6},	 {"debug", G_LOG_LEVEL_DEBUG, 7},
};

static unsigned current = 3; /* message */
static const char *prog = "ipop";
static const char *domain;
static bool journal; /* stderr is journald's stream: no time, "<N>" */
static bool installed;

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

/* Writes one line of level rank r (dom: the message's domain, shown when it
 * is not ours), whatever the current level. */
static void emit(unsigned r, const char *dom, const char *msg)
{
	bool other = dom && strcmp(dom, domain ? domain : "");
	gchar *line = ipop_log_one_line(msg);
	GDateTime *now;
	gchar *ts;

	if (line)
		msg = line;
	if (journal) {
		fprintf(stderr, "<%d>[%s] %s%s%s\n", levels[r].prio,
			levels[r].name, other ? dom : "", other ? ": " : "",
			msg);
	} else {
		now = g_date_time_new_now_local();
		ts = g_date_time_format(now, "%H:%M:%S.%f");
		fprintf(stderr, "%.12s %s[%s] %s%s%s\n", ts, prog,
			levels[r].name, other ? dom : "", other ? ": " : "",
			msg);
		g_free(ts);
		g_date_time_unref(now);
	}
	fflush(stderr);
	g_free(line);
}

static GLogWriterOutput writer(GLogLevelFlags flags, const GLogField *fields,
			       gsize n, gpointer data)
{
	const char *msg = "", *dom = NULL;
	unsigned r = rank(flags), limit = current;
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
	emit(r, dom, msg);
	return G_LOG_WRITER_HANDLED;
}

/* True if JOURNAL_STREAM ("DEV:INODE", set by systemd for a unit whose
 * output goes to journald) names the file stderr is now: a child that
 * inherited the variable but writes elsewhere keeps its timestamps. */
static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	uintmax_t dev, ino;
	struct stat st;
	char tail;

	if (!js ||
	    sscanf(js, "%" SCNuMAX ":%" SCNuMAX "%c", &dev, &ino, &tail) != 2)
		return false;
	if (fstat(2, &st) < 0)
		return false;
	return (uintmax_t)st.st_dev == dev && (uintmax_t)st.st_ino == ino;
}

void ipop_log_init(const char *prefix, const char *own_domain)
{
	prog = prefix;
	domain = own_domain;
	journal = stderr_is_journal();
	if (!installed) /* GLib allows one writer per process */
		g_log_set_writer_func(writer, NULL, NULL);
	installed = true;
}

bool ipop_log_to_journal(void)
{
	return journal;
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

const char *ipop_log_step(int delta, const char *why)
{
	int to = (int)current + delta;
	char line[96];

	/* "error" would hide even critical messages: warning is the floor. */
	to = CLAMP(to, 2, (int)G_N_ELEMENTS(levels) - 1);
	current = (unsigned)to;
	g_snprintf(line, sizeof(line), "log level now %s (%s)",
		   levels[current].name, why ? why : "request");
	emit(3, NULL, line);
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
