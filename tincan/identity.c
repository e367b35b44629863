/*
 * Node identity: loads or creates the X25519 static key of this tincan in
 * STATE_DIR/identity.key and derives the public key and the uid from it.
 * The key file holds exactly the 32 raw bytes of the private key, mode 0600;
 * a file of any other size or with group/other permission bits is refused,
 * never repaired, so an operator notices a copied or tampered key.  This
 * module does not use the key for anything (see noise.c).
 */
#define G_LOG_DOMAIN "tincan"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <sodium.h>

#include "common/io.h"
#include "tincan/identity.h"

#define KEY_FILE "identity.key"

static struct tc_identity *identity_alloc(void)
{
	struct tc_identity *id;

	if (sodium_init() < 0) {
		g_critical("libsodium failed to initialise");
		errno = EIO;
		return NULL;
	}
	id = g_new0(struct tc_identity, 1);
	id->priv = sodium_malloc(IPOP_KEY_LEN);
	if (id->priv == NULL) {
		g_free(id);
		errno = ENOMEM;
		return NULL;
	}
	return id;
}

/* Fills pub and uid from priv; -EINVAL for a key whose public key is the
 * all-zero point (a low-order scalar, never produced by a real key). */
static int identity_derive(struct tc_identity *id)
{
	if (crypto_scalarmult_base(id->pub, id->priv) != 0)
		return -EINVAL;
	ipop_uid_from_key(id->pub, id->uid);
	return 0;
}

void tc_identity_free(struct tc_identity *id)
{
	if (id == NULL)
		return;
	if (id->priv != NULL) {
		sodium_memzero(id->priv, IPOP_KEY_LEN);
		sodium_free(id->priv);
	}
	sodium_memzero(id, sizeof(*id));
	g_free(id);
}

struct tc_identity *tc_identity_generate(void)
{
	struct tc_identity *id = identity_alloc();

	if (id == NULL)
		return NULL;
	do {
		randombytes_buf(id->priv, IPOP_KEY_LEN);
	} while (identity_derive(id) != 0);
	return id;
}

/* Checks that the open key file is a private regular file of the right size. */
static int check_key_file(int fd, const char *path)
{
	struct stat st;
	mode_t mode = 0;
	int r = ipop_secret_fd_check(fd, &mode);

	if (r == -EINVAL)
		g_critical("identity: %s is not a regular file; refusing it",
			   path);
	else if (r == -EPERM)
		g_critical("identity: %s has mode %04o, looser than 0600; "
			   "refusing it (fix the mode or remove the file)",
			   path, (unsigned)mode);
	else if (r == -EACCES)
		g_critical("identity: %s belongs to another user; refusing it",
			   path);
	else if (r < 0)
		g_critical("identity: cannot stat %s: %s", path,
			   g_strerror(-r));
	if (r < 0)
		return r;
	if (fstat(fd, &st) == 0 && st.st_size != IPOP_KEY_LEN) {
		g_critical("identity: %s holds %lld bytes, not %d; refusing it",
			   path, (long long)st.st_size, IPOP_KEY_LEN);
		return -EINVAL;
	}
	return 0;
}

/* Reads exactly IPOP_KEY_LEN bytes into priv: a short file or trailing
 * bytes are -EINVAL. */
static int read_key(int fd, uint8_t *priv)
{
	uint8_t buf[IPOP_KEY_LEN + 1];
	size_t len = 0;
	int r = ipop_read_all(fd, buf, IPOP_KEY_LEN, &len);

	if (r == 0 && len != IPOP_KEY_LEN)
		r = -EINVAL;
	else if (r == -EFBIG)
		r = -EINVAL;
	if (r == 0)
		memcpy(priv, buf, IPOP_KEY_LEN);
	sodium_memzero(buf, sizeof(buf));
	return r;
}

/* Reads the key at path into id; -ENOENT if there is none yet. */
static int load_key(struct tc_identity *id, const char *path)
{
	int fd, r;

	/* Non-blocking, so a FIFO in place of the key is refused by the
	 * check below instead of hanging the start-up in open(). */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		if (r != -ENOENT)
			g_critical("identity: cannot open %s: %s", path,
				   g_strerror(-r));
		return r;
	}
	r = check_key_file(fd, path);
	if (r == 0) {
		/* untrusted: key file on disk */
		r = read_key(fd, id->priv);
		if (r != 0)
			g_critical("identity: cannot read %s: %s", path,
				   g_strerror(-r));
	}
	if (r == 0 && identity_derive(id) != 0) {
		g_critical("identity: %s holds an invalid key", path);
		r = -EINVAL;
	}
	close(fd);
	return r;
}

/* Creates a new key at path; -EEXIST if another process got there first. */
static int create_key(struct tc_identity *id, const char *path)
{
	int fd, r;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0) {
		r = -errno;
		if (r != -EEXIST)
			g_critical("identity: cannot create %s: %s", path,
				   g_strerror(-r));
		return r;
	}
	do {
		randombytes_buf(id->priv, IPOP_KEY_LEN);
	} while (identity_derive(id) != 0);
	/* The umask may have narrowed 0600 further; never leave it wider. */
	if (fchmod(fd, 0600) != 0 ||
	    ipop_write_all(fd, id->priv, IPOP_KEY_LEN) != 0 || fsync(fd) != 0) {
		r = -errno;
		g_critical("identity: cannot write %s: %s", path,
			   g_strerror(-r));
		close(fd);
		unlink(path);
		return r;
	}
	close(fd);
	g_message("identity: created a new key in %s (uid %s)", path, id->uid);
	return 0;
}

/* Makes sure state_dir exists, creating it (and its parents) 0700. */
static int ensure_dir(const char *dir)
{
	struct stat st;

	if (g_file_test(dir, G_FILE_TEST_IS_DIR)) {
		/* Not refused (an operator's choice), but whoever may write
		 * the dir may remove or replace the key. */
		if (stat(dir, &st) == 0 && (st.st_mode & (S_IWGRP | S_IWOTH)))
			g_warning("identity: state dir %s is writable by group "
				  "or others (mode %04o): chmod 700 it",
				  dir, (unsigned)(st.st_mode & 07777));
		return 0;
	}
	if (g_mkdir_with_parents(dir, 0700) != 0) {
		int r = -errno;

		g_critical("identity: cannot create state dir %s: %s", dir,
			   g_strerror(-r));
		return r;
	}
	/* A restrictive umask must not leave the new dir unusable to us. */
	if (g_chmod(dir, 0700) != 0)
		g_warning("identity: cannot chmod state dir %s: %s", dir,
			  g_strerror(errno));
	return 0;
}

struct tc_identity *tc_identity_load(const char *state_dir)
{
	g_autofree char *path = NULL;
	struct tc_identity *id;
	int r;

	if (state_dir == NULL || *state_dir == '\0') {
		errno = EINVAL;
		return NULL;
	}
	r = ensure_dir(state_dir);
	if (r != 0)
		goto err;
	id = identity_alloc();
	if (id == NULL)
		return NULL;
	path = g_build_filename(state_dir, KEY_FILE, NULL);
	r = load_key(id, path);
	if (r == -ENOENT) {
		r = create_key(id, path);
		/* Lost a race with a second tincan starting: use its key. */
		if (r == -EEXIST)
			r = load_key(id, path);
	}
	if (r != 0) {
		tc_identity_free(id);
		goto err;
	}
	return id;
err:
	errno = -r;
	return NULL;
}
