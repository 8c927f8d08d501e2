#!/usr/bin/env bash
# tests/interop/anon_dsa.sh — TLS 1.2 anonymous (EC)DH suites against the
# `openssl` peers at security level 0 (where it still offers them): each
# suite both ways, nktls-server with `openssl s_client -tls1_2 -cipher
# 'aNULL:@SECLEVEL=0'` and nktls-client with `openssl s_server -nocert`,
# 100 KB each way compared byte for byte; and neither nktls end takes an
# anonymous suite it was not told to enable (handshake_failure). Then the
# DHE_DSS suites with a DSA certificate (`openssl req -newkey dsa:...`,
# signed by the test CA), both ways, the ServerKeyExchange signed with
# dsa_sha256. s_server is given an RFC 7919 group (-dhparam): nktls-client
# takes no custom DH group. Prints TAP.

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

SUITES_ANON=(ADH-AES128-GCM-SHA256 ADH-AES256-GCM-SHA384 ADH-AES128-SHA256 ADH-AES256-SHA256
             ADH-AES128-SHA ADH-AES256-SHA AECDH-AES128-SHA AECDH-AES256-SHA)
DHPARAM=$WORK/ffdhe2048.pem
openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 -out "$DHPARAM" 2>/dev/null
SUITES_DSS=(DHE-DSS-AES128-GCM-SHA256 DHE-DSS-AES256-GCM-SHA384 DHE-DSS-AES128-SHA256 DHE-DSS-AES256-SHA256
            DHE-DSS-AES128-SHA DHE-DSS-AES256-SHA)

# A DSA server certificate for localhost from the test CA.
dsa_cert() {
    openssl genpkey -genparam -algorithm DSA -pkeyopt dsa_paramgen_bits:2048 -out "$WORK/dsa.param" &&
        openssl req -new -newkey "dsa:$WORK/dsa.param" -nodes -keyout "$WORK/dsa.key" -subj /CN=localhost \
            -out "$WORK/dsa.csr" &&
        printf 'subjectAltName=DNS:localhost\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' \
            >"$WORK/dsa.ext" &&
        openssl x509 -req -in "$WORK/dsa.csr" -CA "$CERTS/ca.pem" -CAkey "$CERTS/ca.key" -CAcreateserial \
            -CAserial "$WORK/dsa.srl" -days 30 -sha256 -extfile "$WORK/dsa.ext" -out "$WORK/dsa.pem"
} >"$WORK/dsa-gen.log" 2>&1

# ===== nktls-server <-> openssl s_client -tls1_2 =============================

# srv_anon SUITE: nktls-server enables every anonymous suite (and keeps its
# certificate); s_client offers only SUITE.
srv_anon() {
    local suite=$1 name=srv-anon-$1 out err
    nk_server_ensure anon --cert "$CERTS/server.pem" --key "$CERTS/server.key" \
        --ciphers "$(IFS=,; echo "${SUITES_ANON[*]}")" -v ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    out=$WORK/$name.out err=$WORK/$name.err
    spawn_fed "$name" "$DATA_C2S" "$out" "$(size_of "$DATA_C2S")" \
        openssl s_client -connect "127.0.0.1:$NK_PORT" -tls1_2 -brief -nocommands \
        -cipher "$suite:@SECLEVEL=0"
    finish "$SPAWN_PID"
    [ "$RC" -eq 0 ] || { fail "s_client exited with status $RC" "$err" "$NK_LOG"; return 1; }
    same_bytes "$DATA_C2S" "$out" "echo" "$err" "$NK_LOG" || return 1
    grep -qx "Ciphersuite: $suite" "$err" || { fail "s_client did not negotiate $suite" "$err"; return 1; }
    alive "$NK_PID" || { fail "nktls-server died" "$NK_LOG"; return 1; }
}

# nktls-server's defaults: s_client offering only anonymous suites finds none.
srv_anon_not_default() {
    local name=srv-anon-default
    nk_server_ensure default --cert "$CERTS/server.pem" --key "$CERTS/server.key" -v ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    timeout "$T_TIMEOUT" openssl s_client -connect "127.0.0.1:$NK_PORT" -tls1_2 -nocommands \
        -cipher "aNULL:@SECLEVEL=0" </dev/null >"$WORK/$name.out" 2>"$WORK/$name.err"
    grep -qiE "alert number 40|handshake failure" "$WORK/$name.err" ||
        { fail "no handshake_failure alert" "$WORK/$name.err" "$NK_LOG"; return 1; }
    alive "$NK_PID" || { fail "nktls-server died" "$NK_LOG"; return 1; }
}

section "nktls-server <-> openssl s_client -tls1_2, anonymous"
for suite in "${SUITES_ANON[@]}"; do
    run_case "nktls-server.s_client_tls12.$suite" srv_anon "$suite"
done
run_case "nktls-server.s_client_tls12.anon_not_by_default" srv_anon_not_default
nk_server_stop

# srv_dss SUITE: nktls-server with the DSA certificate and every DHE_DSS suite.
srv_dss() {
    local suite=$1 name=srv-dss-$1 out err
    nk_server_ensure dss --cert "$WORK/dsa.pem" --key "$WORK/dsa.key" \
        --ciphers "$(IFS=,; echo "${SUITES_DSS[*]}")" -v ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    out=$WORK/$name.out err=$WORK/$name.err
    spawn_fed "$name" "$DATA_C2S" "$out" "$(size_of "$DATA_C2S")" \
        openssl s_client -connect "127.0.0.1:$NK_PORT" -tls1_2 -brief -nocommands -CAfile "$CERTS/ca.pem" \
        -verify_return_error -verify_hostname localhost -servername localhost -cipher "$suite"
    finish "$SPAWN_PID"
    [ "$RC" -eq 0 ] || { fail "s_client exited with status $RC" "$err" "$NK_LOG"; return 1; }
    same_bytes "$DATA_C2S" "$out" "echo" "$err" "$NK_LOG" || return 1
    grep -qx "Ciphersuite: $suite" "$err" || { fail "s_client did not negotiate $suite" "$err"; return 1; }
    grep -qx "Signature type: DSA" "$err" && grep -qx "Hash used: SHA256" "$err" ||
        { fail "not signed with dsa_sha256" "$err"; return 1; }
}

section "nktls-server <-> openssl s_client -tls1_2, DSA certificate"
if dsa_cert; then
    for suite in "${SUITES_DSS[@]}"; do
        run_case "nktls-server.s_client_tls12.$suite" srv_dss "$suite"
    done
else
    tap_fail "DSA certificate made" "openssl could not make one: $(tail -1 "$WORK/dsa-gen.log")"
fi
nk_server_stop

# ===== nktls-client <-> openssl s_server -tls1_2 =============================

# cli_anon SUITE: s_server with no certificate at all offers every anonymous
# suite; nktls-client enables SUITE.
cli_anon() {
    local suite=$1 name=cli-anon-$1 sout cout
    sout=$WORK/$name-srv.out cout=$WORK/$name-cli.out
    start_peer_server "$name-srv" "$DATA_S2C" "$sout" "$(size_of "$DATA_C2S")" \
        openssl s_server -accept "127.0.0.1:@PORT@" -naccept 1 -tls1_2 -quiet -nocert \
        -dhparam "$DHPARAM" -cipher "aNULL:@SECLEVEL=0" ||
        { fail "s_server did not start" "$WORK/$name-srv.err"; return 1; }
    spawn_fed "$name-cli" "$DATA_C2S" "$cout" "$(size_of "$DATA_S2C")" \
        "$NK_CLIENT" --connect "127.0.0.1:$PEER_PORT" --ciphers "$suite" -v
    finish "$SPAWN_PID"
    local cli_rc=$RC
    finish_within "$PEER_PID" 2
    [ "$cli_rc" -eq 0 ] ||
        { fail "nktls-client exited with status $cli_rc" "$WORK/$name-cli.err" "$WORK/$name-srv.err"; return 1; }
    same_bytes "$DATA_C2S" "$sout" "client to server" "$WORK/$name-srv.err" || return 1
    same_bytes "$DATA_S2C" "$cout" "server to client" "$WORK/$name-cli.err" || return 1
    grep -q "^cipher: $suite" "$WORK/$name-cli.err" ||
        { fail "nktls-client did not report $suite" "$WORK/$name-cli.err"; return 1; }
}

# nktls-client's defaults offer no anonymous suite: s_server, which has
# nothing else, answers handshake_failure.
cli_anon_not_default() {
    local name=cli-anon-default
    start_peer_server "$name-srv" "$DATA_S2C" "$WORK/$name-srv.out" 0 \
        openssl s_server -accept "127.0.0.1:@PORT@" -naccept 1 -tls1_2 -quiet -nocert \
        -dhparam "$DHPARAM" -cipher "aNULL:@SECLEVEL=0" ||
        { fail "s_server did not start" "$WORK/$name-srv.err"; return 1; }
    timeout "$T_TIMEOUT" "$NK_CLIENT" --connect "127.0.0.1:$PEER_PORT" --tls 1.2 -v </dev/null \
        >"$WORK/$name-cli.out" 2>"$WORK/$name-cli.err"
    local rc=$?
    finish_within "$PEER_PID" 2
    [ "$rc" -ne 0 ] || { fail "nktls-client connected with its default suites" "$WORK/$name-cli.err"; return 1; }
    grep -q "handshake_failure" "$WORK/$name-cli.err" ||
        { fail "not refused with handshake_failure" "$WORK/$name-cli.err"; return 1; }
}

section "nktls-client <-> openssl s_server -tls1_2, anonymous"
for suite in "${SUITES_ANON[@]}"; do
    run_case "nktls-client.s_server_tls12.$suite" cli_anon "$suite"
done
run_case "nktls-client.s_server_tls12.anon_not_by_default" cli_anon_not_default

# cli_dss SUITE: s_server with the DSA certificate; nktls-client enables SUITE
# and verifies the certificate.
cli_dss() {
    local suite=$1 name=cli-dss-$1 sout cout
    sout=$WORK/$name-srv.out cout=$WORK/$name-cli.out
    start_peer_server "$name-srv" "$DATA_S2C" "$sout" "$(size_of "$DATA_C2S")" \
        openssl s_server -accept "127.0.0.1:@PORT@" -naccept 1 -tls1_2 -quiet \
        -cert "$WORK/dsa.pem" -key "$WORK/dsa.key" -dhparam "$DHPARAM" -cipher "$suite" ||
        { fail "s_server did not start" "$WORK/$name-srv.err"; return 1; }
    spawn_fed "$name-cli" "$DATA_C2S" "$cout" "$(size_of "$DATA_S2C")" \
        "$NK_CLIENT" --connect "127.0.0.1:$PEER_PORT" --servername localhost --ca "$CERTS/ca.pem" \
        --ciphers "$suite" -v
    finish "$SPAWN_PID"
    local cli_rc=$RC
    finish_within "$PEER_PID" 2
    [ "$cli_rc" -eq 0 ] ||
        { fail "nktls-client exited with status $cli_rc" "$WORK/$name-cli.err" "$WORK/$name-srv.err"; return 1; }
    same_bytes "$DATA_C2S" "$sout" "client to server" "$WORK/$name-srv.err" || return 1
    same_bytes "$DATA_S2C" "$cout" "server to client" "$WORK/$name-cli.err" || return 1
    grep -q "^cipher: $suite" "$WORK/$name-cli.err" ||
        { fail "nktls-client did not report $suite" "$WORK/$name-cli.err"; return 1; }
}

section "nktls-client <-> openssl s_server -tls1_2, DSA certificate"
if [ -s "$WORK/dsa.pem" ]; then
    for suite in "${SUITES_DSS[@]}"; do
        run_case "nktls-client.s_server_tls12.$suite" cli_dss "$suite"
    done
fi

tap_done
