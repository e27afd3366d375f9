"""biggan_ref.py: ganq's PyTorch reference for BigGAN-deep (HF layout) and BigGAN (BR layout).

Written from ../shared/docs/biggan-reference.md (not copied from either repository) so that
tests can check ganq's C engine against an independent implementation of the same maths.
No published weights exist on this machine: everything here runs on random weights in the
published layouts (see make_checkpoint.py).

Two families, each a torch.nn.Module whose state_dict keys and shapes are exactly the
published checkpoint's:
- BigGANDeep(DeepConfig): pytorch-pretrained-BigGAN ("HF"); top-level `embeddings.weight`
  and `generator.*`; spectral norm stored as weight_orig / weight_u / weight_v; standing
  statistics [n_stats, C] selected per truncation with HF's mirrored interpolation (in
  double, the fractions cast to fp32, two fp32 products and a sum: no FMA).
- BigGAN(BRConfig): BigGAN-PyTorch ("BR") G_ema layout: hierarchical z, shared embedding,
  ccbn, SN buffers u0 [1, out] / sv0 [1] with BR's eval-mode power step (v = normalize(u W),
  u' = normalize(v W^T), sigma = v W^T u'^T; u is not updated in eval).

Both run in eval semantics only (stored statistics, no power-iteration updates); there is no
training mode. `fold_sn()` computes every layer's W / sigma once and caches it, so repeated
forwards (benchmarks) do not redo the SN arithmetic; the values are bit-identical to the
unfolded forward because the same ops run on the same inputs.

Parity traps (biggan-reference.md section 6) and where they are handled:
1 mirrored stats interpolation: DeepBatchNorm.stats; 2 eval mode: no train path at all;
3 eps per family/config; 4 first linear NHWC-then-permute (deep) vs NCHW (BR);
5 cond order [z, embed] (deep) vs [embed, z_chunk] (BR); 6 conv_to_rgb sliced to 3 after a
full 128-row SN; 7 nearest upsample, 2x2 max-pool, no logit scaling; 8 deep skip keeps the
first half of the channels; 9 CPU only here; 10 u8 conversion in to_uint8_hf / to_uint8_br.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

# ----------------------------------------------------------------------------- configs

# (upsample, in multiple, out multiple) per GenBlock, HF config.layers.
_DEEP_LAYERS = {
    128: [(False, 16, 16), (True, 16, 16), (False, 16, 16), (True, 16, 8), (False, 8, 8),
          (True, 8, 4), (False, 4, 4), (True, 4, 2), (False, 2, 2), (True, 2, 1)],
    256: [(False, 16, 16), (True, 16, 16), (False, 16, 16), (True, 16, 8), (False, 8, 8),
          (True, 8, 8), (False, 8, 8), (True, 8, 4), (False, 4, 4), (True, 4, 2),
          (False, 2, 2), (True, 2, 1)],
}
_DEEP_LAYERS[512] = _DEEP_LAYERS[256] + [(False, 1, 1), (True, 1, 1)]


class DeepConfig:
    """BigGAN-deep architecture (HF BigGANConfig fields). ch < 128 gives narrow test models."""

    def __init__(self, resolution=128, ch=128, z_dim=128, num_classes=1000, n_stats=51,
                 eps=1e-4, attention_layer_position=8):
        if resolution not in _DEEP_LAYERS:
            raise ValueError("biggan-deep resolution %r: allowed 128, 256, 512" % (resolution,))
        self.resolution = resolution
        self.ch = ch
        self.z_dim = z_dim
        self.num_classes = num_classes
        self.n_stats = n_stats
        self.eps = eps
        self.attention_layer_position = attention_layer_position
        self.layers = list(_DEEP_LAYERS[resolution])

    def hf_json(self):
        """config.json as pytorch-pretrained-BigGAN writes it."""
        return {"output_dim": self.resolution, "z_dim": self.z_dim,
                "class_embed_dim": self.z_dim, "channel_width": self.ch,
                "num_classes": self.num_classes,
                "layers": [list(l) for l in self.layers],
                "attention_layer_position": self.attention_layer_position,
                "eps": self.eps, "n_stats": self.n_stats}

    @classmethod
    def from_hf_json(cls, js):
        """Strict: every field must be present and the layer list the standard one."""
        need = ["output_dim", "z_dim", "class_embed_dim", "channel_width", "num_classes",
                "layers", "attention_layer_position", "eps", "n_stats"]
        for k in need:
            if k not in js:
                raise ValueError("config.json: missing field %r" % k)
        res = js["output_dim"]
        if res not in _DEEP_LAYERS:
            raise ValueError("config.json: output_dim %r: allowed 128, 256, 512" % (res,))
        if js["class_embed_dim"] != js["z_dim"]:
            raise ValueError("config.json: class_embed_dim %r must equal z_dim %r"
                             % (js["class_embed_dim"], js["z_dim"]))
        layers = [tuple(l) for l in js["layers"]]
        if layers != [tuple(l) for l in _DEEP_LAYERS[res]]:
            raise ValueError("config.json: layers differ from the standard %d-pixel list" % res)
        if js["attention_layer_position"] != 8:
            raise ValueError("config.json: attention_layer_position %r: only 8 is supported"
                             % (js["attention_layer_position"],))
        ch = js["channel_width"]
        if not isinstance(ch, int) or ch < 8 or ch % 8:
            raise ValueError("config.json: channel_width %r: a positive multiple of 8" % (ch,))
        return cls(resolution=res, ch=ch, z_dim=js["z_dim"], num_classes=js["num_classes"],
                   n_stats=js["n_stats"], eps=float(js["eps"]))

    def attn_res(self):
        r = 4
        for i, (up, _, _) in enumerate(self.layers):
            if i == self.attention_layer_position:
                return r
            if up:
                r *= 2
        return 0

    def arch_json(self):
        """ganq.arch for FORMAT.md."""
        return {"resolution": self.resolution, "ch": self.ch, "z_dim": self.z_dim,
                "num_classes": self.num_classes, "attn_res": self.attn_res(),
                "n_stats": self.n_stats, "eps": self.eps}


# BR G_arch: in/out multiples per GBlock (every block upsamples 2x).
_BR_ARCH = {
    32: ([4, 4, 4], [4, 4, 4]),
    128: ([16, 16, 8, 4, 2], [16, 8, 4, 2, 1]),
    256: ([16, 16, 8, 8, 4, 2], [16, 8, 8, 4, 2, 1]),
    512: ([16, 16, 8, 8, 4, 2, 1], [16, 8, 8, 4, 2, 1, 1]),
}

# Presets: the TF Hub ports (BR's TFHub/converter.py configs) and ganq's cifar32.
BR_PRESETS = {
    "128": dict(resolution=128, ch=96, dim_z=120, shared_dim=128, attn_res=64,
                bn_eps=1e-4, sn_eps=1e-4, output_bn_eps=1e-5, num_classes=1000),
    "256": dict(resolution=256, ch=96, dim_z=140, shared_dim=128, attn_res=128,
                bn_eps=1e-4, sn_eps=1e-4, output_bn_eps=1e-5, num_classes=1000),
    "512": dict(resolution=512, ch=96, dim_z=128, shared_dim=128, attn_res=64,
                bn_eps=1e-4, sn_eps=1e-4, output_bn_eps=1e-5, num_classes=1000),
    "cifar32": dict(resolution=32, ch=64, dim_z=128, shared_dim=128, attn_res=0,
                    bn_eps=1e-5, sn_eps=1e-8, output_bn_eps=1e-5, num_classes=10),
}


class BRConfig:
    """BigGAN (BR) architecture with hierarchical z and a shared embedding."""

    def __init__(self, resolution, ch, dim_z, shared_dim, attn_res, bn_eps, sn_eps,
                 output_bn_eps, num_classes):
        if resolution not in _BR_ARCH:
            raise ValueError("biggan resolution %r: allowed 32, 128, 256, 512" % (resolution,))
        self.resolution = resolution
        self.ch = ch
        self.in_mult, self.out_mult = _BR_ARCH[resolution]
        self.num_slots = len(self.in_mult) + 1
        self.z_chunk = dim_z // self.num_slots
        self.z_dim = self.z_chunk * self.num_slots      # BR rounds dim_z down
        self.shared_dim = shared_dim
        self.attn_res = attn_res
        self.bn_eps = bn_eps
        self.sn_eps = sn_eps
        self.output_bn_eps = output_bn_eps
        self.num_classes = num_classes
        res = [8 * 2 ** i for i in range(len(self.in_mult))]
        if attn_res and attn_res not in res:
            raise ValueError("attn_res %r is not a block output resolution %r" % (attn_res, res))
        self.block_res = res

    @classmethod
    def preset(cls, name, ch=None):
        if name not in BR_PRESETS:
            raise ValueError("preset %r: allowed %s" % (name, ", ".join(BR_PRESETS)))
        p = dict(BR_PRESETS[name])
        if ch is not None:
            p["ch"] = ch
        return cls(**p)

    def arch_json(self):
        return {"resolution": self.resolution, "ch": self.ch, "z_dim": self.z_dim,
                "num_classes": self.num_classes, "attn_res": self.attn_res,
                "shared_dim": self.shared_dim, "hier": True, "bn_eps": self.bn_eps,
                "output_bn_eps": self.output_bn_eps, "sn_eps": self.sn_eps}


# ----------------------------------------------------------------------------- spectral norm

def sn_weight_hf(weight_orig, u, v):
    """HF / torch.nn.utils.spectral_norm in eval mode: W / (u . W_mat v), no power step."""
    wm = weight_orig.reshape(weight_orig.shape[0], -1)
    sigma = torch.dot(u, torch.mv(wm, v))
    return weight_orig / sigma


def sn_weight_br(weight, u0, eps):
    """BR layers.SN.W_() in eval mode: one power step from the stored u0 (not written back)."""
    wm = weight.view(weight.shape[0], -1)
    v = F.normalize(torch.matmul(u0, wm), eps=eps)
    u = F.normalize(torch.matmul(v, wm.t()), eps=eps)
    sv = torch.squeeze(torch.matmul(torch.matmul(v, wm.t()), u.t()))
    return weight / sv


class _HFSN(nn.Module):
    """Holds weight_orig, optional bias, weight_u, weight_v (torch spectral_norm names)."""

    def __init__(self, wshape, bias):
        super().__init__()
        self.weight_orig = nn.Parameter(torch.empty(wshape))
        self.bias = nn.Parameter(torch.empty(wshape[0])) if bias else None
        self.register_buffer("weight_u", torch.empty(wshape[0]))
        self.register_buffer("weight_v", torch.empty(int(math.prod(wshape[1:]))))
        self._folded = None

    def weight(self):
        if self._folded is not None:
            return self._folded
        return sn_weight_hf(self.weight_orig, self.weight_u, self.weight_v)

    def fold(self):
        self._folded = None
        self._folded = self.weight().detach().clone()


class HFSNConv2d(_HFSN):
    def __init__(self, cin, cout, k, bias=True):
        super().__init__((cout, cin, k, k), bias)
        self.pad = k // 2

    def forward(self, x):
        return F.conv2d(x, self.weight(), self.bias, padding=self.pad)


class HFSNLinear(_HFSN):
    def __init__(self, cin, cout, bias=True):
        super().__init__((cout, cin), bias)

    def forward(self, x):
        return F.linear(x, self.weight(), self.bias)


class _BRSN(nn.Module):
    """Holds weight, optional bias, u0 [1, out], sv0 [1] (BR layers.SN names)."""

    def __init__(self, wshape, bias, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(wshape))
        self.bias = nn.Parameter(torch.empty(wshape[0])) if bias else None
        self.register_buffer("u0", torch.empty(1, wshape[0]))
        self.register_buffer("sv0", torch.ones(1))
        self.eps = eps
        self._folded = None

    def W_(self):
        if self._folded is not None:
            return self._folded
        return sn_weight_br(self.weight, self.u0, self.eps)

    def fold(self):
        self._folded = None
        self._folded = self.W_().detach().clone()


class BRSNConv2d(_BRSN):
    def __init__(self, cin, cout, k, eps, bias=True):
        super().__init__((cout, cin, k, k), bias, eps)
        self.pad = k // 2

    def forward(self, x):
        return F.conv2d(x, self.W_(), self.bias, padding=self.pad)


class BRSNLinear(_BRSN):
    def __init__(self, cin, cout, eps, bias=True):
        super().__init__((cout, cin), bias, eps)

    def forward(self, x):
        return F.linear(x, self.W_(), self.bias)


def _fold_all(module):
    for m in module.modules():
        if isinstance(m, (_HFSN, _BRSN)):
            m.fold()


def _up(x):
    return F.interpolate(x, scale_factor=2, mode="nearest")


# ----------------------------------------------------------------------------- BigGAN-deep

def deep_stats_select(means, vars_, truncation, n_stats):
    """HF BigGANBatchNorm stats selection: mirrored interpolation, fractions from double.

    q = t / (1/(n-1)); f, i = modf(q). f == 0: row i. Else f*S[i] + (1-f)*S[i+1], where the
    Python doubles f and 1-f are rounded to fp32 by torch and combined as two fp32 products
    and one fp32 add (separate kernels: no FMA)."""
    step = 1.0 / (n_stats - 1)
    coef, start = math.modf(truncation / step)
    start = int(start)
    if coef != 0.0:
        return (means[start] * coef + means[start + 1] * (1 - coef),
                vars_[start] * coef + vars_[start + 1] * (1 - coef))
    return means[start], vars_[start]


class DeepBatchNorm(nn.Module):
    def __init__(self, c, cond_dim, n_stats, eps, conditional=True):
        super().__init__()
        self.register_buffer("running_means", torch.empty(n_stats, c))
        self.register_buffer("running_vars", torch.empty(n_stats, c))
        self.n_stats = n_stats
        self.eps = eps
        self.conditional = conditional
        if conditional:
            self.scale = HFSNLinear(cond_dim, c, bias=False)
            self.offset = HFSNLinear(cond_dim, c, bias=False)
        else:
            self.weight = nn.Parameter(torch.empty(c))
            self.bias = nn.Parameter(torch.empty(c))
        self.calibrate = None       # make_checkpoint.py: callable(module, x) -> None

    def forward(self, x, truncation, cond=None):
        if self.calibrate is not None:
            self.calibrate(self, x)
        mean, var = deep_stats_select(self.running_means, self.running_vars, truncation,
                                      self.n_stats)
        if self.conditional:
            mean = mean.view(1, -1, 1, 1)
            var = var.view(1, -1, 1, 1)
            w = 1 + self.scale(cond).unsqueeze(-1).unsqueeze(-1)
            b = self.offset(cond).unsqueeze(-1).unsqueeze(-1)
            return (x - mean) / torch.sqrt(var + self.eps) * w + b
        return F.batch_norm(x, mean, var, self.weight, self.bias, False, 0.0, self.eps)


class DeepSelfAttn(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.snconv1x1_theta = HFSNConv2d(c, c // 8, 1, bias=False)
        self.snconv1x1_phi = HFSNConv2d(c, c // 8, 1, bias=False)
        self.snconv1x1_g = HFSNConv2d(c, c // 2, 1, bias=False)
        self.snconv1x1_o_conv = HFSNConv2d(c // 2, c, 1, bias=False)
        self.gamma = nn.Parameter(torch.empty(1))

    def forward(self, x):
        b, c, h, w = x.shape
        theta = self.snconv1x1_theta(x).view(b, c // 8, h * w)
        phi = F.max_pool2d(self.snconv1x1_phi(x), 2, 2).view(b, c // 8, h * w // 4)
        attn = F.softmax(torch.bmm(theta.permute(0, 2, 1), phi), dim=-1)     # [B, N, N/4]
        g = F.max_pool2d(self.snconv1x1_g(x), 2, 2).view(b, c // 2, h * w // 4)
        ag = torch.bmm(g, attn.permute(0, 2, 1)).view(b, c // 2, h, w)
        return x + self.gamma * self.snconv1x1_o_conv(ag)


class DeepGenBlock(nn.Module):
    def __init__(self, cin, cout, cond_dim, up, n_stats, eps):
        super().__init__()
        mid = cin // 4
        self.up = up
        self.drop = cin != cout
        self.bn_0 = DeepBatchNorm(cin, cond_dim, n_stats, eps)
        self.conv_0 = HFSNConv2d(cin, mid, 1)
        self.bn_1 = DeepBatchNorm(mid, cond_dim, n_stats, eps)
        self.conv_1 = HFSNConv2d(mid, mid, 3)
        self.bn_2 = DeepBatchNorm(mid, cond_dim, n_stats, eps)
        self.conv_2 = HFSNConv2d(mid, mid, 3)
        self.bn_3 = DeepBatchNorm(mid, cond_dim, n_stats, eps)
        self.conv_3 = HFSNConv2d(mid, cout, 1)

    def forward(self, x, cond, t):
        x0 = x
        x = self.conv_0(F.relu(self.bn_0(x, t, cond)))
        x = F.relu(self.bn_1(x, t, cond))
        if self.up:
            x = _up(x)
        x = self.conv_1(x)
        x = self.conv_2(F.relu(self.bn_2(x, t, cond)))
        x = self.conv_3(F.relu(self.bn_3(x, t, cond)))
        if self.drop:
            x0 = x0[:, :x0.shape[1] // 2]
        if self.up:
            x0 = _up(x0)
        return x + x0


class DeepGenerator(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        ch = cfg.ch
        cond = 2 * cfg.z_dim
        self.ch = ch
        self.gen_z = HFSNLinear(cond, 4 * 4 * 16 * ch)
        layers = []
        for i, (up, a, b) in enumerate(cfg.layers):
            if i == cfg.attention_layer_position:
                layers.append(DeepSelfAttn(ch * a))
            layers.append(DeepGenBlock(ch * a, ch * b, cond, up, cfg.n_stats, cfg.eps))
        self.layers = nn.ModuleList(layers)
        self.bn = DeepBatchNorm(ch, None, cfg.n_stats, cfg.eps, conditional=False)
        self.conv_to_rgb = HFSNConv2d(ch, ch, 3)
        self.rgb3 = False

    def forward(self, cond, t):
        z = self.gen_z(cond).view(-1, 4, 4, 16 * self.ch).permute(0, 3, 1, 2).contiguous()
        for layer in self.layers:
            z = layer(z, cond, t) if isinstance(layer, DeepGenBlock) else layer(z)
        z = F.relu(self.bn(z, t))
        if self.rgb3:
            # benchmark shortcut: only the 3 kept output channels (same W rows, same maths)
            z = F.conv2d(z, self.conv_to_rgb.weight()[:3], self.conv_to_rgb.bias[:3], padding=1)
        else:
            z = self.conv_to_rgb(z)[:, :3]       # as HF: all ch channels, then the slice
        return torch.tanh(z)


class BigGANDeep(nn.Module):
    """forward(z [B, z_dim] already scaled by t, y [B, num_classes] float, t python float)."""

    family = "biggan-deep"

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embeddings = nn.Linear(cfg.num_classes, cfg.z_dim, bias=False)
        self.generator = DeepGenerator(cfg)

    def forward(self, z, y, truncation):
        if not 0.0 < truncation <= 1.0:
            raise ValueError("truncation %r: must be in (0, 1]" % (truncation,))
        cond = torch.cat((z, self.embeddings(y)), dim=1)
        return self.generator(cond, truncation)

    def fold_sn(self):
        _fold_all(self)
        return self


# ----------------------------------------------------------------------------- BigGAN (BR)

class BRccbn(nn.Module):
    def __init__(self, c, cond_dim, bn_eps, sn_eps):
        super().__init__()
        self.gain = BRSNLinear(cond_dim, c, sn_eps, bias=False)
        self.bias = BRSNLinear(cond_dim, c, sn_eps, bias=False)
        self.register_buffer("stored_mean", torch.empty(c))
        self.register_buffer("stored_var", torch.empty(c))
        self.eps = bn_eps
        self.calibrate = None

    def forward(self, x, y):
        if self.calibrate is not None:
            self.calibrate(self, x)
        gain = (1 + self.gain(y)).view(y.shape[0], -1, 1, 1)
        bias = self.bias(y).view(y.shape[0], -1, 1, 1)
        out = F.batch_norm(x, self.stored_mean, self.stored_var, None, None, False, 0.1,
                           self.eps)
        return out * gain + bias


class BRbn(nn.Module):
    def __init__(self, c, eps):
        super().__init__()
        self.gain = nn.Parameter(torch.empty(c))
        self.bias = nn.Parameter(torch.empty(c))
        self.register_buffer("stored_mean", torch.empty(c))
        self.register_buffer("stored_var", torch.empty(c))
        self.eps = eps
        self.calibrate = None

    def forward(self, x):
        if self.calibrate is not None:
            self.calibrate(self, x)
        return F.batch_norm(x, self.stored_mean, self.stored_var, self.gain, self.bias,
                            False, 0.1, self.eps)


class BRGBlock(nn.Module):
    def __init__(self, cin, cout, cond_dim, cfg):
        super().__init__()
        self.conv1 = BRSNConv2d(cin, cout, 3, cfg.sn_eps)
        self.conv2 = BRSNConv2d(cout, cout, 3, cfg.sn_eps)
        self.conv_sc = BRSNConv2d(cin, cout, 1, cfg.sn_eps)   # every block upsamples
        self.bn1 = BRccbn(cin, cond_dim, cfg.bn_eps, cfg.sn_eps)
        self.bn2 = BRccbn(cout, cond_dim, cfg.bn_eps, cfg.sn_eps)

    def forward(self, x, y):
        h = _up(F.relu(self.bn1(x, y)))
        x = _up(x)
        h = self.conv2(F.relu(self.bn2(self.conv1(h), y)))
        return h + self.conv_sc(x)


class BRAttention(nn.Module):
    def __init__(self, c, sn_eps):
        super().__init__()
        self.ch = c
        self.theta = BRSNConv2d(c, c // 8, 1, sn_eps, bias=False)
        self.phi = BRSNConv2d(c, c // 8, 1, sn_eps, bias=False)
        self.g = BRSNConv2d(c, c // 2, 1, sn_eps, bias=False)
        self.o = BRSNConv2d(c // 2, c, 1, sn_eps, bias=False)
        self.gamma = nn.Parameter(torch.tensor(0.0))          # 0-dim, as in BR

    def forward(self, x, y=None):
        b, c, h, w = x.shape
        theta = self.theta(x).view(b, c // 8, h * w)
        phi = F.max_pool2d(self.phi(x), [2, 2]).view(b, c // 8, h * w // 4)
        g = F.max_pool2d(self.g(x), [2, 2]).view(b, c // 2, h * w // 4)
        beta = F.softmax(torch.bmm(theta.transpose(1, 2), phi), -1)
        o = self.o(torch.bmm(g, beta.transpose(1, 2)).view(b, c // 2, h, w))
        return self.gamma * o + x


class BigGAN(nn.Module):
    """forward(z [B, z_dim], y [B, num_classes] float one-hot or mixture, truncation unused
    except for the API: BR has no standing statistics). Class vectors select the shared
    embedding as y @ shared.weight (an exact row lookup for one-hot vectors)."""

    family = "biggan"

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        ch = cfg.ch
        cond_dim = cfg.shared_dim + cfg.z_chunk
        self.shared = nn.Embedding(cfg.num_classes, cfg.shared_dim)
        self.linear = BRSNLinear(cfg.z_chunk, cfg.in_mult[0] * ch * 16, cfg.sn_eps)
        blocks = []
        for i, (a, b) in enumerate(zip(cfg.in_mult, cfg.out_mult)):
            bl = [BRGBlock(a * ch, b * ch, cond_dim, cfg)]
            if cfg.attn_res and cfg.block_res[i] == cfg.attn_res:
                bl.append(BRAttention(b * ch, cfg.sn_eps))
            blocks.append(nn.ModuleList(bl))
        self.blocks = nn.ModuleList(blocks)
        self.output_layer = nn.Sequential(BRbn(cfg.out_mult[-1] * ch, cfg.output_bn_eps),
                                          nn.ReLU(),
                                          BRSNConv2d(cfg.out_mult[-1] * ch, 3, 3, cfg.sn_eps))

    def embed(self, y):
        if y.dtype in (torch.int32, torch.int64):
            return self.shared(y)
        return torch.matmul(y, self.shared.weight)

    def forward(self, z, y, truncation=1.0):
        cfg = self.cfg
        e = self.embed(y)
        zs = torch.split(z, cfg.z_chunk, 1)
        ys = [torch.cat([e, item], 1) for item in zs[1:]]
        h = self.linear(zs[0]).view(z.shape[0], -1, 4, 4)
        for i, bl in enumerate(self.blocks):
            for m in bl:
                h = m(h, ys[i])
        return torch.tanh(self.output_layer(h))

    def fold_sn(self):
        _fold_all(self)
        return self


# ----------------------------------------------------------------------------- helpers

def build(family, cfg):
    if family == "biggan-deep":
        return BigGANDeep(cfg).eval()
    if family == "biggan":
        return BigGAN(cfg).eval()
    raise ValueError("family %r: allowed biggan-deep, biggan" % (family,))


def load_state_dict_strict(model, sd):
    """load_state_dict(strict=True) plus shape checks that name the key."""
    own = model.state_dict()
    missing = sorted(set(own) - set(sd))
    extra = sorted(set(sd) - set(own))
    if missing:
        raise KeyError("missing key %r (%d missing)" % (missing[0], len(missing)))
    if extra:
        raise KeyError("unexpected key %r (%d unexpected)" % (extra[0], len(extra)))
    for k, v in own.items():
        if tuple(sd[k].shape) != tuple(v.shape):
            raise ValueError("key %r: shape %s, expected %s"
                             % (k, list(sd[k].shape), list(v.shape)))
    model.load_state_dict(sd, strict=True)
    return model


def to_uint8_hf(x):
    """NCHW [-1,1] -> NHWC uint8, p = min(255, floor(128 (x + 1))) clamped at 0."""
    return torch.clamp(torch.floor(128.0 * (x + 1.0)), 0, 255).to(torch.uint8).permute(0, 2, 3, 1)


def to_uint8_br(x):
    return torch.clamp(torch.floor(127.5 * (x + 1.0)), 0, 255).to(torch.uint8).permute(0, 2, 3, 1)


# ----------------------------------------------------------------------------- model files

def from_model_file(path):
    """A reference model on a ganq model file's (already SN-folded) weights, fp32.

    SN layers get their folded W as the cached weight (fold_sn state); everything else is
    copied into the module. Used by the benchmark (torch on exactly the engine's weights)
    and by the converter round-trip test."""
    import json
    import gq_safetensors
    meta, ts = gq_safetensors.read(path)
    fam = meta.get("ganq.family")
    arch = json.loads(meta["ganq.arch"])
    if fam == "biggan-deep":
        cfg = DeepConfig(resolution=arch["resolution"], ch=arch["ch"], z_dim=arch["z_dim"],
                         num_classes=arch["num_classes"], n_stats=arch["n_stats"],
                         eps=arch["eps"])
    elif fam == "biggan":
        cfg = BRConfig(resolution=arch["resolution"], ch=arch["ch"], dim_z=arch["z_dim"],
                       shared_dim=arch["shared_dim"], attn_res=arch["attn_res"],
                       bn_eps=arch["bn_eps"], sn_eps=arch["sn_eps"],
                       output_bn_eps=arch["output_bn_eps"], num_classes=arch["num_classes"])
    else:
        raise ValueError("%s: ganq.family %r" % (path, fam))
    model = build(fam, cfg)
    used = set()
    with torch.no_grad():
        for name, m in model.named_modules():
            if isinstance(m, (_HFSN, _BRSN)):
                key = name + ".weight"
                m._folded = ts[key].clone()
                used.add(key)
        for k, v in model.state_dict(keep_vars=True).items():
            if k.endswith(("weight_orig", "weight_u", "weight_v", ".u0", ".sv0")):
                continue
            if isinstance(v, torch.Tensor) and k not in used:
                if k not in ts:
                    raise KeyError("%s: missing tensor %r" % (path, k))
                v.copy_(ts[k].reshape(v.shape))
                used.add(k)
    extra = set(ts) - used
    if extra:
        raise KeyError("%s: unexpected tensor %r" % (path, sorted(extra)[0]))
    return model
