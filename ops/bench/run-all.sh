#!/usr/bin/env bash
# run-all.sh: what `make bench` runs. Benchmarks print figures; they are not tests and assert
# nothing about speed. Each prints the machine load it ran under; copy the figures, with
# machine, date and commit, into ops/bench/RESULTS.md.
#   1. bench_dispatch.sh     broker dispatch: tasks/s and images/s with 1, 4, 16 testcard workers
#   2. bench_engine_cpu.py   CPU engine vs Debian torch, same weights/batch/threads, same run
#   3. bench_synthesis.py    synthesize job end to end vs the bare engine, per output format
set -euo pipefail
cd "$(dirname "$0")/../.."
echo "== $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD 2>/dev/null || echo '?') on $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== dispatch"
ops/bench/bench_dispatch.sh
echo "== engine vs torch (CPU)"
/usr/bin/python3 ops/bench/bench_engine_cpu.py
echo "== synthesis job vs bare engine"
/usr/bin/python3 ops/bench/bench_synthesis.py
