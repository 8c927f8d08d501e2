#!/usr/bin/env bash
# tests/interop/early_data.sh — 0-RTT data nktls-server does not accept (RFC
# 8446 §4.2.10): `openssl s_client -sess_in S -early_data F`, with a session S
# saved from an `openssl s_server -early_data` (a ticket that allows 0-RTT),
# sends early data nktls-server cannot decrypt. The server must skip it and
# complete a full handshake: s_client reports the early data rejected, a new
# session, and the data sent after the handshake comes back. Once straight,
# once with a HelloRetryRequest in between (the 0-RTT records then come
# before the server's first reply and are skipped by their type). TAP on stdout.
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

data_init
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
