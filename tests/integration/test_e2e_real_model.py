"""test_e2e_real_model: the job kinds on a small real BigGAN-deep model, end to end.

Makes a random biggan-deep 128 checkpoint at channel width 8 in the published layout
(ops/reference/make_checkpoint.py) and converts it (ops/convert-weights), cached under
build/test-cache keyed by the hash of those sources, then runs a
broker and two workers offering it (--models) and checks, read back with PIL / tarfile:
generate png, synthesize as WebDataset shards with jpeg inside, a sweep (summary), an
interpolation (strip), that images are real renders (not flat, 128x128, differ by class),
that truncation outside (0, 1] is refused for this standing-statistics model, that a second
run of the same job gives identical bytes, and that a different task split (hence engine
batch size) gives identical bytes too. Skips when torch is missing.
"""
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import ganq_e2e as E  # noqa: E402

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

PY = "/usr/bin/python3"
try:
    import torch  # noqa: F401
except ImportError:
    E.skip("torch missing: cannot make a checkpoint")

T = os.environ.get("GANQ_TMP") or __import__("tempfile").mkdtemp(prefix="ganq-e2e-real.")
os.environ["GANQ_TMP"] = T
models = os.path.join(T, "models")
os.makedirs(models, exist_ok=True)
model = os.path.join(models, "deep8.safetensors")


def source_key():
    """Hash of the generator and converter sources: the cached model is rebuilt when they
    change."""
    import hashlib
    h = hashlib.sha256()
    for d in ("ops/reference", "ops/convert"):
        for f in sorted(os.listdir(os.path.join(E.ROOT, d))):
            if f.endswith(".py"):
                with open(os.path.join(E.ROOT, d, f), "rb") as fp:
                    h.update(f.encode() + fp.read())
    with open(os.path.join(E.ROOT, "ops", "convert-weights"), "rb") as fp:
        h.update(fp.read())
    return h.hexdigest()[:16]


# making the checkpoint costs most of this test's time: keep one under build/ (ignored by
# git), keyed by the sources that make it
cache = os.path.join(E.ROOT, "build", "test-cache", "deep8-%s.safetensors" % source_key())
if os.path.isfile(cache):
    shutil.copyfile(cache, model)
else:
    src = os.path.join(T, "deepsrc")
    for argv in ([PY, os.path.join(E.ROOT, "ops", "reference", "make_checkpoint.py"),
                  "--family", "biggan-deep", "--resolution", "128", "--ch", "8", "--out", src],
                 [PY, os.path.join(E.ROOT, "ops", "convert-weights"), "--from", "biggan-deep",
                  src, "--out", model]):
        r = subprocess.run(argv, capture_output=True, text=True)
        if r.returncode != 0:
            print(r.stdout, r.stderr)
            raise SystemExit("FAIL: %s exited %d" % (argv[1], r.returncode))
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    shutil.copyfile(model, cache + ".tmp.%d" % os.getpid())
    os.replace(cache + ".tmp.%d" % os.getpid(), cache)

c = E.Cluster(workers=2, worker_args=["--models", models])
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL: " + msg)


def arr(p):
    return np.asarray(Image.open(io.BytesIO(p) if isinstance(p, bytes) else p).convert("RGB"))


# generate: 4 images over two classes, truncation 0.5
out = os.path.join(T, "gen")
c.run("generate", "--model", "deep8", "--count", 4, "--classes", "class_1,class_7",
      "--truncation", 0.5, "--seed", 3, "--out", out, "--sheet")
m = E.manifest(out)
check([r["class"] for r in m] == [1, 7, 1, 7], "classes %s" % [r["class"] for r in m])
imgs = [arr(os.path.join(out, r["file"])) for r in m]
for k, a in enumerate(imgs):
    check(a.shape == (128, 128, 3), "image %d shape %s" % (k, a.shape))
    check(a.std() > 2, "image %d is flat (std %.2f)" % (k, a.std()))
check(np.abs(imgs[0].astype(int) - imgs[1].astype(int)).mean() > 1, "images 0 and 1 identical")
check(os.path.isfile(os.path.join(out, "sheet.png")), "sheet.png")
# the same job again, elsewhere: identical bytes
out2 = os.path.join(T, "gen2")
c.run("generate", "--model", "deep8", "--count", 4, "--classes", "1,7", "--truncation", 0.5,
      "--seed", 3, "--out", out2, "--sheet")
t1, t2 = E.tree(out), E.tree(out2)
check(t1 == t2, "second run differs: %s" % sorted(k for k in t1 if t1[k] != t2.get(k)))
# one image per task (engine batch 1 instead of 4): the engine is batch-invariant (ops.c),
# so the split must not move a single byte
out3 = os.path.join(T, "gen3")
c.run("generate", "--model", "deep8", "--count", 4, "--classes", "1,7", "--truncation", 0.5,
      "--seed", 3, "--out", out3, "--task-size", 1)
for r in m:
    d = np.abs(arr(os.path.join(out, r["file"])).astype(int) -
               arr(os.path.join(out3, r["file"])).astype(int))
    check(d.max() == 0, "batch 1 vs 4: %s differs (max %d levels)" % (r["file"], d.max()))

# synthesize: WebDataset shards with jpeg inside
out = os.path.join(T, "wds")
c.run("synthesize", "--model", "deep8", "--per-class", 3, "--classes", "2,5", "--truncation",
      0.4, "--val-fraction", 0.34, "--seed", 1, "--out", out, "--layout", "wds", "--format",
      "jpeg", "--shard-size", 2)
m = E.manifest(out)
check(len(m) == 6 and sum(r["split"] == "val" for r in m) == 2, "wds splits")
n = 0
for f in sorted(os.listdir(out)):
    if f.endswith(".tar"):
        with tarfile.open(os.path.join(out, f)) as tf:
            for name in tf.getnames():
                if name.endswith(".jpg"):
                    check(arr(tf.extractfile(name).read()).shape == (128, 128, 3), name)
                    meta = json.loads(tf.extractfile(name[:-4] + ".json").read())
                    check(meta["truncation"] == 0.4 and meta["class_name"] == "class_%d"
                          % meta["class"], "wds json %s" % meta)
                    n += 1
check(n == 6, "wds images %d" % n)

# sweep: two values, summary from the images
out = os.path.join(T, "sweep")
c.run("sweep", "--model", "deep8", "--truncations", "0.3,0.9", "--per-value", 2, "--classes",
      "4", "--seed", 2, "--out", out)
with open(os.path.join(out, "summary.json")) as fp:
    sj = json.load(fp)
check(len(sj["values"]) == 2 and all(v["diversity"] is not None for v in sj["values"]),
      "sweep summary %s" % sj["values"])
check(os.path.isfile(os.path.join(out, "summary.png")), "summary.png")

# interpolate
out = os.path.join(T, "interp")
c.run("interpolate", "--model", "deep8", "--from", "class_3:1", "--to", "class_9:2", "--steps",
      3, "--truncation", 0.6, "--out", out)
fr = [arr(os.path.join(out, "%06d.png" % i)) for i in range(3)]
check(np.abs(fr[0].astype(int) - fr[2].astype(int)).mean() > 1, "interpolation endpoints equal")
check(os.path.isfile(os.path.join(out, "strip.png")), "strip.png")

# standing statistics: truncation must be in (0, 1]
r = c.cli("submit", "generate", "--model", "deep8", "--count", 1, "--classes", "0",
          "--truncation", 1.5, "--out", os.path.join(T, "bad"), check=False)
check(r.returncode != 0 and "1.5" in r.stderr and "(0, 1]" in r.stderr,
      "truncation 1.5 accepted for a standing-stat model: %d %s" % (r.returncode, r.stderr))

c.stop()
if failures:
    print("%d check(s) failed" % len(failures))
    sys.exit(1)
print("ok: every kind on a real biggan-deep model")
