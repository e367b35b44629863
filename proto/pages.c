/*
 * The page joiner of pages.h.  Each page is kept packed (a copy that
 * outlives the caller's envelope); joining unpacks them, builds one
 * NodeState that borrows their parts, and packs and unpacks that once, so
 * the caller gets an ordinary unpacked message with one owner.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <glib.h>

#include "proto/pages.h"
#include "proto/pbutil.h"

struct ipop_state_pages {
	char *only;
	uint32_t limit;
	char *cursor;
	GPtrArray *pages; /* GBytes of packed NodeState */
};

struct ipop_state_pages *ipop_state_pages_new(const char *only, uint32_t limit)
{
	struct ipop_state_pages *p = g_new0(struct ipop_state_pages, 1);

	p->only = g_strdup(only ? only : "");
	p->limit = limit;
	p->cursor = g_strdup("");
	p->pages =
	    g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	return p;
}

void ipop_state_pages_free(struct ipop_state_pages *p)
{
	if (p == NULL)
		return;
	g_ptr_array_free(p->pages, TRUE);
	g_free(p->cursor);
	g_free(p->only);
	g_free(p);
}

void ipop_state_pages_request(struct ipop_state_pages *p, Ipop__GetState *gs)
{
	ipop__get_state__init(gs);
	gs->overlay = p->only;
	gs->paged = true;
	gs->cursor = p->cursor;
	gs->limit = p->limit;
}

int ipop_state_pages_add(struct ipop_state_pages *p,
			 const Ipop__NodeState *page)
{
	size_t n = ipop__node_state__get_packed_size(page);
	uint8_t *buf = g_malloc(n ? n : 1);
	const char *next = page->next_cursor ? page->next_cursor : "";

	ipop__node_state__pack(page, buf);
	g_ptr_array_add(p->pages, g_bytes_new_take(buf, n));
	/* An old tincan ignores paged and answers everything: more is
	 * false then, and that one page is the state. */
	if (!page->more)
		return 0;
	if (!strcmp(next, p->cursor) || p->pages->len >= IPOP_PAGES_MAX)
		return -EPROTO;
	g_free(p->cursor);
	p->cursor = g_strdup(next);
	return 1;
}

/* Appends o's mappings to the joined part j (an overlay spanning pages). */
static void append_mappings(GPtrArray *maps, const Ipop__OverlayInfo *o)
{
	size_t i;

	for (i = 0; i < o->n_mappings; i++)
		g_ptr_array_add(maps, o->mappings[i]);
}

/* Joins the unpacked pages into view (borrowing from them), packs and
 * unpacks it. */
static Ipop__NodeState *join(Ipop__NodeState **pg, guint n)
{
	GPtrArray *parts = g_ptr_array_new_with_free_func(g_free);
	GPtrArray *maps =
	    g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);
	Ipop__NodeState view = *pg[n - 1];
	Ipop__NodeState *out;
	Ipop__OverlayInfo *part = NULL;
	uint8_t *buf;
	size_t len, i;
	guint k;

	view.mac_entries_omitted = 0;
	for (k = 0; k < n; k++) {
		view.mac_entries_omitted += pg[k]->mac_entries_omitted;
		for (i = 0; i < pg[k]->n_overlays; i++) {
			const Ipop__OverlayInfo *o = pg[k]->overlays[i];
			if (part && !strcmp(part->name, o->name)) {
				append_mappings(maps->pdata[maps->len - 1], o);
				continue;
			}
			part = g_memdup2(o, sizeof(*o));
			g_ptr_array_add(parts, part);
			g_ptr_array_add(maps, g_ptr_array_new());
			append_mappings(maps->pdata[maps->len - 1], o);
		}
	}
	for (k = 0; k < parts->len; k++) {
		Ipop__OverlayInfo *o = parts->pdata[k];
		GPtrArray *m = maps->pdata[k];
		o->n_mappings = m->len;
		o->mappings = (Ipop__PeerMapping **)m->pdata;
	}
	view.n_overlays = parts->len;
	view.overlays = (Ipop__OverlayInfo **)parts->pdata;
	view.more = false;
	view.next_cursor = ipop_cstr("");
	len = ipop__node_state__get_packed_size(&view);
	buf = g_malloc(len ? len : 1);
	ipop__node_state__pack(&view, buf);
	out = ipop__node_state__unpack(NULL, len, buf);
	g_free(buf);
	g_ptr_array_free(maps, TRUE);
	g_ptr_array_free(parts, TRUE);
	return out;
}

Ipop__NodeState *ipop_state_pages_join(struct ipop_state_pages *p)
{
	Ipop__NodeState **pg;
	Ipop__NodeState *out = NULL;
	guint k, n = 0;

	if (p->pages->len == 0)
		return NULL;
	pg = g_new0(Ipop__NodeState *, p->pages->len);
	for (k = 0; k < p->pages->len; k++) {
		gsize len;
		const uint8_t *b = g_bytes_get_data(p->pages->pdata[k], &len);
		pg[n] = ipop__node_state__unpack(NULL, len, b);
		if (pg[n] == NULL)
			goto out;
		n++;
	}
	out = join(pg, n);
out:
	for (k = 0; k < n; k++)
		ipop__node_state__free_unpacked(pg[k], NULL);
	g_free(pg);
	return out;
}
