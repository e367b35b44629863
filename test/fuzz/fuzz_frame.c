/*
 * libFuzzer harness for the control-protocol framing.  The input's first
 * byte says how many of the following bytes form a chunk plan; the rest is
 * a byte stream fed to a reader in chunks whose sizes cycle through the plan
 * (a plan byte of 0 feeds everything left), draining envelopes after every
 * feed.  Each envelope the reader yields is encoded again and must come back
 * through a fresh reader.  The whole input is also decoded as one frame
 * body.  Errors must be sticky, and everything is freed so LeakSanitizer
 * sees any leak.
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "proto/frame.h"

enum { MAX_PLAN = 16 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An envelope the reader produced must survive encode + read again. */
static void reencode(Ipop__Envelope *env)
{
	struct ipop_frame_reader *r;
	Ipop__Envelope *again;
	uint8_t *buf;
	size_t len;

	buf = ipop_frame_encode(env, &len);
	if (buf == NULL)
		return;
	r = ipop_frame_reader_new();
	assert(ipop_frame_reader_feed(r, buf, len) == 0);
	assert(ipop_frame_reader_next(r, &again) == 1);
	assert(again->request_id == env->request_id);
	assert(again->body_case == env->body_case);
	ipop__envelope__free_unpacked(again, NULL);
	assert(ipop_frame_reader_next(r, &again) == 0);
	assert(ipop_frame_reader_pending(r) == 0);
	ipop_frame_reader_free(r);
	g_free(buf);
}

/* Takes every envelope available; returns the reader's error or 0. */
static int drain(struct ipop_frame_reader *r)
{
	Ipop__Envelope *env;
	int rc;

	while ((rc = ipop_frame_reader_next(r, &env)) == 1) {
		assert(env != NULL);
		assert(env->version == IPOP_PROTOCOL_VERSION);
		reencode(env);
		ipop__envelope__free_unpacked(env, NULL);
	}
	assert(env == NULL);
	return rc;
}

static void feed_in_chunks(const uint8_t *plan, size_t nplan, const uint8_t *p,
			   size_t n)
{
	struct ipop_frame_reader *r = ipop_frame_reader_new();
	Ipop__Envelope *env;
	size_t i = 0, chunk;
	int rc = 0;

	while (n > 0 && rc == 0) {
		chunk = nplan > 0 ? plan[i++ % nplan] : 0;
		if (chunk == 0 || chunk > n)
			chunk = n;
		rc = ipop_frame_reader_feed(r, p, chunk);
		p += chunk;
		n -= chunk;
		if (rc == 0)
			rc = drain(r);
	}
	assert(rc <= 0);
	if (rc < 0) {
		/* After an error the reader must stay in that error. */
		assert(ipop_frame_reader_next(r, &env) == rc);
		assert(env == NULL);
		assert(ipop_frame_reader_feed(r, plan, nplan) == rc);
	}
	/* Drained and healthy: at most one unfinished frame is held. */
	if (rc == 0)
		assert(ipop_frame_reader_pending(r) <
		       (size_t)IPOP_FRAME_HDR + IPOP_FRAME_MAX);
	ipop_frame_reader_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Ipop__Envelope *env;
	size_t nplan;
	int rc;

	rc = ipop_envelope_decode(data, size, &env);
	assert(rc == 1 || rc == -EBADMSG || rc == -EPROTO || rc == -EMSGSIZE);
	if (rc == 1)
		ipop__envelope__free_unpacked(env, NULL);
	else
		assert(env == NULL);

	if (size == 0)
		return 0;
	nplan = MIN((size_t)data[0] % (MAX_PLAN + 1), size - 1);
	feed_in_chunks(data + 1, nplan, data + 1 + nplan, size - 1 - nplan);
	return 0;
}
