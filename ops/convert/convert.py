"""convert.py: published BigGAN checkpoints -> ganq model files (safetensors, FORMAT.md).

Called by ops/convert-weights. Two sources:
- biggan-deep: DIR with pytorch_model.bin (torch.save, legacy pickle or zip; tensors may be
  strided views) and config.json (pytorch-pretrained-BigGAN layout).
- biggan: G_ema.pth of BigGAN-PyTorch, whose architecture is fixed by --preset (the TF Hub
  ports 128/256/512, or cifar32), optionally narrowed with --ch for test models.

Strictness: the expected key set and every shape come from the architecture (built by
ops/reference/biggan_ref.py from the config); a missing key, an unexpected key, a wrong
shape, a non-float32 tensor, a non-finite value or a non-positive sigma is an error naming
the key. HF's own loader is strict=False and would pass such files silently.

Spectral norm is folded exactly as each reference computes W in eval mode, in fp32 torch on
contiguous copies (so legacy/zip and strided/contiguous sources give identical bytes):
- HF: W = weight_orig / (u . (W_mat v)), stored u and v, no power iteration.
- BR: v = normalize(u0 W_mat), u = normalize(v W_mat^T), sigma = v W_mat^T u^T, W / sigma,
  normalize with eps = the preset's SN eps.
This code is written separately from biggan_ref's SN functions on purpose: the tests compare
the two (and HF's against torch.nn.utils.spectral_norm itself).
"""
import datetime
import json
import os
import sys

import torch

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_HERE, "..", "reference"))
import biggan_ref as R  # noqa: E402
import gq_safetensors  # noqa: E402

CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                 "ship", "truck"]
CONVERTER = "ganq ops/convert-weights 1"


class ConvertError(Exception):
    pass


def load_torch(path):
    """torch.load of a state dict (legacy or zip), CPU, weights only where supported."""
    if not os.path.isfile(path):
        raise ConvertError("%s: no such file" % path)
    try:
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except TypeError:                       # torch without weights_only
            obj = torch.load(path, map_location="cpu")
    except Exception as e:  # noqa: BLE001 - any unpickling failure is a bad file
        raise ConvertError("%s: not a torch.save file (%s)" % (path, str(e).splitlines()[0]))
    if not isinstance(obj, dict):
        raise ConvertError("%s: holds a %s, expected a state dict" % (path, type(obj).__name__))
    for k, v in obj.items():
        if not isinstance(k, str) or not isinstance(v, torch.Tensor):
            raise ConvertError("%s: entry %r is not a named tensor" % (path, k))
    return obj


def check_keys(sd, expected, what):
    missing = [k for k in expected if k not in sd]
    extra = sorted(k for k in sd if k not in expected)
    if missing:
        raise ConvertError("%s: missing key %r (%d missing)" % (what, missing[0], len(missing)))
    if extra:
        raise ConvertError("%s: unexpected key %r (%d unexpected)" % (what, extra[0], len(extra)))
    for k, shape in expected.items():
        t = sd[k]
        if tuple(t.shape) != tuple(shape):
            raise ConvertError("%s: key %r has shape %s, expected %s"
                               % (what, k, list(t.shape), list(shape)))
        if t.dtype != torch.float32:
            raise ConvertError("%s: key %r has dtype %s, expected float32" % (what, k, t.dtype))
        if not bool(torch.isfinite(t).all()):
            raise ConvertError("%s: key %r holds NaN or infinite values" % (what, k))


def _expected(family, cfg):
    model = R.build(family, cfg)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def _sigma_ok(key, sigma):
    s = float(sigma)
    if not (s > 0.0 and s < float("inf")):
        raise ConvertError("key %r: spectral norm sigma %r is not positive and finite" % (key, s))


def fold_hf(sd):
    """HF state dict (contiguous fp32) -> {name: tensor} with SN folded, in source order."""
    out = []
    for k, t in sd.items():
        if k.endswith(".weight_orig"):
            p = k[:-len(".weight_orig")]
            w = t
            u = sd[p + ".weight_u"]
            v = sd[p + ".weight_v"]
            sigma = torch.dot(u, torch.mv(w.reshape(w.shape[0], -1), v))
            _sigma_ok(k, sigma)
            out.append((p + ".weight", w / sigma))
        elif k.endswith((".weight_u", ".weight_v")):
            continue
        else:
            out.append((k, t))
    return out


def fold_br(sd, eps):
    """BR G_ema state dict -> folded, u0/sv0 dropped."""
    out = []
    for k, t in sd.items():
        if k.endswith(".u0") or k.endswith(".sv0"):
            continue
        p = k[:-len(".weight")] if k.endswith(".weight") else None
        if p is not None and (p + ".u0") in sd:
            wm = t.view(t.shape[0], -1)
            u0 = sd[p + ".u0"]
            v = torch.nn.functional.normalize(torch.matmul(u0, wm), eps=eps)
            u = torch.nn.functional.normalize(torch.matmul(v, wm.t()), eps=eps)
            sigma = torch.squeeze(torch.matmul(torch.matmul(v, wm.t()), u.t()))
            _sigma_ok(k, sigma)
            out.append((k, t / sigma))
        else:
            out.append((k, t))
    return out


def class_names(path, n, default):
    if path is None:
        return list(default) if default is not None else ["class_%d" % i for i in range(n)]
    with open(path, encoding="utf-8") as f:
        names = [l.rstrip("\n") for l in f]
    while names and names[-1] == "":
        names.pop()
    if len(names) != n:
        raise ConvertError("--class-names %s: %d names, the model has %d classes"
                           % (path, len(names), n))
    if any(not s.strip() for s in names):
        raise ConvertError("--class-names %s: empty name on line %d"
                           % (path, [not s.strip() for s in names].index(True) + 1))
    return names


def provenance(source, family, extra_json):
    when = os.environ.get("SOURCE_DATE_EPOCH")
    ts = (datetime.datetime.fromtimestamp(int(when), datetime.timezone.utc) if when
          else datetime.datetime.now(datetime.timezone.utc))
    p = {"converter": CONVERTER, "source": os.path.basename(os.path.normpath(source)),
         "source_layout": {"biggan-deep": "pytorch-pretrained-BigGAN",
                           "biggan": "BigGAN-PyTorch G_ema"}[family],
         "converted_utc": ts.strftime("%Y-%m-%dT%H:%M:%SZ")}
    if extra_json:
        try:
            e = json.loads(extra_json)
        except ValueError as ex:
            raise ConvertError("--provenance: not JSON (%s)" % ex)
        if not isinstance(e, dict):
            raise ConvertError("--provenance: must be a JSON object")
        p.update(e)
    return p


def convert(src_family, src, out, preset=None, ch=None, dtype="F32", class_names_file=None,
            provenance_json=None):
    """Convert one checkpoint. Raises ConvertError with a one-line message on bad input."""
    if dtype not in ("F32", "F16", "BF16"):
        raise ConvertError("--dtype %r: allowed f32, f16, bf16" % dtype)
    if src_family == "biggan-deep":
        if not os.path.isdir(src):
            raise ConvertError("%s: expected a directory with pytorch_model.bin and config.json"
                               % src)
        cpath = os.path.join(src, "config.json")
        try:
            with open(cpath) as f:
                js = json.load(f)
        except (OSError, ValueError) as e:
            raise ConvertError("%s: %s" % (cpath, e))
        if not isinstance(js, dict):
            raise ConvertError("%s: not a JSON object" % cpath)
        try:
            cfg = R.DeepConfig.from_hf_json(js)
        except ValueError as e:
            raise ConvertError(str(e))
        wpath = os.path.join(src, "pytorch_model.bin")
        sd = load_torch(wpath)
        check_keys(sd, _expected(src_family, cfg), wpath)
        sd = {k: v.contiguous() for k, v in sd.items()}
        tensors = fold_hf(sd)
        names = class_names(class_names_file, cfg.num_classes, None)
    elif src_family == "biggan":
        if preset is None:
            raise ConvertError("--from biggan needs --preset 128|256|512|cifar32")
        try:
            cfg = R.BRConfig.preset(preset, ch)
        except ValueError as e:
            raise ConvertError("--preset: %s" % e)
        sd = load_torch(src)
        check_keys(sd, _expected(src_family, cfg), src)
        sd = {k: v.contiguous() for k, v in sd.items()}
        tensors = fold_br(sd, cfg.sn_eps)
        names = class_names(class_names_file, cfg.num_classes,
                            CIFAR10_NAMES if preset == "cifar32" else None)
    else:
        raise ConvertError("--from %r: allowed biggan-deep, biggan" % src_family)
    meta = {"ganq.format_version": "1", "ganq.family": src_family,
            "ganq.arch": json.dumps(cfg.arch_json(), separators=(",", ":")),
            "ganq.class_names": json.dumps(names, separators=(",", ":"), ensure_ascii=False),
            "ganq.provenance": json.dumps(provenance(src, src_family, provenance_json),
                                          separators=(",", ":"), sort_keys=True)}
    tmp = out + ".tmp"
    try:
        gq_safetensors.write(tmp, tensors, meta, dtype)
        os.replace(tmp, out)
    except OSError as e:
        raise ConvertError("%s: %s" % (out, e))
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return len(tensors)
