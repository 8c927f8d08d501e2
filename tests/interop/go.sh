#!/usr/bin/env bash
# tests/interop/go.sh — interop with Go's crypto/tls, a peer that follows RFC
# 8446 strictly (it sends a session ticket only to a client that sent
# psk_key_exchange_modes, §4.2.9). The peer program is tests/interop/go/peer.go,
# built here into a temporary directory with the standard library only (no
# network). nktls-client against the Go server: resumption, every suite x group
# Go implements, HelloRetryRequest, ALPN, client certificates; the Go client
# against nktls-server: resumption, HelloRetryRequest, ALPN, client
# certificates. TAP on stdout.
source "$(dirname "$0")/lib.sh"

require_nktls
require_tool go
certs_init || exit 1

# Go's build cache and module path go to the scratch directory: nothing is
# written to the home directory, and nothing is fetched.
GO_PEER=$WORK/go-peer
if ! GOCACHE=$WORK/gocache GOPATH=$WORK/gopath HOME=$WORK GOPROXY=off GOFLAGS= \
     GO111MODULE=off go build -o "$GO_PEER" "$NKTLS_ROOT/tests/interop/go/peer.go" \
     >"$WORK/go-build.log" 2>&1; then
    tap_fail "go build tests/interop/go/peer.go" "the Go peer did not build" "$WORK/go-build.log"
    tap_done
    exit 1
fi

# ---- the Go server ----------------------------------------------------------

GO_PID="" GO_PORT="" GO_LOG="" GO_KEY=""

go_server_stop() {
    stop_pid "$GO_PID"
    GO_PID="" GO_KEY=""
}

# go_server_ensure ARGS...: a Go server with exactly these arguments runs; it
# prints "listening on 127.0.0.1:PORT" once it accepts. Sets GO_PORT, GO_LOG.
go_server_ensure() {
    local i=0 line
    if [ -n "$GO_PID" ] && alive "$GO_PID" && [ "$*" = "$GO_KEY" ]; then
        return 0
    fi
    go_server_stop
    GO_LOG=$WORK/go-server.$RANDOM.log
    timeout 600 "$GO_PEER" -mode server "$@" </dev/null >"$GO_LOG" 2>&1 &
    GO_PID=$! GO_KEY="$*"
    while [ $i -lt $((T_TIMEOUT * 20)) ]; do
        line=$(grep -m1 -oE 'listening on [^ ]*:[0-9]+' "$GO_LOG" 2>/dev/null)
        if [ -n "$line" ]; then
            GO_PORT=${line##*:}
            return 0
        fi
        alive "$GO_PID" || break
        sleep 0.05
        i=$((i + 1))
    done
    fail "the Go server did not start" "$GO_LOG"
    GO_KEY=""
    return 1
}

# go_conn_line N: the Go server's line for its N-th connection (waits for it).
go_conn_line() {
    local n=$1 i=0
    while [ $i -lt $((T_TIMEOUT * 20)) ]; do
        grep -m1 "^conn $n: " "$GO_LOG" 2>/dev/null && return 0
        sleep 0.05
        i=$((i + 1))
    done
    return 1
}

GO_CONNS=0   # connections the current Go server has seen, counted by the test

# nk_to_go NAME ARGS...: one nktls-client connection to the Go server, "hello"
# echoed back; ARGS go to nktls-client. Leaves the client's -v lines in
# $WORK/NAME.err and the Go server's line for it in GO_LINE.
nk_to_go() {
    local name=$1
    shift
    (echo hello; sleep 0.3) | timeout "$T_TIMEOUT" "$NK_CLIENT" --connect "127.0.0.1:$GO_PORT" \
        --servername localhost --ca "$CERTS/ca.pem" --echo -v "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
    RC=$?
    GO_CONNS=$((GO_CONNS + 1))
    GO_LINE=$(go_conn_line "$GO_CONNS")
    [ "$RC" -eq 0 ] || { fail "nktls-client exited with status $RC" "$WORK/$name.err" "$GO_LOG"; return 1; }
    grep -qx hello "$WORK/$name.out" || { fail "no echo from the Go server" "$WORK/$name.err" "$GO_LOG"; return 1; }
    return 0
}

go_fresh_server() {
    go_server_stop
    GO_CONNS=0
    go_server_ensure "$@"
}

# The case of the issue: a Go server sends a ticket only to a client that sent
# psk_key_exchange_modes; nktls-client keeps it and resumes.
cli_resume() {
    local sess=$WORK/go.sess
    rm -f "$sess"
    go_fresh_server -cert "$CERTS/server.pem" -key "$CERTS/server.key" || return 1
    nk_to_go resume-1 --sess-out "$sess" || return 1
    grep -qx 'resumed: no' "$WORK/resume-1.err" || { fail "first connection says it resumed" "$WORK/resume-1.err"; return 1; }
    [ -s "$sess" ] || { fail "no ticket saved from the Go server" "$WORK/resume-1.err" "$GO_LOG"; return 1; }
    nk_to_go resume-2 --sess-in "$sess" || return 1
    grep -qx 'resumed: yes' "$WORK/resume-2.err" || { fail "second connection not resumed" "$WORK/resume-2.err"; return 1; }
    case $GO_LINE in
    *resumed=yes*) ;;
    *) fail "the Go server did not resume: $GO_LINE" "$GO_LOG"; return 1 ;;
    esac
}

# cli_full SUITE GROUP: a full handshake with exactly this suite and group.
cli_full() {
    local suite=$1 group=$2 name=full-$1-$2
    go_server_ensure -cert "$CERTS/server.pem" -key "$CERTS/server.key" || return 1
    nk_to_go "$name" --ciphers "$suite" --groups "$group" || return 1
    nk_client_check "$WORK/$name.err" "$suite" "$group" || return 1
    case $GO_LINE in
    *"cipher=$suite "*) ;;
    *) fail "the Go server reports another suite: $GO_LINE" "$GO_LOG"; return 1 ;;
    esac
}

# The Go server wants P-384 only: nktls-client's X25519 share draws a
# HelloRetryRequest, and the second ClientHello carries a P-384 share.
cli_hrr() {
    go_fresh_server -cert "$CERTS/server.pem" -key "$CERTS/server.key" -groups P-384 || return 1
    nk_to_go hrr --groups X25519,P-384 || return 1
    nk_client_check "$WORK/hrr.err" "" P-384
}

cli_alpn() {
    go_fresh_server -cert "$CERTS/server.pem" -key "$CERTS/server.key" -alpn h2,http/1.1 || return 1
    nk_to_go alpn --alpn x-none,http/1.1 || return 1
    grep -qx 'alpn: http/1.1' "$WORK/alpn.err" || { fail "client -v: no 'alpn: http/1.1'" "$WORK/alpn.err"; return 1; }
    case $GO_LINE in
    *alpn=http/1.1*) ;;
    *) fail "the Go server agreed on another protocol: $GO_LINE" "$GO_LOG"; return 1 ;;
    esac
}

# The Go server requires a client certificate from the CA: nktls-client's
# identity passes, and without one the handshake fails.
cli_client_cert() {
    go_fresh_server -cert "$CERTS/server.pem" -key "$CERTS/server.key" -ca "$CERTS/ca.pem" \
        -verify-client || return 1
    nk_to_go ccert --cert "$CERTS/client.pem" --key "$CERTS/client.key" || return 1
    case $GO_LINE in
    *"client=none"*|"") fail "the Go server saw no client certificate: $GO_LINE" "$GO_LOG"; return 1 ;;
    esac
    if nk_to_go ccert-none; then
        fail "a connection without a client certificate succeeded" "$GO_LOG"
        return 1
    fi
    case $GO_LINE in
    *"handshake failed"*) return 0 ;;
    *) fail "the Go server did not refuse the connection: $GO_LINE" "$GO_LOG"; return 1 ;;
    esac
}

# ---- the Go client against nktls-server ---------------------------------------

# go_to_nk NAME ARGS...: the Go client, ARGS added, against the running
# nktls-server; its lines in $WORK/NAME.out.
go_to_nk() {
    local name=$1
    shift
    timeout "$T_TIMEOUT" "$GO_PEER" -mode client -addr "127.0.0.1:$NK_PORT" -ca "$CERTS/ca.pem" "$@" \
        >"$WORK/$name.out" 2>"$WORK/$name.err"
    RC=$?
    [ "$RC" -eq 0 ] || { fail "the Go client exited with status $RC" "$WORK/$name.err" "$NK_LOG"; return 1; }
}

srv_resume() {
    nk_server_ensure echo --cert "$CERTS/server.pem" --key "$CERTS/server.key" ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    go_to_nk go-resume -conns 2 || return 1
    grep -q '^conn 1: version=TLSv1.3 .*resumed=no' "$WORK/go-resume.out" ||
        { fail "first connection: $(head -1 "$WORK/go-resume.out")" "$WORK/go-resume.out"; return 1; }
    grep -q '^conn 2: version=TLSv1.3 .*resumed=yes' "$WORK/go-resume.out" ||
        { fail "second connection not resumed: $(tail -1 "$WORK/go-resume.out")" "$WORK/go-resume.out"; return 1; }
}

# nktls-server takes P-256 only; the Go client's first share is X25519.
srv_hrr() {
    nk_server_ensure echo --cert "$CERTS/server.pem" --key "$CERTS/server.key" --groups P-256 ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    go_to_nk go-hrr -groups X25519,P-256 || return 1
    grep -q '^conn 1: version=TLSv1.3 ' "$WORK/go-hrr.out" || { fail "no TLS 1.3 connection" "$WORK/go-hrr.out"; return 1; }
}

srv_alpn() {
    nk_server_ensure echo --cert "$CERTS/server.pem" --key "$CERTS/server.key" --alpn h2,http/1.1 ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    go_to_nk go-alpn -alpn x-none,http/1.1 || return 1
    grep -q '^conn 1: .*alpn=http/1.1 ' "$WORK/go-alpn.out" || { fail "ALPN: $(cat "$WORK/go-alpn.out")" "$WORK/go-alpn.out"; return 1; }
}

srv_client_cert() {
    nk_server_ensure echo --cert "$CERTS/server.pem" --key "$CERTS/server.key" --ca "$CERTS/ca.pem" \
        --verify-client || { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    go_to_nk go-ccert -cert "$CERTS/client.pem" -key "$CERTS/client.key" || return 1
    grep -q '^conn 1: version=TLSv1.3 ' "$WORK/go-ccert.out" || { fail "no TLS 1.3 connection" "$WORK/go-ccert.out"; return 1; }
    if go_to_nk go-ccert-none; then
        fail "nktls-server accepted a client without a certificate" "$WORK/go-ccert-none.out" "$NK_LOG"
        return 1
    fi
    return 0
}

section "nktls-client against a Go crypto/tls server"
run_case "go.nktls-client.resume" cli_resume
go_fresh_server -cert "$CERTS/server.pem" -key "$CERTS/server.key" >/dev/null
for suite in "${SUITES[@]}"; do
    for group in "${GROUPS_ALL[@]}"; do
        case $suite/$group in
        TLS_AES_128_CCM_SHA256/*) tap_skip "go.nktls-client.$suite.$group" "Go does not implement $suite" ;;
        */X448) tap_skip "go.nktls-client.$suite.$group" "Go does not implement $group" ;;
        *) run_case "go.nktls-client.$suite.$group" cli_full "$suite" "$group" ;;
        esac
    done
done
run_case "go.nktls-client.hello_retry" cli_hrr
run_case "go.nktls-client.alpn" cli_alpn
run_case "go.nktls-client.client_cert" cli_client_cert
go_server_stop

section "Go crypto/tls client against nktls-server"
run_case "go.nktls-server.resume" srv_resume
run_case "go.nktls-server.hello_retry" srv_hrr
run_case "go.nktls-server.alpn" srv_alpn
run_case "go.nktls-server.client_cert" srv_client_cert
nk_server_stop
tap_done
