/*
 * Metrics: what tincan counts, as text in the Prometheus exposition format
 * (version 0.0.4), for the HTTP listener (metrics_http.c) and the
 * GetMetrics request alike.  The renderer works on a snapshot of plain
 * value structs (struct tc_metrics_node), so a test can feed it fixtures;
 * tc_metrics_render_live takes the snapshot of live overlays first.  Every
 * family is printed with its HELP and TYPE lines even without samples, in
 * a fixed order: overlays by name, links and peers by uid.  docs/metrics.md
 * lists every metric.  This module owns no state of its own.
 */
#ifndef TC_METRICS_H
#define TC_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "tincan/cookie.h"
#include "tincan/fwd.h"
#include "tincan/link.h"
#include "tincan/overlay.h"

/* One overlay as the renderer sees it; links and mappings sorted by uid. */
struct tc_metrics_overlay {
	struct tc_overlay_info info;
	struct tc_link_info *links;
	size_t n_links;
	struct tc_fwd_entry *maps;
	size_t n_maps;
};

/* The node as the renderer sees it; overlays sorted by name.  Strings and
 * arrays are borrowed. */
struct tc_metrics_node {
	const char *uid;
	const char *version;
	unsigned control_clients;	  /* connected to the control socket */
	bool controller;		  /* one of them is the CONTROLLER */
	uint64_t events_dropped;	  /* events a client did not get */
	struct tc_guard_counters guard;	  /* the handshake guard's totals */
	struct tc_repair_counters repair; /* self-repair totals */
	const struct tc_metrics_overlay *overlays;
	size_t n_overlays;
};

/* Appends the whole exposition text of n to out. */
void tc_metrics_render(const struct tc_metrics_node *n, GString *out);

/* Takes the snapshot of live overlays (borrowed for the call, any order)
 * into base's overlays and appends the text of the whole node to out;
 * base->overlays is ignored. */
void tc_metrics_render_live(const struct tc_metrics_node *base,
			    struct tc_overlay *const *ovs, size_t n_ovs,
			    GString *out);

/* Appends v as a label value, escaped as the format says (backslash,
 * double quote and newline). */
void tc_metrics_escape(GString *out, const char *v);

/* "host", "srflx" (a server or peer reflexive candidate on either side) or
 * "relay" (a TURN relay on either side) for a selected pair; NULL when
 * there is none or its types are unknown. */
const char *tc_metrics_path_type(const struct tc_cand_pair *p);

#endif
