#!/usr/bin/env bash
# test_cli_help: `--help` on every ganq command (and `ganq help CMD`) exits 0 with a usage
# text; bad flags and values exit 2 with one line naming them; an absent broker gives exit 3
# with "broker not reachable at EP" within the timeout. Needs only the ganq binary.
set -u
ROOT=${GANQ_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${GANQ_BIN:-$ROOT/build/release/bin}
G=$BIN/ganq
[ -x "$G" ] || { echo "skip: $G not built"; exit 77; }
T=${GANQ_TMP:-$(mktemp -d /tmp/ganq-cli-test.XXXXXX)}
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

expect() {   # CODE PATTERN CMD... : exit code and a pattern in stdout+stderr
    local code=$1 pat=$2; shift 2
    local out rc
    out=$("$@" 2>&1); rc=$?
    if [ "$rc" -ne "$code" ]; then bad "'$*' exited $rc, want $code: $out"; return; fi
    if [ -n "$pat" ] && ! grep -qE -- "$pat" <<<"$out"; then
        bad "'$*' output lacks /$pat/: $out"
    fi
}

# Commands must also work with a broker that is not there: --help never connects.
NB="ipc://$T/nobody.sock"
expect 0 "^usage: ganq" "$G" --help
expect 0 "exit codes" "$G" --help
expect 0 "^usage: ganq" "$G" help
expect 2 "usage: ganq" "$G"
for c in submit status watch list cancel workers events; do
    expect 0 "usage: ganq $c" "$G" --broker "$NB" "$c" --help
    expect 0 "usage: ganq $c" "$G" help "$c"
    expect 0 "usage: ganq $c" "$G" "$c" -h
    expect 2 "unknown option '--no-such-flag'" "$G" "$c" --no-such-flag
done
for k in generate synthesize sweep interpolate; do
    expect 0 "usage: ganq submit $k" "$G" submit "$k" --help
    expect 0 "--model NAME" "$G" submit "$k" --help
    expect 2 "unknown option '--bogus'" "$G" submit "$k" --bogus 1
done
expect 2 "'frobnicate' is not a ganq command" "$G" frobnicate
expect 2 "'nonsense' is not a ganq command" "$G" help nonsense
expect 2 "'paint' is not a job kind" "$G" submit paint
expect 2 "" "$G" submit

# Bad values: exit 2, the message names the flag, nothing is sent (no broker needed).
S=("$G" --broker "$NB" submit generate --model testcard --out "$T/o")
expect 2 "--count: 'ten' is not a whole number" "${S[@]}" --count ten
expect 2 "--count: 0 is outside 1..100000000" "${S[@]}" --count 0
expect 2 "--count: 100000001 is outside" "${S[@]}" --count 100000001
expect 2 "--count is required" "${S[@]}"
expect 2 "--priority: 101 is outside -100..100" "${S[@]}" --count 5 --priority 101
expect 2 "--png-level: 10 is outside 0..9" "${S[@]}" --count 5 --png-level 10
expect 2 "--jpeg-quality: 0 is outside 1..100" "${S[@]}" --count 5 --jpeg-quality 0
expect 2 "--truncation: 'x' is not a finite number" "${S[@]}" --count 5 --truncation x
expect 2 "--truncation: 0 is outside" "${S[@]}" --count 5 --truncation 0
expect 2 "--format: 'gif' is not one of" "${S[@]}" --count 5 --format gif
expect 2 "--count: needs a value" "${S[@]}" --count
expect 2 "--sheet: takes no value" "${S[@]}" --count 5 --sheet=yes
expect 2 "--out is required" "$G" submit generate --model testcard --count 5
expect 2 "--model is required" "$G" submit generate --out "$T/o" --count 5
expect 2 "--layout: 'tree' is not one of" "$G" submit synthesize --model m --out /o --per-class 2 --layout tree
expect 2 "--val-fraction: 2 is outside" "$G" submit synthesize --model m --out /o --per-class 2 --val-fraction 2
expect 2 "--truncations: '1:0:1' needs STOP" "$G" submit sweep --model m --out /o --per-value 2 --truncations 1:0:1
expect 2 "--from: '3' is not CLASS:SEED" "$G" submit interpolate --model m --out /o --steps 3 --from 3 --to 4:1
expect 2 "--mode: 'w' is not one of" "$G" submit interpolate --model m --out /o --steps 3 --from 3:1 --to 4:1 --mode w
expect 2 "--steps: 1 is outside 2..10000" "$G" submit interpolate --model m --out /o --steps 1 --from 3:1 --to 4:1
expect 2 "--state: 'sleeping' is not one of" "$G" list --state sleeping
expect 2 "needs a JOB id" "$G" status
expect 2 "unexpected argument 'b'" "$G" status a b
expect 2 "--timeout: 0 is outside" "$G" --timeout 0 list
expect 2 "--timeout: 'soon' is not a finite number" "$G" list --timeout soon
expect 2 "GANQ_TIMEOUT" env GANQ_TIMEOUT=abc "$G" list
expect 0 "events \[JOB\] \[--kind K\] \[--after SEQ\] \[--limit N\] \[--json\] \[--follow\]" \
    "$G" events --help
expect 2 "--limit: '-1' is not a whole number" "$G" --broker "$NB" events --limit -1
expect 2 "--limit: 'x' is not a whole number" "$G" --broker "$NB" events j1 --limit x
expect 2 "--limit: 0 is outside 1\.\." "$G" --broker "$NB" events --limit 0
expect 2 "--after: 'soon' is not a whole number" "$G" --broker "$NB" events --after soon
expect 2 "--kind: 'leas' is not one of submit\|lease\|" "$G" --broker "$NB" events --kind leas
expect 2 "--limit: not with --follow" "$G" --broker "$NB" events j1 --follow --limit 5
expect 2 "--follow: takes no value" "$G" --broker "$NB" events --follow=yes
expect 2 "unexpected argument 'b'" "$G" --broker "$NB" events a b
expect 2 "events.job_id: contains a character" "$G" --broker "$NB" events 'j 1'

# No broker: exit 3 within about the timeout, naming the endpoint.
t0=$(date +%s%3N)
expect 3 "broker not reachable at $NB" "$G" --broker "$NB" --timeout 0.5 list
expect 3 "broker not reachable at $NB" "$G" --broker "$NB" --timeout 0.5 status j-1 --json
expect 3 "broker not reachable at $NB" "$G" --broker "$NB" --timeout 0.5 workers
expect 3 "broker not reachable at $NB" "$G" --broker "$NB" --timeout 0.5 cancel j-1
expect 3 "broker not reachable at $NB" "$G" --broker "$NB" --timeout 0.3 watch j-1
expect 3 "broker not reachable at $NB" "$G" --broker "$NB" --timeout 0.3 events
expect 3 "broker not reachable at $NB" "$G" --broker "$NB" --timeout 0.3 events j-1 --follow
expect 3 "broker not reachable at $NB" "${S[@]}" --count 5 --timeout 0.5
expect 3 "broker not reachable at $NB" env GANQ_BROKER="$NB" GANQ_TIMEOUT=0.3 "$G" list
t1=$(date +%s%3N)
[ $((t1 - t0)) -lt 15000 ] || bad "unreachable checks took $((t1 - t0)) ms"

[ $fails -eq 0 ] || { echo "$fails failures"; exit 1; }
echo "ok"
