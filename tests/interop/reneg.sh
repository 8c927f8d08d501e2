#!/usr/bin/env bash
# tests/interop/reneg.sh — TLS 1.2 secure renegotiation (RFC 5746) against the
# `openssl` command-line peers. s_client -tls1_2 typing `R` renegotiates with
# nktls-server --allow-renegotiation, and the lines sent before and after come
# back echoed; without the option nktls-server refuses with a no_renegotiation
# warning (s_client then gives up with its own alert, and the server lives on).
# nktls-client against s_server -tls1_2, whose `r` command sends a HelloRequest:
# nktls-client renegotiates (s_server sees a second ClientHello), data flows
# both ways before and after; both also with ALPN, which the renegotiation
# keeps. (An insecure peer cannot be made from these
# tools: each always signals RFC 5746; that refusal is in
# tests/unit/test_reneg12.c.) Prints TAP.

# shellcheck source=tests/interop/lib.sh
. "$(dirname "$0")/lib.sh"

require_tool openssl
require_nktls
if ! certs_init; then
    tap_fail "certificates generated" "scripts/gen-certs failed"
    tap_done
    exit 1
fi

# feed FIFO STEP...: writes each STEP to FIFO in turn, a STEP "sleep:S" waits
# S seconds instead; s_client and s_server take a command only when it comes
# alone in one read, hence the pauses. Runs in the background.
feed() {
    local fifo=$1 step
    shift
    {
        for step in "$@"; do
            case $step in
            sleep:*) sleep "${step#sleep:}" ;;
            *) printf '%s\n' "$step" ;;
            esac
        done
    } >"$fifo" 2>/dev/null &
}

# srv_reneg ALLOW [SUITE [ALPN]]: s_client renegotiates with nktls-server ("R");
# ALLOW says whether nktls-server was started with --allow-renegotiation;
# SUITE (OpenSSL's name and IANA id, NAME/0xNNNN) is the one both enable;
# ALPN the protocol both offer (the renegotiation keeps it).
srv_reneg() {
    local allow=$1 suite=${2:-} alpn=${3:-} name=srv-reneg-$1 out err fifo hellos opts=() cli=()
    [ "$allow" = yes ] && opts=(--allow-renegotiation)
    [ -n "$suite" ] && opts+=(--ciphers "${suite#*/}") cli=(-cipher "${suite%/*}") name=$name-${suite%/*}
    [ -n "$alpn" ] && opts+=(--alpn "$alpn") cli+=(-alpn "$alpn") name=$name-alpn
    nk_server_ensure "reneg-$allow${alpn:+-alpn}" --cert "$CERTS/server.pem" --key "$CERTS/server.key" --tls 1.2 \
        "${opts[@]}" -v || { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    out=$WORK/$name.out err=$WORK/$name.err fifo=$WORK/$name.fifo
    rm -f "$fifo" && mkfifo "$fifo"
    feed "$fifo" sleep:1 "before-renegotiation" sleep:0.7 R sleep:1.5 "after-renegotiation" sleep:1.5
    timeout "$T_TIMEOUT" openssl s_client -connect "127.0.0.1:$NK_PORT" -tls1_2 -msg \
        "${S_CLIENT_VERIFY[@]}" "${cli[@]}" <"$fifo" >"$out" 2>"$err"
    hellos=$(grep -c '>>> TLS 1.[23], Handshake \[length [0-9a-f]*\], ClientHello' "$out")
    grep -qx "before-renegotiation" "$out" || { fail "no echo before" "$out" "$NK_LOG"; return 1; }
    grep -q "^RENEGOTIATING" "$out" "$err" || { fail "s_client did not renegotiate" "$out"; return 1; }
    alive "$NK_PID" || { fail "nktls-server died" "$NK_LOG"; return 1; }
    if [ "$allow" = yes ]; then
        [ "$hellos" -eq 2 ] || { fail "$hellos ClientHellos, not 2" "$out"; return 1; }
        [ "$(grep -c '<<< TLS 1.[23], Handshake \[length [0-9a-f]*\], Finished' "$out")" -eq 2 ] ||
            { fail "the renegotiation did not finish" "$out" "$NK_LOG"; return 1; }
        grep -qx "after-renegotiation" "$out" || { fail "no echo after" "$out" "$err" "$NK_LOG"; return 1; }
        [ -z "$alpn" ] || grep -q "^ALPN protocol: $alpn" "$out" ||
            { fail "s_client did not report ALPN $alpn" "$out"; return 1; }
    else
        # RFC 5246 §7.2.2: the warning; s_client answers it with its own alert.
        grep -q '<<< TLS 1.2, Alert \[length 0002\], warning no_renegotiation' "$out" ||
            { fail "no no_renegotiation warning" "$out" "$NK_LOG"; return 1; }
    fi
    return 0
}

S_CLIENT_VERIFY=(-CAfile "$CERTS/ca.pem" -verify_return_error -verify_hostname localhost -servername localhost)

section "nktls-server <-> openssl s_client -tls1_2"
run_case "nktls-server.s_client_tls12.client_renegotiates" srv_reneg yes
run_case "nktls-server.s_client_tls12.refused_without_allow_renegotiation" srv_reneg no
# CBC with encrypt_then_mac (RFC 7366): the MAC keys change too.
run_case "nktls-server.s_client_tls12.client_renegotiates.ECDHE-ECDSA-AES128-SHA256" \
    srv_reneg yes ECDHE-ECDSA-AES128-SHA256/0xC023
# ALPN on both ends: the renegotiating ClientHello offers it again.
run_case "nktls-server.s_client_tls12.client_renegotiates.alpn" \
    srv_reneg yes "" http/1.1
nk_server_stop

# s_server's "r" sends a HelloRequest; nktls-client answers with a new
# handshake. nktls-client --echo ends once it has read as many bytes as it
# sent (13 each way). ALPN (optional): the protocol both offer; the
# renegotiating ClientHello offers it again and s_server selects it again.
cli_reneg() {
    local alpn=${1:-} name=cli-reneg${1:+-alpn} sin cin sout cout cerr rc srv=() cli=()
    [ -n "$alpn" ] && srv=(-alpn "$alpn") cli=(--alpn "$alpn")
    sin=$WORK/$name-srv.in cin=$WORK/$name-cli.in
    sout=$WORK/$name-srv.out cout=$WORK/$name-cli.out cerr=$WORK/$name-cli.err
    rm -f "$sin" "$cin" && mkfifo "$sin" "$cin"
    local port _
    for _ in 1 2 3; do
        port=$(pick_port)
        timeout "$T_TIMEOUT" openssl s_server -accept "127.0.0.1:$port" -naccept 1 -tls1_2 -msg \
            -cert "$CERTS/server.pem" -key "$CERTS/server.key" "${srv[@]}" <"$sin" >"$sout" 2>"$WORK/$name-srv.err" &
        PEER_PID=$!
        feed "$sin" sleep:1 before sleep:0.7 r sleep:1 after sleep:2 q
        wait_listen "$port" "$PEER_PID" && break
        stop_pid "$PEER_PID"
    done
    feed "$cin" sleep:2.2 "late-client!"
    timeout "$T_TIMEOUT" "$NK_CLIENT" --connect "127.0.0.1:$port" --servername localhost \
        --ca "$CERTS/ca.pem" --tls 1.2 "${cli[@]}" --echo -v <"$cin" >"$cout" 2>"$cerr"
    rc=$?
    finish_within "$PEER_PID" 3
    [ "$rc" -eq 0 ] || { fail "nktls-client exited with status $rc" "$cerr" "$sout"; return 1; }
    [ "$(cat "$cout")" = "$(printf 'before\nafter')" ] ||
        { fail "nktls-client did not get 'before' and 'after'" "$cout" "$cerr"; return 1; }
    [ "$(grep -c '<<< TLS 1.[23], Handshake \[length [0-9a-f]*\], ClientHello' "$sout")" -eq 2 ] ||
        { fail "s_server did not see a second ClientHello" "$sout"; return 1; }
    [ "$(grep -c '<<< TLS 1.[23], Handshake \[length [0-9a-f]*\], Finished' "$sout")" -eq 2 ] ||
        { fail "the renegotiation did not finish" "$sout" "$cerr"; return 1; }
    grep -qx "late-client!" "$sout" || { fail "s_server did not get the client's data" "$sout"; return 1; }
    grep -q "^protocol: TLSv1.2" "$cerr" || { fail "nktls-client did not report TLSv1.2" "$cerr"; return 1; }
}

section "nktls-client <-> openssl s_server -tls1_2"
run_case "nktls-client.s_server_tls12.server_renegotiates" cli_reneg
run_case "nktls-client.s_server_tls12.server_renegotiates.alpn" cli_reneg http/1.1

tap_done
