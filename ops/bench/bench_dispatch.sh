#!/usr/bin/env bash
# bench_dispatch.sh: broker dispatch rate. Starts ganq-broker and W testcard workers over
# ipc:// in a scratch dir, submits one generate job of small tasks (so that dispatch, not
# generation, dominates), times submit -> done (polling status every 50 ms), and prints
# tasks/s and images/s for each worker count. A benchmark, not a test: it prints figures.
#
#   ops/bench/bench_dispatch.sh [WORKERS...]      default: 1 4 16
#   env: BENCH_IMAGES (default 2000), BENCH_TASK_SIZE (default 2), BENCH_FORMAT (png),
#        GANQ_BIN (default build/release/bin)
set -u
cd "$(dirname "$0")/../.."
export GANQ_ROOT=$(pwd)
IMAGES=${BENCH_IMAGES:-2000}
TS=${BENCH_TASK_SIZE:-2}
FMT=${BENCH_FORMAT:-png}
COUNTS=("$@")
[ ${#COUNTS[@]} -gt 0 ] || COUNTS=(1 4 16)
unset GANQ_TMP
. tests/integration/lib/jobsys.sh
if [ ! -x "$BIN/ganq-broker" ] || [ ! -x "$BIN/ganq-worker" ]; then
    echo "bench_dispatch: needs $BIN/ganq-broker and ganq-worker"; exit 1
fi

rows=()
for W in "${COUNTS[@]}"; do
    js_init
    js_start_broker
    for i in $(seq 1 "$W"); do js_start_worker "w$i"; done
    js_wait_workers "$W" 30
    t0=$(js_now_ms)
    JOB=$(js_submit generate --model testcard --count "$IMAGES" --seed 1 --format "$FMT" \
          --task-size "$TS" --out "$T/out")
    while :; do
        s=$(js_state "$JOB")
        case "$s" in done) break ;; failed|cancelled) js_fail "job $s" ;; esac
        sleep 0.05
    done
    t1=$(js_now_ms)
    S=$(js_ganq status "$JOB" --json --no-outputs)
    tasks=$(js_field "$S" 'd["tasks"]["total"]')
    ms=$((t1 - t0))
    rows+=("$(printf '%7d %7d %7d %9.2f %9.1f %9.1f' "$W" "$tasks" "$IMAGES" \
        "$(echo "$ms / 1000" | bc -l)" "$(echo "$tasks * 1000 / $ms" | bc -l)" \
        "$(echo "$IMAGES * 1000 / $ms" | bc -l)")")
    js_cleanup
    trap - EXIT
    JS_WPID=()
    JS_BPID=""
    rm -rf "$T"
done
echo "bench_dispatch: $IMAGES testcard images, task size $TS, format $FMT, $(nproc) cores, $(date -u +%F), binaries $BIN, tree $(git rev-parse --short HEAD)"
printf '%7s %7s %7s %9s %9s %9s\n' workers tasks images seconds tasks/s images/s
for r in "${rows[@]}"; do echo "$r"; done
