#!/usr/bin/env bash
# tests/interop/fault.sh — what hostile or broken peers can make nktls-server
# hold, on loopback: 5,000 stalled half-ClientHellos, 1,000 ClientHellos that
# declare a huge length, 200 peers that never read their echo, and resets
# mid-record, mid-sendfile and mid-KeyUpdate. For each, against the event loop
# (io_uring and epoll) and the thread-per-connection server where it applies:
# the server goes on serving a normal client meanwhile, closes or refuses the
# bad peers exactly as it should, and afterwards holds no more descriptors than
# before; the event loop's RSS is back within 1 MiB of its baseline (measured
# after warm-up connections, which make the process-wide state). The peers are
# tests/interop/fault/peers.py. FAULT_CASES=REGEX runs only the cases whose
# names match. TAP on stdout.
source "$(dirname "$0")/lib.sh"

PEERS=$NKTLS_ROOT/tests/interop/fault/peers.py
require_nktls
require_tool python3 openssl
certs_init || exit 1

# Every stalled peer is a descriptor here and one in the server.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
NOFILE=$(ulimit -n)

SRV=(--cert "$CERTS/server.pem" --key "$CERTS/server.key")
SLACK_KB=1024           # "back to baseline": within 1 MiB
RETURN_WAIT=10          # seconds the server may take to give memory back
HS_DEADLINE=15          # the server's handshake timeout (TIMEOUT_SSL_HELLO)

status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }
fd_count() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

# probe TAG: a normal client completes a handshake and an echo of 1000 bytes.
probe() {
    local tag=$1 bytes=${PROBE_BYTES:-1000}
    head -c "$bytes" /dev/urandom >"$WORK/probe-$tag.in"
    spawn_fed "probe-$tag" "$WORK/probe-$tag.in" "$WORK/probe-$tag.out" "$bytes" \
        "$NK_CLIENT" --connect "127.0.0.1:$NK_PORT" --servername localhost --ca "$CERTS/ca.pem" --echo
    finish "$SPAWN_PID"
    cmp -s "$WORK/probe-$tag.in" "$WORK/probe-$tag.out" ||
        { fail "a normal client was not served ($tag): status $RC" "$WORK/probe-$tag.err" "$NK_LOG"; return 1; }
}

# fresh_server NAME ARGS...: a new server (its peak RSS is this case's alone),
# warmed up by two normal clients ($WARM: probe, or get_small for --root);
# sets BASE_KB and BASE_FD.
WARM=probe
fresh_server() {
    local name=$1
    shift
    nk_server_stop
    case " $* " in
    *" --io uring "* | *" --io epoll "*) RSS_BACK=1 ;;
    *) RSS_BACK=0 ;;
    esac
    nk_server_start "$name" "${SRV[@]}" "$@" || { fail "nktls-server did not start" "$NK_LOG"; return 1; }
    # NK_PID is the timeout(1) wrapper; the server is its one child.
    SRV_PID=$(cat "/proc/$NK_PID/task/$NK_PID/children" 2>/dev/null)
    SRV_PID=${SRV_PID%% *}
    [ -n "$SRV_PID" ] || { fail "no nktls-server process under $NK_PID" "$NK_LOG"; return 1; }
    # The first warm-up echoes 16 MiB: an io_uring worker's receive buffers
    # (256 x 16 KiB, taken from its ring in turn) all become resident, as they
    # do under any load, and stay: a fixed cost of the worker, not of its peers.
    # On a busy machine receives come in smaller pieces and touch only the
    # first pages of each buffer per round: more rounds make them whole.
    PROBE_BYTES=$((16 << 20)) "$WARM" warm1 && "$WARM" warm2 || return 1
    # The baseline after the loop's idle trim (it gives the heap's free pages
    # back once a second has been quiet, uring/loop_idle.c), as the settled
    # figure is: measured before it, the baseline depended on whether a busy
    # machine had let the trim run yet.
    sleep 1.5
    BASE_KB=$(status_kb "$SRV_PID" VmRSS) BASE_FD=$(fd_count "$SRV_PID")
}

# settled WHAT: within RETURN_WAIT seconds the server is back to its baseline
# descriptors and within SLACK_KB of its baseline RSS. The RSS part holds for
# the event loop, which gives the heap's free pages back once a burst is over
# (uring/loop_idle.c); the thread-per-connection server (--io threads) leaves
# that to glibc, whose per-thread arenas keep what their threads freed: its RSS
# is reported, not held to the baseline.
settled() {
    local i=0 rss fds want
    while :; do
        rss=$(status_kb "$SRV_PID" VmRSS) fds=$(fd_count "$SRV_PID")
        [ -n "$rss" ] || { fail "$1: the server died" "$NK_LOG"; return 1; }
        want=$((BASE_KB + SLACK_KB))
        [ "$RSS_BACK" = 1 ] || want=$rss
        [ "$fds" -le "$BASE_FD" ] && [ "$rss" -le "$want" ] && break
        if [ $i -ge $((RETURN_WAIT * 10)) ]; then
            # What the descriptors are, and the server's sockets.
            { ls -l "/proc/$SRV_PID/fd" | sed 's/.* \([0-9]* -> \)/\1/'
              ss -tan "( sport = :$NK_PORT )" 2>/dev/null; } >"$WORK/fds.txt"
            fail "$1: after the peers left: $fds fds (baseline $BASE_FD), RSS $rss kB (baseline $BASE_KB kB, allowed +$SLACK_KB)" "$WORK/fds.txt"
            return 1
        fi
        sleep 0.1
        i=$((i + 1))
    done
    echo "# $1: baseline $BASE_KB kB / $BASE_FD fds; after: $rss kB / $fds fds$([ "$RSS_BACK" = 1 ] || echo " (RSS not held to the baseline: thread per connection)")"
}

# peers NAME SUBCOMMAND ARGS...: peers.py in the background, output in
# $WORK/NAME.peers; sets PEERS_PID.
peers() {
    local name=$1
    shift
    rm -f "$WORK/$name.peers" "$WORK/$name.release"
    timeout 120 python3 "$PEERS" "$@" --port "$NK_PORT" >"$WORK/$name.peers" 2>&1 &
    PEERS_PID=$!
}

# wait_line NAME PREFIX SECS: until peers.py printed a line starting with PREFIX.
wait_line() {
    local i=0
    until grep -q "^$2" "$WORK/$1.peers" 2>/dev/null; do
        alive "$PEERS_PID" || return 1
        [ $i -ge $(($3 * 10)) ] && return 1
        sleep 0.1
        i=$((i + 1))
    done
}

# peers_result NAME: the result line's fields as shell variables R_<key>.
peers_result() {
    local kv line
    finish "$PEERS_PID"
    line=$(tail -n 1 "$WORK/$1.peers")
    [ "$RC" -eq 0 ] && [[ $line == *=* ]] || { fail "peers.py failed (status $RC)" "$WORK/$1.peers"; return 1; }
    for kv in $line; do
        printf -v "R_${kv%%=*}" '%s' "${kv#*=}"
    done
}

IO_LOOP=(uring epoll)
IO_ALL=(uring epoll threads)

# ---- 5,000 stalled half-ClientHellos ----------------------------------------------

# The three servers wait out the handshake deadline together: each is
# started, given its stalled peers and a normal client (stall_begin), and its
# state kept by backend; each case then checks its own server (c_stall).
STATE_VARS=(NK_PID NK_PORT NK_LOG SRV_PID BASE_KB BASE_FD RSS_BACK PEERS_PID HELD_FD ERR)
declare -A ST
st_save() { local v; for v in "${STATE_VARS[@]}"; do ST[$1.$v]=${!v-}; done; }
st_load() { local v; for v in "${STATE_VARS[@]}"; do printf -v "$v" '%s' "${ST[$1.$v]-}"; done; }

stall_begin() {
    local io=$1 n=$2
    NK_PID="" ERR="" HELD_FD=0 PEERS_PID=""
    if fresh_server "stall-$io" --io "$io"; then
        peers "stall-$io" stall --count "$n" --wait $((HS_DEADLINE + 30))
        if ! wait_line "stall-$io" held 60; then
            ERR="the stalled peers did not connect"
        else
            sleep 0.5
            HELD_FD=$(fd_count "$SRV_PID")
            probe "stall-$io" || ERR=$FAIL_REASON
            echo "# stall $io: $n held: server at $(status_kb "$SRV_PID" VmRSS) kB, $HELD_FD fds"
        fi
    else
        ERR=$FAIL_REASON
    fi
    st_save "$io"
    NK_PID=""   # the next server must not stop this one
}

c_stall() {
    local io=$1 n=$2
    st_load "$io"
    [ -z "$ERR" ] || { fail "$ERR" "$WORK/stall-$io.peers" "$NK_LOG"; return 1; }
    [ "$HELD_FD" -ge $((BASE_FD + n)) ] ||
        { fail "only $((HELD_FD - BASE_FD)) of the $n stalled connections were held"; return 1; }
    peers_result "stall-$io" || return 1
    # After the handshake deadline every one is closed by the server.
    [ "$R_open" = 0 ] && [ $((R_eof + R_rst)) -eq "$n" ] ||
        { fail "stalled peers: $R_eof saw EOF, $R_rst a reset, $R_open still open" "$WORK/stall-$io.peers"; return 1; }
    echo "# stall $io: closed by the server: $R_eof EOF, $R_rst RST"
    settled "stall $io"
}

# ---- 1,000 ClientHellos declaring a huge length -----------------------------------

# §6.2: a message whose length is wrong for its type "could not be decoded":
# decode_error, before the server takes in the body.
c_bighello() {
    local io=$1 declared=$2 n=1000 peak
    fresh_server "big-$io" --io "$io" || return 1
    peers "big-$io" bighello --count "$n" --declared "$declared" --wait 60
    probe "big-$io" || return 1
    peers_result "big-$io" || return 1
    peak=$(status_kb "$SRV_PID" VmHWM)
    echo "# bighello $io $declared: ${R_decode_error:-0} of $n got decode_error; peer bytes taken: median $R_sent_median, max $R_sent_max; peak RSS $peak kB (baseline $BASE_KB kB)"
    [ "${R_decode_error:-0}" -eq "$n" ] ||
        { fail "not every oversized ClientHello got decode_error: $(tail -n 1 "$WORK/big-$io.peers")"; return 1; }
    [ "$peak" -le $((BASE_KB + 65536)) ] ||
        { fail "peak RSS $peak kB: more than baseline $BASE_KB kB + 64 MiB for $n oversized ClientHellos"; return 1; }
    settled "bighello $io"
}

# ---- 200 peers that never read --------------------------------------------------

# Per connection the loop queues 256 KiB of output before it stops reading
# (uring/loop.c RX_HIGH_WATER); the queue's buffer grows by doubling, so up to
# 512 KiB of it is touched, plus a record in and a record out: 640 KiB each is
# the bound held to. On top, once per worker, the io_uring backend's provided
# receive buffers (256 of 16 KiB, uring/backend_uring.c) become resident when
# many connections receive at once: 4 MiB, and 1 MiB of heap slack.
NOREAD_PER_KB=640
NOREAD_FIXED_KB=$((4096 + 1024))
RMEM_MAX_MIB=$(($(awk '{ print $3 }' /proc/sys/net/ipv4/tcp_rmem) >> 20))

# c_noread IO N MIB: N peers each send MIB MiB to the echo server and never
# read. With MIB beyond what the kernel's socket buffers take in (the
# receive buffer may grow to tcp_rmem's maximum), only a server that stops
# reading stops the peers: then not all was sent.
c_noread() {
    local io=$1 n=$2 mib=$3 rss held
    fresh_server "noread-$io" --io "$io" || return 1
    peers "noread-$io" noread --count "$n" --bytes $((mib << 20)) --ca "$CERTS/ca.pem" \
        --release "$WORK/noread-$io.release" --wait 60
    wait_line "noread-$io" held 60 || { fail "the non-reading peers did not get going" "$WORK/noread-$io.peers"; return 1; }
    held=$(grep '^held' "$WORK/noread-$io.peers")
    probe "noread-$io" || return 1
    rss=$(status_kb "$SRV_PID" VmRSS)
    touch "$WORK/noread-$io.release"
    peers_result "noread-$io" || return 1
    echo "# noread $io: $held; server RSS $rss kB (baseline $BASE_KB kB): $(((rss - BASE_KB) / n)) kB per connection"
    [ "$rss" -le $((BASE_KB + NOREAD_FIXED_KB + n * NOREAD_PER_KB)) ] ||
        { fail "$n peers that never read hold $((rss - BASE_KB)) kB: more than $NOREAD_FIXED_KB kB and $NOREAD_PER_KB kB each"; return 1; }
    # Beyond the peer's and our socket buffers (4 MiB each at most) and our
    # receive buffer: only a server that stopped reading stopped the peers.
    if [ "$mib" -gt $((RMEM_MAX_MIB + 8)) ]; then
        [ "$R_sent" -lt "$R_of" ] ||
            { fail "the server took all $R_of bytes from peers that never read: it never stopped reading"; return 1; }
    fi
    settled "noread $io"
}

# ---- resets -------------------------------------------------------------------------

c_reset_record() {
    local io=$1
    fresh_server "rst-$io" --io "$io" || return 1
    peers "rst-$io" reset --mode record --count 50 --ca "$CERTS/ca.pem"
    peers_result "rst-$io" || return 1
    [ "$R_count" = 50 ] || { fail "only $R_count resets done" "$WORK/rst-$io.peers"; return 1; }
    probe "rst-$io" || return 1
    settled "reset mid-record $io"
}

# get_small TAG: another client gets the whole of a small file.
get_small() {
    peers "get-$1" reset --mode get --path small --read 100 --count 1 --ca "$CERTS/ca.pem"
    peers_result "get-$1" || return 1
    [ "$R_count" = 1 ] || { fail "the small file was not served ($1)" "$WORK/get-$1.peers" "$NK_LOG"; return 1; }
}

# The file server on the event loop (io_uring: splice or read + encrypt).
c_reset_file() {
    local root=$WORK/root
    mkdir -p "$root"
    head -c $((64 << 20)) /dev/zero >"$root/big"
    head -c 5000 /dev/urandom >"$root/small"
    WARM=get_small
    fresh_server "rst-file" --root "$root" --io uring || { WARM=probe; return 1; }
    WARM=probe
    peers "rst-file" reset --mode file --path big --read 4096 --count 20 --ca "$CERTS/ca.pem"
    peers_result "rst-file" || return 1
    [ "$R_count" = 20 ] || { fail "only $R_count resets done" "$WORK/rst-file.peers"; return 1; }
    get_small after || return 1
    settled "reset mid-sendfile"
}

# RESET mid-KeyUpdate: openssl s_client sends a KeyUpdate asking for the
# server's (its "K" command) through peers.py's proxy, which passes half of
# that record and resets (half), or the whole record and resets as the
# server's own KeyUpdate arrives (answered).
keyupdate_once() {
    local tag=$1 mode=$2 ppid pport sc
    rm -f "$WORK/$tag.trigger" "$WORK/$tag.sc.out"
    peers "$tag" kuproxy --mode "$mode" --trigger "$WORK/$tag.trigger" --wait 20
    ppid=$PEERS_PID
    wait_line "$tag" proxy 10 || { fail "no proxy" "$WORK/$tag.peers"; return 1; }
    pport=$(sed -n 's/^proxy //p' "$WORK/$tag.peers")
    mkfifo "$WORK/$tag.fifo"
    timeout 30 stdbuf -oL openssl s_client -connect "127.0.0.1:$pport" -servername localhost \
        -CAfile "$CERTS/ca.pem" -tls1_3 <"$WORK/$tag.fifo" >"$WORK/$tag.sc.out" 2>&1 &
    sc=$!
    exec 7>"$WORK/$tag.fifo"
    echo "fault-probe" >&7
    local i=0
    until grep -q '^fault-probe' "$WORK/$tag.sc.out"; do
        [ $i -ge 100 ] && break
        sleep 0.1
        i=$((i + 1))
    done
    touch "$WORK/$tag.trigger"
    echo "K" >&7
    PEERS_PID=$ppid
    peers_result "$tag"
    local ok=$?
    exec 7>&-
    stop_pid "$sc"
    rm -f "$WORK/$tag.fifo"
    [ $ok -eq 0 ] || return 1
    [ "$R_cut" = "$mode" ] && [ "$R_keyupdate_len" = 27 ] ||
        { fail "proxy: cut=$R_cut keyupdate_len=$R_keyupdate_len, wanted $mode and a 27-byte KeyUpdate record" "$WORK/$tag.peers" "$WORK/$tag.sc.out"; return 1; }
}

c_reset_keyupdate() {
    local io=$1 mode k
    fresh_server "ku-$io" --io "$io" || return 1
    for mode in half answered; do
        for k in 1 2 3; do
            keyupdate_once "ku-$io-$mode-$k" "$mode" || return 1
        done
    done
    probe "ku-$io" || return 1
    settled "reset mid-KeyUpdate $io"
}

# ---- the cases --------------------------------------------------------------------

# FAULT_CASES=REGEX runs only the cases whose names match.
case_if() {
    [[ $1 =~ ${FAULT_CASES:-.} ]] || return 0
    run_case "$@"
}

section "stalled handshakes"
# One thread per connection: fewer, as each is a thread.
STALL=(uring 5000 epoll 5000 threads 500)
if [[ "stalled half-ClientHellos" =~ ${FAULT_CASES:-.} ]]; then
    for ((i = 0; i < ${#STALL[@]}; i += 2)); do
        [ "$NOFILE" -ge $((2 * STALL[i + 1] + 1000)) ] && stall_begin "${STALL[i]}" "${STALL[i + 1]}"
    done
fi
for ((i = 0; i < ${#STALL[@]}; i += 2)); do
    io=${STALL[i]} n=${STALL[i + 1]}
    if [ "$NOFILE" -lt $((2 * n + 1000)) ]; then
        tap_skip "$n stalled half-ClientHellos, --io $io" "ulimit -n is $NOFILE, $((2 * n + 1000)) needed"
        continue
    fi
    case_if "$n stalled half-ClientHellos are closed at the deadline, --io $io" c_stall "$io" "$n"
    st_load "$io"
    nk_server_stop
done

section "oversized ClientHellos"
for io in "${IO_ALL[@]}"; do
    case_if "1000 ClientHellos declaring 2^24-1 bytes get decode_error, --io $io" c_bighello "$io" $((0xFFFFFF))
    case_if "1000 ClientHellos declaring 256 KiB get decode_error, --io $io" c_bighello "$io" $((256 * 1024))
done

section "peers that never read"
for io in "${IO_ALL[@]}"; do
    case_if "200 peers that never read 1 MiB of echo hold bounded memory, --io $io" c_noread "$io" 200 1
    case_if "4 peers that never read 64 MiB of echo are stopped at the output cap, --io $io" c_noread "$io" 4 64
done

section "resets"
for io in "${IO_ALL[@]}"; do
    case_if "resets mid-record leave nothing behind, --io $io" c_reset_record "$io"
done
case_if "resets mid-sendfile leave nothing behind, --root" c_reset_file
for io in "${IO_ALL[@]}"; do
    case_if "resets mid-KeyUpdate leave nothing behind, --io $io" c_reset_keyupdate "$io"
done

nk_server_stop
tap_done
