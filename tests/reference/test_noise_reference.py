#!/usr/bin/python3
"""test_noise_reference.py: `ganq-engine noise` (C, worker/engine/noise.c) and
ops/reference/noise.py (an independent Python re-implementation of the same construction)
give bit-identical float32 z, over seeds/indices that exercise every counter word (64-bit
seed and index halves), several truncations and z_dims; and the noise is TN(-2, 2)-shaped."""
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.environ.get("GANQ_ROOT", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(ROOT, "ops", "reference"))
import noise  # noqa: E402

ENGINE = os.path.join(os.environ.get("GANQ_BIN", os.path.join(ROOT, "build/release/bin")), "ganq-engine")
if not os.path.exists(ENGINE):
    print("skip: %s not built" % ENGINE)
    sys.exit(77)

tmp = os.environ.get("GANQ_TMP") or tempfile.mkdtemp()
cases = [(0, 0, 3, 128, 1.0), (42, 7, 2, 120, 0.5), (2**64 - 1, 2**32 + 5, 2, 140, 0.37),
         (123456789012345, 2**63, 1, 128, 0.02), (1, 999999, 4, 20, 0.94)]
for seed, index, count, zd, t in cases:
    out = os.path.join(tmp, "z.npy")
    subprocess.check_call([ENGINE, "noise", "--seed", str(seed), "--index", str(index), "--count", str(count),
                           "--truncation", repr(t), "--z-dim", str(zd), "--out", out])
    c = np.load(out)
    p = noise.noise(seed, index, count, zd, t)
    assert c.dtype == np.float32 and c.shape == (count, zd), (c.dtype, c.shape)
    if not np.array_equal(c.view(np.uint32), p.view(np.uint32)):
        bad = np.argwhere(c.view(np.uint32) != p.view(np.uint32))[0]
        print("FAIL seed %d index %d: first difference at %s: C %r Python %r" % (seed, index, bad, c[tuple(bad)], p[tuple(bad)]))
        sys.exit(1)
    assert np.all(np.abs(c) <= 2 * t + 1e-7)
# Shape of the distribution: 200 x 128 draws of TN(-2, 2): variance 0.7737, no mass beyond 2.
out = os.path.join(tmp, "big.npy")
subprocess.check_call([ENGINE, "noise", "--seed", "5", "--count", "200", "--truncation", "1", "--z-dim", "128", "--out", out])
z = np.load(out).astype(np.float64)
assert abs(z.mean()) < 0.02 and abs(z.var() - 0.7737) < 0.03, (z.mean(), z.var())
hist = np.histogram(z, bins=4, range=(-2, 2))[0] / z.size
# TN(-2,2) bin masses: [-2,-1] 0.1425, [-1,0] 0.3575 each side
assert np.all(np.abs(hist - [0.1425, 0.3575, 0.3575, 0.1425]) < 0.015), hist
print("ok: C and Python noise identical on %d cases; moments and histogram as TN(-2, 2)" % len(cases))
