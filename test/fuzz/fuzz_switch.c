/*
 * libFuzzer harness for the switch-mode MAC table (tincan/switch.c), which
 * learns from the source MAC of every frame from the LAN or a peer and
 * decides where each destination MAC goes.  The input is a list of 4-byte
 * operations on one table, checked against a plain model (an array in
 * order of last sighting):
 *   byte 0: bits 0-2 the operation (0-3 a frame: learn its source, then
 *           decide its destination; 4 forget the port; 5 expire; 6 walk
 *           the table; 7 the clock steps back), bits 3-4 the port (the
 *           local TAP, two peers, or a uid too long to learn), bits 5-7 a
 *           shift for the time step;
 *   byte 1: the time step, (byte 1) << 2 * shift ms, taken before the op;
 *   bytes 2-3: the source and destination MAC, each from one byte (a
 *           small space, so sources and destinations meet), with a byte of
 *           0xfc the zero MAC and 0xfd broadcast; bit 0 of a byte makes a
 *           group address.
 * Every decision, count, expiry count and walk must be the model's.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "tincan/switch.h"

enum {
	OP_LEN = 4,
	N_PORTS = 4,
	LONG_PORT = 3,
	MODEL_MAX = TC_SWITCH_MAX_ENTRIES + 1,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Port 0 is the local TAP (NULL); port 3 is not a valid uid. */
static const char *const ports[N_PORTS] = {
    NULL,
    "0123456789abcdef0123456789abcdef01234567",
    "89abcdef0123456789abcdef0123456789abcdef",
    "0123456789abcdef0123456789abcdef0123456789",
};

struct ment {
	uint8_t mac[6];
	int port;
	uint64_t seen;
};

static struct ment model[MODEL_MAX];
static size_t n_model;

static void mac_of(uint8_t b, uint8_t mac[6])
{
	static const uint8_t zero[6], bcast[6] = {255, 255, 255, 255, 255, 255};

	if (b == 0xfc)
		memcpy(mac, zero, 6);
	else if (b == 0xfd)
		memcpy(mac, bcast, 6);
	else {
		mac[0] = b & 3;
		mac[1] = 0x11;
		mac[2] = 0x22;
		mac[3] = 0x33;
		mac[4] = 0x44;
		mac[5] = b;
	}
}

static bool is_zero(const uint8_t mac[6])
{
	static const uint8_t zero[6];

	return memcmp(mac, zero, 6) == 0;
}

static struct ment *find(const uint8_t mac[6], size_t *at)
{
	for (size_t i = 0; i < n_model; i++) {
		if (memcmp(model[i].mac, mac, 6) == 0) {
			*at = i;
			return &model[i];
		}
	}
	return NULL;
}

static void drop_at(size_t i)
{
	memmove(&model[i], &model[i + 1], (n_model - i - 1) * sizeof(*model));
	n_model--;
}

static void model_learn(const uint8_t mac[6], int port, uint64_t now)
{
	struct ment *e;
	size_t at;

	if ((mac[0] & 1) || is_zero(mac) || port == LONG_PORT)
		return;
	if (n_model > 0 && now < model[n_model - 1].seen)
		now = model[n_model - 1].seen;
	if ((e = find(mac, &at)) != NULL)
		drop_at(at);
	else if (n_model >= TC_SWITCH_MAX_ENTRIES)
		drop_at(0);
	assert(n_model < MODEL_MAX);
	memcpy(model[n_model].mac, mac, 6);
	model[n_model].port = port;
	model[n_model].seen = now;
	n_model++;
}

static uint64_t age(const struct ment *e, uint64_t now)
{
	return now > e->seen ? now - e->seen : 0;
}

static void check_decide(struct tc_switch *sw, const uint8_t mac[6], int port,
			 uint64_t now)
{
	enum tc_switch_action want, got;
	const char *uid = "unset", *want_uid = NULL;
	struct ment *e;
	size_t at;

	got = tc_switch_decide(sw, mac, ports[port], now, &uid);
	e = (mac[0] & 1) ? NULL : find(mac, &at);
	if (e == NULL || age(e, now) >= TC_SWITCH_AGE_MS)
		want = TC_SWITCH_FLOOD;
	else if (e->port == port)
		want = TC_SWITCH_DROP;
	else {
		want = TC_SWITCH_UNICAST;
		want_uid = ports[e->port];
	}
	assert(got == want);
	if (want_uid == NULL)
		assert(uid == NULL);
	else
		assert(uid != NULL && strcmp(uid, want_uid) == 0);
}

static void model_forget(int port)
{
	for (size_t i = n_model; i-- > 0;)
		if (model[i].port == port)
			drop_at(i);
}

static unsigned model_expire(uint64_t now)
{
	unsigned n = 0;

	while (n_model > 0 && age(&model[0], now) >= TC_SWITCH_AGE_MS) {
		drop_at(0);
		n++;
	}
	return n;
}

struct walk {
	uint64_t now;
	size_t n;
};

static void on_entry(const uint8_t mac[6], const char *uid, uint64_t age_ms,
		     void *ctx)
{
	struct walk *w = ctx;
	struct ment *e;
	size_t at;

	e = find(mac, &at);
	assert(e != NULL);
	assert(age_ms == age(e, w->now));
	if (ports[e->port] == NULL)
		assert(uid == NULL);
	else
		assert(uid != NULL && strcmp(uid, ports[e->port]) == 0);
	w->n++;
}

static void quiet(const gchar *domain, GLogLevelFlags level, const gchar *msg,
		  gpointer data)
{
	(void)domain;
	(void)level;
	(void)msg;
	(void)data;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct tc_switch *sw;
	uint64_t now = 1000;
	uint8_t src[6], dst[6];

	if (!ready) {
		/* The long uid's one warning per table. */
		g_log_set_handler("tincan", G_LOG_LEVEL_WARNING, quiet, NULL);
		ready = true;
	}
	sw = tc_switch_new();
	n_model = 0;
	for (size_t off = 0; off + OP_LEN <= size; off += OP_LEN) {
		const uint8_t *op = data + off;
		int port = (op[0] >> 3) % N_PORTS;
		uint64_t step = (uint64_t)op[1] << (2 * (op[0] >> 5));
		struct walk w = {0};

		if ((op[0] & 7) == 7)
			now = now > step ? now - step : 0;
		else
			now += step;
		mac_of(op[2], src);
		mac_of(op[3], dst);
		switch (op[0] & 7) {
		case 4:
			tc_switch_forget_port(sw, ports[port]);
			model_forget(port);
			break;
		case 5:
			assert(tc_switch_expire(sw, now) == model_expire(now));
			break;
		case 6:
			w.now = now;
			tc_switch_foreach(sw, now, on_entry, &w);
			assert(w.n == n_model);
			break;
		case 7:
			break;
		default:
			tc_switch_learn(sw, src, ports[port], now);
			model_learn(src, port, now);
			check_decide(sw, dst, port, now);
			break;
		}
		assert(tc_switch_count(sw) == n_model);
	}
	tc_switch_free(sw);
	return 0;
}
