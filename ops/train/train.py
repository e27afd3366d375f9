"""Resumable CPU training recipe for ganq's demo model: BigGAN (BR 32x32 layout) on CIFAR-10.

  /usr/bin/python3 ops/train/train.py --minutes 30            # train (or resume) 30 minutes
  /usr/bin/python3 ops/train/train.py --minutes 0 --export    # write G_ema.pth + provenance

Everything lives in --run-dir (default ops/train/runs/main, git-ignored):
  state.pt         resume state: G, D, G_ema, both Adam states, step, RNG states, compute used
                   (written atomically every --ckpt-min minutes and at the end of the call)
  G_ema.pth        BR-layout G_ema state dict with standing BN statistics (from --export),
                   for ops/convert-weights --from biggan --preset cifar32 (--ch if ch != 64)
  provenance.json  device, wall minutes, iterations, batch size, hyper-parameters
Model: hierarchical z (dim_z 128, 4 chunks of 32), shared embedding (128), conditional BN
with SN linears, SN everywhere (BR u0/sv0 buffers), hinge loss, G_ema, DiffAugment
(colour, translation, cutout) on real and fake batches, projection discriminator.
Hyper-parameters differ from BR's CIFAR script (ch 64, 4 D steps, batch 50) because of the
CPU budget: see ops/train/README.md. The option values of the FIRST call are stored in
state.pt and win on resume (changing them mid-run would make the provenance lie).
"""
import argparse
import json
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import biggan32  # noqa: E402
import cifar  # noqa: E402
from diffaug import diff_augment  # noqa: E402

HPARAMS = ("ch", "batch", "d_steps", "lr_g", "lr_d", "ema_decay", "ema_start", "seed", "d_act")


def parse():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--minutes", type=float, default=10.0, help="training time this call")
    p.add_argument("--run-dir", default=os.path.join(HERE, "runs", "main"))
    p.add_argument("--ch", type=int, default=16, help="width (BR cifar config uses 64)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--d-steps", type=int, default=1)
    p.add_argument("--lr-g", type=float, default=2e-4)
    p.add_argument("--lr-d", type=float, default=4e-4)
    p.add_argument("--d-act", choices=("relu", "lrelu"), default="relu",
                   help="D's activation: BR's relu (default) or leaky relu 0.2 (see README)")
    p.add_argument("--ema-decay", type=float, default=0.999)
    p.add_argument("--ema-start", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-steps", type=int, default=0,
                   help="also stop once the run's total step count reaches this (0: no limit)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--ckpt-min", type=float, default=5.0, help="checkpoint period, minutes")
    p.add_argument("--export", action="store_true", help="write G_ema.pth + provenance")
    p.add_argument("--standing", type=int, default=64, help="standing-stat batches at export")
    p.add_argument("--reset-d", action="store_true",
                   help="on resume: a fresh D and D optimiser, with this call's --d-act, --lr-d, "
                        "--d-steps and --lr-g (recorded in the state and the provenance)")
    p.add_argument("--retune-d", action="store_true",
                   help="on resume: keep D's trained weights but switch to this call's "
                        "--d-act, --lr-d, --d-steps and --lr-g, with a fresh D optimiser "
                        "(recorded like --reset-d)")
    p.add_argument("--d-warmup", type=int, default=0,
                   help="D-only steps (G frozen) at the start of this call, so that a fresh or "
                        "retuned D is calibrated before G follows its gradient")
    a = p.parse_args()
    if a.minutes < 0 or a.ch < 1 or a.batch < 2 or a.d_steps < 1 or not 0 <= a.ema_decay < 1 \
            or a.d_warmup < 0:
        p.error("need minutes >= 0, ch >= 1, batch >= 2, d-steps >= 1, 0 <= ema-decay < 1, "
                "d-warmup >= 0")
    if a.reset_d and a.retune_d:
        p.error("--reset-d and --retune-d: choose one (fresh D weights, or keep them)")
    return a


def build_d(h):
    D = biggan32.Discriminator(ch=h["ch"], act=h.get("d_act", "relu"))
    oD = torch.optim.Adam(D.parameters(), lr=h["lr_d"], betas=(0.0, 0.999), eps=1e-6)
    return D, oD


def build(h):
    G = biggan32.Generator(ch=h["ch"])
    D, oD = build_d(h)
    G_ema = biggan32.Generator(ch=h["ch"])
    G_ema.load_state_dict(G.state_dict())
    for q in G_ema.parameters():
        q.requires_grad_(False)
    oG = torch.optim.Adam(G.parameters(), lr=h["lr_g"], betas=(0.0, 0.999), eps=1e-6)
    return G, D, G_ema, oG, oD


def save_state(path, G, D, G_ema, oG, oD, st):
    st = dict(st)
    st.update(G=G.state_dict(), D=D.state_dict(), G_ema=G_ema.state_dict(),
              oG=oG.state_dict(), oD=oD.state_dict(),
              rng_torch=torch.get_rng_state(), rng_np=np.random.get_state(),
              rng_py=random.getstate())
    torch.save(st, path + ".tmp")
    os.replace(path + ".tmp", path)


def ema_update(G_ema, G, decay):
    # BR's ema: every state-dict entry, buffers (u0, sv0, stored stats) included.
    with torch.no_grad():
        src = G.state_dict()
        for k, v in G_ema.state_dict().items():
            v.copy_(v * decay + src[k] * (1 - decay))


def standing_stats(G, n_batches, batch, gen):
    """Replace stored BN stats with the mean over n_batches of batch statistics of
    untruncated samples (BR's 'standing stats'); G is left in eval mode."""
    bns = [m for m in G.modules() if isinstance(m, (biggan32.ccbn, biggan32.bn))]
    for m in bns:
        m.stored_mean.zero_()
        m.stored_var.fill_(1.0)
    G.train()
    with torch.no_grad():
        for k in range(n_batches):
            for m in bns:
                m.momentum = 1.0 / (k + 1)  # cumulative mean
            z = torch.randn(batch, G.dim_z, generator=gen)
            y = torch.randint(0, G.n_classes, (batch,), generator=gen)
            G.sample(z, y)
    for m in bns:
        m.momentum = 0.1
    G.eval()


def main():
    a = parse()
    torch.set_num_threads(a.threads)
    os.makedirs(a.run_dir, exist_ok=True)
    sp = os.path.join(a.run_dir, "state.pt")
    if os.path.exists(sp):
        st = torch.load(sp)
        h = st["hparams"]
        G, D, G_ema, oG, oD = build(h)
        G.load_state_dict(st["G"]); D.load_state_dict(st["D"])
        G_ema.load_state_dict(st["G_ema"])
        oG.load_state_dict(st["oG"]); oD.load_state_dict(st["oD"])
        torch.set_rng_state(st["rng_torch"]); np.random.set_state(st["rng_np"])
        random.setstate(st["rng_py"])
        meta = {k: st[k] for k in ("hparams", "step", "train_seconds", "calls", "images_d")}
        meta["threads_max"] = st.get("threads_max", 0)
        meta["d_resets"] = st.get("d_resets", [])
        meta["d_warmups"] = st.get("d_warmups", [])
        print("resumed at step %d (%.1f min trained)" % (st["step"], st["train_seconds"] / 60))
        if a.reset_d or a.retune_d:
            h = dict(h, lr_d=a.lr_d, d_steps=a.d_steps, d_act=a.d_act, lr_g=a.lr_g)
            meta["hparams"] = h
            D, oD = build_d(h)
            if a.retune_d:  # the activation holds no weights: the state's D loads as is
                D.load_state_dict(st["D"])
            for g in oG.param_groups:  # G keeps its Adam state, at this call's --lr-g
                g["lr"] = a.lr_g
            meta["d_resets"].append({"step": st["step"], "lr_d": a.lr_d, "d_steps": a.d_steps,
                                     "d_act": a.d_act, "kept_weights": a.retune_d,
                                     "lr_g": a.lr_g})
            print("%s D at step %d: lr_d %g, d_steps %d, d_act %s, lr_g %g"
                  % ("retuned" if a.retune_d else "fresh", st["step"], a.lr_d, a.d_steps,
                     a.d_act, a.lr_g))
    else:
        h = {k: getattr(a, k) for k in HPARAMS}
        torch.manual_seed(h["seed"]); np.random.seed(h["seed"]); random.seed(h["seed"])
        G, D, G_ema, oG, oD = build(h)
        meta = dict(hparams=h, step=0, train_seconds=0.0, calls=0, images_d=0, d_resets=[],
                    d_warmups=[])
        print("new run", json.dumps(h))
    meta["calls"] += 1
    if a.minutes > 0:
        meta["threads_max"] = max(meta.get("threads_max", 0), a.threads)

    x_all, y_all = cifar.load("train")
    n = len(x_all)
    B = h["batch"]

    def real_batch():
        idx = np.random.randint(0, n, size=B)
        x = torch.from_numpy(x_all[idx]).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)
        flip = torch.from_numpy(np.random.rand(B) < 0.5)
        x[flip] = x[flip].flip(3)
        return x, torch.from_numpy(y_all[idx])

    t_start = time.time()
    t_ckpt = t_start
    t_log = t_start
    base_sec = meta["train_seconds"]

    def d_step():
        xr, yr = real_batch()
        with torch.no_grad():
            z = torch.randn(B, G.dim_z)
            yf = torch.randint(0, 10, (B,))
            xf = G.sample(z, yf)
        d_real = D(diff_augment(xr), yr)
        alive = D.alive  # on the real batch
        d_fake = D(diff_augment(xf), yf)
        loss_d = F.relu(1.0 - d_real).mean() + F.relu(1.0 + d_fake).mean()
        oD.zero_grad(set_to_none=True)
        loss_d.backward()
        oD.step()
        meta["images_d"] += B
        return loss_d, d_real, d_fake, alive

    G.train(); D.train()
    if a.minutes > 0 and a.d_warmup > 0:
        for _ in range(a.d_warmup):
            loss_d, d_real, d_fake, alive = d_step()
        meta["train_seconds"] = base_sec + (time.time() - t_start)
        meta["d_warmups"].append({"step": meta["step"], "d_steps": a.d_warmup})
        print("D warm-up: %d D-only steps, loss_d %.3f  d_real %.2f  d_fake %.2f  d_alive %.3f"
              % (a.d_warmup, loss_d.item(), d_real.mean().item(), d_fake.mean().item(),
                 alive.item()), flush=True)
    while a.minutes > 0 and time.time() - t_start < a.minutes * 60 and \
            not (a.max_steps > 0 and meta["step"] >= a.max_steps):
        for _ in range(h["d_steps"]):
            loss_d, d_real, d_fake, alive = d_step()
        z = torch.randn(B, G.dim_z)
        yf = torch.randint(0, 10, (B,))
        loss_g = -D(diff_augment(G.sample(z, yf)), yf).mean()
        oG.zero_grad(set_to_none=True)
        loss_g.backward()
        oG.step()
        meta["step"] += 1
        s = meta["step"]
        ema_update(G_ema, G, h["ema_decay"] if s >= h["ema_start"] else 0.0)
        now = time.time()
        meta["train_seconds"] = base_sec + (now - t_start)
        if now - t_log > 60:
            t_log = now
            print("step %d  %.1f min  loss_d %.3f  loss_g %.3f  d_real %.2f  d_fake %.2f"
                  "  d_alive %.3f" % (s, meta["train_seconds"] / 60, loss_d.item(),
                                      loss_g.item(), d_real.mean().item(),
                                      d_fake.mean().item(), alive.item()), flush=True)
        if now - t_ckpt > a.ckpt_min * 60:
            t_ckpt = now
            save_state(sp, G, D, G_ema, oG, oD, meta)
            print("checkpoint at step %d" % s, flush=True)
    save_state(sp, G, D, G_ema, oG, oD, meta)
    print("saved %s at step %d (%.1f min trained in %d calls)"
          % (sp, meta["step"], meta["train_seconds"] / 60, meta["calls"]), flush=True)

    if a.export:
        gen = torch.Generator().manual_seed(1234)
        standing_stats(G_ema, a.standing, 64, gen)
        torch.save(G_ema.state_dict(), os.path.join(a.run_dir, "G_ema.pth"))
        prov = {
            "model": "BigGAN (BigGAN-PyTorch layout) 32x32, CIFAR-10, G_ema",
            "arch": {"ch": h["ch"], "dim_z": G_ema.dim_z, "z_chunk": G_ema.z_chunk,
                     "shared_dim": G_ema.shared_dim, "n_classes": 10, "hier": True,
                     "attention": None, "bn_eps": 1e-5, "sn_eps": 1e-8},
            "compute": {"device": "cpu", "threads": meta.get("threads_max") or "unknown",
                        "train_minutes": round(meta["train_seconds"] / 60, 1),
                        "iterations": meta["step"], "batch_size": B,
                        "d_steps_per_iteration": h["d_steps"],
                        "real_images_seen_by_D": meta["images_d"],
                        "note": "2-core machine shared with other jobs, niced"},
            "training": {"loss": "hinge", "diffaugment": "color,translation,cutout",
                         "real_hflip": True, "lr_g": h["lr_g"], "lr_d": h["lr_d"],
                         "adam_betas": [0.0, 0.999], "ema_decay": h["ema_decay"],
                         "ema_start": h["ema_start"], "seed": h["seed"],
                         "standing_stats_batches": a.standing,
                         "d_act": h.get("d_act", "relu"),
                         "d_resets": meta["d_resets"], "d_warmups": meta["d_warmups"]},
            "data": "CIFAR-10 train (50,000 images), horizontal flips",
        }
        with open(os.path.join(a.run_dir, "provenance.json"), "w") as f:
            json.dump(prov, f, indent=2)
        print("exported G_ema.pth + provenance.json to", a.run_dir)


if __name__ == "__main__":
    main()
