# scripts/bench.d/inproc.sh — section "inproc" of scripts/bench (sourced).
#
#   inproc       the handshake's CPU cost in one process with no sockets:
#                tests/bench/bench_handshake (nktls engines) and
#                bench_handshake_ossl (OpenSSL's libssl over memory BIOs),
#                --key p256|rsa2048 --mode full|resume (and TLS 1.2's, --tls
#                1.2, as modes full12 and resume12), pinned to the server
#                CPU. They print `impl=... key=... mode=... tls=... server_us=...
#                client_us=... floor_us=... ratio=...`; the table shows server
#                microseconds per handshake (median of the repeats), each over
#                its floor (ratio, as the program computes it), and libssl's
#                over nktls's. "not built" when the tree has no such program.
# shellcheck shell=bash

INPROC_IMPLS=(nktls openssl)

INPROC_MODES=(full resume full12 resume12)

# inproc_args MODE: the programs' arguments for one of INPROC_MODES.
inproc_args() {
    case $1 in
    *12) echo "--mode ${1%12} --tls 1.2" ;;
    *) echo "--mode $1 --tls 1.3" ;;
    esac
}

# inproc_parse IMPL KEY MODE OUTPUT: the median of the matching lines' figures
# into R[inproc_IMPL_KEY_MODE_server|client|floor|ratio]; false when none.
inproc_parse() {
    local impl=$1 key=$2 mode=${3%12} tls lines f
    local -a v
    tls=$([ "$mode" = "$3" ] && echo 1.3 || echo 1.2)
    lines=$(grep -E "(^| )impl=$impl( |$)" <<<"$4" | grep -E "(^| )key=$key( |$)" |
        grep -E "(^| )mode=$mode( |$)" | grep -E "(^| )tls=$tls( |$)" | grep 'server_us=' || true)
    [ -n "$lines" ] || return 1
    for f in server client floor; do
        mapfile -t v < <(while read -r l; do kv "${f}_us" "$l"; done <<<"$lines" | grep .)
        [ ${#v[@]} -eq 0 ] || R[inproc_${impl}_${key}_$3_$f]=$(median "${v[@]}")
        [ ${#v[@]} -eq 0 ] || R[inproc_${impl}_${key}_$3_${f}_all]="${v[*]}"
    done
    mapfile -t v < <(while read -r l; do kv ratio "$l"; done <<<"$lines" | grep .)
    [ ${#v[@]} -eq 0 ] || R[inproc_${impl}_${key}_$3_ratio]=$(median "${v[@]}")
    [ -n "${R[inproc_${impl}_${key}_$3_server]:-}" ]
}

inproc_table() {
    local key mode impl
    echo "== inproc: server CPU microseconds per handshake in one process (no sockets), TLS 1.3"
    echo "   (full12/resume12: TLS 1.2, ECDHE with the key's AES-128-GCM suite, extended master secret),"
    echo "   X25519, $CIPHER; median of ${R[inproc_reps]} runs of ${R[inproc_count]} handshakes, pinned to CPU 0"
    printf '   %-8s %-7s %11s %11s %9s %9s %9s %9s\n' key mode "nktls us" "libssl us" "floor us" \
        "nk/floor" "ssl/floor" "ssl/nk"
    for key in p256 rsa2048; do
        for mode in "${INPROC_MODES[@]}"; do
            local n=inproc_nktls_${key}_${mode} o=inproc_openssl_${key}_${mode}
            printf '   %-8s %-7s %11s %11s %9s %9s %9s %9s\n' "$key" "$mode" \
                "${R[${n}_server]:-${R[inproc_nktls_err]:-"-"}}" \
                "${R[${o}_server]:-${R[inproc_openssl_err]:-"-"}}" \
                "$(fmt "${R[${n}_floor]:-${R[${o}_floor]:-}}")" \
                "$(ratio "${R[${n}_server]:-}" "${R[${n}_floor]:-}")" \
                "$(ratio "${R[${o}_server]:-}" "${R[${o}_floor]:-}")" \
                "$(ratio "${R[${o}_server]:-}" "${R[${n}_server]:-}")"
        done
    done
    for impl in "${INPROC_IMPLS[@]}"; do
        [ -z "${R[inproc_${impl}_detail]:-}" ] || echo "   $impl: ${R[inproc_${impl}_detail]}"
    done
    echo
    echo "   floor: the crypto the program times on its own (X25519 keygen + derive, priced as"
    echo "   two derives, plus the signature for full handshakes; none for a resumed TLS 1.2"
    echo "   handshake, which has no key exchange). ssl/nk above 1: libssl's server costs more."
}

section_inproc() {
    local raw=$OUTDIR/inproc.raw txt=$OUTDIR/inproc.txt impl prog key mode i out reps count
    : >"$raw"
    reps=${NKTLS_BENCH_REPS:-$(qd 3 2)}
    count=$(qd 500 100)
    R[inproc_reps]=$reps
    R[inproc_count]=$count
    for impl in "${INPROC_IMPLS[@]}"; do
        prog=bench_handshake$([ "$impl" = openssl ] && echo _ossl || true)
        if [ ! -x "$BIN/tests/bench/$prog" ]; then
            R[inproc_${impl}_err]="not built"
            R[inproc_${impl}_detail]="tests/bench/$prog: not built (the tree has no such target, or it failed to build)"
            continue
        fi
        say "inproc: $prog"
        out=""
        for key in p256 rsa2048; do
            for mode in "${INPROC_MODES[@]}"; do
                for i in $(seq "$reps"); do
                    # shellcheck disable=SC2046
                    out+=$(timeout 300 "${PIN_SERVER[@]}" "$BIN/tests/bench/$prog" --count "$count" \
                        --key "$key" $(inproc_args "$mode") 2>>"$WORK/$prog.err" || true)$'\n'
                done
            done
        done
        printf '%s' "$out" >>"$raw"
        for key in p256 rsa2048; do
            for mode in "${INPROC_MODES[@]}"; do
                inproc_parse "$impl" "$key" "$mode" "$out" ||
                    R[inproc_${impl}_detail]="no figure for $key $mode: $(tail -c 160 "$WORK/$prog.err" | tr '\n' ' ')"
            done
        done
        [ -z "${R[inproc_${impl}_detail]:-}" ] || FAILED=1
    done
    inproc_table | tee "$txt"
    say "table: $txt; raw lines: $raw"
}
