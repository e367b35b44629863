/*
 * Log writer: one line per message on stderr, with time, program, level and
 * domain, filtered by a level that control requests can change.
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

static GLogWriterOutput writer(GLogLevelFlags flags, const GLogField *fields,
			       gsize n, gpointer data)
{
	const char *msg = "", *dom = NULL;
	unsigned r = rank(flags), limit = current;
	GDateTime *now;
	gchar *ts;
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
	now = g_date_time_new_now_local();
	ts = g_date_time_format(now, "%H:%M:%S.%f");
	fprintf(stderr, "%.12s %s[%s] %s%s%s\n", ts, prog, levels[r].name,
		dom && strcmp(dom, domain ? domain : "") ? dom : "",
		dom && strcmp(dom, domain ? domain : "") ? ": " : "", msg);
	fflush(stderr);
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
