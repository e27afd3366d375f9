#!/usr/bin/env bash
# test_jobsys_kill_worker: kill -9 a worker while it holds a leased task; the broker notices
# within a few heartbeats (measured: kill -> the broker lists the worker dead / with no
# leases), the task is requeued to the others, the job completes, and its files are
# byte-identical to a fault-free run of the same job.
. "$(dirname "$0")/lib/jobsys.sh"
js_init
js_start_broker
SLOW=(GANQ_FAULT_SLOW_MS=250)
for w in a b c; do js_start_worker "$w" "${SLOW[@]}"; done
js_wait_workers 3

N=60
ARGS=(generate --model testcard --count $N --classes 0-9 --seed 5 --format png --task-size 4)
REF=$(js_submit "${ARGS[@]}" --out "$T/ref")
[ "$(js_wait_state "$REF" 50)" = done ] || js_fail "fault-free job not done"

JOB=$(js_submit "${ARGS[@]}" --out "$T/out")
# Wait until worker a holds a lease and some of the job's images are done (mid-job, mid-task).
victim=""
for i in $(seq 1 200); do
    W=$(js_ganq workers --json 2>/dev/null) || { sleep 0.05; continue; }
    busy=$(js_field "$W" '[w["name"] for w in d if w["name"] == "a" and w["tasks_leased"] > 0]')
    if [ "$busy" = '["a"]' ]; then
        S=$(js_ganq status "$JOB" --json --no-outputs 2>/dev/null) || continue
        [ "$(js_field "$S" 'd["done"]')" -gt 0 ] && { victim=a; break; }
    fi
    sleep 0.05
done
[ -n "$victim" ] || js_fail "worker a never held a task"
before=$(js_ganq status "$JOB" --json --no-outputs)
t_kill=$(js_now_ms)
js_kill_worker a
echo "killed worker a (kill -9) at done=$(js_field "$before" 'd["done"]')/$N"

t_req=""
for i in $(seq 1 300); do
    W=$(js_ganq workers --json 2>/dev/null) || { sleep 0.02; continue; }
    gone=$(js_field "$W" 'all(w["state"] == "dead" or w["tasks_leased"] == 0 for w in d if w["name"] == "a")')
    if [ "$gone" = True ]; then t_req=$(js_now_ms); break; fi
    sleep 0.02
done
[ -n "$t_req" ] || js_fail "the broker still lists worker a with leases 6 s after kill -9"
dt=$((t_req - t_kill))
limit=$((JS_HEARTBEAT_MS * (JS_LIVENESS + 2) + 1000))
echo "requeue: worker a's tasks released $dt ms after kill -9 (heartbeat $JS_HEARTBEAT_MS ms, liveness $JS_LIVENESS; limit $limit ms)"
[ "$dt" -le "$limit" ] || js_fail "requeue took $dt ms, more than $limit"

[ "$(js_wait_state "$JOB" 50)" = done ] || js_fail "job not done after the kill"
S=$(js_ganq status "$JOB" --json)
[ "$(js_field "$S" 'd["done"]')" = $N ] || js_fail "done != $N: $S"
if ! diff <(js_tree "$T/ref") <(js_tree "$T/out") >/dev/null; then
    diff <(js_tree "$T/ref") <(js_tree "$T/out") | head -10
    js_fail "outputs differ from the fault-free run"
fi
echo "ok: $(js_tree "$T/out" | wc -l) files byte-identical to the fault-free run"
