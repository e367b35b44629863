/*
 * The STUN harness's seeds (fuzz_stun: a flags byte, then the datagram):
 * connectivity checks built as a peer's libnice agent builds them, for
 * fuzz_stun's ufrag and password, from either role and either address
 * family, nominating or not; the same without FINGERPRINT, without
 * MESSAGE-INTEGRITY or without either; for another ufrag, another
 * password, or claiming our role; a keepalive indication; the answer
 * tc_stun_answer gives (a response); another method; and truncated ones.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#include <stun/stunagent.h>
#include <stun/usages/bind.h>
#include <stun/usages/ice.h>

#include "test/fuzz/seeds/seeds.h"
#include "tincan/stun_answer.h"

/* fuzz_stun's credentials and flags. */
#define UFRAG "Ab12"
#define PWD "fuzz-pwd-of-22-chars-x"
enum { CONTROLLING = 1, V6 = 2, FIX_MI = 4, FIX_FP = 8, ROOM = 512 };

static void agent_init(StunAgent *a, bool fingerprint)
{
	stun_agent_init(
	    a, STUN_ALL_KNOWN_ATTRIBUTES, STUN_COMPATIBILITY_RFC5389,
	    STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS |
		(fingerprint ? STUN_AGENT_USAGE_USE_FINGERPRINT : 0));
}

/* A check as the peer's agent sends it; its length. */
static size_t check(uint8_t *buf, const char *user, const char *pwd,
		    bool peer_controls, bool nominate, bool fingerprint)
{
	StunAgent a;
	StunMessage msg;

	agent_init(&a, fingerprint);
	return stun_usage_ice_conncheck_create(
	    &a, &msg, buf, ROOM, (const uint8_t *)user, strlen(user),
	    (const uint8_t *)pwd, pwd ? strlen(pwd) : 0, nominate,
	    peer_controls, 0x6e7f00ff, 0x0102030405060708ULL, NULL,
	    STUN_USAGE_ICE_COMPATIBILITY_RFC5245);
}

static void put_flagged(const char *name, uint8_t flags, const uint8_t *p,
			size_t n)
{
	put2("fuzz_stun", name, &flags, 1, p, n);
}

/* The answer fuzz_stun's end gives to a check (its IPv4 source). */
static void response_seed(const uint8_t *req, size_t len)
{
	struct tc_stun_creds c = {UFRAG, PWD, false};
	struct sockaddr_in src = {.sin_family = AF_INET,
				  .sin_port = htons(50123)};
	uint8_t out[TC_STUN_REPLY_MAX];
	size_t n = 0;

	src.sin_addr.s_addr = htonl(0x64400102);
	if (tc_stun_answer(&c, req, len, (struct sockaddr *)&src, sizeof(src),
			   out, &n) == 0)
		put_flagged("response", FIX_MI | FIX_FP, out, n);
}

static void indication_seed(void)
{
	StunAgent a;
	StunMessage msg;
	uint8_t buf[ROOM];
	size_t n;

	agent_init(&a, true);
	n = stun_usage_bind_keepalive(&a, &msg, buf, sizeof(buf));
	if (n > 0)
		put_flagged("indication", FIX_FP, buf, n);
}

/* A check cut short, and the same with its header's length adjusted. */
static void truncated_seeds(const uint8_t *req, size_t len)
{
	uint8_t cut[ROOM];

	put_flagged("truncated-19", FIX_MI | FIX_FP, req, 19);
	put_flagged("header-only", FIX_MI | FIX_FP, req, TC_STUN_HEADER_LEN);
	put_flagged("truncated-4", FIX_MI | FIX_FP, req, len - 4);
	memcpy(cut, req, len);
	cut[3] = (uint8_t)(len - 8 - TC_STUN_HEADER_LEN);
	put_flagged("fingerprint-cut-off", FIX_MI | FIX_FP, cut, len - 8);
}

void stun_seeds(void)
{
	uint8_t buf[ROOM];
	size_t n;

	n = check(buf, UFRAG ":Cd34", PWD, true, false, true);
	put_flagged("check-from-controlling", FIX_MI | FIX_FP, buf, n);
	put_flagged("check-v6", V6 | FIX_MI | FIX_FP, buf, n);
	put_flagged("check-raw", 0, buf, n);
	response_seed(buf, n);
	truncated_seeds(buf, n);
	n = check(buf, UFRAG ":Cd34", PWD, true, true, true);
	put_flagged("check-nominating", FIX_MI | FIX_FP, buf, n);
	n = check(buf, UFRAG ":Cd34", PWD, false, false, true);
	put_flagged("check-from-controlled", CONTROLLING | FIX_MI | FIX_FP, buf,
		    n);
	put_flagged("check-role-conflict", FIX_MI | FIX_FP, buf, n);
	n = check(buf, UFRAG ":Cd34", PWD, true, false, false);
	put_flagged("check-no-fingerprint", FIX_MI, buf, n);
	n = check(buf, UFRAG ":Cd34", NULL, true, false, true);
	put_flagged("check-no-integrity", FIX_FP, buf, n);
	n = check(buf, UFRAG ":Cd34", NULL, true, false, false);
	put_flagged("check-bare", 0, buf, n);
	n = check(buf, "Xy99:Cd34", PWD, true, false, true);
	put_flagged("check-other-ufrag", FIX_MI | FIX_FP, buf, n);
	n = check(buf, UFRAG ":Cd34", "some-other-password-xx", true, false,
		  true);
	put_flagged("check-other-password", FIX_FP, buf, n);
	n = check(buf, UFRAG ":Cd34", PWD, true, false, true);
	buf[1] = 0x03; /* an Allocate request */
	put_flagged("check-other-method", FIX_MI | FIX_FP, buf, n);
	indication_seed();
}
