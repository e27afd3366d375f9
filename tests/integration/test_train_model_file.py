"""The shipped demo model ops/models/biggan-cifar10-ch16.safetensors: small (< 2 MB), a
ganq format-1 'biggan' file for 32x32 / 10 CIFAR-10 classes whose provenance states the
training compute (device, minutes, iterations, batch size), and, through the PyTorch
reference (ops/reference/biggan_ref.from_model_file), it generates finite images in [-1,1]
that vary with z and with the class. Skips (77) if the file is not there."""
import json
import os
import sys

import torch

ROOT = os.environ.get("GANQ_ROOT", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
PATH = os.path.join(ROOT, "ops", "models", "biggan-cifar10-ch16.safetensors")
if not os.path.exists(PATH):
    print("skip: %s not present" % PATH)
    sys.exit(77)
assert os.path.getsize(PATH) < 2 * 1024 * 1024, os.path.getsize(PATH)
sys.path.insert(0, os.path.join(ROOT, "ops", "reference"))
import biggan_ref as R  # noqa: E402
import gq_safetensors  # noqa: E402

meta, ts = gq_safetensors.read(PATH)
assert meta["ganq.format_version"] == "1" and meta["ganq.family"] == "biggan", meta
arch = json.loads(meta["ganq.arch"])
assert arch["resolution"] == 32 and arch["num_classes"] == 10 and arch["ch"] == 16, arch
names = json.loads(meta["ganq.class_names"])
assert names[0] == "airplane" and names[9] == "truck", names
prov = json.loads(meta["ganq.provenance"])
comp = prov["compute"]
for k in ("device", "train_minutes", "iterations", "batch_size"):
    assert k in comp, (k, comp)
assert comp["device"] == "cpu" and comp["iterations"] > 0 and comp["train_minutes"] > 0

torch.set_num_threads(1)
m = R.from_model_file(PATH)
g = torch.Generator().manual_seed(0)
z = torch.randn(20, arch["z_dim"], generator=g).clamp(-2, 2)
y = torch.nn.functional.one_hot(torch.arange(20) % 10, 10).float()
with torch.no_grad():
    x = m(z, y, 1.0)
    x_cls = m(z, y.roll(1, 0), 1.0)  # same z, other classes
assert x.shape == (20, 3, 32, 32) and torch.isfinite(x).all() and x.abs().max() <= 1
assert x.std() > 0.1, x.std()
assert (x[0] - x[10]).abs().mean() > 0.02           # z changes (same class 0)
assert (x - x_cls).abs().mean() > 0.02              # class changes the image
print("ok")
