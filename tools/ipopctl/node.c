/*
 * Commands about the node as a whole: status, stats, set-ice, log-level and
 * echo.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "proto/pages.h"
#include "tools/ipopctl/client.h"
#include "tools/ipopctl/json.h"
#include "tools/ipopctl/parse.h"
#include "tools/ipopctl/render.h"

/* The whole state of overlay only (NULL: every overlay), page by page
 * (PROTOCOL.md, "Paging GetState"); each page has one --timeout.  CTL_OK
 * with *st set (free with ipop__node_state__free_unpacked). */
static int get_state(struct ctl *c, const char *only, Ipop__NodeState **st)
{
	struct ipop_state_pages *p = ipop_state_pages_new(only, 0);
	Ipop__Envelope *env = NULL;
	Ipop__Request req;
	Ipop__GetState gs;
	int r, more;

	*st = NULL;
	do {
		ipop_state_pages_request(p, &gs);
		ipop__request__init(&req);
		req.kind_case = IPOP__REQUEST__KIND_GET_STATE;
		req.get_state = &gs;
		r = client_expect(c, &req, IPOP__RESPONSE__RESULT_STATE,
				  "GetState", "NodeState", &env);
		if (r != CTL_OK)
			goto out;
		more = ipop_state_pages_add(p, env->response->state);
		ipop__envelope__free_unpacked(env, NULL);
	} while (more == 1);
	if (more < 0) {
		r = conn_err("%s: protocol error: GetState pages do not move "
			     "on",
			     c->socket_path);
		goto out;
	}
	*st = ipop_state_pages_join(p);
	if (*st == NULL)
		r = conn_err("%s: GetState pages could not be joined",
			     c->socket_path);
out:
	ipop_state_pages_free(p);
	return r;
}

int cmd_status(struct ctl *c, struct args *a)
{
	Ipop__NodeState *st = NULL;
	int r;

	(void)a;
	r = client_open(c);
	if (r == CTL_OK)
		r = get_state(c, NULL, &st);
	if (r != CTL_OK)
		return r;
	if (c->json)
		json_state(st);
	else
		render_state(st);
	ipop__node_state__free_unpacked(st, NULL);
	return CTL_OK;
}

static void print_stats(const Ipop__NodeState *st, const char *only, bool json)
{
	struct table *t = NULL;
	struct json j;
	char txp[24], rxp[24];
	size_t i, k;

	if (json) {
		json_begin(&j);
		json_open(&j, "links", '[');
	} else {
		t = table_new(1 + RENDER_LINK_COLS + 2);
		table_cellf(t, "OVERLAY");
		render_link_header(t);
		table_cellf(t, "TX PKTS");
		table_cellf(t, "RX PKTS/DROP");
	}
	for (i = 0; i < st->n_overlays; i++) {
		const Ipop__OverlayInfo *o = st->overlays[i];

		if (only != NULL && strcmp(only, o->name) != 0)
			continue;
		for (k = 0; k < o->n_links; k++) {
			const Ipop__LinkInfo *l = o->links[k];

			if (json) {
				json_link(&j, l, o->name);
				continue;
			}
			table_cellf(t, "%s", o->name);
			render_link_cells(t, l);
			snprintf(txp, sizeof(txp), "%" PRIu64, l->tx_packets);
			snprintf(rxp, sizeof(rxp), "%" PRIu64 "/%" PRIu64,
				 l->rx_packets, l->dropped);
			table_cellf(t, "%s", txp);
			table_cellf(t, "%s", rxp);
		}
	}
	if (json) {
		json_close(&j, ']');
		json_end(&j);
	} else {
		if (table_has_rows(t))
			table_print(t, "");
		else
			printf("no links\n");
		table_free(t);
	}
}

int cmd_stats(struct ctl *c, struct args *a)
{
	const char *only = a->npos > 0 ? a->pos[0] : NULL;
	Ipop__NodeState *st = NULL;
	int r;

	if (only != NULL && (r = parse_overlay_name(c, "OVERLAY", only)) != 0)
		return r;
	r = client_open(c);
	if (r != CTL_OK)
		return r;
	/* The paged GetState of the overlay rather than GetStats, which
	 * answers TOO_BIG for an overlay with very many mappings. */
	r = get_state(c, only, &st);
	if (r != CTL_OK)
		return r;
	print_stats(st, only, c->json);
	ipop__node_state__free_unpacked(st, NULL);
	return CTL_OK;
}

/* "IP:PORT,USER,PASS"; the password is everything after the second comma. */
static int parse_turn(struct ctl *c, char *s, Ipop__TurnServer *t)
{
	char *c1 = strchr(s, ','), *c2, *hp;
	int r;

	c2 = c1 != NULL ? strchr(c1 + 1, ',') : NULL;
	if (c2 == NULL || c2 == c1 + 1 || c2[1] == '\0')
		return usage_err(c, "--turn expects IP:PORT,USER,PASS with a"
				    " non-empty user and password");
	if ((size_t)(c2 - c1 - 1) > IPOP_TURN_CRED_MAX ||
	    strlen(c2 + 1) > IPOP_TURN_CRED_MAX)
		return usage_err(c,
				 "--turn user and password must be at most %d"
				 " bytes each",
				 IPOP_TURN_CRED_MAX);
	hp = g_strndup(s, (gsize)(c1 - s));
	r = parse_hostport(c, "turn", hp, &t->address, &t->port);
	g_free(hp);
	if (r != 0)
		return r;
	t->username = g_strndup(c1 + 1, (gsize)(c2 - c1 - 1));
	t->password = c2 + 1;
	return 0;
}

static void ice_free(Ipop__SetIceServers *ice)
{
	size_t i;

	/* Both arrays are NULL-terminated, also when ice_opts stopped early. */
	for (i = 0; ice->stun != NULL && ice->stun[i] != NULL; i++) {
		g_free(ice->stun[i]->address);
		g_free(ice->stun[i]);
	}
	for (i = 0; ice->turn != NULL && ice->turn[i] != NULL; i++) {
		g_free(ice->turn[i]->address);
		g_free(ice->turn[i]->username);
		g_free(ice->turn[i]);
	}
	g_free(ice->stun);
	g_free(ice->turn);
}

/* Builds the server lists; on error ice holds only what was filled in. */
static int ice_opts(struct ctl *c, struct args *a, Ipop__SetIceServers *ice)
{
	guint i;
	int r;

	ice->stun = g_new0(Ipop__StunServer *, a->stun->len + 1);
	ice->turn = g_new0(Ipop__TurnServer *, a->turn->len + 1);
	if (a->stun->len > IPOP_MAX_ICE_SERVERS ||
	    a->turn->len > IPOP_MAX_ICE_SERVERS)
		return usage_err(c, "at most %d --stun and %d --turn servers",
				 IPOP_MAX_ICE_SERVERS, IPOP_MAX_ICE_SERVERS);
	for (i = 0; i < a->stun->len; i++) {
		Ipop__StunServer *s = g_new(Ipop__StunServer, 1);

		ipop__stun_server__init(s);
		s->address = NULL;
		ice->stun[ice->n_stun++] = s;
		r = parse_hostport(c, "stun", g_ptr_array_index(a->stun, i),
				   &s->address, &s->port);
		if (r != 0)
			return r;
	}
	for (i = 0; i < a->turn->len; i++) {
		Ipop__TurnServer *t = g_new(Ipop__TurnServer, 1);

		ipop__turn_server__init(t);
		t->address = NULL;
		t->username = NULL;
		ice->turn[ice->n_turn++] = t;
		r = parse_turn(c, g_ptr_array_index(a->turn, i), t);
		if (r != 0)
			return r;
	}
	return 0;
}

int cmd_set_ice(struct ctl *c, struct args *a)
{
	Ipop__SetIceServers ice;
	Ipop__Request req;
	int r;

	ipop__set_ice_servers__init(&ice);
	r = ice_opts(c, a, &ice);
	if (r == 0) {
		ipop__request__init(&req);
		req.kind_case = IPOP__REQUEST__KIND_SET_ICE_SERVERS;
		req.set_ice_servers = &ice;
		r = client_request(c, &req);
	}
	ice_free(&ice);
	return r;
}

int cmd_log_level(struct ctl *c, struct args *a)
{
	Ipop__SetLogLevel sl;
	Ipop__Request req;
	int r;

	if ((r = parse_log_level(c, a->pos[0])) != 0)
		return r;
	ipop__set_log_level__init(&sl);
	sl.level = a->pos[0];
	ipop__request__init(&req);
	req.kind_case = IPOP__REQUEST__KIND_SET_LOG_LEVEL;
	req.set_log_level = &sl;
	return client_request(c, &req);
}

static void print_echo(const ProtobufCBinaryData *d, bool json)
{
	char *s = d->len > 0 ? g_strndup((const char *)d->data, d->len)
			     : g_strdup("");
	struct json j;

	if (json) {
		json_begin(&j);
		json_sep(&j, "echo");
		json_escape(j.s, s);
		json_end(&j);
	} else {
		printf("%s\n", s);
	}
	g_free(s);
}

int cmd_echo(struct ctl *c, struct args *a)
{
	char *text = g_strjoinv(" ", a->pos);
	Ipop__Envelope *env = NULL;
	Ipop__Request req;
	Ipop__Echo echo;
	const Ipop__Echo *back;
	int r;

	ipop__echo__init(&echo);
	echo.data.data = (uint8_t *)text;
	echo.data.len = strlen(text);
	ipop__request__init(&req);
	req.kind_case = IPOP__REQUEST__KIND_ECHO;
	req.echo = &echo;
	r = client_open(c);
	if (r == CTL_OK)
		r = client_transact(c, &req, &env);
	if (r == CTL_OK) {
		back = env->response->result_case == IPOP__RESPONSE__RESULT_ECHO
			   ? env->response->echo
			   : NULL;
		if (back == NULL && echo.data.len == 0)
			print_echo(&echo.data, c->json);
		else if (back != NULL && back->data.len == echo.data.len &&
			 memcmp(back->data.data, text, echo.data.len) == 0)
			print_echo(&back->data, c->json);
		else
			r = conn_err("%s: protocol error: echo came back"
				     " different",
				     c->socket_path);
		ipop__envelope__free_unpacked(env, NULL);
	}
	g_free(text);
	return r;
}
