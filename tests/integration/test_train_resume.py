"""ops/train/train.py: a run split over two calls equals the same run done in one call
(G, D, G_ema and both optimizers bit-identical: the resume state really holds everything),
the export has exactly BigGAN-PyTorch's G key set and shapes (built here from the rules in
docs/biggan-reference.md section 4, not from the model code), provenance states the compute,
--retune-d keeps D's weights while --reset-d replaces them, --d-warmup trains D alone (G and
its weights and the step count untouched), and bad options are refused with exit status 2. Tiny width (ch 2, batch 4) to stay fast.
Skips (77) when the CIFAR-10 archives are not available."""
import json
import os
import subprocess
import sys
import tempfile

import torch

ROOT = os.environ.get("GANQ_ROOT", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
SHARED = os.environ.get("GANQ_SHARED", os.path.join(ROOT, "..", "shared"))
TRAIN = os.path.join(ROOT, "ops", "train", "train.py")
if not os.path.exists(os.path.join(SHARED, "datasets", "cifar10", "train.tar.gz")):
    print("skip: CIFAR-10 not found under %s/datasets/cifar10" % SHARED)
    sys.exit(77)
tmp = os.environ.get("GANQ_TMP") or tempfile.mkdtemp()
env = dict(os.environ, OMP_NUM_THREADS="1", GANQ_SHARED=SHARED)
COMMON = ["--ch", "2", "--batch", "4", "--ema-start", "1", "--minutes", "10", "--ckpt-min", "10"]


def run(*args, ok=True):
    p = subprocess.run([sys.executable, TRAIN] + list(args), env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if ok and p.returncode != 0:
        print(p.stdout)
        raise SystemExit("train.py %s failed with %d" % (" ".join(args), p.returncode))
    return p


a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
run("--run-dir", a, "--max-steps", "4", *COMMON)
run("--run-dir", b, "--max-steps", "2", *COMMON)
run("--run-dir", b, "--max-steps", "4", *COMMON)
sa, sb = torch.load(os.path.join(a, "state.pt")), torch.load(os.path.join(b, "state.pt"))
assert sa["step"] == sb["step"] == 4, (sa["step"], sb["step"])
assert sa["calls"] == 1 and sb["calls"] == 2
for part in ("G", "D", "G_ema"):
    assert sa[part].keys() == sb[part].keys()
    for k in sa[part]:
        assert torch.equal(sa[part][k], sb[part][k]), "resume differs at %s.%s" % (part, k)
for part in ("oG", "oD"):
    for pid, st in sa[part]["state"].items():
        for k, v in st.items():
            assert torch.equal(v, sb[part]["state"][pid][k]), "optimizer %s differs" % part

run("--run-dir", b, "--minutes", "0", "--export", "--standing", "2")
sd = torch.load(os.path.join(b, "G_ema.pth"))
c, cond = 4 * 2, 128 + 32
exp = {"shared.weight": (10, 128), "linear.weight": (16 * c, 32), "linear.bias": (16 * c,),
       "linear.u0": (1, 16 * c), "linear.sv0": (1,)}
for i in range(3):
    p = "blocks.%d.0." % i
    for conv, k in (("conv1", 3), ("conv2", 3), ("conv_sc", 1)):
        exp.update({p + conv + ".weight": (c, c, k, k), p + conv + ".bias": (c,),
                    p + conv + ".u0": (1, c), p + conv + ".sv0": (1,)})
    for bnn in ("bn1", "bn2"):
        exp.update({p + bnn + ".stored_mean": (c,), p + bnn + ".stored_var": (c,)})
        for lin in ("gain", "bias"):
            exp.update({p + bnn + "." + lin + ".weight": (c, cond),
                        p + bnn + "." + lin + ".u0": (1, c), p + bnn + "." + lin + ".sv0": (1,)})
for k in ("gain", "bias", "stored_mean", "stored_var"):
    exp["output_layer.0." + k] = (c,)
exp.update({"output_layer.2.weight": (3, c, 3, 3), "output_layer.2.bias": (3,),
            "output_layer.2.u0": (1, 3), "output_layer.2.sv0": (1,)})
assert set(sd) == set(exp), "key mismatch: extra %s missing %s" % (
    sorted(set(sd) - set(exp)), sorted(set(exp) - set(sd)))
for k, shp in exp.items():
    assert tuple(sd[k].shape) == shp, (k, tuple(sd[k].shape), shp)
    assert sd[k].dtype == torch.float32 and torch.isfinite(sd[k]).all(), k
# standing stats were accumulated (not the init values 0/1)
assert not torch.equal(sd["output_layer.0.stored_var"], torch.ones(c))
prov = json.load(open(os.path.join(b, "provenance.json")))
comp = prov["compute"]
assert comp["device"] == "cpu" and comp["iterations"] == 4 and comp["batch_size"] == 4
assert comp["train_minutes"] >= 0 and prov["arch"]["ch"] == 2

# D retuning on resume. --max-steps 4 = the current step: no G step runs, only the warm-up.
run("--run-dir", b, "--max-steps", "4", "--retune-d", "--d-act", "lrelu", "--lr-d", "1e-4",
    "--d-steps", "2", "--lr-g", "5e-5", *COMMON)
sr = torch.load(os.path.join(b, "state.pt"))
assert sr["step"] == 4 and sr["hparams"]["d_act"] == "lrelu" and sr["hparams"]["d_steps"] == 2
assert sr["d_resets"][-1] == {"step": 4, "lr_d": 1e-4, "d_steps": 2, "d_act": "lrelu",
                              "kept_weights": True, "lr_g": 5e-5}, sr["d_resets"]
for k in sb["D"]:
    assert torch.equal(sb["D"][k], sr["D"][k]), "--retune-d changed D at %s" % k
assert sr["oD"]["param_groups"][0]["lr"] == 1e-4 and not sr["oD"]["state"], "fresh optimiser"
assert sr["oG"]["param_groups"][0]["lr"] == 5e-5 and sr["oG"]["state"], "G's Adam kept, new lr"
run("--run-dir", b, "--max-steps", "4", "--d-warmup", "3", *COMMON)
sw = torch.load(os.path.join(b, "state.pt"))
assert sw["step"] == 4 and sw["images_d"] == sr["images_d"] + 3 * 4
assert sw["d_warmups"] == [{"step": 4, "d_steps": 3}], sw.get("d_warmups")
for k in sr["G"]:  # weights only: sampling in train mode moves SN's u and BN's stats
    if k.endswith((".weight", ".bias")):
        assert torch.equal(sr["G"][k], sw["G"][k]), "--d-warmup changed G at %s" % k
assert any(not torch.equal(sr["D"][k], sw["D"][k]) for k in sr["D"]), "warm-up did not train D"
run("--run-dir", b, "--max-steps", "4", "--reset-d", *COMMON)
sf = torch.load(os.path.join(b, "state.pt"))
assert sf["d_resets"][-1]["kept_weights"] is False and sf["hparams"]["d_act"] == "relu"
assert any(not torch.equal(sw["D"][k], sf["D"][k]) for k in sw["D"]), "--reset-d kept D"
run("--run-dir", b, "--minutes", "0", "--export", "--standing", "2")
tr = json.load(open(os.path.join(b, "provenance.json")))["training"]
assert len(tr["d_resets"]) == 2 and tr["d_warmups"] == sw["d_warmups"] and tr["d_act"] == "relu"

for bad in (["--batch", "1"], ["--ch", "0"], ["--minutes", "-1"], ["--ema-decay", "1.5"],
            ["--d-warmup", "-1"], ["--reset-d", "--retune-d"]):
    p = run("--run-dir", os.path.join(tmp, "bad"), *bad, ok=False)
    assert p.returncode == 2, (bad, p.returncode, p.stdout[-300:])
assert not os.path.exists(os.path.join(tmp, "bad", "state.pt"))
print("ok")
