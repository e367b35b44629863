/*
 * Tests of proto/frame.c's I/O: the blocking helpers over socketpairs and
 * pipes (partial writes, timeouts, EOF, a vanished peer) and the
 * non-blocking output queue.  Nothing here needs root.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "frame_samples.h"

static void make_pair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
}

START_TEST(test_socket_round_trip)
{
	struct ipop_frame_reader *r = ipop_frame_reader_new();
	Ipop__Envelope *out;
	struct sample s;
	int sv[2], i;

	make_pair(sv);
	for (i = 0; i < N_SAMPLES; i++) {
		sample_init(&s, i);
		ck_assert_int_eq(ipop_frame_write(sv[0], &s.env), 0);
		sample_clear(&s);
	}
	for (i = 0; i < N_SAMPLES; i++) {
		ck_assert_int_eq(ipop_frame_read(sv[1], r, &out, 2000), 1);
		sample_init(&s, i);
		s.env.version = IPOP_PROTOCOL_VERSION;
		assert_same(out, &s.env);
		sample_clear(&s);
		ipop__envelope__free_unpacked(out, NULL);
	}
	ck_assert_int_eq(ipop_frame_read(sv[1], r, &out, 0), -ETIMEDOUT);
	close(sv[0]);
	close(sv[1]);
	ipop_frame_reader_free(r);
}
END_TEST

struct writer {
	int fd;
	int rc;
};

static gpointer write_big(gpointer p)
{
	struct writer *w = p;
	struct sample s;

	sample_init(&s, 3);
	w->rc = ipop_frame_write(w->fd, &s.env);
	sample_clear(&s);
	return NULL;
}

/* A non-blocking writer with a tiny send buffer forces partial writes. */
START_TEST(test_socket_partial_writes)
{
	struct ipop_frame_reader *r = ipop_frame_reader_new();
	struct writer w = {.rc = 1};
	int sv[2], small = 1024;
	Ipop__Envelope *out;
	GThread *t;

	make_pair(sv);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	ck_assert_int_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	w.fd = sv[0];
	t = g_thread_new("writer", write_big, &w);
	ck_assert_int_eq(ipop_frame_read(sv[1], r, &out, 10000), 1);
	g_thread_join(t);
	ck_assert_int_eq(w.rc, 0);
	ck_assert_int_eq(out->body_case, IPOP__ENVELOPE__BODY_REQUEST);
	ck_assert_uint_eq(out->request->echo->data.len, 200 * 1024);
	ck_assert_uint_eq(out->request->echo->data.data[200 * 1024 - 1], 0xa5);
	ipop__envelope__free_unpacked(out, NULL);
	close(sv[0]);
	close(sv[1]);
	ipop_frame_reader_free(r);
}
END_TEST

static const int timeouts_ms[] = {0, 50, 200};

START_TEST(test_socket_timeout)
{
	struct ipop_frame_reader *r = ipop_frame_reader_new();
	const uint8_t partial[] = {0, 0, 0, 9, 0x08};
	Ipop__Envelope *out;
	gint64 t0, ms;
	int sv[2];

	make_pair(sv);
	/* Half a frame must not count as an answer either. */
	ck_assert_int_eq(write(sv[0], partial, sizeof(partial)),
			 sizeof(partial));
	t0 = g_get_monotonic_time();
	ck_assert_int_eq(ipop_frame_read(sv[1], r, &out, timeouts_ms[_i]),
			 -ETIMEDOUT);
	ms = (g_get_monotonic_time() - t0) / 1000;
	ck_assert_int_ge(ms, timeouts_ms[_i]);
	ck_assert_int_lt(ms, timeouts_ms[_i] + 1000);
	ck_assert_ptr_null(out);
	ck_assert_uint_eq(ipop_frame_reader_pending(r), sizeof(partial));
	close(sv[0]);
	close(sv[1]);
	ipop_frame_reader_free(r);
}
END_TEST

/* EOF before anything, and EOF in the middle of a frame, both read as 0. */
START_TEST(test_socket_eof)
{
	struct ipop_frame_reader *r = ipop_frame_reader_new();
	Ipop__Envelope *out;
	uint8_t *buf;
	size_t len;
	int sv[2];

	make_pair(sv);
	buf = encode_id(1, &len);
	if (_i == 1)
		ck_assert_int_eq(write(sv[0], buf, len - 1), (ssize_t)len - 1);
	close(sv[0]);
	ck_assert_int_eq(ipop_frame_read(sv[1], r, &out, -1), 0);
	ck_assert_ptr_null(out);
	close(sv[1]);
	g_free(buf);
	ipop_frame_reader_free(r);
}
END_TEST

/* A frame already buffered is returned even though the peer has gone. */
START_TEST(test_socket_frame_then_eof)
{
	struct ipop_frame_reader *r = ipop_frame_reader_new();
	Ipop__Envelope env = IPOP__ENVELOPE__INIT, *out;
	int sv[2];

	make_pair(sv);
	env.request_id = 77;
	ck_assert_int_eq(ipop_frame_write(sv[0], &env), 0);
	ck_assert_int_eq(ipop_frame_write(sv[0], &env), 0);
	close(sv[0]);
	ck_assert_int_eq(ipop_frame_read(sv[1], r, &out, 1000), 1);
	ipop__envelope__free_unpacked(out, NULL);
	ck_assert_int_eq(ipop_frame_read(sv[1], r, &out, 1000), 1);
	ck_assert_uint_eq(out->request_id, 77);
	ipop__envelope__free_unpacked(out, NULL);
	ck_assert_int_eq(ipop_frame_read(sv[1], r, &out, 1000), 0);
	close(sv[1]);
	ipop_frame_reader_free(r);
}
END_TEST

/* Reader errors come back from ipop_frame_read unchanged. */
START_TEST(test_socket_oversized)
{
	struct ipop_frame_reader *r = ipop_frame_reader_new();
	const uint8_t hdr[] = {0xff, 0xff, 0xff, 0xff};
	Ipop__Envelope *out;
	int sv[2];

	make_pair(sv);
	ck_assert_int_eq(write(sv[0], hdr, sizeof(hdr)), sizeof(hdr));
	ck_assert_int_eq(ipop_frame_read(sv[1], r, &out, 1000), -EMSGSIZE);
	close(sv[0]);
	close(sv[1]);
	ipop_frame_reader_free(r);
}
END_TEST

/* Writing to a vanished peer is -EPIPE, not a SIGPIPE. */
START_TEST(test_socket_peer_gone)
{
	Ipop__Envelope env = IPOP__ENVELOPE__INIT;
	int sv[2];

	signal(SIGPIPE, SIG_DFL);
	make_pair(sv);
	close(sv[1]);
	ck_assert_int_eq(ipop_frame_write(sv[0], &env), -EPIPE);
	close(sv[0]);
}
END_TEST

START_TEST(test_write_refuses_oversize)
{
	uint8_t *data = g_malloc0(IPOP_FRAME_MAX + 1);
	Ipop__Envelope env;
	Ipop__Request req;
	Ipop__Echo echo;
	int sv[2];

	make_pair(sv);
	echo_of_size(&env, &req, &echo, data, IPOP_FRAME_MAX + 1);
	ck_assert_int_eq(ipop_frame_write(sv[0], &env), -EMSGSIZE);
	close(sv[0]);
	close(sv[1]);
	g_free(data);
}
END_TEST

/* Not a socket: the helpers fall back to write() and still work. */
START_TEST(test_pipe)
{
	struct ipop_frame_reader *r = ipop_frame_reader_new();
	Ipop__Envelope env = IPOP__ENVELOPE__INIT, *out;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	env.request_id = 123;
	ck_assert_int_eq(ipop_frame_write(p[1], &env), 0);
	ck_assert_int_eq(ipop_frame_read(p[0], r, &out, 1000), 1);
	ck_assert_uint_eq(out->request_id, 123);
	ipop__envelope__free_unpacked(out, NULL);
	close(p[1]);
	ck_assert_int_eq(ipop_frame_read(p[0], r, &out, 1000), 0);
	close(p[0]);
	ipop_frame_reader_free(r);
}
END_TEST

START_TEST(test_bad_fd)
{
	struct ipop_frame_reader *r = ipop_frame_reader_new();
	Ipop__Envelope env = IPOP__ENVELOPE__INIT, *out;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	close(p[0]);
	close(p[1]);
	ck_assert_int_eq(ipop_frame_write(p[1], &env), -EBADF);
	ck_assert_int_eq(ipop_frame_read(p[0], r, &out, 100), -EBADF);
	ipop_frame_reader_free(r);
}
END_TEST

static TCase *tcase_io(void)
{
	TCase *tc = tcase_create("io");

	tcase_add_test(tc, test_socket_round_trip);
	tcase_add_test(tc, test_socket_partial_writes);
	tcase_add_loop_test(tc, test_socket_timeout, 0, NELEM(timeouts_ms));
	tcase_add_loop_test(tc, test_socket_eof, 0, 2);
	tcase_add_test(tc, test_socket_frame_then_eof);
	tcase_add_test(tc, test_socket_oversized);
	tcase_add_test(tc, test_socket_peer_gone);
	tcase_add_test(tc, test_write_refuses_oversize);
	tcase_add_test(tc, test_pipe);
	tcase_add_test(tc, test_bad_fd);
	tcase_set_timeout(tc, 30);
	return tc;
}

/* The non-blocking output queue: everything goes when the socket takes
 * it, the rest stays queued, and a closed peer is reported. */
START_TEST(test_flush_queue)
{
	int sv[2], size = 4096;
	GByteArray *out = g_byte_array_new();
	uint8_t chunk[65536], back[65536];
	size_t got = 0;
	ssize_t n;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	memset(chunk, 0x5a, sizeof(chunk));
	g_byte_array_append(out, chunk, 100);
	ck_assert_int_eq(ipop_frame_flush(sv[0], out), 0);
	ck_assert_uint_eq(out->len, 0);
	ck_assert_int_eq(read(sv[1], back, sizeof(back)), 100);

	/* More than the socket holds: part stays queued. */
	for (int i = 0; i < 16; i++)
		g_byte_array_append(out, chunk, sizeof(chunk));
	ck_assert_int_eq(ipop_frame_flush(sv[0], out), -EAGAIN);
	ck_assert_uint_gt(out->len, 0);
	ck_assert_uint_lt(out->len, 16 * sizeof(chunk));
	while (out->len && got < 32 * sizeof(chunk)) {
		n = read(sv[1], back, sizeof(back));
		ck_assert_int_gt(n, 0);
		got += (size_t)n;
		ipop_frame_flush(sv[0], out);
	}
	ck_assert_uint_eq(out->len, 0);

	close(sv[1]);
	g_byte_array_append(out, chunk, 10);
	ck_assert_int_eq(ipop_frame_flush(sv[0], out), -EPIPE);
	close(sv[0]);
	g_byte_array_free(out, TRUE);
}
END_TEST

Suite *suite_frame_io(void)
{
	Suite *s = suite_create("frame_io");
	TCase *tc = tcase_create("flush");

	tcase_add_test(tc, test_flush_queue);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tcase_io());
	return s;
}
