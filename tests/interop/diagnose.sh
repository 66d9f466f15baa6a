#!/usr/bin/env bash
# diagnose.sh: `ufrpc diagnose` against the real frps with its defaults (TLS with the
# generated certificate): every step passes; frps's certificate is reported with its
# empty names; a wrong token fails the login with frps's own reason; a proxy while a
# running ufrpc holds the same name fails with frps's "already exists" and leaves the
# running ufrpc's tunnel working.
source "$(dirname "$0")/lib.sh"
E2E_NAME=interop_diagnose
need_frps
FRPS_PORT=$(freeport)
frps_config "$FRPS_PORT" tok true >"$WORK/frps.toml"
start_frps frps "$WORK/frps.toml"
start_echo echo
RPORT=$(freeport)
{
    client_config "$FRPS_PORT" tok true true
    printf '[[proxies]]\nname = "web"\ntype = "tcp"\nlocalPort = %s\nremotePort = %s\n' \
        "$ECHO_PORT" "$RPORT"
} >"$WORK/frpc.toml"

"$UFRPC" diagnose -c "$WORK/frpc.toml" --size 4MB --json >"$WORK/ok.json" ||
    { cat "$WORK/ok.json"; fail "diagnose against a healthy frps: exit $?"; }
python3 - "$WORK/ok.json" <<'PY' || fail "report"
import json, sys
r = json.load(open(sys.argv[1]))
assert [s["status"] for s in r["steps"]] == ["ok"] * 7, r["steps"]
t = r["tls"]
assert t["subject"] == "" and t["issuer"] == "" and t["verified"] is False, t
# frps's generated certificate: valid from an hour before frps started, for 3650 days
import datetime
fmt = "%Y-%m-%d %H:%M:%S"
nb = datetime.datetime.strptime(t["notBefore"], fmt)
na = datetime.datetime.strptime(t["notAfter"], fmt)
age = datetime.datetime.utcnow() - nb
assert datetime.timedelta(minutes=59) < age < datetime.timedelta(hours=3), t
assert abs((na - nb) - datetime.timedelta(days=3650, hours=1)) < datetime.timedelta(minutes=1), t
assert r["throughput"]["bytes"] == 4 << 20 and r["proxies"][0]["ok"], r
print("diagnose: score %d, %s; median rtt %.2f ms, %.1f MB/s" % (
    r["score"], r["verdict"], r["latency"]["medianMs"], r["throughput"]["mbPerSecond"]))
PY

sed 's/auth.token = "tok"/auth.token = "bad"/' "$WORK/frpc.toml" >"$WORK/bad.toml"
rc=0
"$UFRPC" diagnose -c "$WORK/bad.toml" >"$WORK/bad.diag.log" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "wrong token: exit $rc"
grep -q -E "^  \[FAIL\] +login .*token" "$WORK/bad.diag.log" || { cat "$WORK/bad.diag.log"; fail "wrong token line"; }

# a running ufrpc holds "web": diagnose reports the clash and does not disturb it
start_ufrpc ufrpc "$WORK/frpc.toml"
wait_proxy "$WORK/ufrpc.log" web
rc=0
"$UFRPC" diagnose -c "$WORK/frpc.toml" --size 1MB >"$WORK/clash.diag.log" 2>&1 || rc=$?
cat "$WORK/clash.diag.log"
[ "$rc" = 1 ] || fail "clash: exit $rc, want 1"
grep -q -E "web \(tcp\): .*already" "$WORK/clash.diag.log" || fail "clash: frps's reason"
E2E_LOAD_NO_HALF_CLOSE=1 "$TOOL" load "$RPORT" 65536 1 30 >/dev/null || fail "the running tunnel broke"
stop_ufrpc
pass
