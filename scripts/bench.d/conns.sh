# scripts/bench.d/conns.sh — section "conns" of scripts/bench (sourced).
#
#   conns        the event loop at 1, 100, 1000 and 10000 concurrent connections
#                (NKTLS_BENCH_CONNS; --quick: 1 1000), for nktls-server --root
#                --io uring, --root --io epoll and nginx, one worker each, same
#                certificate (P-256), suite and files, in the same run:
#     handshakes nktls-load --mode handshake, closed loop, N connections in
#                flight: full handshakes per second and per server CPU-second.
#     bytes      nktls-load --mode request on N keep-alive connections: every
#                server answers the same GET for the same 16 KiB file (it
#                decrypts ~60 bytes and encrypts 16 KiB and its HTTP head per
#                reply): bytes received by the client per second and per
#                server CPU-second. The connections' own handshakes fall inside the
#                run (all opened as it starts): from 5000 connections on, two
#                runs, one longer than those handshakes take and one longer
#                still, and the figures are their differences (bytes, CPU,
#                seconds), which leave the handshakes out.
#                Handshake timeouts are 120 s: at 10000 connections in flight
#                each waits its turn for seconds.
# shellcheck shell=bash

CONNS_SERVERS=(nktls-root nktls-root-epoll nginx)
CONNS_REPLY=16384

# conns_secs N: seconds for a run with N connections.
conns_secs() {
    local base
    base=${NKTLS_BENCH_SECS:-$(qd 4 1)}
    echo $((base + $1 / 1000))
}

# conns_bytes SRV N RAW REQUEST HS_PER_S: the bytes figures at N connections;
# R[conns_SRV_bytes_N_wall|cpu|err]. From 5000 connections on, the difference
# of two runs: the first outlasts the N handshakes (at HS_PER_S, the rate
# measured at this level), the second lasts longer still.
conns_bytes() {
    local srv=$1 n=$2 raw=$3 req=$4 hs=${5:-} p=conns_$1_bytes_$2 ta tb b0 c0 e0
    local -a args=(--mode request --request "$req" --concurrency "$n" --threads 1 --timeout 120000)
    if [ "$n" -lt 5000 ]; then
        if load "$p" "$raw" "${args[@]}" --duration "$LOAD_SECS"; then
            R[${p}_wall]=$(calc "${L[in_s]} / 1e6" %.1f)
            R[${p}_cpu]=$(calc "${L[bytes_cpu]:-0} / 1e6" %.1f)
        else
            R[${p}_err]=${L[err]}
            FAILED=1
        fi
        return
    fi
    [ -n "$hs" ] && [ "$(calc "$hs >= 100" %d)" = 1 ] || hs=100
    ta=$(calc "$n / $hs * 1.3 + 2" %.0f)
    tb=$((ta + 2 * ${NKTLS_BENCH_SECS:-$(qd 4 2)}))
    LOAD_SECS=$ta
    if ! load "$p-a" "$raw" "${args[@]}" --duration "$ta"; then
        R[${p}_err]=${L[err]}; FAILED=1; return
    fi
    b0=${L[bytes_in]} c0=${L[cpu_s]} e0=${L[elapsed]}
    LOAD_SECS=$tb
    if ! load "$p-b" "$raw" "${args[@]}" --duration "$tb"; then
        R[${p}_err]=${L[err]}; FAILED=1; return
    fi
    if [ "$(calc "${L[cpu_s]} > $c0 && ${L[elapsed]} > $e0" %d)" = 1 ]; then
        R[${p}_wall]=$(calc "(${L[bytes_in]} - $b0) / (${L[elapsed]} - $e0) / 1e6" %.1f)
        R[${p}_cpu]=$(calc "(${L[bytes_in]} - $b0) / (${L[cpu_s]} - $c0) / 1e6" %.1f)
        echo "run=$p stat=difference runs=${ta}s,${tb}s MBps=${R[${p}_wall]} MB_per_cpu_s=${R[${p}_cpu]}" >>"$raw"
    else
        R[${p}_err]="the longer run used no more CPU than the shorter one"
        FAILED=1
    fi
}

conns_table() {
    local n srv what
    local levels=${R[conns_levels]}
    echo "== conns: $CIPHER, X25519, P-256; one worker each; nktls-load 1 thread; $PIN_NOTE"
    for what in hs bytes; do
        echo
        if [ "$what" = hs ]; then
            echo "-- full handshakes, closed loop, N connections in flight: per second | per server CPU-s"
        else
            echo "-- 16 KiB replies on N keep-alive connections: MB/s | MB per server CPU-s"
            echo "   (the same GET of the same 16 KiB file from every server)"
        fi
        printf '   %6s %9s %9s %9s | %9s %9s %9s | %8s %8s\n' conns uring epoll nginx \
            uring epoll nginx "ur/ep" "ur/ngx"
        for n in $levels; do
            local -a w=() c=()
            for srv in "${CONNS_SERVERS[@]}"; do
                w+=("$(num "${R[conns_${srv}_${what}_${n}_wall]:-}")")
                c+=("$(num "${R[conns_${srv}_${what}_${n}_cpu]:-}")")
            done
            printf '   %6s %9s %9s %9s | %9s %9s %9s | %8s %8s\n' "$n" "${w[@]}" "${c[@]}" \
                "$(ratio "${R[conns_nktls-root_${what}_${n}_cpu]:-}" "${R[conns_nktls-root-epoll_${what}_${n}_cpu]:-}")" \
                "$(ratio "${R[conns_nktls-root_${what}_${n}_cpu]:-}" "${R[conns_nginx_${what}_${n}_cpu]:-}")"
        done
    done
    for srv in "${CONNS_SERVERS[@]}"; do
        for n in $levels; do
            for what in hs bytes; do
                [ -z "${R[conns_${srv}_${what}_${n}_err]:-}" ] ||
                    echo "   $(server_label "$srv"), $n, $what: ${R[conns_${srv}_${what}_${n}_err]}"
            done
        done
    done
    echo
    echo "   ur/ep, ur/ngx: nktls --io uring's per CPU-s figure over epoll's, nginx's (above"
    echo "   1: uring cheaper). Per-second figures are capped by the one-thread client."
}

section_conns() {
    local raw=$OUTDIR/conns.raw txt=$OUTDIR/conns.txt levels n srv req p
    : >"$raw"
    setup_certs
    levels=${NKTLS_BENCH_CONNS:-$(qd "1 100 1000 10000" "1 1000")}
    R[conns_levels]=$levels
    www_file conn.bin "$CONNS_REPLY"
    echo "# conns: $PIN_NOTE; load average $(cut -d' ' -f1-3 /proc/loadavg); ulimit -n $(ulimit -n)" >>"$raw"
    for srv in "${CONNS_SERVERS[@]}"; do
        req='GET /conn.bin HTTP/1.1\r\nHost: localhost\r\n\r\n'
        say "conns: $srv"
        if ! server_start "$srv" p256; then
            for n in $levels; do R[conns_${srv}_hs_${n}_err]=$SRV_ERR; done
            FAILED=1
            continue
        fi
        load "conns-$srv-warm" "$raw" --mode handshake --concurrency 4 --count 50 || true
        for n in $levels; do
            LOAD_SECS=$(conns_secs "$n")
            say "conns: $srv, $n connections ($LOAD_SECS s per figure)"
            p=conns_${srv}_hs_${n}
            if load "$p" "$raw" --mode handshake --concurrency "$n" --threads 1 \
                --duration "$LOAD_SECS" --timeout 120000; then
                R[${p}_wall]=${L[hs_s]}
                R[${p}_cpu]=${L[ops_cpu]:-}
            else
                R[${p}_err]=${L[err]}
                FAILED=1
            fi
            conns_bytes "$srv" "$n" "$raw" "$req" "${R[conns_${srv}_hs_${n}_wall]:-}"
            alive "$SRV" || break
        done
        stop "$SRV"
    done
    conns_table | tee "$txt"
    say "table: $txt; raw lines: $raw"
}
