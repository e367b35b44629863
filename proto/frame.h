/*
 * Framing of the control protocol: a 4-byte big-endian length followed by one
 * serialized ipop.Envelope.  This module owns the byte-level reader (which
 * accumulates a stream and yields whole envelopes) and the encoder; it does
 * no I/O of its own except the small blocking helpers used by clients.
 * Lengths over IPOP_FRAME_MAX are refused before anything is allocated.
 */
#ifndef IPOP_FRAME_H
#define IPOP_FRAME_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/ipop.pb-c.h"

enum {
	IPOP_PROTOCOL_VERSION = 1,
	IPOP_FRAME_HDR = 4,
	IPOP_FRAME_MAX = 256 * 1024, /* largest envelope accepted, bytes */
};

struct ipop_frame_reader;

/* Returns a new, empty reader (never NULL; aborts on OOM like GLib). */
struct ipop_frame_reader *ipop_frame_reader_new(void);
/* Frees r; NULL is a no-op. */
void ipop_frame_reader_free(struct ipop_frame_reader *r);
/* Appends len bytes (borrows data).  0, or -EMSGSIZE once a declared length
 * exceeds IPOP_FRAME_MAX (the stream is then unusable: close it). */
int ipop_frame_reader_feed(struct ipop_frame_reader *r, const uint8_t *data,
			   size_t len);
/* Takes the next whole envelope: 1 with *out set (caller frees it with
 * ipop__envelope__free_unpacked(*out, NULL)), 0 when more bytes are needed,
 * -EMSGSIZE for an oversized length, -EBADMSG for an undecodable body,
 * -EPROTO for a wrong envelope version.  After an error the reader stays in
 * error and the stream should be closed. */
int ipop_frame_reader_next(struct ipop_frame_reader *r, Ipop__Envelope **out);
/* The packed body (no length header) of the envelope next() returned last,
 * *len its size: for checks the unpacked message cannot answer (wire.h).
 * Valid until the next call to next() or feed(); NULL before the first. */
const uint8_t *ipop_frame_reader_last(const struct ipop_frame_reader *r,
				      size_t *len);
/* Bytes buffered but not yet returned as envelopes. */
size_t ipop_frame_reader_pending(const struct ipop_frame_reader *r);

/* Decodes one frame body (no length header).  1 with *out set, -EBADMSG,
 * -EPROTO, or -EMSGSIZE as above.  untrusted: body. */
int ipop_envelope_decode(const uint8_t *body, size_t len, Ipop__Envelope **out);
/* Encodes env with its length header into a new g_malloc'd buffer; *len gets
 * the total size.  Sets env->version if it is 0.  NULL if the packed size
 * exceeds IPOP_FRAME_MAX. */
uint8_t *ipop_frame_encode(Ipop__Envelope *env, size_t *len);

enum {
	IPOP_PUMP_MORE = 1,    /* keep watching the socket */
	IPOP_PUMP_STOPPED = 2, /* the handler said stop */
};

/* Reads once from the non-blocking stream fd (untrusted bytes), feeds r and
 * hands every whole envelope to fn (borrowed for the call) until fn returns
 * false, after which neither r nor ctx is touched again.  Returns
 * IPOP_PUMP_MORE, IPOP_PUMP_STOPPED, 0 on EOF, -errno on a read error, or
 * the reader's error (-EMSGSIZE, -EBADMSG, -EPROTO). */
int ipop_frame_pump(int fd, struct ipop_frame_reader *r,
		    bool (*fn)(void *ctx, const Ipop__Envelope *env),
		    void *ctx);

/* The lower-case name of a link state ("connected"), "unknown" if none. */
const char *ipop_link_state_name(Ipop__LinkState s);

/* Non-blocking output queue of a stream socket: writes as much of out as
 * the socket takes and removes it from out.  0 when out is empty, -EAGAIN
 * when some is left (watch for G_IO_OUT), -EPIPE when the peer closed, or
 * another -errno. */
int ipop_frame_flush(int fd, GByteArray *out);

/* Blocking client helpers.  write_all sends one framed envelope: 0 or -errno.
 * read waits at most timeout_ms (<0: forever) for one envelope: 1 with *out
 * set, 0 on EOF, -ETIMEDOUT, or a reader error as above. */
int ipop_frame_write(int fd, Ipop__Envelope *env);
int ipop_frame_read(int fd, struct ipop_frame_reader *r, Ipop__Envelope **out,
		    int timeout_ms);

#endif
