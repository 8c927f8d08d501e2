# scripts/bench.d/summary.sh — the headline table and chart of scripts/bench
# after a run of every section (sourced): build/bench/summary.txt,
# build/bench/summary.tsv (the same rows as data) and build/bench/chart.png.
# Every row is nktls against a peer server or library measured in the same
# run, or against the crypto floor (what the handshake or record layer cannot
# avoid, measured with openssl speed in the same run): the two kinds are kept
# apart. "nk adv." is oriented so that above 1 means nktls does better (more
# per CPU-second, or less latency, memory or time). Where the figure is per
# CPU-second, the row also gives throughput (per wall second), so a server that
# spends less CPU because it moved less shows it.
# shellcheck shell=bash

SUM_TSV=""

# srow GROUP KIND DIR LABEL NK PEER NK_ALL PEER_ALL NK_TP PEER_TP TP_UNIT: one
# row. GROUP: handshakes, bulk, memory or latency; KIND: peer, floor or self
# (nktls in another mode: io_uring vs epoll, kernel TLS vs software); DIR:
# hi (more is better) or lo; *_ALL: every repeat's figure (for error bars);
# *_TP: throughput beside a per CPU-second figure, in TP_UNIT.
srow() {
    printf '%s\t' "$@" | sed 's/\t$//' >>"$SUM_TSV"
    echo >>"$SUM_TSV"
}

summary_rows() {
    local key kname mode mname peer top p n
    SUM_TSV=$OUTDIR/summary.tsv
    printf 'group\tkind\tdir\tlabel\tnk\tpeer\tnk_all\tpeer_all\tnk_tp\tpeer_tp\ttp_unit\n' >"$SUM_TSV"
    for peer in nginx openssl gnutls; do
        for key in p256 rsa2048; do
            kname=$([ "$key" = p256 ] && echo P-256 || echo RSA-2048)
            for mode in full resume; do
                mname=$([ "$mode" = full ] && echo full || echo resumed)
                [ "$peer" = nginx ] || [ "$mode" = full ] || continue
                n=hs_nktls-uring_${key}_${mode} p=hs_${peer}_${key}_${mode}
                srow handshakes peer hi "$mname hs/CPU-s, $kname vs $peer" \
                    "${R[${n}_cpu]:-}" "${R[${p}_cpu]:-}" "${R[${n}_cpu_all]:-}" "${R[${p}_cpu_all]:-}" \
                    "${R[${n}_wall]:-}" "${R[${p}_wall]:-}" "hs/s"
            done
        done
    done
    for mode in full12 resume12; do
        n=hs_nktls-uring_p256_${mode} p=hs_nginx_p256_${mode}
        srow handshakes peer hi "$([ "$mode" = full12 ] && echo full || echo resumed) hs/CPU-s TLS 1.2, P-256 vs nginx" \
            "${R[${n}_cpu]:-}" "${R[${p}_cpu]:-}" "${R[${n}_cpu_all]:-}" "${R[${p}_cpu_all]:-}" \
            "${R[${n}_wall]:-}" "${R[${p}_wall]:-}" "hs/s"
    done
    top=""
    for top in ${R[conns_levels]:-}; do :; done
    if [ -n "$top" ]; then
        srow handshakes peer hi "$top conns hs/CPU-s vs nginx" \
            "${R[conns_nktls-root_hs_${top}_cpu]:-}" "${R[conns_nginx_hs_${top}_cpu]:-}" "" "" \
            "${R[conns_nktls-root_hs_${top}_wall]:-}" "${R[conns_nginx_hs_${top}_wall]:-}" "hs/s"
        srow handshakes self hi "$top conns hs/CPU-s, uring vs epoll" \
            "${R[conns_nktls-root_hs_${top}_cpu]:-}" "${R[conns_nktls-root-epoll_hs_${top}_cpu]:-}" "" "" \
            "${R[conns_nktls-root_hs_${top}_wall]:-}" "${R[conns_nktls-root-epoll_hs_${top}_wall]:-}" "hs/s"
    fi
    for mode in full resume; do
        srow handshakes peer lo "in-process us, P-256 $mode vs libssl" \
            "${R[inproc_nktls_p256_${mode}_server]:-}" "${R[inproc_openssl_p256_${mode}_server]:-}" \
            "${R[inproc_nktls_p256_${mode}_server_all]:-}" "${R[inproc_openssl_p256_${mode}_server_all]:-}"
    done
    for mode in full12 resume12; do
        srow handshakes peer lo "in-process us, P-256 ${mode%12} TLS 1.2 vs libssl" \
            "${R[inproc_nktls_p256_${mode}_server]:-}" "${R[inproc_openssl_p256_${mode}_server]:-}" \
            "${R[inproc_nktls_p256_${mode}_server_all]:-}" "${R[inproc_openssl_p256_${mode}_server_all]:-}"
    done
    srow handshakes peer lo "in-process us, RSA full vs libssl" \
        "${R[inproc_nktls_rsa2048_full_server]:-}" "${R[inproc_openssl_rsa2048_full_server]:-}" \
        "${R[inproc_nktls_rsa2048_full_server_all]:-}" "${R[inproc_openssl_rsa2048_full_server_all]:-}"
    srow handshakes peer lo "DTLS full hs server us vs libssl" \
        "${R[dtls_nktls_server]:-}" "${R[dtls_openssl_server]:-}" \
        "${R[dtls_nktls_server_all]:-}" "${R[dtls_openssl_server_all]:-}"
    srow handshakes peer lo "DTLS hs server us over UDP vs openssl s_server, busy" \
        "${R[dtls_udp_busy_nktls_server]:-}" "${R[dtls_udp_busy_openssl_server]:-}" \
        "${R[dtls_udp_busy_nktls_server_all]:-}" "${R[dtls_udp_busy_openssl_server_all]:-}"
    srow handshakes peer lo "DTLS hs server us over UDP vs openssl s_server, idle" \
        "${R[dtls_udp_idle_nktls_server]:-}" "${R[dtls_udp_idle_openssl_server]:-}" \
        "${R[dtls_udp_idle_nktls_server_all]:-}" "${R[dtls_udp_idle_openssl_server_all]:-}"
    srow handshakes floor lo "in-process us, P-256 full vs floor" \
        "${R[inproc_nktls_p256_full_server]:-}" "${R[inproc_nktls_p256_full_floor]:-}" \
        "${R[inproc_nktls_p256_full_server_all]:-}" ""
    if [ -n "${R[floor_full_p256_us]:-}" ]; then
        for key in p256 rsa2048; do
            srow handshakes floor hi "full hs/CPU-s, $([ "$key" = p256 ] && echo P-256 || echo RSA) vs floor" \
                "${R[hs_nktls-uring_${key}_full_cpu]:-}" "$(calc "1e6 / ${R[floor_full_${key}_us]}" %.0f)" \
                "${R[hs_nktls-uring_${key}_full_cpu_all]:-}" ""
        done
    fi
    for peer in nginx openssl; do
        srow bulk peer hi "download MB/CPU-s vs $peer" \
            "${R[bulk_dl_nktls-root_cpu]:-}" "${R[bulk_dl_${peer}_cpu]:-}" \
            "${R[bulk_dl_nktls-root_cpu_all]:-}" "${R[bulk_dl_${peer}_cpu_all]:-}" \
            "${R[bulk_dl_nktls-root_mbps]:-}" "${R[bulk_dl_${peer}_mbps]:-}" "MB/s"
    done
    srow bulk self hi "download MB/CPU-s, TLS 1.2 vs TLS 1.3" \
        "${R[bulk_dl12_nktls-root_cpu]:-}" "${R[bulk_dl_nktls-root_cpu]:-}" \
        "${R[bulk_dl12_nktls-root_cpu_all]:-}" "${R[bulk_dl_nktls-root_cpu_all]:-}" \
        "${R[bulk_dl12_nktls-root_mbps]:-}" "${R[bulk_dl_nktls-root_mbps]:-}" "MB/s"
    srow bulk floor hi "download MB/CPU-s vs AES-GCM floor" \
        "${R[bulk_dl_nktls-root_cpu]:-}" "${R[floor_mbps]:-}" "${R[bulk_dl_nktls-root_cpu_all]:-}" ""
    srow bulk peer hi "echo MB/CPU-s vs gnutls" \
        "${R[bulk_echo_nktls-uring_cpu]:-}" "${R[bulk_echo_gnutls_cpu]:-}" \
        "${R[bulk_echo_nktls-uring_cpu_all]:-}" "${R[bulk_echo_gnutls_cpu_all]:-}" \
        "${R[bulk_echo_nktls-uring_mbps]:-}" "${R[bulk_echo_gnutls_mbps]:-}" "MB/s"
    if [ -n "$top" ]; then
        srow bulk peer hi "$top conns 16 KiB GETs MB/CPU-s vs nginx" \
            "${R[conns_nktls-root_bytes_${top}_cpu]:-}" "${R[conns_nginx_bytes_${top}_cpu]:-}" "" "" \
            "${R[conns_nktls-root_bytes_${top}_wall]:-}" "${R[conns_nginx_bytes_${top}_wall]:-}" "MB/s"
    fi
    srow bulk peer hi "1 KiB keep-alive req/CPU-s vs nginx" \
        "${R[files_nktls-root_cpu]:-}" "${R[files_nginx_cpu]:-}" \
        "${R[files_nktls-root_cpu_all]:-}" "${R[files_nginx_cpu_all]:-}" \
        "${R[files_nktls-root_rps]:-}" "${R[files_nginx_rps]:-}" "req/s"
    for p in "${SRTP_PROFILES[@]}"; do
        for n in "${SRTP_PAYLOADS[@]}"; do
            srow bulk peer hi "SRTP ${p%%_HMAC*} ${n} B pairs/CPU-s vs libsrtp2" \
                "${R[srtp_nktls_${p}_$n]:-}" "${R[srtp_libsrtp2_${p}_$n]:-}" \
                "${R[srtp_nktls_${p}_${n}_all]:-}" "${R[srtp_libsrtp2_${p}_${n}_all]:-}"
        done
    done
    srow memory peer lo "idle conn bytes, software vs nginx" \
        "${R[mem_nktls-uring_bytes]:-}" "${R[mem_nginx_bytes]:-}"
    srow memory self lo "idle conn bytes, kTLS vs software (VM)" \
        "${R[mem_vm_auto_bytes]:-}" "${R[mem_vm_off_bytes]:-}"
    srow latency peer lo "p99 ms at ${R[p99_rate]:-?} hs/s vs nginx" \
        "${R[p99_nktls-uring_p99]:-}" "${R[p99_nginx_p99]:-}"
    srow latency peer lo "1 KiB keep-alive p99 ms vs nginx" \
        "${R[files_nktls-root_p99]:-}" "${R[files_nginx_p99]:-}"
    local d=$EARLY_DELAY_MS
    srow latency peer lo "resumed 0-RTT GET p50 ms, +$((2 * d)) ms RTT, vs nginx" \
        "${R[early_nktls-root_0rtt_d${d}_p50]:-}" "${R[early_nginx_0rtt_d${d}_p50]:-}" \
        "${R[early_nktls-root_0rtt_d${d}_p50_all]:-}" "${R[early_nginx_0rtt_d${d}_p50_all]:-}"
    srow latency self lo "resumed GET p50 ms, +$((2 * d)) ms RTT, 0-RTT vs 1-RTT" \
        "${R[early_nktls-root_0rtt_d${d}_p50]:-}" "${R[early_nktls-root_1rtt_d${d}_p50]:-}" \
        "${R[early_nktls-root_0rtt_d${d}_p50_all]:-}" "${R[early_nktls-root_1rtt_d${d}_p50_all]:-}"
}

summary_header() {
    echo "== nktls benchmark summary: $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -m), $(nproc) CPUs, kernel $(uname -r)"
    echo "   $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'); $PIN_NOTE; load average at start ${R[loadavg]:-?}"
    echo "   $CIPHER, X25519; peers: nginx ${NGINX_VERSION:-?}, openssl ${OPENSSL_VERSION:-?}, gnutls ${GNUTLS_VERSION:-?}"
    echo "   $([ "$QUICK" = 1 ] && echo "--quick run (short: noisy)," || echo "full run,") ${R[elapsed_s]:-?} s; sections' tables in $OUTDIR/*.txt"
    echo "   session tickets per full handshake: nktls ${R[tickets_nktls-uring_p256]:-?}, nginx ${R[tickets_nginx_p256]:-?}, openssl ${R[tickets_openssl_p256]:-?}, gnutls ${R[tickets_gnutls_p256]:-?} (no setting)"
    echo
}

summary_footer() {
    echo
    echo "   nk adv.: above 1, nktls does better (more per CPU-second; less latency, memory"
    echo "   or time); range: the lowest and highest ratio any pair of repeats gives."
    echo "   throughput: per wall second beside a per CPU-second figure (client-bound where"
    echo "   the one-CPU client is the limit). hs = handshakes; CPU-s = second of server CPU"
    echo "   time. nktls's servers: nktls-server --io uring (echo), --root for files and"
    echo "   downloads. Failures: each section's table says why a figure is -."
}

# summary_py MODE: the table (MODE table) or chart (MODE chart PNG) from
# summary.tsv. The chart wants matplotlib: the system's python3 has it once
# python3-matplotlib is installed.
summary_py() {
    local py=python3
    [ ! -x /usr/bin/python3 ] || py=/usr/bin/python3
    "$py" "$ROOT/scripts/bench.d/summary.py" "$SUM_TSV" "$@"
}

summary() {
    local txt=$OUTDIR/summary.txt
    summary_rows
    {
        summary_header
        summary_py table
        summary_footer
        summary_py chart "$OUTDIR/chart.png" "$([ "$QUICK" = 1 ] && echo "--quick run, noisy")" ||
            echo "   chart: not drawn (python3 failed)"
    } | tee "$txt"
}
