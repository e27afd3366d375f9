#!/usr/bin/python3
"""make_checkpoint.py: random checkpoints in the published BigGAN layouts, for tests.

No published weights are available offline, so ganq tests run on random weights saved
exactly as the public checkpoints are:
- biggan-deep: DIR/pytorch_model.bin (torch.save of the state dict; legacy pre-1.6 pickle by
  default, or zip) + DIR/config.json, as pytorch-pretrained-BigGAN ships them. By default
  some tensors are non-contiguous views (TF-layout strides, as HF's TF-converted weights
  are) and some start at a storage offset, so loaders must honour size/stride/offset.
- biggan: G_ema.pth (state dict of BigGAN-PyTorch's Generator, TF Hub port presets or
  cifar32).

The values are chosen so that parity checks mean something:
- SN vectors are consistent: u, v (HF) or u0 (BR) come from several real power iterations on
  the stored weight, so sigma is close to the top singular value.
- Standing statistics are calibrated: a forward pass with batch statistics measures each
  BN's input mean/var (deep: all rows at t=0.3, then rows 25..50 again at t=0.9), and every
  stored row is that measurement perturbed independently per row and channel (means by
  ~0.3 std, vars by a factor exp(0.3 N(0,1))). So activations stay
  O(1), tanh is not saturated, and a wrong row or a wrong interpolation direction moves the
  output far beyond the 1e-4 tolerance.
- Every 8th output channel of each layer is ~20x smaller than the rest (variance ~1e-3), so
  a wrong BN eps is visible too.
- Attention gamma is non-zero, class embeddings are O(1), biases are small but non-zero.

Usage:
  make_checkpoint.py --family biggan-deep --resolution 128 [--ch 128] --out DIR
                     [--format legacy|zip] [--contiguous] [--seed N]
  make_checkpoint.py --family biggan --preset 128|256|512|cifar32 [--ch N] --out G_ema.pth
                     [--format legacy|zip] [--seed N]
"""
import argparse
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import biggan_ref as R  # noqa: E402


def _normalize(x):
    return x / x.norm().clamp_min(1e-12)


def _random_weight(shape, gen):
    """N(0, 1/fan_in), with every output row r = 7 (mod 8) scaled by 0.05: those channels
    carry activations of variance ~1e-3, where the BN eps (1e-4 vs 1e-5) visibly matters."""
    w = torch.randn(shape, generator=gen) / math.sqrt(int(math.prod(shape[1:])))
    if shape[0] >= 8:
        w[7::8] *= 0.05
    return w


def _fill_hf_sn(m, gen):
    w = m.weight_orig
    w.copy_(_random_weight(w.shape, gen))
    wm = w.reshape(w.shape[0], -1)
    u = _normalize(torch.randn(wm.shape[0], generator=gen))
    for _ in range(6):
        v = _normalize(wm.t() @ u)
        u = _normalize(wm @ v)
    m.weight_u.copy_(u)
    m.weight_v.copy_(v)
    if m.bias is not None:
        m.bias.copy_(0.05 * torch.randn(m.bias.shape, generator=gen))


def _fill_br_sn(m, gen):
    w = m.weight
    w.copy_(_random_weight(w.shape, gen))
    wm = w.reshape(w.shape[0], -1)
    u = _normalize(torch.randn(wm.shape[0], generator=gen))
    for _ in range(6):
        v = _normalize(wm.t() @ u)
        u = _normalize(wm @ v)
    m.u0.copy_(u.view(1, -1))
    m.sv0.copy_(torch.dot(u, wm @ v).view(1))
    if m.bias is not None:
        m.bias.copy_(0.05 * torch.randn(m.bias.shape, generator=gen))


def _batch_stats(x):
    xd = x.double()
    return xd.mean(dim=(0, 2, 3)), xd.var(dim=(0, 2, 3), unbiased=False)


def _calibrate_deep(gen, lo=0):
    """Rows lo..n-1 of the standing stats from this pass's batch statistics."""
    def fn(bn, x):
        m, v = _batch_stats(x)
        n, c = bn.running_means.shape
        s = v.sqrt()
        k = n - lo
        bn.running_means[lo:] = (m + 0.3 * s * torch.randn(k, c, generator=gen,
                                                           dtype=torch.float64)).float()
        bn.running_vars[lo:] = (v * torch.exp(0.3 * torch.randn(k, c, generator=gen,
                                                                dtype=torch.float64))).float()
        bn.calibrate = None
    return fn


def _calibrate_br(gen):
    def fn(bn, x):
        m, v = _batch_stats(x)
        c = m.shape[0]
        bn.stored_mean.copy_((m + 0.2 * v.sqrt() * torch.randn(c, generator=gen,
                                                              dtype=torch.float64)).float())
        bn.stored_var.copy_((v * torch.exp(0.2 * torch.randn(c, generator=gen,
                                                             dtype=torch.float64))).float())
        bn.calibrate = None
    return fn


def truncated_normal(gen, shape, lo=-2.0, hi=2.0):
    """Standard normal truncated to [lo, hi] by rejection, float32."""
    out = torch.randn(shape, generator=gen)
    bad = (out < lo) | (out > hi)
    while bad.any():
        out[bad] = torch.randn(int(bad.sum()), generator=gen)
        bad = (out < lo) | (out > hi)
    return out


@torch.no_grad()
def make_model(family, cfg, seed=0, calib_batch=2):
    """A reference model with random weights as described in the module comment."""
    gen = torch.Generator().manual_seed(seed)
    model = R.build(family, cfg)
    for m in model.modules():
        if isinstance(m, R._HFSN):
            _fill_hf_sn(m, gen)
        elif isinstance(m, R._BRSN):
            _fill_br_sn(m, gen)
        elif isinstance(m, (R.DeepSelfAttn, R.BRAttention)):
            m.gamma.fill_(0.3 + 0.5 * float(torch.rand(1, generator=gen)))
        elif isinstance(m, R.DeepBatchNorm):
            m.calibrate = _calibrate_deep(gen)
            if not m.conditional:
                # output BN gain < 1 keeps conv_to_rgb's pre-tanh values mostly in (-2, 2)
                m.weight.copy_(0.3 * (1 + 0.1 * torch.randn(m.weight.shape, generator=gen)))
                m.bias.copy_(0.05 * torch.randn(m.bias.shape, generator=gen))
        elif isinstance(m, (R.BRccbn,)):
            m.calibrate = _calibrate_br(gen)
        elif isinstance(m, R.BRbn):
            m.calibrate = _calibrate_br(gen)
            m.gain.copy_(0.6 * (1 + 0.1 * torch.randn(m.gain.shape, generator=gen)))
            m.bias.copy_(0.05 * torch.randn(m.bias.shape, generator=gen))
    if family == "biggan-deep":
        model.embeddings.weight.copy_(0.5 * torch.randn(model.embeddings.weight.shape,
                                                        generator=gen))
        passes = [(0.3, None), (0.9, cfg.n_stats // 2)]
    else:
        model.shared.weight.copy_(0.5 * torch.randn(model.shared.weight.shape, generator=gen))
        passes = [(1.0, None)]
    model.fold_sn()          # SN weights are final: compute W / sigma once for these passes
    for t, lo in passes:
        # Calibration pass: every BN stores stats from its own input (deep: all rows from a
        # pass at t=0.3, then the upper half again from a pass at t=0.9, so like real standing
        # statistics the rows follow the truncation and high t is not saturated).
        if lo is not None:
            for m in model.modules():
                if isinstance(m, R.DeepBatchNorm):
                    m.calibrate = _calibrate_deep(gen, lo)
        z = t * truncated_normal(gen, (calib_batch, cfg.z_dim))
        y = F.one_hot(torch.randint(0, cfg.num_classes, (calib_batch,), generator=gen),
                      cfg.num_classes).float()
        model(z, y, t)
    for m in model.modules():
        if isinstance(m, (R._HFSN, R._BRSN)):
            m._folded = None
    for m in model.modules():
        if getattr(m, "calibrate", None) is not None:
            raise RuntimeError("BN layer not reached by the calibration pass")
    return model


def _tf_layout(t):
    """The same values as a non-contiguous view with TF-style strides."""
    if t.dim() == 4:      # [out, in, kh, kw] viewed from [kh, kw, in, out]
        return t.permute(2, 3, 1, 0).contiguous().permute(3, 2, 0, 1)
    if t.dim() == 2:
        return t.t().contiguous().t()
    return t


def _with_offset(t, pad=3):
    buf = torch.zeros(t.numel() + pad, dtype=t.dtype)
    buf[pad:] = t.reshape(-1)
    return buf[pad:].view(t.shape)


def export_state_dict(model, contiguous=False):
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if not contiguous:
        for i, k in enumerate(list(sd)):
            if k.endswith("weight_orig") or (k.endswith(".weight") and sd[k].dim() in (2, 4)):
                sd[k] = _tf_layout(sd[k])
            elif k.endswith(".bias") and i % 3 == 0:
                sd[k] = _with_offset(sd[k])
    return sd


def save(sd, path, fmt):
    if fmt not in ("legacy", "zip"):
        raise ValueError("format %r: allowed legacy, zip" % (fmt,))
    torch.save(sd, path, _use_new_zipfile_serialization=(fmt == "zip"))


def write_hf(model, outdir, fmt="legacy", contiguous=False):
    os.makedirs(outdir, exist_ok=True)
    save(export_state_dict(model, contiguous), os.path.join(outdir, "pytorch_model.bin"), fmt)
    with open(os.path.join(outdir, "config.json"), "w") as f:
        json.dump(model.cfg.hf_json(), f, indent=2)
        f.write("\n")


def write_br(model, path, fmt="legacy", contiguous=False):
    save(export_state_dict(model, contiguous), path, fmt)


def main(argv=None):
    ap = argparse.ArgumentParser(description="random BigGAN checkpoints in published layouts")
    ap.add_argument("--family", required=True, choices=["biggan-deep", "biggan"])
    ap.add_argument("--resolution", type=int, default=128, help="biggan-deep: 128|256|512")
    ap.add_argument("--preset", default="128", help="biggan: 128|256|512|cifar32")
    ap.add_argument("--ch", type=int, default=None, help="channel width (narrow test models)")
    ap.add_argument("--out", required=True, help="biggan-deep: directory; biggan: G_ema.pth")
    ap.add_argument("--format", default="legacy", choices=["legacy", "zip"])
    ap.add_argument("--contiguous", action="store_true", help="no strided/offset views")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    if a.family == "biggan-deep":
        cfg = R.DeepConfig(resolution=a.resolution, ch=a.ch or 128)
        write_hf(make_model(a.family, cfg, a.seed), a.out, a.format, a.contiguous)
    else:
        cfg = R.BRConfig.preset(a.preset, a.ch)
        write_br(make_model(a.family, cfg, a.seed), a.out, a.format, a.contiguous)
    return 0


if __name__ == "__main__":
    sys.exit(main())
