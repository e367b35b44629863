/*
 * Small blocking I/O helpers for files and descriptors: whole writes,
 * bounded whole reads, and the rule for secret files (a regular file that
 * neither group nor others may access).  Nothing here logs; callers say
 * what failed and where.
 */
#ifndef IPOP_IO_H
#define IPOP_IO_H

#include <stddef.h>
#include <sys/types.h>

/* Writes all len bytes, retrying short writes and EINTR: 0 or -errno. */
int ipop_write_all(int fd, const void *buf, size_t len);
/* Reads to end of file into buf: 0 with *len bytes read, -EFBIG when there
 * are more than max bytes (buf holds max + 1 of them: size it so), or
 * -errno. */
int ipop_read_all(int fd, void *buf, size_t max, size_t *len);
/* Checks an open secret file: 0, -EINVAL if it is not a regular file,
 * -EPERM if group or others have any access (*mode gets the mode bits),
 * -EACCES if it belongs to a user other than the effective one and root,
 * or -errno from fstat. */
int ipop_secret_fd_check(int fd, mode_t *mode);

#endif
