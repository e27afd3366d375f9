#!/usr/bin/python3
"""noise.py: Python re-implementation of ganq's engine_noise() (worker/engine/noise.c),
bit for bit: Philox4x32-10 keyed by the seed, counter (index lo, index hi, dim, block),
53-bit uniforms, and an exact rejection sampler for TN(-2, 2) using von Neumann's method for
the exp(-x^2/2) acceptance. Only IEEE double +, -, * and comparisons, then one rounding to
float32, so the result equals the C engine's on every machine.

    /usr/bin/python3 ops/reference/noise.py --seed S --index I --count N --truncation T \
        --z-dim D --out Z.npy
or import: noise(seed, first_index, count, z_dim, truncation) -> float32 [count, z_dim].
"""
import argparse

import numpy as np

M0, M1 = 0xD2511F53, 0xCD9E8D57
W0, W1 = 0x9E3779B9, 0xBB67AE85
MASK = 0xFFFFFFFF


def philox4x32_10(ctr, key):
    c0, c1, c2, c3 = ctr
    k0, k1 = key
    for _ in range(10):
        p0 = M0 * c0
        p1 = M1 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0) & MASK, p1 & MASK, ((p0 >> 32) ^ c3 ^ k1) & MASK, p0 & MASK
        k0 = (k0 + W0) & MASK
        k1 = (k1 + W1) & MASK
    return c0, c1, c2, c3


class _Stream:
    def __init__(self, seed, index, dim):
        self.key = (seed & MASK, (seed >> 32) & MASK)
        self.ctr = [index & MASK, (index >> 32) & MASK, dim & MASK, 0]
        self.w = philox4x32_10(self.ctr, self.key)
        self.next = 0

    def uniform(self):
        if self.next == 2:
            self.ctr[3] += 1
            self.w = philox4x32_10(self.ctr, self.key)
            self.next = 0
        bits = ((self.w[2 * self.next] << 32) | self.w[2 * self.next + 1]) >> 11
        self.next += 1
        return float(bits) * 2.0 ** -53


def _bern_exp(s, a):
    p, n = a, 0
    while True:
        u = s.uniform()
        if not (u < p):
            break
        p, n = u, n + 1
    return n % 2 == 0


def tn2(seed, index, dim):
    s = _Stream(seed, index, dim)
    while True:
        x = 4.0 * s.uniform() - 2.0
        a = (x * x) * 0.25
        if _bern_exp(s, a) and _bern_exp(s, a):
            return x


def noise(seed, first_index, count, z_dim, truncation):
    out = np.empty((count, z_dim), dtype=np.float32)
    for k in range(count):
        for d in range(z_dim):
            out[k, d] = np.float32(truncation * tn2(seed, first_index + k, d))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--index", type=int, default=0)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--truncation", type=float, required=True)
    ap.add_argument("--z-dim", type=int, required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    np.save(a.out, noise(a.seed, a.index, a.count, a.z_dim, a.truncation))


if __name__ == "__main__":
    main()
