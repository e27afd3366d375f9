"""Evaluate a class-conditional CIFAR-10 generator at several truncations.

  /usr/bin/python3 ops/eval/evaluate.py --g-ema ops/train/runs/main/G_ema.pth \
      --out ops/eval/cache/report [--truncations 0.4,0.6,0.8,1.0] [--n 10000] \
      [--cas-n 10000 --cas-epochs 4 --cas-truncations best]

Samples come from one of
  --ganq FILE           a ganq model file, generated THROUGH GANQ (embedded broker + worker,
                        the C engine): ONE `ganq run sweep` job over all --truncations (the
                        same n noise draws at every value, classes 0..9 in turn, PNG), read
                        back through the job's manifest.jsonl; the job's own products
                        (summary.csv/json/png with its pixel diversity, sheet-t<value>.png)
                        are kept in --out/sweep/. The CAS training sets come from one more
                        sweep job over the CAS truncations (seed + 1000). This is the
                        evaluation of record: it measures what users get from ganq.
  --model FILE          the same ganq model file run by the PyTorch reference
                        ops/reference/biggan_ref.py (from_model_file): a cross-check.
  --g-ema G_ema.pth     a BR-layout state dict, run by ops/train/biggan32.py in eval mode
                        (stored BN statistics, SN from the stored u): evaluates a training
                        run before conversion.
Truncation t: z ~ N(0,1) truncated to [-2,2], multiplied by t (the HF / TF Hub convention
ganq uses; ganq draws it from its own counter-based generator keyed by (seed, index)).
Labels are balanced (n/10 per class). Images are quantised like BR: floor(127.5 (x+1))
clipped to 0..255.

Metrics per truncation, all with the real-data classifier of ops/eval/classifier.py:
  fidelity  accuracy of the classifier on generated images against their labels
  cfd       "classifier Frechet distance": Frechet distance between Gaussians fitted to the
            classifier's 64-d penultimate features of the n generated images and of the
            10,000 real test images (NOT FID; not comparable with published FIDs)
  cas       classification accuracy score: a fresh classifier of the same architecture and
            schedule trained on cas_n generated images, accuracy on the real test set; shown
            next to the same recipe trained on cas_n REAL training images (cas_ref), and the
            ratio cas / cas_ref. Also reported: the full real classifier's test accuracy.
Writes results.json, results.md and chart.png into --out (and sweep/ with --ganq). "pixel
diversity" (ganq only) is the sweep job's own mean pairwise RMS pixel distance within a class,
0..255: low values mean collapse.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "train"))
sys.path.insert(0, HERE)
import biggan32  # noqa: E402
import chart  # noqa: E402
import cifar  # noqa: E402
import classifier as C  # noqa: E402


def frechet(mu1, s1, mu2, s2):
    """Frechet distance between N(mu1,s1) and N(mu2,s2):
    |mu1-mu2|^2 + tr(s1) + tr(s2) - 2 tr((s1^1/2 s2 s1^1/2)^1/2), via symmetric eigen-
    decompositions (no scipy). Tiny negative eigenvalues from round-off are clipped."""
    w, V = np.linalg.eigh(s1)
    r1 = (V * np.sqrt(np.clip(w, 0, None))) @ V.T
    ev = np.linalg.eigvalsh(r1 @ s2 @ r1)
    tr_sqrt = np.sqrt(np.clip(ev, 0, None)).sum()
    d = mu1 - mu2
    return float(d @ d + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt)


def gauss(f):
    return f.mean(0), np.cov(f, rowvar=False)


def load_generator(path):
    sd = torch.load(path, map_location="cpu")
    if "linear.weight" not in sd or "shared.weight" not in sd:
        raise ValueError("%s: not a BR-layout BigGAN G state dict (no linear/shared)" % path)
    c4 = sd["linear.weight"].shape[0] // 16
    if c4 % 4 or sd["shared.weight"].shape != (10, 128):
        raise ValueError("%s: not a 10-class 32x32 BR generator (linear %s, shared %s)"
                         % (path, tuple(sd["linear.weight"].shape),
                            tuple(sd["shared.weight"].shape)))
    G = biggan32.Generator(ch=c4 // 4)
    G.load_state_dict(sd, strict=True)
    G.eval()
    return G


class _RefModel:
    """Adapter: ganq model file -> .sample(z, y) / .dim_z like biggan32.Generator."""

    def __init__(self, path):
        sys.path.insert(0, os.path.join(HERE, "..", "reference"))
        try:
            import biggan_ref
        except ImportError:
            raise SystemExit("--model needs ops/reference/biggan_ref.py (merge the ref branch)")
        try:
            self.m = biggan_ref.from_model_file(path)
        except (OSError, ValueError, KeyError) as e:
            raise SystemExit("--model %s: %s" % (path, e))
        self.m.eval()
        self.dim_z = self.m.cfg.z_dim
        if self.m.cfg.num_classes != 10 or self.m.cfg.resolution != 32:
            raise SystemExit("--model %s: need a 10-class 32x32 model" % path)

    def sample(self, z, y):
        return self.m(z, torch.nn.functional.one_hot(y, 10).float(), 1.0)


class _GanqModel:
    """ganq model file -> samples through `ganq run sweep` (see the module doc)."""

    def __init__(self, path, threads, workdir):
        path = os.path.abspath(path)
        if not path.endswith(".safetensors") or not os.path.isfile(path):
            raise SystemExit("--ganq %s: need an existing .safetensors model file" % path)
        self.models, self.stem = os.path.dirname(path), os.path.basename(path)[:-12]
        self.threads, self.workdir = threads, workdir
        root = os.path.dirname(os.path.dirname(HERE))
        self.ganq = os.environ.get("GANQ_CLI") or os.path.join(root, "build/release/bin/ganq")
        if not os.access(self.ganq, os.X_OK):
            raise SystemExit("%s not found: run `make all` first (or set GANQ_CLI)" % self.ganq)

    def sweep(self, ts, n, seed, keep=None):
        """One `ganq run sweep` job: n samples (classes 0..9 in turn, the same noise draws)
        at every truncation in ts, PNG. Returns [(uint8 [n,32,32,3], labels [n])] in the
        order of ts, read back through the job's manifest.jsonl. With keep, the job's own
        products (summary.csv/json/png, sheet-t*.png, manifest) are moved into keep."""
        import shutil
        import subprocess
        from PIL import Image
        if n % 10:
            raise SystemExit("through ganq, n must be a multiple of 10 (got %d)" % n)
        out = os.path.join(self.workdir, "ganq-sweep-s%d-n%d" % (seed, n))
        shutil.rmtree(out, ignore_errors=True)
        cmd = [self.ganq, "run", "sweep", "--models", self.models, "--model", self.stem,
               "--per-value", str(n), "--classes", "all",
               "--truncations", ",".join(repr(t) for t in ts), "--seed", str(seed),
               "--format", "png", "--png-level", "1", "--threads", str(self.threads),
               "--db", out + ".db", "--out", out]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise SystemExit("ganq run sweep failed (exit %d): %s"
                             % (r.returncode, r.stdout.strip().splitlines()[-1:]))
        x = np.empty((len(ts), n, 32, 32, 3), np.uint8)
        y = np.full((len(ts), n), -1, np.int64)
        seen = np.zeros((len(ts), n), bool)
        with open(os.path.join(out, "manifest.jsonl")) as f:
            for line in f:
                m = json.loads(line)
                v, s = divmod(m["index"], n)
                if v >= len(ts) or abs(m["truncation"] - ts[v]) > 1e-6:
                    raise SystemExit("ganq manifest: index %d has truncation %s, expected %s"
                                     % (m["index"], m["truncation"], ts[min(v, len(ts) - 1)]))
                with Image.open(os.path.join(out, m["file"])) as im:
                    a = np.asarray(im.convert("RGB"))
                if a.shape != (32, 32, 3):
                    raise SystemExit("ganq wrote %s of %s, expected 32x32x3" % (m["file"], a.shape))
                x[v, s], y[v, s], seen[v, s] = a, m["class"], True
        if not seen.all():
            raise SystemExit("ganq manifest lists %d of the %d images" % (seen.sum(), seen.size))
        if keep:
            os.makedirs(keep, exist_ok=True)
            for f in os.listdir(out):
                if os.path.isfile(os.path.join(out, f)) and not f.startswith(".ganq"):
                    shutil.move(os.path.join(out, f), os.path.join(keep, f))
        shutil.rmtree(out, ignore_errors=True)
        for f in os.listdir(self.workdir):
            if f.startswith(os.path.basename(out) + ".db"):
                os.remove(os.path.join(self.workdir, f))
        return [(x[v], y[v]) for v in range(len(ts))]

    def generate(self, n, t, seed):
        return self.sweep([t], n, seed)[0]


def truncated_z(n, dim, t, gen):
    z = torch.randn(n, dim, generator=gen)
    bad = z.abs() > 2
    while bad.any():
        z[bad] = torch.randn(int(bad.sum()), generator=gen)
        bad = z.abs() > 2
    return z * t


@torch.no_grad()
def generate(G, n, t, seed, batch=500):
    """n balanced samples at truncation t: (uint8 NHWC [n,32,32,3], labels int64 [n])."""
    if isinstance(G, _GanqModel):
        return G.generate(n, t, seed)
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 10
    z = truncated_z(n, G.dim_z, t, gen)
    out = []
    for k in range(0, n, batch):
        x = G.sample(z[k:k + batch], y[k:k + batch])
        out.append(torch.clamp(torch.floor(127.5 * (x + 1)), 0, 255).to(torch.uint8)
                   .permute(0, 2, 3, 1).numpy())
    return np.concatenate(out), y.numpy()


def sheet(G, t, path, per_class=10, seed=7):
    """Rows = classes, columns = samples, 2 px gaps; PNG."""
    from PIL import Image
    x, y = generate(G, 10 * per_class, t, seed)
    x = x[np.argsort(y, kind="stable")].reshape(10, per_class, 32, 32, 3)  # [class, sample]
    g = 2
    img = np.full((10 * (32 + g) + g, per_class * (32 + g) + g, 3), 255, np.uint8)
    for r in range(10):
        for c in range(per_class):
            img[g + r * (32 + g):g + r * (32 + g) + 32, g + c * (32 + g):g + c * (32 + g) + 32] = x[r, c]
    Image.fromarray(img).save(path, optimize=True)


def cas_ref(cache, n, epochs, xtr, ytr, xte, yte, log):
    """Same recipe on n real training images (balanced), cached in `cache` (the
    classifier's folder) by (n, epochs)."""
    p = os.path.join(cache, "cas_ref_n%d_e%d_t%d.json" % (n, epochs, len(xte)))
    if os.path.exists(p):
        with open(p) as f:
            return json.load(f)["accuracy"]
    idx = np.concatenate([np.where(ytr == c)[0][:n // 10] for c in range(10)])
    net = C.train(xtr[idx], ytr[idx], epochs, log=log)
    acc = float((C.predict(net, xte)[0] == yte).mean())
    with open(p, "w") as f:
        json.dump({"accuracy": acc, "n": n, "epochs": epochs}, f)
    return acc


def sweep_diversity(path, ts):
    """The sweep job's own per-value pixel diversity (mean pairwise RMS distance within a
    class, storage/out/out_finalize.c) from its summary.json, in the order of ts."""
    with open(path) as f:
        vals = json.load(f)["values"]
    by_t = {round(v["truncation"], 6): v.get("diversity") for v in vals}
    return [by_t.get(round(t, 6)) for t in ts]


def parse_list(s, name):
    try:
        v = [float(x) for x in s.split(",") if x]
    except ValueError:
        raise SystemExit("--%s: expected comma-separated numbers, got %r" % (name, s))
    if not v or any(not 0 < t <= 1 for t in v):
        raise SystemExit("--%s: every truncation must be in (0, 1], got %r" % (name, s))
    return v


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--g-ema", help="BR-layout G_ema state dict (.pth)")
    src.add_argument("--ganq", help="ganq model file, sampled through `ganq run synthesize`")
    src.add_argument("--model", help="ganq model file, sampled by the PyTorch reference")
    p.add_argument("--out", required=True)
    p.add_argument("--classifier", default=None, help="default ops/eval/cache/classifier.pt")
    p.add_argument("--truncations", default="0.4,0.6,0.8,1.0")
    p.add_argument("--n", type=int, default=10000, help="generated images per truncation")
    p.add_argument("--cas-n", type=int, default=10000)
    p.add_argument("--cas-epochs", type=int, default=4)
    p.add_argument("--cas-truncations", default="best",
                   help="'best' (highest fidelity), 'all', 'none' or a list")
    p.add_argument("--real-n", type=int, default=10000,
                   help="real test images used (balanced subset; 10000 = all)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sheet-truncation", type=float, default=0.0,
                   help="also write sheet.png at this truncation (0: none)")
    a = p.parse_args()
    ts = parse_list(a.truncations, "truncations")
    if a.n < 10 or a.cas_n < 10 or a.cas_epochs < 1 or not 10 <= a.real_n <= 10000:
        raise SystemExit("--n and --cas-n must be >= 10, --cas-epochs >= 1, "
                         "--real-n in 10..10000")
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    log = lambda s: print(s, flush=True)  # noqa: E731
    t_all = time.time()

    if a.ganq:
        G = _GanqModel(a.ganq, a.threads, a.out)
    else:
        G = load_generator(a.g_ema) if a.g_ema else _RefModel(a.model)
    net = C.load_real(a.classifier)
    cdir = os.path.dirname(os.path.abspath(a.classifier or os.path.join(C.CACHE, "x")))
    xtr, ytr = cifar.load("train")
    xte, yte = cifar.load("test")
    if a.real_n < len(xte):
        keep = np.concatenate([np.where(yte == c)[0][:a.real_n // 10] for c in range(10)])
        xte, yte = xte[keep], yte[keep]
    pred_te, f_te = C.predict(net, xte)
    real_acc = float((pred_te == yte).mean())
    mu_r, s_r = gauss(f_te)
    log("real classifier test accuracy %.4f" % real_acc)

    rows = []
    swept = None
    if a.ganq:  # one sweep job, the same noise draws at every value
        t0 = time.time()
        swept = G.sweep(ts, a.n, a.seed, keep=os.path.join(a.out, "sweep"))
        log("ganq sweep: %d x %d images (%.0f s)" % (len(ts), a.n, time.time() - t0))
        diversity = sweep_diversity(os.path.join(a.out, "sweep", "summary.json"), ts)
    for i, t in enumerate(ts):
        t0 = time.time()
        x, y = swept[i] if swept else generate(G, a.n, t, a.seed + i)
        pred, f = C.predict(net, x)
        mu, s = gauss(f)
        rows.append({"truncation": t, "fidelity": float((pred == y).mean()),
                     "cfd": frechet(mu, s, mu_r, s_r),
                     "per_class_fidelity": [float((pred[y == c] == c).mean())
                                            for c in range(10)]})
        if swept:
            rows[-1]["pixel_diversity"] = diversity[i]
        log("t=%.2f fidelity %.4f cfd %.2f (%.0f s)"
            % (t, rows[-1]["fidelity"], rows[-1]["cfd"], time.time() - t0))

    if a.cas_truncations == "best":
        cas_ts = [max(rows, key=lambda r: r["fidelity"])["truncation"]]
    elif a.cas_truncations == "all":
        cas_ts = ts
    elif a.cas_truncations == "none":
        cas_ts = []
    else:
        cas_ts = parse_list(a.cas_truncations, "cas-truncations")
    ref = None
    if cas_ts:
        ref = cas_ref(cdir, a.cas_n, a.cas_epochs, xtr, ytr, xte, yte, log)
        log("CAS reference (same recipe, %d real images): %.4f" % (a.cas_n, ref))
    cas_sets = G.sweep(cas_ts, a.cas_n, a.seed + 1000) if a.ganq and cas_ts else None
    for k, t in enumerate(cas_ts):
        t0 = time.time()
        x, y = (cas_sets[k] if cas_sets
                else generate(G, a.cas_n, t, a.seed + 1000 + int(round(t * 1000))))
        cnet = C.train(x, y, a.cas_epochs, log=log)
        cas = float((C.predict(cnet, xte)[0] == yte).mean())
        row = next((r for r in rows if r["truncation"] == t), None)
        if row is None:
            row = {"truncation": t}
            rows.append(row)
        row.update(cas=cas, cas_ratio=cas / ref if ref else None)
        log("t=%.2f CAS %.4f (ref %.4f, ratio %.3f) (%.0f s)"
            % (t, cas, ref, cas / ref, time.time() - t0))
    rows.sort(key=lambda r: r["truncation"])

    cinfo = {}
    cj = os.path.join(cdir, "classifier.json")
    if os.path.exists(cj):
        with open(cj) as f:
            cinfo = json.load(f)
    res = {"generator": os.path.abspath(a.g_ema or a.model or a.ganq),
           "sampled_by": "ganq run sweep" if a.ganq else "torch",
           "settings": {"n_generated": a.n, "n_real_test": int(len(xte)),
                        "cas_n": a.cas_n, "cas_epochs": a.cas_epochs, "seed": a.seed,
                        "z": "truncnorm[-2,2] * t", "quantisation": "floor(127.5(x+1))"},
           "real_classifier": dict(cinfo, test_accuracy=real_acc),
           "cas_reference_accuracy": ref, "rows": rows,
           "seconds": round(time.time() - t_all, 1)}
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(res, f, indent=2)
    md = ["| truncation | class fidelity | classifier Frechet distance | CAS | CAS / ref "
          "| pixel diversity |", "|---|---|---|---|---|---|"]
    for r in rows:
        fid = "%.1f%%" % (100 * r["fidelity"]) if "fidelity" in r else "-"
        cfd = "%.2f" % r["cfd"] if "cfd" in r else "-"
        cas = "%.1f%%" % (100 * r["cas"]) if "cas" in r else "-"
        rat = "%.2f" % r["cas_ratio"] if r.get("cas_ratio") is not None else "-"
        div = "%.1f" % r["pixel_diversity"] if r.get("pixel_diversity") is not None else "-"
        md.append("| %.2f | %s | %s | %s | %s | %s |" % (r["truncation"], fid, cfd, cas, rat, div))
    md.append("")
    md.append("Real-data classifier test accuracy: %.1f%%. CAS reference (same recipe on %d "
              "real images, %d epochs): %s. %d generated images per truncation vs %d real "
              "test images." % (100 * real_acc, a.cas_n, a.cas_epochs,
                                "%.1f%%" % (100 * ref) if ref else "n/a", a.n, len(xte)))
    with open(os.path.join(a.out, "results.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    chart.draw(rows, real_acc, ref, os.path.join(a.out, "chart.png"))
    if a.sheet_truncation > 0:
        sheet(G, a.sheet_truncation, os.path.join(a.out, "sheet.png"))
    print("\n".join(md))


if __name__ == "__main__":
    main()
