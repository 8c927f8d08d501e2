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
#                handshakes per server CPU-second, and libssl's over nktls's.
# shellcheck shell=bash

DTLS_IMPLS=(nktls openssl)

# dtls_parse IMPL OUTPUT: the medians into R[dtls_IMPL_server|client|floor].
dtls_parse() {
    local impl=$1 lines f
    local -a v
    lines=$(grep -E "(^| )impl=$impl( |$)" <<<"$2" | grep -E '(^| )proto=dtls1\.2( |$)' |
        grep 'server_us=' || true)
    [ -n "$lines" ] || return 1
    for f in server client floor; do
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
    for impl in "${DTLS_IMPLS[@]}"; do
        [ -z "${R[dtls_${impl}_detail]:-}" ] || echo "   $impl: ${R[dtls_${impl}_detail]}"
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
    dtls_table | tee "$txt"
    say "table: $txt; raw lines: $raw"
}
