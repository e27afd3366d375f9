#!/usr/bin/python3
"""test_parity_harness.py: the parity harness itself can pass and can fail.

Runs refcommon's Parity cases (the code test_parity_deep/biggan use) against an in-process
stand-in for `ganq-engine sample`: it writes and reads the same .npy files and evaluates
ops/reference on the converted model file (biggan_ref.from_model_file). With it every case
must pass (this also checks checkpoint -> converter -> model file -> reference); with the
stand-in given a bug (ordinary instead of HF's mirrored stats interpolation; BR's output BN
eps 1e-4 instead of 1e-5) the same cases must fail. Narrow models only; no engine needed.
"""
import math
import os
import sys

import numpy as np
import torch

import refcommon as C

R = C.R
BUG = {"name": ""}
_cache = {}


def _ordinary(means, vars_, t, n):
    f, i = math.modf(t * (n - 1))
    i = int(i)
    if f == 0.0:
        return means[i], vars_[i]
    return means[i] * (1 - f) + means[i + 1] * f, vars_[i] * (1 - f) + vars_[i + 1] * f


def fake_sample(model_file, z, truncation, class_ids=None, class_vectors=None, tag="s"):
    zf = os.path.join(C.TMP, tag + ".z.npy")
    np.save(zf, np.ascontiguousarray(z, dtype=np.float32))
    if model_file not in _cache:
        _cache[model_file] = R.from_model_file(model_file)
    m = _cache[model_file]
    zt = torch.from_numpy(np.load(zf))
    if class_ids is not None:
        ids = torch.as_tensor(np.asarray(class_ids, dtype=np.int64))
        y = ids if m.family == "biggan" else torch.nn.functional.one_hot(
            ids, m.cfg.num_classes).float()
    else:
        y = torch.from_numpy(np.ascontiguousarray(class_vectors, dtype=np.float32))
    saved = R.deep_stats_select
    if BUG["name"] == "interp":
        R.deep_stats_select = _ordinary
    if BUG["name"] == "eps" and m.family == "biggan":
        m.output_layer[0].eps = 1e-4
    try:
        with torch.no_grad():
            out = m(zt, y, float(truncation)).numpy()
    finally:
        R.deep_stats_select = saved
        if m.family == "biggan":
            m.output_layer[0].eps = m.cfg.output_bn_eps
    of = os.path.join(C.TMP, tag + ".out.npy")
    np.save(of, out.astype(np.float32))
    return np.load(of)


def run(bug):
    BUG["name"] = bug
    p = C.Parity("harness-" + (bug or "ok"))
    C.run_model(p, "biggan-deep", 128, 16, [0.14, 0.734, 1.0], batch=2, mixtures=(0.4,))
    C.run_model(p, "biggan", "cifar32", 16, [0.5, 1.0], batch=2, mixtures=(0.4,))
    rc = p.finish()
    return rc, len(p.fails), p.n


def main():
    C.engine_sample = fake_sample
    rc_ok, nf_ok, n_ok = run("")
    rc_i, nf_i, _ = run("interp")
    rc_e, nf_e, _ = run("eps")
    ok = rc_ok == 0 and n_ok == 9 and rc_i != 0 and nf_i == 2 and rc_e != 0 and nf_e == 4
    C.log("harness: correct stand-in %d/%d cases pass; interpolation bug -> %d failures "
          "(2 expected: t=0.14, 0.734; 0.4, 0.7, 1.0 sit on rows); eps bug -> %d failures (4 expected): %s"
          % (n_ok - nf_ok, n_ok, nf_i, nf_e, "ok" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
