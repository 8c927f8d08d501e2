# scripts/bench.d/floor.sh — section "floor" of scripts/bench (sourced).
#
#   floor        `openssl speed` on the server CPU: X25519 derive, ECDSA P-256
#                sign, RSA-2048 sign, AES-128-GCM (the suite's AEAD) on 16 KiB
#                blocks. The crypto floor of one full handshake is X25519
#                keygen + derive + one signature (keygen is priced as one
#                derive: `openssl speed` has no keygen figure, and both are one
#                scalar multiplication); of a resumed one (psk_dhe_ke), keygen
#                + derive. Each server's handshakes per CPU-second (handshake
#                section, same run) as a fraction of the floor's rate.
# shellcheck shell=bash

# floor_crypto: the public-key figures, once per run.
floor_crypto() {
    [ -z "${R[floor_x25519]:-}" ] || return 0
    local out secs
    secs=$(qd 3 1)
    say "crypto floor: openssl speed ecdhx25519 ecdsap256 rsa2048"
    out=$(timeout 120 "${PIN_SERVER[@]}" openssl speed -seconds "$secs" ecdhx25519 ecdsap256 \
        rsa2048 2>/dev/null) || true
    # "rsa 2048 bits 0.000763s 0.000020s   1311.1  49659.0" (sign/s verify/s),
    # " 256 bits ecdsa (nistp256) ... sign/s verify/s", " 253 bits ecdh (X25519) ... op/s"
    R[floor_rsa2048_sign]=$(awk '/^rsa 2048 bits/ { print $(NF - 1); exit }' <<<"$out")
    R[floor_p256_sign]=$(awk '/ecdsa \(nistp256\)/ { print $(NF - 1); exit }' <<<"$out")
    R[floor_x25519]=$(awk '/ecdh \(X25519\)/ { print $NF; exit }' <<<"$out")
    local k
    for k in floor_rsa2048_sign floor_p256_sign floor_x25519; do
        if [ -z "${R[$k]}" ]; then
            R[floor_err]="openssl speed gave no ${k#floor_} figure"
            FAILED=1
            return 0
        fi
    done
    R[floor_full_p256_us]=$(calc "1e6 * (2 / ${R[floor_x25519]} + 1 / ${R[floor_p256_sign]})" %.1f)
    R[floor_full_rsa2048_us]=$(calc "1e6 * (2 / ${R[floor_x25519]} + 1 / ${R[floor_rsa2048_sign]})" %.1f)
    R[floor_resume_us]=$(calc "1e6 * 2 / ${R[floor_x25519]}" %.1f)
}

# floor_aead: `openssl speed -evp` for the suite's AEAD, 16 KiB blocks; R[floor_mbps].
floor_aead() {
    [ -z "${R[floor_mbps]:-}" ] || return 0
    local out k alg
    case $CIPHER in
    TLS_AES_128_GCM_SHA256) alg=aes-128-gcm ;;
    TLS_AES_256_GCM_SHA384) alg=aes-256-gcm ;;
    TLS_CHACHA20_POLY1305_SHA256) alg=chacha20-poly1305 ;;
    *) R[floor_aead_err]="no openssl speed figure for $CIPHER"; return 0 ;;
    esac
    R[floor_alg]=$alg
    say "crypto floor: openssl speed -evp $alg"
    out=$(timeout 60 "${PIN_SERVER[@]}" openssl speed -evp "$alg" -bytes 16384 \
        -seconds "$(qd 3 1)" 2>/dev/null) || true
    k=$(awk 'hdr && NF >= 2 { v = $NF; hdr = 0 } /^type/ { hdr = 1 }
             END { if (sub(/k$/, "", v)) print v }' <<<"$out")
    if [ -n "$k" ]; then
        R[floor_mbps]=$(calc "$k * 1000 / 1e6" %.1f)
    else
        R[floor_aead_err]="openssl speed gave no $alg figure"
        FAILED=1
    fi
}

# floor_frac_hs PER_CPU_S FLOOR_US: handshakes per CPU-second as a fraction of
# the floor's rate.
floor_frac_hs() {
    if [ -n "${1:-}" ] && [ "$1" != - ] && [ -n "${2:-}" ]; then
        calc "$1 * $2 / 1e6" %.2f
    else
        echo "-"
    fi
}

floor_table() {
    local key srv
    echo "== floor: openssl speed $OPENSSL_VERSION on the server CPU, one core"
    if [ -n "${R[floor_err]:-}" ]; then
        echo "   ${R[floor_err]}"
    else
        printf '   %-34s %12s\n' "X25519 derive /s" "$(num "${R[floor_x25519]}")"
        printf '   %-34s %12s\n' "ECDSA P-256 sign /s" "$(num "${R[floor_p256_sign]}")"
        printf '   %-34s %12s\n' "RSA-2048 sign /s" "$(num "${R[floor_rsa2048_sign]}")"
        printf '   %-34s %12s  (%s /s)\n' "full handshake, P-256: us" "${R[floor_full_p256_us]}" \
            "$(calc "1e6 / ${R[floor_full_p256_us]}" %.0f)"
        printf '   %-34s %12s  (%s /s)\n' "full handshake, RSA-2048: us" "${R[floor_full_rsa2048_us]}" \
            "$(calc "1e6 / ${R[floor_full_rsa2048_us]}" %.0f)"
        printf '   %-34s %12s  (%s /s)\n' "resumed handshake (X25519): us" "${R[floor_resume_us]}" \
            "$(calc "1e6 / ${R[floor_resume_us]}" %.0f)"
    fi
    printf '   %-34s %12s\n' "${R[floor_alg]:-AEAD} 16 KiB MB/s" "$(fmt "${R[floor_mbps]:-}")${R[floor_aead_err]:+ (${R[floor_aead_err]})}"
    echo "   (full = X25519 keygen + derive + sign, keygen priced as a derive)"
    if [ -n "${R[hs_reps]:-}" ] && [ -z "${R[floor_err]:-}" ]; then
        echo
        echo "-- servers' handshakes per CPU-second as a fraction of the floor's rate"
        printf '   %-28s %10s %10s %10s %10s\n' server "full P-256" "full RSA" "res P-256" "res RSA"
        for srv in "${HS_SERVERS[@]}"; do
            printf '   %-28s %10s %10s %10s %10s\n' "$(server_label "$srv")" \
                "$(floor_frac_hs "${R[hs_${srv}_p256_full_cpu]:-}" "${R[floor_full_p256_us]}")" \
                "$(floor_frac_hs "${R[hs_${srv}_rsa2048_full_cpu]:-}" "${R[floor_full_rsa2048_us]}")" \
                "$(floor_frac_hs "${R[hs_${srv}_p256_resume_cpu]:-}" "${R[floor_resume_us]}")" \
                "$(floor_frac_hs "${R[hs_${srv}_rsa2048_resume_cpu]:-}" "${R[floor_resume_us]}")"
        done
    fi
}

section_floor() {
    local raw=$OUTDIR/floor.raw txt=$OUTDIR/floor.txt k
    : >"$raw"
    floor_crypto
    floor_aead
    for k in floor_x25519 floor_p256_sign floor_rsa2048_sign floor_full_p256_us \
        floor_full_rsa2048_us floor_resume_us floor_alg floor_mbps; do
        echo "$k=${R[$k]:-}" >>"$raw"
    done
    floor_table | tee "$txt"
}
