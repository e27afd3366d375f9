#!/usr/bin/env bash
# test_security_curve: CURVE end to end on 127.0.0.1 (free ports). `ganq keygen` writes key
# pairs (secret mode 0600, no overwrite); a CURVE broker admits an authorised worker and
# client, which run a testcard job to completion; a client with an unauthorised key exits 3
# within its timeout with a message mentioning authentication, and the broker logs the
# refusal with the key's fingerprint; a worker with the wrong broker key never registers
# and keeps running (retrying); a client without CURVE gets exit 3; malformed key files are
# usage errors naming the file; without CURVE a non-loopback bind needs --insecure (exit 2,
# nothing bound); with CURVE, binding 0.0.0.0 starts (no traffic is sent there).
. "$(dirname "$0")/lib/jobsys.sh"
js_init

free_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
K="$T/keys"; AUTH="$T/authorized"
mkdir -p "$AUTH"

# ---- keygen ----
"$BIN/ganq" keygen --out "$K" --name broker >/dev/null || js_fail "keygen broker"
for n in worker client intruder; do
    "$BIN/ganq" keygen --out "$K" --name "$n" >/dev/null || js_fail "keygen $n"
done
[ "$(stat -c %a "$K/client.secret")" = 600 ] || js_fail "secret mode $(stat -c %a "$K/client.secret")"
[ "$(head -c 40 "$K/client.pub" | tr -dc '0-9a-zA-Z.:+=^!/*?&<>()[\]{}@%$#-' | wc -c)" = 40 ] ||
    js_fail "client.pub is not a 40-character Z85 key: $(cat "$K/client.pub")"
before=$(cat "$K/client.pub")
"$BIN/ganq" keygen --out "$K" --name client >/dev/null 2>"$T/kg.err" && js_fail "keygen overwrote"
[ "$(cat "$K/client.pub")" = "$before" ] || js_fail "keygen changed an existing key"
grep -q "already exists" "$T/kg.err" || js_fail "keygen: $(cat "$T/kg.err")"
cp "$K/worker.pub" "$K/client.pub" "$AUTH/"

# ---- without CURVE: non-loopback needs --insecure (refused before binding) ----
P0=$(free_port)
"$BIN/ganq-broker" --db "$T/plain.db" --clients "tcp://0.0.0.0:$P0" \
    --workers "ipc://$T/plain-w.sock" >"$T/plain.log" 2>&1
rc=$?
[ $rc -eq 2 ] || js_fail "non-loopback bind without CURVE/--insecure: exit $rc, want 2"
grep -q "not a loopback endpoint" "$T/plain.log" && grep -q -- "--insecure" "$T/plain.log" &&
    grep -q "CURVE" "$T/plain.log" || js_fail "unclear refusal: $(cat "$T/plain.log")"
"$BIN/ganq-broker" --help | grep -qi "CURVE is not\|NOT implemented" &&
    js_fail "broker --help still says CURVE is not implemented"

# ---- CURVE broker on 127.0.0.1 ----
P1=$(free_port); P2=$(free_port)
CLIENT_EP="tcp://127.0.0.1:$P1"
WORKER_EP="tcp://127.0.0.1:$P2"
export GANQ_BROKER_KEY="$K/broker.pub" GANQ_CURVE_SECRET="$K/client.secret"
js_start_broker --curve-secret "$K/broker.secret" --authorized-keys "$AUTH"
grep -q "CURVE on" "$T/broker.log" || js_fail "broker does not say CURVE is on"

start_worker() {   # NAME BROKER_KEY SECRET
    "$BIN/ganq-worker" --broker "$WORKER_EP" --name "$1" --broker-key "$2" \
        --curve-secret "$3" >>"$T/worker-$1.log" 2>&1 &
    JS_WPID[$1]=$!
}
start_worker good "$K/broker.pub" "$K/worker.secret"
start_worker wrongkey "$K/intruder.pub" "$K/worker.secret"   # not the broker's key
js_wait_workers 1

OUT="$T/out"
JOB=$(js_submit generate --model testcard --count 12 --classes 0-3 --seed 5 --format png \
      --out "$OUT" --task-size 4 --name curve)
[ "$(js_wait_state "$JOB" 40)" = done ] || js_fail "job $JOB not done over CURVE"
[ "$(find "$OUT" -name '*.png' ! -name '.*' | wc -l)" = 12 ] || js_fail "expected 12 images"
echo "ok: job $JOB done over CURVE"

# ---- unauthorised client key: exit 3 within its timeout, broker logs the refusal ----
t0=$(js_now_ms)
GANQ_CURVE_SECRET="$K/intruder.secret" "$BIN/ganq" --broker "$CLIENT_EP" --timeout 2 \
    workers >/dev/null 2>"$T/intruder.err"
rc=$?
dt=$(( $(js_now_ms) - t0 ))
[ $rc -eq 3 ] || js_fail "unauthorised client: exit $rc, want 3 ($(cat "$T/intruder.err"))"
[ $dt -lt 5000 ] || js_fail "unauthorised client took $dt ms with --timeout 2"
grep -qi "authentication" "$T/intruder.err" || js_fail "no hint: $(cat "$T/intruder.err")"
IKEY=$(head -n 1 "$K/intruder.pub")
for i in $(seq 1 30); do
    grep -F "refused CURVE key $IKEY (fingerprint " "$T/broker.log" >/dev/null && break
    sleep 0.1
done
grep -F "refused CURVE key $IKEY (fingerprint " "$T/broker.log" >/dev/null ||
    js_fail "broker did not log the refused key $IKEY"
echo "ok: unauthorised client refused in $dt ms, exit 3"

# ---- client without CURVE against the CURVE broker: exit 3 too ----
env -u GANQ_BROKER_KEY -u GANQ_CURVE_SECRET "$BIN/ganq" --broker "$CLIENT_EP" --timeout 1 \
    workers >/dev/null 2>"$T/plain-client.err"
rc=$?
[ $rc -eq 3 ] || js_fail "plain client to CURVE broker: exit $rc, want 3"
grep -q "CURVE" "$T/plain-client.err" || js_fail "no CURVE hint: $(cat "$T/plain-client.err")"

# ---- malformed key files: usage errors naming the file ----
printf 'tooshort\n' >"$T/bad.pub"
"$BIN/ganq" --broker "$CLIENT_EP" --broker-key "$T/bad.pub" workers 2>"$T/badkey.err"
rc=$?
"$BIN/ganq-worker" --broker "$WORKER_EP" --broker-key "$T/bad.pub" \
    --curve-secret "$K/worker.secret" 2>"$T/badkey-w.err"
rcw=$?
"$BIN/ganq-broker" --db "$T/b2.db" --curve-secret "$T/bad.pub" --authorized-keys "$AUTH" \
    --clients "ipc://$T/b2c.sock" --workers "ipc://$T/b2w.sock" 2>"$T/badkey-b.err"
rcb=$?
[ $rc -eq 2 ] && grep -q "$T/bad.pub" "$T/badkey.err" && grep -q "40" "$T/badkey.err" ||
    js_fail "client bad key: exit $rc: $(cat "$T/badkey.err")"
[ $rcw -eq 2 ] && grep -q "$T/bad.pub" "$T/badkey-w.err" ||
    js_fail "worker bad key: exit $rcw: $(cat "$T/badkey-w.err")"
[ $rcb -eq 2 ] && grep -q "$T/bad.pub" "$T/badkey-b.err" ||
    js_fail "broker bad key: exit $rcb: $(cat "$T/badkey-b.err")"

# ---- the wrong-broker-key worker: never registered, still running, says why ----
for i in $(seq 1 100); do
    grep -q "does not answer HELLO.*authentication" "$T/worker-wrongkey.log" && break
    sleep 0.1
done
grep -q "does not answer HELLO.*authentication" "$T/worker-wrongkey.log" ||
    js_fail "wrong-key worker did not log a hint: $(tail -n 3 "$T/worker-wrongkey.log")"
kill -0 "${JS_WPID[wrongkey]}" 2>/dev/null || js_fail "wrong-key worker exited"
W=$(js_ganq workers --json) || js_fail "workers failed"
[ "$(js_field "$W" 'sorted(w["name"] for w in d)')" = '["good"]' ] ||
    js_fail "workers: $(js_field "$W" '[w["name"] for w in d]')"
echo "ok: wrong-key worker not registered and still retrying"

# ---- CURVE allows a non-loopback bind: startup only, no traffic ----
P3=$(free_port); P4=$(free_port)
"$BIN/ganq-broker" --db "$T/any.db" --clients "tcp://0.0.0.0:$P3" \
    --workers "tcp://127.0.0.1:$P4" --curve-secret "$K/broker.secret" \
    --authorized-keys "$AUTH" >"$T/any.log" 2>&1 &
AP=$!
for i in $(seq 1 50); do grep -q "serving clients" "$T/any.log" && break; sleep 0.1; done
kill -0 $AP 2>/dev/null || js_fail "CURVE broker on 0.0.0.0 exited: $(cat "$T/any.log")"
grep -q "serving clients on tcp://0.0.0.0:$P3" "$T/any.log" ||
    js_fail "CURVE broker on 0.0.0.0 did not start: $(cat "$T/any.log")"
kill -TERM $AP; wait $AP || js_fail "CURVE broker on 0.0.0.0 did not stop cleanly"
echo "ok: CURVE broker binds 0.0.0.0 without --insecure"
