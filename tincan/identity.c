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
	id->priv = sodium_malloc(TC_KEY_LEN);
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
	tc_uid_from_key(id->pub, id->uid);
	return 0;
}

void tc_identity_free(struct tc_identity *id)
{
	if (id == NULL)
		return;
	if (id->priv != NULL) {
		sodium_memzero(id->priv, TC_KEY_LEN);
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
		randombytes_buf(id->priv, TC_KEY_LEN);
	} while (identity_derive(id) != 0);
	return id;
}

void tc_uid_from_key(const uint8_t pub[TC_KEY_LEN],
		     char uid[TC_UID_HEX_LEN + 1])
{
	uint8_t h[TC_UID_BYTES];

	crypto_generichash(h, sizeof(h), pub, TC_KEY_LEN, NULL, 0);
	sodium_bin2hex(uid, TC_UID_HEX_LEN + 1, h, sizeof(h));
}

bool tc_uid_is_valid(const char *s)
{
	size_t i;

	if (s == NULL)
		return false;
	for (i = 0; i < TC_UID_HEX_LEN; i++) {
		if (!g_ascii_isdigit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	}
	return s[TC_UID_HEX_LEN] == '\0';
}

/* Reads exactly len bytes, failing on a short file or on trailing bytes. */
static int read_exact(int fd, uint8_t *buf, size_t len)
{
	size_t done = 0;
	uint8_t extra;
	ssize_t n;

	while (done < len) {
		n = read(fd, buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EINVAL;
		done += (size_t)n;
	}
	do {
		n = read(fd, &extra, 1);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == 0 ? 0 : -EINVAL;
}

/* Checks that the open key file is a private regular file of the right size. */
static int check_key_file(int fd, const char *path)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		g_critical("identity: cannot stat %s: %s", path,
			   g_strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		g_critical("identity: %s is not a regular file; refusing it",
			   path);
		return -EINVAL;
	}
	if ((st.st_mode & 077) != 0) {
		g_critical("identity: %s has mode %04o, looser than 0600; "
			   "refusing it (fix the mode or remove the file)",
			   path, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	if (st.st_size != TC_KEY_LEN) {
		g_critical("identity: %s holds %lld bytes, not %d; refusing it",
			   path, (long long)st.st_size, TC_KEY_LEN);
		return -EINVAL;
	}
	return 0;
}

/* Reads the key at path into id; -ENOENT if there is none yet. */
static int load_key(struct tc_identity *id, const char *path)
{
	int fd, r;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
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
		r = read_exact(fd, id->priv, TC_KEY_LEN);
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

static int write_all(int fd, const uint8_t *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
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
		randombytes_buf(id->priv, TC_KEY_LEN);
	} while (identity_derive(id) != 0);
	/* The umask may have narrowed 0600 further; never leave it wider. */
	if (fchmod(fd, 0600) != 0 || write_all(fd, id->priv, TC_KEY_LEN) != 0 ||
	    fsync(fd) != 0) {
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
	if (g_file_test(dir, G_FILE_TEST_IS_DIR))
		return 0;
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
