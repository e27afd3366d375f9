"""gq_safetensors.py: a small safetensors writer and reader for ganq model files.

Format (worker/engine/model/FORMAT.md): 8-byte little-endian header length N, N bytes of JSON
header ({"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}}),
then the tensor bytes. This writer pads the header with spaces so the data starts 8-byte
aligned, lays the data out in header order with no gaps, and puts tensors whose byte size is
not a multiple of 8 (e.g. a scalar gamma) last so every other tensor is 8-byte aligned.
Written here (no `safetensors` package) because it is not installed on the target machines.
Assumes a little-endian host, as safetensors data is little-endian.
"""
import json
import struct
import sys

import numpy as np
import torch

_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
_NAMES = {v: k for k, v in _DTYPES.items()}
MAX_HEADER = 100 * 1000 * 1000

if sys.byteorder != "little":
    raise ImportError("gq_safetensors: big-endian hosts are not supported")


def _raw(t):
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def write(path, tensors, metadata, dtype="F32"):
    """tensors: list of (name, fp32 torch tensor) in the wanted order; metadata: dict of str.
    Every tensor is cast to `dtype` (F32, F16 or BF16). Raises ValueError on bad input."""
    if dtype not in _DTYPES:
        raise ValueError("dtype %r: allowed F32, F16, BF16" % (dtype,))
    for k, v in metadata.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise ValueError("metadata %r: keys and values must be strings" % (k,))
    names = [n for n, _ in tensors]
    if len(set(names)) != len(names):
        raise ValueError("duplicate tensor name")
    td = _DTYPES[dtype]
    esize = torch.tensor([], dtype=td).element_size()
    items = [(n, t.to(td)) for n, t in tensors]
    aligned = [it for it in items if (it[1].numel() * esize) % 8 == 0]
    rest = [it for it in items if (it[1].numel() * esize) % 8 != 0]
    header = {"__metadata__": dict(metadata)}
    blobs = []
    off = 0
    for n, t in aligned + rest:
        b = _raw(t)
        header[n] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    hj = json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode()
    hj += b" " * ((-len(hj)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)


def read(path):
    """Returns (metadata dict, {name: fp32 torch tensor}). Raises ValueError on a bad file."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError("%s: shorter than the 8-byte header length" % path)
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER or 8 + n > len(data):
        raise ValueError("%s: header length %d beyond the file or the limit" % (path, n))
    header = json.loads(data[8:8 + n].decode())
    meta = header.pop("__metadata__", {})
    body = memoryview(data)[8 + n:]
    spans = []
    out = {}
    for name, d in header.items():
        b, e = d["data_offsets"]
        if d["dtype"] not in _DTYPES:
            raise ValueError("%s: tensor %r dtype %r" % (path, name, d["dtype"]))
        td = _DTYPES[d["dtype"]]
        esize = torch.tensor([], dtype=td).element_size()
        count = int(np.prod(d["shape"])) if d["shape"] else 1
        if not 0 <= b <= e <= len(body) or e - b != count * esize:
            raise ValueError("%s: tensor %r offsets %r do not fit" % (path, name, [b, e]))
        spans.append((b, e))
        raw = bytes(body[b:e])
        if td == torch.bfloat16:
            t = torch.frombuffer(bytearray(raw), dtype=torch.int16).view(torch.bfloat16)
        else:
            t = torch.frombuffer(bytearray(raw), dtype=td)
        out[name] = t.reshape(d["shape"]).float()
    spans.sort()
    pos = 0
    for b, e in spans:
        if b != pos:
            raise ValueError("%s: gap or overlap in tensor data at byte %d" % (path, b))
        pos = e
    if pos != len(body):
        raise ValueError("%s: %d trailing bytes after the tensor data" % (path, len(body) - pos))
    return meta, out
