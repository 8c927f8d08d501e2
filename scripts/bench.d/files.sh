# scripts/bench.d/files.sh — section "files" of scripts/bench (sourced).
#
#   files        small files over keep-alive connections, the load a web
#                server mostly sees: wrk (one thread, FILES_CONNS connections)
#                fetching one 1 KiB file from nktls-server --root on --io
#                uring, epoll and threads, and from nginx (sendfile on), same
#                certificate (P-256), suite and X25519. Requests per second, and
#                per server CPU-second (user+system of the server's processes
#                over the run), each as nktls over nginx.
# shellcheck shell=bash

FILES_SERVERS=(nktls-root nktls-root-epoll nktls-root-threads nginx)
FILES_CONNS=16

# files_start KIND: nginx and nktls-root (uring) as server_start has them; the
# file server on the other backends here.
files_start() {
    local kind=$1 io log=$WORK/$1.log
    case $kind in
    nktls-root-epoll|nktls-root-threads)
        io=${kind#nktls-root-}
        setup_certs
        cert_files p256
        PORT=$(free_port)
        spawn "$log" "$log" "${PIN_SERVER[@]}" "$BIN/examples/nktls-server" --cert "$CERT" \
            --key "$KEYF" --ciphers "$CIPHER" --groups X25519 --tls-min 1.3 --ktls off \
            --workers 1 --listen "127.0.0.1:$PORT" --io "$io" --root "$WWW"
        SRV=$SPAWNED
        wait_listen "$PORT" "$SRV" 10 || { SRV_ERR="did not start: $(tail -c 200 "$log")"; stop "$SRV"; return 1; }
        ;;
    *) server_start "$kind" p256 ;;
    esac
}

files_label() {
    case $1 in
    nktls-root) echo "nktls-server --root --io uring" ;;
    nktls-root-epoll) echo "nktls-server --root --io epoll" ;;
    nktls-root-threads) echo "nktls-server --root --io threads" ;;
    *) server_label "$1" ;;
    esac
}

# files_measure KIND RAW REPS: R[files_KIND_rps] and R[files_KIND_cpu]
# (requests per server CPU-second), medians over REPS runs.
files_measure() {
    local kind=$1 raw=$2 reps=$3 i t0 t1 out n rps cpu_s p=files_$1
    local -a rs=() cs=()
    for i in $(seq "$reps"); do
        t0=$(session_ticks "$SRV")
        out=$(timeout $((FILES_SECS + 30)) "${PIN_CLIENT[@]}" wrk -t1 -c"$FILES_CONNS" -d"${FILES_SECS}s" \
            "https://127.0.0.1:$PORT/small.bin" 2>&1) || { R[${p}_err]="wrk failed: $(tail -c 200 <<<"$out")"; FAILED=1; return; }
        t1=$(session_ticks "$SRV")
        n=$(awk '/requests in/ { print $1 }' <<<"$out")
        rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
        if [ -z "$n" ] || [ -z "$rps" ] || grep -q "Non-2xx\|Socket errors" <<<"$out"; then
            R[${p}_err]="wrk: $(grep -m1 -E 'Non-2xx|Socket errors' <<<"$out" || echo no figure)"
            FAILED=1
            return
        fi
        cpu_s=$(calc "($t1 - $t0) / $CLK_TCK")
        rs+=("$rps")
        cs+=("$(calc "$cpu_s > 0 ? $n / $cpu_s : 0" %.0f)")
        echo "server=$kind rep=$i requests=$n rps=$rps server_cpu_s=$cpu_s" >>"$raw"
    done
    R[${p}_rps]=$(median "${rs[@]}")
    R[${p}_cpu]=$(median "${cs[@]}")
    echo "server=$kind stat=median reps=$reps rps=${R[${p}_rps]} req_per_cpu_s=${R[${p}_cpu]}" >>"$raw"
}

files_table() {
    local kind p ng=files_nginx
    echo "== files: $CIPHER, 1 KiB file, keep-alive, wrk -t1 -c$FILES_CONNS, ${FILES_SECS} s x ${R[files_reps]} (median); $PIN_NOTE"
    printf '   %-34s %10s %10s %8s %8s\n' server "req/s" "req/CPU-s" "/nginx" "/nginx"
    printf '   %-34s %10s %10s %8s %8s\n' "" "" "" "req/s" "CPU"
    for kind in "${FILES_SERVERS[@]}"; do
        p=files_$kind
        if [ -n "${R[${p}_err]:-}" ]; then
            printf '   %-34s not run: %s\n' "$(files_label "$kind")" "${R[${p}_err]}"
            continue
        fi
        printf '   %-34s %10s %10s %8s %8s\n' "$(files_label "$kind")" \
            "$(num "${R[${p}_rps]:-}")" "$(num "${R[${p}_cpu]:-}")" \
            "$(ratio "${R[${p}_rps]:-}" "${R[${ng}_rps]:-}")" \
            "$(ratio "${R[${p}_cpu]:-}" "${R[${ng}_cpu]:-}")"
    done
    echo
    echo "   /nginx: that server's figure over nginx's (above 1: faster, or cheaper per request)."
}

section_files() {
    local raw=$OUTDIR/files.raw txt=$OUTDIR/files.txt reps kind
    : >"$raw"
    command -v wrk >/dev/null || ensure_pkgs wrk || true
    if ! command -v wrk >/dev/null; then
        echo "== files: not run: wrk not installed" | tee "$txt"
        FAILED=1
        return
    fi
    setup_certs
    www_file small.bin 1024
    reps=${NKTLS_BENCH_REPS:-$(qd 3 1)}
    FILES_SECS=${NKTLS_BENCH_SECS:-$(qd 4 2)}
    R[files_reps]=$reps
    echo "# files: $PIN_NOTE; load average $(cut -d' ' -f1-3 /proc/loadavg)" >>"$raw"
    for kind in "${FILES_SERVERS[@]}"; do
        say "files: $kind"
        if ! files_start "$kind"; then
            R[files_${kind}_err]=$SRV_ERR; FAILED=1; continue
        fi
        files_measure "$kind" "$raw" "$reps"
        stop "$SRV"
    done
    files_table | tee "$txt"
    say "table: $txt; raw lines: $raw"
}
