# scripts/bench.d/dtls.sh — section "dtls" of scripts/bench (sourced).
#
#   dtls         the DTLS 1.2 handshake's CPU cost in one process with no
#                sockets: tests/bench/bench_dtls (nktls engines fed datagram
#                by datagram) and bench_dtls_ossl (OpenSSL's libssl over
#                memory BIOs), a full handshake with the HelloVerifyRequest
#                cookie exchange, X25519, the P-256 certificate,
#                ECDHE-ECDSA-AES128-GCM-SHA256, pinned to the server CPU.
#                They print `impl=... proto=dtls1.2 server_us=... client_us=...
#                floor_us=... ratio=...`; the table shows server microseconds
#                per handshake (median of the repeats, every run listed),
#                handshakes per server CPU-second, and libssl's over nktls's,
#                and that ratio's ceiling: libssl's figure over the crypto
#                floor with fresh keys (floor_fresh_us).
#                Then over UDP on loopback: nktls-server --dtls vs openssl
#                s_server -dtls1_2 (s_server serves one client at a time; cookie
#                exchange on in both), the server's CPU time per handshake from
#                /proc/PID/schedstat (ns), so handshakes per server CPU-second,
#                socket work and the close included, in two load patterns:
#                 - busy: tests/bench/dtls_client_ossl (libssl) makes full
#                   handshakes back to back, each on a new socket and ended with
#                   close_notify (same suite, X25519:P-256); user and system
#                   time apart from /proc/PID/stat. The headline figure: a
#                   server's capacity is what it does while busy.
#                 - idle: openssl s_client -dtls1_2, one process per handshake,
#                   which takes it about half a second; the server sleeps
#                   between handshakes and wakes each time with cold caches.
# shellcheck shell=bash

DTLS_IMPLS=(nktls openssl)

# dtls_parse IMPL OUTPUT: the medians into R[dtls_IMPL_server|client|floor].
dtls_parse() {
    local impl=$1 lines f
    local -a v
    lines=$(grep -E "(^| )impl=$impl( |$)" <<<"$2" | grep -E '(^| )proto=dtls1\.2( |$)' |
        grep 'server_us=' || true)
    [ -n "$lines" ] || return 1
    for f in server client floor floor_fresh; do
        mapfile -t v < <(while read -r l; do kv "${f}_us" "$l"; done <<<"$lines" | grep .)
        [ ${#v[@]} -eq 0 ] || R[dtls_${impl}_$f]=$(median "${v[@]}")
        [ ${#v[@]} -eq 0 ] || R[dtls_${impl}_${f}_all]="${v[*]}"
    done
    [ -n "${R[dtls_${impl}_server]:-}" ]
}

dtls_table() {
    local impl
    echo "== dtls: server CPU microseconds per DTLS 1.2 full handshake in one process (no sockets),"
    echo "   cookie exchange included, X25519, P-256, ECDHE-ECDSA-AES128-GCM-SHA256;"
    echo "   median of ${R[dtls_reps]} runs of ${R[dtls_count]} handshakes, pinned to CPU 0"
    printf '   %-8s %11s %13s %11s %9s   %s\n' impl "server us" "hs/server-s" "client us" "floor us" "server us, every run"
    for impl in "${DTLS_IMPLS[@]}"; do
        printf '   %-8s %11s %13s %11s %9s   %s\n' "$impl" \
            "${R[dtls_${impl}_server]:-${R[dtls_${impl}_err]:-"-"}}" \
            "$([ -z "${R[dtls_${impl}_server]:-}" ] || calc "1e6 / ${R[dtls_${impl}_server]}" %.0f)" \
            "${R[dtls_${impl}_client]:-"-"}" "$(fmt "${R[dtls_${impl}_floor]:-}")" \
            "${R[dtls_${impl}_server_all]:-}"
    done
    echo "   libssl server us / nktls server us: $(ratio "${R[dtls_openssl_server]:-}" "${R[dtls_nktls_server]:-}")"
    local fresh=${R[dtls_nktls_floor_fresh]:-${R[dtls_openssl_floor_fresh]:-}}
    if [ -n "$fresh" ]; then
        echo "   crypto floor with a fresh X25519 key pair and derive context per handshake, as a server"
        echo "   makes them, plus the signature: $(fmt "$fresh") us; libssl server us / that floor:"
        echo "   $(ratio "${R[dtls_openssl_server]:-}" "$fresh"), the most any server on libcrypto could show against libssl here"
    fi
    for impl in "${DTLS_IMPLS[@]}"; do
        [ -z "${R[dtls_${impl}_detail]:-}" ] || echo "   $impl: ${R[dtls_${impl}_detail]}"
    done
}

# dtls_udp_one IMPL COUNT LOAD: one server, a warm-up, then COUNT sequential
# handshakes by LOAD (busy: dtls_client_ossl back to back; idle: one s_client
# each); prints `impl=IMPL transport=udp load=LOAD count=OK server_us=...
# user_us=... sys_us=...`.
dtls_udp_one() {
    local impl=$1 n=$2 load=$3 port sid i ok=0 t0 t1 u0 u1 s0 s1 hz
    port=$(free_port) || return 1
    case $impl in
    nktls) spawn "$WORK/dtls-udp-$impl.out" "$WORK/dtls-udp-$impl.err" "${PIN_SERVER[@]}" \
        "$BIN/examples/nktls-server" --dtls --listen "127.0.0.1:$port" \
        --cert "$CERTS/server.pem" --key "$CERTS/server.key" ;;
    openssl) spawn "$WORK/dtls-udp-$impl.out" "$WORK/dtls-udp-$impl.err" "${PIN_SERVER[@]}" \
        openssl s_server -dtls1_2 -accept "127.0.0.1:$port" \
        -cert "$CERTS/server.pem" -key "$CERTS/server.key" -quiet ;;
    esac
    sid=$SPAWNED
    for i in $(seq 50); do
        ss -Huln "sport = :$port" 2>/dev/null | grep -q . && break
        sleep 0.1
    done
    if [ "$load" = busy ]; then
        dtls_udp_load "$port" 20 >/dev/null || true
    else
        dtls_udp_client "$port" || true
    fi
    t0=$(awk '{ print $1 }' "/proc/$sid/schedstat" 2>/dev/null || echo "")
    read -r u0 s0 < <(awk '{ print $14, $15 }' "/proc/$sid/stat" 2>/dev/null || echo "")
    if [ "$load" = busy ]; then
        ok=$(kv count "$(dtls_udp_load "$port" "$n" || true)")
    else
        for i in $(seq "$n"); do
            ! dtls_udp_client "$port" || ok=$((ok + 1))
        done
    fi
    t1=$(awk '{ print $1 }' "/proc/$sid/schedstat" 2>/dev/null || echo "")
    read -r u1 s1 < <(awk '{ print $14, $15 }' "/proc/$sid/stat" 2>/dev/null || echo "")
    stop "$sid"
    [ -n "$t0" ] && [ -n "$t1" ] && [ "${ok:-0}" -gt 0 ] || return 1
    # user and system time come in clock ticks: only the busy runs are long
    # enough to split.
    hz=$(getconf CLK_TCK)
    echo "impl=$impl transport=udp load=$load count=$ok server_us=$(calc "($t1 - $t0) / 1000 / $ok" %.1f)" \
        "$([ "$load" = idle ] || echo "user_us=$(calc "($u1 - $u0) * 1e6 / $hz / $ok" %.0f)" \
            "sys_us=$(calc "($s1 - $s0) * 1e6 / $hz / $ok" %.0f)")"
}

# dtls_udp_load PORT COUNT: COUNT handshakes back to back from libssl.
dtls_udp_load() {
    timeout 300 "${PIN_CLIENT[@]}" "$BIN/tests/bench/dtls_client_ossl" --connect "127.0.0.1:$1" \
        --ca "$CERTS/ca.pem" --servername localhost --count "$2"
}

# dtls_udp_client PORT: one full handshake, then the end of input closes it.
dtls_udp_client() {
    timeout 10 "${PIN_CLIENT[@]}" openssl s_client -dtls1_2 -connect "127.0.0.1:$1" \
        -CAfile "$CERTS/ca.pem" -verify_return_error -servername localhost \
        -cipher ECDHE-ECDSA-AES128-GCM-SHA256 -groups X25519:P-256 </dev/null 2>&1 |
        grep -q '^New, TLSv1.2, Cipher is ECDHE-ECDSA-AES128-GCM-SHA256'
}

# dtls_udp BUSY_REPS BUSY_COUNT IDLE_REPS IDLE_COUNT: the runs, each pair of
# servers back to back, so that a burst of load on the shared machine lands
# on both; besides the medians, each pair's ratio and their median.
dtls_udp() {
    local busy_reps=$1 count=$2 idle_reps=$3 idle_count=$4 impl i out="" line load f n pair
    local -a v ratios
    setup_certs
    R[dtls_udp_count]=$count
    R[dtls_udp_idle_count]=$idle_count
    for load in busy idle; do
        [ "$load" = idle ] || [ -x "$BIN/tests/bench/dtls_client_ossl" ] || continue
        [ "$load" = busy ] && n=$busy_reps || n=$idle_reps
        ratios=()
        for i in $(seq "$n"); do
            pair=()
            for impl in "${DTLS_IMPLS[@]}"; do
                [ "$impl" != nktls ] || [ -x "$BIN/examples/nktls-server" ] || continue
                line=$(dtls_udp_one "$impl" "$([ "$load" = busy ] && echo "$count" || echo "$idle_count")" "$load" || true)
                [ -n "$line" ] || say "dtls udp $load: $impl: no figure ($(tail -c 160 "$WORK/dtls-udp-$impl.err" | tr '\n' ' '))"
                out+=$line$'\n'
                pair+=("$(kv server_us "$line")")
            done
            [ ${#pair[@]} -ne 2 ] || [ -z "${pair[0]}" ] || [ -z "${pair[1]}" ] ||
                ratios+=("$(ratio "${pair[1]}" "${pair[0]}")")
        done
        [ ${#ratios[@]} -eq 0 ] || R[dtls_udp_${load}_pair_ratio]=$(median "${ratios[@]}")
        R[dtls_udp_${load}_pair_ratio_all]="${ratios[*]}"
    done
    printf '%s' "$out" >>"$OUTDIR/dtls.raw"
    for load in busy idle; do
        for impl in "${DTLS_IMPLS[@]}"; do
            for f in server user sys; do
                mapfile -t v < <(grep -E "(^| )impl=$impl( |$)" <<<"$out" | grep -E "(^| )load=$load( |$)" |
                    while read -r l; do kv "${f}_us" "$l"; done | grep .)
                [ ${#v[@]} -eq 0 ] || R[dtls_udp_${load}_${impl}_$f]=$(median "${v[@]}")
                [ ${#v[@]} -eq 0 ] || R[dtls_udp_${load}_${impl}_${f}_all]="${v[*]}"
            done
        done
    done
}

dtls_udp_table() {
    local impl load
    echo "== dtls over UDP (loopback): server CPU microseconds per sequential DTLS 1.2 full handshake,"
    echo "   nktls-server --dtls vs openssl s_server -dtls1_2 (cookie exchange on); $PIN_NOTE"
    for load in busy idle; do
        if [ "$load" = busy ]; then
            echo "   busy: tests/bench/dtls_client_ossl (libssl), handshakes back to back, ${R[dtls_udp_count]} a run"
        else
            echo "   idle: openssl s_client -dtls1_2, one process per handshake (about 0.5 s each: the server"
            echo "   sleeps between handshakes and wakes with cold caches), ${R[dtls_udp_idle_count]} a run"
        fi
        printf '   %-8s %11s %13s %9s %9s   %s\n' impl "server us" "hs/server-s" "user us" "sys us" "server us, every run"
        for impl in "${DTLS_IMPLS[@]}"; do
            printf '   %-8s %11s %13s %9s %9s   %s\n' "$impl" "${R[dtls_udp_${load}_${impl}_server]:-"-"}" \
                "$([ -z "${R[dtls_udp_${load}_${impl}_server]:-}" ] || calc "1e6 / ${R[dtls_udp_${load}_${impl}_server]}" %.0f)" \
                "${R[dtls_udp_${load}_${impl}_user]:-"-"}" "${R[dtls_udp_${load}_${impl}_sys]:-"-"}" \
                "${R[dtls_udp_${load}_${impl}_server_all]:-}"
        done
        echo "   $load: nktls hs per server CPU-second / s_server's: $(ratio "${R[dtls_udp_${load}_openssl_server]:-}" "${R[dtls_udp_${load}_nktls_server]:-}")" \
            "$([ "$load" = idle ] || echo "(user time alone: $(ratio "${R[dtls_udp_${load}_openssl_user]:-}" "${R[dtls_udp_${load}_nktls_user]:-}"))")"
        echo "   $load: the same ratio in each run (the two servers back to back): median" \
            "${R[dtls_udp_${load}_pair_ratio]:-"-"}; every run: ${R[dtls_udp_${load}_pair_ratio_all]:-"-"}"
    done
}

section_dtls() {
    local raw=$OUTDIR/dtls.raw txt=$OUTDIR/dtls.txt impl prog i out reps count
    : >"$raw"
    reps=${NKTLS_BENCH_REPS:-$(qd 5 3)}
    count=$(qd 1000 200)
    R[dtls_reps]=$reps
    R[dtls_count]=$count
    for impl in "${DTLS_IMPLS[@]}"; do
        prog=bench_dtls$([ "$impl" = openssl ] && echo _ossl || true)
        if [ ! -x "$BIN/tests/bench/$prog" ]; then
            R[dtls_${impl}_err]="not built"
            R[dtls_${impl}_detail]="tests/bench/$prog: not built (the tree has no such target, or it failed to build)"
            continue
        fi
    done
    # The two programs take turns, so a burst of other load lands on both.
    say "dtls: bench_dtls, bench_dtls_ossl"
    out=""
    for i in $(seq "$reps"); do
        for impl in "${DTLS_IMPLS[@]}"; do
            [ -z "${R[dtls_${impl}_err]:-}" ] || continue
            prog=bench_dtls$([ "$impl" = openssl ] && echo _ossl || true)
            out+=$(timeout 300 "${PIN_SERVER[@]}" "$BIN/tests/bench/$prog" --count "$count" \
                2>>"$WORK/$prog.err" || true)$'\n'
        done
    done
    printf '%s' "$out" >>"$raw"
    for impl in "${DTLS_IMPLS[@]}"; do
        [ -z "${R[dtls_${impl}_err]:-}" ] || continue
        prog=bench_dtls$([ "$impl" = openssl ] && echo _ossl || true)
        dtls_parse "$impl" "$out" ||
            R[dtls_${impl}_detail]="no figure: $(tail -c 160 "$WORK/$prog.err" | tr '\n' ' ')"
        [ -z "${R[dtls_${impl}_detail]:-}" ] || FAILED=1
    done
    # Idle: each s_client takes about half a second of wall time (its
    # close), so fewer of them.
    dtls_udp "$(qd 9 2)" "$(qd 1000 200)" "$(qd 5 2)" "$(qd 40 10)"
    { dtls_table; echo; dtls_udp_table; } | tee "$txt"
    say "table: $txt; raw lines: $raw"
}
