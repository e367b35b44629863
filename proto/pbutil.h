/*
 * Small helpers for filling protobuf-c messages, shared by tincan and the
 * clients.  protobuf-c declares string fields as `char *` even where a
 * message only borrows a constant for the time of packing.
 */
#ifndef IPOP_PBUTIL_H
#define IPOP_PBUTIL_H

#include <stdint.h>

/* Lends a constant string to a message field that is only packed, never
 * written through. */
static inline char *ipop_cstr(const char *s)
{
	return (char *)(uintptr_t)s;
}

/* Lends constant bytes the same way. */
static inline uint8_t *ipop_cbytes(const void *p)
{
	return (uint8_t *)(uintptr_t)p;
}

#endif
