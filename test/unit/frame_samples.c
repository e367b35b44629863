/*
 * The sample envelopes of the framing tests: see frame_samples.h.
 */
#include <check.h>
#include <string.h>

#include <glib.h>

#include "frame_samples.h"

/* Writable strings, because protobuf-c's message structs take char *. */
static char str_client[] = "test";
static char str_uid[] = "0123456789abcdef0123456789abcdef01234567";
static char str_fine[] = "fine";
static char str_reason[] = "new controller";
static char str_relay[] = "relay";
static char str_addr[] = "127.0.0.1:3478";
static char str_ov[] = "ov";

static void sample_request(struct sample *s, int i)
{
	ipop__request__init(&s->req);
	s->env.body_case = IPOP__ENVELOPE__BODY_REQUEST;
	s->env.request = &s->req;
	if (i == 1) {
		ipop__hello__init(&s->hello);
		s->hello.protocol_version = IPOP_PROTOCOL_VERSION;
		s->hello.role = IPOP__ROLE__CONTROLLER;
		s->hello.client_name = str_client;
		s->req.kind_case = IPOP__REQUEST__KIND_HELLO;
		s->req.hello = &s->hello;
		return;
	}
	/* A big echo exercises multi-byte varints and large frames. */
	ipop__echo__init(&s->echo);
	s->echo.data.len = i == 2 ? 3 : 200 * 1024;
	s->data = g_malloc(s->echo.data.len);
	memset(s->data, 0xa5, s->echo.data.len);
	s->echo.data.data = s->data;
	s->req.kind_case = IPOP__REQUEST__KIND_ECHO;
	s->req.echo = &s->echo;
}

static void sample_response(struct sample *s)
{
	ipop__response__init(&s->resp);
	ipop__hello_reply__init(&s->reply);
	memset(s->key, 0x42, sizeof(s->key));
	s->reply.protocol_version = IPOP_PROTOCOL_VERSION;
	s->reply.uid = str_uid;
	s->reply.public_key.data = s->key;
	s->reply.public_key.len = sizeof(s->key);
	s->resp.status = IPOP__STATUS__OK;
	s->resp.message = str_fine;
	s->resp.result_case = IPOP__RESPONSE__RESULT_HELLO;
	s->resp.hello = &s->reply;
	s->env.body_case = IPOP__ENVELOPE__BODY_RESPONSE;
	s->env.response = &s->resp;
}

static void sample_event(struct sample *s, int i)
{
	ipop__event__init(&s->ev);
	s->env.body_case = IPOP__ENVELOPE__BODY_EVENT;
	s->env.event = &s->ev;
	if (i == 5) {
		ipop__controller_replaced_event__init(&s->replaced);
		s->replaced.reason = str_reason;
		s->ev.kind_case = IPOP__EVENT__KIND_CONTROLLER_REPLACED;
		s->ev.controller_replaced = &s->replaced;
		return;
	}
	ipop__link_state_changed_event__init(&s->link);
	ipop__candidate_pair__init(&s->pair);
	s->pair.local_type = str_relay;
	s->pair.remote_address = str_addr;
	s->link.overlay = str_ov;
	s->link.state = IPOP__LINK_STATE__CONNECTED;
	s->link.pair = &s->pair;
	s->ev.kind_case = IPOP__EVENT__KIND_LINK_STATE;
	s->ev.link_state = &s->link;
}

void sample_init(struct sample *s, int i)
{
	memset(s, 0, sizeof(*s));
	ipop__envelope__init(&s->env);
	s->env.request_id = i == 0 ? 0 : 1000 + (uint64_t)i * 0x100000001ull;
	if (i >= 1 && i <= 3)
		sample_request(s, i);
	else if (i == 4)
		sample_response(s);
	else if (i >= 5)
		sample_event(s, i);
}

void sample_clear(struct sample *s)
{
	g_free(s->data);
}

/* Deep equality through the (deterministic) packed form. */
void assert_same(Ipop__Envelope *a, Ipop__Envelope *b)
{
	size_t na = ipop__envelope__get_packed_size(a);
	size_t nb = ipop__envelope__get_packed_size(b);
	uint8_t *pa, *pb;

	ck_assert_uint_eq(na, nb);
	pa = g_malloc(na + 1);
	pb = g_malloc(nb + 1);
	ipop__envelope__pack(a, pa);
	ipop__envelope__pack(b, pb);
	ck_assert_mem_eq(pa, pb, na);
	g_free(pa);
	g_free(pb);
}

uint8_t *encode_id(uint64_t id, size_t *len)
{
	Ipop__Envelope env = IPOP__ENVELOPE__INIT;
	uint8_t *buf;

	env.request_id = id;
	buf = ipop_frame_encode(&env, len);
	ck_assert_ptr_nonnull(buf);
	return buf;
}

/* An echo request whose data is sized so the envelope packs to want. */
void echo_of_size(Ipop__Envelope *env, Ipop__Request *req, Ipop__Echo *echo,
		  uint8_t *data, size_t want)
{
	size_t n = want - 16;

	ipop__envelope__init(env);
	ipop__request__init(req);
	ipop__echo__init(echo);
	env->version = IPOP_PROTOCOL_VERSION;
	env->body_case = IPOP__ENVELOPE__BODY_REQUEST;
	env->request = req;
	req->kind_case = IPOP__REQUEST__KIND_ECHO;
	req->echo = echo;
	echo->data.data = data;
	for (;;) {
		echo->data.len = n;
		if (ipop__envelope__get_packed_size(env) >= want)
			break;
		n++;
	}
	ck_assert_uint_eq(ipop__envelope__get_packed_size(env), want);
}
