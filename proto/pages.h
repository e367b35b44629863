/*
 * The client side of GetState paging (PROTOCOL.md, "Paging GetState"):
 * builds each page's request, keeps the pages, and joins them into one
 * NodeState as if it had come in one answer.  Shared by ipopctl and the
 * controller; owns copies of the pages, not the connection.
 */
#ifndef IPOP_PAGES_H
#define IPOP_PAGES_H

#include <stdint.h>

#include "proto/ipop.pb-c.h"

enum {
	/* More pages than this is a tincan that does not make progress. */
	IPOP_PAGES_MAX = 100000,
};

struct ipop_state_pages;

/* Pages of the state of overlay only (NULL or "": every overlay), at most
 * limit mappings a page (0: as many as fit).  Never NULL. */
struct ipop_state_pages *ipop_state_pages_new(const char *only, uint32_t limit);
/* Frees p and its pages; NULL is a no-op. */
void ipop_state_pages_free(struct ipop_state_pages *p);
/* Fills gs (initialised here) as the request for the next page; its
 * strings are borrowed from p until the next call on p. */
void ipop_state_pages_request(struct ipop_state_pages *p, Ipop__GetState *gs);
/* Keeps a copy of page (borrowed).  1 when another page is to be asked
 * for, 0 when this was the last, -EPROTO when the page does not move on
 * (the same cursor again, or more than IPOP_PAGES_MAX pages). */
int ipop_state_pages_add(struct ipop_state_pages *p,
			 const Ipop__NodeState *page);
/* The pages joined: overlays in the order they came, the mappings of an
 * overlay that spans pages appended to its first part (whose links and MAC
 * table it keeps).  more and next_cursor are cleared; total_mappings is
 * the last page's, mac_entries_omitted the sum of all.  The caller frees it
 * with ipop__node_state__free_unpacked(st, NULL); NULL if there was no page. */
Ipop__NodeState *ipop_state_pages_join(struct ipop_state_pages *p);

#endif
