/*
 * Whether this CPU runs AES-256-GCM (AES-NI and PCLMUL), for the suites
 * that test it (test_suites.c, test_aes_impl.c).  When it does not, the
 * suite says so on stdout under its own name, so a run without AES shows
 * what it left out.
 */
#ifndef TEST_AES_HERE_H
#define TEST_AES_HERE_H

#include <stdbool.h>
#include <stdio.h>

#include <check.h>
#include <sodium.h>

#include "tincan/aead.h"

static inline bool aes_here(const char *suite)
{
	ck_assert_int_ge(sodium_init(), 0);
	if (tc_aead_aes_available())
		return true;
	printf("%s: no AES-NI/PCLMUL here, its AES-256-GCM cases not run\n",
	       suite);
	return false;
}

#endif
