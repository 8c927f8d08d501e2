#!/usr/bin/env bash
# tests/interop/files.sh — nktls-server --root on every --io backend (uring,
# epoll, threads): GET, HEAD, a byte range and 404 each; a small keep-alive
# response leaves as one TLS record (head and body together, counted on a raw
# client); and, on the event loop, thousands of stalled clients (half a
# ClientHello, half a request head, one byte a second) neither lock out a
# normal client nor stay: the handshake timeout and the request-head deadline
# (which no trickle of bytes moves) close every one. Prints TAP.

# shellcheck source=tests/interop/lib.sh
. "$(dirname "$0")/lib.sh"

require_tool curl sha256sum python3 ss
require_nktls
if ! certs_init; then
    tap_fail "certificates generated" "scripts/gen-certs failed"
    tap_done
    exit 1
fi

ROOT=$WORK/www
mkdir -p "$ROOT"
printf 'small file\n' >"$ROOT/small.txt"
head -c 300000 /dev/urandom >"$ROOT/big"
SRV_BASE=(--cert "$CERTS/server.pem" --key "$CERTS/server.key" --root "$ROOT" -v)

sha() { sha256sum "$1" | cut -d' ' -f1; }

# fetch NAME PATH CURL_ARGS...: body in $WORK/NAME.body; sets RC, CODE, GOT.
fetch() {
    local name=$1 path=$2 w
    shift 2
    w=$(timeout "$T_TIMEOUT" curl -sS --cacert "$CERTS/ca.pem" \
        --resolve "localhost:$NK_PORT:127.0.0.1" -o "$WORK/$name.body" \
        -w '%{http_code} %{size_download}' "$@" "https://localhost:$NK_PORT$path" 2>"$WORK/$name.err")
    RC=$?
    CODE=${w%% *} GOT=${w##* }
}

expect() {
    local name=$1 code=$2 bytes=$3
    [ "$RC" -eq 0 ] || { fail "curl exited with status $RC" "$WORK/$name.err" "$NK_LOG"; return 1; }
    [ "$CODE" = "$code" ] || { fail "HTTP status $CODE, expected $code" "$NK_LOG"; return 1; }
    [ "$GOT" = "$bytes" ] || { fail "$GOT body bytes, expected $bytes" "$NK_LOG"; return 1; }
}

server_alive() {
    alive "$NK_PID" || { fail "nktls-server died" "$NK_LOG"; return 1; }
}

srv() {
    local io=$1
    shift
    nk_server_ensure "files-$io" "${SRV_BASE[@]}" --io "$io" "$@" ||
        { fail "nktls-server --root --io $io did not start" "$NK_LOG"; return 1; }
}

# ---- every backend ------------------------------------------------------------

get_big() {
    srv "$1" || return 1
    fetch get /big
    expect get 200 300000 || return 1
    [ "$(sha "$WORK/get.body")" = "$(sha "$ROOT/big")" ] || { fail "body differs" "$NK_LOG"; return 1; }
}

head_small() {
    srv "$1" || return 1
    fetch head /small.txt -I
    expect head 200 0 || return 1
    grep -qi '^Content-Length: 11' "$WORK/head.body" || { fail "no Content-Length: 11" "$WORK/head.body"; return 1; }
}

range_big() {
    srv "$1" || return 1
    fetch range /big -r 1000-1999
    expect range 206 1000 || return 1
    cmp -s "$WORK/range.body" <(tail -c +1001 "$ROOT/big" | head -c 1000) || { fail "range bytes differ"; return 1; }
}

not_found() {
    srv "$1" || return 1
    fetch nf /missing
    expect nf 404 14
}

# ---- one record: a raw TLS client counts the records that carry the answer ----

cat >"$WORK/records.py" <<'PY'
# records.py PORT CA PATH: two keep-alive GETs of PATH on one connection; prints
# how many TLS records carried the second answer, and the answer's byte count.
import socket, ssl, sys
port, ca, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = ctx.wrap_bio(inc, out, server_hostname="localhost")
sock = socket.create_connection(("127.0.0.1", port), timeout=10)
pending = b""

def flush():
    data = out.read()
    if data:
        sock.sendall(data)

def feed_record():
    """One whole record from the socket into the TLS object."""
    global pending
    while len(pending) < 5 or len(pending) < 5 + int.from_bytes(pending[3:5], "big"):
        d = sock.recv(65536)
        if not d:
            sys.exit("server closed the connection")
        pending += d
    n = 5 + int.from_bytes(pending[3:5], "big")
    inc.write(pending[:n])
    pending = pending[n:]

def answer():
    """Read one HTTP answer; return (records that carried bytes of it, bytes)."""
    got, records = b"", 0
    while True:
        head_end = got.find(b"\r\n\r\n")
        if head_end >= 0:
            length = 0
            for line in got[:head_end].split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                if k.strip().lower() == b"content-length":
                    length = int(v)
            if len(got) >= head_end + 4 + length:
                return records, len(got)
        feed_record()
        before = len(got)
        try:
            while True:
                got += tls.read(65536)
        except ssl.SSLWantReadError:
            pass
        records += len(got) > before

while True:
    try:
        tls.do_handshake()
        break
    except ssl.SSLWantReadError:
        flush()
        feed_record()
flush()
req = ("GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % path).encode()
for i in range(2):      # the first also takes the session tickets
    tls.write(req)
    flush()
    records, n = answer()
print(records, n)
PY

one_record() {
    local out
    srv "$1" || return 1
    out=$(timeout "$T_TIMEOUT" python3 "$WORK/records.py" "$NK_PORT" "$CERTS/ca.pem" /small.txt 2>"$WORK/records.err") ||
        { fail "raw client failed" "$WORK/records.err" "$NK_LOG"; return 1; }
    # A head of ~200 bytes and an 11-byte body: one record, not two.
    [ "${out%% *}" = 1 ] || { fail "the answer came in ${out%% *} records, expected 1 ($out)" "$NK_LOG"; return 1; }
}

# ---- stalled clients ------------------------------------------------------------

cat >"$WORK/stall.py" <<'PY'
# stall.py PORT CA N_RAW N_HALF N_DRIP READY HOLD: N_RAW TCP connections send half a
# ClientHello, N_HALF TLS connections half a request head, N_DRIP TLS connections
# one byte of a head a second; all then stall. Touches READY when all are open,
# then waits up to HOLD seconds for the server to close every one. Prints
# "closed RAW HALF DRIP max_drip_bytes" and exits 0 when all were closed.
import os, selectors, socket, ssl, sys, threading, time
port, ca = int(sys.argv[1]), sys.argv[2]
n_raw, n_half, n_drip = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
ready, hold = sys.argv[6], float(sys.argv[7])
ctx = ssl.create_default_context(cafile=ca)

def tls_conn(first):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                        server_hostname="localhost")
    s.sendall(first)
    return s

drip = [tls_conn(b"GET /small.txt HTTP/1.1\r\n") for _ in range(n_drip)]
half = [tls_conn(b"GET /small.txt HTTP/1.1\r\nHo") for _ in range(n_half)]
raw = []
# A handshake record header that announces 512 bytes, then only 40 of them.
hello = bytes([0x16, 3, 1, 2, 0, 1, 0, 1, 0xfc, 3, 3]) + bytes(35)
for _ in range(n_raw):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(hello)
    raw.append(s)
for s in drip + half + raw:
    s.setblocking(False)
open(ready, "w").close()

closed = {}
dripped = {id(s): 0 for s in drip}
lock = threading.Lock()

def dripper():
    while True:
        with lock:
            live = [s for s in drip if id(s) not in closed]
        if not live:
            return
        for s in live:
            try:
                s.send(b"X")
                dripped[id(s)] += 1
            except (ssl.SSLWantWriteError, BlockingIOError):
                pass
            except OSError:
                with lock:
                    closed[id(s)] = True
        time.sleep(1)

threading.Thread(target=dripper, daemon=True).start()
sel = selectors.DefaultSelector()
for s in drip + half + raw:
    sel.register(s, selectors.EVENT_READ)
end = time.time() + hold
everyone = len(drip) + len(half) + len(raw)
while len(closed) < everyone and time.time() < end:
    for key, _ in sel.select(timeout=0.5):
        s = key.fileobj
        try:
            while s.recv(65536):
                pass
            gone = True
        except (ssl.SSLWantReadError, BlockingIOError):
            gone = False
        except OSError:      # reset, or a TLS alert / EOF without close_notify
            gone = True
        if gone:
            sel.unregister(s)
            with lock:
                closed[id(s)] = True
count = lambda group: sum(id(s) in closed for s in group)
print("closed %d/%d %d/%d %d/%d max_drip_bytes %d" % (count(raw), n_raw, count(half), n_half,
      count(drip), n_drip, max(dripped.values(), default=0)))
sys.exit(0 if len(closed) == everyone else 1)
PY

# Many more than the 4,096 connections the threads server's table held.
N_RAW=${NKTLS_FILES_STALLED:-5000} N_HALF=50 N_DRIP=10

stalled() {
    local io=$1 pid held out rc
    ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
    [ "$(ulimit -n)" -gt $((N_RAW + N_HALF + N_DRIP + 200)) ] ||
        { SKIP_REASON="ulimit -n $(ulimit -n) is too small for $N_RAW connections"; return 2; }
    # Deadlines long enough for the clients to open everything first.
    srv "$io" --handshake-timeout 12000 --header-timeout 10000 || return 1
    rm -f "$WORK/ready"
    timeout 120 python3 "$WORK/stall.py" "$NK_PORT" "$CERTS/ca.pem" "$N_RAW" "$N_HALF" "$N_DRIP" \
        "$WORK/ready" 60 >"$WORK/stall.out" 2>&1 &
    pid=$!
    while [ ! -e "$WORK/ready" ]; do
        alive "$pid" || { fail "stalling client failed" "$WORK/stall.out"; return 1; }
        sleep 0.2
    done
    # They are all held while a normal client gets its file.
    held=$(ss -Htn state established "( sport = :$NK_PORT )" | wc -l)
    fetch normal /big
    expect normal 200 300000 || { stop_pid "$pid"; return 1; }
    [ "$held" -ge $((N_RAW + N_HALF + N_DRIP)) ] ||
        { stop_pid "$pid"; fail "only $held connections held while curl ran" "$NK_LOG"; return 1; }
    # Then every one is closed: the dripping ones although they never stop.
    wait "$pid"
    rc=$?
    out=$(cat "$WORK/stall.out")
    if [ "$rc" -ne 0 ] || ! grep -q "^closed $N_RAW/$N_RAW $N_HALF/$N_HALF $N_DRIP/$N_DRIP " "$WORK/stall.out"; then
        fail "not every stalled client was closed: $out" "$NK_LOG"
        return 1
    fi
    echo "# $io: $held held while curl ran; $out"
    server_alive
}

# --io threads holds a thread per connection (a small table): only the drip.
drip_threads() {
    local out
    srv threads --header-timeout 3000 || return 1
    out=$(timeout 60 python3 "$WORK/stall.py" "$NK_PORT" "$CERTS/ca.pem" 0 2 3 "$WORK/ready-t" 30 2>&1) ||
        { fail "slow clients not closed: $out" "$NK_LOG"; return 1; }
    echo "# threads: $out"
}

for io in uring epoll threads; do
    section "nktls-server --root --io $io"
    run_case "files.$io.get" get_big "$io"
    run_case "files.$io.head" head_small "$io"
    run_case "files.$io.range" range_big "$io"
    run_case "files.$io.not_found" not_found "$io"
    run_case "files.$io.small_answer_one_record" one_record "$io"
done
section "stalled clients"
run_case "files.uring.stalled_clients_closed" stalled uring
run_case "files.epoll.stalled_clients_closed" stalled epoll
run_case "files.threads.slow_drip_closed" drip_threads
nk_server_stop

tap_done
