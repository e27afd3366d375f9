"""refcommon.py: shared helpers of ganq's reference tests (tests/reference/test_*.py).

Not a test itself (tests/run.sh runs only test_* files). Gives the tests:
- paths: the repo root, $GANQ_BIN, a scratch dir ($GANQ_TMP from tests/run.sh, or a fresh
  mktemp dir when a test runs alone), with ops/reference and ops/convert importable;
- checkpoint(): a random checkpoint in the published layout plus its converted ganq model
  file, generated once per run and cached in the scratch dir;
- engine_sample(): run `$GANQ_BIN/ganq-engine sample` on .npy inputs and read its output;
- skip(): print the reason as the last line and exit 77.
Checkpoints are random weights (no published weights exist offline): see
ops/reference/make_checkpoint.py for how they are made meaningful.
"""
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.environ.get("GANQ_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "ops", "reference"))
sys.path.insert(0, os.path.join(ROOT, "ops", "convert"))

import torch  # noqa: E402

import biggan_ref as R  # noqa: E402
import make_checkpoint as MC  # noqa: E402
import convert as CV  # noqa: E402

BIN = os.environ.get("GANQ_BIN") or os.path.join(ROOT, "build", "release", "bin")
TMP = os.environ.get("GANQ_TMP") or tempfile.mkdtemp(prefix="ganq-ref-")
LONG = os.environ.get("GANQ_LONG", "0") == "1"
THREADS = 2             # engine threads (the machine has 2 cores)
TOL = 1e-4

# The reference runs single-threaded: on a machine shared by several test runs, spinning
# intra-op threads cost more than they gain. Speed is the benchmark's business, not ours.
torch.set_num_threads(1)


def log(msg):
    print(msg, flush=True)


def skip(why):
    print("SKIP: %s" % why, flush=True)
    sys.exit(77)


def engine_path():
    """The engine binary, or skip (exit 77) when it is not built yet."""
    p = os.path.join(BIN, "ganq-engine")
    if not os.access(p, os.X_OK):
        skip("%s not built yet (make -j2 builds it once worker/engine/tool exists)" % p)
    return p


def checkpoint(family, size, ch=None, seed=1):
    """(reference model in eval mode, ganq model file path) for family 'biggan-deep' with
    size 128|256|512, or 'biggan' with preset '128'|'256'|'512'|'cifar32'. ch=None: full
    width. The source checkpoint is written in the published layout (legacy pickle,
    strided tensors) and converted with ops/convert-weights' code; cached per run."""
    tag = "%s-%s-ch%s-s%d" % (family, size, ch or "full", seed)
    model_file = os.path.join(TMP, tag + ".safetensors")
    t0 = time.time()
    if family == "biggan-deep":
        cfg = R.DeepConfig(resolution=int(size), ch=ch or 128)
        src = os.path.join(TMP, tag)
        wfile = os.path.join(src, "pytorch_model.bin")
    else:
        cfg = R.BRConfig.preset(str(size), ch)
        src = wfile = os.path.join(TMP, tag + ".G_ema.pth")
    model = None
    if not os.path.exists(wfile):
        model = MC.make_model(family, cfg, seed)
        if family == "biggan-deep":
            MC.write_hf(model, src, "legacy")
        else:
            MC.write_br(model, src, "legacy")
    if not os.path.exists(model_file):
        CV.convert(family, src, model_file, preset=None if family == "biggan-deep" else str(size),
                   ch=None if family == "biggan-deep" else ch)
    # The reference runs on the published checkpoint's values, not on the converted file
    # (test_convert shows loading the saved checkpoint gives the same outputs). fold_sn only
    # caches W / sigma: bit-identical outputs, faster repeated forwards.
    if model is None:
        model = R.load_state_dict_strict(R.build(family, cfg), torch.load(wfile))
    model.fold_sn()
    log("checkpoint %s ready in %.1fs" % (tag, time.time() - t0))
    return model, model_file


def truncated_z(rng, n, z_dim, t):
    """HF-style: standard normal truncated to [-2, 2], float32, times t."""
    z = rng.standard_normal((n, z_dim))
    bad = np.abs(z) > 2
    while bad.any():
        z[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(z) > 2
    return (t * z.astype(np.float32)).astype(np.float32)


def engine_sample(model_file, z, truncation, class_ids=None, class_vectors=None, tag="s"):
    """Run ganq-engine sample; returns float32 [B, 3, H, W]. Raises on a non-zero exit."""
    exe = engine_path()
    zf = os.path.join(TMP, tag + ".z.npy")
    of = os.path.join(TMP, tag + ".out.npy")
    np.save(zf, np.ascontiguousarray(z, dtype=np.float32))
    cmd = [exe, "sample", model_file, "--z", zf, "--truncation", repr(float(truncation)),
           "--out", of, "--device", "cpu", "--threads", str(THREADS)]
    if class_ids is not None:
        cf = os.path.join(TMP, tag + ".c.npy")
        np.save(cf, np.asarray(class_ids, dtype=np.int32))
        cmd += ["--classes", cf]
    else:
        yf = os.path.join(TMP, tag + ".y.npy")
        np.save(yf, np.ascontiguousarray(class_vectors, dtype=np.float32))
        cmd += ["--class-vectors", yf]
    if os.path.exists(of):
        os.unlink(of)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    if r.returncode != 0:
        raise RuntimeError("ganq-engine sample exit %d: %s\n  cmd: %s"
                           % (r.returncode, r.stdout.decode(errors="replace").strip()[-2000:],
                              " ".join(cmd)))
    return np.load(of)


@torch.no_grad()
def reference(model, z, truncation, class_ids=None, class_vectors=None):
    if class_ids is not None:
        if model.family == "biggan":
            y = torch.as_tensor(np.asarray(class_ids, dtype=np.int64))
        else:
            y = torch.nn.functional.one_hot(torch.as_tensor(np.asarray(class_ids,
                                                                       dtype=np.int64)),
                                            model.cfg.num_classes).float()
    else:
        y = torch.from_numpy(np.ascontiguousarray(class_vectors, dtype=np.float32))
    return model(torch.from_numpy(z), y, float(truncation)).numpy()


class Parity:
    """Collects engine-vs-reference cases; finish() prints a summary and returns the exit."""

    def __init__(self, name):
        self.name = name
        self.fails = []
        self.n = 0
        self.worst = 0.0

    def case(self, model, model_file, z, t, class_ids=None, class_vectors=None, label=""):
        t0 = time.time()
        ref = reference(model, z, t, class_ids, class_vectors)
        t1 = time.time()
        # The check is only meaningful when the reference output is not degenerate.
        sat = float((np.abs(ref) > 0.999).mean())
        if not (ref.std() > 0.05 and sat < 0.5 and np.isfinite(ref).all()):
            self.fails.append("%s: reference output degenerate (std %.3g, saturated %.2f)"
                              % (label, ref.std(), sat))
            return
        try:
            got = engine_sample(model_file, z, t, class_ids, class_vectors,
                                tag="%s-%d" % (self.name, self.n))
        except Exception as e:  # noqa: BLE001 - report and go on with the other cases
            self.fails.append("%s: %s" % (label, e))
            log("FAIL %-46s engine error: %s (ref %.1fs)" % (label, str(e).splitlines()[0],
                                                             t1 - t0))
            return
        t2 = time.time()
        self.n += 1
        if got.shape != ref.shape or got.dtype != np.float32:
            self.fails.append("%s: engine output %s %s, expected %s float32"
                              % (label, got.shape, got.dtype, ref.shape))
            log("FAIL %-46s shape %s vs %s" % (label, got.shape, ref.shape))
            return
        err = float(np.abs(got.astype(np.float64) - ref).max())
        if not np.isfinite(err):
            err = float("inf")
        self.worst = max(self.worst, err)
        ok = err <= TOL
        log("%s %-46s max|engine-ref| %.3g (ref std %.3f, sat %.3f; ref %.1fs, engine %.1fs)"
            % ("ok  " if ok else "FAIL", label, err, ref.std(), sat, t1 - t0, t2 - t1))
        if not ok:
            self.fails.append("%s: max abs error %.3g > %g" % (label, err, TOL))

    def finish(self):
        log("%s: %d cases, worst max abs error %.3g, %d failures"
            % (self.name, self.n, self.worst, len(self.fails)))
        # tests/run.sh keeps a failed test's scratch dir: drop the big, regenerable
        # (seeded) checkpoints and model files, keep the small .npy inputs and outputs.
        for root, _, files in os.walk(TMP):
            for f in files:
                if f.endswith((".bin", ".pth", ".safetensors")):
                    os.unlink(os.path.join(root, f))
        for f in self.fails:
            log("  " + f)
        return 1 if self.fails else 0


F32_04 = float(np.float32(0.4))     # 0.4000000059604645: lands near S[21], not S[20]
DEEP_TRUNCATIONS = [0.14, 0.28, 0.4, 0.56, 0.58, 0.94, 1.0, 0.02, 0.5, 0.734, F32_04]


def run_model(p, family, size, ch, truncations, batch, mixtures=(0.4, 1.0), seed=1):
    """All cases for one model: one-hot class ids at every truncation, then soft class
    mixtures at the truncations in `mixtures`, then one one-hot class vector."""
    model, mf = checkpoint(family, size, ch, seed)
    nc = model.cfg.num_classes
    rng = np.random.default_rng(1000 + seed)
    label0 = "%s-%s%s" % (family, size, "" if ch is None else "-ch%d" % ch)
    for t in truncations:
        z = truncated_z(rng, batch, model.cfg.z_dim, t)
        ids = rng.integers(0, nc, batch)
        p.case(model, mf, z, t, class_ids=ids, label="%s t=%r ids" % (label0, t))
    if mixtures:
        for t in mixtures:
            z = truncated_z(rng, batch, model.cfg.z_dim, t)
            y = np.zeros((batch, nc), np.float32)
            for b in range(batch):
                a, c, d = rng.choice(nc, 3, replace=False)
                y[b, a], y[b, c], y[b, d] = 0.5, 0.3, 0.2        # soft mixture
            p.case(model, mf, z, t, class_vectors=y, label="%s t=%r mixture" % (label0, t))
        z = truncated_z(rng, 1, model.cfg.z_dim, 0.7)
        y = np.zeros((1, nc), np.float32)
        y[0, int(rng.integers(0, nc))] = 1.0                      # one-hot as a vector
        p.case(model, mf, z, 0.7, class_vectors=y, label="%s t=0.7 one-hot vector" % label0)
