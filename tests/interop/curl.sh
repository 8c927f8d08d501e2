#!/usr/bin/env bash
# tests/interop/curl.sh — nktls-server --root as an HTTP/1.1 file server for
# `curl` (and `wget` when installed). Files of 0 bytes to 20 MiB arrive byte
# for byte (sha256); HEAD, byte ranges, 416, 404, 405, 431, paths that try to
# leave the root, directories, keep-alive, pipelining, HTTP/1.0, a client that
# gives up mid-transfer and a file that shrinks while it is sent. Then the
# kernel TLS controls: --ktls off, auto and require. Without a tls module
# (no /proc/net/tls_stat) require must refuse every handshake with
# ERR_SSL_KTLS_UNAVAILABLE; with one (the kTLS VM) it must serve, the server
# must report "tx kernel" and the kernel's TLS counters must move. Prints TAP.

# shellcheck source=tests/interop/lib.sh
. "$(dirname "$0")/lib.sh"

require_tool curl sha256sum
require_nktls
if ! certs_init; then
    tap_fail "certificates generated" "scripts/gen-certs failed"
    tap_done
    exit 1
fi

# Whether the kernel can carry TLS records: /proc/net/tls_stat exists once the
# tls module is loaded. A module that loads on demand appears only with the
# first kTLS socket, so this is asked after a connection has tried (the
# "auto" case runs before the ones that depend on the answer).
ktls_kernel() { [ -e /proc/net/tls_stat ]; }

# ---- the served tree ----------------------------------------------------------

ROOT=$WORK/www
mkdir -p "$ROOT/dir" "$ROOT/empty-dir"
: >"$ROOT/empty"
head -c 1 /dev/urandom >"$ROOT/one"
for n in 16383 16384 16385; do head -c "$n" /dev/urandom >"$ROOT/r$n"; done
head -c 1048576 /dev/urandom >"$ROOT/m1"
head -c $((20 * 1048576)) /dev/urandom >"$ROOT/m20"
printf '<p>index</p>\n' >"$ROOT/dir/index.html"
printf 'text\n' >"$ROOT/notes.txt"
printf 'with a space\n' >"$ROOT/a file.txt"
printf 'secret\n' >"$WORK/outside"
ln -s "$WORK/outside" "$ROOT/escape"
ln -s m1 "$ROOT/inside-link"
FILES=(empty one r16383 r16384 r16385 m1 m20)

SRV_BASE=(--cert "$CERTS/server.pem" --key "$CERTS/server.key" --root "$ROOT" -v)

# srv MODE ARGS...: the file server, started afresh only when its arguments change.
srv() {
    local mode=$1
    shift
    nk_server_ensure "files-$mode" "${SRV_BASE[@]}" "$@" ||
        { fail "nktls-server did not start" "$NK_LOG"; return 1; }
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

# fetch NAME PATH CURL_ARGS...: one curl run against the server. Body in
# $WORK/NAME.body, response headers in NAME.hdr, curl's stderr in NAME.err.
# Sets RC (curl's status), CODE (the last HTTP status) and GOT (body bytes).
fetch() {
    local name=$1 path=$2 w
    shift 2
    rm -f "$WORK/$name".{body,hdr,err}
    w=$(timeout "$T_TIMEOUT" curl -sS --cacert "$CERTS/ca.pem" \
        --resolve "localhost:$NK_PORT:127.0.0.1" -o "$WORK/$name.body" -D "$WORK/$name.hdr" \
        -w '%{http_code} %{size_download}' "$@" "https://localhost:$NK_PORT$path" \
        2>"$WORK/$name.err")
    RC=$?
    CODE=${w%% *} GOT=${w##* }
    [ -f "$WORK/$name.body" ] || : >"$WORK/$name.body"
}

# header NAME FIELD: the value of a response header (last response, CR stripped).
header() {
    tr -d '\r' <"$WORK/$1.hdr" | grep -i "^$2:" | tail -n1 | sed 's/^[^:]*: *//'
}

expect_code() {
    local name=$1 want=$2
    [ "$RC" -eq 0 ] || { fail "curl exited with status $RC" "$WORK/$name.err" "$NK_LOG"; return 1; }
    [ "$CODE" = "$want" ] || { fail "HTTP status $CODE, expected $want" "$WORK/$name.hdr" "$NK_LOG"; return 1; }
}

# same_sha NAME EXPECTED_FILE: the body is exactly that file.
same_sha() {
    [ "$(sha "$WORK/$1.body")" = "$(sha "$2")" ] ||
        { fail "body differs: $(size_of "$WORK/$1.body") bytes, expected $(size_of "$2")" "$WORK/$1.hdr" "$NK_LOG"; return 1; }
}

# reused ERRFILE: curl -v says it sent a request over a connection it already
# had ("Re-using existing connection", "Reusing existing https: connection"
# in newer versions).
reused() {
    grep -qiE "re-?using existing" "$1"
}

# wait_log PATTERN: until the server log has a line matching the extended
# regular expression (the server notices some things a moment after curl does).
wait_log() {
    local i=0
    while [ $i -lt $((T_TIMEOUT * 20)) ]; do
        grep -qE "$1" "$NK_LOG" && return 0
        sleep 0.05
        i=$((i + 1))
    done
    return 1
}

server_alive() {
    alive "$NK_PID" || { fail "nktls-server died" "$NK_LOG"; return 1; }
}

# ---- cases ----------------------------------------------------------------------

get_file() {
    local f=$1 name=get-$1
    srv auto || return 1
    fetch "$name" "/$f"
    expect_code "$name" 200 || return 1
    same_sha "$name" "$ROOT/$f" || return 1
    [ "$(header "$name" Content-Length)" = "$(size_of "$ROOT/$f")" ] ||
        { fail "Content-Length $(header "$name" Content-Length)" "$WORK/$name.hdr"; return 1; }
}

head_file() {
    local f=$1 name=head-$1
    srv auto || return 1
    fetch "$name" "/$f" --head
    expect_code "$name" 200 || return 1
    [ "$(header "$name" Content-Length)" = "$(size_of "$ROOT/$f")" ] ||
        { fail "Content-Length '$(header "$name" Content-Length)', expected $(size_of "$ROOT/$f")" "$WORK/$name.hdr"; return 1; }
    [ "$GOT" = 0 ] || { fail "HEAD answered with $GOT body bytes" "$WORK/$name.hdr"; return 1; }
}

content_type() {
    local path=$1 want=$2 name=ctype
    srv auto || return 1
    fetch "$name" "$path"
    expect_code "$name" 200 || return 1
    [ "$(header "$name" Content-Type)" = "$want" ] ||
        { fail "Content-Type '$(header "$name" Content-Type)', expected '$want'" "$WORK/$name.hdr"; return 1; }
}

# range SPEC FIRST COUNT: bytes=SPEC of m1 is COUNT bytes from offset FIRST.
range() {
    local spec=$1 first=$2 count=$3 name=range size
    size=$(size_of "$ROOT/m1")
    srv auto || return 1
    fetch "$name" /m1 -H "Range: bytes=$spec"
    expect_code "$name" 206 || return 1
    tail -c +$((first + 1)) "$ROOT/m1" | head -c "$count" >"$WORK/range.want"
    same_sha "$name" "$WORK/range.want" || return 1
    [ "$(header "$name" Content-Range)" = "bytes $first-$((first + count - 1))/$size" ] ||
        { fail "Content-Range '$(header "$name" Content-Range)'" "$WORK/$name.hdr"; return 1; }
}

range_416() {
    local name=range416
    srv auto || return 1
    fetch "$name" /m1 -H "Range: bytes=$1"
    expect_code "$name" 416 || return 1
    [ "$(header "$name" Content-Range)" = "bytes */$(size_of "$ROOT/m1")" ] ||
        { fail "Content-Range '$(header "$name" Content-Range)'" "$WORK/$name.hdr"; return 1; }
}

# status PATH CODE CURL_ARGS...: the answer is CODE and no file content.
status() {
    local path=$1 want=$2 name=status
    shift 2
    srv auto || return 1
    fetch "$name" "$path" "$@"
    expect_code "$name" "$want" || return 1
    if grep -q -e "root:" -e secret "$WORK/$name.body"; then
        fail "a file outside the root was served" "$WORK/$name.body"
        return 1
    fi
    server_alive
}

dir_index() {
    srv auto || return 1
    fetch dir /dir/
    expect_code dir 200 || return 1
    same_sha dir "$ROOT/dir/index.html"
}

header_too_large() {
    local big
    big=$(head -c 20000 /dev/zero | tr '\0' a)
    srv auto || return 1
    fetch big /one -H "X-Big: $big"
    expect_code big 431 || return 1
    server_alive
}

# Two URLs in one curl run share one connection: curl says so, the files are
# intact, and the server logged both requests from the same client port.
keep_alive() {
    local err=$WORK/ka.err port
    srv auto || return 1
    rm -f "$WORK/ka1" "$WORK/ka2"
    timeout "$T_TIMEOUT" curl -sS -v --cacert "$CERTS/ca.pem" \
        --resolve "localhost:$NK_PORT:127.0.0.1" \
        "https://localhost:$NK_PORT/m1" -o "$WORK/ka1" \
        "https://localhost:$NK_PORT/r16385" -o "$WORK/ka2" 2>"$err"
    RC=$?
    [ "$RC" -eq 0 ] || { fail "curl exited with status $RC" "$err" "$NK_LOG"; return 1; }
    if ! { cmp -s "$WORK/ka1" "$ROOT/m1" && cmp -s "$WORK/ka2" "$ROOT/r16385"; }; then
        fail "files differ" "$err"
        return 1
    fi
    reused "$err" || { fail "curl opened a second connection" "$err" "$NK_LOG"; return 1; }
    port=$(grep -oE '^request [0-9.]+:[0-9]+: GET /r16385 200' "$NK_LOG" | tail -n1 | cut -d' ' -f2)
    grep -q "^request $port GET /m1 200 1048576" "$NK_LOG" ||
        { fail "server log does not show both requests on $port" "$NK_LOG"; return 1; }
}

# Connection: close is honoured: the answer says so and curl reconnects.
conn_close() {
    local err=$WORK/close.err
    srv auto || return 1
    timeout "$T_TIMEOUT" curl -sS -v -H "Connection: close" --cacert "$CERTS/ca.pem" \
        --resolve "localhost:$NK_PORT:127.0.0.1" \
        "https://localhost:$NK_PORT/one" -o "$WORK/c1" \
        "https://localhost:$NK_PORT/one" -o "$WORK/c2" 2>"$err"
    RC=$?
    [ "$RC" -eq 0 ] || { fail "curl exited with status $RC" "$err" "$NK_LOG"; return 1; }
    tr -d '\r' <"$err" | grep -qi "^< Connection: close" ||
        { fail "no 'Connection: close' in the answer" "$err"; return 1; }
    if reused "$err"; then
        fail "connection reused after Connection: close" "$err"
        return 1
    fi
    cmp -s "$WORK/c2" "$ROOT/one" || { fail "second file differs" "$err"; return 1; }
}

http10() {
    srv auto || return 1
    fetch h10 /m1 --http1.0
    expect_code h10 200 || return 1
    same_sha h10 "$ROOT/m1" || return 1
    [ "$(header h10 Connection)" = close ] ||
        { fail "HTTP/1.0 without keep-alive must close" "$WORK/h10.hdr"; return 1; }
}

http10_keep_alive() {
    local err=$WORK/h10ka.err
    srv auto || return 1
    timeout "$T_TIMEOUT" curl -sS -v --http1.0 -H "Connection: keep-alive" \
        --cacert "$CERTS/ca.pem" --resolve "localhost:$NK_PORT:127.0.0.1" \
        "https://localhost:$NK_PORT/r16384" -o "$WORK/k1" \
        "https://localhost:$NK_PORT/r16383" -o "$WORK/k2" 2>"$err"
    RC=$?
    [ "$RC" -eq 0 ] || { fail "curl exited with status $RC" "$err" "$NK_LOG"; return 1; }
    if ! { cmp -s "$WORK/k1" "$ROOT/r16384" && cmp -s "$WORK/k2" "$ROOT/r16383"; }; then
        fail "files differ" "$err"
        return 1
    fi
    reused "$err" || { fail "HTTP/1.0 keep-alive connection not reused" "$err" "$NK_LOG"; return 1; }
}

# Three requests in one write: three answers, in order, on one connection.
pipelined() {
    local req=$WORK/pipe.req out=$WORK/pipe.out n
    if ! command -v openssl >/dev/null; then
        SKIP_REASON="openssl not installed"
        return 2
    fi
    srv auto || return 1
    printf 'GET /notes.txt HTTP/1.1\r\nHost: localhost\r\n\r\nHEAD /m1 HTTP/1.1\r\nHost: localhost\r\n\r\nGET /dir/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >"$req"
    spawn_fed pipe "$req" /dev/null 1 openssl s_client -connect "127.0.0.1:$NK_PORT" -quiet \
        -CAfile "$CERTS/ca.pem" -servername localhost
    finish "$SPAWN_PID"
    n=$(grep -c "^HTTP/1.1 200 OK" "$out")
    [ "$n" -eq 3 ] || { fail "$n answers, expected 3" "$out" "$NK_LOG"; return 1; }
    if ! { grep -q "^text" "$out" && grep -q "<p>index</p>" "$out"; }; then
        fail "bodies missing" "$out"
        return 1
    fi
}

# curl gives up after a second of a slow 20 MiB download; the server must
# carry on serving others.
client_leaves() {
    srv auto || return 1
    timeout "$T_TIMEOUT" curl -sS --cacert "$CERTS/ca.pem" --limit-rate 500k --max-time 1 \
        --resolve "localhost:$NK_PORT:127.0.0.1" "https://localhost:$NK_PORT/m20" \
        -o "$WORK/leave.body" 2>"$WORK/leave.err"
    RC=$?
    [ "$RC" -ne 0 ] || { fail "curl finished a transfer it should have abandoned" "$WORK/leave.err"; return 1; }
    wait_log "GET /m20 200 [0-9]+ \(client went away\)" ||
        { fail "server did not notice the client leaving" "$NK_LOG"; return 1; }
    server_alive || return 1
    fetch after /r16385
    expect_code after 200 || return 1
    same_sha after "$ROOT/r16385"
}

# The file is cut to 1 MiB while a slow client fetches its 20 MiB: the server
# must end the connection (the client sees a short body) and say why.
file_shrinks() {
    local pid
    cp "$ROOT/m20" "$ROOT/shrink"
    srv auto || return 1
    timeout "$T_TIMEOUT" curl -sS --cacert "$CERTS/ca.pem" --limit-rate 2M \
        --resolve "localhost:$NK_PORT:127.0.0.1" "https://localhost:$NK_PORT/shrink" \
        -o "$WORK/shrink.body" 2>"$WORK/shrink.err" &
    pid=$!
    wait_size "$WORK/shrink.body" 1 "$pid"
    truncate -s 1M "$ROOT/shrink"
    finish "$pid"
    [ "$RC" -eq 18 ] || { fail "curl exited with status $RC, expected 18 (partial file)" "$WORK/shrink.err" "$NK_LOG"; return 1; }
    wait_log "GET /shrink 200 [0-9]+ \(file shrank" ||
        { fail "server did not report the short file" "$NK_LOG"; return 1; }
    server_alive
}

wget_file() {
    # A busybox wget (the VM's) has no certificate options: only GNU wget counts.
    if ! command -v wget >/dev/null || ! wget --version 2>/dev/null | grep -q 'GNU Wget'; then
        SKIP_REASON="GNU wget not installed"
        return 2
    fi
    srv auto || return 1
    timeout "$T_TIMEOUT" wget -q --ca-certificate="$CERTS/ca.pem" -O "$WORK/wget.body" \
        "https://127.0.0.1:$NK_PORT/$1" 2>"$WORK/wget.err"
    RC=$?
    [ "$RC" -eq 0 ] || { fail "wget exited with status $RC" "$WORK/wget.err" "$NK_LOG"; return 1; }
    cmp -s "$WORK/wget.body" "$ROOT/$1" || { fail "file differs" "$WORK/wget.err"; return 1; }
}

# ---- kernel TLS ---------------------------------------------------------------

# tls_stat NAME: a counter from /proc/net/tls_stat (0 without one).
tls_stat() {
    awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }' /proc/net/tls_stat 2>/dev/null || echo 0
}

# layer_line: the record layer line the server printed for its last connection.
layer_line() {
    grep '^record layer:' "$NK_LOG" | tail -n1
}

ktls_off() {
    srv off --ktls off || return 1
    fetch koff /m20
    expect_code koff 200 || return 1
    same_sha koff "$ROOT/m20" || return 1
    layer_line | grep -q "^record layer: tx software (disabled), rx software (disabled)" ||
        { fail "expected software (disabled): $(layer_line)" "$NK_LOG"; return 1; }
}

ktls_auto() {
    srv auto || return 1
    fetch kauto /m1
    expect_code kauto 200 || return 1
    same_sha kauto "$ROOT/m1" || return 1
    if ktls_kernel; then
        layer_line | grep -q "tx kernel" ||
            { fail "kTLS available but: $(layer_line)" "$NK_LOG"; return 1; }
    else
        layer_line | grep -q "^record layer: tx software (no tls module), rx software (no tls module)" ||
            { fail "expected the fallback reason: $(layer_line)" "$NK_LOG"; return 1; }
    fi
}

ktls_require() {
    local before after rc
    if ! ktls_kernel; then
        # Refused at start-up with the reason, not connection by connection.
        timeout "$T_TIMEOUT" "$NK_SERVER" --listen 127.0.0.1:0 "${SRV_BASE[@]}" --ktls require \
            </dev/null >"$WORK/kreq.srv" 2>&1
        rc=$?
        [ "$rc" -eq 1 ] || { fail "nktls-server --ktls require exited with $rc, expected 1" "$WORK/kreq.srv"; return 1; }
        grep -qx "nktls-server: --ktls require: this kernel cannot carry TLS (no tls module); use --ktls auto to go on in software" \
            "$WORK/kreq.srv" || { fail "no start-up refusal with the reason" "$WORK/kreq.srv"; return 1; }
        return 0
    fi
    srv require --ktls require || return 1
    # The issue's proof: 100 MiB through curl with the kernel encrypting.
    [ -f "$ROOT/m100" ] || head -c $((100 << 20)) /dev/urandom >"$ROOT/m100"
    before=$(tls_stat TlsTxSw)
    fetch kreq /m100
    expect_code kreq 200 || return 1
    same_sha kreq "$ROOT/m100" || return 1
    rm -f "$ROOT/m100" "$WORK/kreq.body"
    layer_line | grep -q "^record layer: tx kernel, rx kernel" ||
        { fail "expected tx kernel, rx kernel: $(layer_line)" "$NK_LOG"; return 1; }
    after=$(tls_stat TlsTxSw)
    [ "$after" -gt "$before" ] ||
        { fail "TlsTxSw did not move ($before -> $after): the kernel did not encrypt" "$NK_LOG"; return 1; }
}

# Zero-copy sendfile and the rekey policies change how records are carried,
# never the bytes.
ktls_variant() {
    local mode=$1 name=kvar
    shift
    srv "$mode" "$@" || return 1
    fetch "$name" /m20
    expect_code "$name" 200 || return 1
    same_sha "$name" "$ROOT/m20"
}

rekey_software() {
    ktls_variant rekey-sw --rekey software || return 1
    if ktls_kernel && [ "$(layer_line | grep -c 'tx kernel')" -ne 0 ]; then
        # Kernels that replace keys in place keep both directions in the kernel.
        return 0
    fi
    layer_line | grep -q "^record layer: tx software (.*), rx software (.*)" ||
        { fail "unexpected: $(layer_line)" "$NK_LOG"; return 1; }
}

# ---- run ----------------------------------------------------------------------

section "nktls-server --root <-> curl"
for f in "${FILES[@]}"; do
    run_case "files.curl.get_$f" get_file "$f"
done
for f in empty one m1; do
    run_case "files.curl.head_$f" head_file "$f"
done
run_case "files.curl.content_type_html" content_type /dir/index.html "text/html; charset=utf-8"
run_case "files.curl.content_type_octet" content_type /m1 application/octet-stream
run_case "files.curl.percent_decoded_path" content_type "/a%20file.txt" "text/plain; charset=utf-8"
run_case "files.curl.range_0-0" range 0-0 0 1
run_case "files.curl.range_100-199" range 100-199 100 100
run_case "files.curl.range_suffix_10" range -10 $((1048576 - 10)) 10
run_case "files.curl.range_from_1000000" range 1000000- 1000000 $((1048576 - 1000000))
run_case "files.curl.range_end_clamped" range 1048000-9999999 1048000 576
run_case "files.curl.range_416_past_end" range_416 2000000-
run_case "files.curl.range_416_at_end" range_416 1048576-
run_case "files.curl.not_found" status /missing 404
run_case "files.curl.dotdot_path_as_is" status /../etc/passwd 403 --path-as-is
run_case "files.curl.dotdot_encoded" status /%2e%2e/%2e%2e/etc/passwd 403 --path-as-is
run_case "files.curl.dotdot_encoded_slash" status /dir%2f..%2f..%2foutside 403 --path-as-is
run_case "files.curl.symlink_out_of_root" status /escape 403
run_case "files.curl.symlink_inside_root" status /inside-link 200
run_case "files.curl.nul_in_path" status /m1%00.txt 400
run_case "files.curl.dir_index" dir_index
run_case "files.curl.dir_without_index" status /empty-dir/ 404
run_case "files.curl.method_not_allowed" status /m1 405 -X DELETE
run_case "files.curl.header_too_large" header_too_large
run_case "files.curl.keep_alive" keep_alive
run_case "files.curl.connection_close" conn_close
run_case "files.curl.http1.0" http10
run_case "files.curl.http1.0_keep_alive" http10_keep_alive
run_case "files.s_client.pipelined" pipelined
run_case "files.curl.client_leaves_mid_transfer" client_leaves
run_case "files.curl.file_shrinks" file_shrinks
run_case "files.wget.get_m1" wget_file m1
run_case "files.wget.get_r16385" wget_file r16385

section "kernel TLS controls"
run_case "files.ktls.off" ktls_off
run_case "files.ktls.auto" ktls_auto
echo "# kernel TLS: $(ktls_kernel && echo "available (/proc/net/tls_stat)" || echo "not available (no /proc/net/tls_stat)")"
run_case "files.ktls.require" ktls_require
run_case "files.ktls.zerocopy_sendfile" ktls_variant zerocopy --zerocopy-sendfile
run_case "files.ktls.rekey_software_rx" ktls_variant rekey-swrx --rekey software-rx
run_case "files.ktls.rekey_software" rekey_software
nk_server_stop

tap_done
