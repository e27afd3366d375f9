"""ops/eval: the Frechet distance against closed forms, and evaluate.py end to end on a tiny
generator (ch 2, 2 training steps) with a randomly initialised classifier: every truncation
gets a row with fidelity in [0,1] and a finite non-negative classifier Frechet distance, CAS
rows carry a ratio to the cached same-recipe reference, and results.{json,md} + chart.png +
sheet.png are written, both for a G_ema.pth run by torch and for the same generator converted
to a ganq model file and sampled through one `ganq run sweep` job (plus one for the CAS sets). This checks the plumbing, not
the model's quality (the README has the demo model's figures). Bad options are refused.
Skips (77) without the CIFAR-10 archives."""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

ROOT = os.environ.get("GANQ_ROOT", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
SHARED = os.environ.get("GANQ_SHARED", os.path.join(ROOT, "..", "shared"))
sys.path.insert(0, os.path.join(ROOT, "ops", "eval"))
import classifier as C  # noqa: E402
import evaluate as E  # noqa: E402

# Frechet distance: identical Gaussians -> 0; 1-D N(0,1) vs N(1,4) -> 1 + 1 + 4 - 2*2 = 2;
# diagonal case -> sum of per-dimension distances.
rs = np.random.RandomState(0)
A = rs.randn(6, 6)
S = A @ A.T + np.eye(6)
mu = rs.randn(6)
assert abs(E.frechet(mu, S, mu, S)) < 1e-8
assert abs(E.frechet(np.zeros(1), np.eye(1), np.ones(1), 4 * np.eye(1)) - 2.0) < 1e-12
d1, d2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
want = 3.0 + sum(a + b - 2 * np.sqrt(a * b) for a, b in zip(d1, d2))
assert abs(E.frechet(np.zeros(3), np.diag(d1), np.array([1.0, 1.0, 1.0]), np.diag(d2)) - want) < 1e-9

if not os.path.exists(os.path.join(SHARED, "datasets", "cifar10", "test.tar.gz")):
    print("skip: CIFAR-10 not found under %s/datasets/cifar10" % SHARED)
    sys.exit(77)
tmp = os.environ.get("GANQ_TMP") or tempfile.mkdtemp()
env = dict(os.environ, OMP_NUM_THREADS="1", GANQ_SHARED=SHARED)
run_dir = os.path.join(tmp, "run")
subprocess.run([sys.executable, os.path.join(ROOT, "ops", "train", "train.py"), "--run-dir",
                run_dir, "--ch", "2", "--batch", "4", "--max-steps", "2", "--export",
                "--standing", "2"], env=env, check=True, stdout=subprocess.DEVNULL)
torch.manual_seed(0)
cdir = os.path.join(tmp, "clf")
os.makedirs(cdir)
torch.save(C.Net().state_dict(), os.path.join(cdir, "classifier.pt"))

EV = [sys.executable, os.path.join(ROOT, "ops", "eval", "evaluate.py"),
      "--g-ema", os.path.join(run_dir, "G_ema.pth"), "--classifier",
      os.path.join(cdir, "classifier.pt"), "--threads", "1"]
out = os.path.join(tmp, "report")
subprocess.run(EV + ["--out", out, "--truncations", "0.5,1.0", "--n", "100", "--cas-n", "100",
                     "--cas-epochs", "1", "--real-n", "500", "--cas-truncations", "all", "--sheet-truncation", "1.0"],
               env=env, check=True)
res = json.load(open(os.path.join(out, "results.json")))
assert [r["truncation"] for r in res["rows"]] == [0.5, 1.0]
for r in res["rows"]:
    assert 0 <= r["fidelity"] <= 1 and np.isfinite(r["cfd"]) and r["cfd"] >= 0, r
    assert 0 <= r["cas"] <= 1 and abs(r["cas_ratio"] - r["cas"] / res["cas_reference_accuracy"]) < 1e-12
assert os.path.exists(os.path.join(cdir, "cas_ref_n100_e1_t500.json"))
md = open(os.path.join(out, "results.md")).read()
assert "classifier Frechet distance" in md and md.count("\n| 0.50 |") == 1
from PIL import Image  # noqa: E402
assert Image.open(os.path.join(out, "chart.png")).size == (720, 260)
assert Image.open(os.path.join(out, "sheet.png")).size == (10 * 34 + 2, 10 * 34 + 2)

# the evaluation of record samples through ganq itself (`ganq run sweep`, C engine):
# convert the same generator to a ganq model file and run it that way
mfile = os.path.join(tmp, "models", "tiny.safetensors")
os.makedirs(os.path.dirname(mfile))
subprocess.run([sys.executable, os.path.join(ROOT, "ops", "convert-weights"), "--from", "biggan",
                os.path.join(run_dir, "G_ema.pth"), "--preset", "cifar32", "--ch", "2", "--out",
                mfile], env=env, check=True, stdout=subprocess.DEVNULL)
out_g = os.path.join(tmp, "report-ganq")
EVG = [a if a != os.path.join(run_dir, "G_ema.pth") else mfile for a in EV]
EVG[EVG.index("--g-ema")] = "--ganq"
subprocess.run(EVG + ["--out", out_g, "--truncations", "0.5,1.0", "--n", "100", "--real-n", "500",
                      "--cas-n", "100", "--cas-epochs", "1", "--cas-truncations", "1.0",
                      "--sheet-truncation", "1.0"], env=env, check=True)
res = json.load(open(os.path.join(out_g, "results.json")))
assert res["sampled_by"] == "ganq run sweep", res
assert [r["truncation"] for r in res["rows"]] == [0.5, 1.0]
for r in res["rows"]:
    assert 0 <= r["fidelity"] <= 1 and np.isfinite(r["cfd"]) and r["cfd"] >= 0, r
    assert r["pixel_diversity"] > 0, r   # from the sweep job's own summary.json
assert 0 <= res["rows"][1]["cas"] <= 1 and "cas" not in res["rows"][0], res["rows"]
summ = json.load(open(os.path.join(out_g, "sweep", "summary.json")))
assert [v["images"] for v in summ["values"]] == [100, 100], summ
for f in ("sheet-t0.50.png", "sheet-t1.00.png", "summary.png", "manifest.jsonl"):
    assert os.path.exists(os.path.join(out_g, "sweep", f)), f
assert Image.open(os.path.join(out_g, "sheet.png")).size == (10 * 34 + 2, 10 * 34 + 2)
assert not [f for f in os.listdir(out_g) if f.startswith("ganq-")], os.listdir(out_g)
p = subprocess.run(EVG + ["--out", os.path.join(tmp, "bad"), "--n", "105"], env=env,
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
assert p.returncode != 0 and "multiple of 10" in p.stdout, p.stdout[-400:]

for bad in (["--truncations", "0,1"], ["--truncations", "x"], ["--n", "3"]):
    p = subprocess.run(EV + ["--out", os.path.join(tmp, "bad")] + bad, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert p.returncode != 0 and "Traceback" not in p.stdout, (bad, p.stdout[-400:])
p = subprocess.run(EV[:2] + ["--g-ema", os.path.join(cdir, "classifier.pt"), "--out",
                             os.path.join(tmp, "bad")], env=env, stdout=subprocess.PIPE,
                   stderr=subprocess.STDOUT, text=True)
assert p.returncode != 0 and "not a BR-layout" in p.stdout, p.stdout[-400:]
print("ok")
