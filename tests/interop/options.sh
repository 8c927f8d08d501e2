#!/usr/bin/env bash
# tests/interop/options.sh — every option each program's --help names is one
# the program takes: a long option in the usage text that the option table
# lacks (options are easy to lose when two changes each add some) would make
# the program answer "unknown option". Each is given a value where it takes
# one; only the "unknown option" answer fails. Prints TAP.

# shellcheck source=tests/interop/lib.sh
. "$(dirname "$0")/lib.sh"

require_nktls
NK_LOAD=$NKTLS_BUILD/examples/nktls-load

# check PROG: one case per long option in PROG --help.
check() {
    local prog=$1 name opt out
    name=$(basename "$prog")
    for opt in $("$prog" --help 2>&1 | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u); do
        out=$(timeout 5 "$prog" "$opt" 1 </dev/null 2>&1 >/dev/null || true)
        if grep -q "unknown option" <<<"$out"; then
            tap_fail "$name $opt" "$out"
        else
            tap_ok "$name $opt"
        fi
    done
}

for p in "$NK_SERVER" "$NK_CLIENT" "$NK_LOAD" "$NKTLS_BUILD/examples/nktls-srtp-echo"; do
    check "$p"
done
tap_done
