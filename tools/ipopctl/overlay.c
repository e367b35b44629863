/*
 * Commands about overlays: create-overlay and remove-overlay.
 */
#include <string.h>
#include <sys/socket.h>

#include <glib.h>
#include <sodium.h>

#include "tools/ipopctl/client.h"
#include "tools/ipopctl/parse.h"

static int check_mode(struct ctl *c, const char *s, Ipop__OverlayMode *m)
{
	if (s == NULL || strcmp(s, "l3") == 0)
		*m = IPOP__OVERLAY_MODE__L3;
	else if (strcmp(s, "switch") == 0)
		*m = IPOP__OVERLAY_MODE__SWITCH;
	else
		return usage_err(c, "--mode must be l3 or switch, got '%s'", s);
	return 0;
}

/* Fills co from the options; strings it allocates are freed by the caller
 * (co->ipv4 / co->ipv6 when not the shared empty string). */
static int overlay_opts(struct ctl *c, struct args *a, Ipop__CreateOverlay *co,
			uint8_t psk[IPOP_PSK_LEN])
{
	unsigned long mtu, v;
	int r;

	if (a->tap == NULL)
		return usage_err(c, "--tap IFNAME is required");
	if ((r = parse_ifname(c, "--tap", a->tap)) != 0 ||
	    (r = check_mode(c, a->mode, &co->mode)) != 0)
		return r;
	if (a->bridge != NULL && (r = parse_ifname(c, "--bridge", a->bridge)))
		return r;
	if (a->mtu != NULL) {
		if (!parse_ulong(a->mtu, IPOP_MTU_MIN, IPOP_MTU_MAX, &mtu))
			return usage_err(c, "--mtu must be %d..%d, got '%s'",
					 IPOP_MTU_MIN, IPOP_MTU_MAX, a->mtu);
		co->mtu = (uint32_t)mtu;
	}
	if (a->ondemand_rate != NULL) {
		if (!parse_ulong(a->ondemand_rate, 0, G_MAXULONG, &v))
			return usage_err(c,
					 "--ondemand-rate must be a number "
					 "of bytes per second, got '%s'",
					 a->ondemand_rate);
		co->ondemand_bytes_per_s = v;
	}
	if (a->ondemand_idle != NULL) {
		if (!parse_ulong(a->ondemand_idle, 0, G_MAXUINT32, &v))
			return usage_err(c,
					 "--ondemand-idle must be 0..%u ms, "
					 "got '%s'",
					 G_MAXUINT32, a->ondemand_idle);
		co->ondemand_idle_ms = (uint32_t)v;
	}
	if (a->ipv4 != NULL && (r = parse_cidr(c, AF_INET, "ipv4", a->ipv4,
					       &co->ipv4, &co->ipv4_prefix)))
		return r;
	if (a->ipv6 != NULL && (r = parse_cidr(c, AF_INET6, "ipv6", a->ipv6,
					       &co->ipv6, &co->ipv6_prefix)))
		return r;
	if (a->psk_file != NULL) {
		if ((r = parse_psk_file(c, a->psk_file, psk)) != 0)
			return r;
		co->psk.data = psk;
		co->psk.len = IPOP_PSK_LEN;
	}
	return 0;
}

int cmd_create_overlay(struct ctl *c, struct args *a)
{
	Ipop__CreateOverlay co;
	Ipop__Request req;
	uint8_t psk[IPOP_PSK_LEN];
	char *v4, *v6, *empty;
	int r;

	ipop__create_overlay__init(&co);
	empty = co.ipv4; /* the shared empty string, never freed */
	co.name = a->pos[0];
	co.tap_name = a->tap;
	co.translation = a->translation;
	if (a->bridge != NULL)
		co.bridge = a->bridge;
	r = parse_overlay_name(c, "NAME", a->pos[0]);
	if (r == 0)
		r = overlay_opts(c, a, &co, psk);
	v4 = co.ipv4 != empty ? co.ipv4 : NULL;
	v6 = co.ipv6 != empty ? co.ipv6 : NULL;
	if (r == 0) {
		ipop__request__init(&req);
		req.kind_case = IPOP__REQUEST__KIND_CREATE_OVERLAY;
		req.create_overlay = &co;
		r = client_request(c, &req);
	}
	sodium_memzero(psk, sizeof(psk));
	g_free(v4);
	g_free(v6);
	return r;
}

int cmd_remove_overlay(struct ctl *c, struct args *a)
{
	Ipop__RemoveOverlay ro;
	Ipop__Request req;
	int r;

	if ((r = parse_overlay_name(c, "NAME", a->pos[0])) != 0)
		return r;
	ipop__remove_overlay__init(&ro);
	ro.name = a->pos[0];
	ipop__request__init(&req);
	req.kind_case = IPOP__REQUEST__KIND_REMOVE_OVERLAY;
	req.remove_overlay = &ro;
	return client_request(c, &req);
}
