#!/usr/bin/python3
"""test_convert.py: ops/convert-weights on random checkpoints in the published layouts.

Checks (no engine needed, runs always):
1. legacy pickle vs zip, strided/offset views vs contiguous: byte-identical model files
   (with SOURCE_DATE_EPOCH fixed), for biggan-deep and biggan; and the sources really are
   legacy/zip/strided (else the check would prove nothing).
2. strictness: missing key, unexpected key, wrong shape, wrong dtype, NaN, bad config.json,
   wrong preset, not a state dict, bad --class-names, bad --provenance: exit 1 (CLI) or
   ConvertError, with the offending key/field named in the message.
3. SN folding: HF layers equal torch.nn.utils.spectral_norm's eval-mode weight exactly; BR
   layers equal the reference's eval power step, and sigma is near the top singular value.
4. file layout per FORMAT.md: metadata keys, arch, class names (class_i / CIFAR-10 / file),
   no SN buffers left, 8-byte aligned data start, f16/bf16 within their rounding of f32.
5. the reference run on the converted file equals the reference run on the checkpoint.
"""
import json
import os
import shutil
import struct
import subprocess
import sys

import numpy as np
import torch

import refcommon as C

R, MC, CV = C.R, C.MC, C.CV
import gq_safetensors as ST  # noqa: E402

CONVERT = os.path.join(C.ROOT, "ops", "convert-weights")
fails = []


def check(cond, what):
    C.log("%s %s" % ("ok  " if cond else "FAIL", what))
    if not cond:
        fails.append(what)


def cli(args):
    r = subprocess.run([CONVERT] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=dict(os.environ, SOURCE_DATE_EPOCH="1700000000"))
    return r.returncode, r.stderr.decode()


def expect_error(fn, needle, what):
    try:
        fn()
    except CV.ConvertError as e:
        check(needle in str(e), "%s -> error naming %r (%s)" % (what, needle, e))
        return
    check(False, "%s -> accepted, expected an error" % what)


def read_bytes(p):
    with open(p, "rb") as f:
        return f.read()


def main():
    os.environ["SOURCE_DATE_EPOCH"] = "1700000000"
    T = os.path.join(C.TMP, "convert")
    os.makedirs(T, exist_ok=True)

    # ---- 1. biggan-deep: legacy/zip x strided/contiguous -> identical files
    dcfg = R.DeepConfig(resolution=128, ch=16)
    dm = MC.make_model("biggan-deep", dcfg, seed=3)
    variants = [("legacy", False), ("zip", False), ("legacy", True), ("zip", True)]
    outs = []
    for fmt, contig in variants:
        d = os.path.join(T, "deep-%s-%s" % (fmt, contig), "ckpt")
        MC.write_hf(dm, d, fmt, contig)
        out = os.path.join(T, "deep-%s-%s.safetensors" % (fmt, contig))
        CV.convert("biggan-deep", d, out)
        outs.append(out)
    src_legacy = os.path.join(T, "deep-legacy-False", "ckpt", "pytorch_model.bin")
    src_zip = os.path.join(T, "deep-zip-False", "ckpt", "pytorch_model.bin")
    check(read_bytes(src_legacy)[:2] != b"PK" and read_bytes(src_zip)[:2] == b"PK",
          "sources: legacy pickle is not a zip, zip is")
    sd = torch.load(src_legacy)
    check(any(not v.is_contiguous() for v in sd.values()),
          "legacy source holds non-contiguous tensors")
    check(any(v.storage_offset() != 0 for v in sd.values()),
          "legacy source holds tensors at a storage offset")
    ref_bytes = read_bytes(outs[0])
    check(all(read_bytes(o) == ref_bytes for o in outs[1:]),
          "biggan-deep: legacy/zip x strided/contiguous give byte-identical model files")

    bcfg = R.BRConfig.preset("cifar32", 16)
    bm = MC.make_model("biggan", bcfg, seed=4)
    bouts = []
    for fmt, contig in variants[:3]:
        d = os.path.join(T, "br-%s-%s" % (fmt, contig))
        os.makedirs(d, exist_ok=True)
        p = os.path.join(d, "G_ema.pth")
        MC.write_br(bm, p, fmt, contig)
        out = p + ".safetensors"
        CV.convert("biggan", p, out, preset="cifar32", ch=16)
        bouts.append(out)
    check(all(read_bytes(o) == read_bytes(bouts[0]) for o in bouts[1:]),
          "biggan: legacy/zip x strided/contiguous give byte-identical model files")

    # ---- 2. strictness (CLI for a few, the function for the rest)
    good_dir = os.path.join(T, "deep-legacy-False", "ckpt")
    rc, err = cli(["--from", "biggan-deep", good_dir, "--out", os.path.join(T, "cli.st")])
    check(rc == 0, "CLI converts a good biggan-deep checkpoint (exit %d %s)" % (rc, err.strip()))

    def damaged(name, edit, cfg_edit=None):
        d = os.path.join(T, "bad-" + name)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        s = torch.load(src_legacy)
        edit(s)
        torch.save(s, os.path.join(d, "pytorch_model.bin"), _use_new_zipfile_serialization=False)
        js = dcfg.hf_json()
        if cfg_edit:
            cfg_edit(js)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(js, f)
        return d

    k_conv = "generator.layers.3.conv_1.weight_orig"
    d = damaged("missing", lambda s: s.pop(k_conv))
    rc, err = cli(["--from", "biggan-deep", d, "--out", os.path.join(T, "x.st")])
    check(rc == 1 and k_conv in err and "missing" in err,
          "CLI: missing key -> exit 1 naming it (%d: %s)" % (rc, err.strip()))
    check(not os.path.exists(os.path.join(T, "x.st")) and
          not os.path.exists(os.path.join(T, "x.st.tmp")), "no output left after an error")
    d = damaged("extra", lambda s: s.__setitem__("generator.extra.weight", torch.zeros(3)))
    rc, err = cli(["--from", "biggan-deep", d, "--out", os.path.join(T, "x.st")])
    check(rc == 1 and "generator.extra.weight" in err and "unexpected" in err,
          "CLI: unexpected key -> exit 1 naming it (%d: %s)" % (rc, err.strip()))
    k_bn = "generator.layers.2.bn_1.running_means"
    d = damaged("shape", lambda s: s.__setitem__(k_bn, s[k_bn][:50]))
    rc, err = cli(["--from", "biggan-deep", d, "--out", os.path.join(T, "x.st")])
    check(rc == 1 and k_bn in err and "shape" in err,
          "CLI: wrong shape -> exit 1 naming it (%d: %s)" % (rc, err.strip()))
    rc, err = cli(["--from", "biggan", d, "--out", os.path.join(T, "x.st")])
    check(rc == 1 and "--preset" in err, "CLI: biggan without --preset -> exit 1 (%s)" % err.strip())
    rc, err = cli(["--from", "nonsense", d, "--out", os.path.join(T, "x.st")])
    check(rc == 2, "CLI: unknown --from -> usage error exit 2")

    out = os.path.join(T, "y.st")
    k_emb = "embeddings.weight"
    expect_error(lambda: CV.convert("biggan-deep", damaged(
        "dtype", lambda s: s.__setitem__(k_emb, s[k_emb].double())), out), k_emb, "float64 tensor")
    def nan(s):
        s["generator.gen_z.bias"] = s["generator.gen_z.bias"].clone()
        s["generator.gen_z.bias"][5] = float("nan")
    expect_error(lambda: CV.convert("biggan-deep", damaged("nan", nan), out),
                 "generator.gen_z.bias", "NaN value")
    def zero_u(s):
        s["generator.conv_to_rgb.weight_u"] = torch.zeros_like(s["generator.conv_to_rgb.weight_u"])
    expect_error(lambda: CV.convert("biggan-deep", damaged("sigma", zero_u), out),
                 "generator.conv_to_rgb.weight_orig", "zero sigma")
    expect_error(lambda: CV.convert("biggan-deep", damaged(
        "layers", lambda s: None, lambda js: js["layers"].pop()), out), "layers",
        "config.json with a wrong layer list")
    expect_error(lambda: CV.convert("biggan-deep", damaged(
        "cfgmiss", lambda s: None, lambda js: js.pop("n_stats")), out), "n_stats",
        "config.json without n_stats")
    expect_error(lambda: CV.convert("biggan-deep", damaged(
        "res", lambda s: None, lambda js: js.__setitem__("output_dim", 64)), out), "output_dim",
        "config.json output_dim 64")
    d = damaged("ok2", lambda s: None)
    os.unlink(os.path.join(d, "config.json"))
    expect_error(lambda: CV.convert("biggan-deep", d, out), "config.json", "no config.json")
    junk = os.path.join(T, "junk.pth")
    with open(junk, "wb") as f:
        f.write(b"not a pickle at all")
    expect_error(lambda: CV.convert("biggan", junk, out, preset="cifar32"), "junk.pth",
                 "garbage file")
    lst = os.path.join(T, "list.pth")
    torch.save([torch.zeros(1)], lst)
    expect_error(lambda: CV.convert("biggan", lst, out, preset="cifar32"), "state dict",
                 "a list instead of a state dict")
    expect_error(lambda: CV.convert("biggan", os.path.join(T, "br-legacy-False", "G_ema.pth"),
                                    out, preset="cifar32"), "shape",
                 "ch=16 checkpoint converted as full-width cifar32")
    expect_error(lambda: CV.convert("biggan", os.path.join(T, "br-legacy-False", "G_ema.pth"),
                                    out, preset="128", ch=16), "key",
                 "cifar32 checkpoint converted with --preset 128")
    names = os.path.join(T, "names.txt")
    with open(names, "w") as f:
        f.write("\n".join("n%d" % i for i in range(9)) + "\n")
    expect_error(lambda: CV.convert("biggan", os.path.join(T, "br-legacy-False", "G_ema.pth"),
                                    out, preset="cifar32", ch=16, class_names_file=names),
                 "9 names", "--class-names with 9 names for 10 classes")
    expect_error(lambda: CV.convert("biggan-deep", good_dir, out, provenance_json="[1]"),
                 "--provenance", "--provenance not an object")

    # ---- 3. SN folding
    meta, ts = ST.read(outs[0])
    sd = torch.load(src_legacy)
    worst = 0.0
    for p in ["generator.gen_z", "generator.layers.0.conv_1", "generator.layers.8.snconv1x1_g",
              "generator.conv_to_rgb", "generator.layers.4.bn_2.scale"]:
        w = sd[p + ".weight_orig"].contiguous()
        if w.dim() == 4:
            mod = torch.nn.Conv2d(w.shape[1], w.shape[0], w.shape[2], bias=False)
        else:
            mod = torch.nn.Linear(w.shape[1], w.shape[0], bias=False)
        mod = torch.nn.utils.spectral_norm(mod, eps=1e-4)
        mod.load_state_dict({"weight_orig": w, "weight_u": sd[p + ".weight_u"],
                             "weight_v": sd[p + ".weight_v"]})
        mod.eval()
        with torch.no_grad():
            mod(torch.zeros((1, w.shape[1], 4, 4) if w.dim() == 4 else (1, w.shape[1])))
        worst = max(worst, float((mod.weight - ts[p + ".weight"]).abs().max()))
    check(worst == 0.0, "HF SN fold equals torch.nn.utils.spectral_norm eval weight exactly "
          "(max diff %g)" % worst)
    bmeta, bts = ST.read(bouts[0])
    bsd = torch.load(os.path.join(T, "br-legacy-False", "G_ema.pth"))
    worst, ratio = 0.0, []
    for p in ["linear", "blocks.0.0.conv1", "blocks.2.0.conv_sc", "blocks.1.0.bn2.gain",
              "output_layer.2"]:
        w = bsd[p + ".weight"].contiguous()
        ref = R.sn_weight_br(w, bsd[p + ".u0"], bcfg.sn_eps)
        worst = max(worst, float((ref - bts[p + ".weight"]).abs().max()))
        top = float(torch.linalg.svdvals(w.reshape(w.shape[0], -1).double())[0])
        ratio.append(float((w / bts[p + ".weight"]).flatten()[0]) / top)
    check(worst == 0.0, "BR SN fold equals the reference's eval power step (max diff %g)" % worst)
    check(all(0.9 < r < 1.0001 for r in ratio),
          "BR sigma / top singular value in (0.9, 1]: %s" % ["%.4f" % r for r in ratio])

    # ---- 4. layout
    raw = read_bytes(outs[0])
    (hn,) = struct.unpack("<Q", raw[:8])
    check((8 + hn) % 8 == 0, "data starts 8-byte aligned")
    check(set(meta) == {"ganq.format_version", "ganq.family", "ganq.arch", "ganq.class_names",
                        "ganq.provenance"} and meta["ganq.format_version"] == "1",
          "metadata keys per FORMAT.md")
    arch = json.loads(meta["ganq.arch"])
    check(arch == {"resolution": 128, "ch": 16, "z_dim": 128, "num_classes": 1000,
                   "attn_res": 64, "n_stats": 51, "eps": 1e-4}, "deep arch %s" % arch)
    cn = json.loads(meta["ganq.class_names"])
    check(cn[0] == "class_0" and cn[999] == "class_999" and len(cn) == 1000,
          "1000-class default names class_0..class_999")
    check(json.loads(bmeta["ganq.class_names"])[0] == "airplane" and
          json.loads(bmeta["ganq.class_names"])[9] == "truck", "cifar32 names are CIFAR-10's")
    barch = json.loads(bmeta["ganq.arch"])
    check(barch["z_dim"] == 128 and barch["hier"] is True and barch["bn_eps"] == 1e-5 and
          barch["output_bn_eps"] == 1e-5 and barch["attn_res"] == 0, "cifar32 arch %s" % barch)
    check(not any(k.endswith(("weight_orig", "weight_u", "weight_v", ".u0", ".sv0"))
                  for k in list(ts) + list(bts)), "no SN buffers left in the model files")
    check(len(ts) == 254 and "generator.gen_z.weight" in ts and
          tuple(ts["generator.conv_to_rgb.weight"].shape) == (16, 16, 3, 3),
          "deep tensor set (%d tensors)" % len(ts))
    prov = json.loads(meta["ganq.provenance"])
    check(prov["source"] == "ckpt" and prov["converted_utc"] == "2023-11-14T22:13:20Z",
          "provenance %s" % prov)
    with open(names, "w") as f:
        f.write("\n".join("thing %d" % i for i in range(10)) + "\n")
    for dt, tol in (("F16", 2 ** -10), ("BF16", 2 ** -7)):
        o = os.path.join(T, "br.%s.st" % dt)
        CV.convert("biggan", os.path.join(T, "br-legacy-False", "G_ema.pth"), o,
                   preset="cifar32", ch=16, dtype=dt, class_names_file=names,
                   provenance_json='{"training": "none: random weights"}')
        m2, t2 = ST.read(o)
        rel = max(float(((t2[k] - v).abs() / v.abs().clamp_min(1e-3)).max()) for k, v in bts.items())
        hdr = json.loads(read_bytes(o)[8:8 + struct.unpack("<Q", read_bytes(o)[:8])[0]])
        check(rel <= tol and all(v["dtype"] == dt for k, v in hdr.items() if k != "__metadata__")
              and json.loads(m2["ganq.class_names"])[3] == "thing 3"
              and json.loads(m2["ganq.provenance"])["training"] == "none: random weights",
              "%s file: dtype, names file, provenance merged, rel err %.2g <= %.2g"
              % (dt, rel, tol))

    # ---- 5. reference on the model file == reference on the checkpoint
    z = C.truncated_z(np.random.default_rng(5), 2, 128, 0.734)
    a = C.reference(dm, z, 0.734, class_ids=[3, 999])
    b = C.reference(R.from_model_file(outs[0]), z, 0.734, class_ids=[3, 999])
    check(float(np.abs(a - b).max()) == 0.0, "deep: reference(model file) == reference(checkpoint)")
    zb = C.truncated_z(np.random.default_rng(6), 2, bcfg.z_dim, 1.0)
    a = C.reference(bm, zb, 1.0, class_ids=[0, 9])
    b = C.reference(R.from_model_file(bouts[0]), zb, 1.0, class_ids=[0, 9])
    check(float(np.abs(a - b).max()) == 0.0, "biggan: reference(model file) == reference(checkpoint)")

    shutil.rmtree(T, ignore_errors=True)
    C.log("test_convert: %d failures" % len(fails))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
