# scripts/bench.d/handshake.sh — section "handshake" of scripts/bench (sourced).
#
#   handshake    full and resumed TLS 1.3 handshakes (X25519, $CIPHER) with an
#                ECDSA P-256 and an RSA-2048 server certificate, against
#                nktls-server --io uring, nginx, openssl s_server and
#                gnutls-serv: nktls-load --mode handshake|resume, closed loop,
#                32 connections; handshakes per second of server CPU time
#                (the server's session, /proc) and per wall second, medians
#                of the repeats, and nktls's ratio to each peer. Then p99
#                latency open loop: every server offered the same rate, 70%
#                of the slowest server's closed-loop peak (full, P-256).
#                TLS 1.2 (ECDHE-ECDSA AES-128-GCM, extended master secret,
#                one session ticket), P-256: nktls-server and nginx, full and
#                resumed by ticket (modes full12 and resume12); then each
#                restarted without tickets (nktls-server --tickets 0, nginx
#                ssl_session_tickets off with a shared session cache) and
#                resumed by session id (mode resume12id).
#                NKTLS_BENCH_HS_SERVERS / NKTLS_BENCH_HS_KEYS (space-separated)
#                run only those servers / certificate keys (default: all).
# shellcheck shell=bash

read -r -a HS_SERVERS <<<"${NKTLS_BENCH_HS_SERVERS:-nktls-uring nginx openssl gnutls}"
read -r -a HS_KEYS <<<"${NKTLS_BENCH_HS_KEYS:-p256 rsa2048}"
HS12_SERVERS=(nktls-uring nginx)
HS_CONC=32

# hs_measure SRV KEY MODE RAW REPS: the repeats of one kind of handshake against
# the running server; R[hs_SRV_KEY_MODE_cpu|wall|err].
hs_measure() {
    local srv=$1 key=$2 mode=$3 raw=$4 reps=$5 i p=hs_$1_$2_$3
    local -a cpu=() wall=() tls=()
    local kind=resume
    [[ $mode != *12* ]] || tls=("${TLS12_LOAD[@]}")
    [[ $mode != full* ]] || kind=handshake
    for i in $(seq "$reps"); do
        if ! load "$p-$i" "$raw" --mode "$kind" "${tls[@]}" \
            --concurrency "$HS_CONC" --threads 1 --duration "$LOAD_SECS"; then
            R[${p}_err]=${L[err]}
            FAILED=1
            return
        fi
        if [ "$kind" = resume ] && [ "$(calc "${L[resumed]:-0} < 0.9" %d)" = 1 ]; then
            R[${p}_err]="only ${L[resumed]:-0} of the handshakes resumed"
            FAILED=1
            return
        fi
        cpu+=("${L[ops_cpu]:-0}")
        wall+=("${L[hs_s]:-0}")
    done
    R[${p}_cpu]=$(median "${cpu[@]}")
    R[${p}_wall]=$(median "${wall[@]}")
    R[${p}_cpu_all]="${cpu[*]}"
    echo "server=$srv key=$key mode=$mode stat=median reps=$reps per_cpu_s=${R[${p}_cpu]} per_s=${R[${p}_wall]}" >>"$raw"
}

hs_table() {
    local key srv nk_full nk_res
    echo "== handshake: TLS 1.3, X25519, $CIPHER; $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $PIN_NOTE"
    echo "   nktls-load closed loop, $HS_CONC connections, 1 thread, ${LOAD_SECS} s x ${R[hs_reps]} (median)"
    echo "   per CPU-s: handshakes per second of server CPU time (user+sys of its processes)"
    for key in "${HS_KEYS[@]}"; do
        echo
        echo "-- $([ "$key" = p256 ] && echo "ECDSA P-256" || echo "RSA-2048") server certificate"
        printf '   %-28s %11s %9s %11s %9s %9s %9s %7s %7s\n' server "full/CPU-s" "full/s" \
            "resum/CPU-s" "resum/s" "nk/this" "nk/this" "floor" "tickets"
        printf '   %-28s %11s %9s %11s %9s %9s %9s %7s %7s\n' "" "" "" "" "" "full" "resumed" "frac" \
            "per hs"
        nk_full=${R[hs_nktls-uring_${key}_full_cpu]:-}
        nk_res=${R[hs_nktls-uring_${key}_resume_cpu]:-}
        for srv in "${HS_SERVERS[@]}"; do
            local p=hs_${srv}_${key}
            if [ -n "${R[${p}_err]:-}" ]; then
                printf '   %-28s not run: %s\n' "$(server_label "$srv")" "${R[${p}_err]}"
                continue
            fi
            printf '   %-28s %11s %9s %11s %9s %9s %9s %7s %7s\n' "$(server_label "$srv")" \
                "$(num "${R[${p}_full_cpu]:-}")" "$(num "${R[${p}_full_wall]:-}")" \
                "$(num "${R[${p}_resume_cpu]:-}")" "$(num "${R[${p}_resume_wall]:-}")" \
                "$(ratio "$nk_full" "${R[${p}_full_cpu]:-}")" "$(ratio "$nk_res" "${R[${p}_resume_cpu]:-}")" \
                "$(floor_frac_hs "${R[${p}_full_cpu]:-}" "${R[floor_full_${key}_us]:-}")" \
                "$(fmt "${R[tickets_${srv}_${key}]:-}")"
            for m in full resume; do
                [ -z "${R[${p}_${m}_err]:-}" ] || printf '   %-28s   %s: %s\n' "" "$m" "${R[${p}_${m}_err]}"
            done
        done
    done
    echo
    echo "-- TLS 1.2, ECDSA P-256 server certificate (ECDHE-ECDSA-AES128-GCM-SHA256, X25519)"
    printf '   %-28s %11s %9s %11s %9s %11s %9s %8s %8s %8s\n' server "full/CPU-s" "full/s" \
        "tick/CPU-s" "tick/s" "id/CPU-s" "id/s" "nk/this" "nk/this" "nk/this"
    printf '   %-28s %11s %9s %11s %9s %11s %9s %8s %8s %8s\n' "" "" "" "" "" "" "" full ticket "id"
    for srv in "${HS12_SERVERS[@]}"; do
        local q=hs_${srv}_p256
        printf '   %-28s %11s %9s %11s %9s %11s %9s %8s %8s %8s\n' "$(server_label "$srv")" \
            "$(num "${R[${q}_full12_cpu]:-}")" "$(num "${R[${q}_full12_wall]:-}")" \
            "$(num "${R[${q}_resume12_cpu]:-}")" "$(num "${R[${q}_resume12_wall]:-}")" \
            "$(num "${R[${q}_resume12id_cpu]:-}")" "$(num "${R[${q}_resume12id_wall]:-}")" \
            "$(ratio "${R[hs_nktls-uring_p256_full12_cpu]:-}" "${R[${q}_full12_cpu]:-}")" \
            "$(ratio "${R[hs_nktls-uring_p256_resume12_cpu]:-}" "${R[${q}_resume12_cpu]:-}")" \
            "$(ratio "${R[hs_nktls-uring_p256_resume12id_cpu]:-}" "${R[${q}_resume12id_cpu]:-}")"
        for m in full12 resume12 resume12id; do
            [ -z "${R[${q}_${m}_err]:-}" ] || printf '   %-28s   %s: %s\n' "" "$m" "${R[${q}_${m}_err]}"
        done
    done
    echo
    if [ -n "${R[p99_rate]:-}" ]; then
        echo "-- latency, open loop (--rate): every server offered ${R[p99_rate]} full P-256 handshakes/s,"
        echo "   70% of the slowest server's closed-loop peak; ${R[p99_secs]} s, up to 256 connections"
        printf '   %-28s %9s %9s %9s %10s\n' server "done/s" "p50 ms" "p99 ms" "p99 this/nk"
        for srv in "${HS_SERVERS[@]}"; do
            if [ -n "${R[p99_${srv}_err]:-}" ]; then
                printf '   %-28s not run: %s\n' "$(server_label "$srv")" "${R[p99_${srv}_err]}"
                continue
            fi
            printf '   %-28s %9s %9s %9s %10s\n' "$(server_label "$srv")" \
                "$(num "${R[p99_${srv}_rate]:-}")" "$(num "${R[p99_${srv}_p50]:-}" %.2f)" \
                "$(num "${R[p99_${srv}_p99]:-}" %.2f)" \
                "$(ratio "${R[p99_${srv}_p99]:-}" "${R[p99_nktls-uring_p99]:-}")"
        done
    else
        echo "-- latency: not run (${R[p99_err]:-no peak rate})"
    fi
    echo
    echo "   nk/this: nktls-server's handshakes per CPU-second over that server's (above 1:"
    echo "   nktls is cheaper). floor frac: full/CPU-s over the crypto floor's rate (floor"
    echo "   section; - when it did not run). p99 this/nk above 1: that server's tail is longer."
    echo "   tickets per hs: NewSessionTicket messages after one full handshake, counted by"
    echo "   openssl s_client; every server is configured for 1 (gnutls-serv has no setting"
    echo "   and sends 2: its full handshakes do one ticket's work more)."
    echo "   The client is nktls-load on one CPU: where it is the bottleneck, per-s figures"
    echo "   are the client's limit and per CPU-s figures the server's true cost."
}

section_handshake() {
    local raw=$OUTDIR/handshake.raw txt=$OUTDIR/handshake.txt reps key srv mode slow="" rate
    : >"$raw"
    setup_certs
    reps=${NKTLS_BENCH_REPS:-$(qd 3 2)}
    LOAD_SECS=${NKTLS_BENCH_SECS:-$(qd 4 1)}
    R[hs_reps]=$reps
    echo "# handshake: $PIN_NOTE; load average $(cut -d' ' -f1-3 /proc/loadavg)" >>"$raw"
    for key in "${HS_KEYS[@]}"; do
        for srv in "${HS_SERVERS[@]}"; do
            say "handshake: $srv, $key"
            if ! server_start "$srv" "$key"; then
                R[hs_${srv}_${key}_err]=$SRV_ERR
                FAILED=1
                continue
            fi
            R[tickets_${srv}_${key}]=$(tickets_probe)
            echo "server=$srv key=$key tickets_per_handshake=${R[tickets_${srv}_${key}]}" >>"$raw"
            # Warm-up: lazy initialisation, caches.
            load "hs-$srv-$key-warm" "$raw" --mode handshake --concurrency 4 --count 50 || true
            for mode in full resume; do
                hs_measure "$srv" "$key" "$mode" "$raw" "$reps"
            done
            if [ "$key" = p256 ] && [[ " ${HS12_SERVERS[*]} " == *" $srv "* ]]; then
                for mode in full12 resume12; do
                    hs_measure "$srv" "$key" "$mode" "$raw" "$reps"
                done
            fi
            stop "$SRV"
        done
    done
    # TLS 1.2 resumption by session id: the servers again, without tickets.
    if [[ " ${HS_KEYS[*]} " == *" p256 "* ]]; then
        for srv in "${HS12_SERVERS[@]}"; do
            [[ " ${HS_SERVERS[*]} " == *" $srv "* ]] || continue
            say "handshake: $srv, p256, TLS 1.2 by session id"
            if ! NO_TICKETS=1 server_start "$srv" p256; then
                R[hs_${srv}_p256_resume12id_err]=$SRV_ERR
                FAILED=1
                continue
            fi
            load "hs-$srv-p256-id-warm" "$raw" --mode resume "${TLS12_LOAD[@]}" --concurrency 4 --count 50 || true
            hs_measure "$srv" p256 resume12id "$raw" "$reps"
            stop "$SRV"
        done
    fi
    # The slowest server's peak sets the offered rate for everyone.
    for srv in "${HS_SERVERS[@]}"; do
        local w=${R[hs_${srv}_p256_full_wall]:-}
        [ -n "$w" ] || continue
        if [ -z "$slow" ] || [ "$(calc "$w < $slow" %d)" = 1 ]; then slow=$w; fi
    done
    if [ -n "$slow" ] && [ "$(calc "$slow >= 10" %d)" = 1 ]; then
        rate=$(calc "$slow * 0.7" %.0f)
        R[p99_rate]=$rate
        R[p99_secs]=$(qd 5 1)
        for srv in "${HS_SERVERS[@]}"; do
            say "handshake: $srv, p99 at $rate/s"
            if ! server_start "$srv" p256; then
                R[p99_${srv}_err]=$SRV_ERR
                continue
            fi
            load "p99-$srv-warm" "$raw" --mode handshake --concurrency 4 --count 50 || true
            LOAD_SECS=${R[p99_secs]}
            if load "p99-$srv" "$raw" --mode handshake --rate "$rate" --concurrency 256 \
                --duration "${R[p99_secs]}"; then
                R[p99_${srv}_p99]=${L[p99]}
                R[p99_${srv}_p50]=${L[p50]}
                R[p99_${srv}_rate]=${L[hs_s]}
            else
                R[p99_${srv}_err]=${L[err]}
                FAILED=1
            fi
            LOAD_SECS=${NKTLS_BENCH_SECS:-$(qd 2 1)}
            stop "$SRV"
        done
    else
        R[p99_err]="no closed-loop peak measured"
    fi
    hs_table | tee "$txt"
    say "table: $txt; raw lines: $raw"
}
