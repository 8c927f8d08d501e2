# tests/interop/lib.sh — shared helpers for the interop scripts (sourced, not run).
#
# Environment:
#   NKTLS_BUILD            build directory holding examples/nktls-{server,client}
#                          (default: <repo>/build)
#   NKTLS_CERTS            an existing scripts/gen-certs directory to reuse; by
#                          default one is generated in a temporary directory
#   NKTLS_INTEROP_TIMEOUT  seconds any one external command may take (default 10)
#
# Output is TAP: one "ok N - name" / "not ok N - name" line per case, "# " lines
# for diagnostics, the plan "1..N" and a "# P passed, F failed, S skipped" line
# at the end. The script's exit status is 1 if any case failed.

# Variables set here are read by the scripts that source this file.
# shellcheck disable=SC2034

set -uo pipefail

NKTLS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NKTLS_BUILD=${NKTLS_BUILD:-$NKTLS_ROOT/build}
case $NKTLS_BUILD in /*) ;; *) NKTLS_BUILD=$NKTLS_ROOT/$NKTLS_BUILD ;; esac
NK_SERVER=$NKTLS_BUILD/examples/nktls-server
NK_CLIENT=$NKTLS_BUILD/examples/nktls-client
T_TIMEOUT=${NKTLS_INTEROP_TIMEOUT:-10}

# Cipher suites and groups as OpenSSL spells them; every suite x group is a case.
SUITES=(TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256
        TLS_AES_128_CCM_SHA256)
GROUPS_ALL=(X25519 P-256 P-384 X448 P-521)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/nktls-interop.XXXXXX")

# ---- TAP ------------------------------------------------------------------

TAP_N=0 TAP_PASS=0 TAP_FAIL=0 TAP_SKIP=0
SLOW_FAILS=0        # consecutive failures that ran into a timeout
CASE_START=0
MAX_SLOW_FAILS=4

tap_ok() {
    TAP_N=$((TAP_N + 1)) TAP_PASS=$((TAP_PASS + 1)) SLOW_FAILS=0
    echo "ok $TAP_N - $1"
}

# tap_fail NAME REASON [LOGFILE...]: the reason and the tail of each log as
# diagnostics, then the verdict.
tap_fail() {
    local name=$1 reason=$2 f
    shift 2
    TAP_N=$((TAP_N + 1)) TAP_FAIL=$((TAP_FAIL + 1))
    # Only a case that ran moves the count; one that was not run leaves it.
    if [ "$CASE_START" -gt 0 ]; then
        if [ $((SECONDS - CASE_START)) -ge "$T_TIMEOUT" ]; then
            SLOW_FAILS=$((SLOW_FAILS + 1))
        else
            SLOW_FAILS=0
        fi
    fi
    echo "# $name: $reason"
    for f in "$@"; do
        [ -s "$f" ] || continue
        echo "#   --- ${f##*/} (last lines)"
        tail -n 6 "$f" | LC_ALL=C tr -c '[:print:]\n' '?' | sed 's/^/#   /'
    done
    echo "not ok $TAP_N - $name"
}

tap_skip() {
    TAP_N=$((TAP_N + 1)) TAP_SKIP=$((TAP_SKIP + 1))
    echo "ok $TAP_N - $1 # SKIP $2"
}

# tap_done: plan, summary, exit status.
tap_done() {
    echo "1..$TAP_N"
    echo "# $TAP_PASS passed, $TAP_FAIL failed, $TAP_SKIP skipped"
    [ "$TAP_FAIL" -eq 0 ]
}

# section TITLE: a group of cases against one peer program; the hang detector
# below starts afresh in each.
section() {
    SLOW_FAILS=0
    echo "# --- $1"
}

# run_case NAME FUNC ARGS...: runs one case. FUNC returns 0 for a pass; on
# failure it sets FAIL_REASON (and FAIL_LOGS) and returns 1; it may set
# SKIP_REASON and return 2. After several consecutive failures that each ran
# into a timeout the peer is evidently hanging: the remaining cases fail at once
# instead of each waiting out its timeout.
run_case() {
    local name=$1 rc
    shift
    if [ "$SLOW_FAILS" -ge "$MAX_SLOW_FAILS" ]; then
        CASE_START=0
        tap_fail "$name" "not run: $SLOW_FAILS consecutive cases timed out before it"
        return
    fi
    FAIL_REASON="" FAIL_LOGS=() SKIP_REASON=""
    CASE_START=$SECONDS
    "$@"
    rc=$?
    case $rc in
    0) tap_ok "$name" ;;
    2) tap_skip "$name" "$SKIP_REASON" ;;
    *) tap_fail "$name" "${FAIL_REASON:-failed (status $rc)}" "${FAIL_LOGS[@]}" ;;
    esac
    CASE_START=0
}

fail() {
    FAIL_REASON=$1
    shift
    FAIL_LOGS=("$@")
    return 1
}

# ---- processes ------------------------------------------------------------

stop_pid() {
    local pid
    for pid in "$@"; do
        [ -n "$pid" ] || continue
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    return 0
}

# Background jobs still running are ours by construction: the shell's job list
# holds only its own children, so nothing else is ever signalled.
cleanup() {
    local pid
    for pid in $(jobs -p); do
        kill "$pid" 2>/dev/null
    done
    wait 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

alive() { kill -0 "$1" 2>/dev/null; }

# wait_grep PATTERN FILE: until FILE has a line matching PATTERN (grep -E), or
# 5 seconds pass: a server logs a failed handshake after the client has seen
# its alert, so the log line may still be on its way.
wait_grep() {
    local i
    for i in $(seq 100); do
        grep -qE "$1" "$2" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# wait_size FILE BYTES [PID]: until FILE holds BYTES bytes, PID exits, or the
# timeout passes. Returns 0 only when the size was reached.
wait_size() {
    local file=$1 want=$2 pid=${3:-} i=0 size
    while [ $i -lt $((T_TIMEOUT * 20)) ]; do
        size=$(stat -c %s "$file" 2>/dev/null || echo 0)
        [ "$size" -ge "$want" ] && return 0
        if [ -n "$pid" ] && ! alive "$pid"; then
            return 1
        fi
        sleep 0.05
        i=$((i + 1))
    done
    return 1
}

# spawn_fed NAME INPUT WATCH BYTES CMD...: starts CMD in the background under a
# timeout, stdout to $WORK/NAME.out, stderr to $WORK/NAME.err. Its stdin gets
# INPUT and is then held open until WATCH holds BYTES bytes (or CMD exits), so
# CMD sees end of input only once all the data it expects has arrived: peers
# that close on end of input cannot cut the exchange short. Sets SPAWN_PID.
spawn_fed() {
    local name=$1 input=$2 watch=$3 want=$4 fifo
    shift 4
    fifo=$WORK/$name.fifo
    rm -f "$fifo" "$WORK/$name.out" "$WORK/$name.err"
    mkfifo "$fifo"
    timeout "$T_TIMEOUT" "$@" <"$fifo" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    SPAWN_PID=$!
    { cat "$input"; wait_size "$watch" "$want" "$SPAWN_PID"; } >"$fifo" 2>/dev/null &
}

# spawn_idle NAME CMD...: like spawn_fed, with stdin held open (empty) until CMD exits.
spawn_idle() {
    local name=$1
    shift
    spawn_fed "$name" /dev/null /dev/null 1 "$@"
}

# finish PID: waits for it; sets RC to its exit status (124: timed out).
finish() {
    wait "$1" 2>/dev/null
    RC=$?
}

# finish_within PID SECS: gives PID a few seconds to exit by itself (a
# one-connection peer after a failed handshake), then stops it. Sets RC.
finish_within() {
    local pid=$1 i=0
    while alive "$pid" && [ $i -lt $(($2 * 20)) ]; do
        sleep 0.05
        i=$((i + 1))
    done
    alive "$pid" && kill "$pid" 2>/dev/null
    finish "$pid"
}

# ---- ports and servers ----------------------------------------------------

# port_in_use PORT: any TCP or UDP socket on this port, in any state.
port_in_use() {
    local hex
    hex=$(printf '%04X' "$1")
    cat /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6 2>/dev/null | awk -v p=":$hex" \
        'NR > 1 && (substr($2, length($2) - 4) == p || substr($3, length($3) - 4) == p) { f = 1 }
         END { exit !f }'
}

# is_listening PORT
is_listening() {
    local hex
    hex=$(printf '%04X' "$1")
    cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v p=":$hex" \
        'NR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }'
}

# udp_bound PORT: a UDP socket is bound to this port.
udp_bound() {
    local hex
    hex=$(printf '%04X' "$1")
    cat /proc/net/udp /proc/net/udp6 2>/dev/null | awk -v p=":$hex" \
        'NR > 1 && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }'
}

# pick_port: a port nothing uses now (others may run tests on this machine too).
pick_port() {
    local p
    while :; do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
        port_in_use "$p" || { echo "$p"; return; }
    done
}

# wait_listen PORT PID [CHECK]: until PORT accepts (without connecting to it: a
# server started for one connection must not spend it on our probe), PID exits,
# or timeout. CHECK (default is_listening) is the test on PORT: udp_bound for
# a UDP server.
wait_listen() {
    local port=$1 pid=$2 check=${3:-is_listening} i=0
    while [ $i -lt $((T_TIMEOUT * 20)) ]; do
        "$check" "$port" && return 0
        alive "$pid" || return 1
        sleep 0.05
        i=$((i + 1))
    done
    return 1
}

# start_peer_server NAME INPUT WATCH BYTES CMD... — CMD contains the word @PORT@;
# picks a free port, starts CMD via spawn_fed, waits until it listens. Retries
# with another port if someone took ours meanwhile. Sets PEER_PID, PEER_PORT.
start_peer_server() {
    local name=$1 input=$2 watch=$3 want=$4 try port a args
    shift 4
    for try in 1 2 3; do
        port=$(pick_port)
        args=()
        for a in "$@"; do args+=("${a//@PORT@/$port}"); done
        spawn_fed "$name" "$input" "$watch" "$want" "${args[@]}"
        PEER_PID=$SPAWN_PID PEER_PORT=$port
        wait_listen "$port" "$PEER_PID" && return 0
        stop_pid "$PEER_PID"
        grep -qiE "in use|bind" "$WORK/$name.err" "$WORK/$name.out" 2>/dev/null || break
    done
    return 1
}

# nk_server_start NAME ARGS...: nktls-server on an ephemeral port, echo mode
# unless ARGS say otherwise; waits for its "listening on ADDR:PORT" line.
# Sets NK_PID, NK_PORT, NK_LOG. It runs until nk_server_stop (or the script ends).
nk_server_start() {
    local name=$1 i=0 line
    shift
    NK_LOG=$WORK/$name.log NK_PORT="" NK_PID=""
    rm -f "$NK_LOG"
    # The lifetime cap only matters if this script is killed without cleanup.
    timeout 600 "$NK_SERVER" --listen 127.0.0.1:0 "$@" </dev/null >"$NK_LOG" 2>&1 &
    NK_PID=$!
    while [ $i -lt $((T_TIMEOUT * 20)) ]; do
        line=$(grep -m1 -oE 'listening on [^ ]*:[0-9]+' "$NK_LOG" 2>/dev/null)
        if [ -n "$line" ]; then
            NK_PORT=${line##*:}
            return 0
        fi
        alive "$NK_PID" || return 1
        sleep 0.05
        i=$((i + 1))
    done
    return 1
}

nk_server_stop() {
    stop_pid "$NK_PID"
    NK_PID="" NK_KEY=""
}

# nk_server_ensure NAME ARGS...: an nktls-server started with exactly these
# arguments is running (restarted if it died or was started differently).
NK_PID="" NK_KEY=""
nk_server_ensure() {
    if [ -n "$NK_PID" ] && alive "$NK_PID" && [ "$*" = "$NK_KEY" ]; then
        return 0
    fi
    nk_server_stop
    NK_KEY="$*"
    nk_server_start "$@" || { NK_KEY=""; return 1; }
}

# ---- nginx --------------------------------------------------------------------

NGINX=$(command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true)

# nginx_start NAME DIRECTIVES: nginx from a throwaway configuration in
# $WORK/NAME (no daemon, no master, every path it writes there; the system's
# configuration is never read), one TLS server on a free loopback port with
# DIRECTIVES (certificate, protocols, locations) inside its server block. The
# port goes into the configuration when it starts, so a retry on another port
# gets its own. Sets PEER_PID and PEER_PORT; the error log is $WORK/NAME/error.log.
nginx_start() {
    local name=$1 d=$WORK/$1
    mkdir -p "$d"
    cat >"$d/nginx.conf.in" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $d/body;
    proxy_temp_path $d/proxy;
    fastcgi_temp_path $d/fastcgi;
    uwsgi_temp_path $d/uwsgi;
    scgi_temp_path $d/scgi;
    keepalive_requests 100000;
    server {
        listen 127.0.0.1:LISTEN_PORT ssl;
$2
    }
}
EOF
    local try port
    for try in 1 2 3; do
        port=$(pick_port)
        sed "s/LISTEN_PORT/$port/" "$d/nginx.conf.in" >"$d/nginx.conf"
        # It runs for the rest of the script (the lifetime cap only matters
        # if the script is killed without its cleanup).
        timeout 600 "$NGINX" -p "$d" -c "$d/nginx.conf" -e "$d/error.log" \
            </dev/null >"$WORK/$name.out" 2>"$WORK/$name.err" &
        PEER_PID=$! PEER_PORT=$port
        wait_listen "$port" "$PEER_PID" && return 0
        stop_pid "$PEER_PID"
        grep -qiE "in use|bind" "$WORK/$name.err" "$d/error.log" 2>/dev/null || break
    done
    return 1
}

# ---- inputs -----------------------------------------------------------------

# certs_init: CERTS names a gen-certs directory, made once per run.
certs_init() {
    if [ -n "${NKTLS_CERTS:-}" ] && [ -f "$NKTLS_CERTS/ca.pem" ]; then
        CERTS=$NKTLS_CERTS
    else
        CERTS=$WORK/certs
        "$NKTLS_ROOT/scripts/gen-certs" "$CERTS" >"$WORK/gen-certs.log" 2>&1 || {
            echo "# gen-certs failed:"
            sed 's/^/#   /' "$WORK/gen-certs.log"
            return 1
        }
    fi
}

# data_init: DATA_C2S and DATA_S2C, 100 KB of random bytes each; TEXT_C2S, about
# 100 KB of base64 lines (for peers whose echo mode is line-oriented).
data_init() {
    DATA_C2S=$WORK/data-c2s DATA_S2C=$WORK/data-s2c TEXT_C2S=$WORK/text-c2s
    head -c 102400 /dev/urandom >"$DATA_C2S"
    head -c 102400 /dev/urandom >"$DATA_S2C"
    head -c 76800 /dev/urandom | base64 -w 76 >"$TEXT_C2S"
}

size_of() { stat -c %s "$1"; }

# require_nktls: the example programs exist, else one failed case and exit.
require_nktls() {
    if [ ! -x "$NK_SERVER" ] || [ ! -x "$NK_CLIENT" ]; then
        tap_fail "nktls example programs built" "missing $NK_SERVER or $NK_CLIENT"
        tap_done
        exit 1
    fi
}

# require_tool NAME...: exit 77 with a skip when a peer program is missing.
require_tool() {
    local t
    for t in "$@"; do
        if ! command -v "$t" >/dev/null; then
            echo "1..0 # SKIP $t not installed"
            exit 77
        fi
    done
}

# ---- checks on nktls-client -v output ---------------------------------------

# nk_client_check ERRFILE SUITE GROUP: the -v lines name what was negotiated
# (empty SUITE or GROUP: not checked).
nk_client_check() {
    local err=$1 suite=$2 group=$3
    grep -qx 'protocol: TLSv1.3' "$err" || { fail "client -v: no 'protocol: TLSv1.3'" "$err"; return 1; }
    if [ -n "$suite" ] && ! grep -qx "cipher: $suite" "$err"; then
        fail "client -v: no 'cipher: $suite'" "$err"
        return 1
    fi
    if [ -n "$group" ] && ! grep -qx "group: $group" "$err"; then
        fail "client -v: no 'group: $group'" "$err"
        return 1
    fi
    # In the kTLS VM the kernel must carry both directions: the peer's data and
    # its post-handshake records (session tickets, close_notify) then arrived
    # through the kernel. The kernel has no AES-128-CCM with an 8-byte tag:
    # that suite stays in software, saying why.
    [ "${NKTLS_IN_VM:-}" = 1 ] || return 0
    if [ "$suite" = TLS_AES_128_CCM_8_SHA256 ]; then
        grep -q '^record layer: tx software (cipher not supported by the kernel)' "$err" ||
            { fail "client -v: CCM_8 not left to software with its reason" "$err"; return 1; }
    elif ! grep -qE '^record layer: tx kernel.*, rx kernel' "$err"; then
        fail "client -v: records not carried by the kernel" "$err"
        return 1
    fi
    return 0
}

# same_bytes EXPECTED ACTUAL WHAT LOGS...
same_bytes() {
    local want=$1 got=$2 what=$3
    shift 3
    if ! cmp -s "$want" "$got"; then
        fail "$what: $(size_of "$got" 2>/dev/null || echo 0) of $(size_of "$want") bytes, $(cmp "$want" "$got" 2>&1 | head -1)" "$@"
        return 1
    fi
}
