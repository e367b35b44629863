/*
 * ipopctl: the command-line client of tincan's control socket.  One run
 * parses and validates one command (every user input is checked before the
 * socket is touched), connects to the Unix socket, says Hello (OBSERVER for
 * queries, CONTROLLER for changes), sends the request and prints the answer
 * as aligned tables or, with --json, as JSON.  It keeps no state between runs
 * and owns no policy: what each message means is tincan's business (see
 * proto/PROTOCOL.md); the command line itself is fixed by notes/cli.md.
 * Exit codes: 0 ok, 1 the request failed, 2 usage error, 3 cannot connect,
 * protocol error or timeout.  Everything allocated is freed on every path.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <glib.h>
#include <sodium.h>

#include "proto/frame.h"
#include "proto/ipop.pb-c.h"

enum {
	CTL_OK = 0,
	CTL_FAIL = 1,  /* tincan answered with an error status */
	CTL_USAGE = 2, /* bad command line, nothing was sent */
	CTL_CONN = 3,  /* cannot connect, protocol error or timeout */
};

enum {
	KEY_LEN = 32,
	UID_LEN = 40,
	MAC_LEN = 6,
	DEFAULT_TIMEOUT_MS = 5000,
	MAX_TIMEOUT_MS = 24 * 3600 * 1000,
	POLL_MS = 100, /* wait-link and candidates re-ask this often */
	OVERLAY_NAME_MAX = 64,
	IFNAME_MAX = 15, /* IFNAMSIZ - 1 */
	PSK_FILE_MAX = 256,
	JSON_DEPTH = 16,
};

#define DEFAULT_SOCKET "/run/ipop/tincan.sock"

struct ctl;

/* Command-line values; strings are borrowed from argv. */
struct args {
	char **pos;
	int npos;
	char *tap, *ipv4, *ipv6, *mtu, *mode, *psk_file, *mac, *peer_ipv4;
	char *bridge, *label;
	bool remove, translation;
	GPtrArray *stun; /* char * from argv, not owned */
	GPtrArray *turn;
};

struct command {
	const char *name;
	Ipop__Role role;
	int (*run)(struct ctl *c, struct args *a);
	int min_pos, max_pos; /* max_pos < 0: any number */
	const char *opts;     /* accepted options, " name " separated */
	const char *synopsis;
	const char *help;
};

typedef void (*event_fn)(struct ctl *c, const Ipop__Event *ev);

struct ctl {
	const char *socket_path;
	bool json;
	bool eof_ok; /* EOF ends the command quietly (events) */
	bool eof;
	int timeout_ms; /* per reply; 0 = no limit */
	const struct command *cmd;
	int fd;
	struct ipop_frame_reader *rd;
	uint64_t next_id;
	event_fn on_event; /* events seen while waiting for a reply */
	void *ev_arg;
	bool ev_done; /* set by on_event: stop waiting */
};

static volatile sig_atomic_t interrupted;

/* ---------- small string and JSON helpers ---------- */

struct json {
	GString *s;
	unsigned depth;
	bool first[JSON_DEPTH];
};

/* Appends v as a JSON string: quotes, backslash and control characters are
 * escaped; bytes >= 0x80 pass through, so UTF-8 stays UTF-8. */
static void json_escape(GString *s, const char *v)
{
	const unsigned char *p;

	g_string_append_c(s, '"');
	for (p = (const unsigned char *)v; *p != '\0'; p++) {
		switch (*p) {
		case '"':
			g_string_append(s, "\\\"");
			break;
		case '\\':
			g_string_append(s, "\\\\");
			break;
		case '\b':
			g_string_append(s, "\\b");
			break;
		case '\f':
			g_string_append(s, "\\f");
			break;
		case '\n':
			g_string_append(s, "\\n");
			break;
		case '\r':
			g_string_append(s, "\\r");
			break;
		case '\t':
			g_string_append(s, "\\t");
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				g_string_append_printf(s, "\\u%04x", *p);
			else
				g_string_append_c(s, (char)*p);
		}
	}
	g_string_append_c(s, '"');
}

/* Writes the separator and, inside an object, the key of the next value. */
static void json_sep(struct json *j, const char *key)
{
	if (j->depth > 0) {
		if (!j->first[j->depth - 1])
			g_string_append_c(j->s, ',');
		j->first[j->depth - 1] = false;
	}
	if (key != NULL) {
		json_escape(j->s, key);
		g_string_append_c(j->s, ':');
	}
}

static void json_open(struct json *j, const char *key, char bracket)
{
	json_sep(j, key);
	g_string_append_c(j->s, bracket);
	g_assert(j->depth < JSON_DEPTH);
	j->first[j->depth++] = true;
}

static void json_close(struct json *j, char bracket)
{
	g_assert(j->depth > 0);
	j->depth--;
	g_string_append_c(j->s, bracket);
}

/* v NULL or empty writes null: the JSON shapes use null for "not set". */
static void json_str(struct json *j, const char *key, const char *v)
{
	json_sep(j, key);
	if (v == NULL || v[0] == '\0')
		g_string_append(j->s, "null");
	else
		json_escape(j->s, v);
}

static void json_u64(struct json *j, const char *key, uint64_t v)
{
	json_sep(j, key);
	g_string_append_printf(j->s, "%" PRIu64, v);
}

static void json_bool(struct json *j, const char *key, bool v)
{
	json_sep(j, key);
	g_string_append(j->s, v ? "true" : "false");
}

static void json_init(struct json *j)
{
	j->s = g_string_new(NULL);
	j->depth = 0;
}

/* Prints the document as one line and frees it. */
static void json_emit(struct json *j)
{
	g_assert(j->depth == 0);
	g_string_append_c(j->s, '\n');
	fwrite(j->s->str, 1, j->s->len, stdout);
	g_string_free(j->s, TRUE);
	j->s = NULL;
}

/* "aa:bb:cc:dd:ee:ff" for any non-empty byte string, NULL when empty. */
static char *mac_str(const ProtobufCBinaryData *b)
{
	GString *s;
	size_t i;

	if (b->len == 0)
		return NULL;
	s = g_string_new(NULL);
	for (i = 0; i < b->len; i++)
		g_string_append_printf(s, "%s%02x", i ? ":" : "", b->data[i]);
	return g_string_free(s, FALSE);
}

/* "addr/prefix", or NULL when addr is empty. */
static char *cidr_str(const char *addr, uint32_t prefix)
{
	if (addr == NULL || addr[0] == '\0')
		return NULL;
	return g_strdup_printf("%s/%" PRIu32, addr, prefix);
}

static const char *mode_name(Ipop__OverlayMode m)
{
	switch (m) {
	case IPOP__OVERLAY_MODE__L3:
		return "l3";
	case IPOP__OVERLAY_MODE__SWITCH:
		return "switch";
	default:
		return NULL;
	}
}

static const char *status_name(Ipop__Status s)
{
	static const char *const names[] = {
	    "OK",     "BAD_REQUEST", "NOT_FOUND",   "EXISTS",
	    "DENIED", "INTERNAL",    "UNSUPPORTED", "VERSION_MISMATCH",
	};

	if ((unsigned)s < G_N_ELEMENTS(names))
		return names[s];
	return "UNKNOWN_STATUS";
}

/* ---------- human formatting ---------- */

static void fmt_bytes(char *buf, size_t n, uint64_t v)
{
	static const char *const unit[] = {"KiB", "MiB", "GiB",
					   "TiB", "PiB", "EiB"};
	double d;
	size_t i = 0;

	if (v < 1024) {
		snprintf(buf, n, "%" PRIu64 " B", v);
		return;
	}
	d = (double)v / 1024.0;
	while (d >= 1023.95 && i + 1 < G_N_ELEMENTS(unit)) {
		d /= 1024.0;
		i++;
	}
	snprintf(buf, n, "%.1f %s", d, unit[i]);
}

static void fmt_rtt(char *buf, size_t n, uint32_t us)
{
	if (us == 0)
		snprintf(buf, n, "-");
	else if (us < 1000)
		snprintf(buf, n, "%" PRIu32 " us", us);
	else if (us < 1000000)
		snprintf(buf, n, "%.1f ms", us / 1000.0);
	else
		snprintf(buf, n, "%.2f s", us / 1000000.0);
}

/* Time since a unix-ms timestamp, e.g. "42s", "3m 12s", "2h 5m", "4d 1h". */
static void fmt_ago(char *buf, size_t n, uint64_t unix_ms)
{
	int64_t now_ms = g_get_real_time() / 1000;
	uint64_t s;

	if (unix_ms == 0) {
		snprintf(buf, n, "never");
		return;
	}
	s = (uint64_t)now_ms > unix_ms ? ((uint64_t)now_ms - unix_ms) / 1000
				       : 0;
	if (s < 60)
		snprintf(buf, n, "%" PRIu64 "s", s);
	else if (s < 3600)
		snprintf(buf, n, "%" PRIu64 "m %" PRIu64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, n, "%" PRIu64 "h %" PRIu64 "m", s / 3600,
			 s / 60 % 60);
	else
		snprintf(buf, n, "%" PRIu64 "d %" PRIu64 "h", s / 86400,
			 s / 3600 % 24);
}

/* A left-aligned text table: cells are added row by row. */
struct table {
	guint ncols;
	GPtrArray *cells; /* owned strings, row-major */
};

static struct table *table_new(guint ncols)
{
	struct table *t = g_new0(struct table, 1);

	t->ncols = ncols;
	t->cells = g_ptr_array_new_with_free_func(g_free);
	return t;
}

static void table_free(struct table *t)
{
	if (t == NULL)
		return;
	g_ptr_array_free(t->cells, TRUE);
	g_free(t);
}

static void table_cellf(struct table *t, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);

static void table_cellf(struct table *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_ptr_array_add(t->cells, g_strdup_vprintf(fmt, ap));
	va_end(ap);
}

static size_t text_width(const char *s)
{
	if (g_utf8_validate(s, -1, NULL))
		return (size_t)g_utf8_strlen(s, -1);
	return strlen(s);
}

static void table_print(const struct table *t, const char *indent)
{
	size_t *w = g_new0(size_t, t->ncols);
	guint i;

	for (i = 0; i < t->cells->len; i++) {
		size_t cw = text_width(g_ptr_array_index(t->cells, i));

		if (cw > w[i % t->ncols])
			w[i % t->ncols] = cw;
	}
	for (i = 0; i < t->cells->len; i++) {
		const char *cell = g_ptr_array_index(t->cells, i);
		guint col = i % t->ncols;

		if (col == 0)
			fputs(indent, stdout);
		fputs(cell, stdout);
		if (col + 1 == t->ncols)
			fputc('\n', stdout);
		else
			printf("%*s", (int)(w[col] - text_width(cell) + 2), "");
	}
	g_free(w);
}

/* ---------- input validation (all before connecting) ---------- */

static void usage_msg(struct ctl *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Says what is wrong with the command line and how it is used. */
static void usage_msg(struct ctl *c, const char *fmt, ...)
{
	va_list ap;

	fputs("ipopctl: ", stderr);
	if (c->cmd != NULL)
		fprintf(stderr, "%s: ", c->cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (c->cmd != NULL)
		fprintf(stderr, "usage: ipopctl [OPTIONS] %s%s%s\n",
			c->cmd->name, c->cmd->synopsis[0] ? " " : "",
			c->cmd->synopsis);
	fputs("Try 'ipopctl --help' for more information.\n", stderr);
}

/* An expression: prints the message, evaluates to CTL_USAGE. */
#define usage_err(c, ...) (usage_msg((c), __VA_ARGS__), CTL_USAGE)

static bool is_uid(const char *s)
{
	size_t i;

	for (i = 0; i < UID_LEN; i++)
		if (!g_ascii_isdigit(s[i]) && (s[i] < 'a' || s[i] > 'f'))
			return false;
	return s[UID_LEN] == '\0';
}

static int check_uid(struct ctl *c, const char *s)
{
	if (!is_uid(s))
		return usage_err(c,
				 "PEER_UID must be 40 lowercase hex digits,"
				 " got '%s'",
				 s);
	return 0;
}

/* Overlay names go into logs and tables: printable, no spaces, bounded. */
static int check_name(struct ctl *c, const char *what, const char *s,
		      size_t max)
{
	const unsigned char *p;
	size_t len = strlen(s);

	if (len == 0 || len > max)
		return usage_err(c, "%s must be 1 to %zu characters", what,
				 max);
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '/')
			return usage_err(c,
					 "%s '%s' contains a space, control"
					 " character or '/'",
					 what, s);
	return 0;
}

/* Strict base64: standard alphabet, length a multiple of 4, '=' only as
 * final padding.  GLib's decoder skips junk, so check before decoding. */
static bool is_base64(const char *s)
{
	size_t len = strlen(s), i, pad = 0;

	if (len == 0 || len % 4 != 0)
		return false;
	for (i = 0; i < len; i++) {
		char ch = s[i];

		if (ch == '=') {
			pad++;
			continue;
		}
		if (pad > 0)
			return false;
		if (!g_ascii_isalnum(ch) && ch != '+' && ch != '/')
			return false;
	}
	return pad <= 2;
}

/* Decodes strict base64 into a new buffer; NULL if s is not base64. */
static uint8_t *b64_decode(const char *s, size_t *len)
{
	if (!is_base64(s))
		return NULL;
	return g_base64_decode(s, len);
}

static int parse_key(struct ctl *c, const char *s, uint8_t key[KEY_LEN])
{
	size_t len = 0;
	uint8_t *raw = b64_decode(s, &len);

	if (raw == NULL || len != KEY_LEN) {
		g_free(raw);
		return usage_err(c,
				 "PEER_PUBKEY must be base64 of exactly %d"
				 " bytes (44 characters), got '%s'",
				 KEY_LEN, s);
	}
	memcpy(key, raw, KEY_LEN);
	g_free(raw);
	return 0;
}

static bool parse_ulong(const char *s, unsigned long min, unsigned long max,
			unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!g_ascii_isdigit(s[0]))
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* Checks an address literal and returns its canonical text (g_malloc'd). */
static char *canon_addr(int af, const char *s)
{
	unsigned char bin[sizeof(struct in6_addr)];
	char buf[INET6_ADDRSTRLEN];

	if (inet_pton(af, s, bin) != 1)
		return NULL;
	if (inet_ntop(af, bin, buf, sizeof(buf)) == NULL)
		return NULL;
	return g_strdup(buf);
}

/* "ADDR/P" with P in range for af; *addr gets the canonical address. */
static int parse_cidr(struct ctl *c, int af, const char *opt, const char *s,
		      char **addr, uint32_t *prefix)
{
	unsigned long max = af == AF_INET ? 32 : 128, p;
	const char *slash = strchr(s, '/');
	char *a;

	if (slash == NULL)
		return usage_err(c, "--%s '%s': expected %s/PREFIX", opt, s,
				 af == AF_INET ? "A.B.C.D" : "ADDR");
	if (!parse_ulong(slash + 1, 0, max, &p))
		return usage_err(c, "--%s '%s': prefix must be 0..%lu", opt, s,
				 max);
	a = g_strndup(s, (gsize)(slash - s));
	*addr = canon_addr(af, a);
	g_free(a);
	if (*addr == NULL)
		return usage_err(c, "--%s '%s': not an IPv%d address", opt, s,
				 af == AF_INET ? 4 : 6);
	*prefix = (uint32_t)p;
	return 0;
}

static int parse_plain_addr(struct ctl *c, int af, const char *opt,
			    const char *s, char **addr)
{
	*addr = canon_addr(af, s);
	if (*addr == NULL)
		return usage_err(c, "--%s '%s': not an IPv%d address", opt, s,
				 af == AF_INET ? 4 : 6);
	return 0;
}

/* "IP:PORT" or "[IPv6]:PORT"; *host gets the canonical address. */
static int parse_hostport(struct ctl *c, const char *opt, const char *s,
			  char **host, uint32_t *port)
{
	const char *colon, *hs = s, *he;
	unsigned long p;
	char *h;

	if (s[0] == '[') {
		hs = s + 1;
		he = strchr(hs, ']');
		colon = he != NULL && he[1] == ':' ? he + 1 : NULL;
	} else {
		colon = strrchr(s, ':');
		he = colon;
	}
	if (colon == NULL || he == NULL)
		return usage_err(c,
				 "--%s '%s': expected IP:PORT"
				 " ([IPv6]:PORT)",
				 opt, s);
	if (!parse_ulong(colon + 1, 1, 65535, &p))
		return usage_err(c, "--%s '%s': port must be 1..65535", opt, s);
	h = g_strndup(hs, (gsize)(he - hs));
	*host = canon_addr(strchr(h, ':') != NULL ? AF_INET6 : AF_INET, h);
	g_free(h);
	if (*host == NULL)
		return usage_err(c, "--%s '%s': not an IP address", opt, s);
	*port = (uint32_t)p;
	return 0;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = g_ascii_tolower(ch);
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

static int parse_mac(struct ctl *c, const char *s, uint8_t mac[MAC_LEN])
{
	size_t i;
	int hi, lo;

	if (strlen(s) != MAC_LEN * 3 - 1)
		goto bad;
	for (i = 0; i < MAC_LEN; i++) {
		hi = hexval(s[i * 3]);
		lo = hexval(s[i * 3 + 1]);
		if (hi < 0 || lo < 0 ||
		    (i + 1 < MAC_LEN && s[i * 3 + 2] != ':'))
			goto bad;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	if (mac[0] & 1)
		return usage_err(c, "--mac '%s' is a multicast address", s);
	return 0;
bad:
	return usage_err(c, "--mac '%s': expected aa:bb:cc:dd:ee:ff", s);
}

/* Reads a 32-byte PSK file: 32 raw bytes, or 64 hex digits with optional
 * trailing whitespace.  The buffer is wiped before returning. */
static int read_psk(struct ctl *c, const char *path, uint8_t psk[KEY_LEN])
{
	uint8_t buf[PSK_FILE_MAX];
	struct stat st;
	ssize_t n;
	size_t len, i;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return usage_err(c, "--psk-file %s: %s", path, strerror(errno));
	if (fstat(fd, &st) == 0 && (st.st_mode & 077) != 0)
		fprintf(stderr,
			"ipopctl: warning: %s is readable by other"
			" users\n",
			path);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0) {
		rc = usage_err(c, "--psk-file %s: %s", path, strerror(errno));
		goto out;
	}
	len = (size_t)n;
	if (len == KEY_LEN) {
		memcpy(psk, buf, KEY_LEN);
		goto out;
	}
	while (len > 0 && g_ascii_isspace(buf[len - 1]))
		len--;
	for (i = 0; len == 2 * KEY_LEN && i < KEY_LEN; i++) {
		int hi = hexval((char)buf[2 * i]),
		    lo = hexval((char)buf[2 * i + 1]);

		if (hi < 0 || lo < 0)
			break;
		psk[i] = (uint8_t)(hi << 4 | lo);
	}
	if (len != 2 * KEY_LEN || i != KEY_LEN)
		rc = usage_err(c,
			       "--psk-file %s: must hold 32 raw bytes or 64"
			       " hex digits",
			       path);
out:
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

/* ---------- connection and request/response plumbing ---------- */

static int64_t deadline_after(int ms)
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

static void conn_msg(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

static void conn_msg(const char *fmt, ...)
{
	va_list ap;

	fputs("ipopctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* An expression: prints the message, evaluates to CTL_CONN. */
#define conn_err(...) (conn_msg(__VA_ARGS__), CTL_CONN)

/* Reads one envelope before deadline (0: none).  1 with *out set, 0 when the
 * deadline passed, or -CTL_CONN after saying why. */
static int read_env(struct ctl *c, int64_t deadline, Ipop__Envelope **out)
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
				conn_msg("%s: connection closed by tincan",
					 c->socket_path);
		} else if (r == -EMSGSIZE || r == -EBADMSG || r == -EPROTO) {
			conn_msg("%s: protocol error: %s", c->socket_path,
				 g_strerror(-r));
		} else {
			conn_msg("%s: connection lost: %s", c->socket_path,
				 g_strerror(-r));
		}
		return -CTL_CONN;
	}
}

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
		r = read_env(c, deadline, &env);
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

/* Prints "ipopctl: STATUS: message" for a failed response; control
 * characters in tincan's message become spaces so it stays one line. */
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

/* Sends req and waits (one --timeout) for its response.  CTL_OK with *out
 * set (free with ipop__envelope__free_unpacked), CTL_FAIL after printing an
 * error status, CTL_CONN on connection trouble or timeout. */
static int transact(struct ctl *c, Ipop__Request *req, Ipop__Envelope **out)
{
	uint64_t id;
	int r;

	r = send_request(c, req, &id);
	if (r != CTL_OK)
		return r;
	r = await_response(c, id, deadline_after(c->timeout_ms), out);
	if (r < 0)
		return CTL_CONN;
	if (r == 0)
		return conn_err("%s: no reply within %d ms", c->socket_path,
				c->timeout_ms);
	r = response_status((*out)->response);
	if (r != CTL_OK) {
		ipop__envelope__free_unpacked(*out, NULL);
		*out = NULL;
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
static int session_open(struct ctl *c)
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
	r = transact(c, &req, &env);
	if (r != CTL_OK)
		return r;
	if (env->response->result_case != IPOP__RESPONSE__RESULT_HELLO)
		r = conn_err("%s: protocol error: Hello answered without a"
			     " HelloReply",
			     c->socket_path);
	ipop__envelope__free_unpacked(env, NULL);
	return r;
}

static void session_close(struct ctl *c)
{
	ipop_frame_reader_free(c->rd);
	c->rd = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* Connects, sends req, checks the status, discards the reply. */
static int simple_request(struct ctl *c, Ipop__Request *req)
{
	Ipop__Envelope *env = NULL;
	int r;

	r = session_open(c);
	if (r != CTL_OK)
		return r;
	r = transact(c, req, &env);
	if (env != NULL)
		ipop__envelope__free_unpacked(env, NULL);
	return r;
}

/* ---------- JSON and table renderings of tincan's state ---------- */

static bool has_pair(const Ipop__CandidatePair *p)
{
	return p != NULL && (p->local_address[0] || p->remote_address[0]);
}

static char *typed_addr(const char *type, const char *addr)
{
	return g_strdup_printf("%s %s", type[0] ? type : "?",
			       addr[0] ? addr : "?");
}

static void json_link(struct json *j, const Ipop__LinkInfo *l,
		      const char *overlay)
{
	const Ipop__CandidatePair *p = l->pair;
	char *s;

	json_open(j, NULL, '{');
	json_str(j, "overlay", l->overlay[0] ? l->overlay : overlay);
	json_str(j, "peer_uid", l->peer_uid);
	json_str(j, "state", ipop_link_state_name(l->state));
	json_bool(j, "controlling", l->controlling);
	if (has_pair(p)) {
		json_open(j, "pair", '{');
		s = typed_addr(p->local_type, p->local_address);
		json_str(j, "local", s);
		g_free(s);
		s = typed_addr(p->remote_type, p->remote_address);
		json_str(j, "remote", s);
		g_free(s);
		json_close(j, '}');
	} else {
		json_str(j, "pair", NULL);
	}
	json_str(j, "local_type", p != NULL ? p->local_type : NULL);
	json_str(j, "remote_type", p != NULL ? p->remote_type : NULL);
	json_u64(j, "tx_bytes", l->tx_bytes);
	json_u64(j, "tx_packets", l->tx_packets);
	json_u64(j, "rx_bytes", l->rx_bytes);
	json_u64(j, "rx_packets", l->rx_packets);
	json_u64(j, "dropped", l->dropped);
	json_u64(j, "last_handshake_ms", l->last_handshake_unix_ms);
	json_u64(j, "rtt_us", l->rtt_us);
	json_close(j, '}');
}

static void json_ice(struct json *j, const Ipop__SetIceServers *ice)
{
	size_t i;
	char *s;

	json_open(j, "ice", '{');
	json_open(j, "stun", '[');
	for (i = 0; ice != NULL && i < ice->n_stun; i++) {
		s = g_strdup_printf(strchr(ice->stun[i]->address, ':')
					? "[%s]:%" PRIu32
					: "%s:%" PRIu32,
				    ice->stun[i]->address, ice->stun[i]->port);
		json_str(j, NULL, s);
		g_free(s);
	}
	json_close(j, ']');
	json_open(j, "turn", '[');
	for (i = 0; ice != NULL && i < ice->n_turn; i++) {
		const Ipop__TurnServer *t = ice->turn[i];

		s = g_strdup_printf(strchr(t->address, ':') ? "[%s]:%" PRIu32
							    : "%s:%" PRIu32,
				    t->address, t->port);
		json_open(j, NULL, '{');
		json_str(j, "server", s);
		json_str(j, "user", t->username);
		json_close(j, '}');
		g_free(s);
	}
	json_close(j, ']');
	json_close(j, '}');
}

static void json_mappings(struct json *j, const Ipop__OverlayInfo *o)
{
	size_t i;
	char *mac;

	json_open(j, "mappings", '[');
	for (i = 0; i < o->n_mappings; i++) {
		const Ipop__PeerMapping *m = o->mappings[i];

		mac = mac_str(&m->mac);
		json_open(j, NULL, '{');
		json_str(j, "peer_uid", m->peer_uid);
		json_str(j, "ipv4", m->ipv4);
		json_str(j, "ipv6", m->ipv6);
		json_str(j, "mac", mac);
		json_str(j, "peer_ipv4", m->peer_ipv4);
		json_str(j, "label", m->label);
		json_close(j, '}');
		g_free(mac);
	}
	json_close(j, ']');
}

static void json_macs(struct json *j, const Ipop__OverlayInfo *o)
{
	size_t i;
	char *mac;

	json_open(j, "mac_table", '[');
	for (i = 0; i < o->n_mac_table; i++) {
		const Ipop__MacEntry *m = o->mac_table[i];

		mac = mac_str(&m->mac);
		json_open(j, NULL, '{');
		json_str(j, "mac", mac);
		json_str(j, "peer_uid", m->peer_uid);
		json_u64(j, "age_ms", m->age_ms);
		json_close(j, '}');
		g_free(mac);
	}
	json_close(j, ']');
}

static void json_overlay(struct json *j, const Ipop__OverlayInfo *o)
{
	char *v4 = cidr_str(o->ipv4, o->ipv4_prefix);
	char *v6 = cidr_str(o->ipv6, o->ipv6_prefix);
	char *mac = mac_str(&o->tap_mac);
	size_t i;

	json_open(j, NULL, '{');
	json_str(j, "name", o->name);
	json_str(j, "tap", o->tap_name);
	json_str(j, "mode", mode_name(o->mode));
	json_str(j, "ipv4", v4);
	json_str(j, "ipv6", v6);
	json_u64(j, "mtu", o->mtu);
	json_str(j, "mac", mac);
	json_bool(j, "psk", o->has_psk);
	json_bool(j, "translation", o->translation);
	json_str(j, "bridge", o->bridge);
	json_u64(j, "dropped_malformed", o->dropped_malformed);
	json_u64(j, "dropped_tap", o->dropped_tap);
	json_bool(j, "offload", o->offload);
	json_u64(j, "joined_frames", o->joined_frames);
	json_u64(j, "joined_segments", o->joined_segments);
	json_mappings(j, o);
	json_macs(j, o);
	json_open(j, "links", '[');
	for (i = 0; i < o->n_links; i++)
		json_link(j, o->links[i], o->name);
	json_close(j, ']');
	json_close(j, '}');
	g_free(v4);
	g_free(v6);
	g_free(mac);
}

static void json_state(const Ipop__NodeState *st)
{
	struct json j;
	char *key = g_base64_encode(st->public_key.data, st->public_key.len);
	size_t i;

	json_init(&j);
	json_open(&j, NULL, '{');
	json_str(&j, "uid", st->uid);
	json_str(&j, "public_key", key);
	json_str(&j, "version", st->version);
	json_ice(&j, st->ice);
	json_open(&j, "overlays", '[');
	for (i = 0; i < st->n_overlays; i++)
		json_overlay(&j, st->overlays[i]);
	json_close(&j, ']');
	json_close(&j, '}');
	json_emit(&j);
	g_free(key);
}

static void link_cells(struct table *t, const Ipop__LinkInfo *l)
{
	const Ipop__CandidatePair *p = l->pair;
	char tx[32], rx[32], rtt[32], ago[32];

	fmt_bytes(tx, sizeof(tx), l->tx_bytes);
	fmt_bytes(rx, sizeof(rx), l->rx_bytes);
	fmt_rtt(rtt, sizeof(rtt), l->rtt_us);
	fmt_ago(ago, sizeof(ago), l->last_handshake_unix_ms);
	table_cellf(t, "%.12s", l->peer_uid[0] ? l->peer_uid : "-");
	table_cellf(t, "%s", ipop_link_state_name(l->state));
	if (has_pair(p)) {
		table_cellf(t, "%s->%s", p->local_type[0] ? p->local_type : "?",
			    p->remote_type[0] ? p->remote_type : "?");
		table_cellf(t, "%s",
			    p->remote_address[0] ? p->remote_address : "-");
	} else {
		table_cellf(t, "-");
		table_cellf(t, "-");
	}
	table_cellf(t, "%s", tx);
	table_cellf(t, "%s", rx);
	table_cellf(t, "%s", rtt);
	table_cellf(t, "%s", ago);
}

static void print_links(const Ipop__OverlayInfo *o)
{
	struct table *t;
	size_t i;

	if (o->n_links == 0) {
		printf("  %-10s  none\n", "links");
		return;
	}
	printf("  links\n");
	t = table_new(8);
	table_cellf(t, "PEER");
	table_cellf(t, "STATE");
	table_cellf(t, "PAIR");
	table_cellf(t, "REMOTE");
	table_cellf(t, "TX");
	table_cellf(t, "RX");
	table_cellf(t, "RTT");
	table_cellf(t, "HANDSHAKE AGO");
	for (i = 0; i < o->n_links; i++)
		link_cells(t, o->links[i]);
	table_print(t, "    ");
	table_free(t);
}

static void print_mappings(const Ipop__OverlayInfo *o)
{
	struct table *t;
	size_t i;
	char *mac;

	if (o->n_mappings == 0) {
		printf("  %-10s  none\n", "mappings");
		return;
	}
	printf("  mappings\n");
	t = table_new(o->translation ? 6 : 5);
	table_cellf(t, "PEER");
	table_cellf(t, "LABEL");
	table_cellf(t, o->translation ? "IPV4 (MY VIEW)" : "IPV4");
	table_cellf(t, "IPV6");
	table_cellf(t, "MAC");
	if (o->translation)
		table_cellf(t, "ITS OWN IPV4");
	for (i = 0; i < o->n_mappings; i++) {
		const Ipop__PeerMapping *m = o->mappings[i];

		mac = mac_str(&m->mac);
		table_cellf(t, "%.12s", m->peer_uid);
		table_cellf(t, "%s", m->label[0] ? m->label : "-");
		table_cellf(t, "%s", m->ipv4[0] ? m->ipv4 : "-");
		table_cellf(t, "%s", m->ipv6[0] ? m->ipv6 : "-");
		table_cellf(t, "%s", mac != NULL ? mac : "-");
		if (o->translation)
			table_cellf(t, "%s",
				    m->peer_ipv4[0] ? m->peer_ipv4 : "-");
		g_free(mac);
	}
	table_print(t, "    ");
	table_free(t);
}

static void print_macs(const Ipop__OverlayInfo *o)
{
	struct table *t;
	size_t i;
	char *mac;

	if (o->mode != IPOP__OVERLAY_MODE__SWITCH)
		return;
	if (o->n_mac_table == 0) {
		printf("  %-10s  empty\n", "mac table");
		return;
	}
	printf("  mac table\n");
	t = table_new(3);
	table_cellf(t, "MAC");
	table_cellf(t, "PORT");
	table_cellf(t, "AGE");
	for (i = 0; i < o->n_mac_table; i++) {
		const Ipop__MacEntry *m = o->mac_table[i];

		mac = mac_str(&m->mac);
		table_cellf(t, "%s", mac != NULL ? mac : "-");
		table_cellf(t, "%.12s", m->peer_uid[0] ? m->peer_uid : "local");
		table_cellf(t, "%.1f s", m->age_ms / 1000.0);
		g_free(mac);
	}
	table_print(t, "    ");
	table_free(t);
}

static void print_overlay(const Ipop__OverlayInfo *o)
{
	char *v4 = cidr_str(o->ipv4, o->ipv4_prefix);
	char *v6 = cidr_str(o->ipv6, o->ipv6_prefix);
	char *mac = mac_str(&o->tap_mac);
	const char *mode = mode_name(o->mode);

	printf("\noverlay %s\n", o->name);
	printf("  %-10s  %s\n", "tap", o->tap_name[0] ? o->tap_name : "-");
	printf("  %-10s  %s\n", "mode", mode != NULL ? mode : "-");
	printf("  %-10s  %s\n", "ipv4", v4 != NULL ? v4 : "-");
	printf("  %-10s  %s\n", "ipv6", v6 != NULL ? v6 : "-");
	printf("  %-10s  %" PRIu32 "\n", "mtu", o->mtu);
	printf("  %-10s  %s\n", "mac", mac != NULL ? mac : "-");
	printf("  %-10s  %s\n", "psk", o->has_psk ? "yes" : "no");
	printf("  %-10s  %s\n", "translate", o->translation ? "yes" : "no");
	if (o->bridge[0])
		printf("  %-10s  %s\n", "bridge", o->bridge);
	printf("  %-10s  %" PRIu64 " malformed, %" PRIu64 " at the TAP\n",
	       "dropped", o->dropped_malformed, o->dropped_tap);
	if (o->offload)
		printf("  %-10s  TSO + checksum; %" PRIu64 " segments joined "
		       "into %" PRIu64 " frames\n",
		       "offload", o->joined_segments, o->joined_frames);
	else
		printf("  %-10s  off\n", "offload");
	print_mappings(o);
	print_macs(o);
	print_links(o);
	g_free(v4);
	g_free(v6);
	g_free(mac);
}

static void print_ice(const Ipop__SetIceServers *ice)
{
	size_t i;

	printf("%-10s  ", "stun");
	if (ice == NULL || ice->n_stun == 0)
		printf("none");
	for (i = 0; ice != NULL && i < ice->n_stun; i++)
		printf(strchr(ice->stun[i]->address, ':') ? "%s[%s]:%" PRIu32
							  : "%s%s:%" PRIu32,
		       i ? ", " : "", ice->stun[i]->address,
		       ice->stun[i]->port);
	printf("\n%-10s  ", "turn");
	if (ice == NULL || ice->n_turn == 0)
		printf("none");
	for (i = 0; ice != NULL && i < ice->n_turn; i++) {
		const Ipop__TurnServer *t = ice->turn[i];

		printf(strchr(t->address, ':') ? "%s[%s]:%" PRIu32 " (%s)"
					       : "%s%s:%" PRIu32 " (%s)",
		       i ? ", " : "", t->address, t->port, t->username);
	}
	printf("\n");
}

static void print_state(const Ipop__NodeState *st)
{
	char *key = g_base64_encode(st->public_key.data, st->public_key.len);
	size_t i;

	printf("%-10s  %s\n", "uid", st->uid);
	printf("%-10s  %s\n", "public key", key);
	printf("%-10s  %s\n", "version", st->version);
	print_ice(st->ice);
	printf("%-10s  %zu\n", "overlays", st->n_overlays);
	for (i = 0; i < st->n_overlays; i++)
		print_overlay(st->overlays[i]);
	g_free(key);
}

/* ---------- commands ---------- */

static int get_state(struct ctl *c, Ipop__Envelope **env)
{
	Ipop__Request req;
	Ipop__GetState gs;
	int r;

	ipop__get_state__init(&gs);
	ipop__request__init(&req);
	req.kind_case = IPOP__REQUEST__KIND_GET_STATE;
	req.get_state = &gs;
	r = transact(c, &req, env);
	if (r == CTL_OK &&
	    (*env)->response->result_case != IPOP__RESPONSE__RESULT_STATE) {
		ipop__envelope__free_unpacked(*env, NULL);
		*env = NULL;
		return conn_err("%s: protocol error: GetState answered"
				" without a NodeState",
				c->socket_path);
	}
	return r;
}

static int cmd_status(struct ctl *c, struct args *a)
{
	Ipop__Envelope *env = NULL;
	int r;

	(void)a;
	r = session_open(c);
	if (r == CTL_OK)
		r = get_state(c, &env);
	if (r != CTL_OK)
		return r;
	if (c->json)
		json_state(env->response->state);
	else
		print_state(env->response->state);
	ipop__envelope__free_unpacked(env, NULL);
	return CTL_OK;
}

static void print_stats(const Ipop__NodeState *st, const char *only, bool json)
{
	struct table *t = NULL;
	struct json j;
	char txp[24], rxp[24];
	size_t i, k;

	if (json) {
		json_init(&j);
		json_open(&j, NULL, '{');
		json_open(&j, "links", '[');
	} else {
		t = table_new(11);
		table_cellf(t, "OVERLAY");
		table_cellf(t, "PEER");
		table_cellf(t, "STATE");
		table_cellf(t, "PAIR");
		table_cellf(t, "REMOTE");
		table_cellf(t, "TX");
		table_cellf(t, "RX");
		table_cellf(t, "RTT");
		table_cellf(t, "HANDSHAKE AGO");
		table_cellf(t, "TX PKTS");
		table_cellf(t, "RX PKTS/DROP");
	}
	for (i = 0; i < st->n_overlays; i++) {
		const Ipop__OverlayInfo *o = st->overlays[i];

		if (only != NULL && strcmp(only, o->name) != 0)
			continue;
		for (k = 0; k < o->n_links; k++) {
			const Ipop__LinkInfo *l = o->links[k];

			if (json) {
				json_link(&j, l, o->name);
				continue;
			}
			table_cellf(t, "%s", o->name);
			link_cells(t, l);
			snprintf(txp, sizeof(txp), "%" PRIu64, l->tx_packets);
			snprintf(rxp, sizeof(rxp), "%" PRIu64 "/%" PRIu64,
				 l->rx_packets, l->dropped);
			table_cellf(t, "%s", txp);
			table_cellf(t, "%s", rxp);
		}
	}
	if (json) {
		json_close(&j, ']');
		json_close(&j, '}');
		json_emit(&j);
	} else {
		if (t->cells->len > t->ncols)
			table_print(t, "");
		else
			printf("no links\n");
		table_free(t);
	}
}

static int cmd_stats(struct ctl *c, struct args *a)
{
	const char *only = a->npos > 0 ? a->pos[0] : NULL;
	Ipop__Envelope *env = NULL;
	Ipop__Request req;
	Ipop__GetStats gs;
	int r;

	if (only != NULL &&
	    (r = check_name(c, "OVERLAY", only, OVERLAY_NAME_MAX)) != 0)
		return r;
	r = session_open(c);
	if (r != CTL_OK)
		return r;
	ipop__get_stats__init(&gs);
	gs.overlay = only != NULL ? a->pos[0] : gs.overlay;
	ipop__request__init(&req);
	req.kind_case = IPOP__REQUEST__KIND_GET_STATS;
	req.get_stats = &gs;
	r = transact(c, &req, &env);
	if (r != CTL_OK)
		return r;
	if (env->response->result_case == IPOP__RESPONSE__RESULT_STATE)
		print_stats(env->response->state, only, c->json);
	else
		r = conn_err("%s: protocol error: GetStats answered without"
			     " a NodeState",
			     c->socket_path);
	ipop__envelope__free_unpacked(env, NULL);
	return r;
}

static int check_mode(struct ctl *c, const char *s, Ipop__OverlayMode *m)
{
	if (s == NULL || strcmp(s, "l3") == 0)
		*m = IPOP__OVERLAY_MODE__L3;
	else if (strcmp(s, "switch") == 0)
		*m = IPOP__OVERLAY_MODE__SWITCH;
	else
		return usage_err(c, "--mode must be l3 or switch, got '%s'", s);
	return 0;
}

/* Fills co from the options; strings it allocates are freed by the caller
 * (co->ipv4 / co->ipv6 when not the shared empty string). */
static int overlay_opts(struct ctl *c, struct args *a, Ipop__CreateOverlay *co,
			uint8_t psk[KEY_LEN])
{
	unsigned long mtu;
	int r;

	if (a->tap == NULL)
		return usage_err(c, "--tap IFNAME is required");
	if ((r = check_name(c, "--tap", a->tap, IFNAME_MAX)) != 0 ||
	    (r = check_mode(c, a->mode, &co->mode)) != 0)
		return r;
	if (a->mtu != NULL) {
		if (!parse_ulong(a->mtu, 576, 65535, &mtu))
			return usage_err(c,
					 "--mtu must be 576..65535, got"
					 " '%s'",
					 a->mtu);
		co->mtu = (uint32_t)mtu;
	}
	if (a->ipv4 != NULL && (r = parse_cidr(c, AF_INET, "ipv4", a->ipv4,
					       &co->ipv4, &co->ipv4_prefix)))
		return r;
	if (a->ipv6 != NULL && (r = parse_cidr(c, AF_INET6, "ipv6", a->ipv6,
					       &co->ipv6, &co->ipv6_prefix)))
		return r;
	if (a->psk_file != NULL) {
		if ((r = read_psk(c, a->psk_file, psk)) != 0)
			return r;
		co->psk.data = psk;
		co->psk.len = KEY_LEN;
	}
	return 0;
}

static int cmd_create_overlay(struct ctl *c, struct args *a)
{
	Ipop__CreateOverlay co;
	Ipop__Request req;
	uint8_t psk[KEY_LEN];
	char *v4, *v6, *empty;
	int r;

	ipop__create_overlay__init(&co);
	empty = co.ipv4; /* the shared empty string, never freed */
	co.name = a->pos[0];
	co.tap_name = a->tap;
	co.translation = a->translation;
	if (a->bridge != NULL)
		co.bridge = a->bridge;
	r = check_name(c, "NAME", a->pos[0], OVERLAY_NAME_MAX);
	if (r == 0)
		r = overlay_opts(c, a, &co, psk);
	v4 = co.ipv4 != empty ? co.ipv4 : NULL;
	v6 = co.ipv6 != empty ? co.ipv6 : NULL;
	if (r == 0) {
		ipop__request__init(&req);
		req.kind_case = IPOP__REQUEST__KIND_CREATE_OVERLAY;
		req.create_overlay = &co;
		r = simple_request(c, &req);
	}
	sodium_memzero(psk, sizeof(psk));
	g_free(v4);
	g_free(v6);
	return r;
}

static int cmd_remove_overlay(struct ctl *c, struct args *a)
{
	Ipop__RemoveOverlay ro;
	Ipop__Request req;
	int r;

	if ((r = check_name(c, "NAME", a->pos[0], OVERLAY_NAME_MAX)) != 0)
		return r;
	ipop__remove_overlay__init(&ro);
	ro.name = a->pos[0];
	ipop__request__init(&req);
	req.kind_case = IPOP__REQUEST__KIND_REMOVE_OVERLAY;
	req.remove_overlay = &ro;
	return simple_request(c, &req);
}

/* "IP:PORT,USER,PASS"; the password is everything after the second comma. */
static int parse_turn(struct ctl *c, char *s, Ipop__TurnServer *t)
{
	char *c1 = strchr(s, ','), *c2, *hp;
	int r;

	c2 = c1 != NULL ? strchr(c1 + 1, ',') : NULL;
	if (c2 == NULL || c2 == c1 + 1 || c2[1] == '\0')
		return usage_err(c, "--turn expects IP:PORT,USER,PASS with a"
				    " non-empty user and password");
	hp = g_strndup(s, (gsize)(c1 - s));
	r = parse_hostport(c, "turn", hp, &t->address, &t->port);
	g_free(hp);
	if (r != 0)
		return r;
	t->username = g_strndup(c1 + 1, (gsize)(c2 - c1 - 1));
	t->password = c2 + 1;
	return 0;
}

static void ice_free(Ipop__SetIceServers *ice)
{
	size_t i;

	/* Both arrays are NULL-terminated, also when ice_opts stopped early. */
	for (i = 0; ice->stun != NULL && ice->stun[i] != NULL; i++) {
		g_free(ice->stun[i]->address);
		g_free(ice->stun[i]);
	}
	for (i = 0; ice->turn != NULL && ice->turn[i] != NULL; i++) {
		g_free(ice->turn[i]->address);
		g_free(ice->turn[i]->username);
		g_free(ice->turn[i]);
	}
	g_free(ice->stun);
	g_free(ice->turn);
}

/* Builds the server lists; on error ice holds only what was filled in. */
static int ice_opts(struct ctl *c, struct args *a, Ipop__SetIceServers *ice)
{
	guint i;
	int r;

	ice->stun = g_new0(Ipop__StunServer *, a->stun->len + 1);
	ice->turn = g_new0(Ipop__TurnServer *, a->turn->len + 1);
	for (i = 0; i < a->stun->len; i++) {
		Ipop__StunServer *s = g_new(Ipop__StunServer, 1);

		ipop__stun_server__init(s);
		s->address = NULL;
		ice->stun[ice->n_stun++] = s;
		r = parse_hostport(c, "stun", g_ptr_array_index(a->stun, i),
				   &s->address, &s->port);
		if (r != 0)
			return r;
	}
	for (i = 0; i < a->turn->len; i++) {
		Ipop__TurnServer *t = g_new(Ipop__TurnServer, 1);

		ipop__turn_server__init(t);
		t->address = NULL;
		t->username = NULL;
		ice->turn[ice->n_turn++] = t;
		r = parse_turn(c, g_ptr_array_index(a->turn, i), t);
		if (r != 0)
			return r;
	}
	return 0;
}

static int cmd_set_ice(struct ctl *c, struct args *a)
{
	Ipop__SetIceServers ice;
	Ipop__Request req;
	int r;

	ipop__set_ice_servers__init(&ice);
	r = ice_opts(c, a, &ice);
	if (r == 0) {
		ipop__request__init(&req);
		req.kind_case = IPOP__REQUEST__KIND_SET_ICE_SERVERS;
		req.set_ice_servers = &ice;
		r = simple_request(c, &req);
	}
	ice_free(&ice);
	return r;
}

/* Checks OVERLAY PEER_UID, the first two positionals of link commands. */
static int check_link_args(struct ctl *c, struct args *a)
{
	int r = check_name(c, "OVERLAY", a->pos[0], OVERLAY_NAME_MAX);

	return r != 0 ? r : check_uid(c, a->pos[1]);
}

static int cmd_create_link(struct ctl *c, struct args *a)
{
	uint8_t key[KEY_LEN];
	Ipop__CreateLink cl;
	Ipop__Request req;
	int r;

	if ((r = check_link_args(c, a)) != 0 ||
	    (r = parse_key(c, a->pos[2], key)) != 0)
		return r;
	ipop__create_link__init(&cl);
	cl.overlay = a->pos[0];
	cl.peer_uid = a->pos[1];
	cl.peer_public_key.data = key;
	cl.peer_public_key.len = KEY_LEN;
	ipop__request__init(&req);
	req.kind_case = IPOP__REQUEST__KIND_CREATE_LINK;
	req.create_link = &cl;
	return simple_request(c, &req);
}

/* Decodes a candidate blob.  untrusted: pasted from the other peer. */
static int parse_blob(struct ctl *c, const char *s, Ipop__IceCredentials **out)
{
	size_t len = 0;
	uint8_t *raw;

	if (strlen(s) > IPOP_FRAME_MAX)
		return usage_err(c, "BLOB is longer than %d characters",
				 IPOP_FRAME_MAX);
	raw = b64_decode(s, &len);
	if (raw == NULL)
		return usage_err(c, "BLOB is not valid base64");
	*out = ipop__ice_credentials__unpack(NULL, len, raw);
	g_free(raw);
	if (*out == NULL)
		return usage_err(c,
				 "BLOB does not decode as ipop.IceCredentials"
				 " (was it copied whole?)");
	if ((*out)->ufrag[0] == '\0' || (*out)->pwd[0] == '\0') {
		ipop__ice_credentials__free_unpacked(*out, NULL);
		*out = NULL;
		return usage_err(c, "BLOB has no ICE ufrag/pwd");
	}
	return 0;
}

static int cmd_add_candidates(struct ctl *c, struct args *a)
{
	Ipop__IceCredentials *cred = NULL;
	Ipop__AddRemoteCandidates arc;
	Ipop__Request req;
	int r;

	if ((r = check_link_args(c, a)) != 0 ||
	    (r = parse_blob(c, a->pos[2], &cred)) != 0)
		return r;
	ipop__add_remote_candidates__init(&arc);
	arc.overlay = a->pos[0];
	arc.peer_uid = a->pos[1];
	arc.remote = cred;
	ipop__request__init(&req);
	req.kind_case = IPOP__REQUEST__KIND_ADD_REMOTE_CANDIDATES;
	req.add_remote_candidates = &arc;
	r = simple_request(c, &req);
	ipop__ice_credentials__free_unpacked(cred, NULL);
	return r;
}

static int map_opts(struct ctl *c, struct args *a, Ipop__MapPeer *mp,
		    uint8_t mac[MAC_LEN])
{
	int r;

	if (a->ipv4 != NULL &&
	    (r = parse_plain_addr(c, AF_INET, "ipv4", a->ipv4, &mp->ipv4)))
		return r;
	if (a->ipv6 != NULL &&
	    (r = parse_plain_addr(c, AF_INET6, "ipv6", a->ipv6, &mp->ipv6)))
		return r;
	if (a->peer_ipv4 != NULL &&
	    (r = parse_plain_addr(c, AF_INET, "peer-ipv4", a->peer_ipv4,
				  &mp->peer_ipv4)))
		return r;
	if (a->mac != NULL) {
		if ((r = parse_mac(c, a->mac, mac)) != 0)
			return r;
		mp->mac.data = mac;
		mp->mac.len = MAC_LEN;
	}
	return 0;
}

static int cmd_map_peer(struct ctl *c, struct args *a)
{
	uint8_t mac[MAC_LEN];
	Ipop__MapPeer mp;
	Ipop__Request req;
	char *empty;
	int r;

	ipop__map_peer__init(&mp);
	empty = mp.ipv4;
	mp.overlay = a->pos[0];
	mp.peer_uid = a->pos[1];
	mp.remove = a->remove;
	if (a->label != NULL)
		mp.label = a->label;
	r = check_link_args(c, a);
	if (r == 0)
		r = map_opts(c, a, &mp, mac);
	if (r == 0) {
		ipop__request__init(&req);
		req.kind_case = IPOP__REQUEST__KIND_MAP_PEER;
		req.map_peer = &mp;
		r = simple_request(c, &req);
	}
	if (mp.ipv4 != empty)
		g_free(mp.ipv4);
	if (mp.ipv6 != empty)
		g_free(mp.ipv6);
	if (mp.peer_ipv4 != empty)
		g_free(mp.peer_ipv4);
	return r;
}

static int cmd_remove_link(struct ctl *c, struct args *a)
{
	Ipop__RemoveLink rl;
	Ipop__Request req;
	int r;

	if ((r = check_link_args(c, a)) != 0)
		return r;
	ipop__remove_link__init(&rl);
	rl.overlay = a->pos[0];
	rl.peer_uid = a->pos[1];
	ipop__request__init(&req);
	req.kind_case = IPOP__REQUEST__KIND_REMOVE_LINK;
	req.remove_link = &rl;
	return simple_request(c, &req);
}

static int cmd_log_level(struct ctl *c, struct args *a)
{
	static const char *const levels[] = {"error", "warning", "message",
					     "info", "debug"};
	Ipop__SetLogLevel sl;
	Ipop__Request req;
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(levels); i++)
		if (strcmp(a->pos[0], levels[i]) == 0)
			break;
	if (i == G_N_ELEMENTS(levels))
		return usage_err(c,
				 "LEVEL must be error, warning, message,"
				 " info or debug, got '%s'",
				 a->pos[0]);
	ipop__set_log_level__init(&sl);
	sl.level = a->pos[0];
	ipop__request__init(&req);
	req.kind_case = IPOP__REQUEST__KIND_SET_LOG_LEVEL;
	req.set_log_level = &sl;
	return simple_request(c, &req);
}

static void print_echo(const ProtobufCBinaryData *d, bool json)
{
	char *s = d->len > 0 ? g_strndup((const char *)d->data, d->len)
			     : g_strdup("");
	struct json j;

	if (json) {
		json_init(&j);
		json_open(&j, NULL, '{');
		json_sep(&j, "echo");
		json_escape(j.s, s);
		json_close(&j, '}');
		json_emit(&j);
	} else {
		printf("%s\n", s);
	}
	g_free(s);
}

static int cmd_echo(struct ctl *c, struct args *a)
{
	char *text = g_strjoinv(" ", a->pos);
	Ipop__Envelope *env = NULL;
	Ipop__Request req;
	Ipop__Echo echo;
	const Ipop__Echo *back;
	int r;

	ipop__echo__init(&echo);
	echo.data.data = (uint8_t *)text;
	echo.data.len = strlen(text);
	ipop__request__init(&req);
	req.kind_case = IPOP__REQUEST__KIND_ECHO;
	req.echo = &echo;
	r = session_open(c);
	if (r == CTL_OK)
		r = transact(c, &req, &env);
	if (r == CTL_OK) {
		back = env->response->result_case == IPOP__RESPONSE__RESULT_ECHO
			   ? env->response->echo
			   : NULL;
		if (back == NULL && echo.data.len == 0)
			print_echo(&echo.data, c->json);
		else if (back != NULL && back->data.len == echo.data.len &&
			 memcmp(back->data.data, text, echo.data.len) == 0)
			print_echo(&back->data, c->json);
		else
			r = conn_err("%s: protocol error: echo came back"
				     " different",
				     c->socket_path);
		ipop__envelope__free_unpacked(env, NULL);
	}
	g_free(text);
	return r;
}

/* ---------- candidates: wait for gathering ---------- */

struct cand_wait {
	char *overlay, *peer; /* borrowed from argv */
	uint8_t *packed;      /* the blob once known */
	size_t len;
};

static void cand_keep(struct cand_wait *w, const Ipop__IceCredentials *cr)
{
	if (w->packed != NULL || cr == NULL)
		return;
	w->len = ipop__ice_credentials__get_packed_size(cr);
	w->packed = g_malloc(w->len + 1);
	ipop__ice_credentials__pack(cr, w->packed);
}

static void cand_event(struct ctl *c, const Ipop__Event *ev)
{
	struct cand_wait *w = c->ev_arg;
	const Ipop__LocalCandidatesEvent *lc = ev->local_candidates;

	if (ev->kind_case != IPOP__EVENT__KIND_LOCAL_CANDIDATES || lc == NULL)
		return;
	if (strcmp(lc->overlay, w->overlay) == 0 &&
	    strcmp(lc->peer_uid, w->peer) == 0)
		cand_keep(w, lc->local);
	c->ev_done = w->packed != NULL;
}

/* One GetLocalCandidates round: CTL_OK (w->packed set if gathering is
 * done), or an error code. */
static int cand_ask(struct ctl *c, struct cand_wait *w, int64_t deadline)
{
	Ipop__GetLocalCandidates glc;
	Ipop__Envelope *env = NULL;
	Ipop__Request req;
	uint64_t id;
	int r;

	ipop__get_local_candidates__init(&glc);
	glc.overlay = w->overlay;
	glc.peer_uid = w->peer;
	ipop__request__init(&req);
	req.kind_case = IPOP__REQUEST__KIND_GET_LOCAL_CANDIDATES;
	req.get_local_candidates = &glc;
	if ((r = send_request(c, &req, &id)) != CTL_OK)
		return r;
	r = await_response(c, id, deadline, &env);
	if (r <= 0)
		return r < 0 ? CTL_CONN : CTL_OK;
	r = response_status(env->response);
	if (r == CTL_OK &&
	    env->response->result_case == IPOP__RESPONSE__RESULT_LOCAL)
		cand_keep(w, env->response->local);
	ipop__envelope__free_unpacked(env, NULL);
	return r;
}

/* Lets events arrive for ms milliseconds (or until the deadline). */
static int pump_events(struct ctl *c, int ms, int64_t deadline)
{
	Ipop__Envelope *env;
	int64_t until = earlier(deadline_after(ms), deadline);
	int r;

	while ((r = read_env(c, until, &env)) == 1) {
		if (env->body_case == IPOP__ENVELOPE__BODY_EVENT &&
		    env->event != NULL && c->on_event != NULL)
			c->on_event(c, env->event);
		ipop__envelope__free_unpacked(env, NULL);
		if (c->ev_done)
			break;
	}
	return r < 0 ? CTL_CONN : CTL_OK;
}

static void print_blob(struct ctl *c, const struct cand_wait *w)
{
	char *b64 = g_base64_encode(w->packed, w->len);
	struct json j;

	if (c->json) {
		json_init(&j);
		json_open(&j, NULL, '{');
		json_str(&j, "overlay", w->overlay);
		json_str(&j, "peer_uid", w->peer);
		json_str(&j, "blob", b64);
		json_close(&j, '}');
		json_emit(&j);
	} else {
		printf("%s\n", b64);
	}
	g_free(b64);
}

static int cmd_candidates(struct ctl *c, struct args *a)
{
	struct cand_wait w = {.overlay = a->pos[0], .peer = a->pos[1]};
	int64_t deadline;
	int r;

	if ((r = check_link_args(c, a)) != 0)
		return r;
	c->on_event = cand_event;
	c->ev_arg = &w;
	r = session_open(c);
	deadline = deadline_after(c->timeout_ms);
	/* Ask, then listen for the event; ask again in case this tincan
	 * does not send events to observers. */
	while (r == CTL_OK && w.packed == NULL) {
		if (deadline != 0 && g_get_monotonic_time() >= deadline) {
			r = conn_err("no local candidates for peer %.12s on"
				     " %s within %d ms",
				     w.peer, w.overlay, c->timeout_ms);
			break;
		}
		r = cand_ask(c, &w, deadline);
		if (r == CTL_OK && w.packed == NULL)
			r = pump_events(c, POLL_MS, deadline);
	}
	if (r == CTL_OK)
		print_blob(c, &w);
	g_free(w.packed);
	return r;
}

/* ---------- wait-link ---------- */

struct link_wait {
	const char *overlay, *peer;
	Ipop__LinkState state; /* last seen; 0 = link not seen */
	char *pair;	       /* "host a:p -> srflx b:q" once connected */
	bool from_event;
};

static void link_seen(struct link_wait *w, Ipop__LinkState st,
		      const Ipop__CandidatePair *p)
{
	w->state = st;
	if (st == IPOP__LINK_STATE__CONNECTED && w->pair == NULL && has_pair(p))
		w->pair = g_strdup_printf("%s %s -> %s %s", p->local_type,
					  p->local_address, p->remote_type,
					  p->remote_address);
}

static bool link_done(const struct link_wait *w)
{
	return w->state == IPOP__LINK_STATE__CONNECTED ||
	       w->state == IPOP__LINK_STATE__FAILED ||
	       w->state == IPOP__LINK_STATE__CLOSED;
}

static void link_event(struct ctl *c, const Ipop__Event *ev)
{
	struct link_wait *w = c->ev_arg;
	const Ipop__LinkStateChangedEvent *ls = ev->link_state;

	if (ev->kind_case != IPOP__EVENT__KIND_LINK_STATE || ls == NULL)
		return;
	if (strcmp(ls->overlay, w->overlay) == 0 &&
	    strcmp(ls->peer_uid, w->peer) == 0)
		link_seen(w, ls->state, ls->pair);
	c->ev_done = link_done(w);
}

static void link_from_state(struct link_wait *w, const Ipop__NodeState *st)
{
	size_t i, k;

	for (i = 0; i < st->n_overlays; i++) {
		const Ipop__OverlayInfo *o = st->overlays[i];

		if (strcmp(o->name, w->overlay) != 0)
			continue;
		for (k = 0; k < o->n_links; k++)
			if (strcmp(o->links[k]->peer_uid, w->peer) == 0)
				link_seen(w, o->links[k]->state,
					  o->links[k]->pair);
	}
}

/* One GetState round bounded by the overall deadline. */
static int link_poll(struct ctl *c, struct link_wait *w, int64_t deadline)
{
	Ipop__Request req;
	Ipop__GetState gs;
	Ipop__Envelope *env = NULL;
	uint64_t id;
	int r;

	ipop__get_state__init(&gs);
	ipop__request__init(&req);
	req.kind_case = IPOP__REQUEST__KIND_GET_STATE;
	req.get_state = &gs;
	if ((r = send_request(c, &req, &id)) != CTL_OK)
		return r;
	r = await_response(c, id, deadline, &env);
	if (r <= 0)
		return r < 0 ? CTL_CONN : CTL_OK;
	r = response_status(env->response);
	if (r == CTL_OK &&
	    env->response->result_case == IPOP__RESPONSE__RESULT_STATE)
		link_from_state(w, env->response->state);
	ipop__envelope__free_unpacked(env, NULL);
	return r;
}

static void print_connected(const struct link_wait *w)
{
	struct json j;

	json_init(&j);
	json_open(&j, NULL, '{');
	json_str(&j, "overlay", w->overlay);
	json_str(&j, "peer_uid", w->peer);
	json_str(&j, "state", ipop_link_state_name(w->state));
	json_str(&j, "pair", w->pair);
	json_close(&j, '}');
	json_emit(&j);
}

static int cmd_wait_link(struct ctl *c, struct args *a)
{
	struct link_wait w = {.overlay = a->pos[0], .peer = a->pos[1]};
	int64_t deadline;
	int r;

	if ((r = check_link_args(c, a)) != 0)
		return r;
	c->on_event = link_event;
	c->ev_arg = &w;
	r = session_open(c);
	deadline = deadline_after(c->timeout_ms);
	while (r == CTL_OK && !link_done(&w) &&
	       (deadline == 0 || g_get_monotonic_time() < deadline)) {
		r = link_poll(c, &w, deadline);
		if (r == CTL_OK && !link_done(&w))
			r = pump_events(c, POLL_MS, deadline);
	}
	if (r == CTL_OK && w.state == IPOP__LINK_STATE__CONNECTED) {
		if (c->json)
			print_connected(&w);
		else
			printf("connected%s%s\n", w.pair ? ": " : "",
			       w.pair ? w.pair : "");
	} else if (r == CTL_OK) {
		fprintf(stderr, "ipopctl: wait-link: link %.12s on %s %s\n",
			w.peer, w.overlay,
			w.state == IPOP__LINK_STATE__FAILED   ? "failed"
			: w.state == IPOP__LINK_STATE__CLOSED ? "was closed"
			: w.state == 0 ? "not found before the timeout"
				       : "not connected before the timeout");
		r = CTL_FAIL;
	}
	g_free(w.pair);
	return r;
}

/* ---------- events ---------- */

static void json_pair_fields(struct json *j, const Ipop__CandidatePair *p)
{
	bool has = p != NULL;

	json_str(j, "local_type", has ? p->local_type : NULL);
	json_str(j, "remote_type", has ? p->remote_type : NULL);
	json_str(j, "local", has ? p->local_address : NULL);
	json_str(j, "remote", has ? p->remote_address : NULL);
}

static void json_local_cands(struct json *j,
			     const Ipop__LocalCandidatesEvent *e)
{
	char *b64 = NULL;
	uint8_t *buf;
	size_t len;

	if (e->local != NULL) {
		len = ipop__ice_credentials__get_packed_size(e->local);
		buf = g_malloc(len + 1);
		ipop__ice_credentials__pack(e->local, buf);
		b64 = g_base64_encode(buf, len);
		g_free(buf);
	}
	json_str(j, "event", "local_candidates");
	json_str(j, "overlay", e->overlay);
	json_str(j, "peer_uid", e->peer_uid);
	json_str(j, "blob", b64);
	g_free(b64);
}

/* Returns false for an event kind this ipopctl does not know. */
static bool json_event_body(struct json *j, const Ipop__Event *ev)
{
	const Ipop__LinkStateChangedEvent *ls = ev->link_state;
	const Ipop__UnknownDestinationEvent *ud = ev->unknown_destination;
	char *mac;

	switch (ev->kind_case) {
	case IPOP__EVENT__KIND_LOCAL_CANDIDATES:
		json_local_cands(j, ev->local_candidates);
		return true;
	case IPOP__EVENT__KIND_LINK_STATE:
		json_str(j, "event", "link_state");
		json_str(j, "overlay", ls->overlay);
		json_str(j, "peer_uid", ls->peer_uid);
		json_str(j, "state", ipop_link_state_name(ls->state));
		json_pair_fields(j, ls->pair);
		json_str(j, "reason", ls->reason);
		return true;
	case IPOP__EVENT__KIND_UNKNOWN_DESTINATION:
		mac = mac_str(&ud->dst_mac);
		json_str(j, "event", "unknown_destination");
		json_str(j, "overlay", ud->overlay);
		json_str(j, "dst_ipv4", ud->dst_ipv4);
		json_str(j, "dst_ipv6", ud->dst_ipv6);
		json_str(j, "dst_mac", mac);
		g_free(mac);
		return true;
	case IPOP__EVENT__KIND_CONTROLLER_REPLACED:
		json_str(j, "event", "controller_replaced");
		json_str(j, "reason", ev->controller_replaced->reason);
		return true;
	default:
		json_str(j, "event", "unknown");
		return false;
	}
}

static void print_event(const Ipop__Event *ev)
{
	struct json j;

	json_init(&j);
	json_open(&j, NULL, '{');
	json_event_body(&j, ev);
	json_close(&j, '}');
	json_emit(&j);
}

static void on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void catch_interrupts(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt; /* no SA_RESTART: poll must wake */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* Whether the reader of our stdout pipe has gone (so `events | head -1`
 * ends even when no further event would make a write fail). */
static bool stdout_gone(void)
{
	struct pollfd p = {.fd = STDOUT_FILENO, .events = 0};

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP)) != 0;
}

/* Streams events until EOF, an interrupt, or stdout going away. */
static int cmd_events(struct ctl *c, struct args *a)
{
	Ipop__Envelope *env;
	int r;

	(void)a;
	r = session_open(c);
	if (r != CTL_OK)
		return r;
	c->eof_ok = true;
	catch_interrupts();
	while (!interrupted) {
		r = read_env(c, deadline_after(500), &env);
		if (r < 0) /* EOF is the normal end of a stream */
			return c->eof ? CTL_OK : CTL_CONN;
		if (r == 0) {
			if (stdout_gone())
				return CTL_OK;
			continue;
		}
		if (env->body_case == IPOP__ENVELOPE__BODY_EVENT &&
		    env->event != NULL)
			print_event(env->event);
		ipop__envelope__free_unpacked(env, NULL);
		if (fflush(stdout) != 0)
			return errno == EPIPE ? CTL_OK : CTL_FAIL;
	}
	return CTL_OK;
}

/* ---------- command table, argument parsing, main ---------- */

static int cmd_help(struct ctl *c, struct args *a);

static const struct command commands[] = {
    {"status", IPOP__ROLE__OBSERVER, cmd_status, 0, 0, "", "",
     "identity, ICE servers, overlays, mappings and links"},
    {"create-overlay", IPOP__ROLE__CONTROLLER, cmd_create_overlay, 1, 1,
     " tap ipv4 ipv6 mtu mode psk-file translation bridge ",
     "NAME --tap IFNAME [--ipv4 A.B.C.D/P] [--ipv6 ADDR/P] [--mtu N]"
     " [--mode l3|switch] [--bridge BRIDGE] [--psk-file FILE]"
     " [--translation]",
     "create an overlay and its TAP (PSK file: 32 raw bytes or 64 hex;"
     " --translation: SocialVPN address translation)"},
    {"remove-overlay", IPOP__ROLE__CONTROLLER, cmd_remove_overlay, 1, 1, "",
     "NAME", "remove an overlay, its TAP and its links"},
    {"set-ice", IPOP__ROLE__CONTROLLER, cmd_set_ice, 0, 0, " stun turn ",
     "[--stun IP:PORT]... [--turn IP:PORT,USER,PASS]...",
     "replace the STUN/TURN servers (none given: clear them)"},
    {"create-link", IPOP__ROLE__CONTROLLER, cmd_create_link, 3, 3, "",
     "OVERLAY PEER_UID PEER_PUBKEY",
     "start a link to a peer (PEER_PUBKEY: base64 of 32 bytes)"},
    {"candidates", IPOP__ROLE__OBSERVER, cmd_candidates, 2, 2, "",
     "OVERLAY PEER_UID",
     "print the local candidate blob once gathering is done"},
    {"add-candidates", IPOP__ROLE__CONTROLLER, cmd_add_candidates, 3, 3, "",
     "OVERLAY PEER_UID BLOB", "give a link the peer's candidate blob"},
    {"map-peer", IPOP__ROLE__CONTROLLER, cmd_map_peer, 2, 2,
     " ipv4 ipv6 mac remove peer-ipv4 label ",
     "OVERLAY PEER_UID [--ipv4 A] [--ipv6 A] [--mac aa:bb:cc:dd:ee:ff]"
     " [--peer-ipv4 A] [--label TEXT] [--remove]",
     "map overlay addresses to a peer (or remove the mapping)"},
    {"remove-link", IPOP__ROLE__CONTROLLER, cmd_remove_link, 2, 2, "",
     "OVERLAY PEER_UID", "close and forget a link"},
    {"stats", IPOP__ROLE__OBSERVER, cmd_stats, 0, 1, "", "[OVERLAY]",
     "per-link counters"},
    {"wait-link", IPOP__ROLE__OBSERVER, cmd_wait_link, 2, 2, "",
     "OVERLAY PEER_UID", "wait (up to --timeout) until the link is connected"},
    {"events", IPOP__ROLE__OBSERVER, cmd_events, 0, 0, "", "",
     "stream events as JSON lines until interrupted"},
    {"log-level", IPOP__ROLE__CONTROLLER, cmd_log_level, 1, 1, "", "LEVEL",
     "set tincan's log level (error|warning|message|info|debug)"},
    {"echo", IPOP__ROLE__OBSERVER, cmd_echo, 0, -1, "", "[TEXT]",
     "round trip through tincan; prints TEXT back"},
    {"help", IPOP__ROLE__OBSERVER, cmd_help, 0, 0, "", "", "show this help"},
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"usage: ipopctl [--socket PATH] [--json] [--timeout MS]"
		" COMMAND [ARGS]\n\n"
		"Options:\n"
		"  --socket PATH  control socket (default $IPOP_SOCKET, "
		"else " DEFAULT_SOCKET ")\n"
		"  --json         print JSON instead of tables\n"
		"  --timeout MS   wait at most MS ms for each reply "
		"(default %d, 0 = forever)\n"
		"  --help         show this help\n"
		"  --version      print the version\n\nCommands:\n",
		DEFAULT_TIMEOUT_MS);
	for (i = 0; i < G_N_ELEMENTS(commands); i++)
		fprintf(f, "  %-15s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\nArguments:\n");
	for (i = 0; i < G_N_ELEMENTS(commands); i++)
		if (commands[i].synopsis[0] != '\0')
			fprintf(f, "  %s %s\n", commands[i].name,
				commands[i].synopsis);
	fprintf(f, "\nPEER_UID is 40 lowercase hex digits.  Exit status: 0 ok,"
		   " 1 request failed,\n2 usage error, 3 cannot connect,"
		   " protocol error or timeout.\n");
}

static int cmd_help(struct ctl *c, struct args *a)
{
	(void)c;
	(void)a;
	usage(stdout);
	return CTL_OK;
}

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* Stores a single-valued option, refusing repeats. */
static int set_once(struct ctl *c, char **slot, const char *name, char *val)
{
	if (*slot != NULL)
		return usage_err(c, "--%s given twice", name);
	*slot = val;
	return 0;
}

/* The global options, accepted before and after the command. */
static int global_opt(struct ctl *c, const char *name, char *val)
{
	unsigned long ms;

	if (strcmp(name, "json") == 0) {
		c->json = true;
	} else if (strcmp(name, "socket") == 0) {
		c->socket_path = val;
	} else {
		if (!parse_ulong(val, 0, MAX_TIMEOUT_MS, &ms))
			return usage_err(c,
					 "--timeout must be 0..%d ms, got"
					 " '%s'",
					 MAX_TIMEOUT_MS, val);
		c->timeout_ms = (int)ms;
	}
	return 0;
}

static bool opt_takes_value(const char *name)
{
	return strcmp(name, "json") != 0 && strcmp(name, "remove") != 0 &&
	       strcmp(name, "translation") != 0 && strcmp(name, "help") != 0 &&
	       strcmp(name, "version") != 0;
}

static bool is_global_opt(const char *name)
{
	return strcmp(name, "json") == 0 || strcmp(name, "socket") == 0 ||
	       strcmp(name, "timeout") == 0;
}

/* Whether the current command (none yet: a is NULL) takes --name. */
static bool is_known_opt(struct ctl *c, struct args *a, const char *name)
{
	char pat[40];

	if (is_global_opt(name))
		return true;
	if (a == NULL || strlen(name) > 20)
		return false;
	snprintf(pat, sizeof(pat), " %s ", name);
	return strstr(c->cmd->opts, pat) != NULL;
}

static int command_opt(struct ctl *c, struct args *a, const char *name,
		       char *val)
{
	g_assert(a != NULL);
	/* Flags (--remove, --translation) come without a value. */
	if (val == NULL && opt_takes_value(name))
		return usage_err(c, "--%s needs a value", name);
	if (strcmp(name, "stun") == 0)
		g_ptr_array_add(a->stun, val);
	else if (strcmp(name, "turn") == 0)
		g_ptr_array_add(a->turn, val);
	else if (strcmp(name, "remove") == 0)
		a->remove = true;
	else if (strcmp(name, "translation") == 0)
		a->translation = true;
	else if (strcmp(name, "peer-ipv4") == 0)
		return set_once(c, &a->peer_ipv4, name, val);
	else if (strcmp(name, "bridge") == 0)
		return set_once(c, &a->bridge, name, val);
	else if (strcmp(name, "label") == 0)
		return set_once(c, &a->label, name, val);
	else if (strcmp(name, "tap") == 0)
		return set_once(c, &a->tap, name, val);
	else if (strcmp(name, "ipv4") == 0)
		return set_once(c, &a->ipv4, name, val);
	else if (strcmp(name, "ipv6") == 0)
		return set_once(c, &a->ipv6, name, val);
	else if (strcmp(name, "mtu") == 0)
		return set_once(c, &a->mtu, name, val);
	else if (strcmp(name, "mode") == 0)
		return set_once(c, &a->mode, name, val);
	else if (strcmp(name, "psk-file") == 0)
		return set_once(c, &a->psk_file, name, val);
	else if (strcmp(name, "mac") == 0)
		return set_once(c, &a->mac, name, val);
	return 0;
}

/* Handles argv[*i], an option "--name", "--name=value" or "--name value".
 * Returns 0, CTL_USAGE, or -1 for --help / --version (already printed). */
static int one_option(struct ctl *c, struct args *a, int argc, char **argv,
		      int *i)
{
	char *arg = argv[*i] + 2, *eq = strchr(arg, '='), *val = NULL;
	char name[32];

	if (strcmp(arg, "help") == 0 || strcmp(argv[*i], "-h") == 0) {
		usage(stdout);
		return -1;
	}
	if (strcmp(arg, "version") == 0) {
		printf("ipopctl %s\n", IPOP_VERSION);
		return -1;
	}
	snprintf(name, sizeof(name), "%.*s",
		 (int)(eq != NULL ? (size_t)(eq - arg) : strlen(arg)), arg);
	if (!is_known_opt(c, a, name))
		return usage_err(c, "unknown option --%s", name);
	if (opt_takes_value(name)) {
		if (eq != NULL)
			val = eq + 1;
		else if (*i + 1 < argc)
			val = argv[++*i];
		else
			return usage_err(c, "--%s needs a value", name);
	} else if (eq != NULL) {
		return usage_err(c, "--%s takes no value", name);
	}
	if (is_global_opt(name))
		return global_opt(c, name, val);
	return command_opt(c, a, name, val);
}

static bool is_option(const char *s)
{
	return strcmp(s, "-h") == 0 || (s[0] == '-' && s[1] == '-' && s[2]);
}

/* Parses the command's own arguments (global options allowed too). */
static int parse_command(struct ctl *c, struct args *a, int argc, char **argv)
{
	bool opts_done = false;
	int i, r;

	a->pos = g_new0(char *, (size_t)argc + 1);
	for (i = 0; i < argc; i++) {
		if (!opts_done && strcmp(argv[i], "--") == 0) {
			opts_done = true;
		} else if (!opts_done && is_option(argv[i])) {
			r = one_option(c, a, argc, argv, &i);
			if (r != 0)
				return r;
		} else {
			a->pos[a->npos++] = argv[i];
		}
	}
	if (a->npos < c->cmd->min_pos)
		return usage_err(c, "missing arguments");
	if (c->cmd->max_pos >= 0 && a->npos > c->cmd->max_pos)
		return usage_err(c, "too many arguments ('%s')",
				 a->pos[c->cmd->max_pos]);
	return 0;
}

/* Global options, then the command name; *argi gets its index. */
static int parse_global(struct ctl *c, int argc, char **argv, int *argi)
{
	int i, r;

	for (i = 1; i < argc && is_option(argv[i]); i++) {
		r = one_option(c, NULL, argc, argv, &i);
		if (r != 0)
			return r;
	}
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc)
		return usage_err(c, "no command given");
	c->cmd = find_command(argv[i]);
	if (c->cmd == NULL)
		return usage_err(c, "unknown command '%s'", argv[i]);
	*argi = i + 1;
	return 0;
}

static int check_socket_path(struct ctl *c)
{
	struct sockaddr_un sa;
	size_t len = c->socket_path != NULL ? strlen(c->socket_path) : 0;

	if (len == 0 || len >= sizeof(sa.sun_path))
		return usage_err(c,
				 "socket path '%s' is empty or longer than"
				 " %zu bytes",
				 c->socket_path, sizeof(sa.sun_path) - 1);
	return 0;
}

static int run(struct ctl *c, int argc, char **argv)
{
	struct args a;
	int argi = 0, r;

	memset(&a, 0, sizeof(a));
	a.stun = g_ptr_array_new();
	a.turn = g_ptr_array_new();
	r = parse_global(c, argc, argv, &argi);
	if (r == 0)
		r = parse_command(c, &a, argc - argi, argv + argi);
	if (r == 0)
		r = check_socket_path(c);
	if (r == 0)
		r = c->cmd->run(c, &a);
	else if (r < 0)
		r = CTL_OK; /* --help or --version */
	g_free(a.pos);
	g_ptr_array_free(a.stun, TRUE);
	g_ptr_array_free(a.turn, TRUE);
	return r;
}

int main(int argc, char **argv)
{
	struct ctl c;
	const char *env = getenv("IPOP_SOCKET");
	int r;

	signal(SIGPIPE, SIG_IGN);
	memset(&c, 0, sizeof(c));
	c.fd = -1;
	c.next_id = 1;
	c.timeout_ms = DEFAULT_TIMEOUT_MS;
	c.socket_path = env != NULL && env[0] != '\0' ? env : DEFAULT_SOCKET;
	r = run(&c, argc, argv);
	session_close(&c);
	if (fflush(stdout) != 0 && errno != EPIPE && r == CTL_OK) {
		fprintf(stderr, "ipopctl: writing output: %s\n",
			strerror(errno));
		r = CTL_FAIL;
	}
	return r;
}
