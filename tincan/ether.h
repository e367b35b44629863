/*
 * Ethernet-level packet logic of L3 mode, as pure functions over byte
 * buffers: classifying a frame read from the TAP (where must it go?),
 * answering ARP requests and IPv6 neighbour solicitations for mapped peers
 * with their synthetic MACs, and deriving those MACs.  No I/O, no state;
 * every length is checked before an offset is read (untrusted input: the
 * local kernel and, on receive, peers).
 */
#ifndef TC_ETHER_H
#define TC_ETHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tincan/fwd.h"

enum {
	TC_ETH_HLEN = 14,
	TC_ETH_ALEN = 6,
	TC_ETHERTYPE_IPV4 = 0x0800,
	TC_ETHERTYPE_ARP = 0x0806,
	TC_ETHERTYPE_IPV6 = 0x86dd,
	TC_ETHERTYPE_VLAN = 0x8100,
};

/* What a frame from the local TAP wants. */
enum tc_frame_kind {
	TC_FRAME_DROP = 0,	/* malformed or not for the overlay */
	TC_FRAME_ARP_REQUEST,	/* answer locally with tc_arp_answer */
	TC_FRAME_NEIGH_SOLICIT, /* answer locally with tc_nd_answer */
	TC_FRAME_BROADCAST,	/* broadcast or multicast: replicate */
	TC_FRAME_UNICAST_V4,	/* look up dst_v4 */
	TC_FRAME_UNICAST_V6,	/* look up dst_v6 */
};

struct tc_frame_info {
	enum tc_frame_kind kind;
	uint16_t ethertype;
	uint8_t dst_v4[4];
	uint8_t dst_v6[16];
};

/* Classifies an Ethernet frame read from the TAP.  Never fails: anything
 * malformed is TC_FRAME_DROP. */
void tc_frame_classify(const uint8_t *frame, size_t len,
		       struct tc_frame_info *info);
/* untrusted: from a peer.  True when the IP frame's source address is one
 * the peer e may use: its mapped IPv4 address (checked only when check_v4;
 * the SocialVPN translator checks that one itself), its mapped IPv6
 * address, or an IPv6 link-local or unspecified address (ND, MLD).  False
 * for a frame too short for its IP header, any other ethertype, a peer with
 * no mapping (e NULL), or a source the peer does not own: a member must not
 * send packets as another member. */
bool tc_frame_src_is_peer(const uint8_t *frame, size_t len,
			  const struct tc_fwd_entry *e, bool check_v4);
/* If frame is an ARP request for an IPv4 address mapped in f, writes the ARP
 * reply (from the peer's synthetic MAC, to the requester) into out and
 * returns its length; 0 when the target is not mapped; -EINVAL when the
 * frame is malformed; -ENOSPC if cap < 42. */
int tc_arp_answer(const uint8_t *frame, size_t len, const struct tc_fwd *f,
		  uint8_t *out, size_t cap);
/* Writes an unsolicited ARP reply telling the local kernel (tap_mac,
 * tap_v4) that e's IPv4 address is at e's MAC, so a neighbour entry that
 * failed before the peer was mapped recovers at once.  Returns its length,
 * -EINVAL if e has no IPv4 address, -ENOSPC if cap < 42. */
int tc_arp_announce(const struct tc_fwd_entry *e, const uint8_t tap_mac[6],
		    const uint8_t tap_v4[4], uint8_t *out, size_t cap);
/* Same for an ICMPv6 neighbour solicitation: writes a solicited neighbour
 * advertisement with a target link-layer address option and a valid ICMPv6
 * checksum.  0 when the target is not mapped, -EINVAL when malformed
 * (including a bad checksum or hop limit != 255). */
int tc_nd_answer(const uint8_t *frame, size_t len, const struct tc_fwd *f,
		 uint8_t *out, size_t cap);
/* The synthetic MAC of a peer: locally administered unicast, from its uid. */
void tc_mac_from_uid(const char *uid, uint8_t mac[6]);
/* True for broadcast and multicast MACs. */
bool tc_mac_is_group(const uint8_t mac[6]);
/* Internet checksum helpers (RFC 1071), shared with the translator.
 * tc_csum_add adds big-endian 16-bit words to sum (start from 0); it may be
 * called on successive chunks, all but the last of even length.
 * tc_csum_fold folds and complements: the field value in host order (store
 * it big-endian); over data holding a correct checksum it yields 0. */
uint32_t tc_csum_add(uint32_t sum, const void *data, size_t len);
uint16_t tc_csum_fold(uint32_t sum);

#endif
