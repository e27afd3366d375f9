"""test_e2e_kinds: every job kind and output format end to end through a real ganq-broker
and two ganq-worker processes (ipc:// in the scratch dir) on the built-in testcard model,
read back with PIL, numpy.load and tarfile, and checked against manifest.jsonl and the plan's
layout (plan.h): generate png (+ sheet) / jpeg / png levels, synthesize as an ImageFolder
tree, as WebDataset shards (png and jpeg inside) and as NPZ, a truncation sweep (folders,
sheets, summary.csv/json/png), and an interpolation (frames + strip.png).
A small real model is covered by test_e2e_real_model.py once the engine loads model files.
"""
import io
import json
import os
import sys
import tarfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import ganq_e2e as E  # noqa: E402

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

RES = 32  # testcard resolution
c = E.Cluster(workers=2)
T = c.tmp
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL: " + msg)


def rgb(path_or_bytes):
    im = Image.open(io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes)
                    else path_or_bytes)
    return im


def common(out, total):
    m = E.manifest(out)
    check(len(m) == total, "%s: manifest has %d lines, want %d" % (out, len(m), total))
    check([r["index"] for r in m] == list(range(total)), out + ": manifest indices")
    with open(os.path.join(out, "manifest.csv")) as fp:
        rows = fp.read().splitlines()
    check(rows[0] == "index,class,class_name,seed,truncation,split,file,shard,key",
          out + ": csv header " + rows[0])
    check(len(rows) == total + 1, out + ": csv rows")
    check(not [f for f in os.listdir(out) if ".tmp." in f], out + ": temp files left")
    return m


# ---- generate: png with a sheet, classes cycling
out = os.path.join(T, "gen-png")
job, st = c.run("generate", "--model", "testcard", "--count", 14, "--classes", "0-3",
                "--seed", 3, "--out", out, "--sheet", "--task-size", 4)
m = common(out, 14)
for r in m:
    check(r["class"] == r["index"] % 4, "generate class of %d" % r["index"])
    check(r["file"] == "%06d.png" % r["index"], "generate file " + r["file"])
    check(r["class_name"] == "class%d" % r["class"], "class name " + r["class_name"])
    im = rgb(os.path.join(out, r["file"]))
    check(im.format == "PNG" and im.size == (RES, RES) and im.mode == "RGB",
          "png %s: %s %s %s" % (r["file"], im.format, im.size, im.mode))
sheet = rgb(os.path.join(out, "sheet.png"))
# 4 classes as rows; class 0 and 1 have 4 images (0,4,8,12 / 1,5,9,13): 4 columns, 2 px gaps
check(sheet.size == (4 * (RES + 2) + 2, 4 * (RES + 2) + 2), "sheet size %s" % (sheet.size,))
pix_png = {r["index"]: np.asarray(rgb(os.path.join(out, r["file"]))) for r in m}
check(len(st.get("outputs", {}) and [1]) >= 0, "status outputs")

# ---- generate: jpeg, and png levels give the same pixels
out = os.path.join(T, "gen-jpg")
c.run("generate", "--model", "testcard", "--count", 5, "--classes", "0-3", "--seed", 3,
      "--out", out, "--format", "jpeg", "--jpeg-quality", 90)
m = common(out, 5)
for r in m:
    im = rgb(os.path.join(out, r["file"]))
    check(r["file"].endswith(".jpg") and im.format == "JPEG" and im.size == (RES, RES),
          "jpeg " + r["file"])
    err = np.abs(np.asarray(im).astype(int) - pix_png[r["index"]].astype(int)).mean()
    check(err < 12, "jpeg %s: mean abs error %.1f vs the png" % (r["file"], err))
sizes = {}
for lvl in (0, 9):
    out = os.path.join(T, "gen-l%d" % lvl)
    c.run("generate", "--model", "testcard", "--count", 3, "--classes", "0-3", "--seed", 3,
          "--out", out, "--png-level", lvl)
    sizes[lvl] = os.path.getsize(os.path.join(out, "000001.png"))
    check((np.asarray(rgb(os.path.join(out, "000001.png"))) == pix_png[1]).all(),
          "png level %d changes pixels" % lvl)
check(sizes[0] > sizes[9], "png level 0 (%d bytes) not larger than 9 (%d)" % (sizes[0], sizes[9]))

# ---- synthesize: ImageFolder tree with a val split
out = os.path.join(T, "syn-if")
c.run("synthesize", "--model", "testcard", "--per-class", 4, "--classes", "2,5,7",
      "--val-fraction", 0.25, "--seed", 9, "--out", out, "--task-size", 5)
m = common(out, 12)
splits = {}
for r in m:
    splits.setdefault((r["split"], r["class"]), []).append(r["index"])
    want = "%s/class%d/%06d.png" % (r["split"], r["class"], r["index"])
    check(r["file"] == want, "imagefolder path %s != %s" % (r["file"], want))
    check(os.path.isfile(os.path.join(out, want)), "missing " + want)
for cl in (2, 5, 7):
    check(len(splits.get(("val", cl), [])) == 1, "class %d val count" % cl)
    check(len(splits.get(("train", cl), [])) == 3, "class %d train count" % cl)
check(max(i for (s, _), v in splits.items() if s == "val" for i in v) <
      min(i for (s, _), v in splits.items() if s == "train" for i in v),
      "val indices come first")
with open(os.path.join(out, "labels.txt")) as fp:
    check(fp.read() == "2\tclass2\n5\tclass5\n7\tclass7\n", "labels.txt")
check(sorted(os.listdir(os.path.join(out, "train"))) == ["class2", "class5", "class7"],
      "train folders")

# ---- synthesize: WebDataset shards, png and jpeg inside
for fmt, ext in (("png", "png"), ("jpeg", "jpg")):
    out = os.path.join(T, "syn-wds-" + fmt)
    c.run("synthesize", "--model", "testcard", "--per-class", 5, "--classes", "0-2",
          "--val-fraction", 0.2, "--seed", 4, "--out", out, "--layout", "wds",
          "--format", fmt, "--shard-size", 4, "--task-size", 4)
    m = common(out, 15)
    shards = sorted(f for f in os.listdir(out) if f.endswith(".tar"))
    # the shard grid [0,4) [4,8) .. cut at the val/train boundary 3:
    # val [0,3); train [3,4) [4,8) [8,12) [12,15)
    check(shards == ["train-000000.tar", "train-000001.tar", "train-000002.tar",
                     "train-000003.tar", "val-000000.tar"], "wds shards %s" % shards)
    seen = {}
    for sh in shards:
        with tarfile.open(os.path.join(out, sh)) as tf:
            names = tf.getnames()
            for n in names:
                key, e = n.split(".", 1)
                data = tf.extractfile(n).read()
                rec = seen.setdefault(int(key), {"shard": sh})
                rec[e] = data
    check(sorted(seen) == list(range(15)), "wds keys %s" % sorted(seen))
    for r in m:
        s = seen.get(r["index"], {})
        check(r["shard"] == s.get("shard") and r["key"] == "%06d" % r["index"],
              "manifest shard/key of %d" % r["index"])
        check(set(s) == {"shard", ext, "cls", "json"}, "wds members of %d: %s" % (r["index"],
                                                                               sorted(s)))
        if ext not in s:
            continue
        im = rgb(s[ext])
        check(im.size == (RES, RES) and im.format == ("PNG" if fmt == "png" else "JPEG"),
              "wds image %d" % r["index"])
        meta = json.loads(s["json"])
        check(int(s["cls"]) == r["class"] == meta["class"], "wds cls of %d" % r["index"])
        check(meta["index"] == r["index"] and meta["seed"] == 4 and
              meta["class_name"] == "class%d" % r["class"] and meta["split"] == r["split"],
              "wds json of %d: %s" % (r["index"], meta))
        check(r["shard"].startswith(r["split"] + "-"), "shard split of %d" % r["index"])

# ---- synthesize: NPZ
out = os.path.join(T, "syn-npz")
c.run("synthesize", "--model", "testcard", "--per-class", 3, "--classes", "1,8",
      "--seed", 2, "--out", out, "--format", "npz", "--layout", "flat", "--shard-size", 4)
m = common(out, 6)
files = sorted(f for f in os.listdir(out) if f.endswith(".npz"))
check(files == ["train-000000.npz", "train-000001.npz"], "npz files %s" % files)
xs, ys = [], []
for f in files:
    d = np.load(os.path.join(out, f))
    check(sorted(d.files) == ["x", "y"], "npz members %s" % d.files)
    check(d["x"].dtype == np.uint8 and d["x"].shape[1:] == (RES, RES, 3), "npz x %s" % (d["x"].shape,))
    check(d["y"].dtype == np.int64, "npz y dtype")
    xs.append(d["x"])
    ys.append(d["y"])
x = np.concatenate(xs)
y = np.concatenate(ys)
check(list(y) == [r["class"] for r in m], "npz labels %s" % list(y))
# the same image as a png job with the same plan would write (ImageFolder)
out2 = os.path.join(T, "syn-npz-png")
c.run("synthesize", "--model", "testcard", "--per-class", 3, "--classes", "1,8",
      "--seed", 2, "--out", out2, "--layout", "flat")
check((np.asarray(rgb(os.path.join(out2, "000004.png"))) == x[4]).all(),
      "npz pixels equal the png of the same index")

# ---- sweep
out = os.path.join(T, "sweep")
c.run("sweep", "--model", "testcard", "--truncations", "0.25,0.5,1", "--per-value", 4,
      "--classes", "0-1", "--seed", 6, "--out", out, "--task-size", 3)
m = common(out, 12)
for v, folder in enumerate(("t0.25", "t0.50", "t1.00")):
    fs = sorted(os.listdir(os.path.join(out, folder)))
    check(fs == ["%06d.png" % s for s in range(4)], "sweep folder %s: %s" % (folder, fs))
    check(os.path.isfile(os.path.join(out, "sheet-%s.png" % folder)), "sheet of " + folder)
for r in m:
    check(r["truncation"] == (0.25, 0.5, 1.0)[r["index"] // 4], "sweep truncation")
    check(r["class"] == (r["index"] % 4) % 2, "sweep class")
with open(os.path.join(out, "summary.csv")) as fp:
    rows = fp.read().splitlines()
check(len(rows) == 4 and rows[0].startswith("truncation,folder,images,diversity,"), "summary.csv")
with open(os.path.join(out, "summary.json")) as fp:
    sj = json.load(fp)
check([v["truncation"] for v in sj["values"]] == [0.25, 0.5, 1.0], "summary.json values")
for v in sj["values"]:
    check(v["fid"] is None and v["precision"] is None, "summary.json named metric room")
    check(0 <= v["saturation"] <= 1 and 0 <= v["mean"]["r"] <= 255, "summary stats range")
    check(v["diversity"] is not None and v["diversity"] >= 0, "diversity")
check(rgb(os.path.join(out, "summary.png")).size == (640, 400), "summary.png")

# ---- interpolate
out = os.path.join(T, "interp")
c.run("interpolate", "--model", "testcard", "--from", "1:5", "--to", "3:9", "--steps", 6,
      "--out", out)
m = common(out, 6)
check([r["class_alpha"] for r in m] == [0, 0.2, 0.4, 0.6, 0.8, 1] or
      all(abs(r["class_alpha"] - r["index"] / 5) < 1e-6 for r in m), "interp alphas")
check(all(r["class"] == 1 and r["class_b"] == 3 and r["seed"] == 5 and r["seed_b"] == 9
          for r in m), "interp endpoints")
check(rgb(os.path.join(out, "strip.png")).size == (6 * (RES + 2) + 2, RES + 4), "strip.png")
for r in m:
    check(os.path.isfile(os.path.join(out, r["file"])), "frame " + r["file"])

c.stop()
if failures:
    print("%d check(s) failed" % len(failures))
    sys.exit(1)
print("ok: every kind and format end to end")
