/*
 * The wire walker of wire.h.  It reads tags and lengths itself (varints of
 * at most ten bytes, lengths checked against what is left before anything
 * is touched) and follows only fields its descriptors name, so the depth is
 * bounded by the schema, not by the input.
 */
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "proto/wire.h"

enum {
	WT_VARINT = 0,
	WT_FIXED64 = 1,
	WT_LEN = 2,
	WT_FIXED32 = 5,
	VARINT_MAX = 10,
};

struct walk {
	ipop_wire_string_fn fn;
	void *ctx;
	char path[IPOP_WIRE_PATH_MAX];
};

/* Reads a varint at *p (below end): 0 and *p advanced, or -EBADMSG. */
static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	unsigned i;

	*v = 0;
	for (i = 0; i < VARINT_MAX && *p < end; i++) {
		uint8_t b = *(*p)++;
		*v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80))
			return 0;
	}
	return -EBADMSG;
}

/* Skips a field's value of wire type wt: 0, or -EBADMSG. */
static int skip(const uint8_t **p, const uint8_t *end, unsigned wt,
		uint64_t *len)
{
	uint64_t v;

	switch (wt) {
	case WT_VARINT:
		return get_varint(p, end, &v);
	case WT_FIXED64:
		*len = 8;
		break;
	case WT_FIXED32:
		*len = 4;
		break;
	case WT_LEN:
		break; /* *len was read with the tag */
	default:
		return -EBADMSG; /* groups: not in proto3 */
	}
	if (*len > (uint64_t)(end - *p))
		return -EBADMSG;
	*p += *len;
	return 0;
}

static int walk_msg(struct walk *w, const ProtobufCMessageDescriptor *d,
		    const uint8_t *p, const uint8_t *end, size_t plen);

/* One length-delimited field f of len bytes at p. */
static int visit(struct walk *w, const ProtobufCFieldDescriptor *f,
		 const uint8_t *p, size_t len, size_t plen)
{
	int n = g_snprintf(w->path + plen, sizeof(w->path) - plen, "%s%s",
			   plen ? "." : "", f->name);
	size_t sub = MIN(plen + (size_t)MAX(n, 0), sizeof(w->path) - 1);
	int r = 0;

	if (f->type == PROTOBUF_C_TYPE_STRING)
		r = w->fn(w->ctx, w->path, p, len) ? 0 : 1;
	else if (f->type == PROTOBUF_C_TYPE_MESSAGE)
		r = walk_msg(w, f->descriptor, p, p + len, sub);
	w->path[plen] = '\0';
	return r;
}

static int walk_msg(struct walk *w, const ProtobufCMessageDescriptor *d,
		    const uint8_t *p, const uint8_t *end, size_t plen)
{
	const ProtobufCFieldDescriptor *f;
	uint64_t key, len = 0;
	unsigned wt;
	int r;

	while (p < end) {
		if (get_varint(&p, end, &key) < 0 || (key >> 3) == 0 ||
		    (key >> 3) > UINT32_MAX)
			return -EBADMSG;
		wt = (unsigned)(key & 7);
		if (wt == WT_LEN && (get_varint(&p, end, &len) < 0 ||
				     len > (uint64_t)(end - p)))
			return -EBADMSG;
		f = protobuf_c_message_descriptor_get_field(
		    d, (unsigned)(key >> 3));
		if (wt == WT_LEN && f != NULL &&
		    (r = visit(w, f, p, (size_t)len, plen)) != 0)
			return r;
		if (skip(&p, end, wt, &len) < 0)
			return -EBADMSG;
	}
	return 0;
}

int ipop_wire_strings(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
		      size_t len, ipop_wire_string_fn fn, void *ctx)
{
	struct walk w = {.fn = fn, .ctx = ctx};

	/* untrusted: buf */
	if (buf == NULL)
		return len == 0 ? 0 : -EBADMSG;
	return walk_msg(&w, d, buf, buf + len, 0);
}
