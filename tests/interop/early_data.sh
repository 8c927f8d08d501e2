#!/usr/bin/env bash
# tests/interop/early_data.sh — TLS 1.3 0-RTT data (RFC 8446 §4.2.10).
# Skipped: `openssl s_client -sess_in S -early_data F`, with a session S saved
# from an `openssl s_server -early_data` (a ticket that allows 0-RTT), sends
# early data nktls-server cannot decrypt. The server must skip it and complete
# a full handshake: s_client reports the early data rejected, a new session,
# and the data sent after the handshake comes back. Once straight, once with a
# HelloRetryRequest in between (the 0-RTT records then come before the
# server's first reply and are skipped by their type).
# Accepted: nktls-server --max-early-data issues tickets that allow 0-RTT;
# s_client resumes one with early data, which nktls-server accepts and echoes
# before the data sent after the handshake (over each of its I/O models).
# nktls-client --sess-in S --early-data F sends its 0-RTT data to `openssl
# s_server -early_data` (which prints it as early data) and to nktls-server.
# TAP on stdout.
source "$(dirname "$0")/lib.sh"

require_nktls
require_tool openssl
certs_init || exit 1

SESS=$WORK/early.sess

# A session whose ticket allows 0-RTT, from openssl s_server -early_data.
get_session() {
    local port
    rm -f "$SESS"
    # stdin stays open until the session is saved: s_server ends on end of input.
    start_peer_server early /dev/null "$SESS" 1 \
        openssl s_server -accept "127.0.0.1:@PORT@" -tls1_3 -early_data -naccept 1 \
        -cert "$CERTS/server.pem" -key "$CERTS/server.key" ||
        { fail "openssl s_server did not start"; return 1; }
    port=$PEER_PORT
    (echo first; sleep 0.5) | timeout "$T_TIMEOUT" openssl s_client -connect "127.0.0.1:$port" \
        -servername localhost -CAfile "$CERTS/ca.pem" -sess_out "$SESS" >"$WORK/early-s1.out" 2>&1
    stop_pid "$PEER_PID"
    [ -s "$SESS" ] || { fail "s_client saved no session" "$WORK/early-s1.out"; return 1; }
    grep -q 'Max Early Data: 16384' "$WORK/early-s1.out" ||
        { fail "the saved session does not allow early data" "$WORK/early-s1.out"; return 1; }
}

# early_to_nktls NAME S_CLIENT_ARGS...: s_client resumes S against nktls-server
# with early data.
early_to_nktls() {
    local name=$1 out=$WORK/early-$1.out
    shift
    [ -s "$SESS" ] || { SKIP_REASON="no 0-RTT session from openssl s_server"; return 2; }
    echo "early-bytes-nktls-must-skip" >"$WORK/early.txt"
    (echo after-handshake; sleep 0.5) | timeout "$T_TIMEOUT" openssl s_client \
        -connect "127.0.0.1:$NK_PORT" -servername localhost -CAfile "$CERTS/ca.pem" \
        -sess_in "$SESS" -early_data "$WORK/early.txt" "$@" >"$out" 2>&1
    grep -q '^Early data was rejected' "$out" ||
        { fail "s_client did not report its early data rejected: $(grep -i 'early data was' "$out")" "$out" "$NK_LOG"; return 1; }
    grep -q '^New, TLSv1.3' "$out" || { fail "no full TLS 1.3 handshake" "$out" "$NK_LOG"; return 1; }
    grep -qx after-handshake "$out" || { fail "the data after the handshake did not come back" "$out" "$NK_LOG"; return 1; }
    if grep -q 'early-bytes-nktls-must-skip' "$out"; then
        fail "the early data was echoed: nktls-server took it" "$out"
        return 1
    fi
}

# early_accepted IO: s_client saves nktls-server's ticket, then resumes it with
# early data; nktls-server (--io IO) accepts it and echoes it first.
early_accepted() {
    local io=$1 out=$WORK/early-acc-$1.out sess=$WORK/early-nk-$1.sess
    nk_server_ensure "early-$io" --io "$io" --max-early-data 16384 --cert "$CERTS/server.pem" \
        --key "$CERTS/server.key" || { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    rm -f "$sess"
    (echo first; sleep 0.5) | timeout "$T_TIMEOUT" openssl s_client -connect "127.0.0.1:$NK_PORT" \
        -servername localhost -CAfile "$CERTS/ca.pem" -sess_out "$sess" >"$WORK/early-acc1-$io.out" 2>&1
    grep -q 'Max Early Data: 16384' "$WORK/early-acc1-$io.out" ||
        { fail "nktls-server's ticket does not allow early data" "$WORK/early-acc1-$io.out"; return 1; }
    echo "early-bytes-for-nktls" >"$WORK/early-acc.txt"
    (echo after-handshake; sleep 1) | timeout "$T_TIMEOUT" openssl s_client \
        -connect "127.0.0.1:$NK_PORT" -servername localhost -CAfile "$CERTS/ca.pem" \
        -sess_in "$sess" -early_data "$WORK/early-acc.txt" >"$out" 2>&1
    grep -q '^Reused, TLSv1.3' "$out" || { fail "not resumed" "$out" "$NK_LOG"; return 1; }
    grep -q '^Early data was accepted' "$out" ||
        { fail "s_client did not report its early data accepted: $(grep -i 'early data was' "$out")" "$out" "$NK_LOG"; return 1; }
    # The echo: the early data, then what was sent after the handshake.
    [ "$(grep -xE 'early-bytes-for-nktls|after-handshake' "$out" | tr '\n' ' ')" = \
        "early-bytes-for-nktls after-handshake " ] ||
        { fail "the echo is not the early data followed by the rest" "$out" "$NK_LOG"; return 1; }
}

# nktls-client's ticket from PEER, then its 0-RTT data to it.
# nk_client_early NAME EXPECTED_STATUS SERVER_OUTPUT_CHECK SERVER_ARGS... (@PORT@: the port)
nk_client_early() {
    local name=$1 want=$2 check=$3 sess=$WORK/early-$1.sess port a args=() i
    shift 3
    rm -f "$sess"
    echo "nk-early-bytes" >"$WORK/early-nk.txt"
    port=$(pick_port)
    for a in "$@"; do args+=("${a//@PORT@/$port}"); done
    (sleep $((T_TIMEOUT + 2))) | "${args[@]}" >"$WORK/early-$name.srv" 2>&1 &
    PEER_PID=$!
    wait_listen "$port" "$PEER_PID" || { fail "$name did not start" "$WORK/early-$name.srv"; return 1; }
    for i in 1 2; do
        local how=(--sess-out "$sess")
        [ "$i" = 2 ] && how=(--sess-in "$sess" --early-data "$WORK/early-nk.txt")
        (echo hello; sleep 0.5) | timeout "$T_TIMEOUT" "$NK_CLIENT" --connect "127.0.0.1:$port" \
            --servername localhost --ca "$CERTS/ca.pem" -v --timeout 1.5 "${how[@]}" \
            >"$WORK/early-$name-$i.out" 2>"$WORK/early-$name-$i.err"
    done
    stop_pid "$PEER_PID"
    grep -qx 'resumed: yes' "$WORK/early-$name-2.err" || { fail "not resumed" "$WORK/early-$name-2.err"; return 1; }
    grep -qx "early data: $want" "$WORK/early-$name-2.err" ||
        { fail "nktls-client did not report 'early data: $want'" "$WORK/early-$name-2.err"; return 1; }
    $check "$name" || return 1
}

# openssl s_server says it read 0-RTT data and prints it (its label and the
# data reach stdout by two paths, so their order varies); the data was not
# also resent after the handshake.
s_server_got_early() {
    local srv=$WORK/early-$1.srv
    grep -q '^Early data received:' "$srv" && grep -q '^End of early data' "$srv" ||
        { fail "s_server received no early data from nktls-client" "$srv"; return 1; }
    [ "$(grep -cx nk-early-bytes "$srv")" = 1 ] ||
        { fail "s_server did not print the early data once" "$srv"; return 1; }
}

# nktls-server echoes: the early data first, then the rest.
nk_echoed_early() {
    local out=$WORK/early-$1-2.out
    [ "$(tr '\n' ' ' <"$out")" = "nk-early-bytes hello " ] ||
        { fail "the echo is not the early data followed by the rest: '$(tr '\n' ' ' <"$out")'" "$out"; return 1; }
}

data_init
section "0-RTT data nktls-server accepts"
for io in threads uring epoll; do
    run_case "early_data.accepted_$io" early_accepted "$io"
done
nk_server_stop
section "0-RTT data from nktls-client"
# -no_anti_replay: stateless tickets; with the single-use cache, s_server
# forgets a session whose connection ended without close_notify, as the
# first (timed-out) one here does.
run_case "early_data.nktls-client.s_server" nk_client_early s_server accepted s_server_got_early \
    openssl s_server -accept "127.0.0.1:@PORT@" -naccept 2 -tls1_3 -early_data -no_anti_replay \
    -cert "$CERTS/server.pem" -key "$CERTS/server.key"
run_case "early_data.nktls-client.nktls-server" nk_client_early nktls accepted nk_echoed_early \
    "$NK_SERVER" --listen "127.0.0.1:@PORT@" --max-early-data 1024 --cert "$CERTS/server.pem" \
    --key "$CERTS/server.key"
section "0-RTT data to nktls-server"
run_case "early_data.session_from_s_server" get_session
nk_server_ensure echo --cert "$CERTS/server.pem" --key "$CERTS/server.key" ||
    echo "# nktls-server did not start"
run_case "early_data.skipped" early_to_nktls skipped
nk_server_ensure echo --cert "$CERTS/server.pem" --key "$CERTS/server.key" --groups P-256 ||
    echo "# nktls-server did not start"
run_case "early_data.skipped_after_hello_retry" early_to_nktls hrr -groups X25519:P-256
nk_server_stop
tap_done
