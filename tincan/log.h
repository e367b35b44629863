/*
 * Logging for both daemons: a GLib log writer to stderr with a runtime
 * level.  Messages of other domains (libnice, GLib) are shown from warning
 * up, or everything at debug.  Owns only the current level.
 */
#ifndef TC_LOG_H
#define TC_LOG_H

#include <stdbool.h>

/* Installs the writer; prefix names the program in each line. */
void tc_log_init(const char *prefix, const char *own_domain);
/* Sets the level by name (error|critical|warning|message|info|debug);
 * false for an unknown name. */
bool tc_log_set_level(const char *name);
/* The current level's name. */
const char *tc_log_level(void);

#endif
