/*
 * The graph command: the topology tincan knows, as seen from this node, in
 * Graphviz DOT.  This node is one vertex; each overlay is a cluster holding
 * its peers (every mapped peer and every link's peer), labelled with the
 * mapping's label, the uid and the overlay addresses; each link is an edge
 * from this node labelled with its state, path type (host, srflx or relay,
 * the rule of tincan/metrics.c) and RTT, the underlay addresses in its
 * tooltip.  Built from GetState (GetStats with --overlay); overlays come
 * sorted by name and peers by uid, so the same state gives the same text.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "tools/ipopctl/client.h"
#include "tools/ipopctl/parse.h"
#include "tools/ipopctl/render.h"

enum { SHORT_UID = 12 };

/* One vertex of an overlay: a mapping, a link or both. */
struct peer {
	const char *uid;
	const Ipop__PeerMapping *map;
	const Ipop__LinkInfo *link;
};

/* Appends v for a double-quoted DOT string: quotes and backslashes
 * escaped, control characters as spaces. */
static void dot_escape(GString *s, const char *v)
{
	for (; v != NULL && *v != '\0'; v++) {
		if (*v == '"' || *v == '\\')
			g_string_append_c(s, '\\');
		g_string_append_c(s, (unsigned char)*v < 0x20 ? ' ' : *v);
	}
}

/* A label line: text, then DOT's centred line break. */
static void line(GString *s, const char *text)
{
	dot_escape(s, text);
	g_string_append(s, "\\n");
}

/* Closes a label: its last line break is dropped. */
static void end_label(GString *s)
{
	if (g_str_has_suffix(s->str, "\\n"))
		g_string_truncate(s, s->len - 2);
	g_string_append_c(s, '"');
}

static void peer_id(GString *s, const char *overlay, const char *uid)
{
	g_string_append_c(s, '"');
	dot_escape(s, overlay);
	g_string_append_c(s, '/');
	dot_escape(s, uid);
	g_string_append_c(s, '"');
}

static bool is_type(const char *t, const char *want)
{
	return t != NULL && strcmp(t, want) == 0;
}

/* host, srflx (server or peer reflexive on either side) or relay (TURN on
 * either side), as tincan's metrics say; NULL without a pair. */
static const char *path_type(const Ipop__CandidatePair *p)
{
	if (!render_has_pair(p))
		return NULL;
	if (is_type(p->local_type, "relay") || is_type(p->remote_type, "relay"))
		return "relay";
	if (is_type(p->local_type, "srflx") ||
	    is_type(p->remote_type, "srflx") ||
	    is_type(p->local_type, "prflx") || is_type(p->remote_type, "prflx"))
		return "srflx";
	return "host";
}

static int by_uid(const void *a, const void *b)
{
	return strcmp(((const struct peer *)a)->uid,
		      ((const struct peer *)b)->uid);
}

static int by_name(const void *a, const void *b)
{
	return strcmp((*(Ipop__OverlayInfo *const *)a)->name,
		      (*(Ipop__OverlayInfo *const *)b)->name);
}

/* The overlay's peers, sorted; *n gets their number (caller g_frees). */
static struct peer *peers_of(const Ipop__OverlayInfo *o, size_t *n)
{
	struct peer *p = g_new0(struct peer, o->n_mappings + o->n_links + 1);
	size_t i, k;

	*n = 0;
	for (i = 0; i < o->n_mappings; i++) {
		p[*n].uid = o->mappings[i]->peer_uid;
		p[(*n)++].map = o->mappings[i];
	}
	for (i = 0; i < o->n_links; i++) {
		for (k = 0; k < *n; k++)
			if (strcmp(p[k].uid, o->links[i]->peer_uid) == 0)
				break;
		if (k == *n)
			p[(*n)++].uid = o->links[i]->peer_uid;
		p[k].link = o->links[i];
	}
	qsort(p, *n, sizeof(*p), by_uid);
	return p;
}

static void self_vertex(GString *s, const Ipop__NodeState *st,
			Ipop__OverlayInfo *const *ovs)
{
	char *v4, *v6, *text;
	size_t i;

	g_string_append(s, "\t\"");
	dot_escape(s, st->uid);
	g_string_append(s, "\" [label=\"this node\\n");
	text = g_strndup(st->uid, SHORT_UID);
	line(s, text);
	g_free(text);
	for (i = 0; i < st->n_overlays; i++) {
		v4 = render_cidr(ovs[i]->ipv4, ovs[i]->ipv4_prefix);
		v6 = render_cidr(ovs[i]->ipv6, ovs[i]->ipv6_prefix);
		text = g_strdup_printf(
		    "%s: %s%s%s%s%s", ovs[i]->name, ovs[i]->tap_name,
		    v4 ? " " : "", v4 ? v4 : "", v6 ? " " : "", v6 ? v6 : "");
		line(s, text);
		g_free(text);
		g_free(v4);
		g_free(v6);
	}
	end_label(s);
	g_string_append(s, ", style=\"rounded,bold\"];\n");
}

static void peer_vertex(GString *s, const char *overlay, const struct peer *p)
{
	const Ipop__PeerMapping *m = p->map;
	char *text;

	g_string_append(s, "\t\t");
	peer_id(s, overlay, p->uid);
	g_string_append(s, " [label=\"");
	if (m != NULL && m->label != NULL && m->label[0] != '\0')
		line(s, m->label);
	text = g_strndup(p->uid, SHORT_UID);
	line(s, text);
	g_free(text);
	if (m != NULL && m->ipv4 != NULL && m->ipv4[0] != '\0')
		line(s, m->ipv4);
	if (m != NULL && m->ipv6 != NULL && m->ipv6[0] != '\0')
		line(s, m->ipv6);
	if (p->link == NULL)
		line(s, "(no link)");
	end_label(s);
	g_string_append(s, p->link == NULL ? ", style=\"rounded,dashed\"];\n"
					   : "];\n");
}

static const char *edge_style(Ipop__LinkState st)
{
	switch (st) {
	case IPOP__LINK_STATE__CONNECTED:
		return "color=\"darkgreen\", penwidth=2";
	case IPOP__LINK_STATE__GATHERING:
	case IPOP__LINK_STATE__CONNECTING:
		return "color=\"orange\", style=dashed";
	case IPOP__LINK_STATE__FAILED:
		return "color=\"red\", style=dotted";
	default:
		return "color=\"gray\"";
	}
}

static void edge(GString *s, const char *self, const char *overlay,
		 const Ipop__LinkInfo *l)
{
	const Ipop__CandidatePair *p = l->pair;
	const char *type = path_type(p);
	char rtt[32];

	g_string_append(s, "\t\"");
	dot_escape(s, self);
	g_string_append(s, "\" -- ");
	peer_id(s, overlay, l->peer_uid);
	g_string_append(s, " [label=\"");
	line(s, ipop_link_state_name(l->state));
	line(s, type != NULL ? type : "no path yet");
	if (l->rtt_us > 0) {
		g_snprintf(rtt, sizeof(rtt), "rtt %.2f ms", l->rtt_us / 1000.0);
		line(s, rtt);
	}
	end_label(s);
	if (type != NULL) {
		g_string_append(s, ", tooltip=\"");
		dot_escape(s, p->local_type);
		g_string_append_c(s, ' ');
		dot_escape(s, p->local_address);
		g_string_append(s, " - ");
		dot_escape(s, p->remote_type);
		g_string_append_c(s, ' ');
		dot_escape(s, p->remote_address);
		g_string_append_c(s, '"');
	}
	g_string_append_printf(s, ", %s];\n", edge_style(l->state));
}

static void overlay_cluster(GString *s, const Ipop__OverlayInfo *o)
{
	const char *mode = render_mode(o->mode);
	struct peer *p;
	size_t n, i;
	char *text;

	g_string_append(s, "\tsubgraph \"cluster_");
	dot_escape(s, o->name);
	g_string_append(s, "\" {\n\t\tlabel=\"");
	text = g_strdup_printf("overlay %s (%s, %s)", o->name, o->tap_name,
			       mode != NULL ? mode : "?");
	dot_escape(s, text);
	g_free(text);
	g_string_append(s, "\";\n");
	p = peers_of(o, &n);
	for (i = 0; i < n; i++)
		peer_vertex(s, o->name, &p[i]);
	g_string_append(s, "\t}\n");
	g_free(p);
}

/* The whole DOT text of st (only overlay `only` when it is set). */
static GString *graph_of(const Ipop__NodeState *st, const char *only)
{
	GString *s = g_string_new(NULL);
	Ipop__OverlayInfo **ovs =
	    g_new0(Ipop__OverlayInfo *, st->n_overlays + 1);
	Ipop__NodeState view = *st;
	struct peer *p;
	size_t i, k, n, nov = 0;

	for (i = 0; i < st->n_overlays; i++)
		if (only == NULL || strcmp(only, st->overlays[i]->name) == 0)
			ovs[nov++] = st->overlays[i];
	qsort(ovs, nov, sizeof(*ovs), by_name);
	view.n_overlays = nov;
	g_string_append(s, "graph ipop {\n\tgraph [label=\"IPOP topology as "
			   "seen from ");
	dot_escape(s, st->uid);
	g_string_append(s, "\", labelloc=t, fontname=\"Helvetica\"];\n"
			   "\tnode [shape=box, style=rounded, "
			   "fontname=\"Helvetica\"];\n"
			   "\tedge [fontname=\"Helvetica\", fontsize=10];\n");
	self_vertex(s, &view, ovs);
	for (i = 0; i < nov; i++)
		overlay_cluster(s, ovs[i]);
	for (i = 0; i < nov; i++) {
		p = peers_of(ovs[i], &n);
		for (k = 0; k < n; k++)
			if (p[k].link != NULL)
				edge(s, st->uid, ovs[i]->name, p[k].link);
		g_free(p);
	}
	g_string_append(s, "}\n");
	g_free(ovs);
	return s;
}

int cmd_graph(struct ctl *c, struct args *a)
{
	Ipop__Envelope *env = NULL;
	Ipop__Request req;
	Ipop__GetStats gs;
	GString *dot;
	int r;

	if (a->overlay != NULL &&
	    (r = parse_overlay_name(c, "--overlay", a->overlay)) != 0)
		return r;
	r = client_open(c);
	if (r != CTL_OK)
		return r;
	/* GetStats: GetState's answer, restricted to one overlay when asked
	 * (and NOT_FOUND for an overlay tincan does not have). */
	ipop__get_stats__init(&gs);
	if (a->overlay != NULL)
		gs.overlay = a->overlay;
	ipop__request__init(&req);
	req.kind_case = IPOP__REQUEST__KIND_GET_STATS;
	req.get_stats = &gs;
	r = client_expect(c, &req, IPOP__RESPONSE__RESULT_STATE, "GetStats",
			  "NodeState", &env);
	if (r != CTL_OK)
		return r;
	dot = graph_of(env->response->state, a->overlay);
	fputs(dot->str, stdout);
	g_string_free(dot, TRUE);
	ipop__envelope__free_unpacked(env, NULL);
	return CTL_OK;
}
