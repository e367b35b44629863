/*
 * The control socket's listener: claims the socket path (never from a live
 * tincan), accepts connections from root, tincan's own user or its group,
 * admits them by tc_control_admit's rule (evicting the oldest pre-Hello
 * connection when that many wait) and closes those that say no Hello in
 * time, with one log line per burst.  Owns the listening fd and the sweep
 * timer; the clients it accepts belong to control.c from then on.
 */
#define G_LOG_DOMAIN "tincan"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib-unix.h>

#include "tincan/control_int.h"

/* Connections the kernel holds for accept(): a burst of connects waits
 * there instead of being refused while the loop catches up. */
enum { LISTEN_BACKLOG = 128 };

/* How often pre-Hello clients are checked against TC_CONTROL_HELLO_MS. */
enum { SWEEP_MS = 500 };

/* Whether gid is among the peer's supplementary groups (as they were at
 * its connect()): a user added to the socket's group may use the socket
 * without `sg`.  A kernel without SO_PEERGROUPS (before 4.13) says no. */
static bool in_peer_groups(int fd, gid_t gid)
{
	gid_t small[64], *groups = small;
	socklen_t len = sizeof(small);
	bool found = false;
	size_t i;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0) {
		if (errno != ERANGE || len == 0 ||
		    len > (socklen_t)(65536 * sizeof(gid_t)))
			return false;
		groups = g_malloc(len);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
			len = 0;
	}
	for (i = 0; i < len / sizeof(gid_t) && !found; i++)
		found = groups[i] == gid;
	if (groups != small)
		g_free(groups);
	return found;
}

/* root, tincan's own user, or a member of the socket's group (primary or
 * supplementary). */
static bool peer_allowed(struct tc_control *c, int fd, struct ucred *cred)
{
	socklen_t len = sizeof(*cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, &len) < 0)
		return false;
	if (cred->uid == 0 || cred->uid == geteuid())
		return true;
	return c->gid != (gid_t)-1 &&
	       (cred->gid == c->gid || in_peer_groups(fd, c->gid));
}

enum tc_control_admit tc_control_admit(unsigned pending, unsigned total,
				       bool privileged)
{
	if (pending >= TC_CONTROL_MAX_PENDING)
		return TC_ADMIT_EVICT;
	if (total < TC_CONTROL_MAX_CLIENTS)
		return TC_ADMIT_ACCEPT;
	if (pending > 0)
		return TC_ADMIT_EVICT;
	if (privileged && total < TC_CONTROL_MAX_CLIENTS + TC_CONTROL_RESERVED)
		return TC_ADMIT_ACCEPT;
	return TC_ADMIT_REFUSE;
}

/* One line for a burst of evictions, deadline drops and refusals, at most
 * every BURST_LOG_US: a flood of connections must not flood the log. */
enum { BURST_LOG_US = 1000 * 1000 };

static void log_burst(struct tc_control *c, bool force)
{
	gint64 now = g_get_monotonic_time();

	if (!c->evicted && !c->late && !c->refused)
		return;
	if (!force && now - c->burst_logged < BURST_LOG_US)
		return;
	g_warning("control: closed %u connections to make room and %u with "
		  "no Hello within %d ms; refused %u (at most %d before "
		  "Hello, %d clients)",
		  c->evicted, c->late, TC_CONTROL_HELLO_MS, c->refused,
		  TC_CONTROL_MAX_PENDING, TC_CONTROL_MAX_CLIENTS);
	c->evicted = c->late = c->refused = 0;
	c->burst_logged = now;
}

static unsigned count_pending(const struct tc_control *c)
{
	unsigned n = 0;
	GList *it;

	for (it = c->clients; it; it = it->next)
		n += ((struct client *)it->data)->role ==
		     IPOP__ROLE__ROLE_UNSPECIFIED;
	return n;
}

/* Closes the oldest pre-Hello client, an unprivileged one if any; a
 * privileged one only for a privileged newcomer, so nobody else can push
 * root's connection out before its Hello.  false if none may go. */
static bool evict_oldest(struct tc_control *c, bool privileged)
{
	struct client *victim = NULL, *cl;
	GList *it;

	for (it = g_list_last(c->clients); it; it = it->prev) {
		cl = it->data;
		if (cl->role != IPOP__ROLE__ROLE_UNSPECIFIED)
			continue;
		if (!cl->privileged) {
			victim = cl;
			break;
		}
		if (!victim && privileged)
			victim = cl;
	}
	if (!victim)
		return false;
	c->evicted++;
	g_debug("control: client %u (pid %d) closed before its Hello to make "
		"room",
		victim->id, (int)victim->pid);
	tc_control_client_free(victim);
	return true;
}

static gboolean on_sweep(gpointer data)
{
	struct tc_control *c = data;
	gint64 cut = g_get_monotonic_time() - TC_CONTROL_HELLO_MS * 1000;
	GList *it, *next;

	for (it = c->clients; it; it = next) {
		struct client *cl = it->data;
		next = it->next;
		if (cl->role == IPOP__ROLE__ROLE_UNSPECIFIED &&
		    cl->since < cut) {
			c->late++;
			tc_control_client_free(cl);
		}
	}
	log_burst(c, false);
	return G_SOURCE_CONTINUE;
}

/* Makes room for a new client per tc_control_admit; false to refuse. */
static bool admit(struct tc_control *c, const struct ucred *cred,
		  bool privileged)
{
	enum tc_control_admit a = tc_control_admit(
	    count_pending(c), g_list_length(c->clients), privileged);

	if (a == TC_ADMIT_ACCEPT)
		return true;
	/* Evicting fails when only root's connections wait: refuse. */
	if (a == TC_ADMIT_EVICT && evict_oldest(c, privileged)) {
		log_burst(c, false);
		return true;
	}
	c->refused++;
	g_debug("control: too many clients; refused pid %d", (int)cred->pid);
	log_burst(c, false);
	return false;
}

static gboolean on_accept(gint fd, GIOCondition cond, gpointer data)
{
	struct tc_control *c = data;
	struct client *cl;
	struct ucred cred;
	bool privileged;
	int cfd;

	(void)cond;
	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return G_SOURCE_CONTINUE;
	if (!peer_allowed(c, cfd, &cred)) {
		g_warning("control: refused connection from uid %u pid %d",
			  (unsigned)cred.uid, (int)cred.pid);
		close(cfd);
		return G_SOURCE_CONTINUE;
	}
	privileged = cred.uid == 0 || cred.uid == geteuid();
	if (!admit(c, &cred, privileged)) {
		close(cfd);
		return G_SOURCE_CONTINUE;
	}
	cl = g_new0(struct client, 1);
	cl->ctl = c;
	cl->id = ++c->next_id;
	cl->fd = cfd;
	cl->pid = cred.pid;
	cl->uid = cred.uid;
	cl->privileged = privileged;
	cl->since = g_get_monotonic_time();
	cl->reader = ipop_frame_reader_new();
	cl->out = g_byte_array_new();
	cl->in_watch = g_unix_fd_add_full(CONTROL_PRIORITY, cfd,
					  G_IO_IN | G_IO_HUP | G_IO_ERR,
					  tc_control_on_readable, cl, NULL);
	c->clients = g_list_prepend(c->clients, cl);
	g_debug("control: client %u connected (pid %d uid %u)", cl->id,
		(int)cred.pid, (unsigned)cred.uid);
	return G_SOURCE_CONTINUE;
}

/* Refuses to steal a socket another live tincan is serving. */
static int claim_path(const struct sockaddr_un *sa)
{
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int r;

	if (probe < 0)
		return -errno;
	r = connect(probe, (const struct sockaddr *)sa, sizeof(*sa));
	close(probe);
	if (r == 0)
		return -EADDRINUSE;
	if (unlink(sa->sun_path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int listen_on(const char *path, gid_t gid)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
	r = claim_path(&sa);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0660) < 0 ||
	    (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) < 0) ||
	    listen(fd, LISTEN_BACKLOG) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

struct tc_control *tc_control_new(const char *path, gid_t gid,
				  const struct tc_control_handler *h)
{
	struct tc_control *c;
	int fd = listen_on(path, gid);

	if (fd < 0) {
		g_critical("control socket %s: %s", path,
			   fd == -EADDRINUSE ? "another tincan is serving it"
					     : g_strerror(-fd));
		return NULL;
	}
	c = g_new0(struct tc_control, 1);
	c->owners = tc_owners_new();
	c->path = g_strdup(path);
	c->fd = fd;
	c->gid = gid;
	c->h = h;
	c->watch = g_unix_fd_add_full(CONTROL_PRIORITY, fd, G_IO_IN, on_accept,
				      c, NULL);
	c->sweep =
	    g_timeout_add_full(CONTROL_PRIORITY, SWEEP_MS, on_sweep, c, NULL);
	g_message("control: listening on %s", path);
	return c;
}

void tc_control_free(struct tc_control *c)
{
	if (!c)
		return;
	while (c->clients)
		tc_control_client_free(c->clients->data);
	log_burst(c, true);
	g_source_remove(c->sweep);
	g_source_remove(c->watch);
	close(c->fd);
	unlink(c->path);
	tc_owners_free(c->owners);
	g_free(c->path);
	g_free(c);
}
