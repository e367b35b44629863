/*
 * Logging for every program: a GLib log writer to stderr with a runtime
 * level.  Messages of other domains (libnice, GLib) are shown from warning
 * up, or everything at debug.  Under systemd with output to journald
 * (JOURNAL_STREAM names stderr) lines carry no time and no program name
 * (the journal adds both) but a "<N>" syslog priority prefix, so
 * `journalctl -p` filters them.  Owns only the current level and that
 * choice.
 */
#ifndef IPOP_LOG_H
#define IPOP_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The level names, most severe first, as help texts and errors show them. */
#define IPOP_LOG_LEVELS "error|critical|warning|message|info|debug"

/* Installs the writer; prefix names the program in each line.  Decides
 * here whether stderr is journald's stream.  A later call changes prefix,
 * domain and that choice (the writer stays). */
void ipop_log_init(const char *prefix, const char *own_domain);
/* True if ipop_log_init found stderr to be journald's stream. */
bool ipop_log_to_journal(void);
/* Sets the level by name (one of IPOP_LOG_LEVELS); false for an unknown
 * name, which changes nothing. */
bool ipop_log_set_level(const char *name);
/* True if name is one of IPOP_LOG_LEVELS. */
bool ipop_log_level_is_valid(const char *name);
/* The current level's name. */
const char *ipop_log_level(void);
/* Moves the level delta steps towards debug (positive) or towards warning
 * (negative; warning is the floor, debug the ceiling), logs "log level now
 * LEVEL (why)" whatever the new level, and returns the new level's name.
 * For signal handlers run from the main loop (not async-signal-safe). */
const char *ipop_log_step(int delta, const char *why);

enum {
	IPOP_LOG_STR_LEN = 256, /* IPOP_LOG_STR's buffer: at most 255 bytes */
	IPOP_LOG_STR_MIN = 48,	/* the least len ipop_log_str accepts */
	IPOP_LOG_LINE_MAX = 16 * 1024, /* a message longer is cut */
};

/* A string that came from outside (a client, a peer, the network), made
 * safe to log: control bytes (C0, DEL) as \xNN, a backslash as \\, valid
 * UTF-8 kept except C1 controls, line/paragraph separators and bidi
 * controls, which become \u{XXXX}; bytes that are not UTF-8 as \xNN.  At
 * most len - 1 bytes: a longer result is cut at a character boundary and
 * ends in "…(N bytes)", N the input's length.  NULL reads as "(null)".
 * Writes into buf (len >= IPOP_LOG_STR_MIN) and returns it. */
const char *ipop_log_str(const char *s, char *buf, size_t len);
/* The writer's last step: msg as one line of at most IPOP_LOG_LINE_MAX
 * bytes plus a "…(N bytes)" marker, control bytes but tab as \xNN; NULL if
 * msg is such a line already, else a new string for the caller to free. */
char *ipop_log_one_line(const char *msg);
/* A budget of log lines a second for events that outsiders can trigger at
 * will (a stranger's signals, say), so they cannot flood the log.  Zero it
 * before first use. */
struct ipop_log_budget {
	int64_t second; /* the monotonic second being counted */
	unsigned used;	/* events logged in it */
	unsigned held;	/* events not logged since the last one that was */
};
/* True if one more event may be logged this second (at most max): *held
 * then gets the number of events left unlogged before it, for the caller
 * to mention.  False (and counted) once the second's budget is spent. */
bool ipop_log_budget_take(struct ipop_log_budget *b, unsigned max,
			  unsigned *held);
/* ipop_log_str into a buffer that lives until the end of the enclosing
 * block, for use right inside a log call's arguments. */
#define IPOP_LOG_STR(s)                                                        \
	ipop_log_str((s), (char[IPOP_LOG_STR_LEN]){0}, IPOP_LOG_STR_LEN)

#endif
