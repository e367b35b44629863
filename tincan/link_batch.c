/*
 * A link's send batch: frames sealed in place into the batch (a TSO
 * frame's segments cut straight into it), grouped in runs of equal-sized
 * packets, and sent as one UDP segmentation offload message per run, all
 * runs in one sendmmsg on a direct pair (one datagram at a time through
 * libnice otherwise).  Nothing here allocates per packet: the batch is
 * allocated on first use.  Receiving, the handshake and probes are
 * link_data.c's.
 */
#define G_LOG_DOMAIN "tincan"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <netinet/udp.h>

#include "tincan/bytes.h"
#include "tincan/link_int.h"

/* The monotonic ms of the first frame of the batch being filled (the
 * session needs no wall time to send): one clock read per batch, not per
 * frame.  A batch lives for one TAP wakeup, so it is never stale by more. */
static const struct tc_link *clock_link;
static uint64_t clock_ms;

static uint64_t batch_clock(const struct tc_link *l)
{
	if (l->n_runs == 0 || clock_link != l) {
		clock_link = l;
		clock_ms = (uint64_t)g_get_monotonic_time() / 1000;
	}
	return clock_ms;
}

void tc_link_lay_out(uint8_t *pt, uint8_t type, const uint8_t *pre,
		     size_t pre_len, const uint8_t *body, size_t len)
{
	pt[0] = type;
	if (pre_len)
		memcpy(pt + 1, pre, pre_len);
	if (len)
		memcpy(pt + 1 + pre_len, body, len);
}

/* One message per run; the kernel cuts a run into datagrams of seg bytes
 * (UDP_SEGMENT).  ctl holds each run's control message. */
static void run_msg(struct tc_link *l, const struct tc_link_run *r,
		    struct mmsghdr *m, struct iovec *iov, char *ctl)
{
	struct cmsghdr *cm;

	iov->iov_base = l->batch + r->off;
	iov->iov_len = r->bytes;
	memset(m, 0, sizeof(*m));
	m->msg_hdr.msg_name = &l->fast_addr;
	m->msg_hdr.msg_namelen = l->fast_len;
	m->msg_hdr.msg_iov = iov;
	m->msg_hdr.msg_iovlen = 1;
	if (r->n < 2)
		return;
	m->msg_hdr.msg_control = ctl;
	m->msg_hdr.msg_controllen = CMSG_SPACE(sizeof(uint16_t));
	cm = CMSG_FIRSTHDR(&m->msg_hdr);
	cm->cmsg_level = SOL_UDP;
	cm->cmsg_type = UDP_SEGMENT;
	cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
	memcpy(CMSG_DATA(cm), &r->seg, sizeof(r->seg));
}

/* Sends the runs from the first; returns how many left, errno set when
 * some did not. */
static unsigned send_runs(struct tc_link *l)
{
	struct mmsghdr m[TC_LINK_RUNS];
	struct iovec iov[TC_LINK_RUNS];
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} ctl[TC_LINK_RUNS];
	int fd = g_socket_get_fd(l->fast_sock);
	unsigned i, done = 0;
	int n;

	for (i = 0; i < l->n_runs; i++)
		run_msg(l, &l->runs[i], &m[i], &iov[i], ctl[i].buf);
	while (done < l->n_runs) {
		n = sendmmsg(fd, m + done, l->n_runs - done, MSG_DONTWAIT);
		if (n <= 0)
			break;
		done += (unsigned)n;
	}
	return done;
}

void tc_link_flush(struct tc_link *l)
{
	const struct tc_link_run *r;
	unsigned i, sent = 0;
	size_t off;
	int err = 0;

	if (!l->n_runs)
		return;
	if (l->fast_sock) {
		sent = send_runs(l);
		err = errno;
	}
	/* No fast path, or the kernel refused a run: one datagram at a time
	 * through libnice.  A refusal that is not a full buffer (no UDP GSO,
	 * a datagram over the path MTU) turns the fast path off. */
	if (l->fast_sock && sent < l->n_runs && err != EAGAIN &&
	    err != ENOBUFS) {
		g_message("link %s/%.12s: UDP segmentation refused (%s); "
			  "sending one datagram at a time",
			  l->overlay, l->peer_uid, g_strerror(err));
		g_object_unref(l->fast_sock);
		l->fast_sock = NULL;
	}
	for (i = sent; i < l->n_runs; i++) {
		r = &l->runs[i];
		for (off = 0; off < r->bytes; off += r->seg)
			tc_link_raw_send(l, l->batch + r->off + off,
					 MIN((size_t)r->seg, r->bytes - off));
	}
	l->n_runs = 0;
	l->batch_used = 0;
}

/* The run a packet of n bytes joins, or a new one (flushing first when the
 * batch is full). */
static struct tc_link_run *run_for(struct tc_link *l, size_t n)
{
	struct tc_link_run *r = l->n_runs ? &l->runs[l->n_runs - 1] : NULL;

	if (l->batch_used + n > TC_LINK_BATCH_BYTES) {
		tc_link_flush(l);
		r = NULL;
	}
	/* A run whose last packet was shorter than seg is closed. */
	if (r && r->bytes == (size_t)r->n * r->seg && n <= r->seg &&
	    r->n < TC_LINK_BATCH && r->bytes + n <= TC_LINK_GSO_MAX)
		return r;
	if (l->n_runs == TC_LINK_RUNS)
		tc_link_flush(l);
	r = &l->runs[l->n_runs++];
	r->off = l->batch_used;
	r->bytes = 0;
	r->seg = (uint16_t)n;
	r->n = 0;
	return r;
}

/* Room at the batch's end for a message of n plaintext bytes: where its
 * plaintext goes, to be sealed there by slot_seal (the batch's clock in
 * *now_ms), or NULL when one packet cannot hold it. */
static uint8_t *slot_open(struct tc_link *l, size_t n, uint64_t *now_ms)
{
	size_t want = n + TC_DATA_OVERHEAD;

	if (n > TC_LINK_MAX_PACKET || want > TC_LINK_BATCH_SLOT)
		return NULL;
	if (!l->batch)
		l->batch = g_malloc(TC_LINK_BATCH_BYTES);
	*now_ms = batch_clock(l); /* before run_for: it may flush */
	(void)run_for(l, want);
	return l->batch + l->batch_used + TC_DATA_HDR_LEN;
}

/* Seals the n plaintext bytes slot_open's slot holds in place and adds the
 * packet to its run: 0 or -errno (the slot is given back). */
static int slot_seal(struct tc_link *l, size_t n, uint64_t now_ms)
{
	struct tc_link_run *r = &l->runs[l->n_runs - 1];
	struct tc_time t = {now_ms, 0};
	uint8_t *out = l->batch + l->batch_used;
	int rc = tc_session_encrypt(l->session, &t, out + TC_DATA_HDR_LEN, n,
				    out, TC_LINK_BATCH_BYTES - l->batch_used);

	if (rc < 0) {
		if (r->n == 0)
			l->n_runs--; /* the run was new: forget it */
		return rc;
	}
	r->bytes += (size_t)rc;
	r->n++;
	l->batch_used += (size_t)rc;
	return 0;
}

/* Encrypts an inner message (type, pre, frame) into the batch. */
static int batch_inner(struct tc_link *l, uint8_t type, const uint8_t *pre,
		       size_t pre_len, const uint8_t *frame, size_t len)
{
	size_t n = 1 + pre_len + len;
	uint64_t now_ms;
	uint8_t *pt = slot_open(l, n, &now_ms);

	if (!pt)
		return -EMSGSIZE;
	tc_link_lay_out(pt, type, pre, pre_len, frame, len);
	return slot_seal(l, n, now_ms);
}

/* Encrypts a frame into the batch. */
static int batch_frame(struct tc_link *l, const uint8_t *frame, size_t len,
		       const struct tc_csum *cs)
{
	uint8_t pre[TC_INNER_PARTIAL_LEN];

	if (!cs || !cs->start)
		return batch_inner(l, TC_INNER_FRAME, NULL, 0, frame, len);
	tc_put16(pre, cs->start);
	tc_put16(pre + 2, cs->offset);
	return batch_inner(l, TC_INNER_FRAME_PARTIAL, pre, sizeof(pre), frame,
			   len);
}

/* Counts a frame the batch took (r 0) or refused. */
static int sent(struct tc_link *l, int r, size_t len)
{
	if (r < 0) {
		l->dropped++;
		tc_link_count_drop(l, r);
		return r;
	}
	l->tx_packets++;
	l->tx_bytes += len;
	tc_link_data_seen(l, batch_clock(l)); /* the batch's: no clock read */
	return 0;
}

int tc_link_send_frame(struct tc_link *l, const uint8_t *frame, size_t len,
		       const struct tc_csum *cs)
{
	return sent(l, batch_frame(l, frame, len, cs), len);
}

/* The next segment of c, built in its batch slot. */
static int batch_segment(struct tc_link *l, struct tc_gso_cut *c, size_t len)
{
	size_t n = 1 + TC_INNER_PARTIAL_LEN + len;
	uint64_t now_ms;
	uint8_t *pt = slot_open(l, n, &now_ms);

	if (!pt) {
		tc_gso_skip(c);
		return -EMSGSIZE;
	}
	pt[0] = TC_INNER_FRAME_PARTIAL;
	tc_put16(pt + 1, c->cs.start);
	tc_put16(pt + 3, c->cs.offset);
	(void)tc_gso_next(c, pt + 1 + TC_INNER_PARTIAL_LEN, len);
	return slot_seal(l, n, now_ms);
}

int tc_link_send_tso(struct tc_link *l, struct tc_gso_cut *c)
{
	bool held = tc_session_hold(l->session); /* one lock per frame */
	size_t len;
	int rc = 0, r;

	while ((len = tc_gso_next_len(c)) > 0) {
		r = sent(l, batch_segment(l, c, len), len);
		if (r < 0)
			rc = r;
	}
	if (held)
		tc_session_release(l->session);
	return rc;
}

int tc_link_send_forward(struct tc_link *l, const uint8_t *pre, size_t pre_len,
			 const uint8_t *frame, size_t len)
{
	return sent(l,
		    batch_inner(l, TC_INNER_FORWARD, pre, pre_len, frame, len),
		    pre_len + len);
}
