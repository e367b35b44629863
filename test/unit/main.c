/*
 * The unit-test runner: one check SRunner over every suite, so a run ends
 * with a single summary line.  Suites are listed in build/test/unit/suites.h,
 * generated from the `Suite *suite_NAME(void)` definitions in this folder.
 * CK_RUN_SUITE / CK_RUN_CASE select a subset, as check documents.
 */
#include <check.h>
#include <stdlib.h>


#define X(fn) Suite *fn(void);
#include "test/unit/suites.h"
#undef X

int main(void)
{
	SRunner *sr = srunner_create(NULL);
	int failed;

#define X(fn) srunner_add_suite(sr, fn());
#include "test/unit/suites.h"
#undef X
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
