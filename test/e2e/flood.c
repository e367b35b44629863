/*
 * ipop-flood: the attacker of test/e2e/attacker.sh.  Sends UDP datagrams to
 * one ip:port at a steady rate for a while and says how many left:
 *
 *   init  handshake initiations from non-member static keys, built with
 *         tincan's own session code against the target's public key (so
 *         they carry a valid mac1: the worst case, an attacker who knows
 *         the published key).  A pool of distinct initiations is built
 *         first and sent round robin; each costs the target a DH unless it
 *         filters them.
 *   junk  random datagrams of 116 bytes, a fresh one each time.
 *   replay (on path, in the router) captures COUNT data packets sent to
 *         IP:PORT, waits a second, then sends each again unchanged and
 *         once more with its counter moved 2^40 ahead, from the router's
 *         own address: a replay and a forged counter for every one.
 *
 * With -d DELAY_MS -p PERIOD_MS (init, junk) it waits DELAY_MS from its
 * start, then floods PERIOD_MS and pauses PERIOD_MS in turn until SECONDS
 * of flooding are done, so a measurement alongside it (started at the same
 * moment) can compare flood and no-flood seconds of one run.
 *
 * It never reads replies (cookie replies are ignored, as an attacker that
 * spoofs its address would have to).  Traffic goes only where it is told,
 * which the scenario keeps inside its namespaces.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <glib.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tincan/session.h"

enum {
	POOL = 1024,
	JUNK_LEN = 116,
	BURST_MAX = 256,
	PKT_MAX = 256,
};

static uint8_t pool[POOL][PKT_MAX];
static size_t pool_len;

static int usage(void)
{
	fprintf(stderr,
		"usage: ipop-flood [-d DELAY_MS -p PERIOD_MS] init|junk "
		"IP PORT RATE SECONDS [PUBKEY_BASE64]\n"
		"       ipop-flood replay IP PORT COUNT SECONDS\n");
	return 2;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* POOL initiations from fresh non-member keys to the key target. */
static int build_pool(const uint8_t target[32])
{
	uint8_t priv[32], pub[32];
	struct tc_session *s;
	struct tc_time t;
	int i, n;

	for (i = 0; i < POOL; i++) {
		randombytes_buf(priv, sizeof(priv));
		crypto_scalarmult_base(pub, priv);
		s = tc_session_new(true, priv, pub, target, NULL);
		if (s == NULL)
			return -ENOMEM;
		t.mono_ms = 1;
		t.wall_ns = (uint64_t)time(NULL) * 1000000000ULL;
		n = tc_session_initiate(s, &t, pool[i], PKT_MAX);
		tc_session_free(s);
		if (n < 0)
			return n;
		pool_len = (size_t)n;
	}
	sodium_memzero(priv, sizeof(priv));
	return 0;
}

static int open_target(const char *ip, const char *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int fd, buf = 4 << 20;

	if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
		return -EINVAL;
	sa.sin_port = htons((uint16_t)atoi(port));
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return -errno;
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* Sends n datagrams (init: from the pool at *next; junk: random). */
static unsigned burst(int fd, bool init, unsigned n, unsigned *next)
{
	static uint8_t junk[BURST_MAX][JUNK_LEN];
	struct mmsghdr m[BURST_MAX];
	struct iovec iov[BURST_MAX];
	unsigned i;
	int r;

	memset(m, 0, sizeof(m[0]) * n);
	for (i = 0; i < n; i++) {
		if (init) {
			iov[i].iov_base = pool[*next];
			iov[i].iov_len = pool_len;
			*next = (*next + 1) % POOL;
		} else {
			randombytes_buf(junk[i], JUNK_LEN);
			iov[i].iov_base = junk[i];
			iov[i].iov_len = JUNK_LEN;
		}
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
	}
	r = sendmmsg(fd, m, n, 0);
	return r > 0 ? (unsigned)r : 0;
}

/* The UDP payload of an IPv4 packet to dst:port that looks like DATA
 * (type 4), or NULL. */
static const uint8_t *data_to(const uint8_t *p, size_t n, struct in_addr dst,
			      uint16_t port, size_t *plen)
{
	const struct iphdr *ip = (const void *)p;
	const struct udphdr *udp;
	size_t ihl;

	if (n < sizeof(*ip) || ip->version != 4 ||
	    ip->protocol != IPPROTO_UDP || ip->daddr != dst.s_addr)
		return NULL;
	ihl = (size_t)ip->ihl * 4;
	if (n < ihl + sizeof(*udp))
		return NULL;
	udp = (const void *)(p + ihl);
	if (ntohs(udp->dest) != port)
		return NULL;
	*plen = n - ihl - sizeof(*udp);
	p += ihl + sizeof(*udp);
	return *plen >= 32 && p[0] == 4 ? p : NULL;
}

static int replay(const char *ip, const char *port, unsigned count,
		  unsigned secs)
{
	static uint8_t pkts[64][2048];
	size_t lens[64], plen;
	uint8_t frame[65536];
	const uint8_t *pl;
	struct sockaddr_ll from;
	socklen_t flen;
	struct in_addr dst;
	struct timeval tv = {0, 200000};
	uint64_t end = now_ns() + (uint64_t)secs * 1000000000ULL, ctr;
	unsigned n = 0, i, sent = 0;
	ssize_t r;
	int cap, fd;

	if (count > 64 || inet_pton(AF_INET, ip, &dst) != 1)
		return usage();
	cap = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
	if (cap < 0) {
		perror("ipop-flood: AF_PACKET");
		return 1;
	}
	(void)setsockopt(cap, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (n < count && now_ns() < end) {
		flen = sizeof(from);
		r = recvfrom(cap, frame, sizeof(frame), 0,
			     (struct sockaddr *)&from, &flen);
		if (r <= 0 || from.sll_pkttype == PACKET_OUTGOING)
			continue;
		pl =
		    data_to(frame, (size_t)r, dst, (uint16_t)atoi(port), &plen);
		if (!pl || plen > sizeof(pkts[0]))
			continue;
		memcpy(pkts[n], pl, plen);
		lens[n++] = plen;
	}
	close(cap);
	fd = open_target(ip, port);
	if (fd < 0)
		return 1;
	sleep(1);
	for (i = 0; i < n; i++)
		sent += send(fd, pkts[i], lens[i], 0) == (ssize_t)lens[i];
	for (i = 0; i < n; i++) {
		memcpy(&ctr, pkts[i] + 8, 8);
		ctr += 1ULL << 40; /* little-endian on this project's hosts */
		memcpy(pkts[i] + 8, &ctr, 8);
		sent += send(fd, pkts[i], lens[i], 0) == (ssize_t)lens[i];
	}
	close(fd);
	printf("captured %u data packets, sent %u replays and forged "
	       "counters\n",
	       n, sent);
	return n == count ? 0 : 1;
}

/* Floods at rate for on_ns, from now; returns datagrams sent. */
static uint64_t flood_for(int fd, bool init, unsigned rate, uint64_t on_ns,
			  unsigned *next)
{
	uint64_t t0 = now_ns(), end = t0 + on_ns, due, sent = 0, now;
	unsigned n;

	/* Every 0.5 ms, catch up with the schedule (at most BURST_MAX). */
	while ((now = now_ns()) < end) {
		due = (now - t0) * rate / 1000000000ULL;
		n = (unsigned)MIN(due - MIN(due, sent), (uint64_t)BURST_MAX);
		if (n)
			sent += burst(fd, init, n, next);
		usleep(500);
	}
	return sent;
}

static void sleep_until(uint64_t t)
{
	uint64_t now = now_ns();

	if (t > now)
		usleep((useconds_t)((t - now) / 1000));
}

int main(int argc, char **argv)
{
	uint8_t target[32];
	gsize klen = 0;
	guchar *key;
	uint64_t start = now_ns(), t, sent = 0, on_ns, period_ns = 0;
	unsigned rate, secs, next = 0, delay_ms = 0;
	bool init;
	int fd, opt;

	while ((opt = getopt(argc, argv, "+d:p:")) != -1) {
		if (opt == 'd')
			delay_ms = (unsigned)atoi(optarg);
		else if (opt == 'p')
			period_ns = (uint64_t)atoi(optarg) * 1000000ULL;
		else
			return usage();
	}
	argc -= optind - 1;
	argv += optind - 1;
	if (argc < 6 || sodium_init() < 0)
		return usage();
	if (strcmp(argv[1], "replay") == 0)
		return replay(argv[2], argv[3], (unsigned)atoi(argv[4]),
			      (unsigned)atoi(argv[5]));
	init = strcmp(argv[1], "init") == 0;
	if (!init && strcmp(argv[1], "junk") != 0)
		return usage();
	rate = (unsigned)atoi(argv[4]);
	secs = (unsigned)atoi(argv[5]);
	if (rate == 0 || rate > 1000000 || secs == 0 || secs > 60)
		return usage();
	if (init) {
		if (argc < 7)
			return usage();
		key = g_base64_decode(argv[6], &klen);
		if (klen != 32) {
			fprintf(stderr, "ipop-flood: bad public key\n");
			return 2;
		}
		memcpy(target, key, 32);
		g_free(key);
		if (build_pool(target) < 0) {
			fprintf(stderr,
				"ipop-flood: cannot build initiations\n");
			return 1;
		}
	}
	fd = open_target(argv[2], argv[3]);
	if (fd < 0) {
		fprintf(stderr, "ipop-flood: %s\n", strerror(-fd));
		return 1;
	}
	on_ns = (uint64_t)secs * 1000000000ULL;
	if (!period_ns)
		period_ns = on_ns;
	t = start + (uint64_t)delay_ms * 1000000ULL;
	if (now_ns() > t + 50000000ULL)
		fprintf(stderr, "ipop-flood: started %llu ms late\n",
			(unsigned long long)((now_ns() - t) / 1000000));
	for (; on_ns; t += 2 * period_ns) {
		sleep_until(t);
		sent += flood_for(fd, init, rate, MIN(on_ns, period_ns), &next);
		on_ns -= MIN(on_ns, period_ns);
	}
	printf("sent %llu %s datagrams in %u s (%llu/s)\n",
	       (unsigned long long)sent, argv[1], secs,
	       (unsigned long long)(sent / secs));
	close(fd);
	return 0;
}
