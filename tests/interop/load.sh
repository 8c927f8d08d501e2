#!/usr/bin/env bash
# tests/interop/load.sh — nktls-load against nktls-server, `openssl s_server`
# and `gnutls-serv`: every mode runs the number of operations asked for with no
# errors, resumed handshakes resume, bulk data comes back intact, the JSON
# report parses, and failures are reported by kind (connect, alert by name,
# verification). TAP on stdout.
source "$(dirname "$0")/lib.sh"

NK_LOAD=$NKTLS_BUILD/examples/nktls-load
require_nktls
[ -x "$NK_LOAD" ] || { tap_fail "nktls-load built" "missing $NK_LOAD"; tap_done; exit 1; }
require_tool python3
certs_init || exit 1

# load NAME ARGS...: runs nktls-load with --json; sets RC; the report is
# $WORK/NAME.txt, the JSON $WORK/NAME.json.
load() {
    local name=$1
    shift
    timeout $((T_TIMEOUT * 3)) "$NK_LOAD" --json "$WORK/$name.json" "$@" \
        >"$WORK/$name.txt" 2>"$WORK/$name.err"
    RC=$?
}

# jget NAME EXPR: a value from the JSON report (EXPR in Python, j is the report).
jget() {
    python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$WORK/$1.json" 2>/dev/null
}

# expect_ok NAME OPS: exit 0, exactly OPS operations (empty: any), no errors,
# and a report that parses as JSON.
expect_ok() {
    local name=$1 ops=$2 got
    [ "$RC" -eq 0 ] || { fail "nktls-load exited with status $RC" "$WORK/$name.txt" "$WORK/$name.err"; return 1; }
    python3 -m json.tool "$WORK/$name.json" >/dev/null 2>&1 || { fail "--json output does not parse" "$WORK/$name.json"; return 1; }
    got=$(jget "$name" "j['errors']['total']")
    [ "$got" = 0 ] || { fail "$got errors" "$WORK/$name.txt"; return 1; }
    got=$(jget "$name" "j['operations']")
    if [ -n "$ops" ] && [ "$got" != "$ops" ]; then
        fail "$got operations, wanted $ops" "$WORK/$name.txt"
        return 1
    fi
}

# expect_error NAME KIND DETAIL: exit 1 and the error counted under KIND with
# DETAIL (a prefix) in the JSON, and the same in the text report.
expect_error() {
    local name=$1 kind=$2 detail=$3 n
    [ "$RC" -eq 1 ] || { fail "nktls-load exited with status $RC, wanted 1" "$WORK/$name.txt" "$WORK/$name.err"; return 1; }
    n=$(jget "$name" "sum(e['count'] for e in j['errors']['by_kind'] if e['kind']=='$kind' and e['detail'].startswith('$detail'))")
    [ -n "$n" ] && [ "$n" -gt 0 ] || { fail "no '$kind: $detail' error" "$WORK/$name.txt"; return 1; }
    grep -q "^error: *$kind: $detail" "$WORK/$name.txt" || { fail "text report lacks '$kind: $detail'" "$WORK/$name.txt"; return 1; }
}

TRUST=(--servername localhost --ca "$CERTS/ca.pem")

# ---- cases; PORT is the server under test --------------------------------------

c_handshake() {
    load hs-$1 --connect "127.0.0.1:$PORT" "${TRUST[@]}" --mode handshake --count 200 --concurrency 8
    expect_ok hs-$1 200 || return 1
    [ "$(jget hs-$1 "j['handshakes']")" = 200 ] || { fail "handshakes != 200" "$WORK/hs-$1.txt"; return 1; }
    [ "$(jget hs-$1 "j['negotiated'][0]['version']")" = TLSv1.3 ] || { fail "not TLSv1.3" "$WORK/hs-$1.txt"; return 1; }
}

c_resume() {
    load res-$1 --connect "127.0.0.1:$PORT" "${TRUST[@]}" --mode resume --count 100 --concurrency 4
    expect_ok res-$1 100 || return 1
    local r
    r=$(jget res-$1 "j['resumed']")
    [ -n "$r" ] && [ "$r" -gt 0 ] || { fail "no handshake resumed" "$WORK/res-$1.txt"; return 1; }
}

c_bulk() {
    load bulk-$1 --connect "127.0.0.1:$PORT" "${TRUST[@]}" --mode bulk --size 1048576 --count 4 --concurrency 2
    expect_ok bulk-$1 4 || return 1
    [ "$(jget bulk-$1 "j['bytes_in']")" = $((4 * 1048576)) ] || { fail "not all bytes came back" "$WORK/bulk-$1.txt"; return 1; }
}

c_request() {
    load req-$1 --connect "127.0.0.1:$PORT" "${TRUST[@]}" --mode request \
        --request 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' --count 30 --concurrency 3
    expect_ok req-$1 30 || return 1
    [ "$(jget req-$1 "j['replies_ok']")" = 30 ] || { fail "not 30 good replies" "$WORK/req-$1.txt"; return 1; }
}

# Keep-alive against an echo server: one connection carries every request.
c_request_echo() {
    load reqe --connect "127.0.0.1:$PORT" "${TRUST[@]}" --mode request --request 'ping\n' --count 50
    expect_ok reqe 50 || return 1
    [ "$(jget reqe "j['handshakes']")" = 1 ] || { fail "connection not kept alive" "$WORK/reqe.txt"; return 1; }
}

# Open loop: --rate 200 for 1 s schedules 200 operations.
c_rate() {
    load rate --connect "127.0.0.1:$PORT" "${TRUST[@]}" --mode handshake --rate 200 --duration 1 --concurrency 16
    expect_ok rate 200
}

c_threads() {
    load thr --connect "127.0.0.1:$PORT" "${TRUST[@]}" --mode handshake --count 100 --concurrency 8 --threads 4
    expect_ok thr 100 || return 1
    [ "$(jget thr "j['threads']")" = 4 ] || { fail "not 4 threads" "$WORK/thr.txt"; return 1; }
}

c_connect_error() {
    local port
    port=$(pick_port)
    load conn --connect "127.0.0.1:$port" --insecure --mode handshake --count 3
    expect_error conn connect ECONNREFUSED
}

c_verify_error() {
    load ver --connect "127.0.0.1:$PORT" --servername localhost --ca "$CERTS/other-ca.pem" --mode handshake --count 3
    expect_error ver verification ERR_
}

# The server has only AES-256: offering only AES-128 gets its handshake_failure.
c_alert() {
    nk_server_ensure echo --cert "$CERTS/server.pem" --key "$CERTS/server.key" --ciphers TLS_AES_256_GCM_SHA384 ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    load alert --connect "127.0.0.1:$NK_PORT" "${TRUST[@]}" --ciphers TLS_AES_128_GCM_SHA256 --mode handshake --count 3
    expect_error alert alert handshake_failure
}

# ---- servers ---------------------------------------------------------------------

section "nktls-server"
if nk_server_ensure echo --cert "$CERTS/server.pem" --key "$CERTS/server.key"; then
    PORT=$NK_PORT
    run_case "load.nktls-server.handshake" c_handshake nk
    run_case "load.nktls-server.resume" c_resume nk
    run_case "load.nktls-server.bulk" c_bulk nk
    run_case "load.nktls-server.request_echo" c_request_echo
    run_case "load.nktls-server.rate" c_rate
    run_case "load.nktls-server.threads" c_threads
    run_case "load.nktls-server.verify_error" c_verify_error
else
    tap_fail "load.nktls-server" "nktls-server did not start" "$NK_LOG"
fi
run_case "load.connect_error" c_connect_error
run_case "load.nktls-server.alert" c_alert
if nk_server_ensure www --cert "$CERTS/server.pem" --key "$CERTS/server.key" --www; then
    PORT=$NK_PORT
    run_case "load.nktls-server.request" c_request nk
fi
nk_server_stop

# start_peer NAME CMD...: a peer server on a free port (@PORT@ in CMD); sets PORT.
start_peer() {
    local name=$1
    shift
    start_peer_server "$name" /dev/null /dev/null 1 "$@" || return 1
    PORT=$PEER_PORT
}

section "openssl s_server"
if ! command -v openssl >/dev/null; then
    tap_skip "load.s_server" "openssl not installed"
elif start_peer s_server timeout 300 openssl s_server -accept "127.0.0.1:@PORT@" -www -quiet \
        -cert "$CERTS/server.pem" -key "$CERTS/server.key"; then
    run_case "load.s_server.handshake" c_handshake ossl
    run_case "load.s_server.resume" c_resume ossl
    run_case "load.s_server.request" c_request ossl
    stop_pid "$PEER_PID"
else
    tap_fail "load.s_server" "openssl s_server did not start" "$WORK/s_server.err"
fi

section "gnutls-serv"
if ! command -v gnutls-serv >/dev/null; then
    tap_skip "load.gnutls-serv" "gnutls-serv not installed"
elif start_peer gnutls timeout 300 gnutls-serv --port @PORT@ --echo -q \
        --x509certfile "$CERTS/server.pem" --x509keyfile "$CERTS/server.key"; then
    run_case "load.gnutls-serv.handshake" c_handshake gnutls
    run_case "load.gnutls-serv.resume" c_resume gnutls
    run_case "load.gnutls-serv.bulk" c_bulk gnutls
    stop_pid "$PEER_PID"
else
    tap_fail "load.gnutls-serv" "gnutls-serv did not start" "$WORK/gnutls.err"
fi

tap_done
