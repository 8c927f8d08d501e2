#!/bin/sh
# tests/vm/smoke.sh — proves the VM runner: boots the kTLS VM and checks, from
# inside, that the kernel takes TLS keys for every suite and carries the
# records (TAP on stdout).
#
#   tests/vm/smoke.sh [VM-TEST OPTIONS]
#
# On the host it builds tests/vm/ulp_probe.c into a temporary folder and runs
# itself under scripts/vm-test with the probe (options such as --timeout or
# --verbose are passed on). In the VM (NKTLS_IN_VM=1) it is called with the
# probe's path and runs the checks. Exit status: 0 when every check passed.
set -eu

if [ "${NKTLS_IN_VM:-}" != 1 ]; then
    root=$(cd "$(dirname "$0")/../.." && pwd)
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    gcc -std=c11 -O2 -Wall -Wextra -o "$tmp/ulp_probe" "$root/tests/vm/ulp_probe.c" -lcrypto
    rc=0
    "$root/scripts/vm-test" --file "$tmp/ulp_probe" "$@" -- "$root/tests/vm/smoke.sh" "$tmp/ulp_probe" || rc=$?
    exit "$rc"
fi

probe=$1
echo "# kernel $(uname -r)"
if [ -r /proc/net/tls_stat ]; then
    echo "ok 1 - /proc/net/tls_stat exists"
    first=0
else
    echo "not ok 1 - /proc/net/tls_stat exists"
    first=1
fi
rc=0
"$probe" 2 || rc=$?

# Which implementation the kernel picked for each AEAD the probe used (the
# accelerated x86 modules, or the generic templates): worth knowing when
# reading benchmark figures from this VM.
for alg in 'gcm(aes)' 'ccm(aes)' 'rfc7539(chacha20,poly1305)'; do
    awk -v alg="$alg" '
        $1 == "name" { name = $3 }
        $1 == "driver" { driver = $3 }
        $1 == "priority" && name == alg && $3 > best { best = $3; pick = driver }
        END { printf "# %s: %s\n", alg, pick ? pick " (priority " best ")" : "not instantiated" }
    ' /proc/crypto
done
[ "$first" = 0 ] && [ "$rc" = 0 ]
