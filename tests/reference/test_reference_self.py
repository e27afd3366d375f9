#!/usr/bin/python3
"""test_reference_self.py: the PyTorch reference (ops/reference) against the facts of
shared/docs/biggan-reference.md, and the random checkpoints against triviality.

Runs always (no engine needed):
1. key counts 506/602/698 and parameter counts 50,388,609 / 55,880,833 / 56,163,905 for
   BigGAN-deep 128/256/512; BigGAN TF Hub presets 70.43M / 82.10M / 82.30M parameters.
2. standing-stat selection at the doc's float-noise truncations: 0.14 -> S[8], 0.28 -> S[15],
   0.56 -> S[29], 0.58 -> S[28], 0.94 -> S[46], 1.0 -> S[50], float32(0.4) -> ~S[21], and the
   mirrored weights at 0.734.
3. HF SN in the reference equals torch.nn.utils.spectral_norm in eval mode.
4. traps are observable on the random checkpoints (so the parity tests can fail): ordinary
   instead of mirrored interpolation, a neighbouring stats row, BR's SN eps, dropping
   attention (gamma = 0), a wrong BN eps, or the NCHW reshape in place of HF's NHWC-then-permute each move
   the output by far more than 1e-4; while t = 0.14 and t = 0.16 (same row S[8]) agree.
"""
import math
import sys

import numpy as np
import torch

import refcommon as C

R, MC = C.R, C.MC
fails = []


def check(cond, what):
    C.log("%s %s" % ("ok  " if cond else "FAIL", what))
    if not cond:
        fails.append(what)


def main():
    # 1. structure
    for res, keys, params in ((128, 506, 50388609), (256, 602, 55880833), (512, 698, 56163905)):
        m = R.build("biggan-deep", R.DeepConfig(resolution=res))
        n = sum(p.numel() for p in m.parameters())
        check(len(m.state_dict()) == keys and n == params,
              "deep-%d: %d keys (doc %d), %d params (doc %d)"
              % (res, len(m.state_dict()), keys, n, params))
        del m
    for preset, params in (("128", 70.43e6), ("256", 82.10e6), ("512", 82.30e6)):
        m = R.build("biggan", R.BRConfig.preset(preset))
        n = sum(p.numel() for p in m.parameters())
        check(abs(n - params) < 0.006e6, "biggan-%s: %d params (doc %.2fM)" % (preset, n, params / 1e6))
        del m
    cfg = R.BRConfig.preset("cifar32")
    check(cfg.z_chunk == 32 and cfg.z_dim == 128 and cfg.num_slots == 4, "cifar32 z chunks of 32")
    cfg = R.BRConfig.preset("256")
    check(cfg.z_chunk == 20 and cfg.z_dim == 140 and cfg.attn_res == 128, "biggan-256 chunks of 20")

    # 2. stats selection
    S = torch.arange(51, dtype=torch.float32).view(51, 1).repeat(1, 4)
    for t, row in ((0.14, 8), (0.28, 15), (0.56, 29), (0.58, 28), (0.94, 46), (1.0, 50),
                   (0.16, 8), (0.02, 1)):
        m, v = R.deep_stats_select(S, S, t, 51)
        check(float((m - row).abs().max()) < 1e-5 and float((v - row).abs().max()) < 1e-5,
              "t=%r selects S[%d] (got %.7f)" % (t, row, float(m[0])))
    m, _ = R.deep_stats_select(S, S, float(np.float32(0.4)), 51)
    check(abs(float(m[0]) - 21) < 1e-4, "float32(0.4) lands near S[21] (got %.7f)" % float(m[0]))
    f, i = math.modf(0.734 / 0.02)
    m, _ = R.deep_stats_select(S, S, 0.734, 51)
    check(int(i) == 36 and abs(float(m[0]) - (f * 36 + (1 - f) * 37)) < 1e-5,
          "t=0.734: mirrored weights f*S[36] + (1-f)*S[37] (got %.5f)" % float(m[0]))

    # 3. HF SN vs torch spectral_norm
    g = torch.Generator().manual_seed(0)
    conv = torch.nn.utils.spectral_norm(torch.nn.Conv2d(6, 5, 3, padding=1), eps=1e-4)
    ours = R.HFSNConv2d(6, 5, 3)
    with torch.no_grad():
        for name in ("weight_orig", "bias"):
            getattr(ours, name).copy_(getattr(conv, name))
        MC._fill_hf_sn(ours, g)
        conv.weight_orig.copy_(ours.weight_orig)
        conv.bias.copy_(ours.bias)
        conv.weight_u.copy_(ours.weight_u)
        conv.weight_v.copy_(ours.weight_v)
        conv.eval()
        x = torch.randn(2, 6, 5, 5, generator=g)
        d = float((conv(x) - ours(x)).abs().max())
    check(d == 0.0, "HF SN conv equals torch spectral_norm eval (diff %g)" % d)

    # 4. traps observable on a narrow model
    dcfg = R.DeepConfig(resolution=128, ch=16)
    dm = MC.make_model("biggan-deep", dcfg, seed=7)
    rng = np.random.default_rng(7)
    z = C.truncated_z(rng, 2, 128, 0.734)
    base = C.reference(dm, z, 0.734, class_ids=[1, 2])

    orig = R.deep_stats_select

    def ordinary(means, vars_, t, n):
        f, i = math.modf(t * (n - 1))
        i = int(i)
        if f == 0.0:
            return means[i], vars_[i]
        return means[i] * (1 - f) + means[i + 1] * f, vars_[i] * (1 - f) + vars_[i + 1] * f

    R.deep_stats_select = ordinary
    try:
        alt = C.reference(dm, z, 0.734, class_ids=[1, 2])
    finally:
        R.deep_stats_select = orig
    check(np.abs(alt - base).max() > 1e-2, "ordinary interpolation moves the output by %.3g"
          % np.abs(alt - base).max())
    z2 = C.truncated_z(rng, 2, 128, 0.14)
    a = C.reference(dm, z2, 0.14, class_ids=[1, 2])
    b = C.reference(dm, z2, 0.16, class_ids=[1, 2])
    c = C.reference(dm, z2, 0.12, class_ids=[1, 2])
    check(np.abs(a - b).max() < 1e-6, "t=0.14 and t=0.16 with the same z agree (both S[8]): %.3g"
          % np.abs(a - b).max())
    check(np.abs(a - c).max() > 1e-2, "neighbouring row S[6] moves the output by %.3g"
          % np.abs(a - c).max())
    with torch.no_grad():
        attn = dm.generator.layers[8]
        gsave = attn.gamma.clone()
        attn.gamma.zero_()
        alt = C.reference(dm, z, 0.734, class_ids=[1, 2])
        attn.gamma.copy_(gsave)
    check(np.abs(alt - base).max() > 1e-2, "attention matters: gamma=0 moves the output by %.3g"
          % np.abs(alt - base).max())
    bns = [m for m in dm.modules() if isinstance(m, R.DeepBatchNorm)]
    for m in bns:
        m.eps = 1e-5
    alt = C.reference(dm, z, 0.734, class_ids=[1, 2])
    for m in bns:
        m.eps = 1e-4
    check(np.abs(alt - base).max() > 1e-3, "deep BN eps 1e-5 instead of 1e-4 moves the output "
          "by %.3g" % np.abs(alt - base).max())
    gz = dm.generator

    def nchw_forward(cond, t):
        x = gz.gen_z(cond).view(-1, 16 * gz.ch, 4, 4)
        for layer in gz.layers:
            x = layer(x, cond, t) if isinstance(layer, R.DeepGenBlock) else layer(x)
        return torch.tanh(gz.conv_to_rgb(torch.relu(gz.bn(x, t)))[:, :3])

    saved = gz.forward
    gz.forward = nchw_forward
    try:
        alt = C.reference(dm, z, 0.734, class_ids=[1, 2])
    finally:
        gz.forward = saved
    check(np.abs(alt - base).max() > 1e-2, "NCHW reshape of gen_z moves the output by %.3g"
          % np.abs(alt - base).max())

    bcfg = R.BRConfig.preset("cifar32")
    bm = MC.make_model("biggan", bcfg, seed=8)
    zb = C.truncated_z(rng, 2, bcfg.z_dim, 1.0)
    base = C.reference(bm, zb, 1.0, class_ids=[3, 4])
    check(base.std() > 0.1 and (np.abs(base) > 0.999).mean() < 0.2,
          "cifar32 output not degenerate (std %.3f)" % base.std())
    swapped = R.BigGAN.forward

    def emb_last(self, z, y, truncation=1.0):
        e = self.embed(y)
        zs = torch.split(z, self.cfg.z_chunk, 1)
        ys = [torch.cat([item, e], 1) for item in zs[1:]]
        h = self.linear(zs[0]).view(z.shape[0], -1, 4, 4)
        for i, bl in enumerate(self.blocks):
            for mod in bl:
                h = mod(h, ys[i])
        return torch.tanh(self.output_layer(h))

    R.BigGAN.forward = emb_last
    try:
        alt = C.reference(bm, zb, 1.0, class_ids=[3, 4])
    finally:
        R.BigGAN.forward = swapped
    check(np.abs(alt - base).max() > 1e-2, "BR cond order [z, embed] instead of [embed, z] "
          "moves the output by %.3g" % np.abs(alt - base).max())
    bn = bm.output_layer[0]
    bn.eps = 1e-4
    alt = C.reference(bm, zb, 1.0, class_ids=[3, 4])
    bn.eps = 1e-5
    check(np.abs(alt - base).max() > 1e-4, "output BN eps 1e-4 instead of 1e-5 moves the output "
          "by %.3g" % np.abs(alt - base).max())

    C.log("test_reference_self: %d failures" % len(fails))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
