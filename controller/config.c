/*
 * Controller configuration: the schema.  Which keys exist (one table of
 * key handlers per mapping), what each value may be, the defaults and the
 * checks across keys (an overlay type's required keys, keys for one type
 * only, SocialVPN's subnet, address and pins).  The YAML tree and its
 * walker are cfgtree.c's, the value parsers cfgvalue.c's and the secret
 * files secret.c's; this file fills struct ctl_config from them.  Every
 * error names the file, the 1-based line of the offending node and the
 * dotted key path.  It opens no sockets and starts nothing.
 */
#define G_LOG_DOMAIN "controller"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/io.h"
#include "common/limits.h"
#include "common/paths.h"
#include "controller/cfgtree.h"
#include "controller/cfgvalue.h"
#include "controller/config.h"
#include "controller/secret.h"
#include "controller/svpn.h"

enum {
	MAX_FILE = 1024 * 1024, /* config file */
	XMPP_PORT = 5222,
};

GQuark ctl_config_error_quark(void)
{
	return g_quark_from_static_string("ctl-config-error-quark");
}

/* Reports a value parser's or a secret reader's reason (consumed). */
static int refused(const struct cfg_walk *w, const struct cfg_node *n,
		   const char *path, char *why)
{
	g_autofree char *msg = why;

	return cfg_fail(w, n, path, "%s", msg);
}

/* ---- generic values ---------------------------------------------------- */

static int set_string(const struct cfg_walk *w, const struct cfg_node *n,
		      const char *path, void *slot)
{
	if (cfg_need_text(w, n, path) < 0)
		return -EINVAL;
	*(char **)slot = g_strdup(n->str);
	return 0;
}

/* A number, quoted or not; anything else (a list too) gets the range. */
static int get_uint(const struct cfg_walk *w, const struct cfg_node *n,
		    const char *path, unsigned min, unsigned max, unsigned *out)
{
	char *why = NULL;

	if (cfg_value_uint(n->kind == CFG_SCALAR ? n->str : "", min, max, out,
			   &why) < 0)
		return refused(w, n, path, why);
	return 0;
}

static int set_port(const struct cfg_walk *w, const struct cfg_node *n,
		    const char *path, void *slot)
{
	unsigned v;

	if (get_uint(w, n, path, 1, 65535, &v) < 0)
		return -EINVAL;
	*(uint16_t *)slot = (uint16_t)v;
	return 0;
}

static int set_mtu(const struct cfg_walk *w, const struct cfg_node *n,
		   const char *path, void *slot)
{
	return get_uint(w, n, path, IPOP_MTU_MIN, IPOP_MTU_MAX, slot);
}

/* A text value checked by a parser of cfgvalue.h, then copied. */
static int set_checked(const struct cfg_walk *w, const struct cfg_node *n,
		       const char *path, char **slot,
		       int (*check)(const char *s, char **why))
{
	char *why = NULL;

	if (cfg_need_text(w, n, path) < 0)
		return -EINVAL;
	if (check(n->str, &why) < 0)
		return refused(w, n, path, why);
	*slot = g_strdup(n->str);
	return 0;
}

/* One of the choices: *out gets its value. */
static int get_choice(const struct cfg_walk *w, const struct cfg_node *n,
		      const char *path, const struct cfg_choice *c, size_t nc,
		      int *out)
{
	char *why = NULL;

	if (cfg_need_text(w, n, path) < 0)
		return -EINVAL;
	if (cfg_value_choice(n->str, c, nc, out, &why) < 0)
		return refused(w, n, path, why);
	return 0;
}

/* ---- xmpp -------------------------------------------------------------- */

static int set_jid(const struct cfg_walk *w, const struct cfg_node *n,
		   const char *path, void *slot)
{
	return set_checked(w, n, path, slot, cfg_value_bare_jid);
}

static int set_server(const struct cfg_walk *w, const struct cfg_node *n,
		      const char *path, void *slot)
{
	return set_checked(w, n, path, slot, cfg_value_host);
}

static int set_tls(const struct cfg_walk *w, const struct cfg_node *n,
		   const char *path, void *slot)
{
	static const struct cfg_choice modes[] = {
	    {"required", CTL_TLS_REQUIRED},
	    {"off", CTL_TLS_OFF},
	};
	int v;

	if (get_choice(w, n, path, modes, G_N_ELEMENTS(modes), &v) < 0)
		return -EINVAL;
	*(enum ctl_tls *)slot = (enum ctl_tls)v;
	return 0;
}

static int set_ca_file(const struct cfg_walk *w, const struct cfg_node *n,
		       const char *path, void *slot)
{
	g_autofree char *file = NULL;

	if (cfg_need_text(w, n, path) < 0)
		return -EINVAL;
	file = cfg_resolve(w, n->str);
	if (access(file, R_OK) < 0)
		return cfg_fail(w, n, path, "cannot read '%s': %s", file,
				g_strerror(errno));
	*(char **)slot = g_steal_pointer(&file);
	return 0;
}

/* xmpp.auto_approve: true approves every subscription request (and asks
 * back); false, the default, approves only requests of contacts we follow
 * or asked ourselves. */
static int set_auto_approve(const struct cfg_walk *w, const struct cfg_node *n,
			    const char *path, void *slot)
{
	static const struct cfg_choice values[] = {
	    {"false", 0},
	    {"true", 1},
	};
	int v;

	if (get_choice(w, n, path, values, G_N_ELEMENTS(values), &v) < 0)
		return -EINVAL;
	*(bool *)slot = v != 0;
	return 0;
}

static int only_one_password(const struct cfg_walk *w, const struct cfg_node *n,
			     const char *path)
{
	if (w->cfg->password == NULL)
		return 0;
	return cfg_fail(
	    w, n, path,
	    "give either xmpp.password or xmpp.password_file, not both");
}

static int set_password(const struct cfg_walk *w, const struct cfg_node *n,
			const char *path, void *slot)
{
	if (only_one_password(w, n, path) < 0 || cfg_need_text(w, n, path) < 0)
		return -EINVAL;
	*(char **)slot = g_strdup(n->str);
	w->cfg->password_inline = true;
	return 0;
}

static int set_password_file(const struct cfg_walk *w, const struct cfg_node *n,
			     const char *path, void *slot)
{
	g_autofree char *file = NULL;
	char *why = NULL;

	if (only_one_password(w, n, path) < 0 || cfg_need_text(w, n, path) < 0)
		return -EINVAL;
	file = cfg_resolve(w, n->str);
	if (ctl_secret_read_password(file, slot, &why) < 0)
		return refused(w, n, path, why);
	return 0;
}

#define CFG(member) offsetof(struct ctl_config, member)

static const struct cfg_field xmpp_fields[] = {
    {"jid", set_jid, CFG(jid), true},
    {"password", set_password, CFG(password), false},
    {"password_file", set_password_file, CFG(password), false},
    {"server", set_server, CFG(server), false},
    {"port", set_port, CFG(port), false},
    {"tls", set_tls, CFG(tls), false},
    {"ca_file", set_ca_file, CFG(ca_file), false},
    {"auto_approve", set_auto_approve, CFG(auto_approve), false},
};

static int set_xmpp(const struct cfg_walk *w, const struct cfg_node *n,
		    const char *path, void *slot)
{
	g_autofree char *kp = cfg_join(path, "password");
	uint32_t seen;

	if (cfg_walk_map(w, n, path, xmpp_fields, G_N_ELEMENTS(xmpp_fields),
			 slot, &seen) < 0)
		return -EINVAL;
	if (w->cfg->password == NULL)
		return cfg_fail(
		    w, n, kp,
		    "required key is missing (give password or password_file)");
	return 0;
}

/* ---- ice --------------------------------------------------------------- */

static int set_hostport(const struct cfg_walk *w, const struct cfg_node *n,
			const char *path, struct ctl_ice_server *srv)
{
	char *why = NULL;

	if (cfg_need_text(w, n, path) < 0)
		return -EINVAL;
	if (cfg_value_hostport(n->str, IPOP_ICE_PORT_DEFAULT, &srv->address,
			       &srv->port, &why) < 0)
		return refused(w, n, path, why);
	return 0;
}

static int stun_item(const struct cfg_walk *w, const struct cfg_node *n,
		     const char *path, unsigned i)
{
	w->cfg->n_stun = i + 1;
	return set_hostport(w, n, path, &w->cfg->stun[i]);
}

static int set_turn_server(const struct cfg_walk *w, const struct cfg_node *n,
			   const char *path, void *slot)
{
	return set_hostport(w, n, path, slot);
}

/* A TURN user name or password: at most what tincan takes. */
static int set_turn_cred(const struct cfg_walk *w, const struct cfg_node *n,
			 const char *path, void *slot)
{
	char *why = NULL;

	if (cfg_need_text(w, n, path) < 0)
		return -EINVAL;
	if (cfg_value_max_len(n->str, IPOP_TURN_CRED_MAX, &why) < 0)
		return refused(w, n, path, why);
	*(char **)slot = g_strdup(n->str);
	return 0;
}

#define SRV(member) offsetof(struct ctl_ice_server, member)

static const struct cfg_field turn_fields[] = {
    {"server", set_turn_server, 0, true},
    {"user", set_turn_cred, SRV(user), true},
    {"password", set_turn_cred, SRV(password), true},
};

static int turn_item(const struct cfg_walk *w, const struct cfg_node *n,
		     const char *path, unsigned i)
{
	uint32_t seen;

	w->cfg->n_turn = i + 1;
	return cfg_walk_map(w, n, path, turn_fields, G_N_ELEMENTS(turn_fields),
			    &w->cfg->turn[i], &seen);
}

static int set_stun(const struct cfg_walk *w, const struct cfg_node *n,
		    const char *path, void *slot)
{
	(void)slot;
	return cfg_walk_list(w, n, path, CTL_MAX_SERVERS, stun_item);
}

static int set_turn(const struct cfg_walk *w, const struct cfg_node *n,
		    const char *path, void *slot)
{
	(void)slot;
	return cfg_walk_list(w, n, path, CTL_MAX_SERVERS, turn_item);
}

static const struct cfg_field ice_fields[] = {
    {"stun", set_stun, 0, false},
    {"turn", set_turn, 0, false},
};

static int set_ice(const struct cfg_walk *w, const struct cfg_node *n,
		   const char *path, void *slot)
{
	uint32_t seen;

	return cfg_walk_map(w, n, path, ice_fields, G_N_ELEMENTS(ice_fields),
			    slot, &seen);
}

/* ---- overlays ---------------------------------------------------------- */

/* The overlay being walked: overlay_item counts it before walking it. */
static struct ctl_overlay_config *current(const struct cfg_walk *w)
{
	return &w->cfg->overlays[w->cfg->n_overlays - 1];
}

/* Refuses a value another overlay already has for the same member. */
static int unique(const struct cfg_walk *w, const struct cfg_node *n,
		  const char *path, size_t off, const char *what)
{
	const struct ctl_overlay_config *self = current(w);

	for (unsigned i = 0; i < w->cfg->n_overlays; i++) {
		const struct ctl_overlay_config *o = &w->cfg->overlays[i];
		const char *v = *(char *const *)((const char *)o + off);

		if (o != self && v != NULL && strcmp(v, n->str) == 0)
			return cfg_fail(w, n, path,
					"duplicate %s '%s' (also overlays[%u])",
					what, n->str, i);
	}
	return 0;
}

#define OVL(member) offsetof(struct ctl_overlay_config, member)

static int set_name(const struct cfg_walk *w, const struct cfg_node *n,
		    const char *path, void *slot)
{
	if (set_checked(w, n, path, slot, cfg_value_overlay_name) < 0)
		return -EINVAL;
	return unique(w, n, path, OVL(name), "overlay name");
}

static int set_tap(const struct cfg_walk *w, const struct cfg_node *n,
		   const char *path, void *slot)
{
	if (set_checked(w, n, path, slot, cfg_value_ifname) < 0)
		return -EINVAL;
	return unique(w, n, path, OVL(tap), "tap");
}

static int set_group(const struct cfg_walk *w, const struct cfg_node *n,
		     const char *path, void *slot)
{
	return set_checked(w, n, path, slot, cfg_value_group);
}

static int set_bridge(const struct cfg_walk *w, const struct cfg_node *n,
		      const char *path, void *slot)
{
	return set_checked(w, n, path, slot, cfg_value_ifname);
}

static int set_type(const struct cfg_walk *w, const struct cfg_node *n,
		    const char *path, void *slot)
{
	static const struct cfg_choice types[] = {
	    {"gvpn", CTL_OVERLAY_GVPN},
	    {"svpn", CTL_OVERLAY_SVPN},
	    {"switch", CTL_OVERLAY_SWITCH},
	};
	int v;

	if (get_choice(w, n, path, types, G_N_ELEMENTS(types), &v) < 0)
		return -EINVAL;
	*(enum ctl_overlay_type *)slot = (enum ctl_overlay_type)v;
	return 0;
}

static int set_address(const struct cfg_walk *w, const struct cfg_node *n,
		       const char *path, void *slot)
{
	struct ctl_overlay_config *o = slot;
	char *why = NULL;

	if (cfg_need_text(w, n, path) < 0)
		return -EINVAL;
	if (cfg_value_ipv4_host(n->str, &o->ipv4, &o->ipv4_prefix, &why) < 0)
		return refused(w, n, path, why);
	return 0;
}

static int set_address6(const struct cfg_walk *w, const struct cfg_node *n,
			const char *path, void *slot)
{
	struct ctl_overlay_config *o = slot;
	char *why = NULL;

	if (cfg_need_text(w, n, path) < 0)
		return -EINVAL;
	if (cfg_value_ipv6_host(n->str, &o->ipv6, &o->ipv6_prefix, &why) < 0)
		return refused(w, n, path, why);
	return 0;
}

static int set_secret_file(const struct cfg_walk *w, const struct cfg_node *n,
			   const char *path, void *slot)
{
	struct ctl_overlay_config *o = slot;
	g_autofree char *file = NULL;
	char *why = NULL;

	if (cfg_need_text(w, n, path) < 0)
		return -EINVAL;
	file = cfg_resolve(w, n->str);
	if (ctl_secret_read_psk(file, o->psk, &why) < 0)
		return refused(w, n, path, why);
	o->has_secret = true;
	return 0;
}

static int set_subnet(const struct cfg_walk *w, const struct cfg_node *n,
		      const char *path, void *slot)
{
	struct ctl_overlay_config *o = slot;
	char *why = NULL;

	if (cfg_need_text(w, n, path) < 0)
		return -EINVAL;
	if (cfg_value_ipv4_subnet(n->str, o->subnet, &o->subnet_prefix, &why) <
	    0)
		return refused(w, n, path, why);
	return 0;
}

static int set_pin_device(const struct cfg_walk *w, const struct cfg_node *n,
			  const char *path, void *slot)
{
	return set_checked(w, n, path, slot, cfg_value_uid);
}

static int set_pin_address(const struct cfg_walk *w, const struct cfg_node *n,
			   const char *path, void *slot)
{
	char *why = NULL;

	if (cfg_need_text(w, n, path) < 0)
		return -EINVAL;
	if (cfg_value_ipv4(n->str, slot, &why) < 0)
		return refused(w, n, path, why);
	return 0;
}

static const struct cfg_field pin_fields[] = {
    {"device", set_pin_device, offsetof(struct ctl_pin, device), true},
    {"address", set_pin_address, offsetof(struct ctl_pin, v4), true},
};

static int pin_item(const struct cfg_walk *w, const struct cfg_node *n,
		    const char *path, unsigned i)
{
	struct ctl_overlay_config *o = current(w);
	uint32_t seen;

	o->n_pins = i + 1;
	return cfg_walk_map(w, n, path, pin_fields, G_N_ELEMENTS(pin_fields),
			    &o->pins[i], &seen);
}

static int set_pins(const struct cfg_walk *w, const struct cfg_node *n,
		    const char *path, void *slot)
{
	(void)slot;
	return cfg_walk_list(w, n, path, CTL_MAX_PINS, pin_item);
}

static int set_successors(const struct cfg_walk *w, const struct cfg_node *n,
			  const char *path, void *slot)
{
	return get_uint(w, n, path, 1, IPOP_TOPO_MAX_SUCCESSORS, slot);
}

static int set_chords(const struct cfg_walk *w, const struct cfg_node *n,
		      const char *path, void *slot)
{
	return get_uint(w, n, path, 0, IPOP_TOPO_MAX_CHORDS, slot);
}

static int set_max_links(const struct cfg_walk *w, const struct cfg_node *n,
			 const char *path, void *slot)
{
	return get_uint(w, n, path, 2, IPOP_TOPO_MAX_LINKS, slot);
}

static int set_ondemand_threshold(const struct cfg_walk *w,
				  const struct cfg_node *n, const char *path,
				  void *slot)
{
	return get_uint(w, n, path, 0, 999999999, slot);
}

static int set_ondemand_idle(const struct cfg_walk *w, const struct cfg_node *n,
			     const char *path, void *slot)
{
	return get_uint(w, n, path, 0, CTL_ONDEMAND_IDLE_MAX, slot);
}

/* Handlers that fill several members get the whole overlay (offset 0). */
static const struct cfg_field overlay_fields[] = {
    {"subnet", set_subnet, 0, false},
    {"bridge", set_bridge, OVL(bridge), false},
    {"pins", set_pins, 0, false},
    {"name", set_name, OVL(name), true},
    {"type", set_type, OVL(type), true},
    {"tap", set_tap, OVL(tap), true},
    {"address", set_address, 0, false},
    {"address6", set_address6, 0, false},
    {"group", set_group, OVL(group), false},
    {"secret_file", set_secret_file, 0, false},
    {"mtu", set_mtu, OVL(mtu), false},
    /* From here on gvpn only (GVPN_KEYS). */
    {"successors", set_successors, OVL(topo.successors), false},
    {"chords", set_chords, OVL(topo.chords), false},
    {"max_links", set_max_links, OVL(topo.max_links), false},
    {"ondemand_threshold", set_ondemand_threshold, OVL(ondemand_threshold),
     false},
    {"ondemand_idle", set_ondemand_idle, OVL(ondemand_idle), false},
};
enum {
	GVPN_KEYS = 5, /* the last five above */
	GVPN_KEY0 = G_N_ELEMENTS(overlay_fields) - GVPN_KEYS,
};

/* The gvpn keys: only for gvpn; defaults for those not given; the degree
 * bound must hold the ring. */
static int gvpn_keys(const struct cfg_walk *w, const struct cfg_node *n,
		     const char *path, struct ctl_overlay_config *o,
		     uint32_t seen)
{
	uint32_t mask = ((1u << GVPN_KEYS) - 1) << GVPN_KEY0;
	g_autofree char *kp = NULL;
	const char *why;
	unsigned k;

	if (o->type != CTL_OVERLAY_GVPN) {
		if (!(seen & mask))
			return 0;
		for (k = 0; !(seen & (1u << (GVPN_KEY0 + k))); k++)
			;
		kp = cfg_join(path, overlay_fields[GVPN_KEY0 + k].key);
		return cfg_fail(w, n, kp, "only for type gvpn");
	}
	if (!(seen & 1u << GVPN_KEY0))
		o->topo.successors = IPOP_TOPO_DEFAULT_SUCCESSORS;
	if (!(seen & 1u << (GVPN_KEY0 + 1)))
		o->topo.chords = IPOP_TOPO_DEFAULT_CHORDS;
	if (!(seen & 1u << (GVPN_KEY0 + 2)))
		o->topo.max_links = IPOP_TOPO_DEFAULT_MAX_LINKS;
	if (!(seen & 1u << (GVPN_KEY0 + 3)))
		o->ondemand_threshold = CTL_ONDEMAND_THRESHOLD_DEFAULT;
	if (!(seen & 1u << (GVPN_KEY0 + 4)))
		o->ondemand_idle = CTL_ONDEMAND_IDLE_DEFAULT;
	if (ipop_topo_params_check(&o->topo, &why) == 0)
		return 0;
	kp = cfg_join(path, "max_links");
	return cfg_fail(w, n, kp, "%s", why);
}

/* Keys that belong to one type only. */
static int only_for(const struct cfg_walk *w, const struct cfg_node *n,
		    const char *path, const struct ctl_overlay_config *o)
{
	const char *key = NULL, *type = NULL;
	g_autofree char *kp = NULL;

	if (o->bridge && o->type != CTL_OVERLAY_SWITCH)
		key = "bridge", type = "switch";
	else if ((o->subnet_prefix || o->n_pins) && o->type != CTL_OVERLAY_SVPN)
		key = o->n_pins ? "pins" : "subnet", type = "svpn";
	else if (o->has_secret && o->type == CTL_OVERLAY_SVPN)
		key = "secret_file", type = "gvpn and switch";
	if (!key)
		return 0;
	kp = cfg_join(path, key);
	return cfg_fail(w, n, kp, "only for type %s", type);
}

static int overlay_item(const struct cfg_walk *w, const struct cfg_node *n,
			const char *path, unsigned i)
{
	struct ctl_overlay_config *o = &w->cfg->overlays[i];
	const char *missing = NULL;
	g_autofree char *kp = NULL;
	uint32_t seen;

	w->cfg->n_overlays = i + 1;
	if (cfg_walk_map(w, n, path, overlay_fields,
			 G_N_ELEMENTS(overlay_fields), o, &seen) < 0)
		return -EINVAL;
	if (o->mtu == 0)
		o->mtu = CTL_MTU_DEFAULT;
	if (gvpn_keys(w, n, path, o, seen) < 0)
		return -EINVAL;
	if (o->type == CTL_OVERLAY_SVPN) {
		const char *key = NULL;
		g_autofree char *why = NULL;

		if (ctl_svpn_configure(o, &key, &why) < 0) {
			kp = cfg_join(path, key);
			return cfg_fail(w, n, kp, "%s", why);
		}
		return only_for(w, n, path, o);
	}
	if (o->ipv4 == NULL && o->type == CTL_OVERLAY_GVPN)
		missing = "address";
	else if (o->group == NULL)
		missing = "group";
	else if (o->bridge == NULL && o->type == CTL_OVERLAY_SWITCH)
		missing = "bridge";
	if (missing == NULL)
		return only_for(w, n, path, o);
	kp = cfg_join(path, missing);
	return cfg_fail(w, n, kp, "required key is missing (type %s needs it)",
			o->type == CTL_OVERLAY_GVPN ? "gvpn" : "switch");
}

static int set_overlays(const struct cfg_walk *w, const struct cfg_node *n,
			const char *path, void *slot)
{
	(void)slot;
	if (cfg_walk_list(w, n, path, CTL_MAX_OVERLAYS, overlay_item) < 0)
		return -EINVAL;
	if (n->kids->len == 0)
		return cfg_fail(w, n, path, "at least one overlay is required");
	return 0;
}

/* ---- top level --------------------------------------------------------- */

/* A path that fits a Unix socket address: a longer one would be cut. */
static int set_socket(const struct cfg_walk *w, const struct cfg_node *n,
		      const char *path, void *slot)
{
	if (cfg_need_text(w, n, path) < 0)
		return -EINVAL;
	if (n->len >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return cfg_fail(w, n, path, "longer than %zu bytes",
				sizeof(((struct sockaddr_un *)0)->sun_path) -
				    1);
	*(char **)slot = g_strdup(n->str);
	return 0;
}

static const struct cfg_field tincan_fields[] = {
    {"socket", set_socket, CFG(tincan_socket), false},
};

static int set_tincan(const struct cfg_walk *w, const struct cfg_node *n,
		      const char *path, void *slot)
{
	uint32_t seen;

	return cfg_walk_map(w, n, path, tincan_fields,
			    G_N_ELEMENTS(tincan_fields), slot, &seen);
}

/* Sections get the config itself as their object (offset 0). */
static const struct cfg_field top_fields[] = {
    {"tincan", set_tincan, 0, false},
    {"state_dir", set_string, CFG(state_dir), false},
    {"xmpp", set_xmpp, 0, true},
    {"ice", set_ice, 0, false},
    {"overlays", set_overlays, 0, true},
};

static void apply_defaults(struct ctl_config *c)
{
	if (c->tincan_socket == NULL)
		c->tincan_socket = g_strdup(IPOP_SOCKET_DEFAULT);
	if (c->state_dir == NULL)
		c->state_dir = g_strdup(IPOP_CONTROLLER_STATE_DEFAULT);
	if (c->server == NULL)
		c->server = g_strdup(strchr(c->jid, '@') + 1);
	if (c->port == 0)
		c->port = XMPP_PORT;
	if (c->tls == 0)
		c->tls = CTL_TLS_REQUIRED;
}

static struct ctl_config *parse(const char *text, size_t len, const char *name,
				const char *base, GError **err)
{
	g_autoptr(cfg_tree) root = NULL;
	struct ctl_config *c;
	struct cfg_walk w = {.name = name, .base = base, .err = err};
	uint32_t seen;

	if (sodium_init() < 0) {
		cfg_fail_line(err, name, 1, "libsodium failed to initialise");
		return NULL;
	}
	root = cfg_tree_load(text, len, name, err);
	if (root == NULL)
		return NULL;
	if (root->kind != CFG_MAP) {
		cfg_fail_line(err, name, root->line,
			      "the top level must be a mapping of keys, not %s",
			      cfg_kind_name(root));
		return NULL;
	}
	/* The config holds the group secrets (psk): locked memory, wiped by
	 * sodium_free in ctl_config_free. */
	c = w.cfg = sodium_malloc(sizeof(*c));
	if (c == NULL) {
		cfg_fail_line(err, name, 1, "out of memory");
		return NULL;
	}
	sodium_memzero(c, sizeof(*c));
	c->path = g_strdup(name);
	if (cfg_walk_map(&w, root, "", top_fields, G_N_ELEMENTS(top_fields), c,
			 &seen) < 0) {
		ctl_config_free(c);
		return NULL;
	}
	apply_defaults(c);
	return c;
}

struct ctl_config *ctl_config_parse(const char *text, size_t len,
				    const char *name, GError **err)
{
	return parse(text, len, name, NULL, err);
}

/* Reads at most MAX_FILE bytes of path (a larger file is refused unread,
 * unlike g_file_get_contents, which reads all of /dev/zero); *mode gets its
 * permission bits.  NULL with *err set on failure. */
static char *read_config(const char *path, size_t *len, mode_t *mode,
			 GError **err)
{
	char *text = NULL;
	struct stat st;
	size_t max = MAX_FILE;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) != 0) {
		g_set_error(err, CTL_CONFIG_ERROR, 0, "%s: %s", path,
			    g_strerror(errno));
		goto out;
	}
	*mode = st.st_mode & 07777;
	/* A regular file needs no more than its size (a pipe may need all). */
	if (S_ISREG(st.st_mode) && st.st_size >= 0 && st.st_size < MAX_FILE)
		max = (size_t)st.st_size;
	text = g_malloc(max + 1);
	r = ipop_read_all(fd, text, max, len);
	if (r == -EFBIG && max < MAX_FILE)
		g_set_error(err, CTL_CONFIG_ERROR, 0,
			    "%s: the file grew while it was read", path);
	else if (r == -EFBIG)
		cfg_fail_line(err, path, 1, "the file is larger than %d bytes",
			      MAX_FILE);
	else if (r < 0)
		g_set_error(err, CTL_CONFIG_ERROR, 0, "%s: %s", path,
			    g_strerror(-r));
	if (r < 0) {
		sodium_memzero(text, max + 1);
		g_clear_pointer(&text, g_free);
	}
out:
	if (fd >= 0)
		close(fd);
	return text;
}

/* Relative secret and password files are found next to the config file. */
struct ctl_config *ctl_config_load(const char *path, GError **err)
{
	g_autofree char *base = NULL;
	struct ctl_config *c;
	mode_t mode = 0;
	size_t len = 0;
	char *text;

	text = read_config(path, &len, &mode, err);
	if (text == NULL)
		return NULL;
	base = g_path_get_dirname(path);
	c = parse(text, len, path, base, err);
	/* Inline secrets are allowed, but not quietly in a file others can
	 * read. */
	if (c != NULL && (c->password_inline || c->n_turn > 0) &&
	    (mode & (S_IRWXG | S_IRWXO)))
		g_warning("%s holds %s and is readable by group or others "
			  "(mode %04o): %s",
			  path,
			  c->password_inline ? "xmpp.password"
					     : "TURN passwords",
			  (unsigned)mode,
			  c->password_inline
			      ? "use xmpp.password_file, or chmod 600 it"
			      : "chmod 600 it (TURN passwords live only in "
				"the config)");
	sodium_memzero(text, len);
	g_free(text);
	return c;
}

static void free_secret(char *s)
{
	if (s == NULL)
		return;
	sodium_memzero(s, strlen(s));
	g_free(s);
}

static void free_server(struct ctl_ice_server *s)
{
	g_free(s->address);
	g_free(s->user);
	free_secret(s->password);
}

static void free_overlay(struct ctl_overlay_config *o)
{
	g_free(o->name);
	g_free(o->tap);
	g_free(o->ipv4);
	g_free(o->ipv6);
	g_free(o->group);
	g_free(o->bridge);
	for (unsigned i = 0; i < CTL_MAX_PINS; i++)
		g_free(o->pins[i].device);
	sodium_memzero(o->psk, sizeof(o->psk));
}

void ctl_config_free(struct ctl_config *c)
{
	if (c == NULL)
		return;
	g_free(c->path);
	g_free(c->tincan_socket);
	g_free(c->state_dir);
	g_free(c->jid);
	free_secret(c->password);
	g_free(c->server);
	g_free(c->ca_file);
	for (unsigned i = 0; i < CTL_MAX_SERVERS; i++) {
		free_server(&c->stun[i]);
		free_server(&c->turn[i]);
	}
	for (unsigned i = 0; i < CTL_MAX_OVERLAYS; i++)
		free_overlay(&c->overlays[i]);
	sodium_free(c); /* wipes it */
}
