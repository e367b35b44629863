/*
 * Replays inputs through a fuzz harness without libFuzzer: every file named
 * on the command line, and every regular file of every directory named,
 * goes once to LLVMFuzzerTestOneInput (in name order within a directory).
 * All arguments are opened before the first input runs, so a harness may
 * change its working directory.  A failing input aborts (assert, or a
 * sanitizer when built with one); at the end "N inputs" is printed and the
 * exit code is 0.  Built with gcc into $(BUILD)/fuzz-replay/<harness>.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long n_inputs;

/* Reads fd to its end into a malloc'd buffer; exits on error. */
static uint8_t *slurp(int fd, const char *name, size_t *len)
{
	size_t cap = 4096, n = 0;
	uint8_t *b = malloc(cap);
	ssize_t r;

	while (b != NULL) {
		if (n == cap) {
			uint8_t *nb = realloc(b, cap * 2);

			if (nb == NULL)
				break;
			b = nb;
			cap *= 2;
		}
		r = read(fd, b + n, cap - n);
		if (r == 0) {
			*len = n;
			return b;
		}
		if (r < 0 && errno != EINTR) {
			fprintf(stderr, "replay: %s: %s\n", name,
				strerror(errno));
			exit(2);
		}
		if (r > 0)
			n += (size_t)r;
	}
	fprintf(stderr, "replay: %s: out of memory\n", name);
	exit(2);
}

static void run_fd(int fd, const char *name)
{
	size_t len;
	uint8_t *b = slurp(fd, name, &len);

	/* libFuzzer hands over a buffer of exactly the input's size. */
	uint8_t *exact = malloc(len > 0 ? len : 1);

	if (exact == NULL)
		exit(2);
	memcpy(exact, b, len);
	free(b);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	n_inputs++;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_dir(int dfd, const char *name)
{
	DIR *d = fdopendir(dfd);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;

	if (d == NULL) {
		fprintf(stderr, "replay: %s: %s\n", name, strerror(errno));
		exit(2);
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = realloc(names, cap * sizeof(*names));
			if (names == NULL)
				exit(2);
		}
		if ((names[n++] = strdup(e->d_name)) == NULL)
			exit(2);
	}
	qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		int fd = openat(dirfd(d), names[i], O_RDONLY | O_CLOEXEC);

		if (fd < 0 || fstat(fd, &st) != 0) {
			fprintf(stderr, "replay: %s/%s: %s\n", name, names[i],
				strerror(errno));
			exit(2);
		}
		if (S_ISREG(st.st_mode))
			run_fd(fd, names[i]);
		close(fd);
		free(names[i]);
	}
	free(names);
	closedir(d);
}

int main(int argc, char **argv)
{
	int *fds;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	fds = calloc((size_t)argc, sizeof(*fds));
	if (fds == NULL)
		return 2;
	for (int i = 1; i < argc; i++) {
		fds[i] = open(argv[i], O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i],
				strerror(errno));
			return 2;
		}
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (fstat(fds[i], &st) != 0)
			return 2;
		if (S_ISDIR(st.st_mode))
			run_dir(fds[i], argv[i]);
		else
			run_fd(fds[i], argv[i]);
		if (!S_ISDIR(st.st_mode))
			close(fds[i]);
	}
	free(fds);
	printf("%lu inputs\n", n_inputs);
	return 0;
}
