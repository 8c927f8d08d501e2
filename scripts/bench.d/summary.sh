# scripts/bench.d/summary.sh — the headline table and chart of scripts/bench
# after a run of every section (sourced): build/bench/summary.txt and
# build/bench/chart.png. Every row is nktls against a peer measured in the
# same run; "nk adv." is oriented so that above 1 means nktls does better
# (more per CPU-second, or less latency, memory or time).
# shellcheck shell=bash

SUM_ROWS=()

# sum_row LABEL NKTLS PEER ADVANTAGE: one row of the table (and the chart).
sum_row() {
    SUM_ROWS+=("$1|$(fmt "$2")|$(fmt "$3")|$4")
}

# sum_hi LABEL NK PEER: a bigger-is-better figure; sum_lo: smaller-is-better.
sum_hi() { sum_row "$1" "$2" "$3" "$(ratio "${2:-}" "${3:-}")"; }
sum_lo() { sum_row "$1" "$2" "$3" "$(ratio "${3:-}" "${2:-}")"; }

summary_rows() {
    local key kname mode mname peer top
    SUM_ROWS=()
    for peer in nginx openssl gnutls; do
        for key in p256 rsa2048; do
            kname=$([ "$key" = p256 ] && echo P-256 || echo RSA-2048)
            for mode in full resume; do
                mname=$([ "$mode" = full ] && echo full || echo resumed)
                [ "$peer" = nginx ] || [ "$mode" = full ] || continue
                sum_hi "$mname hs/CPU-s, $kname vs $peer" \
                    "$(num "${R[hs_nktls-uring_${key}_${mode}_cpu]:-}")" \
                    "$(num "${R[hs_${peer}_${key}_${mode}_cpu]:-}")"
            done
        done
    done
    sum_lo "p99 ms at ${R[p99_rate]:-?} hs/s vs nginx" "$(num "${R[p99_nktls-uring_p99]:-}" %.2f)" \
        "$(num "${R[p99_nginx_p99]:-}" %.2f)"
    sum_hi "download MB/CPU-s vs nginx" "$(num "${R[bulk_dl_nktls-root_cpu]:-}")" \
        "$(num "${R[bulk_dl_nginx_cpu]:-}")"
    sum_hi "download MB/CPU-s vs openssl" "$(num "${R[bulk_dl_nktls-root_cpu]:-}")" \
        "$(num "${R[bulk_dl_openssl_cpu]:-}")"
    sum_hi "download MB/CPU-s vs AES-GCM floor" "$(num "${R[bulk_dl_nktls-root_cpu]:-}")" \
        "$(num "${R[floor_mbps]:-}")"
    sum_lo "idle conn bytes, software vs nginx" "${R[mem_nktls-uring_bytes]:-}" \
        "${R[mem_nginx_bytes]:-}"
    sum_lo "idle conn bytes, kTLS vs software (VM)" "${R[mem_vm_auto_bytes]:-}" \
        "${R[mem_vm_off_bytes]:-}"
    top=""
    for top in ${R[conns_levels]:-}; do :; done
    if [ -n "$top" ]; then
        sum_hi "$top conns hs/CPU-s, uring vs epoll" "$(num "${R[conns_nktls-uring_hs_${top}_cpu]:-}")" \
            "$(num "${R[conns_nktls-epoll_hs_${top}_cpu]:-}")"
        sum_hi "$top conns hs/CPU-s, uring vs nginx" "$(num "${R[conns_nktls-uring_hs_${top}_cpu]:-}")" \
            "$(num "${R[conns_nginx_hs_${top}_cpu]:-}")"
        sum_hi "$top conns MB/CPU-s, uring vs epoll" "$(num "${R[conns_nktls-uring_bytes_${top}_cpu]:-}")" \
            "$(num "${R[conns_nktls-epoll_bytes_${top}_cpu]:-}")"
        sum_hi "$top conns MB/CPU-s, uring vs nginx*" "$(num "${R[conns_nktls-uring_bytes_${top}_cpu]:-}")" \
            "$(num "${R[conns_nginx_bytes_${top}_cpu]:-}")"
    fi
    sum_lo "in-process us, P-256 full vs floor" "${R[inproc_nktls_p256_full_server]:-}" \
        "${R[inproc_nktls_p256_full_floor]:-}"
    sum_lo "in-process us, P-256 full vs libssl" "${R[inproc_nktls_p256_full_server]:-}" \
        "${R[inproc_openssl_p256_full_server]:-}"
    sum_lo "in-process us, RSA full vs libssl" "${R[inproc_nktls_rsa2048_full_server]:-}" \
        "${R[inproc_openssl_rsa2048_full_server]:-}"
    sum_lo "in-process us, P-256 resumed vs libssl" "${R[inproc_nktls_p256_resume_server]:-}" \
        "${R[inproc_openssl_p256_resume_server]:-}"
    if [ -n "${R[floor_full_p256_us]:-}" ]; then
        sum_hi "full hs/CPU-s, P-256 vs crypto floor" "$(num "${R[hs_nktls-uring_p256_full_cpu]:-}")" \
            "$(calc "1e6 / ${R[floor_full_p256_us]}" %.0f)"
        sum_hi "full hs/CPU-s, RSA vs crypto floor" "$(num "${R[hs_nktls-uring_rsa2048_full_cpu]:-}")" \
            "$(calc "1e6 / ${R[floor_full_rsa2048_us]}" %.0f)"
    fi
}

summary_table() {
    local row label nk peer adv
    echo "== nktls benchmark summary: $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -m), $(nproc) CPUs, kernel $(uname -r)"
    echo "   $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'); $PIN_NOTE"
    echo "   $CIPHER, X25519; peers: nginx ${NGINX_VERSION:-?}, openssl ${OPENSSL_VERSION:-?}, gnutls ${GNUTLS_VERSION:-?}"
    echo "   $([ "$QUICK" = 1 ] && echo "--quick run (short: noisy)," || echo "full run,") ${R[elapsed_s]:-?} s; sections' tables in $OUTDIR/*.txt"
    echo
    printf '   %-42s %12s %12s %8s\n' figure nktls peer "nk adv."
    for row in "${SUM_ROWS[@]}"; do
        IFS='|' read -r label nk peer adv <<<"$row"
        printf '   %-42s %12s %12s %8s\n' "$label" "$nk" "$peer" "$adv"
    done
    echo
    echo "   nk adv.: above 1, nktls does better (more per CPU-second; less latency, memory"
    echo "   or time). hs = handshakes; CPU-s = second of server CPU time; nktls's server is"
    echo "   nktls-server --io uring (downloads: --root, ${NKTLS_ROOT_IO:-threads}). * nktls echoes: twice"
    echo "   nginx's crypto per byte. Failures: each section's table says why a figure is -."
}

# summary_chart PNG: the advantage column as bars, a line at 1.
summary_chart() {
    local png=$1 dat=$OUTDIR/chart.dat row label nk peer adv term
    if ! command -v gnuplot >/dev/null; then
        echo "   chart: not drawn (gnuplot missing: apt-get install gnuplot-nox)"
        return 0
    fi
    : >"$dat"
    for row in "${SUM_ROWS[@]}"; do
        IFS='|' read -r label nk peer adv <<<"$row"
        [ "$adv" != - ] || continue
        printf '"%s" %s\n' "${label//\"/}" "$adv" >>"$dat"
    done
    [ -s "$dat" ] || { echo "   chart: not drawn (no figures)"; return 0; }
    term="pngcairo size 1200,800 font 'Sans,9'"
    [[ $(gnuplot -e 'set terminal' 2>&1) == *pngcairo* ]] || term="png size 1200,800"
    if timeout 60 gnuplot >"$WORK/gnuplot.log" 2>&1 <<GP; then
set terminal $term
set output '$png'
set title "nktls vs peers, same run (above 1: nktls better)$([ "$QUICK" = 1 ] && echo ' [--quick]')"
set style fill solid 0.6
set boxwidth 0.7
set yrange [0:*]
set grid ytics
set xtics rotate by -40 left font ',8'
set bmargin 14
set rmargin 18
unset key
set arrow from graph 0, first 1 to graph 1, first 1 nohead lc rgb 'red' lw 1.5
plot '$dat' using 0:2:xtic(1) with boxes lc rgb '#3070b0', \
     '' using 0:2:(sprintf('%.2f', \$2)) with labels offset 0,0.7 font ',8'
GP
        echo "   chart: $png"
    else
        echo "   chart: gnuplot failed: $(tail -c 200 "$WORK/gnuplot.log" | tr '\n' ' ')"
    fi
}

summary() {
    local txt=$OUTDIR/summary.txt
    summary_rows
    {
        summary_table
        summary_chart "$OUTDIR/chart.png"
    } | tee "$txt"
}
