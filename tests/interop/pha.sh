#!/usr/bin/env bash
# tests/interop/pha.sh — TLS 1.3 post-handshake client authentication (RFC 8446
# §4.6.2) between nktls and openssl.
# nktls-server --pha asks for the client's certificate after the handshake:
# `openssl s_client -enable_pha` answers with its certificate (the server
# names its subject), with none (accepted, or certificate_required with
# --verify-client), or never offered post_handshake_auth (not asked). The
# data echoes on through every one that does not fail.
# nktls-client --pha answers `openssl s_server`'s post-handshake request (its
# `c` command) from --cert: s_server's trace shows the CertificateRequest
# after the handshake, then the client's Certificate and CertificateVerify,
# and verifies the client's chain; and nktls-client against nktls-server,
# both ways, the refusal included. TAP on stdout.
source "$(dirname "$0")/lib.sh"

require_nktls
require_tool openssl
certs_init || exit 1

CLIENT_ID=(-cert "$CERTS/client.pem" -key "$CERTS/client.key")
NK_ID=(--cert "$CERTS/client.pem" --key "$CERTS/client.key")
SUBJECT="CN=nktls test client, O=nktls test"

# server_says PATTERN: nktls-server's log has a "pha:" line matching PATTERN
# (an extended regular expression after "pha: ADDR: ").
server_says() {
    local i
    for i in $(seq 20); do          # the line comes when the server reads on
        grep -qE "^pha: [^ ]+: $1" "$NK_LOG" && return 0
        sleep 0.1
    done
    fail "nktls-server did not print 'pha: ...: $1'" "$NK_LOG"
}

# s_client_run NAME ARGS...: s_client against nktls-server, one line sent after
# a second (the request is answered before it), the echo awaited.
s_client_run() {
    local name=$1
    shift
    (sleep 1; echo "pha-echo-$name"; sleep 1) | timeout "$T_TIMEOUT" openssl s_client \
        -connect "127.0.0.1:$NK_PORT" -servername localhost -CAfile "$CERTS/ca.pem" -tls1_3 \
        "$@" >"$WORK/pha-$name.out" 2>&1
}

pha_server() {
    nk_server_ensure "pha$*" --cert "$CERTS/server.pem" --key "$CERTS/server.key" \
        --ca "$CERTS/ca.pem" --pha "$@" || { fail "nktls-server did not start" "$NK_LOG"; return 1; }
}

echoed() {
    grep -qx "pha-echo-$1" "$WORK/pha-$1.out" ||
        { fail "the data did not come back" "$WORK/pha-$1.out" "$NK_LOG"; return 1; }
}

c_s_client_cert() {
    pha_server || return 1
    s_client_run cert -enable_pha "${CLIENT_ID[@]}"
    server_says "client certificate requested$" || return 1
    server_says "client certificate received, [0-9]+ bytes, $SUBJECT$" || return 1
    echoed cert
}

# No certificate, none required: the connection goes on unauthenticated.
c_s_client_none() {
    pha_server || return 1
    s_client_run none -enable_pha
    echoed none || return 1
    server_says "no client certificate came$"
}

# --verify-client: an empty answer ends the connection with certificate_required.
c_s_client_refused() {
    pha_server --verify-client || return 1
    s_client_run refused -enable_pha
    server_says "client certificate requested \(required\)$" || return 1
    server_says "refused: ERR_SSL_CERTIFICATE_REQUIRED.*certificate_required" || return 1
    grep -qi "alert certificate required" "$WORK/pha-refused.out" ||
        { fail "s_client got no certificate_required alert" "$WORK/pha-refused.out"; return 1; }
    if grep -qx "pha-echo-refused" "$WORK/pha-refused.out"; then
        fail "the data was echoed after the refusal" "$WORK/pha-refused.out"
        return 1
    fi
}

# A client that did not offer post_handshake_auth is not asked (§4.6.2).
c_s_client_not_offered() {
    pha_server || return 1
    s_client_run unoffered "${CLIENT_ID[@]}"
    server_says "not asked: the client did not offer post_handshake_auth" || return 1
    echoed unoffered
}

# nktls-client --pha against s_server: `c` on s_server's input asks for the
# certificate a second into the connection.
c_nk_client_s_server() {
    local port srv=$WORK/pha-s_server.out
    port=$(pick_port)
    (sleep 1; echo c; sleep 2) | timeout "$T_TIMEOUT" openssl s_server -accept "127.0.0.1:$port" \
        -naccept 1 -tls1_3 -msg -cert "$CERTS/server.pem" -key "$CERTS/server.key" \
        -CAfile "$CERTS/ca.pem" >"$srv" 2>&1 &
    PEER_PID=$!
    wait_listen "$port" "$PEER_PID" || { fail "s_server did not start" "$srv"; return 1; }
    (sleep 2.5) | timeout "$T_TIMEOUT" "$NK_CLIENT" --connect "127.0.0.1:$port" \
        --servername localhost --ca "$CERTS/ca.pem" --pha "${NK_ID[@]}" --timeout 4 \
        >"$WORK/pha-nk1.out" 2>"$WORK/pha-nk1.err"
    wait "$PEER_PID" 2>/dev/null
    grep -q "post-handshake authentication: the server asks for a certificate; answering with the one of --cert" \
        "$WORK/pha-nk1.err" || { fail "nktls-client did not answer a post-handshake request" "$WORK/pha-nk1.err" "$srv"; return 1; }
    # The trace, in order: the handshake's Finished from the client, then the
    # request, then the client's Certificate, CertificateVerify and Finished.
    [ "$(grep -oE '^(<<<|>>>) TLS 1.3, Handshake \[length [0-9a-f]+\], (Finished|CertificateRequest|Certificate|CertificateVerify)$' "$srv" |
        sed 's/ TLS 1.3, Handshake \[length [0-9a-f]*\],//' | tail -5 | tr '\n' ' ')" = \
        "<<< Finished >>> CertificateRequest <<< Certificate <<< CertificateVerify <<< Finished " ] ||
        { fail "s_server's trace lacks the post-handshake exchange" "$srv"; return 1; }
    grep -q "depth=0 O = nktls test, CN = nktls test client" "$srv" ||
        { fail "s_server did not verify the client's certificate" "$srv"; return 1; }
}

# nktls on both ends: answered from --cert; with none and required, refused on
# both sides.
c_nk_both() {
    pha_server || return 1
    (echo nk-pha; sleep 1) | timeout "$T_TIMEOUT" "$NK_CLIENT" --connect "127.0.0.1:$NK_PORT" \
        --servername localhost --ca "$CERTS/ca.pem" --pha "${NK_ID[@]}" --timeout 3 \
        >"$WORK/pha-nk2.out" 2>"$WORK/pha-nk2.err"
    grep -q "answering with the one of --cert" "$WORK/pha-nk2.err" ||
        { fail "nktls-client did not answer the request" "$WORK/pha-nk2.err" "$NK_LOG"; return 1; }
    server_says "client certificate received, [0-9]+ bytes, $SUBJECT$" || return 1
    grep -qx nk-pha "$WORK/pha-nk2.out" || { fail "the data did not come back" "$WORK/pha-nk2.out"; return 1; }
}

c_nk_refused() {
    pha_server --verify-client || return 1
    (echo nk-pha; sleep 1) | timeout "$T_TIMEOUT" "$NK_CLIENT" --connect "127.0.0.1:$NK_PORT" \
        --servername localhost --ca "$CERTS/ca.pem" --pha --timeout 3 \
        >"$WORK/pha-nk3.out" 2>"$WORK/pha-nk3.err"
    grep -q "answering with none (no --cert)" "$WORK/pha-nk3.err" ||
        { fail "nktls-client did not answer the request" "$WORK/pha-nk3.err" "$NK_LOG"; return 1; }
    server_says "refused: ERR_SSL_CERTIFICATE_REQUIRED" || return 1
    grep -q "certificate_required" "$WORK/pha-nk3.err" ||
        { fail "nktls-client did not report certificate_required" "$WORK/pha-nk3.err"; return 1; }
}

section "openssl s_client against nktls-server --pha"
run_case "pha.s_client.certificate" c_s_client_cert
run_case "pha.s_client.no_certificate" c_s_client_none
run_case "pha.s_client.certificate_required" c_s_client_refused
run_case "pha.s_client.not_offered" c_s_client_not_offered
section "nktls-client --pha"
run_case "pha.nktls-client.s_server" c_nk_client_s_server
run_case "pha.nktls-client.nktls-server" c_nk_both
run_case "pha.nktls-client.certificate_required" c_nk_refused
nk_server_stop
tap_done
