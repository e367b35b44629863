/*
 * The offload harness's seeds: the segmentation cases of the unit tests
 * (test/unit/offload_frames.c) that are small, each with its TSO header and
 * a segment limit that fits, and a few lists of joining records.
 */
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "test/fuzz/seeds/seeds.h"
#include "test/unit/offload_frames.h"

void offload_seeds(void)
{
	static struct frame f;
	uint8_t pre[1 + sizeof(struct virtio_net_hdr) + 2];
	struct virtio_net_hdr h;
	/* Joining: records of template segments (see fuzz_offload.c). */
	static const uint8_t gro[][17] = {
	    {1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3},
	    {1, 0x10, 1, 0, 0, 0x10, 1, 1, 0, 0x10, 1, 2, 0, 0x10, 1, 3, 0},
	    {1, 0x20, 2, 0, 0, 0x20, 2, 1, 0, 0x08, 2, 2, 0, 0, 0, 0, 0},
	};
	char name[32];
	unsigned lim;

	for (size_t i = 0; i < of_n_gso; i++) {
		memset(&f, 0, sizeof(f));
		of_build(&of_gso_cases[i].sp, &f);
		if (f.len > 3000)
			continue;
		h = of_tso_hdr(&f, of_gso_cases[i].mss);
		pre[0] = 0;
		memcpy(pre + 1, &h, sizeof(h));
		lim = (unsigned)f.hlen + of_gso_cases[i].mss;
		lim = lim > 64 ? lim - 64 : 0;
		pre[1 + sizeof(h)] = (uint8_t)(lim >> 8);
		pre[2 + sizeof(h)] = (uint8_t)lim;
		g_snprintf(name, sizeof(name), "gso-%02zu", i);
		put2("fuzz_offload", name, pre, sizeof(pre), f.b, f.len);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(gro); i++) {
		g_snprintf(name, sizeof(name), "gro-%zu", i);
		put("fuzz_offload", name, gro[i], sizeof(gro[i]));
	}
}
