/*
 * Framing of the control protocol.  A frame is a 4-byte big-endian length
 * followed by one packed ipop.Envelope.  The reader copies stream bytes into
 * one buffer and hands out whole envelopes; every length header is checked
 * against IPOP_FRAME_MAX as soon as its four bytes are known, before the
 * buffer grows to hold the frame, so a peer cannot make us allocate more than
 * it actually sent.  Consumed bytes are dropped on the next feed and a large
 * idle buffer is shrunk, so a reader that is drained after every feed stays
 * at about one read plus one frame.  The module also encodes envelopes and
 * offers two small blocking helpers for clients (ipopctl, tests); servers do
 * their own non-blocking I/O and only use the reader.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>
#include <sodium.h>

#include "proto/frame.h"

enum {
	READER_MIN_CAP = 4096,	     /* smallest buffer kept when shrinking */
	READER_KEEP_CAP = 64 * 1024, /* idle buffers above this shrink */
	READ_CHUNK = 16 * 1024,	     /* bytes per read() in ipop_frame_read */
};

struct ipop_frame_reader {
	uint8_t *buf;
	size_t off;  /* first byte not yet returned */
	size_t len;  /* bytes held in buf */
	size_t cap;  /* bytes allocated for buf */
	size_t scan; /* next length header not yet checked (index in buf) */
	size_t last, last_len; /* body of the envelope returned last */
	size_t wiped;	       /* buf[..wiped) of consumed frames is zeroed */
	bool has_last;
	int err; /* sticky error, 0 while the stream is good */
};

struct ipop_frame_reader *ipop_frame_reader_new(void)
{
	return g_new0(struct ipop_frame_reader, 1);
}

void ipop_frame_reader_free(struct ipop_frame_reader *r)
{
	if (r == NULL)
		return;
	if (r->buf)
		sodium_memzero(r->buf, r->cap);
	g_free(r->buf);
	g_free(r);
}

const uint8_t *ipop_frame_reader_last(const struct ipop_frame_reader *r,
				      size_t *len)
{
	*len = 0;
	if (!r->has_last)
		return NULL;
	*len = r->last_len;
	return r->buf + r->last;
}

size_t ipop_frame_reader_pending(const struct ipop_frame_reader *r)
{
	return r->len - r->off;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* Byte i of the logical stream "buffered bytes, then data". */
static uint8_t stream_byte(const struct ipop_frame_reader *r,
			   const uint8_t *data, size_t i)
{
	return i < r->len ? r->buf[i] : data[i - r->len];
}

/*
 * Walks every length header that becomes complete once data is appended,
 * without copying anything.  -EMSGSIZE if one declares too much.
 */
static int check_headers(struct ipop_frame_reader *r, const uint8_t *data,
			 size_t len)
{
	size_t total = r->len + len;
	uint32_t n;
	size_t i;

	while (r->scan <= total && total - r->scan >= IPOP_FRAME_HDR) {
		n = 0;
		for (i = 0; i < IPOP_FRAME_HDR; i++)
			n = n << 8 | stream_byte(r, data, r->scan + i);
		if (n > IPOP_FRAME_MAX)
			return -EMSGSIZE;
		r->scan += IPOP_FRAME_HDR + n;
	}
	return 0;
}

/*
 * Frames may carry secrets (CreateOverlay's group psk): bytes a frame
 * leaves behind are zeroed once it is consumed, and a buffer is never
 * given back to the allocator (realloc included) with them in it.
 */
static void wipe_consumed(struct ipop_frame_reader *r)
{
	if (r->off > r->wiped)
		sodium_memzero(r->buf + r->wiped, r->off - r->wiped);
	r->wiped = MAX(r->wiped, r->off);
}

/* Moves buf's first len bytes into a new buffer of cap bytes. */
static void move_to(struct ipop_frame_reader *r, size_t cap)
{
	uint8_t *nb = g_malloc(cap);

	if (r->len > 0)
		memcpy(nb, r->buf, r->len);
	if (r->buf)
		sodium_memzero(r->buf, r->cap);
	g_free(r->buf);
	r->buf = nb;
	r->cap = cap;
}

/* Drops consumed bytes and gives back memory a burst left behind. */
static void compact(struct ipop_frame_reader *r)
{
	size_t keep = r->len - r->off;

	wipe_consumed(r);
	if (r->off > 0) {
		if (keep > 0)
			memmove(r->buf, r->buf + r->off, keep);
		/* The tail the move left holds copies of kept bytes. */
		sodium_memzero(r->buf + keep, r->len - keep);
		r->scan -= r->off;
		r->len = keep;
		r->off = 0;
	}
	r->wiped = 0;
	if (r->cap > READER_KEEP_CAP && keep < r->cap / 4)
		move_to(r, MAX(keep, (size_t)READER_MIN_CAP));
}

static void reserve(struct ipop_frame_reader *r, size_t need)
{
	size_t cap = r->cap > 0 ? r->cap : READER_MIN_CAP;

	if (need <= r->cap)
		return;
	while (cap < need)
		cap = cap > G_MAXSIZE / 2 ? need : cap * 2;
	move_to(r, cap);
}

int ipop_frame_reader_feed(struct ipop_frame_reader *r, const uint8_t *data,
			   size_t len)
{
	/* untrusted: data comes straight from the peer's stream */
	r->has_last = false;
	if (r->err != 0)
		return r->err;
	if (len == 0)
		return 0;
	compact(r);
	r->err = check_headers(r, data, len);
	if (r->err != 0)
		return r->err;
	reserve(r, r->len + len);
	memcpy(r->buf + r->len, data, len);
	r->len += len;
	return 0;
}

int ipop_frame_reader_next(struct ipop_frame_reader *r, Ipop__Envelope **out)
{
	size_t avail = r->len - r->off;
	uint32_t n;
	int rc;

	*out = NULL;
	r->has_last = false;
	wipe_consumed(r);
	if (r->err != 0)
		return r->err;
	if (avail < IPOP_FRAME_HDR)
		return 0;
	n = get_be32(r->buf + r->off);
	if (n > IPOP_FRAME_MAX) {
		r->err = -EMSGSIZE;
		return r->err;
	}
	if (avail - IPOP_FRAME_HDR < n)
		return 0;
	rc = ipop_envelope_decode(r->buf + r->off + IPOP_FRAME_HDR, n, out);
	r->last = r->off + IPOP_FRAME_HDR;
	r->last_len = n;
	r->has_last = rc == 1;
	r->off += IPOP_FRAME_HDR + n;
	if (rc < 0)
		r->err = rc;
	return rc;
}

/*
 * protobuf-c accepts field number 0 when the tag is spelled as a non-minimal
 * varint (0x85 0x00) and keeps it as an unknown field, but refuses the same
 * field once it is packed again minimally (0x05).  Field 0 is invalid
 * protobuf, so refuse it everywhere; otherwise a message we accept could not
 * be forwarded.  Walks every sub-message through the descriptors.
 */
static bool has_field_zero(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const ProtobufCFieldDescriptor *f;
	const uint8_t *base = (const uint8_t *)m;
	ProtobufCMessage *const *sub;
	unsigned i;
	size_t j, n;

	for (i = 0; i < m->n_unknown_fields; i++)
		if (m->unknown_fields[i].tag == 0)
			return true;
	for (i = 0; i < d->n_fields; i++) {
		f = &d->fields[i];
		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)(base + f->quantifier_offset) != f->id)
			continue;
		n = 1;
		sub = (ProtobufCMessage *const *)(base + f->offset);
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *(const size_t *)(base + f->quantifier_offset);
			sub = *(ProtobufCMessage * *const *)(base + f->offset);
		}
		for (j = 0; j < n; j++)
			if (sub[j] != NULL && has_field_zero(sub[j]))
				return true;
	}
	return false;
}

int ipop_envelope_decode(const uint8_t *body, size_t len, Ipop__Envelope **out)
{
	static const uint8_t empty[1];
	Ipop__Envelope *env;

	/* untrusted: body */
	*out = NULL;
	if (len > IPOP_FRAME_MAX)
		return -EMSGSIZE;
	if (body == NULL || len == 0)
		body = empty;
	env = ipop__envelope__unpack(NULL, len, body);
	if (env == NULL)
		return -EBADMSG;
	if (has_field_zero(&env->base)) {
		ipop__envelope__free_unpacked(env, NULL);
		return -EBADMSG;
	}
	if (env->version != IPOP_PROTOCOL_VERSION) {
		ipop__envelope__free_unpacked(env, NULL);
		return -EPROTO;
	}
	*out = env;
	return 1;
}

uint8_t *ipop_frame_encode(Ipop__Envelope *env, size_t *len)
{
	size_t n;
	uint8_t *buf;

	*len = 0;
	if (env->version == 0)
		env->version = IPOP_PROTOCOL_VERSION;
	n = ipop__envelope__get_packed_size(env);
	if (n > IPOP_FRAME_MAX)
		return NULL;
	buf = g_malloc(IPOP_FRAME_HDR + n);
	put_be32(buf, (uint32_t)n);
	if (ipop__envelope__pack(env, buf + IPOP_FRAME_HDR) != n) {
		g_free(buf);
		return NULL;
	}
	*len = IPOP_FRAME_HDR + n;
	return buf;
}

/*
 * Waits for events on fd until deadline (monotonic us, <0: none).  A
 * deadline already past still polls once, so a timeout of 0 means "only
 * what is there now".
 */
static int wait_fd(int fd, short events, gint64 deadline)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	gint64 left;
	int ms, n;

	for (;;) {
		ms = -1;
		if (deadline >= 0) {
			left = MAX(deadline - g_get_monotonic_time(), 0);
			/* Round up so we never wake just before the deadline.
			 */
			ms = (int)MIN((left + 999) / 1000, (gint64)G_MAXINT);
		}
		n = poll(&pfd, 1, ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n > 0)
			return (pfd.revents & POLLNVAL) ? -EBADF : 0;
		if (g_get_monotonic_time() >= deadline)
			return -ETIMEDOUT;
	}
}

/* One send(MSG_NOSIGNAL), or write() once fd proved not to be a socket. */
static ssize_t send_some(int fd, const uint8_t *p, size_t n, bool *is_sock)
{
	ssize_t w;

	if (*is_sock) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w >= 0 || errno != ENOTSOCK)
			return w;
		*is_sock = false;
	}
	return write(fd, p, n);
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	bool is_sock = true;
	ssize_t w;
	int rc;

	while (n > 0) {
		w = send_some(fd, p, n, &is_sock);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if ((rc = wait_fd(fd, POLLOUT, -1)) < 0)
				return rc;
			continue;
		}
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int ipop_frame_write(int fd, Ipop__Envelope *env)
{
	uint8_t *buf;
	size_t len;
	int rc;

	buf = ipop_frame_encode(env, &len);
	if (buf == NULL)
		return -EMSGSIZE;
	rc = write_all(fd, buf, len);
	sodium_memzero(buf, len);
	g_free(buf);
	return rc;
}

int ipop_frame_read(int fd, struct ipop_frame_reader *r, Ipop__Envelope **out,
		    int timeout_ms)
{
	uint8_t chunk[READ_CHUNK];
	gint64 deadline = -1;
	ssize_t n;
	int rc;

	if (timeout_ms >= 0)
		deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	for (;;) {
		if ((rc = ipop_frame_reader_next(r, out)) != 0)
			return rc;
		if ((rc = wait_fd(fd, POLLIN, deadline)) < 0)
			return rc;
		n = read(fd, chunk, sizeof(chunk));
		if (n == 0)
			return 0;
		if (n < 0 &&
		    (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (n < 0)
			return -errno;
		rc = ipop_frame_reader_feed(r, chunk, (size_t)n);
		sodium_memzero(chunk, (size_t)n);
		if (rc < 0)
			return rc;
	}
}

int ipop_frame_flush(int fd, GByteArray *out)
{
	while (out->len) {
		ssize_t n =
		    send(fd, out->data, out->len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return -EAGAIN;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		g_byte_array_remove_range(out, 0, (guint)n);
		/* What the removal moved down is still behind the end. */
		sodium_memzero(out->data + out->len, (size_t)n);
	}
	return 0;
}

int ipop_frame_pump(int fd, struct ipop_frame_reader *r,
		    bool (*fn)(void *ctx, const Ipop__Envelope *env), void *ctx)
{
	uint8_t buf[16384];
	Ipop__Envelope *env;
	ssize_t n;
	int rc;

	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return IPOP_PUMP_MORE;
	if (n <= 0)
		return n < 0 ? -errno : 0;
	rc = ipop_frame_reader_feed(r, buf, (size_t)n);
	sodium_memzero(buf, (size_t)n);
	while (rc >= 0 && (rc = ipop_frame_reader_next(r, &env)) == 1) {
		bool go_on = fn(ctx, env);
		ipop__envelope__free_unpacked(env, NULL);
		if (!go_on)
			return IPOP_PUMP_STOPPED;
	}
	return rc < 0 ? rc : IPOP_PUMP_MORE;
}

const char *ipop_link_state_name(Ipop__LinkState s)
{
	switch (s) {
	case IPOP__LINK_STATE__GATHERING:
		return "gathering";
	case IPOP__LINK_STATE__CONNECTING:
		return "connecting";
	case IPOP__LINK_STATE__CONNECTED:
		return "connected";
	case IPOP__LINK_STATE__FAILED:
		return "failed";
	case IPOP__LINK_STATE__CLOSED:
		return "closed";
	default:
		return "unknown";
	}
}
