#!/usr/bin/env bash
# tests/run.sh: run every test of ganq and print one closing line "N passed, N failed, N skipped".
#
# Order: cmocka unit binaries (built under ASan+UBSan into build/asan/tests), then
# tests/integration/test_*, then tests/reference/test_* (.sh run with bash, .py with Debian's
# /usr/bin/python3). A test passes with exit 0, is skipped with exit 77 (it must print why),
# and fails otherwise, or when it runs past its time limit (GANQ_TEST_TIMEOUT, default 600 s).
#
#   tests/run.sh [--long] [PATTERN]    PATTERN filters test names (grep -E)
#
# Tests find binaries through GANQ_BIN (build/release/bin) and GANQ_ASAN_BIN (build/asan/bin),
# and the shared material through GANQ_SHARED (../shared). Each test gets its own scratch
# directory in GANQ_TMP; they must bind only loopback or ipc:// endpoints inside it.
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
long=0
pat=""
for a in "$@"; do
    case "$a" in
    --long) long=1 ;;
    *) pat="$a" ;;
    esac
done
export GANQ_ROOT="$ROOT"
export GANQ_BIN="${GANQ_BIN:-$ROOT/build/release/bin}"
export GANQ_ASAN_BIN="${GANQ_ASAN_BIN:-$ROOT/build/asan/bin}"
export GANQ_SHARED="${GANQ_SHARED:-$ROOT/../shared}"
export GANQ_LONG=$long
export PYTHON=/usr/bin/python3
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
timeout_s="${GANQ_TEST_TIMEOUT:-600}"
logdir="$ROOT/build/test-logs"
mkdir -p "$logdir"

passed=0 failed=0 skipped=0
failures=()
start_all=$(date +%s)

run_one() {   # name, command...
    local name=$1; shift
    [ -n "$pat" ] && ! echo "$name" | grep -qE "$pat" && return
    local safe=${name//\//_}   # names hold a '/' (unit/..., reference/...)
    local log="$logdir/$safe.log" t0 t1 rc
    export GANQ_TMP
    GANQ_TMP=$(mktemp -d "/tmp/ganq-test-$safe.XXXXXX")
    t0=$(date +%s)
    timeout --kill-after=10 "$timeout_s" "$@" >"$log" 2>&1
    rc=$?
    t1=$(date +%s)
    case $rc in
    0)  passed=$((passed + 1)); printf 'PASS  %-40s %4ss\n' "$name" $((t1 - t0)) ;;
    77) skipped=$((skipped + 1)); printf 'SKIP  %-40s %s\n' "$name" "$(tail -n 1 "$log")" ;;
    *)  failed=$((failed + 1)); failures+=("$name")
        printf 'FAIL  %-40s %4ss (exit %d; log %s)\n' "$name" $((t1 - t0)) "$rc" "$log"
        tail -n 30 "$log" | sed 's/^/      | /' ;;
    esac
    [ $rc -eq 0 ] && rm -rf "$GANQ_TMP"
}

for t in build/asan/tests/test_*; do
    [ -x "$t" ] || continue
    run_one "unit/$(basename "$t")" "$t"
done
for dir in tests/integration tests/reference; do
    for t in "$dir"/test_*; do
        [ -f "$t" ] || continue
        case "$t" in
        *.sh) run_one "$(basename "$dir")/$(basename "$t" .sh)" bash "$t" ;;
        *.py) run_one "$(basename "$dir")/$(basename "$t" .py)" /usr/bin/python3 "$t" ;;
        esac
    done
done

echo "total $(( $(date +%s) - start_all ))s"
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
