/*
 * The events command: streams tincan's events as JSON lines until EOF, an
 * interrupt, or the reader of stdout going away.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

#include <glib.h>

#include "tools/ipopctl/client.h"
#include "tools/ipopctl/json.h"

/* Whether the reader of our stdout pipe has gone (so `events | head -1`
 * ends even when no further event would make a write fail). */
static bool stdout_gone(void)
{
	struct pollfd p = {.fd = STDOUT_FILENO, .events = 0};

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP)) != 0;
}

/* Streams events until EOF, an interrupt, or stdout going away. */
int cmd_events(struct ctl *c, struct args *a)
{
	Ipop__Envelope *env;
	int r;

	(void)a;
	r = client_open(c);
	if (r != CTL_OK)
		return r;
	c->eof_ok = true;
	client_catch_interrupts();
	while (!client_interrupted()) {
		r = client_read(c, client_deadline(500), &env);
		if (r < 0) /* EOF is the normal end of a stream */
			return c->eof ? CTL_OK : CTL_CONN;
		if (r == 0) {
			if (stdout_gone())
				return CTL_OK;
			continue;
		}
		if (env->body_case == IPOP__ENVELOPE__BODY_EVENT &&
		    env->event != NULL)
			json_event(env->event);
		ipop__envelope__free_unpacked(env, NULL);
		if (fflush(stdout) != 0)
			return errno == EPIPE ? CTL_OK : CTL_FAIL;
	}
	return CTL_OK;
}
