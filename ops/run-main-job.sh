#!/usr/bin/env bash
# run-main-job.sh: what `make run` does after building. Runs ganq's main job in embedded mode
# (`ganq run`: broker and workers in this process over inproc://) on the default model:
#   1. a class sheet plus 100 PNGs (generate --sheet), in out/main/generate/
#   2. a small labelled ImageFolder data set (synthesize: 20 images per class, 10% val split,
#      labels.txt, manifest), in out/main/dataset/
# The default model is the project's own CIFAR-10 BigGAN, ops/models/biggan-cifar10-ch16.safetensors
# (ops/train; its compute is in the file's provenance and ops/train/README.md).
# If that file is absent (a checkout without it), a random-weight model of the same
# architecture is built instead, and this script says so loudly: its images are noise-like.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build/release/bin
PY=/usr/bin/python3
OUT=${GANQ_RUN_OUT:-out/main}
case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac  # jobs need an absolute --out
MODELS=ops/models
MODEL=biggan-cifar10-ch16

if [ ! -f "$MODELS/$MODEL.safetensors" ]; then
    echo "run: ops/models/$MODEL.safetensors is missing: using a RANDOM-WEIGHT cifar32 model instead (its images will not look like anything)" >&2
    MODELS=build/models
    MODEL=random-cifar32
    if [ ! -f "$MODELS/$MODEL.safetensors" ]; then

        mkdir -p "$MODELS"
        $PY ops/reference/make_checkpoint.py --family biggan --preset cifar32 --ch 16 \
            --out "$MODELS/G_ema_random.pth" --seed 1
        $PY ops/convert-weights --from biggan --preset cifar32 --ch 16 \
            --provenance '{"note": "random weights, not trained"}' \
            --out "$MODELS/$MODEL.safetensors" "$MODELS/G_ema_random.pth"
    fi
fi

rm -rf "$OUT"
mkdir -p "$OUT"
echo "== ganq run generate: 100 images + class sheet from $MODELS/$MODEL.safetensors"
$BIN/ganq run generate --models "$MODELS" --model "$MODEL" --db "$OUT/ganq.db" \
    --count 100 --classes all --seed 1 --truncation 1.0 --format png --sheet \
    --out "$OUT/generate"
echo "== ganq run synthesize: 20 images per class, ImageFolder with a 10% val split"
$BIN/ganq run synthesize --models "$MODELS" --model "$MODEL" --db "$OUT/ganq.db" \
    --per-class 20 --classes all --seed 2 --truncation 1.0 --val-fraction 0.1 \
    --layout imagefolder --format png --out "$OUT/dataset"
echo
echo "sheet:    $OUT/generate/sheet.png"
echo "images:   $(find "$OUT/generate" -name '[0-9]*.png' | wc -l) PNG files in $OUT/generate"
echo "data set: $(find "$OUT/dataset" -name '*.png' | wc -l) PNG files in $OUT/dataset (labels.txt, manifest.jsonl)"
