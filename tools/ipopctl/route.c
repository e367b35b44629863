/*
 * The commands of GroupVPN forwarding (PROTOCOL.md §14): set-route (the
 * next hop towards a member, or its removal) and set-link-kind (why the
 * controller holds a link), and the link kind names create-link --kind
 * takes too.
 */
#include <string.h>

#include <glib.h>

#include "tools/ipopctl/client.h"
#include "tools/ipopctl/parse.h"

static const char *const kind_names[] = {
    [IPOP__LINK_KIND__LINK_KIND_UNSPECIFIED] = "unspecified",
    [IPOP__LINK_KIND__LINK_KIND_SUCCESSOR] = "successor",
    [IPOP__LINK_KIND__LINK_KIND_CHORD] = "chord",
    [IPOP__LINK_KIND__LINK_KIND_ON_DEMAND] = "on-demand",
};

const char *route_kind_name(Ipop__LinkKind k)
{
	if ((unsigned)k < G_N_ELEMENTS(kind_names))
		return kind_names[k];
	return "unknown";
}

int parse_link_kind(struct ctl *c, const char *s, Ipop__LinkKind *out)
{
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(kind_names); i++)
		if (strcmp(s, kind_names[i]) == 0) {
			*out = (Ipop__LinkKind)i;
			return 0;
		}
	return usage_err(c,
			 "link kind must be successor, chord, on-demand or "
			 "unspecified, got '%s'",
			 s);
}

int cmd_set_route(struct ctl *c, struct args *a)
{
	Ipop__SetRoute sr;
	Ipop__Request req;
	int r;

	if ((r = parse_link_args(c, a)) != 0)
		return r;
	if (a->remove != (a->npos == 2))
		return usage_err(c, "give VIA_UID, or --remove without it");
	if (!a->remove && (r = parse_uid(c, a->pos[2])) != 0)
		return r;
	ipop__set_route__init(&sr);
	sr.overlay = a->pos[0];
	sr.dest_uid = a->pos[1];
	if (!a->remove)
		sr.via_uid = a->pos[2];
	sr.remove = a->remove;
	ipop__request__init(&req);
	req.kind_case = IPOP__REQUEST__KIND_SET_ROUTE;
	req.set_route = &sr;
	return client_request(c, &req);
}

int cmd_set_link_kind(struct ctl *c, struct args *a)
{
	Ipop__SetLinkKind sk;
	Ipop__Request req;
	int r;

	ipop__set_link_kind__init(&sk);
	if ((r = parse_link_args(c, a)) != 0 ||
	    (r = parse_link_kind(c, a->pos[2], &sk.kind)) != 0)
		return r;
	sk.overlay = a->pos[0];
	sk.peer_uid = a->pos[1];
	ipop__request__init(&req);
	req.kind_case = IPOP__REQUEST__KIND_SET_LINK_KIND;
	req.set_link_kind = &sk;
	return client_request(c, &req);
}
