/*
 * Writes the seed inputs of the fuzz harnesses: valid frames, packets and
 * payloads built the way the unit tests build them (test/unit's sample
 * envelopes, translator cases and offload frames; a real handshake with the
 * link harness's fixed keys; signalling payloads from ctl_sig_encode; small
 * configurations).  Usage: write-seeds DIR; writes DIR/<harness>/<name>.
 * seeds-offload.c and seeds-xlate.c write those harnesses' seeds (their
 * test/unit headers do not mix with each other or with netinet/in.h);
 * seeds-http.c the metrics listener's; seeds-stun.c the STUN harness's.
 * test/fuzz/make-seeds runs it, then merges and minimizes with libFuzzer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <glib.h>
#include <sodium.h>

#include "controller/signal.h"
#include "common/uid.h"
#include "proto/frame.h"
#include "tincan/cookie.h"
#include "tincan/session.h"
#include "test/fuzz/seeds/seeds.h"
#include "test/unit/frame_samples.h"

static const char *top;

void put(const char *harness, const char *name, const void *p, size_t n)
{
	char *dir = g_build_filename(top, harness, NULL);
	char *path = g_build_filename(dir, name, NULL);
	GError *err = NULL;

	if (g_mkdir_with_parents(dir, 0755) != 0 ||
	    !g_file_set_contents(path, p, (gssize)n, &err)) {
		fprintf(stderr, "write-seeds: %s: %s\n", path,
			err != NULL ? err->message : g_strerror(errno));
		exit(1);
	}
	g_free(path);
	g_free(dir);
}

/* A prefix byte (or two) and a body, as one seed. */
void put2(const char *harness, const char *name, const uint8_t *pre,
	  size_t npre, const uint8_t *p, size_t n)
{
	uint8_t *b = g_malloc(npre + n + 1);

	memcpy(b, pre, npre);
	memcpy(b + npre, p, n);
	put(harness, name, b, npre + n);
	g_free(b);
}

static void frame_seeds(void)
{
	static const uint8_t plan[] = {3, 1, 2, 5};
	static const uint8_t none[] = {0};
	uint8_t *two;
	char name[32];

	for (int i = 0; i < N_SAMPLES; i++) {
		struct sample s;
		uint8_t *buf;
		size_t len;

		sample_init(&s, i);
		buf = ipop_frame_encode(&s.env, &len);
		if (buf != NULL && len < SEED_MAX) {
			g_snprintf(name, sizeof(name), "sample-%d", i);
			put2("fuzz_frame", name, none, 1, buf, len);
			g_snprintf(name, sizeof(name), "sample-%d-chunked", i);
			put2("fuzz_frame", name, plan, sizeof(plan), buf, len);
			/* The frame twice: two envelopes in one stream. */
			two = g_malloc(2 * len);
			memcpy(two, buf, len);
			memcpy(two + len, buf, len);
			g_snprintf(name, sizeof(name), "sample-%d-twice", i);
			put2("fuzz_frame", name, none, 1, two, 2 * len);
			g_free(two);
		}
		g_free(buf);
		sample_clear(&s);
	}
}

/* fuzz_link's guard modes: a genuine INIT as raw guard input (from a
 * source, with the loaded guard or not), and masks over a cookie reply and
 * the INIT after it. */
static void link_guard_seeds(const uint8_t init[TC_INIT_LEN])
{
	uint8_t in[1 + 6 + TC_INIT_LEN] = {0, 10, 1, 0, 2, 0x12, 0x34};
	uint8_t mask[TC_COOKIE_REPLY_LEN + TC_INIT_LEN] = {0};
	uint8_t mode = 7;

	memcpy(in + 7, init, TC_INIT_LEN);
	put2("fuzz_link", "guard-init", &mode, 1, in, sizeof(in));
	in[0] = 1;
	put2("fuzz_link", "guard-init-loaded", &mode, 1, in, sizeof(in));
	mode = 8;
	put2("fuzz_link", "mask-cookie-none", &mode, 1, mask, sizeof(mask));
	mask[40] = 0x01;
	put2("fuzz_link", "mask-cookie-flip", &mode, 1, mask, sizeof(mask));
	mask[40] = 0;
	mask[TC_COOKIE_REPLY_LEN + TC_INIT_LEN - 1] = 0x80;
	put2("fuzz_link", "mask-cookie-mac2", &mode, 1, mask, sizeof(mask));
}

/* The fixed keys of fuzz_link.c. */
static void link_seeds(void)
{
	uint8_t ipriv[32], ipub[32], rpriv[32], rpub[32], psk[32];
	uint8_t init[TC_INIT_LEN], resp[TC_RESP_LEN], pkt[512], out[512];
	struct tc_time now = {1000000, 1700000000ULL * 1000000000ULL};
	struct tc_session *ini, *res;
	uint8_t mode, mask[TC_INIT_LEN] = {0};
	size_t olen;
	int n;

	for (int i = 0; i < 32; i++) {
		ipriv[i] = (uint8_t)(i + 1);
		rpriv[i] = (uint8_t)(i + 101);
		psk[i] = (uint8_t)(i + 201);
	}
	crypto_scalarmult_base(ipub, ipriv);
	crypto_scalarmult_base(rpub, rpriv);
	ini = tc_session_new(true, ipriv, ipub, rpub, psk);
	res = tc_session_new(false, rpriv, rpub, ipub, psk);
	if (tc_session_initiate(ini, &now, init, sizeof(init)) != TC_INIT_LEN ||
	    tc_session_receive(res, &now, init, sizeof(init), resp,
			       sizeof(resp), &olen) != TC_RX_REPLY ||
	    tc_session_receive(ini, &now, resp, sizeof(resp), NULL, 0, &olen) !=
		TC_RX_ESTABLISHED) {
		fprintf(stderr, "write-seeds: handshake failed\n");
		exit(1);
	}
	mode = 0; /* raw packet for the fresh responder */
	put2("fuzz_link", "raw-fresh-init", &mode, 1, init, sizeof(init));
	mode = 2; /* raw packet for the initiator */
	put2("fuzz_link", "raw-initiator-resp", &mode, 1, resp, sizeof(resp));
	n = tc_session_encrypt(ini, &now, (const uint8_t *)"ping", 4, pkt,
			       sizeof(pkt));
	mode = 1; /* raw packet for the responder */
	if (n > 0)
		put2("fuzz_link", "raw-responder-data", &mode, 1, pkt,
		     (size_t)n);
	(void)out;
	mode = 3; /* a plaintext to carry */
	put2("fuzz_link", "carry", &mode, 1, (const uint8_t *)"hello, overlay",
	     14);
	mode = 3;
	put2("fuzz_link", "carry-empty", &mode, 1, NULL, 0);
	for (mode = 4; mode <= 6; mode++) {
		char name[32];

		g_snprintf(name, sizeof(name), "mask-%d-none", mode);
		put2("fuzz_link", name, &mode, 1, mask, 16);
		mask[mode * 3] = 0x01;
		g_snprintf(name, sizeof(name), "mask-%d-flip", mode);
		put2("fuzz_link", name, &mode, 1, mask, sizeof(mask));
		mask[mode * 3] = 0;
	}
	link_guard_seeds(init);
	tc_session_free(ini);
	tc_session_free(res);
}

/* The <ipop/> element of s as its text. */
static char *sig_xml(const struct ctl_sig *s, bool in_message)
{
	GHashTable *t = ctl_sig_encode(s);
	GString *x = g_string_new(NULL);
	GList *keys =
	    g_list_sort(g_hash_table_get_keys(t), (GCompareFunc)strcmp);

	if (in_message)
		g_string_append(x, "<message from='a@b/c' to='d@e/f'>");
	g_string_append(x, "<ipop xmlns=\"" CTL_SIGNAL_NS "\"");
	for (GList *k = keys; k != NULL; k = k->next)
		g_string_append_printf(x, " %s=\"%s\"", (char *)k->data,
				       (char *)g_hash_table_lookup(t, k->data));
	g_string_append(x, "/>");
	if (in_message)
		g_string_append(x, "</message>");
	g_list_free(keys);
	g_hash_table_unref(t);
	return g_string_free(x, FALSE);
}

static void put_sig(const char *name, const struct ctl_sig *s, bool msg)
{
	char *x = sig_xml(s, msg);

	put("fuzz_signal", name, x, strlen(x));
	g_free(x);
}

static void signal_seeds(void)
{
	static const uint8_t psk[IPOP_PSK_LEN] = {7};
	struct ctl_sig s = {0};

	for (size_t i = 0; i < sizeof(s.key); i++)
		s.key[i] = (uint8_t)(i * 7 + 1);
	ipop_uid_from_key(s.key, s.uid);
	g_strlcpy(s.overlay, "ov1", sizeof(s.overlay));
	s.kind = CTL_SIG_ADVERTISE;
	g_strlcpy(s.group, "group-a", sizeof(s.group));
	put_sig("advertise-min", &s, false);
	g_strlcpy(s.ipv4, "10.8.0.2", sizeof(s.ipv4));
	g_strlcpy(s.ipv6, "fd69:706f:7076::2", sizeof(s.ipv6));
	ctl_sig_proof(psk, s.group, s.uid, s.key, s.proof);
	s.has_proof = true;
	s.ack = true;
	put_sig("advertise-full", &s, false);
	put_sig("advertise-in-message", &s, true);
	s.kind = CTL_SIG_LINK;
	memcpy(s.to, "0123456789abcdef0123456789abcdef01234567", sizeof(s.to));
	s.cands =
	    g_base64_encode((const guchar *)"\x0a\x04ufrg\x12\x04pass", 14);
	put_sig("link", &s, false);
	g_strlcpy(s.seen, "abcd+/XY", sizeof(s.seen));
	put_sig("link-seen", &s, false);
	g_free(s.cands);
	s.cands = NULL;
	s.kind = CTL_SIG_BYE;
	put_sig("bye", &s, false);
	put_sig("bye-in-message", &s, true);
}

/* Operations of fuzz_switch.c: op | port << 3 | shift << 5, step, src, dst. */
static void switch_seeds(void)
{
	static const uint8_t learn_decide[] = {
	    0x08, 1, 0x08, 0xfd, /* peer 1 sends from A to broadcast */
	    0x00, 1, 0x0c, 0x08, /* the TAP answers B to A: unicast */
	    0x08, 1, 0x08, 0x0c, /* peer 1 to B: unicast to the TAP */
	    0x08, 1, 0x08, 0x08, /* peer 1 to A: split horizon */
	    0x10, 1, 0x10, 0x09, /* peer 2 to a group address */
	    0x06, 0, 0x00, 0x00, /* walk */
	};
	static const uint8_t ageing[] = {
	    0x08, 1,	0x08, 0xfd, /* learn A behind peer 1 */
	    0xc0, 0x47, 0x0c, 0x08, /* 291 s later: still known */
	    0xc0, 0x47, 0x0c, 0x08, /* 582 s after A: flood */
	    0x05, 0,	0x00, 0x00, /* expire */
	    0xe7, 0xff, 0x00, 0x00, /* the clock steps back to 0 */
	    0x08, 1,	0x14, 0x0c, /* learn C */
	    0x06, 0,	0x00, 0x00,
	};
	static const uint8_t ports_moved[] = {
	    0x08, 1, 0x08, 0xfc, /* A behind peer 1, to the zero MAC */
	    0x10, 1, 0x08, 0x0c, /* A moves behind peer 2 */
	    0x18, 1, 0x20, 0x08, /* the long uid: not learned, A unicast */
	    0x00, 1, 0xfc, 0x08, /* a zero source */
	    0x14, 1, 0x00, 0x00, /* forget peer 2 */
	    0x00, 1, 0x24, 0x08, /* A unknown again */
	    0x06, 0, 0x00, 0x00,
	};

	put("fuzz_switch", "learn-decide", learn_decide, sizeof(learn_decide));
	put("fuzz_switch", "ageing", ageing, sizeof(ageing));
	put("fuzz_switch", "ports-moved", ports_moved, sizeof(ports_moved));
}

static const char *const configs[][2] = {
    {"gvpn-min", "xmpp:\n  jid: a@example.org\n  password: pw\n"
		 "overlays:\n  - name: ov\n    type: gvpn\n"
		 "    tap: ipop0\n    address: 10.8.0.1/16\n"
		 "    group: g\n    secret_file: group-secret\n"},
    {"gvpn-full", "tincan:\n  socket: /run/ipop/t.sock\n"
		  "state_dir: /tmp/ipop-state\n"
		  "xmpp:\n  jid: a@example.org\n"
		  "  password_file: xmpp-password\n  server: 127.0.0.1\n  "
		  "port: 5222\n  tls: off\n"
		  "ice:\n  stun:\n    - 192.0.2.10:3478\n  turn:\n"
		  "    - server: 192.0.2.11:3478\n      user: u\n"
		  "      password: p\n"
		  "overlays:\n  - name: ov\n    type: gvpn\n"
		  "    tap: ipop0\n    address: 10.8.0.1/16\n"
		  "    address6: fd00::1/64\n    group: g\n    mtu: 1300\n"},
    {"svpn-pins", "xmpp: {jid: a@example.org, password: pw}\n"
		  "overlays:\n  - name: s\n    type: svpn\n"
		  "    tap: svpn0\n    subnet: 172.31.0.0/16\n"
		  "    pins:\n      - device: "
		  "0123456789abcdef0123456789abcdef01234567\n"
		  "        address: 172.31.0.9\n"},
    {"switch", "xmpp:\n  jid: a@example.org\n  password: pw\n"
	       "overlays:\n  - name: sw\n    type: switch\n    tap: sw0\n"
	       "    bridge: br0\n    group: g\n"},
    {"flow-list", "xmpp: {jid: \"a@b\", password: 'x'}\n"
		  "overlays: [{name: o, type: gvpn, tap: t0, "
		  "address: 10.1.0.1/24, group: g}]\n"},
    {"bad-tab", "xmpp:\n\tjid: a@b\n"},
    {"bad-alias", "a: &x 1\nb: *x\n"},
    {"two-docs", "xmpp: {}\n---\nxmpp: {}\n"},
};

static void config_seeds(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(configs); i++)
		put("fuzz_config", configs[i][0], configs[i][1],
		    strlen(configs[i][1]));
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: write-seeds DIR\n");
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	top = argv[1];
	frame_seeds();
	link_seeds();
	xlate_seeds();
	offload_seeds();
	signal_seeds();
	config_seeds();
	switch_seeds();
	control_seeds();
	http_seeds();
	stun_seeds();
	return 0;
}
