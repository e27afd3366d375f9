#!/usr/bin/env bash
# test_jobsys_retry: every worker fails every task (GANQ_FAULT_FAIL_TASKS=all, retryable).
# The job must end failed with the reason, after at most max_attempts attempts per task
# (counted in the worker logs), never loop: no attempts after it failed. `ganq watch`
# exits 1 and `ganq status` shows the reason.
. "$(dirname "$0")/lib/jobsys.sh"
js_init
js_start_broker
for w in a b c; do js_start_worker "$w" GANQ_FAULT_FAIL_TASKS=all; done
js_wait_workers 3

ATT=2
JOB=$(js_submit generate --model testcard --count 20 --seed 3 --format png --task-size 5 \
      --max-attempts $ATT --out "$T/out")
t0=$(js_now_ms)
js_ganq watch "$JOB" --interval 0.5 2>"$T/watch.err"; rc=$?
[ $rc -eq 1 ] || js_fail "watch exited $rc for a failing job, want 1"
echo "job failed after $(( $(js_now_ms) - t0 )) ms; watch said: $(tail -n 1 "$T/watch.err")"
S=$(js_ganq status "$JOB" --json) || js_fail "status failed"
[ "$(js_field "$S" 'd["state"]')" = failed ] || js_fail "state is not failed: $S"
reason=$(js_field "$S" 'd["reason"]')
[ -n "$reason" ] || js_fail "failed job has no reason"
echo "reason: $reason"
js_ganq status "$JOB" | grep -q "reason:" || js_fail "plain status does not show the reason"

count_attempts() { cat "$T"/worker-*.log | grep -c "task $JOB/[0-9]* attempt"; }
a1=$(count_attempts)
tasks=$(js_field "$S" 'd["tasks"]["total"]')
echo "$a1 attempts for $tasks tasks (max_attempts $ATT)"
[ "$a1" -ge 1 ] || js_fail "no attempts logged (log format changed?)"
[ "$a1" -le $((tasks * ATT)) ] || js_fail "$a1 attempts is more than $tasks x $ATT"
sleep 1.5
a2=$(count_attempts)
[ "$a2" = "$a1" ] || js_fail "attempts continued after the job failed ($a1 -> $a2)"
echo "ok"
