#!/usr/bin/python3
"""bench_synthesis.py: end-to-end images/s of a synthesize job against the bare engine.

For each model, measures in the same run:
  engine   `ganq-engine bench MODEL --batch B --iters N --threads 1`: generation only;
  job      a synthesize job through ganq-broker and one ganq-worker (--threads 1, encoders
           as given) over ipc://, timed from submit until `ganq watch` exits (job done):
           planning, generation, encoding, fsync'd atomic writes, the broker round trips and
           the finalizer (manifests, labels).
for each output format (ImageFolder png and jpeg, WebDataset png, NPZ) and prints one row each,
with the job's rate as a share of the engine's. A benchmark, not a test: it prints figures.

  ops/bench/bench_synthesis.py [--models testcard,demo,deep8] [--per-class N] [--classes 0-9]
                               [--encoders 1,2] [--formats if,jpeg,wds,npz]
Formats: if = ImageFolder png, jpeg = ImageFolder jpeg (quality 95), wds = WebDataset png
shards of 100, npz = NPZ files of 100. "demo" is ops/models/biggan-cifar10-ch16 (32x32);
"deep8" is a random biggan-deep-128 checkpoint at channel width 8, made with
ops/reference/make_checkpoint.py and converted with ops/convert-weights (needs torch); a path
to a .safetensors file may be given instead.
"""
import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "lib"))
os.environ.setdefault("GANQ_ROOT", ROOT)
import ganq_e2e as E  # noqa: E402

PY = "/usr/bin/python3"


def make_deep8(tmp):
    src, out = os.path.join(tmp, "deepsrc"), os.path.join(tmp, "models", "deep8.safetensors")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    subprocess.run([PY, os.path.join(ROOT, "ops", "reference", "make_checkpoint.py"),
                    "--family", "biggan-deep", "--resolution", "128", "--ch", "8", "--out", src],
                   check=True, capture_output=True)
    subprocess.run([PY, os.path.join(ROOT, "ops", "convert-weights"), "--from", "biggan-deep",
                    src, "--out", out], check=True, capture_output=True)
    return out


def engine_rate(model, batch, iters):
    r = subprocess.run([os.path.join(E.BIN, "ganq-engine"), "bench", model, "--batch",
                        str(batch), "--iters", str(iters), "--threads", "1", "--json"],
                       capture_output=True, text=True, check=True)
    d = json.loads(r.stdout)
    for k in ("images_per_s", "images_s", "rate"):
        if k in d:
            return float(d[k])
    raise SystemExit("ganq-engine bench --json gave no rate: %s" % r.stdout)


FORMATS = {
    "if": ["--layout", "imagefolder", "--format", "png"],
    "jpeg": ["--layout", "imagefolder", "--format", "jpeg"],
    "wds": ["--layout", "wds", "--format", "png", "--shard-size", "100"],
    "npz": ["--layout", "flat", "--format", "npz", "--shard-size", "100"],
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="testcard,demo,deep8")
    ap.add_argument("--per-class", type=int, default=0,
                    help="default: 100 testcard, 200 demo, 16 deep8")
    ap.add_argument("--classes", default="0-9")
    ap.add_argument("--encoders", default="1")
    ap.add_argument("--formats", default="if,jpeg,wds,npz")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="ganq-bench-syn.")
    os.environ["GANQ_TMP"] = tmp
    rows = []
    try:
        for name in a.models.split(","):
            if name == "testcard":
                path, model_args, per = "testcard", [], a.per_class or 100
            else:
                per = a.per_class or {"demo": 200}.get(name, 16)
                if name == "demo":
                    path = os.path.join(ROOT, "ops", "models", "biggan-cifar10-ch16.safetensors")
                else:
                    path = make_deep8(tmp) if name == "deep8" else os.path.abspath(name)
                model_args = ["--models", os.path.dirname(path)]
                name = os.path.splitext(os.path.basename(path))[0]
            eng = engine_rate(path, 8, 8 if name != "testcard" else 200)
            for enc in a.encoders.split(","):
                os.environ["GANQ_TMP"] = os.path.join(tmp, "c-%s-%s" % (name, enc))
                c = E.Cluster(workers=1, worker_args=model_args + ["--encoders", enc])
                for fmt in a.formats.split(","):
                    out = os.path.join(c.tmp, "out-" + fmt)
                    t0 = time.time()
                    job = c.submit("synthesize", "--model", name, "--per-class", per,
                                   "--classes", a.classes, "--val-fraction", 0.1, "--seed", 1,
                                   "--task-size", 100, "--out", out, *FORMATS[fmt])
                    # one `ganq watch` (pushed progress, exits when the job ends) rather
                    # than polling `ganq status` processes, which cost the cores measured
                    c.cli("watch", job, "--interval", 3600, check=False)
                    dt = time.time() - t0
                    st = c.status(job)
                    if st["state"] != "done":
                        raise SystemExit("job %s: %s" % (st["state"], st.get("reason")))
                    n = st["total"]
                    rows.append((name, fmt, enc, n, dt, n / dt, eng))
                    print("%-9s %-4s encoders %s: %5d images in %6.2f s = %7.1f images/s "
                          "(engine %7.1f, %3.0f%%)" % (name, fmt, enc, n, dt, n / dt, eng,
                                                       100 * n / dt / eng), flush=True)
                    shutil.rmtree(out)
                c.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("\n| model | format | encoders | images | seconds | images/s | engine images/s | "
          "share |")
    print("|---|---|--:|--:|--:|--:|--:|--:|")
    for name, fmt, enc, n, dt, r, eng in rows:
        print("| %s | %s | %s | %d | %.2f | %.1f | %.1f | %.0f%% |" % (name, fmt, enc, n, dt, r,
                                                                       eng, 100 * r / eng))
    print("\nmachine: %s, %d cpus, load %s" % (platform.processor() or platform.machine(),
                                                os.cpu_count(),
                                                " ".join("%.1f" % x for x in os.getloadavg())))


if __name__ == "__main__":
    main()
