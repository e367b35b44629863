/*
 * The metrics listener of metrics_http.h.  One exchange per connection:
 * read a request (bounded in size and time), answer, shut the sending side
 * and drain what the client still sends until it closes (so the answer is
 * not cut by a reset), then close.  Nothing here blocks: every socket is
 * non-blocking and watched by the main loop at default priority, beside
 * the data path, never above it.
 */
#define G_LOG_DOMAIN "tincan"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>

#include "tincan/metrics_http.h"

enum { ACCEPTS_PER_WAKEUP = 16 };

/* The request parser (pure). */

static bool is_tchar(uint8_t c)
{
	return g_ascii_isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Offset just past the empty line that ends the headers, or 0. */
static size_t head_end(const uint8_t *b, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (b[i] != '\n')
			continue;
		if (i + 1 < len && b[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && b[i + 1] == '\r' && b[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* The length of the line at b (without its CR LF or LF), or -1 when no
 * line end is within len.  *next gets the offset of the next line. */
static ssize_t line_len(const uint8_t *b, size_t len, size_t *next)
{
	const uint8_t *nl = memchr(b, '\n', len);
	size_t n;

	if (!nl)
		return -1;
	n = (size_t)(nl - b);
	*next = n + 1;
	if (n > 0 && b[n - 1] == '\r')
		n--;
	return (ssize_t)n;
}

static bool has(const uint8_t *b, size_t len, const char *s)
{
	return len == strlen(s) && memcmp(b, s, len) == 0;
}

/* "METHOD SP TARGET SP HTTP/x.y": the status it earns, the target's
 * bounds in *t, *tlen. */
static enum tc_http_status request_line(const uint8_t *b, size_t len, size_t *t,
					size_t *tlen, bool *get)
{
	size_t m = 0, i, v;

	while (m < len && is_tchar(b[m]))
		m++;
	if (m == 0 || m >= len || b[m] != ' ')
		return TC_HTTP_BAD_REQUEST;
	*get = has(b, m, "GET");
	*t = i = m + 1;
	while (i < len && b[i] > 0x20 && b[i] < 0x7f)
		i++;
	*tlen = i - *t;
	if (*tlen == 0 || i >= len || b[i] != ' ')
		return TC_HTTP_BAD_REQUEST;
	v = i + 1;
	if (has(b + v, len - v, "HTTP/1.0") || has(b + v, len - v, "HTTP/1.1"))
		return TC_HTTP_OK;
	if (len - v == 8 && memcmp(b + v, "HTTP/", 5) == 0 &&
	    g_ascii_isdigit(b[v + 5]) && b[v + 6] == '.' &&
	    g_ascii_isdigit(b[v + 7]))
		return TC_HTTP_BAD_VERSION;
	return TC_HTTP_BAD_REQUEST;
}

/* "Name: value": a token, a colon, then visible bytes, spaces and tabs. */
static bool header_ok(const uint8_t *b, size_t len)
{
	size_t i = 0;

	while (i < len && is_tchar(b[i]))
		i++;
	if (i == 0 || i >= len || b[i] != ':')
		return false;
	for (i++; i < len; i++)
		if ((b[i] < 0x20 && b[i] != '\t') || b[i] == 0x7f)
			return false;
	return true;
}

static bool is_metrics_path(const uint8_t *t, size_t len)
{
	static const char path[] = "/metrics";
	size_t n = sizeof(path) - 1;

	return len >= n && memcmp(t, path, n) == 0 && (len == n || t[n] == '?');
}

enum tc_http_status tc_http_parse(const uint8_t *buf, size_t len)
{
	size_t end, off, next = 0, t = 0, tlen = 0;
	ssize_t n;
	bool get = false;
	enum tc_http_status st;

	n = line_len(buf, MIN(len, (size_t)TC_HTTP_MAX_REQUEST), &next);
	if (n < 0)
		return len >= TC_HTTP_MAX_REQUEST ? TC_HTTP_TOO_LARGE
						  : TC_HTTP_INCOMPLETE;
	/* A bad first line is answered at once. */
	st = request_line(buf, (size_t)n, &t, &tlen, &get);
	if (st != TC_HTTP_OK)
		return st;
	end = head_end(buf, MIN(len, (size_t)TC_HTTP_MAX_REQUEST));
	if (end == 0)
		return len >= TC_HTTP_MAX_REQUEST ? TC_HTTP_TOO_LARGE
						  : TC_HTTP_INCOMPLETE;
	for (off = next; off < end; off += next) {
		n = line_len(buf + off, end - off, &next);
		if (n <= 0)
			break; /* the empty line */
		if (!header_ok(buf + off, (size_t)n))
			return TC_HTTP_BAD_REQUEST;
	}
	if (!get)
		return TC_HTTP_BAD_METHOD;
	return is_metrics_path(buf + t, tlen) ? TC_HTTP_OK : TC_HTTP_NOT_FOUND;
}

const char *tc_http_reason(enum tc_http_status st)
{
	switch (st) {
	case TC_HTTP_OK:
		return "OK";
	case TC_HTTP_BAD_REQUEST:
		return "Bad Request";
	case TC_HTTP_NOT_FOUND:
		return "Not Found";
	case TC_HTTP_BAD_METHOD:
		return "Method Not Allowed";
	case TC_HTTP_TOO_LARGE:
		return "Request Header Fields Too Large";
	case TC_HTTP_UNAVAILABLE:
		return "Service Unavailable";
	case TC_HTTP_BAD_VERSION:
		return "HTTP Version Not Supported";
	default:
		return "Error";
	}
}

/* Addresses. */

static int bad_addr(const char *s, char *why, size_t why_len)
{
	g_snprintf(why, why_len,
		   "'%.*s' is not IPv4:PORT or [IPv6]:PORT (numeric, port "
		   "1-65535)",
		   TC_HTTP_MAX_ADDR, s);
	return -EINVAL;
}

static bool parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;

	if (!*s || strlen(s) > 5)
		return false;
	for (; *s; s++) {
		if (!g_ascii_isdigit(*s))
			return false;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v == 0 || v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

int tc_http_parse_addr(const char *s, struct sockaddr_storage *sa,
		       socklen_t *len, char *why, size_t why_len)
{
	char host[TC_HTTP_MAX_ADDR + 1];
	const char *colon, *port;
	struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
	uint16_t p;
	size_t hl;

	memset(sa, 0, sizeof(*sa));
	if (!s || strlen(s) > TC_HTTP_MAX_ADDR)
		return bad_addr(s ? s : "", why, why_len);
	if (s[0] == '[') {
		colon = strstr(s, "]:");
		if (!colon)
			return bad_addr(s, why, why_len);
		hl = (size_t)(colon - s - 1);
		port = colon + 2;
		memcpy(host, s + 1, hl);
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return bad_addr(s, why, why_len);
		hl = (size_t)(colon - s);
		port = colon + 1;
		memcpy(host, s, hl);
	}
	host[hl] = '\0';
	if (!parse_port(port, &p))
		return bad_addr(s, why, why_len);
	if (s[0] != '[' && inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(p);
		*len = sizeof(*s4);
		return 0;
	}
	if (s[0] == '[' && inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(p);
		*len = sizeof(*s6);
		return 0;
	}
	return bad_addr(s, why, why_len);
}

bool tc_http_is_loopback(const struct sockaddr_storage *sa)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
	const uint8_t *a = s6->sin6_addr.s6_addr;

	if (sa->ss_family == AF_INET)
		return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	if (sa->ss_family != AF_INET6)
		return false;
	if (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
		return true;
	return IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) && a[12] == 127;
}

/* The server. */

struct tc_metrics_http {
	int fd;
	guint watch;
	GList *clients;
	unsigned n_clients;
	tc_http_render_fn render;
	void *ctx;
};

struct client {
	struct tc_metrics_http *h;
	int fd;
	guint watch, timer;
	bool draining; /* answered; reading until the client closes */
	uint8_t in[TC_HTTP_MAX_REQUEST];
	size_t in_len;
	GString *out;
	size_t sent;
};

static void client_free(struct client *cl)
{
	struct tc_metrics_http *h = cl->h;

	h->clients = g_list_remove(h->clients, cl);
	h->n_clients--;
	if (cl->watch)
		g_source_remove(cl->watch);
	if (cl->timer)
		g_source_remove(cl->timer);
	close(cl->fd);
	if (cl->out)
		g_string_free(cl->out, TRUE);
	g_free(cl);
}

static gboolean on_timeout(gpointer data)
{
	struct client *cl = data;

	g_debug("metrics: client timed out");
	cl->timer = 0;
	client_free(cl);
	return G_SOURCE_REMOVE;
}

/* The whole answer of status st (the exposition text for 200). */
static GString *answer(struct tc_metrics_http *h, enum tc_http_status st)
{
	GString *body = g_string_new(NULL), *out = g_string_new(NULL);

	if (st == TC_HTTP_OK)
		h->render(h->ctx, body);
	else
		g_string_printf(body,
				"%d %s: this listener serves only GET "
				"/metrics\n",
				st, tc_http_reason(st));
	g_string_printf(
	    out,
	    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\n%sConnection: close\r\n\r\n",
	    st, tc_http_reason(st),
	    st == TC_HTTP_OK ? "text/plain; version=0.0.4" : "text/plain",
	    body->len, st == TC_HTTP_BAD_METHOD ? "Allow: GET\r\n" : "");
	g_string_append_len(out, body->str, (gssize)body->len);
	g_string_free(body, TRUE);
	return out;
}

static gboolean on_io(gint fd, GIOCondition cond, gpointer data);

static void watch(struct client *cl, GIOCondition cond)
{
	if (cl->watch)
		g_source_remove(cl->watch);
	cl->watch = g_unix_fd_add(cl->fd, cond, on_io, cl);
}

/* Sends what is left; false when the client is gone (freed). */
static bool send_more(struct client *cl)
{
	ssize_t n;

	while (cl->sent < cl->out->len) {
		n = send(cl->fd, cl->out->str + cl->sent,
			 cl->out->len - cl->sent, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (n <= 0) {
			client_free(cl);
			return false;
		}
		cl->sent += (size_t)n;
	}
	shutdown(cl->fd, SHUT_WR);
	cl->draining = true;
	watch(cl, G_IO_IN);
	return true;
}

/* False when the client is gone (freed). */
static bool respond(struct client *cl, enum tc_http_status st)
{
	g_debug("metrics: answered %d", st);
	cl->out = answer(cl->h, st);
	if (!send_more(cl))
		return false;
	if (!cl->draining)
		watch(cl, G_IO_OUT);
	return true;
}

/* Reads; false when the client is gone (freed). */
static bool read_more(struct client *cl)
{
	uint8_t junk[512];
	ssize_t n;
	enum tc_http_status st;

	if (cl->draining) {
		n = recv(cl->fd, junk, sizeof(junk), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			client_free(cl);
			return false;
		}
		return true;
	}
	n = recv(cl->fd, cl->in + cl->in_len, sizeof(cl->in) - cl->in_len,
		 MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n <= 0) {
		client_free(cl);
		return false;
	}
	cl->in_len += (size_t)n;
	/* untrusted: from whoever reaches the listener */
	st = tc_http_parse(cl->in, cl->in_len);
	return st == TC_HTTP_INCOMPLETE || respond(cl, st);
}

static gboolean on_io(gint fd, GIOCondition cond, gpointer data)
{
	struct client *cl = data;
	guint self = cl->watch;
	bool alive;

	(void)fd;
	(void)cond;
	if (cl->out && !cl->draining)
		alive = send_more(cl);
	else
		alive = read_more(cl);
	/* Gone, or the watch was replaced (and this one removed). */
	if (!alive || cl->watch != self)
		return G_SOURCE_REMOVE;
	return G_SOURCE_CONTINUE;
}

static gboolean on_accept(gint fd, GIOCondition cond, gpointer data)
{
	struct tc_metrics_http *h = data;
	struct client *cl;
	int cfd, i;

	(void)cond;
	for (i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
		cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0)
			break;
		if (h->n_clients >= 2 * TC_HTTP_MAX_CLIENTS) {
			close(cfd);
			continue;
		}
		cl = g_new0(struct client, 1);
		cl->h = h;
		cl->fd = cfd;
		h->clients = g_list_prepend(h->clients, cl);
		h->n_clients++;
		cl->timer = g_timeout_add(TC_HTTP_TIMEOUT_MS, on_timeout, cl);
		/* Beyond the cap: 503 at once, through the same orderly
		 * close (a plain close with the request unread would reset
		 * the connection and lose the answer). */
		if (h->n_clients > TC_HTTP_MAX_CLIENTS) {
			g_debug("metrics: %u clients; answering 503",
				h->n_clients);
			respond(cl, TC_HTTP_UNAVAILABLE);
		} else {
			watch(cl, G_IO_IN);
		}
	}
	return G_SOURCE_CONTINUE;
}

static int listen_on(const struct sockaddr_storage *sa, socklen_t len)
{
	int fd, on = 1, r;

	fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -errno;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (sa->ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
				 sizeof(on));
	if (bind(fd, (const struct sockaddr *)sa, len) < 0 ||
	    listen(fd, 16) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

struct tc_metrics_http *tc_metrics_http_new(const char *addr,
					    tc_http_render_fn render, void *ctx)
{
	struct tc_metrics_http *h;
	struct sockaddr_storage sa;
	socklen_t len = 0;
	char why[160];
	int fd;

	if (tc_http_parse_addr(addr, &sa, &len, why, sizeof(why)) < 0) {
		g_critical("metrics: %s", why);
		return NULL;
	}
	fd = listen_on(&sa, len);
	if (fd < 0) {
		g_critical("metrics: cannot listen on %s: %s", addr,
			   g_strerror(-fd));
		return NULL;
	}
	if (!tc_http_is_loopback(&sa))
		g_warning("metrics: %s is not a loopback address: whoever "
			  "reaches it can read this node's metrics",
			  addr);
	h = g_new0(struct tc_metrics_http, 1);
	h->fd = fd;
	h->render = render;
	h->ctx = ctx;
	h->watch = g_unix_fd_add(fd, G_IO_IN, on_accept, h);
	g_message("metrics: serving http://%s/metrics", addr);
	return h;
}

void tc_metrics_http_free(struct tc_metrics_http *h)
{
	if (!h)
		return;
	while (h->clients)
		client_free(h->clients->data);
	g_source_remove(h->watch);
	close(h->fd);
	g_free(h);
}
