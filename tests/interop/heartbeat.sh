#!/usr/bin/env bash
# tests/interop/heartbeat.sh — TLS heartbeats (RFC 6520, TLS 1.2) against
# GnuTLS's command-line peers. nktls-client --heartbeat against
# `gnutls-serv --heartbeat --echo`: our request gets its response, and the
# line "**HEARTBEAT**" makes gnutls-serv ping us, which we answer (gnutls-serv
# waits for the answer and says "Successfully executed command"). nktls-server
# --heartbeat against `gnutls-cli --heartbeat`: the ServerHello carries the
# extension (gnutls-cli -d 4 says it parsed it) and data still echoes; without
# --heartbeat it carries none. (gnutls-cli sends no request of its own from
# the command line; the server's answers and the Heartbleed-shaped request
# that must get none are checked over sockets in test_heartbeat_api.) Prints TAP.

# shellcheck source=tests/interop/lib.sh
. "$(dirname "$0")/lib.sh"

require_tool gnutls-serv gnutls-cli
require_nktls
if ! certs_init; then
    tap_fail "certificates generated" "scripts/gen-certs failed"
    tap_done
    exit 1
fi

# ===== nktls-client --heartbeat <-> gnutls-serv --heartbeat ===================

cli_both_ways() {
    local name=cli-hb srv port
    start_peer_server "$name-srv" /dev/null /dev/null 1 gnutls-serv --heartbeat --echo -p @PORT@ \
        --x509certfile "$CERTS/server.pem" --x509keyfile "$CERTS/server.key" ||
        { fail "gnutls-serv did not start" "$WORK/$name-srv.err"; return 1; }
    srv=$PEER_PID port=$PEER_PORT
    # The ping line, then a data line once the ping's answer is through.
    printf '**HEARTBEAT**\n' >"$WORK/$name.in"
    spawn_fed "$name" "$WORK/$name.in" "$WORK/$name.out" 30 "$NK_CLIENT" --connect "127.0.0.1:$port" \
        --servername localhost --ca "$CERTS/ca.pem" --tls 1.2 --heartbeat --timeout 5
    finish "$SPAWN_PID"
    stop_pid "$srv"
    local err=$WORK/$name.err
    grep -qx "nktls-client: heartbeat: request sent" "$err" || { fail "request not sent" "$err"; return 1; }
    grep -qx "nktls-client: heartbeat: response to our request received" "$err" ||
        { fail "no response to our request" "$err" "$WORK/$name-srv.out"; return 1; }
    grep -qx "nktls-client: heartbeat: the server's request answered" "$err" ||
        { fail "gnutls-serv's ping not answered" "$err" "$WORK/$name-srv.out"; return 1; }
    grep -q "Successfully executed command" "$WORK/$name.out" ||
        { fail "gnutls-serv did not get its pong" "$WORK/$name.out" "$WORK/$name-srv.out"; return 1; }
}

# ===== nktls-server --heartbeat <-> gnutls-cli --heartbeat ======================

# srv_ext HB WANT: nktls-server with --heartbeat when HB is 1; gnutls-cli -d 4
# parses the extension in the ServerHello (WANT 1) or not (0).
srv_ext() {
    local hb=$1 want=$2 name=srv-hb-$1 args=() out
    [ "$hb" = 1 ] && args=(--heartbeat)
    nk_server_ensure "hb-$hb" --cert "$CERTS/server.pem" --key "$CERTS/server.key" "${args[@]}" ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    printf 'hello heartbeat\n' >"$WORK/$name.in"
    spawn_fed "$name" "$WORK/$name.in" "$WORK/$name.out" 16 gnutls-cli -d 4 --heartbeat \
        --x509cafile "$CERTS/ca.pem" --priority 'NORMAL:-VERS-TLS1.3' -p "$NK_PORT" localhost
    finish "$SPAWN_PID"
    out=$WORK/$name.out
    cat "$WORK/$name.err" >>"$out"
    grep -q "^hello heartbeat" "$out" || { fail "no echo" "$out" "$NK_LOG"; return 1; }
    if [ "$want" = 1 ]; then
        grep -q "Parsing extension 'Heartbeat/15'" "$out" || { fail "no heartbeat extension" "$out"; return 1; }
    else
        ! grep -q "Parsing extension 'Heartbeat/15'" "$out" || { fail "heartbeat extension unasked for" "$out"; return 1; }
    fi
}

section "nktls-client --heartbeat, gnutls-serv --heartbeat"
run_case "request answered both ways" cli_both_ways
section "nktls-server --heartbeat, gnutls-cli --heartbeat"
run_case "nktls-server --heartbeat answers the extension" srv_ext 1 1
run_case "nktls-server without --heartbeat: no extension" srv_ext 0 0
nk_server_stop

tap_done
