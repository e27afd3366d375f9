# tests/integration/lib/jobsys.sh: shared helper of the job-system integration tests.
# Source it from a test (bash). It runs real processes: one ganq-broker on ipc:// endpoints
# inside the test's scratch dir ($GANQ_TMP, or a fresh mktemp -d when run alone), N
# ganq-worker processes, and the ganq CLI; waits with timeouts; compares output trees by
# the sha256 of every file. Everything started here is killed on exit.
#
#   js_init                         check binaries (skip with 77 if missing), set up $T
#   js_start_broker [ARGS..]        start (or restart, on the same db) the broker
#   js_start_worker NAME [VAR=V..]  start a worker with extra environment (fault hooks)
#   js_wait_workers N [SEC]         until the broker lists N live workers
#   js_ganq ARGS..                  the CLI pointed at the broker
#   js_submit ARGS..                `ganq submit ARGS` -> job id on stdout
#   js_wait_state JOB SEC           until the job is terminal; prints its state
#   js_field JSON EXPR              a field of a JSON document (python expression on `d`)
#   js_tree DIR                     "sha256  path" of every visible file under DIR, sorted
#   js_fail MSG                     print and exit 1
#
# Timing knobs: JS_HEARTBEAT_MS (default 200) and JS_LIVENESS (default 3) go to the broker.
set -u

ROOT=${GANQ_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
BIN=${GANQ_BIN:-$ROOT/build/release/bin}
PY=/usr/bin/python3
JS_HEARTBEAT_MS=${JS_HEARTBEAT_MS:-200}
JS_LIVENESS=${JS_LIVENESS:-3}
declare -A JS_WPID=()
JS_BPID=""

js_fail() { echo "FAIL: $*" >&2; js_dump_logs; exit 1; }

js_dump_logs() {
    for f in "$T"/broker.log "$T"/worker-*.log; do
        [ -f "$f" ] || continue
        echo "---- tail of $f" >&2
        tail -n 15 "$f" >&2
    done
}

js_cleanup() {
    local p
    for p in "${JS_WPID[@]}" $JS_BPID; do
        kill -TERM "$p" 2>/dev/null
    done
    sleep 0.3
    for p in "${JS_WPID[@]}" $JS_BPID; do
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
}

js_init() {
    local b
    for b in ganq ganq-broker ganq-worker; do
        if [ ! -x "$BIN/$b" ]; then
            echo "skip: needs $BIN/$b (not built in this tree yet)"
            exit 77
        fi
    done
    T=${GANQ_TMP:-$(mktemp -d /tmp/ganq-js.XXXXXX)}
    mkdir -p "$T"
    CLIENT_EP="ipc://$T/clients.sock"
    WORKER_EP="ipc://$T/workers.sock"
    DB="$T/ganq.db"
    trap js_cleanup EXIT
}

js_ganq() { "$BIN/ganq" --broker "$CLIENT_EP" --timeout "${JS_TIMEOUT:-5}" "$@"; }

js_start_broker() {
    "$BIN/ganq-broker" --db "$DB" --clients "$CLIENT_EP" --workers "$WORKER_EP" \
        --heartbeat-ms "$JS_HEARTBEAT_MS" --liveness "$JS_LIVENESS" "$@" >>"$T/broker.log" 2>&1 &
    JS_BPID=$!
    local i
    for i in $(seq 1 100); do
        if js_ganq workers --json >/dev/null 2>&1; then return 0; fi
        kill -0 "$JS_BPID" 2>/dev/null || js_fail "broker exited at start"
        sleep 0.1
    done
    js_fail "broker did not answer within 10 s"
}

js_kill_broker() {   # kill -9
    kill -KILL "$JS_BPID" 2>/dev/null
    wait "$JS_BPID" 2>/dev/null
    JS_BPID=""
}

js_start_worker() {
    local name=$1; shift
    env "$@" "$BIN/ganq-worker" --broker "$WORKER_EP" --name "$name" \
        >>"$T/worker-$name.log" 2>&1 &
    JS_WPID[$name]=$!
}

js_kill_worker() {   # NAME: kill -9
    local p=${JS_WPID[$1]}
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
    unset "JS_WPID[$1]"
}

js_field() {   # JSON EXPR  (EXPR in terms of d, e.g. 'd["state"]')
    $PY -c 'import json,sys; d=json.loads(sys.argv[1]); v=eval(sys.argv[2]); print(v if not isinstance(v,(dict,list)) else json.dumps(v))' "$1" "$2"
}

js_live_workers() {
    local j
    j=$(js_ganq workers --json 2>/dev/null) || { echo -1; return; }
    js_field "$j" 'sum(1 for w in d if w["state"] != "dead")'
}

js_wait_workers() {   # N [SEC]
    local n=$1 sec=${2:-15} i
    for i in $(seq 1 $((sec * 10))); do
        [ "$(js_live_workers)" -ge "$n" ] 2>/dev/null && return 0
        sleep 0.1
    done
    js_fail "fewer than $n workers registered within $sec s (have $(js_live_workers))"
}

js_submit() {
    local id
    id=$(js_ganq submit "$@") || js_fail "submit $* failed"
    [ -n "$id" ] || js_fail "submit printed no job id"
    echo "$id"
}

js_state() {   # JOB -> state, or "?" when the broker does not answer
    local j
    j=$(js_ganq status "$1" --json --no-outputs 2>/dev/null) || { echo "?"; return; }
    js_field "$j" 'd["state"]'
}

js_wait_state() {   # JOB SEC -> terminal state (fails on timeout)
    local job=$1 sec=$2 i s
    for i in $(seq 1 $((sec * 10))); do
        s=$(js_state "$job")
        case "$s" in done|failed|cancelled) echo "$s"; return 0 ;; esac
        sleep 0.1
    done
    js_fail "job $job not finished within $sec s (state $s)"
}

js_tree() {   # DIR: sha256 of every visible file (temp files of killed writers excluded)
    (cd "$1" && find . -type f ! -name '.*.tmp.*' -print0 | LC_ALL=C sort -z |
        xargs -0 -r sha256sum)
}

js_now_ms() { date +%s%3N; }
