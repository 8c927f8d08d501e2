#!/usr/bin/env bash
# tests/interop/tls12_peers.sh — TLS 1.2 against the peers beside `openssl`
# (tests/interop/tls12.sh has those): nktls-server with gnutls-cli held to
# TLS 1.2 and nktls-client with gnutls-serv held to TLS 1.2, per ECDHE suite
# and group; curl --tls-max 1.2 fetching files from nktls-server --root (the
# sendfile path) per suite; nktls-client fetching a file from nginx with
# ssl_protocols TLSv1.2; a GnuTLS peer without the extended master secret
# refused both ways. Bytes are compared (sha256 for files), and each peer's
# own report must name TLS 1.2 and the suite. In the kTLS VM the server's
# records must be carried by the kernel. Prints TAP.

# shellcheck source=tests/interop/lib.sh
. "$(dirname "$0")/lib.sh"

require_nktls
if ! certs_init; then
    tap_fail "certificates generated" "scripts/gen-certs failed"
    tap_done
    exit 1
fi
data_init

# Suites as OpenSSL (and so curl and our -v lines) name them, and as GnuTLS
# names their key exchange and cipher.
SUITES=(ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384 ECDHE-ECDSA-CHACHA20-POLY1305
        ECDHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-AES256-GCM-SHA384 ECDHE-RSA-CHACHA20-POLY1305)
GROUPS12=(X25519 P-256 P-384)

cert_of() { case $1 in *-RSA-*) echo server-rsa ;; *) echo server ;; esac; }
gnutls_kx() { case $1 in *-RSA-*) echo ECDHE-RSA ;; *) echo ECDHE-ECDSA ;; esac; }
gnutls_cipher() {
    case $1 in
    *AES128-GCM*) echo AES-128-GCM ;;
    *AES256-GCM*) echo AES-256-GCM ;;
    *CHACHA20*) echo CHACHA20-POLY1305 ;;
    esac
}
gnutls_group() { case $1 in P-256) echo SECP256R1 ;; P-384) echo SECP384R1 ;; *) echo "$1" ;; esac; }

# prio12 SUITE GROUP: a GnuTLS priority string allowing TLS 1.2 and exactly
# this suite and group; with an ECDSA suite the certificate's curve (P-256)
# is listed too (RFC 8422 §5.1), after the group under test.
prio12() {
    local p="NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+$(gnutls_cipher "$1"):-KX-ALL:+$(gnutls_kx "$1")"
    p+=":-GROUP-ALL:+GROUP-$(gnutls_group "$2")"
    case $1 in *-ECDSA-*) [ "$2" = P-256 ] || p+=":+GROUP-SECP256R1" ;; esac
    echo "$p"
}

# In the kTLS VM the server's last connection went through the kernel.
kernel_carried() {
    [ "${NKTLS_IN_VM:-}" = 1 ] || return 0
    grep '^record layer:' "$1" | tail -n 1 | grep -q '^record layer: tx kernel, rx kernel' ||
        { fail "records not carried by the kernel" "$1"; return 1; }
}

# ===== nktls-server <-> gnutls-cli (TLS 1.2) =================================

srv_gnutls() {
    local suite=$1 group=$2 name=g12-srv-$1-$2 cert out want=$2
    cert=$(cert_of "$suite")
    # The server picks by its own order (X25519, P-256, P-384) among the
    # client's: with an ECDSA suite the client lists P-256 as well.
    case $suite in *-ECDSA-*) [ "$group" = P-384 ] && want=P-256 ;; esac
    nk_server_ensure "g12-$cert" --cert "$CERTS/$cert.pem" --key "$CERTS/$cert.key" -v ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    out=$WORK/$name.out
    spawn_fed "$name" "$TEXT_C2S" "$out" "$(size_of "$TEXT_C2S")" \
        gnutls-cli -p "$NK_PORT" 127.0.0.1 --sni-hostname localhost --verify-hostname localhost \
        --x509cafile "$CERTS/ca.pem" --logfile "$WORK/$name.log" --priority "$(prio12 "$suite" "$group")"
    finish "$SPAWN_PID"
    [ "$RC" -eq 0 ] || { fail "gnutls-cli exited with status $RC" "$WORK/$name.log" "$WORK/$name.err" "$NK_LOG"; return 1; }
    same_bytes "$TEXT_C2S" "$out" "echo" "$WORK/$name.log" "$NK_LOG" || return 1
    grep -q -- "^- Description: (TLS1.2-X.509)-(ECDHE-$(gnutls_group "$want"))-.*($(gnutls_cipher "$suite"))\$" \
        "$WORK/$name.log" || { fail "gnutls-cli did not describe TLS 1.2 with this suite and group" "$WORK/$name.log"; return 1; }
    kernel_carried "$NK_LOG" || return 1
    alive "$NK_PID" || { fail "nktls-server died" "$NK_LOG"; return 1; }
}

# ===== nktls-client <-> gnutls-serv (TLS 1.2) ================================

# The client offers TLS 1.3 and 1.2 (its default); the server speaks 1.2 only
# and asks for no client certificate (the suites are what is tested here).
cli_gnutls() {
    local suite=$1 name=g12-cli-$1 cert
    cert=$(cert_of "$suite")
    start_peer_server "$name-srv" /dev/null /dev/null 1 \
        gnutls-serv --echo --crlf -p @PORT@ --disable-client-cert --x509certfile "$CERTS/$cert.pem" \
        --x509keyfile "$CERTS/$cert.key" --priority "$(prio12 "$suite" X25519)" ||
        { fail "gnutls-serv did not start" "$WORK/$name-srv.err" "$WORK/$name-srv.out"; return 1; }
    spawn_fed "$name-cli" "$TEXT_C2S" "$WORK/$name-cli.out" "$(size_of "$TEXT_C2S")" \
        "$NK_CLIENT" --connect "127.0.0.1:$PEER_PORT" --servername localhost --ca "$CERTS/ca.pem" --echo -v
    finish "$SPAWN_PID"
    local rc=$RC
    stop_pid "$PEER_PID"
    [ "$rc" -eq 0 ] || { fail "nktls-client exited with status $rc" "$WORK/$name-cli.err" "$WORK/$name-srv.err"; return 1; }
    same_bytes "$TEXT_C2S" "$WORK/$name-cli.out" "echo" "$WORK/$name-cli.err" || return 1
    grep -qx "protocol: TLSv1.2" "$WORK/$name-cli.err" ||
        { fail "nktls-client did not report TLSv1.2" "$WORK/$name-cli.err"; return 1; }
    grep -qx "cipher: $suite" "$WORK/$name-cli.err" ||
        { fail "nktls-client did not report $suite" "$WORK/$name-cli.err"; return 1; }
}

# RFC 7627: a peer without the extended master secret (GnuTLS's
# %NO_SESSION_HASH) is refused both ways with handshake_failure.
srv_gnutls_no_ems() {
    local name=g12-srv-noems
    nk_server_ensure "g12-server" --cert "$CERTS/server.pem" --key "$CERTS/server.key" -v ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    echo hi | timeout "$T_TIMEOUT" gnutls-cli -p "$NK_PORT" 127.0.0.1 --sni-hostname localhost \
        --x509cafile "$CERTS/ca.pem" --priority "NORMAL:-VERS-ALL:+VERS-TLS1.2:%NO_SESSION_HASH" \
        >"$WORK/$name.out" 2>"$WORK/$name.err"
    grep -qE "Received alert \[40\]|Handshake failed" "$WORK/$name.err" "$WORK/$name.out" ||
        { fail "no handshake_failure from nktls-server" "$WORK/$name.err" "$NK_LOG"; return 1; }
    wait_grep "ERR_SSL_HANDSHAKE_FAILURE" "$NK_LOG" ||
        { fail "nktls-server did not report the refusal" "$NK_LOG"; return 1; }
}

cli_gnutls_no_ems() {
    local name=g12-cli-noems
    start_peer_server "$name-srv" /dev/null /dev/null 1 \
        gnutls-serv --echo -p @PORT@ --disable-client-cert --x509certfile "$CERTS/server.pem" \
        --x509keyfile "$CERTS/server.key" --priority "NORMAL:-VERS-ALL:+VERS-TLS1.2:%NO_SESSION_HASH" ||
        { fail "gnutls-serv did not start" "$WORK/$name-srv.err"; return 1; }
    echo hi | timeout "$T_TIMEOUT" "$NK_CLIENT" --connect "127.0.0.1:$PEER_PORT" --servername localhost \
        --ca "$CERTS/ca.pem" --echo -v >"$WORK/$name.out" 2>"$WORK/$name.err"
    local rc=$?
    stop_pid "$PEER_PID"
    [ "$rc" -ne 0 ] || { fail "nktls-client accepted a server without the extended master secret" "$WORK/$name.err"; return 1; }
    grep -q "ERR_SSL_HANDSHAKE_FAILURE" "$WORK/$name.err" ||
        { fail "not refused with handshake_failure" "$WORK/$name.err"; return 1; }
}

# ===== curl --tls-max 1.2 <-> nktls-server --root =============================

ROOT=$WORK/www
mkdir -p "$ROOT"
head -c 1048576 /dev/urandom >"$ROOT/m1"
head -c 16385 /dev/urandom >"$ROOT/r16385"

curl_suite() {
    local suite=$1 file=$2 name=c12-$1-$2 cert
    cert=$(cert_of "$suite")
    nk_server_ensure "c12-$cert" --cert "$CERTS/$cert.pem" --key "$CERTS/$cert.key" --root "$ROOT" -v ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    timeout "$T_TIMEOUT" curl -sS -v --tlsv1.2 --tls-max 1.2 --ciphers "$suite" --cacert "$CERTS/ca.pem" \
        --resolve "localhost:$NK_PORT:127.0.0.1" -o "$WORK/$name.body" "https://localhost:$NK_PORT/$file" \
        2>"$WORK/$name.err"
    local rc=$?
    [ "$rc" -eq 0 ] || { fail "curl exited with status $rc" "$WORK/$name.err" "$NK_LOG"; return 1; }
    cmp -s "$ROOT/$file" "$WORK/$name.body" ||
        { fail "the file arrived changed ($(size_of "$WORK/$name.body") bytes)" "$WORK/$name.err"; return 1; }
    grep -q "SSL connection using TLSv1.2 / $suite" "$WORK/$name.err" ||
        { fail "curl did not report TLSv1.2 / $suite" "$WORK/$name.err"; return 1; }
    kernel_carried "$NK_LOG" || return 1
}

# ===== nktls-client <-> nginx (ssl_protocols TLSv1.2) =========================

# A GET with Connection: close; the client prints the whole reply (headers,
# then the 1 MiB body) until nginx closes.
cli_nginx() {
    local name=n12-cli body
    printf 'GET /m1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >"$WORK/$name.req"
    timeout "$T_TIMEOUT" "$NK_CLIENT" --connect "127.0.0.1:$PEER_PORT" --servername localhost \
        --ca "$CERTS/ca.pem" -v <"$WORK/$name.req" >"$WORK/$name.out" 2>"$WORK/$name.err"
    local rc=$?
    [ "$rc" -eq 0 ] || { fail "nktls-client exited with status $rc" "$WORK/$name.err" "$WORK/nginx12/error.log"; return 1; }
    head -n 1 "$WORK/$name.out" | grep -q "^HTTP/1.1 200" ||
        { fail "no 200 status line" "$WORK/$name.out"; return 1; }
    body=$WORK/$name.body
    tail -c 1048576 "$WORK/$name.out" >"$body"
    cmp -s "$ROOT/m1" "$body" || { fail "the body arrived changed" "$WORK/$name.err"; return 1; }
    [ "$(size_of "$WORK/$name.out")" -lt $((1048576 + 1024)) ] ||
        { fail "more than the reply arrived" "$WORK/$name.err"; return 1; }
    grep -qx "protocol: TLSv1.2" "$WORK/$name.err" ||
        { fail "nktls-client did not report TLSv1.2" "$WORK/$name.err"; return 1; }
}

if command -v gnutls-cli >/dev/null && command -v gnutls-serv >/dev/null; then
    section "nktls-server <-> gnutls-cli, TLS 1.2"
    for suite in "${SUITES[@]}"; do
        for group in "${GROUPS12[@]}"; do
            run_case "nktls-server.gnutls-cli_tls12.$suite.$group" srv_gnutls "$suite" "$group"
        done
    done
    run_case "nktls-server.gnutls-cli_tls12.no_extended_master_secret" srv_gnutls_no_ems
    nk_server_stop
    section "nktls-client <-> gnutls-serv, TLS 1.2"
    for suite in "${SUITES[@]}"; do
        run_case "nktls-client.gnutls-serv_tls12.$suite" cli_gnutls "$suite"
    done
    run_case "nktls-client.gnutls-serv_tls12.no_extended_master_secret" cli_gnutls_no_ems
else
    tap_skip "gnutls_tls12" "gnutls-cli or gnutls-serv not installed"
fi

if command -v curl >/dev/null; then
    section "curl --tls-max 1.2 <-> nktls-server --root"
    for suite in "${SUITES[@]}"; do
        for file in m1 r16385; do
            run_case "nktls-server.curl_tls12.$suite.$file" curl_suite "$suite" "$file"
        done
    done
    nk_server_stop
else
    tap_skip "curl_tls12" "curl not installed"
fi

section "nktls-client <-> nginx, TLS 1.2"
if [ -z "$NGINX" ]; then
    tap_skip "nktls-client.nginx_tls12" "nginx not installed"
else
    if nginx_start nginx12 "
        ssl_certificate $CERTS/server.pem;
        ssl_certificate_key $CERTS/server.key;
        ssl_protocols TLSv1.2;
        root $ROOT;"; then
        run_case "nktls-client.nginx_tls12.get_1mib" cli_nginx
        stop_pid "$PEER_PID"
    else
        tap_fail "nktls-client.nginx_tls12" "nginx did not start" "$WORK/nginx12.err" "$WORK/nginx12/error.log"
    fi
fi

tap_done
