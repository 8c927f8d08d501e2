#!/usr/bin/env bash
# tests/readme/check.sh — the README's API tour is code that works: every fenced
# C block in README.md whose first line is a comment naming a file
# ("/* tour_server.c: ...") is extracted as that file, compiled against the
# build tree with every warning an error, and run: tour_server serves a file on
# the event loop, tour_client fetches it (several at once, so both workers
# serve), and the bytes must be the file's. So the README cannot drift from the
# API. TAP on stdout.
#
#   tests/readme/check.sh BUILD_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
server_pid=""
trap '[ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null; rm -rf "$work"' EXIT
n=0 failed=0
check() {   # check NAME COMMAND...
    local name=$1
    shift
    n=$((n + 1))
    if "$@" >"$work/out" 2>&1; then
        echo "ok $n - $name"
    else
        sed 's/^/# /' "$work/out" | tail -n 25
        echo "not ok $n - $name"
        failed=1
    fi
}

# The marked blocks, each written to $work/src/NAME; their names on stdout.
mkdir -p "$work/src"
python3 - "$src/README.md" "$work/src" >"$work/names" <<'PY'
import re, sys
readme, out = sys.argv[1], sys.argv[2]
block, name = None, None
for line in open(readme, encoding="utf-8"):
    if block is None:
        if line.rstrip() == "```c":
            block = []
        continue
    if line.rstrip() == "```":
        m = re.match(r"/\* ([A-Za-z0-9_]+\.c): ", block[0]) if block else None
        if m:
            open(f"{out}/{m.group(1)}", "w").write("".join(block))
            print(m.group(1))
        block = None
    else:
        block.append(line)
PY
for f in tour_server.c tour_client.c; do
    check "README.md has the block $f" grep -qx "$f" "$work/names"
done

# Compiled as a user compiles them, against this build's headers and library.
cflags="-I$src/include/nktls"
libs="-L$build -Wl,-rpath,$build -lnktls"
for f in $(cat "$work/names"); do
    check "$f compiles and links (-Wall -Wextra -Werror)" \
        sh -c "cc -Wall -Wextra -Werror -o '$work/${f%.c}' '$work/src/$f' $cflags $libs"
done
[ -x "$work/tour_server" ] && [ -x "$work/tour_client" ] || { echo "1..$n"; exit 1; }

check "scripts/gen-certs" "$src/scripts/gen-certs" "$work/certs"
# Not a multiple of the loop's 64 KiB reads, so the last read is a short one.
head -c 300001 /dev/urandom >"$work/file"

"$work/tour_server" "$work/certs/server.pem" "$work/certs/server.key" "$work/file" 0 \
    >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
port=""
for _ in $(seq 100); do
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$work/server.out")
    [ -n "$port" ] || ! kill -0 "$server_pid" 2>/dev/null && break
    sleep 0.1
done
check "tour_server listens and says on which port" test -n "$port"

if [ -n "$port" ]; then
    for i in 1 2 3 4; do
        timeout 30 "$work/tour_client" "$work/certs/ca.pem" "$port" >"$work/copy$i" \
            2>"$work/client$i.err" &
        pids[i]=$!
    done
    for i in 1 2 3 4; do
        check "tour_client $i ends cleanly (the server's close_notify)" wait "${pids[i]}"
        check "tour_client $i received the file byte for byte" cmp "$work/file" "$work/copy$i"
    done
    check "a client that does not trust the server's CA is refused" \
        sh -c "! timeout 30 '$work/tour_client' '$work/certs/other-ca.pem' $port >/dev/null"
    check "tour_server said for each connection which record layer sent the file" \
        test "$(grep -cE '^connection [0-9]+: tx (kernel|software, .+)$' "$work/server.err")" -ge 4
    kill -TERM "$server_pid"
    check "tour_server stops at SIGTERM and exits 0" wait "$server_pid"
    server_pid=""
fi
sed 's/^/# server: /' "$work/server.err" | head -n 8
echo "1..$n"
exit $failed
