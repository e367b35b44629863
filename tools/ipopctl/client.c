/*
 * The client of client.h: one blocking Unix stream socket, the frame codec
 * of proto/frame.h, and poll-based waits bounded by --timeout.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <glib.h>

#include "tools/ipopctl/client.h"

static volatile sig_atomic_t interrupted;

static const char *status_name(Ipop__Status s)
{
	static const char *const names[] = {
	    "OK",	"BAD_REQUEST", "NOT_FOUND",	   "EXISTS",  "DENIED",
	    "INTERNAL", "UNSUPPORTED", "VERSION_MISMATCH", "TOO_BIG",
	};

	if ((unsigned)s < G_N_ELEMENTS(names))
		return names[s];
	return "UNKNOWN_STATUS";
}

int64_t client_deadline(int ms)
{
	if (ms <= 0)
		return 0;
	return g_get_monotonic_time() + (int64_t)ms * 1000;
}

static int64_t earlier(int64_t a, int64_t b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return a < b ? a : b;
}

void client_error(const char *fmt, ...)
{
	va_list ap;

	fputs("ipopctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Reads one envelope before deadline (0: none).  1 with *out set, 0 when the
 * deadline passed, or -CTL_CONN after saying why. */
int client_read(struct ctl *c, int64_t deadline, Ipop__Envelope **out)
{
	int64_t left;
	int ms, r;

	for (;;) {
		ms = -1;
		if (deadline != 0) {
			left = deadline - g_get_monotonic_time();
			if (left <= 0)
				return 0;
			ms = (int)MIN((left + 999) / 1000, INT_MAX);
		}
		/* untrusted: envelopes from the socket, decoded by frame.c */
		r = ipop_frame_read(c->fd, c->rd, out, ms);
		if (r == 1)
			return 1;
		if (r == -ETIMEDOUT)
			continue;
		if (r == -EINTR) {
			if (interrupted)
				return 0;
			continue;
		}
		if (r == 0) {
			c->eof = true;
			if (!c->eof_ok)
				client_error("%s: connection closed by tincan",
					     c->socket_path);
		} else if (r == -EMSGSIZE || r == -EBADMSG || r == -EPROTO) {
			client_error("%s: protocol error: %s", c->socket_path,
				     g_strerror(-r));
		} else {
			client_error("%s: connection lost: %s", c->socket_path,
				     g_strerror(-r));
		}
		return -CTL_CONN;
	}
}

/* Sends req (borrowed) in a new envelope; *id gets its request id. */
static int send_request(struct ctl *c, Ipop__Request *req, uint64_t *id)
{
	Ipop__Envelope env;
	int r;

	ipop__envelope__init(&env);
	env.version = IPOP_PROTOCOL_VERSION;
	env.request_id = c->next_id++;
	env.body_case = IPOP__ENVELOPE__BODY_REQUEST;
	env.request = req;
	r = ipop_frame_write(c->fd, &env);
	if (r < 0)
		return conn_err("%s: send failed: %s", c->socket_path,
				g_strerror(-r));
	*id = env.request_id;
	return CTL_OK;
}

/* Waits for the response to id, passing events to c->on_event.  A response
 * with request id 0 is tincan refusing something it could not attribute,
 * so it counts too.  1 with *out set, 0 at the deadline, or -CTL_CONN. */
static int await_response(struct ctl *c, uint64_t id, int64_t deadline,
			  Ipop__Envelope **out)
{
	Ipop__Envelope *env;
	int r;

	for (;;) {
		r = client_read(c, deadline, &env);
		if (r <= 0)
			return r;
		if (env->body_case == IPOP__ENVELOPE__BODY_RESPONSE &&
		    env->response != NULL &&
		    (env->request_id == id || env->request_id == 0)) {
			*out = env;
			return 1;
		}
		if (env->body_case == IPOP__ENVELOPE__BODY_EVENT &&
		    env->event != NULL && c->on_event != NULL)
			c->on_event(c, env->event);
		ipop__envelope__free_unpacked(env, NULL);
	}
}

/* CTL_OK for an OK response, else prints "ipopctl: STATUS: message" and
 * returns CTL_FAIL (CTL_CONN for a version mismatch); control characters
 * in tincan's message become spaces so it stays one line. */
static int response_status(const Ipop__Response *r)
{
	char *msg, *p;

	if (r->status == IPOP__STATUS__OK)
		return CTL_OK;
	msg = g_strdup(r->message != NULL && r->message[0] ? r->message
							   : "(no message)");
	for (p = msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	fprintf(stderr, "ipopctl: %s: %s\n", status_name(r->status), msg);
	g_free(msg);
	/* Not speaking the same protocol is a protocol error, not a refusal. */
	if (r->status == IPOP__STATUS__VERSION_MISMATCH)
		return CTL_CONN;
	return CTL_FAIL;
}

/* Sends req and waits until deadline for its response: *out is set only
 * for an OK response carrying want (or any result for NOT_SET). */
int client_call(struct ctl *c, Ipop__Request *req, int64_t deadline,
		Ipop__Response__ResultCase want, Ipop__Envelope **out)
{
	uint64_t id;
	int r;

	*out = NULL;
	r = send_request(c, req, &id);
	if (r != CTL_OK)
		return r;
	r = await_response(c, id, deadline, out);
	if (r <= 0)
		return r < 0 ? CTL_CONN : CTL_OK;
	r = response_status((*out)->response);
	if (r != CTL_OK || (want != IPOP__RESPONSE__RESULT__NOT_SET &&
			    (*out)->response->result_case != want)) {
		ipop__envelope__free_unpacked(*out, NULL);
		*out = NULL;
	}
	return r;
}

/* Sends req and waits (one --timeout) for its response.  CTL_OK with *out
 * set (free with ipop__envelope__free_unpacked), CTL_FAIL after printing an
 * error status, CTL_CONN on connection trouble or timeout. */
int client_transact(struct ctl *c, Ipop__Request *req, Ipop__Envelope **out)
{
	int r = client_call(c, req, client_deadline(c->timeout_ms),
			    IPOP__RESPONSE__RESULT__NOT_SET, out);

	if (r == CTL_OK && *out == NULL)
		return conn_err("%s: no reply within %d ms", c->socket_path,
				c->timeout_ms);
	return r;
}

/* client_transact, then a protocol error unless the result is want. */
int client_expect(struct ctl *c, Ipop__Request *req,
		  Ipop__Response__ResultCase want, const char *req_name,
		  const char *result_name, Ipop__Envelope **out)
{
	int r = client_transact(c, req, out);

	if (r == CTL_OK && (*out)->response->result_case != want) {
		ipop__envelope__free_unpacked(*out, NULL);
		*out = NULL;
		r = conn_err("%s: protocol error: %s answered without a %s",
			     c->socket_path, req_name, result_name);
	}
	return r;
}

static int connect_socket(struct ctl *c)
{
	struct sockaddr_un sa;
	struct timeval tv;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, c->socket_path, strlen(c->socket_path) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return conn_err("socket: %s", strerror(errno));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return conn_err("cannot connect to %s: %s", c->socket_path,
				strerror(errno));
	/* A daemon that stops reading must not hang us in write(). */
	if (c->timeout_ms > 0) {
		tv.tv_sec = c->timeout_ms / 1000;
		tv.tv_usec = (c->timeout_ms % 1000) * 1000;
		setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	return CTL_OK;
}

/* Connects and says Hello with the command's role. */
int client_open(struct ctl *c)
{
	static char client_name[] = "ipopctl";
	Ipop__Request req;
	Ipop__Hello hello;
	Ipop__Envelope *env = NULL;
	int r;

	r = connect_socket(c);
	if (r != CTL_OK)
		return r;
	c->rd = ipop_frame_reader_new();
	ipop__hello__init(&hello);
	hello.protocol_version = IPOP_PROTOCOL_VERSION;
	hello.role = c->cmd->role;
	hello.client_name = client_name;
	ipop__request__init(&req);
	req.kind_case = IPOP__REQUEST__KIND_HELLO;
	req.hello = &hello;
	r = client_expect(c, &req, IPOP__RESPONSE__RESULT_HELLO, "Hello",
			  "HelloReply", &env);
	if (env != NULL)
		ipop__envelope__free_unpacked(env, NULL);
	return r;
}

void client_close(struct ctl *c)
{
	ipop_frame_reader_free(c->rd);
	c->rd = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* Connects, sends req, checks the status, discards the reply. */
int client_request(struct ctl *c, Ipop__Request *req)
{
	Ipop__Envelope *env = NULL;
	int r;

	r = client_open(c);
	if (r != CTL_OK)
		return r;
	r = client_transact(c, req, &env);
	if (env != NULL)
		ipop__envelope__free_unpacked(env, NULL);
	return r;
}

/* Lets events arrive for ms milliseconds (or until the deadline). */
int client_pump(struct ctl *c, int ms, int64_t deadline)
{
	Ipop__Envelope *env;
	int64_t until = earlier(client_deadline(ms), deadline);
	int r;

	while ((r = client_read(c, until, &env)) == 1) {
		if (env->body_case == IPOP__ENVELOPE__BODY_EVENT &&
		    env->event != NULL && c->on_event != NULL)
			c->on_event(c, env->event);
		ipop__envelope__free_unpacked(env, NULL);
		if (c->ev_done)
			break;
	}
	return r < 0 ? CTL_CONN : CTL_OK;
}

static void on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

void client_catch_interrupts(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt; /* no SA_RESTART: poll must wake */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

bool client_interrupted(void)
{
	return interrupted != 0;
}
