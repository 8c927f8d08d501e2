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
#                It runs on plain loopback, where a round trip costs tens of
#                microseconds, so 0-RTT saves little: the rows price the
#                0-RTT path itself (anti-replay, the early keys), not the
#                round trip it saves on a real network (no emulated delay:
#                tc netem needs root and sch_netem, which CI kernels lack).
# shellcheck shell=bash

EARLY_SERVERS=(nktls-root nginx)
EARLY_MODES=(1rtt 0rtt)
EARLY_BYTES=16384

# early_measure SRV MODE RAW REPS: R[early_SRV_MODE_p50|p99|p50_all|err].
early_measure() {
    local srv=$1 mode=$2 raw=$3 reps=$4 i p=early_$1_$2 json acc rej ns ops
    local -a p50=() p99=() flag=(--resume)
    [ "$mode" = 1rtt ] || flag=(--early-data)
    for i in $(seq "$reps"); do
        if ! load "$p-$i" "$raw" --mode request --concurrency 1 --threads 1 \
            --request 'GET /small.bin HTTP/1.1\r\nHost: localhost\r\n\r\n' \
            "${flag[@]}" --duration "$LOAD_SECS"; then
            R[${p}_err]=${L[err]}; FAILED=1; return
        fi
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
    local srv mode p ng
    echo "== early: resumed GET of a 1 KiB file, one connection at a time, each request on a new"
    echo "   resumed connection; $CIPHER, X25519, P-256; ${LOAD_SECS} s x ${R[early_reps]} (median); $PIN_NOTE"
    echo "   plain loopback, no emulated delay: a round trip costs tens of microseconds here"
    printf '   %-32s %-6s %9s %9s %8s %9s %9s\n' server request "p50 ms" "p99 ms" "requests" "0-RTT/" "nktls/"
    printf '   %-32s %-6s %9s %9s %8s %9s %9s\n' "" "" "1st byte" "1st byte" "" "1-RTT p50" "nginx p50"
    for srv in "${EARLY_SERVERS[@]}"; do
        for mode in "${EARLY_MODES[@]}"; do
            p=early_${srv}_$mode ng=early_nginx_$mode
            if [ -n "${R[${p}_err]:-}" ]; then
                printf '   %-32s %-6s not run: %s\n' "$(server_label "$srv")" "$mode" "${R[${p}_err]}"
                continue
            fi
            printf '   %-32s %-6s %9s %9s %8s %9s %9s\n' "$(server_label "$srv")" "$mode" \
                "$(num "${R[${p}_p50]:-}" %.3f)" "$(num "${R[${p}_p99]:-}" %.3f)" \
                "$(fmt "${R[${p}_ops]:-}")" \
                "$([ "$mode" = 0rtt ] && ratio "${R[${p}_p50]:-}" "${R[early_${srv}_1rtt_p50]:-}" || echo)" \
                "$([ "$srv" = nginx ] || ratio "${R[${p}_p50]:-}" "${R[${ng}_p50]:-}")"
        done
    done
    echo
    echo "   1st byte: from the connect to the reply's first byte (nktls-load first_byte_ms)."
    echo "   0rtt: the GET went as 0-RTT data and every server accepted all of it (a run"
    echo "   with a rejection gives no figure); 1rtt: the GET after a resumed handshake."
    echo "   Ratios are of latencies: below 1 is faster. Noisy: a shared machine, short runs."
}

section_early() {
    local raw=$OUTDIR/early.raw txt=$OUTDIR/early.txt reps srv mode
    : >"$raw"
    setup_certs
    www_file small.bin 1024
    reps=${NKTLS_BENCH_REPS:-$(qd 3 2)}
    LOAD_SECS=${NKTLS_BENCH_SECS:-$(qd 3 1)}
    R[early_reps]=$reps
    echo "# early: $PIN_NOTE; load average $(cut -d' ' -f1-3 /proc/loadavg); plain loopback, no emulated delay" >>"$raw"
    for srv in "${EARLY_SERVERS[@]}"; do
        say "early: $srv"
        if ! EARLY_DATA=$EARLY_BYTES server_start "$srv" p256; then
            for mode in "${EARLY_MODES[@]}"; do R[early_${srv}_${mode}_err]=$SRV_ERR; done
            FAILED=1
            continue
        fi
        for mode in "${EARLY_MODES[@]}"; do
            early_measure "$srv" "$mode" "$raw" "$reps"
        done
        stop "$SRV"
    done
    early_table | tee "$txt"
    say "table: $txt; raw lines: $raw"
}
