# scripts/bench.d/files.sh — section "files" of scripts/bench (sourced).
#
#   files        small files over keep-alive connections, the load a web
#                server mostly sees: wrk (one thread, FILES_CONNS connections,
#                HTTP/1.1 keep-alive) fetching one 1 KiB file from
#                nktls-server --root on --io uring, epoll and threads, and from
#                nginx (sendfile on), same certificate (P-256), suite, X25519
#                and file. Requests per second, MB per second, requests per
#                server CPU-second (user+system of the server's processes over
#                the run), p99 latency and the bytes of one response (head and
#                body, as wrk counted them: the responses must be alike for the
#                comparison to hold), each as nktls over nginx. A server that
#                stalls after a response (a delayed ACK meeting Nagle's
#                algorithm costs 40 ms) shows as a p99 near 40 ms and a few
#                hundred requests per second.
# shellcheck shell=bash

FILES_SERVERS=(nktls-root nktls-root-epoll nktls-root-threads nginx)
FILES_CONNS=16

# files_measure KIND RAW REPS: R[files_KIND_rps|mbps|cpu|p99|resp] (medians
# over REPS runs) and R[files_KIND_rps_all|cpu_all] (every run's figure).
files_measure() {
    local kind=$1 raw=$2 reps=$3 i t0 t1 out line n rps cpu_s p=files_$1
    local -a rs=() ms=() cs=() ps=() bs=()
    for i in $(seq "$reps"); do
        t0=$(session_ticks "$SRV")
        out=$(timeout $((FILES_SECS + 30)) "${PIN_CLIENT[@]}" wrk -t1 -c"$FILES_CONNS" -d"${FILES_SECS}s" \
            -s "$WORK/wrk-done.lua" "https://127.0.0.1:$PORT/small.bin" 2>&1) ||
            { R[${p}_err]="wrk failed: $(tail -c 200 <<<"$out")"; FAILED=1; return; }
        t1=$(session_ticks "$SRV")
        line=$(grep -m1 '^wrk_done ' <<<"$out" || true)
        n=$(kv requests "$line")
        if [ -z "$n" ] || [ "$n" = 0 ] || [ "$(kv errors "$line")" != 0 ]; then
            R[${p}_err]="wrk: ${line:-no summary: $(tail -c 200 <<<"$out" | tr '\n' ' ')}"
            FAILED=1
            return
        fi
        cpu_s=$(calc "($t1 - $t0) / $CLK_TCK")
        rps=$(calc "$n / $(kv duration_us "$line") * 1e6" %.1f)
        rs+=("$rps")
        ms+=("$(calc "$(kv bytes "$line") / $(kv duration_us "$line")" %.3f)")
        cs+=("$(calc "$cpu_s > 0 ? $n / $cpu_s : 0" %.0f)")
        ps+=("$(calc "$(kv p99_us "$line") / 1000" %.3f)")
        bs+=("$(calc "$(kv bytes "$line") / $n" %.0f)")
        echo "server=$kind rep=$i $line rps=$rps server_cpu_s=$cpu_s" >>"$raw"
    done
    R[${p}_rps]=$(median "${rs[@]}")
    R[${p}_mbps]=$(median "${ms[@]}")
    R[${p}_cpu]=$(median "${cs[@]}")
    R[${p}_p99]=$(median "${ps[@]}")
    R[${p}_resp]=$(median "${bs[@]}")
    R[${p}_rps_all]="${rs[*]}"
    R[${p}_cpu_all]="${cs[*]}"
    echo "server=$kind stat=median reps=$reps rps=${R[${p}_rps]} MBps=${R[${p}_mbps]} req_per_cpu_s=${R[${p}_cpu]} p99_ms=${R[${p}_p99]} bytes_per_response=${R[${p}_resp]}" >>"$raw"
}

files_table() {
    local kind p ng=files_nginx
    echo "== files: $CIPHER, 1 KiB file, keep-alive, wrk -t1 -c$FILES_CONNS, ${FILES_SECS} s x ${R[files_reps]} (median); $PIN_NOTE"
    printf '   %-32s %8s %6s %9s %7s %6s %7s %7s\n' server "req/s" "MB/s" "req/CPU-s" "p99 ms" \
        "B/resp" "/nginx" "/nginx"
    printf '   %-32s %8s %6s %9s %7s %6s %7s %7s\n' "" "" "" "" "" "" "req/s" "CPU"
    for kind in "${FILES_SERVERS[@]}"; do
        p=files_$kind
        if [ -n "${R[${p}_err]:-}" ]; then
            printf '   %-32s not run: %s\n' "$(server_label "$kind")" "${R[${p}_err]}"
            continue
        fi
        printf '   %-32s %8s %6s %9s %7s %6s %7s %7s\n' "$(server_label "$kind")" \
            "$(num "${R[${p}_rps]:-}")" "$(num "${R[${p}_mbps]:-}" %.1f)" "$(num "${R[${p}_cpu]:-}")" \
            "$(num "${R[${p}_p99]:-}" %.2f)" "$(fmt "${R[${p}_resp]:-}")" \
            "$(ratio "${R[${p}_rps]:-}" "${R[${ng}_rps]:-}")" \
            "$(ratio "${R[${p}_cpu]:-}" "${R[${ng}_cpu]:-}")"
    done
    echo
    echo "   /nginx: that server's figure over nginx's (above 1: faster, or cheaper per request)."
    echo "   B/resp: bytes wrk read per response (head + 1024-byte body): the heads differ by"
    echo "   tens of bytes (nginx names itself), the body is the same file."
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
    # wrk's own exact counts (its text summary rounds bytes to 3 digits).
    cat >"$WORK/wrk-done.lua" <<'LUA'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("wrk_done requests=%d bytes=%d duration_us=%d p99_us=%d errors=%d\n",
    summary.requests, summary.bytes, summary.duration, latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
LUA
    reps=${NKTLS_BENCH_REPS:-$(qd 3 2)}
    FILES_SECS=${NKTLS_BENCH_SECS:-$(qd 4 2)}
    R[files_reps]=$reps
    echo "# files: $PIN_NOTE; load average $(cut -d' ' -f1-3 /proc/loadavg)" >>"$raw"
    for kind in "${FILES_SERVERS[@]}"; do
        say "files: $kind"
        if ! server_start "$kind" p256; then
            R[files_${kind}_err]=$SRV_ERR; FAILED=1; continue
        fi
        files_measure "$kind" "$raw" "$reps"
        stop "$SRV"
    done
    files_table | tee "$txt"
    say "table: $txt; raw lines: $raw"
}
