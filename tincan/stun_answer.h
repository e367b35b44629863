/*
 * ICE connectivity checks that reach tincan's fast receive path, answered
 * there as libnice would answer them.  Once a link reads its selected
 * socket itself (link_data.c), libnice no longer sees what arrives on it,
 * but the peer's agent may still be checking that pair: after an ICE
 * restart the controlling side selects its pair as soon as its own check
 * is answered, while the controlled side selects only once a check of its
 * own on the pair has been answered too (RFC 8445 §7.3.1.5, §8.1.1).  A
 * check eaten by the fast path left the peer without a pair for seconds.
 *
 * This module owns the recognition of STUN datagrams (RFC 5389 §6: top
 * two bits zero, a length that fits, the magic cookie) and the answer to a
 * binding request that carries this stream's ufrag and is keyed with its
 * password: a success response with the sender's address
 * (XOR-MAPPED-ADDRESS), keyed and fingerprinted like the request.  It does
 * no I/O and knows nothing of links; libnice's STUN library does the
 * encoding and the integrity checks, once this module has checked the
 * attributes' layout (libnice trusts the sizes of some).
 */
#ifndef TC_STUN_ANSWER_H
#define TC_STUN_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum {
	TC_STUN_HEADER_LEN = 20,
	/* Room for any answer: the header, XOR-MAPPED-ADDRESS (24 bytes for
	 * IPv6), the request's USERNAME echoed (at most 513 bytes, RFC 5389
	 * 15.3: ufrags of up to 256 characters), MESSAGE-INTEGRITY (24) and
	 * FINGERPRINT (8).  Those of libnice's 4-character ufrags are ~90. */
	TC_STUN_REPLY_MAX = 20 + 24 + 4 + 516 + 24 + 8,
};

/* What a datagram is by its STUN header. */
enum tc_stun_kind {
	TC_STUN_NOT,	    /* not STUN (one of our messages, or junk) */
	TC_STUN_REQUEST,    /* a request: a connectivity check */
	TC_STUN_INDICATION, /* an indication: a keepalive, needs no answer */
	TC_STUN_RESPONSE,   /* a success or error response */
};

/* untrusted: from anyone.  Reads only the header of buf (len bytes). */
enum tc_stun_kind tc_stun_kind(const uint8_t *buf, size_t len);

/* The credentials of the stream whose socket the datagram arrived on. */
struct tc_stun_creds {
	const char *ufrag; /* this end's ufrag and password */
	const char *pwd;
	bool controlling; /* this end's ICE role */
};

/* untrusted: buf from src.  Answers a binding request: the response in out
 * (TC_STUN_REPLY_MAX bytes of room), its length in *out_len; 0, or
 * -EBADMSG (not a well-formed binding request, including one whose
 * MESSAGE-INTEGRITY or FINGERPRINT has the wrong size or whose FINGERPRINT
 * is not last), -EACCES (not for this stream's ufrag, or not keyed with
 * its password), -EPROTO (the sender claims this end's role: no answer,
 * the pair fails as it would have). */
int tc_stun_answer(const struct tc_stun_creds *c, const uint8_t *buf,
		   size_t len, const struct sockaddr *src, socklen_t src_len,
		   uint8_t *out, size_t *out_len);

#endif
