/*
 * Controller configuration: the YAML file (libyaml), fully validated before
 * anything starts.  Every error names the file, the line and the key.  This
 * module owns the parsed configuration and nothing else; it reads secret
 * files named by the config but opens no sockets.
 */
#ifndef CTL_CONFIG_H
#define CTL_CONFIG_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/limits.h"
#include "common/topology.h"

enum ctl_overlay_type {
	CTL_OVERLAY_GVPN = 1,
	CTL_OVERLAY_SVPN,
	CTL_OVERLAY_SWITCH,
};

enum ctl_tls {
	CTL_TLS_REQUIRED = 1, /* default */
	CTL_TLS_OFF,	      /* plain text: tests only */
};

enum {
	CTL_MAX_SERVERS = IPOP_MAX_ICE_SERVERS,
	CTL_MAX_OVERLAYS = 16,
	CTL_PSK_LEN = IPOP_PSK_LEN,
	CTL_MTU_DEFAULT = IPOP_MTU_DEFAULT,
	CTL_MAX_PINS = 256,
	/* gvpn: ondemand_threshold (bytes/s) and ondemand_idle (s) */
	CTL_ONDEMAND_THRESHOLD_DEFAULT = 1000000,
	CTL_ONDEMAND_IDLE_DEFAULT = 30,
	CTL_ONDEMAND_IDLE_MAX = 86400,
};

/* SocialVPN: a device pinned to an address in this node's view. */
struct ctl_pin {
	char *device; /* the device's uid (40 hex digits) */
	uint8_t v4[4];
};

struct ctl_ice_server {
	char *address;	/* numeric IP (tincan takes addresses only) */
	uint16_t port;	/* default 3478 */
	char *user;	/* TURN only */
	char *password; /* TURN only */
};

struct ctl_overlay_config {
	char *name; /* 1-32 of [A-Za-z0-9._-] */
	enum ctl_overlay_type type;
	char *tap;	      /* interface name, <= 15 bytes */
	char *ipv4;	      /* the node's address, dotted quad (svpn: default
			       * the subnet's first host; switch: optional) */
	unsigned ipv4_prefix; /* from `address: A.B.C.D/P` */
	char *ipv6;	      /* optional `address6: ADDR/P`, or NULL */
	unsigned ipv6_prefix;
	char *group; /* group name (gvpn, switch; svpn: "socialvpn") */
	bool has_secret;
	uint8_t psk[CTL_PSK_LEN]; /* BLAKE2b of the secret file's bytes */
	unsigned mtu;		  /* default CTL_MTU_DEFAULT */
	char *bridge;		  /* switch: the Linux bridge for the TAP */
	uint8_t subnet[4];	  /* svpn: `subnet`, default 172.31.0.0/16 */
	unsigned subnet_prefix;
	unsigned n_pins; /* svpn: `pins: [{device: UID, address: A}]` */
	struct ctl_pin pins[CTL_MAX_PINS];
	/* gvpn: the bounded overlay (`successors`, `chords`, `max_links`,
	 * defaults IPOP_TOPO_DEFAULT_*) and on-demand links
	 * (`ondemand_threshold` in bytes/s, `ondemand_idle` in seconds;
	 * 0 turns either off). */
	struct ipop_topo_params topo;
	unsigned ondemand_threshold;
	unsigned ondemand_idle;
};

struct ctl_config {
	char *path;
	char *tincan_socket;  /* tincan.socket, default /run/ipop/tincan.sock */
	char *state_dir;      /* state_dir, default /var/lib/ipop-controller */
	char *jid;	      /* xmpp.jid, bare: user@domain */
	char *password;	      /* xmpp.password or contents of password_file */
	bool password_inline; /* it was xmpp.password, in the file itself */
	char *server;  /* xmpp.server (host or IP), default the jid's domain */
	uint16_t port; /* xmpp.port, default 5222 */
	enum ctl_tls tls; /* xmpp.tls: required|off */
	char *ca_file;	  /* xmpp.ca_file: trust this CA (optional) */
	unsigned n_stun, n_turn;
	struct ctl_ice_server stun[CTL_MAX_SERVERS]; /* ice.stun: ["IP:PORT"] */
	struct ctl_ice_server
	    turn[CTL_MAX_SERVERS]; /* ice.turn: [{server, user, password}] */
	unsigned n_overlays;
	struct ctl_overlay_config overlays[CTL_MAX_OVERLAYS];
	bool auto_approve; /* xmpp.auto_approve: approve every request */
};

/* Reads and validates the file.  NULL with *err set ("FILE:LINE: key
 * 'xmpp.port': must be 1-65535") on any problem. */
struct ctl_config *ctl_config_load(const char *path, GError **err);
/* Same from memory; name stands for the file in messages; secret and
 * password files are resolved relative to the working directory. */
struct ctl_config *ctl_config_parse(const char *text, size_t len,
				    const char *name, GError **err);
/* Wipes secrets and frees; NULL is a no-op. */
void ctl_config_free(struct ctl_config *c);

#define CTL_CONFIG_ERROR (ctl_config_error_quark())
GQuark ctl_config_error_quark(void);

#endif
