"""CIFAR-10 loader shared by ops/train and ops/eval.

The data set lives OUTSIDE the repo at $GANQ_SHARED/datasets/cifar10/{train,test}.tar.gz
(default ../shared relative to the repo root): 32x32 JPEGs in one folder per class.
It is decoded once into uint8 arrays cached as .npy under ops/train/runs/cache/ (git-ignored),
never copied into the repository. Labels are the class folder names sorted alphabetically,
which is exactly the usual CIFAR-10 order (airplane=0 ... truck=9).
"""
import io
import os
import tarfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
CACHE = os.path.join(HERE, "runs", "cache")
CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
           "dog", "frog", "horse", "ship", "truck"]


def shared_dir():
    return os.environ.get("GANQ_SHARED", os.path.join(ROOT, "..", "shared"))


def load(split):
    """Return (x uint8 [N,32,32,3], y int64 [N]) for split 'train' or 'test'."""
    if split not in ("train", "test"):
        raise ValueError("split must be 'train' or 'test', got %r" % (split,))
    xp = os.path.join(CACHE, "cifar10_%s_x.npy" % split)
    yp = os.path.join(CACHE, "cifar10_%s_y.npy" % split)
    if os.path.exists(xp) and os.path.exists(yp):
        return np.load(xp), np.load(yp)
    from PIL import Image
    src = os.path.join(shared_dir(), "datasets", "cifar10", split + ".tar.gz")
    if not os.path.exists(src):
        raise FileNotFoundError("CIFAR-10 archive not found: %s (set GANQ_SHARED)" % src)
    xs, ys = [], []
    with tarfile.open(src, "r:gz") as tf:
        for m in tf:
            if not m.isfile() or not m.name.lower().endswith((".jpg", ".jpeg", ".png")):
                continue
            parts = m.name.split("/")
            cls = parts[-2]
            if cls not in CLASSES:
                raise ValueError("unknown class folder %r in %s" % (cls, src))
            img = Image.open(io.BytesIO(tf.extractfile(m).read())).convert("RGB")
            if img.size != (32, 32):
                raise ValueError("%s: image is %dx%d, expected 32x32" % ((m.name,) + img.size))
            xs.append(np.asarray(img, dtype=np.uint8))
            ys.append(CLASSES.index(cls))
    x = np.stack(xs)
    y = np.asarray(ys, dtype=np.int64)
    os.makedirs(CACHE, exist_ok=True)
    np.save(xp + ".tmp.npy", x)
    np.save(yp + ".tmp.npy", y)
    os.replace(xp + ".tmp.npy", xp)
    os.replace(yp + ".tmp.npy", yp)
    return x, y


if __name__ == "__main__":
    for s in ("train", "test"):
        x, y = load(s)
        print(s, x.shape, np.bincount(y, minlength=10).tolist())
