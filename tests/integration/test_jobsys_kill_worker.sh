#!/usr/bin/env bash
# test_jobsys_kill_worker: kill -9 a worker while it holds a leased task; the broker notices
# within a few heartbeats (measured: kill -> the broker lists the worker dead / with no
# leases), the task is requeued to the others, the job completes, and its files are
# byte-identical to a fault-free run of the same job. `ganq events` shows the requeue (of
# a task the dead worker leased, leased again elsewhere and done) and the worker_dead; an
# `events --follow` started with the job saw the same history and exited 0 by itself.
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
# Follow the job's events from its start: --follow must see the requeue and stop by itself
# once the job is done.
"$BIN/ganq" --broker "$CLIENT_EP" events "$JOB" --follow --json >"$T/follow.jsonl" \
    2>"$T/follow.err" &
FOLLOW_PID=$!
trap 'kill "$FOLLOW_PID" 2>/dev/null; js_cleanup' EXIT
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
victim_id=$(js_field "$W" '[w["worker_id"] for w in d if w["name"] == "a"][0]')
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

# The history shows it: a requeue of a task worker a held (after a's lease of it), the task
# leased again and done, and a worker_dead for a in the cluster's log.
E=$(js_ganq events "$JOB" --json) || js_fail "events --json failed"
why=$($PY - "$E" "$victim_id" <<'PYEOF'
import json, sys
d, victim = json.loads(sys.argv[1]), sys.argv[2]
req = [e for e in d if e["kind"] == "requeue"]
if not req:
    print("no requeue event:", [e["kind"] for e in d])
elif not all(e["worker_id"] == victim for e in req):
    print("requeue not of worker", victim, req)
else:
    for r in req:
        t = r["task_id"]
        before = [e for e in d if e["seq"] < r["seq"] and e["task_id"] == t]
        after = [e for e in d if e["seq"] > r["seq"] and e["task_id"] == t]
        if not any(e["kind"] == "lease" and e["worker_id"] == victim for e in before):
            print("requeue of task", t, "without a lease to", victim, "before it")
        elif not any(e["kind"] == "lease" and e["worker_id"] != victim for e in after):
            print("task", t, "not leased to another worker after its requeue")
        elif not any(e["kind"] == "done" for e in after):
            print("task", t, "not done after its requeue")
        else:
            continue
        break
    else:
        if d[-1]["kind"] != "job_done":
            print("last event is", d[-1]["kind"], "not job_done")
PYEOF
) || js_fail "checking events: python failed"
[ -z "$why" ] || js_fail "events $JOB: $why"
D=$(js_ganq events --kind worker_dead --json) || js_fail "events --kind worker_dead failed"
[ "$(js_field "$D" "any(e['worker_id'] == '$victim_id' for e in d)")" = True ] ||
    js_fail "no worker_dead event for $victim_id: $D"
nreq=$(js_field "$E" 'len([e for e in d if e["kind"] == "requeue"])')
echo "events: $nreq requeue(s) of $victim_id's tasks, each leased again and done"

# The follower saw the same history as one JSON object per line, and exited 0 on its own.
for i in $(seq 1 100); do kill -0 "$FOLLOW_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$FOLLOW_PID" 2>/dev/null; then
    kill "$FOLLOW_PID"
    js_fail "events --follow still running 10 s after the job was done"
fi
wait "$FOLLOW_PID"; frc=$?
[ $frc -eq 0 ] || js_fail "events --follow exited $frc: $(cat "$T/follow.err")"
F=$($PY -c 'import json,sys; print(json.dumps([json.loads(l) for l in open(sys.argv[1])]))' \
    "$T/follow.jsonl") || js_fail "--follow output is not JSON lines: $(head -3 "$T/follow.jsonl")"
[ "$(js_field "$F" '[e["seq"] for e in d]')" = "$(js_field "$E" '[e["seq"] for e in d]')" ] ||
    js_fail "--follow saw other events than events --json: $F"
echo "ok: $(js_tree "$T/out" | wc -l) files byte-identical to the fault-free run"
