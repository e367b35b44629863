/*
 * What the seed writer's files share (test/fuzz/seeds/write-seeds.c).
 */
#ifndef FUZZ_SEEDS_H
#define FUZZ_SEEDS_H

#include <stddef.h>
#include <stdint.h>

enum { SEED_MAX = 8192 };

/* Writes DIR/harness/name with n bytes of p; exits on error. */
void put(const char *harness, const char *name, const void *p, size_t n);
/* The same with a prefix of npre bytes before p. */
void put2(const char *harness, const char *name, const uint8_t *pre,
	  size_t npre, const uint8_t *p, size_t n);
void offload_seeds(void);
void xlate_seeds(void);
void control_seeds(void);
void http_seeds(void);
void stun_seeds(void);

#endif
