#!/usr/bin/python3
"""test_parity_deep.py: ganq-engine vs the PyTorch reference on BigGAN-deep (HF layout).

Same random checkpoint (published layout, converted by ops/convert-weights), same z, classes
and truncation; pass when every case has fp32 max abs error <= 1e-4. Truncations include the
float-noise cases of biggan-reference.md 1.4 (0.14, 0.28, 0.56 land on S[i+1]; 0.58, 0.94 on
S[i]; float32(0.4) near S[21]) and non-grid values (0.734) where the mirrored interpolation
matters. Classes: one-hot ids, soft mixtures and one-hot vectors.
make test: deep-128 at full width on the trap truncations and at ch=16 on all of them,
deep-256/512 at ch=8. GANQ_LONG=1: 256/512 at full width.
Skips (77) only when the engine binary is not built.
"""
import sys

import refcommon as C


def main():
    C.engine_path()
    p = C.Parity("parity_deep")
    # Full width: the trap truncations; every truncation of the list at ch=16 (cheap).
    trap = [0.14, C.F32_04, 0.58, 0.734, 1.0]
    if C.LONG:
        C.run_model(p, "biggan-deep", 128, None, C.DEEP_TRUNCATIONS, batch=2)
    else:
        C.run_model(p, "biggan-deep", 128, None, trap, batch=1, mixtures=(0.94,))
        C.run_model(p, "biggan-deep", 128, 16, [t for t in C.DEEP_TRUNCATIONS if t not in trap],
                    batch=2)
    for size in (256, 512):
        if C.LONG:
            C.run_model(p, "biggan-deep", size, None, C.DEEP_TRUNCATIONS, batch=1)
        else:
            C.run_model(p, "biggan-deep", size, 8, [0.14, C.F32_04, 0.58, 0.734, 1.0], batch=1,
                        mixtures=(0.4,))
    return p.finish()


if __name__ == "__main__":
    sys.exit(main())
