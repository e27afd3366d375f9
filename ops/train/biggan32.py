"""BigGAN 32x32 (BigGAN-PyTorch "BR" layout) generator and projection discriminator.

The generator reproduces BR's BigGAN.py Generator for resolution 32 with G_shared=True,
hier=True, no attention, so that G.state_dict() has exactly BR's keys, shapes and buffer
layout (docs/biggan-reference.md section 4):
  shared.weight [n_classes, shared_dim]                      (plain embedding, no SN)
  linear.{weight [16*ch*4*4? no: 4ch*16, chunk], bias, u0 [1,out], sv0 [1]}
  blocks.i.0.{conv1,conv2,conv_sc}.{weight,bias,u0,sv0}
  blocks.i.0.{bn1,bn2}.{gain,bias}.{weight,u0,sv0}, .stored_mean, .stored_var
  output_layer.0.{gain,bias,stored_mean,stored_var}, output_layer.2.{weight,bias,u0,sv0}
Block arch for 32x32: 4ch -> 4ch three times, each upsampling (4->8->16->32), bottom width 4.
Hierarchical z: num_slots = 4, chunk = dim_z // 4; chunk 0 feeds `linear`, block i gets
cond = cat(shared(y), z_{i+1}) (embedding first).

Spectral norm is BR's: one power iteration per forward from the stored u (u updated only in
training mode), sigma = v W^T u'^T, W / sigma.  Subtle: u is kept as a buffer so EMA copies
it too (BR's ema() averages every state-dict entry, buffers included).

BatchNorm: ccbn and the output bn use batch statistics in training mode (updating stored_*
with momentum 0.1, as BR), stored statistics in eval mode.  `momentum` is an attribute so
standing statistics can be accumulated as a cumulative mean (see train.standing_stats).

The discriminator is BR's 32x32 D (DBlocks 3->4ch down, 4ch->4ch down, 4ch->4ch, 4ch->4ch,
wide, preactivation after the first) with a projection head; its layout need not match BR.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def _power_iteration(W, u, eps):
    # One BR power iteration with a single singular value (no Gram-Schmidt needed).
    with torch.no_grad():
        v = F.normalize(torch.matmul(u, W), eps=eps)
        u_new = F.normalize(torch.matmul(v, W.t()), eps=eps)
    sv = torch.squeeze(torch.matmul(torch.matmul(v, W.t()), u_new.t()))
    return sv, u_new


class _SN:
    def _sn_init(self, num_outputs, eps):
        self.sn_eps = eps
        self.register_buffer("u0", torch.randn(1, num_outputs))
        self.register_buffer("sv0", torch.ones(1))

    def W_(self):
        W_mat = self.weight.view(self.weight.size(0), -1)
        sv, u_new = _power_iteration(W_mat, self.u0, self.sn_eps)
        if self.training:
            with torch.no_grad():
                self.u0[:] = u_new
                self.sv0[:] = sv
        return self.weight / sv


class SNConv2d(nn.Conv2d, _SN):
    def __init__(self, cin, cout, kernel_size=3, padding=1, bias=True, eps=1e-8):
        nn.Conv2d.__init__(self, cin, cout, kernel_size, padding=padding, bias=bias)
        self._sn_init(cout, eps)

    def forward(self, x):
        return F.conv2d(x, self.W_(), self.bias, self.stride, self.padding)


class SNLinear(nn.Linear, _SN):
    def __init__(self, cin, cout, bias=True, eps=1e-8):
        nn.Linear.__init__(self, cin, cout, bias=bias)
        self._sn_init(cout, eps)

    def forward(self, x):
        return F.linear(x, self.W_(), self.bias)


class SNEmbedding(nn.Embedding, _SN):
    def __init__(self, n, dim, eps=1e-8):
        nn.Embedding.__init__(self, n, dim)
        self._sn_init(n, eps)

    def forward(self, y):
        return F.embedding(y, self.W_())


class ccbn(nn.Module):
    def __init__(self, output_size, input_size, eps=1e-5, sn_eps=1e-8):
        super().__init__()
        self.gain = SNLinear(input_size, output_size, bias=False, eps=sn_eps)
        self.bias = SNLinear(input_size, output_size, bias=False, eps=sn_eps)
        self.eps = eps
        self.momentum = 0.1
        self.register_buffer("stored_mean", torch.zeros(output_size))
        self.register_buffer("stored_var", torch.ones(output_size))

    def forward(self, x, y):
        gain = (1 + self.gain(y)).view(y.size(0), -1, 1, 1)
        bias = self.bias(y).view(y.size(0), -1, 1, 1)
        out = F.batch_norm(x, self.stored_mean, self.stored_var, None, None,
                           self.training, self.momentum, self.eps)
        return out * gain + bias


class bn(nn.Module):
    def __init__(self, output_size, eps=1e-5):
        super().__init__()
        self.gain = nn.Parameter(torch.ones(output_size))
        self.bias = nn.Parameter(torch.zeros(output_size))
        self.eps = eps
        self.momentum = 0.1
        self.register_buffer("stored_mean", torch.zeros(output_size))
        self.register_buffer("stored_var", torch.ones(output_size))

    def forward(self, x, y=None):
        return F.batch_norm(x, self.stored_mean, self.stored_var, self.gain, self.bias,
                            self.training, self.momentum, self.eps)


class GBlock(nn.Module):
    def __init__(self, cin, cout, cond_dim, bn_eps, sn_eps):
        super().__init__()
        self.conv1 = SNConv2d(cin, cout, eps=sn_eps)
        self.conv2 = SNConv2d(cout, cout, eps=sn_eps)
        self.conv_sc = SNConv2d(cin, cout, kernel_size=1, padding=0, eps=sn_eps)
        self.bn1 = ccbn(cin, cond_dim, bn_eps, sn_eps)
        self.bn2 = ccbn(cout, cond_dim, bn_eps, sn_eps)

    def forward(self, x, y):
        h = F.relu(self.bn1(x, y))
        h = F.interpolate(h, scale_factor=2)
        x = F.interpolate(x, scale_factor=2)
        h = self.conv1(h)
        h = F.relu(self.bn2(h, y))
        h = self.conv2(h)
        return h + self.conv_sc(x)


class Generator(nn.Module):
    def __init__(self, ch=64, dim_z=128, shared_dim=128, n_classes=10,
                 bn_eps=1e-5, sn_eps=1e-8):
        super().__init__()
        self.ch = ch
        self.num_slots = 4
        self.z_chunk = dim_z // self.num_slots
        self.dim_z = self.z_chunk * self.num_slots
        self.shared_dim = shared_dim
        self.n_classes = n_classes
        self.bottom = 4
        c = 4 * ch
        cond = shared_dim + self.z_chunk
        self.shared = nn.Embedding(n_classes, shared_dim)
        self.linear = SNLinear(self.z_chunk, c * self.bottom ** 2, eps=sn_eps)
        self.blocks = nn.ModuleList(
            [nn.ModuleList([GBlock(c, c, cond, bn_eps, sn_eps)]) for _ in range(3)])
        self.output_layer = nn.Sequential(bn(c, eps=1e-5), nn.ReLU(),
                                          SNConv2d(c, 3, eps=sn_eps))
        self._init()

    def _init(self):
        # BR default G_init 'ortho'.
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding)):
                nn.init.orthogonal_(m.weight)

    def forward(self, z, y_shared):
        zs = torch.split(z, self.z_chunk, 1)
        ys = [torch.cat([y_shared, item], 1) for item in zs[1:]]
        h = self.linear(zs[0]).view(z.size(0), -1, self.bottom, self.bottom)
        for i, blocklist in enumerate(self.blocks):
            for block in blocklist:
                h = block(h, ys[i])
        return torch.tanh(self.output_layer(h))

    def sample(self, z, y):
        return self.forward(z, self.shared(y))


# D activations: BR's ReLU, or leaky ReLU (slope 0.2), whose features cannot all die (see
# ops/train/README.md: with ReLU this small D's last features died, leaving G no gradient).
D_ACTS = {"relu": F.relu, "lrelu": lambda x: F.leaky_relu(x, 0.2)}


class DBlock(nn.Module):
    def __init__(self, cin, cout, preactivation, downsample, sn_eps=1e-8, act=F.relu):
        super().__init__()
        self.act = act
        self.preactivation = preactivation
        self.downsample = downsample
        self.conv1 = SNConv2d(cin, cout, eps=sn_eps)
        self.conv2 = SNConv2d(cout, cout, eps=sn_eps)
        self.learnable_sc = (cin != cout) or downsample
        if self.learnable_sc:
            self.conv_sc = SNConv2d(cin, cout, kernel_size=1, padding=0, eps=sn_eps)

    def shortcut(self, x):
        if self.preactivation:
            if self.learnable_sc:
                x = self.conv_sc(x)
            if self.downsample:
                x = F.avg_pool2d(x, 2)
        else:
            if self.downsample:
                x = F.avg_pool2d(x, 2)
            if self.learnable_sc:
                x = self.conv_sc(x)
        return x

    def forward(self, x):
        h = self.act(x) if self.preactivation else x
        h = self.conv1(h)
        h = self.conv2(self.act(h))
        if self.downsample:
            h = F.avg_pool2d(h, 2)
        return h + self.shortcut(x)


class Discriminator(nn.Module):
    def __init__(self, ch=64, n_classes=10, sn_eps=1e-8, act="relu"):
        super().__init__()
        c = 4 * ch
        if act not in D_ACTS:
            raise ValueError("D activation %r: expected one of %s" % (act, ", ".join(D_ACTS)))
        self.act = D_ACTS[act]
        self.blocks = nn.ModuleList([
            DBlock(3, c, False, True, sn_eps, self.act),
            DBlock(c, c, True, True, sn_eps, self.act),
            DBlock(c, c, True, False, sn_eps, self.act),
            DBlock(c, c, True, False, sn_eps, self.act)])
        self.linear = SNLinear(c, 1, eps=sn_eps)
        self.embed = SNEmbedding(n_classes, c, eps=sn_eps)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding)):
                nn.init.orthogonal_(m.weight)

    def forward(self, x, y):
        h = x
        for b in self.blocks:
            h = b(h)
        # share of the last block's features that survive the ReLU: the D-health figure
        # train.py logs (near 0, D's output is its bias alone and gives G no gradient)
        self.alive = (h > 0).float().mean().detach()
        h = torch.sum(self.act(h), [2, 3])
        out = self.linear(h)
        return out + torch.sum(self.embed(y) * h, 1, keepdim=True)
