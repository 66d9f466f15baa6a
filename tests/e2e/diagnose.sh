#!/usr/bin/env bash
# diagnose.sh: `ufrpc diagnose` against the test frps. A healthy server passes every
# step (exit 0) with the echoed byte count in the report; a wrong token fails the
# login step with the token advice; a closed port fails tcp; a TLS client against a
# plaintext-only server fails tls; a proxy whose remote port is taken fails only the
# proxies step. --json is valid JSON with the same verdict.
source "$(dirname "$0")/lib.sh"

start_peer peer --bind 127.0.0.1:0 --token tok --tls=auto
start_echo echo
taken=$PEER_PORT

diag() { # CONFIG OUT: runs diagnose, returns its exit status
    local rc=0
    "$UFRPC" diagnose -c "$1" --size 2MB >"$2" 2>&1 || rc=$?
    cat "$2"
    return $rc
}

# 1. healthy: TLS + mux, one good proxy
write_config "$WORK/ok.toml" "$PEER_PORT" tok true true true web "$ECHO_PORT" "$(freeport)"
rc=0; diag "$WORK/ok.toml" "$WORK/ok.diag.log" || rc=$?
[ "$rc" = 0 ] || fail "healthy server: exit $rc, want 0"
for step in dns tcp tls login proxies latency throughput; do
    grep -q -E "^  \[ok\] +$step " "$WORK/ok.diag.log" || fail "healthy: step $step not ok"
done
grep -q -F "2.1 MB sent and echoed back" "$WORK/ok.diag.log" || fail "healthy: throughput bytes"
grep -q -E "web \(tcp\): ok, remote" "$WORK/ok.diag.log" || fail "healthy: proxy line"
grep -q -E "^  \[ok\] +tls .*valid 20[0-9]{2}-[0-9]{2}-[0-9]{2} [0-9:]{8} to 20[0-9]{2}-" \
    "$WORK/ok.diag.log" || fail "healthy: the certificate's validity is missing"
grep -q -E "^health score: (9[0-9]|100)/100 \(excellent\)" "$WORK/ok.diag.log" || fail "healthy: score"
"$UFRPC" diagnose -c "$WORK/ok.toml" --size 1MB --json >"$WORK/ok.json" || fail "--json: exit $?"
python3 - "$WORK/ok.json" <<'PY' || fail "--json output"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["passed"] is True and r["verdict"] == "excellent", r
assert [s["status"] for s in r["steps"]] == ["ok"] * 7, r["steps"]
assert r["tls"]["version"].startswith("TLSv1."), r["tls"]
assert r["throughput"]["bytes"] == 1 << 20, r["throughput"]
assert len(r["latency"]["samplesMs"]) == 10
assert r["proxies"][0]["name"] == "web" and r["proxies"][0]["ok"]
PY

# 2. wrong token: login fails, nothing after it runs
write_config "$WORK/wt.toml" "$PEER_PORT" nope true true true web "$ECHO_PORT" "$(freeport)"
rc=0; diag "$WORK/wt.toml" "$WORK/wt.diag.log" || rc=$?
[ "$rc" = 1 ] || fail "wrong token: exit $rc, want 1"
grep -q -E "^  \[FAIL\] +login .*token in login doesn't match" "$WORK/wt.diag.log" || fail "wrong token: login line"
grep -q -F "advice: token rejected: check auth.token" "$WORK/wt.diag.log" || fail "wrong token: advice"
grep -q -E "^  \[not run\] +proxies" "$WORK/wt.diag.log" || fail "wrong token: proxies should not run"

# 3. closed port
closed=$(freeport)
write_config "$WORK/cp.toml" "$closed" tok true true true web "$ECHO_PORT" "$(freeport)"
rc=0; diag "$WORK/cp.toml" "$WORK/cp.diag.log" || rc=$?
[ "$rc" = 1 ] || fail "closed port: exit $rc, want 1"
grep -q -E "^  \[FAIL\] +tcp .*connection refused" "$WORK/cp.diag.log" || fail "closed port: tcp line"
grep -q -F "advice: port $closed refused: frps not running there" "$WORK/cp.diag.log" || fail "closed port: advice"
grep -q -E "^health score: 10/100 \(critical\)" "$WORK/cp.diag.log" || fail "closed port: score"

# 4. TLS against a plaintext-only server
start_peer plain --bind 127.0.0.1:0 --token tok --tls=off
write_config "$WORK/tl.toml" "$PEER_PORT" tok true true true web "$ECHO_PORT" "$(freeport)"
rc=0; diag "$WORK/tl.toml" "$WORK/tl.diag.log" || rc=$?
[ "$rc" = 1 ] || fail "tls failure: exit $rc, want 1"
grep -q -E "^  \[FAIL\] +tls " "$WORK/tl.diag.log" || fail "tls failure: tls line"
grep -q -F "advice: TLS failed" "$WORK/tl.diag.log" || fail "tls failure: advice"

# 5. a proxy frps refuses (its remote port is the server's own): only proxies fails
write_config "$WORK/px.toml" "$taken" tok true true true web "$ECHO_PORT" "$taken"
rc=0; diag "$WORK/px.toml" "$WORK/px.diag.log" || rc=$?
[ "$rc" = 1 ] || fail "refused proxy: exit $rc, want 1"
grep -q -E "^  \[FAIL\] +proxies +0 of 1 proxies registered" "$WORK/px.diag.log" || fail "refused proxy: proxies line"
grep -q -E "^  \[ok\] +throughput" "$WORK/px.diag.log" || fail "refused proxy: throughput should still run"
pass
