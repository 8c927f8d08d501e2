#!/usr/bin/env bash
# tests/interop/load.sh — nktls-load against nktls-server, `openssl s_server`,
# `gnutls-serv` and nginx: every mode a server supports (s_server serves one
# connection at a time: no idle mode there) runs exactly the
# number of operations asked for with no errors (handshakes counted,
# resumed handshakes resume, bulk data comes back intact, request replies
# counted), idle mode holds its connections open on the server until the
# end, both I/O backends of the loop run (io_uring and NKTLS_IO=epoll), the
# JSON report parses, and failures are reported by kind (connect, alert by
# name, verification). Against nginx: a URL target on keep-alive connections
# with replies counted by status class (a 404 is a 4xx and an error unless
# --accept-status), chunked replies, the latency histogram and the
# per-second series (JSON and --csv), --warmup left out of the counts, and
# --tls 1.2 (resume mode too: by ticket, and by session id against s_server
# -no_ticket). --duration is a hard stop even against a server that never
# answers. Request mode with --resume and --early-data (0-RTT GETs accepted
# by nktls-server --max-early-data and nginx ssl_early_data; counted as not
# sent where the tickets allow none). TAP on stdout.
source "$(dirname "$0")/lib.sh"

NK_LOAD=$NKTLS_BUILD/examples/nktls-load
require_nktls
[ -x "$NK_LOAD" ] || { tap_fail "nktls-load built" "missing $NK_LOAD"; tap_done; exit 1; }
require_tool python3
certs_init || exit 1

# load NAME ARGS...: runs nktls-load with --json; sets RC; the report is
# $WORK/NAME.txt, the JSON $WORK/NAME.json.
load() {
    local name=$1
    shift
    timeout $((T_TIMEOUT * 3)) "$NK_LOAD" --json "$WORK/$name.json" "$@" \
        >"$WORK/$name.txt" 2>"$WORK/$name.err"
    RC=$?
}

# jget NAME EXPR: a value from the JSON report (EXPR in Python, j is the report).
jget() {
    python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$WORK/$1.json" 2>/dev/null
}

# jwant NAME EXPR VALUE: the report's EXPR is VALUE.
jwant() {
    local got
    got=$(jget "$1" "$2")
    [ "$got" = "$3" ] || { fail "$2 is '$got', wanted '$3'" "$WORK/$1.txt" "$WORK/$1.err"; return 1; }
}

# expect_ok NAME OPS: exit 0, exactly OPS operations (empty: any), no errors,
# and a report that parses as JSON.
expect_ok() {
    local name=$1 ops=$2 got
    [ "$RC" -eq 0 ] || { fail "nktls-load exited with status $RC" "$WORK/$name.txt" "$WORK/$name.err"; return 1; }
    python3 -m json.tool "$WORK/$name.json" >/dev/null 2>&1 || { fail "--json output does not parse" "$WORK/$name.json"; return 1; }
    got=$(jget "$name" "j['errors']['total']")
    [ "$got" = 0 ] || { fail "$got errors" "$WORK/$name.txt"; return 1; }
    got=$(jget "$name" "j['operations']")
    if [ -n "$ops" ] && [ "$got" != "$ops" ]; then
        fail "$got operations, wanted $ops" "$WORK/$name.txt"
        return 1
    fi
}

# expect_error NAME KIND DETAIL: exit 1 and the error counted under KIND with
# DETAIL (a prefix) in the JSON, and the same in the text report.
expect_error() {
    local name=$1 kind=$2 detail=$3 n
    [ "$RC" -eq 1 ] || { fail "nktls-load exited with status $RC, wanted 1" "$WORK/$name.txt" "$WORK/$name.err"; return 1; }
    n=$(jget "$name" "sum(e['count'] for e in j['errors']['by_kind'] if e['kind']=='$kind' and e['detail'].startswith('$detail'))")
    [ -n "$n" ] && [ "$n" -gt 0 ] || { fail "no '$kind: $detail' error" "$WORK/$name.txt"; return 1; }
    grep -q "^error: *$kind: $detail" "$WORK/$name.txt" || { fail "text report lacks '$kind: $detail'" "$WORK/$name.txt"; return 1; }
}

# established PORT: TCP connections in state ESTABLISHED whose local port is
# PORT (the server's side of them).
established() {
    local hex
    hex=$(printf '%04X' "$1")
    cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v p=":$hex" \
        'NR > 1 && $4 == "01" && substr($2, length($2) - 4) == p { n++ } END { print n + 0 }'
}

TRUST=(--servername localhost --ca "$CERTS/ca.pem")

# ---- cases; PORT is the server under test --------------------------------------

c_handshake() {
    load hs-$1 --connect "127.0.0.1:$PORT" "${TRUST[@]}" --mode handshake --count 200 --concurrency 8
    expect_ok hs-$1 200 || return 1
    jwant hs-$1 "j['handshakes']" 200 || return 1
    jwant hs-$1 "j['negotiated'][0]['version']" TLSv1.3 || return 1
    jwant hs-$1 "j['latency_ms']['samples']" 200
}

# TLS 1.2 resume mode: the first handshake's session (a ticket, or an id where
# the server issues none) offered through NKTLS_setClientSession.
c_resume12() {
    load res12-$1 --connect "127.0.0.1:$PORT" "${TRUST[@]}" --mode resume --tls 1.2 --count 60 --concurrency 4
    expect_ok res12-$1 60 || return 1
    jwant res12-$1 "j['negotiated'][0]['version']" TLSv1.2 || return 1
    local r
    r=$(jget res12-$1 "j['resumed']")
    [ -n "$r" ] && [ "$r" -gt 54 ] || { fail "only $r of 60 handshakes resumed" "$WORK/res12-$1.txt"; return 1; }
}

c_resume() {
    load res-$1 --connect "127.0.0.1:$PORT" "${TRUST[@]}" --mode resume --count 100 --concurrency 4
    expect_ok res-$1 100 || return 1
    jwant res-$1 "j['handshakes']" 100 || return 1
    local r
    r=$(jget res-$1 "j['resumed']")
    [ -n "$r" ] && [ "$r" -gt 90 ] || { fail "only $r of 100 handshakes resumed" "$WORK/res-$1.txt"; return 1; }
}

# Bulk keeps its connections: two carry the four operations. Throughput is
# reported per direction.
c_bulk() {
    load bulk-$1 --connect "127.0.0.1:$PORT" "${TRUST[@]}" --mode bulk --size 1048576 --count 4 --concurrency 2
    expect_ok bulk-$1 4 || return 1
    jwant bulk-$1 "j['handshakes']" 2 || return 1
    jwant bulk-$1 "j['bytes_out']" $((4 * 1048576)) || return 1
    jwant bulk-$1 "j['bytes_in']" $((4 * 1048576)) || return 1
    jwant bulk-$1 "j['mb_per_s_out'] > 0 and j['mb_per_s_in'] > 0" True
}

# --reconnect: a new connection (a full handshake) for every operation.
c_bulk_reconnect() {
    load bulkr --connect "127.0.0.1:$PORT" "${TRUST[@]}" --mode bulk --size 65536 --count 6 --concurrency 2 --reconnect
    expect_ok bulkr 6 || return 1
    jwant bulkr "j['handshakes']" 6 || return 1
    jwant bulkr "j['reconnect']" True || return 1
    jwant bulkr "j['bytes_in']" $((6 * 65536))
}

c_request() {
    load req-$1 --connect "127.0.0.1:$PORT" "${TRUST[@]}" --mode request \
        --request 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' --count 30 --concurrency 3
    expect_ok req-$1 30 || return 1
    jwant req-$1 "j['replies_ok']" 30
}

# --early-data: every request on a new connection, resumed, its GET sent as
# 0-RTT data; a server that takes it counts as accepted every time (one
# connection at a time: a peer may take each ticket's early data only once).
c_early() {
    load early-$1 "https://127.0.0.1:$PORT/" "${TRUST[@]}" --early-data --count 20
    expect_ok early-$1 20 || return 1
    jwant early-$1 "j['handshakes'], j['resumed'], j['status_2xx']" "20 20 20" || return 1
    jwant early-$1 "j['early_data_accepted'], j['early_data_rejected'], j['early_data_not_sent']" \
        "20 0 0" || return 1
    jwant early-$1 "j['first_byte_ms']['samples']" 20 || return 1
    grep -q '^early data: *20 accepted, 0 rejected' "$WORK/early-$1.txt" ||
        { fail "text report lacks the early data line" "$WORK/early-$1.txt"; return 1; }
}

# A server whose tickets allow no early data: nothing goes early, and every
# request goes after the handshake instead, counted as not sent. --resume
# alone resumes without any.
c_early_not_sent() {
    load early0 "https://127.0.0.1:$PORT/" "${TRUST[@]}" --early-data --count 10
    expect_ok early0 10 || return 1
    jwant early0 "j['early_data_accepted'], j['early_data_rejected'], j['early_data_not_sent']" \
        "0 0 10" || return 1
    jwant early0 "j['resumed'], j['status_2xx']" "10 10" || return 1
    load res1 "https://127.0.0.1:$PORT/" "${TRUST[@]}" --resume --count 10
    expect_ok res1 10 || return 1
    jwant res1 "j['resumed'], j['early_data'], j['early_data_not_sent']" "10 False 0"
}

# nginx keeps the connection alive: three connections carry every request.
c_request_keepalive() {
    c_request "$1" || return 1
    jwant req-$1 "j['handshakes']" 3
}

# Keep-alive against an echo server: one connection carries every request.
c_request_echo() {
    load reqe --connect "127.0.0.1:$PORT" "${TRUST[@]}" --mode request --request 'ping\n' --count 50
    expect_ok reqe 50 || return 1
    jwant reqe "j['replies_ok']" 50 || return 1
    jwant reqe "j['handshakes']" 1
}

# On a terminal the progress line shows the last whole second's p50 and p99
# (script(1) gives the run a terminal).
c_progress() {
    command -v script >/dev/null || { SKIP_REASON="script(1) not installed"; return 2; }
    timeout $((T_TIMEOUT * 3)) script -qec "$(printf '%q ' "$NK_LOAD" --connect "127.0.0.1:$PORT" \
        "${TRUST[@]}" --mode request --request 'ping\n' --duration 2.5)" /dev/null >"$WORK/progress.out"
    grep -aqE $'\r\033\\[K +[12]\\.[0-9] s  [0-9]+ ops  .*  p50 [0-9.]+ ms  p99 [0-9.]+ ms' "$WORK/progress.out" ||
        { fail "no progress line with p50 and p99" "$WORK/progress.out"; return 1; }
}

# Idle: once nktls-load says every connection is open, the server holds them
# all; at the end they close cleanly (no error on either side).
c_idle() {
    local name=idle-$1 i=0 n
    timeout $((T_TIMEOUT * 3)) "$NK_LOAD" --json "$WORK/$name.json" --connect "127.0.0.1:$PORT" \
        "${TRUST[@]}" --mode idle --concurrency 20 --threads 2 --duration 2 \
        >"$WORK/$name.txt" 2>"$WORK/$name.err" &
    local pid=$!
    while ! grep -q '^idle: ' "$WORK/$name.txt" 2>/dev/null && alive "$pid" && [ $i -lt $((T_TIMEOUT * 20)) ]; do
        sleep 0.05
        i=$((i + 1))
    done
    n=$(established "$PORT")
    finish "$pid"
    grep -qx 'idle: 20 connections open' "$WORK/$name.txt" || { fail "no 'idle: 20 connections open' line" "$WORK/$name.txt" "$WORK/$name.err"; return 1; }
    [ "$n" -ge 20 ] || { fail "the server had $n connections open, wanted 20" "$WORK/$name.txt"; return 1; }
    expect_ok "$name" 20 || return 1
    jwant "$name" "j['idle_open']" 20 || return 1
    jwant "$name" "j['handshakes']" 20 || return 1
    jwant "$name" "j['idle_held_s'] >= 1.9" True
}

# Open loop: --rate 200 for 1 s schedules and begins 200 operations; the
# hard stop at 1 s may leave the last ones in flight, never uncounted.
c_rate() {
    load rate --connect "127.0.0.1:$PORT" "${TRUST[@]}" --mode handshake --rate 200 --duration 1 --concurrency 16
    expect_ok rate "" || return 1
    jwant rate "j['scheduled']" 200 || return 1
    jwant rate "j['started']" 200 || return 1
    jwant rate "j['operations'] + j['in_flight']" 200 || return 1
    jwant rate "j['rate_reached']" True
}

c_threads() {
    load thr --connect "127.0.0.1:$PORT" "${TRUST[@]}" --mode handshake --count 100 --concurrency 8 --threads 4
    expect_ok thr 100 || return 1
    jwant thr "j['threads']" 4 || return 1
    jwant thr "j['handshakes']" 100
}

# The loop's two backends: NKTLS_IO=epoll forces epoll; otherwise io_uring
# runs where the kernel allows it (skipped where it does not).
c_backend_epoll() {
    NKTLS_IO=epoll load be-epoll --connect "127.0.0.1:$PORT" "${TRUST[@]}" --mode bulk \
        --size 262144 --count 20 --concurrency 4 --threads 2
    expect_ok be-epoll 20 || return 1
    jwant be-epoll "j['backend']" epoll || return 1
    jwant be-epoll "j['backend_reason']" NKTLS_IO=epoll || return 1
    jwant be-epoll "j['bytes_in']" $((20 * 262144))
}

c_backend_uring() {
    local be
    NKTLS_IO= load be-uring --connect "127.0.0.1:$PORT" "${TRUST[@]}" --mode bulk \
        --size 262144 --count 20 --concurrency 4 --threads 2
    expect_ok be-uring 20 || return 1
    be=$(jget be-uring "j['backend']")
    if [ "$be" = epoll ]; then
        SKIP_REASON="io_uring unavailable here: $(jget be-uring "j['backend_reason']")"
        return 2
    fi
    jwant be-uring "j['backend']" io_uring || return 1
    jwant be-uring "j['bytes_in']" $((20 * 262144))
}

# --ktls off: no connection offloaded; auto: counted either way (the host
# has no tls module, the VM suite checks the kernel path).
c_ktls_off() {
    load ktls-off --connect "127.0.0.1:$PORT" "${TRUST[@]}" --mode handshake --count 10 --ktls off
    expect_ok ktls-off 10 || return 1
    jwant ktls-off "j['ktls']" off || return 1
    jwant ktls-off "j['ktls_tx'] + j['ktls_rx']" 0
}

c_connect_error() {
    local port
    port=$(pick_port)
    load conn --connect "127.0.0.1:$port" --insecure --mode handshake --count 3
    expect_error conn connect "" || return 1
    jwant conn "j['errors']['total']" 3
}

c_verify_error() {
    load ver-$1 --connect "127.0.0.1:$PORT" --servername localhost --ca "$CERTS/other-ca.pem" --mode handshake --count 3
    expect_error ver-$1 verification ERR_ || return 1
    jwant ver-$1 "j['errors']['total']" 3
}

# The server has only AES-256: offering only AES-128 gets its handshake_failure.
c_alert() {
    nk_server_ensure echo --cert "$CERTS/server.pem" --key "$CERTS/server.key" --ciphers TLS_AES_256_GCM_SHA384 ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    load alert --connect "127.0.0.1:$NK_PORT" "${TRUST[@]}" --ciphers TLS_AES_128_GCM_SHA256 --mode handshake --count 3
    expect_error alert alert handshake_failure || return 1
    jwant alert "j['errors']['total']" 3
}

# Bad arguments: a clear usage error (exit 2), no run.
c_usage() {
    local args
    for args in "--connect 127.0.0.1:1 --mode handshake -H X:y" "http://127.0.0.1/" \
            "https://127.0.0.1/ -H novalue" "https://127.0.0.1/ --mode bulk --size 1" \
            "https://127.0.0.1/ -m 'BAD METHOD'" "https://127.0.0.1/ --tls 1.1" \
            "https://127.0.0.1/ --count 5 --warmup 1" "https://127.0.0.1/ --cert x.pem" \
            "'https://127.0.0.1/a b'" "--connect 127.0.0.1:1 --mode handshake --reconnect" \
            "--connect 127.0.0.1:1 --mode bulk --size 9 --accept-status"; do
        eval "load usage --insecure $args"
        [ "$RC" -eq 2 ] || { fail "'$args' exited with $RC, wanted 2" "$WORK/usage.err"; return 1; }
        [ -s "$WORK/usage.err" ] || { fail "'$args': no message"; return 1; }
    done
}

# A URL: the request is built from it (Host, keep-alive); nginx keeps the two
# connections for all 40 replies, every one a 2xx; the histogram's buckets
# hold every sample, in order, and the series one row per second begun.
c_url() {
    load url "https://127.0.0.1:$PORT/" "${TRUST[@]}" --count 40 --concurrency 2
    expect_ok url 40 || return 1
    jwant url "j['mode']" request || return 1
    jwant url "j['handshakes']" 2 || return 1
    jwant url "[j['status_%dxx' % k] for k in range(1, 6)]" "[0, 40, 0, 0, 0]" || return 1
    jwant url "sum(b['count'] for b in j['latency_buckets'])" 40 || return 1
    jwant url "all(b['from_ms'] < b['to_ms'] for b in j['latency_buckets'])" True || return 1
    jwant url "all(a['to_ms'] <= b['from_ms'] for a, b in zip(j['latency_buckets'], j['latency_buckets'][1:]))" True || return 1
    jwant url "j['latency_buckets'][0]['from_ms'] <= j['latency_ms']['min'] < j['latency_buckets'][0]['to_ms']" True || return 1
    jwant url "sum(r['operations'] for r in j['series'])" 40
}

# --reconnect: a new connection for every request, on a server that would
# keep them.
c_url_reconnect() {
    load urlr "https://127.0.0.1:$PORT/" "${TRUST[@]}" --count 6 --concurrency 2 --reconnect
    expect_ok urlr 6 || return 1
    jwant urlr "j['handshakes']" 6 || return 1
    jwant urlr "j['status_2xx']" 6
}

# A 404 is a 4xx reply and, by default, an error; --accept-status counts it
# as done.
c_not_found() {
    load nf "https://127.0.0.1:$PORT/missing" "${TRUST[@]}" --count 5
    expect_error nf http "status 404" || return 1
    jwant nf "j['errors']['total']" 5 || return 1
    jwant nf "[j['status_2xx'], j['status_4xx'], j['operations']]" "[0, 5, 0]" || return 1
    load nfa "https://127.0.0.1:$PORT/missing" "${TRUST[@]}" --count 5 --accept-status
    expect_ok nfa 5 || return 1
    jwant nfa "j['status_4xx']" 5
}

# nginx compresses /chunked and sends it chunked (no Content-Length): the
# reader finds each reply's end exactly, so one connection carries all 20
# (-m and -H make the request).
c_chunked() {
    load chunk "https://127.0.0.1:$PORT/chunked" "${TRUST[@]}" -m GET -H 'Accept-Encoding: gzip' --count 20
    expect_ok chunk 20 || return 1
    jwant chunk "j['handshakes']" 1 || return 1
    jwant chunk "j['status_2xx']" 20 || return 1
    # The configuration makes every reply chunked: prove it with curl.
    if command -v curl >/dev/null; then
        curl -sk --raw -H 'Accept-Encoding: gzip' -D "$WORK/chunk.head" -o /dev/null \
            "https://127.0.0.1:$PORT/chunked"
        grep -qi '^transfer-encoding: chunked' "$WORK/chunk.head" ||
            { fail "nginx did not reply chunked" "$WORK/chunk.head"; return 1; }
    fi
}

# --warmup 1, then --rate 50 for 1 s: only the 50 operations due after the
# warm-up are counted (begun, and done or in flight at the stop).
c_warmup() {
    load warm "https://127.0.0.1:$PORT/" "${TRUST[@]}" --rate 50 --warmup 1 --duration 1 --concurrency 8
    expect_ok warm "" || return 1
    jwant warm "j['warmup_s']" 1.0 || return 1
    jwant warm "j['started']" 50 || return 1
    jwant warm "j['operations'] + j['in_flight']" 50 || return 1
    jwant warm "j['latency_ms']['samples'] == j['operations']" True
}

c_tls12() {
    load tls12 "https://127.0.0.1:$PORT/" "${TRUST[@]}" --tls 1.2 --alpn http/1.1 --count 5
    expect_ok tls12 5 || return 1
    jwant tls12 "j['tls']" 1.2 || return 1
    jwant tls12 "j['tls_version']" TLSv1.2 || return 1
    jwant tls12 "[(p['version'], p['alpn']) for p in j['negotiated']]" "[('TLSv1.2', 'http/1.1')]" || return 1
    grep -q '^tls: *--tls 1.2, negotiated TLSv1.2' "$WORK/tls12.txt" || { fail "text lacks the version" "$WORK/tls12.txt"; return 1; }
}

# --csv: a header and one row per second of --duration, the same as the
# JSON's series.
c_csv() {
    load csv "https://127.0.0.1:$PORT/" "${TRUST[@]}" --duration 2 --csv "$WORK/csv.csv"
    expect_ok csv "" || return 1
    jwant csv "len(j['series'])" 2 || return 1
    python3 - "$WORK/csv.csv" "$WORK/csv.json" <<'PY' || { fail "CSV differs from the series" "$WORK/csv.csv"; return 1; }
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
j = json.load(open(sys.argv[2]))
assert [int(r['second']) for r in rows] == [0, 1], rows
assert [int(r['operations']) for r in rows] == [s['operations'] for s in j['series']]
assert sum(int(r['operations']) for r in rows) == j['operations'] > 0
PY
}

# A server that accepts and never answers: --duration 1 still ends the run
# at once (the handshake timeout is far off), every operation begun is in
# flight, none is an error.
c_hard_stop() {
    local t0 t1
    if ! start_peer mute python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(128); time.sleep(300)' @PORT@; then
        fail "the silent server did not start" "$WORK/mute.err"
        return 1
    fi
    MUTE_PID=$PEER_PID
    t0=$(date +%s%N)
    load mute "https://127.0.0.1:$PORT/" --insecure --rate 20 --duration 1 --concurrency 40 --timeout 30000
    t1=$(date +%s%N)
    [ "$RC" -eq 1 ] || { fail "exit $RC, wanted 1 (no operation done)" "$WORK/mute.txt" "$WORK/mute.err"; return 1; }
    [ $(((t1 - t0) / 1000000)) -lt 4000 ] || { fail "the run took $(((t1 - t0) / 1000000)) ms" "$WORK/mute.txt"; return 1; }
    jwant mute "j['errors']['total']" 0 || return 1
    jwant mute "j['operations']" 0 || return 1
    jwant mute "j['started']" 20 || return 1
    jwant mute "j['in_flight']" 20 || return 1
    grep -q '^stopped: *20 operations in flight' "$WORK/mute.txt" || { fail "text lacks the in-flight count" "$WORK/mute.txt"; return 1; }
}

# A client certificate: the server requires one; with --cert/--key every
# echo comes back, without them each operation gets certificate_required.
c_client_cert() {
    nk_server_ensure echo --cert "$CERTS/server.pem" --key "$CERTS/server.key" \
        --ca "$CERTS/ca.pem" --verify-client || { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    load ccert --connect "127.0.0.1:$NK_PORT" "${TRUST[@]}" --mode bulk --size 1000 --count 5 \
        --cert "$CERTS/client.pem" --key "$CERTS/client.key"
    expect_ok ccert 5 || return 1
    load nocert --connect "127.0.0.1:$NK_PORT" "${TRUST[@]}" --mode bulk --size 1000 --count 5
    expect_error nocert alert certificate_required || return 1
    jwant nocert "j['errors']['total']" 5
}

# A small TLS server whose replies test the reader's framing: each reply
# goes out one byte per record, so every field is split at every point.
write_reply_server() {
    cat >"$WORK/reply_server.py" <<'PY'
import socket, ssl, sys, threading
REPLIES = {  # path: (reply, keep the connection)
    b"/ext": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"5;name=value\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n"
              b"0\r\nX-Trailer: 1\r\n\r\n", True),
    b"/short": (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b", False),
    b"/shortchunk": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc", False),
    b"/badchunk": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", True),
}
def serve(c):
    buf = b""
    try:
        while True:
            while b"\r\n\r\n" not in buf:
                d = c.recv(4096)
                if not d:
                    return
                buf += d
            head, buf = buf.split(b"\r\n\r\n", 1)
            reply, keep = REPLIES[head.split(b" ")[1]]
            for i in range(len(reply)):
                c.sendall(reply[i:i + 1])
            if not keep:
                c.unwrap()          # close_notify: the close is clean, the reply short
                return
    except (OSError, ssl.SSLError, KeyError):
        pass
    finally:
        c.close()
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
while True:
    conn, _ = s.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        t = ctx.wrap_socket(conn, server_side=True)
    except (OSError, ssl.SSLError):
        continue
    threading.Thread(target=serve, args=(t,), daemon=True).start()
PY
}

# Chunk extensions and a trailer, split everywhere: one connection carries
# all replies. A reply the close cuts short (by Content-Length or inside a
# chunk) and a bad chunk-size line are errors, by name.
c_framing() {
    load fr-ext "https://127.0.0.1:$PORT/ext" "${TRUST[@]}" --count 5
    expect_ok fr-ext 5 || return 1
    jwant fr-ext "j['handshakes']" 1 || return 1
    load fr-short "https://127.0.0.1:$PORT/short" "${TRUST[@]}" --count 3
    expect_error fr-short data "reply cut short" || return 1
    jwant fr-short "j['errors']['total']" 3 || return 1
    load fr-schunk "https://127.0.0.1:$PORT/shortchunk" "${TRUST[@]}" --count 3
    expect_error fr-schunk data "reply cut short" || return 1
    load fr-bad "https://127.0.0.1:$PORT/badchunk" "${TRUST[@]}" --count 3
    expect_error fr-bad data "bad chunk size line" || return 1
    jwant fr-bad "j['errors']['total']" 3
}

# Open loop against the same silent server: 5 connections can begin only 5
# of the 100 operations due, and the report says how far short the rate fell.
c_rate_short() {
    load short "https://127.0.0.1:$PORT/" --insecure --rate 100 --duration 1 --concurrency 5 --timeout 30000
    [ "$RC" -eq 1 ] || { fail "exit $RC, wanted 1 (no operation done)" "$WORK/short.txt" "$WORK/short.err"; return 1; }
    jwant short "[j['scheduled'], j['started'], j['in_flight'], j['rate_reached']]" "[100, 5, 5, False]" || return 1
    jwant short "j['rate_short_pct']" 95.0 || return 1
    grep -q '^rate: *--rate 100.0/s not reached: 5.0/s begun, 95.0% short (95 of 100 scheduled' "$WORK/short.txt" ||
        { fail "text lacks the shortfall" "$WORK/short.txt"; return 1; }
}

# ---- servers ---------------------------------------------------------------------

section "nktls-server"
if nk_server_ensure echo --cert "$CERTS/server.pem" --key "$CERTS/server.key"; then
    PORT=$NK_PORT
    run_case "load.nktls-server.handshake" c_handshake nk
    run_case "load.nktls-server.resume" c_resume nk
    run_case "load.nktls-server.resume_tls12" c_resume12 nk
    run_case "load.nktls-server.bulk" c_bulk nk
    run_case "load.nktls-server.bulk_reconnect" c_bulk_reconnect
    run_case "load.nktls-server.request_echo" c_request_echo
    run_case "load.nktls-server.progress" c_progress
    run_case "load.nktls-server.idle" c_idle nk
    run_case "load.nktls-server.rate" c_rate
    run_case "load.nktls-server.threads" c_threads
    run_case "load.nktls-server.backend_epoll" c_backend_epoll
    run_case "load.nktls-server.backend_uring" c_backend_uring
    run_case "load.nktls-server.ktls_off" c_ktls_off
    run_case "load.nktls-server.verify_error" c_verify_error nk
else
    tap_fail "load.nktls-server" "nktls-server did not start" "$NK_LOG"
fi
run_case "load.connect_error" c_connect_error
run_case "load.usage" c_usage
run_case "load.nktls-server.alert" c_alert
run_case "load.nktls-server.client_cert" c_client_cert
if nk_server_ensure www --cert "$CERTS/server.pem" --key "$CERTS/server.key" --www; then
    PORT=$NK_PORT
    run_case "load.nktls-server.request" c_request nk
    run_case "load.nktls-server.early_data_not_sent" c_early_not_sent
fi
if nk_server_ensure www0rtt --cert "$CERTS/server.pem" --key "$CERTS/server.key" --www \
        --max-early-data 4096; then
    PORT=$NK_PORT
    run_case "load.nktls-server.early_data" c_early nk
fi
nk_server_stop

# start_peer NAME CMD...: a peer server on a free port (@PORT@ in CMD) that
# lives until stop_pid (lib.sh's start_peer_server gives a peer T_TIMEOUT
# seconds, less than a section here takes). Sets PORT and PEER_PID.
start_peer() {
    local name=$1 try port a args
    shift
    for try in 1 2 3; do
        port=$(pick_port)
        args=()
        for a in "$@"; do args+=("${a//@PORT@/$port}"); done
        timeout 300 "${args[@]}" </dev/null >"$WORK/$name.out" 2>"$WORK/$name.err" &
        PEER_PID=$!
        if wait_listen "$port" "$PEER_PID"; then
            PORT=$port
            return 0
        fi
        stop_pid "$PEER_PID"
        grep -qiE "in use|bind" "$WORK/$name.err" "$WORK/$name.out" 2>/dev/null || break
    done
    return 1
}

section "a server that never answers"
MUTE_PID=
run_case "load.hard_stop" c_hard_stop
[ -n "$MUTE_PID" ] && run_case "load.rate_short" c_rate_short
stop_pid "$MUTE_PID"

section "HTTP framing (python3 ssl)"
write_reply_server
if start_peer replies python3 "$WORK/reply_server.py" @PORT@ "$CERTS/server.pem" "$CERTS/server.key"; then
    run_case "load.framing" c_framing
    stop_pid "$PEER_PID"
else
    tap_fail "load.framing" "the python3 reply server did not start" "$WORK/replies.err"
fi

section "openssl s_server"
if ! command -v openssl >/dev/null; then
    tap_skip "load.s_server" "openssl not installed"
elif start_peer s_server openssl s_server -accept "127.0.0.1:@PORT@" -www -quiet \
        -cert "$CERTS/server.pem" -key "$CERTS/server.key"; then
    run_case "load.s_server.handshake" c_handshake ossl
    run_case "load.s_server.resume" c_resume ossl
    run_case "load.s_server.resume_tls12" c_resume12 ossl
    run_case "load.s_server.request" c_request ossl
    stop_pid "$PEER_PID"
else
    tap_fail "load.s_server" "openssl s_server did not start" "$WORK/s_server.err"
fi
if command -v openssl >/dev/null && start_peer s_server_id openssl s_server -accept "127.0.0.1:@PORT@" -www \
        -quiet -no_ticket -cert "$CERTS/server.pem" -key "$CERTS/server.key"; then
    run_case "load.s_server.resume_tls12_session_id" c_resume12 ossl_id
    stop_pid "$PEER_PID"
fi

section "gnutls-serv"
if ! command -v gnutls-serv >/dev/null; then
    tap_skip "load.gnutls-serv" "gnutls-serv not installed"
elif start_peer gnutls gnutls-serv --port @PORT@ --echo -q \
        --x509certfile "$CERTS/server.pem" --x509keyfile "$CERTS/server.key"; then
    run_case "load.gnutls-serv.handshake" c_handshake gnutls
    run_case "load.gnutls-serv.resume" c_resume gnutls
    run_case "load.gnutls-serv.bulk" c_bulk gnutls
    run_case "load.gnutls-serv.idle" c_idle gnutls
    stop_pid "$PEER_PID"
else
    tap_fail "load.gnutls-serv" "gnutls-serv did not start" "$WORK/gnutls.err"
fi

section "nginx"
if [ -z "$NGINX" ]; then
    tap_skip "load.nginx" "nginx not installed"
else
    if nginx_start nginx "
        ssl_certificate $CERTS/server.pem;
        ssl_certificate_key $CERTS/server.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_early_data on;
        location / { return 200 'hello from the load test\n'; }
        location = /missing { return 404; }
        location = /chunked {
            default_type text/plain;
            gzip on;
            gzip_min_length 1;
            gzip_types text/plain;
            return 200 'a reply that nginx compresses, so it goes out chunked\n';
        }"; then
        PORT=$PEER_PORT
        run_case "load.nginx.handshake" c_handshake nginx
        run_case "load.nginx.resume" c_resume nginx
        run_case "load.nginx.resume_tls12" c_resume12 nginx
        run_case "load.nginx.request" c_request_keepalive nginx
        run_case "load.nginx.idle" c_idle nginx
        run_case "load.nginx.verify_error" c_verify_error nginx
        run_case "load.nginx.url" c_url
        run_case "load.nginx.url_reconnect" c_url_reconnect
        run_case "load.nginx.not_found" c_not_found
        run_case "load.nginx.chunked" c_chunked
        run_case "load.nginx.warmup" c_warmup
        run_case "load.nginx.tls12" c_tls12
        run_case "load.nginx.csv" c_csv
        run_case "load.nginx.early_data" c_early nginx
        stop_pid "$PEER_PID"
    else
        tap_fail "load.nginx" "nginx did not start" "$WORK/nginx.err" "$WORK/nginx/error.log"
    fi
fi

tap_done
