/*
 * ipopctl's side of the control socket: connecting, saying Hello with the
 * command's role, framed requests and the wait for their answers (events
 * that arrive meanwhile go to c->on_event), and the messages for
 * connection trouble.  It owns c->fd and c->rd between client_open and
 * client_close; what a request means is the command's business.
 * Return values are exit codes (CTL_OK, CTL_FAIL, CTL_CONN) unless said.
 */
#ifndef IPOPCTL_CLIENT_H
#define IPOPCTL_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "tools/ipopctl/ipopctl.h"

/* The monotonic time ms from now in microseconds; 0 (no deadline) for
 * ms <= 0. */
int64_t client_deadline(int ms);

/* Prints "ipopctl: MESSAGE" on stderr. */
void client_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* An expression: prints the message, evaluates to CTL_CONN. */
#define conn_err(...) (client_error(__VA_ARGS__), CTL_CONN)

/* Connects to c->socket_path and says Hello with c->cmd's role. */
int client_open(struct ctl *c);
/* Closes the connection, if any; safe to call twice. */
void client_close(struct ctl *c);

/* Reads one envelope before deadline (0: none).  1 with *out set (caller
 * frees it), 0 when the deadline passed or an interrupt came, or -CTL_CONN
 * after saying why. */
int client_read(struct ctl *c, int64_t deadline, Ipop__Envelope **out);
/* Sends req (borrowed) and waits until deadline (0: none) for its response.
 * CTL_OK with *out set (free with ipop__envelope__free_unpacked) for an OK
 * response whose result is want (IPOP__RESPONSE__RESULT__NOT_SET: any result);
 * CTL_OK with *out NULL at the deadline or for another result; CTL_FAIL
 * after printing an error status; CTL_CONN on connection trouble. */
int client_call(struct ctl *c, Ipop__Request *req, int64_t deadline,
		Ipop__Response__ResultCase want, Ipop__Envelope **out);
/* Sends req and waits (one --timeout) for its response.  CTL_OK with *out
 * set (free with ipop__envelope__free_unpacked), CTL_FAIL after printing an
 * error status, CTL_CONN on connection trouble or timeout. */
int client_transact(struct ctl *c, Ipop__Request *req, Ipop__Envelope **out);
/* client_transact for a request named req_name whose answer must carry the
 * result want, named result_name: else a protocol error (CTL_CONN). */
int client_expect(struct ctl *c, Ipop__Request *req,
		  Ipop__Response__ResultCase want, const char *req_name,
		  const char *result_name, Ipop__Envelope **out);
/* Connects, sends req, checks the status, discards the reply. */
int client_request(struct ctl *c, Ipop__Request *req);
/* Lets events arrive for ms milliseconds (or until the deadline, or until
 * c->on_event sets c->ev_done). */
int client_pump(struct ctl *c, int ms, int64_t deadline);

/* Makes SIGINT and SIGTERM end client_read's wait instead of the process. */
void client_catch_interrupts(void);
/* True once SIGINT or SIGTERM arrived after client_catch_interrupts. */
bool client_interrupted(void);

#endif
