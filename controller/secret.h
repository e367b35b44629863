/*
 * Secret files named by the configuration: the XMPP password file and a
 * group's secret file.  A secret file must be a regular file that neither
 * group nor others may access (common/io.h's rule) and of a bounded size;
 * its bytes are read into sodium_malloc memory and wiped after use.  Each
 * function returns 0, or -errno with *why set to a sentence naming the file
 * and what is wrong (never its contents); the caller frees *why.  This
 * module owns no state and knows nothing of YAML.
 */
#ifndef CTL_SECRET_H
#define CTL_SECRET_H

#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"

enum {
	CTL_SECRET_MIN = 16, /* bytes of a group secret file */
	CTL_SECRET_MAX = 64 * 1024,
	CTL_PASSWORD_MAX = 1024, /* bytes of a password file */
};

/* Reads the private file of min..max bytes: *buf gets sodium_malloc
 * memory of max + 1 bytes (the caller wipes it with sodium_free) holding
 * *len bytes. */
int ctl_secret_read(const char *file, size_t min, size_t max, uint8_t **buf,
		    size_t *len, char **why);
/* The password file: its first line, without its line end, non-empty and
 * the only one.  *password is g_malloc memory; the caller wipes and frees
 * it. */
int ctl_secret_read_password(const char *file, char **password, char **why);
/* A group secret file: psk gets the BLAKE2b hash of all its bytes. */
int ctl_secret_read_psk(const char *file, uint8_t psk[IPOP_PSK_LEN],
			char **why);

#endif
