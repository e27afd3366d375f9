/* noise.h: the counter-based generator behind engine_noise() (see noise.c for the exact
 * construction). Exposed for tests and for ops/reference/noise.py to check against. */
#ifndef GQ_ENGINE_NOISE_H
#define GQ_ENGINE_NOISE_H

#include <stdint.h>

/* Philox4x32-10 (Salmon et al., SC'11): ctr[4], key[2] -> out[4]. */
void noise_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* One TN(-2, 2) draw (unscaled, in double) for (seed, index, dim). */
double noise_tn2(uint64_t seed, uint64_t index, uint32_t dim);

#endif
