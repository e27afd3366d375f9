"""The CIFAR-10 classifier used by ops/eval: a small VGG-style CNN (6 conv3+BN+ReLU layers,
16/16/32/32/64/64 channels, ~0.07M parameters), cheap enough to train on a shared CPU in
minutes (it had to be: the 2-core machine ran at load 10+ during this work). It serves three purposes in evaluate.py:
  - class fidelity: its accuracy on generated images against their conditioning labels;
  - the "classifier Frechet distance": Frechet distance between Gaussians fitted to its
    penultimate features (64-d, after global average pooling) of generated and real test
    images. This is NOT FID (no Inception network); numbers are not comparable to FIDs;
  - CAS (classification accuracy score): the same architecture and schedule trained on
    generated images, tested on the real test set.

  /usr/bin/python3 ops/eval/classifier.py [--epochs N]   # trains on real CIFAR-10 train,
      writes ops/eval/cache/classifier.pt and classifier.json (test accuracy, settings)
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "train"))
import cifar  # noqa: E402

CACHE = os.path.join(HERE, "cache")
WIDTH = 16          # channels of the first stage; stages are WIDTH, 2 WIDTH, 4 WIDTH
FEAT_DIM = 4 * WIDTH


def _cbr(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            *_cbr(3, WIDTH), *_cbr(WIDTH, WIDTH), nn.MaxPool2d(2),
            *_cbr(WIDTH, 2 * WIDTH), *_cbr(2 * WIDTH, 2 * WIDTH), nn.MaxPool2d(2),
            *_cbr(2 * WIDTH, 4 * WIDTH), *_cbr(4 * WIDTH, FEAT_DIM),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(FEAT_DIM, 10)

    def features(self, x):
        return self.body(x)

    def forward(self, x):
        return self.fc(self.body(x))


def to_tensor(x_uint8):
    """uint8 NHWC numpy -> float NCHW in [-1,1] (same scale as the generator's output)."""
    return torch.from_numpy(x_uint8).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)


def _augment(x):
    # random horizontal flip + random crop with 4 px zero... reflection padding
    B = x.size(0)
    flip = torch.rand(B) < 0.5
    x = torch.where(flip.view(B, 1, 1, 1), x.flip(3), x)
    xp = F.pad(x, [4, 4, 4, 4], mode="reflect")
    i, j = np.random.randint(0, 9, size=2)
    return xp[:, :, i:i + 32, j:j + 32]


def train(x, y, epochs, batch=128, lr=0.05, seed=0, log=print):
    """Train a fresh Net on uint8 NHWC images x with labels y; returns the net (eval mode).
    One-cycle SGD (momentum 0.9, nesterov, wd 5e-4), flips + crops."""
    torch.manual_seed(seed)
    rs = np.random.RandomState(seed)
    batch = min(batch, len(x))
    net = Net()
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, nesterov=True,
                          weight_decay=5e-4)
    steps = epochs * (len(x) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(steps, 1),
                                                pct_start=0.25)
    net.train()
    t0 = time.time()
    for ep in range(epochs):
        perm = rs.permutation(len(x))
        tot, correct, n = 0.0, 0, 0
        for k in range(len(x) // batch):
            idx = perm[k * batch:(k + 1) * batch]
            xb = _augment(to_tensor(x[idx]))
            yb = torch.from_numpy(np.asarray(y[idx], dtype=np.int64))
            out = net(xb)
            loss = F.cross_entropy(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(idx)
            correct += (out.argmax(1) == yb).sum().item()
            n += len(idx)
        log("epoch %d/%d  loss %.3f  train acc %.3f  (%.0f s)"
            % (ep + 1, epochs, tot / n, correct / n, time.time() - t0))
    net.eval()
    return net


@torch.no_grad()
def predict(net, x_uint8, batch=500):
    """Returns (logits-argmax int64 [N], features float64 [N, FEAT_DIM])."""
    preds, feats = [], []
    for k in range(0, len(x_uint8), batch):
        f = net.features(to_tensor(x_uint8[k:k + batch]))
        preds.append(net.fc(f).argmax(1).numpy())
        feats.append(f.double().numpy())
    return np.concatenate(preds), np.concatenate(feats)


def load_real(path=None):
    path = path or os.path.join(CACHE, "classifier.pt")
    if not os.path.exists(path):
        raise FileNotFoundError("%s missing: train it with ops/eval/classifier.py" % path)
    net = Net()
    net.load_state_dict(torch.load(path))
    net.eval()
    return net


def main():
    p = argparse.ArgumentParser(description="train the real-data CIFAR-10 classifier")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=CACHE)
    a = p.parse_args()
    if a.epochs < 1:
        p.error("--epochs must be >= 1")
    torch.set_num_threads(a.threads)
    xtr, ytr = cifar.load("train")
    xte, yte = cifar.load("test")
    t0 = time.time()
    net = train(xtr, ytr, a.epochs, log=lambda s: print(s, flush=True))
    secs = time.time() - t0
    pred, _ = predict(net, xte)
    acc = float((pred == yte).mean())
    os.makedirs(a.out, exist_ok=True)
    torch.save(net.state_dict(), os.path.join(a.out, "classifier.pt"))
    info = {"test_accuracy": acc, "epochs": a.epochs, "train_images": int(len(xtr)),
            "train_seconds": round(secs, 1), "threads": a.threads, "device": "cpu",
            "arch": "VGG-style 6x conv3 (%d,%d,%d,%d,%d,%d) + BN, GAP, linear"
            % (WIDTH, WIDTH, 2 * WIDTH, 2 * WIDTH, 4 * WIDTH, 4 * WIDTH)}
    with open(os.path.join(a.out, "classifier.json"), "w") as f:
        json.dump(info, f, indent=2)
    print("test accuracy %.4f  (%.0f s)" % (acc, secs))


if __name__ == "__main__":
    main()
