#!/usr/bin/env bash
# test_jobsys_basic: broker + 3 testcard workers over ipc://; a generate job completes; every
# image index is present exactly once (no extra files besides the job-level products);
# `ganq status --json` has state, done, total, tasks, rate, reason, outputs; `watch` exits
# 0; `events` gives its history (submit, a lease and a done per task, job_done, in seq
# order; paging with --limit/--after, --kind, --follow of a finished job, an unknown job
# exit 1); `list` and `workers` show the job and the workers; a second identical job into
# another directory gives byte-identical files (determinism across task splits).
. "$(dirname "$0")/lib/jobsys.sh"
js_init
js_start_broker
for w in a b c; do js_start_worker "$w"; done
js_wait_workers 3

N=48
OUT="$T/out1"
JOB=$(js_submit generate --model testcard --count $N --classes 0-9 --seed 11 --format png \
      --out "$OUT" --task-size 5 --name basic)
echo "job $JOB"
js_ganq watch "$JOB" --interval 0.5 || js_fail "watch exited $? for $JOB"
[ "$(js_state "$JOB")" = done ] || js_fail "job state $(js_state "$JOB")"

S=$(js_ganq status "$JOB" --json) || js_fail "status --json failed"
echo "status: $S"
for k in state done total tasks rate reason outputs job_id; do
    [ "$(js_field "$S" "'$k' in d")" = True ] || js_fail "status --json lacks '$k'"
done
[ "$(js_field "$S" 'd["done"]')" = $N ] || js_fail "done != $N"
[ "$(js_field "$S" 'd["total"]')" = $N ] || js_fail "total != $N"
[ "$(js_field "$S" 'd["tasks"]["total"]')" = 10 ] || js_fail "tasks.total != 10 (task size 5)"
[ "$(js_field "$S" 'd["tasks"]["done"]')" = 10 ] || js_fail "tasks.done != 10"
[ "$(js_field "$S" 'd["outputs"]["images"]')" = $N ] || js_fail "outputs.images != $N"

# Every index exactly once: NNNNNN.png for 0..N-1, nothing else image-like.
pngs=$(cd "$OUT" && find . -name '*.png' ! -name '.*' | sort)
want=$(for i in $(seq 0 $((N - 1))); do printf './%06d.png\n' "$i"; done)
if [ "$pngs" != "$want" ]; then
    echo "have:"; echo "$pngs" | head; echo "want:"; echo "$want" | head
    js_fail "image files are not exactly 000000..$(printf %06d $((N - 1))).png"
fi
stray=$(cd "$OUT" && find . -name '.*.tmp.*' | wc -l)
[ "$stray" -eq 0 ] || js_fail "$stray temp files left in $OUT"

# The job's history: submit first, every task leased then done, job_done last, all in seq
# order and all about this job; one human line per event under a header.
E=$(js_ganq events "$JOB" --json) || js_fail "events --json failed"
why=$($PY - "$E" "$JOB" <<'PYEOF'
import json, sys
d, job = json.loads(sys.argv[1]), sys.argv[2]
kinds = [e["kind"] for e in d]
first = {}
for e in d:
    first.setdefault((e["kind"], e["task_id"]), e["seq"])
if kinds[0] != "submit" or kinds[-1] != "job_done":
    print("not submit .. job_done:", kinds)
elif any(e["job_id"] != job for e in d):
    print("events of other jobs:", d)
elif any(a["seq"] >= b["seq"] for a, b in zip(d, d[1:])):
    print("not in seq order:", [e["seq"] for e in d])
elif sorted(e["task_id"] for e in d if e["kind"] == "done") != list(range(10)):
    print("done events are not tasks 0..9 once each:", d)
elif any(first.get(("lease", t), 1e18) > first[("done", t)] for t in range(10)):
    print("a task done before (or without) its lease:", d)
elif not all(e["worker_id"] for e in d if e["kind"] in ("lease", "done")):
    print("lease/done events without a worker:", d)
PYEOF
) || js_fail "checking events: python failed"
[ -z "$why" ] || js_fail "events $JOB: $why"
nev=$(js_field "$E" 'len(d)')
H=$(js_ganq events "$JOB") || js_fail "events failed"
[ "$(wc -l <<<"$H")" -eq $((nev + 1)) ] || js_fail "events: $(wc -l <<<"$H") lines for $nev events"
head -1 <<<"$H" | grep -q "SEQ.*TIME.*KIND.*JOB.*TASK.*WORKER.*DETAIL" ||
    js_fail "events header: $H"
grep -qE "submit +$JOB .*images in 10 tasks" <<<"$H" || js_fail "events: no submit line: $H"
# paging: --limit cuts and says where to go on; --after goes on from there
P=$(js_ganq events "$JOB" --kind done --limit 3 --json 2>"$T/more.err") ||
    js_fail "events --limit failed"
[ "$(js_field "$P" '[e["kind"] for e in d]')" = '["done", "done", "done"]' ] ||
    js_fail "--kind done --limit 3: $P"
grep -q "more events after seq" "$T/more.err" || js_fail "--limit: no 'more events' note"
last=$(js_field "$P" 'd[-1]["seq"]')
R=$(js_ganq events "$JOB" --kind done --after "$last" --json) || js_fail "events --after failed"
[ "$(js_field "$R" 'len(d)')" = 7 ] ||
    js_fail "--after $last: $(js_field "$R" 'len(d)') done events, want 7"
# the cluster's log has the workers' hellos; a finished job's --follow returns at once
C=$(js_ganq events --kind hello --json) || js_fail "events --kind hello failed"
[ "$(js_field "$C" 'sorted(e["detail"] for e in d)')" = '["a", "b", "c"]' ] ||
    js_fail "hello events: $C"
timeout 10 "$BIN/ganq" --broker "$CLIENT_EP" events "$JOB" --follow --json >"$T/follow.jsonl" ||
    js_fail "events --follow of a done job exited $?"
[ "$(wc -l <"$T/follow.jsonl")" -eq "$nev" ] ||
    js_fail "--follow printed $(wc -l <"$T/follow.jsonl") lines, want $nev"
out=$(js_ganq events j-no-such-job 2>&1); rc=$?
[ $rc -eq 1 ] || js_fail "events of an unknown job: exit $rc, want 1 ($out)"
grep -q 'no job "j-no-such-job"' <<<"$out" || js_fail "unknown job message: $out"
echo "events: $nev for $JOB, submit .. job_done in order"

L=$(js_ganq list --json) || js_fail "list failed"
[ "$(js_field "$L" "any(j['job_id'] == '$JOB' and j['state'] == 'done' for j in d)")" = True ] ||
    js_fail "list lacks $JOB as done"
W=$(js_ganq workers --json) || js_fail "workers failed"
[ "$(js_field "$W" 'sorted(w["name"] for w in d)')" = '["a", "b", "c"]' ] ||
    js_fail "workers: $(js_field "$W" '[w["name"] for w in d]')"
[ "$(js_field "$W" 'sum(w["images_done"] for w in d)')" -ge $N ] || js_fail "workers images_done"

# Same job, other split: identical bytes.
OUT2="$T/out2"
JOB2=$(js_submit generate --model testcard --count $N --classes 0-9 --seed 11 --format png \
       --out "$OUT2" --task-size 7)
[ "$(js_wait_state "$JOB2" 40)" = done ] || js_fail "second job not done"
diff <(js_tree "$OUT") <(js_tree "$OUT2") >/dev/null ||
    js_fail "outputs differ between task sizes 5 and 7: $(diff <(js_tree "$OUT") <(js_tree "$OUT2") | head -5)"
echo "ok: $N images, $(js_tree "$OUT" | wc -l) files identical across task splits"
