/*
 * The command about peer mappings: map-peer (overlay addresses and MAC of a
 * peer, or their removal).
 */
#include <sys/socket.h>

#include <glib.h>

#include "tools/ipopctl/client.h"
#include "tools/ipopctl/parse.h"

static int map_opts(struct ctl *c, struct args *a, Ipop__MapPeer *mp,
		    uint8_t mac[IPOP_MAC_LEN])
{
	int r;

	if ((r = parse_label(c, a->label)) != 0)
		return r;
	if (a->ipv4 != NULL &&
	    (r = parse_addr(c, AF_INET, "ipv4", a->ipv4, &mp->ipv4)))
		return r;
	if (a->ipv6 != NULL &&
	    (r = parse_addr(c, AF_INET6, "ipv6", a->ipv6, &mp->ipv6)))
		return r;
	if (a->peer_ipv4 != NULL &&
	    (r = parse_addr(c, AF_INET, "peer-ipv4", a->peer_ipv4,
			    &mp->peer_ipv4)))
		return r;
	if (a->mac != NULL) {
		if ((r = parse_mac(c, a->mac, mac)) != 0)
			return r;
		mp->mac.data = mac;
		mp->mac.len = IPOP_MAC_LEN;
	}
	return 0;
}

int cmd_map_peer(struct ctl *c, struct args *a)
{
	uint8_t mac[IPOP_MAC_LEN];
	Ipop__MapPeer mp;
	Ipop__Request req;
	char *empty;
	int r;

	ipop__map_peer__init(&mp);
	empty = mp.ipv4;
	mp.overlay = a->pos[0];
	mp.peer_uid = a->pos[1];
	mp.remove = a->remove;
	if (a->label != NULL)
		mp.label = a->label;
	r = parse_link_args(c, a);
	if (r == 0)
		r = map_opts(c, a, &mp, mac);
	if (r == 0) {
		ipop__request__init(&req);
		req.kind_case = IPOP__REQUEST__KIND_MAP_PEER;
		req.map_peer = &mp;
		r = client_request(c, &req);
	}
	if (mp.ipv4 != empty)
		g_free(mp.ipv4);
	if (mp.ipv6 != empty)
		g_free(mp.ipv6);
	if (mp.peer_ipv4 != empty)
		g_free(mp.peer_ipv4);
	return r;
}
