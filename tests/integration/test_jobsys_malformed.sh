#!/usr/bin/env bash
# test_jobsys_malformed: hostile and broken input on both broker endpoints. Raw garbage,
# truncated frames, wrong protocol versions, a frame without a body, absurd counts, bad
# enums and ranges, output paths escaping with "..", relative paths, model names that are
# paths, oversized ids: each gets a clear Error reply (code, and the field where one is to
# blame), never a crash. Unknown model and unknown job through the CLI exit 1 naming them.
# Garbage on the worker endpoint is survived too. The broker keeps serving: healthy workers
# stay registered and a normal job completes.
. "$(dirname "$0")/lib/jobsys.sh"
js_init
js_start_broker
for w in a b c; do js_start_worker "$w"; done
js_wait_workers 3
ENC=$(dirname "$0")/lib/pbenc.py
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

send() {   # CASE ENDPOINT -> reply JSON (or "" when none)
    local hex
    hex=$($PY "$ENC" "$1" "$T/o-$1") || { bad "pbenc $1"; return; }
    "$BIN/ganq" debug-send --broker "$2" --timeout 3 --hex "$hex" 2>/dev/null
}

expect_error() {   # CASE CODE_REGEX FIELD_SUBSTRING
    local r code field msg
    r=$(send "$1" "$CLIENT_EP")
    if [ -z "$r" ]; then bad "$1: no reply"; return; fi
    if [ "$(js_field "$r" 'd["body"]')" != error ]; then bad "$1: not an error: $r"; return; fi
    code=$(js_field "$r" 'd["code"]')
    field=$(js_field "$r" 'd.get("field","")')
    msg=$(js_field "$r" 'd.get("message","")')
    grep -qxE "$2" <<<"$code" || bad "$1: code $code, want $2 ($r)"
    [ -z "$msg" ] && bad "$1: empty message"
    if [ -n "$3" ] && ! grep -q -- "$3" <<<"$field $msg"; then
        bad "$1: neither field nor message names '$3': $r"
    fi
    echo "$1 -> $code [$field] $msg"
}

expect_error garbage malformed ""
expect_error truncated malformed ""
expect_error version2 version "version"
expect_error version0 version "version"
expect_error nobody "invalid" "body"
expect_error count_huge invalid "count"
expect_error count_zero invalid "count"
expect_error kind_bad invalid "kind"
expect_error priority_bad invalid "priority"
expect_error trunc_nan invalid "truncation"
expect_error out_dotdot invalid "out_dir"
expect_error out_relative invalid "out_dir"
expect_error model_path "invalid|not_found" "model"
expect_error jobid_long invalid "job_id"
expect_error valid_status not_found "j-no-such-job"
[ -e /tmp/etc/ganq ] && bad "a directory was created through the .. path"

# Garbage on the worker endpoint: the broker may answer or drop it, but must survive.
for c in garbage version2 count_huge; do send "$c" "$WORKER_EP" >/dev/null; done
kill -0 "$JS_BPID" 2>/dev/null || bad "broker died on worker-endpoint garbage"

# Through the CLI: unknown model, unknown job.
out=$(js_ganq submit generate --model no-such-model --count 4 --out "$T/nm" 2>&1); rc=$?
[ $rc -eq 1 ] || bad "unknown model: exit $rc, want 1 ($out)"
grep -q "no-such-model" <<<"$out" || bad "unknown model message does not name it: $out"
echo "unknown model -> $out"
out=$(js_ganq status j-no-such-job 2>&1); rc=$?
[ $rc -eq 1 ] || bad "unknown job: exit $rc, want 1 ($out)"
echo "unknown job -> $out"

# Still serving.
kill -0 "$JS_BPID" 2>/dev/null || js_fail "the broker died"
[ "$(js_live_workers)" -ge 3 ] || bad "workers dropped after the garbage"
JOB=$(js_submit generate --model testcard --count 12 --seed 4 --format png --out "$T/ok")
[ "$(js_wait_state "$JOB" 30)" = done ] || bad "a normal job did not complete afterwards"
[ $fails -eq 0 ] || js_fail "$fails checks failed"
echo "ok"
