/*
 * Tests of tincan/control.c's admission rule (tc_control_admit): how many
 * connections may wait for their Hello, when the oldest of them is closed
 * to make room, and the slots only root or tincan's own user may take, so
 * idle connections can never lock the operator out.
 */
#include <check.h>

#include <glib.h>

#include "tincan/control.h"

enum {
	P = TC_CONTROL_MAX_PENDING,
	M = TC_CONTROL_MAX_CLIENTS,
	R = TC_CONTROL_RESERVED,
};

static const struct {
	unsigned pending, total;
	bool privileged;
	enum tc_control_admit want;
} admit_cases[] = {
    {0, 0, false, TC_ADMIT_ACCEPT},
    {P - 1, P - 1, false, TC_ADMIT_ACCEPT},
    /* The pre-Hello cap: the oldest waiting connection makes room. */
    {P, P, false, TC_ADMIT_EVICT},
    {P, P, true, TC_ADMIT_EVICT},
    {P + 5, M, false, TC_ADMIT_EVICT},
    /* A full table with someone still waiting: evict, never refuse. */
    {1, M, false, TC_ADMIT_EVICT},
    {1, M + R, true, TC_ADMIT_EVICT},
    /* Full of clients that all said Hello: only the reserve is left. */
    {0, M - 1, false, TC_ADMIT_ACCEPT},
    {0, M, false, TC_ADMIT_REFUSE},
    {0, M, true, TC_ADMIT_ACCEPT},
    {0, M + R - 1, true, TC_ADMIT_ACCEPT},
    {0, M + R, true, TC_ADMIT_REFUSE},
    {0, M + R, false, TC_ADMIT_REFUSE},
};

START_TEST(test_admit)
{
	ck_assert_int_eq(tc_control_admit(admit_cases[_i].pending,
					  admit_cases[_i].total,
					  admit_cases[_i].privileged),
			 admit_cases[_i].want);
}
END_TEST

/* Whatever idle connections hold, a new connection from root is never
 * refused while any of them has not said Hello. */
START_TEST(test_admit_root_never_locked_out)
{
	unsigned pending, total;

	for (total = 0; total <= M + R; total++)
		for (pending = 0; pending <= total; pending++)
			if (pending > 0 || total < M + R)
				ck_assert_int_ne(
				    tc_control_admit(pending, total, true),
				    TC_ADMIT_REFUSE);
}
END_TEST

extern Suite *suite_control(void);

Suite *suite_control(void)
{
	Suite *s = suite_create("control");
	TCase *tc = tcase_create("admit");

	tcase_add_loop_test(tc, test_admit, 0, G_N_ELEMENTS(admit_cases));
	tcase_add_test(tc, test_admit_root_never_locked_out);
	suite_add_tcase(s, tc);
	return s;
}
