#!/usr/bin/env bash
# tests/install/check.sh — `meson install` lays out what an application needs:
# the headers in the NanoSSL layout, the libraries and nktls.pc; a program
# written the NanoSSL way then builds with pkg-config alone and runs, against
# the shared library and against the static one. TAP on stdout.
#
#   tests/install/check.sh BUILD_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
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
root=$work/root$prefix
pc=$(dirname "$(find "$root" -name nktls.pc | head -n 1)")
for h in common/mocana.h common/mtypes.h common/merrors.h common/moptions.h common/mdefs.h \
         common/mtcp.h common/mrtos.h common/random.h common/vlong.h crypto/ca_mgmt.h \
         crypto/cert_store.h crypto/hw_accel.h crypto/crypto.h crypto/pubcrypto.h \
         asn1/oiddefs.h ssl/ssl.h nktls.h; do
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
echo "1..$n"
exit $failed
