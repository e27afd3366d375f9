/* noise.c: engine_noise(), truncated-normal z that is bit-identical on every machine.
 *
 * Construction (version 1; ops/reference/noise.py re-implements it bit for bit):
 *   key     = (seed mod 2^32, seed >> 32)                        Philox4x32-10 key
 *   stream  = for image index i and dimension d, counter blocks
 *             ctr_j = (i mod 2^32, i >> 32, d, j), j = 0, 1, 2, ...
 *             each block gives 4 words w0..w3 and two uniforms in [0, 1):
 *             u = ((w0 << 32 | w1) >> 11) * 2^-53, then ((w2 << 32 | w3) >> 11) * 2^-53,
 *             consumed in that order, block after block.
 *   sample  = exact rejection sampler for the standard normal truncated to [-2, 2):
 *             repeat: x = 4u - 2 (next uniform); a = (x * x) * 0.25   (= x^2 / 4)
 *                     accept x with probability exp(-a) * exp(-a) = exp(-x^2 / 2), each
 *                     factor by von Neumann's method: with p = a, draw uniforms while
 *                     u < p (setting p = u each time), count them as n; success iff n is
 *                     even (P = exp(-a) exactly, valid since a <= 1).
 *   output  = out[k * z_dim + d] = (float)(truncation * x), rounded to nearest.
 * Only IEEE-754 double +, -, *, comparisons and one rounding to float are used: no libm
 * (log/exp/cos differ between libms), so every conforming machine gives identical floats.
 * The acceptance rate is about 0.6 and each attempt draws ~2.5 uniforms on average.
 * The stream of (i, d) is independent of z_dim and count: image i's z is the same whichever
 * task or batch computes it.
 */
#include "worker/engine/noise.h"

#include "worker/engine/engine.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void noise_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

/* The uniform stream of one (index, dim). */
typedef struct stream {
    uint32_t key[2];
    uint32_t ctr[4];
    uint32_t w[4];
    int      next;     /* 0 or 1: which uniform of w comes next; 2: block exhausted */
} stream;

static double stream_next(stream *s)
{
    if (s->next == 2) {
        s->ctr[3]++;
        noise_philox4x32_10(s->ctr, s->key, s->w);
        s->next = 0;
    }
    uint64_t bits = ((uint64_t)s->w[2 * s->next] << 32 | s->w[2 * s->next + 1]) >> 11;
    s->next++;
    return (double)bits * 0x1p-53;
}

/* Bernoulli(exp(-a)) for 0 <= a <= 1, von Neumann. */
static int bern_exp(stream *s, double a)
{
    double p = a;
    int n = 0;
    for (;;) {
        double u = stream_next(s);
        if (!(u < p)) break;
        p = u;
        n++;
    }
    return (n & 1) == 0;
}

double noise_tn2(uint64_t seed, uint64_t index, uint32_t dim)
{
    stream s;
    s.key[0] = (uint32_t)seed;
    s.key[1] = (uint32_t)(seed >> 32);
    s.ctr[0] = (uint32_t)index;
    s.ctr[1] = (uint32_t)(index >> 32);
    s.ctr[2] = dim;
    s.ctr[3] = 0;
    noise_philox4x32_10(s.ctr, s.key, s.w);
    s.next = 0;
    for (;;) {
        double x = 4.0 * stream_next(&s) - 2.0;
        double a = (x * x) * 0.25;
        if (bern_exp(&s, a) && bern_exp(&s, a)) return x;
    }
}

void engine_noise(uint64_t seed, uint64_t first_index, int count, int z_dim, double truncation,
                  float *out)
{
    for (int k = 0; k < count; k++)
        for (int d = 0; d < z_dim; d++)
            out[(size_t)k * (size_t)z_dim + (size_t)d] =
                (float)(truncation * noise_tn2(seed, first_index + (uint64_t)k, (uint32_t)d));
}
