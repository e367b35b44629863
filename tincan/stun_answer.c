/*
 * Connectivity checks answered on the fast receive path (see
 * stun_answer.h): the STUN header test, and the answer built with
 * libnice's STUN library, with the flags its agents use for RFC 5245
 * (short-term credentials, FINGERPRINT).
 */
#include <errno.h>
#include <string.h>

#include <stun/stunagent.h>
#include <stun/usages/ice.h>

#include "tincan/stun_answer.h"

/* RFC 5389 §6: the magic cookie, big-endian at bytes 4-7. */
static const uint8_t cookie[4] = {0x21, 0x12, 0xa4, 0x42};

/* RFC 5389 §15: an attribute is a type and a length (4 bytes), then the
 * value padded to 4; MESSAGE-INTEGRITY's value is 20 bytes, FINGERPRINT's
 * 4, and FINGERPRINT is last. */
enum { ATTR_HDR_LEN = 4, MI_LEN = 20, FP_LEN = 4 };

enum tc_stun_kind tc_stun_kind(const uint8_t *buf, size_t len)
{
	size_t body;

	if (len < TC_STUN_HEADER_LEN || (buf[0] & 0xc0) != 0 ||
	    memcmp(buf + 4, cookie, sizeof(cookie)) != 0)
		return TC_STUN_NOT;
	body = (size_t)buf[2] << 8 | buf[3];
	if (body % 4 != 0 || TC_STUN_HEADER_LEN + body != len)
		return TC_STUN_NOT;
	/* The class is bits C1 (0x0100) and C0 (0x0010) of the type. */
	switch ((buf[0] & 0x01) << 1 | (buf[1] & 0x10) >> 4) {
	case 0:
		return TC_STUN_REQUEST;
	case 1:
		return TC_STUN_INDICATION;
	default:
		return TC_STUN_RESPONSE;
	}
}

static size_t get16(const uint8_t *p)
{
	return (size_t)p[0] << 8 | p[1];
}

/* untrusted: a STUN datagram of len bytes.  Whether its attributes fill
 * it exactly and MESSAGE-INTEGRITY and FINGERPRINT have their sizes, the
 * latter last.  libnice's validation compares 20 bytes at the first
 * MESSAGE-INTEGRITY whatever its length: a shorter one near the end made
 * it read up to 20 bytes past the datagram (found by fuzz_stun). */
static bool attrs_sound(const uint8_t *buf, size_t len)
{
	size_t off = TC_STUN_HEADER_LEN, type, alen;

	while (len - off >= ATTR_HDR_LEN) {
		type = get16(buf + off);
		alen = get16(buf + off + 2);
		if (type == STUN_ATTRIBUTE_MESSAGE_INTEGRITY && alen != MI_LEN)
			return false;
		if (type == STUN_ATTRIBUTE_FINGERPRINT &&
		    (alen != FP_LEN || len - off != ATTR_HDR_LEN + FP_LEN))
			return false;
		alen = (alen + 3) & ~(size_t)3;
		if (len - off - ATTR_HDR_LEN < alen)
			return false;
		off += ATTR_HDR_LEN + alen;
	}
	return off == len;
}

/* One agent serves every link (all on the main loop): it answers only,
 * so it keeps no transaction between calls. */
static StunAgent *agent(void)
{
	static StunAgent a;
	static bool ready;

	if (!ready) {
		stun_agent_init(&a, STUN_ALL_KNOWN_ATTRIBUTES,
				STUN_COMPATIBILITY_RFC5389,
				STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS |
				    STUN_AGENT_USAGE_USE_FINGERPRINT);
		ready = true;
	}
	return &a;
}

/* ICE passwords are at most 256 characters (RFC 8839 §5.4). */
struct key {
	const char *ufrag;
	uint8_t pwd[256];
	size_t pwd_len;
};

/* The request's USERNAME is "receiver's ufrag:sender's ufrag" (RFC 8445
 * §7.2.2): ours first, or the check is for another stream. */
static bool validater(StunAgent *a, StunMessage *msg, uint8_t *user,
		      uint16_t user_len, uint8_t **pwd, size_t *pwd_len,
		      void *data)
{
	struct key *k = data;
	size_t n = strlen(k->ufrag);

	(void)a;
	(void)msg;
	if (n == 0 || user_len <= n || memcmp(user, k->ufrag, n) != 0 ||
	    user[n] != ':')
		return false;
	*pwd = k->pwd;
	*pwd_len = k->pwd_len;
	return true;
}

int tc_stun_answer(const struct tc_stun_creds *c, const uint8_t *buf,
		   size_t len, const struct sockaddr *src, socklen_t src_len,
		   uint8_t *out, size_t *out_len)
{
	StunMessage req, rsp;
	struct sockaddr_storage from;
	struct key k = {.ufrag = c->ufrag};
	bool control = c->controlling;
	size_t n = TC_STUN_REPLY_MAX;
	StunUsageIceReturn r;

	*out_len = 0;
	if (tc_stun_kind(buf, len) != TC_STUN_REQUEST ||
	    !attrs_sound(buf, len) || src_len == 0 || src_len > sizeof(from))
		return -EBADMSG;
	if (!c->ufrag || !c->pwd || strlen(c->pwd) > sizeof(k.pwd))
		return -EACCES;
	k.pwd_len = strlen(c->pwd);
	memcpy(k.pwd, c->pwd, k.pwd_len);
	switch (stun_agent_validate(agent(), &req, buf, len, validater, &k)) {
	case STUN_VALIDATION_SUCCESS:
		break;
	case STUN_VALIDATION_UNAUTHORIZED:
	case STUN_VALIDATION_UNAUTHORIZED_BAD_REQUEST:
		return -EACCES;
	default:
		return -EBADMSG;
	}
	memset(&from, 0, sizeof(from));
	memcpy(&from, src, src_len);
	/* Roles are fixed by uid order: a sender in ours is answered with
	 * nothing (the tie-breaker makes the library refuse or switch,
	 * either way a role conflict), never with a switch of ours. */
	r = stun_usage_ice_conncheck_create_reply(
	    agent(), &req, &rsp, out, &n, &from, src_len, &control,
	    control ? UINT64_MAX : 0, STUN_USAGE_ICE_COMPATIBILITY_RFC5245);
	if (r == STUN_USAGE_ICE_RETURN_ROLE_CONFLICT)
		return -EPROTO;
	if (r != STUN_USAGE_ICE_RETURN_SUCCESS || n == 0)
		return -EBADMSG;
	*out_len = n;
	return 0;
}
