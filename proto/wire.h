/*
 * Checks on packed protobuf bytes that the unpacked message can no longer
 * answer.  protobuf-c hands a string field over as a NUL-terminated copy, so
 * a string sent with a NUL inside ("hs\0x") reads as its prefix ("hs"), and
 * it does not check UTF-8 at all.  This module walks the wire form of a
 * message through its descriptors and shows every string field exactly as
 * sent; what is acceptable is the caller's rule (common/names.h).  It owns
 * nothing and allocates nothing.
 */
#ifndef IPOP_WIRE_H
#define IPOP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

enum { IPOP_WIRE_PATH_MAX = 128 };

/* Called for each string field: path is the field's dotted name from the
 * outer message ("request.create_overlay.name", borrowed for the call), s
 * and len its bytes as sent.  Return false to stop the walk. */
typedef bool (*ipop_wire_string_fn)(void *ctx, const char *path,
				    const uint8_t *s, size_t len);

/* Walks the packed message buf (len bytes, untrusted) of type d, calling fn
 * for every string field, sub-messages included; unknown fields and other
 * types are skipped.  0 when every call returned true, 1 when fn stopped the
 * walk, -EBADMSG when the bytes are not a well-formed message. */
int ipop_wire_strings(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
		      size_t len, ipop_wire_string_fn fn, void *ctx);

#endif
