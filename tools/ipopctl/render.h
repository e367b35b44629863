/*
 * ipopctl's human output: the texts of values (MACs, prefixes, modes) that
 * the JSON output shares, left-aligned text tables, and the status view of
 * tincan's state.  Tables own their cells; the renderings borrow the
 * messages they print.
 */
#ifndef IPOPCTL_RENDER_H
#define IPOPCTL_RENDER_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "proto/ipop.pb-c.h"

/* "aa:bb:cc:dd:ee:ff" for any non-empty byte string, NULL when empty;
 * caller g_frees. */
char *render_mac(const ProtobufCBinaryData *b);
/* "addr/prefix", or NULL when addr is empty; caller g_frees. */
char *render_cidr(const char *addr, uint32_t prefix);
/* "l3" or "switch"; NULL for any other mode. */
const char *render_mode(Ipop__OverlayMode m);
/* True if a selected candidate pair has an address on either side. */
bool render_has_pair(const Ipop__CandidatePair *p);

/* A left-aligned text table, filled row by row. */
struct table;

/* A table of ncols columns; free with table_free. */
struct table *table_new(guint ncols);
/* Frees t; NULL is a no-op. */
void table_free(struct table *t);
/* Appends one cell. */
void table_cellf(struct table *t, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* True if t holds more than its header row. */
bool table_has_rows(const struct table *t);
/* Prints t on stdout, each line after indent, columns two spaces apart. */
void table_print(const struct table *t, const char *indent);

/* The columns of a link in a table: render_link_header's and
 * render_link_cells'. */
enum { RENDER_LINK_COLS = 12 };

/* Appends the header cells of the link columns. */
void render_link_header(struct table *t);
/* Appends the cells of a link (PEER .. CIPHER, HANDSHAKE AGO). */
void render_link_cells(struct table *t, const Ipop__LinkInfo *l);
/* Prints the node's whole state (status). */
void render_state(const Ipop__NodeState *st);

#endif
