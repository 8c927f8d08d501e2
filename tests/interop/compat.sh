#!/usr/bin/env bash
# tests/interop/compat.sh — programs written against NanoSSL, built the way a
# porting user builds them, do their exchanges with OpenSSL's tools and curl.
#
# nktls is installed into a staging root (meson install), and the two programs
# in tests/compat/ are compiled from the installed headers with pkg-config
# alone, each as C and as C++, with -Wall -Wextra -Werror:
#   legacy_https_server  the legacy generation (-DNKTLS_NANOSSL_LEGACY_API, the
#                        one define it may need): SSL_initServerCert,
#                        SSL_acceptConnection(socket), the TCP_* layer
#   current_client       the current generation, no define: TCP_CONNECT,
#                        SSL_connect with a store, SSL_setCertAndStatusCallback,
#                        SSL_negotiateConnection, the DIGICERT_* spellings
# Then: curl and openssl s_client fetch from the server (the exact response is
# compared), the client exchanges data with openssl s_server both ways (byte for
# byte), fetches s_server's -www page, talks to the legacy server across the
# generations, and refuses a certificate for the wrong name through its
# callback. Every peer runs under a timeout. Prints TAP.

# shellcheck source=tests/interop/lib.sh
. "$(dirname "$0")/lib.sh"

require_tool openssl curl pkg-config cc c++ meson
if ! certs_init; then
    tap_fail "certificates generated" "scripts/gen-certs failed"
    tap_done
    exit 1
fi
data_init
SRC=$NKTLS_ROOT/tests/compat
SUITE=TLS_AES_128_GCM_SHA256   # fixed, so the server's answer is known exactly

# ---- the staged install and the builds ------------------------------------------

section "build from the installed headers with pkg-config"
STAGE=$WORK/stage
stage_install() {
    env DESTDIR="$STAGE" meson install -C "$NKTLS_BUILD" --no-rebuild --quiet \
        >"$WORK/install.log" 2>&1 || { fail "meson install failed" "$WORK/install.log"; return 1; }
    local prefix pc
    prefix=$(meson introspect --buildoptions "$NKTLS_BUILD" | python3 -c \
        'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))') ||
        { fail "no prefix from meson introspect"; return 1; }
    ROOTP=$STAGE$prefix
    pc=$(find "$ROOTP" -name nktls.pc | head -n 1)
    [ -n "$pc" ] || { fail "nktls.pc not installed" "$WORK/install.log"; return 1; }
    # The .pc names the final prefix; point it at the staging root instead.
    PKG_CFLAGS=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --define-variable=prefix="$ROOTP" --cflags nktls)
    PKG_LIBS=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --define-variable=prefix="$ROOTP" --libs nktls)
    LIBDIR=$(dirname "$(find "$ROOTP" -name 'libnktls.so*' | head -n 1)")
}
run_case "nktls installed into a staging root" stage_install
export LD_LIBRARY_PATH=${LIBDIR:-}

# build NAME LANG SOURCE [DEFINES...]: $WORK/NAME from an installed-header build.
build() {
    local name=$1 lang=$2 src=$3 compiler=cc
    shift 3
    [ "$lang" = c++ ] && compiler=c++
    [ -n "${PKG_CFLAGS:-}${PKG_LIBS:-}" ] || { fail "no staged install"; return 1; }
    # shellcheck disable=SC2086   # pkg-config output is a list of flags
    "$compiler" -x "$lang" -Wall -Wextra -Werror "$@" $PKG_CFLAGS -o "$WORK/$name" "$SRC/$src" \
        -x none $PKG_LIBS >"$WORK/$name.build" 2>&1 ||
        { fail "$compiler failed" "$WORK/$name.build"; return 1; }
}
for lang in c c++; do
    run_case "legacy_https_server builds as $lang (-DNKTLS_NANOSSL_LEGACY_API, -Wall -Wextra -Werror)" \
        build "legacy-$lang" "$lang" legacy_https_server.c -DNKTLS_NANOSSL_LEGACY_API
    run_case "current_client builds as $lang (no define, -Wall -Wextra -Werror)" \
        build "current-$lang" "$lang" current_client.c
done

# ---- the legacy server ------------------------------------------------------------

# legacy_start LANG: a one-connection server on a free port (LEG_PID, LEG_PORT).
legacy_start() {
    local bin=$WORK/legacy-$1
    [ -x "$bin" ] || { fail "legacy-$1 was not built"; return 1; }
    start_peer_server "legacy-$1" /dev/null /dev/null 1 \
        "$bin" @PORT@ "$CERTS/server.pem" "$CERTS/server.key" 1 ||
        { fail "legacy_https_server did not start" "$WORK/legacy-$1.out" "$WORK/legacy-$1.err"; return 1; }
    LEG_PID=$PEER_PID LEG_PORT=$PEER_PORT
}

# legacy_done LANG PATH: the server served PATH, then exited 0 by itself.
legacy_done() {
    finish_within "$LEG_PID" 5
    [ "$RC" -eq 0 ] || { fail "legacy_https_server exited with status $RC" "$WORK/legacy-$1.out" "$WORK/legacy-$1.err"; return 1; }
    grep -qx "served $2" "$WORK/legacy-$1.out" ||
        { fail "the server did not log 'served $2'" "$WORK/legacy-$1.out"; return 1; }
}

# expected_body METHOD PATH: the body the legacy server answers with.
expected_body() {
    printf 'legacy NanoSSL server: %s %s over TLS minor version 4, cipher suite 0x1301\n' "$1" "$2"
}

legacy_curl() {
    local lang=$1 path=/compat/curl-$1
    legacy_start "$lang" || return 1
    timeout "$T_TIMEOUT" curl -sS --tlsv1.3 --tls13-ciphers "$SUITE" --cacert "$CERTS/ca.pem" \
        --resolve "localhost:$LEG_PORT:127.0.0.1" -D "$WORK/lc-$lang.hdr" \
        "https://localhost:$LEG_PORT$path" >"$WORK/lc-$lang.body" 2>"$WORK/lc-$lang.err" ||
        { fail "curl failed" "$WORK/lc-$lang.err" "$WORK/legacy-$lang.out"; return 1; }
    expected_body GET "$path" >"$WORK/lc-$lang.want"
    same_bytes "$WORK/lc-$lang.want" "$WORK/lc-$lang.body" "the page" "$WORK/lc-$lang.err" || return 1
    head -n 1 "$WORK/lc-$lang.hdr" | grep -q "^HTTP/1.0 200 OK" ||
        { fail "no 'HTTP/1.0 200 OK'" "$WORK/lc-$lang.hdr"; return 1; }
    legacy_done "$lang" "$path"
}

legacy_s_client() {
    local lang=$1 path=/compat/s_client-$1 req=$WORK/ls-$lang.req
    legacy_start "$lang" || return 1
    printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$path" >"$req"
    spawn_fed "ls-$lang" "$req" /dev/null 1 \
        openssl s_client -connect "127.0.0.1:$LEG_PORT" -servername localhost -tls1_3 \
        -ciphersuites "$SUITE" -CAfile "$CERTS/ca.pem" -verify_return_error -quiet -nocommands
    finish "$SPAWN_PID"
    expected_body GET "$path" >"$WORK/ls-$lang.body"
    { printf 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n' \
        "$(size_of "$WORK/ls-$lang.body")"; cat "$WORK/ls-$lang.body"; } >"$WORK/ls-$lang.want"
    same_bytes "$WORK/ls-$lang.want" "$WORK/ls-$lang.out" "the response" "$WORK/ls-$lang.err" || return 1
    legacy_done "$lang" "$path"
}

section "legacy_https_server <-> curl, openssl s_client"
for lang in c c++; do
    run_case "legacy_https_server($lang).curl" legacy_curl "$lang"
    run_case "legacy_https_server($lang).s_client" legacy_s_client "$lang"
done

# ---- the current client -------------------------------------------------------------

# client NAME LANG IP PORT SERVER_NAME REQUEST [REPLY_BYTES]: one run, stdout in
# $WORK/NAME.out, stderr in NAME.err; sets CLI_RC (RC is the peers').
client() {
    local name=$1 bin=$WORK/current-$2
    shift 2
    [ -x "$bin" ] || { fail "$bin was not built"; return 1; }
    timeout "$T_TIMEOUT" "$bin" "$1" "$2" "$3" "$CERTS/ca.pem" "${@:4}" \
        >"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null
    CLI_RC=$?
}

client_ok() {   # client_ok NAME: exit 0, a verified certificate, TLS 1.3
    [ "$CLI_RC" -eq 0 ] || { fail "current_client exited with status $CLI_RC" "$WORK/$1.err"; return 1; }
    grep -qx "certificate status: OK" "$WORK/$1.err" ||
        { fail "the certificate callback did not see OK" "$WORK/$1.err"; return 1; }
    grep -q "^TLS minor version 4, cipher suite 0x" "$WORK/$1.err" ||
        { fail "not TLS 1.3" "$WORK/$1.err"; return 1; }
}

# Both directions byte for byte with s_server -quiet (it prints what it gets,
# and sends its stdin).
client_s_server() {
    local lang=$1 name=cs-$1
    start_peer_server "$name-srv" "$DATA_S2C" "$WORK/$name-srv.out" "$(size_of "$DATA_C2S")" \
        openssl s_server -accept "127.0.0.1:@PORT@" -naccept 1 -tls1_3 -quiet \
        -cert "$CERTS/server.pem" -key "$CERTS/server.key" ||
        { fail "s_server did not start" "$WORK/$name-srv.err"; return 1; }
    client "$name" "$lang" 127.0.0.1 "$PEER_PORT" localhost "$DATA_C2S" "$(size_of "$DATA_S2C")"
    finish_within "$PEER_PID" 2
    client_ok "$name" || return 1
    same_bytes "$DATA_C2S" "$WORK/$name-srv.out" "client to server" "$WORK/$name-srv.err" || return 1
    same_bytes "$DATA_S2C" "$WORK/$name.out" "server to client" "$WORK/$name.err"
}

# s_server -www answers a GET with its status page and closes: read to the end.
client_www() {
    local lang=$1 name=cw-$1 req=$WORK/cw-$1.req
    printf 'GET / HTTP/1.0\r\n\r\n' >"$req"
    start_peer_server "$name-srv" /dev/null /dev/null 1 \
        openssl s_server -accept "127.0.0.1:@PORT@" -naccept 1 -tls1_3 -www \
        -cert "$CERTS/server.pem" -key "$CERTS/server.key" ||
        { fail "s_server did not start" "$WORK/$name-srv.err"; return 1; }
    client "$name" "$lang" 127.0.0.1 "$PEER_PORT" localhost "$req"
    finish_within "$PEER_PID" 2
    client_ok "$name" || return 1
    head -n 1 "$WORK/$name.out" | grep -q "^HTTP/1.0 200 ok" ||
        { fail "no 'HTTP/1.0 200 ok'" "$WORK/$name.out"; return 1; }
    grep -q "Protocol  : TLSv1.3" "$WORK/$name.out" ||
        { fail "s_server's page does not say TLSv1.3" "$WORK/$name.out"; return 1; }
}

# The two generations against each other, both through nktls.
client_legacy() {
    local lang=$1 name=cl-$1 path=/compat/cross-$1 req=$WORK/cl-$1.req
    legacy_start c || return 1
    printf 'GET %s HTTP/1.0\r\n\r\n' "$path" >"$req"
    client "$name" "$lang" 127.0.0.1 "$LEG_PORT" localhost "$req"
    client_ok "$name" || return 1
    expected_body GET "$path" >"$WORK/$name.body"
    { printf 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n' \
        "$(size_of "$WORK/$name.body")"; cat "$WORK/$name.body"; } >"$WORK/$name.want"
    same_bytes "$WORK/$name.want" "$WORK/$name.out" "the response" "$WORK/$name.err" || return 1
    legacy_done c "$path"
}

# A certificate for another name: the callback sees the mismatch, refuses it,
# and the client ends with that error having sent nothing.
client_wrong_name() {
    local lang=$1 name=cn-$1
    start_peer_server "$name-srv" /dev/null "$WORK/$name-srv.out" 1 \
        openssl s_server -accept "127.0.0.1:@PORT@" -naccept 1 -tls1_3 -quiet \
        -cert "$CERTS/server.pem" -key "$CERTS/server.key" ||
        { fail "s_server did not start" "$WORK/$name-srv.err"; return 1; }
    client "$name" "$lang" 127.0.0.1 "$PEER_PORT" wrong.example "$DATA_C2S"
    finish_within "$PEER_PID" 2
    [ "$CLI_RC" -eq 1 ] || { fail "current_client exited with status $CLI_RC, want 1" "$WORK/$name.err"; return 1; }
    grep -qx "certificate status: ERR_CERT_HOSTNAME_MISMATCH" "$WORK/$name.err" ||
        { fail "the callback did not see ERR_CERT_HOSTNAME_MISMATCH" "$WORK/$name.err"; return 1; }
    [ ! -s "$WORK/$name-srv.out" ] || { fail "the server received data" "$WORK/$name-srv.out"; return 1; }
}

# TCP_CONNECT to nothing listening: the SDK's code for it, before any TLS.
client_refused() {
    local lang=$1 name=cr-$1 port
    port=$(pick_port)
    client "$name" "$lang" 127.0.0.1 "$port" localhost "$DATA_C2S"
    [ "$CLI_RC" -eq 1 ] || { fail "current_client exited with status $CLI_RC, want 1" "$WORK/$name.err"; return 1; }
    grep -qx "current_client: ERR_TCP_CONNECT_ERROR" "$WORK/$name.err" ||
        { fail "no ERR_TCP_CONNECT_ERROR" "$WORK/$name.err"; return 1; }
}

section "current_client <-> openssl s_server, legacy_https_server"
for lang in c c++; do
    run_case "current_client($lang).s_server.data_both_ways" client_s_server "$lang"
    run_case "current_client($lang).s_server.www" client_www "$lang"
    run_case "current_client($lang).legacy_https_server" client_legacy "$lang"
    run_case "current_client($lang).s_server.wrong_name_refused" client_wrong_name "$lang"
    run_case "current_client($lang).connect_refused" client_refused "$lang"
done

tap_done
