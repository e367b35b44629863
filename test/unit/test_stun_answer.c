/*
 * Tests of tincan/stun_answer.c: which datagrams are STUN (and of which
 * class), and the answers to connectivity checks built the way a peer's
 * libnice agent builds them (libnice's STUN library, RFC 5245 usage): a
 * check for this stream's ufrag keyed with its password gets a success
 * response the checker accepts, naming the address the check came from;
 * a check for another ufrag, with another password, from a sender in our
 * role, or altered on the way gets none.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <glib.h>

#include <stun/stunagent.h>
#include <stun/usages/ice.h>

#include "tincan/stun_answer.h"

#define OUR_UFRAG "Ab12"
#define OUR_PWD "our-password-of-22-chars"

static void checker_init(StunAgent *a)
{
	stun_agent_init(a, STUN_ALL_KNOWN_ATTRIBUTES,
			STUN_COMPATIBILITY_RFC5389,
			STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS |
			    STUN_AGENT_USAGE_USE_FINGERPRINT);
}

/* A check as the peer's agent sends it: its length. */
static size_t make_check(StunAgent *a, uint8_t *buf, size_t room,
			 const char *user, const char *pwd, bool controlling)
{
	StunMessage msg;

	return stun_usage_ice_conncheck_create(
	    a, &msg, buf, room, (const uint8_t *)user, strlen(user),
	    (const uint8_t *)pwd, strlen(pwd), controlling, controlling,
	    0x6e7f00ff, 0x0102030405060708ULL, NULL,
	    STUN_USAGE_ICE_COMPATIBILITY_RFC5245);
}

static socklen_t make_src(struct sockaddr_storage *ss, bool v6)
{
	struct sockaddr_in *v4a = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6a = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (v6) {
		v6a->sin6_family = AF_INET6;
		v6a->sin6_port = htons(61234);
		ck_assert_int_eq(inet_pton(AF_INET6, "fd00::7", &v6a->sin6_addr),
				 1);
		return sizeof(*v6a);
	}
	v4a->sin_family = AF_INET;
	v4a->sin_port = htons(61234);
	ck_assert_int_eq(inet_pton(AF_INET, "100.64.1.2", &v4a->sin_addr), 1);
	return sizeof(*v4a);
}

static const struct {
	const char *what, *user, *pwd;
	bool we_control, peer_controls, v6, tamper;
	int want;
} checks[] = {
    {"controlled end, IPv4", OUR_UFRAG ":Cd34", OUR_PWD, false, true, false,
     false, 0},
    {"controlled end, IPv6", OUR_UFRAG ":Cd34", OUR_PWD, false, true, true,
     false, 0},
    {"controlling end", OUR_UFRAG ":Cd34", OUR_PWD, true, false, false,
     false, 0},
    {"another password", OUR_UFRAG ":Cd34", "some-other-password-xx", false,
     true, false, false, -EACCES},
    {"another stream's ufrag", "Xy99:Cd34", OUR_PWD, false, true, false,
     false, -EACCES},
    {"our ufrag only as a prefix", OUR_UFRAG "x:Cd34", OUR_PWD, false, true,
     false, false, -EACCES},
    {"both controlling", OUR_UFRAG ":Cd34", OUR_PWD, true, true, false,
     false, -EPROTO},
    {"both controlled", OUR_UFRAG ":Cd34", OUR_PWD, false, false, false,
     false, -EPROTO},
    {"altered on the way", OUR_UFRAG ":Cd34", OUR_PWD, false, true, false,
     true, -EBADMSG},
};

START_TEST(test_answer_table)
{
	StunAgent peer;
	StunMessage rsp;
	uint8_t req[256], out[TC_STUN_REPLY_MAX];
	struct sockaddr_storage src, mapped;
	socklen_t src_len, mapped_len = sizeof(mapped);
	struct tc_stun_creds c = {OUR_UFRAG, OUR_PWD, checks[_i].we_control};
	size_t len, n = 1;
	int r;

	checker_init(&peer);
	len = make_check(&peer, req, sizeof(req), checks[_i].user,
			 checks[_i].pwd, checks[_i].peer_controls);
	ck_assert_uint_gt(len, TC_STUN_HEADER_LEN);
	ck_assert_int_eq(tc_stun_kind(req, len), TC_STUN_REQUEST);
	if (checks[_i].tamper)
		req[len - 13] ^= 0x01; /* in MESSAGE-INTEGRITY */
	src_len = make_src(&src, checks[_i].v6);
	r = tc_stun_answer(&c, req, len, (struct sockaddr *)&src, src_len, out,
			   &n);
	ck_assert_msg(r == checks[_i].want, "%s: %d, not %d", checks[_i].what,
		      r, checks[_i].want);
	if (r < 0) {
		ck_assert_uint_eq(n, 0);
		return;
	}
	/* The checker takes it: its transaction, keyed with our password,
	 * and the address it was sent from. */
	ck_assert_int_eq(tc_stun_kind(out, n), TC_STUN_RESPONSE);
	ck_assert_int_eq(stun_agent_validate(&peer, &rsp, out, n, NULL, NULL),
			 STUN_VALIDATION_SUCCESS);
	ck_assert_int_eq(stun_usage_ice_conncheck_process(
			     &rsp, &mapped, &mapped_len,
			     STUN_USAGE_ICE_COMPATIBILITY_RFC5245),
			 STUN_USAGE_ICE_RETURN_SUCCESS);
	ck_assert_uint_eq(mapped_len, src_len);
	ck_assert_mem_eq(&mapped, &src, src_len);
}
END_TEST

/* The answer echoes the request's USERNAME: a peer's ufrag of 256
 * characters (RFC 8445's longest), checking from an IPv6 address, still
 * gets one its agent accepts. */
START_TEST(test_answer_longest_ufrag)
{
	StunAgent peer;
	StunMessage rsp;
	uint8_t req[1024], out[TC_STUN_REPLY_MAX];
	struct sockaddr_storage src, mapped;
	socklen_t src_len = make_src(&src, true), mapped_len = sizeof(mapped);
	struct tc_stun_creds c = {OUR_UFRAG, OUR_PWD, false};
	char *theirs = g_strnfill(256, 'z');
	char *user = g_strconcat(OUR_UFRAG ":", theirs, NULL);
	size_t len, n = 0;

	checker_init(&peer);
	len = make_check(&peer, req, sizeof(req), user, OUR_PWD, true);
	ck_assert_uint_gt(len, 256 + TC_STUN_HEADER_LEN);
	ck_assert_int_eq(tc_stun_answer(&c, req, len, (struct sockaddr *)&src,
					src_len, out, &n),
			 0);
	ck_assert_int_eq(stun_agent_validate(&peer, &rsp, out, n, NULL, NULL),
			 STUN_VALIDATION_SUCCESS);
	ck_assert_int_eq(stun_usage_ice_conncheck_process(
			     &rsp, &mapped, &mapped_len,
			     STUN_USAGE_ICE_COMPATIBILITY_RFC5245),
			 STUN_USAGE_ICE_RETURN_SUCCESS);
	ck_assert_mem_eq(&mapped, &src, src_len);
	g_free(user);
	g_free(theirs);
}
END_TEST

/* A check of a truncated or padded length is no STUN message. */
START_TEST(test_answer_bad_length)
{
	StunAgent peer;
	uint8_t req[256], out[TC_STUN_REPLY_MAX];
	struct sockaddr_storage src;
	socklen_t src_len = make_src(&src, false);
	struct tc_stun_creds c = {OUR_UFRAG, OUR_PWD, false};
	size_t len, n;

	checker_init(&peer);
	len = make_check(&peer, req, sizeof(req), OUR_UFRAG ":Cd34", OUR_PWD,
			 true);
	ck_assert_int_eq(tc_stun_answer(&c, req, len - 4,
					(struct sockaddr *)&src, src_len, out,
					&n),
			 -EBADMSG);
	memset(req + len, 0, 4);
	ck_assert_int_eq(tc_stun_answer(&c, req, len + 4,
					(struct sockaddr *)&src, src_len, out,
					&n),
			 -EBADMSG);
	ck_assert_int_eq(tc_stun_answer(&c, req, len, (struct sockaddr *)&src,
					0, out, &n),
			 -EBADMSG);
	ck_assert_int_eq(tc_stun_answer(&c, req, len, (struct sockaddr *)&src,
					src_len, out, &n),
			 0);
}
END_TEST

/* A binding request for our ufrag with an attribute of type t and len
 * bytes, then a FINGERPRINT (libnice's encoding: its CRC is right). */
static size_t make_misshaped(uint8_t *buf, size_t room, uint16_t t,
			     size_t len, bool fingerprint)
{
	static const uint8_t zero[32];
	const char *user = OUR_UFRAG ":Cd34";
	StunAgent a;
	StunMessage msg;

	stun_agent_init(&a, STUN_ALL_KNOWN_ATTRIBUTES,
			STUN_COMPATIBILITY_RFC5389,
			fingerprint ? STUN_AGENT_USAGE_USE_FINGERPRINT : 0);
	ck_assert(stun_agent_init_request(&a, &msg, buf, room, STUN_BINDING));
	ck_assert_int_eq(stun_message_append_bytes(&msg,
						   STUN_ATTRIBUTE_USERNAME,
						   user, strlen(user)),
			 STUN_MESSAGE_RETURN_SUCCESS);
	ck_assert_int_eq(stun_message_append_bytes(&msg, t, zero, len),
			 STUN_MESSAGE_RETURN_SUCCESS);
	return stun_agent_finish_message(&a, &msg, NULL, 0);
}

/* MESSAGE-INTEGRITY and FINGERPRINT of the wrong size, or FINGERPRINT
 * not last, make no binding request: refused before libnice's validation,
 * which compared 20 bytes at a shorter MESSAGE-INTEGRITY and so read past
 * a datagram ending there (the request ends at an unreadable page here,
 * as fuzz_stun's do). */
START_TEST(test_answer_misshaped)
{
	static const struct {
		uint16_t type;
		size_t len;
		bool fingerprint;
	} cases[] = {
	    {STUN_ATTRIBUTE_MESSAGE_INTEGRITY, 0, true},
	    {STUN_ATTRIBUTE_MESSAGE_INTEGRITY, 4, true},
	    {STUN_ATTRIBUTE_MESSAGE_INTEGRITY, 19, true},
	    {STUN_ATTRIBUTE_MESSAGE_INTEGRITY, 24, true},
	    {STUN_ATTRIBUTE_FINGERPRINT, 4, true}, /* two, the first not last */
	    {STUN_ATTRIBUTE_FINGERPRINT, 8, false},
	};
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *area = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t req[256], out[TC_STUN_REPLY_MAX], *at;
	struct sockaddr_storage src;
	socklen_t src_len = make_src(&src, false);
	struct tc_stun_creds c = {OUR_UFRAG, OUR_PWD, false};
	size_t len, n = 1;

	ck_assert(area != MAP_FAILED);
	ck_assert_int_eq(mprotect(area + page, (size_t)page, PROT_NONE), 0);
	len = make_misshaped(req, sizeof(req), cases[_i].type, cases[_i].len,
			     cases[_i].fingerprint);
	ck_assert_uint_gt(len, TC_STUN_HEADER_LEN);
	ck_assert_int_eq(tc_stun_kind(req, len), TC_STUN_REQUEST);
	at = area + page - len;
	memcpy(at, req, len);
	ck_assert_int_eq(tc_stun_answer(&c, at, len, (struct sockaddr *)&src,
					src_len, out, &n),
			 -EBADMSG);
	ck_assert_uint_eq(n, 0);
	munmap(area, 2 * (size_t)page);
}
END_TEST

#define COOKIE 0x21, 0x12, 0xa4, 0x42
#define TXID 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12

static const struct {
	const char *what;
	uint8_t bytes[28];
	size_t len;
	enum tc_stun_kind want;
} kinds[] = {
    {"binding request", {0x00, 0x01, 0, 0, COOKIE, TXID}, 20, TC_STUN_REQUEST},
    {"binding indication (keepalive)",
     {0x00, 0x11, 0, 8, COOKIE, TXID, 0x80, 0x28, 0, 4, 1, 2, 3, 4},
     28,
     TC_STUN_INDICATION},
    {"success response", {0x01, 0x01, 0, 0, COOKIE, TXID}, 20, TC_STUN_RESPONSE},
    {"error response", {0x01, 0x11, 0, 0, COOKIE, TXID}, 20, TC_STUN_RESPONSE},
    {"no magic cookie", {0x00, 0x01, 0, 0, 0x21, 0x12, 0xa4, 0x43, TXID},
     20,
     TC_STUN_NOT},
    {"top bits set", {0x40, 0x01, 0, 0, COOKIE, TXID}, 20, TC_STUN_NOT},
    {"length past the end", {0x00, 0x01, 0, 8, COOKIE, TXID}, 20, TC_STUN_NOT},
    {"length not a multiple of 4",
     {0x00, 0x01, 0, 6, COOKIE, TXID, 0, 0, 0, 0, 0, 0},
     26,
     TC_STUN_NOT},
    {"shorter than a header", {0x00, 0x01, 0, 0, COOKIE, 1, 2, 3}, 11,
     TC_STUN_NOT},
    /* Ours: [type 1..4][3 zero][index]...: the cookie never fits. */
    {"a handshake initiation of ours", {0x01, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef},
     20,
     TC_STUN_NOT},
    {"a data packet of ours", {0x04, 0, 0, 0, 0x11, 0x22, 0x33, 0x44}, 28,
     TC_STUN_NOT},
};

START_TEST(test_kind_table)
{
	ck_assert_msg(tc_stun_kind(kinds[_i].bytes, kinds[_i].len) ==
			  kinds[_i].want,
		      "%s", kinds[_i].what);
}
END_TEST

extern Suite *suite_stun_answer(void);

Suite *suite_stun_answer(void)
{
	Suite *s = suite_create("stun_answer");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_answer_table, 0, G_N_ELEMENTS(checks));
	tcase_add_test(tc, test_answer_longest_ufrag);
	tcase_add_test(tc, test_answer_bad_length);
	tcase_add_loop_test(tc, test_answer_misshaped, 0, 6);
	tcase_add_loop_test(tc, test_kind_table, 0, G_N_ELEMENTS(kinds));
	suite_add_tcase(s, tc);
	return s;
}
