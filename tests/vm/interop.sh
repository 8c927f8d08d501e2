#!/usr/bin/env bash
# tests/vm/interop.sh — runs an interop script (tests/interop/NAME.sh) inside
# the kTLS VM, where nktls-server and nktls-client hand their keys to the
# kernel: the real peers (openssl, curl) then talk to kernel-carried records.
#
#   tests/vm/interop.sh NAME [VM-TEST OPTIONS]
#
# The scripts notice NKTLS_IN_VM=1 and also check that the kernel carried the
# records (the examples' -v "record layer" lines). Output is the script's TAP.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
name=$1
shift
script=$root/tests/interop/$name.sh
[ -f "$script" ] || { echo "tests/vm/interop.sh: no $script" >&2; exit 2; }
build=${NKTLS_BUILD:-$root/build}

# The tools the interop scripts call, beyond busybox's applets.
tools=(/bin/bash /usr/bin/openssl /usr/bin/timeout /usr/bin/mktemp /usr/bin/sha256sum
       /usr/bin/head /usr/bin/cmp /usr/bin/seq /usr/bin/stat /usr/bin/sort /usr/bin/env
       /usr/bin/tr /usr/bin/truncate /usr/bin/cut)
[ -x /usr/bin/curl ] && tools+=(/usr/bin/curl)
args=()
for t in "${tools[@]}"; do
    [ -e "$t" ] && args+=(--file "$t")
done
# openssl's configuration and providers
[ -d /usr/lib/ssl ] && args+=(--dir /usr/lib/ssl)
[ -d /etc/ssl ] && args+=(--dir /etc/ssl)

exec "$root/scripts/vm-test" --timeout 900 "${args[@]}" \
    --dir "$root/tests/interop" --dir "$root/scripts" \
    --file "$build/examples/nktls-server" --file "$build/examples/nktls-client" \
    --env "NKTLS_BUILD=$build" --env "NKTLS_INTEROP_TIMEOUT=30" "$@" -- /bin/bash "$script"
