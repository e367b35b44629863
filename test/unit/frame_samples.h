/*
 * Sample envelopes the framing tests share (test_frame.c: codec and
 * reader; test_frame_io.c: the blocking helpers), defined in
 * frame_samples.c.
 */
#ifndef TEST_FRAME_SAMPLES_H
#define TEST_FRAME_SAMPLES_H

#include <stddef.h>
#include <stdint.h>

#include "proto/frame.h"

/* Storage for one sample envelope and every sub-message it may point to. */
struct sample {
	Ipop__Envelope env;
	Ipop__Request req;
	Ipop__Response resp;
	Ipop__Event ev;
	Ipop__Hello hello;
	Ipop__HelloReply reply;
	Ipop__Echo echo;
	Ipop__ControllerReplacedEvent replaced;
	Ipop__LinkStateChangedEvent link;
	Ipop__CandidatePair pair;
	uint8_t key[32];
	uint8_t *data;
};

enum { N_SAMPLES = 7 };

/* Sample i: 0 no body, 1 hello, 2 small echo, 3 big echo, 4 response,
 * 5 controller_replaced event, 6 link-state event. */
void sample_init(struct sample *s, int i);
void sample_clear(struct sample *s);
/* Deep equality through the (deterministic) packed form. */
void assert_same(Ipop__Envelope *a, Ipop__Envelope *b);
/* The encoded frame of an envelope with only a request_id (g_free it). */
uint8_t *encode_id(uint64_t id, size_t *len);
/* An echo request whose data is sized so the envelope packs to want. */
void echo_of_size(Ipop__Envelope *env, Ipop__Request *req, Ipop__Echo *echo,
		  uint8_t *data, size_t want);

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

#endif
