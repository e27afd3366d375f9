#!/usr/bin/python3
"""bench_engine_cpu.py: ganq's CPU engine against Debian's torch on the CPU, same weights,
same batch, same thread count, in the same run; prints images/s of each and the ratio
(engine / torch; the issue's goal is >= 1.0, aim 1.5), plus the max abs difference of the
two outputs on the same inputs (a parity sanity check, not the parity test).

  /usr/bin/python3 ops/bench/bench_engine_cpu.py [--models deep128,biggan128] [--batch 4]
      [--iters 3] [--threads 2] [--workdir DIR] [--json]

Models are random-weight checkpoints at full width made by ops/reference/make_checkpoint.py
and converted by ops/convert-weights (cached in --workdir, default /tmp/ganq-bench): the same
.safetensors file feeds both sides (torch via biggan_ref.from_model_file). Torch runs the
reference modules of ops/reference/biggan_ref.py in eval mode under torch.no_grad() with
torch.set_num_threads(threads), spectral norm folded once at load (no per-forward SN
arithmetic), and for BigGAN-deep only the 3 kept rows of conv_to_rgb computed (the shortcut
the engine may take, so torch does no avoidable work either); the engine runs `ganq-engine bench` with --threads. Each side
does one untimed warm-up batch, then `iters` timed batches; they alternate (torch, engine,
torch, engine) and the best of the two rounds is kept for each, which reduces the effect of
other load on a shared machine. Check `uptime` and report the load with the figures.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "ops", "reference"))
import biggan_ref as R  # noqa: E402

PY = "/usr/bin/python3"
MODELS = {
    "deep128": (["--family", "biggan-deep", "--resolution", "128"], ["--from", "biggan-deep"], True),
    "biggan128": (["--family", "biggan", "--preset", "128"], ["--from", "biggan", "--preset", "128"], False),
}


def model_file(name, workdir):
    mk, conv, is_dir = MODELS[name]
    out = os.path.join(workdir, name + ".safetensors")
    if os.path.exists(out):
        return out
    src = os.path.join(workdir, name + ("" if is_dir else ".pth"))
    subprocess.check_call([PY, os.path.join(ROOT, "ops/reference/make_checkpoint.py")] + mk + ["--out", src])
    subprocess.check_call([PY, os.path.join(ROOT, "ops/convert-weights")] + conv[:2] + [src] + conv[2:] + ["--out", out])
    return out


def torch_ips(m, z, y, t, iters):
    with torch.no_grad():
        m(z, y, t)
        t0 = time.perf_counter()
        for _ in range(iters):
            out = m(z, y, t)
        dt = time.perf_counter() - t0
    return z.shape[0] * iters / dt, out.numpy()


def engine_ips(engine, path, batch, iters, threads):
    r = subprocess.run([engine, "bench", path, "--batch", str(batch), "--iters", str(iters),
                        "--threads", str(threads), "--json"], check=True, capture_output=True, text=True)
    return json.loads(r.stdout)["images_per_s"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="deep128,biggan128")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workdir", default="/tmp/ganq-bench")
    ap.add_argument("--engine", default=os.path.join(ROOT, "build/release/bin/ganq-engine"))
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    torch.set_num_threads(a.threads)
    results = []
    for name in a.models.split(","):
        path = model_file(name, a.workdir)
        m = R.from_model_file(path)      # eval mode, SN folded (W / sigma precomputed)
        if m.family == "biggan-deep":
            m.generator.rgb3 = True          # torch too computes only the 3 kept RGB rows
        cfg = m.cfg
        # Same inputs as `ganq-engine bench`: engine_noise(seed 0, t 0.5), classes i mod n.
        t = 0.5
        zf = os.path.join(a.workdir, "z.npy")
        subprocess.check_call([a.engine, "noise", "--seed", "0", "--index", "0", "--count", str(a.batch),
                               "--truncation", str(t), "--z-dim", str(cfg.z_dim), "--out", zf])
        z = np.load(zf)
        cls = np.arange(a.batch) % cfg.num_classes
        y = np.zeros((a.batch, cfg.num_classes), np.float32)
        y[np.arange(a.batch), cls] = 1
        np.save(os.path.join(a.workdir, "c.npy"), cls.astype(np.int64))
        tt, ee = [], []
        for _ in range(2):
            ips, ref = torch_ips(m, torch.from_numpy(z), torch.from_numpy(y), t, a.iters)
            tt.append(ips)
            ee.append(engine_ips(a.engine, path, a.batch, a.iters, a.threads))
        of = os.path.join(a.workdir, "o.npy")
        subprocess.check_call([a.engine, "sample", path, "--z", zf, "--classes", os.path.join(a.workdir, "c.npy"),
                               "--truncation", str(t), "--out", of, "--threads", str(a.threads)])
        diff = float(np.abs(np.load(of) - ref).max())
        r = {"model": name, "batch": a.batch, "iters": a.iters, "threads": a.threads,
             "torch_images_per_s": max(tt), "engine_images_per_s": max(ee),
             "ratio": max(ee) / max(tt), "max_abs_diff": diff,
             "torch_rounds": tt, "engine_rounds": ee, "load": os.getloadavg()}
        results.append(r)
        if not a.json:
            print("%-10s batch %d threads %d: torch %.3f img/s, engine %.3f img/s, ratio %.2f, "
                  "max |diff| %.2e (load %.2f)" % (name, a.batch, a.threads, r["torch_images_per_s"],
                                                   r["engine_images_per_s"], r["ratio"], diff, r["load"][0]))
    if a.json:
        print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
