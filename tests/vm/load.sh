#!/bin/sh
# tests/vm/load.sh — nktls-load's kernel TLS path, in the kTLS VM: nktls-load
# --ktls auto against nktls-server --ktls auto, byte-checked bulk mode (and
# a keep-alive request run) on both loop backends; every connection must
# report kernel TX and RX on the load side, and the kernel's own counters
# must show both ends offloaded. --ktls off is the control. TAP on stdout.
#
#   tests/vm/load.sh [VM-TEST OPTIONS]
#
# On the host it makes test certificates and runs itself under
# scripts/vm-test with the two programs (options such as --timeout or
# --verbose are passed on); in the VM (NKTLS_IN_VM=1) it runs the checks.
# NKTLS_BUILD names the build directory (default: build/ in the tree).
set -eu

if [ "${NKTLS_IN_VM:-}" != 1 ]; then
    root=$(cd "$(dirname "$0")/../.." && pwd)
    build=${NKTLS_BUILD:-$root/build}
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    "$root/scripts/gen-certs" "$tmp/certs" >"$tmp/gen-certs.log" 2>&1 ||
        { echo "1..0 # gen-certs failed"; cat "$tmp/gen-certs.log" >&2; exit 1; }
    rc=0
    "$root/scripts/vm-test" --timeout 300 --dir "$tmp/certs" \
        --file "$build/examples/nktls-server" --file "$build/examples/nktls-load" "$@" \
        -- "$root/tests/vm/load.sh" "$tmp/certs" "$build/examples" || rc=$?
    exit "$rc"
fi

certs=$1
bin=$2
work=/tmp/load
mkdir -p "$work"
n=0
failed=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
    n=$((n + 1))
    failed=1
    echo "# $1: $2"
    shift 2
    for f in "$@"; do
        [ -s "$f" ] && sed 's/^/#   /' "$f" | tail -n 15
    done
    echo "not ok $n - $1"
}

# jnum FILE KEY: a top-level number of the JSON report (one key per line).
jnum() { sed -n "s/^  \"$2\": \([0-9]*\),\$/\1/p" "$1"; }
jstr() { sed -n "s/^  \"$2\": \"\(.*\)\",\$/\1/p" "$1"; }
errors_total() { sed -n 's/^  "errors": {"total": \([0-9]*\),.*/\1/p' "$1"; }

# tls_stat NAME: a counter of /proc/net/tls_stat.
tls_stat() { awk -v k="$1" '$1 == k { print $2 }' /proc/net/tls_stat; }

echo "# kernel $(uname -r)"
"$bin/nktls-server" --listen 127.0.0.1:0 --cert "$certs/server.pem" --key "$certs/server.key" \
    --ktls auto >"$work/server.log" 2>&1 &
srv=$!
trap 'kill $srv 2>/dev/null' EXIT
port=""
i=0
while [ -z "$port" ] && [ $i -lt 100 ]; do
    port=$(sed -n 's/^listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$work/server.log")
    [ -n "$port" ] || sleep 0.1
    i=$((i + 1))
done
if [ -z "$port" ]; then
    not_ok "nktls-server started" "no 'listening on' line" "$work/server.log"
    echo "1..$n"
    exit 1
fi

# run NAME WANT_KERNEL ARGS...: nktls-load with ARGS; checks exit 0, no
# errors, and that WANT_KERNEL (1: every, 0: no) connection had kernel TX and RX.
run() {
    name=$1 want=$2
    shift 2
    rc=0
    tx0=$(tls_stat TlsTxSw) rx0=$(tls_stat TlsRxSw)
    timeout 120 "$bin/nktls-load" --connect "127.0.0.1:$port" --servername localhost \
        --ca "$certs/ca.pem" --json "$work/$name.json" "$@" >"$work/$name.txt" 2>&1 || rc=$?
    f=$work/$name.json
    if [ "$rc" != 0 ] || [ "$(errors_total "$f")" != 0 ]; then
        not_ok "$name" "status $rc, $(errors_total "$f") errors" "$work/$name.txt"
        return 1
    fi
    hs=$(jnum "$f" handshakes)
    if [ "$want" = 1 ]; then
        want_n=$hs
    else
        want_n=0
    fi
    if [ "$(jnum "$f" ktls_tx)" != "$want_n" ] || [ "$(jnum "$f" ktls_rx)" != "$want_n" ]; then
        not_ok "$name" "kernel tx $(jnum "$f" ktls_tx), rx $(jnum "$f" ktls_rx) of $hs connections, wanted $want_n" "$work/$name.txt"
        return 1
    fi
    # Both ends offloaded: the kernel counts each side's socket.
    if [ "$want" = 1 ] && { [ $(($(tls_stat TlsTxSw) - tx0)) -lt $((2 * hs)) ] ||
                            [ $(($(tls_stat TlsRxSw) - rx0)) -lt $((2 * hs)) ]; }; then
        not_ok "$name" "tls_stat: TlsTxSw +$(($(tls_stat TlsTxSw) - tx0)), TlsRxSw +$(($(tls_stat TlsRxSw) - rx0)), wanted +$((2 * hs)) each" "$work/$name.txt" /proc/net/tls_stat
        return 1
    fi
    echo "# $name: $(jstr "$f" backend), $hs connections, kernel tx $(jnum "$f" ktls_tx) rx $(jnum "$f" ktls_rx)"
    return 0
}

# run_bulk NAME WANT_KERNEL ARGS...: bulk mode, every byte echoed and checked.
run_bulk() {
    name=$1
    run "$@" --mode bulk --size 1048576 --count 8 --concurrency 4 --threads 2 || return 0
    if [ "$(jnum "$work/$name.json" bytes_in)" != $((8 * 1048576)) ] ||
       [ "$(jnum "$work/$name.json" operations)" != 8 ]; then
        not_ok "$name" "$(jnum "$work/$name.json" operations) operations, $(jnum "$work/$name.json" bytes_in) bytes back" "$work/$name.txt"
        return 0
    fi
    ok "$name"
}

run_bulk load.ktls.bulk.io_uring 1 --ktls auto
export NKTLS_IO=epoll
run_bulk load.ktls.bulk.epoll 1 --ktls auto
unset NKTLS_IO
if run load.ktls.request 1 --ktls auto --mode request --request 'ping\n' --count 200 --concurrency 2; then
    if [ "$(jnum "$work/load.ktls.request.json" replies_ok)" = 200 ]; then
        ok load.ktls.request
    else
        not_ok load.ktls.request "$(jnum "$work/load.ktls.request.json" replies_ok) of 200 replies" "$work/load.ktls.request.txt"
    fi
fi
run_bulk load.ktls.off 0 --ktls off

kill $srv 2>/dev/null
echo "1..$n"
[ "$failed" = 0 ]
