/*
 * Logging for every program: a GLib log writer to stderr with a runtime
 * level.  Messages of other domains (libnice, GLib) are shown from warning
 * up, or everything at debug.  Owns only the current level.
 */
#ifndef IPOP_LOG_H
#define IPOP_LOG_H

#include <stdbool.h>

/* The level names, most severe first, as help texts and errors show them. */
#define IPOP_LOG_LEVELS "error|critical|warning|message|info|debug"

/* Installs the writer; prefix names the program in each line. */
void ipop_log_init(const char *prefix, const char *own_domain);
/* Sets the level by name (one of IPOP_LOG_LEVELS); false for an unknown
 * name, which changes nothing. */
bool ipop_log_set_level(const char *name);
/* True if name is one of IPOP_LOG_LEVELS. */
bool ipop_log_level_is_valid(const char *name);
/* The current level's name. */
const char *ipop_log_level(void);

#endif
