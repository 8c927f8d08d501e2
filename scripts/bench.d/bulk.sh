# scripts/bench.d/bulk.sh — section "bulk" of scripts/bench (sourced).
#
#   bulk         the software record layer moving bulk data, one connection:
#     download   nktls-load --mode request fetching one 16 MiB file over and
#                over from nktls-server --root (keep-alive; --io uring when it
#                takes --root, else threads), nginx (keep-alive) and openssl
#                s_server -WWW (one request per connection: a handshake per
#                16 MiB, negligible); the server encrypts, the client decrypts.
#                nktls-server --root again with the client held to TLS 1.2
#                (ECDHE-ECDSA-AES128-GCM-SHA256: the same AEAD, TLS 1.2's
#                record framing with its explicit nonce).
#     echo       nktls-load --mode bulk, 16 MiB per connection sent and echoed
#                back, against nktls-server (--io uring, echo) and gnutls-serv
#                --echo: the server decrypts and encrypts every byte.
#                MB/s counts the bytes the client received; per CPU-s divides
#                them by the server's CPU time. The floor is `openssl speed -evp
#                aes-128-gcm -bytes 16384` on one core, and "floor frac" the
#                server's bytes per CPU-second over it (echo servers do twice
#                the crypto per byte counted).
# shellcheck shell=bash

BULK_DL=(nktls-root nginx openssl)
BULK_ECHO=(nktls-uring gnutls)

bulk_measure() {
    local srv=$1 kind=$2 raw=$3 reps=$4 i p=bulk_$2_$1
    local -a mbps=() cpu=()
    local req='GET /bulk.bin HTTP/1.1\r\nHost: localhost\r\n\r\n'
    for i in $(seq "$reps"); do
        if [ "$kind" = dl ] || [ "$kind" = dl12 ]; then
            local -a tls=()
            [ "$kind" = dl ] || tls=("${TLS12_LOAD[@]}")
            load "$p-$i" "$raw" --mode request --request "$req" --concurrency 1 "${tls[@]}" \
                --duration "$LOAD_SECS" || { R[${p}_err]=${L[err]}; FAILED=1; return; }
        else
            load "$p-$i" "$raw" --mode bulk --size "$BULK_BYTES" --concurrency 1 \
                --duration "$LOAD_SECS" || { R[${p}_err]=${L[err]}; FAILED=1; return; }
        fi
        mbps+=("$(calc "${L[in_s]} / 1e6" %.1f)")
        cpu+=("$(calc "${L[bytes_cpu]:-0} / 1e6" %.1f)")
    done
    R[${p}_mbps]=$(median "${mbps[@]}")
    R[${p}_cpu]=$(median "${cpu[@]}")
    R[${p}_cpu_all]="${cpu[*]}"
    echo "server=$srv kind=$kind stat=median reps=$reps MBps=${R[${p}_mbps]} MB_per_cpu_s=${R[${p}_cpu]}" >>"$raw"
}

bulk_table() {
    local srv kind
    echo "== bulk: $CIPHER, one connection, $((BULK_BYTES >> 20)) MiB per operation, ${LOAD_SECS} s x ${R[bulk_reps]} (median); $PIN_NOTE"
    echo "   floor: openssl speed -evp ${R[floor_alg]:-?} 16 KiB, one core: $(fmt "${R[floor_mbps]:-}") MB/s"
    printf '   %-34s %8s %10s %8s %8s %7s\n' server "MB/s" "MB/CPU-s" "nk/this" "nk/this" "floor"
    printf '   %-34s %8s %10s %8s %8s %7s\n' "" "" "" "MB/s" "CPU" "frac"
    for kind in dl echo; do
        local -a list
        if [ "$kind" = dl ]; then
            echo "   download (server encrypts):"
            list=("${BULK_DL[@]}")
        else
            echo "   echo (server decrypts and encrypts):"
            list=("${BULK_ECHO[@]}")
        fi
        local nk=bulk_${kind}_${list[0]}
        for srv in "${list[@]}"; do
            local p=bulk_${kind}_${srv}
            if [ -n "${R[${p}_err]:-}" ]; then
                printf '   %-34s not run: %s\n' "$(server_label "$srv")" "${R[${p}_err]}"
                continue
            fi
            printf '   %-34s %8s %10s %8s %8s %7s\n' "$(server_label "$srv")" \
                "$(num "${R[${p}_mbps]:-}")" "$(num "${R[${p}_cpu]:-}")" \
                "$(ratio "${R[${nk}_mbps]:-}" "${R[${p}_mbps]:-}")" \
                "$(ratio "${R[${nk}_cpu]:-}" "${R[${p}_cpu]:-}")" \
                "$(ratio "${R[${p}_cpu]:-}" "${R[floor_mbps]:-}")"
        done
        if [ "$kind" = dl ]; then
            local t=bulk_dl12_nktls-root
            if [ -n "${R[${t}_err]:-}" ]; then
                printf '   %-34s not run: %s\n' "nktls-server --root, TLS 1.2" "${R[${t}_err]}"
            else
                printf '   %-34s %8s %10s %8s %8s %7s\n' "nktls-server --root, TLS 1.2" \
                    "$(num "${R[${t}_mbps]:-}")" "$(num "${R[${t}_cpu]:-}")" \
                    "$(ratio "${R[${nk}_mbps]:-}" "${R[${t}_mbps]:-}")" \
                    "$(ratio "${R[${nk}_cpu]:-}" "${R[${t}_cpu]:-}")" \
                    "$(ratio "${R[${t}_cpu]:-}" "${R[floor_mbps]:-}")"
            fi
        fi
    done
    echo
    echo "   nk/this: nktls's figure over that server's (above 1: nktls faster/cheaper)."
    echo "   Server CPU includes loopback TCP, copies and (nginx) the file read."
}

section_bulk() {
    local raw=$OUTDIR/bulk.raw txt=$OUTDIR/bulk.txt reps srv
    : >"$raw"
    setup_certs
    floor_aead
    BULK_BYTES=$((16 << 20))
    www_file bulk.bin "$BULK_BYTES"
    reps=${NKTLS_BENCH_REPS:-$(qd 3 2)}
    LOAD_SECS=${NKTLS_BENCH_SECS:-$(qd 4 2)}
    R[bulk_reps]=$reps
    echo "# bulk: $PIN_NOTE; load average $(cut -d' ' -f1-3 /proc/loadavg); floor MBps=${R[floor_mbps]:-}" >>"$raw"
    for srv in "${BULK_DL[@]}"; do
        say "bulk: download from $srv"
        if ! server_start "$srv" p256; then
            R[bulk_dl_${srv}_err]=$SRV_ERR; FAILED=1; continue
        fi
        bulk_measure "$srv" dl "$raw" "$reps"
        [ "$srv" != nktls-root ] || bulk_measure "$srv" dl12 "$raw" "$reps"
        stop "$SRV"
    done
    for srv in "${BULK_ECHO[@]}"; do
        say "bulk: echo by $srv"
        if ! server_start "$srv" p256; then
            R[bulk_echo_${srv}_err]=$SRV_ERR; FAILED=1; continue
        fi
        bulk_measure "$srv" echo "$raw" "$reps"
        stop "$SRV"
    done
    bulk_table | tee "$txt"
    say "table: $txt; raw lines: $raw"
}
