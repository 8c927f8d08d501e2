#!/usr/bin/env bash
# tests/interop/gnutls.sh — nktls against GnuTLS's command-line peers:
# nktls-server with gnutls-cli, nktls-client with gnutls-serv --echo, for every
# cipher suite x group, with mutual authentication, HelloRetryRequest, ALPN and
# RSA / Ed25519 / P-384 certificates. About 100 KB go out and must come back
# byte for byte (text lines: gnutls-serv's echo mode works line by line).
# Prints TAP.

# shellcheck source=tests/interop/lib.sh
. "$(dirname "$0")/lib.sh"

require_tool gnutls-cli gnutls-serv
require_nktls
if ! certs_init; then
    tap_fail "certificates generated" "scripts/gen-certs failed"
    tap_done
    exit 1
fi
data_init

PRIO_BASE="NORMAL:-VERS-ALL:+VERS-TLS1.3"

gnutls_cipher() {
    case $1 in
    TLS_AES_128_GCM_SHA256) echo AES-128-GCM ;;
    TLS_AES_256_GCM_SHA384) echo AES-256-GCM ;;
    TLS_CHACHA20_POLY1305_SHA256) echo CHACHA20-POLY1305 ;;
    TLS_AES_128_CCM_SHA256) echo AES-128-CCM ;;
    esac
}

gnutls_group() {
    case $1 in
    P-256) echo SECP256R1 ;;
    P-384) echo SECP384R1 ;;
    P-521) echo SECP521R1 ;;
    *) echo "$1" ;;
    esac
}

# priority SUITE GROUP: a priority string allowing exactly these (empty: any).
priority() {
    local p=$PRIO_BASE
    [ -n "$1" ] && p+=":-CIPHER-ALL:+$(gnutls_cipher "$1")"
    [ -n "$2" ] && p+=":-GROUP-ALL:+GROUP-$(gnutls_group "$2")"
    echo "$p"
}

# ===== nktls-server <-> gnutls-cli ===========================================

# gnutls_cli_echo NAME PRIORITY GNUTLS_CLI_ARGS...: gnutls-cli sends TEXT_C2S
# to the running nktls-server and must get it back. Its handshake report is in
# $WORK/NAME.log, its stderr in $WORK/NAME.err.
gnutls_cli_echo() {
    local name=$1 prio=$2 out
    shift 2
    out=$WORK/$name.out
    rm -f "$WORK/$name.log"
    spawn_fed "$name" "$TEXT_C2S" "$out" "$(size_of "$TEXT_C2S")" \
        gnutls-cli -p "$NK_PORT" 127.0.0.1 --sni-hostname localhost --verify-hostname localhost \
        --x509cafile "$CERTS/ca.pem" --logfile "$WORK/$name.log" --priority "$prio" "$@"
    finish "$SPAWN_PID"
    [ "$RC" -eq 0 ] || { fail "gnutls-cli exited with status $RC" "$WORK/$name.log" "$WORK/$name.err" "$NK_LOG"; return 1; }
    same_bytes "$TEXT_C2S" "$out" "echo" "$WORK/$name.log" "$NK_LOG" || return 1
    alive "$NK_PID" || { fail "nktls-server died" "$NK_LOG"; return 1; }
}

# described NAME PATTERN: gnutls-cli's "- Description:" line contains PATTERN.
described() {
    grep -q -- "^- Description: .*$2" "$WORK/$1.log" ||
        { fail "description lacks $2" "$WORK/$1.log"; return 1; }
}

srv_matrix() {
    local suite=$1 group=$2 name=srv-$1-$2
    nk_server_ensure default --cert "$CERTS/server.pem" --key "$CERTS/server.key" ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    gnutls_cli_echo "$name" "$(priority "$suite" "$group")" || return 1
    described "$name" "(ECDHE-$(gnutls_group "$group"))" || return 1
    described "$name" "($(gnutls_cipher "$suite"))\$" || return 1
}

srv_mutual() {
    nk_server_ensure mutual --cert "$CERTS/server.pem" --key "$CERTS/server.key" \
        --ca "$CERTS/ca.pem" --verify-client || { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    gnutls_cli_echo srv-mutual "$PRIO_BASE" \
        --x509certfile "$CERTS/client.pem" --x509keyfile "$CERTS/client.key"
}

srv_mutual_nocert() {
    nk_server_ensure mutual --cert "$CERTS/server.pem" --key "$CERTS/server.key" \
        --ca "$CERTS/ca.pem" --verify-client || { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    if gnutls_cli_echo srv-nocert "$PRIO_BASE"; then
        fail "echo worked without a client certificate" "$NK_LOG"
        return 1
    fi
    grep -qE "Received alert \[116\]" "$WORK/srv-nocert.log" "$WORK/srv-nocert.err" ||
        { fail "no certificate_required alert" "$WORK/srv-nocert.log" "$WORK/srv-nocert.err"; return 1; }
    alive "$NK_PID" || { fail "nktls-server died" "$NK_LOG"; return 1; }
}

# GnuTLS sends one key share per kind of group: with two NIST curves it sends
# SECP384R1 only, and a server that takes only P-256 must retry.
srv_hrr() {
    nk_server_ensure hrr --cert "$CERTS/server.pem" --key "$CERTS/server.key" --groups P-256 ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    gnutls_cli_echo srv-hrr "$PRIO_BASE:-GROUP-ALL:+GROUP-SECP384R1:+GROUP-SECP256R1" -d 4 || return 1
    grep -q "HELLO RETRY REQUEST.*received" "$WORK/srv-hrr.err" ||
        { fail "no HelloRetryRequest seen by gnutls-cli" "$WORK/srv-hrr.log"; return 1; }
    described srv-hrr "(ECDHE-SECP256R1)"
}

srv_alpn() {
    nk_server_ensure alpn --cert "$CERTS/server.pem" --key "$CERTS/server.key" \
        --alpn h2,http/1.1 || { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    gnutls_cli_echo srv-alpn "$PRIO_BASE" --alpn h2 || return 1
    grep -qx -- "- Application protocol: h2" "$WORK/srv-alpn.log" ||
        { fail "expected '- Application protocol: h2'" "$WORK/srv-alpn.log"; return 1; }
}

srv_alpn_mismatch() {
    nk_server_ensure alpn --cert "$CERTS/server.pem" --key "$CERTS/server.key" \
        --alpn h2,http/1.1 || { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    if gnutls_cli_echo srv-alpn-mismatch "$PRIO_BASE" --alpn foo; then
        fail "echo worked with no common ALPN protocol" "$WORK/srv-alpn-mismatch.log"
        return 1
    fi
    grep -qE "Received alert \[120\]" "$WORK/srv-alpn-mismatch.log" "$WORK/srv-alpn-mismatch.err" ||
        { fail "no no_application_protocol alert" "$WORK/srv-alpn-mismatch.err"; return 1; }
}

# srv_cert KIND SIGNATURE: gnutls-cli names the server's signature algorithm.
srv_cert() {
    local kind=$1 sig=$2
    nk_server_ensure "cert-$kind" --cert "$CERTS/server-$kind.pem" --key "$CERTS/server-$kind.key" ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    gnutls_cli_echo "srv-cert-$kind" "$PRIO_BASE" || return 1
    described "srv-cert-$kind" "($sig)"
}

section "nktls-server <-> gnutls-cli"
for suite in "${SUITES[@]}"; do
    for group in "${GROUPS_ALL[@]}"; do
        run_case "nktls-server.gnutls-cli.$suite.$group" srv_matrix "$suite" "$group"
    done
done
run_case "nktls-server.gnutls-cli.mutual_auth" srv_mutual
run_case "nktls-server.gnutls-cli.mutual_auth_required_no_cert" srv_mutual_nocert
run_case "nktls-server.gnutls-cli.hello_retry_request" srv_hrr
run_case "nktls-server.gnutls-cli.alpn_h2" srv_alpn
run_case "nktls-server.gnutls-cli.alpn_mismatch" srv_alpn_mismatch
run_case "nktls-server.gnutls-cli.cert_rsa" srv_cert rsa RSA-PSS-RSAE-SHA256
run_case "nktls-server.gnutls-cli.cert_ed25519" srv_cert ed25519 EdDSA-Ed25519
run_case "nktls-server.gnutls-cli.cert_p384" srv_cert p384 ECDSA-SECP384R1-SHA384
nk_server_stop

# ===== nktls-client <-> gnutls-serv --echo ===================================

# serv_echo NAME PRIORITY [GNUTLS_SERV_ARGS...] -- [NKTLS_CLIENT_ARGS...]:
# nktls-client sends TEXT_C2S through gnutls-serv's echo. Client -v output in
# $WORK/NAME-cli.err. Sets CLI_RC; ECHO_OK=1 when the bytes came back.
serv_echo() {
    local name=$1 prio=$2 sargs=() cargs=()
    shift 2
    while [ $# -gt 0 ] && [ "$1" != -- ]; do sargs+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    cargs=("$@")
    ECHO_OK=0
    start_peer_server "$name-srv" /dev/null /dev/null 1 \
        gnutls-serv --echo --crlf -p @PORT@ --x509certfile "$CERTS/server.pem" \
        --x509keyfile "$CERTS/server.key" --priority "$prio" "${sargs[@]}" ||
        { fail "gnutls-serv did not start" "$WORK/$name-srv.err" "$WORK/$name-srv.out"; return 1; }
    spawn_fed "$name-cli" "$TEXT_C2S" "$WORK/$name-cli.out" "$(size_of "$TEXT_C2S")" \
        "$NK_CLIENT" --connect "127.0.0.1:$PEER_PORT" --servername localhost \
        --ca "$CERTS/ca.pem" --echo -v "${cargs[@]}"
    finish "$SPAWN_PID"
    CLI_RC=$RC
    stop_pid "$PEER_PID"
    cmp -s "$TEXT_C2S" "$WORK/$name-cli.out" && ECHO_OK=1
    return 0
}

serv_ok() {
    local name=$1
    [ "$CLI_RC" -eq 0 ] ||
        { fail "nktls-client exited with status $CLI_RC" "$WORK/$name-cli.err" "$WORK/$name-srv.err"; return 1; }
    same_bytes "$TEXT_C2S" "$WORK/$name-cli.out" "echo" "$WORK/$name-cli.err" "$WORK/$name-srv.out" || return 1
}

cli_matrix() {
    local suite=$1 group=$2 name=cli-$1-$2
    serv_echo "$name" "$(priority "$suite" "$group")" -- --ciphers "$suite" --groups "$group" || return 1
    serv_ok "$name" || return 1
    nk_client_check "$WORK/$name-cli.err" "$suite" "$group"
}

cli_mutual() {
    serv_echo cli-mutual "$PRIO_BASE" --require-client-cert --verify-client-cert \
        --x509cafile "$CERTS/ca.pem" -- --cert "$CERTS/client.pem" --key "$CERTS/client.key" || return 1
    serv_ok cli-mutual
}

cli_mutual_nocert() {
    serv_echo cli-nocert "$PRIO_BASE" --require-client-cert --verify-client-cert \
        --x509cafile "$CERTS/ca.pem" -- || return 1
    [ "$CLI_RC" -ne 0 ] || { fail "nktls-client succeeded without the certificate the server requires" \
        "$WORK/cli-nocert-cli.err"; return 1; }
    [ "$ECHO_OK" -eq 0 ] || { fail "data was echoed without a client certificate"; return 1; }
}

# nktls-client's single key share is X25519; the server takes only P-384.
cli_hrr() {
    serv_echo cli-hrr "$PRIO_BASE:-GROUP-ALL:+GROUP-SECP384R1" -d 4 -- || return 1
    serv_ok cli-hrr || return 1
    nk_client_check "$WORK/cli-hrr-cli.err" "" P-384 || return 1
    grep -q "HELLO RETRY REQUEST was queued" "$WORK/cli-hrr-srv.err" ||
        { fail "gnutls-serv sent no HelloRetryRequest" "$WORK/cli-hrr-srv.err"; return 1; }
}

cli_alpn() {
    serv_echo cli-alpn "$PRIO_BASE" --alpn h2 --alpn-fatal -- --alpn http/1.1,h2 || return 1
    serv_ok cli-alpn || return 1
    grep -qx "alpn: h2" "$WORK/cli-alpn-cli.err" ||
        { fail "expected 'alpn: h2'" "$WORK/cli-alpn-cli.err"; return 1; }
}

cli_alpn_mismatch() {
    serv_echo cli-alpn-mismatch "$PRIO_BASE" --alpn h2 --alpn-fatal -- --alpn foo || return 1
    [ "$CLI_RC" -eq 1 ] || { fail "nktls-client exited with $CLI_RC, expected 1" "$WORK/cli-alpn-mismatch-cli.err"; return 1; }
    grep -qiE "no.application.protocol" "$WORK/cli-alpn-mismatch-cli.err" ||
        { fail "no_application_protocol not reported" "$WORK/cli-alpn-mismatch-cli.err"; return 1; }
}

cli_cert() {
    local kind=$1 name=cli-cert-$1
    ECHO_OK=0
    start_peer_server "$name-srv" /dev/null /dev/null 1 \
        gnutls-serv --echo --crlf -p @PORT@ --x509certfile "$CERTS/server-$kind.pem" \
        --x509keyfile "$CERTS/server-$kind.key" --priority "$PRIO_BASE" ||
        { fail "gnutls-serv did not start" "$WORK/$name-srv.err"; return 1; }
    spawn_fed "$name-cli" "$TEXT_C2S" "$WORK/$name-cli.out" "$(size_of "$TEXT_C2S")" \
        "$NK_CLIENT" --connect "127.0.0.1:$PEER_PORT" --servername localhost \
        --ca "$CERTS/ca.pem" --echo -v
    finish "$SPAWN_PID"
    CLI_RC=$RC
    stop_pid "$PEER_PID"
    serv_ok "$name" || return 1
    grep -q "^peer: .*localhost" "$WORK/$name-cli.err" ||
        { fail "no 'peer:' line naming localhost" "$WORK/$name-cli.err"; return 1; }
}

section "nktls-client <-> gnutls-serv --echo"
for suite in "${SUITES[@]}"; do
    for group in "${GROUPS_ALL[@]}"; do
        run_case "nktls-client.gnutls-serv.$suite.$group" cli_matrix "$suite" "$group"
    done
done
run_case "nktls-client.gnutls-serv.mutual_auth" cli_mutual
run_case "nktls-client.gnutls-serv.mutual_auth_required_no_cert" cli_mutual_nocert
run_case "nktls-client.gnutls-serv.hello_retry_request" cli_hrr
run_case "nktls-client.gnutls-serv.alpn" cli_alpn
run_case "nktls-client.gnutls-serv.alpn_mismatch" cli_alpn_mismatch
run_case "nktls-client.gnutls-serv.cert_rsa" cli_cert rsa
run_case "nktls-client.gnutls-serv.cert_ed25519" cli_cert ed25519
run_case "nktls-client.gnutls-serv.cert_p384" cli_cert p384

tap_done
