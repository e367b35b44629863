/*
 * Links end to end inside one process: two tc_link objects with their own
 * identities run real ICE (libnice) over 127.0.0.1, the Noise handshake and
 * the encrypted data path, and the ICE checks the fast receive path
 * answers.  No root, no namespaces, no TAP.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>
#include <sodium.h>
#include <stun/stunagent.h>
#include <stun/usages/bind.h>
#include <stun/usages/ice.h>

#include "tincan/env.h"
#include "tincan/identity.h"
#include "tincan/link.h"
#include "tincan/session.h"
#include "tincan/stun_answer.h"

#include "offload_frames.h"

struct side;
static bool got_all(struct side *a, struct side *b);

struct side {
	struct tc_identity *id;
	struct tc_ice_config ice;
	struct tc_env env;
	struct tc_link *link;
	unsigned frames;
	uint8_t last[2048];
	size_t last_len;
	struct tc_csum last_cs;
	enum tc_link_state state;
	bool gathered;
	uint32_t seq_sum; /* sum of the first 4 bytes of every frame */
	uint64_t bytes;
};

static bool no_tap(void *node, const char *ifname)
{
	(void)node;
	(void)ifname;
	return false;
}

static void emit(void *node, const struct tc_event *ev)
{
	struct side *s = node;

	if (ev->kind == TC_EVENT_LOCAL_CANDIDATES)
		s->gathered = true;
}

static void on_frame(void *owner, struct tc_link *l, uint8_t *frame, size_t len,
		     const struct tc_csum *cs)
{
	struct side *s = owner;

	(void)l;
	s->last_cs = *cs;
	s->frames++;
	s->bytes += len;
	if (len >= 4) {
		uint32_t seq;
		memcpy(&seq, frame, 4);
		s->seq_sum += seq;
	}
	s->last_len = MIN(len, sizeof(s->last));
	memcpy(s->last, frame, s->last_len);
}

static void on_state(void *owner, struct tc_link *l, enum tc_link_state st)
{
	struct side *s = owner;

	(void)l;
	s->state = st;
}

static const struct tc_link_ops ops = {.on_frame = on_frame,
				       .on_state = on_state};

static void side_init(struct side *s)
{
	memset(s, 0, sizeof(*s));
	s->id = tc_identity_generate();
	ck_assert_ptr_nonnull(s->id);
	s->env.ctx = g_main_context_default();
	s->env.id = s->id;
	s->env.ice = &s->ice;
	s->env.is_own_tap = no_tap;
	s->env.emit = emit;
	s->env.allow_loopback = true;
	s->env.node = s;
}

static void side_free(struct side *s)
{
	tc_link_free(s->link);
	tc_identity_free(s->id);
}

/* Runs the loop until cond holds or ms pass; returns cond. */
static bool run_until(bool (*cond)(struct side *, struct side *),
		      struct side *a, struct side *b, int ms)
{
	gint64 end = g_get_monotonic_time() + ms * 1000;

	while (!cond(a, b) && g_get_monotonic_time() < end)
		if (!g_main_context_iteration(NULL, FALSE))
			g_usleep(1000);
	return cond(a, b);
}

static bool both_gathered(struct side *a, struct side *b)
{
	return a->gathered && b->gathered;
}

static bool both_connected(struct side *a, struct side *b)
{
	return a->state == TC_LINK_CONNECTED && b->state == TC_LINK_CONNECTED;
}

static bool never(struct side *a, struct side *b)
{
	(void)a;
	(void)b;
	return false;
}

static bool got_all_240(struct side *a, struct side *b)
{
	(void)a;
	return b->frames >= 240;
}

static bool b_got_frame(struct side *a, struct side *b)
{
	(void)a;
	return b->frames > 0;
}

/* Wires a and b; b pins b_pins as a's key (a's real key unless a test
 * says otherwise). */
static void wire(struct side *a, struct side *b, const uint8_t *b_pins)
{
	a->link =
	    tc_link_new(&a->env, "ov", b->id->uid, b->id->pub, NULL, &ops, a);
	b->link = tc_link_new(&b->env, "ov", a->id->uid, b_pins, NULL, &ops, b);
	ck_assert_ptr_nonnull(a->link);
	ck_assert_ptr_nonnull(b->link);
	ck_assert(run_until(both_gathered, a, b, 3000));
	ck_assert_int_eq(tc_link_add_remote(a->link, tc_link_local(b->link)),
			 0);
	ck_assert_int_eq(tc_link_add_remote(b->link, tc_link_local(a->link)),
			 0);
}

START_TEST(test_link_carries_frames)
{
	struct side a, b;
	uint8_t frame[1400];

	side_init(&a);
	side_init(&b);
	wire(&a, &b, a.id->pub);
	ck_assert_msg(run_until(both_connected, &a, &b, 5000),
		      "links did not connect: %d %d", a.state, b.state);
	randombytes_buf(frame, sizeof(frame));
	ck_assert_int_eq(tc_link_send_frame(a.link, frame, sizeof(frame), NULL),
			 0);
	tc_link_flush(a.link);
	ck_assert(run_until(b_got_frame, &a, &b, 2000));
	ck_assert_uint_eq(b.last_len, sizeof(frame));
	ck_assert_mem_eq(b.last, frame, sizeof(frame));
	side_free(&a);
	side_free(&b);
}
END_TEST

/* A partial-checksum frame arrives with its checksum description; one
 * whose description points outside the frame (a peer's lie) is dropped. */
START_TEST(test_link_carries_partial_frames)
{
	struct side a, b;
	uint8_t frame[200];
	const struct tc_csum good = {34, 16}, bad = {190, 16};
	struct tc_link_info info;

	side_init(&a);
	side_init(&b);
	wire(&a, &b, a.id->pub);
	ck_assert(run_until(both_connected, &a, &b, 5000));
	randombytes_buf(frame, sizeof(frame));
	ck_assert_int_eq(
	    tc_link_send_frame(a.link, frame, sizeof(frame), &good), 0);
	tc_link_flush(a.link);
	ck_assert(run_until(b_got_frame, &a, &b, 2000));
	ck_assert_uint_eq(b.last_len, sizeof(frame));
	ck_assert_mem_eq(b.last, frame, sizeof(frame));
	ck_assert_uint_eq(b.last_cs.start, 34);
	ck_assert_uint_eq(b.last_cs.offset, 16);
	ck_assert_int_eq(tc_link_send_frame(a.link, frame, sizeof(frame), &bad),
			 0);
	tc_link_flush(a.link);
	run_until(never, &a, &b, 300);
	ck_assert_uint_eq(b.frames, 1);
	tc_link_get_info(b.link, &info);
	ck_assert_uint_ge(info.dropped, 1);
	side_free(&a);
	side_free(&b);
}
END_TEST

static struct frame tso; /* too big for a check stack frame */
static unsigned want_frames;

static bool b_got_want_frames(struct side *a, struct side *b)
{
	(void)a;
	return b->frames >= want_frames;
}

/* A TSO frame cut straight into the batch arrives as the segments
 * tc_gso_segment makes (each partial, in order), counted as sent. */
START_TEST(test_link_carries_tso)
{
	struct spec sp = {.payload = 20000, .flags = 0x18, .seq = 7};
	struct side a, b;
	struct virtio_net_hdr h;
	struct tc_gso_cut cut;
	struct tc_link_info info;
	uint64_t bytes = 0;
	size_t i;
	int n;

	side_init(&a);
	side_init(&b);
	wire(&a, &b, a.id->pub);
	ck_assert(run_until(both_connected, &a, &b, 5000));
	of_build(&sp, &tso);
	h = of_tso_hdr(&tso, 1348);
	of_out_reset();
	n = tc_gso_segment(&h, tso.b, tso.len, 1514, of_on_segment, &of_out);
	ck_assert_int_eq(n, 15);
	for (i = 0; i < (size_t)n; i++)
		bytes += of_out.r[i].len;
	ck_assert_int_eq(tc_gso_begin(&cut, &h, tso.b, tso.len, 1514), n);
	ck_assert_int_eq(tc_link_send_tso(a.link, &cut), 0);
	tc_link_flush(a.link);
	want_frames = (unsigned)n;
	ck_assert(run_until(b_got_want_frames, &a, &b, 2000));
	ck_assert_uint_eq(b.frames, (unsigned)n);
	ck_assert_uint_eq(b.bytes, bytes);
	ck_assert_uint_eq(b.last_len, of_out.r[n - 1].len);
	ck_assert_mem_eq(b.last, of_out.r[n - 1].b, b.last_len);
	ck_assert_uint_eq(b.last_cs.start, tso.l4);
	ck_assert_uint_eq(b.last_cs.offset, 16);
	tc_link_get_info(a.link, &info);
	ck_assert_uint_eq(info.tx_packets, (uint64_t)n);
	ck_assert_uint_eq(info.dropped, 0);
	of_out_reset();
	side_free(&a);
	side_free(&b);
}
END_TEST

static bool both_fast(struct side *a, struct side *b)
{
	return tc_link_fast_rx(a->link) && tc_link_fast_rx(b->link);
}

/* Once ICE is done and the handshake complete, each side reads its socket
 * itself (recvmmsg + UDP_GRO): bursts sent as UDP segmentation offload
 * messages, with a shorter packet closing some of them, all arrive in
 * order and nothing fails authentication. */
START_TEST(test_link_fast_receive)
{
	static const size_t sizes[] = {1400, 1400, 1400, 60, 1400, 900};
	struct side a, b;
	uint8_t frame[1400];
	uint32_t sum = 0;
	uint64_t bytes = 0;
	struct tc_link_info info;
	unsigned i;

	side_init(&a);
	side_init(&b);
	wire(&a, &b, a.id->pub);
	ck_assert(run_until(both_connected, &a, &b, 5000));
	ck_assert_msg(run_until(both_fast, &a, &b, 5000),
		      "fast receive path not taken: %d %d",
		      tc_link_fast_rx(a.link), tc_link_fast_rx(b.link));
	memset(frame, 0x5c, sizeof(frame));
	for (i = 0; i < 240; i++) {
		size_t len = sizes[i % G_N_ELEMENTS(sizes)];
		uint32_t seq = i + 1;

		memcpy(frame, &seq, 4);
		sum += seq;
		bytes += len;
		ck_assert_int_eq(tc_link_send_frame(a.link, frame, len, NULL),
				 0);
		if (i % 60 == 59)
			tc_link_flush(a.link);
	}
	ck_assert(run_until(got_all_240, &a, &b, 3000));
	ck_assert_uint_eq(b.frames, 240);
	ck_assert_uint_eq(b.seq_sum, sum);
	ck_assert_uint_eq(b.bytes, bytes);
	tc_link_get_info(b.link, &info);
	ck_assert_uint_eq(info.dropped, 0);
	side_free(&a);
	side_free(&b);
}
END_TEST

START_TEST(test_link_wrong_key_never_connects)
{
	struct side a, b;
	struct tc_identity *other = tc_identity_generate();
	uint8_t frame[64] = {0};

	side_init(&a);
	side_init(&b);
	/* b expects `other`, but a proves its own key. */
	wire(&a, &b, other->pub);
	ck_assert(!run_until(both_connected, &a, &b, 3000));
	ck_assert_int_ne(a.state, TC_LINK_CONNECTED);
	ck_assert_int_ne(b.state, TC_LINK_CONNECTED);
	ck_assert_int_lt(tc_link_send_frame(a.link, frame, sizeof(frame), NULL),
			 0);
	ck_assert_uint_eq(b.frames, 0);
	tc_identity_free(other);
	side_free(&a);
	side_free(&b);
}
END_TEST

START_TEST(test_link_rejects_bad_remote)
{
	struct side a;
	struct tc_ice_creds bad = {0};
	char *cands[] = {(char *)(uintptr_t) "a=candidate:garbage"};
	struct tc_identity *peer = tc_identity_generate();

	side_init(&a);
	a.link =
	    tc_link_new(&a.env, "ov", peer->uid, peer->pub, NULL, &ops, &a);
	ck_assert_ptr_nonnull(a.link);
	bad.ufrag = "abcd";
	bad.pwd = "short";
	ck_assert_int_eq(tc_link_add_remote(a.link, &bad), -EINVAL);
	bad.pwd = "abcdefghijklmnopqrstuvwxyz";
	bad.candidates = cands;
	bad.n_candidates = 1;
	ck_assert_int_eq(tc_link_add_remote(a.link, &bad), -EINVAL);
	tc_identity_free(peer);
	side_free(&a);
}
END_TEST

/* A link removed while it is still gathering (a TURN server that never
 * answers keeps it there) frees cleanly. */
START_TEST(test_link_free_while_gathering)
{
	struct side a;
	struct tc_identity *peer = tc_identity_generate();

	side_init(&a);
	g_strlcpy(a.ice.turn[0].address, "127.0.0.1", 64);
	a.ice.turn[0].port = 9; /* discard: nothing answers */
	g_strlcpy(a.ice.turn[0].username, "u", 128);
	g_strlcpy(a.ice.turn[0].password, "p", 128);
	a.ice.n_turn = 1;
	a.link =
	    tc_link_new(&a.env, "ov", peer->uid, peer->pub, NULL, &ops, &a);
	ck_assert_ptr_nonnull(a.link);
	ck_assert_ptr_null(tc_link_local(a.link));
	tc_identity_free(peer);
	side_free(&a);
}
END_TEST

static unsigned want;

static bool got_all(struct side *a, struct side *b)
{
	(void)a;
	return b->frames >= 203;
}

static bool got_want(struct side *a, struct side *b)
{
	(void)a;
	return b->frames >= want;
}

/* Batches (one UDP segmentation send of equal-sized packets, a size change
 * starting a new batch, jumbo frames that do not fit one send) arrive
 * complete and intact. */
START_TEST(test_link_batches)
{
	struct side a, b;
	uint8_t frame[9000];
	uint32_t sum = 0;
	uint64_t bytes = 0;
	unsigned i;
	static const size_t sizes[] = {1400, 1400, 1400, 60, 1400, 9000};

	side_init(&a);
	side_init(&b);
	wire(&a, &b, a.id->pub);
	ck_assert(run_until(both_connected, &a, &b, 5000));
	memset(frame, 0xab, sizeof(frame));
	for (i = 0; i < 203; i++) {
		size_t len = i < 100 ? 1400 : sizes[i % G_N_ELEMENTS(sizes)];
		uint32_t seq = i + 1;

		memcpy(frame, &seq, 4);
		sum += seq;
		bytes += len;
		ck_assert_int_eq(tc_link_send_frame(a.link, frame, len, NULL),
				 0);
		/* Let b read before its socket buffer (one process) fills. */
		if (i % 40 == 39) {
			tc_link_flush(a.link);
			want = i + 1;
			ck_assert(run_until(got_want, &a, &b, 2000));
		}
	}
	tc_link_flush(a.link);
	ck_assert_msg(run_until(got_all, &a, &b, 3000), "got %u of 203",
		      b.frames);
	ck_assert_uint_eq(b.frames, 203);
	ck_assert_uint_eq(b.seq_sum, sum);
	ck_assert_uint_eq(b.bytes, bytes);
	side_free(&a);
	side_free(&b);
}
END_TEST

static bool b_failed(struct side *a, struct side *b)
{
	(void)a;
	return b->state == TC_LINK_FAILED;
}

/* A removed link tells its peer: b learns well before its liveness probe
 * (TC_LINK_DEAD_MS) would. */
START_TEST(test_link_close_reaches_peer)
{
	struct side a, b;
	gint64 t0;

	side_init(&a);
	side_init(&b);
	wire(&a, &b, a.id->pub);
	ck_assert(run_until(both_connected, &a, &b, 5000));
	t0 = g_get_monotonic_time();
	tc_link_free(a.link);
	a.link = NULL;
	ck_assert(run_until(b_failed, &a, &b, TC_LINK_DEAD_MS / 2));
	ck_assert_int_lt(g_get_monotonic_time() - t0,
			 (gint64)TC_LINK_DEAD_MS / 2 * 1000);
	side_free(&a);
	side_free(&b);
}
END_TEST

/* A UDP socket of a stranger, connected to the local end of l's pair
 * ("ip:port" or "[ip6]:port"). */
static int stranger_to(struct tc_link *l)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
	struct tc_link_info info;
	struct timeval tv = {0, 1000};
	char ip[INET6_ADDRSTRLEN + 8];
	char *colon;
	uint16_t port;
	int fd;

	tc_link_get_info(l, &info);
	ck_assert_ptr_nonnull(info.pair);
	g_strlcpy(ip, info.pair->local_addr + (info.pair->local_addr[0] == '['),
		  sizeof(ip));
	colon = strrchr(ip, ':');
	ck_assert_ptr_nonnull(colon);
	port = (uint16_t)atoi(colon + 1);
	*colon = '\0';
	if (colon > ip && colon[-1] == ']')
		colon[-1] = '\0';
	if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(port);
	} else {
		ck_assert_int_eq(inet_pton(AF_INET6, ip, &v6->sin6_addr), 1);
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(port);
	}
	fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	ck_assert_int_eq(
	    connect(fd, (struct sockaddr *)&ss,
		    ss.ss_family == AF_INET ? sizeof(*v4) : sizeof(*v6)),
	    0);
	return fd;
}

/* Sends n datagrams of len bytes (junk when init is NULL, else init) and
 * runs the loop a little after each batch of 50. */
static void stranger_send(int fd, const uint8_t *init, size_t len, unsigned n,
			  struct side *a, struct side *b)
{
	uint8_t junk[116];
	unsigned i;

	for (i = 0; i < n; i++) {
		randombytes_buf(junk, sizeof(junk));
		ck_assert_int_eq(send(fd, init ? init : junk, len, 0),
				 (ssize_t)len);
		if (i % 50 == 49)
			run_until(never, a, b, 5);
	}
	run_until(never, a, b, 50);
}

/* Cookie replies the stranger got back. */
static unsigned cookies_back(int fd)
{
	uint8_t buf[256];
	unsigned n = 0;
	ssize_t r;

	while ((r = recv(fd, buf, sizeof(buf), 0)) > 0)
		n += r == TC_COOKIE_REPLY_LEN && buf[0] == TC_MSG_COOKIE;
	return n;
}

/* On the fast path, a stranger's junk and its initiations from a
 * non-member key (valid mac1: it knows the responder's public key) cost a
 * lookup, or a cookie reply to its own address, never the link: the
 * members' frames keep flowing and the counters say what happened. */
START_TEST(test_link_stranger_flood)
{
	struct side a, b, *r;
	uint8_t spriv[32], spub[32], init[TC_INIT_LEN], frame[200];
	struct tc_session *x;
	struct tc_guard_counters tot;
	struct tc_link_info info, info0;
	struct tc_time t;
	unsigned before;
	gint64 t0, ms;
	int fd;

	side_init(&a);
	side_init(&b);
	wire(&a, &b, a.id->pub);
	ck_assert(run_until(both_connected, &a, &b, 5000));
	ck_assert(run_until(both_fast, &a, &b, 5000));
	r = strcmp(a.id->uid, b.id->uid) < 0 ? &b : &a; /* the responder */
	fd = stranger_to(r->link);
	tc_link_get_info(r->link, &info0); /* the members' own handshake */
	ck_assert_uint_eq(info0.guard.init_received, info0.guard.init_passed);
	stranger_send(fd, NULL, 116, 300, &a, &b);
	tc_link_get_info(r->link, &info);
	ck_assert_uint_eq(info.guard.junk, info0.guard.junk + 300);
	ck_assert_uint_eq(info.guard.init_received, info0.guard.init_received);

	crypto_box_keypair(spub, spriv);
	x = tc_session_new(true, spriv, spub, r->id->pub, NULL);
	t.mono_ms = 1;
	t.wall_ns = (uint64_t)g_get_real_time() * 1000;
	ck_assert_int_eq(tc_session_initiate(x, &t, init, sizeof(init)),
			 TC_INIT_LEN);
	t0 = g_get_monotonic_time();
	stranger_send(fd, init, sizeof(init), 2 * TC_GUARD_LOAD_PER_S, &a, &b);
	ms = (g_get_monotonic_time() - t0) / 1000 + 1;
	tc_link_get_info(r->link, &info);
	ck_assert_uint_eq(info.guard.init_received,
			  info0.guard.init_received + 2 * TC_GUARD_LOAD_PER_S);
	/* DH only within the global budget (its burst and its refill). */
	ck_assert_uint_le(info.guard.init_passed - info0.guard.init_passed,
			  TC_GUARD_GLOBAL_BURST +
			      (uint64_t)ms * TC_GUARD_GLOBAL_PER_S / 1000 + 1);
	ck_assert_uint_ge(info.guard.cookie_sent, 1);
	ck_assert_uint_le(info.guard.cookie_sent, TC_GUARD_COOKIE_BURST + 2);
	ck_assert_uint_eq(cookies_back(fd), info.guard.cookie_sent);
	tc_link_guard_totals(&tot);
	ck_assert(tot.under_load);
	ck_assert_uint_ge(tot.junk, 300);

	/* The members never noticed. */
	before = (r == &b ? b : a).frames;
	memset(frame, 0x42, sizeof(frame));
	ck_assert_int_eq(tc_link_send_frame((r == &b ? a : b).link, frame,
					    sizeof(frame), NULL),
			 0);
	tc_link_flush((r == &b ? a : b).link);
	(void)run_until(never, &a, &b, 200); /* just runs the loop */
	ck_assert_uint_eq(r->frames, before + 1);
	ck_assert_int_eq(r->state, TC_LINK_CONNECTED);
	tc_session_free(x);
	close(fd);
	side_free(&a);
	side_free(&b);
}
END_TEST

/* A connectivity check of the peer's as its libnice agent makes it, for
 * l's stream (USERNAME "l's ufrag:the peer's", keyed with pwd, l's
 * password when NULL), in the role l does not have; its length. */
static size_t peer_check(StunAgent *agent, struct tc_link *l, const char *pwd,
			 uint8_t *buf, size_t room)
{
	const struct tc_ice_creds *c = tc_link_local(l);
	struct tc_link_info info;
	char *user = g_strdup_printf("%s:Pe3r", c->ufrag);
	StunMessage msg;
	size_t n;

	tc_link_get_info(l, &info);
	if (!pwd)
		pwd = c->pwd;
	n = stun_usage_ice_conncheck_create(
	    agent, &msg, buf, room, (const uint8_t *)user, strlen(user),
	    (const uint8_t *)pwd, strlen(pwd), false, !info.controlling,
	    0x6e7f00ff, 0x0102030405060708ULL, NULL,
	    STUN_USAGE_ICE_COMPATIBILITY_RFC5245);
	g_free(user);
	ck_assert_uint_gt(n, 0);
	return n;
}

/* Runs the loop until fd receives a datagram (its length) or 300 ms
 * pass (-1). */
static ssize_t reply_to(int fd, struct side *a, struct side *b, uint8_t *buf,
			size_t room)
{
	ssize_t r = -1;
	int i;

	for (i = 0; i < 30 && r < 0; i++) {
		(void)run_until(never, a, b, 10);
		r = recv(fd, buf, room, MSG_DONTWAIT);
	}
	return r;
}

/* Once the fast path reads the socket, libnice sees nothing arriving
 * there: the peer's connectivity check (here from an address the link has
 * not heard from, as after the peer's NAT rebinding) is answered by
 * tincan with a success response to its transaction that the peer's agent
 * accepts, naming the address it came from; a keepalive indication is
 * consumed, no drop; a check keyed with another password gets nothing and
 * counts as junk, like any datagram that is not ours. */
START_TEST(test_link_fast_answers_checks)
{
	struct side a, b;
	StunAgent peer;
	StunMessage msg;
	uint8_t req[256], rsp[512];
	struct sockaddr_storage me, mapped;
	socklen_t me_len = sizeof(me), mapped_len = sizeof(mapped);
	struct tc_link_info info0, info;
	size_t len;
	ssize_t n;
	int fd;

	side_init(&a);
	side_init(&b);
	wire(&a, &b, a.id->pub);
	ck_assert(run_until(both_connected, &a, &b, 5000));
	ck_assert(run_until(both_fast, &a, &b, 5000));
	fd = stranger_to(a.link);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&me, &me_len), 0);
	stun_agent_init(&peer, STUN_ALL_KNOWN_ATTRIBUTES,
			STUN_COMPATIBILITY_RFC5389,
			STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS |
			    STUN_AGENT_USAGE_USE_FINGERPRINT);
	tc_link_get_info(a.link, &info0);

	len = peer_check(&peer, a.link, NULL, req, sizeof(req));
	ck_assert_int_eq(send(fd, req, len, 0), (ssize_t)len);
	n = reply_to(fd, &a, &b, rsp, sizeof(rsp));
	ck_assert_msg(n > TC_STUN_HEADER_LEN, "no answer to the check: %zd", n);
	ck_assert_mem_eq(rsp + 8, req + 8, 12); /* the transaction */
	ck_assert_int_eq(
	    stun_agent_validate(&peer, &msg, rsp, (size_t)n, NULL, NULL),
	    STUN_VALIDATION_SUCCESS);
	ck_assert_int_eq(stun_message_get_class(&msg), STUN_RESPONSE);
	ck_assert_int_eq(stun_usage_ice_conncheck_process(
			     &msg, &mapped, &mapped_len,
			     STUN_USAGE_ICE_COMPATIBILITY_RFC5245),
			 STUN_USAGE_ICE_RETURN_SUCCESS);
	ck_assert_uint_eq(mapped_len, me_len);
	ck_assert_mem_eq(&mapped, &me, me_len);

	len = stun_usage_bind_keepalive(&peer, &msg, req, sizeof(req));
	ck_assert_int_eq(tc_stun_kind(req, len), TC_STUN_INDICATION);
	ck_assert_int_eq(send(fd, req, len, 0), (ssize_t)len);
	ck_assert_int_lt(reply_to(fd, &a, &b, rsp, sizeof(rsp)), 0);
	tc_link_get_info(a.link, &info);
	ck_assert_uint_eq(info.dropped, info0.dropped);
	ck_assert_uint_eq(info.guard.junk, info0.guard.junk);

	len = peer_check(&peer, a.link, "another-password-of-22", req,
			 sizeof(req));
	ck_assert_int_eq(send(fd, req, len, 0), (ssize_t)len);
	ck_assert_int_lt(reply_to(fd, &a, &b, rsp, sizeof(rsp)), 0);
	tc_link_get_info(a.link, &info);
	ck_assert_uint_eq(info.dropped, info0.dropped + 1);
	ck_assert_uint_eq(info.guard.junk, info0.guard.junk + 1);
	ck_assert_int_eq(a.state, TC_LINK_CONNECTED);
	ck_assert(tc_link_fast_rx(a.link));
	close(fd);
	side_free(&a);
	side_free(&b);
}
END_TEST

Suite *suite_link(void)
{
	Suite *s = suite_create("link");
	TCase *tc = tcase_create("loopback");

	tcase_set_timeout(tc, 15);
	tcase_add_test(tc, test_link_carries_frames);
	tcase_add_test(tc, test_link_carries_partial_frames);
	tcase_add_test(tc, test_link_carries_tso);
	tcase_add_test(tc, test_link_fast_receive);
	tcase_add_test(tc, test_link_wrong_key_never_connects);
	tcase_add_test(tc, test_link_rejects_bad_remote);
	tcase_add_test(tc, test_link_free_while_gathering);
	tcase_add_test(tc, test_link_batches);
	tcase_add_test(tc, test_link_close_reaches_peer);
	tcase_add_test(tc, test_link_stranger_flood);
	tcase_add_test(tc, test_link_fast_answers_checks);
	suite_add_tcase(s, tc);
	return s;
}
