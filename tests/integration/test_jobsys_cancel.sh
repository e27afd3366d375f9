#!/usr/bin/env bash
# test_jobsys_cancel: cancel a running job: `ganq cancel` answers cancelled, `ganq watch`
# exits 1, the workers drop its tasks (no leases within a few seconds), no new images appear
# afterwards, cancelling an unknown job exits 1, and the broker goes on serving: a new job
# completes.
. "$(dirname "$0")/lib/jobsys.sh"
js_init
js_start_broker
for w in a b c; do js_start_worker "$w" GANQ_FAULT_SLOW_MS=200; done
js_wait_workers 3

JOB=$(js_submit generate --model testcard --count 400 --seed 1 --format png --task-size 4 \
      --out "$T/big")
for i in $(seq 1 200); do
    S=$(js_ganq status "$JOB" --json --no-outputs 2>/dev/null) &&
        [ "$(js_field "$S" 'd["done"]')" -gt 0 ] && break
    sleep 0.05
done
[ "$(js_field "$S" 'd["state"]')" = running ] || js_fail "job not running: $S"

out=$(js_ganq cancel "$JOB") || js_fail "cancel exited $?"
echo "cancel: $out"
grep -q cancelled <<<"$out" || js_fail "cancel did not answer cancelled: $out"
[ "$(js_state "$JOB")" = cancelled ] || js_fail "state $(js_state "$JOB") after cancel"
js_ganq watch "$JOB" 2>"$T/watch.err"; rc=$?
[ $rc -eq 1 ] || js_fail "watch of a cancelled job exited $rc, want 1"

t0=$(js_now_ms)
for i in $(seq 1 100); do
    W=$(js_ganq workers --json) && [ "$(js_field "$W" 'sum(w["tasks_leased"] for w in d)')" = 0 ] && break
    sleep 0.05
done
[ "$(js_field "$W" 'sum(w["tasks_leased"] for w in d)')" = 0 ] || js_fail "workers still hold leases 5 s after cancel"
echo "workers released the cancelled job's tasks $(( $(js_now_ms) - t0 )) ms after cancel"
sleep 0.6   # a batch in flight may still land; after that nothing new may appear
n1=$(find "$T/big" -name '*.png' | wc -l)
sleep 1
n2=$(find "$T/big" -name '*.png' | wc -l)
[ "$n1" = "$n2" ] || js_fail "images still appearing after cancel ($n1 -> $n2)"
[ "$n2" -lt 400 ] || js_fail "all 400 images written despite the cancel"
echo "$n2 of 400 images were written before the cancel took effect"

js_ganq cancel j-no-such-job 2>"$T/c.err"; rc=$?
[ $rc -eq 1 ] || js_fail "cancel of an unknown job exited $rc, want 1 ($(cat "$T/c.err"))"
js_ganq cancel "$JOB" 2>"$T/c2.err"; rc=$?
[ $rc -le 1 ] || js_fail "second cancel exited $rc"

NEXT=$(js_submit generate --model testcard --count 12 --seed 2 --format png --out "$T/next")
[ "$(js_wait_state "$NEXT" 30)" = done ] || js_fail "a job after the cancel did not complete"
echo "ok"
