/*
 * The secret files of secret.h, over common/io.h's whole read and
 * secret-file check.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <sodium.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/io.h"
#include "controller/secret.h"

static int G_GNUC_PRINTF(3, 4) refuse(char **why, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	*why = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	return ret;
}

static int check_fd(const char *file, int fd, char **why)
{
	mode_t mode = 0;
	int ret = ipop_secret_fd_check(fd, &mode);

	if (ret == -EINVAL)
		return refuse(why, ret, "'%s' is not a regular file", file);
	if (ret == -EPERM)
		return refuse(why, ret,
			      "'%s' is accessible by group or others (mode "
			      "%04o): run chmod 600 on it",
			      file, (unsigned)mode);
	if (ret == -EACCES)
		return refuse(why, ret,
			      "'%s' belongs to another user: it must be this "
			      "user's (or root's)",
			      file);
	if (ret < 0)
		return refuse(why, ret, "cannot stat '%s': %s", file,
			      g_strerror(-ret));
	return 0;
}

/* Reads the open, checked file into a new secure buffer. */
static int read_fd(const char *file, int fd, size_t min, size_t max,
		   uint8_t **buf, size_t *len, char **why)
{
	uint8_t *b = sodium_malloc(max + 1);
	int ret;

	if (b == NULL)
		return refuse(why, -ENOMEM, "out of memory");
	ret = ipop_read_all(fd, b, max, len);
	if (ret == -EFBIG)
		refuse(why, ret, "cannot read '%s': too large", file);
	else if (ret < 0)
		refuse(why, ret, "cannot read '%s': %s", file,
		       g_strerror(-ret));
	else if (*len < min)
		ret = refuse(why, -EINVAL,
			     "'%s' is too short (%zu bytes, at least %zu)",
			     file, *len, min);
	if (ret < 0) {
		sodium_free(b);
		return ret;
	}
	*buf = b;
	return 0;
}

int ctl_secret_read(const char *file, size_t min, size_t max, uint8_t **buf,
		    size_t *len, char **why)
{
	int fd, ret;

	if (sodium_init() < 0)
		return refuse(why, -ENOMEM, "libsodium failed to initialise");
	/* untrusted: the file's bytes are taken as they are */
	/* Non-blocking, so a FIFO is refused by check_fd instead of
	 * waited on for ever. */
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return refuse(why, -errno, "cannot open '%s': %s", file,
			      g_strerror(errno));
	ret = check_fd(file, fd, why);
	if (ret == 0)
		ret = read_fd(file, fd, min, max, buf, len, why);
	close(fd);
	return ret;
}

int ctl_secret_read_password(const char *file, char **password, char **why)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int ret;

	ret = ctl_secret_read(file, 1, CTL_PASSWORD_MAX, &buf, &len, why);
	if (ret < 0)
		return ret;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (len == 0 || memchr(buf, '\0', len) || memchr(buf, '\n', len)) {
		sodium_free(buf);
		return refuse(why, -EINVAL,
			      "the password file must hold one non-empty line");
	}
	*password = g_strndup((const char *)buf, len);
	sodium_free(buf);
	return 0;
}

int ctl_secret_read_psk(const char *file, uint8_t psk[IPOP_PSK_LEN], char **why)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int ret;

	ret = ctl_secret_read(file, CTL_SECRET_MIN, CTL_SECRET_MAX, &buf, &len,
			      why);
	if (ret < 0)
		return ret;
	crypto_generichash(psk, IPOP_PSK_LEN, buf, len, NULL, 0);
	sodium_free(buf);
	return 0;
}
