#!/usr/bin/python3
"""test_parity_biggan.py: ganq-engine vs the PyTorch reference on BigGAN (BR layout).

Hierarchical z, shared embedding, ccbn, SN folded from u0 by BR's eval power step. Same
random checkpoint (G_ema.pth layout, converted by ops/convert-weights), same z, classes and
truncation (BR has no standing stats: the truncation only scales z); pass when every case
has fp32 max abs error <= 1e-4. make test: biggan-128 and cifar32 at full width (TF Hub
preset ch 96 / ganq cifar32 ch 64), biggan-256/512 at ch=8. GANQ_LONG=1: 256/512 full width.
Skips (77) only when the engine binary is not built.
"""
import sys

import refcommon as C


def main():
    C.engine_path()
    p = C.Parity("parity_biggan")
    C.run_model(p, "biggan", "128", None, [0.14, 0.58, 1.0], batch=1, mixtures=(0.4,))
    C.run_model(p, "biggan", "cifar32", None, C.DEEP_TRUNCATIONS, batch=4)
    for size in ("256", "512"):
        if C.LONG:
            C.run_model(p, "biggan", size, None, [0.14, 0.4, 0.58, 1.0], batch=1)
        else:
            C.run_model(p, "biggan", size, 8, [0.28, 1.0], batch=1, mixtures=(0.5,))
    return p.finish()


if __name__ == "__main__":
    sys.exit(main())
