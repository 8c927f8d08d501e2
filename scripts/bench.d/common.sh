# scripts/bench.d/common.sh — helpers every section of scripts/bench uses:
# sessions for background servers, CPU ticks and RSS from /proc, ports,
# arithmetic, package installation, the servers under test and one run of the
# load tool. Sourced by scripts/bench (which sets ROOT, BUILD, OUTDIR, QUICK,
# CIPHER and FAILED); not run on its own.
# shellcheck shell=bash


# Every background process is started by spawn in a session of its own;
# whatever it starts stays in that session (nginx workers, and qemu, which
# vm-test runs under timeout(1) in a process group of its own). Stopping a
# spawned command signals every process of its session, found by session id
# (/proc/PID/stat field 6), so nothing it started outlives this script.
SESSIONS=()
WORK=""

# proc_stat PID-FILE: the fields of a /proc/PID/stat after "pid (comm) " into
# the array PS (PS[0] is field 3, the state); false if the process is gone.
proc_stat() {
    local s
    { read -r s <"$1"; } 2>/dev/null || return 1
    s=${s##*) }                # the command name may contain spaces
    read -r -a PS <<<"$s"
}

# alive PID: the process lives (a zombie, dead but not yet reaped, does not).
alive() {
    local -a PS
    proc_stat "/proc/$1/stat" && [ "${PS[0]}" != Z ]
}

# session_pids SID: the live processes of session SID.
session_pids() {
    local f
    local -a PS
    for f in /proc/[0-9]*/stat; do
        proc_stat "$f" && [ "${PS[3]}" = "$1" ] && echo "${f//[^0-9]/}"
    done
    return 0
}

# stop SID: TERM to every process of the session, KILL to what is left after
# 5 s, then reaps the leader and forgets the session.
stop() {
    local pids sid
    local -a keep=()
    pids=$(session_pids "$1")
    # shellcheck disable=SC2086  # one pid per word
    [ -z "$pids" ] || kill -TERM $pids 2>/dev/null || true
    for _ in $(seq 50); do
        [ -n "$(session_pids "$1")" ] || break
        sleep 0.1
    done
    pids=$(session_pids "$1")
    # shellcheck disable=SC2086
    [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    for sid in "${SESSIONS[@]}"; do [ "$sid" = "$1" ] || keep+=("$sid"); done
    SESSIONS=("${keep[@]}")
}

cleanup() {
    local sid
    for sid in "${SESSIONS[@]}"; do stop "$sid"; done
    [ -z "$WORK" ] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# spawn OUT ERR CMD...: runs CMD in the background in a new session, stdout
# to OUT and stderr to ERR; sets SPAWNED to its pid, which is also the
# session's id. The script has no job control, so the child is not a group
# leader and setsid needs no fork: $! is CMD's pid.
spawn() {
    local out=$1 err=$2
    shift 2
    setsid "$@" >"$out" 2>"$err" </dev/null &
    SPAWNED=$!
    SESSIONS+=("$SPAWNED")
}

say() { echo "bench: $*" >&2; }

# calc EXPR [FORMAT]: floating-point arithmetic (awk), printed with FORMAT
# (default %.4g). The parentheses keep a ">" in EXPR a comparison, not an
# output redirection.
calc() { awk "BEGIN { printf \"${2:-%.4g}\", ($1) }"; }

# median N...: the median of the numbers.
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2];
              else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# kv KEY LINE: the value of KEY in a key=value line.
kv() { awk -v k="$1" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) {
        print substr($i, length(k) + 2); exit } }' <<<"$2"; }

# free_port: a TCP port nothing on this machine uses now.
free_port() {
    local p used
    used=$(ss -Htan 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }' | sort -u)
    for _ in $(seq 100); do
        p=$((20000 + RANDOM % 40000))
        grep -qx "$p" <<<"$used" || { echo "$p"; return 0; }
    done
    return 1
}

# wait_listen PORT PID SECS: waits until something listens on 127.0.0.1:PORT
# (without connecting, which a one-connection-at-a-time server would take as
# a client) while PID lives.
wait_listen() {
    local i
    for i in $(seq $(($3 * 10))); do
        alive "$2" || return 1
        ss -Htln "sport = :$1" 2>/dev/null | grep -q . && return 0
        sleep 0.1
    done
    return 1
}

# session_ticks SID: user+system clock ticks of every live process in the
# session (/proc/PID/stat fields 14 and 15).
session_ticks() {
    local f total=0
    local -a PS
    for f in /proc/[0-9]*/stat; do
        proc_stat "$f" && [ "${PS[3]}" = "$1" ] && total=$((total + PS[11] + PS[12]))
    done
    echo "$total"
}

# session_rss_kb SID: resident memory (KiB) of every live process in the
# session (/proc/PID/status VmRSS).
session_rss_kb() {
    local f total=0 v
    local -a PS
    for f in /proc/[0-9]*/stat; do
        proc_stat "$f" && [ "${PS[3]}" = "$1" ] || continue
        v=$(awk '$1 == "VmRSS:" { print $2 }' "${f%stat}status" 2>/dev/null || true)
        total=$((total + ${v:-0}))
    done
    echo "$total"
}

CLK_TCK=$(getconf CLK_TCK)
if [ "$(nproc)" -ge 2 ]; then
    PIN_SERVER=(taskset -c 0)
    PIN_CLIENT=(taskset -c 1)
    PIN_NOTE="server pinned to CPU 0, client to CPU 1"
else
    PIN_SERVER=()
    PIN_CLIENT=()
    PIN_NOTE="one CPU: server and client share it"
fi


# Results of every section, key -> value; the summary reads them.
declare -A R=()

# fmt VALUE: a figure for the table, or "-" when missing.
fmt() { [ -n "${1:-}" ] && echo "$1" || echo "-"; }
# ratio A B: A/B with two decimals, or "-".
ratio() {
    if [ -n "${1:-}" ] && [ -n "${2:-}" ] && [ "${1:-}" != - ] && [ "${2:-}" != - ] &&
        [ "$(calc "$2 != 0" %d)" = 1 ]; then
        calc "$1 / $2" %.2f
    else
        echo "-"
    fi
}
# num VALUE [FORMAT]: VALUE formatted (default %.0f), or "-" when missing.
num() {
    if [ -n "${1:-}" ] && [ "$1" != - ]; then calc "$1" "${2:-%.0f}"; else echo "-"; fi
}

# qd DEFAULT QUICK: the first without --quick, the second with it.
qd() { if [ "$QUICK" = 1 ]; then echo "$2"; else echo "$1"; fi; }

# jfields FILE KEY...: the values of KEY... in a JSON file, one "KEY=value"
# line each, parsed with python3 (not matched as text). A key is looked up
# depth first wherever it is in the document ("total" inside "errors" is
# written errors.total), so a field nktls-load gains or nests does not move
# the others; a key that is missing prints nothing.
jfields() {
    python3 - "$@" <<'PY' 2>/dev/null
import json, sys
def find(node, key):
    if isinstance(node, dict):
        if key in node and not isinstance(node[key], (dict, list)):
            return node[key]
        for v in node.values():
            r = find(v, key)
            if r is not None:
                return r
    elif isinstance(node, list):
        for v in node:
            r = find(v, key)
            if r is not None:
                return r
    return None
doc = json.load(open(sys.argv[1]))
for key in sys.argv[2:]:
    node = doc
    for part in key.split(".")[:-1]:     # a missing parent: search everywhere
        sub = node.get(part) if isinstance(node, dict) else None
        node = sub if isinstance(sub, (dict, list)) else node
    v = find(node, key.split(".")[-1])
    if v is not None:
        print(f"{key}={v}")
PY
}

# jget FILE KEY: one value of jfields.
jget() { jfields "$1" "$2" | sed -n "s/^$2=//p"; }

# vm_accel: what scripts/vm-test will boot with: kvm when /dev/kvm opens and
# the CPU shows vmx/svm (or NKTLS_VM_ACCEL says so), else tcg.
vm_accel() {
    if [ "${NKTLS_VM_ACCEL:-auto}" = kvm ] ||
        { [ "${NKTLS_VM_ACCEL:-auto}" = auto ] && (exec 3<>/dev/kvm) 2>/dev/null &&
          grep -qwE 'vmx|svm' /proc/cpuinfo; }; then
        echo kvm
    else
        echo tcg
    fi
}

# ---- packages --------------------------------------------------------------------

APT_UPDATED=0
# ensure_pkgs PACKAGE...: installs (apt-get, root only) the Debian packages
# that are not installed; "apt-get update" runs at most once. False when some
# are missing and could not be installed.
ensure_pkgs() {
    local p missing=()
    for p in "$@"; do
        [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] ||
            missing+=("$p")
    done
    [ ${#missing[@]} -gt 0 ] || return 0
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        say "missing: ${missing[*]} (not root or no apt-get: not installing)"
        return 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    if [ "$APT_UPDATED" = 0 ]; then
        say "apt-get update"
        timeout 300 apt-get update -qq >&2 || say "apt-get update failed"
        APT_UPDATED=1
    fi
    say "installing ${missing[*]} (apt-get)"
    timeout 900 apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || {
        say "apt-get install ${missing[*]} failed"
        return 1
    }
}

# ---- servers under test -----------------------------------------------------------
#
# Every server gets the same certificate (scripts/gen-certs), TLS 1.3 only,
# $CIPHER, X25519, one worker, pinned to the server CPU, listening on
# 127.0.0.1 (gnutls-serv has no address option: it listens on every address,
# on a random port, for the few seconds it runs).
#
# Session tickets: each NewSessionTicket costs the server a ticket sealed and a
# record encrypted per full handshake, so every server sends the same number,
# one: nktls sends 1 (its default, SSL_SET_NUM_TICKETS), nginx is given
# "ssl_conf_command NumTickets 1" (its library's default is 2) and openssl
# s_server "-num_tickets 1" (default 2). gnutls-serv sends 2 and has no
# setting for it: its rows say so. tickets_probe counts what each server
# really sends, and the handshake table shows the count.

CERTS=""
WWW=""
# setup_certs: certificates and the web root (files the sections add) in $WORK.
setup_certs() {
    [ -z "$CERTS" ] || return 0
    CERTS=$WORK/certs
    WWW=$WORK/www
    "$ROOT/scripts/gen-certs" "$CERTS" >/dev/null 2>&1 || { say "gen-certs failed"; exit 1; }
    mkdir -p "$WWW"
    echo ok >"$WWW/index.html"
    # nginx workers drop to an unprivileged user: they must reach the files.
    chmod 755 "$WORK" "$WWW"
    chmod 644 "$WWW/index.html"
}

# www_file NAME BYTES: a file of random bytes in the web root.
www_file() {
    [ -f "$WWW/$1" ] && [ "$(stat -c %s "$WWW/$1")" = "$2" ] && return 0
    head -c "$2" /dev/urandom >"$WWW/$1"
    chmod 644 "$WWW/$1"
}

# cert_files KEY: CERT and KEYF for p256 or rsa2048.
cert_files() {
    case $1 in
    p256) CERT=$CERTS/server.pem KEYF=$CERTS/server.key ;;
    rsa2048) CERT=$CERTS/server-rsa.pem KEYF=$CERTS/server-rsa.key ;;
    *) say "unknown key $1"; exit 2 ;;
    esac
}

# server_label KIND: how the tables name a server.
server_label() {
    case $1 in
    nktls-uring) echo "nktls-server --io uring" ;;
    nktls-epoll) echo "nktls-server --io epoll" ;;
    nktls-root) echo "nktls-server --root --io uring" ;;
    nktls-root-epoll) echo "nktls-server --root --io epoll" ;;
    nktls-root-threads) echo "nktls-server --root --io threads" ;;
    nginx) echo "nginx ${NGINX_VERSION:-}" ;;
    openssl) echo "openssl s_server ${OPENSSL_VERSION:-}" ;;
    gnutls) echo "gnutls-serv ${GNUTLS_VERSION:-}" ;;
    *) echo "$1" ;;
    esac
}

NGINX_VERSION=$(nginx -v 2>&1 | sed -n 's/.*nginx\///p' || true)
OPENSSL_VERSION=$(openssl version 2>/dev/null | awk '{ print $2 }' || true)
GNUTLS_VERSION=$(gnutls-serv --version 2>/dev/null | awk 'NR == 1 { print $NF }' || true)

# nginx_conf DIR PORT CERT KEY [ROOT]: a throwaway nginx.conf in DIR serving
# ROOT (default $WWW); every path nginx writes is in DIR, the system
# configuration is never read. NO_TICKETS and EARLY_DATA (0-RTT on) set:
# as server_start says.
nginx_conf() {
    local ng=$1
    mkdir -p "$ng"
    cat >"$ng/nginx.conf" <<NGINX
worker_processes 1;
worker_rlimit_nofile 65536;
pid $ng/nginx.pid;
error_log $ng/error.log;
events { worker_connections 30000; }
http {
    access_log off;
    sendfile on;
    keepalive_requests 1000000;
    keepalive_timeout 600s;
    client_header_timeout 600s;
    default_type application/octet-stream;
    client_body_temp_path $ng/body;
    proxy_temp_path $ng/proxy;
    fastcgi_temp_path $ng/fastcgi;
    uwsgi_temp_path $ng/uwsgi;
    scgi_temp_path $ng/scgi;
    server {
        listen 127.0.0.1:$2 ssl backlog=4096;
        ssl_certificate $3;
        ssl_certificate_key $4;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_conf_command Ciphersuites $CIPHER;
        ssl_ecdh_curve X25519;
        ssl_session_tickets $([ -n "${NO_TICKETS:-}" ] && echo "off; ssl_session_cache shared:SSL:10m" || echo on);
        ssl_conf_command NumTickets 1;
        ssl_early_data $([ -n "${EARLY_DATA:-}" ] && echo on || echo off);
        root ${5:-$WWW};
    }
}
NGINX
}

SRV=""
PORT=""
SRV_ERR=""
NKTLS_ROOT_IO=""
# server_start KIND KEY: starts a server on a free port with KEY's certificate;
# sets PORT and SRV (its session). KIND: nktls-uring, nktls-epoll (echo),
# nktls-root (files from $WWW), nginx (files from $WWW), openssl (s_server
# -WWW in $WWW), gnutls (gnutls-serv --echo). NO_TICKETS set: no session
# tickets (nktls, nginx); EARLY_DATA=BYTES set: TLS 1.3 0-RTT data accepted
# (nktls-server --max-early-data BYTES, nginx ssl_early_data on). False, with
# SRV_ERR, when it does not listen within 10 s.
server_start() {
    local kind=$1 log=$WORK/$1.log
    SRV_KIND=$kind
    setup_certs
    cert_files "$2"
    local -a nk=("$BIN/examples/nktls-server" --cert "$CERT" --key "$KEYF" --ciphers "$CIPHER,$CIPHER12"
        --groups X25519 --tls-min 1.2 --ktls off --workers 1 ${NO_TICKETS:+--tickets 0}
        ${EARLY_DATA:+--max-early-data "$EARLY_DATA"})
    PORT=$(free_port)
    SRV_ERR=""
    case $kind in
    nktls-uring|nktls-epoll)
        spawn "$log" "$log" "${PIN_SERVER[@]}" "${nk[@]}" --listen "127.0.0.1:$PORT" \
            --io "${kind#nktls-}" ;;
    nktls-root)
        NKTLS_ROOT_IO=uring
        spawn "$log" "$log" "${PIN_SERVER[@]}" "${nk[@]}" --listen "127.0.0.1:$PORT" \
            --io uring --root "$WWW" ;;
    nktls-root-epoll|nktls-root-threads)
        spawn "$log" "$log" "${PIN_SERVER[@]}" "${nk[@]}" --listen "127.0.0.1:$PORT" \
            --io "${kind#nktls-root-}" --root "$WWW" ;;
    nginx)
        command -v nginx >/dev/null || { SRV_ERR="nginx not installed"; return 1; }
        nginx_conf "$WORK/nginx-$PORT" "$PORT" "$CERT" "$KEYF"
        spawn "$log" "$log" "${PIN_SERVER[@]}" nginx -e "$WORK/nginx-$PORT/error.log" \
            -c "$WORK/nginx-$PORT/nginx.conf" -p "$WORK/nginx-$PORT" -g 'daemon off;' ;;
    openssl)
        # -WWW serves files relative to the working directory; tickets are
        # on by default.
        # shellcheck disable=SC2016  # $1 and $@ belong to the inner shell
        spawn "$log" "$log" bash -c 'cd "$1" && shift && exec "$@"' _ "$WWW" \
            "${PIN_SERVER[@]}" openssl s_server -quiet -accept "127.0.0.1:$PORT" \
            -cert "$CERT" -key "$KEYF" -tls1_3 -ciphersuites "$CIPHER" -groups X25519 \
            -num_tickets 1 -WWW ;;
    gnutls)
        command -v gnutls-serv >/dev/null || { SRV_ERR="gnutls-serv not installed"; return 1; }
        # Tickets are on unless --noticket; -a: no certificate request.
        spawn "$log" "$log" "${PIN_SERVER[@]}" gnutls-serv --echo -q -a -p "$PORT" \
            --x509certfile "$CERT" --x509keyfile "$KEYF" \
            --priority "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+$(gnutls_cipher):-GROUP-ALL:+GROUP-X25519" ;;
    *) say "unknown server $kind"; exit 2 ;;
    esac
    SRV=$SPAWNED
    if ! wait_listen "$PORT" "$SRV" 10; then
        SRV_ERR="did not start: $(tail -c 200 "$log" | tr '\n' ' ')"
        stop "$SRV"
        return 1
    fi
}

# tickets_probe: how many NewSessionTicket messages the running server sends
# after one full handshake (openssl s_client -msg, which waits a second for
# them); empty when the probe failed.
tickets_probe() {
    local out
    out=$( (sleep 1) | timeout 10 "${PIN_CLIENT[@]}" openssl s_client -connect "127.0.0.1:$PORT" \
        -servername localhost -tls1_3 -ciphersuites "$CIPHER" -groups X25519 -msg 2>/dev/null) ||
        [ -n "$out" ] || return 0
    grep -q '^<<< .*Finished' <<<"$out" || return 0
    grep -c '^<<< .*NewSessionTicket' <<<"$out" || true
}

gnutls_cipher() {
    case $CIPHER in
    TLS_AES_128_GCM_SHA256) echo AES-128-GCM ;;
    TLS_AES_256_GCM_SHA384) echo AES-256-GCM ;;
    TLS_CHACHA20_POLY1305_SHA256) echo CHACHA20-POLY1305 ;;
    *) echo AES-128-GCM ;;
    esac
}

# ---- one run of the load tool -------------------------------------------------------

# load NAME RAW ARGS...: nktls-load (pinned to the client CPU) against
# 127.0.0.1:$PORT with ARGS; the server's CPU ticks (session $SRV) over the
# run. Sets L[ops] L[ops_s] L[hs_s] L[bytes_s] L[bytes_in] L[in_s] (bytes in
# per second: what the server sent) L[p99] L[p50]
# L[errors] L[resumed] L[cpu_s] L[ops_cpu] L[bytes_cpu] (per server
# CPU-second) and L[err] (why it gave no figure); appends a key=value line to
# RAW. False when the run gave no figure.
declare -A L=()
LOAD_TIMEOUT_PAD=60
load() {
    local name=$1 raw=$2 json t0 t1 rc=0 errs
    shift 2
    json=$WORK/load-$name.json
    rm -f "$json"
    L=()
    t0=$(session_ticks "$SRV")
    "${PIN_CLIENT[@]}" timeout "$((LOAD_SECS + LOAD_TIMEOUT_PAD))" "$BIN/examples/nktls-load" \
        --connect "127.0.0.1:$PORT" --servername localhost --insecure --tls 1.3 \
        --ciphers "$CIPHER" --groups X25519 --json "$json" "$@" \
        >"$WORK/load-$name.out" 2>"$WORK/load-$name.err" || rc=$?
    t1=$(session_ticks "$SRV")
    if ! alive "$SRV"; then
        L[err]="the server exited during the run: $(tail -c 160 "$WORK/${SRV_KIND:-server}.log" 2>/dev/null | tr '\n' ' ')"
        echo "run=$name error=\"${L[err]}\"" >>"$raw"
        return 1
    fi
    if [ ! -s "$json" ]; then
        L[err]="nktls-load exit $rc: $(tail -c 200 "$WORK/load-$name.err" | tr '\n' ' ')"
        echo "run=$name error=\"${L[err]}\"" >>"$raw"
        return 1
    fi
    declare -A J=()
    local kvline
    while IFS= read -r kvline; do J[${kvline%%=*}]=${kvline#*=}; done < <(jfields "$json" \
        operations ops_per_s handshakes_per_s bytes_per_s bytes_in resumed_fraction \
        latency_ms.p50 latency_ms.p99 elapsed_s errors.total errors.detail)
    L[ops]=${J[operations]:-}
    L[ops_s]=${J[ops_per_s]:-}
    L[hs_s]=${J[handshakes_per_s]:-}
    L[bytes_s]=${J[bytes_per_s]:-}
    L[bytes_in]=${J[bytes_in]:-}
    L[resumed]=${J[resumed_fraction]:-}
    L[p50]=${J[latency_ms.p50]:-}
    L[p99]=${J[latency_ms.p99]:-}
    L[elapsed]=${J[elapsed_s]:-}
    errs=${J[errors.total]:-}
    L[errors]=${errs:-0}
    L[in_s]=$(calc "${L[bytes_in]:-0} / ${L[elapsed]:-1}" %.1f)
    L[cpu_s]=$(calc "($t1 - $t0) / $CLK_TCK" %.3f)
    if [ "$(calc "${L[cpu_s]} > 0" %d)" = 1 ]; then
        L[ops_cpu]=$(calc "${L[ops]} / ${L[cpu_s]}" %.1f)
        L[bytes_cpu]=$(calc "${L[bytes_in]:-0} / ${L[cpu_s]}" %.1f)
    fi
    echo "run=$name ops=${L[ops]} ops_per_s=${L[ops_s]} handshakes_per_s=${L[hs_s]} bytes_per_s=${L[bytes_s]} bytes_in=${L[bytes_in]} resumed_fraction=${L[resumed]} p50_ms=${L[p50]} p99_ms=${L[p99]} in_per_s=${L[in_s]} errors=${L[errors]} elapsed_s=${L[elapsed]} server_cpu_s=${L[cpu_s]} ops_per_cpu_s=${L[ops_cpu]:-} bytes_per_cpu_s=${L[bytes_cpu]:-}" >>"$raw"
    if [ "${L[ops]:-0}" = 0 ]; then
        L[err]="no operation completed (${J[errors.detail]:-no error detail})"
        return 1
    fi
    # A run where a tenth or more of the operations failed measures the
    # failures, not the server.
    if [ "$(calc "${L[errors]} * 10 >= ${L[ops]}" %d)" = 1 ]; then
        L[err]="${L[errors]} errors in ${L[ops]} operations: $(tail -c 160 "$WORK/load-$name.out" | tr '\n' ' ')"
        return 1
    fi
}

# LOAD_SECS: --duration for the next load runs (the timeout leaves room).
LOAD_SECS=5

# ---- build --------------------------------------------------------------------------

# build [TARGET...]: meson setup when needed, then the programs every section
# runs and the given targets (only what the benchmarks run: a half-written test
# elsewhere should not stop them), then the optional ones (OPTIONAL_TARGETS),
# then a snapshot of them all in $BIN. The benchmarks run the snapshot: others
# rebuilding the tree during a run (the library is relinked in place) cannot
# change what one run measures. NKTLS_BENCH_NOBUILD set: no build, a snapshot
# of what build/ has.
BIN=$OUTDIR/bin
OPTIONAL_TARGETS=(tests/bench/bench_handshake tests/bench/bench_handshake_ossl tests/bench/bench_dtls
    tests/bench/bench_dtls_ossl tests/bench/dtls_client_ossl)
build() {
    local try t
    for try in 1 2 3; do
        if [ -z "${NKTLS_BENCH_NOBUILD:-}" ]; then
            say "building (meson, $BUILD)"
            if [ ! -f "$BUILD/build.ninja" ]; then
                meson setup "$BUILD" >&2 || { say "meson setup failed"; exit 1; }
            fi
            ninja -C "$BUILD" examples/nktls-server examples/nktls-load "$@" >&2 ||
                { say "build failed"; exit 1; }
            for t in "${OPTIONAL_TARGETS[@]}"; do
                build_optional "$t" || say "$t: not built (see $WORK/build-${t##*/}.log)"
            done
        else
            say "NKTLS_BENCH_NOBUILD: not building, using what $BUILD has"
        fi
        snapshot && return 0
        say "the snapshot of the build does not run (rebuilt meanwhile?): again in 10 s"
        sleep 10
    done
    say "no working snapshot of $BUILD"
    exit 1
}

# snapshot: copies the programs and libnktls into $BIN (same layout: the
# programs find the library at \$ORIGIN/..) and checks that they start.
snapshot() {
    local f
    rm -rf "$BIN"
    mkdir -p "$BIN/examples" "$BIN/tests/bench"
    cp -L "$BUILD/libnktls.so.0" "$BIN/libnktls.so.0" || return 1
    cp "$BUILD/examples/nktls-server" "$BUILD/examples/nktls-load" "$BIN/examples/" || return 1
    for f in "$BUILD"/tests/bench/bench_* "$BUILD"/tests/bench/dtls_client_*; do
        [ ! -f "$f" ] || [ ! -x "$f" ] || cp "$f" "$BIN/tests/bench/"
    done
    for f in "$BIN/examples/nktls-server" "$BIN/examples/nktls-load"; do
        # (not piped into grep -q: its early exit would fail the pipeline)
        [[ $("$f" --help 2>&1) == usage* ]] || return 1
    done
}

# build_optional TARGET: builds TARGET when the tree has it; false otherwise.
build_optional() {
    ninja -C "$BUILD" -t query "$1" >/dev/null 2>&1 || return 1
    ninja -C "$BUILD" "$1" >"$WORK/build-${1##*/}.log" 2>&1
}
