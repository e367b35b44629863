/*
 * The helpers of io.h, over plain POSIX calls.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/io.h"

int ipop_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int ipop_read_all(int fd, void *buf, size_t max, size_t *len)
{
	uint8_t *p = buf;
	ssize_t n;

	*len = 0;
	do {
		n = read(fd, p + *len, max + 1 - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		*len += (size_t)n;
	} while (n != 0 && *len <= max);
	return *len > max ? -EFBIG : 0;
}

int ipop_secret_fd_check(int fd, mode_t *mode)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return -errno;
	if (mode != NULL)
		*mode = st.st_mode & 07777;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		return -EPERM;
	/* Whoever owns the file can change it (or swap a key in). */
	if (st.st_uid != geteuid() && st.st_uid != 0)
		return -EACCES;
	return 0;
}
