# scripts/bench.d/early.sh — section "early" of scripts/bench (sourced).
#
#   early        the latency of a resumed request, its GET as TLS 1.3 0-RTT
#                data (nktls-load --mode request --early-data) or sent after
#                the handshake (--resume): one connection at a time, each
#                request on a new connection resumed with the newest ticket,
#                the same 1 KiB file from nktls-server --root
#                --max-early-data 16384 and from nginx (ssl_early_data on),
#                P-256, X25519, $CIPHER. The figure is the time from the
#                connect to the reply's first byte (nktls-load's first_byte_ms),
#                p50 and p99, medians of the repeats; 0-RTT over 1-RTT per
#                server, and nktls over nginx per mode. Every 0-RTT request
#                must have been accepted: a run where the server rejected
#                any (or the ticket allowed none) gives no figure and says so.
#                Twice: on plain loopback (a round trip costs tens of
#                microseconds: the rows price the 0-RTT path itself), and
#                through delay_proxy.py, which holds every byte
#                EARLY_DELAY_MS (default 5, NKTLS_BENCH_EARLY_DELAY) each way:
#                a network's round trip, the one 0-RTT exists to save (the
#                kernel's netem would need root and sch_netem, which CI
#                kernels lack). It is saved only by a server that answers the
#                early GET right behind its own Finished (0.5-RTT data, RFC
#                8446 §4.4.4) instead of after the client's Finished, a round
#                trip later: nktls-server's event loop does (nktls_loop.h,
#                onData before onOpen).
#                Every repeat runs on a server started for it: nktls's
#                anti-replay register keeps each accepted ClientHello 22 s in
#                16384 slots and refuses 0-RTT data when full, so one
#                connection at a time over loopback (over 2000 a second here)
#                fills it within seconds; a fresh server measures the latency
#                below that limit, and the limit shows as rejections when a
#                repeat outruns it (longer NKTLS_BENCH_SECS).
# shellcheck shell=bash

EARLY_SERVERS=(nktls-root nginx)
EARLY_MODES=(1rtt 0rtt)
EARLY_BYTES=16384
EARLY_DELAY_MS=${NKTLS_BENCH_EARLY_DELAY:-5}
EARLY_DELAYS=(0 "$EARLY_DELAY_MS")

# early_start SRV DELAY: the server, and with DELAY (ms, each way) the delay
# proxy in front of it on the client's CPU; PORT is where the client goes.
# False, with SRV_ERR, when either does not listen.
EARLY_PROXY=""
early_start() {
    EARLY_PROXY=""
    EARLY_DATA=$EARLY_BYTES server_start "$1" p256 || return 1
    [ "$2" != 0 ] || return 0
    local target=$PORT
    PORT=$(free_port)
    spawn "$WORK/delay-proxy.log" "$WORK/delay-proxy.log" "${PIN_CLIENT[@]}" python3 \
        "$ROOT/scripts/bench.d/delay_proxy.py" "$PORT" "$target" "$2"
    EARLY_PROXY=$SPAWNED
    wait_listen "$PORT" "$EARLY_PROXY" 10 && return 0
    SRV_ERR="the delay proxy did not start: $(tail -c 200 "$WORK/delay-proxy.log" | tr '\n' ' ')"
    early_stop
    return 1
}

early_stop() {
    stop "$SRV"
    [ -z "$EARLY_PROXY" ] || stop "$EARLY_PROXY"
}

# early_measure SRV MODE DELAY RAW REPS: R[early_SRV_MODE_dDELAY_p50|p99|
# p50_all|err], each repeat on a server started for it (the header says why).
early_measure() {
    local srv=$1 mode=$2 delay=$3 raw=$4 reps=$5 i p=early_$1_$2_d$3 json acc rej ns ops
    local -a p50=() p99=() flag=(--resume)
    [ "$mode" = 1rtt ] || flag=(--early-data)
    for i in $(seq "$reps"); do
        if ! early_start "$srv" "$delay"; then
            R[${p}_err]=$SRV_ERR; FAILED=1; return
        fi
        if ! load "$p-$i" "$raw" --mode request --concurrency 1 --threads 1 \
            --request 'GET /small.bin HTTP/1.1\r\nHost: localhost\r\n\r\n' \
            "${flag[@]}" --duration "$LOAD_SECS"; then
            R[${p}_err]=${L[err]}; FAILED=1; early_stop; return
        fi
        early_stop
        json=$WORK/load-$p-$i.json
        ops=${L[ops]}
        acc=$(jget "$json" early_data_accepted)
        rej=$(jget "$json" early_data_rejected)
        ns=$(jget "$json" early_data_not_sent)
        echo "run=$p-$i first_byte_p50_ms=$(jget "$json" first_byte_ms.p50) first_byte_p99_ms=$(jget "$json" first_byte_ms.p99) early_accepted=$acc early_rejected=$rej early_not_sent=$ns resumed_fraction=${L[resumed]}" >>"$raw"
        if [ "$mode" = 0rtt ] && { [ "${rej:-1}" != 0 ] || [ "${ns:-1}" != 0 ]; }; then
            R[${p}_err]="0-RTT not always accepted: $acc accepted, $rej rejected, $ns not sent in $ops requests"
            FAILED=1
            return
        fi
        if [ "$(calc "${L[resumed]:-0} < 0.99" %d)" = 1 ]; then
            R[${p}_err]="resumed only a fraction ${L[resumed]} of the handshakes"
            FAILED=1
            return
        fi
        p50+=("$(jget "$json" first_byte_ms.p50)")
        p99+=("$(jget "$json" first_byte_ms.p99)")
        R[${p}_ops]=$ops
    done
    R[${p}_p50]=$(median "${p50[@]}")
    R[${p}_p99]=$(median "${p99[@]}")
    R[${p}_p50_all]="${p50[*]}"
    echo "run=$p stat=median reps=$reps first_byte_p50_ms=${R[${p}_p50]} first_byte_p99_ms=${R[${p}_p99]}" >>"$raw"
}

early_table() {
    local srv mode p ng delay
    echo "== early: resumed GET of a 1 KiB file, one connection at a time, each request on a new"
    echo "   resumed connection; $CIPHER, X25519, P-256; ${LOAD_SECS} s x ${R[early_reps]} (median); $PIN_NOTE"
    printf '   %-32s %-5s %-6s %9s %9s %8s %9s %9s\n' server "+RTT" request "p50 ms" "p99 ms" \
        "requests" "0-RTT/" "nktls/"
    printf '   %-32s %-5s %-6s %9s %9s %8s %9s %9s\n' "" "ms" "" "1st byte" "1st byte" "" \
        "1-RTT p50" "nginx p50"
    for delay in "${EARLY_DELAYS[@]}"; do
        for srv in "${EARLY_SERVERS[@]}"; do
            for mode in "${EARLY_MODES[@]}"; do
                p=early_${srv}_${mode}_d$delay ng=early_nginx_${mode}_d$delay
                if [ -n "${R[${p}_err]:-}" ]; then
                    printf '   %-32s %-5s %-6s not run: %s\n' "$(server_label "$srv")" \
                        "$((2 * delay))" "$mode" "${R[${p}_err]}"
                    continue
                fi
                printf '   %-32s %-5s %-6s %9s %9s %8s %9s %9s\n' "$(server_label "$srv")" \
                    "$((2 * delay))" "$mode" \
                    "$(num "${R[${p}_p50]:-}" %.3f)" "$(num "${R[${p}_p99]:-}" %.3f)" \
                    "$(fmt "${R[${p}_ops]:-}")" \
                    "$([ "$mode" = 0rtt ] && ratio "${R[${p}_p50]:-}" "${R[early_${srv}_1rtt_d${delay}_p50]:-}" || echo)" \
                    "$([ "$srv" = nginx ] || ratio "${R[${p}_p50]:-}" "${R[${ng}_p50]:-}")"
            done
        done
    done
    echo
    echo "   +RTT: the round trip delay_proxy.py adds (0: plain loopback, tens of microseconds)."
    echo "   1st byte: from the connect to the reply's first byte (nktls-load first_byte_ms)."
    echo "   0rtt: the GET went as 0-RTT data and every server accepted all of it (a run"
    echo "   with a rejection gives no figure); 1rtt: the GET after a resumed handshake."
    echo "   Ratios are of latencies: below 1 is faster. Noisy: a shared machine, short runs."
    echo "   Each repeat on a fresh server: nktls refuses 0-RTT once its anti-replay register"
    echo "   (16384 ClientHellos, kept 22 s) is full: at most about 745 0-RTT handshakes/s sustained."
}

section_early() {
    local raw=$OUTDIR/early.raw txt=$OUTDIR/early.txt reps srv mode delay
    : >"$raw"
    setup_certs
    www_file small.bin 1024
    reps=${NKTLS_BENCH_REPS:-$(qd 3 2)}
    LOAD_SECS=${NKTLS_BENCH_SECS:-$(qd 3 1)}
    R[early_reps]=$reps
    R[early_rtt_ms]=$((2 * EARLY_DELAY_MS))
    echo "# early: $PIN_NOTE; load average $(cut -d' ' -f1-3 /proc/loadavg); delays (ms each way) ${EARLY_DELAYS[*]}" >>"$raw"
    for delay in "${EARLY_DELAYS[@]}"; do
        for srv in "${EARLY_SERVERS[@]}"; do
            say "early: $srv, +$((2 * delay)) ms round trip"
            for mode in "${EARLY_MODES[@]}"; do
                early_measure "$srv" "$mode" "$delay" "$raw" "$reps"
            done
        done
    done
    early_table | tee "$txt"
    say "table: $txt; raw lines: $raw"
}
