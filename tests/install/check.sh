#!/usr/bin/env bash
# tests/install/check.sh — `meson install` lays out what an application needs:
# the headers in the NanoSSL layout, the libraries and nktls.pc; a program
# written the NanoSSL way then builds with pkg-config alone and runs, against
# the shared library and against the static one. TAP on stdout.
#
#   tests/install/check.sh BUILD_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
n=0 failed=0
check() {   # check NAME COMMAND...
    local name=$1
    shift
    n=$((n + 1))
    if "$@" >"$work/out" 2>&1; then
        echo "ok $n - $name"
    else
        sed 's/^/# /' "$work/out" | tail -n 15
        echo "not ok $n - $name"
        failed=1
    fi
}

check "meson install into a staging root" env DESTDIR="$work/root" meson install -C "$build" --no-rebuild
prefix=$(meson introspect --buildoptions "$build" | python3 -c \
    'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
libdir=$(meson introspect --buildoptions "$build" | python3 -c \
    'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "libdir"))')
root=$work/root$prefix
pc=$(dirname "$(find "$root" -name nktls.pc | head -n 1)")
# The README tells users PKG_CONFIG_PATH=<prefix>/<libdir>/pkgconfig (on Debian
# x86_64 <libdir> is lib/x86_64-linux-gnu): the .pc must be exactly there.
check "nktls.pc is in <prefix>/$libdir/pkgconfig" test -f "$root/$libdir/pkgconfig/nktls.pc"
for h in common/mocana.h common/mtypes.h common/merrors.h common/moptions.h common/mdefs.h \
         common/mtcp.h common/mrtos.h common/random.h common/vlong.h crypto/ca_mgmt.h \
         crypto/cert_store.h crypto/hw_accel.h crypto/crypto.h crypto/pubcrypto.h \
         asn1/oiddefs.h ssl/ssl.h nktls.h srtp.h; do
    check "header include/nktls/$h installed" test -f "$root/include/nktls/$h"
done

cat >"$work/app.c" <<'C'
#include <stdio.h>
#include <string.h>
#include "common/moptions.h"
#include "common/mtypes.h"
#include "common/merrors.h"
#include "common/mocana.h"
#include "crypto/ca_mgmt.h"
#include "crypto/cert_store.h"
#include "ssl/ssl.h"
int main(void)
{
    certStorePtr store = NULL;
    if (MOCANA_initMocana() != OK || SSL_init(4, 4) != OK || CERT_STORE_createStore(&store) != OK)
        return 1;
    /* A stale handle is recognised; error codes have their names. */
    if (SSL_closeConnection(12345) != ERR_SSL_BAD_ID)
        return 2;
    if (strcmp((const char *)MERROR_lookUpErrorCode(ERR_SSL_BAD_ID), "ERR_SSL_BAD_ID") != 0)
        return 3;
    CERT_STORE_releaseStore(&store);
    SSL_shutdownStack();
    SSL_releaseTables();
    MOCANA_freeMocana();
    puts("app ok");
    return 0;
}
C
# The .pc names the final prefix; point it at the staging root instead.
export PKG_CONFIG_PATH=$pc
check "pkg-config knows nktls" pkg-config --exists nktls
check "application builds with pkg-config (shared)" \
    sh -c "cc -o '$work/app' '$work/app.c' $(pkg-config --define-variable=prefix="$root" --cflags --libs nktls)"
check "application runs against the installed shared library" \
    env LD_LIBRARY_PATH="$(dirname "$(find "$root" -name 'libnktls.so*' | head -n 1)")" "$work/app"
check "application builds with pkg-config (static)" \
    sh -c "cc -o '$work/app-static' '$work/app.c' $(pkg-config --define-variable=prefix="$root" --cflags nktls) \
        '$(find "$root" -name libnktls.a | head -n 1)' $(pkg-config --define-variable=prefix="$root" --libs --static nktls | sed 's/-lnktls//')"
check "application runs from the static library" "$work/app-static"

# The installed programs run with no LD_LIBRARY_PATH: their rpath names the
# library directory relative to themselves, so even this staged copy finds its
# own libnktls (not a system one), and an installed server and client talk.
found_lib=$(env -u LD_LIBRARY_PATH ldd "$root/bin/nktls-server" 2>/dev/null |
    awk '$1 == "libnktls.so.0" { print $3 }')
echo "# ldd: the installed nktls-server loads ${found_lib:-no libnktls.so.0}"
check "installed nktls-server's rpath finds the installed libnktls.so.0" \
    test "$(realpath -q "${found_lib:-/nonexistent}")" = "$(realpath "$root/$libdir/libnktls.so.0")"
if "$src/scripts/gen-certs" "$work/certs" >/dev/null 2>&1; then
    port=$((20000 + RANDOM % 30000))
    LD_LIBRARY_PATH= "$root/bin/nktls-server" --listen "127.0.0.1:$port" \
        --cert "$work/certs/server.pem" --key "$work/certs/server.key" >"$work/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 50); do
        ss -Htln "sport = :$port" 2>/dev/null | grep -q . && break
        sleep 0.1
    done
    check "installed nktls-client and nktls-server, LD_LIBRARY_PATH empty, echo a line" \
        sh -c "echo 'installed echo' | LD_LIBRARY_PATH= timeout 20 '$root/bin/nktls-client' \
            --connect 127.0.0.1:$port --servername localhost --ca '$work/certs/ca.pem' |
            grep -qx 'installed echo'"
    kill "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
else
    check "scripts/gen-certs for the installed programs' check" false
fi

# Glue written for the SDK tests its feature flags: those nktls provides are set
# by the headers (either spelling), a -D of the same flag from an SDK build
# file does not clash, and none names a part nktls lacks.
cat >"$work/flags.c" <<'C'
#include "common/mocana.h"
#include "ssl/ssl.h"
#if !defined(__ENABLE_MOCANA_PEM_CONVERSION__) || !defined(__ENABLE_DIGICERT_PEM_CONVERSION__) \
    || !defined(__ENABLE_MOCANA_DER_CONVERSION__) || !defined(__ENABLE_MOCANA_SSL_ALERTS__) \
    || !defined(__ENABLE_MOCANA_SSL_MUTUAL_AUTH_SUPPORT__) || !defined(__ENABLE_MOCANA_TLS13__) \
    || !defined(__ENABLE_MOCANA_TLS13_PSK__) || !defined(__ENABLE_MOCANA_SSL_ASYNC_CLIENT_API__) \
    || !defined(__ENABLE_MOCANA_SSL_ASYNC_SERVER_API__) || !defined(__ENABLE_MOCANA_SSL_CLIENT__) \
    || !defined(__ENABLE_MOCANA_SSL_SERVER__) || !defined(__ENABLE_MOCANA_SSL_DUAL_MODE_API__) \
    || !defined(__ENABLE_MOCANA_SSL_PSK_SUPPORT__) || !defined(__ENABLE_DIGICERT_SSL_PSK_SUPPORT__)
#error a feature nktls provides is not flagged
#endif
#if __ENABLE_MOCANA_TLS13__ != 1 || __ENABLE_DIGICERT_SSL_CLIENT__ != 1
#error flags are not usable in #if
#endif
#if defined(__ENABLE_MOCANA_DTLS_CLIENT__) || defined(__ENABLE_MOCANA_SSL_ECDHE_SUPPORT__) \
    || defined(__ENABLE_MOCANA_EXTRACT_CERT_BLOB__) \
    || defined(__ENABLE_MOCANA_SSL_REHANDSHAKE__) || defined(__ENABLE_MOCANA_SSL_KEY_EXPANSION__)
#error a feature nktls lacks is flagged
#endif
int main(void)
{
#if defined(__ENABLE_MOCANA_SSL_ALERTS__)
    sbyte4 id = 0, cls = 0;
    return SSL_lookupAlert(1, ERR_SSL_BAD_ID, &id, &cls) == ERR_SSL_BAD_ID ? 0 : 1;
#endif
}
C
check "feature flags: set for what nktls provides, -D of the same flag accepted" \
    sh -c "cc -Wall -Werror -c -o '$work/flags.o' '$work/flags.c' -D__ENABLE_MOCANA_SSL_CLIENT__ \
        -D__ENABLE_MOCANA_TLS13__ $(pkg-config --define-variable=prefix="$root" --cflags nktls)"

# ---- C++ ----------------------------------------------------------------------
# Every installed header compiles alone, as C and as C++, in both API
# generations, with every warning an error; and a C++ program that takes the
# address of every call nktls.map exports, through the headers, links: a
# declaration outside extern "C" would be a mangled name the library lacks.
cflags=$(pkg-config --define-variable=prefix="$root" --cflags nktls)
libs=$(pkg-config --define-variable=prefix="$root" --libs nktls)
headers=$(cd "$root/include/nktls" && find . -name '*.h' | sed 's|^\./||' | sort)
for gen in current legacy; do
    def=""
    [ "$gen" = legacy ] && def="-DNKTLS_NANOSSL_LEGACY_API"
    for h in $headers; do
        printf '#include "%s"\nint nktls_header_check;\n' "$h" >"$work/h.c"
        check "$h alone as C ($gen generation)" \
            sh -c "cc -std=c99 -Wall -Wextra -Werror -pedantic $def -c -o /dev/null '$work/h.c' $cflags"
        check "$h alone as C++ ($gen generation)" \
            sh -c "c++ -x c++ -std=c++11 -Wall -Wextra -Werror -pedantic $def -c -o /dev/null '$work/h.c' $cflags"
    done
done

# calls_program FILE DEFINE NAMES...: a program holding the address of each call.
calls_program() {
    local file=$1 def=$2 h name
    shift 2
    {
        [ -n "$def" ] && echo "#define $def"
        for h in $headers; do echo "#include \"$h\""; done
        echo '#ifdef __cplusplus'
        echo 'typedef void (*any_fn)(void);'
        echo '#define FN(f) reinterpret_cast<any_fn>(&f)'
        echo '#else'
        echo 'typedef void (*any_fn)(void);'
        echo '#define FN(f) ((any_fn)&f)'
        echo '#endif'
        echo 'static const any_fn every_call[] = {'
        for name in "$@"; do echo "    FN($name),"; done
        echo '};'
        echo 'int main(void) { return every_call[0] == 0; }'
    } >"$file"
}
names=$(awk '/global:/ { g = 1; next } /local:/ { g = 0 }
             g && /^[[:space:]]*[A-Za-z0-9_]+;/ { gsub(/[[:space:];]/, ""); print }' "$src/nktls.map")
# The legacy entry points are reached through the legacy declarations, by the
# names legacy code calls them.
legacy_names="SSL_acceptConnection SSL_ASYNC_acceptConnection SSL_connect SSL_ASYNC_connect
    SSL_initServerCert SSL_ASYNC_initServer SSL_assignCertificateStore SSL_shutdown
    SSL_setServerNameList SSL_getCookie SSL_setCookie SSL_getSocketId MOCANA_readFile MOCANA_writeFile"
# shellcheck disable=SC2086
calls_program "$work/calls.cc" "" $(echo "$names" | grep -v '^NKTLS_legacy_')
# shellcheck disable=SC2086
calls_program "$work/legacy_calls.cc" NKTLS_NANOSSL_LEGACY_API $legacy_names
libdir=$(dirname "$(find "$root" -name 'libnktls.so*' | head -n 1)")
for prog in calls legacy_calls; do
    check "C++ program calling every exported call ($prog) links" \
        sh -c "c++ -x c++ -std=c++11 -Wall -Wextra -Werror -o '$work/$prog' '$work/$prog.cc' -x none $cflags $libs"
    check "... and every call resolves at load time ($prog)" \
        env LD_LIBRARY_PATH="$libdir" LD_BIND_NOW=1 "$work/$prog"
    check "the same program as C links ($prog)" \
        sh -c "cc -x c -std=c99 -Wall -Wextra -Werror -o '$work/$prog-c' '$work/$prog.cc' -x none $cflags $libs"
done
check "the legacy calls bind to the legacy symbols" \
    sh -c "nm -D '$work/legacy_calls' | grep -q 'U NKTLS_legacy_SSL_acceptConnection' &&
           nm -D '$work/legacy_calls' | grep -q 'U NKTLS_legacy_MOCANA_readFile'"
echo "1..$n"
exit $failed
