/* rng.h - small, fast, reproducible random numbers (xoshiro256**, seeded by
 * splitmix64).  The whole state is four words so it can be checkpointed. */
#ifndef RECUR_RNG_H
#define RECUR_RNG_H

#include <stdint.h>

typedef struct { uint64_t s[4]; } rng_state;

void rng_seed(rng_state *r, uint64_t seed);
uint64_t rng_next(rng_state *r);
/* Uniform in [0, 1) with 24 random bits (exactly representable as float). */
float rng_uniform(rng_state *r);
/* Standard normal (Box-Muller, double precision inside). */
float rng_normal(rng_state *r);

#endif
