#!/usr/bin/env bash
# tests/interop/client.sh — what a new user of the example programs meets:
# nktls-client prints everything until the server closes (100 MiB from
# nktls-server --root and 10 MiB from openssl s_server -WWW, compared by sha256)
# and fails loudly when the transfer is cut (a close without close_notify, an HTTP
# body shorter than its Content-Length, a reset); it trusts the system's CAs
# (SSL_CERT_FILE) unless --ca or --insecure says otherwise; --connect-timeout and
# --timeout end a silent peer; the error messages say what to do (missing and
# unreadable files, an untrusted issuer, a host-name mismatch, a plain-HTTP port,
# no common version, --ktls require without the kernel's tls module, an expired
# server certificate, bad option values in the same words in all three
# programs); --tls and --ciphers 0xNNNN; -h and --version everywhere. Prints TAP.
# The cut cases run through tests/interop/client_peers.py, a proxy that ends the
# connection early on purpose; the timeout cases against its silent server.

# shellcheck source=tests/interop/lib.sh
. "$(dirname "$0")/lib.sh"

require_tool openssl python3 sha256sum
require_nktls
if ! certs_init; then
    tap_fail "certificates generated" "scripts/gen-certs failed"
    tap_done
    exit 1
fi
NK_LOAD=$NKTLS_BUILD/examples/nktls-load
PEERS=$NKTLS_ROOT/tests/interop/client_peers.py

ROOT=$WORK/www
mkdir -p "$ROOT"
head -c $((100 << 20)) /dev/urandom >"$ROOT/big"
head -c $((10 << 20)) /dev/urandom >"$ROOT/mid"
BIG=$(stat -c %s "$ROOT/big")
SRV_ROOT=(--cert "$CERTS/server.pem" --key "$CERTS/server.key" --root "$ROOT")
SRV_ECHO=(--cert "$CERTS/server.pem" --key "$CERTS/server.key")

sha() { sha256sum "$1" | cut -d' ' -f1; }
ktls_kernel() { [ -e /proc/net/tls_stat ]; }

# client NAME ARGS...: nktls-client with stdin from $WORK/NAME.in (empty when
# missing), stdout to NAME.out, stderr to NAME.err; sets RC and MS (how long it ran).
client() {
    local name=$1 t0
    shift
    [ -f "$WORK/$name.in" ] || : >"$WORK/$name.in"
    t0=$(date +%s%N)
    timeout "$T_TIMEOUT" "$NK_CLIENT" "$@" <"$WORK/$name.in" >"$WORK/$name.out" 2>"$WORK/$name.err"
    RC=$?
    MS=$((($(date +%s%N) - t0) / 1000000))
}

# request NAME PATH: an HTTP/1.0 GET for PATH as NAME's stdin.
request() { printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$2" >"$WORK/$1.in"; }

# body NAME: the HTTP body of NAME.out, in NAME.body.
body() {
    python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); sys.stdout.buffer.write(d[d.index(b"\r\n\r\n") + 4:])' \
        "$WORK/$1.out" >"$WORK/$1.body"
}

expect_rc() {
    [ "$RC" -eq "$2" ] || { fail "exit status $RC, expected $2" "$WORK/$1.err"; return 1; }
}

# has_line NAME LINE: NAME.err holds exactly this line.
has_line() {
    grep -qxF -- "$2" "$WORK/$1.err" || { fail "no line '$2'" "$WORK/$1.err"; return 1; }
}

# peer_start NAME ARGS...: client_peers.py ARGS in the background; sets PEER_PID, PEER_PORT.
peer_start() {
    local name=$1 i=0 line
    shift
    python3 "$PEERS" "$@" >"$WORK/$name.peer" 2>&1 &
    PEER_PID=$! PEER_PORT=""
    while [ $i -lt $((T_TIMEOUT * 20)) ]; do
        line=$(grep -m1 -oE 'listening on [^ ]*:[0-9]+' "$WORK/$name.peer" 2>/dev/null)
        if [ -n "$line" ]; then
            PEER_PORT=${line##*:}
            return 0
        fi
        alive "$PEER_PID" || break
        sleep 0.05
        i=$((i + 1))
    done
    fail "client_peers.py $* did not start" "$WORK/$name.peer"
}

ROOT_ARGS=(--connect "127.0.0.1:@PORT@" --servername localhost --ca "$CERTS/ca.pem")
at() { local a; for a in "${ROOT_ARGS[@]}"; do printf '%s\n' "${a//@PORT@/$1}"; done; }

# ===== the transfer ===========================================================

t_download_100mib() {
    nk_server_ensure root "${SRV_ROOT[@]}" || { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    request dl /big
    mapfile -t args < <(at "$NK_PORT")
    client dl "${args[@]}"
    expect_rc dl 0 || return 1
    body dl
    [ "$(sha "$WORK/dl.body")" = "$(sha "$ROOT/big")" ] ||
        { fail "body of $(size_of "$WORK/dl.body") bytes differs from the 100 MiB file" "$WORK/dl.err"; return 1; }
    [ ! -s "$WORK/dl.err" ] || { fail "messages on a clean transfer" "$WORK/dl.err"; return 1; }
}

# HTTP/1.1 keeps the connection open: after its one request the client stops at
# the end of the response (by Content-Length), not at the server's idle timeout.
t_keep_alive_request() {
    nk_server_ensure root "${SRV_ROOT[@]}" || { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    printf 'GET /mid HTTP/1.1\r\nHost: localhost\r\n\r\n' >"$WORK/ka.in"
    mapfile -t args < <(at "$NK_PORT")
    client ka "${args[@]}"
    expect_rc ka 0 || return 1
    body ka
    [ "$(sha "$WORK/ka.body")" = "$(sha "$ROOT/mid")" ] ||
        { fail "body of $(size_of "$WORK/ka.body") bytes differs from the 10 MiB file" "$WORK/ka.err"; return 1; }
    [ "$MS" -lt 5000 ] || { fail "took $MS ms: waited for the server's idle timeout" "$WORK/ka.err"; return 1; }
}

t_download_s_server_www() {
    local port
    port=$(pick_port)
    (cd "$ROOT" && exec timeout "$T_TIMEOUT" openssl s_server -accept "127.0.0.1:$port" -naccept 1 -WWW \
        -cert "$CERTS/server.pem" -key "$CERTS/server.key" </dev/null >"$WORK/www.srv" 2>&1) &
    PEER_PID=$!
    wait_listen "$port" "$PEER_PID" || { fail "s_server -WWW did not start" "$WORK/www.srv"; return 1; }
    request www /mid
    mapfile -t args < <(at "$port")
    client www "${args[@]}"
    stop_pid "$PEER_PID"
    expect_rc www 0 || return 1
    body www
    [ "$(sha "$WORK/www.body")" = "$(sha "$ROOT/mid")" ] ||
        { fail "body of $(size_of "$WORK/www.body") bytes differs from the 10 MiB file" "$WORK/www.err"; return 1; }
}

# cut_through NAME close|reset UPSTREAM_PORT BYTES: the client through a proxy that
# ends the connection after BYTES bytes from upstream.
cut_through() {
    local name=$1 how=$2 up=$3 bytes=$4
    peer_start "$name" cut "$up" "$bytes" "$how" || return 1
    mapfile -t args < <(at "$PEER_PORT")
    client "$name" "${args[@]}"
    stop_pid "$PEER_PID"
    expect_rc "$name" 1
}

t_cut_http_close() {
    local got
    nk_server_ensure root "${SRV_ROOT[@]}" || { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    request cutc /big
    cut_through cutc close "$NK_PORT" $((1 << 20)) || return 1
    body cutc
    got=$(size_of "$WORK/cutc.body")
    [ "$got" -lt "$BIG" ] || { fail "the whole body arrived through the cut" "$WORK/cutc.err"; return 1; }
    has_line cutc "nktls-client: the response was cut short: $got of $BIG body bytes (Content-Length)"
}

t_cut_reset() {
    nk_server_ensure root "${SRV_ROOT[@]}" || { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    request cutr /big
    cut_through cutr reset "$NK_PORT" $((1 << 20)) || return 1
    grep -qE '^nktls-client: receive failed after [0-9]+ bytes: ERR_TCP_READ_ERROR: reading from the socket failed \(connection reset by the peer\?\)$' \
        "$WORK/cutr.err" || { fail "no reset message" "$WORK/cutr.err"; return 1; }
}

# Not HTTP: only close_notify says the data is whole.
t_cut_no_close_notify() {
    local port
    port=$(pick_port)
    head -c 200000 /dev/urandom >"$WORK/s2c"
    { cat "$WORK/s2c"; sleep "$T_TIMEOUT"; } | timeout "$T_TIMEOUT" openssl s_server -accept "127.0.0.1:$port" \
        -naccept 1 -quiet -cert "$CERTS/server.pem" -key "$CERTS/server.key" >/dev/null 2>"$WORK/cutn.srv" &
    local srv=$!
    wait_listen "$port" "$srv" || { fail "s_server did not start" "$WORK/cutn.srv"; return 1; }
    cut_through cutn close "$port" 100000
    local rc=$?
    stop_pid "$srv"
    [ "$rc" -eq 0 ] || return 1
    grep -qE '^nktls-client: the server closed the connection without close_notify after [0-9]+ bytes: the data may be cut short$' \
        "$WORK/cutn.err" || { fail "no cut message" "$WORK/cutn.err"; return 1; }
    [ "$(size_of "$WORK/cutn.out")" -lt 200000 ] || { fail "all the data arrived through the cut"; return 1; }
}

t_echo_mode() {
    nk_server_ensure echo "${SRV_ECHO[@]}" || { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    head -c 100000 /dev/urandom >"$WORK/echo.in"
    mapfile -t args < <(at "$NK_PORT")
    client echo "${args[@]}" --echo
    expect_rc echo 0 || return 1
    cmp -s "$WORK/echo.in" "$WORK/echo.out" || { fail "echo differs" "$WORK/echo.err"; return 1; }
}

# Without --echo the client waits for the close: an echo server that keeps the
# connection open runs into --timeout, after the whole echo was printed.
t_waits_for_close() {
    nk_server_ensure echo "${SRV_ECHO[@]}" || { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    head -c 1000 /dev/urandom >"$WORK/wait.in"
    mapfile -t args < <(at "$NK_PORT")
    client wait "${args[@]}" --timeout 1.5
    expect_rc wait 1 || return 1
    cmp -s "$WORK/wait.in" "$WORK/wait.out" || { fail "echo differs" "$WORK/wait.err"; return 1; }
    has_line wait "nktls-client: timed out during the transfer: --timeout 1.5 s ran out"
}

section "the transfer"
run_case "client.download_100mib.nktls-server" t_download_100mib
run_case "client.download.s_server_www" t_download_s_server_www
run_case "client.download.keep_alive_one_request" t_keep_alive_request
run_case "client.cut.http_short_body" t_cut_http_close
run_case "client.cut.tcp_reset" t_cut_reset
run_case "client.cut.no_close_notify" t_cut_no_close_notify
run_case "client.echo_mode" t_echo_mode
run_case "client.waits_for_close" t_waits_for_close

# ===== trust ==================================================================

www_args() {
    nk_server_ensure www "${SRV_ECHO[@]}" --www || { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    request "$1" /
    args=(--connect "127.0.0.1:$NK_PORT" --servername localhost)
}

t_system_store() {
    www_args sys || return 1
    SSL_CERT_FILE=$CERTS/ca.pem SSL_CERT_DIR=$WORK/nodir client sys "${args[@]}"
    expect_rc sys 0 || return 1
    grep -q "^HTTP/1.0 200 OK" "$WORK/sys.out" || { fail "no response" "$WORK/sys.err"; return 1; }
}

t_system_store_lacks_ca() {
    www_args nosys || return 1
    : >"$WORK/empty.pem"
    SSL_CERT_FILE=$WORK/empty.pem SSL_CERT_DIR=$WORK/nodir client nosys "${args[@]}"
    expect_rc nosys 1 || return 1
    has_line nosys "nktls-client: handshake failed: ERR_SSLCC_UNKNOWN_CERTIFICATE_AUTHORITY: the peer's certificate chain does not end at a trusted CA (we sent unknown_ca)" || return 1
    has_line nosys "nktls-client: the chain ends at 'CN=nktls test CA, O=nktls test', which is not trusted" || return 1
    has_line nosys "nktls-client: give the CA that issued it with --ca FILE, or add it to the system's store (SSL_CERT_FILE, SSL_CERT_DIR)" || return 1
    [ ! -s "$WORK/nosys.out" ] || { fail "output from an untrusted server"; return 1; }
}

t_ca_overrides() {
    www_args other || return 1
    SSL_CERT_FILE=$CERTS/ca.pem client other "${args[@]}" --ca "$CERTS/other-ca.pem"
    expect_rc other 1 || return 1
    has_line other "nktls-client: give the CA that issued it with --ca FILE (the one given does not)"
}

t_insecure() {
    www_args insec || return 1
    SSL_CERT_FILE=$WORK/empty.pem client insec "${args[@]}" --insecure
    expect_rc insec 0 || return 1
    has_line insec "nktls-client: warning: --insecure: the server's certificate is not verified; anyone on the path can read and change this connection"
}

t_hostname_mismatch() {
    www_args host || return 1
    client host "${args[@]/localhost/wrong.example}" --ca "$CERTS/ca.pem"
    expect_rc host 1 || return 1
    has_line host "nktls-client: handshake failed: ERR_CERT_HOSTNAME_MISMATCH: the certificate is not for the host name asked for (we sent certificate_unknown)" || return 1
    has_line host "nktls-client: asked for 'wrong.example'; the certificate is for DNS:localhost, IP:127.0.0.1" || return 1
    has_line host "nktls-client: connect by one of those names, or give it with --servername NAME"
}

section "trust"
run_case "client.trust.system_store" t_system_store
run_case "client.trust.system_store_lacks_ca" t_system_store_lacks_ca
run_case "client.trust.ca_overrides_system" t_ca_overrides
run_case "client.trust.insecure_warns" t_insecure
run_case "client.trust.hostname_mismatch" t_hostname_mismatch
nk_server_stop

# ===== timeouts ===============================================================

# timeout_case NAME LIMIT_OPTION: against a peer that accepts and never answers.
timeout_case() {
    local name=$1 opt=$2
    peer_start "$name" silent || return 1
    client "$name" --connect "127.0.0.1:$PEER_PORT" --ca "$CERTS/ca.pem" "$opt" 1
    stop_pid "$PEER_PID"
    expect_rc "$name" 1 || return 1
    has_line "$name" "nktls-client: timed out in the handshake: $opt 1 s ran out" || return 1
    [ "$MS" -lt 3000 ] || { fail "took $MS ms for a 1 s limit" "$WORK/$name.err"; return 1; }
}

section "timeouts"
run_case "client.connect_timeout.silent_server" timeout_case ct --connect-timeout
run_case "client.timeout.silent_server" timeout_case tt --timeout

# ===== messages ===============================================================

t_missing_file() {
    client miss --connect 127.0.0.1:1 --ca "$WORK/nope.pem"
    expect_rc miss 2 || return 1
    has_line miss "nktls-client: cannot read '$WORK/nope.pem': No such file or directory"
}

t_unreadable_file() {
    cp "$CERTS/ca.pem" "$WORK/locked.pem"
    chmod 000 "$WORK/locked.pem"
    if [ "$(id -u)" = 0 ]; then
        command -v setpriv >/dev/null || { SKIP_REASON="root, and no setpriv to drop it"; return 2; }
        chmod 755 "$WORK"
        timeout "$T_TIMEOUT" setpriv --reuid=65534 --regid=65534 --clear-groups "$NK_CLIENT" \
            --connect 127.0.0.1:1 --ca "$WORK/locked.pem" </dev/null >/dev/null 2>"$WORK/locked.err"
        RC=$?
    else
        client locked --connect 127.0.0.1:1 --ca "$WORK/locked.pem"
    fi
    expect_rc locked 2 || return 1
    has_line locked "nktls-client: cannot read '$WORK/locked.pem': Permission denied"
}

t_not_tls() {
    peer_start plain http || return 1
    client plain --connect "127.0.0.1:$PEER_PORT" --ca "$CERTS/ca.pem"
    stop_pid "$PEER_PID"
    expect_rc plain 1 || return 1
    has_line plain "nktls-client: handshake failed: ERR_SSL_NOT_TLS: the peer is not speaking TLS (a plain-text port?) (we sent decode_error)" || return 1
    ! grep -q "alert none" "$WORK/plain.err" || { fail "'alert none' printed" "$WORK/plain.err"; return 1; }
}

t_no_common_version_client() {
    local port
    port=$(pick_port)
    timeout "$T_TIMEOUT" openssl s_server -accept "127.0.0.1:$port" -naccept 1 -tls1_2 -quiet \
        -cert "$CERTS/server.pem" -key "$CERTS/server.key" </dev/null >/dev/null 2>"$WORK/ver.srv" &
    PEER_PID=$!
    wait_listen "$port" "$PEER_PID" || { fail "s_server did not start" "$WORK/ver.srv"; return 1; }
    mapfile -t args < <(at "$port")
    client ver "${args[@]}" --tls 1.3
    stop_pid "$PEER_PID"
    expect_rc ver 1 || return 1
    has_line ver "nktls-client: handshake failed: ERR_SSL_FATAL_ALERT: the peer ended the handshake with a fatal alert (the peer sent protocol_version)" || return 1
    has_line ver "nktls-client: we offered TLS 1.3 only; the server accepts none of them (see --tls)"
}

# A server that answers with a TLS 1.1 ServerHello (no TLS 1.1 server runs at
# modern openssl's defaults, so client_peers.py writes the hello).
t_server_chose_tls11() {
    peer_start h11 hello11 || return 1
    client h11 --connect "127.0.0.1:$PEER_PORT" --servername localhost --ca "$CERTS/ca.pem"
    stop_pid "$PEER_PID"
    expect_rc h11 1 || return 1
    has_line h11 "nktls-client: handshake failed: ERR_SSL_UNSUPPORTED_VERSION: no TLS version in common: the two sides allow different versions (we sent protocol_version)" || return 1
    has_line h11 "nktls-client: we offered TLS 1.2 and TLS 1.3; the server chose TLS 1.1 (see --tls)"
}

t_no_common_version_server() {
    nk_server_start tls13 "${SRV_ECHO[@]}" --tls 1.3 || { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    echo | timeout "$T_TIMEOUT" openssl s_client -connect "127.0.0.1:$NK_PORT" -tls1_2 \
        >"$WORK/s13.out" 2>&1
    RC=$?
    sleep 0.2
    nk_server_stop
    [ "$RC" -ne 0 ] || { fail "s_client -tls1_2 connected to --tls 1.3" "$WORK/s13.out"; return 1; }
    grep -qE "^nktls-server: 127\.0\.0\.1:[0-9]+: handshake failed: ERR_SSL_UNSUPPORTED_VERSION: no TLS version in common: the two sides allow different versions \(we sent protocol_version\); the client offered TLS 1\.2, TLS 1\.1, TLS 1\.0; this server accepts TLS 1\.3 only \(see --tls\)$" \
        "$NK_LOG" || { fail "no version message" "$NK_LOG"; return 1; }
}

t_server_tls12() {
    nk_server_start tls12 "${SRV_ECHO[@]}" --tls 1.2 || { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    echo hi | timeout "$T_TIMEOUT" openssl s_client -connect "127.0.0.1:$NK_PORT" \
        -CAfile "$CERTS/ca.pem" -servername localhost >"$WORK/s12.out" 2>&1
    nk_server_stop
    grep -qE "^ *Protocol *: TLSv1\.2$" "$WORK/s12.out" || { fail "s_client did not get TLSv1.2" "$WORK/s12.out"; return 1; }
}

t_client_tls12() {
    local port
    port=$(pick_port)
    echo hello >"$WORK/c12.in"
    { echo olleh; sleep 1; } | timeout "$T_TIMEOUT" openssl s_server -accept "127.0.0.1:$port" -naccept 1 -quiet \
        -cert "$CERTS/server.pem" -key "$CERTS/server.key" >/dev/null 2>"$WORK/c12.srv" &
    PEER_PID=$!
    wait_listen "$port" "$PEER_PID" || { fail "s_server did not start" "$WORK/c12.srv"; return 1; }
    mapfile -t args < <(at "$port")
    client c12 "${args[@]}" --tls 1.2 -v
    stop_pid "$PEER_PID"
    expect_rc c12 0 || return 1
    has_line c12 "protocol: TLSv1.2" || return 1
    grep -qx olleh "$WORK/c12.out" || { fail "no data from s_server" "$WORK/c12.err"; return 1; }
}

t_client_hex_cipher() {
    nk_server_ensure echo "${SRV_ECHO[@]}" || { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    echo hello >"$WORK/hex.in"
    mapfile -t args < <(at "$NK_PORT")
    client hex "${args[@]}" --echo --ciphers 0x1302 -v
    nk_server_stop
    expect_rc hex 0 || return 1
    has_line hex "cipher: TLS_AES_256_GCM_SHA384"
}

t_ktls_require() {
    ktls_kernel && { SKIP_REASON="this kernel has the tls module"; return 2; }
    client kreq --connect 127.0.0.1:1 --ktls require
    expect_rc kreq 1 || return 1
    has_line kreq "nktls-client: --ktls require: this kernel cannot carry TLS (no tls module); use --ktls auto to go on in software" || return 1
    timeout "$T_TIMEOUT" "$NK_SERVER" --listen 127.0.0.1:0 "${SRV_ECHO[@]}" --ktls require \
        </dev/null >/dev/null 2>"$WORK/kreqs.err"
    RC=$?
    expect_rc kreqs 1 || return 1
    has_line kreqs "nktls-server: --ktls require: this kernel cannot carry TLS (no tls module); use --ktls auto to go on in software"
}

t_expired_server_cert() {
    local end
    end=$(openssl x509 -in "$CERTS/server-expired.pem" -noout -enddate | cut -d= -f2)
    end=$(date -u -d "$end" +%Y%m%d%H%M%SZ)
    nk_server_start expired --cert "$CERTS/server-expired.pem" --key "$CERTS/server-expired.key" ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    nk_server_stop
    grep -qxF "nktls-server: warning: the certificate in '$CERTS/server-expired.pem' expired on $end (UTC): peers will refuse it" \
        "$NK_LOG" || { fail "no expiry warning (notAfter $end)" "$NK_LOG"; return 1; }
}

section "messages"
run_case "client.message.missing_file" t_missing_file
run_case "client.message.unreadable_file" t_unreadable_file
run_case "client.message.not_tls" t_not_tls
run_case "client.message.no_common_version" t_no_common_version_client
run_case "client.message.server_chose_tls11" t_server_chose_tls11
run_case "server.message.no_common_version" t_no_common_version_server
run_case "server.tls12.s_client" t_server_tls12
run_case "client.tls12.s_server" t_client_tls12
run_case "client.ciphers_by_number" t_client_hex_cipher
run_case "message.ktls_require_at_start" t_ktls_require
run_case "server.message.expired_certificate" t_expired_server_cert

# ===== the three programs' options ============================================

# opt_case PROG WANT_LINE ARGS...: PROG ARGS exits 2 with exactly WANT_LINE.
opt_case() {
    local prog=$1 want=$2
    shift 2
    timeout "$T_TIMEOUT" "$NKTLS_BUILD/examples/$prog" "$@" </dev/null >/dev/null 2>"$WORK/opt.err"
    RC=$?
    expect_rc opt 2 || return 1
    has_line opt "$want"
}

t_help() {
    local prog=$1
    timeout "$T_TIMEOUT" "$NKTLS_BUILD/examples/$prog" -h >"$WORK/help.out" 2>&1
    RC=$?
    expect_rc help 0 || return 1
    head -n 1 "$WORK/help.out" | grep -q "^usage: $prog " || { fail "no usage line" "$WORK/help.out"; return 1; }
    cmp -s "$WORK/help.out" <("$NKTLS_BUILD/examples/$prog" --help 2>&1) ||
        { fail "-h and --help differ" "$WORK/help.out"; return 1; }
}

t_version() {
    local prog=$1 out=$WORK/version.out lib
    timeout "$T_TIMEOUT" "$NKTLS_BUILD/examples/$prog" --version >"$out" 2>&1
    RC=$?
    expect_rc version 0 || return 1
    grep -qE "^$prog \(nktls [0-9]+\.[0-9]+\.[0-9]+\)$" "$out" || { fail "no version line" "$out"; return 1; }
    # The library's version: the command prints it apart when it differs from its own.
    lib=$(openssl version)
    case $lib in *"(Library: "*) lib=${lib#*(Library: }; lib=${lib%)} ;; esac
    grep -qxF "libcrypto: $lib" "$out" || { fail "libcrypto line is not '$lib'" "$out"; return 1; }
    grep -qxF "liburing: $(pkg-config --modversion liburing 2>/dev/null || echo '?') (built with)" "$out" ||
        { fail "no liburing line" "$out"; return 1; }
    if ktls_kernel; then
        grep -qE "^kTLS: available, with(out)? rekey$" "$out" || { fail "no kTLS line" "$out"; return 1; }
    else
        grep -qx "kTLS: not available (no tls module)" "$out" || { fail "no kTLS line with the reason" "$out"; return 1; }
    fi
    grep -qE "^io_uring: (available|not available) \(.+\)$" "$out" || { fail "no io_uring line" "$out"; return 1; }
}

section "options"
for prog in nktls-client nktls-server nktls-load; do
    run_case "$prog.help" t_help "$prog"
    run_case "$prog.version" t_version "$prog"
done
run_case "nktls-client.bad_number" opt_case nktls-client \
    "nktls-client: --timeout: 'abc' is not a number of seconds (more than 0)" --connect x:1 --timeout abc
run_case "nktls-server.bad_number" opt_case nktls-server \
    "nktls-server: --count: 'abc' is not a number (1 or more)" --count abc
run_case "nktls-load.bad_number" opt_case nktls-load \
    "nktls-load: --count: 'abc' is not a number (1 or more)" --count abc
run_case "nktls-load.bad_rate" opt_case nktls-load \
    "nktls-load: --rate: 'x' is not a number (more than 0)" --rate x
run_case "nktls-client.unknown_cipher" opt_case nktls-client \
    "nktls-client: --ciphers: 'FOO' is not a cipher suite nktls knows (IANA names such as TLS_AES_128_GCM_SHA256, or 0xNNNN)" \
    --connect x:1 --ciphers TLS_AES_128_GCM_SHA256,FOO
run_case "nktls-server.unknown_cipher" opt_case nktls-server \
    "nktls-server: --ciphers: '0x9999' is not a cipher suite nktls knows (IANA names such as TLS_AES_128_GCM_SHA256, or 0xNNNN)" \
    --ciphers 0x9999
run_case "nktls-server.bad_tls" opt_case nktls-server \
    "nktls-server: --tls: '1.1' is not a TLS version (1.2, 1.3 or any)" --tls 1.1
run_case "nktls-client.unknown_option" opt_case nktls-client \
    "nktls-client: unknown option '--port' (try --help)" --port 1
run_case "nktls-server.missing_value" opt_case nktls-server \
    "nktls-server: --count needs a value (try --help)" --count

tap_done
