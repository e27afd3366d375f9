#!/usr/bin/env bash
# test_cli_run: `ganq run` (embedded broker + worker threads over inproc://) runs a job to
# completion and exits 0; every image is there; 1 and 3 workers give byte-identical trees;
# running the same job again into the same directory succeeds (resume) without changing a
# byte; a failing spec exits 1, a bad flag 2. Skips where ganq was built without broker/
# and worker/ (no `run` command).
set -u
ROOT=${GANQ_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${GANQ_BIN:-$ROOT/build/release/bin}
G=$BIN/ganq
T=${GANQ_TMP:-$(mktemp -d /tmp/ganq-cli-test.XXXXXX)}
[ -x "$G" ] || { echo "skip: $G not built"; exit 77; }
"$G" run --help >/dev/null 2>&1 || { echo "skip: ganq built without the run command (no broker/worker)"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
tree() { (cd "$1" && find . -type f ! -name '.*.tmp.*' -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum); }
cd "$T"

ARGS=(generate --model testcard --count 40 --classes 0-9 --seed 21 --format png --task-size 6)
job=$(timeout 60 "$G" run "${ARGS[@]}" --out "$T/one" --db "$T/a.db" --workers 1 2>"$T/one.err") ||
    fail "run with 1 worker exited $?: $(tail -n 3 "$T/one.err")"
[ -n "$job" ] || fail "run printed no job id"
grep -q "done: 40 images" "$T/one.err" || fail "no completion line: $(tail -n 2 "$T/one.err")"
[ "$(find "$T/one" -name '*.png' | wc -l)" -eq 40 ] || fail "not 40 images"
timeout 60 "$G" run "${ARGS[@]}" --out "$T/three" --db "$T/b.db" --workers 3 >/dev/null 2>"$T/three.err" ||
    fail "run with 3 workers exited $?: $(tail -n 3 "$T/three.err")"
diff <(tree "$T/one") <(tree "$T/three") >/dev/null || fail "1 and 3 workers differ"
before=$(tree "$T/one")
timeout 60 "$G" run "${ARGS[@]}" --out "$T/one" --db "$T/a.db" --workers 2 >/dev/null 2>"$T/again.err" ||
    fail "re-run into the same directory exited $?: $(tail -n 3 "$T/again.err")"
[ "$before" = "$(tree "$T/one")" ] || fail "re-run changed the output"
timeout 30 "$G" run generate --model no-such-model --count 3 --out "$T/x" --db "$T/c.db" >/dev/null 2>"$T/bad.err"
rc=$?; [ $rc -eq 1 ] || fail "unknown model exited $rc, want 1: $(cat "$T/bad.err")"
"$G" run generate --model testcard --count 3 --out "$T/x" --workers 0 2>/dev/null; rc=$?
[ $rc -eq 2 ] || fail "--workers 0 exited $rc, want 2"
echo "ok: $(grep 'done:' "$T/one.err")"
