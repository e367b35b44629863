/*
 * The translator harness's seeds: every case of the unit tests
 * (test/unit/xlate_cases.c), accepted ones from both views.
 */
#include <string.h>

#include <glib.h>

#include "test/fuzz/seeds/seeds.h"
#include "test/unit/xlate_cases.h"

void xlate_seeds(void)
{
	static const uint8_t helps[] = {0, 3};
	struct pkt p;
	char name[48];

	for (int i = 0; i < n_ok_cases; i++) {
		memset(&p, 0, sizeof(p));
		ok_cases[i].build(&p, &wire);
		g_snprintf(name, sizeof(name), "ok-%02d", i);
		put2("fuzz_xlate", name, &helps[0], 1, p.b, p.len);
		memset(&p, 0, sizeof(p));
		ok_cases[i].build(&p, &local);
		g_snprintf(name, sizeof(name), "ok-%02d-local", i);
		put2("fuzz_xlate", name, &helps[1], 1, p.b, p.len);
	}
	for (int i = 0; i < n_refused_cases; i++) {
		memset(&p, 0, sizeof(p));
		refused_cases[i].build(&p, &wire);
		g_snprintf(name, sizeof(name), "refused-%02d", i);
		put2("fuzz_xlate", name, &helps[0], 1, p.b, p.len);
	}
}
