#!/usr/bin/env bash
# test_engine_cli.sh: ganq-engine's command line: --help on every command, usage errors
# (exit 2) and failures (exit 1) with one-line messages, CUDA refused clearly, and
# noise -> sample -> info -> bench on the built-in testcard, with the output checked by numpy.
set -u
E="${GANQ_BIN:-build/release/bin}/ganq-engine"
PY=/usr/bin/python3
T="${GANQ_TMP:-$(mktemp -d)}"
[ -x "$E" ] || { echo "skip: $E not built"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

"$E" --help >/dev/null || fail "--help"
for c in info sample noise bench; do
    "$E" $c --help | grep -q "usage: ganq-engine $c" || fail "$c --help"
done
"$E" frobnicate >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown command should exit 2"
"$E" noise --seed 1 >/dev/null 2>&1; [ $? -eq 2 ] || fail "noise without required options should exit 2"
"$E" noise --seed 1 --count 2 --z-dim 8 --truncation 1.5 --out "$T/z.npy" 2>"$T/err"; [ $? -eq 2 ] || fail "truncation 1.5"
grep -q "truncation" "$T/err" || fail "truncation message"
"$E" info /nonexistent.safetensors 2>"$T/err"; [ $? -eq 1 ] || fail "missing model should exit 1"
grep -q "nonexistent" "$T/err" || fail "missing model message"

"$E" noise --seed 7 --index 10 --count 5 --truncation 0.5 --z-dim 128 --out "$T/z.npy" || fail noise
$PY -c "import numpy as np; np.save('$T/c.npy', np.array([0,1,2,3,9], np.int32)); np.save('$T/bad.npy', np.array([0,10], np.int64))"
"$E" sample testcard --z "$T/z.npy" --classes "$T/c.npy" --truncation 0.5 --out "$T/o.npy" || fail sample
$PY - "$T" <<'PYEOF' || fail "sample output"
import sys, numpy as np
t = sys.argv[1]
o = np.load(t + "/o.npy"); z = np.load(t + "/z.npy")
assert o.shape == (5, 3, 32, 32) and o.dtype == np.float32, o.shape
assert o.min() >= -1 and o.max() <= 1
# the z band of the testcard: last 4 rows show clamp(z / 2)
assert np.allclose(o[:, 0, 28:, :].reshape(5, 128), np.clip(z / 2, -1, 1))
assert not np.array_equal(o[0], o[1])
PYEOF
"$E" sample testcard --z "$T/z.npy" --classes "$T/c.npy" --truncation 0.5 --out "$T/o.npy" --device cuda 2>"$T/err"
[ $? -ne 0 ] || fail "--device cuda should fail"
grep -q "CUDA backend not built in this version" "$T/err" || fail "cuda message"
"$E" sample testcard --z "$T/z.npy" --classes "$T/bad.npy" --truncation 0.5 --out "$T/o2.npy" 2>"$T/err"
[ $? -eq 2 ] || fail "bad class should be a usage error"
grep -q "classes" "$T/err" || fail "bad class message"
"$E" info testcard --json | $PY -c "import json,sys; d=json.load(sys.stdin); assert d['family']=='testcard' and d['z_dim']==128 and len(d['class_names'])==10 and len(d['sha256'])==64" || fail "info --json"
"$E" bench testcard --batch 8 --iters 5 --json | $PY -c "import json,sys; d=json.load(sys.stdin); assert d['images_per_s'] > 0" || fail bench
echo "ok"
