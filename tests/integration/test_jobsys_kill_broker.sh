#!/usr/bin/env bash
# test_jobsys_kill_broker: kill -9 the broker mid-job and restart it on the same database
# and endpoints. Nothing acknowledged is lost: the running job and a job whose submit was
# acknowledged just before the kill are both still known, completed tasks stay completed
# (tasks.done never goes back), the workers reconnect on their own, both jobs complete,
# and their files are byte-identical to a fault-free run.
. "$(dirname "$0")/lib/jobsys.sh"
js_init
js_start_broker
for w in a b c; do js_start_worker "$w" GANQ_FAULT_SLOW_MS=250; done
js_wait_workers 3

N=60
ARGS=(generate --model testcard --count $N --classes 0-9 --seed 9 --format png --task-size 4)
REF=$(js_submit "${ARGS[@]}" --out "$T/ref")
[ "$(js_wait_state "$REF" 50)" = done ] || js_fail "fault-free job not done"

JOB=$(js_submit "${ARGS[@]}" --out "$T/out")
for i in $(seq 1 300); do
    S=$(js_ganq status "$JOB" --json --no-outputs 2>/dev/null) && \
        [ "$(js_field "$S" 'd["tasks"]["done"]')" -ge 3 ] && break
    sleep 0.05
done
[ "$(js_field "$S" 'd["tasks"]["done"]')" -ge 3 ] || js_fail "job made no progress"
LATE=$(js_submit "${ARGS[@]}" --out "$T/late")   # acknowledged: must survive the kill
S=$(js_ganq status "$JOB" --json --no-outputs)
acked=$(js_field "$S" 'd["tasks"]["done"]')
js_kill_broker
echo "killed the broker (kill -9) with $acked/15 tasks of $JOB acknowledged done; $LATE acknowledged"
sleep 0.5
t0=$(js_now_ms)
js_start_broker
echo "restarted the broker on the same db in $(( $(js_now_ms) - t0 )) ms"

S=$(js_ganq status "$JOB" --json --no-outputs) || js_fail "$JOB unknown after restart"
now=$(js_field "$S" 'd["tasks"]["done"]')
[ "$now" -ge "$acked" ] || js_fail "tasks.done went back from $acked to $now"
js_ganq status "$LATE" --json --no-outputs >/dev/null || js_fail "acknowledged job $LATE lost"

t0=$(js_now_ms)
js_wait_workers 3 20
echo "workers re-registered $(( $(js_now_ms) - t0 )) ms after the restart"
[ "$(js_wait_state "$JOB" 50)" = done ] || js_fail "$JOB not done after the restart"
[ "$(js_wait_state "$LATE" 50)" = done ] || js_fail "$LATE not done after the restart"
for d in out late; do
    if ! diff <(js_tree "$T/ref") <(js_tree "$T/$d") >/dev/null; then
        diff <(js_tree "$T/ref") <(js_tree "$T/$d") | head -10
        js_fail "$d differs from the fault-free run"
    fi
done
echo "ok: both jobs complete, byte-identical to the fault-free run"

# `ganq events JOB --follow` across a restart: the broker stays down longer than the
# follower's 2 s request timeout, so the request it sent (within a poll period of the kill)
# goes unanswered and must be asked again; the follower carries on from its last seq and
# exits 0 when the job is done, each event shown once, in order.
FJOB=$(js_submit "${ARGS[@]}" --seed 10 --out "$T/follow")
JS_TIMEOUT=2 js_ganq events "$FJOB" --follow --json >"$T/follow.jsonl" 2>"$T/follow.err" &
FPID=$!
for i in $(seq 1 100); do [ -s "$T/follow.jsonl" ] && break; sleep 0.05; done
[ -s "$T/follow.jsonl" ] || js_fail "the follower printed nothing"
js_kill_broker
sleep 2.5
js_start_broker
frc=0
for i in $(seq 1 600); do kill -0 "$FPID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$FPID" 2>/dev/null; then kill -9 "$FPID"; js_fail "the follower did not exit"; fi
wait "$FPID" || frc=$?
[ "$frc" = 0 ] || { cat "$T/follow.err" >&2; js_fail "events --follow exited $frc across a restart"; }
[ "$(js_wait_state "$FJOB" 50)" = done ] || js_fail "$FJOB not done after the restart"
$PY - "$T/follow.jsonl" <<'PY' || js_fail "events --follow output is wrong"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
seqs = [e["seq"] for e in ev]
assert seqs == sorted(set(seqs)), "seqs not strictly increasing: %s" % seqs
kinds = [e["kind"] for e in ev]
assert kinds[0] == "submit" and kinds[-1] == "job_done", kinds
print("ok: events --follow saw %d events across the restart (%s ... %s)" % (len(ev), kinds[0], kinds[-1]))
PY
