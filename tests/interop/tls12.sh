#!/usr/bin/env bash
# tests/interop/tls12.sh — the TLS 1.2 handshake against the `openssl`
# command-line peers: nktls-server with `openssl s_client -tls1_2`, nktls-client
# with `openssl s_server -tls1_2`, per ECDHE suite we speak (ECDSA suites with
# the P-256 certificate, RSA suites with the RSA one); 100 KB of random bytes
# go each way and are compared byte for byte. Also: a TLS 1.3-capable client
# offered TLS 1.2 only by a TLS 1.3 server detects no sentinel it should not
# (s_server capped at 1.2 sends none), and the server's downgrade sentinel
# (RFC 8446 §4.1.3) is in its random. Client authentication (RFC 5246
# §7.4.4-§7.4.8) both ways: s_client with a certificate against nktls-server
# requiring one (and without: handshake_failure), nktls-client with a
# certificate against s_server -Verify 1; the same with gnutls-cli and
# gnutls-serv where they are installed. TLS_FALLBACK_SCSV (RFC 7507) gets
# inappropriate_fallback. s_client -sigalgs: the ServerKeyExchange is signed
# with the one scheme offered (PKCS#1 v1.5 included). ALPN and the SNI
# acknowledgement in the ServerHello; max_fragment_length. Prints TAP.

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

SUITES_ECDSA=(ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384 ECDHE-ECDSA-CHACHA20-POLY1305)
SUITES_RSA=(ECDHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-AES256-GCM-SHA384 ECDHE-RSA-CHACHA20-POLY1305)
# RFC 7251, only when enabled (nktls --ciphers) on our side.
SUITES_CCM=(ECDHE-ECDSA-AES128-CCM ECDHE-ECDSA-AES256-CCM ECDHE-ECDSA-AES128-CCM8 ECDHE-ECDSA-AES256-CCM8)
# CBC with HMAC (RFC 5246 §6.2.3.2), only when enabled; encrypt_then_mac
# (RFC 7366) by default, MAC-then-encrypt when the peer says -no_etm.
SUITES_CBC=(ECDHE-RSA-AES128-SHA ECDHE-RSA-AES256-SHA ECDHE-RSA-AES128-SHA256 ECDHE-RSA-AES256-SHA384
            ECDHE-ECDSA-AES128-SHA ECDHE-ECDSA-AES256-SHA ECDHE-ECDSA-AES128-SHA256 ECDHE-ECDSA-AES256-SHA384)
# RSA key transport (RFC 5246 §7.4.7.1), only when enabled.
SUITES_RSAKX=(AES128-GCM-SHA256 AES256-GCM-SHA384)
# RFC 5246 DHE over the RFC 7919 groups, only when enabled.
SUITES_DHE=(DHE-RSA-AES128-GCM-SHA256 DHE-RSA-AES256-GCM-SHA384 DHE-RSA-CHACHA20-POLY1305)
S_CLIENT_VERIFY=(-CAfile "$CERTS/ca.pem" -verify_return_error -verify_hostname localhost
                 -servername localhost)

# cert_of SUITE: the certificate base name whose key the suite's signature needs.
cert_of() {
    case $1 in
    *-RSA-* | AES*) echo server-rsa ;;
    *) echo server ;;
    esac
}

# ===== nktls-server <-> openssl s_client -tls1_2 =============================

# srv_suite SUITE GROUP [SERVER_CIPHERS [S_CLIENT_ARGS...]]: nktls-server
# enables SERVER_CIPHERS (its defaults when absent).
srv_suite() {
    local suite=$1 group=$2 name=srv12-$1-$2 cert out err groups=$2 srv_opts=() cli_extra=("${@:4}")
    [ -n "${3:-}" ] && srv_opts=(--ciphers "$3")
    cert=$(cert_of "$suite")
    # RFC 8422 §5.1: an ECDSA certificate's curve (P-256) must be listed too.
    case $suite in *-ECDSA-*) [ "$group" = P-256 ] || groups=$group:P-256 ;; esac
    nk_server_ensure "tls12-$cert" --cert "$CERTS/$cert.pem" --key "$CERTS/$cert.key" "${srv_opts[@]}" -v ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    out=$WORK/$name.out err=$WORK/$name.err
    spawn_fed "$name" "$DATA_C2S" "$out" "$(size_of "$DATA_C2S")" \
        openssl s_client -connect "127.0.0.1:$NK_PORT" -tls1_2 -brief -nocommands \
        "${S_CLIENT_VERIFY[@]}" -cipher "$suite" -groups "$groups" "${cli_extra[@]}"
    finish "$SPAWN_PID"
    [ "$RC" -eq 0 ] || { fail "s_client exited with status $RC" "$err" "$NK_LOG"; return 1; }
    same_bytes "$DATA_C2S" "$out" "echo" "$err" "$NK_LOG" || return 1
    grep -qx "Protocol version: TLSv1.2" "$err" || { fail "not TLS 1.2" "$err"; return 1; }
    grep -qx "Ciphersuite: $suite" "$err" || { fail "s_client did not negotiate $suite" "$err"; return 1; }
    alive "$NK_PID" || { fail "nktls-server died" "$NK_LOG"; return 1; }
}

# The ServerHello's random ends in "DOWNGRD" 01: nktls-server speaks TLS 1.3
# too (RFC 8446 §4.1.3). s_client -msg prints the ServerHello in hex.
srv_sentinel() {
    local name=srv12-sentinel
    nk_server_ensure tls12-server --cert "$CERTS/server.pem" --key "$CERTS/server.key" -v ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    timeout "$T_TIMEOUT" openssl s_client -connect "127.0.0.1:$NK_PORT" -tls1_2 -msg -nocommands \
        "${S_CLIENT_VERIFY[@]}" </dev/null >"$WORK/$name.out" 2>"$WORK/$name.err"
    # The hex dump's lines: ServerHello header 02 00 xx xx, 03 03, then the
    # random; join them and look for 44 4f 57 4e 47 52 44 01.
    tr -d '\n ' <"$WORK/$name.out" | grep -qi "444f574e47524401" ||
        { fail "no downgrade sentinel in the ServerHello" "$WORK/$name.out"; return 1; }
}

# A client that does not list the ECDSA certificate's curve cannot verify
# its signatures: the server finds no suite (handshake_failure, RFC 8422 §5.1).
srv_curve_unlisted() {
    local name=srv12-curve
    nk_server_ensure tls12-server --cert "$CERTS/server.pem" --key "$CERTS/server.key" -v ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    timeout "$T_TIMEOUT" openssl s_client -connect "127.0.0.1:$NK_PORT" -tls1_2 -nocommands \
        "${S_CLIENT_VERIFY[@]}" -groups P-384 </dev/null >"$WORK/$name.out" 2>"$WORK/$name.err"
    grep -qiE "alert number 40|handshake failure" "$WORK/$name.err" ||
        { fail "no handshake_failure alert" "$WORK/$name.err" "$NK_LOG"; return 1; }
    alive "$NK_PID" || { fail "nktls-server died" "$NK_LOG"; return 1; }
}

# Client authentication: nktls-server requires a certificate (--verify-client);
# s_client sends the P-256 client certificate and its CertificateVerify.
srv_mutual() {
    local name=srv12-mutual out err
    nk_server_ensure tls12-mutual --cert "$CERTS/server.pem" --key "$CERTS/server.key" \
        --ca "$CERTS/ca.pem" --verify-client -v || { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    out=$WORK/$name.out err=$WORK/$name.err
    spawn_fed "$name" "$DATA_C2S" "$out" "$(size_of "$DATA_C2S")" \
        openssl s_client -connect "127.0.0.1:$NK_PORT" -tls1_2 -brief -nocommands \
        "${S_CLIENT_VERIFY[@]}" -cert "$CERTS/client.pem" -key "$CERTS/client.key"
    finish "$SPAWN_PID"
    [ "$RC" -eq 0 ] || { fail "s_client exited with status $RC" "$err" "$NK_LOG"; return 1; }
    same_bytes "$DATA_C2S" "$out" "echo" "$err" "$NK_LOG" || return 1
    grep -qx "Protocol version: TLSv1.2" "$err" || { fail "not TLS 1.2" "$err"; return 1; }
    alive "$NK_PID" || { fail "nktls-server died" "$NK_LOG"; return 1; }
}

# The same with gnutls-cli as the TLS 1.2 client (a second implementation's
# reading of our CertificateRequest and its CertificateVerify).
srv_mutual_gnutls() {
    local name=srv12-mutual-gnutls out
    command -v gnutls-cli >/dev/null || { SKIP_REASON="gnutls-cli not installed"; return 2; }
    nk_server_ensure tls12-mutual --cert "$CERTS/server.pem" --key "$CERTS/server.key" \
        --ca "$CERTS/ca.pem" --verify-client -v || { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    out=$WORK/$name.out
    spawn_fed "$name" "$TEXT_C2S" "$out" "$(size_of "$TEXT_C2S")" \
        gnutls-cli -p "$NK_PORT" 127.0.0.1 --sni-hostname localhost --verify-hostname localhost \
        --x509cafile "$CERTS/ca.pem" --logfile "$WORK/$name.log" --priority "NORMAL:-VERS-ALL:+VERS-TLS1.2" \
        --x509certfile "$CERTS/client.pem" --x509keyfile "$CERTS/client.key"
    finish "$SPAWN_PID"
    [ "$RC" -eq 0 ] || { fail "gnutls-cli exited with status $RC" "$WORK/$name.log" "$WORK/$name.err" "$NK_LOG"; return 1; }
    same_bytes "$TEXT_C2S" "$out" "echo" "$WORK/$name.log" "$NK_LOG" || return 1
    grep -q "^- Description: (TLS1.2-" "$WORK/$name.log" || { fail "not TLS 1.2" "$WORK/$name.log"; return 1; }
    alive "$NK_PID" || { fail "nktls-server died" "$NK_LOG"; return 1; }
}

# Without a certificate: RFC 5246 §7.4.6, handshake_failure (40).
srv_mutual_nocert() {
    local name=srv12-mutual-nocert
    nk_server_ensure tls12-mutual --cert "$CERTS/server.pem" --key "$CERTS/server.key" \
        --ca "$CERTS/ca.pem" --verify-client -v || { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    timeout "$T_TIMEOUT" openssl s_client -connect "127.0.0.1:$NK_PORT" -tls1_2 -nocommands \
        "${S_CLIENT_VERIFY[@]}" </dev/null >"$WORK/$name.out" 2>"$WORK/$name.err"
    grep -qiE "alert number 40|alert handshake failure" "$WORK/$name.err" ||
        { fail "no handshake_failure alert" "$WORK/$name.err" "$NK_LOG"; return 1; }
    alive "$NK_PID" || { fail "nktls-server died" "$NK_LOG"; return 1; }
}

# The suites the server enables (--ciphers, SSL_enableCiphers) decide: with
# one TLS 1.2 suite, s_client offering its default list gets that one.
srv_enabled_suite() {
    local suite=$1 name=srv12-enabled-$1 cert
    cert=$(cert_of "$suite")
    nk_server_ensure "tls12-only-$suite" --cert "$CERTS/$cert.pem" --key "$CERTS/$cert.key" \
        --ciphers "$suite" -v || { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    timeout "$T_TIMEOUT" openssl s_client -connect "127.0.0.1:$NK_PORT" -tls1_2 -brief -nocommands \
        "${S_CLIENT_VERIFY[@]}" </dev/null >"$WORK/$name.out" 2>"$WORK/$name.err"
    grep -qx "Ciphersuite: $suite" "$WORK/$name.err" ||
        { fail "s_client did not negotiate $suite" "$WORK/$name.err" "$NK_LOG"; return 1; }
}

# The ServerHello answers encrypt_then_mac (RFC 7366 §3) when s_client asks
# for it with a CBC suite (s_client -tlsextdebug lists the server's
# extensions), and not when it does not (-no_etm).
srv_cbc_etm_ext() {
    local name=srv12-etm-ext want=$1
    shift
    nk_server_ensure tls12-cbc --cert "$CERTS/server-rsa.pem" --key "$CERTS/server-rsa.key" \
        --ciphers ECDHE-RSA-AES128-SHA -v || { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    timeout "$T_TIMEOUT" openssl s_client -connect "127.0.0.1:$NK_PORT" -tls1_2 -tlsextdebug -nocommands \
        "${S_CLIENT_VERIFY[@]}" -cipher ECDHE-RSA-AES128-SHA "$@" </dev/null >"$WORK/$name.out" 2>"$WORK/$name.err"
    grep -q "Cipher is ECDHE-RSA-AES128-SHA" "$WORK/$name.out" ||
        { fail "no ECDHE-RSA-AES128-SHA handshake" "$WORK/$name.out" "$WORK/$name.err"; return 1; }
    local got=0
    grep -q 'TLS server extension "encrypt-then-mac"' "$WORK/$name.out" && got=1
    [ "$got" = "$want" ] || { fail "encrypt-then-mac in the ServerHello: $got, wanted $want" "$WORK/$name.out"; return 1; }
}

# A server with TLS 1.3 suites only refuses a TLS 1.2 client: handshake_failure.
srv_tls13_suites_only() {
    local name=srv12-only13
    nk_server_ensure tls12-only13 --cert "$CERTS/server.pem" --key "$CERTS/server.key" \
        --ciphers TLS_AES_128_GCM_SHA256 -v || { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    timeout "$T_TIMEOUT" openssl s_client -connect "127.0.0.1:$NK_PORT" -tls1_2 -nocommands \
        "${S_CLIENT_VERIFY[@]}" </dev/null >"$WORK/$name.out" 2>"$WORK/$name.err"
    grep -qiE "alert number 40|handshake failure" "$WORK/$name.err" ||
        { fail "no handshake_failure alert" "$WORK/$name.err" "$NK_LOG"; return 1; }
    alive "$NK_PID" || { fail "nktls-server died" "$NK_LOG"; return 1; }
}

# RFC 7507 §3: s_client -fallback_scsv offers TLS 1.2 with TLS_FALLBACK_SCSV;
# nktls-server speaks TLS 1.3 too: inappropriate_fallback (86).
srv_fallback_scsv() {
    local name=srv12-fallback
    nk_server_ensure tls12-server --cert "$CERTS/server.pem" --key "$CERTS/server.key" -v ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    timeout "$T_TIMEOUT" openssl s_client -connect "127.0.0.1:$NK_PORT" -tls1_2 -fallback_scsv \
        -nocommands "${S_CLIENT_VERIFY[@]}" </dev/null >"$WORK/$name.out" 2>"$WORK/$name.err"
    grep -qiE "alert number 86|inappropriate fallback" "$WORK/$name.err" ||
        { fail "no inappropriate_fallback alert" "$WORK/$name.err" "$NK_LOG"; return 1; }
    alive "$NK_PID" || { fail "nktls-server died" "$NK_LOG"; return 1; }
}

# RFC 5246 §7.4.1.4.1: s_client offering one signature scheme gets a
# ServerKeyExchange signed with it: PKCS#1 v1.5 with the RSA certificate,
# ECDSA-SHA384 with the P-256 one (a TLS 1.2 ECDSA scheme names no curve).
srv_sigalgs() {
    local sigalgs=$1 cert=$2 want_type=$3 want_digest=$4 name=srv12-sigalgs-$1 out err
    nk_server_ensure "tls12-$cert" --cert "$CERTS/$cert.pem" --key "$CERTS/$cert.key" -v ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    out=$WORK/$name.out err=$WORK/$name.err
    spawn_fed "$name" "$DATA_C2S" "$out" "$(size_of "$DATA_C2S")" \
        openssl s_client -connect "127.0.0.1:$NK_PORT" -tls1_2 -brief -nocommands \
        "${S_CLIENT_VERIFY[@]}" -sigalgs "$sigalgs"
    finish "$SPAWN_PID"
    [ "$RC" -eq 0 ] || { fail "s_client exited with status $RC" "$err" "$NK_LOG"; return 1; }
    same_bytes "$DATA_C2S" "$out" "echo" "$err" "$NK_LOG" || return 1
    grep -qx "Signature type: $want_type" "$err" || { fail "signature type not $want_type" "$err"; return 1; }
    grep -qx "Hash used: $want_digest" "$err" || { fail "digest not $want_digest" "$err"; return 1; }
}

# RFC 7301 and RFC 6066 §3 in the TLS 1.2 ServerHello: s_client offers h2 and
# http/1.1 and names the host; nktls-server (--alpn h2) chooses h2 and
# acknowledges the name with an empty server_name (s_client -tlsextdebug
# prints the ServerHello's extensions).
srv_alpn_sni() {
    local name=srv12-alpn
    nk_server_ensure tls12-alpn --cert "$CERTS/server.pem" --key "$CERTS/server.key" --alpn h2 -v ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    timeout "$T_TIMEOUT" openssl s_client -connect "127.0.0.1:$NK_PORT" -tls1_2 -nocommands \
        "${S_CLIENT_VERIFY[@]}" -alpn h2,http/1.1 -tlsextdebug </dev/null \
        >"$WORK/$name.out" 2>"$WORK/$name.err"
    grep -q "^ALPN protocol: h2" "$WORK/$name.out" || { fail "h2 not chosen" "$WORK/$name.out"; return 1; }
    grep -q 'TLS server extension "server name" (id=0), len=0' "$WORK/$name.out" ||
        { fail "no empty server_name in the ServerHello" "$WORK/$name.out"; return 1; }
    grep -q "Protocol *: TLSv1.2" "$WORK/$name.out" || { fail "not TLS 1.2" "$WORK/$name.out"; return 1; }
}

# RFC 6066 §4: s_client -maxfraglen 512 asks for records of at most 512
# bytes; the ServerHello echoes max_fragment_length (code 1: s_client
# -tlsextdebug shows it), and 100 KB are echoed in such records.
srv_max_fragment_length() {
    local name=srv12-maxfrag out err
    nk_server_ensure tls12-server --cert "$CERTS/server.pem" --key "$CERTS/server.key" -v ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    timeout "$T_TIMEOUT" openssl s_client -connect "127.0.0.1:$NK_PORT" -tls1_2 -nocommands \
        "${S_CLIENT_VERIFY[@]}" -maxfraglen 512 -tlsextdebug </dev/null \
        >"$WORK/$name-ext.out" 2>"$WORK/$name-ext.err"
    grep -q 'TLS server extension "max fragment length" (id=1), len=1' "$WORK/$name-ext.out" ||
        { fail "max_fragment_length not echoed" "$WORK/$name-ext.out"; return 1; }
    out=$WORK/$name.out err=$WORK/$name.err
    spawn_fed "$name" "$DATA_C2S" "$out" "$(size_of "$DATA_C2S")" \
        openssl s_client -connect "127.0.0.1:$NK_PORT" -tls1_2 -brief -nocommands \
        "${S_CLIENT_VERIFY[@]}" -maxfraglen 512
    finish "$SPAWN_PID"
    [ "$RC" -eq 0 ] || { fail "s_client exited with status $RC" "$err" "$NK_LOG"; return 1; }
    same_bytes "$DATA_C2S" "$out" "echo" "$err" "$NK_LOG" || return 1
}

section "nktls-server <-> openssl s_client -tls1_2"
for suite in "${SUITES_ECDSA[@]}" "${SUITES_RSA[@]}"; do
    for group in X25519 P-256 P-384 X448 P-521; do
        run_case "nktls-server.s_client_tls12.$suite.$group" srv_suite "$suite" "$group"
    done
done
ccm_list=$(IFS=:; echo "${SUITES_CCM[*]}")
for suite in "${SUITES_CCM[@]}"; do
    for group in X25519 P-256; do
        run_case "nktls-server.s_client_tls12.$suite.$group" srv_suite "$suite" "$group" "$ccm_list"
    done
done
dhe_list=$(IFS=:; echo "${SUITES_DHE[*]}")
for suite in "${SUITES_DHE[@]}"; do
    for group in ffdhe2048 ffdhe3072; do
        run_case "nktls-server.s_client_tls12.$suite.$group" srv_suite "$suite" "$group" "$dhe_list"
    done
done
cbc_list=$(IFS=:; echo "${SUITES_CBC[*]}")
for suite in "${SUITES_CBC[@]}"; do
    run_case "nktls-server.s_client_tls12.$suite.etm" srv_suite "$suite" X25519 "$cbc_list"
    run_case "nktls-server.s_client_tls12.$suite.no_etm" srv_suite "$suite" X25519 "$cbc_list" -no_etm
done
run_case "nktls-server.s_client_tls12.cbc_etm_answered" srv_cbc_etm_ext 1
run_case "nktls-server.s_client_tls12.cbc_no_etm_not_answered" srv_cbc_etm_ext 0 -no_etm
rsakx_list=$(IFS=:; echo "${SUITES_RSAKX[*]}")
for suite in "${SUITES_RSAKX[@]}"; do
    run_case "nktls-server.s_client_tls12.$suite" srv_suite "$suite" X25519 "$rsakx_list"
done
run_case "nktls-server.s_client_tls12.downgrade_sentinel" srv_sentinel
run_case "nktls-server.s_client_tls12.ecdsa_curve_not_listed" srv_curve_unlisted
run_case "nktls-server.s_client_tls12.client_certificate" srv_mutual
run_case "nktls-server.s_client_tls12.client_certificate_missing" srv_mutual_nocert
run_case "nktls-server.gnutls_cli_tls12.client_certificate" srv_mutual_gnutls
run_case "nktls-server.s_client_tls12.fallback_scsv" srv_fallback_scsv
run_case "nktls-server.s_client_tls12.alpn_and_sni" srv_alpn_sni
run_case "nktls-server.s_client_tls12.max_fragment_length_512" srv_max_fragment_length
run_case "nktls-server.s_client_tls12.sigalgs_rsa_pkcs1_sha256" srv_sigalgs RSA+SHA256 server-rsa RSA SHA256
run_case "nktls-server.s_client_tls12.sigalgs_rsa_pkcs1_sha512" srv_sigalgs RSA+SHA512 server-rsa RSA SHA512
run_case "nktls-server.s_client_tls12.sigalgs_ecdsa_sha384_p256" srv_sigalgs ECDSA+SHA384 server ECDSA SHA384
run_case "nktls-server.s_client_tls12.enabled.ECDHE-ECDSA-CHACHA20-POLY1305" \
    srv_enabled_suite ECDHE-ECDSA-CHACHA20-POLY1305
run_case "nktls-server.s_client_tls12.enabled.ECDHE-RSA-AES256-GCM-SHA384" \
    srv_enabled_suite ECDHE-RSA-AES256-GCM-SHA384
run_case "nktls-server.s_client_tls12.tls13_suites_only" srv_tls13_suites_only
nk_server_stop

# ===== nktls-client <-> openssl s_server -tls1_2 =============================

# cli_suite SUITE [SERVER_CIPHERS [CLIENT_CIPHERS [S_SERVER_ARGS...]]]: SUITE
# is what must be negotiated; s_server takes SERVER_CIPHERS (SUITE by
# default) and S_SERVER_ARGS, nktls-client enables CLIENT_CIPHERS (its
# defaults when absent).
cli_suite() {
    local suite=$1 name=cli12-$1 cert sout cout srv_ciphers=${2:-$1} cli_opts=() srv_extra=("${@:4}")
    [ -n "${3:-}" ] && cli_opts=(--ciphers "$3") name=$name-enabled
    cert=$(cert_of "$suite")
    sout=$WORK/$name-srv.out cout=$WORK/$name-cli.out
    start_peer_server "$name-srv" "$DATA_S2C" "$sout" "$(size_of "$DATA_C2S")" \
        openssl s_server -accept "127.0.0.1:@PORT@" -naccept 1 -tls1_2 -quiet \
        -cert "$CERTS/$cert.pem" -key "$CERTS/$cert.key" -cipher "$srv_ciphers" "${srv_extra[@]}" ||
        { fail "s_server did not start" "$WORK/$name-srv.err"; return 1; }
    spawn_fed "$name-cli" "$DATA_C2S" "$cout" "$(size_of "$DATA_S2C")" \
        "$NK_CLIENT" --connect "127.0.0.1:$PEER_PORT" --servername localhost \
        --ca "$CERTS/ca.pem" "${cli_opts[@]}" -v
    finish "$SPAWN_PID"
    local cli_rc=$RC
    finish_within "$PEER_PID" 2
    [ "$cli_rc" -eq 0 ] ||
        { fail "nktls-client exited with status $cli_rc" "$WORK/$name-cli.err" "$WORK/$name-srv.err"; return 1; }
    same_bytes "$DATA_C2S" "$sout" "client to server" "$WORK/$name-srv.err" || return 1
    same_bytes "$DATA_S2C" "$cout" "server to client" "$WORK/$name-cli.err" || return 1
    grep -q "^protocol: TLSv1.2" "$WORK/$name-cli.err" ||
        { fail "nktls-client did not report TLSv1.2" "$WORK/$name-cli.err"; return 1; }
    grep -q "^cipher: $suite" "$WORK/$name-cli.err" ||
        { fail "nktls-client did not report $suite" "$WORK/$name-cli.err"; return 1; }
}

# s_server -Verify 1 requires a client certificate and verifies it: the
# exchange works only if nktls-client sent its certificate and a
# CertificateVerify s_server accepts.
cli_mutual() {
    local name=cli12-mutual sout cout
    sout=$WORK/$name-srv.out cout=$WORK/$name-cli.out
    start_peer_server "$name-srv" "$DATA_S2C" "$sout" "$(size_of "$DATA_C2S")" \
        openssl s_server -accept "127.0.0.1:@PORT@" -naccept 1 -tls1_2 -quiet \
        -cert "$CERTS/server.pem" -key "$CERTS/server.key" -Verify 1 -CAfile "$CERTS/ca.pem" \
        -verify_return_error ||
        { fail "s_server did not start" "$WORK/$name-srv.err"; return 1; }
    spawn_fed "$name-cli" "$DATA_C2S" "$cout" "$(size_of "$DATA_S2C")" \
        "$NK_CLIENT" --connect "127.0.0.1:$PEER_PORT" --servername localhost \
        --ca "$CERTS/ca.pem" --cert "$CERTS/client.pem" --key "$CERTS/client.key" -v
    finish "$SPAWN_PID"
    local cli_rc=$RC
    finish_within "$PEER_PID" 2
    [ "$cli_rc" -eq 0 ] ||
        { fail "nktls-client exited with status $cli_rc" "$WORK/$name-cli.err" "$WORK/$name-srv.err"; return 1; }
    same_bytes "$DATA_C2S" "$sout" "client to server" "$WORK/$name-srv.err" || return 1
    same_bytes "$DATA_S2C" "$cout" "server to client" "$WORK/$name-cli.err" || return 1
    grep -q "^protocol: TLSv1.2" "$WORK/$name-cli.err" ||
        { fail "nktls-client did not report TLSv1.2" "$WORK/$name-cli.err"; return 1; }
}

# gnutls-serv held to TLS 1.2, requiring and verifying a client certificate:
# nktls-client answers its CertificateRequest.
cli_mutual_gnutls() {
    local name=cli12-mutual-gnutls
    command -v gnutls-serv >/dev/null || { SKIP_REASON="gnutls-serv not installed"; return 2; }
    start_peer_server "$name-srv" /dev/null /dev/null 1 \
        gnutls-serv --echo --crlf -p @PORT@ --x509certfile "$CERTS/server.pem" \
        --x509keyfile "$CERTS/server.key" --priority "NORMAL:-VERS-ALL:+VERS-TLS1.2" \
        --require-client-cert --verify-client-cert --x509cafile "$CERTS/ca.pem" ||
        { fail "gnutls-serv did not start" "$WORK/$name-srv.err" "$WORK/$name-srv.out"; return 1; }
    spawn_fed "$name-cli" "$TEXT_C2S" "$WORK/$name-cli.out" "$(size_of "$TEXT_C2S")" \
        "$NK_CLIENT" --connect "127.0.0.1:$PEER_PORT" --servername localhost \
        --ca "$CERTS/ca.pem" --cert "$CERTS/client.pem" --key "$CERTS/client.key" --echo -v
    finish "$SPAWN_PID"
    local cli_rc=$RC
    stop_pid "$PEER_PID"
    [ "$cli_rc" -eq 0 ] ||
        { fail "nktls-client exited with status $cli_rc" "$WORK/$name-cli.err" "$WORK/$name-srv.out"; return 1; }
    same_bytes "$TEXT_C2S" "$WORK/$name-cli.out" "echo" "$WORK/$name-cli.err" "$WORK/$name-srv.out" || return 1
    grep -q "^protocol: TLSv1.2" "$WORK/$name-cli.err" ||
        { fail "nktls-client did not report TLSv1.2" "$WORK/$name-cli.err"; return 1; }
}

section "nktls-client <-> openssl s_server -tls1_2"
for suite in "${SUITES_ECDSA[@]}" "${SUITES_RSA[@]}"; do
    run_case "nktls-client.s_server_tls12.$suite" cli_suite "$suite"
done
run_case "nktls-client.s_server_tls12.client_certificate" cli_mutual
run_case "nktls-client.gnutls_serv_tls12.client_certificate" cli_mutual_gnutls
for suite in "${SUITES_CCM[@]}"; do
    run_case "nktls-client.s_server_tls12.$suite" cli_suite "$suite" "$suite" "$suite"
done
for suite in "${SUITES_RSAKX[@]}"; do
    run_case "nktls-client.s_server_tls12.$suite" cli_suite "$suite" "$suite" "$suite"
done
for suite in "${SUITES_CBC[@]}"; do
    run_case "nktls-client.s_server_tls12.$suite.etm" cli_suite "$suite" "$suite" "$suite"
    run_case "nktls-client.s_server_tls12.$suite.no_etm" cli_suite "$suite" "$suite" "$suite" -no_etm
done
# s_server's own DH group is not an RFC 7919 one: given ffdhe2048 (-dhparam)
# it is accepted; its default group is refused (RFC 7919 §3: no custom
# groups), with insufficient_security.
openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 -out "$WORK/ffdhe2048.pem" 2>/dev/null
for suite in "${SUITES_DHE[@]}"; do
    run_case "nktls-client.s_server_tls12.$suite" cli_suite "$suite" "$suite" "$suite" \
        -dhparam "$WORK/ffdhe2048.pem"
done
cli_dhe_custom_group() {
    local name=cli12-dhe-custom
    start_peer_server "$name-srv" "$DATA_S2C" "$WORK/$name-srv.out" 0 \
        openssl s_server -accept "127.0.0.1:@PORT@" -naccept 1 -tls1_2 -quiet \
        -cert "$CERTS/server-rsa.pem" -key "$CERTS/server-rsa.key" -cipher DHE-RSA-AES128-GCM-SHA256 ||
        { fail "s_server did not start" "$WORK/$name-srv.err"; return 1; }
    timeout "$T_TIMEOUT" "$NK_CLIENT" --connect "127.0.0.1:$PEER_PORT" --servername localhost \
        --ca "$CERTS/ca.pem" --ciphers DHE-RSA-AES128-GCM-SHA256 -v </dev/null \
        >"$WORK/$name-cli.out" 2>"$WORK/$name-cli.err"
    local rc=$?
    finish_within "$PEER_PID" 2
    [ "$rc" -ne 0 ] || { fail "nktls-client accepted a custom DH group" "$WORK/$name-cli.err"; return 1; }
    grep -q "ERR_SSL_INSUFFICIENT_SECURITY" "$WORK/$name-cli.err" ||
        { fail "not refused as insufficient_security" "$WORK/$name-cli.err"; return 1; }
}
run_case "nktls-client.s_server_tls12.dhe_custom_group_refused" cli_dhe_custom_group
# A server that signs only with PKCS#1 v1.5 (RFC 5246): our default client
# lists rsa_pkcs1_* for TLS 1.2 (RFC 8446 §4.2.3) and accepts it.
run_case "nktls-client.s_server_tls12.server_signs_rsa_pkcs1_sha256" \
    cli_suite ECDHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-AES128-GCM-SHA256 "" -sigalgs RSA+SHA256
# Groups in TLS 1.2 that s_server insists on (RFC 8422 §5.1.1): X448, P-521.
for group in X448 P-521; do
    run_case "nktls-client.s_server_tls12.ECDHE-RSA-AES128-GCM-SHA256.$group" \
        cli_suite ECDHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-AES128-GCM-SHA256 "" -groups "$group"
done
# The client's enabled suite is the one it offers: s_server allows all six.
run_case "nktls-client.s_server_tls12.enabled.ECDHE-RSA-CHACHA20-POLY1305" \
    cli_suite ECDHE-RSA-CHACHA20-POLY1305 "ECDHE+AESGCM:ECDHE+CHACHA20" ECDHE-RSA-CHACHA20-POLY1305

tap_done
