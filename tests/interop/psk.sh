#!/usr/bin/env bash
# tests/interop/psk.sh — TLS 1.3 external PSKs with real peers: nktls-server
# --psk (no certificate) with `openssl s_client -psk` and `gnutls-cli
# --pskkey`, nktls-client --psk with `openssl s_server -psk -nocert` and
# `gnutls-serv --pskpasswd`; psk_dhe_ke (the default: a key exchange runs) and
# psk_ke (--psk-ke; s_client/s_server -allow_no_dhe_kex, gnutls +PSK without
# ECDHE-PSK: none runs). A wrong key is refused (decrypt_error); an identity
# the server does not know falls back to its certificate. TLS 1.2: every PSK,
# DHE_PSK and ECDHE_PSK suite the peer has, both ways (s_client/s_server
# -tls1_2 -psk -cipher; gnutls-cli with PSK, gnutls-serv with each kind), with a hint,
# and an unknown identity (unknown_psk_identity). TAP on stdout.
source "$(dirname "$0")/lib.sh"

require_nktls
require_tool openssl
certs_init || exit 1

ID=client1
KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
WRONG=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e20

# s_client_to NAME SERVER_ARGS -- S_CLIENT_ARGS: nktls-server with a PSK,
# one s_client connection; its output in $WORK/NAME.out.
s_client_to() {
    local name=$1 sargs=() cargs=()
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do sargs+=("$1"); shift; done
    shift
    cargs=("$@")
    nk_server_ensure "psk-$name" "${sargs[@]}" ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    (echo hi; sleep 0.5) | timeout "$T_TIMEOUT" openssl s_client -tls1_3 -connect "127.0.0.1:$NK_PORT" \
        "${cargs[@]}" >"$WORK/$name.out" 2>&1
}

srv_dhe() {
    s_client_to dhe --psk "$ID:$KEY" -v -- -psk "$KEY" -psk_identity "$ID"
    grep -q '^Reused, TLSv1.3' "$WORK/dhe.out" || { fail "s_client did not use the PSK" "$WORK/dhe.out"; return 1; }
    grep -q '^Server Temp Key: X25519' "$WORK/dhe.out" || { fail "no (EC)DHE with psk_dhe_ke" "$WORK/dhe.out"; return 1; }
    grep -qx hi "$WORK/dhe.out" || { fail "no echo" "$WORK/dhe.out" "$NK_LOG"; return 1; }
}

srv_ke() {
    s_client_to ke --psk "$ID:$KEY" --psk-ke -v -- -psk "$KEY" -psk_identity "$ID" -allow_no_dhe_kex
    grep -q '^Reused, TLSv1.3' "$WORK/ke.out" || { fail "s_client did not use the PSK" "$WORK/ke.out"; return 1; }
    ! grep -q '^Server Temp Key' "$WORK/ke.out" || { fail "a key exchange ran with psk_ke" "$WORK/ke.out"; return 1; }
    grep -qx 'group: none' "$NK_LOG" || { fail "nktls-server ran a key exchange" "$NK_LOG"; return 1; }
    grep -qx hi "$WORK/ke.out" || { fail "no echo" "$WORK/ke.out" "$NK_LOG"; return 1; }
}

srv_wrong_key() {
    s_client_to wrong --psk "$ID:$KEY" -v -- -psk "$WRONG" -psk_identity "$ID"
    grep -q 'alert decrypt error' "$WORK/wrong.out" || { fail "no decrypt_error for a wrong key" "$WORK/wrong.out"; return 1; }
    ! grep -qx hi "$WORK/wrong.out" || { fail "data went through with a wrong key" "$WORK/wrong.out"; return 1; }
}

# The server knows another identity and has a certificate: s_client's
# unknown identity gives a full handshake with the certificate.
srv_unknown_identity() {
    s_client_to unknown --psk "other:$KEY" --cert "$CERTS/server.pem" --key "$CERTS/server.key" -v -- \
        -psk "$KEY" -psk_identity "$ID" -CAfile "$CERTS/ca.pem" -servername localhost
    grep -q '^New, TLSv1.3' "$WORK/unknown.out" || { fail "not a full handshake" "$WORK/unknown.out"; return 1; }
    grep -q 'Verify return code: 0 (ok)' "$WORK/unknown.out" || { fail "certificate not verified" "$WORK/unknown.out"; return 1; }
    grep -qx hi "$WORK/unknown.out" || { fail "no echo" "$WORK/unknown.out"; return 1; }
}

srv_gnutls() {
    local mode=$1 prio=$2
    nk_server_ensure "psk-gnutls-$mode" --psk "$ID:$KEY" ${3:+"$3"} -v ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    (echo hi; sleep 0.5) | timeout "$T_TIMEOUT" gnutls-cli --port "$NK_PORT" 127.0.0.1 --pskusername "$ID" \
        --pskkey "$KEY" --priority "$prio" >"$WORK/gnutls-$mode.out" 2>&1
    grep -q "PSK authentication. Connected as '$ID'" "$WORK/gnutls-$mode.out" ||
        { fail "gnutls-cli did not use the PSK" "$WORK/gnutls-$mode.out"; return 1; }
    grep -qx hi "$WORK/gnutls-$mode.out" || { fail "no echo" "$WORK/gnutls-$mode.out"; return 1; }
    if [ "$mode" = ke ]; then
        grep -qx 'group: none' "$NK_LOG" || { fail "a key exchange ran with psk_ke" "$NK_LOG"; return 1; }
    else
        grep -qx 'group: X25519' "$NK_LOG" || { fail "no key exchange with psk_dhe_ke" "$NK_LOG"; return 1; }
    fi
}

# cli_to NAME GROUP CLIENT_ARGS -- SERVER_CMD...: nktls-client --psk against a
# peer server (@PORT@ in its arguments); GROUP is the -v line expected.
cli_to() {
    local name=$1 group=$2 cargs=() port a args=()
    shift 2
    while [ "$1" != -- ]; do cargs+=("$1"); shift; done
    shift
    port=$(pick_port)
    for a in "$@"; do args+=("${a//@PORT@/$port}"); done
    "${args[@]}" </dev/null >"$WORK/cli-$name.srv" 2>&1 &
    PEER_PID=$!
    wait_listen "$port" "$PEER_PID" || { fail "the server did not start" "$WORK/cli-$name.srv"; return 1; }
    (echo hello; sleep 0.5) | timeout "$T_TIMEOUT" "$NK_CLIENT" --connect "127.0.0.1:$port" --insecure \
        --echo -v "${cargs[@]}" >"$WORK/cli-$name.out" 2>"$WORK/cli-$name.err"
    RC=$?
    stop_pid "$PEER_PID"
    [ "$RC" -eq 0 ] || { fail "nktls-client exited with status $RC" "$WORK/cli-$name.err" "$WORK/cli-$name.srv"; return 1; }
    grep -qxE 'hello|olleh' "$WORK/cli-$name.out" || { fail "no reply" "$WORK/cli-$name.err"; return 1; }
    grep -qx 'resumed: yes' "$WORK/cli-$name.err" || { fail "the PSK was not used" "$WORK/cli-$name.err"; return 1; }
    grep -qx 'peer: none' "$WORK/cli-$name.err" || { fail "a certificate came" "$WORK/cli-$name.err"; return 1; }
    grep -qx "group: $group" "$WORK/cli-$name.err" || { fail "not 'group: $group'" "$WORK/cli-$name.err"; return 1; }
}

cli_wrong_key() {
    local port
    port=$(pick_port)
    openssl s_server -tls1_3 -accept "127.0.0.1:$port" -naccept 1 -rev -nocert -psk "$KEY" -psk_identity "$ID" \
        </dev/null >"$WORK/cli-wrong.srv" 2>&1 &
    PEER_PID=$!
    wait_listen "$port" "$PEER_PID" || { fail "s_server did not start" "$WORK/cli-wrong.srv"; return 1; }
    echo hello | timeout "$T_TIMEOUT" "$NK_CLIENT" --connect "127.0.0.1:$port" --insecure --psk "$ID:$WRONG" \
        >"$WORK/cli-wrong.out" 2>"$WORK/cli-wrong.err"
    RC=$?
    stop_pid "$PEER_PID"
    [ "$RC" -ne 0 ] || { fail "nktls-client succeeded with a wrong key" "$WORK/cli-wrong.err"; return 1; }
    # RFC 8446 §4.2.11 leaves the alert to the server; OpenSSL 3.0's s_server
    # sends illegal_parameter (its own s_client hears the same), later ones
    # decrypt_error.
    grep -qE 'the peer sent (decrypt_error|illegal_parameter)' "$WORK/cli-wrong.err" ||
        { fail "s_server did not refuse the binder" "$WORK/cli-wrong.err"; return 1; }
}

section "nktls-server, openssl s_client"
run_case "psk.nktls-server.s_client_psk_dhe_ke" srv_dhe
run_case "psk.nktls-server.s_client_psk_ke" srv_ke
run_case "psk.nktls-server.s_client_wrong_key" srv_wrong_key
run_case "psk.nktls-server.s_client_unknown_identity" srv_unknown_identity
section "nktls-client, openssl s_server"
run_case "psk.nktls-client.s_server_psk_dhe_ke" cli_to dhe X25519 --psk "$ID:$KEY" -- \
    openssl s_server -tls1_3 -accept "127.0.0.1:@PORT@" -naccept 1 -rev -nocert -psk "$KEY" -psk_identity "$ID"
run_case "psk.nktls-client.s_server_psk_ke" cli_to ke none --psk "$ID:$KEY" --psk-ke -- \
    openssl s_server -tls1_3 -accept "127.0.0.1:@PORT@" -naccept 1 -rev -nocert -psk "$KEY" -psk_identity "$ID" \
    -allow_no_dhe_kex
run_case "psk.nktls-client.s_server_wrong_key" cli_wrong_key
if command -v gnutls-serv >/dev/null && command -v gnutls-cli >/dev/null; then
    section "gnutls"
    run_case "psk.nktls-server.gnutls-cli_psk_dhe_ke" srv_gnutls dhe 'NORMAL:-VERS-ALL:+VERS-TLS1.3:+ECDHE-PSK'
    run_case "psk.nktls-server.gnutls-cli_psk_ke" srv_gnutls ke 'NORMAL:-VERS-ALL:+VERS-TLS1.3:-ECDHE-PSK:-DHE-PSK:+PSK' --psk-ke
    echo "$ID:$KEY" >"$WORK/pskpasswd"
    run_case "psk.nktls-client.gnutls-serv_psk_dhe_ke" cli_to gdhe X25519 --psk "$ID:$KEY" -- \
        gnutls-serv --port @PORT@ --echo --pskpasswd "$WORK/pskpasswd" \
        --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.3:+ECDHE-PSK:+PSK'
    run_case "psk.nktls-client.gnutls-serv_psk_ke" cli_to gke none --psk "$ID:$KEY" --psk-ke -- \
        gnutls-serv --port @PORT@ --echo --pskpasswd "$WORK/pskpasswd" \
        --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.3:+ECDHE-PSK:+PSK'
else
    tap_skip "psk.gnutls" "gnutls-serv or gnutls-cli not installed"
fi
# ---- TLS 1.2 ----------------------------------------------------------------

SUITES12=(PSK-AES128-GCM-SHA256 PSK-AES256-GCM-SHA384 PSK-CHACHA20-POLY1305 PSK-AES128-CCM PSK-AES256-CCM
          DHE-PSK-AES128-GCM-SHA256 DHE-PSK-AES256-GCM-SHA384 DHE-PSK-CHACHA20-POLY1305 DHE-PSK-AES128-CCM
          DHE-PSK-AES256-CCM ECDHE-PSK-CHACHA20-POLY1305)
LIST12=$(IFS=,; echo "${SUITES12[*]}")

srv12() {
    local suite=$1
    nk_server_ensure psk12 --psk "$ID:$KEY" --ciphers "$LIST12" -v ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    (echo hi; sleep 0.5) | timeout "$T_TIMEOUT" openssl s_client -tls1_2 -connect "127.0.0.1:$NK_PORT" \
        -psk "$KEY" -psk_identity "$ID" -cipher "$suite" >"$WORK/srv12-$suite.out" 2>&1
    grep -q "^New, TLSv1.2, Cipher is $suite\$" "$WORK/srv12-$suite.out" ||
        { fail "not $suite" "$WORK/srv12-$suite.out"; return 1; }
    grep -qx hi "$WORK/srv12-$suite.out" || { fail "no echo" "$WORK/srv12-$suite.out" "$NK_LOG"; return 1; }
}

srv12_unknown() {
    nk_server_ensure psk12 --psk "$ID:$KEY" --ciphers "$LIST12" -v ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    (echo hi; sleep 0.5) | timeout "$T_TIMEOUT" openssl s_client -tls1_2 -connect "127.0.0.1:$NK_PORT" \
        -psk "$KEY" -psk_identity nobody -cipher PSK >"$WORK/srv12-unknown.out" 2>&1
    grep -q 'alert unknown psk identity' "$WORK/srv12-unknown.out" ||
        { fail "no unknown_psk_identity" "$WORK/srv12-unknown.out"; return 1; }
}

# nktls-client against s_server -tls1_2 with a hint; DHE needs an RFC 7919
# group (nktls takes no other), given to s_server as -dhparam.
cli12() {
    local suite=$1 port
    port=$(pick_port)
    openssl s_server -tls1_2 -accept "127.0.0.1:$port" -naccept 1 -rev -nocert -psk "$KEY" -psk_identity "$ID" \
        -psk_hint "a-hint" -cipher "$suite" -dhparam "$WORK/ffdhe2048.pem" </dev/null >"$WORK/cli12-$suite.srv" 2>&1 &
    PEER_PID=$!
    wait_listen "$port" "$PEER_PID" || { fail "s_server did not start" "$WORK/cli12-$suite.srv"; return 1; }
    (echo hello; sleep 0.5) | timeout "$T_TIMEOUT" "$NK_CLIENT" --connect "127.0.0.1:$port" --insecure \
        --psk "$ID:$KEY" --ciphers "$suite" --echo -v >"$WORK/cli12-$suite.out" 2>"$WORK/cli12-$suite.err"
    RC=$?
    stop_pid "$PEER_PID"
    [ "$RC" -eq 0 ] || { fail "nktls-client exited with status $RC" "$WORK/cli12-$suite.err" "$WORK/cli12-$suite.srv"; return 1; }
    grep -qx 'protocol: TLSv1.2' "$WORK/cli12-$suite.err" || { fail "not TLS 1.2" "$WORK/cli12-$suite.err"; return 1; }
    grep -qx "cipher: $suite" "$WORK/cli12-$suite.err" || { fail "not $suite" "$WORK/cli12-$suite.err"; return 1; }
    grep -qx olleh "$WORK/cli12-$suite.out" || { fail "no reply" "$WORK/cli12-$suite.err"; return 1; }
}

# gnutls-cli's plain PSK against nktls-server. (This gnutls-cli, 3.7.9,
# crashes after a DHE-PSK or ECDHE-PSK handshake with any server, s_server
# too: those two run against gnutls-serv instead, below.)
srv12_gnutls() {
    nk_server_ensure psk12 --psk "$ID:$KEY" --ciphers "$LIST12" -v ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    (echo hi; sleep 0.5) | timeout "$T_TIMEOUT" gnutls-cli --port "$NK_PORT" 127.0.0.1 --pskusername "$ID" \
        --pskkey "$KEY" --priority "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+PSK" >"$WORK/g12.out" 2>&1
    grep -q "PSK authentication. Connected as '$ID'" "$WORK/g12.out" ||
        { fail "gnutls-cli did not use the PSK" "$WORK/g12.out"; return 1; }
    grep -q "Description: (TLS1.2[^)]*)-(PSK)" "$WORK/g12.out" || { fail "not plain PSK" "$WORK/g12.out"; return 1; }
    grep -qx hi "$WORK/g12.out" || { fail "no echo" "$WORK/g12.out"; return 1; }
}

# nktls-client against gnutls-serv -- TLS 1.2, one suite of each key exchange.
cli12_gnutls() {
    local suite=$1 group=$2 port
    port=$(pick_port)
    gnutls-serv --port "$port" --echo --pskpasswd "$WORK/pskpasswd" \
        --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.2:+ECDHE-PSK:+DHE-PSK:+PSK' </dev/null >"$WORK/g12-$suite.srv" 2>&1 &
    PEER_PID=$!
    wait_listen "$port" "$PEER_PID" || { fail "gnutls-serv did not start" "$WORK/g12-$suite.srv"; return 1; }
    (echo hello; sleep 0.5) | timeout "$T_TIMEOUT" "$NK_CLIENT" --connect "127.0.0.1:$port" --insecure \
        --psk "$ID:$KEY" --ciphers "$suite" --echo -v >"$WORK/g12-$suite.out" 2>"$WORK/g12-$suite.err"
    RC=$?
    stop_pid "$PEER_PID"
    [ "$RC" -eq 0 ] || { fail "nktls-client exited with status $RC" "$WORK/g12-$suite.err" "$WORK/g12-$suite.srv"; return 1; }
    grep -qx "cipher: $suite" "$WORK/g12-$suite.err" || { fail "not $suite" "$WORK/g12-$suite.err"; return 1; }
    grep -qx "group: $group" "$WORK/g12-$suite.err" || { fail "not 'group: $group'" "$WORK/g12-$suite.err"; return 1; }
    grep -qx hello "$WORK/g12-$suite.out" || { fail "no echo" "$WORK/g12-$suite.err"; return 1; }
}

section "TLS 1.2 PSK suites, nktls-server and s_client"
for suite in "${SUITES12[@]}"; do
    run_case "psk12.nktls-server.s_client.$suite" srv12 "$suite"
done
run_case "psk12.nktls-server.s_client.unknown_identity" srv12_unknown
section "TLS 1.2 PSK suites, nktls-client and s_server"
openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 -out "$WORK/ffdhe2048.pem" 2>/dev/null
for suite in "${SUITES12[@]}"; do
    run_case "psk12.nktls-client.s_server.$suite" cli12 "$suite"
done
if command -v gnutls-cli >/dev/null && command -v gnutls-serv >/dev/null; then
    section "TLS 1.2 PSK suites, gnutls"
    echo "$ID:$KEY" >"$WORK/pskpasswd"
    run_case "psk12.nktls-server.gnutls-cli.PSK" srv12_gnutls
    run_case "psk12.nktls-client.gnutls-serv.PSK" cli12_gnutls PSK-AES128-GCM-SHA256 none
    run_case "psk12.nktls-client.gnutls-serv.DHE-PSK" cli12_gnutls DHE-PSK-AES128-GCM-SHA256 ffdhe2048
    run_case "psk12.nktls-client.gnutls-serv.ECDHE-PSK" cli12_gnutls ECDHE-PSK-CHACHA20-POLY1305 X25519
fi
nk_server_stop
tap_done
