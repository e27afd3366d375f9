#!/usr/bin/env bash
# test_cli_kinds: every job kind's flags, end to end through `ganq run` (the same client,
# broker, plan and writers as the distributed mode): synthesize as an ImageFolder tree with
# a val split, synthesize as WebDataset shards of jpeg, a truncation sweep given as a
# START:STOP:STEP range, and an interpolation between a class id and a class name. Each
# exits 0 and leaves exactly the files its flags ask for.
set -u
ROOT=${GANQ_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${GANQ_BIN:-$ROOT/build/release/bin}
G=$BIN/ganq
T=${GANQ_TMP:-$(mktemp -d /tmp/ganq-cli-test.XXXXXX)}
[ -x "$G" ] || { echo "skip: $G not built"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
cd "$T"
run() { timeout 60 "$G" run "$@" --model testcard --db "$T/k.db" >/dev/null 2>"$T/err" ||
            fail "ganq run $* exited $?: $(tail -n 3 "$T/err")"; }
count() { find "$1" -type f -name "$2" | wc -l; }

run synthesize --per-class 5 --classes 0-2 --val-fraction 0.2 --out "$T/if"
[ "$(count "$T/if/train" '*.png')" -eq 12 ] || fail "imagefolder: $(count "$T/if/train" '*.png') train images, want 12"
[ "$(count "$T/if/val" '*.png')" -eq 3 ] || fail "imagefolder: want 3 val images"
[ "$(ls "$T/if/train" | wc -l)" -eq 3 ] || fail "imagefolder: want 3 class folders"
[ -f "$T/if/val/class0/000000.png" ] || fail "imagefolder: no val/class0/000000.png ($(ls "$T/if/val"))"

run synthesize --per-class 5 --classes 0-2 --layout wds --shard-size 4 --format jpeg --out "$T/wds"
[ "$(count "$T/wds" 'train-*.tar')" -eq 4 ] || fail "wds: want 4 shards of 4 (15 samples)"
n=$(for f in "$T"/wds/train-*.tar; do tar -tf "$f"; done | grep -c '\.jpg$')
[ "$n" -eq 15 ] || fail "wds: $n jpg samples in the shards, want 15"

run sweep --truncations 0.25:1:0.25 --per-value 3 --out "$T/sw"
for v in 0.25 0.50 0.75 1.00; do
    [ "$(count "$T/sw/t$v" '*.png')" -eq 3 ] || fail "sweep: want 3 images at $v ($(ls "$T/sw"))"
done

run interpolate --from 1:5 --to class3:6 --steps 5 --mode both --out "$T/ip"
[ "$(count "$T/ip" '0000*.png')" -eq 5 ] || fail "interpolate: want 5 steps"
cmp -s "$T/ip/000000.png" "$T/ip/000004.png" && fail "interpolate: both ends identical"

# A name the model does not have: the broker says so, exit 1.
timeout 30 "$G" run interpolate --model testcard --from 1:5 --to no-such-class:6 --steps 3 \
    --out "$T/bad" --db "$T/k.db" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] || fail "unknown class name exited $rc, want 1"
grep -q "no-such-class" "$T/err" || fail "unknown class message does not name it: $(cat "$T/err")"
echo "ok: synthesize (imagefolder, wds), sweep, interpolate"
