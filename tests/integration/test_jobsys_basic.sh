#!/usr/bin/env bash
# test_jobsys_basic: broker + 3 testcard workers over ipc://; a generate job completes; every
# image index is present exactly once (no extra files besides the job-level products);
# `ganq status --json` has state, done, total, tasks, rate, reason, outputs; `watch` exits
# 0; `list` and `workers` show the job and the workers; a second identical job into another
# directory gives byte-identical files (determinism across task splits).
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
