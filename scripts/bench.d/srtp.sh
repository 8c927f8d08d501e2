# scripts/bench.d/srtp.sh — section "srtp" of scripts/bench (sourced).
#
#   srtp         SRTP packet protection's CPU cost: tests/bench/bench_srtp
#                protects and unprotects one RTP packet (payload 160 and 1200
#                bytes) with AES128_CM_HMAC_SHA1_80 and AEAD_AES_128_GCM,
#                through nktls and the reference SRTP library (libsrtp2, when
#                the build found it) in the same process, pinned to the server
#                CPU. It prints `impl=... profile=... payload=...
#                pairs_per_cpu_s=...`; the table shows the median over the
#                repeats of each figure and nktls over the library.
# shellcheck shell=bash

SRTP_PROFILES=(AES128_CM_HMAC_SHA1_80 AEAD_AES_128_GCM)
SRTP_PAYLOADS=(160 1200)

# srtp_parse IMPL PROFILE PAYLOAD OUTPUT: the median pairs per CPU-second of the
# matching lines into R[srtp_IMPL_PROFILE_PAYLOAD] (and _all); false when none.
srtp_parse() {
    local key=srtp_$1_$2_$3 lines
    local -a v
    lines=$(grep -E "(^| )impl=$1( |$)" <<<"$4" | grep -E "(^| )profile=$2( |$)" |
        grep -E "(^| )payload=$3( |$)" || true)
    mapfile -t v < <(while read -r l; do [ -z "$l" ] || kv pairs_per_cpu_s "$l"; done <<<"$lines" | grep .)
    [ ${#v[@]} -gt 0 ] || return 1
    R[$key]=$(calc "$(median "${v[@]}")" %.0f)
    R[${key}_all]="${v[*]}"
}

srtp_table() {
    local p n
    echo "== srtp: protect + unprotect pairs per CPU-second, one RTP packet (12-byte header),"
    echo "   median of ${R[srtp_reps]} runs of ${R[srtp_count]} pairs (each the best of 5 rounds), pinned to CPU 0"
    printf '   %-24s %8s %14s %14s %9s\n' profile payload "nktls" "libsrtp2" "nk/ref"
    for p in "${SRTP_PROFILES[@]}"; do
        for n in "${SRTP_PAYLOADS[@]}"; do
            printf '   %-24s %8s %14s %14s %9s\n' "$p" "$n" \
                "$(fmt "${R[srtp_nktls_${p}_$n]:-}")" "$(fmt "${R[srtp_libsrtp2_${p}_$n]:-}")" \
                "$(ratio "${R[srtp_nktls_${p}_$n]:-}" "${R[srtp_libsrtp2_${p}_$n]:-}")"
        done
    done
    [ -z "${R[srtp_detail]:-}" ] || echo "   ${R[srtp_detail]}"
}

section_srtp() {
    local raw=$OUTDIR/srtp.raw txt=$OUTDIR/srtp.txt out="" i p n impl reps count
    : >"$raw"
    reps=${NKTLS_BENCH_REPS:-$(qd 3 2)}
    count=$(qd 500000 50000)
    R[srtp_reps]=$reps
    R[srtp_count]=$count
    if [ ! -x "$BIN/tests/bench/bench_srtp" ]; then
        R[srtp_detail]="tests/bench/bench_srtp: not built"
        FAILED=1
    else
        say "srtp: bench_srtp"
        for i in $(seq "$reps"); do
            out+=$(timeout 300 "${PIN_SERVER[@]}" "$BIN/tests/bench/bench_srtp" --count "$count" \
                2>>"$WORK/bench_srtp.err" || true)$'\n'
        done
        printf '%s' "$out" >>"$raw"
        for p in "${SRTP_PROFILES[@]}"; do
            for n in "${SRTP_PAYLOADS[@]}"; do
                for impl in nktls libsrtp2; do
                    srtp_parse "$impl" "$p" "$n" "$out" ||
                        R[srtp_detail]+="no $impl figure for $p $n ($([ "$impl" = libsrtp2 ] &&
                            echo "built without libsrtp2-dev?" || tail -c 120 "$WORK/bench_srtp.err" | tr '\n' ' ')); "
                done
            done
        done
        [ -z "${R[srtp_detail]:-}" ] || FAILED=1
    fi
    srtp_table | tee "$txt"
    say "table: $txt; raw lines: $raw"
}
