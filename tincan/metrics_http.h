/*
 * The metrics listener: a minimal HTTP/1.x server on the main loop that
 * answers GET /metrics with the exposition text and nothing else (404 for
 * another path, 405 for another method, 400/431/505 for what is not a
 * small HTTP/1.0 or 1.1 request).  Every socket is non-blocking; a client
 * gets TC_HTTP_TIMEOUT_MS for its whole exchange and TC_HTTP_MAX_REQUEST
 * bytes for its request; at most TC_HTTP_MAX_CLIENTS are served at once
 * (as many more get 503, the rest are closed unanswered).  Owns the listening
 * socket and its clients; the text comes from the caller's render function. The
 * request parser is a pure function, fuzzed by test/fuzz/fuzz_http.c.
 */
#ifndef TC_METRICS_HTTP_H
#define TC_METRICS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <glib.h>

enum {
	TC_HTTP_MAX_REQUEST = 4096, /* request line and headers */
	TC_HTTP_MAX_CLIENTS = 8,
	TC_HTTP_TIMEOUT_MS = 5000,
	TC_HTTP_MAX_ADDR = 64, /* "[IPv6]:PORT" */
};

/* What tc_http_parse found: 0 while the request is incomplete, else the
 * HTTP status to answer. */
enum tc_http_status {
	TC_HTTP_INCOMPLETE = 0,
	TC_HTTP_OK = 200,
	TC_HTTP_BAD_REQUEST = 400,
	TC_HTTP_NOT_FOUND = 404,
	TC_HTTP_BAD_METHOD = 405,
	TC_HTTP_TOO_LARGE = 431,
	TC_HTTP_UNAVAILABLE = 503,
	TC_HTTP_BAD_VERSION = 505,
};

/* untrusted: from whoever reaches the listener.  Looks at the first len
 * bytes received so far: TC_HTTP_INCOMPLETE until the empty line ending
 * the headers (CRLF or LF line ends) has arrived within
 * TC_HTTP_MAX_REQUEST bytes, then the answer: 200 only for GET of
 * /metrics (a query string allowed) in HTTP/1.0 or 1.1 with well-formed
 * header lines. */
enum tc_http_status tc_http_parse(const uint8_t *buf, size_t len);

/* The reason phrase of a status ("Not Found"). */
const char *tc_http_reason(enum tc_http_status st);

/* Parses "IPv4:PORT" or "[IPv6]:PORT" (numeric, port 1-65535) into sa.
 * 0, or -EINVAL with why filled. */
int tc_http_parse_addr(const char *s, struct sockaddr_storage *sa,
		       socklen_t *len, char *why, size_t why_len);
/* True for 127.0.0.0/8 and ::1 (and ::ffff:127.x). */
bool tc_http_is_loopback(const struct sockaddr_storage *sa);

/* Appends the exposition text to out. */
typedef void (*tc_http_render_fn)(void *ctx, GString *out);

struct tc_metrics_http;

/* Binds and listens on addr ("IP:PORT", see tc_http_parse_addr), warning
 * in the log when it is not a loopback address; borrows ctx.  NULL with a
 * logged reason. */
struct tc_metrics_http *
tc_metrics_http_new(const char *addr, tc_http_render_fn render, void *ctx);
/* Closes the listener and every client; NULL is a no-op. */
void tc_metrics_http_free(struct tc_metrics_http *h);

#endif
