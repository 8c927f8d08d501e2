#!/usr/bin/env bash
# tests/interop/openssl.sh — nktls against the `openssl` command-line peers:
# nktls-server with `openssl s_client`, nktls-client with `openssl s_server`,
# for every cipher suite x group, with mutual authentication, HelloRetryRequest,
# ALPN, RSA / Ed25519 / P-384 certificates, and certificate rejections.
# 100 KB of random bytes go each way and are compared byte for byte.
# Also: nktls-server --www with s_client and with curl. Prints TAP.

# shellcheck source=tests/interop/lib.sh
. "$(dirname "$0")/lib.sh"

require_tool openssl
require_nktls
if ! certs_init; then
    tap_fail "certificates generated" "scripts/gen-certs failed"
    tap_done
    exit 1
fi
data_init

# s_client's "Server Temp Key:" spelling of a group.
ossl_temp_key() {
    case $1 in
    P-256) echo prime256v1 ;;
    P-384) echo secp384r1 ;;
    P-521) echo secp521r1 ;;
    *) echo "$1" ;;
    esac
}

S_CLIENT_VERIFY=(-CAfile "$CERTS/ca.pem" -verify_return_error -verify_hostname localhost
                 -servername localhost)

# ===== nktls-server <-> openssl s_client =====================================

# s_client_echo NAME S_CLIENT_ARGS...: s_client sends DATA_C2S to the running
# nktls-server (echo mode) and must get the same bytes back. Its -brief summary
# is in $WORK/NAME.err.
s_client_echo() {
    local name=$1 out err
    shift
    out=$WORK/$name.out err=$WORK/$name.err
    spawn_fed "$name" "$DATA_C2S" "$out" "$(size_of "$DATA_C2S")" \
        openssl s_client -connect "127.0.0.1:$NK_PORT" -tls1_3 -brief -nocommands \
        "${S_CLIENT_VERIFY[@]}" "$@"
    finish "$SPAWN_PID"
    [ "$RC" -eq 0 ] || { fail "s_client exited with status $RC" "$err" "$NK_LOG"; return 1; }
    same_bytes "$DATA_C2S" "$out" "echo" "$err" "$NK_LOG" || return 1
    alive "$NK_PID" || { fail "nktls-server died" "$NK_LOG"; return 1; }
}

# s_client_summary NAME S_CLIENT_ARGS...: a handshake with no data, s_client's
# full summary (ALPN, alerts) in $WORK/NAME.out and .err. Sets RC.
s_client_summary() {
    local name=$1
    shift
    timeout "$T_TIMEOUT" openssl s_client -connect "127.0.0.1:$NK_PORT" -tls1_3 -nocommands \
        "${S_CLIENT_VERIFY[@]}" "$@" </dev/null >"$WORK/$name.out" 2>"$WORK/$name.err"
    RC=$?
}

srv_matrix() {
    local suite=$1 group=$2 name=srv-$1-$2 key
    nk_server_ensure default --cert "$CERTS/server.pem" --key "$CERTS/server.key" -v ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    s_client_echo "$name" -ciphersuites "$suite" -groups "$group" || return 1
    # In the kTLS VM the server's kernel carried this connection's records; the
    # client's data came right behind its Finished.
    if [ "${NKTLS_IN_VM:-}" = 1 ] && ! grep '^record layer:' "$NK_LOG" | tail -n 1 |
        grep -q '^record layer: tx kernel, rx kernel'; then
        fail "nktls-server: records not carried by the kernel" "$NK_LOG"
        return 1
    fi
    grep -qx "Ciphersuite: $suite" "$WORK/$name.err" ||
        { fail "s_client did not negotiate $suite" "$WORK/$name.err"; return 1; }
    key=$(ossl_temp_key "$group")
    grep -qE "^Server Temp Key: (ECDH, )?$key," "$WORK/$name.err" ||
        { fail "s_client did not use group $group" "$WORK/$name.err"; return 1; }
}

srv_mutual() {
    nk_server_ensure mutual --cert "$CERTS/server.pem" --key "$CERTS/server.key" \
        --ca "$CERTS/ca.pem" --verify-client ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    s_client_echo srv-mutual -cert "$CERTS/client.pem" -key "$CERTS/client.key"
}

# The CertificateRequest names the CA the server verifies clients with (RFC
# 8446 §4.2.4 certificate_authorities; RFC 5246 §7.4.4 in TLS 1.2): s_client
# lists its subject under "Acceptable client certificate CA names".
srv_mutual_ca_names() {
    local v subject
    nk_server_ensure mutual --cert "$CERTS/server.pem" --key "$CERTS/server.key" \
        --ca "$CERTS/ca.pem" --verify-client ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    subject=$(openssl x509 -in "$CERTS/ca.pem" -noout -subject | sed 's/^subject=//')
    for v in -tls1_3 -tls1_2; do
        timeout "$T_TIMEOUT" openssl s_client -connect "127.0.0.1:$NK_PORT" "$v" -nocommands \
            "${S_CLIENT_VERIFY[@]}" -cert "$CERTS/client.pem" -key "$CERTS/client.key" </dev/null \
            >"$WORK/srv-ca-names$v.out" 2>"$WORK/srv-ca-names$v.err" ||
            { fail "s_client $v failed" "$WORK/srv-ca-names$v.err" "$NK_LOG"; return 1; }
        grep -A1 -x "Acceptable client certificate CA names" "$WORK/srv-ca-names$v.out" | grep -qxF "$subject" ||
            { fail "s_client $v did not see the CA's name ($subject)" "$WORK/srv-ca-names$v.out"; return 1; }
    done
}

# Without a client certificate the server must refuse (certificate_required, 116).
srv_mutual_nocert() {
    nk_server_ensure mutual --cert "$CERTS/server.pem" --key "$CERTS/server.key" \
        --ca "$CERTS/ca.pem" --verify-client ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    spawn_fed srv-nocert "$DATA_C2S" "$WORK/srv-nocert.out" "$(size_of "$DATA_C2S")" \
        openssl s_client -connect "127.0.0.1:$NK_PORT" -tls1_3 -brief -nocommands \
        "${S_CLIENT_VERIFY[@]}"
    finish "$SPAWN_PID"
    if cmp -s "$DATA_C2S" "$WORK/srv-nocert.out"; then
        fail "data was echoed without a client certificate" "$NK_LOG"
        return 1
    fi
    grep -qiE "alert number 116|certificate required" "$WORK/srv-nocert.err" ||
        { fail "no certificate_required alert" "$WORK/srv-nocert.err" "$NK_LOG"; return 1; }
    alive "$NK_PID" || { fail "nktls-server died" "$NK_LOG"; return 1; }
}

# The client's first group (P-384) gets a key share; the server only takes
# X25519, so it must ask again: two ClientHellos in s_client's message trace.
srv_hrr() {
    local n
    nk_server_ensure hrr --cert "$CERTS/server.pem" --key "$CERTS/server.key" --groups X25519 ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    s_client_echo srv-hrr -groups P-384:X25519 -msg -msgfile "$WORK/srv-hrr.msg" || return 1
    n=$(grep -c '^>>> .*ClientHello' "$WORK/srv-hrr.msg")
    [ "$n" -eq 2 ] || { fail "expected 2 ClientHellos (HelloRetryRequest), saw $n" "$WORK/srv-hrr.msg"; return 1; }
    grep -qE "^Server Temp Key: X25519," "$WORK/srv-hrr.err" ||
        { fail "X25519 not negotiated" "$WORK/srv-hrr.err"; return 1; }
}

# srv_alpn OFFER EXPECTED: the server (h2,http/1.1) picks EXPECTED from the offer.
srv_alpn() {
    local offer=$1 want=$2 name=srv-alpn-${1//\//_}
    nk_server_ensure alpn --cert "$CERTS/server.pem" --key "$CERTS/server.key" \
        --alpn h2,http/1.1 || { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    s_client_summary "$name" -alpn "$offer"
    [ "$RC" -eq 0 ] || { fail "s_client exited with status $RC" "$WORK/$name.err" "$NK_LOG"; return 1; }
    grep -qx "ALPN protocol: $want" "$WORK/$name.out" ||
        { fail "expected 'ALPN protocol: $want'" "$WORK/$name.out"; return 1; }
}

srv_alpn_mismatch() {
    nk_server_ensure alpn --cert "$CERTS/server.pem" --key "$CERTS/server.key" \
        --alpn h2,http/1.1 || { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    s_client_summary srv-alpn-mismatch -alpn foo
    grep -qiE "alert number 120|no application protocol" "$WORK/srv-alpn-mismatch.err" ||
        { fail "no no_application_protocol alert" "$WORK/srv-alpn-mismatch.err" "$NK_LOG"; return 1; }
}

# srv_cert KIND SIGTYPE: a server certificate of another key type; s_client
# reports the signature type the server used in CertificateVerify.
srv_cert() {
    local kind=$1 sig=$2 name=srv-cert-$1
    nk_server_ensure "cert-$kind" --cert "$CERTS/server-$kind.pem" --key "$CERTS/server-$kind.key" ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    s_client_echo "$name" || return 1
    grep -qix "Signature type: $sig" "$WORK/$name.err" ||
        { fail "expected 'Signature type: $sig'" "$WORK/$name.err"; return 1; }
}

# The leaf is signed by an intermediate the client does not have: only a
# server that sends the chain can be verified.
srv_chain() {
    nk_server_ensure chain --cert "$CERTS/server-int.pem" --key "$CERTS/server-int.key" \
        --chain "$CERTS/int.pem" || { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    s_client_echo srv-chain
}

srv_www() {
    local req=$WORK/www.req
    printf 'GET / HTTP/1.0\r\nHost: localhost\r\n\r\n' >"$req"
    nk_server_ensure www --cert "$CERTS/server.pem" --key "$CERTS/server.key" --www ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    spawn_fed srv-www "$req" /dev/null 1 \
        openssl s_client -connect "127.0.0.1:$NK_PORT" -tls1_3 -quiet -nocommands \
        "${S_CLIENT_VERIFY[@]}"
    finish "$SPAWN_PID"
    grep -q "200 OK" "$WORK/srv-www.out" ||
        { fail "no 200 OK" "$WORK/srv-www.out" "$WORK/srv-www.err" "$NK_LOG"; return 1; }
    grep -q "TLSv1.3" "$WORK/srv-www.out" ||
        { fail "page does not name TLSv1.3" "$WORK/srv-www.out"; return 1; }
}

srv_curl() {
    if ! command -v curl >/dev/null; then
        SKIP_REASON="curl not installed"
        return 2
    fi
    nk_server_ensure www --cert "$CERTS/server.pem" --key "$CERTS/server.key" --www ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    timeout "$T_TIMEOUT" curl -sS --tlsv1.3 --cacert "$CERTS/ca.pem" \
        --resolve "localhost:$NK_PORT:127.0.0.1" "https://localhost:$NK_PORT/" \
        >"$WORK/curl.out" 2>"$WORK/curl.err" ||
        { fail "curl failed" "$WORK/curl.err" "$NK_LOG"; return 1; }
    grep -q "TLSv1.3" "$WORK/curl.out" || { fail "page does not name TLSv1.3" "$WORK/curl.out"; return 1; }
}

# TLS_AES_128_CCM_8_SHA256 only once enabled (--ciphers, SSL_enableCiphers).
srv_ccm8() {
    local suite=TLS_AES_128_CCM_8_SHA256 name=srv-ccm8
    nk_server_ensure ccm8 --cert "$CERTS/server.pem" --key "$CERTS/server.key" --ciphers "$suite" -v ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    s_client_echo "$name" -ciphersuites "$suite" -groups X25519 || return 1
    grep -qx "Ciphersuite: $suite" "$WORK/$name.err" ||
        { fail "s_client did not negotiate $suite" "$WORK/$name.err"; return 1; }
}

# RFC 7919 groups in TLS 1.3 (RFC 8446 §4.2.7): only when listed (--groups).
srv_ffdhe() {
    local group=$1 name=srv-$1
    nk_server_ensure "ffdhe-$group" --cert "$CERTS/server.pem" --key "$CERTS/server.key" --groups "$group" -v ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    s_client_echo "$name" -groups "$group" || return 1
    grep -q "Server Temp Key: DH, ${group#ffdhe} bits\|Negotiated TLS1.3 group: $group" "$WORK/$name.err" ||
        { fail "s_client did not use $group" "$WORK/$name.err"; return 1; }
}

section "nktls-server <-> openssl s_client"
for suite in "${SUITES[@]}"; do
    for group in "${GROUPS_ALL[@]}"; do
        run_case "nktls-server.s_client.$suite.$group" srv_matrix "$suite" "$group"
    done
done
run_case "nktls-server.s_client.TLS_AES_128_CCM_8_SHA256.enabled" srv_ccm8
run_case "nktls-server.s_client.ffdhe2048" srv_ffdhe ffdhe2048
run_case "nktls-server.s_client.ffdhe4096" srv_ffdhe ffdhe4096
run_case "nktls-server.s_client.mutual_auth" srv_mutual
run_case "nktls-server.s_client.mutual_auth_required_no_cert" srv_mutual_nocert
run_case "nktls-server.s_client.mutual_auth_ca_names" srv_mutual_ca_names
run_case "nktls-server.s_client.hello_retry_request" srv_hrr
run_case "nktls-server.s_client.alpn_h2" srv_alpn h2 h2
run_case "nktls-server.s_client.alpn_http1.1" srv_alpn http/1.1 http/1.1
run_case "nktls-server.s_client.alpn_mismatch" srv_alpn_mismatch
run_case "nktls-server.s_client.cert_rsa" srv_cert rsa RSA-PSS
run_case "nktls-server.s_client.cert_ed25519" srv_cert ed25519 Ed25519
run_case "nktls-server.s_client.cert_p384" srv_cert p384 ECDSA
run_case "nktls-server.s_client.intermediate_chain" srv_chain
run_case "nktls-server.s_client.www" srv_www
run_case "nktls-server.curl.www" srv_curl
nk_server_stop

# ===== nktls-client <-> openssl s_server =====================================

# s_server_exchange NAME [S_SERVER_ARGS...] -- [NKTLS_CLIENT_ARGS...]: a
# one-connection s_server sends DATA_S2C, nktls-client sends DATA_C2S; both
# are compared. Client -v output in $WORK/NAME-cli.err. Sets CLI_RC.
s_server_exchange() {
    local name=$1 sargs=() cargs=() sout cout
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do sargs+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    cargs=("$@")
    sout=$WORK/$name-srv.out cout=$WORK/$name-cli.out
    start_peer_server "$name-srv" "$DATA_S2C" "$sout" "$(size_of "$DATA_C2S")" \
        openssl s_server -accept "127.0.0.1:@PORT@" -naccept 1 -tls1_3 -quiet "${sargs[@]}" ||
        { fail "s_server did not start" "$WORK/$name-srv.err"; return 1; }
    spawn_fed "$name-cli" "$DATA_C2S" "$cout" "$(size_of "$DATA_S2C")" \
        "$NK_CLIENT" --connect "127.0.0.1:$PEER_PORT" --servername localhost \
        --ca "$CERTS/ca.pem" -v "${cargs[@]}"
    finish "$SPAWN_PID"
    CLI_RC=$RC
    finish_within "$PEER_PID" 2
    return 0
}

# exchange_ok NAME: both directions arrived intact and the client exited 0.
exchange_ok() {
    local name=$1
    [ "$CLI_RC" -eq 0 ] ||
        { fail "nktls-client exited with status $CLI_RC" "$WORK/$name-cli.err" "$WORK/$name-srv.err"; return 1; }
    same_bytes "$DATA_C2S" "$WORK/$name-srv.out" "client to server" "$WORK/$name-srv.err" || return 1
    same_bytes "$DATA_S2C" "$WORK/$name-cli.out" "server to client" "$WORK/$name-cli.err" || return 1
}

S_SERVER_CERT=(-cert "$CERTS/server.pem" -key "$CERTS/server.key")

cli_matrix() {
    local suite=$1 group=$2 name=cli-$1-$2
    s_server_exchange "$name" "${S_SERVER_CERT[@]}" -ciphersuites "$suite" -groups "$group" \
        -- --ciphers "$suite" --groups "$group" || return 1
    exchange_ok "$name" || return 1
    nk_client_check "$WORK/$name-cli.err" "$suite" "$group"
}

cli_mutual() {
    s_server_exchange cli-mutual "${S_SERVER_CERT[@]}" -Verify 1 -CAfile "$CERTS/ca.pem" \
        -verify_return_error -- --cert "$CERTS/client.pem" --key "$CERTS/client.key" || return 1
    exchange_ok cli-mutual || return 1
    # s_server names its -CAfile's CA; nktls-client hears of it and offers its
    # certificate from SSL_setClientCertCallback's callback.
    grep -q "names 1 certificate authority" "$WORK/cli-mutual-cli.err" ||
        { fail "nktls-client did not receive the CA names" "$WORK/cli-mutual-cli.err"; return 1; }
    grep -q "offered from the certificate callback" "$WORK/cli-mutual-cli.err" ||
        { fail "the certificate callback did not answer" "$WORK/cli-mutual-cli.err"; return 1; }
}

cli_mutual_nocert() {
    s_server_exchange cli-nocert "${S_SERVER_CERT[@]}" -Verify 1 -CAfile "$CERTS/ca.pem" \
        -verify_return_error -- || return 1
    [ "$CLI_RC" -ne 0 ] || { fail "nktls-client succeeded without the certificate the server requires" \
        "$WORK/cli-nocert-cli.err"; return 1; }
    if cmp -s "$DATA_S2C" "$WORK/cli-nocert-cli.out"; then
        fail "server data arrived although the server requires a certificate"
        return 1
    fi
}

# nktls-client sends one key share, for its first group (X25519); s_server
# only takes P-384 and must send a HelloRetryRequest.
cli_hrr() {
    local n
    s_server_exchange cli-hrr "${S_SERVER_CERT[@]}" -groups P-384 -msg \
        -msgfile "$WORK/cli-hrr.msg" -- || return 1
    exchange_ok cli-hrr || return 1
    nk_client_check "$WORK/cli-hrr-cli.err" "" P-384 || return 1
    n=$(grep -c '^<<< .*ClientHello' "$WORK/cli-hrr.msg")
    [ "$n" -eq 2 ] || { fail "expected 2 ClientHellos (HelloRetryRequest), saw $n" "$WORK/cli-hrr.msg"; return 1; }
}

cli_alpn() {
    s_server_exchange cli-alpn "${S_SERVER_CERT[@]}" -alpn h2 -- --alpn http/1.1,h2 || return 1
    exchange_ok cli-alpn || return 1
    grep -qx "alpn: h2" "$WORK/cli-alpn-cli.err" ||
        { fail "expected 'alpn: h2'" "$WORK/cli-alpn-cli.err"; return 1; }
}

cli_cert() {
    local kind=$1
    s_server_exchange "cli-cert-$kind" -cert "$CERTS/server-$kind.pem" \
        -key "$CERTS/server-$kind.key" -- || return 1
    exchange_ok "cli-cert-$kind" || return 1
    grep -q "^peer: .*localhost" "$WORK/cli-cert-$kind-cli.err" ||
        { fail "no 'peer:' line naming localhost" "$WORK/cli-cert-$kind-cli.err"; return 1; }
}

# cli_reject CERTNAME: nktls-client must refuse this server certificate.
cli_reject() {
    local kind=$1 name=cli-reject-$1
    s_server_exchange "$name" -cert "$CERTS/server-$kind.pem" -key "$CERTS/server-$kind.key" -- ||
        return 1
    [ "$CLI_RC" -eq 1 ] || { fail "nktls-client exited with $CLI_RC, expected 1" "$WORK/$name-cli.err"; return 1; }
    grep -q "handshake failed" "$WORK/$name-cli.err" ||
        { fail "no 'handshake failed' message" "$WORK/$name-cli.err"; return 1; }
    if [ -s "$WORK/$name-cli.out" ]; then
        fail "data from a rejected server reached the output"
        return 1
    fi
}

section "nktls-client <-> openssl s_server"
for suite in "${SUITES[@]}"; do
    for group in "${GROUPS_ALL[@]}"; do
        run_case "nktls-client.s_server.$suite.$group" cli_matrix "$suite" "$group"
    done
done
run_case "nktls-client.s_server.TLS_AES_128_CCM_8_SHA256.X25519" cli_matrix TLS_AES_128_CCM_8_SHA256 X25519
run_case "nktls-client.s_server.TLS_AES_128_GCM_SHA256.ffdhe2048" cli_matrix TLS_AES_128_GCM_SHA256 ffdhe2048
run_case "nktls-client.s_server.TLS_AES_256_GCM_SHA384.ffdhe3072" cli_matrix TLS_AES_256_GCM_SHA384 ffdhe3072
run_case "nktls-client.s_server.mutual_auth" cli_mutual
run_case "nktls-client.s_server.mutual_auth_required_no_cert" cli_mutual_nocert
run_case "nktls-client.s_server.hello_retry_request" cli_hrr
run_case "nktls-client.s_server.alpn" cli_alpn
run_case "nktls-client.s_server.cert_rsa" cli_cert rsa
run_case "nktls-client.s_server.cert_ed25519" cli_cert ed25519
run_case "nktls-client.s_server.cert_p384" cli_cert p384
run_case "nktls-client.s_server.reject_unknown_ca" cli_reject other
run_case "nktls-client.s_server.reject_wrong_host" cli_reject wronghost
run_case "nktls-client.s_server.reject_expired" cli_reject expired

tap_done
