# scripts/bench.d/sendfile.sh — section "sendfile" of scripts/bench (sourced).
#
#   sendfile     serving one large file:
#     VM     tests/bench/bench_sendfile inside scripts/vm-test's QEMU VM (the
#            host kernel has no tls module): kTLS sendfile, kTLS read()+send,
#            and the software record layer, 3 connections each on the same
#            file, the modes taking turns; MB/s and server-thread CPU seconds
#            per GiB (medians, with their ranges) and their ratios to the
#            software layer.
#     host   nktls-server --root (software layer), `openssl s_server -WWW` and
#            nginx, each serving the same file with the same certificate
#            (scripts/gen-certs, ECDSA P-256) and cipher suite, downloaded by
#            curl 5 times (after one warm-up); MB/s (median) and the server
#            process's CPU seconds per GiB (/proc/PID/stat), and nktls's
#            ratio to each. Also bench_sendfile's software mode in-process.
#            In a run of every section (no SECTION named) without KVM the VM
#            file is 32 MiB unless NKTLS_BENCH_VM_MIB says otherwise.
#     floor  `openssl speed -evp aes-128-gcm -bytes 16384` (the suite's
#            AEAD): the encryption rate of one core, and each server's bytes
#            per CPU-second as a fraction of it.
#
# shellcheck shell=bash

sendfile_vm() {
    local raw=$1 mib=$2 accel vm_timeout rc=0 line mode
    local bench=$BIN/tests/bench/bench_sendfile
    local vm_sh=$OUTDIR/vm-sendfile.sh
    # The guest runs a file of the tree (the VM's /tmp is a fresh tmpfs).
    cat >"$vm_sh" <<'EOF'
#!/bin/sh
# Written by scripts/bench; runs inside the VM.
bench=$1
shift
echo "# kernel $(uname -r)"
"$bench" "$@"
rc=$?
# Which kernel implementations did the encrypting, and proof that it did.
for alg in 'gcm(aes)' 'ccm(aes)' 'rfc7539(chacha20,poly1305)'; do
    awk -v alg="$alg" '
        $1 == "name" { name = $3 }
        $1 == "driver" { driver = $3 }
        $1 == "priority" && name == alg && $3 > best { best = $3; pick = driver }
        END { if (pick) printf "# kernel %s: %s\n", alg, pick }' /proc/crypto
done
[ -r /proc/net/tls_stat ] && sed 's/^/# tls_stat /' /proc/net/tls_stat
exit $rc
EOF
    if [ "${NKTLS_VM_ACCEL:-auto}" = kvm ] ||
        { [ "${NKTLS_VM_ACCEL:-auto}" = auto ] && (exec 3<>/dev/kvm) 2>/dev/null &&
          grep -qwE 'vmx|svm' /proc/cpuinfo; }; then
        accel=kvm
    else
        accel=tcg
    fi
    [ -n "$mib" ] || mib=$([ "$QUICK" = 1 ] && echo 32 || echo 256)
    vm_timeout=$([ "$QUICK" = 1 ] && echo 300 || echo 900)
    say "VM: 3 modes x 3 connections x $mib MiB under $accel (up to $vm_timeout s)"
    spawn "$WORK/vm.out" "$WORK/vm.err" env NKTLS_VM_MEM="${NKTLS_VM_MEM:-2048}" \
        "$ROOT/scripts/vm-test" --verbose --timeout "$vm_timeout" \
        --file "$bench" --file "$vm_sh" -- /bin/sh "$vm_sh" "$bench" \
        --mode all --size "$mib" --repeat 3 --suite "$CIPHER"
    # vm-test's stdout is the command's; its stderr (with the bench's) is a log.
    local pid=$SPAWNED
    wait "$pid" || rc=$?
    stop "$pid"    # anything vm-test left behind
    # vm-test falls back to TCG when KVM will not run a guest: report what ran.
    local booted
    booted=$(grep -oE 'booting with (kvm|tcg)' "$WORK/vm.err" | tail -1 | cut -d' ' -f3 || true)
    [ -z "$booted" ] || accel=$booted
    if grep -q 'retrying with TCG' "$WORK/vm.err"; then accel=tcg; fi
    R[vm_accel]=$accel
    R[vm_mib]=$mib
    R[vm_kernel]=$(grep -m1 '^# kernel [0-9]' "$WORK/vm.out" | cut -d' ' -f3 || true)
    R[vm_driver]=$(grep -m1 '^# kernel gcm(aes)' "$WORK/vm.out" | cut -d' ' -f4 || true)
    {
        echo "# VM ($accel, kernel ${R[vm_kernel]:-?}, vm-test exit $rc)"
        cat "$WORK/vm.out"
    } >>"$raw"
    for mode in ktls-sendfile ktls-readsend software; do
        line=$(grep "^mode=$mode .*stat=median" "$WORK/vm.out" | tail -1 || true)
        if [ -n "$line" ]; then
            R[vm_${mode}_mbps]=$(kv MBps "$line")
            R[vm_${mode}_cpu]=$(kv cpu_s_per_GiB "$line")
            R[vm_${mode}_mbps_range]="$(kv MBps_min "$line")-$(kv MBps_max "$line")"
            R[vm_${mode}_cpu_range]="$(kv cpu_s_per_GiB_min "$line")-$(kv cpu_s_per_GiB_max "$line")"
        else
            line=$(grep "^mode=$mode .*error=" "$WORK/vm.out" | tail -1 || true)
            R[vm_${mode}_err]=${line#*error=}
            [ -n "${R[vm_${mode}_err]}" ] || R[vm_${mode}_err]="did not run (vm-test exit $rc)"
        fi
    done
    if [ "$rc" != 0 ]; then
        FAILED=1
        say "VM run failed (exit $rc); its log:"
        tail -20 "$WORK/vm.err" >&2 || true
    fi
}

# host_serve NAME: downloads the file N times from the server on $PORT whose
# session is $SRV, after one warm-up; fills R[host_NAME_*].
host_serve() {
    local name=$1 raw=$2 i out size secs t0 t1 rc
    local url=https://127.0.0.1:$PORT/$FILE_NAME
    local -a mbps=()
    local curl=("${PIN_CLIENT[@]}" timeout 120 curl --silent --show-error --http1.1
                --tlsv1.3 --tls13-ciphers "$CIPHER" --cacert "$CERTS/ca.pem"
                --max-time 100 -o /dev/null -w '%{size_download} %{time_total}')
    if ! wait_listen "$PORT" "$SRV" 10; then
        R[host_${name}_err]="did not start: $(tail -c 200 "$WORK/$name.log" | tr '\n' ' ')"
        FAILED=1
        return
    fi
    # Warm-up: page cache, the server's first-connection set-up.
    out=$("${curl[@]}" "$url" 2>&1) || true
    t0=$(session_ticks "$SRV")
    for i in $(seq "$DOWNLOADS"); do
        rc=0
        out=$("${curl[@]}" "$url" 2>"$WORK/curl.err") || rc=$?
        read -r size secs <<<"$out"
        echo "server=$name rep=$i bytes=${size:-0} seconds=${secs:-0} curl_exit=$rc" >>"$raw"
        if [ "$rc" != 0 ] || [ "${size:-0}" != "$FILE_BYTES" ]; then
            R[host_${name}_err]="download $i: ${size:-0} of $FILE_BYTES bytes, curl exit $rc: $(head -c 160 "$WORK/curl.err")"
            FAILED=1
            return
        fi
        mbps+=("$(calc "$size / $secs / 1e6" %.1f)")
    done
    t1=$(session_ticks "$SRV")
    R[host_${name}_mbps]=$(median "${mbps[@]}")
    R[host_${name}_mbps_range]="$(printf '%s\n' "${mbps[@]}" | sort -g | sed -n '1p;$p' | paste -sd-)"
    R[host_${name}_cpu]=$(calc "($t1 - $t0) / $CLK_TCK / ($DOWNLOADS * $FILE_BYTES / 1073741824)" %.3f)
    echo "server=$name stat=median downloads=$DOWNLOADS MBps=${R[host_${name}_mbps]} cpu_ticks=$((t1 - t0)) clk_tck=$CLK_TCK cpu_s_per_GiB=${R[host_${name}_cpu]}" >>"$raw"
}

sendfile_host() {
    local raw=$1 mib=$2 line
    setup_certs
    local www=$WWW
    FILE_NAME=bench.bin
    FILE_BYTES=$((mib << 20))
    DOWNLOADS=${NKTLS_BENCH_DOWNLOADS:-5}
    R[host_mib]=$mib
    www_file "$FILE_NAME" "$FILE_BYTES"
    echo "# host: $mib MiB file, $DOWNLOADS downloads each, $PIN_NOTE" >>"$raw"

    say "host: nktls in-process software path (bench_sendfile)"
    if line=$(timeout 120 "$BIN/tests/bench/bench_sendfile" --mode software --size "$mib" \
            --repeat 3 --suite "$CIPHER" --dir "$WORK" 2>"$WORK/inproc.err"); then
        echo "$line" >>"$raw"
        line=$(grep 'stat=median' <<<"$line")
        R[host_inproc_mbps]=$(kv MBps "$line")
        R[host_inproc_cpu]=$(kv cpu_s_per_GiB "$line")
        R[host_inproc_mbps_range]="$(kv MBps_min "$line")-$(kv MBps_max "$line")"
    else
        R[host_inproc_err]=$(head -c 200 "$WORK/inproc.err")
        FAILED=1
    fi

    say "host: nktls-server --root"
    PORT=$(free_port)
    # --ktls off: this part is about the software layer (the host has no tls
    # module anyway; auto would fall back to the same path).
    spawn "$WORK/nktls.log" "$WORK/nktls.log" "${PIN_SERVER[@]}" "$BIN/examples/nktls-server" \
        --listen "127.0.0.1:$PORT" --cert "$CERTS/server.pem" --key "$CERTS/server.key" \
        --ciphers "$CIPHER" --ktls off --root "$www"
    SRV=$SPAWNED
    host_serve nktls "$raw"
    stop "$SRV"

    say "host: openssl s_server -WWW"
    PORT=$(free_port)
    # -WWW serves files relative to the working directory.
    # shellcheck disable=SC2016  # $1 and $@ belong to the inner shell
    spawn "$WORK/openssl.log" "$WORK/openssl.log" bash -c 'cd "$1" && shift && exec "$@"' _ "$www" \
        "${PIN_SERVER[@]}" openssl s_server -quiet -accept "127.0.0.1:$PORT" \
        -cert "$CERTS/server.pem" -key "$CERTS/server.key" -tls1_3 -ciphersuites "$CIPHER" -WWW
    SRV=$SPAWNED
    host_serve openssl "$raw"
    stop "$SRV"

    if command -v nginx >/dev/null; then
        say "host: nginx"
        PORT=$(free_port)
        local ng=$WORK/nginx
        nginx_conf "$ng" "$PORT" "$CERTS/server.pem" "$CERTS/server.key" "$www"
        spawn "$WORK/nginx.log" "$WORK/nginx.log" "${PIN_SERVER[@]}" nginx -e "$ng/error.log" -c "$ng/nginx.conf" \
            -p "$ng" -g 'daemon off;'
        SRV=$SPAWNED
        host_serve nginx "$raw"
        [ -z "${R[host_nginx_err]:-}" ] || R[host_nginx_err]+=" $(tail -c 200 "$ng/error.log" 2>/dev/null | tr '\n' ' ')"
        stop "$SRV"
        R[nginx_version]=$(nginx -v 2>&1 | sed 's/.*nginx\///')
    else
        R[host_nginx_err]="nginx not installed (apt-get install nginx)"
        FAILED=1
    fi
}

# sendfile_floor RAW: the suite's AEAD rate (floor.sh's floor_aead), recorded.
sendfile_floor() {
    local raw=$1
    floor_aead
    [ -z "${R[floor_mbps]:-}" ] ||
        echo "floor=openssl-speed alg=${R[floor_alg]} bytes=16384 MBps=${R[floor_mbps]}" >>"$raw"
}

# floor_frac CPU_S_PER_GIB: bytes per CPU-second as a fraction of the floor.
floor_frac() {
    if [ -n "${1:-}" ] && [ -n "${R[floor_mbps]:-}" ] && [ "$(calc "$1 > 0" %d)" = 1 ]; then
        calc "1073741824 / $1 / 1e6 / ${R[floor_mbps]}" %.2f
    else
        echo "-"
    fi
}

sendfile_table() {
    local m n
    echo "== sendfile: $CIPHER, $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -m), $(nproc) CPUs"
    echo "   $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'); load average at start ${R[load]:-?}"
    echo
    echo "-- VM (scripts/vm-test, ${R[vm_accel]:-?}, kernel ${R[vm_kernel]:-?}, gcm(aes) driver ${R[vm_driver]:-?}):"
    echo "   ${R[vm_mib]:-?} MiB file, 3 connections per mode, medians; CPU = server thread (getrusage)"
    if [ "${R[vm_accel]:-}" = tcg ]; then
        echo "   NOTE: no KVM here, so the VM runs under QEMU software emulation (TCG):"
        echo "   absolute figures are far below the hardware's; only the ratios within"
        echo "   this run mean anything, and emulated AES/carry-less-multiply"
        echo "   instructions make crypto weigh more than it would on real hardware."
    fi
    printf '   %-14s %7s %-12s %7s %10s %-15s %6s\n' mode MB/s "(range)" "MB/s/sw" \
        "CPU s/GiB" "(range)" "CPU/sw"
    local sw_mbps=${R[vm_software_mbps]:-} sw_cpu=${R[vm_software_cpu]:-}
    for m in ktls-sendfile ktls-readsend software; do
        if [ -n "${R[vm_${m}_err]:-}" ]; then
            printf '   %-15s not run: %s\n' "$m" "${R[vm_${m}_err]}"
            continue
        fi
        printf '   %-14s %7s %-12s %7s %10s %-15s %6s\n' "$m" "$(fmt "${R[vm_${m}_mbps]:-}")" \
            "(${R[vm_${m}_mbps_range]:-})" "$(ratio "${R[vm_${m}_mbps]:-}" "$sw_mbps")" \
            "$(fmt "${R[vm_${m}_cpu]:-}")" "(${R[vm_${m}_cpu_range]:-})" \
            "$(ratio "${R[vm_${m}_cpu]:-}" "$sw_cpu")"
    done
    echo
    echo "-- host (no tls module: nktls on its software layer), ${R[host_mib]:-?} MiB file,"
    echo "   curl x${DOWNLOADS:-5} per server (median MB/s), server CPU from /proc/PID/stat; $PIN_NOTE"
    echo "   floor: openssl speed -evp ${R[floor_alg]:-?}, 16 KiB blocks, one core: $(fmt "${R[floor_mbps]:-}") MB/s${R[floor_aead_err]:+ (${R[floor_aead_err]})}"
    printf '   %-25s %7s %-15s %9s %12s %11s %10s\n' server MB/s "(range)" "CPU s/GiB" \
        "MB/s nk/this" "CPU nk/this" "floor frac"
    for n in nktls openssl nginx inproc; do
        local label
        case $n in
        nktls) label="nktls-server --root" ;;
        openssl) label="openssl s_server -WWW" ;;
        nginx) label="nginx ${R[nginx_version]:-}" ;;
        inproc) label="nktls in-process (bench)" ;;
        esac
        if [ -n "${R[host_${n}_err]:-}" ]; then
            printf '   %-28s not run: %s\n' "$label" "${R[host_${n}_err]}"
            continue
        fi
        local r1=- r2=-
        case $n in
        openssl|nginx)
            r1=$(ratio "${R[host_nktls_mbps]:-}" "${R[host_${n}_mbps]:-}")
            r2=$(ratio "${R[host_nktls_cpu]:-}" "${R[host_${n}_cpu]:-}") ;;
        esac
        printf '   %-25s %7s %-15s %9s %12s %11s %10s\n' "$label" "$(fmt "${R[host_${n}_mbps]:-}")" \
            "(${R[host_${n}_mbps_range]:-})" "$(fmt "${R[host_${n}_cpu]:-}")" "$r1" "$r2" \
            "$(floor_frac "${R[host_${n}_cpu]:-}")"
    done
    echo
    echo "   (range): lowest-highest of the repeats, a measure of how steady the machine was."
    echo "   MB/s/sw, CPU/sw: each mode over the software layer (CPU below 1 = cheaper)."
    echo "   nk/this: nktls-server's figure over that server's (MB/s above 1 = faster,"
    echo "   CPU below 1 = cheaper). floor frac: the server's bytes per CPU-second over"
    echo "   the floor; server CPU includes file reads, copies and loopback TCP."
    echo "   The in-process row is bench_sendfile --mode software: the server thread"
    echo "   only, with nktls as the client (MB/s there is the pair's, on 2 threads)."
}

section_sendfile() {
    local raw=$OUTDIR/sendfile.raw txt=$OUTDIR/sendfile.txt vm_mib host_mib
    : >"$raw"
    # Others' work on the machine shows here first: a busy machine, noisy figures.
    R[load]=$(cut -d' ' -f1-3 /proc/loadavg)
    echo "# load average at start: ${R[load]}" >>"$raw"
    vm_mib=${NKTLS_BENCH_VM_MIB:-}
    # In a run of every section an emulated VM gets the --quick size: 256 MiB
    # three ways under TCG takes 5 to 10 minutes, the whole budget.
    if [ -z "$vm_mib" ] && [ "$SUMMARY" = 1 ] && [ "$QUICK" = 0 ] && [ "$(vm_accel)" = tcg ]; then
        vm_mib=32
        say "sendfile: no KVM, a run of every section: 32 MiB in the VM (NKTLS_BENCH_VM_MIB)"
    fi
    host_mib=${NKTLS_BENCH_HOST_MIB:-$([ "$QUICK" = 1 ] && echo 64 || echo 256)}
    sendfile_vm "$raw" "$vm_mib"
    sendfile_host "$raw" "$host_mib"
    sendfile_floor "$raw"
    sendfile_table | tee "$txt"
    say "table: $txt; raw lines: $raw"
}

